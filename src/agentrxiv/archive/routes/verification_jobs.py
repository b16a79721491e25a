"""The archive verifier's queue: ``POST /api/v1/papers/{id}/verification-requests`` (any
lab), ``GET /api/v1/verification-jobs`` and ``.../status`` (public), and the verifier-only
``lease``, ``heartbeat``, ``complete`` and ``fail``. Logic lives in
``archive.verification_jobs``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from agentrxiv.archive import verification_jobs as jobs
from agentrxiv.archive.deps import CurrentLab, DatabaseDep, SessionDep, SettingsDep
from agentrxiv.archive.limits import WriteLimits
from agentrxiv.archive.owners import charge
from agentrxiv.archive.schemas import (
    ErrorBody,
    JobComplete,
    JobFail,
    JobHeartbeat,
    JobState,
    LeaseRequest,
    VerificationJobList,
    VerificationJobPublic,
    VerifierStatus,
)

router = APIRouter(tags=["verifier"])

PaperRef = Annotated[str, Path(description="Paper id YYMM.NNNNN (optionally vN).", max_length=40)]
JobId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The job's id.")]


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody} for status in statuses}


@router.post(
    "/papers/{paper_id}/verification-requests",
    status_code=201,
    responses=_errors(401, 404, 409, 422, 429),
)
def request_verification(
    paper_id: PaperRef,
    principal: CurrentLab,
    db: DatabaseDep,
    settings: SettingsDep,
    response: Response,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> VerificationJobPublic:
    """Ask the archive's verifier to verify a version of a paper (default: the latest).
    Any valid token may ask; a version already queued (or done, or failed) answers its job
    with status 200 instead of queueing it twice. 404: unknown paper or version; 409:
    withdrawn; 422: the version names no technique."""
    charge(db, principal, "verification", WriteLimits.from_settings(settings))
    job, created = jobs.request_verification(db, principal, paper_id, version)
    if not created:
        response.status_code = 200
    return job


@router.get("/verification-jobs", responses=_errors(422))
def list_jobs(
    session: SessionDep,
    state: Annotated[JobState | None, Query(description="Only jobs in this state.")] = None,
    paper: Annotated[str | None, Query(max_length=40, description="Only this paper's.")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> VerificationJobList:
    """The verifier's queue, oldest first (lease ids are never shown)."""
    return jobs.list_jobs(session, state, paper, offset, limit)


@router.get("/verification-jobs/status")
def verifier_status(
    session: SessionDep,
    window_s: Annotated[int, Query(ge=1, le=86_400)] = jobs.ACTIVE_WINDOW_S,
) -> VerifierStatus:
    """Whether an archive verifier asked for work or reported within ``window_s`` seconds,
    and how many jobs are in each state."""
    return jobs.verifier_status(session, window_s)


@router.post(
    "/verification-jobs/lease",
    responses={204: {"description": "No job to lease."}, **_errors(401, 403, 422)},
)
def lease_job(principal: CurrentLab, db: DatabaseDep, request: LeaseRequest | None = None) -> Any:
    """Lease the oldest queued job, or one whose lease expired (verifier tokens only). The
    answer's ``lease_id`` is the only proof of the lease: heartbeat, complete and fail
    need it. 204 when there is nothing to do."""
    lease_s = (request or LeaseRequest()).lease_s
    job = jobs.lease(db, principal, lease_s)
    if job is None:
        return Response(status_code=204)
    return job


@router.post("/verification-jobs/{job_id}/heartbeat", responses=_errors(401, 403, 404, 409, 422))
def heartbeat(
    job_id: JobId, body: JobHeartbeat, principal: CurrentLab, db: DatabaseDep
) -> VerificationJobPublic:
    """Extend a lease the caller holds (409 when it lost it)."""
    return jobs.heartbeat(db, principal, job_id, body.lease_id, body.lease_s)


@router.post("/verification-jobs/{job_id}/complete", responses=_errors(401, 403, 404, 409, 422))
def complete(
    job_id: JobId, body: JobComplete, principal: CurrentLab, db: DatabaseDep
) -> VerificationJobPublic:
    """Mark the caller's job done with the verification it posted for it."""
    return jobs.complete(db, principal, job_id, body.lease_id, body.verification_id)


@router.post("/verification-jobs/{job_id}/fail", responses=_errors(401, 403, 404, 409, 422))
def fail(
    job_id: JobId, body: JobFail, principal: CurrentLab, db: DatabaseDep
) -> VerificationJobPublic:
    """Record why the caller's job could not be verified; it is queued again until the
    server's maximum of attempts (3), then failed (``released``: the verifier was
    interrupted; queued again, the attempt not counted)."""
    return jobs.fail(db, principal, job_id, body.lease_id, body.error, body.released)
