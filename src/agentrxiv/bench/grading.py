"""Answer extraction and equivalence grading for MATH-style answers.

``extract_answer`` takes the last ``\\boxed{}``/``\\fbox{}`` (balanced braces) or a
"The answer is ..." line; ``is_equivalent`` compares with Hendrycks-style string
normalisation and with math-verify (SymPy), under a timeout because SymPy can hang.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

logger = logging.getLogger(__name__)

#: Seconds math-verify may spend parsing or comparing one answer (main thread only).
MATH_VERIFY_TIMEOUT_S = 3
#: Off the main thread SIGALRM timeouts are impossible, so only short answers reach SymPy.
OFF_MAIN_THREAD_MAX_CHARS = 60

_BOX_COMMANDS = ("\\boxed", "\\fbox")
_FALLBACK_PATTERNS = (
    re.compile(r"final answer\s*(?:is)?\s*[:：]?\s*(.+)", re.IGNORECASE),
    re.compile(r"the answer is\s*[:：]?\s*(.+)", re.IGNORECASE),
)


@dataclass(frozen=True)
class GradeResult:
    """The verdict on one model output: ``method`` says which check decided it."""

    correct: bool
    extracted: str | None
    method: str
    error: str | None = None


def _balanced_group(text: str, start: int) -> str | None:
    """Content of the ``{...}`` group opening at ``text[start]``; None if never closed."""
    depth = 0
    index = start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2  # an escaped character such as \{ never opens or closes a group
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : index]
        index += 1
    return None


def _last_box(text: str) -> str | None:
    """Content of the last complete ``\\boxed{..}``, ``\\fbox{..}`` or ``\\boxed x``."""
    positions = sorted(
        (match.start(), match.end())
        for command in _BOX_COMMANDS
        for match in re.finditer(re.escape(command) + r"(?![A-Za-z])", text)
    )
    for _, end in reversed(positions):
        rest = text[end:]
        stripped = rest.lstrip()
        if stripped.startswith("{"):
            content = _balanced_group(text, end + len(rest) - len(stripped))
        elif rest[:1] == " ":
            content = re.split(r"[$\s]", stripped, maxsplit=1)[0]
        else:
            content = None
        if content is not None and content.strip():
            return content.strip()
    return None


def _clean_fallback(raw: str) -> str:
    answer = raw.strip().splitlines()[0].strip()
    inner = _last_box(answer)
    if inner is not None:
        return inner
    answer = answer.strip("*").strip()
    answer = re.sub(r"^\$+|\$+$", "", answer.rstrip(".").rstrip()).strip()
    answer = re.sub(r"^\\\(|\\\)$|^\\\[|\\\]$", "", answer).strip()
    return answer.rstrip(".").strip()


def extract_answer(text: str) -> str | None:
    """The final answer in a model output, or None if it states none."""
    if not text:
        return None
    boxed = _last_box(text)
    if boxed is not None:
        return boxed
    for pattern in _FALLBACK_PATTERNS:
        matches = list(pattern.finditer(text))
        if matches:
            answer = _clean_fallback(matches[-1].group(1))
            if answer:
                return answer
    return None


# --- Hendrycks-style normalisation (after the MATH repository's ``strip_string``) ---------

_UNIT_WORDS = (
    r"degrees?|cm|centimeters?|meters?|m|km|inches|inch|feet|foot|ft|units?|square|sq|"
    r"dollars?|cents?|hours?|minutes?|seconds?|days?|mph|points?|ways?|years?|"
    r"grams?|g|kg|pounds?|miles?|people|students?|times?"
)


def _fix_fracs(text: str) -> str:
    # \frac12 -> \frac{1}{2}, \frac1{2} -> \frac{1}{2}
    text = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", text)
    text = re.sub(r"\\frac(\d)\{", r"\\frac{\1}{", text)
    return re.sub(r"\\frac\{([^{}]*)\}(\d)", r"\\frac{\1}{\2}", text)


def _fix_sqrt(text: str) -> str:
    return re.sub(r"\\sqrt(\w)", r"\\sqrt{\1}", text)


def _fix_slash_fraction(text: str) -> str:
    match = re.fullmatch(r"(-?\d+)/(\d+)", text)
    return f"\\frac{{{match.group(1)}}}{{{match.group(2)}}}" if match else text


def _strip_text_commands(text: str) -> str:
    # \text{ cm} units at the end go; other \text{x}/\mbox{x}/\mathrm{x} keep their content
    unit = r"\\(?:text|mbox|textbf|mathrm)\{\s*(?:" + _UNIT_WORDS + r")\^?\d?\s*\}$"
    text = re.sub(unit, "", text)
    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"\\(?:text|textbf|mbox|mathrm|mathbf)\{([^{}]*)\}", r"\1", text)
    return text


def normalize_answer(answer: str) -> str:
    """Hendrycks-style canonical string of an answer, for exact comparison."""
    text = answer.strip().replace("\n", "")
    text = text.rstrip(".").strip()
    text = text.replace("\\!", "").replace("\\,", "").replace("\\;", "").replace("\\ ", "")
    text = re.sub(r"\\\\(?=[a-zA-Z{}])", r"\\", text)
    text = text.replace("tfrac", "frac").replace("dfrac", "frac")
    text = text.replace("\\left", "").replace("\\right", "")
    text = re.sub(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|°", "", text)
    text = text.replace("\\$", "").replace("$", "")
    text = _strip_text_commands(text)
    text = re.sub(r"\s*(?:" + _UNIT_WORDS + r")$", "", text) if re.search(r"\d", text) else text
    text = text.replace("\\%", "").replace("%", "")
    text = text.replace(" .", " 0.").replace("{.", "{0.")
    if text.startswith("."):
        text = "0" + text
    if re.fullmatch(r"[a-zA-Z]\s*=\s*[^=]+", text):
        text = text.split("=", 1)[1]
    text = _fix_sqrt(text)
    text = text.replace(" ", "")
    text = _fix_fracs(text)
    text = re.sub(r"^(-?\d+)\.0+$", r"\1", text)
    if text == "0.5":
        text = "\\frac{1}{2}"
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text) if re.fullmatch(r"[\d,]+", text) else text
    return _fix_slash_fraction(text)


def _as_fraction(normalized: str) -> Fraction | None:
    """The exact value of a normalised plain number (``-3``, ``2.5``, ``\\frac{1}{2}``)."""
    if re.fullmatch(r"-?\d+(?:\.\d+)?", normalized):
        return Fraction(normalized)
    match = re.fullmatch(r"(-?)\\frac\{(-?\d+)\}\{(\d+)\}", normalized)
    if match and int(match.group(3)) != 0:
        value = Fraction(int(match.group(2)), int(match.group(3)))
        return -value if match.group(1) else value
    return None


def _numeric_verdict(pred: str, gold: str) -> bool | None:
    """Exact comparison when both are plain numbers; None when SymPy should decide
    (not numbers, or unequal with a decimal involved, where rounding may matter)."""
    pred_value, gold_value = _as_fraction(pred), _as_fraction(gold)
    if pred_value is None or gold_value is None:
        return None
    if pred_value == gold_value:
        return True
    return None if "." in pred + gold else False


# --- math-verify ------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _parse(latex: str, timeout: int | None) -> list[Any]:
    from math_verify import parse

    return parse(f"${latex}$", parsing_timeout=timeout)


def math_verify_equal(pred: str, gold: str) -> bool | None:
    """math-verify's verdict alone, or None when it cannot parse a side (or may not run)."""
    in_main = threading.current_thread() is threading.main_thread()
    if not in_main and max(len(pred), len(gold)) > OFF_MAIN_THREAD_MAX_CHARS:
        return None
    from math_verify import verify

    # signal.alarm only works in the main thread; elsewhere only short inputs get here
    timeout = MATH_VERIFY_TIMEOUT_S if in_main else None
    try:
        gold_parsed = _parse(gold, timeout)
        pred_parsed = _parse(pred, timeout)
        if not gold_parsed or not pred_parsed:
            return None
        return bool(verify(gold_parsed, pred_parsed, timeout_seconds=timeout))
    except Exception:  # noqa: BLE001 - a parser crash means "undecided", never a crash here
        logger.debug("math-verify failed on %r vs %r", pred, gold, exc_info=True)
        return None


def compare_answers(pred: str, gold: str) -> tuple[bool, str]:
    """Whether ``pred`` equals ``gold`` and the method that decided it (``string``,
    ``numeric`` or ``math-verify``)."""
    pred_norm, gold_norm = normalize_answer(pred), normalize_answer(gold)
    if pred_norm == gold_norm:
        return True, "string"
    numeric = _numeric_verdict(pred_norm, gold_norm)
    if numeric is not None:
        return numeric, "numeric"
    verdict = math_verify_equal(pred, gold)
    if verdict is None:
        return False, "string"
    return verdict, "math-verify"


def is_equivalent(pred: str, gold: str) -> bool:
    """Whether two final answers denote the same mathematical object."""
    return compare_answers(pred, gold)[0]


def grade(output: str, gold: str) -> GradeResult:
    """Extract the final answer from ``output`` and compare it with ``gold``."""
    extracted = extract_answer(output)
    if extracted is None:
        return GradeResult(False, None, "none", "no final answer found")
    correct, method = compare_answers(extracted, gold)
    return GradeResult(correct, extracted, method)
