"""Database access: engines (SQLite tuned for concurrent writers, or PostgreSQL), read and
write sessions, and Alembic migrations run programmatically from the packaged scripts.

SQLite writes start with ``BEGIN IMMEDIATE`` so that concurrent writers queue on the
database lock (``busy_timeout``) instead of failing halfway with "database is locked"."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from agentrxiv.errors import ConfigError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 60_000
_BEGIN_OPTION = "agentrxiv_sqlite_begin"


def normalize_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given without a driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the sqlite3 module) emit BEGIN, so writes can say IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@dataclass(frozen=True)
class PoolSettings:
    """Connection pool of one server worker: ``size`` kept open, up to ``max_overflow`` more
    under load, and ``timeout`` seconds to wait for a free one (then a 503, never a 500)."""

    size: int = 10
    max_overflow: int = 20
    timeout: float = 10.0


def make_engine(url: str, pool: PoolSettings | None = None) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys."""
    pool = pool or PoolSettings()
    sizes: dict[str, Any] = {
        "pool_size": pool.size,
        "max_overflow": pool.max_overflow,
        "pool_timeout": pool.timeout,
    }
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a config error
        raise ConfigError(f"invalid database URL {url!r}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        in_memory = parsed.database in (None, "", ":memory:")
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, **({} if in_memory else sizes)
        )
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **sizes)


class Database:
    """An engine with its read and write session factories."""

    def __init__(self, url: str, pool: PoolSettings | None = None) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, pool)
        self.dialect = self.engine.dialect.name
        writer = self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        self._reads = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(writer, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; nothing it does is committed."""
        with self._reads() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: commits on success, rolls back on any exception."""
        with self._writes.begin() as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates '%'; URLs may contain percent-escapes.
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Autogenerate filter: ignore database objects the models do not declare (the search
    index's FTS tables, vectors and indexes), so it never proposes dropping anything."""
    return not (reflected and compare_to is None)


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision``; never drops data."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
    finally:
        engine.dispose()
    log.info("database %s is at revision %s", make_url(normalize_url(url)).database, revision)
