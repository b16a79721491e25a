"""The process boundary around the embedded model: real SmolLM2 worker processes killed with
real signals mid-generation. Each death is one clear error naming the cause and the fix, the
caller survives, the next call starts a fresh worker, and the per-call timeout is enforced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agentrxiv.llm import Ledger, get_model
from agentrxiv.llm.errors import LocalTimeoutError, ModelCrashError
from agentrxiv.llm.worker import LocalWorker, crash_message

LONG = [{"role": "user", "content": "Write a long story about a lighthouse keeper and a storm."}]
SHORT = [{"role": "user", "content": "Say hello."}]


def test_crash_messages_name_the_cause_and_the_fix() -> None:
    sigill = crash_message(-signal.SIGILL)
    assert "SIGILL (illegal instruction)" in sigill.message and "another CPU" in sigill.message
    assert "--no-cache-dir --force-reinstall -r requirements.txt" in sigill.hint
    sigsegv = crash_message(-signal.SIGSEGV, "ggml: something")
    assert "SIGSEGV" in sigsegv.message
    assert sigsegv.message.endswith("(its last words: ggml: something)")
    assert "out-of-memory" in crash_message(-signal.SIGKILL).message
    assert "code 3" in crash_message(3).message
    for error in (sigill, sigsegv, crash_message(-signal.SIGKILL)):
        assert "\n" not in str(error) and not error.retryable and error.fatal


def kill_when_busy(worker: LocalWorker, sig: int, delay: float = 0.3) -> threading.Thread:
    """Send ``sig`` to the worker ``delay`` seconds into its next generation."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while not (worker.busy and worker.pid) and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(delay)
        if worker.pid:
            os.kill(worker.pid, sig)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.model
@pytest.mark.parametrize(
    ("sig", "expected"),
    [
        (signal.SIGKILL, "died with SIGKILL, most likely from the kernel's out-of-memory killer"),
        (signal.SIGILL, "died with SIGILL (illegal instruction): llama-cpp-python was built"),
        (signal.SIGSEGV, "died with SIGSEGV (segmentation fault) in llama.cpp"),
    ],
)
def test_a_worker_killed_mid_generation_is_one_error_and_the_next_call_restarts(
    sig: int, expected: str
) -> None:
    ledger = Ledger()
    model = get_model("local/smollm2", cache=False, ledger=ledger)
    worker = model.backend.worker()
    model.chat(SHORT, max_tokens=4)  # started and loaded
    first_pid, restarts = worker.pid, worker.restarts
    killer = kill_when_busy(worker, sig)
    started = time.monotonic()
    with pytest.raises(ModelCrashError) as caught:
        model.chat(LONG, max_tokens=600)
    killer.join()
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    assert time.monotonic() - started < 30
    assert ledger.totals().calls == 1  # the crashed call was not retried or recorded
    # The caller lives on; the next call gets a fresh worker and real text.
    assert model.chat(SHORT, max_tokens=8).text.strip()
    assert worker.pid != first_pid and worker.restarts == restarts + 1


@pytest.mark.model
def test_the_per_call_timeout_kills_a_slow_generation() -> None:
    slow = get_model("local/smollm2", cache=False, ledger=Ledger(), timeout=0.5)
    worker = slow.backend.worker()
    worker.start()
    pid = worker.pid
    started = time.monotonic()
    with pytest.raises(LocalTimeoutError) as caught:
        slow.chat(LONG, max_tokens=1000)
    assert time.monotonic() - started < 5  # 1000 tokens take ~20 s here
    assert "did not answer within 0.5s" in str(caught.value)
    assert worker.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    fine = get_model("local/smollm2", cache=False, ledger=Ledger())
    assert fine.chat(SHORT, max_tokens=8).text.strip()


CHILD = """
import sys, time
from agentrxiv.llm import get_model
model = get_model("local/smollm2", cache=False)
model.chat([{"role": "user", "content": "hi"}], max_tokens=2)
print(model.backend.worker().pid, flush=True)
time.sleep(600)
"""


@pytest.mark.model
def test_the_worker_dies_with_its_parent(isolated_home) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "AGENTRXIV_HOME": str(isolated_home)},
    )
    try:
        worker_pid = int(parent.stdout.readline())
        os.kill(worker_pid, 0)  # running
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not _alive(worker_pid):
            return
        time.sleep(0.05)
    pytest.fail("the model worker outlived its parent")


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
