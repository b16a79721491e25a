"""Structured output: a validated Pydantic object from any ``ChatModel``.

The schema goes to the backend as ``json_schema`` (constrained decoding where offered) and
into the prompt; the reply is parsed (```json fences and surrounding prose tolerated) and
validated. On failure the reply and the validation error are fed back as a user message and
the model tries again, a bounded number of times, then ``StructuredOutputError``.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from agentrxiv.llm.errors import StructuredOutputError
from agentrxiv.llm.types import Message

logger = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)

SCHEMA_INSTRUCTION = (
    "Reply with a single JSON object and nothing else. It must match this JSON schema:\n{schema}"
)
FEEDBACK_PROMPT = (
    "Your previous reply was not valid for the required JSON schema:\n{error}\n"
    "Reply again with only the corrected JSON object."
)
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


def extract_json(text: str) -> str:
    """The JSON text in a reply: a fenced block's body, else from the first ``{`` to the last
    ``}``, else the stripped reply."""
    fenced = _FENCE.search(text)
    if fenced:
        return fenced.group(1).strip()
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        return text[start : end + 1]
    return text.strip()


def parse_structured(text: str, schema: type[T]) -> T:
    """Validate ``text`` (possibly fenced) as ``schema``; raises ``ValidationError``."""
    return schema.model_validate_json(extract_json(text))


def _with_instruction(messages: list[Message], schema_json: dict[str, Any]) -> list[Message]:
    instruction = SCHEMA_INSTRUCTION.format(schema=json.dumps(schema_json))
    out: list[Message] = [dict(m) for m in messages]  # type: ignore[misc]
    if out and out[0]["role"] == "system":
        out[0] = {"role": "system", "content": f"{out[0]['content']}\n\n{instruction}"}
    else:
        out.insert(0, {"role": "system", "content": instruction})
    return out


def _error_text(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False)[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "(root)"
        parts.append(f"- {where}: {item['msg']}")
    return "\n".join(parts)


class SupportsChat(Protocol):
    """Anything with ``chat`` (every ``ChatModel``); keeps this module below ``base``."""

    def chat(self, messages: list[Message], **options: Any) -> Any:
        """One chat completion whose result has ``.text``."""


def complete_structured(
    model: SupportsChat,
    messages: list[Message],
    schema: type[T],
    *,
    retries: int = 2,
    tag: str | None = None,
    **sampling: Any,
) -> T:
    """Ask ``model`` for a ``schema`` instance, retrying with the validation error fed back."""
    schema_json = schema.model_json_schema()
    conversation = _with_instruction(messages, schema_json)
    last_error = ""
    for attempt in range(retries + 1):
        result = model.chat(conversation, tag=tag, json_schema=schema_json, **sampling)
        try:
            return parse_structured(result.text, schema)
        except ValidationError as error:
            last_error = _error_text(error)
            logger.info("structured attempt %d for %s invalid: %s", attempt + 1, tag, last_error)
            conversation = [
                *conversation,
                {"role": "assistant", "content": result.text},
                {"role": "user", "content": FEEDBACK_PROMPT.format(error=last_error)},
            ]
    first = last_error.splitlines()[0] if last_error else "no reply"
    raise StructuredOutputError(
        f"no valid {schema.__name__} after {retries + 1} attempts: {first}",
        hint="use a stronger model or simplify the schema",
    )
