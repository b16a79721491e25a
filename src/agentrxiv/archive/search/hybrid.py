"""The search entry point: keyword, semantic or hybrid (reciprocal rank fusion, k=60) ranking
under filters, paged, returning ``SearchResponse`` with the papers' summaries."""

from __future__ import annotations

import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from agentrxiv.archive.rows import SUMMARY_COLUMNS, aware
from agentrxiv.archive.schemas import SearchHit, SearchMode, SearchResponse
from agentrxiv.archive.search.embedder import get_embedder
from agentrxiv.archive.search.filters import Candidates, SearchFilters, candidates
from agentrxiv.archive.search.keyword import keyword_matches
from agentrxiv.archive.search.semantic import semantic_rank, unembedded_count
from agentrxiv.archive.tables import Lab, Paper, PaperVersion
from agentrxiv.errors import ArchiveError

log = logging.getLogger(__name__)

RRF_K = 60
# Hybrid fuses at least this many of each list's best, so page 1 sees both lists' heads.
MIN_FUSION_DEPTH = 50
MAX_QUERY_CHARS = 1_000
MAX_OFFSET = 10_000
# Hybrid runs its keyword query here, on its own connection, while the calling thread embeds
# the query and scores the matrix: sqlite3, psycopg and torch release the GIL while working.
_keyword_workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hybrid-keyword")


def reciprocal_rank_fusion(*rankings: list[int], k: int = RRF_K) -> list[tuple[int, float]]:
    """Fuse ranked id lists: score = sum of 1 / (k + rank), best first (ties by first seen)."""
    fused: dict[int, float] = defaultdict(float)
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] += 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda pair: -pair[1])


def _validate(query: str, mode: str, k: int, offset: int) -> str:
    query = query.strip()
    if not query:
        raise ArchiveError("q must not be empty", status=422)
    if len(query) > MAX_QUERY_CHARS:
        raise ArchiveError(f"q is longer than {MAX_QUERY_CHARS} characters", status=422)
    if mode not in ("keyword", "semantic", "hybrid"):
        raise ArchiveError("mode must be keyword, semantic or hybrid", status=422)
    if not 1 <= k <= 100:
        raise ArchiveError("k must be between 1 and 100", status=422)
    if not 0 <= offset <= MAX_OFFSET:
        raise ArchiveError(f"offset must be between 0 and {MAX_OFFSET}", status=422)
    return query


def _keyword(
    session: Session, query: str, admitted: Candidates, depth: int
) -> tuple[list[tuple[int, float]], int]:
    """The best ``depth`` admitted keyword matches and how many are admitted in all."""
    if admitted.allowed is None:
        return keyword_matches(session, query, limit=depth, excluded=admitted.blocked)
    matches = [(v, s) for v, s in keyword_matches(session, query)[0] if v in admitted.allowed]
    return matches[:depth], len(matches)


def concurrent_engine(session: Session) -> Engine | None:
    """The engine a second connection can come from, or None (in-memory SQLite, or a
    session bound to one connection), in which case hybrid runs its parts in turn."""
    bind = session.get_bind()
    if not isinstance(bind, Engine):
        return None
    if bind.dialect.name == "sqlite" and bind.url.database in (None, "", ":memory:"):
        return None
    return bind


def _keyword_on_own_session(
    engine: Engine, query: str, admitted: Candidates, depth: int
) -> tuple[list[tuple[int, float]], int]:
    with Session(engine) as session:
        return _keyword(session, query, admitted, depth)


def _hybrid(
    session: Session, query: str, depth: int, admitted: Candidates, floor: float | None = None
) -> tuple[list[tuple[int, float]], int]:
    """Fuse keyword and semantic rankings, computing the keyword one concurrently if it can.
    ``floor`` drops semantic matches below that cosine; keyword matches (the query's words
    literally in the paper) always take part."""
    depth = max(depth, MIN_FUSION_DEPTH)
    engine = concurrent_engine(session)
    pending = None
    if engine is not None:
        pending = _keyword_workers.submit(_keyword_on_own_session, engine, query, admitted, depth)
    vector = get_embedder().encode_one(query)
    semantic, total = semantic_rank(session, vector, admitted, depth, floor)
    if pending is not None:
        keyword, keyword_total = pending.result()
    else:
        keyword, keyword_total = _keyword(session, query, admitted, depth)
    keyword_ids = [v for v, _ in keyword]
    semantic_ids = [v for v, _ in semantic]
    fused = reciprocal_rank_fusion(keyword_ids, semantic_ids)
    if floor is None:
        # Every embedded paper is a semantic match; keyword matches without a vector add.
        return fused, max(total + unembedded_count(session, keyword_ids), keyword_total)
    # Semantic matches above the floor plus keyword matches not among them.
    seen = set(semantic_ids)
    return fused, max(total + sum(1 for v in keyword_ids if v not in seen), keyword_total)


def _ranked(
    session: Session,
    query: str,
    mode: SearchMode,
    depth: int,
    admitted: Candidates,
    floor: float | None = None,
) -> tuple[list[tuple[int, float]], int]:
    """The best ``depth`` (at least) ``(version_id, score)`` for the mode, and the total."""
    if mode == "keyword":
        return _keyword(session, query, admitted, depth)
    if mode == "hybrid":
        return _hybrid(session, query, depth, admitted, floor)
    vector = get_embedder().encode_one(query)
    return semantic_rank(session, vector, admitted, depth, floor)


def summaries(session: Session, scored: list[tuple[int, float]]) -> list[SearchHit]:
    """Search hits for ``(version_id, score)`` pairs, in the given order (bodies not read)."""
    if not scored:
        return []
    rows = session.execute(
        select(
            *SUMMARY_COLUMNS,
            Lab.name,
            Paper.withdrawn,
            Paper.created_at,
            Paper.updated_at,
        )
        .join(Paper, Paper.id == PaperVersion.paper_id)
        .join(Lab, Lab.id == Paper.lab_id)
        .where(PaperVersion.id.in_([version_id for version_id, _ in scored]))
    ).all()
    by_id = {row[0]: row for row in rows}
    hits = []
    for version_id, score in scored:
        row = by_id.get(version_id)
        if row is None:
            continue  # deleted between ranking and reading; nothing to show
        _, paper_id, version, title, abstract, authors, categories, lab, withdrawn, cr, up = row
        hits.append(
            SearchHit(
                id=paper_id,
                version=version,
                title=title,
                abstract=abstract,
                authors=authors or [],
                categories=categories or [],
                lab=lab,
                withdrawn=withdrawn,
                created_at=aware(cr),
                updated_at=aware(up),
                score=round(score, 6),
            )
        )
    return hits


def search(
    session: Session,
    query: str,
    mode: SearchMode = "hybrid",
    k: int = 10,
    offset: int = 0,
    filters: SearchFilters | None = None,
    min_score: float | None = None,
) -> SearchResponse:
    """Search latest, non-withdrawn papers; ``total`` counts every paper that matched.

    ``min_score`` is the relevance floor of semantic and hybrid search: papers whose cosine
    similarity to the query is below it are not semantic matches (hybrid keeps keyword
    matches). None: no floor (the API and pages pass ``Settings.search_min_score``)."""
    query = _validate(query, mode, k, offset)
    if min_score is not None and not -1.0 <= min_score <= 1.0:
        raise ArchiveError("min_score must be a cosine similarity between -1 and 1", status=422)
    floor = min_score if mode != "keyword" else None
    admitted = candidates(session, filters or SearchFilters())
    ranked, total = _ranked(session, query, mode, offset + k, admitted, floor)
    page = summaries(session, ranked[offset : offset + k])
    log.debug("search %r mode=%s total=%d", query, mode, total)
    note = None
    if floor is not None and total == 0:
        note = f"no close matches: no paper's similarity to the query reaches {floor:g}"
    return SearchResponse(
        query=query, mode=mode, total=total, offset=offset, items=page, min_score=floor, note=note
    )
