"""Suppression of the report's count structures, applied once before anything is rendered.

Every published count of the quarterly report belongs to a *partition*: rows (cohorts, sites,
quarters, covariate levels) by mutually exclusive parts (e.g. follow-ups conducted in window /
out of window / not conducted) whose row sums are the denominators. Each partition goes through
:func:`iopoutcomes.privacy.suppress_table` (primary and complementary suppression with the LP
back-calculation audit), so no hidden cell can be recovered from the row, column and grand
totals. Rates, intervals and percentages are then published only where every count they are
computed from is published.

Quarter tables share a sub-total with the lookback tables (the quarters of the outcome cohort
add up to the cohort table's total). :func:`suppress_partition` with ``split`` encodes that
relation as extra columns (structural zeros elsewhere), so the audit sees it too.

Examples
--------
>>> import pandas as pd
>>> counts = pd.DataFrame({"yes": [40, 3], "no": [25, 30]}, index=["IOP", "inpatient"])
>>> part = suppress_partition(counts, k=11)
>>> bool(part.hidden.loc["inpatient", "yes"]), part.n_primary, part.n_complementary
(True, 1, 3)
>>> part.shown("IOP", "yes") is None, part.shown("IOP", TOTAL)
(True, 65)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..privacy import suppress_table

__all__ = ["TOTAL", "Partition", "audit_tables", "suppress_partition", "with_margins"]

TOTAL = "Total"

_AUDIT: ContextVar[bool] = ContextVar("iopoutcomes_table_audit", default=True)


@contextlib.contextmanager
def audit_tables(enabled: bool) -> Iterator[None]:
    """Switch the per-table audit of :func:`suppress_partition` off while a report is rebuilt
    with hidden cells already decided by the whole-report audit (the partitions then only carry
    their counts, and :mod:`iopoutcomes.report.disclosure` supplies the hidden cells)."""
    token = _AUDIT.set(enabled)
    try:
        yield
    finally:
        _AUDIT.reset(token)


@dataclass(frozen=True, eq=False)
class Partition:
    """A suppressed partition: counts with margins and the mask of hidden cells.

    Attributes
    ----------
    values : pandas.DataFrame
        Interior counts plus the ``Total`` column (row sums = denominators) and ``Total`` row,
        ``Int64`` with ``<NA>`` where hidden.
    hidden : pandas.DataFrame
        Boolean mask (same shape) of hidden cells.
    n_primary, n_complementary : int
        Cells hidden by the primary rule (1..k-1) and to protect them.
    counts : pandas.DataFrame or None
        The true interior counts (never published; the whole-report audit of
        :mod:`iopoutcomes.report.disclosure` needs them to re-decide the hidden cells).
    split : pandas.Series or None
        The ``split`` given to :func:`suppress_partition`.
    """

    values: pd.DataFrame
    hidden: pd.DataFrame
    n_primary: int
    n_complementary: int
    counts: pd.DataFrame | None = None
    split: pd.Series | None = None

    @property
    def n_hidden(self) -> int:
        """All hidden cells."""
        return self.n_primary + self.n_complementary

    def shown(self, row: Any, column: Any) -> int | None:
        """The published value of a cell, or None when it is hidden."""
        if bool(self.hidden.at[row, column]):
            return None
        value: Any = self.values.at[row, column]
        return int(value)


def suppress_partition(
    counts: pd.DataFrame, k: int, *, split: pd.Series | None = None
) -> Partition:
    """Suppress a rows x parts count table (margins added) and audit it.

    Parameters
    ----------
    counts : pandas.DataFrame
        Non-negative whole counts; the index labels the rows, the columns the parts.
    k : int
        Counts ``1 .. k-1`` are hidden (zero is shown).
    split : pandas.Series of bool, optional
        Marks the rows whose sub-total is published elsewhere (the lookback quarters of a
        trend table). Each part is then audited as two columns (rows inside / outside the
        split, structural zeros elsewhere), so the published sub-total is one more additive
        relation the audit protects against.

    Returns
    -------
    Partition

    Raises
    ------
    SuppressionAuditError
        When a hidden cell cannot be protected (the run must fail).

    Examples
    --------
    >>> import pandas as pd
    >>> q = pd.DataFrame({"yes": [30, 4, 50], "no": [20, 40, 30]}, index=["Q1", "Q2", "Q3"])
    >>> p = suppress_partition(q, k=11, split=pd.Series([False, True, True], index=q.index))
    >>> int(p.hidden.to_numpy().sum()) >= 2
    True
    """
    counts = counts.astype("int64")
    parts = list(counts.columns)
    if not _AUDIT.get():
        full = with_margins(counts)
        none = pd.DataFrame(False, index=full.index, columns=full.columns)
        return Partition(full.astype("Int64"), none, 0, 0, counts=counts, split=split)
    if split is None:
        result = suppress_table(counts, k=k)
        values = result.values
        hidden = result.primary | result.complementary
        return Partition(
            values=values,
            hidden=hidden,
            n_primary=int(result.primary.to_numpy().sum()),
            n_complementary=int(result.complementary.to_numpy().sum()),
            counts=counts,
        )
    inside = split.reindex(counts.index).fillna(False).to_numpy(dtype=bool)
    wide = {}
    for part in parts:
        column = counts[part].to_numpy()
        wide[(part, "in")] = np.where(inside, column, 0)
        wide[(part, "out")] = np.where(inside, 0, column)
    expanded = pd.DataFrame({f"{p}\x1f{s}": v for (p, s), v in wide.items()}, index=counts.index)
    result = suppress_table(expanded, k=k)
    mask = result.primary | result.complementary
    full = counts.copy()
    full[TOTAL] = counts.sum(axis=1)
    full.loc[TOTAL] = full.sum(axis=0)
    hidden = pd.DataFrame(False, index=full.index, columns=full.columns)
    for part in parts:
        h_in = mask[f"{part}\x1fin"].iloc[:-1].to_numpy(dtype=bool)
        h_out = mask[f"{part}\x1fout"].iloc[:-1].to_numpy(dtype=bool)
        hidden.loc[counts.index, part] = np.where(inside, h_in, h_out)
        # the overall total of a part = the two audited sub-totals added (no new information)
        hidden.loc[TOTAL, part] = bool(
            mask.loc[TOTAL, f"{part}\x1fin"] or mask.loc[TOTAL, f"{part}\x1fout"]
        )
    hidden.loc[counts.index, TOTAL] = mask[TOTAL].iloc[:-1].to_numpy(dtype=bool)
    hidden.loc[TOTAL, TOTAL] = bool(mask.loc[TOTAL, TOTAL])
    values = full.astype("Int64").mask(hidden)
    return Partition(
        values=values,
        hidden=hidden,
        n_primary=int(result.primary.to_numpy().sum()),
        n_complementary=int(result.complementary.to_numpy().sum()),
        counts=counts,
        split=split,
    )


def with_margins(counts: pd.DataFrame) -> pd.DataFrame:
    """Interior counts plus the ``Total`` column (row sums) and ``Total`` row (column sums).

    >>> import pandas as pd
    >>> with_margins(pd.DataFrame({"a": [1, 2]}, index=["x", "y"])).to_numpy().tolist()
    [[1, 1], [2, 2], [3, 3]]
    """
    full = counts.astype("int64").copy()
    full[TOTAL] = full.sum(axis=1)
    full.loc[TOTAL] = full.sum(axis=0)
    return full
