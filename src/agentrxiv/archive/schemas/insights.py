"""Insights (strategies and pitfalls distilled from verified papers) and novelty (the nearest
earlier papers to a method, and the near-duplicate verdict)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from agentrxiv.archive.schemas.common import StrictModel

InsightKind = Literal["strategy", "pitfall"]


MAX_INSIGHTS_PER_KIND = 3


class InsightEvidence(StrictModel):
    """What an insight rests on: the verified difference over the baseline, with its interval.

    When posting, ``verification_id`` must name a stored verification of the paper; the
    server copies every other field from it (posted numbers are ignored)."""

    verification_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    benchmark: str = Field(default="", max_length=100)
    model: str = Field(default="", max_length=200)
    metric: str = Field(default="accuracy", max_length=100)
    split: str = Field(default="", max_length=100)
    difference: float | None = Field(default=None, allow_inf_nan=False)
    ci_low: float | None = Field(default=None, allow_inf_nan=False)
    ci_high: float | None = Field(default=None, allow_inf_nan=False)
    status: str = Field(default="", max_length=40, examples=["reproduced", "not reproduced"])


class InsightIn(StrictModel):
    """One strategy or pitfall (1 to 600 characters)."""

    kind: InsightKind
    text: str = Field(min_length=1, max_length=600)


class InsightBatch(StrictModel):
    """The insights of one paper (at most 3 strategies and 3 pitfalls), posted once."""

    paper_id: str = Field(pattern=r"^\d{4}\.\d{5}$")
    insights: list[InsightIn] = Field(min_length=1, max_length=2 * MAX_INSIGHTS_PER_KIND)
    evidence: InsightEvidence = Field(default_factory=InsightEvidence)

    @field_validator("insights")
    @classmethod
    def _at_most_three_each(cls, value: list[InsightIn]) -> list[InsightIn]:
        for kind in ("strategy", "pitfall"):
            if sum(1 for item in value if item.kind == kind) > MAX_INSIGHTS_PER_KIND:
                raise ValueError(f"at most {MAX_INSIGHTS_PER_KIND} items of kind {kind}")
        return value


class InsightPublic(BaseModel):
    """A stored insight with its evidence, paper, lab and campaign."""

    id: int
    paper_id: str
    paper_title: str = ""
    kind: str
    text: str
    evidence: InsightEvidence
    lab: str
    campaign: str | None = None
    created_at: datetime
    score: float | None = None


class InsightList(BaseModel):
    """Insights that matched, best (or newest) first."""

    total: int
    items: list[InsightPublic]


class NoveltyNeighbour(BaseModel):
    """An earlier paper close to this one: cosine of the method embeddings, code identity."""

    paper_id: str
    title: str = ""
    similarity: float
    code_match: bool = False


class NoveltyPublic(BaseModel):
    """A paper's novelty record: nearest earlier papers and the near-duplicate verdict."""

    neighbours: list[NoveltyNeighbour]
    near_duplicate_of: str | None = None
    similarity: float | None = None
    threshold: float | None = None
    code_hash: str | None = None


class NoveltyCheck(StrictModel):
    """Text (and optionally code) to compare with the archive before spending on it."""

    text: str = Field(min_length=1, max_length=20_000)
    code: str | None = Field(default=None, max_length=500_000)
    campaign: str | None = Field(default=None, max_length=100)
    k: int = Field(default=3, ge=1, le=20)


class NoveltyVerdict(BaseModel):
    """What the server would decide for a paper with this method text (and code)."""

    neighbours: list[NoveltyNeighbour]
    near_duplicate_of: str | None
    similarity: float | None
    threshold: float
    policy: str


class NoveltyStats(BaseModel):
    """How many papers (of a campaign, or all) were near-duplicates of earlier ones."""

    campaign: str | None
    papers: int
    near_duplicates: int
    share: float
