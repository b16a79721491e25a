"""Solving techniques: plain callables ``solve(problem, model) -> str`` whose returned text
ends in a ``\\boxed{}`` answer; the built-ins and ``resolve_technique`` (a built-in name,
``module:function`` or ``path/to/file.py:function``)."""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentrxiv.bench.grading import extract_answer, is_equivalent
from agentrxiv.errors import ConfigError
from agentrxiv.llm.base import ChatModel, Message

logger = logging.getLogger(__name__)

Technique = Callable[[str, ChatModel], str]

ZERO_SHOT_SYSTEM = (
    "You are an expert mathematician. Answer the problem. Give only the final answer, "
    "simplified, in LaTeX inside \\boxed{}, with no explanation."
)
COT_SYSTEM = (
    "You are an expert mathematician. Solve the problem step by step, showing your "
    "reasoning concisely. End with the final answer, simplified, in LaTeX inside \\boxed{}."
)
PROBLEM_TEMPLATE = "Problem:\n{problem}"

DEFAULT_MAX_TOKENS = 1024
ZERO_SHOT_MAX_TOKENS = 256


def _messages(system: str, problem: str) -> list[Message]:
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": PROBLEM_TEMPLATE.format(problem=problem)},
    ]


@dataclass
class ZeroShot:
    """Ask for the final answer only, in ``\\boxed{}`` (greedy decoding)."""

    max_tokens: int = ZERO_SHOT_MAX_TOKENS

    def __call__(self, problem: str, model: ChatModel) -> str:
        messages = _messages(ZERO_SHOT_SYSTEM, problem)
        return model.chat(messages, temperature=0.0, max_tokens=self.max_tokens).text


@dataclass
class ChainOfThought:
    """Reason step by step, then give the boxed answer (greedy decoding)."""

    max_tokens: int = DEFAULT_MAX_TOKENS

    def __call__(self, problem: str, model: ChatModel) -> str:
        messages = _messages(COT_SYSTEM, problem)
        return model.chat(messages, temperature=0.0, max_tokens=self.max_tokens).text


def worked_answer(solution: str, answer: str) -> str:
    """A worked example's reply: the solution, ending in the boxed answer."""
    if "\\boxed" in solution:
        return solution.strip()
    if solution.strip():
        return f"{solution.strip()}. The answer is \\boxed{{{answer}}}."
    return f"The answer is \\boxed{{{answer}}}."


def example_pairs(problems: list[Any]) -> list[tuple[str, str]]:
    """(problem, worked reply) pairs from problems with ``solution`` and ``answer``."""
    return [(p.problem, worked_answer(p.solution, p.answer)) for p in problems]


@dataclass
class FewShot:
    """Zero-shot's instruction plus worked examples as earlier chat turns (greedy decoding).
    ``examples`` are (problem, reply) pairs; the default is 3 reserved ``arith`` examples
    (in neither split). ``resolve_technique(..., benchmark=B)`` takes B's examples."""

    examples: list[tuple[str, str]] | None = None
    max_tokens: int = ZERO_SHOT_MAX_TOKENS

    def __post_init__(self) -> None:
        if self.examples is None:
            from agentrxiv.bench.registry import get_benchmark

            self.examples = example_pairs(get_benchmark("arith").few_shot_examples(3))

    def __call__(self, problem: str, model: ChatModel) -> str:
        messages: list[Message] = [{"role": "system", "content": ZERO_SHOT_SYSTEM}]
        for question, reply in self.examples or []:
            messages.append({"role": "user", "content": PROBLEM_TEMPLATE.format(problem=question)})
            messages.append({"role": "assistant", "content": reply})
        messages.append({"role": "user", "content": PROBLEM_TEMPLATE.format(problem=problem)})
        return model.chat(messages, temperature=0.0, max_tokens=self.max_tokens).text


def majority_answer(answers: list[str]) -> tuple[str, int] | None:
    """The most common answer and its count, clustering equivalent answers (ties: first)."""
    clusters: list[list[str]] = []
    for answer in answers:
        for cluster in clusters:
            if is_equivalent(answer, cluster[0]):
                cluster.append(answer)
                break
        else:
            clusters.append([answer])
    if not clusters:
        return None
    best = max(clusters, key=len)  # max keeps the first of equal-sized clusters
    return best[0], len(best)


@dataclass
class SelfConsistency:
    """``k`` chain-of-thought samples at ``temperature`` with distinct seeds; majority vote."""

    k: int = 5
    temperature: float = 0.7
    seed: int = 0
    max_tokens: int = DEFAULT_MAX_TOKENS

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigError(f"self-consistency needs k >= 1, got {self.k}")

    def __call__(self, problem: str, model: ChatModel) -> str:
        messages = _messages(COT_SYSTEM, problem)
        outputs = [
            model.chat(
                messages,
                temperature=self.temperature,
                seed=self.seed + index,
                max_tokens=self.max_tokens,
            ).text
            for index in range(self.k)
        ]
        answers = [a for a in (extract_answer(text) for text in outputs) if a is not None]
        vote = majority_answer(answers)
        if vote is None:
            return outputs[-1]
        answer, count = vote
        return f"{count} of {self.k} samples agree.\nFinal answer: \\boxed{{{answer}}}"


BUILTIN_TECHNIQUES: dict[str, Callable[..., Technique]] = {
    "zero-shot": ZeroShot,
    "cot": ChainOfThought,
    "self-consistency": SelfConsistency,
    "few-shot": FewShot,
}


def _load_attribute(reference: str) -> object:
    """The object named by ``module:attr`` or ``path/to/file.py:attr``."""
    target, _, attribute = reference.rpartition(":")
    if not target or not attribute:
        raise ConfigError(f"bad technique reference {reference!r}: expected module:function")
    if target.endswith(".py"):
        path = Path(target).expanduser()
        if not path.is_file():
            raise ConfigError(f"technique file not found: {path}")
        spec = importlib.util.spec_from_file_location(f"agentrxiv_technique_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"cannot import technique file {path}")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001 - user code: report, don't crash
            raise ConfigError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ConfigError(f"cannot import technique module {target!r}: {exc}") from exc
    if not hasattr(module, attribute):
        raise ConfigError(f"{target} has no attribute {attribute!r}")
    return getattr(module, attribute)


def resolve_technique(
    spec: str | Technique,
    *,
    samples: int | None = None,
    seed: int | None = None,
    max_tokens: int | None = None,
    benchmark: Any = None,
    shots: int = 3,
) -> Technique:
    """A technique from a built-in name (with options), ``module:function`` or a callable.
    ``few-shot`` takes ``shots`` worked examples from ``benchmark`` (never test problems)."""
    if callable(spec):
        return spec
    if spec in BUILTIN_TECHNIQUES:
        options: dict[str, Any] = {}
        if max_tokens is not None:
            options["max_tokens"] = max_tokens
        if spec == "few-shot" and benchmark is not None:
            options["examples"] = example_pairs(benchmark.few_shot_examples(shots))
        if spec == "self-consistency":
            options.update({"k": samples} if samples is not None else {})
            options.update({"seed": seed} if seed is not None else {})
        return BUILTIN_TECHNIQUES[spec](**options)
    if ":" not in spec:
        names = ", ".join(BUILTIN_TECHNIQUES)
        raise ConfigError(f"unknown technique {spec!r}", hint=f"use one of {names} or module:func")
    technique = _load_attribute(spec)
    if not callable(technique):
        raise ConfigError(f"technique {spec!r} is not callable")
    return technique  # type: ignore[return-value]


def technique_name(technique: Technique | str) -> str:
    """A readable name for reports."""
    if isinstance(technique, str):
        return technique
    for name, factory in BUILTIN_TECHNIQUES.items():
        if isinstance(factory, type) and isinstance(technique, factory):
            return name
    module = getattr(technique, "__module__", "?")
    return f"{module}:{getattr(technique, '__qualname__', type(technique).__name__)}"
