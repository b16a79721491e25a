"""The technique space: every option renders into a working program that asks the model what
the option says; invalid choices fall back to the start's options; an options change keeps
the rest of a (possibly hand-edited) program."""

from __future__ import annotations

import pytest

from agentrxiv.bench.registry import get_benchmark
from agentrxiv.bench.runner import evaluate
from agentrxiv.lab.technique_space import (
    NEIGHBOUR_MOVES,
    PRESET_INSTRUCTIONS,
    TechniqueOptions,
    lenient,
    neighbour,
    options_of,
    render_driver,
    render_technique,
    with_options,
    worked_examples,
)
from agentrxiv.llm.scripted import ScriptedChatModel

ARITH = get_benchmark("arith")
EXAMPLES = worked_examples(ARITH)
GOLD = {p.problem: p.answer for p in ARITH.problems("dev")}
VARIANTS = [
    {"instruction": "plan"},
    *({"instruction": name} for name in PRESET_INSTRUCTIONS),
    *({"shots": k} for k in range(9)),
    {"reasoning": "direct"},
    {"reasoning": "chain_of_thought"},
    *({"samples": k, "temperature": 0.7} for k in (1, 3, 8)),
    *({"temperature": t} for t in (0.0, 0.3, 0.7, 1.0)),
    {"format_hint": True},
    {"format_hint": False},
    {"max_tokens": 16},
    {"max_tokens": 1024},
]


def answering_model() -> ScriptedChatModel:
    """Answers the last problem right, in the boxed format."""

    def reply(messages):  # noqa: ANN001, ANN202
        text = messages[-1]["content"].removeprefix("Problem:\n")
        return f"So the answer is \\boxed{{{GOLD.get(text, '0')}}}."

    return ScriptedChatModel(reply)


def load(code: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "technique.py", "exec"), namespace)  # noqa: S102 - our own template
    return namespace


def _name(change: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in change.items())


@pytest.mark.parametrize("change", VARIANTS, ids=_name)
def test_every_option_renders_a_working_technique_that_does_what_it_says(change):
    options = TechniqueOptions(**change)
    code = render_technique(options, "t", "Solve it.", EXAMPLES)
    program = code + render_driver(
        name="t", benchmark="arith", limit=3, max_tokens=64, concurrency=1, held_out=[]
    )
    compile(program, "experiment.py", "exec")
    assert options_of(code) == options
    model = answering_model()
    problems = ARITH.problems("dev", limit=3)
    report = evaluate(load(code)["solve"], model, problems, concurrency=1)
    assert report.accuracy == 1.0 and report.n == 3
    calls = model.calls
    assert len(calls) == 3 * options.samples
    first = calls[0]
    system = first.messages[0]["content"]
    preset = PRESET_INSTRUCTIONS.get(options.instruction)
    expected = preset or "Solve it."
    assert system.startswith(expected)
    assert ("\\boxed{}" in system) == options.format_hint
    assert ("step by step" in system) == (options.reasoning == "chain_of_thought")
    assert len(first.messages) == 2 + 2 * options.shots
    assert first.params.temperature == options.temperature
    assert first.params.max_tokens == options.max_tokens
    shown = [m["content"] for m in first.messages[1:-1:2]]
    assert not set(shown) & {"Problem:\n" + p.problem for p in ARITH.problems("test")}


def test_arith_examples_are_reserved_and_math_sample_lends_none_from_a_small_dev():
    assert len(EXAMPLES.pairs) == 8 and EXAMPLES.held_out == []
    dev = {p.problem for p in ARITH.problems("dev")} | {p.problem for p in ARITH.problems("test")}
    assert not {q for q, _ in EXAMPLES.pairs} & dev
    assert worked_examples(get_benchmark("math500")).pairs == []


def test_invalid_choices_fall_back_to_the_start_options_and_never_fail():
    start = TechniqueOptions(shots=3, samples=2, temperature=0.7)
    got, fell_back = lenient(
        {"shots": 12, "reasoning": "cot", "temperature": 0.5, "samples": 4, "junk": 1}, start
    )
    assert got == start.model_copy(update={"samples": 4})
    assert {"shots", "reasoning", "temperature"} <= set(fell_back)
    assert lenient("not a dict", start) == (start, sorted(TechniqueOptions.model_fields))
    invalid = {"shots": "three", "max_tokens": 5}
    assert TechniqueOptions.model_validate(invalid) == TechniqueOptions()


def test_an_options_change_rewrites_only_its_lines_and_keeps_hand_edits():
    old = TechniqueOptions()
    code = render_technique(old, "t", "Solve it.", EXAMPLES)
    edited = code.replace('FORMAT_HINT = "', 'EXTRA = 1\nFORMAT_HINT = "')
    new = old.model_copy(update={"shots": 3, "instruction": "careful"})
    changed = with_options(edited, old, new, "Solve it.")
    assert changed is not None and "EXTRA = 1" in changed
    assert options_of(changed) == new
    assert load(changed)["INSTRUCTION"] == PRESET_INSTRUCTIONS["careful"]
    assert with_options("def solve(problem, model):\n    return ''\n", old, new, "x") is None


@pytest.mark.parametrize(
    "start",
    [
        TechniqueOptions(),
        TechniqueOptions(instruction="concise", shots=8, samples=5, temperature=0.7),
        TechniqueOptions(reasoning="chain_of_thought", format_hint=False),
    ],
)
def test_every_neighbour_changes_one_option_and_stays_in_the_space(start):
    seen = set()
    for index in range(len(NEIGHBOUR_MOVES)):
        changed, said = neighbour(start, index)
        TechniqueOptions.model_validate(changed.model_dump())  # within every bound
        differs = {k for k, v in changed.model_dump().items() if getattr(start, k) != v}
        # one option; sampling brings its temperature along (majority vote needs variety)
        assert differs and (len(differs) == 1 or differs == {"samples", "temperature"})
        assert all(f"{key} {getattr(start, key)} -> " in said for key in differs)
        seen.add(frozenset(differs))
    assert len(seen) == len(NEIGHBOUR_MOVES)  # every move reachable, none repeats another
    assert neighbour(start, 7) == neighbour(start, 7 + len(NEIGHBOUR_MOVES))
