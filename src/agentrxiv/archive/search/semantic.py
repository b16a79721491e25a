"""Semantic search: an in-process matrix of the latest versions' stored embeddings, loaded
from the database once and brought up to date cheaply before each query, so several server
processes sharing one database stay correct without embedding any paper again.

Each refresh reads only version ids above what the matrix holds (plus a short window below,
for PostgreSQL transactions that commit out of id order); at most every 10 seconds it also
compares the number of latest versions with the database's, reloading if it holds fewer.

Once the matrix holds ``search_index_min_papers`` embedded latest versions, an approximate
nearest-neighbour index (``approximate``, ``ann``) proposes the candidates instead of a scan
of every row; below that, and for small filtered sets, the scan answers exactly."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from agentrxiv.archive.search.ann import AnnIndex, index_path
from agentrxiv.archive.search.approximate import approximate_rank, maintain_index
from agentrxiv.archive.search.embedder import EMBEDDING_DIM, from_bytes, torch_threads
from agentrxiv.archive.search.filters import Candidates
from agentrxiv.archive.tables import PaperVersion
from agentrxiv.config import get_settings

log = logging.getLogger(__name__)

RESCAN_WINDOW = 256
# How often the (index-scanning) count of latest versions double-checks the matrix.
RECOUNT_SECONDS = 10.0
_LOAD_BATCH = 2_000


@dataclass
class EmbeddingMatrix:
    """Unit vectors of latest versions, with the version and paper each row belongs to."""

    # float16 halves the memory each query streams through (the scan is bandwidth-bound:
    # 100k x 384 scored in ~10 ms instead of ~35 ms here); cosines stay within ~1e-3.
    vectors: np.ndarray = field(default_factory=lambda: np.empty((0, EMBEDDING_DIM), np.float16))
    version_ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    alive: np.ndarray = field(default_factory=lambda: np.empty(0, bool))
    size: int = 0
    row_of_version: dict[int, int] = field(default_factory=dict)
    latest_of_paper: dict[str, int] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)
    max_seen: int = 0
    next_recount: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    alive_count: int = 0
    # The approximate index (None: not built yet, or below the threshold), whether a
    # background thread is building or saving it, and which reset it belongs to.
    ann: AnnIndex | None = None
    ann_busy: bool = False
    ann_build_seconds: float = 0.0
    generation: int = 0

    def _append(self, version_id: int, vector: np.ndarray) -> None:
        if self.size == len(self.vectors):
            capacity = max(1024, 2 * len(self.vectors))
            self.vectors = np.resize(self.vectors, (capacity, EMBEDDING_DIM))
            self.version_ids = np.resize(self.version_ids, capacity)
            self.alive = np.resize(self.alive, capacity)
        self.vectors[self.size] = vector
        self.version_ids[self.size] = version_id
        self.alive[self.size] = True
        self.row_of_version[version_id] = self.size
        self.size += 1
        self.alive_count += 1
        if self.ann is not None:
            self.ann.add(np.array([version_id]), self.vectors[self.size - 1 : self.size])

    def _scores(self, query_vector: np.ndarray) -> np.ndarray:
        """Cosine of the query with every row (numpy has no fast float16 product; torch has)."""
        import torch

        matrix = torch.from_numpy(self.vectors[: self.size])
        query = torch.from_numpy(np.asarray(query_vector, dtype=np.float16))
        with torch_threads.small():
            return torch.mv(matrix, query).float().numpy()

    def _drop(self, version_id: int) -> None:
        row = self.row_of_version.pop(version_id, None)
        if row is not None:
            self.alive[row] = False
            self.alive_count -= 1
            if self.ann is not None:
                self.ann.remove(np.array([version_id]))

    def _apply(self, version_id: int, paper_id: str, embedding: bytes | None) -> None:
        """Record a newly seen latest version, replacing its paper's previous one."""
        previous = self.latest_of_paper.get(paper_id)
        if previous is not None and previous > version_id:
            return  # an older version seen late; the newer one stays
        if previous is not None:
            self._drop(previous)
        self.latest_of_paper[paper_id] = version_id
        if embedding:
            vector = from_bytes(embedding)
            if vector.shape == (EMBEDDING_DIM,):
                self._append(version_id, vector)

    def _load(self, session: Session, version_ids: list[int]) -> None:
        for start in range(0, len(version_ids), _LOAD_BATCH):
            chunk = version_ids[start : start + _LOAD_BATCH]
            rows = session.execute(
                select(PaperVersion.id, PaperVersion.paper_id, PaperVersion.embedding)
                .where(PaperVersion.id.in_(chunk), PaperVersion.is_latest == true())
                .order_by(PaperVersion.id)
            )
            for version_id, paper_id, embedding in rows:
                self._apply(int(version_id), paper_id, embedding)

    def refresh(self, session: Session) -> None:
        """Bring the matrix up to date with the database (cheap when nothing changed)."""
        # Counted first: papers are never deleted, so a writer committing during this
        # refresh can only make the matrix hold more than the count, never less.
        latest_count = 0
        if time.monotonic() >= self.next_recount:
            self.next_recount = time.monotonic() + RECOUNT_SECONDS
            latest_count = session.scalar(
                select(func.count())
                .select_from(PaperVersion)
                .where(PaperVersion.is_latest == true())
            )
        max_id = session.scalar(select(func.max(PaperVersion.id))) or 0
        if max_id < self.max_seen:
            self._reset()  # the database was recreated under us
        recent = session.execute(
            select(PaperVersion.id, PaperVersion.is_latest).where(
                PaperVersion.id > self.max_seen - RESCAN_WINDOW
            )
        ).all()
        new_latest = []
        for version_id, is_latest in recent:
            if version_id not in self.seen:
                self.seen.add(version_id)
                if is_latest:
                    new_latest.append(int(version_id))
        self.max_seen = max(self.max_seen, max_id)
        if new_latest:
            self._load(session, new_latest)
        if len(self.latest_of_paper) < (latest_count or 0):
            log.info("embedding matrix missed committed versions; reloading")
            self._reset()
            self._full_load(session)

    def _reset(self) -> None:
        fresh = EmbeddingMatrix()
        self.vectors, self.version_ids, self.alive = fresh.vectors, fresh.version_ids, fresh.alive
        self.size, self.max_seen, self.next_recount = 0, 0, 0.0
        self.row_of_version, self.latest_of_paper, self.seen = {}, {}, set()
        self.alive_count, self.ann, self.generation = 0, None, self.generation + 1

    def _full_load(self, session: Session) -> None:
        self.max_seen = session.scalar(select(func.max(PaperVersion.id))) or 0
        self.seen = set(session.scalars(select(PaperVersion.id)))
        latest = list(
            session.scalars(
                select(PaperVersion.id)
                .where(PaperVersion.is_latest == true())
                .order_by(PaperVersion.id)
            )
        )
        self._load(session, latest)
        log.info("loaded %d embeddings of %d latest versions", self.size, len(latest))

    def rank(
        self, query_vector: np.ndarray, admitted: Candidates, depth: int, floor: float | None = None
    ) -> tuple[list[tuple[int, float]], int]:
        """The ``depth`` best ``(version_id, cosine)`` of admitted rows, and how many there are;
        with ``floor``, rows whose cosine is below it are neither ranked nor counted."""
        if self.ann is not None:
            approximate = approximate_rank(self, query_vector, admitted, depth, floor)
            if approximate is not None:
                return approximate
        if admitted.allowed is not None:
            rows = np.fromiter(
                (r for v in admitted.allowed if (r := self.row_of_version.get(v)) is not None),
                dtype=np.int64,
            )
        else:
            mask = self.alive[: self.size].copy()
            for version_id in admitted.blocked:
                row = self.row_of_version.get(version_id)
                if row is not None:
                    mask[row] = False
            rows = np.flatnonzero(mask)
        if rows.size == 0:
            return [], 0
        if rows.size * 8 < self.size:  # a small filtered set: copying its rows out is cheaper
            query = np.asarray(query_vector, dtype=np.float32)
            scores = self.vectors[rows].astype(np.float32) @ query
        else:  # one matrix-vector product over every row, then pick
            scores = self._scores(query_vector)[rows]
        if floor is not None:
            close = scores >= floor
            rows, scores = rows[close], scores[close]
            if rows.size == 0:
                return [], 0
        depth = min(depth, rows.size)
        top = np.argpartition(-scores, depth - 1)[:depth]
        top = top[np.argsort(-scores[top], kind="stable")]
        ids = self.version_ids[rows[top]]
        return [(int(v), float(s)) for v, s in zip(ids, scores[top], strict=True)], int(rows.size)


_matrices: dict[str, EmbeddingMatrix] = {}
_matrices_lock = threading.Lock()


def _url_of(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=False)


def _matrix_of(session: Session) -> EmbeddingMatrix:
    with _matrices_lock:
        return _matrices.setdefault(_url_of(session), EmbeddingMatrix())


def _refresh_and_maintain(session: Session, matrix: EmbeddingMatrix) -> None:
    """Bring the matrix up to date and start the index build or save if due (under lock)."""
    settings = get_settings()
    matrix.refresh(session)
    path = index_path(_url_of(session), settings.home)
    maintain_index(matrix, path, settings.search_index_min_papers)


def semantic_rank(
    session: Session,
    query_vector: np.ndarray,
    admitted: Candidates,
    depth: int,
    floor: float | None = None,
) -> tuple[list[tuple[int, float]], int]:
    """Refresh the database's matrix and rank it: ``(top, admitted count)``, both without
    the rows whose cosine is below ``floor`` (the relevance floor; None: no floor)."""
    matrix = _matrix_of(session)
    # Take a connection before the lock, so no thread ever waits for the pool inside it
    # while the threads it blocks hold connections.
    session.connection()
    with matrix.lock:
        _refresh_and_maintain(session, matrix)
        return matrix.rank(query_vector, admitted, depth, floor)


def wait_for_index(session: Session, timeout: float) -> bool:
    """Refresh the database's matrix (starting the index build if due) and wait up to
    ``timeout`` seconds for its approximate index; whether it is in use (tests, benchmarks)."""
    matrix = _matrix_of(session)
    deadline = time.monotonic() + timeout
    session.connection()
    with matrix.lock:
        _refresh_and_maintain(session, matrix)
    while matrix.ann is None and matrix.ann_busy and time.monotonic() < deadline:
        time.sleep(0.05)
    return matrix.ann is not None


def index_state(session: Session) -> dict[str, float | int | bool]:
    """The approximate index's state for ``session``'s database (benchmarks, diagnostics)."""
    matrix = _matrix_of(session)
    with matrix.lock:
        return {
            "papers": matrix.alive_count,
            "in_use": matrix.ann is not None,
            "indexed": len(matrix.ann) if matrix.ann is not None else 0,
            "build_seconds": matrix.ann_build_seconds,
        }


def unembedded_count(session: Session, version_ids: list[int]) -> int:
    """How many of ``version_ids`` have no vector (so hybrid totals count them too)."""
    matrix = _matrix_of(session)
    with matrix.lock:
        return sum(1 for v in version_ids if v not in matrix.row_of_version)


def forget_matrices() -> None:
    """Drop every cached matrix (tests and tools that recreate databases)."""
    with _matrices_lock:
        _matrices.clear()
