"""Per-token write limits: a rate limit on all writes, daily quotas for papers, versions and
reviews, and size limits for code files and PDFs.

Counters live in the ``token_usage`` table and are incremented inside the write's own
transaction (an ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` upsert), so every server
worker sees the same counts, a refused or failed write counts nothing, and concurrent
writes of one token never both take the last slot. A read-only pre-check runs before the
slow part of a submission (the embedding), so a token over its limit costs the server
almost nothing. Admin tokens and in-process principals (``token_id`` 0) are not limited.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from agentrxiv.archive.auth import Principal
from agentrxiv.archive.schemas import PaperCreate
from agentrxiv.archive.tables import TokenUsage, utcnow
from agentrxiv.config import Settings
from agentrxiv.errors import ArchiveError, PayloadTooLargeError

WriteKind = Literal["paper", "version", "review"]
RATE_BUCKET = "write"
SETTING_OF = {
    RATE_BUCKET: "AGENTRXIV_WRITES_PER_MINUTE",
    "paper": "AGENTRXIV_PAPERS_PER_DAY",
    "version": "AGENTRXIV_VERSIONS_PER_DAY",
    "review": "AGENTRXIV_REVIEWS_PER_DAY",
}


class TooManyRequestsError(ArchiveError):
    """A token went over its rate limit or daily quota (429 with ``Retry-After``)."""

    status = 429

    def __init__(self, message: str, retry_after: int, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.retry_after = max(1, retry_after)


@dataclass(frozen=True)
class WriteLimits:
    """The limits one server applies (0 means unlimited)."""

    writes_per_minute: int = 0
    per_day: dict[str, int] = field(default_factory=dict)
    max_code_bytes: int = 0
    max_pdf_bytes: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> WriteLimits:
        """The limits configured in ``settings``."""
        return cls(
            writes_per_minute=settings.writes_per_minute,
            per_day={
                "paper": settings.papers_per_day,
                "version": settings.versions_per_day,
                "review": settings.reviews_per_day,
            },
            max_code_bytes=settings.max_code_bytes,
            max_pdf_bytes=settings.max_pdf_bytes,
        )

    def windows(self, kind: WriteKind, now: datetime) -> list[tuple[str, str, int, int]]:
        """``(bucket, period, limit, seconds until it resets)`` of each limit that applies."""
        found = []
        if self.writes_per_minute > 0:
            minute = now.replace(second=0, microsecond=0)
            reset = math.ceil((minute + timedelta(minutes=1) - now).total_seconds())
            found.append(
                (RATE_BUCKET, minute.strftime("%Y-%m-%dT%H:%M"), self.writes_per_minute, reset)
            )
        daily = self.per_day.get(kind, 0)
        if daily > 0:
            midnight = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
            reset = math.ceil((midnight - now).total_seconds())
            found.append((kind, now.strftime("%Y-%m-%d"), daily, reset))
        return found


def _exempt(principal: Principal) -> bool:
    return principal.is_admin or not principal.token_id


def _refusal(bucket: str, limit: int, reset: int) -> TooManyRequestsError:
    if bucket == RATE_BUCKET:
        message = f"rate limit: this token may make {limit} writes a minute; retry in {reset} s"
    else:
        message = (
            f"daily quota: this token may post {limit} {bucket}s a day (UTC); "
            f"it resets in {reset} s"
        )
    return TooManyRequestsError(
        message, retry_after=reset, hint=f"the server's operator sets {SETTING_OF[bucket]}"
    )


def precheck(session: Session, principal: Principal, kind: WriteKind, limits: WriteLimits) -> None:
    """429 if ``principal`` is already at a limit (read-only; ``consume`` decides)."""
    if _exempt(principal):
        return
    for bucket, period, limit, reset in limits.windows(kind, utcnow()):
        used = session.scalar(
            select(TokenUsage.count).where(
                TokenUsage.token_id == principal.token_id,
                TokenUsage.bucket == bucket,
                TokenUsage.period == period,
            )
        )
        if (used or 0) >= limit:
            raise _refusal(bucket, limit, reset)


def _increment(session: Session, token_id: int, bucket: str, period: str) -> int:
    """Add one to a counter row (created at 1) and return the new count, atomically."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = TokenUsage.__table__
    statement = (
        insert(table)
        .values(token_id=token_id, bucket=bucket, period=period, count=1)
        .on_conflict_do_update(
            index_elements=["token_id", "bucket", "period"], set_={"count": table.c.count + 1}
        )
        .returning(table.c.count)
    )
    return int(session.execute(statement).scalar_one())


def consume(session: Session, principal: Principal, kind: WriteKind, limits: WriteLimits) -> None:
    """Count one write of ``kind`` inside the write transaction; 429 (rolling it back) when
    that goes over a limit. The first write of a new minute or day drops the old counters."""
    if _exempt(principal):
        return
    for bucket, period, limit, reset in limits.windows(kind, utcnow()):
        count = _increment(session, principal.token_id, bucket, period)
        if count == 1:
            session.execute(
                delete(TokenUsage).where(
                    TokenUsage.token_id == principal.token_id,
                    TokenUsage.bucket == bucket,
                    TokenUsage.period != period,
                )
            )
        if count > limit:
            raise _refusal(bucket, limit, reset)


def check_sizes(data: PaperCreate, limits: WriteLimits) -> None:
    """413 when the code files or the PDF are over their size limits."""
    if limits.max_code_bytes > 0:
        size = sum(len(p.encode()) + len(c.encode()) for p, c in data.code_files.items())
        if size > limits.max_code_bytes:
            raise PayloadTooLargeError(
                f"code_files hold {size} bytes, over the limit of {limits.max_code_bytes} bytes",
                hint="the server's operator sets AGENTRXIV_MAX_CODE_BYTES",
            )
    if limits.max_pdf_bytes > 0 and data.pdf_base64:
        encoded = data.pdf_base64.rstrip("=")
        size = len(encoded) * 3 // 4
        if size > limits.max_pdf_bytes:
            raise PayloadTooLargeError(
                f"the PDF has {size} bytes, over the limit of {limits.max_pdf_bytes} bytes",
                hint="the server's operator sets AGENTRXIV_MAX_PDF_BYTES",
            )
