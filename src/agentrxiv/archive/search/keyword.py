"""Keyword search: SQLite FTS5 ``bm25`` (title and abstract weighted above body) or PostgreSQL
``websearch_to_tsquery`` ranked with ``ts_rank_cd``. User text never reaches the query
parser unquoted, so input such as ``"foo`` or ``AND OR (`` cannot cause an error.

All terms must match; when nothing matches every term, papers matching any term are ranked
instead (more terms matched rank higher), so long natural-language queries still find work.

In a large SQLite archive a query matching thousands of papers takes its candidates from the
keyword index (``keyword_index``) and the database scores only those, plus every version
newer than the index: the same scores and order as ranking every match, for the matches
the index proposes."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from agentrxiv.archive.search.index import FTS_TABLE
from agentrxiv.archive.search.keyword_index import FIELD_BOOSTS, RESCAN_WINDOW, ready_index

log = logging.getLogger(__name__)

# bm25 column weights in paper_fts order: title, abstract, authors, categories, body (the
# keyword index weighs its fields the same way).
BM25_WEIGHTS = tuple(FIELD_BOOSTS.values())
MAX_TERMS = 32
_WORD = re.compile(r"\w+", re.UNICODE)


def query_terms(query: str) -> list[str]:
    """The words of ``query`` (letters, digits, underscore), at most ``MAX_TERMS``."""
    return _WORD.findall(query)[:MAX_TERMS]


def fts5_expression(terms: list[str], any_term: bool = False) -> str:
    """An FTS5 MATCH expression with every term quoted as a string (no operators parsed)."""
    joiner = " OR " if any_term else " "
    return joiner.join(f'"{term}"' for term in terms)


# Above this many excluded (withdrawn) versions, filter in Python instead of in SQL.
MAX_SQL_EXCLUDED = 500
# With a keyword index in use (``keyword_index``): queries matching more papers than this
# take their candidates from it; ranking every match of rarer queries costs a few ms.
EXACT_MATCHES = 5_000
# The deepest page taken from the index's candidates, and how many candidates it fetches
# (the database re-scores them; the two rankers' orders differ, so it fetches more).
MAX_INDEXED_DEPTH = 200
FETCH_FACTOR = 4
FETCH_EXTRA = 150


@dataclass(frozen=True)
class _Ranker:
    """One database's full-text ranking, as SQL pieces around a ``:expression``."""

    id: str
    source: str
    score: str
    order: str
    sign: float  # turns the database's score into higher-is-better


_WEIGHTS = ", ".join(str(weight) for weight in BM25_WEIGHTS)
_SQLITE = _Ranker(
    id="rowid",
    source=f"FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :expression",
    score=f"bm25({FTS_TABLE}, {_WEIGHTS})",
    order="ORDER BY score",
    sign=-1.0,  # bm25() is lower-is-better
)
_POSTGRES = _Ranker(
    id="id",
    source="FROM paper_versions, websearch_to_tsquery('english', :expression) AS query "
    "WHERE search_vector @@ query",
    score="ts_rank_cd(search_vector, query)",
    order="ORDER BY score DESC, id DESC",
    sign=1.0,
)


def _exclusion(column: str, excluded: set[int]) -> tuple[str, dict[str, object]]:
    if not excluded:
        return "", {}
    names = {f"x{i}": version_id for i, version_id in enumerate(sorted(excluded))}
    return f" AND {column} NOT IN ({', '.join(':' + n for n in names)})", names


def _where(ranker: _Ranker, expression: str, excluded: set[int]) -> tuple[str, dict[str, object]]:
    where, params = _exclusion(ranker.id, excluded)
    return ranker.source + where, {"expression": expression, **params}


def _ranked(
    session: Session, ranker: _Ranker, expression: str, limit: int | None, excluded: set[int]
) -> list[tuple[int, float]]:
    """Every match (or the best ``limit``) ranked by the database, best first."""
    source, params = _where(ranker, expression, excluded)
    sql = f"SELECT {ranker.id}, {ranker.score} AS score {source} {ranker.order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [(int(v), ranker.sign * float(s)) for v, s in session.execute(text(sql), params)]


def _count(session: Session, ranker: _Ranker, expression: str, excluded: set[int]) -> int:
    # Counting skips the score, which dominates the cost of ranking every match.
    source, params = _where(ranker, expression, excluded)
    return int(session.scalar(text(f"SELECT count(*) {source}"), params) or 0)


def _rescored(
    session: Session,
    ranker: _Ranker,
    expression: str,
    candidates: list[int],
    newer_than: int,
    excluded: set[int],
) -> list[tuple[int, float]]:
    """The matches among ``candidates`` and above ``newer_than``, scored by the database
    (only rows passing the filter are scored), best first."""
    source, params = _where(ranker, expression, excluded)
    sql = text(
        f"SELECT {ranker.id}, {ranker.score} AS score {source} "
        f"AND ({ranker.id} IN :candidates OR {ranker.id} > :newer_than)"
    ).bindparams(bindparam("candidates", expanding=True))
    params.update(candidates=candidates, newer_than=newer_than)
    rows = [(int(v), ranker.sign * float(s)) for v, s in session.execute(sql, params)]
    return sorted(rows, key=lambda row: (-row[1], -row[0]))


def _from_index(
    session: Session,
    ranker: _Ranker,
    terms: list[str],
    any_term: bool,
    expression: str,
    limit: int,
    excluded: set[int],
) -> tuple[list[tuple[int, float]], int] | None:
    """The best ``limit`` matches through the keyword index, or None where the database
    should rank every match (no index, few matches, or the candidates fell short)."""
    keywords = ready_index(session)
    if keywords is None:
        return None
    total = _count(session, ranker, expression, excluded)
    if total <= EXACT_MATCHES:
        return _ranked(session, ranker, expression, limit, excluded), total
    newer_than = keywords.watermark - RESCAN_WINDOW  # read before the search that it covers
    fetch = max(FETCH_FACTOR * limit, limit + FETCH_EXTRA) + len(excluded)
    try:
        candidates = keywords.candidates(terms, any_term, fetch)
    except ValueError as exc:  # a query tantivy cannot parse: the database ranks it
        log.warning("keyword index cannot run %r: %s", terms, exc)
        return None
    rows = _rescored(session, ranker, expression, candidates, newer_than, excluded)
    if len(rows) < min(limit, total):
        return None
    return rows[:limit], total


def _matches(
    session: Session,
    ranker: _Ranker,
    terms: list[str],
    any_term: bool,
    limit: int | None,
    excluded: set[int],
) -> tuple[list[tuple[int, float]], int]:
    if ranker is _POSTGRES:
        expression = (" or " if any_term else " ").join(terms)
    else:
        expression = fts5_expression(terms, any_term)
    if limit is not None and limit <= MAX_INDEXED_DEPTH:
        found = _from_index(session, ranker, terms, any_term, expression, limit, excluded)
        if found is not None:
            return found
    rows = _ranked(session, ranker, expression, limit, excluded)
    if limit is None or len(rows) < limit:
        return rows, len(rows)
    return rows, _count(session, ranker, expression, excluded)


def keyword_matches(
    session: Session, query: str, limit: int | None = None, excluded: set[int] | None = None
) -> tuple[list[tuple[int, float]], int]:
    """The best ``limit`` (default all) indexed versions matching ``query``, not in
    ``excluded``, as ``(version_id, score)`` best first, and how many match in all."""
    terms = query_terms(query)
    if not terms:
        return [], 0
    excluded = excluded or set()
    if len(excluded) > MAX_SQL_EXCLUDED:
        rows, _ = keyword_matches(session, query)
        kept = [(v, score) for v, score in rows if v not in excluded]
        return (kept if limit is None else kept[:limit]), len(kept)
    ranker = _POSTGRES if session.get_bind().dialect.name == "postgresql" else _SQLITE
    rows, total = _matches(session, ranker, terms, False, limit, excluded)
    if total == 0 and len(terms) > 1:
        rows, total = _matches(session, ranker, terms, True, limit, excluded)
    return rows, total
