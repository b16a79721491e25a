"""Where lab-paper runs execute: ``LocalExecutor`` (one OS process each on this machine)
and ``RayExecutor`` (one Ray task each on a Ray cluster; the task runs the same worker).

Both start a run from its spec file, report finished runs with their result record, and
stop running ones (SIGTERM: the lab checkpoints first)."""

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

from agentrxiv.campaign.worker import RESULT_FILE
from agentrxiv.errors import ConfigError

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
        """Ask every running run to checkpoint and stop; wait for them."""

    def close(self) -> None:
        """Release resources."""


def crash_record(record: dict[str, Any], code: int | None, tail: str) -> dict[str, Any]:
    """The record of a run whose process died without writing a result."""
    last = " | ".join(line for line in tail.strip().splitlines()[-3:])[:400]
    return {**record, "outcome": f"crashed: exit code {code}: {last}", "resumable": False}


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


def _ray_task(spec_json: str, spec_path: str) -> dict[str, Any]:
    """The body of a Ray task: run the worker as a subprocess on that node."""
    import json as _json
    import subprocess as _subprocess
    from pathlib import Path as _Path

    path = _Path(spec_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():  # another machine: the spec travels with the task
        path.write_text(spec_json, encoding="utf-8")
    spec = _json.loads(spec_json)
    (path.parent / RESULT_FILE).unlink(missing_ok=True)
    with (path.parent / "worker.log").open("ab") as log_file:
        proc = _subprocess.Popen(worker_command(path), stdout=log_file, stderr=_subprocess.STDOUT)
        try:
            code = proc.wait()
        except BaseException:  # ray.cancel: let the lab checkpoint, then go
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=STOP_GRACE_S)
            raise
    return read_result(path, spec["record"], code)


class RayExecutor:
    """Each run is a Ray task (``ray.init(address=...)``); workers reach the server and the
    model endpoints over the network, so nothing else changes across machines."""

    def __init__(self, address: str | None, num_cpus: float = 1.0) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError(
                "the Ray executor needs Ray", hint='pip install -e ".[ray]" (or pip install ray)'
            ) from None
        self.ray = ray
        if not ray.is_initialized():
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(include_dashboard=False, log_to_driver=False)
        self.task = ray.remote(num_cpus=num_cpus, max_retries=0)(_ray_task)
        self.refs: dict[str, tuple[Any, Path, dict[str, Any]]] = {}

    def start(self, key: str, spec_path: Path, record: dict[str, Any]) -> None:
        """Submit the run as a Ray task."""
        spec_json = spec_path.read_text(encoding="utf-8")
        ref = self.task.remote(spec_json, str(spec_path))
        self.refs[key] = (ref, spec_path, record)

    def poll(self) -> list[Finished]:
        """Collect finished tasks (a failed task is a crash record)."""
        if not self.refs:
            return []
        by_ref = {ref: key for key, (ref, _, _) in self.refs.items()}
        ready, _ = self.ray.wait(list(by_ref), num_returns=len(by_ref), timeout=0)
        done = []
        for ref in ready:
            key = by_ref[ref]
            _, spec_path, record = self.refs.pop(key)
            try:
                result = self.ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - a lost task is that run's outcome
                result = crash_record(record, None, f"ray task failed: {exc}")
            done.append(Finished(key, result))
        return done

    def running(self) -> list[str]:
        """Keys of tasks not yet finished."""
        return list(self.refs)

    def stop_all(self) -> None:
        """Cancel every task (its worker gets SIGTERM and checkpoints)."""
        for ref, _, _ in self.refs.values():
            self.ray.cancel(ref, force=False)
        for ref, _, _ in list(self.refs.values()):
            try:
                self.ray.get(ref, timeout=STOP_GRACE_S + 5)
            except Exception:  # noqa: BLE001, S110 - cancelled tasks raise; that is expected
                log.debug("cancelled a Ray task")
        self.refs.clear()

    def close(self) -> None:
        """Leave the Ray connection to its owner (tests and clusters manage it)."""


def make_executor(kind: str, address: str | None, num_cpus: float) -> Executor:
    """The executor named ``kind``."""
    if kind == "ray":
        return RayExecutor(address, num_cpus)
    return LocalExecutor()
