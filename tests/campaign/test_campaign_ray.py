"""The Ray executor on a local Ray instance (started once for the module) runs a two-lab
scripted campaign to the end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.campaign.conftest import campaign_config

from agentrxiv.campaign.config import load_campaign_config
from agentrxiv.campaign.orchestrator import Orchestrator
from agentrxiv.client import ArchiveClient

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[Any]:
    """A local Ray instance with two CPUs, no dashboard."""
    ray = pytest.importorskip("ray", reason='Ray is an optional extra: pip install -e ".[ray]"')
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_executor_runs_a_two_lab_campaign(
    ray_instance: Any, sqlite_server: Any, owner_token: str, tmp_path: Any
) -> None:
    file = campaign_config(
        tmp_path,
        sqlite_server,
        owner_token,
        name="ray",
        executor="ray",
        verify=False,
        ray_num_cpus=0.5,
    )
    state = Orchestrator(load_campaign_config(file)).run()
    assert state.status == "finished", state.stopped_reason
    records = state.records()
    assert len(records) == 2 and all(r.paper_id for r in records)
    with ArchiveClient(sqlite_server.url) as client:
        papers = client.list(campaign=state.campaign_id).items
    assert {p.id for p in papers} == {r.paper_id for r in records}


def test_stop_all_keeps_records_of_finished_tasks(ray_instance: Any, tmp_path: Any) -> None:
    """A campaign stop cancels running tasks but keeps what finished before it."""
    import json
    import time

    from agentrxiv.campaign.ray_executor import RayExecutor

    def body(spec_json: str, run: str, store: str, key: str, progress: Any) -> dict[str, Any]:
        spec = json.loads(spec_json)
        if spec["slow"]:
            time.sleep(120)
        return {**spec["record"], "outcome": "published", "paper_id": "paper-x"}

    executor = RayExecutor(None, 0.5, store=str(tmp_path / "store"))
    executor.task = ray_instance.remote(num_cpus=0.5, max_retries=0)(body)
    for lab, slow in (("fast", False), ("slow", True)):
        spec = tmp_path / f"{lab}.json"
        spec.write_text(
            json.dumps({"slow": slow, "record": {}, "lab_config": {"campaign_id": "c"}})
        )
        executor.start(f"{lab}/1", spec, {"lab": lab, "paper": 1})
    fast_ref = executor.refs["fast/1"][0]
    ray_instance.wait([fast_ref], timeout=60)
    executor.stop_all()
    assert executor.running() == []
    records = {done.key: done.record for done in executor.poll()}
    assert records["fast/1"]["outcome"] == "published"
    assert records["slow/1"]["outcome"].startswith("stopped:")
    assert records["slow/1"]["resumable"]
    executor.close()


class CancelSurfacedAsError:
    """What ``ray`` answers for a task that a cancel interrupted as it started and that
    ended in an error of its own (CI saw ``TypeError: 'Handlers' object is not callable``),
    next to a task that had crashed before the stop."""

    class exceptions:  # noqa: N801 - mirrors ``ray.exceptions``
        class RayError(Exception):
            pass

        class TaskCancelledError(RayError):
            pass

        class RayTaskError(RayError):
            pass

        class GetTimeoutError(RayError):
            pass

    def __init__(self) -> None:
        self.cancelled: list[str] = []

    def wait(self, refs: list[str], num_returns: int = 1, timeout: float = 0) -> tuple:
        ready = [r for r in refs if r == "crashed-before" or r in self.cancelled]
        return ready, [r for r in refs if r not in ready]

    def cancel(self, ref: str, force: bool = False) -> None:
        self.cancelled.append(ref)

    def get(self, ref: str) -> dict[str, Any]:
        if ref == "crashed-before":
            raise self.exceptions.RayTaskError("RuntimeError: a real crash")
        raise self.exceptions.RayTaskError("TypeError: 'Handlers' object is not callable")


def test_a_run_the_stop_interrupted_into_an_error_is_resumable() -> None:
    """A run the campaign stopped is resumable whatever error the cancel surfaced as; a run
    that crashed before the stop stays a crash."""
    from agentrxiv.campaign.ray_executor import RayExecutor

    executor = object.__new__(RayExecutor)
    executor.ray, executor.finished = CancelSurfacedAsError(), []
    executor.refs = {
        "a/1": ("crashed-before", {"lab": "a", "paper": 1}),
        "b/1": ("interrupted", {"lab": "b", "paper": 1}),
    }
    executor.stop_all()
    records = {done.key: done.record for done in executor.poll()}
    assert records["a/1"]["outcome"].startswith("crashed:")
    assert records["b/1"]["outcome"].startswith("stopped: cancelled by the campaign"), records
    assert records["b/1"]["resumable"]
