"""A campaign on a real multi-node Ray cluster on this machine: a head without CPUs and two
worker nodes, each working in its own private directory that neither the campaign nor the
other node reads; checkpoints go through a store. One worker node is killed mid-paper: its
run resumes on the other node from the stored checkpoint (phase clock included), and the
campaign ends with every paper, none twice."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.campaign.conftest import campaign_config

from agentrxiv.campaign.config import load_campaign_config
from agentrxiv.campaign.orchestrator import Orchestrator
from agentrxiv.client import ArchiveClient

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """Head (0 CPUs, runs only the campaign's progress actor) + two 1-CPU worker nodes."""
    ray = pytest.importorskip("ray", reason='Ray is an optional extra: pip install -e ".[ray]"')
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 0, "include_dashboard": False},
    )
    nodes = [cluster.add_node(num_cpus=1) for _ in range(2)]
    ray.init(address=cluster.address, log_to_driver=False)
    cluster.wait_for_nodes()
    yield cluster
    ray.shutdown()
    cluster.shutdown()
    for node in nodes:
        shutil.rmtree(_node_dir(node.node_id), ignore_errors=True)


def _node_dir(node_id: str) -> Path:
    return Path(tempfile.gettempdir()) / f"agentrxiv-node-{node_id[:12]}"


def _mid_paper(store: Path) -> tuple[str, dict[str, Any]] | None:
    """A run whose stored checkpoint has its plan done but not its paper."""
    for path in store.glob("*/*/paper-*/state.json"):
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if "plan" in state.get("completed", []) and not state.get("finished"):
            return str(path.relative_to(store).parent), state
    return None


def _kill_node_running(cluster: Any, store: Path, done: threading.Event) -> dict[str, Any]:
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline and not done.is_set():
        found = _mid_paper(store)
        if found is not None:
            key, state = found
            for node in list(cluster.worker_nodes):
                if (_node_dir(node.node_id) / key).exists():
                    cluster.remove_node(node, allow_graceful=False)  # SIGKILL, node lost
                    return {"key": key, "state": state}
        time.sleep(0.2)
    raise AssertionError("no run reached the middle of a paper on a worker node")


def test_node_killed_mid_run_loses_no_paper(
    cluster: Any, sqlite_server: Any, owner_token: str, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("AGENTRXIV_SCRIPTED_DELAY_S", "0.05")  # reaches the nodes by runtime_env
    store = tmp_path / "store"
    file = campaign_config(
        tmp_path,
        sqlite_server,
        owner_token,
        name="multinode",
        executor="ray",
        labs=3,
        papers=2,
        mode="none",
        concurrency=3,
        verify=False,
        ray_num_cpus=0.5,
        checkpoint_store=f"file://{store}",
    )
    orchestrator = Orchestrator(load_campaign_config(file))
    result: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            result["state"] = orchestrator.run()
        finally:
            done.set()

    thread = threading.Thread(target=run)
    started = time.monotonic()
    thread.start()
    try:
        killed = _kill_node_running(cluster, store, done)
    finally:
        thread.join(timeout=400)
    state = result["state"]
    assert state.status == "finished", state.stopped_reason
    records = state.records()
    assert len(records) == 6 and all(r.paper_id for r in records)
    with ArchiveClient(sqlite_server.url) as client:
        papers = client.list(campaign=state.campaign_id, limit=50).items
    assert len(papers) == 6  # none twice
    assert {p.id for p in papers} == {r.paper_id for r in records}

    _, lab, paper = killed["key"].split("/")
    entry = state.run(lab, int(paper.removeprefix("paper-")))
    assert entry.retries == 1 and "lost" in entry.retry_log[0], entry.retry_log
    retried = [r for r in state.runs if r.retries]  # the killed node held up to 2 tasks
    assert 1 <= len(retried) <= 2 and all(r.retries == 1 for r in retried)
    assert all(r.retry_log[0].startswith("lost: ") for r in retried)
    final = json.loads((store / killed["key"] / "state.json").read_text(encoding="utf-8"))
    assert final["run_id"] == killed["state"]["run_id"]  # resumed, not started afresh
    assert entry.record is not None
    assert entry.record.wall_s >= killed["state"]["elapsed_s"]  # phase clock recovered
    assert not (tmp_path / "campaigns" / "multinode" / "runs" / lab / paper / lab).exists()
    # Budget totals within one phase: the resumed run spent no more than an unkilled run
    # plus the phase it was in when its node died.
    others = [r.tokens for r in records if (r.lab, r.paper) != (entry.lab, entry.paper)]
    phase_tokens = max(
        row["tokens"]
        for path in store.glob("*/*/paper-*/summary.json")
        for row in json.loads(path.read_text(encoding="utf-8"))["phases"]
    )
    assert min(others) <= entry.record.tokens <= max(others) + phase_tokens
    print(
        f"multi-node campaign: {time.monotonic() - started:.1f}s, {len(records)} records,"
        f" {len(papers)} papers, {len(retried)} runs retried after killing {killed['key']}"
    )
