"""Load benchmark of a real ``agentrxiv serve`` process over loopback HTTP: p50/p95/p99 latency,
throughput and error counts at 1, 50, 200 and 500 concurrent clients for search (keyword,
semantic, hybrid), paper pages and the arXiv API, on SQLite and PostgreSQL; then a soak of
mixed requests measuring the server's RSS after warm-up and after the soak.

Targets (issue 8): zero 5xx up to 200 concurrent clients; memory growth after warm-up < 10%.

    python benchmarks/load_bench.py                       # the full run (several minutes)
    python benchmarks/load_bench.py --dbs sqlite --levels 1,50 --soak 2000   # a quick look

Each level runs ``max(--min-requests, --per-client x clients)`` requests from that many closed-loop
clients (each sends its next request when its last one is answered), all in one asyncio
process. Queries vary (a vocabulary of topic words), so a cache keyed by query would show
up as growth in the soak. The server runs with its default settings; papers are seeded with
an admin token (not rate limited). PostgreSQL: ``AGENTRXIV_TEST_PG`` or the default test
URL; a throwaway database is created and dropped. Prints Markdown; ``--json`` saves all."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from subprocess import Popen
from urllib.parse import urlencode

import httpx

import served

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PG_ADMIN_URL = os.environ.get(
    "AGENTRXIV_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
WORDS = (
    *("majority", "vote", "self-consistency", "chain", "thought", "prompting", "reasoning"),
    *("algebra", "geometry", "sampling", "decoding", "verifier", "program", "synthesis"),
    *("retrieval", "agents", "planning", "reflection", "arithmetic", "proof", "tool"),
    *("memory", "exemplar", "few-shot", "calibration", "ensemble"),
)
# Requests that got no answer (the connection failed), by exception, over the whole run.
CONNECTION_ERRORS: Counter[str] = Counter()
ENDPOINTS = ("search keyword", "search semantic", "search hybrid", "paper page", "arxiv api")


@dataclass
class LevelResult:
    """One endpoint at one concurrency level."""

    db: str
    endpoint: str
    clients: int
    requests: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    per_s: float
    errors_5xx: int
    other_errors: int
    connection_errors: int  # no answer at all: ReadError, RemoteProtocolError, ...


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database."""
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"agentrxiv_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname=:n"),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def running_server(db: str, home: Path) -> AbstractContextManager[tuple[str, Popen[bytes]]]:
    """The server with default settings; only the per-address limit of costly anonymous
    reads is off, since every client here shares one address (it would answer 429 to most
    semantic and hybrid searches)."""
    return served.running_server(db, home, {"AGENTRXIV_COSTLY_READS_PER_MINUTE": "0"})


def admin_token(db: str) -> str:
    """An admin token on ``db`` (not rate limited), made in-process."""
    from agentrxiv.archive.auth import create_token
    from agentrxiv.archive.db import Database

    database = Database(db)
    try:
        with database.write() as session:
            return create_token(session, f"bench-{uuid.uuid4().hex[:6]}", admin=True)
    finally:
        database.dispose()


def seed(url: str, token: str, papers: int, rng: random.Random) -> list[str]:
    """Publish ``papers`` synthetic papers (embedded by the server); their ids."""
    ids = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
        for n in range(papers):
            words = rng.sample(WORDS, 8)
            body = {
                "title": f"{' '.join(words[:4]).capitalize()} ({n})",
                "abstract": f"We study {' '.join(words)} on MATH-500 with small models.",
                "body": "# Method\n\n" + " ".join(rng.choices(WORDS, k=400)) + "\n\n$$x^2$$\n",
                "categories": ["cs.AI"],
                "results": [
                    {"benchmark": "math500", "metric": "accuracy", "value": rng.random(), "n": 50}
                ],
            }
            response = http.post("/api/v1/papers", json=body)
            response.raise_for_status()
            ids.append(response.json()["id"])
    return ids


def make_path(endpoint: str, ids: list[str], rng: random.Random) -> str:
    """A request path for ``endpoint`` with a random query or paper."""
    query = " ".join(rng.sample(WORDS, 2))
    if endpoint.startswith("search "):
        mode = endpoint.split()[1]
        return "/api/v1/search?" + urlencode({"q": query, "mode": mode, "k": 10})
    if endpoint == "paper page":
        return f"/abs/{rng.choice(ids)}"
    if endpoint == "arxiv api":
        return "/api/query?" + urlencode({"search_query": f"all:{query.split()[0]}"})
    raise ValueError(endpoint)


async def drive(
    url: str, paths: list[str], clients: int, timeout: float
) -> tuple[list[float], Counter[int], float]:
    """Run ``paths`` from ``clients`` closed-loop clients: latencies (s), statuses, wall."""
    queue = list(reversed(paths))
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    failures: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as http:

        async def client() -> None:
            while queue:
                path = queue.pop()
                began = time.perf_counter()
                try:
                    response = await http.get(path)
                    statuses[response.status_code] += 1
                except httpx.HTTPError as exc:  # no answer: counted under -1, named
                    statuses[-1] += 1
                    failures[type(exc).__name__] += 1
                    CONNECTION_ERRORS[type(exc).__name__] += 1
                latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
    if failures:
        print(f"  requests without an answer: {dict(failures)}", flush=True)
    return latencies, statuses, time.perf_counter() - began


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) in milliseconds."""
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000


def run_levels(
    db_name: str, url: str, ids: list[str], args: argparse.Namespace, rng: random.Random
) -> list[LevelResult]:
    """Every endpoint at every concurrency level."""
    results = []
    for endpoint in ENDPOINTS:
        for clients in args.levels:
            count = max(args.min_requests, args.per_client * clients)
            paths = [make_path(endpoint, ids, rng) for _ in range(count)]
            latencies, statuses, wall = asyncio.run(drive(url, paths, clients, args.timeout))
            errors_5xx = sum(n for s, n in statuses.items() if s >= 500)
            other = sum(n for s, n in statuses.items() if 0 <= s < 200 or 300 <= s < 500)
            row = LevelResult(
                db=db_name,
                endpoint=endpoint,
                clients=clients,
                requests=count,
                p50_ms=percentile(latencies, 50),
                p95_ms=percentile(latencies, 95),
                p99_ms=percentile(latencies, 99),
                per_s=count / wall,
                errors_5xx=errors_5xx,
                other_errors=other,
                connection_errors=statuses[-1],
            )
            results.append(row)
            print(
                f"  {db_name:<10} {endpoint:<16} {clients:>4} clients: p50 {row.p50_ms:7.1f} "
                f"p95 {row.p95_ms:7.1f} p99 {row.p99_ms:7.1f} ms, {row.per_s:6.1f}/s, "
                f"5xx {errors_5xx}, other {other}, no answer {statuses[-1]} {dict(statuses)}",
                flush=True,
            )
    return results


def soak(
    url: str, pid: int, ids: list[str], args: argparse.Namespace, rng: random.Random
) -> dict[str, float]:
    """RSS at start, after a warm-up and after ``--soak`` mixed requests (50 clients)."""
    start = rss_mb(pid)
    mixed = [make_path(rng.choice(ENDPOINTS), ids, rng) for _ in range(args.warmup)]
    asyncio.run(drive(url, mixed, 50, args.timeout))
    warm = rss_mb(pid)
    samples = []
    statuses: Counter[int] = Counter()
    began = time.perf_counter()
    chunk = 5_000
    for done in range(0, args.soak, chunk):
        size = min(chunk, args.soak - done)
        mixed = [make_path(rng.choice(ENDPOINTS), ids, rng) for _ in range(size)]
        _, got, _ = asyncio.run(drive(url, mixed, 50, args.timeout))
        statuses.update(got)
        samples.append(rss_mb(pid))
        print(f"  soak: {done + size} requests, RSS {samples[-1]:.0f} MiB {dict(got)}", flush=True)
    after = rss_mb(pid)
    return {
        "rss_start_mb": start,
        "rss_after_warmup_mb": warm,
        "rss_after_soak_mb": after,
        "rss_max_mb": max(samples, default=after),
        "growth_after_warmup_pct": (after - warm) / warm * 100,
        "soak_requests": args.soak,
        "soak_seconds": time.perf_counter() - began,
        "soak_5xx": sum(n for s, n in statuses.items() if s >= 500),
        "soak_other_errors": sum(n for s, n in statuses.items() if 0 <= s < 200 or 300 <= s < 500),
        "soak_connection_errors": statuses[-1],
    }


def bench_db(db_name: str, args: argparse.Namespace) -> tuple[list[LevelResult], dict]:
    """Seed a fresh database behind a fresh server, then run the levels (and the soak)."""
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp, contextlib_db(db_name, Path(tmp)) as db:
        home = Path(tmp)
        with running_server(db, home) as (url, proc):
            token = admin_token(db)
            began = time.perf_counter()
            ids = seed(url, token, args.papers, rng)
            print(f"{db_name}: seeded {len(ids)} papers in {time.perf_counter() - began:.0f} s")
            results = run_levels(db_name, url, ids, args, rng)
            memory = soak(url, proc.pid, ids, args, rng) if db_name in args.soak_dbs else {}
            if memory:
                print(f"  {db_name} memory: {json.dumps(memory)}")
    return results, memory


@contextmanager
def contextlib_db(db_name: str, tmp: Path) -> Iterator[str]:
    """The database URL for ``db_name``."""
    if db_name == "sqlite":
        yield f"sqlite:///{tmp / 'archive.sqlite'}"
    else:
        with postgres_url() as url:
            yield url


def markdown(results: list[LevelResult], memory: dict[str, dict], load: tuple) -> str:
    """The tables for the README."""
    lines = [
        f"load average before: {load[0]:.2f} / after: {load[1]:.2f}",
        "",
        "| db | endpoint | clients | requests | p50 ms | p95 ms | p99 ms | req/s | 5xx | other "
        "| no answer |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.db} | {r.endpoint} | {r.clients} | {r.requests} | {r.p50_ms:.0f} | "
            f"{r.p95_ms:.0f} | {r.p99_ms:.0f} | {r.per_s:.0f} | {r.errors_5xx} | "
            f"{r.other_errors} | {r.connection_errors} |"
        )
    for db_name, mem in memory.items():
        lines.append("")
        lines.append(
            f"{db_name} soak: RSS {mem['rss_start_mb']:.0f} MiB at start, "
            f"{mem['rss_after_warmup_mb']:.0f} MiB after warm-up, "
            f"{mem['rss_after_soak_mb']:.0f} MiB after {mem['soak_requests']} more requests "
            f"({mem['growth_after_warmup_pct']:+.1f}%), 5xx {mem['soak_5xx']}, "
            f"no answer {mem['soak_connection_errors']}"
        )
    lines.append(f"\nrequests without an answer, whole run: {dict(CONNECTION_ERRORS)}")
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, run every database, print Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dbs", default="sqlite,postgresql")
    parser.add_argument("--levels", default="1,50,200,500")
    parser.add_argument("--papers", type=int, default=100, help="Papers seeded per database.")
    parser.add_argument("--min-requests", type=int, default=200)
    parser.add_argument("--per-client", type=int, default=2, help="Requests per client.")
    parser.add_argument("--soak", type=int, default=50_000, help="Requests in the soak.")
    parser.add_argument("--warmup", type=int, default=5_000, help="Requests before the soak.")
    parser.add_argument("--soak-dbs", default="sqlite", help="Databases that get the soak.")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="Also save every number here.")
    args = parser.parse_args()
    args.levels = [int(x) for x in args.levels.split(",")]
    args.soak_dbs = set(args.soak_dbs.split(",")) if args.soak > 0 else set()
    load_before = os.getloadavg()[0]
    results: list[LevelResult] = []
    memory: dict[str, dict] = {}
    for db_name in args.dbs.split(","):
        rows, mem = bench_db(db_name, args)
        results += rows
        if mem:
            memory[db_name] = mem
    table = markdown(results, memory, (load_before, os.getloadavg()[0]))
    print(table)
    if args.json:
        args.json.write_text(
            json.dumps({"levels": [asdict(r) for r in results], "memory": memory}, indent=2)
        )


if __name__ == "__main__":
    main()
