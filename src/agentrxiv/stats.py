"""Statistics of the archive, one copy for every layer (the harness, the verifier and the
server that re-checks posted verifications): the Wilson interval of an accuracy, the paired
difference between a technique and the baseline on the same problems (Newcombe's hybrid
score interval for paired proportions with the continuity-corrected correlation, "method
10" of Newcombe 1998, Stat Med 17:2635), the exact McNemar test (a two-sided binomial test
on the discordant pairs), and the rules that turn them into a verification's ``status`` and
``effect`` and that pick a paper's claim. It imports nothing from the rest of the package."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

Z95 = 1.959963984540054


def wilson_interval(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0, 1) when ``n`` is 0."""
    if n == 0:
        return 0.0, 1.0
    p = correct / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class PairedTable:
    """Counts of a paired 2x2 table: technique (t) vs baseline (b) right/wrong per problem."""

    both: int  # t right, b right
    only_technique: int  # t right, b wrong
    only_baseline: int  # t wrong, b right
    neither: int  # t wrong, b wrong

    @property
    def n(self) -> int:
        """Number of paired problems."""
        return self.both + self.only_technique + self.only_baseline + self.neither


def paired_table(technique: Sequence[bool], baseline: Sequence[bool]) -> PairedTable:
    """The 2x2 table of two equally long per-problem correctness lists."""
    if len(technique) != len(baseline):
        raise ValueError(f"unpaired results: {len(technique)} vs {len(baseline)} problems")
    pairs = list(zip(technique, baseline, strict=True))
    return PairedTable(
        both=sum(1 for t, b in pairs if t and b),
        only_technique=sum(1 for t, b in pairs if t and not b),
        only_baseline=sum(1 for t, b in pairs if b and not t),
        neither=sum(1 for t, b in pairs if not t and not b),
    )


def combine_newcombe(
    p1: float,
    ci1: tuple[float, float],
    p2: float,
    ci2: tuple[float, float],
    phi: float = 0.0,
) -> tuple[float, float]:
    """Newcombe's square-and-add of two Wilson intervals into one for ``p1 - p2``.

    ``phi = 0`` is the independent-samples method 10 (Newcombe 1998, Stat Med 17:873); the
    paired version corrects for the correlation ``phi`` of the two outcomes."""
    (l1, u1), (l2, u2) = ci1, ci2
    diff = p1 - p2
    lower_sq = (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2
    upper_sq = (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2
    low = diff - math.sqrt(max(lower_sq, 0.0))
    high = diff + math.sqrt(max(upper_sq, 0.0))
    return max(-1.0, low), min(1.0, high)


def continuity_corrected_phi(table: PairedTable) -> float:
    """The correlation of the paired outcomes as Newcombe's method 10 uses it: ``AD - BC``
    shrunk towards 0 by ``N/2`` when positive (0 when that crosses 0), kept when negative.

    Without the correction the interval is too narrow (the same rule as R's
    ``biostatUZH::confIntPairedProportion``; Altman et al. 2000, p. 52)."""
    a, b, c, d = table.both, table.only_technique, table.only_baseline, table.neither
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    if not margins:
        return 0.0
    cross = a * d - b * c
    if cross > table.n / 2:
        corrected = cross - table.n / 2
    elif cross < 0:
        corrected = float(cross)
    else:
        corrected = 0.0
    return corrected / math.sqrt(margins)


def newcombe_paired(table: PairedTable, z: float = Z95) -> tuple[float, float, float]:
    """(difference, low, high) of technique minus baseline accuracy on the same problems."""
    n = table.n
    if n == 0:
        return 0.0, -1.0, 1.0
    a, b, c = table.both, table.only_technique, table.only_baseline
    p1, p2 = (a + b) / n, (a + c) / n
    phi = continuity_corrected_phi(table)
    low, high = combine_newcombe(
        p1, wilson_interval(a + b, n, z), p2, wilson_interval(a + c, n, z), phi
    )
    return p1 - p2, low, high


def binomial_two_sided(k: int, n: int) -> float:
    """Exact two-sided p-value of ``k`` successes in ``n`` fair coin flips (p = 0.5)."""
    if n == 0:
        return 1.0
    tail = min(k, n - k)
    mass = sum(math.comb(n, i) for i in range(tail + 1)) / 2**n
    return min(1.0, 2 * mass)


def mcnemar_exact(table: PairedTable) -> float:
    """Exact McNemar p-value: the discordant pairs tested against a fair split."""
    return binomial_two_sided(table.only_technique, table.only_technique + table.only_baseline)


# ---------------------------------------------------------------- decisions

# A sample decides a claim only with at least this many problems and a 95% interval of the
# verified accuracy at most this wide (Wilson intervals reach 0.40 at n = 22 in the worst
# case, p = 0.5). 0/4 gives (0, 0.49): it rules out a claim of 0.9 but cannot back 0.4.
MIN_DECIDING_N = 10
MAX_DECIDING_WIDTH = 0.40
ALPHA = 0.05


def decide_status(
    claimed: float | None, n: int, ci_low: float | None, ci_high: float | None
) -> str:
    """``not reproduced`` when the claim is above the verified 95% interval (decided at any
    n); otherwise ``inconclusive`` when the sample is too small or the interval too wide to
    back the claim, else ``reproduced``. Nothing claimed (a transfer): ``reproduced``."""
    if claimed is None:
        return "reproduced"
    low, high = (ci_low or 0.0), (ci_high if ci_high is not None else 1.0)
    if claimed > high + 1e-12:
        return "not reproduced"
    if n < MIN_DECIDING_N or high - low > MAX_DECIDING_WIDTH:
        return "inconclusive"
    return "reproduced"


def decide_effect(
    n: int, delta_low: float | None, delta_high: float | None, mcnemar_p: float | None
) -> str:
    """Whether the gain over the baseline holds: ``confirmed`` only when the paired interval
    excludes 0 on the positive side and the exact McNemar test agrees at ``ALPHA``;
    ``not confirmed`` when the interval shows no gain (its upper bound is at most 0) or is
    narrow enough to have shown one; ``inconclusive`` otherwise (too few problems, the two
    tests disagree, or a wide interval around 0)."""
    if delta_low is None or delta_high is None or mcnemar_p is None:
        return "inconclusive"
    if delta_high <= 0:
        return "not confirmed"
    if n < MIN_DECIDING_N:
        return "inconclusive"
    if delta_low > 0 and mcnemar_p < ALPHA:
        return "confirmed"
    if delta_low > 0:
        return "inconclusive"
    return "not confirmed" if delta_high - delta_low <= MAX_DECIDING_WIDTH else "inconclusive"


# ---------------------------------------------------------------- a paper's claim


class ResultLike(Protocol):
    """A reported result row (the API's ``ResultPublic`` or the stored ``Result``)."""

    benchmark: str
    metric: str
    value: float


R = TypeVar("R", bound=ResultLike)


def as_fraction(value: float | None) -> float | None:
    """A claimed accuracy as a fraction: values in (1, 100] are read as percentages."""
    if value is None:
        return None
    return value / 100 if 1 < value <= 100 else value


def headline_result(results: Sequence[R]) -> R | None:
    """The one rule for a paper's claim: its first ``accuracy`` result that is not a
    baseline, else its first non-baseline result, else its first result."""
    if not results:
        return None
    claims = [r for r in results if not r.metric.lower().startswith("baseline")] or list(results)
    return next((r for r in claims if r.metric.lower() == "accuracy"), claims[0])


def claimed_fraction(results: Sequence[ResultLike]) -> float | None:
    """The headline claim's value as a fraction (``None`` when the paper reports nothing)."""
    chosen = headline_result(results)
    return as_fraction(chosen.value) if chosen is not None else None
