"""Campaign records on the server: create, list, read, change status, mint per-lab tokens,
and the idempotent-submission lookup that lets a lab retry a publish without a duplicate.

A campaign's labs publish under namespaced lab names (``<campaign id>-<lab>``), so a
campaign owner can mint tokens only for its own labs, never for an existing lab of
someone else."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from fastapi import Response
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agentrxiv.archive.auth import Principal, create_token
from agentrxiv.archive.db import Database
from agentrxiv.archive.schemas import (
    CampaignCreate,
    CampaignList,
    CampaignPublic,
    CampaignUpdate,
    LabToken,
    PaperCreate,
    PaperPublic,
)
from agentrxiv.archive.submission import check_storable_text
from agentrxiv.archive.tables import Campaign, Lab, Paper, PaperVersion, utcnow
from agentrxiv.errors import ArchiveError, ConflictError, ForbiddenError, NotFoundError

log = logging.getLogger(__name__)
LAB_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
FINAL_STATUSES = frozenset({"finished", "stopped", "failed"})


def campaign_lab_name(campaign_id: str, lab: str) -> str:
    """The server lab name of campaign lab ``lab``."""
    return f"{campaign_id}-{lab}"


def _public(session: Session, row: Campaign) -> CampaignPublic:
    from agentrxiv.archive.repository import aware

    papers = session.scalar(select(func.count()).where(Paper.campaign_id == row.id)) or 0
    return CampaignPublic(
        id=row.id,
        name=row.name,
        topic=row.topic,
        config=dict(row.config or {}),
        status=row.status,
        status_reason=row.status_reason,
        owner=row.owner.name,
        created_at=aware(row.created_at),
        finished_at=aware(row.finished_at) if row.finished_at else None,
        papers=papers,
        records=list(row.records or []),
    )


def _row(session: Session, campaign_id: str) -> Campaign:
    row = session.get(Campaign, campaign_id)
    if row is None:
        raise NotFoundError(f"no campaign {campaign_id}")
    return row


def create_campaign(db: Database, principal: Principal, data: CampaignCreate) -> CampaignPublic:
    """Store a new campaign owned by the caller's lab."""
    check_storable_text(data.model_dump(mode="json"))
    campaign_id = data.id or f"c{secrets.token_hex(4)}"
    try:
        with db.write() as session:
            if session.get(Campaign, campaign_id) is not None:
                raise ConflictError(f"campaign {campaign_id} already exists")
            row = Campaign(
                id=campaign_id,
                name=data.name,
                topic=data.topic,
                config=data.config,
                status="running",
                status_reason="",
                records=[],
                owner_lab_id=principal.lab_id,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            public = _public(session, row)
    except IntegrityError as exc:
        raise ConflictError(f"campaign {campaign_id} already exists") from exc
    log.info("campaign %s created by %s", campaign_id, principal.lab_name)
    return public


def get_campaign(session: Session, campaign_id: str) -> CampaignPublic:
    """One campaign."""
    return _public(session, _row(session, campaign_id))


def list_campaigns(session: Session, offset: int = 0, limit: int = 50) -> CampaignList:
    """Campaigns, newest first."""
    total = session.scalar(select(func.count()).select_from(Campaign)) or 0
    rows = session.scalars(
        select(Campaign)
        .order_by(Campaign.created_at.desc(), Campaign.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return CampaignList(total=total, items=[_public(session, r) for r in rows])


def _check_owner(row: Campaign, principal: Principal) -> None:
    if not principal.is_admin and row.owner_lab_id != principal.lab_id:
        raise ForbiddenError(f"only the owner of campaign {row.id} or an admin may do this")


def update_campaign(
    db: Database, principal: Principal, campaign_id: str, data: CampaignUpdate
) -> CampaignPublic:
    """Change a campaign's status and/or records (owner or admin)."""
    check_storable_text(data.model_dump(mode="json"))
    with db.write() as session:
        row = _row(session, campaign_id)
        _check_owner(row, principal)
        if data.status is not None:
            row.status, row.status_reason = data.status, data.reason
            row.finished_at = utcnow() if data.status in FINAL_STATUSES else None
        if data.records is not None:
            row.records = list(data.records)
        session.flush()
        return _public(session, row)


def mint_lab_token(db: Database, principal: Principal, campaign_id: str, lab: str) -> LabToken:
    """A write token for the campaign's lab ``lab`` (owner or admin)."""
    if not lab or len(lab) > 64 or not set(lab) <= LAB_NAME_CHARS:
        raise ArchiveError(
            f"invalid lab name {lab[:80]!r}: 1-64 letters, digits, '.', '-', '_'", status=422
        )
    with db.write() as session:
        row = _row(session, campaign_id)
        _check_owner(row, principal)
        name = campaign_lab_name(campaign_id, lab)
        token = create_token(session, name)
    log.info("minted a token for %s (campaign %s)", name, campaign_id)
    return LabToken(campaign_id=campaign_id, lab=name, token=token)


def check_campaign(session: Session, campaign_id: str | None) -> None:
    """422 when a submission names a campaign that does not exist."""
    if campaign_id is not None and session.get(Campaign, campaign_id) is None:
        raise ArchiveError(f"unknown campaign {campaign_id}", status=422)


def find_idempotent(session: Session, principal: Principal, key: str | None) -> PaperPublic | None:
    """The paper this lab already published with ``key``, if any."""
    from agentrxiv.archive.repository import to_public

    if not key:
        return None
    paper = session.scalar(
        select(Paper).where(Paper.lab_id == principal.lab_id, Paper.idempotency_key == key)
    )
    if paper is None:
        return None
    version = session.scalar(
        select(PaperVersion).where(
            PaperVersion.paper_id == paper.id, PaperVersion.version == paper.latest_version
        )
    )
    return to_public(session, paper, version)


def submit_idempotent(
    db: Database,
    principal: Principal,
    paper: PaperCreate,
    response: Response,
    create: Callable[[], PaperPublic],
) -> PaperPublic:
    """``create()`` unless this lab already published ``paper.idempotency_key`` (then 200)."""
    key = paper.idempotency_key
    if key:
        with db.read() as session:
            existing = find_idempotent(session, principal, key)
        if existing is not None:
            response.status_code = 200
            return existing
    try:
        return create()
    except ConflictError:
        if not key:
            raise
        with db.read() as session:  # a concurrent retry with the same key won the race
            existing = find_idempotent(session, principal, key)
        if existing is None:
            raise
        response.status_code = 200
        return existing


def campaign_papers(session: Session, campaign_id: str) -> list[dict[str, Any]]:
    """Every paper of a campaign (oldest first) with lab, results and parents, for pages."""
    from agentrxiv.archive.repository import aware

    rows = session.execute(
        select(Paper, PaperVersion, Lab.name)
        .join(PaperVersion, PaperVersion.paper_id == Paper.id)
        .join(Lab, Lab.id == Paper.lab_id)
        .where(Paper.campaign_id == campaign_id, PaperVersion.is_latest.is_(True))
        .order_by(Paper.created_at, Paper.id)
    ).all()
    out = []
    for paper, version, lab in rows:
        out.append(
            {
                "id": paper.id,
                "title": version.title,
                "lab": lab,
                "created_at": aware(paper.created_at),
                "withdrawn": paper.withdrawn,
                "parents": [link.parent_id for link in version.parents],
                "results": [
                    {
                        "benchmark": r.benchmark,
                        "metric": r.metric,
                        "value": r.value,
                        "split": r.split,
                        "n": r.n,
                    }
                    for r in version.results
                ],
            }
        )
    return out
