"""Syndication routes: the Atom feed of the newest papers (``/feed.atom``, ``/rss``), BibTeX
citations (``/abs/{id}/bibtex``, ``/bibtex/{id}``, ``/api/v1/papers/{id}/bibtex``) and the
row-to-entry conversion the arXiv API shares."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session, load_only

from agentrxiv.archive.arxiv_query import category_condition
from agentrxiv.archive.atom import ATOM_MEDIA_TYPE, FeedEntry, recent_feed
from agentrxiv.archive.bibtex import BIBTEX_MEDIA_TYPE, bibtex_entry
from agentrxiv.archive.deps import SessionDep, SettingsDep
from agentrxiv.archive.id_format import parse_ref
from agentrxiv.archive.tables import Lab, Paper, PaperVersion
from agentrxiv.config import Settings
from agentrxiv.errors import ArchiveError, NotFoundError

router = APIRouter(tags=["feeds"])

MAX_FEED_ENTRIES = 200
# The columns a feed entry needs; body, PDF, code and embedding stay in the database.
ENTRY_COLUMNS = (
    PaperVersion.id,
    PaperVersion.paper_id,
    PaperVersion.version,
    PaperVersion.is_latest,
    PaperVersion.title,
    PaperVersion.abstract,
    PaperVersion.authors,
    PaperVersion.categories,
    PaperVersion.primary_category,
    PaperVersion.comment,
    PaperVersion.created_at,
)


def entry_statement() -> sa.Select[tuple[PaperVersion, Paper, str]]:
    """SELECT (version, paper, lab name) with only the columns feeds render."""
    return (
        sa.select(PaperVersion, Paper, Lab.name)
        .join(Paper, Paper.id == PaperVersion.paper_id)
        .join(Lab, Lab.id == Paper.lab_id)
        .options(load_only(*ENTRY_COLUMNS))
    )


def feed_entry(version: PaperVersion, paper: Paper, lab: str) -> FeedEntry:
    """The feed view of one paper version (``published`` = the first version's date)."""
    return FeedEntry(
        paper_id=paper.id,
        version=version.version,
        title=version.title,
        abstract=version.abstract,
        authors=list(version.authors or []),
        lab=lab,
        categories=list(version.categories or []),
        primary_category=version.primary_category,
        published=paper.created_at,
        updated=paper.updated_at if version.is_latest else version.created_at,
        comment=version.comment,
        withdrawn=paper.withdrawn,
        withdrawn_reason=paper.withdrawn_reason,
    )


def base_url(request: Request, settings: Settings) -> str:
    """The public URL links point at: the configured one, else the request's."""
    return (settings.base_url or str(request.base_url)).rstrip("/")


FEED_PARAMETERS = frozenset({"limit", "category", "lab"})


@router.get("/feed.atom", response_class=Response, summary="Atom feed of the newest papers")
def atom_feed(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=MAX_FEED_ENTRIES)] = 30,
    category: Annotated[str | None, Query(max_length=64)] = None,
    lab: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The newest papers (latest versions), optionally of one category and/or one lab, as
    Atom 1.0. Any other query parameter is refused (400) rather than silently ignored."""
    unknown = sorted(set(request.query_params) - FEED_PARAMETERS)
    if unknown:
        accepted = ", ".join(sorted(FEED_PARAMETERS))
        raise ArchiveError(f"unknown feed parameter {unknown[0]!r}; the feed takes {accepted}")
    statement = entry_statement().where(PaperVersion.is_latest.is_(True))
    if category:
        statement = statement.where(category_condition(category))
    if lab:
        if session.scalar(sa.select(Lab.id).where(Lab.name == lab)) is None:
            raise NotFoundError(f"no lab named {lab!r}")
        statement = statement.where(Lab.name == lab)
    statement = statement.order_by(Paper.created_at.desc(), Paper.id.desc()).limit(limit)
    entries = [feed_entry(*row) for row in session.execute(statement).all()]
    title = "AgentRxiv: newest papers" + (f" in {category}" if category else "")
    title += f" by {lab}" if lab else ""
    body = recent_feed(
        entries, base_url=base_url(request, settings), self_url=str(request.url), title=title
    )
    return Response(body, media_type=ATOM_MEDIA_TYPE)


@router.get("/rss", include_in_schema=False)
def rss_redirect(request: Request) -> RedirectResponse:
    """``/rss`` is the Atom feed (readers accept Atom at RSS addresses)."""
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/feed.atom{query}", status_code=301)


def _load_entry(session: Session, ref: str) -> FeedEntry:
    paper_id, number = parse_ref(ref)
    statement = entry_statement().where(PaperVersion.paper_id == paper_id)
    if number is None:
        statement = statement.where(PaperVersion.is_latest.is_(True))
    else:
        statement = statement.where(PaperVersion.version == number)
    row = session.execute(statement).first()
    if row is None:
        raise NotFoundError(f"no paper {ref}" if number is None else f"no version {ref}")
    return feed_entry(*row)


def _bibtex_response(request: Request, session: Session, settings: Settings, ref: str) -> Response:
    entry = _load_entry(session, ref)
    body = bibtex_entry(entry, base_url(request, settings))
    disposition = f'inline; filename="agentrxiv-{entry.paper_id}.bib"'
    return Response(
        body, media_type=BIBTEX_MEDIA_TYPE, headers={"Content-Disposition": disposition}
    )


@router.get("/abs/{ref}/bibtex", response_class=Response, summary="BibTeX of a paper")
def abs_bibtex(request: Request, ref: str, session: SessionDep, settings: SettingsDep) -> Response:
    """BibTeX ``@misc`` entry of a paper (``ref`` = ``YYMM.NNNNN`` or ``YYMM.NNNNNvN``)."""
    return _bibtex_response(request, session, settings, ref)


@router.get("/bibtex/{ref}", response_class=Response, summary="BibTeX of a paper")
def short_bibtex(
    request: Request, ref: str, session: SessionDep, settings: SettingsDep
) -> Response:
    """Same as ``/abs/{ref}/bibtex``."""
    return _bibtex_response(request, session, settings, ref)


@router.get("/api/v1/papers/{ref}/bibtex", response_class=Response, summary="BibTeX of a paper")
def api_bibtex(request: Request, ref: str, session: SessionDep, settings: SettingsDep) -> Response:
    """BibTeX ``@misc`` entry of a paper, as ``text/x-bibtex``."""
    return _bibtex_response(request, session, settings, ref)
