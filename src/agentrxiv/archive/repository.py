"""All database logic behind the JSON API: publishing papers and versions, reading them,
listings, lineage, leaderboards, reviews and withdrawals. Routes stay thin and call these.

Every write is one transaction: the paper, its version, results, parent links and search
index rows commit together or not at all. The slow part of indexing (the embedding) is
computed before the transaction opens so that no write lock is held while it runs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Text, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, load_only

from agentrxiv.archive import leaderboards, novelty, verifications
from agentrxiv.archive.attachments import attachment_list
from agentrxiv.archive.auth import Principal
from agentrxiv.archive.campaigns import check_campaign
from agentrxiv.archive.db import Database
from agentrxiv.archive.ids import allocate_id, parse_ref
from agentrxiv.archive.limits import WriteKind, WriteLimits, check_sizes, consume, precheck
from agentrxiv.archive.schemas import (
    Author,
    Leaderboard,
    Lineage,
    LineageNode,
    PaperCreate,
    PaperList,
    PaperPublic,
    PaperSummary,
    ResultPublic,
    ReviewCreate,
    ReviewForm,
    ReviewPublic,
)
from agentrxiv.archive.submission import (
    PreparedVersion,
    check_storable_text,
    index_version,
    prepare,
)
from agentrxiv.archive.tables import (
    Attachment,
    Lab,
    Paper,
    PaperVersion,
    ParentLink,
    Result,
    Review,
    utcnow,
)
from agentrxiv.errors import ArchiveError, ConflictError, ForbiddenError, NotFoundError

log = logging.getLogger(__name__)

MAX_LINEAGE_DEPTH = 100
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


# ---------------------------------------------------------------- conversions


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
    )


def _result_public(result: Result, paper_id: str, version: int) -> ResultPublic:
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
        results=[_result_public(r, paper.id, version.version) for r in version.results],
        code_files=dict(version.code_files or {}),
        has_pdf=version.pdf is not None,
        versions=list(numbers),
        withdrawn_reason=paper.withdrawn_reason,
        attachments=attachment_list(session, paper.id, version),
        novelty=novelty.novelty_of(session, paper.id),
        technique=version.technique,
        verifications=verifications.list_verifications(session, paper.id),
        warnings=verifications.lineage_warnings(
            session, list(_walk(session, paper.id, _latest_parents))
        ),
    )


# ---------------------------------------------------------------- writes


@contextmanager
def _writing(db: Database) -> Iterator[Session]:
    """A write transaction whose constraint violations become a clear 409."""
    try:
        with db.write() as session:
            yield session
    except IntegrityError as exc:
        log.warning("write conflict: %s", exc.orig)
        raise ConflictError("the write conflicted with a concurrent one; retry it") from exc


def _check_parents(session: Session, parents: list[str], own_id: str | None) -> None:
    if own_id is not None and own_id in parents:
        raise ArchiveError(f"paper {own_id} cannot be its own parent", status=422)
    if not parents:
        return
    known = set(session.scalars(select(Paper.id).where(Paper.id.in_(parents))))
    for parent in parents:
        if parent not in known:
            raise ArchiveError(f"unknown parent paper {parent}", status=422)


def _new_version(paper: Paper, number: int, prepared: PreparedVersion) -> PaperVersion:
    data = prepared.data
    # paper_id, not paper=: the backref would load every old version of the paper.
    return PaperVersion(
        paper_id=paper.id,
        version=number,
        is_latest=True,
        title=data.title,
        abstract=data.abstract,
        authors=[a.model_dump() for a in data.authors],
        authors_text=prepared.authors_text,
        body=data.body,
        categories=list(data.categories),
        primary_category=data.categories[0] if data.categories else "",
        comment=data.comment,
        pdf=prepared.pdf,
        code_files=dict(data.code_files),
        technique=getattr(data, "technique", None),
        embedding=prepared.embedding,
        created_at=utcnow(),
        results=[Result(**r.model_dump()) for r in data.results],
        parents=[ParentLink(parent_id=p) for p in data.parents],
        attachments=[
            Attachment(name=name, media_type=kind, size=len(blob), data=blob)
            for name, kind, blob in prepared.attachments
        ],
    )


def own_authors(data: PaperCreate, lab: str) -> PaperCreate:
    """The submission with every author's ``lab`` set to ``lab``: a paper's author lab is
    always the lab whose token posted it, whatever the request said."""
    if not lab or all(author.lab == lab for author in data.authors):
        return data
    others = sorted({a.lab for a in data.authors if a.lab and a.lab != lab})
    if others:
        log.info("author lab %s replaced by the posting lab %s", ", ".join(others), lab)
    authors = [author.model_copy(update={"lab": lab}) for author in data.authors]
    return data.model_copy(update={"authors": authors})


def _precheck(
    db: Database,
    principal: Principal,
    kind: WriteKind,
    limits: WriteLimits | None,
    data: PaperCreate | None = None,
) -> None:
    """Size limits and a read-only quota check before any slow work (429/413)."""
    if limits is None:
        return
    if data is not None:
        check_sizes(data, limits)
    with db.read() as session:
        precheck(session, principal, kind, limits)


def create_paper(
    db: Database,
    principal: Principal,
    data: PaperCreate,
    embed: bool = True,
    limits: WriteLimits | None = None,
) -> PaperPublic:
    """Publish a new paper as version 1 under the token's lab and return it; ``limits``
    (the server's) adds quotas and size limits."""
    _precheck(db, principal, "paper", limits, data)
    data = own_authors(data, principal.lab_name)
    prepared = prepare(data, embed)
    # Novelty (nearest earlier papers); under the refuse policy a near-duplicate is a 409 here.
    assessment = novelty.assess(db, data, embed, prepared.embedding)
    with _writing(db) as session:
        if limits is not None:
            consume(session, principal, "paper", limits)
        paper_id = allocate_id(session)
        _check_parents(session, data.parents, own_id=None)
        check_campaign(session, data.campaign_id)
        now = utcnow()
        paper = Paper(id=paper_id, latest_version=1, created_at=now, updated_at=now)
        paper.campaign_id, paper.idempotency_key = data.campaign_id, data.idempotency_key
        paper.lab = session.get_one(Lab, principal.lab_id)
        session.add(paper)
        version = _new_version(paper, 1, prepared)
        session.add(version)
        session.flush()
        index_version(session, version, None)
        novelty.record(session, paper_id, assessment)
        session.flush()
        public = to_public(session, paper, version)
    log.info("published %s by %s", paper_id, principal.lab_name)
    return public


def _check_versionable(paper: Paper, principal: Principal) -> None:
    if paper.lab_id != principal.lab_id and not principal.is_admin:
        raise ForbiddenError(f"paper {paper.id} belongs to another lab")
    if paper.withdrawn:
        raise ConflictError(f"paper {paper.id} is withdrawn; it takes no new versions")


def _check_ref_version(session: Session, paper_id: str, number: int | None) -> None:
    """404 when a write names a version (``2611.00001v9``) the paper does not have."""
    if number is None:
        return
    found = session.scalar(
        select(PaperVersion.id).where(
            PaperVersion.paper_id == paper_id, PaperVersion.version == number
        )
    )
    if found is None or not 1 <= number <= MAX_VERSION:
        raise NotFoundError(f"paper {paper_id} has no version {number}")


def add_version(
    db: Database,
    principal: Principal,
    paper_id: str,
    data: PaperCreate,
    embed: bool = True,
    limits: WriteLimits | None = None,
) -> PaperPublic:
    """Publish version N+1 of the caller's paper (same id) and return it."""
    paper_id, ref_version = parse_ref(paper_id)
    with db.read() as session:  # refuse before the slow embedding
        paper = _paper_row(session, paper_id)
        _check_versionable(paper, principal)
        _check_ref_version(session, paper_id, ref_version)
        owner = paper.lab.name
    _precheck(db, principal, "version", limits, data)
    data = own_authors(data, owner)
    prepared = prepare(data, embed)
    with _writing(db) as session:
        if limits is not None:
            consume(session, principal, "version", limits)
        # Row lock on PostgreSQL so concurrent new versions of one paper take turns.
        paper = session.get(Paper, paper_id, with_for_update=True)
        if paper is None:
            raise NotFoundError(f"no paper {paper_id}")
        _check_versionable(paper, principal)
        _check_parents(session, data.parents, own_id=paper_id)
        replaced = _version_row(session, paper_id, paper.latest_version)
        replaced.is_latest = False
        paper.latest_version += 1
        paper.updated_at = utcnow()
        version = _new_version(paper, paper.latest_version, prepared)
        session.add(version)
        session.flush()
        index_version(session, version, replaced)
        public = to_public(session, paper, version)
    log.info("published %sv%d by %s", paper_id, public.version, principal.lab_name)
    return public


def withdraw(db: Database, principal: Principal, paper_id: str, reason: str) -> PaperPublic:
    """Flag a paper as withdrawn (admin only); it stays readable with the reason shown."""
    if not principal.is_admin:
        raise ForbiddenError("only an admin token may withdraw papers")
    paper_id, ref_version = parse_ref(paper_id)
    check_storable_text(reason, "reason")
    with _writing(db) as session:
        paper = _paper_row(session, paper_id)
        _check_ref_version(session, paper_id, ref_version)
        if paper.withdrawn:
            raise ConflictError(f"paper {paper_id} is already withdrawn")
        paper.withdrawn = True
        paper.withdrawn_reason = reason
        paper.updated_at = utcnow()
        version = _version_row(session, paper_id, paper.latest_version)
        public = to_public(session, paper, version)
    log.info("withdrew %s: %s", paper_id, reason)
    return public


def _review_target(paper_id: str, principal: Principal, data: ReviewCreate) -> int | None:
    """The version a review names (the id's ``vN`` or ``version``); 403 for a human review
    from a token that is not a human token."""
    paper_id, ref_version = parse_ref(paper_id)
    if data.reviewer_kind == "human" and not principal.is_human:
        raise ForbiddenError(
            "reviewer_kind 'human' needs a human token; this token belongs to an agent lab",
            hint="the server's operator creates one with 'agentrxiv token create NAME --human'",
        )
    if ref_version and data.version and ref_version != data.version:
        raise ArchiveError(
            f"the id names version {ref_version} but the review says version {data.version}",
            status=422,
        )
    return data.version or ref_version


def create_review(
    db: Database,
    principal: Principal,
    paper_id: str,
    data: ReviewCreate,
    limits: WriteLimits | None = None,
) -> ReviewPublic:
    """Attach a review to a version of a paper (default: the latest), recording the lab
    whose token posted it; a review by the paper's own lab is marked as a self-review."""
    number = _review_target(paper_id, principal, data)
    paper_id, _ = parse_ref(paper_id)
    check_storable_text(data.model_dump())
    _precheck(db, principal, "review", limits)
    with _writing(db) as session:
        if limits is not None:
            consume(session, principal, "review", limits)
        paper = _paper_row(session, paper_id)
        if paper.withdrawn:
            raise ConflictError(f"paper {paper_id} is withdrawn; it takes no reviews")
        version = _version_row(session, paper_id, number or paper.latest_version)
        review = Review(
            version=version,
            reviewer=data.reviewer,
            reviewer_kind=data.reviewer_kind,
            form=data.form.model_dump(),
            overall=data.form.overall,
            decision=data.form.decision,
            created_at=utcnow(),
            lab_id=principal.lab_id or None,
            self_review=principal.lab_id == paper.lab_id,
        )
        session.add(review)
        session.flush()
        public = _review_public(review, paper_id, version.version, principal.lab_name or None)
    log.info(
        "review of %sv%d by %s (%s)", paper_id, public.version, data.reviewer, principal.lab_name
    )
    return public


# ---------------------------------------------------------------- reads


def _paper_row(session: Session, paper_id: str) -> Paper:
    paper = session.get(Paper, paper_id)
    if paper is None:
        raise NotFoundError(f"no paper {paper_id}")
    return paper


def _version_row(session: Session, paper_id: str, number: int) -> PaperVersion:
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


def _resolve(session: Session, ref: str, version: int | None) -> tuple[Paper, PaperVersion]:
    paper_id, ref_version = parse_ref(ref)
    paper = _paper_row(session, paper_id)
    number = version or ref_version or paper.latest_version
    return paper, _version_row(session, paper_id, number)


def get_paper(session: Session, ref: str, version: int | None = None) -> PaperPublic:
    """A paper at ``version`` (or the one in ``ref`` like ``2611.00042v2``; default latest)."""
    paper, row = _resolve(session, ref, version)
    return to_public(session, paper, row)


def get_pdf(session: Session, ref: str, version: int | None = None) -> bytes:
    """The PDF of a paper version; 404 when it has none."""
    paper, row = _resolve(session, ref, version)
    if row.pdf is None:
        raise NotFoundError(f"paper {paper.id}v{row.version} has no PDF")
    return row.pdf


def list_papers(
    session: Session,
    offset: int = 0,
    limit: int = 20,
    category: str | None = None,
    lab: str | None = None,
    campaign: str | None = None,
) -> PaperList:
    """Latest versions, newest paper first, optionally filtered by category, lab, campaign."""
    query = (
        select(PaperVersion, Paper)
        .join(Paper, PaperVersion.paper_id == Paper.id)
        .join(Lab, Paper.lab_id == Lab.id)
        .where(PaperVersion.is_latest.is_(True))
    )
    if category:
        # Categories are validated to contain no quotes, so the JSON text match is exact.
        query = query.where(
            cast(PaperVersion.categories, Text).contains(f'"{category}"', autoescape=True)
        )
    if lab:
        query = query.where(Lab.name == lab)
    if campaign:
        query = query.where(Paper.campaign_id == campaign)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.options(load_only(*SUMMARY_COLUMNS))
        .order_by(Paper.created_at.desc(), Paper.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    items = [to_summary(paper, version) for version, paper in rows]
    verifications.annotate_summaries(session, items)
    novelty.mark_near_duplicates(session, items)
    return PaperList(total=total, offset=offset, items=items)


def _latest_parents(session: Session, ids: Iterable[str]) -> dict[str, list[str]]:
    rows = session.execute(
        select(PaperVersion.paper_id, ParentLink.parent_id)
        .join(ParentLink, ParentLink.version_id == PaperVersion.id)
        .where(PaperVersion.is_latest.is_(True), PaperVersion.paper_id.in_(list(ids)))
        .order_by(ParentLink.id)
    ).all()
    parents: dict[str, list[str]] = {}
    for child, parent in rows:
        parents.setdefault(child, []).append(parent)
    return parents


def _latest_children(session: Session, ids: Iterable[str]) -> dict[str, list[str]]:
    rows = session.execute(
        select(ParentLink.parent_id, PaperVersion.paper_id)
        .join(PaperVersion, ParentLink.version_id == PaperVersion.id)
        .where(PaperVersion.is_latest.is_(True), ParentLink.parent_id.in_(list(ids)))
        .order_by(PaperVersion.paper_id)
    ).all()
    children: dict[str, list[str]] = {}
    for parent, child in rows:
        children.setdefault(parent, []).append(child)
    return children


def _walk(
    session: Session, root: str, step: Callable[[Session, Iterable[str]], dict[str, list[str]]]
) -> dict[str, int]:
    """Breadth-first distances from ``root`` along ``step``; visited ids stop cycles."""
    depths: dict[str, int] = {}
    frontier = [root]
    depth = 0
    while frontier and depth < MAX_LINEAGE_DEPTH:
        depth += 1
        links = step(session, frontier)
        found = [n for node in frontier for n in links.get(node, [])]
        frontier = [n for n in dict.fromkeys(found) if n != root and n not in depths]
        depths.update(dict.fromkeys(frontier, depth))
    return depths


def _lineage_nodes(session: Session, depths: dict[str, int]) -> list[LineageNode]:
    if not depths:
        return []
    rows = session.execute(
        select(PaperVersion.paper_id, PaperVersion.title, Lab.name)
        .join(Paper, PaperVersion.paper_id == Paper.id)
        .join(Lab, Paper.lab_id == Lab.id)
        .where(PaperVersion.is_latest.is_(True), PaperVersion.paper_id.in_(list(depths)))
    ).all()
    parents = _latest_parents(session, depths)
    nodes = [
        LineageNode(id=pid, title=title, lab=lab, depth=depths[pid], parents=parents.get(pid, []))
        for pid, title, lab in rows
    ]
    return sorted(nodes, key=lambda node: (node.depth, node.id))


def lineage(session: Session, ref: str) -> Lineage:
    """Ancestors and descendants of a paper, transitively, with their depth."""
    paper_id, _ = parse_ref(ref)
    _paper_row(session, paper_id)
    return Lineage(
        id=paper_id,
        ancestors=_lineage_nodes(session, _walk(session, paper_id, _latest_parents)),
        descendants=_lineage_nodes(session, _walk(session, paper_id, _latest_children)),
    )


def leaderboard(
    session: Session,
    benchmark: str,
    metric: str | None = None,
    limit: int = 100,
    rank_by: verifications.RankBy = "verified",
    model: str | None = None,
    min_n: int | None = None,
) -> Leaderboard:
    """Each paper's best result on ``benchmark``/``metric`` (default: the primary metric),
    with its baseline; baselines are never entries. 404 for an unknown benchmark or metric
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
    return verifications.annotate_leaderboard(session, board, rank_by)


def _review_public(
    review: Review, paper_id: str, version: int, lab: str | None = None
) -> ReviewPublic:
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


def list_reviews(session: Session, ref: str, version: int | None = None) -> list[ReviewPublic]:
    """Reviews of a paper, oldest first: of every version, or only of ``version`` (or the
    version in ``ref``, like ``2611.00042v2``); each names the lab that posted it."""
    paper_id, ref_version = parse_ref(ref)
    _paper_row(session, paper_id)
    number = version or ref_version
    query = (
        select(Review, PaperVersion.version, Lab.name)
        .join(PaperVersion, Review.version_id == PaperVersion.id)
        .outerjoin(Lab, Review.lab_id == Lab.id)
        .where(PaperVersion.paper_id == paper_id)
        .order_by(Review.created_at, Review.id)
    )
    if number is not None:
        _check_ref_version(session, paper_id, number)
        query = query.where(PaperVersion.version == number)
    rows = session.execute(query).all()
    return [_review_public(review, paper_id, v, lab) for review, v, lab in rows]
