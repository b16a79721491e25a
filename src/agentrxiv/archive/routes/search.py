"""Search and aggregation routes: ``GET /api/v1/search`` and ``GET /api/v1/aggregate/{kind}``."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from agentrxiv.archive import scope as scopes
from agentrxiv.archive.deps import (
    DatabaseDep,
    OptionalLab,
    SessionDep,
    SettingsDep,
    client_address,
)
from agentrxiv.archive.hit_notes import annotate_hits
from agentrxiv.archive.limits import WriteLimits
from agentrxiv.archive.owners import charge_costly_read
from agentrxiv.archive.schemas import SearchMode, SearchResponse
from agentrxiv.archive.search.aggregate import Aggregation, aggregate
from agentrxiv.archive.search.filters import SearchFilters
from agentrxiv.archive.search.hybrid import MAX_OFFSET, MAX_QUERY_CHARS, search

router = APIRouter(tags=["search"])

TextFilter = Annotated[str | None, Query(min_length=1, max_length=200)]


@router.get("/search", response_model=SearchResponse, summary="Search papers")
def search_papers(
    session: SessionDep,
    settings: SettingsDep,
    db: DatabaseDep,
    principal: OptionalLab,
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="Query.")],
    mode: Annotated[SearchMode, Query(description="keyword, semantic or hybrid.")] = "hybrid",
    k: Annotated[int, Query(ge=1, le=100, description="Results per page.")] = 10,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Results to skip.")] = 0,
    category: TextFilter = None,
    lab: TextFilter = None,
    benchmark: TextFilter = None,
    date_from: Annotated[date | None, Query(description="First published on/after.")] = None,
    date_to: Annotated[date | None, Query(description="First published on/before.")] = None,
    min_value: Annotated[
        float | None, Query(allow_inf_nan=False, description="A result on benchmark >= this.")
    ] = None,
    campaign: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    min_score: Annotated[
        float | None,
        Query(
            ge=-1.0,
            le=1.0,
            description="Relevance floor (cosine) for semantic/hybrid; default the server's "
            "AGENTRXIV_SEARCH_MIN_SCORE; -1 turns it off.",
        ),
    ] = None,
) -> SearchResponse:
    """Latest, non-withdrawn papers ranked by keyword (BM25), meaning (cosine) or both (RRF).
    A campaign lab's token searches only its scope; semantic and hybrid searches count
    against AGENTRXIV_COSTLY_READS_PER_MINUTE (per owner, or per client without a token)."""
    if mode != "keyword":
        limits = WriteLimits.from_settings(settings)
        charge_costly_read(db, principal, client_address(request), limits)
    filters = SearchFilters(
        category=category,
        lab=lab,
        benchmark=benchmark,
        date_from=date_from,
        date_to=date_to,
        min_value=min_value,
        campaign=campaign,
    )
    filters = scopes.narrow_filters(filters, scopes.scope_of(principal))
    floor = settings.search_min_score if min_score is None else min_score
    found = search(session, q, mode=mode, k=k, offset=offset, filters=filters, min_score=floor)
    annotate_hits(session, found.items)  # claimed vs verified, near-duplicates' originals
    return found


@router.get("/aggregate/{kind}", response_model=Aggregation, summary="Aggregate the archive")
def aggregate_archive(
    session: SessionDep,
    principal: OptionalLab,
    kind: str,
    benchmark: TextFilter = None,
    metric: TextFilter = None,
) -> Aggregation:
    """best-per-benchmark, papers-per-lab, papers-per-category or results-over-time?benchmark=.
    A campaign lab's token aggregates only the papers in its scope."""
    where = scopes.conditions(scopes.scope_of(principal))
    return aggregate(session, kind, benchmark=benchmark, metric=metric, where=where)
