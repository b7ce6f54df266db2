"""Tests for iopoutcomes.sensitivity (tipping point, delta-adjusted imputation).

References: R (tests/reference/r_sensitivity.py: Newcombe from prop.test's Wilson limits,
Miettinen-Nurminen by numerical maximisation of the restricted likelihood, prop.test's p-value),
the library's interval code called cell by cell, and compare_rates' bounds / using / impute rows.
Tolerances: closed forms 1e-10 relative; the R Miettinen-Nurminen limits come from a numerical
optimize() inside uniroot(), accurate to a few 1e-10 in absolute terms (asserted 1e-9 absolute).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reference import r_sensitivity as R

import iopoutcomes as iop
from iopoutcomes import _ci
from iopoutcomes.exceptions import ParameterError
from iopoutcomes.schema import TIPPING_DELTA_COLUMNS, TIPPING_POINT_COLUMNS
from iopoutcomes.sensitivity import tipping_point

COVARIATES = ["age", "sex", "severity"]  # predictors of the imputation model (issue 20: required)


def small_frame() -> pd.DataFrame:
    """IOP 15/25 observed abstinent + 5 missing; inpatient 10/24 + 4 missing (as the R data)."""
    iop_y = [1.0] * 15 + [0.0] * 10 + [np.nan] * 5
    inp_y = [1.0] * 10 + [0.0] * 14 + [np.nan] * 4
    return pd.DataFrame(
        {"cohort": ["IOP"] * 30 + ["inpatient"] * 28, "abstinent_6mo": iop_y + inp_y}
    )


@pytest.fixture(scope="module")
def sample_outcomes() -> object:
    return iop.episode_outcomes(iop.load_sample())


def test_grid_matches_r() -> None:
    nc = tipping_point(small_frame(), "abstinent_6mo", by="cohort", reference="inpatient")
    tab = nc.to_frame()
    assert tuple(tab.columns) == TIPPING_POINT_COLUMNS
    assert tab["k_group"].tolist() == R.KG and tab["k_reference"].tolist() == R.KR
    assert (tab["m_group"] == 5).all() and (tab["m_reference"] == 4).all()
    np.testing.assert_allclose(tab["diff_ci_low"], R.NEWCOMBE_LOW, rtol=1e-10)
    np.testing.assert_allclose(tab["diff_ci_high"], R.NEWCOMBE_HIGH, rtol=1e-10)
    np.testing.assert_allclose(tab["pvalue"], R.PVALUE, rtol=1e-10)
    np.testing.assert_allclose(tab["diff"], (15 + tab.k_group) / 30 - (10 + tab.k_reference) / 28)
    mn = tipping_point(
        small_frame(),
        "abstinent_6mo",
        by="cohort",
        reference="inpatient",
        interval="miettinen-nurminen",
    ).to_frame()
    np.testing.assert_allclose(mn["diff_ci_low"], R.MN_LOW, rtol=0, atol=1e-9)
    np.testing.assert_allclose(mn["diff_ci_high"], R.MN_HIGH, rtol=0, atol=1e-9)


@pytest.mark.parametrize("interval", ["newcombe", "miettinen-nurminen", "mee"])
def test_grid_matches_cell_by_cell_tables_and_hand_verdicts(interval: str) -> None:
    """Each cell equals the library's interval code on its own completed 2x2 table, and the
    verdict follows the documented interval rule (Farrington-Manning = the Mee interval)."""
    m = 0.10
    tab = tipping_point(
        small_frame(),
        "abstinent_6mo",
        by="cohort",
        reference="inpatient",
        interval=interval,
        margin=m,
    ).to_frame()
    for row in tab.itertuples(index=False):  # a 30-cell test grid
        x1, x0 = 15 + row.k_group, 10 + row.k_reference
        lo, hi = _ci.diff_ci(x1, 30, x0, 28, interval, 0.95)
        assert row.diff_ci_low == lo and row.diff_ci_high == hi
        expected = (
            "superior"
            if lo > 0
            else "equivalent"
            if lo > -m and hi < m
            else "non-inferior"
            if lo > -m
            else "inferior"
            if hi < -m
            else "inconclusive"
        )
        assert row.verdict == expected


@pytest.mark.parametrize("interval", ["newcombe", "miettinen-nurminen"])
def test_corners_equal_the_library_bounds(sample_outcomes: object, interval: str) -> None:
    tp = tipping_point(
        sample_outcomes, "abstinent_6mo", by="cohort", reference="inpatient", interval=interval
    )
    bounds = iop.compare_rates(
        sample_outcomes, "abstinent_6mo", missing="bounds", interval=interval
    ).table.set_index("missing")
    corners = tp.corners()
    pairs = {
        "using": "bounds: all missing unfavourable",
        "all favourable": "bounds: all missing favourable",
        "worst": "bounds: worst case for IOP",
        "best": "bounds: best case for IOP",
    }
    for name, label in pairs.items():
        for col in ("diff", "diff_ci_low", "diff_ci_high"):
            assert corners[name][col] == bounds.loc[label, col], (name, col)
    using = iop.compare_rates(sample_outcomes, "abstinent_6mo", missing="using", interval=interval)
    assert corners["using"]["diff"] == using.table["diff"].iloc[0]
    assert corners["using"]["rate_group"] == using.table["rate"].iloc[0]


def test_coarse_grid_finds_the_exact_boundary(sample_outcomes: object) -> None:
    kw = {"by": "cohort", "reference": "inpatient", "margin": 0.1}
    full = tipping_point(sample_outcomes, "abstinent_6mo", **kw)
    coarse = tipping_point(sample_outcomes, "abstinent_6mo", max_cells=150, **kw)
    assert full.exact and not coarse.exact
    assert len(coarse.to_frame()) < len(full.to_frame()) / 10
    merged = coarse.to_frame().merge(full.to_frame(), on=["k_group", "k_reference"])
    assert len(merged) == len(coarse.to_frame())
    assert (merged["verdict_x"] == merged["verdict_y"]).all()
    a = coarse.tipping_points()
    b = full.tipping_points()
    b = b[b["k_group"].isin(a["k_group"])]
    cols = ["k_group", "k_reference", "verdict_before", "verdict"]
    assert a[cols].to_numpy().tolist() == b[cols].to_numpy().tolist()


def test_tipping_points_and_sentence(sample_outcomes: object) -> None:
    tp = tipping_point(
        sample_outcomes, "abstinent_6mo", by="cohort", reference="inpatient", margin=0.1
    )
    tips = tp.tipping_points()
    assert (tips["verdict"] != tips["verdict_before"]).all()
    # the first change along k_reference for k_group = 0 is the first cell with a new verdict
    tab = tp.to_frame()
    row0 = tab[tab.k_group == 0]
    first = row0[row0.verdict != row0.verdict.iloc[0]].iloc[0]
    assert tips.iloc[0]["k_reference"] == first["k_reference"]
    text = tp.sentence()
    assert text.startswith("Under missing = using the conclusion is: IOP non-inferior")
    # N is the smallest departure among cells where the non-inferiority claim fails
    fails = tab[~tab.verdict.isin(["superior", "equivalent", "non-inferior"])]
    gap = fails.k_group / tp.m_group - fails.k_reference / tp.m_reference
    n_points = round(100 * float(-gap.max()))
    assert f"at least {n_points} points below the missing inpatient clients" in text
    assert "Yan" in tp.methods_text()


def test_delta_zero_reproduces_mar_imputation(sample_outcomes: object) -> None:
    tp = tipping_point(
        sample_outcomes,
        "abstinent_6mo",
        by="cohort",
        reference="inpatient",
        method="delta",
        deltas=[-60.0, -1.0, 0.0, 1.0],
        covariates=COVARIATES,
    )
    tab = tp.to_frame()
    assert tuple(tab.columns) == TIPPING_DELTA_COLUMNS
    mar = iop.compare_rates(
        sample_outcomes, "abstinent_6mo", missing="impute", covariates=COVARIATES
    ).table.iloc[0]
    cell = tab[(tab.delta_group == 0) & (tab.delta_reference == 0)].iloc[0]
    for col in ("diff", "diff_ci_low", "diff_ci_high", "pvalue"):
        assert cell[col] == pytest.approx(mar[col], rel=1e-12), col
    # delta -> -inf imputes every missing outcome as 0: missing = using exactly
    using = iop.compare_rates(sample_outcomes, "abstinent_6mo", missing="using").table.iloc[0]
    low = tab[(tab.delta_group == -60) & (tab.delta_reference == -60)].iloc[0]
    assert low["diff"] == pytest.approx(using["diff"], rel=1e-12)
    # shifting the reference's missing towards abstinence lowers the difference
    at0 = tab[tab.delta_group == 0].sort_values("delta_reference")
    assert np.all(np.diff(at0["diff"].to_numpy()) < 0)
    # compare_rates(missing="impute", delta=...) is the same imputation
    shifted = iop.compare_rates(
        sample_outcomes,
        "abstinent_6mo",
        missing="impute",
        covariates=COVARIATES,
        delta={"IOP": 1.0, "inpatient": -1.0},
    )
    cell = tab[(tab.delta_group == 1) & (tab.delta_reference == -1)].iloc[0]
    assert cell["diff"] == pytest.approx(shifted.table["diff"].iloc[0], rel=1e-12)
    assert any("delta-adjusted" in r for r in shifted.remarks)
    with pytest.raises(ParameterError):
        iop.compare_rates(sample_outcomes, "abstinent_6mo", missing="using", delta=1.0)


def test_true_difference_inside_plausible_region_under_mnar() -> None:
    """Simulated loss to follow-up that depends on abstinence (mnar_strength > 0: abstinent
    clients are reached more often). The true completed-data table (the simulator's own
    outcome for every missing client; the dead count as not abstinent) is one cell of the
    grid, inside the region where missing clients did no better than those followed up."""
    rec = iop.simulate_records(n=1500, seed=7, mnar_strength=1.5, effect_iop_logodds=0.4)
    out = iop.episode_outcomes(rec)
    tp = tipping_point(out, "abstinent_6mo", by="cohort", reference="inpatient")
    frame = out.to_frame().set_index("episode_id")
    truth = rec.truth.full_data
    truth = truth[truth.timepoint == "6mo"].set_index("episode_id")["abstinent_reported"]
    due = frame["followup_due_6mo"].astype(bool)
    miss = frame["abstinent_6mo"].isna() & due
    true_missing = truth.reindex(frame.index[miss]).astype("Float64").fillna(0.0)
    k = true_missing.groupby(frame.loc[miss, "cohort"]).sum()
    kg, kr = int(k["IOP"]), int(k["inpatient"])
    tab = tp.to_frame()
    cell = tab[(tab.k_group == kg) & (tab.k_reference == kr)].iloc[0]
    completed = frame.loc[due, "abstinent_6mo"].astype("Float64").copy()
    completed[miss[due].to_numpy()] = true_missing.to_numpy()
    rates = completed.groupby(frame.loc[due, "cohort"]).mean()
    true_diff = float(rates["IOP"] - rates["inpatient"])
    assert cell["diff"] == pytest.approx(true_diff, rel=1e-12)
    region = tp.plausible_region()
    inside = region[(region.k_group == kg) & (region.k_reference == kr)]
    assert len(inside) == 1
    assert region["diff"].min() <= true_diff <= region["diff"].max()
    # missing = using (the region's corner) is inside it too, and is not the truth
    assert ((region.k_group == 0) & (region.k_reference == 0)).any()
    assert tp.corners()["using"]["diff"] != pytest.approx(true_diff, abs=1e-3)


def test_rendering_plot_and_errors() -> None:
    import matplotlib.pyplot as plt

    tp = tipping_point(small_frame(), "abstinent_6mo", by="cohort", reference="inpatient")
    assert "TippingPoint" in repr(tp) and "<table" in tp._repr_html_()
    fig, ax = plt.subplots()
    tp.plot(ax=ax)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["missing = using", "complete case", "worst case", "best case"]
    # complete case: the observed rates, in percent
    assert ax.get_lines()[1].get_xdata()[0] == pytest.approx(100 * 10 / 24)
    plt.close(fig)
    with pytest.raises(ParameterError):
        tipping_point(small_frame(), "abstinent_6mo", by="cohort", method="nope")  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        tipping_point(small_frame(), "abstinent_6mo", by="cohort", margin=2.0)


def test_lower_is_better_corners_and_sentence() -> None:
    """For relapse (lower is better) missing = using counts the missing as relapsed: the
    (m_group, m_reference) corner; the four corners are compare_rates' bounds rows."""
    f = small_frame().rename(columns={"abstinent_6mo": "relapse_6mo"})
    tp = tipping_point(f, "relapse_6mo", by="cohort", higher_is_better=False, margin=0.15)
    bounds = iop.compare_rates(  # the same interval as the grid (tipping_point's default)
        f, "relapse_6mo", missing="bounds", higher_is_better=False, interval="newcombe"
    ).table.set_index("missing")
    corners = tp.corners()
    assert (int(corners["using"]["k_group"]), int(corners["using"]["k_reference"])) == (5, 4)
    for name, label in {
        "using": "bounds: all missing unfavourable",
        "worst": "bounds: worst case for IOP",
        "best": "bounds: best case for IOP",
    }.items():
        assert corners[name]["diff"] == bounds.loc[label, "diff"]
        assert corners[name]["diff_ci_low"] == bounds.loc[label, "diff_ci_low"]
    assert "had relapsed at a rate" in tp.sentence() or "holds whatever" in tp.sentence()
