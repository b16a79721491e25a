"""Server-side commands: ``agentrxiv serve``, ``agentrxiv token create`` and
``agentrxiv db upgrade``. Flags override ``AGENTRXIV_*`` variables, which override defaults."""

from __future__ import annotations

import errno
import logging
import math
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from agentrxiv.cli.app import app
from agentrxiv.config import Settings, get_settings
from agentrxiv.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

token_app = typer.Typer(help="Manage write tokens.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the archive database.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(db_app, name="db")

DB_OPTION = typer.Option(None, "--db", help="Database URL (default: AGENTRXIV_DB or SQLite).")


def _settings(**overrides: object) -> Settings:
    """The settings with the given flags (those not None) applied on top."""
    chosen = {key: value for key, value in overrides.items() if value is not None}
    return get_settings().model_copy(update=chosen)


def check_port_free(host: str, port: int) -> None:
    """Refuse, with one clear line, to serve on an address something else already holds."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"cannot serve on {host}:{port}: {exc}") from exc
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # The same option uvicorn sets: a port left in TIME_WAIT is free, a listener is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = "the port is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise ConfigError(
                f"cannot serve on http://{host}:{port}: {reason}",
                hint="stop the other server or pick another --port",
            ) from exc


@app.command()
def serve(
    host: str | None = typer.Option(None, "--host", help="Address to bind (AGENTRXIV_HOST)."),
    port: int | None = typer.Option(None, "--port", help="Port (AGENTRXIV_PORT)."),
    db: str | None = DB_OPTION,
    log_level: str = typer.Option("info", "--log-level", help="Server log level."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, max=64, help="Worker processes (AGENTRXIV_WORKERS; default 1)."
    ),
) -> None:
    """Run the preprint server (migrates the database first; never deletes data)."""
    import uvicorn

    from agentrxiv.archive.app import create_app

    settings = _settings(host=host, port=port, db=db, workers=workers)
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    check_port_free(settings.host, settings.port)
    if settings.workers > 1:
        _serve_workers(settings, log_level)
        return
    server_app = create_app(settings)
    typer.echo(f"AgentRxiv serving on http://{settings.host}:{settings.port}", err=False)
    uvicorn.run(
        server_app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        timeout_keep_alive=keep_alive_seconds(settings),
    )


def keep_alive_seconds(settings: Settings) -> int:
    """How long an idle connection stays open. Must exceed clients' idle expiry (httpx: 5 s):
    with both at 5 s (uvicorn's default), the server closed connections at the moment clients
    reused them, and those requests failed with no answer (issue 18; tests/archive/test_load.py).
    uvicorn takes whole seconds; a fraction is rounded up."""
    return max(1, math.ceil(settings.keep_alive_timeout))


def _serve_workers(settings: Settings, log_level: str) -> None:
    """Several worker processes on one port: the database is migrated once, here, and each
    worker builds its app from the environment (flags are passed on as AGENTRXIV_*)."""
    import os

    import uvicorn

    from agentrxiv.archive.db import migrate

    migrate(settings.database_url())
    os.environ.update(
        AGENTRXIV_DB=settings.database_url(),
        AGENTRXIV_HOST=settings.host,
        AGENTRXIV_PORT=str(settings.port),
    )
    typer.echo(
        f"AgentRxiv serving on http://{settings.host}:{settings.port} ({settings.workers} workers)",
        err=False,
    )
    uvicorn.run(
        "agentrxiv.archive.app:worker_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=log_level,
        timeout_keep_alive=keep_alive_seconds(settings),
    )


@token_app.command("create")
def token_create(
    lab: str = typer.Argument(..., help="Lab name the token writes as (created if new)."),
    admin: bool = typer.Option(False, "--admin", help="Allow withdrawing any paper."),
    human: bool = typer.Option(
        False, "--human", help="A person's token: may post reviews with reviewer_kind human."
    ),
    expires_days: float | None = typer.Option(
        None, "--expires-days", help="Stop working after this many days (default: never)."
    ),
    owner: str | None = typer.Option(
        None,
        "--owner",
        help="Owner account (person or organisation) of a new lab; default: the lab's name. "
        "Limits count per owner; an owner's token may mint tokens for its own labs.",
    ),
    verifier: bool = typer.Option(
        False,
        "--verifier",
        help="The archive's own verifier: its verifications have standing 'archive'.",
    ),
    db: str | None = DB_OPTION,
) -> None:
    """Create a write token and print it (only the token, on stdout)."""
    from agentrxiv.archive.auth import create_token

    with _token_session(db) as session:
        token = create_token(
            session,
            lab,
            admin=admin,
            human=human,
            expires_days=expires_days,
            owner=owner,
            verifier=verifier,
        )
    typer.echo(token)


@contextmanager
def _token_session(db: str | None) -> Iterator[Session]:
    """A write transaction on the (migrated) database of ``--db``."""
    from agentrxiv.archive.db import Database, migrate

    url = _settings(db=db).database_url()
    migrate(url)
    database = Database(url)
    try:
        with database.write() as session:
            yield session
    finally:
        database.dispose()


@token_app.command("list")
def token_list(
    lab: str | None = typer.Option(None, "--lab", help="Only this lab's tokens."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines."),
    db: str | None = DB_OPTION,
) -> None:
    """List tokens: id, lab, owner, kind, scope, fingerprint, created, expiry and status
    (never secrets)."""
    import json

    from agentrxiv.archive.auth import list_tokens

    with _token_session(db) as session:
        tokens = list_tokens(session, lab)
    for info in tokens:
        expires = info.expires_at.strftime("%Y-%m-%d %H:%M") if info.expires_at else "never"
        if as_json:
            row = {**info.__dict__, "created_at": info.created_at.isoformat()}
            row["expires_at"] = info.expires_at.isoformat() if info.expires_at else None
            typer.echo(json.dumps(row))
        else:
            created = info.created_at.strftime("%Y-%m-%d %H:%M")
            typer.echo(
                f"{info.id:>5}  {info.lab:<24} owner {info.owner:<16} {info.kind:<6} "
                f"scope {info.scope:<16} {info.fingerprint}  "
                f"created {created}  expires {expires:<16}  {info.status}"
            )
    if not tokens and not as_json:
        typer.echo("no tokens", err=True)


@token_app.command("revoke")
def token_revoke(
    token: str = typer.Argument(..., help="The token's id (from 'token list') or the token."),
    db: str | None = DB_OPTION,
) -> None:
    """Revoke a token: it gets 401 from then on (it stays listed as revoked)."""
    from agentrxiv.archive.auth import revoke_token

    with _token_session(db) as session:
        info = revoke_token(session, token)
    typer.echo(f"revoked token {info.id} of lab {info.lab}", err=True)


@db_app.command("upgrade")
def db_upgrade(db: str | None = DB_OPTION) -> None:
    """Apply every pending migration to the database."""
    from agentrxiv.archive.db import migrate

    url = _settings(db=db).database_url()
    migrate(url)
    typer.echo("database is up to date", err=True)
