"""Bounded conversation history: recent turns verbatim, older turns folded into a summary.

Folding is done by code (the first line of each old turn, capped), so long phases never
overflow the context and folding costs no model call.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from agentrxiv.llm.base import Message

FOLDED_LINE_CHARS = 160
SUMMARY_CHARS = 2_000
TURN_CHARS = 6_000


class Memory(BaseModel):
    """An agent's history in one phase; serialisable so checkpoints keep it."""

    max_turns: int = Field(default=8, ge=2)
    max_chars: int = Field(default=12_000, ge=500, description="Bound on the verbatim turns.")
    summary: str = ""
    turns: list[dict[str, str]] = Field(default_factory=list)

    def add(self, role: str, content: str) -> None:
        """Append a turn (capped in length) and fold the oldest ones if over the bound."""
        if len(content) > TURN_CHARS:
            content = content[:TURN_CHARS] + "\n[... truncated]"
        self.turns.append({"role": role, "content": content})
        while len(self.turns) > self.max_turns or (
            len(self.turns) > 1 and sum(len(t["content"]) for t in self.turns) > self.max_chars
        ):
            self._fold(self.turns.pop(0))

    def _fold(self, turn: dict[str, str]) -> None:
        first_line = turn["content"].strip().splitlines()[0] if turn["content"].strip() else ""
        line = f"- {turn['role']}: {first_line[:FOLDED_LINE_CHARS]}"
        self.summary = f"{self.summary}\n{line}".strip()
        if len(self.summary) > SUMMARY_CHARS:
            self.summary = "[...]\n" + self.summary[-SUMMARY_CHARS:]

    def messages(self) -> list[Message]:
        """The history as chat messages, the summary first when there is one."""
        out: list[Message] = []
        if self.summary:
            out.append({"role": "user", "content": f"Summary of earlier turns:\n{self.summary}"})
            out.append({"role": "assistant", "content": "Noted."})
        for turn in self.turns:
            role = "assistant" if turn["role"] == "assistant" else "user"
            out.append({"role": role, "content": turn["content"]})
        return out
