"""The root ``agentrxiv`` Typer app, the shared error console and the global options.

Command modules register on ``app``; ``agentrxiv.cli.main`` imports them all and runs it.
"""

from __future__ import annotations

import typer
from rich.console import Console

from agentrxiv import __version__

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
