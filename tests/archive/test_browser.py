"""A real browser (Debian Chromium through Playwright) uses the site: home page, search form,
paper page with MathML, and proof that script in an agent-written paper never runs.
Screenshots of the paper and leaderboard pages land in ``/tmp/agentrxiv-shots/``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

SHOTS = Path("/tmp/agentrxiv-shots")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
EVIL_BODY = """## Method

We bound the error by $\\epsilon^2$ and average

$$\\bar{x} = \\frac{1}{n}\\sum_{i=1}^{n} x_i$$

<script>window.__pwned = 1; document.title = "pwned";</script>

<img src="/nonexistent.png" onerror="window.__pwned = 2; document.title = 'pwned';">

<svg><script>window.__pwned = 3</script></svg>

[a link](javascript:window.__pwned=4)

| Variant | Accuracy |
|---------|---------:|
| CoT     | 0.412    |
| Ours    | 0.468    |
"""


@pytest.fixture(scope="module", autouse=True)
def keyword_only_server() -> Iterator[None]:
    """The module's server skips embeddings on write: these tests search by keyword, and
    loading the embedding model would dominate their run time (search tests cover it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AGENTRXIV_EMBED_ON_WRITE", "false")
        yield


def chromium_path() -> str | None:
    """Debian's Chromium, if installed."""
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium driven by Playwright; skipped where either is missing."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium not found at /usr/bin/chromium or on PATH (apt install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def papers(sqlite_server: Any) -> dict[str, str]:
    """Two papers on MATH-500, the first with a hostile body, the second building on it."""
    ids = {}
    with httpx.Client(
        base_url=sqlite_server.url,
        headers={"Authorization": f"Bearer {sqlite_server.token}"},
        timeout=120,
    ) as client:
        for key, title, value, parents, body in [
            ("evil", "Verifier prompting for competition maths", 0.412, [], EVIL_BODY),
            ("child", "Self-consistency over verified chains", 0.468, ["evil"], "Follow-up."),
        ]:
            response = client.post(
                "/api/v1/papers",
                json={
                    "title": title,
                    "abstract": f"{title}: an abstract written by an agent lab.",
                    "authors": [{"name": "Lab Agent", "lab": "browser-lab", "models": ["smollm2"]}],
                    "categories": ["cs.AI"],
                    "body": body,
                    "parents": [ids[p] for p in parents],
                    "results": [
                        {"benchmark": "math500", "metric": "accuracy", "value": value, "n": 500}
                    ],
                },
            )
            assert response.status_code == 201, response.text
            ids[key] = response.json()["id"]
    return ids


def test_search_open_paper_and_no_script_runs(
    browser: Any, sqlite_server: Any, papers: dict[str, str]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(sqlite_server.url + "/")
    assert page.locator(".paper-item .title").count() == 2
    assert page.locator(".paper-item .title").first.inner_text() == (
        "Self-consistency over verified chains"
    )

    page.click("nav.site-nav >> text=Search")
    page.fill("form.search-form input[name=q]", "verifier prompting")
    page.select_option("form.search-form select[name=mode]", "keyword")
    page.click("form.search-form button[type=submit]")
    page.wait_for_url("**/search?*")
    first_hit = page.locator(".paper-item .title").first
    assert first_hit.inner_text() == "Verifier prompting for competition maths"
    first_hit.click()
    page.wait_for_url(f"**/abs/{papers['evil']}")
    page.wait_for_load_state("networkidle")

    # Neither the <script>, the onerror handler, the SVG script nor the link ran or exists.
    assert page.evaluate("window.__pwned") is None
    assert page.title().startswith("Verifier prompting for competition maths")
    assert page.locator('a[href^="javascript"]').count() == 0
    assert page.locator(".paper-body script, .paper-body [onerror]").count() == 0

    # The body rendered: headings, a table, and MathML that the browser laid out.
    assert page.locator(".paper-body h2").inner_text() == "Method"
    assert page.locator(".paper-body table td.align-right").first.inner_text() == "0.412"
    block_math = page.locator('.paper-body math[display="block"]')
    box = block_math.bounding_box()
    assert box is not None and box["width"] > 40 and box["height"] > 20
    assert page.locator(".paper-body math").count() == 2
    # Lineage: the follow-up links back here.
    assert page.locator(f'.lineage a[href="/abs/{papers["child"]}"]').count() == 1
    page.screenshot(path=str(SHOTS / "paper.png"), full_page=True)

    page.goto(f"{sqlite_server.url}/leaderboard/math500")
    chart = page.locator(".chart img")
    page.wait_for_load_state("networkidle")
    assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
    rows = page.locator("table tbody tr")
    assert rows.count() == 2 and "0.468" in rows.first.inner_text()
    page.screenshot(path=str(SHOTS / "leaderboard.png"), full_page=True)
    assert page.evaluate("window.__pwned") is None
    page.close()
