"""Where lab-paper runs execute: ``LocalExecutor`` (one OS process each on this machine)
and ``RayExecutor`` (one Ray task each on a Ray cluster; the task runs the same worker).

Both start a run from its spec file, report finished runs with their result record and
running ones' spend and phase, and stop running ones (SIGTERM: the lab checkpoints first).
A run killed by a signal or lost with its node is reported as ``retry``: resumable."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agentrxiv.campaign.ledger import in_flight_spend, lab_phase
from agentrxiv.campaign.worker import RESULT_FILE

log = logging.getLogger(__name__)
LOG_TAIL_CHARS = 2_000
STOP_GRACE_S = 30.0


@dataclass
class Finished:
    """A run that ended: its key, the record it wrote (or a crash record), its log tail."""

    key: str
    record: dict[str, Any]


class Executor(Protocol):
    """Runs lab-paper runs."""

    def start(self, key: str, spec_path: Path, record: dict[str, Any]) -> None:
        """Start the run described by ``spec_path``."""

    def poll(self) -> list[Finished]:
        """Runs that ended since the last poll."""

    def running(self) -> list[str]:
        """Keys of runs still going."""

    def stop_all(self) -> None:
        """Ask every running run to checkpoint and stop; wait for them. Their records (and
        those of runs that had already finished) come from the next ``poll``."""

    def progress(self) -> dict[str, dict[str, Any]]:
        """Per running run: ``tokens``, ``cost_usd`` and ``phase`` as last reported."""

    def close(self) -> None:
        """Release resources."""


def crash_record(record: dict[str, Any], code: int | None, tail: str) -> dict[str, Any]:
    """The record of a run whose process died without writing a result. Killed by a signal
    (the OOM killer, SIGKILL) the run is resumable from its checkpoint: ``retry`` asks the
    campaign to start it again."""
    last = " | ".join(line for line in tail.strip().splitlines()[-3:])[:400]
    if code is not None and code < 0:
        return lost_record(record, f"killed by signal {-code}: {last}")
    return {**record, "outcome": f"crashed: exit code {code}: {last}", "resumable": False}


def lost_record(record: dict[str, Any], reason: str) -> dict[str, Any]:
    """A run that ended by no fault of its own (killed, node lost): retried from its checkpoint."""
    return {**record, "outcome": f"lost: {reason}"[:500], "resumable": True, "retry": True}


def stopped_record(record: dict[str, Any], reason: str) -> dict[str, Any]:
    """A run the campaign stopped before it wrote a result: resumable, not retried now."""
    return {**record, "outcome": f"stopped: {reason}", "resumable": True}


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - LOG_TAIL_CHARS))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def read_result(spec_path: Path, record: dict[str, Any], code: int | None) -> dict[str, Any]:
    """The run's ``result.json``, or a crash record with the log's tail."""
    result = spec_path.parent / RESULT_FILE
    if result.exists():
        try:
            return json.loads(result.read_text(encoding="utf-8"))
        except ValueError:
            pass
    return crash_record(record, code, _tail(spec_path.parent / "worker.log"))


def lab_progress(lab_dir: Path) -> dict[str, Any]:
    """What a lab run has spent so far and its phase, from its own directory."""
    tokens, usd = in_flight_spend(lab_dir)
    return {"tokens": tokens, "cost_usd": usd, "phase": lab_phase(lab_dir)}


def worker_command(spec_path: Path) -> list[str]:
    """The command line of one lab-paper run."""
    return [sys.executable, "-m", "agentrxiv.campaign.worker", str(spec_path)]


class LocalExecutor:
    """Each run is a subprocess of this machine; a crash of one never touches the others."""

    def __init__(self) -> None:
        self.procs: dict[str, tuple[subprocess.Popen[bytes], Path, dict[str, Any]]] = {}

    def start(self, key: str, spec_path: Path, record: dict[str, Any]) -> None:
        """Start ``python -m agentrxiv.campaign.worker SPEC`` with its log in the run dir."""
        (spec_path.parent / RESULT_FILE).unlink(missing_ok=True)
        log_file = (spec_path.parent / "worker.log").open("ab")
        proc = subprocess.Popen(
            worker_command(spec_path),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C of the campaign reaches workers as our SIGTERM
        )
        log_file.close()
        self.procs[key] = (proc, spec_path, record)

    def poll(self) -> list[Finished]:
        """Collect ended subprocesses."""
        done = []
        for key, (proc, spec_path, record) in list(self.procs.items()):
            code = proc.poll()
            if code is None:
                continue
            del self.procs[key]
            done.append(Finished(key, read_result(spec_path, record, code)))
        return done

    def running(self) -> list[str]:
        """Keys of live subprocesses."""
        return list(self.procs)

    def progress(self) -> dict[str, dict[str, Any]]:
        """Read from each running lab's own ledger and checkpoint (all on this machine)."""
        out = {}
        for key, (_, spec_path, record) in self.procs.items():
            out[key] = lab_progress(spec_path.parent / record["lab"])
        return out

    def stop_all(self) -> None:
        """SIGTERM every worker (the lab checkpoints), then wait; SIGKILL after a grace."""
        for proc, _, _ in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _, _ in self.procs.values():
            try:
                proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def close(self) -> None:
        """Nothing to release beyond the subprocesses."""
