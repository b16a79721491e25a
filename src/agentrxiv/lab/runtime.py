"""What every phase works with: the config, the state, models, the ledger, the archive client,
the experiment runner and the progress view, bundled in ``LabRuntime``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from agentrxiv.errors import AgentrxivError
from agentrxiv.lab.agents import Agent
from agentrxiv.lab.checkpoint import LabState, save_state
from agentrxiv.lab.clock import PhaseClock
from agentrxiv.lab.config import LabConfig, PhaseName
from agentrxiv.lab.memory import Memory
from agentrxiv.llm.base import ChatModel
from agentrxiv.llm.ledger import Ledger

if TYPE_CHECKING:
    from agentrxiv.sandbox import ProgramRun

log = logging.getLogger(__name__)
REDO_TEMPERATURE = 0.7
ModelFactory = Callable[[str], ChatModel]


class Progress(Protocol):
    """What phases report to the progress view."""

    def update(self, phase: str | None = None, step: str | None = None) -> None:
        """Show the current phase and step."""


class NullProgress:
    """A progress view that shows nothing (tests, quiet runs)."""

    def update(self, phase: str | None = None, step: str | None = None) -> None:
        """Ignore the update."""


class ExperimentRunner(Protocol):
    """Runs generated programs (data preparation, experiments) in the sandbox."""

    def run(self, code: str, name: str, *, with_model: bool = True) -> ProgramRun:
        """Run ``code`` in a fresh working directory called ``name``."""


@dataclass
class LabRuntime:
    """The shared context of one lab run."""

    config: LabConfig
    state: LabState
    lab_dir: Path
    ledger: Ledger
    model_factory: ModelFactory
    runner: ExperimentRunner
    archive: Any = None  # ArchiveClient | None: no archive means no literature/publish
    archive_url: str = ""
    progress: Progress = field(default_factory=NullProgress)
    _models: dict[str, ChatModel] = field(default_factory=dict)
    agents_used: list[Agent] = field(default_factory=list)
    clock: PhaseClock | None = None
    sources: dict[str, Any] = field(default_factory=dict)  # literature sources, built on use

    def model(self, phase: PhaseName) -> ChatModel:
        """The (cached) model agents use in ``phase``."""
        spec = self.config.model_for(phase)
        if spec not in self._models:
            self._models[spec] = self.model_factory(spec)
        return self._models[spec]

    def agent(self, role: str, phase: PhaseName, persona: str | None = None) -> Agent:
        """A fresh agent of ``role`` for ``phase`` with a bounded memory."""
        agent = Agent(
            role=role,
            model=self.model(phase),
            lab_name=self.config.lab_name,
            common={
                "topic": self.config.topic,
                "lab_name": self.config.lab_name,
                "language": self.config.language,
            },
            retries=self.config.structured_retries,
            max_tokens=self.config.max_tokens,
            temperature=self.config.temperature,
            memory=Memory(max_turns=self.config.memory_turns, max_chars=self.config.memory_chars),
            persona=persona,
        )
        redos = self.state.redos.get(phase, 0)
        if redos:  # a co-pilot redo: a fresh, seeded sample instead of the cached reply
            agent.seed = redos
            agent.temperature = max(agent.temperature, REDO_TEMPERATURE)
        self.agents_used.append(agent)
        return agent

    def notes(self, phase: PhaseName) -> list[str]:
        """Task notes for ``phase``: the config's plus the co-pilot's."""
        return self.config.notes_for(phase) + self.state.copilot_notes.get(phase, [])

    def checkpoint(self) -> None:
        """Save the state now (with the running phase's seconds counted up to now)."""
        if self.clock is not None:
            self.clock.account(self.state)
        self.state.clock_seq += 1
        save_state(self.lab_dir, self.state)

    def tag(self, phase: str, who: str) -> str:
        """The ledger tag of a caller in this lab."""
        return f"lab/{self.config.lab_name}/{phase}/{who}"


class LabPhaseError(AgentrxivError):
    """A phase could not produce its artifact (the run stops; ``--resume`` can retry it)."""
