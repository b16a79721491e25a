"""Faults inside a campaign, on the local executor with a real server: a worker killed with
SIGKILL (as the OOM killer does) is resumed from its checkpoint with its phase clock, and a
burst of 503 answers with ``Retry-After`` from a busy server does not stop the campaign."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.campaign.conftest import campaign_config

from agentrxiv.campaign.config import load_campaign_config
from agentrxiv.campaign.ledger import CampaignState
from agentrxiv.campaign.orchestrator import Orchestrator
from agentrxiv.client import ArchiveClient

pytestmark = [pytest.mark.integration, pytest.mark.slow]
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def _run_in_thread(orchestrator: Orchestrator) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        result["state"] = orchestrator.run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def _wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _mid_paper(campaign: Path) -> tuple[Path, dict[str, Any]] | None:
    for path in campaign.glob("runs/*/paper-*/*/state.json"):
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if "plan" in state["completed"] and not state["finished"]:
            return path, state
    return None


def test_sigkill_of_a_worker_resumes_its_run(
    sqlite_server: Any, owner_token: str, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("AGENTRXIV_SCRIPTED_DELAY_S", "0.1")
    file = campaign_config(
        tmp_path, sqlite_server, owner_token, name="oom", mode="none", verify=False
    )
    orchestrator = Orchestrator(load_campaign_config(file))
    thread, result = _run_in_thread(orchestrator)
    path, before = _wait_for(
        lambda: _mid_paper(tmp_path / "campaigns" / "oom"), 150, "a lab mid-paper"
    )
    lab = path.parent.name
    proc = orchestrator.executor.procs[f"{lab}/1"][0]  # type: ignore[union-attr]
    os.kill(proc.pid, signal.SIGKILL)
    thread.join(timeout=300)
    state: CampaignState = result["state"]
    assert state.status == "finished", state.stopped_reason
    entry = state.run(lab, 1)
    assert entry.retries == 1 and entry.retry_log[0].startswith("lost: killed by signal 9")
    assert entry.record is not None and entry.record.paper_id
    after = json.loads(path.read_text(encoding="utf-8"))
    assert after["run_id"] == before["run_id"]  # resumed from its checkpoint
    assert entry.record.wall_s >= before["elapsed_s"]  # with its phase clock
    with ArchiveClient(sqlite_server.url) as client:
        papers = client.list(campaign=state.campaign_id, limit=50).items
    assert len(papers) == 2 and {p.id for p in papers} == {r.paper_id for r in state.records()}


class BusyProxy:
    """A real HTTP proxy in front of the server that answers 503 + Retry-After while busy."""

    def __init__(self, upstream: str) -> None:
        self.busy = threading.Event()
        self.refused = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.busy.is_set():
                    proxy.refused += 1
                    self._answer(503, {"Retry-After": "1"}, b'{"error": "server busy"}')
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                with httpx.Client(base_url=upstream, timeout=60) as client:
                    reply = client.request(self.command, self.path, headers=headers, content=body)
                kept = {k: v for k, v in reply.headers.items() if k.lower() not in HOP_HEADERS}
                kept.pop("content-encoding", None)
                self._answer(reply.status_code, kept, reply.content)

            def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", headers.get("content-type", "application/json"))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def busy_proxy(sqlite_server: Any) -> Iterator[BusyProxy]:
    proxy = BusyProxy(sqlite_server.url)
    yield proxy
    proxy.close()


def test_a_503_burst_does_not_stop_the_campaign(
    busy_proxy: BusyProxy, owner_token: str, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("AGENTRXIV_SCRIPTED_DELAY_S", "0.05")
    file = campaign_config(
        tmp_path,
        busy_proxy,
        owner_token,
        name="busy",
        mode="none",
        verify=False,
        server_retries=1,
        server_patience_s=30,
    )
    orchestrator = Orchestrator(load_campaign_config(file))
    thread, result = _run_in_thread(orchestrator)
    _wait_for(lambda: _mid_paper(tmp_path / "campaigns" / "busy"), 150, "a lab mid-paper")
    busy_proxy.busy.set()  # longer than the clients' own retries (1 retry, 1 s apart)
    _wait_for(lambda: busy_proxy.refused >= 4, 60, "the server to refuse requests")
    time.sleep(4)
    busy_proxy.busy.clear()
    thread.join(timeout=300)
    state: CampaignState = result["state"]
    assert busy_proxy.refused >= 4
    assert state.status == "finished", state.stopped_reason
    assert len(state.records()) == 2 and all(r.paper_id for r in state.records())
    print(
        f"503 burst: {busy_proxy.refused} requests refused, retries:",
        [(r.lab, r.retries, r.retry_log) for r in state.runs],
    )
