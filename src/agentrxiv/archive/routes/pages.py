"""The human-facing web pages: recent papers, paper pages, search, leaderboards and labs.

Pages are rendered on the server with Jinja2 (autoescape on); paper bodies go through
``agentrxiv.archive.render`` (Markdown, MathML, nh3). Every HTML response carries a strict
Content-Security-Policy without any script source: the site needs no JavaScript, so even a
sanitiser bug cannot run agent-written script.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agentrxiv.archive import reads
from agentrxiv.archive.accumulation import technique_lineage
from agentrxiv.archive.attachments import files_url
from agentrxiv.archive.deps import SessionDep, SettingsDep
from agentrxiv.archive.hit_notes import annotate_hits
from agentrxiv.archive.insights import of_paper
from agentrxiv.archive.leaderboards import (
    BASELINE_PREFIX,
    paired_results,
    primary_metric,
    resolve_metric,
)
from agentrxiv.archive.lineage import paper_lineage
from agentrxiv.archive.render import leaderboard_chart_svg, render_markdown
from agentrxiv.archive.schemas import LeaderboardEntry, PaperPublic, SearchHit
from agentrxiv.archive.search import SearchFilters, search
from agentrxiv.archive.search.filters import filtered_versions_query
from agentrxiv.archive.search.hybrid import summaries
from agentrxiv.archive.tables import Lab, Paper, PaperVersion, Result
from agentrxiv.errors import ArchiveError, NotFoundError

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

PACKAGE_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = PACKAGE_DIR / "static"
STATIC_FILES = frozenset(p.name for p in STATIC_DIR.iterdir() if p.is_file())
PAGE_SIZE = 25
LEADERBOARD_LIMIT = 200
SEARCH_MODES = ("hybrid", "keyword", "semantic")
SEARCH_SETTINGS = frozenset({"mode", "min_score"})  # fields that alone do not start a search

# No script source at all; images only from this site (agent Markdown may reference
# remote images, which the browser then refuses to fetch).
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# matplotlib's SVG carries an inline <style>; loaded through <img>, SVG never runs scripts.
SVG_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def _format_date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def _format_datetime(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _format_number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.3e}"


def _urlencode_params(params: dict[str, Any], **overrides: Any) -> str:
    merged = {k: v for k, v in {**params, **overrides}.items() if v not in (None, "")}
    return urlencode(merged)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(PACKAGE_DIR / "templates"), autoescape=True, auto_reload=False
    )
    env.filters.update(
        date=_format_date,
        datetime=_format_datetime,
        num=_format_number,
        urlencode_params=_urlencode_params,
    )
    return env


TEMPLATES = _environment()


def render_page(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A rendered template as an HTML response with the security headers."""
    body = TEMPLATES.get_template(template).render(**context)
    return HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)


ERROR_HEADINGS = {
    400: "Bad request",
    404: "Not found",
    405: "Method not allowed",
    413: "Too large",
    422: "Invalid request",
}


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    """The HTML error page the app shows browsers for errors outside ``/api/``."""
    heading = ERROR_HEADINGS.get(status, "Something went wrong")
    return render_page("error.html", status, status=status, heading=heading, message=message)


def not_found_page(message: str) -> HTMLResponse:
    """The HTML 404 page."""
    return render_page("error.html", 404, status=404, heading="Not found", message=message)


# ---------------------------------------------------------------------------- queries
# Papers, lineage, reviews and leaderboards come from ``reads`` and ``lineage``; the few view-only
# queries below (version dates, benchmark overview, metrics) have no API counterpart.


def version_dates(session: Session, paper_id: str) -> list[Any]:
    """``(version, created_at)`` of every version of a paper, oldest first."""
    return list(
        session.execute(
            select(PaperVersion.version, PaperVersion.created_at)
            .where(PaperVersion.paper_id == paper_id)
            .order_by(PaperVersion.version)
        ).all()
    )


def models_of(paper: PaperPublic) -> list[str]:
    """Models named by the authors or the results, in first-seen order."""
    names = [m for author in paper.authors for m in author.models]
    names += [r.model for r in paper.results if r.model]
    return list(dict.fromkeys(names))


def paper_context(session: Session, ref: str) -> dict[str, Any]:
    """Everything the paper page shows; raises ``NotFoundError`` for unknown ids/versions."""
    paper = reads.get_paper(session, ref)
    lineage = paper_lineage(session, paper.id)
    parents = set(paper.parents)
    return {
        "p": paper,
        # noqa: S704 - sanitised by nh3; relative images resolve to this version's files
        "body_html": Markup(render_markdown(paper.body, files_url(paper.id, paper.version, ""))),
        "models": models_of(paper),
        "latest_version": max(paper.versions),
        "versions": version_dates(session, paper.id),
        # This version's own parents first, then the papers further up the lineage.
        "ancestors": sorted(lineage.ancestors, key=lambda n: (n.id not in parents, n.depth)),
        "descendants": lineage.descendants,
        # This version's reviews only; each names the lab that posted it.
        "reviews": reads.list_reviews(session, paper.id, paper.version),
        "result_rows": paired_results(paper.results),
        "insights": paper_insights(session, paper.id),
        "technique_lineage": technique_lineage(session, paper),
    }


def paper_insights(session: Session, paper_id: str) -> list[Any]:
    """The insights distilled from a paper (escaped by the template like any agent text)."""
    return of_paper(session, paper_id)


def benchmark_overview(session: Session) -> list[dict[str, Any]]:
    """One row per benchmark: its metrics, paper and result counts, best value."""
    query = (
        select(
            Result.benchmark,
            Result.metric,
            func.count(func.distinct(PaperVersion.paper_id)),
            func.count(Result.id),
            func.max(Result.value),
        )
        .join(PaperVersion, PaperVersion.id == Result.version_id)
        .join(Paper, Paper.id == PaperVersion.paper_id)
        .where(PaperVersion.is_latest.is_(True), Paper.withdrawn.is_(False))
        .where(~Result.metric.startswith(BASELINE_PREFIX, autoescape=True))  # not entries
        .group_by(Result.benchmark, Result.metric)
        .order_by(Result.benchmark, Result.metric)
    )
    boards: dict[str, dict[str, Any]] = {}
    for benchmark, metric, papers, results, best in session.execute(query):
        board = boards.setdefault(
            benchmark,
            {"benchmark": benchmark, "metrics": [], "papers": 0, "results": 0, "best": None},
        )
        board["metrics"].append(metric)
        board["papers"] = max(board["papers"], papers)
        board["results"] += results
        if primary_metric(board["metrics"]) == metric:  # the metric the board ranks
            board["best"] = best
    return list(boards.values())


def metrics_of(session: Session, benchmark: str) -> list[str]:
    """The metrics reported on ``benchmark`` (alphabetical)."""
    query = (
        select(Result.metric)
        .join(PaperVersion, PaperVersion.id == Result.version_id)
        .join(Paper, Paper.id == PaperVersion.paper_id)
        .where(PaperVersion.is_latest.is_(True), Paper.withdrawn.is_(False))
        .where(Result.benchmark == benchmark)
        .distinct()
        .order_by(Result.metric)
    )
    return list(session.scalars(query))


# ---------------------------------------------------------------------------- routes


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    """The stylesheet (only files shipped in the package's ``static`` folder)."""
    if name not in STATIC_FILES:
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(STATIC_DIR / name, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/", response_class=HTMLResponse)
def home(session: SessionDep, offset: int = Query(0, ge=0, le=10_000_000)) -> HTMLResponse:
    """Recent papers, newest first, a page at a time."""
    page = reads.list_papers(session, offset=offset, limit=PAGE_SIZE)
    return render_page(
        "index.html", items=page.items, total=page.total, offset=offset, limit=PAGE_SIZE
    )


@router.get("/abs/{paper_ref}", response_class=HTMLResponse)
def paper_page(paper_ref: str, session: SessionDep) -> HTMLResponse:
    """A paper: ``/abs/YYMM.NNNNN`` (latest version) or ``/abs/YYMM.NNNNNvN``."""
    try:
        context = paper_context(session, paper_ref)
    except NotFoundError as exc:
        return not_found_page(exc.message)
    return render_page("paper.html", **context)


# ``:path``: names stored before lab names were limited to URL-safe characters may hold '/'.
@router.get("/labs/{name:path}", response_class=HTMLResponse)
def lab_page(
    name: str, session: SessionDep, offset: int = Query(0, ge=0, le=10_000_000)
) -> HTMLResponse:
    """Papers of one lab."""
    if session.scalar(select(Lab.id).where(Lab.name == name)) is None:
        return not_found_page(f"No lab named '{name}'.")
    page = reads.list_papers(session, offset=offset, limit=PAGE_SIZE, lab=name)
    return render_page(
        "lab.html", lab=name, items=page.items, total=page.total, offset=offset, limit=PAGE_SIZE
    )


@router.get("/leaderboard", response_class=HTMLResponse)
def leaderboards(session: SessionDep) -> HTMLResponse:
    """Every benchmark that papers report results on."""
    return render_page("leaderboards.html", boards=benchmark_overview(session))


LeaderboardFilters = tuple[str | None, int | None]  # (model, min_n)


def leaderboard_entries(
    session: Session, benchmark: str, metric: str, filters: LeaderboardFilters = (None, None)
) -> list[LeaderboardEntry]:
    """Each paper's best result on ``benchmark``/``metric``, best first."""
    model, min_n = filters
    board = reads.leaderboard(
        session, benchmark, metric, limit=LEADERBOARD_LIMIT, model=model, min_n=min_n
    )
    return board.entries


ModelQuery = Query("", max_length=200)
MinNQuery = Query(None, ge=0, le=2**31 - 1)


@router.get("/leaderboard/{benchmark:path}/chart.svg")
def leaderboard_chart(
    benchmark: str,
    session: SessionDep,
    metric: str | None = Query(None, max_length=100),
    model: str = ModelQuery,
    min_n: int | None = MinNQuery,
) -> Response:
    """The best result over time on a benchmark, as an SVG image."""
    try:
        chosen, _ = resolve_metric(session, benchmark, metric)
    except NotFoundError as exc:
        return Response(exc.message, status_code=404, media_type="text/plain")
    entries = leaderboard_entries(session, benchmark, chosen, (model or None, min_n))
    if not entries:
        return Response("no results", status_code=404, media_type="text/plain")
    points = tuple((e.created_at, e.value) for e in entries)
    svg = leaderboard_chart_svg(benchmark, chosen, points)
    return Response(svg, media_type="image/svg+xml", headers=SVG_HEADERS)


@router.get("/leaderboard/{benchmark:path}", response_class=HTMLResponse)
def leaderboard_page(
    benchmark: str,
    session: SessionDep,
    metric: str | None = Query(None, max_length=100),
    model: str = ModelQuery,
    min_n: int | None = MinNQuery,
) -> HTMLResponse:
    """A benchmark's table (best result per paper, with its baseline and Δ) and its chart,
    filtered by model and minimum n."""
    try:
        board = reads.leaderboard(
            session, benchmark, metric, LEADERBOARD_LIMIT, model=model or None, min_n=min_n
        )
    except NotFoundError as exc:
        return not_found_page(exc.message)
    filters = {"metric": board.metric, "model": model, "min_n": min_n}
    return render_page(
        "leaderboard.html",
        benchmark=benchmark,
        metrics=board.metrics,
        metric=board.metric,
        models=board.models,
        model=model,
        min_n=min_n,
        chart_params=filters,
        entries=board.entries,
    )


@dataclass
class SearchForm:
    """The search page's fields, echoed back into the form."""

    q: str = ""
    mode: str = "hybrid"
    category: str = ""
    lab: str = ""
    benchmark: str = ""
    date_from: str = ""
    date_to: str = ""
    min_score: str = ""

    def params(self) -> dict[str, str]:
        """The non-empty fields as query parameters (for paging links)."""
        return {k: v for k, v in self.__dict__.items() if v}


def _parse_date(text: str, label: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ArchiveError(f"{label} must be a date like 2025-01-31, not '{text}'") from exc


def _parse_floor(text: str, default: float) -> float:
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not -1.0 <= value <= 1.0:
        raise ArchiveError(f"Min. similarity must be a number from -1 to 1, not '{text}'")
    return value


def run_search(
    session: Session, form: SearchForm, offset: int, limit: int, floor: float | None = None
) -> tuple[int, list[SearchHit]]:
    """Search with the form's query and filters; the total that matched and one page.
    ``floor``: the relevance floor of semantic and hybrid search (None: none)."""
    filters = SearchFilters(
        category=form.category or None,
        lab=form.lab or None,
        benchmark=form.benchmark or None,
        date_from=_parse_date(form.date_from, "From"),
        date_to=_parse_date(form.date_to, "To"),
    )
    if not form.q:
        total, items = browse(session, filters, offset, limit)
    else:
        found = search(
            session,
            form.q,
            mode=form.mode,
            k=limit,
            offset=offset,
            filters=filters,
            min_score=floor,
        )
        total, items = found.total, found.items
    return total, annotate_hits(session, items)


def browse(
    session: Session, filters: SearchFilters, offset: int, limit: int
) -> tuple[int, list[SearchHit]]:
    """Papers passing ``filters`` without a query, newest first."""
    newest_first = filtered_versions_query(filters).order_by(
        Paper.created_at.desc(), Paper.id.desc()
    )
    version_ids = list(session.scalars(newest_first))
    page = summaries(session, [(vid, 0.0) for vid in version_ids[offset : offset + limit]])
    return len(version_ids), [hit.model_copy(update={"score": None}) for hit in page]


@router.get("/search", response_class=HTMLResponse)
def search_page(
    session: SessionDep,
    settings: SettingsDep,
    q: str = Query("", max_length=1000),
    mode: str = Query("hybrid", max_length=20),
    category: str = Query("", max_length=64),
    lab: str = Query("", max_length=200),
    benchmark: str = Query("", max_length=100),
    date_from: str = Query("", max_length=10),
    date_to: str = Query("", max_length=10),
    offset: int = Query(0, ge=0, le=10_000),
    min_score: str = Query("", max_length=20),
) -> HTMLResponse:
    """The search form and, once something is asked, its results; semantic and hybrid
    results below the relevance floor are dropped, and an empty result says so."""
    form = SearchForm(q.strip(), mode, category.strip(), lab.strip(), benchmark.strip())
    form.date_from, form.date_to, form.min_score = date_from, date_to, min_score.strip()
    context: dict[str, Any] = {"f": form, "modes": SEARCH_MODES, "params": form.params()}
    context.update(searched=False, error=None, items=[], total=0, offset=offset, limit=PAGE_SIZE)
    context.update(floor=None, default_floor=settings.search_min_score)
    if not any(value for key, value in form.params().items() if key not in SEARCH_SETTINGS):
        return render_page("search.html", **context)
    try:
        if form.mode not in SEARCH_MODES:
            raise ArchiveError(f"mode must be one of {', '.join(SEARCH_MODES)}")
        floor = _parse_floor(form.min_score, settings.search_min_score)
        floor = floor if form.q and form.mode != "keyword" else None
        context["floor"] = floor
        total, items = run_search(session, form, offset, PAGE_SIZE, floor)
    except ArchiveError as exc:
        context["error"] = exc.message
        return render_page("search.html", exc.status, **context)
    context.update(searched=True, total=total, items=items)
    return render_page("search.html", **context)
