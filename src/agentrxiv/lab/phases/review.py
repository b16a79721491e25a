"""Phase 7, review and refinement: reviewer personas fill the NeurIPS form; a configured rule
(mean overall >= threshold, bounded rounds) decides to publish or go back to planning."""

from __future__ import annotations

from pathlib import Path

from agentrxiv.lab.actions import LabReviewForm
from agentrxiv.lab.checkpoint import LabState, ReviewRound
from agentrxiv.lab.phases.report import REVIEW_CHARS
from agentrxiv.lab.runtime import LabRuntime
from agentrxiv.llm.errors import StructuredOutputError

PUBLISH, REVISE, STOP = "publish", "revise", "stop"


def reset(state: LabState) -> None:
    """Forget the current round's reviews."""
    state.review_rounds = [r for r in state.review_rounds if r.round != state.round]


def artifact(state: LabState) -> str:
    """Scores and decision of the current round."""
    current = current_round(state)
    lines = [
        f"- {name}: overall {f.overall}/10, {f.decision}: {f.weaknesses[:200]}"
        for name, f in current.reviews.items()
    ]
    lines.append(f"mean overall {current.mean_overall}; decision: {current.decision}")
    return "\n".join(lines)


def current_round(state: LabState) -> ReviewRound:
    """The review round of the current lab round (created on demand)."""
    for review_round in state.review_rounds:
        if review_round.round == state.round:
            return review_round
    review_round = ReviewRound(round=state.round)
    state.review_rounds.append(review_round)
    return review_round


def decide(mean: float | None, round_number: int, rt: LabRuntime) -> str:
    """The configured rule: publish, go back to planning, or stop after the last round."""
    rule = rt.config.publish_rule
    if mean is not None and mean >= rule.min_mean_overall:
        return PUBLISH
    if round_number < rule.max_rounds:
        return REVISE
    return PUBLISH if rule.after_last_round == "publish" else STOP


def run(rt: LabRuntime) -> str:
    """Collect the missing reviews (one checkpoint each), then apply the rule."""
    state = rt.state
    paper = Path(state.report.paper_path).read_text(encoding="utf-8")[:REVIEW_CHARS]
    current = current_round(state)
    for persona in rt.config.reviewers:
        if persona in current.reviews:
            continue
        rt.progress.update(step=f"reviewer {persona}")
        reviewer = rt.agent("reviewer", "review", persona=persona)
        try:
            form = reviewer.act("review", "review", LabReviewForm, paper=paper)
            current.reviews[persona] = form.to_form()
        except StructuredOutputError:
            continue  # a reviewer that cannot fill the form gives no review
        rt.checkpoint()
    scores = [form.overall for form in current.reviews.values()]
    current.mean_overall = round(sum(scores) / len(scores), 2) if scores else None
    current.decision = decide(current.mean_overall, state.round, rt)
    return (
        f"{len(scores)}/{len(rt.config.reviewers)} reviews, mean overall "
        f"{current.mean_overall}: {current.decision}"
    )
