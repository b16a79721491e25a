"""Database rows of papers as the API's schemas, and the lookups every paper read and write
starts from: a paper by id, one of its versions by number (404 when either is missing)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentrxiv.archive.id_format import parse_ref
from agentrxiv.archive.schemas import Author, PaperSummary, ResultPublic, ReviewForm, ReviewPublic
from agentrxiv.archive.tables import Paper, PaperVersion, Result, Review
from agentrxiv.errors import NotFoundError

MAX_VERSION = 1_000_000  # larger numbers overflow SQL integers; no paper has them
# Columns a listing needs; the body, PDF, code and embedding stay in the database.
SUMMARY_COLUMNS = (
    PaperVersion.id,
    PaperVersion.paper_id,
    PaperVersion.version,
    PaperVersion.title,
    PaperVersion.abstract,
    PaperVersion.authors,
    PaperVersion.categories,
)


def aware(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored one is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def to_summary(paper: Paper, version: PaperVersion, score: float | None = None) -> PaperSummary:
    """A listing entry for ``version`` of ``paper``."""
    return PaperSummary(
        id=paper.id,
        version=version.version,
        title=version.title,
        abstract=version.abstract,
        authors=[Author.model_validate(a) for a in version.authors or []],
        categories=list(version.categories or []),
        lab=paper.lab.name,
        withdrawn=paper.withdrawn,
        created_at=aware(paper.created_at),
        updated_at=aware(paper.updated_at),
        score=score,
        campaign_id=paper.campaign_id,
        builds_on_technique=version.builds_on_technique,
        variants_tried=version.variants_tried,
    )


def result_public(result: Result, paper_id: str, version: int) -> ResultPublic:
    """The public form of one reported result of version ``version`` of ``paper_id``."""
    return ResultPublic(
        benchmark=result.benchmark,
        metric=result.metric,
        value=result.value,
        n=result.n,
        model=result.model,
        split=result.split,
        paper_id=paper_id,
        version=version,
    )


def review_public(
    review: Review, paper_id: str, version: int, lab: str | None = None
) -> ReviewPublic:
    """The public form of a review of version ``version`` of ``paper_id``, posted by ``lab``."""
    return ReviewPublic(
        id=review.id,
        paper_id=paper_id,
        version=version,
        reviewer=review.reviewer,
        reviewer_kind=review.reviewer_kind,
        form=ReviewForm.model_validate(review.form),
        created_at=aware(review.created_at),
        lab=lab,
        self_review=bool(review.self_review),
    )


def paper_row(session: Session, paper_id: str) -> Paper:
    """The paper ``paper_id``; 404 when there is none."""
    paper = session.get(Paper, paper_id)
    if paper is None:
        raise NotFoundError(f"no paper {paper_id}")
    return paper


def version_row(session: Session, paper_id: str, number: int) -> PaperVersion:
    """Version ``number`` of paper ``paper_id``; 404 when it has none."""
    if not 1 <= number <= MAX_VERSION:
        raise NotFoundError(f"paper {paper_id} has no version {number}")
    version = session.scalar(
        select(PaperVersion).where(
            PaperVersion.paper_id == paper_id, PaperVersion.version == number
        )
    )
    if version is None:
        raise NotFoundError(f"paper {paper_id} has no version {number}")
    return version


def check_ref_version(session: Session, paper_id: str, number: int | None) -> None:
    """404 when a request names a version (``2611.00001v9``) the paper does not have."""
    if number is None:
        return
    found = session.scalar(
        select(PaperVersion.id).where(
            PaperVersion.paper_id == paper_id, PaperVersion.version == number
        )
    )
    if found is None or not 1 <= number <= MAX_VERSION:
        raise NotFoundError(f"paper {paper_id} has no version {number}")


def resolve(session: Session, ref: str, version: int | None) -> tuple[Paper, PaperVersion]:
    """The paper of ``ref`` and its version ``version``, else the one ``ref`` names
    (``2611.00042v2``), else the latest."""
    paper_id, ref_version = parse_ref(ref)
    paper = paper_row(session, paper_id)
    number = version or ref_version or paper.latest_version
    return paper, version_row(session, paper_id, number)
