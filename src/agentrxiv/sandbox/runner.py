"""Runs generated programs in the sandbox, with the target model behind the lab's gateway, and
reads back the machine-readable ``result.json`` the mle-solver ranks programs by.

The working directory is written by untrusted code, so the lab reads it defensively: the
result file and figures are read only when they are plain files with one link (never
through a symbolic or hard link the program planted)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentrxiv.llm.base import ChatModel
from agentrxiv.sandbox.files import read_regular_file
from agentrxiv.sandbox.limits import SandboxConfig, SandboxLimits, SandboxResult
from agentrxiv.sandbox.subprocess_sandbox import SubprocessSandbox

log = logging.getLogger(__name__)

PROGRAM_FILE = "program.py"
RESULT_FILE = "result.json"
TAIL_CHARS = 3_000
MAX_SOCKET_PATH = 100
MAX_RESULT_BYTES = 2_000_000


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
    if not path.exists() and not path.is_symlink():
        return None, "the program wrote no result.json (call write_result)"
    try:
        raw = read_regular_file(path, MAX_RESULT_BYTES)
    except OSError as exc:
        return None, f"result.json cannot be read safely: {exc}"
    try:
        result = ExperimentResult.model_validate(json.loads(raw.decode("utf-8")))
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


def safe_figures(workdir: Path) -> list[str]:
    """PNG files the program saved: plain files with one link, not under a dot-directory."""
    found = []
    for dirpath, dirnames, filenames in os.walk(workdir):  # never follows symbolic links
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        for name in filenames:
            path = Path(dirpath, name)
            if not name.endswith(".png"):
                continue
            info = path.lstat()
            if path.is_file() and not path.is_symlink() and info.st_nlink == 1:
                found.append(str(path.relative_to(workdir)))
    return sorted(found)


class SandboxRunner:
    """Runs programs in ``runs_dir/<name>`` in the sandbox; the model only via the gateway."""

    def __init__(
        self,
        runs_dir: Path,
        target_model: ChatModel | None,
        tag: str,
        limits: SandboxConfig,
        env: dict[str, str] | None = None,
        *,
        data_files: tuple[str | Path, ...] | list[str | Path] = (),
        unsafe: bool = False,
    ) -> None:
        self.runs_dir = runs_dir
        self.target_model = target_model
        self.tag = tag
        self.limits = limits
        self.env = env or {}
        self.unsafe = unsafe
        self.data_files = _with_env_data(data_files, self.env)
        self.isolation = ""

    def _sandbox(self, workdir: Path, socket_path: Path | None = None) -> SubprocessSandbox:
        box = SubprocessSandbox(
            workdir,
            self._sandbox_limits(),
            socket_path,
            data_files=self.data_files,
            unsafe=self.unsafe,
        )
        self.isolation = box.isolation
        return box

    def _sandbox_limits(self) -> SandboxLimits:
        return self.limits.limits()

    def run(self, code: str, name: str, *, with_model: bool = True) -> ProgramRun:
        """Run ``code`` in a fresh working directory and read its result file."""
        workdir = self.runs_dir / name
        if workdir.exists():  # a rerun after a resume starts clean
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        (workdir / PROGRAM_FILE).write_text(code, encoding="utf-8")
        calls: int | None = None
        if with_model and self.target_model is not None:
            # Imported here: the gateway pulls in uvicorn and FastAPI, which programs that
            # import ``agentrxiv.sandbox.experiment_api`` inside the sandbox do not need.
            from agentrxiv.sandbox.gateway import ModelGateway

            with tempfile.TemporaryDirectory(prefix="arx-") as short_dir:
                socket_path = _socket_path(workdir, Path(short_dir))
                with ModelGateway(self.target_model, socket_path, self.tag) as gateway:
                    sandbox = self._sandbox(workdir, socket_path)
                    env = {**gateway.child_env(), **self.env}
                    env.pop("AGENTRXIV_MODEL_SOCKET", None)  # the sandbox sets its own form
                    outcome = sandbox.run_python(Path(PROGRAM_FILE), env_extra=env)
                    calls = gateway.calls
                    if gateway.fatal_error is not None:  # e.g. the local model crashed
                        raise gateway.fatal_error
        else:
            sandbox = self._sandbox(workdir)
            outcome = sandbox.run_python(Path(PROGRAM_FILE), env_extra=self.env)
        return self._outcome(workdir, outcome, calls, with_model)

    def _outcome(
        self, workdir: Path, outcome: SandboxResult, calls: int | None, with_model: bool
    ) -> ProgramRun:
        run = ProgramRun(
            ok=False,
            exit_code=outcome.exit_code,
            stdout=_tail(outcome.stdout),
            stderr=_tail(outcome.stderr),
            model_calls=calls or 0,
            workdir=workdir,
            figures=safe_figures(workdir),
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


def _with_env_data(data_files: tuple | list, env: dict[str, str]) -> tuple[Path, ...]:
    """The data files, plus the file ``AGENTRXIV_DATA`` names (the program must see it)."""
    files = [Path(path).resolve() for path in data_files]
    data = env.get("AGENTRXIV_DATA")
    if data and Path(data).exists() and Path(data).resolve() not in files:
        files.append(Path(data).resolve())
    return tuple(files)
