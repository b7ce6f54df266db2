"""Tests for iopoutcomes.survival against R's survival package (tests/reference/r_survival.py).

Tolerance: the Kaplan-Meier, Greenwood, log(-log) and log-rank values are closed form (1e-10
relative here, in practice ~1e-15); Cox estimates are iterative (both sides converged to 1e-10
or better: 1e-8 relative).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from reference import r_survival as R

from iopoutcomes import InsufficientDataError, MissingColumnError, ParameterError
from iopoutcomes.survival import kaplan_meier, logrank_test, time_to_relapse

Z95 = 1.959963984540054


def relapse_frame() -> pd.DataFrame:
    """Python twin of the R data in tests/reference/r_survival.py."""
    i = np.arange(90)
    cohort = np.array(["IOP", "inpatient", "residential"])[i % 3]
    return pd.DataFrame(
        {
            "episode_id": [f"e{k}" for k in i],
            "cohort": cohort,
            "first_use_after_discharge_time": 1 + (i * 17) % 40 + np.where(cohort == "IOP", 6, 0),
            "first_use_after_discharge_event": ((i * 7) % 5 != 0),
            "sev": ((i * 11) % 13) / 6 - 1,
            "sex": np.where((i * 5) % 7 < 3, "F", "M"),
        }
    )


@pytest.fixture(scope="module")
def two() -> pd.DataFrame:
    df = relapse_frame()
    return df[df.cohort != "residential"].reset_index(drop=True)


def test_kaplan_meier_matches_survfit_loglog(two: pd.DataFrame) -> None:
    res = time_to_relapse(two)
    st = res.survival_table
    assert st["group"].tolist() == R.KM_GROUP  # reference (inpatient) first, as relevel()
    np.testing.assert_array_equal(st["time"], R.KM_TIME)
    np.testing.assert_array_equal(st["n_at_risk"], R.KM_N_RISK)
    np.testing.assert_array_equal(st["n_events"], R.KM_N_EVENT)
    np.testing.assert_array_equal(st["n_censored"], R.KM_N_CENSOR)
    np.testing.assert_allclose(st["survival"], R.KM_SURV, rtol=1e-10)
    np.testing.assert_allclose(st["std_err"], R.KM_STD_ERR, rtol=1e-10)
    # NaN exactly where R gives NA (S = 1 or S = 0)
    np.testing.assert_allclose(st["ci_low"], R.KM_LOWER, rtol=1e-10)
    np.testing.assert_allclose(st["ci_high"], R.KM_UPPER, rtol=1e-10)


def test_kaplan_meier_hand_example() -> None:
    """Hand computation: times 1,2,2+,3,5+,6+ (events at 1, 2, 3)."""
    km = kaplan_meier([1, 2, 2, 3, 5, 6], [1, 1, 0, 1, 0, 0])
    expected = [5 / 6, 5 / 6 * 4 / 5, 5 / 6 * 4 / 5 * 2 / 3, 4 / 9, 4 / 9]
    np.testing.assert_allclose(km["survival"], expected, rtol=1e-12)
    np.testing.assert_allclose(km["survival"], R.SMALL_SURV, rtol=1e-12)
    # Greenwood: sum d / (n (n - d)) = 1/30 + 1/20 + 1/6 at t = 3
    assert km["std_err"].iloc[2] == pytest.approx(np.sqrt(1 / 30 + 1 / 20 + 1 / 6), rel=1e-12)
    np.testing.assert_allclose(km["ci_low"], R.SMALL_LOWER, rtol=1e-10)
    np.testing.assert_allclose(km["ci_high"], R.SMALL_UPPER, rtol=1e-10)


def test_medians_match_quantile_survfit(two: pd.DataFrame) -> None:
    med = time_to_relapse(two).medians
    assert med["group"].tolist() == ["inpatient", "IOP"]
    np.testing.assert_array_equal(med["median"], R.MEDIAN)
    np.testing.assert_array_equal(med["ci_low"], R.MEDIAN_LOWER)
    np.testing.assert_array_equal(med["ci_high"], R.MEDIAN_UPPER)


@pytest.mark.parametrize(
    ("time", "event", "expected"),
    [
        ([1, 2, 3, 4], [1, 1, 1, 1], R.FLAT_MEDIAN),  # S = 0.5 on [2, 3): midpoint 2.5
        ([1, 2, 2, 3, 5, 6], [1, 1, 0, 1, 0, 0], R.SMALL_MEDIAN),  # upper limit not reached
    ],
)
def test_median_conventions(time: list[int], event: list[int], expected: list[float]) -> None:
    df = pd.DataFrame({"g": ["a"] * len(time) + ["b"], "t": time + [1], "e": event + [1]})
    med = time_to_relapse(df, "g", time="t", event="e", reference="b").medians
    row = med[med.group == "a"].iloc[0]
    np.testing.assert_array_equal([row["median"], row["ci_low"], row["ci_high"]], expected)


def test_logrank_matches_survdiff(two: pd.DataFrame) -> None:
    res = time_to_relapse(two)
    assert res.logrank.statistic == pytest.approx(R.LOGRANK2_CHISQ[0], rel=1e-10)
    assert res.logrank.df == 1
    from scipy.stats import chi2

    assert res.logrank.pvalue == pytest.approx(chi2.sf(R.LOGRANK2_CHISQ[0], 1), rel=1e-10)
    np.testing.assert_allclose(
        res.logrank.expected[["inpatient", "IOP"]], R.LOGRANK2_EXP, rtol=1e-10
    )
    np.testing.assert_allclose(res.logrank.observed[["inpatient", "IOP"]], R.LOGRANK2_OBS)


def test_logrank_three_groups_matches_survdiff() -> None:
    df = relapse_frame()
    res = logrank_test(
        df.first_use_after_discharge_time, df.first_use_after_discharge_event, df.cohort
    )
    assert res.statistic == pytest.approx(R.LOGRANK3_CHISQ[0], rel=1e-10)
    assert res.df == 2
    np.testing.assert_allclose(res.expected[R.LOGRANK3_GROUPS], R.LOGRANK3_EXP, rtol=1e-10)
    statistic, pvalue = res  # unpacks as (statistic, pvalue)
    assert statistic == res.statistic and pvalue == res.pvalue


@pytest.mark.parametrize(
    ("ties", "coef", "se"),
    [
        ("efron", R.COX_EFRON_COEF, R.COX_EFRON_SE),
        ("breslow", R.COX_BRESLOW_COEF, R.COX_BRESLOW_SE),
    ],
)
def test_cox_matches_coxph(
    two: pd.DataFrame, ties: Any, coef: list[float], se: list[float]
) -> None:
    cox = time_to_relapse(two, ties=ties).cox
    assert cox["term"].tolist() == ["cohort[IOP]"]
    row = cox.iloc[0]
    assert np.log(row.hazard_ratio) == pytest.approx(coef[0], rel=1e-8)
    assert row.std_err == pytest.approx(se[0], rel=1e-8)
    assert row.ci_low == pytest.approx(np.exp(coef[0] - Z95 * se[0]), rel=1e-8)
    from scipy.stats import norm

    assert row.pvalue == pytest.approx(2 * norm.sf(abs(coef[0] / se[0])), rel=1e-7)


def test_adjusted_cox_matches_coxph(two: pd.DataFrame) -> None:
    res = time_to_relapse(two, adjust=["sev", "sex"])
    assert res.cox["term"].tolist() == ["cohort[IOP]", "sev", "sex[M]"]
    np.testing.assert_allclose(np.log(res.cox["hazard_ratio"]), R.COX_ADJ_COEF, rtol=1e-8)
    np.testing.assert_allclose(res.cox["std_err"], R.COX_ADJ_SE, rtol=1e-8)
    assert "adjusted" in res.narrative()


def test_at_risk_table_matches_summary_times(two: pd.DataFrame) -> None:
    tab = time_to_relapse(two).at_risk_table([0, 5, 10, 20.5, 40])
    assert tab["group"].tolist() == R.AT_GROUP
    np.testing.assert_array_equal(tab["n_at_risk"], R.AT_N_RISK)
    np.testing.assert_allclose(tab["survival"], R.AT_SURV, rtol=1e-10)
    np.testing.assert_allclose(tab["ci_low"], R.AT_LOWER, rtol=1e-10)
    np.testing.assert_allclose(tab["ci_high"], R.AT_UPPER, rtol=1e-10)
    # cumulative events by day 10 in the inpatient group: events at 2, 4, 5, 8, 9 -> 5;
    # censored at 1 and 6 -> 2
    assert tab.loc[2, "n_events"] == 5 and tab.loc[2, "n_censored"] == 2


def test_to_frame_rendering_and_episode_outcomes_duck_type(two: pd.DataFrame) -> None:
    class FakeOutcomes:  # duck-typed EpisodeOutcomes
        definition = "def"

        def to_frame(self) -> pd.DataFrame:
            return two

    res = time_to_relapse(FakeOutcomes())
    assert res.definition == "def"
    out = res.to_frame()
    assert out.columns.tolist()[:4] == ["group", "reference", "n", "n_events"]
    assert out["n"].tolist() == [30, 30] and out["n_events"].tolist() == [24, 24]
    assert out.loc[0, "hazard_ratio"] == 1.0 and np.isnan(out.loc[0, "pvalue"])
    assert out.loc[1, "hazard_ratio"] == pytest.approx(np.exp(R.COX_EFRON_COEF[0]), rel=1e-8)
    text = repr(res) + res._repr_html_() + res.narrative() + res.methods_text()
    assert "day 23" in res.narrative() and "Greenwood" in res.methods_text()
    assert "60 episodes, 48 relapses, 12 censored" in text


def test_plot_shim(two: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    assert time_to_relapse(two).plot(ax=ax) is ax
    plt.close(fig)


def test_missing_rows_and_errors(two: pd.DataFrame) -> None:
    holes = two.astype({"first_use_after_discharge_time": float})
    holes.loc[[0, 1], "first_use_after_discharge_time"] = np.nan
    res = time_to_relapse(holes)
    assert res.n_excluded == 2 and "2 episodes" in res.remarks[0]
    assert int(res.counts["n"].sum()) == 58
    with pytest.raises(MissingColumnError, match="lee2018_relapse_time"):
        time_to_relapse(two, relapse="lee2018_relapse")
    with pytest.raises(InsufficientDataError, match="reference"):
        time_to_relapse(two, reference="residential")
    with pytest.raises(InsufficientDataError, match="one group"):
        time_to_relapse(two[two.cohort == "IOP"], reference="IOP")
    neg = two.assign(first_use_after_discharge_time=-two.first_use_after_discharge_time)
    with pytest.raises(ParameterError, match="negative"):
        time_to_relapse(neg)
    with pytest.raises(ParameterError, match="ties"):
        time_to_relapse(two, ties="exact")  # type: ignore[arg-type]


def test_no_events_group_remark() -> None:
    df = pd.DataFrame(
        {"g": ["a"] * 4 + ["b"] * 4, "t": [1, 2, 3, 4] * 2, "e": [1, 1, 0, 1, 0, 0, 0, 0]}
    )
    res = time_to_relapse(df, "g", time="t", event="e", reference="a")
    assert any("b has no relapses" in r for r in res.remarks)
    assert res.cox["hazard_ratio"].isna().all()  # not estimable: no Cox fit
    assert np.isnan(res.medians.set_index("group").loc["b", "median"])
    # hand log-rank (events at 1, 2, 4; at risk a/b: 4/4, 3/3, 1/1):
    # O - E for a = 3 - (1/2 + 1/2 + 1/2) = 1.5; V = 1/4 + 1/4 + 1/4 = 0.75; chi2 = 1.5^2 / 0.75
    assert res.logrank.statistic == pytest.approx(3.0, rel=1e-12)


def test_simulated_exponential_recovers_hazard_ratio() -> None:
    """Seeded simulation: exponential times with true HR 0.6, uniform censoring."""
    rng = np.random.default_rng(5)
    n = 3000
    iop = rng.random(n) < 0.5
    t_event = rng.exponential(1 / np.where(iop, 0.006, 0.01))
    t_cens = rng.uniform(0, 365, n)
    df = pd.DataFrame(
        {
            "cohort": np.where(iop, "IOP", "inpatient"),
            "t": np.minimum(t_event, t_cens),
            "e": (t_event <= t_cens).astype(int),
        }
    )
    res = time_to_relapse(df, time="t", event="e")
    row = res.cox.iloc[0]
    assert row.ci_low < 0.6 < row.ci_high
    assert row.hazard_ratio == pytest.approx(0.6, abs=0.06)
    # true medians log(2)/rate: 69.3 (inpatient), 115.5 (IOP)
    med = res.medians.set_index("group")["median"]
    assert med["inpatient"] == pytest.approx(np.log(2) / 0.01, rel=0.1)
    assert med["IOP"] == pytest.approx(np.log(2) / 0.006, rel=0.1)


def test_integration_sample_episode_outcomes() -> None:
    """load_sample() -> episode_outcomes -> time_to_relapse on the engine's default columns."""
    from iopoutcomes.outcomes import episode_outcomes
    from iopoutcomes.simulate import load_sample

    out = episode_outcomes(load_sample())
    res = time_to_relapse(out, adjust=["severity"])
    frame = out.to_frame()
    usable = frame["first_use_after_discharge_time"].notna()
    assert int(res.counts["n"].sum()) == int(usable.sum())
    assert res.n_excluded == int((~usable).sum())
    assert res.reference == "inpatient" and res.definition is out.definition
    # the KM curve at the last time equals the product-limit of the engine's columns (hand)
    iop = frame[usable & (frame.cohort == "IOP")]
    km = kaplan_meier(iop.first_use_after_discharge_time, iop.first_use_after_discharge_event)
    st = res.survival_table[res.survival_table.group == "IOP"]
    assert st["survival"].iloc[-1] == pytest.approx(km["survival"].iloc[-1], rel=1e-12)
    assert res.cox["term"].tolist() == ["cohort[IOP]", "severity"]


def test_analysis_name_and_time_unit_from_columns(two: pd.DataFrame) -> None:
    """time=/event= name the analysis; weekly-pattern names default to weeks (issue: the result
    used to say "first_use_after_discharge", "(days)" and "by day" whatever the columns)."""
    import matplotlib.pyplot as plt

    weekly = two.rename(
        columns={
            "first_use_after_discharge_time": "lee2018_relapse_time",
            "first_use_after_discharge_event": "lee2018_relapse_event",
        }
    )
    res = time_to_relapse(weekly, time="lee2018_relapse_time", event="lee2018_relapse_event")
    assert res.relapse == "lee2018_relapse"
    assert res.time_unit == "weeks" and res.time_label == "Weeks of follow-up"
    text = repr(res) + res._repr_html_()
    assert "lee2018_relapse by cohort" in text and "time in weeks" in text
    assert "first_use_after_discharge" not in text and "(days)" not in text
    # same medians as the days analysis of the same numbers (R.MEDIAN: 23 for inpatient)
    assert "by week 23" in res.narrative() and "by day" not in res.narrative()
    assert "in weeks" in res.methods_text() and "(weeks)" in res.definition_text()
    # relapse= alone gives the same name and unit (the event column follows the name)
    assert time_to_relapse(weekly, relapse="lee2018_relapse").time_unit == "weeks"
    assert time_to_relapse(weekly, time="lee2018_relapse_time").event_col == (
        "lee2018_relapse_event"
    )
    fig, ax = plt.subplots()
    assert res.plot(ax=ax).get_xlabel() == "Weeks of follow-up"
    plt.close(fig)


def test_time_unit_days_and_explicit_override(two: pd.DataFrame) -> None:
    res = time_to_relapse(two)
    assert res.relapse == "first_use_after_discharge" and res.time_unit == "days"
    assert res.time_label == "Days since discharge"
    assert "by day 23" in res.narrative() and "time in days" in repr(res)
    assert "in days" in res.methods_text()
    # a column without a pattern name: named after the column, days by default
    custom = two.rename(columns={"first_use_after_discharge_time": "t", "sex": "e"}).assign(
        e=two["first_use_after_discharge_event"]
    )
    res = time_to_relapse(custom, time="t", event="e")
    assert res.relapse == "t" and res.time_unit == "days"
    assert res.time_label == "Days of follow-up"
    # explicit unit wins over the default
    res = time_to_relapse(custom, time="t", event="e", time_unit="weeks")
    assert res.time_unit == "weeks" and "by week 23" in res.narrative()
    with pytest.raises(ParameterError, match="time_unit"):
        time_to_relapse(two, time_unit="months")  # type: ignore[arg-type]


def test_logrank_without_relapses_gives_no_test_not_a_crash() -> None:
    """Zero events in every group: R's survdiff drops groups with no expected events and has
    nothing left to test; the library reports NaN and says so (it used to raise numpy's
    LinAlgError "Singular matrix")."""
    df = pd.DataFrame(
        {"cohort": ["IOP"] * 3 + ["inpatient"] * 3, "days": [1, 2, 3, 4, 5, 6], "ev": [0] * 6}
    )
    res = time_to_relapse(df, time="days", event="ev")
    assert np.isnan(res.logrank.statistic) and np.isnan(res.logrank.pvalue)
    assert res.logrank.df == 0
    assert any("log-rank test was not computed" in r for r in res.remarks)
    assert "No log-rank test" in res.narrative()


def test_logrank_drops_a_group_with_no_expected_events() -> None:
    """A group with nobody at risk at any event time has no expected events; as R's survdiff
    (``df <- (etmp > 0)``) it leaves the test, which then equals the test on the other groups
    (hand reference: the same data without that group)."""
    t = [1, 2, 3, 4, 5, 6, 7, 8, 0.5, 0.6]
    e = [1, 1, 0, 1, 1, 1, 1, 0, 0, 0]
    g = ["a"] * 4 + ["b"] * 4 + ["c"] * 2
    three = logrank_test(t, e, g)
    two = logrank_test(t[:8], e[:8], g[:8])
    assert three.df == 1
    np.testing.assert_allclose(three.statistic, two.statistic, rtol=1e-12)
    np.testing.assert_allclose(three.pvalue, two.pvalue, rtol=1e-12)


def test_monotone_likelihood_is_remarked_not_silent() -> None:
    # Every inpatient client relapses (days 1-5) before any IOP client (days 10-14): the Cox
    # partial likelihood increases without bound, so the fit cannot converge.
    frame = pd.DataFrame(
        {
            "cohort": ["inpatient"] * 5 + ["IOP"] * 5,
            "x_time": [1, 2, 3, 4, 5, 10, 11, 12, 13, 14],
            "x_event": [1] * 10,
        }
    )
    result = time_to_relapse(frame, by="cohort", relapse="x", reference="inpatient")
    assert any("did not converge" in r for r in result.remarks)
    ordinary = frame.assign(x_time=[1, 12, 3, 14, 5, 10, 2, 11, 4, 13])
    result = time_to_relapse(ordinary, by="cohort", relapse="x", reference="inpatient")
    assert not any("did not converge" in r for r in result.remarks)
