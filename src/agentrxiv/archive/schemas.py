"""Pydantic schemas of the JSON API (``/api/v1``), shared by the server and the client.

Naming follows ``PaperCreate`` (request) / ``PaperPublic`` (response)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from agentrxiv.archive.attachments import MAX_ATTACHMENT_BASE64, MAX_ATTACHMENTS

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


class AttachmentIn(StrictModel):
    """A figure sent with a paper version: a relative path and the image, base64-encoded.
    PNG, JPEG, GIF or WebP only (see ``archive.attachments``)."""

    name: str = Field(min_length=1, max_length=200, examples=["figures/accuracy.png"])
    content_base64: str = Field(min_length=1, max_length=MAX_ATTACHMENT_BASE64)


class AttachmentPublic(BaseModel):
    """A stored attachment; ``url`` is where the site serves it."""

    name: str
    media_type: str
    size: int
    url: str


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
    technique: str | None = Field(
        default=None,
        max_length=300,
        description="The technique the results measure: FILE:function, FILE in code_files.",
    )
    pdf_base64: str | None = Field(default=None, description="Optional PDF, base64-encoded.")
    attachments: list[AttachmentIn] = Field(
        default_factory=list,
        max_length=MAX_ATTACHMENTS,
        description="Figures (PNG/JPEG/GIF/WebP) the body shows by relative path, e.g. "
        "![Accuracy](figures/acc.png) with name 'figures/acc.png'.",
    )
    campaign_id: str | None = Field(
        default=None, max_length=40, description="The campaign the paper belongs to (new papers)."
    )
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="A retry with the same key from the same lab returns the first paper (200).",
    )

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

    @field_validator("technique")
    @classmethod
    def _check_technique(cls, value: str | None, info: ValidationInfo) -> str | None:
        from agentrxiv.archive.technique import check_technique

        if value is not None and (why := check_technique(value, info.data.get("code_files", {}))):
            raise ValueError(why)
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
    campaign_id: str | None = None
    near_duplicate_of: str | None = None
    # Claimed vs verified: the paper's headline independent verification, if any.
    claimed_value: float | None = None
    verified_value: float | None = None
    verification_status: str | None = None


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
    attachments: list[AttachmentPublic] = Field(default_factory=list)
    novelty: NoveltyPublic | None = None
    technique: str | None = None
    verifications: list[VerificationPublic] = Field(default_factory=list)
    warnings: list[LineageWarning] = Field(default_factory=list)


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
    # The relevance floor applied (semantic and hybrid): papers whose cosine similarity to
    # the query is below it are not semantic matches. None: keyword mode or no floor.
    min_score: float | None = None
    # Set when nothing passed the floor: an honest "no close matches" instead of noise.
    note: str | None = None


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
    # The technique (``FILE:function``) and the paper's own baseline on the same benchmark,
    # model and split (a ``baseline_<metric>`` result), with Δ = value - baseline.
    technique: str = ""
    baseline_value: float | None = None
    baseline_n: int | None = None
    baseline_delta: float | None = None
    # Claimed vs verified: the latest independent verification on this benchmark.
    claimed_value: float | None = None
    verified_value: float | None = None
    verified_low: float | None = None
    verified_high: float | None = None
    delta: float | None = None
    delta_low: float | None = None
    delta_high: float | None = None
    verified_n: int | None = None
    verified_model: str | None = None
    cost_per_problem: float | None = None
    verification_status: str | None = None


class Leaderboard(BaseModel):
    """Results on a benchmark, best first."""

    benchmark: str
    metric: str | None
    entries: list[LeaderboardEntry]
    # Every rankable metric of the benchmark, the models ranked under ``metric``, and the
    # filters applied (None: not filtered).
    metrics: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)
    model: str | None = None
    min_n: int | None = None


class WithdrawRequest(StrictModel):
    """Why a paper is withdrawn."""

    reason: str = Field(min_length=1, max_length=2_000)


class ErrorBody(BaseModel):
    """The one error shape of the API."""

    ok: Literal[False] = False
    error: str
    status: int


# ---------------------------------------------------------------- campaigns

CampaignStatus = Literal["running", "finished", "stopped", "failed"]
CAMPAIGN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")


class CampaignCreate(StrictModel):
    """A new campaign; the token's lab becomes its owner."""

    name: str = Field(min_length=1, max_length=200)
    topic: str = Field(default="", max_length=20_000)
    config: dict[str, object] = Field(default_factory=dict)
    id: str | None = Field(default=None, description="Chosen id (default: generated).")

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str | None) -> str | None:
        if value is not None and not CAMPAIGN_ID_RE.match(value):
            raise ValueError("invalid campaign id: 1-40 letters, digits, '.', '-', '_'")
        return value


class CampaignUpdate(StrictModel):
    """A status change (and why) and/or the campaign's per-paper records (claimed, verified,
    tokens, cost, wall time), which the campaign page draws."""

    status: CampaignStatus | None = None
    reason: str = Field(default="", max_length=2_000)
    records: list[dict[str, object]] | None = Field(default=None, max_length=10_000)


class CampaignPublic(BaseModel):
    """A stored campaign."""

    id: str
    name: str
    topic: str
    config: dict[str, object]
    status: str
    status_reason: str
    owner: str
    created_at: datetime
    finished_at: datetime | None
    papers: int = 0
    records: list[dict[str, object]] = Field(default_factory=list)
    # Filled by report clients from /novelty/stats (agentrxiv.lab.insights).
    near_duplicate_share: float | None = None


class CampaignList(BaseModel):
    """Campaigns, newest first."""

    total: int
    items: list[CampaignPublic]


class LabToken(BaseModel):
    """A write token minted for one lab of a campaign (the only copy of the secret)."""

    campaign_id: str
    lab: str
    token: str


# ---------------------------------------------------------------- verifications

VerificationStatus = Literal["reproduced", "not reproduced", "failed"]


class VerificationCreate(StrictModel):
    """A verification record: a paper's technique re-run on a held-out split by a verifier.

    ``value`` is the verified accuracy with its 95% Wilson interval; ``delta`` is technique
    minus zero-shot baseline on the same problems with its paired interval (``delta_method``)
    and the exact McNemar p-value. ``kind`` is ``claim`` (the paper's own claim re-run) or
    ``transfer`` (another benchmark or model; never decides the paper's status)."""

    version: int | None = Field(default=None, ge=1, le=1_000_000)
    kind: Literal["claim", "transfer"] = "claim"
    benchmark: str = Field(min_length=1, max_length=100)
    split: str = Field(default="test", max_length=100)
    model: str = Field(default="", max_length=200)
    technique: str = Field(default="", max_length=300)
    status: VerificationStatus
    error: str | None = Field(default=None, max_length=5_000)
    n: int = Field(default=0, ge=0, le=2**31 - 1)
    claimed_value: float | None = Field(default=None, allow_inf_nan=False)
    value: float | None = Field(default=None, ge=0.0, le=1.0)
    ci_low: float | None = Field(default=None, ge=0.0, le=1.0)
    ci_high: float | None = Field(default=None, ge=0.0, le=1.0)
    baseline_value: float | None = Field(default=None, ge=0.0, le=1.0)
    baseline_low: float | None = Field(default=None, ge=0.0, le=1.0)
    baseline_high: float | None = Field(default=None, ge=0.0, le=1.0)
    delta: float | None = Field(default=None, ge=-1.0, le=1.0)
    delta_low: float | None = Field(default=None, ge=-1.0, le=1.0)
    delta_high: float | None = Field(default=None, ge=-1.0, le=1.0)
    delta_method: str = Field(default="newcombe-paired", max_length=100)
    mcnemar_p: float | None = Field(default=None, ge=0.0, le=1.0)
    tokens: int = Field(default=0, ge=0, le=2**62)
    cost_usd: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)
    wall_s: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    content_hash: str = Field(default="", max_length=64, pattern=r"^[0-9a-f]{0,64}$")
    details: dict[str, object] = Field(default_factory=dict)


class VerificationPublic(VerificationCreate):
    """A stored verification; ``self_verification`` records never count as independent."""

    model_config = ConfigDict(extra="ignore")

    id: int
    paper_id: str
    version: int | None = None
    verifier: str
    self_verification: bool
    created_at: datetime


class LineageWarning(BaseModel):
    """An ancestor whose claim did not hold up (not reproduced, or its technique failed)."""

    ancestor_id: str
    ancestor_title: str
    status: str
    message: str


PaperPublic.model_rebuild()


# ---------------------------------------------------------------- insights and novelty

InsightKind = Literal["strategy", "pitfall"]
MAX_INSIGHTS_PER_KIND = 3


class InsightEvidence(StrictModel):
    """What an insight rests on: the verified difference over the baseline, with its interval."""

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
