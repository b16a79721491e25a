"""Idempotent writes: a write sent with an ``Idempotency-Key`` is stored once per lab and key.

The first request with a key claims it (a row in ``idempotency_records`` with the digest of
its body) before the write runs, so concurrent retries on any server worker cannot both
write. A retry with the same body gets the first response again (status 200); the same key
with a different body is a 409, never a silent replay of something else; a retry that
arrives while the first is still running is a 409 to retry later. A failed write gives the
key back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Header, Response
from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from agentrxiv.archive.auth import Principal
from agentrxiv.archive.db import Database
from agentrxiv.archive.tables import IdempotencyRecord
from agentrxiv.errors import ArchiveError, ConflictError

T = TypeVar("T")
MAX_KEY_CHARS = 200
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=MAX_KEY_CHARS,
        description="Retry-safe key: the same key and body returns the first result (200); "
        "the same key with another body is a 409.",
    ),
]


def body_digest(payload: Any) -> str:
    """SHA-256 of a request body's canonical JSON (key order does not matter)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_key(key: str) -> str:
    """422 for an empty or over-long key."""
    key = key.strip()
    if not key or len(key) > MAX_KEY_CHARS:
        raise ArchiveError(f"an idempotency key has 1 to {MAX_KEY_CHARS} characters", status=422)
    return key


def _existing(db: Database, lab_id: int, kind: str, key: str) -> tuple[str, int | None, Any]:
    with db.read() as session:
        row = session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.lab_id == lab_id,
                IdempotencyRecord.kind == kind,
                IdempotencyRecord.key == key,
            )
        )
        if row is None:  # given back by a failed write meanwhile
            raise ConflictError(f"idempotency key {key!r} is being reused; retry")
        return row.digest, row.status, row.response


def claim(db: Database, principal: Principal, kind: str, key: str, digest: str) -> Any | None:
    """Claim ``key`` for this write (``None``: go ahead), or the stored response of the
    earlier write with the same body. 409 for another body or a write still running."""
    try:
        with db.write() as session:
            session.add(
                IdempotencyRecord(lab_id=principal.lab_id, kind=kind, key=key, digest=digest)
            )
            session.flush()
        return None
    except IntegrityError:
        stored_digest, status, response = _existing(db, principal.lab_id, kind, key)
    if stored_digest != digest:
        raise ConflictError(
            f"idempotency key {key!r} was already used with a different {kind}",
            hint="a key names one write; use a new key for a different body",
        )
    if status is None:
        raise ConflictError(f"the {kind} with idempotency key {key!r} is still being written")
    return response if response is not None else {}


def _finish(db: Database, principal: Principal, kind: str, key: str, response: Any) -> None:
    with db.write() as session:
        row = session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.lab_id == principal.lab_id,
                IdempotencyRecord.kind == kind,
                IdempotencyRecord.key == key,
            )
        )
        if row is not None:
            row.status, row.response = 201, response


def release(db: Database, principal: Principal, kind: str, key: str) -> None:
    """Give a claimed key back (its write failed), so a retry may run it."""
    with db.write() as session:
        session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.lab_id == principal.lab_id,
                IdempotencyRecord.kind == kind,
                IdempotencyRecord.key == key,
                IdempotencyRecord.status.is_(None),
            )
        )


def run_once(
    db: Database,
    principal: Principal,
    kind: str,
    key: str | None,
    body: BaseModel | dict[str, Any],
    response: Response,
    create: Callable[[], T],
    replay: Callable[[Any], T],
    stored: Callable[[T], Any] = lambda result: None,
) -> T:
    """``create()`` once per (lab, kind, key); a same-body retry gets ``replay(stored)`` with
    status 200. Without a key it just runs ``create()``."""
    if not key:
        return create()
    key = check_key(key)
    payload = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    previous = claim(db, principal, kind, key, body_digest(payload))
    if previous is not None:
        response.status_code = 200
        return replay(previous)
    try:
        result = create()
    except BaseException:
        release(db, principal, kind, key)
        raise
    _finish(db, principal, kind, key, stored(result))
    return result
