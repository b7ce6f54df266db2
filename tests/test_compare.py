"""Tests of iopoutcomes.compare against R (prop.test, fisher.test, glm, mantelhaen.test),
Newcombe (1998) Table II and hand computations."""

from __future__ import annotations

import math
import sys
import types

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from reference import r_proportions as R
from scipy import optimize, stats

import iopoutcomes as iop
from iopoutcomes import _ci
from iopoutcomes.compare import BOUND_LABELS, Comparison, compare_rates
from iopoutcomes.exceptions import InsufficientDataError, MissingColumnError, ParameterError
from iopoutcomes.schema import COMPARISON_COLUMNS

Z = stats.norm.ppf(0.975)


def frame_from_counts(x1, n1, x0, n0, *, missing1=0, missing0=0, outcome="abstinent_6mo"):
    """Episode rows: IOP (x1 events of n1 observed, plus missing1 NA) vs inpatient."""
    y = (
        [1.0] * x1
        + [0.0] * (n1 - x1)
        + [np.nan] * missing1
        + [1.0] * x0
        + [0.0] * (n0 - x0)
        + [np.nan] * missing0
    )
    cohort = ["IOP"] * (n1 + missing1) + ["inpatient"] * (n0 + missing0)
    return pd.DataFrame({"cohort": cohort, outcome: y})


def _restricted_p0(x1, n1, x0, n0, delta):
    res = optimize.minimize_scalar(
        lambda p0: -(stats.binom.logpmf(x1, n1, p0 + delta) + stats.binom.logpmf(x0, n0, p0)),
        bounds=(max(0, -delta) + 1e-12, min(1, 1 - delta) - 1e-12),
        method="bounded",
        options={"xatol": 1e-12},
    )
    return res.x


# --- the unadjusted contrast -------------------------------------------------------------------


def test_unadjusted_row_against_r_and_newcombe() -> None:
    # the pre-issue-20 defaults, now options: Newcombe interval, Pearson chi-square
    cmp = compare_rates(frame_from_counts(56, 70, 48, 80), interval="newcombe", test="chi2")
    row = cmp.to_frame().iloc[0]
    assert list(cmp.table.columns[: len(COMPARISON_COLUMNS)]) == list(COMPARISON_COLUMNS)
    assert (row["n"], row["n_events"], row["n_ref"], row["n_events_ref"]) == (70, 56, 80, 48)
    assert_allclose(row["diff"], 0.2, rtol=1e-12)
    # Newcombe (1998) Table II, example (a), method 10: 0.0524 to 0.3339
    assert_allclose([row["diff_ci_low"], row["diff_ci_high"]], [0.0524, 0.3339], atol=5e-5)
    # R: prop.test(c(56, 48), c(70, 80), correct=FALSE)
    assert_allclose(
        [row["statistic"], row["pvalue"]], R.PROP_TEST_CHI2[(56, 70, 48, 80)], rtol=1e-6
    )
    assert row["method"] == "Pearson chi-square test (no continuity correction)"
    # R: glm log / logit Wald intervals (Katz, Woolf)
    assert_allclose(
        row[["ratio", "ratio_ci_low", "ratio_ci_high"]].astype(float),
        R.GLM_LOG[(56, 70, 48, 80)],
        rtol=1e-6,
    )
    assert_allclose(
        row[["odds_ratio", "odds_ratio_ci_low", "odds_ratio_ci_high"]].astype(float),
        R.GLM_LOGIT[(56, 70, 48, 80)],
        rtol=1e-6,
    )
    # rates with Wilson intervals as R's prop.test(56, 70, correct=FALSE)
    assert_allclose([row["rate_ci_low"], row["rate_ci_high"]], R.WILSON[(56, 70)], rtol=1e-6)
    assert row["analysis"] == "unadjusted" and row["missing"] == "using"
    assert cmp.remarks == ()


def test_default_interval_and_test_are_miettinen_nurminen_and_n_minus_1_chi_square() -> None:
    # issue 20: one pre-specified test that the default interval inverts
    cmp = compare_rates(frame_from_counts(56, 70, 48, 80))
    row = cmp.table.iloc[0]
    # Newcombe (1998) Table II, example (a), method 6 (Miettinen-Nurminen): 0.0528 to 0.3382
    assert_allclose([row["diff_ci_low"], row["diff_ci_high"]], [0.0528, 0.3382], atol=5e-5)
    # 'N-1' chi-square (Campbell 2007): R's prop.test(c(56, 48), c(70, 80), correct=FALSE)
    # statistic times (N - 1) / N = 149 / 150, on 1 df
    x2 = R.PROP_TEST_CHI2[(56, 70, 48, 80)][0] * 149 / 150
    assert_allclose([row["statistic"], row["pvalue"]], [x2, stats.chi2.sf(x2, 1)], rtol=1e-6)
    assert row["method"].startswith("'N-1' chi-square test")
    assert row["interval_method"] == "miettinen-nurminen" and row["test_method"] == "score"
    assert "Campbell" in cmp.methods_text() and "Miettinen" in cmp.methods_text()
    # a table with no events in either group: no difference, p = 1 (not missing)
    zero = compare_rates(frame_from_counts(0, 10, 0, 20)).table.iloc[0]
    assert zero["pvalue"] == 1.0 and zero["statistic"] == 0.0


def _all_tables(n_min: int, n_max: int):
    """Every (x1, n1, x0, n0) with both group sizes in [n_min, n_max], as flat arrays."""
    sizes = np.arange(n_min, n_max + 1)
    parts = []
    for n1 in sizes:  # 21 x 21 group sizes; the tables of each are built vectorised
        for n0 in sizes:
            a, b = np.meshgrid(np.arange(n1 + 1), np.arange(n0 + 1), indexing="ij")
            k = a.size
            parts.append(np.column_stack([a.ravel(), np.full(k, n1), b.ravel(), np.full(k, n0)]))
    return np.concatenate(parts).astype(float).T


def test_default_test_and_interval_agree_on_every_table_with_groups_of_20_to_40() -> None:
    # issue 20: under the old defaults (test="auto" with the Newcombe interval) 160 of the
    # 24,025 tables with group sizes 20-40 (e.g. 1/20 vs 6/20) had a 95% interval excluding 0
    # beside a p-value above 0.05. The 'N-1' chi-square is the score test the
    # Miettinen-Nurminen interval inverts: p < 0.05 exactly when the interval excludes 0.
    from iopoutcomes.compare import _two_group_rows

    x1, n1, x0, n0 = _all_tables(20, 40)
    # the functions behind compare_rates' defaults (checked in the test above)
    _, p = _ci.score_test_diff(x1, n1, x0, n0, 0.0, "two-sided", "miettinen-nurminen")
    low, high = _ci.diff_ci(x1, n1, x0, n0, "miettinen-nurminen", 0.95)
    excludes_zero = (low > 0) | (high < 0)
    # the bisection of the interval stops within 1e-10 of the limit: allow p within 1e-7 of 0.05
    clear = np.abs(p - 0.05) > 1e-7
    assert len(p) > 200_000
    assert np.array_equal((p < 0.05)[clear], excludes_zero[clear])
    # the old defaults disagree on 1/20 vs 6/20 (Fisher p = 0.091, Newcombe -47 to -1 points)
    old, _ = _two_group_rows(
        np.array([1.0]), np.array([20.0]), np.array([6.0]), np.array([20.0]),
        interval="newcombe", test="auto", alternative="two-sided", confidence_level=0.95,
        margin=None, higher_is_better=True,
    )  # fmt: skip
    assert old["pvalue"][0] > 0.05 and old["diff_ci_high"][0] < 0


def test_auto_switches_to_fisher_and_says_so() -> None:
    cmp = compare_rates(frame_from_counts(9, 10, 3, 10), test="auto")
    row = cmp.table.iloc[0]
    assert row["method"] == "Fisher's exact test"
    assert_allclose(row["pvalue"], R.FISHER[(9, 10, 3, 10)][0], rtol=1e-6)
    assert any("Fisher's exact test was used instead" in r for r in cmp.remarks)
    forced = compare_rates(frame_from_counts(9, 10, 3, 10), test="chi2").table.iloc[0]
    assert_allclose(forced["pvalue"], R.PROP_TEST_CHI2[(9, 10, 3, 10)][1], rtol=1e-6)
    greater = compare_rates(frame_from_counts(9, 10, 3, 10), test="fisher", alternative="greater")
    assert_allclose(greater.table.iloc[0]["pvalue"], R.FISHER_GREATER[(9, 10, 3, 10)][0], rtol=1e-6)
    one_sided = compare_rates(frame_from_counts(56, 70, 48, 80), alternative="greater", test="chi2")
    assert_allclose(
        one_sided.table.iloc[0]["pvalue"], R.PROP_TEST_GREATER[(56, 70, 48, 80)][0], rtol=1e-6
    )


def _boschloo_brute(x1, n1, x0, n0):
    """One-sided ('greater') Boschloo p-value by enumeration and a fine grid of the nuisance p.

    Statistic: Fisher's one-sided p-value P(X1 >= x1 | margins); p-value: sup over p of the
    probability of tables whose statistic is <= the observed one.
    """
    a, b = np.meshgrid(np.arange(n1 + 1), np.arange(n0 + 1), indexing="ij")
    fisher_p = stats.hypergeom.sf(a - 1, n1 + n0, a + b, n1)
    observed = stats.hypergeom.sf(x1 - 1, n1 + n0, x1 + x0, n1)
    extreme = fisher_p <= observed * (1 + 1e-7)
    grid = np.linspace(1e-6, 1 - 1e-6, 20001)
    probs = stats.binom.pmf(a[..., None], n1, grid) * stats.binom.pmf(b[..., None], n0, grid)
    return float(np.max(np.sum(probs * extreme[..., None], axis=(0, 1))))


def test_boschloo_against_enumeration_and_fisher() -> None:
    cmp = compare_rates(frame_from_counts(6, 7, 2, 7), test="boschloo", alternative="greater")
    row = cmp.table.iloc[0]
    assert row["method"] == "Boschloo's exact unconditional test (greater)"
    assert_allclose(row["pvalue"], _boschloo_brute(6, 7, 2, 7), rtol=1e-4)
    # Boschloo is uniformly more powerful than Fisher: its p-value is never larger
    assert row["pvalue"] <= R.FISHER_GREATER[(6, 7, 2, 7)][0]
    assert_allclose(row["statistic"], R.FISHER_GREATER[(6, 7, 2, 7)][0], rtol=1e-6)


# --- equivalence and non-inferiority -----------------------------------------------------------


def _wilson(x, n, z):
    c = (x + z * z / 2) / (n + z * z)
    h = z / (n + z * z) * math.sqrt(x * (n - x) / n + z * z / 4)
    return c - h, c + h


def test_margin_pvalues_interval_and_verdict_by_hand() -> None:
    x1, n1, x0, n0, m = 372, 600, 384, 600, 0.10
    # the Newcombe interval (the pre-issue-20 default) with the Farrington-Manning tests
    cmp = compare_rates(frame_from_counts(x1, n1, x0, n0), margin=m, interval="newcombe")
    row = cmp.table.iloc[0]
    p1, p0 = x1 / n1, x0 / n0

    def fm_z(delta):
        q0 = _restricted_p0(x1, n1, x0, n0, delta)
        q1 = q0 + delta
        return (p1 - p0 - delta) / math.sqrt(q1 * (1 - q1) / n1 + q0 * (1 - q0) / n0)

    p_lower = stats.norm.sf(fm_z(-m))  # H0: diff <= -m
    p_upper = stats.norm.cdf(fm_z(m))  # H0: diff >= m
    assert_allclose(row["noninferiority_pvalue"], p_lower, rtol=1e-5)
    assert_allclose(row["equivalence_pvalue"], max(p_lower, p_upper), rtol=1e-5)
    # 1 - 2 alpha = 90% Newcombe interval from the 90% Wilson limits
    z90 = stats.norm.ppf(0.95)
    l1, u1 = _wilson(x1, n1, z90)
    l0, u0 = _wilson(x0, n0, z90)
    d = p1 - p0
    expected = (
        d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2),
    )
    assert_allclose([row["equivalence_ci_low"], row["equivalence_ci_high"]], expected, rtol=1e-6)
    assert row["verdict"] == "equivalent" and row["margin"] == m


@pytest.mark.parametrize(
    ("counts", "verdict"),
    [
        ((372, 600, 384, 600), "equivalent"),
        ((420, 600, 384, 600), "non-inferior"),
        ((240, 600, 384, 600), "inferior"),
        ((30, 50, 31, 50), "inconclusive"),
    ],
)
def test_verdicts_match_their_definition(counts, verdict) -> None:
    # issue 20 levels: TOST at 5% each, non-inferiority and inferiority one-sided at 2.5%,
    # all with the Miettinen-Nurminen score test (the default interval's)
    m, alpha_eq, alpha_ni = 0.10, 0.05, 0.025
    row = compare_rates(frame_from_counts(*counts), margin=m).table.iloc[0]
    assert row["verdict"] == verdict
    x1, n1, x0, n0 = counts
    _, p_inferior = _ci.score_test_diff(x1, n1, x0, n0, -m, "less", "miettinen-nurminen")
    rule = (
        "equivalent"
        if row["equivalence_pvalue"] < alpha_eq
        else "non-inferior"
        if row["noninferiority_pvalue"] < alpha_ni
        else "inferior"
        if p_inferior < alpha_ni
        else "inconclusive"
    )
    assert rule == verdict
    # the default (Miettinen-Nurminen) intervals agree with the verdict exactly
    inside = row["equivalence_ci_low"] > -m and row["equivalence_ci_high"] < m
    assert inside == (row["verdict"] == "equivalent")
    assert (row["diff_ci_low"] > -m) == (row["noninferiority_pvalue"] < alpha_ni)


def test_a_user_chosen_interval_that_disagrees_with_the_margin_tests_gets_a_remark() -> None:
    # 48/60 vs 45/60 with the Newcombe interval: its 90% interval and the Farrington-Manning
    # tests disagree at the margin (found by scanning 40 x 40 tables of 60 per group; the
    # default Miettinen-Nurminen interval disagrees with its tests in none of them)
    newcombe = compare_rates(frame_from_counts(48, 60, 45, 60), margin=0.10, interval="newcombe")
    assert any("disagree at the margin" in r for r in newcombe.remarks)
    default = compare_rates(frame_from_counts(48, 60, 45, 60), margin=0.10)
    assert not any("disagree" in r for r in default.remarks)


def test_lower_is_better_mirrors_the_margin_analysis() -> None:
    # relapse: the compared group relapsing less is good; mirror of the abstinence case
    up = compare_rates(frame_from_counts(420, 600, 384, 600), margin=0.1).table.iloc[0]
    down = compare_rates(
        frame_from_counts(180, 600, 216, 600), margin=0.1, higher_is_better=False
    ).table.iloc[0]
    assert down["verdict"] == up["verdict"] == "non-inferior"
    assert_allclose(down["noninferiority_pvalue"], up["noninferiority_pvalue"], rtol=1e-9)


# --- missing-data rules ------------------------------------------------------------------------


def test_missing_rules_by_hand() -> None:
    df = frame_from_counts(30, 50, 25, 50, missing1=10, missing0=5)
    using = compare_rates(df).table.iloc[0]
    assert (using["n"], using["n_events"], using["n_ref"], using["n_events_ref"]) == (
        60,
        30,
        55,
        25,
    )
    assert (using["n_missing"], using["n_missing_ref"]) == (10, 5)
    excl = compare_rates(df, missing="exclude").table.iloc[0]
    assert (excl["n"], excl["n_events"], excl["n_ref"], excl["n_events_ref"]) == (50, 30, 50, 25)
    bounds = compare_rates(df, missing="bounds")
    t = bounds.table.set_index("missing")
    assert list(t.index) == [
        "bounds: all missing unfavourable",
        "bounds: all missing favourable",
        "bounds: worst case for IOP",
        "bounds: best case for IOP",
        "exclude",  # issue 20: the complete-case sensitivity row, shown by default
    ]
    # IOP 30 of 50 observed + 10 missing; inpatient 25 of 50 + 5 missing
    assert_allclose(t.loc["bounds: all missing unfavourable", "diff"], 30 / 60 - 25 / 55)
    assert_allclose(t.loc["bounds: all missing favourable", "diff"], 40 / 60 - 30 / 55)
    # Horowitz-Manski: IOP's missing = 0 and inpatient's = 1, then the reverse
    assert_allclose(t.loc["bounds: worst case for IOP", "diff"], 30 / 60 - 30 / 55, rtol=1e-12)
    assert_allclose(t.loc["bounds: best case for IOP", "diff"], 40 / 60 - 25 / 55, rtol=1e-12)
    assert t.loc["bounds: worst case for IOP", "n_events_ref"] == 30
    text = bounds.narrative()
    assert "Horowitz-Manski" in text and "between -5 and 21 points" in text
    assert "not bounds for the difference" in text
    assert "worst case" in bounds.methods_text() and "Horowitz" in bounds.methods_text()
    assert "counted as not abstinent (missing = using)" in compare_rates(df).narrative()


def test_episode_outcomes_duck_typing_uses_definition_rule() -> None:
    class Definition:
        missing = "exclude"
        death_policy = "exclude"

        def describe(self, outcome=None):
            return f"Abstinent ({outcome}), missing = exclude"

    class FakeOutcomes:
        definition = Definition()

        def to_frame(self):
            df = frame_from_counts(30, 50, 25, 50, missing1=4, missing0=2)
            status = (
                ["completed"] * 50
                + ["died", "pending", "missed", "missed"]
                + (["completed"] * 50 + ["died", "missed"])
            )
            return df.assign(followup_status_6mo=status)

    cmp = compare_rates(FakeOutcomes())
    assert cmp.missing_rule == "exclude" and cmp.definition is FakeOutcomes.definition
    row = cmp.table.iloc[0]
    assert (row["n"], row["n_ref"]) == (50, 50)
    # pending is never counted; died dropped under death_policy="exclude"
    assert row["n_missing"] == 2 and row["n_missing_ref"] == 1
    assert any(
        "1 episodes whose 6-month window is still open are not yet due" in r for r in cmp.remarks
    )
    assert "Abstinent (abstinent_6mo)" in cmp.methods_text()


def test_impute_pools_with_rubins_rules(monkeypatch) -> None:
    """Against the iopoutcomes.missing contract, with hand-made completed data sets."""
    df = frame_from_counts(30, 50, 25, 50, missing1=2, missing0=2)
    fills = [(1.0, 0.0), (0.0, 1.0), (1.0, 1.0)]  # (IOP NA value, inpatient NA value)

    def completed_datasets(frame, outcome, *, missing, **kwargs):
        out = []
        for i, (a, b) in enumerate(fills):
            f = frame.copy()
            miss = f[outcome].isna()
            f.loc[miss & (f["cohort"] == "IOP"), outcome] = a
            f.loc[miss & (f["cohort"] == "inpatient"), outcome] = b
            out.append(types.SimpleNamespace(label=f"imputation {i + 1}", frame=f, weights=None))
        return out

    def rubin_pool(estimates, variances):
        q = np.asarray(estimates, float)
        u = np.asarray(variances, float)
        m = len(q)
        b = q.var(ddof=1)
        t = u.mean() + (1 + 1 / m) * b
        df_ = (m - 1) * (1 + u.mean() / ((1 + 1 / m) * b)) ** 2
        return types.SimpleNamespace(estimate=q.mean(), std_err=math.sqrt(t), df=df_)

    fake = types.ModuleType("iopoutcomes.missing")
    fake.completed_datasets = completed_datasets
    fake.rubin_pool = rubin_pool
    monkeypatch.setitem(sys.modules, "iopoutcomes.missing", fake)
    import iopoutcomes

    monkeypatch.setattr(iopoutcomes, "missing", fake, raising=False)
    df["age"] = np.arange(len(df)) % 7  # a predictor (issue 20: impute refuses none)
    row = compare_rates(df, missing="impute", covariates=["age"]).table.iloc[0]
    p1 = np.array([32, 30, 32]) / 52
    p0 = np.array([25, 27, 27]) / 52
    d = p1 - p0
    u = p1 * (1 - p1) / 52 + p0 * (1 - p0) / 52
    pooled = rubin_pool(d, u)
    q, se, df_ = pooled.estimate, pooled.std_err, pooled.df
    crit = stats.t.ppf(0.975, df_)
    assert_allclose(row["diff"], q, rtol=1e-12)
    assert_allclose(
        [row["diff_ci_low"], row["diff_ci_high"]], [q - crit * se, q + crit * se], rtol=1e-9
    )
    assert row["missing"] == "impute" and "Rubin" in row["method"]


# --- edge cases --------------------------------------------------------------------------------


def test_edge_cases_zero_all_and_single() -> None:
    # the pre-issue-20 defaults (Newcombe interval; chi-square or Fisher by expected counts)
    old = {"interval": "newcombe", "test": "auto"}
    zero = compare_rates(frame_from_counts(0, 10, 0, 20), **old).table.iloc[0]
    assert zero["diff"] == 0 and zero["method"] == "Fisher's exact test" and zero["pvalue"] == 1
    # Newcombe (1998) Table II, example (e): -0.1611 to 0.2775
    assert_allclose([zero["diff_ci_low"], zero["diff_ci_high"]], [-0.1611, 0.2775], atol=5e-5)
    allev = compare_rates(frame_from_counts(10, 10, 0, 20), **old)
    r = allev.table.iloc[0]
    assert_allclose([r["diff_ci_low"], r["diff_ci_high"]], [0.6791, 1.0], atol=5e-5)
    assert any("0.5 was added" in s and "IOP" in s for s in allev.remarks)
    one = compare_rates(frame_from_counts(1, 1, 4, 9), **old).table.iloc[0]
    assert one["n"] == 1 and one["method"] == "Fisher's exact test"
    assert_allclose(one["pvalue"], R.FISHER[(1, 1, 4, 9)][0], rtol=1e-6)
    # a group whose outcomes are all missing under "exclude"
    df = frame_from_counts(0, 0, 5, 10, missing1=3)
    cmp = compare_rates(df, missing="exclude")
    assert np.isnan(cmp.table.iloc[0]["diff"])
    assert any("no analysable episodes in IOP" in s for s in cmp.remarks)


def test_errors_name_the_problem() -> None:
    df = frame_from_counts(5, 10, 5, 10)
    with pytest.raises(
        InsufficientDataError, match=r"'residential'.*groups found: \['IOP', 'inpatient'\]"
    ):
        compare_rates(df, reference="residential")
    with pytest.raises(MissingColumnError, match="abstinent_12mo"):
        compare_rates(df, outcome="abstinent_12mo")
    with pytest.raises(ParameterError, match="interval"):
        compare_rates(df, interval="exact")
    with pytest.raises(ParameterError, match="margin"):
        compare_rates(df, margin=10)
    with pytest.raises(InsufficientDataError, match="nothing to compare"):
        compare_rates(df[df["cohort"] == "inpatient"])


# --- strata ------------------------------------------------------------------------------------


def _strata_frame(counts, extra_site=None):
    parts = []
    for k, c in enumerate(counts):
        parts.append(frame_from_counts(*c).assign(site=f"site{k + 1}"))
    if extra_site is not None:  # a site with IOP clients only
        parts.append(
            pd.DataFrame(
                {"cohort": ["IOP"] * 6, "abstinent_6mo": [1.0, 0, 1, 1, 0, 1], "site": extra_site}
            )
        )
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("name", ["SITES3", "SITES_ZERO", "SITES_OR1", "SITES_EMPTY"])
def test_strata_against_r_mantelhaen(name: str) -> None:
    # SITES_OR1 (issue 20): MH odds ratio exactly 1 and |D| = 0 < 0.5: R's corrected p is 1
    # (statsmodels gave 0.9085) and Breslow-Day 72.0 on 2 df (statsmodels gave NaN).
    # SITES_EMPTY: a site with no events and one with only events: Breslow-Day on the six
    # informative sites (5 df; statsmodels gave NaN).
    counts = getattr(R, f"{name}_COUNTS")
    cmp = compare_rates(_strata_frame(counts, extra_site="siteX"), strata="site")
    st = cmp.strata_table.iloc[0]
    mh0 = getattr(R, f"{name}_MH_CORRECT_FALSE")
    mh1 = getattr(R, f"{name}_MH_CORRECT_TRUE")
    assert_allclose([st["cmh_statistic"], st["cmh_pvalue"]], mh0[:2], rtol=1e-6)
    assert_allclose(st["cmh_pvalue_corrected"], mh1[1], rtol=1e-6)
    assert_allclose(
        st[["odds_ratio_mh", "odds_ratio_mh_ci_low", "odds_ratio_mh_ci_high"]].astype(float),
        mh0[2:],
        rtol=1e-6,
    )
    bd = getattr(R, f"{name}_BRESLOW_DAY")
    assert_allclose([st["breslow_day_statistic"], st["breslow_day_pvalue"]], bd[2:], rtol=1e-6)
    assert st["breslow_day_df"] == getattr(R, f"{name}_BRESLOW_DAY_DF")
    assert_allclose(
        st[["diff_mh", "diff_mh_ci_low", "diff_mh_ci_high"]].astype(float),
        getattr(R, f"{name}_MH_RD_SATO"),
        rtol=1e-6,
    )
    assert st["n_strata"] == len(counts) and st["strata_excluded"] == 1
    assert any("siteX" in r and "left out" in r for r in cmp.remarks)
    assert "Mantel-Haenszel" in cmp.methods_text()


def test_sato_variance_agrees_with_greenland_robins_in_large_strata() -> None:
    # both are consistent for large strata (Sato 1989): nearly equal with big counts
    from iopoutcomes.compare import _mh_risk_difference

    x1, n1 = np.array([600.0, 900.0]), np.array([1000.0, 1500.0])
    x0, n0 = np.array([500.0, 700.0]), np.array([1100.0, 1300.0])
    rd, lo, hi = _mh_risk_difference(x1, n1, x0, n0, 0.95)
    big_n = n1 + n0
    w = n1 * n0 / big_n
    gr = np.sum((x1 * (n1 - x1) * n0**3 + x0 * (n0 - x0) * n1**3) / (n1 * n0 * big_n**2))
    se_gr = math.sqrt(gr / np.sum(w) ** 2)
    assert_allclose((hi - lo) / (2 * Z), se_gr, rtol=1e-2)


# --- several outcomes, engines, adjustment, rendering ------------------------------------------


def test_multiple_outcomes_holm_by_hand() -> None:
    df = frame_from_counts(56, 70, 48, 80)
    df["abstinent_3mo"] = frame_from_counts(60, 70, 50, 80)["abstinent_6mo"]
    df["abstinent_12mo"] = frame_from_counts(40, 70, 50, 80)["abstinent_6mo"]
    cmp = compare_rates(df, outcome=["abstinent_3mo", "abstinent_6mo", "abstinent_12mo"])
    p = cmp.table["pvalue"].to_numpy()
    order = np.argsort(p)
    holm = np.empty(3)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (3 - rank) * p[i]))
        holm[i] = running
    assert_allclose(cmp.table["pvalue_adj"], holm, rtol=1e-12)
    assert cmp.p_adjust == "holm" and "Holm" in cmp.methods_text()
    bh = compare_rates(df, outcome=["abstinent_3mo", "abstinent_6mo"], p_adjust="fdr_bh")
    p2 = bh.table["pvalue"].to_numpy()
    # Benjamini-Hochberg with m = 2: largest p unchanged, smaller one min(2 p, larger p)
    lo, hi = np.argmin(p2), np.argmax(p2)
    expected = np.empty(2)
    expected[hi] = p2[hi]
    expected[lo] = min(2 * p2[lo], p2[hi])
    assert_allclose(bh.table["pvalue_adj"], expected, rtol=1e-12)


def test_duckdb_and_dask_give_the_same_table() -> None:
    df = frame_from_counts(56, 70, 48, 80, missing1=5, missing0=3)
    base = compare_rates(df, missing="exclude").table
    duckdb = pytest.importorskip("duckdb")
    rel = duckdb.from_df(df)
    pd.testing.assert_frame_equal(compare_rates(rel, missing="exclude").table, base)
    dd = pytest.importorskip("dask.dataframe")
    pd.testing.assert_frame_equal(
        compare_rates(dd.from_pandas(df, npartitions=2), missing="exclude").table, base
    )


def test_adjusted_rows_come_from_adjust_module() -> None:
    rng = np.random.default_rng(7)
    n = 400
    sev = rng.normal(size=n)
    iop = rng.random(n) < 1 / (1 + np.exp(sev))
    y = rng.random(n) < 1 / (1 + np.exp(-(0.3 - 0.8 * sev)))
    df = pd.DataFrame(
        {
            "cohort": np.where(iop, "IOP", "inpatient"),
            "abstinent_6mo": y.astype(float),
            "severity": sev,
        }
    )
    cmp = compare_rates(df, adjust=["severity"])
    assert list(cmp.table["analysis"]) == [
        "unadjusted",
        "adjusted (g-computation)",
        "adjusted (IPTW)",
    ]
    from iopoutcomes.adjust import adjusted_comparison

    g = adjusted_comparison(df, "abstinent_6mo", "cohort", "IOP", "inpatient", ["severity"])
    assert_allclose(cmp.table.iloc[1]["diff"], g.diff, rtol=1e-12)
    assert cmp.balance is not None and "Adjusted (g-computation)" in cmp.narrative()


def test_adjusted_rows_carry_a_margin_verdict() -> None:
    # Same data as above; the adjusted rows get the verdict of the unadjusted rows' decision
    # rule applied to the adjusted difference with its (delta-method) standard error: Wald
    # one-sided tests at alpha = 0.05 and the matching 90% interval diff +- z_0.95 * se
    # (z_0.95 = 1.6448536269514722, a normal quantile table value).
    rng = np.random.default_rng(7)
    n = 400
    sev = rng.normal(size=n)
    iop = rng.random(n) < 1 / (1 + np.exp(sev))
    y = rng.random(n) < 1 / (1 + np.exp(-(0.3 - 0.8 * sev)))
    df = pd.DataFrame(
        {
            "cohort": np.where(iop, "IOP", "inpatient"),
            "abstinent_6mo": y.astype(float),
            "severity": sev,
        }
    )
    from iopoutcomes.adjust import adjusted_comparison

    seen = set()
    for margin in (0.004, 0.05, 0.10, 0.30):  # inferior, inconclusive, inconclusive, equivalent
        cmp = compare_rates(df, adjust=["severity"], margin=margin)
        row = cmp.table.iloc[1]
        g = adjusted_comparison(df, "abstinent_6mo", "cohort", "IOP", "inpatient", ["severity"])
        lo = g.diff - 1.6448536269514722 * g.std_err
        hi = g.diff + 1.6448536269514722 * g.std_err
        assert_allclose([row["equivalence_ci_low"], row["equivalence_ci_high"]], [lo, hi], 1e-9)
        expected = (
            "equivalent"
            if -margin < lo and hi < margin
            else "non-inferior"
            if lo > -margin
            else "inferior"
            if hi < -margin
            else "inconclusive"
        )
        assert row["verdict"] == expected, (margin, row["verdict"])
        assert cmp.table["verdict"].notna().all()
        seen.add(expected)
    assert seen == {"inferior", "inconclusive", "equivalent"}


def test_rendering_and_narrative_are_honest() -> None:
    df = frame_from_counts(30, 50, 31, 50)
    df.loc[0, "cohort"] = "<b>IOP</b>"
    cmp = compare_rates(df, margin=0.1)
    html = cmp._repr_html_()
    assert "<b>IOP</b>" not in html and "&lt;b&gt;IOP&lt;/b&gt;" in html
    assert isinstance(cmp, Comparison) and repr(cmp).startswith(
        "<Comparison: abstinent_6mo by cohort vs inpatient"
    )
    text = compare_rates(frame_from_counts(30, 50, 31, 50), margin=0.1).narrative()
    assert "inconclusive" in text and "At 6 months about 6 in 10 IOP clients (30 of 50)" in text
    assert "-2 points (95% CI -21 to 17)" in text and "missing = using" in text
    no_margin = compare_rates(frame_from_counts(30, 50, 31, 50)).narrative()
    assert "not statistically significant" in no_margin and "does not show" in no_margin
    methods = compare_rates(frame_from_counts(30, 50, 31, 50), margin=0.1).methods_text()
    for needle in ("Miettinen", "Wilson", "Farrington", "Schuirmann", "ICH E9", "References"):
        assert needle in methods


def test_impute_keeps_the_group_in_the_imputation_model() -> None:
    # Outcomes missing completely at random: complete-case and imputation estimate the same
    # difference (0.8 - 0.3 = 0.5). An imputation model without the group would pull both
    # groups' imputed values to the pooled rate and shrink the difference by the missing share.
    rng = np.random.default_rng(11)
    n = 4000
    group = np.where(np.arange(n) < n // 2, "IOP", "inpatient")
    y = (rng.random(n) < np.where(group == "IOP", 0.8, 0.3)).astype(float)
    y[rng.random(n) < 0.4] = np.nan
    frame = pd.DataFrame({"cohort": group, "y": y, "age": rng.normal(40, 10, n)})
    cc = compare_rates(frame, "y", missing="exclude").to_frame()["diff"].iloc[0]
    mi = compare_rates(frame, "y", missing="impute", covariates=["age"]).to_frame()
    assert abs(cc - 0.5) < 0.04
    assert abs(mi["diff"].iloc[0] - cc) < 0.03  # attenuated imputation: about 0.5 * 0.6 = 0.3
    assert (
        "used cohort, age"
        in compare_rates(frame, "y", missing="impute", covariates=["age"]).methods_text()
    )


def test_impute_and_ipw_refuse_to_run_without_predictors() -> None:
    # issue 20: with the group alone, imputation and IPW reduce to complete case (MCAR within
    # group) while the methods text claimed covariates: refused, naming the fix
    frame = frame_from_counts(30, 50, 25, 50, missing1=10, missing0=5)
    for rule in ("impute", "ipw"):
        with pytest.raises(ParameterError, match=r"needs predictors.*covariates="):
            compare_rates(frame, missing=rule)
    with pytest.raises(MissingColumnError, match="age"):
        compare_rates(frame, missing="impute", covariates=["age"])


# --- direction of "missing = using", Horowitz-Manski bounds, impute / ipw rows -----------------


def test_relapse_outcome_counts_missing_as_relapsed() -> None:
    # relapse: IOP 20 of 50 observed relapsed + 10 missing; inpatient 25 of 50 + 5 missing
    df = frame_from_counts(20, 50, 25, 50, missing1=10, missing0=5, outcome="relapse_6mo")
    cmp = compare_rates(df, "relapse_6mo", higher_is_better=False)
    row = cmp.table.iloc[0]
    # missing = using is the unfavourable value, 1 (relapsed): 30 of 60 vs 30 of 55
    assert (row["n_events"], row["n"], row["n_events_ref"], row["n_ref"]) == (30, 60, 30, 55)
    assert_allclose(row["diff"], 30 / 60 - 30 / 55, rtol=1e-12)
    assert "counted as relapsed (missing = using)" in cmp.narrative()
    assert "counted as relapsed" in cmp.methods_text() and "not abstinent" not in cmp.methods_text()
    # abstinence keeps 0 (not abstinent)
    up = compare_rates(frame_from_counts(20, 50, 25, 50, missing1=10, missing0=5)).table.iloc[0]
    assert (up["n_events"], up["n_events_ref"]) == (20, 25)
    # bounds follow the direction too: the worst case for IOP is its missing relapsed (1)
    b = compare_rates(df, "relapse_6mo", missing="bounds", higher_is_better=False).table
    worst = b.set_index("missing").loc["bounds: worst case for IOP"]
    assert (worst["n_events"], worst["n_events_ref"]) == (30, 25)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_true_difference_lies_within_the_worst_and_best_case_bounds(seed: int) -> None:
    # full data with a known truth; outcomes then go missing not at random (abstinent IOP
    # clients and non-abstinent inpatient clients are harder to reach)
    rng = np.random.default_rng(seed)
    n = 300
    group = np.where(np.arange(n) < n // 2, "IOP", "inpatient")
    y = (rng.random(n) < np.where(group == "IOP", 0.55, 0.6)).astype(float)
    truth = y[group == "IOP"].mean() - y[group == "inpatient"].mean()
    p_miss = np.where((group == "IOP") == (y == 1), 0.45, 0.1)
    observed = np.where(rng.random(n) < p_miss, np.nan, y)
    t = compare_rates(pd.DataFrame({"cohort": group, "y": observed}), "y", missing="bounds")
    d = t.table.set_index("missing")["diff"]
    assert d["bounds: worst case for IOP"] <= truth <= d["bounds: best case for IOP"]
    # by hand: IOP's missing = 0 and inpatient's = 1 (and the reverse)
    obs = ~np.isnan(observed)
    iop, inp = group == "IOP", group == "inpatient"
    x1, x0 = y[iop & obs].sum(), y[inp & obs].sum()
    m1, m0 = (iop & ~obs).sum(), (inp & ~obs).sum()
    assert_allclose(d["bounds: worst case for IOP"], x1 / iop.sum() - (x0 + m0) / inp.sum())
    assert_allclose(d["bounds: best case for IOP"], (x1 + m1) / iop.sum() - x0 / inp.sum())
    # the two "all missing" rows need not contain the truth: they are not bounds
    width = d["bounds: best case for IOP"] - d["bounds: worst case for IOP"]
    assert width > abs(d["bounds: all missing favourable"] - d["bounds: all missing unfavourable"])


def _mar_comparison_frame(n: int = 1200, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = np.where(rng.random(n) < 0.5, "IOP", "inpatient")
    age = rng.normal(0, 1, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.8 * age + 0.3 * (group == "IOP"))))).astype(
        float
    )
    y[rng.random(n) < 1 / (1 + np.exp(-(-0.8 + 1.0 * age)))] = np.nan
    return pd.DataFrame({"cohort": group, "age": age, "abstinent_6mo": y})


def test_impute_rows_have_rubin_pooled_rate_intervals_and_say_so() -> None:
    from iopoutcomes.definitions import OutcomeDefinition
    from iopoutcomes.missing import completed_datasets as real_completed
    from iopoutcomes.missing import rubin_pool as real_pool

    df = _mar_comparison_frame()

    class Outcomes:  # duck-typed EpisodeOutcomes carrying the covariates
        definition = OutcomeDefinition(covariates=("age",), n_imputations=10)

        def to_frame(self) -> pd.DataFrame:
            return df

    cmp = compare_rates(Outcomes(), missing="impute", adjust=["age"], adjust_method=("gcomp",))
    t = cmp.table
    row = t[t["analysis"] == "unadjusted"].iloc[0]
    # independent: the same completed data sets, Wald per set, Rubin's rules, t interval
    sets = real_completed(
        df,
        "abstinent_6mo",
        missing="impute",
        covariates=("cohort", "age"),
        n_imputations=10,
        seed=0,
    )
    p = np.array([s.frame.loc[s.frame["cohort"] == "IOP", "abstinent_6mo"].mean() for s in sets])
    n1 = int((df["cohort"] == "IOP").sum())
    pooled = real_pool(p, p * (1 - p) / n1)
    q, se, dof = pooled.estimate, pooled.std_err, pooled.df
    crit = stats.t.ppf(0.975, dof)
    assert_allclose(row["rate"], q, rtol=1e-12)
    assert_allclose(
        [row["rate_ci_low"], row["rate_ci_high"]], [q - crit * se, q + crit * se], rtol=1e-10
    )
    assert row["interval_method"] == "wald (Rubin's rules)"
    text = cmp.definition_text() + cmp.methods_text()
    assert "Rubin" in text and "Newcombe" not in text and "chi-square" not in text
    # adjusted rows are produced: g-computation per imputed set, pooled with Rubin's rules
    adj = t[t["analysis"] == "adjusted (g-computation)"]
    assert len(adj) == 1 and "pooled with Rubin's rules" in adj["method"].iloc[0]
    from iopoutcomes.adjust import adjusted_comparison

    res = [
        adjusted_comparison(s.frame, "abstinent_6mo", "cohort", "IOP", "inpatient", ["age"])
        for s in sets
    ]
    pooled_d = real_pool([r.diff for r in res], [r.std_err**2 for r in res])
    qd, sed, dfd = pooled_d.estimate, pooled_d.std_err, pooled_d.df
    assert_allclose(adj["diff"].iloc[0], qd, rtol=1e-10)
    assert_allclose(adj["diff_ci_low"].iloc[0], qd - stats.t.ppf(0.975, dfd) * sed, rtol=1e-10)


def test_ipw_rows_have_sandwich_intervals_and_say_so() -> None:
    # issue 20: Kish's effective n treated the estimated weights as known; the intervals now
    # come from the M-estimation sandwich that stacks the follow-up model (missing.ipw_sandwich,
    # checked against the post-stratification closed form in test_missing.py)
    from iopoutcomes.missing import completed_datasets as real_completed
    from iopoutcomes.missing import ipw_sandwich

    df = _mar_comparison_frame()
    cmp = compare_rates(df, missing="ipw", adjust=["age"])
    row = cmp.table.iloc[0]
    # the adjustment covariates join the follow-up model
    (w,) = real_completed(df, "abstinent_6mo", missing="ipw", covariates=("cohort", "age"))
    f = w.frame.assign(_w=w.weights)
    g = f[f["cohort"] == "IOP"]
    p = np.average(g["abstinent_6mo"], weights=g["_w"])
    groups, mu, cov = ipw_sandwich(df, "abstinent_6mo", "cohort", ["cohort", "age"])
    i1, i0 = groups.index("IOP"), groups.index("inpatient")
    n_eff = p * (1 - p) / cov[i1, i1]
    # Wilson (1927) on the sandwich's effective sample size
    centre = (p * n_eff + Z * Z / 2) / (n_eff + Z * Z)
    half = Z / (n_eff + Z * Z) * np.sqrt(p * (1 - p) * n_eff + Z * Z / 4)
    assert_allclose(row["rate"], p, rtol=1e-9)
    assert_allclose(
        [row["rate_ci_low"], row["rate_ci_high"]], [centre - half, centre + half], rtol=1e-8
    )
    # the difference: Wald with the sandwich variance of mu1 - mu0
    h = f[f["cohort"] == "inpatient"]
    p0 = np.average(h["abstinent_6mo"], weights=h["_w"])
    se = np.sqrt(cov[i1, i1] + cov[i0, i0] - 2 * cov[i1, i0])
    assert_allclose(
        [row["diff_ci_low"], row["diff_ci_high"]], [p - p0 - Z * se, p - p0 + Z * se], rtol=1e-8
    )
    assert row["n"] == int(df.loc[df["cohort"] == "IOP", "abstinent_6mo"].notna().sum())
    text = cmp.definition_text() + cmp.methods_text()
    assert "sandwich" in text and "Kish" not in text and "Newcombe" not in text
    assert not any("completed data set" in r for r in cmp.remarks)
    assert any("adjusted rows are not produced under missing = ipw" in r for r in cmp.remarks)
    assert (cmp.table["analysis"] == "unadjusted").all()


def test_impute_and_ipw_give_margin_verdicts_from_their_own_intervals() -> None:
    # issue 20 / 22: under impute and ipw the margin verdict was NaN and the narrative said
    # "inconclusive: the 90% CI n/a to n/a". Now Wald tests on the same estimate and standard
    # error give the verdict, and the narrative quotes the interval that inverts each test.
    df = _mar_comparison_frame()
    for rule in ("impute", "ipw"):
        cmp = compare_rates(df, missing=rule, covariates=["age"], margin=0.10)
        row = cmp.table.iloc[0]
        assert row["verdict"] in ("equivalent", "non-inferior", "inferior", "inconclusive")
        est, lo, hi = row["diff"], row["diff_ci_low"], row["diff_ci_high"]
        # the non-inferiority test (one-sided 2.5%) inverts the 95% interval's lower limit
        assert (row["noninferiority_pvalue"] < 0.025) == (lo > -0.10)
        # TOST at 5% each inverts the 90% interval, symmetric about the estimate
        elo, ehi = row["equivalence_ci_low"], row["equivalence_ci_high"]
        assert_allclose(est - elo, ehi - est, rtol=1e-9)
        assert (row["equivalence_pvalue"] < 0.05) == (elo > -0.10 and ehi < 0.10)
        assert elo > lo and ehi < hi
        text = cmp.narrative()
        assert "n/a" not in text and "95% CI" in text


def test_ipw_rate_intervals_equal_outcome_rates() -> None:
    """The IOP and inpatient rates and intervals of compare_rates(missing="ipw") are those of
    abstinence_rates(missing="ipw"): one computation (the sandwich), exactly."""
    from iopoutcomes.rates import abstinence_rates

    df = _mar_comparison_frame()
    row = compare_rates(df, missing="ipw", covariates=["age"]).table.iloc[0]
    rates = abstinence_rates(df, missing="ipw", covariates=["age"]).table.set_index("group")
    cols = ["rate", "ci_low", "ci_high"]
    assert_allclose(
        [row["rate"], row["rate_ci_low"], row["rate_ci_high"]], rates.loc["IOP", cols].tolist(),
        rtol=1e-12,
    )  # fmt: skip
    ref = [row["rate_ref"], row["rate_ref_ci_low"], row["rate_ref_ci_high"]]
    assert_allclose(ref, rates.loc["inpatient", cols].tolist(), rtol=1e-12)


# --- narrative: the bounds verdict and the outcome's wording -----------------------------------


def _wald90(x1: float, n1: float, x0: float, n0: float, level: float = 0.90) -> tuple[float, float]:
    """Approximate interval of the difference (unpooled Wald) for the hand reasoning."""
    p1, p0 = x1 / n1, x0 / n0
    half = stats.norm.ppf(0.5 + level / 2) * math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    return p1 - p0 - half, p1 - p0 + half


def test_bounds_narrative_names_the_assumption_and_needs_both_cases() -> None:
    # IOP 70 of 100 observed + 10 missing, inpatient 68 of 100 + 10 missing; margin 10 points
    df = frame_from_counts(70, 100, 68, 100, missing1=10, missing0=10)
    cmp = compare_rates(df, margin=0.10, missing="bounds")
    t = cmp.table.set_index("missing")
    # all missing unfavourable: 70/110 - 68/110 = 1.8 points, 95% CI about -10.8 to 14.5:
    # reaches -10, so not non-inferior at one-sided 2.5% (issue 20; at the old one-sided 5%,
    # 90% CI -8.8 to 12.4, it was called non-inferior)
    lo, hi = _wald90(70, 110, 68, 110, 0.95)
    assert lo < -0.10 - 0.005 and hi > 0.10
    assert t.loc["bounds: all missing unfavourable", "verdict"] == "inconclusive"
    # worst case for IOP: 70/110 - (68 + 10)/110 = -7.3 points, 90% CI about -17.6 to 3.0:
    # crosses -10 (not non-inferior) and 0 > -10 (not inferior): inconclusive
    assert_allclose(t.loc["bounds: worst case for IOP", "diff"], 70 / 110 - 78 / 110, rtol=1e-12)
    lo, hi = _wald90(70, 110, 78, 110)
    assert lo < -0.10 - 0.05 and hi > -0.10 + 0.05
    assert t.loc["bounds: worst case for IOP", "verdict"] == "inconclusive"
    # best case: 80/110 - 68/110 = 10.9 points, 95% CI about -1.5 to 23: non-inferior
    lo, hi = _wald90(80, 110, 68, 110, 0.95)
    assert lo > -0.10 + 0.05
    assert t.loc["bounds: best case for IOP", "verdict"] == "non-inferior"
    text = cmp.narrative()
    first = text.split(". ")[0]
    # the opening sentence says which assumption its numbers rest on ...
    assert first.startswith("At 6 months, counting every missing outcome as not abstinent, ")
    assert "(70 of 110)" in first and "(68 of 110)" in first
    # ... and no non-inferiority verdict is given: it holds in the best case only
    assert "is not worse" not in text and "shows IOP" not in text
    assert "the verdict depends on the missing outcomes" in text
    # each verdict beside the intervals of its tests, labelled with their levels
    assert "inconclusive in the worst case for IOP (95% CI -20 to 5, 90% CI -18 to 3)" in text
    assert "non-inferior in the best case (95% CI -2 to 23, 90% CI 0 to 21)" in text
    assert "Non-inferiority one-sided at the 2.5% level, the 95% CI" in text
    assert "Horowitz-Manski" in text  # the bounds sentence follows


def test_bounds_narrative_gives_a_verdict_that_holds_in_both_cases() -> None:
    # equivalence in both cases: IOP 500 of 700 + 10 missing, inpatient 490 of 700 + 10;
    # worst 500/710 - 500/710 = 0, best 510/710 - 490/710 = 2.8 points, 90% half-width about
    # 4 points: both intervals inside (-10, 10)
    for x1, x0 in ((500, 500), (510, 490)):
        lo, hi = _wald90(x1, 710, x0, 710)
        assert lo > -0.10 + 0.02 and hi < 0.10 - 0.02
    eq = compare_rates(
        frame_from_counts(500, 700, 490, 700, missing1=10, missing0=10), margin=0.10,
        missing="bounds",
    ).narrative()  # fmt: skip
    assert "Whatever the missing outcomes were, the difference lies within the 10-point" in eq
    assert "equivalence holds in both the worst case for IOP" in eq
    # non-inferiority in both: IOP 60 of 70 + 2, inpatient 40 of 70 + 2; worst 60/72 - 42/72
    # = 25 points, best 62/72 - 40/72 = 31 points: lower limits far above -10, upper above 10
    for x1, x0 in ((60, 42), (62, 40)):
        lo, hi = _wald90(x1, 72, x0, 72)
        assert lo > 0 and hi > 0.10
    ni = compare_rates(
        frame_from_counts(60, 70, 40, 70, missing1=2, missing0=2), margin=0.10, missing="bounds"
    ).narrative()
    assert "IOP is not worse than inpatient by 10 points or more: non-inferiority holds" in ni
    assert "depends on the missing outcomes" not in ni
    # inferior in the worst case, non-inferior in the best: IOP 45 of 100 + 20, inpatient 55
    # of 100 + 20: worst 45/120 - 75/120 = -25 points, best 65/120 - 55/120 = 8.3 points
    assert _wald90(45, 120, 75, 120)[1] < -0.10
    assert _wald90(65, 120, 55, 120)[0] > -0.10
    mixed = compare_rates(
        frame_from_counts(45, 100, 55, 100, missing1=20, missing0=20), margin=0.10,
        missing="bounds",
    ).narrative()  # fmt: skip
    assert "depends on the missing outcomes: inferior in the worst case for IOP" in mixed
    # no margin: the assumption is still named, with the test of the all-unfavourable row
    plain = compare_rates(frame_from_counts(70, 100, 68, 100, missing1=10, missing0=10),
                          missing="bounds").narrative()  # fmt: skip
    assert plain.startswith("At 6 months, counting every missing outcome as not abstinent, ")
    assert "statistically significant" in plain


def test_narrative_words_follow_the_outcome() -> None:
    # relapse event (lower is better): "relapsed", never the column name as an "outcome"
    df = frame_from_counts(20, 50, 25, 50, missing1=10, missing0=5, outcome="lee2018_relapse_event")
    text = compare_rates(df, "lee2018_relapse_event", higher_is_better=False).narrative()
    # missing = using counts the missing as relapsed: 30 of 60 and 30 of 55
    assert "(30 of 60) and about 5 in 10 inpatient clients (30 of 55) relapsed;" in text
    assert "had the outcome" not in text
    # another event without a label: "had the event" and the column name
    other = frame_from_counts(20, 50, 25, 50, outcome="used_opioids")
    text = compare_rates(other, "used_opioids", higher_is_better=False).narrative()
    assert "inpatient clients (25 of 50) had the event 'used_opioids';" in text

    # with a definition that labels the outcome, its label (first letter lowered)
    class Labelled:
        definition = types.SimpleNamespace(
            label=lambda o: "Used opioids in a urine screen" if o == "used_opioids" else o
        )

        def to_frame(self) -> pd.DataFrame:
            return other

    text = compare_rates(Labelled(), "used_opioids", higher_is_better=False).narrative()
    assert "had the event 'used opioids in a urine screen';" in text
    # abstinence keeps "were abstinent"
    text = compare_rates(frame_from_counts(30, 50, 31, 50)).narrative()
    assert "inpatient clients (31 of 50) were abstinent;" in text


def test_zero_cell_odds_ratio_lies_inside_its_interval() -> None:
    # 1/1 vs 5/10: the non-event cell of the first group is 0. Haldane-Anscombe: add 0.5 to
    # every cell -> (1.5 / 0.5) / (5.5 / 5.5) = 3.0, the centre of the Woolf interval.
    frame = pd.DataFrame({"cohort": ["IOP"] + ["inpatient"] * 10, "y": [1] + [1] * 5 + [0] * 5})
    row = compare_rates(frame, "y").to_frame().iloc[0]
    assert row["odds_ratio"] == pytest.approx(3.0, rel=1e-12)
    assert row["odds_ratio_ci_low"] < row["odds_ratio"] < row["odds_ratio_ci_high"]
    log_se = math.sqrt(1 / 1.5 + 1 / 0.5 + 1 / 5.5 + 1 / 5.5)
    assert row["odds_ratio_ci_high"] == pytest.approx(3.0 * math.exp(1.959964 * log_se), rel=1e-5)


def test_ipw_reports_extreme_weights_and_a_replaced_exact_test() -> None:
    from iopoutcomes.missing import completed_datasets as real_completed

    # modest weights: no remark about them
    modest = compare_rates(_mar_comparison_frame(), missing="ipw", adjust=["age"])
    assert not any("carry a weight above" in r for r in modest.remarks)
    # follow-up almost never succeeds for clients living far away: their few followed-up
    # clients get large stabilised weights (P(observed) / p_i, Cole & Hernán 2008)
    df = _mar_comparison_frame(seed=9)
    rng = np.random.default_rng(1)
    df["remote"] = (rng.random(len(df)) < 0.2).astype(float)
    df.loc[(df["remote"] == 1) & (rng.random(len(df)) < 0.97), "abstinent_6mo"] = np.nan
    cmp = compare_rates(df, missing="ipw", adjust=["age", "remote"], test="fisher")
    (w,) = real_completed(
        df, "abstinent_6mo", missing="ipw", covariates=("cohort", "age", "remote")
    )
    big = int((w.weights > 10).sum())
    assert big > 0  # the frame does what the test needs
    (note,) = [r for r in cmp.remarks if "carry a weight above" in r]
    assert note.startswith(f"abstinent_6mo: missing = ipw: {big} followed-up episode(s)")
    assert (
        f"largest {w.weights.max():.1f}" in note and f"mean weight {w.weights.mean():.2f}" in note
    )
    assert any("test='fisher' was requested" in r and "sandwich" in r for r in cmp.remarks)
    ipw_rows = cmp.table[cmp.table["missing"] == "ipw"]
    assert len(ipw_rows) == 1 and (ipw_rows["test_method"] == "wald").all()
    # the sensitivity rows (complete case, bounds) are counts: the exact test requested
    assert (cmp.table.loc[cmp.table["missing"] != "ipw", "test_method"] == "fisher").all()


# --- issue 20: defaults (non-inferiority level, interval of each verdict), edge numbers -------


def test_noninferiority_is_one_sided_2_5_percent_the_95_percent_lower_limit() -> None:
    # ICH E9 section 5.5 / ICH E10 / FDA (2016): non-inferiority one-sided at 0.025, i.e. the
    # lower limit of the two-sided 95% CI above -margin. Scan of the issue: 150-259 of 400 vs
    # 236 of 400. Before the fix the test was one-sided 5% (90% CI), and tables were called
    # non-inferior beside a 95% CI reaching below -10 points.
    x1 = np.arange(150, 260, dtype=float)
    n = np.full_like(x1, 400.0)
    x0 = np.full_like(x1, 236.0)
    df_rows = []
    for a in x1.astype(int):  # 110 tables through the public function
        row = compare_rates(frame_from_counts(a, 400, 236, 400), margin=0.10).table.iloc[0]
        df_rows.append(row)
    t = pd.DataFrame(df_rows).reset_index(drop=True)
    _, p_ni = _ci.score_test_diff(x1, n, x0, n, -0.10, "greater", "miettinen-nurminen")
    assert_allclose(t["noninferiority_pvalue"].to_numpy(float), p_ni, rtol=1e-9)
    ni = t["verdict"].isin(["non-inferior", "equivalent"]).to_numpy()
    # every non-inferior verdict stands beside a 95% CI whose lower limit is above -10 points
    assert (t.loc[t["verdict"] == "non-inferior", "diff_ci_low"] > -0.10).all()
    assert np.array_equal((p_ni < 0.025), (t["diff_ci_low"] > -0.10).to_numpy())
    # equivalence: two one-sided tests at 5% each (Schuirmann), the 90% interval inside
    eq = (t["equivalence_ci_low"] > -0.10) & (t["equivalence_ci_high"] < 0.10)
    assert np.array_equal(eq.to_numpy(), (t["verdict"] == "equivalent").to_numpy())
    assert ni.any() and (~ni).any()
    # 63/100 vs 60/100: non-inferiority p = 0.029 (Miettinen-Nurminen score test), 95% CI
    # lower limit -10.5 points. Before the fix (one-sided 5%) the verdict was "non-inferior"
    # beside that 95% interval; now it is inconclusive, and the narrative says why
    cmp = compare_rates(frame_from_counts(63, 100, 60, 100), margin=0.10)
    row = cmp.table.iloc[0]
    assert 0.025 < row["noninferiority_pvalue"] < 0.05 and row["diff_ci_low"] < -0.10
    assert row["verdict"] == "inconclusive"
    assert "non-inferiority (one-sided at the 2.5% level) is not shown" in cmp.narrative()
    # the narrative of an equivalent table names the 90% interval and the 5% level
    eq_row = t.index[t["verdict"] == "equivalent"][0]
    text = compare_rates(frame_from_counts(int(x1[eq_row]), 400, 236, 400), margin=0.1).narrative()
    assert "90% CI" in text and "two one-sided tests at the 5% level each" in text


def test_equivalence_alpha_is_its_own_parameter() -> None:
    df = frame_from_counts(372, 600, 384, 600)
    strict = compare_rates(df, margin=0.05, equivalence_alpha=0.025).table.iloc[0]
    # the TOST at 2.5% each inverts the 95% interval: the equivalence interval is the 95% one
    assert_allclose(
        [strict["equivalence_ci_low"], strict["equivalence_ci_high"]],
        [strict["diff_ci_low"], strict["diff_ci_high"]],
        rtol=1e-9,
    )
    assert "95% CI" in compare_rates(df, margin=0.1, equivalence_alpha=0.025).narrative()
    with pytest.raises(ParameterError, match="equivalence_alpha"):
        compare_rates(df, margin=0.1, equivalence_alpha=0.5)


def test_significant_difference_with_a_margin_is_narrated_as_significant() -> None:
    # issue 22: a 10-point difference with p = 0.045 and a margin was narrated only as
    # "inconclusive ... more clients are needed". 100/200 vs 120/200: 'N-1' chi-square
    # = 0.5 * 4.0404 * 399/400 ... by hand X2 = 400 (100*80 - 100*120)^2 / (200*200*220*180)
    x2 = 400 * (100 * 80 - 100 * 120) ** 2 / (200 * 200 * 220 * 180) * 399 / 400
    cmp = compare_rates(frame_from_counts(100, 200, 120, 200), margin=0.10)
    row = cmp.table.iloc[0]
    assert_allclose(row["pvalue"], stats.chi2.sf(x2, 1), rtol=1e-9)
    assert row["pvalue"] < 0.05 and row["verdict"] == "inconclusive"
    text = cmp.narrative()
    assert f"is statistically significant (p = {row['pvalue']:.3f})" in text
    assert "IOP does worse than inpatient" in text and "more clients are needed" not in text
    # not significant and inconclusive: still says so
    text = compare_rates(frame_from_counts(30, 50, 31, 50), margin=0.10).narrative()
    assert "is inconclusive against the 10-point margin" in text


def test_odds_ratio_of_two_identical_extreme_rates_is_not_estimable() -> None:
    # issue 20: 12/12 vs 30/30 gave OR 0.41 (0.008-21.8) and 0/15 vs 0/18 gave 1.19: the 0.5
    # added to every cell reflected only the group sizes. A zero column margin carries no
    # information on the odds ratio: the MLE does not exist (R 4.2.2:
    # glm(cbind(c(12, 30), c(0, 0)) ~ c(1, 0), family = binomial) stops at an arbitrary log
    # odds ratio of -0.86 with standard error 75,336)
    for counts in ((12, 12, 30, 30), (0, 15, 0, 18)):
        row = compare_rates(frame_from_counts(*counts)).table.iloc[0]
        assert np.isnan(row["odds_ratio"]) and np.isnan(row["odds_ratio_ci_low"])
        assert np.isnan(row["odds_ratio_ci_high"])
    # one zero cell keeps the Haldane-Anscombe correction: 10/10 vs 5/10 -> (10.5/0.5)/(5.5/5.5)
    row = compare_rates(frame_from_counts(10, 10, 5, 10)).table.iloc[0]
    assert row["odds_ratio"] == pytest.approx(21.0, rel=1e-12)


def test_sensitivity_rows_and_differential_follow_up_remark() -> None:
    # issue 20: with missing outcomes the complete-case and bounds rows are shown beside the
    # primary rule, and follow-up differing by more than 10 points gets a remark.
    # IOP 30 of 50 observed + 20 missing (71% followed up); inpatient 25 of 50 + 2 (96%)
    df = frame_from_counts(30, 50, 25, 50, missing1=20, missing0=2)
    cmp = compare_rates(df)
    t = cmp.table
    assert list(t["missing"]) == [
        "using",
        "exclude",
        *[b.format(group="IOP") for b in BOUND_LABELS],
    ]
    assert_allclose(t.loc[1, "diff"], 30 / 50 - 25 / 50, rtol=1e-12)  # complete case
    assert_allclose(t.loc[4, "diff"], 30 / 70 - 27 / 52, rtol=1e-12)  # worst case for IOP
    assert_allclose(t.loc[5, "diff"], 50 / 70 - 25 / 52, rtol=1e-12)  # best case
    (note,) = [r for r in cmp.remarks if "follow-up differs" in r]
    assert "IOP (71% with an outcome) and inpatient (96%)" in note
    text = cmp.narrative()
    assert text.startswith("At 6 months about 4 in 10 IOP clients (30 of 70)")
    assert "complete case) the difference for IOP is 10 points" in text
    assert "between -9 and 23 points (Horowitz-Manski bounds)" in text
    # no missing outcomes: no sensitivity rows; sensitivity=False: none either
    assert len(compare_rates(frame_from_counts(30, 50, 25, 50)).table) == 1
    assert len(compare_rates(df, sensitivity=False).table) == 1
    # small gap: no remark
    near = compare_rates(frame_from_counts(30, 50, 25, 50, missing1=4, missing0=2))
    assert not any("follow-up differs" in r for r in near.remarks)


# --- length-of-stay-dependent outcomes (issue 21) ------------------------------------------------


@pytest.fixture(scope="module")
def stay_length() -> object:
    import iopoutcomes as iop

    return iop.episode_outcomes(iop.simulate_records(n=600, seed=7, scenario="stay_length"))


def test_in_treatment_milestone_flagged_comparable_not(stay_length: object) -> None:
    import iopoutcomes as iop

    for outcome in (
        "sustained_30d_in_treatment",
        "milestone_sustained_abstinence",
        "completed_program",
    ):
        cmp = iop.compare_rates(stay_length, outcome, by="cohort", reference="inpatient")
        flagged = [r for r in cmp.remarks if "depends on length of stay" in r]
        assert len(flagged) == 1, outcome
        assert "compare sustained_30d_comparable (days 1 to 90 after discharge" in flagged[0]
        assert (
            "of inpatient episodes are not eligible (observed < 30 days in treatment)"
            in (flagged[0])
        )
    for outcome in ("sustained_30d_comparable", "abstinent_6mo", "treatment_completed"):
        cmp = iop.compare_rates(stay_length, outcome, by="cohort", reference="inpatient")
        assert not [r for r in cmp.remarks if "depends on length of stay" in r], outcome


def test_stay_length_remark_thresholds() -> None:
    from iopoutcomes.definitions import OutcomeDefinition
    from iopoutcomes.outcomes import stay_length_remark

    d = OutcomeDefinition()
    name = "sustained_30d_in_treatment"

    def frame(stays_a: list[int], stays_b: list[int]) -> pd.DataFrame:
        stays = stays_a + stays_b
        return pd.DataFrame(
            {
                "cohort": ["A"] * len(stays_a) + ["B"] * len(stays_b),
                "discharge_day": stays,
                f"eligible_{name}": [s + 1 >= 30 for s in stays],
            }
        )

    # medians 60 vs 40 (gap 20 < 30) and everyone eligible: no remark
    assert stay_length_remark(frame([60] * 5, [40] * 5), name, "cohort", "B", d) == []
    # medians 75 vs 40: gap 35 > 30-day run
    text = stay_length_remark(frame([75] * 5, [40] * 5), name, "cohort", "B", d)
    assert len(text) == 1 and "median stay A 75 days vs B 40 days" in text[0]
    # 1 of 5 (20%) not eligible: not above 20%; 2 of 5 (40%): above
    assert stay_length_remark(frame([40] * 5, [20] + [40] * 4), name, "cohort", "B", d) == []
    text = stay_length_remark(frame([40] * 5, [20, 20, 40, 40, 40]), name, "cohort", "B", d)
    assert "40% of B episodes are not eligible" in text[0]
    # outcomes that do not depend on the stay, or a plain table without a definition: nothing
    assert stay_length_remark(frame([75] * 5, [20] * 5), "abstinent_6mo", "cohort", "B", d) == []
    assert stay_length_remark(frame([75] * 5, [20] * 5), name, "cohort", "B", None) == []


def test_bounds_rows_name_their_bound_in_the_bound_column() -> None:
    # the RateTable convention (a bound column beside the rule): each label minus its prefix
    out = iop.episode_outcomes(iop.simulate_records(n=300, seed=1))
    t = compare_rates(out).to_frame()
    rows = t[t["missing"].astype(str).str.startswith("bounds: ")]
    assert len(rows) == 4
    assert rows["bound"].tolist() == [
        label.removeprefix("bounds: ").format(group="IOP") for label in BOUND_LABELS
    ]
    assert t.loc[~t.index.isin(rows.index), "bound"].isna().all()
    assert list(t.columns).index("bound") == list(t.columns).index("missing") + 1
