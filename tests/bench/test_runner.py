"""``evaluate`` with deterministic models: concurrency, failures in the denominator, the
Wilson interval, breakdowns, run-level faults and ledger accounting."""

from __future__ import annotations

import math
from typing import Any

import pytest

from agentrxiv.bench.math500 import Problem
from agentrxiv.bench.runner import EvaluationStopped, evaluate
from agentrxiv.bench.techniques import SelfConsistency, majority_answer, resolve_technique
from agentrxiv.errors import BudgetExceededError, ConfigError
from agentrxiv.llm.errors import UnreachableError
from agentrxiv.llm.ledger import Budget, Ledger
from agentrxiv.llm.registry import get_model
from agentrxiv.llm.scripted import register_script, unregister_script
from agentrxiv.stats import wilson_interval


def _boxed(answer: str) -> str:
    return f"Thinking. \\boxed{{{answer}}}"


def _raise(error: BaseException) -> Any:
    def reply() -> str:
        raise error

    return reply


def test_wilson_matches_hand_computation() -> None:
    # 15 of 20: p=.75, z=1.96: centre=(.75+.09604)/1.19208, half=1.96*sqrt(.009375+.0024)/1.19208
    low, high = wilson_interval(15, 20)
    z = 1.959963984540054
    centre = (0.75 + z * z / 40) / (1 + z * z / 20)
    half = z * math.sqrt(0.75 * 0.25 / 20 + z * z / 1600) / (1 + z * z / 20)
    assert (low, high) == pytest.approx((centre - half, centre + half))
    assert (low, high) == pytest.approx((0.5313, 0.8881), abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_evaluate_scores_groups_and_counts_failures(
    sample_problems: list[Problem], answer_key_model: Any
) -> None:
    problems = sample_problems
    replies: dict[str, Any] = {p.problem: _boxed(p.answer) for p in problems}
    replies[problems[0].problem] = _boxed("\\text{nonsense}")
    replies[problems[1].problem] = "no box at all"
    replies[problems[2].problem] = _raise(ValueError("technique broke"))
    model = answer_key_model(replies, delay_s=0.05)
    seen: list[str] = []
    report = evaluate(
        "zero-shot", model, problems, concurrency=8, progress=lambda r: seen.append(r.unique_id)
    )

    assert report.n == 20 and report.correct == 17
    assert report.accuracy == pytest.approx(0.85)
    assert report.ci95 == pytest.approx(wilson_interval(17, 20))
    assert sorted(seen) == sorted(p.unique_id for p in problems)
    assert [r.unique_id for r in report.records] == [p.unique_id for p in problems]
    broken = report.records[2]
    assert not broken.correct and broken.method == "error" and "technique broke" in broken.error
    assert report.records[1].error == "no final answer found"
    assert report.failed == 1
    assert 2 <= model.max_active <= 8
    # breakdowns add up and hold the wrong ones where they belong
    assert sum(g.n for g in report.by_subject.values()) == 20
    assert sum(g.correct for g in report.by_level.values()) == 17
    wrong_subjects = {problems[i].subject for i in range(3)}
    for subject, group in report.by_subject.items():
        assert (group.correct < group.n) == (subject in wrong_subjects)
    assert report.usage.prompt_tokens == 10 * 19  # the failing call returned no usage
    assert report.cost_usd == pytest.approx(0.019)
    assert report.metadata["complete"] is True


def test_run_level_fault_stops_and_keeps_finished(
    sample_problems: list[Problem], answer_key_model: Any
) -> None:
    problems = sample_problems
    replies: dict[str, Any] = {p.problem: _boxed(p.answer) for p in problems}
    for p in problems[5:]:
        replies[p.problem] = _raise(UnreachableError("cannot connect to http://x"))
    model = answer_key_model(replies)
    with pytest.raises(EvaluationStopped, match="cannot connect") as caught:
        evaluate("cot", model, problems, concurrency=1)
    report = caught.value.report
    assert report.n == 5 and report.correct == 5
    assert report.metadata["complete"] is False
    assert model.calls < 20  # it stopped instead of trying every problem


def test_ledger_sees_every_token_and_budget_stops(sample_problems: list[Problem]) -> None:
    answers = {p.problem: _boxed(p.answer) for p in sample_problems}
    register_script("bench-key", lambda messages: answers[messages[-1]["content"][9:]])
    try:
        ledger = Ledger()
        model = get_model("scripted/bench-key", ledger=ledger, cache=False)
        report = evaluate("cot", model, sample_problems[:6], concurrency=3)
        assert report.correct == 6
        totals = ledger.totals("bench")
        assert totals.calls == 6
        assert totals.usage.prompt_tokens == report.usage.prompt_tokens
        assert totals.usage.completion_tokens == report.usage.completion_tokens
        assert {r.tag for r in ledger.records} == {
            f"bench/{p.unique_id}" for p in sample_problems[:6]
        }

        tight = Ledger(budget=Budget(max_tokens=report.usage.total_tokens // 2))
        model = get_model("scripted/bench-key", ledger=tight, cache=False)
        with pytest.raises(EvaluationStopped) as caught:
            evaluate("cot", model, sample_problems[:6], concurrency=1)
        assert isinstance(caught.value.cause, BudgetExceededError)
        assert 0 < caught.value.report.n < 6
    finally:
        unregister_script("bench-key")


def test_self_consistency_votes_with_distinct_seeds(answer_key_model: Any) -> None:
    samples = iter(["\\boxed{0.5}", "\\boxed{1/3}", "\\boxed{\\frac12}", "\\boxed{2}", "nothing"])
    model = answer_key_model({"P": lambda: next(samples)})
    seeds: list[int | None] = []
    inner_chat = model.chat

    def spying_chat(messages: Any, **kwargs: Any) -> Any:
        seeds.append(kwargs.get("seed"))
        assert kwargs["temperature"] > 0
        return inner_chat(messages, **kwargs)

    model.chat = spying_chat
    text = SelfConsistency(k=5, seed=10)("P", model)
    assert seeds == [10, 11, 12, 13, 14]
    assert text.endswith("\\boxed{0.5}")
    assert "2 of 5" in text
    assert majority_answer([]) is None


def test_resolve_technique_forms(tmp_path: Any) -> None:
    assert resolve_technique("self-consistency", samples=3).k == 3
    path = tmp_path / "mine.py"
    path.write_text("def solve(problem, model):\n    return '\\\\boxed{1}'\n")
    assert resolve_technique(f"{path}:solve")("x", None) == "\\boxed{1}"
    assert resolve_technique("agentrxiv.bench.techniques:ZeroShot")
    for bad, message in [
        ("nope", "unknown technique"),
        (f"{tmp_path}/missing.py:solve", "not found"),
        (f"{path}:absent", "no attribute"),
        ("no_such_module_xyz:f", "cannot import"),
    ]:
        with pytest.raises(ConfigError, match=message):
            resolve_technique(bad)
