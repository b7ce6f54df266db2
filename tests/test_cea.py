"""Tests of iopoutcomes.cea (cost_effectiveness): bootstrap intervals against R's boot package
on the same resample indices, Fieller's interval against an independent root search, the INMB
and CEAC identities, dominance wording, and agreement with compare_rates."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

import iopoutcomes as iop
from iopoutcomes.cea import (
    CE_COLUMNS,
    _group_means,
    _influence,
    _means_from_indices,
    bootstrap_intervals,
    cost_effectiveness,
    fieller_interval,
    percentile_interval,
)
from iopoutcomes.exceptions import InsufficientDataError, MissingColumnError, ParameterError

REF = Path(__file__).parent / "reference"

# R 4.x, boot package; tests/reference/r_cea.R (Rscript r_cea.R in tests/reference):
#   b <- boot(d, stat, R = 200, strata = factor(d$cohort)); b$t <- t(apply(idx, 1, ...))
#   boot.ci(b, conf = 0.95, type = c("perc", "bca"), index = k, L = <two-sample influence>)
# printed:
# index 1: t0 -5719.8802000000 perc -9800.6467861577 -1971.8667069604
#          bca -11716.1385000000 -3099.0300880357 a -0.0495001079
# index 2: t0 0.0900000000 perc -0.2091912360 0.4197304120
#          bca -0.2429648988 0.3938733279 a -0.0021719719
R_BOOT = {
    "diff_cost": {
        "t0": -5719.8802,
        "percentile": (-9800.6467861577, -1971.8667069604),
        "bca": (-11716.1385000000, -3099.0300880357),
        "a": -0.0495001079,
    },
    "diff": {
        "t0": 0.09,
        "percentile": (-0.2091912360, 0.4197304120),
        "bca": (-0.2429648988, 0.3938733279),
        "a": -0.0021719719,
    },
}


def _reference_data() -> tuple[pd.DataFrame, list[np.ndarray]]:
    d = pd.read_csv(REF / "cea_boot_data.csv")
    idx = pd.read_csv(REF / "cea_boot_indices.csv", header=None).to_numpy() - 1
    n1 = int((d["cohort"] == "IOP").sum())
    return d, [idx[:, :n1], idx[:, n1:] - n1]


def test_percentile_and_bca_match_r_boot_on_the_same_indices():
    d, indices = _reference_data()
    iop_rows = d["cohort"] == "IOP"
    v1 = d.loc[iop_rows, ["cost", "abstinent_6mo"]].to_numpy(float)
    v0 = d.loc[~iop_rows, ["cost", "abstinent_6mo"]].to_numpy(float)
    means = _means_from_indices([v1, v0], indices)
    infl = _influence(v1, v0, None)
    for j, name in enumerate(("diff_cost", "diff")):
        t0 = v1[:, j].mean() - v0[:, j].mean()
        t = means[:, 0, j] - means[:, 1, j]
        ref = R_BOOT[name]
        assert t0 == pytest.approx(ref["t0"], rel=1e-12)
        L = infl[name]
        a = float(np.sum(L**3) / (6 * np.sum(L**2) ** 1.5))
        assert a == pytest.approx(ref["a"], abs=1e-10)  # R printed 10 decimals
        got = bootstrap_intervals(t0, t, L, 0.95)
        # R printed 10 decimals: agreement to rounding (relative 1e-9)
        np.testing.assert_allclose(got["percentile"], ref["percentile"], rtol=1e-9)
        np.testing.assert_allclose(got["bca"], ref["bca"], rtol=1e-9)


def test_influence_values_are_the_two_sample_jackknife():
    """Two-sample scaling (Efron & Tibshirani 1993, eq. 14.15): the stratified jackknife value
    (n_g - 1)(theta - theta_(-i)) divided by the stratum size, written out here by deleting
    each episode in turn."""
    d, _ = _reference_data()
    g = d["cohort"].to_numpy()
    c = d["cost"].to_numpy(float)
    v1 = d.loc[g == "IOP", ["cost", "abstinent_6mo"]].to_numpy(float)
    v0 = d.loc[g != "IOP", ["cost", "abstinent_6mo"]].to_numpy(float)
    L = _influence(v1, v0, None)["diff_cost"]
    theta = c[g == "IOP"].mean() - c[g != "IOP"].mean()
    jack = []
    for i in range(len(c)):
        keep = np.arange(len(c)) != i
        th = c[keep & (g == "IOP")].mean() - c[keep & (g != "IOP")].mean()
        n_g = int((g == g[i]).sum())
        jack.append((n_g - 1) * (theta - th) / n_g)
    # the IOP rows come first in the data, as in _influence
    np.testing.assert_allclose(L, jack, rtol=1e-10, atol=1e-9)


def test_percentile_interval_interpolates_as_r_norm_inter():
    # B = 99: (B + 1) * 0.025 = 2.5 is not whole -> interpolate between the 2nd and 3rd order
    # statistics on the normal scale: t2 + (z(.025) - z(2/100)) / (z(3/100) - z(2/100)) (t3 - t2)
    t = np.arange(99.0) ** 1.5
    z = stats.norm.ppf
    lo = t[1] + (z(0.025) - z(0.02)) / (z(0.03) - z(0.02)) * (t[2] - t[1])
    hi = t[96] + (z(0.975) - z(0.97)) / (z(0.98) - z(0.97)) * (t[97] - t[96])
    assert percentile_interval(t) == pytest.approx((lo, hi), rel=1e-12)


def _fieller_by_root_search(dc, de, vc, ve, cov, level=0.95):
    """Independent: the ICERs R whose Wald statistic (dc - R de) / sd(dc - R de) equals +-z."""
    z = stats.norm.ppf(0.5 + level / 2)

    def f(r):
        return (dc - r * de) ** 2 - z**2 * (vc - 2 * r * cov + r * r * ve)

    centre = dc / de
    lo = optimize.brentq(f, centre - 1e7, centre)
    hi = optimize.brentq(f, centre, centre + 1e7)
    return lo, hi


@pytest.mark.parametrize(
    "dc, de, vc, ve, cov",
    [
        (1000.0, 0.1, 200.0**2, 0.03**2, 0.0),
        (2500.0, 0.08, 600.0**2, 0.025**2, 3.0),
        (-4000.0, -0.12, 900.0**2, 0.04**2, -10.0),
    ],
)
def test_fieller_against_an_independent_root_search(dc, de, vc, ve, cov):
    lo, hi, status = fieller_interval(dc, de, vc, ve, cov)
    assert status == "bounded"
    ref = _fieller_by_root_search(dc, de, vc, ve, cov)
    assert (lo, hi) == pytest.approx(ref, rel=1e-9)


def test_fieller_is_unbounded_when_the_effect_is_not_significant():
    lo, hi, status = fieller_interval(1000.0, 0.03, 200.0**2, 0.03**2, 0.0)
    assert status == "unbounded" and math.isnan(lo) and math.isnan(hi)


def _frame(costs1, costs0, y1, y0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cohort": ["IOP"] * len(costs1) + ["inpatient"] * len(costs0),
            "abstinent_6mo": np.r_[y1, y0],
            "cost": np.r_[costs1, costs0],
        }
    )


def _sim_frame(n1, n0, c1, c0, p1, p0, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return _frame(
        rng.gamma(2.0, c1 / 2.0, n1),
        rng.gamma(2.0, c0 / 2.0, n0),
        (rng.random(n1) < p1).astype(float),
        (rng.random(n0) < p0).astype(float),
    )


def test_inmb_identity_and_ceac_is_the_share_of_replicates_with_positive_inmb():
    df = _sim_frame(300, 250, 6000, 11000, 0.55, 0.45, seed=1)
    ce = cost_effectiveness(df, n_boot=500, seed=4, wtp=25_000)
    row = ce.table.iloc[0]
    curve = ce.ceac
    # INMB(lambda) = lambda * diff - diff_cost at every lambda
    np.testing.assert_allclose(
        curve["inmb"], curve["wtp"] * row["diff"] - row["diff_cost"], rtol=1e-12, atol=1e-9
    )
    assert row["inmb"] == pytest.approx(25_000 * row["diff"] - row["diff_cost"], rel=1e-12)
    reps = ce.replicates
    for lam in curve["wtp"].to_numpy()[::10]:
        share = float(np.mean(lam * reps["diff"] - reps["diff_cost"] > 0))
        got = float(curve.loc[curve["wtp"] == lam, "prob_cost_effective"].iloc[0])
        assert got == share
    assert row["prob_cost_effective"] == float(
        np.mean(25_000 * reps["diff"] - reps["diff_cost"] > 0)
    )
    # the table's intervals are the named interval of the replicates
    assert (row["diff_cost_ci_low"], row["diff_cost_ci_high"]) == bootstrap_intervals(
        row["diff_cost"],
        reps["diff_cost"].to_numpy(),
        _influence(
            df.loc[df.cohort == "IOP", ["cost", "abstinent_6mo"]].to_numpy(float),
            df.loc[df.cohort != "IOP", ["cost", "abstinent_6mo"]].to_numpy(float),
            None,
        )["diff_cost"],
    )["bca"]
    assert list(ce.to_frame().columns) == list(CE_COLUMNS)


def test_stratified_resampling_keeps_group_sizes_and_means():
    v = [np.column_stack([np.arange(10.0), np.zeros(10)]), np.ones((7, 2))]
    m = _group_means(v, 300, seed=1)
    assert m.shape == (300, 2, 2)
    assert np.all(m[:, 1, :] == 1.0)  # the constant group never moves
    # a resampled mean of 0..9 is a multiple of 1/10 (ten draws from that group only)
    assert np.allclose(np.round(m[:, 0, 0] * 10), m[:, 0, 0] * 10)
    assert abs(m[:, 0, 0].mean() - 4.5) < 0.15


@pytest.mark.parametrize(
    "c1, c0, p1, p0, quadrant, word",
    [
        (5000, 12000, 0.65, 0.40, "SE", "dominates"),
        (12000, 5000, 0.40, 0.65, "NW", "is dominated"),
    ],
)
def test_dominance_never_prints_an_icer(c1, c0, p1, p0, quadrant, word):
    ce = cost_effectiveness(_sim_frame(400, 400, c1, c0, p1, p0, seed=2), n_boot=300, seed=0)
    row = ce.table.iloc[0]
    assert row["quadrant"] == quadrant
    assert math.isnan(row["icer"]) and math.isnan(row["icer_ci_low"])
    text = ce.icer_statement["IOP"]
    assert word in text and "no ICER is reported" in text
    assert "the ICER is" not in ce.narrative()


def test_no_icer_when_the_effect_interval_spans_zero():
    ce = cost_effectiveness(_sim_frame(200, 200, 9000, 6000, 0.50, 0.49, seed=3), n_boot=400)
    row = ce.table.iloc[0]
    assert row["diff_ci_low"] <= 0 <= row["diff_ci_high"]
    assert math.isnan(row["icer"])
    assert "not distinguishable from zero" in ce.icer_statement["IOP"]


def test_icer_with_fieller_interval_in_the_ne_quadrant():
    df = _sim_frame(800, 800, 9000, 6000, 0.60, 0.40, seed=5)
    ce = cost_effectiveness(df, n_boot=400, seed=1)
    row = ce.table.iloc[0]
    assert row["quadrant"] == "NE"
    assert row["icer"] == pytest.approx(row["diff_cost"] / row["diff"], rel=1e-12)
    # the Fieller inputs written out: sample moments of each group / group size
    a = df[df.cohort == "IOP"][["cost", "abstinent_6mo"]].to_numpy(float)
    b = df[df.cohort != "IOP"][["cost", "abstinent_6mo"]].to_numpy(float)
    vc = a[:, 0].var(ddof=1) / len(a) + b[:, 0].var(ddof=1) / len(b)
    ve = a[:, 1].var(ddof=1) / len(a) + b[:, 1].var(ddof=1) / len(b)
    cv = np.cov(a.T)[0, 1] / len(a) + np.cov(b.T)[0, 1] / len(b)
    ref = _fieller_by_root_search(row["diff_cost"], row["diff"], vc, ve, cv)
    assert (row["icer_ci_low"], row["icer_ci_high"]) == pytest.approx(ref, rel=1e-9)
    assert "the ICER is $" in ce.icer_statement["IOP"]
    # cost per abstinent client = mean cost / rate
    assert row["cost_per_event"] == pytest.approx(a[:, 0].mean() / a[:, 1].mean(), rel=1e-12)


@pytest.mark.parametrize("missing", ["using", "exclude"])
def test_effect_agrees_with_compare_rates(missing):
    rec = iop.simulate_records(n=600, seed=11, costs=True)
    out = iop.episode_outcomes(rec)
    ce = cost_effectiveness(out, missing=missing, n_boot=200, seed=0)
    cmp = iop.compare_rates(out, missing=missing).to_frame()
    first = cmp[cmp["missing"] == missing].iloc[0]
    row = ce.table.iloc[0]
    assert row["diff"] == pytest.approx(first["diff"], abs=1e-12)
    assert (row["n"], row["n_ref"]) == (first["n"], first["n_ref"])
    assert (row["n_events"], row["n_events_ref"]) == (first["n_events"], first["n_events_ref"])


def test_adjusted_agrees_with_compare_rates_gcomp_and_ols():
    import statsmodels.api as sm

    rec = iop.simulate_records(n=500, seed=12, costs=True)
    out = iop.episode_outcomes(rec)
    covs = ["age", "severity", "sex"]
    ce = cost_effectiveness(out, adjust=covs, n_boot=200, seed=0)
    cmp = iop.compare_rates(out, adjust=covs, adjust_method=["gcomp"]).to_frame()
    adj = cmp[(cmp["analysis"] == "adjusted (g-computation)") & (cmp["missing"] == "using")]
    row = ce.table.iloc[0]
    assert row["diff"] == pytest.approx(float(adj["diff"].iloc[0]), abs=1e-7)
    # adjusted cost difference = OLS coefficient of the group (no interactions): statsmodels
    f = out.to_frame()
    f = f[f["followup_due_6mo"].astype(bool)]
    x = sm.add_constant(
        pd.DataFrame(
            {
                "iop": (f["cohort"] == "IOP").astype(float),
                "age": f["age"].astype(float),
                "severity": f["severity"].astype(float),
                "male": (f["sex"] == "male").astype(float),
            }
        )
    )
    fit = sm.OLS(f["cost"].astype(float), x).fit()
    assert row["diff_cost"] == pytest.approx(float(fit.params["iop"]), rel=1e-8)
    assert row["analysis"] == "adjusted (g-computation)"
    # counts are those of the analysed episodes (the adjustment changes means, not counts)
    assert (row["n_events"], row["n_events_ref"]) == (
        int(f.loc[f.cohort == "IOP", "abstinent_6mo"].fillna(False).astype(bool).sum()),
        int(f.loc[f.cohort != "IOP", "abstinent_6mo"].fillna(False).astype(bool).sum()),
    )
    assert set(ce.intervals["interval"]) == {"percentile", "bc", "fieller"}
    assert "bias-corrected" in ce.methods_text()


def test_episode_costs_join_and_price_year_are_reported():
    rec = iop.simulate_records(n=300, seed=3)
    ec = iop.episode_costs(rec, "adss_1997", price_year=2024)
    ce = cost_effectiveness(iop.episode_outcomes(rec), cost=ec, n_boot=200, wtp=10_000)
    assert ce.price_year == 2024 and ce.unit_costs is not None
    text = ce.methods_text()
    for needle in ("2024", "provider perspective", "Fieller", "Efron", "Drummond", "x 1.9544"):
        assert needle in text


def test_text_plots_and_html():
    ce = cost_effectiveness(_sim_frame(120, 100, 5000, 9000, 0.5, 0.4), n_boot=200, wtp=20_000)
    assert "<CostEffectiveness:" in repr(ce)
    html = ce._repr_html_()
    assert "<script" not in html and "iopoutcomes-result" in html
    fig, (a1, a2) = plt.subplots(1, 2)
    before = len(fig.axes)
    assert ce.plot(ax=a1) is a1
    assert ce.plot_ceac(ax=a2) is a2
    assert len(fig.axes) == before
    assert a2.get_ylim() == (0.0, 1.0)
    plt.close(fig)


def test_bad_input():
    df = _sim_frame(50, 50, 5000, 9000, 0.5, 0.4)
    with pytest.raises(ParameterError, match="bounds"):
        cost_effectiveness(df, missing="bounds")
    with pytest.raises(ParameterError, match="confidence_level"):
        cost_effectiveness(df, confidence_level=95)
    with pytest.raises(ParameterError, match="n_boot"):
        cost_effectiveness(df, n_boot=50)
    with pytest.raises(MissingColumnError, match="episode_costs"):
        cost_effectiveness(df.drop(columns="cost"))
    with pytest.raises(InsufficientDataError, match="Reference group"):
        cost_effectiveness(df, reference="residential")


def test_episodes_without_cost_are_left_out_with_a_remark():
    df = _sim_frame(60, 60, 5000, 9000, 0.5, 0.4)
    df.loc[[0, 1, 70], "cost"] = np.nan
    ce = cost_effectiveness(df, n_boot=200)
    assert (ce.table.loc[0, "n"], ce.table.loc[0, "n_ref"]) == (58, 59)
    assert any("without a usable cost" in r for r in ce.remarks)


def test_simulated_costs_have_exact_truth_and_leave_other_columns_unchanged():
    plain = iop.simulate_records(n=400, seed=9)
    costed = iop.simulate_records(n=400, seed=9, costs=True)
    pd.testing.assert_frame_equal(plain.episodes, costed.episodes.drop(columns="cost"))
    pd.testing.assert_frame_equal(plain.followups, costed.followups)
    truth = costed.truth.costs.set_index("cohort")
    # 120 / day x 56 planned days; (0.6 x 400 + 0.4 x 650) / day x 24.5 planned days
    assert truth.loc["IOP", "mean_cost"] == 6720.0
    assert truth.loc["inpatient", "mean_cost"] == 12250.0
    assert truth.loc["difference", "mean_cost"] == -5530.0
    assert plain.truth.costs is None and "costs" not in plain.truth.parameters
    big = iop.simulate_records(n=6000, seed=1, costs=True).episodes
    means = big.groupby("cohort")["cost"].agg(["mean", "std", "count"])
    for cohort in ("IOP", "inpatient"):
        se = means.loc[cohort, "std"] / math.sqrt(means.loc[cohort, "count"])
        assert abs(means.loc[cohort, "mean"] - truth.loc[cohort, "mean_cost"]) < 4 * se
