"""The papers JSON API over real HTTP, on SQLite and PostgreSQL: publishing, versions,
listing, lineage, leaderboards, reviews, withdrawal, auth, and the error shape of every
refusal. Also checks that the Alembic migrations create exactly the models' schema."""

from __future__ import annotations

import base64
import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect
from tests.conftest import LiveServer, postgres_database, start_server, stop_server

from agentrxiv.archive.db import include_object, make_engine, migrate
from agentrxiv.archive.tables import Base

pytestmark = pytest.mark.integration

PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
REVIEW_FORM = {
    "summary": "Solid.",
    "strengths": "Clear.",
    "weaknesses": "Small n.",
    "originality": 3,
    "quality": 3,
    "clarity": 4,
    "significance": 2,
    "questions": "",
    "limitations": "",
    "ethical_concerns": False,
    "soundness": 3,
    "presentation": 3,
    "contribution": 2,
    "overall": 6,
    "confidence": 4,
    "decision": "Accept",
}
# Speed: no embedding model in the server; search has its own tests.
SERVER_ENV = {"AGENTRXIV_EMBED_ON_WRITE": "false"}


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One server per database for the whole module, with a second lab's token."""
    home = tmp_path_factory.mktemp(f"api-{request.param}")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            db = f"sqlite:///{home / 'archive.sqlite'}"
        else:
            db = stack.enter_context(contextlib.contextmanager(postgres_database)())
        live = start_server(home, db, SERVER_ENV)
        stack.callback(stop_server, live)
        live.other_token = live.new_token("other-lab")  # type: ignore[attr-defined]
        yield live


def paper(**fields: Any) -> dict[str, Any]:
    """A valid submission with overridable fields."""
    body = {
        "title": "Self-consistency on MATH-500",
        "abstract": "We sample five solutions and take a majority vote.",
        "authors": [{"name": "Agent A", "lab": "test-lab", "models": ["smollm2"]}],
        "body": "# Method\n\nMajority vote.",
        "categories": ["cs.AI", "cs.CL"],
        "results": [{"benchmark": "math500", "metric": "accuracy", "value": 0.42, "n": 500}],
    }
    return {**body, **fields}


def publish(server: LiveServer, token: str | None = None, **fields: Any) -> dict[str, Any]:
    """POST a paper and return the created paper."""
    with server.client(token or server.token) as http:
        response = http.post("/api/v1/papers", json=paper(**fields))
    assert response.status_code == 201, response.text
    return response.json()


def assert_error(response: httpx.Response, status: int, contains: str = "") -> None:
    """The response is the API's error shape with ``status`` and a message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False and body["status"] == status
    assert isinstance(body["error"], str) and body["error"]
    assert contains.lower() in body["error"].lower(), body["error"]


def unique(prefix: str) -> str:
    """A name no other test uses (the module shares one database)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_publish_and_read_back(server: LiveServer) -> None:
    pdf = base64.b64encode(PDF_BYTES).decode()
    created = publish(server, code_files={"src/run.py": "print(1)\n"}, pdf_base64=pdf)
    assert created["version"] == 1 and created["versions"] == [1]
    assert created["lab"] == "test-lab" and created["has_pdf"] is True
    assert created["results"][0] == {
        "benchmark": "math500",
        "metric": "accuracy",
        "value": 0.42,
        "n": 500,
        "model": "",
        "split": "",
        "paper_id": created["id"],
        "version": 1,
    }
    with server.client() as http:
        fetched = http.get(f"/api/v1/papers/{created['id']}").json()
        pdf_response = http.get(f"/api/v1/papers/{created['id']}/pdf")
    assert fetched == created
    assert fetched["code_files"] == {"src/run.py": "print(1)\n"}
    assert fetched["created_at"].endswith(("Z", "+00:00"))
    assert pdf_response.headers["content-type"] == "application/pdf"
    assert pdf_response.content == PDF_BYTES


def test_ids_are_arxiv_style_and_increasing(server: LiveServer) -> None:
    first, second = publish(server)["id"], publish(server)["id"]
    assert len(first) == 10 and first[4] == "."
    assert first[:4] == second[:4] and int(second[5:]) == int(first[5:]) + 1


def test_versions_keep_the_id(server: LiveServer) -> None:
    original = publish(server, title="First draft")
    pid = original["id"]
    with server.client(server.token) as http:
        response = http.post(
            f"/api/v1/papers/{pid}/versions", json=paper(title="Second draft", results=[])
        )
        assert response.status_code == 201, response.text
        assert response.json()["version"] == 2
        latest = http.get(f"/api/v1/papers/{pid}").json()
        v1_path = http.get(f"/api/v1/papers/{pid}/v1").json()
        v1_query = http.get(f"/api/v1/papers/{pid}", params={"version": 1}).json()
        v1_suffix = http.get(f"/api/v1/papers/{pid}v1").json()
        missing = http.get(f"/api/v1/papers/{pid}/v3")
        listed = http.get("/api/v1/papers", params={"limit": 200}).json()
    assert latest["title"] == "Second draft" and latest["versions"] == [1, 2]
    assert latest["results"] == []
    for old in (v1_path, v1_query, v1_suffix):
        assert old["title"] == "First draft" and old["version"] == 1
    assert_error(missing, 404, "no version 3")
    entries = [item for item in listed["items"] if item["id"] == pid]
    assert [(e["version"], e["title"]) for e in entries] == [(2, "Second draft")]


def test_versions_only_by_own_lab_or_admin(server: LiveServer) -> None:
    pid = publish(server)["id"]
    with server.client(server.other_token) as http:  # type: ignore[attr-defined]
        refused = http.post(f"/api/v1/papers/{pid}/versions", json=paper())
    assert_error(refused, 403, "another lab")
    with server.client(server.admin_token) as http:
        assert http.post(f"/api/v1/papers/{pid}/versions", json=paper()).status_code == 201
    with server.client(server.token) as http:
        own_parent = http.post(f"/api/v1/papers/{pid}/versions", json=paper(parents=[pid]))
    assert_error(own_parent, 422, "own parent")


def test_list_newest_first_with_paging_and_filters(server: LiveServer) -> None:
    category = unique("test.list").replace("-", "_")
    ids = [publish(server, categories=[category], title=f"Paper {i}")["id"] for i in range(3)]
    publish(server, token=server.other_token, categories=[category])  # type: ignore[attr-defined]
    with server.client() as http:
        page = http.get("/api/v1/papers", params={"category": category, "limit": 2}).json()
        rest = http.get(
            "/api/v1/papers", params={"category": category, "limit": 2, "offset": 2}
        ).json()
        mine = http.get("/api/v1/papers", params={"category": category, "lab": "test-lab"}).json()
        nobody = http.get("/api/v1/papers", params={"category": category, "lab": "no-lab"}).json()
    assert page["total"] == 4 and rest["total"] == 4 and rest["offset"] == 2
    listed = [item["id"] for item in page["items"] + rest["items"]]
    assert len(listed) == 4 and listed[1:] == ids[::-1]
    assert [item["id"] for item in mine["items"]] == ids[::-1]
    assert nobody == {"total": 0, "offset": 0, "items": []}
    assert "body" not in page["items"][0]


def test_lineage_is_transitive_and_cycle_safe(server: LiveServer) -> None:
    a = publish(server, title="A")["id"]
    b = publish(server, title="B", parents=[a])["id"]
    c = publish(server, title="C", parents=[b])["id"]
    d = publish(server, title="D", parents=[a, c])["id"]
    with server.client(server.token) as http:
        of_a = http.get(f"/api/v1/papers/{a}/lineage").json()
        of_d = http.get(f"/api/v1/papers/{d}/lineage").json()
        # A new version of A citing D closes a cycle A -> D -> C -> B -> A.
        assert http.post(f"/api/v1/papers/{a}/versions", json=paper(parents=[d])).is_success
        cyclic = http.get(f"/api/v1/papers/{a}/lineage").json()

    def depths(nodes: list[dict[str, Any]]) -> dict[str, int]:
        return {node["id"]: node["depth"] for node in nodes}

    assert of_a["ancestors"] == []
    assert depths(of_a["descendants"]) == {b: 1, d: 1, c: 2}
    assert depths(of_d["ancestors"]) == {a: 1, c: 1, b: 2}
    assert next(n for n in of_d["ancestors"] if n["id"] == c)["parents"] == [b]
    assert of_d["descendants"] == []
    assert depths(cyclic["ancestors"]) == {d: 1, c: 2, b: 3}
    assert depths(cyclic["descendants"]) == {b: 1, d: 1, c: 2}


def test_leaderboard_best_per_paper(server: LiveServer) -> None:
    bench = unique("bench")

    def result(value: float, metric: str = "accuracy") -> dict[str, Any]:
        return {"benchmark": bench, "metric": metric, "value": value}

    low = publish(server, results=[result(0.30), result(0.35)])["id"]
    high = publish(server, results=[result(0.60), result(99.0, metric="latency")])["id"]
    tie_old = publish(server, results=[result(0.50)])["id"]
    tie_new = publish(server, results=[result(0.50)])["id"]
    gone = publish(server, results=[result(0.99)])["id"]
    with server.client(server.admin_token) as http:
        assert http.post(f"/api/v1/papers/{gone}/withdraw", json={"reason": "bug"}).is_success
        board = http.get(f"/api/v1/leaderboard/{bench}", params={"metric": "accuracy"}).json()
        primary = http.get(f"/api/v1/leaderboard/{bench}").json()
        latency = http.get(f"/api/v1/leaderboard/{bench}", params={"metric": "latency"}).json()
        unknown_metric = http.get(f"/api/v1/leaderboard/{bench}", params={"metric": "f1"})
        unknown_bench = http.get(f"/api/v1/leaderboard/{unique('none')}")
    ranked = [(e["paper_id"], e["value"]) for e in board["entries"]]
    assert ranked == [(high, 0.60), (tie_new, 0.50), (tie_old, 0.50), (low, 0.35)]
    # No metric: the primary one (accuracy), never whichever row sorts first.
    assert primary["metric"] == "accuracy" and primary["entries"] == board["entries"]
    assert primary["metrics"] == ["accuracy", "latency"]
    assert [e["paper_id"] for e in latency["entries"]] == [high]
    assert unknown_metric.status_code == 404
    message = unknown_metric.json()["error"]
    assert "'f1'" in message and "accuracy, latency" in message
    assert unknown_bench.status_code == 404


def test_reviews(server: LiveServer) -> None:
    pid = publish(server)["id"]
    review = {"reviewer": "reviewer-agent-1", "form": REVIEW_FORM}
    with server.client(server.other_token) as http:  # type: ignore[attr-defined]
        created = http.post(f"/api/v1/papers/{pid}/reviews", json=review)
        assert created.status_code == 201, created.text
        bad_score = http.post(
            f"/api/v1/papers/{pid}/reviews",
            json={**review, "form": {**REVIEW_FORM, "overall": 11}},
        )
        bad_version = http.post(f"/api/v1/papers/{pid}/reviews", json={**review, "version": 7})
        listed = http.get(f"/api/v1/papers/{pid}/reviews").json()
    assert created.json()["version"] == 1 and created.json()["form"] == REVIEW_FORM
    assert_error(bad_score, 422, "form.overall")
    assert_error(bad_version, 404, "no version 7")
    assert [r["reviewer"] for r in listed] == ["reviewer-agent-1"]
    with server.client() as http:
        assert_error(http.post(f"/api/v1/papers/{pid}/reviews", json=review), 401)
        assert_error(http.get("/api/v1/papers/2101.99999/reviews"), 404, "no paper")


def test_withdraw_needs_admin_and_keeps_paper(server: LiveServer) -> None:
    pid = publish(server)["id"]
    with server.client(server.token) as http:
        assert_error(http.post(f"/api/v1/papers/{pid}/withdraw", json={"reason": "x"}), 403)
    with server.client(server.admin_token) as http:
        done = http.post(f"/api/v1/papers/{pid}/withdraw", json={"reason": "flawed grading"})
        again = http.post(f"/api/v1/papers/{pid}/withdraw", json={"reason": "again"})
        empty_reason = http.post(f"/api/v1/papers/{pid}/withdraw", json={"reason": ""})
    assert done.status_code == 200 and done.json()["withdrawn"] is True
    assert_error(again, 409, "already withdrawn")
    assert_error(empty_reason, 422, "reason")
    with server.client(server.token) as http:
        still_there = http.get(f"/api/v1/papers/{pid}").json()
        assert_error(http.post(f"/api/v1/papers/{pid}/versions", json=paper()), 409, "withdrawn")
    assert still_there["withdrawn"] is True
    assert still_there["withdrawn_reason"] == "flawed grading"
    assert still_there["title"] == paper()["title"]


def test_auth_errors(server: LiveServer) -> None:
    with server.client() as http:
        missing = http.post("/api/v1/papers", json=paper())
        bad = http.post("/api/v1/papers", json=paper(), headers={"Authorization": "Bearer nope"})
        basic = http.post("/api/v1/papers", json=paper(), headers={"Authorization": "Basic eDp5"})
    assert_error(missing, 401, "missing bearer token")
    assert missing.headers["www-authenticate"] == "Bearer"
    assert_error(bad, 401, "invalid")
    assert_error(basic, 401)


INVALID_BODIES = [
    ({"abstract": "no title"}, 422, "title: field required"),
    (paper(title=""), 422, "title"),
    (paper(title=7), 422, "title: input should be a valid string"),
    (paper(authors="me"), 422, "authors"),
    (paper(authors=[{"lab": "x"}]), 422, "authors.0.name"),
    (paper(results=[{"benchmark": "b", "metric": "m", "value": "high"}]), 422, "results.0.value"),
    (paper(results=[{"benchmark": "b", "metric": "m", "value": 1, "n": 2**40}]), 422, "n"),
    (paper(categories=["bad category!"]), 422, "invalid category"),
    (paper(parents=["not-an-id"]), 422, "invalid parent id"),
    (paper(parents=["2101.99999"]), 422, "unknown parent paper 2101.99999"),
    (paper(code_files={"../etc/passwd": "x"}), 422, "must be relative"),
    (paper(pdf_base64="%%%not base64"), 422, "base64"),
    (paper(pdf_base64=base64.b64encode(b"hello").decode()), 422, "%PDF"),
    (paper(title="nul\x00byte"), 422, "NUL"),
    (paper(surprise=True), 422, "surprise: extra inputs are not permitted"),
    ([1, 2, 3], 422, "request body"),
]


def test_invalid_bodies_get_clear_4xx(server: LiveServer) -> None:
    with server.client(server.token) as http:
        for body, status, message in INVALID_BODIES:
            assert_error(http.post("/api/v1/papers", json=body), status, message)
        not_json = http.post(
            "/api/v1/papers", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        no_type = http.post("/api/v1/papers", content=b'{"title": "x"}')
    assert_error(not_json, 400, "not valid JSON")
    assert_error(no_type, 422, "application/json")


def test_unknown_and_malformed_paths(server: LiveServer) -> None:
    with server.client() as http:
        assert_error(http.get("/api/v1/papers/2101.99999"), 404, "no paper 2101.99999")
        assert_error(http.get("/api/v1/papers/not-an-id"), 404, "YYMM.NNNNN")
        assert_error(http.get("/api/v1/papers/2101.99999/lineage"), 404, "no paper")
        assert_error(http.get("/api/v1/papers/2101.99999/pdf"), 404)
        assert_error(http.get("/api/v1/papers", params={"limit": 0}), 422, "limit")
        assert_error(http.get("/api/v1/papers", params={"offset": "x"}), 422, "offset")
        assert_error(http.get("/api/v1/nothing-here"), 404, "no such endpoint")
        assert_error(http.delete("/api/v1/papers"), 405)
        pid = publish(server, pdf_base64=None)["id"]
        assert_error(http.get(f"/api/v1/papers/{pid}/pdf"), 404, "no PDF")
        assert_error(http.get(f"/api/v1/papers/{pid}", params={"version": 99}), 404)
        assert_error(http.get(f"/api/v1/papers/{pid}/v99999999999999999999"), 422)


def test_body_size_limit(tmp_path: Path) -> None:
    home = tmp_path / "small"
    home.mkdir()
    env = {**SERVER_ENV, "AGENTRXIV_MAX_BODY_BYTES": "2000"}
    live = start_server(home, f"sqlite:///{home / 'archive.sqlite'}", env)
    try:
        with live.client(live.token) as http:
            big = paper(body="x" * 5000)
            declared = http.post("/api/v1/papers", json=big)

            def chunks() -> Iterator[bytes]:
                yield b'{"title": "t", "abstract": "a", "body": "'
                for _ in range(10):
                    yield b"y" * 500
                yield b'"}'

            streamed = http.post(
                "/api/v1/papers", content=chunks(), headers={"Content-Type": "application/json"}
            )
            small = http.post("/api/v1/papers", json=paper(body="short"))
            listed = http.get("/api/v1/papers").json()
    finally:
        stop_server(live)
    assert_error(declared, 413, "larger than the limit of 2000 bytes")
    assert "content-length" not in streamed.request.headers
    assert_error(streamed, 413, "larger than the limit")
    assert small.status_code == 201
    assert listed["total"] == 1


def test_migrations_match_models_and_keep_data(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    migrate(db_url)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO labs (name, created_at) VALUES ('kept', '2026-01-01')"
            )
        migrate(db_url)  # a second run is a no-op that keeps rows
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": include_object}
            )
            diff = compare_metadata(context, Base.metadata)
            kept = conn.exec_driver_sql("SELECT name FROM labs").scalars().all()
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert diff == []
    assert kept == ["kept"]
    assert set(Base.metadata.tables) <= tables
