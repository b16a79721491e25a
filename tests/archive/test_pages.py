"""The web pages against a real server (SQLite): content, sanitising of hostile paper bodies,
MathML, lineage, reviews, leaderboards with their SVG chart, search, and the 404 page.
Also the renderer on its own (no server)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agentrxiv.archive.render import render_markdown, sanitize_html

pytestmark = pytest.mark.integration

HOSTILE_BODY = """## Method

We minimise $x^2 + y^2$ and report $$\\frac{1}{n}\\sum_{i=1}^{n} a_i$$ per run.

<script>window.__pwned = 1</script>

<img src="x" onerror="window.__pwned = 2">

[click me](javascript:alert(1))

<a href="javascript:alert(3)" onclick="alert(4)">other</a>

<iframe src="https://example.org"></iframe>

<p style="position:fixed;top:0">styled</p>

| Method | Accuracy |
|--------|---------:|
| CoT    | 0.42     |
"""

REVIEW_FORM = {
    "summary": "Careful <script>alert(5)</script> study.",
    "strengths": "Clear ablations.",
    "weaknesses": "Small n.",
    "originality": 3,
    "quality": 3,
    "clarity": 4,
    "significance": 2,
    "questions": "",
    "limitations": "",
    "soundness": 3,
    "presentation": 4,
    "contribution": 3,
    "overall": 7,
    "confidence": 4,
    "decision": "Accept",
}


@pytest.fixture(scope="module", autouse=True)
def keyword_only_server() -> Iterator[None]:
    """The module's server skips embeddings on write: these tests search by keyword, and
    loading the embedding model would dominate their run time (search tests cover it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AGENTRXIV_EMBED_ON_WRITE", "false")
        yield


def publish(client: httpx.Client, **fields: Any) -> str:
    """Publish a paper through the JSON API and return its id."""
    paper = {
        "title": "Untitled",
        "abstract": "An abstract.",
        "authors": [{"name": "Ada Agent", "lab": "pages-lab", "models": ["smollm2-360m"]}],
        "categories": ["cs.AI"],
        **fields,
    }
    response = client.post("/api/v1/papers", json=paper)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture(scope="module")
def archive(sqlite_server: Any) -> dict[str, str]:
    """A small archive: a lineage of three papers, a revision, a review and a withdrawal."""
    with sqlite_server.client(sqlite_server.token) as client:
        root = publish(
            client,
            title="Step verification on MATH-500",
            abstract="Verification prompts <b>help</b> small models.",
            body=HOSTILE_BODY,
            results=[{"benchmark": "math500", "metric": "accuracy", "value": 0.42, "n": 500}],
        )
        child = publish(
            client,
            title="Self-consistency with verified chains",
            abstract="Majority voting over verified chains of thought.",
            body="Builds on the root paper.",
            categories=["cs.CL", "cs.AI"],
            parents=[root],
            pdf_base64=base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode(),
            results=[
                {"benchmark": "math500", "metric": "accuracy", "value": 0.51, "n": 500},
                {"benchmark": "gsm8k", "metric": "accuracy", "value": 0.6, "n": 100},
            ],
        )
        grandchild = publish(
            client,
            title="<script>document.title='pwned'</script>Dynamic prompting",
            abstract="A third paper.",
            parents=[child],
            results=[{"benchmark": "math500", "metric": "accuracy", "value": 0.47, "n": 500}],
        )
        withdrawn = publish(client, title="A flawed evaluation", abstract="Wrong split.")
        revised = client.post(
            f"/api/v1/papers/{root}/versions",
            json={
                "title": "Step verification on MATH-500, revised",
                "abstract": "Revised abstract.",
                "body": HOSTILE_BODY,
                "results": [{"benchmark": "math500", "metric": "accuracy", "value": 0.44}],
            },
        )
        assert revised.status_code == 201, revised.text
        review = client.post(
            f"/api/v1/papers/{child}/reviews", json={"reviewer": "rev-bot", "form": REVIEW_FORM}
        )
        assert review.status_code == 201, review.text
    with sqlite_server.client(sqlite_server.admin_token) as admin:
        gone = admin.post(
            f"/api/v1/papers/{withdrawn}/withdraw", json={"reason": "used the test split"}
        )
        assert gone.status_code == 200, gone.text
    return {"root": root, "child": child, "grandchild": grandchild, "withdrawn": withdrawn}


def get_html(server: Any, path: str, status: int = 200) -> str:
    """GET an HTML page, checking its status, type and security headers."""
    response = httpx.get(server.url + path, headers={"Accept": "text/html"}, timeout=60)
    assert response.status_code == status, (path, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp.replace("default-src", "")
    return response.text


def test_home_lists_recent_papers_newest_first(sqlite_server: Any, archive: dict) -> None:
    page = get_html(sqlite_server, "/")
    titles = re.findall(r'class="title" href="/abs/([\d.]+)"', page)
    assert titles == [archive[k] for k in ("withdrawn", "grandchild", "child", "root")]
    assert "Self-consistency with verified chains" in page
    assert "withdrawn</span>" in page
    second = get_html(sqlite_server, "/?offset=1")
    assert archive["withdrawn"] not in re.findall(r'href="/abs/([\d.]+)"', second)


def test_paper_page_shows_metadata_results_lineage_and_reviews(
    sqlite_server: Any, archive: dict
) -> None:
    page = get_html(sqlite_server, f"/abs/{archive['child']}")
    assert '<h1 class="paper-title">Self-consistency with verified chains</h1>' in page
    # The author's lab is the posting token's ("pages-lab" in the request is overwritten).
    assert "Ada Agent" in page and "test-lab" in page and "smollm2-360m" in page
    assert "pages-lab" not in page
    assert "Majority voting over verified chains of thought." in page
    assert 'class="tag primary" href="/search?category=cs.CL">cs.CL<' in page
    assert '<a href="/leaderboard/gsm8k">gsm8k</a>' in page and ">0.51<" in page
    # Lineage: its parent above, its child below, both linked.
    assert f'<a href="/abs/{archive["root"]}">' in page
    assert f'<a href="/abs/{archive["grandchild"]}">' in page
    # The review: reviewer, overall score, decision; its text escaped.
    assert "rev-bot" in page and "7/10" in page and 'class="decision accept"' in page
    assert "&lt;script&gt;alert(5)&lt;/script&gt;" in page
    assert f'href="/abs/{archive["child"]}/bibtex"' in page
    pdf_link = f'href="/pdf/{archive["child"]}v1"'
    assert pdf_link in page and pdf_link not in get_html(sqlite_server, f"/abs/{archive['root']}")
    pdf = httpx.get(f"{sqlite_server.url}/pdf/{archive['child']}v1", timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_hostile_body_is_sanitised_and_math_is_mathml(sqlite_server: Any, archive: dict) -> None:
    page = get_html(sqlite_server, f"/abs/{archive['root']}")
    body = page.split('<section class="paper-body">', 1)[1].split("</section>", 1)[0]
    assert "<script" not in body and "__pwned = 1" not in body
    assert "onerror" not in body and "onclick" not in body
    assert "javascript:" not in body.replace("[click me](javascript:alert(1))", "")
    assert "<iframe" not in body and "style=" not in body
    assert re.search(r"<math[^>]*><mrow><msup><mi>x</mi><mn>2</mn></msup>", body)
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">' in body
    assert '<th class="align-right">Accuracy</th>' in body
    # Abstract and a title with markup are escaped, never interpreted.
    assert "Revised abstract." in page
    child = get_html(sqlite_server, f"/abs/{archive['grandchild']}")
    assert "&lt;script&gt;document.title=" in child and "<script>" not in child


def test_versions_and_old_version_banner(sqlite_server: Any, archive: dict) -> None:
    latest = get_html(sqlite_server, f"/abs/{archive['root']}")
    assert "Step verification on MATH-500, revised" in latest
    assert f'href="/abs/{archive["root"]}v1"' in latest and "old-version" not in latest
    first = get_html(sqlite_server, f"/abs/{archive['root']}v1")
    assert '<h1 class="paper-title">Step verification on MATH-500</h1>' in first
    assert 'class="banner old-version"' in first and f"{archive['root']}v2" in first
    assert "Verification prompts &lt;b&gt;help&lt;/b&gt; small models." in first


def test_withdrawn_paper_has_banner(sqlite_server: Any, archive: dict) -> None:
    page = get_html(sqlite_server, f"/abs/{archive['withdrawn']}")
    assert "This paper has been withdrawn." in page and "used the test split" in page


@pytest.mark.parametrize("path", ["/abs/9999.99999", "/abs/not-an-id", "/abs/9999.99999v2"])
def test_unknown_papers_get_the_404_page(sqlite_server: Any, archive: dict, path: str) -> None:
    page = get_html(sqlite_server, path, status=404)
    assert 'class="error-page"' in page and "Not found" in page


def test_unknown_version_and_lab_get_404(sqlite_server: Any, archive: dict) -> None:
    assert "Not found" in get_html(sqlite_server, f"/abs/{archive['root']}v9", status=404)
    assert "Not found" in get_html(sqlite_server, "/labs/no-such-lab", status=404)
    lab = get_html(sqlite_server, "/labs/test-lab")
    assert archive["child"] in lab


def test_search_page_with_query_and_filters(sqlite_server: Any, archive: dict) -> None:
    empty = get_html(sqlite_server, "/search")
    assert '<form class="search-form"' in empty and "result" not in empty
    found = get_html(sqlite_server, "/search?q=majority+voting&mode=keyword")
    assert re.findall(r'class="title" href="/abs/([\d.]+)"', found)[0] == archive["child"]
    filtered = get_html(sqlite_server, "/search?q=verified+chains&mode=keyword&category=cs.CL")
    assert re.findall(r'class="title" href="/abs/([\d.]+)"', filtered) == [archive["child"]]
    other_lab = get_html(sqlite_server, "/search?q=verified+chains&mode=keyword&lab=other")
    assert "No papers match." in other_lab
    browse = get_html(sqlite_server, "/search?benchmark=gsm8k")
    assert re.findall(r'class="title" href="/abs/([\d.]+)"', browse) == [archive["child"]]
    assert 'value="gsm8k"' in browse  # the form keeps what was asked
    hybrid = get_html(sqlite_server, "/search?q=verified+chains")  # the form's default mode
    assert archive["child"] in re.findall(r'class="title" href="/abs/([\d.]+)"', hybrid)


def test_search_page_rejects_bad_input_with_a_message(sqlite_server: Any, archive: dict) -> None:
    bad_date = get_html(sqlite_server, "/search?q=x&date_from=yesterday", status=400)
    assert "must be a date" in bad_date
    bad_mode = get_html(sqlite_server, "/search?q=x&mode=psychic", status=400)
    assert "mode must be one of" in bad_mode


def test_leaderboards_and_chart(sqlite_server: Any, archive: dict) -> None:
    overview = get_html(sqlite_server, "/leaderboard")
    assert '<a href="/leaderboard/math500">math500</a>' in overview
    board = get_html(sqlite_server, "/leaderboard/math500")
    ranked = re.findall(r'<a href="/abs/([\d.]+)v\d+">', board)
    assert ranked == [archive["child"], archive["grandchild"], archive["root"]]
    assert '<img src="/leaderboard/math500/chart.svg?metric=accuracy"' in board
    chart = httpx.get(f"{sqlite_server.url}/leaderboard/math500/chart.svg", timeout=60)
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml"
    assert "<svg" in chart.text and "best so far" in chart.text and "<script" not in chart.text
    assert "Not found" in get_html(sqlite_server, "/leaderboard/no-such-benchmark", status=404)


def test_stylesheet_is_served_and_nothing_else(sqlite_server: Any) -> None:
    css = httpx.get(f"{sqlite_server.url}/static/style.css", timeout=30)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert httpx.get(f"{sqlite_server.url}/static/..%2Fapp.py", timeout=30).status_code == 404


# ---------------------------------------------------------------- the renderer alone


def test_render_keeps_document_tags_and_drops_active_content() -> None:
    html = render_markdown(
        "# T\n\n*em* `code` <sub>2</sub>\n\n[ok](https://example.org) [bad](data:text/html,x)"
    )
    assert "<h1>T</h1>" in html and "<em>em</em>" in html and "<sub>2</sub>" in html
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">ok</a>' in html
    assert "data:text/html" not in html.replace("[bad](data:text/html,x)", "")
    hostile = sanitize_html('<svg><script>alert(1)</script></svg><math><mi href="javascript:x">')
    assert "script" not in hostile and "javascript" not in hostile


def test_bad_latex_falls_back_to_escaped_code() -> None:
    html = render_markdown("broken $\\left( <b>$ formula")
    assert '<code class="math-error">\\left( &lt;b&gt;</code>' in html
    assert "<mo>&lt;</mo>" in render_markdown("$a < b$")  # markup in math stays text
