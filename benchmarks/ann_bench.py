"""Approximate nearest-neighbour libraries compared on this machine, as used by semantic
search above ``AGENTRXIV_SEARCH_INDEX_MIN_PAPERS``: build time, p50/p95 query latency,
recall@10 against an exact scan, index size and the process's memory growth.

Vectors are synthetic 384-d unit vectors with topical structure (``--topics`` random
centroids, each paper a centroid plus noise, mean cosine to its centroid ~0.6, as MiniLM
embeddings of papers on one subject are): uniformly random vectors would understate what
a graph index does on real embeddings. Queries come from the same distribution and are not
in the index. faiss is measured only if installed (it is not a dependency).

    python benchmarks/ann_bench.py --sizes 100000            # every library
    python benchmarks/ann_bench.py --sizes 1000000 --only usearch-i8
    python benchmarks/ann_bench.py --sizes 1000000 --sweep --keep-index /tmp/ann   # settings

``--sweep`` measures the chosen usearch index again at several search breadths
(``expansion_search``) and candidate counts re-ranked exactly, as semantic search uses it:
recall@10 and the latency of search plus re-ranking. ``--keep-index DIR`` saves each built
index there and reuses it on the next run (the vectors depend only on the seed).
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

DIM = 384


def rss_mb() -> float:
    """This process's resident memory in MiB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def clustered_vectors(count: int, topics: int, seed: int, draw: int = 0) -> np.ndarray:
    """``count`` unit vectors around ``topics`` random centroids (float32), in chunks; the
    centroids depend on ``seed`` only, the vectors on ``draw`` as well."""
    centroids = np.random.default_rng(seed).standard_normal((topics, DIM)).astype(np.float32)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    rng = np.random.default_rng((seed, draw))
    out = np.empty((count, DIM), np.float32)
    for start in range(0, count, 100_000):
        n = min(100_000, count - start)
        noise = rng.standard_normal((n, DIM)).astype(np.float32) / np.sqrt(DIM)
        chunk = centroids[rng.integers(0, topics, n)] + 1.3 * noise
        out[start : start + n] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return out


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """The exact top-``k`` row numbers of each query by cosine."""
    scores = queries @ vectors.T
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return top


def percentile(values: list[float], pct: float) -> float:
    return float(np.percentile(np.array(values), pct))


class Candidate:
    """One library configuration: build, query one vector, save (bytes on disk)."""

    def __init__(self, name: str, build: Callable, query: Callable, save: Callable) -> None:
        self.name, self.build, self.query, self.save = name, build, query, save


def usearch_candidate(
    dtype: str, threads: int, connectivity: int = 16, expansion_add: int = 128
) -> Candidate:
    from usearch.index import Index

    def build(vectors: np.ndarray) -> object:
        index = Index(
            ndim=DIM,
            metric="cos",
            dtype=dtype,
            connectivity=connectivity,
            expansion_add=expansion_add,
            expansion_search=512,
        )
        index.add(np.arange(len(vectors), dtype=np.uint64), vectors, threads=threads)
        return index

    def query(index: object, vector: np.ndarray, k: int) -> np.ndarray:
        return index.search(vector, k).keys  # type: ignore[attr-defined]

    def save(index: object, path: Path) -> int:
        index.save(str(path))  # type: ignore[attr-defined]
        return path.stat().st_size

    shape = (
        "" if (connectivity, expansion_add) == (16, 128) else f"-c{connectivity}-a{expansion_add}"
    )
    return Candidate(f"usearch-{dtype}{shape}", build, query, save)


def faiss_candidate(kind: str, threads: int) -> Candidate | None:
    try:
        import faiss
    except ImportError:
        return None
    faiss.omp_set_num_threads(threads)

    def build(vectors: np.ndarray) -> object:
        if kind == "flat":
            index = faiss.IndexHNSWFlat(DIM, 16, faiss.METRIC_INNER_PRODUCT)
        else:
            index = faiss.IndexHNSWSQ(
                DIM, faiss.ScalarQuantizer.QT_8bit, 16, faiss.METRIC_INNER_PRODUCT
            )
            index.train(vectors[:50_000])
        index.hnsw.efConstruction = 128
        index.add(vectors)
        index.hnsw.efSearch = 512
        return index

    def query(index: object, vector: np.ndarray, k: int) -> np.ndarray:
        return index.search(vector[None, :], k)[1][0]  # type: ignore[attr-defined]

    def save(index: object, path: Path) -> int:
        faiss.write_index(index, str(path))
        return path.stat().st_size

    return Candidate(f"faiss-hnsw-{kind}", build, query, save)


def built(candidate: Candidate, vectors: np.ndarray, keep: Path | None) -> tuple[object, float]:
    """The candidate's index of ``vectors`` and its build time (0 when reused from ``keep``)."""
    cached = keep / f"{candidate.name}-{len(vectors)}.index" if keep else None
    if cached is not None and cached.exists() and candidate.name.startswith("usearch"):
        from usearch.index import Index

        return Index.restore(str(cached), view=False), 0.0
    began = time.perf_counter()
    index = candidate.build(vectors)
    build_s = time.perf_counter() - began
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        candidate.save(index, cached)
    return index, build_s


def reranked(found: object, vectors: np.ndarray, vector: np.ndarray, k: int) -> set[int]:
    """The top ``k`` of the index's candidates ``found``, re-scored exactly (as semantic search)."""
    more = np.asarray(found, dtype=np.int64)
    more = more[more >= 0]
    return {int(x) for x in more[np.argsort(-(vectors[more] @ vector))[:k]]}


def found_themselves(index: object, vectors: np.ndarray, k: int, sample: int = 1000) -> float:
    """The share of indexed vectors that a search for their own vector returns in its top
    ``k``: below 1 means graph nodes the search cannot reach, which no search breadth or
    re-ranking recovers (only a better-connected build does)."""
    rows = np.random.default_rng(1).integers(0, len(vectors), sample)
    found = sum(int(r) in {int(x) for x in index.search(vectors[r], k).keys} for r in rows)  # type: ignore[attr-defined]
    return found / sample


def quantization_ceiling(
    vectors: np.ndarray, queries: np.ndarray, k: int, fetch: int = 60
) -> tuple[float, float]:
    """Recall@k of an exact scan over int8-quantized vectors (round(127 x), as usearch's i8
    stores unit vectors), alone and with its top ``fetch`` re-ranked exactly: the most any
    i8 graph can reach, so what the graph loses is the rest."""
    truth = exact_top(vectors, queries, k)
    quantized_queries = np.round(queries * 127).astype(np.float32)
    scores = np.empty((len(queries), len(vectors)), np.float32)
    for start in range(0, len(vectors), 100_000):
        chunk = np.round(vectors[start : start + 100_000] * 127).astype(np.float32)
        chunk /= np.maximum(np.linalg.norm(chunk, axis=1, keepdims=True), 1e-9)
        scores[:, start : start + len(chunk)] = quantized_queries @ chunk.T
    alone = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    fetched = np.argpartition(-scores, fetch - 1, axis=1)[:, :fetch]
    hits = reranked_hits = 0
    for row, vector in enumerate(queries):
        wanted = {int(x) for x in truth[row]}
        hits += len({int(x) for x in alone[row]} & wanted)
        reranked_hits += len(reranked(fetched[row], vectors, vector, k) & wanted)
    return hits / (len(queries) * k), reranked_hits / (len(queries) * k)


def sweep(index: object, vectors: np.ndarray, queries: np.ndarray, k: int, args) -> None:
    """Recall@k and latency (search + exact re-ranking) per search breadth and fetch count,
    and how many indexed vectors find themselves."""
    truth = [set(int(x) for x in row) for row in exact_top(vectors, queries, k)]
    alone, with_rerank = quantization_ceiling(vectors, queries, k)
    print(
        f"\nexact scan of the int8-quantized vectors: recall@{k} {alone:.3f} alone, "
        f"{with_rerank:.3f} with its top 60 re-ranked exactly (the ceiling of any i8 index)"
    )
    print(
        "\n| expansion_search | candidates re-ranked | recall@10 | p50 ms | p95 ms "
        "| found themselves |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for expansion in (int(x) for x in args.expansions.split(",")):
        index.expansion_search = expansion  # type: ignore[attr-defined]
        themselves = found_themselves(index, vectors, k)
        for fetch in (int(x) for x in args.fetches.split(",")):
            timings, hits = [], 0
            for row, vector in enumerate(queries):
                began = time.perf_counter()
                found = index.search(vector, fetch).keys  # type: ignore[attr-defined]
                best = reranked(found, vectors, vector, k)
                timings.append((time.perf_counter() - began) * 1000)
                hits += len(best & truth[row])
            print(
                f"| {expansion} | {fetch} | {hits / (len(queries) * k):.3f} | "
                f"{percentile(timings, 50):.2f} | {percentile(timings, 95):.2f} | "
                f"{themselves:.3f} |",
                flush=True,
            )


def measure(
    candidate: Candidate, vectors: np.ndarray, queries: np.ndarray, k: int, keep: Path | None
) -> tuple[dict, object]:
    """Build (or reuse), query and save one candidate; the figures and the index."""
    gc.collect()
    before = rss_mb()
    index, build_s = built(candidate, vectors, keep)
    grown = rss_mb() - before
    truth = exact_top(vectors, queries, k)
    timings, hits, reranked_hits = [], 0, 0
    candidate.query(index, queries[0], k)
    for row, vector in enumerate(queries):
        began = time.perf_counter()
        found = candidate.query(index, vector, k)
        timings.append((time.perf_counter() - began) * 1000)
        hits += len(set(int(x) for x in found) & set(int(x) for x in truth[row]))
        # As semantic search uses it: 2k + 40 candidates re-scored exactly.
        best = reranked(candidate.query(index, vector, 2 * k + 40), vectors, vector, k)
        reranked_hits += len(best & set(int(x) for x in truth[row]))
    with tempfile.TemporaryDirectory() as tmp:
        size = candidate.save(index, Path(tmp) / "index")
    return {
        "name": candidate.name,
        "papers": len(vectors),
        "build_s": build_s,
        "per_s": len(vectors) / build_s if build_s else float("nan"),
        "p50_ms": percentile(timings, 50),
        "p95_ms": percentile(timings, 95),
        "recall": hits / (len(queries) * k),
        "reranked_recall": reranked_hits / (len(queries) * k),
        "file_mb": size / 2**20,
        "rss_growth_mb": grown,
    }, index


def main() -> None:
    """Measure every candidate at every size; print Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--topics", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2, help="build threads")
    parser.add_argument("--only", default="", help="comma-separated candidate names")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sweep", action="store_true", help="usearch settings, see above")
    parser.add_argument("--connectivity", type=int, default=16, help="usearch build links")
    parser.add_argument("--expansion-add", type=int, default=128, help="usearch build breadth")
    parser.add_argument("--expansions", default="512,1024,2048")
    parser.add_argument("--fetches", default="60,200,500")
    parser.add_argument("--keep-index", type=Path, default=None, help="reuse indexes here")
    args = parser.parse_args()
    candidates = [
        usearch_candidate("f16", args.threads, args.connectivity, args.expansion_add),
        usearch_candidate("i8", args.threads, args.connectivity, args.expansion_add),
        faiss_candidate("flat", args.threads),
        faiss_candidate("sq8", args.threads),
    ]
    chosen = [
        c
        for c in candidates
        if c and (not args.only or c.name.startswith(tuple(args.only.split(","))))
    ]
    print(f"# ANN libraries: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, k=10")
    print(
        "\n| library | papers | build s | adds/s | p50 ms | p95 ms | recall@10 "
        "| recall@10 re-ranked from 60 | file MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        vectors = clustered_vectors(size, args.topics, args.seed)
        queries = clustered_vectors(args.queries, args.topics, args.seed, draw=1)
        for candidate in chosen:
            r, index = measure(candidate, vectors, queries, 10, args.keep_index)
            print(
                f"| {r['name']} | {r['papers']} | {r['build_s']:.1f} | {r['per_s']:.0f} | "
                f"{r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['recall']:.3f} | "
                f"{r['reranked_recall']:.3f} | "
                f"{r['file_mb']:.0f} (RSS +{r['rss_growth_mb']:.0f}) |",
                flush=True,
            )
            if args.sweep and candidate.name.startswith("usearch"):
                sweep(index, vectors, queries, 10, args)
            del index
    print(f"\nload average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
