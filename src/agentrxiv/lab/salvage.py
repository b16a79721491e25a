"""Salvaging a command from a reply cut off by ``max_tokens``.

Small models under grammar-constrained decoding tend to fill a string field until the token
cap, leaving ``{"text": "...`` unterminated. Closing the open string and brackets (or cutting
back to the last complete member) often yields a valid command with no extra model call;
the result is still validated by the command's Pydantic model.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)
CLOSERS = {"{": "}", "[": "]"}


def _scan(text: str) -> tuple[list[str], bool, int]:
    """Open brackets, whether a string is open, and the index of the last member comma."""
    stack: list[str] = []
    in_string = escaped = False
    last_comma = -1
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in CLOSERS:
            stack.append(char)
        elif char in "}]" and stack:
            stack.pop()
        elif char == "," and stack:
            last_comma = index
    return stack, in_string, last_comma


def _close(text: str) -> str:
    stack, in_string, _ = _scan(text)
    if in_string:
        text = text.rstrip("\\") + '"'
    return text + "".join(CLOSERS[c] for c in reversed(stack))


def candidates(text: str) -> list[str]:
    """Repaired versions of a truncated JSON object, most complete first."""
    start = text.find("{")
    if start < 0:
        return []
    body = text[start:]
    out = [_close(body)]
    _, _, comma = _scan(body)
    if comma > 0:
        out.append(_close(body[:comma]))
    return out


def salvage(text: str, schema: type[T]) -> T | None:
    """A valid ``schema`` instance recovered from a truncated reply, or ``None``."""
    for candidate in candidates(text):
        try:
            return schema.model_validate_json(candidate)
        except ValidationError:
            continue
    return None
