"""The sandbox: the project's security boundary for generated code.

Everything an LLM writes (experiment programs, a paper's technique under verification) runs
here, never in the caller's process: bubblewrap namespaces around a process with CPU, memory,
file, task, wall-clock and output limits and an audit hook (or, only when asked for, the
unsafe fallback modes), the target model reachable only through the model gateway's Unix
socket, and the in-sandbox experiment API. The threat model is docs/sandbox.md.

The lab and verification use it through the names below. It imports nothing above it
(no lab, verify, campaign or cli). ``ModelGateway`` is loaded on first use, because
programs inside the sandbox import ``agentrxiv.sandbox.experiment_api`` (and so this
package) and need neither uvicorn nor FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentrxiv.sandbox.files import read_regular_file, write_new_file
from agentrxiv.sandbox.limits import SandboxConfig, SandboxLimits, SandboxResult
from agentrxiv.sandbox.modes import (
    BOUNDARY,
    UNSAFE_WARNING,
    SandboxUnavailableError,
    boundary_problem,
    boundary_status,
    require_boundary,
    sandbox_note,
)
from agentrxiv.sandbox.runner import ExperimentResult, ProgramRun, SandboxRunner, read_result
from agentrxiv.sandbox.standalone import FileRun, run_file
from agentrxiv.sandbox.subprocess_sandbox import SubprocessSandbox

if TYPE_CHECKING:
    from agentrxiv.sandbox.gateway import ModelGateway

__all__ = [
    "BOUNDARY",
    "UNSAFE_WARNING",
    "ExperimentResult",
    "FileRun",
    "ModelGateway",
    "ProgramRun",
    "SandboxConfig",
    "SandboxLimits",
    "SandboxResult",
    "SandboxRunner",
    "SandboxUnavailableError",
    "SubprocessSandbox",
    "boundary_problem",
    "boundary_status",
    "read_regular_file",
    "read_result",
    "require_boundary",
    "run_file",
    "sandbox_note",
    "write_new_file",
]


def __getattr__(name: str) -> Any:
    """Load ``ModelGateway`` on first use (see the module docstring)."""
    if name == "ModelGateway":
        from agentrxiv.sandbox.gateway import ModelGateway

        return ModelGateway
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
