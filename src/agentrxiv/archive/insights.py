"""Insights: at most three strategies and three pitfalls a lab distilled from one of its
verified papers, each stored with its evidence (the verified difference over the baseline
with its interval, benchmark, model: copied from the stored verification the posted evidence
names, never taken as posted), the paper, the lab and the campaign.

Search: keyword (query terms found in the text), semantic (MiniLM cosine against the
embedding stored at write time) or hybrid (reciprocal rank fusion of both, as paper search
does), under filters for benchmark, campaign, lab, paper and kind."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from agentrxiv.archive.auth import Principal
from agentrxiv.archive.db import Database
from agentrxiv.archive.id_format import parse_ref
from agentrxiv.archive.rows import aware
from agentrxiv.archive.schemas import (
    InsightBatch,
    InsightEvidence,
    InsightList,
    InsightPublic,
    SearchMode,
)
from agentrxiv.archive.search.embedder import from_bytes, get_embedder, to_bytes
from agentrxiv.archive.search.hybrid import reciprocal_rank_fusion
from agentrxiv.archive.submission import check_storable_text
from agentrxiv.archive.tables import (
    Insight,
    Lab,
    Paper,
    PaperNovelty,
    PaperVersion,
    Verification,
    utcnow,
)
from agentrxiv.config import get_settings
from agentrxiv.errors import ArchiveError, ForbiddenError, NotFoundError

log = logging.getLogger(__name__)

MAX_SCANNED = 20_000  # newest insights a query ranks (insights are few per paper)
WORD = re.compile(r"[a-z0-9][a-z0-9\-]{2,}")
SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "ly", "s", "e")


@dataclass(frozen=True)
class InsightFilters:
    """Restrictions on which insights a query sees; ``None`` means any."""

    benchmark: str | None = None
    campaign: str | None = None
    lab: str | None = None
    paper: str | None = None
    kind: str | None = None


def _campaign_of(session: Session, paper: Paper) -> str | None:
    campaign = getattr(paper, "campaign_id", None)  # the campaigns feature's column
    if campaign:
        return str(campaign)
    return session.scalar(select(PaperNovelty.campaign).where(PaperNovelty.paper_id == paper.id))


def _embed(texts: list[str]) -> list[bytes | None]:
    if not get_settings().embed_on_write:
        return [None] * len(texts)
    return [to_bytes(v) for v in get_embedder().encode(texts)]


def to_public(row: Insight, lab: str, title: str = "", score: float | None = None) -> InsightPublic:
    """The public form of a stored insight."""
    return InsightPublic(
        id=row.id,
        paper_id=row.paper_id,
        paper_title=title,
        kind=row.kind,
        text=row.text,
        evidence=InsightEvidence(
            benchmark=row.benchmark,
            model=row.model,
            metric=row.metric,
            split=row.split,
            difference=row.difference,
            ci_low=row.ci_low,
            ci_high=row.ci_high,
            status=row.status,
            verification_id=row.verification_id,
        ),
        lab=lab,
        campaign=row.campaign,
        created_at=aware(row.created_at),
        score=None if score is None else round(score, 6),
    )


def create(db: Database, principal: Principal, batch: InsightBatch) -> list[InsightPublic]:
    """Store the insights of one of the caller's papers, replacing any it had."""
    check_storable_text(batch.model_dump())
    vectors = _embed([item.text for item in batch.insights])
    with db.write() as session:
        paper = session.get(Paper, batch.paper_id)
        if paper is None:
            raise NotFoundError(f"no paper {batch.paper_id}")
        if paper.lab_id != principal.lab_id and not principal.is_admin:
            raise ForbiddenError(f"paper {paper.id} belongs to another lab")
        evidence = stored_evidence(session, paper.id, batch.evidence.verification_id)
        # A later distillation (e.g. after the paper was verified) replaces the earlier one.
        session.execute(delete(Insight).where(Insight.paper_id == paper.id))
        campaign, now = _campaign_of(session, paper), utcnow()
        rows = [
            Insight(
                paper_id=paper.id,
                lab_id=paper.lab_id,
                kind=item.kind,
                text=item.text.strip(),
                campaign=campaign,
                embedding=vector,
                created_at=now,
                **evidence.model_dump(),
            )
            for item, vector in zip(batch.insights, vectors, strict=True)
        ]
        session.add_all(rows)
        session.flush()
        title = _title(session, paper.id)
        public = [to_public(row, paper.lab.name, title) for row in rows]
    log.info("%d insights on %s by %s", len(public), batch.paper_id, principal.lab_name)
    return public


def stored_evidence(
    session: Session, paper_id: str, verification_id: int | None
) -> InsightEvidence:
    """The evidence of an insight, copied from the stored verification it names (422 when it
    names none, or one of another paper)."""
    if verification_id is None:
        raise ArchiveError(
            "evidence.verification_id must name a stored verification of the paper; the "
            "evidence numbers are taken from it",
            status=422,
        )
    row = session.get(Verification, verification_id)
    if row is None or row.paper_id != paper_id:
        raise ArchiveError(
            f"verification {verification_id} is not a stored verification of {paper_id}",
            status=422,
        )
    record = row.record or {}
    return InsightEvidence(
        verification_id=row.id,
        benchmark=row.benchmark,
        model=row.model,
        split=row.split,
        difference=record.get("delta"),
        ci_low=record.get("delta_low"),
        ci_high=record.get("delta_high"),
        status=row.status,
    )


def _title(session: Session, paper_id: str) -> str:
    return (
        session.scalar(
            select(PaperVersion.title).where(
                PaperVersion.paper_id == paper_id, PaperVersion.is_latest.is_(True)
            )
        )
        or ""
    )


def _filtered(filters: InsightFilters) -> Select[tuple[Insight, str, str]]:
    query = (
        select(Insight, Lab.name, PaperVersion.title)
        .join(Lab, Lab.id == Insight.lab_id)
        .join(Paper, Paper.id == Insight.paper_id)
        .join(
            PaperVersion,
            (PaperVersion.paper_id == Insight.paper_id) & PaperVersion.is_latest.is_(True),
        )
        .where(Paper.withdrawn.is_(False))
    )
    if filters.benchmark:
        query = query.where(Insight.benchmark == filters.benchmark)
    if filters.campaign:
        query = query.where(Insight.campaign == filters.campaign)
    if filters.lab:
        query = query.where(Lab.name == filters.lab)
    if filters.paper:
        query = query.where(Insight.paper_id == parse_ref(filters.paper)[0])
    if filters.kind:
        query = query.where(Insight.kind == filters.kind)
    return query.order_by(Insight.created_at.desc(), Insight.id.desc())


def _stem(word: str) -> str:
    """A crude English stem, so that "vote", "votes" and "voting" match."""
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _terms(text: str) -> set[str]:
    return {_stem(word) for word in WORD.findall(text.lower())}


def _keyword_rank(rows: list[tuple[Insight, str, str]], query: str) -> list[tuple[int, float]]:
    terms = _terms(query)
    ranked = []
    for index, (row, _, title) in enumerate(rows):
        words = _terms(f"{row.text} {row.benchmark} {title}")
        hits = len(terms & words)
        if hits:
            ranked.append((index, hits / max(1, len(terms))))
    return sorted(ranked, key=lambda pair: -pair[1])


def _semantic_rank(rows: list[tuple[Insight, str, str]], query: str) -> list[tuple[int, float]]:
    embedded = [(i, row.embedding) for i, (row, _, _) in enumerate(rows) if row.embedding]
    if not embedded:
        return []
    matrix = np.vstack([from_bytes(blob) for _, blob in embedded])
    cosines = matrix @ get_embedder().encode_one(query)
    order = np.argsort(-cosines, kind="stable")
    return [(embedded[int(r)][0], float(cosines[int(r)])) for r in order]


def _ranked(
    rows: list[tuple[Insight, str, str]], query: str, mode: SearchMode
) -> list[tuple[int, float]]:
    if mode == "keyword":
        return _keyword_rank(rows, query)
    if mode == "semantic":
        return _semantic_rank(rows, query)
    keyword = [i for i, _ in _keyword_rank(rows, query)]
    semantic = [i for i, _ in _semantic_rank(rows, query)]
    return reciprocal_rank_fusion(keyword, semantic)


def search(
    session: Session,
    query: str | None,
    mode: SearchMode = "hybrid",
    k: int = 10,
    offset: int = 0,
    filters: InsightFilters | None = None,
) -> InsightList:
    """Insights ranked by ``query`` (or newest first without one) under ``filters``."""
    if mode not in ("keyword", "semantic", "hybrid"):
        raise ArchiveError("mode must be keyword, semantic or hybrid", status=422)
    rows = list(session.execute(_filtered(filters or InsightFilters()).limit(MAX_SCANNED)).tuples())
    query = (query or "").strip()
    newest: list[tuple[int, float | None]] = [(i, None) for i in range(len(rows))]
    ranked = _ranked(rows, query, mode) if query else newest
    page = ranked[offset : offset + k]
    items = [to_public(rows[i][0], rows[i][1], rows[i][2], score) for i, score in page]
    return InsightList(total=len(ranked), items=items)


def of_paper(session: Session, paper_id: str) -> list[InsightPublic]:
    """A paper's insights, strategies first, in the order they were given."""
    rows = session.execute(
        select(Insight, Lab.name)
        .join(Lab, Lab.id == Insight.lab_id)
        .where(Insight.paper_id == paper_id)
        .order_by(Insight.kind.desc(), Insight.id)
    ).all()
    return [to_public(row, lab) for row, lab in rows]
