"""The Ray executor: each lab-paper run is a Ray task on any node of a cluster.

Nothing is shared between nodes but the archive server and the checkpoint store. A task
works in a directory private to its node, pulls the run's lab checkpoint from the store
first (so a run started on a lost node resumes here), pushes changes back while the lab
runs, reports spend and phase to a progress actor on the campaign's own node, and returns
the run's record as the task's value. The settings a lab needs (the ``AGENTRXIV_*``
variables of the ``campaign run`` process, less secrets and node-local paths) travel with
every task in its ``runtime_env``."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from agentrxiv.campaign.executors import (
    STOP_GRACE_S,
    Finished,
    lab_progress,
    lost_record,
    read_result,
    stopped_record,
    worker_command,
)
from agentrxiv.campaign.storage import CheckpointStore
from agentrxiv.campaign.worker import RESULT_FILE, SPEC_FILE
from agentrxiv.errors import ConfigError

log = logging.getLogger(__name__)
SYNC_S = 1.0
NODE_DIR_ENV = "AGENTRXIV_NODE_DIR"
# Secrets never ride in a task's runtime_env (Ray's tools show it); node-local settings
# are the node's own business.
NOT_FORWARDED = frozenset(
    {
        "AGENTRXIV_TOKEN",
        "AGENTRXIV_HOME",
        "AGENTRXIV_DB",
        "AGENTRXIV_HOST",
        "AGENTRXIV_PORT",
        "AGENTRXIV_WORKERS",
        "AGENTRXIV_MODEL_SOCKET",
        NODE_DIR_ENV,
    }
)
SECRET_MARKERS = ("TOKEN", "KEY", "SECRET", "PASSWORD")


def forwarded_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The ``AGENTRXIV_*`` settings every Ray task gets: this process's, less secrets."""
    env = os.environ if environ is None else environ
    return {
        name: value
        for name, value in env.items()
        if name.startswith("AGENTRXIV_")
        and name not in NOT_FORWARDED
        and not any(marker in name for marker in SECRET_MARKERS)
    }


def node_dir() -> Path:
    """This node's private working directory for campaign runs."""
    configured = os.environ.get(NODE_DIR_ENV)
    if configured:
        return Path(configured)
    import ray

    node = ray.get_runtime_context().get_node_id()[:12]
    return Path(tempfile.gettempdir()) / f"agentrxiv-node-{node}"


class Progress:
    """Ray actor (on the campaign's node): the latest spend and phase of every run."""

    def __init__(self) -> None:
        self.runs: dict[str, dict[str, Any]] = {}

    def report(self, key: str, values: dict[str, Any]) -> None:
        """Store a run's latest figures."""
        self.runs[key] = values

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every run's latest figures."""
        return dict(self.runs)


def _sync(store: CheckpointStore, lab_dir: Path, key: str, progress: Any, run: str) -> None:
    try:
        store.push(lab_dir, key)
    except OSError as exc:  # the store is briefly away: the next sync sends it
        log.warning("checkpoint push for %s failed: %s", key, exc)
    if progress is not None:
        progress.report.remote(run, lab_progress(lab_dir))


def run_task(spec_json: str, run: str, store_url: str, store_key: str, progress: Any) -> Any:
    """The body of a Ray task: pull the checkpoint, run the worker, push, return the record."""
    spec = json.loads(spec_json)
    lab_name = spec["lab_config"]["lab_name"]
    run_dir = node_dir() / store_key
    run_dir.mkdir(parents=True, exist_ok=True)
    spec["lab_config"]["output_dir"] = str(run_dir)
    lab_dir = run_dir / lab_name
    store = CheckpointStore(store_url)
    store.pull(store_key, lab_dir)
    path = run_dir / SPEC_FILE
    path.write_text(json.dumps(spec), encoding="utf-8")
    os.chmod(path, 0o600)
    (run_dir / RESULT_FILE).unlink(missing_ok=True)
    with (run_dir / "worker.log").open("ab") as log_file:
        proc = subprocess.Popen(worker_command(path), stdout=log_file, stderr=subprocess.STDOUT)
        try:
            while True:
                try:
                    code = proc.wait(timeout=SYNC_S)
                    break
                except subprocess.TimeoutExpired:
                    _sync(store, lab_dir, store_key, progress, run)
        except BaseException:  # ray.cancel: let the lab checkpoint, push it, then go
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=STOP_GRACE_S)
            _sync(store, lab_dir, store_key, progress, run)
            raise
    _sync(store, lab_dir, store_key, progress, run)
    return read_result(path, spec["record"], code)


class RayExecutor:
    """Each run is a Ray task (``ray.init(address=...)``); workers reach the server and the
    model endpoints over the network, and checkpoints through the store."""

    def __init__(
        self, address: str | None, num_cpus: float = 1.0, store: str | None = None
    ) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError(
                "the Ray executor needs Ray", hint='pip install -e ".[ray]" (or pip install ray)'
            ) from None
        if not store:
            raise ConfigError("the Ray executor needs a checkpoint store (checkpoint_store:)")
        self.ray = ray
        if not ray.is_initialized():
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(include_dashboard=False, log_to_driver=False)
        self.store = store
        env = {"env_vars": forwarded_env()}
        self.task = ray.remote(num_cpus=num_cpus, max_retries=0)(run_task).options(runtime_env=env)
        here = ray.get_runtime_context().get_node_id()
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self.progress_actor = (
            ray.remote(num_cpus=0)(Progress)
            .options(scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False))
            .remote()
        )
        self.refs: dict[str, tuple[Any, dict[str, Any]]] = {}
        self.finished: list[Finished] = []
        self._progress: dict[str, dict[str, Any]] = {}

    def start(self, key: str, spec_path: Path, record: dict[str, Any]) -> None:
        """Submit the run as a Ray task (the spec travels with it, not as a file)."""
        from agentrxiv.campaign.storage import run_key

        spec_json = spec_path.read_text(encoding="utf-8")
        spec = json.loads(spec_json)
        store_key = run_key(spec["lab_config"]["campaign_id"], record["lab"], record["paper"])
        ref = self.task.remote(spec_json, key, self.store, store_key, self.progress_actor)
        self.refs[key] = (ref, record)

    def _collect(self, ref: Any, record: dict[str, Any]) -> dict[str, Any]:
        try:
            return dict(self.ray.get(ref))
        except self.ray.exceptions.TaskCancelledError:
            return stopped_record(record, "cancelled by the campaign")
        except self.ray.exceptions.RayTaskError as exc:  # the task body raised: a crash
            message = str(exc).strip().splitlines()[-1][:400] if str(exc).strip() else ""
            return {**record, "outcome": f"crashed: ray task: {message}", "resumable": False}
        except self.ray.exceptions.RayError as exc:  # worker or node lost: retry it
            return lost_record(record, f"{type(exc).__name__}: {str(exc)[:300]}")

    def poll(self) -> list[Finished]:
        """Collect finished tasks; a lost task is a retryable record, never a final crash."""
        done, self.finished = self.finished, []
        if self.refs:
            by_ref = {ref: key for key, (ref, _) in self.refs.items()}
            ready, _ = self.ray.wait(list(by_ref), num_returns=len(by_ref), timeout=0)
            for ref in ready:
                key = by_ref[ref]
                _, record = self.refs.pop(key)
                done.append(Finished(key, self._collect(ref, record)))
        return done

    def running(self) -> list[str]:
        """Keys of tasks not yet finished."""
        return list(self.refs)

    def progress(self) -> dict[str, dict[str, Any]]:
        """Spend and phase of running runs as their tasks last reported (any node)."""
        try:
            self._progress = self.ray.get(self.progress_actor.snapshot.remote(), timeout=5)
        except self.ray.exceptions.GetTimeoutError:
            log.warning("the progress actor did not answer in 5 s; using its last figures")
        return {key: self._progress[key] for key in self.refs if key in self._progress}

    def stop_all(self) -> None:
        """Cancel every task (its worker gets SIGTERM, checkpoints and pushes); keep every
        record, those of tasks that had finished included, for the next ``poll``."""
        ended = self.poll()  # finished before the stop: kept as they ended
        self.finished.extend(ended)
        for ref, _ in self.refs.values():
            self.ray.cancel(ref, force=False)
        deadline = time.monotonic() + STOP_GRACE_S + 5
        for key, (ref, record) in list(self.refs.items()):
            try:
                self.ray.wait([ref], timeout=max(0.1, deadline - time.monotonic()))
            finally:
                self.finished.append(Finished(key, self._collect_stopped(ref, record)))
        self.refs.clear()

    def _collect_stopped(self, ref: Any, record: dict[str, Any]) -> dict[str, Any]:
        """The record of a task this stop cancelled: resumable, whatever error the cancel
        surfaced as. Ray interrupts a running task with a signal, and a task interrupted
        while it starts can end in an error of its own (seen: ``TypeError: 'Handlers' object
        is not callable``), which must not become a final crash of a run the campaign
        stopped."""
        ready, _ = self.ray.wait([ref], timeout=0)
        if not ready:
            return stopped_record(record, "did not stop within the grace period")
        result = self._collect(ref, record)
        if str(result.get("outcome", "")).startswith("crashed:"):
            return stopped_record(record, f"cancelled by the campaign ({result['outcome']})")
        if result.get("retry"):  # lost while stopping: resumable, but not retried now
            result.pop("retry")
        return result

    def close(self) -> None:
        """Leave the Ray connection to its owner (tests and clusters manage it)."""
        try:
            self.ray.kill(self.progress_actor)
        except Exception:  # noqa: BLE001 - already gone with its node or the cluster
            log.debug("progress actor already gone")
