"""Section 6, completion milestones."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...exceptions import IopOutcomesError
from ..inputs import ReportInputs
from ..labels import fill_parameters
from ..model import ReportSection, ReportTable
from ..suppression import TOTAL, suppress_partition
from .common import SectionOutput, as_float, rate_cells

__all__ = ["MilestonesOutput", "build"]


@dataclass(frozen=True, eq=False)
class MilestonesOutput(SectionOutput):
    """The milestones section and its published table (the summary quotes treatment
    completion from it)."""

    frame: pd.DataFrame | None = None


def build(inp: ReportInputs, computed: Mapping[str, SectionOutput]) -> MilestonesOutput:
    """Section 6: completion milestones by cohort for the episodes discharged in the lookback
    quarters, and the cohorts compared on the comparable milestone."""
    from ...rates import outcome_rates
    from ..figures import milestones_figure

    title = "Completion milestones"
    t = inp.table
    names = [
        c
        for c in t.columns
        if (c.startswith("milestone_") or c == "completed_program") and t[c].notna().any()
    ]
    if not names:
        inp.omitted.append("Milestones are omitted: no milestone has data in these records.")
        return MilestonesOutput(
            ReportSection("milestones", title, ("Not available: no milestone data.",))
        )
    if inp.period is not None:
        mask = t["_discharge_q"].isin(inp.lookback_labels).to_numpy(bool)
        who = f"episodes discharged in {inp.period_text()}"
    else:
        mask = np.ones(len(t), dtype=bool)
        who = "all episodes"
    sub = inp.subset(mask)
    if len(sub.table) == 0:
        inp.omitted.append(f"Milestones are omitted: no {who}.")
        return MilestonesOutput(ReportSection("milestones", title, (f"No {who}.",)))
    d = inp.definition
    # the comparable milestone (same window for every setting) is shown with the others
    comparable = d.comparable_name
    if comparable in t.columns and t[comparable].notna().any():
        names.append(comparable)
    rt = outcome_rates(sub, names, by="cohort", missing="exclude").table
    rows = []
    for name in names:
        r = rt.loc[rt["outcome"] == name].set_index(
            rt.loc[rt["outcome"] == name, "group"].astype(str)
        )
        counts = pd.DataFrame(
            {
                "met": r["n_events"],
                "not_met": r["n"] - r["n_events"],
                "unknown": r["n_missing"],
            }
        ).astype("int64")
        has_eligibility = f"eligible_{name}" in t.columns and "n_not_eligible" in r
        if has_eligibility:  # not eligible: observed too few days (issue 21)
            counts["not_eligible"] = r["n_not_eligible"].astype("int64")
        part = inp.log.add("milestones", suppress_partition(counts, inp.k))
        for group in r.index:
            ev, n, rate, lo, hi, why = rate_cells(
                part,
                group,
                ["met"],
                ["met", "not_met"],
                as_float(r.loc[group, "rate"]),
                as_float(r.loc[group, "ci_low"]),
                as_float(r.loc[group, "ci_high"]),
                inp.min_den,
            )
            rows.append(
                {
                    "milestone": fill_parameters(
                        inp.definition.label(name), inp.definition, name
                    ).removeprefix("Milestone: "),
                    "outcome": name,
                    "cohort": group,
                    "episodes": part.shown(group, TOTAL),
                    "not_eligible": part.shown(group, "not_eligible") if has_eligibility else None,
                    "known": n,
                    "met": ev,
                    "rate": rate,
                    "ci_low": lo,
                    "ci_high": hi,
                    "suppressed": bool(part.hidden.loc[group].any()) or bool(why),
                    "suppression": why or ("complementary" if part.hidden.loc[group].any() else ""),
                }
            )
    frame = pd.DataFrame(rows)
    for c in ("episodes", "not_eligible", "known", "met"):
        frame[c] = frame[c].astype("Int64")
    described = [
        f"{m.name}: {d.milestone_text(m)}" for m in d.milestones if f"milestone_{m.name}" in names
    ]
    table = ReportTable(
        "milestones",
        f"Completion milestones by cohort, {who}",
        frame,
        footnote=(
            "Rate = met / clients with the milestone's data (unknown left out); Wilson 95% "
            "CI. Not eligible = observed fewer days than the milestone needs (e.g. a stay "
            f"shorter than {d.sustained_days} days for a {d.sustained_days}-day run in "
            "treatment): left out of the rate, neither met nor not met. Definitions: "
            + "; ".join(described)
            + ". Completed program: "
            + d.label("completed_program")
            + ". "
            + d.label(comparable)
            + "."
        ),
    )
    paragraphs = [f"Milestones are counted for {who}."]
    stay_dependent = [n for n in names if d.length_of_stay_dependent(n)]
    if stay_dependent:
        paragraphs.append(
            "Milestones counted during treatment are shown for each cohort but not "
            f"compared between cohorts, because a run of {d.sustained_days} abstinent days "
            f"between admission and discharge is only possible in a stay of at least "
            f"{d.sustained_days} days, and stays differ in length between settings."
        )
    tables: list[ReportTable] = [table]
    compared = comparable_milestone(inp, sub, frame)
    if compared is not None:
        tables.append(compared[0])
        paragraphs.append(compared[1])
    fig = milestones_figure(frame)
    section = ReportSection(
        "milestones",
        title,
        tuple(paragraphs),
        (),
        tuple(tables),
        (fig,) if fig is not None else (),
    )
    return MilestonesOutput(section, frame)


def comparable_milestone(
    inp: ReportInputs, sub: Any, frame: pd.DataFrame | None
) -> tuple[ReportTable, str] | None:
    """Cohorts compared on the comparable milestone (the same window for every setting)."""
    from ...compare import compare_rates

    d = inp.definition
    name = d.comparable_name
    ref = inp.config.reference_cohort
    if (
        frame is None
        or name not in set(frame["outcome"])
        or ref not in inp.cohorts
        or len(inp.cohorts) < 2
    ):
        return None
    try:
        cmp = compare_rates(sub, name, by="cohort", reference=ref, missing="exclude")
    except IopOutcomesError as exc:
        inp.omitted.append(f"The comparable milestone could not be compared: {exc}")
        return None
    mine = frame.loc[frame["outcome"] == name].set_index(
        frame.loc[frame["outcome"] == name, "cohort"].astype(str)
    )
    rows = []
    for _, r in cmp.to_frame().iterrows():
        group = str(r["group"])
        ok = all(g in mine.index and not bool(mine.loc[g, "suppressed"]) for g in (group, ref))
        nan = float("nan")
        rows.append(
            {
                "milestone": d.label(name),
                "group": group,
                "reference": str(r["reference"]),
                "diff": as_float(r["diff"]) if ok else nan,
                "diff_ci_low": as_float(r["diff_ci_low"]) if ok else nan,
                "diff_ci_high": as_float(r["diff_ci_high"]) if ok else nan,
                "pvalue": as_float(r.get("pvalue")) if ok else nan,
                "suppressed": not ok,
            }
        )
    table = ReportTable(
        "milestone_comparison",
        f"{d.label(name)}: each cohort vs {ref}",
        pd.DataFrame(rows),
        footnote=(
            f"diff = cohort minus {ref} (percentage points), Newcombe 95% CI, among "
            "eligible clients with the outcome known (complete case). The window is "
            f"{d.window_text(d.comparable_window)} for every setting. Hidden when a count "
            "behind the comparison is suppressed."
        ),
    )
    shown = [r for r in rows if not r["suppressed"]]
    if shown:
        text = (
            "On the same window for every setting ("
            + d.window_text(d.comparable_window)
            + "), "
            + "; ".join(
                f"{r['group']} minus {ref} is {100 * as_float(r['diff']):+.0f} points (95% CI "
                f"{100 * as_float(r['diff_ci_low']):+.0f} to {100 * as_float(r['diff_ci_high']):+.0f})"
                for r in shown
            )
            + "."
        )
    else:
        text = (
            "The cohorts' comparison on the comparable milestone is not shown because a "
            "count behind it is suppressed (small numbers)."
        )
    return table, text
