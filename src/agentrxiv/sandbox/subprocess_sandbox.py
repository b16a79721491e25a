"""The sandbox that runs LLM-generated Python: one child process per run, in its own working
directory, with CPU, memory, file-size, process and wall-clock limits, capped output, an
environment rebuilt from an allow-list, and no way out but the model socket.

Layers (each one catches what the others miss):

1. The boundary, by default: bubblewrap (``bwrap``). New PID, IPC, network
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
4. A Python audit hook (``child``) installed before user code runs, in every mode:
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
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from agentrxiv.errors import ConfigError
from agentrxiv.sandbox import bwrap, process
from agentrxiv.sandbox.files import (
    PROGRAM_NAME,
    changed_files,
    remove_outside_links,
    snapshot_files,
    write_new_file,
)
from agentrxiv.sandbox.limits import SandboxLimits, SandboxResult
from agentrxiv.sandbox.modes import (
    BOUNDARY,
    namespace_prefix,
    namespaces_wanted,
    require_boundary,
    warn_unsafe_once,
)
from agentrxiv.sandbox.process import PidsCgroup

PASSED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")
"""The only variables copied from the parent's environment; everything else is rebuilt."""

# First drops root privileges where the lab runs as root (argv[1]; see bwrap.DROP_PRIVILEGES),
# then loads child.py by path (not ``import agentrxiv.sandbox``, so that nothing but the
# standard library runs before the limits and the audit hook) and hands control to ``boot``.
_LAUNCHER = bwrap.DROP_PRIVILEGES + (
    "import importlib.util as u\n"
    "s = u.spec_from_file_location('_agentrxiv_sandbox_child', sys.argv[2])\n"
    "m = u.module_from_spec(s); sys.modules[s.name] = m; s.loader.exec_module(m)\n"
    "m.boot(sys.argv[3:])\n"
)
_CHILD_FILE = Path(__file__).with_name("child.py")


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
        warn_unsafe_once()
        use_namespaces = namespaces_wanted() if namespaces is None else namespaces
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
        cgroup = process.PidsCgroup.create(self.limits.max_processes + launcher_tasks)
        config = self._boot_config(script, cgroup)
        command = [sys.executable, "-c", _LAUNCHER, bwrap.drop_arg(self.drop, self.workdir)]
        command += [str(_CHILD_FILE), json.dumps(config)]
        env = self._child_env(env_extra)
        prefix, fds = self._command_prefix(env, _env_data_file(env))
        try:
            if self.drop:
                self._hand_over()
            run = process.run_group(
                [*prefix, *command, *map(str, args)], self.workdir, env, self.limits, cgroup, fds
            )
        finally:
            bwrap.close_fds(fds)
            if cgroup:
                cgroup.destroy()
        if not self.unsafe:
            process.decode_bwrap_status(run)
        return SandboxResult(
            exit_code=run.exit_code,
            stdout=run.stdout,
            stderr=run.stderr,
            timed_out=run.timed_out,
            killed_by=process.killed_by(run, self.limits),
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
            "nproc": process.nproc_limit(self.limits.max_processes, self.drop, cgroup is not None),
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


def _socket_address(socket_path: Path, workdir: Path) -> str:
    """A relative path when the socket is in the workdir: Unix paths are capped at 107 bytes."""
    with contextlib.suppress(ValueError):
        return str(socket_path.relative_to(workdir))
    return str(socket_path)
