"""``ScriptedChatModel``: a deterministic stand-in model for tests of orchestration logic.

It answers from a queue (strings, ``ChatResult``s, or exceptions to raise) or from a function
of the messages, and records every request. Wrapped by ``get_model("scripted/<name>")`` it
goes through the same budget, retry and ledger accounting as a real model (cost 0.0; tokens
are whitespace-separated words). Register a script under a name with ``register_script`` so
code that only takes a spec string (the lab) can use it; ``scripted/echo`` is built in.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace

from agentrxiv.llm.base import BackendModel, ChatRequest, ChatResult, Message, Usage
from agentrxiv.llm.errors import LLMError, ProviderError

Reply = str | ChatResult | BaseException
Responder = Callable[[list[Message]], str | ChatResult]


def _words(text: str) -> int:
    return len(text.split())


class ScriptedChatModel(BackendModel):
    """Replies from a queue or a function of the messages; records ``calls``."""

    default_concurrency = 64
    cache_by_default = False
    fixed_cost_usd = 0.0

    def __init__(
        self,
        replies: Iterable[Reply] | Responder = (),
        *,
        name: str = "scripted",
    ) -> None:
        self.spec = f"scripted/{name}"
        self.endpoint = f"scripted://{name}/{id(self)}"
        self._responder: Responder | None = replies if callable(replies) else None
        self._queue: deque[Reply] = deque() if callable(replies) else deque(replies)
        self._lock = threading.Lock()
        self.calls: list[ChatRequest] = []

    def push(self, *replies: Reply) -> None:
        """Append replies to the queue."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def remaining(self) -> int:
        """Queued replies not yet used."""
        with self._lock:
            return len(self._queue)

    def _next_reply(self, request: ChatRequest) -> str | ChatResult:
        with self._lock:
            self.calls.append(request)
            if self._queue:
                reply = self._queue.popleft()
            elif self._responder is not None:
                reply = None
            else:
                raise LLMError(
                    f"{self.spec} has no scripted reply left (call {len(self.calls)})",
                    hint="push more replies or pass a function",
                )
        if reply is None:
            return self._responder([dict(m) for m in request.messages])  # type: ignore[misc]
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def _complete(self, request: ChatRequest, *, timeout: float | None) -> ChatResult:
        reply = self._next_reply(request)
        prompt_tokens = sum(_words(m["content"]) for m in request.messages)
        if isinstance(reply, ChatResult):
            return replace(reply, model=reply.model or self.spec)
        return ChatResult(
            text=reply,
            model=self.spec,
            usage=Usage(prompt_tokens, _words(reply)),
            finish_reason="stop",
        )


def _echo(messages: list[Message]) -> str:
    users = [m["content"] for m in messages if m["role"] == "user"]
    return users[-1] if users else ""


_scripts: dict[str, ScriptedChatModel] = {}
_scripts_lock = threading.Lock()


def register_script(name: str, replies: Iterable[Reply] | Responder) -> ScriptedChatModel:
    """Make ``scripted/<name>`` answer with ``replies``; returns the model to inspect calls."""
    model = ScriptedChatModel(replies, name=name)
    with _scripts_lock:
        _scripts[name] = model
    return model


def unregister_script(name: str) -> None:
    """Forget a registered script."""
    with _scripts_lock:
        _scripts.pop(name, None)


def scripted_model(name: str) -> ScriptedChatModel:
    """The registered script ``name`` (``echo`` is built in)."""
    with _scripts_lock:
        if name in _scripts:
            return _scripts[name]
    if name == "echo":
        return ScriptedChatModel(_echo, name="echo")
    raise ProviderError(
        f"no scripted model named {name!r}",
        hint="call agentrxiv.llm.scripted.register_script(name, replies) first, or use echo",
    )
