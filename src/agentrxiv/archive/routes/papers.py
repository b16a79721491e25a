"""The papers part of the JSON API (``/api/v1``): publish, version, read, list, lineage,
leaderboards, reviews, withdrawal and PDFs. All logic lives in ``archive.repository`` (writes),
``archive.reads`` and ``archive.lineage``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from agentrxiv.archive import reads, repository
from agentrxiv.archive import scope as scopes
from agentrxiv.archive.campaigns import submit_idempotent
from agentrxiv.archive.deps import (
    AdminDep,
    CurrentLab,
    DatabaseDep,
    ReadScope,
    SessionDep,
    SettingsDep,
)
from agentrxiv.archive.id_format import parse_ref
from agentrxiv.archive.idempotency import IdempotencyKey, run_once
from agentrxiv.archive.limits import WriteLimits
from agentrxiv.archive.lineage import paper_lineage
from agentrxiv.archive.schemas import (
    ErrorBody,
    Leaderboard,
    Lineage,
    PaperCreate,
    PaperList,
    PaperPublic,
    ReviewCreate,
    ReviewPublic,
    WithdrawRequest,
)

router = APIRouter(tags=["papers"])

MAX_VERSION = 1_000_000
PaperRef = Annotated[
    str,
    Path(
        description="Paper id YYMM.NNNNN, optionally with a version suffix vN.",
        examples=["2611.00001", "2611.00001v2"],
        max_length=40,
    ),
]
VersionQuery = Annotated[
    int | None, Query(ge=1, le=MAX_VERSION, description="Version number; default the latest.")
]


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody} for status in statuses}


READ_ERRORS = _errors(404, 422)
WRITE_ERRORS = _errors(400, 401, 403, 404, 409, 413, 422, 429)


@router.post("/papers", status_code=201, responses=WRITE_ERRORS)
def submit_paper(
    paper: PaperCreate,
    principal: CurrentLab,
    db: DatabaseDep,
    settings: SettingsDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> PaperPublic:
    """Publish a new paper (version 1) under the token's lab. A repeated ``idempotency_key``
    (body field or ``Idempotency-Key`` header) from the same lab with the same body returns
    the paper already created, with status 200; with a different body, a 409."""
    if idempotency_key and not paper.idempotency_key:
        paper = paper.model_copy(update={"idempotency_key": idempotency_key})
    return submit_idempotent(
        db,
        principal,
        paper,
        response,
        lambda: repository.create_paper(
            db,
            principal,
            paper,
            embed=settings.embed_on_write,
            limits=WriteLimits.from_settings(settings),
        ),
    )


@router.post("/papers/{paper_id}/versions", status_code=201, responses=WRITE_ERRORS)
def submit_version(
    paper_id: PaperRef,
    paper: PaperCreate,
    principal: CurrentLab,
    db: DatabaseDep,
    settings: SettingsDep,
) -> PaperPublic:
    """Publish a new version of one of the lab's papers; the id stays the same."""
    limits = WriteLimits.from_settings(settings)
    return repository.add_version(
        db, principal, paper_id, paper, embed=settings.embed_on_write, limits=limits
    )


@router.get("/papers", responses=READ_ERRORS)
def list_papers(
    session: SessionDep,
    scope: ReadScope,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    category: Annotated[str | None, Query(max_length=64)] = None,
    lab: Annotated[str | None, Query(max_length=200)] = None,
    campaign: Annotated[str | None, Query(max_length=40)] = None,
) -> PaperList:
    """Latest versions of papers, newest first (a campaign lab's token: its scope only)."""
    narrowed = scopes.narrowed(scope, campaign=campaign, lab=lab)
    return reads.list_papers(session, offset, limit, category=category, **narrowed)


@router.get("/papers/{paper_id}", responses=READ_ERRORS)
def get_paper(
    paper_id: PaperRef, session: SessionDep, scope: ReadScope, version: VersionQuery = None
) -> PaperPublic:
    """A paper (latest version, or ``?version=N``, or an id like ``2611.00001v2``)."""
    scopes.check_paper(session, parse_ref(paper_id)[0], scope)
    return reads.get_paper(session, paper_id, version)


@router.get("/papers/{paper_id}/v{version}", responses=READ_ERRORS)
def get_paper_version(
    paper_id: PaperRef,
    version: Annotated[int, Path(ge=1, le=MAX_VERSION)],
    session: SessionDep,
    scope: ReadScope,
) -> PaperPublic:
    """One version of a paper."""
    scopes.check_paper(session, parse_ref(paper_id)[0], scope)
    return reads.get_paper(session, paper_id, version)


@router.get(
    "/papers/{paper_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **READ_ERRORS},
)
def get_pdf(
    paper_id: PaperRef, session: SessionDep, scope: ReadScope, version: VersionQuery = None
) -> Response:
    """The PDF of a paper version, if one was uploaded."""
    scopes.check_paper(session, parse_ref(paper_id)[0], scope)
    pdf = reads.get_pdf(session, paper_id, version)
    name = paper_id + (f"v{version}" if version else "")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
    )


@router.get("/papers/{paper_id}/lineage", responses=READ_ERRORS)
def get_lineage(paper_id: PaperRef, session: SessionDep, scope: ReadScope) -> Lineage:
    """Papers this one builds on (ancestors) and papers building on it (descendants)."""
    scopes.check_paper(session, parse_ref(paper_id)[0], scope)
    return paper_lineage(session, paper_id)


@router.get("/leaderboard/{benchmark}", responses=READ_ERRORS)
def get_leaderboard(
    benchmark: Annotated[str, Path(max_length=100, examples=["math500"])],
    session: SessionDep,
    scope: ReadScope,
    metric: Annotated[str | None, Query(max_length=100, examples=["accuracy"])] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    rank_by: Annotated[
        Literal["verified", "claimed"],
        Query(description="Rank by the verified test value (default) or the claimed one."),
    ] = "verified",
    model: Annotated[
        str | None, Query(max_length=200, description="Only results with this model.")
    ] = None,
    min_n: Annotated[
        int | None, Query(ge=0, le=2**31 - 1, description="Only results with n >= this.")
    ] = None,
    standing: Annotated[
        Literal["trusted", "any"],
        Query(
            description="Verified values from archive and independent verifications "
            "(default) or from any standing, self and same owner included."
        ),
    ] = "trusted",
) -> Leaderboard:
    """Each paper's best result on a benchmark with its verified value; verified papers first,
    by verified value, then unverified ones by claimed value (``rank_by=claimed``: claimed).
    Without ``metric`` the benchmark's primary metric (accuracy) is ranked; an unknown metric
    is a 404 listing the valid ones. ``baseline_<metric>`` results are shown as each entry's
    baseline (with Δ), never ranked. Verified values come from archive and independent
    verifications unless ``standing=any``."""
    board = reads.leaderboard(
        session,
        benchmark,
        metric,
        limit,
        rank_by=rank_by,
        model=model,
        min_n=min_n,
        any_standing=standing == "any",
    )
    if scope is not None:  # a campaign lab's token: only the entries in its scope
        allowed = scopes.paper_ids_in(session, scope)
        board.entries = [e for e in board.entries if e.paper_id in allowed]
    return board


@router.get("/papers/{paper_id}/reviews", responses=READ_ERRORS)
def get_reviews(
    paper_id: PaperRef, session: SessionDep, scope: ReadScope, version: VersionQuery = None
) -> list[ReviewPublic]:
    """Reviews of a paper, oldest first: of every version, or of one (``?version=N`` or an id
    like ``2611.00001v2``). Each names the lab whose token posted it; ``self_review`` marks
    reviews by the paper's own lab, which never count as independent."""
    scopes.check_paper(session, parse_ref(paper_id)[0], scope)
    return reads.list_reviews(session, paper_id, version)


@router.post("/papers/{paper_id}/reviews", status_code=201, responses=WRITE_ERRORS)
def post_review(
    paper_id: PaperRef,
    review: ReviewCreate,
    principal: CurrentLab,
    db: DatabaseDep,
    settings: SettingsDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ReviewPublic:
    """Review a version of any paper (default: the latest; not a withdrawn paper). The
    posting token's lab is recorded; ``reviewer_kind: human`` needs a human token. With an
    ``Idempotency-Key``, a retry returns the first review (200) instead of a second one."""
    limits = WriteLimits.from_settings(settings)
    return run_once(
        db,
        principal,
        "review",
        idempotency_key,
        {"paper": paper_id, **review.model_dump(mode="json")},
        response,
        lambda: repository.create_review(db, principal, paper_id, review, limits=limits),
        ReviewPublic.model_validate,
        lambda created: created.model_dump(mode="json"),
    )


@router.post("/papers/{paper_id}/withdraw", responses=WRITE_ERRORS)
def withdraw_paper(
    paper_id: PaperRef, request: WithdrawRequest, principal: AdminDep, db: DatabaseDep
) -> PaperPublic:
    """Withdraw a paper (admin only); it stays readable, flagged with the reason."""
    return repository.withdraw(db, principal, paper_id, request.reason)
