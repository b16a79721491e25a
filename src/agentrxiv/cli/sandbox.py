"""``agentrxiv sandbox run FILE.py``: run one Python file under exactly the sandbox the lab
uses for generated code, to check a machine or to try an escape by hand.

The program's stdout and stderr are printed as captured (to stdout and stderr), then one
line on stderr with the exit status, the limit that stopped it (if any) and the boundary.
The command's exit code is the program's (128 + N when signal N ended it)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import typer

from agentrxiv.cli.app import app
from agentrxiv.errors import ConfigError

sandbox_app = typer.Typer(help="Run Python files in the lab's sandbox.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")


def _program_in(workdir: Path, file: Path) -> Path:
    """The program's path inside the working directory (copied there when outside it)."""
    source = file.expanduser().resolve()
    if not source.is_file():
        raise ConfigError(f"no such Python file: {file}")
    if workdir in source.parents:
        return source
    from agentrxiv.lab.sandbox import write_new_file

    target = workdir / source.name
    write_new_file(target, source.read_text(encoding="utf-8"))
    return target


@sandbox_app.command("run")
def sandbox_run(
    file: Path = typer.Argument(..., help="The Python file to run."),
    workdir: Path | None = typer.Option(
        None, "--workdir", help="Writable working directory (default: a new temporary one)."
    ),
    data: list[Path] = typer.Option(
        [], "--data", help="Read-only data file visible inside (repeatable; AGENTRXIV_DATA)."
    ),
    wall_s: float | None = typer.Option(None, "--wall-s", help="Wall-clock limit, seconds."),
    memory_mb: int | None = typer.Option(None, "--memory-mb", help="Memory limit, MB."),
    cpu_s: float | None = typer.Option(None, "--cpu-s", help="CPU-time limit, seconds."),
    unsafe_sandbox: bool = typer.Option(
        False, "--unsafe-sandbox", help="Without the bwrap boundary (audit hook only)."
    ),
) -> None:
    """Run FILE under the lab's sandbox; print its output, exit status and stopping limit."""
    from agentrxiv.lab.config import SandboxConfig
    from agentrxiv.lab.sandbox import UNSAFE_WARNING, SandboxLimits, SubprocessSandbox

    lab = SandboxConfig()
    limits = SandboxLimits(
        cpu_s=cpu_s or lab.cpu_s,
        memory_mb=memory_mb or lab.memory_mb,
        wall_s=wall_s or lab.wall_s,
        output_bytes=lab.output_bytes,
    )
    root = (workdir or Path(tempfile.mkdtemp(prefix="agentrxiv-sandbox-"))).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    if unsafe_sandbox:
        typer.echo(f"WARNING: {UNSAFE_WARNING}", err=True)
    files = [path.expanduser().resolve() for path in data]
    box = SubprocessSandbox(root, limits, data_files=files, unsafe=unsafe_sandbox)
    program = _program_in(box.workdir, file)
    env = {"AGENTRXIV_DATA": str(files[0])} if files else {}
    result = box.run_python(program, env_extra=env)
    sys.stdout.write(result.stdout)
    sys.stdout.flush()
    sys.stderr.write(result.stderr)
    code = result.exit_code if result.exit_code >= 0 else 128 - result.exit_code
    stopped = result.killed_by or "nothing"
    typer.echo(
        f"sandbox: exit status {result.exit_code}, stopped by: {stopped} "
        f"({result.isolation}; {result.wall_s:.2f} s wall, {result.cpu_s:.2f} s CPU; "
        f"workdir {box.workdir})",
        err=True,
    )
    sys.exit(code)  # not typer.Exit: the entry point runs Click in non-standalone mode
