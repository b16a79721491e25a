"""References while writing the report: bounded steps in which the PhD agent may search
either source again and add papers it cites; then every citation in the paper's text is
checked, and one that resolves to no reference (an invented id) is dropped."""

from __future__ import annotations

import re

from agentrxiv.lab.actions import ReferenceCommand
from agentrxiv.lab.phases.literature import describe, execute
from agentrxiv.lab.runtime import LabRuntime
from agentrxiv.lab.sources.select import available_sources
from agentrxiv.llm.errors import StructuredOutputError

# [2401.00001], [arXiv:2401.00001v2], [agentrxiv:2401.00001], (arxiv:hep-th/9901001) ...
CITATION_RE = re.compile(
    r"[\[(]\s*(?:(arxiv|agentrxiv)\s*[: ]\s*)?"
    r"(\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?\s*[\])]",
    re.IGNORECASE,
)


def reference_steps(rt: LabRuntime) -> None:
    """Up to ``report_reference_steps`` search/summary/add steps, one checkpoint each."""
    st, config = rt.state.report, rt.config
    if not available_sources(rt):
        return
    phd = rt.agent("phd", "report")
    observation = "(none yet)"
    while st.reference_step < config.report_reference_steps:
        rt.progress.update(step=f"references {st.reference_step + 1}")
        try:
            command = phd.act(
                "report",
                "report_references",
                ReferenceCommand,
                literature=describe(rt.state),
                sources=available_sources(rt),
                steps_left=config.report_reference_steps - st.reference_step,
                observation=observation,
            )
            if command.action.command == "finish":
                st.reference_step = config.report_reference_steps
                rt.checkpoint()
                break
            observation = execute(rt, command)
        except StructuredOutputError as exc:
            observation = f"Your last command was invalid and was ignored: {exc.message}"
        st.reference_step += 1
        rt.checkpoint()


def drop_unresolved_citations(text: str, known: set[str]) -> tuple[str, int]:
    """``text`` without bracketed paper ids that are not among the references."""
    dropped = 0

    def check(match: re.Match[str]) -> str:
        nonlocal dropped
        if match.group(2).lower() in known:
            return match.group(0)
        dropped += 1
        return ""

    return CITATION_RE.sub(check, text), dropped
