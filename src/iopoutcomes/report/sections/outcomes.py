"""Section 5, outcomes: abstinence at follow-up and the cohort comparison."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from ...benchmarks import position
from ..inputs import ReportInputs
from ..labels import timepoint_label
from ..model import ReportSection, ReportTable
from ..suppression import Partition, suppress_partition
from .common import SectionOutput, as_float, rate_cells
from .comparison import CohortComparison, compare_cohorts

__all__ = ["OutcomesOutput", "build"]


@dataclass(frozen=True, eq=False)
class OutcomesOutput(SectionOutput):
    """The outcomes section with the published abstinence table, the abstinence partition of
    each timepoint and the cohort comparison (read by the summary and the methods)."""

    abstinence_frame: pd.DataFrame | None = None
    abstinence_parts: Mapping[str, Partition] = field(default_factory=dict)
    comparison: CohortComparison | None = None


def build(inp: ReportInputs, computed: Mapping[str, SectionOutput]) -> OutcomesOutput:
    """Section 5: abstinence at each follow-up by cohort (missing = using and complete case,
    against the literature band) and the cohort comparison."""
    title = "Outcomes: abstinence at follow-up"
    if inp.primary is None:
        inp.omitted.append(
            "Abstinence at follow-up and the IOP vs inpatient comparison are omitted: the "
            "records have no follow-up interviews."
        )
        return OutcomesOutput(
            ReportSection("outcomes", title, ("Not available: no follow-up interviews.",))
        )
    from ...rates import abstinence_rates, outcome_rates
    from ..figures import rates_figure

    frames = []
    parts: dict[str, Partition] = {}
    rule = inp.definition.missing
    for tp in inp.timepoints:
        mask = inp.cohort_mask(tp)
        sub = inp.subset(mask)
        if len(sub.table) == 0:
            continue
        using = abstinence_rates(sub, timepoints=[tp], missing="using").table
        cc = abstinence_rates(sub, timepoints=[tp], missing="exclude").table
        using = using.set_index(using["group"].astype(str))
        cc = cc.set_index(cc["group"].astype(str))
        counts = pd.DataFrame(
            {
                "abstinent": using["n_events"],
                "not_abstinent": cc["n"].reindex(using.index, fill_value=0) - using["n_events"],
                "missing": using["n"] - cc["n"].reindex(using.index, fill_value=0),
            }
        ).astype("int64")
        part = inp.log.add("abstinence", suppress_partition(counts, inp.k))
        parts[tp] = part
        extra = None
        if rule not in ("using", "exclude"):
            extra = outcome_rates(
                sub, f"abstinent_{tp}", by="cohort", missing=rule, seed=inp.seed
            ).table
            extra = extra.set_index(extra["group"].astype(str))
        for group in using.index:
            ev, n, rate, lo, hi, why = rate_cells(
                part,
                group,
                ["abstinent"],
                None,
                as_float(using.loc[group, "rate"]),
                as_float(using.loc[group, "ci_low"]),
                as_float(using.loc[group, "ci_high"]),
                inp.min_den,
            )
            _, n_cc, rate_cc, lo_cc, hi_cc, why_cc = rate_cells(
                part,
                group,
                ["abstinent"],
                ["abstinent", "not_abstinent"],
                as_float(cc.loc[group, "rate"]) if group in cc.index else float("nan"),
                as_float(cc.loc[group, "ci_low"]) if group in cc.index else float("nan"),
                as_float(cc.loc[group, "ci_high"]) if group in cc.index else float("nan"),
                inp.min_den,
            )
            row = {
                "timepoint": tp,
                "cohort": group,
                "n": n,
                "abstinent": ev,
                "missing": part.shown(group, "missing"),
                "rate": rate,
                "ci_low": lo,
                "ci_high": hi,
                "complete_case_n": n_cc,
                "complete_case_rate": rate_cc,
                "complete_case_ci_low": lo_cc,
                "complete_case_ci_high": hi_cc,
                # like for like: the literature band describes clients who were followed
                # up, so the complete-case interval is placed against it
                "benchmark": (
                    position(lo_cc, hi_cc, inp.benchmark)[()] if math.isfinite(rate_cc) else ""
                ),
            }
            if extra is not None:
                ok = math.isfinite(rate)
                row[f"{rule}_rate"] = as_float(extra.loc[group, "rate"]) if ok else float("nan")
            row["suppressed"] = bool(part.hidden.loc[group].any()) or bool(why or why_cc)
            row["suppression"] = (
                why or why_cc or ("complementary" if part.hidden.loc[group].any() else "")
            )
            frames.append(row)
    frame = pd.DataFrame(frames)
    for c in ("n", "abstinent", "missing", "complete_case_n"):
        frame[c] = frame[c].astype("Int64")
    tables = [
        ReportTable(
            "abstinence",
            f"Abstinence at each follow-up by cohort, windows closed in {inp.period_text()}",
            frame,
            footnote=(
                f"{inp.definition.describe()}. Rate: missing = using (not followed up "
                "counts as not abstinent); complete-case columns: only clients with an "
                "observed outcome (missing-data sensitivity). Wilson 95% CI. Benchmark: "
                "position of the complete-case interval against "
                f"{inp.benchmark.text()} — the band describes clients who were followed "
                "up, so it is compared like for like with the complete-case rate, not with "
                "the missing = using rate (which counts everyone not reached as using and "
                "is lower by construction). Rates hidden (—) when a count behind them is "
                f"suppressed or n < {inp.min_den}."
            ),
        )
    ]
    figures = [
        rates_figure(
            frame[["timepoint", "cohort", "suppressed"]].assign(
                group=frame["cohort"],
                n=frame["complete_case_n"],
                rate=frame["complete_case_rate"],
                ci_low=frame["complete_case_ci_low"],
                ci_high=frame["complete_case_ci_high"],
                outcome=[timepoint_label(tp) for tp in frame["timepoint"]],
            ),
            "abstinence",
            "Abstinence among clients followed up (complete case), with the literature band",
            band=inp.benchmark,
        )
    ]
    paragraphs: list[str] = []
    comparison = compare_cohorts(inp, inp.primary, parts.get(inp.primary))
    if comparison is not None:
        tables.append(comparison.table)
        if comparison.intake is not None:
            tables.append(comparison.intake)
        if comparison.figure is not None:
            figures.append(comparison.figure)
        paragraphs.extend(comparison.text)
    section = ReportSection("outcomes", title, tuple(paragraphs), (), tuple(tables), tuple(figures))
    return OutcomesOutput(section, frame, parts, comparison)
