"""Reading papers for the JSON API and the pages: one paper in full, its PDF, listings,
leaderboards and reviews. Writes live in ``archive.repository``, lineage in
``archive.lineage``."""

from __future__ import annotations

from sqlalchemy import Select, Text, cast, func, select
from sqlalchemy.orm import Session, load_only

from agentrxiv.archive import leaderboards, novelty, verifications
from agentrxiv.archive.attachments import attachment_list
from agentrxiv.archive.id_format import parse_ref
from agentrxiv.archive.lineage import ancestors
from agentrxiv.archive.rows import (
    SUMMARY_COLUMNS,
    check_ref_version,
    paper_row,
    resolve,
    result_public,
    review_public,
    to_summary,
)
from agentrxiv.archive.schemas import Leaderboard, PaperList, PaperPublic, ReviewPublic
from agentrxiv.archive.tables import Lab, Paper, PaperVersion, Review
from agentrxiv.errors import NotFoundError


def to_public(session: Session, paper: Paper, version: PaperVersion) -> PaperPublic:
    """The full public form of ``version`` of ``paper``."""
    numbers = session.scalars(
        select(PaperVersion.version)
        .where(PaperVersion.paper_id == paper.id)
        .order_by(PaperVersion.version)
    ).all()
    summary = to_summary(paper, version)
    verifications.annotate_summaries(session, [summary])
    novelty.mark_near_duplicates(session, [summary])
    return PaperPublic(
        **summary.model_dump(),
        body=version.body,
        comment=version.comment,
        parents=[link.parent_id for link in version.parents],
        results=[result_public(r, paper.id, version.version) for r in version.results],
        code_files=dict(version.code_files or {}),
        has_pdf=version.pdf is not None,
        versions=list(numbers),
        withdrawn_reason=paper.withdrawn_reason,
        attachments=attachment_list(session, paper.id, version),
        novelty=novelty.novelty_of(session, paper.id),
        technique=version.technique,
        verifications=verifications.list_verifications(session, paper.id),
        warnings=verifications.lineage_warnings(session, list(ancestors(session, paper.id))),
    )


def get_paper(session: Session, ref: str, version: int | None = None) -> PaperPublic:
    """A paper at ``version`` (or the one in ``ref`` like ``2611.00042v2``; default latest)."""
    paper, row = resolve(session, ref, version)
    return to_public(session, paper, row)


def get_pdf(session: Session, ref: str, version: int | None = None) -> bytes:
    """The PDF of a paper version; 404 when it has none."""
    paper, row = resolve(session, ref, version)
    if row.pdf is None:
        raise NotFoundError(f"paper {paper.id}v{row.version} has no PDF")
    return row.pdf


# A lab's or campaign's papers beyond this are listed by reading every paper newest first.
LARGE_SELECTION = 5_000


def list_papers(
    session: Session,
    offset: int = 0,
    limit: int = 20,
    category: str | None = None,
    lab: str | None = None,
    campaign: str | None = None,
) -> PaperList:
    """Latest versions, newest paper first, optionally filtered by category, lab, campaign."""
    # The latest version through the paper, not is_latest: SQLite then reads the papers
    # newest first by their index and stops at the page (tables.ix_paper_versions_latest).
    latest = (PaperVersion.paper_id == Paper.id) & (PaperVersion.version == Paper.latest_version)
    if category:
        total = None
    elif lab or campaign:  # one latest version per paper: the papers, counted on their index
        total = session.scalar(
            _owned_papers(select(func.count()).select_from(Paper), lab, campaign)
        )
    else:  # every latest version, counted on its index without the joins
        total = session.scalar(select(func.count()).where(PaperVersion.is_latest.is_(True)))
    # SQLite, without statistics, reads a lab's or campaign's papers by its index and sorts
    # them all (5 s for a lab holding 1M papers); for a large one, read every paper newest
    # first and keep its own: the columns, hidden from the planner, cannot choose an index.
    newest_first = total is not None and total > LARGE_SELECTION
    query = _owned_papers(
        select(PaperVersion, Paper).join(Paper, latest), lab, campaign, unindexed=newest_first
    )
    if category:
        # Categories are validated to contain no quotes, so the JSON text match is exact.
        query = query.where(
            cast(PaperVersion.categories, Text).contains(f'"{category}"', autoescape=True)
        )
        total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(
        query.options(load_only(*SUMMARY_COLUMNS))
        .order_by(Paper.created_at.desc(), Paper.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    items = [to_summary(paper, version) for version, paper in rows]
    verifications.annotate_summaries(session, items)
    novelty.mark_near_duplicates(session, items)
    return PaperList(total=total or 0, offset=offset, items=items)


def _owned_papers(
    query: Select, lab: str | None, campaign: str | None, unindexed: bool = False
) -> Select:
    """``query`` (over papers) kept to the papers of ``lab`` and ``campaign`` when given;
    ``unindexed`` compares expressions of the columns, which SQLite reads by no index."""
    if lab:
        owner = (Paper.lab_id + 0) if unindexed else Paper.lab_id
        query = query.join(Lab, owner == Lab.id).where(Lab.name == lab)
    if campaign:
        column = Paper.campaign_id.concat("") if unindexed else Paper.campaign_id
        query = query.where(column == campaign)
    return query


def leaderboard(
    session: Session,
    benchmark: str,
    metric: str | None = None,
    limit: int = 100,
    rank_by: verifications.RankBy = "verified",
    model: str | None = None,
    min_n: int | None = None,
    any_standing: bool = False,
) -> Leaderboard:
    """Each paper's best result on ``benchmark``/``metric`` (default: the primary metric),
    with its baseline; baselines are never entries. Verified columns come from archive and
    independent verifications only, unless ``any_standing``. 404 for an unknown benchmark or metric
    (the message lists the valid metrics). Rules: ``archive.leaderboards``."""
    chosen, metrics = leaderboards.resolve_metric(session, benchmark, metric)
    ranked = leaderboards.best_entries(session, benchmark, chosen, model=model, min_n=min_n)
    board = Leaderboard(
        benchmark=benchmark,
        metric=chosen,
        entries=ranked[:limit],
        metrics=metrics,
        models=leaderboards.board_models(session, benchmark, chosen),
        model=model or None,
        min_n=min_n,
    )
    return verifications.annotate_leaderboard(session, board, rank_by, any_standing)


def list_reviews(session: Session, ref: str, version: int | None = None) -> list[ReviewPublic]:
    """Reviews of a paper, oldest first: of every version, or only of ``version`` (or the
    version in ``ref``, like ``2611.00042v2``); each names the lab that posted it."""
    paper_id, ref_version = parse_ref(ref)
    paper_row(session, paper_id)
    number = version or ref_version
    query = (
        select(Review, PaperVersion.version, Lab.name)
        .join(PaperVersion, Review.version_id == PaperVersion.id)
        .outerjoin(Lab, Review.lab_id == Lab.id)
        .where(PaperVersion.paper_id == paper_id)
        .order_by(Review.created_at, Review.id)
    )
    if number is not None:
        check_ref_version(session, paper_id, number)
        query = query.where(PaperVersion.version == number)
    rows = session.execute(query).all()
    return [review_public(review, paper_id, v, lab) for review, v, lab in rows]
