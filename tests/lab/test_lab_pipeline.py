"""The whole lab with the scripted model, the real sandbox and (where marked) a real server."""

from __future__ import annotations

import json

import pytest

from agentrxiv.client import ArchiveClient


def test_pipeline_without_server_writes_paper_from_measured_result(labkit):
    rt = labkit.run(labkit.config(lab_name="offline"))
    state = rt.state
    assert state.finished and not state.published_id
    best = state.experiments.best()
    seed = state.experiments.tried[0]
    assert seed.origin == "seed" and seed.score == pytest.approx(1.0)
    assert seed.result["details"]["baseline"]["accuracy"] == pytest.approx(0.5)
    paper = (rt.lab_dir / "paper" / "paper.md").read_text()
    assert "| 4 | 4 | 100.0% |" in paper.replace(" ", " ")
    assert best.score == pytest.approx(1.0)
    summary = json.loads((rt.lab_dir / "summary.json").read_text())
    assert [p["phase"] for p in summary["phases"]][0] == "literature"
    assert summary["phases"][3]["tokens"] > 0


@pytest.mark.integration
def test_published_paper_matches_result_file_and_next_lab_builds_on_it(labkit, sqlite_server):
    first = labkit.run(labkit.config(lab_name="first-lab"), server=sqlite_server)
    state = first.state
    assert state.published_url.endswith(f"/abs/{state.published_id}")
    result = state.experiments.best().result
    on_disk = (
        json.loads(
            (first.lab_dir / "runs" / state.experiments.best().id / "result.json").read_text()
        )
        if state.experiments.best().id != "r1seed"
        else None
    )
    with ArchiveClient(sqlite_server.url) as client:
        paper = client.get(state.published_id)
        reviews = client.reviews(state.published_id)
    main = next(r for r in paper.results if r.metric == "accuracy")
    assert (main.benchmark, main.value, main.n, main.model) == (
        result["benchmark"],
        result["value"],
        result["n"],
        result["model"],
    )
    assert json.loads(paper.code_files["result.json"]) == result
    assert on_disk is None or on_disk == result
    assert "100.0%" in paper.body and paper.title == state.report.title
    assert sorted(r.reviewer for r in reviews) == sorted(
        f"first-lab/{p}" for p in labkit.config().reviewers
    )

    second = labkit.run(
        labkit.config(lab_name="second-lab", mle_solver_steps=0, paper_solver_steps=0),
        server=sqlite_server,
    )
    assert [p.paper_id for p in second.state.literature.papers] == [state.published_id]
    with ArchiveClient(sqlite_server.url) as client:
        lineage = client.lineage(second.state.published_id)
        cited = client.get(second.state.published_id)
    assert state.published_id in [node.id for node in lineage.ancestors]
    assert cited.parents == [state.published_id]
    assert state.published_id in cited.body  # the references section cites it
