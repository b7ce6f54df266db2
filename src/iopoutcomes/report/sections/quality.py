"""Section 10, data quality: rejected input rows, item missingness, interviews outside their
window and the retention-bias table (:mod:`.retention`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ...definitions import timepoint_text
from ...schema import EXPORT_REJECTION_REASONS, MILESTONE_MEASURES, REJECTION_REASONS
from ..inputs import ReportInputs
from ..model import ReportFigure, ReportSection, ReportTable
from ..suppression import TOTAL, suppress_partition
from .common import SectionOutput, int_col
from .retention import retention_bias

__all__ = ["build", "missingness_table", "out_of_window_table", "section"]


def section(inp: ReportInputs) -> ReportSection:
    """The data-quality section model (see :func:`build`)."""
    tables: list[ReportTable] = []
    figures: list[ReportFigure] = []
    paragraphs: list[str] = []
    rc = inp.records.rejection_counts()
    if len(rc):
        rc = rc.copy()
        counts = pd.DataFrame(
            {"rows": rc["count"].to_numpy()},
            index=[f"{a}: {b}" for a, b in zip(rc["table"], rc["reason"], strict=True)],
        )
        part = inp.log.add("rejected", suppress_partition(counts, inp.k))
        frame = pd.DataFrame(
            {
                "table": rc["table"].astype(str).to_numpy(),
                "reason": rc["reason"].astype(str).to_numpy(),
                "meaning": [
                    REJECTION_REASONS.get(str(r)) or EXPORT_REJECTION_REASONS.get(str(r), "")
                    for r in rc["reason"]
                ],
                "rows": int_col(part.shown(i, "rows") for i in counts.index),
            }
        )
        tables.append(
            ReportTable(
                "rejected_rows",
                "Rejected input rows by reason (counts only)",
                frame,
                footnote="Each rejected row is counted once, for its first reason. Values "
                "and identifiers are never shown.",
            )
        )
    else:
        paragraphs.append("No input row was rejected.")
    summary = inp.records.summary()
    shown = rejected_by_table(inp, rc, summary)
    paragraphs.append(
        "Rows read / accepted / rejected: "
        + "; ".join(
            f"{r.table} {r.read:,} / {r.accepted:,} / {r.rejected:,}"
            if shown.get(str(r.table), True)
            else f"{r.table} {r.read:,} / — / —"
            for r in summary.itertuples(index=False)
        )
        + "."
    )
    if (getattr(inp.records, "options", None) or {}).get("remarks_in_report"):
        paragraphs.extend(str(r) for r in getattr(inp.records, "remarks", ()))
    if inp.primary is not None:
        tables.append(missingness_table(inp, inp.primary))
        tables.append(out_of_window_table(inp))
        rb = retention_bias(inp, inp.primary)
        if rb is not None:
            tables.append(rb[0])
            if rb[1] is not None:
                figures.append(rb[1])
    else:
        inp.omitted.append(
            "Item missingness, out-of-window interviews and the retention-bias table are "
            "omitted: no follow-up interviews."
        )
    return ReportSection(
        "quality", "Data quality", tuple(paragraphs), (), tuple(tables), tuple(figures)
    )


def rejected_by_table(
    inp: ReportInputs, rc: pd.DataFrame, summary: pd.DataFrame
) -> dict[str, bool]:
    """Audit the per-table rejected counts printed in the data-quality paragraph (they add
    up the rejected-rows table's reasons): table -> whether its counts may be printed."""
    if not len(rc):
        return {}
    per_table = rc.groupby(rc["table"].astype(str), sort=False)["count"].sum()
    printed = summary.set_index(summary["table"].astype(str))["rejected"]
    if not per_table.reindex(printed.index, fill_value=0).astype(int).equals(printed.astype(int)):
        return {str(t): False for t in printed.index}  # cannot be audited: not printed
    tables = [t for t in printed.index if int(printed[t]) > 0]
    counts = pd.DataFrame({"rows": [int(printed[t]) for t in tables]}, index=tables)
    n = len(inp.table)
    sizes = rc["count"].to_numpy(dtype=np.int64)
    starts = n + np.concatenate([[0], np.cumsum(sizes)[:-1]])
    total = n + int(sizes.sum())
    members = {}
    for t in tables:
        w = np.zeros(total, dtype=np.int64)
        for start, size, owner in zip(starts, sizes, rc["table"].astype(str), strict=True):
            if owner == t:
                w[start : start + size] = 1
        members[(t, "rows")] = w
    part = inp.log.add("rejected_by_table", suppress_partition(counts, inp.k), members)
    return {t: part.shown(t, "rows") is not None for t in tables}


def missingness_table(inp: ReportInputs, primary: str) -> ReportTable:
    """Item missingness in the completed interviews of the primary timepoint."""
    fu = inp.snapshot.followups
    ids = set(inp.table.loc[inp.cohort_mask(primary), "episode_id"].astype(str))
    rows = fu.loc[
        (fu["timepoint"] == primary).to_numpy(bool)
        & (fu["status"] == "completed").fillna(False).to_numpy(bool)
        & fu["episode_id"].astype(str).isin(ids).to_numpy(bool)
    ]
    items = [
        c
        for c in (
            "days_used_past30",
            "days_alcohol_past30",
            "days_drugs_past30",
            "uds_result",
            *MILESTONE_MEASURES,
        )
        if c in rows.columns and fu[c].notna().any()
    ]
    shown_n: list[int | None] = []
    shown_missing: list[int | None] = []
    for item in items:  # one audited 1 x 2 table per item: items share no published total
        counts = pd.DataFrame(
            {
                "missing": [int(rows[item].isna().sum())],
                "present": [int(rows[item].notna().sum())],
            },
            index=[item],
        )
        part = inp.log.add("missingness", suppress_partition(counts, inp.k))
        shown_n.append(part.shown(item, TOTAL))
        shown_missing.append(part.shown(item, "missing"))
    frame = pd.DataFrame(
        {"item": items, "interviews": int_col(shown_n), "missing": int_col(shown_missing)}
    )
    frame["missing_pct"] = [
        (m / n) if (m is not pd.NA and n is not pd.NA and n) else float("nan")
        for m, n in zip(frame["missing"], frame["interviews"], strict=True)
    ]
    return ReportTable(
        "missingness",
        f"Item missingness in completed {timepoint_text(primary)} interviews, {inp.period_text()}",
        frame,
        footnote="Share of completed interviews with the item empty. Items never recorded "
        "in these data are not listed.",
    )


def out_of_window_table(inp: ReportInputs) -> ReportTable:
    """Completed interviews inside and outside their window, per timepoint."""
    from ...rates import followup_rates

    rows = []
    for tp in inp.timepoints:
        sub = inp.subset(inp.cohort_mask(tp))
        if len(sub.table) == 0:
            continue
        t = followup_rates(sub, by=None, timepoints=[tp]).table.iloc[0]
        rows.append((tp, int(t["conducted_in_window"]), int(t["conducted_out_of_window"])))
    counts = pd.DataFrame(
        {"in_window": [r[1] for r in rows], "out_of_window": [r[2] for r in rows]},
        index=[r[0] for r in rows],
    )
    part = inp.log.add("out_of_window", suppress_partition(counts, inp.k))
    index = list(counts.index)
    frame = pd.DataFrame(
        {
            "timepoint": index,
            "completed": int_col(part.shown(i, TOTAL) for i in index),
            "in_window": int_col(part.shown(i, "in_window") for i in index),
            "out_of_window": int_col(part.shown(i, "out_of_window") for i in index),
        }
    )
    handling = (
        "still give an outcome (the definition counts out-of-window assessments)"
        if inp.definition.out_of_window == "count"
        else "are treated as missing (the definition's out-of-window rule)"
    )
    return ReportTable(
        "out_of_window",
        f"Completed interviews inside and outside their window, {inp.period_text()}",
        frame,
        footnote="Out-of-window interviews never count toward the follow-up rate; for "
        f"outcomes they {handling}.",
    )


def build(inp: ReportInputs, computed: Mapping[str, SectionOutput]) -> SectionOutput:
    """Section 10: rejected rows, item missingness, out-of-window interviews, retention bias."""
    return SectionOutput(section(inp))
