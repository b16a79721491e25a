"""Concurrent writers lose nothing, and a server killed mid-upload leaves no half-written
paper: 16 client threads publishing at once, then SIGKILL during uploads and a restart on
the same database (SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from tests.conftest import LiveServer, postgres_database, start_server, stop_server

from agentrxiv.archive.db import make_engine
from agentrxiv.archive.schemas import PaperCreate, ResultIn
from agentrxiv.client import ArchiveClient

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLIENTS = 16
PAPERS_PER_CLIENT = 4
RESULTS_PER_PAPER = 3
TITLE_RE = re.compile(r"parents=(\d+)")


def submission(title: str, parents: list[str], body: str = "") -> PaperCreate:
    """A paper with three results and the given parents."""
    return PaperCreate(
        title=title,
        abstract=f"Concurrency test paper {title}.",
        body=body or f"Body of {title}.",
        categories=["cs.AI"],
        parents=parents,
        results=[
            ResultIn(benchmark="math500", metric=f"m{i}", value=i / 10)
            for i in range(RESULTS_PER_PAPER)
        ],
    )


def upload_chain(server: LiveServer, client_no: int) -> list[str]:
    """One client: a chain of papers, each citing the previous, then a v2 of the first."""
    ids: list[str] = []
    with ArchiveClient(server.url, token=server.token, timeout=120) as client:
        for n in range(PAPERS_PER_CLIENT):
            parents = ids[-1:]
            title = f"client {client_no} paper {n} parents={len(parents)}"
            ids.append(client.submit(submission(title, parents)).id)
        client.new_version(ids[0], submission(f"client {client_no} v2 parents=0", []))
    return ids


def test_concurrent_uploads_all_succeed(live_server: LiveServer) -> None:
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        chains = list(pool.map(lambda n: upload_chain(live_server, n), range(CLIENTS)))
    ids = [pid for chain in chains for pid in chain]
    assert len(ids) == len(set(ids)) == CLIENTS * PAPERS_PER_CLIENT
    with ArchiveClient(live_server.url) as client:
        assert client.list(limit=1).total == len(ids)
        for chain in chains:
            first = client.get(chain[0])
            assert first.version == 2 and first.versions == [1, 2]
            for parent, child in zip(chain, chain[1:], strict=False):
                fetched = client.get(child)
                assert fetched.parents == [parent]
                assert len(fetched.results) == RESULTS_PER_PAPER


def _kill_test_server(home: Path, db: str) -> LiveServer:
    return start_server(home, db, {"AGENTRXIV_EMBED_ON_WRITE": "false"})


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def kill_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL that outlives one server process."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'archive.sqlite'}"
    else:
        with contextlib.contextmanager(postgres_database)() as url:
            yield url


def _upload_until_killed(server: LiveServer, stop: threading.Event, acked: list[str]) -> None:
    """Publish large papers back to back until the server dies; record acknowledged ids."""
    body = "lorem ipsum " * 20_000  # ~240 kB so that uploads are in flight when killed
    headers = {"Authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        parents: list[str] = []
        while not stop.is_set():
            title = f"killed upload parents={len(parents)}"
            payload = submission(title, parents, body).model_dump(mode="json")
            try:
                response = http.post("/api/v1/papers", json=payload)
            except httpx.HTTPError:
                return
            if response.status_code != 201:
                return
            acked.append(response.json()["id"])
            parents = acked[-2:]


def test_sigkill_mid_upload_leaves_only_complete_papers(kill_db: str, tmp_path: Path) -> None:
    home = tmp_path / "server-home"
    home.mkdir()
    server = _kill_test_server(home, kill_db)
    stop, acked = threading.Event(), []
    threads = [
        threading.Thread(target=_upload_until_killed, args=(server, stop, acked)) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(acked) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.process.kill()  # SIGKILL while the other uploads are in flight
    server.process.wait(timeout=30)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert len(acked) >= 20, (home / "server.log").read_text()[-2000:]
    before_restart = _paper_count(kill_db)
    assert before_restart >= len(acked)

    restarted = _kill_test_server(home, kill_db)
    try:
        stored = _check_every_paper_complete(restarted)
    finally:
        stop_server(restarted)
    assert set(acked) <= stored
    assert len(stored) == before_restart == _paper_count(kill_db)  # restarting deleted nothing
    _check_no_orphans(kill_db)


def _paper_count(db: str) -> int:
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM papers")).scalar_one())
    finally:
        engine.dispose()


def _check_every_paper_complete(server: LiveServer) -> set[str]:
    """Every stored paper has its version, all its results and the parents it was sent with."""
    stored: set[str] = set()
    with ArchiveClient(server.url) as client:
        total = client.list(limit=1).total
        for offset in range(0, total, 200):
            for item in client.list(offset=offset, limit=200).items:
                paper = client.get(item.id)
                expected_parents = int(TITLE_RE.search(paper.title).group(1))  # type: ignore[union-attr]
                assert len(paper.results) == RESULTS_PER_PAPER, paper.id
                assert len(paper.parents) == expected_parents, paper.id
                assert paper.body.startswith("lorem ipsum")
                stored.add(paper.id)
    assert len(stored) == total
    return stored


def _check_no_orphans(db: str) -> None:
    """No paper without a version, no version without its paper's results."""
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            bare = conn.execute(
                text(
                    "SELECT count(*) FROM papers p WHERE NOT EXISTS "
                    "(SELECT 1 FROM paper_versions v WHERE v.paper_id = p.id)"
                )
            ).scalar_one()
            short = conn.execute(
                text(
                    "SELECT count(*) FROM paper_versions v WHERE "
                    "(SELECT count(*) FROM results r WHERE r.version_id = v.id) != :n"
                ),
                {"n": RESULTS_PER_PAPER},
            ).scalar_one()
    finally:
        engine.dispose()
    assert bare == 0 and short == 0
