"""Semantic ranking through the approximate index (``ann``), and the index's life cycle
beside an ``EmbeddingMatrix``: built (or loaded and reconciled) in a background thread once
the matrix holds ``search_index_min_papers`` embedded latest versions, the exact scan
answering meanwhile; then kept in step with every version the matrix adds or drops, and
saved again after many changes.

The index only proposes candidates: they are re-scored exactly from the matrix, filtered
(withdrawn papers, search filters, the relevance floor) and ranked, and more are fetched
when too few pass. With a relevance floor and more matches than the page needs, ``total``
is estimated from a fixed sample of rows (an exact count would be the full scan the index
avoids); with fewer, every match is among the candidates and the count is exact."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from agentrxiv.archive.search.ann import AnnIndex, RowView, build_or_load
from agentrxiv.archive.search.filters import Candidates
from agentrxiv.config import get_settings

if TYPE_CHECKING:
    from agentrxiv.archive.search.semantic import EmbeddingMatrix

log = logging.getLogger(__name__)

# Candidates fetched: twice the depth and at least 40 more (re-ranking exactly lifts the
# int8 graph's recall@10 from ~0.91 to >= 0.95; benchmarks/search_bench.py measures it).
FETCH_FACTOR = 2.0
FETCH_EXTRA = 40
# Beyond this share of the index, the exact scan costs about as much; it answers instead.
MAX_FETCH_SHARE = 0.2
# Filtered searches admitting fewer than 1/8 of the rows are scored exactly (a gather).
FILTER_EXACT_SHARE = 1 / 8
SAMPLE_ROWS = 16_384
# Save again after this many changes (and at least a tenth of the index) since the last save.
SAVE_AFTER_CHANGES = 5_000


def build_threads() -> int:
    """Threads that build the index: as configured, else half the cores, so the server
    keeps answering while it builds."""
    return get_settings().search_index_build_threads or max(1, (os.cpu_count() or 2) // 2)


def _admitted_rows(matrix: EmbeddingMatrix, keys: np.ndarray, admitted: Candidates) -> np.ndarray:
    """The matrix rows of the candidate ``keys`` that are alive and admitted (-1: not)."""
    rows = np.fromiter(
        (
            matrix.row_of_version.get(int(key), -1) if admitted.admits(int(key)) else -1
            for key in keys
        ),
        dtype=np.int64,
        count=len(keys),
    )
    return rows


def _estimated_total(
    matrix: EmbeddingMatrix, query: np.ndarray, admitted: Candidates, floor: float
) -> int:
    """How many admitted rows reach ``floor``, estimated from a fixed sample of rows."""
    size = matrix.size
    sample = np.random.default_rng(size).integers(0, size, min(SAMPLE_ROWS, size))
    keep = matrix.alive[sample]
    if admitted.allowed is not None or admitted.blocked:
        ids = matrix.version_ids[sample]
        keep &= np.fromiter((admitted.admits(int(v)) for v in ids), dtype=bool, count=len(ids))
    scores = matrix.vectors[sample[keep]].astype(np.float32) @ query
    return round(int((scores >= floor).sum()) * size / len(sample))


def approximate_rank(
    matrix: EmbeddingMatrix,
    query_vector: np.ndarray,
    admitted: Candidates,
    depth: int,
    floor: float | None,
) -> tuple[list[tuple[int, float]], int] | None:
    """``(top, admitted count)`` as ``EmbeddingMatrix.rank`` gives it, from the index's
    candidates; None where the exact scan should answer (small filtered sets, or so many
    candidates filtered out that the index would have to return a large share of itself)."""
    ann = matrix.ann
    if ann is None or matrix.alive_count == 0:
        return None
    if admitted.allowed is not None:
        admitted_count = sum(1 for v in admitted.allowed if v in matrix.row_of_version)
        if admitted_count < FILTER_EXACT_SHARE * matrix.alive_count:
            return None
    else:
        admitted_count = matrix.alive_count - sum(
            1 for v in admitted.blocked if v in matrix.row_of_version
        )
    if admitted_count <= 0:
        return [], 0
    query = np.asarray(query_vector, dtype=np.float32)
    share = admitted_count / matrix.alive_count
    fetch = int(max(depth * FETCH_FACTOR, depth + FETCH_EXTRA) / share)
    while True:
        keys = ann.search(query, fetch)
        rows = _admitted_rows(matrix, keys, admitted)
        rows = rows[rows >= 0]
        scores = matrix.vectors[rows].astype(np.float32) @ query
        passed_floor = floor is not None and bool(len(scores)) and float(scores.min()) < floor
        if floor is not None:
            rows, scores = rows[scores >= floor], scores[scores >= floor]
        if len(rows) >= depth or passed_floor or len(keys) < fetch:
            break
        fetch *= 4
        if fetch > MAX_FETCH_SHARE * len(ann):
            return None
    order = np.argsort(-scores, kind="stable")[:depth]
    top = [(int(matrix.version_ids[rows[i]]), float(scores[i])) for i in order]
    if floor is None:
        return top, admitted_count
    if len(rows) < depth:
        return top, len(rows)  # every match is among the candidates
    return top, max(len(rows), _estimated_total(matrix, query, admitted, floor))


def maintain_index(matrix: EmbeddingMatrix, path: Path | None, min_papers: int) -> None:
    """Start building the index, or saving it, in the background when due (the caller holds
    ``matrix.lock``)."""
    if matrix.ann is None:
        if not matrix.ann_busy and matrix.alive_count >= min_papers:
            matrix.ann_busy = True
            target = _build_in_background
            threading.Thread(
                target=target, args=(matrix, path, matrix.generation), daemon=True
            ).start()
        return
    due = max(SAVE_AFTER_CHANGES, len(matrix.ann) // 10)
    if path is not None and not matrix.ann_busy and matrix.ann.changes_since_save >= due:
        matrix.ann_busy = True
        threading.Thread(
            target=_save_in_background, args=(matrix, path, matrix.generation), daemon=True
        ).start()


def _build_in_background(matrix: EmbeddingMatrix, path: Path | None, generation: int) -> None:
    """Build (or load) the index from a snapshot of the matrix, then catch up and install it.
    Rows below ``size`` never change, so the snapshot is the arrays as they are now."""
    began = time.perf_counter()
    try:
        with matrix.lock:
            if matrix.generation != generation:
                return
            vectors, version_ids = matrix.vectors, matrix.version_ids[: matrix.size].copy()
            rows = np.flatnonzero(matrix.alive[: matrix.size])
        index = build_or_load(path, version_ids[rows], RowView(vectors, rows), build_threads())
        with matrix.lock:
            if matrix.generation != generation:
                return
            rows = np.flatnonzero(matrix.alive[: matrix.size])
            current = RowView(matrix.vectors, rows)
            if not index.reconcile(matrix.version_ids[rows], current):
                return  # cannot happen for vectors this process read; retried next query
            matrix.ann = index
            matrix.ann_build_seconds = time.perf_counter() - began
        log.info("search index of %d papers ready in %.1f s", len(index), matrix.ann_build_seconds)
    except Exception:  # the exact scan keeps answering; the next query retries
        log.exception("building the search index failed")
    finally:
        matrix.ann_busy = False


def _save_in_background(matrix: EmbeddingMatrix, path: Path, generation: int) -> None:
    try:
        with matrix.lock:
            ann: AnnIndex | None = matrix.ann
            if ann is not None and matrix.generation == generation:
                ann.save(path)
    except OSError as exc:
        log.warning("cannot save search index %s: %s", path, exc)
    finally:
        matrix.ann_busy = False
