"""Cross-lab memory and novelty for agent labs.

- ``distil``/``distil_and_post``: after a paper is verified, an agent turns it into at most
  three strategies and three pitfalls (a validated ``Distillation``; bounded retries; output
  that never validates leaves the paper without insights and says so), posted to the archive
  with their evidence: the verified difference over the baseline with its interval.
- ``retrieve_for``: the literature phase fetches the most relevant insights (with evidence)
  when ``use_insights`` is on; ``planning_context`` puts them into the planning prompts.
- ``check_plan``: with ``novelty_check`` on, the plan phase compares its plan with the
  archive (the server's method similarity) and with insights, and revises a near-duplicate
  plan a bounded number of times; every check and the outcome go into ``summary.md``.
- ``near_duplicate_share``: the campaign report's share of near-duplicate papers.

Prompts live in ``lab/prompts/insights.yaml``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import Field, field_validator, model_validator

from agentrxiv.archive.schemas import InsightBatch, InsightEvidence, InsightIn
from agentrxiv.errors import ArchiveError
from agentrxiv.lab.actions import Command, Plan
from agentrxiv.lab.agents import render
from agentrxiv.llm.base import ChatModel, Message
from agentrxiv.llm.errors import StructuredOutputError

log = logging.getLogger(__name__)

MAX_PER_KIND = 3
ABSTRACT_CHARS = 1_200
UNVERIFIED = "unverified"


@cache
def load_prompts() -> dict[str, Any]:
    """``lab/prompts/insights.yaml``: ``system`` and the ``distil``/``plan_revise`` tasks."""
    text = resources.files("agentrxiv.lab").joinpath("prompts", "insights.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def _messages(task: str, **context: Any) -> list[Message]:
    prompts = load_prompts()
    return [
        {"role": "system", "content": render(prompts["system"], **context)},
        {"role": "user", "content": render(prompts["tasks"][task], **context)},
    ]


# ------------------------------------------------------------------ distillation


class Distillation(Command):
    """What an agent distils from one verified paper."""

    strategies: list[str] = Field(default_factory=list, max_length=MAX_PER_KIND)
    pitfalls: list[str] = Field(default_factory=list, max_length=MAX_PER_KIND)

    @field_validator("strategies", "pitfalls")
    @classmethod
    def _short_sentences(cls, value: list[str]) -> list[str]:
        items = [" ".join(item.split()) for item in value]
        for item in items:
            if not 8 <= len(item) <= 600:
                raise ValueError("each item must be one sentence of 8 to 600 characters")
        return items

    @model_validator(mode="after")
    def _not_empty(self) -> Distillation:
        if not self.strategies and not self.pitfalls:
            raise ValueError("give at least one strategy or pitfall")
        return self

    def items(self) -> list[InsightIn]:
        """The insights to post."""
        found = [InsightIn(kind="strategy", text=t) for t in self.strategies]
        return found + [InsightIn(kind="pitfall", text=t) for t in self.pitfalls]


def evidence_from_verification(record: Any) -> InsightEvidence:
    """Evidence from a verification record (``VerificationPublic`` or a dict of its fields)."""
    get = record.get if isinstance(record, dict) else lambda key: getattr(record, key, None)
    identifier = get("id")
    return InsightEvidence(
        verification_id=identifier if isinstance(identifier, int) else None,
        benchmark=str(get("benchmark") or ""),
        model=str(get("model") or ""),
        split=str(get("split") or ""),
        difference=get("delta"),
        ci_low=get("delta_low"),
        ci_high=get("delta_high"),
        status=str(get("status") or ""),
    )


def latest_verification(paper: Any) -> Any | None:
    """The paper's newest claim verification, preferring archive and independent ones (by the
    server's standing), then any other lab's; None if none."""
    records = [v for v in getattr(paper, "verifications", None) or [] if v.kind == "claim"]
    trusted = [v for v in records if getattr(v, "standing", None) in ("archive", "independent")]
    others = [v for v in records if not getattr(v, "self_verification", False)]
    chosen = trusted or others or records
    return max(chosen, key=lambda v: v.created_at) if chosen else None


def describe_evidence(evidence: InsightEvidence) -> str:
    """One line: status, difference over baseline with its interval, benchmark, model."""
    if evidence.difference is None:
        diff = "difference over baseline unknown"
    else:
        diff = f"difference over baseline {evidence.difference:+.3f}"
        if evidence.ci_low is not None and evidence.ci_high is not None:
            diff += f" (95% interval {evidence.ci_low:+.3f} to {evidence.ci_high:+.3f})"
    where = ", ".join(x for x in (evidence.benchmark, evidence.split, evidence.model) if x)
    return f"{evidence.status or UNVERIFIED}: {diff} on {where or 'unknown benchmark'}"


@dataclass
class DistilOutcome:
    """What distillation did for one paper (kept in the lab state and its summary)."""

    paper_id: str
    status: str  # posted | kept without insights
    reason: str = ""
    strategies: list[str] = field(default_factory=list)
    pitfalls: list[str] = field(default_factory=list)
    evidence: str = ""

    def line(self) -> str:
        """One line for ``summary.md``."""
        if self.status == "posted":
            return (
                f"insights: {len(self.strategies)} strategies, {len(self.pitfalls)} pitfalls "
                f"posted for {self.paper_id} ({self.evidence})"
            )
        return f"insights: paper {self.paper_id} kept without insights ({self.reason})"


def distil(
    model: ChatModel,
    paper: Any,
    evidence: InsightEvidence,
    *,
    retries: int = 2,
    tag: str | None = None,
    lab_name: str = "lab",
    topic: str = "",
    max_tokens: int = 512,
) -> Distillation:
    """Ask ``model`` for the paper's strategies and pitfalls; ``StructuredOutputError`` when
    no reply validates within ``retries`` retries."""
    technique = getattr(paper, "technique", None) or ""
    messages = _messages(
        "distil",
        lab_name=lab_name,
        topic=topic or paper.title,
        title=paper.title,
        technique=technique or "(see abstract)",
        evidence=describe_evidence(evidence),
        abstract=paper.abstract[:ABSTRACT_CHARS],
    )
    return model.structured(messages, Distillation, retries=retries, tag=tag, max_tokens=max_tokens)


def distil_and_post(
    client: Any,
    paper_id: str,
    model: ChatModel,
    verification: Any = None,
    *,
    retries: int = 2,
    tag: str | None = None,
    lab_name: str = "lab",
    topic: str = "",
) -> DistilOutcome:
    """Distil a verified paper and post its insights (replacing earlier ones). Evidence comes
    from ``verification`` (a record or dict), else the paper's newest verification; a paper
    never verified gets no insights. Invalid output after the retries: kept without them."""
    paper = client.get(paper_id)
    record = verification if verification is not None else latest_verification(paper)
    if record is None:
        return DistilOutcome(paper_id, "kept without insights", "the paper is not verified yet")
    evidence = evidence_from_verification(record)
    try:
        draft = distil(
            model, paper, evidence, retries=retries, tag=tag, lab_name=lab_name, topic=topic
        )
    except StructuredOutputError as exc:
        log.warning("distillation of %s failed: %s", paper_id, exc.message)
        reason = f"distillation output did not validate after {retries + 1} attempts"
        return DistilOutcome(paper_id, "kept without insights", reason)
    try:
        client.post_insights(
            InsightBatch(paper_id=paper.id, insights=draft.items(), evidence=evidence)
        )
    except ArchiveError as exc:
        return DistilOutcome(paper_id, "kept without insights", f"archive refused: {exc}")
    return DistilOutcome(
        paper.id,
        "posted",
        strategies=draft.strategies,
        pitfalls=draft.pitfalls,
        evidence=describe_evidence(evidence),
    )


def after_verification(rt: Any, verification: Any = None) -> DistilOutcome | None:
    """Distil the lab's published paper once it is verified (when ``use_insights`` is on);
    the outcome is kept in the lab state for ``summary.md``."""
    if not rt.config.use_insights or rt.archive is None or not rt.state.published_id:
        return None
    outcome = distil_and_post(
        rt.archive,
        rt.state.published_id,
        rt.model("interpretation"),
        verification,
        retries=rt.config.structured_retries,
        tag=rt.tag("insights", "distil"),
        lab_name=rt.config.lab_name,
        topic=rt.config.topic,
    )
    rt.state.distillation = {**outcome.__dict__, "line": outcome.line()}
    rt.checkpoint()
    return outcome


# ------------------------------------------------------------------ retrieval


def format_insights(items: list[dict[str, Any]]) -> str:
    """Insights as prompt lines, each with its evidence and paper."""
    lines = []
    for item in items:
        evidence = InsightEvidence.model_validate(item["evidence"])
        lines.append(
            f"- [{item['kind']}] {item['text']} (evidence: paper {item['paper_id']}, "
            f"{describe_evidence(evidence)})"
        )
    return "\n".join(lines)


def retrieve_for(rt: Any) -> str:
    """Fetch the insights most relevant to the topic (once; kept in the state) and return
    them as text for the literature agent; empty when ``use_insights`` is off."""
    config = rt.config
    if not config.use_insights or rt.archive is None:
        return ""
    filters = config.archive_filters()
    if filters is None:
        return ""
    if not rt.state.insights:
        try:
            found = rt.archive.insights(
                config.topic, mode="hybrid", k=config.insights_to_retrieve, **filters
            )
        except ArchiveError as exc:
            return f"\ninsights unavailable: {exc.message}"
        rt.state.insights = [item.model_dump(mode="json") for item in found.items]
        rt.checkpoint()
    if not rt.state.insights:
        return "\ninsights: none yet."
    return "\ninsights from earlier verified papers:\n" + format_insights(rt.state.insights)


def planning_context(state: Any) -> str:
    """The retrieved insights as a block for the planning prompts ("" when none)."""
    if not state.insights:
        return ""
    return (
        "\nLessons (insights) distilled from earlier verified papers, with their evidence:\n"
        + format_insights(state.insights)
    )


# ------------------------------------------------------------------ novelty check


def plan_text(plan: Plan) -> str:
    """The plan as a method description (compared with the papers' method embeddings)."""
    return (
        f"{plan.title}.\n{plan.hypothesis}\nTechnique {plan.technique_name}: "
        f"{plan.technique_instruction} Evaluation: {plan.evaluation}"
    )


def _check_once(rt: Any, plan: Plan) -> dict[str, Any]:
    """One novelty check of ``plan`` against the archive's papers and insights."""
    text = plan_text(plan)
    verdict = rt.archive.novelty_check(text)
    threshold = rt.config.novelty_threshold
    threshold = verdict.threshold if threshold is None else threshold
    top = verdict.neighbours[0] if verdict.neighbours else None
    check: dict[str, Any] = {
        "technique": plan.technique_name,
        "nearest": top.paper_id if top else None,
        "nearest_title": top.title if top else "",
        "similarity": top.similarity if top else None,
        "threshold": threshold,
        "duplicate_of": top.paper_id if top and top.similarity >= threshold else None,
        "insights": [],
    }
    filters = rt.config.archive_filters() or {}
    try:
        close = rt.archive.insights(text, mode="semantic", k=3, **filters).items
    except ArchiveError:
        close = []
    check["insights"] = [item.model_dump(mode="json") for item in close]
    pitfalls = [i for i in close if i.kind == "pitfall" and (i.score or 0) >= threshold]
    if check["duplicate_of"] is None and pitfalls:
        check["duplicate_of"] = pitfalls[0].paper_id
        check["similarity"], check["by_insight"] = pitfalls[0].score, pitfalls[0].text
    return check


def _revise(rt: Any, plan: Plan, check: dict[str, Any]) -> Plan | None:
    """Ask for a different plan (None when no valid one comes back)."""
    nearest = f"{check['duplicate_of']} {check.get('nearest_title') or ''}".strip()
    if check.get("by_insight"):
        nearest += f" (lesson: {check['by_insight']})"
    messages = _messages(
        "plan_revise",
        lab_name=rt.config.lab_name,
        topic=rt.config.topic,
        plan=plan.model_dump_json(),
        nearest=nearest,
        similarity=f"{check['similarity']:.2f}",
        insights=format_insights(check["insights"]),
    )
    try:
        return rt.model("plan").structured(
            messages,
            Plan,
            retries=rt.config.structured_retries,
            tag=rt.tag("plan", "novelty"),
            max_tokens=rt.config.max_tokens,
            temperature=rt.config.temperature,
        )
    except StructuredOutputError as exc:
        log.warning("plan revision failed: %s", exc.message)
        return None


def _similarity_text(check: dict[str, Any]) -> str:
    return "n/a" if check["similarity"] is None else f"{check['similarity']:.3f}"


def check_plan(rt: Any) -> str:
    """Check the plan's novelty and revise a near-duplicate (at most
    ``novelty_max_revisions`` times); returns the outcome line (also in ``summary.md``)."""
    state, config = rt.state, rt.config
    if not config.novelty_check or state.plan is None:
        return ""
    if rt.archive is None:
        state.novelty = {"checks": [], "outcome": "novelty check skipped: no archive"}
        return state.novelty["outcome"]
    checks: list[dict[str, Any]] = []
    revisions = 0
    while True:
        try:
            check = _check_once(rt, state.plan)
        except ArchiveError as exc:
            outcome = f"novelty check unavailable: {exc.message}"
            break
        checks.append(check)
        if check["duplicate_of"] is None:
            outcome = (
                f"novelty: novel (nearest {check['nearest'] or 'none'}, "
                f"similarity {_similarity_text(check)} < {check['threshold']})"
            )
            if revisions:
                outcome = f"novelty: revised {revisions}x, now novel " + outcome[len("novelty: ") :]
            break
        if revisions >= config.novelty_max_revisions:
            outcome = (
                f"novelty: still a near-duplicate of {check['duplicate_of']} (similarity "
                f"{_similarity_text(check)}) after {revisions} revisions; kept the plan"
            )
            break
        revised = _revise(rt, state.plan, check)
        if revised is None:
            outcome = f"novelty: near-duplicate of {check['duplicate_of']}; revision failed"
            break
        state.plan, revisions = revised, revisions + 1
        rt.checkpoint()
    state.novelty = {"checks": checks, "revisions": revisions, "outcome": outcome}
    rt.checkpoint()
    return outcome


# ------------------------------------------------------------------ summary and campaigns


def summary_lines(state: Any) -> list[str]:
    """Lines for ``summary.md``: insights used, the novelty check, the distillation."""
    lines: list[str] = []
    if state.insights:
        lines.append(f"- insights retrieved for planning: {len(state.insights)}")
    for number, check in enumerate(state.novelty.get("checks", []), 1):
        verdict = f"near-duplicate of {check['duplicate_of']}" if check["duplicate_of"] else "novel"
        lines.append(
            f"- novelty check {number}: plan '{check['technique']}' nearest "
            f"{check['nearest'] or 'none'} similarity {_similarity_text(check)} "
            f"(threshold {check['threshold']}): {verdict}"
        )
    if state.novelty.get("outcome"):
        lines.append(f"- {state.novelty['outcome']}")
    if state.distillation.get("line"):
        lines.append(f"- {state.distillation['line']}")
    return ["", "## Insights and novelty", "", *lines] if lines else []


def near_duplicate_share(client: Any, campaign_id: str) -> float:
    """The share (0..1) of a campaign's papers that were near-duplicates of earlier papers."""
    return float(client.novelty_stats(campaign_id).share)
