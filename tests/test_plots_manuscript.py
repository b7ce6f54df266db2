"""Tests for the figure fixes of issue 22: figures made without ``ax=`` keep every label and the
number-at-risk table inside the figure after a plain ``savefig`` (measured: the tight bounding
box of everything drawn lies within the figure), ratio ticks are plain numbers, forest rows name
the outcome once per block with a legend, and the new subgroup, flow and overlap figures."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import pytest

import iopoutcomes as iop
from iopoutcomes import plots
from iopoutcomes.robustness import propensity_scores, subgroup_analysis


@pytest.fixture(scope="module")
def out() -> iop.EpisodeOutcomes:
    return iop.episode_outcomes(iop.load_sample())


@pytest.fixture(scope="module")
def cmp(out):  # type: ignore[no-untyped-def]
    return iop.compare_rates(out, adjust=["age", "severity"], margin=0.1)


def inside_after_savefig(fig) -> tuple[bool, tuple[float, ...], tuple[float, float]]:  # type: ignore[no-untyped-def]
    """Save with a plain savefig (no bbox_inches), then measure what was drawn."""
    fig.savefig(io.BytesIO(), format="png")
    box = fig.get_tightbbox(fig.canvas.get_renderer())  # inches, only drawn artists
    w, h = (float(v) for v in fig.get_size_inches())
    tol = 1 / fig.dpi  # one pixel
    ok = box.x0 >= -tol and box.y0 >= -tol and box.x1 <= w + tol and box.y1 <= h + tol
    return ok, (box.x0, box.y0, box.x1, box.y1), (w, h)


def _fresh() -> None:
    plt.close("all")


def test_km_at_risk_table_survives_plain_savefig(out) -> None:  # type: ignore[no-untyped-def]
    _fresh()
    ax = iop.time_to_relapse(out).plot()
    ok, box, size = inside_after_savefig(ax.figure)
    assert ok, (box, size)
    texts = [t.get_text() for t in ax.texts]
    assert "Number at risk" in texts
    plt.close("all")


@pytest.mark.parametrize("measure", ["diff", "ratio"])
def test_comparison_labels_and_verdicts_inside(cmp, measure: str) -> None:  # type: ignore[no-untyped-def]
    _fresh()
    ax = cmp.plot(measure=measure)
    ok, box, size = inside_after_savefig(ax.figure)
    assert ok, (box, size)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert not any("$" in t or "mathdefault" in t for t in ticks)
    if measure == "ratio":
        assert "1" in ticks
    labels = [t.get_text() for t in ax.get_yticklabels()]
    # the outcome is named once per contrast block; analyses without double parentheses
    assert sum("Abstinent" in lab for lab in labels) == 1
    assert not any("((" in lab or "))" in lab or "(adjusted (" in lab for lab in labels)
    assert any("adjusted: g-computation" in lab for lab in labels)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("95% CI" in t for t in legend)
    if measure == "diff":  # the margin is on the difference scale
        assert any("margin" in t for t in legend) and any("90% interval" in t for t in legend)
    plt.close("all")


def test_balance_plot_xlabel_inside(cmp) -> None:  # type: ignore[no-untyped-def]
    _fresh()
    ax = plots.plot_balance(cmp)
    ok, box, size = inside_after_savefig(ax.figure)
    assert ok, (box, size)
    plt.close("all")


def test_new_figures_fit(out) -> None:  # type: ignore[no-untyped-def]
    for draw in (
        lambda: subgroup_analysis(
            out, "abstinent_6mo", subgroups=["sex", "primary_substance"], margin=0.1
        ).plot(),  # fmt: skip
        lambda: plots.plot_flow_diagram(iop.cascade_counts(out)),
        lambda: plots.plot_propensity_overlap(propensity_scores(out, adjust=["age", "severity"])),
    ):
        _fresh()
        ax = draw()
        ok, box, size = inside_after_savefig(ax.figure)
        assert ok, (box, size)
    plt.close("all")


def test_flow_diagram_counts_match_cascade(out) -> None:  # type: ignore[no-untyped-def]
    _fresh()
    ax = plots.plot_flow_diagram(iop.cascade_counts(out))
    counts = iop.cascade_counts(out).pivot(index="cohort", columns="stage", values="n")
    texts = " | ".join(t.get_text() for t in ax.texts)
    for cohort in counts.index:
        row = counts.loc[cohort]
        assert f"Admitted\nn = {row['episodes']}" in texts
        assert f"window not yet closed: {row['discharged'] - row['follow-up due']}" in texts
    plt.close("all")


def test_propensity_scores_match_logistic_fit(out) -> None:  # type: ignore[no-untyped-def]
    import numpy as np
    import statsmodels.formula.api as smf

    ps = propensity_scores(out, adjust=["age", "severity"])
    f = out.to_frame().assign(t=lambda d: (d["cohort"] == "IOP").astype(float))
    fit = smf.logit("t ~ age + severity", data=f).fit(disp=0)
    np.testing.assert_allclose(ps["propensity"], fit.predict(f.loc[ps.index]), rtol=1e-6)


def test_fit_figure_leaves_own_axes_alone(out) -> None:  # type: ignore[no-untyped-def]
    fig, ax = plt.subplots(figsize=(5, 3))
    iop.time_to_relapse(out).plot(ax=ax)
    assert tuple(fig.get_size_inches()) == (5.0, 3.0)  # the caller's figure is not resized
    plots.fit_figure(fig)
    ok, box, size = inside_after_savefig(fig)
    assert ok, (box, size)
    plt.close(fig)
