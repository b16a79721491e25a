"""A small adapter around ``agentrxiv.verify.verify_paper`` (held-out verification).

When the verification package is not importable, verification is skipped and the record
says so (``verified: null``) instead of failing the campaign."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)
VALUE_FIELDS = ("verified_value", "value", "accuracy", "test_value")


def _value(record: Any) -> float | None:
    for name in VALUE_FIELDS:
        value = getattr(record, name, None)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def verify(
    server: str,
    token: str | None,
    paper_id: str,
    *,
    model_spec: str | None,
    limit: int | None,
) -> tuple[float | None, str, int | None]:
    """The paper's value on the test split, a status line and the number of problems
    (value ``None`` when unverified)."""
    try:
        from agentrxiv.verify import verify_paper
    except ImportError as exc:
        return None, f"skipped: verification not available ({exc})", None
    from agentrxiv.archive.client import ArchiveClient

    try:
        with ArchiveClient(server, token=token) as client:
            record = verify_paper(
                client, paper_id, model_spec=model_spec, split="test", limit=limit, post=True
            )
    except Exception as exc:  # noqa: BLE001 - a failed verification is data, not an abort
        log.warning("verification of %s failed: %s", paper_id, exc)
        return None, f"failed: {type(exc).__name__}: {str(exc)[:300]}", None
    status = str(getattr(record, "status", "done"))
    n = getattr(record, "n", None)
    return _value(record), status, n if isinstance(n, int) else None
