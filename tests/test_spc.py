"""Tests of iopoutcomes.spc against published worked examples, R and hand computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from iopoutcomes import InsufficientDataError, MissingColumnError, ParameterError
from iopoutcomes.spc import (
    AnhoejResult,
    FunnelResult,
    PChart,
    anhoej_rules,
    funnel_limits,
    funnel_table,
    p_chart,
)

# --- reference data ----------------------------------------------------------------------------

# Montgomery, Introduction to Statistical Quality Control, Example "frozen orange juice cans"
# (control chart for fraction nonconforming): 30 samples of n = 50, published p-bar = 0.2313,
# UCL = 0.4102, LCL = 0.0524 (4 decimals); samples 15 and 23 plot above the UCL.
MONTGOMERY_D = [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22,
                8, 10, 5, 13, 11, 20, 18, 24, 15, 9, 12, 7, 13, 9, 6]  # fmt: skip

# Over-dispersed monthly series with large denominators (Laney's setting). Reference values from
# R 4.x (no package):
#   n <- c(1850,2105,1920,2230,1990,2050,2210,1880,2010,2140,1960,2075,1930,2160)
#   x <- c(950,1190,980,1230,1150,1010,1200,940,1125,1180,995,1170,1005,1215)
#   p <- x/n; pbar <- sum(x)/sum(n); s <- sqrt(pbar*(1-pbar)/n); z <- (p-pbar)/s
#   sz <- mean(abs(diff(z)))/1.128; pbar + 3*s*sz; pbar - 3*s*sz
#   sum(z^2); pchisq(sum(z^2), 13, lower.tail=FALSE)
LANEY_N = [1850, 2105, 1920, 2230, 1990, 2050, 2210, 1880, 2010, 2140, 1960, 2075, 1930, 2160]
LANEY_X = [950, 1190, 980, 1230, 1150, 1010, 1200, 940, 1125, 1180, 995, 1170, 1005, 1215]
R_PBAR = 0.53805682216766
R_SIGMA_Z = 3.69976547188056
R_UCL = [0.666709234953090, 0.658665275907006, 0.664342234143739, 0.655236248677496,
         0.662101250368557, 0.660272485476017, 0.655765278123396, 0.665678624925658,
         0.661482571059057, 0.657674925800352, 0.663046964908994, 0.659534015492859,
         0.664014644974616, 0.657119850398623]  # fmt: skip
R_LCL = [0.409404409382231, 0.417448368428315, 0.411771410191582, 0.420877395657825,
         0.414012393966763, 0.415841158859304, 0.420348366211925, 0.410435019409663,
         0.414631073276264, 0.418438718534969, 0.413066679426327, 0.416579628842462,
         0.412098999360705, 0.418993793936698]  # fmt: skip

# Anhøj & Olesen (2014, PLoS One 9:e113825) Table 1: critical values for the number of useful
# observations n = 10..30: upper limit of the longest run and lower limit of the number of
# crossings. (Checked in R: round(log2(n) + 3); qbinom(0.05, n - 1, 0.5).)
ANHOEJ_TABLE = {
    10: (6, 2), 11: (6, 2), 12: (7, 3), 13: (7, 3), 14: (7, 4), 15: (7, 4), 16: (7, 4),
    17: (7, 5), 18: (7, 5), 19: (7, 6), 20: (7, 6), 21: (7, 6), 22: (7, 7), 23: (8, 7),
    24: (8, 8), 25: (8, 8), 26: (8, 8), 27: (8, 9), 28: (8, 9), 29: (8, 10), 30: (8, 10),
}  # fmt: skip


def _counts(n: list[int], x: list[int], start: str = "2021-01") -> pd.DataFrame:
    return pd.DataFrame(
        {"period": pd.period_range(start, periods=len(n), freq="M"), "n": n, "n_events": x}
    )


# --- p-chart -----------------------------------------------------------------------------------


def test_p_chart_matches_montgomery_worked_example() -> None:
    chart = p_chart(_counts([50] * 30, MONTGOMERY_D), laney=False)
    frame = chart.to_frame()
    # published precision is 4 decimals: tolerance half a unit in the 4th decimal
    assert_allclose(frame["centre"], 0.2313, atol=5e-5)
    assert_allclose(frame["ucl"], 0.4102, atol=5e-5)
    assert_allclose(frame["lcl"], 0.0524, atol=5e-5)
    # exact closed form, too: p-bar = 347/1500
    assert_allclose(frame["centre"], 347 / 1500, rtol=1e-12)
    assert frame.index[frame["outside_limits"]].tolist() == [14, 22]  # samples 15 and 23
    assert chart.n_outside == 2
    assert not chart.laney_used
    assert not chart.trial_limits
    assert isinstance(chart, PChart)


def test_laney_limits_match_r_and_a_hand_loop() -> None:
    chart = p_chart(_counts(LANEY_N, LANEY_X), laney=True)
    frame = chart.to_frame()
    assert chart.laney_used
    assert_allclose(frame["centre"], R_PBAR, rtol=1e-12)
    assert_allclose(frame["sigma_z"], R_SIGMA_Z, rtol=1e-12)
    assert_allclose(frame["ucl"], R_UCL, rtol=1e-12)
    assert_allclose(frame["lcl"], R_LCL, rtol=1e-12)
    # an independent plain-Python loop (Laney 2002 / Minitab formulas)
    pbar = sum(LANEY_X) / sum(LANEY_N)
    z = [
        (x / n - pbar) / math.sqrt(pbar * (1 - pbar) / n)
        for n, x in zip(LANEY_N, LANEY_X, strict=True)
    ]
    mr = [abs(z[i] - z[i - 1]) for i in range(1, len(z))]
    sigma_z = sum(mr) / len(mr) / 1.128
    assert_allclose(frame["z"], z, rtol=1e-10)
    assert_allclose(chart.runs["sigma_z"].iloc[0], sigma_z, rtol=1e-12)
    # the ordinary p-chart limits would be sigma_z times narrower
    plain = p_chart(_counts(LANEY_N, LANEY_X), laney=False).to_frame()
    assert_allclose((frame["ucl"] - pbar) / (plain["ucl"] - pbar), sigma_z, rtol=1e-10)


def test_laney_auto_rule() -> None:
    # over-dispersed (R: sum(z^2) = 84.87 on 13 df, p = 1.3e-12; sigma_z = 3.70 > 1)
    assert p_chart(_counts(LANEY_N, LANEY_X)).laney_used
    # exactly binomial-looking data: every point at the centre -> no dispersion, no Laney
    flat = p_chart(_counts([100] * 12, [40] * 12))
    assert not flat.laney_used
    assert_allclose(flat.to_frame()["ucl"], 0.4 + 3 * math.sqrt(0.4 * 0.6 / 100), rtol=1e-12)
    # Montgomery's data hold two special causes, hence over-dispersed. R:
    #   sum(z^2) = 85.4093193798411, pchisq(85.409, 29, lower.tail=FALSE) = 1.82e-07,
    #   mean(abs(diff(z)))/1.128 = 1.66086671974324  -> "auto" uses Laney
    mont = p_chart(_counts([50] * 30, MONTGOMERY_D))
    assert mont.laney_used
    assert_allclose(mont.runs["sigma_z"].iloc[0], 1.66086671974324, rtol=1e-12)
    assert_allclose((mont.to_frame()["z"] ** 2).sum(), 85.4093193798411, rtol=1e-12)
    assert not any(mont.to_frame()["outside_limits"])  # the wider limits absorb 15 and 23
    # under-dispersion (sigma_z < 1) never narrows the limits under "auto"
    under = p_chart(_counts([1000] * 12, [500, 501, 499, 500, 502, 498] * 2))
    assert not under.laney_used


def test_breaks_split_phases_with_own_centre() -> None:
    n = [40] * 16
    x = [10, 12, 11, 9, 10, 12, 11, 10, 24, 26, 25, 23, 24, 26, 25, 24]
    counts = _counts(n, x, start="2022-05")
    chart = p_chart(counts, breaks=["2023-01-21"], laney=False)  # new GPRA tool
    frame = chart.to_frame()
    # the period containing the break (2023-01) starts phase 1
    assert frame.loc[frame["phase"] == 1, "period"].iloc[0] == pd.Period("2023-01", "M")
    assert_array_equal(frame["phase"], [0] * 8 + [1] * 8)
    assert_allclose(frame.loc[frame["phase"] == 0, "centre"], sum(x[:8]) / 320, rtol=1e-12)
    assert_allclose(frame.loc[frame["phase"] == 1, "centre"], sum(x[8:]) / 320, rtol=1e-12)
    assert chart.runs.shape[0] == 2
    assert chart.trial_limits  # 8 points per phase
    assert frame["trial_limits"].all()
    # without the break the step is a signal: runs of 8 > round(log2(16) + 3) = 7 on each
    # side and 1 crossing < qbinom(0.05, 15, 0.5) = 4
    whole = p_chart(counts, laney=False)
    assert whole.shift_signal and whole.crossings_signal
    assert whole.to_frame()["run_signal"].sum() == 16
    assert not chart.shift_signal


def test_breaks_with_non_period_periods() -> None:
    counts = pd.DataFrame({"period": [1, 2, 3, 4, 5, 6], "n": [30] * 6,
                           "n_events": [10, 11, 9, 20, 21, 19]})  # fmt: skip
    frame = p_chart(counts, breaks=[4], laney=False).to_frame()
    assert_array_equal(frame["phase"], [0, 0, 0, 1, 1, 1])
    with pytest.raises(ParameterError, match="cannot be compared"):
        p_chart(counts, breaks=["2023-01-21"])


def test_baseline_freezes_limits_and_trial_flag() -> None:
    n = [50] * 30
    chart = p_chart(_counts(n, MONTGOMERY_D), laney=False, baseline=12)
    frame = chart.to_frame()
    base = sum(MONTGOMERY_D[:12]) / 600
    assert_allclose(frame["centre"], base, rtol=1e-12)
    assert frame["in_baseline"].sum() == 12
    assert not chart.trial_limits  # 12 points is enough
    short = p_chart(_counts(n, MONTGOMERY_D), laney=False, baseline=11)
    assert short.trial_limits
    assert any("trial limits" in r for r in short.remarks)


def test_p_chart_sorts_and_keeps_zero_denominator_periods() -> None:
    counts = _counts([40, 0, 45, 50], [10, 0, 12, 15]).iloc[::-1]
    frame = p_chart(counts, laney=False).to_frame()
    assert frame["period"].is_monotonic_increasing
    assert np.isnan(frame["rate"].iloc[1]) and np.isnan(frame["ucl"].iloc[1])
    assert not frame["outside_limits"].iloc[1]
    assert_allclose(frame["centre"].iloc[0], 37 / 135, rtol=1e-12)


def test_p_chart_suppressed_numerator_left_out() -> None:
    counts = _counts([40, 45, 50, 42], [10, 12, 15, 11]).astype({"n_events": float})
    counts.loc[1, "n_events"] = np.nan
    frame = p_chart(counts, laney=False).to_frame()
    assert np.isnan(frame["rate"].iloc[1]) and not frame["signal"].iloc[1]
    assert_allclose(frame["centre"], 36 / 132, rtol=1e-12)  # 45 left out of the pooled rate


def test_p_chart_zero_events_gives_degenerate_limits() -> None:
    chart = p_chart(_counts([20] * 5, [0] * 5))
    frame = chart.to_frame()
    assert (frame["centre"] == 0).all() and (frame["ucl"] == 0).all()
    assert chart.n_outside == 0
    assert any("degenerate" in r for r in chart.remarks)


def test_p_chart_errors_name_columns_not_values() -> None:
    with pytest.raises(MissingColumnError, match="n_events"):
        p_chart(pd.DataFrame({"period": [1], "n": [3]}))
    with pytest.raises(ParameterError, match="between 0 and n"):
        p_chart(pd.DataFrame({"period": [1, 2], "n": [3, 4], "n_events": [4, 1]}))
    with pytest.raises(ParameterError, match="more than once"):
        p_chart(pd.DataFrame({"period": [1, 1], "n": [3, 4], "n_events": [1, 1]}))
    with pytest.raises(ParameterError, match="laney"):
        p_chart(_counts([10], [1]), laney="yes")  # type: ignore[arg-type]
    with pytest.raises(InsufficientDataError):
        p_chart(_counts([0, 0], [0, 0]))


def test_p_chart_repr_and_html() -> None:
    chart = p_chart(_counts(LANEY_N, LANEY_X))
    text = repr(chart)
    assert text.startswith("<PChart: Laney p′-chart, 14 periods, 1 phase")
    assert "Anhøj" in chart._repr_html_()


def test_input_not_modified() -> None:
    counts = _counts(LANEY_N, LANEY_X)
    before = counts.copy()
    p_chart(counts, breaks=["2021-06-01"])
    pd.testing.assert_frame_equal(counts, before)


# --- Anhøj rules -------------------------------------------------------------------------------


@pytest.mark.parametrize("n_useful", sorted(ANHOEJ_TABLE))
def test_anhoej_limits_match_published_table(n_useful: int) -> None:
    values = np.tile([1.0, -1.0], n_useful)[:n_useful]
    r = anhoej_rules(values, centre=0.0)
    assert (r.longest_run_max, r.n_crossings_min) == ANHOEJ_TABLE[n_useful]
    assert r.n_useful == n_useful
    assert r.n_crossings == n_useful - 1 and r.longest_run == 1
    assert not r.signal


def test_anhoej_hand_counted_series() -> None:
    # centre 5; points on the centre (index 3 and 9) are not useful and do not break runs.
    v = [6, 7, 8, 5, 9, 6, 7, 8, 6, 5, 7, 4, 3, 6, 2]
    # signs without centre points: + + + + + + + + + - - + -  -> runs 9,2,1,1 (13 useful)
    r = anhoej_rules(v, centre=5)
    assert isinstance(r, AnhoejResult)
    assert (r.n_useful, r.longest_run, r.n_crossings) == (13, 9, 3)
    assert (r.longest_run_max, r.n_crossings_min) == (7, 3)  # Table 1, n = 13
    assert r.shift_signal and not r.crossings_signal


def test_anhoej_nan_and_vector_centre() -> None:
    v = np.array([1.0, np.nan, 3.0, 0.5, 4.0])
    r = anhoej_rules(v, centre=np.array([2.0, 2.0, 2.0, 1.0, 1.0]))
    # useful: 1(-), 3(+), 0.5(-), 4(+) -> 4 useful, 3 crossings
    assert (r.n_useful, r.n_crossings, r.longest_run) == (4, 3, 1)
    empty = anhoej_rules([2.0, 2.0], centre=2.0)
    assert empty.n_useful == 0 and not empty.signal


def test_anhoej_crossings_signal_on_trend() -> None:
    r = anhoej_rules(np.arange(1, 21, dtype=float), centre=10.5)
    assert r.n_crossings == 1 and r.n_crossings_min == 6  # Table 1, n = 20
    assert r.crossings_signal and r.shift_signal  # run of 10 > 7


# --- funnel limits -----------------------------------------------------------------------------


def test_funnel_limit_hand_computation() -> None:
    # n = 10, theta = 0.5, p = 0.025. By hand: F(1) = 11/1024, F(2) = 56/1024, so r_p = 2,
    # alpha = (56/1024 - 0.025) / (45/1024) = 30.4/45, limit = (2 - alpha)/10.
    lim = funnel_limits([10], 0.5, levels=(0.95,))
    assert_allclose(lim["lower"].iloc[0], (2 - 30.4 / 45) / 10, rtol=1e-12)
    # p = 0.975: F(7) = 968/1024 < 0.975 <= F(8) = 1013/1024; alpha = (1013 - 998.4)/45
    assert_allclose(lim["upper"].iloc[0], (8 - 14.6 / 45) / 10, rtol=1e-12)


def test_funnel_limits_match_r() -> None:
    # R: lim <- function(nn, th, p) { r <- qbinom(p, nn, th);
    #   a <- (pbinom(r, nn, th) - p) / (pbinom(r, nn, th) - pbinom(r - 1, nn, th)); (r - a)/nn }
    #   lim(c(25, 200, 1000), 0.3, c(0.001, 0.999, 0.025, 0.975))
    lim = funnel_limits([25, 200, 1000], 0.3)
    l95 = lim[lim["level"] == 0.95]
    l998 = lim[lim["level"] == 0.998]
    assert_allclose(l998["lower"], [0.0241051626137928, 0.2005232602109286, 0.2553028197164969],
                    rtol=1e-10)  # fmt: skip
    assert_allclose(l998["upper"], [0.583500834286614, 0.400105406228201, 0.344830374609732],
                    rtol=1e-10)  # fmt: skip
    assert_allclose(l95["lower"], [0.106424183818715, 0.235030537068657, 0.271281417014966],
                    rtol=1e-10)  # fmt: skip
    assert_allclose(l95["upper"], [0.468751050753690, 0.362040775349205, 0.328088928334208],
                    rtol=1e-10)  # fmt: skip


def test_funnel_limits_approach_normal_for_large_n() -> None:
    # about 1.96 and 3.09 standard errors; the interpolation differs by at most ~1/n
    n = 100_000
    lim = funnel_limits([n], 0.4)
    se = math.sqrt(0.4 * 0.6 / n)
    for level, zq in ((0.95, 1.959964), (0.998, 3.090232)):
        row = lim[lim["level"] == level].iloc[0]
        assert abs(row["upper"] - (0.4 + zq * se)) < 2 / n
        assert abs(row["lower"] - (0.4 - zq * se)) < 2 / n


def test_funnel_limits_errors() -> None:
    with pytest.raises(ParameterError):
        funnel_limits([0, 10], 0.5)
    with pytest.raises(ParameterError):
        funnel_limits([10], 1.5)
    with pytest.raises(ParameterError):
        funnel_limits([10], 0.5, levels=(1.2,))


# --- funnel table ------------------------------------------------------------------------------


def _sites() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site": ["North", "South", "East", "West", "Central", "Harbour"],
            "n": [120, 80, 200, 60, 150, 90],
            "n_events": [70, 20, 118, 36, 85, 52],
        }
    )


def test_funnel_table_flags_units_outside_outer_limits() -> None:
    res = funnel_table(_sites())
    assert isinstance(res, FunnelResult)
    frame = res.to_frame()
    assert_allclose(res.target, 381 / 700, rtol=1e-12)
    assert res.target_source == "pooled"
    assert frame["site"].tolist() == _sites()["site"].tolist()  # input order, no ranks
    assert not any("rank" in c for c in frame.columns)
    # South: 20/80 = 0.25; 99.8% lower limit at n = 80 recomputed independently
    lower = funnel_limits([80], 381 / 700, levels=(0.998,))["lower"].iloc[0]
    assert 0.25 < lower
    assert frame.loc[frame["outside"], "site"].tolist() == ["South"]
    assert frame.loc[frame["site"] == "South", "side"].item() == "below"
    assert set(frame["side"]) == {"within", "below"}
    assert_allclose(frame["lower_99_8"].iloc[1], lower, rtol=1e-12)
    # the curve spans the units' denominators
    assert res.limits["n"].min() <= 60 and res.limits["n"].max() >= 200


def test_funnel_table_benchmark_and_suppressed() -> None:
    sites = _sites()
    sites["suppressed"] = [False, False, False, True, False, False]
    res = funnel_table(sites, target=0.6)
    frame = res.to_frame()
    assert res.target_source == "benchmark" and res.target == 0.6
    assert np.isnan(frame["rate"].iloc[3]) and not frame["outside"].iloc[3]
    assert frame["suppressed"].iloc[3]
    pooled = funnel_table(sites)
    assert_allclose(pooled.target, (381 - 36) / (700 - 60), rtol=1e-12)


def test_funnel_overdispersion_phi_hand_computation() -> None:
    res = funnel_table(_sites())
    z = res.to_frame()["z"].to_numpy()
    lo, hi = np.quantile(z, [0.1, 0.9])
    phi = float(np.mean(np.clip(z, lo, hi) ** 2))
    assert_allclose(res.phi, phi, rtol=1e-12)
    # z by hand for North: (70/120 - p) / sqrt(p(1-p)/120)
    p = 381 / 700
    assert_allclose(z[0], (70 / 120 - p) / math.sqrt(p * (1 - p) / 120), rtol=1e-12)


def test_funnel_table_unit_column_errors() -> None:
    with pytest.raises(MissingColumnError, match="unit="):
        funnel_table(pd.DataFrame({"name": ["a"], "n": [3], "n_events": [1]}))
    res = funnel_table(pd.DataFrame({"name": ["a", "b"], "n": [30, 40], "n_events": [10, 12]}),
                       unit="name")  # fmt: skip
    assert res.table.columns[0] == "name"
    assert "FunnelResult" in repr(res)
