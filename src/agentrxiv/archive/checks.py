"""What the server checks in a posted verification before it stores it, and the numbers it
recomputes itself. A verifier posts its per-problem marks (``details.technique_correct`` and
``details.baseline_correct``, one ``0``/``1`` per problem); the server

- refuses (422) a ``content_hash`` that is not the verified version's code (``content_hash``);
- refuses (422) accuracies, intervals, the paired difference or the McNemar p-value that are
  not what the marks give (``statistics_of`` on the marks, to ``TOLERANCE``);
- stores its own claimed value (the paper's claim by ``stats.headline_result``), status and
  effect (``stats.decide_status`` / ``stats.decide_effect``) whatever was posted.

The verifier computes its record with the same ``statistics_of``, so an honest record
always passes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from agentrxiv.archive.schemas import VerificationCreate
from agentrxiv.errors import ArchiveError
from agentrxiv.stats import (
    ResultLike,
    as_fraction,
    decide_effect,
    decide_status,
    headline_result,
    mcnemar_exact,
    newcombe_paired,
    paired_table,
    wilson_interval,
)

DELTA_METHOD = "newcombe-paired (method 10, Newcombe 1998)"
TOLERANCE = 1e-6
CHECKED = (
    "value",
    "ci_low",
    "ci_high",
    "baseline_value",
    "baseline_low",
    "baseline_high",
    "delta",
    "delta_low",
    "delta_high",
    "mcnemar_p",
)


def content_hash(files: dict[str, str]) -> str:
    """sha256 over the paper's code files: each path and content, sorted by path, each
    followed by a NUL byte."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode("utf-8") + b"\0" + files[path].encode("utf-8") + b"\0")
    return digest.hexdigest()


def canonical_benchmark(name: str) -> str:
    """The registry name of a benchmark as papers write it (``MATH-500`` -> ``math500``)."""
    lowered = name.strip().lower()
    return "math500" if lowered.replace("-", "").replace("_", "") == "math500" else lowered


def statistics_of(technique: Sequence[bool], baseline: Sequence[bool]) -> dict[str, Any]:
    """Every number of a verification from the per-problem marks of the technique and of
    the zero-shot baseline on the same problems."""
    n = len(technique)
    table = paired_table(technique, baseline)
    correct, base_correct = sum(technique), sum(baseline)
    low, high = wilson_interval(correct, n)
    base_low, base_high = wilson_interval(base_correct, n)
    delta, delta_low, delta_high = newcombe_paired(table)
    p_value = mcnemar_exact(table)
    return {
        "n": n,
        "value": correct / n if n else 0.0,
        "ci_low": low,
        "ci_high": high,
        "baseline_value": base_correct / n if n else 0.0,
        "baseline_low": base_low,
        "baseline_high": base_high,
        "delta": delta,
        "delta_low": delta_low,
        "delta_high": delta_high,
        "mcnemar_p": p_value,
        "delta_method": DELTA_METHOD,
        "effect": decide_effect(n, delta_low, delta_high, p_value),
    }


def marks_details(technique: Sequence[bool], baseline: Sequence[bool]) -> dict[str, str]:
    """The per-problem marks as a record's ``details`` carry them."""
    return {
        "technique_correct": "".join("1" if m else "0" for m in technique),
        "baseline_correct": "".join("1" if m else "0" for m in baseline),
    }


def _refuse(message: str) -> ArchiveError:
    return ArchiveError(message, status=422)


def _marks(data: VerificationCreate, key: str) -> list[bool]:
    text = data.details.get(key)
    if not isinstance(text, str) or len(text) != data.n or set(text) - {"0", "1"}:
        raise _refuse(
            f"details.{key} must give one 0/1 mark per problem ({data.n}); the server "
            "recomputes every number from the marks"
        )
    return [c == "1" for c in text]


def server_claim(results: Sequence[ResultLike], benchmark: str) -> float | None:
    """The paper's claim (as a fraction) when the verification is on its benchmark."""
    chosen = headline_result(results)
    if chosen is None or canonical_benchmark(chosen.benchmark) != canonical_benchmark(benchmark):
        return None
    return as_fraction(chosen.value)


def check_verification(
    data: VerificationCreate,
    code_files: dict[str, str],
    results: Sequence[ResultLike],
    where: str,
) -> VerificationCreate:
    """The record to store for ``data`` (posted for the version ``where``): 422 unless its
    hash and numbers check out; the claimed value, status and effect are the server's."""
    expected = content_hash(code_files)
    if data.content_hash != expected:
        raise _refuse(
            f"content_hash {data.content_hash or '(empty)'} is not the code of {where} "
            f"(its code hashes to {expected})"
        )
    claimed = server_claim(results, data.benchmark)
    if data.status == "failed":
        if data.value is not None:
            raise _refuse("a failed verification carries no verified value")
        return data.model_copy(update={"claimed_value": claimed, "effect": None})
    if data.n < 1:
        raise _refuse("a verification that ran needs n >= 1 problems")
    if data.no_model_use > data.n:
        raise _refuse(f"no_model_use ({data.no_model_use}) exceeds n ({data.n})")
    numbers = statistics_of(_marks(data, "technique_correct"), _marks(data, "baseline_correct"))
    for key in CHECKED:
        posted = getattr(data, key)
        if posted is None or abs(posted - numbers[key]) > TOLERANCE:
            raise _refuse(
                f"{key} {posted} is inconsistent with the per-problem marks "
                f"(they give {numbers[key]:.6f})"
            )
    status = decide_status(claimed, data.n, numbers["ci_low"], numbers["ci_high"])
    return data.model_copy(
        update={"claimed_value": claimed, "status": status, "effect": numbers["effect"]}
    )


def verification_from_marks(
    technique: Sequence[bool],
    baseline: Sequence[bool],
    *,
    benchmark: str,
    code_files: dict[str, str],
    **fields: Any,
) -> VerificationCreate:
    """A record the server accepts, built from per-problem marks (for verifiers other than
    ``agentrxiv verify``); the server still decides its claimed value, status and effect."""
    return VerificationCreate(
        benchmark=benchmark,
        status=fields.pop("status", "reproduced"),
        content_hash=content_hash(code_files),
        details={**marks_details(technique, baseline), **fields.pop("details", {})},
        **statistics_of(technique, baseline),
        **fields,
    )
