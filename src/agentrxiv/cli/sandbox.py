"""``agentrxiv sandbox run FILE.py``: run one Python file under exactly the sandbox the lab
uses for generated code, to check a machine or to try an escape by hand.

The program's stdout and stderr are printed as captured (to stdout and stderr), then one
line on stderr with the exit status, the limit that stopped it (if any) and the boundary.
The command's exit code is the program's (128 + N when signal N ended it)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from agentrxiv.cli.app import app

sandbox_app = typer.Typer(help="Run Python files in the lab's sandbox.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")


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
    from agentrxiv.sandbox import UNSAFE_WARNING, run_file

    if unsafe_sandbox:
        typer.echo(f"WARNING: {UNSAFE_WARNING}", err=True)
    run = run_file(
        file,
        workdir=workdir,
        data_files=data,
        wall_s=wall_s,
        memory_mb=memory_mb,
        cpu_s=cpu_s,
        unsafe=unsafe_sandbox,
    )
    sys.stdout.write(run.result.stdout)
    sys.stdout.flush()
    sys.stderr.write(run.result.stderr)
    typer.echo(run.summary(), err=True)
    sys.exit(run.exit_status)  # not typer.Exit: the entry point runs Click in non-standalone mode
