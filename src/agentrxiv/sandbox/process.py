"""The parent's side of one run: start the launcher in a new session (and a throwaway pids
cgroup where one can be made), enforce the wall clock by killing the whole group, collect
capped output, and name the limit that ended the run."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agentrxiv.sandbox import bwrap
from agentrxiv.sandbox.child import CPU_EXIT_CODE
from agentrxiv.sandbox.limits import SandboxLimits

logger = logging.getLogger(__name__)

TRUNCATION_MARKER = "\n[... {dropped} bytes of output dropped by the sandbox ...]\n"
_CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))
# bwrap reports a child killed by signal N as exit code 128 + N.
_BWRAP_SIGNAL_BASE = 128


def nproc_limit(max_processes: int, drop: bool, cgroup: bool) -> int | None:
    """RLIMIT_NPROC for the program, or None.

    It counts every task of the program's real uid and does not bind root, so it is
    offset by the tasks that uid already runs. A program dropped to 65534 shares that uid
    with every other sandbox on the machine: its own pids cgroup is the exact limit when
    there is one (no rlimit then, so concurrent runs cannot starve each other); without
    one, the offset count of uid 65534's tasks bounds it."""
    if drop:
        return None if cgroup else _tasks_of_uid(bwrap.SANDBOX_UID) + max_processes
    if os.geteuid() == 0:
        return None
    return _tasks_of_uid(os.getuid()) + max_processes


def _tasks_of_uid(uid: int) -> int:
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields["Threads"])
    return count


class PidsCgroup:
    """A throwaway pids cgroup capping the tasks of one run (only where it can be created)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, max_tasks: int) -> PidsCgroup | None:
        """Create one under the first writable pids hierarchy, or return None."""
        for root in _CGROUP_ROOTS:
            if not (root / "cgroup.procs").exists():
                continue
            path = root / f"agentrxiv-sandbox-{uuid.uuid4().hex[:12]}"
            try:
                path.mkdir()
            except OSError:
                continue
            try:
                (path / "pids.max").write_text(str(max_tasks))
                return cls(path)
            except OSError:
                with contextlib.suppress(OSError):
                    path.rmdir()
        return None

    def joiner(self) -> Callable[[], None]:
        """A ``preexec_fn`` moving the new process (before exec) into this cgroup."""
        procs = os.fsencode(self.path / "cgroup.procs")
        open_, write, close = os.open, os.write, os.close

        def join() -> None:
            try:
                fd = open_(procs, os.O_WRONLY)
                try:
                    write(fd, b"0")
                finally:
                    close(fd)
            except OSError:
                pass

        return join

    def kill_all(self) -> None:
        """SIGKILL every task still in the cgroup."""
        with contextlib.suppress(OSError):
            for pid in (self.path / "cgroup.procs").read_text().split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)

    def destroy(self) -> None:
        """Kill what is left and remove the cgroup (it must be empty to go)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            self.kill_all()
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.02)
        logger.warning("sandbox: could not remove cgroup %s", self.path)


class _CappedBuffer:
    """Keeps the first and last ``cap // 2`` bytes of a stream and counts the rest."""

    def __init__(self, cap: int) -> None:
        self.half = max(cap // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        if len(self.tail) > self.half:
            del self.tail[: len(self.tail) - self.half]

    def text(self) -> str:
        dropped = self.total - len(self.head) - len(self.tail)
        head = self.head.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        if dropped <= 0:
            return head + tail
        return head + TRUNCATION_MARKER.format(dropped=dropped) + tail


def _drain(stream, buffer: _CappedBuffer) -> None:  # noqa: ANN001 - a binary pipe
    with contextlib.suppress(OSError, ValueError):
        while chunk := stream.read1(65536):
            buffer.feed(chunk)


@dataclass
class GroupRun:
    exit_code: int
    signum: int | None
    timed_out: bool
    cpu_s: float
    wall_s: float
    stdout: str
    stderr: str


def run_group(
    argv: list[str],
    workdir: Path,
    env: dict[str, str],
    limits: SandboxLimits,
    cgroup: PidsCgroup | None,
    pass_fds: list[int] | tuple[int, ...] = (),
) -> GroupRun:
    """Start ``argv`` in a new session, enforce the wall clock, collect capped output."""
    start = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        pass_fds=tuple(pass_fds),
        preexec_fn=cgroup.joiner() if cgroup else None,
    )
    buffers = [_CappedBuffer(limits.output_bytes), _CappedBuffer(limits.output_bytes)]
    readers = [
        threading.Thread(target=_drain, args=(pipe, buf), daemon=True)
        for pipe, buf in zip((proc.stdout, proc.stderr), buffers, strict=True)
    ]
    for reader in readers:
        reader.start()
    exited = threading.Event()
    threading.Thread(target=_wait_exit, args=(proc.pid, exited), daemon=True).start()
    timed_out = not exited.wait(limits.wall_s)
    # The leader is a zombie until reaped below, so its group id cannot be reused yet:
    # killing the group also sweeps up stragglers of a normal exit, and only them.
    _kill_group(proc.pid, cgroup)
    exited.wait(10)
    _, status, usage = os.wait4(proc.pid, 0)
    wall_s = time.monotonic() - start
    for reader in readers:
        reader.join(5)
    for pipe in (proc.stdout, proc.stderr):
        with contextlib.suppress(OSError):
            pipe.close()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait
    signum = -proc.returncode if proc.returncode < 0 else None
    return GroupRun(
        exit_code=proc.returncode,
        signum=signum,
        timed_out=timed_out,
        cpu_s=usage.ru_utime + usage.ru_stime,
        wall_s=wall_s,
        stdout=buffers[0].text(),
        stderr=buffers[1].text(),
    )


def _wait_exit(pid: int, exited: threading.Event) -> None:
    """Wait for the child to exit without reaping it (WNOWAIT)."""
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    exited.set()


def _kill_group(pgid: int, cgroup: PidsCgroup | None) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    if cgroup:
        cgroup.kill_all()


def decode_bwrap_status(run: GroupRun) -> None:
    """bwrap exits 128 + N when its child dies of signal N: report that as the signal."""
    code = run.exit_code
    signals = {int(sig) for sig in signal.Signals}
    if run.signum is None and code != CPU_EXIT_CODE and code - _BWRAP_SIGNAL_BASE in signals:
        run.signum = code - _BWRAP_SIGNAL_BASE
        run.exit_code = -run.signum


def killed_by(run: GroupRun, limits: SandboxLimits) -> str | None:
    """Name the limit that ended the run: wall_time, cpu_time, memory, file_size, or a signal."""
    if run.timed_out:
        return "wall_time"
    near_cpu_limit = run.cpu_s >= 0.9 * limits.cpu_s
    if run.signum == signal.SIGXCPU or (near_cpu_limit and run.signum == signal.SIGKILL):
        return "cpu_time"
    if run.exit_code == CPU_EXIT_CODE and near_cpu_limit:
        return "cpu_time"
    if run.signum == signal.SIGXFSZ:
        return "file_size"
    if run.signum is not None:
        return signal.Signals(run.signum).name
    last_line = run.stderr.rstrip().rsplit("\n", 1)[-1]
    if run.exit_code != 0 and last_line.startswith("MemoryError"):
        return "memory"
    return None
