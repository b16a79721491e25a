"""Search over the archive: keyword (SQLite FTS5 / PostgreSQL full text), semantic
(MiniLM embeddings computed once at write time), hybrid (reciprocal rank fusion), filters
and aggregations. ``search(session, query, mode, k, offset, filters)`` is the entry point."""

from agentrxiv.archive.search.filters import SearchFilters
from agentrxiv.archive.search.hybrid import search

__all__ = ["SearchFilters", "search"]
