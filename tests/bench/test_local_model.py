"""The CLI end to end with the embedded SmolLM2 model (real local inference, no network)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.model, pytest.mark.slow]


def test_bench_math500_with_local_smollm2(
    math500_path: Path, isolated_home: Path, tmp_path: Path
) -> None:
    pytest.importorskip("llama_cpp")
    out = tmp_path / "smollm2.json"
    args = ["--model", "local/smollm2", "--technique", "zero-shot", "--limit", "5"]
    # A small token cap keeps five CPU generations within the test budget.
    args += ["--data", str(math500_path), "--max-tokens", "48", "--concurrency", "1"]
    result = subprocess.run(
        [sys.executable, "-m", "agentrxiv.cli.main", "bench", "math500", *args, "--out", str(out)],
        env={**os.environ, "AGENTRXIV_HOME": str(isolated_home)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["n"] == 5 and report["metadata"]["complete"] is True
    assert 0 <= report["correct"] <= 5
    assert report["cost_usd"] == 0.0
    for record in report["records"]:
        assert record["error"] in (None, "no final answer found")
        assert record["method"] != "error"
        assert 0 < record["tokens"]["completion_tokens"] <= 48
        assert record["output"]  # the model really generated text
    assert "MATH-500:" in result.stdout
