"""``agentrxiv bench math500`` end to end against a real fake OpenAI-compatible HTTP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentrxiv.bench.fake_endpoint import FakeOpenAIEndpoint
from agentrxiv.stats import wilson_interval

pytestmark = pytest.mark.integration

REPORT_KEYS = {
    "accuracy", "n", "correct", "ci95", "usage", "cost_usd", "wall_s",
    "by_subject", "by_level", "records", "metadata",
}  # fmt: skip


def bench(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``agentrxiv bench math500 ARGS`` in a subprocess."""
    env = {**os.environ, "AGENTRXIV_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "agentrxiv.cli.main", "bench", "math500", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_scores_writes_report_and_reruns_from_cache(
    fake_openai: FakeOpenAIEndpoint, isolated_home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results.json"
    args = ["--model", "openai/fake", "--base-url", fake_openai.url, "--data", "sample"]
    first = bench(isolated_home, *args, "--concurrency", "4", "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert fake_openai.calls == 20
    assert "15/20 correct" in first.stdout
    report = json.loads(out.read_text())
    assert set(report) == REPORT_KEYS
    assert (report["n"], report["correct"], report["accuracy"]) == (20, 15, 0.75)
    assert report["ci95"] == pytest.approx(list(wilson_interval(15, 20)))
    assert report["usage"]["completion_tokens"] > 0
    assert report["metadata"]["model"] == "openai/fake"
    assert len(report["metadata"]["data_sha256"]) == 64
    assert sum(g["n"] for g in report["by_level"].values()) == 20
    record = report["records"][3]
    assert record["correct"] is False and record["extracted"] == "\\text{wrong}"

    again = bench(isolated_home, *args, "--concurrency", "4", "--out", str(tmp_path / "2.json"))
    assert again.returncode == 0, again.stderr
    assert fake_openai.calls == 20  # every request answered from the response cache
    assert json.loads((tmp_path / "2.json").read_text())["correct"] == 15


def test_cli_unreachable_server_fails_on_one_line_and_keeps_partial(
    fake_openai: FakeOpenAIEndpoint, isolated_home: Path, tmp_path: Path
) -> None:
    args = ["--model", "openai/fake", "--base-url", fake_openai.url, "--data", "sample"]
    warm = bench(isolated_home, *args, "--limit", "5", "--out", str(tmp_path / "warm.json"))
    assert warm.returncode == 0, warm.stderr
    fake_openai.stop()

    out = tmp_path / "partial.json"
    result = bench(isolated_home, *args, "--concurrency", "2", "--out", str(out))
    assert result.returncode == 1
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1, result.stderr
    assert "cannot connect" in error_lines[0] and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # the error and its hint
    partial = json.loads(out.read_text())
    assert partial["metadata"]["complete"] is False
    assert 5 <= partial["n"] < 20  # the cached five finished, the rest could not
    assert (
        partial["records"][0]["unique_id"]
        == json.loads((tmp_path / "warm.json").read_text())["records"][0]["unique_id"]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "/nonexistent/file.jsonl"], "not found"),
        (["--data", "sample", "--technique", "nope"], "unknown technique"),
    ],
)
def test_cli_bad_input_is_one_line(isolated_home: Path, args: list[str], message: str) -> None:
    result = bench(isolated_home, "--model", "openai/fake", "--base-url", "http://x/v1", *args)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
