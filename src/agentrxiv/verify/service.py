"""The archive's verifier service (``agentrxiv verifier run``): lease a job from the server's
queue, verify it exactly as ``agentrxiv verify`` does (``verify_paper``: the baseline
in-process, the technique in the sandbox), post the record and complete the job.

Each worker thread holds at most one lease and heartbeats it while the verification runs.
The record is posted under the idempotency key ``verification-job-<id>``, so one verifier
lab posts at most one record per job even when a lease was lost and the job re-leased; a
verifier that lost its lease (heartbeat answered 409) posts nothing. A failure is reported
with ``fail`` (the server queues the job again up to its maximum of attempts); an
interrupted verifier releases its leases (the attempt does not count). A verifier killed
with SIGKILL loses nothing either: its lease expires and another verifier takes the job.

``archive_verification`` is the other side: a lab (a campaign's) that wants its paper
verified asks whether an archive verifier is running and, if so, waits for its record.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agentrxiv.archive.schemas import VerificationJobPublic, VerificationPublic
from agentrxiv.client import ArchiveClient
from agentrxiv.errors import AgentrxivError, ConflictError, NotFoundError
from agentrxiv.verify.core import VerificationRecord, VerifyOptions, verify_paper

log = logging.getLogger(__name__)

Say = Callable[[str], None]


@dataclass
class ServiceOptions:
    """Knobs of ``verifier run``: the verify options per job (``make_options``), the model
    (default: the paper's), split and limit as for ``agentrxiv verify``, and the queue's
    ``concurrency`` (jobs at once), ``lease_s``, polling backoff and ``once`` (drain and
    exit)."""

    concurrency: int = 1
    lease_s: int = 300
    once: bool = False
    poll_s: float = 1.0
    max_poll_s: float = 30.0
    model_spec: str | None = None
    split: str = "test"
    limit: int | None = None
    make_options: Callable[[], VerifyOptions] = VerifyOptions
    max_jobs: int | None = None  # stop after this many jobs (tests, benchmarks)


@dataclass
class JobOutcome:
    """What became of one leased job: ``done`` (record posted and job completed),
    ``failed`` (reported with ``fail``) or ``lost`` (the lease went to another verifier)."""

    job: VerificationJobPublic
    state: str
    record: VerificationRecord | None = None
    error: str = ""


@dataclass
class _Lease:
    job: VerificationJobPublic
    lost: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)


class VerifierService:
    """Works through the server's verification queue with ``concurrency`` threads, each
    with its own ``ArchiveClient`` from ``connect``."""

    def __init__(
        self,
        connect: Callable[[], ArchiveClient],
        options: ServiceOptions | None = None,
        say: Say | None = None,
    ) -> None:
        self.connect = connect
        self.options = options or ServiceOptions()
        self.say = say or (lambda line: log.info("%s", line))
        self.outcomes: list[JobOutcome] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._held: dict[int, _Lease] = {}
        self._started = 0

    # ------------------------------------------------------------ control

    def stop(self) -> None:
        """Take no new job; running ones finish (or ``release`` hands them back)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """Whether ``stop`` was called."""
        return self._stop.is_set()

    def release(self, reason: str = "the verifier was interrupted") -> int:
        """Hand every job still in progress back to the queue (the attempts do not count);
        returns how many. Called when the verifier is interrupted."""
        self.stop()
        with self._lock:
            held = [lease for lease in self._held.values() if not lease.finished.is_set()]
        released = 0
        with self.connect() as client:
            for lease in held:
                lease.lost.set()  # its worker posts nothing any more
                try:
                    client.fail_job(lease.job.id, lease.job.lease_id or "", reason, released=True)
                    released += 1
                except AgentrxivError as exc:
                    log.info("releasing job %d: %s", lease.job.id, exc)
        return released

    def run(self) -> list[JobOutcome]:
        """Run until the queue is empty (``once``), ``max_jobs`` were done, or ``stop``."""
        threads = [
            threading.Thread(target=self._worker, name=f"verifier-{n}", daemon=True)
            for n in range(max(1, self.options.concurrency))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.5)
        return self.outcomes

    # ------------------------------------------------------------ workers

    def _claim_slot(self) -> bool:
        with self._lock:
            if self.options.max_jobs is not None and self._started >= self.options.max_jobs:
                return False
            self._started += 1
            return True

    def _worker(self) -> None:
        delay = self.options.poll_s
        with self.connect() as client:
            while not self.stopping and self._claim_slot():
                try:
                    job = client.lease_job(self.options.lease_s)
                except AgentrxivError as exc:
                    job = None
                    self.say(f"[yellow]cannot lease a job:[/yellow] {exc}")
                    if self.options.once:
                        with self._lock:
                            self._started -= 1
                        return
                if job is None:
                    with self._lock:
                        self._started -= 1
                    if self.options.once:
                        return
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.options.max_poll_s)
                    continue
                delay = self.options.poll_s
                outcome = self._process(client, job)
                with self._lock:
                    self.outcomes.append(outcome)

    def _heartbeats(self, client: ArchiveClient, lease: _Lease) -> None:
        interval = max(1.0, self.options.lease_s / 3)
        while not lease.finished.wait(interval):
            try:
                client.heartbeat_job(lease.job.id, lease.job.lease_id or "", self.options.lease_s)
            except (ConflictError, NotFoundError) as exc:
                self.say(f"[red]job {lease.job.id}: lease lost[/red] ({exc})")
                lease.lost.set()
                return
            except AgentrxivError as exc:  # the server is unreachable: try again
                log.warning("heartbeat of job %d failed: %s", lease.job.id, exc)

    def _process(self, client: ArchiveClient, job: VerificationJobPublic) -> JobOutcome:
        ref = f"{job.paper_id}v{job.version}"
        self.say(f"job {job.id}: verifying {ref} (attempt {job.attempts})")
        lease = _Lease(job)
        with self._lock:
            self._held[job.id] = lease
        beating = threading.Thread(
            target=self._heartbeats, args=(client, lease), name=f"heartbeat-{job.id}", daemon=True
        )
        beating.start()
        try:
            return self._verify_and_post(client, job, lease)
        finally:
            lease.finished.set()
            beating.join(timeout=5)
            with self._lock:
                self._held.pop(job.id, None)

    def _verify_and_post(
        self, client: ArchiveClient, job: VerificationJobPublic, lease: _Lease
    ) -> JobOutcome:
        lease_id = job.lease_id or ""
        ref = f"{job.paper_id}v{job.version}"
        try:
            record = verify_paper(
                client,
                ref,
                model_spec=self.options.model_spec,
                split=self.options.split,
                limit=self.options.limit,
                post=False,
                options=self.options.make_options(),
            )
            if lease.lost.is_set():
                return JobOutcome(job, "lost", record, "the lease went to another verifier")
            # Stop heartbeating first: a heartbeat racing the completion would see a 409.
            stored = client.post_verification(
                job.paper_id, record.to_create(), idempotency_key=f"verification-job-{job.id}"
            )
            record.id, record.verifier = stored.id, stored.verifier
            record.self_verification, record.standing = stored.self_verification, stored.standing
            lease.finished.set()
            client.complete_job(job.id, lease_id, stored.id)
        except Exception as exc:  # noqa: BLE001 - every failure is reported to the queue
            return self._report_failure(client, job, lease, exc)
        self.say(
            f"job {job.id}: [bold]{record.status}[/bold] {ref} on {record.benchmark}/"
            f"{record.split} with {record.model} (n={record.n}) -> verification {record.id} "
            f"(standing {record.standing})"
        )
        return JobOutcome(job, "done", record)

    def _report_failure(
        self, client: ArchiveClient, job: VerificationJobPublic, lease: _Lease, exc: Exception
    ) -> JobOutcome:
        error = str(exc) or type(exc).__name__
        if not isinstance(exc, AgentrxivError):
            error = f"{type(exc).__name__}: {error}"
            log.exception("job %d failed", job.id)
        if lease.lost.is_set():
            return JobOutcome(job, "lost", None, error)
        lease.finished.set()
        try:
            reported = client.fail_job(job.id, job.lease_id or "", error)
        except AgentrxivError as report_error:
            self.say(f"[red]job {job.id}: cannot report the failure:[/red] {report_error}")
            return JobOutcome(job, "lost", None, error)
        again = "queued again" if reported.state == "queued" else "failed for good"
        self.say(f"[red]job {job.id} failed[/red] ({again}): {error}")
        return JobOutcome(job, "failed", None, error)


def archive_verification(
    client: ArchiveClient,
    paper_id: str,
    wait_s: float,
    poll_s: float = 2.0,
    version: int | None = None,
) -> VerificationPublic | None:
    """The archive verifier's verification of ``paper_id`` (latest version, or ``version``)
    when an archive verifier is running: ask for it (idempotent; publishing queued it
    already) and wait up to ``wait_s`` seconds for the job. None when no verifier is
    active, the job failed, or the wait ran out: the caller verifies by itself then."""
    if wait_s <= 0 or not client.verifier_status().active:
        return None
    job = client.request_verification(paper_id, version)
    deadline = time.monotonic() + wait_s
    while job.state not in ("done", "failed"):
        if time.monotonic() >= deadline:
            log.info("the archive verifier did not verify %s within %.0f s", paper_id, wait_s)
            return None
        time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
        listed = client.verification_jobs(paper=paper_id, limit=200).items
        job = next((j for j in listed if j.id == job.id), job)
    if job.state != "done" or job.verification_id is None:
        return None
    found = [v for v in client.list_verifications(paper_id) if v.id == job.verification_id]
    return found[0] if found else None
