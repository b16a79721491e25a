"""Co-pilot mode: after each phase the human sees the artifact and approves, adds notes (the
phase reruns with them) or asks for a redo; answers can come from a file for scripted runs."""

from __future__ import annotations

import logging
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import yaml
from rich.console import Console
from rich.panel import Panel
from rich.prompt import Prompt

from agentrxiv.errors import ConfigError

log = logging.getLogger(__name__)
ARTIFACT_CHARS = 4_000


@dataclass(frozen=True)
class CopilotAnswer:
    """What the human decided about a phase."""

    action: str  # approve / redo / notes
    notes: str = ""


def parse_answer(text: str) -> CopilotAnswer:
    """``approve``/``a``/empty, ``redo``/``r``, or ``notes: ...`` (anything else is a note)."""
    raw = text.strip()
    low = raw.lower()
    if low in ("", "a", "approve", "y", "yes", "ok"):
        return CopilotAnswer("approve")
    if low in ("r", "redo"):
        return CopilotAnswer("redo")
    if low.startswith(("notes:", "note:", "n:")):
        raw = raw.split(":", 1)[1].strip()
    if not raw:
        raise ConfigError("co-pilot notes are empty")
    return CopilotAnswer("notes", raw)


def load_answers(path: Path) -> list[str]:
    """Answers file: a YAML list of strings (one per phase shown, in order)."""
    if not path.is_file():
        raise ConfigError(f"co-pilot answers file not found: {path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(data, list) or not all(isinstance(a, str) for a in data):
        raise ConfigError(f"{path}: expected a YAML list of answers (approve / redo / notes: ...)")
    return data


class Copilot:
    """Shows artifacts and collects answers (from a file, else the terminal, else approve)."""

    def __init__(self, enabled: bool, answers: list[str] | None, console: Console) -> None:
        self.enabled = enabled
        self.answers = deque(answers or [])
        self.from_file = answers is not None
        self.console = console
        self.log: list[tuple[str, CopilotAnswer]] = []

    def ask(self, phase: str, artifact: str) -> CopilotAnswer:
        """Show ``artifact`` and return the decision for ``phase``."""
        if not self.enabled:
            return CopilotAnswer("approve")
        self.console.print(Panel(artifact[:ARTIFACT_CHARS], title=f"co-pilot: {phase}"))
        if self.answers:
            answer = parse_answer(self.answers.popleft())
        elif not self.from_file and sys.stdin.isatty():
            answer = parse_answer(Prompt.ask("approve / redo / notes: ...", default="approve"))
        else:
            log.info("no co-pilot answer left for %s; approving", phase)
            answer = CopilotAnswer("approve")
        self.console.print(f"co-pilot: {phase} -> {answer.action} {answer.notes}".rstrip())
        self.log.append((phase, answer))
        return answer
