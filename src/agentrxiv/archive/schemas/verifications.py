"""Verification records: a paper's technique re-run on a held-out split, and the warnings a
paper inherits from ancestors whose claims did not hold up."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agentrxiv.archive.schemas.common import StrictModel

VerificationStatus = Literal["reproduced", "not reproduced", "inconclusive", "failed"]
VerificationEffect = Literal["confirmed", "not confirmed", "inconclusive"]


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
    effect: VerificationEffect | None = None
    # Problems the technique answered without one call to the target model.
    no_model_use: int = Field(default=0, ge=0, le=2**31 - 1)
    tokens: int = Field(default=0, ge=0, le=2**62)
    cost_usd: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)
    wall_s: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    content_hash: str = Field(default="", max_length=64, pattern=r"^[0-9a-f]{0,64}$")
    details: dict[str, object] = Field(default_factory=dict)


class VerificationPublic(VerificationCreate):
    """A stored verification with its ``standing``, decided by the server from owners
    (``archive.standing``); ``self_verification`` is ``standing == "self"``."""

    model_config = ConfigDict(extra="ignore")

    id: int
    paper_id: str
    version: int | None = None
    verifier: str
    self_verification: bool
    standing: Literal["self", "same owner", "independent", "archive"] = "self"
    created_at: datetime


class LineageWarning(BaseModel):
    """An ancestor whose claim did not hold up (not reproduced, or its technique failed)."""

    ancestor_id: str
    ancestor_title: str
    status: str
    message: str
