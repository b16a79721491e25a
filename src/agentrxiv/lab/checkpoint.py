"""The lab's state as JSON in ``<lab dir>/state.json``, written atomically after every phase
and every solver step, so ``--resume`` continues with nothing completed lost.

JSON (not pickle): readable, diffable, and loading it never runs code.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from agentrxiv.archive.schemas import ReviewForm
from agentrxiv.errors import ConfigError
from agentrxiv.files import atomic_write_text
from agentrxiv.lab.actions import Plan

STATE_FILE = "state.json"
STATE_VERSION = 1


class AddedPaper(BaseModel):
    """A paper the literature review (or the report writer) kept, with the agent's notes."""

    paper_id: str
    title: str
    summary: str = ""
    notes: str = ""
    source: str = "agentrxiv"  # or "arxiv"; archive and arXiv ids share a format
    url: str = ""


class LiteratureState(BaseModel):
    """Progress of the literature review."""

    step: int = 0
    done: bool = False
    papers: list[AddedPaper] = Field(default_factory=list)
    seen: dict[str, str] = Field(
        default_factory=dict, description="id (arXiv: arxiv:id) -> title shown so far"
    )
    observation: str = ""
    skipped_reason: str = ""
    source_errors: list[str] = Field(
        default_factory=list, description="sources that could not be reached, and why"
    )
    remote_requests: int = 0  # requests sent to remote sources (cache hits send none)

    def archive_ids(self) -> list[str]:
        """The added archive papers' ids (a published paper's parents)."""
        return [p.paper_id for p in self.papers if p.source == "agentrxiv"]


class DataPrepState(BaseModel):
    """The data-loading program that ran, and what it printed."""

    code: str = ""
    stdout: str = ""
    attempts: int = 0
    source: str = ""  # "agent" or "template"


class ProgramRecord(BaseModel):
    """One experiment program the mle-solver ran, with its measured score."""

    id: str
    code: str
    origin: str  # seed / replace / edit (+ "repair")
    parent: str | None = None
    score: float | None = None
    result: dict[str, Any] | None = None
    error: str = ""
    repairs: int = 0
    figures: list[str] = Field(default_factory=list)


class ParentTechnique(BaseModel):
    """The technique a lab builds on: the best verified (else claimed) one in its scope."""

    paper_id: str
    title: str = ""
    lab: str = ""
    code: str
    label: Literal["verified", "claimed"]
    value: float | None = None


class TechniqueChoiceRecord(BaseModel):
    """The plan's choice of technique options (``lab.technique_space``): the start's options,
    the chosen ones, which fields fell back to the start, and whether the model answered
    (``neighbour``: its answer repeated the start, or none parsed, so the lab changed one
    option, said in ``changed``; ``error`` keeps a parse error)."""

    start: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    fell_back: list[str] = Field(default_factory=list)
    source: Literal["model", "fallback", "neighbour", ""] = ""
    changed: str = ""
    error: str = ""


class ExperimentState(BaseModel):
    """Progress of the mle-solver: kept programs, everything tried, reflections."""

    step: int = 0
    seed_done: bool = False
    plan_done: bool = False
    kept: list[ProgramRecord] = Field(default_factory=list)
    tried: list[ProgramRecord] = Field(default_factory=list)
    reflections: list[str] = Field(default_factory=list)
    pending: list[ProgramRecord] = Field(
        default_factory=list, description="candidates of the current step already run"
    )

    def best(self) -> ProgramRecord | None:
        """The kept program with the highest measured score."""
        return self.kept[0] if self.kept else None

    def variants_measured(self) -> int:
        """How many programs were measured on dev (a score) before the best was chosen."""
        return sum(1 for p in self.tried + self.pending if p.score is not None)


class ReportState(BaseModel):
    """Progress of the paper-solver."""

    title: str = ""
    sections: dict[str, str] = Field(default_factory=dict)
    edit_step: int = 0
    stripped_numbers: int = 0
    reference_step: int = 0
    dropped_citations: int = 0
    paper_path: str = ""
    pdf_path: str = ""


class ReviewRound(BaseModel):
    """The reviews of one round and the decision taken."""

    round: int
    reviews: dict[str, ReviewForm] = Field(default_factory=dict)
    mean_overall: float | None = None
    decision: str = ""  # publish / revise / stop


class PhaseSummary(BaseModel):
    """Time, tokens, cost and outcome of one phase (summed over rounds and resumes)."""

    seconds: float = 0.0
    tokens: int = 0
    cost_usd: float | None = 0.0
    calls: int = 0
    actions: int = 0
    failed_actions: int = 0
    salvaged_actions: int = 0
    outcome: str = ""


class LabState(BaseModel):
    """Everything a lab has done so far."""

    version: int = STATE_VERSION
    fingerprint: str = ""
    round: int = 1
    completed: list[str] = Field(default_factory=list)
    literature: LiteratureState = Field(default_factory=LiteratureState)
    plan: Plan | None = None
    # Accumulation (lab.accumulate): the parent technique the experiments start from, and
    # the plan's choice of technique options.
    builds_on: ParentTechnique | None = None
    builds_on_checked: bool = False
    technique: TechniqueChoiceRecord | None = None
    plan_dialogue: list[str] = Field(default_factory=list)
    data_prep: DataPrepState | None = None
    experiments: ExperimentState = Field(default_factory=ExperimentState)
    interpretation: str = ""
    report: ReportState = Field(default_factory=ReportState)
    review_rounds: list[ReviewRound] = Field(default_factory=list)
    copilot_notes: dict[str, list[str]] = Field(default_factory=dict)
    published_id: str = ""
    published_url: str = ""
    posted_reviews: list[str] = Field(default_factory=list)
    previous_rounds: list[dict[str, Any]] = Field(default_factory=list)
    finished: bool = False
    stopped_reason: str = ""
    summaries: dict[str, PhaseSummary] = Field(default_factory=dict)
    elapsed_s: float = 0.0
    # Insights and novelty (lab.insights): what planning was shown, the plan's novelty
    # check, and what was distilled after verification.
    insights: list[dict[str, Any]] = Field(default_factory=list)
    novelty: dict[str, Any] = Field(default_factory=dict)
    distillation: dict[str, Any] = Field(default_factory=dict)
    # The after-publish verification (lab.after_publish): value, n, status, seconds.
    verification: dict[str, Any] = Field(default_factory=dict)
    run_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    redos: dict[str, int] = Field(default_factory=dict, description="co-pilot redos per phase")
    clock_seq: int = 0

    def summary(self, phase: str) -> PhaseSummary:
        """The (created on demand) summary of ``phase``."""
        return self.summaries.setdefault(phase, PhaseSummary())

    def spent_tokens(self) -> int:
        """Tokens spent so far by all phases."""
        return sum(s.tokens for s in self.summaries.values())

    def spent_usd(self) -> float | None:
        """Dollars spent so far, ``None`` if any phase's cost is unknown."""
        costs = [s.cost_usd for s in self.summaries.values()]
        return None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)


def save_state(lab_dir: Path, state: LabState) -> None:
    """Write the checkpoint atomically."""
    atomic_write_text(lab_dir / STATE_FILE, state.model_dump_json(indent=2))


def load_state(lab_dir: Path) -> LabState | None:
    """The checkpoint in ``lab_dir``, or ``None`` if there is none."""
    path = lab_dir / STATE_FILE
    if not path.exists():
        return None
    try:
        return LabState.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        raise ConfigError(f"checkpoint {path} is unreadable: {str(exc).splitlines()[0]}") from None
