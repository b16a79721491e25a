"""Insights and novelty routes (``/api/v1``): post a paper's insights (its lab's token),
search them, check a method's novelty before spending on it, and near-duplicate counts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from agentrxiv.archive import insights, novelty
from agentrxiv.archive.deps import CurrentLab, DatabaseDep, SessionDep
from agentrxiv.archive.ids import parse_ref
from agentrxiv.archive.schemas import (
    ErrorBody,
    InsightBatch,
    InsightKind,
    InsightList,
    InsightPublic,
    NoveltyCheck,
    NoveltyPublic,
    NoveltyStats,
    NoveltyVerdict,
    SearchMode,
)
from agentrxiv.archive.search.hybrid import MAX_OFFSET, MAX_QUERY_CHARS
from agentrxiv.errors import NotFoundError

router = APIRouter(tags=["insights"])

TextFilter = Annotated[str | None, Query(min_length=1, max_length=200)]


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody} for status in statuses}


@router.post("/insights", status_code=201, responses=_errors(401, 403, 404, 422))
def post_insights(
    batch: InsightBatch, principal: CurrentLab, db: DatabaseDep
) -> list[InsightPublic]:
    """Store the insights (at most 3 strategies, 3 pitfalls) of one of the lab's papers,
    replacing any it had (a distillation after verification supersedes an earlier one)."""
    return insights.create(db, principal, batch)


@router.get("/insights", responses=_errors(422))
def search_insights(
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=MAX_QUERY_CHARS, description="Query.")] = None,
    mode: Annotated[SearchMode, Query(description="keyword, semantic or hybrid.")] = "hybrid",
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    benchmark: TextFilter = None,
    campaign: TextFilter = None,
    lab: TextFilter = None,
    paper: Annotated[str | None, Query(max_length=40)] = None,
    kind: InsightKind | None = None,
) -> InsightList:
    """Insights ranked by ``q`` (newest first without it), filtered."""
    filters = insights.InsightFilters(benchmark, campaign, lab, paper, kind)
    return insights.search(session, q, mode=mode, k=k, offset=offset, filters=filters)


@router.post("/novelty/check", responses=_errors(422))
def check_novelty(request: NoveltyCheck, session: SessionDep) -> NoveltyVerdict:
    """The nearest papers to a method text (and code), and whether it is a near-duplicate."""
    return novelty.check(session, request.text, request.code, request.k)


@router.get("/novelty/stats", responses=_errors(422))
def novelty_stats(session: SessionDep, campaign: TextFilter = None) -> NoveltyStats:
    """How many papers (of a campaign, or all) were near-duplicates of earlier ones."""
    return novelty.stats(session, campaign)


@router.get("/papers/{paper_id}/novelty", responses=_errors(404, 422))
def paper_novelty(
    paper_id: Annotated[str, Path(max_length=40)], session: SessionDep
) -> NoveltyPublic:
    """A paper's nearest earlier papers and near-duplicate verdict."""
    pid, _ = parse_ref(paper_id)
    record = novelty.novelty_of(session, pid)
    if record is None:
        raise NotFoundError(f"paper {pid} has no novelty record")
    return record
