"""The archive's verifier service (``agentrxiv verifier run``, issue 16) against a real server:
in process with the scripted arith oracle (SQLite and PostgreSQL), as a real CLI process
with a fake OpenAI-compatible endpoint (``--once`` end to end), and a verifier process
killed with SIGKILL mid-job whose job another ``verifier run --once`` completes with no
duplicate record."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tests.conftest import LiveServer, cli

from agentrxiv.bench.fake_endpoint import FakeOpenAIEndpoint
from agentrxiv.campaign.worker import lab_config
from agentrxiv.client import ArchiveClient
from agentrxiv.lab.after_publish import verify_published
from agentrxiv.lab.config import AfterPublish
from agentrxiv.verify import VerifyOptions
from agentrxiv.verify.service import ServiceOptions, VerifierService

from .conftest import EXPRESSION, FABRICATED, HONEST, make_labs, publish

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def verifier_token(server: LiveServer, lab: str = "archive-verifier") -> str:
    """An archive verifier token (``token create --verifier``)."""
    return cli("token", "create", lab, "--verifier", home=server.home, db=server.db).strip()


def drain(client: ArchiveClient) -> None:
    """Lease whatever earlier tests left leasable, for an hour."""
    while client.lease_job(3600) is not None:
        pass


def service(server: LiveServer, token: str, **options: Any) -> VerifierService:
    """An in-process verifier service on ``server``."""
    chosen = {"once": True, "limit": 20, "make_options": lambda: VerifyOptions(concurrency=4)}
    return VerifierService(
        lambda: ArchiveClient(server.url, token=token, timeout=180),
        ServiceOptions(**{**chosen, **options}),
    )


def test_the_service_verifies_the_queue_with_standing_archive(live_server, oracle) -> None:
    """Two papers queued on publication, drained by two workers: each gets one verification
    with standing ``archive`` that closes its job; the queue is then empty."""
    labs = make_labs(live_server)
    honest = publish(labs.author, HONEST, 1.0)
    fabricated = publish(labs.author, FABRICATED, 0.9)
    token = verifier_token(live_server)
    outcomes = service(live_server, token, concurrency=2).run()
    assert sorted(o.state for o in outcomes) == ["done", "done"]
    by_paper = {o.job.paper_id: o.record for o in outcomes}
    assert by_paper[honest].status == "reproduced"
    assert by_paper[fabricated].status == "not reproduced"
    for paper_id in (honest, fabricated):
        (stored,) = labs.author.list_verifications(paper_id)
        assert stored.standing == "archive" and stored.verifier == "archive-verifier"
        (job,) = labs.author.verification_jobs(paper=paper_id).items
        assert (job.state, job.verification_id, job.attempts) == ("done", stored.id, 1)
    assert labs.author.verification_jobs(state="queued").total == 0
    status = labs.author.verifier_status()
    assert status.active and status.counts["done"] == 2


def test_a_job_that_cannot_be_verified_is_retried_then_failed(sqlite_server, oracle) -> None:
    """A paper whose target model does not exist: each attempt is reported with ``fail``;
    ``--once`` retries it up to the server's maximum, then it is failed; nothing posted."""
    labs = make_labs(sqlite_server)
    token = verifier_token(sqlite_server, "archive-verifier-fails")
    with ArchiveClient(sqlite_server.url, token=token) as client:
        drain(client)
    paper_id = publish(labs.author, HONEST, 0.9, model="scripted/no-such-script")
    outcomes = service(sqlite_server, token).run()
    assert [o.state for o in outcomes] == ["failed"] * 3
    (job,) = labs.author.verification_jobs(paper=paper_id).items
    assert job.state == "failed" and job.attempts == 3
    assert job.last_error and "no-such-script" in job.last_error
    assert labs.author.list_verifications(paper_id) == []


def lab_runtime(server: LiveServer, client: ArchiveClient, paper_id: str, **hooks: Any) -> Any:
    """What ``verify_published`` reads of a lab's runtime."""
    after = AfterPublish(verify=True, verify_limit=20, **hooks)
    return SimpleNamespace(
        config=SimpleNamespace(after_publish=after, target_model="scripted/arith-oracle"),
        archive=client,
        archive_url=server.url,
        state=SimpleNamespace(published_id=paper_id),
    )


def test_a_lab_uses_the_archive_verifier_only_when_one_is_running(live_server, oracle) -> None:
    """A campaign's lab: with no archive verifier active it verifies with its own verifier
    token (standing ``independent`` here); with ``verifier run`` polling, it waits for the
    archive's record instead (standing ``archive``) and posts nothing itself."""
    labs = make_labs(live_server)
    own_token = live_server.new_token("independent-lab")
    alone = publish(labs.author, HONEST, 1.0)
    rt = lab_runtime(live_server, labs.author, alone, archive_verifier_wait_s=60,
                     verify_token=own_token)  # fmt: skip
    assert not labs.author.verifier_status().active
    own = verify_published(rt)
    assert "by" not in own and own["n"] == 20
    assert [v.standing for v in labs.author.list_verifications(alone)] == ["independent"]

    token = verifier_token(live_server)
    running = service(live_server, token, once=False, poll_s=0.2, max_poll_s=0.5)
    worker = threading.Thread(target=running.run, daemon=True)
    worker.start()
    try:
        paper_id = publish(labs.author, HONEST, 1.0, title="Verified by the archive")
        rt = lab_runtime(live_server, labs.author, paper_id, archive_verifier_wait_s=120,
                         verify_token=own_token)  # fmt: skip
        deadline = time.monotonic() + 30
        while not labs.author.verifier_status().active:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        got = verify_published(rt)
    finally:
        running.stop()
        worker.join(timeout=60)
    assert got["by"] == "archive" and got["status"] == "reproduced" and got["n"] == 20
    (stored,) = labs.author.list_verifications(paper_id)
    assert stored.standing == "archive" and stored.value == got["value"]


def test_a_campaign_lab_waits_for_the_archive_verifier_as_configured() -> None:
    spec = {"lab_config": {}, "token": "t", "verify_token": "v", "archive_verifier_wait_s": 90}
    assert lab_config(spec)["after_publish"]["archive_verifier_wait_s"] == 90.0
    assert (
        lab_config({**spec, "archive_verifier_wait_s": None})["after_publish"][
            "archive_verifier_wait_s"
        ]
        == 0.0
    )


# ---------------------------------------------------------------- real verifier processes


def arith_answers(body: dict[str, Any]) -> str:
    """The fake endpoint's model: right on every arith problem."""
    match = EXPRESSION.search(str(body["messages"][-1]["content"]))
    if match is None:
        return "no idea"
    return f"\\boxed{{{eval(match.group(1))}}}"  # noqa: S307 - digits and + - * only


@pytest.fixture
def fake_model() -> Iterator[FakeOpenAIEndpoint]:
    """A fake OpenAI-compatible endpoint answering arith right after 0.2 s."""
    with FakeOpenAIEndpoint(arith_answers, latency_s=0.2) as endpoint:
        yield endpoint


def start_verifier(
    server: LiveServer, token: str, endpoint: FakeOpenAIEndpoint, home: Path, *args: str
) -> subprocess.Popen[str]:
    """``agentrxiv verifier run --once ARGS`` as a real process using the fake endpoint."""
    env = {
        **os.environ,
        "AGENTRXIV_HOME": str(home),
        "OPENAI_BASE_URL": endpoint.url,
        "AGENTRXIV_VERIFY_CONCURRENCY": "1",
    }
    env.pop("OPENAI_API_KEY", None)
    command = ["verifier", "run", "--server", server.url, "--token", token, "--once", *args]
    return subprocess.Popen(
        [sys.executable, "-m", "agentrxiv.cli.main", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_verifier_run_once_end_to_end(sqlite_server, fake_model, tmp_path: Path) -> None:
    labs = make_labs(sqlite_server)
    token = verifier_token(sqlite_server, "archive-verifier-cli")
    with ArchiveClient(sqlite_server.url, token=token) as client:
        drain(client)
    paper_id = publish(labs.author, HONEST, 1.0, model="openai/fake-arith")
    process = start_verifier(sqlite_server, token, fake_model, tmp_path, "--limit", "10")
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert "job " in err and "reproduced" in err and "1 verified, 0 failed" in err
    (stored,) = labs.author.list_verifications(paper_id)
    assert stored.standing == "archive" and stored.status == "reproduced" and stored.n == 10
    (job,) = labs.author.verification_jobs(paper=paper_id).items
    assert job.state == "done" and job.verification_id == stored.id
    assert fake_model.calls == 20  # 10 baseline + 10 technique


def test_a_verifier_killed_mid_job_loses_and_duplicates_nothing(
    sqlite_server, fake_model, tmp_path: Path
) -> None:
    """SIGKILL while the technique runs: the job stays leased until its 5 s lease expires,
    then a second ``verifier run --once`` leases it (attempt 2) and completes it; the paper
    has exactly one verification."""
    labs = make_labs(sqlite_server)
    token = verifier_token(sqlite_server, "archive-verifier-killed")
    with ArchiveClient(sqlite_server.url, token=token) as client:
        drain(client)
    paper_id = publish(labs.author, HONEST, 1.0, model="openai/fake-arith")
    args = ("--limit", "30", "--lease-s", "5")
    first = start_verifier(sqlite_server, token, fake_model, tmp_path, *args)
    deadline = time.monotonic() + 120
    while fake_model.calls < 5:  # 30 baseline calls of 0.2 s run one at a time
        assert time.monotonic() < deadline and first.poll() is None, first.stderr
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    (job,) = labs.author.verification_jobs(paper=paper_id).items
    assert job.state == "leased" and job.attempts == 1
    assert labs.author.list_verifications(paper_id) == []
    assert job.lease_expires_at is not None
    wait = (job.lease_expires_at - datetime.now(UTC)).total_seconds()
    time.sleep(max(0.0, wait) + 0.5)
    second = start_verifier(sqlite_server, token, fake_model, tmp_path, *args)
    _out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert "1 verified" in err
    (stored,) = labs.author.list_verifications(paper_id)
    assert stored.standing == "archive" and stored.n == 30
    (job,) = labs.author.verification_jobs(paper=paper_id).items
    assert (job.state, job.attempts, job.verification_id) == ("done", 2, stored.id)


def test_sigterm_hands_the_job_back(sqlite_server, fake_model, tmp_path: Path) -> None:
    """SIGTERM mid-job: the verifier releases its lease (the attempt does not count), exits
    130, and the job is queued again at once."""
    labs = make_labs(sqlite_server)
    token = verifier_token(sqlite_server, "archive-verifier-stopped")
    with ArchiveClient(sqlite_server.url, token=token) as client:
        drain(client)
    paper_id = publish(labs.author, HONEST, 1.0, model="openai/fake-arith")
    before = fake_model.calls
    process = start_verifier(sqlite_server, token, fake_model, tmp_path, "--limit", "30")
    deadline = time.monotonic() + 120
    while fake_model.calls < before + 3:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "handed back" in err
    (job,) = labs.author.verification_jobs(paper=paper_id).items
    assert (job.state, job.attempts) == ("queued", 0)
    assert labs.author.list_verifications(paper_id) == []
