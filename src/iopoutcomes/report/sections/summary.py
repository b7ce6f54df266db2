"""Section 2, executive summary: KPI tiles and plain-language sentences, from the other
sections' published tables only."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from ...definitions import timepoint_text
from ..headline import primary_rows
from ..inputs import ReportInputs
from ..labels import points
from ..model import Kpi, ReportSection
from .common import SectionOutput, as_float, in_ten, pct
from .comparison import comparison_published, headline_sentences
from .followup import FollowupOutput
from .milestones import MilestonesOutput
from .outcomes import OutcomesOutput
from .trends import TrendsOutput

__all__ = ["build", "section"]


def build(inp: ReportInputs, computed: Mapping[str, SectionOutput]) -> SectionOutput:
    """Section 2: KPI tiles and plain-language sentences from the published tables of the
    follow-up, outcomes, milestones and trends sections, the cells suppressed so far and the
    parts omitted (built after those sections)."""
    return SectionOutput(section(inp, computed))


def section(inp: ReportInputs, computed: Mapping[str, SectionOutput]) -> ReportSection:
    """The executive summary's section model (see :func:`build`)."""
    followup = computed.get("followup")
    outcomes = computed.get("outcomes")
    milestones = computed.get("milestones")
    trends = computed.get("trends")
    kpis: list[Kpi] = []
    sentences: list[str] = []
    signals = trends.signals if isinstance(trends, TrendsOutput) else {}
    cohort_frame = followup.cohort_frame if isinstance(followup, FollowupOutput) else None
    if inp.primary is not None and cohort_frame is not None:
        row = cohort_frame.iloc[-1]
        rate = as_float(row["rate"])
        kpis.append(
            Kpi(
                label=f"{timepoint_text(inp.primary).capitalize()} follow-up rate",
                value=pct(rate) if math.isfinite(rate) else "suppressed",
                detail=(
                    f"95% CI {pct(as_float(row['ci_low']))}–{pct(as_float(row['ci_high']))}; "
                    f"n = {row['due']} due"
                    if math.isfinite(rate)
                    else "n too small or suppressed"
                ),
                target=f"target {inp.config.followup_target:.0%}",
                signal=signals.get(
                    "followup", "no trend (study-day data)" if inp.period is None else ""
                ),
            )
        )
        if math.isfinite(rate):
            sentences.append(
                f"{in_ten(rate).capitalize()} clients due for a "
                f"{timepoint_text(inp.primary)} follow-up were interviewed in the window "
                f"({pct(rate)}; target {inp.config.followup_target:.0%})."
            )
    abstinence = outcomes.abstinence_frame if isinstance(outcomes, OutcomesOutput) else None
    if abstinence is not None and inp.primary is not None:
        f = abstinence
        for _, row in f.loc[f["timepoint"] == inp.primary].iterrows():
            rate = as_float(row["rate"])
            kpis.append(
                Kpi(
                    label=f"Abstinent at the {timepoint_text(inp.primary)} follow-up: "
                    f"{row['cohort']}",
                    value=pct(rate) if math.isfinite(rate) else "suppressed",
                    detail=(
                        f"95% CI {pct(as_float(row['ci_low']))}–{pct(as_float(row['ci_high']))}; "
                        f"n = {row['n']}"
                        if math.isfinite(rate)
                        else "n too small or suppressed"
                    ),
                    target=benchmark_note(inp, row),
                    signal=signals.get("abstinence", ""),
                )
            )
    comparison = outcomes.comparison if isinstance(outcomes, OutcomesOutput) else None
    outcome_section_text: list[str] = []
    primary = inp.primary
    if comparison is not None and isinstance(outcomes, OutcomesOutput) and primary is not None:
        if comparison_published(inp, comparison, outcomes.abstinence_parts.get(primary)):
            frame = comparison.frame
            outcome_section_text.extend(
                headline_sentences(
                    inp, primary, frame, comparison.adjust, comparison.intake_frame, summary=True
                )
            )
            for group in dict.fromkeys(frame["group"].astype(str)):
                kpi = comparison_kpi(inp, frame, group)
                if kpi is not None:
                    kpis.append(kpi)
    sentences.extend(outcome_section_text)
    mf = milestones.frame if isinstance(milestones, MilestonesOutput) else None
    if mf is not None:
        done = mf.loc[mf["outcome"] == "milestone_treatment_completed"]
        parts = [
            f"{in_ten(as_float(r['rate']))} {r['cohort']} clients"
            for _, r in done.iterrows()
            if math.isfinite(as_float(r["rate"]))
        ]
        if parts:
            sentences.append("Treatment completed: " + "; ".join(parts) + ".")
    if inp.period is None:
        sentences.append(
            "These records carry study days only, so quarter-based parts of the report are "
            "omitted (see the list below)."
        )
    sentences.append(
        f"{inp.log.total()} table cells were suppressed to protect privacy (values never shown)."
    )
    notes = tuple(inp.omitted)
    return ReportSection("summary", "Executive summary", tuple(sentences), tuple(kpis), notes=notes)


def benchmark_note(inp: ReportInputs, row: pd.Series) -> str:
    """The literature band with the rate it is compared with (complete case: like for
    like), so a missing = using rate is never read against it on its own."""
    band = f"{inp.benchmark.low:.0%}–{inp.benchmark.high:.0%}"
    cc = as_float(row.get("complete_case_rate"))
    if not math.isfinite(cc):
        return f"literature {band} (for clients followed up; complete-case rate hidden)"
    where = {
        "above": "above",
        "below": "below",
        "inside": "within",
        "overlapping": "overlapping",
    }.get(str(row.get("benchmark")), "not comparable with")
    return (
        f"followed up (complete case): {pct(cc)}, {where} the literature {band} "
        "(which describes clients followed up)"
    )


def comparison_kpi(inp: ReportInputs, frame: pd.DataFrame, group: str) -> Kpi | None:
    """The KPI tile of a cohort's primary comparison row (None when hidden)."""
    rows = primary_rows(frame, inp.config.primary, group)
    row = rows.primary
    if row is None or bool(row["suppressed"]):
        return None
    other = rows.other
    detail = (
        f"95% CI {points(as_float(row['diff_ci_low']))} to {points(as_float(row['diff_ci_high']))}"
    )
    if other is not None and not bool(other["suppressed"]):
        name = "unadjusted" if rows.primary_kind == "adjusted" else "adjusted"
        detail += (
            f"; sensitivity ({name}): {points(as_float(other['diff']))} pts, "
            f"{other['verdict'] or 'no verdict'}"
        )
    kind = "case-mix adjusted" if rows.primary_kind == "adjusted" else "unadjusted"
    return Kpi(
        label=f"{row['group']} vs {row['reference']}: primary analysis ({kind})",
        value=f"{points(as_float(row['diff']))} pts",
        detail=detail,
        target=f"margin ±{100 * inp.config.margin:g} pts",
        signal=str(row.get("verdict") or ""),
    )
