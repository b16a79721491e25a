"""Polite HTTP for remote literature sources: at most one request per interval per endpoint
(shared by every process through a lock file, so parallel labs keep the rate together) and
retries with exponential backoff on connection errors, 429 and 5xx."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class RemoteStatusError(Exception):
    """A remote answered with an HTTP error status."""

    def __init__(self, url: str, status: int) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.url, self.status = url, status


class RateLimiter:
    """One request at a time per endpoint (host), across processes, each starting at least
    ``min_interval_s`` after the previous one finished.

    arXiv asks for one request every three seconds over a single connection. Holding the
    endpoint's lock file for the whole request and timing the interval from its end keeps
    both rules for every process on one ``$AGENTRXIV_HOME``, and the gap the server sees
    between two arrivals is never shorter than the interval, whatever the network delay."""

    def __init__(self, lock_dir: Path, min_interval_s: float) -> None:
        self.lock_dir, self.min_interval_s = lock_dir, min_interval_s
        lock_dir.mkdir(parents=True, exist_ok=True)

    def lock_path(self, url: str) -> Path:
        """The lock file of ``url``'s endpoint."""
        endpoint = urlsplit(url).netloc or url
        return self.lock_dir / f"{hashlib.sha256(endpoint.encode()).hexdigest()[:16]}.lock"

    @contextmanager
    def turn(self, url: str) -> Iterator[float]:
        """Hold ``url``'s endpoint for one request; yields the seconds waited for it."""
        if self.min_interval_s <= 0:
            yield 0.0
            return
        with open(self.lock_path(url), "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
            handle.seek(0)
            raw = handle.read().strip()
            last_finished = float(raw) if raw else 0.0
            waited = max(0.0, last_finished + self.min_interval_s - time.time())
            if waited:
                time.sleep(waited)
            try:
                yield waited
            finally:
                handle.seek(0)
                handle.truncate()
                handle.write(repr(time.time()))
                handle.flush()


class PoliteSession(requests.Session):
    """A ``requests`` session whose every request takes its turn at the rate limiter and is
    counted."""

    def __init__(
        self,
        limiter: RateLimiter,
        timeout_s: float,
        on_request: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.limiter, self.timeout_s, self.on_request = limiter, timeout_s, on_request
        self.requests_made = 0

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Send one request once the endpoint's interval has passed."""
        kwargs.setdefault("timeout", self.timeout_s)
        with self.limiter.turn(url):
            self.requests_made += 1
            if self.on_request is not None:
                self.on_request()
            return super().request(method, url, *args, **kwargs)


def is_retryable(exc: BaseException) -> bool:
    """Connection problems, timeouts, 429 and 5xx are worth another try; 4xx are not."""
    import arxiv

    if isinstance(exc, RemoteStatusError | arxiv.HTTPError):
        return exc.status in RETRY_STATUSES
    return isinstance(
        exc, requests.ConnectionError | requests.Timeout | arxiv.UnexpectedEmptyPageError
    )


def with_retries(call: Callable[[], T], max_retries: int, backoff_s: float) -> T:
    """``call()``, retried up to ``max_retries`` times, waiting ``backoff_s * 2**n`` between."""
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            if attempt >= max_retries or not is_retryable(exc):
                raise
            delay = backoff_s * 2**attempt
            log.info("literature source: %s; retry %d in %.1fs", exc, attempt + 1, delay)
            time.sleep(delay)
            attempt += 1
