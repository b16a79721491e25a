"""arXiv (or any server speaking the arXiv API, e.g. another AgentRxiv server) as a
literature source, through the maintained ``arxiv`` client: queries and PDFs go through one
polite session (rate limit per endpoint, retries with backoff) and a local cache, so a
repeated run makes no request at all."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from agentrxiv.lab.config import LabConfig
from agentrxiv.lab.sources import LiteratureHit, SourceName, SourceRefused, SourceUnavailable
from agentrxiv.lab.sources.cache import CACHE_FILE, LiteratureCache, cache_key
from agentrxiv.lab.sources.fulltext import pdf_text, truncate_sections
from agentrxiv.lab.sources.polite import (
    PoliteSession,
    RateLimiter,
    RemoteStatusError,
    is_retryable,
    with_retries,
)
from agentrxiv.paths import home_dir

log = logging.getLogger(__name__)
ABSTRACT_CHARS = 300
MAX_QUERY_WORDS = 8
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "how",
        "in",
        "into",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "what",
        "which",
        "with",
        "does",
        "do",
        "can",
        "we",
        "our",
        "their",
        "its",
    ]
)
MAX_PDF_BYTES = 30 * 1024 * 1024
MAX_TEXT_CHARS = 400_000  # what the cache keeps of a paper's text (reads cut far below)
PDF_HOSTS = ("arxiv.org",)  # arXiv's API lists PDFs on arxiv.org, not the export host


def arxiv_query(text: str) -> str:
    """The agent's query in arXiv's query language: kept as written when it already uses
    field prefixes or operators, else its key words OR-ed (arXiv ANDs bare words, which
    finds nothing for a sentence-long topic) and ranked by relevance."""
    if re.search(r"\b(ti|au|abs|all|cat|id):|\b(AND|OR|ANDNOT)\b", text):
        return text
    words = [
        w for w in re.findall(r"[A-Za-z0-9][A-Za-z0-9\-]+", text) if w.lower() not in STOPWORDS
    ]
    unique = list(dict.fromkeys(w.lower() for w in words))[:MAX_QUERY_WORDS]
    return " OR ".join(f"all:{w}" for w in unique) or text


def short_id(entry_id: str) -> str:
    """``2401.00001`` (version dropped: references cite the latest) from an entry URL on
    arXiv or on another AgentRxiv server."""
    return re.sub(r"v\d+$", "", entry_id.rstrip("/").rsplit("/abs/", 1)[-1])


class ArxivSource:
    """An arXiv-API endpoint, read politely and through the cache."""

    name: SourceName = "arxiv"

    def __init__(
        self,
        config: LabConfig,
        home: Path | None = None,
        on_request: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.base_url = config.arxiv_base_url.rstrip("/")
        home = home or home_dir()
        self.cache = LiteratureCache(home / CACHE_FILE, config.literature_cache_days)
        limiter = RateLimiter(home / "rate-limits", config.arxiv_min_interval_s)
        self.session = PoliteSession(limiter, config.arxiv_timeout_s, on_request)
        self.known: dict[str, LiteratureHit] = {}  # what searches returned, by id

    @property
    def requests_made(self) -> int:
        """Requests sent to the endpoint by this source (cache hits send none)."""
        return self.session.requests_made

    def _client(self, page_size: int) -> Any:
        import arxiv

        # Retries and the delay are ours (backoff, and a limit shared across processes).
        client = arxiv.Client(page_size=page_size, delay_seconds=0, num_retries=0)
        client.query_url_format = f"{self.base_url}/api/query?{{}}"
        client._session = self.session  # the client's only HTTP seam
        return client

    def _fetch(self, search: Any, k: int) -> list[LiteratureHit]:
        def call() -> list[Any]:
            return list(self._client(max(1, k)).results(search))

        try:
            results = with_retries(call, self.config.arxiv_max_retries, self.config.arxiv_backoff_s)
        except Exception as exc:  # noqa: BLE001 - a refusal, or else the source is unreachable
            if not is_retryable(exc) and getattr(exc, "status", 0):  # 4xx: the query is bad
                raise SourceRefused(f"arXiv refused the query: {_reason(exc)}") from exc
            raise SourceUnavailable(
                f"arXiv source {self.base_url} unreachable: {_reason(exc)}"
            ) from exc
        return [
            LiteratureHit(
                source="arxiv",
                paper_id=short_id(r.entry_id),
                title=" ".join(r.title.split()),
                summary=" ".join(r.summary.split()),
                url=r.entry_id,
                pdf_url=r.pdf_url or "",
            )
            for r in results
        ]

    def _cached_hits(self, key: str, kind: str, fetch: Any) -> list[LiteratureHit]:
        cached = self.cache.get(key)
        if cached is not None:
            hits = [LiteratureHit.model_validate(h) for h in cached]
        else:
            hits = fetch()
            self.cache.put(key, kind, [h.model_dump() for h in hits])
        for hit in hits:
            self.known[hit.paper_id] = hit
        return hits

    def search(self, query: str, k: int, **options: str) -> list[LiteratureHit]:
        """Up to ``k`` papers by relevance."""
        import arxiv

        expr = arxiv_query(query)
        key = cache_key(self.base_url, "search", expr, str(k))
        search = arxiv.Search(query=expr, max_results=k, sort_by=arxiv.SortCriterion.Relevance)
        hits = self._cached_hits(key, "search", lambda: self._fetch(search, k))
        return [h.model_copy(update={"summary": h.summary[:ABSTRACT_CHARS]}) for h in hits]

    def summary(self, paper_id: str) -> LiteratureHit:
        """Title, abstract and links (from an earlier search, else one id query)."""
        import arxiv

        if paper_id not in self.known:
            key = cache_key(self.base_url, "id", paper_id)
            search = arxiv.Search(id_list=[paper_id], max_results=1)
            self._cached_hits(key, "id", lambda: self._fetch(search, 1))
        if paper_id not in self.known:
            raise SourceRefused(f"arXiv has no paper {paper_id}")
        return self.known[paper_id]

    def pdf_url_allowed(self, url: str) -> bool:
        """Only http(s) PDFs on the endpoint's own host or arXiv's: a feed cannot send the
        lab to fetch from anywhere else (an internal address, a file)."""
        parts, own = urlsplit(url), urlsplit(self.base_url).hostname or ""
        host = parts.hostname or ""
        on_arxiv = any(host == h or host.endswith("." + h) for h in PDF_HOSTS)
        return parts.scheme in ("http", "https") and (host == own or on_arxiv)

    def _download(self, url: str) -> bytes:
        def call() -> bytes:
            with self.session.get(url, stream=True) as response:
                if response.status_code != 200:
                    raise RemoteStatusError(url, response.status_code)
                data = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    data += chunk
                    if len(data) > MAX_PDF_BYTES:
                        raise SourceRefused(f"the PDF at {url} is over {MAX_PDF_BYTES} bytes")
                return bytes(data)

        try:
            return with_retries(call, self.config.arxiv_max_retries, self.config.arxiv_backoff_s)
        except RemoteStatusError as exc:
            if exc.status < 500 and exc.status != 429:
                raise SourceRefused(f"no PDF for this paper ({exc})") from exc
            raise SourceUnavailable(f"arXiv PDF unreachable: {exc}") from exc
        except requests.RequestException as exc:
            raise SourceUnavailable(f"arXiv PDF unreachable: {_reason(exc)}") from exc

    def full_text(self, paper_id: str) -> str:
        """The PDF's text, the sections that matter kept within ``full_text_chars``."""
        hit = self.summary(paper_id)
        if not hit.pdf_url:
            raise SourceRefused(f"arXiv lists no PDF for {paper_id}")
        if not self.pdf_url_allowed(hit.pdf_url):
            raise SourceRefused(
                f"refusing the PDF link {hit.pdf_url[:200]} (not on {self.base_url})"
            )
        key = cache_key("pdf-text", hit.pdf_url)
        text = self.cache.get(key)
        if text is None:
            try:
                text = pdf_text(self._download(hit.pdf_url))[:MAX_TEXT_CHARS]
            except (SourceRefused, SourceUnavailable):
                raise
            except Exception as exc:  # noqa: BLE001 - a broken PDF is the paper's problem
                raise SourceRefused(f"the PDF of {paper_id} has no readable text ({exc})") from exc
            self.cache.put(key, "pdf-text", text)
        return truncate_sections(text, self.config.full_text_chars)


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
