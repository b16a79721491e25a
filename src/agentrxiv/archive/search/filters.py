"""Search filters (category, lab, benchmark, date range, minimum result) turned into the set
of latest, non-withdrawn version ids they allow; withdrawn papers are excluded always."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, exists, select, true
from sqlalchemy.orm import Session

from agentrxiv.archive.search.index import paper_categories
from agentrxiv.archive.tables import Lab, Paper, PaperVersion, Result
from agentrxiv.errors import ArchiveError


@dataclass(frozen=True)
class SearchFilters:
    """Restrictions every search mode applies; ``None`` means "any"."""

    category: str | None = None
    lab: str | None = None
    benchmark: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    min_value: float | None = None
    campaign: str | None = None

    def __post_init__(self) -> None:
        if self.min_value is not None and not self.benchmark:
            raise ArchiveError("min_value needs a benchmark (the result it applies to)", status=422)
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ArchiveError("date_from is after date_to", status=422)

    @property
    def active(self) -> bool:
        """Whether any filter beyond "latest, not withdrawn" applies."""
        return any(
            value is not None
            for value in (
                self.category,
                self.lab,
                self.benchmark,
                self.date_from,
                self.date_to,
                self.min_value,
                self.campaign,
            )
        )


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def filtered_versions_query(filters: SearchFilters) -> Select[tuple[int]]:
    """SELECT of the ids of latest, non-withdrawn versions that pass ``filters``."""
    query = (
        select(PaperVersion.id)
        .join(Paper, Paper.id == PaperVersion.paper_id)
        .where(PaperVersion.is_latest == true(), Paper.withdrawn == False)  # noqa: E712
    )
    if filters.lab:
        query = query.join(Lab, Lab.id == Paper.lab_id).where(Lab.name == filters.lab)
    if filters.campaign:
        query = query.where(Paper.campaign_id == filters.campaign)
    if filters.category:
        in_category = select(paper_categories.c.version_id).where(
            paper_categories.c.category == filters.category
        )
        query = query.where(PaperVersion.id.in_(in_category))
    if filters.benchmark:
        result = select(Result.id).where(
            Result.version_id == PaperVersion.id, Result.benchmark == filters.benchmark
        )
        if filters.min_value is not None:
            result = result.where(Result.value >= filters.min_value)
        query = query.where(exists(result))
    # Dates are when the paper was first published (the date its id carries).
    if filters.date_from:
        query = query.where(Paper.created_at >= _start_of(filters.date_from))
    if filters.date_to:
        query = query.where(Paper.created_at < _start_of(filters.date_to + timedelta(days=1)))
    return query


@dataclass
class Candidates:
    """Which versions may appear: exactly ``allowed`` if set, else any latest one not blocked."""

    allowed: set[int] | None
    blocked: set[int]

    def admits(self, version_id: int) -> bool:
        """Whether ``version_id`` may appear in results."""
        if self.allowed is not None:
            return version_id in self.allowed
        return version_id not in self.blocked


def candidates(session: Session, filters: SearchFilters) -> Candidates:
    """The versions ``filters`` admit, computed with one indexed query."""
    if filters.active:
        allowed = set(session.scalars(filtered_versions_query(filters)))
        return Candidates(allowed=allowed, blocked=set())
    # Two indexed lookups: joining first makes SQLite walk every latest version.
    withdrawn = list(session.scalars(select(Paper.id).where(Paper.withdrawn == true())))
    if not withdrawn:
        return Candidates(allowed=None, blocked=set())
    rows = session.execute(
        select(PaperVersion.id, PaperVersion.is_latest).where(PaperVersion.paper_id.in_(withdrawn))
    )
    # is_latest filtered here, not in SQL: see tables.ix_paper_versions_latest
    return Candidates(allowed=None, blocked={v for v, latest in rows if latest})
