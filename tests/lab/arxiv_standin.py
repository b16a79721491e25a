"""A second, real AgentRxiv server standing in for arXiv in tests (it speaks the arXiv API),
run in this process so a small ASGI middleware can record when each arXiv-API request
arrives and inject a delay and 503 answers."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

ARXIV_PATHS = ("/api/query", "/pdf/")


def minimal_pdf(lines: list[str], per_page: int = 50) -> bytes:
    """A valid PDF with ``lines`` as real text (Helvetica), written by hand: no downloads,
    no TeX needed."""
    pages = [lines[i : i + per_page] for i in range(0, len(lines), per_page)] or [[]]
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    for page_lines in pages:
        escaped = [
            ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for ln in page_lines
        ]
        stream = (
            "BT /F1 10 Tf 12 TL 50 800 Td " + " ".join(f"({ln}) Tj T*" for ln in escaped) + " ET"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
        content = len(objects)
        objects.append(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            f"/Contents {content} 0 R /Resources << /Font << /F1 FONT 0 R >> >> >>"
        )
        kids.append(f"{len(objects)} 0 R")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    font = len(objects)
    objects = [o.replace("FONT", str(font)) for o in objects]
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


@dataclass
class Faults:
    """What the middleware injects into arXiv-API requests, and what it saw."""

    delay_s: float = 0.0
    fail_next: int = 0  # answer this many of the next requests with ``status``
    status: int = 503
    arrivals: list[tuple[float, str]] = field(default_factory=list)

    def gaps(self) -> list[float]:
        """Seconds between consecutive arrivals."""
        times = [t for t, _ in self.arrivals]
        return [b - a for a, b in zip(times, times[1:], strict=False)]


class FaultInjection:
    """ASGI middleware over the real app: records, delays and fails arXiv-API requests."""

    def __init__(self, app: Any, faults: Faults) -> None:
        self.app, self.faults = app, faults

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(ARXIV_PATHS):
            self.faults.arrivals.append((time.time(), path))
            if self.faults.fail_next > 0:
                self.faults.fail_next -= 1
                await send(
                    {
                        "type": "http.response.start",
                        "status": self.faults.status,
                        "headers": [(b"content-type", b"text/plain")],
                    }
                )
                await send({"type": "http.response.body", "body": b"injected failure"})
                return
            if self.faults.delay_s:
                await asyncio.sleep(self.faults.delay_s)
        await self.app(scope, receive, send)


@dataclass
class StandIn:
    """The running stand-in: its URL, the faults it injects, the ids of its papers."""

    url: str
    faults: Faults
    paper_ids: list[str]
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        """Shut the server down."""
        self.server.should_exit = True
        self.thread.join(timeout=20)


PAPERS = [
    (
        "Self-consistency: majority voting over sampled reasoning paths",
        "Sampling several answers and voting improves accuracy on math word problems.",
    ),
    (
        "Verification prompts: asking language models to check their work",
        "A check-your-work instruction raises accuracy on arithmetic and MATH benchmarks.",
    ),
    (
        "Chain-of-thought prompting elicits reasoning in large language models",
        "Step-by-step reasoning prompts improve multi-step arithmetic accuracy.",
    ),
]


def paper_pdf(title: str, abstract: str) -> bytes:
    """A paper's PDF with the usual sections."""
    lines = [title, "", "Abstract", abstract, "", "1 Introduction"]
    lines += [f"Introduction sentence {i} about prompting and accuracy." for i in range(30)]
    lines += ["", "2 Method", "We sample answers and vote; the method is majority voting."]
    lines += ["", "3 Results", "Voting raised accuracy from 41.0% to 47.5% on the dev split."]
    lines += ["", "4 Conclusion", "Majority voting is a cheap, measurable improvement."]
    lines += ["", "References"] + [f"[{i}] A. Author. Some earlier work {i}." for i in range(40)]
    return minimal_pdf(lines)


def start_standin(home: Path, faults: Faults | None = None) -> StandIn:
    """Start the stand-in on a free port with its own database and three papers with PDFs."""
    import base64

    from agentrxiv.archive.app import create_app
    from agentrxiv.archive.auth import create_token
    from agentrxiv.archive.db import Database
    from agentrxiv.archive.schemas import PaperCreate
    from agentrxiv.client import ArchiveClient
    from agentrxiv.config import Settings

    home.mkdir(parents=True, exist_ok=True)
    settings = Settings(home=home, db=f"sqlite:///{home / 'standin.sqlite'}", embed_on_write=False)
    app = create_app(settings)
    database = Database(settings.database_url())
    with database.write() as session:
        token = create_token(session, "published-authors")
    database.dispose()
    faults = faults or Faults()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        FaultInjection(app, faults), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    ids = []
    with ArchiveClient(url, token=token) as client:
        for title, abstract in PAPERS:
            pdf = base64.b64encode(paper_pdf(title, abstract)).decode()
            paper = client.submit(
                PaperCreate(title=title, abstract=abstract, body=abstract, pdf_base64=pdf)
            )
            ids.append(paper.id)
    return StandIn(url=url, faults=faults, paper_ids=ids, server=server, thread=thread)
