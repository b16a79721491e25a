"""Statistics of a verification: the Wilson interval of an accuracy, the paired difference
between a technique and the baseline on the same problems (Newcombe's hybrid score interval
for paired proportions with the continuity-corrected correlation, "method 10" of Newcombe
1998, Stat Med 17:2635), and the exact
McNemar test (a two-sided binomial test on the discordant pairs)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from agentrxiv.bench.report import wilson_interval

Z95 = 1.959963984540054

__all__ = ["PairedTable", "mcnemar_exact", "newcombe_paired", "paired_table", "wilson_interval"]


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
