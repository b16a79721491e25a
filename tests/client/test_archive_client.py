"""The typed client: retry policy and error mapping against scripted transports, then every
call against a real server."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import date

import httpx
import pytest
from tests.conftest import LiveServer, free_port

from agentrxiv.archive.schemas import PaperCreate, ResultIn, ReviewCreate, ReviewForm
from agentrxiv.client import ArchiveClient
from agentrxiv.errors import (
    ArchiveError,
    AuthError,
    ConfigError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
)

EMPTY_LIST = {"total": 0, "offset": 0, "items": []}


def scripted(
    *replies: httpx.Response | Exception,
) -> tuple[ArchiveClient, list[httpx.Request]]:
    """A client whose transport answers with ``replies`` in order (and records requests)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        reply = replies[min(len(seen), len(replies)) - 1]
        if isinstance(reply, Exception):
            raise reply
        return reply

    client = ArchiveClient(
        "http://archive.test",
        token="t",
        retries=3,
        backoff=0,
        transport=httpx.MockTransport(handler),
    )
    return client, seen


def error(status: int, message: str = "nope") -> httpx.Response:
    """A server error reply in the API's shape."""
    return httpx.Response(status, json={"ok": False, "error": message, "status": status})


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_reads_retry_transient_statuses(status: int) -> None:
    client, seen = scripted(error(status), error(status), httpx.Response(200, json=EMPTY_LIST))
    assert client.list().total == 0
    assert len(seen) == 3


def test_reads_give_up_after_the_retries() -> None:
    client, seen = scripted(error(503, "overloaded"))
    with pytest.raises(ArchiveError, match="server error 503: overloaded") as caught:
        client.list()
    assert caught.value.status == 503
    assert len(seen) == 4  # one try and three retries


def test_retry_after_header_is_honoured() -> None:
    busy = httpx.Response(429, headers={"Retry-After": "0"}, json={"error": "slow down"})
    client, seen = scripted(busy, httpx.Response(200, json=EMPTY_LIST))
    client.list()
    assert len(seen) == 2


def test_connection_errors_are_retried_for_every_method() -> None:
    paper = PaperCreate(title="t", abstract="a")
    reply = httpx.Response(201, json=_paper_json())
    client, seen = scripted(httpx.ConnectError("refused"), reply)
    assert client.submit(paper).id == "2611.00001"
    assert len(seen) == 2 and seen[0].method == "POST"


def test_uploads_are_not_retried_when_they_may_have_been_stored() -> None:
    paper = PaperCreate(title="t", abstract="a")
    client, seen = scripted(error(502))
    with pytest.raises(ArchiveError, match="502"):
        client.submit(paper)
    assert len(seen) == 1
    client, seen = scripted(httpx.ReadTimeout("slow"))
    with pytest.raises(ArchiveError, match="cannot reach"):
        client.submit(paper)
    assert len(seen) == 1


def test_read_timeouts_are_retried_for_reads() -> None:
    client, seen = scripted(httpx.ReadTimeout("slow"), httpx.Response(200, json=EMPTY_LIST))
    assert client.list().total == 0
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, ArchiveError),
        (401, AuthError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (409, ConflictError),
        (413, PayloadTooLargeError),
        (422, ArchiveError),
    ],
)
def test_refusals_raise_at_once_with_the_server_message(status: int, kind: type) -> None:
    client, seen = scripted(error(status, f"refused with {status}"))
    with pytest.raises(kind, match=f"refused with {status}") as caught:
        client.get("2611.00001")
    assert caught.value.status == status
    assert len(seen) == 1


def test_search_sends_the_documented_parameters() -> None:
    reply = {"query": "q", "mode": "keyword", "total": 0, "offset": 5, "items": []}
    client, seen = scripted(httpx.Response(200, json=reply))
    found = client.search(
        "chain of thought",
        mode="keyword",
        k=3,
        offset=5,
        category="cs.AI",
        date_from=date(2026, 1, 2),
    )
    assert found.offset == 5
    params = dict(seen[0].url.params)
    assert seen[0].url.path == "/api/v1/search"
    assert params == {
        "q": "chain of thought",
        "mode": "keyword",
        "k": "3",
        "offset": "5",
        "category": "cs.AI",
        "date_from": "2026-01-02",
    }
    assert seen[0].headers["authorization"] == "Bearer t"


def test_unreachable_server_and_bad_urls() -> None:
    with (
        ArchiveClient(f"http://127.0.0.1:{free_port()}", retries=1, backoff=0) as client,
        pytest.raises(ArchiveError, match="cannot reach the archive") as caught,
    ):
        client.list()
    assert caught.value.hint and "agentrxiv serve" in caught.value.hint
    with pytest.raises(ConfigError, match="http://"):
        ArchiveClient("archive.example.org")


def _paper_json() -> dict[str, object]:
    return {
        "id": "2611.00001",
        "version": 1,
        "title": "t",
        "abstract": "a",
        "authors": [],
        "categories": [],
        "lab": "lab",
        "withdrawn": False,
        "created_at": "2026-11-01T00:00:00Z",
        "updated_at": "2026-11-01T00:00:00Z",
        "body": "",
        "comment": None,
        "parents": [],
        "results": [],
        "code_files": {},
        "has_pdf": False,
        "versions": [1],
    }


# ---------------------------------------------------------------- against a real server


def _form() -> ReviewForm:
    scores = dict.fromkeys(
        ("originality", "quality", "clarity", "significance", "soundness", "presentation"), 3
    )
    return ReviewForm(**scores, contribution=3, overall=7, confidence=3, decision="Accept")


@pytest.mark.integration
def test_every_call_against_a_live_server(sqlite_server: LiveServer) -> None:
    bench = f"bench-{uuid.uuid4().hex[:6]}"
    make: Callable[..., PaperCreate] = lambda **kw: PaperCreate(  # noqa: E731
        title=kw.pop("title", "Majority voting with a small model"),
        abstract="We vote over sampled solutions.",
        categories=["cs.AI"],
        results=[ResultIn(benchmark=bench, metric="accuracy", value=kw.pop("value", 0.4))],
        **kw,
    )
    pdf = base64.b64encode(b"%PDF-1.4 tiny").decode()
    with ArchiveClient(sqlite_server.url, token=sqlite_server.token) as client:
        assert client.health()
        parent = client.submit(make(pdf_base64=pdf))
        child = client.submit(make(title="Child", parents=[parent.id], value=0.6))
        assert client.new_version(parent.id, make(title="Revised")).version == 2
        assert client.get(parent.id).title == "Revised"
        assert client.get(parent.id, version=1).title == "Majority voting with a small model"
        assert client.pdf(parent.id, version=1) == b"%PDF-1.4 tiny"
        assert [n.id for n in client.lineage(child.id).ancestors] == [parent.id]
        board = client.leaderboard(bench, metric="accuracy")
        assert [e.paper_id for e in board.entries] == [child.id, parent.id]
        review = client.review(child.id, ReviewCreate(reviewer="r1", form=_form()))
        assert [r.id for r in client.reviews(child.id)] == [review.id]
        assert child.id in {p.id for p in client.list(limit=200).items}
        with pytest.raises(ArchiveError, match="unknown parent paper 2101.99999") as caught:
            client.submit(make(parents=["2101.99999"]))
        assert caught.value.status == 422
        with pytest.raises(ForbiddenError):
            client.withdraw(child.id, "not allowed")
        hits = client.search("majority voting", mode="keyword", k=50)
        assert parent.id in {hit.id for hit in hits.items}
    with ArchiveClient(sqlite_server.url, token=sqlite_server.admin_token) as admin:
        assert admin.withdraw(child.id, "duplicate").withdrawn
    with ArchiveClient(sqlite_server.url, token="arx_wrong") as stranger:
        with pytest.raises(AuthError, match="invalid or revoked token"):
            stranger.submit(make())
        with pytest.raises(NotFoundError, match="no paper 2101.99999"):
            stranger.get("2101.99999")
