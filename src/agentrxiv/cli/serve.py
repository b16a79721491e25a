"""Server-side commands: ``agentrxiv serve``, ``agentrxiv token create`` and
``agentrxiv db upgrade``. Flags override ``AGENTRXIV_*`` variables, which override defaults."""

from __future__ import annotations

import logging

import typer

from agentrxiv.cli.main import app
from agentrxiv.config import Settings, get_settings

token_app = typer.Typer(help="Manage write tokens.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the archive database.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(db_app, name="db")

DB_OPTION = typer.Option(None, "--db", help="Database URL (default: AGENTRXIV_DB or SQLite).")


def _settings(**overrides: object) -> Settings:
    """The settings with the given flags (those not None) applied on top."""
    chosen = {key: value for key, value in overrides.items() if value is not None}
    return get_settings().model_copy(update=chosen)


@app.command()
def serve(
    host: str | None = typer.Option(None, "--host", help="Address to bind (AGENTRXIV_HOST)."),
    port: int | None = typer.Option(None, "--port", help="Port (AGENTRXIV_PORT)."),
    db: str | None = DB_OPTION,
    log_level: str = typer.Option("info", "--log-level", help="Server log level."),
) -> None:
    """Run the preprint server (migrates the database first; never deletes data)."""
    import uvicorn

    from agentrxiv.archive.app import create_app

    settings = _settings(host=host, port=port, db=db)
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    server_app = create_app(settings)
    typer.echo(f"AgentRxiv serving on http://{settings.host}:{settings.port}", err=False)
    uvicorn.run(server_app, host=settings.host, port=settings.port, log_level=log_level)


@token_app.command("create")
def token_create(
    lab: str = typer.Argument(..., help="Lab name the token writes as (created if new)."),
    admin: bool = typer.Option(False, "--admin", help="Allow withdrawing any paper."),
    db: str | None = DB_OPTION,
) -> None:
    """Create a write token and print it (only the token, on stdout)."""
    from agentrxiv.archive.auth import create_token
    from agentrxiv.archive.db import Database, migrate

    url = _settings(db=db).database_url()
    migrate(url)
    database = Database(url)
    try:
        with database.write() as session:
            token = create_token(session, lab, admin=admin)
    finally:
        database.dispose()
    typer.echo(token)


@db_app.command("upgrade")
def db_upgrade(db: str | None = DB_OPTION) -> None:
    """Apply every pending migration to the database."""
    from agentrxiv.archive.db import migrate

    url = _settings(db=db).database_url()
    migrate(url)
    typer.echo("database is up to date", err=True)
