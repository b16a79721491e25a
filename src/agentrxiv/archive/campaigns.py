"""Campaign records on the server: create, list, read, change status, mint per-lab tokens,
and the idempotent-submission lookup that lets a lab retry a publish without a duplicate.

A campaign's labs publish under namespaced lab names (``<campaign id>-<lab>``) and belong to
the campaign's owner. Minting only ever creates a new lab (an existing name is a 409 and
creates nothing), so a campaign owner can never get a token for someone else's lab, and
each minted token carries the campaign's access scope (``archive.scope``)."""

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
from agentrxiv.archive.idempotency import run_once
from agentrxiv.archive.limits import WriteLimits, consume, precheck
from agentrxiv.archive.owners import check_not_reserved, refuse_scoped
from agentrxiv.archive.reads import to_public
from agentrxiv.archive.rows import aware
from agentrxiv.archive.schemas import (
    CampaignCreate,
    CampaignList,
    CampaignPublic,
    CampaignUpdate,
    LabToken,
    PaperCreate,
    PaperPublic,
)
from agentrxiv.archive.scope import campaign_mode
from agentrxiv.archive.submission import check_storable_text
from agentrxiv.archive.tables import Campaign, IdempotencyRecord, Lab, Paper, PaperVersion, utcnow
from agentrxiv.errors import ArchiveError, ConflictError, ForbiddenError, NotFoundError

log = logging.getLogger(__name__)
LAB_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
FINAL_STATUSES = frozenset({"finished", "stopped", "failed"})


def campaign_lab_name(campaign_id: str, lab: str) -> str:
    """The server lab name of campaign lab ``lab``."""
    return f"{campaign_id}-{lab}"


def _public(session: Session, row: Campaign) -> CampaignPublic:
    from agentrxiv.archive.verifications import verified_records

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
        records=verified_records(session, list(row.records or [])),
    )


def _row(session: Session, campaign_id: str) -> Campaign:
    row = session.get(Campaign, campaign_id)
    if row is None:
        raise NotFoundError(f"no campaign {campaign_id}")
    return row


def create_campaign(
    db: Database, principal: Principal, data: CampaignCreate, limits: WriteLimits | None = None
) -> CampaignPublic:
    """Store a new campaign owned by the caller's lab (and so by its owner)."""
    refuse_scoped(principal, "create campaigns")
    check_storable_text(data.model_dump(mode="json"))
    campaign_mode(data.config)  # 422 for an unknown access mode
    campaign_id = data.id or f"c{secrets.token_hex(4)}"
    check_not_reserved(campaign_id, "campaign")
    try:
        with db.write() as session:
            if limits is not None:
                consume(session, principal, "campaign", limits)
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
    """403 unless the caller is an admin or an unscoped token of the campaign's owner."""
    if principal.is_admin:
        return
    same_owner = bool(principal.owner_id) and row.owner.owner_id == principal.owner_id
    if principal.scope_campaign or not (row.owner_lab_id == principal.lab_id or same_owner):
        raise ForbiddenError(f"only the owner of campaign {row.id} or an admin may do this")


def update_campaign(
    db: Database,
    principal: Principal,
    campaign_id: str,
    data: CampaignUpdate,
    limits: WriteLimits | None = None,
) -> CampaignPublic:
    """Change a campaign's status and/or records (owner or admin)."""
    check_storable_text(data.model_dump(mode="json"))
    with db.write() as session:
        row = _row(session, campaign_id)
        _check_owner(row, principal)
        if limits is not None:
            consume(session, principal, "campaign_update", limits)
        if data.status is not None:
            row.status, row.status_reason = data.status, data.reason
            row.finished_at = utcnow() if data.status in FINAL_STATUSES else None
        if data.records is not None:
            row.records = list(data.records)
        session.flush()
        return _public(session, row)


# The campaign's own verifier lab (``<id>-verifier``, the campaign owner's) may use this part.
CAMPAIGN_LAB_PARTS_ALLOWED = frozenset({"verifier"})


def mint_lab_token(
    db: Database,
    principal: Principal,
    campaign_id: str,
    lab: str,
    limits: WriteLimits | None = None,
) -> LabToken:
    """A write token for the campaign's new lab ``<campaign id>-<lab>`` (owner or admin),
    scoped to the campaign's access mode; 409 (creating nothing) if that lab exists."""
    if not lab or len(lab) > 64 or not set(lab) <= LAB_NAME_CHARS:
        raise ArchiveError(
            f"invalid lab name {lab[:80]!r}: 1-64 letters, digits, '.', '-', '_'", status=422
        )
    if lab.lower() not in CAMPAIGN_LAB_PARTS_ALLOWED:
        check_not_reserved(lab)
    if limits is not None:
        with db.read() as session:
            precheck(session, principal, "token", limits)
    name = campaign_lab_name(campaign_id, lab)
    try:
        token, owner, mode = _mint_new_lab(db, principal, campaign_id, lab, limits)
    except IntegrityError as exc:  # a concurrent mint of the same name won
        raise ConflictError(f"lab {name} already exists; minting creates only new labs") from exc
    log.info("minted a token for %s (campaign %s, mode %s)", name, campaign_id, mode)
    return LabToken(campaign_id=campaign_id, lab=name, token=token, owner=owner)


def _mint_new_lab(
    db: Database, principal: Principal, campaign_id: str, lab: str, limits: WriteLimits | None
) -> tuple[str, str, str]:
    name = campaign_lab_name(campaign_id, lab)
    with db.write() as session:
        row = _row(session, campaign_id)
        _check_owner(row, principal)
        if session.scalar(select(Lab.id).where(Lab.name == name)) is not None:
            raise ConflictError(
                f"lab {name} already exists; minting creates only new labs",
                hint="a campaign keeps the tokens it minted in its state (--resume reuses them)",
            )
        owner = row.owner.owner.name if row.owner.owner else row.owner.name
        # The verifier re-runs every paper of the campaign, so it reads the whole campaign.
        mode = "shared" if lab.lower() == "verifier" else campaign_mode(row.config)
        token = create_token(session, name, owner=owner, scope=(campaign_id, mode))
        if limits is not None:
            consume(session, principal, "token", limits)
    return token, owner, mode


def check_campaign(session: Session, campaign_id: str | None) -> None:
    """422 when a submission names a campaign that does not exist."""
    if campaign_id is not None and session.get(Campaign, campaign_id) is None:
        raise ArchiveError(f"unknown campaign {campaign_id}", status=422)


def find_idempotent(session: Session, principal: Principal, key: str | None) -> PaperPublic | None:
    """The paper this lab already published with ``key``, if any."""
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
    """``create()`` unless this lab already published ``paper.idempotency_key`` (then 200
    with that paper); the same key with a different body is a 409."""
    key = paper.idempotency_key

    def replay(_: object) -> PaperPublic:
        with db.read() as session:
            existing = find_idempotent(session, principal, key)
        if existing is None:
            raise ConflictError(f"idempotency key {key!r} names no paper of this lab")
        return existing

    try:
        return run_once(db, principal, "paper", key, paper, response, create, replay)
    except ConflictError:
        if not key:
            raise
        with db.read() as session:  # a paper published with this key before keys had digests
            existing = find_idempotent(session, principal, key)
            recorded = session.scalar(
                select(IdempotencyRecord.id).where(
                    IdempotencyRecord.lab_id == principal.lab_id,
                    IdempotencyRecord.kind == "paper",
                    IdempotencyRecord.key == key,
                )
            )
        if existing is None or recorded is not None:
            raise
        response.status_code = 200
        return existing


def campaign_papers(session: Session, campaign_id: str) -> list[dict[str, Any]]:
    """Every paper of a campaign (oldest first) with lab, results and parents, for pages."""
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
                "builds_on_technique": version.builds_on_technique,
                "variants_tried": version.variants_tried,
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
