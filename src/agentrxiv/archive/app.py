"""The FastAPI application: routers, the one JSON error shape, and the request-size limit.

Every error under ``/api/`` answers ``{"ok": false, "error": "...", "status": N}``. Other
paths (web pages) may render HTML errors through ``routes.pages.render_error`` if the pages
module defines it; otherwise they get the same JSON."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentrxiv import __version__
from agentrxiv.archive.capacity import (
    RETRY_AFTER_BUSY_SECONDS,
    AdmissionLimit,
    configure_threadpool,
    pool_settings,
    start_warm_up,
)
from agentrxiv.archive.db import Database, migrate
from agentrxiv.archive.head import HeadAsGet
from agentrxiv.archive.routes import (
    apidocs,
    arxiv,
    feeds,
    files,
    pages,
    papers,
    search,
)
from agentrxiv.archive.routes import campaigns as campaign_routes
from agentrxiv.archive.routes import insights as insight_routes
from agentrxiv.archive.routes import verification_jobs as job_routes
from agentrxiv.archive.routes import verifications as verification_routes
from agentrxiv.config import Settings, get_settings
from agentrxiv.errors import ArchiveError

log = logging.getLogger(__name__)

MAX_REPORTED_ERRORS = 5


def error_body(status: int, message: str) -> dict[str, Any]:
    """The API's error shape."""
    return {"ok": False, "error": message, "status": status}


class BodySizeLimit:
    """ASGI middleware answering 413 to bodies over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check Content-Length, then count the bytes actually received."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await self._answer(send, 400, "invalid Content-Length header")
                return
            if int(declared) > self.max_bytes:
                await self._answer(send, 413, self._too_large())
                return
        await self._run_counting(scope, receive, send)

    async def _run_counting(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        too_large = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise ArchiveError(self._too_large(), status=413)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:
                return  # whatever the app answers to the aborted body, we answer 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large and not started:
            await self._answer(send, 413, self._too_large())

    def _too_large(self) -> str:
        return f"request body is larger than the limit of {self.max_bytes} bytes"

    @staticmethod
    async def _answer(send: Send, status: int, message: str) -> None:
        response = JSONResponse(error_body(status, message), status_code=status)
        await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _describe_validation(exc: RequestValidationError, request: Request) -> tuple[int, str]:
    """A readable one-line message naming each bad field."""
    parts: list[str] = []
    for err in exc.errors():
        is_json = "json" in request.headers.get("content-type", "")
        if tuple(err.get("loc", ())) == ("body",) and not is_json:
            return 422, "send the request body as JSON with 'Content-Type: application/json'"
        loc = [str(p) for p in err.get("loc", ())]
        if err.get("type") == "json_invalid":
            detail = err.get("ctx", {}).get("error", "")
            return 400, f"request body is not valid JSON ({detail})".replace(" ()", "")
        source, rest = (loc[0], ".".join(loc[1:])) if loc else ("body", "")
        field = (rest or "request body") if source == "body" else f"{source} parameter {rest}"
        parts.append(f"{field}: {err.get('msg', 'invalid')}")
    extra = len(parts) - MAX_REPORTED_ERRORS
    message = "; ".join(parts[:MAX_REPORTED_ERRORS]) + (f"; and {extra} more" if extra > 0 else "")
    return 422, f"invalid request: {message}"


def _respond(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    """JSON error, or the pages module's HTML error for browsers off the API."""
    wants_html = "text/html" in request.headers.get("accept", "")
    if wants_html and not request.url.path.startswith("/api/"):
        render = getattr(pages, "render_error", None)
        if render is not None:
            page = render(request, status, message)
            page.headers.update(headers or {})
            return page
    return JSONResponse(error_body(status, message), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map every failure to the one error shape; never leak a traceback."""

    @app.exception_handler(ArchiveError)
    async def _archive_error(request: Request, exc: ArchiveError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        retry_after = getattr(exc, "retry_after", None)  # 429: rate limits and quotas
        if retry_after is not None:
            headers["Retry-After"] = str(int(retry_after))
        return _respond(request, exc.status, str(exc), headers or None)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}"
        return _respond(request, exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        status, message = _describe_validation(exc, request)
        return _respond(request, status, message)

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> Response:
        # e.g. PostgreSQL refusing a NUL character in a query parameter.
        reason = str(exc.orig).splitlines()[0] if exc.orig else "invalid value"
        return _respond(request, 422, f"the database refused a value in the request: {reason}")

    busy = {"Retry-After": str(RETRY_AFTER_BUSY_SECONDS)}

    @app.exception_handler(OperationalError)
    async def _db_unavailable(request: Request, exc: OperationalError) -> Response:
        log.error("database error on %s %s: %s", request.method, request.url.path, exc.orig)
        return _respond(request, 503, "the database is unavailable; retry later", busy)

    @app.exception_handler(PoolTimeoutError)
    async def _pool_exhausted(request: Request, exc: PoolTimeoutError) -> Response:
        # Every pooled connection stayed busy for db_pool_timeout: saturated, not broken.
        log.warning("no free database connection for %s %s", request.method, request.url.path)
        return _respond(request, 503, "the server is at capacity; retry shortly", busy)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _respond(request, 500, "internal server error")


def _include_routers(app: FastAPI) -> None:
    # Before papers: its /papers/{id}/v{version} would otherwise match /verifications.
    app.include_router(verification_routes.router, prefix="/api/v1")
    app.include_router(job_routes.router, prefix="/api/v1")
    app.include_router(papers.router, prefix="/api/v1")
    app.include_router(search.router, prefix="/api/v1")
    app.include_router(campaign_routes.router, prefix="/api/v1")
    app.include_router(campaign_routes.pages)
    app.include_router(insight_routes.router, prefix="/api/v1")
    app.include_router(arxiv.router)
    app.include_router(feeds.router)
    app.include_router(apidocs.router)
    app.include_router(files.router)
    app.include_router(pages.router)


def create_app(settings: Settings | None = None, run_migrations: bool = True) -> FastAPI:
    """The AgentRxiv server app on ``settings``' database (migrated to head first)."""
    settings = settings or get_settings()
    url = settings.database_url()
    if run_migrations:
        migrate(url)
    db = Database(url, pool_settings(settings))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        configure_threadpool(settings)
        start_warm_up(settings)
        yield
        db.dispose()

    app = FastAPI(
        title="AgentRxiv",
        version=__version__,
        description="A preprint server for autonomous research agents.",
        lifespan=lifespan,
        docs_url=None,  # served from the package by routes.apidocs (no CDN)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.engine = db.engine
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(HeadAsGet)
    app.add_middleware(
        AdmissionLimit,
        max_active=settings.max_concurrent_requests,
        max_queued=settings.max_queued_requests,
        queue_timeout=settings.queue_timeout,
    )

    @app.get("/api/v1/health", tags=["meta"])
    def health() -> dict[str, bool]:
        """Liveness check."""
        return {"ok": True}

    _include_routers(app)
    return app


def worker_app() -> FastAPI:
    """The app of one ``serve --workers N`` worker: settings from ``AGENTRXIV_*`` (the
    parent passes its flags on), database already migrated by the parent."""
    return create_app(get_settings(), run_migrations=False)
