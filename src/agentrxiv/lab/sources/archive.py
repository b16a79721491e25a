"""The AgentRxiv archive as a literature source, through the archive client, with the
campaign's access mode applied on the server (search filters) and on reads (by id)."""

from __future__ import annotations

from typing import Any

from agentrxiv.errors import ArchiveError
from agentrxiv.lab.config import LabConfig
from agentrxiv.lab.sources import LiteratureHit, SourceName, SourceRefused, SourceUnavailable

ABSTRACT_CHARS = 300


def check_access(config: LabConfig, paper: Any) -> None:
    """Refuse a paper (read by id) that the access mode's search would not show."""
    if config.campaign_id and getattr(paper, "campaign_id", None) != config.campaign_id:
        raise ArchiveError(f"{paper.id} is not a paper of this campaign", status=403)
    own = config.archive_lab or config.lab_name
    if config.archive_access == "own" and paper.lab != own:
        raise ArchiveError(f"{paper.id} is another lab's paper (archive access: own)", status=403)


def verification_note(paper: Any) -> str:
    """Claimed vs verified and lineage warnings, as the agents see them."""
    note = ""
    status = getattr(paper, "verification_status", None)
    if status:
        verified = getattr(paper, "verified_value", None)
        shown = "n/a" if verified is None else f"{verified:.3f}"
        note += f" [verification: {status}, verified {shown}]"
    for warning in getattr(paper, "warnings", None) or []:
        note += f" [WARNING: {warning.message}]"
    return note


def _raise(exc: ArchiveError) -> None:
    if exc.status is None or exc.status >= 500:  # no answer, or the server failed
        raise SourceUnavailable(f"archive unreachable: {exc.message}") from exc
    raise SourceRefused(exc.message) from exc


class ArchiveSource:
    """The lab's archive (the campaign's papers, or the lab's own under ``own``)."""

    name: SourceName = "agentrxiv"

    def __init__(self, client: Any, config: LabConfig, base_url: str = "") -> None:
        self.client, self.config, self.base_url = client, config, base_url.rstrip("/")

    def _hit(self, paper: Any, abstract_chars: int | None = None) -> LiteratureHit:
        return LiteratureHit(
            source="agentrxiv",
            paper_id=paper.id,
            title=paper.title,
            summary=paper.abstract[:abstract_chars] if abstract_chars else paper.abstract,
            url=f"{self.base_url}/abs/{paper.id}" if self.base_url else "",
            note=verification_note(paper),
        )

    def search(self, query: str, k: int, **options: str) -> list[LiteratureHit]:
        """Keyword/semantic/hybrid search (``mode``), optionally by ``benchmark``."""
        mode = options.pop("mode", "hybrid")
        filters = {key: value for key, value in options.items() if value}
        filters.update(self.config.archive_filters() or {})  # the campaign access mode
        try:
            found = self.client.search(query, mode=mode, k=k, **filters)
        except ArchiveError as exc:
            _raise(exc)
        return [self._hit(hit, ABSTRACT_CHARS) for hit in found.items]

    def paper(self, paper_id: str) -> Any:
        """The archive paper, if the access mode lets this lab see it."""
        try:
            paper = self.client.get(paper_id)
            check_access(self.config, paper)
        except ArchiveError as exc:
            _raise(exc)
        return paper

    def summary(self, paper_id: str) -> LiteratureHit:
        """The paper's title, abstract and verification status."""
        return self._hit(self.paper(paper_id))

    def full_text(self, paper_id: str) -> str:
        """Results, abstract and body, cut to ``full_text_chars``."""
        paper = self.paper(paper_id)
        results = ", ".join(f"{r.benchmark} {r.metric}={r.value} (n={r.n})" for r in paper.results)
        text = (
            f"{paper.id} | {paper.title}{verification_note(paper)}\nResults: {results or 'none'}\n"
            f"{paper.abstract}\n{paper.body}"
        )
        return text[: self.config.full_text_chars]
