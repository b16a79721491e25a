"""What generated experiment programs import inside the sandbox: the target model (reached
through the lab's model gateway over a Unix socket), the benchmark problems, and the helpers
that write the machine-readable result file and figures the lab collects.

Environment (set by the lab's sandbox): ``AGENTRXIV_MODEL_SOCKET`` (gateway socket),
``AGENTRXIV_TARGET_MODEL`` (model spec, for the result file), ``AGENTRXIV_DATA`` (the
benchmark's dev-split JSONL, or ``sample``), ``AGENTRXIV_BENCHMARK`` (its registry spec) and
``AGENTRXIV_SPLIT`` (``dev``: what result.json records; labs never see the test split).
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, Field, ValidationError, field_validator

from agentrxiv.errors import BudgetExceededError, ConfigError
from agentrxiv.llm.base import ChatModel, ChatRequest, ChatResult, Usage
from agentrxiv.llm.errors import BadResponseError, UnreachableError
from agentrxiv.llm.errors import TimeoutError as ModelTimeoutError

SOCKET_ENV = "AGENTRXIV_MODEL_SOCKET"
MODEL_ENV = "AGENTRXIV_TARGET_MODEL"
DATA_ENV = "AGENTRXIV_DATA"
BENCHMARK_ENV = "AGENTRXIV_BENCHMARK"
SPLIT_ENV = "AGENTRXIV_SPLIT"
RESULT_FILE = "result.json"
FIGURE_DIR = "figures"
DEFAULT_TIMEOUT_S = 600.0

__all__ = [
    "ExperimentResult",
    "GatewayChatModel",
    "grade",
    "load_problems",
    "read_result",
    "save_figure",
    "target_model",
    "write_result",
]


class GatewayChatModel(ChatModel):
    """A ``ChatModel`` that talks to the lab's model gateway over a Unix socket."""

    def __init__(
        self, socket_path: str | Path, spec: str = "gateway", timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.spec = spec
        self.socket_path = str(socket_path)
        self._client = httpx.Client(
            transport=httpx.HTTPTransport(uds=self.socket_path),
            base_url="http://model-gateway",
            timeout=httpx.Timeout(timeout_s, connect=10.0),
        )

    def complete(self, request: ChatRequest) -> ChatResult:
        """One chat completion through the gateway (``tag`` is set by the lab, not here)."""
        params = request.params
        payload: dict[str, Any] = {
            "model": self.spec,
            "messages": list(request.messages),
            "temperature": params.temperature,
            "max_tokens": params.max_tokens,
            "top_p": params.top_p,
            "seed": params.seed,
            "stop": list(params.stop) or None,
        }
        json_schema = request.json_schema
        if json_schema is not None:
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": json_schema},
            }
        started = time.monotonic()
        body = self._post(payload)
        try:
            choice = body["choices"][0]
            usage = body.get("usage") or {}
            extra = body.get("agentrxiv") or {}
            return ChatResult(
                text=choice["message"]["content"] or "",
                model=body.get("model") or self.spec,
                usage=Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)),
                cost_usd=extra.get("cost_usd"),
                latency_s=time.monotonic() - started,
                cached=bool(extra.get("cached", False)),
                finish_reason=choice.get("finish_reason"),
                raw=body,
            )
        except (KeyError, IndexError, TypeError) as exc:
            raise BadResponseError(f"model gateway answered an unexpected body: {exc!r}") from exc

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._client.post("/v1/chat/completions", json=payload)
        except httpx.TimeoutException as exc:
            raise ModelTimeoutError(f"model gateway did not answer in time ({exc})") from exc
        except httpx.TransportError as exc:
            raise UnreachableError(
                f"cannot reach the model gateway at {self.socket_path}: {exc}"
            ) from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise BadResponseError(f"model gateway answered {response.status_code}") from exc
        if response.status_code == 200:
            return body
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else str(body)
        kind = error.get("type") if isinstance(error, dict) else None
        if kind == "budget_exceeded":
            raise BudgetExceededError(f"model budget exhausted: {message}")
        if response.status_code >= 500:
            raise UnreachableError(f"model gateway error {response.status_code}: {message}")
        raise BadResponseError(f"model gateway refused the request: {message}")


@functools.cache
def target_model() -> ChatModel:
    """The model under study, reached through the lab's gateway (calls count in its ledger)."""
    socket_path = os.environ.get(SOCKET_ENV)
    if not socket_path:
        raise ConfigError(
            f"no model gateway: {SOCKET_ENV} is not set",
            hint="run this program through the agent lab's sandbox",
        )
    return GatewayChatModel(socket_path, spec=os.environ.get(MODEL_ENV, "gateway"))


def load_problems(limit: int | None = None) -> list[Any]:
    """The lab's (dev) problems (``agentrxiv.bench.math500.Problem``) from ``AGENTRXIV_DATA``.
    Each carries its ``answer_format``, so ``agentrxiv.bench.runner.evaluate`` and ``grade``
    grade it with its benchmark's grader (math, integer or letter)."""
    from agentrxiv.bench.math500 import load_math500

    path = os.environ.get(DATA_ENV)
    if not path:
        raise ConfigError(f"no benchmark data: {DATA_ENV} is not set", hint="set it to a JSONL")
    return load_math500(path, limit=limit)


def grade(answer: str, problem: Any) -> bool:
    """Whether the model output ``answer`` is correct for ``problem`` (its benchmark's grader)."""
    from agentrxiv.bench.answers import grade_as

    fmt = getattr(problem, "answer_format", "math")
    return grade_as(fmt, answer or "", problem.answer, problem.problem).correct


class ExperimentResult(BaseModel):
    """The machine-readable result of an experiment, which the lab ranks programs by."""

    benchmark: str = "math500"
    metric: str = "accuracy"
    value: float
    n: int = Field(ge=0)
    model: str = "unknown"
    split: str = "dev"
    details: dict[str, Any] = Field(default_factory=dict)

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("value must be a finite number")
        return value


def write_result(metrics: dict[str, Any], path: str | Path = RESULT_FILE) -> Path:
    """Validate ``metrics`` as an ``ExperimentResult`` and write it as JSON; returns the path."""
    data = dict(metrics)
    data.setdefault("model", os.environ.get(MODEL_ENV, "unknown"))
    # The lab measured what it was given (its benchmark's dev split): say so.
    if os.environ.get(BENCHMARK_ENV):
        data["benchmark"] = os.environ[BENCHMARK_ENV]
    if os.environ.get(SPLIT_ENV):
        data["split"] = os.environ[SPLIT_ENV]
    try:
        result = ExperimentResult.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid experiment result: {_first_error(exc)}") from exc
    target = Path(path)
    target.write_text(json.dumps(result.model_dump(), indent=2, default=str), encoding="utf-8")
    return target


def read_result(path: str | Path = RESULT_FILE) -> ExperimentResult:
    """Read and validate a result file written by ``write_result`` (used by the lab)."""
    target = Path(path)
    try:
        raw = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"no result file at {target}") from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"unreadable result file {target}: {exc}") from exc
    try:
        return ExperimentResult.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"invalid result file {target}: {_first_error(exc)}") from exc


def save_figure(fig: Any, name: str) -> Path:
    """Save a matplotlib figure as ``figures/<name>.png`` in the working directory."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).name).strip("._") or "figure"
    target = Path(FIGURE_DIR) / stem
    if target.suffix.lower() not in (".png", ".pdf", ".svg"):
        target = target.with_name(target.name + ".png")
    target.parent.mkdir(exist_ok=True)
    fig.savefig(target, dpi=150, bbox_inches="tight")
    return target


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "result"
    return f"{where}: {first['msg']}"
