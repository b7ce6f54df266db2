"""Reading and validating follow-up records: ``read_records`` -> :class:`Records`.

``read_records`` takes the three canonical tables (``episodes``, ``followups``, ``use_days``;
see ``docs/format.md`` and :mod:`iopoutcomes.schema`) as files (CSV, Parquet, Excel) or
DataFrames, maps source column names and codes onto the canonical ones, types every column,
derives day numbers relative to admission and rejects, one row at a time, whatever does not fit,
with a stable reason code. Whole-file problems (missing or unreadable file, wrong encoding,
missing required column, no data rows) raise one exception of the library's hierarchy instead.

Privacy (42 CFR Part 2): messages, reprs and the rejected-rows table carry file names, column
names, row numbers, counts and reason codes, never values or identifiers.
"""

from __future__ import annotations

import codecs
import difflib
import hashlib
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._render import ResultDisplay
from .exceptions import (
    EmptyFileError,
    FileReadError,
    MissingColumnError,
    ParameterError,
    RowValidationError,
    SchemaError,
)
from .schema import (
    ASAM_EDITION,
    DEFAULT_TIMEPOINTS,
    FOLLOWUP_STATUSES,
    LEVEL_OF_CARE_FROM_ASAM3,
    LEVELS_OF_CARE,
    REJECTED_COLUMNS,
    REJECTION_REASONS,
    TABLES,
    TableSpec,
    TimeBasis,
)

__all__ = [
    "MISSING_TOKENS",
    "REJECTION_PRECEDENCE",
    "Records",
    "canonical_dtypes",
    "read_records",
]

TABLE_ORDER: tuple[str, ...] = ("episodes", "followups", "use_days")

MISSING_TOKENS: tuple[str, ...] = ("", "NA", "N/A", "NULL", "null", "NaN", "nan", "#N/A", "None")
"""Cell texts read as missing in CSV and Excel files (surrounding whitespace is ignored)."""

REJECTION_PRECEDENCE: tuple[str, ...] = (
    "missing_required_value",
    "unparseable_date",
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
    "assessment_date_without_completion",
    "discharge_before_admission",
    "duplicate_episode_id",
    "unknown_episode",
    "unknown_patient",
    "duplicate_followup",
    "assessment_before_admission",
)
"""Order in which reasons are tried: a row with several problems is rejected once, for the first.

Within one reason, columns are tried in the table's canonical column order.
"""

_STRING = pd.StringDtype()
_DATE: Literal["datetime64[ns]"] = "datetime64[ns]"
_DAYS_COLUMNS = ("days_used_past30", "days_alcohol_past30", "days_drugs_past30")
_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zst")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
_TRUE = ("1", "true", "t", "yes", "y")
_FALSE = ("0", "false", "f", "no", "n")
_KIND_DTYPE: dict[str, Any] = {
    "id": _STRING,
    "label": _STRING,
    "category": _STRING,
    "date": _DATE,
    "integer": "Int64",
    "number": "float64",
    "flag": "boolean",
    "day": "Int64",
}
_TEXT_KINDS = ("id", "label", "category")
_ISO_DATE = r"\d{4}-\d{2}-\d{2}"
_DERIVED = {"episodes": ("discharge_day",), "followups": ("assessment_day",), "use_days": ("day",)}


def canonical_dtypes(table: str) -> dict[str, Any]:
    """Return the dtype of every canonical column of ``table`` after :func:`read_records`.

    Parameters
    ----------
    table : {"episodes", "followups", "use_days"}
        Table name.

    Returns
    -------
    dict
        Column name -> pandas dtype (``string``, ``datetime64[ns]``, ``Int64``, ``float64``,
        ``boolean``).

    Examples
    --------
    >>> canonical_dtypes("followups")["days_used_past30"]
    'Int64'
    """
    spec = _spec(table)
    return {c.name: _KIND_DTYPE[c.kind] for c in spec.columns}


def _spec(table: str) -> TableSpec:
    try:
        return TABLES[table]
    except KeyError:
        raise ParameterError(
            f"Unknown table {table!r}; the canonical tables are {list(TABLE_ORDER)}."
        ) from None


def _empty_table(table: str) -> pd.DataFrame:
    return pd.DataFrame(
        {name: pd.Series([], dtype=dtype) for name, dtype in canonical_dtypes(table).items()}
    )


# --- the container -------------------------------------------------------------------------


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
        SHA-256 of each input file (for the report's reproducibility stamp). For
        :func:`read_records`, computed on first lookup; a file changed since it was read
        raises :class:`~iopoutcomes.FileReadError` then.
    truth : object or None
        For simulated records, the generating parameters and full-data counts.
    provenance : str
        ``"canonical"`` (read_records), ``"simulated"``, ``"ctn0094"`` or ``"teds_d"``.
    remarks : tuple of str
        Notes on how the source was read (quirks handled and counted, options applied).
    extras : Mapping[str, pandas.DataFrame]
        Source-specific tables a reader keeps for later steps (e.g. CTN-0094 visits and urine
        screens for ``weekly_patterns``). Never needed by the generic outcome code.

    Examples
    --------
    >>> import pandas as pd
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

        Writes ``episodes.csv``, ``followups.csv`` and ``use_days.csv`` (tables with no rows
        are not written) with deterministic formatting: ISO dates, ``\\n`` line endings, UTF-8,
        no index, flags as 0/1, floats at round-trip (repr) precision. Derived day columns are
        left out when they can be recomputed from dates (calendar basis); canonical optional
        columns that are empty throughout are left out too. Covariates are kept.

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


# --- loading -------------------------------------------------------------------------------


@dataclass
class _Raw:
    frame: pd.DataFrame
    source: str
    file: _FileStamp | None  # the file as it was when read (``None`` for a DataFrame)
    whole_days: frozenset[str] = frozenset()  # source columns read as dates by pyarrow


@dataclass(frozen=True)
class _FileStamp:
    """A file as read: its path, size and modification time (nanoseconds)."""

    path: Path
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> _FileStamp:
        stat = path.stat()
        return cls(path, stat.st_size, stat.st_mtime_ns)


class FileHashes(Mapping[str, str]):
    """SHA-256 of each input file, computed when first looked up (table name -> hex digest).

    Reading the files a second time only to hash them would cost about as much CPU as a
    quarter of the parse, and only the report's reproducibility stamp needs the hashes, so
    :func:`read_records` records each file's size and modification time and hashes the file on
    the first lookup. A file that changed since it was read can no longer be hashed as read:
    the lookup raises :class:`~iopoutcomes.FileReadError`.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> eps = pd.DataFrame({"patient_id": ["p1"], "episode_id": ["e1"], "cohort": ["IOP"],
    ...                     "admission_date": ["2024-01-02"]})
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = pathlib.Path(d) / "episodes.csv"
    ...     eps.to_csv(path, index=False)
    ...     hashes = read_records(path).file_hashes
    ...     digest = hashes["episodes"]
    >>> list(hashes), len(digest)
    (['episodes'], 64)
    """

    def __init__(self, files: Mapping[str, _FileStamp] | None = None) -> None:
        self._files = dict(files or {})
        self._digests: dict[str, str] = {}
        self._lock = threading.Lock()

    def __getitem__(self, table: str) -> str:
        digest = self._digests.get(table)
        if digest is not None:
            return digest
        stamp = self._files[table]  # KeyError for a table without a file, as a dict would
        with self._lock:  # two threads asking at once hash the file once
            if table not in self._digests:
                self._digests[table] = _sha256_as_read(table, stamp)
        return self._digests[table]

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def __repr__(self) -> str:
        shown = {t: self._digests.get(t, "<computed on first lookup>") for t in self._files}
        return f"FileHashes({shown!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {"_files": self._files, "_digests": self._digests}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._files = state["_files"]
        self._digests = state["_digests"]
        self._lock = threading.Lock()


def _sha256_as_read(table: str, stamp: _FileStamp) -> str:
    """SHA-256 of ``stamp.path``, provided the file is still the one read_records read."""
    name = stamp.path.name
    changed = FileReadError(
        f"The {table} file {name!r} changed (or was moved) after read_records read it, so its "
        "SHA-256 for the reproducibility stamp would not describe the data read. Read the "
        "records again."
    )
    try:
        before = _FileStamp.of(stamp.path)
        digest = _sha256(stamp.path)
        after = _FileStamp.of(stamp.path)  # rewritten while it was being hashed?
    except OSError:
        raise changed from None
    if before != stamp or after != stamp:
        raise changed
    return digest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    buffer = bytearray(1 << 22)  # one buffer for every block: no allocation per block
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as handle:
        while size := handle.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


def _text_sources(table: str, mapping: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """Source column names to read as text (ids, labels, vocabularies, dates) and as dates."""
    spec = TABLES[table]
    text = {c.name for c in spec.columns if c.kind in (*_TEXT_KINDS, "date")}
    dates = {c.name for c in spec.columns if c.kind == "date"}
    text_src = set(text) | {src for src, dst in mapping.items() if dst in text}
    date_src = set(dates) | {src for src, dst in mapping.items() if dst in dates}
    return sorted(text_src), sorted(date_src)


def _whole_number_sources(table: str, mapping: Mapping[str, str]) -> list[str]:
    """Source column names of the canonical whole-number columns (counts and day numbers)."""
    wanted = {c.name for c in TABLES[table].columns if c.kind in ("integer", "day")}
    renamed = {src for src, dst in mapping.items() if dst in wanted}
    # a source column mapped elsewhere is not the canonical column of the same name
    return sorted(renamed | {c for c in wanted if mapping.get(c, c) == c})


def _load(
    source: Any, table: str, mapping: Mapping[str, str], encoding: str, date_format: str | None
) -> _Raw:
    if isinstance(source, pd.DataFrame):
        return _Raw(source, "DataFrame", None)
    if not isinstance(source, str | os.PathLike):
        raise ParameterError(
            f"The {table!r} argument of read_records must be a file path or a pandas DataFrame; "
            f"got {type(source).__name__}."
        )
    path = Path(source)
    name = path.name
    lower = name.lower()
    if not path.exists():
        raise FileReadError(
            f"The {table} file {name!r} does not exist. Check the path (and the folder it is in)."
        )
    if path.is_dir():
        raise FileReadError(f"The {table} source {name!r} is a folder, not a file.")
    supported = (*_CSV_SUFFIXES, *_PARQUET_SUFFIXES, *_EXCEL_SUFFIXES)
    if not lower.endswith(supported):
        raise FileReadError(
            f"The {table} file {name!r} has an extension read_records does not know. "
            f"Supported: {', '.join(supported)}; or read it yourself and pass a DataFrame."
        )
    text_src, date_src = _text_sources(table, mapping)
    try:
        # size and modification time before reading: a file rewritten during or after the
        # read is caught when its hash is looked up (FileHashes)
        stamp = _FileStamp.of(path)
        if lower.endswith(_CSV_SUFFIXES):
            frame = _read_csv(
                path,
                text_src,
                date_src,
                encoding,
                table,
                date_format,
                _whole_number_sources(table, mapping),
            )
        elif lower.endswith(_PARQUET_SUFFIXES):
            frame = _read_parquet(path, table)
        else:
            frame = _read_excel(path, sorted(set(text_src) - set(date_src)), table)
    except PermissionError:
        raise FileReadError(
            f"The {table} file {name!r} cannot be read: permission denied."
        ) from None
    except IsADirectoryError:
        raise FileReadError(f"The {table} source {name!r} is a folder, not a file.") from None
    whole_days = (
        frozenset(c for c in date_src if c in frame.columns and frame[c].dtype.kind == "M")
        if lower.endswith(_CSV_SUFFIXES)
        else frozenset()
    )
    return _Raw(frame, name, stamp, whole_days)


def _read_csv(
    path: Path,
    text_src: list[str],
    date_src: list[str],
    encoding: str,
    table: str,
    date_format: str | None,
    whole_src: Sequence[str] = (),
) -> pd.DataFrame:
    """Read a CSV with pyarrow: ids, labels and vocabularies as text, other columns inferred.

    With ISO dates, date columns are first read as ``date32`` (pyarrow's strict ISO parser, fast);
    if any value does not convert, the file is read again with the dates as text and each
    unparseable value is rejected row by row later. Columns of ``whole_src`` (canonical
    whole-number columns) that pyarrow reads as integers arrive as ``Int64``, so the typing
    step can keep them as they are (no float round trip).
    """
    import pyarrow.csv as pcsv

    name = path.name
    if path.stat().st_size == 0:
        raise EmptyFileError(f"The {table} file {name!r} is empty (no header, no rows).")
    try:
        # pyarrow decodes "utf8" natively; any other spelling goes through Python codecs
        native = codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        raise ParameterError(
            f"encoding={encoding!r} is not an encoding Python knows (e.g. 'utf-8', 'cp1252')."
        ) from None
    read_options = pcsv.ReadOptions(encoding="utf8" if native else encoding)
    types: dict[str, pa.DataType] = {c: pa.large_string() for c in text_src}
    attempts = [types]
    if date_format is None and date_src:
        attempts.insert(0, {**types, **dict.fromkeys(date_src, pa.date32())})
    arrow = None
    for k, column_types in enumerate(attempts):
        convert = pcsv.ConvertOptions(
            column_types=column_types,
            null_values=list(MISSING_TOKENS),
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            timestamp_parsers=[],
        )
        try:
            arrow = pcsv.read_csv(path, read_options=read_options, convert_options=convert)
            break
        except pa.ArrowInvalid as exc:
            if k + 1 < len(attempts) and "conversion error to date32" in str(exc):
                continue
            raise _csv_error(exc, table, name, encoding) from None
        except (UnicodeDecodeError, UnicodeError):
            raise _encoding_error(table, name, encoding) from None
        except LookupError:
            raise ParameterError(
                f"encoding={encoding!r} is not an encoding Python knows (e.g. 'utf-8', 'cp1252')."
            ) from None
        except (pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError) as exc:
            raise _csv_error(exc, table, name, encoding) from None
    if arrow is None:  # pragma: no cover - the loop either reads or raises
        raise FileReadError(f"The {table} file {name!r} could not be read.")
    for column in arrow.schema:
        if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            raise _encoding_error(table, name, encoding)
    if arrow.num_rows == 0:
        raise EmptyFileError(
            f"The {table} file {name!r} has a header but no data rows "
            f"(columns found: {arrow.column_names})."
        )
    # strings stay Arrow-backed (no copy); dates arrive as datetime64[ns] directly
    whole = [
        c
        for c in whole_src
        if c in arrow.column_names
        and arrow.column_names.count(c) == 1
        and pa.types.is_integer(arrow.schema.field(c).type)
    ]
    frame = arrow.drop_columns(whole) if whole else arrow
    out = frame.to_pandas(date_as_object=False, split_blocks=True, coerce_temporal_nanoseconds=True)
    names = arrow.column_names
    for c in sorted(whole, key=names.index):
        column = arrow.column(c).to_pandas(types_mapper=lambda _: pd.Int64Dtype())
        out.insert(names.index(c), c, column.array)
    # The parser's scratch blocks (about as large as the file) are now free inside Arrow's
    # pool, which keeps them for later Arrow allocations; handing them back to the operating
    # system lets the numpy arrays of the validation reuse those pages instead of touching
    # new ones (peak memory about 200 MB lower for 4 million follow-ups, 3 ms). Arrow warns
    # that this can slow later Arrow allocations; here the next large ones are numpy's.
    pa.default_memory_pool().release_unused()
    return out


def _encoding_error(table: str, name: str, encoding: str) -> FileReadError:
    return FileReadError(
        f"The {table} file {name!r} is not valid {encoding} text. Declare its encoding, e.g. "
        "read_records(..., encoding='cp1252') for Windows/Excel exports or encoding='latin-1', "
        "or re-save it as UTF-8."
    )


def _csv_error(
    exc: Exception, table: str, name: str, encoding: str
) -> FileReadError | EmptyFileError:
    text = str(exc)
    low = text.lower()
    if "utf8" in low or "utf-8" in low:
        return _encoding_error(table, name, encoding)
    if "empty csv" in low:
        return EmptyFileError(f"The {table} file {name!r} is empty (no header, no rows).")
    # keep the structural part of pyarrow's message; drop anything that quotes the row
    match = re.search(r"Expected \d+ columns, got \d+", text)
    detail = match.group(0) if match else type(exc).__name__
    row = re.search(r"[Rr]ow #?(\d+)", text)
    where = f" near line {row.group(1)}" if row else ""
    return FileReadError(
        f"The {table} file {name!r} could not be parsed as CSV{where} ({detail}). Check the "
        "delimiter (a comma is expected), quoting and that every row has the header's columns."
    )


def _read_parquet(path: Path, table: str) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except (pa.ArrowInvalid, pa.ArrowException, OSError, ValueError) as exc:
        raise FileReadError(
            f"The {table} file {path.name!r} could not be read as Parquet "
            f"({type(exc).__name__}); check that it is a Parquet file and not truncated."
        ) from None
    if len(frame) == 0:
        raise EmptyFileError(
            f"The {table} file {path.name!r} has no data rows "
            f"(columns found: {[str(c) for c in frame.columns]})."
        )
    return frame


def _read_excel(path: Path, text_src: list[str], table: str) -> pd.DataFrame:
    try:
        frame = pd.read_excel(
            path,
            sheet_name=0,
            dtype=dict.fromkeys(text_src, str),
            na_values=list(MISSING_TOKENS),
            keep_default_na=False,
        )
    except ImportError:
        raise FileReadError(
            f"Reading the {table} file {path.name!r} needs an Excel engine that is not "
            "installed (old .xls files need xlrd). Save it as .xlsx or CSV."
        ) from None
    except Exception as exc:  # openpyxl/zipfile raise many types for broken workbooks
        raise FileReadError(
            f"The {table} file {path.name!r} could not be read as an Excel workbook "
            f"({type(exc).__name__}); check that it is a valid .xlsx file."
        ) from None
    if len(frame) == 0:
        raise EmptyFileError(
            f"The {table} file {path.name!r} has no data rows in its first sheet "
            f"(columns found: {[str(c) for c in frame.columns]})."
        )
    return frame


# --- option handling -----------------------------------------------------------------------


def _per_table(option: Any, table: str, name: str) -> dict[str, Any]:
    """Pick the part of a ``columns=``/``codes=`` option that applies to ``table``."""
    if option is None:
        return {}
    if not isinstance(option, Mapping):
        raise ParameterError(f"{name}= must be a dict; got {type(option).__name__}.")
    if (
        option
        and all(k in TABLE_ORDER for k in option)
        and all(isinstance(v, Mapping) for v in option.values())
    ):
        part = option.get(table, {})
        return dict(part)
    return dict(option)


def _rename(raw: _Raw, table: str, mapping: Mapping[str, str]) -> pd.DataFrame:
    frame = raw.frame
    columns = [str(c).strip() for c in frame.columns]
    renamed = [str(mapping.get(c, c)) for c in columns]
    seen: dict[str, int] = {}
    for name in renamed:
        seen[name] = seen.get(name, 0) + 1
    doubled = sorted(n for n, k in seen.items() if k > 1)
    if doubled:
        raise SchemaError(
            f"The {table} table ({raw.source}) has column(s) {doubled} more than once after "
            "applying columns=. Each canonical column must come from exactly one source column."
        )
    out = frame.copy(deep=False)
    out.columns = pd.Index(renamed, dtype=object)
    return out


def _whole_days(raw: _Raw, frame: pd.DataFrame) -> frozenset[str]:
    """Canonical names of the columns pyarrow already read as whole-day dates."""
    renamed = dict(zip(raw.frame.columns, frame.columns, strict=True))
    return frozenset(str(renamed[c]) for c in raw.whole_days if c in renamed)


def _require(frame: pd.DataFrame, table: str, source: str, needed: Sequence[str]) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if not missing:
        return
    found = [str(c) for c in frame.columns]
    hints = []
    for col in missing:
        close = difflib.get_close_matches(col, found, n=1, cutoff=0.5)
        hints.append(f"{close[0] if close else '<source name>'!r}: {col!r}")
    raise MissingColumnError(
        f"The {table} table ({source}) is missing required column(s) {missing}. "
        f"Found: {found}. Map source names to canonical ones with "
        f"read_records(..., columns={{{', '.join(hints)}}})."
    )


# --- column coercion (vectorised) -----------------------------------------------------------


def _arrow_text(values: pd.Series, few: bool = False) -> pa.Array:
    """Any column as trimmed Arrow text; empty or blank cells become null.

    ``few`` says the column has few distinct values (labels, vocabularies): they are checked
    once each, and a column that needs no trimming is returned as it is, without a copy.
    """
    return _trimmed(_as_text(values), few)


def _as_text(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """Any column as Arrow ``large_string`` (CSV text without a copy), untrimmed."""
    dtype = values.dtype
    if pd.api.types.is_float_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        arr = pc.cast(pa.array(values, from_pandas=True), pa.string())
    elif pd.api.types.is_bool_dtype(dtype):
        arr = pc.cast(pa.array(values, from_pandas=True), pa.string())
    elif isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        # the Arrow data behind the column (CSV text): no copy, chunks kept
        arr = getattr(values.array, "_pa_array", None)
        if arr is None:  # pragma: no cover - other pandas internals
            arr = pa.array(values, from_pandas=True)
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        arr = pa.array(values.dt.strftime("%Y-%m-%d"), from_pandas=True)
    else:
        arr = pa.array(values.astype(_STRING), from_pandas=True)
    if not pa.types.is_large_string(arr.type):
        arr = pc.cast(arr, pa.large_string())
    return arr


def _trimmed(arr: pa.Array | pa.ChunkedArray, few: bool = False) -> pa.Array:
    """``arr`` with surrounding whitespace trimmed and empty texts made null."""
    if few:
        uniq = pc.unique(arr)
        clean = pc.utf8_trim_whitespace(uniq)
        if (
            pc.all(pc.equal(clean, uniq)).as_py() is not False
            and pc.min(pc.binary_length(clean)).as_py() != 0
        ):
            return arr
    trimmed = pc.utf8_trim_whitespace(arr)
    lengths = pc.binary_length(trimmed)  # from the offsets: cheap
    if pc.sum(lengths).as_py() == pc.sum(pc.binary_length(arr)).as_py():
        trimmed = arr  # nothing was trimmed: keep the source buffers, drop the copy
    empty = pc.equal(lengths, 0)
    if not pc.any(empty).as_py():
        return trimmed
    return pc.if_else(empty, pa.scalar(None, trimmed.type), trimmed)


def _to_series(arr: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    return pd.Series(pd.array(arr, dtype=_STRING), index=index)


def _dictionary(arr: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """(distinct non-null values, int32 position of each row's value among them, -1 for null).

    One hashing pass over the rows (``dictionary_encode``; a chunked column gets one
    dictionary shared by its chunks).
    """
    encoded = pc.dictionary_encode(arr)
    if isinstance(encoded, pa.ChunkedArray):
        chunks = encoded.chunks
        if not chunks:
            return pa.array([], arr.type), np.zeros(0, dtype=np.int32)
        dictionary = chunks[-1].dictionary
        if any(not c.dictionary.equals(dictionary) for c in chunks[:-1]):
            encoded = encoded.unify_dictionaries()  # pragma: no cover - Arrow shares one
            chunks = encoded.chunks
            dictionary = chunks[-1].dictionary
        indices: pa.Array | pa.ChunkedArray = pa.chunked_array(
            [c.indices for c in chunks], type=chunks[0].indices.type
        )
    else:
        dictionary, indices = encoded.dictionary, encoded.indices
    return dictionary, _flat_codes(indices)


def _clean_dictionary(arr: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray] | None:
    """:func:`_dictionary` of ``arr`` when no value needs trimming or is blank, else ``None``."""
    dictionary, codes = _dictionary(arr)
    trimmed = pc.utf8_trim_whitespace(dictionary)
    if len(dictionary) and (
        not pc.all(pc.equal(trimmed, dictionary)).as_py()
        or pc.min(pc.binary_length(trimmed)).as_py() == 0
    ):
        return None
    return dictionary, codes


def _code_dtype(n_values: int) -> Any:
    """The smallest signed integer type for positions among ``n_values`` values (and -1)."""
    return np.int8 if n_values < 128 else np.int32


def _flat_codes(codes: pa.Array | pa.ChunkedArray, dtype: Any = np.int32) -> np.ndarray:
    """Integer codes (e.g. from ``pc.index_in``) as one numpy array of ``dtype``, -1 for null.

    Filled chunk by chunk: no combined copy and no filled copy of the whole column.
    """
    chunks = codes.chunks if isinstance(codes, pa.ChunkedArray) else [codes]
    out = np.empty(len(codes), dtype=dtype)
    start = 0
    for chunk in chunks:
        stop = start + len(chunk)
        if chunk.null_count:
            chunk = pc.fill_null(chunk, -1)
        out[start:stop] = chunk.to_numpy(zero_copy_only=False)
        start = stop
    return out


def _isnull(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.is_null(arr).to_numpy(zero_copy_only=False), dtype=bool)


def _apply_codes(arr: pa.Array, codes: Mapping[Any, Any] | None) -> pa.Array:
    """Map source values to canonical ones (keys compared as trimmed text)."""
    if not codes:
        return arr
    keys = [_code_key(k) for k in codes]
    vals = [None if v is None else str(v) for v in codes.values()]
    hit = pc.index_in(arr, value_set=pa.array(keys, type=arr.type))
    mapped = pc.take(pa.array(vals, type=arr.type), hit)
    return pc.if_else(pc.is_null(hit), arr, mapped)


def _code_key(key: Any) -> str:
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key).strip()


def _vocab(arr: pa.Array, vocabulary: Sequence[str]) -> tuple[pa.Array, np.ndarray]:
    """Case-insensitive vocabulary match: (canonical spelling or null, bad mask)."""
    vocab = pa.array(list(vocabulary), type=pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.cast(vocab.type) if arr.type != vocab.type else arr
    elif arr.type != vocab.type:
        arr = pc.cast(arr, vocab.type)
    # the distinct values are a handful: match those, then spread back to the rows
    uniq = pc.drop_null(pc.unique(arr))
    if pc.all(pc.is_in(uniq, value_set=vocab)).as_py() is not False:
        return arr, np.zeros(len(arr), dtype=bool)
    lowered = pa.array([v.lower() for v in vocabulary], vocab.type)
    canon_uniq = pc.take(vocab, pc.index_in(pc.utf8_lower(uniq), value_set=lowered))
    canon = pc.take(canon_uniq, pc.index_in(arr, value_set=uniq))
    return canon, ~_isnull(arr) & _isnull(canon)


def _dates(
    values: pd.Series, date_format: str | None, whole_days: bool = False
) -> tuple[pd.Series, np.ndarray]:
    """Parse a date column: (datetime64[ns] series, unparseable mask).

    ``whole_days`` says the values are known to be midnights (CSV dates read as ``date32``).
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = values
        if getattr(values.dtype, "tz", None) is not None:
            parsed = values.dt.tz_localize(None)
        parsed = parsed.astype(_DATE)
        if not whole_days:
            parsed = parsed.dt.normalize()
        return parsed, np.zeros(len(values), dtype=bool)
    fmt = date_format or "%Y-%m-%d"
    if values.dtype == object:
        # Excel and hand-made frames may mix datetime objects (taken as they are) with text
        missing = _isnull(_arrow_text(values))
        text = values.str.strip()  # NaN for the non-text cells
        parsed = pd.to_datetime(text.where(text.notna(), values), format=fmt, errors="coerce")
        bad = ~missing & parsed.isna().to_numpy()
        if date_format is None:
            shape = text.str.fullmatch(_ISO_DATE).to_numpy(dtype=object)
            bad |= ~missing & np.asarray(shape == False, dtype=bool)  # noqa: E712 - NaN is not False
        return parsed.astype(_DATE).dt.normalize(), np.asarray(bad, dtype=bool)
    arr = _arrow_text(values)
    missing = _isnull(arr)
    if date_format is None:
        # ISO only: exactly YYYY-MM-DD (strptime alone would also take 2024-1-5)
        shape = pc.match_substring_regex(arr, f"^{_ISO_DATE}$")
        arr = pc.if_else(pc.fill_null(shape, False), arr, pa.scalar("x", arr.type))
        arr = pc.if_else(pa.array(missing), pa.scalar(None, arr.type), arr)
    parsed = pd.to_datetime(_to_series(arr, values.index), format=fmt, errors="coerce")
    bad = ~missing & parsed.isna().to_numpy()
    return parsed.astype(_DATE).dt.normalize(), np.asarray(bad, dtype=bool)


def _numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse a numeric column: (float64 array with NaN for missing, unparseable mask)."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        nums = values.to_numpy(dtype="float64", na_value=np.nan)
        return nums, np.zeros(len(values), dtype=bool)
    arr = _arrow_text(values)
    missing = _isnull(arr)
    parsed = pd.to_numeric(_to_series(arr, values.index), errors="coerce")
    nums = parsed.to_numpy(dtype="float64", na_value=np.nan)
    bad = ~missing & (np.isnan(nums) | np.isinf(nums))
    return nums, bad


def _whole_numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(int64 data, missing mask) of an ``Int64`` column, without copies; else ``None``.

    The data under the mask is arbitrary: mask it before use.
    """
    if not isinstance(values.dtype, pd.Int64Dtype):
        return None
    array = values.array
    data = getattr(array, "_data", None)  # pandas' masked arrays: values and mask
    mask = getattr(array, "_mask", None)
    if not isinstance(data, np.ndarray) or not isinstance(mask, np.ndarray):
        return None  # pragma: no cover - other pandas internals
    return data, mask


def _flags(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse a 0/1 flag: (boolean series, not-binary mask). Accepts 0/1, true/false, yes/no."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return values.astype("boolean"), np.zeros(len(values), dtype=bool)
    if pd.api.types.is_numeric_dtype(dtype):
        nums = values.to_numpy(dtype="float64", na_value=np.nan)
        bad = ~np.isnan(nums) & ~np.isin(nums, (0.0, 1.0))
        flag = pd.arrays.BooleanArray(nums == 1.0, np.isnan(nums) | bad)
        return pd.Series(flag, index=values.index), bad
    arr = pc.utf8_lower(_arrow_text(values))
    # numeric text such as "1.0" counts as 1
    is_true = pc.is_in(arr, value_set=pa.array(_TRUE, type=arr.type))
    is_false = pc.is_in(arr, value_set=pa.array(_FALSE, type=arr.type))
    true_np = np.asarray(is_true.to_numpy(zero_copy_only=False), dtype=bool)
    false_np = np.asarray(is_false.to_numpy(zero_copy_only=False), dtype=bool)
    missing = _isnull(arr)
    unmatched = ~missing & ~true_np & ~false_np
    if unmatched.any():
        nums = pd.to_numeric(_to_series(arr, values.index), errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        true_np |= unmatched & (nums == 1.0)
        false_np |= unmatched & (nums == 0.0)
    bad = ~missing & ~true_np & ~false_np
    flag = pd.arrays.BooleanArray(true_np, ~(true_np | false_np))
    return pd.Series(flag, index=values.index), bad


def _int_array(nums: np.ndarray, drop: np.ndarray | None = None) -> pd.arrays.IntegerArray:
    """``Int64`` array from floats (NaN, and ``drop`` where given, become missing)."""
    mask = np.isnan(nums) if drop is None else (np.isnan(nums) | drop)
    return pd.arrays.IntegerArray(np.where(mask, 0, nums).astype(np.int64), mask)


def _day_arrays(later: pd.Series, admission: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(whole days from ``admission`` to ``later``, missing mask); negative when earlier.

    Midnights: the day count is negative exactly when ``later < admission``.
    """
    a = later.to_numpy(dtype="datetime64[ns]")
    b = admission.to_numpy(dtype="datetime64[ns]")
    mask = np.isnat(a) | np.isnat(b)
    days = np.subtract(a.view(np.int64), b.view(np.int64))  # one array, then in place
    days[mask] = 0
    np.floor_divide(days, 86_400_000_000_000, out=days)
    return days, mask


_BLOCK = 1 << 16  # rows per block: a block's temporaries stay in the CPU caches


def _days_after(
    later: pd.Series, admission: pd.Series, position: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(whole days from the admission at row ``position`` to ``later``, missing mask).

    :func:`_day_arrays` of ``later`` and ``admission`` taken at ``position`` (-1: missing),
    computed block by block: no admission column of the table's length is made.
    """
    n = len(later)
    later_ns = later.to_numpy(dtype="datetime64[ns]").view(np.int64)
    admitted = admission.to_numpy(dtype="datetime64[ns]").view(np.int64)
    days = np.empty(n, dtype=np.int64)
    mask = np.empty(n, dtype=bool)
    if len(admitted) == 0:
        mask[:] = True
        days[:] = 0
        return days, mask
    nat = np.iinfo(np.int64).min
    for lo in range(0, n, _BLOCK):
        hi = min(lo + _BLOCK, n)
        where = position[lo:hi]
        start = admitted.take(where, mode="clip")
        end = later_ns[lo:hi]
        missing = mask[lo:hi]
        np.less(where, 0, out=missing)
        missing |= end == nat
        missing |= start == nat
        block = days[lo:hi]
        np.subtract(end, start, out=block)
        block[missing] = 0
        np.floor_divide(block, 86_400_000_000_000, out=block)
    return days, mask


# --- per-table validation -------------------------------------------------------------------


class _Rejections:
    """First-reason-wins rejection bookkeeping for one table (vectorised over rows)."""

    def __init__(self, table: str, source: str, n: int) -> None:
        self.table = table
        self.source = source
        self.n = n
        self.problems: list[tuple[int, int, str, str, np.ndarray]] = []
        self._order = {r: i for i, r in enumerate(REJECTION_PRECEDENCE)}
        self._details: dict[tuple[str, str], str] = {}

    def add(self, reason: str, column: str, mask: np.ndarray | pd.Series, detail: str = "") -> None:
        mask_np = np.asarray(mask, dtype=bool)
        if mask_np.any():
            self.problems.append((self._order[reason], len(self.problems), reason, column, mask_np))
            if detail:
                self._details[(reason, column)] = detail

    def prepend(self, first: _Rejections) -> None:
        """Put the problems ``first`` found (on earlier columns) before this one's."""
        ours = self.problems
        self.problems = []
        for _, _, reason, column, mask in (*first.problems, *ours):
            self.problems.append((self._order[reason], len(self.problems), reason, column, mask))
        self._details = {**first._details, **self._details}

    def resolve(self) -> tuple[np.ndarray, pd.DataFrame]:
        """Return (accepted mask, rejected rows table)."""
        reason_idx = np.full(self.n, -1, dtype=np.int32)
        for k, (_, _, _, _, mask) in enumerate(sorted(self.problems, key=lambda p: p[:2])):
            reason_idx[mask & (reason_idx < 0)] = k
        ordered = sorted(self.problems, key=lambda p: p[:2])
        rows = np.flatnonzero(reason_idx >= 0)
        picks = reason_idx[rows]
        reasons = np.array([p[2] for p in ordered] or [""], dtype=object)
        columns = np.array([p[3] for p in ordered] or [""], dtype=object)
        messages = np.array(
            [
                f"{p[3]}: {REJECTION_REASONS[p[2]]}"
                + (f" ({self._details[(p[2], p[3])]})" if (p[2], p[3]) in self._details else "")
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
            }
        )
        return reason_idx < 0, rejected


def _base_columns(
    frame: pd.DataFrame,
    spec: TableSpec,
    rej: _Rejections,
    codes: Mapping[str, Mapping[Any, Any]],
    date_format: str | None,
    skip: Sequence[str] = (),
    whole_days: frozenset[str] = frozenset(),
    keys: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Type every canonical column present (except ``skip``); record generic problems.

    ``keys`` receives the :func:`_id_keys` of id columns when they come for free.
    """
    typed: dict[str, Any] = {}
    n = len(frame)
    absent: dict[str, Any] = {}  # one all-missing column per kind, shared Copy-on-Write
    for col in spec.columns:
        name = col.name
        if name in skip:
            continue
        if name not in frame.columns:
            if col.kind not in absent:
                absent[col.kind] = _missing_column(col.kind, n)
            typed[name] = _shared(absent[col.kind])
            continue
        values = frame[name]
        if col.kind == "id" and not codes.get(name):
            text = _as_text(values)
            packed = _packed_ids(text)
            if packed is not None:  # the usual case: short clean ids, nothing to trim
                if col.required:
                    rej.add("missing_required_value", name, _isnull(text))
                typed[name] = text
                if keys is not None:
                    keys[name] = packed
                continue
        if col.kind in _TEXT_KINDS:
            reason = _VOCAB_REASONS.get(name) if col.vocabulary is not None else None
            clean = None
            if reason is not None and col.vocabulary is not None and not codes.get(name):
                clean = _already_canonical(values, col.vocabulary)
            if clean is not None:  # the usual case: nothing to trim, map or reject
                if col.required:
                    rej.add("missing_required_value", name, _isnull(clean))
                typed[name] = clean
                continue
            arr = _apply_codes(_arrow_text(values, col.kind != "id"), codes.get(name))
            if col.required:
                rej.add("missing_required_value", name, _isnull(arr))
            if reason is not None and col.vocabulary is not None:
                canon, bad = _vocab(arr, col.vocabulary)
                rej.add(reason, name, bad)
                arr = canon
            typed[name] = arr
        elif col.kind == "date":
            parsed, bad = _dates(values, date_format, name in whole_days)
            if col.required:
                rej.add("missing_required_value", name, parsed.isna().to_numpy() & ~bad)
            rej.add("unparseable_date", name, bad, f"expected {date_format or '%Y-%m-%d'}")
            typed[name] = parsed
        elif col.kind in ("integer", "day"):
            whole = None if codes.get(name) else _whole_numbers(values)
            if whole is not None:  # integers as read: nothing to parse, round or copy
                data, absent_mask = whole
                # the bounds of every slot, masked ones included, settle the usual case at
                # once; only a column that has some value out of range is checked by row
                if name in _DAYS_COLUMNS and len(data) and (data.min() < 0 or data.max() > 30):
                    out_of_range = (data < 0) | (data > 30)
                    rej.add("days_used_out_of_range", name, out_of_range & ~absent_mask)
                if col.required:
                    rej.add("missing_required_value", name, absent_mask)
                typed[name] = values.copy(deep=False)
                continue
            nums, bad = _numbers(_coded(values, codes.get(name)))
            rej.add("unparseable_number", name, bad)
            integral = np.isnan(nums) | (nums == np.round(nums))
            if name in _DAYS_COLUMNS:
                rej.add("days_used_not_integer", name, ~integral)
                rej.add(
                    "days_used_out_of_range", name, ~np.isnan(nums) & ((nums < 0) | (nums > 30))
                )
            else:
                rej.add("unparseable_number", name, ~integral, "expected a whole number")
            typed[name] = pd.Series(_int_array(nums, ~integral))
            if col.required:
                rej.add("missing_required_value", name, np.isnan(nums) & ~bad)
        elif col.kind == "number":
            nums, bad = _numbers(_coded(values, codes.get(name)))
            rej.add("unparseable_number", name, bad)
            typed[name] = nums
        elif col.kind == "flag":
            flag, bad = _flags(_coded(values, codes.get(name)))
            if name == "used":
                rej.add("used_not_binary", name, bad)
            else:
                rej.add("flag_not_binary", name, bad, "expected 0/1, true/false or yes/no")
            if col.required:
                rej.add("missing_required_value", name, flag.isna().to_numpy() & ~bad)
            typed[name] = flag
    return typed


_VOCAB_REASONS = {
    "status": "unknown_status",
    "discharge_reason": "unknown_discharge_reason",
    "uds_result": "unknown_uds_result",
    "source": "unknown_source",
}


def _exact_codes(
    values: pd.Series, vocabulary: Sequence[str]
) -> tuple[pa.Array | pa.ChunkedArray, pa.Array | pa.ChunkedArray] | None:
    """(the column as Arrow text, each value's position in ``vocabulary``) when every present
    value is spelled exactly as one of ``vocabulary``; ``None`` when some value needs trimming,
    another case or mapping (or is not in it at all).

    One probing pass: only the nulls find nothing, so the column is kept as it is (no trimmed
    copy, no case-insensitive matching).
    """
    text = _as_text(values)
    code = pc.index_in(text, value_set=pa.array(list(vocabulary), pa.large_string()))
    return (text, code) if code.null_count == text.null_count else None


def _already_canonical(values: pd.Series, vocabulary: Sequence[str]) -> pa.ChunkedArray | None:
    """The column's own Arrow text when every value is already a canonical spelling.

    ``None`` when the column is not Arrow text (a CSV column is) or any value needs work.
    """
    dtype = values.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return None
    found = _exact_codes(values, vocabulary)
    return None if found is None else found[0]


def _missing_column(kind: str, n: int) -> Any:
    """An all-missing column of ``kind`` (text kinds as Arrow nulls)."""
    # built in their final dtype with no per-row work (np.zeros pages stay untouched until
    # written), so _assemble wraps them without a copy
    if kind in _TEXT_KINDS:
        return pa.nulls(n, pa.large_string())
    if kind == "date":
        return pd.Series(np.full(n, np.datetime64("NaT", "ns")), copy=False)
    if kind == "number":
        return pd.Series(np.full(n, np.nan), copy=False)
    if kind == "flag":
        return pd.Series(pd.arrays.BooleanArray(np.zeros(n, bool), np.ones(n, bool)), copy=False)
    return pd.Series(pd.arrays.IntegerArray(np.zeros(n, np.int64), np.ones(n, bool)), copy=False)


def _shared(column: Any) -> Any:
    """Another all-missing column with the same data: Arrow arrays are immutable, and pandas
    copies a shallow-copied Series before the first write to either (Copy-on-Write)."""
    return column.copy(deep=False) if isinstance(column, pd.Series) else column


def _coded(values: pd.Series, codes: Mapping[Any, Any] | None) -> pd.Series:
    if not codes:
        return values
    return _to_series(_apply_codes(_arrow_text(values), codes), values.index)


def _assemble(
    typed: Mapping[str, Any], frame: pd.DataFrame, spec: TableSpec, codes: Mapping[str, Any]
) -> pd.DataFrame:
    """Canonical columns in schema order, then the source's other columns unchanged."""
    n = len(frame)
    index = pd.RangeIndex(n)
    data: dict[str, Any] = {}
    for col in spec.columns:
        value = typed[col.name]
        dtype = _KIND_DTYPE[col.kind]
        if isinstance(value, pa.Array | pa.ChunkedArray):
            data[col.name] = _to_series(value, index)
        elif isinstance(value, pd.Series):
            series = value.set_axis(index)  # Copy-on-Write: a new label, same data
            data[col.name] = series if series.dtype == dtype else series.astype(dtype)
        else:
            data[col.name] = pd.Series(value, index=index, copy=False).astype(dtype)
    for name in frame.columns:
        if name in data:
            continue
        extra = frame[name].set_axis(index)
        if codes.get(name):
            extra = _coded(extra, codes[name]).set_axis(index)
        data[name] = extra
    # copy=False: every column is already its own array (or shared Copy-on-Write)
    return pd.DataFrame(data, index=index, copy=False)


_ASCII_SPACE = np.array([chr(i).isspace() for i in range(256)])  # what Arrow trims, in ASCII
_SPACES = np.uint64(0x2020202020202020)
_LOW_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)
_HIGH_BITS = np.uint64(0x8080808080808080)


def _packed_ids(arr: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """:func:`_id_keys` of ids that need no trimming, straight from the Arrow buffers.

    ``None`` unless every present id is 1 to 8 ASCII bytes without surrounding whitespace:
    then the column is already what :func:`_arrow_text` would make of it, and the keys come
    from one unaligned 8-byte read per id (no trimmed or padded copy of the text).
    """
    if not pa.types.is_large_string(arr.type):
        return None
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    out = np.empty(len(arr), dtype=np.uint64)
    start = 0
    for chunk in chunks:
        n = len(chunk)
        if n == 0:
            continue
        _, offsets_buf, data_buf = chunk.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=np.int64, count=n + 1, offset=8 * chunk.offset)
        lengths = np.diff(offsets)
        first = int(offsets[0])
        size = int(offsets[-1]) - first
        # the chunk's text plus 8 bytes of padding, so every id can be read as 8 bytes
        text = np.full(size + 8, 0x20, dtype=np.uint8)
        if size:
            text[:size] = np.frombuffer(data_buf, dtype=np.uint8, count=size, offset=first)
        windows = np.ndarray((size + 1,), dtype="<u8", buffer=text, strides=(1,))
        low = _LOW_BYTES[np.clip(lengths, 0, 8)]  # the id's own bytes; spaces above them
        keys = (windows[offsets[:-1] - first] & low) | (_SPACES & ~low)
        present = ~_isnull(chunk) if chunk.null_count else np.ones(n, dtype=bool)
        shift = (8 * np.maximum(lengths - 1, 0)).astype(np.uint64)
        firsts = (keys & np.uint64(0xFF)).astype(np.intp)
        lasts = ((keys >> shift) & np.uint64(0xFF)).astype(np.intp)
        bad = (
            (lengths < 1)
            | (lengths > 8)
            | ((keys & _HIGH_BITS) != 0)
            | _ASCII_SPACE[firsts]
            | _ASCII_SPACE[lasts]
        )
        if bool((bad & present).any()):
            return None
        keys[~present] = _SPACES  # a missing id gets the key of "" (as in _id_keys)
        out[start : start + n] = keys
        start += n
    return out


def _duplicated(arr: pa.Array | pa.ChunkedArray, keys: np.ndarray | None = None) -> np.ndarray:
    """True for every non-null value that occurs more than once (``keys``: its _id_keys)."""
    if keys is None:
        keys = _id_keys(arr)
    if keys is not None:  # short ids: compare 8-byte integers instead of strings
        present = ~_isnull(arr)
        # sorting integers is cheap: with no two equal neighbours there is nothing to find
        known = np.sort(keys[present] if arr.null_count else keys)
        if not bool((known[1:] == known[:-1]).any()):
            return np.zeros(len(arr), dtype=bool)
        dup = pd.Series(keys, copy=False).duplicated(keep=False).to_numpy()
        return dup & present
    values = pd.Series(pd.array(arr, dtype=_STRING))
    return np.asarray((values.duplicated(keep=False) & values.notna()).to_numpy(), dtype=bool)


def _id_keys(arr: pa.Array | pa.ChunkedArray, width: int = 8) -> np.ndarray | None:
    """Each trimmed id packed into one ``uint64`` (``None`` when some id is longer than 8 bytes).

    Ids are right-padded with spaces to 8 bytes; two ids can only get one key when one ends in
    spaces (trimmed ids never do; ``None`` if a value mapped with ``codes=`` does). Missing ids
    get the key of eight spaces (mask them separately).
    """
    if len(arr) == 0:
        return np.zeros(0, dtype=np.uint64)
    filled = pc.fill_null(arr, "")
    if pc.max(pc.binary_length(filled)).as_py() > width:
        return None
    if pc.any(pc.ends_with(filled, " ")).as_py():
        return None
    padded = pc.utf8_rpad(filled, width=width, padding=" ")
    lengths = pc.binary_length(padded)
    if pc.min(lengths).as_py() != width or pc.max(lengths).as_py() != width:
        return None  # multi-byte characters: pad widths are counted in characters
    fixed = pc.cast(padded, pa.binary(width))
    chunks = fixed.chunks if isinstance(fixed, pa.ChunkedArray) else [fixed]
    out = np.empty(len(arr), dtype=np.uint64)
    start = 0
    for chunk in chunks:
        n = len(chunk)
        if n:
            data = chunk.buffers()[1]
            out[start : start + n] = np.frombuffer(
                data, dtype=np.uint64, count=n, offset=chunk.offset * width
            )
        start += n
    return out


def _duplicated_pairs(
    group: np.ndarray, item: np.ndarray, n_groups: int, n_items: int
) -> np.ndarray:
    """True where a (group, item) pair of non-negative codes occurs more than once.

    Fast path for up to 32 items: per group, the row count and the sum of ``2**item``; the
    items of a group are distinct exactly when that sum has as many bits set as the group has
    rows (adding distinct powers of two never carries). Only rows of groups that fail the test
    (none, in clean data) go through the exact check.
    """
    known = (group >= 0) & (item >= 0)
    if n_items <= 32:
        # one pass: each row adds 2**item (bits 0..31) plus 2**37 (counts the rows above the
        # item bits); exact while a group has fewer than 2**16 rows, and a group with more
        # than n_items rows has a repeated item anyway
        weights = np.ldexp(1.0, item)
        weights += 2.0**37  # in place: no second array of the table's length
        bins = group if bool(known.all()) else np.where(known, group, n_groups)
        sums = np.bincount(bins, weights, minlength=n_groups + 1)
        sums = sums[:n_groups]
        counts = np.floor(sums / 2.0**37)
        bits = (sums - counts * 2.0**37).astype(np.uint64)
        clash = (counts > n_items) | (np.bitwise_count(bits) != counts)
        if not clash.any():
            return np.zeros(len(group), dtype=bool)
        known &= clash[np.where(known, group, 0)]
    key = np.where(known, group * n_items + item, -1)
    return _duplicated_small(key, max(n_groups, 1) * n_items)


def _duplicated_small(key: np.ndarray, size: int) -> np.ndarray:
    """True where a non-negative integer key below ``size`` occurs more than once."""
    valid = np.flatnonzero(key >= 0)
    if len(valid) == 0:
        return np.zeros(len(key), dtype=bool)
    known = key[valid]
    rows = np.arange(len(known), dtype=np.int32)
    # scatter each row number onto its key: where two rows share a key only the last survives
    last = np.empty(size, dtype=np.int32)
    last[known] = rows
    repeated = np.zeros(size, dtype=bool)
    repeated[known[last[known] != rows]] = True
    out = np.zeros(len(key), dtype=bool)
    out[valid] = repeated[known]
    return out


def _validate_episodes(
    raw: _Raw, frame: pd.DataFrame, codes: Mapping[str, Any], date_format: str | None
) -> tuple[pd.DataFrame, _Rejections, np.ndarray | None]:
    """Typed episodes, their rejections and the _id_keys of ``episode_id`` (when short)."""
    spec = TABLES["episodes"]
    _require(frame, "episodes", raw.source, spec.required)
    rej = _Rejections("episodes", raw.source, len(frame))
    keys: dict[str, np.ndarray] = {}
    typed = _base_columns(
        frame, spec, rej, codes, date_format, ("level_of_care",), _whole_days(raw, frame), keys
    )
    ids = typed["episode_id"]
    if "episode_id" not in keys and isinstance(ids, pa.Array | pa.ChunkedArray):
        if (found := _id_keys(ids)) is not None:
            keys["episode_id"] = found
    _level_of_care(frame, typed, rej, codes)
    admission = typed["admission_date"]
    discharge = typed["discharge_date"]
    days, no_days = _day_arrays(discharge, admission)
    rej.add("discharge_before_admission", "discharge_date", (days < 0) & ~no_days)
    rej.add("duplicate_episode_id", "episode_id", _duplicated(ids, keys.get("episode_id")))
    typed["discharge_day"] = pd.Series(pd.arrays.IntegerArray(days, no_days))
    return _assemble(typed, frame, spec, codes), rej, keys.get("episode_id")


def _level_of_care(
    frame: pd.DataFrame, typed: dict[str, Any], rej: _Rejections, codes: Mapping[str, Any]
) -> None:
    """Normalised level of care from the vocabulary or an ASAM 3rd-edition code."""
    n = len(frame)
    if "level_of_care" in frame.columns:
        column = "level_of_care"
    elif "asam_code" in frame.columns:
        column = "asam_code"
    else:
        typed["level_of_care"] = pa.nulls(n, pa.large_string())
        return
    # work on the distinct values (a handful), then spread them back to the rows through one
    # flat index array (Arrow's take is several times slower with chunked indices)
    found = None if codes.get(column) else _clean_dictionary(_as_text(frame[column]))
    if found is None:  # values to trim, blank or map with codes= first
        source = _apply_codes(_arrow_text(frame[column], True), codes.get(column))
        found = _dictionary(source)
    uniq, idx_np = found
    idx = pa.array(idx_np, mask=idx_np < 0)
    lookup = {v.lower(): v for v in LEVELS_OF_CARE}
    u_text = pd.Series(pd.array(uniq, dtype=_STRING))
    u_level = np.array(u_text.str.lower().map(lookup).astype(object), dtype=object)
    # ASAM codes: "2.1", 2.1, "4", "4.0" all match; compared numerically at one decimal
    u_num = pd.to_numeric(u_text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    asam_keys = list(LEVEL_OF_CARE_FROM_ASAM3)
    tenths = np.round(np.array([float(k) for k in asam_keys]) * 10)
    with np.errstate(invalid="ignore"):  # inf - inf for texts such as "inf"
        scaled = np.round(u_num * 10)
        close = np.abs(u_num * 10 - scaled) < 1e-6
    match = (scaled[:, None] == tenths[None, :]) & close[:, None]
    which = np.where(match.any(axis=1), match.argmax(axis=1), -1)
    u_asam = pd.isna(u_level) & (which >= 0)
    u_level[u_asam] = np.array([LEVEL_OF_CARE_FROM_ASAM3[k] for k in asam_keys])[which[u_asam]]
    u_code = np.array(asam_keys, dtype=object)[np.maximum(which, 0)]
    u_code[~u_asam] = None
    u_bad = pd.isna(u_level)

    def spread(values: np.ndarray) -> pa.Array:
        return pc.take(pa.array(values, type=pa.large_string(), from_pandas=True), idx)

    def spread_flag(values: np.ndarray) -> np.ndarray:
        # numpy indexing of a small table; the extra last entry (False) serves the -1s
        return np.append(np.asarray(values, dtype=bool), False)[idx_np]

    def unset(name: str) -> bool:
        given = typed.get(name)
        return given is None or given.null_count == len(given)

    rej.add("unknown_level_of_care", column, spread_flag(u_bad))
    typed["level_of_care"] = spread(u_level)
    if not u_asam.any():
        return
    code = spread(u_code)
    u_edition = np.full(len(u_asam), None, dtype=object)
    u_edition[u_asam] = ASAM_EDITION
    edition = spread(u_edition)
    if column != "asam_code" and not unset("asam_code"):  # keep codes given beside levels
        asam = pa.array(spread_flag(u_asam))
        typed["asam_code"] = pc.if_else(asam, code, typed["asam_code"])
    else:
        typed["asam_code"] = code
    if unset("asam_edition"):
        typed["asam_edition"] = edition
    else:
        asam = pa.array(spread_flag(u_asam))
        typed["asam_edition"] = pc.if_else(asam, edition, typed["asam_edition"])


@dataclass
class _TypedFollowups:
    """Follow-ups checked row by row without the episodes: the first half of validation."""

    typed: dict[str, Any]
    rej: _Rejections
    keys: dict[str, np.ndarray]
    tp_code: np.ndarray  # position of each timepoint among the declared ones (-1: none)
    probe: _Partitioned | None  # the ids' keys grouped for _match_keys
    position: np.ndarray | None = None  # row of each id's episode (-1: none), when matched
    duplicates: np.ndarray | None = None  # duplicate (episode, timepoint) rows, when matched


@dataclass
class _EpisodeKeys:
    """What matching follow-ups to the accepted episodes needs, from the episodes' side."""

    keys: np.ndarray | None  # _id_keys of the accepted episodes' ids (None: ids too long)
    parts: _Partitioned | None  # ``keys`` partitioned for _match_keys


def _type_followups(
    raw: _Raw,
    frame: pd.DataFrame,
    codes: Mapping[str, Any],
    date_format: str | None,
    timepoints: tuple[str, ...],
    n_episodes: int,
    episodes_ready: Future[_EpisodeKeys] | None = None,
) -> _TypedFollowups:
    """Type every follow-up column and make the checks that need no episode.

    ``n_episodes`` (rows of the episodes table) sizes the partitions the ids are matched in.
    ``episodes_ready``, when given, resolves to the accepted episodes' keys once they are
    validated: the ids are then matched to them here, while the other columns are typed.
    """
    spec = TABLES["followups"]
    _require(frame, "followups", raw.source, spec.required)
    whole_days = _whole_days(raw, frame)
    # Two threads. A helper types the ids, partitions their keys and, once the episodes are
    # ready, matches the first half of the partitions; this thread types the other columns,
    # then matches the second half. The ids come first in the schema, so the helper's
    # problems (and errors) are put first, and the checks made after the columns are typed
    # are recorded after both, as one thread would.
    names = [c.name for c in spec.columns]
    head_rej = _Rejections("followups", raw.source, len(frame))
    keys: dict[str, np.ndarray] = {}
    found: dict[str, Any] = {}
    match_ready = threading.Event()
    codes_ready = threading.Event()  # the timepoints' codes, for the duplicate-pair check
    repeated: list[np.ndarray] = []  # rows of duplicate pairs, found partition by partition
    failed: list[BaseException] = []

    def type_ids() -> None:
        try:
            found["typed"] = _base_columns(
                frame, spec, head_rej, codes, date_format, names[1:], whole_days, keys
            )
            id_keys = keys.get("episode_id")
            if id_keys is None:
                return
            found["probe"] = probe = _partitioned(id_keys, _n_parts(n_episodes))
            if episodes_ready is None:
                return
            try:
                ready = episodes_ready.result()
            except BaseException:  # the episodes' own error is raised by their reader
                return
            if ready.keys is None:
                return
            if probe is None or ready.parts is None or ready.parts.n_parts != probe.n_parts:
                found["position"] = _match_keys(id_keys, ready.keys)
                return
            found["plan"] = (probe, ready.parts)
            match_ready.set()
            codes_ready.wait()
            items = found.get("tp_np")
            repeated.extend(_match_partitions(probe, ready.parts, range(probe.n_parts // 2), items))
        except BaseException as exc:  # re-raised on this thread
            failed.append(exc)
        finally:
            match_ready.set()

    helper = threading.Thread(target=type_ids, name="iopoutcomes-ids", daemon=True)
    helper.start()
    try:
        rej = _Rejections("followups", raw.source, len(frame))
        tp_typed, tp_np, bad_tp = _type_timepoints(frame, spec, rej, codes, timepoints)
        found["tp_np"] = tp_np
        codes_ready.set()
        status, not_completed = _type_status(frame, spec, rej, codes)
        rest = _base_columns(
            frame,
            spec,
            rej,
            codes,
            date_format,
            ("assessment_day", "episode_id", "timepoint", "status"),
            whole_days,
        )
        match_ready.wait()
        plan = found.get("plan")
        if plan is not None and not failed:
            second = range(plan[0].n_parts // 2, plan[0].n_parts)
            repeated.extend(_match_partitions(plan[0], plan[1], second, tp_np))
    except BaseException as exc:  # the helper's columns come first: so do their errors
        own_error: BaseException | None = exc
    else:
        own_error = None
    finally:
        codes_ready.set()  # never leave the helper waiting
    helper.join()
    if failed:
        raise failed[0]
    if own_error is not None:
        raise own_error
    rej.prepend(head_rej)
    typed = {**found["typed"], "timepoint": tp_typed, "status": status, **rest}
    if bad_tp is not None:
        rej.add("unknown_timepoint", "timepoint", bad_tp)
    rej.add(
        "assessment_date_without_completion",
        "assessment_date",
        not_completed & typed["assessment_date"].notna().to_numpy(),
    )
    position = found.get("position")
    duplicates = None
    if plan is not None:
        position = _scatter_matches(plan[0])
        duplicates = np.zeros(len(frame), dtype=bool)
        for rows in repeated:
            duplicates[rows] = True
    if position is not None:
        ids = typed["episode_id"]
        if ids.null_count:
            position[_isnull(ids)] = -1  # a missing id is never an episode
    if position is not None:  # matched: the keys and their partitions are no longer needed
        return _TypedFollowups(typed, rej, {}, tp_np, None, position, duplicates)
    return _TypedFollowups(typed, rej, keys, tp_np, found.get("probe"), position, duplicates)


def _type_timepoints(
    frame: pd.DataFrame,
    spec: TableSpec,
    rej: _Rejections,
    codes: Mapping[str, Any],
    timepoints: tuple[str, ...],
) -> tuple[Any, np.ndarray, np.ndarray | None]:
    """Typed timepoints, their positions among the declared ones (-1: none) and the mask of
    undeclared labels (``None`` when there are none)."""
    tp_set = pa.array(timepoints, pa.large_string())
    # the usual case, in one pass: every label spelled exactly as declared
    exact = None if codes.get("timepoint") else _exact_codes(frame["timepoint"], timepoints)
    if exact is not None:
        text, code = exact
        rej.add("missing_required_value", "timepoint", _isnull(text))
        return text, _flat_codes(code, _code_dtype(len(timepoints))), None
    names = [c.name for c in spec.columns if c.name != "timepoint"]
    timepoint = _base_columns(frame, spec, rej, codes, None, names)["timepoint"]
    if timepoint.type != tp_set.type:  # pragma: no cover - text is large_string
        timepoint = timepoint.cast(tp_set.type)
    code = pc.index_in(timepoint, value_set=tp_set)
    bad_tp = None
    if code.null_count != timepoint.null_count:  # some label not as declared
        canon_tp, bad_tp = _vocab(timepoint, timepoints)
        if canon_tp is not timepoint:  # some labels needed their canonical spelling
            timepoint = pc.if_else(pc.is_null(canon_tp), timepoint, canon_tp)
            code = pc.index_in(timepoint, value_set=tp_set)
    return timepoint, _flat_codes(code, _code_dtype(len(timepoints))), bad_tp


def _type_status(
    frame: pd.DataFrame, spec: TableSpec, rej: _Rejections, codes: Mapping[str, Any]
) -> tuple[Any, np.ndarray]:
    """Typed follow-up status and the mask of known statuses other than ``completed``."""
    completed = FOLLOWUP_STATUSES.index("completed")
    # the usual case, in one pass: every status spelled exactly as in the vocabulary
    exact = None if codes.get("status") else _exact_codes(frame["status"], FOLLOWUP_STATUSES)
    if exact is not None:
        status, code = exact
        rej.add("missing_required_value", "status", _isnull(status))
    else:
        names = [c.name for c in spec.columns if c.name != "status"]
        status = _base_columns(frame, spec, rej, codes, None, names)["status"]
        vocab = pa.array(FOLLOWUP_STATUSES, pa.large_string())
        code = pc.index_in(status, value_set=vocab)
    code_np = _flat_codes(code, np.int8)
    return status, (code_np >= 0) & (code_np != completed)


def _validate_followups(
    raw: _Raw,
    frame: pd.DataFrame,
    codes: Mapping[str, Any],
    date_format: str | None,
    timepoints: tuple[str, ...],
    episodes: pd.DataFrame,
    episode_keys: np.ndarray | None = None,
    first: _TypedFollowups | None = None,
    episode_parts: _Partitioned | None = None,
) -> tuple[pd.DataFrame, _Rejections]:
    """Validate follow-ups against the accepted episodes (``first``: _type_followups' part;
    ``episode_parts``: ``episode_keys`` partitioned as ``first.probe``)."""
    spec = TABLES["followups"]
    if first is None:
        first = _type_followups(raw, frame, codes, date_format, timepoints, len(episodes))
    typed, rej, keys = first.typed, first.rej, first.keys
    ids = typed["episode_id"]
    position = first.position
    if position is None:
        position = _episode_position(
            ids, episodes, keys.get("episode_id"), episode_keys, first.probe, episode_parts
        )
    assessed = typed["assessment_date"]
    unknown = ~_isnull(ids) & (position < 0)
    rej.add("unknown_episode", "episode_id", unknown)
    # (episode, timepoint) pairs as integers; unknown episodes and timepoints are rejected
    # before duplicates, so only known ones need comparing
    duplicates = first.duplicates
    if duplicates is None:
        duplicates = _duplicated_pairs(position, first.tp_code, len(episodes), len(timepoints))
    rej.add("duplicate_followup", "timepoint", duplicates)
    days, no_days = _days_after(assessed, episodes["admission_date"], position)
    rej.add("assessment_before_admission", "assessment_date", (days < 0) & ~no_days)
    typed["assessment_day"] = pd.Series(pd.arrays.IntegerArray(days, no_days))
    return _assemble(typed, frame, spec, codes), rej


def _episode_position(
    ids: pa.Array | pa.ChunkedArray,
    episodes: pd.DataFrame,
    id_keys: np.ndarray | None = None,
    ep_keys: np.ndarray | None = None,
    probe: _Partitioned | None = None,
    ep_parts: _Partitioned | None = None,
) -> np.ndarray:
    """Row of each id in the accepted episodes (-1 when absent).

    ``id_keys`` and ``ep_keys`` are the :func:`_id_keys` of ``ids`` and of the episodes'
    ``episode_id``, when already known; ``probe`` and ``ep_parts``, the same keys already
    partitioned (consumed: their arrays are reused).
    """
    value_set = pa.array(episodes["episode_id"], from_pandas=True)
    if isinstance(value_set, pa.ChunkedArray):
        value_set = value_set.combine_chunks()
    value_set = pc.cast(value_set, ids.type)
    # short ids (the usual case) are matched as 8-byte integers: a much cheaper hash probe
    if ep_keys is None:
        ep_keys = _id_keys(value_set)
    if ep_keys is not None and id_keys is None:
        id_keys = _id_keys(ids)
    if ep_keys is None or id_keys is None:
        pos = pc.index_in(ids, value_set=value_set)
        return np.asarray(pc.fill_null(pos, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    if probe is None or ep_parts is None or ep_parts.n_parts != probe.n_parts:
        probe = ep_parts = None
    out = _match_keys(id_keys, ep_keys, probe, ep_parts)
    out[_isnull(ids)] = -1  # a missing id is never an episode (its key is all spaces)
    return out


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _n_parts(n_table: int) -> int:
    """How many cache-sized partitions :func:`_match_keys` splits ``n_table`` keys into."""
    n_parts = 1
    while n_parts < 1024 and n_table // n_parts > 8192:
        n_parts *= 2
    return n_parts


@dataclass
class _Partitioned:
    """``uint64`` keys grouped by partition: ``keys[order]``, with partition k's keys at
    ``grouped[start[k]:start[k + 1]]`` (the multiplicative hash's top bits pick the partition)."""

    n_parts: int
    order: np.ndarray
    start: np.ndarray
    grouped: np.ndarray


def _partitioned(keys: np.ndarray, n_parts: int) -> _Partitioned | None:
    """``keys`` split into ``n_parts`` partitions (a stable radix argsort of small integers)."""
    if n_parts == 1:
        return None
    shift = np.uint64(64 - n_parts.bit_length() + 1)
    with np.errstate(over="ignore"):  # the multiplication is meant to wrap
        work = keys * _GOLDEN
        work >>= shift
        # one byte sorts in one radix pass (numpy's stable sort of small integers)
        part = work.astype(np.uint8 if n_parts <= 256 else np.uint16)
    order = np.argsort(part, kind="stable")
    start = np.concatenate(([0], np.cumsum(np.bincount(part, minlength=n_parts))))
    # one scratch array reused for the grouped keys (fresh pages are not free)
    np.take(keys, order, out=work)
    return _Partitioned(n_parts, order, start, work)


def _match_keys(
    probe: np.ndarray,
    table: np.ndarray,
    grouped: _Partitioned | None = None,
    table_grouped: _Partitioned | None = None,
) -> np.ndarray:
    """Position of each ``probe`` key in ``table`` (unique ``uint64`` keys; -1 when absent).

    With many keys, one hash table is far bigger than the CPU caches and every probe misses.
    Both sides are first split into cache-sized partitions by the top bits of a
    multiplicative hash (a stable radix argsort of small integers), and each partition is
    matched on its own. ``grouped`` and ``table_grouped``: both already partitioned alike
    (``grouped`` is consumed: its array receives the matches).
    """
    p = grouped if grouped is not None else _partitioned(probe, _n_parts(len(table)))
    if p is None:
        pos = pc.index_in(pa.array(probe), value_set=pa.array(table))
        return np.asarray(pc.fill_null(pos, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    t = table_grouped if table_grouped is not None else _partitioned(table, p.n_parts)
    assert t is not None  # n_parts > 1
    _match_partitions(p, t, range(p.n_parts))
    return _scatter_matches(p)


def _match_partitions(
    p: _Partitioned, t: _Partitioned, parts: range, items: np.ndarray | None = None
) -> list[np.ndarray]:
    """Match partitions ``parts`` of ``p`` against the same partitions of ``t``, in place.

    Each partition's slice of ``p.grouped`` is overwritten by the rows its keys have in the
    table (-1 when absent); two threads may match disjoint ranges of partitions at once.
    With ``items`` (a small code per probe row, -1: none), the probe rows whose (table row,
    item) pair occurs more than once are returned too (arrays of row numbers): all rows of
    one table row fall in one partition, so each partition is checked on its own, in cache.
    """
    work = p.grouped
    found = work.view(np.int64)
    repeated: list[np.ndarray] = []
    n_items = 0 if items is None or len(items) == 0 else int(items.max()) + 1
    for k in parts:
        lo, hi = p.start[k], p.start[k + 1]
        if lo == hi:
            continue
        t_lo, t_hi = t.start[k], t.start[k + 1]
        pos = pc.index_in(pa.array(work[lo:hi]), value_set=pa.array(t.grouped[t_lo:t_hi]))
        part = np.asarray(pc.fill_null(pos, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
        if items is not None and n_items:
            rows = p.order[lo:hi]
            doubled = _duplicated_pairs(part, items[rows], int(t_hi - t_lo), n_items)
            if doubled.any():
                repeated.append(rows[doubled])
        hit = part >= 0
        part[hit] = t.order[t_lo + part[hit]]
        found[lo:hi] = part
    return repeated


def _scatter_matches(p: _Partitioned) -> np.ndarray:
    """The matches of every partition of ``p``, back in the probe's row order."""
    out = np.empty(len(p.order), dtype=np.int64)
    out[p.order] = p.grouped.view(np.int64)
    return out


def _lookup(values: pd.Series, position: np.ndarray) -> pd.Series:
    """``values`` taken at ``position`` (missing where position is -1)."""
    if len(values) == 0:
        return pd.Series(pd.NaT, index=pd.RangeIndex(len(position)), dtype=values.dtype)
    if values.dtype.kind == "M":  # dates: a plain numpy take (-1 clipped to 0, then NaT)
        taken_np = np.take(values.to_numpy(), position, mode="clip")
        taken_np[position < 0] = np.datetime64("NaT")
        return pd.Series(taken_np, copy=False)
    safe = np.where(position < 0, 0, position)
    taken = values.iloc[safe].reset_index(drop=True)
    return taken.where(position >= 0)


def _validate_use_days(
    raw: _Raw,
    frame: pd.DataFrame,
    codes: Mapping[str, Any],
    date_format: str | None,
    episodes: pd.DataFrame,
) -> tuple[pd.DataFrame, _Rejections]:
    spec = TABLES["use_days"]
    _require(frame, "use_days", raw.source, ("used",))
    has_episode = "episode_id" in frame.columns
    if not has_episode and "patient_id" not in frame.columns:
        _require(frame, "use_days", raw.source, ("episode_id",))
    if "date" not in frame.columns and "day" not in frame.columns:
        _require(frame, "use_days", raw.source, ("date",))
    if not has_episode and "date" not in frame.columns:
        raise MissingColumnError(
            f"The use_days table ({raw.source}) identifies rows by patient_id, which needs a "
            f"'date' column to find the episode. Found: {[str(c) for c in frame.columns]}. "
            "Add episode_id or map a date column with read_records(..., columns={...: 'date'})."
        )
    rej = _Rejections("use_days", raw.source, len(frame))
    typed = _base_columns(frame, spec, rej, codes, date_format, (), _whole_days(raw, frame))
    key = "episode_id" if has_episode else "patient_id"
    rej.add("missing_required_value", key, _isnull(typed[key]))
    date = typed["date"]
    day_given = "day" in frame.columns
    no_date = _blank(frame, "date")
    no_day = _blank(frame, "day")
    if day_given and "date" in frame.columns:
        rej.add("missing_required_value", "date", no_date & no_day)
    elif day_given:
        rej.add("missing_required_value", "day", no_day)
    else:
        rej.add("missing_required_value", "date", no_date)
    if has_episode:
        position = _episode_position(typed["episode_id"], episodes)
        rej.add("unknown_episode", "episode_id", ~_isnull(typed["episode_id"]) & (position < 0))
    else:
        position = _resolve_patient_days(typed["patient_id"], date, episodes)
        rej.add(
            "unknown_patient",
            "patient_id",
            ~_isnull(typed["patient_id"]) & date.notna().to_numpy() & (position < 0),
        )
        ids = episodes["episode_id"].reset_index(drop=True)
        typed["episode_id"] = pa.array(_lookup(ids, position).astype(_STRING), from_pandas=True)
    if len(episodes) and "patient_id" not in frame.columns:
        typed["patient_id"] = pa.array(
            _lookup(episodes["patient_id"], position).astype(_STRING), from_pandas=True
        )
    derived = pd.Series(
        pd.arrays.IntegerArray(*_days_after(date, episodes["admission_date"], position))
    )
    given = typed["day"].reset_index(drop=True)
    typed["day"] = given.where(given.notna(), derived) if day_given else derived
    return _assemble(typed, frame, spec, codes), rej


def _blank(frame: pd.DataFrame, name: str) -> np.ndarray:
    """True where column ``name`` is empty (everywhere when the column is absent)."""
    if name not in frame.columns:
        return np.ones(len(frame), dtype=bool)
    values = frame[name]
    dtype = values.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return values.isna().to_numpy()  # typed values: no text to make (or trim)
    return _isnull(_arrow_text(values))


def _resolve_patient_days(patient: pa.Array, date: pd.Series, episodes: pd.DataFrame) -> np.ndarray:
    """Row of the patient's episode with the latest admission on or before each date (-1: none)."""
    n = len(date)
    left = pd.DataFrame(
        {
            "patient_id": _to_series(patient, pd.RangeIndex(n)),
            "date": date.reset_index(drop=True),
            "_row": np.arange(n),
        }
    )
    left = left[left["patient_id"].notna() & left["date"].notna()].sort_values(
        "date", kind="stable"
    )
    right = pd.DataFrame(
        {
            "patient_id": episodes["patient_id"].astype(_STRING).reset_index(drop=True),
            "date": episodes["admission_date"].reset_index(drop=True),
            "_episode_row": np.arange(len(episodes)),
        }
    )
    right = right.sort_values(["date", "_episode_row"], kind="stable")
    position = np.full(n, -1, dtype=np.int64)
    if len(left) == 0 or len(right) == 0:
        return position
    merged = pd.merge_asof(left, right, on="date", by="patient_id", direction="backward")
    found = merged["_episode_row"].notna().to_numpy()
    position[merged["_row"].to_numpy()[found]] = (
        merged["_episode_row"].to_numpy()[found].astype(np.int64)
    )
    return position


# --- the reader ----------------------------------------------------------------------------


def read_records(
    episodes: str | os.PathLike[str] | pd.DataFrame,
    followups: str | os.PathLike[str] | pd.DataFrame | None = None,
    use_days: str | os.PathLike[str] | pd.DataFrame | None = None,
    *,
    columns: Mapping[str, Any] | None = None,
    codes: Mapping[str, Any] | None = None,
    strict: bool = False,
    date_format: str | None = None,
    timepoints: Sequence[str] | None = None,
    data_as_of: str | pd.Timestamp | None = None,
    encoding: str = "utf-8",
    source_rows: Mapping[str, Any] | None = None,
    source_files: Mapping[str, Any] | None = None,
) -> Records:
    """Read and validate follow-up records into typed canonical tables.

    Parameters
    ----------
    episodes : path or pandas.DataFrame
        One row per treatment episode (``.csv``, ``.parquet``, ``.xlsx``/``.xls``, or a
        DataFrame, which is never modified).
    followups, use_days : path or pandas.DataFrame, optional
        Scheduled assessments and the optional daily use calendar.
    columns : dict, optional
        Source column name -> canonical name, either one flat dict applied to every table or a
        dict keyed by table name (``{"episodes": {...}, "followups": {...}}``).
    codes : dict, optional
        Per column, source value -> canonical value (``{"status": {"lost": "not_located"}}``),
        optionally keyed by table too. Keys are compared as text (``1`` and ``"1"`` match).
    strict : bool, default False
        Raise :class:`~iopoutcomes.RowValidationError` on the first rejected row instead of
        collecting rejections.
    date_format : str, optional
        ``strptime`` format of the date columns; ISO ``%Y-%m-%d`` when not given (never
        guessed). A date that does not match is rejected (``unparseable_date``).
    timepoints : sequence of str, optional
        Declared follow-up labels; ``schema.DEFAULT_TIMEPOINTS`` when not given. Other labels
        are rejected (``unknown_timepoint``).
    data_as_of : str or pandas.Timestamp, optional
        Date the data are complete up to; defaults to the latest date in the accepted tables.
    encoding : str, default "utf-8"
        Text encoding of CSV files (e.g. ``"cp1252"`` for many Windows exports).
    source_rows, source_files : dict, optional
        Hook for readers of raw exports (:mod:`iopoutcomes.exports`), which clean an export into
        DataFrames first, so that everything the records say about their input refers to the
        original export. ``source_rows`` maps a table to where each of its DataFrame's rows came
        from: a sequence of row numbers as the spreadsheet shows them (one per row), or a
        DataFrame with columns ``source`` (file name) and ``row``; ``rejected`` then carries
        these instead of DataFrame positions. ``source_files`` maps a table to the export
        file(s) it was read from (a path or a list of paths): ``sources`` names them and
        ``file_hashes`` hashes them (keyed ``table`` for one file, ``table/file name`` for
        several) instead of reporting ``"DataFrame"`` without a hash. Both only relabel: which
        rows are accepted or rejected does not change.

    Returns
    -------
    Records
        Accepted rows per table, typed: ids, labels and vocabulary columns as pandas
        ``string``; dates ``datetime64[ns]``; whole numbers and day numbers ``Int64``;
        measures ``float64``; flags ``boolean``. Every canonical column is present (all
        missing when not given), followed by the source's other columns unchanged
        (covariates). Derived: ``episodes.discharge_day``, ``followups.assessment_day`` and
        ``use_days.day`` (days since the episode's admission); ``use_days`` rows given by
        ``patient_id`` and ``date`` get the episode with the latest admission on or before
        that date. ``rejected`` has one row per rejected source row.

    Raises
    ------
    FileReadError
        Missing, unreadable or unknown-format file, or text in another encoding.
    EmptyFileError
        A table without data rows.
    MissingColumnError
        A required column is absent (the message lists the columns found and the
        ``columns=`` fix).
    RowValidationError
        With ``strict=True``, the first rejected row.
    ParameterError
        Invalid options.

    Notes
    -----
    Each rejected source row appears once in ``rejected``, with the first reason in
    :data:`REJECTION_PRECEDENCE`, so accepted + rejected = read for every table. Every row
    sharing a duplicated ``episode_id`` (or ``episode_id`` + ``timepoint``) is rejected: which
    copy is right cannot be known. Follow-ups and use days of rejected episodes are rejected
    ``unknown_episode``. Text values are trimmed; empty cells (and in files the texts in
    :data:`MISSING_TOKENS`) are missing; vocabulary and timepoint labels match
    case-insensitively and are stored in their canonical spelling. ``level_of_care`` also
    accepts ASAM 3rd-edition codes (``"2.1"`` or ``2.1``), stored as the normalised level plus
    ``asam_code`` and ``asam_edition`` (``"ASAM3"``).

    Examples
    --------
    >>> import pandas as pd
    >>> episodes = pd.DataFrame({
    ...     "patient_id": ["p1", "p2"], "episode_id": ["e1", "e2"], "cohort": ["IOP", "inpatient"],
    ...     "admission_date": ["2024-01-02", "2024-01-05"], "level_of_care": ["2.1", "inpatient"],
    ...     "discharge_date": ["2024-02-20", ""]})
    >>> followups = pd.DataFrame({
    ...     "episode_id": ["e1", "e2", "e9"], "timepoint": ["3mo", "3mo", "3mo"],
    ...     "status": ["completed", "lost", "completed"],
    ...     "assessment_date": ["2024-04-01", None, "2024-04-03"], "days_used_past30": [0, None, 3]})
    >>> recs = read_records(episodes, followups, codes={"status": {"lost": "not_located"}})
    >>> recs.episodes[["level_of_care", "asam_code", "discharge_day"]]
      level_of_care asam_code  discharge_day
    0           IOP       2.1             49
    1     inpatient      <NA>           <NA>
    >>> recs.rejected[["table", "row", "reason"]]
           table  row           reason
    0  followups    3  unknown_episode
    """
    if not isinstance(strict, bool):
        raise ParameterError(f"strict= must be True or False; got {type(strict).__name__}.")
    tps = _check_timepoints(timepoints)
    as_of = _check_as_of(data_as_of)
    if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
        raise ParameterError(
            "date_format= must be a strptime format such as '%m/%d/%Y'; "
            f"got a {type(date_format).__name__} without '%' directives."
        )
    given = {"episodes": episodes, "followups": followups, "use_days": use_days}
    raws: dict[str, _Raw] = {}
    frames: dict[str, pd.DataFrame] = {}
    table_codes: dict[str, dict[str, Any]] = {}

    def prepare(table: str) -> None:
        """Read one table, map its column names and check its codes= option."""
        mapping = {str(k): str(v) for k, v in _per_table(columns, table, "columns").items()}
        raw = _load(given[table], table, mapping, encoding, date_format)
        if len(raw.frame) == 0:
            raise EmptyFileError(
                f"The {table} table ({raw.source}) has no data rows "
                f"(columns found: {[str(c) for c in raw.frame.columns]})."
            )
        frame = _rename(raw, table, mapping)
        found = {str(k): v for k, v in _per_table(codes, table, "codes").items() if v is not None}
        bad_codes = [k for k, v in found.items() if not isinstance(v, Mapping)]
        if bad_codes:
            raise ParameterError(
                f"codes= must map each column to a dict of source value -> canonical value; "
                f"column(s) {bad_codes} are not dicts."
            )
        raws[table], frames[table], table_codes[table] = raw, frame, found

    prepare("episodes")
    # The other tables are read (pyarrow parses on its own threads) and the follow-ups typed
    # on a second thread while this one validates the episodes. Errors surface in the order a
    # sequential read raises them: file problems of any table first (in table order), then
    # the episodes' own, then the follow-ups'.
    later = [t for t in TABLE_ORDER[1:] if given[t] is not None]
    errors: dict[str, BaseException] = {}
    typed_fu: list[_TypedFollowups] = []
    # the accepted episodes' keys, for the follow-ups' thread to match its ids against
    episodes_ready: Future[_EpisodeKeys] = Future()

    def read_later() -> None:
        for table in later:
            try:
                prepare(table)
            except BaseException as exc:  # re-raised on the calling thread
                errors["prepare"] = exc
                return
            if table == "followups":
                try:
                    typed_fu.append(
                        _type_followups(
                            raws[table],
                            frames[table],
                            table_codes[table],
                            date_format,
                            tps,
                            len(frames["episodes"]),
                            episodes_ready,
                        )
                    )
                except BaseException as exc:  # raised after the episodes' own problems
                    errors["followups"] = exc

    worker = threading.Thread(target=read_later, name="iopoutcomes-read", daemon=True)
    worker.start()
    parts: list[pd.DataFrame] = []

    def settle(ok: np.ndarray, rejected_rows: pd.DataFrame) -> None:
        if strict and len(rejected_rows):
            if source_rows:  # the export's row number, as in ``rejected``
                sizes = {t: len(f) for t, f in frames.items()}
                rejected_rows = _relabel_rows(rejected_rows, source_rows, sizes)
            _raise_first(rejected_rows)
        parts.append(rejected_rows)

    def accept(full: pd.DataFrame, rej: _Rejections) -> pd.DataFrame:
        ok, rejected_rows = rej.resolve()
        settle(ok, rejected_rows)
        return full if bool(ok.all()) else full[ok].reset_index(drop=True)

    failed: BaseException | None = None
    try:
        eps_frame, eps_rej, eps_keys = _validate_episodes(
            raws["episodes"], frames["episodes"], table_codes["episodes"], date_format
        )
        # what accepting them takes, done while the follow-ups are still being read
        eps_ok, eps_rejected = eps_rej.resolve()
        all_ok = bool(eps_ok.all())
        accepted_eps = eps_frame if all_ok else eps_frame[eps_ok].reset_index(drop=True)
        if eps_keys is not None and not all_ok:
            eps_keys = eps_keys[eps_ok]  # the keys of the accepted episodes
        eps_parts = None
        if eps_keys is not None and "followups" in later:
            eps_parts = _partitioned(eps_keys, _n_parts(len(frames["episodes"])))
        episodes_ready.set_result(_EpisodeKeys(eps_keys, eps_parts))
    except BaseException as exc:  # raised once the other tables are known to be readable
        failed = exc
        episodes_ready.set_exception(exc)
    worker.join()
    if "prepare" in errors:
        raise errors["prepare"]
    if failed is not None:
        raise failed
    settle(eps_ok, eps_rejected)
    if "followups" in errors:
        raise errors["followups"]
    tables = {"episodes": accepted_eps}
    if "followups" in frames:
        tables["followups"] = accept(
            *_validate_followups(
                raws["followups"],
                frames["followups"],
                table_codes["followups"],
                date_format,
                tps,
                accepted_eps,
                eps_keys,
                typed_fu.pop(),  # dropped once validated: its arrays are large
                eps_parts,
            )
        )
    else:
        tables["followups"] = _empty_table("followups")
    if "use_days" in frames:
        tables["use_days"] = accept(
            *_validate_use_days(
                raws["use_days"],
                frames["use_days"],
                table_codes["use_days"],
                date_format,
                accepted_eps,
            )
        )
    else:
        tables["use_days"] = _empty_table("use_days")
    rejected = pd.concat(parts, ignore_index=True)[list(REJECTED_COLUMNS)]
    rejected = rejected.astype({"row": "int64"})
    sources = {t: raws[t].source for t in raws}
    stamps = {t: raw.file for t, raw in raws.items() if raw.file is not None}
    if source_rows is not None or source_files is not None:
        rejected = _relabel_rows(
            rejected, source_rows or {}, {t: len(f) for t, f in frames.items()}
        )
        _relabel_files(source_files or {}, sources, stamps)

    if as_of is None:
        as_of = _latest_date(tables)
    remarks = []
    if date_format is not None:
        remarks.append(f"Dates read with the declared format {date_format}.")
    if columns:
        remarks.append("Source column names mapped with columns=.")
    if codes:
        remarks.append("Source values mapped with codes=.")
    return Records(
        episodes=tables["episodes"],
        followups=tables["followups"],
        use_days=tables["use_days"],
        rejected=rejected,
        read_counts={t: len(frames[t]) for t in frames},
        sources=sources,
        timepoints=tps,
        time_basis="calendar",
        data_as_of=as_of,
        file_hashes=FileHashes(stamps),
        provenance="canonical",
        remarks=tuple(remarks),
    )


# --- hook for raw-export readers (source_rows= / source_files=) ---------------------------


def _relabel_rows(
    rejected: pd.DataFrame, source_rows: Mapping[str, Any], n_rows: Mapping[str, int]
) -> pd.DataFrame:
    """Replace DataFrame row numbers (and sources) by the export's, per ``source_rows``."""
    out = rejected.copy()
    for table, where in source_rows.items():
        if table not in n_rows:
            continue
        frame = where if isinstance(where, pd.DataFrame) else pd.DataFrame({"row": where})
        if len(frame) != n_rows[table] or "row" not in frame:
            raise ParameterError(
                f"source_rows[{table!r}] must give one row number per row of the {table} table "
                f"({n_rows[table]:,} rows); got {len(frame):,}."
            )
        mine = (out["table"] == table).to_numpy(bool)
        position = out.loc[mine, "row"].to_numpy(np.int64) - 1
        out.loc[mine, "row"] = frame["row"].to_numpy(np.int64)[position]
        if "source" in frame:
            out.loc[mine, "source"] = frame["source"].astype(str).to_numpy(object)[position]
    return out.astype({"row": "int64"})


def _relabel_files(
    source_files: Mapping[str, Any], sources: dict[str, str], stamps: dict[str, _FileStamp]
) -> None:
    """Name and stamp (for hashing) the export files a table was read from."""
    for table, given in source_files.items():
        if table not in sources:
            continue
        paths = [Path(p) for p in ([given] if isinstance(given, str | os.PathLike) else given)]
        stamps.pop(table, None)
        sources[table] = ", ".join(p.name for p in paths)
        for path in paths:
            key = table if len(paths) == 1 else f"{table}/{path.name}"
            stamps[key] = _FileStamp.of(path)
            if len(paths) > 1:
                sources[key] = path.name


def _raise_first(rejected: pd.DataFrame) -> None:
    first = rejected.iloc[0]
    raise RowValidationError(
        f"{first['table']} ({first['source']}) row {first['row']}, column {first['column']!r}: "
        f"{first['reason']} ({first['message']}). {len(rejected):,} rows of this table would "
        "be rejected; use strict=False to collect them all in Records.rejected."
    )


def _check_timepoints(timepoints: Sequence[str] | None) -> tuple[str, ...]:
    if timepoints is None:
        return tuple(DEFAULT_TIMEPOINTS)
    if isinstance(timepoints, str) or not isinstance(timepoints, Sequence):
        raise ParameterError(
            "timepoints= must be a sequence of labels such as ('intake', '3mo', '6mo'); "
            f"got {type(timepoints).__name__}."
        )
    labels = tuple(str(t).strip() for t in timepoints)
    lowered = [t.lower() for t in labels]
    if not labels or any(not t for t in labels) or len(set(lowered)) != len(lowered):
        raise ParameterError(
            f"timepoints= must hold distinct non-empty labels; got {len(labels)} labels with "
            f"{len(labels) - len(set(lowered))} repeated."
        )
    return labels


def _check_as_of(value: str | pd.Timestamp | None) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ParameterError(
            "data_as_of= must be a date such as '2025-09-30' or a pandas Timestamp."
        ) from None
    if pd.isna(stamp):
        raise ParameterError("data_as_of= must be a date, not missing.")
    return pd.Timestamp(stamp).normalize()


def _latest_date(tables: Mapping[str, pd.DataFrame]) -> pd.Timestamp | None:
    latest: list[pd.Timestamp] = []
    for table, frame in tables.items():
        for col in TABLES[table].columns:
            if col.kind == "date" and col.name in frame.columns and len(frame):
                values = frame[col.name]
                if values.dtype == np.dtype(_DATE):
                    # NaT is the smallest int64, so the plain maximum skips it (no mask)
                    value = np.max(values.to_numpy().view(np.int64)).view(_DATE)
                else:  # pragma: no cover - read_records types dates as datetime64[ns]
                    value = values.max()
                if not pd.isna(value):
                    latest.append(pd.Timestamp(value))
    return max(latest) if latest else None
