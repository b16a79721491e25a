"""Write-side of search: the embedding computed once per stored version
(``prepare_embedding``, before the write transaction) and the full-text and category
index rows kept for latest versions only (``index_version``, inside it).

Full-text schema (the arXiv query endpoint writes SQL against it):

- SQLite: FTS5 table ``paper_fts(title, abstract, authors, categories, body)``,
  ``rowid = paper_versions.id``.
- PostgreSQL: ``paper_versions.search_vector`` (weights A title, B abstract,
  C authors + categories, D body) with a GIN index; NULL for non-latest versions.

``paper_categories(category, version_id)`` lists every category of every latest version,
so category filters and counts never read the (large) version rows."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict

from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, text
from sqlalchemy.orm import Session

from agentrxiv.archive.search.embedder import get_embedder, search_text, to_bytes
from agentrxiv.archive.tables import PaperVersion
from agentrxiv.config import get_settings

log = logging.getLogger(__name__)

FTS_TABLE = "paper_fts"
# PostgreSQL tsvectors are limited to 1 MB; papers longer than this are indexed by their start.
PG_BODY_CHARS_INDEXED = 200_000
# Objects the search migration adds beyond ``tables.py`` (schema comparisons skip them).
SEARCH_TABLES = frozenset({FTS_TABLE, "paper_categories"})
SEARCH_COLUMNS = frozenset({("paper_versions", "search_vector")})

search_metadata = MetaData()
paper_categories = Table(
    "paper_categories",
    search_metadata,
    Column("category", String(64), primary_key=True),
    Column("version_id", Integer, ForeignKey("paper_versions.id"), primary_key=True, index=True),
)

PG_SEARCH_VECTOR_SQL = """
    setweight(to_tsvector('english', coalesce(title, '')), 'A')
    || setweight(to_tsvector('english', coalesce(abstract, '')), 'B')
    || setweight(to_tsvector('english', coalesce(authors_text, '') || ' ' || :categories), 'C')
    || setweight(to_tsvector('english', left(coalesce(body, ''), :body_chars)), 'D')
"""

_PREFETCH_LIMIT = 4_096
_prefetched: OrderedDict[str, bytes] = OrderedDict()
_prefetch_lock = threading.Lock()


def _text_key(text_fields: dict[str, str]) -> tuple[str, str]:
    content = search_text(
        text_fields.get("title", ""), text_fields.get("abstract", ""), text_fields.get("body", "")
    )
    return content, hashlib.sha256(content.encode()).hexdigest()


def prefetch_embeddings(papers: list[dict[str, str]]) -> None:
    """Embed many papers in one batch so that bulk imports' ``prepare_embedding`` is a lookup."""
    if not get_settings().embed_on_write or not papers:
        return
    keyed = [_text_key(fields) for fields in papers]
    vectors = get_embedder().encode([content for content, _ in keyed])
    with _prefetch_lock:
        for (_, key), vector in zip(keyed, vectors, strict=True):
            _prefetched[key] = to_bytes(vector)
        while len(_prefetched) > _PREFETCH_LIMIT:
            _prefetched.popitem(last=False)


def prepare_embedding(text_fields: dict[str, str]) -> bytes | None:
    """The float32 little-endian embedding of a paper's search text, or None if disabled."""
    if not get_settings().embed_on_write:
        return None
    content, key = _text_key(text_fields)
    with _prefetch_lock:
        cached = _prefetched.pop(key, None)
    if cached is not None:
        return cached
    return to_bytes(get_embedder().encode_one(content))


def index_version(session: Session, version: PaperVersion, replaced: PaperVersion | None) -> None:
    """Index ``version`` (now the latest) and drop ``replaced`` (the previous latest)."""
    if replaced is not None:
        unindex_version(session, replaced.id)
    categories = list(dict.fromkeys(version.categories or []))
    if categories:
        session.execute(
            paper_categories.insert(),
            [{"category": cat, "version_id": version.id} for cat in categories],
        )
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                f"UPDATE paper_versions SET search_vector = {PG_SEARCH_VECTOR_SQL} WHERE id = :id"
            ),
            {
                "id": version.id,
                "categories": " ".join(categories),
                "body_chars": PG_BODY_CHARS_INDEXED,
            },
        )
        return
    session.execute(
        text(
            f"INSERT INTO {FTS_TABLE} (rowid, title, abstract, authors, categories, body) "
            "VALUES (:id, :title, :abstract, :authors, :categories, :body)"
        ),
        {
            "id": version.id,
            "title": version.title,
            "abstract": version.abstract,
            "authors": version.authors_text or "",
            "categories": " ".join(categories),
            "body": version.body or "",
        },
    )


def unindex_version(session: Session, version_id: int) -> None:
    """Remove a version from the full-text and category indexes."""
    session.execute(paper_categories.delete().where(paper_categories.c.version_id == version_id))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("UPDATE paper_versions SET search_vector = NULL WHERE id = :id"),
            {"id": version_id},
        )
    else:
        session.execute(text(f"DELETE FROM {FTS_TABLE} WHERE rowid = :id"), {"id": version_id})
