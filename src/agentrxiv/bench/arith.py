"""``arith``: a synthetic arithmetic benchmark generated in code from a seed (no files).

Settings: ``digits`` per operand, ``operands`` per expression, ``operation`` (``add``,
``sub``, ``mul`` or ``mixed`` = + and -), ``dev_size`` and ``test_size``. The reserved few-shot
examples and the dev split come from the public seed; the test split from the seed and the
held-out secret (``bench.heldout``), which the lab's sandbox never sees: code that knows the
seed can regenerate dev but not the test problems. Test skips every expression of the
examples and of dev, so the three sets are disjoint by construction. Answers are integers.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentrxiv.bench.base import Benchmark, check_split
from agentrxiv.bench.heldout import heldout_secret
from agentrxiv.bench.math500 import Problem
from agentrxiv.errors import ConfigError

OPERATIONS = ("add", "sub", "mul", "mixed")
SUBJECTS = {"add": "addition", "sub": "subtraction", "mul": "multiplication", "mixed": "mixed"}
FEW_SHOT_RESERVED = 8
#: Answers are short, so techniques default to this completion cap on arith.
ARITH_MAX_TOKENS = 32


class ArithSettings(BaseModel):
    """The difficulty and size of an ``arith`` benchmark."""

    model_config = ConfigDict(extra="forbid")

    digits: int = Field(default=2, ge=1, le=12)
    operands: int = Field(default=2, ge=2, le=6)
    operation: str = Field(default="add", pattern="^(add|sub|mul|mixed)$")
    dev_size: int = Field(default=200, ge=1, le=100_000)
    test_size: int = Field(default=300, ge=1, le=100_000)


@dataclass(frozen=True)
class Expression:
    """One generated expression and its value."""

    text: str
    value: int


def _operand(rng: random.Random, digits: int) -> int:
    low = 1 if digits == 1 else 10 ** (digits - 1)
    return rng.randint(low, 10**digits - 1)


def _expression(rng: random.Random, s: ArithSettings) -> Expression:
    numbers = [_operand(rng, s.digits) for _ in range(s.operands)]
    if s.operation == "sub":
        numbers.sort(reverse=True)  # non-negative results
        signs = ["-"] * (s.operands - 1)
    elif s.operation == "mixed":
        signs = [rng.choice("+-") for _ in range(s.operands - 1)]
    else:
        signs = ["+" if s.operation == "add" else "*"] * (s.operands - 1)
    text = str(numbers[0])
    value = numbers[0]
    for sign, number in zip(signs, numbers[1:], strict=True):
        text += f" {sign} {number}"
        value = value + number if sign == "+" else value - number if sign == "-" else value * number
    return Expression(text, value)


def _space_size(s: ArithSettings) -> int:
    low = 1 if s.digits == 1 else 10 ** (s.digits - 1)
    return (10**s.digits - low) ** s.operands


def _draw(rng: random.Random, s: ArithSettings, count: int, taken: set[str]) -> list[Expression]:
    drawn: list[Expression] = []
    attempts = 0
    while len(drawn) < count:
        attempts += 1
        if attempts > 50 * count + 1000:
            raise ConfigError("arith: too few distinct expressions for these settings")
        expression = _expression(rng, s)
        if expression.text not in taken:
            taken.add(expression.text)
            drawn.append(expression)
    return drawn


def problem_text(expression: Expression) -> str:
    """The question a technique receives."""
    return f"What is {expression.text}?"


def _problem(expression: Expression, s: ArithSettings) -> Problem:
    digest = hashlib.sha256(expression.text.encode()).hexdigest()[:12]
    return Problem(
        problem=problem_text(expression),
        solution=f"{expression.text} = {expression.value}",
        answer=str(expression.value),
        subject=SUBJECTS[s.operation],
        level=s.digits,
        unique_id=f"arith-{digest}",
        answer_format="integer",
    )


def generate(
    settings: ArithSettings, seed: int, secret: str | None = None
) -> dict[str, list[Problem]]:
    """The reserved few-shot examples and the dev split from ``seed``; with ``secret`` (the
    held-out secret) also the test split, else none."""
    needed = settings.dev_size + settings.test_size + FEW_SHOT_RESERVED
    if needed > _space_size(settings) // 2:
        raise ConfigError(
            f"arith: {needed} problems asked but {settings.digits}-digit operands give only "
            f"{_space_size(settings)} expressions; use more digits or smaller sizes"
        )
    public = f"arith:{seed}:{sorted(asdict_settings(settings).items())}"
    rng = random.Random(public)
    taken: set[str] = set()
    examples = _draw(rng, settings, FEW_SHOT_RESERVED, taken)
    dev = _draw(rng, settings, settings.dev_size, taken)
    test: list[Expression] = []
    if secret is not None:
        held_out = random.Random(f"{public}:test:{secret}")
        test = _draw(held_out, settings, settings.test_size, taken)
    return {
        "examples": [_problem(e, settings) for e in examples],
        "test": [_problem(e, settings) for e in test],
        "dev": [_problem(e, settings) for e in dev],
    }


def asdict_settings(settings: ArithSettings) -> dict[str, Any]:
    """The settings as a plain dict (recorded in reports)."""
    return settings.model_dump()


class ArithBenchmark(Benchmark):
    """The generated arithmetic benchmark (integer answers)."""

    def __init__(self, settings: ArithSettings, seed: int) -> None:
        super().__init__(
            "arith",
            "integer",
            seed=seed,
            source="generated",
            options=asdict_settings(settings),
            default_options=asdict_settings(ArithSettings()),
            default_max_tokens=ARITH_MAX_TOKENS,
        )
        self.settings = settings
        self._examples: list[Problem] = []

    def _make_splits(self) -> dict[str, list[Problem]]:
        generated = generate(self.settings, self.seed)  # public: examples and dev only
        self._examples = generated["examples"]
        return {"dev": generated["dev"], "test": []}

    def problems(self, split: str = "all", limit: int | None = None) -> list[Problem]:
        """As ``Benchmark.problems``; the test split is drawn (with the held-out secret)
        only when it is asked for, so dev needs no secret."""
        splits = self._all_splits()
        if check_split(split) != "dev" and not splits["test"]:
            splits["test"] = generate(self.settings, self.seed, heldout_secret())["test"]
        return super().problems(split, limit)

    def sizes(self) -> dict[str, int]:
        """Split sizes from the settings (drawing nothing)."""
        return {"dev": self.settings.dev_size, "test": self.settings.test_size}

    def few_shot_examples(self, k: int = 3) -> list[Problem]:
        """Reserved generated examples, in neither split."""
        self._all_splits()
        if k > len(self._examples):
            raise ConfigError(f"arith reserves {len(self._examples)} few-shot examples, not {k}")
        return self._examples[:k]


def make_arith(data: str | Path | None, seed: int, **options: Any) -> Benchmark:
    """``arith`` with ``options`` (digits, operands, operation, dev_size, test_size)."""
    if data is not None:
        raise ConfigError("arith is generated from a seed; it reads no --data")
    try:
        settings = ArithSettings.model_validate(options)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "options"
        raise ConfigError(f"arith option {where}: {first['msg']}") from None
    return ArithBenchmark(settings, seed)


__all__ = ["ArithBenchmark", "ArithSettings", "generate", "make_arith"]
