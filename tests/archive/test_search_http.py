"""``/api/v1/search`` and ``/api/v1/aggregate/{kind}`` over real HTTP against a live server:
results, incremental updates of the server's embedding matrix after new versions and
withdrawals, and malformed input answered with the JSON error shape (never a 500)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.integration]

PAPERS = [
    {
        "title": "Self-Consistency Improves Chain of Thought Reasoning",
        "abstract": "Sample diverse reasoning paths and take a majority vote over answers.",
        "categories": ["cs.CL"],
        "results": [{"benchmark": "math500", "metric": "accuracy", "value": 0.48}],
    },
    {
        "title": "Highly Accurate Protein Structure Prediction",
        "abstract": "A network predicts a protein's 3D structure from its amino acid sequence.",
        "categories": ["q-bio.BM"],
    },
    {
        "title": "Graph Attention Networks",
        "abstract": "Masked self-attention over node neighbourhoods in graphs.",
        "categories": ["cs.LG"],
        "results": [{"benchmark": "cora", "metric": "accuracy", "value": 0.83}],
    },
]


@pytest.fixture(scope="module")
def published(sqlite_server: Any) -> dict[str, str]:
    """The papers above, published over HTTP; title -> id."""
    ids = {}
    with sqlite_server.client(sqlite_server.token) as client:
        for paper in PAPERS:
            response = client.post("/api/v1/papers", json=paper)
            assert response.status_code == 201, response.text
            ids[paper["title"]] = response.json()["id"]
    return ids


def _search(server: Any, **params: Any) -> httpx.Response:
    with server.client() as client:
        return client.get("/api/v1/search", params=params)


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_search_over_http(sqlite_server: Any, published: dict[str, str], mode: str) -> None:
    response = _search(sqlite_server, q="majority vote reasoning", mode=mode, k=2)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mode"] == mode
    assert body["items"][0]["title"].startswith("Self-Consistency")
    assert body["items"][0]["score"] is not None
    assert body["total"] >= 1


def test_filters_and_aggregations_over_http(sqlite_server: Any, published: dict[str, str]) -> None:
    body = _search(sqlite_server, q="networks", mode="semantic", category="cs.LG").json()
    assert [item["title"] for item in body["items"]] == ["Graph Attention Networks"]
    # "x" is close to nothing: only with the relevance floor off (-1) is every paper a match.
    assert _search(sqlite_server, q="x", benchmark="math500").json()["total"] == 0
    body = _search(sqlite_server, q="x", benchmark="math500", min_value=0.4, min_score=-1).json()
    assert body["total"] == 1
    with sqlite_server.client() as client:
        best = client.get("/api/v1/aggregate/best-per-benchmark").json()
        labs = client.get("/api/v1/aggregate/papers-per-lab").json()
    values = {(row["benchmark"], row["value"]) for row in best["items"]}
    assert {("math500", 0.48), ("cora", 0.83)} <= values
    assert {"key": "test-lab", "papers": len(PAPERS)} in labs["items"]


def test_server_sees_new_versions_and_withdrawals(
    sqlite_server: Any, published: dict[str, str]
) -> None:
    protein = published["Highly Accurate Protein Structure Prediction"]
    assert (
        _search(sqlite_server, q="amino acid folding", mode="semantic", k=1).json()["items"][0][
            "id"
        ]
        == protein
    )
    revised = {"title": "Ocean heat uptake", "abstract": "How oceans absorb excess heat."}
    with sqlite_server.client(sqlite_server.token) as client:
        assert client.post(f"/api/v1/papers/{protein}/versions", json=revised).status_code == 201
    top = _search(sqlite_server, q="warming seas", mode="semantic", k=1).json()["items"][0]
    assert (top["id"], top["version"]) == (protein, 2)
    ids = [i["id"] for i in _search(sqlite_server, q="protein", mode="keyword").json()["items"]]
    assert protein not in ids
    with sqlite_server.client(sqlite_server.admin_token) as client:
        reply = client.post(f"/api/v1/papers/{protein}/withdraw", json={"reason": "test"})
        assert reply.status_code == 200, reply.text
    for mode in ("keyword", "semantic", "hybrid"):
        items = _search(sqlite_server, q="ocean heat", mode=mode, k=10).json()["items"]
        assert protein not in [item["id"] for item in items]


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({}, 422, "q"),
        ({"q": ""}, 422, "q"),
        ({"q": "x", "mode": "fuzzy"}, 422, "mode"),
        ({"q": "x", "k": 0}, 422, "k"),
        ({"q": "x", "k": 101}, 422, "k"),
        ({"q": "x", "k": "ten"}, 422, "k"),
        ({"q": "x", "offset": -1}, 422, "offset"),
        ({"q": "x", "date_from": "yesterday"}, 422, "date_from"),
        ({"q": "x", "date_from": "2025-02-01", "date_to": "2025-01-01"}, 422, "date_from"),
        ({"q": "x", "min_value": 0.5}, 422, "benchmark"),
        ({"q": "x", "benchmark": "m", "min_value": "nan"}, 422, "min_value"),
        ({"q": "x" * 1001}, 422, "q"),
    ],
)
def test_malformed_search_is_a_json_4xx(
    sqlite_server: Any, params: dict[str, Any], status: int, fragment: str
) -> None:
    response = _search(sqlite_server, **params)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False and body["status"] == status
    assert fragment in body["error"]


@pytest.mark.parametrize("query", ['"foo', "AND OR (", "NEAR(", "*", "\\", "💥", "a\x00b"])
def test_fts_syntax_never_breaks_search(sqlite_server: Any, query: str) -> None:
    for mode in ("keyword", "hybrid"):
        response = _search(sqlite_server, q=query, mode=mode)
        assert response.status_code == 200, response.text


def test_aggregate_errors_over_http(sqlite_server: Any) -> None:
    with sqlite_server.client() as client:
        unknown = client.get("/api/v1/aggregate/nope")
        missing = client.get("/api/v1/aggregate/results-over-time")
        fine = client.get("/api/v1/aggregate/results-over-time", params={"benchmark": "cora"})
    assert unknown.status_code == 404 and unknown.json()["ok"] is False
    assert "unknown aggregation" in unknown.json()["error"]
    assert missing.status_code == 422 and "benchmark" in missing.json()["error"]
    assert fine.status_code == 200 and fine.json()["metric"] == "accuracy"


def test_no_close_matches_over_http(sqlite_server: Any, published: dict[str, str]) -> None:
    off_topic = "quantum chromodynamics lattice QCD"
    for mode in ("semantic", "hybrid"):
        body = _search(sqlite_server, q=off_topic, mode=mode).json()
        assert body["total"] == 0 and body["items"] == []
        assert body["min_score"] == 0.3 and "no close matches" in body["note"]
    unfloored = _search(sqlite_server, q=off_topic, mode="semantic", min_score=-1).json()
    assert unfloored["total"] >= 1 and unfloored["note"] is None
    assert _search(sqlite_server, q=off_topic, min_score=2).status_code == 422
    with sqlite_server.client() as client:
        page = client.get("/search", params={"q": off_topic}).text
        assert "No close matches." in page and "relevance floor of 0.3" in page
        everything = client.get("/search", params={"q": off_topic, "min_score": "-1"}).text
        assert "No close matches." not in everything and "Graph Attention Networks" in everything
        assert client.get("/search", params={"q": "x", "min_score": "high"}).status_code == 400
