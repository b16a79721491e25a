"""The checkpoint store (local path, ``file://`` and ``memory://`` through fsspec), the
settings forwarded to Ray nodes, and how executors classify a run that died."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from agentrxiv.campaign.executors import crash_record
from agentrxiv.campaign.ray_executor import forwarded_env
from agentrxiv.campaign.storage import CheckpointStore, run_key


def _lab_dir(root: Path) -> Path:
    lab = root / "lab-1"
    (lab / "programs").mkdir(parents=True)
    (lab / "state.json").write_text(json.dumps({"completed": ["plan"], "elapsed_s": 3.5}))
    (lab / "ledger.jsonl").write_text('{"tokens": 1}\n')
    (lab / "programs" / "p1.py").write_text("print(1)\n")
    (lab / "run.lock").write_text("")  # node-local: never uploaded
    return lab


@pytest.mark.parametrize("scheme", ["path", "file", "memory"])
def test_store_round_trip_sends_only_changes(tmp_path: Path, scheme: str) -> None:
    url = {
        "path": str(tmp_path / "store"),
        "file": f"file://{tmp_path / 'store'}",
        "memory": f"memory://agentrxiv-test-{uuid.uuid4().hex}",
    }[scheme]
    key = run_key("c1", "lab-1", 2)
    lab = _lab_dir(tmp_path / "node-a")
    writer = CheckpointStore(url)
    assert writer.push(lab, key) == 3
    assert writer.push(lab, key) == 0  # nothing changed
    (lab / "ledger.jsonl").write_text('{"tokens": 1}\n{"tokens": 2}\n')
    assert writer.push(lab, key) == 1
    assert not writer.exists(key, "run.lock")

    other = tmp_path / "node-b" / "lab-1"  # another node, nothing shared but the store
    reader = CheckpointStore(url)
    assert reader.pull(key, other) == 3
    assert json.loads((other / "state.json").read_text())["elapsed_s"] == 3.5
    assert (other / "ledger.jsonl").read_text().count("\n") == 2
    assert (other / "programs" / "p1.py").exists()
    assert reader.push(other, key) == 0  # what it pulled is not sent back
    assert CheckpointStore(url).pull(run_key("c1", "lab-1", 3), tmp_path / "x") == 0


def test_forwarded_env_keeps_settings_and_drops_secrets() -> None:
    env = {
        "AGENTRXIV_TARGET_MODEL": "smollm2",
        "AGENTRXIV_SCRIPTED_DELAY_S": "0.1",
        "AGENTRXIV_TOKEN": "secret",
        "AGENTRXIV_OPENAI_API_KEY": "secret",
        "AGENTRXIV_HOME": "/home/me/.agentrxiv",
        "AGENTRXIV_NODE_DIR": "/scratch",
        "PATH": "/usr/bin",
    }
    assert forwarded_env(env) == {
        "AGENTRXIV_TARGET_MODEL": "smollm2",
        "AGENTRXIV_SCRIPTED_DELAY_S": "0.1",
    }


def test_a_run_killed_by_a_signal_is_retried_not_a_final_crash() -> None:
    record = {"lab": "lab-1", "paper": 1}
    killed = crash_record(record, -9, "line one\nline two")
    assert killed["retry"] and killed["resumable"]
    assert killed["outcome"].startswith("lost: killed by signal 9")
    failed = crash_record(record, 1, "Traceback ...\nValueError: boom")
    assert not failed["resumable"] and "retry" not in failed
    assert failed["outcome"].startswith("crashed: exit code 1")
