"""``bench transfer``: a paper's technique against the zero-shot baseline on other benchmarks
and models, as a table of accuracies and paired differences with their intervals (Markdown
and JSON); with ``post`` each cell is posted as a ``transfer`` verification record."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from agentrxiv.client import ArchiveClient
from agentrxiv.errors import AgentrxivError
from agentrxiv.verify.core import VerificationRecord, VerifyOptions, verify_paper

log = logging.getLogger(__name__)


def data_for(benchmark: str, data_dir: str | Path | None) -> str | Path | None:
    """The data argument for ``benchmark``: ``DIR/<name>.jsonl`` when it exists, ``hub``
    when the directory is given as ``hub``, else the benchmark's default."""
    if data_dir is None:
        return None
    if str(data_dir) == "hub":
        return "hub"
    path = Path(data_dir).expanduser() / f"{benchmark}.jsonl"
    return path if path.is_file() else None


def transfer(
    client: ArchiveClient,
    paper_id: str,
    benchmarks: list[str],
    models: list[str],
    *,
    limit: int | None = None,
    data_dir: str | Path | None = None,
    post: bool = False,
    options: VerifyOptions | None = None,
) -> list[dict[str, Any]]:
    """One row per (benchmark, model): the record's numbers, or the error that stopped it."""
    rows = []
    for benchmark in benchmarks:
        for model in models:
            cell = VerifyOptions(**vars(options)) if options else VerifyOptions()
            cell.data, cell.kind = data_for(benchmark, data_dir), "transfer"
            try:
                record = verify_paper(
                    client,
                    paper_id,
                    model_spec=model,
                    split="test",
                    limit=limit,
                    post=post,
                    options=cell,
                    benchmark=benchmark,
                )
            except AgentrxivError as exc:
                log.warning("transfer %s on %s with %s: %s", paper_id, benchmark, model, exc)
                rows.append({"benchmark": benchmark, "model": model, "error": exc.message})
                continue
            rows.append(_row(record))
    return rows


def _row(record: VerificationRecord) -> dict[str, Any]:
    keys = (
        "benchmark",
        "model",
        "status",
        "error",
        "n",
        "value",
        "ci_low",
        "ci_high",
        "baseline_value",
        "baseline_low",
        "baseline_high",
        "delta",
        "delta_low",
        "delta_high",
        "mcnemar_p",
        "tokens",
        "cost_usd",
        "wall_s",
        "content_hash",
        "id",
    )
    return {key: getattr(record, key) for key in keys}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _interval(value: float | None, low: float | None, high: float | None, signed: bool) -> str:
    if value is None:
        return "–"
    fmt = "{:+.1%}" if signed else "{:.1%}"
    return f"{fmt.format(value)} [{fmt.format(low)}, {fmt.format(high)}]"


def _triple(row: dict[str, Any], key: str) -> tuple[float | None, ...]:
    return row[f"{key}_value"], row[f"{key}_low"], row[f"{key}_high"]


def markdown_table(paper_id: str, rows: list[dict[str, Any]]) -> str:
    """The transfer table as Markdown."""
    lines = [
        f"# Transfer of {paper_id}",
        "",
        "| benchmark | model | n | technique (95% CI) | zero-shot (95% CI) "
        "| Δ (95% CI, paired) | McNemar p | status |",
        "|---|---|---:|---|---|---|---:|---|",
    ]
    for row in rows:
        if "status" not in row:
            lines.append(
                f"| {row['benchmark']} | {row['model']} | – | – | – | – | – | "
                f"error: {row['error']} |"
            )
            continue
        p = row.get("mcnemar_p")
        status = row["status"] + (f": {row['error']}" if row.get("error") else "")
        lines.append(
            f"| {row['benchmark']} | {row['model']} | {row['n']} "
            f"| {_interval(row['value'], row['ci_low'], row['ci_high'], False)} "
            f"| {_interval(*_triple(row, 'baseline'), False)} "
            f"| {_interval(row['delta'], row['delta_low'], row['delta_high'], True)} "
            f"| {'–' if p is None else f'{p:.3g}'} | {status} |"
        )
    lines += ["", "Intervals: Wilson (accuracies), Newcombe method 10 for paired proportions (Δ)."]
    return "\n".join(lines) + "\n"


def write_tables(paper_id: str, rows: list[dict[str, Any]], out: Path) -> tuple[Path, Path]:
    """Write ``out.md`` and ``out.json``; returns both paths."""
    out.parent.mkdir(parents=True, exist_ok=True)
    md, js = out.with_suffix(".md"), out.with_suffix(".json")
    md.write_text(markdown_table(paper_id, rows), encoding="utf-8")
    js.write_text(json.dumps({"paper_id": paper_id, "rows": rows}, indent=2), encoding="utf-8")
    return md, js
