"""``verify_paper``: re-run a paper's claimed result on a held-out split and post the record.

Steps: read the paper (its technique ``FILE:function`` and its claim: the first result row's
benchmark, split, model and value); load the benchmark's held-out problems; run the zero-shot
baseline in-process (our own code; it also checks that the model answers before anything
untrusted runs); run the paper's technique in the sandbox; grade both with the benchmark's
grader (a problem whose ``solve`` raised counts wrong); compute the statistics; post.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentrxiv.archive.checks import (
    canonical_benchmark,
    content_hash,
    marks_details,
    statistics_of,
)
from agentrxiv.archive.schemas import PaperPublic, VerificationCreate
from agentrxiv.bench.math500 import Problem
from agentrxiv.bench.registry import Benchmark, get_benchmark
from agentrxiv.bench.runner import EvaluationStopped, evaluate
from agentrxiv.bench.techniques import resolve_technique
from agentrxiv.client import ArchiveClient
from agentrxiv.config import get_settings
from agentrxiv.errors import AgentrxivError, ConfigError
from agentrxiv.llm.base import ChatModel, ChatRequest, ChatResult
from agentrxiv.llm.registry import get_model
from agentrxiv.sandbox import SandboxConfig
from agentrxiv.stats import as_fraction, decide_status, headline_result
from agentrxiv.verify.sandboxed import SandboxedRun, run_technique

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
MAX_ERRORS_KEPT = 20


class VerificationRefused(AgentrxivError):
    """The paper cannot be verified at all (withdrawn, no claim to check): nothing posted."""


class VerificationRecord(VerificationCreate):
    """A verification as ``verify_paper`` returns it: the posted record plus who and where."""

    paper_id: str
    verifier: str = ""
    self_verification: bool | None = None
    standing: str | None = None  # decided by the server once posted
    id: int | None = None

    def to_create(self) -> VerificationCreate:
        """The part that is posted to the server."""
        return VerificationCreate(**self.model_dump(include=set(VerificationCreate.model_fields)))


class CountingModel(ChatModel):
    """Counts tokens, cost, backend calls and cache hits of everything through ``inner``."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner
        self.spec = getattr(inner, "spec", "unknown")
        self.tokens = 0
        self.cost_usd: float | None = 0.0
        self.calls = 0
        self.cached = 0
        self.requests = 0  # every call asked, answered or not
        self._lock = threading.Lock()

    def complete(self, request: ChatRequest) -> ChatResult:
        """One call through the wrapped model, counted."""
        with self._lock:
            self.requests += 1
        result = self.inner.complete(request)
        with self._lock:
            self.tokens += result.usage.total_tokens
            if result.cached:
                self.cached += 1
            else:
                self.calls += 1
            if result.cost_usd is None or self.cost_usd is None:
                self.cost_usd = None
            else:
                self.cost_usd += result.cost_usd
        return result

    def snapshot(self) -> dict[str, Any]:
        """The counters so far."""
        with self._lock:
            return {
                "tokens": self.tokens,
                "cost_usd": self.cost_usd,
                "model_calls": self.calls,
                "cached_calls": self.cached,
                "model_requests": self.requests,
            }


@dataclass
class Claim:
    """What the paper says it measured (from its first result row)."""

    benchmark: str
    split: str
    model: str
    value: float | None


def read_claim(paper: PaperPublic) -> Claim | None:
    """The paper's headline claim, by the archive's one rule (``stats.headline_result``)."""
    chosen = headline_result(list(paper.results))
    if chosen is None:
        return None
    return Claim(chosen.benchmark, chosen.split, chosen.model, as_fraction(chosen.value))


@dataclass
class VerifyOptions:
    """Knobs of one verification (the CLI and tests set them)."""

    split: str = "test"
    limit: int | None = None
    data: str | Path | None = None
    limits: SandboxConfig | None = None
    concurrency: int = 4
    progress: Progress | None = None
    kind: str = "claim"
    # In-flight calls to the model's endpoint, shared by every verification in this process
    # (default ``concurrency``); ``verifier run --concurrency N`` sets N x ``concurrency``.
    endpoint_concurrency: int | None = None


def _limits(options: VerifyOptions) -> SandboxConfig:
    if options.limits is not None:
        return options.limits
    settings = get_settings()
    return SandboxConfig(wall_s=settings.verify_wall_s, cpu_s=int(settings.verify_wall_s * 2))


def load_problems(benchmark: str, options: VerifyOptions) -> tuple[Benchmark, list[Problem]]:
    """The benchmark and its problems of ``options.split`` (first ``limit``)."""
    bench = get_benchmark(canonical_benchmark(benchmark), data=options.data)
    problems = bench.problems(options.split, options.limit)
    if not problems:
        raise ConfigError(f"{bench.name} has no {options.split} problems")
    return bench, problems


def run_baseline(
    bench: Benchmark, problems: list[Problem], model: ChatModel, options: VerifyOptions
) -> list[tuple[bool, str | None]]:
    """Zero-shot on ``problems`` in-process; (correct, error) per problem, in order.

    A run-level fault (the model is unreachable, no key, budget) raises: nothing is posted."""
    solve = resolve_technique("zero-shot", max_tokens=bench.default_max_tokens)

    def advance(_record: object) -> None:
        if options.progress is not None:
            options.progress("baseline", 1, len(problems))

    try:
        report = evaluate(
            solve,
            model,
            problems,
            concurrency=options.concurrency,
            progress=advance,
            tag="verify/baseline",
        )
    except EvaluationStopped as stopped:
        raise AgentrxivError(f"model {model.spec} failed: {stopped.cause}") from stopped
    by_id = {record.unique_id: record for record in report.records}
    marks = []
    for problem in problems:
        record = by_id[problem.unique_id]
        ok = record.error is None and bench.grade(record.output or "", problem)
        marks.append((ok, record.error))
    if marks and all(error is not None for _, error in marks):
        raise AgentrxivError(f"model {model.spec} answered no problem: {marks[0][1]}")
    return marks


def _technique_marks(
    bench: Benchmark, problems: list[Problem], run: SandboxedRun
) -> tuple[list[bool], list[str]]:
    marks, errors = [], []
    for problem in problems:
        error = run.errors.get(problem.unique_id)
        output = run.outputs.get(problem.unique_id)
        if error is not None or output is None:
            marks.append(False)
            errors.append(f"{problem.unique_id}: {error or 'no answer'}")
        else:
            marks.append(bench.grade(output, problem))
    return marks, errors


def no_model_use(problems: list[Problem], run: SandboxedRun, gateway_calls: int) -> tuple[int, str]:
    """How many answered problems the technique solved without calling the target model,
    and a note when the driver's per-problem counts exceed the calls the gateway saw (then
    no count is believed and every answered problem counts as answered without the model)."""
    answered = [p.unique_id for p in problems if run.outputs.get(p.unique_id) is not None]
    counts = {uid: max(0, run.model_calls.get(uid, 0)) for uid in answered}
    counted = sum(counts.values())
    if counted > gateway_calls:
        return len(answered), f"driver counted {counted} model calls, the gateway {gateway_calls}"
    return sum(1 for uid in answered if counts[uid] == 0), ""


def model_use_note(no_model: int, n: int) -> str:
    """The mark of a technique that answered problems without calling the model."""
    return f"no model use on {no_model} of {n} problems" if no_model else ""


def _failed(record: dict[str, Any], reason: str) -> VerificationRecord:
    log.warning("verification of %s failed: %s", record["paper_id"], reason)
    return VerificationRecord(**record, status="failed", error=reason[:5000])


def evaluate_technique(
    paper: PaperPublic,
    technique: str | None,
    bench: Benchmark,
    problems: list[Problem],
    model: CountingModel,
    options: VerifyOptions,
    base: dict[str, Any],
) -> VerificationRecord:
    """Baseline in-process, technique in the sandbox, graded and compared."""
    started = time.perf_counter()
    if technique is None:
        return _failed(base, "the paper names no technique (technique: FILE:function)")
    file, _, function = technique.rpartition(":")
    if not file or not function or file not in paper.code_files:
        return _failed(base, f"technique {technique!r} is not one of the paper's code files")
    baseline = run_baseline(bench, problems, model, options)
    requests_before = model.snapshot()["model_requests"]
    runs_dir = Path(tempfile.mkdtemp(prefix="agentrxiv-verify-"))
    try:
        if options.progress is not None:
            options.progress("technique", 0, len(problems))
        run = run_technique(
            paper.code_files,
            technique,
            problems,
            model,
            runs_dir,
            _limits(options),
            concurrency=options.concurrency,
            tag=f"verify/{paper.id}",
        )
    finally:
        shutil.rmtree(runs_dir, ignore_errors=True)
    if options.progress is not None:
        options.progress("technique", len(problems), len(problems))
    usage = model.snapshot()
    base.update(tokens=usage["tokens"], cost_usd=usage["cost_usd"])
    base.update(wall_s=round(time.perf_counter() - started, 3))
    base["details"].update(usage)
    if run.failure is not None:
        return _failed(base, run.failure)
    marks, errors = _technique_marks(bench, problems, run)
    baseline_marks = [ok for ok, _ in baseline]
    base.update(statistics_of(marks, baseline_marks))
    no_model, inconsistent = no_model_use(problems, run, usage["model_requests"] - requests_before)
    base["no_model_use"] = no_model
    base["details"].update(
        model_calls_per_problem=[run.model_calls.get(p.unique_id, 0) for p in problems],
        model_use=model_use_note(no_model, len(problems)) or "the model on every answer",
    )
    if inconsistent:
        base["details"]["model_use_inconsistent"] = inconsistent
    base["details"].update(
        technique_errors=len(errors),
        errors=errors[:MAX_ERRORS_KEPT],
        problems=[p.unique_id for p in problems],
        **marks_details(marks, baseline_marks),
    )
    status = decide_status(
        base.get("claimed_value"), n=base["n"], ci_low=base["ci_low"], ci_high=base["ci_high"]
    )
    return VerificationRecord(**base, status=status)


def _checked_paper(client: ArchiveClient, paper_id: str) -> PaperPublic:
    paper = client.get(paper_id)
    if paper.withdrawn:
        raise VerificationRefused(f"paper {paper.id} is withdrawn; nothing to verify")
    return paper


def verify_paper(
    client: ArchiveClient,
    paper_id: str,
    *,
    model_spec: str | None = None,
    split: str = "test",
    limit: int | None = None,
    post: bool = True,
    options: VerifyOptions | None = None,
    benchmark: str | None = None,
) -> VerificationRecord:
    """Verify ``paper_id``'s claim (or, with ``benchmark``, transfer it there) and post it.

    Errors that make a verification impossible (unknown id, withdrawn paper, unreachable
    model, unknown benchmark) raise ``AgentrxivError`` and post nothing; a technique that
    is missing, lacks ``solve``, hangs or breaks a sandbox limit gives status ``failed``."""
    options = options or VerifyOptions()
    options.split, options.limit = split, limit if limit is not None else options.limit
    paper = _checked_paper(client, paper_id)
    claim = read_claim(paper)
    on_claim = benchmark is None or (
        claim is not None and canonical_benchmark(benchmark) == canonical_benchmark(claim.benchmark)
    )
    target = benchmark or (claim.benchmark if claim else None)
    if target is None:
        raise VerificationRefused(f"paper {paper.id} reports no result to verify")
    spec = model_spec or (claim.model if claim else "")
    if not spec:
        raise ConfigError(f"paper {paper.id} names no target model", hint="pass --model SPEC")
    bench, problems = load_problems(target, options)
    in_flight = options.endpoint_concurrency or options.concurrency
    counted = CountingModel(get_model(spec, cache=True, max_concurrency=in_flight))
    base: dict[str, Any] = {
        "paper_id": paper.id,
        "version": paper.version,
        "kind": "claim" if on_claim and options.kind == "claim" else "transfer",
        "benchmark": bench.name,
        "split": options.split,
        "model": spec,
        "technique": paper.technique or "",
        "claimed_value": claim.value if claim and on_claim else None,
        "content_hash": content_hash(paper.code_files),
        "details": {
            "benchmark": bench.info(),
            "claimed_split": claim.split if claim else "",
            # Selection on dev: how many variants the claim was chosen from (None: unknown).
            "variants_tried": paper.variants_tried,
        },
    }
    record = evaluate_technique(paper, paper.technique, bench, problems, counted, options, base)
    if post:
        stored = client.post_verification(paper.id, record.to_create())
        record.id, record.verifier = stored.id, stored.verifier
        record.self_verification = stored.self_verification
        record.standing = stored.standing
    return record
