"""The build time of reproducible outputs, from ``SOURCE_DATE_EPOCH``.

Kept apart from the report writers so the command line can check the variable before any work
without importing pandas or matplotlib.
"""

from __future__ import annotations

import datetime as dt
import os

from .exceptions import ParameterError

__all__ = ["source_date"]

_MAX_EPOCH = 253_402_300_799  # 9999-12-31T23:59:59Z, the last instant datetime can hold


def source_date() -> dt.datetime | None:
    """The build time from ``SOURCE_DATE_EPOCH`` (reproducible-builds convention), else None.

    Raises
    ------
    ParameterError
        The variable is set but is not a whole number of seconds between 0 and the end of
        year 9999.

    Examples
    --------
    >>> import os
    >>> os.environ["SOURCE_DATE_EPOCH"] = "1700000000"
    >>> source_date()
    datetime.datetime(2023, 11, 14, 22, 13, 20)
    >>> os.environ["SOURCE_DATE_EPOCH"] = "1e20"
    >>> source_date()
    Traceback (most recent call last):
    ...
    iopoutcomes.exceptions.ParameterError: SOURCE_DATE_EPOCH must be a whole number ...
    >>> del os.environ["SOURCE_DATE_EPOCH"]
    """
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if not raw:
        return None
    message = (
        "SOURCE_DATE_EPOCH must be a whole number of seconds since 1970-01-01 between 0 and "
        f"{_MAX_EPOCH} (9999-12-31); unset it or set e.g. SOURCE_DATE_EPOCH=$(date +%s)."
    )
    try:
        seconds = int(raw.strip())
    except ValueError:
        raise ParameterError(message) from None
    if not 0 <= seconds <= _MAX_EPOCH:
        raise ParameterError(message)
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).replace(tzinfo=None)
