"""Who may write what, tried as a dishonest lab would, over real HTTP on SQLite and PostgreSQL
(issue 15): lab impersonation through campaign minting, sock-puppet and reserved-name labs,
campaign access scopes applied by the server, limits per owner (a new token resets nothing;
verifications, insights, campaigns, campaign updates and minting are limited; costly anonymous
reads are limited per client address), and idempotency keys that cannot replay another body.

Each test names the attack and the status code it got on the code before owners and scopes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from tests.conftest import DATABASES, LiveServer, cli, serve_on, unique

from agentrxiv.archive.auth import create_token
from agentrxiv.archive.checks import verification_from_marks
from agentrxiv.archive.db import Database
from agentrxiv.archive.tables import ApiToken, Lab

pytestmark = pytest.mark.integration

PAPERS_PER_DAY = 3
PER_DAY = 2  # verifications, insights, campaigns, campaign updates
TOKENS_PER_DAY = 4
COSTLY_READS_PER_MINUTE = 3
SERVER_ENV = {
    "AGENTRXIV_EMBED_ON_WRITE": "false",
    "AGENTRXIV_WRITES_PER_MINUTE": "1000",
    "AGENTRXIV_PAPERS_PER_DAY": str(PAPERS_PER_DAY),
    "AGENTRXIV_VERIFICATIONS_PER_DAY": str(PER_DAY),
    "AGENTRXIV_INSIGHTS_PER_DAY": str(PER_DAY),
    "AGENTRXIV_CAMPAIGNS_PER_DAY": str(PER_DAY),
    "AGENTRXIV_CAMPAIGN_UPDATES_PER_DAY": str(PER_DAY),
    "AGENTRXIV_TOKENS_PER_DAY": str(TOKENS_PER_DAY),
    "AGENTRXIV_COSTLY_READS_PER_MINUTE": str(COSTLY_READS_PER_MINUTE),
}
FORM = {
    "originality": 3,
    "quality": 3,
    "clarity": 3,
    "significance": 3,
    "soundness": 3,
    "presentation": 3,
    "contribution": 3,
    "overall": 6,
    "confidence": 4,
    "decision": "Accept",
}


@pytest.fixture(scope="module", params=DATABASES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One server per database with small limits; each test makes its own owners."""
    yield from serve_on(
        request.param, tmp_path_factory.mktemp(f"owners-{request.param}"), SERVER_ENV
    )


def new_lab(server: LiveServer, prefix: str = "lab-") -> tuple[str, str]:
    """A fresh lab (its own owner) and a token, made on the server's database."""
    lab = unique(prefix)
    database = Database(server.db)
    try:
        with database.write() as session:
            token = create_token(session, lab)
    finally:
        database.dispose()
    return lab, token


def count(server: LiveServer, query: Any) -> int:
    """A COUNT on the server's database."""
    database = Database(server.db)
    try:
        with database.read() as session:
            return int(session.scalar(query) or 0)
    finally:
        database.dispose()


def call(
    server: LiveServer, token: str | None, method: str, path: str, **kw: Any
) -> httpx.Response:
    """One request to the API (``path`` under /api/v1)."""
    with server.client(token) as http:
        return http.request(method, f"/api/v1{path}", **kw)


def paper(**fields: Any) -> dict[str, Any]:
    """A valid submission."""
    body = {
        "title": "Owner test",
        "abstract": "A paper.",
        "body": "Body.",
        "results": [{"benchmark": "math500", "metric": "accuracy", "value": 0.5, "n": 10}],
    }
    return {**body, **fields}


def publish(server: LiveServer, token: str, **fields: Any) -> dict[str, Any]:
    """Publish and return the paper."""
    response = call(server, token, "POST", "/papers", json=paper(**fields))
    assert response.status_code == 201, response.text
    return response.json()


def campaign(server: LiveServer, token: str, mode: str = "shared") -> str:
    """Create a campaign in ``mode`` and return its id."""
    body = {"id": unique("c"), "name": "trust", "topic": "t", "config": {"mode": mode}}
    response = call(server, token, "POST", "/campaigns", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def mint(server: LiveServer, token: str, campaign_id: str, lab: str) -> httpx.Response:
    """Ask for a campaign lab token."""
    return call(server, token, "POST", f"/campaigns/{campaign_id}/labs/{lab}/token")


# ------------------------------------------------------------------ 1. impersonation


def test_campaign_minting_cannot_return_a_token_for_an_existing_lab(server: LiveServer) -> None:
    """Attack 1: campaign id ``acme`` + lab ``lab`` asked for a token of the existing lab
    ``acme-lab``. Before: 201 and a token that published as ``acme-lab``. Now: 409, no token."""
    _, attacker = new_lab(server, "mallory-")
    cid = unique("acme")
    victim = f"{cid}-lab"
    database = Database(server.db)
    with database.write() as session:
        create_token(session, victim)
    database.dispose()
    tokens_before = count(
        server, select(func.count()).select_from(ApiToken).join(Lab).where(Lab.name == victim)
    )
    body = {"id": cid, "name": "x", "topic": "x", "config": {}}
    assert call(server, attacker, "POST", "/campaigns", json=body).status_code == 201
    response = mint(server, attacker, cid, "lab")
    assert response.status_code == 409, response.text
    assert "already exists" in response.json()["error"]
    tokens_after = count(
        server, select(func.count()).select_from(ApiToken).join(Lab).where(Lab.name == victim)
    )
    assert tokens_after == tokens_before == 1


def test_an_owner_mints_only_for_its_own_labs(server: LiveServer) -> None:
    """Attack 1b: another owner's token asks ``POST /labs/<victim>/tokens``. Before: 404 (no
    such route, no owners). Now: 403; its own labs get tokens that publish as them."""
    victim, _ = new_lab(server, "victim-")
    _, attacker = new_lab(server, "mallory-")
    stolen = call(server, attacker, "POST", f"/labs/{victim}/tokens")
    assert stolen.status_code == 403, stolen.text
    second_lab = unique("mallory-second-")
    minted = call(server, attacker, "POST", f"/labs/{second_lab}/tokens")
    assert minted.status_code == 201, minted.text
    assert publish(server, minted.json()["token"])["lab"] == second_lab


def test_token_create_owner_and_token_list_show_owners(server: LiveServer) -> None:
    """``token create LAB --owner NAME`` ties the lab to the owner; ``token list`` shows it;
    an existing lab of another owner is refused."""
    owner, lab = unique("org-"), unique("lab-")
    token = cli("token", "create", lab, "--owner", owner, home=server.home, db=server.db).strip()
    assert publish(server, token)["lab"] == lab
    listing = cli("token", "list", "--lab", lab, home=server.home, db=server.db)
    assert owner in listing
    other = cli(
        "token", "create", lab, "--owner", unique("x-"), home=server.home, db=server.db, check=False
    )
    assert token not in other and other.strip() == ""


# ------------------------------------------------------------------ 2. sock puppets, names


@pytest.mark.parametrize(
    ("path", "status_before"),
    [
        ("/campaigns/{cid}/labs/admin/token", 201),
        ("/labs/verifier/tokens", 404),
        ("/labs/ROOT/tokens", 404),
    ],
)
def test_reserved_names_are_refused(server: LiveServer, path: str, status_before: int) -> None:
    """Attack 2: a lab named like a server role (``admin``, ``verifier``, ``root``). Before:
    ``status_before``. Now: 422."""
    _, token = new_lab(server, "owner-")
    cid = campaign(server, token)
    response = call(server, token, "POST", path.format(cid=cid))
    assert response.status_code == 422, response.text
    assert "reserved" in response.json()["error"]
    body = {"id": "system", "name": "x", "topic": "x", "config": {}}
    assert call(server, token, "POST", "/campaigns", json=body).status_code in (409, 422)


def test_sock_puppet_labs_share_their_owners_quota(server: LiveServer) -> None:
    """Attack 2b: mint fresh labs to escape the paper quota. Before: every new lab (token)
    had a fresh quota (201). Now: the owner's quota covers all its labs: 429."""
    _, token = new_lab(server, "puppeteer-")
    puppets = [call(server, token, "POST", f"/labs/{unique('puppet-')}/tokens") for _ in range(2)]
    assert [p.status_code for p in puppets] == [201, 201], [p.text for p in puppets]
    tokens = [token] + [p.json()["token"] for p in puppets]
    statuses = [
        call(server, tokens[i % 3], "POST", "/papers", json=paper()).status_code
        for i in range(PAPERS_PER_DAY + 1)
    ]
    assert statuses == [201] * PAPERS_PER_DAY + [429]


# ------------------------------------------------------------------ 3. access scopes


def _scoped_setup(server: LiveServer, mode: str) -> dict[str, Any]:
    """An outsider's paper (with code and insights) and a campaign lab in ``mode``, plus a
    sibling campaign lab's paper."""
    word = unique("zyxscope")
    _, outsider = new_lab(server, "outsider-")
    code = {"technique.py": f"def solve(x):\n    return '{word}'\n"}
    outside = publish(server, outsider, title=f"{word} outside", code_files=code)
    batch = insight_batch(server, outside, [{"kind": "strategy", "text": word}])
    assert call(server, outsider, "POST", "/insights", json=batch).status_code == 201
    _, owner = new_lab(server, "campaigner-")
    cid = campaign(server, owner, mode)
    lab = mint(server, owner, cid, "a").json()["token"]
    sibling = mint(server, owner, cid, "b").json()["token"]
    inside = publish(server, sibling, title=f"{word} sibling", campaign_id=cid)
    own = publish(server, lab, title=f"{word} own", campaign_id=cid)
    return {"word": word, "lab": lab, "code": code, "cid": cid, "outside": outside["id"]} | {
        "sibling": inside["id"],
        "own": own["id"],
    }


def _searched(server: LiveServer, token: str, word: str, **params: Any) -> set[str]:
    query = {"q": word, "mode": "keyword", **params}
    response = call(server, token, "GET", "/search", params=query)
    assert response.status_code == 200, response.text
    return {hit["id"] for hit in response.json()["items"]}


def test_none_mode_token_reads_nothing_outside_its_lab(server: LiveServer) -> None:
    """Attack 3: a lab in a ``none`` campaign reads the rest of the archive with its token.
    Before: search found the outsider (200 with it), the paper read was 200, the novelty
    check named the outsider as the original, aggregates and insights covered everything.
    Now: only the lab's own papers; the outsider's paper is a 404."""
    s = _scoped_setup(server, "none")
    assert _searched(server, s["lab"], s["word"]) == {s["own"]}
    assert _searched(server, s["lab"], s["word"], campaign=s["cid"]) == {s["own"]}
    assert call(server, s["lab"], "GET", f"/papers/{s['outside']}").status_code == 404
    assert call(server, s["lab"], "GET", f"/papers/{s['sibling']}").status_code == 404
    assert call(server, s["lab"], "GET", f"/papers/{s['own']}").status_code == 200
    check = {"text": "a method", "code": s["code"]["technique.py"]}
    verdict = call(server, s["lab"], "POST", "/novelty/check", json=check).json()
    assert verdict["near_duplicate_of"] is None and verdict["neighbours"] == []
    counts = call(server, s["lab"], "GET", "/aggregate/papers-per-lab").json()["items"]
    assert [item["papers"] for item in counts] == [1]
    found = call(server, s["lab"], "GET", "/insights", params={"q": s["word"], "mode": "keyword"})
    assert found.status_code == 200 and found.json()["items"] == []
    # Without the token the archive stays public: scopes isolate experiments, not secrets.
    public = call(server, None, "POST", "/novelty/check", json=check).json()
    assert public["near_duplicate_of"] == s["outside"]


def test_shared_mode_token_reads_its_campaign_only(server: LiveServer) -> None:
    """Attack 3b: a ``shared`` campaign lab asks for another campaign's or the whole
    archive's papers. Before: 200 with them. Now: the campaign's papers; other filters 403."""
    s = _scoped_setup(server, "shared")
    assert _searched(server, s["lab"], s["word"]) == {s["own"], s["sibling"]}
    outside = call(server, s["lab"], "GET", "/search", params={"q": "x", "campaign": "other"})
    assert outside.status_code == 403
    assert call(server, s["lab"], "GET", f"/papers/{s['outside']}").status_code == 404
    assert call(server, s["lab"], "GET", f"/papers/{s['sibling']}").status_code == 200
    listed = call(server, s["lab"], "GET", "/papers", params={"limit": 200}).json()["items"]
    assert {item["id"] for item in listed} == {s["own"], s["sibling"]}


def test_scoped_token_cannot_mint_or_create_campaigns(server: LiveServer) -> None:
    """Attack 3c: a campaign lab token mints itself an unscoped token or a sibling lab, or
    updates its campaign. Before: 201 for a new campaign (then any lab). Now: 403."""
    _, owner = new_lab(server, "campaigner-")
    cid = campaign(server, owner, "none")
    lab = mint(server, owner, cid, "a").json()["token"]
    assert call(server, lab, "POST", f"/labs/{unique('free-')}/tokens").status_code == 403
    assert mint(server, lab, cid, "b").status_code == 403
    body = {"name": "escape", "topic": "t", "config": {"mode": "shared"}}
    assert call(server, lab, "POST", "/campaigns", json=body).status_code == 403
    assert call(server, lab, "PATCH", f"/campaigns/{cid}", json={"records": []}).status_code == 403


def test_campaign_mode_cannot_change_on_resume(tmp_path: Path) -> None:
    """Attack 3d: resume a ``none`` campaign as ``shared``. Before: accepted silently. Now:
    one ConfigError naming both modes (before anything is sent to the server)."""
    from agentrxiv.campaign.config import CampaignConfig
    from agentrxiv.campaign.ledger import CampaignState, save_campaign_state
    from agentrxiv.campaign.orchestrator import Orchestrator, campaign_dir
    from agentrxiv.errors import ConfigError

    def config(mode: str) -> CampaignConfig:
        return CampaignConfig(
            name="modes", topic="topic", mode=mode, server="http://127.0.0.1:9", output_dir=tmp_path
        )

    first = config("none")
    campaign_dir(first).mkdir(parents=True)
    state = CampaignState(
        campaign_id="c1", name="modes", server="x", config=first.model_dump(mode="json")
    )
    save_campaign_state(campaign_dir(first), state)
    with pytest.raises(ConfigError, match="access mode 'none'.*'shared'"):
        Orchestrator(config("shared"), resume=True).prepare()


# ------------------------------------------------------------------ 4. limits


def test_a_new_token_does_not_reset_the_quota(server: LiveServer) -> None:
    """Attack 4: at the paper quota, make another token for the same lab. Before: 201 (the
    quota was per token). Now: 429 with Retry-After."""
    lab, first = new_lab(server, "quota-")
    for _ in range(PAPERS_PER_DAY):
        publish(server, first)
    database = Database(server.db)
    with database.write() as session:
        second = create_token(session, lab)
    database.dispose()
    refused = call(server, second, "POST", "/papers", json=paper())
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["Retry-After"]) >= 1


def _verification(paper: dict[str, Any]) -> dict[str, Any]:
    """A record the server accepts: numbers from per-problem marks, the paper's code hash."""
    record = verification_from_marks(
        [True, True, False], [True, False, False], benchmark="math500",
        code_files=paper.get("code_files") or {},
    )  # fmt: skip
    return record.model_dump(mode="json", exclude_none=True)


def insight_batch(
    server: LiveServer, paper: dict[str, Any], insights: list[dict[str, str]]
) -> dict[str, Any]:
    """An insight batch whose evidence names a verification of ``paper`` (posted by a lab of
    another owner, so that it counts against no quota under test)."""
    _, verifier = new_lab(server, "checker-")
    posted = call(
        server, verifier, "POST", f"/papers/{paper['id']}/verifications", json=_verification(paper)
    )
    assert posted.status_code == 201, posted.text
    evidence = {"verification_id": posted.json()["id"]}
    return {"paper_id": paper["id"], "insights": insights, "evidence": evidence}


@pytest.mark.parametrize("kind", ["verification", "insight", "campaign", "campaign_update"])
def test_unlimited_writes_are_now_limited(server: LiveServer, kind: str) -> None:
    """Attack 4b: flood verifications, insights, campaigns or campaign updates. Before: 201 or
    200 every time. Now: 429 with Retry-After after the per-owner daily quota."""
    _, token = new_lab(server, "flood-")
    published = publish(server, token)
    pid = published["id"]
    cid = campaign(server, token) if kind == "campaign_update" else ""
    pitfall = [{"kind": "pitfall", "text": "t"}]
    requests = {
        "verification": ("POST", f"/papers/{pid}/verifications", _verification(published)),
        "insight": ("POST", "/insights", insight_batch(server, published, pitfall)),
        "campaign": ("POST", "/campaigns", {"name": "n", "topic": "t", "config": {}}),
        "campaign_update": ("PATCH", f"/campaigns/{cid}", {"status": "running"}),
    }
    method, path, body = requests[kind]
    statuses = [
        call(server, token, method, path, json=body).status_code for _ in range(PER_DAY + 1)
    ]
    assert statuses[-1] == 429 and all(s in (200, 201) for s in statuses[:-1]), statuses


def test_token_minting_is_limited_per_owner(server: LiveServer) -> None:
    """Attack 4c: mint tokens without end. Before: 404 (no route) / 201 for campaign labs
    without limit. Now: 429 after AGENTRXIV_TOKENS_PER_DAY."""
    lab, token = new_lab(server, "minter-")
    statuses = [
        call(server, token, "POST", f"/labs/{lab}/tokens").status_code
        for _ in range(TOKENS_PER_DAY + 1)
    ]
    assert statuses == [201] * TOKENS_PER_DAY + [429]


def test_costly_anonymous_reads_are_limited_per_client(server: LiveServer) -> None:
    """Attack 4d: call the unauthenticated novelty check (an embedding per call) and
    semantic search in a loop. Before: 200 every time. Now: 429 with Retry-After."""
    check = {"text": "a method to check"}
    statuses = [
        call(server, None, "POST", "/novelty/check", json=check).status_code
        for _ in range(2 * COSTLY_READS_PER_MINUTE + 2)
    ]
    assert 429 in statuses, statuses
    for _ in range(2):  # the minute may have turned between the two calls
        refused = call(server, None, "GET", "/search", params={"q": "x", "mode": "semantic"})
        if refused.status_code == 429:
            break
        for _ in range(COSTLY_READS_PER_MINUTE + 1):
            call(server, None, "POST", "/novelty/check", json=check)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    keyword = call(server, None, "GET", "/search", params={"q": "x", "mode": "keyword"})
    assert keyword.status_code == 200


# ------------------------------------------------------------------ 5. idempotency


def test_same_paper_key_with_another_body_is_a_conflict(server: LiveServer) -> None:
    """Attack 5: reuse an idempotency key with a different paper. Before: 200 with the first
    paper (the new body silently dropped). Now: 409; the same body still replays (200)."""
    _, token = new_lab(server, "idem-")
    first = call(server, token, "POST", "/papers", json=paper(idempotency_key="k1"))
    again = call(server, token, "POST", "/papers", json=paper(idempotency_key="k1"))
    other = call(server, token, "POST", "/papers", json=paper(idempotency_key="k1", title="Else"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 409, other.text


@pytest.mark.parametrize("kind", ["review", "verification"])
def test_keyed_reviews_and_verifications_are_written_once(server: LiveServer, kind: str) -> None:
    """Attack 5b: a lab retries a review or verification after a lost response. Before: a
    second row (201 twice). Now: 201 then 200 with the same row; another body: 409."""
    _, author = new_lab(server, "author-")
    _, poster = new_lab(server, "poster-")
    published = publish(server, author)
    pid = published["id"]
    path = f"/papers/{pid}/{kind}s"
    body = {"reviewer": "R2", "form": FORM} if kind == "review" else _verification(published)
    changed = {**body, "reviewer": "R3"} if kind == "review" else {**body, "value": 0.9}
    headers = {"Idempotency-Key": f"{kind}-1"}
    first = call(server, poster, "POST", path, json=body, headers=headers)
    retry = call(server, poster, "POST", path, json=body, headers=headers)
    other = call(server, poster, "POST", path, json=changed, headers=headers)
    assert (first.status_code, retry.status_code, other.status_code) == (201, 200, 409)
    assert retry.json()["id"] == first.json()["id"]
    listed = call(server, None, "GET", path).json()
    assert len(listed) == 1


# ------------------------------------------------------------------ migration


def test_tokens_made_before_owners_keep_publishing_as_their_lab(db_url: str) -> None:
    """Migration 0008 gives each existing lab an owner of its own name; its old token still
    authenticates as the lab (and now counts against that owner)."""
    import hashlib

    import sqlalchemy as sa

    from agentrxiv.archive.auth import authenticate
    from agentrxiv.archive.db import make_engine, migrate

    migrate(db_url, "0007_insights_novelty")
    engine = make_engine(db_url)
    secret = "arx_before_owners"
    with engine.begin() as conn:
        for name in ("old-lab", "other-old-lab"):
            conn.execute(
                sa.text("INSERT INTO labs (name, created_at) VALUES (:n, CURRENT_TIMESTAMP)"),
                {"n": name},
            )
        lab_id = conn.execute(sa.text("SELECT id FROM labs WHERE name = 'old-lab'")).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO api_tokens (lab_id, token_hash, is_admin, revoked, created_at, "
                "is_human) VALUES (:lab, :hash, false, false, CURRENT_TIMESTAMP, false)"
            ),
            {"lab": lab_id, "hash": hashlib.sha256(secret.encode()).hexdigest()},
        )
    engine.dispose()
    migrate(db_url)
    database = Database(db_url)
    try:
        with database.read() as session:
            principal = authenticate(session, secret)
            owners = session.execute(
                sa.text("SELECT o.name FROM labs l JOIN owners o ON o.id = l.owner_id")
            ).scalars()
            assert sorted(owners) == ["old-lab", "other-old-lab"]
    finally:
        database.dispose()
    assert (principal.lab_name, principal.owner_name) == ("old-lab", "old-lab")
    assert principal.scope_campaign is None
