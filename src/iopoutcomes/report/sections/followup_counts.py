"""Follow-up counts shared by the flow, follow-up and trend sections.

The primary timepoint's follow-up partition (suppressed once, logged once) is computed by the
flow section and reused by the follow-up section; the follow-up counts by quarter of window
close are computed by the follow-up section and reused by the trends section.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ...benchmarks import position
from ...definitions import timepoint_text
from ...exceptions import InsufficientDataError
from ..inputs import ReportInputs
from ..suppression import TOTAL, Partition, suppress_partition
from .common import as_float, rate_cells

__all__ = [
    "FollowupCounts",
    "QuarterCounts",
    "followup_footnote",
    "followup_frame",
    "followup_partition",
    "overall_followup",
    "quarter_counts",
]

FollowupCounts = tuple[Partition, pd.DataFrame]
"""A suppressed follow-up partition and the ``followup_rates`` rows behind it."""

QuarterCounts = tuple[Partition, pd.DataFrame, list[str]]
"""Counts by quarter of window close: partition, rate rows, the quarters present."""


def followup_partition(inp: ReportInputs, primary: str, by: str, key: str) -> FollowupCounts:
    """The primary timepoint's follow-up counts by ``cohort`` or ``site``, suppressed and
    logged under ``key``, with the ``followup_rates`` table of the same rows."""
    from ...rates import followup_rates

    mask = inp.cohort_mask(primary)
    column = by if by != "site" else "_site"
    if by == "site":
        mask = mask & inp.table["_site"].notna().to_numpy(bool)
    sub = inp.subset(mask)
    if by == "site":
        sub = inp.pooled_sites(sub)
    if len(sub.table) == 0:
        raise InsufficientDataError(
            f"No {timepoint_text(primary)} follow-up windows closed in "
            f"{inp.period_text()}; choose a later quarter or more lookback_quarters."
        )
    rt = followup_rates(
        sub,
        by=column,
        timepoints=[primary],
        target=inp.config.followup_target,
    ).table
    rt = rt.set_index(rt["group"].astype(str))
    parts = ["conducted_in_window", "conducted_out_of_window", "not_conducted"]
    counts = rt[parts].astype("int64")
    counts = counts.loc[counts.sum(axis=1) > 0] if by == "site" else counts
    part = inp.log.add(key, suppress_partition(counts, inp.k))
    return part, rt.loc[counts.index]


def followup_frame(
    inp: ReportInputs, part: Partition, rt: pd.DataFrame, label: str
) -> pd.DataFrame:
    """The published follow-up table: counts as suppressed, rates only where publishable."""
    rows = []
    parts = ["conducted_in_window", "conducted_out_of_window", "not_conducted"]
    for group in rt.index:
        ev, den, rate, lo, hi, why = rate_cells(
            part,
            group,
            ["conducted_in_window"],
            None,
            as_float(rt.loc[group, "rate"]),
            as_float(rt.loc[group, "ci_low"]),
            as_float(rt.loc[group, "ci_high"]),
            inp.min_den,
        )
        rows.append(
            {
                label: str(group),
                "due": den,
                **{p: part.shown(group, p) for p in parts},
                "rate": rate,
                "ci_low": rate if math.isnan(rate) else lo,
                "ci_high": rate if math.isnan(rate) else hi,
                "target": inp.config.followup_target,
                "vs_target": (position(lo, hi, inp.target())[()] if not math.isnan(rate) else ""),
                "suppressed": bool(part.hidden.loc[group].any()) or bool(why),
                "suppression": why
                if why
                else ("" if not part.hidden.loc[group].any() else "complementary"),
            }
        )
    total_ev, total_den, rate, lo, hi, why = rate_cells(
        part, TOTAL, ["conducted_in_window"], None, float("nan"), float("nan"), float("nan"), 0
    )
    frame = pd.DataFrame(rows)
    for column in ("due", *parts):
        frame[column] = frame[column].astype("Int64")
    total: dict[str, Any] = {
        label: "All",
        "due": total_den,
        **{p: part.shown(TOTAL, p) for p in parts},
        "rate": float("nan"),
        "ci_low": float("nan"),
        "ci_high": float("nan"),
        "target": inp.config.followup_target,
        "vs_target": "",
        "suppressed": bool(part.hidden.loc[TOTAL].any()),
        "suppression": "",
    }
    overall = overall_followup(inp)
    if overall is not None and total_ev is not None and total_den and total_den >= inp.min_den:
        total["rate"], total["ci_low"], total["ci_high"] = overall
        total["vs_target"] = str(position(overall[1], overall[2], inp.target())[()])
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    for column in ("due", *parts):
        frame[column] = frame[column].astype("Int64")
    return frame


def overall_followup(inp: ReportInputs) -> tuple[float, float, float] | None:
    """Rate and 95% CI of the primary timepoint's follow-up over the whole outcome cohort."""
    from ...rates import followup_rates

    if inp.primary is None:
        return None
    sub = inp.subset(inp.cohort_mask(inp.primary))
    if len(sub.table) == 0:
        return None
    t = followup_rates(
        sub, by=None, timepoints=[inp.primary], target=inp.config.followup_target
    ).table
    return (
        as_float(t["rate"].iloc[0]),
        as_float(t["ci_low"].iloc[0]),
        as_float(t["ci_high"].iloc[0]),
    )


def followup_footnote(inp: ReportInputs, primary: str) -> str:
    """The follow-up rule in words (shared by every follow-up table)."""
    from ...rates import followup_rates

    text = followup_rates(
        inp.subset(np.zeros(len(inp.table), bool) | True),
        by=None,
        timepoints=[primary],
        target=inp.config.followup_target,
    ).definition_text()
    w = inp.definition.windows[primary]
    return (
        f"{text} Window: days {w.start_day}-{w.end_day} after {w.anchor}. Rate hidden (—) "
        f"when a count behind it is suppressed or fewer than {inp.min_den} are due."
    )


def quarter_counts(inp: ReportInputs, primary: str, kind: str) -> QuarterCounts | None:
    """Counts by quarter of window close over the trend quarters (lookback split)."""
    from ...rates import abstinence_rates, followup_rates

    labels = [] if inp.trend is None else [str(p) for p in inp.trend]
    close = inp.table[f"_close_{primary}"]
    mask = close.isin(labels).to_numpy(bool)
    sub = inp.subset(mask)
    if len(sub.table) == 0:
        return None
    sub.table["_quarter"] = sub.table[f"_close_{primary}"]
    if kind == "followup":
        rt = followup_rates(
            sub, by="_quarter", timepoints=[primary], target=inp.config.followup_target
        ).table
        rt = rt.set_index(rt["group"].astype(str))
        counts = pd.DataFrame(
            {
                "conducted_in_window": rt["conducted_in_window"],
                "conducted_out_of_window": rt["conducted_out_of_window"],
                "not_conducted": rt["not_conducted"],
            }
        )
    else:
        rt = abstinence_rates(sub, by="_quarter", timepoints=[primary], missing="using").table
        rt = rt.set_index(rt["group"].astype(str))
        counts = pd.DataFrame(
            {"abstinent": rt["n_events"], "not_abstinent_or_missing": rt["n"] - rt["n_events"]}
        )
    present = [q for q in labels if q in counts.index]
    counts = counts.loc[present].astype("int64")
    split = pd.Series([q in inp.lookback_labels for q in present], index=present)
    part = inp.log.add(f"{kind}_by_quarter", suppress_partition(counts, inp.k, split=split))
    return part, rt.loc[present], present
