"""Entry point: assembles the command groups and turns domain errors into one-line messages.

Each domain registers its commands on ``agentrxiv.cli.app.app`` in its own module
(``serve``, ``client``, ``bench``, ``lab``, ...); importing them here assembles the command
line, and ``run()`` is the console script.
"""

from __future__ import annotations

import sys

import typer

from agentrxiv.cli import (  # noqa: F401 - importing a command module registers its commands
    bench,
    campaign,
    client,
    doctor,
    lab,
    sandbox,
    serve,
    verifier,
    verify,
)
from agentrxiv.cli.app import app, err_console
from agentrxiv.errors import AgentrxivError

__all__ = ["app", "run"]


def run() -> None:
    """Console-script entry: one line per error, exit 1; tracebacks only with ``--debug``."""
    debug = "--debug" in sys.argv[1:]
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:  # click returns typer.Exit(N)'s code here
            sys.exit(code)
    except AgentrxivError as exc:
        if debug:
            raise
        err_console.print(f"[red]Error:[/red] {exc.message}", highlight=False, soft_wrap=True)
        if exc.hint:
            err_console.print(f"  hint: {exc.hint}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("Aborted.")
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("Interrupted.")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for the CLI
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if debug:
            raise
        err_console.print(
            f"[red]Error:[/red] {type(exc).__name__}: {exc} (run with --debug for a traceback)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    run()
