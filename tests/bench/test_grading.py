"""Answer extraction and equivalence: the gold solutions, a table of pairs, edge cases."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agentrxiv.bench.grading import compare_answers, extract_answer, grade, is_equivalent
from agentrxiv.bench.math500 import load_math500

EQUIVALENT = [
    (r"\frac{1}{2}", "0.5"),
    (r"\dfrac{1}{2}", r"\frac12"),
    ("1/2", r"\frac{1}{2}"),
    (r"\frac{3}{4}", "0.75"),
    ("2.50", "2.5"),
    ("10", "10.0"),
    (r"-\frac{1}{3}", r"\frac{-1}{3}"),
    ("-7", "-7.0"),
    ("[1,3)", "[1, 3)"),
    (r"(-\infty, 2]", r"(-\infty,2]"),
    ("(1,2)", r"\left(1, 2\right)"),
    (r"(3, \frac{\pi}{2})", r"\left( 3, \frac{\pi}{2} \right)"),
    (r"30^\circ", "30"),
    (r"30^{\circ}", "30"),
    (r"5 \text{ cm}", "5"),
    (r"12\text{ inches}", "12"),
    (r"\text{(C)}", "(C)"),
    (r"\text{Evelyn}", "Evelyn"),
    (r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", r"\begin{pmatrix}1\\2\end{pmatrix}"),
    (
        r"\begin{pmatrix} 1/2 & 0 \\ 0 & 1 \end{pmatrix}",
        r"\begin{pmatrix} 0.5 & 0 \\ 0 & 1 \end{pmatrix}",
    ),
    (r"2\sqrt{3}", r"\sqrt{12}"),
    (r"\sqrt3", r"\sqrt{3}"),
    (r"2\pi", r"\pi \cdot 2"),
    (r"\frac{\pi}{2}", r"\frac12\pi"),
    (r"50\%", "50"),
    ("x=5", "5"),
    (r"\{1,2,3\}", r"\{3,2,1\}"),
    ("1,000", "1000"),
    (r"\$18.90", "18.90"),
    ("3.", "3"),
    ("x^2+2x+1", "(x+1)^2"),
    (r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}"),
]

NOT_EQUIVALENT = [
    (r"\frac{1}{2}", r"\frac{1}{3}"),
    ("0.5", "0.25"),
    ("-3", "3"),
    ("[1,3)", "[1,3]"),
    ("(1,2)", "(2,1)"),
    ("30", "60"),
    (r"\text{(C)}", "(D)"),
    (r"\sqrt{3}", r"\sqrt{2}"),
    (r"\pi", "3"),
    ("2", r"2\pi"),
    (r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", r"\begin{pmatrix} 2 \\ 1 \end{pmatrix}"),
    (r"\{1,2\}", r"\{1,2,3\}"),
    ("x+1", "x-1"),
    ("10", "100"),
    ("(1,2)", "(1,3)"),
    (r"50\%", "5"),
    ("Evelyn", "Angela"),
    ("-\\frac{1}{2}", "\\frac{1}{2}"),
]


def test_table_is_large_enough() -> None:
    assert len(EQUIVALENT) + len(NOT_EQUIVALENT) >= 40


@pytest.mark.parametrize(("pred", "gold"), EQUIVALENT)
def test_equivalent_pairs(pred: str, gold: str) -> None:
    assert is_equivalent(pred, gold), (pred, gold)


@pytest.mark.parametrize(("pred", "gold"), NOT_EQUIVALENT)
def test_non_equivalent_pairs(pred: str, gold: str) -> None:
    assert not is_equivalent(pred, gold), (pred, gold)


def test_every_gold_solution_grades_correct(math500_path: Path) -> None:
    problems = load_math500(math500_path)
    assert len(problems) == 500
    wrong = [p.unique_id for p in problems if not grade(p.solution, p.answer).correct]
    assert wrong == []


def test_math_verify_decides_when_strings_differ() -> None:
    assert compare_answers(r"2\sqrt{3}", r"\sqrt{12}") == (True, "math-verify")
    assert compare_answers("0.75", r"\frac{3}{4}") == (True, "numeric")
    assert compare_answers("-2", r"\frac{4}{2}") == (False, "numeric")
    assert compare_answers(r"\dfrac12", "0.5") == (True, "string")


def test_off_main_thread_grading_works() -> None:
    verdicts: list[bool] = []
    worker = threading.Thread(target=lambda: verdicts.append(is_equivalent("0.75", r"\frac34")))
    worker.start()
    worker.join(30)
    assert verdicts == [True]


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        (r"so \boxed{\frac{1}{2}}.", r"\frac{1}{2}"),
        (r"nested \boxed{\frac{\sqrt{3}}{\left(2\right)}} ok", r"\frac{\sqrt{3}}{\left(2\right)}"),
        (r"first \boxed{1} then \boxed{2}", "2"),
        (r"\fbox{42}", "42"),
        (r"\boxed{1} and finally \fbox{7}", "7"),
        (r"the set is $\boxed{\{1, 2\}}$", r"\{1, 2\}"),
        (r"answer $\boxed 5$.", "5"),
        ("The answer is 17.", "17"),
        ("Reasoning...\nFinal answer: $x = 3$", "x = 3"),
        ("The answer is $\\frac{2}{3}$.", r"\frac{2}{3}"),
        (r"truncated \boxed{\frac{1}{2", None),
        ("no answer here", None),
        (r"empty \boxed{}", None),
        ("", None),
    ],
)
def test_extract_answer(text: str, answer: str | None) -> None:
    assert extract_answer(text) == answer


def test_grade_reports_missing_answer() -> None:
    result = grade("I am not sure.", "3")
    assert not result.correct and result.extracted is None and result.error
