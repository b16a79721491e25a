"""``OpenAIChatModel``: OpenAI and any OpenAI-compatible server (vLLM, llama.cpp server,
Ollama, DeepSeek, ...) through the ``openai`` SDK.

The SDK's own retries are off (``max_retries=0``) so ``agentrxiv.llm.retry`` is the only
retry layer; SDK exceptions are mapped onto ``agentrxiv.llm.errors``. JSON-schema output is
requested with ``response_format`` and dropped for endpoints that reject it.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from typing import Any

import openai

from agentrxiv.llm.base import BackendModel, ChatRequest, ChatResult, Usage
from agentrxiv.llm.errors import (
    BadResponseError,
    LLMError,
    MissingKeyError,
    ProviderError,
    RateLimitError,
    TimeoutError,
    UnreachableError,
)

logger = logging.getLogger(__name__)

DEFAULT_KEY_ENV = "OPENAI_API_KEY"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
#: Sent when a custom base URL needs no key (the SDK insists on a non-empty one).
PLACEHOLDER_KEY = "agentrxiv-no-key"
#: OpenAI reasoning models take max_completion_tokens and reject sampling parameters.
REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


def _retry_after(response: Any) -> float | None:
    raw = response.headers.get("retry-after") if response is not None else None
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None  # an HTTP date; fall back to our own backoff


def _first_line(text: object, limit: int = 200) -> str:
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return line[:limit]


def map_openai_error(exc: openai.OpenAIError, where: str) -> LLMError:
    """Translate an SDK exception into our error family."""
    if isinstance(exc, openai.APITimeoutError):
        return TimeoutError(f"{where} did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        return UnreachableError(f"cannot connect to {where}", hint="is the server running?")
    if isinstance(exc, openai.RateLimitError):
        return RateLimitError(
            f"{where} is rate limiting requests (429)", retry_after=_retry_after(exc.response)
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status >= 500:
            return UnreachableError(f"{where} answered {status}: {_first_line(exc.message)}")
        if status in (401, 403):
            return ProviderError(
                f"{where} refused the API key ({status})", hint="check the key's env variable"
            )
        return BadResponseError(f"{where} refused the request ({status}): {exc.message}")
    return BadResponseError(f"{where}: {_first_line(exc)}")


def shared_client(endpoint: str, api_key: str, timeout: float) -> openai.OpenAI:
    """One SDK client, so one keep-alive connection pool, per endpoint, key and timeout:
    models made by repeated ``get_model`` calls reuse connections (and TLS sessions)."""
    # Keyed by pid too: a forked child must not share its parent's sockets.
    return _client_for(endpoint, api_key, timeout, os.getpid())


@lru_cache(maxsize=32)
def _client_for(endpoint: str, api_key: str, timeout: float, pid: int) -> openai.OpenAI:
    return openai.OpenAI(base_url=endpoint, api_key=api_key, max_retries=0, timeout=timeout)


class OpenAIChatModel(BackendModel):
    """Chat completions from an OpenAI-compatible ``/v1/chat/completions`` endpoint."""

    default_concurrency = 8

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.model = model
        self.spec = f"openai/{model}"
        explicit_url = base_url or os.environ.get("OPENAI_BASE_URL") or ""
        self.endpoint = (explicit_url or DEFAULT_BASE_URL).rstrip("/")
        key_env = api_key_env or DEFAULT_KEY_ENV
        api_key = os.environ.get(key_env, "")
        if not api_key:
            if not explicit_url or api_key_env:
                raise MissingKeyError(key_env, self.spec)
            api_key = PLACEHOLDER_KEY  # a local server without auth
        self.supports_json_schema = True
        self._client = shared_client(self.endpoint, api_key, timeout)

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        params = request.params
        reasoning = self.model.startswith(REASONING_PREFIXES)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in request.messages],
        }
        optional = {
            "temperature": None if reasoning else params.temperature,
            "max_completion_tokens" if reasoning else "max_tokens": params.max_tokens,
            "top_p": None if reasoning else params.top_p,
            "seed": params.seed,
            "stop": list(params.stop) or None,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if request.json_schema is not None and self.supports_json_schema:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": str(request.json_schema.get("title") or "response")[:64],
                    "schema": request.json_schema,
                    "strict": False,
                },
            }
        return body

    def _post(self, body: dict[str, Any], timeout: float | None) -> object:
        """POST ``body`` to ``/chat/completions`` through the SDK client (auth, timeouts,
        status-code exceptions) and return the decoded JSON. ``chat.completions.create``
        would re-walk our plain-JSON body against the SDK's TypedDicts and build pydantic
        models of the reply: no-ops for us that were half the client's CPU per call."""
        # None would mean "no timeout" to the SDK; fall back to the client's timeout instead.
        options: dict[str, Any] = {"security": {"bearer_auth": True}}
        if timeout is not None:
            options["timeout"] = timeout
        return self._client.post(
            "/chat/completions",
            body=body,
            options=options,  # type: ignore[arg-type]
            cast_to=object,
        )

    def _complete(self, request: ChatRequest, *, timeout: float | None) -> ChatResult:
        body = self._body(request)
        try:
            response = self._post(body, timeout)
        except openai.BadRequestError as exc:
            if "response_format" not in body:
                raise map_openai_error(exc, self.endpoint) from exc
            # Many compatible servers reject json_schema; structured.py validates anyway.
            logger.info("%s rejected response_format; retrying without it", self.endpoint)
            self.supports_json_schema = False
            body.pop("response_format")
            try:
                response = self._post(body, timeout)
            except openai.OpenAIError as inner:
                raise map_openai_error(inner, self.endpoint) from inner
        except openai.OpenAIError as exc:
            raise map_openai_error(exc, self.endpoint) from exc
        return self._result(response)

    def _result(self, response: object) -> ChatResult:
        """A ``ChatResult`` from a decoded chat.completion object; ``raw`` is that object."""
        if not isinstance(response, dict):
            raise BadResponseError(f"{self.endpoint} answered without a JSON object")
        choices = response.get("choices")
        if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
            raise BadResponseError(f"{self.endpoint} answered without choices")
        choice = choices[0]
        message = choice.get("message") or {}
        content = message.get("content") if isinstance(message, dict) else None
        usage = response.get("usage") or {}
        try:
            tokens = Usage(
                int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
            )
        except (AttributeError, TypeError, ValueError) as exc:
            raise BadResponseError(f"{self.endpoint} answered with malformed usage") from exc
        return ChatResult(
            text=content if isinstance(content, str) else "",
            model=response.get("model") or self.model,
            usage=tokens,
            finish_reason=choice.get("finish_reason"),
            raw=response,
        )
