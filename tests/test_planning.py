"""Tests of iopoutcomes.planning (sample size and power) against R's power.prop.test, statsmodels, and the formulas by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from reference import r_proportions as R
from scipy import stats

from iopoutcomes import _ci
from iopoutcomes.exceptions import ParameterError
from iopoutcomes.planning import SampleSize, power, sample_size

za = stats.norm.ppf
# the pre-issue-20 defaults, pinned where a test checks Chow et al.'s Wald formulas at alpha 0.05:
# a difference at confidence_level 0.95 (two-sided 0.05), a margin at 0.90 (one-sided 0.05)
OLD = {"method": "wald", "confidence_level": 0.95}
OLD_MARGIN = {"method": "wald", "confidence_level": 0.90}


def test_difference_score_matches_r_power_prop_test() -> None:
    # power.prop.test = pooled variance under H0, unpooled under H1 (Fleiss 1981, no CC)
    for (p1, p2, pw), (n,) in R.POWER_PROP_TEST_N.items():
        ss = sample_size(p1, p2, power=pw, method="score")
        assert_allclose(ss.n_reference_exact, n, rtol=1e-6)
        assert ss.n_reference == math.ceil(n)
    for (p1, p2, n), (pw,) in R.POWER_PROP_TEST_POWER.items():
        assert_allclose(power(p1, p2, n, method="score"), pw, rtol=1e-6)
    for (p1, p2, pw), (n,) in R.POWER_PROP_TEST_ONE_SIDED_N.items():
        alt = "greater" if p1 > p2 else "less"
        ss = sample_size(p1, p2, power=pw, method="score", alternative=alt)
        assert_allclose(ss.n_reference_exact, n, rtol=1e-6)


def test_difference_wald_is_chow_formula_and_statsmodels() -> None:
    # Chow, Shao & Wang (2008) 4.2.1: n2 = (z_{a/2} + z_b)^2 (p1 q1 / k + p2 q2) / eps^2
    p1, p0, k = 0.55, 0.40, 2.0
    n_hand = (za(0.975) + za(0.8)) ** 2 * (p1 * (1 - p1) / k + p0 * (1 - p0)) / (p1 - p0) ** 2
    ss = sample_size(p1, p0, ratio=k, **OLD)
    assert_allclose(ss.n_reference_exact, n_hand, rtol=1e-6)
    assert_allclose(ss.n_treatment_exact, k * n_hand, rtol=1e-6)
    assert (ss.n_reference, ss.n_treatment) == (math.ceil(n_hand), math.ceil(k * n_hand))
    # statsmodels NormalIndPower with the equal-variance effect size (equal groups)
    from statsmodels.stats.power import NormalIndPower

    es = (0.6 - 0.5) / math.sqrt((0.6 * 0.4 + 0.5 * 0.5) / 2)
    n_sm = NormalIndPower().solve_power(effect_size=es, alpha=0.05, power=0.8, ratio=1.0)
    # NormalIndPower adds the (tiny) far tail of the two-sided test
    assert_allclose(sample_size(0.6, 0.5, **OLD).n_reference_exact, n_sm, rtol=1e-3)


def test_difference_score_unequal_groups_against_statsmodels() -> None:
    # statsmodels power_proportions_2indep: pooled null / unpooled alternative variance,
    # nobs2 = ratio * nobs1 (group 1 = treatment here, so its ratio is 1 / ours)
    from statsmodels.stats.proportion import power_proportions_2indep

    p1, p0, k, n0 = 0.62, 0.50, 1.5, 150
    sm = power_proportions_2indep(
        p1 - p0, p0, k * n0, ratio=1 / k, alternative="larger", return_results=False
    )
    ours = power(p1, p0, n0, ratio=k, alternative="greater", method="score")
    assert_allclose(ours, sm, rtol=1e-6)


def test_noninferiority_by_hand() -> None:
    # Chow et al. 4.2.2: n2 = (z_a + z_b)^2 (p1 q1 / k + p2 q2) / (eps - delta)^2, delta = -margin
    p1, p0, m = 0.58, 0.60, 0.10
    n_hand = (za(0.95) + za(0.9)) ** 2 * (p1 * (1 - p1) + p0 * (1 - p0)) / (p1 - p0 + m) ** 2
    ss = sample_size(p1, p0, margin=m, test="noninferiority", power=0.9, **OLD_MARGIN)
    assert_allclose(ss.n_reference_exact, n_hand, rtol=1e-6)
    assert ss.power >= 0.9
    # score version: null variance at the Farrington-Manning restricted MLE (delta0 = -m)
    t1, t0 = _ci.constrained_mle_diff(p1, 1.0, p0, 1.0, -m)
    sd0 = math.sqrt(t1 * (1 - t1) + t0 * (1 - t0))
    sd1 = math.sqrt(p1 * (1 - p1) + p0 * (1 - p0))
    n_score = (za(0.95) * sd0 + za(0.9) * sd1) ** 2 / (p1 - p0 + m) ** 2
    got = sample_size(p1, p0, margin=m, test="noninferiority", power=0.9, confidence_level=0.90)
    assert_allclose(got.n_reference_exact, n_score, rtol=1e-6)
    # the default level is compare_rates': one-sided 0.025 (z = 1.96)
    n_default = (za(0.975) * sd0 + za(0.9) * sd1) ** 2 / (p1 - p0 + m) ** 2
    got = sample_size(p1, p0, margin=m, test="noninferiority", power=0.9)
    assert got.alpha == 0.025 and got.method == "score"
    assert_allclose(got.n_reference_exact, n_default, rtol=1e-6)
    # lower is better: mirrored
    mirrored = sample_size(
        p0, p1, margin=m, test="noninferiority", power=0.9, higher_is_better=False, **OLD_MARGIN
    )
    assert_allclose(mirrored.n_reference_exact, n_hand, rtol=1e-6)


def test_equivalence_matches_chow_at_zero_difference_and_power_formula() -> None:
    # Chow et al. 4.2.3 with eps = 0: n2 = (z_a + z_{b/2})^2 (p1 q1 + p2 q2) / margin^2
    p, m = 0.6, 0.1
    n_hand = (za(0.95) + za(0.9)) ** 2 * 2 * p * (1 - p) / m**2
    ss = sample_size(p, p, margin=m, test="equivalence", **OLD_MARGIN)
    assert_allclose(ss.n_reference_exact, n_hand, rtol=1e-6)
    # eps != 0: the exact normal power at the solution is the target, and Chow's closed form
    # (z_{b/2}, conservative) is larger
    p1, p0 = 0.57, 0.60
    sd = math.sqrt(p1 * (1 - p1) + p0 * (1 - p0))
    ss = sample_size(p1, p0, margin=m, test="equivalence", **OLD_MARGIN)
    n = ss.n_reference_exact
    pw = (
        stats.norm.cdf((m - (p1 - p0)) * math.sqrt(n) / sd - za(0.95))
        + stats.norm.cdf((m + (p1 - p0)) * math.sqrt(n) / sd - za(0.95))
        - 1
    )
    assert_allclose(pw, 0.8, rtol=1e-6)
    chow = (za(0.95) + za(0.9)) ** 2 * sd**2 / (m - abs(p1 - p0)) ** 2
    assert n < chow


def test_power_and_sample_size_are_inverse() -> None:
    for test, margin in (("difference", None), ("noninferiority", 0.1), ("equivalence", 0.12)):
        for method in ("wald", "score"):
            ss = sample_size(0.62, 0.58, margin=margin, test=test, method=method, ratio=0.5)
            pw = power(
                0.62, 0.58, ss.n_reference_exact, margin=margin, test=test, method=method, ratio=0.5
            )
            assert_allclose(pw, 0.8, rtol=1e-6)


def test_result_object_and_errors() -> None:
    ss = sample_size(0.6, 0.6, margin=0.1, test="equivalence", **OLD_MARGIN)
    assert isinstance(ss, SampleSize)
    assert ss.n_total == ss.n_reference + ss.n_treatment
    assert "412" in ss.narrative() and "Chow" in ss.methods_text()
    assert "n_total" in ss.to_frame().columns and "SampleSize" in repr(ss)
    with pytest.raises(ParameterError, match="zero difference"):
        sample_size(0.5, 0.5)
    with pytest.raises(ParameterError, match="margin"):
        sample_size(0.5, 0.4, test="equivalence")
    with pytest.raises(ParameterError, match="beyond the equivalence margin"):
        sample_size(0.4, 0.6, margin=0.1, test="equivalence")
    with pytest.raises(ParameterError, match="non-inferiority cannot"):
        sample_size(0.4, 0.6, margin=0.1, test="noninferiority")
    with pytest.raises(ParameterError, match="p_treatment"):
        power(1.2, 0.5, 100)
    small = sample_size(0.9, 0.3)
    assert small.remarks and "normal approximation" in small.remarks[0]


def test_package_level_power_is_callable_after_submodule_import() -> None:
    import iopoutcomes as iop

    iop.sample_size(0.6, 0.5)  # imports the planning module; must not shadow iop.power
    assert_allclose(
        iop.power(0.6, 0.5, 200, method="score"),
        R.POWER_PROP_TEST_POWER[(0.6, 0.5, 200)][0],
        rtol=1e-6,
    )


def test_sizes_at_the_margin_are_refused_not_astronomical() -> None:
    # issue 20: 0.6 - 0.5 = 0.09999999999999998 < 0.10, so the equivalence size was 3.9e33
    # clients "with power 0.800"; at the margin no sample size suffices (documented error)
    with pytest.raises(ParameterError, match="equivalence cannot be shown"):
        sample_size(0.6, 0.5, margin=0.10, test="equivalence")
    with pytest.raises(ParameterError, match="non-inferiority cannot be shown"):
        sample_size(0.8, 0.9, margin=0.10, test="noninferiority")
    with pytest.raises(ParameterError, match="non-inferiority cannot be shown"):
        sample_size(0.6, 0.5, margin=0.10, test="noninferiority", higher_is_better=False)
    # just inside the margin but needing more than ten million per group: refused too
    with pytest.raises(ParameterError, match="exceeds 10,000,000 clients per group"):
        sample_size(0.6, 0.5 + 1e-6, margin=0.10, test="equivalence")
    with pytest.raises(ParameterError, match="exceeds"):
        sample_size(0.5 + 1e-5, 0.5)


def _exact_power(p1: float, p0: float, n1: int, n0: int, alpha: float = 0.05) -> float:
    """Exact power of compare_rates' default test (the 'N-1' chi-square, i.e. the
    Miettinen-Nurminen score test of no difference) by enumerating every 2x2 table."""
    a, b = np.meshgrid(np.arange(n1 + 1), np.arange(n0 + 1), indexing="ij")
    _, p = _ci.score_test_diff(
        a.ravel().astype(float), n1, b.ravel().astype(float), n0, 0.0, "two-sided",
        "miettinen-nurminen",
    )  # fmt: skip
    prob = (stats.binom.pmf(a, n1, p1) * stats.binom.pmf(b, n0, p0)).ravel()
    return float(np.sum(prob * (np.asarray(p) < alpha)))


def _exact_power_noninferiority(p1, p0, n1, n0, m, alpha=0.025):
    a, b = np.meshgrid(np.arange(n1 + 1), np.arange(n0 + 1), indexing="ij")
    _, p = _ci.score_test_diff(
        a.ravel().astype(float), n1, b.ravel().astype(float), n0, -m, "greater",
        "miettinen-nurminen",
    )  # fmt: skip
    prob = (stats.binom.pmf(a, n1, p1) * stats.binom.pmf(b, n0, p0)).ravel()
    return float(np.sum(prob * (np.asarray(p) < alpha)))


def test_default_sizes_give_the_power_of_the_test_the_analysis_runs() -> None:
    # issue 20: at 3:1 allocation, 0.30 vs 0.15, the Wald sizes (207 + 69) give 72.4% exact
    # power for compare_rates' test; the default (score variance) sizes give about 80%
    wald = sample_size(0.30, 0.15, ratio=3, method="wald")
    assert _exact_power(0.30, 0.15, wald.n_treatment, wald.n_reference) < 0.73
    ss = sample_size(0.30, 0.15, ratio=3)
    assert ss.method == "score"
    exact = _exact_power(0.30, 0.15, ss.n_treatment, ss.n_reference)
    assert abs(exact - 0.80) < 0.015  # the normal approximation, checked exactly
    for p1, p0, k in ((0.15, 0.30, 3), (0.6, 0.5, 1), (0.45, 0.30, 0.5)):
        s = sample_size(p1, p0, ratio=k)
        assert abs(_exact_power(p1, p0, s.n_treatment, s.n_reference) - 0.80) < 0.015
    # non-inferiority at compare_rates' default level (one-sided 0.025, score test)
    ni = sample_size(0.60, 0.60, margin=0.10, test="noninferiority")
    exact = _exact_power_noninferiority(0.60, 0.60, ni.n_treatment, ni.n_reference, 0.10)
    assert abs(exact - 0.80) < 0.015


def test_deprecated_alpha_still_works_and_equals_the_confidence_level() -> None:
    # alpha (the test's level) -> the interval deciding it: 1 - alpha for a difference,
    # 1 - 2 alpha for a one-sided margin test; same sizes either way
    with pytest.warns(DeprecationWarning, match="'alpha' is deprecated; use 'confidence_level'"):
        old = sample_size(0.6, 0.6, margin=0.1, test="noninferiority", alpha=0.025)
    new = sample_size(0.6, 0.6, margin=0.1, test="noninferiority", confidence_level=0.95)
    assert (old.n_reference, old.alpha, old.confidence_level) == (new.n_reference, 0.025, 0.95)
    with pytest.warns(DeprecationWarning):
        assert power(0.6, 0.5, 200, alpha=0.05) == power(0.6, 0.5, 200, confidence_level=0.95)
