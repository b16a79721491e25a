"""Retries with exponential backoff and full jitter, and per-endpoint concurrency limits.

Backends raise ``LLMError`` subclasses marked ``retryable``; ``call_with_retries`` retries
those (429, 5xx, timeouts, connection errors), honours a 429's ``Retry-After``, and after the
last attempt re-raises the final error with the attempt count in its one-line message.
``endpoint_slot`` bounds in-flight calls per endpoint (base URL), shared by every model object
in the process.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from agentrxiv.errors import LLMError
from agentrxiv.llm.errors import RateLimitError

logger = logging.getLogger(__name__)
R = TypeVar("R")


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, and the backoff between them (seconds)."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, error: LLMError) -> float:
        """Seconds to wait after failed ``attempt`` (1-based): Retry-After, else full jitter."""
        retry_after = getattr(error, "retry_after", None)
        if isinstance(error, RateLimitError) and retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return random.uniform(0.0, ceiling)


def call_with_retries(
    call: Callable[[], R],
    policy: RetryPolicy,
    *,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> R:
    """Run ``call``, retrying retryable ``LLMError``s per ``policy``; ``what`` names the target
    in log lines and the final error."""
    attempt = 1
    while True:
        try:
            return call()
        except LLMError as error:
            if not getattr(error, "retryable", False):
                raise
            if attempt >= policy.max_attempts:
                error.message = f"{error.message} (gave up after {attempt} attempts)"
                error.args = (error.message,)
                raise
            wait = policy.delay(attempt, error)
            logger.warning(
                "%s: attempt %d/%d failed (%s); retrying in %.2fs",
                what,
                attempt,
                policy.max_attempts,
                error.message,
                wait,
            )
            sleep(wait)
            attempt += 1


class _EndpointLimiter:
    """A counting gate whose limit the latest caller may change."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self._cond = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._cond:
            while self.in_flight >= self.limit:
                self._cond.wait()
            self.in_flight += 1
        try:
            yield
        finally:
            with self._cond:
                self.in_flight -= 1
                self._cond.notify()

    def set_limit(self, limit: int) -> None:
        with self._cond:
            self.limit = limit
            self._cond.notify_all()


_limiters: dict[str, _EndpointLimiter] = {}
_limiters_lock = threading.Lock()


def endpoint_limiter(endpoint: str, limit: int | None, default: int = 8) -> _EndpointLimiter:
    """The process-wide limiter for ``endpoint``. An explicit ``limit`` (re)sets it; ``None``
    keeps the current one, or ``default`` for a new endpoint."""
    if limit is not None and limit < 1:
        raise ValueError(f"max_concurrency must be >= 1, got {limit}")
    with _limiters_lock:
        limiter = _limiters.get(endpoint)
        if limiter is None:
            limiter = _limiters[endpoint] = _EndpointLimiter(limit or default)
        elif limit is not None and limiter.limit != limit:
            logger.info("concurrency limit for %s changed %d -> %d", endpoint, limiter.limit, limit)
            limiter.set_limit(limit)
        return limiter
