"""The process boundary around the embedded model.

llama.cpp is native code: a build for another CPU dies with SIGILL or SIGSEGV, a large model
can be killed by the kernel's out-of-memory killer, and a generation cannot be interrupted
from Python. So ``local/...`` models never run in the caller's process: each GGUF file gets
one long-lived worker process (``agentrxiv.llm.worker_child``) that loads it once and answers
one request at a time over a pipe, a whole completion per message (no per-token traffic).

- A worker that dies becomes one ``ModelCrashError`` naming the likely cause and the fix
  (``crash_message``); the next call starts a fresh worker.
- A call that outlives its timeout kills the worker (``LocalTimeoutError``); the per-call
  timeout is therefore enforced, which it cannot be in process.
- Workers exit with their parent (their stdin closes) and are stopped at interpreter exit.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from agentrxiv.llm.errors import (
    BadResponseError,
    LocalTimeoutError,
    ModelCrashError,
    ProviderError,
)

logger = logging.getLogger(__name__)

#: Seconds a worker may take to start and load its model (a 7B GGUF loads in tens of seconds).
LOAD_TIMEOUT_S = 300.0
REINSTALL = "pip install --no-cache-dir --force-reinstall -r requirements.txt"
STDERR_LINES = 20

_CAUSES: dict[int, tuple[str, str]] = {
    signal.SIGILL: (
        "SIGILL (illegal instruction): llama-cpp-python was built for another CPU",
        f"reinstall the portable build: {REINSTALL} (see docs/models.md)",
    ),
    signal.SIGSEGV: (
        "SIGSEGV (segmentation fault) in llama.cpp: usually a llama-cpp-python built with "
        "native flags for another CPU, sometimes a damaged GGUF file",
        f"reinstall the portable build: {REINSTALL}; `agentrxiv doctor` checks the build",
    ),
    signal.SIGBUS: (
        "SIGBUS (bus error): the GGUF file changed or vanished while mapped, or the disk failed",
        "check the model file; the model restarts on the next call",
    ),
    signal.SIGKILL: (
        "SIGKILL, most likely from the kernel's out-of-memory killer",
        "free memory or use a smaller model or context (`dmesg` shows 'Out of memory'); "
        "the model restarts on the next call",
    ),
    signal.SIGABRT: (
        "SIGABRT: llama.cpp stopped on a failed internal check",
        "try a shorter prompt or another GGUF file; the model restarts on the next call",
    ),
}


def crash_message(returncode: int | None, stderr_tail: str = "") -> ModelCrashError:
    """The one-line error for a worker that ended with ``returncode`` (negative: a signal)."""
    detail = f" (its last words: {stderr_tail[-200:]})" if stderr_tail else ""
    if returncode is not None and returncode < 0:
        number = -returncode
        cause, hint = _CAUSES.get(
            number, (f"{_signal_name(number)}", "the model restarts on the next call")
        )
        return ModelCrashError(
            f"the embedded model's process died with {cause}{detail}",
            hint=hint,
            signal=_signal_name(number),
        )
    return ModelCrashError(
        f"the embedded model's process exited unexpectedly (code {returncode}){detail}",
        hint="run `agentrxiv doctor`; the model restarts on the next call",
    )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class LocalWorker:
    """One worker process serving one GGUF file; calls are serialised by ``lock``."""

    def __init__(self, model: Path, n_ctx: int, threads: int) -> None:
        self.model, self.n_ctx, self.threads = model, n_ctx, threads
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[bytes] | None = None
        self.facts: dict[str, Any] = {}
        self.busy = False
        self.restarts = 0
        self._buffer = b""
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)

    @property
    def pid(self) -> int | None:
        """The worker's process id while it runs."""
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def chat(self, kwargs: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        """One ``create_chat_completion`` in the worker; starts it first when needed."""
        with self.lock:
            self._ensure_started()
            self.busy = True
            try:
                answer = self._exchange({"op": "chat", "kwargs": kwargs}, timeout)
            finally:
                self.busy = False
        if answer.get("ok"):
            return answer["response"]
        if answer.get("kind") == "bad_request":
            raise BadResponseError(f"local/{self.model.name}: {answer.get('message')}")
        raise ProviderError(f"the embedded model failed: {answer.get('message')}")

    def request(self, op: str, timeout: float | None = 30.0) -> None:
        """A control request: ``ping`` (a round trip) or ``reset`` (forget the KV cache, so
        no call gets another's prompt evaluation for free; benchmarks use it)."""
        with self.lock:
            self._ensure_started()
            self._exchange({"op": op}, timeout)

    def start(self) -> dict[str, Any]:
        """Start the worker now (if it is not running) and return its build facts."""
        with self.lock:
            self._ensure_started()
        return self.facts

    def stop(self) -> None:
        """Stop the worker: close its stdin (it exits), then kill it if it lingers."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):  # stderr: its reader ends at EOF
            _close(stream)
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _ensure_started(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        if self.proc is not None:  # died between calls (e.g. killed while idle)
            self.restarts += 1
            self.stop()
        self._spawn()
        ready = self._read(time.monotonic() + LOAD_TIMEOUT_S, what="load")
        if not ready.get("ready"):
            self.stop()
            raise ProviderError(str(ready.get("message", "the embedded model did not load")))
        self.facts = ready

    def _spawn(self) -> None:
        env = {**os.environ, "AGENTRXIV_LLM_THREADS": str(self.threads)}
        command = [sys.executable, "-m", "agentrxiv.llm.worker_child"]
        command += ["--model", str(self.model), "--n-ctx", str(self.n_ctx)]
        self._buffer = b""
        self._stderr.clear()
        # Own session: a Ctrl-C in the terminal reaches the parent, which stops the worker.
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        threading.Thread(target=self._drain_stderr, args=(self.proc,), daemon=True).start()
        logger.info("started model worker pid %d for %s", self.proc.pid, self.model.name)

    def _drain_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        with contextlib.suppress(OSError, ValueError), proc.stderr:
            for raw in iter(proc.stderr.readline, b""):
                line = raw.decode(errors="replace").strip()
                if line and proc is self.proc:
                    self._stderr.append(line)

    def _exchange(self, request: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        proc = self.proc
        assert proc is not None and proc.stdin is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            proc.stdin.write(json.dumps(request, separators=(",", ":")).encode() + b"\n")
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._crashed() from None
        try:
            return self._read(deadline, what="call", timeout=timeout)
        except (ModelCrashError, LocalTimeoutError):
            raise
        except BaseException:
            # Interrupted (Ctrl-C): the answer would arrive for the next request; start over.
            if self.proc is not None:
                self.proc.kill()
            self.stop()
            raise

    def _read(
        self, deadline: float | None, *, what: str, timeout: float | None = None
    ) -> dict[str, Any]:
        """The next protocol line, or a crash / timeout error."""
        proc = self.proc
        assert proc is not None and proc.stdout is not None
        fd = proc.stdout.fileno()
        while b"\n" not in self._buffer:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                raise self._timed_out(what, timeout)
            poller = select.poll()
            poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
            if not poller.poll(None if wait is None else max(1, int(wait * 1000))):
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise self._crashed()
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def _crashed(self) -> ModelCrashError:
        proc = self.proc
        assert proc is not None
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        time.sleep(0.05)  # let the stderr reader take the last lines
        tail = self._stderr[-1] if self._stderr else ""
        self.restarts += 1
        self.stop()
        error = crash_message(code, tail)
        logger.info("model worker crashed: %s", error)
        return error

    def _timed_out(self, what: str, timeout: float | None) -> LocalTimeoutError:
        self.restarts += 1
        if self.proc is not None:
            self.proc.kill()
        self.stop()
        if what == "load":
            return LocalTimeoutError(
                f"the embedded model did not load within {LOAD_TIMEOUT_S:.0f}s",
                hint="check the GGUF file and free memory; `agentrxiv doctor` tests the model",
            )
        return LocalTimeoutError(
            f"the embedded model did not answer within {timeout:g}s; its process was stopped "
            "and restarts on the next call",
            hint="raise the timeout or lower max_tokens",
        )


def _close(stream: IO[bytes] | None) -> None:
    if stream is not None:
        with contextlib.suppress(OSError):
            stream.close()


_workers: dict[tuple[Path, int], LocalWorker] = {}
_workers_lock = threading.Lock()


def get_worker(model: Path, n_ctx: int, threads: int) -> LocalWorker:
    """The process-wide worker for ``model`` (created on first use, started on first call)."""
    with _workers_lock:
        worker = _workers.get((model, n_ctx))
        if worker is None:
            worker = _workers[(model, n_ctx)] = LocalWorker(model, n_ctx, threads)
        return worker


def workers() -> list[LocalWorker]:
    """Every worker this process created (running or not)."""
    with _workers_lock:
        return list(_workers.values())


@atexit.register
def stop_workers() -> None:
    """Stop every worker (also run at interpreter exit)."""
    for worker in workers():
        worker.stop()
