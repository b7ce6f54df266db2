"""``read_records``: read the canonical tables, validate them, and gather a :class:`Records`.

The steps, table by table in a fixed order (episodes, then the tables that refer to them):
read each file (:mod:`._files`), rename its columns, type and check every column
(:mod:`._columns`), match its rows to the accepted episodes (:mod:`._matching`), and resolve
the problems found into accepted rows and rejected rows (:mod:`._rejections`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import EmptyFileError, FileReadError, ParameterError
from ..schema import DEFAULT_TIMEPOINTS, REJECTED_COLUMNS, TABLES
from ._columns import (
    DATE,
    TABLE_ORDER,
    TEXT_KINDS,
    Options,
    empty_table,
)
from ._columns import (
    date_range as plausible_dates,
)
from ._container import Records
from ._files import describe_columns, load
from ._rejections import Rejections, raise_first
from ._tables import (
    Source,
    parallel_map,
    rename,
    service_code_mapping,
    validate_episodes,
    validate_followups,
    validate_services,
    validate_use_days,
)


def read_records(
    episodes: str | os.PathLike[str] | pd.DataFrame,
    followups: str | os.PathLike[str] | pd.DataFrame | None = None,
    use_days: str | os.PathLike[str] | pd.DataFrame | None = None,
    *,
    services: str | os.PathLike[str] | pd.DataFrame | None = None,
    columns: Mapping[str, Any] | None = None,
    codes: Mapping[str, Any] | None = None,
    strict: bool = False,
    date_format: str | None = None,
    timepoints: Sequence[str] | None = None,
    data_as_of: str | pd.Timestamp | None = None,
    encoding: str = "utf-8",
    date_range: tuple[str | pd.Timestamp | None, str | pd.Timestamp | None] | None = None,
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
    services : path or pandas.DataFrame, optional
        Service records (visits, stays, dispensings) by ``patient_id``, the input of the
        care-transition measures (``docs/format.md``, section *services*). Rows are not
        matched to episodes: a person's services need no episode. An empty canonical table
        when not given.
    columns : dict, optional
        Source column name -> canonical name, either one flat dict applied to every table or a
        dict keyed by table name (``{"episodes": {...}, "followups": {...}}``).
    codes : dict, optional
        Per column, source value -> canonical value (``{"status": {"lost": "not_located"}}``),
        optionally keyed by table too. Keys are compared as text (``1`` and ``"1"`` match).
        ``codes["service_code"]`` is special: billing code -> service type (a dict, or the
        path of a CSV file with two columns, code and service type, under a header row); it
        derives the services' ``service_type`` from their ``service_code`` (kept as given), a
        code not in the mapping rejects its row (``unknown_service_code``), and a row without
        a code keeps the ``service_type`` given. Code lists are the user's: none is shipped.
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
    date_range : (first, last), optional
        Plausible dates (inclusive); a date outside is rejected (``date_out_of_range``).
        ``None`` for either bound keeps its default: 1900-01-01, and one year after
        ``data_as_of`` (after the day of reading when ``data_as_of`` is not given).
        Placeholder dates of database exports (0001-01-01, 1900-01-01, 9999-12-31) fall
        outside or on the edge: narrow the range to reject 1900-01-01 as well.

    source_rows, source_files : dict, optional
        Hook for readers of raw exports (:mod:`iopoutcomes.exports`), which clean an export into
        DataFrames first, so that everything the records say about their input refers to the
        original export. ``source_rows`` maps a table to where each of its DataFrame's rows came
        from: a sequence of row numbers as the spreadsheet shows them (one per row), or a
        DataFrame with columns ``source`` (file name) and ``row``; ``rejected`` then carries
        these instead of DataFrame positions. ``source_files`` maps a table to the export
        file(s) it was read from (a path or a list of paths): ``sources`` names them and
        ``file_hashes`` holds their SHA-256 (keyed ``table`` for one file, ``table/file name``
        for several) instead of ``"DataFrame"`` without a hash. Both only relabel: which rows
        are accepted or rejected does not change.

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
    Each file is read once; ``Records.file_hashes`` holds the SHA-256 of the bytes parsed,
    so replacing a file afterwards never changes (or breaks) the stamp of these records.
    Each rejected source row appears once in ``rejected``, with the first reason in
    :data:`REJECTION_PRECEDENCE`, so accepted + rejected = read for every table. Every row
    sharing a duplicated ``episode_id`` (or ``episode_id`` + ``timepoint``) is rejected: which
    copy is right cannot be known. Follow-ups and use days of rejected episodes are rejected
    ``unknown_episode``. Text values are trimmed; empty cells (and in files the texts in
    :data:`MISSING_TOKENS`) are missing; vocabulary and timepoint labels match
    case-insensitively and are stored in their canonical spelling. ``level_of_care`` also
    accepts ASAM 3rd-edition codes (``"2.1"`` or ``2.1``), stored as the normalised level plus
    ``asam_code`` and ``asam_edition`` (``"ASAM3"``). Infinite numbers (``inf``) are
    rejected (``unparseable_number``) in every numeric column, covariates included; a text
    value holding a control character is rejected (``control_character``). In Excel
    workbooks, a formula without a saved result and the cells a merged region empties are
    rejected (``formula_without_value``, ``merged_cell``).

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
    first, last = _check_date_range(date_range)
    given = {
        "episodes": episodes,
        "followups": followups,
        "use_days": use_days,
        "services": services,
    }

    def prepare(table: str) -> tuple[Source, dict[str, Any]]:
        """Read one table, rename its columns and check its ``codes=``."""
        mapping = {
            str(k): str(v) for k, v in per_table(columns, table, "columns", TABLE_ORDER).items()
        }
        raw = load(given[table], table, *_text_sources(table, mapping), encoding)
        if len(raw.frame) == 0:
            raise EmptyFileError(
                f"The {table} table ({raw.source}) has no data rows "
                f"({describe_columns(raw.frame.columns)})."
            )
        return rename(raw, table, mapping), _check_codes(
            per_table(codes, table, "codes", TABLE_ORDER), table
        )

    def options(table: str) -> Options:
        return Options(
            codes=table_codes[table],
            date_format=date_format,
            dates=plausible_dates(first, last, as_of),
            vocabularies={"timepoint": tps},
        )

    parts: list[pd.DataFrame] = []

    def accept(full: pd.DataFrame, rej: Rejections) -> pd.DataFrame:
        ok, rejected_rows = rej.resolve()
        if strict and len(rejected_rows):
            if source_rows:  # the export's row number, as in ``rejected``
                sizes = {t: len(src.frame) for t, src in sources.items()}
                rejected_rows = relabel_rows(rejected_rows, source_rows, sizes)
            raise_first(rejected_rows)
        parts.append(rejected_rows)
        return full if bool(ok.all()) else full[ok].reset_index(drop=True)

    sources: dict[str, Source] = {}
    table_codes: dict[str, dict[str, Any]] = {}
    sources["episodes"], table_codes["episodes"] = prepare("episodes")
    later = [t for t in TABLE_ORDER[1:] if given[t] is not None]

    def read_later() -> list[tuple[Source, dict[str, Any]]]:
        return [prepare(table) for table in later]

    def episodes_checked() -> tuple[pd.DataFrame, Rejections]:
        return validate_episodes(sources["episodes"], options("episodes"))

    # the other files are read while the episodes are validated; the results come in list
    # order, so a file problem is raised before any problem of the episodes, as when reading
    # table by table
    jobs: list[Callable[[], Any]] = [read_later, episodes_checked]
    read, checked = parallel_map(lambda job: job(), jobs, _rows(given))
    for table, (source, table_code) in zip(later, read, strict=True):
        sources[table], table_codes[table] = source, table_code
    tables = {"episodes": accept(*checked)}
    if "followups" in sources:
        tables["followups"] = accept(
            *validate_followups(sources["followups"], options("followups"), tables["episodes"], tps)
        )
    else:
        tables["followups"] = empty_table("followups")
    if "use_days" in sources:
        tables["use_days"] = accept(
            *validate_use_days(sources["use_days"], options("use_days"), tables["episodes"])
        )
    else:
        tables["use_days"] = empty_table("use_days")
    if "services" in sources:
        tables["services"] = accept(*validate_services(sources["services"], options("services")))
    else:
        tables["services"] = empty_table("services")
    rejected = pd.concat(parts, ignore_index=True)[list(REJECTED_COLUMNS)]
    rejected = rejected.astype({"row": "int64"})
    names = {t: s.name for t, s in sources.items()}
    hashes = {t: s.raw.sha256 for t, s in sources.items() if s.raw.sha256 is not None}
    if source_rows is not None or source_files is not None:
        sizes = {t: len(src.frame) for t, src in sources.items()}
        rejected = relabel_rows(rejected, source_rows or {}, sizes)
        relabel_files(source_files or {}, names, hashes)

    if as_of is None:
        as_of = _latest_date(tables)
    remarks = [note for s in sources.values() for note in s.raw.notes]
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
        services=tables["services"],
        rejected=rejected,
        read_counts={t: len(s.frame) for t, s in sources.items()},
        sources=names,
        timepoints=tps,
        time_basis="calendar",
        data_as_of=as_of,
        file_hashes=hashes,
        provenance="canonical",
        remarks=tuple(remarks),
    )


def per_table(option: Any, table: str, name: str, tables: Sequence[str]) -> dict[str, Any]:
    """The part of a ``columns=``/``codes=`` option that applies to ``table``: the option
    itself, or its entry for ``table`` when it is keyed by table names."""
    if option is None:
        return {}
    if not isinstance(option, Mapping):
        raise ParameterError(f"{name}= must be a dict; got {type(option).__name__}.")
    if (
        option
        and all(k in tables for k in option)
        and all(isinstance(v, Mapping) for v in option.values())
    ):
        return dict(option.get(table, {}))
    return dict(option)


def _rows(given: Mapping[str, Any]) -> int:
    """Rows of the episodes (a file's size as a proxy): whether threads are worth it."""
    episodes = given["episodes"]
    if isinstance(episodes, pd.DataFrame):
        return len(episodes)
    try:
        return os.path.getsize(episodes) // 16  # at least 16 bytes a row
    except (OSError, TypeError):
        return 0


def _text_sources(table: str, mapping: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """Source column names of the canonical text columns (ids, labels, vocabularies) and of
    the canonical date columns."""

    def sources(kinds: tuple[str, ...]) -> list[str]:
        wanted = {c.name for c in TABLES[table].columns if c.kind in kinds}
        renamed = {src for src, dst in mapping.items() if dst in wanted}
        # a source column mapped elsewhere is not the canonical column of the same name
        return sorted(renamed | {c for c in wanted if mapping.get(c, c) == c})

    return sources(TEXT_KINDS), sources(("date",))


def _check_codes(found: Mapping[Any, Any], table: str) -> dict[str, Any]:
    codes = {str(k): v for k, v in found.items() if v is not None}
    # the billing-code mapping derives the services' type; it maps no column of another table
    service_codes = codes.pop("service_code", None)
    if table == "services" and service_codes is not None:
        codes["service_code"] = service_code_mapping(service_codes)
    bad = [k for k, v in codes.items() if not isinstance(v, Mapping)]
    if bad:
        raise ParameterError(
            "codes= must map each column to a dict of source value -> canonical value; "
            f"column(s) {bad} are not dicts."
        )
    return codes


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


def _check_date_range(
    value: tuple[Any, Any] | None,
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    if value is None:
        return None, None
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != 2:
        raise ParameterError(
            "date_range= must be a pair (first, last) of dates such as "
            f"('1990-01-01', '2025-12-31'), either may be None; got {type(value).__name__}."
        )
    bounds: list[pd.Timestamp | None] = []
    for bound in value:
        if bound is None:
            bounds.append(None)
            continue
        try:
            stamp: Any = pd.Timestamp(bound)
        except (ValueError, TypeError, OverflowError):
            stamp = None
        if stamp is None or pd.isna(stamp):
            raise ParameterError(
                "date_range= bounds must be dates such as '1990-01-01' (or None for the default)."
            )
        bounds.append(pd.Timestamp(stamp).normalize())
    if bounds[0] is not None and bounds[1] is not None and bounds[0] > bounds[1]:
        raise ParameterError("date_range= must list the earlier date first.")
    return bounds[0], bounds[1]


def _latest_date(tables: Mapping[str, pd.DataFrame]) -> pd.Timestamp | None:
    latest: list[pd.Timestamp] = []
    for table, frame in tables.items():
        for col in TABLES[table].columns:
            if col.kind == "date" and col.name in frame.columns and len(frame):
                values = frame[col.name].to_numpy(dtype=DATE)
                present = values[~np.isnat(values)]
                if len(present):
                    latest.append(pd.Timestamp(present.max()))
    return max(latest) if latest else None


# --- hook for raw-export readers (source_rows= / source_files=) -------------------------------


def relabel_rows(
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


def relabel_files(
    source_files: Mapping[str, Any], names: dict[str, str], hashes: dict[str, str]
) -> None:
    """Name and hash the export files a table was read from (in place)."""
    for table, given in source_files.items():
        if table not in names:
            continue
        paths = [Path(p) for p in ([given] if isinstance(given, str | os.PathLike) else given)]
        hashes.pop(table, None)
        names[table] = ", ".join(p.name for p in paths)
        for path in paths:
            key = table if len(paths) == 1 else f"{table}/{path.name}"
            try:
                with path.open("rb") as stream:
                    hashes[key] = hashlib.file_digest(stream, "sha256").hexdigest()
            except OSError:
                raise FileReadError(
                    f"The export file {path.name!r} could not be read again to hash it; it was "
                    "moved or deleted while the records were read."
                ) from None
            if len(paths) > 1:
                names[key] = path.name
