"""``agentrxiv bench math500``: evaluate a technique with a model on MATH-500 and write the
JSON report; run-level faults write the finished results and exit non-zero on one line."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agentrxiv.cli.main import _state, app, err_console

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


def _summary(report: object) -> Table:
    from agentrxiv.bench.report import EvalReport

    assert isinstance(report, EvalReport)
    low, high = report.ci95
    table = Table(title=f"MATH-500: {report.correct}/{report.n} correct")
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
