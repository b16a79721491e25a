"""The engine of ``agentrxiv sandbox run FILE.py``: run one Python file under exactly the
sandbox the lab uses for generated code (same boundary, the lab config's default limits, no
model socket), to check a machine or to try an escape by hand."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agentrxiv.errors import ConfigError
from agentrxiv.sandbox.files import write_new_file
from agentrxiv.sandbox.limits import SandboxConfig, SandboxLimits, SandboxResult
from agentrxiv.sandbox.subprocess_sandbox import SubprocessSandbox


@dataclass
class FileRun:
    """One file's run: what the sandbox reported, and the working directory it used."""

    result: SandboxResult
    workdir: Path

    @property
    def exit_status(self) -> int:
        """The program's exit code, as a shell reports it (128 + N when signal N ended it)."""
        code = self.result.exit_code
        return code if code >= 0 else 128 - code

    def summary(self) -> str:
        """One line: exit status, the limit that stopped it, the boundary, times, workdir."""
        result = self.result
        return (
            f"sandbox: exit status {result.exit_code}, stopped by: {result.killed_by or 'nothing'} "
            f"({result.isolation}; {result.wall_s:.2f} s wall, {result.cpu_s:.2f} s CPU; "
            f"workdir {self.workdir})"
        )


def run_file(
    file: Path,
    *,
    workdir: Path | None = None,
    data_files: Sequence[Path] = (),
    wall_s: float | None = None,
    memory_mb: int | None = None,
    cpu_s: float | None = None,
    unsafe: bool = False,
) -> FileRun:
    """Run ``file`` in ``workdir`` (a new temporary directory by default).

    Limits not given are the lab config's defaults. ``data_files`` are mounted read-only and
    ``AGENTRXIV_DATA`` names the first. A file outside the working directory is copied in."""
    defaults = SandboxConfig()
    limits = SandboxLimits(
        cpu_s=cpu_s or defaults.cpu_s,
        memory_mb=memory_mb or defaults.memory_mb,
        wall_s=wall_s or defaults.wall_s,
        output_bytes=defaults.output_bytes,
    )
    root = (workdir or Path(tempfile.mkdtemp(prefix="agentrxiv-sandbox-"))).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    files = [path.expanduser().resolve() for path in data_files]
    box = SubprocessSandbox(root, limits, data_files=files, unsafe=unsafe)
    program = _program_in(box.workdir, file)
    env = {"AGENTRXIV_DATA": str(files[0])} if files else {}
    return FileRun(box.run_python(program, env_extra=env), box.workdir)


def _program_in(workdir: Path, file: Path) -> Path:
    """The program's path inside the working directory (copied there when outside it)."""
    source = file.expanduser().resolve()
    if not source.is_file():
        raise ConfigError(f"no such Python file: {file}")
    if workdir in source.parents:
        return source
    target = workdir / source.name
    write_new_file(target, source.read_text(encoding="utf-8"))
    return target
