"""USD prices per million input/output tokens, and the cost of a call.

The built-in table was checked against public pricing pages in 2026 (OpenAI's pricing page
via third-party mirrors, DeepSeek's own docs); prices change, so a YAML or JSON file named by
``AGENTRXIV_PRICES`` overrides or extends it::

    gpt-4o-mini: {input: 0.15, output: 0.60}

A model not in the table has an unknown price: its cost is ``None``, never a guessed 0.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from agentrxiv.errors import ConfigError

logger = logging.getLogger(__name__)

PRICES_CHECKED = "2026"


@dataclass(frozen=True)
class Price:
    """USD per one million prompt (input) and completion (output) tokens."""

    input: float
    output: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """USD cost of a call with these token counts."""
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000


BUILTIN_PRICES: dict[str, Price] = {
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "o1": Price(15.00, 60.00),
    "o1-mini": Price(1.10, 4.40),
    "o3": Price(2.00, 8.00),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
    "deepseek-chat": Price(0.27, 1.10),
    "deepseek-reasoner": Price(0.55, 2.19),
}


def _parse_table(raw: object, source: str) -> dict[str, Price]:
    if not isinstance(raw, dict):
        raise ConfigError(f"price file {source} must map model names to {{input, output}}")
    table: dict[str, Price] = {}
    for name, entry in raw.items():
        try:
            table[str(name)] = Price(float(entry["input"]), float(entry["output"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"price file {source}: entry {name!r} needs numeric 'input' and 'output'"
            ) from exc
    return table


def load_price_file(path: str | Path) -> dict[str, Price]:
    """Read a YAML or JSON price file (``{model: {input: USD/1M, output: USD/1M}}``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read price file {path}: {exc.strerror}") from exc
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"price file {path} is not valid YAML/JSON") from exc
    return _parse_table(raw, str(path))


@lru_cache(maxsize=8)
def _table_for(override: str) -> dict[str, Price]:
    table = dict(BUILTIN_PRICES)
    if override:
        table.update(load_price_file(override))
    return table


def price_table() -> dict[str, Price]:
    """The built-in table updated with the file named by ``AGENTRXIV_PRICES``, if any."""
    return _table_for(os.environ.get("AGENTRXIV_PRICES", ""))


def lookup_price(model: str) -> Price | None:
    """The price of ``model``; dated snapshots (``gpt-4o-2024-08-06``) match their base name.

    The longest matching prefix wins, so ``gpt-4o-mini-2024-07-18`` is priced as
    ``gpt-4o-mini``, not ``gpt-4o``.
    """
    table = price_table()
    name = model.split("/", 1)[-1] if model.startswith("openai/") else model
    if name in table:
        return table[name]
    matches = [key for key in table if name.startswith(key + "-")]
    return table[max(matches, key=len)] if matches else None


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """USD cost of a call, or ``None`` when the model's price is unknown."""
    price = lookup_price(model)
    return None if price is None else price.cost(prompt_tokens, completion_tokens)
