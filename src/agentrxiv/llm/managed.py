"""``ManagedChatModel``: the wrapper ``get_model`` returns around a raw backend.

Each call goes budget check -> cache -> per-endpoint concurrency limit -> retries -> backend,
then is recorded in the ledger with tokens, cost and latency.
"""

from __future__ import annotations

import logging
import time

from agentrxiv.llm.base import BackendModel, ChatModel, ChatRequest, ChatResult
from agentrxiv.llm.cache import ResponseCache, cache_key
from agentrxiv.llm.ledger import CallRecord, Ledger
from agentrxiv.llm.prices import cost_usd
from agentrxiv.llm.retry import RetryPolicy, call_with_retries, endpoint_limiter

logger = logging.getLogger(__name__)

UNTAGGED = "untagged"


class ManagedChatModel(ChatModel):
    """A backend with budget, cache, concurrency limit, retries and ledger applied."""

    def __init__(
        self,
        backend: BackendModel,
        *,
        ledger: Ledger,
        cache: ResponseCache | None = None,
        timeout: float | None = 60.0,
        max_concurrency: int | None = None,
        retry: RetryPolicy | None = None,
        spec: str | None = None,
    ) -> None:
        self.backend = backend
        self.spec = spec or backend.spec
        self.ledger = ledger
        self.cache = cache
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.limiter = endpoint_limiter(
            backend.endpoint or self.spec, max_concurrency, backend.default_concurrency
        )

    def __repr__(self) -> str:
        return f"ManagedChatModel({self.spec!r}, cache={'on' if self.cache else 'off'})"

    def complete(self, request: ChatRequest) -> ChatResult:
        """Run a prepared request through budget, cache, limit, retries and the ledger."""
        self.ledger.check_budget()
        started = time.monotonic()
        key = None
        if self.cache is not None and request.params.deterministic:
            key = cache_key(self.spec, self.backend.endpoint, request)
            hit = self.cache.get(key)
            if hit is not None:
                hit.latency_s = time.monotonic() - started
                self._record(request, hit)
                return hit
        with self.limiter.slot():
            result = call_with_retries(
                lambda: self.backend._complete(request, timeout=self.timeout),
                self.retry,
                what=self.spec,
            )
        result.latency_s = time.monotonic() - started
        result.cost_usd = self._cost(result)
        if key is not None:
            self.cache.put(key, self.spec, result)  # type: ignore[union-attr]
        self._record(request, result)
        return result

    def _cost(self, result: ChatResult) -> float | None:
        if self.backend.fixed_cost_usd is not None:
            return self.backend.fixed_cost_usd
        usage = result.usage
        return cost_usd(self.backend.price_model, usage.prompt_tokens, usage.completion_tokens)

    def _record(self, request: ChatRequest, result: ChatResult) -> None:
        self.ledger.record(
            CallRecord(
                tag=request.tag or UNTAGGED,
                model=self.spec,
                prompt_tokens=result.usage.prompt_tokens,
                completion_tokens=result.usage.completion_tokens,
                cost_usd=result.cost_usd,
                latency_s=result.latency_s,
                cached=result.cached,
            )
        )
