"""How much work one server worker takes on at once, so that load makes it slower, never
broken: an admission limit in front of the app, the thread pool that runs blocking request
work, and the database pool sized to both.

Why: FastAPI runs sync endpoints and dependencies in AnyIO's thread pool (40 threads by
default). With more requests in flight than pooled connections, threads holding a request
blocked on a connection while the requests holding connections waited for a thread to
serialise their responses; after ``pool_timeout`` (30 s) each failed with SQLAlchemy's
``TimeoutError``, answered 500. Now (1) sessions are closed when the endpoint returns,
before serialisation (``deps.SessionDep``); (2) at most ``max_concurrent_requests`` requests
run at once and the rest wait in a FIFO queue (``AdmissionLimit``); (3) the pool holds at
least one connection per admitted request plus hybrid search's keyword threads, so an
admitted request never waits long for one; (4) what still times out is a 503 with
``Retry-After``: a queue over ``max_queued_requests``, a wait over ``queue_timeout``, or a
pool timeout (see ``app.install_error_handlers``).
"""

from __future__ import annotations

import logging
import threading

import anyio
import anyio.to_thread
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentrxiv.archive.db import PoolSettings
from agentrxiv.archive.search.embedder import get_embedder
from agentrxiv.config import Settings

log = logging.getLogger(__name__)

RETRY_AFTER_BUSY_SECONDS = 2
# Hybrid search runs its keyword half on its own connection (search.hybrid._keyword_workers).
EXTRA_CONNECTIONS = 4
EXEMPT_PATHS = frozenset({"/api/v1/health"})


def pool_settings(settings: Settings) -> PoolSettings:
    """The database pool of one worker, warning when it is smaller than what can run."""
    pool = PoolSettings(
        size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        timeout=settings.db_pool_timeout,
    )
    needed = settings.max_concurrent_requests + EXTRA_CONNECTIONS
    if pool.size + pool.max_overflow < needed:
        log.warning(
            "db_pool_size + db_max_overflow = %d is below max_concurrent_requests + %d = %d: "
            "under load requests will wait for connections (and may get 503)",
            pool.size + pool.max_overflow,
            EXTRA_CONNECTIONS,
            needed,
        )
    return pool


def configure_threadpool(settings: Settings) -> None:
    """Size AnyIO's default thread pool (call inside the server's event loop)."""
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = settings.threadpool_size
    if settings.threadpool_size < settings.max_concurrent_requests:
        log.warning(
            "threadpool_size %d is below max_concurrent_requests %d",
            settings.threadpool_size,
            settings.max_concurrent_requests,
        )


def start_warm_up(settings: Settings) -> None:
    """Load the embedding model in the background as the server starts, so that the first
    searches and submissions do not all wait for it (it takes seconds, more on a busy host)."""
    if not settings.embed_on_write:
        return

    def load() -> None:
        try:
            get_embedder()
        except Exception as exc:  # noqa: BLE001 - the first request reports it properly
            log.warning("could not preload the embedding model: %s", exc)

    threading.Thread(target=load, name="embedder-warm-up", daemon=True).start()


async def _answer_busy(send: Send, message: str) -> None:
    body = {"ok": False, "error": message, "status": 503}
    headers = {"Retry-After": str(RETRY_AFTER_BUSY_SECONDS)}
    response = JSONResponse(body, status_code=503, headers=headers)
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


class AdmissionLimit:
    """ASGI middleware: at most ``max_active`` requests run at once; up to ``max_queued``
    more wait their turn (first come, first served) for up to ``queue_timeout`` seconds.
    Beyond that the answer is 503 with ``Retry-After``, before any work is done."""

    def __init__(
        self, app: ASGIApp, max_active: int, max_queued: int, queue_timeout: float
    ) -> None:
        self.app = app
        self.max_active = max_active
        self.max_queued = max_queued
        self.queue_timeout = queue_timeout
        self.queued = 0
        self._slots: anyio.Semaphore | None = None

    def _semaphore(self) -> anyio.Semaphore:
        if self._slots is None:  # made inside the event loop, on first use
            self._slots = anyio.Semaphore(self.max_active)
        return self._slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request when a slot is free; 503 when the queue is full or too slow."""
        if scope["type"] != "http" or scope.get("path") in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        slots = self._semaphore()
        if slots.value == 0 and self.queued >= self.max_queued:
            await _answer_busy(send, "the server is at capacity (request queue full); retry")
            return
        admitted = False
        self.queued += 1
        try:
            with anyio.move_on_after(self.queue_timeout):
                await slots.acquire()
                admitted = True
        finally:
            self.queued -= 1
        if not admitted:
            log.warning("request waited %.0f s for a slot; answered 503", self.queue_timeout)
            await _answer_busy(send, "the server is at capacity (queue wait too long); retry")
            return
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()
