"""One lab-paper run of a campaign, as its own OS process:
``python -m agentrxiv.campaign.worker RUN_DIR/spec.json``.

It starts the lab through its public entry point (``agentrxiv.lab.session``) with fresh
state in its own directory (or resumes that directory's checkpoint), with the campaign's
verification and insight distillation as the lab's after-publish steps, and writes the
lab's typed result as ``result.json`` next to the spec. The worker reads and writes no lab
file itself. SIGTERM makes the lab checkpoint and stop (the campaign's budget stop); the
run is then resumable. Exit code 0 whenever ``result.json`` was written."""

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

from agentrxiv.errors import AgentrxivError
from agentrxiv.files import atomic_write_text
from agentrxiv.lab.session import LabStopped, run_lab_result

log = logging.getLogger(__name__)
RESULT_FILE = "result.json"
PR_SET_PDEATHSIG = 1
SPEC_FILE = "spec.json"
BUDGET_KEYS = ("max_tokens", "max_usd", "max_seconds")


def _on_sigterm(signum: int, frame: Any) -> None:
    raise LabStopped("stopped by the campaign (SIGTERM)")


def call_setup(target: str | None) -> None:
    """Import and call ``module:function`` (registers scripted models in tests)."""
    if not target:
        return
    module, _, name = target.partition(":")
    getattr(importlib.import_module(module), name or "setup")()


def _min(a: float | None, b: float | None) -> float | None:
    values = [v for v in (a, b) if v is not None]
    return min(values) if values else None


def lab_config(spec: dict[str, Any]) -> dict[str, Any]:
    """The run's lab config: the lab's own budget capped by what the campaign has left, and
    the campaign's verification and insights as the lab's after-publish steps."""
    data = dict(spec["lab_config"])
    own = dict(data.get("budget") or {})
    left = spec.get("budget") or {}
    for key in BUDGET_KEYS:
        value = _min(own.get(key), left.get(key))
        if value is not None:
            own[key] = int(value) if key == "max_tokens" else value
    data["budget"] = own
    data["after_publish"] = {
        "verify": bool(spec.get("verify", True)),
        "verify_model": spec.get("verify_model"),
        "verify_limit": spec.get("verify_limit"),
        "verify_token": spec.get("verify_token") or spec["token"],
        "archive_verifier_wait_s": float(spec.get("archive_verifier_wait_s") or 0.0),
        "distil_insights": True,  # the lab's use_insights decides
    }
    return data


def run_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Run (or resume) the lab of ``spec`` and return its result record."""
    call_setup(spec.get("worker_setup"))
    result = run_lab_result(
        lab_config(spec),
        server=spec["server"],
        token=spec["token"],
        server_retries=int(spec.get("server_retries", 5)),
        source="campaign lab config",
    )
    return {**spec["record"], **result.record()}


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
        record = run_spec(spec)
    except LabStopped as exc:  # SIGTERM before the lab started
        record = {**spec["record"], "outcome": f"stopped: {exc}", "resumable": True}
    except AgentrxivError as exc:  # bad config, unreadable checkpoint: a failed run
        record = {**spec["record"], "outcome": f"failed: {exc.message}", "resumable": False}
    atomic_write_text(spec_path.parent / RESULT_FILE, json.dumps(record, indent=2))
    lock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
