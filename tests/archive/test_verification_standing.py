"""The standing of a verification, decided by the server from owners (issue 16), over real
HTTP on SQLite and PostgreSQL: ``self`` (the paper's lab), ``same owner`` (a sock-puppet lab
of the paper lab's owner, or a campaign's ``<id>-verifier`` lab), ``independent`` (a lab of
another owner) and ``archive`` (a verifier token, which only the operator creates). A posted
``standing`` is refused; leaderboards and listings count only archive and independent records
unless asked (``standing=any``).

Before this change every other lab, sock puppets included, counted as independent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.conftest import (
    DATABASES,
    LiveServer,
    cli,
    new_lab,
    serve_on,
    start_server,
    stop_server,
    unique,
)

from agentrxiv.archive.checks import verification_from_marks
from agentrxiv.archive.db import Database

pytestmark = pytest.mark.integration

SERVER_ENV = {"AGENTRXIV_EMBED_ON_WRITE": "false", "AGENTRXIV_WRITES_PER_MINUTE": "1000"}


@pytest.fixture(scope="module", params=DATABASES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One server per database; each test makes its own owners and benchmark."""
    yield from serve_on(
        request.param, tmp_path_factory.mktemp(f"standing-{request.param}"), SERVER_ENV
    )


def call(
    server: LiveServer, token: str | None, method: str, path: str, **kw: Any
) -> httpx.Response:
    """One request to the API (``path`` under /api/v1)."""
    with server.client(token) as http:
        return http.request(method, f"/api/v1{path}", **kw)


def publish(server: LiveServer, token: str, benchmark: str) -> dict[str, Any]:
    """Publish a paper claiming 0.5 on ``benchmark`` and return it."""
    body = {
        "title": "Standing test",
        "abstract": "A paper.",
        "body": "Body.",
        "results": [{"benchmark": benchmark, "metric": "accuracy", "value": 0.5, "n": 10}],
    }
    response = call(server, token, "POST", "/papers", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def record(paper: dict[str, Any], benchmark: str, **fields: Any) -> dict[str, Any]:
    """A verification body the server accepts (numbers from per-problem marks)."""
    made = verification_from_marks(
        [True, True, False], [True, False, False], benchmark=benchmark,
        code_files=paper.get("code_files") or {},
    )  # fmt: skip
    return {**made.model_dump(mode="json", exclude_none=True), **fields}


def verify(
    server: LiveServer, token: str, paper: dict[str, Any], benchmark: str, **fields: Any
) -> httpx.Response:
    """Post a verification of ``paper``."""
    body = record(paper, benchmark, **fields)
    return call(server, token, "POST", f"/papers/{paper['id']}/verifications", json=body)


def mint_sock_puppet(server: LiveServer, token: str) -> str:
    """A token of a new lab under the same owner as ``token`` (``POST /labs/<lab>/tokens``)."""
    minted = call(server, token, "POST", f"/labs/{unique('puppet-')}/tokens")
    assert minted.status_code == 201, minted.text
    return minted.json()["token"]


def verifier_token(server: LiveServer) -> str:
    """The archive's verifier token, made by the operator (``token create --verifier``)."""
    lab = unique("archive-verifier-")
    return cli("token", "create", lab, "--verifier", home=server.home, db=server.db).strip()


def test_the_server_assigns_every_standing(server: LiveServer) -> None:
    """self / same owner / independent / archive come from owners and the token, whatever
    the client says: a posted ``standing`` is refused (422) and nothing is stored."""
    benchmark = unique("bench-")
    author = new_lab(server, "author-")
    paper = publish(server, author, benchmark)
    posters = {
        "self": author,
        "same owner": mint_sock_puppet(server, author),
        "independent": new_lab(server, "other-"),
        "archive": verifier_token(server),
    }
    for expected, token in posters.items():
        posted = verify(server, token, paper, benchmark)
        assert posted.status_code == 201, posted.text
        assert posted.json()["standing"] == expected
        assert posted.json()["self_verification"] is (expected == "self")
    lying = verify(server, author, paper, benchmark, standing="archive")
    assert lying.status_code == 422, lying.text
    listed = call(server, None, "GET", f"/papers/{paper['id']}/verifications").json()
    assert [v["standing"] for v in listed] == list(posters)


def test_a_token_minted_by_the_verifier_lab_is_not_the_archive(server: LiveServer) -> None:
    """Only the operator makes verifier tokens: a token the verifier lab mints over HTTP
    posts with the standing of an ordinary lab, and ``token list`` names the kinds."""
    benchmark = unique("bench-")
    paper = publish(server, new_lab(server, "author-"), benchmark)
    archive = verifier_token(server)
    minted = mint_sock_puppet(server, archive)
    posted = verify(server, minted, paper, benchmark)
    assert posted.status_code == 201, posted.text
    assert posted.json()["standing"] == "independent"
    listing = cli("token", "list", home=server.home, db=server.db)
    assert "verifier" in listing


def test_a_campaign_verifier_lab_has_same_owner_standing(server: LiveServer) -> None:
    """A campaign's ``<id>-verifier`` lab belongs to the campaign owner: ``same owner`` on a
    paper of one of the campaign's labs."""
    benchmark = unique("bench-")
    owner = new_lab(server, "campaigner-")
    cid = unique("c")
    body = {"id": cid, "name": "standing", "topic": "t", "config": {"mode": "shared"}}
    assert call(server, owner, "POST", "/campaigns", json=body).status_code == 201
    tokens = {}
    for lab in ("lab", "verifier"):
        minted = call(server, owner, "POST", f"/campaigns/{cid}/labs/{lab}/token")
        assert minted.status_code == 201, minted.text
        tokens[lab] = minted.json()["token"]
    paper = publish(server, tokens["lab"], benchmark)
    posted = verify(server, tokens["verifier"], paper, benchmark)
    assert posted.status_code == 201, posted.text
    assert posted.json()["verifier"] == f"{cid}-verifier"
    assert posted.json()["standing"] == "same owner"


def _entry(server: LiveServer, benchmark: str, **params: str) -> dict[str, Any]:
    board = call(server, None, "GET", f"/leaderboard/{benchmark}", params=params)
    assert board.status_code == 200, board.text
    (entry,) = board.json()["entries"]
    return entry


def test_leaderboards_count_only_archive_and_independent_by_default(server: LiveServer) -> None:
    """A self-verified or sock-puppet-verified value does not make a paper 'verified' on the
    leaderboard, the listing or search; ``standing=any`` shows it, labelled."""
    benchmark = unique("bench-")
    author = new_lab(server, "author-")
    paper = publish(server, author, benchmark)
    assert verify(server, author, paper, benchmark).status_code == 201
    assert verify(server, mint_sock_puppet(server, author), paper, benchmark).status_code == 201
    entry = _entry(server, benchmark)
    assert entry["verified_value"] is None and entry["verification_status"] is None
    shown = _entry(server, benchmark, standing="any")
    assert shown["verified_value"] is not None
    assert shown["verified_standing"] == "same owner"  # the latest of any standing
    listing = call(server, None, "GET", "/papers", params={"limit": 200}).json()["items"]
    (item,) = [i for i in listing if i["id"] == paper["id"]]
    assert item["verified_value"] is None
    assert verify(server, new_lab(server, "other-"), paper, benchmark).status_code == 201
    entry = _entry(server, benchmark)
    assert entry["verified_value"] is not None
    assert entry["verified_standing"] == "independent"


def test_the_paper_page_labels_each_standing(server: LiveServer) -> None:
    """The paper page's verification table has a Standing column naming each record's."""
    benchmark = unique("bench-")
    author = new_lab(server, "author-")
    paper = publish(server, author, benchmark)
    assert verify(server, author, paper, benchmark).status_code == 201
    assert verify(server, mint_sock_puppet(server, author), paper, benchmark).status_code == 201
    with server.client(None) as http:
        page = http.get(f"/abs/{paper['id']}")
    assert page.status_code == 200, page.text
    assert "<th" in page.text and ">Standing</th>" in page.text
    assert 'class="tag standing self"' in page.text
    assert 'class="tag standing same-owner"' in page.text


def test_migration_gives_stored_rows_their_standing_from_owners(
    db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Rows stored before 0011 get ``self`` / ``same owner`` / ``independent`` from the two
    labs' owners (downgrade to 0010 drops the column; upgrading computes it again)."""
    from alembic import command

    from agentrxiv.archive.db import alembic_config, migrate

    live = start_server(tmp_path_factory.mktemp("standing-migration"), db_url, SERVER_ENV)
    try:
        benchmark = unique("bench-")
        author = new_lab(live, "author-")
        paper = publish(live, author, benchmark)
        for token in (author, mint_sock_puppet(live, author), new_lab(live, "other-")):
            assert verify(live, token, paper, benchmark).status_code == 201
    finally:
        stop_server(live)
    command.downgrade(alembic_config(db_url), "0010_verification_trust")
    migrate(db_url)
    database = Database(db_url)
    try:
        with database.read() as session:
            from agentrxiv.archive.verifications import list_verifications

            stored = list_verifications(session, paper["id"])
    finally:
        database.dispose()
    assert [v.standing for v in stored] == ["self", "same owner", "independent"]
