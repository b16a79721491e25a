"""The server under load, over real HTTP on loopback, on SQLite and PostgreSQL: 200 concurrent
requests at each read endpoint (search in every mode, list, paper, arXiv query, web pages)
and 50 concurrent submissions, with zero 5xx answers. Saturation (a full admission queue)
answers 503 with ``Retry-After``, never 500; a pool timeout is a 503 as well.

Before the fix, 60 concurrent keyword searches got 40 answers of 500 after exactly 30 s
(SQLAlchemy's ``QueuePool limit ... reached``)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from tests.conftest import LiveServer, postgres_database, start_server, stop_server

from agentrxiv.archive.app import install_error_handlers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONCURRENCY = 200
SUBMISSIONS = 50
SEED_PAPERS = 12
BURST_TIMEOUT_S = 120
TOPICS = ["majority vote", "self-consistency", "chain of thought", "program synthesis"]


def _paper(n: int) -> dict[str, object]:
    topic = TOPICS[n % len(TOPICS)]
    return {
        "title": f"Load paper {n}: {topic} on MATH-500",
        "abstract": f"We study {topic} for small models; paper number {n}.",
        "body": f"# Method\n\nWe apply {topic}.\n\n$$x^2 + {n}$$\n",
        "categories": ["cs.AI"],
        "results": [{"benchmark": "math500", "metric": "accuracy", "value": n / 100, "n": 50}],
    }


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, str]]:
    """A server with default capacity settings and a few embedded papers; one paper id. The
    per-address limit on costly reads is off: all clients here share one address, and that
    limit has its own tests (tests/archive/test_owners_scopes.py)."""
    home = tmp_path_factory.mktemp(f"load-{request.param}")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            db = f"sqlite:///{home / 'archive.sqlite'}"
        else:
            db = stack.enter_context(contextlib.contextmanager(postgres_database)())
        server = start_server(home, db, {"AGENTRXIV_COSTLY_READS_PER_MINUTE": "0"})
        stack.callback(stop_server, server)
        ids = []
        with server.client(server.token) as http:
            for n in range(SEED_PAPERS):
                response = http.post("/api/v1/papers", json=_paper(n))
                assert response.status_code == 201, response.text
                ids.append(response.json()["id"])
        yield server, ids[0]


async def _fire(url: str, paths: list[str]) -> list[httpx.Response | BaseException]:
    """Send every GET at once, each on its own connection."""
    limits = httpx.Limits(max_connections=len(paths), max_keepalive_connections=len(paths))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=BURST_TIMEOUT_S) as client:
        return await asyncio.gather(*(client.get(path) for path in paths), return_exceptions=True)


def _burst(url: str, paths: list[str]) -> Counter[int]:
    """The statuses of ``paths`` requested all at once (-1: no answer)."""
    responses = asyncio.run(_fire(url, paths))
    return Counter(r.status_code if isinstance(r, httpx.Response) else -1 for r in responses)


def _read_paths(paper_id: str) -> dict[str, str]:
    query = {"search_query": "all:vote", "max_results": 5}
    return {
        "search keyword": "/api/v1/search?" + urlencode({"q": "majority vote", "mode": "keyword"}),
        "search semantic": "/api/v1/search?" + urlencode({"q": "voting", "mode": "semantic"}),
        "search hybrid": "/api/v1/search?" + urlencode({"q": "chain of thought"}),
        "list": "/api/v1/papers?limit=5",
        "paper": f"/api/v1/papers/{paper_id}",
        "arxiv query": "/api/query?" + urlencode(query),
        "home page": "/",
        "paper page": f"/abs/{paper_id}",
        "search page": "/search?" + urlencode({"q": "majority vote"}),
    }


def test_200_concurrent_reads_of_every_endpoint(loaded: tuple[LiveServer, str]) -> None:
    server, paper_id = loaded
    started = time.monotonic()
    failures = {}
    for name, path in _read_paths(paper_id).items():
        began = time.monotonic()
        statuses = _burst(server.url, [path] * CONCURRENCY)
        print(f"{name}: {CONCURRENCY} at once in {time.monotonic() - began:.1f} s {statuses}")
        if statuses != Counter({200: CONCURRENCY}):
            failures[name] = dict(statuses)
    log = (server.home / "server.log").read_text(errors="replace")
    assert not failures, f"{failures}\n{log[-3000:]}"
    assert "Traceback" not in log, log[-3000:]
    assert time.monotonic() - started < 180


# Each client idles this long between requests over one shared pool, so connections come back
# to use at every idle time around httpx's 5 s expiry. With the server's keep-alive timeout at
# 5 s too (uvicorn's default), benchmarks/keepalive_bench.py lost 7 of 1,005 such requests
# (ReadError, RemoteProtocolError): the server closed them as they were reused.
IDLE_S = (4.7, 5.3)
REUSE_FOR_S = 40


async def _staggered_reuse(url: str, path: str) -> Counter[str]:
    """Outcomes (status code, or exception name for no answer) of 200 clients sharing one
    pool, each idling a random ``IDLE_S`` between requests, for ``REUSE_FOR_S`` seconds."""
    outcomes: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    rng = random.Random(0)
    deadline = time.monotonic() + REUSE_FOR_S
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=BURST_TIMEOUT_S) as pool:

        async def client() -> None:
            while time.monotonic() < deadline:
                try:
                    outcomes[str((await pool.get(path)).status_code)] += 1
                except httpx.HTTPError as exc:
                    outcomes[type(exc).__name__] += 1
                await asyncio.sleep(rng.uniform(*IDLE_S))

        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return outcomes


def test_no_connection_dropped_after_idle_pauses(loaded: tuple[LiveServer, str]) -> None:
    """Connection errors (no answer at all) count as failures, not only status codes."""
    server, _ = loaded
    outcomes = asyncio.run(_staggered_reuse(server.url, "/api/v1/papers?limit=5"))
    assert set(outcomes) == {"200"}, outcomes
    assert outcomes["200"] >= CONCURRENCY * 2  # every client reused a connection


def test_50_concurrent_submissions(loaded: tuple[LiveServer, str]) -> None:
    server, _ = loaded
    headers = {"Authorization": f"Bearer {server.token}"}

    async def submit_all() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=SUBMISSIONS)
        async with httpx.AsyncClient(
            base_url=server.url, headers=headers, limits=limits, timeout=BURST_TIMEOUT_S
        ) as client:
            return await asyncio.gather(
                *(client.post("/api/v1/papers", json=_paper(100 + n)) for n in range(SUBMISSIONS))
            )

    responses = asyncio.run(submit_all())
    statuses = Counter(r.status_code for r in responses)
    refused = [r.text for r in responses if r.status_code != 201][:3]
    assert statuses == Counter({201: SUBMISSIONS}), refused
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == SUBMISSIONS
    with server.client() as http:
        assert http.get("/api/v1/papers?limit=1").json()["total"] >= SEED_PAPERS + SUBMISSIONS


def test_saturation_answers_503_with_retry_after(tmp_path: Path) -> None:
    """One request at a time and no queue: the rest are refused with 503, never 500."""
    home = tmp_path / "saturated"
    home.mkdir()
    env = {
        "AGENTRXIV_MAX_CONCURRENT_REQUESTS": "1",
        "AGENTRXIV_MAX_QUEUED_REQUESTS": "0",
        "AGENTRXIV_EMBED_ON_WRITE": "false",
    }
    server = start_server(home, f"sqlite:///{home / 'archive.sqlite'}", env)
    try:
        responses = asyncio.run(_fire(server.url, ["/api/v1/papers?limit=5"] * 60))
        with server.client() as http:
            after = http.get("/api/v1/papers?limit=5")
    finally:
        stop_server(server)
    statuses = Counter(r.status_code if isinstance(r, httpx.Response) else -1 for r in responses)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[503] > 0 and statuses[200] > 0, statuses
    busy = next(r for r in responses if isinstance(r, httpx.Response) and r.status_code == 503)
    assert int(busy.headers["retry-after"]) >= 1
    assert "capacity" in busy.json()["error"]
    assert after.status_code == 200


def test_busy_answer_has_retry_after() -> None:
    """The 503 answers (admission queue and pool timeout) carry Retry-After."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/api/v1/pool")
    def pool() -> None:
        raise PoolTimeoutError("QueuePool limit of size 5 overflow 10 reached")

    with TestClient(app) as client:
        response = client.get("/api/v1/pool")
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["error"].startswith("the server is at capacity")
