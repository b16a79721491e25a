"""Literature sources the lab reads: the AgentRxiv archive (with the campaign's access mode
applied) and any arXiv-API endpoint (arXiv itself, or another AgentRxiv server), behind one
interface: search, a paper's summary, its full text.

Remote sources are polite (rate limit per endpoint across processes, retries with backoff)
and cached under ``$AGENTRXIV_HOME``; an unreachable source raises ``SourceUnavailable`` and
the literature phase continues with what it has.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel

from agentrxiv.errors import AgentrxivError

SourceName = Literal["agentrxiv", "arxiv"]
SOURCE_NAMES: tuple[SourceName, ...] = ("agentrxiv", "arxiv")


class SourceUnavailable(AgentrxivError):
    """The source could not be reached (network down, rate-limited past the retries)."""


class SourceRefused(AgentrxivError):
    """The source answered but refused (unknown id, a paper outside the access mode)."""


class LiteratureHit(BaseModel):
    """One paper as a source shows it."""

    source: SourceName
    paper_id: str
    title: str
    summary: str = ""
    url: str = ""
    pdf_url: str = ""
    note: str = ""  # verification status and lineage warnings (archive)

    @property
    def key(self) -> str:
        """``source:id``: archive and arXiv ids share a format, so the source disambiguates."""
        return f"{self.source}:{self.paper_id}"


class LiteratureSource(Protocol):
    """What the literature phase asks of a source."""

    name: SourceName

    def search(self, query: str, k: int, **options: str) -> list[LiteratureHit]:
        """Up to ``k`` papers for ``query``."""

    def summary(self, paper_id: str) -> LiteratureHit:
        """Title, abstract and links of one paper."""

    def full_text(self, paper_id: str) -> str:
        """The paper's text, cut to the configured budget."""
