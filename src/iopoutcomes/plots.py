"""Figures for papers and reports: every result draws itself on a matplotlib Axes you own.

Each ``plot_*`` function takes a result (or a tidy DataFrame with the documented columns),
draws on ``ax`` (default: ``plt.gca()``) and returns that Axes. Conventions:

* matplotlib is imported inside the functions only, so ``import iopoutcomes.plots`` stays light
  and headless; no ``plt.show()``, no rcParams or style changes.
* Intervals are drawn from the numbers in the result (``ci_low``/``ci_high`` and the like),
  never recomputed here.
* Labels come from the result's outcome definition (``definition.describe(outcome)``) when it
  has one; rate axes are in percent; group sizes appear in tick labels, legends or
  annotations.
* Okabe-Ito colours, and markers, line styles and hatches that differ too, so every figure
  reads in greyscale.
* No identifiers: patients in the calendar heatmap are "patient 1..k". Suppressed values
  (``suppressed`` True, or missing) are never drawn; a grey "suppressed" note marks the gap.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> import pandas as pd
>>> from iopoutcomes.plots import plot_balance
>>> bal = pd.DataFrame({"covariate": ["age", "female"], "smd_unweighted": [0.3, -0.15],
...                     "smd_weighted": [0.04, -0.02]})
>>> fig, ax = plt.subplots()
>>> plot_balance(bal, ax=ax) is ax
True
>>> plt.close(fig)
"""

from __future__ import annotations

import functools
import re
import textwrap
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

import numpy as np
import pandas as pd

from ._validate import default_reference
from .definitions import (
    CASCADE_STAGES,
    DAYS_PER_MONTH,
    MISSING_RULES_ANALYSING_EVERY_ELIGIBLE,
    parse_timepoint,
    timepoint_text,
)
from .exceptions import InsufficientDataError, MissingColumnError, ParameterError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "OKABE_ITO",
    "plot_balance",
    "plot_comparison",
    "plot_followup_cascade",
    "plot_funnel",
    "plot_km",
    "plot_milestones",
    "plot_milestones_distribution",
    "plot_rates",
    "plot_rates_over_time",
    "plot_reliable_change",
    "plot_spc",
    "plot_use_calendar",
    "fit_figure",
    "plot_subgroups",
    "plot_flow_diagram",
    "plot_propensity_overlap",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _texts_before(ax: Any) -> tuple[Any, list[Any], set[int]]:
    """The figure a plot will draw on (when it exists already), its Axes and its Text objects.

    With ``ax=None`` the plot draws on pyplot's current figure, if there is one; it is only
    looked at here (no figure is created).
    """
    from matplotlib.text import Text

    figure = ax.get_figure() if ax is not None else None
    if figure is None and ax is None:
        import matplotlib.pyplot as plt

        figure = plt.gcf() if plt.get_fignums() else None
    if figure is None:
        return None, [], set()
    return figure, list(figure.axes), {id(t) for t in figure.findobj(Text)}


def _literal_text(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Draw the plot's own texts literally: site and cohort names come from the data, and a
    pair of ``$`` in a name would otherwise be parsed as mathtext (and may fail to parse).

    Only the texts the plot made (and those of the Axes it drew on, which it owns) are set to
    ``parse_math=False``; every other text of the figure, e.g. a ``$\alpha$`` title on another
    subplot, and the global rcParams stay as they were.
    """

    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        import matplotlib
        from matplotlib.text import Text

        figure_before, axes_before, texts_before = _texts_before(kwargs.get("ax"))
        # texts created while the plot runs start literal, so a layout pass inside it never
        # parses a name; rc_context restores the rcParams on the way out
        with matplotlib.rc_context({"text.parse_math": False}):
            result = function(*args, **kwargs)
        figure = getattr(result, "figure", None)
        if figure is not None:
            if figure is not figure_before:
                axes_before, texts_before = [], set()
            owned = [result] + [a for a in figure.axes if a not in axes_before]
            for axes in owned:  # materialise the tick labels drawn from the data
                axes.get_xticklabels()
                axes.get_yticklabels()
            own = {id(t) for axes in owned for t in axes.findobj(Text)}
            for text in figure.findobj(Text):
                if id(text) in own or id(text) not in texts_before:
                    text.set_parse_math(False)
            if kwargs.get("ax") is None:  # pyplot's figure: size it so savefig keeps every label
                fit_figure(figure)
        return result

    return wrapper


def fit_figure(figure: Any, pad: float = 0.08) -> Any:
    """Grow a figure so that every label, legend and table drawn outside its Axes lies inside
    the figure, keeping the Axes' size in inches: a plain ``savefig`` then clips nothing.

    The plotting functions call it on the figures they create (no ``ax=`` given); call it on
    your own figure after adding text outside the Axes. The figure's layout engine is switched
    off afterwards so the Axes stay where they were placed.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    pad : float
        Margin in inches kept around the outermost artist.

    Returns
    -------
    matplotlib.figure.Figure
        The same figure.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(figsize=(3, 2))
    >>> _ = ax.text(-0.5, -0.5, "far outside", transform=ax.transAxes)
    >>> w0 = fig.get_size_inches()[0]
    >>> bool(fit_figure(fig).get_size_inches()[0] > w0)
    True
    >>> plt.close(fig)
    """
    _laid_out(figure)
    width, height = (float(v) for v in figure.get_size_inches())
    box = figure.get_tightbbox()  # inches
    left = max(0.0, -box.x0 + pad)
    bottom = max(0.0, -box.y0 + pad)
    right = max(0.0, box.x1 - width + pad)
    top = max(0.0, box.y1 - height + pad)
    if max(left, bottom, right, top) <= pad + 1e-9 and box.x0 >= 0 and box.y0 >= 0:
        if box.x1 <= width and box.y1 <= height:
            return figure
    positions = [(axes, axes.get_position()) for axes in figure.axes]
    if figure.get_layout_engine() is not None:
        figure.set_layout_engine("none")
    new_w, new_h = width + left + right, height + bottom + top
    figure.set_size_inches(new_w, new_h)
    for axes, pos in positions:  # keep each Axes' size and place in inches
        axes.set_position(
            [
                (pos.x0 * width + left) / new_w,
                (pos.y0 * height + bottom) / new_h,
                pos.width * width / new_w,
                pos.height * height / new_h,
            ]
        )
    return figure


OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
"""Okabe & Ito (2008) colour-blind-safe palette, ordered so neighbours differ in lightness."""

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_LINESTYLES = ("-", "--", ":", "-.")
_HATCHES = ("", "//", "..", "xx", "\\\\", "++", "oo", "--")
_GREY = "#6E6E6E"
_SIGNAL = "#D55E00"


_DEFAULT = "default"


# --- shared helpers ----------------------------------------------------------------------------


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.gca()


def _style(i: int) -> dict[str, Any]:
    return {
        "color": OKABE_ITO[i % len(OKABE_ITO)],
        "marker": _MARKERS[i % len(_MARKERS)],
        "linestyle": _LINESTYLES[i % len(_LINESTYLES)],
        "hatch": _HATCHES[i % len(_HATCHES)],
    }


def _percent_axis(axis: Any) -> None:
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))


def _frame(result: Any, where: str) -> pd.DataFrame:
    if isinstance(result, pd.DataFrame):
        return result.copy()
    to_frame = getattr(result, "to_frame", None)
    if callable(to_frame):
        frame = to_frame()
        if isinstance(frame, pd.DataFrame):
            return frame
    raise ParameterError(
        f"{where} needs a result with to_frame() or a pandas DataFrame; "
        f"got {type(result).__name__}."
    )


def _require(frame: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnError(
            f"{where}: columns {missing} are missing. Found: {list(frame.columns)}."
        )


def _num(values: Any) -> np.ndarray:
    """Float array with NaN for missing (works for nullable Int64/Float64 too)."""
    series = pd.Series(values)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _hidden(frame: pd.DataFrame, *value_columns: str) -> np.ndarray:
    """Rows never drawn: ``suppressed`` True or any value column missing."""
    hidden = np.zeros(len(frame), dtype=bool)
    if "suppressed" in frame.columns:
        hidden |= frame["suppressed"].fillna(False).to_numpy(dtype=bool)
    for c in value_columns:
        hidden |= ~np.isfinite(_num(frame[c]))
    return hidden


def _n_text(n: float, prefix: str = "n = ") -> str:
    return f"{prefix}{int(n):,}" if np.isfinite(n) else "n suppressed"


def _group_column(frame: pd.DataFrame) -> str:
    for c in ("group", "cohort"):
        if c in frame.columns:
            return c
    raise MissingColumnError(
        f"No group column ('group' or 'cohort') found. Found: {list(frame.columns)}."
    )


def _ordered(values: pd.Series) -> list[Any]:
    return list(pd.unique(values.dropna()))


def _timepoint_months(tp: Any) -> float:
    parsed = parse_timepoint(tp)
    if parsed is not None:
        return float(parsed[0]) * (1.0 if parsed[1] == "mo" else 7 / DAYS_PER_MONTH)
    return {"intake": 0.0, "discharge": np.nan}.get(str(tp), np.nan)


def _outcome_text(result: Any, outcome: Any, *, short: bool = False) -> str:
    """Axis text for an outcome from the result's definition (getattr fallbacks).

    ``describe(outcome)`` (label plus the missing-data rule) by default; ``label(outcome)``
    first when ``short``.
    """
    definition = getattr(result, "definition", None)
    for method in ("label", "describe") if short else ("describe", "label"):
        func = getattr(definition, method, None)
        if callable(func) and outcome is not None:
            try:
                text = func(str(outcome))
            except (TypeError, ValueError, KeyError):
                continue
            if isinstance(text, str) and text:
                return text
    label = getattr(result, "label", None)
    if isinstance(label, str) and label:
        return label
    return str(outcome).replace("_", " ") if outcome is not None else "Rate"


def _wrap(text: str, width: int = 55) -> str:
    return textwrap.fill(text, width)


def _note_suppressed(ax: Axes, x: float, *, horizontal: bool = False) -> None:
    from matplotlib.transforms import blended_transform_factory

    if horizontal:
        trans = blended_transform_factory(ax.transAxes, ax.transData)
        ax.text(
            0.01,
            x,
            "suppressed",
            transform=trans,
            color=_GREY,
            fontsize="small",
            va="center",
            ha="left",
            style="italic",
        )
    else:
        trans = blended_transform_factory(ax.transData, ax.transAxes)
        ax.text(
            x,
            0.03,
            "suppressed",
            transform=trans,
            color=_GREY,
            fontsize="small",
            ha="center",
            va="bottom",
            rotation=90,
            style="italic",
        )


def _yerr(rate: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.vstack([np.clip(rate - low, 0, None), np.clip(high - rate, 0, None)])


# --- 1. rates by cohort ------------------------------------------------------------------------


def _marker_half_height(n_groups: int, markersize: float) -> float:
    """Largest half-height (points) of the markers of the first ``n_groups`` styles, with edge."""
    from matplotlib import rcParams
    from matplotlib.markers import MarkerStyle

    half = 0.0
    for gi in range(max(n_groups, 1)):  # a handful of groups
        style = MarkerStyle(_style(gi)["marker"])
        box = style.get_path().transformed(style.get_transform()).get_extents()
        half = max(half, markersize * max(abs(box.y0), abs(box.y1)))
    return half + float(rcParams["lines.markeredgewidth"]) / 2


def _n_labels(
    ax: Axes,
    group_values: pd.Series,
    groups: Sequence[Any],
    cell_index: np.ndarray,
    x: np.ndarray,
    n: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    hidden: np.ndarray,
    colors: Sequence[str] | None = None,
    markersize: float = 7.0,
) -> list[Any]:
    """Put "n=..." under each point, stacked so that no two labels can overlap.

    Within an x cell (rows with the same ``cell_index``; ``x`` is each row's point) every label
    hangs from the same height (under the cell's lowest interval, or over its highest when that
    is too close to 0%) and group ``k`` sits ``k`` text lines further out, so the labels of one
    cell are on different lines at any figure size and clear of every interval and marker of
    the cell (the first line starts 2 points beyond the largest marker's half-height, markers
    of ``markersize`` points); each is centred under its group's point, in ``colors[k]``
    (default grey). Returns the annotations.
    """
    from matplotlib.font_manager import FontProperties

    made: list[Any] = []
    step = 1.45 * FontProperties(size="x-small").get_size_in_points()
    clearance = max(3.0, _marker_half_height(len(groups), markersize) + 2.0)
    gv = group_values.to_numpy(dtype=object)
    for c in np.unique(cell_index):  # a handful of cells
        in_cell = (cell_index == c) & ~hidden
        if not in_cell.any():
            continue
        bottom = float(np.nanmin(low[in_cell]))
        above = bottom < 0.12  # too close to the x axis: stack over the highest interval
        anchor = float(np.nanmax(high[in_cell])) if above else bottom
        for gi, group in enumerate(groups):
            rows = np.flatnonzero(in_cell & (gv == group))
            if rows.size == 0:
                continue
            offset = clearance + gi * step
            made.append(
                ax.annotate(
                    _n_text(n[rows[0]], "n="),
                    (float(x[rows[0]]), anchor),
                    xytext=(0, offset if above else -offset),
                    textcoords="offset points",
                    ha="center",
                    va="bottom" if above else "top",
                    fontsize="x-small",
                    color=_GREY if colors is None else colors[gi],
                )
            )
    return made


def _fit_x_to_labels(ax: Axes, labels: Sequence[Any]) -> None:
    """Widen the x limits (never narrow them) so that every centred label ends inside the Axes.

    Label half-widths are measured in pixels with the figure's renderer after a layout pass
    (without the labels, as :func:`_fit_bar_labels`); with ``s`` data units per pixel the
    limits must reach ``x_i -/+ h_i s`` for every label, and ``s`` itself depends on the
    limits: the fixed point is found by iteration (a contraction while the labels together are
    narrower than the Axes).
    """
    figure = ax.get_figure()
    if not labels or figure is None:
        return
    for label in labels:
        label.set_in_layout(False)
    _laid_out(figure)
    for label in labels:
        label.set_in_layout(True)
    width = ax.get_window_extent().width
    pad = 2.0 * figure.dpi / 72  # a little air between a label and the frame
    half = np.array([label.get_window_extent().width / 2 + pad for label in labels])
    x = np.array([float(label.xy[0]) for label in labels])
    ok = np.isfinite(x) & np.isfinite(half)
    if width <= 0 or not ok.any() or 2 * half[ok].max() >= width:
        return
    x, half = x[ok], half[ok]
    lo, hi = ax.get_xlim()
    for _ in range(50):  # converges geometrically; a few steps in practice
        s = (hi - lo) / width
        new_lo, new_hi = min(lo, float(np.min(x - half * s))), max(hi, float(np.max(x + half * s)))
        if max(lo - new_lo, new_hi - hi) <= 1e-9 * (hi - lo):
            lo, hi = new_lo, new_hi
            break
        lo, hi = new_lo, new_hi
    ax.set_xlim(lo, hi)


@_literal_text
def plot_rates(
    rate_table: Any,
    *,
    ax: Axes | None = None,
    band: Any = _DEFAULT,
    target: float | Any | None = None,
    **kwargs: Any,
) -> Axes:
    """Rates by cohort (and timepoint) with their intervals and the literature band.

    Parameters
    ----------
    rate_table : RateTable or pandas.DataFrame
        Columns ``group`` (or ``cohort``), ``rate``, ``ci_low``, ``ci_high``, ``n``; optional
        ``outcome``, ``timepoint``, ``suppressed``. A ``definition`` attribute labels the axis.
    ax : matplotlib Axes, optional
        Where to draw (default: the current Axes).
    band : Benchmark or None, optional
        Literature band shaded behind the points, labelled with its source. Default: McCarty
        et al. 2014 (50-70% abstinent at first follow-up) when the outcomes are abstinence
        outcomes, nothing otherwise. ``None`` hides it.
    target : float or Benchmark, optional
        A target drawn as a dashed line (e.g. 0.8).
    **kwargs
        Passed to ``Axes.errorbar`` for every group.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on: one errorbar container per group (label = group name).

    Notes
    -----
    With one outcome and timepoint the groups are on the x axis with "n = ..." under each name;
    with several, the (outcome, timepoint) cells are on the x axis, groups side by side, and
    each point carries its n. Rows that are suppressed are not drawn.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd
    >>> t = pd.DataFrame({"group": ["IOP", "inpatient"], "outcome": "abstinent_6mo",
    ...                   "timepoint": "6mo", "n": [120, 95], "n_events": [70, 52],
    ...                   "rate": [0.583, 0.547], "ci_low": [0.494, 0.447],
    ...                   "ci_high": [0.667, 0.644]})
    >>> fig, ax = plt.subplots()
    >>> [t.get_text() for t in plot_rates(t, ax=ax).get_xticklabels()]
    ['IOP\\nn = 120', 'inpatient\\nn = 95']
    >>> plt.close(fig)
    """
    ax = _axes(ax)
    frame = _frame(rate_table, "plot_rates")
    gcol = _group_column(frame)
    _require(frame, ("rate", "ci_low", "ci_high", "n"), "plot_rates")
    outcome = frame["outcome"] if "outcome" in frame else pd.Series([None] * len(frame))
    timepoint = frame["timepoint"] if "timepoint" in frame else pd.Series([None] * len(frame))
    cell = list(zip(outcome.astype(object), timepoint.astype(object), strict=True))
    cells = list(dict.fromkeys(cell))
    cell_index = np.array([cells.index(c) for c in cell])
    groups = _ordered(frame[gcol])
    rate, low, high, n = (_num(frame[c]) for c in ("rate", "ci_low", "ci_high", "n"))
    hidden = _hidden(frame, "rate", "ci_low", "ci_high")
    single = len(cells) == 1
    width = 0.0 if single else min(0.6 / max(len(groups), 1), 0.2)
    for gi, group in enumerate(groups):
        sel = (frame[gcol] == group).to_numpy()
        if single:
            x = np.full(len(frame), float(gi))
        else:
            x = cell_index + (gi - (len(groups) - 1) / 2) * width
        show = sel & ~hidden
        st = _style(gi)
        ax.errorbar(
            np.asarray(x)[show],
            rate[show],
            yerr=_yerr(rate[show], low[show], high[show]),
            fmt=st["marker"],
            color=st["color"],
            capsize=4,
            markersize=7,
            linestyle="none",
            label=str(group),
            **kwargs,
        )
        for xi in np.asarray(x)[sel & hidden]:
            _note_suppressed(ax, float(xi))
    if not single:
        offsets = frame[gcol].map({g: i for i, g in enumerate(groups)}).to_numpy(dtype=float)
        x_points = cell_index + (offsets - (len(groups) - 1) / 2) * width
        _n_labels(ax, frame[gcol], groups, cell_index, x_points, n, low, high, hidden)
    if single:
        ticks = []
        for group in groups:
            ni = n[(frame[gcol] == group).to_numpy()]
            ticks.append(f"{group}\n{_n_text(ni[0] if ni.size else np.nan)}")
        ax.set_xticks(np.arange(len(groups)), ticks)
        ax.set_xlim(-0.6, len(groups) - 0.4)
    else:
        labels = []
        multi_outcome = len({c[0] for c in cells}) > 1
        for out, tp in cells:
            tp_text = timepoint_text(tp) if tp is not None else ""
            labels.append(
                _wrap(f"{_outcome_text(rate_table, out)}" if multi_outcome else tp_text, 18)
            )
        ax.set_xticks(np.arange(len(cells)), labels)
        ax.set_xlim(-0.6, len(cells) - 0.4)
        ax.legend(title=gcol.capitalize(), frameon=False, loc="upper right")
    outcomes = {c[0] for c in cells}
    if band == _DEFAULT:
        band = None
        if outcomes and all(str(o).startswith("abstinent") for o in outcomes):
            from .benchmarks import MCCARTY_2014

            band = MCCARTY_2014
    if band is not None:
        lo_b, hi_b = float(band.low), float(band.high)
        source = f"{getattr(band, 'name', 'benchmark')}: {lo_b:.0%}–{hi_b:.0%}"
        measure = getattr(band, "measure", "")
        text = f"{source} {measure}".strip()
        if hi_b > lo_b:
            ax.axhspan(
                lo_b,
                hi_b,
                color=OKABE_ITO[5],
                alpha=0.18,
                hatch="//",
                linewidth=0,
                zorder=0,
                label=text,
            )
        else:
            ax.axhline(lo_b, color=_GREY, linestyle=":", zorder=0, label=text)
        ax.text(
            0.01,
            hi_b,
            _wrap(text, 60),
            transform=ax.get_yaxis_transform(),
            fontsize="x-small",
            color=_GREY,
            va="bottom",
            ha="left",
        )
    if target is not None:
        value = float(getattr(target, "low", target))
        ax.axhline(value, color="black", linestyle="--", linewidth=1, label=f"Target {value:.0%}")
        ax.text(
            0.99,
            value,
            f"target {value:.0%}",
            transform=ax.get_yaxis_transform(),
            fontsize="x-small",
            ha="right",
            va="bottom",
        )
    ax.set_ylim(0, 1)
    _percent_axis(ax.yaxis)
    ylabel = _outcome_text(rate_table, next(iter(outcomes))) if len(outcomes) == 1 else "Rate"
    ax.set_ylabel(_wrap(ylabel + " (%)", 50))
    return ax


# --- 2. comparison / forest plot ---------------------------------------------------------------


@_literal_text
def plot_comparison(
    comparison: Any,
    *,
    ax: Axes | None = None,
    measure: Literal["diff", "ratio"] = "diff",
    **kwargs: Any,
) -> Axes:
    """Forest plot of differences (or ratios) with intervals, margin and verdict per row.

    Parameters
    ----------
    comparison : Comparison or pandas.DataFrame
        Columns ``outcome``, ``group``, ``reference``, ``n``, ``n_ref`` and, for
        ``measure="diff"``, ``diff``, ``diff_ci_low``, ``diff_ci_high`` (``ratio...`` for
        ratios); optional ``analysis``, ``margin``, ``verdict``, ``equivalence_ci_low`` and
        ``equivalence_ci_high``, ``suppressed``.
    ax : matplotlib Axes, optional
        Where to draw.
    measure : {"diff", "ratio"}
        Risk difference (percentage points, zero line) or risk ratio (log axis, line at one).
    **kwargs
        Passed to ``Axes.errorbar``.

    Returns
    -------
    matplotlib.axes.Axes
        One errorbar container per row, top to bottom in table order; the row labels are the
        y tick labels, the verdicts are text at the right edge.

    Notes
    -----
    With a ``margin`` (difference scale) the equivalence region ``[-|margin|, |margin|]`` is
    shaded and, when given, the equivalence interval (e.g. 90% for two one-sided tests) is
    drawn as a thick bar under the 95% interval.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd
    >>> c = pd.DataFrame({"outcome": ["abstinent_6mo"], "group": ["IOP"],
    ...                   "reference": ["inpatient"], "n": [120], "n_ref": [95],
    ...                   "diff": [0.036], "diff_ci_low": [-0.097], "diff_ci_high": [0.167]})
    >>> fig, ax = plt.subplots()
    >>> len(plot_comparison(c, ax=ax).containers)
    1
    >>> plt.close(fig)
    """
    if measure not in ("diff", "ratio"):
        raise ParameterError(
            f"plot_comparison: measure must be 'diff' or 'ratio'; got {measure!r}."
        )
    ax = _axes(ax)
    frame = _frame(comparison, "plot_comparison").reset_index(drop=True)
    cols = (measure, f"{measure}_ci_low", f"{measure}_ci_high")
    _require(frame, ("outcome", "group", "reference", *cols), "plot_comparison")
    est, low, high = (_num(frame[c]) for c in cols)
    hidden = _hidden(frame, *cols)
    k = len(frame)
    y = np.arange(k)[::-1].astype(float)
    show_analysis = "analysis" in frame and frame["analysis"].nunique(dropna=True) > 1
    n = _num(frame["n"]) if "n" in frame else np.full(k, np.nan)
    n_ref = _num(frame["n_ref"]) if "n_ref" in frame else np.full(k, np.nan)
    labels = []
    previous: tuple[Any, Any, Any] | None = None
    for i in range(k):
        out_text = _outcome_text(comparison, frame["outcome"].iloc[i], short=True)
        contrast = f"{frame['group'].iloc[i]} vs {frame['reference'].iloc[i]}"
        key = (frame["outcome"].iloc[i], frame["group"].iloc[i], frame["reference"].iloc[i])
        # the outcome and contrast once per block; the analysis names the later rows
        text = "" if key == previous else f"{_wrap(out_text, 45)}\n{contrast}"
        previous = key
        if show_analysis:
            analysis = str(frame["analysis"].iloc[i]).replace(" (", ": ").rstrip(")")
            text += ("\n" if text else "") + analysis
        if np.isfinite(n[i]) or np.isfinite(n_ref[i]):
            text += f" (n = {_n_text(n[i], '')} vs {_n_text(n_ref[i], '')})"
        labels.append(text)
    margin = _num(frame["margin"]) if "margin" in frame else np.full(k, np.nan)
    if measure == "diff" and np.isfinite(margin).any():
        m = float(np.nanmax(np.abs(margin)))
        ax.axvspan(
            -m,
            m,
            color=OKABE_ITO[2],
            alpha=0.15,
            hatch="..",
            linewidth=0,
            zorder=0,
            label=f"Equivalence margin ±{m * 100:g} points",
        )
    if {"equivalence_ci_low", "equivalence_ci_high"} <= set(frame.columns) and measure == "diff":
        elo, ehi = _num(frame["equivalence_ci_low"]), _num(frame["equivalence_ci_high"])
        ok = ~hidden & np.isfinite(elo) & np.isfinite(ehi)
        ax.hlines(
            y[ok],
            elo[ok],
            ehi[ok],
            color=OKABE_ITO[5],
            linewidth=6,
            alpha=0.6,
            zorder=1,
            label=f"{_equivalence_level(frame)} interval (equivalence test)",
        )
    for i in range(k):
        if hidden[i]:
            _note_suppressed(ax, y[i], horizontal=True)
            continue
        st = _style(0)
        ax.errorbar(
            [est[i]],
            [y[i]],
            xerr=_yerr(est[i : i + 1], low[i : i + 1], high[i : i + 1]),
            fmt=st["marker"],
            color=st["color"],
            capsize=4,
            markersize=7,
            zorder=2,
            label=f"Estimate, {_ci_level(frame)} CI"
            if i == int(np.argmin(hidden))
            else "_nolegend_",
            **kwargs,
        )
    null = 0.0 if measure == "diff" else 1.0
    ax.axvline(null, color="black", linewidth=1, zorder=1)
    if "verdict" in frame:
        for i in range(k):
            verdict = frame["verdict"].iloc[i]
            if isinstance(verdict, str) and verdict and not hidden[i]:
                ax.text(
                    1.01,
                    y[i],
                    verdict,
                    transform=ax.get_yaxis_transform(),
                    va="center",
                    ha="left",
                    fontsize="small",
                )
    ax.set_yticks(y, labels, fontsize="small")
    ax.set_ylim(-0.7, k - 0.3)
    if measure == "diff":
        from matplotlib.ticker import FuncFormatter

        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda v, _pos: f"{v * 100:+.0f}" if round(v * 100) else "0")
        )
        ax.set_xlabel("Difference in rate, percentage points (group − reference)")
    else:
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        ax.set_xscale("log")
        # plain numbers (0.5, 1, 2), never mathtext such as 10^0: every text here is literal
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("Rate ratio (group / reference)")
    ax.legend(frameon=False, fontsize="small", loc="lower center", bbox_to_anchor=(0.5, 1.0),
              ncols=3)  # fmt: skip
    return ax


def _ci_level(frame: pd.DataFrame) -> str:
    """The interval level of a comparison table ("95%")."""
    if "confidence_level" in frame and frame["confidence_level"].notna().any():
        return f"{100 * float(frame['confidence_level'].dropna().iloc[0]):g}%"
    return "95%"


def _equivalence_level(frame: pd.DataFrame) -> str:
    """The level of the equivalence interval, 1 - 2 alpha ("90%")."""
    if "confidence_level" in frame and frame["confidence_level"].notna().any():
        level = float(frame["confidence_level"].dropna().iloc[0])
        return f"{100 * (2 * level - 1):g}%"
    return "90%"


# --- 3. milestones -----------------------------------------------------------------------------


def _milestone_text(result: Any, outcome: Any) -> str:
    text = _outcome_text(result, outcome)
    text = re.sub(r"^Milestone:\s*", "", text)
    text = re.sub(r",\s*missing = .*$", "", text)
    text = re.sub(r"^milestone ", "", text)
    return text[:1].upper() + text[1:]


@_literal_text
def plot_milestones(rate_table_or_outcomes: Any, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Share of each cohort meeting each completion milestone, with intervals.

    Parameters
    ----------
    rate_table_or_outcomes : RateTable or pandas.DataFrame
        A rate table whose ``outcome`` column holds milestone names (``milestone_<name>`` or
        plain names), with ``group``/``cohort``, ``n``, ``rate``, ``ci_low``, ``ci_high``.
        With ``n_not_eligible`` (run milestones: episodes observed too few days, left out of
        ``n``), each point is labelled "k not eligible".
        The plot only draws: make the table from episode outcomes with
        ``iopoutcomes.outcome_rates(outcomes, outcome=[...milestone_* columns], by="cohort")``
        (an episode-outcomes object is refused with that advice).
    ax : matplotlib Axes, optional
    **kwargs
        Passed to ``Axes.errorbar``.

    Returns
    -------
    matplotlib.axes.Axes
        Milestones on the y axis; one errorbar container per cohort (legend "IOP (n = 120)").

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd
    >>> t = pd.DataFrame({"group": ["IOP", "IOP", "inpatient", "inpatient"],
    ...                   "outcome": ["milestone_housing_stable", "milestone_employed"] * 2,
    ...                   "n": [120, 120, 95, 95], "rate": [0.8, 0.5, 0.7, 0.4],
    ...                   "ci_low": [0.72, 0.41, 0.6, 0.31], "ci_high": [0.86, 0.59, 0.78, 0.5]})
    >>> fig, ax = plt.subplots()
    >>> [t.get_text() for t in plot_milestones(t, ax=ax).get_yticklabels()]
    ['Housing stable', 'Employed']
    >>> plt.close(fig)
    """
    ax = _axes(ax)
    result = rate_table_or_outcomes
    frame = _frame(result, "plot_milestones")
    if "rate" not in frame.columns:
        milestone_cols = [str(c) for c in frame.columns if str(c).startswith("milestone_")]
        advice = (
            f"make it with iopoutcomes.outcome_rates(outcomes, outcome={milestone_cols!r}, "
            'by="cohort")'
            if milestone_cols
            else "make it with iopoutcomes.outcome_rates over the milestone_* columns"
        )
        raise MissingColumnError(
            "plot_milestones draws a rate table (outcome, rate, ci_low, ci_high, n); it does not "
            f"compute rates: {advice}."
        )
    gcol = _group_column(frame)
    _require(frame, ("outcome", "rate", "ci_low", "ci_high", "n"), "plot_milestones")
    milestones = _ordered(frame["outcome"])
    groups = _ordered(frame[gcol])
    rate, low, high, n = (_num(frame[c]) for c in ("rate", "ci_low", "ci_high", "n"))
    hidden = _hidden(frame, "rate", "ci_low", "ci_high")
    pos = {m: len(milestones) - 1 - i for i, m in enumerate(milestones)}
    y_base = frame["outcome"].map(pos).to_numpy(dtype=float)
    step = min(0.6 / max(len(groups), 1), 0.25)
    for gi, group in enumerate(groups):
        sel = (frame[gcol] == group).to_numpy()
        y = y_base - (gi - (len(groups) - 1) / 2) * step
        show = sel & ~hidden
        ns = n[sel & np.isfinite(n)]
        size = (
            "n suppressed"
            if ns.size == 0
            else _n_text(ns[0])
            if ns.min() == ns.max()
            else f"n = {int(ns.min())}–{int(ns.max())}"
        )
        st = _style(gi)
        ax.errorbar(
            rate[show],
            y[show],
            xerr=_yerr(rate[show], low[show], high[show]),
            fmt=st["marker"],
            color=st["color"],
            capsize=3,
            markersize=7,
            linestyle="none",
            label=f"{group} ({size})",
            **kwargs,
        )
        for yi in y[sel & hidden]:
            _note_suppressed(ax, float(yi), horizontal=True)
        if "n_not_eligible" in frame:  # observed too few days: neither met nor not met
            k = _num(frame["n_not_eligible"])
            for lo_i, hi_i, yi, ki in zip(low[show], high[show], y[show], k[show], strict=True):
                if np.isfinite(ki) and ki > 0:
                    right = hi_i < 0.8  # beside the interval, on the side with room
                    ax.text(
                        float(hi_i) + 0.02 if right else float(lo_i) - 0.02,
                        float(yi),
                        f"{int(ki)} not eligible",
                        color=_GREY,
                        fontsize="x-small",
                        va="center",
                        ha="left" if right else "right",
                    )
    ax.set_yticks(
        [pos[m] for m in milestones], [_wrap(_milestone_text(result, m), 30) for m in milestones]
    )
    ax.set_ylim(-0.6, len(milestones) - 0.4)
    ax.set_xlim(0, 1)
    _percent_axis(ax.xaxis)
    ax.set_xlabel("Episodes meeting the milestone (%)")
    ax.legend(frameon=False, loc="best", fontsize="small")
    return ax


@_literal_text
def plot_milestones_distribution(outcomes: Any, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Distribution of the number of milestones met, per cohort (share of episodes).

    Parameters
    ----------
    outcomes : EpisodeOutcomes or pandas.DataFrame
        One row per episode with ``cohort`` (or ``group``) and ``milestones_met`` (missing
        values are left out and counted in the legend).
    ax : matplotlib Axes, optional
    **kwargs
        Passed to ``Axes.bar``.

    Returns
    -------
    matplotlib.axes.Axes
        One bar container per cohort (hatched differently), x = number of milestones met.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd
    >>> eo = pd.DataFrame({"cohort": ["IOP"] * 4 + ["inpatient"] * 2,
    ...                    "milestones_met": [0, 2, 2, 3, 1, 2]})
    >>> fig, ax = plt.subplots()
    >>> [float(b.get_height()) for b in plot_milestones_distribution(eo, ax=ax).containers[0]]
    [0.25, 0.0, 0.5, 0.25]
    >>> plt.close(fig)
    """
    ax = _axes(ax)
    frame = _frame(outcomes, "plot_milestones_distribution")
    gcol = _group_column(frame)
    _require(frame, ("milestones_met",), "plot_milestones_distribution")
    met = _num(frame["milestones_met"])
    valid = np.isfinite(met)
    if not valid.any():
        raise InsufficientDataError(
            f"plot_milestones_distribution: all {len(frame)} episodes lack milestones_met."
        )
    kmax = int(np.nanmax(met))
    groups = _ordered(frame[gcol])
    counts = pd.crosstab(frame.loc[valid, gcol], met[valid].astype(int)).reindex(
        index=groups, columns=range(kmax + 1), fill_value=0
    )
    totals = counts.sum(axis=1)
    shares = counts.div(totals.where(totals > 0), axis=0)
    width = 0.8 / max(len(groups), 1)
    x = np.arange(kmax + 1, dtype=float)
    for gi, group in enumerate(groups):
        st = _style(gi)
        n_missing = int((~valid & (frame[gcol] == group).to_numpy()).sum())
        label = f"{group} ({_n_text(float(totals.loc[group]))}"
        label += f"; {n_missing} missing)" if n_missing else ")"
        ax.bar(
            x + (gi - (len(groups) - 1) / 2) * width,
            shares.loc[group].to_numpy(dtype=float),
            width=width,
            color=st["color"],
            hatch=st["hatch"],
            edgecolor="black",
            linewidth=0.5,
            label=label,
            **kwargs,
        )
    ax.set_xticks(x, [str(int(v)) for v in x])
    ax.set_xlabel("Milestones met")
    _percent_axis(ax.yaxis)
    ax.set_ylabel("Episodes (%)")
    ax.legend(frameon=False, fontsize="small")
    return ax


# --- 4. rates over follow-up time --------------------------------------------------------------


@_literal_text
def plot_rates_over_time(
    rate_table: Any,
    *,
    ax: Axes | None = None,
    fitted: pd.DataFrame | None = None,
    **kwargs: Any,
) -> Axes:
    """Rates per cohort at each follow-up (1/3/6/12 months) with intervals and a fitted curve.

    Parameters
    ----------
    rate_table : RateTable or pandas.DataFrame
        ``group``/``cohort``, ``timepoint`` (``"1mo"``, ``"3mo"``... placed at their month),
        ``n``, ``rate``, ``ci_low``, ``ci_high``; optional ``outcome`` (for the label) and
        ``suppressed``.
    ax : matplotlib Axes, optional
    fitted : pandas.DataFrame, optional
        Model curve (e.g. GEE) with ``group``, ``timepoint``, ``rate``, ``ci_low``,
        ``ci_high``: drawn as a dashed line with a shaded band in the group's colour.
    **kwargs
        Passed to ``Axes.errorbar``.

    Returns
    -------
    matplotlib.axes.Axes
        One errorbar container per cohort (observed), plus one line per cohort when fitted.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd
    >>> t = pd.DataFrame({"group": ["IOP"] * 3, "timepoint": ["1mo", "3mo", "6mo"],
    ...                   "n": [110, 100, 90], "rate": [0.7, 0.6, 0.55],
    ...                   "ci_low": [0.61, 0.5, 0.45], "ci_high": [0.78, 0.69, 0.65]})
    >>> fig, ax = plt.subplots()
    >>> ax = plot_rates_over_time(t, ax=ax)
    >>> ax.containers[0].lines[0].get_xdata().tolist()
    [1.0, 3.0, 6.0]
    >>> plt.close(fig)
    """
    ax = _axes(ax)
    frame = _frame(rate_table, "plot_rates_over_time")
    gcol = _group_column(frame)
    _require(frame, ("timepoint", "rate", "ci_low", "ci_high", "n"), "plot_rates_over_time")
    months = frame["timepoint"].map(_timepoint_months).to_numpy(dtype=float)
    timepoints = _ordered(frame["timepoint"])
    categorical = bool(np.isnan(months).any())
    if categorical:  # unknown labels: equally spaced in order of appearance
        months = (
            frame["timepoint"].map({tp: i for i, tp in enumerate(timepoints)}).to_numpy(dtype=float)
        )
    rate, low, high, n = (_num(frame[c]) for c in ("rate", "ci_low", "ci_high", "n"))
    hidden = _hidden(frame, "rate", "ci_low", "ci_high")
    groups = _ordered(frame[gcol])
    span = (np.nanmax(months) - np.nanmin(months)) or 1.0
    dodge = span * 0.012
    x_points = np.full(len(frame), np.nan)
    for gi, group in enumerate(groups):
        sel = (frame[gcol] == group).to_numpy()
        order = np.argsort(months[sel], kind="stable")
        idx = np.flatnonzero(sel)[order]
        x = months[idx] + (gi - (len(groups) - 1) / 2) * dodge
        r = np.where(hidden[idx], np.nan, rate[idx])  # NaN breaks the line at suppressed points
        st = _style(gi)
        yerr = _yerr(
            r, np.where(hidden[idx], np.nan, low[idx]), np.where(hidden[idx], np.nan, high[idx])
        )
        ax.errorbar(
            x,
            r,
            yerr=np.nan_to_num(yerr),
            fmt=st["marker"],
            color=st["color"],
            linestyle=st["linestyle"],
            capsize=3,
            markersize=6,
            label=str(group),
            **kwargs,
        )
        x_points[idx] = x
        for xi in x[hidden[idx]]:
            _note_suppressed(ax, float(xi))
    # n labels as in plot_rates: one stack per timepoint, hanging under its lowest interval
    cell_index = np.unique(months, return_inverse=True)[1].reshape(-1)
    colors = [_style(gi)["color"] for gi in range(len(groups))]
    n_labels = _n_labels(
        ax, frame[gcol], groups, cell_index, x_points, n, low, high, hidden, colors, 6.0
    )
    if fitted is not None:
        fit = fitted.copy()
        fcol = _group_column(fit)
        _require(fit, ("timepoint", "rate", "ci_low", "ci_high"), "plot_rates_over_time(fitted)")
        if categorical:
            fx = fit["timepoint"].map({tp: i for i, tp in enumerate(timepoints)})
        else:
            fx = fit["timepoint"].map(_timepoint_months)
        fit = fit.assign(_x=fx.to_numpy(dtype=float)).sort_values("_x", kind="stable")
        for gi, group in enumerate(groups):
            g = fit[fit[fcol] == group]
            if g.empty:
                continue
            st = _style(gi)
            ax.plot(
                g["_x"],
                _num(g["rate"]),
                color=st["color"],
                linestyle="--",
                linewidth=1.2,
                label=f"{group} (model)",
            )
            ax.fill_between(
                g["_x"].to_numpy(dtype=float),
                _num(g["ci_low"]),
                _num(g["ci_high"]),
                color=st["color"],
                alpha=0.12,
                linewidth=0,
            )
    if categorical:
        ax.set_xticks(np.arange(len(timepoints)), [timepoint_text(t) for t in timepoints])
        ax.set_xlabel("Follow-up")
    else:
        ticks = sorted({float(m) for m in months[np.isfinite(months)]})
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.set_xlabel("Follow-up (months)")
    ax.set_ylim(0, 1)
    _percent_axis(ax.yaxis)
    outcomes = _ordered(frame["outcome"]) if "outcome" in frame else []
    label = _outcome_text(rate_table, outcomes[0]) if len(outcomes) == 1 else "Rate"
    label = re.sub(r" at \d+-(month|week) follow-up", " at follow-up", label)
    ax.set_ylabel(_wrap(label + " (%)", 50))
    ax.legend(frameon=False, fontsize="small")
    _fit_x_to_labels(ax, n_labels)
    return ax


# --- 5. Kaplan-Meier ---------------------------------------------------------------------------


def _survival_table(result: Any) -> pd.DataFrame:
    if isinstance(result, pd.DataFrame):
        return result.copy()
    table = getattr(result, "survival_table", None)
    if callable(table):
        table = table()
    if isinstance(table, pd.DataFrame):
        return table.copy()
    raise ParameterError(
        "plot_km needs a time-to-relapse result with a survival_table DataFrame (group, time, "
        f"n_at_risk, n_events, n_censored, survival, ci_low, ci_high); got {type(result).__name__}."
    )


def _at_risk(
    result: Any,
    group: Any,
    ticks: Sequence[float],
    t: np.ndarray,
    risk: np.ndarray,
    ev: np.ndarray,
    cens: np.ndarray,
) -> np.ndarray:
    """Numbers at risk at the ticks: the result's own ``at_risk_table`` when it has one."""
    method = getattr(result, "at_risk_table", None)
    if callable(method):
        table = method(list(ticks))
        if isinstance(table, pd.DataFrame) and {"group", "time", "n_at_risk"} <= set(table):
            sub = table[table["group"] == group].set_index("time")["n_at_risk"]
            return _num(sub.reindex(list(ticks)))
    idx = np.searchsorted(t, np.asarray(ticks), side="left")
    after = risk[-1] - ev[-1] - cens[-1]
    return np.where(idx < t.size, risk[np.minimum(idx, t.size - 1)], after)


def _km_time_label(result: Any) -> str:
    """The result's ``time_label``; else from its ``time_unit`` ("days"/"weeks"); else days."""
    label = getattr(result, "time_label", None)
    if isinstance(label, str) and label:
        return label
    unit = getattr(result, "time_unit", None)
    if isinstance(unit, str) and unit in ("days", "weeks"):
        return f"{unit.capitalize()} of follow-up"
    return "Days since discharge"


@_literal_text
def plot_km(
    relapse_result: Any,
    *,
    ax: Axes | None = None,
    at_risk: bool = True,
    **kwargs: Any,
) -> Axes:
    """Kaplan-Meier curves per cohort with confidence bands, censoring marks and numbers at risk.

    Parameters
    ----------
    relapse_result : time-to-relapse result or pandas.DataFrame
        Its ``survival_table``: one row per (group, time) with ``n_at_risk``, ``n_events``,
        ``n_censored``, ``survival``, ``ci_low``, ``ci_high`` (the step function's values from
        that time on).
    ax : matplotlib Axes, optional
    at_risk : bool, default True
        Print the number at risk at each x tick under the axis, one row per cohort.
    **kwargs
        Passed to ``Axes.step``.

    Returns
    -------
    matplotlib.axes.Axes
        One step line per cohort (label "IOP (n = 120)"), bands, censoring ticks ("|").

    Notes
    -----
    The curve starts at 100% at time 0. The number at risk at tick ``t`` is the table's
    ``n_at_risk`` at the first time on or after ``t`` (after the last time: those at risk then
    minus its events and censorings). The x-axis label is the result's ``time_label`` (else
    from its ``time_unit``, "days" or "weeks"; "Days since discharge" for a bare table); with
    ``time_unit == "weeks"`` the x ticks are whole weeks.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd
    >>> st = pd.DataFrame({"group": "IOP", "time": [10, 30, 60], "n_at_risk": [50, 40, 20],
    ...                    "n_events": [5, 4, 2], "n_censored": [5, 16, 18],
    ...                    "survival": [0.9, 0.81, 0.729], "ci_low": [0.78, 0.67, 0.56],
    ...                    "ci_high": [0.96, 0.9, 0.85]})
    >>> fig, ax = plt.subplots()
    >>> ax = plot_km(st, ax=ax)
    >>> ax.get_lines()[0].get_label()
    'IOP (n = 50)'
    >>> plt.close(fig)
    """
    from matplotlib.transforms import blended_transform_factory

    ax = _axes(ax)
    table = _survival_table(relapse_result)
    gcol = _group_column(table)
    cols = ("time", "n_at_risk", "n_events", "n_censored", "survival", "ci_low", "ci_high")
    _require(table, cols, "plot_km")
    groups = _ordered(table[gcol])
    curves = []
    for gi, group in enumerate(groups):
        g = table[table[gcol] == group].sort_values("time", kind="stable")
        t, risk, ev, cens, s, lo, hi = (_num(g[c]) for c in cols)
        keep = np.isfinite(t) & np.isfinite(s) & ~_hidden(g)
        t, risk, ev, cens, s, lo, hi = (a[keep] for a in (t, risk, ev, cens, s, lo, hi))
        if t.size == 0:
            continue
        st = _style(gi)
        n0 = risk[0]
        start = min(0.0, float(t[0]))  # the curve starts at 100% (events at 0 drop at once)
        tt = np.concatenate(([start], t))
        ss = np.concatenate(([1.0], s))
        ll = np.concatenate(([1.0], lo))
        hh = np.concatenate(([1.0], hi))
        ax.step(
            tt,
            ss,
            where="post",
            color=st["color"],
            linestyle=st["linestyle"],
            label=f"{group} ({_n_text(n0)})",
            **kwargs,
        )
        # log-log limits are undefined where S = 1 or 0 (R gives NA there): the band
        # collapses onto the curve instead of spanning 0-100%
        ax.fill_between(
            tt,
            np.where(np.isfinite(ll), ll, ss),
            np.where(np.isfinite(hh), hh, ss),
            step="post",
            color=st["color"],
            alpha=0.15,
            linewidth=0,
        )
        censored = cens > 0
        ax.plot(
            t[censored], s[censored], linestyle="none", marker="|", markersize=8, color=st["color"]
        )
        curves.append((group, st, t, risk, ev, cens))
    ax.set_ylim(0, 1.02)
    _percent_axis(ax.yaxis)
    ax.set_ylabel(getattr(relapse_result, "survival_label", "Not yet relapsed (%)"))
    ax.set_xlabel(_km_time_label(relapse_result))
    ax.set_xlim(left=0)
    if getattr(relapse_result, "time_unit", None) == "weeks":  # whole study weeks
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(frameon=False, fontsize="small", loc="upper right")
    if at_risk and curves:
        lo_x, hi_x = ax.get_xlim()
        ticks = [v for v in ax.get_xticks() if lo_x <= v <= hi_x]
        ax.set_xticks(ticks)
        trans = blended_transform_factory(ax.transData, ax.transAxes)
        label_trans = ax.transAxes
        ax.text(
            -0.07,
            -0.2,
            "Number at risk",
            transform=label_trans,
            ha="right",
            va="center",
            fontsize="small",
            weight="bold",
        )
        for row, (group, st, t, risk, ev, cens) in enumerate(curves):
            y = -0.27 - 0.07 * row
            values = _at_risk(relapse_result, group, ticks, t, risk, ev, cens)
            ax.text(
                -0.07,
                y,
                str(group),
                transform=label_trans,
                ha="right",
                va="center",
                fontsize="small",
                color=st["color"],
            )
            for tick, v in zip(ticks, values, strict=True):
                if not np.isfinite(v):
                    continue
                ax.text(
                    tick,
                    y,
                    f"{int(v)}",
                    transform=trans,
                    ha="center",
                    va="center",
                    fontsize="small",
                )
    return ax


# --- 6. covariate balance ----------------------------------------------------------------------


def _balance_frame(result: Any) -> pd.DataFrame:
    if isinstance(result, pd.DataFrame):
        return result.copy()
    for attr in ("balance", "balance_table"):
        value = getattr(result, attr, None)
        if callable(value):
            value = value()
        if isinstance(value, pd.DataFrame):
            return value.copy()
    return _frame(result, "plot_balance")


@_literal_text
def plot_balance(
    balance_table_or_result: Any,
    *,
    ax: Axes | None = None,
    threshold: float = 0.1,
    **kwargs: Any,
) -> Axes:
    """Love plot: standardized mean differences before and after weighting.

    Parameters
    ----------
    balance_table_or_result : pandas.DataFrame or result
        ``covariate``, ``smd_unweighted``, ``smd_weighted`` (a result's ``balance`` table).
    ax : matplotlib Axes, optional
    threshold : float, default 0.1
        Reference lines at ``±threshold`` (a common balance rule of thumb).
    **kwargs
        Passed to both ``Axes.scatter`` calls.

    Returns
    -------
    matplotlib.axes.Axes
        Two scatter collections (labels "Unweighted", "Weighted"), covariates on the y axis;
        without weighted values (all ``smd_weighted`` missing) only the unweighted points are
        drawn, with no legend.
    """
    ax = _axes(ax)
    frame = _balance_frame(balance_table_or_result)
    _require(frame, ("covariate", "smd_unweighted", "smd_weighted"), "plot_balance")
    for col in ("outcome", "group"):  # one contrast: the first (balance repeats per outcome)
        if col in frame and frame[col].nunique(dropna=True) > 1:
            frame = frame[frame[col] == frame[col].dropna().iloc[0]]
    names = frame["covariate"].astype(str).str.replace("_", " ")
    if "level" in frame:
        level = frame["level"].fillna("").astype(str)
        names = names.where(level == "", names + ": " + level)
    k = len(frame)
    y = np.arange(k)[::-1].astype(float)
    before, after = _num(frame["smd_unweighted"]), _num(frame["smd_weighted"])
    ax.hlines(
        y, np.fmin(before, after), np.fmax(before, after), color="#BBBBBB", linewidth=1, zorder=1
    )
    ax.scatter(
        before,
        y,
        marker="o",
        facecolors="none",
        edgecolors=OKABE_ITO[3],
        s=45,
        label="Unweighted",
        zorder=2,
        **kwargs,
    )
    weighted = bool(np.isfinite(after).any())
    if weighted:  # no "Weighted" legend entry without weighted points
        ax.scatter(
            after, y, marker="s", color=OKABE_ITO[0], s=40, label="Weighted", zorder=3, **kwargs
        )
    ax.axvline(0, color="black", linewidth=0.8)
    for v in (-threshold, threshold):
        ax.axvline(v, color=_GREY, linestyle="--", linewidth=0.8)
    ax.set_yticks(y, names.tolist())
    ax.set_ylim(-0.7, k - 0.3)
    ax.set_xlabel(f"Standardized mean difference (reference lines at ±{threshold:g})")
    if weighted:
        ax.legend(frameon=False, fontsize="small")
    return ax


# --- 7. SPC p-chart ----------------------------------------------------------------------------


@_literal_text
def plot_spc(pchart: Any, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Draw a p-chart: rate per period, centre line, 3-sigma limits, signals, breaks.

    Parameters
    ----------
    pchart : PChart
        From :func:`iopoutcomes.spc.p_chart` (its table and runs are drawn as they are).
    ax : matplotlib Axes, optional
    **kwargs
        Passed to the ``Axes.plot`` call of the rate line.

    Returns
    -------
    matplotlib.axes.Axes
        Lines labelled "Rate", "Centre line", "3-sigma limits" (or "3-sigma limits (Laney p′)"),
        markers for special causes ("Outside limits", "Run signal (Anhøj)"), a dotted vertical
        line at each break, and "trial limits" text for phases with fewer than 12 points.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd
    >>> from iopoutcomes.spc import p_chart
    >>> counts = pd.DataFrame({"period": pd.period_range("2024-01", periods=8, freq="M"),
    ...                        "n": [40] * 8, "n_events": [20, 22, 19, 25, 21, 24, 23, 20]})
    >>> fig, ax = plt.subplots()
    >>> ax = plot_spc(p_chart(counts), ax=ax)
    >>> any(t.get_text().startswith("trial limits") for t in ax.texts)
    True
    >>> plt.close(fig)
    """
    ax = _axes(ax)
    table = pchart.to_frame() if hasattr(pchart, "to_frame") else pd.DataFrame(pchart)
    _require(table, ("period", "phase", "rate", "centre", "lcl", "ucl"), "plot_spc")
    k = len(table)
    x = np.arange(k, dtype=float)
    rate = _num(table["rate"])
    hidden = _hidden(table, "rate")
    rate_drawn = np.where(hidden, np.nan, rate)
    laney = bool(getattr(pchart, "laney_used", False))
    ax.plot(
        x,
        rate_drawn,
        color=OKABE_ITO[0],
        marker="o",
        markersize=5,
        linewidth=1.2,
        label="Rate",
        zorder=3,
        **kwargs,
    )
    phases = table["phase"].to_numpy()
    limit_label = "3-sigma limits (Laney p′)" if laney else "3-sigma limits"
    for i, ph in enumerate(pd.unique(phases)):
        sel = phases == ph
        xs = x[sel]
        ax.plot(
            xs,
            _num(table.loc[sel, "centre"]),
            color="black",
            linewidth=1.2,
            label="Centre line" if i == 0 else "_nolegend_",
            zorder=2,
        )
        for j, col in enumerate(("lcl", "ucl")):
            ax.plot(
                xs,
                _num(table.loc[sel, col]),
                color=_GREY,
                linestyle="--",
                linewidth=1,
                drawstyle="steps-mid",
                label=limit_label if (i == 0 and j == 0) else "_nolegend_",
            )
        if "trial_limits" in table and bool(table.loc[sel, "trial_limits"].any()):
            ax.text(
                xs[0],
                0.98,
                "trial limits (< 12 points)",
                transform=ax.get_xaxis_transform(),
                fontsize="x-small",
                color=_GREY,
                va="top",
                ha="left",
                style="italic",
            )
        if i > 0:
            ax.axvline(xs[0] - 0.5, color="black", linestyle=":", linewidth=1.2)
            ax.text(
                xs[0] - 0.45,
                0.02,
                "definition/instrument change",
                transform=ax.get_xaxis_transform(),
                rotation=90,
                fontsize="x-small",
                va="bottom",
                ha="left",
            )
    if "outside_limits" in table:
        out = table["outside_limits"].to_numpy(dtype=bool) & ~hidden
        if out.any():
            ax.scatter(
                x[out], rate[out], marker="D", s=70, color=_SIGNAL, zorder=4, label="Outside limits"
            )
    if "run_signal" in table:
        runs = table["run_signal"].to_numpy(dtype=bool) & ~hidden
        if runs.any():
            ax.scatter(
                x[runs],
                rate[runs],
                marker="s",
                s=130,
                facecolors="none",
                edgecolors=OKABE_ITO[1],
                linewidths=1.8,
                zorder=4,
                label="Run signal (Anhøj)",
            )
    runs_frame = getattr(pchart, "runs", None)
    if isinstance(runs_frame, pd.DataFrame) and not runs_frame.empty:
        notes = []
        multi = len(runs_frame) > 1
        for row in runs_frame.to_dict("records"):
            prefix = f"Phase {int(row['phase']) + 1}: " if multi else ""
            parts = []
            if row["shift_signal"]:
                parts.append(f"shift (run of {row['longest_run']} > {row['longest_run_max']})")
            if row["crossings_signal"]:
                parts.append(f"too few crossings ({row['n_crossings']} < {row['n_crossings_min']})")
            notes.append(prefix + ("; ".join(parts) if parts else "no run signal"))
        ax.text(
            0.01,
            0.02 if not multi else 0.12,
            "Anhøj rules — " + " | ".join(notes),
            transform=ax.transAxes,
            fontsize="x-small",
            va="bottom",
            ha="left",
        )
    step = max(1, int(np.ceil(k / 12)))
    ax.set_xticks(
        x[::step], [str(p) for p in table["period"].iloc[::step]], rotation=45, ha="right"
    )
    ax.set_xlim(-0.5, k - 0.5)
    _percent_axis(ax.yaxis)
    ylabel = getattr(pchart, "label", None) or _outcome_text(pchart, None)
    ax.set_ylabel(_wrap(f"{ylabel} (%)", 50))
    ax.set_xlabel("Period")
    ax.legend(frameon=False, fontsize="x-small", loc="upper right", ncols=2)
    return ax


# --- 8. funnel plot ----------------------------------------------------------------------------


@_literal_text
def plot_funnel(funnel_result: Any, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Funnel plot: each unit's rate against its denominator, with exact limits; no ranks.

    Parameters
    ----------
    funnel_result : FunnelResult
        From :func:`iopoutcomes.spc.funnel_table`; its ``limits`` curves are drawn as given.
    ax : matplotlib Axes, optional
    **kwargs
        Passed to the ``Axes.scatter`` call of the units inside the limits.

    Returns
    -------
    matplotlib.axes.Axes
        Units as points (units outside the outer limits as larger diamonds, named), the target
        line and one line pair per level ("95% limits", "99.8% limits").

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd
    >>> from iopoutcomes.spc import funnel_table
    >>> sites = pd.DataFrame({"site": ["A", "B", "C", "D"], "n": [120, 80, 200, 60],
    ...                       "n_events": [70, 20, 118, 36]})
    >>> fig, ax = plt.subplots()
    >>> ax = plot_funnel(funnel_table(sites), ax=ax)
    >>> [t.get_text() for t in ax.texts if t.get_text() in "ABCD"]
    ['B']
    >>> plt.close(fig)
    """
    ax = _axes(ax)
    table = funnel_result.to_frame()
    limits = funnel_result.limits
    unit = table.columns[0]
    n, rate = _num(table["n"]), _num(table["rate"])
    hidden = _hidden(table, "rate")
    outside = table["outside"].to_numpy(dtype=bool) & ~hidden
    levels = sorted(pd.unique(limits["level"]))
    styles = ["--", "-", ":", "-."]
    for i, level in enumerate(levels):
        cur = limits[limits["level"] == level].sort_values("n")
        label = f"{level * 100:g}% limits"
        colour = _GREY if i < len(levels) - 1 else "black"
        ax.plot(
            cur["n"], cur["lower"], color=colour, linestyle=styles[i % 4], linewidth=1, label=label
        )
        ax.plot(
            cur["n"],
            cur["upper"],
            color=colour,
            linestyle=styles[i % 4],
            linewidth=1,
            label="_nolegend_",
        )
    source = getattr(funnel_result, "target_source", "target")
    target = float(funnel_result.target)
    ax.axhline(target, color=OKABE_ITO[2], linewidth=1.2, label=f"Target ({source}) {target:.1%}")
    inside = ~hidden & ~outside
    ax.scatter(
        n[inside],
        rate[inside],
        marker="o",
        color=OKABE_ITO[0],
        s=36,
        zorder=3,
        label="Unit",
        **kwargs,
    )
    if outside.any():
        ax.scatter(
            n[outside],
            rate[outside],
            marker="D",
            color=_SIGNAL,
            s=60,
            zorder=4,
            label=f"Outside {levels[-1] * 100:g}% limits",
        )
        for xi, yi, name in zip(n[outside], rate[outside], table.loc[outside, unit], strict=True):
            ax.annotate(
                str(name), (xi, yi), xytext=(5, 5), textcoords="offset points", fontsize="small"
            )
    ax.set_ylim(0, 1)
    _percent_axis(ax.yaxis)
    ylabel = getattr(funnel_result, "label", None) or _outcome_text(funnel_result, None)
    ax.set_ylabel(_wrap(f"{ylabel} (%)", 50))
    ax.set_xlabel("Denominator (episodes per unit)")
    ax.legend(frameon=False, fontsize="x-small", loc="lower right")
    return ax


# --- 9. follow-up cascade ----------------------------------------------------------------------


def _cascade_table(table: Any, where: str) -> pd.DataFrame:
    """The cascade table a plot draws; outcomes are refused with the function that counts."""
    if isinstance(table, pd.DataFrame) and {"stage", "n"} <= set(table.columns):
        return table.copy()
    raise ParameterError(
        f"{where} draws the follow-up cascade table; it counts nothing itself: pass "
        "iopoutcomes.cascade_counts(outcomes, timepoint=...)."
    )


def __getattr__(name: str) -> Any:
    # moved to iopoutcomes.cascade (plots only draw); the old names work for one release
    if name == "cascade_counts":
        import importlib
        import warnings

        # by name: an import statement here would make plots -> cascade -> missing -> ...
        # -> plots a cycle of the module graph (tests/test_architecture.py)
        cascade = importlib.import_module("iopoutcomes.cascade")
        warnings.warn(
            "iopoutcomes.plots.cascade_counts is deprecated; use "
            "iopoutcomes.cascade.cascade_counts (iopoutcomes.cascade_counts)",
            DeprecationWarning,
            stacklevel=2,
        )
        return cascade.cascade_counts
    raise AttributeError(f"module 'iopoutcomes.plots' has no attribute {name!r}")


def _first_column(frame: pd.DataFrame, names: Sequence[str]) -> str | None:
    return next((c for c in names if c in frame.columns), None)


@_literal_text
def plot_followup_cascade(
    outcomes_or_table: Any,
    *,
    ax: Axes | None = None,
    timepoint: str = "6mo",
    **kwargs: Any,
) -> Axes:
    """CONSORT-like cascade: episodes → discharged → due → conducted in window → analysed.

    Parameters
    ----------
    outcomes_or_table : pandas.DataFrame or EpisodeOutcomes
        A tidy table with ``cohort``, ``stage``, ``n``: from
        :func:`iopoutcomes.cascade_counts` or the report's suppressed flow table (``n``
        missing or ``suppressed`` True is not drawn). The plot counts nothing itself.
    ax : matplotlib Axes, optional
    timepoint : str, default "6mo"
        Not used (the table is of one timepoint); kept for callers of the earlier signature.
    **kwargs
        Passed to ``Axes.barh``.

    Returns
    -------
    matplotlib.axes.Axes
        Stages on the y axis (top to bottom), one bar container per cohort (hatched
        differently), each bar labelled "count (percent of the cohort's episodes)".

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd
    >>> flow = pd.DataFrame({"cohort": "IOP", "stage": ["episodes", "discharged",
    ...                      "follow-up due", "conducted in window", "analysed"],
    ...                      "n": [200, 180, 150, 120, 118]})
    >>> fig, ax = plt.subplots()
    >>> ax = plot_followup_cascade(flow, ax=ax)
    >>> [t.get_text() for t in ax.texts][:2]
    ['200 (100%)', '180 (90%)']
    >>> plt.close(fig)
    """
    ax = _axes(ax)
    frame = _cascade_table(outcomes_or_table, "plot_followup_cascade")
    gcol = _group_column(frame)
    stages = [s for s in CASCADE_STAGES if s in set(frame["stage"])] + [
        s for s in _ordered(frame["stage"]) if s not in CASCADE_STAGES
    ]
    groups = _ordered(frame[gcol])
    n = _num(frame["n"])
    hidden = _hidden(frame, "n")
    height = 0.8 / max(len(groups), 1)
    pos = {s: len(stages) - 1 - i for i, s in enumerate(stages)}
    bar_labels: list[Any] = []
    for gi, group in enumerate(groups):
        sel = (frame[gcol] == group).to_numpy()
        g_stage = frame.loc[sel, "stage"].map(pos).to_numpy(dtype=float)
        y = g_stage + ((len(groups) - 1) / 2 - gi) * height
        g_n = np.where(hidden[sel], 0.0, n[sel])
        first = frame.loc[sel & (frame["stage"] == stages[0]).to_numpy()]
        base = _num(first["n"])[0] if len(first) else np.nan
        st = _style(gi)
        bars = ax.barh(
            y,
            g_n,
            height=height,
            color=st["color"],
            hatch=st["hatch"],
            edgecolor="black",
            linewidth=0.5,
            label=str(group),
            **kwargs,
        )
        labels = []
        for value, hid in zip(n[sel], hidden[sel], strict=True):
            if hid:
                labels.append("suppressed")
            elif np.isfinite(base) and base > 0:
                labels.append(f"{int(value):,} ({value / base:.0%})")
            else:
                labels.append(f"{int(value):,}")
        bar_labels += ax.bar_label(bars, labels=labels, padding=3, fontsize="x-small")
    rule = getattr(getattr(outcomes_or_table, "definition", None), "missing", None)
    names = [
        f"Analysed (missing = {rule})" if (s == "analysed" and isinstance(rule, str)) else s
        for s in stages
    ]
    ax.set_yticks([pos[s] for s in stages], [s[:1].upper() + s[1:] for s in names])
    ax.set_xlabel("Episodes")
    widths = np.where(hidden, 0.0, n)
    longest = float(np.nanmax(widths)) if (~hidden).any() else 0.0
    ax.set_xlim(0, longest * 1.25 if longest > 0 else 1)
    _fit_bar_labels(ax, bar_labels)
    ax.legend(frameon=False, fontsize="small", loc="lower right")
    return ax


def _laid_out(figure: Any) -> None:
    """Run the figure's layout and draw pass without output, so that extents can be measured.

    Returns None, which the public ``get_window_extent``/``get_tightbbox`` read as "the
    figure's own renderer" (the one the draw pass used) on any canvas, including the base
    canvas of a ``Figure()`` made without pyplot.
    """
    figure.draw_without_rendering()


def _fit_bar_labels(ax: Axes, labels: Sequence[Any]) -> None:
    """Set the x limit so that every bar label ends inside the Axes (and so the figure).

    Label widths are measured with the figure's renderer after a layout pass (a constrained
    layout has then sized the Axes). Labels go right of their bars and the right limit becomes
    the smallest one at which ``bar end + padding + label width`` fits. When that would squeeze
    the longest bar below half the Axes (a narrow Axes), labels that fit inside their bar move
    there (right-aligned at the bar end, on a white box) and the others stay outside.
    """
    figure = ax.get_figure()
    if not labels or figure is None:
        return
    # lay out first, without the labels (a constrained layout would shrink the Axes to make
    # room for labels that overflow it): the Axes width is then final
    for label in labels:
        label.set_in_layout(False)
    _laid_out(figure)
    for label in labels:
        label.set_in_layout(True)
    box = ax.get_window_extent()
    width_px = box.width - 4.0 * figure.dpi / 72  # keep a few points clear of the frame
    lo_x, hi_x = ax.get_xlim()
    ends = np.array([float(label.xy[0]) for label in labels]) - lo_x
    # padding + text width in pixels (independent of the x limit)
    text = np.array(
        [
            label.get_window_extent().x1 - ax.transData.transform((label.xy[0], 0))[0]
            for label in labels
        ]
    )
    if width_px <= 0 or not np.isfinite(text).all():
        return
    longest = max(float(ends.max()), 0.0)

    def limit(outside: np.ndarray) -> float:
        # (end / span) * width + text <= width  for every label outside its bar
        room = width_px - text[outside]
        if (room <= 0).any():
            return float("inf")
        span = ends[outside] * width_px / room
        return float(max([hi_x - lo_x, *span.tolist()]))

    every = np.ones(len(labels), dtype=bool)
    span = limit(every)
    if span <= 2.0 * longest or longest == 0:
        if np.isfinite(span):
            ax.set_xlim(lo_x, lo_x + span)
        return
    span = 1.05 * longest
    inside = np.zeros(len(labels), dtype=bool)
    for _ in range(4):  # a few refinements; each only moves labels outside
        inside = text + 3.0 * figure.dpi / 72 <= ends / span * width_px
        span_new = max(1.05 * longest, limit(~inside)) if (~inside).any() else 1.05 * longest
        if not np.isfinite(span_new) or span_new == span:
            break
        span = span_new
    if np.isfinite(span):
        ax.set_xlim(lo_x, lo_x + span)
    for label, inner in zip(labels, inside, strict=True):
        if inner:
            label.set_horizontalalignment("right")
            label.xyann = (-3.0, 0.0)
            label.set_bbox({"facecolor": "white", "edgecolor": "none", "pad": 1.0})


# --- 10. use calendar --------------------------------------------------------------------------


def _use_tables(data: Any) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    use = getattr(data, "use_days", None)
    if isinstance(use, pd.DataFrame):
        episodes = getattr(data, "episodes", None)
        return use, episodes if isinstance(episodes, pd.DataFrame) else None
    if isinstance(data, pd.DataFrame):
        return data, None
    raise ParameterError(
        "plot_use_calendar needs Records (with use_days) or a use-days DataFrame; got "
        f"{type(data).__name__}."
    )


@_literal_text
def plot_use_calendar(
    records_or_use_days: Any,
    *,
    ax: Axes | None = None,
    mode: Literal["patients", "since_discharge"] = "patients",
    n_patients: int = 30,
    seed: int = 0,
    max_days: int = 180,
    min_count: int = 11,
) -> Axes:
    """Heatmap of daily use: a sample of pseudonymised patients, or the share using by day.

    Parameters
    ----------
    records_or_use_days : Records or pandas.DataFrame
        Records (their ``use_days`` and ``episodes``) or a use-days table with ``episode_id``
        (or ``patient_id``), ``day`` (days since admission) and ``used`` (0/1). For
        ``mode="since_discharge"`` a DataFrame must also carry ``discharge_day`` and
        ``cohort`` per row.
    ax : matplotlib Axes, optional
    mode : {"patients", "since_discharge"}
        ``"patients"``: one row per sampled episode ("patient 1" ... "patient k", never an
        identifier), one column per day, dark = use, light = no use, white = no record;
        discharge marked with "|". ``"since_discharge"``: one row per cohort, one column per
        day since discharge (0..``max_days``), colour = share of episodes with a record that
        day who used; days with fewer than ``min_count`` records are left blank.
    n_patients : int, default 30
        Episodes sampled (without replacement, seeded) in ``"patients"`` mode.
    seed : int, default 0
    max_days : int, default 180
        Last day since discharge shown in ``"since_discharge"`` mode.
    min_count : int, default 11
        Smallest number of records for a day's share to be drawn (small-cell rule).

    Returns
    -------
    matplotlib.axes.Axes
        The Axes with one image (``ax.images[0]``); its array holds the drawn values.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd
    >>> ud = pd.DataFrame({"episode_id": ["e1", "e1", "e2"], "day": [0, 2, 1],
    ...                    "used": [1, 0, 1]})
    >>> fig, ax = plt.subplots()
    >>> [t.get_text() for t in plot_use_calendar(ud, ax=ax).get_yticklabels()]
    ['patient 1', 'patient 2']
    >>> plt.close(fig)
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    if mode not in ("patients", "since_discharge"):
        raise ParameterError(
            f"plot_use_calendar: mode must be 'patients' or 'since_discharge'; got {mode!r}."
        )
    if int(n_patients) < 1:
        raise ParameterError("plot_use_calendar: n_patients must be at least 1.")
    ax = _axes(ax)
    use, episodes = _use_tables(records_or_use_days)
    key = _first_column(use, ("episode_id", "patient_id"))
    if key is None or "day" not in use.columns or "used" not in use.columns:
        raise MissingColumnError(
            "plot_use_calendar needs episode_id (or patient_id), day and used. "
            f"Found: {list(use.columns)}."
        )
    use = use[use["day"].notna() & use["used"].notna()]
    if use.empty:
        raise InsufficientDataError("plot_use_calendar: the use-days table has no usable rows.")
    if mode == "patients":
        ids = np.asarray(pd.unique(use[key]), dtype=object)
        rng = np.random.default_rng(seed)
        chosen = rng.choice(ids, size=min(int(n_patients), ids.size), replace=False)
        sub = use[use[key].isin(chosen)]
        row = pd.Categorical(sub[key], categories=chosen).codes
        day = _num(sub["day"]).astype(int)
        d0, d1 = int(day.min()), int(day.max())
        used_max = np.zeros((chosen.size, d1 - d0 + 1))
        seen = np.zeros_like(used_max, dtype=bool)
        np.maximum.at(used_max, (row, day - d0), _num(sub["used"]))
        seen[row, day - d0] = True
        matrix = np.where(seen, used_max, np.nan)
        cmap = ListedColormap(["#CFE8F3", "#A33B00"]).with_extremes(bad="white")
        ax.imshow(
            matrix,
            aspect="auto",
            interpolation="nearest",
            cmap=cmap,
            vmin=0,
            vmax=1,
            extent=(d0 - 0.5, d1 + 0.5, chosen.size - 0.5, -0.5),
        )
        ax.set_yticks(np.arange(chosen.size), [f"patient {i + 1}" for i in range(chosen.size)])
        ax.tick_params(axis="y", labelsize="x-small")
        handles: list[Any] = [
            Patch(facecolor="#A33B00", label="use"),
            Patch(facecolor="#CFE8F3", label="no use"),
            Patch(facecolor="white", edgecolor=_GREY, label="no record"),
        ]
        if episodes is not None and {"episode_id", "discharge_day"} <= set(episodes.columns):
            if key == "episode_id":
                dis = episodes.set_index("episode_id")["discharge_day"].reindex(chosen)
                dd = _num(dis)
                has = np.isfinite(dd)
                ax.scatter(
                    dd[has], np.arange(chosen.size)[has], marker="|", color="black", s=60, zorder=3
                )
                from matplotlib.lines import Line2D

                handles.append(
                    Line2D([], [], marker="|", color="black", linestyle="none", label="discharge")
                )
        ax.legend(
            handles=handles,
            frameon=False,
            fontsize="x-small",
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
        )
        ax.set_xlabel("Day since admission")
        return ax
    # since discharge: share using per cohort and day
    data = use
    if episodes is not None and key == "episode_id":
        info = episodes[["episode_id", "cohort", "discharge_day"]]
        data = use.drop(columns=[c for c in ("cohort", "discharge_day") if c in use.columns])
        data = data.merge(info, on="episode_id", how="inner")
    _require(data, ("cohort", "discharge_day"), "plot_use_calendar(mode='since_discharge')")
    since = _num(data["day"]) - _num(data["discharge_day"])
    keep = np.isfinite(since) & (since >= 0) & (since <= max_days)
    data = data.loc[keep].assign(_since=since[keep].astype(int), _used=_num(data["used"])[keep])
    per_day = data.groupby([key, "cohort", "_since"], sort=False)["_used"].max().reset_index()
    agg = per_day.groupby(["cohort", "_since"], sort=False)["_used"].agg(["mean", "size"])
    groups = _ordered(per_day["cohort"])
    matrix = np.full((len(groups), max_days + 1), np.nan)
    if not agg.empty:
        gi = pd.Categorical(agg.index.get_level_values(0), categories=groups).codes
        di = agg.index.get_level_values(1).to_numpy(dtype=int)
        vals = np.where(agg["size"].to_numpy() >= min_count, agg["mean"].to_numpy(), np.nan)
        matrix[gi, di] = vals
    from matplotlib import colormaps

    cividis = colormaps["cividis"].with_extremes(bad="white")
    image = ax.imshow(
        matrix,
        aspect="auto",
        interpolation="nearest",
        cmap=cividis,
        vmin=0,
        vmax=1,
        extent=(-0.5, max_days + 0.5, len(groups) - 0.5, -0.5),
    )
    ax.set_yticks(np.arange(len(groups)), [str(g) for g in groups])
    ax.set_xlabel("Day since discharge")
    colorbar = ax.figure.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    colorbar.set_label("Using that day (% of episodes with a record)", fontsize="small")
    _percent_axis(colorbar.ax.yaxis)
    _calendar_note(ax, f"Blank: no record, or fewer than {min_count} records that day.")
    return ax


def _calendar_note(ax: Axes, text: str) -> None:
    """A small note tied to the x-axis label, kept inside the figure.

    It hangs just under the label (it follows the label wherever the layout puts it; layout
    engines and ``bbox_inches="tight"`` make room for it). A figure without a layout engine
    has a fixed bottom margin: when the note would fall below the figure there, it moves to
    the right of the label, on two lines.
    """
    note = ax.annotate(
        text,
        xy=(0.5, 0.0),
        xycoords=ax.xaxis.label,
        xytext=(0, -2),
        textcoords="offset points",
        ha="center",
        va="top",
        fontsize="x-small",
        color=_GREY,
    )
    figure = ax.get_figure()
    if figure is None or figure.get_layout_engine() is not None:
        return
    _laid_out(figure)
    if note.get_window_extent().y0 >= figure.bbox.y0:
        return
    note.set_text(_wrap(text, len(text) // 2 + 4))  # two short lines
    note.xy = (1.0, 0.5)
    note.xyann = (8.0, 0.0)
    note.set_horizontalalignment("left")
    note.set_verticalalignment("center")


# --- subgroups, propensity overlap and the flow diagram (issue 22) -----------------------------


def _own_figure(ax: Axes | None, size: tuple[float, float]) -> Axes:
    """The given Axes, or one on a new figure of ``size`` inches with a constrained layout (so a
    plain ``savefig`` keeps every label)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=size, layout="constrained")
    return new


@_literal_text
def plot_subgroups(result: Any, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Forest plot of a :class:`~iopoutcomes.robustness.SubgroupAnalysis`.

    One row per subgroup level (the overall estimate first), the difference in percentage
    points with its interval, a bold heading per subgroup variable with its interaction
    p-value, and the margin band when a margin was given.

    Examples
    --------
    >>> import iopoutcomes as iop, matplotlib.pyplot as plt
    >>> from iopoutcomes.robustness import subgroup_analysis
    >>> out = iop.episode_outcomes(iop.simulate_records(n=300, seed=2))
    >>> ax = plot_subgroups(subgroup_analysis(out, "abstinent_6mo", subgroups=["sex"]))
    >>> [t.get_text() for t in ax.get_yticklabels()][:2]
    ['All episodes (n = 136 vs 88)', 'sex (interaction p = 0.3)']
    >>> plt.close(ax.figure)
    """
    frame = result.to_frame()
    label = getattr(result, "_label", lambda v: str(v))
    rows: list[tuple[str, float, float, float, bool]] = []
    for var, part in frame.groupby("subgroup", sort=False):  # subgroup variables only
        if var == "All":
            r = part.iloc[0]
            rows.append(
                (
                    f"All episodes (n = {int(r['n'])} vs {int(r['n_ref'])})",
                    r["diff"],
                    r["diff_ci_low"],
                    r["diff_ci_high"],
                    True,
                )
            )
            continue
        p = part["pvalue_interaction"].iloc[0]
        ptext = f"interaction p = {p:.2g}" if np.isfinite(p) else "interaction not estimable"
        rows.append((f"{label(var)} ({ptext})", np.nan, np.nan, np.nan, True))
        for r in part.to_dict("records"):
            rows.append(
                (
                    f"    {r['level']} (n = {int(r['n'])} vs {int(r['n_ref'])})",
                    r["diff"],
                    r["diff_ci_low"],
                    r["diff_ci_high"],
                    False,
                )
            )
    k = len(rows)
    ax = _own_figure(ax, (7.5, 0.35 * k + 1.6))
    y = np.arange(k)[::-1].astype(float)
    est = np.array([r[1] for r in rows], dtype=float)
    lo = np.array([r[2] for r in rows], dtype=float)
    hi = np.array([r[3] for r in rows], dtype=float)
    ok = np.isfinite(est)
    margin = getattr(result, "margin", None)
    if margin:
        m = abs(float(margin))
        ax.axvspan(-m, m, color=OKABE_ITO[2], alpha=0.15, linewidth=0, zorder=0,
                   label=f"Margin ±{m * 100:g} points")  # fmt: skip
    st = _style(0)
    ax.errorbar(
        est[ok],
        y[ok],
        xerr=_yerr(est[ok], lo[ok], hi[ok]),
        fmt=st["marker"],
        color=st["color"],
        capsize=3,
        label=f"Difference, {round(100 * result.confidence_level)}% CI",
        **kwargs,
    )
    ax.axvline(0.0, color="black", linewidth=1, zorder=1)
    ax.set_yticks(y, [r[0] for r in rows], fontsize="small")
    for tick, r in zip(ax.get_yticklabels(), rows, strict=True):
        if r[4]:
            tick.set_fontweight("bold")
    ax.set_ylim(-0.7, k - 0.3)
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda v, _pos: f"{v * 100:+.0f}" if round(v * 100) else "0")
    )
    ax.set_xlabel(
        f"Difference, percentage points ({result.by} group − {result.reference})", fontsize="small"
    )
    ax.legend(frameon=False, fontsize="small", loc="lower center", bbox_to_anchor=(0.5, 1.0),
              ncols=2)  # fmt: skip
    return ax


_FLOW_STAGES: tuple[tuple[str, str], ...] = (
    ("episodes", "Admitted"),
    ("discharged", "Discharged"),
    ("follow-up due", "Follow-up due"),
    ("conducted in window", "Followed up in window"),
    ("analysed", "Analysed"),
)
_FLOW_EXITS: tuple[str, ...] = (
    "still in treatment",
    "window not yet closed",
    "not followed up in window",
)


@_literal_text
def plot_flow_diagram(
    cascade: Any, *, timepoint: str = "6mo", ax: Axes | None = None, **kwargs: Any
) -> Axes:
    """CONSORT/STROBE-style flow of episodes per cohort: admitted -> discharged -> follow-up
    due -> followed up in window -> analysed, with the episodes leaving at each step.

    Draws the table of :func:`iopoutcomes.cascade_counts` (the definitions of the follow-up
    cascade); it counts nothing itself. Under ``missing="using"`` (or bounds/impute) every due episode is analysed, so
    "Analysed" can exceed "Followed up in window": the box says how many missing follow-ups
    enter under the rule.

    Parameters
    ----------
    cascade : pandas.DataFrame
        From :func:`iopoutcomes.cascade_counts` (``cohort``, ``stage``, ``n``, ``missing``).
    timepoint : str
        Not used (the table is of one timepoint); kept for callers of the earlier signature.
    ax : matplotlib Axes, optional
    **kwargs
        Passed to the box text (``Axes.text``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import iopoutcomes as iop, matplotlib.pyplot as plt
    >>> out = iop.episode_outcomes(iop.simulate_records(n=200, seed=1))
    >>> ax = plot_flow_diagram(iop.cascade_counts(out))
    >>> sum("Admitted" in t.get_text() for t in ax.texts)  # one per cohort
    2
    >>> plt.close(ax.figure)
    """
    counts = _cascade_table(cascade, "plot_flow_diagram")
    wide = counts.pivot(index="cohort", columns="stage", values="n")
    cohorts = [c for c in _ordered(counts["cohort"]) if c in wide.index]
    k = len(cohorts)
    ax = _own_figure(ax, (3.6 * k + 0.6, 6.4))
    ax.set_xlim(0, k)
    ax.set_ylim(0, len(_FLOW_STAGES) * 2 - 1)
    ax.axis("off")
    rules = counts["missing"].dropna() if "missing" in counts else pd.Series([], dtype=object)
    rule = rules.iloc[0] if len(rules) else None
    box = {"boxstyle": "round,pad=0.4", "facecolor": "white", "edgecolor": "black"}
    side = {"boxstyle": "round,pad=0.3", "facecolor": "#F2F2F2", "edgecolor": _GREY}
    top = len(_FLOW_STAGES) * 2 - 1.5
    for ci, cohort in enumerate(cohorts):  # loop over cohorts and the five stages only
        row = wide.loc[cohort]
        x = ci + 0.38
        for si, (stage, title) in enumerate(_FLOW_STAGES):
            y = top - 2 * si
            text = f"{title}\n{_n_text(float(row[stage]))}"
            if si == 0:
                text = f"{cohort}\n{text}"
            if stage == "analysed" and rule in MISSING_RULES_ANALYSING_EVERY_ELIGIBLE:
                extra = int(row["analysed"] - row["conducted in window"])
                text += f"\n({extra} without follow-up,\nmissing = {rule})"
            ax.text(x, y, text, ha="center", va="center", fontsize="small", bbox=box, **kwargs)
            if si < len(_FLOW_STAGES) - 1:
                ax.annotate(
                    "",
                    xy=(x, y - 1.35),
                    xytext=(x, y - 0.65),
                    arrowprops={"arrowstyle": "->", "color": "black"},
                )
            if si < len(_FLOW_EXITS):
                nxt = _FLOW_STAGES[si + 1][0]
                gone = int(row[stage] - row[nxt])
                ax.text(
                    x + 0.3,
                    y - 1.0,
                    f"{_FLOW_EXITS[si]}: {gone}",
                    ha="left",
                    va="center",
                    fontsize="x-small",
                    bbox=side,
                )
    ax.set_title(f"Flow of episodes to the {timepoint} follow-up", fontsize="medium")
    return ax


@_literal_text
def plot_propensity_overlap(
    scores: Any,
    *,
    reference: Any = None,
    ax: Axes | None = None,
    bins: int = 30,
    **kwargs: Any,
) -> Axes:
    """Propensity-score overlap for IPTW: mirrored histograms of the estimated probability of
    being in the group, for the group (up) and the reference (down).

    Little overlap (scores near 0 or 1 in one group only) means a positivity problem: weighted
    estimates then rest on a few heavily weighted episodes. The propensity model is the one of
    ``compare_rates(adjust=...)`` IPTW.

    Parameters
    ----------
    scores : pandas.DataFrame
        From :func:`iopoutcomes.robustness.propensity_scores` (``group``, ``propensity``); the
        plot only draws, it fits no model.
    reference : optional
        The reference group (drawn downwards); the same as given to ``propensity_scores``
        (None: ``inpatient`` when present, else the first group in sorted order, as there).
    ax : matplotlib Axes, optional
    bins : int, default 30
    **kwargs
        Passed to ``Axes.bar``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import iopoutcomes as iop, matplotlib.pyplot as plt
    >>> from iopoutcomes.robustness import propensity_scores
    >>> out = iop.episode_outcomes(iop.simulate_records(n=300, seed=1))
    >>> ax = plot_propensity_overlap(propensity_scores(out, adjust=["age", "severity"]))
    >>> ax.get_xlabel()
    'Propensity score, P(IOP | covariates)'
    >>> plt.close(ax.figure)
    """
    if not isinstance(scores, pd.DataFrame) or "propensity" not in scores.columns:
        raise ParameterError(
            "plot_propensity_overlap draws propensity scores; it fits no model: pass "
            "iopoutcomes.robustness.propensity_scores(outcomes, adjust=[...])."
        )
    _require(scores, ("group", "propensity"), "plot_propensity_overlap")
    ps = scores
    # the same default as propensity_scores: the scores hold the reference and one other group
    reference = default_reference(ps["group"].unique().tolist(), reference)
    ax = _own_figure(ax, (6.4, 4.2))
    edges = np.linspace(0.0, 1.0, bins + 1)
    group = ps.loc[ps["group"] != reference, "group"].iloc[0] if len(ps) else "group"
    treated = ps.loc[ps["group"] != reference, "propensity"].to_numpy(dtype=float)
    control = ps.loc[ps["group"] == reference, "propensity"].to_numpy(dtype=float)
    h1, _ = np.histogram(treated, edges)
    h0, _ = np.histogram(control, edges)
    width = np.diff(edges)
    ax.bar(edges[:-1], h1, width=width, align="edge", color=OKABE_ITO[0], alpha=0.8,
           label=f"{group} (n = {len(treated)})", **kwargs)  # fmt: skip
    ax.bar(edges[:-1], -h0, width=width, align="edge", color=OKABE_ITO[1], alpha=0.8,
           label=f"{reference} (n = {len(control)})", **kwargs)  # fmt: skip
    ax.axhline(0, color="black", linewidth=0.8)
    for v in (0.01, 0.99):
        ax.axvline(v, color=_GREY, linestyle="--", linewidth=0.8)
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{abs(v):g}"))
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"Propensity score, P({group} | covariates)")
    ax.set_ylabel("Episodes")
    ax.legend(frameon=False, fontsize="small", loc="upper center")
    return ax


# --- reliable change (Jacobson-Truax scatter) --------------------------------------------------


def plot_reliable_change(result: Any, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Jacobson-Truax scatter: each client's score before (x) and after (y).

    The diagonal is no change; the dashed lines either side are the reliable-change band (a
    point outside it changed reliably); dotted lines mark the clinical cut-off, when the result
    has one. Points are coloured by change category.

    Parameters
    ----------
    result : ReliableChange
        From :func:`iopoutcomes.reliable_change`.
    ax : matplotlib Axes, optional
    **kwargs
        Passed to ``Axes.scatter``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd, iopoutcomes as iop
    >>> d = pd.DataFrame({"episode_id": list("aabbcc"), "timepoint": ["intake", "discharge"] * 3,
    ...                   "phq9_total": [20, 8, 12, 13, 9, 16]})
    >>> ax = plot_reliable_change(iop.reliable_change(d, "phq9", method="threshold"))
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['recovered (1)', 'unchanged (1)', 'deteriorated (1)']
    """
    ax = _axes(ax)
    frame = result.to_frame()
    pre, post = _num(frame["pre"]), _num(frame["post"])
    # the result knows its categories (best first); the plot only picks their look
    categories = list(dict.fromkeys(result.counts()["category"].astype(str)))
    colours = dict(zip(categories, (OKABE_ITO[2], OKABE_ITO[0], _GREY, OKABE_ITO[3]), strict=True))
    markers = dict(zip(categories, ("^", "o", "s", "v"), strict=True))
    for category in categories:
        mask = (frame["category"] == category).to_numpy()
        if mask.any():
            ax.scatter(
                pre[mask],
                post[mask],
                color=colours[category],
                marker=markers[category],
                s=22,
                alpha=0.8,
                label=f"{category} ({int(mask.sum())})",
                **kwargs,
            )
    low = float(np.nanmin(np.concatenate([pre, post])))
    high = float(np.nanmax(np.concatenate([pre, post])))
    pad = max((high - low) * 0.05, 0.5)
    lims = (low - pad, high + pad)
    line = np.array(lims)
    ax.plot(line, line, color="black", linewidth=0.8)
    band = float(result.threshold)
    for shift in (-band, band):
        ax.plot(line, line + shift, color=_GREY, linestyle="--", linewidth=0.8)
    if result.cutoff is not None:
        ax.axvline(result.cutoff, color=_GREY, linestyle=":", linewidth=0.8)
        ax.axhline(result.cutoff, color=_GREY, linestyle=":", linewidth=0.8)
    ax.set_xlim(lims)
    ax.set_ylim(lims)
    ax.set_aspect("equal", adjustable="box")
    from .definitions import MEASURE_TEXT

    better = "higher" if result.higher_is_better else "lower"
    measure = MEASURE_TEXT.get(result.measure, result.measure)
    ax.set_xlabel(f"{measure} at {result.baseline}")
    ax.set_ylabel(f"{measure} at {result.followup}")
    ax.set_title(
        f"Reliable change ({better} is better; dashed: ±{band:.3g} points)", fontsize="medium"
    )
    legend = ax.legend(frameon=False, fontsize="small", loc="best")
    for text in (*legend.get_texts(), ax.xaxis.label, ax.yaxis.label, ax.title):
        text.set_parse_math(False)  # measure and group names come from the data
    return ax
