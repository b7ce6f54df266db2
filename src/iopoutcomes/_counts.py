"""Reduce an outcome table to group counts: the single door from rows to statistics.

Rates and comparisons are functions of counts (n, events, missing) per group and stratum, so
every rate/comparison function first calls :func:`group_counts`. That is what lets the same
functions run on a pandas DataFrame, a Dask DataFrame (larger-than-memory TEDS-D work) or a
DuckDB relation and give identical numbers: only this reduction differs by engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import MissingColumnError, ParameterError
from .schema import N_EVENTS, N_MISSING, N

__all__ = ["COUNT_COLUMNS", "group_counts", "is_dask", "is_duckdb", "outcome_as_float"]

COUNT_COLUMNS = (N, N_EVENTS, N_MISSING)


def is_dask(data: Any) -> bool:
    """True for a Dask DataFrame (checked without importing dask)."""
    return type(data).__module__.startswith("dask") and hasattr(data, "compute")


def is_duckdb(data: Any) -> bool:
    """True for a DuckDB relation (checked without importing duckdb)."""
    return type(data).__module__.startswith("duckdb")


def outcome_as_float(values: pd.Series) -> pd.Series:
    """Map a 0/1/True/False/NA outcome column to float 1.0/0.0/NaN.

    Raises ``ParameterError`` (naming the column, not its values) when other values occur.

    >>> outcome_as_float(pd.Series([True, False, None], dtype="boolean")).tolist()
    [1.0, 0.0, nan]
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("Float64").astype(float)
    numeric = pd.to_numeric(values, errors="coerce").astype(float)
    bad = values.notna() & ~numeric.isin([0.0, 1.0])
    if bool(bad.any()):
        raise ParameterError(
            f"Outcome column {values.name!r} must hold 0/1/True/False or missing; "
            f"{int(bad.sum())} rows hold other values. Recode it to a binary indicator."
        )
    return numeric


def _check_columns(columns: Sequence[str], needed: Sequence[str]) -> None:
    missing = [c for c in needed if c not in columns]
    if missing:
        raise MissingColumnError(
            f"Columns {missing} are not in the data. Found: {list(columns)}. "
            "Name existing columns with outcome=, by= and strata=."
        )


def group_counts(
    data: Any, outcome: str, by: str | Sequence[str], *, weights: str | None = None
) -> pd.DataFrame:
    """Count episodes, events and missing outcomes per group.

    Parameters
    ----------
    data : pandas.DataFrame, dask.dataframe.DataFrame or duckdb relation
        Rows with a binary outcome column (0/1/True/False, missing allowed) and grouping columns.
    outcome : str
        The outcome column.
    by : str or sequence of str
        Grouping columns (e.g. ``"cohort"`` or ``["site", "cohort"]``).
    weights : str, optional
        A weight column; counts become weighted sums (pandas only).

    Returns
    -------
    pandas.DataFrame
        One row per group with the grouping columns, ``n`` (rows), ``n_events`` (outcome = 1)
        and ``n_missing`` (outcome missing), sorted by the grouping columns. Rows whose grouping
        value is missing are not counted.

    Examples
    --------
    >>> df = pd.DataFrame({"cohort": ["IOP", "IOP", "inpatient"], "y": [1, None, 0]})
    >>> group_counts(df, "y", "cohort")
          cohort  n  n_events  n_missing
    0        IOP  2         1          1
    1  inpatient  1         0          0
    """
    keys = [by] if isinstance(by, str) else list(by)
    if weights is not None and (is_duckdb(data) or is_dask(data)):
        raise ParameterError(
            "weights= is supported for pandas DataFrames only; call .compute() (Dask) or "
            ".df() (DuckDB) first, or leave weights out."
        )
    if is_duckdb(data):
        return _duckdb_counts(data, outcome, keys)
    _check_columns(list(data.columns), [outcome, *keys] + ([weights] if weights else []))
    if is_dask(data):
        part = data[[*keys, outcome]]
        y = part[outcome].astype("float64")
        part = part.assign(
            _event=(y == 1.0).astype("int64"), _missing=y.isna().astype("int64"), _one=1
        )
        grouped = part.groupby(keys, dropna=True)[["_one", "_event", "_missing"]].sum()
        counts = grouped.compute().reset_index()
    else:
        y = outcome_as_float(data[outcome])
        w = (
            pd.to_numeric(data[weights], errors="coerce").astype(float)
            if weights
            else pd.Series(1.0, index=data.index)
        )
        part = pd.DataFrame(
            {
                **{k: data[k] for k in keys},
                "_one": w,
                "_event": np.where(y == 1.0, w, 0.0),
                "_missing": np.where(y.isna(), w, 0.0),
            }
        )
        counts = part.groupby(keys, dropna=True, observed=True, sort=True)[
            ["_one", "_event", "_missing"]
        ].sum()
        counts = counts.reset_index()
    counts = counts.rename(columns={"_one": "n", "_event": "n_events", "_missing": "n_missing"})
    if weights is None:
        counts[list(COUNT_COLUMNS)] = counts[list(COUNT_COLUMNS)].astype("int64")
    return counts.sort_values(keys, kind="stable").reset_index(drop=True)


def _duckdb_counts(relation: Any, outcome: str, keys: list[str]) -> pd.DataFrame:
    _check_columns(list(relation.columns), [outcome, *keys])
    quoted = ", ".join(f'"{k}"' for k in keys)
    y = f'CAST("{outcome}" AS DOUBLE)'
    sql = (
        f"SELECT {quoted}, COUNT(*) AS n, "
        f"SUM(CASE WHEN {y} = 1 THEN 1 ELSE 0 END) AS n_events, "
        f'SUM(CASE WHEN "{outcome}" IS NULL THEN 1 ELSE 0 END) AS n_missing '
        f"FROM counted_relation WHERE "
        + " AND ".join(f'"{k}" IS NOT NULL' for k in keys)
        + f" GROUP BY {quoted} ORDER BY {quoted}"
    )
    counts = relation.query("counted_relation", sql).df()
    counts[list(COUNT_COLUMNS)] = counts[list(COUNT_COLUMNS)].astype("int64")
    return counts.reset_index(drop=True)
