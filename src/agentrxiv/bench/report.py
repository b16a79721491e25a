"""Evaluation results: per-problem records, the aggregate ``EvalReport`` (accuracy, Wilson 95%
interval, per-subject/level breakdowns, tokens, cost) and its JSON file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agentrxiv.stats import wilson_interval

#: Two-sided 95% normal quantile.


class TokenUsage(BaseModel):
    """Prompt and completion token counts."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


class ProblemRecord(BaseModel):
    """The outcome of one problem; an ``error`` means the technique failed (counted wrong)."""

    unique_id: str
    subject: str
    level: int
    gold: str
    extracted: str | None = None
    correct: bool = False
    method: str = "none"
    error: str | None = None
    tokens: TokenUsage = Field(default_factory=TokenUsage)
    cost_usd: float | None = None
    latency_s: float = 0.0
    calls: int = 0
    output: str | None = None


class GroupScore(BaseModel):
    """Accuracy over a group of problems."""

    accuracy: float
    n: int
    correct: int


class EvalReport(BaseModel):
    """Aggregate results of one evaluation run."""

    accuracy: float
    n: int
    correct: int
    ci95: tuple[float, float]
    usage: TokenUsage
    cost_usd: float | None
    wall_s: float
    by_subject: dict[str, GroupScore]
    by_level: dict[str, GroupScore]
    records: list[ProblemRecord]
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def failed(self) -> int:
        """Problems whose technique raised (counted as wrong)."""
        return sum(1 for record in self.records if record.method == "error")

    def to_json_dict(self) -> dict[str, Any]:
        """The report as the JSON object written by ``agentrxiv bench``."""
        return self.model_dump(mode="json")


def _group(records: list[ProblemRecord], key: str) -> dict[str, GroupScore]:
    groups: dict[str, list[bool]] = {}
    for record in records:
        groups.setdefault(str(getattr(record, key)), []).append(record.correct)
    return {
        name: GroupScore(accuracy=sum(marks) / len(marks), n=len(marks), correct=sum(marks))
        for name, marks in sorted(groups.items())
    }


def build_report(
    records: list[ProblemRecord], wall_s: float, metadata: dict[str, Any] | None = None
) -> EvalReport:
    """Aggregate per-problem records into a report (every record is in the denominator)."""
    n = len(records)
    correct = sum(record.correct for record in records)
    costs = [record.cost_usd for record in records]
    usage = TokenUsage(
        prompt_tokens=sum(r.tokens.prompt_tokens for r in records),
        completion_tokens=sum(r.tokens.completion_tokens for r in records),
    )
    return EvalReport(
        accuracy=correct / n if n else 0.0,
        n=n,
        correct=correct,
        ci95=wilson_interval(correct, n),
        usage=usage,
        cost_usd=None if any(c is None for c in costs) else sum(c or 0.0 for c in costs),
        wall_s=round(wall_s, 3),
        by_subject=_group(records, "subject"),
        by_level=_group(records, "level"),
        records=records,
        metadata=metadata or {},
    )


def write_report(report: EvalReport, path: str | Path) -> Path:
    """Write the report as JSON atomically (a crash never leaves half a file)."""
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(report.to_json_dict(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    os.replace(temp_name, target)
    return target
