"""The benchmark registry: deterministic, disjoint dev/test splits for every benchmark,
arith generation, multiple-choice loading and letter/integer grading on small samples in each
transfer benchmark's own Hugging Face format (tiny JSONL fixtures written here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentrxiv.bench.answers import extract_integer, extract_letter, grade_as
from agentrxiv.bench.math500 import Problem
from agentrxiv.bench.registry import (
    ALLOWED_SPLIT_ENV,
    benchmark_names,
    get_benchmark,
    load_problems_jsonl,
    parse_spec,
)
from agentrxiv.bench.runner import evaluate
from agentrxiv.bench.techniques import FewShot, resolve_technique
from agentrxiv.errors import ConfigError
from agentrxiv.llm.base import ChatModel, ChatRequest, ChatResult, Message, Usage


def gpqa_rows(count: int) -> list[dict]:
    domains = ["Physics", "Chemistry", "Biology"]
    return [
        {
            "Record ID": f"rec{i:03d}",
            "Question": f"GPQA question {i}?",
            "Correct Answer": f"right {i}",
            "Incorrect Answer 1": f"wrong a{i}",
            "Incorrect Answer 2": f"wrong b{i}",
            "Incorrect Answer 3": f"wrong c{i}",
            "High-level domain": domains[i % 3],
        }
        for i in range(count)
    ]


def mmlu_pro_rows(count: int) -> list[dict]:
    return [
        {
            "question_id": 70 + i,
            "question": f"MMLU-Pro question {i}?",
            "options": [f"opt{j}" for j in range(10 if i % 2 else 4)],
            "answer": "ABCDEFGHIJ"[(i * 3) % (10 if i % 2 else 4)],
            "answer_index": (i * 3) % (10 if i % 2 else 4),
            "cot_content": "",
            "category": ["law", "math"][i % 2],
            "src": "test",
        }
        for i in range(count)
    ]


def medqa_rows(count: int) -> list[dict]:
    return [
        {
            "question": f"A patient presents with symptom {i}. What is the diagnosis?",
            "answer": f"disease {i}",
            "options": {k: f"disease {i}" if k == "ABCD"[i % 4] else f"other {k}" for k in "ABCD"},
            "meta_info": "step1" if i % 2 else "step2&3",
            "answer_idx": "ABCD"[i % 4],
        }
        for i in range(count)
    ]


ROWS = {"gpqa-diamond": gpqa_rows, "mmlu-pro": mmlu_pro_rows, "medqa": medqa_rows}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def mc_files(tmp_path: Path) -> dict[str, Path]:
    """A 30-row JSONL file per multiple-choice benchmark, in its upstream column names."""
    return {name: write_jsonl(tmp_path / f"{name}.jsonl", rows(30)) for name, rows in ROWS.items()}


def all_benchmarks(mc_files: dict[str, Path]) -> dict[str, object]:
    built = {
        "math500": get_benchmark("math500"),
        "arith": get_benchmark("arith", dev_size=40, test_size=60),
    }
    built.update({name: get_benchmark(name, data=path) for name, path in mc_files.items()})
    return built


def test_every_registered_benchmark_splits_deterministically_and_disjointly(
    mc_files: dict[str, Path],
) -> None:
    assert set(benchmark_names()) == {"math500", "arith", "gpqa-diamond", "mmlu-pro", "medqa"}
    first, second = all_benchmarks(mc_files), all_benchmarks(mc_files)
    for name, bench in first.items():
        dev, test = bench.problems("dev"), bench.problems("test")
        dev_ids, test_ids = {p.unique_id for p in dev}, {p.unique_id for p in test}
        assert dev and test, name
        assert not dev_ids & test_ids, name
        assert len(dev_ids) == len(dev) and len(test_ids) == len(test), name
        assert {p.unique_id for p in bench.problems("all")} == dev_ids | test_ids, name
        again = second[name]
        assert [p.model_dump() for p in again.problems("dev")] == [p.model_dump() for p in dev]
        assert [p.model_dump() for p in again.problems("test")] == [p.model_dump() for p in test]
        assert bench.answer_format == {"math500": "math", "arith": "integer"}.get(name, "letter")


def test_math500_sample_split_is_proportional_and_seed_dependent() -> None:
    bench = get_benchmark("math500")
    assert bench.sizes() == {"dev": 8, "test": 12}  # 40% of the bundled 20
    other = get_benchmark("math500", seed=7)
    assert other.sizes() == {"dev": 8, "test": 12}
    assert {p.unique_id for p in other.problems("dev")} != {
        p.unique_id for p in bench.problems("dev")
    }
    assert bench.problems("test", limit=3) == bench.problems("test")[:3]


def test_full_math500_split_is_200_dev_300_test_stratified(math500_path: Path) -> None:
    bench = get_benchmark("math500", data=math500_path)
    assert bench.sizes() == {"dev": 200, "test": 300}
    dev = bench.problems("dev")
    for subject in {p.subject for p in bench.problems("all")}:
        total = sum(p.subject == subject for p in bench.problems("all"))
        assert abs(sum(p.subject == subject for p in dev) - 0.4 * total) <= 1.5


def test_arith_generation_is_deterministic_and_settable() -> None:
    bench = get_benchmark("arith")
    assert bench.sizes() == {"dev": 200, "test": 300}
    assert bench.spec == "arith" and bench.default_max_tokens == 32
    first = bench.problems("test", limit=5)
    assert [p.model_dump() for p in first] == [
        p.model_dump() for p in get_benchmark("arith").problems("test", limit=5)
    ]
    for problem in bench.problems("all"):
        left, right = problem.problem.removeprefix("What is ").removesuffix("?").split(" + ")
        assert int(left) + int(right) == int(problem.answer)
        assert 10 <= int(left) <= 99 and problem.answer_format == "integer"
    examples = {p.unique_id for p in bench.few_shot_examples(3)}
    assert not examples & {p.unique_id for p in bench.problems("all")}
    hard = get_benchmark("arith:digits=3,operation=mul,seed=5")
    assert hard.spec == "arith:digits=3,operation=mul,seed=5"
    assert hard.seed == 5 and " * " in hard.problems("dev")[0].problem
    assert get_benchmark(hard.spec).problems("test") == hard.problems("test")
    assert get_benchmark("arith", seed=1).problems("test") != bench.problems("test")
    assert parse_spec("arith:digits=3, operands=3") == ("arith", {"digits": "3", "operands": "3"})


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("nope", {}, "unknown benchmark 'nope'"),
        ("arith", {"digits": 0}, "arith option digits"),
        ("arith", {"operation": "pow"}, "arith option operation"),
        ("arith", {"colour": "red"}, "arith option colour"),
        ("arith", {"digits": 1, "dev_size": 100}, "give only 81 expressions"),
        ("arith", {"data": "x.jsonl"}, "reads no --data"),
        ("mmlu-pro", {}, "needs data"),
        ("medqa", {"data": "/nonexistent.jsonl"}, "not found"),
        ("math500", {"digits": 2}, "takes no options"),
        ("arith:digits", {}, "expected key=value"),
    ],
)
def test_bad_benchmark_requests_are_one_clear_error(name: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        get_benchmark(name, **kwargs).problems("dev")


def test_bad_multiple_choice_line_names_line_and_field(tmp_path: Path) -> None:
    rows = medqa_rows(3)
    del rows[1]["answer_idx"]
    path = write_jsonl(tmp_path / "medqa.jsonl", rows)
    with pytest.raises(ConfigError, match=r"line 2: missing field 'answer_idx'"):
        get_benchmark("medqa", data=path).problems("all")


def test_multiple_choice_prompts_present_options_and_gold_letters(
    mc_files: dict[str, Path],
) -> None:
    gpqa = get_benchmark("gpqa-diamond", data=mc_files["gpqa-diamond"]).problems("all")
    for problem, row in zip(gpqa, gpqa_rows(30), strict=True):
        lines = problem.problem.splitlines()
        assert lines[0] == row["Question"]
        options = {line[0]: line[3:] for line in lines if line[1:3] == ") "}
        assert set(options) == set("ABCD")
        assert options[problem.answer] == row["Correct Answer"]
        assert "letter (A-D)" in lines[-1]
    assert len({p.answer for p in gpqa}) > 1  # the seed shuffles where the right answer sits
    mmlu = get_benchmark("mmlu-pro", data=mc_files["mmlu-pro"]).problems("all")
    assert "J) opt9" in mmlu[1].problem and mmlu[1].subject == "math"
    assert mmlu[1].answer == mmlu_pro_rows(2)[1]["answer"]
    medqa = get_benchmark("medqa", data=mc_files["medqa"]).problems("all")
    assert f"{medqa[2].answer}) disease 2" in medqa[2].problem


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("Answer: C", "C"),
        ("The answer is (B).", "B"),
        ("so \\boxed{D}", "D"),
        ("\\boxed{\\text{A}}", "A"),
        ("I think (C) is right", "C"),
        ("Option A looks wrong, B too; I pick D", "D"),
        ("answer is b", None),
        ("no idea", None),
        ("The final answer is: **C**", "C"),
    ],
)
def test_letter_extraction(text: str, letter: str | None) -> None:
    assert extract_letter(text, "ABCD") == letter


def test_letter_grading_respects_the_options_offered() -> None:
    problem_text = "Q?\n\nA) x\nB) y\nC) z\nD) w\n\nAnswer with the letter (A-D)."
    assert grade_as("letter", "Answer: B", "B", problem_text).correct
    assert not grade_as("letter", "Answer: B", "C", problem_text).correct
    assert grade_as("letter", "I choose E... no, D", "D", problem_text).extracted == "D"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("\\boxed{118}", "118"),
        ("34 + 84 = 118. The answer is \\boxed{118}.", "118"),
        ("The answer is 1,234.", "1234"),
        ("we add 51 and 92, which gives 143", "143"),
        ("\\boxed{-7}", "-7"),
        ("nothing", None),
    ],
)
def test_integer_extraction(text: str, value: str | None) -> None:
    assert extract_integer(text) == value


class KeyModel(ChatModel):
    """Answers by a function of the last user message."""

    spec = "test/key"

    def __init__(self, reply) -> None:  # noqa: ANN001
        self.reply = reply
        self.prompts: list[list[Message]] = []

    def complete(self, request: ChatRequest) -> ChatResult:
        messages = list(request.messages)
        self.prompts.append(messages)
        return ChatResult(text=self.reply(messages[-1]["content"]), model=self.spec, usage=Usage())


def test_evaluate_grades_with_the_benchmark_and_keeps_problem_order(
    mc_files: dict[str, Path],
) -> None:
    bench = get_benchmark("mmlu-pro", data=mc_files["mmlu-pro"])
    problems = bench.problems("test")
    golds = {p.problem: p.answer for p in problems}
    prefix = "Problem:\n"
    model = KeyModel(lambda text: f"Answer: {golds[text.removeprefix(prefix)]}")
    report = evaluate("zero-shot", model, problems, concurrency=4, benchmark=bench)
    assert report.accuracy == 1.0 and report.metadata["benchmark"] == "mmlu-pro"
    assert [r.unique_id for r in report.records] == [p.unique_id for p in problems]
    # Without a benchmark each problem is graded by its own answer_format.
    assert evaluate("zero-shot", model, problems, concurrency=4).accuracy == 1.0


def test_few_shot_uses_examples_outside_the_test_split() -> None:
    bench = get_benchmark("arith")
    technique = resolve_technique("few-shot", benchmark=bench, shots=3, max_tokens=16)
    assert isinstance(technique, FewShot) and technique.max_tokens == 16
    model = KeyModel(lambda text: "\\boxed{0}")
    technique("What is 1 + 1?", model)
    shown = [m["content"] for m in model.prompts[0][1:-1]]
    assert len(shown) == 6 and "The answer is \\boxed{" in shown[1]
    test_texts = {p.problem for p in bench.problems("test")}
    assert not {text.removeprefix("Problem:\n") for text in shown[::2]} & test_texts
    assert FewShot().examples == technique.examples  # the default: arith's reserved examples


def test_write_jsonl_round_trips_and_the_split_guard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = get_benchmark("arith", dev_size=20, test_size=30)
    path = bench.write_jsonl("dev", tmp_path / "dev.jsonl")
    loaded = load_problems_jsonl(path)
    assert loaded == bench.problems("dev") and all(isinstance(p, Problem) for p in loaded)
    monkeypatch.setenv(ALLOWED_SPLIT_ENV, "dev")
    assert len(get_benchmark("arith").problems("dev")) == 200
    for split in ("test", "all"):
        with pytest.raises(ConfigError, match="only the dev split"):
            get_benchmark("arith").problems(split)
