"""Bench-domain fixtures: a deterministic in-process chat model, the bundled sample and a
fake OpenAI-compatible HTTP endpoint (FastAPI + uvicorn in a thread)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from agentrxiv.bench.fake_endpoint import FakeOpenAIEndpoint, answer_key_responder
from agentrxiv.bench.math500 import Problem, load_math500
from agentrxiv.llm.base import ChatModel, ChatRequest, ChatResult, Usage


class AnswerKeyModel(ChatModel):
    """Answers each problem from a key (``problem text -> reply``); thread-safe call counts."""

    spec = "test/answer-key"

    def __init__(self, replies: dict[str, str | Callable[[], str]], delay_s: float = 0.0) -> None:
        self.replies = replies
        self.delay_s = delay_s
        self.calls = 0
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def complete(self, request: ChatRequest) -> ChatResult:
        messages = list(request.messages)
        with self._lock:
            self.calls += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(self.delay_s)
            problem = re.sub(r"^Problem:\n", "", messages[-1]["content"])
            reply = self.replies[problem]
            text = reply() if callable(reply) else reply
            return ChatResult(text=text, model=self.spec, usage=Usage(10, 5), cost_usd=0.001)
        finally:
            with self._lock:
                self.active -= 1


@pytest.fixture
def answer_key_model() -> type[AnswerKeyModel]:
    """The ``AnswerKeyModel`` class."""
    return AnswerKeyModel


@pytest.fixture
def sample_problems() -> list[Problem]:
    """The bundled 20-problem sample."""
    return load_math500("sample")


@pytest.fixture
def fake_openai(sample_problems: list[Problem]) -> Iterator[FakeOpenAIEndpoint]:
    """A real HTTP fake OpenAI endpoint answering the sample; every 4th answer is wrong."""
    with FakeOpenAIEndpoint(answer_key_responder(sample_problems, wrong_every=4)) as server:
        yield server
