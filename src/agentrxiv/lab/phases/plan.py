"""Phase 2, plan formulation: the Postdoc and the PhD student discuss (bounded turns), then the
PhD student writes the plan as a validated ``Plan`` object."""

from __future__ import annotations

from agentrxiv.lab import accumulate, insights
from agentrxiv.lab.actions import DialogueTurn, Plan
from agentrxiv.lab.checkpoint import LabState
from agentrxiv.lab.phases.literature import describe
from agentrxiv.lab.runtime import LabPhaseError, LabRuntime
from agentrxiv.llm.errors import StructuredOutputError


def reset(state: LabState) -> None:
    """Forget the plan."""
    state.plan = None
    state.plan_dialogue = []
    state.technique = None


def artifact(state: LabState) -> str:
    """The plan as JSON, with the technique options chosen and what they build on."""
    if not state.plan:
        return "No plan."
    text = state.plan.model_dump_json(indent=2)
    if state.builds_on:
        text += f"\nbuilds on technique: {state.builds_on.paper_id} ({state.builds_on.label})"
    if state.technique:
        text += f"\ntechnique options ({state.technique.source}): {state.technique.options}"
        if state.technique.changed:
            text += f"\nthe plan repeated the start; the lab changed {state.technique.changed}"
    return text


def previous_reviews(state: LabState) -> str:
    """The weaknesses the reviewers found in the last round (fed into the next plan)."""
    if not state.review_rounds:
        return ""
    last = state.review_rounds[-1]
    lines = [
        f"- {name} (overall {form.overall}/10): {form.weaknesses[:400]}"
        for name, form in last.reviews.items()
    ]
    return "\n".join(lines)


def run(rt: LabRuntime) -> str:
    """Dialogue, then the plan; no valid plan stops the lab with a clear error."""
    state = rt.state
    if not state.builds_on_checked:  # the parent is fixed once, so a resume keeps it
        rt.progress.update(step="parent technique")
        state.builds_on, state.builds_on_checked = accumulate.find_parent(rt), True
        rt.checkpoint()
    postdoc, phd = rt.agent("postdoc", "plan"), rt.agent("phd", "plan")
    context = {
        "literature": describe(state) + insights.planning_context(state),
        "reviews": previous_reviews(state),
        "notes": rt.notes("plan"),
    }
    state.plan_dialogue = []
    for turn in range(rt.config.dialogue_turns):
        rt.progress.update(step=f"dialogue {turn + 1}/{rt.config.dialogue_turns}")
        try:
            proposal = postdoc.act("plan", "plan_open", DialogueTurn, **context)
            reply = phd.act("plan", "plan_turn", DialogueTurn, message=proposal.message)
        except StructuredOutputError:
            break  # the plan itself can still be written without the dialogue
        postdoc.hear(f"PhD student: {reply.message}")
        phd.hear(f"Postdoc: {proposal.message}")
        state.plan_dialogue += [f"Postdoc: {proposal.message}", f"PhD: {reply.message}"]
    rt.progress.update(step="final plan")
    try:
        state.plan = phd.act("plan", "plan_final", Plan, **context)
    except StructuredOutputError as exc:
        raise LabPhaseError(
            f"plan formulation failed: no valid plan from the model ({exc.message})",
            hint="use a stronger model for the plan phase (phase_models.plan) and --resume",
        ) from None
    novelty = insights.check_plan(rt)  # novelty_check: revise a near-duplicate plan (bounded)
    rt.progress.update(step="technique options")
    state.technique = accumulate.choose_technique(rt, phd, state.plan.model_dump_json())
    outcome = f"plan: {state.plan.technique_name}" + (f"; {novelty}" if novelty else "")
    if state.builds_on:
        outcome += f"; builds on {state.builds_on.paper_id} ({state.builds_on.label})"
    return outcome
