"""The papers part of the JSON API (``/api/v1``): publish, version, read, list, lineage,
leaderboards, reviews, withdrawal and PDFs. All logic lives in ``archive.repository``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from agentrxiv.archive import repository
from agentrxiv.archive.deps import AdminDep, CurrentLab, DatabaseDep, SessionDep, SettingsDep
from agentrxiv.archive.limits import WriteLimits
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
) -> PaperPublic:
    """Publish a new paper (version 1) under the token's lab. A repeated ``idempotency_key``
    from the same lab returns the paper already created, with status 200."""
    from agentrxiv.archive.campaigns import submit_idempotent

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
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    category: Annotated[str | None, Query(max_length=64)] = None,
    lab: Annotated[str | None, Query(max_length=200)] = None,
    campaign: Annotated[str | None, Query(max_length=40)] = None,
) -> PaperList:
    """Latest versions of papers, newest first."""
    return repository.list_papers(
        session, offset, limit, category=category, lab=lab, campaign=campaign
    )


@router.get("/papers/{paper_id}", responses=READ_ERRORS)
def get_paper(paper_id: PaperRef, session: SessionDep, version: VersionQuery = None) -> PaperPublic:
    """A paper (latest version, or ``?version=N``, or an id like ``2611.00001v2``)."""
    return repository.get_paper(session, paper_id, version)


@router.get("/papers/{paper_id}/v{version}", responses=READ_ERRORS)
def get_paper_version(
    paper_id: PaperRef,
    version: Annotated[int, Path(ge=1, le=MAX_VERSION)],
    session: SessionDep,
) -> PaperPublic:
    """One version of a paper."""
    return repository.get_paper(session, paper_id, version)


@router.get(
    "/papers/{paper_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **READ_ERRORS},
)
def get_pdf(paper_id: PaperRef, session: SessionDep, version: VersionQuery = None) -> Response:
    """The PDF of a paper version, if one was uploaded."""
    pdf = repository.get_pdf(session, paper_id, version)
    name = paper_id + (f"v{version}" if version else "")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
    )


@router.get("/papers/{paper_id}/lineage", responses=READ_ERRORS)
def get_lineage(paper_id: PaperRef, session: SessionDep) -> Lineage:
    """Papers this one builds on (ancestors) and papers building on it (descendants)."""
    return repository.lineage(session, paper_id)


@router.get("/leaderboard/{benchmark}", responses=READ_ERRORS)
def get_leaderboard(
    benchmark: Annotated[str, Path(max_length=100, examples=["math500"])],
    session: SessionDep,
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
) -> Leaderboard:
    """Each paper's best result on a benchmark with its verified value; verified papers first,
    by verified value, then unverified ones by claimed value (``rank_by=claimed``: claimed).
    Without ``metric`` the benchmark's primary metric (accuracy) is ranked; an unknown metric
    is a 404 listing the valid ones. ``baseline_<metric>`` results are shown as each entry's
    baseline (with Δ), never ranked."""
    return repository.leaderboard(
        session, benchmark, metric, limit, rank_by=rank_by, model=model, min_n=min_n
    )


@router.get("/papers/{paper_id}/reviews", responses=READ_ERRORS)
def get_reviews(
    paper_id: PaperRef, session: SessionDep, version: VersionQuery = None
) -> list[ReviewPublic]:
    """Reviews of a paper, oldest first: of every version, or of one (``?version=N`` or an id
    like ``2611.00001v2``). Each names the lab whose token posted it; ``self_review`` marks
    reviews by the paper's own lab, which never count as independent."""
    return repository.list_reviews(session, paper_id, version)


@router.post("/papers/{paper_id}/reviews", status_code=201, responses=WRITE_ERRORS)
def post_review(
    paper_id: PaperRef,
    review: ReviewCreate,
    principal: CurrentLab,
    db: DatabaseDep,
    settings: SettingsDep,
) -> ReviewPublic:
    """Review a version of any paper (default: the latest; not a withdrawn paper). The
    posting token's lab is recorded; ``reviewer_kind: human`` needs a human token."""
    limits = WriteLimits.from_settings(settings)
    return repository.create_review(db, principal, paper_id, review, limits=limits)


@router.post("/papers/{paper_id}/withdraw", responses=WRITE_ERRORS)
def withdraw_paper(
    paper_id: PaperRef, request: WithdrawRequest, principal: AdminDep, db: DatabaseDep
) -> PaperPublic:
    """Withdraw a paper (admin only); it stays readable, flagged with the reason."""
    return repository.withdraw(db, principal, paper_id, request.reason)
