"""An in-process AgentRxiv server on a temporary SQLite archive for ``agentrxiv demo``:
uvicorn in a thread on a free loopback port, with a write token for the demo lab."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from agentrxiv.client import wait_until_serving
from agentrxiv.errors import AgentrxivError

START_TIMEOUT_S = 60


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DemoServer:
    """``with DemoServer(root) as server:`` serves ``root/archive.sqlite`` on ``server.url``."""

    def __init__(self, root: Path, lab: str = "demo-lab", *, admin: bool = False) -> None:
        self.db_path = root / "archive.sqlite"
        self.db_url = f"sqlite:///{self.db_path}"
        self.lab = lab
        self.admin = admin  # an admin token can create a campaign and mint its labs' tokens
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = ""
        self._server = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> DemoServer:
        import uvicorn

        from agentrxiv.archive.app import create_app
        from agentrxiv.archive.auth import create_token
        from agentrxiv.archive.db import Database, migrate
        from agentrxiv.config import get_settings

        settings = get_settings().model_copy(
            update={"db": self.db_url, "port": self.port, "base_url": self.url}
        )
        migrate(self.db_url)
        database = Database(self.db_url)
        try:
            with database.write() as session:
                self.token = create_token(session, self.lab, admin=self.admin)
        finally:
            database.dispose()
        config = uvicorn.Config(
            create_app(settings, run_migrations=False),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="demo-server", daemon=True)
        self._thread.start()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        if not wait_until_serving(self.url, START_TIMEOUT_S):
            raise AgentrxivError(f"the demo server did not start on {self.url}")

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C)."""
        if self._thread is not None:
            self._thread.join()

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
