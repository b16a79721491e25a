"""Phase 1, literature review: the PhD agent searches the archive (keyword, semantic, hybrid,
filters, aggregates), reads papers and adds the ones it builds on, with notes."""

from __future__ import annotations

import json
import logging
from typing import Any

from agentrxiv.errors import ArchiveError
from agentrxiv.lab import insights
from agentrxiv.lab.actions import (
    AddPaper,
    AggregateArchive,
    FinishReview,
    LiteratureCommand,
    ReadPaper,
    SearchArchive,
)
from agentrxiv.lab.checkpoint import AddedPaper, LabState, LiteratureState
from agentrxiv.lab.config import LabConfig
from agentrxiv.lab.runtime import LabRuntime
from agentrxiv.llm.errors import StructuredOutputError

log = logging.getLogger(__name__)
READ_CHARS = 4_000
ABSTRACT_CHARS = 300


def reset(state: LabState) -> None:
    """Forget the literature review."""
    state.literature = LiteratureState()


def artifact(state: LabState) -> str:
    """The papers added, with notes."""
    lit = state.literature
    if lit.skipped_reason:
        return f"Literature review skipped: {lit.skipped_reason}"
    lines = [f"- {p.paper_id} {p.title}: {p.notes}" for p in lit.papers]
    return "\n".join(lines) or "No papers added."


def describe(state: LabState) -> str:
    """The added papers for other agents' prompts."""
    papers = state.literature.papers
    if not papers:
        return "(none)"
    return "\n".join(
        f"- [{p.paper_id}] {p.title}: {p.summary[:200]} Notes: {p.notes}" for p in papers
    )


def access_filters(config: LabConfig) -> dict[str, str]:
    """Search filters enforcing the campaign's archive access mode on the server."""
    filters: dict[str, str] = {}
    if config.campaign_id:
        filters["campaign"] = config.campaign_id
    if config.archive_access == "own":
        filters["lab"] = config.archive_lab or config.lab_name
    return filters


def _check_access(rt: LabRuntime, paper: Any) -> None:
    """Refuse reading a paper (by id) that the access mode's search would not show."""
    config = rt.config
    if config.campaign_id and getattr(paper, "campaign_id", None) != config.campaign_id:
        raise ArchiveError(f"{paper.id} is not a paper of this campaign", status=403)
    own = config.archive_lab or config.lab_name
    if config.archive_access == "own" and paper.lab != own:
        raise ArchiveError(f"{paper.id} is another lab's paper (archive access: own)", status=403)


def _search(rt: LabRuntime, query: str, mode: str, benchmark: str | None) -> str:
    filters = {"benchmark": benchmark} if benchmark else {}
    filters.update(access_filters(rt.config))
    found = rt.archive.search(query, mode=mode, k=rt.config.papers_to_retrieve, **filters)
    if not found.items:
        return f"search {query!r} ({mode}): no papers."
    lines = [f"search {query!r} ({mode}), {found.total} matched:"]
    for hit in found.items:
        rt.state.literature.seen[hit.id] = hit.title
        note = verification_note(hit)
        lines.append(f"- {hit.id} | {hit.title}{note} | {hit.abstract[:ABSTRACT_CHARS]}")
    return "\n".join(lines)


def _aggregate(rt: LabRuntime, kind: str) -> str:
    if rt.config.campaign_id and rt.config.archive_access != "shared":
        return f"aggregate {kind}: not available (archive access: {rt.config.archive_access})."
    data = rt.archive.aggregate(kind)
    payload = data.model_dump(mode="json") if hasattr(data, "model_dump") else data
    return f"aggregate {kind}: {json.dumps(payload)[:READ_CHARS]}"


def _read(rt: LabRuntime, paper_id: str) -> str:
    paper = rt.archive.get(paper_id)
    _check_access(rt, paper)
    rt.state.literature.seen[paper.id] = paper.title
    results = ", ".join(f"{r.benchmark} {r.metric}={r.value} (n={r.n})" for r in paper.results)
    text = (
        f"{paper.id} | {paper.title}{verification_note(paper)}\nResults: {results or 'none'}\n"
        f"{paper.abstract}\n{paper.body}"
    )
    return text[:READ_CHARS]


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


def _add(rt: LabRuntime, action: AddPaper) -> str:
    lit = rt.state.literature
    if any(p.paper_id == action.paper_id for p in lit.papers):
        return f"{action.paper_id} is already in the review."
    paper = rt.archive.get(action.paper_id)
    _check_access(rt, paper)
    lit.papers.append(
        AddedPaper(
            paper_id=paper.id,
            title=paper.title,
            summary=(verification_note(paper).strip() + " " + paper.abstract).strip()[:500],
            notes=action.notes,
        )
    )
    return f"added {paper.id} ({len(lit.papers)} of {rt.config.papers_to_review})."


def execute(rt: LabRuntime, command: LiteratureCommand) -> str:
    """Carry out one command and return what the agent observes."""
    action = command.action
    try:
        if isinstance(action, SearchArchive):
            return _search(rt, action.query, action.mode, action.benchmark)
        if isinstance(action, AggregateArchive):
            return _aggregate(rt, action.kind)
        if isinstance(action, ReadPaper):
            return _read(rt, action.paper_id)
        if isinstance(action, AddPaper):
            return _add(rt, action)
    except ArchiveError as exc:
        return f"archive error: {exc.message}"
    assert isinstance(action, FinishReview)
    rt.state.literature.done = True
    return "finished."


def arxiv_overview(topic: str, k: int) -> str:
    """arXiv results for the topic, or why arXiv was skipped (no network, no package)."""
    try:
        import arxiv

        search = arxiv.Search(query=topic, max_results=k)
        results = list(arxiv.Client(num_retries=1, delay_seconds=1).results(search))
    except Exception as exc:  # noqa: BLE001 - offline or rate-limited: skip cleanly
        log.info("arXiv search skipped: %s", exc)
        return f"arXiv: skipped ({type(exc).__name__})."
    return "arXiv:\n" + "\n".join(f"- {r.title} ({r.entry_id})" for r in results)


def overview(rt: LabRuntime) -> str:
    """What the agent sees first: a topic search and the best result per benchmark."""
    parts = []
    for label, fetch in (
        ("search", lambda: _search(rt, rt.config.topic, "hybrid", None)),
        ("aggregate", lambda: _aggregate(rt, "best-per-benchmark")),
    ):
        try:
            parts.append(fetch())
        except ArchiveError as exc:
            parts.append(f"{label} unavailable: {exc.message}")
    if rt.config.arxiv:
        parts.append(arxiv_overview(rt.config.topic, rt.config.papers_to_retrieve))
    return "\n".join(parts)


def run(rt: LabRuntime) -> str:
    """Run the review until N papers are added, the agent finishes, or steps run out."""
    lit, config = rt.state.literature, rt.config
    if rt.archive is None:
        lit.skipped_reason, lit.done = "no archive server configured", True
        return lit.skipped_reason
    if config.archive_access == "none":
        lit.skipped_reason, lit.done = "archive access is 'none' (isolated lab)", True
        return lit.skipped_reason
    shown = insights.retrieve_for(rt)  # use_insights: the most relevant insights, for planning
    if config.papers_to_review == 0:
        lit.done = True
        return "no papers requested"
    if lit.step == 0 and not lit.observation:
        lit.observation = overview(rt) + shown
        rt.checkpoint()
    phd = rt.agent("phd", "literature")
    while not lit.done and lit.step < config.literature_steps:
        if len(lit.papers) >= config.papers_to_review:
            break
        rt.progress.update(step=f"step {lit.step + 1}/{config.literature_steps}")
        try:
            command = phd.act(
                "literature",
                "literature_step",
                LiteratureCommand,
                target=config.papers_to_review,
                added=lit.papers,
                steps_left=config.literature_steps - lit.step,
                observation=lit.observation,
                notes=rt.notes("literature"),
            )
            lit.observation = execute(rt, command)
        except StructuredOutputError as exc:
            lit.observation = f"Your last command was invalid and was ignored: {exc.message}"
        lit.step += 1
        rt.checkpoint()
    lit.done = True
    return f"{len(lit.papers)} papers added in {lit.step} steps"
