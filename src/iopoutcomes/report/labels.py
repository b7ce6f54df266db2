"""Human column labels and one number format per quantity, for the report's HTML, PDF and XLSX.

The CSV and JSON files keep the code names (``conducted_in_window``, ``diff_ci_high``) and the
unrounded numbers; what a person reads gets a label and a fixed format per kind of quantity:

========== ==================================== =========================== ==================
quantity   columns                              HTML / PDF                  XLSX
========== ==================================== =========================== ==================
rate       rates, their limits, targets, SPC    ``67.9%``                   0.679, ``0.0%``
points     differences, their limits, margins   ``+6.5 pts``                6.5, ``+0.0 "pts"``
pvalue     p-values                             ``0.003``, ``<0.001``       0.003, ``0.000``
smd        standardized differences             ``+0.19``                   0.19, ``+0.00``
count      counts                               ``1,234``                   1234, ``#,##0``
========== ==================================== =========================== ==================

Examples
--------
>>> column_label("conducted_in_window"), column_label("diff_ci_high")
('Conducted in window', 'Difference, 95% CI high')
>>> format_cell(0.6789, "rate"), format_cell(0.065, "diff"), format_cell(0.0004, "pvalue")
('67.9%', '+6.5 pts', '<0.001')
>>> format_cell(0.1, "margin"), format_cell(1234, "due")
('±10.0 pts', '1,234')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..definitions import MISSING_RULE_LABELS

__all__ = [
    "COLUMN_LABELS",
    "HIDDEN_COLUMNS",
    "OTHER_SITES",
    "column_label",
    "display_columns",
    "excel_format",
    "excel_value",
    "fill_parameters",
    "format_cell",
    "quantity",
    "points",
    "run_date_text",
    "timepoint_label",
]

OTHER_SITES = "Other sites"
"""Label of the pooled row of sites too small to show on their own (the report and its audit)."""

Quantity = Literal["rate", "points", "margin", "pvalue", "smd", "count", "number", "text", "flag"]

COLUMN_LABELS: dict[str, str] = {
    # groups and keys
    "cohort": "Cohort",
    "site": "Site",
    "quarter": "Quarter",
    "timepoint": "Follow-up",
    "group": "Cohort",
    "reference": "Reference",
    "analysis": "Analysis",
    "role": "Role",
    "milestone": "Milestone",
    "outcome": "Outcome code",
    "item": "Item",
    "covariate": "Characteristic",
    "level": "Level",
    "table": "Table",
    "reason": "Reason code",
    "meaning": "Reason",
    "rows": "Rows",
    "date": "Date",
    "version": "Version",
    "change": "Change",
    "value": "Value",
    # flow
    "admissions": "Admissions",
    "discharges": "Discharges",
    "in_care_at_end": "In care at quarter end",
    "followups_pending": "Follow-ups pending",
    "episodes": "Episodes",
    "discharged": "Discharged",
    "not_discharged": "Not discharged",
    "due": "Follow-ups due",
    "conducted_in_window": "Conducted in window",
    "conducted_out_of_window": "Conducted out of window",
    "not_conducted": "Not conducted",
    # rates
    "n": "Clients",
    "n_events": "Events",
    "abstinent": "Abstinent",
    "missing": "Missing outcome",
    "rate": "Rate",
    "ci_low": "95% CI low",
    "ci_high": "95% CI high",
    "target": "Target",
    "vs_target": "Against target",
    "complete_case_n": "Complete case: clients",
    "complete_case_rate": "Complete case: rate",
    "complete_case_ci_low": "Complete case: 95% CI low",
    "complete_case_ci_high": "Complete case: 95% CI high",
    "benchmark": "Complete-case rate vs literature band",
    "known": "Known",
    "met": "Met",
    # comparison
    "diff": "Difference",
    "diff_ci_low": "Difference, 95% CI low",
    "diff_ci_high": "Difference, 95% CI high",
    "equivalence_ci_low": "90% CI low (margin test)",
    "equivalence_ci_high": "90% CI high (margin test)",
    "margin": "Margin",
    "verdict": "Verdict",
    "noninferiority_pvalue": "Non-inferiority p",
    "noninferiority_test": "Non-inferiority test",
    "pvalue": "p (no difference)",
    "test": "Test (no difference)",
    # SPC and funnel
    "centre": "Centre line",
    "lcl": "Lower limit",
    "ucl": "Upper limit",
    "signal": "Signal",
    "funnel_low_95": "95% limit low",
    "funnel_low_99_8": "99.8% limit low",
    "funnel_high_95": "95% limit high",
    "funnel_high_99_8": "99.8% limit high",
    "position": "Position",
    # data quality
    "interviews": "Interviews",
    "missing_pct": "Missing (%)",
    "completed": "Completed",
    "in_window": "In window",
    "out_of_window": "Out of window",
    "followed_n": "Followed up: n",
    "followed_value": "Followed up: share or mean",
    "not_followed_n": "Not followed up: n",
    "not_followed_value": "Not followed up: share or mean",
    "smd": "Standardized difference",
    "n_ref": "Reference: n",
    "value_ref": "Reference: share or mean",
    # milestones and the funder's follow-up rule
    "not_eligible": "Not eligible (observed too few days)",
    "died_excluded": "Deaths (left out of due)",
    # measurement-based care
    "instrument": "Instrument",
    "assessments": "Assessments",
    "scored": "Scored",
    "with_intake_score": "With an intake score",
    "with_discharge_score": "With a discharge score",
    "with_both": "With both",
    "intake_rate": "Share with an intake score",
    "both_rate": "Share with both",
    "clients": "Clients",
    "recovered": "Recovered",
    "recovered_rate": "Recovered (share)",
    "improved": "Improved",
    "improved_rate": "Improved (share)",
    "unchanged": "Unchanged",
    "unchanged_rate": "Unchanged (share)",
    "deteriorated": "Deteriorated",
    "deteriorated_rate": "Deteriorated (share)",
    "rule": "Rule",
    # privacy flags
    "suppressed": "Suppressed",
    "suppression": "Why suppressed",
}
"""Code name -> human label (the code names stay in the CSV and JSON files)."""

TABLE_LABELS: dict[tuple[str, str], str] = {
    ("comparison", "missing"): "Missing outcomes",
    ("comparison", "group"): "Cohort",
    ("comparison", "diff_ci_low"): "95% CI low",
    ("comparison", "diff_ci_high"): "95% CI high",
    ("comparison", "equivalence_ci_low"): "90% CI low",
    ("comparison", "equivalence_ci_high"): "90% CI high",
    ("comparison", "noninferiority_test"): "Non-inferiority test",
    ("comparison", "pvalue"): "p, no difference",
    ("comparison", "test"): "Test, no difference",
    ("intake_profile", "n"): "Cohort: n",
    ("intake_profile", "value"): "Cohort: share or mean",
    ("trend_followup", "n"): "Follow-ups due",
    ("trend_followup", "n_events"): "Conducted in window",
    ("trend_abstinence", "n"): "Clients",
    ("trend_abstinence", "n_events"): "Abstinent",
    ("sites", "n_events"): "Abstinent",
    ("missingness", "missing"): "Missing",
    ("stamp", "item"): "Item",
    ("stamp", "value"): "Value",
}
"""Labels that depend on the table (the same code name means different things)."""

HIDDEN_COLUMNS: dict[str, tuple[str, ...]] = {"milestones": ("outcome",)}
"""Columns left out of the HTML/PDF (their content is already shown in words)."""

_RATE = {
    "rate",
    "ci_low",
    "ci_high",
    "rate_ref",
    "target",
    "centre",
    "lcl",
    "ucl",
    "missing_pct",
}
_POINTS_PREFIX = ("diff", "equivalence_ci", "adjusted_diff")
_TEXT_COUNTS = {("comparison", "missing")}  # "missing" is the rule there, a count elsewhere


def column_label(column: str, table: str = "") -> str:
    """The human label of a column (the code name, spaced and capitalised, when unknown)."""
    if (table, column) in TABLE_LABELS:
        return TABLE_LABELS[(table, column)]
    if column in COLUMN_LABELS:
        return COLUMN_LABELS[column]
    if column.endswith("_rate"):
        return column[: -len("_rate")].replace("_", " ").capitalize() + " rate"
    text = column.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def display_columns(table: str, columns: Any) -> list[str]:
    """Columns shown in HTML/PDF for a table (a few duplicated code columns left out)."""
    hidden = HIDDEN_COLUMNS.get(table, ())
    return [str(c) for c in columns if str(c) not in hidden]


def quantity(column: str, table: str = "") -> Quantity:
    """The kind of quantity a column holds, which fixes its format."""
    name = column.lower()
    if (table, name) in _TEXT_COUNTS:
        return "text"
    if name == "margin":
        return "margin"
    if name in _RATE or name.endswith("_rate") or name.startswith(("funnel_", "complete_case_ci")):
        return "rate"
    if name.startswith(_POINTS_PREFIX):
        return "points"
    if "pvalue" in name:
        return "pvalue"
    if name == "smd" or name.startswith("smd_"):
        return "smd"
    return "number"


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(float(value))


def format_cell(
    value: Any, column: str, table: str = "", row: Mapping[str, Any] | None = None
) -> str:
    """Text of one cell for HTML/PDF: one format per quantity ("—" for a hidden value)."""
    if _missing(value):
        return "—"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    kind = quantity(column, table)
    if isinstance(value, int | np.integer) and kind in ("number", "text"):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        if column.endswith("_value") or column in ("value", "value_ref"):
            # a share for a categorical level, the mean for a numeric characteristic
            level = "" if row is None else str(row.get("level", ""))
            return f"{v:.1f}" if level == "mean" else f"{100 * v:.1f}%"
        if kind == "rate":
            return f"{100 * v:.1f}%"
        if kind == "points":
            return f"{points(v)} pts"
        if kind == "margin":
            return f"±{100 * v:.1f} pts"
        if kind == "pvalue":
            return "<0.001" if v < 0.001 else f"{v:.3f}"
        if kind == "smd":
            return f"{v:+.2f}"
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:.2f}"
    return _words(str(value), column, table)


_TIMEPOINTS = {
    "intake": "Intake",
    "discharge": "Discharge",
    "1mo": "1 month",
    "3mo": "3 months",
    "6mo": "6 months",
    "12mo": "12 months",
}


def timepoint_label(timepoint: str) -> str:
    """A timepoint in words for tables and axes.

    >>> timepoint_label("6mo"), timepoint_label("discharge")
    ('6 months', 'Discharge')
    """
    return _TIMEPOINTS.get(timepoint, timepoint)


def _words(text: str, column: str, table: str = "") -> str:
    if (table, column) == ("comparison", "missing"):
        return MISSING_RULE_LABELS.get(text, text)
    if column == "timepoint":
        return timepoint_label(text)
    if column in ("covariate", "item"):
        return text.replace("_", " ")
    return text


def excel_value(value: Any, column: str, table: str = "") -> Any:
    """The typed XLSX value: differences in points (x 100, as their label says); the rest as
    in the CSV (rates stay proportions and get a % format)."""
    if _missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        if quantity(column, table) in ("points", "margin"):
            return round(100.0 * v, 10)
        return v
    return value


def excel_format(column: str, table: str = "", level_mean: bool = False) -> str | None:
    """The number format of a column in the XLSX (None: General)."""
    if column.endswith("_value") or column in ("value", "value_ref"):
        return "0.0" if level_mean else "0.0%"
    kind = quantity(column, table)
    return {
        "rate": "0.0%",
        "points": '+0.0" pts";-0.0" pts";0.0" pts"',
        "margin": '"±"0.0" pts"',
        "pvalue": "0.000",
        "smd": "+0.00;-0.00;0.00",
    }.get(kind)


def excel_label(column: str, table: str = "") -> str:
    """XLSX header: the human label, with the unit when the value is in points."""
    label = column_label(column, table)
    if quantity(column, table) in ("points", "margin"):
        return f"{label} (percentage points)"
    return label


def points(value: float) -> str:
    """A difference (proportion units) as signed percentage points, one decimal, never "-0.0".

    >>> points(0.0654), points(-0.0004), points(-0.1)
    ('+6.5', '+0.0', '-10.0')
    """
    return f"{round(100.0 * float(value), 1) + 0.0:+.1f}"


def fill_parameters(text: str, definition: Any, outcome: str = "") -> str:
    """Put a definition's values in place of the parameter names a milestone text mentions.

    Milestone descriptions are written once for any setting ("a run of at least sustained_days
    consecutive abstinent calendar days"); the report prints them with the values in force.

    >>> from iopoutcomes import OutcomeDefinition
    >>> fill_parameters("at least sustained_days days; min_change above intake",
    ...                 OutcomeDefinition(), "milestone_improved_wellbeing")
    'at least 30 days; 1 point above intake'
    """
    import re

    days = getattr(definition, "sustained_days", None)
    if days is not None:
        text = re.sub(r"\bsustained_days\b", f"{int(days)}", text)
    if re.search(r"\bmin_change\b", text):
        name = outcome.removeprefix("milestone_")
        change = next(
            (
                float(m.min_change)
                for m in getattr(definition, "milestones", ())
                if getattr(m, "name", None) == name
            ),
            None,
        )
        if change is not None:
            unit = "point" if change == 1 else "points"
            text = re.sub(r"\bmin_change\b", f"{change:g} {unit}", text)
    return text


def run_date_text(when: Any = None) -> str:
    """The run date in words: from ``SOURCE_DATE_EPOCH`` (``when``) when set, else today (UTC).

    >>> import datetime as dt
    >>> run_date_text(dt.datetime(2026, 9, 21, 14, 13, 20))
    '21 September 2026'
    """
    import datetime as dt

    day = when if when is not None else dt.datetime.now(dt.UTC)
    return f"{day.day} {day:%B %Y}"
