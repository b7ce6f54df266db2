"""Section 3, cohort flow: who entered, left and became due for follow-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from ...definitions import timepoint_text
from ..inputs import ReportInputs
from ..model import ReportFigure, ReportSection, ReportTable
from ..suppression import TOTAL, suppress_partition
from .common import SectionOutput
from .followup_counts import FollowupCounts, followup_footnote, followup_frame, followup_partition

__all__ = ["FlowOutput", "build"]


@dataclass(frozen=True, eq=False)
class FlowOutput(SectionOutput):
    """The flow section and the primary timepoint's follow-up partition (``flow_followup``),
    which the follow-up section publishes as rates."""

    followup: FollowupCounts | None = None


def build(inp: ReportInputs, computed: Mapping[str, SectionOutput]) -> FlowOutput:
    """Section 3: activity in the quarter (or episodes, for study days) and the primary
    timepoint's follow-ups due, by cohort."""
    paragraphs: list[str] = []
    tables: list[ReportTable] = []
    t = inp.table
    if inp.period is not None:
        q = str(inp.period)
        counts = pd.DataFrame(index=pd.Index(inp.cohorts, name="cohort"))
        cohort = t["cohort"].astype("string")
        counts["admissions"] = (
            (t["_admission_q"] == q).fillna(False).groupby(cohort).sum()
        ).reindex(inp.cohorts, fill_value=0)
        counts["discharges"] = (
            (t["_discharge_q"] == q).fillna(False).groupby(cohort).sum()
        ).reindex(inp.cohorts, fill_value=0)
        counts["in_care_at_end"] = (t["discharge_date"].isna().groupby(cohort).sum()).reindex(
            inp.cohorts, fill_value=0
        )
        if inp.primary is not None:
            pending = (t[f"followup_status_{inp.primary}"] == "pending").fillna(False)
            counts["followups_pending"] = (
                pending.groupby(cohort).sum().reindex(inp.cohorts, fill_value=0)
            )
        part = inp.log.add("flow_quarter", suppress_partition(counts, inp.k))
        frame = part.values.drop(columns=[TOTAL]).rename_axis("cohort").reset_index()
        frame["cohort"] = frame["cohort"].astype(str)
        frame["suppressed"] = part.hidden.drop(columns=[TOTAL]).any(axis=1).to_numpy()
        tables.append(
            ReportTable(
                "flow_quarter",
                f"Activity in {q} by cohort",
                frame,
                footnote=(
                    f"Admissions and discharges dated in {q}; clients in care and "
                    f"{timepoint_text(inp.primary or '')} follow-ups pending (window still "
                    f"open) at the end of {q}. Counts 1-{inp.k - 1} are suppressed and "
                    "other cells hidden so they cannot be recovered (— = suppressed)."
                ),
            )
        )
    else:
        inp.omitted.append(
            "Activity in the quarter (admissions, discharges) is omitted: study-day records "
            "have no calendar dates."
        )
        counts = pd.DataFrame({"episodes": inp.table.groupby("cohort").size()}).reindex(
            inp.cohorts, fill_value=0
        )
        counts["discharged"] = (
            inp.table["discharge_day"].notna().groupby(inp.table["cohort"]).sum()
        ).reindex(inp.cohorts, fill_value=0)
        counts["not_discharged"] = counts["episodes"] - counts["discharged"]
        part = inp.log.add(
            "flow_episodes",
            suppress_partition(counts[["discharged", "not_discharged"]], inp.k),
        )
        frame = part.values.rename(columns={TOTAL: "episodes"}).rename_axis("cohort")
        frame = frame.reset_index()
        frame["cohort"] = frame["cohort"].astype(str)
        frame["suppressed"] = part.hidden.any(axis=1).to_numpy()
        tables.append(
            ReportTable(
                "flow_episodes",
                "Episodes by cohort",
                frame,
                footnote="Discharged = a discharge (or scheduled end) day is recorded. "
                f"Counts 1-{inp.k - 1} are suppressed (— = suppressed).",
            )
        )
    figures: list[ReportFigure] = []
    followup: FollowupCounts | None = None
    if inp.primary is None:
        inp.omitted.append("Follow-up flow is omitted: the records have no follow-up interviews.")
    else:
        followup = followup_partition(inp, inp.primary, "cohort", "flow_followup")
        frame = followup_frame(inp, *followup, "cohort")
        tables.append(
            ReportTable(
                "flow_followup",
                f"{timepoint_text(inp.primary).capitalize()} follow-ups due in "
                f"{inp.period_text()} by cohort",
                frame,
                footnote=followup_footnote(inp, inp.primary),
            )
        )
        from ..figures import cascade_figure

        figures.append(cascade_figure(frame, inp.primary))
    paragraphs.append(
        "Who is counted: "
        + (
            f"a {timepoint_text(inp.primary or '6mo')} follow-up is due once its window "
            f"has closed; this report counts windows that closed in {inp.period_text()} "
            f"(the {inp.config.lookback_quarters} quarters ending with {inp.period})."
            if inp.period is not None
            else "all episodes of the records (study-day data have no quarters)."
        )
    )
    section = ReportSection(
        "flow", "Cohort flow", tuple(paragraphs), (), tuple(tables), tuple(figures)
    )
    return FlowOutput(section, followup)
