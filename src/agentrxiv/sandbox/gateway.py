"""The model gateway: an OpenAI-compatible ``POST /v1/chat/completions`` served over a Unix
socket, so a sandboxed experiment (which has no network) can reach the target model while
every call goes through the lab's ``ChatModel`` (its ledger, budget, cache and tag).

``ModelGateway`` is a context manager that runs uvicorn in a background thread. Errors
reach the child as OpenAI-style error bodies: a budget error is 429 ``budget_exceeded``,
other model errors 502, a malformed request 400.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from agentrxiv.errors import AgentrxivError, BudgetExceededError, ConfigError, LLMError
from agentrxiv.llm.base import ChatModel, ChatResult, Usage

logger = logging.getLogger(__name__)

MAX_UNIX_PATH = 107  # sockaddr_un.sun_path is 108 bytes including the terminating NUL
START_TIMEOUT_S = 15.0


class GatewayMessage(BaseModel):
    """One chat message of a request."""

    role: Literal["system", "user", "assistant"]
    content: str


class CompletionRequest(BaseModel):
    """The subset of the OpenAI chat-completions request the gateway honours."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    messages: list[GatewayMessage] = Field(min_length=1)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    seed: int | None = None
    stop: str | list[str] | None = None
    response_format: dict[str, Any] | None = None

    def json_schema(self) -> dict[str, Any] | None:
        """The schema of ``response_format={"type": "json_schema", ...}``, if given."""
        fmt = self.response_format or {}
        if fmt.get("type") != "json_schema":
            return None
        spec = fmt.get("json_schema") or {}
        return spec.get("schema", spec) or None


def error_body(status: int, message: str, kind: str) -> JSONResponse:
    """An OpenAI-style error response."""
    return JSONResponse(
        status_code=status, content={"error": {"message": message, "type": kind, "code": kind}}
    )


def completion_body(result: ChatResult, call_id: int) -> dict[str, Any]:
    """An OpenAI-style chat.completion body, plus cost and cache facts under ``agentrxiv``."""
    return {
        "id": f"chatcmpl-gateway-{call_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": result.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": result.text},
                "finish_reason": result.finish_reason or "stop",
            }
        ],
        "usage": {
            "prompt_tokens": result.usage.prompt_tokens,
            "completion_tokens": result.usage.completion_tokens,
            "total_tokens": result.usage.total_tokens,
        },
        "agentrxiv": {
            "cost_usd": result.cost_usd,
            "cached": result.cached,
            "latency_s": result.latency_s,
        },
    }


class ModelGateway:
    """Serves ``model`` on ``socket_path``; every call is tagged ``tag`` and counted."""

    def __init__(
        self, model: ChatModel, socket_path: str | Path, tag: str, *, concurrency: int = 4
    ) -> None:
        self.model = model
        self.socket_path = Path(socket_path).resolve()
        self.tag = tag
        if len(str(self.socket_path).encode()) > MAX_UNIX_PATH:
            raise ConfigError(
                f"model socket path is too long for a Unix socket: {self.socket_path}",
                hint="use a shorter working directory",
            )
        self.calls = 0
        self.errors = 0
        # An error that must stop the lab (a crashed local model, the spent budget): the
        # program only sees a 502 or 429, so the runner re-raises this after the run, and the
        # lab stops resumably instead of recording a failed program.
        self.fatal_error: LLMError | BudgetExceededError | None = None
        self.usage = Usage()
        self.cost_usd = 0.0
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(concurrency)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = self._build_app()

    def child_env(self) -> dict[str, str]:
        """Environment variables that point ``experiment_api.target_model()`` here."""
        return {
            "AGENTRXIV_MODEL_SOCKET": str(self.socket_path),
            "AGENTRXIV_TARGET_MODEL": getattr(self.model, "spec", "gateway"),
        }

    def __enter__(self) -> ModelGateway:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Bind the socket and serve in a background thread; returns once it accepts."""
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        if self.socket_path.exists() or self.socket_path.is_symlink():
            self.socket_path.unlink()
        config = uvicorn.Config(
            self.app,
            uds=str(self.socket_path),
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="model-gateway", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"model gateway could not listen on {self.socket_path}")
            time.sleep(0.01)
        logger.info("model gateway for %s on %s", self.tag, self.socket_path)

    def stop(self) -> None:
        """Stop serving and remove the socket file."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._server, self._thread = None, None
        # The program may have replaced the socket (by a directory, a link): never raise here.
        with contextlib.suppress(OSError):
            if self.socket_path.is_socket():
                self.socket_path.unlink()

    def complete(self, request: CompletionRequest) -> ChatResult:
        """Forward one request to the model under the gateway's tag and count it."""
        stop = [request.stop] if isinstance(request.stop, str) else request.stop
        messages = [message.model_dump() for message in request.messages]
        with self._slots:
            result = self.model.chat(
                messages,  # type: ignore[arg-type]
                temperature=request.temperature,
                max_tokens=request.max_tokens,
                top_p=request.top_p,
                seed=request.seed,
                stop=stop,
                tag=self.tag,
                json_schema=request.json_schema(),
            )
        with self._lock:
            self.calls += 1
            self.usage = self.usage + result.usage
            self.cost_usd += result.cost_usd or 0.0
        return result

    def _count_error(self) -> None:
        with self._lock:
            self.errors += 1

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="agentrxiv model gateway", docs_url=None, redoc_url=None)

        @app.exception_handler(RequestValidationError)
        async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
            first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
            where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
            return error_body(400, f"{where or 'body'}: {first.get('msg')}", "invalid_request")

        @app.get("/v1/models")
        def models() -> dict[str, Any]:
            spec = getattr(self.model, "spec", "gateway")
            return {"object": "list", "data": [{"id": spec, "object": "model"}]}

        @app.post("/v1/chat/completions", response_model=None)
        def chat_completions(body: CompletionRequest) -> dict[str, Any] | JSONResponse:
            try:
                result = self.complete(body)
            except BudgetExceededError as exc:
                self._count_error()
                self.fatal_error = exc
                return error_body(429, str(exc), "budget_exceeded")
            except LLMError as exc:
                self._count_error()
                if getattr(exc, "fatal", False):
                    self.fatal_error = exc
                return error_body(502, str(exc), "model_error")
            except AgentrxivError as exc:
                self._count_error()
                return error_body(400, str(exc), "invalid_request")
            except Exception as exc:  # noqa: BLE001 - the child must get an answer, not a hang
                self._count_error()
                logger.exception("model gateway: unexpected error")
                return error_body(500, f"{type(exc).__name__}: {exc}", "internal_error")
            return completion_body(result, self.calls)

        return app
