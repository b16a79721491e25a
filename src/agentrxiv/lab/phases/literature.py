"""Phase 1, literature review: the PhD agent searches its literature sources (the AgentRxiv
archive: keyword, semantic, hybrid, filters, aggregates; arXiv: any arXiv-API endpoint),
reads summaries and full texts, and adds the papers it builds on, with notes and source."""

from __future__ import annotations

import json
from typing import Any

from agentrxiv.errors import ArchiveError
from agentrxiv.lab import insights
from agentrxiv.lab.actions import (
    AddPaper,
    AggregateArchive,
    FinishReview,
    LiteratureCommand,
    ReadPaper,
    ReadSummary,
    SearchArchive,
)
from agentrxiv.lab.checkpoint import AddedPaper, LabState, LiteratureState
from agentrxiv.lab.runtime import LabRuntime
from agentrxiv.lab.sources import LiteratureHit, SourceRefused, SourceUnavailable
from agentrxiv.lab.sources.archive import verification_note
from agentrxiv.lab.sources.select import available_sources, source_for
from agentrxiv.llm.errors import StructuredOutputError

__all__ = ["verification_note"]  # imported from here by other modules
READ_CHARS = 4_000


def reset(state: LabState) -> None:
    """Forget the literature review."""
    state.literature = LiteratureState()


def artifact(state: LabState) -> str:
    """The papers added, with notes."""
    lit = state.literature
    if lit.skipped_reason:
        return f"Literature review skipped: {lit.skipped_reason}"
    lines = [f"- {p.source}:{p.paper_id} {p.title}: {p.notes}" for p in lit.papers]
    return "\n".join(lines) or "No papers added."


def describe(state: LabState) -> str:
    """The added papers for other agents' prompts."""
    papers = state.literature.papers
    if not papers:
        return "(none)"
    return "\n".join(
        f"- [{p.source}:{p.paper_id}] {p.title}: {p.summary[:200]} Notes: {p.notes}" for p in papers
    )


def _unreachable(rt: LabRuntime, exc: SourceUnavailable) -> str:
    """Record the outage once (for ``summary.md``) and tell the agent to go on without it."""
    if exc.message not in rt.state.literature.source_errors:
        rt.state.literature.source_errors.append(exc.message)
    return f"{exc.message} -- continue with the other sources and what you have."


def _seen(rt: LabRuntime, hit: LiteratureHit) -> None:
    """Remember a paper shown to the agent: archive papers by id (as checkpoints always
    had them), arXiv papers as ``arxiv:id`` (only those may be added)."""
    key = hit.paper_id if hit.source == "agentrxiv" else hit.key
    rt.state.literature.seen[key] = hit.title


def _lines(rt: LabRuntime, hits: list[LiteratureHit]) -> list[str]:
    out = []
    for hit in hits:
        _seen(rt, hit)
        out.append(f"- {hit.key} | {hit.title}{hit.note} | {hit.summary}")
    return out


def _search(rt: LabRuntime, action: SearchArchive) -> str:
    names = ["agentrxiv", "arxiv"] if action.source == "both" else [action.source]
    parts = []
    for name in names:
        try:
            source = source_for(rt, name)
            options = {"mode": action.mode, "benchmark": action.benchmark or ""}
            hits = source.search(action.query, rt.config.papers_to_retrieve, **options)
        except SourceRefused as exc:
            parts.append(f"search {action.query!r} in {name}: {exc.message}")
            continue
        except SourceUnavailable as exc:
            parts.append(_unreachable(rt, exc))
            continue
        head = f"search {action.query!r} in {name}"
        if name == "agentrxiv":
            head += f" ({action.mode})"
        parts.append(f"{head}: no papers." if not hits else f"{head}, {len(hits)} shown:")
        parts += _lines(rt, hits)
    return "\n".join(parts)


def _aggregate(rt: LabRuntime, kind: str) -> str:
    if rt.config.campaign_id and rt.config.archive_access != "shared":
        return f"aggregate {kind}: not available (archive access: {rt.config.archive_access})."
    data = rt.archive.aggregate(kind)
    payload = data.model_dump(mode="json") if hasattr(data, "model_dump") else data
    return f"aggregate {kind}: {json.dumps(payload)[:READ_CHARS]}"


def _summary(rt: LabRuntime, action: ReadSummary) -> str:
    hit = source_for(rt, action.source).summary(action.paper_id)
    _seen(rt, hit)
    return f"summary of {hit.key} | {hit.title}{hit.note}\n{hit.url}\n{hit.summary}"


def _read(rt: LabRuntime, action: ReadPaper) -> str:
    source = source_for(rt, action.source)
    hit = source.summary(action.paper_id)
    _seen(rt, hit)
    return f"full text of {hit.key} | {hit.title}\n{source.full_text(action.paper_id)}"


def add_paper(rt: LabRuntime, action: AddPaper) -> str:
    """Add a paper that resolves: an archive paper this lab may see, or an arXiv paper a
    search returned (an id nobody showed the agent is refused, so none is invented)."""
    lit = rt.state.literature
    key = f"{action.source}:{action.paper_id}"
    if any(f"{p.source}:{p.paper_id}" == key for p in lit.papers):
        return f"{key} is already in the review."
    if action.source == "arxiv" and key not in lit.seen:
        return f"{key} was not returned by any search: search arXiv first, then add it."
    hit = source_for(rt, action.source).summary(action.paper_id)
    summary = (hit.note.strip() + " " + hit.summary).strip()[:500]
    lit.papers.append(
        AddedPaper(
            paper_id=hit.paper_id,
            title=hit.title,
            summary=summary,
            notes=action.notes,
            source=hit.source,
            url=hit.url,
        )
    )
    return f"added {key} ({len(lit.papers)} of {rt.config.papers_to_review})."


def execute(rt: LabRuntime, command: Any) -> str:
    """Carry out one command and return what the agent observes."""
    action = command.action
    if isinstance(action, FinishReview):
        rt.state.literature.done = True
        return "finished."
    try:
        if isinstance(action, SearchArchive):
            return _search(rt, action)
        if isinstance(action, AggregateArchive):
            return _aggregate(rt, action.kind)
        if isinstance(action, ReadSummary):
            return _summary(rt, action)
        if isinstance(action, ReadPaper):
            return _read(rt, action)
        assert isinstance(action, AddPaper)
        return add_paper(rt, action)
    except SourceUnavailable as exc:
        return _unreachable(rt, exc)
    except SourceRefused as exc:
        return f"{getattr(action, 'source', 'agentrxiv')} error: {exc.message}"
    except ArchiveError as exc:
        return f"archive error: {exc.message}"


def overview(rt: LabRuntime) -> str:
    """What the agent sees first: a topic search in every source and the best result per
    benchmark."""
    names = available_sources(rt)
    parts = [f"Sources: {', '.join(names)}."]
    for name in names:
        parts.append(_search(rt, SearchArchive(query=rt.config.topic[:300], source=name)))
    if "agentrxiv" in names:
        try:
            parts.append(_aggregate(rt, "best-per-benchmark"))
        except ArchiveError as exc:
            parts.append(f"aggregate unavailable: {exc.message}")
    return "\n".join(parts)


def _skip_reason(rt: LabRuntime) -> str:
    config = rt.config
    if available_sources(rt):
        return ""
    if "agentrxiv" in config.literature_sources and rt.archive is None:
        return "no archive server configured"
    if config.archive_access == "none":
        return "archive access is 'none' (isolated lab)"
    return "no literature source configured"


def run(rt: LabRuntime) -> str:
    """Run the review until N papers are added, the agent finishes, or steps run out."""
    lit, config = rt.state.literature, rt.config
    lit.skipped_reason = _skip_reason(rt)
    if lit.skipped_reason:
        lit.done = True
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
                sources=available_sources(rt),
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
    return f"{len(lit.papers)} papers added in {lit.step} steps" + unreachable_note(lit)


def unreachable_note(lit: LiteratureState) -> str:
    """`` (unreachable: ...)`` when a source could not be reached, else nothing."""
    return f" (unreachable: {'; '.join(lit.source_errors)})" if lit.source_errors else ""


def summary_lines(state: LabState) -> list[str]:
    """Lines for ``summary.md``: papers per source, remote requests, unreachable sources."""
    lit = state.literature
    if lit.skipped_reason or not (lit.papers or lit.source_errors or lit.remote_requests):
        return []
    counts: dict[str, int] = {}
    for paper in lit.papers:
        counts[paper.source] = counts.get(paper.source, 0) + 1
    added = ", ".join(f"{n} from {s}" for s, n in counts.items()) or "none"
    lines = [f"- papers added: {added}", f"- remote source requests: {lit.remote_requests}"]
    lines += [f"- literature source unreachable: {error}" for error in lit.source_errors]
    return ["", "## Literature", "", *lines]
