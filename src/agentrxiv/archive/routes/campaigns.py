"""Campaigns in the JSON API (``/api/v1/campaigns``) and as pages (``/campaigns``,
``/campaigns/<id>`` with a live SVG chart of claimed vs verified values)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import HTMLResponse

from agentrxiv.archive import campaigns
from agentrxiv.archive.deps import CurrentLab, DatabaseDep, SessionDep
from agentrxiv.archive.schemas import (
    CampaignCreate,
    CampaignList,
    CampaignPublic,
    CampaignUpdate,
    ErrorBody,
    LabToken,
)

router = APIRouter(tags=["campaigns"])
pages = APIRouter(include_in_schema=False)

CampaignId = Annotated[str, Path(max_length=40, description="Campaign id.")]
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorBody} for s in (400, 401, 403, 404, 409, 413, 422)
}


@router.post("/campaigns", status_code=201, responses=ERRORS)
def create_campaign(data: CampaignCreate, principal: CurrentLab, db: DatabaseDep) -> CampaignPublic:
    """Create a campaign; the token's lab owns it and may mint tokens for its labs."""
    return campaigns.create_campaign(db, principal, data)


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
    campaign_id: CampaignId, data: CampaignUpdate, principal: CurrentLab, db: DatabaseDep
) -> CampaignPublic:
    """Change a campaign's status or records (its owner or an admin)."""
    return campaigns.update_campaign(db, principal, campaign_id, data)


@router.post("/campaigns/{campaign_id}/labs/{lab}/token", status_code=201, responses=ERRORS)
def mint_lab_token(
    campaign_id: CampaignId,
    lab: Annotated[str, Path(max_length=64)],
    principal: CurrentLab,
    db: DatabaseDep,
) -> LabToken:
    """A write token for the campaign's lab ``<campaign id>-<lab>`` (owner or admin)."""
    return campaigns.mint_lab_token(db, principal, campaign_id, lab)


# ---------------------------------------------------------------------------- pages


def _rows(session: Any, campaign_id: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_paper = {str(r.get("paper_id")): r for r in records if r.get("paper_id")}
    rows = []
    for paper in campaigns.campaign_papers(session, campaign_id):
        record = by_paper.get(paper["id"], {})
        claimed = next(
            (r["value"] for r in paper["results"] if r["metric"] == "accuracy"),
            record.get("claimed"),
        )
        rows.append({**paper, "claimed": claimed, "verified": record.get("verified")})
    return rows


@pages.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(session: SessionDep) -> HTMLResponse:
    """Every campaign with status and papers."""
    from agentrxiv.archive.routes.pages import render_page

    listing = campaigns.list_campaigns(session, 0, 200)
    return render_page("campaigns.html", items=listing.items, total=listing.total)


@pages.get("/campaigns/{campaign_id}/chart.svg")
def campaign_chart(campaign_id: CampaignId, session: SessionDep) -> Response:
    """Best verified and claimed value so far, per lab and for the campaign."""
    from agentrxiv.archive.campaign_chart import campaign_chart_svg
    from agentrxiv.archive.routes.pages import SVG_HEADERS

    campaign = campaigns.get_campaign(session, campaign_id)
    svg = campaign_chart_svg(campaign.name, list(campaign.records))
    return Response(svg, media_type="image/svg+xml", headers=SVG_HEADERS)


@pages.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(campaign_id: CampaignId, session: SessionDep) -> HTMLResponse:
    """A campaign: status, curves and the table of papers (claimed vs verified)."""
    from agentrxiv.archive.routes.pages import not_found_page, render_page
    from agentrxiv.errors import NotFoundError

    try:
        campaign = campaigns.get_campaign(session, campaign_id)
    except NotFoundError as exc:
        return not_found_page(exc.message)
    rows = _rows(session, campaign_id, list(campaign.records))
    failed = [r for r in campaign.records if not r.get("paper_id")]
    return render_page("campaign.html", campaign=campaign, rows=rows, failed=failed)
