"""Response cache: deterministic requests (temperature 0 or an explicit seed) answered before
are served from SQLite (``$AGENTRXIV_HOME/llm_cache.sqlite``) without calling the model.

The key is the sha256 of the model spec, endpoint, messages and sampling parameters including
the JSON schema, so any change to the request misses. WAL mode lets several processes share
the file; one connection per cache object, guarded by a lock, serves all threads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from agentrxiv.llm.base import ChatRequest, ChatResult, Usage
from agentrxiv.paths import home_dir

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    body TEXT NOT NULL,
    created REAL NOT NULL
)
"""


@dataclass
class CacheStats:
    """Lookups answered from the cache (hits) and not (misses)."""

    hits: int = 0
    misses: int = 0


def cache_key(spec: str, endpoint: str, request: ChatRequest) -> str:
    """sha256 over everything that determines the answer (the tag is not part of it)."""
    payload = {
        "spec": spec,
        "endpoint": endpoint,
        "messages": [dict(m) for m in request.messages],
        "params": asdict(request.params),
        "json_schema": request.json_schema,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """A thread-safe SQLite cache of chat results."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else home_dir() / "llm_cache.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.stats = CacheStats()
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            self.path, check_same_thread=False, timeout=30.0, isolation_level=None
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(_SCHEMA)

    def get(self, key: str) -> ChatResult | None:
        """The cached result for ``key`` (marked ``cached``, cost 0), counting hit or miss."""
        with self._lock:
            row = self._conn.execute("SELECT body FROM responses WHERE key = ?", (key,)).fetchone()
            if row is None:
                self.stats.misses += 1
                return None
            self.stats.hits += 1
        body = json.loads(row[0])
        return ChatResult(
            text=body["text"],
            model=body["model"],
            usage=Usage(body["prompt_tokens"], body["completion_tokens"]),
            cost_usd=0.0,
            cached=True,
            finish_reason=body.get("finish_reason"),
        )

    def put(self, key: str, spec: str, result: ChatResult) -> None:
        """Store a fresh result under ``key``."""
        body = {
            "text": result.text,
            "model": result.model,
            "prompt_tokens": result.usage.prompt_tokens,
            "completion_tokens": result.usage.completion_tokens,
            "finish_reason": result.finish_reason,
        }
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO responses (key, spec, body, created) VALUES (?, ?, ?, ?)",
                (key, spec, json.dumps(body, ensure_ascii=False), time.time()),
            )

    def clear(self) -> int:
        """Delete every entry; returns how many there were."""
        with self._lock:
            return self._conn.execute("DELETE FROM responses").rowcount

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()


_caches: dict[Path, ResponseCache] = {}
_caches_lock = threading.Lock()


def default_cache() -> ResponseCache:
    """The shared cache under the current ``$AGENTRXIV_HOME`` (one object per file)."""
    path = home_dir() / "llm_cache.sqlite"
    with _caches_lock:
        if path not in _caches:
            _caches[path] = ResponseCache(path)
        return _caches[path]
