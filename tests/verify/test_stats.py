"""The statistics of a verification against published values."""

from __future__ import annotations

import pytest

from agentrxiv.verify.stats import (
    PairedTable,
    binomial_two_sided,
    combine_newcombe,
    mcnemar_exact,
    newcombe_paired,
    paired_table,
    wilson_interval,
)


def test_wilson_matches_newcombe_1998() -> None:
    # Newcombe (1998a), Stat Med 17:857, example 81/263: 0.2553 to 0.3662.
    low, high = wilson_interval(81, 263)
    assert low == pytest.approx(0.2553, abs=1e-4)
    assert high == pytest.approx(0.3662, abs=1e-4)


def test_independent_newcombe_matches_method_10() -> None:
    # Newcombe (1998b), Stat Med 17:873, example 56/70 - 48/80: method 10 gives 0.0524, 0.3339.
    p1, p2 = 56 / 70, 48 / 80
    low, high = combine_newcombe(p1, wilson_interval(56, 70), p2, wilson_interval(48, 80))
    assert low == pytest.approx(0.0524, abs=1e-4)
    assert high == pytest.approx(0.3339, abs=1e-4)


@pytest.mark.parametrize(
    ("table", "low", "high"),
    [
        # Values of Newcombe's method 10 with the continuity-corrected phi, as R's
        # biostatUZH::confIntPairedProportion gives them; without the correction the code
        # gave (0.055, 0.433) and (-0.084, 0.272), too narrow.
        (PairedTable(12, 5, 0, 3), 0.029, 0.449),
        (PairedTable(10, 3, 1, 6), -0.107, 0.292),
    ],
)
def test_paired_interval_uses_the_continuity_corrected_phi(
    table: PairedTable, low: float, high: float
) -> None:
    _, got_low, got_high = newcombe_paired(table)
    assert (round(got_low, 3), round(got_high, 3)) == (low, high)


def test_paired_interval_properties() -> None:
    table = paired_table([True, True, False, True, False], [True, False, False, False, False])
    assert table == PairedTable(both=1, only_technique=2, only_baseline=0, neither=2)
    diff, low, high = newcombe_paired(table)
    assert diff == pytest.approx(0.4)
    assert -1 <= low < diff < high <= 1
    # No discordant pairs: difference 0 and an interval around it.
    diff, low, high = newcombe_paired(PairedTable(30, 0, 0, 70))
    assert diff == 0 and low < 0 < high
    # Positive correlation narrows the interval relative to independent samples.
    paired = newcombe_paired(PairedTable(60, 15, 5, 20))
    independent = combine_newcombe(
        0.75, wilson_interval(75, 100), 0.65, wilson_interval(65, 100), 0.0
    )
    assert paired[2] - paired[1] < independent[1] - independent[0]
    with pytest.raises(ValueError):
        paired_table([True], [True, False])


def test_mcnemar_exact_known_values() -> None:
    assert mcnemar_exact(PairedTable(10, 5, 1, 10)) == pytest.approx(0.21875)  # 2 * 7/64
    assert mcnemar_exact(PairedTable(0, 10, 0, 0)) == pytest.approx(2 / 1024)
    assert mcnemar_exact(PairedTable(5, 0, 0, 5)) == 1.0
    assert binomial_two_sided(3, 6) == 1.0


def test_mcnemar_agrees_with_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    for k, n in ((3, 20), (0, 7), (12, 30), (25, 40)):
        assert binomial_two_sided(k, n) == pytest.approx(stats.binomtest(k, n, 0.5).pvalue)
