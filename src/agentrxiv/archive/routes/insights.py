"""Insights and novelty routes (``/api/v1``): post a paper's insights (its lab's token),
search them, check a method's novelty before spending on it, and near-duplicate counts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from agentrxiv.archive import insights, novelty
from agentrxiv.archive import scope as scopes
from agentrxiv.archive.deps import (
    CurrentLab,
    DatabaseDep,
    OptionalLab,
    SessionDep,
    SettingsDep,
    client_address,
)
from agentrxiv.archive.id_format import parse_ref
from agentrxiv.archive.idempotency import IdempotencyKey, run_once
from agentrxiv.archive.limits import WriteLimits
from agentrxiv.archive.owners import charge, charge_costly_read
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


@router.post("/insights", status_code=201, responses=_errors(401, 403, 404, 409, 422, 429))
def post_insights(
    batch: InsightBatch,
    principal: CurrentLab,
    db: DatabaseDep,
    settings: SettingsDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> list[InsightPublic]:
    """Store the insights (at most 3 strategies, 3 pitfalls) of one of the lab's papers,
    replacing any it had (a distillation after verification supersedes an earlier one).
    With an ``Idempotency-Key``, a retry returns the first result (200)."""

    def create() -> list[InsightPublic]:
        charge(db, principal, "insight", WriteLimits.from_settings(settings))
        return insights.create(db, principal, batch)

    return run_once(
        db,
        principal,
        "insights",
        idempotency_key,
        batch,
        response,
        create,
        lambda stored: [InsightPublic.model_validate(item) for item in stored],
        lambda created: [item.model_dump(mode="json") for item in created],
    )


@router.get("/insights", responses=_errors(422))
def search_insights(
    session: SessionDep,
    db: DatabaseDep,
    settings: SettingsDep,
    principal: OptionalLab,
    request: Request,
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
    """Insights ranked by ``q`` (newest first without it), filtered (a campaign lab's token:
    only insights of papers in its scope). A semantic or hybrid query embeds ``q``, so it
    counts against AGENTRXIV_COSTLY_READS_PER_MINUTE."""
    if q and mode != "keyword":
        limits = WriteLimits.from_settings(settings)
        charge_costly_read(db, principal, client_address(request), limits)
    narrowed = scopes.narrowed(scopes.scope_of(principal), campaign=campaign, lab=lab)
    filters = insights.InsightFilters(benchmark, narrowed["campaign"], narrowed["lab"], paper, kind)
    return insights.search(session, q, mode=mode, k=k, offset=offset, filters=filters)


@router.post("/novelty/check", responses=_errors(422, 429))
def check_novelty(
    check: NoveltyCheck,
    session: SessionDep,
    db: DatabaseDep,
    settings: SettingsDep,
    principal: OptionalLab,
    request: Request,
) -> NoveltyVerdict:
    """The nearest papers to a method text (and code), and whether it is a near-duplicate;
    a campaign lab's token compares only with papers in its scope. Each check computes an
    embedding, so it counts against AGENTRXIV_COSTLY_READS_PER_MINUTE."""
    limits = WriteLimits.from_settings(settings)
    charge_costly_read(db, principal, client_address(request), limits)
    scope = scopes.scope_of(principal)
    allowed = scopes.paper_ids_in(session, scope) if scope is not None else None
    return novelty.check(session, check.text, check.code, check.k, allowed)


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
