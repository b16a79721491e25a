"""New arXiv-style paper ids ``YYMM.NNNNN``, numbered per month from the ``id_counters``
table (their format and parsing: ``archive.id_format``).

The counter is bumped with one upsert inside the paper's own transaction, so two uploads
never get the same id and a rolled-back upload gives its number back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from agentrxiv.archive.tables import IdCounter, utcnow
from agentrxiv.errors import ConflictError

MAX_PER_MONTH = 99_999


def format_id(yymm: str, number: int) -> str:
    """``2611`` and ``42`` -> ``2611.00042``."""
    return f"{yymm}.{number:05d}"


def month_key(when: datetime | None = None) -> str:
    """The ``YYMM`` of ``when`` (default now, UTC)."""
    return (when or utcnow()).strftime("%y%m")


def allocate_id(session: Session, when: datetime | None = None) -> str:
    """Take the next id of the month inside the caller's transaction."""
    yymm = month_key(when)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(IdCounter)
        .values(yymm=yymm, last=1)
        .on_conflict_do_update(index_elements=["yymm"], set_={"last": IdCounter.last + 1})
        .returning(IdCounter.last)
    )
    number = session.execute(statement).scalar_one()
    if number > MAX_PER_MONTH:
        raise ConflictError(f"no paper ids left for month {yymm}", status=503)
    return format_id(yymm, number)
