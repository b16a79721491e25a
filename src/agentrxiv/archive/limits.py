"""Per-owner write limits: a rate limit on all writes (and token minting), daily quotas for
papers, versions, reviews, verifications, insights, campaigns, campaign updates and minted
tokens, a per-minute limit on costly reads (semantic/hybrid search, novelty checks) per
owner or, without a token, per client address, and size limits for code files and PDFs.

Counters live in the ``usage_counters`` table, keyed by a subject: ``owner:<id>`` (so every
token and lab of an owner shares one count, and minting a new token resets nothing) or
``client:<address>``. They are incremented inside the write's own transaction (an
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` upsert), so every server worker sees the
same counts, a refused or failed write counts nothing, and concurrent writes never both take
the last slot. A read-only pre-check runs before the slow part of a submission (the
embedding), so an owner over its limit costs the server almost nothing. Admin tokens and
in-process principals (``token_id`` 0) are not limited.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from agentrxiv.archive.auth import Principal
from agentrxiv.archive.schemas import PaperCreate
from agentrxiv.archive.tables import UsageCounter, utcnow
from agentrxiv.config import Settings
from agentrxiv.errors import ArchiveError, PayloadTooLargeError

WriteKind = Literal[
    "paper",
    "version",
    "review",
    "verification",
    "insight",
    "campaign",
    "campaign_update",
    "token",
]
RATE_BUCKET = "write"
COSTLY_READ_BUCKET = "costly_read"
SETTING_OF = {
    RATE_BUCKET: "AGENTRXIV_WRITES_PER_MINUTE",
    COSTLY_READ_BUCKET: "AGENTRXIV_COSTLY_READS_PER_MINUTE",
    "paper": "AGENTRXIV_PAPERS_PER_DAY",
    "version": "AGENTRXIV_VERSIONS_PER_DAY",
    "review": "AGENTRXIV_REVIEWS_PER_DAY",
    "verification": "AGENTRXIV_VERIFICATIONS_PER_DAY",
    "insight": "AGENTRXIV_INSIGHTS_PER_DAY",
    "campaign": "AGENTRXIV_CAMPAIGNS_PER_DAY",
    "campaign_update": "AGENTRXIV_CAMPAIGN_UPDATES_PER_DAY",
    "token": "AGENTRXIV_TOKENS_PER_DAY",
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
    costly_reads_per_minute: int = 0
    per_day: dict[str, int] = field(default_factory=dict)
    max_code_bytes: int = 0
    max_pdf_bytes: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> WriteLimits:
        """The limits configured in ``settings``."""
        return cls(
            writes_per_minute=settings.writes_per_minute,
            costly_reads_per_minute=settings.costly_reads_per_minute,
            per_day={
                "paper": settings.papers_per_day,
                "version": settings.versions_per_day,
                "review": settings.reviews_per_day,
                "verification": settings.verifications_per_day,
                "insight": settings.insights_per_day,
                "campaign": settings.campaigns_per_day,
                "campaign_update": settings.campaign_updates_per_day,
                "token": settings.tokens_per_day,
            },
            max_code_bytes=settings.max_code_bytes,
            max_pdf_bytes=settings.max_pdf_bytes,
        )

    def windows(self, kind: str, now: datetime) -> list[tuple[str, str, int, int]]:
        """``(bucket, period, limit, seconds until it resets)`` of each limit that applies."""
        found = []
        per_minute = (
            self.costly_reads_per_minute if kind == COSTLY_READ_BUCKET else self.writes_per_minute
        )
        if per_minute > 0:
            bucket = COSTLY_READ_BUCKET if kind == COSTLY_READ_BUCKET else RATE_BUCKET
            minute = now.replace(second=0, microsecond=0)
            reset = math.ceil((minute + timedelta(minutes=1) - now).total_seconds())
            found.append((bucket, minute.strftime("%Y-%m-%dT%H:%M"), per_minute, reset))
        daily = self.per_day.get(kind, 0)
        if daily > 0:
            midnight = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
            reset = math.ceil((midnight - now).total_seconds())
            found.append((kind, now.strftime("%Y-%m-%d"), daily, reset))
        return found


def _exempt(principal: Principal) -> bool:
    return principal.is_admin or not principal.token_id


def subject_of(principal: Principal) -> str:
    """The counter key of ``principal``: its owner (its token for pre-owner rows)."""
    if principal.owner_id:
        return f"owner:{principal.owner_id}"
    return f"token:{principal.token_id}"


def _refusal(bucket: str, limit: int, reset: int, who: str) -> TooManyRequestsError:
    if bucket == RATE_BUCKET:
        message = f"rate limit: {who} may make {limit} writes a minute; retry in {reset} s"
    elif bucket == COSTLY_READ_BUCKET:
        message = (
            f"rate limit: {who} may make {limit} semantic/hybrid searches or novelty checks "
            f"a minute; retry in {reset} s"
        )
    else:
        message = (
            f"daily quota: {who} may make {limit} {bucket.replace('_', ' ')}s a day (UTC); "
            f"it resets in {reset} s"
        )
    return TooManyRequestsError(
        message, retry_after=reset, hint=f"the server's operator sets {SETTING_OF[bucket]}"
    )


def _who(principal: Principal) -> str:
    return f"owner {principal.owner_name}" if principal.owner_name else "this token"


def precheck(session: Session, principal: Principal, kind: WriteKind, limits: WriteLimits) -> None:
    """429 if ``principal``'s owner is already at a limit (read-only; ``consume`` decides)."""
    if _exempt(principal):
        return
    subject = subject_of(principal)
    for bucket, period, limit, reset in limits.windows(kind, utcnow()):
        used = session.scalar(
            select(UsageCounter.count).where(
                UsageCounter.subject == subject,
                UsageCounter.bucket == bucket,
                UsageCounter.period == period,
            )
        )
        if (used or 0) >= limit:
            raise _refusal(bucket, limit, reset, _who(principal))


def _increment(session: Session, subject: str, bucket: str, period: str) -> int:
    """Add one to a counter row (created at 1) and return the new count, atomically."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = UsageCounter.__table__
    statement = (
        insert(table)
        .values(subject=subject, bucket=bucket, period=period, count=1)
        .on_conflict_do_update(
            index_elements=["subject", "bucket", "period"], set_={"count": table.c.count + 1}
        )
        .returning(table.c.count)
    )
    return int(session.execute(statement).scalar_one())


def count_use(session: Session, subject: str, kind: str, limits: WriteLimits, who: str) -> None:
    """Count one use of ``kind`` by ``subject``; 429 (the caller rolls back) when that goes
    over a limit. The first use of a new minute or day drops the subject's old counters."""
    for bucket, period, limit, reset in limits.windows(kind, utcnow()):
        count = _increment(session, subject, bucket, period)
        if count == 1:
            session.execute(
                delete(UsageCounter).where(
                    UsageCounter.subject == subject,
                    UsageCounter.bucket == bucket,
                    UsageCounter.period != period,
                )
            )
        if count > limit:
            raise _refusal(bucket, limit, reset, who)


def consume(session: Session, principal: Principal, kind: WriteKind, limits: WriteLimits) -> None:
    """Count one write of ``kind`` by ``principal``'s owner inside the write transaction."""
    if not _exempt(principal):
        count_use(session, subject_of(principal), kind, limits, _who(principal))


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
