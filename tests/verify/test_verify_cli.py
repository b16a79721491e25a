"""``agentrxiv verify`` end to end: the embedded SmolLM2 on arith against a real server on
SQLite and on PostgreSQL, the second run answered from the response cache, and refusals
(unknown id, withdrawn paper) as one line with exit 1 and nothing posted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import make_labs, publish

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FEW_SHOT = """
EXAMPLES = "What is 12 + 30?\\n\\\\boxed{42}\\nWhat is 51 + 17?\\n\\\\boxed{68}\\n"


def solve(problem, model):
    prompt = EXAMPLES + problem + "\\n"
    return model.chat([{"role": "user", "content": prompt}], temperature=0.0, max_tokens=16).text
"""


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """``agentrxiv ARGS`` in a subprocess with its own home (the response cache lives there)."""
    env = {**os.environ, "AGENTRXIV_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "agentrxiv.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.model
def test_verify_end_to_end_with_smollm2(live_server, tmp_path: Path) -> None:
    labs = make_labs(live_server)
    verifier = live_server.new_token("verifier-lab")
    paper_id = publish(labs.author, FEW_SHOT, 0.30, model="local/smollm2")
    home = tmp_path / "verifier-home"
    home.mkdir()
    args = (
        "verify",
        paper_id,
        "--server",
        live_server.url,
        "--token",
        verifier,
        "--limit",
        "10",
        "--json",
    )
    first = run_cli(*args, home=home)
    assert first.returncode == 0, first.stderr
    record = json.loads(first.stdout)
    assert record["status"] in ("reproduced", "not reproduced")
    assert record["n"] == 10 and record["benchmark"] == "arith" and record["split"] == "test"
    assert record["model"] == "local/smollm2" and record["verifier"] == "verifier-lab"
    assert 0.0 <= record["ci_low"] <= record["value"] <= record["ci_high"] <= 1.0
    assert record["details"]["model_calls"] == 20  # 10 baseline + 10 technique
    second = run_cli(*args, home=home)
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["details"]["model_calls"] == 0, "the second run must hit the response cache"
    assert (again["value"], again["baseline_value"]) == (record["value"], record["baseline_value"])
    stored = labs.author.list_verifications(paper_id)
    assert len(stored) == 2 and not any(v.self_verification for v in stored)
    paper = labs.author.get(paper_id)
    assert paper.verification_status == record["status"]


def test_verify_refusals_are_one_line(sqlite_server, tmp_path: Path) -> None:
    labs = make_labs(sqlite_server)
    unknown = run_cli(
        "verify",
        "2601.99999",
        "--server",
        sqlite_server.url,
        "--token",
        sqlite_server.token,
        home=tmp_path,
    )
    assert unknown.returncode == 1
    assert unknown.stderr.strip().count("\n") == 0 and "2601.99999" in unknown.stderr
    withdrawn = publish(labs.author, FEW_SHOT, 0.3, model="local/smollm2")
    labs.admin.withdraw(withdrawn, "retracted")
    refused = run_cli(
        "verify",
        withdrawn,
        "--server",
        sqlite_server.url,
        "--token",
        sqlite_server.token,
        home=tmp_path,
    )
    assert refused.returncode == 1 and "withdrawn" in refused.stderr
    assert refused.stderr.strip().count("\n") == 0
    assert labs.author.list_verifications(withdrawn) == []
