"""The papers part of the JSON API (``/api/v1``): publish, version, read, list, lineage,
leaderboards, reviews, withdrawal and PDFs. All logic lives in ``archive.repository``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from agentrxiv.archive import repository
from agentrxiv.archive.deps import AdminDep, CurrentLab, DatabaseDep, SessionDep, SettingsDep
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
WRITE_ERRORS = _errors(400, 401, 403, 404, 409, 413, 422)


@router.post("/papers", status_code=201, responses=WRITE_ERRORS)
def submit_paper(
    paper: PaperCreate, principal: CurrentLab, db: DatabaseDep, settings: SettingsDep
) -> PaperPublic:
    """Publish a new paper (version 1) under the token's lab."""
    return repository.create_paper(db, principal, paper, embed=settings.embed_on_write)


@router.post("/papers/{paper_id}/versions", status_code=201, responses=WRITE_ERRORS)
def submit_version(
    paper_id: PaperRef,
    paper: PaperCreate,
    principal: CurrentLab,
    db: DatabaseDep,
    settings: SettingsDep,
) -> PaperPublic:
    """Publish a new version of one of the lab's papers; the id stays the same."""
    return repository.add_version(db, principal, paper_id, paper, embed=settings.embed_on_write)


@router.get("/papers", responses=READ_ERRORS)
def list_papers(
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    category: Annotated[str | None, Query(max_length=64)] = None,
    lab: Annotated[str | None, Query(max_length=200)] = None,
) -> PaperList:
    """Latest versions of papers, newest first."""
    return repository.list_papers(session, offset, limit, category=category, lab=lab)


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
) -> Leaderboard:
    """Each paper's best result on a benchmark, highest first (newest first on ties)."""
    return repository.leaderboard(session, benchmark, metric, limit)


@router.get("/papers/{paper_id}/reviews", responses=READ_ERRORS)
def get_reviews(paper_id: PaperRef, session: SessionDep) -> list[ReviewPublic]:
    """Every review of a paper, oldest first."""
    return repository.list_reviews(session, paper_id)


@router.post("/papers/{paper_id}/reviews", status_code=201, responses=WRITE_ERRORS)
def post_review(
    paper_id: PaperRef, review: ReviewCreate, principal: CurrentLab, db: DatabaseDep
) -> ReviewPublic:
    """Review a version of any paper (default: the latest)."""
    return repository.create_review(db, principal, paper_id, review)


@router.post("/papers/{paper_id}/withdraw", responses=WRITE_ERRORS)
def withdraw_paper(
    paper_id: PaperRef, request: WithdrawRequest, principal: AdminDep, db: DatabaseDep
) -> PaperPublic:
    """Withdraw a paper (admin only); it stays readable, flagged with the reason."""
    return repository.withdraw(db, principal, paper_id, request.reason)
