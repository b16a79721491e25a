"""The lab's public entry point for callers that run it as one unit of work (the campaign
worker): ``run_lab_result`` validates the config, starts or resumes the lab in its
directory, runs it with its after-publish steps, and returns a ``LabResult``. Every end of
a run is a result (published, not published, budget, failure, crash); ``LabStopped`` (raise
it from a signal handler) checkpoints the lab and yields a resumable result."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentrxiv.client import ArchiveClient
from agentrxiv.errors import AgentrxivError, ArchiveError, BudgetExceededError
from agentrxiv.lab.after_publish import run_after_publish
from agentrxiv.lab.checkpoint import load_state
from agentrxiv.lab.config import parse_config
from agentrxiv.lab.loop import build_runtime, run_lab, write_summary
from agentrxiv.lab.result import LabResult, lab_result
from agentrxiv.lab.runtime import LabRuntime

__all__ = ["LabResult", "LabStopped", "run_lab_result"]


class LabStopped(BaseException):
    """Stop the lab now, checkpointed and resumable (not an ``Exception``, so nothing in the
    lab swallows it)."""


def outcome_of(exc: BaseException) -> tuple[str, bool]:
    """A run's outcome line and whether it is resumable (not a result of the paper)."""
    if isinstance(exc, LabStopped):
        return f"stopped: {exc}", True
    if isinstance(exc, BudgetExceededError):
        return f"budget: {exc}", False
    if isinstance(exc, ArchiveError) and exc.status == 503:
        return f"server unreachable: {exc.message}", True
    if isinstance(exc, AgentrxivError):
        return f"failed: {exc.message}", False
    return f"crashed: {type(exc).__name__}: {exc}", False


def _finish_published(rt: LabRuntime) -> None:
    """A run that ended in failure after its paper went out still gets the after-publish
    steps: the paper is public either way."""
    try:
        if run_after_publish(rt):
            write_summary(rt)
    except Exception:  # noqa: BLE001, S110 - the run's failure is the outcome to report
        pass


def run_lab_result(
    lab_config: Mapping[str, Any],
    *,
    server: str,
    token: str | None,
    server_retries: int = 5,
    source: str = "lab config",
) -> LabResult:
    """Run (or resume, when its directory holds a checkpoint) the lab of ``lab_config``
    against the archive at ``server`` and return its result. An invalid config or an
    unreadable checkpoint raises ``ConfigError``; every other end is in the result."""
    config = parse_config(dict(lab_config), source)
    resume = load_state(config.lab_dir) is not None
    archive = ArchiveClient(server, token=token, retries=server_retries, backoff=1.0)
    # No response cache: every run is a fresh attempt whose tokens all count; with the
    # cache a temperature-0 lab would replay an earlier run's paper for free.
    try:
        rt = build_runtime(config, resume=resume, archive=archive, archive_url=server, cache=False)
        try:
            state = run_lab(rt)
            outcome, resumable = (
                ("published" if state.published_id else f"not published: {state.stopped_reason}"),
                False,
            )
        except BaseException as exc:  # noqa: BLE001 - every end of a run is a result
            outcome, resumable = outcome_of(exc)
            if rt.state.published_id and not resumable:
                _finish_published(rt)
        return lab_result(rt, outcome, resumable)
    finally:
        archive.close()
