"""The cohort comparison of the outcomes section: each cohort vs the reference cohort on the
primary timepoint's abstinence, its headline sentences and the intake profile.

The executive summary and the methods read the same :class:`CohortComparison`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...definitions import timepoint_text
from ...exceptions import IopOutcomesError
from ..headline import (
    INTAKE_COVARIATES,
    disagreement_sentence,
    intake_profile,
    intake_sentence,
    named_tests,
    primary_rows,
    result_sentence,
)
from ..inputs import ReportInputs
from ..model import ReportFigure, ReportTable
from ..suppression import TOTAL, Partition
from .common import as_float

__all__ = ["CohortComparison", "compare_cohorts", "comparison_published", "headline_sentences"]


@dataclass(frozen=True, eq=False)
class CohortComparison:
    """The computed comparison and what the report publishes of it.

    Attributes
    ----------
    result : Comparison
        ``compare_rates`` on the outcome cohort (unsuppressed: never published as is).
    frame : pandas.DataFrame
        The published table (rows hidden where a count behind them is suppressed).
    adjust : tuple of str
        The case-mix covariates used.
    intake_frame : pandas.DataFrame or None
        The intake profile (only when nothing is adjusted).
    table, intake, figure : ReportTable, ReportTable or None, ReportFigure or None
    text : tuple of str
        The outcomes section's sentences about the comparison.
    """

    result: Any
    frame: pd.DataFrame
    adjust: tuple[str, ...]
    intake_frame: pd.DataFrame | None
    table: ReportTable
    intake: ReportTable | None
    figure: ReportFigure | None
    text: tuple[str, ...]


def compare_cohorts(
    inp: ReportInputs, primary: str, part: Partition | None
) -> CohortComparison | None:
    """Compare each cohort with the reference on the primary timepoint's abstinence.

    ``part`` is the abstinence partition of that timepoint (the counts a comparison row
    reveals must all be published in it). None when there is no reference cohort or the
    comparison cannot be computed (the reason is added to ``inp.omitted``).
    """
    from ...compare import compare_rates
    from ..figures import comparison_figure

    ref = inp.config.reference_cohort
    if ref not in inp.cohorts or len(inp.cohorts) < 2:
        inp.omitted.append(
            f"The cohort comparison is omitted: the reference cohort '{ref}' "
            f"(report.reference_cohort) is not among the {len(inp.cohorts)} cohorts."
        )
        return None
    tp = primary
    sub = inp.subset(inp.cohort_mask(tp))
    adjust = [c for c in inp.config.adjust if c in sub.table.columns]
    absent = [c for c in inp.config.adjust if c not in sub.table.columns]
    if absent:
        inp.omitted.append(
            f"Adjustment covariates {absent} are not in the records and were not used."
        )
    outcome = f"abstinent_{tp}"
    try:
        main = compare_rates(
            sub,
            outcome,
            by="cohort",
            reference=ref,
            margin=inp.config.margin,
            adjust=adjust or None,
            missing=inp.definition.missing,
            seed=inp.seed,
        )
    except IopOutcomesError as exc:
        inp.omitted.append(f"The cohort comparison could not be computed: {exc}")
        return None
    intake = None if adjust else intake_table(inp, sub)
    intake_frame = None if intake is None else intake.frame
    rows = []
    publishable: dict[str, bool] = {}
    missing_published = True
    # compare_rates adds the sensitivity rows (complete case, bounds) when outcomes are
    # missing; the report shows the primary rule, complete case and the Horowitz-Manski
    # worst and best cases (the two "all missing" rows are not bounds for the difference)
    sensitivity = {"exclude": "complete case"}
    for source, label in ((main, None),):
        t = source.to_frame()
        for _, r in t.iterrows():
            row_rule = str(r["missing"])
            primary_row = row_rule == main.missing_rule or (
                main.missing_rule == "bounds" and row_rule.startswith("bounds")
            )
            if primary_row:
                label = None
            elif row_rule in sensitivity:
                label = sensitivity[row_rule]
            elif row_rule.startswith("bounds: worst case"):
                label = "worst case"
            elif row_rule.startswith("bounds: best case"):
                label = "best case"
            else:
                continue
            group = str(r["group"])
            # the counts a row reveals: every row the cohort sizes and the abstinent counts
            # (missing = using); complete case and the bounds also the missing counts
            revealed = [TOTAL, "abstinent"] + ([] if label is None else ["missing"])
            ok = part is not None and all(
                not bool(
                    part.hidden.loc[g, [c for c in revealed if c in part.hidden.columns]].any()
                )
                and (part.shown(g, TOTAL) or 0) >= inp.min_den
                for g in (group, ref)
                if g in part.hidden.index
            )
            if label is None or main.missing_rule != "using":
                publishable[group] = publishable.get(group, True) and ok
            else:  # the missing counts: published, or the sensitivity text is left out
                missing_published = missing_published and ok
            analysis = str(r["analysis"]) if label is None else f"unadjusted ({label})"
            nan = float("nan")
            test, ni_test = named_tests(pd.Series({"analysis": analysis, **dict(r)}))
            rows.append(
                {
                    "role": "",
                    "analysis": analysis,
                    "missing": str(r["missing"]),
                    "group": group,
                    "reference": str(r["reference"]),
                    "diff": as_float(r["diff"]) if ok else nan,
                    "diff_ci_low": as_float(r["diff_ci_low"]) if ok else nan,
                    "diff_ci_high": as_float(r["diff_ci_high"]) if ok else nan,
                    "equivalence_ci_low": as_float(r.get("equivalence_ci_low")) if ok else nan,
                    "equivalence_ci_high": as_float(r.get("equivalence_ci_high")) if ok else nan,
                    "margin": inp.config.margin,
                    "verdict": (str(r.get("verdict")) if ok and r.get("verdict") else ""),
                    "noninferiority_pvalue": as_float(r.get("noninferiority_pvalue"))
                    if ok
                    else nan,
                    "noninferiority_test": ni_test,
                    "pvalue": as_float(r.get("pvalue")) if ok else nan,
                    "test": test,
                    "suppressed": not ok,
                }
            )
    frame = pd.DataFrame(rows)
    frame["role"] = "sensitivity"
    for group in dict.fromkeys(frame["group"]):
        picked = primary_rows(frame, inp.config.primary, group)
        if picked.primary is not None:
            frame.loc[picked.primary.name, "role"] = "primary"
    order = np.argsort((frame["role"] != "primary").to_numpy(), kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)  # the primary analysis first
    if inp.config.primary == "adjusted" and not (
        frame["analysis"].astype(str).str.startswith("adjusted").any()
    ):
        inp.omitted.append(
            "The primary analysis is set to adjusted, but no case-mix adjusted estimate "
            "could be produced (no configured covariate in the records, or a missing-data "
            "rule without adjusted rows): the headline uses the unadjusted analysis."
        )
    table = ReportTable(
        "comparison",
        f"{timepoint_text(tp).capitalize()} abstinence: each cohort vs {ref}",
        frame,
        footnote=(
            f"Primary analysis: {inp.config.primary}"
            + (
                " (set by [comparison] primary)"
                if inp.config.primary_analysis
                else " (the default: adjusted whenever case-mix covariates are configured)"
            )
            + "; the other rows are sensitivity analyses. "
            f"Difference = cohort minus {ref} in percentage points, Miettinen-Nurminen 95% "
            "CI (the 'N-1' chi-square p-value of no difference and the non-inferiority "
            "test, one-sided at 2.5%, invert it; adjusted rows: delta-method Wald). "
            f"Equivalence margin ±{100 * inp.config.margin:g} points: two one-sided tests "
            "at 5% each with the 90% CI (adjusted rows: Wald tests); the non-inferiority "
            "p-value is the one-sided test against minus the margin. Complete case and "
            "worst/best case (Horowitz-Manski bounds) are sensitivity analyses of missing "
            "outcomes. Adjusted rows: case-mix adjusted (g-computation, IPTW) for "
            + (", ".join(adjust) if adjust else "no covariates (none configured)")
            + ". Hidden when a count behind the comparison is suppressed."
        ),
    )
    text: list[str] = []
    if all(publishable.values()):
        text.extend(headline_sentences(inp, primary, frame, adjust, intake_frame))
        if missing_published:  # the tipping point rests on the missing counts
            from ...sensitivity import report_sentences  # tipping point + delta imputation

            text.extend(
                report_sentences(
                    sub, outcome, reference=ref, margin=inp.config.margin, covariates=adjust
                )
            )
        else:
            text.append(
                "The missing-data sensitivity analyses (complete case, bounds, tipping "
                "point) are not shown: the counts of missing outcomes are suppressed."
            )
        figure = comparison_figure(frame, tp)
    else:
        text.append(
            "The cohort comparison is not shown because a count behind it is suppressed "
            "(small numbers)."
        )
        figure = None
    return CohortComparison(
        result=main,
        frame=frame,
        adjust=tuple(adjust),
        intake_frame=intake_frame,
        table=table,
        intake=intake,
        figure=figure,
        text=tuple(text),
    )


def headline_sentences(
    inp: ReportInputs,
    primary: str,
    frame: pd.DataFrame,
    adjust: Sequence[str],
    intake: pd.DataFrame | None,
    *,
    summary: bool = False,
) -> list[str]:
    """Primary analysis first, the other analysis as a sensitivity analysis, any
    disagreement in plain words, then (section text only) the complete-case row; from the
    published comparison table only."""
    when = f"the {timepoint_text(primary)} follow-up"
    margin = inp.config.margin
    adjust = list(adjust)
    out: list[str] = []
    for group in dict.fromkeys(frame["group"].astype(str)):
        rows = primary_rows(frame, inp.config.primary, group)
        if rows.primary is not None and not bool(rows.primary["suppressed"]):
            out.append(result_sentence(rows.primary, "Primary analysis", when, margin, adjust))
        if rows.other is not None and not bool(rows.other["suppressed"]):
            out.append(result_sentence(rows.other, "Sensitivity analysis", when, margin, adjust))
        text = disagreement_sentence(rows, margin)
        if text:
            out.append(text)
        cc = rows.complete_case
        if not summary and cc is not None and not bool(cc["suppressed"]):
            out.append(result_sentence(cc, "Missing-data sensitivity", when, margin, adjust))
    if not adjust and intake is not None:
        ref = inp.config.reference_cohort
        for group in dict.fromkeys(intake["group"].astype(str)):
            rows_g = intake.loc[intake["group"].astype(str) == group]
            out.append(intake_sentence(rows_g, group, ref))
    return out


def intake_table(inp: ReportInputs, sub: Any) -> ReportTable | None:
    """The cohorts' intake profile side by side (only when no covariates are configured)."""
    ref = inp.config.reference_cohort
    frames = []
    for group in inp.cohorts:
        if group == ref:
            continue
        f = intake_profile(
            sub.table,
            "cohort",
            group,
            ref,
            INTAKE_COVARIATES,
            inp.k,
            lambda key, part, members=None: inp.log.add(key, part, inp.units(members)),
        )
        if len(f):
            frames.append(f.assign(group=group)[["group", *f.columns]])
    if not frames:
        return None
    frame = pd.concat(frames, ignore_index=True)
    for c in ("n", "n_ref"):
        frame[c] = frame[c].astype("Int64")
    return ReportTable(
        "intake_profile",
        f"Intake profile: each cohort vs {ref}, {timepoint_text(inp.primary or '')} outcome cohort",
        frame,
        footnote=(
            "The comparison is not case-mix adjusted (no covariates in [comparison] "
            f"adjust). value: share of the cohort with the level, or the mean; smd: "
            f"standardized difference, cohort minus {ref} (Austin 2009); |smd| > 0.1 means "
            "the cohorts differ at intake. Rows hidden when a count is suppressed; a mean "
            f"is shown only when at least {inp.k} clients of each cohort contribute."
        ),
    )


def comparison_published(
    inp: ReportInputs, comparison: CohortComparison | None, part: Partition | None
) -> bool:
    """Whether every count behind the comparison is published (``part``: the primary
    timepoint's abstinence partition) with enough clients in each compared cohort."""
    if comparison is None or inp.primary is None or part is None:
        return False
    groups = {str(g) for g in comparison.result.to_frame()["group"]} | {inp.config.reference_cohort}
    # only the counts the primary analysis reveals, as in the comparison table: a hidden
    # missing count (missing = using) does not hide the headline comparison
    using = getattr(comparison.result, "missing_rule", "using") == "using"
    revealed = [c for c in (TOTAL, "abstinent", *(() if using else ("missing",)))
                if c in part.hidden.columns]  # fmt: skip
    return all(
        g in part.hidden.index
        and not bool(part.hidden.loc[g, revealed].any())
        and (part.shown(g, TOTAL) or 0) >= inp.min_den
        for g in groups
    )
