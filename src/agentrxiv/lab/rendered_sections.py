"""Paper sections written by code from what the lab measured and read, for the sections a
lab config leaves out of ``report_written_sections``. A small model's time is better spent
on measured variants than on prose (the demo writes only the abstract and the discussion),
and text made from the plan, the literature and ``result.json`` cannot misquote them."""

from __future__ import annotations

from typing import Any

from agentrxiv.lab import accumulate
from agentrxiv.lab.phases.interpretation import best_result, measured_comparison
from agentrxiv.lab.runtime import LabRuntime


def rendered_section(rt: LabRuntime, name: str) -> str:
    """The text of section ``name`` made from the lab's state, without a model call."""
    return _RENDERERS[name](rt)


def _introduction(rt: LabRuntime) -> str:
    plan = rt.state.plan
    text = f"This paper studies: {rt.config.topic}."
    return f"{text} Hypothesis: {plan.hypothesis}" if plan else text


def _background(rt: LabRuntime) -> str:
    return accumulate.describe_start(rt)


def _related_work(rt: LabRuntime) -> str:
    papers = rt.state.literature.papers
    if not papers:
        return "The literature review added no earlier paper."
    lines = [f"- [{p.paper_id}] {p.title}" for p in papers]
    return "The literature review read:\n\n" + "\n".join(lines)


def _methods(rt: LabRuntime) -> str:
    plan = rt.state.plan
    if plan is None:
        return "The technique is the start program's, unchanged."
    return (
        f"Technique: {plan.technique_name}. Instruction given to the target model: "
        f"{plan.technique_instruction}"
    )


def _experimental_setup(rt: LabRuntime) -> str:
    result = _result(rt)
    variants = rt.state.experiments.variants_measured()
    text = (
        f"Benchmark {rt.config.benchmark}, {result.get('split', 'dev')} split, "
        f"{result.get('n', '?')} problems, target model {rt.config.target_model}; "
        f"{measured_variants(variants)} on this split before the reported one was chosen, "
        "so its value is measured on the data it was chosen on (held-out verification "
        "judges it on the test split)."
    )
    plan = rt.state.plan
    return f"{text} Evaluation: {plan.evaluation}" if plan else text


def measured_variants(count: int) -> str:
    """``1 program variant was measured`` / ``3 program variants were measured``."""
    return (
        f"{count} program variant was measured"
        if count == 1
        else (f"{count} program variants were measured")
    )


def _results(rt: LabRuntime) -> str:
    return ""  # the measured table and lineage are rendered around every results section


def _discussion(rt: LabRuntime) -> str:
    return rt.state.interpretation or "No interpretation was recorded."


def _abstract(rt: LabRuntime) -> str:
    result = _result(rt)
    return f"{rt.config.topic}. {measured_comparison(result)}" if result else rt.config.topic


def _result(rt: LabRuntime) -> dict[str, Any]:
    try:
        return best_result(rt.state)
    except ValueError:
        return {}


_RENDERERS = {
    "abstract": _abstract,
    "introduction": _introduction,
    "background": _background,
    "related_work": _related_work,
    "methods": _methods,
    "experimental_setup": _experimental_setup,
    "results": _results,
    "discussion": _discussion,
}
