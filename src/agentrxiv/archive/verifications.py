"""Verification records on the server: storing them (the verifier is the posting token's lab;
a lab verifying its own paper is stored as ``self_verification`` and never counts as
independent), listing them, and what the rest of the archive shows from them: a paper's
headline verification (claimed vs verified), lineage warnings for descendants of a paper
whose claim was not reproduced or whose technique failed, and verified leaderboard columns.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentrxiv.archive.auth import Principal
from agentrxiv.archive.db import Database
from agentrxiv.archive.ids import parse_ref
from agentrxiv.archive.schemas import (
    Leaderboard,
    LeaderboardEntry,
    LineageWarning,
    PaperSummary,
    VerificationCreate,
    VerificationPublic,
)
from agentrxiv.archive.submission import check_storable_text
from agentrxiv.archive.tables import Lab, Paper, PaperVersion, Result, Verification, utcnow
from agentrxiv.errors import ArchiveError, ConflictError, NotFoundError

log = logging.getLogger(__name__)

BAD_STATUSES = ("not reproduced", "failed")
MAX_DETAILS_CHARS = 200_000
RankBy = Literal["verified", "claimed"]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def to_public(row: Verification) -> VerificationPublic:
    """The API form of a stored verification."""
    record = dict(row.record or {})
    record.update(version=row.version, status=row.status, kind=row.kind)
    return VerificationPublic(
        **record,
        id=row.id,
        paper_id=row.paper_id,
        verifier=row.verifier.name,
        self_verification=row.self_verification,
        created_at=_aware(row.created_at),
    )


def _check_details(data: VerificationCreate) -> None:
    check_storable_text(data.model_dump(mode="json"))
    if len(str(data.details)) > MAX_DETAILS_CHARS:
        raise ArchiveError(f"details are larger than {MAX_DETAILS_CHARS} characters", status=413)


def create_verification(
    db: Database, principal: Principal, ref: str, data: VerificationCreate
) -> VerificationPublic:
    """Store a verification of a version of a paper (default: the latest)."""
    paper_id, ref_version = parse_ref(ref)
    _check_details(data)
    with db.write() as session:
        paper = session.get(Paper, paper_id)
        if paper is None:
            raise NotFoundError(f"no paper {paper_id}")
        if paper.withdrawn:
            raise ConflictError(f"paper {paper_id} is withdrawn; it takes no verifications")
        number = data.version or ref_version or paper.latest_version
        exists = session.scalar(
            select(PaperVersion.id).where(
                PaperVersion.paper_id == paper_id, PaperVersion.version == number
            )
        )
        if exists is None:
            raise NotFoundError(f"paper {paper_id} has no version {number}")
        row = Verification(
            paper_id=paper_id,
            version=number,
            verifier_lab_id=principal.lab_id,
            self_verification=paper.lab_id == principal.lab_id,
            kind=data.kind,
            benchmark=data.benchmark,
            split=data.split,
            model=data.model,
            status=data.status,
            value=data.value,
            n=data.n,
            content_hash=data.content_hash,
            record=data.model_dump(mode="json"),
            created_at=utcnow(),
        )
        row.verifier = session.get_one(Lab, principal.lab_id)
        session.add(row)
        session.flush()
        public = to_public(row)
    log.info("verification of %sv%d by %s: %s", paper_id, number, principal.lab_name, data.status)
    return public


def list_verifications(session: Session, ref: str) -> list[VerificationPublic]:
    """Every verification of a paper, oldest first."""
    paper_id, _ = parse_ref(ref)
    if session.get(Paper, paper_id) is None:
        raise NotFoundError(f"no paper {paper_id}")
    rows = session.scalars(
        select(Verification)
        .where(Verification.paper_id == paper_id)
        .order_by(Verification.created_at, Verification.id)
    ).all()
    return [to_public(row) for row in rows]


# ---------------------------------------------------------------- what pages and lists show


def headlines(
    session: Session, paper_ids: Iterable[str], benchmark: str | None = None
) -> dict[str, Verification]:
    """Per paper: its latest independent ``claim`` verification (or on ``benchmark``, any
    kind). Self-verifications never count."""
    ids = list(dict.fromkeys(paper_ids))
    if not ids:
        return {}
    query = select(Verification).where(
        Verification.paper_id.in_(ids), Verification.self_verification.is_(False)
    )
    if benchmark is None:
        query = query.where(Verification.kind == "claim")
    else:
        query = query.where(Verification.benchmark == benchmark)
    latest: dict[str, Verification] = {}
    for row in session.scalars(query.order_by(Verification.created_at, Verification.id)):
        latest[row.paper_id] = row  # later rows replace earlier ones
    return latest


def _claimed(session: Session, paper_ids: Sequence[str]) -> dict[str, float]:
    """The first reported result of each paper's latest version (its headline claim)."""
    rows = session.execute(
        select(PaperVersion.paper_id, Result.value, Result.metric)
        .join(Result, Result.version_id == PaperVersion.id)
        .where(PaperVersion.is_latest.is_(True), PaperVersion.paper_id.in_(list(paper_ids)))
        .order_by(Result.id)
    ).all()
    claimed: dict[str, float] = {}
    for paper_id, value, metric in rows:
        if metric.lower() == "accuracy":  # the headline number, as the verifier reads it
            claimed.setdefault(paper_id, value)
    for paper_id, value, metric in rows:
        if not metric.lower().startswith("baseline"):
            claimed.setdefault(paper_id, value)
    return claimed


def annotate_summaries(session: Session, items: Sequence[PaperSummary]) -> None:
    """Fill the claimed/verified fields of listing or search entries in place."""
    ids = [item.id for item in items]
    if not ids:
        return
    found = headlines(session, ids)
    claimed = _claimed(session, ids)
    for item in items:
        item.claimed_value = claimed.get(item.id)
        row = found.get(item.id)
        if row is not None:
            item.verified_value = row.value
            item.verification_status = row.status
            if row.record.get("claimed_value") is not None:
                item.claimed_value = row.record["claimed_value"]


def lineage_warnings(session: Session, ancestor_ids: Sequence[str]) -> list[LineageWarning]:
    """Warnings for the ancestors whose claim was not reproduced or whose technique failed."""
    found = headlines(session, ancestor_ids)
    bad = {pid: row for pid, row in found.items() if row.status in BAD_STATUSES}
    if not bad:
        return []
    titles = dict(
        session.execute(
            select(PaperVersion.paper_id, PaperVersion.title).where(
                PaperVersion.is_latest.is_(True), PaperVersion.paper_id.in_(list(bad))
            )
        ).all()
    )
    warnings = []
    for pid in ancestor_ids:
        row = bad.get(pid)
        if row is None:
            continue
        title = titles.get(pid, "")
        what = (
            "its claimed result was not reproduced"
            if row.status == "not reproduced"
            else "its technique failed to run"
        )
        message = (
            f"builds on {pid} ('{title}'): {what} by {row.verifier.name} on {row.benchmark} "
            f"{row.split} (verified {_pct(row.value)} vs claimed "
            f"{_pct(row.record.get('claimed_value'))})"
        )
        warnings.append(
            LineageWarning(
                ancestor_id=pid, ancestor_title=title, status=row.status, message=message
            )
        )
    return warnings


def _pct(value: object) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) else "n/a"


def _fill_entry(entry: LeaderboardEntry, row: Verification) -> None:
    record = row.record or {}
    entry.verified_value = row.value
    entry.verified_low = record.get("ci_low")
    entry.verified_high = record.get("ci_high")
    entry.delta = record.get("delta")
    entry.delta_low = record.get("delta_low")
    entry.delta_high = record.get("delta_high")
    entry.verified_n = row.n
    entry.verified_model = row.model
    cost = record.get("cost_usd")
    entry.cost_per_problem = cost / row.n if isinstance(cost, int | float) and row.n else None
    entry.verification_status = row.status


def annotate_leaderboard(session: Session, board: Leaderboard, rank_by: RankBy) -> Leaderboard:
    """Add verified columns to each entry and rank by the verified value (default): verified
    entries first, highest verified value first; unverified ones after, by claimed value."""
    found = headlines(session, [e.paper_id for e in board.entries], benchmark=board.benchmark)
    for entry in board.entries:
        entry.claimed_value = entry.value
        row = found.get(entry.paper_id)
        if row is not None and row.split == "test":
            _fill_entry(entry, row)
    if rank_by == "verified":

        def key(e: LeaderboardEntry) -> tuple[int, float, float, float]:
            verified = e.verified_value if e.verification_status != "failed" else None
            return (
                0 if verified is not None else 1,
                -(verified if verified is not None else 0.0),
                -e.value,
                -e.created_at.timestamp(),
            )

        board.entries.sort(key=key)
    return board
