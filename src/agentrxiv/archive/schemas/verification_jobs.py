"""The archive verifier's queue: jobs (one per paper version), leases, and what a verifier
reports back (``complete`` with the posted verification, ``fail`` with an error)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from agentrxiv.archive.schemas.common import StrictModel

JobState = Literal["queued", "leased", "done", "failed"]
MIN_LEASE_S = 5
MAX_LEASE_S = 3600
DEFAULT_LEASE_S = 300


class VerificationJobPublic(BaseModel):
    """A queued verification of one paper version. ``lease_id`` is shown only to the
    verifier that holds the lease (in the lease answer); listings leave it out."""

    id: int
    paper_id: str
    version: int
    state: JobState
    attempts: int
    requested_by: str
    lease_holder: str | None = None
    lease_expires_at: datetime | None = None
    lease_id: str | None = None
    verification_id: int | None = None
    last_error: str | None = None
    created_at: datetime
    updated_at: datetime


class VerificationJobList(BaseModel):
    """Jobs, oldest first, with the total that matched."""

    items: list[VerificationJobPublic]
    total: int


class LeaseRequest(StrictModel):
    """Lease the oldest queued job (or one whose lease expired) for ``lease_s`` seconds."""

    lease_s: int = Field(default=DEFAULT_LEASE_S, ge=MIN_LEASE_S, le=MAX_LEASE_S)


class JobHeartbeat(StrictModel):
    """Extend a lease the caller holds by ``lease_s`` seconds from now."""

    lease_id: str = Field(min_length=1, max_length=64)
    lease_s: int = Field(default=DEFAULT_LEASE_S, ge=MIN_LEASE_S, le=MAX_LEASE_S)


class JobComplete(StrictModel):
    """The job is done: ``verification_id`` is the verification the holder posted for it."""

    lease_id: str = Field(min_length=1, max_length=64)
    verification_id: int = Field(ge=1, le=2**31 - 1)


class JobFail(StrictModel):
    """The job could not be verified this time: queued again until the server's maximum of
    attempts, then ``failed``. ``released``: the verifier stopped before finishing (it was
    interrupted); the job is queued again and the attempt does not count."""

    lease_id: str = Field(min_length=1, max_length=64)
    error: str = Field(min_length=1, max_length=5_000)
    released: bool = False


class VerifierStatus(BaseModel):
    """Whether an archive verifier is at work: ``active`` when one leased, heartbeat or
    completed a job within ``window_s`` seconds; and how many jobs are in each state."""

    active: bool
    last_seen_at: datetime | None = None
    window_s: int
    counts: dict[str, int]
