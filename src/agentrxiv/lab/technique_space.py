"""The technique space: composable prompting options the plan chooses and the seed templates
render into a working experiment program.

``TechniqueOptions`` is what the plan chooses: the instruction (a preset or the plan's own),
0-8 worked examples (reserved examples, else dev problems held out of the measurement; never
test problems), chain of thought or a direct answer, samples with majority vote, temperature,
the answer format hint and the answer's token cap. The choice is validated structured output
that any model completes: the schema's enums and bounds constrain decoding, and a value that
is still invalid falls back to the option the lab started from (``lenient``).

A rendered technique keeps every option on one ``OPTIONS = {...}`` line, so a change of
options is a change of that line (``with_options``): free code changes the mle-solver made to
a parent's technique survive.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Literal, get_args

from pydantic import Field, ValidationError, model_validator

from agentrxiv.bench.techniques import example_pairs
from agentrxiv.lab.actions import Command
from agentrxiv.lab.paper import render_template

InstructionName = Literal["plan", "expert", "careful", "concise"]
Reasoning = Literal["direct", "chain_of_thought"]
Temperature = Literal[0.0, 0.3, 0.7, 1.0]
MAX_SHOTS = 8
#: A benchmark without reserved examples lends dev problems only when dev is this large.
DEV_EXAMPLES_FROM = 32
PRESET_INSTRUCTIONS: dict[str, str] = {
    "expert": "You are an expert mathematician. Answer the problem.",
    "careful": "Read the problem carefully, work it out exactly and check your work.",
    "concise": "Answer the problem.",
}
OPTIONS_PREFIX = "OPTIONS = "
INSTRUCTION_PREFIX = "INSTRUCTION = "


class TechniqueOptions(Command):
    """One point of the technique space (what the plan chooses)."""

    instruction: InstructionName = Field(
        default="plan",
        description="plan: the plan's own instruction; or a preset: expert, careful, concise.",
    )
    shots: int = Field(default=0, ge=0, le=MAX_SHOTS, description="Worked examples shown (0-8).")
    reasoning: Reasoning = Field(default="direct", description="Chain of thought or answer only.")
    samples: int = Field(default=1, ge=1, le=8, description="Answers sampled, majority-voted.")
    temperature: Temperature = Field(default=0.0, description="Sampling temperature.")
    format_hint: bool = Field(default=True, description="Ask for the answer in \\boxed{}.")
    max_tokens: int = Field(default=256, ge=16, le=1024, description="Token cap of each answer.")

    @model_validator(mode="before")
    @classmethod
    def _drop_invalid(cls, data: Any) -> Any:
        """Leave out every value that does not validate, so it falls back (never fails)."""
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if k not in cls.model_fields or _valid(k, v)}

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The schema with every option required, so constrained decoding writes each one
        (a missing or invalid one still falls back when validated)."""
        schema = super().model_json_schema(*args, **kwargs)
        schema["required"] = list(cls.model_fields)
        return schema

    def describe(self) -> str:
        """One line for prompts and papers."""
        style = "chain of thought" if self.reasoning == "chain_of_thought" else "direct answer"
        votes = f"{self.samples} samples, majority vote" if self.samples > 1 else "1 sample"
        hint = "boxed-answer hint" if self.format_hint else "no format hint"
        return (
            f"instruction={self.instruction}, {self.shots} worked examples, {style}, {votes}, "
            f"temperature {self.temperature}, {hint}, max {self.max_tokens} tokens"
        )


_CHECKS: dict[str, Any] = {
    "instruction": lambda v: v in get_args(InstructionName),
    "shots": lambda v: type(v) is int and 0 <= v <= MAX_SHOTS,
    "reasoning": lambda v: v in get_args(Reasoning),
    "samples": lambda v: type(v) is int and 1 <= v <= 8,
    "temperature": lambda v: type(v) in (int, float) and float(v) in get_args(Temperature),
    "format_hint": lambda v: type(v) is bool,
    "max_tokens": lambda v: type(v) is int and 16 <= v <= 1024,
}


def _valid(key: str, value: Any) -> bool:
    return bool(_CHECKS[key](value))


def lenient(data: Any, start: TechniqueOptions) -> tuple[TechniqueOptions, list[str]]:
    """``data`` as options: what validates is taken, everything else stays as in ``start``.
    Returns the options and the names of the fields that fell back."""
    given = data if isinstance(data, dict) else {}
    fell_back = [k for k in TechniqueOptions.model_fields if k not in given]
    fell_back += [k for k, v in given.items() if k in _CHECKS and not _valid(k, v)]
    taken = {k: v for k, v in given.items() if k in _CHECKS and _valid(k, v)}
    if "temperature" in taken:
        taken["temperature"] = float(taken["temperature"])
    try:
        return start.model_copy(update=taken), sorted(set(fell_back))
    except ValidationError:  # pragma: no cover - every taken value passed its check
        return start, sorted(TechniqueOptions.model_fields)


def _other_shots(o: TechniqueOptions) -> dict[str, Any]:
    """Two more worked examples (two fewer at the maximum)."""
    return {"shots": min(o.shots + 2, MAX_SHOTS) if o.shots < MAX_SHOTS else o.shots - 2}


def _other_reasoning(o: TechniqueOptions) -> dict[str, Any]:
    return {"reasoning": "direct" if o.reasoning == "chain_of_thought" else "chain_of_thought"}


def _other_samples(o: TechniqueOptions) -> dict[str, Any]:
    if o.samples > 1:
        return {"samples": 1, "temperature": 0.0}
    return {"samples": 3, "temperature": 0.7}


def _other_instruction(o: TechniqueOptions) -> dict[str, Any]:
    names = list(get_args(InstructionName))
    return {"instruction": names[(names.index(o.instruction) + 1) % len(names)]}


def _other_format_hint(o: TechniqueOptions) -> dict[str, Any]:
    return {"format_hint": not o.format_hint}


#: The one-option moves from a start to a neighbour; a lab picks one by a hash of its name,
#: parent and round (``accumulate``). Worked examples are among them because they are what
#: lifts SmolLM2-135M on arith (5% zero-shot to 34.5% with three; README).
NEIGHBOUR_MOVES = (
    _other_shots,
    _other_instruction,
    _other_samples,
    _other_reasoning,
    _other_format_hint,
)


def neighbour(start: TechniqueOptions, index: int) -> tuple[TechniqueOptions, str]:
    """``start`` with one option changed (move ``index`` modulo the moves), and a line
    saying what changed. The lab measures a neighbour when the plan repeats its start, so
    every round measures a new variant instead of re-measuring the start."""
    move = NEIGHBOUR_MOVES[index % len(NEIGHBOUR_MOVES)]
    update = move(start)
    changed = start.model_copy(update=update)
    said = ", ".join(f"{key} {getattr(start, key)} -> {value}" for key, value in update.items())
    return changed, said


def cap_tokens(limit: int) -> int:
    """``limit`` (the lab's answer cap) within the space's bounds."""
    return max(16, min(1024, limit))


@dataclass(frozen=True)
class WorkedExamples:
    """The worked examples a technique may show, and the dev problems they use (held out)."""

    pairs: list[tuple[str, str]]
    held_out: list[str]


def worked_examples(bench: Any) -> WorkedExamples:
    """Up to 8 worked examples: the benchmark's reserved examples when it has them (arith),
    else the last dev problems, which the experiment then leaves out of its measurement."""
    dev = bench.problems("dev")
    dev_ids = {p.unique_id for p in dev}
    try:
        examples = bench.few_shot_examples(min(MAX_SHOTS, max(len(dev), 1)))
    except Exception:  # noqa: BLE001 - a benchmark with fewer reserved examples: use dev
        examples = []
    if not examples or any(e.unique_id in dev_ids for e in examples):
        examples = dev[-MAX_SHOTS:][::-1] if len(dev) >= DEV_EXAMPLES_FROM else []
    held = [e.unique_id for e in examples if e.unique_id in dev_ids]
    return WorkedExamples(example_pairs(examples), held)


def instruction_text(options: TechniqueOptions, plan_instruction: str) -> str:
    """The instruction the options name."""
    if options.instruction == "plan":
        return plan_instruction.strip() or PRESET_INSTRUCTIONS["expert"]
    return PRESET_INSTRUCTIONS[options.instruction]


def render_technique(
    options: TechniqueOptions, name: str, plan_instruction: str, examples: WorkedExamples
) -> str:
    """The technique part of an experiment program (what ``technique.py`` holds)."""
    return render_template(
        "technique.py.j2",
        technique_name=name,
        options=options.model_dump(),
        instruction=instruction_text(options, plan_instruction),
        examples=examples.pairs,
    )


def render_driver(
    *,
    name: str,
    benchmark: str,
    limit: int | None,
    max_tokens: int,
    concurrency: int,
    held_out: list[str],
) -> str:
    """The experiment driver appended to a technique: baseline, technique, result.json."""
    return render_template(
        "experiment_driver.py.j2",
        technique_name=name,
        benchmark=benchmark,
        limit=limit,
        max_tokens=max_tokens,
        concurrency=concurrency,
        held_out=held_out,
        split="dev",
    )


def options_of(code: str) -> TechniqueOptions | None:
    """The options a rendered technique carries on its ``OPTIONS = {...}`` line, if any."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["OPTIONS"]
            and isinstance(node.value, ast.Dict)
        ):
            try:
                return TechniqueOptions.model_validate(ast.literal_eval(node.value))
            except (ValueError, ValidationError):
                return None
    return None


def with_options(
    code: str, old: TechniqueOptions, new: TechniqueOptions, plan_instruction: str
) -> str | None:
    """``code`` with its ``OPTIONS`` line (and ``INSTRUCTION`` line, when the instruction
    option changed) rewritten for ``new``; ``None`` when the code has no such lines."""
    lines = code.splitlines()
    index = {
        prefix: next((i for i, line in enumerate(lines) if line.startswith(prefix)), None)
        for prefix in (OPTIONS_PREFIX, INSTRUCTION_PREFIX)
    }
    if index[OPTIONS_PREFIX] is None:
        return None
    lines[index[OPTIONS_PREFIX]] = OPTIONS_PREFIX + repr(new.model_dump())
    if new.instruction != old.instruction:
        if index[INSTRUCTION_PREFIX] is None:
            return None
        text = instruction_text(new, plan_instruction)
        lines[index[INSTRUCTION_PREFIX]] = INSTRUCTION_PREFIX + repr(text)
    changed = "\n".join(lines) + "\n"
    return changed if options_of(changed) == new else None


def without_driver(program: str) -> str:
    """The technique part of a program written from these templates (before the driver)."""
    marker = "\n\n# --- The experiment driver"
    return program.split(marker, 1)[0].rstrip() + "\n"
