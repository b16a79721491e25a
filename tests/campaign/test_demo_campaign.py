"""``agentrxiv demo`` as a campaign, short form: 2 labs x 2 papers in shared mode with scripted
agents and target (the embedded-model run is the same command without the hidden flags)."""

from __future__ import annotations

import re

import pytest
from tests.campaign.conftest import run_cli

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_demo_runs_a_shared_campaign_verifies_every_paper_and_prints_the_summary(tmp_path):
    out = run_cli(
        "demo",
        "--dir",
        str(tmp_path),
        "--model",
        "scripted/lab",
        "--target-model",
        "scripted/target",
        "--worker-setup",
        "agentrxiv.testing.scripted_lab:setup",
        "--limit",
        "8",
        "--test-problems",
        "10",
        env={"COLUMNS": "250"},
    )
    url = re.search(r"campaign page: (http://\S+/campaigns/\S+)", out)
    assert url, out
    papers = re.findall(r"\b(\d{4}\.\d{5})\b", out)
    assert len(set(papers)) == 4, out
    assert out.count("n=10") == 4  # every paper verified on 10 test problems, with interval
    rows = [line for line in out.splitlines() if "lab-" in line and "#2" in line]
    assert rows and all(re.search(r"\d{4}\.\d{5}.*\d{4}\.\d{5}", row) for row in rows), rows
    assert "plan" in out and "expe" in out  # time per phase
    assert "demo campaign (finished)" in out
