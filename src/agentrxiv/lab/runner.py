"""Runs generated programs in the sandbox, with the target model behind the lab's gateway, and
reads back the machine-readable ``result.json`` the mle-solver ranks programs by."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentrxiv.lab.config import SandboxConfig
from agentrxiv.llm.base import ChatModel

log = logging.getLogger(__name__)

PROGRAM_FILE = "program.py"
RESULT_FILE = "result.json"
TAIL_CHARS = 3_000
MAX_SOCKET_PATH = 100


class ExperimentResult(BaseModel):
    """What an experiment program must write to ``result.json``."""

    model_config = ConfigDict(extra="ignore")

    benchmark: str = Field(min_length=1, max_length=100)
    metric: str = Field(min_length=1, max_length=100)
    value: float = Field(allow_inf_nan=False)
    n: int = Field(ge=1)
    model: str = Field(default="", max_length=200)
    split: str = Field(default="", max_length=100)
    details: dict[str, Any] = Field(default_factory=dict)


@dataclass
class ProgramRun:
    """The outcome of running one program."""

    ok: bool
    exit_code: int
    stdout: str = ""
    stderr: str = ""
    error: str = ""
    result: dict[str, Any] | None = None
    figures: list[str] = field(default_factory=list)
    model_calls: int = 0
    workdir: Path | None = None


def _tail(text: str) -> str:
    return text if len(text) <= TAIL_CHARS else "[...]\n" + text[-TAIL_CHARS:]


def read_result(workdir: Path, model_calls: int | None) -> tuple[dict[str, Any] | None, str]:
    """The validated result file, or ``None`` and why it is not acceptable."""
    path = workdir / RESULT_FILE
    if not path.exists():
        return None, "the program wrote no result.json (call write_result)"
    try:
        result = ExperimentResult.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        return None, f"result.json is invalid: {str(exc).splitlines()[0]}"
    if model_calls is not None and model_calls < result.n:
        # A measured accuracy over n problems needs at least n answers from the model.
        return None, (
            f"result.json reports n={result.n} but the program made only {model_calls} "
            "model calls: results must be measured, not written by hand"
        )
    return result.model_dump(), ""


def _socket_path(workdir: Path, short_dir: Path) -> Path:
    """The gateway socket: in the workdir when the path fits a Unix socket, else a short dir."""
    inside = workdir.resolve() / "model.sock"
    return inside if len(str(inside).encode()) <= MAX_SOCKET_PATH else short_dir / "model.sock"


class SandboxRunner:
    """Runs programs in ``runs_dir/<name>`` in the sandbox; the model only via the gateway."""

    def __init__(
        self,
        runs_dir: Path,
        target_model: ChatModel | None,
        tag: str,
        limits: SandboxConfig,
        env: dict[str, str] | None = None,
    ) -> None:
        self.runs_dir = runs_dir
        self.target_model = target_model
        self.tag = tag
        self.limits = limits
        self.env = env or {}

    def _sandbox_limits(self) -> Any:
        from agentrxiv.lab.sandbox import SandboxLimits

        return SandboxLimits(
            cpu_s=self.limits.cpu_s,
            memory_mb=self.limits.memory_mb,
            wall_s=self.limits.wall_s,
            output_bytes=self.limits.output_bytes,
        )

    def run(self, code: str, name: str, *, with_model: bool = True) -> ProgramRun:
        """Run ``code`` in a fresh working directory and read its result file."""
        from agentrxiv.lab.sandbox import SubprocessSandbox

        workdir = self.runs_dir / name
        if workdir.exists():  # a rerun after a resume starts clean
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        (workdir / PROGRAM_FILE).write_text(code, encoding="utf-8")
        calls: int | None = None
        if with_model and self.target_model is not None:
            from agentrxiv.lab.gateway import ModelGateway

            with tempfile.TemporaryDirectory(prefix="arx-") as short_dir:
                socket_path = _socket_path(workdir, Path(short_dir))
                with ModelGateway(self.target_model, socket_path, self.tag) as gateway:
                    sandbox = SubprocessSandbox(workdir, self._sandbox_limits(), socket_path)
                    env = {**gateway.child_env(), **self.env}
                    env.pop("AGENTRXIV_MODEL_SOCKET", None)  # the sandbox sets its own form
                    outcome = sandbox.run_python(Path(PROGRAM_FILE), env_extra=env)
                    calls = gateway.calls
        else:
            sandbox = SubprocessSandbox(workdir, self._sandbox_limits())
            outcome = sandbox.run_python(Path(PROGRAM_FILE), env_extra=self.env)
        return self._outcome(workdir, outcome, calls, with_model)

    def _outcome(
        self, workdir: Path, outcome: Any, calls: int | None, with_model: bool
    ) -> ProgramRun:
        run = ProgramRun(
            ok=False,
            exit_code=outcome.exit_code,
            stdout=_tail(outcome.stdout),
            stderr=_tail(outcome.stderr),
            model_calls=calls or 0,
            workdir=workdir,
            figures=sorted(
                str(p.relative_to(workdir))
                for p in workdir.rglob("*.png")
                if ".cache" not in p.parts
            ),
        )
        if outcome.exit_code != 0 or outcome.timed_out:
            why = outcome.killed_by or f"exit code {outcome.exit_code}"
            run.error = f"the program failed ({why}):\n{_tail(outcome.stderr or outcome.stdout)}"
            return run
        if not with_model:
            run.ok = True
            return run
        run.result, run.error = read_result(workdir, calls)
        run.ok = run.result is not None
        return run
