"""Scripted-model campaigns over a real server: the archive access modes, concurrency,
the report and page of a finished campaign."""

from __future__ import annotations

import json

import httpx
import pytest
from tests.campaign.conftest import campaign_config, lab_states, run_cli, state_of

from agentrxiv.campaign.selection import GAP_FIGURE as GAP
from agentrxiv.client import ArchiveClient

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _papers(server, campaign_id: str) -> list:  # noqa: ANN001
    with ArchiveClient(server.url) as client:
        return client.list(campaign=campaign_id, limit=100).items


def test_shared_mode_cites_other_labs_and_reports(sqlite_server, owner_token, tmp_path) -> None:  # noqa: ANN001
    config = campaign_config(tmp_path, sqlite_server, owner_token, name="shared", papers=2)
    out = run_cli("campaign", "run", str(config))
    assert "finished" in out
    state = state_of(config)
    papers = _papers(sqlite_server, state["campaign_id"])
    assert len(papers) == 4
    lab_of = {p.id: p.lab for p in papers}
    records = [r["record"] for r in state["runs"]]
    assert all(r["paper_id"] and r["outcome"] == "published" for r in records)
    later = [r for r in records if r["paper"] == 2]
    cross = [
        parent
        for r in later
        for parent in r["parents"]
        if lab_of.get(parent) != lab_of[r["paper_id"]]
    ]
    assert cross, f"no later paper cites another lab: {later}"
    # Second papers start from a campaign paper's technique code and record it.
    assert all(r["builds_on"] in lab_of and r["variants_tried"] >= 1 for r in later)
    with ArchiveClient(sqlite_server.url) as client:
        for r in later:
            assert client.get(r["paper_id"]).builds_on_technique == r["builds_on"]

    report_dir = tmp_path / "report"
    run_cli(
        "campaign",
        "report",
        state["campaign_id"],
        "--server",
        sqlite_server.url,
        "--out",
        str(report_dir),
    )
    for name in ("by_paper.png", "by_wall_time.png", "by_cost.png", "lineage.png", GAP):
        assert (report_dir / name).stat().st_size > 1000
    data = json.loads((report_dir / "campaign.json").read_text())
    assert {p["paper_id"] for p in data["papers"]} == set(lab_of)
    assert all("claimed" in p and "verified" in p for p in data["papers"])
    assert all(p["claimed"] is not None for p in data["papers"])
    assert data["summary"]["variants_tried"] == sum(r["variants_tried"] for r in records)
    compare_dir = tmp_path / "compare"
    compared = run_cli(
        "campaign",
        "compare",
        state["campaign_id"],
        state["campaign_id"],
        "--server",
        sqlite_server.url,
        "--out",
        str(compare_dir),
    )
    assert "shared" in compared and (compare_dir / "compare_by_paper.png").exists()
    status = run_cli("campaign", "status", state["campaign_id"], "--server", sqlite_server.url)
    assert "published" in status
    with httpx.Client(base_url=sqlite_server.url) as http:
        page = http.get(f"/campaigns/{state['campaign_id']}")
        assert page.status_code == 200 and all(pid in page.text for pid in lab_of)
        assert "Variants tried (lab / campaign)" in page.text and "technique of" in page.text
        assert http.get(f"/campaigns/{state['campaign_id']}/chart.svg").status_code == 200


def test_own_mode_sequential_sees_only_own_papers(sqlite_server, owner_token, tmp_path) -> None:  # noqa: ANN001
    config = campaign_config(
        tmp_path,
        sqlite_server,
        owner_token,
        name="own",
        papers=2,
        mode="own",
        concurrency=1,
        verify=False,
    )
    run_cli("campaign", "run", str(config))
    state = state_of(config)
    papers = _papers(sqlite_server, state["campaign_id"])
    assert len(papers) == 4  # C=1 gives as many papers as C=L (the shared test)
    lab_of = {p.id: p.lab for p in papers}
    for (lab, _), lab_state in lab_states(state).items():
        own = state["server_labs"][lab]
        seen = set(lab_state["literature"]["seen"])
        assert all(lab_of.get(pid) == own for pid in seen), (lab, seen)
    second = [r["record"] for r in state["runs"] if r["paper"] == 2]
    assert all(r["parents"] and lab_of[r["parents"][0]] == lab_of[r["paper_id"]] for r in second)
    assert all(r["builds_on"] and lab_of[r["builds_on"]] == lab_of[r["paper_id"]] for r in second)


def test_none_mode_never_searches(sqlite_server, owner_token, tmp_path) -> None:  # noqa: ANN001
    config = campaign_config(
        tmp_path, sqlite_server, owner_token, name="none", papers=1, mode="none", verify=False
    )
    run_cli("campaign", "run", str(config), "--labs", "2", "--concurrency", "2")
    state = state_of(config)
    assert len(_papers(sqlite_server, state["campaign_id"])) == 2
    for lab_state in lab_states(state).values():
        literature = lab_state["literature"]
        assert literature["seen"] == {} and literature["papers"] == []
        assert "none" in literature["skipped_reason"]
        assert lab_state["builds_on"] is None  # isolated labs start from the template
    assert all(r["record"]["builds_on"] is None for r in state["runs"])
