"""Tests of iopoutcomes._ci against published tables, R, and hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from reference import r_proportions as R
from scipy import optimize, stats

from iopoutcomes import _ci
from iopoutcomes.exceptions import ParameterError

Z = stats.norm.ppf(0.975)

# --- Newcombe (1998b) Stat Med 17:873-890, Table II: eight examples (x1/n1 - x0/n0) -------------
NEWCOMBE_EXAMPLES = [
    (56, 70, 48, 80),  # (a)
    (9, 10, 3, 10),  # (b)
    (6, 7, 2, 7),  # (c)
    (5, 56, 0, 29),  # (d)
    (0, 10, 0, 20),  # (e)
    (0, 10, 0, 10),  # (f)
    (10, 10, 0, 20),  # (g)
    (10, 10, 0, 10),  # (h)
]
# 95% limits as printed (4 decimals) in Table II.
NEWCOMBE_TABLE_II = {
    # method 1: simple asymptotic (Wald), no continuity correction (degenerate for (e)-(h))
    "wald": [
        (0.0575, 0.3425),
        (0.2605, 0.9395),
        (0.1481, 0.9947),
        (0.0146, 0.1640),
        (0.0, 0.0),
        (0.0, 0.0),
        (1.0, 1.0),
        (1.0, 1.0),
    ],
    # method 5: score interval without the N/(N-1) factor (Mee 1984)
    "mee": [
        (0.0533, 0.3377),
        (0.1821, 0.8370),
        (0.0544, 0.8478),
        (-0.0313, 0.1926),
        (-0.1611, 0.2775),
        (-0.2775, 0.2775),
        (0.7225, 1.0),
        (0.6777, 1.0),
    ],
    # method 6: Miettinen-Nurminen score interval
    "miettinen-nurminen": [
        (0.0528, 0.3382),
        (0.1700, 0.8406),
        (0.0342, 0.8534),
        (-0.0326, 0.1933),
        (-0.1658, 0.2844),
        (-0.2879, 0.2879),
        (0.7156, 1.0),
        (0.6636, 1.0),
    ],
    # method 10: hybrid score (Wilson) interval, no continuity correction
    "newcombe": [
        (0.0524, 0.3339),
        (0.1705, 0.8090),
        (0.0582, 0.8062),
        (-0.0381, 0.1926),
        (-0.1611, 0.2775),
        (-0.2775, 0.2775),
        (0.6791, 1.0),
        (0.6075, 1.0),
    ],
}


@pytest.mark.parametrize("method", sorted(NEWCOMBE_TABLE_II))
def test_diff_ci_newcombe_1998_table_ii(method: str) -> None:
    counts = np.array(NEWCOMBE_EXAMPLES, dtype=float).T
    low, high = _ci.diff_ci(*counts, method=method)
    expected = np.array(NEWCOMBE_TABLE_II[method])
    # published at 4 decimals: agree to half a unit in the 4th decimal
    assert_allclose(low, expected[:, 0], atol=5e-5 + 1e-12)
    assert_allclose(high, expected[:, 1], atol=5e-5 + 1e-12)


# --- Newcombe (1998a) Stat Med 17:857-872, Table I (single proportion) ---------------------------
NEWCOMBE_TABLE_I = {
    # (x, n): method 3 (Wilson score, no CC), method 5 (Clopper-Pearson "exact")
    (81, 263): ((0.2553, 0.3662), (0.2527, 0.3676)),
    (15, 148): ((0.0624, 0.1605), (0.0578, 0.1617)),
    (0, 20): ((0.0, 0.1611), (0.0, 0.1684)),
    (1, 29): ((0.0061, 0.1718), (0.0009, 0.1776)),
}


def test_proportion_ci_newcombe_1998_table_i() -> None:
    xs, ns = np.array(list(NEWCOMBE_TABLE_I)).T
    for idx, method in enumerate(("wilson", "clopper-pearson")):
        low, high = _ci.proportion_ci(xs, ns, method=method)
        expected = np.array([v[idx] for v in NEWCOMBE_TABLE_I.values()])
        assert_allclose(low, expected[:, 0], atol=5e-5 + 1e-12)
        assert_allclose(high, expected[:, 1], atol=5e-5 + 1e-12)


@pytest.mark.parametrize(
    ("table", "method"),
    [(R.WILSON, "wilson"), (R.CLOPPER_PEARSON, "clopper-pearson"), (R.JEFFREYS, "jeffreys")],
)
def test_proportion_ci_against_r(table: dict, method: str) -> None:
    xs, ns = np.array(list(table)).T
    low, high = _ci.proportion_ci(xs, ns, method=method)
    expected = np.array(list(table.values()))
    assert_allclose(low, expected[:, 0], rtol=1e-6, atol=1e-12)
    assert_allclose(high, expected[:, 1], rtol=1e-6, atol=1e-12)


def test_jeffreys_boundaries_follow_brown_cai_dasgupta() -> None:
    # x = 0: lower limit 0, upper the Beta(1/2, n + 1/2) quantile; x = n mirrors it
    low, high = _ci.proportion_ci([0, 20], [20, 20], method="jeffreys")
    q = stats.beta.ppf(0.975, 0.5, 20.5)
    assert_allclose([low[0], high[0]], [0.0, q], rtol=1e-12)
    assert_allclose([low[1], high[1]], [1 - q, 1.0], rtol=1e-12)


def test_agresti_coull_and_wald_by_hand() -> None:
    # Agresti & Coull (1998): n~ = n + z^2, p~ = (x + z^2/2) / n~, p~ +- z sqrt(p~ q~ / n~)
    x, n = 81, 263
    nt = n + Z**2
    pt = (x + Z**2 / 2) / nt
    half = Z * math.sqrt(pt * (1 - pt) / nt)
    assert_allclose(_ci.proportion_ci(x, n, "agresti-coull"), (pt - half, pt + half), rtol=1e-6)
    p = x / n
    half = Z * math.sqrt(p * (1 - p) / n)
    assert_allclose(_ci.proportion_ci(x, n, "wald"), (p - half, p + half), rtol=1e-6)
    # Wald truncated to [0, 1]
    assert _ci.proportion_ci(1, 2, "wald")[0] == 0.0


def test_agresti_caffo_by_hand() -> None:
    # Agresti & Caffo (2000): add one success and one failure per group, then Wald
    p1, p0 = 57 / 72, 49 / 82
    d = p1 - p0
    se = math.sqrt(p1 * (1 - p1) / 72 + p0 * (1 - p0) / 82)
    assert_allclose(
        _ci.diff_ci(56, 70, 48, 80, "agresti-caffo"), (d - Z * se, d + Z * se), rtol=1e-6
    )


def test_newcombe_by_hand_from_r_wilson_limits() -> None:
    # method 10 from the two Wilson intervals R's prop.test gives (56/70 and 3/10 are tabulated)
    l1, u1 = R.WILSON[(56, 70)]
    l0, u0 = R.WILSON[(3, 10)]
    p1, p0 = 56 / 70, 3 / 10
    expected = (
        p1 - p0 - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2),
        p1 - p0 + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2),
    )
    assert_allclose(_ci.diff_ci(56, 70, 3, 10), expected, rtol=1e-6)


# --- score machinery ---------------------------------------------------------------------------


def _restricted_mle_brute(x1, n1, x0, n0, delta):
    """Maximise the binomial log-likelihood over p0 with p1 = p0 + delta (scipy, bounded)."""

    def nll(p0):
        p1 = p0 + delta
        return -(stats.binom.logpmf(x1, n1, p1) + stats.binom.logpmf(x0, n0, p0))

    lo, hi = max(0.0, -delta) + 1e-12, min(1.0, 1.0 - delta) - 1e-12
    res = optimize.minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
    return res.x


def test_constrained_mle_maximises_restricted_likelihood() -> None:
    rng = np.random.default_rng(20240601)
    n1 = rng.integers(5, 200, 40)
    n0 = rng.integers(5, 200, 40)
    x1 = rng.integers(1, n1)
    x0 = rng.integers(1, n0)
    delta = rng.uniform(-0.3, 0.3, 40)
    _, p0 = _ci.constrained_mle_diff(x1, n1, x0, n0, delta)
    brute = np.array([_restricted_mle_brute(*a) for a in zip(x1, n1, x0, n0, delta, strict=True)])
    assert_allclose(p0, brute, atol=1e-6)


def test_statsmodels_score_diff_still_has_issue_10269() -> None:
    """Why _ci has its own score test: statsmodels' restricted MLE is off when value != 0.

    If this starts failing, upstream fixed statsmodels#10269: re-check and consider delegating.
    """
    from statsmodels.stats.proportion import score_test_proportions_2indep

    res = score_test_proportions_2indep(
        56, 70, 48, 80, value=-0.1, compare="diff", return_results=True
    )
    brute = _restricted_mle_brute(56, 70, 48, 80, -0.1)
    assert abs(res.prop2_null - brute) > 1e-3
    _, ours = _ci.constrained_mle_diff(56, 70, 48, 80, -0.1)
    assert abs(ours - brute) < 1e-6


def test_score_test_at_zero_is_pearson_chi_square() -> None:
    tables = np.array(list(R.PROP_TEST_CHI2), dtype=float).T
    z, p = _ci.score_test_diff(*tables, 0.0)
    expected = np.array(list(R.PROP_TEST_CHI2.values()))
    assert_allclose(z**2, expected[:, 0], rtol=1e-6, atol=1e-12)
    assert_allclose(p, expected[:, 1], rtol=1e-6)
    _, p_greater = _ci.score_test_diff(*tables, 0.0, alternative="greater")
    assert_allclose(p_greater, [v[0] for v in R.PROP_TEST_GREATER.values()], rtol=1e-6)


def test_score_test_nonzero_null_published_and_hand() -> None:
    # Mee / Farrington-Manning statistic for 56/70 - 48/80 at delta = 0.1: 1.348, one-sided
    # p 0.0889 (GSK cicalc reference output, tests/testthat/_snaps/prop_ci_diff.md)
    z, p = _ci.score_test_diff(56, 70, 48, 80, 0.1, alternative="greater")
    assert round(float(z), 3) == 1.348
    assert round(float(p), 4) == 0.0889
    # hand: z from the brute-force restricted MLE, and MN = FM * sqrt((N - 1) / N)
    p0 = _restricted_mle_brute(56, 70, 48, 80, 0.1)
    p1 = p0 + 0.1
    z_hand = (56 / 70 - 48 / 80 - 0.1) / math.sqrt(p1 * (1 - p1) / 70 + p0 * (1 - p0) / 80)
    assert_allclose(z, z_hand, rtol=1e-6)
    z_mn, _ = _ci.score_test_diff(56, 70, 48, 80, 0.1, variance="miettinen-nurminen")
    assert_allclose(z_mn, z_hand * math.sqrt(149 / 150), rtol=1e-6)


@pytest.mark.parametrize(
    ("method", "variance"),
    [("miettinen-nurminen", "miettinen-nurminen"), ("mee", "farrington-manning")],
)
def test_score_interval_inverts_score_test(method: str, variance: str) -> None:
    x1, n1, x0, n0 = (56, 70, 48, 80)
    low, high = _ci.diff_ci(x1, n1, x0, n0, method=method, confidence_level=0.9)
    for bound in (low, high):
        _, p = _ci.score_test_diff(x1, n1, x0, n0, bound, variance=variance)
        assert_allclose(p, 0.10, rtol=1e-6)


# --- ratio and odds ratio ----------------------------------------------------------------------


def test_katz_and_woolf_against_r_glm() -> None:
    for table, (est, lo, hi) in R.GLM_LOG.items():
        assert_allclose(np.divide(table[0], table[1]) / (table[2] / table[3]), est, rtol=1e-6)
        assert_allclose(_ci.ratio_ci(*table, method="katz"), (lo, hi), rtol=1e-6)
    for table, (est, lo, hi) in R.GLM_LOGIT.items():
        assert_allclose(_ci.odds_ratio(*table), est, rtol=1e-6)
        assert_allclose(_ci.odds_ratio_ci(*table), (lo, hi), rtol=1e-6)


def test_zero_cell_corrections_by_hand() -> None:
    # 5/56 vs 0/29: add 0.5 to each cell -> 5.5/57 vs 0.5/30
    lrr = math.log((5.5 / 57) / (0.5 / 30))
    se = math.sqrt(1 / 5.5 - 1 / 57 + 1 / 0.5 - 1 / 30)
    assert_allclose(
        _ci.ratio_ci(5, 56, 0, 29), (math.exp(lrr - Z * se), math.exp(lrr + Z * se)), rtol=1e-6
    )
    lor = math.log(5.5 * 29.5 / (51.5 * 0.5))
    se = math.sqrt(1 / 5.5 + 1 / 51.5 + 1 / 0.5 + 1 / 29.5)
    assert_allclose(
        _ci.odds_ratio_ci(5, 56, 0, 29),
        (math.exp(lor - Z * se), math.exp(lor + Z * se)),
        rtol=1e-6,
    )
    assert_allclose(_ci.odds_ratio(5, 56, 0, 29), 5.5 * 29.5 / (51.5 * 0.5), rtol=1e-12)
    assert _ci.odds_ratio(5, 56, 0, 29, zero_correction=False) == np.inf


def test_katz_corrects_an_all_events_group_too() -> None:
    """A group with every client an event has a zero 'no event' cell: 1/x - 1/n = 0 there, so
    without the correction 20/20 vs 20/20 gave the zero-width interval (1, 1) and 1/1 vs 5/10
    an interval (1.08, 3.72) excluding 1 although Fisher's p = 1. Hand computation with 0.5 added
    to every cell (x + 0.5, n + 1), as for a group without events."""
    for x1, n1, x0, n0 in [(20, 20, 20, 20), (1, 1, 5, 10), (12, 30, 9, 9)]:
        b1, c1, b0, c0 = x1 + 0.5, n1 + 1.0, x0 + 0.5, n0 + 1.0
        lrr = math.log((b1 / c1) / (b0 / c0))
        se = math.sqrt(1 / b1 - 1 / c1 + 1 / b0 - 1 / c0)
        assert_allclose(
            _ci.ratio_ci(x1, n1, x0, n0),
            (math.exp(lrr - Z * se), math.exp(lrr + Z * se)),
            rtol=1e-6,
        )
    low, high = _ci.ratio_ci(20, 20, 20, 20)
    assert low < 1.0 < high


def _cornfield_limits(x1, n1, x0, n0):
    """Exact conditional limits by direct root finding on Fisher's noncentral hypergeometric."""
    big_m, rows1, col1 = n1 + n0, n1, x1 + x0
    dist = stats.nchypergeom_fisher
    lo = 0.0
    if x1 > max(0, col1 - n0):
        lo = optimize.brentq(
            lambda psi: dist.sf(x1 - 1, big_m, rows1, col1, psi) - 0.025,
            1e-8,
            1e8,
            xtol=1e-14,
            rtol=1e-13,
        )
    hi = np.inf
    if x1 < min(rows1, col1):
        hi = optimize.brentq(
            lambda psi: dist.cdf(x1, big_m, rows1, col1, psi) - 0.025,
            1e-8,
            1e8,
            xtol=1e-14,
            rtol=1e-13,
        )
    return lo, hi


def test_exact_odds_ratio_interval_against_direct_root_and_r() -> None:
    """Conditional exact (Cornfield) limits, the interval of R's fisher.test.

    R's fisher.test finds the limits with uniroot at its default tolerance, so its conf.int is
    accurate only to about 1% for extreme limits (table (9, 10, 3, 10): R 1039.29, direct root
    1047.84) even when printed with digits=15; the exact reference is the direct root.
    """
    for table, (_, _, lo_r, hi_r) in R.FISHER.items():
        got = _ci.odds_ratio_ci(*table, method="exact")
        assert_allclose(got, _cornfield_limits(*table), rtol=1e-6)
        assert_allclose(got, (lo_r, hi_r), rtol=1e-2)


def test_score_ratio_interval_inverts_score_test() -> None:
    x1, n1, x0, n0 = 36, 40, 16, 80
    for method, corr in (("koopman", False), ("miettinen-nurminen", True)):
        low, high = _ci.ratio_ci(x1, n1, x0, n0, method=method)
        for phi in (low, high):
            p1t, p0t = _ci.constrained_mle_ratio(x1, n1, x0, n0, phi)
            var = p1t * (1 - p1t) / n1 + phi**2 * p0t * (1 - p0t) / n0
            var *= 120 / 119 if corr else 1.0
            assert_allclose(abs(x1 / n1 - phi * x0 / n0) / math.sqrt(var), Z, rtol=1e-6)
    # restricted MLE under p1 = phi p0 maximises the likelihood (brute force)
    phi = 3.0
    res = optimize.minimize_scalar(
        lambda p: -(stats.binom.logpmf(x1, n1, phi * p) + stats.binom.logpmf(x0, n0, p)),
        bounds=(1e-9, 1 / phi - 1e-9),
        method="bounded",
        options={"xatol": 1e-12},
    )
    assert_allclose(_ci.constrained_mle_ratio(x1, n1, x0, n0, phi)[1], res.x, atol=1e-6)
    # no events in group 1: the lower limit is 0; none in the reference: the upper is inf
    assert _ci.ratio_ci(0, 20, 5, 20, method="koopman")[0] == 0.0
    assert _ci.ratio_ci(5, 20, 0, 20, method="koopman")[1] == np.inf


# --- shape, edge cases and validation ----------------------------------------------------------


def test_vectorised_equals_elementwise() -> None:
    counts = np.array(NEWCOMBE_EXAMPLES, dtype=float)
    for method in _ci.DIFF_METHODS:
        low, high = _ci.diff_ci(*counts.T, method=method)
        for i, row in enumerate(counts):
            lo_i, hi_i = _ci.diff_ci(*row, method=method)
            assert np.ndim(lo_i) == 0
            assert_allclose((low[i], high[i]), (lo_i, hi_i), rtol=1e-12, atol=1e-15)


def test_edge_cases() -> None:
    # empty group -> nan, never an error
    assert all(np.isnan(_ci.proportion_ci(0, 0)))
    assert all(np.isnan(_ci.diff_ci(0, 0, 3, 10)))
    # a group of size one: Wilson for 1/1 as R (table), Newcombe still finite
    assert_allclose(_ci.proportion_ci(1, 1), R.WILSON[(1, 1)], rtol=1e-6)
    low, high = _ci.diff_ci(1, 1, 4, 9)
    assert -1 <= low < high <= 1
    # all events in both groups: difference 0 with a proper interval
    low, high = _ci.diff_ci(20, 20, 20, 20)
    assert low < 0 < high
    with pytest.raises(ParameterError, match="events <= n"):
        _ci.proportion_ci(5, 3)
    with pytest.raises(ParameterError, match="confidence_level"):
        _ci.proportion_ci(1, 3, confidence_level=95)
    with pytest.raises(ParameterError, match="method"):
        _ci.diff_ci(1, 3, 1, 3, method="exact")
    with pytest.raises(ParameterError, match="null_diff"):
        _ci.score_test_diff(1, 3, 1, 3, 1.0)


def test_newcombe_coverage_simulation() -> None:
    """Seeded simulation: the default interval covers the true difference 93-97% of the time."""
    rng = np.random.default_rng(12345)
    reps = 2000
    scenarios = [(0.60, 0.55, 80, 120), (0.35, 0.45, 40, 40), (0.15, 0.10, 150, 60)]
    coverages = []
    for p1, p0, n1, n0 in scenarios:
        x1 = rng.binomial(n1, p1, reps)
        x0 = rng.binomial(n0, p0, reps)
        low, high = _ci.diff_ci(x1, n1, x0, n0)
        coverages.append(np.mean((low <= p1 - p0) & (p1 - p0 <= high)))
    assert all(0.93 <= c <= 0.97 for c in coverages), coverages


def test_odds_ratio_not_estimable_when_both_groups_are_at_0_or_100_percent() -> None:
    # issue 20: 12/12 vs 30/30 and 0/15 vs 0/18 have a zero column margin: no information on
    # the odds ratio. Haldane's 0.5 everywhere gave 0.41 (0.008-21.8) and 1.19 from the group
    # sizes alone; now NaN. A single zero cell keeps the correction (hand: 0.5 added to every
    # cell of 0/10 vs 5/10 -> (0.5 * 5.5) / (10.5 * 5.5) = 1/21).
    x1, n1, x0, n0 = (
        np.array([12.0, 0.0, 0.0]),
        np.array([12.0, 15.0, 10.0]),
        np.array([30.0, 0.0, 5.0]),
        np.array([30.0, 18.0, 10.0]),
    )
    est = _ci.odds_ratio(x1, n1, x0, n0)
    lo, hi = _ci.odds_ratio_ci(x1, n1, x0, n0, "woolf")
    assert np.isnan(est[:2]).all() and np.isnan(lo[:2]).all() and np.isnan(hi[:2]).all()
    assert est[2] == pytest.approx(1 / 21, rel=1e-12)
    se = math.sqrt(1 / 0.5 + 1 / 10.5 + 1 / 5.5 + 1 / 5.5)
    assert lo[2] == pytest.approx(math.exp(math.log(1 / 21) - 1.959963984540054 * se), rel=1e-9)
