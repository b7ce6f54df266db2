"""Section 8, trends and signals: SPC p-charts by quarter of window close."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...definitions import timepoint_text
from ...exceptions import IopOutcomesError
from ..inputs import ReportInputs
from ..model import ReportSection, ReportTable
from ..suppression import TOTAL
from .common import SectionOutput, int_col
from .followup import FollowupOutput
from .followup_counts import quarter_counts

__all__ = ["TrendsOutput", "build", "phase_breaks"]


@dataclass(frozen=True, eq=False)
class TrendsOutput(SectionOutput):
    """The trends section and the signal of each chart (``followup``, ``abstinence``:
    special-cause or common-cause variation), shown on the summary's KPI tiles."""

    signals: Mapping[str, str] = field(default_factory=dict)


def build(inp: ReportInputs, computed: Mapping[str, SectionOutput]) -> TrendsOutput:
    """Section 8: p-charts of the follow-up rate and abstinence by quarter of window close."""
    title = "Trends and signals"
    if inp.period is None or inp.primary is None:
        why = (
            "study-day records have no calendar quarters"
            if inp.period is None
            else "no follow-up interviews"
        )
        inp.omitted.append(f"Trends are omitted: {why}.")
        return TrendsOutput(ReportSection("trends", title, (f"Not available: {why}.",)))
    from ...spc import p_chart
    from ..figures import spc_figure

    breaks = phase_breaks(inp)
    tables = []
    figures = []
    paragraphs = []
    signals: dict[str, str] = {}
    followup = computed.get("followup")
    by_quarter = followup.by_quarter if isinstance(followup, FollowupOutput) else None
    for kind, label in (
        ("followup", f"{timepoint_text(inp.primary)} follow-up rate"),
        ("abstinence", f"{timepoint_text(inp.primary)} abstinence (missing = using)"),
    ):
        got = (
            by_quarter
            if kind == "followup" and by_quarter is not None
            else quarter_counts(inp, inp.primary, kind)
        )
        if got is None:
            continue
        part, rt, present = got
        events_col = "conducted_in_window" if kind == "followup" else "abstinent"
        n = [part.shown(q, TOTAL) for q in present]
        x = [part.shown(q, events_col) for q in present]
        hidden = [a is None or b is None for a, b in zip(n, x, strict=True)]
        periods = pd.PeriodIndex(present, freq=inp.freq)
        counts = pd.DataFrame(
            {
                "period": periods,
                "n": [0 if h else int(v or 0) for h, v in zip(hidden, n, strict=True)],
                "n_events": [
                    np.nan if h else float(v or 0) for h, v in zip(hidden, x, strict=True)
                ],
            }
        )
        try:
            chart = p_chart(counts, breaks=breaks or None, definition=inp.definition, label=label)
        except IopOutcomesError as exc:
            inp.omitted.append(f"The {label} chart could not be drawn: {exc}")
            continue
        ct = chart.to_frame()
        frame = pd.DataFrame(
            {
                "quarter": present,
                "n": int_col(n),  # printed whenever the audit publishes it
                "n_events": int_col(None if h else v for h, v in zip(hidden, x, strict=True)),
                "rate": ct["rate"].to_numpy(float),
                "centre": ct["centre"].to_numpy(float),
                "lcl": np.where(hidden, np.nan, ct["lcl"].to_numpy(float)),
                "ucl": np.where(hidden, np.nan, ct["ucl"].to_numpy(float)),
                "signal": ct["signal"].fillna(False).to_numpy(bool) & ~np.asarray(hidden),
                "suppressed": hidden,
            }
        )
        tables.append(
            ReportTable(
                f"trend_{kind}",
                f"Trend: {label} by quarter of window close",
                frame,
                footnote=(chart.definition_text() or "")
                + (" Trial limits (fewer than 12 points)." if chart.trial_limits else "")
                + " Suppressed quarters are not drawn and not used for the limits.",
            )
        )
        figures.append(spc_figure(chart, f"trend_{kind}", f"SPC chart: {label}"))
        if chart.n_outside or chart.shift_signal or chart.crossings_signal:
            signal = "special-cause variation"
        else:
            signal = "common-cause variation only"
        signals[kind] = signal
        n_shown = len(present) - int(sum(hidden))
        n_hidden = len(present) - n_shown
        paragraphs.append(
            f"{label.capitalize()}: {signal} over {n_shown} quarters ("
            + (
                f"{n_hidden} of {len(present)} quarters suppressed: too few clients; "
                if n_hidden
                else ""
            )
            + f"{chart.n_outside} outside the limits; run rules "
            f"{'signal' if chart.shift_signal or chart.crossings_signal else 'no signal'})"
            + ("; limits are trial limits." if chart.trial_limits else ".")
        )
    if breaks:
        paragraphs.append(
            "Definition changes start new chart phases in: "
            + ", ".join(str(pd.Period(pd.Timestamp(b), freq=inp.freq)) for b in breaks)
        )
    section = ReportSection("trends", title, tuple(paragraphs), (), tuple(tables), tuple(figures))
    return TrendsOutput(section, signals)


def phase_breaks(inp: ReportInputs) -> list[str]:
    """Dates of definition changes inside the trend quarters (each starts an SPC phase)."""
    out = []
    freq = inp.freq
    trend = inp.trend
    if trend is None:  # study-day records: no quarters, no phases
        return []
    for change in inp.config.changelog:
        try:
            p = pd.Period(pd.Timestamp(change.date), freq=freq)
        except (ValueError, TypeError):
            continue
        if p in trend and p != trend[0]:
            out.append(change.date)
    return sorted(set(out))
