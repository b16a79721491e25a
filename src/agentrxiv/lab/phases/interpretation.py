"""Phase 5, results interpretation: a code-written comparison of the measured numbers, then a
Postdoc/PhD dialogue whose conclusion may only use numbers from the result file."""

from __future__ import annotations

from typing import Any

from agentrxiv.lab.actions import DialogueTurn, Interpretation
from agentrxiv.lab.checkpoint import LabState
from agentrxiv.lab.paper import allowed_numbers, collapse_repeats, strip_unsupported_numbers
from agentrxiv.lab.phases.literature import describe
from agentrxiv.lab.runtime import LabRuntime
from agentrxiv.llm.errors import StructuredOutputError


def reset(state: LabState) -> None:
    """Forget the interpretation."""
    state.interpretation = ""


def artifact(state: LabState) -> str:
    """The interpretation text."""
    return state.interpretation or "No interpretation."


def best_result(state: LabState) -> dict[str, Any]:
    """The result file of the best kept program."""
    best = state.experiments.best()
    if best is None or best.result is None:
        raise ValueError("no measured result yet")
    return best.result


def measured_comparison(result: dict[str, Any]) -> str:
    """The technique against the baseline, in words written by code from the result file."""
    details = result.get("details", {})
    name = details.get("technique", "the technique")
    text = (
        f"Measured: {name} reached {result['metric']} {result['value']:.3f} on "
        f"{result['n']} {result['benchmark']} problems with {result['model']}."
    )
    base = details.get("baseline")
    if isinstance(base, dict) and "accuracy" in base:
        diff = result["value"] - base["accuracy"]
        text += f" The zero-shot baseline reached {base['accuracy']:.3f} (difference {diff:+.3f})."
        ci, base_ci = details.get("technique_result", {}).get("ci95"), base.get("ci95")
        if ci and base_ci:
            overlap = ci[0] <= base_ci[1] and base_ci[0] <= ci[1]
            text += (
                " The 95% intervals overlap, so the difference is not significant at this n."
                if overlap
                else " The 95% intervals do not overlap."
            )
    return text


def run(rt: LabRuntime) -> str:
    """Code-written comparison plus the agents' checked interpretation."""
    result = best_result(rt.state)
    comparison = measured_comparison(result)
    context = {"results": comparison, "literature": describe(rt.state)}
    postdoc, phd = rt.agent("postdoc", "interpretation"), rt.agent("phd", "interpretation")
    try:
        question = postdoc.act("interpretation", "interpretation_open", DialogueTurn, **context)
        answer = phd.act(
            "interpretation", "interpretation_turn", DialogueTurn, message=question.message
        )
        final = postdoc.act(
            "interpretation",
            "interpretation_final",
            Interpretation,
            message=answer.message,
            notes=rt.notes("interpretation"),
            **context,
        )
    except StructuredOutputError:
        rt.state.interpretation = comparison
        return "model interpretation failed; measured comparison only"
    allowed = allowed_numbers(result, [comparison])
    text, removed = strip_unsupported_numbers(collapse_repeats(final.text), allowed)
    rt.state.interpretation = f"{comparison}\n\n{text}"
    return f"interpretation written ({removed} unsupported numbers removed)"
