"""Section 4, follow-up rate against the target."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from ...definitions import timepoint_text
from ..inputs import OTHER_SITES, ReportInputs
from ..model import ReportSection, ReportTable
from ..suppression import TOTAL, suppress_partition
from .common import SectionOutput, as_float, part_died, pct, rate_cells
from .flow import FlowOutput
from .followup_counts import (
    QuarterCounts,
    followup_footnote,
    followup_frame,
    followup_partition,
    quarter_counts,
)

__all__ = ["FollowupOutput", "build"]


@dataclass(frozen=True, eq=False)
class FollowupOutput(SectionOutput):
    """The follow-up section, the published by-cohort table (its last row is everyone: the
    executive summary's KPI) and the counts by quarter (reused by the trends)."""

    cohort_frame: pd.DataFrame | None = None
    by_quarter: QuarterCounts | None = None


def build(inp: ReportInputs, computed: Mapping[str, SectionOutput]) -> FollowupOutput:
    """Section 4: the primary timepoint's follow-up rate by cohort, by the GPRA rule, by site
    and by quarter of window close, against the target."""
    title = "Follow-up rate against the target"
    if inp.primary is None:
        inp.omitted.append("Follow-up rates are omitted: no follow-up interviews.")
        return FollowupOutput(
            ReportSection(
                "followup",
                title,
                ("Not available: the records have no follow-up interviews.",),
            )
        )
    from ..figures import rates_figure

    tables: list[ReportTable] = []
    flow = computed.get("flow")
    by_cohort = flow.followup if isinstance(flow, FlowOutput) else None
    if by_cohort is None:  # the flow section is not in the report: count here
        by_cohort = followup_partition(inp, inp.primary, "cohort", "flow_followup")
    frame = followup_frame(inp, *by_cohort, "cohort")
    keep = ["cohort", "due", "conducted_in_window", "rate", "ci_low", "ci_high", "target"]
    keep += ["vs_target", "suppressed", "suppression"]
    tables.append(
        ReportTable(
            "followup_by_cohort",
            f"{timepoint_text(inp.primary).capitalize()} follow-up rate by cohort, "
            f"{inp.period_text()}",
            frame[keep].copy(),
            footnote=followup_footnote(inp, inp.primary),
        )
    )
    figures = [
        rates_figure(
            frame.rename(columns={"cohort": "group", "due": "n"}),
            "followup_rates",
            f"{timepoint_text(inp.primary).capitalize()} follow-up rate by cohort "
            f"(target {inp.config.followup_target:.0%})",
            target=inp.config.followup_target,
        )
    ]
    if inp.table["_site"].notna().any():
        part, rt = followup_partition(inp, inp.primary, "site", "followup_by_site")
        site_frame = followup_frame(inp, part, rt, "site")
        tables.append(
            ReportTable(
                "followup_by_site",
                f"{timepoint_text(inp.primary).capitalize()} follow-up rate by site, "
                f"{inp.period_text()}",
                site_frame[["site", *keep[1:]]].copy(),
                footnote=f"Sites listed in data order of their names, never ranked; sites "
                f"with fewer than {inp.k} clients are pooled as '{OTHER_SITES}'. "
                + followup_footnote(inp, inp.primary),
            )
        )
    else:
        inp.omitted.append(
            f"Follow-up rates by site are omitted: no '{inp.config.site_column}' column."
        )
    gpra = gpra_followup_table(inp)
    if gpra is not None:
        tables.insert(1, gpra)
    paragraphs = []
    by_quarter: QuarterCounts | None = None
    if inp.period is not None:
        by_quarter = quarter_counts(inp, inp.primary, "followup")
        if by_quarter is not None:
            tables.append(quarter_followup_table(inp, inp.primary, by_quarter))
    else:
        inp.omitted.append("Follow-up rates by quarter are omitted: study-day records.")
    row = frame.iloc[-1]
    if math.isfinite(as_float(row["rate"])):
        verdict = {
            "above": "is above",
            "below": "is below",
            "overlapping": "is compatible with",
        }.get(str(row["vs_target"]), "cannot be compared with")
        paragraphs.append(
            f"{row['conducted_in_window']} of {row['due']} {timepoint_text(inp.primary)} "
            f"follow-ups due in {inp.period_text()} were conducted in the window "
            f"({pct(as_float(row['rate']))}, 95% CI {pct(as_float(row['ci_low']))} to "
            f"{pct(as_float(row['ci_high']))}); the program {verdict} the "
            f"{inp.config.followup_target:.0%} target."
        )
    section = ReportSection("followup", title, tuple(paragraphs), (), tuple(tables), tuple(figures))
    return FollowupOutput(section, frame, by_quarter)


def gpra_followup_table(inp: ReportInputs) -> ReportTable | None:
    """The 6-month follow-up rate by the GPRA/SPARS rule, beside the library's own table."""
    from ..._ci import proportion_ci
    from ..program import GPRA_RULE_TEXT, gpra_followup_counts

    if inp.primary != "6mo" or not inp.calendar or inp.as_of is None:
        inp.omitted.append(
            "The GPRA/SPARS follow-up rate is omitted: it is defined for 6-month follow-ups "
            "of calendar-dated records."
        )
        return None
    mask = inp.cohort_mask(inp.primary)
    counts = gpra_followup_counts(
        inp.table.loc[mask], inp.snapshot.followups, pd.Timestamp(inp.as_of)
    )
    counts = counts.reindex(inp.cohorts, fill_value=0)
    flags = gpra_followup_counts(
        inp.table.loc[mask], inp.snapshot.followups, pd.Timestamp(inp.as_of),
        per_episode=True,
    )  # fmt: skip
    members = {
        (group, column): (flags[column] * (flags["cohort"] == group)).astype("int64")
        for group in counts.index
        for column in ("conducted_in_window", "not_conducted")
    }
    part = inp.log.add(
        "followup_gpra_rule",
        suppress_partition(counts[["conducted_in_window", "not_conducted"]], inp.k),
        inp.units(members),
    )
    rows = []
    for group in [*counts.index, TOTAL]:
        # the rate from the true counts; _rate_cells publishes it only when every count
        # behind it is published (part.values is <NA> where a cell is hidden)
        raw = counts.sum() if group == TOTAL else counts.loc[group]
        x = int(raw["conducted_in_window"])
        n_due = x + int(raw["not_conducted"])
        lo, hi = proportion_ci(x, n_due, "wilson")
        rate = x / n_due if n_due else float("nan")
        ev, den, rate, lo, hi, why = rate_cells(
            part,
            group,
            ["conducted_in_window"],
            None,
            rate,
            as_float(lo),
            as_float(hi),
            inp.min_den,
        )
        died = int(counts["died_excluded"].sum() if group == TOTAL
                   else counts.loc[group, "died_excluded"])  # fmt: skip
        if 0 < died < inp.k:
            # the difference with the library table's "due" would reveal a small count of
            # deaths: the row is not published
            ev, den, rate, lo, hi = None, None, float("nan"), float("nan"), float("nan")
            why = f"deaths 1-{inp.k - 1} (would be recoverable from the table above)"
        rows.append(
            {
                "cohort": "All" if group == TOTAL else str(group),
                "due": den,
                "conducted_in_window": ev,
                "died_excluded": part_died(died, inp.k),
                "rate": rate,
                "ci_low": lo,
                "ci_high": hi,
                "target": inp.config.followup_target,
                "suppressed": bool(part.hidden.loc[group].any()) or bool(why),
                "suppression": why,
            }
        )
    frame = pd.DataFrame(rows)
    for column in ("due", "conducted_in_window", "died_excluded"):
        frame[column] = frame[column].astype("Int64")
    return ReportTable(
        "followup_gpra_rule",
        f"6-month follow-up rate by the GPRA/SPARS rule, {inp.period_text()} (for "
        "reconciliation with the funder's numbers)",
        frame,
        footnote=GPRA_RULE_TEXT
        + " Same episodes as the table above (windows closed in the lookback quarters); "
        "the rate above uses the library's rule (see the methods).",
    )


def quarter_followup_table(inp: ReportInputs, primary: str, got: QuarterCounts) -> ReportTable:
    """The follow-up rate by quarter of window close (the trend quarters)."""
    part, rt, _ = got
    frame = followup_frame(inp, part, rt, "quarter").iloc[:-1]
    keep = ["quarter", "due", "conducted_in_window", "rate", "ci_low", "ci_high", "target"]
    return ReportTable(
        "followup_by_quarter",
        f"{timepoint_text(primary).capitalize()} follow-up rate by quarter of window close",
        frame[[*keep, "vs_target", "suppressed", "suppression"]].reset_index(drop=True),
        footnote="Quarter = the quarter in which the follow-up window closed (the follow-up "
        "became due). " + followup_footnote(inp, primary),
    )
