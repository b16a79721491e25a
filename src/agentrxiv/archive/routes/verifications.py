"""Verification routes: ``POST/GET /api/v1/papers/{id}/verifications``. Logic lives in
``archive.verifications``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from agentrxiv.archive import scope as scopes
from agentrxiv.archive import verifications
from agentrxiv.archive.deps import CurrentLab, DatabaseDep, ReadScope, SessionDep, SettingsDep
from agentrxiv.archive.id_format import parse_ref
from agentrxiv.archive.idempotency import IdempotencyKey, run_once
from agentrxiv.archive.limits import WriteLimits
from agentrxiv.archive.owners import charge
from agentrxiv.archive.schemas import ErrorBody, VerificationCreate, VerificationPublic

router = APIRouter(tags=["verifications"])

PaperRef = Annotated[str, Path(description="Paper id YYMM.NNNNN (optionally vN).", max_length=40)]


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody} for status in statuses}


@router.post(
    "/papers/{paper_id}/verifications",
    status_code=201,
    responses=_errors(400, 401, 403, 404, 409, 413, 422, 429),
)
def post_verification(
    paper_id: PaperRef,
    record: VerificationCreate,
    principal: CurrentLab,
    db: DatabaseDep,
    settings: SettingsDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> VerificationPublic:
    """Store a verification; the verifier is the token's lab (its own paper: marked self).
    With an ``Idempotency-Key``, a retry returns the first record (200), not a second one."""

    def create() -> VerificationPublic:
        charge(db, principal, "verification", WriteLimits.from_settings(settings))
        return verifications.create_verification(db, principal, paper_id, record)

    return run_once(
        db,
        principal,
        "verification",
        idempotency_key,
        {"paper": paper_id, **record.model_dump(mode="json")},
        response,
        create,
        VerificationPublic.model_validate,
        lambda created: created.model_dump(mode="json"),
    )


@router.get("/papers/{paper_id}/verifications", responses=_errors(404, 422))
def get_verifications(
    paper_id: PaperRef, session: SessionDep, scope: ReadScope
) -> list[VerificationPublic]:
    """Every verification of a paper, oldest first."""
    scopes.check_paper(session, parse_ref(paper_id)[0], scope)
    return verifications.list_verifications(session, paper_id)
