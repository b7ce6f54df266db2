"""Report figures, drawn only from suppressed report tables (or results built on them).

Each function draws with an :mod:`iopoutcomes.plots` function and returns a
:class:`~iopoutcomes.report.model.ReportFigure` holding deterministic SVG text and an
alternative text written from the same suppressed numbers. Suppressed rows are passed with their
``suppressed`` flag (and missing values), so the plot functions leave a "suppressed" gap and never
draw them.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"group": ["IOP", "inpatient"], "n": [120, pd.NA],
...                       "rate": [0.6, float("nan")], "ci_low": [0.5, float("nan")],
...                       "ci_high": [0.7, float("nan")], "suppressed": [False, True]})
>>> fig = rates_figure(frame, "demo", "Demo rates", target=0.8)
>>> fig.svg.startswith("<svg"), "inpatient: suppressed" in fig.alt
(True, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..definitions import timepoint_text
from .model import ReportFigure
from .writers import figure_to_svg

__all__ = [
    "balance_figure",
    "cascade_figure",
    "comparison_figure",
    "funnel_figure",
    "milestones_figure",
    "rates_figure",
    "spc_figure",
]


def _new(width: float = 7.0, height: float = 3.6) -> tuple[Any, Any]:
    # a bare Figure renders to SVG/PNG without pyplot: the user's backend is left alone
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    axes = figure.add_subplot(1, 1, 1)
    return figure, axes


def _svg(figure: Any) -> str:
    """Lay out and render to SVG with every label drawn literally.

    Site and cohort names come from the data: a ``$`` in one must not switch matplotlib to
    mathtext (which mangles the name or raises a parse error and aborts the report).
    """
    import matplotlib
    from matplotlib.text import Text

    with matplotlib.rc_context({"text.parse_math": False}):
        for text in figure.findobj(Text):
            text.set_parse_math(False)
        figure.tight_layout()
        if _fit_labels(figure):
            figure.tight_layout()
        for text in figure.findobj(Text):
            text.set_parse_math(False)
        return figure_to_svg(figure)


def _fit_labels(figure: Any) -> bool:
    """Wrap titles and axis labels that would run off the figure (never clip them).

    After a first layout, a title or x label that reaches past the figure's left or right edge
    (or a y label past its top or bottom) is wrapped at word boundaries to the room it has on
    both sides of its centre; returns whether anything changed.
    """
    import textwrap

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = figure.canvas if hasattr(figure.canvas, "get_renderer") else FigureCanvasAgg(figure)
    renderer = canvas.get_renderer()
    width, height = figure.bbox.width, figure.bbox.height
    changed = False
    for ax in figure.axes:
        for text, vertical in ((ax.title, False), (ax.xaxis.label, False), (ax.yaxis.label, True)):
            content = text.get_text()
            if not content:
                continue
            box = text.get_window_extent(renderer)
            if vertical:
                low, high, size, extent = box.y0, box.y1, height, box.height
            else:
                low, high, size, extent = box.x0, box.x1, width, box.width
            if low >= 0 and high <= size:
                continue
            centre = (low + high) / 2.0
            room = 0.95 * 2.0 * max(min(centre, size - centre), 0.25 * size)
            per_char = extent / max(len(content), 1)
            text.set_text(textwrap.fill(content, max(12, int(room / per_char))))
            changed = True
    return changed


def _legend_outside(ax: Any) -> None:
    """Move an existing legend to the right of the axes, where it cannot cover data or the
    benchmark band's label."""
    legend = ax.get_legend()
    if legend is None:
        return
    handles = list(legend.legend_handles)
    labels = [t.get_text() for t in legend.get_texts()]
    title = legend.get_title().get_text()
    ax.legend(
        handles,
        labels,
        title=title or None,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        fontsize="small",
        title_fontsize="small",
    )


def _pct(value: Any) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "suppressed"
    return "suppressed" if not math.isfinite(v) else f"{100 * v:.0f}%"


def _hidden(frame: pd.DataFrame) -> np.ndarray:
    hidden = np.zeros(len(frame), dtype=bool)
    if "suppressed" in frame:
        hidden |= frame["suppressed"].fillna(False).to_numpy(dtype=bool)
    if "rate" in frame:
        hidden |= ~np.isfinite(pd.to_numeric(frame["rate"], errors="coerce").to_numpy(float))
    return hidden


def _rate_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with a rate hidden get every value blanked (nothing of them is drawn).

    A rate the table publishes is drawn, even on a row flagged ``suppressed`` because another
    count of it (say, the out-of-window interviews) is hidden: the chart shows what the table
    prints, and nothing more.
    """
    out = frame.copy()
    rate = pd.to_numeric(out["rate"], errors="coerce").to_numpy(float)
    hidden = ~np.isfinite(rate)
    out["suppressed"] = hidden
    for column in ("rate", "ci_low", "ci_high"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float).mask(hidden)
    out["n"] = pd.to_numeric(out["n"], errors="coerce").astype(float)
    return out


def rates_figure(
    frame: pd.DataFrame,
    key: str,
    title: str,
    *,
    target: float | None = None,
    band: Any = None,
) -> ReportFigure:
    """Rates with intervals per group (and timepoint), from a suppressed table."""
    from ..plots import plot_rates

    data = _rate_frame(frame.loc[frame["group"].astype(str) != "All"])
    figure, ax = _new()
    plot_rates(data, ax=ax, band=band, target=target)
    _legend_outside(ax)
    ax.set_title(title, fontsize="medium")
    parts = []
    for _, row in data.iterrows():
        where = f" at {timepoint_text(str(row['timepoint']))}" if "timepoint" in data else ""
        parts.append(f"{row['group']}{where}: {_pct(row['rate'])}")
    return ReportFigure(key, title, _svg(figure), f"{title}. " + "; ".join(parts) + ".")


def cascade_figure(frame: pd.DataFrame, timepoint: str) -> ReportFigure:
    """The follow-up cascade per cohort from the suppressed flow table."""
    from ..plots import plot_followup_cascade

    stages = {
        "due": "follow-up due",
        "conducted_in_window": "conducted in window",
        "conducted_out_of_window": "conducted out of window",
        "not_conducted": "not conducted",
    }
    rows = frame.loc[frame["cohort"].astype(str) != "All"]
    long = rows.melt(id_vars=["cohort"], value_vars=list(stages), var_name="stage", value_name="n")
    long["stage"] = long["stage"].map(stages)
    long["n"] = pd.to_numeric(long["n"], errors="coerce").astype(float)
    long["suppressed"] = long["n"].isna()
    figure, ax = _new(7.0, 3.8)
    plot_followup_cascade(long, ax=ax)
    title = f"{timepoint_text(timepoint).capitalize()} follow-up cascade by cohort"
    ax.set_title(title, fontsize="medium")
    alt = "; ".join(
        f"{r.cohort} {r.stage}: {'suppressed' if r.suppressed else int(float(str(r.n)))}"
        for r in long.itertuples(index=False)
    )
    return ReportFigure("cascade", title, _svg(figure), f"{title}. {alt}.")


def comparison_figure(frame: pd.DataFrame, timepoint: str) -> ReportFigure | None:
    """Forest plot of the published (unsuppressed) comparison rows."""
    from ..plots import plot_comparison

    shown = frame.loc[~frame["suppressed"].to_numpy(bool)].copy()
    if shown.empty:
        return None
    shown["outcome"] = f"{timepoint_text(timepoint).capitalize()} abstinence"
    shown["n"] = np.nan
    shown["n_ref"] = np.nan
    roles = shown["role"] if "role" in shown else pd.Series("", index=shown.index)
    shown["analysis"] = [
        (f"{role}: " if role == "primary" else "")
        + str(a).replace("unadjusted (complete case)", "complete case")
        for role, a in zip(roles, shown["analysis"], strict=True)
    ]
    figure, ax = _new(7.0, 1.4 + 0.6 * len(shown))
    plot_comparison(shown, ax=ax)
    ax.set_xlabel("Difference, percentage points (cohort − reference)")
    title = f"Difference in {timepoint_text(timepoint)} abstinence, with the equivalence margin"
    # plot_comparison puts its legend in one row just above the axes: the title goes above it
    # (at the default pad the two overlap)
    ax.set_title(title, fontsize="medium", pad=22)
    alt = "; ".join(
        f"{r.group}: {100 * float(str(r.diff)):+.0f} points" for r in shown.itertuples(index=False)
    )
    return ReportFigure("comparison", title, _svg(figure), f"{title}. {alt}.")


def milestones_figure(frame: pd.DataFrame) -> ReportFigure | None:
    """Milestone rates per cohort from the suppressed milestone table."""
    from ..plots import plot_milestones

    data = _rate_frame(
        frame.rename(columns={"cohort": "group", "known": "n", "not_eligible": "n_not_eligible"})
    )
    if (~data["suppressed"]).sum() == 0:
        return None
    n_items = data["outcome"].nunique()
    figure, ax = _new(7.0, 1.4 + 0.45 * n_items)
    plot_milestones(data, ax=ax)
    title = "Completion milestones by cohort"
    ax.set_title(title, fontsize="medium")
    alt = "; ".join(
        f"{r.milestone} ({r.group}): {_pct(r.rate)}" for r in data.itertuples(index=False)
    )
    return ReportFigure("milestones", title, _svg(figure), f"{title}. {alt}.")


def spc_figure(chart: Any, key: str, title: str) -> ReportFigure:
    """A p-chart built on suppressed quarterly counts."""
    from ..plots import plot_spc

    figure, ax = _new(7.0, 3.4)
    plot_spc(chart, ax=ax)
    _legend_outside(ax)
    ax.set_title(title, fontsize="medium")
    table = chart.to_frame()
    alt = "; ".join(f"{p}: {_pct(r)}" for p, r in zip(table["period"], table["rate"], strict=True))
    return ReportFigure(key, title, _svg(figure), f"{title}. {alt}.")


def funnel_figure(funnel: Any, label: str) -> ReportFigure:
    """Funnel plot of sites from suppressed counts (suppressed sites are not drawn)."""
    from ..plots import plot_funnel

    figure, ax = _new(7.0, 3.8)
    plot_funnel(funnel, ax=ax)
    title = f"Funnel plot of sites: {label}"
    ax.set_title(title, fontsize="medium")
    table = funnel.to_frame()
    hidden = (
        table["suppressed"].fillna(False).to_numpy(bool)
        if "suppressed" in table
        else np.zeros(len(table), bool)
    )
    alt = "; ".join(
        f"{u}: {'suppressed' if h else _pct(r)}"
        for u, r, h in zip(table.iloc[:, 0], table["rate"], hidden, strict=True)
    )
    return ReportFigure("funnel", title, _svg(figure), f"{title}. {alt}.")


def balance_figure(frame: pd.DataFrame) -> ReportFigure:
    """Standardized differences of the published retention-bias rows."""
    from ..plots import plot_balance

    data = pd.DataFrame(
        {
            "covariate": [
                c if lv in ("", "mean") else f"{c}: {lv}"
                for c, lv in zip(frame["covariate"], frame["level"], strict=True)
            ],
            "smd_unweighted": frame["smd"].to_numpy(float),
            "smd_weighted": np.nan,
        }
    )
    figure, ax = _new(7.0, 1.2 + 0.3 * len(data))
    plot_balance(data, ax=ax)
    title = "Retention bias: followed up vs not followed up (standardized differences)"
    ax.set_title(title, fontsize="medium")
    alt = "; ".join(
        f"{c}: {s:+.2f}" for c, s in zip(data["covariate"], data["smd_unweighted"], strict=True)
    )
    return ReportFigure("retention_bias", title, _svg(figure), f"{title}. {alt}.")
