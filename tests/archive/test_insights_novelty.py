"""Insights and novelty on a real server: insights posted by a paper's lab, searched by
keyword and meaning, filtered, escaped on the page; near-copies marked with their original
(page, API, search), unrelated papers not; the refuse policy answers 409."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import LiveServer, start_server, stop_server

from agentrxiv.archive.checks import verification_from_marks

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CORPUS = json.loads((Path(__file__).parent / "data" / "search_corpus.json").read_text())
BY_KEY = {entry["key"]: entry for entry in CORPUS}


def paper_body(entry: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A submission made from a corpus entry."""
    body = {
        "title": entry["title"],
        "abstract": entry["abstract"],
        "body": f"## Methods\n\n{entry['body']}",
        "categories": ["cs.CL"],
        "results": [{"benchmark": "math500", "metric": "accuracy", "value": 0.5, "n": 20}],
    }
    body.update(changes)
    return body


def near_copy(entry: dict[str, Any]) -> dict[str, Any]:
    """A lightly reworded resubmission: new title prefix, sentences swapped, a word changed."""
    sentences = re.split(r"(?<=\.) ", entry["abstract"])
    abstract = " ".join(sentences[1:] + sentences[:1]).replace(" improves ", " boosts ")
    return paper_body(entry, title=f"Revisiting {entry['title']}", abstract=abstract)


def publish(server: LiveServer, token: str, body: dict[str, Any]) -> Any:
    with server.client(token) as http:
        return http.post("/api/v1/papers", json=body)


def test_near_copy_is_marked_with_its_original_and_unrelated_paper_is_not(sqlite_server):
    token = sqlite_server.new_token("novelty-lab")
    original = publish(sqlite_server, token, paper_body(BY_KEY["selfcons"])).json()
    copy = publish(sqlite_server, sqlite_server.new_token("copier"), near_copy(BY_KEY["selfcons"]))
    unrelated = publish(sqlite_server, token, paper_body(BY_KEY["ocean"])).json()
    assert copy.status_code == 201
    copy = copy.json()
    assert copy["near_duplicate_of"] == original["id"]
    assert copy["novelty"]["neighbours"][0]["paper_id"] == original["id"]
    assert copy["novelty"]["similarity"] >= copy["novelty"]["threshold"]
    assert unrelated["near_duplicate_of"] is None
    assert unrelated["novelty"]["neighbours"][0]["similarity"] < 0.5
    with sqlite_server.client() as http:
        hits = http.get("/api/v1/search", params={"q": "self-consistency", "k": 10}).json()
        marks = {hit["id"]: hit["near_duplicate_of"] for hit in hits["items"]}
        page = http.get(f"/abs/{copy['id']}").text
        novelty = http.get(f"/api/v1/papers/{copy['id']}/novelty").json()
        listed = http.get("/api/v1/papers", params={"lab": "copier"}).json()["items"]
    assert marks[copy["id"]] == original["id"] and marks[original["id"]] is None
    assert "Near-duplicate" in page and f'href="/abs/{original["id"]}"' in page
    assert novelty["near_duplicate_of"] == original["id"]
    assert [item["near_duplicate_of"] for item in listed] == [original["id"]]


def test_identical_technique_code_is_a_near_duplicate_even_with_new_prose(sqlite_server):
    token = sqlite_server.new_token("code-lab")
    code = {"technique.py": "def solve(problem, model):\n    return model(problem)\n"}
    first = publish(sqlite_server, token, paper_body(BY_KEY["lora"], code_files=code)).json()
    reformatted = {"technique.py": "def solve(problem,  model):\n\n    return model(problem)"}
    second = publish(
        sqlite_server, token, paper_body(BY_KEY["fairness"], code_files=reformatted)
    ).json()
    assert second["near_duplicate_of"] == first["id"]
    assert second["novelty"]["neighbours"][0]["code_match"] is True


def test_novelty_check_endpoint_and_stats(sqlite_server):
    entry = BY_KEY["tot"]
    token = sqlite_server.new_token("check-lab")
    stored = publish(sqlite_server, token, paper_body(entry)).json()
    with sqlite_server.client() as http:
        text = f"{entry['title']}.\n{entry['abstract']}\n{entry['body']}"
        verdict = http.post("/api/v1/novelty/check", json={"text": text}).json()
        fresh = http.post("/api/v1/novelty/check", json={"text": "Ocean salinity maps"}).json()
        stats = http.get("/api/v1/novelty/stats").json()
        bad = http.post("/api/v1/novelty/check", json={"text": ""})
        missing = http.get("/api/v1/papers/9901.99999/novelty")
    assert verdict["near_duplicate_of"] == stored["id"] and verdict["policy"] == "mark"
    assert fresh["near_duplicate_of"] is None
    assert stats["papers"] >= 1 and 0 <= stats["share"] <= 1
    assert bad.status_code == 422 and missing.status_code == 404


def post_verification(server: LiveServer, paper: dict[str, Any]) -> dict[str, Any]:
    """A verification of ``paper`` by another lab (15 vs 10 right of 20: difference +0.25)."""
    record = verification_from_marks(
        [True] * 15 + [False] * 5,
        [True] * 10 + [False] * 10,
        benchmark="math500",
        code_files=paper["code_files"],
        model="local/smollm2",
        split="test",
    )
    with server.client(server.new_token("insight-verifier")) as http:
        posted = http.post(
            f"/api/v1/papers/{paper['id']}/verifications", json=record.model_dump(mode="json")
        )
    assert posted.status_code == 201, posted.text
    return posted.json()


def insight_batch(paper_id: str, verification_id: int | None = None, **changes: Any) -> dict:
    batch = {
        "paper_id": paper_id,
        "insights": [
            {"kind": "strategy", "text": "Sample five answers and take the majority vote."},
            {"kind": "pitfall", "text": "Voting <script>alert(1)</script> over two samples ties."},
        ],
        "evidence": {
            "verification_id": verification_id,
            "benchmark": "math500",
            "model": "local/smollm2",
            "split": "test",
            "difference": 0.06,
            "ci_low": 0.01,
            "ci_high": 0.11,
            "status": "reproduced",
        },
    }
    batch.update(changes)
    return batch


def test_insights_are_posted_by_their_lab_searched_filtered_and_escaped(sqlite_server):
    token = sqlite_server.new_token("insight-lab")
    paper = publish(sqlite_server, token, paper_body(BY_KEY["verifier"])).json()
    verification = post_verification(sqlite_server, paper)
    other = sqlite_server.new_token("other-lab")
    with sqlite_server.client(token) as http:
        unnamed = http.post("/api/v1/insights", json=insight_batch(paper["id"]))
        posted = http.post("/api/v1/insights", json=insight_batch(paper["id"], verification["id"]))
        four = [{"kind": "strategy", "text": f"Strategy number {i} works."} for i in range(4)]
        too_many = http.post("/api/v1/insights", json=insight_batch(paper["id"], insights=four))
    with sqlite_server.client(other) as http:
        foreign = http.post("/api/v1/insights", json=insight_batch(paper["id"]))
    with sqlite_server.client() as http:
        anonymous = http.post("/api/v1/insights", json=insight_batch(paper["id"]))
        keyword = http.get("/api/v1/insights", params={"q": "majority vote", "mode": "keyword"})
        semantic = http.get(
            "/api/v1/insights",
            params={"q": "take the most common of several answers", "mode": "semantic", "k": 2},
        ).json()
        by_lab = http.get("/api/v1/insights", params={"lab": "insight-lab", "kind": "pitfall"})
        wrong_bench = http.get("/api/v1/insights", params={"benchmark": "gpqa"}).json()
        page = http.get(f"/abs/{paper['id']}").text
    assert unnamed.status_code == 422 and "verification_id" in unnamed.json()["error"]
    assert posted.status_code == 201 and len(posted.json()) == 2
    assert too_many.status_code == 422 and "at most 3" in too_many.json()["error"]
    assert foreign.status_code == 403 and anonymous.status_code == 401
    top = keyword.json()["items"][0]
    assert top["paper_id"] == paper["id"] and top["kind"] == "strategy"
    # The evidence is the stored verification's, not the posted 0.06 [0.01, 0.11].
    assert top["evidence"]["difference"] == pytest.approx(0.25)
    assert top["evidence"]["ci_high"] == verification["delta_high"]
    assert top["evidence"]["verification_id"] == verification["id"]
    scores = [item["score"] for item in semantic["items"]]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0.3
    assert any(i["text"].startswith("Sample five answers") for i in semantic["items"])
    assert [i["kind"] for i in by_lab.json()["items"]] == ["pitfall"]
    assert all(i["paper_id"] != paper["id"] for i in wrong_bench["items"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "Sample five answers" in page and "+0.250" in page


@pytest.fixture
def refusing_server(tmp_path: Path) -> Iterator[LiveServer]:
    home = tmp_path / "refuse-home"
    home.mkdir()
    server = start_server(
        home, f"sqlite:///{home / 'archive.sqlite'}", {"AGENTRXIV_NOVELTY_POLICY": "refuse"}
    )
    yield server
    stop_server(server)


def test_refuse_policy_answers_409_with_the_originals_id(refusing_server):
    token = refusing_server.token
    original = publish(refusing_server, token, paper_body(BY_KEY["cot"])).json()
    refused = publish(refusing_server, token, near_copy(BY_KEY["cot"]))
    other = publish(refusing_server, token, paper_body(BY_KEY["gat"]))
    assert refused.status_code == 409
    assert original["id"] in refused.json()["error"]
    assert other.status_code == 201
