"""The archive verifier's queue: one job per paper version that names a technique.

A job is queued when a version with a technique is stored (in the same transaction) or when
any lab asks (``request_verification``; idempotent per version). Verifier tokens lease the
oldest queued job, or one whose lease expired, for a bounded number of seconds: on
PostgreSQL with ``SELECT ... FOR UPDATE SKIP LOCKED``, on SQLite inside one ``BEGIN
IMMEDIATE`` write; the lease is then taken by an ``UPDATE ... WHERE`` guarded by the state
and expiry, so two leasers never get the same job. Each lease has its own ``lease_id``: a
verifier that lost its lease (killed, hung past the expiry) cannot heartbeat, complete or
fail the job another verifier now holds. A verification posted with standing ``archive``
for a job's version closes the job (so a verifier killed between posting and completing
duplicates nothing); ``fail`` queues the job again until ``MAX_ATTEMPTS`` leases, then
marks it ``failed``, and so does a lease that expired that many times.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from agentrxiv.archive.auth import Principal
from agentrxiv.archive.db import Database
from agentrxiv.archive.id_format import parse_ref
from agentrxiv.archive.rows import aware, paper_row, version_row
from agentrxiv.archive.schemas import (
    JobState,
    VerificationJobList,
    VerificationJobPublic,
    VerifierStatus,
)
from agentrxiv.archive.tables import (
    Paper,
    PaperVersion,
    Verification,
    VerificationJob,
    VerifierPresence,
    utcnow,
)
from agentrxiv.errors import ArchiveError, ConflictError, ForbiddenError, NotFoundError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
ACTIVE_WINDOW_S = 120
MAX_ERROR_CHARS = 5_000
STATES: tuple[JobState, ...] = ("queued", "leased", "done", "failed")


def to_public(job: VerificationJob, with_lease: bool = False) -> VerificationJobPublic:
    """The API form of a job; ``lease_id`` only for the verifier that just leased it."""
    return VerificationJobPublic(
        id=job.id,
        paper_id=job.paper_id,
        version=job.version,
        state=job.state,  # type: ignore[arg-type]
        attempts=job.attempts,
        requested_by=job.requested_by,
        lease_holder=job.lease_holder,
        lease_expires_at=aware(job.lease_expires_at) if job.lease_expires_at else None,
        lease_id=job.lease_id if with_lease else None,
        verification_id=job.verification_id,
        last_error=job.last_error,
        created_at=aware(job.created_at),
        updated_at=aware(job.updated_at),
    )


def _insert(session: Session):  # type: ignore[no-untyped-def]
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def enqueue(session: Session, paper_id: str, version: int, requested_by: str) -> bool:
    """Queue ``paper_id`` version ``version`` inside the caller's transaction; False when a
    job for that version already exists (whatever its state)."""
    now = utcnow()
    table = VerificationJob.__table__
    statement = (
        _insert(session)(table)
        .values(
            paper_id=paper_id,
            version=version,
            state="queued",
            attempts=0,
            requested_by=requested_by[:200],
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["paper_id", "version"])
        .returning(table.c.id)
    )
    return session.execute(statement).scalar() is not None


def queue_new_version(session: Session, version: PaperVersion, lab_name: str) -> None:
    """Queue a just-stored version when it names a technique (called in its transaction)."""
    if version.technique:
        enqueue(session, version.paper_id, version.version, lab_name)


def _job_of(session: Session, paper_id: str, version: int) -> VerificationJob:
    return session.scalars(
        select(VerificationJob).where(
            VerificationJob.paper_id == paper_id, VerificationJob.version == version
        )
    ).one()


def request_verification(
    db: Database, principal: Principal, ref: str, version: int | None
) -> tuple[VerificationJobPublic, bool]:
    """Queue a version of a paper (default: the latest; ``ref`` may say ``vN``) for the
    archive's verifier; returns the job and whether it is new. 404: unknown paper or
    version; 409: withdrawn; 422: the version names no technique."""
    paper_id, ref_version = parse_ref(ref)
    if ref_version and version and ref_version != version:
        raise ArchiveError(
            f"the id names version {ref_version} but version={version} was asked", status=422
        )
    with db.write() as session:
        paper = paper_row(session, paper_id)
        if paper.withdrawn:
            raise ConflictError(f"paper {paper_id} is withdrawn; it takes no verifications")
        number = version or ref_version or paper.latest_version
        row = version_row(session, paper_id, number)
        if not row.technique:
            raise ArchiveError(
                f"{paper_id}v{number} names no technique (technique: FILE:function); "
                "there is nothing to verify",
                status=422,
            )
        created = enqueue(session, paper_id, number, principal.lab_name)
        public = to_public(_job_of(session, paper_id, number))
    if created:
        log.info("verification of %sv%d requested by %s", paper_id, number, principal.lab_name)
    return public, created


def require_verifier(principal: Principal) -> None:
    """403 unless the token is an archive verifier token."""
    if not principal.is_verifier:
        raise ForbiddenError(
            "only the archive's verifier may lease or report verification jobs",
            hint="the server's operator creates one with 'agentrxiv token create NAME --verifier'",
        )


def _seen(session: Session, principal: Principal, now: datetime) -> None:
    table = VerifierPresence.__table__
    statement = (
        _insert(session)(table)
        .values(lab_id=principal.lab_id, last_seen_at=now)
        .on_conflict_do_update(index_elements=["lab_id"], set_={"last_seen_at": now})
    )
    session.execute(statement)


def _leasable(now: datetime):  # type: ignore[no-untyped-def]
    return or_(
        VerificationJob.state == "queued",
        and_(
            VerificationJob.state == "leased",
            VerificationJob.lease_expires_at < now,
            VerificationJob.attempts < MAX_ATTEMPTS,
        ),
    )


def _fail_exhausted(session: Session, now: datetime) -> None:
    """Jobs whose lease expired ``MAX_ATTEMPTS`` times (a verifier died on each) fail."""
    session.execute(
        update(VerificationJob)
        .where(
            VerificationJob.state == "leased",
            VerificationJob.lease_expires_at < now,
            VerificationJob.attempts >= MAX_ATTEMPTS,
        )
        .values(
            state="failed",
            lease_id=None,
            updated_at=now,
            last_error=f"the lease expired {MAX_ATTEMPTS} times without a result",
        )
        .execution_options(synchronize_session=False)
    )


def lease(db: Database, principal: Principal, lease_s: int) -> VerificationJobPublic | None:
    """Lease the oldest leasable job for ``lease_s`` seconds (None: nothing to do)."""
    require_verifier(principal)
    with db.write() as session:
        now = utcnow()
        _seen(session, principal, now)
        _fail_exhausted(session, now)
        candidate = session.scalar(
            select(VerificationJob)
            .join(Paper, Paper.id == VerificationJob.paper_id)
            .where(_leasable(now), Paper.withdrawn.is_(False))
            .order_by(VerificationJob.created_at, VerificationJob.id)
            .limit(1)
            .with_for_update(skip_locked=True, of=VerificationJob)
        )
        if candidate is None:
            return None
        lease_id = secrets.token_hex(16)
        taken = session.execute(
            update(VerificationJob)
            .where(VerificationJob.id == candidate.id, _leasable(now))
            .values(
                state="leased",
                lease_id=lease_id,
                lease_holder=principal.lab_name,
                lease_expires_at=now + timedelta(seconds=lease_s),
                attempts=VerificationJob.attempts + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            return None  # taken meanwhile; the caller asks again
        session.expire(candidate)
        public = to_public(candidate, with_lease=True)
    log.info(
        "job %d (%sv%d) leased by %s for %d s (attempt %d)",
        public.id,
        public.paper_id,
        public.version,
        principal.lab_name,
        lease_s,
        public.attempts,
    )
    return public


def _held(session: Session, principal: Principal, job_id: int, lease_id: str) -> VerificationJob:
    """The job, locked, if ``lease_id`` is its current lease; 404/409 otherwise."""
    job = session.get(VerificationJob, job_id, with_for_update=True)
    if job is None:
        raise NotFoundError(f"no verification job {job_id}")
    if job.state != "leased" or not secrets.compare_digest(job.lease_id or "", lease_id):
        raise ConflictError(
            f"verification job {job_id} is not leased under this lease (it is {job.state}; "
            "an expired lease may have been given to another verifier)"
        )
    return job


def heartbeat(
    db: Database, principal: Principal, job_id: int, lease_id: str, lease_s: int
) -> VerificationJobPublic:
    """Extend the caller's lease to ``lease_s`` seconds from now."""
    require_verifier(principal)
    with db.write() as session:
        now = utcnow()
        _seen(session, principal, now)
        job = _held(session, principal, job_id, lease_id)
        job.lease_expires_at = now + timedelta(seconds=lease_s)
        job.updated_at = now
        session.flush()
        return to_public(job, with_lease=True)


def complete(
    db: Database, principal: Principal, job_id: int, lease_id: str, verification_id: int
) -> VerificationJobPublic:
    """Mark the caller's job done with the verification it posted (the same lab's claim
    verification of the job's version). Repeating it after the posting closed the job
    answers the done job."""
    require_verifier(principal)
    with db.write() as session:
        now = utcnow()
        _seen(session, principal, now)
        job = session.get(VerificationJob, job_id, with_for_update=True)
        if job is not None and job.state == "done" and job.verification_id == verification_id:
            return to_public(job)
        job = _held(session, principal, job_id, lease_id)
        found = session.get(Verification, verification_id)
        if (
            found is None
            or (found.paper_id, found.version) != (job.paper_id, job.version)
            or found.verifier_lab_id != principal.lab_id
            or found.kind != "claim"
        ):
            raise ArchiveError(
                f"verification {verification_id} is not this verifier's claim verification "
                f"of {job.paper_id}v{job.version}",
                status=422,
            )
        job.state, job.verification_id, job.updated_at = "done", verification_id, now
        job.lease_expires_at = None
        session.flush()
        public = to_public(job)
    log.info("job %d (%sv%d) done: verification %d", job_id, public.paper_id, public.version,
             verification_id)  # fmt: skip
    return public


def fail(
    db: Database,
    principal: Principal,
    job_id: int,
    lease_id: str,
    error: str,
    released: bool = False,
) -> VerificationJobPublic:
    """Record why the caller's job could not be verified; queue it again until
    ``MAX_ATTEMPTS`` leases were spent, then mark it ``failed``. ``released``: the verifier
    was interrupted; the job is queued again and this attempt does not count."""
    require_verifier(principal)
    with db.write() as session:
        now = utcnow()
        _seen(session, principal, now)
        job = _held(session, principal, job_id, lease_id)
        if released:
            job.attempts = max(0, job.attempts - 1)
        job.state = "failed" if job.attempts >= MAX_ATTEMPTS else "queued"
        job.last_error = error[:MAX_ERROR_CHARS]
        job.lease_id, job.lease_expires_at, job.updated_at = None, None, now
        session.flush()
        public = to_public(job)
    log.warning("job %d (%sv%d) attempt %d failed: %s", job_id, public.paper_id,
                public.version, public.attempts, error[:200])  # fmt: skip
    return public


def close_by_verification(session: Session, row: Verification) -> None:
    """A claim verification with standing ``archive`` closes its version's open job (called
    in the verification's transaction)."""
    if row.standing != "archive" or row.kind != "claim":
        return
    session.execute(
        update(VerificationJob)
        .where(
            VerificationJob.paper_id == row.paper_id,
            VerificationJob.version == row.version,
            VerificationJob.state.in_(("queued", "leased")),
        )
        .values(state="done", verification_id=row.id, lease_expires_at=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def cancel_withdrawn(session: Session, paper_id: str) -> None:
    """Open jobs of a paper being withdrawn fail (called in the withdrawal's transaction)."""
    session.execute(
        update(VerificationJob)
        .where(
            VerificationJob.paper_id == paper_id,
            VerificationJob.state.in_(("queued", "leased")),
        )
        .values(state="failed", lease_id=None, last_error="paper withdrawn", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def list_jobs(
    session: Session,
    state: JobState | None = None,
    paper_id: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> VerificationJobList:
    """Jobs (of one state or paper), oldest first."""
    query = select(VerificationJob)
    if state is not None:
        query = query.where(VerificationJob.state == state)
    if paper_id is not None:
        query = query.where(VerificationJob.paper_id == parse_ref(paper_id)[0])
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(VerificationJob.created_at, VerificationJob.id).offset(offset).limit(limit)
    )
    return VerificationJobList(items=[to_public(row) for row in rows], total=total)


def verifier_status(session: Session, window_s: int = ACTIVE_WINDOW_S) -> VerifierStatus:
    """Whether an archive verifier was seen within ``window_s`` seconds; jobs per state."""
    last = session.scalar(select(func.max(VerifierPresence.last_seen_at)))
    last_seen = aware(last) if last is not None else None
    active = last_seen is not None and last_seen >= utcnow() - timedelta(seconds=window_s)
    counts = dict.fromkeys(STATES, 0)
    for state, count in session.execute(
        select(VerificationJob.state, func.count()).group_by(VerificationJob.state)
    ):
        counts[state] = int(count)
    return VerifierStatus(active=active, last_seen_at=last_seen, window_s=window_s, counts=counts)
