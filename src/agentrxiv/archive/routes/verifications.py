"""Verification routes: ``POST/GET /api/v1/papers/{id}/verifications``. Logic lives in
``archive.verifications``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from agentrxiv.archive import verifications
from agentrxiv.archive.deps import CurrentLab, DatabaseDep, SessionDep
from agentrxiv.archive.schemas import ErrorBody, VerificationCreate, VerificationPublic

router = APIRouter(tags=["verifications"])

PaperRef = Annotated[str, Path(description="Paper id YYMM.NNNNN (optionally vN).", max_length=40)]


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody} for status in statuses}


@router.post(
    "/papers/{paper_id}/verifications",
    status_code=201,
    responses=_errors(400, 401, 403, 404, 409, 413, 422),
)
def post_verification(
    paper_id: PaperRef, record: VerificationCreate, principal: CurrentLab, db: DatabaseDep
) -> VerificationPublic:
    """Store a verification; the verifier is the token's lab (its own paper: marked self)."""
    return verifications.create_verification(db, principal, paper_id, record)


@router.get("/papers/{paper_id}/verifications", responses=_errors(404, 422))
def get_verifications(paper_id: PaperRef, session: SessionDep) -> list[VerificationPublic]:
    """Every verification of a paper, oldest first."""
    return verifications.list_verifications(session, paper_id)
