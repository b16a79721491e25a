"""Reviews: the NeurIPS review form, a review request and a stored review."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from agentrxiv.archive.schemas.common import StrictModel


class ReviewForm(StrictModel):
    """The NeurIPS review form used by reviewer agents and people."""

    summary: str = Field(default="", max_length=20_000)
    strengths: str = Field(default="", max_length=20_000)
    weaknesses: str = Field(default="", max_length=20_000)
    originality: int = Field(ge=1, le=4)
    quality: int = Field(ge=1, le=4)
    clarity: int = Field(ge=1, le=4)
    significance: int = Field(ge=1, le=4)
    questions: str = Field(default="", max_length=20_000)
    limitations: str = Field(default="", max_length=20_000)
    ethical_concerns: bool = False
    soundness: int = Field(ge=1, le=4)
    presentation: int = Field(ge=1, le=4)
    contribution: int = Field(ge=1, le=4)
    overall: int = Field(ge=1, le=10)
    confidence: int = Field(ge=1, le=5)
    decision: Literal["Accept", "Reject"]


class ReviewCreate(StrictModel):
    """A review of one version of a paper (default: the latest)."""

    reviewer: str = Field(min_length=1, max_length=200)
    reviewer_kind: Literal["agent", "human"] = "agent"
    version: int | None = Field(default=None, ge=1)
    form: ReviewForm


class ReviewPublic(BaseModel):
    """A stored review. ``lab`` is the lab whose token posted it (None for reviews stored
    before labs were recorded); ``self_review`` is true when that lab wrote the paper, and
    such a review never counts as an independent one."""

    id: int
    paper_id: str
    version: int
    reviewer: str
    reviewer_kind: str
    form: ReviewForm
    created_at: datetime
    lab: str | None = None
    self_review: bool = False
