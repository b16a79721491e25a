"""Search over the archive: keyword (SQLite FTS5 / PostgreSQL full text), semantic
(MiniLM embeddings computed once at write time), hybrid (reciprocal rank fusion), filters
and aggregations."""
