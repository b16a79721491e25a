"""One lab-paper run of a campaign, as its own OS process:
``python -m agentrxiv.campaign.worker RUN_DIR/spec.json``.

It runs the ordinary lab pipeline (``agentrxiv.lab``) with fresh state in its own
directory (or resumes that directory's checkpoint), talks to the server over HTTP only,
verifies the published paper on the test split, and writes ``result.json`` next to the
spec. SIGTERM makes the lab checkpoint and stop (the campaign's budget stop); the run is
then resumable. Exit code 0 whenever ``result.json`` was written."""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from agentrxiv.errors import AgentrxivError, ArchiveError, BudgetExceededError
from agentrxiv.lab.checkpoint import atomic_write_text

log = logging.getLogger(__name__)
RESULT_FILE = "result.json"
PR_SET_PDEATHSIG = 1
SPEC_FILE = "spec.json"


class StopRequested(BaseException):
    """SIGTERM: checkpoint and stop (not an ``Exception``, so nothing swallows it)."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise StopRequested("stopped by the campaign (SIGTERM)")


def call_setup(target: str | None) -> None:
    """Import and call ``module:function`` (registers scripted models in tests)."""
    if not target:
        return
    module, _, name = target.partition(":")
    getattr(importlib.import_module(module), name or "setup")()


def _min(a: float | None, b: float | None) -> float | None:
    values = [v for v in (a, b) if v is not None]
    return min(values) if values else None


def lab_config(spec: dict[str, Any]) -> Any:
    """The run's ``LabConfig``: the lab's own budget capped by what the campaign has left."""
    from agentrxiv.lab.config import parse_config

    data = dict(spec["lab_config"])
    own = dict(data.get("budget") or {})
    left = spec.get("budget") or {}
    for key in ("max_tokens", "max_usd", "max_seconds"):
        value = _min(own.get(key), left.get(key))
        if value is not None:
            own[key] = int(value) if key == "max_tokens" else value
    data["budget"] = own
    return parse_config(data, "campaign lab config")


def _claimed(state: Any) -> tuple[float | None, float | None]:
    from agentrxiv.lab.phases.interpretation import best_result

    try:
        result = best_result(state)
    except ValueError:
        return None, None
    base = result.get("details", {}).get("baseline")
    baseline = base.get("accuracy") if isinstance(base, dict) else None
    return float(result["value"]), baseline


def _outcome(exc: BaseException) -> tuple[str, bool]:
    """A run's outcome line and whether it is resumable (not a result of the paper)."""
    if isinstance(exc, StopRequested):
        return f"stopped: {exc}", True
    if isinstance(exc, BudgetExceededError):
        return f"budget: {exc}", False
    if isinstance(exc, ArchiveError) and exc.status == 503:
        return f"server unreachable: {exc.message}", True
    if isinstance(exc, AgentrxivError):
        return f"failed: {exc.message}", False
    return f"crashed: {type(exc).__name__}: {exc}", False


def run_spec(spec: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """Run (or resume) the lab, verify its paper, and return the result record."""
    from agentrxiv.archive.client import ArchiveClient
    from agentrxiv.lab.checkpoint import load_state
    from agentrxiv.lab.loop import build_runtime, run_lab

    call_setup(spec.get("worker_setup"))
    config = lab_config(spec)
    resume = load_state(config.lab_dir) is not None
    archive = ArchiveClient(
        spec["server"], token=spec["token"], retries=int(spec.get("server_retries", 5)), backoff=1.0
    )
    # No response cache: every (lab, paper) run is a fresh attempt whose tokens all count;
    # with the cache a temperature-0 lab would replay its earlier paper for free.
    rt = build_runtime(
        config, resume=resume, archive=archive, archive_url=spec["server"], cache=False
    )
    outcome, resumable = "", False
    try:
        state = run_lab(rt)
        outcome = "published" if state.published_id else f"not published: {state.stopped_reason}"
    except BaseException as exc:  # noqa: BLE001 - every end of a run is recorded
        outcome, resumable = _outcome(exc)
    finally:
        archive.close()
    state = rt.state
    claimed, baseline = _claimed(state)
    totals = rt.ledger.totals(f"lab/{config.lab_name}")
    record: dict[str, Any] = {
        **spec["record"],
        "outcome": outcome.splitlines()[0][:500] if outcome else "",
        "resumable": resumable,
        "paper_id": state.published_id or None,
        "claimed": claimed,
        "baseline": baseline,
        "verified": None,
        "verification": None,
        "tokens": totals.usage.total_tokens,
        "cost_usd": totals.cost_usd if totals.cost_known else None,
        "wall_s": round(state.elapsed_s, 3),
        "parents": [p.paper_id for p in state.literature.papers],
    }
    if state.published_id and not resumable:
        record.update(_verify(spec, state.published_id, config))
        record.update(_distil(spec, state.published_id, config))
    return record


def _distil(spec: dict[str, Any], paper_id: str, config: Any) -> dict[str, Any]:
    """Insights from the verified paper (only when the lab's ``use_insights`` is on)."""
    from agentrxiv.lab.insights import distil_finished_lab

    try:
        distilled = distil_finished_lab(config, spec["server"], spec["token"], paper_id)
    except Exception as exc:  # noqa: BLE001 - a paper without insights is still a paper
        return {"insights": f"failed: {type(exc).__name__}: {str(exc)[:300]}"}
    return {} if distilled is None else {"insights": distilled.line()}


def _verify(spec: dict[str, Any], paper_id: str, config: Any) -> dict[str, Any]:
    if not spec.get("verify", True):
        return {"verification": "off"}
    from agentrxiv.campaign.verification import verify

    started = time.monotonic()
    value, status, n = verify(
        spec["server"],
        spec.get("verify_token") or spec["token"],
        paper_id,
        model_spec=spec.get("verify_model") or config.target_model,
        limit=spec.get("verify_limit"),
    )
    return {
        "verified": value,
        "verified_n": n,
        "verification": status,
        "verify_s": round(time.monotonic() - started, 3),
    }


def watch_parent(interval: float = 1.0) -> None:
    """Stop (SIGTERM to ourselves: the lab checkpoints) when the campaign process dies, so
    a killed campaign never leaves a lab running that ``--resume`` would start again."""
    parent = os.getppid()
    try:  # Linux: the kernel tells us at once
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass

    def loop() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=loop, name="parent-watch", daemon=True).start()


def lock_run_dir(run_dir: Path) -> Any:
    """Hold an exclusive lock on the run directory (waits for a previous worker to stop)."""
    import fcntl

    handle = (run_dir / "run.lock").open("a")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the spec given as the only argument."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m agentrxiv.campaign.worker RUN_DIR/spec.json\n")
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _on_sigterm)
    spec_path = Path(args[0])
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    lock = lock_run_dir(spec_path.parent)
    if spec.get("watch_parent", True):
        watch_parent()
    try:
        record = run_spec(spec, spec_path.parent)
    except StopRequested as exc:  # SIGTERM before the lab started
        record = {**spec["record"], "outcome": f"stopped: {exc}", "resumable": True}
    except AgentrxivError as exc:  # bad config, unreadable checkpoint: a failed run
        record = {**spec["record"], "outcome": f"failed: {exc.message}", "resumable": False}
    atomic_write_text(spec_path.parent / RESULT_FILE, json.dumps(record, indent=2))
    lock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
