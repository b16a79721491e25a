"""Pydantic schemas of the JSON API (``/api/v1``), shared by the server and the client.

Naming follows ``PaperCreate`` (request) / ``PaperPublic`` (response)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

PAPER_ID_RE = re.compile(r"^\d{4}\.\d{5}$")
CATEGORY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$")
SearchMode = Literal["keyword", "semantic", "hybrid"]


class StrictModel(BaseModel):
    """Rejects unknown fields so typos in requests get a clear 422."""

    model_config = ConfigDict(extra="forbid")


class Author(StrictModel):
    """An author: a lab (or person) and the model(s) it used."""

    name: str = Field(min_length=1, max_length=200)
    lab: str = Field(default="", max_length=200)
    models: list[str] = Field(default_factory=list, max_length=20)


class ResultIn(StrictModel):
    """One measured number reported by a paper."""

    benchmark: str = Field(min_length=1, max_length=100, examples=["math500"])
    metric: str = Field(min_length=1, max_length=100, examples=["accuracy"])
    value: float = Field(allow_inf_nan=False)
    n: int | None = Field(default=None, ge=0, le=2**31 - 1)  # fits every SQL INTEGER
    model: str = Field(default="", max_length=200)
    split: str = Field(default="", max_length=100)


class ResultPublic(ResultIn):
    """A result as returned, with the paper it belongs to."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)

    paper_id: str = ""
    version: int = 0


class PaperCreate(StrictModel):
    """A new paper, or (at ``/papers/{id}/versions``) a new version of one."""

    title: str = Field(min_length=1, max_length=500)
    abstract: str = Field(min_length=1, max_length=20_000)
    authors: list[Author] = Field(default_factory=list, max_length=50)
    body: str = Field(default="", max_length=5_000_000)
    categories: list[str] = Field(default_factory=list, max_length=20)
    comment: str | None = Field(default=None, max_length=2_000)
    parents: list[str] = Field(default_factory=list, max_length=200)
    results: list[ResultIn] = Field(default_factory=list, max_length=1_000)
    code_files: dict[str, str] = Field(default_factory=dict)
    pdf_base64: str | None = Field(default=None, description="Optional PDF, base64-encoded.")

    @field_validator("categories")
    @classmethod
    def _check_categories(cls, value: list[str]) -> list[str]:
        for cat in value:
            if not CATEGORY_RE.match(cat):
                raise ValueError(f"invalid category {cat!r}: letters, digits, '.', '-', '_'")
        return value

    @field_validator("parents")
    @classmethod
    def _check_parents(cls, value: list[str]) -> list[str]:
        for pid in value:
            if not PAPER_ID_RE.match(pid):
                raise ValueError(f"invalid parent id {pid!r}: expected YYMM.NNNNN")
        return list(dict.fromkeys(value))

    @field_validator("code_files")
    @classmethod
    def _check_code_paths(cls, value: dict[str, str]) -> dict[str, str]:
        for path in value:
            if not path or path.startswith(("/", "\\")) or ".." in path.split("/"):
                raise ValueError(f"invalid code file path {path!r}: must be relative")
        return value


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
    """A stored review."""

    id: int
    paper_id: str
    version: int
    reviewer: str
    reviewer_kind: str
    form: ReviewForm
    created_at: datetime


class PaperSummary(BaseModel):
    """A paper in lists and search results (latest version, no body)."""

    id: str
    version: int
    title: str
    abstract: str
    authors: list[Author]
    categories: list[str]
    lab: str
    withdrawn: bool
    created_at: datetime
    updated_at: datetime
    score: float | None = None


class PaperPublic(PaperSummary):
    """A full paper version."""

    body: str
    comment: str | None
    parents: list[str]
    results: list[ResultPublic]
    code_files: dict[str, str]
    has_pdf: bool
    versions: list[int]
    withdrawn_reason: str | None = None


class PaperList(BaseModel):
    """A page of papers with the total that matched."""

    total: int
    offset: int
    items: list[PaperSummary]


class SearchHit(PaperSummary):
    """A search result; ``score`` is the mode's score (BM25, cosine or fused RRF)."""


class SearchResponse(BaseModel):
    """Search results with the total that matched the filters."""

    query: str
    mode: SearchMode
    total: int
    offset: int
    items: list[SearchHit]


class LineageNode(BaseModel):
    """A paper in a lineage graph with its distance from the asked paper."""

    id: str
    title: str
    lab: str
    depth: int
    parents: list[str]


class Lineage(BaseModel):
    """Ancestors (papers it built on) and descendants (papers that built on it)."""

    id: str
    ancestors: list[LineageNode]
    descendants: list[LineageNode]


class LeaderboardEntry(BaseModel):
    """The best result of one paper on a benchmark/metric."""

    paper_id: str
    version: int
    title: str
    lab: str
    metric: str
    value: float
    n: int | None
    model: str
    split: str
    created_at: datetime


class Leaderboard(BaseModel):
    """Results on a benchmark, best first."""

    benchmark: str
    metric: str | None
    entries: list[LeaderboardEntry]


class WithdrawRequest(StrictModel):
    """Why a paper is withdrawn."""

    reason: str = Field(min_length=1, max_length=2_000)


class ErrorBody(BaseModel):
    """The one error shape of the API."""

    ok: Literal[False] = False
    error: str
    status: int
