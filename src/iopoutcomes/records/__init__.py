"""Reading and validating follow-up records: ``read_records`` -> :class:`Records`.

``read_records`` takes the four canonical tables (``episodes``, ``followups``, ``use_days``,
``services``; see ``docs/format.md`` and :mod:`iopoutcomes.schema`) as files (CSV, Parquet,
Excel) or DataFrames, maps source column names and codes onto the canonical ones, types every
column, derives day numbers relative to admission and rejects, one row at a time, whatever does
not fit, with a stable reason code. Whole-file problems (missing or unreadable file, wrong encoding,
missing required column, no data rows) raise one exception of the library's hierarchy instead.

The package is split by concern, each module readable on its own: ``_files`` (reading CSV,
Parquet and Excel, hashing the bytes parsed), ``_columns`` (typing columns and vocabularies),
``_matching`` (follow-ups and calendar days to episodes), ``_rejections`` (reason codes and
precedence), ``_tables`` (one validation function per table), ``_container`` (the
:class:`Records` object) and ``_read`` (:func:`read_records`).

Privacy (42 CFR Part 2): messages, reprs and the rejected-rows table carry file names, column
names, row numbers, counts and reason codes, never values or identifiers.
"""

from __future__ import annotations

from ._columns import canonical_dtypes
from ._container import Records
from ._files import MISSING_TOKENS
from ._read import read_records
from ._rejections import REJECTION_PRECEDENCE

__all__ = [
    "MISSING_TOKENS",
    "REJECTION_PRECEDENCE",
    "Records",
    "canonical_dtypes",
    "read_records",
]
