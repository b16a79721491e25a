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


def _sqlite_matches(session: Session, expression: str) -> list[tuple[int, float]]:
    weights = ", ".join(str(weight) for weight in BM25_WEIGHTS)
    rows = session.execute(
        text(
            f"SELECT rowid, bm25({FTS_TABLE}, {weights}) AS rank FROM {FTS_TABLE} "
            f"WHERE {FTS_TABLE} MATCH :expression ORDER BY rank"
        ),
        {"expression": expression},
    )
    # bm25() is lower-is-better; expose higher-is-better scores.
    return [(int(rowid), -float(rank)) for rowid, rank in rows]


def _postgres_matches(session: Session, websearch: str) -> list[tuple[int, float]]:
    rows = session.execute(
        text(
            "SELECT id, ts_rank_cd(search_vector, query) AS rank "
            "FROM paper_versions, websearch_to_tsquery('english', :q) AS query "
            "WHERE search_vector @@ query ORDER BY rank DESC, id DESC"
        ),
        {"q": websearch},
    )
    return [(int(version_id), float(rank)) for version_id, rank in rows]


def keyword_matches(session: Session, query: str) -> list[tuple[int, float]]:
    """Every indexed (latest) version matching ``query`` as ``(version_id, score)``, best first."""
    terms = query_terms(query)
    if not terms:
        return []
    if session.get_bind().dialect.name == "postgresql":
        matches = _postgres_matches(session, " ".join(terms))
        if not matches and len(terms) > 1:
            matches = _postgres_matches(session, " or ".join(terms))
        return matches
    matches = _sqlite_matches(session, fts5_expression(terms))
    if not matches and len(terms) > 1:
        matches = _sqlite_matches(session, fts5_expression(terms, any_term=True))
    return matches
