"""Shared fixtures: an isolated ``$AGENTRXIV_HOME`` per test, the MATH-500 file, and a real
``agentrxiv serve`` subprocess on a free port (SQLite or PostgreSQL)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from agentrxiv.client import wait_until_serving

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get(
    "AGENTRXIV_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data directory and fresh settings."""
    home = tmp_path / "agentrxiv-home"
    home.mkdir()
    monkeypatch.setenv("AGENTRXIV_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    from agentrxiv.config import get_settings

    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def math500_path() -> Path:
    """The MATH-500 JSONL file (``AGENTRXIV_MATH500`` or ``../shared/data``)."""
    path = Path(os.environ.get("AGENTRXIV_MATH500", REPO.parent / "shared/data/math500.jsonl"))
    if not path.exists():
        pytest.skip(f"MATH-500 file not found at {path}; set AGENTRXIV_MATH500")
    return path


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(*args: str, home: Path, db: str | None = None, check: bool = True) -> str:
    """Run ``agentrxiv ARGS`` in a subprocess and return its stdout."""
    env = {**os.environ, "AGENTRXIV_HOME": str(home)}
    if db:
        env["AGENTRXIV_DB"] = db
    proc = subprocess.run(
        [sys.executable, "-m", "agentrxiv.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"agentrxiv {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


@dataclass
class LiveServer:
    """A started ``agentrxiv serve`` process and tokens to write to it."""

    url: str
    db: str
    home: Path
    token: str
    admin_token: str
    process: subprocess.Popen[bytes]

    def client(self, token: str | None = None) -> httpx.Client:
        """An httpx client for the server (with a bearer token if given)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def new_token(self, lab: str, admin: bool = False) -> str:
        """Create a write token for ``lab`` with the CLI."""
        args = ["token", "create", lab] + (["--admin"] if admin else [])
        return cli(*args, home=self.home, db=self.db).strip()


def start_server(home: Path, db: str, extra_env: dict[str, str] | None = None) -> LiveServer:
    """Start ``agentrxiv serve`` on a free port and wait until it answers."""
    port = free_port()
    env = {**os.environ, "AGENTRXIV_HOME": str(home), **(extra_env or {})}
    log = open(home / "server.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentrxiv.cli.main", "serve", "--port", str(port), "--db", db],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    if not wait_until_serving(url, 120, lambda: proc.poll() is not None):
        proc.kill()
        raise AssertionError(f"server did not start: {(home / 'server.log').read_text()}")
    server = LiveServer(url=url, db=db, home=home, token="", admin_token="", process=proc)
    server.token = server.new_token("test-lab")
    server.admin_token = server.new_token("admin", admin=True)
    return server


def stop_server(server: LiveServer) -> None:
    """Terminate the server process."""
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()


def postgres_database() -> Iterator[str]:
    """Create a throwaway PostgreSQL database; skip with a clear message if none is reachable."""
    import sqlalchemy as sa

    try:
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            name = f"agentrxiv_test_{uuid.uuid4().hex[:10]}"
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({type(exc).__name__}: {exc})")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL: a fresh SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'archive.sqlite'}"
    else:
        yield from postgres_database()


@pytest.fixture
def live_server(db_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A real server over HTTP on SQLite and on PostgreSQL (parametrised)."""
    home = tmp_path / "server-home"
    home.mkdir()
    server = start_server(home, db_url)
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One real server on SQLite shared by a test module (for read-mostly tests)."""
    home = tmp_path_factory.mktemp("server-home")
    server = start_server(home, f"sqlite:///{home / 'archive.sqlite'}")
    yield server
    stop_server(server)


# The two databases of module-scoped server fixtures; PostgreSQL skips where none is reachable.
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def serve_on(kind: str, home: Path, env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """A live server on ``kind`` ("sqlite" under ``home``, or a throwaway PostgreSQL database)
    with ``env``, stopped (and the database dropped) when the generator closes."""
    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            db = f"sqlite:///{home / 'archive.sqlite'}"
        else:
            db = stack.enter_context(contextlib.contextmanager(postgres_database)())
        live = start_server(home, db, env)
        stack.callback(stop_server, live)
        yield live


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def new_lab(server: LiveServer, prefix: str = "lab-") -> str:
    """A write token of a fresh lab with its own owner, made on the server's database."""
    from agentrxiv.archive.auth import create_token
    from agentrxiv.archive.db import Database

    database = Database(server.db)
    try:
        with database.write() as session:
            return create_token(session, unique(prefix))
    finally:
        database.dispose()
