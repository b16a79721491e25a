"""The search indexes against exact search on one database (used by search_bench.py at each
size): the approximate nearest-neighbour index's and the keyword index's build (or load)
times and sizes, the process's memory, p50/p95 of keyword, semantic and hybrid search through
the indexes and without them (exact: the matrix scanned, every keyword match ranked by the
database), and recall@10 of the indexes' results against exact search's.

Recall queries are in the papers' own distribution: a stored paper's vector plus noise
(cosine ~0.9 to it), each paired with a topic-word query for hybrid's keyword half; the
embedder is bypassed for them. Latency queries are the real text queries, embedded."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import select, true

from agentrxiv.archive.db import Database
from agentrxiv.archive.search import hybrid, keyword, keyword_index, search, semantic
from agentrxiv.archive.search.ann import index_path
from agentrxiv.archive.search.embedder import from_bytes, get_embedder
from agentrxiv.archive.tables import PaperVersion
from agentrxiv.config import get_settings
from served import running_server

RECALL_QUERIES = 100
MODES = ("keyword", "semantic", "hybrid")


def _directory_mb(path: Path | None) -> float:
    if path is None or not path.is_dir():
        return 0.0
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file()) / 2**20


def rss_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    """A process's resident memory (``VmHWM``: its peak) in MiB; this process by default."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def exact_only() -> Iterator[None]:
    """Semantic ranking by the exact scan and keyword ranking of every match, indexes or not."""
    saved = semantic.approximate_rank, keyword.ready_index
    semantic.approximate_rank = lambda *args: None
    keyword.ready_index = lambda *args: None
    try:
        yield
    finally:
        semantic.approximate_rank, keyword.ready_index = saved


@contextmanager
def query_vectors(vectors: dict[str, np.ndarray]) -> Iterator[None]:
    """Queries embedded as ``vectors`` says (the real embedder for any other text)."""

    class Fixed:
        def encode_one(self, text: str) -> np.ndarray:
            return vectors[text] if text in vectors else get_embedder().encode_one(text)

    saved = hybrid.get_embedder
    hybrid.get_embedder = Fixed
    try:
        yield
    finally:
        hybrid.get_embedder = saved


def _latency(db: Database, queries: list[str], mode: str) -> tuple[float, float]:
    timings = []
    with db.read() as session:
        search(session, queries[0], mode, k=10)
        for query in queries:
            began = time.perf_counter()
            search(session, query, mode, k=10)
            timings.append((time.perf_counter() - began) * 1000)
    return float(np.percentile(timings, 50)), float(np.percentile(timings, 95))


def _recall_vectors(db: Database, queries: list[str]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    with db.read() as session:
        ids = list(session.scalars(select(PaperVersion.id).where(PaperVersion.is_latest == true())))
        picks = [int(i) for i in rng.choice(ids, min(RECALL_QUERIES, len(ids)), replace=False)]
        stored = session.scalars(select(PaperVersion.embedding).where(PaperVersion.id.in_(picks)))
        vectors = [from_bytes(blob) for blob in stored if blob]
    out = {}
    for n, vector in enumerate(vectors):
        noisy = vector + 0.5 * rng.standard_normal(len(vector)).astype(np.float32) / np.sqrt(
            len(vector)
        )
        out[f"{queries[n % len(queries)]} #{n}"] = noisy / np.linalg.norm(noisy)
    return out


def _hits(db: Database, texts: list[str], mode: str) -> dict[str, list[str]]:
    with db.read() as session:
        return {t: [h.id for h in search(session, t, mode, k=10).items] for t in texts}


def compare_index(db: Database, queries: list[str], size: int) -> dict[str, object]:
    """Index vs exact scan at this size; prints a line and returns the figures."""
    before = rss_mb()
    began = time.perf_counter()
    with db.read() as session:
        in_use = semantic.wait_for_index(session, timeout=7200)
        state = semantic.index_state(session)
    ready_s = time.perf_counter() - began
    began = time.perf_counter()
    with db.read() as session:
        keywords_in_use = keyword_index.wait_for_keyword_index(session, timeout=7200)
        keyword_state = keyword_index.keyword_index_state(session)
    keywords_ready_s = time.perf_counter() - began
    path = index_path(db.url, get_settings().home)
    keyword_dir = keyword_index.keyword_index_path(db.url, get_settings().home)
    row: dict[str, object] = {
        "papers": size,
        "index": in_use,
        "ready_s": ready_s,
        "file_mb": path.stat().st_size / 2**20 if path and path.is_file() else 0.0,
        "keyword_index": keywords_in_use,
        "keyword_ready_s": keywords_ready_s,
        "keyword_loaded": keyword_state["loaded"],
        "keyword_mb": _directory_mb(keyword_dir),
        "rss_before_mb": before,
        "rss_mb": rss_mb(),
        "threshold": get_settings().search_index_min_papers,
        "indexed": state["indexed"],
    }
    for mode in MODES:
        row[f"{mode}_index"] = _latency(db, queries, mode)
        with exact_only():
            row[f"{mode}_exact"] = _latency(db, queries, mode)
    vectors = _recall_vectors(db, queries)
    with query_vectors(vectors):
        for mode in MODES:
            got = _hits(db, list(vectors), mode)
            with exact_only():
                want = _hits(db, list(vectors), mode)
            found = sum(len(set(got[t]) & set(want[t])) for t in vectors)
            row[f"{mode}_recall"] = found / max(1, sum(len(want[t]) for t in vectors))
    print(
        f"size {size}: index {'in use' if in_use else 'not used'} "
        f"(ready in {ready_s:.1f} s, file {row['file_mb']:.0f} MiB, RSS {row['rss_mb']:.0f} MiB); "
        f"keyword index {'in use' if keywords_in_use else 'not used'} "
        f"({'loaded' if keyword_state['loaded'] else 'built'}, ready in {keywords_ready_s:.1f} s, "
        f"{row['keyword_mb']:.0f} MiB); "
        + "; ".join(
            f"{m} p50/p95 {row[f'{m}_index'][0]:.1f}/{row[f'{m}_index'][1]:.1f} ms with index, "
            f"{row[f'{m}_exact'][0]:.1f}/{row[f'{m}_exact'][1]:.1f} exact, "
            f"recall@10 {row[f'{m}_recall']:.3f}"
            for m in MODES
        ),
        flush=True,
    )
    return row


def print_index_table(rows: list[dict[str, object]]) -> None:
    """The Markdown table of ``compare_index`` rows."""
    print(
        "\n| papers | index | ready s | keyword index ready s "
        + "".join(f"| {m} p50/p95 indexes | exact | recall@10 " for m in MODES)
        + "| index file MiB | keyword index MiB | RSS MiB |"
    )
    print("|---|---|---:|---:|" + "---|---|---:|" * len(MODES) + "---:|---:|---:|")
    for r in rows:
        cells = [
            r["papers"],
            "yes" if r["index"] else "no",
            f"{r['ready_s']:.1f}",
            f"{r['keyword_ready_s']:.1f}" if r["keyword_index"] else "not used",
        ]
        for mode in MODES:
            for kind in ("index", "exact"):
                p50, p95 = r[f"{mode}_{kind}"]  # type: ignore[misc]
                cells.append(f"{p50:.1f} / {p95:.1f}")
            cells.append(f"{r[f'{mode}_recall']:.3f}")
        cells += [f"{r['file_mb']:.0f}", f"{r['keyword_mb']:.0f}", f"{r['rss_mb']:.0f}"]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def bulk_ingest(db: Database, gen: object, count: int, seed: int) -> float:
    """Write ``count`` synthetic papers straight into SQLite tables (papers, versions, FTS5,
    categories) in large transactions, bypassing the repository: the write path's per-paper
    transaction and novelty check would take hours at these sizes on this machine. Vectors
    come from the same topical distribution as ``--real-embeddings-up-to`` 0; papers/s."""
    from datetime import UTC, datetime

    from sqlalchemy import func, insert, text

    from agentrxiv.archive.auth import get_or_create_lab
    from agentrxiv.archive.search.embedder import to_bytes
    from agentrxiv.archive.search.index import FTS_TABLE, paper_categories
    from agentrxiv.archive.tables import Paper

    if db.dialect != "sqlite":
        raise SystemExit("--bulk writes SQLite tables; use the repository path for PostgreSQL")
    from search_bench import synthetic_vector  # the benchmark's own module (no cycle at import)

    rng = np.random.default_rng(seed)
    began = time.perf_counter()
    with db.write() as session:
        lab_id = get_or_create_lab(session, "bulk-lab").id
        first = (session.scalar(select(func.max(PaperVersion.id))) or 0) + 1
        papers_before = session.scalar(select(func.count()).select_from(Paper)) or 0
    now = datetime.now(UTC)
    for start in range(0, count, 5_000):
        papers, versions, fts, cats = [], [], [], []
        for n in range(start, min(count, start + 5_000)):
            number = papers_before + n
            month = number // 99_999
            paper_id = f"{30 + month // 12:02d}{month % 12 + 1:02d}.{number % 99_999 + 1:05d}"
            data = gen.paper()  # type: ignore[attr-defined]
            version_id = first + n
            category = data.categories[0]
            papers.append({"id": paper_id, "lab_id": lab_id, "created_at": now, "updated_at": now})
            versions.append(
                {
                    "id": version_id,
                    "paper_id": paper_id,
                    "version": 1,
                    "title": data.title,
                    "abstract": data.abstract,
                    "body": data.body,
                    "categories": [category],
                    "primary_category": category,
                    "embedding": to_bytes(synthetic_vector(rng)),
                    "created_at": now,
                }
            )
            fts.append(
                {
                    "id": version_id,
                    "title": data.title,
                    "abstract": data.abstract,
                    "body": data.body,
                }
                | {"authors": "", "categories": category}
            )
            cats.append({"category": category, "version_id": version_id})
        with db.write() as session:
            session.execute(insert(Paper), papers)
            session.execute(insert(PaperVersion), versions)
            session.execute(
                text(
                    f"INSERT INTO {FTS_TABLE} (rowid, title, abstract, authors, categories, body) "
                    "VALUES (:id, :title, :abstract, :authors, :categories, :body)"
                ),
                fts,
            )
            session.execute(paper_categories.insert(), cats)
        print(f"  bulk: {start + len(papers)} papers", flush=True)
    return count / (time.perf_counter() - began)


def _wait_for_line(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> float:
    """Seconds until ``text`` appears in ``log`` (the server's), failing if it exits."""
    began = time.perf_counter()
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None or time.perf_counter() - began > timeout:
            raise SystemExit(f"no '{text}' in {log} after {time.perf_counter() - began:.0f} s")
        time.sleep(0.5)
    return time.perf_counter() - began


def _http_latency(client: httpx.Client, queries: list[str], mode: str) -> tuple[float, float]:
    timings = []
    for query in queries:
        began = time.perf_counter()
        client.get("/api/v1/search", params={"q": query, "mode": mode, "k": 10}).raise_for_status()
        timings.append((time.perf_counter() - began) * 1000)
    return float(np.percentile(timings, 50)), float(np.percentile(timings, 95))


def served_search(url: str, home: Path, queries: list[str], size: int) -> None:
    """The real server (``agentrxiv serve``) on the database at ``url``: its memory when
    started, after its first semantic search (the embedding matrix loaded) and with its
    approximate index in use (loaded from the saved file, or built), and, with the keyword
    index in use too, p50/p95 of keyword, semantic and hybrid search over HTTP from one client
    (the query embedding included); printed."""
    env = {"AGENTRXIV_COSTLY_READS_PER_MINUTE": "0"}
    with running_server(url, home, env, log_level="info") as (base, process):
        started = rss_mb(process.pid)
        with httpx.Client(base_url=base, timeout=7200) as client:
            began = time.perf_counter()
            _http_latency(client, queries[:1], "semantic")
            first_s = time.perf_counter() - began
            loaded = rss_mb(process.pid)
            ready_s = _wait_for_line(home / "server.log", "search index of", process, 7200)
            _http_latency(client, queries[:1], "keyword")  # starts the keyword index's load
            _wait_for_line(home / "server.log", "keyword index of", process, 7200)
            _http_latency(client, queries[:3], "hybrid")  # warm
            latency = {mode: _http_latency(client, queries, mode) for mode in MODES}
        print(
            f"server at {size} papers: RSS {started:.0f} MiB started, {loaded:.0f} MiB after "
            f"the first semantic search ({first_s:.1f} s), {rss_mb(process.pid):.0f} MiB with "
            f"the index in use (ready {ready_s:.1f} s later), peak "
            f"{rss_mb(process.pid, 'VmHWM'):.0f} MiB (with the keyword index); "
            f"over HTTP, {len(queries)} queries: "
            + "; ".join(f"{m} p50/p95 {p50:.1f}/{p95:.1f} ms" for m, (p50, p95) in latency.items())
            + f" (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
