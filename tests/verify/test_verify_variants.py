"""Variants tried appear on the verification record and the paper page, next to the dev-test
gap (real server, sandbox and gateway; scripted arith model)."""

from __future__ import annotations

import httpx
import pytest

from agentrxiv.archive.schemas import PaperCreate
from agentrxiv.verify import verify_paper

from .conftest import HONEST, make_labs

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_verification_record_carries_the_variants_tried(sqlite_server, oracle) -> None:
    labs = make_labs(sqlite_server)
    paper = PaperCreate(
        title="Chosen from seven variants",
        abstract="We tried seven variants on dev.",
        results=[
            {
                "benchmark": "arith",
                "metric": "accuracy",
                "value": 0.25,
                "n": 200,
                "model": "scripted/arith-oracle",
                "split": "dev",
            }
        ],
        code_files={"technique.py": HONEST},
        technique="technique.py:solve",
        variants_tried=7,
    )
    paper_id = labs.author.submit(paper).id
    record = verify_paper(labs.verifier, paper_id, limit=8)
    assert record.details["variants_tried"] == 7
    stored = labs.verifier.list_verifications(paper_id)[0]
    assert stored.details["variants_tried"] == 7
    gap = 100 * (stored.claimed_value - stored.value)
    page = httpx.get(f"{sqlite_server.url}/abs/{paper_id}", timeout=30).text
    assert "Dev–test gap · variants" in page and f"{gap:+.1f} · 7" in page
    assert "Variants measured on dev before this claim was chosen: <strong>7</strong>" in page
