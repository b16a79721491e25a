"""A SQLite cache of literature queries and full texts under ``$AGENTRXIV_HOME``, so a
repeated run asks the remote source nothing (entries expire after ``max_age_days``)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

CACHE_FILE = "literature_cache.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    created REAL NOT NULL,
    payload TEXT NOT NULL
)
"""


def cache_key(*parts: str) -> str:
    """A stable key for a request (endpoint, kind and arguments)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class LiteratureCache:
    """Query results and full texts by key; ``max_age_days == 0`` turns the cache off."""

    def __init__(self, path: Path, max_age_days: float) -> None:
        self.path, self.max_age_s = path, max_age_days * 86_400
        if self.enabled:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as conn:
                conn.execute(SCHEMA)

    @property
    def enabled(self) -> bool:
        """Whether anything is read or written."""
        return self.max_age_s > 0

    def _connect(self) -> sqlite3.Connection:
        # WAL and a busy timeout: parallel labs share one cache file without losing writes.
        conn = sqlite3.connect(self.path, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    def get(self, key: str) -> Any | None:
        """The cached payload, or ``None`` when missing or expired."""
        if not self.enabled:
            return None
        with self._connect() as conn:
            row = conn.execute(
                "SELECT created, payload FROM entries WHERE key = ?", (key,)
            ).fetchone()
        if row is None or time.time() - row[0] > self.max_age_s:
            return None
        return json.loads(row[1])

    def put(self, key: str, kind: str, payload: Any) -> None:
        """Store ``payload`` (JSON-serialisable) under ``key``."""
        if not self.enabled:
            return
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO entries (key, kind, created, payload) VALUES (?, ?, ?, ?)",
                (key, kind, time.time(), json.dumps(payload)),
            )
