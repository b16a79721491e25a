"""Campaigns: creating and updating one, the stored record, and per-lab tokens."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from agentrxiv.archive.schemas.common import StrictModel

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
    """A write token minted for one lab (of a campaign, or of the caller's owner); the only
    copy of the secret."""

    campaign_id: str | None = None
    lab: str
    token: str
    owner: str = ""
