"""What a new user's trial found, fixed (issue 8): front matter read as written, leaderboards
that rank only real entries of a valid metric (with baseline, Δ and filters), one labelled
results table, figures stored and served with the paper, URL-safe lab names, ``serve`` on a
busy port, a CLI pointed at something that is not AgentRxiv, feed filters, HEAD requests,
and the API docs served from the package. All over real HTTP against ``agentrxiv serve``."""

from __future__ import annotations

import base64
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import free_port

from agentrxiv.archive.schemas.papers import MAX_ATTACHMENT_BYTES
from agentrxiv.cli.client import load_paper
from agentrxiv.errors import ConfigError

pytestmark = pytest.mark.integration


def tiny_png() -> bytes:
    """A valid 1x1 PNG."""
    return base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
    )


@pytest.fixture(scope="module", autouse=True)
def keyword_only_server() -> Iterator[None]:
    """The module's server skips embeddings on write (nothing here searches by meaning)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AGENTRXIV_EMBED_ON_WRITE", "false")
        yield


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a subprocess without raising."""
    import os

    env = {**os.environ, "AGENTRXIV_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "agentrxiv.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The error line of a failed command (asserting it failed cleanly on one line)."""
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "<html" not in proc.stderr.lower()
    lines = proc.stderr.strip().splitlines()
    assert lines and lines[0].startswith("Error:"), proc.stderr
    assert all(line.startswith("  hint:") for line in lines[1:]), proc.stderr
    return lines[0]


def publish(server: Any, token: str | None = None, **fields: Any) -> dict[str, Any]:
    """Publish a paper through the API and return it."""
    paper = {"title": "A paper", "abstract": "An abstract.", "categories": ["cs.AI"], **fields}
    with server.client(token or server.token) as http:
        response = http.post("/api/v1/papers", json=paper)
    assert response.status_code == 201, response.text
    return response.json()


# ------------------------------------------------------------------ front matter


def write_md(tmp_path: Path, front: str, body: str = "# Method\n\nText.\n") -> Path:
    path = tmp_path / "paper.md"
    path.write_text(f"---\ntitle: T\nabstract: A.\n{front}\n---\n{body}", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("front", "parents"),
    [
        ("parents: [2612.00003, 2612.00010]", ["2612.00003", "2612.00010"]),  # YAML floats
        ("parents: 2612.00001", ["2612.00001"]),  # one unquoted id
        ("parents: '2612.00001'", ["2612.00001"]),
        ("parents: 2612.00001, 2612.00020", ["2612.00001", "2612.00020"]),
        ("parents:\n  - 2612.00100\n  - '2612.00002'", ["2612.00100", "2612.00002"]),
        ("parents:", []),
    ],
)
def test_parents_are_read_as_written(tmp_path: Path, front: str, parents: list[str]) -> None:
    assert load_paper(write_md(tmp_path, front)).parents == parents


@pytest.mark.parametrize(
    ("front", "names"),
    [
        ("authors: Alice, Bob", ["Alice", "Bob"]),
        ("authors: Alice", ["Alice"]),
        ("authors: 1984", ["1984"]),
        ("authors: {name: Ada, lab: x-lab, models: smollm2}", ["Ada"]),
        ("authors: [Alice, {name: Bob, models: [a, b]}]", ["Alice", "Bob"]),
    ],
)
def test_authors_accept_one_value_or_a_list(tmp_path: Path, front: str, names: list[str]) -> None:
    paper = load_paper(write_md(tmp_path, front))
    assert [a.name for a in paper.authors] == names
    assert all(len(a.name) > 1 or a.name == names[0] for a in paper.authors)


@pytest.mark.parametrize(
    ("front", "message"),
    [
        ("parents: {a: 1}", "parents must be a paper id"),
        ("parents: [[2612.00001]]", "parents must be a paper id"),
        ("parents: [2612.1]", "invalid parent id '2612.1'"),
        ("authors: [[Alice]]", "authors must be a name"),
        ("authors: [{nme: Alice}]", "authors must be a name"),
    ],
)
def test_bad_authors_and_parents_get_a_clear_message(
    tmp_path: Path, front: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        load_paper(write_md(tmp_path, front))
    assert "\n" not in caught.value.message


def test_submit_attaches_the_figures_the_body_shows(tmp_path: Path, sqlite_server: Any) -> None:
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "acc.png").write_bytes(tiny_png())
    path = write_md(tmp_path, "authors: Alice, Bob", "![Accuracy](figures/acc.png)\n")
    proc = run_cli(
        "submit", str(path), "--server", sqlite_server.url, "--token", sqlite_server.token,
        home=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    paper_id = proc.stdout.strip()
    paper = httpx.get(f"{sqlite_server.url}/api/v1/papers/{paper_id}", timeout=30).json()
    assert [a["name"] for a in paper["authors"]] == ["Alice", "Bob"]
    assert paper["attachments"] == [
        {
            "name": "figures/acc.png",
            "media_type": "image/png",
            "size": len(tiny_png()),
            "url": f"/abs/{paper_id}v1/files/figures/acc.png",
        }
    ]
    page = httpx.get(f"{sqlite_server.url}/abs/{paper_id}", timeout=30).text
    assert f'<img src="/abs/{paper_id}v1/files/figures/acc.png" alt="Accuracy">' in page
    # A missing figure is one clear line before anything is sent.
    missing = write_md(tmp_path, "", "![gone](figures/missing.png)\n")
    line = one_line_error(run_cli("submit", str(missing), "--server", "http://127.0.0.1:9",
                                  "--token", "x", home=tmp_path))  # fmt: skip
    assert "figures/missing.png" in line


# ------------------------------------------------------------------ attachments


def test_figures_are_stored_checked_and_served(sqlite_server: Any) -> None:
    png = base64.b64encode(tiny_png()).decode()
    paper = publish(
        sqlite_server,
        body="![a](figures/a.png) ![r](https://evil.example/x.png) ![d](data:image/png;base64,AA)",
        attachments=[{"name": "figures/a.png", "content_base64": png}],
    )
    ref = f"{paper['id']}v1"
    for url in (f"/abs/{ref}/files/figures/a.png", f"/api/v1/papers/{ref}/files/figures/a.png"):
        served = httpx.get(sqlite_server.url + url, timeout=30)
        assert served.status_code == 200 and served.content == tiny_png()
        assert served.headers["content-type"] == "image/png"
        assert served.headers["x-content-type-options"] == "nosniff"
        assert "immutable" in served.headers["cache-control"]
    latest = httpx.get(f"{sqlite_server.url}/abs/{paper['id']}/files/figures/a.png", timeout=30)
    assert latest.status_code == 200 and latest.headers["cache-control"] == "no-cache"
    page = httpx.get(f"{sqlite_server.url}/abs/{paper['id']}", timeout=30).text
    assert f'src="/abs/{ref}/files/figures/a.png"' in page
    assert "evil.example" not in page and "data:image" not in page
    missing = httpx.get(f"{sqlite_server.url}/abs/{ref}/files/figures/b.png", timeout=30)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "status", "message"),
    [
        ("fig.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>x</script></svg>", 422,
         "not a PNG, JPEG, GIF or WebP"),
        ("fig.png", b"%PDF-1.4 not an image", 422, "not a PNG, JPEG, GIF or WebP"),
        ("../escape.png", None, 422, "invalid attachment name"),
        ("/abs.png", None, 422, "invalid attachment name"),
        ("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * MAX_ATTACHMENT_BYTES, 413, "the limit is"),
    ],
)  # fmt: skip
def test_non_images_and_bad_names_are_refused(
    sqlite_server: Any, name: str, content: bytes | None, status: int, message: str
) -> None:
    data = base64.b64encode(content or tiny_png()).decode()
    paper = {
        "title": "T",
        "abstract": "A.",
        "attachments": [{"name": name, "content_base64": data}],
    }
    with sqlite_server.client(sqlite_server.token) as http:
        response = http.post("/api/v1/papers", json=paper)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


# ------------------------------------------------------------------ leaderboards


def _result(bench: str, metric: str, value: float, n: int = 500, model: str = "m1") -> dict:
    return {"benchmark": bench, "metric": metric, "value": value, "n": n, "model": model,
            "split": "test"}  # fmt: skip


def test_leaderboard_ranks_entries_with_baselines_and_filters(sqlite_server: Any) -> None:
    bench = "board-" + str(free_port())
    pair = [_result(bench, "accuracy", 0.60), _result(bench, "baseline_accuracy", 0.50)]
    big = publish(sqlite_server, title="Big n", results=pair)["id"]
    small = publish(sqlite_server, title="Tiny n", results=[_result(bench, "accuracy", 0.99, 20)])
    other = publish(sqlite_server, title="Other model", results=[
        _result(bench, "accuracy", 0.70, model="m2"),
        _result(bench, "baseline_accuracy", 0.95, model="m2")])["id"]  # fmt: skip
    api = f"{sqlite_server.url}/api/v1/leaderboard/{bench}"
    board = httpx.get(api, timeout=30).json()
    assert board["metric"] == "accuracy" and board["metrics"] == ["accuracy"]
    assert board["models"] == ["m1", "m2"]
    rows = {e["paper_id"]: e for e in board["entries"]}
    assert [e["paper_id"] for e in board["entries"]] == [small["id"], other, big]
    assert all(e["metric"] == "accuracy" for e in board["entries"])  # never a baseline row
    assert rows[big]["baseline_value"] == 0.5 and rows[big]["baseline_delta"] == pytest.approx(0.1)
    assert rows[other]["baseline_delta"] == pytest.approx(-0.25)
    assert rows[small["id"]]["baseline_value"] is None and rows[small["id"]]["n"] == 20
    filtered = httpx.get(api, params={"min_n": 100, "model": "m1"}, timeout=30).json()
    assert [e["paper_id"] for e in filtered["entries"]] == [big]
    assert filtered["model"] == "m1" and filtered["min_n"] == 100
    for metric in ("f1", "baseline_accuracy"):
        refused = httpx.get(api, params={"metric": metric}, timeout=30)
        assert refused.status_code == 404 and "accuracy" in refused.json()["error"]
    # No board of baselines: the overview lists the benchmark with its real metric only.
    overview = httpx.get(f"{sqlite_server.url}/leaderboard", timeout=30).text
    assert "baseline_accuracy" not in overview
    page = httpx.get(f"{sqlite_server.url}/leaderboard/{bench}?min_n=100", timeout=30).text
    assert re.findall(r'<a href="/abs/([\d.]+)v\d+">', page) == [other, big]
    assert 'data-label="Δ"><span class="good">+0.100</span>' in page
    assert '<input type="number" name="min_n" min="0" inputmode="numeric" value="100">' in page
    unknown = httpx.get(f"{sqlite_server.url}/leaderboard/{bench}?metric=f1", timeout=30)
    assert unknown.status_code == 404 and "metrics: accuracy" in unknown.text


def test_paper_page_has_one_labelled_results_table(sqlite_server: Any) -> None:
    body = "# Results\n\nWe measured things.\n"
    pair = [_result("math500", "accuracy", 0.47), _result("math500", "baseline_accuracy", 0.41)]
    paper = publish(sqlite_server, body=body, results=pair)
    page = httpx.get(f"{sqlite_server.url}/abs/{paper['id']}", timeout=30).text
    assert page.count("<table") == 1 and page.count('class="results"') == 1
    assert len(re.findall(r"<h[12][^>]*>\s*Results\s*</h[12]>", page)) == 1  # the body's own
    table = page[page.index('<table class="results">') : page.index("</table>")]
    assert '<th class="num">Technique</th><th class="num">Baseline</th>' in table
    assert table.count("<tr>") == 2  # header + one row: technique and baseline side by side
    assert ">0.47<" in table and ">0.41<" in table and "+0.060" in table


# ------------------------------------------------------------------ labs, feeds, HEAD, docs


def test_lab_names_must_fit_a_url_segment(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'labs.sqlite'}"
    for bad in ("a/b", "lab name", "ünïcode", "..", "a?b"):
        line = one_line_error(run_cli("token", "create", bad, "--db", db, home=tmp_path))
        assert "invalid lab name" in line and "URL path segment" in line
    good = run_cli("token", "create", "lab-1.v2_x~y", "--db", db, home=tmp_path)
    assert good.returncode == 0, good.stderr


def test_lab_page_link_resolves(sqlite_server: Any) -> None:
    lab = "dotted.lab-name_1~x"
    paper = publish(sqlite_server, token=sqlite_server.new_token(lab))
    page = httpx.get(f"{sqlite_server.url}/abs/{paper['id']}", timeout=30).text
    assert f'href="/labs/{lab}"' in page
    assert httpx.get(f"{sqlite_server.url}/labs/{lab}", timeout=30).status_code == 200


def test_feed_filters_work_or_are_refused(sqlite_server: Any) -> None:
    lab = "feed-lab-" + str(free_port())
    mine = publish(sqlite_server, token=sqlite_server.new_token(lab), categories=["q-bio.QM"])
    feed = httpx.get(f"{sqlite_server.url}/feed.atom", params={"lab": lab}, timeout=30)
    assert feed.status_code == 200
    assert re.findall(r"<id>[^<]*/abs/([\d.]+)v\d+</id>", feed.text) == [mine["id"]]
    both = httpx.get(
        f"{sqlite_server.url}/feed.atom", params={"lab": lab, "category": "cs.AI"}, timeout=30
    )
    assert "<entry>" not in both.text
    unknown_lab = httpx.get(f"{sqlite_server.url}/feed.atom", params={"lab": "nobody"}, timeout=30)
    assert unknown_lab.status_code == 404
    unknown = httpx.get(f"{sqlite_server.url}/feed.atom", params={"author": "x"}, timeout=30)
    assert unknown.status_code == 400 and "unknown feed parameter 'author'" in unknown.text


LEADERBOARD_BENCH = "head-bench"


def test_head_works_wherever_get_does(sqlite_server: Any) -> None:
    paper = publish(sqlite_server, results=[_result(LEADERBOARD_BENCH, "accuracy", 0.5)])
    paths = [
        "/",
        f"/abs/{paper['id']}",
        f"/abs/{paper['id']}/bibtex",
        "/search?q=paper&mode=keyword",
        "/leaderboard",
        "/feed.atom",
        "/docs",
        "/redoc",
        "/openapi.json",
        "/static/style.css",
        "/api/v1/health",
        f"/api/v1/papers/{paper['id']}",
        "/api/v1/papers?limit=1",
        "/api/v1/search?q=paper&mode=keyword",
        f"/api/query?id_list={paper['id']}",
        f"/leaderboard/{LEADERBOARD_BENCH}",
    ]
    with httpx.Client(base_url=sqlite_server.url, timeout=60) as http:
        for path in paths:
            got = http.get(path)
            head = http.head(path)
            assert head.status_code == got.status_code == 200, (path, head.status_code)
            assert head.content == b""
            assert head.headers["content-type"] == got.headers["content-type"]
        assert http.head("/no/such/page").status_code == 404
        assert http.head("/api/v1/papers/2101.99999").status_code == 404


def test_api_docs_come_from_the_package(sqlite_server: Any) -> None:
    with httpx.Client(base_url=sqlite_server.url, timeout=60) as http:
        for path, assets in [
            ("/docs", ["/static/swagger-ui-bundle.js", "/static/swagger-init.js",
                       "/static/swagger-ui.css"]),
            ("/redoc", ["/static/redoc.standalone.js"]),
        ]:  # fmt: skip
            page = http.get(path)
            assert page.status_code == 200
            assert "cdn" not in page.text.lower() and "googleapis" not in page.text
            assert "<script>" not in page.text.replace(" ", "")  # no inline script
            csp = page.headers["content-security-policy"]
            assert "script-src 'self';" in csp and "connect-src 'self'" in csp
            for asset in assets:
                assert asset in page.text
                served = http.get(asset)
                assert served.status_code == 200 and len(served.content) > 500
        footer = http.get("/").text
        assert '<a href="/docs">API</a>' in footer


# ------------------------------------------------------------------ serve and the CLI


def test_serve_on_a_busy_port_fails_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run_cli("serve", "--port", str(port), "--db", f"sqlite:///{tmp_path}/s.sqlite",
                       home=tmp_path)  # fmt: skip
    line = one_line_error(proc)
    assert f"127.0.0.1:{port}" in line and "already in use" in line
    assert "serving on" not in proc.stdout + proc.stderr


class _NotAgentrxiv(BaseHTTPRequestHandler):
    """Another web server: HTML for everything, 404 under /api, 200 elsewhere."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        status = 404 if self.path.startswith("/api/v1/search") else 200
        body = b"<!doctype html><html><body><h1>Welcome to nginx!</h1>" + b"x" * 5000
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def other_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotAgentrxiv)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_cli_against_a_server_that_is_not_agentrxiv(tmp_path: Path, other_server: str) -> None:
    line = one_line_error(run_cli("search", "x", "--server", other_server, home=tmp_path))
    assert f"{other_server}/api/v1/search" in line and "answered 404" in line
    assert "non-JSON" in line and "AgentRxiv server?" in line and "nginx" not in line
    from agentrxiv.client import ArchiveClient
    from agentrxiv.errors import ArchiveError

    with ArchiveClient(other_server, retries=0) as client, pytest.raises(ArchiveError) as caught:
        client.health()  # a 200 that is HTML, not the API's JSON
    assert "answered 200" in caught.value.message and "non-JSON" in caught.value.message


def test_lab_publish_attaches_the_figures_it_can(tmp_path: Path) -> None:
    from agentrxiv.archive.attachments import collect_attachments

    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "acc.png").write_bytes(tiny_png())
    (tmp_path / "figures" / "plot.svg").write_text("<svg/>")
    body = (
        "![a](figures/acc.png)\n![b](figures/plot.svg)\n![c](figures/missing.png)\n"
        "![remote](https://example.org/x.png)\n<img src='figures/acc.png'>\n"
    )
    attached = collect_attachments(body, tmp_path, skip_bad=True)
    assert [a["name"] for a in attached] == ["figures/acc.png"]
    with pytest.raises(ConfigError, match="figures/plot.svg"):
        collect_attachments(body, tmp_path)


def test_figures_and_boards_on_both_databases(live_server: Any) -> None:
    png = base64.b64encode(tiny_png()).decode()
    pair = [_result("db-bench", "accuracy", 0.6), _result("db-bench", "baseline_accuracy", 0.5)]
    attachments = [{"name": "figures/a.png", "content_base64": png}]
    paper = publish(live_server, results=pair, attachments=attachments)
    served = httpx.get(f"{live_server.url}/abs/{paper['id']}v1/files/figures/a.png", timeout=30)
    assert served.status_code == 200 and served.content == tiny_png()
    board = httpx.get(f"{live_server.url}/api/v1/leaderboard/db-bench", timeout=30).json()
    assert [(e["value"], e["baseline_value"]) for e in board["entries"]] == [(0.6, 0.5)]
