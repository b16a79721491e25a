"""The bubblewrap (``bwrap``) boundary of the sandbox: the command line that runs one
program in new PID, IPC, network, UTS (and, where possible, cgroup) namespaces, as uid/gid
65534 without capabilities, on a filesystem built from nothing but:

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

Two modes, chosen by the lab's effective uid:

- not root: a new user namespace too (``--unshare-user --uid 65534``, ``--disable-userns``);
  the kernel maps 65534 inside to the lab's own (unprivileged) uid outside.
- root (``privileged()``): no user namespace (it would map 65534 inside to root outside).
  bwrap, as root, builds the same mount, PID, network, IPC and UTS namespaces, keeps only
  ``CAP_SETUID``, ``CAP_SETGID`` and ``CAP_SETPCAP`` for the final exec, sets
  ``no_new_privs`` and a seccomp filter that refuses new user namespaces; the first lines
  the interpreter runs (``DROP_PRIVILEGES``, before any import from the working directory
  and before user code) empty the capability bounding set, switch every uid and gid to
  65534 for good, clear every capability set, and stop unless ``setuid(0)`` fails and
  ``/proc/self/status`` shows it all. The working directory tree is handed to 65534
  (``hand_over``) before each run, so the program's files belong to 65534 on the host too.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import site
import stat
import struct
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


# The interpreter's first code in the sandbox (``python -c`` with argv[1] "UID:WORKDIR", or
# "-"): only ``os`` and ``sys`` (already loaded by then), nothing looked up on sys.path.
# Root without capabilities cannot enter 65534's working directory, so bwrap leaves the
# program in "/" and it changes directory itself, once it is 65534.
DROP_PRIVILEGES = """\
import os, sys
if sys.argv[1] != '-':
    _i, _d = sys.argv[1].split(':', 1)
    _i = int(_i)
    os.chdir('/')  # so that '' on sys.path is not the working directory for this import
    import ctypes
    _c = ctypes.CDLL(None, use_errno=True)
    with open('/proc/sys/kernel/cap_last_cap') as _f:
        for _n in range(int(_f.read()) + 1):  # empty the bounding set (CAP_SETPCAP)
            if _c.prctl(24, _n, 0, 0, 0) != 0:
                raise SystemExit('sandbox: could not empty the capability bounding set')
    os.setgroups([])
    os.setresgid(_i, _i, _i)
    os.setresuid(_i, _i, _i)  # all ids non-zero: the kernel clears the permitted set
    _h, _z = (ctypes.c_uint32 * 2)(0x20080522, 0), (ctypes.c_uint32 * 6)()
    if _c.capset(_h, _z) != 0:  # the inheritable set too
        raise SystemExit('sandbox: could not clear the capability sets')
    try:
        os.setuid(0)
    except PermissionError:
        pass
    else:
        raise SystemExit('sandbox: root privileges came back after the drop')
    with open('/proc/self/status') as _f:
        _s = dict(ln.split(':', 1) for ln in _f.read().splitlines() if ':' in ln)
    _caps = ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb')
    if (_s['Uid'].split() != [str(_i)] * 4 or _s['Gid'].split() != [str(_i)] * 4
            or _s['Groups'].split() or any(int(_s[k], 16) for k in _caps)
            or _s['NoNewPrivs'].strip() != '1'):
        raise SystemExit('sandbox: could not drop root privileges')
    os.chdir(_d)
    os.environ['PWD'] = _d
    del _i, _d, _c, _f, _n, _h, _z, _s, _caps, ctypes
"""

_SECCOMP_ARCH = {  # machine -> (AUDIT_ARCH, unshare, clone, clone3)
    "x86_64": (0xC000003E, 272, 56, 435),
    "aarch64": (0xC00000B7, 97, 220, 435),
}
_CLONE_NEWUSER = 0x10000000


def privileged() -> bool:
    """Whether the lab runs as root: bwrap then runs without a user namespace and the
    program drops to uid 65534 itself (see the module docstring)."""
    return os.geteuid() == 0


def drop_arg(drop: bool, workdir: Path) -> str:
    """``argv[1]`` for ``DROP_PRIVILEGES``: the uid to switch to and the directory to
    enter as that uid, or "-" to stay as started."""
    return f"{SANDBOX_UID}:{workdir}" if drop else "-"


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
def bundled_data_dir() -> Path:
    """The package's bundled benchmark data (hidden inside the sandbox)."""
    import agentrxiv

    return Path(agentrxiv.__file__).resolve().parent / "bench" / "data"


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


def userns_filter() -> bytes | None:
    """A classic-BPF seccomp program refusing ``unshare``/``clone`` with CLONE_NEWUSER
    (EPERM) and ``clone3`` (ENOSYS, so libc falls back to ``clone``); other ABIs are killed.
    None on machines it does not know."""
    import platform

    known = _SECCOMP_ARCH.get(platform.machine())
    if known is None:
        return None
    arch, unshare, clone, clone3 = known
    ld_w_abs, jeq_k, jge_k, jset_k, ret_k = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, kill, eperm, enosys = 0x7FFF0000, 0x80000000, 0x00050001, 0x00050026
    program = [
        (ld_w_abs, 0, 0, 4),  # seccomp_data.arch
        (jeq_k, 1, 0, arch),
        (ret_k, 0, 0, kill),
        (ld_w_abs, 0, 0, 0),  # seccomp_data.nr
        (jge_k, 0, 1, 0x40000000),  # x32 system calls
        (ret_k, 0, 0, kill),
        (jeq_k, 0, 1, clone3),
        (ret_k, 0, 0, enosys),
        (jeq_k, 2, 0, unshare),
        (jeq_k, 1, 0, clone),
        (ret_k, 0, 0, allow),
        (ld_w_abs, 0, 0, 16),  # low half of args[0]: the flags of unshare and clone
        (jset_k, 0, 1, _CLONE_NEWUSER),
        (ret_k, 0, 0, eperm),
        (ret_k, 0, 0, allow),
    ]
    return b"".join(struct.pack("=HBBI", *insn) for insn in program)


def hand_over(workdir: Path, uid: int = SANDBOX_UID, extra: Iterable[Path] = ()) -> None:
    """Give ``workdir``'s tree (and ``extra`` paths) to ``uid``; links are never followed.

    Run only while no program of the sandbox is alive, after ``remove_outside_links``
    (a hard link to an outside file would hand that file over too)."""
    for dirpath, dirnames, filenames in os.walk(workdir):
        for name in (*dirnames, *filenames):
            os.lchown(os.path.join(dirpath, name), uid, uid)
    for path in (workdir, *extra):
        os.lchown(path, uid, uid)


_TWO_ARG_MOUNTS = frozenset({"--bind", "--ro-bind", "--ro-bind-try", "--ro-bind-data", "--symlink"})
_ONE_ARG_MOUNTS = frozenset({"--proc", "--dev", "--tmpfs", "--dir"})
_SUBTREE_MOUNTS = frozenset({"--bind", "--ro-bind", "--ro-bind-try", "--proc", "--dev"})


def _created_dirs(args: Sequence[str]) -> list[str]:
    """Parents of the mount points in ``args`` that bwrap creates on its tmpfs root (mode
    0700 there, which uid 65534 could not pass through), outermost first."""
    destinations: set[Path] = set()
    covering: list[Path] = []
    for index, arg in enumerate(args):
        if arg in _TWO_ARG_MOUNTS or arg in _ONE_ARG_MOUNTS:
            dest = Path(args[index + (2 if arg in _TWO_ARG_MOUNTS else 1)])
            destinations.add(dest)
            if arg in _SUBTREE_MOUNTS:
                covering.append(dest)
    parents = {
        parent
        for dest in destinations
        for parent in dest.parents
        if parent != Path("/") and parent not in destinations and not _covered(parent, covering)
    }
    return sorted(map(str, parents), key=lambda path: (path.count("/"), path))


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
    drop: bool | None = None,
) -> tuple[list[str], list[int]]:
    """The ``bwrap ... --`` prefix for a run in ``workdir`` and the fds it must inherit.

    ``drop`` (default: ``privileged()``) selects the root mode: the command after ``--``
    must then start with ``DROP_PRIVILEGES`` (``python -c`` with ``drop_arg(True)``)."""
    drop = privileged() if drop is None else drop
    fds = [_data_fd(_PASSWD), _data_fd(_GROUP)]
    args = [bwrap, *(_root_mode_args(fds) if drop else _user_mode_args())]
    # --as-pid-1: the program is PID 1 of its namespace (no bwrap reaper in between), so
    # its CPU time reaches the parent's wait4() and its exit status is its own.
    args += ["--hostname", "sandbox", "--die-with-parent", "--new-session", "--as-pid-1"]
    args += _system_mounts()
    # /proc, /dev and /tmp first: a runtime, data file or working directory that lies under
    # /tmp (a checkout in /tmp, pytest's tmp_path) is then mounted on top of the fresh /tmp
    # instead of being hidden by it.
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "01777", "--size", str(tmp_mb * 1024 * 1024), "--tmpfs", "/tmp"]
    args += ["--perms", "0444", "--ro-bind-data", str(fds[0]), "/etc/passwd"]
    args += ["--perms", "0444", "--ro-bind-data", str(fds[1]), "/etc/group"]
    for path in runtime_paths():
        args += ["--ro-bind", path, path]
    # The package ships benchmark files (the MATH-500 sample) whose test split a lab must
    # never see: an empty read-only directory hides them.
    args += ["--perms", "0555", "--tmpfs", str(bundled_data_dir())]
    for path in data_files:
        args += _data_mount(path, fds) if drop else ["--ro-bind", str(path), str(path)]
    args += ["--bind", str(workdir), str(workdir)]
    for path in extra_binds:
        args += ["--bind", str(path), str(path)]
    if drop:  # bwrap makes parents of mount points 0700 (root's): let 65534 through
        for parent in _created_dirs(args):
            args += ["--chmod", "0755", parent]
        args += ["--clearenv"]  # no --chdir: DROP_PRIVILEGES enters the workdir as 65534
    else:
        args += ["--chdir", str(workdir), "--clearenv"]
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    return [*args, "--"], fds


def _user_mode_args() -> list[str]:
    """Not root: a user namespace maps 65534 inside to the lab's own uid outside."""
    args = ["--unshare-all", "--unshare-user", "--disable-userns"]
    return args + ["--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--cap-drop", "ALL"]


def _root_mode_args(fds: list[int]) -> list[str]:
    """Root: no user namespace; the program keeps only what it needs to drop to 65534."""
    args = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
    args += ["--unshare-cgroup-try", "--cap-drop", "ALL"]
    args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    program = userns_filter()
    if program is not None:
        read_end, write_end = os.pipe()
        os.write(write_end, program)
        os.close(write_end)
        fds.append(read_end)
        args += ["--seccomp", str(read_end)]
    return args


def _data_mount(path: Path, fds: list[int]) -> list[str]:
    """A data file for uid 65534: bound read-only when others may read it, else a
    read-only copy made by bwrap from a descriptor the lab opened."""
    info = path.stat()
    if stat.S_ISDIR(info.st_mode) or info.st_mode & stat.S_IROTH:
        return ["--ro-bind", str(path), str(path)]
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    os.set_inheritable(fd, True)
    fds.append(fd)
    return ["--perms", "0444", "--ro-bind-data", str(fd), str(path)]


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
    drop = privileged()
    with tempfile.TemporaryDirectory(prefix="arx-probe-") as tmp:
        workdir = Path(tmp).resolve()
        if drop:
            hand_over(workdir)
        argv, fds = bwrap_argv(bwrap, workdir, {"PATH": os.defpath}, drop=drop)
        code = DROP_PRIVILEGES + (
            f"assert os.getresuid() == ({SANDBOX_UID},) * 3\n"
            f"assert os.getcwd() == {str(workdir)!r}\nprint('ok')"
        )
        try:
            run = subprocess.run(
                [*argv, sys.executable, "-I", "-c", code, drop_arg(drop, workdir)],
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
