"""Reading and validating follow-up records: ``read_records`` -> :class:`Records`.

(Skeleton: the ``Records`` container is the contract other modules build on; ``read_records``
is being implemented.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ._render import ResultDisplay
from .schema import TimeBasis

__all__ = ["Records", "read_records"]


@dataclass(frozen=True, eq=False, repr=False)
class Records(ResultDisplay):
    """Validated follow-up records: three typed canonical tables plus the rejected rows.

    Attributes
    ----------
    episodes, followups, use_days : pandas.DataFrame
        Accepted rows in the canonical format (``iopoutcomes.schema``), with derived day
        numbers relative to admission (``discharge_day``, ``assessment_day``, ``day``).
        ``use_days`` is an empty frame with the canonical columns when none was given.
    rejected : pandas.DataFrame
        One row per rejected source row: ``table, source, row, column, reason, message``.
    read_counts : Mapping[str, int]
        Rows read per table; accepted + rejected = read for every table.
    sources : Mapping[str, str]
        Where each table came from (file name, or ``"DataFrame"``).
    timepoints : tuple of str
        Declared follow-up timepoint labels.
    time_basis : {"calendar", "study_day"}
        Calendar dates, or relative study days only (de-identified trial data).
    data_as_of : pandas.Timestamp or None
        Date the data are complete up to (for follow-ups "due"); ``None`` with study days.
    file_hashes : Mapping[str, str]
        SHA-256 of each input file (for the report's reproducibility stamp).
    truth : object or None
        For simulated records, the generating parameters and full-data counts.
    provenance : str
        ``"canonical"`` (read_records), ``"simulated"``, ``"ctn0094"`` or ``"teds_d"``.
    remarks : tuple of str
        Notes on how the source was read (quirks handled and counted, options applied).
    extras : Mapping[str, pandas.DataFrame]
        Source-specific tables a reader keeps for later steps (e.g. CTN-0094 visits and urine
        screens for ``weekly_patterns``). Never needed by the generic outcome code.
    """

    episodes: pd.DataFrame
    followups: pd.DataFrame
    use_days: pd.DataFrame
    rejected: pd.DataFrame
    read_counts: Mapping[str, int]
    sources: Mapping[str, str] = field(default_factory=dict)
    timepoints: tuple[str, ...] = ("intake", "discharge", "1mo", "3mo", "6mo", "12mo")
    time_basis: TimeBasis = "calendar"
    data_as_of: pd.Timestamp | None = None
    file_hashes: Mapping[str, str] = field(default_factory=dict)
    truth: Any = None
    provenance: str = "canonical"
    remarks: tuple[str, ...] = ()
    extras: Mapping[str, pd.DataFrame] = field(default_factory=dict)


def read_records(*args: Any, **kwargs: Any) -> Records:  # pragma: no cover - being implemented
    """Read and validate follow-up records (being implemented)."""
    raise NotImplementedError
