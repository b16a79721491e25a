"""``evaluate``: run a technique over problems in a thread pool and grade the answers.

A technique that raises on one problem scores that problem wrong (the error is recorded, the
run goes on); a run-level fault (endpoint unreachable, budget spent, no API key) stops the
run, keeping the finished records, and raises ``EvaluationStopped`` carrying them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from agentrxiv.bench.answers import grade_as
from agentrxiv.bench.math500 import Problem
from agentrxiv.bench.report import EvalReport, ProblemRecord, TokenUsage, build_report
from agentrxiv.bench.techniques import Technique, resolve_technique, technique_name

if TYPE_CHECKING:
    from agentrxiv.bench.registry import Benchmark
from agentrxiv.errors import AgentrxivError, BudgetExceededError
from agentrxiv.llm.base import ChatModel, ChatRequest, ChatResult
from agentrxiv.llm.errors import MissingKeyError, ProviderError, RateLimitError, UnreachableError

logger = logging.getLogger(__name__)

#: Errors that mean "no further problem can succeed", so the run stops.
FATAL_ERRORS: tuple[type[BaseException], ...] = (
    UnreachableError,
    BudgetExceededError,
    MissingKeyError,
    ProviderError,
    RateLimitError,
)


class EvaluationStopped(AgentrxivError):
    """A run-level fault stopped the evaluation; ``report`` holds the finished problems."""

    def __init__(self, cause: BaseException, report: EvalReport, total: int) -> None:
        reason = getattr(cause, "message", None) or str(cause)
        message = f"evaluation stopped after {report.n}/{total} problems: {reason}"
        super().__init__(message, getattr(cause, "hint", None))
        self.cause = cause
        self.report = report


class Interrupted(AgentrxivError):
    """The user interrupted the run (Ctrl-C)."""


def is_fatal(error: BaseException) -> bool:
    """Whether ``error`` ends the whole run rather than one problem."""
    return isinstance(error, FATAL_ERRORS) or bool(getattr(error, "fatal", False))


@dataclass
class _CallTally:
    usage: TokenUsage = field(default_factory=TokenUsage)
    cost_usd: float | None = 0.0
    calls: int = 0


class _RecordingModel(ChatModel):
    """Delegates to ``inner`` (so its ledger sees every token), tagging calls with the problem
    and summing this problem's usage, cost and call count."""

    def __init__(self, inner: ChatModel, tag: str) -> None:
        self.inner = inner
        self.spec = getattr(inner, "spec", "unknown")
        self.tag = tag
        self.tally = _CallTally()
        self._lock = threading.Lock()  # a technique may call the model from its own threads

    def complete(self, request: ChatRequest) -> ChatResult:
        """One call through the wrapped model, counted for this problem."""
        result = self.inner.complete(replace(request, tag=request.tag or self.tag))
        with self._lock:
            self.tally.calls += 1
            self.tally.usage = TokenUsage(
                prompt_tokens=self.tally.usage.prompt_tokens + result.usage.prompt_tokens,
                completion_tokens=self.tally.usage.completion_tokens
                + result.usage.completion_tokens,
            )
            if result.cost_usd is None or self.tally.cost_usd is None:
                self.tally.cost_usd = None
            else:
                self.tally.cost_usd += result.cost_usd
        return result


@dataclass
class _Attempt:
    output: str | None
    error: BaseException | None
    tally: _CallTally
    latency_s: float


def _attempt(technique: Technique, problem: Problem, model: ChatModel, tag: str) -> _Attempt:
    recorder = _RecordingModel(model, f"{tag}/{problem.unique_id}")
    started = time.perf_counter()
    try:
        output: str | None = technique(problem.problem, recorder)
        error = None
        if not isinstance(output, str):
            error = TypeError(f"technique returned {type(output).__name__}, not str")
            output = None
    except Exception as exc:  # noqa: BLE001 - user techniques may raise anything
        output, error = None, exc
    return _Attempt(output, error, recorder.tally, time.perf_counter() - started)


def _record(
    problem: Problem, attempt: _Attempt, benchmark: Benchmark | None = None
) -> ProblemRecord:
    record = ProblemRecord(
        unique_id=problem.unique_id,
        subject=problem.subject,
        level=problem.level,
        gold=problem.answer,
        tokens=attempt.tally.usage,
        cost_usd=attempt.tally.cost_usd,
        latency_s=round(attempt.latency_s, 4),
        calls=attempt.tally.calls,
        output=attempt.output,
    )
    if attempt.error is not None:
        record.error = f"{type(attempt.error).__name__}: {attempt.error}"
        record.method = "error"
        return record
    if benchmark is not None:
        result = benchmark.grade_result(attempt.output or "", problem)
    else:  # each problem says how it is graded (MATH-500: math)
        output, gold = attempt.output or "", problem.answer
        result = grade_as(problem.answer_format, output, gold, problem.problem)
    record.extracted, record.correct = result.extracted, result.correct
    record.method, record.error = result.method, result.error
    return record


def _collect(
    pending: dict[Future[_Attempt], int],
    problems: list[Problem],
    by_index: dict[int, ProblemRecord],
    progress: Callable[[ProblemRecord], None] | None,
    benchmark: Benchmark | None = None,
) -> BaseException | None:
    """Grade attempts as they finish. After a fatal error the queued problems are cancelled
    and those already running are still collected; returns the first fatal error."""
    # Done-callbacks feed a queue: O(1) per finished problem, where wait(FIRST_COMPLETED)
    # re-registers a waiter on every pending future each round (quadratic in the run size).
    finished: queue.SimpleQueue[Future[_Attempt]] = queue.SimpleQueue()
    for future in pending:
        future.add_done_callback(finished.put)
    fatal: BaseException | None = None
    while pending:
        future = finished.get()
        index = pending.pop(future)
        if future.cancelled():
            continue
        attempt = future.result()
        if attempt.error is not None and is_fatal(attempt.error):
            if fatal is None:
                fatal = attempt.error
                for queued in pending:
                    queued.cancel()
            continue
        record = _record(problems[index], attempt, benchmark)
        by_index[index] = record
        if progress is not None:
            progress(record)
    return fatal


def evaluate(
    technique: Technique | str,
    model: ChatModel,
    problems: list[Problem],
    concurrency: int = 8,
    progress: Callable[[ProblemRecord], None] | None = None,
    *,
    tag: str = "bench",
    metadata: dict[str, Any] | None = None,
    benchmark: Benchmark | None = None,
) -> EvalReport:
    """Run ``technique`` on every problem with ``concurrency`` threads and grade the answers.

    Failed problems stay in the denominator; a run-level fault raises ``EvaluationStopped``
    with the finished records. Grading runs in the calling thread (math-verify's timeout
    needs the main thread's signals). ``benchmark`` grades with its grader; without one each
    problem is graded by its ``answer_format``. Records come in the order of ``problems``."""
    solve = resolve_technique(technique)
    info = {"technique": technique_name(technique), "model": getattr(model, "spec", "unknown")}
    if benchmark is not None:
        info["benchmark"] = benchmark.name
    info.update(metadata or {})
    started = time.perf_counter()
    by_index: dict[int, ProblemRecord] = {}
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="bench") as pool:
        pending: dict[Future[_Attempt], int] = {
            pool.submit(_attempt, solve, problem, model, tag): index
            for index, problem in enumerate(problems)
        }
        try:
            fatal = _collect(pending, problems, by_index, progress, benchmark)
        except KeyboardInterrupt:
            fatal = Interrupted("interrupted by the user")
        finally:
            for future in pending:  # queued problems never start after a stop
                future.cancel()
    records = [by_index[i] for i in sorted(by_index)]
    report = build_report(records, time.perf_counter() - started, info)
    if fatal is not None:
        report.metadata.update(complete=False, stop_reason=str(fatal))
        logger.warning("evaluation stopped after %d/%d: %s", report.n, len(problems), fatal)
        raise EvaluationStopped(fatal, report, len(problems))
    report.metadata["complete"] = True
    return report
