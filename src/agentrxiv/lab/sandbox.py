"""The sandbox that runs LLM-generated Python: one child process per run, in its own working
directory, with CPU, memory, file-size, process and wall-clock limits, capped output, an
environment rebuilt from an allow-list, and no way out but the model socket.

Layers (each one catches what the others miss):

1. The boundary, by default: bubblewrap (``agentrxiv.lab.bwrap``). New PID, IPC, network
   and UTS namespaces (and a user namespace when the lab is not root), uid/gid 65534
   without capabilities (a real uid 65534 on the host when the lab runs as root: the
   working directory is handed to it before each run), and a filesystem that holds only
   the read-only runtime, the read-only data files, the writable working directory and the
   model socket. Where it cannot be created, ``SubprocessSandbox`` raises
   ``SandboxUnavailableError`` saying what to install, unless ``unsafe=True``.
2. A pids cgroup (when writable, e.g. as root) capping the number of tasks: the kernel's
   answer to fork bombs, since ``RLIMIT_NPROC`` does not bind root.
3. ``resource`` limits set by the child before user code runs: ``RLIMIT_CPU``,
   ``RLIMIT_AS``, ``RLIMIT_FSIZE``, ``RLIMIT_CORE`` and ``RLIMIT_NPROC`` (not for a
   program running as root, nor where a pids cgroup already counts uid 65534's tasks).
4. A Python audit hook (``sandbox_child``) installed before user code runs, in every mode:
   it refuses ``subprocess``, ``os.system``, ``os.exec*``, ``os.fork``, ``os.posix_spawn``,
   signals to other processes, sockets other than the model socket, other processes'
   ``/proc`` entries, and creating, changing or deleting files outside the working directory.
   It gives clear error messages; it is not the boundary (C code never passes through it).
5. The parent's wall-clock limit: on expiry it SIGKILLs the whole process group (and cgroup).

``unsafe=True`` replaces layer 1 by ``unshare`` network + PID namespaces where available:
the program then runs as the lab's user (often root) and sees the whole filesystem. That
contains an LLM's honest mistakes, not code written to escape.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agentrxiv.errors import ConfigError
from agentrxiv.lab import bwrap
from agentrxiv.lab.sandbox_child import CPU_EXIT_CODE

logger = logging.getLogger(__name__)

PROGRAM_NAME = "_sandbox_main.py"
"""File a program given as source text is written to, inside the working directory."""

PASSED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")
"""The only variables copied from the parent's environment; everything else is rebuilt."""

TRUNCATION_MARKER = "\n[... {dropped} bytes of output dropped by the sandbox ...]\n"

# First drops root privileges where the lab runs as root (argv[1]; see bwrap.DROP_PRIVILEGES),
# then loads sandbox_child.py by path (not ``import agentrxiv.lab``, whose ``__init__`` may
# pull in heavy modules) and hands control to its ``boot``.
_LAUNCHER = bwrap.DROP_PRIVILEGES + (
    "import importlib.util as u\n"
    "s = u.spec_from_file_location('_agentrxiv_sandbox_child', sys.argv[2])\n"
    "m = u.module_from_spec(s); sys.modules[s.name] = m; s.loader.exec_module(m)\n"
    "m.boot(sys.argv[3:])\n"
)
_CHILD_FILE = Path(__file__).with_name("sandbox_child.py")
_CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))
BOUNDARY = "bwrap+audit-hook"
UNSAFE_WARNING = (
    "UNSAFE SANDBOX: generated code runs WITHOUT the bubblewrap boundary (audit hook and "
    "namespaces only); it can read the files of the user running the lab"
)
# bwrap reports a child killed by signal N as exit code 128 + N.
_BWRAP_SIGNAL_BASE = 128


class SandboxUnavailableError(ConfigError):
    """No OS-level boundary can be created here, and unsafe mode was not asked for."""


def boundary_status() -> tuple[str, str | None]:
    """The boundary generated code gets here and, if none, one line on what to do."""
    problem = bwrap.probe()
    if problem is None:
        return BOUNDARY, None
    return "none", f"{problem}: {bwrap.INSTALL_HINT}"


@functools.cache
def _warn_unsafe_once() -> None:
    logger.warning("sandbox: %s", UNSAFE_WARNING)


def sandbox_note(unsafe: bool) -> tuple[str, str | None]:
    """What a lab records about its sandbox: the mode, and the warning when unsafe."""
    if unsafe:
        return "unsafe (audit hook only)", UNSAFE_WARNING
    return BOUNDARY, None


def require_boundary() -> None:
    """Raise ``SandboxUnavailableError`` unless the bwrap boundary works here."""
    problem = bwrap.probe()
    if problem is not None:
        raise SandboxUnavailableError(
            f"refusing to run generated code without a sandbox boundary: {problem}",
            hint=bwrap.INSTALL_HINT,
        )


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one run; ``max_processes`` counts tasks (threads included)."""

    cpu_s: float = 60.0
    memory_mb: int = 2048
    wall_s: float = 120.0
    output_bytes: int = 64_000
    max_processes: int = 64
    file_mb: int = 256


@dataclass
class SandboxResult:
    """What a run did. ``killed_by`` names the limit or signal that ended it, if any."""

    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool = False
    killed_by: str | None = None
    wall_s: float = 0.0
    cpu_s: float = 0.0
    files_written: list[str] = field(default_factory=list)
    isolation: str = ""

    @property
    def ok(self) -> bool:
        """Whether the program ran to completion with exit code 0."""
        return self.exit_code == 0 and not self.timed_out and self.killed_by is None


class SubprocessSandbox:
    """Runs Python programs in ``workdir`` under ``limits``; see the module docstring."""

    def __init__(
        self,
        workdir: str | Path,
        limits: SandboxLimits | None = None,
        allow_model_socket: str | Path | None = None,
        *,
        data_files: tuple[str | Path, ...] | list[str | Path] = (),
        unsafe: bool = False,
        namespaces: bool | None = None,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.limits = limits or SandboxLimits()
        self.model_socket = Path(allow_model_socket).resolve() if allow_model_socket else None
        self.data_files = tuple(_data_file(path) for path in data_files)
        self.unsafe = unsafe
        self._prefix: tuple[str, ...] = ()
        # As root, the program switches to the real uid 65534 (bwrap.DROP_PRIVILEGES).
        self.drop = not unsafe and bwrap.privileged()
        if not unsafe:
            require_boundary()
            _check_outside_runtime(self.workdir)
            self.isolation = BOUNDARY
            return
        _warn_unsafe_once()
        use_namespaces = _namespaces_wanted() if namespaces is None else namespaces
        self._prefix = namespace_prefix() if use_namespaces else ()
        self.isolation = "namespaces+audit-hook" if self._prefix else "audit-hook"

    def run_python(
        self,
        code: str | Path,
        args: tuple[str, ...] | list[str] = (),
        env_extra: dict[str, str] | None = None,
    ) -> SandboxResult:
        """Run ``code`` (source text, or a ``Path`` to a script) and return what happened."""
        script = self._materialize(code)
        remove_outside_links(self.workdir)
        before = snapshot_files(self.workdir)
        # bwrap (or unshare) itself is in the cgroup too: one task on top of the program's.
        launcher_tasks = 0 if self.unsafe and not self._prefix else 1
        cgroup = PidsCgroup.create(self.limits.max_processes + launcher_tasks)
        config = self._boot_config(script, cgroup)
        command = [sys.executable, "-c", _LAUNCHER, bwrap.drop_arg(self.drop, self.workdir)]
        command += [str(_CHILD_FILE), json.dumps(config)]
        env = self._child_env(env_extra)
        prefix, fds = self._command_prefix(env, _env_data_file(env))
        try:
            if self.drop:
                self._hand_over()
            run = _run_group(
                [*prefix, *command, *map(str, args)], self.workdir, env, self.limits, cgroup, fds
            )
        finally:
            bwrap.close_fds(fds)
            if cgroup:
                cgroup.destroy()
        if not self.unsafe:
            _decode_bwrap_status(run)
        return SandboxResult(
            exit_code=run.exit_code,
            stdout=run.stdout,
            stderr=run.stderr,
            timed_out=run.timed_out,
            killed_by=_killed_by(run, self.limits),
            wall_s=round(run.wall_s, 3),
            cpu_s=round(run.cpu_s, 3),
            files_written=changed_files(before, snapshot_files(self.workdir)),
            isolation=self.isolation,
        )

    def _hand_over(self) -> None:
        """Give the working directory (and an outside model socket) to uid 65534."""
        socket = self.model_socket
        outside = [socket] if socket and self.workdir not in socket.parents else []
        try:
            bwrap.hand_over(self.workdir, bwrap.SANDBOX_UID, [p for p in outside if p.exists()])
        except OSError as exc:
            raise ConfigError(
                f"cannot hand the sandbox working directory {self.workdir} to uid "
                f"{bwrap.SANDBOX_UID}: {exc}",
                hint="use a working directory on a local filesystem where root may chown",
            ) from exc

    def _command_prefix(
        self, env: dict[str, str], env_data: Path | None
    ) -> tuple[list[str], list[int]]:
        """The boundary's command line (and fds it inherits), or the unsafe prefix."""
        if self.unsafe:
            return list(self._prefix), []
        data_files = self.data_files
        if env_data and env_data not in data_files and self.workdir not in env_data.parents:
            data_files = (*data_files, env_data)  # AGENTRXIV_DATA must be readable inside
        socket = self.model_socket
        outside = [socket] if socket and self.workdir not in socket.parents else []
        tool = bwrap.find_bwrap()
        assert tool is not None  # require_boundary() checked it
        return bwrap.bwrap_argv(
            tool,
            self.workdir,
            env,
            data_files=data_files,
            extra_binds=outside,
            tmp_mb=min(self.limits.file_mb, 256),
            drop=self.drop,
        )

    def _materialize(self, code: str | Path) -> Path:
        if isinstance(code, Path):
            path = code if code.is_absolute() else self.workdir / code
            if not path.is_file():
                raise ConfigError(f"sandbox program not found: {path}")
            return path.resolve()
        path = self.workdir / PROGRAM_NAME
        write_new_file(path, code)
        return path

    def _boot_config(self, script: Path, cgroup: PidsCgroup | None) -> dict[str, object]:
        return {
            "workdir": str(self.workdir),
            "script": str(script),
            "socket": str(self.model_socket) if self.model_socket else None,
            "limits": asdict(self.limits),
            "nproc": _nproc_limit(self.limits.max_processes, self.drop, cgroup is not None),
            # The parent puts the child in the cgroup before exec (no /sys inside bwrap).
            "cgroup_procs": None,
        }

    def _child_env(self, env_extra: dict[str, str] | None) -> dict[str, str]:
        return build_child_env(self.workdir, self.model_socket, env_extra)


def build_child_env(
    workdir: Path, model_socket: Path | None, env_extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The child's whole environment: an allow-list, sandbox paths, then ``env_extra``."""
    import agentrxiv

    env = {key: os.environ[key] for key in PASSED_ENV if key in os.environ}
    env.setdefault("PATH", os.defpath)
    tmp = workdir / ".tmp"
    tmp.mkdir(exist_ok=True)
    env.update(
        HOME=str(workdir),
        TMPDIR=str(tmp),
        PYTHONPATH=str(Path(agentrxiv.__file__).resolve().parents[1]),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
        PYTHONUTF8="1",
        MPLBACKEND="Agg",
        MPLCONFIGDIR=str(workdir / ".cache" / "matplotlib"),
        # One thread per numeric library: the task limit counts threads, and CPUs are shared.
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    env.update(env_extra or {})
    if model_socket:
        env["AGENTRXIV_MODEL_SOCKET"] = _socket_address(model_socket, workdir)
    return env


def _check_outside_runtime(workdir: Path) -> None:
    """Refuse a working directory inside the (visible) runtime: its neighbours would show."""
    for runtime in bwrap.runtime_paths():
        if Path(runtime) == workdir or Path(runtime) in workdir.parents:
            raise ConfigError(
                f"sandbox working directory {workdir} lies inside the Python runtime "
                f"{runtime}, which every sandboxed program can read",
                hint="put lab output (output_dir, --workdir) outside the installation",
            )


def _env_data_file(env: dict[str, str]) -> Path | None:
    """The existing file ``AGENTRXIV_DATA`` names, if any."""
    raw = env.get("AGENTRXIV_DATA")
    path = Path(raw).resolve() if raw else None
    return path if path and path.is_file() else None


def _data_file(path: str | Path) -> Path:
    resolved = Path(path).expanduser().resolve()
    if not resolved.exists():
        raise ConfigError(f"sandbox data file not found: {path}")
    return resolved


def write_new_file(path: Path, text: str) -> None:
    """Write ``text`` to a fresh regular file at ``path``, never through a planted link."""
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            raise ConfigError(f"cannot write the program: {path} is a directory")
        path.unlink()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    with os.fdopen(os.open(path, flags, 0o644), "w", encoding="utf-8") as handle:
        handle.write(text)


def read_regular_file(path: Path, max_bytes: int = 10_000_000) -> bytes:
    """The bytes of ``path`` if it is a plain file the sandbox could not have redirected.

    Refuses (``OSError``) a symbolic link, anything but a regular file, a file with more
    than one hard link (it may be another lab's file) and a file over ``max_bytes``."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path.name} is not a regular file")
        if info.st_nlink != 1:
            raise OSError(f"{path.name} has {info.st_nlink} hard links")
        if info.st_size > max_bytes:
            raise OSError(f"{path.name} is larger than {max_bytes} bytes")
        return handle.read(max_bytes + 1)[:max_bytes]


def remove_outside_links(workdir: Path) -> list[str]:
    """Unlink files in ``workdir`` that are hard links to files elsewhere (never touched).

    Inside the boundary they cannot be made (the outside file is invisible and mounts do not
    share links); an unsafe run or a careless user can leave them, and the lab must not
    write through them. Returns the relative paths removed."""
    inodes: dict[tuple[int, int], list[Path]] = {}
    for dirpath, _dirnames, filenames in os.walk(workdir):
        for name in filenames:
            path = Path(dirpath, name)
            with contextlib.suppress(OSError):
                info = path.lstat()
                if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
                    inodes.setdefault((info.st_dev, info.st_ino), []).append(path)
    removed = []
    for paths in inodes.values():
        if paths[0].lstat().st_nlink > len(paths):
            for path in paths:
                path.unlink()
                removed.append(str(path.relative_to(workdir)))
    if removed:
        logger.warning("sandbox: removed hard links to outside files: %s", ", ".join(removed))
    return removed


def _socket_address(socket_path: Path, workdir: Path) -> str:
    """A relative path when the socket is in the workdir: Unix paths are capped at 107 bytes."""
    with contextlib.suppress(ValueError):
        return str(socket_path.relative_to(workdir))
    return str(socket_path)


def _namespaces_wanted() -> bool:
    return os.environ.get("AGENTRXIV_SANDBOX_NAMESPACES", "1").lower() not in ("0", "false", "no")


@functools.cache
def namespace_prefix() -> tuple[str, ...]:
    """The ``unshare`` command line that works here (new network + PID namespace), or ()."""
    unshare = shutil.which("unshare")
    if not unshare:
        logger.warning("sandbox: unshare not found; running without namespaces")
        return ()
    base = ["--net", "--pid", "--fork", "--kill-child"]
    # --mount-proc gives the child a /proc that shows only its own processes.
    variants = [[*base, "--mount-proc"], base]
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    candidates = [[unshare, *user, *variant] for variant in variants]
    for prefix in candidates:
        try:
            probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=15)
        except (OSError, subprocess.SubprocessError):
            continue
        if probe.returncode == 0:
            return tuple(prefix)
    logger.warning("sandbox: cannot create namespaces here; relying on the audit hook")
    return ()


def _nproc_limit(max_processes: int, drop: bool, cgroup: bool) -> int | None:
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
class _GroupRun:
    exit_code: int
    signum: int | None
    timed_out: bool
    cpu_s: float
    wall_s: float
    stdout: str
    stderr: str


def _run_group(
    argv: list[str],
    workdir: Path,
    env: dict[str, str],
    limits: SandboxLimits,
    cgroup: PidsCgroup | None,
    pass_fds: list[int] | tuple[int, ...] = (),
) -> _GroupRun:
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
    return _GroupRun(
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


def _decode_bwrap_status(run: _GroupRun) -> None:
    """bwrap exits 128 + N when its child dies of signal N: report that as the signal."""
    code = run.exit_code
    signals = {int(sig) for sig in signal.Signals}
    if run.signum is None and code != CPU_EXIT_CODE and code - _BWRAP_SIGNAL_BASE in signals:
        run.signum = code - _BWRAP_SIGNAL_BASE
        run.exit_code = -run.signum


def _killed_by(run: _GroupRun, limits: SandboxLimits) -> str | None:
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


def snapshot_files(root: Path, limit: int = 20_000) -> dict[str, tuple[int, int]]:
    """Relative path -> (mtime_ns, size) of visible files under ``root`` (dot-dirs skipped)."""
    found: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        for name in filenames:
            path = Path(dirpath, name)
            with contextlib.suppress(OSError):
                if path.is_file() and not path.is_symlink():
                    stat = path.stat()
                    found[str(path.relative_to(root))] = (stat.st_mtime_ns, stat.st_size)
            if len(found) >= limit:
                return found
    return found


def changed_files(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list:
    """Files new or modified between two snapshots, sorted, without the sandbox's own file."""
    return sorted(
        path for path, stamp in after.items() if before.get(path) != stamp and path != PROGRAM_NAME
    )
