"""One short campaign with the embedded SmolLM2 model on ``arith``: 2 labs x 1 paper,
shared archive, end to end (published, recorded, verified or honestly not)."""

from __future__ import annotations

import pytest
from tests.campaign.conftest import campaign_config, run_cli, state_of

from agentrxiv.client import ArchiveClient

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.model]

EMBEDDED_LAB = {
    "model": "local/smollm2",
    "target_model": "local/smollm2",
    "problem_limit": 3,
    "papers_to_review": 1,
    "literature_steps": 1,
    "dialogue_turns": 0,
    "data_prep_attempts": 1,
    "mle_solver_steps": 0,
    "mle_candidates": 1,
    "mle_max_repairs": 1,
    "paper_solver_steps": 0,
    "report_written_sections": ["abstract", "discussion"],
    "max_tokens": 160,
    "seed_max_tokens": 32,
    "structured_retries": 1,
    "memory_turns": 4,
    "memory_chars": 4000,
    "latex": False,
    "reviewers": ["harsh_but_fair"],
    "publish_rule": {"max_rounds": 1, "after_last_round": "publish"},
}


@pytest.mark.timeout(1800)  # the embedded model on 2 shared cores: minutes, not seconds
def test_embedded_model_arith_campaign(sqlite_server, owner_token, tmp_path) -> None:  # noqa: ANN001
    config = campaign_config(
        tmp_path,
        sqlite_server,
        owner_token,
        name="embedded",
        benchmark="arith",
        topic="Prompting techniques that raise a small model's arithmetic accuracy",
        worker_setup=None,
        verify_limit=3,
        concurrency=2,  # two labs side by side, as the demo runs them (one thread each)
        lab=EMBEDDED_LAB,
    )
    run_cli("campaign", "run", str(config), timeout=1500)
    state = state_of(config)
    records = [run["record"] for run in state["runs"]]
    assert len(records) == 2
    with ArchiveClient(sqlite_server.url) as client:
        papers = client.list(campaign=state["campaign_id"]).items
    assert {p.id for p in papers} == {r["paper_id"] for r in records if r["paper_id"]}
    assert all(record["outcome"] and record["wall_s"] > 0 for record in records)
    published = [record for record in records if record["paper_id"]]
    assert published, [record["outcome"] for record in records]
    for record in published:
        assert record["outcome"] == "published" and record["tokens"] > 0
        assert record["claimed"] is not None
        assert record["verification"]  # reproduced / not reproduced / failed: ...
