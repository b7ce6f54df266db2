"""Reporting quarters: calendar or fiscal, as pandas Periods.

A fiscal year is named by the calendar year it ends in (as ``OutcomeDefinition`` labels
``admission_quarter``): with ``fiscal_year_start_month = 10`` October 2024 falls in ``2025Q1``.

Examples
--------
>>> q = quarter_period("2025Q1", fiscal_year_start_month=10)
>>> str(q), q.start_time.date().isoformat(), q.end_time.date().isoformat()
('2025Q1', '2024-10-01', '2024-12-31')
>>> str(quarter_period("2026Q3"))
'2026Q3'
"""

from __future__ import annotations

import re

import pandas as pd

from ..exceptions import ParameterError

__all__ = [
    "last_complete_quarter",
    "quarter_freq",
    "quarter_period",
    "quarters_of",
    "reporting_quarter",
]

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def quarter_freq(fiscal_year_start_month: int = 1) -> str:
    """pandas frequency of the reporting quarters (``Q-DEC`` for calendar quarters).

    >>> quarter_freq(1), quarter_freq(7)
    ('Q-DEC', 'Q-JUN')
    """
    return f"Q-{_MONTHS[(fiscal_year_start_month - 2) % 12]}"


def quarter_period(label: str | pd.Period, fiscal_year_start_month: int = 1) -> pd.Period:
    """Parse ``"2026Q3"`` into a quarterly :class:`pandas.Period` of the reporting calendar."""
    if isinstance(label, pd.Period):
        label = str(label)
    text = str(label).strip().upper()
    if not re.fullmatch(r"\d{4}Q[1-4]", text):
        raise ParameterError(
            "The quarter must look like 2026Q3 (four-digit year, Q, quarter 1-4); "
            f"got a value of {len(text)} characters that does not."
        )
    return pd.Period(text, freq=quarter_freq(fiscal_year_start_month))


def quarters_of(dates: pd.Series, fiscal_year_start_month: int = 1) -> pd.Series:
    """The reporting quarter of each date (a Period series; NaT stays missing).

    >>> s = pd.Series(pd.to_datetime(["2024-10-05", None]))
    >>> [str(q) for q in quarters_of(s, 10)]
    ['2025Q1', 'NaT']
    """
    stamps = pd.to_datetime(dates, errors="coerce")
    return stamps.dt.to_period(quarter_freq(fiscal_year_start_month))


def last_complete_quarter(as_of: pd.Timestamp, fiscal_year_start_month: int = 1) -> pd.Period:
    """The latest quarter whose last day is on or before ``as_of``.

    >>> str(last_complete_quarter(pd.Timestamp("2026-07-01")))
    '2026Q2'
    >>> str(last_complete_quarter(pd.Timestamp("2026-06-30")))
    '2026Q2'
    """
    freq = quarter_freq(fiscal_year_start_month)
    current = pd.Period(as_of, freq=freq)
    if current.end_time.normalize() <= pd.Timestamp(as_of).normalize():
        return current
    return current - 1


def reporting_quarter(
    quarter: str | pd.Period | None,
    data_as_of: str | pd.Timestamp | None,
    fiscal_year_start_month: int = 1,
) -> pd.Period:
    """The quarter a report covers: ``quarter`` when given, else the last complete one.

    The one rule behind both ``quarterly_report(records)`` and ``iopoutcomes report`` without
    ``--quarter``: the default is :func:`last_complete_quarter` at the records' data-as-of
    date, so a report is never silently provisional.

    Parameters
    ----------
    quarter : str, pandas.Period or None
        ``"2026Q3"`` (in the reporting calendar), or None for the default.
    data_as_of : date-like or None
        The date the records are complete up to (``Records.data_as_of``).
    fiscal_year_start_month : int
        1 for calendar quarters.

    Raises
    ------
    ParameterError
        No quarter given and the records have no data-as-of date, or a malformed quarter.

    Examples
    --------
    >>> str(reporting_quarter(None, "2026-07-01")), str(reporting_quarter("2026Q3", None))
    ('2026Q2', '2026Q3')
    >>> str(reporting_quarter(None, "2026-07-01", fiscal_year_start_month=10))
    '2026Q3'
    """
    if quarter is not None:
        return quarter_period(quarter, fiscal_year_start_month)
    if data_as_of is None:
        raise ParameterError(
            "Give the reporting quarter, e.g. quarter='2026Q3': these records have no "
            "data-as-of date to take the last complete quarter from."
        )
    return last_complete_quarter(pd.Timestamp(data_as_of), fiscal_year_start_month)
