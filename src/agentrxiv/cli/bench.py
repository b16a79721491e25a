"""``agentrxiv bench math500``: evaluate a technique with a model on MATH-500 and write the
JSON report; run-level faults write the finished results and exit non-zero on one line."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agentrxiv.cli.app import _state, app, err_console

if TYPE_CHECKING:
    from agentrxiv.bench.math500 import Problem
    from agentrxiv.bench.report import EvalReport
    from agentrxiv.bench.techniques import Technique
    from agentrxiv.llm.base import ChatModel

bench_app = typer.Typer(help="Evaluate reasoning techniques on benchmarks.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
console = Console()


def _quiet_library_logs() -> None:
    # Without handlers Python prints WARNINGs (e.g. retry notices) to stderr; the CLI
    # promises a single error line, so library logs show only with --debug.
    if _state["debug"]:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        return
    for name in ("agentrxiv", "math_verify", "latex2sympy2_extended", "httpx", "openai"):
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


def _summary(report: object, title: str = "MATH-500") -> Table:
    from agentrxiv.bench.report import EvalReport

    assert isinstance(report, EvalReport)
    low, high = report.ci95
    table = Table(title=f"{title}: {report.correct}/{report.n} correct")
    table.add_column("group")
    table.add_column("n", justify="right")
    table.add_column("accuracy", justify="right")
    table.add_row("all", str(report.n), f"{report.accuracy:.1%} (95% CI {low:.1%}-{high:.1%})")
    for name, group in report.by_subject.items():
        table.add_row(name, str(group.n), f"{group.accuracy:.1%}")
    for level, group in report.by_level.items():
        table.add_row(f"Level {level}", str(group.n), f"{group.accuracy:.1%}")
    return table


@bench_app.command("math500")
def math500(
    model: str = typer.Option(..., "--model", help="Model spec, e.g. openai/gpt-4o-mini."),
    base_url: str | None = typer.Option(None, "--base-url", help="OpenAI-compatible base URL."),
    technique: str = typer.Option(
        "zero-shot", "--technique", help="zero-shot, cot, self-consistency or module:function."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N problems."),
    data: str | None = typer.Option(
        None, "--data", help="MATH-500 JSONL path, or 'sample' (bundled 20); default: the hub."
    ),
    concurrency: int = typer.Option(8, "--concurrency", min=1, help="Problems in flight."),
    out: Path | None = typer.Option(None, "--out", help="Write the JSON report here."),
    seed: int | None = typer.Option(None, "--seed", help="Base sampling seed (self-consistency)."),
    samples: int | None = typer.Option(
        None, "--samples", min=1, help="Samples per problem (self-consistency)."
    ),
    max_tokens: int | None = typer.Option(None, "--max-tokens", min=1, help="Tokens per call."),
) -> None:
    """Evaluate TECHNIQUE with MODEL on MATH-500 and print accuracy with a 95% interval."""
    _quiet_library_logs()
    from agentrxiv.bench.math500 import file_sha256, load_math500, resolve_data_path
    from agentrxiv.bench.report import write_report
    from agentrxiv.bench.runner import EvaluationStopped, evaluate
    from agentrxiv.bench.techniques import resolve_technique
    from agentrxiv.errors import AgentrxivError
    from agentrxiv.llm.registry import get_model

    path = resolve_data_path(data)
    problems = load_math500(path, limit=limit)
    solve = resolve_technique(technique, samples=samples, seed=seed, max_tokens=max_tokens)
    chat_model = get_model(model, base_url=base_url, max_concurrency=concurrency)
    metadata = {
        "model": model,
        "technique": technique,
        "data": str(path),
        "data_sha256": file_sha256(path),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "problems_total": len(problems),
        "concurrency": concurrency,
        "seed": seed,
    }
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    progress = Progress(
        *columns, TimeElapsedColumn(), console=err_console, disable=not err_console.is_terminal
    )
    with progress:
        task = progress.add_task(f"{technique} on {model}", total=len(problems))
        try:
            report = evaluate(
                solve,
                chat_model,
                problems,
                concurrency=concurrency,
                progress=lambda _record: progress.advance(task),
                metadata=metadata,
            )
        except EvaluationStopped as stopped:
            where = ""
            if out is not None:
                write_report(stopped.report, out)
                where = f"; {stopped.report.n} finished results written to {out}"
            raise AgentrxivError(stopped.message + where, stopped.hint) from stopped
    if out is not None:
        write_report(report, out)
    console.print(_summary(report))
    tokens = f"{report.usage.prompt_tokens} prompt + {report.usage.completion_tokens} completion"
    cost = "unknown" if report.cost_usd is None else f"${report.cost_usd:.4f}"
    console.print(f"tokens: {tokens}; cost: {cost}; wall: {report.wall_s:.1f}s")
    if out is not None:
        console.print(f"report written to {out}")


def _parse_options(pairs: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            from agentrxiv.errors import ConfigError

            raise ConfigError(f"bad --option {pair!r}: expected KEY=VALUE (e.g. digits=3)")
        options[key.strip()] = value.strip()
    return options


def _run_with_progress(
    solve: Technique,
    chat_model: ChatModel,
    problems: list[Problem],
    label: str,
    out: Path | None,
    **kw: Any,
) -> EvalReport:
    """``evaluate`` with a progress bar; a run-level fault writes what finished and exits 1."""
    from agentrxiv.bench.report import write_report
    from agentrxiv.bench.runner import EvaluationStopped, evaluate
    from agentrxiv.errors import AgentrxivError

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    progress = Progress(
        *columns, TimeElapsedColumn(), console=err_console, disable=not err_console.is_terminal
    )
    with progress:
        task = progress.add_task(label, total=len(problems))
        try:
            return evaluate(
                solve, chat_model, problems, progress=lambda _r: progress.advance(task), **kw
            )
        except EvaluationStopped as stopped:
            where = ""
            if out is not None:
                write_report(stopped.report, out)
                where = f"; {stopped.report.n} finished results written to {out}"
            raise AgentrxivError(stopped.message + where, stopped.hint) from stopped


@bench_app.command("run")
def run(
    benchmark: str = typer.Argument(
        ..., help="math500, arith, gpqa-diamond, mmlu-pro or medqa (or NAME:key=value,...)."
    ),
    model: str = typer.Option(..., "--model", help="Model spec, e.g. local/smollm2."),
    technique: str = typer.Option(
        "zero-shot",
        "--technique",
        help="zero-shot, few-shot, cot, self-consistency, module:function or file.py:function.",
    ),
    split: str = typer.Option("dev", "--split", help="dev, test or all."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N problems."),
    out: Path | None = typer.Option(None, "--out", help="Write the JSON report here."),
    data: str | None = typer.Option(
        None, "--data", help="JSONL path; math500: 'sample' (default); 'hub' downloads."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Benchmark seed (split, arith)."),
    option: list[str] = typer.Option(
        [], "--option", help="Benchmark setting KEY=VALUE (arith: digits, operands, ...)."
    ),
    base_url: str | None = typer.Option(None, "--base-url", help="OpenAI-compatible base URL."),
    concurrency: int = typer.Option(8, "--concurrency", min=1, help="Problems in flight."),
    shots: int = typer.Option(3, "--shots", min=1, max=8, help="Examples (few-shot)."),
    samples: int | None = typer.Option(
        None, "--samples", min=1, help="Samples per problem (self-consistency)."
    ),
    sampling_seed: int | None = typer.Option(
        None, "--sampling-seed", help="Base sampling seed (self-consistency)."
    ),
    max_tokens: int | None = typer.Option(None, "--max-tokens", min=1, help="Tokens per call."),
) -> None:
    """Evaluate TECHNIQUE with MODEL on a SPLIT of BENCHMARK; print accuracy with a 95% CI."""
    _quiet_library_logs()
    from agentrxiv.bench.registry import check_split, get_benchmark
    from agentrxiv.bench.report import write_report
    from agentrxiv.bench.techniques import resolve_technique
    from agentrxiv.llm.registry import get_model

    check_split(split)
    bench = get_benchmark(benchmark, data=data, seed=seed, **_parse_options(option))
    problems = bench.problems(split, limit=limit)
    solve = resolve_technique(
        technique,
        samples=samples,
        seed=sampling_seed,
        max_tokens=max_tokens or bench.default_max_tokens,
        benchmark=bench,
        shots=shots,
    )
    chat_model = get_model(model, base_url=base_url, max_concurrency=concurrency)
    metadata = {
        **bench.info(),
        "model": model,
        "technique": technique,
        "split": split,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "problems_total": len(problems),
        "concurrency": concurrency,
        "max_tokens": max_tokens or bench.default_max_tokens,
    }
    report = _run_with_progress(
        solve,
        chat_model,
        problems,
        f"{technique} on {bench.spec}/{split}",
        out,
        concurrency=concurrency,
        metadata=metadata,
        benchmark=bench,
    )
    if out is not None:
        write_report(report, out)
    console.print(_summary(report, f"{bench.spec} ({split})"))
    usage, cost = report.usage, report.cost_usd
    tokens = f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion"
    cost_text = "unknown" if cost is None else f"${cost:.4f}"
    console.print(f"tokens: {tokens}; cost: {cost_text}; wall: {report.wall_s:.1f}s")
    if out is not None:
        console.print(f"report written to {out}")
