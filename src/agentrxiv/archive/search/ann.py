"""The approximate nearest-neighbour index of semantic search: a usearch HNSW graph of int8
vectors keyed by version id, used once the archive holds ``search_index_min_papers``
embedded latest versions (below that the exact scan is fast enough and exact).

The database stays the only source of truth. The index file is a cache kept beside the
database (``archive.sqlite`` -> ``archive.sqlite.v1-i8-c32-a256.usearch``; for PostgreSQL
under ``<home>/search-index/``): written to a private temporary file and renamed over the old
one, so a killed process leaves the previous complete file, and several processes sharing one
database may each write it (the last rename wins; every version is a valid snapshot). On
load the file is reconciled with the database's embeddings: keys the database no longer
holds as latest are removed, missing ones added, and a sample of vectors compared, so a file
from a recreated database is rebuilt rather than trusted."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

import numpy as np
from sqlalchemy.engine import make_url

from agentrxiv.archive.search.embedder import EMBEDDING_DIM

log = logging.getLogger(__name__)

# Chosen by measuring (benchmarks/ann_bench.py, docs/search.md): int8 at a quarter of
# float32's memory (an exact scan of the int8 vectors, re-ranked, loses nothing at 1M).
# Topical (clustered) vectors trap a narrow graph search: 128 candidates while searching
# gave recall@10 0.92 after exact re-ranking, 512 gave 0.99 at under 1 ms (30k papers).
# At 1M papers the build decides recall: with 16 links and 128 candidates while adding 15%
# of the nodes could not find themselves (recall 0.91); 32 links and 256 candidates while
# adding reach 0.96 (32/128: 0.94), at about twice the build time and +24% file size.
DTYPE = "i8"
CONNECTIVITY = 32
EXPANSION_ADD = 256
EXPANSION_SEARCH = 512
FILE_SUFFIX = f".v1-{DTYPE}-c{CONNECTIVITY}-a{EXPANSION_ADD}.usearch"
# Vectors compared between a loaded file and the database; a cosine below this is a file
# built from other vectors (int8 rounding keeps the same vector above 0.99).
CHECK_SAMPLE = 64
SAME_VECTOR_COSINE = 0.97
_ADD_CHUNK = 20_000


def index_path(url: str, home: Path) -> Path | None:
    """Where the index of the database at ``url`` is kept (None: an in-memory database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            return None
        database = Path(parsed.database)
        return database.with_name(database.name + FILE_SUFFIX)
    # The password is not part of which database it is.
    identity = parsed.set(password=None).render_as_string(hide_password=False)
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return home / "search-index" / f"{digest}{FILE_SUFFIX}"


class RowView:
    """Rows ``rows`` of ``base`` without copying them all (indexing copies only the part read)."""

    def __init__(self, base: np.ndarray, rows: np.ndarray) -> None:
        self.base, self.rows = base, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, item: slice | np.ndarray) -> np.ndarray:
        return self.base[self.rows[item]]


Vectors = np.ndarray | RowView


def _keys(version_ids: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(version_ids, dtype=np.uint64)


class AnnIndex:
    """One in-memory HNSW index over (version id, unit vector) pairs; not thread-safe
    (semantic search calls it under its matrix's lock)."""

    def __init__(self, index: object | None = None) -> None:
        from usearch.index import Index

        self.index = index or Index(
            ndim=EMBEDDING_DIM,
            metric="cos",
            dtype=DTYPE,
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )
        self.changes_since_save = 0

    def __len__(self) -> int:
        return len(self.index)  # type: ignore[arg-type]

    def add(self, version_ids: np.ndarray, vectors: Vectors, threads: int = 1) -> None:
        """Add rows (float16 or float32 unit vectors), in chunks to bound the float32 copy."""
        for start in range(0, len(version_ids), _ADD_CHUNK):
            chunk = np.asarray(vectors[start : start + _ADD_CHUNK], dtype=np.float32)
            self.index.add(  # type: ignore[attr-defined]
                _keys(version_ids[start : start + _ADD_CHUNK]), chunk, threads=threads
            )
        self.changes_since_save += len(version_ids)

    def remove(self, version_ids: np.ndarray) -> None:
        """Remove keys (those absent are ignored)."""
        if len(version_ids):
            self.index.remove(_keys(version_ids))  # type: ignore[attr-defined]
            self.changes_since_save += len(version_ids)

    def search(self, vector: np.ndarray, count: int) -> np.ndarray:
        """The version ids of (about) the ``count`` nearest vectors, nearest first."""
        count = max(1, min(count, len(self)))
        query = np.asarray(vector, dtype=np.float32)
        matches = self.index.search(query, count)  # type: ignore[attr-defined]
        return np.asarray(matches.keys, dtype=np.int64)

    def keys(self) -> np.ndarray:
        """Every version id the index holds."""
        return np.asarray(self.index.keys, dtype=np.int64)  # type: ignore[attr-defined]

    def reconcile(self, version_ids: np.ndarray, vectors: Vectors, threads: int = 1) -> bool:
        """Make the index hold exactly ``version_ids`` (rows of ``vectors``); False if its
        vectors are not those of the database (the caller rebuilds)."""
        held = self.keys()
        common, in_index, in_db = np.intersect1d(held, version_ids, return_indices=True)
        if len(common):
            picks = np.random.default_rng(0).choice(
                len(common), min(CHECK_SAMPLE, len(common)), replace=False
            )
            stored = np.asarray(self.index.get(_keys(common[picks]), dtype=np.float32))  # type: ignore[attr-defined]
            expected = np.asarray(vectors[in_db[picks]], dtype=np.float32)
            norms = np.linalg.norm(stored, axis=1) * np.linalg.norm(expected, axis=1)
            cosines = (stored * expected).sum(axis=1) / np.maximum(norms, 1e-12)
            if float(cosines.min()) < SAME_VECTOR_COSINE:
                return False
        del in_index
        self.remove(np.setdiff1d(held, version_ids, assume_unique=True))
        missing = np.isin(version_ids, common, assume_unique=True, invert=True)
        self.add(version_ids[missing], vectors[missing], threads=threads)
        return True

    def save(self, path: Path) -> None:
        """Write the index to ``path`` atomically (a private file, then a rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            self.index.save(str(temporary))  # type: ignore[attr-defined]
            with open(temporary, "rb") as written:
                os.fsync(written.fileno())
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        self.changes_since_save = 0

    @classmethod
    def load(cls, path: Path) -> AnnIndex | None:
        """The index saved at ``path``, or None if there is none or it cannot be used."""
        from usearch.index import Index

        if not path.is_file():
            return None
        try:
            meta = Index.metadata(str(path))
            if not meta or meta.get("dimensions") != EMBEDDING_DIM:
                return None
            index = Index.restore(str(path))
        except (OSError, RuntimeError, ValueError) as exc:
            log.warning("search index %s unreadable (%s); rebuilding", path, exc)
            return None
        if index is None or index.ndim != EMBEDDING_DIM:
            return None
        index.expansion_search = EXPANSION_SEARCH
        return cls(index)


def build_or_load(
    path: Path | None, version_ids: np.ndarray, vectors: Vectors, threads: int
) -> AnnIndex:
    """The index of ``version_ids``/``vectors``: the saved one reconciled if usable, else
    built anew; saved (when it changed) if there is a ``path``."""
    index = AnnIndex.load(path) if path else None
    if index is not None and not index.reconcile(version_ids, vectors, threads):
        log.warning("search index %s holds other vectors than the database; rebuilding", path)
        index = None
    if index is None:
        index = AnnIndex()
        index.add(version_ids, vectors, threads=threads)
    if path is not None and index.changes_since_save:
        try:
            index.save(path)
        except OSError as exc:  # a read-only directory: the index still works, in memory
            log.warning("cannot save search index %s: %s", path, exc)
    return index
