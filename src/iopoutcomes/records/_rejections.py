"""Rejections: one reason per rejected source row, the first in a fixed precedence order.

Validation records every problem it finds as a boolean row mask with a reason code (from
:data:`iopoutcomes.schema.REJECTION_REASONS`) and the column it was found in; a row with
several problems is rejected once, for the first reason in :data:`REJECTION_PRECEDENCE`
(within one reason, the first column checked). The rejected-rows table carries row numbers,
column names and reason codes, never values (42 CFR Part 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..exceptions import RowValidationError
from ..schema import REJECTED_COLUMNS, REJECTION_REASONS

REJECTION_PRECEDENCE: tuple[str, ...] = (
    "formula_without_value",
    "merged_cell",
    "missing_required_value",
    "control_character",
    "unparseable_date",
    "date_out_of_range",
    "unparseable_number",
    "days_used_not_integer",
    "days_used_out_of_range",
    "used_not_binary",
    "flag_not_binary",
    "unknown_level_of_care",
    "unknown_discharge_reason",
    "unknown_timepoint",
    "unknown_status",
    "unknown_uds_result",
    "unknown_source",
    "unknown_service_code",
    "unknown_service_type",
    "unknown_sud_diagnosis",
    "unknown_medication",
    "assessment_date_without_completion",
    "discharge_before_admission",
    "death_before_admission",
    "end_before_service_date",
    "duplicate_episode_id",
    "unknown_episode",
    "unknown_patient",
    "duplicate_followup",
    "assessment_before_admission",
)
"""Order in which reasons are tried: a row with several problems is rejected once, for the first.

Within one reason, columns are tried in the table's canonical column order.
"""

_ORDER = {reason: k for k, reason in enumerate(REJECTION_PRECEDENCE)}


@dataclass(frozen=True)
class Problem:
    """Rows of one table that break one rule in one column."""

    reason: str
    column: str
    rows: np.ndarray  # boolean mask over the table's rows
    detail: str = ""


class Rejections:
    """The problems found in one table, resolved first-reason-wins (vectorised over rows)."""

    def __init__(self, table: str, source: str, n: int) -> None:
        self.table = table
        self.source = source
        self.n = n
        self.problems: list[Problem] = []

    def add(self, reason: str, column: str, mask: np.ndarray | pd.Series, detail: str = "") -> None:
        """Record that the rows where ``mask`` is true break ``reason`` in ``column``."""
        if reason not in _ORDER:  # pragma: no cover - a programming error
            raise KeyError(reason)
        rows = np.asarray(mask, dtype=bool)
        if rows.any():
            self.problems.append(Problem(reason, column, rows, detail))

    def extend(self, problems: list[Problem]) -> None:
        """Record problems found elsewhere (e.g. while typing one column)."""
        for problem in problems:
            self.add(problem.reason, problem.column, problem.rows, problem.detail)

    def ordered(self) -> list[Problem]:
        """Problems in precedence order (stable: columns in the order they were checked)."""
        return sorted(self.problems, key=lambda p: _ORDER[p.reason])

    def resolve(self) -> tuple[np.ndarray, pd.DataFrame]:
        """Return (accepted mask, rejected rows table with :data:`REJECTED_COLUMNS`)."""
        ordered = self.ordered()
        first = np.full(self.n, -1, dtype=np.int32)  # which problem rejects each row
        for k, problem in enumerate(ordered):
            first[problem.rows & (first < 0)] = k
        rows = np.flatnonzero(first >= 0)
        picks = first[rows]
        reasons = np.array([p.reason for p in ordered] or [""], dtype=object)
        columns = np.array([p.column for p in ordered] or [""], dtype=object)
        messages = np.array(
            [
                f"{p.column}: {REJECTION_REASONS[p.reason]}"
                + (f" ({p.detail})" if p.detail else "")
                for p in ordered
            ]
            or [""],
            dtype=object,
        )
        rejected = pd.DataFrame(
            {
                "table": np.full(len(rows), self.table, dtype=object),
                "source": np.full(len(rows), self.source, dtype=object),
                "row": (rows + 1).astype("int64"),
                "column": columns[picks],
                "reason": reasons[picks],
                "message": messages[picks],
            },
            columns=list(REJECTED_COLUMNS),
        )
        return first < 0, rejected


def raise_first(rejected: pd.DataFrame) -> None:
    """Raise :class:`~iopoutcomes.RowValidationError` for the first rejected row (``strict=``)."""
    first = rejected.iloc[0]
    raise RowValidationError(
        f"{first['table']} ({first['source']}) row {first['row']}, column {first['column']!r}: "
        f"{first['reason']} ({first['message']}). {len(rejected):,} rows of this table would "
        "be rejected; use strict=False to collect them all in Records.rejected."
    )
