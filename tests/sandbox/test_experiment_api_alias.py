"""Programs generated before the sandbox had its own package import
``agentrxiv.lab.experiment_api``: the alias must keep them running, inside the sandbox too."""

from __future__ import annotations

import json
from pathlib import Path

import agentrxiv.lab.experiment_api as old_api
import agentrxiv.sandbox.experiment_api as api
from agentrxiv.sandbox import SandboxLimits, SubprocessSandbox, boundary_problem

OLD_PROGRAM = """
from agentrxiv.lab.experiment_api import write_result
write_result({"metric": "accuracy", "value": 0.5, "n": 2})
"""


def test_the_alias_exports_the_same_objects() -> None:
    for name in old_api.__all__:
        assert getattr(old_api, name) is getattr(api, name), name


def test_an_old_program_runs_in_the_sandbox(tmp_path: Path) -> None:
    box = SubprocessSandbox(
        tmp_path / "work",
        SandboxLimits(cpu_s=20, memory_mb=1024, wall_s=60),
        unsafe=boundary_problem() is not None,
    )
    result = box.run_python(OLD_PROGRAM, env_extra={"AGENTRXIV_TARGET_MODEL": "local/smollm2"})
    assert result.ok, result.stderr
    written = json.loads((box.workdir / "result.json").read_text())
    assert written["value"] == 0.5 and written["n"] == 2
