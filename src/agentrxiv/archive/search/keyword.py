"""Keyword search: SQLite FTS5 ``bm25`` (title and abstract weighted above body) or PostgreSQL
``websearch_to_tsquery`` ranked with ``ts_rank_cd``. User text never reaches the query
parser unquoted, so input such as ``"foo`` or ``AND OR (`` cannot cause an error.

All terms must match; when nothing matches every term, papers matching any term are ranked
instead (more terms matched rank higher), so long natural-language queries still find work."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.orm import Session

from agentrxiv.archive.search.index import FTS_TABLE

# bm25 column weights in paper_fts order: title, abstract, authors, categories, body.
BM25_WEIGHTS = (10.0, 5.0, 3.0, 3.0, 1.0)
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


def _exclusion(column: str, excluded: set[int]) -> tuple[str, dict[str, object]]:
    if not excluded:
        return "", {}
    names = {f"x{i}": version_id for i, version_id in enumerate(sorted(excluded))}
    return f" AND {column} NOT IN ({', '.join(':' + n for n in names)})", names


def _sqlite_matches(
    session: Session, expression: str, limit: int | None, excluded: set[int]
) -> tuple[list[tuple[int, float]], int]:
    weights = ", ".join(str(weight) for weight in BM25_WEIGHTS)
    where, params = _exclusion("rowid", excluded)
    match = f"FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :expression{where}"
    params = {"expression": expression, **params}
    sql = f"SELECT rowid, bm25({FTS_TABLE}, {weights}) AS rank {match} ORDER BY rank"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    # bm25() is lower-is-better; expose higher-is-better scores.
    rows = [(int(rowid), -float(rank)) for rowid, rank in session.execute(text(sql), params)]
    if limit is None or len(rows) < limit:
        return rows, len(rows)
    # Counting skips bm25, which dominates the cost of ranking every match.
    return rows, int(session.scalar(text(f"SELECT count(*) {match}"), params) or 0)


def _postgres_matches(
    session: Session, websearch: str, limit: int | None, excluded: set[int]
) -> tuple[list[tuple[int, float]], int]:
    where, params = _exclusion("id", excluded)
    match = (
        "FROM paper_versions, websearch_to_tsquery('english', :q) AS query "
        f"WHERE search_vector @@ query{where}"
    )
    params = {"q": websearch, **params}
    sql = f"SELECT id, ts_rank_cd(search_vector, query) AS rank {match} ORDER BY rank DESC, id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = [(int(v), float(rank)) for v, rank in session.execute(text(sql), params)]
    if limit is None or len(rows) < limit:
        return rows, len(rows)
    return rows, int(session.scalar(text(f"SELECT count(*) {match}"), params) or 0)


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
    if session.get_bind().dialect.name == "postgresql":
        every, anyone = " ".join(terms), " or ".join(terms)
        find = _postgres_matches
    else:
        every, anyone = fts5_expression(terms), fts5_expression(terms, any_term=True)
        find = _sqlite_matches
    rows, total = find(session, every, limit, excluded)
    if total == 0 and len(terms) > 1:
        rows, total = find(session, anyone, limit, excluded)
    return rows, total
