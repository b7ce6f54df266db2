"""Section 9, sites: the primary outcome by site in a funnel plot, never ranked."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ...definitions import timepoint_text
from ...exceptions import IopOutcomesError
from ..inputs import OTHER_SITES, ReportInputs
from ..model import ReportSection, ReportTable
from ..suppression import TOTAL, suppress_partition
from .common import SectionOutput, int_col

__all__ = ["build", "section"]


def section(inp: ReportInputs) -> ReportSection:
    """The sites' section model: the primary outcome by site in a funnel plot."""
    title = "Sites"
    if not inp.table["_site"].notna().any():
        inp.omitted.append(f"The site comparison is omitted: no '{inp.config.site_column}' column.")
        return ReportSection("sites", title, ("Not available: no site information.",))
    from ...rates import outcome_rates
    from ...spc import funnel_table
    from ..figures import funnel_figure

    if inp.primary is not None:
        outcome = f"abstinent_{inp.primary}"
        mask = inp.cohort_mask(inp.primary)
        label = f"{timepoint_text(inp.primary)} abstinence (missing = using)"
        rule = "using"
    else:
        candidates = [
            c
            for c in inp.table.columns
            if c.startswith("milestone_") and inp.table[c].notna().any()
        ]
        if not candidates:
            inp.omitted.append("The site comparison is omitted: no outcome with data.")
            return ReportSection("sites", title, ("Not available: no outcome data.",))
        outcome = candidates[0]
        mask = np.ones(len(inp.table), dtype=bool)
        label = inp.definition.label(outcome) + " (clients with data)"
        rule = "exclude"
    mask = mask & inp.table["_site"].notna().to_numpy(bool)
    sub = inp.pooled_sites(inp.subset(mask))
    rt = outcome_rates(sub, outcome, by="_site", missing=rule, seed=inp.seed).table
    rt = rt.set_index(rt["group"].astype(str))
    counts = pd.DataFrame(
        {"events": rt["n_events"], "non_events": rt["n"] - rt["n_events"]}
    ).astype("int64")
    counts = counts.loc[counts.sum(axis=1) > 0]
    part = inp.log.add("sites", suppress_partition(counts, inp.k))
    funnel_counts = pd.DataFrame(
        {
            "site": list(counts.index),
            "n": [part.shown(s, TOTAL) or 0 for s in counts.index],
            "n_events": [
                np.nan if part.shown(s, "events") is None else float(part.shown(s, "events") or 0)
                for s in counts.index
            ],
            "suppressed": [bool(part.hidden.loc[s].any()) for s in counts.index],
        }
    )
    funnel_counts.loc[funnel_counts["suppressed"], "n_events"] = np.nan
    try:
        funnel = funnel_table(funnel_counts, unit="site", definition=inp.definition, label=label)
    except IopOutcomesError as exc:
        inp.omitted.append(f"The funnel plot could not be drawn: {exc}")
        return ReportSection("sites", title, (f"Not available: {exc}",))
    ft = funnel.to_frame()
    hidden = funnel_counts["suppressed"].to_numpy(bool)
    lower = [c for c in ft.columns if str(c).startswith("lower_")]
    upper = [c for c in ft.columns if str(c).startswith("upper_")]
    frame = pd.DataFrame(
        {
            "site": funnel_counts["site"],
            # a site's n is printed whenever the audit publishes it (a hidden event count
            # does not blank it: the audit counted it as published)
            "n": int_col(part.shown(s, TOTAL) for s in counts.index),
            "n_events": int_col(
                None if h else int(v)
                for h, v in zip(hidden, funnel_counts["n_events"].fillna(0), strict=True)
            ),
            "rate": np.where(hidden, np.nan, ft["rate"].to_numpy(float)),
        }
    )
    for c in (*lower, *upper):
        frame[str(c).replace("lower_", "funnel_low_").replace("upper_", "funnel_high_")] = np.where(
            hidden, np.nan, ft[c].to_numpy(float)
        )
    frame["position"] = np.where(hidden, "", ft["side"].astype(str).to_numpy())
    frame["suppressed"] = hidden
    table = ReportTable(
        "sites",
        f"Sites: {label}",
        frame,
        footnote=(funnel.definition_text() or "")
        + f" Sites with fewer than {inp.k} clients are pooled as '{OTHER_SITES}'; "
        "suppressed sites are neither drawn nor pooled into the target. Sites are listed "
        "by name, never ranked.",
    )
    outside = frame.loc[(frame["position"] != "within") & (frame["position"] != ""), "site"]
    text = (
        f"Outside the {funnel.outer_level:.1%} limits: {', '.join(outside)} (a prompt to look "
        "closer, not a verdict)."
        if len(outside)
        else f"No site lies outside the {funnel.outer_level:.1%} limits: the differences "
        "between sites are compatible with chance."
    )
    return ReportSection("sites", title, (text,), (), (table,), (funnel_figure(funnel, label),))


def build(inp: ReportInputs, computed: Mapping[str, SectionOutput]) -> SectionOutput:
    """Section 9: a funnel plot of the sites (never a ranking)."""
    return SectionOutput(section(inp))
