"""The Atom feed of new papers (``/feed.atom``, ``/rss``) and BibTeX citations: rendering
units (escaping) and the routes over real HTTP on a SQLite server."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser
import httpx
import pytest
from lxml import etree
from tests.conftest import LiveServer, start_server, stop_server

from agentrxiv.archive.atom import ARXIV_NS, ATOM_NS, OPENSEARCH_NS, FeedEntry, recent_feed
from agentrxiv.archive.bibtex import bibtex_entry, latex_escape

NS = {"a": ATOM_NS}
SPECIAL_TITLE = r"Tricks & traps: 100% of $x_i^2$ in {braces} #1 ~ back\slash"
SERVER_ENV = {"AGENTRXIV_EMBED_ON_WRITE": "false"}


def entry(**fields: Any) -> FeedEntry:
    """A feed entry with overridable fields."""
    stamp = datetime(2026, 11, 2, 3, 4, 5, tzinfo=UTC)
    base: dict[str, Any] = {
        "paper_id": "2611.00007",
        "version": 1,
        "title": "A title",
        "abstract": "An abstract.",
        "authors": [{"name": "Ada Agent", "lab": "Lab A"}],
        "lab": "Lab A",
        "categories": ["cs.AI"],
        "primary_category": "cs.AI",
        "published": stamp,
        "updated": stamp,
    }
    return FeedEntry(**{**base, **fields})


def braces_balanced(text: str) -> bool:
    depth = 0
    for index, char in enumerate(text):
        if char in "{}" and index and text[index - 1] == "\\":
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


# ---------------------------------------------------------------------------------- units


def test_latex_escape_every_special_character() -> None:
    assert latex_escape(SPECIAL_TITLE) == (
        r"Tricks \& traps: 100\% of \$x\_i\textasciicircum{}2\$ in \{braces\} \#1 "
        r"\textasciitilde{} back\textbackslash{}slash"
    )
    assert latex_escape("  line\n  break ") == "line break"


def test_bibtex_entry_fields_and_escaping() -> None:
    authors = [{"name": "Ada & Co"}, {"name": "Bob and Carol", "lab": "X"}]
    text = bibtex_entry(
        entry(title=SPECIAL_TITLE, authors=authors, comment="50% done", version=3),
        "https://example.org/",
    )
    assert text.startswith("@misc{agentrxiv:2611.00007,\n")
    assert r"title = {Tricks \& traps: 100\% of \$x\_i" in text
    # "and" inside a name is braced so BibTeX keeps it one author.
    assert r"author = {Ada \& Co and {Bob and Carol}}" in text
    assert "year = {2026}" in text and "eprint = {2611.00007}" in text
    assert "archivePrefix = {AgentRxiv}" in text and "primaryClass = {cs.AI}" in text
    assert "url = {https://example.org/abs/2611.00007}" in text
    assert r"note = {50\% done}" in text
    assert braces_balanced(text)


def test_bibtex_of_withdrawn_paper_notes_it() -> None:
    text = bibtex_entry(entry(withdrawn=True, withdrawn_reason="bug_in_grader"), "http://x")
    assert r"note = {This paper has been withdrawn: bug\_in\_grader}" in text


def test_atom_escapes_markup_and_drops_control_characters() -> None:
    title = "<script>alert('x')</script> & \x00\x0bok"
    feed = recent_feed(
        [entry(title=title)], base_url="http://x", self_url="http://x/feed.atom", title="t"
    )
    root = etree.fromstring(feed)
    assert root.findtext("a:entry/a:title", namespaces=NS) == "<script>alert('x')</script> & ok"
    assert b"<script>" not in feed


# ---------------------------------------------------------------------------- the server


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A SQLite server with three papers: A (cs.AI, special title), B (cs.CL), C (both)."""
    home = tmp_path_factory.mktemp("feeds")
    with contextlib.ExitStack() as stack:
        server = start_server(home, f"sqlite:///{home / 'archive.sqlite'}", SERVER_ENV)
        stack.callback(stop_server, server)
        ids = {
            "a": publish(server, SPECIAL_TITLE, ["cs.AI"], [{"name": "Ann & Co"}]),
            "b": publish(server, "Plain paper B", ["cs.CL"], [{"name": "Ben"}]),
            "c": publish(server, "Plain paper C", ["cs.CL", "cs.AI"], []),
        }
        yield {"server": server, **ids}


def publish(server: LiveServer, title: str, categories: list[str], authors: list[Any]) -> str:
    body = {"title": title, "abstract": f"About {title}.", "authors": authors}
    with server.client(server.token) as client:
        response = client.post("/api/v1/papers", json={**body, "categories": categories})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def get(site: dict[str, Any], path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{site['server'].url}{path}", params=params, timeout=30)


def ids_in(response: httpx.Response) -> list[str]:
    root = etree.fromstring(response.content)
    refs = root.xpath("a:entry/a:id/text()", namespaces=NS)
    return [ref.rsplit("/abs/", 1)[1].split("v")[0] for ref in refs]


@pytest.mark.integration
def test_atom_feed_lists_newest_papers(site: dict[str, Any]) -> None:
    response = get(site, "/feed.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = etree.fromstring(response.content)
    assert root.nsmap == {None: ATOM_NS, "opensearch": OPENSEARCH_NS, "arxiv": ARXIV_NS}
    assert root.findtext("a:id", namespaces=NS) == f"{site['server'].url}/feed.atom"
    assert ids_in(response) == [site["c"], site["b"], site["a"]]
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.entries[2].title == SPECIAL_TITLE  # escaped in XML, intact after parsing
    assert parsed.entries[2].author == "Ann & Co"
    assert parsed.entries[0].author == "test-lab"  # no authors listed: the posting lab


@pytest.mark.integration
def test_atom_feed_limit_and_category(site: dict[str, Any]) -> None:
    assert ids_in(get(site, "/feed.atom", limit=2)) == [site["c"], site["b"]]
    assert ids_in(get(site, "/feed.atom", category="cs.AI")) == [site["c"], site["a"]]
    assert ids_in(get(site, "/feed.atom", category="math.NT")) == []
    for bad in ({"limit": 0}, {"limit": 10_000}, {"limit": "many"}):
        response = get(site, "/feed.atom", **bad)
        assert response.status_code == 422, bad
        assert response.json()["ok"] is False


@pytest.mark.integration
def test_rss_redirects_to_the_atom_feed(site: dict[str, Any]) -> None:
    response = get(site, "/rss", limit=1)
    assert response.status_code == 301
    assert response.headers["location"] == "/feed.atom?limit=1"
    followed = httpx.get(f"{site['server'].url}/rss?limit=1", follow_redirects=True)
    assert ids_in(followed) == [site["c"]]


@pytest.mark.integration
def test_bibtex_routes(site: dict[str, Any]) -> None:
    paper_id = site["a"]
    paths = [f"/abs/{paper_id}/bibtex", f"/bibtex/{paper_id}", f"/api/v1/papers/{paper_id}/bibtex"]
    bodies = []
    for path in paths:
        response = get(site, path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/x-bibtex")
        bodies.append(response.text)
    assert bodies[0] == bodies[1] == bodies[2]
    text = bodies[0]
    assert text.startswith(f"@misc{{agentrxiv:{paper_id},")
    assert rf"title = {{{latex_escape(SPECIAL_TITLE)}}}" in text
    assert r"author = {Ann \& Co}" in text
    assert f"url = {{{site['server'].url}/abs/{paper_id}}}" in text
    assert f"year = {{20{paper_id[:2]}}}" in text
    assert braces_balanced(text)
    assert get(site, f"/bibtex/{paper_id}v1").text == text


@pytest.mark.integration
def test_bibtex_of_missing_papers_is_404(site: dict[str, Any]) -> None:
    for path in ("/bibtex/9912.99999", f"/bibtex/{site['a']}v7", "/api/v1/papers/nonsense/bibtex"):
        response = get(site, path)
        assert response.status_code == 404, path
        assert response.json()["ok"] is False
