"""Entry point: assembles the command groups and turns domain errors into one-line messages.

Each domain registers its commands in its own module (``serve``, ``client``, ``bench``,
``lab``); ``run()`` is the console script.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from agentrxiv import __version__
from agentrxiv.errors import AgentrxivError

app = typer.Typer(
    name="agentrxiv",
    help="AgentRxiv: a preprint server and agent laboratory for cumulative research.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True)
_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def main(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """AgentRxiv command line."""
    _state["debug"] = debug


def _register_commands() -> None:
    # Imported here so each module can import ``app`` from this one.
    from agentrxiv.cli import (  # noqa: F401
        bench,
        campaign,
        client,
        doctor,
        lab,
        sandbox,
        serve,
        verify,
    )


def run() -> None:
    """Console-script entry: one line per error, exit 1; tracebacks only with ``--debug``."""
    _register_commands()
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
    # Run the importable module's ``run``: command modules register on
    # ``agentrxiv.cli.main.app``, not on this ``__main__`` copy.
    from agentrxiv.cli.main import run as _run

    _run()
