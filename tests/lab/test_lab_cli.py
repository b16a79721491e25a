"""The lab commands from the command line: clear one-line errors, the example config, and
(slow, embedded model) ``agentrxiv demo`` end to end with a real server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agentrxiv.client import ArchiveClient


def agentrxiv(*args: str, home: Path, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess."""
    env = {**os.environ, "AGENTRXIV_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "agentrxiv.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_lab_run_errors_are_one_line(tmp_path, isolated_home):
    missing = agentrxiv("lab", "run", str(tmp_path / "nope.yaml"), home=isolated_home)
    assert missing.returncode == 1 and "lab config not found" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("topic: improving things\nmle_solver_steps: -1\n")
    out = agentrxiv("lab", "run", str(bad), home=isolated_home)
    assert out.returncode == 1 and "mle_solver_steps" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    good = tmp_path / "good.yaml"
    good.write_text("topic: improving things\nlab_name: x\n")
    out = agentrxiv("lab", "run", str(good), "--resume", home=isolated_home)
    assert out.returncode == 1 and "nothing to resume" in out.stderr


def test_example_config_command_prints_a_loadable_config(tmp_path, isolated_home):
    out = agentrxiv("lab", "example-config", home=isolated_home)
    assert out.returncode == 0 and "papers_to_review: 5" in out.stdout
    path = tmp_path / "example.yaml"
    path.write_text(out.stdout)
    from agentrxiv.lab.config import load_config

    assert load_config(path).topic


@pytest.mark.slow
@pytest.mark.model
@pytest.mark.integration
@pytest.mark.timeout(1800)  # the embedded model on 2 shared cores: minutes, not seconds
def test_demo_publishes_a_paper_whose_results_match_the_result_file(tmp_path, isolated_home):
    """The real thing: embedded SmolLM2 for every agent and as the target, a real server."""
    from agentrxiv.lab.demo import DemoServer

    demo_dir = tmp_path / "demo"
    out = agentrxiv(
        "demo",
        "--single",
        "--limit",
        "3",
        "--dir",
        str(demo_dir),
        home=isolated_home,
        timeout=1700,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Real research needs a real model" in out.stdout.replace("\n", " ")
    url = re.search(r"paper URL: (\S+/abs/(\d{4}\.\d{5}))", out.stdout)
    assert url, out.stdout[-3000:]
    paper_id = url.group(2)
    lab_dir = demo_dir / "labs" / "demo-lab"
    state = json.loads((lab_dir / "state.json").read_text())
    best = state["experiments"]["kept"][0]
    result_file = json.loads((lab_dir / "runs" / f"{best['id']}" / "result.json").read_text())
    assert result_file["n"] == 3 and result_file["model"] == "local/smollm2"
    summary = json.loads((lab_dir / "summary.json").read_text())
    assert summary["finished"] and summary["tokens"] > 0
    with DemoServer(demo_dir) as server, ArchiveClient(server.url) as client:
        paper = client.get(paper_id)
        reviews = client.reviews(paper_id)
        page = client._send("GET", f"/abs/{paper_id}")
    main = next(r for r in paper.results if r.metric == "accuracy")
    assert (main.value, main.n, main.model) == (
        result_file["value"],
        result_file["n"],
        result_file["model"],
    )
    assert json.loads(paper.code_files["result.json"]) == result_file
    assert f"{100 * result_file['value']:.1f}%" in paper.body
    assert page.status_code == 200 and paper.title in page.text
    assert len(reviews) == len(state["review_rounds"][-1]["reviews"])
