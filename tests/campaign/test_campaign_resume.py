"""kill -9 of the campaign process in the middle of a paper, then ``--resume``: the right
number of papers, none published twice, and ledger totals equal to an unkilled run's
(within the interrupted phase)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.campaign.conftest import campaign_config, run_cli, state_of

from agentrxiv.client import ArchiveClient

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _wait_mid_paper(directory: Path, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Until some lab has finished its plan but not its paper."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the campaign ended before it could be killed"
        for path in directory.glob("runs/*/paper-*/*/state.json"):
            try:
                state = json.loads(path.read_text())
            except ValueError:
                continue
            if "plan" in state["completed"] and not state["finished"]:
                return
        time.sleep(0.1)
    raise AssertionError("no lab reached the middle of a paper")


def _max_phase_tokens(state: dict) -> int:
    best = 0
    for run in state["runs"]:
        summary = json.loads((Path(run["lab_dir"]) / "summary.json").read_text())
        best = max([best] + [row["tokens"] for row in summary["phases"]])
    return best


def test_kill_9_mid_paper_then_resume(sqlite_server, owner_token, tmp_path) -> None:  # noqa: ANN001
    common = {"mode": "none", "verify": False, "papers": 1}
    reference = campaign_config(tmp_path, sqlite_server, owner_token, name="unkilled", **common)
    run_cli("campaign", "run", str(reference))
    config = campaign_config(tmp_path, sqlite_server, owner_token, name="killed", **common)
    env = {**os.environ, "AGENTRXIV_SCRIPTED_DELAY_S": "0.3"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentrxiv.cli.main", "campaign", "run", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_mid_paper(tmp_path / "campaigns" / "killed", proc, timeout=300)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    interrupted = state_of(config)
    assert any(r["status"] == "running" for r in interrupted["runs"])

    out = run_cli("campaign", "run", str(config), "--resume")
    assert "finished" in out
    state = state_of(config)
    with ArchiveClient(sqlite_server.url) as client:
        papers = client.list(campaign=state["campaign_id"], limit=50).items
    assert len(papers) == 2 and len({p.lab for p in papers}) == 2  # none twice
    records = [r["record"] for r in state["runs"]]
    assert {r["paper_id"] for r in records} == {p.id for p in papers}

    ref_state = state_of(reference)
    ref_tokens = sum(r["record"]["tokens"] for r in ref_state["runs"])
    tokens = sum(r["tokens"] for r in records)
    assert ref_tokens <= tokens <= ref_tokens + 2 * _max_phase_tokens(ref_state)
    assert all(r["wall_s"] > 0 for r in records)


def test_campaign_budget_stops_cleanly_and_says_so(sqlite_server, owner_token, tmp_path) -> None:  # noqa: ANN001
    config = campaign_config(
        tmp_path,
        sqlite_server,
        owner_token,
        name="budget",
        labs=1,
        papers=2,
        mode="none",
        verify=False,
        budget={"max_tokens": 1000},
    )
    proc = subprocess.run(
        [sys.executable, "-m", "agentrxiv.cli.main", "campaign", "run", str(config)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "campaign token budget spent" in proc.stdout
    state = state_of(config)
    assert state["status"] == "stopped" and "budget" in state["stopped_reason"]
    first = state["runs"][0]
    assert first["status"] == "stopped"  # checkpointed, resumable with a larger budget
    assert (Path(first["lab_dir"]) / "state.json").exists()
    assert state["runs"][1]["status"] == "pending"
    with ArchiveClient(sqlite_server.url) as client:
        assert client.campaign(state["campaign_id"]).status == "stopped"
