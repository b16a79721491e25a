"""The archive verifier's queue (issue 16) over real HTTP on SQLite and PostgreSQL: a new
version with a technique is queued with it; any lab may ask for a verification (idempotent
per version; 404/409/422 refusals); only verifier tokens lease, and only the lease holder
heartbeats, completes or fails; concurrent leasers never share a job; an expired lease
(a verifier killed with SIGKILL) is leased again and still only one record results; a
failing job is retried up to the maximum, then failed; the paper's own lab cannot close
its job."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.conftest import DATABASES, LiveServer, cli, new_lab, serve_on, unique

from agentrxiv.archive.checks import verification_from_marks
from agentrxiv.archive.db import Database

pytestmark = pytest.mark.integration

SERVER_ENV = {"AGENTRXIV_EMBED_ON_WRITE": "false", "AGENTRXIV_WRITES_PER_MINUTE": "10000"}
TECHNIQUE = "def solve(problem, model):\n    return model.chat([{'role': 'user', 'content': problem}]).text\n"  # noqa: E501
LONG = 3600


@pytest.fixture(scope="module", params=DATABASES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One server per database; each test drains what earlier tests left leasable."""
    yield from serve_on(
        request.param, tmp_path_factory.mktemp(f"queue-{request.param}"), SERVER_ENV
    )


def verifier_token(server: LiveServer) -> str:
    """An archive verifier token, made by the operator."""
    lab = unique("archive-verifier-")
    return cli("token", "create", lab, "--verifier", home=server.home, db=server.db).strip()


def call(
    server: LiveServer, token: str | None, method: str, path: str, **kw: Any
) -> httpx.Response:
    """One request to the API (``path`` under /api/v1)."""
    with server.client(token) as http:
        return http.request(method, f"/api/v1{path}", **kw)


def paper_body(technique: bool = True, benchmark: str = "arith") -> dict[str, Any]:
    """A paper claiming 0.5 on ``benchmark``, with ``technique.py:solve`` if asked."""
    body: dict[str, Any] = {
        "title": "Queue test",
        "abstract": "A paper.",
        "body": "Body.",
        "results": [{"benchmark": benchmark, "metric": "accuracy", "value": 0.5, "n": 10}],
    }
    if technique:
        body.update(code_files={"technique.py": TECHNIQUE}, technique="technique.py:solve")
    return body


def publish(server: LiveServer, token: str, technique: bool = True) -> dict[str, Any]:
    """Publish a paper and return it."""
    response = call(server, token, "POST", "/papers", json=paper_body(technique))
    assert response.status_code == 201, response.text
    return response.json()


def jobs_of(server: LiveServer, paper_id: str) -> list[dict[str, Any]]:
    """The jobs of one paper."""
    response = call(server, None, "GET", "/verification-jobs", params={"paper": paper_id})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def lease(server: LiveServer, token: str, lease_s: int = LONG) -> httpx.Response:
    """``POST /verification-jobs/lease``."""
    return call(server, token, "POST", "/verification-jobs/lease", json={"lease_s": lease_s})


def drain(server: LiveServer, token: str) -> None:
    """Lease every leasable job for an hour, so a test sees only its own jobs."""
    while lease(server, token).status_code == 200:
        pass


def record(paper: dict[str, Any]) -> dict[str, Any]:
    """A verification body the server accepts."""
    made = verification_from_marks(
        [True, True, False], [True, False, False], benchmark="arith",
        code_files=paper.get("code_files") or {},
    )  # fmt: skip
    return made.model_dump(mode="json", exclude_none=True)


def post_verification(server: LiveServer, token: str, paper: dict[str, Any]) -> dict[str, Any]:
    """Post a verification of ``paper`` and return it."""
    posted = call(server, token, "POST", f"/papers/{paper['id']}/verifications", json=record(paper))
    assert posted.status_code == 201, posted.text
    return posted.json()


def test_new_versions_with_a_technique_are_queued(server: LiveServer) -> None:
    """v1 with a technique is queued on publication; a paper without one is not; a new
    version with a technique gets its own job."""
    author = new_lab(server, "author-")
    paper = publish(server, author)
    (job,) = jobs_of(server, paper["id"])
    assert (job["version"], job["state"], job["attempts"]) == (1, "queued", 0)
    assert job["requested_by"] == paper["lab"] and job["lease_id"] is None
    plain = publish(server, author, technique=False)
    assert jobs_of(server, plain["id"]) == []
    again = call(server, author, "POST", f"/papers/{paper['id']}/versions", json=paper_body())
    assert again.status_code == 201, again.text
    assert [j["version"] for j in jobs_of(server, paper["id"])] == [1, 2]
    queued = call(server, None, "GET", "/verification-jobs", params={"state": "queued"})
    assert {j["paper_id"] for j in queued.json()["items"]} >= {paper["id"]}
    bad = call(server, None, "GET", "/verification-jobs", params={"state": "nonsense"})
    assert bad.status_code == 422 and "state" in bad.json()["error"]


def test_verification_requests_are_idempotent_and_refused_clearly(server: LiveServer) -> None:
    author, other = new_lab(server, "author-"), new_lab(server, "other-")
    paper = publish(server, author)
    first = call(server, other, "POST", f"/papers/{paper['id']}/verification-requests")
    assert first.status_code == 200, first.text  # queued on publication already
    second = call(server, other, "POST", f"/papers/{paper['id']}/verification-requests")
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    assert len(jobs_of(server, paper["id"])) == 1
    plain = publish(server, author, technique=False)
    refusals = {
        f"/papers/{plain['id']}/verification-requests": (422, "names no technique"),
        "/papers/2601.99999/verification-requests": (404, "no paper 2601.99999"),
        f"/papers/{paper['id']}/verification-requests?version=7": (404, "has no version 7"),
        f"/papers/{paper['id']}/verification-requests?version=0": (422, "version"),
        f"/papers/{paper['id']}v1/verification-requests?version=2": (422, "names version 1"),
    }
    for path, (status, words) in refusals.items():
        refused = call(server, other, "POST", path)
        assert refused.status_code == status, (path, refused.text)
        assert words in refused.json()["error"], (path, refused.text)
    anonymous = call(server, None, "POST", f"/papers/{paper['id']}/verification-requests")
    assert anonymous.status_code == 401
    withdrawn = publish(server, author)
    admin = call(
        server, server.admin_token, "POST", f"/papers/{withdrawn['id']}/withdraw",
        json={"reason": "retracted"},
    )  # fmt: skip
    assert admin.status_code == 200, admin.text
    refused = call(server, other, "POST", f"/papers/{withdrawn['id']}/verification-requests")
    assert refused.status_code == 409 and "withdrawn" in refused.json()["error"]
    (job,) = jobs_of(server, withdrawn["id"])
    assert job["state"] == "failed" and job["last_error"] == "paper withdrawn"


def test_a_request_queues_an_unqueued_version(server: LiveServer) -> None:
    """A version whose job was deleted (e.g. stored before the queue existed) is queued by a
    request: 201 the first time, 200 after."""
    author = new_lab(server, "author-")
    paper = publish(server, author)
    database = Database(server.db)
    try:
        with database.write() as session:
            from sqlalchemy import delete

            from agentrxiv.archive.tables import VerificationJob

            session.execute(delete(VerificationJob).where(VerificationJob.paper_id == paper["id"]))
    finally:
        database.dispose()
    other = new_lab(server, "other-")
    created = call(server, other, "POST", f"/papers/{paper['id']}/verification-requests")
    assert created.status_code == 201, created.text
    assert created.json()["state"] == "queued"
    assert created.json()["requested_by"].startswith("other-")
    again = call(server, other, "POST", f"/papers/{paper['id']}/verification-requests")
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]


def test_only_verifier_tokens_lease_and_only_the_holder_reports(server: LiveServer) -> None:
    verifier, rival = verifier_token(server), verifier_token(server)
    drain(server, verifier)
    author = new_lab(server, "author-")
    paper = publish(server, author)
    for token in (author, server.admin_token):
        refused = lease(server, token)
        assert refused.status_code == 403 and "verifier" in refused.json()["error"]
    assert lease(server, None).status_code == 401
    leased = lease(server, verifier, 60)
    assert leased.status_code == 200, leased.text
    job = leased.json()
    assert job["paper_id"] == paper["id"] and job["state"] == "leased" and job["attempts"] == 1
    assert job["lease_id"] and job["lease_holder"].startswith("archive-verifier-")
    assert jobs_of(server, paper["id"])[0]["lease_id"] is None  # never listed
    assert lease(server, rival).status_code == 204  # nothing else to lease
    base = f"/verification-jobs/{job['id']}"
    wrong = {"lease_id": "not-the-lease"}
    reports = {
        "heartbeat": {"lease_s": 60},
        "complete": {"verification_id": 1},
        "fail": {"error": "boom"},
    }
    for action, body in reports.items():
        assert call(server, author, "POST", f"{base}/{action}",
                    json={**wrong, **body}).status_code == 403  # fmt: skip
        stolen = call(server, rival, "POST", f"{base}/{action}", json={**wrong, **body})
        assert stolen.status_code == 409, stolen.text
        assert "not leased under this lease" in stolen.json()["error"]
    missing = call(server, verifier, "POST", "/verification-jobs/999999/heartbeat",
                   json={"lease_id": job["lease_id"]})  # fmt: skip
    assert missing.status_code == 404
    too_long = lease(server, verifier, 10**6)
    assert too_long.status_code == 422 and "lease_s" in too_long.json()["error"]
    beat = call(server, verifier, "POST", f"{base}/heartbeat",
                json={"lease_id": job["lease_id"], "lease_s": 120})  # fmt: skip
    assert beat.status_code == 200 and beat.json()["lease_expires_at"] > job["lease_expires_at"]
    # Completing needs this verifier's own claim verification of the job's version.
    others = post_verification(server, new_lab(server, "indep-"), paper)
    refused = call(server, verifier, "POST", f"{base}/complete",
                   json={"lease_id": job["lease_id"], "verification_id": others["id"]})  # fmt: skip
    assert refused.status_code == 422 and "not this verifier's" in refused.json()["error"]
    status = call(server, None, "GET", "/verification-jobs/status").json()
    assert status["active"] is True and status["counts"]["leased"] >= 1


def test_posting_an_archive_verification_closes_the_job(server: LiveServer) -> None:
    """A verifier killed after posting and before completing duplicates nothing: the post
    closes the job; completing it afterwards answers the done job. The paper's own lab
    posting (standing self) closes nothing."""
    verifier = verifier_token(server)
    drain(server, verifier)
    author = new_lab(server, "author-")
    paper = publish(server, author)
    post_verification(server, author, paper)  # self: not the archive's verification
    assert jobs_of(server, paper["id"])[0]["state"] == "queued"
    job = lease(server, verifier).json()
    posted = post_verification(server, verifier, paper)
    assert posted["standing"] == "archive"
    (closed,) = jobs_of(server, paper["id"])
    assert (closed["state"], closed["verification_id"]) == ("done", posted["id"])
    body = {"lease_id": job["lease_id"], "verification_id": posted["id"]}
    done = call(server, verifier, "POST", f"/verification-jobs/{job['id']}/complete", json=body)
    assert done.status_code == 200 and done.json()["state"] == "done"
    assert lease(server, verifier).status_code == 204


def test_concurrent_leasers_never_share_a_job(server: LiveServer) -> None:
    verifiers = [verifier_token(server) for _ in range(3)]
    drain(server, verifiers[0])
    author = new_lab(server, "author-")
    papers = {publish(server, author)["id"] for _ in range(12)}
    leased: list[tuple[int, str]] = []
    lock = threading.Lock()
    errors: list[str] = []

    def leaser(token: str) -> None:
        with server.client(token) as http:
            while True:
                response = http.post("/api/v1/verification-jobs/lease", json={"lease_s": LONG})
                if response.status_code == 204:
                    return
                if response.status_code != 200:
                    errors.append(response.text)
                    return
                with lock:
                    leased.append((response.json()["id"], response.json()["paper_id"]))

    threads = [threading.Thread(target=leaser, args=(verifiers[n % 3],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    ids = [job_id for job_id, _ in leased]
    assert len(ids) == len(set(ids)), "a job was leased twice"
    assert {paper_id for _, paper_id in leased} == papers


def test_an_expired_lease_is_leased_again_and_one_record_results(server: LiveServer) -> None:
    """The SIGKILL case over the API: verifier A leases for 5 s and vanishes; nobody gets the
    job until the lease expires, then B does (attempt 2) and A can no longer report; B's
    verification is the only record."""
    a, b = verifier_token(server), verifier_token(server)
    drain(server, a)
    paper = publish(server, new_lab(server, "author-"))
    first = lease(server, a, 5).json()
    assert lease(server, b, 5).status_code == 204
    time.sleep(5.5)
    second = lease(server, b, 60)
    assert second.status_code == 200, second.text
    job = second.json()
    assert job["id"] == first["id"] and job["attempts"] == 2
    assert job["lease_id"] != first["lease_id"]
    stale = call(server, a, "POST", f"/verification-jobs/{job['id']}/heartbeat",
                 json={"lease_id": first["lease_id"]})  # fmt: skip
    assert stale.status_code == 409
    posted = post_verification(server, b, paper)
    body = {"lease_id": job["lease_id"], "verification_id": posted["id"]}
    done = call(server, b, "POST", f"/verification-jobs/{job['id']}/complete", json=body)
    assert done.status_code == 200 and done.json()["state"] == "done"
    stored = call(server, None, "GET", f"/papers/{paper['id']}/verifications").json()
    assert [v["id"] for v in stored] == [posted["id"]]


def test_a_failing_job_is_retried_then_failed(server: LiveServer) -> None:
    """``fail`` queues the job again until 3 attempts, then fails it; a release (the
    verifier was interrupted) does not count as an attempt."""
    verifier = verifier_token(server)
    drain(server, verifier)
    paper = publish(server, new_lab(server, "author-"))
    states = []
    for n in range(4):
        job = lease(server, verifier, 60).json()
        assert job["paper_id"] == paper["id"]
        body = {"lease_id": job["lease_id"], "error": f"boom {n}", "released": n == 0}
        reported = call(server, verifier, "POST", f"/verification-jobs/{job['id']}/fail", json=body)
        assert reported.status_code == 200, reported.text
        states.append((reported.json()["state"], reported.json()["attempts"]))
    assert states == [("queued", 0), ("queued", 1), ("queued", 2), ("failed", 3)]
    (job,) = jobs_of(server, paper["id"])
    assert job["last_error"] == "boom 3"
    assert lease(server, verifier).status_code == 204


def test_bad_input_is_a_clear_4xx_never_a_500(server: LiveServer) -> None:
    verifier = verifier_token(server)
    cases = [
        ("POST", "/verification-jobs/99999999999/heartbeat", {"json": {"lease_id": "x"}}),
        ("POST", "/verification-jobs/0/fail", {"json": {"lease_id": "x", "error": "e"}}),
        ("POST", "/verification-jobs/1/complete",
         {"json": {"lease_id": "x", "verification_id": 2**40}}),
        ("POST", "/verification-jobs/1/fail", {"json": {"lease_id": "", "error": "e"}}),
        ("POST", "/verification-jobs/1/heartbeat", {"json": {"lease_id": "x", "extra": 1}}),
        ("POST", "/verification-jobs/lease", {"json": {"lease_s": "soon"}}),
        ("POST", "/verification-jobs/lease", {"json": {"lease_s": 1}}),
        ("POST", "/verification-jobs/lease",
         {"content": b"{not json", "headers": {"Content-Type": "application/json"}}),
        ("GET", "/verification-jobs", {"params": {"limit": 0}}),
        ("GET", "/verification-jobs", {"params": {"paper": "not-an-id"}}),
        ("GET", "/verification-jobs/status", {"params": {"window_s": -1}}),
        ("POST", "/papers/not-an-id/verification-requests", {}),
    ]  # fmt: skip
    for method, path, kw in cases:
        response = call(server, verifier, method, path, **kw)
        assert 400 <= response.status_code < 500, (path, kw, response.text)
        assert response.json()["error"], (path, response.text)


def test_migration_0012_downgrades_and_upgrades(db_url: str) -> None:
    """0012 adds the queue's tables; downgrading to 0011 drops them and keeps the rest."""
    from alembic import command
    from sqlalchemy import inspect

    from agentrxiv.archive.db import alembic_config, make_engine, migrate

    migrate(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            assert {"verification_jobs", "verifier_presence"} <= set(
                inspect(conn).get_table_names()
            )
        command.downgrade(alembic_config(db_url), "0011_verification_standing")
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
        assert "verification_jobs" not in tables and "verifier_presence" not in tables
        assert "verifications" in tables
        migrate(db_url)
        with engine.connect() as conn:
            assert "verification_jobs" in set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
