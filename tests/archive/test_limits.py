"""Trust and abuse, over real HTTP on SQLite and PostgreSQL: review and author provenance,
self-review marking, human tokens, reviews of withdrawn papers, per-version reviews, rate
limits and daily quotas (429 + Retry-After, counted in the database), token list / revoke /
expiry, size limits for code and PDFs (413), nonexistent versions on write endpoints (404),
and leaderboard charts whose names contain ``$``."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from tests.conftest import DATABASES, LiveServer, cli, serve_on

from agentrxiv.archive.auth import create_token
from agentrxiv.archive.db import Database

pytestmark = pytest.mark.integration

WRITES_PER_MINUTE = 8
PAPERS_PER_DAY = 3
SERVER_ENV = {
    "AGENTRXIV_EMBED_ON_WRITE": "false",
    "AGENTRXIV_WRITES_PER_MINUTE": str(WRITES_PER_MINUTE),
    "AGENTRXIV_PAPERS_PER_DAY": str(PAPERS_PER_DAY),
    "AGENTRXIV_MAX_CODE_BYTES": "2000",
    "AGENTRXIV_MAX_PDF_BYTES": "1000",
}
FORM = {
    "originality": 3,
    "quality": 3,
    "clarity": 3,
    "significance": 3,
    "soundness": 3,
    "presentation": 3,
    "contribution": 3,
    "overall": 10,
    "confidence": 5,
    "decision": "Accept",
}


@pytest.fixture(scope="module", params=DATABASES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One server per database with small limits; each test makes its own tokens."""
    yield from serve_on(
        request.param, tmp_path_factory.mktemp(f"limits-{request.param}"), SERVER_ENV
    )


def lab_token(
    server: LiveServer,
    prefix: str = "lab",
    *,
    human: bool = False,
    expires_days: float | None = None,
) -> tuple[str, str]:
    """A fresh lab and its token (fresh, so each test has its own counters); made in-process
    on the server's database (``token create`` itself is tested through the CLI below)."""
    lab = f"{prefix}-{uuid.uuid4().hex[:8]}"
    database = Database(server.db)
    try:
        with database.write() as session:
            token = create_token(session, lab, human=human, expires_days=expires_days)
    finally:
        database.dispose()
    return lab, token


def post(server: LiveServer, token: str, path: str, body: dict[str, Any]) -> httpx.Response:
    """POST JSON with a bearer token."""
    with server.client(token) as http:
        return http.post(path, json=body)


def paper(**fields: Any) -> dict[str, Any]:
    """A valid submission."""
    body = {
        "title": "Provenance test",
        "abstract": "A paper to review.",
        "body": "Body.",
        "results": [{"benchmark": "math500", "metric": "accuracy", "value": 0.5, "n": 100}],
    }
    return {**body, **fields}


def publish(server: LiveServer, token: str, **fields: Any) -> dict[str, Any]:
    """Publish and return the paper."""
    response = post(server, token, "/api/v1/papers", paper(**fields))
    assert response.status_code == 201, response.text
    return response.json()


def review(reviewer: str = "Reviewer 2", kind: str = "agent", **extra: Any) -> dict[str, Any]:
    """A review body."""
    return {"reviewer": reviewer, "reviewer_kind": kind, "form": FORM, **extra}


def assert_error(response: httpx.Response, status: int, contains: str) -> None:
    """The API's error shape with ``status`` and a message containing ``contains``."""
    assert response.status_code == status, response.text
    assert contains.lower() in response.json()["error"].lower(), response.text


# ------------------------------------------------------------------ provenance


def test_reviews_record_the_posting_lab_and_mark_self_reviews(server: LiveServer) -> None:
    lab_a, token_a = lab_token(server, "lab-a")
    lab_b, token_b = lab_token(server, "lab-b")
    pid = publish(server, token_b)["id"]
    # Lab A claims to be lab B's authors; the stored lab is still lab A.
    other = post(server, token_a, f"/api/v1/papers/{pid}/reviews", review(f"{lab_b} (authors)"))
    own = post(server, token_b, f"/api/v1/papers/{pid}/reviews", review("our own reviewer"))
    assert other.status_code == own.status_code == 201, (other.text, own.text)
    assert other.json()["lab"] == lab_a and other.json()["self_review"] is False
    assert own.json()["lab"] == lab_b and own.json()["self_review"] is True
    with server.client() as http:
        listed = http.get(f"/api/v1/papers/{pid}/reviews").json()
        page = http.get(f"/abs/{pid}").text
    assert [(r["lab"], r["self_review"]) for r in listed] == [(lab_a, False), (lab_b, True)]
    assert "self-review" in page and f'posted by <a href="/labs/{lab_a}">{lab_a}</a>' in page
    assert "1 independent (by another lab), 1 by the authors' own lab" in page


def test_human_reviews_need_a_human_token(server: LiveServer) -> None:
    _, author = lab_token(server)
    _, agent = lab_token(server)
    person, human = lab_token(server, "alice", human=True)
    pid = publish(server, author)["id"]
    refused = post(server, agent, f"/api/v1/papers/{pid}/reviews", review("Alice", "human"))
    assert_error(refused, 403, "human token")
    accepted = post(server, human, f"/api/v1/papers/{pid}/reviews", review("Alice", "human"))
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["reviewer_kind"] == "human" and accepted.json()["lab"] == person


def test_author_lab_is_always_the_posting_lab(server: LiveServer) -> None:
    lab_a, token_a = lab_token(server, "lab-a")
    authors = [
        {"name": "Mallory", "lab": "labB", "models": []},
        {"name": "Anon", "lab": "", "models": ["m"]},
    ]
    created = publish(server, token_a, authors=authors)
    assert [a["lab"] for a in created["authors"]] == [lab_a, lab_a]
    assert created["lab"] == lab_a
    new = post(
        server, token_a, f"/api/v1/papers/{created['id']}/versions", paper(authors=authors[:1])
    )
    assert new.status_code == 201 and new.json()["authors"][0]["lab"] == lab_a


def test_withdrawn_papers_take_no_reviews(server: LiveServer) -> None:
    _, token = lab_token(server)
    pid = publish(server, token)["id"]
    withdrawn = post(server, server.admin_token, f"/api/v1/papers/{pid}/withdraw", {"reason": "x"})
    assert withdrawn.status_code == 200, withdrawn.text
    assert_error(post(server, token, f"/api/v1/papers/{pid}/reviews", review()), 409, "withdrawn")


def test_each_version_shows_its_own_reviews(server: LiveServer) -> None:
    _, token = lab_token(server)
    _, reviewer = lab_token(server)
    pid = publish(server, token)["id"]
    assert (
        post(server, reviewer, f"/api/v1/papers/{pid}/reviews", review("on v1")).status_code == 201
    )
    assert post(server, token, f"/api/v1/papers/{pid}/versions", paper()).status_code == 201
    on_v2 = post(server, reviewer, f"/api/v1/papers/{pid}/reviews", review("on v2"))
    assert on_v2.status_code == 201 and on_v2.json()["version"] == 2
    with server.client() as http:
        v1_page, v2_page = http.get(f"/abs/{pid}v1").text, http.get(f"/abs/{pid}v2").text
        by_query = http.get(f"/api/v1/papers/{pid}/reviews?version=1").json()
        by_ref = http.get(f"/api/v1/papers/{pid}v2/reviews").json()
        every = http.get(f"/api/v1/papers/{pid}/reviews").json()
    assert "on v1" in v1_page and "on v2" not in v1_page
    assert "on v2" in v2_page and "on v1" not in v2_page
    assert [r["reviewer"] for r in by_query] == ["on v1"]
    assert [r["reviewer"] for r in by_ref] == ["on v2"]
    assert len(every) == 2


# ------------------------------------------------------------------ nonexistent versions


def test_write_endpoints_refuse_versions_that_do_not_exist(server: LiveServer) -> None:
    _, token = lab_token(server)
    pid = publish(server, token)["id"]
    assert_error(post(server, token, f"/api/v1/papers/{pid}v999/versions", paper()), 404, "v")
    assert_error(
        post(server, server.admin_token, f"/api/v1/papers/{pid}v999/withdraw", {"reason": "x"}),
        404,
        "no version 999",
    )
    assert_error(
        post(server, token, f"/api/v1/papers/{pid}v999/reviews", review()), 404, "no version 999"
    )
    mismatch = post(server, token, f"/api/v1/papers/{pid}v1/reviews", review(version=2))
    assert mismatch.status_code in (404, 422), mismatch.text
    with server.client() as http:
        assert http.get(f"/api/v1/papers/{pid}").json()["versions"] == [1]  # nothing was added
    assert post(server, token, f"/api/v1/papers/{pid}v1/versions", paper()).status_code == 201


# ------------------------------------------------------------------ limits


def _wait_for_a_fresh_minute(needed_s: float = 15) -> None:
    """The per-minute counter is a fixed UTC window: start a burst well inside one."""
    second = datetime.now(UTC).second
    if second > 60 - needed_s:
        time.sleep(61 - second)


def test_rate_limit_answers_429_with_retry_after(server: LiveServer) -> None:
    _, author = lab_token(server)
    _, token = lab_token(server)
    pid = publish(server, author)["id"]
    _wait_for_a_fresh_minute()
    statuses = [
        post(server, token, f"/api/v1/papers/{pid}/reviews", review()).status_code
        for _ in range(WRITES_PER_MINUTE)
    ]
    limited = post(server, token, f"/api/v1/papers/{pid}/reviews", review())
    assert statuses == [201] * WRITES_PER_MINUTE
    assert_error(limited, 429, "rate limit")
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    # Another token is not affected; admin tokens are not limited.
    _, fresh = lab_token(server)
    assert post(server, fresh, f"/api/v1/papers/{pid}/reviews", review()).status_code == 201
    with server.client() as http:
        assert len(http.get(f"/api/v1/papers/{pid}/reviews").json()) == WRITES_PER_MINUTE + 1


def test_daily_quota_holds_under_concurrency(server: LiveServer) -> None:
    """Ten concurrent papers against a quota of three: exactly three are published."""
    lab, token = lab_token(server)
    _wait_for_a_fresh_minute()
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(
            pool.map(lambda _: post(server, token, "/api/v1/papers", paper()), range(10))
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * PAPERS_PER_DAY + [429] * (10 - PAPERS_PER_DAY), statuses
    refused = next(r for r in responses if r.status_code == 429)
    assert "daily quota" in refused.json()["error"]
    assert 1 <= int(refused.headers["retry-after"]) <= 86_400
    with server.client() as http:
        assert http.get("/api/v1/papers", params={"lab": lab}).json()["total"] == PAPERS_PER_DAY


def test_code_files_and_pdfs_over_their_limits_get_413(server: LiveServer) -> None:
    _, token = lab_token(server)
    big_code = post(server, token, "/api/v1/papers", paper(code_files={"run.py": "x" * 3000}))
    assert_error(big_code, 413, "code_files")
    pdf = base64.b64encode(b"%PDF-1.4\n" + b"0" * 2000).decode()
    assert_error(post(server, token, "/api/v1/papers", paper(pdf_base64=pdf)), 413, "pdf")
    small = post(server, token, "/api/v1/papers", paper(code_files={"run.py": "print(1)\n"}))
    assert small.status_code == 201, small.text


# ------------------------------------------------------------------ tokens


def test_token_list_revoke_and_expiry(server: LiveServer) -> None:
    lab = f"cli-{uuid.uuid4().hex[:8]}"
    token = cli("token", "create", lab, home=server.home, db=server.db).strip()
    rows = [
        json.loads(line)
        for line in cli("token", "list", "--lab", lab, "--json", home=server.home, db=server.db)
        .strip()
        .splitlines()
    ]
    assert len(rows) == 1 and rows[0]["status"] == "active" and rows[0]["kind"] == "lab"
    assert token not in json.dumps(rows)  # never the secret
    assert post(server, token, "/api/v1/papers", paper()).status_code == 201
    cli("token", "revoke", str(rows[0]["id"]), home=server.home, db=server.db)
    assert_error(post(server, token, "/api/v1/papers", paper()), 401, "revoked")
    listed = cli("token", "list", "--lab", lab, home=server.home, db=server.db)
    assert "revoked" in listed
    # Revoking by the secret itself works too, and expiry gives its own message.
    human_lab = f"cli-{uuid.uuid4().hex[:8]}"
    args = ["token", "create", human_lab, "--human", "--expires-days", "0.00002"]  # ~1.7 s
    short_lived = cli(*args, home=server.home, db=server.db).strip()
    listed = cli("token", "list", "--lab", human_lab, home=server.home, db=server.db)
    assert " human " in listed
    time.sleep(2)
    assert_error(post(server, short_lived, "/api/v1/papers", paper()), 401, "expired")
    cli("token", "revoke", short_lived, home=server.home, db=server.db)


# ------------------------------------------------------------------ chart


def test_leaderboard_chart_with_dollar_signs(server: LiveServer) -> None:
    _, token = lab_token(server)
    benchmark, metric = "bad$\\notacommand$", "acc$\\frac{$"
    result = {"benchmark": benchmark, "metric": metric, "value": 0.5, "n": 10}
    publish(server, token, results=[result])
    with server.client() as http:
        chart = http.get(
            f"/leaderboard/{quote(benchmark, safe='')}/chart.svg", params={"metric": metric}
        )
    assert chart.status_code == 200, chart.text
    assert chart.headers["content-type"].startswith("image/svg+xml")
    assert "notacommand" in chart.text
