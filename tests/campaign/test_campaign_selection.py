"""Selection on dev in the campaign report: variants tried per claim (lab run and campaign
so far) next to the dev-test gap, and the figure of one against the other."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from agentrxiv.campaign import selection
from agentrxiv.campaign.report import FIGURES, summary, write_report

RECORDS = [
    {"lab": "a", "paper": 1, "paper_id": "2612.00001", "claimed": 0.40, "verified": 0.30,
     "verified_n": 200, "variants_tried": 3, "finished_at": 1.0},
    {"lab": "b", "paper": 1, "paper_id": "2612.00002", "claimed": 0.50, "verified": None,
     "variants_tried": 5, "finished_at": 2.0},
    {"lab": "a", "paper": 2, "paper_id": None, "outcome": "failed: x", "finished_at": 3.0},
    {"lab": "b", "paper": 2, "paper_id": "2612.00004", "claimed": 0.60, "verified": 0.45,
     "verified_n": 200, "variants_tried": 2, "finished_at": 4.0},
]  # fmt: skip


def test_variants_are_counted_per_run_and_campaign_wide_with_the_gap():
    rows = selection.annotate(RECORDS)
    assert [r["variants_tried_campaign"] for r in rows] == [3, 8, 8, 10]
    assert rows[0]["gap"] == pytest.approx(0.10) and rows[1]["gap"] is None
    assert rows[3]["gap"] == pytest.approx(0.15)
    assert selection.summary(RECORDS) == {
        "variants_tried": 10,
        "mean_gap": pytest.approx(0.125),
        "gaps_measured": 2,
    }


def test_the_report_plots_the_gap_against_variants_tried(tmp_path):
    campaign = SimpleNamespace(
        id="c1", name="demo", status="finished", config={"mode": "shared"}, records=RECORDS
    )
    campaign.model_dump = lambda **_: {"id": "c1", "name": "demo"}
    data = write_report(campaign, tmp_path)
    assert selection.GAP_FIGURE in FIGURES and (tmp_path / selection.GAP_FIGURE).stat().st_size
    assert [p["variants_tried_campaign"] for p in data["papers"]] == [3, 8, 8, 10]
    assert summary(campaign)["variants_tried"] == 10
