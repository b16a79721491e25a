"""The child side of the sandbox: it runs inside the sandboxed interpreter before user code,
joins the run's cgroup, sets the ``resource`` limits, installs the audit hook, then runs the
user's script as ``__main__``. Stdlib only: it is loaded by file path inside the sandbox,
never through the ``agentrxiv.sandbox`` package, so nothing but the standard library runs
before the limits and the hook are in place.

The audit hook refuses, with ``PermissionError``, every way ordinary Python starts programs
or processes, signals other processes, connects a socket anywhere but the model socket, reads
another process's ``/proc`` entries, or changes the file system outside the working
directory. It contains an LLM's mistakes; it is not a boundary against code written to
escape (see ``agentrxiv.sandbox.subprocess_sandbox`` and docs/sandbox.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

BLOCKED_EVENTS = frozenset(
    {
        "os.system",
        "os.exec",
        "os.fork",
        "os.forkpty",
        "os.posix_spawn",
        "os.spawn",
        "subprocess.Popen",
        "pty.spawn",
        "socket.bind",
        "os.chroot",
        "os.setuid",
        "os.setgid",
    }
)
# event -> indexes of the path arguments that must lie inside the working directory
PATH_EVENTS: dict[str, tuple[int, ...]] = {
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "os.rename": (0, 1),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.link": (1,),
    "os.symlink": (1,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "os.mkfifo": (0,),
    "os.mknod": (0,),
    "os.setxattr": (0,),
    "os.removexattr": (0,),
    "shutil.rmtree": (0,),
    "shutil.copyfile": (1,),
    "shutil.copytree": (1,),
    "shutil.move": (0, 1),
    "shutil.chown": (0,),
}
SOCKET_EVENTS = frozenset({"socket.connect", "socket.sendto", "socket.sendmsg"})
SIGNAL_EVENTS = frozenset({"os.kill", "os.killpg"})
DENIED_C_SYMBOLS = frozenset(
    {
        "fork",
        "vfork",
        "clone",
        "clone3",
        "execve",
        "execv",
        "execvp",
        "execvpe",
        "execl",
        "execlp",
        "system",
        "__libc_system",
        "popen",
        "posix_spawn",
        "posix_spawnp",
        "kill",
        "syscall",
        "connect",
        "unshare",
        "setns",
        "ptrace",
    }
)
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
WRITABLE_DEVICES = frozenset({"/dev/null"})
CPU_EXIT_CODE = 128 + signal.SIGXCPU
"""Exit code of a run stopped at its CPU limit (PID 1 of a namespace ignores SIGXCPU)."""


def boot(argv: list[str]) -> None:
    """Apply limits, install the audit hook, then run the user's script as ``__main__``.

    ``argv`` is the JSON configuration written by ``SubprocessSandbox`` and the script's
    arguments."""
    import runpy

    config = json.loads(argv[0])
    _join_cgroup(config.get("cgroup_procs"))
    _apply_rlimits(config["limits"], config.get("nproc"))
    workdir, script = config["workdir"], config["script"]
    sys.dont_write_bytecode = True
    install(workdir, config.get("socket"))
    sys.argv = [script, *argv[1:]]
    sys.path[0] = workdir
    runpy.run_path(script, run_name="__main__")


def _join_cgroup(procs_file: str | None) -> None:
    if procs_file:
        with contextlib.suppress(OSError), open(procs_file, "w") as handle:
            handle.write("0")  # 0 = the writing task itself


def _apply_rlimits(limits: dict[str, float], nproc: int | None) -> None:
    import resource

    cpu = max(1, int(limits["cpu_s"] + 0.999))
    memory = int(limits["memory_mb"]) * 1024 * 1024
    file_size = int(limits["file_mb"]) * 1024 * 1024
    settings = [
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (memory, memory)),
        (resource.RLIMIT_FSIZE, (file_size, file_size)),
        (resource.RLIMIT_CORE, (0, 0)),
    ]
    if nproc is not None:
        settings.append((resource.RLIMIT_NPROC, (nproc, nproc)))
    for which, value in settings:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(which, value)
    # As PID 1 of a PID namespace the default SIGXCPU action is ignored; end the run instead.
    signal.signal(signal.SIGXCPU, _on_cpu_limit)


def _on_cpu_limit(signum: int, frame: object) -> None:
    os.write(2, b"\nsandbox: CPU time limit exceeded\n")
    os._exit(CPU_EXIT_CODE)


def install(workdir: str, model_socket: str | None) -> None:
    """Install the hook for this interpreter (audit hooks cannot be removed)."""
    hook = make_hook(workdir, model_socket)
    _disable_fork_exec()
    sys.addaudithook(hook)


def make_hook(workdir: str, model_socket: str | None) -> Callable[[str, tuple[Any, ...]], None]:
    """The hook function; it keeps its own references so later monkeypatching cannot blind it."""
    realpath, join, getcwd = os.path.realpath, os.path.join, os.getcwd
    fspath, fsdecode = os.fspath, os.fsdecode
    root = realpath(workdir)
    socket_address = realpath(model_socket) if model_socket else None
    own_pid, own_pgid = os.getpid(), os.getpgid(0)
    own_proc = _own_proc_dir()
    watched = BLOCKED_EVENTS | PATH_EVENTS.keys() | SOCKET_EVENTS | SIGNAL_EVENTS
    watched |= {"open", "ctypes.dlsym", "import"}

    def resolve(path: Any) -> str | None:
        if isinstance(path, int) or path is None:
            return None  # an already-open descriptor: it was checked when opened
        text = fsdecode(fspath(path))
        return realpath(join(getcwd(), text))

    def inside(path: Any) -> bool:
        resolved = resolve(path)
        if resolved is None:
            return True
        under_root = resolved == root or resolved.startswith(root + os.sep)
        return under_root or resolved in WRITABLE_DEVICES

    def deny(what: str) -> None:
        raise PermissionError(f"sandbox: {what} is not allowed")

    def check_open(args: tuple[Any, ...]) -> None:
        path, mode, flags = (tuple(args) + (None, None))[:3]
        resolved = resolve(path)
        if resolved is None:
            return
        if resolved.startswith("/proc/") and not _own_proc_path(resolved, own_proc):
            deny(f"reading another process's {resolved}")
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & WRITE_FLAGS
        )
        if writing and not inside(path):
            deny(f"writing {resolved} (outside the working directory)")

    def check_socket(args: tuple[Any, ...]) -> None:
        address = args[1] if len(args) > 1 else None
        if isinstance(address, str | bytes) and socket_address:
            text = fsdecode(address)
            abstract = not text or text.startswith("\0")  # abstract names bypass the fs
            if not abstract and realpath(join(getcwd(), text)) == socket_address:
                return
        deny(f"network access to {address!r} (only the model socket is reachable)")

    def check_signal(event: str, args: tuple[Any, ...]) -> None:
        target = args[0] if args else None
        if event == "os.kill" and target in (0, own_pid):
            return
        if event == "os.killpg" and target == own_pgid:
            return
        deny(f"signalling process {target}")

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event not in watched:
            return
        if event == "open":
            check_open(args)
        elif event in BLOCKED_EVENTS:
            deny(f"{event} (no subprocesses, forks or exec in the sandbox)")
        elif event in PATH_EVENTS:
            for index in PATH_EVENTS[event]:
                if index < len(args) and not inside(args[index]):
                    deny(f"{event} on {resolve(args[index])} (outside the working directory)")
        elif event in SOCKET_EVENTS:
            check_socket(args)
        elif event in SIGNAL_EVENTS:
            check_signal(event, args)
        elif event == "ctypes.dlsym" and len(args) > 1 and args[1] in DENIED_C_SYMBOLS:
            deny(f"calling C function {args[1]!r} through ctypes")
        elif event == "import" and args and args[0] == "_posixsubprocess":
            deny("re-importing _posixsubprocess")

    return hook


def _own_proc_dir() -> str:
    try:
        return "/proc/" + os.readlink("/proc/self")
    except OSError:
        return "/proc/self"


def _own_proc_path(resolved: str, own_proc: str) -> bool:
    """Whether a ``/proc`` path is global (``/proc/cpuinfo``) or this process's own."""
    parts = resolved.split("/")
    if len(parts) < 3 or not parts[2].isdigit():
        return True
    return resolved == own_proc or resolved.startswith(own_proc + "/")


def _disable_fork_exec() -> None:
    """``_posixsubprocess.fork_exec`` has no audit event (multiprocessing calls it directly)."""
    import _posixsubprocess  # type: ignore[import-not-found]

    def refused(*args: object, **kwargs: object) -> None:
        raise PermissionError("sandbox: starting processes is not allowed")

    _posixsubprocess.fork_exec = refused
