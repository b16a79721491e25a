"""Papers: what a submission carries (results, attachments, technique, parents), how a paper
is listed and returned, lineage, leaderboards and withdrawal."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from agentrxiv.archive.id_format import PAPER_ID_RE
from agentrxiv.archive.schemas.common import CATEGORY_RE, Author, StrictModel
from agentrxiv.archive.schemas.insights import NoveltyPublic
from agentrxiv.archive.schemas.verifications import LineageWarning, VerificationPublic
from agentrxiv.archive.technique import check_technique

# What a version may carry as figures (the rules: ``archive.attachments``).
MAX_ATTACHMENT_BYTES = 2 * 1024 * 1024
MAX_ATTACHMENTS = 20
# base64 of the largest file, with slack for line breaks some encoders add.
MAX_ATTACHMENT_BASE64 = (MAX_ATTACHMENT_BYTES * 4) // 3 + 1024


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
    builds_on_technique: str | None = Field(
        default=None,
        pattern=r"^\d{4}\.\d{5}$",
        description="The paper whose technique code this paper's experiments started from.",
    )
    variants_tried: int | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="How many variants were measured on dev before the claimed one was chosen.",
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
        if value is not None and (why := check_technique(value, info.data.get("code_files", {}))):
            raise ValueError(why)
        return value


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
    # Accumulation (migration 0009_accumulation): the parent technique and the variants
    # measured on dev before the claim was chosen.
    builds_on_technique: str | None = None
    variants_tried: int | None = None


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
    # Claimed vs verified: the latest archive or independent verification on this benchmark
    # (any standing with ``standing=any``; ``verified_standing`` says which).
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
    verified_standing: str | None = None
    # "no model use on N of M problems" when the verified technique answered without the
    # model; such entries are ranked after the others.
    model_use_note: str | None = None
    # Near-duplicates of this (earliest) paper, folded into its entry instead of ranked.
    near_duplicates: list[str] = Field(default_factory=list)


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
