"""Plots of a :class:`~iopoutcomes.cea.CostEffectiveness` result.

Both functions only draw: they read the result, draw on ``ax`` (default ``plt.gca()``) with the
public matplotlib API, change nothing else and return the Axes. No episode-level values are
drawn: the cloud is of bootstrap replicates of group differences.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> import numpy as np, pandas as pd
>>> from iopoutcomes.cea import cost_effectiveness
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"cohort": ["IOP"] * 200 + ["inpatient"] * 200,
...                    "abstinent_6mo": rng.random(400) < 0.5,
...                    "cost": rng.gamma(2, 3000, 400)})
>>> ce = cost_effectiveness(df, n_boot=200, wtp=10000)
>>> fig, (a1, a2) = plt.subplots(1, 2)
>>> plot_ce_plane(ce, ax=a1) is a1, plot_ceac(ce, ax=a2) is a2
(True, True)
>>> plt.close(fig)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["plot_ce_plane", "plot_ceac"]


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.gca()


def plot_ce_plane(
    result: Any, ax: Axes | None = None, *, max_points: int = 2000, **kwargs: Any
) -> Axes:
    """Cost-effectiveness plane: bootstrap cloud of (difference in effect, difference in cost)
    per group, the point estimates, and the willingness-to-pay line ``cost = wtp x effect``.

    Parameters
    ----------
    result : CostEffectiveness
    ax : matplotlib Axes, optional
    max_points : int
        Replicates drawn per group (the first ``max_points``).
    **kwargs
        Passed to ``Axes.scatter`` of the cloud.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    pct_scale = 100.0
    style = {"s": 4, "alpha": 0.3, "linewidths": 0} | kwargs
    for g, reps in result.replicates.groupby("group", sort=False):
        reps = reps.head(max_points)
        ax.scatter(pct_scale * reps["diff"], reps["diff_cost"], label=f"{g!s} replicates", **style)
    table = result.table
    ax.scatter(
        pct_scale * table["diff"], table["diff_cost"], marker="x", color="black", s=40,
        label="estimate", zorder=3,
    )  # fmt: skip
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.axvline(0.0, color="grey", linewidth=0.8)
    if result.wtp is not None:
        lim = np.nanmax(np.abs(pct_scale * result.replicates["diff"].to_numpy(float)))
        xs = np.array([-lim, lim])
        ax.plot(xs, result.wtp * xs / pct_scale, linestyle="--", color="black", linewidth=1,
                label=f"willingness to pay {result.wtp:,.0f}")  # fmt: skip
    ax.set_xlabel(f"Difference in {result.outcome} (percentage points) vs {result.reference!s}")
    year = f" ({result.currency} {result.price_year})" if result.price_year else ""
    ax.set_ylabel(f"Difference in mean cost per episode{year}")
    ax.set_title("Cost-effectiveness plane")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_ceac(result: Any, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Cost-effectiveness acceptability curve: share of bootstrap replicates in which each
    group is cost-effective against the reference, by willingness to pay.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    for g, part in result.ceac.groupby("group", sort=False):
        ax.plot(part["wtp"], part["prob_cost_effective"], label=f"{g!s} vs {result.reference!s}",
                **kwargs)  # fmt: skip
    if result.wtp is not None:
        ax.axvline(result.wtp, color="grey", linestyle="--", linewidth=0.8)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel(f"Willingness to pay per additional client with {result.outcome}")
    ax.set_ylabel("Probability cost-effective")
    ax.set_title("Cost-effectiveness acceptability curve")
    ax.legend(loc="best", fontsize="small")
    return ax
