"""Writing papers behind the JSON API: publishing papers and versions, reviews and
withdrawals. Reads live in ``archive.reads``; routes stay thin and call these.

Every write is one transaction: the paper, its version, results, parent links, search
index rows and (for a version naming a technique) its job in the archive verifier's queue
commit together or not at all. The slow part of indexing (the embedding) is
computed before the transaction opens so that no write lock is held while it runs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agentrxiv.archive import novelty, verification_jobs
from agentrxiv.archive.auth import Principal
from agentrxiv.archive.campaigns import check_campaign
from agentrxiv.archive.db import Database
from agentrxiv.archive.id_format import parse_ref
from agentrxiv.archive.ids import allocate_id
from agentrxiv.archive.limits import WriteKind, WriteLimits, check_sizes, consume, precheck
from agentrxiv.archive.reads import to_public
from agentrxiv.archive.rows import check_ref_version, paper_row, review_public, version_row
from agentrxiv.archive.schemas import PaperCreate, PaperPublic, ReviewCreate, ReviewPublic
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


def _check_builds_on(session: Session, data: PaperCreate, own_id: str | None) -> None:
    """The paper a submission builds its technique on must exist and not be itself."""
    parent = getattr(data, "builds_on_technique", None)
    if parent is None:
        return
    if parent == own_id:
        raise ArchiveError(f"paper {own_id} cannot build on its own technique", status=422)
    if session.get(Paper, parent) is None:
        raise ArchiveError(f"builds_on_technique: unknown paper {parent}", status=422)


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
        builds_on_technique=getattr(data, "builds_on_technique", None),
        variants_tried=getattr(data, "variants_tried", None),
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
        _check_builds_on(session, data, own_id=None)
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
        verification_jobs.queue_new_version(session, version, principal.lab_name)
        session.flush()
        public = to_public(session, paper, version)
    log.info("published %s by %s", paper_id, principal.lab_name)
    return public


def _check_versionable(paper: Paper, principal: Principal) -> None:
    if paper.lab_id != principal.lab_id and not principal.is_admin:
        raise ForbiddenError(f"paper {paper.id} belongs to another lab")
    if paper.withdrawn:
        raise ConflictError(f"paper {paper.id} is withdrawn; it takes no new versions")


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
        paper = paper_row(session, paper_id)
        _check_versionable(paper, principal)
        check_ref_version(session, paper_id, ref_version)
        owner = paper.lab.name
    _precheck(db, principal, "version", limits, data)
    data = own_authors(data, owner)
    prepared = prepare(data, embed)
    assessment = novelty.assess(db, data, embed, prepared.embedding, own_id=paper_id)
    with _writing(db) as session:
        if limits is not None:
            consume(session, principal, "version", limits)
        # Row lock on PostgreSQL so concurrent new versions of one paper take turns.
        paper = session.get(Paper, paper_id, with_for_update=True)
        if paper is None:
            raise NotFoundError(f"no paper {paper_id}")
        _check_versionable(paper, principal)
        _check_parents(session, data.parents, own_id=paper_id)
        _check_builds_on(session, data, own_id=paper_id)
        replaced = version_row(session, paper_id, paper.latest_version)
        replaced.is_latest = False
        paper.latest_version += 1
        paper.updated_at = utcnow()
        version = _new_version(paper, paper.latest_version, prepared)
        session.add(version)
        session.flush()
        index_version(session, version, replaced)
        novelty.record(session, paper_id, assessment, version=paper.latest_version)
        verification_jobs.queue_new_version(session, version, principal.lab_name)
        session.flush()
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
        paper = paper_row(session, paper_id)
        check_ref_version(session, paper_id, ref_version)
        if paper.withdrawn:
            raise ConflictError(f"paper {paper_id} is already withdrawn")
        paper.withdrawn = True
        paper.withdrawn_reason = reason
        paper.updated_at = utcnow()
        verification_jobs.cancel_withdrawn(session, paper_id)
        version = version_row(session, paper_id, paper.latest_version)
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
        paper = paper_row(session, paper_id)
        if paper.withdrawn:
            raise ConflictError(f"paper {paper_id} is withdrawn; it takes no reviews")
        version = version_row(session, paper_id, number or paper.latest_version)
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
        public = review_public(review, paper_id, version.version, principal.lab_name or None)
    log.info(
        "review of %sv%d by %s (%s)", paper_id, public.version, data.reviewer, principal.lab_name
    )
    return public
