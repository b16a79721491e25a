"""The one chat interface every caller uses: messages in; text, usage, cost and latency out.

Backends subclass ``ChatModel`` and implement ``_complete``; retries, caching, the ledger
and structured output are layered on top (see ``agentrxiv.llm.registry.get_model``), so
adding a provider never touches callers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, TypeVar, Unpack

from pydantic import BaseModel

from agentrxiv.llm.errors import BadResponseError
from agentrxiv.llm.structured import complete_structured
from agentrxiv.llm.types import ChatOptions, Message, Role

__all__ = [
    "BackendModel",
    "ChatModel",
    "ChatOptions",
    "ChatRequest",
    "ChatResult",
    "Message",
    "Role",
    "SamplingParams",
    "Usage",
    "make_request",
]

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class Usage:
    """Token counts of one call (or a sum of calls)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )


@dataclass(frozen=True)
class SamplingParams:
    """Sampling parameters; part of the cache key."""

    temperature: float = 0.0
    max_tokens: int | None = None
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()

    @property
    def deterministic(self) -> bool:
        """Whether the same request must give the same answer (so it may be cached)."""
        return self.temperature == 0.0 or self.seed is not None


@dataclass
class ChatResult:
    """What a call returned. ``cost_usd`` is ``None`` when the model's price is unknown."""

    text: str
    model: str
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    latency_s: float = 0.0
    cached: bool = False
    finish_reason: str | None = None
    raw: dict[str, Any] | None = None


class ChatModel(ABC):
    """A chat model addressed by a ``provider/model`` spec."""

    spec: str

    def chat(self, messages: list[Message], **options: Unpack[ChatOptions]) -> ChatResult:
        """One chat completion. ``tag`` names the caller (``lab/phase/agent``) in the ledger;
        ``json_schema`` asks for constrained decoding where the backend offers it; the other
        options are the sampling parameters (``ChatOptions``)."""
        return self.complete(make_request(messages, **options))

    @abstractmethod
    def complete(self, request: ChatRequest) -> ChatResult:
        """Run one prepared request (what ``chat`` does after validating its arguments)."""

    def structured(
        self,
        messages: list[Message],
        schema: type[T],
        *,
        retries: int = 2,
        tag: str | None = None,
        **sampling: Any,
    ) -> T:
        """A validated instance of ``schema``: constrained decoding where the backend offers
        it, otherwise parse, then retry with the validation error fed back."""
        return complete_structured(self, messages, schema, retries=retries, tag=tag, **sampling)


@dataclass(frozen=True)
class ChatRequest:
    """Everything that determines one completion (the cache key is built from it)."""

    messages: tuple[Message, ...]
    params: SamplingParams = field(default_factory=SamplingParams)
    json_schema: dict[str, Any] | None = None
    tag: str | None = None


def make_request(messages: list[Message], **options: Unpack[ChatOptions]) -> ChatRequest:
    """Validate ``chat()`` arguments into a ``ChatRequest`` (the defaults live here)."""
    if not messages:
        raise BadResponseError("a chat request needs at least one message")
    for message in messages:
        if message.get("role") not in ("system", "user", "assistant"):
            raise BadResponseError(f"bad message role {message.get('role')!r}")
        if not isinstance(message.get("content"), str):
            raise BadResponseError("message content must be a string")
    params = SamplingParams(
        temperature=float(options.get("temperature", 0.0)),
        max_tokens=options.get("max_tokens"),
        top_p=options.get("top_p"),
        seed=options.get("seed"),
        stop=tuple(options.get("stop") or ()),
    )
    frozen = tuple(Message(role=m["role"], content=m["content"]) for m in messages)
    return ChatRequest(
        messages=frozen,
        params=params,
        json_schema=options.get("json_schema"),
        tag=options.get("tag"),
    )


class BackendModel(ChatModel):
    """A raw backend: one request, one answer, no retries, cache or ledger.

    ``get_model`` wraps backends in ``ManagedChatModel``; ``endpoint`` keys the per-endpoint
    concurrency limit and the cache, ``price_model`` the price table (``None``: unknown).
    """

    spec: str = "backend/unknown"
    endpoint: str = ""
    default_concurrency: int = 8
    cache_by_default: bool = True
    #: USD cost when the price is known without the table (0.0 for local models).
    fixed_cost_usd: float | None = None

    @property
    def price_model(self) -> str:
        """The model name looked up in the price table."""
        return self.spec.split("/", 1)[-1]

    @abstractmethod
    def _complete(self, request: ChatRequest, *, timeout: float | None) -> ChatResult:
        """Run one request against the backend; raise ``LLMError`` subclasses on failure."""

    def complete(self, request: ChatRequest) -> ChatResult:
        """One unmanaged call (no retries, cache or ledger)."""
        return self._complete(request, timeout=None)
