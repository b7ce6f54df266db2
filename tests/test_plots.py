"""Tests of iopoutcomes.plots: the numbers and labels on the Axes are read back from the artists.

Stand-in result objects (a small dataclass with ``to_frame()`` and ``definition``) follow the
column contracts of RateTable, Comparison, the survival table and the balance table, so every
function is tested on hand-made numbers; the sample-data tests at the end use the real objects.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.container import BarContainer, ErrorbarContainer
from numpy.testing import assert_allclose, assert_array_equal

from iopoutcomes import MissingColumnError, ParameterError, plots
from iopoutcomes.cascade import CASCADE_STAGES, cascade_counts
from iopoutcomes.spc import funnel_table, p_chart


@dataclass(frozen=True)
class StandIn:
    """Minimal result: a tidy table, an optional definition."""

    table: pd.DataFrame
    definition: Any = None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


class FakeDefinition:
    """Duck-typed outcome definition (the real one lives in definitions.py)."""

    def describe(self, outcome: str | None = None) -> str:
        return f"Abstinent ({outcome}), missing = using"


@pytest.fixture
def ax() -> Iterator[Axes]:
    fig, axes = plt.subplots()
    yield axes
    plt.close(fig)


def _texts(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.texts]


def _all_text(ax: Axes) -> str:
    parts = _texts(ax) + [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
    parts += [ax.get_xlabel(), ax.get_ylabel(), ax.get_title()]
    legend = ax.get_legend()
    if legend is not None:
        parts += [t.get_text() for t in legend.get_texts()]
    return "\n".join(parts)


def _f(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=float)


def _errorbars(ax: Axes) -> list[ErrorbarContainer]:
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]


def _vertical_extent(container: ErrorbarContainer) -> np.ndarray:
    """(low, high) of each vertical error bar, read from the LineCollection."""
    segments = container.lines[2][0].get_segments()
    return np.array([[s[:, 1].min(), s[:, 1].max()] for s in segments])


def _horizontal_extent(container: ErrorbarContainer) -> np.ndarray:
    segments = container.lines[2][0].get_segments()
    return np.array([[s[:, 0].min(), s[:, 0].max()] for s in segments])


RATES = pd.DataFrame(
    {
        "group": ["IOP", "inpatient"],
        "outcome": "abstinent_6mo",
        "timepoint": "6mo",
        "n": [120, 95],
        "n_events": [70, 52],
        "n_missing": [10, 8],
        "rate": [70 / 120, 52 / 95],
        "ci_low": [0.4938, 0.4467],
        "ci_high": [0.6676, 0.6436],
        "method": "wilson",
    }
)


# --- import hygiene ----------------------------------------------------------------------------


def test_import_does_not_load_matplotlib() -> None:
    code = (
        "import sys, iopoutcomes, iopoutcomes.plots, iopoutcomes.spc; "
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_default_axes_is_current_axes() -> None:
    fig, ax = plt.subplots()
    try:
        assert plots.plot_rates(StandIn(RATES)) is ax
    finally:
        plt.close(fig)


# --- 1. rates ----------------------------------------------------------------------------------


def test_plot_rates_points_intervals_and_n(ax: Axes) -> None:
    out = plots.plot_rates(StandIn(RATES, FakeDefinition()), ax=ax)
    assert out is ax
    bars = _errorbars(ax)
    assert [c.get_label() for c in bars] == ["IOP", "inpatient"]
    for c, (_, row) in zip(bars, RATES.iterrows(), strict=True):
        assert_allclose(_f(c.lines[0].get_ydata()), [row["rate"]], rtol=1e-12)
        assert_allclose(_vertical_extent(c), [[row["ci_low"], row["ci_high"]]], rtol=1e-12)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["IOP\nn = 120", "inpatient\nn = 95"]
    assert "Abstinent (abstinent_6mo), missing = using" in ax.get_ylabel().replace("\n", " ")
    assert ax.get_ylim() == (0.0, 1.0)
    assert ax.yaxis.get_major_formatter()(0.5, 0) == "50%"


def test_plot_rates_literature_band_and_target(ax: Axes) -> None:
    plots.plot_rates(StandIn(RATES), ax=ax, target=0.8)
    band = [p for p in ax.patches if "McCarty et al. 2014" in str(p.get_label())]
    assert len(band) == 1
    ys = band[0].get_path().transformed(band[0].get_patch_transform()).vertices[:, 1]
    # axhspan draws in (axes-x, data-y) coordinates: the band spans 50%..70%
    assert_allclose([ys.min(), ys.max()], [0.5, 0.7])
    assert any("McCarty et al. 2014: 50%–70%" in t for t in _texts(ax))
    target = [ln for ln in ax.get_lines() if ln.get_label() == "Target 80%"]
    assert len(target) == 1
    assert_allclose(np.asarray(target[0].get_ydata(), dtype=float), [0.8, 0.8])


def test_plot_rates_band_hidden_or_not_applicable(ax: Axes) -> None:
    plots.plot_rates(StandIn(RATES), ax=ax, band=None)
    assert not any("McCarty" in str(p.get_label()) for p in ax.patches)
    ax.clear()
    other = RATES.assign(outcome="followup_6mo")
    plots.plot_rates(StandIn(other), ax=ax)  # not an abstinence outcome: no default band
    assert not any("McCarty" in str(p.get_label()) for p in ax.patches)


def test_plot_rates_one_group_zero_events(ax: Axes) -> None:
    one = pd.DataFrame(
        {"group": ["IOP"], "outcome": ["abstinent_1mo"], "timepoint": ["1mo"], "n": [12],
         "n_events": [0], "rate": [0.0], "ci_low": [0.0], "ci_high": [0.2425]}
    )  # fmt: skip
    plots.plot_rates(one, ax=ax)
    (c,) = _errorbars(ax)
    assert_allclose(_f(c.lines[0].get_ydata()), [0.0])
    assert_allclose(_vertical_extent(c), [[0.0, 0.2425]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["IOP\nn = 12"]


def test_plot_rates_suppressed_not_drawn(ax: Axes) -> None:
    sup = RATES.copy()
    sup["suppressed"] = [False, True]
    sup["n"] = pd.array([120, pd.NA], dtype="Int64")
    sup.loc[1, ["rate", "ci_low", "ci_high"]] = np.nan
    plots.plot_rates(sup, ax=ax)
    iop, inpatient = _errorbars(ax)
    assert len(iop.lines[0].get_ydata()) == 1
    assert len(inpatient.lines[0].get_ydata()) == 0
    assert "suppressed" in _texts(ax)
    assert [t.get_text() for t in ax.get_xticklabels()][1] == "inpatient\nn suppressed"


def test_plot_rates_by_timepoint(ax: Axes) -> None:
    frame = pd.DataFrame(
        {
            "group": ["IOP", "IOP", "inpatient", "inpatient"],
            "outcome": ["abstinent_1mo", "abstinent_6mo"] * 2,
            "timepoint": ["1mo", "6mo"] * 2,
            "n": [120, 110, 95, 90],
            "rate": [0.7, 0.6, 0.65, 0.55],
            "ci_low": [0.61, 0.5, 0.55, 0.45],
            "ci_high": [0.77, 0.69, 0.74, 0.65],
        }
    )
    plots.plot_rates(frame, ax=ax)
    assert [c.get_label() for c in _errorbars(ax)] == ["IOP", "inpatient"]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "Abstinent 1mo",
        "Abstinent 6mo",
    ] or [t.get_text() for t in ax.get_xticklabels()] == ["abstinent 1mo", "abstinent 6mo"]
    assert sorted(t for t in _texts(ax) if t.startswith("n=")) == sorted(
        ["n=120", "n=110", "n=95", "n=90"]
    )
    # groups side by side within each timepoint
    x_iop = _errorbars(ax)[0].lines[0].get_xdata()
    x_inp = _errorbars(ax)[1].lines[0].get_xdata()
    assert np.all(x_iop < x_inp) and np.all(np.abs(x_iop - [0, 1]) < 0.5)


def test_plot_rates_errors(ax: Axes) -> None:
    with pytest.raises(MissingColumnError):
        plots.plot_rates(RATES.drop(columns="ci_low"), ax=ax)
    with pytest.raises(ParameterError):
        plots.plot_rates([1, 2], ax=ax)


# --- 2. comparison -----------------------------------------------------------------------------

COMPARISON = pd.DataFrame(
    {
        "outcome": ["abstinent_6mo", "abstinent_6mo", "abstinent_12mo"],
        "group": ["IOP", "IOP", "IOP"],
        "reference": ["inpatient"] * 3,
        "n": [120, 130, 100],
        "n_ref": [95, 95, 80],
        "diff": [0.036, 0.02, -0.05],
        "diff_ci_low": [-0.097, -0.11, -0.19],
        "diff_ci_high": [0.167, 0.15, 0.09],
        "ratio": [1.07, 1.03, 0.9],
        "ratio_ci_low": [0.84, 0.82, 0.7],
        "ratio_ci_high": [1.35, 1.3, 1.18],
        "analysis": ["complete case", "missing = using", "complete case"],
        "margin": [0.1, 0.1, 0.1],
        "verdict": ["inconclusive", "inconclusive", "inconclusive"],
        "equivalence_ci_low": [-0.075, -0.09, -0.17],
        "equivalence_ci_high": [0.147, 0.13, 0.07],
    }
)


def test_plot_comparison_forest(ax: Axes) -> None:
    out = plots.plot_comparison(StandIn(COMPARISON, FakeDefinition()), ax=ax)
    assert out is ax
    bars = _errorbars(ax)
    assert len(bars) == 3
    for c, (_, row) in zip(bars, COMPARISON.iterrows(), strict=True):
        assert_allclose(_f(c.lines[0].get_xdata()), [float(row["diff"])])
        assert_allclose(
            _horizontal_extent(c), [[float(row["diff_ci_low"]), float(row["diff_ci_high"])]]
        )
    # rows top to bottom in table order
    assert [c.lines[0].get_ydata()[0] for c in bars] == [2.0, 1.0, 0.0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    # issue 22: the contrast once per block, the analysis on its own line (no nested brackets)
    assert "IOP vs inpatient\ncomplete case (n = 120 vs 95)" in labels[0]
    assert _texts(ax).count("inconclusive") == 3
    margin = [p for p in ax.patches if "Equivalence margin ±10 points" in str(p.get_label())]
    assert len(margin) == 1
    zero = [ln for ln in ax.get_lines() if list(ln.get_xdata()) == [0, 0]]
    assert zero, "the zero line is drawn"
    assert ax.xaxis.get_major_formatter()(0.1, 0) == "+10"


def test_plot_comparison_ratio_and_suppressed(ax: Axes) -> None:
    frame = COMPARISON.copy()
    frame["suppressed"] = [False, True, False]
    plots.plot_comparison(frame, ax=ax, measure="ratio")
    bars = _errorbars(ax)
    assert len(bars) == 2  # the suppressed row is not drawn
    assert_allclose([float(c.lines[0].get_xdata()[0]) for c in bars], [1.07, 0.9])
    assert ax.get_xscale() == "log"
    assert any(list(ln.get_xdata()) == [1, 1] for ln in ax.get_lines())
    assert "suppressed" in _texts(ax)
    assert not any("Equivalence margin" in str(p.get_label()) for p in ax.patches)
    with pytest.raises(ParameterError):
        plots.plot_comparison(frame, ax=ax, measure="odds")  # type: ignore[arg-type]


# --- 3. milestones -----------------------------------------------------------------------------


def test_plot_milestones(ax: Axes) -> None:
    t = pd.DataFrame(
        {
            "group": ["IOP", "IOP", "inpatient", "inpatient"],
            "outcome": ["milestone_housing_stable", "milestone_employed"] * 2,
            "n": [120, 118, 95, 95],
            "rate": [0.8, 0.5, 0.7, 0.0],
            "ci_low": [0.72, 0.41, 0.6, 0.0],
            "ci_high": [0.86, 0.59, 0.78, 0.04],
        }
    )
    plots.plot_milestones(t, ax=ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Housing stable", "Employed"]
    bars = _errorbars(ax)
    assert [c.get_label() for c in bars] == ["IOP (n = 118–120)", "inpatient (n = 95)"]
    assert_allclose(_f(bars[1].lines[0].get_xdata()), [0.7, 0.0])
    assert_allclose(_horizontal_extent(bars[0]), [[0.72, 0.86], [0.41, 0.59]])


def test_plot_milestones_distribution(ax: Axes) -> None:
    eo = pd.DataFrame(
        {"cohort": ["IOP"] * 5 + ["inpatient"] * 2, "milestones_met": [0, 2, 2, 3, None, 1, 2]}
    )
    plots.plot_milestones_distribution(eo, ax=ax)
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == 2
    assert_allclose([b.get_height() for b in bars[0]], [0.25, 0.0, 0.5, 0.25])
    assert_allclose([b.get_height() for b in bars[1]], [0.0, 0.5, 0.5, 0.0])
    assert bars[0].patches[0].get_hatch() != bars[1].patches[0].get_hatch()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["IOP (n = 4; 1 missing)", "inpatient (n = 2)"]


# --- 4. rates over time ------------------------------------------------------------------------


def test_plot_rates_over_time_with_fit(ax: Axes) -> None:
    t = pd.DataFrame(
        {
            "group": ["IOP"] * 4 + ["inpatient"] * 4,
            "outcome": ["abstinent_1mo", "abstinent_3mo", "abstinent_6mo", "abstinent_12mo"] * 2,
            "timepoint": ["1mo", "3mo", "6mo", "12mo"] * 2,
            "n": [110, 100, 90, 80, 100, 95, 90, 85],
            "rate": [0.7, 0.6, 0.55, 0.5, 0.68, 0.62, 0.5, 0.45],
            "ci_low": [0.61, 0.5, 0.45, 0.39, 0.58, 0.52, 0.4, 0.35],
            "ci_high": [0.78, 0.69, 0.65, 0.61, 0.77, 0.71, 0.6, 0.56],
            "suppressed": [False] * 7 + [True],
        }
    )
    fit = pd.DataFrame(
        {"group": ["IOP"] * 4, "timepoint": ["1mo", "3mo", "6mo", "12mo"],
         "rate": [0.69, 0.61, 0.56, 0.49], "ci_low": [0.62, 0.55, 0.5, 0.42],
         "ci_high": [0.75, 0.67, 0.62, 0.56]}
    )  # fmt: skip
    plots.plot_rates_over_time(t, ax=ax, fitted=fit)
    iop, inp = _errorbars(ax)
    assert [iop.get_label(), inp.get_label()] == ["IOP", "inpatient"]
    assert_allclose(np.round(iop.lines[0].get_xdata()), [1, 3, 6, 12])
    assert_allclose(_f(iop.lines[0].get_ydata()), [0.7, 0.6, 0.55, 0.5])
    y_inp = np.asarray(inp.lines[0].get_ydata(), dtype=float)
    assert np.isnan(y_inp[-1])
    assert_allclose(np.asarray(y_inp[:3], dtype=float), [0.68, 0.62, 0.5])
    model = [ln for ln in ax.get_lines() if ln.get_label() == "IOP (model)"]
    assert len(model) == 1
    assert_allclose(np.asarray(model[0].get_ydata(), dtype=float), [0.69, 0.61, 0.56, 0.49])
    assert "suppressed" in _texts(ax)
    assert "n=110" in _texts(ax)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "3", "6", "12"]


# --- 5. Kaplan-Meier ---------------------------------------------------------------------------

SURV = pd.DataFrame(
    {
        "group": ["IOP"] * 3 + ["inpatient"] * 2,
        "time": [10.0, 30.0, 60.0, 20.0, 50.0],
        "n_at_risk": [50, 40, 20, 30, 10],
        "n_events": [5, 4, 2, 3, 1],
        "n_censored": [5, 16, 18, 17, 0],
        "survival": [0.9, 0.81, 0.729, 0.9, 0.81],
        "ci_low": [0.78, 0.67, 0.56, 0.73, 0.55],
        "ci_high": [0.96, 0.9, 0.85, 0.97, 0.94],
    }
)


@dataclass(frozen=True)
class FakeRelapse:
    survival_table: pd.DataFrame
    definition: Any = None


def test_plot_km_curves_censoring_and_at_risk(ax: Axes) -> None:
    plots.plot_km(FakeRelapse(SURV), ax=ax)
    steps = [
        ln for ln in ax.get_lines() if ln.get_label() in ("IOP (n = 50)", "inpatient (n = 30)")
    ]
    assert len(steps) == 2
    assert_allclose(_f(steps[0].get_xdata()), [0, 10, 30, 60])
    assert_allclose(_f(steps[0].get_ydata()), [1, 0.9, 0.81, 0.729])
    assert steps[0].get_drawstyle() == "steps-post"
    marks = [ln for ln in ax.get_lines() if ln.get_marker() == "|"]
    assert_allclose(_f(marks[0].get_xdata()), [10, 30, 60])  # every IOP time has censorings
    assert_allclose(_f(marks[1].get_xdata()), [20])  # inpatient: censoring at 20 only
    texts = _texts(ax)
    assert "Number at risk" in texts
    ticks = [v for v in ax.get_xticks()]
    # at-risk at tick t: n_at_risk at the first time >= t (by hand for the IOP curve)
    expected_iop = []
    for t in ticks:
        later = SURV[(SURV.group == "IOP") & (SURV.time >= t)]
        expected_iop.append(str(int(later["n_at_risk"].iloc[0])) if len(later) else "0")
    numbers = [t for t in ax.texts if t.get_text().isdigit()]
    iop_row = [t.get_text() for t in numbers if abs(t.get_position()[1] - -0.27) < 1e-9]
    assert iop_row == expected_iop
    assert ax.yaxis.get_major_formatter()(1.0, 0) == "100%"


def test_plot_km_time_axis_label_from_result(ax: Axes) -> None:
    """The x-axis label follows the result: time_label, else time_unit, else days."""
    assert plots.plot_km(SURV, ax=ax).get_xlabel() == "Days since discharge"

    @dataclass(frozen=True)
    class Weekly:
        survival_table: pd.DataFrame
        time_unit: str = "weeks"

    ax.clear()
    assert plots.plot_km(Weekly(SURV), ax=ax).get_xlabel() == "Weeks of follow-up"


def test_plot_km_one_group_without_at_risk(ax: Axes) -> None:
    plots.plot_km(SURV[SURV.group == "inpatient"], ax=ax, at_risk=False)
    assert "Number at risk" not in _texts(ax)
    assert [ln.get_label() for ln in ax.get_lines()][0] == "inpatient (n = 30)"
    with pytest.raises(ParameterError):
        plots.plot_km(object(), ax=ax)


# --- 6. balance --------------------------------------------------------------------------------


def test_plot_balance(ax: Axes) -> None:
    bal = pd.DataFrame(
        {"covariate": ["age", "female", "prior_treatment"], "smd_unweighted": [0.3, -0.15, 0.22],
         "smd_weighted": [0.04, -0.02, 0.01]}
    )  # fmt: skip
    plots.plot_balance(bal, ax=ax)
    coll = {c.get_label(): c for c in ax.collections if c.get_label() in ("Unweighted", "Weighted")}
    assert_allclose(coll["Unweighted"].get_offsets()[:, 0], [0.3, -0.15, 0.22])
    assert_allclose(coll["Weighted"].get_offsets()[:, 0], [0.04, -0.02, 0.01])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["age", "female", "prior treatment"]
    vlines = sorted(ln.get_xdata()[0] for ln in ax.get_lines())
    assert_allclose(vlines, [-0.1, 0.0, 0.1])


def test_plot_balance_without_weights_has_no_weighted_legend(ax: Axes) -> None:
    bal = pd.DataFrame(
        {"covariate": ["age", "severity"], "smd_unweighted": [0.3, -0.15],
         "smd_weighted": [np.nan, np.nan]}
    )  # fmt: skip
    plots.plot_balance(bal, ax=ax)
    labels = [c.get_label() for c in ax.collections]
    assert "Unweighted" in labels and "Weighted" not in labels
    assert ax.get_legend() is None


# --- 7. SPC ------------------------------------------------------------------------------------

MONTGOMERY_D = [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22,
                8, 10, 5, 13, 11, 20, 18, 24, 15, 9, 12, 7, 13, 9, 6]  # fmt: skip


def _monthly(x: list[int], n: int = 50, start: str = "2021-01") -> pd.DataFrame:
    return pd.DataFrame(
        {"period": pd.period_range(start, periods=len(x), freq="M"), "n": n, "n_events": x}
    )


def test_plot_spc_limits_and_signals(ax: Axes) -> None:
    chart = p_chart(_monthly(MONTGOMERY_D), laney=False)
    out = plots.plot_spc(chart, ax=ax)
    assert out is ax
    frame = chart.to_frame()
    rate = [ln for ln in ax.get_lines() if ln.get_label() == "Rate"][0]
    assert_allclose(_f(rate.get_ydata()), frame["rate"])
    limits = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert limits[0].get_label() == "3-sigma limits"
    assert_allclose(_f(limits[1].get_ydata()), frame["ucl"])  # drawn, not recomputed
    outside = [c for c in ax.collections if c.get_label() == "Outside limits"][0]
    assert_allclose(outside.get_offsets(), [[14, 0.44], [22, 0.48]])
    assert not any(t.startswith("trial limits") for t in _texts(ax))
    assert any(t.startswith("Anhøj rules") for t in _texts(ax))


def test_plot_spc_laney_breaks_trial(ax: Axes) -> None:
    x = [10, 12, 11, 9, 10, 12, 11, 10, 24, 26, 25, 23, 24, 26, 25, 24]
    chart = p_chart(_monthly(x, n=40, start="2022-05"), breaks=["2023-01-21"], laney=True)
    plots.plot_spc(chart, ax=ax)
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert "3-sigma limits (Laney p′)" in labels
    assert "definition/instrument change" in _texts(ax)
    breaks = [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]
    assert_allclose(_f(breaks[0].get_xdata()), [7.5, 7.5])
    assert sum(t.startswith("trial limits") for t in _texts(ax)) == 2
    centres = [
        ln for ln in ax.get_lines() if ln.get_color() == "black" and ln.get_linewidth() == 1.2
    ]
    assert_allclose(_f(centres[0].get_ydata()), chart.to_frame()["centre"].iloc[:8])


def test_plot_spc_suppressed_and_run_signal(ax: Axes) -> None:
    x = [10, 12, 11, 9, 10, 12, 11, 10, 24, 26, 25, 23, 24, 26, 25, 24]
    counts = _monthly(x, n=40)
    counts.loc[3, "n_events"] = np.nan  # a suppressed numerator
    chart = p_chart(counts, laney=False)
    plots.plot_spc(chart, ax=ax)
    rate = [ln for ln in ax.get_lines() if ln.get_label() == "Rate"][0]
    assert np.isnan(np.asarray(rate.get_ydata(), dtype=float)[3])
    runs = [c for c in ax.collections if c.get_label() == "Run signal (Anhøj)"]
    # 15 useful points: limit round(log2(15) + 3) = 7; the run of 7 below (one point missing)
    # does not signal, the run of 8 above does
    assert len(runs) == 1
    assert_allclose(runs[0].get_offsets()[:, 0], np.arange(8, 16))


# --- 8. funnel ---------------------------------------------------------------------------------


def _sites() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site": ["North", "South", "East", "West", "Central", "Harbour"],
            "n": [120, 80, 200, 60, 150, 90],
            "n_events": [70, 20, 118, 36, 85, 52],
        }
    )


def test_plot_funnel(ax: Axes) -> None:
    res = funnel_table(_sites())
    plots.plot_funnel(res, ax=ax)
    names = [t for t in _texts(ax) if t in set(_sites()["site"])]
    assert names == ["South"]  # only the unit outside the 99.8% limits is named
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert {"95% limits", "99.8% limits"} <= set(lines)
    curve = res.limits[res.limits["level"] == 0.998].sort_values("n")
    assert_allclose(lines["99.8% limits"].get_ydata(), curve["lower"])  # drawn as given
    units = [c for c in ax.collections if c.get_label() == "Unit"][0]
    assert len(units.get_offsets()) == 5
    out = [c for c in ax.collections if c.get_label().startswith("Outside")][0]
    assert_allclose(out.get_offsets(), [[80, 0.25]])
    assert "rank" not in _all_text(ax).lower()
    target = [ln for ln in ax.get_lines() if ln.get_label().startswith("Target (pooled)")]
    assert_allclose(_f(target[0].get_ydata()), [381 / 700] * 2)


def test_plot_funnel_suppressed_unit_not_drawn(ax: Axes) -> None:
    sites = _sites()
    sites["suppressed"] = [False, True, False, False, False, False]
    plots.plot_funnel(funnel_table(sites), ax=ax)
    drawn = np.vstack([c.get_offsets() for c in ax.collections if len(c.get_offsets())])
    assert 80 not in drawn[:, 0]
    assert "South" not in _texts(ax)


# --- 9. cascade --------------------------------------------------------------------------------


def test_plot_followup_cascade(ax: Axes) -> None:
    flow = pd.DataFrame(
        {
            "cohort": ["IOP"] * 5 + ["inpatient"] * 5,
            "stage": list(CASCADE_STAGES) * 2,
            "n": [200, 180, 150, 120, 118, 100, 95, 80, 60, np.nan],
            "suppressed": [False] * 9 + [True],
        }
    )
    plots.plot_followup_cascade(flow, ax=ax)
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == 2
    assert_allclose([b.get_width() for b in bars[0]], [200, 180, 150, 120, 118])
    assert_allclose([b.get_width() for b in bars[1]], [100, 95, 80, 60, 0])
    texts = _texts(ax)
    assert "200 (100%)" in texts and "118 (59%)" in texts and "suppressed" in texts
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "Episodes"
    assert bars[0].patches[0].get_hatch() != bars[1].patches[0].get_hatch()


# --- 10. use calendar --------------------------------------------------------------------------


def _use_days() -> pd.DataFrame:
    ids = [f"PT-{i:04d}" for i in range(40)]
    rng = np.random.default_rng(1)
    rows = pd.DataFrame(
        {
            "episode_id": np.repeat(ids, 20),
            "patient_id": np.repeat([f"P{i}" for i in range(40)], 20),
            "day": np.tile(np.arange(20), 40),
            "used": rng.integers(0, 2, 800),
        }
    )
    return rows


def test_plot_use_calendar_patients_pseudonymised(ax: Axes) -> None:
    use = _use_days()
    plots.plot_use_calendar(use, ax=ax, n_patients=10, seed=3)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [f"patient {i}" for i in range(1, 11)]
    text = _all_text(ax)
    assert "PT-" not in text and not any(f"P{i}" in text.split() for i in range(40))
    image = ax.images[0].get_array()
    assert image.shape == (10, 20)
    # the sample is seeded: the same call gives the same picture
    fig2, ax2 = plt.subplots()
    try:
        plots.plot_use_calendar(use, ax=ax2, n_patients=10, seed=3)
        assert_array_equal(np.ma.filled(ax2.images[0].get_array(), -1), np.ma.filled(image, -1))
    finally:
        plt.close(fig2)
    # each row equals that episode's use by day (read back against the input)
    chosen = np.random.default_rng(3).choice(pd.unique(use["episode_id"]), 10, replace=False)
    first = use[use["episode_id"] == chosen[0]].sort_values("day")["used"].to_numpy()
    assert_array_equal(np.ma.filled(image[0], -1), first)


def test_plot_use_calendar_missing_days_blank(ax: Axes) -> None:
    use = pd.DataFrame({"episode_id": ["a", "a", "b"], "day": [0, 3, 1], "used": [1, 0, 1]})
    plots.plot_use_calendar(use, ax=ax, n_patients=5)
    img = ax.images[0].get_array()
    assert img.shape == (2, 4)
    assert int(np.isnan(np.ma.filled(img.astype(float), np.nan)).sum()) == 5


def test_plot_use_calendar_since_discharge_share(ax: Axes) -> None:
    use = _use_days()
    use["cohort"] = np.where(use["episode_id"] < "PT-0020", "IOP", "inpatient")
    use["discharge_day"] = 5
    plots.plot_use_calendar(use, ax=ax, mode="since_discharge", max_days=14, min_count=11)
    img = np.ma.filled(ax.images[0].get_array().astype(float), np.nan)
    assert img.shape == (2, 15)
    iop = use[(use.cohort == "IOP") & (use.day >= 5)]
    share = iop.groupby(iop["day"] - 5)["used"].mean().to_numpy()
    assert_allclose(img[0], share, rtol=1e-12)
    # 20 episodes per cohort per day >= 11: every cell drawn; with min_count=21 none is
    ax.clear()
    plots.plot_use_calendar(use, ax=ax, mode="since_discharge", max_days=14, min_count=21)
    assert np.isnan(np.ma.filled(ax.images[-1].get_array().astype(float), np.nan)).all()
    with pytest.raises(ParameterError):
        plots.plot_use_calendar(use, ax=ax, mode="weekly")  # type: ignore[arg-type]


# --- the real result objects on the shipped sample ---------------------------------------------


@pytest.fixture(scope="module")
def sample() -> tuple[Any, Any]:
    import warnings

    import iopoutcomes as iop
    from iopoutcomes.simulate import load_sample

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records = load_sample()
        return records, iop.episode_outcomes(records)


def test_sample_rates_and_shim(sample: tuple[Any, Any], ax: Axes) -> None:
    from iopoutcomes.rates import outcome_rates

    rates = outcome_rates(sample[1], "abstinent_1mo")
    assert rates.plot(ax=ax) is ax
    frame = rates.to_frame()
    bars = _errorbars(ax)
    assert [c.get_label() for c in bars] == frame["group"].astype(str).tolist()
    assert_allclose([float(c.lines[0].get_ydata()[0]) for c in bars], frame["rate"])
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == [
        f"{g}\nn = {int(n):,}" for g, n in zip(frame["group"], frame["n"], strict=True)
    ]
    assert "Abstinent at 1-month follow-up" in ax.get_ylabel().replace("\n", " ")
    assert any("McCarty et al. 2014" in str(p.get_label()) for p in ax.patches)


def test_sample_comparison_and_balance(sample: tuple[Any, Any], ax: Axes) -> None:
    import warnings

    from iopoutcomes.compare import compare_rates

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp = compare_rates(sample[1], "abstinent_6mo", margin=0.1, adjust=["age", "severity"])
    frame = cmp.to_frame()
    plots.plot_comparison(cmp, ax=ax)
    bars = _errorbars(ax)
    assert len(bars) == len(frame)
    assert_allclose([float(c.lines[0].get_xdata()[0]) for c in bars], frame["diff"])
    verdicts = [v for v in frame["verdict"] if isinstance(v, str) and v]
    assert sorted(t for t in _texts(ax) if t in set(verdicts)) == sorted(verdicts)
    ax.clear()
    plots.plot_balance(cmp, ax=ax)
    bal = cmp.balance
    weighted = [c for c in ax.collections if c.get_label() == "Weighted"][0]
    assert_allclose(weighted.get_offsets()[:, 0], bal["smd_weighted"])


def test_sample_km_at_risk_from_result(sample: tuple[Any, Any], ax: Axes) -> None:
    from iopoutcomes.survival import time_to_relapse

    res = time_to_relapse(sample[1])
    plots.plot_km(res, ax=ax)
    groups = pd.unique(res.survival_table["group"]).tolist()
    labels = [ln.get_label() for ln in ax.get_lines() if ln.get_drawstyle() == "steps-post"]
    assert [lab.split(" (")[0] for lab in labels] == [str(g) for g in groups]
    ticks = list(ax.get_xticks())
    expected = res.at_risk_table(ticks)
    first = expected[expected["group"] == groups[0]]["n_at_risk"].astype(int).astype(str)
    row = [t.get_text() for t in ax.texts if abs(t.get_position()[1] + 0.27) < 1e-9]
    assert row[0] == str(groups[0])  # the row label, then the numbers at risk
    assert row[1:] == first.tolist()


def test_sample_cascade_milestones_calendar(sample: tuple[Any, Any], ax: Axes) -> None:
    records, eo = sample
    counts = cascade_counts(eo)
    table = eo.to_frame()
    iop = counts[counts["cohort"] == "IOP"].set_index("stage")["n"]
    assert iop["episodes"] == (table["cohort"] == "IOP").sum()
    due = table["followup_due_6mo"].fillna(False).astype(bool) & table["discharge_day"].notna()
    assert iop["follow-up due"] == (due & (table["cohort"] == "IOP")).sum()
    assert iop["analysed"] == iop["follow-up due"]  # missing = using: every due episode
    plots.plot_followup_cascade(cascade_counts(eo), ax=ax)
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert_allclose([b.get_width() for b in bars[0]], counts[counts["cohort"] == "IOP"]["n"])

    from iopoutcomes.rates import outcome_rates

    cols = [c for c in table.columns if c.startswith("milestone_")]
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3)
    try:
        plots.plot_milestones(outcome_rates(eo, cols), ax=ax1)
        assert len(ax1.get_yticklabels()) == len(cols)
        plots.plot_milestones_distribution(eo, ax=ax2)
        assert len([c for c in ax2.containers if isinstance(c, BarContainer)]) == 2
        plots.plot_use_calendar(records, ax=ax3, n_patients=15)
        text = _all_text(ax3)
        ids = set(records.episodes["episode_id"]) | set(records.episodes["patient_id"])
        assert not any(str(i) in text for i in ids)
    finally:
        plt.close(fig)


def test_sample_spc_and_funnel(sample: tuple[Any, Any], ax: Axes) -> None:
    table = sample[1].to_frame()
    due = table[table["followup_due_6mo"].fillna(False).astype(bool)]
    done = due["in_window_6mo"].fillna(False).astype(bool) & (
        due["followup_status_6mo"] == "completed"
    )
    quarterly = (
        due.assign(done=done.astype(int))
        .groupby("admission_quarter", observed=True)["done"]
        .agg(n="size", n_events="sum")
        .reset_index()
        .rename(columns={"admission_quarter": "period"})
    )
    chart = p_chart(quarterly)
    plots.plot_spc(chart, ax=ax)
    rate = [ln for ln in ax.get_lines() if ln.get_label() == "Rate"][0]
    assert_allclose(_f(rate.get_ydata()), quarterly["n_events"] / quarterly["n"])
    ax.clear()
    sites = (
        table.assign(a=table["abstinent_6mo"].fillna(False).astype(int))
        .groupby("site")["a"]
        .agg(n="size", n_events="sum")
        .reset_index()
    )
    res = funnel_table(sites)
    plots.plot_funnel(res, ax=ax)
    named = set(_texts(ax)) & set(sites["site"])
    assert named == set(res.to_frame().loc[lambda d: d["outside"], "site"])


# --- layout: labels read back with their rendered extents --------------------------------------


def _extents(fig: Any, texts: list[Any]) -> list[Any]:
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in texts]


def _inside(box: Any, outer: Any, tol: float = 0.5) -> bool:
    return bool(
        box.x0 >= outer.x0 - tol
        and box.x1 <= outer.x1 + tol
        and box.y0 >= outer.y0 - tol
        and box.y1 <= outer.y1 + tol
    )


@pytest.mark.parametrize("figsize", [(4.0, 3.0), (6.4, 4.8), (9.0, 3.0)])
def test_plot_rates_n_labels_never_overlap(figsize: tuple[float, float]) -> None:
    # three groups with equal lower limits in every cell (the worst case for labels hanging
    # from the interval), one cell close to 0% (labels stacked above instead)
    groups = ["IOP", "inpatient", "residential"]
    tps = ["1mo", "3mo", "6mo", "12mo"]
    frame = pd.DataFrame(
        {
            "group": np.repeat(groups, len(tps)),
            "outcome": [f"abstinent_{tp}" for tp in tps] * 3,
            "timepoint": tps * 3,
            "n": [1386, 1214, 995, 1000] * 3,
            "rate": [0.40, 0.45, 0.38, 0.05] * 3,
            "ci_low": [0.35, 0.40, 0.33, 0.02] * 3,
            "ci_high": [0.45, 0.50, 0.43, 0.09] * 3,
        }
    )
    fig, ax = plt.subplots(figsize=figsize)
    try:
        plots.plot_rates(frame, ax=ax, band=None)
        labels = [t for t in ax.texts if t.get_text().startswith("n=")]
        assert sorted(t.get_text() for t in labels) == sorted(
            [f"n={v:,}" for v in frame["n"].astype(int)]
        )
        boxes = _extents(fig, labels)
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                assert not boxes[i].overlaps(boxes[j]), (labels[i].get_text(), labels[j].get_text())
        # every label inside the Axes, centred under (or over) its own point
        axes_box = ax.get_window_extent()
        assert all(_inside(b, axes_box) for b in boxes)
        points = np.concatenate([c.lines[0].get_xdata() for c in _errorbars(ax)])
        centres = [ax.transData.inverted().transform(((b.x0 + b.x1) / 2, 0))[0] for b in boxes]
        assert_allclose(sorted(centres), sorted(points), atol=1e-6)
    finally:
        plt.close(fig)


@pytest.mark.parametrize(
    ("figsize", "layout"),
    [((6.4, 4.8), None), ((3.0, 3.0), None), ((3.5, 3.0), "constrained"), ((2.6, 2.4), None)],
)
def test_plot_followup_cascade_labels_inside_figure(
    figsize: tuple[float, float], layout: str | None
) -> None:
    flow = pd.DataFrame(
        {
            "cohort": ["IOP"] * 5 + ["inpatient"] * 5,
            "stage": list(CASCADE_STAGES) * 2,
            "n": [12_386, 11_360, 9_275, 5_179, 9_275, 10_214, 10_212, 161, 101, 161],
        }
    )
    fig, ax = plt.subplots(figsize=figsize, layout=layout)
    try:
        plots.plot_followup_cascade(flow, ax=ax)
        labels = list(ax.texts)
        assert "12,386 (100%)" in [t.get_text() for t in labels]
        boxes = _extents(fig, labels)
        axes_box = ax.get_window_extent()
        for t, b in zip(labels, boxes, strict=True):
            assert _inside(b, fig.bbox), t.get_text()
            assert b.x1 <= axes_box.x1 + 0.5, t.get_text()  # not past the right frame
        # the bars still show the counts (the x limit only grew)
        bars = [c for c in ax.containers if isinstance(c, BarContainer)]
        assert_allclose([b.get_width() for b in bars[0]], flow["n"][:5])
        assert ax.get_xlim()[1] >= 12_386
    finally:
        plt.close(fig)


@pytest.mark.parametrize(
    ("figsize", "layout"),
    [((6.4, 4.8), None), ((6.4, 2.5), "constrained"), ((6.4, 9.0), "constrained")],
)
def test_plot_use_calendar_note_stays_by_the_axis(
    figsize: tuple[float, float], layout: str | None
) -> None:
    use = _use_days()
    use["cohort"] = np.where(use["episode_id"] < "PT-0020", "IOP", "inpatient")
    use["discharge_day"] = 5
    fig, ax = plt.subplots(figsize=figsize, layout=layout)
    try:
        plots.plot_use_calendar(use, ax=ax, mode="since_discharge", max_days=14)
        note = next(t for t in ax.texts if t.get_text().startswith("Blank:"))
        assert note.get_text().replace("\n", " ") == (
            "Blank: no record, or fewer than 11 records that day."
        )
        (box, label) = _extents(fig, [note, ax.xaxis.label])
        assert _inside(box, fig.bbox)
        # next to the x-axis label: just under it, or beside it on the same line
        assert label.y0 - box.y1 < 6 or (box.x0 >= label.x1 and box.y0 < label.y1)
    finally:
        plt.close(fig)


def test_km_band_collapses_where_the_interval_is_undefined() -> None:
    # Censoring at time 0 leaves S = 1 before the first event, where the log-log interval is
    # undefined (NA in R's survfit); the band must not span 0-100% there.
    import matplotlib.pyplot as plt

    from iopoutcomes.survival import time_to_relapse

    frame = pd.DataFrame(
        {
            "cohort": ["IOP"] * 6 + ["inpatient"] * 6,
            "x_time": [0, 0, 3, 5, 8, 9, 0, 2, 4, 6, 7, 9],
            "x_event": [0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 0, 1],
        }
    )
    result = time_to_relapse(frame, by="cohort", relapse="x", reference="inpatient")
    fig, ax = plt.subplots()
    plots.plot_km(result, ax=ax, at_risk=False)
    for band in ax.collections:
        vertices = np.vstack([p.vertices for p in band.get_paths()])
        before_first_event = vertices[vertices[:, 0] < 2]
        if len(before_first_event):
            assert before_first_event[:, 1].min() >= 0.999
    plt.close(fig)


def _point_boxes(fig: Any, ax: Axes) -> list[Any]:
    """Window extent of every drawn point: its marker (from the marker path, markersize and
    edge width) joined with its interval (the errorbar segment and caps)."""
    from matplotlib.markers import MarkerStyle
    from matplotlib.transforms import Bbox

    boxes = []
    px = fig.dpi / 72
    for c in _errorbars(ax):
        line = c.lines[0]
        style = MarkerStyle(line.get_marker())
        ext = style.get_path().transformed(style.get_transform()).get_extents()
        half = (line.get_markersize() * max(abs(ext.y0), abs(ext.y1), abs(ext.x0), abs(ext.x1))
                + line.get_markeredgewidth() / 2) * px  # fmt: skip
        intervals = _vertical_extent(c)
        xs, ys = _f(line.get_xdata()), _f(line.get_ydata())
        for x, y, (lo, hi) in zip(xs, ys, intervals, strict=False):
            if not np.isfinite(y):
                continue
            (x0, y_mid), (_, y_lo), (_, y_hi) = ax.transData.transform([(x, y), (x, lo), (x, hi)])
            boxes.append(
                Bbox([[x0 - half, min(y_mid - half, y_lo)], [x0 + half, max(y_mid + half, y_hi)]])
            )
    return boxes


@pytest.mark.parametrize("figsize", [(4.0, 3.0), (6.4, 4.8), (9.0, 3.0)])
def test_plot_rates_over_time_n_labels_never_overlap(figsize: tuple[float, float]) -> None:
    # the gallery case: at 12 months the two cohorts' intervals start at nearly the same height
    # (labels hanging from each own interval fell on one line, "n=116" over "n=198"); at 3
    # months an interval so narrow that the marker reaches below it (a label 3-4 points under
    # the interval touched the marker); at 1 month a cell near 0% (labels stacked above)
    tps = ["1mo", "3mo", "6mo", "12mo"]
    frame = pd.DataFrame(
        {
            "group": ["inpatient"] * 4 + ["IOP"] * 4,
            "outcome": [f"abstinent_{tp}" for tp in tps] * 2,
            "timepoint": tps * 2,
            "n": [208, 185, 161, 116, 359, 330, 275, 198],
            "rate": [0.06, 0.40, 0.40, 0.46, 0.05, 0.512, 0.51, 0.44],
            "ci_low": [0.02, 0.399, 0.32, 0.37, 0.03, 0.511, 0.45, 0.37],
            "ci_high": [0.10, 0.401, 0.47, 0.55, 0.08, 0.513, 0.57, 0.51],
        }
    )
    fig, ax = plt.subplots(figsize=figsize)
    try:
        plots.plot_rates_over_time(frame, ax=ax)
        labels = [t for t in ax.texts if t.get_text().startswith("n=")]
        assert sorted(t.get_text() for t in labels) == sorted(f"n={v}" for v in frame["n"])
        boxes = _extents(fig, labels)
        renderer = fig.canvas.get_renderer()
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                assert not boxes[i].overlaps(boxes[j]), (labels[i].get_text(), labels[j].get_text())
        # no label touches any marker or interval (1 pixel of air at least)
        for label, box in zip(labels, boxes, strict=True):
            for point in _point_boxes(fig, ax):
                assert not box.padded(1.0).overlaps(point), label.get_text()
        # inside the Axes, centred on its own point, in its cohort's colour
        axes_box = ax.get_window_extent(renderer)
        assert all(_inside(b, axes_box) for b in boxes)
        bars = _errorbars(ax)
        points = np.concatenate([c.lines[0].get_xdata() for c in bars])
        centres = [ax.transData.inverted().transform(((b.x0 + b.x1) / 2, 0))[0] for b in boxes]
        assert_allclose(sorted(centres), sorted(points), atol=1e-6)
        colour = {c.get_label(): c.lines[0].get_color() for c in bars}
        for label in labels:
            n = int(label.get_text()[2:])
            group = frame.loc[frame["n"] == n, "group"].iloc[0]
            assert label.get_color() == colour[group]
    finally:
        plt.close(fig)


def test_plot_km_weeks_have_whole_week_ticks(ax: Axes) -> None:
    """time_unit "weeks": integer ticks (MaxNLocator(integer=True)), numbers at risk on them."""

    @dataclass(frozen=True)
    class Weekly:
        survival_table: pd.DataFrame
        time_unit: str = "weeks"

    # times 0.5-2.5 weeks: matplotlib's default locator would tick every 0.5 week
    weeks = SURV.assign(time=SURV["time"] / 20 - 0.25)
    fig2, ax2 = plt.subplots()
    try:
        plots.plot_km(weeks, ax=ax2)  # a bare table: days, default ticks
        assert any(v != round(v) for v in ax2.get_xticks())
    finally:
        plt.close(fig2)
    plots.plot_km(Weekly(weeks), ax=ax)
    ticks = list(ax.get_xticks())
    assert len(ticks) >= 2 and all(v == round(v) for v in ticks)
    # the at-risk row sits on those ticks: at tick t, n_at_risk at the first time >= t
    numbers = [t for t in ax.texts if t.get_text().isdigit()]
    iop = [t for t in numbers if abs(t.get_position()[1] - -0.27) < 1e-9]
    assert [t.get_position()[0] for t in iop] == ticks
    expected = []
    for t in ticks:
        later = weeks[(weeks.group == "IOP") & (weeks.time >= t)]
        expected.append(str(int(later["n_at_risk"].iloc[0])) if len(later) else "0")
    assert [t.get_text() for t in iop] == expected


def test_dollar_signs_in_group_names_are_drawn_literally() -> None:
    # Group and site names come from the data; "$...$" must not be parsed as mathtext.
    import io

    import matplotlib.pyplot as plt

    from iopoutcomes.rates import outcome_rates

    name = r"$\frac{a$ clinic"
    frame = pd.DataFrame({"cohort": [name] * 40 + ["inpatient"] * 40, "y": [1, 0] * 40})
    fig, ax = plt.subplots()
    plots.plot_rates(outcome_rates(frame, "y"), ax=ax, band=None)
    fig.savefig(io.BytesIO(), format="png")  # drawing would raise on a mathtext parse error
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert any(name in label for label in labels)
    plt.close(fig)


def test_plot_milestones_labels_not_eligible_counts(ax: Axes) -> None:
    # issue 21: run milestones say how many episodes were not eligible (observed too few days)
    t = pd.DataFrame(
        {
            "group": ["IOP", "inpatient", "IOP", "inpatient"],
            "outcome": ["milestone_sustained_abstinence"] * 2 + ["milestone_employed"] * 2,
            "n": [120, 20, 150, 90],
            "rate": [0.6, 0.5, 0.5, 0.4],
            "ci_low": [0.5, 0.3, 0.42, 0.3],
            "ci_high": [0.7, 0.7, 0.58, 0.5],
            "n_not_eligible": [30, 70, 0, 0],
        }
    )
    plots.plot_milestones(t, ax=ax)
    assert sorted(x.get_text() for x in ax.texts) == ["30 not eligible", "70 not eligible"]


def test_plot_leaves_other_subplots_text_and_rcparams_untouched() -> None:
    # issue 13: a plot draws its own texts literally but changes nothing outside its Axes: a
    # user's mathtext title on a second subplot keeps parse_math and renders as mathtext.
    import io

    import matplotlib

    from iopoutcomes.rates import outcome_rates

    def alpha_title_width() -> float:
        fig, (_, other) = plt.subplots(1, 2, figsize=(8, 3))
        other.set_title(r"$\alpha$")
        fig.canvas.draw()
        width = other.title.get_window_extent().width
        plt.close(fig)
        return float(width)

    rc_before = {k: matplotlib.rcParams[k] for k in matplotlib.rcParams if k != "backend"}
    alone = alpha_title_width()
    fig, (mine, other) = plt.subplots(1, 2, figsize=(8, 3))
    other.set_title(r"$\alpha$")
    name = r"$\frac{a$ clinic $b$"
    frame = pd.DataFrame({"cohort": [name] * 40 + ["inpatient"] * 40, "y": [1, 0] * 40})
    plots.plot_rates(outcome_rates(frame, "y"), ax=mine, band=None)
    fig.savefig(io.BytesIO(), format="png")
    assert other.title.get_parse_math() is True
    assert other.title.get_text() == r"$\alpha$"
    # rendered as mathtext: one glyph, as wide as the same title on a figure never plotted on
    # (the literal string "$\alpha$" is several times wider)
    assert other.title.get_window_extent().width == pytest.approx(alone, abs=0.5)
    assert all(t.get_parse_math() for t in other.get_xticklabels())
    # the plot's own data-derived labels are literal
    assert any(name in t.get_text() for t in mine.get_xticklabels())
    assert not any(t.get_parse_math() for t in mine.get_xticklabels() if name in t.get_text())
    rc_after = {k: matplotlib.rcParams[k] for k in matplotlib.rcParams if k != "backend"}
    assert rc_after == rc_before
    plt.close(fig)


def test_alpha_title_width_check_can_fail() -> None:
    # the rendered-width check above tells mathtext from literal text: a literal "$\alpha$"
    # is much wider than the mathtext glyph
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
    left.set_title(r"$\alpha$")
    right.set_title(r"$\alpha$", parse_math=False)
    fig.canvas.draw()
    math_w = left.title.get_window_extent().width
    literal_w = right.title.get_window_extent().width
    assert literal_w > 2 * math_w
    plt.close(fig)


def test_plots_draw_and_do_not_compute() -> None:
    # issue 13: plot_milestones draws a rate table and plot_propensity_overlap draws propensity
    # scores; handed raw episode outcomes they say which public function makes their input
    eo = pd.DataFrame({"cohort": ["IOP", "inpatient"] * 3, "milestone_employed": [1, 0] * 3})
    with pytest.raises(MissingColumnError, match=r"outcome_rates\(outcomes, outcome=\['milestone"):
        plots.plot_milestones(eo)
    with pytest.raises(ParameterError, match="propensity_scores"):
        plots.plot_propensity_overlap(eo)
