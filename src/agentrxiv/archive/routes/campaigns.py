"""Campaigns in the JSON API (``/api/v1/campaigns``) and as pages (``/campaigns``,
``/campaigns/<id>`` with a live SVG chart of claimed vs verified values)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import HTMLResponse

from agentrxiv.archive import campaigns
from agentrxiv.archive.campaign_chart import campaign_chart_svg
from agentrxiv.archive.deps import CurrentLab, DatabaseDep, SessionDep, SettingsDep
from agentrxiv.archive.limits import WriteLimits
from agentrxiv.archive.owners import mint_for_lab
from agentrxiv.archive.routes.pages import SVG_HEADERS, not_found_page, render_page
from agentrxiv.archive.schemas import (
    CampaignCreate,
    CampaignList,
    CampaignPublic,
    CampaignUpdate,
    ErrorBody,
    LabToken,
)
from agentrxiv.errors import NotFoundError

router = APIRouter(tags=["campaigns"])
pages = APIRouter(include_in_schema=False)

CampaignId = Annotated[str, Path(max_length=40, description="Campaign id.")]
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorBody} for s in (400, 401, 403, 404, 409, 413, 422, 429)
}


@router.post("/campaigns", status_code=201, responses=ERRORS)
def create_campaign(
    data: CampaignCreate, principal: CurrentLab, db: DatabaseDep, settings: SettingsDep
) -> CampaignPublic:
    """Create a campaign; the token's lab (and its owner) owns it and may mint its labs."""
    return campaigns.create_campaign(db, principal, data, WriteLimits.from_settings(settings))


@router.get("/campaigns", responses=ERRORS)
def list_campaigns(
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CampaignList:
    """Campaigns, newest first."""
    return campaigns.list_campaigns(session, offset, limit)


@router.get("/campaigns/{campaign_id}", responses=ERRORS)
def get_campaign(campaign_id: CampaignId, session: SessionDep) -> CampaignPublic:
    """One campaign with its per-paper records."""
    return campaigns.get_campaign(session, campaign_id)


@router.patch("/campaigns/{campaign_id}", responses=ERRORS)
def update_campaign(
    campaign_id: CampaignId,
    data: CampaignUpdate,
    principal: CurrentLab,
    db: DatabaseDep,
    settings: SettingsDep,
) -> CampaignPublic:
    """Change a campaign's status or records (its owner or an admin)."""
    limits = WriteLimits.from_settings(settings)
    return campaigns.update_campaign(db, principal, campaign_id, data, limits)


@router.post("/campaigns/{campaign_id}/labs/{lab}/token", status_code=201, responses=ERRORS)
def mint_lab_token(
    campaign_id: CampaignId,
    lab: Annotated[str, Path(max_length=64)],
    principal: CurrentLab,
    db: DatabaseDep,
    settings: SettingsDep,
) -> LabToken:
    """A write token for the campaign's new lab ``<campaign id>-<lab>`` (owner or admin),
    scoped to the campaign's access mode; 409 if that lab already exists."""
    limits = WriteLimits.from_settings(settings)
    return campaigns.mint_lab_token(db, principal, campaign_id, lab, limits)


@router.post("/labs/{lab}/tokens", status_code=201, responses=ERRORS, tags=["owners"])
def mint_owner_lab_token(
    lab: Annotated[str, Path(max_length=200)],
    principal: CurrentLab,
    db: DatabaseDep,
    settings: SettingsDep,
) -> LabToken:
    """A new token for one of the caller's owner's labs, or for a new lab created under that
    owner; another owner's lab is a 403 (admins excepted), a reserved name a 422."""
    return mint_for_lab(db, principal, lab, WriteLimits.from_settings(settings))


# ---------------------------------------------------------------------------- pages


def _rows(session: Any, campaign_id: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The campaign's papers with their claim (the archive's rule) and verified value, its n
    and interval (from the verification table; ``records`` come from ``get_campaign``)."""
    from agentrxiv.archive.verifications import campaign_headlines, claimed_values

    by_paper = {str(r.get("paper_id")): r for r in records if r.get("paper_id")}
    papers = campaigns.campaign_papers(session, campaign_id)
    claims = claimed_values(session, [paper["id"] for paper in papers])
    found = campaign_headlines(session, [p["id"] for p in papers])
    rows, tried_so_far = [], 0
    for paper in papers:
        record = by_paper.get(paper["id"], {})
        claimed = claims.get(paper["id"], record.get("claimed"))
        verified = None  # only the verification table counts, not the owner-posted record
        verification = found.get(paper["id"])
        interval: tuple[float, float] | None = None
        if verification is not None and verification.value is not None:
            verified = verification.value
            stored = verification.record or {}
            low, high = stored.get("ci_low"), stored.get("ci_high")
            interval = (low, high) if low is not None and high is not None else None
            record = {
                **record,
                "verified_n": verification.n,
                "verified_standing": verification.standing,
            }
        tried_so_far += paper["variants_tried"] or 0  # campaign-wide, in publication order
        gap = claimed - verified if claimed is not None and verified is not None else None
        rows.append(
            {
                **paper,
                "claimed": claimed,
                "verified": verified,
                "verified_n": record.get("verified_n"),
                "verified_ci": interval,
                "verified_standing": record.get("verified_standing"),
                "variants_campaign": tried_so_far,
                "gap": gap,
            }
        )
    return rows


@pages.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(session: SessionDep) -> HTMLResponse:
    """Every campaign with status and papers."""
    listing = campaigns.list_campaigns(session, 0, 200)
    return render_page("campaigns.html", items=listing.items, total=listing.total)


@pages.get("/campaigns/{campaign_id}/chart.svg")
def campaign_chart(campaign_id: CampaignId, session: SessionDep) -> Response:
    """Best verified and claimed value so far, per lab and for the campaign."""
    campaign = campaigns.get_campaign(session, campaign_id)
    svg = campaign_chart_svg(campaign.name, list(campaign.records))
    return Response(svg, media_type="image/svg+xml", headers=SVG_HEADERS)


@pages.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(campaign_id: CampaignId, session: SessionDep) -> HTMLResponse:
    """A campaign: status, curves and the table of papers (claimed vs verified)."""
    try:
        campaign = campaigns.get_campaign(session, campaign_id)
    except NotFoundError as exc:
        return not_found_page(exc.message)
    rows = _rows(session, campaign_id, list(campaign.records))
    failed = [r for r in campaign.records if not r.get("paper_id")]
    return render_page("campaign.html", campaign=campaign, rows=rows, failed=failed)
