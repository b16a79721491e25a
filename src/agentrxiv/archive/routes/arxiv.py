"""The arXiv-compatible API: ``GET /api/query`` answering Atom exactly as
``export.arxiv.org/api/query`` does (so arXiv clients work by changing their base URL),
and ``GET /pdf/{id}[vN]`` serving stored PDFs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from agentrxiv.archive import reads
from agentrxiv.archive.arxiv_query import (
    ArxivQueryError,
    parse_paper_ref,
    parse_query,
    relevance,
    to_condition,
)
from agentrxiv.archive.atom import ATOM_MEDIA_TYPE, FeedEntry, error_feed, query_feed, query_feed_id
from agentrxiv.archive.deps import SessionDep, SettingsDep
from agentrxiv.archive.routes.feeds import base_url, entry_statement, feed_entry
from agentrxiv.archive.tables import Paper, PaperVersion

router = APIRouter(tags=["arxiv"])

DEFAULT_MAX_RESULTS = 10
# arXiv serves at most 2000 entries per call (clients page with ``start``); so do we.
MAX_RESULTS_PER_CALL = 2000
MAX_ID_LIST = 2000
MAX_START = 10**12
SORT_COLUMNS = {"lastUpdatedDate": Paper.updated_at, "submittedDate": Paper.created_at}
SORT_BY = ("relevance", *SORT_COLUMNS)
SORT_ORDERS = ("ascending", "descending")


@dataclass(frozen=True)
class ArxivRequest:
    """The validated parameters of one ``/api/query`` call."""

    search_query: str
    id_refs: list[tuple[str, int | None]]
    start: int
    max_results: int
    sort_by: str
    descending: bool


def _non_negative_int(name: str, raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ArxivQueryError(f"{name} must be an integer") from None
    if value < 0:
        raise ArxivQueryError(f"{name} must be non-negative")
    # Databases bind 64-bit integers; nothing pages that far anyway.
    return min(value, MAX_START)


def _id_refs(id_list: str) -> list[tuple[str, int | None]]:
    raw = [part.strip() for part in id_list.split(",") if part.strip()]
    if len(raw) > MAX_ID_LIST:
        raise ArxivQueryError(f"id_list has more than {MAX_ID_LIST} ids")
    return list(dict.fromkeys(parse_paper_ref(ref) for ref in raw))


def validate(
    search_query: str, id_list: str, start: str, max_results: str, sort_by: str, sort_order: str
) -> ArxivRequest:
    """Check the parameters the way arXiv does; raise ArxivQueryError with its messages."""
    if sort_by not in SORT_BY:
        raise ArxivQueryError(f"unknown sortBy {sort_by!r}: use one of {', '.join(SORT_BY)}")
    if sort_order not in SORT_ORDERS:
        raise ArxivQueryError(f"unknown sortOrder {sort_order!r}: use ascending or descending")
    return ArxivRequest(
        search_query=search_query.strip(),
        id_refs=_id_refs(id_list),
        start=_non_negative_int("start", start),
        max_results=min(_non_negative_int("max_results", max_results), MAX_RESULTS_PER_CALL),
        sort_by=sort_by,
        descending=sort_order == "descending",
    )


def _by_id_list(session: Session, req: ArxivRequest) -> tuple[int, list[FeedEntry]]:
    """Only ``id_list``: those papers (asked version or latest), in the list's order."""
    paper_ids = list(dict.fromkeys(pid for pid, _ in req.id_refs))
    latest = dict(
        session.execute(
            sa.select(Paper.id, Paper.latest_version).where(Paper.id.in_(paper_ids))
        ).all()
    )
    wanted = [(pid, number or latest[pid]) for pid, number in req.id_refs if pid in latest]
    statement = entry_statement().where(
        sa.tuple_(PaperVersion.paper_id, PaperVersion.version).in_(wanted)
    )
    found = {
        (v.paper_id, v.version): feed_entry(v, p, lab) for v, p, lab in session.execute(statement)
    }
    entries = [found[key] for key in dict.fromkeys(wanted) if key in found]
    if req.sort_by != "relevance":
        key = "updated" if req.sort_by == "lastUpdatedDate" else "published"
        entries.sort(key=lambda e: (getattr(e, key), e.paper_id), reverse=req.descending)
    return len(entries), entries[req.start : req.start + req.max_results]


def _order_by(req: ArxivRequest, score: sa.ColumnElement | None) -> list[sa.ColumnElement]:
    direction = sa.desc if req.descending else sa.asc
    if req.sort_by != "relevance":
        return [direction(SORT_COLUMNS[req.sort_by]), direction(Paper.id)]
    if score is None:  # no full-text terms (e.g. only cat:): newest first, like arXiv
        return [direction(Paper.created_at), direction(Paper.id)]
    return [direction(score), sa.desc(Paper.created_at), sa.desc(Paper.id)]


def _with_asked_versions(
    session: Session, req: ArxivRequest, entries: list[FeedEntry]
) -> list[FeedEntry]:
    """Swap in the versions ``id_list`` named explicitly (the query searched latest ones)."""
    asked = {pid: number for pid, number in req.id_refs if number is not None}
    swaps = [
        (e.paper_id, asked[e.paper_id])
        for e in entries
        if asked.get(e.paper_id, e.version) != e.version
    ]
    if not swaps:
        return entries
    statement = entry_statement().where(
        sa.tuple_(PaperVersion.paper_id, PaperVersion.version).in_(swaps)
    )
    found = {v.paper_id: feed_entry(v, p, lab) for v, p, lab in session.execute(statement)}
    return [found.get(e.paper_id, e) for e in entries]


def run_query(session: Session, req: ArxivRequest) -> tuple[int, list[FeedEntry]]:
    """(total matches, this page's entries) of a validated request."""
    if not req.search_query:
        return _by_id_list(session, req) if req.id_refs else (0, [])
    node = parse_query(req.search_query)
    dialect = session.get_bind().dialect.name
    condition = to_condition(node, dialect)
    # The latest version through the paper, not is_latest: SQLite would walk every latest
    # version by that index instead of reading the full-text matches (tables.py).
    statement = entry_statement().where(PaperVersion.version == Paper.latest_version, condition)
    if req.id_refs:
        statement = statement.where(Paper.id.in_({pid for pid, _ in req.id_refs}))
    count = sa.select(sa.func.count()).select_from(
        statement.with_only_columns(PaperVersion.id).order_by(None).subquery()
    )
    total = session.scalar(count) or 0
    ranking = relevance(node, dialect) if req.sort_by == "relevance" else None
    if ranking is not None and ranking.scores is not None:
        statement = statement.outerjoin(
            ranking.scores, ranking.scores.c.version_id == PaperVersion.id
        )
    score = ranking.score if ranking is not None else None
    page = statement.order_by(*_order_by(req, score)).offset(req.start).limit(req.max_results)
    entries = [feed_entry(*row) for row in session.execute(page).all()]
    return total, _with_asked_versions(session, req, entries)


def _feed_title(search_query: str, id_list: str, start: str, max_results: str) -> str:
    query = urlencode(
        {
            "search_query": search_query,
            "id_list": id_list,
            "start": start,
            "max_results": max_results,
        },
        safe=':,*[]"() ',
    )
    return f"AgentRxiv Query: {query}"


@router.get("/api/query", response_class=Response, summary="arXiv API (Atom 1.0)")
def arxiv_api_query(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    search_query: str = "",
    id_list: str = "",
    start: str = "0",
    max_results: str = str(DEFAULT_MAX_RESULTS),
    sort_by: Annotated[str, Query(alias="sortBy")] = "relevance",
    sort_order: Annotated[str, Query(alias="sortOrder")] = "descending",
) -> Response:
    """Search as ``export.arxiv.org/api/query`` does; errors are 400 with an error feed."""
    base = base_url(request, settings)
    title = _feed_title(search_query, id_list, start, max_results)
    feed_id = query_feed_id(base, title)
    common = {"base_url": base, "self_url": str(request.url), "title": title, "feed_id": feed_id}
    try:
        req = validate(search_query, id_list, start, max_results, sort_by, sort_order)
        total, entries = run_query(session, req)
    except ArxivQueryError as exc:
        return Response(
            error_feed(exc.message, **common), status_code=400, media_type=ATOM_MEDIA_TYPE
        )
    body = query_feed(entries, total=total, start=req.start, per_page=req.max_results, **common)
    return Response(body, media_type=ATOM_MEDIA_TYPE)


@router.get("/pdf/{ref}", response_class=Response, summary="The PDF of a paper version")
def paper_pdf(ref: str, session: SessionDep) -> Response:
    """The stored PDF of ``YYMM.NNNNN`` (latest version) or ``YYMM.NNNNNvN``; 404 if none."""
    ref = ref.removesuffix(".pdf")
    pdf = reads.get_pdf(session, ref)
    headers = {"Content-Disposition": f'inline; filename="{ref}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)
