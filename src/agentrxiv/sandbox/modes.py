"""The two ways the sandbox can run a program: behind the bubblewrap boundary (the default,
``BOUNDARY``), or, only when asked for (``unsafe=True``), with the audit hook and the limits
alone, inside ``unshare`` network + PID namespaces where they can be created."""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess

from agentrxiv.errors import ConfigError
from agentrxiv.sandbox import bwrap

logger = logging.getLogger(__name__)

BOUNDARY = "bwrap+audit-hook"
UNSAFE_WARNING = (
    "UNSAFE SANDBOX: generated code runs WITHOUT the bubblewrap boundary (audit hook and "
    "namespaces only); it can read the files of the user running the lab"
)


class SandboxUnavailableError(ConfigError):
    """No OS-level boundary can be created here, and unsafe mode was not asked for."""


def boundary_problem() -> str | None:
    """Why the bwrap boundary cannot be created here, or None when it can (probed once)."""
    return bwrap.probe()


def boundary_status() -> tuple[str, str | None]:
    """The boundary generated code gets here and, if none, one line on what to do."""
    problem = boundary_problem()
    if problem is None:
        return BOUNDARY, None
    return "none", f"{problem}: {bwrap.INSTALL_HINT}"


@functools.cache
def warn_unsafe_once() -> None:
    logger.warning("sandbox: %s", UNSAFE_WARNING)


def sandbox_note(unsafe: bool) -> tuple[str, str | None]:
    """What a lab records about its sandbox: the mode, and the warning when unsafe."""
    if unsafe:
        return "unsafe (audit hook only)", UNSAFE_WARNING
    return BOUNDARY, None


def require_boundary() -> None:
    """Raise ``SandboxUnavailableError`` unless the bwrap boundary works here."""
    problem = boundary_problem()
    if problem is not None:
        raise SandboxUnavailableError(
            f"refusing to run generated code without a sandbox boundary: {problem}",
            hint=bwrap.INSTALL_HINT,
        )


def namespaces_wanted() -> bool:
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
