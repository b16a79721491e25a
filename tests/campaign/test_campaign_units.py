"""Fast campaign checks: config validation (every problem at once), the example configs,
the report helpers, lab wall time that survives kill -9, and co-pilot redo freshness."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from tests.conftest import cli

from agentrxiv.campaign.config import example_config, load_campaign_config, validate_campaign
from agentrxiv.campaign.report import wilson
from agentrxiv.errors import ConfigError
from agentrxiv.lab.checkpoint import LabState
from agentrxiv.lab.clock import CLOCK_FILE, PhaseClock, recover


def test_invalid_config_lists_every_problem_with_its_path(tmp_path: Path) -> None:
    bad = {
        "name": "bad name!",
        "topic": "ok topic",
        "papers": 0,
        "mode": "everyone",
        "colour": "blue",
        "lab": {"mle_solver_steps": -1, "server": "http://x", "tempreature": 1},
    }
    with pytest.raises(ConfigError) as info:
        validate_campaign(bad)
    message = info.value.message
    for expected in (
        "name:",
        "papers:",
        "mode:",
        "colour:",
        "lab.mle_solver_steps:",
        "lab.server:",
        "lab.tempreature:",
    ):
        assert expected in message, (expected, message)
    labs = {
        "name": "ok",
        "topic": "a topic",
        "labs": [{"name": "a"}, {"name": "a", "overrides": {"model": 3}}],
    }
    with pytest.raises(ConfigError) as info:
        validate_campaign(labs)
    assert "labs.1.name: duplicate" in info.value.message
    assert "labs.1.overrides.model" in info.value.message


def test_cli_reports_config_problems_in_one_message(tmp_path: Path, isolated_home: Path) -> None:
    file = tmp_path / "c.yaml"
    file.write_text("name: x\ntopic: t\nconcurrency: 0\n")
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "agentrxiv.cli.main", "campaign", "run", str(file)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "topic" in proc.stderr and "concurrency" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("benchmark", ["math500", "arith"])
def test_example_configs_validate(tmp_path: Path, isolated_home: Path, benchmark: str) -> None:
    text = cli("campaign", "example-config", "--benchmark", benchmark, home=isolated_home)
    assert text == example_config(benchmark)
    file = tmp_path / "example.yaml"
    file.write_text(text)
    config = load_campaign_config(file)
    assert config.benchmark == benchmark and config.mode == "shared"
    assert yaml.safe_load(text)["lab"]


def test_wilson_interval() -> None:
    low, high = wilson(0.75, 500)
    assert 0.70 < low < 0.75 < high < 0.79
    assert wilson(0.5, None) is None


def test_phase_seconds_survive_a_kill(tmp_path: Path) -> None:
    state = LabState()
    clock = PhaseClock(tmp_path, interval=0.05)
    clock.start("experiments", state)
    time.sleep(0.4)
    clock.close()  # a kill -9: nothing is accounted or checkpointed
    pending = json.loads((tmp_path / CLOCK_FILE).read_text())
    assert pending["phase"] == "experiments" and pending["seconds"] > 0.25
    assert recover(tmp_path, state) > 0.25
    assert state.summary("experiments").seconds > 0.25 and state.elapsed_s > 0.25
    assert not (tmp_path / CLOCK_FILE).exists()


def test_checkpointed_seconds_are_not_counted_twice(tmp_path: Path) -> None:
    state = LabState()
    clock = PhaseClock(tmp_path, interval=0.05)
    clock.start("plan", state)
    time.sleep(0.2)
    clock.account(state)  # what a checkpoint does, then it bumps the sequence
    state.clock_seq += 1
    counted = state.elapsed_s
    time.sleep(0.15)
    clock.close()
    recovered = recover(tmp_path, state)
    assert 0.05 < recovered < 0.5
    assert state.elapsed_s == pytest.approx(counted + recovered)


def test_copilot_redo_samples_a_fresh_attempt(tmp_path: Path) -> None:
    from agentrxiv.lab.config import parse_config
    from agentrxiv.lab.loop import build_runtime
    from agentrxiv.llm.scripted import ScriptedChatModel

    config = parse_config({"topic": "a topic", "output_dir": str(tmp_path), "model": "x/y"})
    rt = build_runtime(
        config, resume=False, runner=object(), model_factory=lambda spec: ScriptedChatModel()
    )
    first = rt.agent("phd", "plan")
    assert first.seed is None and first.temperature == 0.0
    rt.state.redos["plan"] = 1
    again = rt.agent("phd", "plan")
    assert again.seed == 1 and again.temperature > 0
