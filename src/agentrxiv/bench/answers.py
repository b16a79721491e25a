"""Answer extraction and grading per answer format: ``math`` (LaTeX, see ``grading``),
``integer`` (the last boxed / stated / written integer) and ``letter`` (the chosen option of
a multiple-choice question). ``grade_as`` dispatches on the format."""

from __future__ import annotations

import re
from typing import Literal

from agentrxiv.bench.grading import GradeResult, _last_box, grade

AnswerFormat = Literal["math", "integer", "letter"]
ANSWER_FORMATS: tuple[str, ...] = ("math", "integer", "letter")
ALL_LETTERS = "ABCDEFGHIJ"

_INT = r"[-−]?\d{1,3}(?:,\d{3})+(?!\d)|[-−]?\d+"
_INT_RE = re.compile(_INT)
_STATED_INT = re.compile(
    r"(?:final answer|answer)\s*(?:is)?\s*[:：=]?\s*\**\s*\$?(" + _INT + ")", re.I
)
_OPTION_LINE = re.compile(r"^\s*\(?([A-J])[).:]\s", re.MULTILINE)


def _to_int(text: str) -> int | None:
    cleaned = text.replace("−", "-").replace(",", "").replace(" ", "").strip("$.")
    try:
        return int(cleaned)
    except ValueError:
        return None


def extract_integer(text: str) -> str | None:
    """The integer a model output answers: the last ``\\boxed{}`` holding an integer, else the
    last "answer is N", else the last integer written anywhere."""
    if not text:
        return None
    boxed = _last_box(text)
    if boxed is not None:
        found = _INT_RE.findall(boxed.replace("\\!", "").replace("{,}", ","))
        if found:
            value = _to_int(found[-1])
            if value is not None:
                return str(value)
    for candidates in (_STATED_INT.findall(text), _INT_RE.findall(text)):
        if candidates:
            value = _to_int(candidates[-1])
            if value is not None:
                return str(value)
    return None


def grade_integer(output: str, gold: str) -> GradeResult:
    """Whether the extracted integer equals ``gold``."""
    extracted = extract_integer(output)
    if extracted is None:
        return GradeResult(False, None, "none", "no integer found")
    gold_value = _to_int(gold)
    return GradeResult(
        gold_value is not None and int(extracted) == gold_value, extracted, "integer"
    )


def option_letters(problem_text: str) -> str:
    """The option letters a question presents (lines such as ``A) ...``); A-J if none."""
    found = _OPTION_LINE.findall(problem_text)
    if not found:
        return ALL_LETTERS
    return ALL_LETTERS[: ALL_LETTERS.index(max(found)) + 1]


def extract_letter(text: str, letters: str = ALL_LETTERS) -> str | None:
    """The chosen option: ``\\boxed{C}``, then "Answer: C" / "the answer is (C)", then the
    last "(C)", then the last standalone capital letter among ``letters``."""
    if not text:
        return None
    allowed = f"[{letters}]"
    boxed = _last_box(text)
    if boxed is not None:
        inner = re.sub(r"\\(?:text|textbf|mathrm)\{([^{}]*)\}", r"\1", boxed).strip()
        match = re.match(rf"^\(?({allowed})(?:\)|\.|:|\s|$)", inner)
        if match:
            return match.group(1)
    patterns = (
        rf"(?i:answer)\s*(?i:is)?\s*[:：]?\s*\**\s*(?i:option\s*)?\(?({allowed})\b",
        rf"\(({allowed})\)",
        rf"(?<![A-Za-z0-9])({allowed})(?![A-Za-z0-9])",
    )
    for pattern in patterns:
        matches = [m for m in re.findall(pattern, text) if m in letters]
        if matches:
            return matches[-1]
    return None


def grade_letter(output: str, gold: str, letters: str = ALL_LETTERS) -> GradeResult:
    """Whether the chosen option letter equals ``gold``."""
    extracted = extract_letter(output, letters)
    if extracted is None:
        return GradeResult(False, None, "none", "no option letter found")
    return GradeResult(extracted == gold.strip().upper(), extracted, "letter")


def grade_as(answer_format: str, output: str, gold: str, problem_text: str = "") -> GradeResult:
    """Grade ``output`` against ``gold`` in ``answer_format`` (math, integer or letter)."""
    if answer_format == "integer":
        return grade_integer(output, gold)
    if answer_format == "letter":
        return grade_letter(output, gold, option_letters(problem_text))
    return grade(output, gold)
