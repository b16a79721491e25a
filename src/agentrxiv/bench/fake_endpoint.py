"""A fake OpenAI-compatible chat endpoint (FastAPI + uvicorn in a thread) for offline demos,
tests and the harness benchmark: it answers MATH problems from an answer key, with an
optional fixed latency, and counts the requests it served."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI, Request

from agentrxiv.bench.math500 import Problem

Responder = Callable[[dict[str, Any]], str]
#: How the built-in techniques introduce a problem (a fast path for the lookup).
PROBLEM_PREFIX = "Problem:\n"


def answer_key_responder(problems: list[Problem], wrong_every: int = 0) -> Responder:
    """Reply ``\\boxed{gold}`` for known problems; every ``wrong_every``-th problem (in the
    list's order) gets a wrong answer, unknown problems get no answer at all."""
    replies: dict[str, str] = {}
    for index, problem in enumerate(problems, start=1):
        wrong = wrong_every and index % wrong_every == 0
        answer = "\\text{wrong}" if wrong else problem.answer
        replies[problem.problem] = f"Working... so the answer is \\boxed{{{answer}}}."

    def respond(body: dict[str, Any]) -> str:
        text = str(body["messages"][-1]["content"])
        exact = replies.get(text.removeprefix(PROBLEM_PREFIX))
        if exact is not None:
            return exact
        for problem_text, reply in replies.items():
            if problem_text in text:
                return reply
        return "I do not know."

    return respond


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeOpenAIEndpoint:
    """``/v1/chat/completions`` served in a background thread; ``url`` is the base URL."""

    def __init__(
        self, responder: Responder, latency_s: float = 0.0, port: int | None = None
    ) -> None:
        self.responder = responder
        self.latency_s = latency_s
        self.calls = 0
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._lock = threading.Lock()
        config = uvicorn.Config(
            self._app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/v1/stats")
        async def stats() -> dict[str, int]:
            return {"calls": self.calls}

        @app.post("/v1/chat/completions")
        async def complete(request: Request) -> dict[str, Any]:
            body = await request.json()
            with self._lock:
                self.calls += 1
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            text = self.responder(body)
            return {
                "id": f"fake-{self.calls}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": len(str(body["messages"]).split()),
                    "completion_tokens": len(text.split()),
                    "total_tokens": len(str(body["messages"]).split()) + len(text.split()),
                },
            }

        return app

    def serve_forever(self) -> None:
        """Serve in the calling thread until stopped (for running in a child process)."""
        self._server.run()

    def start(self) -> FakeOpenAIEndpoint:
        """Start serving and wait until the port accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake OpenAI endpoint did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving (the port is free afterwards)."""
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> FakeOpenAIEndpoint:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
