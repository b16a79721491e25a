"""A real browser (Debian Chromium through Playwright) on a 390 px phone screen: no page is
wider than the viewport, whatever long formulas, URLs, tables and code a paper holds; the
leaderboard's value column stays on screen; a paper's figure (an attachment) shows; and the
API documentation (Swagger UI, ReDoc) renders with every non-local request refused.
Screenshots land in ``/tmp/agentrxiv-shots/phone-*.png``."""

from __future__ import annotations

import base64
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
PHONE = {"width": 390, "height": 844}
LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 4
LONG_URL = "https://example.org/" + "very-long-path-segment/" * 12 + "end"
INLINE_FORMULA = (
    r"\sum_{i=1}^{n} \frac{x_i^2 + y_i^2 + z_i^2 + w_i^2}"
    r"{\alpha_i + \beta_i + \gamma_i + \delta_i + \epsilon_i + \zeta_i}"
    r" + \prod_{j=1}^{m} (a_j + b_j + c_j + d_j + e_j + f_j + g_j)"
)
DISPLAY_FORMULA = " + ".join(
    rf"\frac{{1}}{{{n}}}\sum_{{i=1}}^{{{n}}} x_{{{n},i}}" for n in "nmkprst"
)
LONG_CALL = (
    "result = solve_with_a_very_long_function_name(problem_text, model, temperature=0.7, "
    "samples=16, verifier=True, budget=1_000_000)"
)
WIDE_BODY = f"""## Method

We bound the error by a long inline formula ${INLINE_FORMULA}$ and display it:

$${DISPLAY_FORMULA}$$

A word without spaces: {LONG_WORD}. A bare URL: {LONG_URL}

| Variant | Accuracy | Tokens | Latency | Cost | Notes on this variant |
|---|---:|---:|---:|---:|---|
| chain-of-thought-with-self-verification | 0.412 | 123456789 | 12.5 s | 0.0042 | {LONG_WORD} |

```python
{LONG_CALL}
```

![Accuracy by variant](figures/acc.png)
"""


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A valid RGB PNG of ``width`` x ``height`` red pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def chromium_path() -> str | None:
    """Debian's Chromium, if installed."""
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture(scope="module", autouse=True)
def keyword_only_server() -> Iterator[None]:
    """The module's server skips embeddings on write (these tests search by keyword)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AGENTRXIV_EMBED_ON_WRITE", "false")
        yield


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
def site(sqlite_server: Any) -> dict[str, str]:
    """A lab with a long name, a paper with a wide body and a figure, and a follow-up."""
    lab = "a-lab-with-an-unusually-long-name-that-does-not-fit-on-a-phone-screen-at-all"
    token = sqlite_server.new_token(lab)
    ids = {"lab": lab}
    with httpx.Client(
        base_url=sqlite_server.url, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as client:
        for key, title, value, parents in [
            ("wide", f"Verification prompting {LONG_WORD}", 0.412, []),
            ("child", "Self-consistency over verified chains", 0.468, ["wide"]),
        ]:
            response = client.post(
                "/api/v1/papers",
                json={
                    "title": title,
                    "abstract": f"{title}: see {LONG_URL} for everything.",
                    "authors": [{"name": "Lab Agent", "models": ["smollm2-360m-instruct-q8"]}],
                    "categories": ["cs.AI", "agent-lab"],
                    "body": WIDE_BODY,
                    "parents": [ids[p] for p in parents],
                    "results": [
                        {"benchmark": "math500", "metric": "accuracy", "value": value, "n": 500,
                         "model": "smollm2-360m-instruct-q8", "split": "test"},
                        {"benchmark": "math500", "metric": "baseline_accuracy", "value": 0.3,
                         "n": 500, "model": "smollm2-360m-instruct-q8", "split": "test"},
                    ],
                    "attachments": [
                        {"name": "figures/acc.png",
                         "content_base64": base64.b64encode(tiny_png()).decode()}
                    ],
                },
            )  # fmt: skip
            assert response.status_code == 201, response.text
            ids[key] = response.json()["id"]
    return ids


def _pages(server: Any, site: dict[str, str]) -> list[str]:
    paths = [
        "/",
        f"/abs/{site['wide']}",
        f"/abs/{site['child']}v1",
        "/search",
        "/search?q=verification&mode=keyword",
        "/search?q=nothing-matches-this&mode=keyword",
        "/leaderboard",
        "/leaderboard/math500",
        "/leaderboard/math500?min_n=100&model=smollm2-360m-instruct-q8",
        f"/labs/{site['lab']}",
        "/abs/2101.99999",  # the 404 page
    ]
    # Pages other parts add (campaigns, insights) are checked once they exist.
    for extra in ("/campaigns", "/insights"):
        if httpx.get(server.url + extra, timeout=60).status_code == 200:
            paths.append(extra)
    return paths


def test_no_page_is_wider_than_a_phone(browser: Any, sqlite_server: Any, site: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport=PHONE, device_scale_factor=1)
    too_wide = {}
    for number, path in enumerate(_pages(sqlite_server, site)):
        page.goto(sqlite_server.url + path)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        body = page.evaluate("document.body.scrollWidth")
        if max(width, body) > PHONE["width"]:
            too_wide[path] = max(width, body)
        page.screenshot(path=str(SHOTS / f"phone-{number:02d}.png"), full_page=True)
    page.close()
    assert too_wide == {}, f"pages wider than {PHONE['width']} px: {too_wide}"


def test_phone_leaderboard_keeps_value_and_delta_on_screen(
    browser: Any, sqlite_server: Any, site: Any
) -> None:
    page = browser.new_page(viewport=PHONE, device_scale_factor=1)
    page.goto(f"{sqlite_server.url}/leaderboard/math500")
    first = page.locator("table.board tbody tr").first
    for cell in (first.locator("td.value"), first.locator("td.delta")):
        box = cell.bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"], box
    assert first.locator("td.value").inner_text() == "0.468"
    assert first.locator("td.baseline").inner_text() == "0.3"
    assert first.locator("td.delta").inner_text() == "+0.168"  # Δ over the baseline
    page.close()


def test_paper_figure_is_served_and_shown(browser: Any, sqlite_server: Any, site: Any) -> None:
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{sqlite_server.url}/abs/{site['wide']}")
    page.wait_for_load_state("networkidle")
    figure = page.locator('.paper-body img[alt="Accuracy by variant"]')
    assert figure.get_attribute("src") == f"/abs/{site['wide']}v1/files/figures/acc.png"
    assert figure.evaluate("img => img.complete && img.naturalWidth === 4")
    page.close()


@pytest.mark.parametrize(
    ("path", "ready"), [("/docs", ".swagger-ui .info"), ("/redoc", ".redoc-wrap")]
)
def test_api_docs_render_offline(browser: Any, sqlite_server: Any, path: str, ready: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    refused: list[str] = []
    violations: list[str] = []

    def only_local(route: Any) -> None:
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    response = page.goto(sqlite_server.url + path)
    assert response is not None and response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-eval" not in csp
    page.wait_for_selector(ready, timeout=60_000)
    assert "AgentRxiv" in page.locator(ready).inner_text()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SHOTS / f"docs-{path.strip('/')}.png"))
    context.close()
    # Nothing tried to leave the machine past the CSP; the only thing it blocks is ReDoc's
    # "powered by" logo from its CDN (an image: the page works without it).
    assert refused == []
    assert all("img-src" in v and "redoc.ly" in v for v in violations), violations


@pytest.fixture(scope="module")
def campaign_site(sqlite_server: Any) -> dict[str, str]:
    """A campaign with two papers (one built on the other), one verified, and its records."""
    from agentrxiv.archive.checks import verification_from_marks
    from agentrxiv.archive.schemas import CampaignCreate, CampaignUpdate, PaperCreate, ResultIn
    from agentrxiv.client import ArchiveClient

    with ArchiveClient(sqlite_server.url, token=sqlite_server.admin_token) as admin:
        campaign = admin.create_campaign(
            CampaignCreate(
                name="phone-demo", topic=f"Phones {LONG_WORD}", config={"mode": "shared"}
            )
        )
        lab = admin.mint_lab_token(campaign.id, "lab-with-a-rather-long-name-1")
    ids: list[str] = []
    with ArchiveClient(sqlite_server.url, token=lab.token) as client:
        for title, value in ((f"Worked examples {LONG_WORD}", 0.35), ("Eight shots", 0.41)):
            paper = PaperCreate(
                title=title,
                abstract="a",
                results=[ResultIn(benchmark="arith", metric="accuracy", value=value, n=30)],
                campaign_id=campaign.id,
                builds_on_technique=ids[-1] if ids else None,
                variants_tried=2,
            )
            ids.append(client.submit(paper).id)
    records = [
        {"lab": lab.lab, "paper": n + 1, "paper_id": pid, "claimed": claimed, "verified": verified,
         "verified_n": 200 if verified is not None else None, "finished_at": float(n),
         "campaign_elapsed_s": 60.0 * (n + 1), "variants_tried": 2}
        for n, (pid, claimed, verified) in enumerate(
            zip(ids, (0.35, 0.41), (0.3, None), strict=True)
        )
    ]  # fmt: skip
    with ArchiveClient(sqlite_server.url, token=sqlite_server.admin_token) as admin:
        admin.update_campaign(campaign.id, CampaignUpdate(records=records))
    # 60 of 200 right: the server accepts only numbers that follow from per-problem marks.
    check = verification_from_marks(
        [True] * 60 + [False] * 140, [True] * 20 + [False] * 180, benchmark="arith",
        code_files={}, status="not reproduced",
    )  # fmt: skip
    with ArchiveClient(sqlite_server.url, token=sqlite_server.new_token("phone-verifier")) as v:
        v.post_verification(ids[0], check)
    return {"campaign": campaign.id, "first": ids[0], "second": ids[1]}


def test_campaign_pages_fit_a_phone_and_show_verified_values_with_n_and_interval(
    browser: Any, sqlite_server: Any, campaign_site: Any
) -> None:
    page = browser.new_page(viewport=PHONE, device_scale_factor=1)
    for number, path in enumerate(("/campaigns", f"/campaigns/{campaign_site['campaign']}")):
        page.goto(sqlite_server.url + path)
        page.wait_for_load_state("networkidle")
        width = page.evaluate(
            "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        )
        page.screenshot(path=str(SHOTS / f"phone-campaign-{number}.png"), full_page=True)
        assert width <= PHONE["width"], (path, width)
    verified = page.locator("td.verified").first.inner_text()
    assert "0.3" in verified and "n=200" in verified and "[0.2407, 0.3668]" in verified, verified
    assert "not verified" in page.locator("td.verified").nth(1).inner_text()
    page.close()
