"""Fixtures for model-access tests: a real OpenAI-compatible HTTP server (FastAPI under
uvicorn in a thread) whose replies each test scripts, and which counts what it received."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


@dataclass
class Action:
    """How the fake server answers one request."""

    status: int = 200
    content: str = "ok"
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    prompt_tokens: int = 11
    completion_tokens: int = 7
    reject_response_format: bool = False
    raw: Any = None  # answer exactly this JSON instead of a chat completion


class FakeOpenAI:
    """State of the fake endpoint: scripted actions and what it saw."""

    def __init__(self) -> None:
        self.url = ""
        self.lock = threading.Lock()
        self.generation = 0
        self.reset()

    def reset(self) -> None:
        """Forget requests and scripted actions."""
        with self.lock:
            self.actions: list[Action] = []
            self.default = Action()
            self.requests: list[dict[str, Any]] = []
            self.in_flight = 0
            self.max_in_flight = 0
            # Requests still sleeping from an earlier test must not touch this test's counts.
            self.generation += 1

    def then(self, **action: Any) -> FakeOpenAI:
        """Answer the next unscripted request with ``Action(**action)``; chainable."""
        with self.lock:
            self.actions.append(Action(**action))
        return self

    @property
    def count(self) -> int:
        """Requests received so far."""
        with self.lock:
            return len(self.requests)

    def _next(self, body: dict[str, Any]) -> tuple[Action, int]:
        with self.lock:
            self.requests.append(body)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            action = self.actions.pop(0) if self.actions else self.default
            return action, self.generation

    def _done(self, generation: int) -> None:
        with self.lock:
            if generation == self.generation:
                self.in_flight -= 1

    def app(self) -> FastAPI:
        """The ASGI app speaking ``POST /v1/chat/completions``."""
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request) -> JSONResponse:
            body = await request.json()
            action, generation = self._next(body)
            try:
                if action.delay:
                    await asyncio.sleep(action.delay)
                if action.reject_response_format and "response_format" in body:
                    return JSONResponse(
                        {"error": {"message": "response_format not supported"}}, status_code=400
                    )
                if action.status != 200:
                    return JSONResponse(
                        {"error": {"message": f"scripted {action.status}"}},
                        status_code=action.status,
                        headers=action.headers,
                    )
                if action.raw is not None:
                    return JSONResponse(action.raw)
                return JSONResponse(_completion(body, action))
            finally:
                self._done(generation)

        return app


def _completion(body: dict[str, Any], action: Action) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "unknown"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": action.content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": action.prompt_tokens,
            "completion_tokens": action.completion_tokens,
            "total_tokens": action.prompt_tokens + action.completion_tokens,
        },
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def _fake_openai_server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    port = _free_port()
    config = uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("fake OpenAI server did not start")
        time.sleep(0.02)
    fake.url = f"http://127.0.0.1:{port}/v1"
    yield fake
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def fake_openai(
    _fake_openai_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeOpenAI]:
    """The running fake endpoint, reset, with no real OpenAI settings in the environment."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("AGENTRXIV_PRICES", raising=False)
    _fake_openai_server.reset()
    yield _fake_openai_server
    _fake_openai_server.reset()
