"""Tests for iopoutcomes.longitudinal against geepack::geeglm (tests/reference/r_longitudinal.py)
and hand computations (saturated model with complete data = cell proportions).

Tolerance: GEE is iterative; both sides converge far below 1e-8, agreement is ~1e-8 relative
(1e-6 used; coefficients near zero use an absolute 1e-7).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reference import r_longitudinal as R
from scipy.special import expit

from iopoutcomes import InsufficientDataError, MissingColumnError, ParameterError
from iopoutcomes.longitudinal import compare_over_time

TPS = ["1mo", "3mo", "6mo", "12mo"]
Z95 = 1.959963984540054


def over_time_frame(n: int = 160) -> pd.DataFrame:
    """Python twin of the R data in tests/reference/r_longitudinal.py."""
    i = np.arange(n)
    cohort = np.where(i % 2 == 0, "IOP", "inpatient")
    sev = ((i * 11) % 13) / 6 - 1
    b = ((i * 13) % 11) / 5 - 1
    cols = {}
    for t, tp in enumerate(TPS):
        u = ((i * 37 + t * 53 + (i * t) % 17) % 101) / 101
        iop = cohort == "IOP"
        lin = 0.6 - 0.25 * t + 0.3 * iop - 0.15 * t * iop - 0.8 * sev + 1.5 * b
        y = pd.array(u < expit(lin), dtype="boolean")
        y[((i * 3 + t * 5) % 9) == 0] = pd.NA
        cols[f"abstinent_{tp}"] = y
    return pd.DataFrame({"episode_id": [f"e{k}" for k in i], "cohort": cohort, "sev": sev, **cols})


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    df = over_time_frame()
    ab = df.filter(like="abstinent_")
    assert (int(ab.sum().sum()), int(ab.isna().sum().sum())) == R.DATA_SUMS
    return df


def test_exclude_matches_geepack(frame: pd.DataFrame) -> None:
    res = compare_over_time(frame, missing="exclude")
    co = res.coefficients
    assert co["term"].tolist()[:3] == ["(Intercept)", "cohort[IOP]", "timepoint[3mo]"]
    np.testing.assert_allclose(co["estimate"], R.EXCLUDE_COEF, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(co["std_err"], R.EXCLUDE_SE, rtol=1e-6)
    assert res.working_correlation == pytest.approx(R.EXCLUDE_ALPHA[0], rel=1e-6)
    assert res.interaction is not None and res.interaction.df == 3
    assert res.interaction.statistic == pytest.approx(R.EXCLUDE_INTERACTION_CHISQ[0], rel=1e-6)
    assert res.n_observations == 640 - 107 and res.n_episodes == 160


def test_exclude_marginal_rates_and_differences_match_r_delta(frame: pd.DataFrame) -> None:
    tab = compare_over_time(frame, missing="exclude").to_frame()
    assert tab["timepoint"].tolist() == TPS and set(tab["group"]) == {"IOP"}
    np.testing.assert_allclose(tab["rate"], R.EXCLUDE_RATE, rtol=1e-6)
    np.testing.assert_allclose(tab["rate_ref"], R.EXCLUDE_RATE_REF, rtol=1e-6)
    np.testing.assert_allclose(tab["diff"], R.EXCLUDE_DIFF, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(tab["std_err"], R.EXCLUDE_DIFF_SE, rtol=1e-6)
    low = np.array(R.EXCLUDE_DIFF) - Z95 * np.array(R.EXCLUDE_DIFF_SE)
    np.testing.assert_allclose(tab["diff_ci_low"], low, rtol=1e-5, atol=1e-8)


def test_adjusted_matches_geepack_and_standardisation(frame: pd.DataFrame) -> None:
    res = compare_over_time(frame, missing="exclude", adjust=["sev"])
    co = res.coefficients.set_index("term")
    # R puts sev before the interaction terms
    r_coef = list(R.ADJ_COEF)
    r_se = list(R.ADJ_SE)
    k = int(R.ADJ_TERMS_ORDER_SEV_INDEX[0])
    r_coef = r_coef[:k] + r_coef[k + 1 :] + [r_coef[k]]
    r_se = r_se[:k] + r_se[k + 1 :] + [r_se[k]]
    np.testing.assert_allclose(co["estimate"], r_coef, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(co["std_err"], r_se, rtol=1e-6)
    assert res.working_correlation == pytest.approx(R.ADJ_ALPHA[0], rel=1e-6)
    tab = res.to_frame()
    np.testing.assert_allclose(tab["rate"], R.ADJ_RATE, rtol=1e-6)
    np.testing.assert_allclose(tab["rate_ref"], R.ADJ_RATE_REF, rtol=1e-6)
    np.testing.assert_allclose(tab["std_err"], R.ADJ_DIFF_SE, rtol=1e-6)


def test_using_rule_matches_geepack_and_hand_saturated(frame: pd.DataFrame) -> None:
    res = compare_over_time(frame)  # missing = "using" by default for a plain DataFrame
    assert res.missing == "using" and res.n_observations == 640
    np.testing.assert_allclose(res.coefficients["estimate"], R.USING_COEF, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(res.coefficients["std_err"], R.USING_SE, rtol=1e-6)
    # Saturated model, complete data: rates = cell proportions, robust SE of a difference =
    # sqrt(p1 (1 - p1) / n1 + p0 (1 - p0) / n0) (hand computation)
    filled = frame.filter(like="abstinent_").fillna(False).astype(float)
    iop = (frame.cohort == "IOP").to_numpy()
    p1 = filled[iop].mean().to_numpy()
    p0 = filled[~iop].mean().to_numpy()
    tab = res.to_frame()
    np.testing.assert_allclose(tab["rate"], p1, rtol=1e-8)
    np.testing.assert_allclose(tab["rate_ref"], p0, rtol=1e-8)
    se = np.sqrt(p1 * (1 - p1) / 80 + p0 * (1 - p0) / 80)
    np.testing.assert_allclose(tab["std_err"], se, rtol=1e-6)
    # the fitted band is the logit-scale interval of each cell
    fit = res.fitted.set_index(["group", "timepoint"])
    p = p1[3]
    se_logit = np.sqrt(p * (1 - p) / 80) / (p * (1 - p))
    assert fit.loc[("IOP", "12mo"), "ci_high"] == pytest.approx(
        expit(np.log(p / (1 - p)) + Z95 * se_logit), rel=1e-6
    )
    obs = res.observed.set_index(["group", "timepoint"])
    assert obs.loc[("IOP", "1mo"), "n_missing"] == 27 and obs.loc[("IOP", "1mo"), "n"] == 80


def test_definition_rule_is_used_and_duck_type(frame: pd.DataFrame) -> None:
    class Definition:
        missing = "exclude"

    class FakeOutcomes:
        definition = Definition()

        def to_frame(self) -> pd.DataFrame:
            return frame

    res = compare_over_time(FakeOutcomes())
    assert res.missing == "exclude"
    np.testing.assert_allclose(res.coefficients["std_err"], R.EXCLUDE_SE, rtol=1e-6)
    Definition.missing = "bounds"
    res = compare_over_time(FakeOutcomes())
    assert res.missing == "using" and "not available for GEE" in res.remarks[0]


def test_rendering_and_plot(frame: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    res = compare_over_time(frame, missing="exclude")
    text = repr(res) + res._repr_html_() + res.narrative() + res.methods_text()
    assert "160 episodes, 533 follow-ups" in text and "Liang & Zeger" in text
    assert "At 1mo" in res.narrative()
    fig, ax = plt.subplots()
    assert res.plot(ax=ax) is ax
    plt.close(fig)


def test_three_groups_and_subset_of_timepoints(frame: pd.DataFrame) -> None:
    df = frame.assign(cohort=np.where(np.arange(160) % 4 == 1, "residential", frame.cohort))
    res = compare_over_time(df, timepoints=("1mo", "6mo"), missing="exclude")
    tab = res.to_frame()
    assert tab[["timepoint", "group"]].values.tolist() == [
        ["1mo", "IOP"],
        ["1mo", "residential"],
        ["6mo", "IOP"],
        ["6mo", "residential"],
    ]
    assert res.interaction is not None and res.interaction.df == 2


def test_simulated_truth_recovered() -> None:
    """Seeded simulation with a random intercept: true marginal rates per cell are known."""
    rng = np.random.default_rng(7)
    n = 1500
    iop = rng.random(n) < 0.5
    u = rng.normal(0, 1.0, n)
    lin = {"1mo": 1.0, "3mo": 0.6, "6mo": 0.3, "12mo": 0.0}
    cols = {}
    truth = {}
    # true marginal rates by numerical integration over the random intercept
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / weights.sum()
    for tp, a in lin.items():
        eff = np.where(iop, 0.3, 0.0)
        cols[f"abstinent_{tp}"] = (rng.random(n) < expit(a + eff + u)).astype(float)
        truth[tp] = (expit(a + 0.3 + nodes) @ weights) - (expit(a + nodes) @ weights)
    df = pd.DataFrame({"cohort": np.where(iop, "IOP", "inpatient"), **cols})
    res = compare_over_time(df)
    tab = res.to_frame().set_index("timepoint")
    for tp, d in truth.items():
        assert tab.loc[tp, "diff_ci_low"] < d < tab.loc[tp, "diff_ci_high"]
    assert res.working_correlation > 0.1  # the random intercept induces correlation


def test_errors(frame: pd.DataFrame) -> None:
    with pytest.raises(MissingColumnError, match="abstinent_24mo"):
        compare_over_time(frame, timepoints=("24mo",))
    with pytest.raises(ParameterError, match="missing"):
        compare_over_time(frame, missing="impute")
    with pytest.raises(InsufficientDataError, match="reference"):
        compare_over_time(frame, reference="residential")
    with pytest.raises(ParameterError, match="distinct"):
        compare_over_time(frame, timepoints=("1mo", "1mo"))
    empty = frame.assign(abstinent_3mo=pd.array([pd.NA] * 160, dtype="boolean"))
    with pytest.raises(InsufficientDataError, match="no observations"):
        compare_over_time(empty, missing="exclude")


def test_integration_sample_episode_outcomes() -> None:
    """load_sample() -> episode_outcomes -> compare_over_time (definition's rule: using)."""
    from iopoutcomes.outcomes import episode_outcomes
    from iopoutcomes.simulate import load_sample

    out = episode_outcomes(load_sample())
    res = compare_over_time(out)
    assert res.missing == out.definition.missing
    frame = out.to_frame()
    # saturated model with missing = using: the observed proportions (hand) over the due
    # follow-ups; with windows still open the clusters are unbalanced, so the exchangeable GEE
    # rate is close to (not equal to) the proportion
    # over the follow-ups that are due (open windows are not yet counted)
    iop = frame[(frame.cohort == "IOP") & frame["followup_due_6mo"].astype(bool)]
    hand = iop["abstinent_6mo"].astype("Float64").fillna(0).astype(float).mean()
    tab = res.to_frame().set_index("timepoint")
    obs = res.observed.set_index(["group", "timepoint"])
    assert obs.loc[("IOP", "6mo"), "n"] == len(iop)
    assert obs.loc[("IOP", "6mo"), "rate"] == pytest.approx(hand, rel=1e-12)
    assert tab.loc["6mo", "rate"] == pytest.approx(hand, abs=0.01)
    assert any("window is still open are not yet due" in r for r in res.remarks)


def test_a_zero_robust_variance_is_a_remark_not_a_sqrt_warning() -> None:
    # issue 20: the doctest example warned "invalid value encountered in sqrt". Every inpatient
    # episode there has the same outcome at 1 and 3 months (hand check below), so the robust
    # variance of the reference group's time effect is exactly 0 and came out as a
    # rounding-level negative number. Now: standard error 0, p-value NaN, and a remark.
    import warnings

    i = np.arange(200)
    df = pd.DataFrame({
        "cohort": np.where(i % 2 == 0, "IOP", "inpatient"),
        "abstinent_1mo": (i * 7) % 10 < 7,
        "abstinent_3mo": (i * 7) % 10 < 6,
    })  # fmt: skip
    ref = df[df["cohort"] == "inpatient"]
    assert (ref["abstinent_1mo"] == ref["abstinent_3mo"]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = compare_over_time(df, timepoints=("1mo", "3mo"))
    time = res.coefficients.set_index("term").loc["timepoint[3mo]"]
    assert time["std_err"] == 0.0 and np.isnan(time["pvalue"])
    assert abs(time["estimate"]) < 1e-12  # 0.6 at both timepoints: no change
    assert any("robust variance of timepoint[3mo] is zero" in r for r in res.remarks)
    # the rest is finite: saturated model = cell proportions (inpatient 0.6, 0.6; IOP 0.8, 0.6)
    assert res.fitted["rate"].round(12).tolist() == [0.6, 0.6, 0.8, 0.6]
    assert np.isfinite(res.table["std_err"]).all()
