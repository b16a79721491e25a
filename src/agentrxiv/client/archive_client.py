"""The typed HTTP client labs use to publish to and read from an AgentRxiv server.

Requests that fail transiently are retried with exponential backoff: connection failures,
429 and 503 always (the server did not act on them), read timeouts and 502/504 only for
reads (a timed-out upload may have been stored; retrying could publish it twice).
Refusals (4xx) become ``ArchiveError`` subclasses carrying the server's message."""

from __future__ import annotations

import builtins
import hashlib
import json
import logging
import time
from datetime import date, datetime
from types import TracebackType
from typing import Any

import httpx

from agentrxiv.archive.schemas import (
    CampaignCreate,
    CampaignList,
    CampaignPublic,
    CampaignUpdate,
    InsightBatch,
    InsightList,
    InsightPublic,
    JobState,
    LabToken,
    Leaderboard,
    Lineage,
    NoveltyPublic,
    NoveltyStats,
    NoveltyVerdict,
    PaperCreate,
    PaperList,
    PaperPublic,
    ReviewCreate,
    ReviewPublic,
    SearchMode,
    SearchResponse,
    VerificationCreate,
    VerificationJobList,
    VerificationJobPublic,
    VerificationPublic,
    VerifierStatus,
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


def _not_agentrxiv(response: httpx.Response) -> str:
    """One line naming the URL and status of an answer that is not the API's JSON."""
    reason = f" {response.reason_phrase}" if response.reason_phrase else ""
    kind = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    return (
        f"{response.request.method} {response.request.url} answered {response.status_code}"
        f"{reason} with a non-JSON response ({kind}); is this an AgentRxiv server?"
    )


def error_from_response(response: httpx.Response) -> ArchiveError:
    """The ``ArchiveError`` for a refused request, with the server's own message.

    A response that is not the API's JSON error shape (another web server, a proxy's HTML
    error page) becomes one line naming the URL and the status, never the page itself."""
    status = response.status_code
    try:
        payload = response.json()
        message = str(payload["error"]) if isinstance(payload, dict) else ""
    except (ValueError, KeyError):
        message = ""
    if not message:
        message = _not_agentrxiv(response)
    elif status >= 500:
        message = f"server error {status}: {message}"
    cls = ERROR_CLASSES.get(status, ArchiveError)
    return cls(" ".join(message.split()), status=status)


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
        """Send with retries; raise ``ArchiveError`` for refusals and unreachable servers.

        ``_idempotent=True`` marks a write that is safe to repeat (an idempotency key), so
        timeouts and 502/504 are retried as for reads."""
        idempotent = method == "GET" or bool(kwargs.pop("_idempotent", False))
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._http.request(method, path, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                failure: Exception = exc
            except httpx.TransportError as exc:
                if not idempotent:
                    raise self._unreachable(exc) from exc
                failure = exc
            else:
                if not self._retryable("GET" if idempotent else method, response) or last:
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
        response = self._send(method, API + path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise ArchiveError(_not_agentrxiv(response), status=502) from exc

    # ------------------------------------------------------------ papers

    def health(self) -> bool:
        """Whether the server answers its health check."""
        return bool(self._json("GET", "/health").get("ok"))

    def submit(self, paper: PaperCreate) -> PaperPublic:
        """Publish a new paper; returns it with its new id. With an ``idempotency_key`` a
        retry (also after a lost response) returns the paper already created."""
        body = paper.model_dump(mode="json", exclude_none=True)
        keyed = bool(paper.idempotency_key)
        return PaperPublic.model_validate(
            self._json("POST", "/papers", json=body, _idempotent=keyed)
        )

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
        campaign: str | None = None,
    ) -> PaperList:
        """Latest papers, newest first."""
        params = _query_params(
            {"offset": offset, "limit": limit, "category": category, "lab": lab}
            | {"campaign": campaign}
        )
        return PaperList.model_validate(self._json("GET", "/papers", params=params))

    def pdf(self, paper_id: str, version: int | None = None) -> bytes:
        """The PDF of a paper version."""
        params = _query_params({"version": version})
        return self._send("GET", f"{API}/papers/{paper_id}/pdf", params=params).content

    def lineage(self, paper_id: str) -> Lineage:
        """Ancestors and descendants of a paper."""
        return Lineage.model_validate(self._json("GET", f"/papers/{paper_id}/lineage"))

    def leaderboard(
        self,
        benchmark: str,
        metric: str | None = None,
        model: str | None = None,
        min_n: int | None = None,
    ) -> Leaderboard:
        """Best result per paper on a benchmark (default: its primary metric), highest first;
        optionally only one model's results and those with at least ``min_n`` problems."""
        params = _query_params({"metric": metric, "model": model, "min_n": min_n})
        data = self._json("GET", f"/leaderboard/{benchmark}", params=params)
        return Leaderboard.model_validate(data)

    def _post_once(self, path: str, body: Any, key: str | None) -> Any:
        """POST under an ``Idempotency-Key`` (default: derived from the path and body), so a
        retry after a lost response returns the first result instead of writing twice."""
        if key is None:
            text = json.dumps([path, body], sort_keys=True, separators=(",", ":"))
            key = "auto-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]
        headers = {"Idempotency-Key": key}
        return self._json("POST", path, json=body, headers=headers, _idempotent=True)

    def review(
        self, paper_id: str, review: ReviewCreate, idempotency_key: str | None = None
    ) -> ReviewPublic:
        """Post a review of a paper (once per key; see ``_post_once``)."""
        body = review.model_dump(mode="json")
        data = self._post_once(f"/papers/{paper_id}/reviews", body, idempotency_key)
        return ReviewPublic.model_validate(data)

    def reviews(self, paper_id: str) -> builtins.list[ReviewPublic]:
        """Every review of a paper."""
        data = self._json("GET", f"/papers/{paper_id}/reviews")
        return [ReviewPublic.model_validate(item) for item in data]

    def withdraw(self, paper_id: str, reason: str) -> PaperPublic:
        """Withdraw a paper (needs an admin token)."""
        data = self._json("POST", f"/papers/{paper_id}/withdraw", json={"reason": reason})
        return PaperPublic.model_validate(data)

    def post_verification(
        self, paper_id: str, record: VerificationCreate, idempotency_key: str | None = None
    ) -> VerificationPublic:
        """Post a verification record of a paper (the verifier is the token's lab; once per
        key, see ``_post_once``)."""
        body = record.model_dump(mode="json")
        data = self._post_once(f"/papers/{paper_id}/verifications", body, idempotency_key)
        return VerificationPublic.model_validate(data)

    def list_verifications(self, paper_id: str) -> builtins.list[VerificationPublic]:
        """Every verification of a paper, oldest first."""
        data = self._json("GET", f"/papers/{paper_id}/verifications")
        return [VerificationPublic.model_validate(item) for item in data]

    # ------------------------------------------------------------ the verifier's queue

    def request_verification(
        self, paper_id: str, version: int | None = None
    ) -> VerificationJobPublic:
        """Ask the archive's verifier to verify a version of a paper (default: the latest);
        asking again for a version already queued answers its job."""
        params = _query_params({"version": version})
        data = self._json(
            "POST", f"/papers/{paper_id}/verification-requests", params=params, _idempotent=True
        )
        return VerificationJobPublic.model_validate(data)

    def verification_jobs(
        self,
        state: JobState | None = None,
        paper: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> VerificationJobList:
        """The verifier's queue, oldest first (of one state or paper)."""
        params = _query_params({"state": state, "paper": paper, "offset": offset, "limit": limit})
        return VerificationJobList.model_validate(
            self._json("GET", "/verification-jobs", params=params)
        )

    def verifier_status(self, window_s: int | None = None) -> VerifierStatus:
        """Whether an archive verifier was at work lately, and jobs per state."""
        params = _query_params({"window_s": window_s})
        data = self._json("GET", "/verification-jobs/status", params=params)
        return VerifierStatus.model_validate(data)

    def lease_job(self, lease_s: int) -> VerificationJobPublic | None:
        """Lease the oldest queued job for ``lease_s`` seconds (a verifier token); None when
        the queue is empty. Not retried after a lost answer (the lease then just expires)."""
        response = self._send("POST", f"{API}/verification-jobs/lease", json={"lease_s": lease_s})
        if response.status_code == 204:
            return None
        try:
            return VerificationJobPublic.model_validate(response.json())
        except ValueError as exc:
            raise ArchiveError(_not_agentrxiv(response), status=502) from exc

    def heartbeat_job(self, job_id: int, lease_id: str, lease_s: int) -> VerificationJobPublic:
        """Extend a lease this verifier holds (``ConflictError`` when it lost it)."""
        body = {"lease_id": lease_id, "lease_s": lease_s}
        data = self._json(
            "POST", f"/verification-jobs/{job_id}/heartbeat", json=body, _idempotent=True
        )
        return VerificationJobPublic.model_validate(data)

    def complete_job(
        self, job_id: int, lease_id: str, verification_id: int
    ) -> VerificationJobPublic:
        """Mark a leased job done with the verification posted for it (safe to repeat)."""
        body = {"lease_id": lease_id, "verification_id": verification_id}
        data = self._json(
            "POST", f"/verification-jobs/{job_id}/complete", json=body, _idempotent=True
        )
        return VerificationJobPublic.model_validate(data)

    def fail_job(
        self, job_id: int, lease_id: str, error: str, released: bool = False
    ) -> VerificationJobPublic:
        """Report that a leased job could not be verified (queued again up to a maximum;
        ``released``: interrupted, the attempt does not count)."""
        body = {"lease_id": lease_id, "error": error[:5000] or "?", "released": released}
        data = self._json("POST", f"/verification-jobs/{job_id}/fail", json=body)
        return VerificationJobPublic.model_validate(data)

    # ------------------------------------------------------------ search

    def search(
        self,
        query: str,
        mode: SearchMode = "hybrid",
        k: int = 10,
        offset: int = 0,
        **filters: Any,
    ) -> SearchResponse:
        """Search papers; filters: category, lab, benchmark, date_from, date_to, min_value;
        ``min_score=`` sets the relevance floor (the server's default otherwise, -1: none)."""
        params = _query_params({"q": query, "mode": mode, "k": k, "offset": offset, **filters})
        return SearchResponse.model_validate(self._json("GET", "/search", params=params))

    def aggregate(self, kind: str, **params: Any) -> Any:
        """An aggregation (e.g. counts per category) as the server returns it."""
        return self._json("GET", f"/aggregate/{kind}", params=_query_params(params))

    # ------------------------------------------------------------ campaigns

    def create_campaign(self, data: CampaignCreate) -> CampaignPublic:
        """Create a campaign owned by this token's lab."""
        body = data.model_dump(mode="json", exclude_none=True)
        return CampaignPublic.model_validate(self._json("POST", "/campaigns", json=body))

    def campaign(self, campaign_id: str) -> CampaignPublic:
        """One campaign with its records."""
        return CampaignPublic.model_validate(self._json("GET", f"/campaigns/{campaign_id}"))

    def campaigns(self, offset: int = 0, limit: int = 50) -> CampaignList:
        """Campaigns, newest first."""
        params = {"offset": offset, "limit": limit}
        return CampaignList.model_validate(self._json("GET", "/campaigns", params=params))

    def update_campaign(self, campaign_id: str, data: CampaignUpdate) -> CampaignPublic:
        """Change a campaign's status and/or records (safe to repeat)."""
        body = data.model_dump(mode="json", exclude_none=True)
        data_out = self._json("PATCH", f"/campaigns/{campaign_id}", json=body, _idempotent=True)
        return CampaignPublic.model_validate(data_out)

    def mint_lab_token(self, campaign_id: str, lab: str) -> LabToken:
        """A write token for the campaign's new lab ``lab`` (owner or admin token)."""
        data = self._json("POST", f"/campaigns/{campaign_id}/labs/{lab}/token")
        return LabToken.model_validate(data)

    def mint_token(self, lab: str) -> LabToken:
        """A new token for one of this token's owner's labs (or a new lab of that owner)."""
        return LabToken.model_validate(self._json("POST", f"/labs/{lab}/tokens"))

    # ------------------------------------------------------------ insights and novelty

    def post_insights(
        self, batch: InsightBatch, idempotency_key: str | None = None
    ) -> builtins.list[InsightPublic]:
        """Store the insights of one of the lab's papers (an ``InsightBatch``; once per key,
        see ``_post_once``)."""
        data = self._post_once("/insights", batch.model_dump(mode="json"), idempotency_key)
        return [InsightPublic.model_validate(item) for item in data]

    def insights(
        self,
        query: str | None = None,
        mode: SearchMode = "hybrid",
        k: int = 10,
        offset: int = 0,
        **filters: Any,
    ) -> InsightList:
        """Search insights (``InsightList``); filters: benchmark, campaign, lab, paper, kind."""
        params = _query_params({"q": query, "mode": mode, "k": k, "offset": offset, **filters})
        return InsightList.model_validate(self._json("GET", "/insights", params=params))

    def novelty_check(
        self, text: str, code: str | None = None, k: int = 3, **extra: Any
    ) -> NoveltyVerdict:
        """The nearest papers to a method text and the server's verdict (``NoveltyVerdict``)."""
        body = {"text": text, "code": code, "k": k, **extra}
        return NoveltyVerdict.model_validate(self._json("POST", "/novelty/check", json=body))

    def novelty_stats(self, campaign: str | None = None) -> NoveltyStats:
        """Papers and near-duplicates recorded, of a campaign or all (``NoveltyStats``)."""
        params = _query_params({"campaign": campaign})
        return NoveltyStats.model_validate(self._json("GET", "/novelty/stats", params=params))

    def paper_novelty(self, paper_id: str) -> NoveltyPublic:
        """A paper's novelty record (``NoveltyPublic``)."""
        return NoveltyPublic.model_validate(self._json("GET", f"/papers/{paper_id}/novelty"))
