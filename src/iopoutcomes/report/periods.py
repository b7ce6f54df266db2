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

__all__ = ["last_complete_quarter", "quarter_freq", "quarter_period", "quarters_of"]

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
