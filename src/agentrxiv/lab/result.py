"""The typed result of one lab run: what came out (paper, claim, baseline, technique,
parents), what it cost (tokens, dollars, wall time), how it ended, and the after-publish
steps' outcomes. Built from the lab's state and ledger by the lab itself, so callers such
as the campaign worker record it without reading any lab file."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agentrxiv.lab.checkpoint import LabState
from agentrxiv.lab.phases.interpretation import best_result
from agentrxiv.lab.phases.publish import add_technique
from agentrxiv.lab.runtime import LabRuntime


class Claim(BaseModel):
    """The measured result the paper claims (the best kept program's ``result.json``)."""

    value: float
    metric: str = ""
    benchmark: str = ""
    split: str = ""
    n: int | None = None
    model: str = ""


class Verification(BaseModel):
    """The after-publish verification on the test split (``status`` "off" when not asked)."""

    status: str
    value: float | None = None
    n: int | None = None
    seconds: float | None = None


class LabResult(BaseModel):
    """One lab run, as the lab reports it."""

    lab: str
    outcome: str = Field(description="published | not published: ... | failed: ... | ...")
    resumable: bool = Field(default=False, description="Stopped, not ended: resume continues.")
    paper_id: str | None = None
    claim: Claim | None = None
    baseline: float | None = Field(default=None, description="Zero-shot baseline, same run.")
    technique: str | None = Field(default=None, description="The paper's technique entry point.")
    parents: list[str] = Field(default_factory=list)
    builds_on: str | None = Field(
        default=None, description="Paper whose technique it started from."
    )
    variants_tried: int | None = Field(default=None, description="Variants measured on dev.")
    tokens: int = 0
    cost_usd: float | None = None
    wall_s: float = 0.0
    verification: Verification | None = None
    insights: str | None = Field(default=None, description="The distillation's outcome line.")

    def record(self) -> dict[str, Any]:
        """The flat record a campaign keeps per run (``result.json``)."""
        record: dict[str, Any] = {
            "outcome": self.outcome,
            "resumable": self.resumable,
            "paper_id": self.paper_id,
            "claimed": self.claim.value if self.claim else None,
            "baseline": self.baseline,
            "verified": None,
            "verification": None,
            "tokens": self.tokens,
            "cost_usd": self.cost_usd,
            "wall_s": self.wall_s,
            "parents": self.parents,
            "builds_on": self.builds_on,
            "variants_tried": self.variants_tried,
            "claim": self.claim.model_dump() if self.claim else None,
            "technique": self.technique,
        }
        check = self.verification
        if check is not None:
            record["verification"] = check.status
            if check.status != "off":
                record.update(verified=check.value, verified_n=check.n, verify_s=check.seconds)
        if self.insights is not None:
            record["insights"] = self.insights
        return record


def _claim(state: LabState) -> tuple[Claim | None, float | None, dict[str, Any] | None]:
    """The claim, the baseline accuracy and the result file (None when nothing measured)."""
    try:
        result = best_result(state)
    except ValueError:
        return None, None, None
    base = result.get("details", {}).get("baseline")
    baseline = base.get("accuracy") if isinstance(base, dict) else None
    fields = {k: result[k] for k in ("metric", "benchmark", "split", "n", "model") if k in result}
    return Claim(value=float(result["value"]), **fields), baseline, result


def _technique(rt: LabRuntime, result: dict[str, Any] | None) -> str | None:
    best = rt.state.experiments.best()
    if result is None or best is None:
        return None
    return add_technique({}, best.code, result, rt.config.target_model)


def lab_result(rt: LabRuntime, outcome: str, resumable: bool = False) -> LabResult:
    """The typed result of the run in ``rt`` (its state and ledger as they stand)."""
    state = rt.state
    claim, baseline, result = _claim(state)
    totals = rt.ledger.totals(f"lab/{rt.config.lab_name}")
    verification = Verification(**state.verification) if state.verification else None
    return LabResult(
        lab=rt.config.lab_name,
        outcome=outcome.splitlines()[0][:500] if outcome else "",
        resumable=resumable,
        paper_id=state.published_id or None,
        claim=claim,
        baseline=baseline,
        technique=_technique(rt, result),
        parents=state.literature.archive_ids(),  # arXiv references are not parents
        builds_on=state.builds_on.paper_id if state.builds_on else None,
        variants_tried=state.experiments.variants_measured(),
        tokens=totals.usage.total_tokens,
        cost_usd=totals.cost_usd if totals.cost_known else None,
        wall_s=round(state.elapsed_s, 3),
        verification=verification,
        insights=state.distillation.get("line"),
    )
