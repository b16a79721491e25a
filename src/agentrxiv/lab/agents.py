"""The lab's agents: a role, its prompts (``lab/prompts/<role>.yaml``), a model and a memory.

Every action goes through ``Agent.act``, which renders the role's task prompt with Jinja
(``StrictUndefined``: a missing variable is a bug, not an empty string) and asks the model
for a validated command with a bounded retry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any, TypeVar

import jinja2
import yaml
from pydantic import BaseModel

from agentrxiv.errors import ConfigError
from agentrxiv.lab.memory import Memory
from agentrxiv.lab.salvage import salvage
from agentrxiv.llm.base import ChatModel, ChatRequest, ChatResult, Message

log = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)

ROLES = ("phd", "postdoc", "professor", "ml_engineer", "sw_engineer", "reviewer")
REVIEWER_PERSONAS = ("harsh_but_fair", "critical_impact", "open_minded")
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, trim_blocks=True)


@cache
def load_prompts(role: str) -> dict[str, Any]:
    """The prompt file of ``role`` (``system``, ``tasks``, and for reviewers ``personas``)."""
    if role not in ROLES:
        raise ConfigError(f"unknown agent role {role!r}")
    text = resources.files("agentrxiv.lab").joinpath("prompts", f"{role}.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or "system" not in data or "tasks" not in data:
        raise ConfigError(f"prompt file for {role!r} needs 'system' and 'tasks'")
    return data


def render(template: str, **context: Any) -> str:
    """Render a prompt template; a missing variable raises instead of vanishing."""
    try:
        return _ENV.from_string(template).render(**context).strip()
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"prompt template needs a value it was not given: {exc}") from None


@dataclass
class ActStats:
    """Counts of agent actions: how many, how many ran out of retries, how many were
    recovered from a reply cut off by the token cap."""

    actions: int = 0
    failures: int = 0
    salvaged: int = 0


class _Salvaging(ChatModel):
    """Passes calls through; a reply cut off by the token cap is replaced by the command
    salvaged from it when that validates, so no retry is spent on it."""

    def __init__(self, inner: ChatModel, schema: type[BaseModel]) -> None:
        self.inner, self.schema = inner, schema
        self.spec = inner.spec
        self.salvaged = 0

    def complete(self, request: ChatRequest) -> ChatResult:
        """Forward one call, salvaging a truncated reply."""
        result = self.inner.complete(request)
        if result.finish_reason != "length":
            return result
        fixed = salvage(result.text, self.schema)
        if fixed is None:
            return result
        self.salvaged += 1
        return replace(result, text=fixed.model_dump_json())


@dataclass
class Agent:
    """One role in the lab talking to one model."""

    role: str
    model: ChatModel
    lab_name: str
    common: dict[str, Any]
    retries: int = 2
    max_tokens: int = 512
    temperature: float = 0.0
    memory: Memory = field(default_factory=Memory)
    stats: ActStats = field(default_factory=ActStats)
    persona: str | None = None
    seed: int | None = None

    @property
    def name(self) -> str:
        """The agent's name in tags and transcripts."""
        return self.persona or self.role

    def system_prompt(self) -> str:
        """The role's system prompt, with the persona for reviewers."""
        prompts = load_prompts(self.role)
        persona = ""
        if self.persona:
            persona = prompts.get("personas", {}).get(self.persona, "")
        return render(prompts["system"], persona=persona, **self.common)

    def prompt(self, task: str, **context: Any) -> str:
        """The rendered user prompt of ``task``."""
        tasks = load_prompts(self.role)["tasks"]
        if task not in tasks:
            raise ConfigError(f"role {self.role!r} has no task prompt {task!r}")
        return render(tasks[task], **{**self.common, **context})

    def act(self, phase: str, task: str, schema: type[T], **context: Any) -> T:
        """Ask for one validated command; raises ``StructuredOutputError`` when exhausted.
        A reply cut off by the token cap is salvaged when possible (no retry needed)."""
        user = self.prompt(task, **context)
        messages: list[Message] = [{"role": "system", "content": self.system_prompt()}]
        messages += self.memory.messages()
        messages.append({"role": "user", "content": user})
        self.stats.actions += 1
        model = _Salvaging(self.model, schema)
        try:
            reply = model.structured(
                messages,
                schema,
                retries=self.retries,
                tag=f"lab/{self.lab_name}/{phase}/{self.name}",
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                seed=self.seed,
            )
        except Exception:
            self.stats.failures += 1
            raise
        finally:
            self.stats.salvaged += model.salvaged
        self.memory.add("user", user)
        self.memory.add("assistant", reply.model_dump_json())
        return reply

    def hear(self, content: str) -> None:
        """Add an observation (a tool result, another agent's message) to the memory."""
        self.memory.add("user", content)
