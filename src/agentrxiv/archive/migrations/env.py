"""Alembic environment: migrates the connection handed over by ``db.migrate`` (or one made
from ``sqlalchemy.url``). Autogenerate compares only tables the models declare, so the
search index's own tables (FTS5 virtual tables and their shadows) are left alone."""

from __future__ import annotations

from typing import Any

from alembic import context

from agentrxiv.archive.db import include_object, make_engine
from agentrxiv.archive.tables import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on the given connection, or on a new engine from the URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
