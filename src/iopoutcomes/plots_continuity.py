"""Plots of step-down continuity (issue 17): rates per window and time to the first follow-up.

Plots only draw: they take a :class:`~iopoutcomes.continuity.ContinuityResult` (or its rates),
draw on the given Axes with the public matplotlib API and change nothing else.

Examples
--------
>>> import matplotlib.pyplot as plt
>>> import pandas as pd
>>> from types import SimpleNamespace
>>> from iopoutcomes.continuity import continuity_of_care
>>> svc = pd.DataFrame({"patient_id": ["a", "a", "b"],
...     "service_date": pd.to_datetime(["2024-03-01", "2024-03-09", "2024-03-01"]),
...     "service_type": ["residential", "iop", "residential"],
...     "end_date": pd.to_datetime(["2024-03-05", None, "2024-03-05"])})
>>> res = continuity_of_care(SimpleNamespace(episodes=None, services=svc))
>>> fig, ax = plt.subplots()
>>> ax = plot_days_to_follow_up(res, ax=ax)
>>> [line.get_label() for line in ax.get_lines()][:1]
['no episode']
>>> plt.close(fig)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .exceptions import ParameterError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["plot_continuity", "plot_days_to_follow_up", "follow_up_curve"]


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.gca()


def plot_continuity(
    result: Any, *, ax: Axes | None = None, by: str | None = "cohort", **kwargs: Any
) -> Axes:
    """Follow-up rate per window and group, with intervals (``plots.plot_rates``).

    Parameters
    ----------
    result : ContinuityResult or RateTable
        The continuity result (its ``rates(by=by)`` are drawn) or a rate table already made
        (e.g. with small cells suppressed).
    ax : matplotlib Axes, optional
    by : str or None
        Grouping of the rates when ``result`` is a ContinuityResult.
    **kwargs
        Passed to :func:`iopoutcomes.plots.plot_rates`.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from .plots import plot_rates

    rates = result.rates(by=by) if hasattr(result, "discharges") else result
    ax = plot_rates(rates, ax=ax, band=None, **kwargs)
    ax.set_ylabel("Followed up within the window")
    return ax


def follow_up_curve(
    result: Any, by: str | None = "cohort", days: int | None = None
) -> pd.DataFrame:
    """Share of included discharges followed up by each day after discharge.

    Parameters
    ----------
    result : ContinuityResult
    by : str or None
        Grouping column of ``result.discharges`` (None: all).
    days : int, optional
        Last day shown (default twice the longest window).

    Returns
    -------
    pandas.DataFrame
        ``group``, ``day`` (0 .. ``days``), ``n`` (included discharges of the group),
        ``n_events`` (followed up on or before the day), ``rate``.

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> from iopoutcomes.continuity import continuity_of_care
    >>> svc = pd.DataFrame({"patient_id": ["a", "a"],
    ...     "service_date": pd.to_datetime(["2024-03-01", "2024-03-08"]),
    ...     "service_type": ["residential", "iop"],
    ...     "end_date": pd.to_datetime(["2024-03-05", None])})
    >>> c = follow_up_curve(continuity_of_care(SimpleNamespace(services=svc)), by=None, days=4)
    >>> c["n_events"].tolist()
    [0, 0, 0, 1, 1]
    """
    inc = result.included
    last = int(days if days is not None else 2 * max(result.definition.within))
    if last < 0:
        raise ParameterError("days must be 0 or more.")
    groups = inc[by].astype("string").fillna("unknown") if by else pd.Series("all", index=inc.index)
    grid = np.arange(last + 1)
    rows = []
    for label in pd.unique(groups):  # a handful of groups, each vectorised over days
        d = inc.loc[(groups == label).to_numpy(), "days_to_follow_up"]
        values = np.sort(d.dropna().to_numpy(dtype=np.int64))
        followed = np.searchsorted(values, grid, "right")
        n = len(d)
        rows.append(
            pd.DataFrame(
                {
                    "group": str(label),
                    "day": grid,
                    "n": n,
                    "n_events": followed,
                    "rate": followed / n if n else np.nan,
                }
            )
        )
    cols = ["group", "day", "n", "n_events", "rate"]
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)


def plot_days_to_follow_up(
    result: Any,
    *,
    ax: Axes | None = None,
    by: str | None = "cohort",
    days: int | None = None,
    **kwargs: Any,
) -> Axes:
    """Cumulative share followed up by day after discharge, one step line per group.

    The measure's windows are marked with dotted vertical lines. Cumulative shares (not a
    histogram of counts) so that no small count is drawn.

    Parameters
    ----------
    result : ContinuityResult or pandas.DataFrame
        A result, or a :func:`follow_up_curve` table (e.g. with small groups removed).
    ax : matplotlib Axes, optional
    by : str or None
        Grouping (``"cohort"``, ``"index_type"``, ``"site"``; None: all).
    days : int, optional
        Last day shown (default twice the longest window).
    **kwargs
        Passed to ``Axes.step``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    windows: tuple[int, ...] = ()
    if isinstance(result, pd.DataFrame):
        curve = result
    else:
        curve = follow_up_curve(result, by=by, days=days)
        windows = tuple(result.definition.within)
    for label, g in curve.groupby("group", sort=False):
        ax.step(g["day"], g["rate"], where="post", label=str(label), **kwargs)
    for w in windows:
        ax.axvline(w, linestyle=":", linewidth=1, color="0.4")
    ax.set_ylim(0, 1)
    ax.set_xlabel("Days after discharge (day 0 = discharge day)")
    ax.set_ylabel("Share with a follow-up by that day")
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    if curve["group"].nunique() > 1:
        ax.legend(frameon=False)
    return ax
