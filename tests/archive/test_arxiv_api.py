"""The arXiv-compatible API: the query parser and SQL translation (unit), then ``/api/query``
and ``/pdf`` over real HTTP on SQLite and PostgreSQL, checked as raw Atom, through
feedparser, and through the ``arxiv`` PyPI client pointed at the server by its base URL."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import arxiv
import feedparser
import httpx
import pytest
from lxml import etree
from sqlalchemy.dialects import postgresql, sqlite
from tests.conftest import LiveServer, postgres_database, start_server, stop_server

from agentrxiv.archive.arxiv_query import (
    ArxivQueryError,
    BoolOp,
    DateRange,
    Term,
    parse_paper_ref,
    parse_query,
    to_condition,
)
from agentrxiv.archive.atom import ARXIV_NS, ATOM_NS, OPENSEARCH_NS, FeedEntry, query_feed

NS = {"a": ATOM_NS, "os": OPENSEARCH_NS, "arxiv": ARXIV_NS}
PDF_V1 = b"%PDF-1.4\n% version one\n%%EOF\n"
PDF_V2 = b"%PDF-1.4\n% version two\n%%EOF\n"
# Speed: no embedding model in the server; keyword search does not need it.
SERVER_ENV = {"AGENTRXIV_EMBED_ON_WRITE": "false"}


# ------------------------------------------------------------------------------ the parser


def t(field: str, text: str, **kw: bool) -> Term:
    return Term(field=field, text=text, **kw)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("electron", t("all", "electron")),
        ("ti:quantum", t("ti", "quantum")),
        ('abs:"quantum computing"', t("abs", "quantum computing", phrase=True)),
        ("au:del_maestro", t("au", "del_maestro")),
        ("cat:cs.AI", t("cat", "cs.AI")),
        ("cat:cs.*", t("cat", "cs.", prefix=True)),
        ("co:pages", t("co", "pages")),
        ("id:2611.00001", t("id", "2611.00001")),
        ("comput*", t("all", "comput", prefix=True)),
        ("ti:a AND au:b", BoolOp("AND", t("ti", "a"), t("au", "b"))),
        ("ti:a au:b", BoolOp("AND", t("ti", "a"), t("au", "b"))),  # no operator = AND
        ("a ANDNOT b", BoolOp("ANDNOT", t("all", "a"), t("all", "b"))),
        # Operators are upper case; "and" is a word. Implicit ANDs fold to the left.
        ("a and b", BoolOp("AND", BoolOp("AND", t("all", "a"), t("all", "and")), t("all", "b"))),
    ],
)
def test_parser_terms_and_operators(query: str, expected: Any) -> None:
    assert parse_query(query) == expected


def test_parser_precedence_and_grouping() -> None:
    # AND binds tighter than OR, operators fold to the left, parentheses override.
    assert parse_query("a OR b AND c") == BoolOp(
        "OR", t("all", "a"), BoolOp("AND", t("all", "b"), t("all", "c"))
    )
    assert parse_query("(a OR b) AND c") == BoolOp(
        "AND", BoolOp("OR", t("all", "a"), t("all", "b")), t("all", "c")
    )
    assert parse_query("a ANDNOT b OR c") == BoolOp(
        "OR", BoolOp("ANDNOT", t("all", "a"), t("all", "b")), t("all", "c")
    )
    # A prefix before a group applies to the group's unprefixed terms only.
    assert parse_query('ti:(quantum OR au:smith OR "x y")') == BoolOp(
        "OR",
        BoolOp("OR", t("ti", "quantum"), t("au", "smith")),
        t("ti", "x y", phrase=True),
    )


def test_parser_date_ranges() -> None:
    node = parse_query("submittedDate:[202301010000 TO 202301312359]")
    assert node == DateRange(
        "submittedDate",
        datetime(2023, 1, 1, tzinfo=UTC),
        datetime(2023, 2, 1, tzinfo=UTC),  # the end minute is included
    )
    day = parse_query("lastUpdatedDate:[20230105 TO *]")
    assert day == DateRange("lastUpdatedDate", datetime(2023, 1, 5, tzinfo=UTC), None)
    combined = parse_query("cat:cs.AI AND submittedDate:[20230101 TO 20231231]")
    assert isinstance(combined, BoolOp) and isinstance(combined.right, DateRange)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "empty"),
        ("ti:(quantum", "malformed"),
        ("quantum)", "malformed"),
        ("a AND", "malformed"),
        ("OR a", "malformed"),
        ("a AND OR b", "malformed"),
        ("()", "malformed"),
        ('ti:"unterminated', "malformed"),
        ("xx:foo", "unknown field prefix 'xx'"),
        ("ti:", "missing or malformed search term"),
        ("submittedDate:[2023 TO 2024]", "invalid date"),
        ("submittedDate:[20231301 TO 20231401]", "invalid date"),
        ("submittedDate:[20240101 TO 20230101]", "start is after the end"),
        ("submittedDate:20230101", "malformed date range"),
        ("(" * 200 + "a" + ")" * 200, "nested too deeply"),
        ("a " * 3000, "longer than"),
    ],
)
def test_parser_rejects_malformed_queries(query: str, message: str) -> None:
    with pytest.raises(ArxivQueryError, match=message.replace("(", r"\(")) as caught:
        parse_query(query)
    assert caught.value.status == 400


def test_paper_refs() -> None:
    assert parse_paper_ref("2611.00001") == ("2611.00001", None)
    assert parse_paper_ref(" 2611.00001v3 ") == ("2611.00001", 3)
    for bad in ("1234.1234", "2611.00001v0", "cond-mat/0709123", "2611.00001v"):
        with pytest.raises(ArxivQueryError, match="malformed id"):
            parse_paper_ref(bad)


def test_translation_per_dialect() -> None:
    node = parse_query('ti:"neural nets" AND cat:cs.AI ANDNOT au:bob*')
    lite = str(to_condition(node, "sqlite").compile(dialect=sqlite.dialect()))
    assert lite.count("paper_fts MATCH") == 2 and "NOT" in lite
    pg = str(to_condition(node, "postgresql").compile(dialect=postgresql.dialect()))
    assert "ts_filter" in pg and "phraseto_tsquery" in pg and "to_tsquery" in pg
    assert "paper_fts" not in pg
    # User text is always a bound parameter, never spliced into the SQL.
    nasty = parse_query('ti:"x\') OR 1=1 --"')
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        assert "1=1" not in str(to_condition(nasty, dialect.name).compile(dialect=dialect))


def test_arxiv_client_short_ids_on_an_arxiv_org_host() -> None:
    """``Result.get_short_id()`` splits on "arxiv.org/abs/", so it works for a server whose
    public host name ends in "arxiv.org"; checked with the package's own parser."""
    stamp = datetime(2026, 11, 2, 3, 4, 5, tzinfo=UTC)
    entry = FeedEntry(
        paper_id="2611.00042",
        version=2,
        title="T",
        abstract="A",
        authors=[{"name": "N", "lab": "L"}],
        lab="L",
        categories=["cs.AI"],
        primary_category="cs.AI",
        published=stamp,
        updated=stamp,
    )
    feed = query_feed(
        [entry],
        base_url="https://agentarxiv.org",
        self_url="https://agentarxiv.org/api/query",
        title="t",
        feed_id="i",
        total=1,
        start=0,
        per_page=10,
    )
    from arxiv import _feed  # the client's own Atom parser

    (result,) = _feed.parse(feed).results
    assert result.get_short_id() == "2611.00042v2"
    assert result.pdf_url == "https://agentarxiv.org/pdf/2611.00042v2"
    assert result.published == stamp


# -------------------------------------------------------------------- the server, seeded


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def archive(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A live server per database, seeded with three papers (one revised, one withdrawn)."""
    home = tmp_path_factory.mktemp(f"arxiv-{request.param}")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            db = f"sqlite:///{home / 'archive.sqlite'}"
        else:
            db = stack.enter_context(contextlib.contextmanager(postgres_database)())
        server = start_server(home, db, SERVER_ENV)
        stack.callback(stop_server, server)
        yield {"server": server, **seed(server)}


def post(server: LiveServer, path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
    with server.client(token) as client:
        response = client.post(path, json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


def seed(server: LiveServer) -> dict[str, str]:
    """P1 quantum (cs.AI, quant-ph; PDF; revised to v2), P2 chain-of-thought (cs.CL),
    P3 self-consistency (cs.CL, cs.AI; withdrawn)."""
    p1 = post(
        server,
        "/api/v1/papers",
        {
            "title": "Quantum computing with agent laboratories",
            "abstract": "We study electron transport measured by autonomous labs.",
            "authors": [{"name": "Alice Agent", "lab": "Lab One"}, {"name": "Bob Builder"}],
            "categories": ["quant-ph", "cs.AI"],
            "comment": "12 pages, 3 figures",
            "pdf_base64": base64.b64encode(PDF_V1).decode(),
        },
        server.token,
    )["id"]
    p2 = post(
        server,
        "/api/v1/papers",
        {
            "title": "Chain-of-thought prompting for MATH-500",
            "abstract": "Prompting improves accuracy on competition mathematics.",
            "authors": [{"name": "Carol Chen", "lab": "Lab Two"}],
            "categories": ["cs.CL"],
        },
        server.token,
    )["id"]
    p3 = post(
        server,
        "/api/v1/papers",
        {
            "title": "Self-consistency beats greedy decoding",
            "abstract": "Majority voting over sampled reasoning chains; quantum is not involved.",
            "authors": [{"name": "Dana Diaz"}],
            "categories": ["cs.CL", "cs.AI"],
        },
        server.token,
    )["id"]
    post(
        server,
        f"/api/v1/papers/{p1}/versions",
        {
            "title": "Quantum computing with agent laboratories, revised",
            "abstract": "We study electron transport measured by autonomous labs, again.",
            "authors": [{"name": "Alice Agent", "lab": "Lab One"}, {"name": "Bob Builder"}],
            "categories": ["quant-ph", "cs.AI"],
            "comment": "14 pages",
            "pdf_base64": base64.b64encode(PDF_V2).decode(),
        },
        server.token,
    )
    post(server, f"/api/v1/papers/{p3}/withdraw", {"reason": "flawed grader"}, server.admin_token)
    return {"p1": p1, "p2": p2, "p3": p3}


def api(archive: dict[str, Any], **params: str) -> httpx.Response:
    return httpx.get(f"{archive['server'].url}/api/query", params=params, timeout=30)


def feed_of(response: httpx.Response) -> Any:
    assert response.headers["content-type"].startswith("application/atom+xml")
    return etree.fromstring(response.content)


def entry_refs(root: Any) -> list[str]:
    return [e.findtext("a:id", namespaces=NS).rsplit("/abs/", 1)[1] for e in entries(root)]


def entries(root: Any) -> list[Any]:
    return root.findall("a:entry", NS)


def total(root: Any) -> int:
    return int(root.findtext("os:totalResults", namespaces=NS))


# ------------------------------------------------------------------------ raw Atom checks


@pytest.mark.integration
def test_feed_has_arxiv_namespaces_totals_and_entry_fields(archive: dict[str, Any]) -> None:
    p1, url = archive["p1"], archive["server"].url
    response = api(archive, search_query="ti:quantum")
    assert response.status_code == 200
    root = feed_of(response)
    assert root.tag == f"{{{ATOM_NS}}}feed"
    assert root.nsmap == {None: ATOM_NS, "opensearch": OPENSEARCH_NS, "arxiv": ARXIV_NS}
    assert root.findtext("a:title", namespaces=NS).startswith("AgentRxiv Query: search_query=")
    assert root.findtext("a:id", namespaces=NS).startswith(f"{url}/api/")
    assert root.find("a:updated", NS) is not None
    assert (total(root), root.findtext("os:startIndex", namespaces=NS)) == (1, "0")
    assert root.findtext("os:itemsPerPage", namespaces=NS) == "10"
    (entry,) = entries(root)
    assert entry.findtext("a:id", namespaces=NS) == f"{url}/abs/{p1}v2"
    assert entry.findtext("a:title", namespaces=NS).endswith("revised")
    assert entry.findtext("a:summary", namespaces=NS).endswith("again.")
    published = entry.findtext("a:published", namespaces=NS)
    updated = entry.findtext("a:updated", namespaces=NS)
    assert published.endswith("Z") and published <= updated
    authors = entry.findall("a:author", NS)
    assert [a.findtext("a:name", namespaces=NS) for a in authors] == [
        "Alice Agent",
        "Bob Builder",
    ]
    # An author's lab is always the posting token's lab ("Lab One" in the request).
    assert authors[0].findtext("arxiv:affiliation", namespaces=NS) == "test-lab"
    assert authors[1].findtext("arxiv:affiliation", namespaces=NS) == "test-lab"  # poster
    assert entry.findtext("arxiv:comment", namespaces=NS) == "14 pages"
    links = {(ln.get("rel"), ln.get("title")): ln for ln in entry.findall("a:link", NS)}
    alternate, pdf = links[("alternate", None)], links[("related", "pdf")]
    assert (alternate.get("href"), alternate.get("type")) == (f"{url}/abs/{p1}v2", "text/html")
    assert (pdf.get("href"), pdf.get("type")) == (f"{url}/pdf/{p1}v2", "application/pdf")
    primary = entry.find("arxiv:primary_category", NS)
    assert (primary.get("term"), primary.get("scheme")) == ("quant-ph", ARXIV_NS)
    categories = entry.findall("a:category", NS)
    assert [c.get("term") for c in categories] == ["quant-ph", "cs.AI"]
    assert {c.get("scheme") for c in categories} == {ARXIV_NS}
    assert entry.find("arxiv:doi", NS) is None and entry.find("arxiv:journal_ref", NS) is None


QUERIES = [
    ("ti:quantum", {"p1"}),
    ("abs:quantum", {"p3"}),
    ("all:quantum", {"p1", "p3"}),
    ("quantum", {"p1", "p3"}),
    ("au:carol", {"p2"}),
    ('au:"Alice Agent"', {"p1"}),
    ("cat:cs.CL", {"p2", "p3"}),
    ("cat:cs.AI AND cat:cs.CL", {"p3"}),
    ("cat:cs.CL ANDNOT ti:self", {"p2"}),
    ("cat:cs.*", {"p1", "p2", "p3"}),
    # AND before OR: chain OR (quantum AND quant-ph); left-to-right would drop p2.
    ("ti:chain OR ti:quantum AND cat:quant-ph", {"p1", "p2"}),
    ("(ti:chain OR ti:quantum) AND cat:quant-ph", {"p1"}),
    ("ti:(quantum OR chain)", {"p1", "p2"}),
    ('abs:"reasoning chains"', {"p3"}),
    ('abs:"chains reasoning"', set()),
    ("prompt*", {"p2"}),
    ("co:pages", {"p1"}),
    ("co:withdrawn", set()),  # the notice is rendered, not stored as the comment
    ("ti:revised", {"p1"}),  # the latest version is indexed ...
    ("ti:laboratories ANDNOT ti:revised", set()),  # ... and only the latest
    ("jr:anything", set()),
    ("ti:nonexistentword", set()),
    ("submittedDate:[20000101 TO 20001231]", set()),
]


@pytest.mark.integration
@pytest.mark.parametrize(("query", "expected"), QUERIES)
def test_field_prefixes_and_booleans(
    archive: dict[str, Any], query: str, expected: set[str]
) -> None:
    root = feed_of(api(archive, search_query=query, max_results="50"))
    got = {ref.split("v")[0] for ref in entry_refs(root)}
    assert got == {archive[name] for name in expected}
    assert total(root) == len(expected)


@pytest.mark.integration
def test_id_prefix_and_date_range(archive: dict[str, Any]) -> None:
    assert entry_refs(feed_of(api(archive, search_query=f"id:{archive['p2']}"))) == [
        f"{archive['p2']}v1"
    ]
    now = datetime.now(UTC)
    span = f"[{(now - timedelta(days=1)):%Y%m%d%H%M} TO {(now + timedelta(days=1)):%Y%m%d%H%M}]"
    root = feed_of(api(archive, search_query=f"submittedDate:{span} AND cat:cs.CL"))
    assert total(root) == 2


@pytest.mark.integration
def test_paging_and_sorting(archive: dict[str, Any]) -> None:
    p1, p2, p3 = archive["p1"], archive["p2"], archive["p3"]
    query = {"search_query": "cat:cs.*", "sortBy": "submittedDate"}
    newest = entry_refs(feed_of(api(archive, **query)))
    assert [r.split("v")[0] for r in newest] == [p3, p2, p1]
    oldest = entry_refs(feed_of(api(archive, **query, sortOrder="ascending")))
    assert [r.split("v")[0] for r in oldest] == [p1, p2, p3]
    page = feed_of(api(archive, **query, start="1", max_results="1"))
    assert (total(page), entry_refs(page)) == (3, [f"{p2}v1"])
    assert page.findtext("os:startIndex", namespaces=NS) == "1"
    assert page.findtext("os:itemsPerPage", namespaces=NS) == "1"
    assert entries(feed_of(api(archive, **query, start="3"))) == []
    assert entries(feed_of(api(archive, **query, start=str(10**30)))) == []
    # p1 was revised after p2 was submitted, so last-updated order differs from submitted.
    updated = entry_refs(
        feed_of(api(archive, search_query="ti:quantum OR ti:chain", sortBy="lastUpdatedDate"))
    )
    assert [r.split("v")[0] for r in updated] == [p1, p2]
    # Relevance: the paper with the term in its title outranks the one with it in the abstract.
    ranked = entry_refs(feed_of(api(archive, search_query="all:quantum")))
    assert ranked[0].startswith(p1)


@pytest.mark.integration
def test_id_list_order_versions_and_filtering(archive: dict[str, Any]) -> None:
    p1, p2, p3, url = archive["p1"], archive["p2"], archive["p3"], archive["server"].url
    assert entry_refs(feed_of(api(archive, id_list=f"{p2},{p1}"))) == [f"{p2}v1", f"{p1}v2"]
    (old,) = entries(feed_of(api(archive, id_list=f"{p1}v1")))
    assert old.findtext("a:id", namespaces=NS) == f"{url}/abs/{p1}v1"
    assert old.findtext("a:title", namespaces=NS) == "Quantum computing with agent laboratories"
    assert old.findtext("arxiv:comment", namespaces=NS) == "12 pages, 3 figures"
    # With both, id_list filters the query's results (as arXiv does).
    both = feed_of(api(archive, search_query="cat:cs.CL", id_list=f"{p3},{p1}"))
    assert entry_refs(both) == [f"{p3}v1"]
    assert total(feed_of(api(archive, id_list="9912.99999"))) == 0
    assert total(feed_of(api(archive))) == 0  # neither parameter: an empty feed


@pytest.mark.integration
def test_withdrawn_papers_are_returned_with_a_comment(archive: dict[str, Any]) -> None:
    (entry,) = entries(feed_of(api(archive, id_list=archive["p3"])))
    comment = entry.findtext("arxiv:comment", namespaces=NS)
    assert comment == "This paper has been withdrawn: flawed grader"


@pytest.mark.integration
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "abc"}, "start must be an integer"),
        ({"start": "-1"}, "start must be non-negative"),
        ({"max_results": "ten"}, "max_results must be an integer"),
        ({"max_results": "-5"}, "max_results must be non-negative"),
        ({"sortBy": "citations"}, "unknown sortBy"),
        ({"sortOrder": "up"}, "unknown sortOrder"),
        ({"id_list": "1234.1234"}, "malformed id '1234.1234'"),
        ({"id_list": "2611.00001,cond-mat/0709123"}, "malformed id 'cond-mat/0709123'"),
        ({"search_query": "ti:(quantum"}, "malformed"),
        ({"search_query": "quantum AND"}, "malformed search_query"),
        ({"search_query": "xx:quantum"}, "unknown field prefix"),
        ({"search_query": "submittedDate:[2023 TO 2024]"}, "invalid date"),
        ({"search_query": "ti:a\x00b"}, "control characters"),
    ],
)
def test_errors_are_400_with_one_error_entry(
    archive: dict[str, Any], params: dict[str, str], message: str
) -> None:
    response = api(archive, **{"search_query": "all:x", **params})
    assert response.status_code == 400
    root = feed_of(response)
    assert total(root) == 1
    (entry,) = entries(root)
    assert entry.findtext("a:title", namespaces=NS) == "Error"
    assert message in entry.findtext("a:summary", namespaces=NS)
    assert entry.findtext("a:id", namespaces=NS).startswith(f"{archive['server'].url}/api/errors#")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo and parsed.entries[0].title == "Error"


@pytest.mark.integration
def test_max_results_is_capped(archive: dict[str, Any]) -> None:
    root = feed_of(api(archive, search_query="cat:cs.*", max_results="100000"))
    assert root.findtext("os:itemsPerPage", namespaces=NS) == "2000"
    assert total(root) == 3


@pytest.mark.integration
def test_feedparser_reads_the_feed(archive: dict[str, Any]) -> None:
    response = api(archive, search_query="cat:cs.AI", sortBy="submittedDate")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.opensearch_totalresults == "2"
    titles = [e.title for e in parsed.entries]
    assert titles == [
        "Self-consistency beats greedy decoding",
        "Quantum computing with agent laboratories, revised",
    ]
    quantum = parsed.entries[1]
    assert quantum.arxiv_primary_category["term"] == "quant-ph"
    assert [t["term"] for t in quantum.tags] == ["quant-ph", "cs.AI"]
    assert any(link.get("title") == "pdf" for link in quantum.links)


# ------------------------------------------------------------- the arxiv client, unchanged


def arxiv_client(archive: dict[str, Any], page_size: int = 100) -> arxiv.Client:
    """The PyPI ``arxiv`` client with only its base URL changed (and no politeness delay)."""
    client = arxiv.Client(page_size=page_size, delay_seconds=0, num_retries=0)
    client.query_url_format = f"{archive['server'].url}/api/query?{{}}"
    return client


@pytest.mark.integration
def test_arxiv_client_search_pages_through_results(archive: dict[str, Any]) -> None:
    p1, p2, p3, url = archive["p1"], archive["p2"], archive["p3"], archive["server"].url
    search = arxiv.Search(
        query="cat:cs.*",
        max_results=None,
        sort_by=arxiv.SortCriterion.SubmittedDate,
        sort_order=arxiv.SortOrder.Ascending,
    )
    results = list(arxiv_client(archive, page_size=2).results(search))  # two pages
    assert [r.entry_id for r in results] == [
        f"{url}/abs/{p1}v2",
        f"{url}/abs/{p2}v1",
        f"{url}/abs/{p3}v1",
    ]
    quantum = results[0]
    assert quantum.entry_id.rsplit("/abs/", 1)[1] == f"{p1}v2"  # the short id, versioned
    assert quantum.title == "Quantum computing with agent laboratories, revised"
    assert [a.name for a in quantum.authors] == ["Alice Agent", "Bob Builder"]
    assert quantum.authors[0].affiliation == ["test-lab"]  # the posting lab, always
    assert quantum.primary_category == "quant-ph"
    assert quantum.categories == ["quant-ph", "cs.AI"]
    assert quantum.comment == "14 pages"
    assert quantum.pdf_url == f"{url}/pdf/{p1}v2"
    assert quantum.published <= quantum.updated
    assert httpx.get(quantum.pdf_url).content == PDF_V2


@pytest.mark.integration
def test_arxiv_client_id_list_and_errors(archive: dict[str, Any]) -> None:
    p1, p2 = archive["p1"], archive["p2"]
    client = arxiv_client(archive)
    results = list(client.results(arxiv.Search(id_list=[f"{p1}v1", p2])))
    assert [r.entry_id.rsplit("/abs/", 1)[1] for r in results] == [f"{p1}v1", f"{p2}v1"]
    assert results[0].title == "Quantum computing with agent laboratories"
    assert results[0].pdf_url.endswith(f"/pdf/{p1}v1")
    assert httpx.get(results[0].pdf_url).content == PDF_V1
    with pytest.raises(arxiv.HTTPError) as caught:
        list(client.results(arxiv.Search(query="ti:(unbalanced")))
    assert caught.value.status == 400


# ---------------------------------------------------------------------------------- PDFs


@pytest.mark.integration
def test_pdf_route(archive: dict[str, Any]) -> None:
    p1, p2, url = archive["p1"], archive["p2"], archive["server"].url
    first = httpx.get(f"{url}/pdf/{p1}v1")
    assert first.status_code == 200 and first.content == PDF_V1
    assert first.headers["content-type"] == "application/pdf"
    assert httpx.get(f"{url}/pdf/{p1}").content == PDF_V2  # no version: the latest
    assert httpx.get(f"{url}/pdf/{p1}v2.pdf").content == PDF_V2
    for missing in (f"{p2}", f"{p1}v9", "9912.99999", "not-an-id"):
        response = httpx.get(f"{url}/pdf/{missing}")
        assert response.status_code == 404, missing
        assert response.json()["ok"] is False
