"""The vocabulary of a chat call: a message and the options of one completion.

Kept apart from ``base`` so that ``structured`` (used by ``base``) can name them too.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

Role = Literal["system", "user", "assistant"]


class Message(TypedDict):
    """One chat message."""

    role: Role
    content: str


class ChatOptions(TypedDict, total=False):
    """The keyword options of ``ChatModel.chat``: the one place they are declared.

    Defaults (temperature 0, no limits) are applied by ``agentrxiv.llm.base.make_request``.
    """

    temperature: float
    max_tokens: int | None
    top_p: float | None
    seed: int | None
    stop: list[str] | None
    tag: str | None
    json_schema: dict[str, Any] | None
