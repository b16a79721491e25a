"""Aggregations over latest, non-withdrawn papers: best result per benchmark/metric, papers
per lab and per category, and best-so-far results per month on one benchmark.
Results are taken as higher-is-better (accuracy-style metrics)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.orm import Session

from agentrxiv.archive.rows import aware
from agentrxiv.archive.search.index import paper_categories
from agentrxiv.archive.tables import Lab, Paper, PaperVersion, Result
from agentrxiv.errors import ArchiveError, NotFoundError


class BenchmarkBest(BaseModel):
    """The best result on one benchmark/metric and the paper that reported it."""

    benchmark: str
    metric: str
    value: float
    n: int | None
    model: str
    paper_id: str
    version: int
    title: str
    lab: str
    created_at: datetime


class GroupCount(BaseModel):
    """How many papers a lab or category has."""

    key: str
    papers: int


class ProgressPoint(BaseModel):
    """One month of results on a benchmark: that month's best and the best so far."""

    month: str
    results: int
    best_in_month: float
    best_so_far: float
    best_paper_id: str


class Aggregation(BaseModel):
    """An aggregation's rows; ``benchmark``/``metric`` are set for results-over-time."""

    kind: str
    benchmark: str | None = None
    metric: str | None = None
    items: list[BenchmarkBest] | list[GroupCount] | list[ProgressPoint]


Where = Sequence[ColumnElement[bool]]  # extra conditions on Paper (a token's access scope)


def _live_results(*columns: object, where: Where = ()) -> Select[tuple[object, ...]]:
    """Results of latest, non-withdrawn versions, with their version, paper and lab."""
    return (
        select(*columns)
        .join(PaperVersion, PaperVersion.id == Result.version_id)
        .join(Paper, Paper.id == PaperVersion.paper_id)
        .join(Lab, Lab.id == Paper.lab_id)
        .where(PaperVersion.is_latest == true(), Paper.withdrawn == False, *where)  # noqa: E712
    )


def best_per_benchmark(session: Session, where: Where = ()) -> Aggregation:
    """The highest value per (benchmark, metric); ties go to the earliest paper."""
    best = (
        _live_results(
            Result.benchmark, Result.metric, func.max(Result.value).label("best"), where=where
        )
        .group_by(Result.benchmark, Result.metric)
        .subquery()
    )
    rows = session.execute(
        _live_results(
            Result.benchmark,
            Result.metric,
            Result.value,
            Result.n,
            Result.model,
            PaperVersion.paper_id,
            PaperVersion.version,
            PaperVersion.title,
            Lab.name,
            PaperVersion.created_at,
            where=where,
        )
        .join(
            best,
            (best.c.benchmark == Result.benchmark)
            & (best.c.metric == Result.metric)
            & (best.c.best == Result.value),
        )
        .order_by(Result.benchmark, Result.metric, PaperVersion.created_at, PaperVersion.id)
    ).all()
    items: dict[tuple[str, str], BenchmarkBest] = {}
    for bench, metric, value, n, model, pid, version, title, lab, created in rows:
        items.setdefault(
            (bench, metric),
            BenchmarkBest(
                benchmark=bench,
                metric=metric,
                value=value,
                n=n,
                model=model,
                paper_id=pid,
                version=version,
                title=title,
                lab=lab,
                created_at=aware(created),
            ),
        )
    return Aggregation(kind="best-per-benchmark", items=list(items.values()))


def papers_per_lab(session: Session, where: Where = ()) -> Aggregation:
    """Non-withdrawn papers per submitting lab, most first."""
    count = func.count(Paper.id)
    rows = session.execute(
        select(Lab.name, count)
        .join(Paper, Paper.lab_id == Lab.id)
        .where(Paper.withdrawn == False, *where)  # noqa: E712
        .group_by(Lab.name)
        .order_by(count.desc(), Lab.name)
    ).all()
    return Aggregation(kind="papers-per-lab", items=[GroupCount(key=n, papers=c) for n, c in rows])


def papers_per_category(session: Session, where: Where = ()) -> Aggregation:
    """Non-withdrawn papers per category (a paper counts once in each of its categories)."""
    count = func.count(paper_categories.c.version_id)
    rows = session.execute(
        select(paper_categories.c.category, count)
        .join(PaperVersion, PaperVersion.id == paper_categories.c.version_id)
        .join(Paper, Paper.id == PaperVersion.paper_id)
        .where(Paper.withdrawn == False, *where)  # noqa: E712
        .group_by(paper_categories.c.category)
        .order_by(count.desc(), paper_categories.c.category)
    ).all()
    return Aggregation(
        kind="papers-per-category", items=[GroupCount(key=c, papers=n) for c, n in rows]
    )


def _pick_metric(
    session: Session, benchmark: str, metric: str | None, where: Where = ()
) -> str | None:
    if metric:
        return metric
    metrics = sorted(
        session.scalars(
            _live_results(Result.metric, where=where)
            .where(Result.benchmark == benchmark)
            .distinct()
        )
    )
    if len(metrics) > 1:
        raise ArchiveError(
            f"benchmark {benchmark!r} has several metrics ({', '.join(metrics)}); pass metric",
            status=422,
        )
    return metrics[0] if metrics else None


def results_over_time(
    session: Session, benchmark: str, metric: str | None = None, where: Where = ()
) -> Aggregation:
    """Per month (of the version's publication): results, the month's best, best so far."""
    if not benchmark:
        raise ArchiveError("results-over-time needs benchmark", status=422)
    metric = _pick_metric(session, benchmark, metric, where)
    rows = session.execute(
        _live_results(Result.value, PaperVersion.paper_id, PaperVersion.created_at, where=where)
        .where(Result.benchmark == benchmark, Result.metric == metric)
        .order_by(PaperVersion.created_at, PaperVersion.id)
    ).all()
    points: list[ProgressPoint] = []
    best_so_far, best_paper = float("-inf"), ""
    for value, paper_id, created in rows:
        month = aware(created).strftime("%Y-%m")
        if value > best_so_far:
            best_so_far, best_paper = value, paper_id
        if points and points[-1].month == month:
            point = points[-1]
            point.results += 1
            point.best_in_month = max(point.best_in_month, value)
            point.best_so_far, point.best_paper_id = best_so_far, best_paper
        else:
            points.append(
                ProgressPoint(
                    month=month,
                    results=1,
                    best_in_month=value,
                    best_so_far=best_so_far,
                    best_paper_id=best_paper,
                )
            )
    return Aggregation(kind="results-over-time", benchmark=benchmark, metric=metric, items=points)


AGGREGATIONS: dict[str, Callable[[Session, Where], Aggregation]] = {
    "best-per-benchmark": best_per_benchmark,
    "papers-per-lab": papers_per_lab,
    "papers-per-category": papers_per_category,
}


def aggregate(
    session: Session,
    kind: str,
    benchmark: str | None = None,
    metric: str | None = None,
    where: Where = (),
) -> Aggregation:
    """Run the aggregation ``kind`` (over papers meeting ``where``); unknown kinds: 404."""
    if kind == "results-over-time":
        return results_over_time(session, benchmark or "", metric, where)
    if kind not in AGGREGATIONS:
        known = ", ".join([*AGGREGATIONS, "results-over-time"])
        raise NotFoundError(f"unknown aggregation {kind!r}; known: {known}")
    return AGGREGATIONS[kind](session, where)
