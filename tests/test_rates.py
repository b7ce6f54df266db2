"""outcome_rates / abstinence_rates / followup_rates: counts exact, Wilson limits by hand."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from iopoutcomes.benchmarks import MCCARTY_2014
from iopoutcomes.definitions import OutcomeDefinition
from iopoutcomes.exceptions import MissingColumnError, ParameterError
from iopoutcomes.outcomes import EpisodeOutcomes, episode_outcomes
from iopoutcomes.rates import (
    FollowupRateTable,
    RateTable,
    abstinence_rates,
    followup_rates,
    outcome_rates,
)
from iopoutcomes.schema import RATE_COLUMNS
from iopoutcomes.simulate import simulate_records


def wilson(x: float, n: float, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson (1927) score interval, closed form; = R prop.test(x, n, correct=FALSE)$conf.int."""
    centre = (x + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * math.sqrt(x * (n - x) / n + z * z / 4)
    return centre - half, centre + half


@pytest.fixture
def frame() -> pd.DataFrame:
    # IOP: 10 episodes, 6 abstinent, 2 not, 2 missing (1 died); inpatient: 5, 2 / 1 / 2
    return pd.DataFrame(
        {
            "cohort": ["IOP"] * 10 + ["inpatient"] * 5,
            "abstinent_6mo": pd.array(
                [True] * 6 + [False] * 2 + [None] * 2 + [True] * 2 + [False] + [None] * 2,
                dtype="boolean",
            ),
            "followup_status_6mo": ["completed"] * 8
            + ["died", "missed"]
            + ["completed"] * 3
            + ["incarcerated", "refused"],
        }
    )


def test_using_exclude_counts_and_wilson(frame: pd.DataFrame) -> None:
    t = outcome_rates(frame, "abstinent_6mo").table
    assert t.columns.tolist() == [*RATE_COLUMNS, "missing"]
    assert t["n"].tolist() == [10, 5] and t["n_events"].tolist() == [6, 2]
    assert t["n_missing"].tolist() == [2, 2] and t["missing"].tolist() == ["using"] * 2
    np.testing.assert_allclose(t["rate"], [0.6, 0.4], rtol=1e-12)
    # R: prop.test(6, 10, correct=FALSE)$conf.int = 0.3126738 0.8318197
    np.testing.assert_allclose([t["ci_low"][0], t["ci_high"][0]], [0.3126738, 0.8318197], rtol=1e-6)
    np.testing.assert_allclose([t["ci_low"][1], t["ci_high"][1]], wilson(2, 5), rtol=1e-6)
    e = outcome_rates(frame, "abstinent_6mo", missing="exclude").table
    assert e["n"].tolist() == [8, 3]
    np.testing.assert_allclose(e["rate"], [6 / 8, 2 / 3], rtol=1e-12)
    assert (t["rate"] <= e["rate"]).all()  # using <= exclude


def test_bounds_rows(frame: pd.DataFrame) -> None:
    b = outcome_rates(frame, "abstinent_6mo", missing="bounds")
    t = b.table
    assert t["bound"].tolist() == ["lower", "lower", "upper", "upper"]
    np.testing.assert_allclose(t["rate"], [0.6, 0.4, 0.8, 0.8], rtol=1e-12)
    assert t["n_events"].tolist() == [6, 2, 8, 4]
    assert "bounds" in b.remarks[-1] or any("lower bound" in r for r in b.remarks)


def test_death_policy_exclude(frame: pd.DataFrame) -> None:
    d = OutcomeDefinition(death_policy="exclude")
    r = outcome_rates(frame, "abstinent_6mo", definition=d)
    assert r.table["n"].tolist() == [9, 4]  # the died and the incarcerated leave
    assert any("left out of the denominator" in x for x in r.remarks)
    assert any("counted as not abstinent" in x for x in r.remarks)


def test_remark_counts_using(frame: pd.DataFrame) -> None:
    r = outcome_rates(frame, "abstinent_6mo", by=None)
    assert r.table["group"].tolist() == ["all"]
    assert any(
        x.startswith("4 of 15 episodes had no 6-month abstinence outcome") for x in r.remarks
    )
    assert "missing=using" in r._header()


def test_errors(frame: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="must be one of"):
        outcome_rates(frame, "abstinent_6mo", missing="drop")
    with pytest.raises(MissingColumnError):
        outcome_rates(frame, "abstinent_9mo")
    with pytest.raises(MissingColumnError):
        outcome_rates(frame, "abstinent_6mo", by="site")
    with pytest.raises(ParameterError):
        outcome_rates(frame, "abstinent_6mo", confidence_level=95)


def test_duckdb_and_dask_give_the_same_counts(frame: pd.DataFrame) -> None:
    duckdb = pytest.importorskip("duckdb")
    f = frame.assign(abstinent_6mo=frame["abstinent_6mo"].astype("Float64"))
    rel = duckdb.from_df(f.assign(abstinent_6mo=f["abstinent_6mo"].astype(float)))
    a = outcome_rates(frame, "abstinent_6mo", missing="bounds").table
    b = outcome_rates(rel, "abstinent_6mo", missing="bounds").table
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    dd = pytest.importorskip("dask.dataframe")
    c = outcome_rates(
        dd.from_pandas(f.assign(abstinent_6mo=f["abstinent_6mo"].astype(float)), npartitions=2),
        "abstinent_6mo",
        missing="exclude",
    ).table
    pd.testing.assert_frame_equal(
        outcome_rates(frame, "abstinent_6mo", missing="exclude").table, c, check_dtype=False
    )


def test_benchmark_and_narrative(frame: pd.DataFrame) -> None:
    r = outcome_rates(frame, "abstinent_6mo", missing="exclude")
    cb = r.check_benchmark()
    assert cb["position"].tolist() == ["overlapping", "overlapping"]
    assert cb["citation"].iloc[0] == MCCARTY_2014.citation
    text = r.narrative()
    assert text.startswith("IOP: 75% abstinent at 6-month follow-up")
    assert "6 of 8" in text


@pytest.fixture(scope="module")
def outcomes() -> EpisodeOutcomes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rec = simulate_records(n=600, seed=5)
    return episode_outcomes(rec, covariates=("age", "sex", "severity", "site"))


def test_episode_outcomes_input_and_simulated_truth(outcomes: EpisodeOutcomes) -> None:
    r = abstinence_rates(outcomes, timepoints=("3mo", "6mo"))
    assert isinstance(r, RateTable) and r.definition is outcomes.definition
    assert r.table["timepoint"].tolist() == ["3mo", "3mo", "6mo", "6mo"]
    # counts equal a direct count of the episode table's due follow-ups (open windows are
    # not yet due and are not counted)
    t = outcomes.table
    for row in r.table.itertuples():
        due = t[f"followup_due_{row.timepoint}"].astype(bool)
        g = t.loc[(t["cohort"] == row.group) & due, f"abstinent_{row.timepoint}"]
        assert row.n == len(g) and row.n_events == int(g.fillna(False).sum())
        assert row.n_missing == int(g.isna().sum())
    # followed-up reports equal the simulated truth among the observed
    fd = outcomes.records_summary  # provenance recorded
    assert fd["provenance"] == "simulated"


def test_impute_and_ipw_close_to_complete_case(outcomes: EpisodeOutcomes) -> None:
    d = outcomes.definition.replace(n_imputations=5)
    cc = outcome_rates(outcomes, missing="exclude").table
    mi = outcome_rates(outcomes, missing="impute", definition=d).table
    ipw = outcome_rates(outcomes, missing="ipw").table
    assert mi["method"].iloc[0].startswith("multiple imputation (m=5)")
    for t in (mi, ipw):
        assert ((t["ci_low"] <= t["rate"]) & (t["rate"] <= t["ci_high"])).all()
        assert (abs(t["rate"] - cc["rate"]) < 0.08).all()
    again = outcome_rates(outcomes, missing="impute", definition=d).table
    pd.testing.assert_frame_equal(mi, again)  # seeded


def test_milestone_and_calendar_outcomes(outcomes: EpisodeOutcomes) -> None:
    r = outcome_rates(
        outcomes, ["completed_program", "treatment_completed", "sustained_30d_after_discharge"]
    )
    assert r.table["timepoint"].isna().all()
    assert set(r.table["outcome"]) == {
        "completed_program",
        "treatment_completed",
        "sustained_30d_after_discharge",
    }


def test_followup_rates(outcomes: EpisodeOutcomes) -> None:
    f = followup_rates(outcomes)
    assert isinstance(f, FollowupRateTable)
    t = f.table
    assert t["target"].eq(0.8).all()
    assert (
        t["due"] == t["conducted_in_window"] + t["conducted_out_of_window"] + t["not_conducted"]
    ).all()
    assert (t["episodes"] == t["due"] + t["pending"] + t["excluded"]).all()
    tab = outcomes.table
    row = t.loc[(t["group"] == "IOP") & (t["timepoint"] == "6mo")].iloc[0]
    iop = tab.loc[tab["cohort"] == "IOP"]
    due = iop["followup_due_6mo"].astype(bool)
    done = (iop["followup_status_6mo"] == "completed") & iop["in_window_6mo"].fillna(False).astype(
        bool
    )
    assert row["due"] == due.sum() and row["conducted_in_window"] == (due & done).sum()
    lo, hi = wilson(row["conducted_in_window"], row["due"])
    np.testing.assert_allclose([row["ci_low"], row["ci_high"]], [lo, hi], rtol=1e-6)
    assert set(f.check_benchmark()["position"]) <= {"below", "overlapping", "above"}
    assert "target" in f.narrative()


def test_rate_table_display(frame: pd.DataFrame) -> None:
    r = outcome_rates(frame, "abstinent_6mo")
    assert repr(r).startswith("<RateTable: abstinent_6mo by cohort, 15 episodes, missing=using>")
    assert "<table" in r._repr_html_()
    assert r.to_frame() is not r.table


def test_relapse_outcome_counts_missing_as_relapsed() -> None:
    # 6 relapsed, 2 not, 2 missing: missing = using is the unfavourable value, relapsed (1)
    f = pd.DataFrame(
        {"relapse_6mo": pd.array([True] * 6 + [False] * 2 + [None] * 2, dtype="boolean")}
    )
    up = outcome_rates(f, "relapse_6mo", by=None).table.iloc[0]
    down = outcome_rates(f, "relapse_6mo", by=None, higher_is_better=False)
    row = down.table.iloc[0]
    assert (up["n_events"], row["n_events"], row["n"], row["n_missing"]) == (6, 8, 10, 2)
    np.testing.assert_allclose(row["rate"], 0.8, rtol=1e-12)
    np.testing.assert_allclose([row["ci_low"], row["ci_high"]], wilson(8, 10), rtol=1e-6)
    assert any("counted as relapsed" in r for r in down.remarks)


def test_label_uses_the_tables_own_rule(outcomes: EpisodeOutcomes) -> None:
    assert outcomes.definition.missing == "using"
    r = outcome_rates(outcomes, "abstinent_6mo", missing="exclude")
    assert r.label("abstinent_6mo").endswith("missing = exclude")
    assert r.definition is not None and r.definition.missing == "exclude"  # plots' labels
    assert "missing = exclude" in r.definition_text()


def test_one_denominator_across_rates_comparison_gee_and_followup() -> None:
    """The sample's 6-month outcome: outcome_rates, compare_rates, compare_over_time and
    followup_rates count the same episodes (follow-up due), 275 IOP and 161 inpatient; before,
    386 (pending counted as not abstinent), 290 (early assessments in open windows counted)
    and 275."""
    from iopoutcomes.compare import compare_rates
    from iopoutcomes.longitudinal import compare_over_time
    from iopoutcomes.simulate import load_sample

    out = episode_outcomes(load_sample())
    t = out.table
    due = t["followup_due_6mo"].astype(bool)
    hand = t.loc[due].groupby("cohort").size()  # direct count of the episode table
    rates = outcome_rates(out, "abstinent_6mo").table.set_index("group")["n"]
    cmp = compare_rates(out).table.iloc[0]
    gee = compare_over_time(out).observed.query("timepoint == '6mo'").set_index("group")["n"]
    fu = followup_rates(out, timepoints="6mo").table.set_index("group")["n"]
    for n in (rates, gee, fu):
        assert n["IOP"] == hand["IOP"] and n["inpatient"] == hand["inpatient"]
    assert (cmp["n"], cmp["n_ref"]) == (hand["IOP"], hand["inpatient"])
    open_windows = int((~due).sum())
    remark = (
        f"abstinent_6mo: {open_windows} episodes whose 6-month window is still open are not yet "
        "due and are not counted"
    )
    r = outcome_rates(out, "abstinent_6mo")
    assert any(x.startswith(remark) for x in r.remarks)
    assert any(x.startswith(remark) for x in compare_rates(out).remarks)


def test_weighted_rates_by_hand() -> None:
    """Kish (1965) effective n and Wilson on it; rows without an outcome are left out."""
    from iopoutcomes.rates import weighted_rates

    f = pd.DataFrame({"cohort": ["IOP"] * 5 + ["inpatient"] * 3, "y": [1, 1, 0, 1, None, 0, 1, 1]})
    w = [1.0, 1.0, 2.0, 2.0, 5.0, 1.0, 1.0, 1.0]
    t = weighted_rates(f, "y", w, ["cohort"]).set_index("cohort")
    # IOP: sum w = 6, sum w y = 1 + 1 + 2 = 4, sum w^2 = 10: rate 2/3, n_eff = 36/10 = 3.6
    assert t.loc["IOP", ["sum_w", "sum_wy", "sum_w2"]].tolist() == [6.0, 4.0, 10.0]
    np.testing.assert_allclose([t.loc["IOP", "rate"], t.loc["IOP", "n_eff"]], [2 / 3, 3.6])
    np.testing.assert_allclose(
        [t.loc["IOP", "ci_low"], t.loc["IOP", "ci_high"]], wilson(2 / 3 * 3.6, 3.6), rtol=1e-6
    )
    # inpatient: weights 1, the plain Wilson interval of 2 of 3
    np.testing.assert_allclose(
        [t.loc["inpatient", "ci_low"], t.loc["inpatient", "ci_high"]], wilson(2, 3), rtol=1e-6
    )
    # no keys: one row over all observed rows (sum w = 9, sum w y = 6, sum w^2 = 13)
    one = weighted_rates(f, "y", w).iloc[0]
    np.testing.assert_allclose([one["rate"], one["n_eff"]], [6 / 9, 81 / 13])


def test_ipw_rates_are_weighted_rates_with_sandwich_intervals() -> None:
    # issue 20: the interval accounts for the follow-up weights being estimated (the
    # M-estimation sandwich of missing.ipw_sandwich, checked against the post-stratification
    # closed form in test_missing.py), no longer Kish's effective n of fixed weights
    from iopoutcomes.missing import completed_datasets, ipw_sandwich
    from iopoutcomes.rates import weighted_rates

    rng = np.random.default_rng(3)
    n = 600
    age = rng.normal(0, 1, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.2 + 0.7 * age)))).astype(float)
    y[rng.random(n) < 1 / (1 + np.exp(-(-0.7 + 0.9 * age)))] = np.nan
    df = pd.DataFrame({"cohort": np.where(rng.random(n) < 0.5, "IOP", "inpatient"),
                       "abstinent_6mo": y, "age": age})  # fmt: skip
    t = abstinence_rates(df, missing="ipw", covariates=["age"]).table.set_index("group")
    (cd,) = completed_datasets(df, "abstinent_6mo", missing="ipw", covariates=("cohort", "age"))
    w = weighted_rates(cd.frame, "abstinent_6mo", cd.weights, ["cohort"]).set_index("cohort")
    groups, mu, cov = ipw_sandwich(df, "abstinent_6mo", "cohort", ["cohort", "age"])
    z = 1.959963984540054
    for i, g in enumerate(groups):
        p = w.loc[g, "rate"]
        assert t.loc[g, "rate"] == pytest.approx(p, rel=1e-9) and mu[i] == pytest.approx(p)
        # Wilson (1927) on n = p (1 - p) / V: p * n "events" in n trials
        n_eff = p * (1 - p) / cov[i, i]
        centre = (p * n_eff + z * z / 2) / (n_eff + z * z)
        half = z / (n_eff + z * z) * np.sqrt(p * (1 - p) * n_eff + z * z / 4)
        assert t.loc[g, ["ci_low", "ci_high"]].tolist() == pytest.approx(
            [centre - half, centre + half], rel=1e-9
        )
    # without predictors beyond the group the rule is refused (it would be complete case)
    with pytest.raises(ParameterError, match="needs predictors"):
        abstinence_rates(df, missing="ipw")
    with pytest.raises(ParameterError, match="needs predictors"):
        abstinence_rates(df, missing="impute")


def test_group_counts_weights_refused_on_dask_and_duckdb(frame: pd.DataFrame) -> None:
    """weights= is pandas-only: Dask/DuckDB used to drop the weights silently (unweighted)."""
    from iopoutcomes._counts import group_counts

    f = frame.assign(abstinent_6mo=frame["abstinent_6mo"].astype("Float64").astype(float), w=2.0)
    # pandas: every weight 2 doubles every count (hand computation)
    plain = group_counts(f, "abstinent_6mo", "cohort")
    weighted = group_counts(f, "abstinent_6mo", "cohort", weights="w")
    np.testing.assert_allclose(weighted["n"], 2 * plain["n"], rtol=1e-6)
    duckdb = pytest.importorskip("duckdb")
    with pytest.raises(ParameterError, match="pandas DataFrames only"):
        group_counts(duckdb.from_df(f), "abstinent_6mo", "cohort", weights="w")
    dd = pytest.importorskip("dask.dataframe")
    with pytest.raises(ParameterError, match="pandas DataFrames only"):
        group_counts(dd.from_pandas(f, npartitions=2), "abstinent_6mo", "cohort", weights="w")


def test_followup_rate_text_names_the_interval_method_used(outcomes: EpisodeOutcomes) -> None:
    """The methods text used to say "Wilson" whatever method= was."""
    assert "Wilson 95% intervals" in followup_rates(outcomes).definition_text()
    text = followup_rates(outcomes, interval="jeffreys").definition_text()
    assert "Jeffreys 95% intervals" in text and "Wilson" not in text


def test_rows_without_a_group_are_reported_not_dropped_silently() -> None:
    # 3 episodes, one without a cohort: n = 2 (hand count) and a remark says 1 was left out
    f = pd.DataFrame({"cohort": ["IOP", "IOP", None], "abstinent_6mo": [1, 0, 1]})
    r = outcome_rates(f, "abstinent_6mo")
    assert r.table["n"].tolist() == [2]
    assert any("1 episodes with a missing cohort value were left out" in x for x in r.remarks)


def test_ipw_rates_report_extreme_weights() -> None:
    from iopoutcomes.missing import completed_datasets as real_completed

    rng = np.random.default_rng(5)
    n = 1000
    df = pd.DataFrame(
        {
            "cohort": np.where(rng.random(n) < 0.5, "IOP", "inpatient"),
            "remote": (rng.random(n) < 0.2).astype(float),
            "abstinent_6mo": (rng.random(n) < 0.6).astype(float),
        }
    )
    # clients living far away are almost never reached: large weights for the few who are
    df.loc[(df["remote"] == 1) & (rng.random(n) < 0.97), "abstinent_6mo"] = np.nan
    d = OutcomeDefinition(covariates=("remote",))
    res = outcome_rates(df, "abstinent_6mo", by="cohort", missing="ipw", definition=d)
    (cd,) = real_completed(df, "abstinent_6mo", missing="ipw", covariates=("cohort", "remote"))
    big = int((cd.weights > 10).sum())
    assert big > 0
    assert any(
        r.startswith(f"abstinent_6mo: missing = ipw: {big} followed-up") for r in res.remarks
    )
    modest = outcome_rates(
        df.assign(remote=0.0), "abstinent_6mo", by="cohort", missing="ipw", definition=d
    )
    assert not any("carry a weight above" in r for r in modest.remarks)


# --- observation-time eligibility (issue 21) -----------------------------------------------------


def _eligibility_frame() -> pd.DataFrame:
    # IOP: 6 eligible (4 met, 1 not, 1 unknown) + 2 not eligible; inpatient: 3 eligible
    # (1 met, 2 not) + 5 not eligible. Hand counts below.
    return pd.DataFrame(
        {
            "cohort": ["IOP"] * 8 + ["inpatient"] * 8,
            "sustained_30d_in_treatment": pd.array(
                [True, True, True, True, False, None, None, None]
                + [True, False, False, None, None, None, None, None],
                dtype="boolean",
            ),
            "eligible_sustained_30d_in_treatment": [True] * 6
            + [False] * 2
            + [True] * 3
            + [False] * 5,
        }
    )


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "dask"])
def test_not_eligible_leave_the_denominator_on_every_engine(engine: str) -> None:
    f = _eligibility_frame()
    data: object = f
    if engine == "duckdb":
        duckdb = pytest.importorskip("duckdb")
        data = duckdb.from_df(
            f.assign(sustained_30d_in_treatment=f["sustained_30d_in_treatment"].astype(float))
        )
    elif engine == "dask":
        dd = pytest.importorskip("dask.dataframe")
        data = dd.from_pandas(
            f.assign(sustained_30d_in_treatment=f["sustained_30d_in_treatment"].astype(float)),
            npartitions=2,
        )
    d = OutcomeDefinition()
    for rule, n_iop, n_inp, rate_iop in (("using", 6, 3, 4 / 6), ("exclude", 5, 3, 4 / 5)):
        t = outcome_rates(
            data, "sustained_30d_in_treatment", by="cohort", missing=rule, definition=d
        ).table.set_index("group")
        assert (t.loc["IOP", "n"], t.loc["inpatient", "n"]) == (n_iop, n_inp)
        assert t.loc["IOP", "rate"] == pytest.approx(rate_iop, rel=1e-12)
        assert (t.loc["IOP", "n_not_eligible"], t.loc["inpatient", "n_not_eligible"]) == (2, 5)
        assert (t.loc["IOP", "n_events"], t.loc["inpatient", "n_events"]) == (4, 1)
    rt = outcome_rates(data, "sustained_30d_in_treatment", by="cohort", definition=d)
    assert any(
        "7 episodes not eligible (observed < 30 days in treatment) were left out" in r
        for r in rt.remarks
    )


def test_not_eligible_column_only_for_outcomes_with_eligibility() -> None:
    f = _eligibility_frame().assign(abstinent_6mo=[1, 0] * 8)
    t = outcome_rates(f, ["abstinent_6mo", "sustained_30d_in_treatment"], by="cohort").table
    assert list(t.columns[-1:]) == ["n_not_eligible"]
    assert t.loc[t["outcome"] == "abstinent_6mo", "n_not_eligible"].tolist() == [0, 0]
    assert "n_not_eligible" not in outcome_rates(f, "abstinent_6mo", by="cohort").table
