"""The statistics of a verification against published values."""

from __future__ import annotations

import pytest

from agentrxiv.stats import (
    PairedTable,
    binomial_two_sided,
    claimed_fraction,
    combine_newcombe,
    decide_effect,
    decide_status,
    headline_result,
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


def test_altman_worked_example() -> None:
    # Altman et al., Statistics with Confidence (2000), Table 6.2, the table R's
    # biostatUZH::confIntPairedProportion documents as its worked example (p. 52):
    # 14 both, 5 only the first, 0 only the second, 22 neither; difference 5/41 = 0.122.
    # The limits are that function's method (Wilson limits, phi corrected by N/2) evaluated
    # on the table; the book's printed limits were not available to check against.
    diff, low, high = newcombe_paired(PairedTable(14, 5, 0, 22))
    assert diff == pytest.approx(5 / 41)
    assert (round(low, 4), round(high, 4)) == (0.0115, 0.2265)
    assert mcnemar_exact(PairedTable(14, 5, 0, 22)) == pytest.approx(1 / 16)


def test_small_samples_are_inconclusive() -> None:
    low, high = wilson_interval(0, 4)  # (0, 0.49)
    assert decide_status(0.40, 4, low, high) == "inconclusive"  # 0/4 backs no claim
    assert decide_status(0.48, 4, low, high) == "inconclusive"
    assert decide_status(0.90, 4, low, high) == "not reproduced"  # but rules out 0.9
    low, high = wilson_interval(95, 100)
    assert decide_status(0.93, 100, low, high) == "reproduced"
    low, high = wilson_interval(6, 12)  # 0.5 on 12 problems: interval 0.47 wide
    assert decide_status(0.5, 12, low, high) == "inconclusive"


def test_effect_needs_the_interval_and_mcnemar() -> None:
    four = PairedTable(both=1, only_technique=3, only_baseline=0, neither=0)  # 4/4 vs 1/4
    diff, low, high = newcombe_paired(four)
    assert low > 0  # the interval alone excludes 0 ...
    assert mcnemar_exact(four) == pytest.approx(0.25)  # ... McNemar does not agree
    assert decide_effect(four.n, low, high, mcnemar_exact(four)) != "confirmed"
    assert decide_effect(four.n, low, high, mcnemar_exact(four)) == "inconclusive"
    strong = PairedTable(40, 25, 2, 33)
    _, low, high = newcombe_paired(strong)
    assert decide_effect(strong.n, low, high, mcnemar_exact(strong)) == "confirmed"
    none = PairedTable(40, 5, 5, 50)
    _, low, high = newcombe_paired(none)
    assert decide_effect(none.n, low, high, mcnemar_exact(none)) == "not confirmed"
    worse = PairedTable(0, 0, 4, 0)
    _, low, high = newcombe_paired(worse)
    assert decide_effect(worse.n, low, high, mcnemar_exact(worse)) == "not confirmed"


def test_one_claim_rule_and_one_wilson() -> None:
    from agentrxiv.archive.schemas import ResultPublic
    from agentrxiv.bench import report as bench_report
    from agentrxiv.campaign import report as campaign_report

    rows = [
        ResultPublic(benchmark="arith", metric="baseline_accuracy", value=10.0, model="m"),
        ResultPublic(benchmark="arith", metric="tokens", value=900.0, model="m"),
        ResultPublic(benchmark="arith", metric="accuracy", value=78.2, model="m"),
    ]
    assert headline_result(rows) is rows[2]
    assert claimed_fraction(rows) == pytest.approx(0.782)
    assert claimed_fraction(rows[:1]) == pytest.approx(0.10)  # only a baseline reported
    assert claimed_fraction([]) is None
    assert bench_report.wilson_interval is wilson_interval
    assert campaign_report.wilson_interval is wilson_interval
