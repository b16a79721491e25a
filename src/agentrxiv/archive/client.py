"""The typed HTTP client labs use to publish to and read from an AgentRxiv server.

Requests that fail transiently are retried with exponential backoff: connection failures,
429 and 503 always (the server did not act on them), read timeouts and 502/504 only for
reads (a timed-out upload may have been stored; retrying could publish it twice).
Refusals (4xx) become ``ArchiveError`` subclasses carrying the server's message."""

from __future__ import annotations

import builtins
import logging
import time
from datetime import date, datetime
from types import TracebackType
from typing import Any

import httpx

from agentrxiv.archive.schemas import (
    Leaderboard,
    Lineage,
    PaperCreate,
    PaperList,
    PaperPublic,
    ReviewCreate,
    ReviewPublic,
    SearchMode,
    SearchResponse,
)
from agentrxiv.errors import (
    ArchiveError,
    AuthError,
    ConfigError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
)

log = logging.getLogger(__name__)

API = "/api/v1"
ALWAYS_RETRY_STATUSES = frozenset({429, 503})
READ_RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_BACKOFF_S = 30.0
ERROR_CLASSES: dict[int, type[ArchiveError]] = {
    401: AuthError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
}


def error_from_response(response: httpx.Response) -> ArchiveError:
    """The ``ArchiveError`` for a refused request, with the server's own message."""
    status = response.status_code
    try:
        message = str(response.json().get("error") or response.text)
    except (ValueError, AttributeError):
        message = response.text.strip()[:500] or response.reason_phrase
    if status >= 500:
        message = f"server error {status}: {message}"
    cls = ERROR_CLASSES.get(status, ArchiveError)
    return cls(message, status=status)


def _query_params(params: dict[str, Any]) -> dict[str, Any]:
    """Drop unset parameters and write dates as ISO strings."""
    clean: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        clean[key] = value.isoformat() if isinstance(value, date | datetime) else value
    return clean


class ArchiveClient:
    """A client for one server; use as a context manager or call ``close()``."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        backoff: float = 0.5,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"server URL must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.retries = max(0, retries)
        self.backoff = backoff
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> ArchiveClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # ------------------------------------------------------------ transport

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        retry_after = response.headers.get("Retry-After") if response is not None else None
        if retry_after and retry_after.isdigit():
            return min(float(retry_after), MAX_BACKOFF_S)
        return min(self.backoff * (2**attempt), MAX_BACKOFF_S)

    def _retryable(self, method: str, response: httpx.Response) -> bool:
        statuses = READ_RETRY_STATUSES if method == "GET" else ALWAYS_RETRY_STATUSES
        return response.status_code in statuses

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send with retries; raise ``ArchiveError`` for refusals and unreachable servers."""
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._http.request(method, path, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                failure: Exception = exc
            except httpx.TransportError as exc:
                if method != "GET":
                    raise self._unreachable(exc) from exc
                failure = exc
            else:
                if not self._retryable(method, response) or last:
                    break
                log.info("%s %s answered %d; retrying", method, path, response.status_code)
                time.sleep(self._delay(attempt, response))
                continue
            if last:
                raise self._unreachable(failure) from failure
            log.info("%s %s failed (%s); retrying", method, path, failure)
            time.sleep(self._delay(attempt, None))
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def _unreachable(self, exc: Exception) -> ArchiveError:
        reason = str(exc) or type(exc).__name__
        return ArchiveError(
            f"cannot reach the archive at {self.base_url}: {reason}",
            hint="is 'agentrxiv serve' running? check --server / AGENTRXIV_SERVER",
            status=503,
        )

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._send(method, API + path, **kwargs).json()

    # ------------------------------------------------------------ papers

    def health(self) -> bool:
        """Whether the server answers its health check."""
        return bool(self._json("GET", "/health").get("ok"))

    def submit(self, paper: PaperCreate) -> PaperPublic:
        """Publish a new paper; returns it with its new id."""
        body = paper.model_dump(mode="json")
        return PaperPublic.model_validate(self._json("POST", "/papers", json=body))

    def new_version(self, paper_id: str, paper: PaperCreate) -> PaperPublic:
        """Publish a new version of one of the lab's papers."""
        body = paper.model_dump(mode="json")
        data = self._json("POST", f"/papers/{paper_id}/versions", json=body)
        return PaperPublic.model_validate(data)

    def get(self, paper_id: str, version: int | None = None) -> PaperPublic:
        """A paper (latest version unless ``version`` is given)."""
        params = _query_params({"version": version})
        return PaperPublic.model_validate(self._json("GET", f"/papers/{paper_id}", params=params))

    def list(
        self,
        offset: int = 0,
        limit: int = 20,
        category: str | None = None,
        lab: str | None = None,
    ) -> PaperList:
        """Latest papers, newest first."""
        params = _query_params({"offset": offset, "limit": limit, "category": category, "lab": lab})
        return PaperList.model_validate(self._json("GET", "/papers", params=params))

    def pdf(self, paper_id: str, version: int | None = None) -> bytes:
        """The PDF of a paper version."""
        params = _query_params({"version": version})
        return self._send("GET", f"{API}/papers/{paper_id}/pdf", params=params).content

    def lineage(self, paper_id: str) -> Lineage:
        """Ancestors and descendants of a paper."""
        return Lineage.model_validate(self._json("GET", f"/papers/{paper_id}/lineage"))

    def leaderboard(self, benchmark: str, metric: str | None = None) -> Leaderboard:
        """Best result per paper on a benchmark, highest first."""
        params = _query_params({"metric": metric})
        data = self._json("GET", f"/leaderboard/{benchmark}", params=params)
        return Leaderboard.model_validate(data)

    def review(self, paper_id: str, review: ReviewCreate) -> ReviewPublic:
        """Post a review of a paper."""
        body = review.model_dump(mode="json")
        data = self._json("POST", f"/papers/{paper_id}/reviews", json=body)
        return ReviewPublic.model_validate(data)

    def reviews(self, paper_id: str) -> builtins.list[ReviewPublic]:
        """Every review of a paper."""
        data = self._json("GET", f"/papers/{paper_id}/reviews")
        return [ReviewPublic.model_validate(item) for item in data]

    def withdraw(self, paper_id: str, reason: str) -> PaperPublic:
        """Withdraw a paper (needs an admin token)."""
        data = self._json("POST", f"/papers/{paper_id}/withdraw", json={"reason": reason})
        return PaperPublic.model_validate(data)

    # ------------------------------------------------------------ search

    def search(
        self,
        query: str,
        mode: SearchMode = "hybrid",
        k: int = 10,
        offset: int = 0,
        **filters: Any,
    ) -> SearchResponse:
        """Search papers; filters: category, lab, benchmark, date_from, date_to, min_value."""
        params = _query_params({"q": query, "mode": mode, "k": k, "offset": offset, **filters})
        return SearchResponse.model_validate(self._json("GET", "/search", params=params))

    def aggregate(self, kind: str, **params: Any) -> Any:
        """An aggregation (e.g. counts per category) as the server returns it."""
        return self._json("GET", f"/aggregate/{kind}", params=_query_params(params))
