"""The :class:`Records` object: typed canonical tables, rejected rows and provenance."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .._render import ResultDisplay
from ..schema import REJECTION_REASONS, TABLES, TimeBasis
from ._columns import TABLE_ORDER, empty_table


@dataclass(frozen=True, eq=False, repr=False)
class Records(ResultDisplay):
    """Validated follow-up records: four typed canonical tables plus the rejected rows.

    Attributes
    ----------
    episodes, followups, use_days : pandas.DataFrame
        Accepted rows in the canonical format (``iopoutcomes.schema``), with derived day
        numbers relative to admission (``discharge_day``, ``assessment_day``, ``day``).
        ``use_days`` is an empty frame with the canonical columns when none was given.
    services : pandas.DataFrame
        Service records (visits, stays, dispensings) by ``patient_id`` in the canonical format;
        an empty frame with the canonical columns when none was given.
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
        SHA-256 of each input file (for the report's reproducibility stamp), table name ->
        hex digest. :func:`read_records` hashes the very bytes it parsed, so the digest
        describes the data read even if the file is replaced afterwards.
    truth : object or None
        For simulated records, the generating parameters and full-data counts.
    provenance : str
        ``"canonical"`` (read_records), ``"simulated"``, ``"ctn0094"`` or ``"teds_d"``.
    remarks : tuple of str
        Notes on how the source was read (quirks handled and counted, options applied).
    extras : Mapping[str, pandas.DataFrame]
        Source-specific tables a reader keeps for later steps (e.g. CTN-0094 visits and urine
        screens for ``weekly_patterns``). Never needed by the generic outcome code.
    options : Mapping[str, object]
        Options a reader declares about its source, so that the generic engines never ask where
        the data came from (they never test ``provenance``). Keys the library reads:

        * ``"weekly_backbone"``: a callable ``(records, substances) -> WeekCounts`` that
          :func:`iopoutcomes.patterns.weekly_patterns` uses instead of its generic day-since-
          admission weeks (``read_ctn0094`` sets the CTN-0094 study-week backbone);
        * ``"timepoints_from_followups"``: ``True`` makes
          :func:`iopoutcomes.outcomes.episode_outcomes` compute only the outcome timepoints
          that have follow-up rows (``read_teds_d``: a discharge record has no later
          follow-up);
        * ``"record_unit"``: what one episode row is when it is not a person's episode (e.g.
          ``"treatment discharges (TEDS-D)"``); the outcomes then say so in a remark;
        * ``"subjects"``: the word for the people in the data in generated text
          (``"participants"`` for trial data; default ``"clients"``);
        * ``"remarks_in_report"``: ``True`` prints the reader's ``remarks`` in the report's
          data section (``read_exports``).

    Examples
    --------
    >>> import pandas as pd
    >>> from iopoutcomes import read_records
    >>> episodes = pd.DataFrame({"patient_id": ["p1", "p2"], "episode_id": ["e1", "e1"],
    ...                          "cohort": ["IOP", "IOP"],
    ...                          "admission_date": ["2024-01-02", "2024-01-05"]})
    >>> recs = read_records(episodes)
    >>> recs.summary()
          table     source  read  accepted  rejected
    0  episodes  DataFrame     2         0         2
    >>> recs.rejection_counts()
          table                reason  count
    0  episodes  duplicate_episode_id      2
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
    services: pd.DataFrame = field(default_factory=lambda: empty_table("services"))
    options: Mapping[str, Any] = field(default_factory=dict)

    # -- counts -----------------------------------------------------------------------------

    def _tables_read(self) -> list[str]:
        known = [t for t in TABLE_ORDER if t in self.read_counts]
        return known + [t for t in self.read_counts if t not in TABLE_ORDER]

    def _rejected_by_table(self) -> dict[str, int]:
        if len(self.rejected) == 0:
            return {}
        counts = self.rejected["table"].astype(str).value_counts()
        return {str(k): int(v) for k, v in counts.items()}

    def summary(self) -> pd.DataFrame:
        """Rows read, accepted and rejected per table.

        Returns
        -------
        pandas.DataFrame
            Columns ``table, source, read, accepted, rejected`` (one row per table read);
            ``accepted + rejected == read`` on every row.

        Examples
        --------
        >>> import pandas as pd
        >>> from iopoutcomes import read_records
        >>> eps = pd.DataFrame({"patient_id": ["p1"], "episode_id": ["e1"], "cohort": ["IOP"],
        ...                     "admission_date": ["2024-01-02"]})
        >>> read_records(eps).summary()["accepted"].tolist()
        [1]
        """
        rejected = self._rejected_by_table()
        rows = []
        for table in self._tables_read():
            frame = getattr(self, table, None)
            accepted = len(frame) if isinstance(frame, pd.DataFrame) else 0
            rows.append(
                {
                    "table": table,
                    "source": str(self.sources.get(table, "")),
                    "read": int(self.read_counts[table]),
                    "accepted": int(accepted),
                    "rejected": int(rejected.get(table, 0)),
                }
            )
        out = pd.DataFrame(rows, columns=["table", "source", "read", "accepted", "rejected"])
        return out.astype({"read": "int64", "accepted": "int64", "rejected": "int64"})

    def rejection_counts(self) -> pd.DataFrame:
        """Rejected rows by table and reason code, most frequent first within each table.

        Returns
        -------
        pandas.DataFrame
            Columns ``table, reason, count``.

        Examples
        --------
        >>> import pandas as pd
        >>> from iopoutcomes import read_records
        >>> eps = pd.DataFrame({"patient_id": ["p1"], "episode_id": ["e1"], "cohort": ["IOP"],
        ...                     "admission_date": ["2024-31-01"]})
        >>> read_records(eps).rejection_counts()
              table            reason  count
        0  episodes  unparseable_date      1
        """
        columns = ["table", "reason", "count"]
        if len(self.rejected) == 0:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns}).astype(
                {"count": "int64"}
            )
        grouped = (
            self.rejected.groupby(["table", "reason"], observed=True, sort=False)
            .size()
            .reset_index(name="count")
        )
        order = {t: i for i, t in enumerate(self._tables_read())}
        grouped["_t"] = grouped["table"].map(order).fillna(len(order))
        grouped = grouped.sort_values(["_t", "count", "reason"], ascending=[True, False, True])
        out = grouped[columns].reset_index(drop=True)
        return out.astype({"table": object, "reason": object, "count": "int64"})

    # -- display ----------------------------------------------------------------------------

    def _header(self) -> str:
        tables = self._tables_read()
        noun = "table" if len(tables) == 1 else "tables"
        read = int(self.read_counts.get("episodes", len(self.episodes)))
        accepted = len(self.episodes)
        rejected = self._rejected_by_table().get("episodes", read - accepted)
        return (
            f"<Records: {len(tables)} {noun}, {read:,} episodes read, {accepted:,} accepted, "
            f"{rejected:,} rejected; time basis {self.time_basis}>"
        )

    def to_frame(self) -> pd.DataFrame:
        """Return the per-table summary (same as :meth:`summary`)."""
        return self.summary()

    def _remarks(self) -> Sequence[str]:
        reasons = [
            f"{row.table}: {row.count:,} row{'' if row.count == 1 else 's'} rejected, {row.reason} "
            f"({REJECTION_REASONS.get(str(row.reason), 'see rejected')})"
            for row in self.rejection_counts().itertuples(index=False)
        ]
        return (*tuple(self.remarks), *reasons)

    def definition_text(self) -> str | None:
        """Describe the time basis, timepoints and completeness date of the records."""
        as_of = "none" if self.data_as_of is None else f"{self.data_as_of:%Y-%m-%d}"
        return (
            f"Provenance {self.provenance}; timepoints {', '.join(self.timepoints)}; "
            f"data as of {as_of}."
        )

    # -- writing ----------------------------------------------------------------------------

    def to_csv(self, folder: str | os.PathLike[str]) -> dict[str, Path]:
        """Write the accepted tables as canonical CSV files that read back into equal tables.

        Writes ``episodes.csv``, ``followups.csv``, ``use_days.csv`` and ``services.csv``
        (tables with no rows are not written) with deterministic formatting: ISO dates,
        ``\\n`` line endings, UTF-8, no index, flags as 0/1, floats at round-trip (repr)
        precision. Derived day columns are left out when they can be recomputed from dates
        (calendar basis); canonical optional columns that are empty throughout are left out
        too. Covariates are kept.

        Parameters
        ----------
        folder : str or path-like
            Folder to write into (created if needed).

        Returns
        -------
        dict
            Table name -> path written.

        Examples
        --------
        >>> import tempfile, pandas as pd
        >>> from iopoutcomes import read_records
        >>> eps = pd.DataFrame({"patient_id": ["p1"], "episode_id": ["e1"], "cohort": ["IOP"],
        ...                     "admission_date": ["2024-01-02"], "age": [34]})
        >>> recs = read_records(eps)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     paths = recs.to_csv(d)
        ...     back = read_records(paths["episodes"])
        >>> back.episodes.equals(recs.episodes)
        True
        """
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        for table in TABLE_ORDER:
            frame = getattr(self, table)
            if len(frame) == 0:
                continue
            path = out / f"{table}.csv"
            _csv_frame(frame, table, self.time_basis).to_csv(
                path, index=False, lineterminator="\n", encoding="utf-8", na_rep=""
            )
            written[table] = path
        return written


def _csv_frame(frame: pd.DataFrame, table: str, time_basis: str) -> pd.DataFrame:
    spec = TABLES[table]
    canonical = set(spec.names)
    keep = []
    for name in frame.columns:
        if name in canonical:
            kind = spec.column(name).kind
            if kind == "day" and time_basis == "calendar":
                # the day is recomputed from dates, unless it is the only time given
                if table != "use_days" or ("date" in frame and bool(frame["date"].notna().all())):
                    continue
            if not spec.column(name).required and bool(frame[name].isna().all()):
                continue
        keep.append(name)
    out = {}
    for name in keep:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            col = col.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(col.dtype):
            col = col.astype("Int8")
        out[name] = col
    return pd.DataFrame(out, index=frame.index)
