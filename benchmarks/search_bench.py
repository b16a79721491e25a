"""Search benchmark: ingest rate through the repository's write path (embedding included),
then p50/p95 latency of keyword, semantic and hybrid search (query embedding included) as
one database grows through the given sizes, plus the reference approach (embedding every
paper at query time) at the first size, as a ratio to our semantic search.

Synthetic papers are deterministic (``--seed``): a title, a ~200-word abstract and a body of
``--body-words`` words drawn from topical vocabularies mixed into a Zipfian general
vocabulary, so that queries made of topic words have realistic selectivity.

    python benchmarks/search_bench.py --sizes 1000,10000,99999

Papers beyond ``--real-embeddings-up-to`` are still written through the repository, but
with random unit vectors in place of MiniLM embeddings (labelled in the output): search
latency does not depend on the vectors' values, and embedding 100k papers takes hours on
2 busy cores. ``--served`` then starts the real server (``agentrxiv serve``) on the same
database and prints its memory (started, embedding matrix loaded, index in use, peak) and
semantic and hybrid latency over HTTP. Results print as Markdown and go to
``benchmarks/out/``."""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from rich.progress import Progress
from sqlalchemy import func, select

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from agentrxiv.archive import repository  # noqa: E402
from agentrxiv.archive.auth import Principal, create_token, get_or_create_lab  # noqa: E402
from agentrxiv.archive.db import Database, migrate  # noqa: E402
from agentrxiv.archive.schemas import PaperCreate  # noqa: E402
from agentrxiv.archive.search import index as search_index  # noqa: E402
from agentrxiv.archive.search import search  # noqa: E402
from agentrxiv.archive.search.embedder import get_embedder, search_text, to_bytes  # noqa: E402
from agentrxiv.archive.tables import Paper, PaperVersion  # noqa: E402
from agentrxiv.client import ArchiveClient  # noqa: E402
from agentrxiv.errors import ConflictError  # noqa: E402
from search_index_bench import (  # noqa: E402
    bulk_ingest,
    compare_index,
    print_index_table,
    served_search,
)
from served import running_server  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
TOPICS = {
    "prompting": "prompt prompting exemplar instruction chain thought reasoning step few-shot",
    "consistency": "self-consistency sampling majority vote answers paths decoding diverse",
    "math": "arithmetic algebra geometry theorem equation proof competition math word problems",
    "agents": "agent agents tool planning environment actions memory reflection autonomous",
    "retrieval": "retrieval retriever passages index dense sparse documents corpus query",
    "vision": "image images pixels convolution segmentation detection visual patches",
    "graphs": "graph graphs node nodes edges message passing neighbourhood spectral",
    "proteins": "protein proteins folding amino acid residues structure sequence molecular",
    "speech": "speech audio acoustic phoneme spectrogram transcription speaker recognition",
    "rl": "reinforcement reward policy value episodes exploration environment return",
    "optimisation": "optimizer gradient learning-rate momentum convergence adam schedule loss",
    "compression": "quantization pruning distillation compression sparsity bits low-rank",
    "fairness": "fairness bias demographic parity equalized odds disparate impact groups",
    "climate": "climate ocean atmosphere temperature emulator precipitation carbon warming",
    "translation": "translation multilingual languages bilingual parallel alignment source target",
    "code": "code program synthesis compiler execution unit tests repository functions",
    "diffusion": "diffusion denoising noise score generative sampling latent synthesis",
    "robotics": "robot manipulation grasping locomotion control sensors trajectories",
    "safety": "safety alignment harmful refusal red-teaming jailbreak oversight",
    "theory": "bound bounds generalization complexity sample theorem lemma convex",
}
COMMON_TEXT = (
    "the of and to in a is that for we on with as by this are be an from our which it at "
    "results model models method methods show using data learning performance approach "
    "propose proposed task tasks training trained large new work paper experiments based "
    "use can also than more both two each these between evaluation improve improves "
    "significant across over while however further baseline baselines compared study"
)
COMMON = COMMON_TEXT.split(" ")


def _pseudo_words(count: int, rng: random.Random) -> list[str]:
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"]
    words = set()
    while len(words) < count:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


class CorpusGenerator:
    """Deterministic synthetic papers with topical structure."""

    def __init__(self, seed: int, body_words: int) -> None:
        self.rng = random.Random(seed)
        self.body_words = body_words
        self.topics = {name: words.split() for name, words in TOPICS.items()}
        self.general = COMMON + _pseudo_words(20_000, self.rng)
        ranks = np.arange(1, len(self.general) + 1)
        weights = 1.0 / ranks
        self.general_cum = np.cumsum(weights / weights.sum())
        self.np_rng = np.random.default_rng(seed)

    def _general(self, count: int) -> list[str]:
        picks = np.searchsorted(self.general_cum, self.np_rng.random(count))
        return [self.general[min(i, len(self.general) - 1)] for i in picks]

    def _mixed(self, count: int, topic: list[str], share: float) -> str:
        words = self._general(count)
        for i in range(count):
            if self.rng.random() < share:
                words[i] = self.rng.choice(topic)
        return " ".join(words)

    def paper(self) -> PaperCreate:
        """One paper on one or two topics."""
        names = self.rng.sample(sorted(self.topics), 2 if self.rng.random() < 0.3 else 1)
        topic = [w for name in names for w in self.topics[name]]
        title = " ".join(self.rng.sample(topic, min(4, len(topic))) + self._general(3)).title()
        return PaperCreate(
            title=title,
            abstract=self._mixed(200, topic, 0.25),
            body=self._mixed(self.body_words, topic, 0.08),
            categories=[f"cs.{names[0][:2].upper()}"],
            results=[
                {
                    "benchmark": "math500",
                    "metric": "accuracy",
                    "value": round(self.rng.random(), 3),
                }
            ],
        )

    def query(self) -> str:
        """A query of two or three words from one topic."""
        topic = self.topics[self.rng.choice(sorted(self.topics))]
        return " ".join(self.rng.sample(topic, self.rng.randint(2, 3)))

    def queries(self, count: int) -> list[str]:
        """``count`` distinct queries (no latency comes from repeating one)."""
        distinct: dict[str, None] = {}
        while len(distinct) < count:
            distinct[self.query()] = None
        return list(distinct)


def _percentile(values: list[float], pct: float) -> float:
    return float(np.percentile(np.array(values), pct))


def _time_queries(db: Database, queries: list[str], mode: str) -> list[float]:
    timings = []
    with db.read() as session:
        search(session, queries[0], mode, k=10)  # warm: matrix refresh, caches
        for query in queries:
            start = time.perf_counter()
            search(session, query, mode, k=10)
            timings.append((time.perf_counter() - start) * 1000)
    return timings


def _time_embedding(queries: list[str]) -> list[float]:
    embedder, timings = get_embedder(), []
    for query in queries:
        start = time.perf_counter()
        embedder.encode_one(query)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


SYNTHETIC_TOPICS = 2_000
_CENTROIDS = np.random.default_rng(12345).standard_normal((SYNTHETIC_TOPICS, 384))
_CENTROIDS = (_CENTROIDS / np.linalg.norm(_CENTROIDS, axis=1, keepdims=True)).astype(np.float32)


def synthetic_vector(rng: np.random.Generator, noise: float = 1.3) -> np.ndarray:
    """A unit vector near one of the synthetic topics' centroids (cosine ~0.6 to it), so the
    approximate index sees topical structure as it does with MiniLM embeddings."""
    centroid = _CENTROIDS[rng.integers(SYNTHETIC_TOPICS)]
    vector = centroid + noise * rng.standard_normal(384).astype(np.float32) / np.sqrt(384)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def _random_embedding(rng: np.random.Generator) -> Callable[[dict[str, str]], bytes]:
    def fake(_fields: dict[str, str]) -> bytes:
        return to_bytes(synthetic_vector(rng))

    return fake


def ingest(
    db: Database,
    lab: Principal,
    gen: CorpusGenerator,
    count: int,
    batch: int,
    mode: str,
    deadline: float,
) -> tuple[int, float]:
    """Publish up to ``count`` papers via ``repository.create_paper`` (stopping at
    ``deadline``, a monotonic time); returns how many and papers per second."""
    real = search_index.prepare_embedding
    embed = _random_embedding(np.random.default_rng(count)) if mode == "synthetic" else real
    embedding_seconds = 0.0

    def timed_embedding(fields: dict[str, str]) -> bytes | None:
        nonlocal embedding_seconds
        began = time.perf_counter()
        try:
            return embed(fields)
        finally:
            embedding_seconds += time.perf_counter() - began

    search_index.prepare_embedding = timed_embedding
    done, elapsed, stopped = 0, 0.0, False
    try:
        with Progress(transient=True) as progress:
            task = progress.add_task(f"ingest {count} ({mode})", total=count)
            for first in range(0, count, batch):
                if time.monotonic() > deadline or stopped:
                    break
                # Generating the synthetic papers is not part of the measured write path.
                papers = [gen.paper() for _ in range(min(batch, count - first))]
                start = time.perf_counter()
                if mode == "batched":
                    search_index.prefetch_embeddings([p.model_dump() for p in papers])
                for paper in papers:
                    try:
                        repository.create_paper(db, lab, paper)
                    except ConflictError as exc:  # e.g. the month's 99,999 paper ids used up
                        print(f"ingest stopped after {done} papers: {exc}", flush=True)
                        stopped = True
                        break
                    done += 1
                elapsed += time.perf_counter() - start
                progress.advance(task, len(papers))
    finally:
        search_index.prepare_embedding = real
    if done:
        print(
            f"ingest {done} papers ({mode}): {done / elapsed:.1f} papers/s; per paper "
            f"{embedding_seconds / done * 1000:.1f} ms in prepare_embedding, "
            f"{(elapsed - embedding_seconds) / done * 1000:.1f} ms the rest (batch embedding "
            f"if batched, transaction, FTS insert, commit); load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    return done, done / elapsed if elapsed else 0.0


def _submit_all(base: str, token: str, papers: list[PaperCreate]) -> None:
    """One client publishing ``papers`` one after another."""
    with ArchiveClient(base, token, timeout=300) as client:
        for paper in papers:
            client.submit(paper)


def http_ingest(gen: CorpusGenerator, client_counts: list[int], papers: int) -> None:
    """Ingest rate through ``POST /api/v1/papers`` of a started server, real embeddings."""
    path = OUT / "search_bench_http.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    migrate(url)
    db = Database(url)
    with db.write() as session:
        token = create_token(session, "http-bench-lab")
    with running_server(url, OUT / "http_home") as (base, _):
        with ArchiveClient(base, token, timeout=300) as client:
            client.submit(gen.paper())  # loads the model in the server
        print("\n| HTTP clients | papers | papers/s | load |\n|---|---|---|---|")
        for clients in client_counts:
            batch = [gen.paper() for _ in range(papers)]
            start = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                shares = [batch[i::clients] for i in range(clients)]
                list(pool.map(_submit_all, [base] * clients, [token] * clients, shares))
            rate = papers / (time.perf_counter() - start)
            print(f"| {clients} | {papers} | {rate:.1f} | {os.getloadavg()[0]:.1f} |", flush=True)
    with db.read() as session:
        stored = session.scalar(select(func.count()).select_from(PaperVersion)) or 0
        missing = session.scalar(
            select(func.count()).select_from(PaperVersion).where(PaperVersion.embedding.is_(None))
        )
    db.dispose()
    print(f"{stored} papers stored over HTTP, {missing} without an embedding.", flush=True)


def reference_latency(db: Database, query: str) -> float:
    """The reference approach: embed every paper's text at query time, then rank (ms)."""
    start = time.perf_counter()
    with db.read() as session:
        rows = session.execute(
            select(
                PaperVersion.paper_id, PaperVersion.title, PaperVersion.abstract, PaperVersion.body
            ).where(PaperVersion.is_latest)
        ).all()
    embedder = get_embedder()
    docs = embedder.encode([search_text(t, a, b) for _, t, a, b in rows])
    scores = docs @ embedder.encode_one(query)
    _ = [rows[i][0] for i in np.argsort(-scores)[:10]]
    return (time.perf_counter() - start) * 1000


MODES = ("keyword", "semantic", "hybrid", "query embedding alone")


def measure(db: Database, queries: list[str], size: int, label: str) -> list[object]:
    """Time every mode (and the query embedding alone); print and return a table row."""
    latency = {m: _time_queries(db, queries, m) for m in MODES[:3]}
    latency[MODES[3]] = _time_embedding(queries)
    row: list[object] = [size, label]
    for m in MODES:
        row += [f"{_percentile(latency[m], 50):.1f}", f"{_percentile(latency[m], 95):.1f}"]
    summary = ", ".join(
        f"{m} p50 {_percentile(latency[m], 50):.1f} ms p95 {_percentile(latency[m], 95):.1f} ms"
        for m in MODES
    )
    print(f"size {size}: ingest {label}; {summary}", flush=True)
    return row


def print_table(rows: list[list[object]], reference: tuple[int, float, float] | None) -> None:
    """The Markdown table, the reference ratio and the machine's load."""
    print(
        "\n| papers | ingest papers/s (embedding) | keyword p50 | p95 | semantic p50 | p95 |"
        " hybrid p50 | p95 | query embedding alone p50 | p95 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    if reference:
        size, ref_ms, ours = reference
        print(
            f"\nReference (embed every paper at query time) at {size} papers: "
            f"{ref_ms:.0f} ms/query vs our semantic {ours:.1f} ms: {ref_ms / ours:.0f}x slower."
        )
    print(
        f"Latencies in ms, query embedding included; load average at end "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores."
    )


def run_growth(args: argparse.Namespace, db: Database, gen: CorpusGenerator) -> None:
    """Grow the database through ``args.sizes``, measuring at each size."""
    with db.write() as session:
        owner = get_or_create_lab(session, "bench-lab")
        lab = Principal(lab_id=owner.id, lab_name=owner.name, is_admin=False)
    queries = gen.queries(args.queries)
    deadline = time.monotonic() + (args.budget_minutes * 60 or float("inf"))
    rows, have, reference, index_rows = [], 0, None, []
    for size in [int(s) for s in args.sizes.split(",")]:
        mode = "single" if have == 0 else "batched"
        if size > args.real_embeddings_up_to:
            mode = "synthetic"
        if args.bulk:
            done, mode = size - have, "bulk SQL, synthetic"
            rate = bulk_ingest(db, gen, done, args.seed + have)
        else:
            done, rate = ingest(db, lab, gen, size - have, args.batch, mode, deadline)
        if done == 0:
            break
        have += done
        if have < size:
            print(f"ingest stopped at {have} papers instead of {size}", flush=True)
        index_rows.append(compare_index(db, queries, have))
        rows.append(measure(db, queries, have, f"{rate:.1f} ({mode})"))
        if reference is None and args.reference_queries:
            ref = statistics.median(
                reference_latency(db, q) for q in queries[: args.reference_queries]
            )
            reference = (have, ref, float(rows[-1][4]))
            print(f"reference at {have}: {ref:.0f} ms per query", flush=True)
    print_table(rows, reference)
    if index_rows:
        print_index_table(index_rows)


def _paper_count(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Paper)) or 0


def main() -> None:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="1000,10000,99999",
        help="corpus sizes to reach (ids are YYMM.NNNNN: at most 99,999 papers a month)",
    )
    parser.add_argument("--db", default="", help="database URL (default: fresh SQLite in out/)")
    parser.add_argument("--queries", type=int, default=50, help="queries per mode per size")
    parser.add_argument("--body-words", type=int, default=2500, help="words per paper body")
    parser.add_argument("--batch", type=int, default=64, help="papers per embedding batch")
    parser.add_argument("--real-embeddings-up-to", type=int, default=10**9)
    parser.add_argument("--reference-queries", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--budget-minutes", type=float, default=0, help="stop ingesting after this (0: never)"
    )
    parser.add_argument(
        "--measure-only", action="store_true", help="only time searches on the existing --db"
    )
    parser.add_argument(
        "--http-clients",
        default="",
        help="instead: ingest rate over HTTP with these concurrent client counts, e.g. 1,2,4",
    )
    parser.add_argument(
        "--bulk", action="store_true", help="write synthetic papers straight into SQLite tables"
    )
    parser.add_argument("--http-papers", type=int, default=60, help="papers per client count")
    parser.add_argument(
        "--served",
        action="store_true",
        help="then start the real server on the database: its memory and HTTP search latency",
    )
    args = parser.parse_args()

    OUT.mkdir(exist_ok=True)
    if args.http_clients:
        gen = CorpusGenerator(args.seed, args.body_words)
        print(f"# HTTP ingest: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        http_ingest(gen, [int(c) for c in args.http_clients.split(",")], args.http_papers)
        return
    url = args.db
    if not url:
        path = OUT / "search_bench.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    migrate(url)
    db = Database(url)
    gen = CorpusGenerator(args.seed, args.body_words)
    get_embedder().encode_one("warm up")
    print(
        f"# search benchmark: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
        f"db {db.dialect}, body {args.body_words} words, {args.queries} queries/mode\n"
    )
    if args.measure_only:
        size = _paper_count(db)
        queries = gen.queries(args.queries)
        index_rows = [compare_index(db, queries, size)]
        print_table([measure(db, queries, size, "(measured only)")], None)
        print_index_table(index_rows)
    else:
        run_growth(args, db, gen)
    if args.served:
        served_search(url, OUT / "served_home", gen.queries(args.queries), _paper_count(db))
    db.dispose()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
