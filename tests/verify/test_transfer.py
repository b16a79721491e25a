"""``bench transfer``: a technique against the baseline on other benchmarks and models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentrxiv.verify import transfer, write_tables

from .conftest import HONEST, make_labs, publish

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_transfer_table_and_posted_records(sqlite_server, oracle, tmp_path: Path) -> None:
    labs = make_labs(sqlite_server)
    paper_id = publish(labs.author, HONEST, 0.99, model="scripted/other")
    rows = transfer(
        labs.verifier, paper_id, ["arith", "medqa"], ["scripted/arith-oracle"], limit=6, post=True
    )
    arith, medqa = rows
    # 6 problems cannot back a claim of 0.99 (Wilson interval 0.61 to 1): inconclusive
    assert arith["status"] == "inconclusive" and arith["value"] == 1.0 and arith["n"] == 6
    assert arith["delta_low"] <= arith["delta"] <= arith["delta_high"]
    assert "medqa needs data" in medqa["error"]
    md, js = write_tables(paper_id, rows, tmp_path / "transfer")
    table = md.read_text()
    assert "| arith | scripted/arith-oracle | 6 | 100.0%" in table and "error: medqa" in table
    assert json.loads(js.read_text())["rows"][0]["benchmark"] == "arith"
    stored = labs.author.list_verifications(paper_id)
    assert [v.kind for v in stored] == ["transfer"]
    assert labs.author.get(paper_id).verification_status is None  # transfers never decide it
