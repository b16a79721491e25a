"""The bubblewrap (``bwrap``) boundary of the sandbox: the command line that runs one
program in new user, PID, IPC, network, UTS (and, where possible, cgroup) namespaces, as
uid/gid 65534 without capabilities, on a filesystem built from nothing but:

- the read-only runtime: the Python installation (``sys.base_prefix``, the venv at
  ``sys.prefix``), its site-packages, the ``agentrxiv`` package directory, directories
  named by ``.pth`` files, and the shared libraries (``/usr/lib*``, ``/usr/share``, the
  ``/lib*`` links) plus the few ``/etc`` files the dynamic loader reads;
- the read-only data files the program may read, at their own absolute paths;
- the writable working directory, at its own absolute path;
- the model gateway's Unix socket (when it lies outside the working directory);
- a fresh ``/proc`` for the new PID namespace, a minimal ``/dev``, a small tmpfs ``/tmp``.

Nothing else exists inside: no ``$HOME``, no ``$AGENTRXIV_HOME``, no archive database, no
other labs' directories, no host ``/proc`` or ``/sys``, no shell (``/usr/bin`` is not
mounted unless the Python installation itself lives in ``/usr``). The environment is
cleared and rebuilt from the sandbox's allow-list. ``--die-with-parent`` and the PID
namespace take every process of the program down with it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

SANDBOX_UID = 65534
"""The user and group id inside the boundary (``nobody``/``nogroup``)."""

INSTALL_HINT = (
    "install bubblewrap (apt-get install bubblewrap) and allow user namespaces "
    "(sysctl -w kernel.unprivileged_userns_clone=1 and user.max_user_namespaces=10000), "
    "or pass --unsafe-sandbox (config unsafe_sandbox: true) to run with the audit hook alone"
)
_ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime")
_USR_SKIP = frozenset({"bin", "sbin", "games", "local", "src", "include"})
_TOP_LIBS = ("lib", "lib32", "lib64", "libx32")
_PASSWD = f"nobody:x:{SANDBOX_UID}:{SANDBOX_UID}:nobody:/nonexistent:/usr/sbin/nologin\n"
_GROUP = f"nogroup:x:{SANDBOX_UID}:\n"


def find_bwrap() -> str | None:
    """The ``bwrap`` executable (``AGENTRXIV_BWRAP`` may name one), or None."""
    named = os.environ.get("AGENTRXIV_BWRAP")
    if named:
        return named if os.access(named, os.X_OK) else None
    return shutil.which("bwrap")


def _covered(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _pth_dirs(site_dirs: Iterable[str]) -> list[str]:
    """Absolute directories listed in ``.pth`` files (e.g. editable installs)."""
    found = []
    for directory in site_dirs:
        for pth in sorted(Path(directory).glob("*.pth")):
            try:
                lines = pth.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                continue
            found += [
                ln.strip() for ln in lines if ln.startswith("/") and Path(ln.strip()).is_dir()
            ]
    return found


def _forbidden_roots() -> list[Path]:
    """Directories whose ancestors must never be mounted: home and the data directory."""
    roots = [Path.home()]
    if os.environ.get("AGENTRXIV_HOME"):
        roots.append(Path(os.environ["AGENTRXIV_HOME"]).expanduser())
    return [root.resolve() for root in roots]


@functools.cache
def runtime_paths() -> tuple[str, ...]:
    """The read-only runtime directories, outermost only, sorted."""
    import agentrxiv

    site_dirs = [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    candidates = [
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        *sysconfig.get_paths().values(),
        *site_dirs,
        *_pth_dirs(site_dirs),
        str(Path(agentrxiv.__file__).resolve().parent),
        str(Path(sys.executable).resolve().parent),
    ]
    forbidden = _forbidden_roots()
    paths: list[Path] = []
    for raw in candidates:
        path = Path(raw).resolve()
        if not path.is_dir() or any(_covered(root, [path]) for root in forbidden):
            continue  # never mount a directory that holds $HOME or $AGENTRXIV_HOME
        paths.append(path)
    outermost = [p for p in paths if not _covered(p, [q for q in paths if q != p])]
    return tuple(sorted({str(p) for p in outermost}))


def _system_mounts() -> list[str]:
    """Shared libraries and loader files, read-only; ``/usr/bin`` and friends are left out."""
    args: list[str] = []
    usr = Path("/usr")
    if usr.is_dir():
        for entry in sorted(usr.iterdir()):
            if entry.name not in _USR_SKIP and entry.is_dir() and not entry.is_symlink():
                args += ["--ro-bind", str(entry), str(entry)]
    for name in _TOP_LIBS:
        top = Path("/") / name
        if top.is_symlink():
            args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    for name in _ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def _data_fd(text: str) -> int:
    """A pipe's read end holding ``text`` (bwrap copies it into a read-only file)."""
    read_end, write_end = os.pipe()
    os.write(write_end, text.encode())
    os.close(write_end)
    return read_end


def bwrap_argv(
    bwrap: str,
    workdir: Path,
    env: dict[str, str],
    *,
    data_files: Sequence[Path] = (),
    extra_binds: Sequence[Path] = (),
    tmp_mb: int = 64,
) -> tuple[list[str], list[int]]:
    """The ``bwrap ... --`` prefix for a run in ``workdir`` and the fds it must inherit."""
    fds = [_data_fd(_PASSWD), _data_fd(_GROUP)]
    args = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns"]
    args += ["--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--cap-drop", "ALL"]
    # --as-pid-1: the program is PID 1 of its namespace (no bwrap reaper in between), so
    # its CPU time reaches the parent's wait4() and its exit status is its own.
    args += ["--hostname", "sandbox", "--die-with-parent", "--new-session", "--as-pid-1"]
    args += _system_mounts()
    args += ["--ro-bind-data", str(fds[0]), "/etc/passwd"]
    args += ["--ro-bind-data", str(fds[1]), "/etc/group"]
    for path in runtime_paths():
        args += ["--ro-bind", path, path]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--size", str(tmp_mb * 1024 * 1024), "--tmpfs", "/tmp"]
    for path in data_files:
        args += ["--ro-bind", str(path), str(path)]
    args += ["--bind", str(workdir), str(workdir)]
    for path in extra_binds:
        args += ["--bind", str(path), str(path)]
    args += ["--chdir", str(workdir), "--clearenv"]
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    return [*args, "--"], fds


def close_fds(fds: Iterable[int]) -> None:
    """Close the parent's copies of the fds handed to bwrap."""
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


@functools.cache
def probe() -> str | None:
    """None when bwrap runs a Python program here, else one line on what is missing."""
    bwrap = find_bwrap()
    if bwrap is None:
        return "no bubblewrap (bwrap) on PATH"
    with tempfile.TemporaryDirectory(prefix="arx-probe-") as tmp:
        workdir = Path(tmp).resolve()
        argv, fds = bwrap_argv(bwrap, workdir, {"PATH": os.defpath})
        code = f"import os; assert os.getuid() == {SANDBOX_UID}; print('ok')"
        try:
            run = subprocess.run(
                [*argv, sys.executable, "-I", "-c", code],
                capture_output=True,
                text=True,
                timeout=30,
                pass_fds=fds,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return f"bwrap could not start: {exc}"
        finally:
            close_fds(fds)
    if run.returncode != 0 or run.stdout.strip() != "ok":
        detail = (run.stderr.strip().splitlines() or [f"exit code {run.returncode}"])[-1]
        return f"bwrap cannot create the sandbox here ({detail[:200]})"
    return None
