"""``agentrxiv bench run BENCHMARK``: splits, options and errors with a scripted model, and a
short real SmolLM2 run on arith (a few calls)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentrxiv.bench.registry import get_benchmark


def bench_run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``agentrxiv bench run ARGS`` in a subprocess."""
    env = {**os.environ, "AGENTRXIV_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "agentrxiv.cli.main", "bench", "run", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_bench_run_writes_a_pairable_report_of_the_chosen_split(
    isolated_home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    args = ["arith", "--model", "scripted/echo", "--split", "test", "--limit", "4"]
    proc = bench_run(isolated_home, *args, "--option", "digits=3", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    expected = get_benchmark("arith", digits=3).problems("test", limit=4)
    assert [r["unique_id"] for r in report["records"]] == [p.unique_id for p in expected]
    assert all(isinstance(r["correct"], bool) for r in report["records"])
    meta = report["metadata"]
    assert (meta["benchmark"], meta["spec"], meta["split"]) == ("arith", "arith:digits=3", "test")
    assert meta["max_tokens"] == 32 and meta["sizes"] == {"dev": 200, "test": 300}
    assert "arith:digits=3 (test)" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "unknown benchmark 'nope'"),
        (["arith", "--split", "train"], "unknown split 'train'"),
        (["arith", "--option", "digits"], "expected KEY=VALUE"),
        (["arith", "--option", "digits=0"], "arith option digits"),
        (["mmlu-pro"], "needs data"),
        (["arith", "--technique", "nope"], "unknown technique 'nope'"),
    ],
)
def test_bench_run_errors_are_one_clear_line(
    isolated_home: Path, args: list[str], message: str
) -> None:
    proc = bench_run(isolated_home, *args, "--model", "scripted/echo")
    assert proc.returncode != 0
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith("Error:") and message in first, proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.model
@pytest.mark.slow
def test_bench_run_arith_with_the_embedded_smollm2(isolated_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "smollm2.json"
    args = ["arith", "--model", "local/smollm2", "--technique", "few-shot", "--limit", "3"]
    proc = bench_run(isolated_home, *args, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report["n"] == 3 and report["metadata"]["split"] == "dev"
    assert report["usage"]["completion_tokens"] > 0
    assert all(r["error"] is None or r["method"] == "none" for r in report["records"])
