"""Small-cell suppression, the back-calculation audit, and output neutralisation.

Quarterly reports leave the program, so every count they print is aggregate and de-identified
(42 CFR Part 2 §2.53-2.54; HIPAA 45 CFR 164.514(b)). The rules applied here, once, to the
numbers before any format is rendered:

1. **Primary suppression**: a count in ``1 .. k-1`` is hidden (``k = 11`` by default, the CMS
   cell-size rule: no cell of 1-10); zero is shown. A rate is hidden when its numerator or its
   complement (denominator - numerator) is in ``1 .. k-1``.
2. **Complementary suppression**: every additive relation the table publishes (row sums,
   column sums, the grand total) that contains exactly one hidden cell gets a second hidden cell,
   the smallest positive published member, so the hidden one cannot be recovered by subtraction.
3. **Audit**: for every hidden cell, linear programming finds the smallest and largest value
   consistent with everything published (additivity, hidden cells >= 1 because zeros are
   shown). If that feasible interval holds fewer than ``k`` whole numbers, more cells are hidden;
   if that cannot fix it the run fails with :class:`~iopoutcomes.SuppressionAuditError`.
4. Rates with a denominator under ``min_denominator`` (default 30, NCHS practice) are not
   printed (they are imprecise rather than disclosive, and are labelled as such).

Spreadsheet and CSV text cells that start with ``= + - @``, a tab or a carriage return are
neutralised (prefixed with an apostrophe), the OWASP CSV-injection rule.

References
----------
CMS Cell Size Suppression Policy (2020): no cell of 1-10, nor any cell from which one can be
derived. Duncan GT, Elliot M, Salazar-Gonzalez JJ. Statistical Confidentiality. Springer, 2011,
ch. 6 (cell suppression and the audit by linear programming).

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({"abstinent": [40, 3], "not_abstinent": [25, 30]},
...                      index=["IOP", "inpatient"])
>>> result = suppress_table(table, k=11)
>>> result.n_suppressed
4
>>> int(result.audit["feasible_integers"].min()) >= 11
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from .exceptions import ParameterError, SuppressionAuditError

__all__ = [
    "SuppressedTable",
    "neutralise_cell",
    "neutralise_frame",
    "suppress_rates",
    "suppress_table",
]

_TOTAL = "Total"
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, eq=False)
class SuppressedTable:
    """A count table with margins after suppression.

    Attributes
    ----------
    values : pandas.DataFrame
        Interior cells plus a ``Total`` row and column, ``Int64`` with ``<NA>`` where hidden.
    primary, complementary : pandas.DataFrame
        Boolean masks (same shape as ``values``) of the cells hidden by each rule.
    audit : pandas.DataFrame
        One row per hidden cell: ``row``, ``column``, ``lower``, ``upper`` (the feasible range an
        outsider can derive) and ``feasible_integers``.
    k : int
        The threshold: counts ``1 .. k-1`` are hidden.
    """

    values: pd.DataFrame
    primary: pd.DataFrame
    complementary: pd.DataFrame
    audit: pd.DataFrame
    k: int

    @property
    def n_suppressed(self) -> int:
        """Number of hidden cells (primary and complementary), margins included."""
        return int(self.primary.to_numpy().sum() + self.complementary.to_numpy().sum())


def _with_margins(table: pd.DataFrame) -> pd.DataFrame:
    full = table.copy()
    full[_TOTAL] = full.sum(axis=1)
    full.loc[_TOTAL] = full.sum(axis=0)
    return full


def _constraints(shape: tuple[int, int]) -> list[list[tuple[int, int]]]:
    """Additive relations of a table with margins: each is a list of cells summing to 0
    when the margin cell is taken with a minus sign (the margin is the last member)."""
    n_rows, n_cols = shape  # including the margin row/column
    relations: list[list[tuple[int, int]]] = []
    for i in range(n_rows):
        relations.append([(i, j) for j in range(n_cols)])
    for j in range(n_cols):
        relations.append([(i, j) for i in range(n_rows)])
    return relations


def _feasible_ranges(
    values: np.ndarray, hidden: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min and max of each hidden cell given the published cells and additivity (LP)."""
    n_rows, n_cols = values.shape
    cells = [(int(i), int(j)) for i, j in zip(*np.nonzero(hidden), strict=True)]
    index = {cell: pos for pos, cell in enumerate(cells)}
    a_eq: list[np.ndarray] = []
    b_eq: list[float] = []
    for relation in _constraints((n_rows, n_cols)):
        margin = relation[-1]
        coef = np.zeros(len(cells))
        rhs = 0.0
        for cell in relation:
            sign = -1.0 if cell == margin else 1.0
            if cell in index:
                coef[index[cell]] += sign
            else:
                rhs -= sign * float(values[cell])
        if np.any(coef != 0):
            a_eq.append(coef)
            b_eq.append(rhs)
    lower = np.zeros(len(cells))
    upper = np.zeros(len(cells))
    a = np.vstack(a_eq) if a_eq else None
    b = np.asarray(b_eq) if b_eq else None
    bounds = [(1.0, None)] * len(cells)  # zeros are published, so a hidden cell is >= 1
    for pos in range(len(cells)):
        objective = np.zeros(len(cells))
        objective[pos] = 1.0
        low = linprog(objective, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        high = linprog(-objective, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        lower[pos] = low.fun if low.status == 0 else np.nan
        # status 3 = unbounded: an outsider learns nothing about the upper end
        upper[pos] = -high.fun if high.status == 0 else np.inf
    rows = np.array([c[0] for c in cells], dtype=int)
    cols = np.array([c[1] for c in cells], dtype=int)
    return np.column_stack([rows, cols]), lower, upper


def _feasible_integers(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        count = np.floor(upper + 1e-9) - np.ceil(lower - 1e-9) + 1
    return np.where(np.isinf(upper), np.inf, count)


def _smallest_published_positive(
    values: np.ndarray, hidden: np.ndarray, relation: list[tuple[int, int]]
) -> tuple[int, int] | None:
    candidates = [c for c in relation if not hidden[c] and values[c] > 0]
    if not candidates:
        return None
    # interior cells before margins, then the smallest: hide as little information as possible
    margin = relation[-1]
    return min(candidates, key=lambda c: (c == margin, values[c]))


def _protecting_candidate(
    values: np.ndarray,
    hidden: np.ndarray,
    relations: list[list[tuple[int, int]]],
    cell: tuple[int, int],
) -> tuple[int, int] | None:
    """The next cell to hide to protect ``cell``: the smallest published positive cell of the
    nearest relation, searching outwards through relations linked by hidden cells.

    Hiding a cell turns a known value into an unknown, so feasible ranges can only widen; a
    leak may run through a relation that does not contain the cell itself (e.g. a hidden
    column total recovered from the grand total), hence the breadth-first search.
    """
    frontier = [r for r in relations if cell in r]
    seen_relations: set[int] = set()
    seen_cells = {cell}
    while frontier:
        for relation in frontier:
            extra = _smallest_published_positive(values, hidden, relation)
            if extra is not None:
                return extra
        next_frontier: list[list[tuple[int, int]]] = []
        for relation in frontier:
            seen_relations.add(id(relation))
            for member in relation:
                if hidden[member] and member not in seen_cells:
                    seen_cells.add(member)
                    next_frontier.extend(
                        r for r in relations if member in r and id(r) not in seen_relations
                    )
        frontier = next_frontier
    return None


def suppress_table(table: pd.DataFrame, k: int = 11) -> SuppressedTable:
    """Apply primary and complementary suppression to a two-way count table and audit it.

    Parameters
    ----------
    table : pandas.DataFrame
        Interior counts (non-negative integers), rows and columns labelled; margins are added.
    k : int, default 11
        Counts ``1 .. k-1`` are hidden; zero is shown.

    Returns
    -------
    SuppressedTable

    Raises
    ------
    SuppressionAuditError
        If some hidden cell could still be narrowed to fewer than ``k`` values.

    Examples
    --------
    >>> t = pd.DataFrame({"yes": [5, 20], "no": [30, 40]}, index=["a", "b"])
    >>> s = suppress_table(t)
    >>> s.values.loc["a", "yes"] is pd.NA, s.values.loc["b", "yes"] is pd.NA
    (True, True)
    """
    if k < 2:
        raise ParameterError(f"The suppression threshold k must be at least 2; got {k}.")
    numeric = table.apply(pd.to_numeric, errors="coerce")
    if numeric.isna().to_numpy().any() or (numeric.to_numpy() < 0).any():
        raise ParameterError(
            "suppress_table needs non-negative whole counts in every cell; "
            f"{int(numeric.isna().to_numpy().sum())} cells are missing or not numeric."
        )
    full = _with_margins(numeric.astype("int64"))
    values = full.to_numpy(dtype=float)
    primary = (values >= 1) & (values < k)
    hidden = primary.copy()
    relations = _constraints(values.shape)

    def complete_relations() -> None:
        changed = True
        while changed:
            changed = False
            for relation in relations:
                if sum(bool(hidden[c]) for c in relation) == 1:
                    extra = _smallest_published_positive(values, hidden, relation)
                    if extra is not None:
                        hidden[extra] = True
                        changed = True

    complete_relations()
    audit_cells = np.empty((0, 2), dtype=int)
    lower = upper = np.empty(0)
    for _ in range(values.size):
        if not hidden.any():
            break
        audit_cells, lower, upper = _feasible_ranges(values, hidden)
        feasible = _feasible_integers(lower, upper)
        failing = np.nonzero(feasible < k)[0]
        if failing.size == 0:
            break
        cell = (int(audit_cells[failing[0], 0]), int(audit_cells[failing[0], 1]))
        extra = _protecting_candidate(values, hidden, relations, cell)
        if extra is not None:
            hidden[extra] = True
        else:
            raise SuppressionAuditError(
                f"A hidden cell (row {cell[0] + 1}, column {cell[1] + 1}) can be narrowed to "
                f"fewer than {k} values and no further cell can be hidden to protect it. "
                "Pool small groups before reporting."
            )
        complete_relations()
    feasible = _feasible_integers(lower, upper)
    if hidden.any() and (feasible < k).any():
        raise SuppressionAuditError(
            f"{int((feasible < k).sum())} hidden cells can still be narrowed to fewer than {k} "
            "values. Pool small groups before reporting."
        )
    shown = full.astype("Int64").mask(hidden)
    primary_mask = pd.DataFrame(primary, index=full.index, columns=full.columns)
    complementary_mask = pd.DataFrame(hidden & ~primary, index=full.index, columns=full.columns)
    audit = pd.DataFrame(
        {
            "row": [str(full.index[i]) for i in audit_cells[:, 0]],
            "column": [str(full.columns[j]) for j in audit_cells[:, 1]],
            "lower": lower,
            "upper": upper,
            "feasible_integers": feasible,
        }
    )
    return SuppressedTable(shown, primary_mask, complementary_mask, audit, k)


def suppress_rates(
    frame: pd.DataFrame,
    *,
    k: int = 11,
    min_denominator: int = 30,
    n: str = "n",
    events: str = "n_events",
    rate_columns: tuple[str, ...] = ("rate", "ci_low", "ci_high"),
    group: str = "group",
) -> pd.DataFrame:
    """Suppress a table of rates (one row per group) for publication.

    Each group's events and non-events form a row of a two-way table (with the group totals
    and the overall totals as margins) that goes through :func:`suppress_table`, so hidden
    numerators cannot be recovered from other groups or totals. A rate is hidden when its
    numerator or complement is hidden; a rate whose denominator is under ``min_denominator``
    is not printed either. Two columns explain each row: ``suppressed`` (bool) and
    ``suppression_reason`` (``""``, ``"small cell"``, ``"complementary"`` or
    ``"denominator < 30"``).

    Examples
    --------
    >>> rates = pd.DataFrame({"group": ["IOP", "inpatient", "PHP"], "n": [120, 80, 40],
    ...                       "n_events": [70, 5, 20], "rate": [0.58, 0.06, 0.5],
    ...                       "ci_low": [0.5, 0.03, 0.35], "ci_high": [0.67, 0.14, 0.65]})
    >>> out = suppress_rates(rates)
    >>> out["suppressed"].tolist()
    [False, True, True]
    """
    if frame.empty:
        out = frame.copy()
        out["suppressed"] = pd.Series(dtype=bool)
        out["suppression_reason"] = pd.Series(dtype=str)
        return out
    counts = pd.DataFrame(
        {
            "events": frame[events].astype("int64").to_numpy(),
            "non_events": (frame[n] - frame[events]).astype("int64").to_numpy(),
        },
        index=pd.RangeIndex(len(frame)),
    )
    result = suppress_table(counts, k=k)
    interior = result.values.iloc[:-1]
    hidden_events = interior["events"].isna().to_numpy()
    hidden_non = interior["non_events"].isna().to_numpy()
    hidden_n = interior[_TOTAL].isna().to_numpy()
    primary = result.primary.iloc[:-1][["events", "non_events", _TOTAL]].any(axis=1).to_numpy()
    hide_rate = hidden_events | hidden_non | hidden_n
    small_denominator = frame[n].to_numpy() < min_denominator
    out = frame.copy()
    out[events] = out[events].astype("Int64").mask(hidden_events | hidden_n)
    out[n] = out[n].astype("Int64").mask(hidden_n)
    for column in rate_columns:
        if column in out:
            out[column] = out[column].astype(float).mask(hide_rate | small_denominator)
    reason = np.where(
        hide_rate & primary,
        "small cell",
        np.where(hide_rate, "complementary", np.where(small_denominator, "denominator < 30", "")),
    )
    if min_denominator != 30:
        reason = np.where(reason == "denominator < 30", f"denominator < {min_denominator}", reason)
    out["suppressed"] = hide_rate | small_denominator
    out["suppression_reason"] = reason
    return out


def neutralise_cell(value: Any) -> Any:
    """Neutralise spreadsheet formula injection in one text cell (OWASP CSV injection).

    >>> neutralise_cell("=HYPERLINK(1)"), neutralise_cell("IOP"), neutralise_cell(-3)
    ("'=HYPERLINK(1)", 'IOP', -3)
    """
    # leading spaces or line breaks before "=" are still evaluated by some spreadsheet programs
    if isinstance(value, str) and (
        value.startswith(_FORMULA_PREFIXES) or value.lstrip(" \n").startswith(_FORMULA_PREFIXES)
    ):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy with every text cell (and column name) neutralised; numbers stay numbers."""
    out = frame.copy()
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            out[column] = out[column].map(neutralise_cell)
    return out
