"""The limits of sandboxed runs and what a run reports back: ``SandboxConfig`` (the lab
config's ``sandbox:`` block, also used by verification), ``SandboxLimits`` (one run's
limits, as the child applies them) and ``SandboxResult``."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field


class SandboxConfig(BaseModel):
    """Limits for each run of generated code (the lab config's ``sandbox:`` block)."""

    model_config = ConfigDict(extra="forbid")

    wall_s: float = Field(default=600, gt=0)
    cpu_s: int = Field(default=1200, gt=0)
    memory_mb: int = Field(default=4096, ge=256)
    output_bytes: int = Field(default=200_000, ge=1_000)

    def limits(self) -> SandboxLimits:
        """The per-run limits these settings give (process and file caps at their defaults)."""
        return SandboxLimits(
            cpu_s=self.cpu_s,
            memory_mb=self.memory_mb,
            wall_s=self.wall_s,
            output_bytes=self.output_bytes,
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
