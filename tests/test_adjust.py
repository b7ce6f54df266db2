"""Tests for iopoutcomes.adjust: SMDs, balance, ESS, g-computation and IPTW.

References: hand computations written in the tests (Austin 2009 formulas, Kish 1965) and R
(glm, sandwich::vcovCL, an R M-estimation sandwich with a numerical Jacobian) in
``tests/reference/r_adjust.py`` with the script that produced every value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reference import r_adjust as R
from scipy.special import expit

from iopoutcomes import InsufficientDataError, MissingColumnError, ParameterError
from iopoutcomes.adjust import (
    adjusted_comparison,
    balance_table,
    design_matrix,
    effective_sample_size,
    standardized_mean_difference,
)

COVS = ["sev", "age", "sex"]


def adjust_frame(n: int = 240) -> pd.DataFrame:
    """Deterministic confounded data; the R twin is in tests/reference/r_adjust.py."""
    i = np.arange(n)
    sev = ((i * 37) % 101) / 50 - 1
    age = 20 + (i * 13) % 45
    sex = np.where((i * 7) % 11 < 5, "F", "M")
    site = np.char.add("s", (i % 6).astype(str))
    iop = (((i * 53) % 97) / 97 < expit(-1.2 * sev)).astype(float)
    lin = 0.3 + 0.5 * iop - 1.0 * sev + 0.02 * (age - 40) + 0.3 * (sex == "M")
    y = (((i * 71) % 89) / 89 < expit(lin)).astype(float)
    return pd.DataFrame(
        {
            "y": y,
            "cohort": np.where(iop == 1, "IOP", "inpatient"),
            "sev": sev,
            "age": age,
            "sex": sex,
            "site": site,
        }
    )


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    df = adjust_frame()
    assert (int(df["y"].sum()), int((df["cohort"] == "IOP").sum())) == R.DATA_SUMS
    return df


# --- balance diagnostics -------------------------------------------------------------------------


def _hand_smd_continuous(x1: np.ndarray, x0: np.ndarray) -> float:
    return float((x1.mean() - x0.mean()) / np.sqrt((x1.var(ddof=1) + x0.var(ddof=1)) / 2))


def _hand_smd_binary(p1: float, p0: float) -> float:
    return float((p1 - p0) / np.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2))


def test_smd_matches_austin_2009_formulas(frame: pd.DataFrame) -> None:
    out = standardized_mean_difference(frame, "cohort", COVS, "IOP", "inpatient")
    g = frame[frame.cohort == "IOP"]
    r = frame[frame.cohort == "inpatient"]
    assert out["covariate"].tolist() == ["sev", "age", "sex", "sex"]
    assert out["level"].tolist() == ["", "", "F", "M"]
    expected = [
        _hand_smd_continuous(g.sev.to_numpy(), r.sev.to_numpy()),
        _hand_smd_continuous(g.age.to_numpy(float), r.age.to_numpy(float)),
        _hand_smd_binary((g.sex == "F").mean(), (r.sex == "F").mean()),
        _hand_smd_binary((g.sex == "M").mean(), (r.sex == "M").mean()),
    ]
    np.testing.assert_allclose(out["smd"], expected, rtol=1e-12)
    np.testing.assert_allclose(out["mean_group"].iloc[:2], [g.sev.mean(), g.age.mean()])


def test_smd_binary_numeric_uses_proportion_variance() -> None:
    df = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4, "x": [1, 1, 1, 0, 1, 0, 0, 0]})
    out = standardized_mean_difference(df, "g", "x", "a", "b")
    # p1 = .75, p0 = .25: (0.5) / sqrt((.1875 + .1875) / 2) = 1.1547005383792517
    assert out["smd"].iloc[0] == pytest.approx(0.5 / np.sqrt(0.1875), rel=1e-12)


def test_weighted_smd_hand_computation() -> None:
    x = np.array([1.0, 2.0, 4.0, 3.0, 5.0, 9.0])
    w = np.array([1.0, 2.0, 1.0, 0.5, 1.0, 2.0])
    df = pd.DataFrame({"g": list("aaabbb"), "x": x, "w": w})

    def wvar(v: np.ndarray, ww: np.ndarray) -> float:
        m = np.average(v, weights=ww)
        return float((ww * (v - m) ** 2).sum() * ww.sum() / (ww.sum() ** 2 - (ww**2).sum()))

    m1, m0 = np.average(x[:3], weights=w[:3]), np.average(x[3:], weights=w[3:])
    expected = (m1 - m0) / np.sqrt((wvar(x[:3], w[:3]) + wvar(x[3:], w[3:])) / 2)
    by_column = standardized_mean_difference(df, "g", "x", "a", "b", weights="w")
    by_array = standardized_mean_difference(df, "g", ["x"], "a", "b", weights=w)
    assert by_column["smd"].iloc[0] == pytest.approx(expected, rel=1e-12)
    assert by_array["smd"].iloc[0] == pytest.approx(expected, rel=1e-12)
    # unit weights give the unweighted SMD exactly
    unit = standardized_mean_difference(df, "g", "x", "a", "b", weights=np.ones(6))
    plain = standardized_mean_difference(df, "g", "x", "a", "b")
    assert unit["smd"].iloc[0] == pytest.approx(plain["smd"].iloc[0], rel=1e-12)


def test_smd_degenerate_and_errors() -> None:
    df = pd.DataFrame({"g": list("aabb"), "x": [1.0, 1.0, 1.0, 1.0], "y": [1.0, 1.0, 0.0, 0.0]})
    out = standardized_mean_difference(df, "g", ["x", "y"], "a", "b")
    assert out["smd"].iloc[0] == 0.0  # identical constant columns
    assert np.isnan(out["smd"].iloc[1])  # separated binary column: zero variance, non-zero gap
    with pytest.raises(InsufficientDataError, match="reference level"):
        standardized_mean_difference(df, "g", "x", "a", "zz")
    with pytest.raises(MissingColumnError):
        standardized_mean_difference(df, "g", "nope", "a", "b")
    with pytest.raises(ParameterError, match="one value per row"):
        standardized_mean_difference(df, "g", "x", "a", "b", weights=[1.0, 2.0])


def test_balance_table_columns_and_weighted(frame: pd.DataFrame) -> None:
    unweighted = balance_table(frame, "cohort", "IOP", "inpatient", COVS)
    assert unweighted.columns.tolist() == [
        "covariate",
        "level",
        "mean_group",
        "mean_reference",
        "mean_group_weighted",
        "mean_reference_weighted",
        "smd_unweighted",
        "smd_weighted",
    ]
    assert unweighted["smd_weighted"].isna().all()
    w = np.linspace(0.5, 2.0, len(frame))
    weighted = balance_table(frame, "cohort", "IOP", "inpatient", COVS, weights=w)
    g = (frame.cohort == "IOP").to_numpy()
    assert weighted["mean_group_weighted"].iloc[0] == pytest.approx(
        np.average(frame.sev[g], weights=w[g]), rel=1e-12
    )
    np.testing.assert_allclose(weighted["smd_unweighted"], unweighted["smd_unweighted"])


def test_effective_sample_size_kish() -> None:
    assert effective_sample_size(np.ones(7)) == pytest.approx(7.0, rel=1e-12)
    # (1 + 2 + 3)^2 / (1 + 4 + 9) = 36 / 14
    assert effective_sample_size([1.0, 2.0, 3.0]) == pytest.approx(36 / 14, rel=1e-12)
    assert effective_sample_size([0.0, 0.0]) == 0.0


def test_design_matrix_dummy_coding() -> None:
    df = pd.DataFrame({"a": [1, 2, None], "s": ["x", None, "y"], "b": [True, False, True]})
    x = design_matrix(df, ["a", "s", "b"])
    assert x.columns.tolist() == ["a", "s[y]", "b"]
    assert np.isnan(x.loc[1, "s[y]"]) and np.isnan(x.loc[2, "a"])
    assert x["b"].tolist() == [1.0, 0.0, 1.0]


# --- g-computation against R ---------------------------------------------------------------------

RTOL = 1e-8  # both sides converge the IRLS to 1e-12/1e-14; agreement is ~1e-13 relative


def _check(est: object, ref: dict[str, float], z: float = 1.959963984540054) -> None:
    e = est
    assert e.rate == pytest.approx(ref["r1"], rel=RTOL)  # type: ignore[attr-defined]
    assert e.rate_ref == pytest.approx(ref["r0"], rel=RTOL)  # type: ignore[attr-defined]
    assert e.diff == pytest.approx(ref["diff"], rel=RTOL)  # type: ignore[attr-defined]
    assert e.std_err == pytest.approx(ref["se_diff"], rel=1e-6)  # type: ignore[attr-defined]
    assert e.diff_ci_low == pytest.approx(ref["diff"] - z * ref["se_diff"], rel=1e-6)  # type: ignore[attr-defined]
    log_rr = np.log(ref["r1"] / ref["r0"])
    assert e.ratio_ci_high == pytest.approx(  # type: ignore[attr-defined]
        np.exp(log_rr + z * ref["se_log_rr"]), rel=1e-6
    )


def test_gcomp_matches_r_glm_delta(frame: pd.DataFrame) -> None:
    est = adjusted_comparison(frame, "y", "cohort", "IOP", "inpatient", COVS)
    _check(est, R.GCOMP_ATE)
    ref = R.GCOMP_ATE
    z = 1.959963984540054
    assert est.odds_ratio == pytest.approx(np.exp(ref["log_or"]), rel=1e-8)
    assert est.odds_ratio_ci_low == pytest.approx(
        np.exp(ref["log_or"] - z * ref["se_log_or"]), rel=1e-6
    )
    assert est.n_used == 240 and est.balance is None and est.ess is None
    assert "g-computation" in est.method and "model-based" in est.method


def test_gcomp_cluster_matches_r_vcovcl_hc1(frame: pd.DataFrame) -> None:
    est = adjusted_comparison(frame, "y", "cohort", "IOP", "inpatient", COVS, cluster="site")
    _check(est, R.GCOMP_ATE_CLUSTER)
    z = 1.959963984540054
    ref = R.GCOMP_ATE_CLUSTER
    assert est.odds_ratio_ci_high == pytest.approx(
        np.exp(ref["log_or"] + z * ref["se_log_or"]), rel=1e-6
    )
    assert "cluster-robust" in est.method


def test_gcomp_att_matches_r(frame: pd.DataFrame) -> None:
    est = adjusted_comparison(frame, "y", "cohort", "IOP", "inpatient", COVS, estimand="ATT")
    _check(est, R.GCOMP_ATT)


# --- IPTW against R ------------------------------------------------------------------------------


def test_iptw_matches_r_m_estimation(frame: pd.DataFrame) -> None:
    est = adjusted_comparison(frame, "y", "cohort", "IOP", "inpatient", COVS, method="iptw")
    _check(est, R.IPTW_ATE)
    z = 1.959963984540054
    ref = R.IPTW_ATE
    log_or = np.log(ref["r1"] / (1 - ref["r1"])) - np.log(ref["r0"] / (1 - ref["r0"]))
    assert est.odds_ratio == pytest.approx(np.exp(log_or), rel=1e-8)
    assert est.odds_ratio_ci_low == pytest.approx(np.exp(log_or - z * ref["se_log_or"]), rel=1e-6)
    # balance: weighting removes the severity imbalance
    bal = est.balance
    assert bal is not None
    sev = bal[bal.covariate == "sev"].iloc[0]
    assert abs(sev.smd_unweighted) > 0.5 and abs(sev.smd_weighted) < 0.1
    assert est.ess is not None and set(est.ess) == {"IOP", "inpatient"}
    assert 0 < est.ess["IOP"] <= 121 and 0 < est.ess["inpatient"] <= 119


def test_iptw_ess_and_weights_hand(frame: pd.DataFrame) -> None:
    """ESS from stabilised weights rebuilt by hand from a statsmodels propensity fit."""
    import statsmodels.api as sm

    est = adjusted_comparison(frame, "y", "cohort", "IOP", "inpatient", COVS, method="iptw")
    t = (frame.cohort == "IOP").to_numpy(float)
    x = sm.add_constant(np.column_stack([frame.sev, frame.age, (frame.sex == "M").astype(float)]))
    e = sm.Logit(t, x).fit(disp=0, tol=1e-12).predict(x)
    w1 = t.mean() / e[t == 1]
    assert est.ess is not None
    assert est.ess["IOP"] == pytest.approx(w1.sum() ** 2 / (w1**2).sum(), rel=1e-6)
    assert est.rate == pytest.approx(np.average(frame.y[t == 1], weights=w1), rel=1e-8)


def test_iptw_cluster_and_att_match_r(frame: pd.DataFrame) -> None:
    cl = adjusted_comparison(
        frame, "y", "cohort", "IOP", "inpatient", COVS, method="iptw", cluster="site"
    )
    _check(cl, R.IPTW_ATE_CLUSTER)
    att = adjusted_comparison(
        frame, "y", "cohort", "IOP", "inpatient", COVS, method="iptw", estimand="ATT"
    )
    _check(att, R.IPTW_ATT)


# --- bootstrap, simulation, edge cases ----------------------------------------------------------


def test_bootstrap_close_to_delta_and_seeded(frame: pd.DataFrame) -> None:
    kw = dict(inference="bootstrap", n_boot=150, seed=3)
    for method in ("gcomp", "iptw"):
        delta = adjusted_comparison(frame, "y", "cohort", "IOP", "inpatient", COVS, method=method)
        boot = adjusted_comparison(
            frame,
            "y",
            "cohort",
            "IOP",
            "inpatient",
            COVS,
            method=method,
            **kw,  # type: ignore[arg-type]
        )
        again = adjusted_comparison(
            frame,
            "y",
            "cohort",
            "IOP",
            "inpatient",
            COVS,
            method=method,
            **kw,  # type: ignore[arg-type]
        )
        assert boot.diff == delta.diff  # same point estimate
        assert boot.diff_ci_low == again.diff_ci_low  # seeded
        # bootstrap SE within 20% of the delta-method SE (150 replicates: MC error ~6%)
        assert boot.std_err == pytest.approx(delta.std_err, rel=0.2)
        assert "bootstrap" in boot.method


def test_cluster_bootstrap_runs(frame: pd.DataFrame) -> None:
    est = adjusted_comparison(
        frame,
        "y",
        "cohort",
        "IOP",
        "inpatient",
        COVS,
        cluster="site",
        inference="bootstrap",
        n_boot=40,
        seed=1,
    )
    assert est.diff_ci_low < est.diff < est.diff_ci_high
    assert "cluster-resampling" in est.method


def _confounded(n: int, seed: int) -> tuple[pd.DataFrame, float]:
    """Severe clients go inpatient and do worse; true marginal RD of IOP is +0.10 on logit."""
    rng = np.random.default_rng(seed)
    sev = rng.normal(size=n)
    female = rng.random(n) < 0.4
    iop = rng.random(n) < expit(-1.5 * sev + 0.3 * female)
    lin = 0.4 - 1.2 * sev + 0.2 * female
    y = (rng.random(n) < expit(lin + 0.5 * iop)).astype(float)
    df = pd.DataFrame(
        {
            "y": y,
            "cohort": np.where(iop, "IOP", "inpatient"),
            "sev": sev,
            "sex": np.where(female, "F", "M"),
        }
    )
    # true ATE in this population: average of the two potential-outcome risks
    truth = float(np.mean(expit(lin + 0.5) - expit(lin)))
    return df, truth


def test_adjusted_estimators_recover_truth_where_crude_is_confounded() -> None:
    df, truth = _confounded(6000, seed=11)
    crude = df.groupby("cohort")["y"].mean()
    crude_diff = crude["IOP"] - crude["inpatient"]
    g = adjusted_comparison(df, "y", "cohort", "IOP", "inpatient", ["sev", "sex"])
    w = adjusted_comparison(df, "y", "cohort", "IOP", "inpatient", ["sev", "sex"], method="iptw")
    assert crude_diff - truth > 0.15  # confounded: crude effect far from the truth
    # SE is about 0.014: both within 3 SE of the truth, and within 0.02 of each other
    assert abs(g.diff - truth) < 3 * g.std_err
    assert abs(w.diff - truth) < 3 * w.std_err
    assert abs(g.diff - w.diff) < 0.02
    assert g.diff_ci_low < truth < g.diff_ci_high


def test_delta_interval_coverage_simulation() -> None:
    """200 seeded replicates of n = 300: coverage of the nominal 95% g-computation interval."""
    hits = 0
    reps = 200
    for s in range(reps):
        df, _ = _confounded(300, seed=1000 + s)
        # truth for the finite sample: conditional on covariates (what the delta method targets)
        lin = 0.4 - 1.2 * df.sev + 0.2 * (df.sex == "F")
        truth = float(np.mean(expit(lin + 0.5) - expit(lin)))
        est = adjusted_comparison(df, "y", "cohort", "IOP", "inpatient", ["sev", "sex"])
        hits += est.diff_ci_low <= truth <= est.diff_ci_high
    # binomial SD at 200 replicates is 1.5 points: accept 0.91..0.99
    assert 0.91 <= hits / reps <= 0.99


def test_errors_and_remarks(frame: pd.DataFrame) -> None:
    bad = frame.assign(y=frame.y.where(frame.index > 3))
    with pytest.raises(ParameterError, match="missing values"):
        adjusted_comparison(bad, "y", "cohort", "IOP", "inpatient", COVS)
    with pytest.raises(InsufficientDataError, match="reference"):
        adjusted_comparison(frame, "y", "cohort", "IOP", "residential", COVS)
    with pytest.raises(ParameterError, match="method"):
        adjusted_comparison(frame, "y", "cohort", "IOP", "inpatient", COVS, method="x")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="adjust is empty"):
        adjusted_comparison(frame, "y", "cohort", "IOP", "inpatient", [])
    holes = frame.assign(age=frame.age.where(frame.index % 10 != 0))
    est = adjusted_comparison(holes, "y", "cohort", "IOP", "inpatient", COVS)
    assert est.n_used == 216 and "24 rows" in est.remarks[0]
    text = repr(est) + est._repr_html_() + est.narrative() + est.methods_text()
    assert "IOP" in text and "Robins" in est.methods_text()
    assert est.to_frame().shape == (1, 17)


def test_love_plot_shim(frame: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    est = adjusted_comparison(frame, "y", "cohort", "IOP", "inpatient", COVS, method="iptw")
    fig, ax = plt.subplots()
    assert est.plot(ax=ax) is ax
    plt.close(fig)
    with pytest.raises(ParameterError, match="balance"):
        adjusted_comparison(frame, "y", "cohort", "IOP", "inpatient", COVS).plot()


def test_simulate_records_truth_recovered() -> None:
    """simulate_records with confounding: true marginal RD at 6 months from truth.causal_effects.

    The full (never-missing) true outcome is used so the test isolates confounding.
    """
    from iopoutcomes.simulate import simulate_records

    rec = simulate_records(n=1500, seed=4, effect_iop_logodds=0.4, confounding_strength=1.5)
    full = rec.truth.full_data
    six = full[(full.timepoint == "6mo") & full.abstinent_if_iop.notna()]
    df = rec.episodes.merge(six[["episode_id", "abstinent"]].dropna(), on="episode_id")
    df["y"] = df["abstinent"].astype(float)
    truth = float(rec.truth.causal_effects.set_index("timepoint").loc["6mo", "risk_difference"])
    crude = df.groupby("cohort")["y"].mean()
    crude_diff = crude["IOP"] - crude["inpatient"]
    covs = ["severity", "age", "sex", "primary_substance", "site"]
    g = adjusted_comparison(df, "y", "cohort", "IOP", "inpatient", covs)
    w = adjusted_comparison(df, "y", "cohort", "IOP", "inpatient", covs, method="iptw")
    assert abs(crude_diff - truth) > 3 * g.std_err  # the crude difference is confounded
    assert g.diff_ci_low < truth < g.diff_ci_high
    assert w.diff_ci_low < truth < w.diff_ci_high
    assert abs(g.diff - truth) < abs(crude_diff - truth) / 2


def test_old_names_still_work_and_warn(frame: pd.DataFrame) -> None:
    new = adjusted_comparison(frame, "y", "cohort", "IOP", "inpatient", adjust=COVS)
    with pytest.warns(DeprecationWarning, match="'covariates' is deprecated; use 'adjust'"):
        old = adjusted_comparison(frame, "y", "cohort", "IOP", "inpatient", covariates=COVS)
    assert (old.rate, old.diff, old.adjust) == (new.rate, new.diff, tuple(COVS))
    with pytest.warns(DeprecationWarning, match="'interval' is deprecated; use 'inference'"):
        adjusted_comparison(frame, "y", "cohort", "IOP", "inpatient", COVS, interval="delta")
    for old_name, new_name in (
        ("risk", "rate"),
        ("risk_ref", "rate_ref"),
        ("covariates", "adjust"),
    ):
        with pytest.warns(
            DeprecationWarning, match=f"'{old_name}' is deprecated; use '{new_name}'"
        ):
            assert getattr(new, old_name) == getattr(new, new_name)
    assert new.to_frame()["rate"].iloc[0] == new.rate
    with pytest.warns(DeprecationWarning, match="is deprecated; use '(by|adjust)'") as caught:
        old_bal = balance_table(
            frame, group_col="cohort", group="IOP", reference="inpatient", covariates=COVS
        )
    assert len(caught) == 2  # group_col -> by and covariates -> adjust
    assert old_bal.equals(balance_table(frame, "cohort", "IOP", "inpatient", COVS))


def test_design_matrix_is_the_one_builder_for_missing_data_models_too() -> None:
    # issue 13: missing.py had its own builder naming dummies sex_M; one naming now, sex[M]
    df = pd.DataFrame(
        {
            "age": [30.0, 40.0, None, 50.0],
            "sex": pd.Categorical(["M", "F", "M", None], categories=["X", "M", "F"]),
            "site": ["a", "a", "a", "a"],
        }
    )
    # a categorical's own categories: X (unused) is the reference, M and F get columns
    assert design_matrix(df, ["sex"]).columns.tolist() == ["sex[M]", "sex[F]"]
    # observed levels, sorted: F is the reference; constant columns dropped
    x = design_matrix(df, ["age", "sex", "site"], observed_levels=True, drop_constant=True)
    assert x.columns.tolist() == ["age", "sex[M]"]
    assert x["sex[M]"].tolist()[:3] == [1.0, 0.0, 1.0] and np.isnan(x["sex[M]"].iloc[3])
    with pytest.raises(MissingColumnError, match="'severity'"):
        design_matrix(df, ["severity"])
    import iopoutcomes.missing as missing

    assert not hasattr(missing, "design_matrix") or missing.design_matrix is design_matrix
