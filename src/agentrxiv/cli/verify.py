"""``agentrxiv verify PAPER_ID`` (re-run a paper's claim on the held-out split and post the
record) and ``agentrxiv bench transfer PAPER_ID`` (the technique on other benchmarks and
models). Refusals (withdrawn paper, unknown id, unreachable model) are one line, exit 1,
and post nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agentrxiv.cli.app import app, err_console
from agentrxiv.cli.bench import _quiet_library_logs, bench_app
from agentrxiv.cli.client import SERVER_OPTION, _server, _token
from agentrxiv.config import get_settings

console = Console()
TOKEN_OPTION = typer.Option(None, "--token", help="Write token of the verifier's lab.")


def _progress() -> Progress:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    return Progress(
        *columns, TimeElapsedColumn(), console=err_console, disable=not err_console.is_terminal
    )


def _options(progress: Progress) -> Any:
    from agentrxiv.verify import VerifyOptions

    tasks: dict[str, Any] = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            label = "zero-shot baseline" if stage == "baseline" else "technique (sandbox)"
            tasks[stage] = progress.add_task(label, total=total)
        if stage == "baseline":
            progress.advance(tasks[stage], done)
        else:
            progress.update(tasks[stage], completed=done)

    return VerifyOptions(concurrency=get_settings().verify_concurrency, progress=report)


def _print_record(record: Any) -> None:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1%}"

    colour = {"reproduced": "green", "not reproduced": "red"}.get(record.status, "yellow")
    console.print(
        f"[{colour}]{record.status}[/{colour}] {record.paper_id} on "
        f"{record.benchmark}/{record.split} with {record.model} (n={record.n})"
    )
    if record.status == "failed":
        console.print(f"  error: {record.error}", highlight=False, soft_wrap=True)
    else:
        console.print(
            f"  claimed {pct(record.claimed_value)}; verified {pct(record.value)} "
            f"[{pct(record.ci_low)}, {pct(record.ci_high)}]; zero-shot {pct(record.baseline_value)}"
        )
        console.print(
            f"  Δ {record.delta:+.1%} [{record.delta_low:+.1%}, {record.delta_high:+.1%}], "
            f"McNemar p = {record.mcnemar_p:.3g}"
        )
    cost = "unknown" if record.cost_usd is None else f"${record.cost_usd:.4f}"
    console.print(
        f"  tokens {record.tokens}; cost {cost}; wall {record.wall_s:.1f}s; "
        f"sha256 {record.content_hash[:12]}"
    )
    if record.id is not None:
        standing = record.standing or ("self" if record.self_verification else "")
        counted = "" if standing in ("archive", "independent") else ": not counted by default"
        note = f" (standing {standing}{counted})" if standing else ""
        console.print(f"  posted as verification {record.id} by {record.verifier}{note}")


@app.command()
def verify(
    paper_id: str = typer.Argument(..., help="The paper to verify (YYMM.NNNNN)."),
    server: str | None = SERVER_OPTION,
    token: str | None = TOKEN_OPTION,
    model: str | None = typer.Option(None, "--model", help="Model spec; default: the paper's."),
    split: str = typer.Option("test", "--split", help="Split to verify on (default test)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N problems."),
    data: str | None = typer.Option(None, "--data", help="Benchmark data (JSONL path)."),
    no_post: bool = typer.Option(False, "--no-post", help="Do not post the record."),
    as_json: bool = typer.Option(False, "--json", help="Print the record as JSON."),
) -> None:
    """Re-run PAPER_ID's technique on the held-out split, compare with the claim, post it."""
    _quiet_library_logs()
    from agentrxiv.client import ArchiveClient
    from agentrxiv.verify import verify_paper

    write_token = None if no_post else _token(token)
    with ArchiveClient(_server(server), token=write_token) as client, _progress() as progress:
        options = _options(progress)
        options.data = data
        record = verify_paper(
            client,
            paper_id,
            model_spec=model,
            split=split,
            limit=limit,
            post=not no_post,
            options=options,
        )
    if as_json:
        typer.echo(json.dumps(record.model_dump(mode="json"), indent=2))
    else:
        _print_record(record)


def _split_list(text: str, what: str) -> list[str]:
    from agentrxiv.errors import ConfigError

    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise ConfigError(f"--{what} needs at least one name")
    return items


@bench_app.command("transfer")
def bench_transfer(
    paper_id: str = typer.Argument(..., help="The paper whose technique to transfer."),
    benchmarks: str = typer.Option(
        ..., "--benchmarks", help="Comma-separated, e.g. gpqa-diamond,mmlu-pro,medqa."
    ),
    models: str = typer.Option(..., "--models", help="Comma-separated model specs."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="First N test problems."),
    data_dir: str | None = typer.Option(
        None, "--data-dir", help="Directory of <benchmark>.jsonl files, or 'hub' to download."
    ),
    out: Path = typer.Option(Path("transfer"), "--out", help="Writes OUT.md and OUT.json."),
    post: bool = typer.Option(False, "--post", help="Post each cell as a verification."),
    server: str | None = SERVER_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """PAPER_ID's technique vs zero-shot on other benchmarks and models: a table with
    accuracies and paired differences (Markdown + JSON)."""
    _quiet_library_logs()
    from agentrxiv.client import ArchiveClient
    from agentrxiv.verify import transfer, write_tables

    names, specs = _split_list(benchmarks, "benchmarks"), _split_list(models, "models")
    write_token = _token(token) if post else None
    with ArchiveClient(_server(server), token=write_token) as client, _progress() as progress:
        rows = transfer(
            client,
            paper_id,
            names,
            specs,
            limit=limit,
            data_dir=data_dir,
            post=post,
            options=_options(progress),
        )
    md, js = write_tables(paper_id, rows, out)
    console.print(md.read_text(encoding="utf-8"), highlight=False, markup=False)
    console.print(f"tables written to {md} and {js}")
