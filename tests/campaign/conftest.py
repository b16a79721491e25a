"""Campaign test helpers: a scripted campaign config over a real server, and readers of
what the campaign wrote (its state file and each lab run's checkpoint)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

SCRIPTED_LAB = {
    "model": "scripted/lab",
    "target_model": "scripted/target",
    "problem_limit": 4,
    "papers_to_review": 1,
    "literature_steps": 3,
    "mle_solver_steps": 0,
    "mle_candidates": 1,
    "mle_max_repairs": 1,
    "paper_solver_steps": 1,
    "latex": False,
    "sandbox": {"wall_s": 120},
}


def campaign_config(path: Path, server: Any, token: str, **overrides: Any) -> Path:
    """Write a scripted campaign YAML next to ``path`` and return it."""
    data = {
        "name": "scripted",
        "topic": "prompting techniques that improve MATH-500 accuracy",
        "labs": 2,
        "papers": 1,
        "mode": "shared",
        "concurrency": 2,
        "server": server.url,
        "token": token,
        "output_dir": str(path / "campaigns"),
        "worker_setup": "agentrxiv.testing.scripted_lab:setup",
        "verify_limit": 4,
        "lab": SCRIPTED_LAB,
    }
    data.update(overrides)
    file = path / f"{data['name']}.yaml"
    file.write_text(yaml.safe_dump(data), encoding="utf-8")
    return file


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: int = 600) -> str:
    """``agentrxiv ARGS`` in a subprocess; returns stdout, fails with stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "agentrxiv.cli.main", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"agentrxiv {' '.join(args)}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


def state_of(config_file: Path) -> dict[str, Any]:
    """The campaign state file of the campaign in ``config_file``."""
    data = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    path = Path(data["output_dir"]) / data["name"] / "campaign_state.json"
    return json.loads(path.read_text(encoding="utf-8"))


def lab_states(state: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    """Each run's lab checkpoint (``state.json``)."""
    out = {}
    for run in state["runs"]:
        path = Path(run["lab_dir"]) / "state.json"
        out[(run["lab"], run["paper"])] = json.loads(path.read_text(encoding="utf-8"))
    return out


@pytest.fixture(scope="module")
def owner_token(sqlite_server: Any) -> str:
    """A campaign-owner token (a plain lab token) on the module's server."""
    return sqlite_server.new_token("campaign-owner")
