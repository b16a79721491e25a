"""Campaign records on a real server: API, per-lab tokens, idempotent submissions,
campaign search filters and the campaign pages."""

from __future__ import annotations

import httpx
import pytest

from agentrxiv.archive.checks import verification_from_marks
from agentrxiv.archive.schemas import CampaignCreate, CampaignUpdate, PaperCreate, ResultIn
from agentrxiv.client import ArchiveClient

pytestmark = pytest.mark.integration


def _paper(title: str, campaign: str | None = None, key: str | None = None) -> PaperCreate:
    return PaperCreate(
        title=title,
        abstract=f"{title}: majority voting for arithmetic problems.",
        body="We vote.",
        results=[ResultIn(benchmark="arith", metric="accuracy", value=0.5, n=10)],
        campaign_id=campaign,
        idempotency_key=key,
    )


def test_campaign_api_tokens_idempotency_and_filters(live_server) -> None:  # noqa: ANN001
    server = live_server  # SQLite and PostgreSQL (parametrised)
    owner_token = server.new_token("owner-lab")
    with ArchiveClient(server.url, token=owner_token) as owner:
        campaign = owner.create_campaign(CampaignCreate(name="c-test", topic="voting"))
        assert campaign.status == "running" and campaign.owner == "owner-lab"
        minted = {lab: owner.mint_lab_token(campaign.id, lab) for lab in ("lab-1", "lab-2")}
    assert minted["lab-1"].lab == f"{campaign.id}-lab-1"

    # another lab's token may neither mint tokens nor change the campaign
    with httpx.Client(base_url=server.url) as http:
        other = {"Authorization": f"Bearer {server.token}"}
        refused = http.post(f"/api/v1/campaigns/{campaign.id}/labs/x/token", headers=other)
        assert refused.status_code == 403
        bad_name = http.post(
            f"/api/v1/campaigns/{campaign.id}/labs/a%20b/token",
            headers={"Authorization": f"Bearer {server.admin_token}"},
        )
        assert bad_name.status_code == 422
        missing = http.get("/api/v1/campaigns/nope")
        assert missing.status_code == 404 and missing.json()["ok"] is False

    with ArchiveClient(server.url, token=minted["lab-1"].token) as lab1:
        first = lab1.submit(_paper("Voting one", campaign.id, key="run-1"))
        again = lab1.submit(_paper("Voting one", campaign.id, key="run-1"))
        assert again.id == first.id and first.campaign_id == campaign.id
        assert first.lab == minted["lab-1"].lab
    with ArchiveClient(server.url, token=minted["lab-2"].token) as lab2:
        second = lab2.submit(_paper("Voting two", campaign.id, key="run-1"))  # same key, other lab
        assert second.id != first.id
    with httpx.Client(base_url=server.url) as http:
        retry = http.post(
            "/api/v1/papers",
            json=_paper("Voting one", campaign.id, key="run-1").model_dump(mode="json"),
            headers={"Authorization": f"Bearer {minted['lab-1'].token}"},
        )
        assert retry.status_code == 200 and retry.json()["id"] == first.id
        unknown = http.post(
            "/api/v1/papers",
            json=_paper("Stray", "no-such-campaign").model_dump(mode="json"),
            headers={"Authorization": f"Bearer {minted['lab-1'].token}"},
        )
        assert unknown.status_code == 422 and "unknown campaign" in unknown.json()["error"]

    with ArchiveClient(server.url) as reader:
        shared = reader.search("voting", mode="keyword", campaign=campaign.id)
        assert {h.id for h in shared.items} == {first.id, second.id}
        own = reader.search("voting", mode="keyword", campaign=campaign.id, lab=first.lab)
        assert [h.id for h in own.items] == [first.id]
        listed = reader.list(campaign=campaign.id)
        assert listed.total == 2

    # The owner posts verified values of its own; pages show the verification table's.
    records = [
        {"lab": "lab-1", "paper": 1, "paper_id": first.id, "claimed": 0.5, "verified": 0.9},
        {"lab": "lab-2", "paper": 1, "paper_id": second.id, "claimed": 0.6, "verified": 0.8},
        {"lab": "lab-2", "paper": 2, "paper_id": None, "outcome": "crashed: $5 boom"},
    ]
    with ArchiveClient(server.url, token=owner_token) as owner:
        owner.update_campaign(campaign.id, CampaignUpdate(records=records))
        done = owner.update_campaign(campaign.id, CampaignUpdate(status="finished"))
    assert done.status == "finished" and done.finished_at is not None and done.papers == 2
    with ArchiveClient(server.url, token=server.new_token("independent")) as verifier:
        marks = [True] * 7 + [False] * 13  # 7 of 20: verified 0.35
        verifier.post_verification(
            first.id,
            verification_from_marks(marks, marks, benchmark="arith", code_files={}),
        )
        listed = verifier.campaign(campaign.id).records
    assert [r.get("verified") for r in listed] == [0.35, None, None]

    with httpx.Client(base_url=server.url) as http:
        index = http.get("/campaigns")
        assert index.status_code == 200 and "c-test" in index.text
        page = http.get(f"/campaigns/{campaign.id}")
        assert page.status_code == 200
        assert first.id in page.text and "0.35" in page.text and "not verified" in page.text
        assert "0.9" not in page.text and "0.8" not in page.text
        assert "crashed" in page.text
        chart = http.get(f"/campaigns/{campaign.id}/chart.svg")
        assert chart.status_code == 200 and chart.text.lstrip().startswith("<?xml")
        assert http.get("/campaigns/nope").status_code == 404
