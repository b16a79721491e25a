"""``agentrxiv serve`` as the benchmarks start it: a real server process on a free port,
answering ``/api/v1/health`` before the block runs, terminated after it (killed if it does
not stop). Imported by the benchmark scripts beside it (``from served import
running_server``); the tests have their own helper in ``tests/conftest.py``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agentrxiv.bench.fake_endpoint import free_port
from agentrxiv.client import wait_until_serving

START_TIMEOUT_S = 180


@contextmanager
def running_server(
    db: str, home: Path, env: dict[str, str] | None = None, log_level: str = "warning"
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``(url, process)`` of a server on ``db`` with ``AGENTRXIV_HOME=home`` and the extra
    environment ``env``; its output (at ``log_level``) goes to ``home/server.log``."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = home / "server.log"
    command = [sys.executable, "-m", "agentrxiv.cli.main", "serve", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--db", db, "--log-level", log_level],
            env={**os.environ, "AGENTRXIV_HOME": str(home), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log_path)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    if not wait_until_serving(url, START_TIMEOUT_S, lambda: process.poll() is not None):
        raise SystemExit(f"the server did not come up on {url}: {log_path.read_text()}")
