"""Leaderboard rules: which metric a board ranks, which result rows are entries, and each
entry's baseline.

- A result whose metric starts with ``baseline_`` (``baseline_accuracy``) is the baseline
  of the metric after the prefix, measured by the same paper on the same benchmark, model and
  split. Baselines are never ranked as entries and never get a board of their own; each entry
  shows its baseline and the difference Δ = value - baseline.
- A board ranks one metric. Without ``metric`` it ranks the benchmark's primary metric:
  ``accuracy`` when reported, else the first metric alphabetically. An unknown metric (or a
  baseline metric) is refused with the list of valid ones.
- ``model`` keeps only results measured with that model; ``min_n`` only results with at
  least that many problems (results without ``n`` are dropped by it).

Entries are ``schemas.LeaderboardEntry`` rows whose extra columns are optional, so other
parts (verification) annotate the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from agentrxiv.archive.rows import aware
from agentrxiv.archive.schemas import LeaderboardEntry, ResultPublic
from agentrxiv.archive.tables import Lab, Paper, PaperVersion, Result
from agentrxiv.errors import NotFoundError

BASELINE_PREFIX = "baseline_"
PRIMARY_METRIC = "accuracy"


def is_baseline(metric: str) -> bool:
    """Whether a result's metric names a baseline (``baseline_<metric>``)."""
    return metric.startswith(BASELINE_PREFIX)


def baseline_metric(metric: str) -> str:
    """The metric name a paper's baseline for ``metric`` is reported under."""
    return BASELINE_PREFIX + metric


def _live_results(benchmark: str) -> Select:
    """Results of latest, non-withdrawn versions on ``benchmark``."""
    return (
        select(Result)
        .join(PaperVersion, PaperVersion.id == Result.version_id)
        .join(Paper, Paper.id == PaperVersion.paper_id)
        .where(
            PaperVersion.is_latest.is_(True),
            Paper.withdrawn.is_(False),
            Result.benchmark == benchmark,
        )
    )


def board_metrics(session: Session, benchmark: str) -> list[str]:
    """The rankable (non-baseline) metrics reported on ``benchmark``, alphabetical."""
    query = _live_results(benchmark).with_only_columns(Result.metric).distinct()
    return sorted(m for m in session.scalars(query) if not is_baseline(m))


def board_models(session: Session, benchmark: str, metric: str) -> list[str]:
    """The models of the results on ``benchmark``/``metric`` (for the model filter)."""
    query = (
        _live_results(benchmark)
        .where(Result.metric == metric)
        .with_only_columns(Result.model)
        .distinct()
    )
    return sorted(m for m in session.scalars(query) if m)


def primary_metric(metrics: list[str]) -> str:
    """``accuracy`` when reported, else the first metric alphabetically ('' for none)."""
    if PRIMARY_METRIC in metrics:
        return PRIMARY_METRIC
    return metrics[0] if metrics else ""


def resolve_metric(session: Session, benchmark: str, metric: str | None) -> tuple[str, list[str]]:
    """(the metric to rank, every valid one); 404 for unknown benchmarks and metrics."""
    metrics = board_metrics(session, benchmark)
    if not metrics:
        raise NotFoundError(f"no results on benchmark {benchmark!r}")
    if metric is None or metric == "":
        return primary_metric(metrics), metrics
    if metric in metrics:
        return metric, metrics
    valid = ", ".join(metrics)
    if is_baseline(metric):
        raise NotFoundError(
            f"{metric!r} is a baseline, not a leaderboard metric; metrics on {benchmark}: {valid}"
        )
    raise NotFoundError(f"no results for metric {metric!r} on {benchmark}; metrics: {valid}")


def _entry_rows(
    session: Session, benchmark: str, metric: str, model: str | None, min_n: int | None
) -> list[tuple[Result, str, int, str, object, str, str | None]]:
    query = (
        select(Result, PaperVersion.paper_id, PaperVersion.version, PaperVersion.title)
        .add_columns(PaperVersion.created_at, Lab.name, PaperVersion.technique)
        .join(PaperVersion, Result.version_id == PaperVersion.id)
        .join(Paper, PaperVersion.paper_id == Paper.id)
        .join(Lab, Paper.lab_id == Lab.id)
        .where(
            PaperVersion.is_latest.is_(True),
            Paper.withdrawn.is_(False),
            Result.benchmark == benchmark,
            Result.metric == metric,
        )
    )
    if model:
        query = query.where(Result.model == model)
    if min_n is not None:
        query = query.where(Result.n >= min_n)
    return list(session.execute(query).tuples())


def _baselines(
    session: Session, benchmark: str, metric: str, version_ids: set[int]
) -> dict[tuple[int, str, str], Result]:
    """Baseline rows by (version id, model, split)."""
    if not version_ids:
        return {}
    rows = session.scalars(
        select(Result).where(
            Result.version_id.in_(version_ids),
            Result.benchmark == benchmark,
            Result.metric == baseline_metric(metric),
        )
    )
    return {(r.version_id, r.model, r.split): r for r in rows}


def best_entries(
    session: Session,
    benchmark: str,
    metric: str,
    model: str | None = None,
    min_n: int | None = None,
) -> list[LeaderboardEntry]:
    """Each paper's best result on ``benchmark``/``metric`` with its baseline, best first
    (newest first on ties)."""
    rows = _entry_rows(session, benchmark, metric, model, min_n)
    baselines = _baselines(session, benchmark, metric, {r.version_id for r, *_ in rows})
    best: dict[str, LeaderboardEntry] = {}
    for result, paper_id, version, title, created_at, lab, technique in rows:
        base = baselines.get((result.version_id, result.model, result.split))
        entry = LeaderboardEntry(
            paper_id=paper_id,
            version=version,
            title=title,
            lab=lab,
            metric=result.metric,
            value=result.value,
            n=result.n,
            model=result.model,
            split=result.split,
            created_at=aware(created_at),
            technique=technique or "",
            baseline_value=base.value if base else None,
            baseline_n=base.n if base else None,
            baseline_delta=result.value - base.value if base else None,
        )
        if paper_id not in best or entry.value > best[paper_id].value:
            best[paper_id] = entry
    return sorted(best.values(), key=lambda e: (-e.value, -e.created_at.timestamp(), e.paper_id))


@dataclass
class ResultRow:
    """One line of a paper page's results table: the technique's number and its baseline."""

    benchmark: str
    metric: str
    value: float | None
    n: int | None
    model: str
    split: str
    baseline_value: float | None = None
    baseline_n: int | None = None

    @property
    def delta(self) -> float | None:
        """Technique minus baseline, when both are reported."""
        if self.value is None or self.baseline_value is None:
            return None
        return self.value - self.baseline_value


def paired_results(results: list[ResultPublic]) -> list[ResultRow]:
    """A paper's results with each ``baseline_<metric>`` merged into its technique's row
    (same benchmark, metric, model and split); a baseline without one keeps its own row."""
    rows: dict[tuple[str, str, str, str], ResultRow] = {}
    for r in results:
        if not is_baseline(r.metric):
            key = (r.benchmark, r.metric, r.model, r.split)
            rows.setdefault(key, ResultRow(r.benchmark, r.metric, r.value, r.n, r.model, r.split))
    for r in results:
        if is_baseline(r.metric):
            metric = r.metric.removeprefix(BASELINE_PREFIX)
            key = (r.benchmark, metric, r.model, r.split)
            row = rows.setdefault(key, ResultRow(r.benchmark, metric, None, None, r.model, r.split))
            row.baseline_value, row.baseline_n = r.value, r.n
    return list(rows.values())
