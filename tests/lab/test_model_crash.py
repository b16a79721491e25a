"""A native crash of the embedded model in the middle of a lab: the real SmolLM2 worker is
killed mid-generation. The lab stops with one clear line, its checkpoint and summary are
saved, the exit code is non-zero, and ``--resume`` continues from the checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from agentrxiv.lab.checkpoint import load_state
from agentrxiv.lab.loop import run_lab
from agentrxiv.llm.errors import ModelCrashError
from agentrxiv.llm.worker import workers

pytestmark = [pytest.mark.model, pytest.mark.slow]
CRASH = "the embedded model's process died with SIGKILL"


def _kill_smollm2_when_busy(delay: float = 0.3) -> None:
    import threading

    def watch() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            busy = [w for w in workers() if w.busy and w.pid]
            if busy:
                time.sleep(delay)
                if busy[0].pid:
                    os.kill(busy[0].pid, signal.SIGKILL)
                return
            time.sleep(0.005)

    threading.Thread(target=watch, daemon=True).start()


def test_lab_stops_cleanly_on_a_model_crash_and_resumes(labkit) -> None:
    crashing = labkit.config(lab_name="crash", phase_models={"plan": "local/smollm2"})
    rt = labkit.runtime(crashing)
    _kill_smollm2_when_busy()
    with pytest.raises(ModelCrashError) as caught:
        run_lab(rt)
    assert CRASH in str(caught.value)
    state = load_state(rt.lab_dir)
    assert state.completed == ["literature"] and CRASH in state.stopped_reason
    assert state.summary("plan").outcome.startswith("stopped: ModelCrashError: " + CRASH)
    summary = json.loads((rt.lab_dir / "summary.json").read_text())
    assert CRASH in summary["stopped_reason"] and not summary["finished"]

    # --resume continues from the checkpoint (here with the plan phase on the scripted model;
    # the fingerprint covers topic, models and data, not per-phase overrides).
    labkit.script.kill_at = ("data_prep", 1)
    resumed = labkit.runtime(labkit.config(lab_name="crash"), resume=True)
    with pytest.raises(labkit.SimulatedKill):
        run_lab(resumed)
    state = load_state(rt.lab_dir)
    assert state.completed == ["literature", "plan"] and state.plan is not None


def _worker_children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"agentrxiv.llm.worker_child" in cmdline:
                found.append(int(child))
    return found


def test_lab_cli_prints_one_line_and_exits_non_zero_on_a_model_crash(tmp_path: Path) -> None:
    config = {
        "topic": "prompting techniques for MATH-500",
        "lab_name": "cli-crash",
        "output_dir": str(tmp_path / "labs"),
        "model": "scripted/echo",
        "phase_models": {"plan": "local/smollm2"},
        "dialogue_turns": 0,
        "max_tokens": 600,
        "latex": False,
    }
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(config))
    lab = subprocess.Popen(
        [sys.executable, "-m", "agentrxiv.cli.main", "lab", "run", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (children := _worker_children(lab.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert children, "no model worker started"
    time.sleep(1.0)  # loading or generating: either way the worker dies mid-plan
    os.kill(children[0], signal.SIGKILL)
    stdout, stderr = lab.communicate(timeout=120)
    assert lab.returncode == 1, stderr
    lines = stderr.strip().splitlines()
    assert lines[0].startswith("Error: " + CRASH), stderr
    assert len(lines) <= 2 and "Traceback" not in stderr  # the message and its hint
    assert "resume with --resume" in stdout
    state = load_state(tmp_path / "labs" / "cli-crash")
    assert state.completed == ["literature"] and CRASH in state.stopped_reason
