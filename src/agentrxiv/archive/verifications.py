"""Verification records on the server: storing them once ``checks.check_verification`` has
checked them and recomputed their status (the verifier is the posting token's lab; the
server decides each record's standing, ``archive.standing``, and only ``archive`` and
``independent`` records count by default), listing them, and what the rest of the archive
shows from them: a paper's headline verification (claimed vs verified), lineage warnings
for descendants of a paper whose claim was not reproduced or whose technique failed, and
verified leaderboard columns.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentrxiv.archive.auth import Principal
from agentrxiv.archive.checks import check_verification
from agentrxiv.archive.db import Database
from agentrxiv.archive.id_format import parse_ref
from agentrxiv.archive.novelty import duplicate_roots
from agentrxiv.archive.rows import paper_row, version_row
from agentrxiv.archive.schemas import (
    Leaderboard,
    LeaderboardEntry,
    LineageWarning,
    PaperSummary,
    VerificationCreate,
    VerificationPublic,
)
from agentrxiv.archive.standing import ANY, TRUSTED, Standing, decide_standing
from agentrxiv.archive.submission import check_storable_text
from agentrxiv.archive.tables import Lab, Paper, PaperVersion, Result, Verification, utcnow
from agentrxiv.archive.verification_jobs import close_by_verification
from agentrxiv.errors import ArchiveError, ConflictError, NotFoundError
from agentrxiv.stats import claimed_fraction

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
        standing=row.standing,
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
        paper = paper_row(session, paper_id)
        if paper.withdrawn:
            raise ConflictError(f"paper {paper_id} is withdrawn; it takes no verifications")
        number = data.version or ref_version or paper.latest_version
        version = version_row(session, paper_id, number)
        # The server's own numbers: hash and intervals checked, claim/status/effect its own.
        data = check_verification(
            data, version.code_files or {}, list(version.results), f"{paper_id}v{number}"
        )
        verifier_lab = session.get_one(Lab, principal.lab_id)
        standing = decide_standing(principal, paper, verifier_lab)
        row = Verification(
            paper_id=paper_id,
            version=number,
            verifier_lab_id=principal.lab_id,
            self_verification=standing == "self",
            standing=standing,
            kind=data.kind,
            benchmark=data.benchmark,
            split=data.split,
            model=data.model,
            status=data.status,
            value=data.value,
            n=data.n,
            content_hash=data.content_hash,
            no_model_use=data.no_model_use,
            record=data.model_dump(mode="json"),
            created_at=utcnow(),
        )
        row.verifier = verifier_lab
        session.add(row)
        session.flush()
        close_by_verification(session, row)  # the archive verifier's queued job, if any
        public = to_public(row)
    log.info(
        "verification of %sv%d by %s (%s): %s",
        paper_id,
        number,
        principal.lab_name,
        standing,
        data.status,
    )
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
    session: Session,
    paper_ids: Iterable[str],
    benchmark: str | None = None,
    allowed: Sequence[Standing] = TRUSTED,
) -> dict[str, Verification]:
    """Per paper: its latest ``claim`` verification (or on ``benchmark``, any kind) whose
    standing is ``allowed`` (default: archive or independent)."""
    ids = list(dict.fromkeys(paper_ids))
    if not ids:
        return {}
    query = select(Verification).where(
        Verification.paper_id.in_(ids), Verification.standing.in_(list(allowed))
    )
    if benchmark is None:
        query = query.where(Verification.kind == "claim")
    else:
        query = query.where(Verification.benchmark == benchmark)
    latest: dict[str, Verification] = {}
    for row in session.scalars(query.order_by(Verification.created_at, Verification.id)):
        latest[row.paper_id] = row  # later rows replace earlier ones
    return latest


def campaign_headlines(session: Session, paper_ids: Sequence[str]) -> dict[str, Verification]:
    """Per paper: its latest archive or independent claim verification, else its latest one
    by another lab of the same owner (a campaign's own verifier lab), which pages label."""
    return {
        **headlines(session, paper_ids, allowed=("same owner",)),
        **headlines(session, paper_ids),
    }


def claimed_values(session: Session, paper_ids: Sequence[str]) -> dict[str, float]:
    """Each paper's headline claim (latest version), by the archive's one rule."""
    rows = session.execute(
        select(PaperVersion.paper_id, Result, PaperVersion.is_latest)
        .join(Result, Result.version_id == PaperVersion.id)
        .where(PaperVersion.paper_id.in_(list(paper_ids)))
        .order_by(Result.id)
    ).all()
    by_paper: dict[str, list[Result]] = {}
    for paper_id, result, latest in rows:
        if latest:  # filtered here, not in SQL: see tables.ix_paper_versions_latest
            by_paper.setdefault(paper_id, []).append(result)
    claimed = {pid: claimed_fraction(results) for pid, results in by_paper.items()}
    return {pid: value for pid, value in claimed.items() if value is not None}


def verified_records(session: Session, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Campaign records with their verified values from the verification table, never as
    the campaign posted them: each paper's latest archive or independent claim verification,
    else (labelled) its latest one by another lab of the same owner, e.g. the campaign's own
    verifier lab. ``verified`` (None when none, or when the technique failed), ``verified_n``,
    ``verification`` (its status) and ``verified_standing``."""
    ids = [str(r["paper_id"]) for r in records if r.get("paper_id")]
    found = campaign_headlines(session, ids)
    out = []
    for record in records:
        row = found.get(str(record.get("paper_id"))) if record.get("paper_id") else None
        ran = row is not None and row.status != "failed"
        out.append(
            {
                **record,
                "verified": row.value if ran and row is not None else None,
                "verified_n": row.n if ran and row is not None else None,
                "verification": row.status if row is not None else None,
                "verified_standing": row.standing if row is not None else None,
            }
        )
    return out


def annotate_summaries(session: Session, items: Sequence[PaperSummary]) -> None:
    """Fill the claimed/verified fields of listing or search entries in place."""
    ids = [item.id for item in items]
    if not ids:
        return
    found = headlines(session, ids)
    claimed = claimed_values(session, ids)
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
    rows = session.execute(
        select(PaperVersion.paper_id, PaperVersion.title, PaperVersion.is_latest).where(
            PaperVersion.paper_id.in_(list(bad))
        )
    ).all()
    # is_latest filtered here, not in SQL: see tables.ix_paper_versions_latest
    titles = {pid: title for pid, title, latest in rows if latest}
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
    entry.verified_standing = row.standing
    if row.no_model_use:
        entry.model_use_note = f"no model use on {row.no_model_use} of {row.n} problems"


def annotate_leaderboard(
    session: Session, board: Leaderboard, rank_by: RankBy, any_standing: bool = False
) -> Leaderboard:
    """Add verified columns to each entry and rank by the verified value (default): verified
    entries first, highest verified value first; unverified ones after, by claimed value;
    entries whose technique answered problems without the model after all of those. Only
    archive and independent verifications count unless ``any_standing`` (then self and
    same-owner ones too, labelled by ``verified_standing``).
    Near-duplicates are grouped under their earliest paper (``group_near_duplicates``)."""
    ids = [e.paper_id for e in board.entries]
    allowed = ANY if any_standing else TRUSTED
    found = headlines(session, ids, benchmark=board.benchmark, allowed=allowed)
    for entry in board.entries:
        entry.claimed_value = entry.value
        row = found.get(entry.paper_id)
        if row is not None and row.split == "test":
            _fill_entry(entry, row)
    if rank_by == "verified":

        def key(e: LeaderboardEntry) -> tuple[int, int, float, float, float]:
            verified = e.verified_value if e.verification_status != "failed" else None
            return (
                1 if e.model_use_note else 0,  # answered without the model: ranked apart
                0 if verified is not None else 1,
                -(verified if verified is not None else 0.0),
                -e.value,
                -e.created_at.timestamp(),
            )

        board.entries.sort(key=key)
    board.entries = group_near_duplicates(session, board.entries)
    return board


def group_near_duplicates(
    session: Session, entries: list[LeaderboardEntry]
) -> list[LeaderboardEntry]:
    """One entry per group of near-duplicates: the group's earliest paper keeps its entry
    (at its own rank) and lists the others, which leave the ranking."""
    roots = duplicate_roots(session, [e.paper_id for e in entries])
    groups: dict[str, list[LeaderboardEntry]] = {}
    for entry in entries:
        groups.setdefault(roots.get(entry.paper_id, entry.paper_id), []).append(entry)
    keep: dict[str, LeaderboardEntry] = {}
    for root, members in groups.items():
        first = min(members, key=lambda e: (e.paper_id != root, e.created_at, e.paper_id))
        first.near_duplicates = [e.paper_id for e in members if e is not first]
        keep[first.paper_id] = first
    return [e for e in entries if e.paper_id in keep]
