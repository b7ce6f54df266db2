"""Reading an agency's own exports (EHR spreadsheets, GPRA interview files, lab files).

:func:`read_exports` turns the files a program really has into validated
:class:`~iopoutcomes.records.Records`: an Excel or CSV export with title rows above the header
and footer lines below the data, US dates, the EHR's own column names and wordings, GPRA's
missing-value codes (-7 refused, -8 don't know, -9 missing), episodes numbered 1, 2, ... within
each client (a composite ``episode_key``), and interviews or urine screens that carry a client
number and a date but no episode number (linked to the episode by ``patient_id`` + date).

Everything the records then say about their input refers to the original export: rejected rows
carry the export file's name and the row number as the spreadsheet shows it (header and title
rows counted), and ``file_hashes`` hashes the export files. Blank lines and declared footer lines
are skipped, never counted as rejected rows.

The same settings are the ``[input]`` section of a report configuration
(:mod:`iopoutcomes.report.config`), see :class:`ExportInput`::

    [input]
    missing_codes = "gpra"              # -7/-8/-9 -> missing; or a list such as [-9, 99]
    date_format = "%m/%d/%Y"            # default for every table
    timepoints = ["intake", "discharge", "6mo"]

    [input.episodes]
    files = "exports/admissions*.xlsx"  # path or glob (relative to the config file), or a list
    header_row = 3                      # the header's row number as the spreadsheet shows it
    skip_footer = 1                     # footer lines below the data (not counted as rejected)
    episode_key = ["Client ID", "Episode #"]
    columns = {"Client ID" = "patient_id", "Program" = "cohort", "Admit Date" = "admission_date"}
    codes.discharge_reason = {"Left AMA" = "dropped_out"}

    [input.use_days]
    files = "exports/lab_screens.csv"
    kind = "screens"                    # or "daily" (timeline follow-back)

    [input.services]
    files = "exports/encounters*.csv"
    columns = {"Client ID" = "patient_id", "DOS" = "service_date", "Proc" = "service_code"}
    codes.service_code = "value_sets/service_codes.csv"  # the program's own: code, service type

Privacy (42 CFR Part 2): messages name files, settings, columns, counts and reason codes, never
cell values or identifiers.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import glob
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from .definitions import Window, _as_window, default_window
from .exceptions import (
    ConfigError,
    EmptyFileError,
    FileReadError,
    InsufficientDataError,
    ParameterError,
    SchemaError,
)
from .schema import EXPORT_REJECTION_REASONS, REJECTED_COLUMNS, TABLES

__all__ = [
    "CALENDAR_KINDS",
    "CALENDAR_WINDOW_DAYS",
    "MISSING_CODE_PRESETS",
    "ExportInput",
    "ExportSheet",
    "TableInput",
    "read_export_table",
    "read_exports",
    "require_rows",
]

TABLE_NAMES: Final[tuple[str, ...]] = ("episodes", "followups", "use_days", "services")

CALENDAR_KINDS: Final[tuple[str, ...]] = ("daily", "screens")
"""``daily``: every day recorded (timeline follow-back); ``screens``: urine screens on some days."""

MISSING_CODE_PRESETS: Final[Mapping[str, Mapping[str, str]]] = {
    # SAMHSA CSAT GPRA client outcome measures tool: reserved codes for items not answered.
    "gpra": {"-7": "refused", "-8": "don't know", "-9": "missing / not answered"},
}
"""Named sets of numeric codes that mean "missing" (value -> meaning)."""

_EXCEL = (".xlsx", ".xlsm")
_CSV = (".csv", ".txt", ".tsv")
_MISSING_TEXT = frozenset(
    ("", "NA", "N/A", "NULL", "null", "NaN", "nan", "#N/A", "None")
)  # as records.MISSING_TOKENS
_KEY_SEP = "|"
_TABLE_KEYS = (
    "files",
    "sheet",
    "header_row",
    "skip_rows",
    "skip_footer",
    "columns",
    "codes",
    "date_format",
    "encoding",
    "episode_key",
    "kind",
)
_INPUT_KEYS = (
    "missing_codes",
    "date_format",
    "encoding",
    "episode_key",
    "timepoints",
    "data_as_of",
)


# --- settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableInput:
    """How one canonical table is read from export files.

    Attributes
    ----------
    files : tuple of str
        Paths or glob patterns (relative to the configuration file's folder).
    sheet : str or int or None
        Excel sheet name or 0-based position (first sheet when None).
    header_row : int
        Row number of the header as the spreadsheet shows it (1 = first row); the rows above
        are title rows. ``skip_rows = n`` in the configuration means ``header_row = n + 1``.
    skip_footer : int
        Non-blank lines at the end of the file that are not data (totals, "Report generated").
    columns : mapping
        Export column name -> canonical column name.
    codes : mapping
        Canonical column -> {export value -> canonical value} (matched case-insensitively
        after trimming; ``""`` maps to missing).
    date_format : str or None
        ``strptime`` format of this table's dates (Excel date cells need none).
    encoding : str or None
        Text encoding of CSV files.
    episode_key : tuple of str or None
        Export columns whose values together identify an episode (``("Client ID", "Episode
        #")``): ``episode_id`` is built from them.
    kind : {"daily", "screens"} or None
        For ``use_days``: what the calendar is (see :data:`CALENDAR_KINDS`).
    service_codes : str or mapping or None
        For ``services``: ``codes.service_code``, billing code -> service type, or the path
        (relative to the configuration file's folder) of a two-column CSV file; passed to
        :func:`~iopoutcomes.read_records` as ``codes={"service_code": ...}``, which derives
        ``service_type`` from ``service_code`` and rejects unmapped codes.
    """

    files: tuple[str, ...] = ()
    sheet: str | int | None = None
    header_row: int = 1
    skip_footer: int = 0
    columns: Mapping[str, str] = field(default_factory=dict)
    codes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    date_format: str | None = None
    encoding: str | None = None
    episode_key: tuple[str, ...] | None = None
    kind: str | None = None
    service_codes: str | Mapping[str, str] | None = None


@dataclass(frozen=True)
class ExportInput:
    """The ``[input]`` settings: which export files make each table and how to read them.

    Examples
    --------
    >>> cfg = ExportInput.from_dict({"missing_codes": "gpra", "timepoints": ["intake", "6mo"],
    ...                              "episodes": {"files": "adm.xlsx", "header_row": 3}})
    >>> cfg.tables["episodes"].header_row, cfg.missing_codes
    (3, ('-7', '-8', '-9'))
    >>> cfg.windows["6mo"]
    Window(anchor='admission', start_day=152, end_day=243)
    """

    tables: Mapping[str, TableInput] = field(default_factory=dict)
    missing_codes: tuple[str, ...] = ()
    timepoints: tuple[str, ...] | None = None
    windows: Mapping[str, Window] = field(default_factory=dict)
    data_as_of: str | None = None
    base_dir: Path = Path(".")

    @property
    def calendar(self) -> str | None:
        """The declared kind of the use calendar (``None`` when no calendar is read)."""
        t = self.tables.get("use_days")
        return None if t is None else (t.kind or "daily")

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, base_dir: str | os.PathLike[str] = ".", source: str = ""
    ) -> ExportInput:
        """Validate an ``[input]`` mapping; errors name the setting (``[input.episodes] sheet``)."""
        where = f"{source}: " if source else ""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}[input] must be a table of settings.")
        unknown = set(data) - set(_INPUT_KEYS) - set(TABLE_NAMES)
        if unknown:
            raise ConfigError(
                f"{where}unknown key(s) {sorted(unknown)} in [input]. Valid: "
                f"{sorted((*_INPUT_KEYS, *TABLE_NAMES))}."
            )
        defaults = {k: data[k] for k in ("date_format", "encoding", "episode_key") if k in data}
        tables = {
            t: _table_input(t, {**defaults, **_mapping(data[t], f"{where}[input.{t}]")}, where)
            for t in TABLE_NAMES
            if t in data
        }
        if tables and "episodes" not in tables:
            raise ConfigError(f"{where}[input] needs an [input.episodes] table (files = ...).")
        codes = _missing_codes(data.get("missing_codes"), where)
        labels, windows = _timepoints(data.get("timepoints"), where)
        as_of = data.get("data_as_of")
        if as_of is not None:
            as_of = str(as_of)
        return cls(tables, codes, labels, windows, as_of, Path(base_dir))

    def definition_settings(self) -> dict[str, Any]:
        """``OutcomeDefinition`` settings the program declared here (timepoints, windows, calendar).

        A ``daily`` calendar skips days without a record (``missing_days="skip"``: a missing day
        is missing, not use). The report applies these unless ``[definition]`` sets them.

        Examples
        --------
        >>> from iopoutcomes import OutcomeDefinition
        >>> inp = ExportInput.from_dict({"timepoints": ["intake", "6mo"], "episodes": {
        ...     "files": "a.csv"}, "use_days": {"files": "lab.csv", "kind": "screens"}})
        >>> d = OutcomeDefinition(**inp.definition_settings())
        >>> d.outcome_timepoints, d.calendar
        (('6mo',), 'screens')
        """
        out: dict[str, Any] = {}
        if self.timepoints:
            out["timepoints"] = tuple(self.timepoints)
        if self.windows:
            out["windows"] = dict(self.windows)
        if self.calendar is not None:
            out["calendar"] = self.calendar
            if self.calendar == "daily":
                out["missing_days"] = "skip"
        return out

    def paths(self, table: str) -> list[Path]:
        """The files of ``table`` (globs expanded, sorted); a pattern matching none raises."""
        out: list[Path] = []
        for pattern in self.tables[table].files:
            full = pattern if Path(pattern).is_absolute() else str(self.base_dir / pattern)
            found = sorted(glob.glob(full)) if glob.has_magic(full) else [full]
            if not found:
                raise FileReadError(
                    f"[input.{table}] files: the pattern {Path(pattern).name!r} matches no file "
                    f"(looked in {Path(full).parent})."
                )
            out.extend(Path(p) for p in found)
        return out


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table of settings.")
    return value


def _table_input(table: str, raw: Mapping[str, Any], where: str) -> TableInput:
    name = f"{where}[input.{table}]"
    unknown = set(raw) - set(_TABLE_KEYS)
    if unknown:
        raise ConfigError(
            f"{name}: unknown key(s) {sorted(unknown)}. Valid: {sorted(_TABLE_KEYS)}."
        )
    files = raw.get("files", ())
    files = (files,) if isinstance(files, str) else tuple(str(f) for f in files)
    if not files:
        raise ConfigError(f"{name} files: give the export file(s) of the {table} table.")
    if "header_row" in raw and "skip_rows" in raw:
        raise ConfigError(f"{name}: give header_row or skip_rows, not both.")
    header = raw.get("header_row", int(raw.get("skip_rows", 0)) + 1)
    footer = raw.get("skip_footer", 0)
    for setting, value, low in (("header_row", header, 1), ("skip_footer", footer, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{name} {setting} must be a whole number >= {low}.")
    sheet = raw.get("sheet")
    if sheet is not None and (isinstance(sheet, bool) or not isinstance(sheet, str | int)):
        raise ConfigError(f"{name} sheet must be a sheet name or a 0-based position.")
    columns = {str(k): str(v) for k, v in _mapping(raw.get("columns", {}), name).items()}
    bad = sorted({v for v in columns.values() if not v.strip()})
    if bad:
        raise ConfigError(f"{name} columns: a column is mapped to an empty name.")
    # names that are not canonical columns are kept as covariates (age, sex, ...)
    codes: dict[str, dict[str, str]] = {}
    service_codes: str | dict[str, str] | None = None
    for col, mapping in _mapping(raw.get("codes", {}), name).items():
        if table == "services" and str(col) == "service_code":
            # billing codes derive the type in read_records (unmapped codes are rejected)
            service_codes = (
                str(mapping)
                if isinstance(mapping, str | os.PathLike)
                else {str(k): str(v) for k, v in _mapping(mapping, f"{name} codes").items()}
            )
            continue
        codes[str(col)] = {str(k): str(v) for k, v in _mapping(mapping, f"{name} codes").items()}
    fmt = raw.get("date_format")
    if fmt is not None and (not isinstance(fmt, str) or "%" not in fmt):
        raise ConfigError(f"{name} date_format must be a strptime format such as '%m/%d/%Y'.")
    enc = raw.get("encoding")
    if enc is not None:
        import codecs

        try:
            codecs.lookup(str(enc))
        except LookupError:
            raise ConfigError(f"{name} encoding is not an encoding Python knows.") from None
    given_key = raw.get("episode_key")
    key: tuple[str, ...] | None = None
    if given_key is not None:
        key = (given_key,) if isinstance(given_key, str) else tuple(str(k) for k in given_key)
        if not key:
            raise ConfigError(f"{name} episode_key must name one or more export columns.")
    kind = raw.get("kind")
    if kind is not None and (table != "use_days" or kind not in CALENDAR_KINDS):
        raise ConfigError(
            f"{name} kind is a setting of [input.use_days] only, one of {list(CALENDAR_KINDS)}."
        )
    return TableInput(
        files, sheet, int(header), int(footer), columns, codes, fmt, enc, key, kind, service_codes
    )


def _missing_codes(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str | int | float) else list(value)
    out: list[str] = []
    for item in items:
        if isinstance(item, str) and item.lower() in MISSING_CODE_PRESETS:
            out.extend(MISSING_CODE_PRESETS[item.lower()])
        elif isinstance(item, int | float) and not isinstance(item, bool):
            out.append(_number_text(item))
        elif isinstance(item, str) and _is_number(item):
            out.append(_number_text(float(item)))
        else:
            raise ConfigError(
                f"{where}[input] missing_codes takes numbers and the presets "
                f"{sorted(MISSING_CODE_PRESETS)}; got a {type(item).__name__} that is neither."
            )
    return tuple(dict.fromkeys(out))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _timepoints(value: Any, where: str) -> tuple[tuple[str, ...] | None, dict[str, Window]]:
    if value is None:
        return None, {}
    try:
        if isinstance(value, Mapping):
            windows = {str(k): _as_window(v) for k, v in value.items()}
            return tuple(windows), windows
        labels = tuple(str(v) for v in value)
        return labels, {t: default_window(t) for t in labels}
    except ParameterError as exc:
        raise ConfigError(f"{where}[input] timepoints: {exc}") from None


# --- reading one export file -----------------------------------------------------------------


@dataclass(frozen=True)
class ExportSheet:
    """One export file as read: text cells under the header, with spreadsheet row numbers.

    Attributes
    ----------
    frame : pandas.DataFrame
        Data rows (blank lines and footer lines removed), every cell text or missing.
    rows : numpy.ndarray
        Row number of each data row as the spreadsheet shows it (the header's row counted).
    source : str
        The file name.
    path : pathlib.Path
    n_blank, n_footer : int
        Blank lines and footer lines skipped (not data, not rejected).
    """

    frame: pd.DataFrame
    rows: np.ndarray
    source: str
    path: Path
    n_blank: int = 0
    n_footer: int = 0


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return value.strftime("%Y-%m-%d") if value.time() == _dt.time(0) else value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return None if text in _MISSING_TEXT else text


def _raw_grid(path: Path, sheet: str | int | None, encoding: str) -> pd.DataFrame:
    """Every physical row of an export (one DataFrame row each) with its raw cells."""
    lower = path.name.lower()
    if not path.exists():
        raise FileReadError(f"The export file {path.name!r} does not exist.")
    if lower.endswith(_EXCEL):
        rows = _excel_rows(path, sheet)
        width = max((len(r) for r in rows), default=0)
        return pd.DataFrame([r + [None] * (width - len(r)) for r in rows], dtype=object)
    if lower.endswith(_CSV) or lower.endswith(".csv.gz"):
        try:
            data = path.read_bytes()
            if lower.endswith(".gz"):
                import gzip

                data = gzip.decompress(data)
            text = data.decode(encoding)
        except UnicodeDecodeError:
            raise FileReadError(
                f"The export file {path.name!r} is not valid {encoding} text; set encoding "
                "(e.g. 'cp1252' for Windows/Excel exports)."
            ) from None
        except LookupError:
            raise ConfigError(f"encoding {encoding!r} is not an encoding Python knows.") from None
        if text.startswith("\ufeff"):
            text = text[1:]
        if not text.strip():
            return pd.DataFrame(dtype=object)
        delimiter = "\t" if lower.endswith(".tsv") else ","
        # as many columns as the widest line could have (a quoted delimiter only adds an empty
        # column); blank lines are kept, so row numbers are the lines a spreadsheet shows
        width = max(map(str.count, text.splitlines(), repeat(delimiter)), default=0) + 1
        try:
            return pd.read_csv(
                io.StringIO(text),
                sep=delimiter,
                header=None,
                names=range(width),
                dtype=str,
                keep_default_na=False,
                na_values=[],
                skip_blank_lines=False,
                engine="c",
            ).astype(object)
        except (pd.errors.ParserError, ValueError) as exc:
            raise FileReadError(
                f"The export file {path.name!r} could not be parsed as CSV "
                f"({type(exc).__name__}); check the delimiter and quoting."
            ) from None
    raise FileReadError(
        f"The export file {path.name!r} is neither Excel (.xlsx) nor CSV; save it as one of these."
    )


def _excel_rows(path: Path, sheet: str | int | None) -> list[list[Any]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl/zipfile raise many types for broken workbooks
        raise FileReadError(
            f"The export file {path.name!r} could not be read as an Excel workbook "
            f"({type(exc).__name__})."
        ) from None
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(book.worksheets):
                raise ConfigError(
                    f"sheet = {sheet}: {path.name!r} has {len(book.worksheets)} sheet(s) "
                    "(positions start at 0)."
                )
            ws = book.worksheets[sheet]
        else:
            if sheet not in book.sheetnames:
                raise ConfigError(
                    f"sheet: {path.name!r} has no sheet of that name; its sheets are "
                    f"{book.sheetnames}."
                )
            ws = book[sheet]
        return [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        book.close()


def _text_grid(grid: pd.DataFrame, excel: bool) -> pd.DataFrame:
    """Raw cells -> trimmed text (None = missing), one column at a time."""
    if excel:  # typed cells (dates, numbers): openpyxl already spent a Python step per cell
        return grid.apply(lambda col: col.map(_cell_text)).astype(object)
    out = {}
    for k in grid.columns:  # CSV: every cell is text, trimmed and matched vectorised
        col = grid[k].astype("string").str.strip()
        col = col.mask(col.isin(list(_MISSING_TEXT)))
        out[k] = col.astype(object).where(col.notna(), None)
    return pd.DataFrame(out, index=grid.index)


def read_export_table(
    path: str | os.PathLike[str],
    *,
    sheet: str | int | None = None,
    header_row: int = 1,
    skip_footer: int = 0,
    encoding: str = "utf-8",
) -> ExportSheet:
    """Read one export file as text: header at ``header_row``, footers and blank lines dropped.

    Parameters
    ----------
    path : path
        ``.xlsx``/``.xlsm`` or ``.csv``/``.tsv``/``.txt`` (comma separated unless ``.tsv``).
    sheet : str or int, optional
        Sheet name or 0-based position (Excel).
    header_row : int, default 1
        Row number of the header as the spreadsheet shows it.
    skip_footer : int, default 0
        Non-blank lines at the end that are not data.
    encoding : str, default "utf-8"
        Encoding of CSV files.

    Returns
    -------
    ExportSheet

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d) / "a.csv"
    ...     _ = p.write_text("Admissions export\\n\\nClient ID,Admit\\nC1,01/02/2024\\n\\n"
    ...                      "C2,01/05/2024\\nTotal: 2\\n")
    ...     sheet = read_export_table(p, header_row=3, skip_footer=1)
    >>> list(sheet.frame.columns), sheet.rows.tolist(), sheet.n_blank, sheet.n_footer
    (['Client ID', 'Admit'], [4, 6], 1, 1)
    """
    p = Path(path)
    grid = _raw_grid(p, sheet, encoding)
    if len(grid) < header_row:
        raise EmptyFileError(
            f"The export file {p.name!r} has {len(grid)} row(s), so no header at header_row = "
            f"{header_row}."
        )
    text = _text_grid(grid, excel=p.name.lower().endswith(_EXCEL))
    header = text.iloc[header_row - 1]
    names = [str(h) if h is not None else "" for h in header.tolist()]
    keep = [i for i, n in enumerate(names) if n]
    if not keep:
        raise SchemaError(
            f"Row {header_row} of {p.name!r} (header_row) is blank: set header_row to the row "
            "that holds the column names."
        )
    seen = [n for n in names if n]
    doubled = sorted({n for n in seen if seen.count(n) > 1})
    if doubled:
        raise SchemaError(
            f"The header (row {header_row}) of {p.name!r} has column name(s) {doubled} more "
            "than once; check header_row."
        )
    body = text.iloc[header_row:, keep]
    body.columns = pd.Index([names[i] for i in keep], dtype=object)
    numbers = np.arange(header_row + 1, header_row + 1 + len(body), dtype=np.int64)
    filled = body.notna().any(axis=1).to_numpy(bool)
    # footer: the last skip_footer non-blank lines (counted from the end, blank lines ignored)
    nonblank = np.flatnonzero(filled)
    footer = np.zeros(len(body), dtype=bool)
    if skip_footer:
        if skip_footer > len(nonblank):
            raise EmptyFileError(
                f"skip_footer = {skip_footer} is more than the {len(nonblank)} non-blank line(s) "
                f"under the header of {p.name!r}."
            )
        footer[nonblank[len(nonblank) - skip_footer :]] = True
    data = filled & ~footer
    frame = body.loc[data].reset_index(drop=True)
    return ExportSheet(
        frame=frame,
        rows=numbers[data],
        source=p.name,
        path=p,
        n_blank=int((~filled).sum()),
        n_footer=int(footer.sum()),
    )


# --- cleaning one table ----------------------------------------------------------------------


@dataclass
class _Table:
    frame: pd.DataFrame
    where: pd.DataFrame  # source, row per frame row
    paths: list[Path]
    n_blank: int = 0
    n_footer: int = 0
    n_missing_codes: int = 0
    n_codes: int = 0


def _kind(table: str, column: str) -> str | None:
    try:
        return TABLES[table].column(column).kind
    except KeyError:
        return None


def _clean(table: str, spec: TableInput, settings: ExportInput) -> _Table:
    sheets = [
        read_export_table(
            p,
            sheet=spec.sheet,
            header_row=spec.header_row,
            skip_footer=spec.skip_footer,
            encoding=spec.encoding or "utf-8",
        )
        for p in settings.paths(table)
    ]
    frame = pd.concat([s.frame for s in sheets], ignore_index=True) if sheets else pd.DataFrame()
    where = pd.DataFrame(
        {
            "source": np.concatenate(
                [np.full(len(s.rows), s.source, dtype=object) for s in sheets]
            ),
            "row": np.concatenate([s.rows for s in sheets]),
        }
    )
    out = _Table(
        frame,
        where,
        [s.path for s in sheets],
        sum(s.n_blank for s in sheets),
        sum(s.n_footer for s in sheets),
    )
    if len(frame) == 0:
        raise EmptyFileError(
            f"[input.{table}]: the {table} export has no data rows after the header "
            f"(header_row = {spec.header_row}, skip_footer = {spec.skip_footer}, sheet = "
            f"{spec.sheet if spec.sheet is not None else 'first'}); check these settings."
        )
    missing_src = [c for c in spec.columns if c not in frame.columns]
    if missing_src:
        raise SchemaError(
            f"[input.{table}] columns: export column(s) {sorted(missing_src)} are not in the "
            f"header of {', '.join(s.source for s in sheets)} (columns found: "
            f"{[str(c) for c in frame.columns]}); check header_row or the names."
        )
    # composite episode key, from the export's own columns (before renaming)
    if spec.episode_key:
        key_cols = list(spec.episode_key)
        absent = [c for c in key_cols if c not in frame.columns]
        if not absent:
            parts = frame[key_cols].astype("string")
            others: Any = [parts[c] for c in key_cols[1:]]
            key = parts[key_cols[0]].str.cat(others, sep=_KEY_SEP)  # missing part -> missing
            frame = frame.drop(columns=[c for c in key_cols if spec.columns.get(c) is None])
            frame["episode_id"] = key.astype(object).where(key.notna(), None)
        elif table == "episodes":
            raise SchemaError(
                f"[input.{table}] episode_key: column(s) {absent} are not in the export "
                f"(columns found: {[str(c) for c in frame.columns]})."
            )
    renamed = frame.rename(columns=dict(spec.columns))
    if renamed.columns.duplicated().any():
        doubled = sorted(set(renamed.columns[renamed.columns.duplicated()]))
        raise SchemaError(
            f"[input.{table}] columns: {doubled} would come from more than one export column "
            "(an episode_key builds episode_id itself)."
        )
    frame = renamed
    # GPRA-style missing codes: every column except identifiers and dates
    if settings.missing_codes:
        for col in frame.columns:
            if _kind(table, str(col)) in ("id", "date"):
                continue
            # compared as numbers: "-9", "-9.0" and " -9" are the same code
            numeric = pd.to_numeric(frame[col], errors="coerce")
            extra = numeric.isin([float(c) for c in settings.missing_codes]).to_numpy(bool)
            if extra.any():
                out.n_missing_codes += int(extra.sum())
                frame[col] = frame[col].where(~extra, None)
    # value codes (case-insensitive, trimmed); "" means missing
    for col, mapping in spec.codes.items():
        if col not in frame.columns:
            raise SchemaError(
                f"[input.{table}] codes: {col!r} is not a column of the table after mapping "
                f"(columns: {[str(c) for c in frame.columns]})."
            )
        lower = {k.strip().lower(): (v if v != "" else None) for k, v in mapping.items()}
        text = frame[col].astype("string").str.strip().str.lower()
        hit = text.isin(list(lower)).fillna(False).to_numpy(bool)
        out.n_codes += int(hit.sum())
        mapped = text.map(lower).astype(object)
        frame[col] = frame[col].where(~hit, mapped)
    # dates in the table's format -> ISO text; values that do not parse stay as they are, so
    # read_records rejects them (unparseable_date) with the row number of the export
    if spec.date_format:
        for col in frame.columns:
            if _kind(table, str(col)) != "date":
                continue
            parsed = pd.to_datetime(frame[col], format=spec.date_format, errors="coerce")
            iso = parsed.dt.strftime("%Y-%m-%d").astype(object)
            frame[col] = iso.where(parsed.notna(), frame[col])
    # other columns (covariates) are numbers when every value is one, as a CSV reader infers
    for col in frame.columns:
        if _kind(table, str(col)) is not None:
            continue
        numeric = pd.to_numeric(frame[col], errors="coerce")
        if int(numeric.notna().sum()) == int(frame[col].notna().sum()):
            frame[col] = numeric
    out.frame = frame
    return out


# --- linking interviews to episodes ---------------------------------------------------------


def _link_followups(
    fu: _Table, episodes: pd.DataFrame, windows: Mapping[str, Window]
) -> pd.DataFrame:
    """Give follow-ups without an episode key the episode whose window covers the date.

    Returns the adapter's rejected rows (``REJECTED_COLUMNS``) and drops them from ``fu``.
    """
    frame = fu.frame
    n = len(frame)
    eps = pd.DataFrame(
        {
            "patient_id": episodes["patient_id"].astype("string").str.strip(),
            "episode_id": episodes["episode_id"].astype("string"),
            "admission": pd.to_datetime(episodes["admission_date"], errors="coerce"),
            "discharge": pd.to_datetime(episodes["discharge_date"], errors="coerce")
            if "discharge_date" in episodes
            else pd.NaT,
        }
    )
    eps = eps.dropna(subset=["patient_id", "episode_id"])
    rows = pd.DataFrame(
        {
            "_i": np.arange(n),
            "patient_id": frame["patient_id"].astype("string").str.strip(),
            "timepoint": frame["timepoint"].astype("string").str.strip().str.lower()
            if "timepoint" in frame
            else pd.NA,
            "date": pd.to_datetime(frame["assessment_date"], errors="coerce")
            if "assessment_date" in frame
            else pd.NaT,
        }
    )
    pairs = rows.merge(eps, on="patient_id", how="inner")
    lower = {k.lower(): w for k, w in windows.items()}
    start = pairs["timepoint"].map({k: w.start_day for k, w in lower.items()}).astype("Float64")
    end = pairs["timepoint"].map({k: w.end_day for k, w in lower.items()}).astype("Float64")
    anchor_kind = pairs["timepoint"].map({k: w.anchor for k, w in lower.items()})
    anchor = pairs["admission"].where(anchor_kind != "discharge", pairs["discharge"])
    offset = (pairs["date"] - anchor).dt.days.astype("Float64")
    covers = ((offset >= start) & (offset <= end)).fillna(False).to_numpy(bool)
    dated = pairs["date"].notna().to_numpy(bool)
    n_cover = np.bincount(pairs["_i"].to_numpy()[covers], minlength=n)
    n_eps = np.bincount(pairs["_i"].to_numpy(), minlength=n)
    has_date = rows["date"].notna().to_numpy(bool)
    has_patient = rows["patient_id"].notna().to_numpy(bool)
    # a dated row links to the one episode whose window covers the date; an undated one (an
    # interview not conducted) only when the client has a single episode
    chosen = np.full(n, -1, dtype=np.int64)
    pick = covers & dated
    chosen[pairs["_i"].to_numpy()[pick]] = pairs.index.to_numpy()[pick]
    single = (~has_date) & (n_eps == 1)
    only = pairs["_i"].map(pd.Series(single)).to_numpy(bool)
    chosen[pairs["_i"].to_numpy()[only]] = pairs.index.to_numpy()[only]
    ok = (has_date & (n_cover == 1)) | single
    episode_id = np.full(n, None, dtype=object)
    episode_id[ok] = pairs["episode_id"].to_numpy(object)[chosen[ok]]
    problems = [
        (
            ~has_patient,
            "patient_id",
            "missing_required_value",
            "patient_id: a required value is empty (needed to link the row to an episode)",
        ),
        (
            has_patient & (n_eps == 0),
            "patient_id",
            "no_episode_link",
            "patient_id: " + EXPORT_REJECTION_REASONS["no_episode_link"] + " (no episode)",
        ),
        (
            has_patient & (n_eps > 0) & has_date & (n_cover == 0),
            "assessment_date",
            "no_episode_link",
            "assessment_date: "
            + EXPORT_REJECTION_REASONS["no_episode_link"]
            + " (no episode's window for this timepoint covers the date)",
        ),
        (
            has_date & (n_cover > 1),
            "assessment_date",
            "ambiguous_episode_link",
            "assessment_date: "
            + EXPORT_REJECTION_REASONS["ambiguous_episode_link"]
            + " (the windows of several episodes cover the date)",
        ),
        (
            has_patient & ~has_date & (n_eps > 1),
            "assessment_date",
            "ambiguous_episode_link",
            "assessment_date: "
            + EXPORT_REJECTION_REASONS["ambiguous_episode_link"]
            + " (no date to choose among the client's episodes)",
        ),
    ]
    reason = np.full(n, -1)
    for k, (mask, *_rest) in enumerate(problems):
        reason[np.asarray(mask, bool) & (reason < 0)] = k
    bad = np.flatnonzero(reason >= 0)
    rejected = pd.DataFrame(
        {
            "table": "followups",
            "source": fu.where["source"].to_numpy(object)[bad],
            "row": fu.where["row"].to_numpy(np.int64)[bad],
            "column": np.array([p[1] for p in problems], dtype=object)[reason[bad]],
            "reason": np.array([p[2] for p in problems], dtype=object)[reason[bad]],
            "message": np.array([p[3] for p in problems], dtype=object)[reason[bad]],
        },
        columns=list(REJECTED_COLUMNS),
    )
    keep = reason < 0
    frame = frame.assign(episode_id=episode_id)
    fu.frame = frame.loc[keep].reset_index(drop=True)
    fu.where = fu.where.loc[keep].reset_index(drop=True)
    return rejected


CALENDAR_WINDOW_DAYS: Final[int] = 180
"""Days after discharge a calendar row (use day, urine screen) can still belong to an episode
(the default of ``OutcomeDefinition.after_discharge_days``)."""


def _check_calendar_links(ud: _Table, episodes: pd.DataFrame) -> pd.DataFrame:
    """Reject calendar rows (by client and date) that no episode's window covers, or two do.

    The row goes to the client's episode with the latest admission on or before the date (as
    :func:`~iopoutcomes.read_records` resolves it), provided the date is within that episode's
    window (admission to discharge + :data:`CALENDAR_WINDOW_DAYS` - 1; open while in care);
    rows whose client has no episode, or whose date does not parse, are left to
    ``read_records`` (``unknown_patient``, ``unparseable_date``).
    """
    frame = ud.frame
    n = len(frame)
    discharge = (
        pd.to_datetime(episodes["discharge_date"], format="%Y-%m-%d", errors="coerce")
        if "discharge_date" in episodes
        else pd.Series(pd.NaT, index=episodes.index)
    )
    eps = pd.DataFrame(
        {
            "patient_id": episodes["patient_id"].astype("string").str.strip(),
            "admission": pd.to_datetime(
                episodes["admission_date"], format="%Y-%m-%d", errors="coerce"
            ),
            "discharge": discharge,
        }
    ).dropna(subset=["patient_id", "admission"])
    rows = pd.DataFrame(
        {
            "_i": np.arange(n),
            "patient_id": frame["patient_id"].astype("string").str.strip(),
            "date": pd.to_datetime(frame["date"], format="%Y-%m-%d", errors="coerce"),
        }
    ).dropna(subset=["patient_id", "date"])
    pairs = rows.merge(eps, on="patient_id", how="inner")
    pairs = pairs.loc[(pairs["admission"] <= pairs["date"]).to_numpy(bool)]
    latest = pairs.groupby("_i")["admission"].transform("max")
    nearest = pairs.loc[(pairs["admission"] == latest).to_numpy(bool)]
    n_nearest = np.bincount(nearest["_i"].to_numpy(np.int64), minlength=n)
    end = nearest["discharge"] + pd.Timedelta(days=CALENDAR_WINDOW_DAYS - 1)
    covered = (nearest["discharge"].isna() | (nearest["date"] <= end)).to_numpy(bool)
    outside = np.zeros(n, dtype=bool)
    outside[nearest["_i"].to_numpy(np.int64)[~covered]] = True
    ambiguous = n_nearest > 1
    outside &= ~ambiguous
    bad = ambiguous | outside
    idx = np.flatnonzero(bad)
    reason = np.where(ambiguous[idx], "ambiguous_episode_link", "no_episode_link")
    detail = np.where(
        ambiguous[idx],
        " (two episodes of the client start on the same day)",
        f" (the date is more than {CALENDAR_WINDOW_DAYS} days after the discharge of the "
        "client's last episode before it)",
    )
    messages = [
        f"date: {EXPORT_REJECTION_REASONS[str(r)]}{d}" for r, d in zip(reason, detail, strict=True)
    ]
    rejected = pd.DataFrame(
        {
            "table": "use_days",
            "source": ud.where["source"].to_numpy(object)[idx],
            "row": ud.where["row"].to_numpy(np.int64)[idx],
            "column": "date",
            "reason": reason.astype(object),
            "message": messages,
        },
        columns=list(REJECTED_COLUMNS),
    )
    ud.frame = frame.loc[~bad].reset_index(drop=True)
    ud.where = ud.where.loc[~bad].reset_index(drop=True)
    return rejected


# --- the reader ------------------------------------------------------------------------------


def read_exports(
    settings: ExportInput | Mapping[str, Any],
    *,
    base_dir: str | os.PathLike[str] = ".",
    data_as_of: str | pd.Timestamp | None = None,
) -> Any:
    """Read an agency's export files into validated records that refer to the exports.

    Parameters
    ----------
    settings : ExportInput or mapping
        The ``[input]`` settings (see the module docstring and :class:`ExportInput`); a
        mapping is validated with :meth:`ExportInput.from_dict`.
    base_dir : path, default "."
        Folder that relative file names and globs of a mapping are relative to.
    data_as_of : str or Timestamp, optional
        Overrides ``[input] data_as_of``.

    Returns
    -------
    Records
        As :func:`~iopoutcomes.read_records` returns, except that ``rejected`` names the export
        files with the row numbers the spreadsheet shows, ``read_counts`` count the export's data
        rows (blank and footer lines are not rows), ``file_hashes`` hash the export files, and
        rows the linking rejects (``no_episode_link``, ``ambiguous_episode_link``; see
        :data:`iopoutcomes.schema.EXPORT_REJECTION_REASONS`) are among the rejected rows.

    Notes
    -----
    Order of the steps for each table: header, blank and footer lines; ``episode_key`` (export
    columns joined into ``episode_id``); ``columns``; ``missing_codes`` (every column but
    identifiers and dates); ``codes``; ``date_format``; then, for follow-ups without an
    episode key, linking by ``patient_id`` + ``assessment_date``: the row goes to the client's
    one episode whose window for the row's timepoint covers the date; a row whose date falls in
    the windows of several episodes, or an undated row (an interview not conducted) of a
    client with several episodes, is rejected ``ambiguous_episode_link``; one that fits no
    episode ``no_episode_link``. Use-day rows without an episode key go to the client's episode
    with the latest admission on or before the day (as :func:`~iopoutcomes.read_records` does)
    when the day is within that episode's window (admission to :data:`CALENDAR_WINDOW_DAYS`
    days after discharge); a later day is rejected ``no_episode_link``, a day whose latest
    episodes start on the same day ``ambiguous_episode_link``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d) / "admissions.csv"
    ...     _ = p.write_text("Agency export\\nClient ID,Episode #,Program,Admit Date\\n"
    ...                      "C1,1,IOP,01/02/2024\\nC1,2,IOP,06/01/2024\\nC2,1,IOP,13/01/2024\\n"
    ...                      "3 records\\n")
    ...     recs = read_exports({"episodes": {
    ...         "files": str(p), "header_row": 2, "skip_footer": 1, "date_format": "%m/%d/%Y",
    ...         "episode_key": ["Client ID", "Episode #"],
    ...         "columns": {"Client ID": "patient_id", "Program": "cohort",
    ...                     "Admit Date": "admission_date"}}})
    >>> len(recs.episodes), recs.rejected[["source", "row", "reason"]].to_dict("records")
    (2, [{'source': 'admissions.csv', 'row': 5, 'reason': 'unparseable_date'}])
    """
    from .records import read_records

    if not isinstance(settings, ExportInput):
        settings = ExportInput.from_dict(settings, base_dir=base_dir)
    if "episodes" not in settings.tables:
        raise ConfigError("[input] needs an [input.episodes] table (files = ...).")
    cleaned = {t: _clean(t, spec, settings) for t, spec in settings.tables.items()}
    windows = dict(settings.windows)
    labels = settings.timepoints
    extra_rejected: list[pd.DataFrame] = []
    fu = cleaned.get("followups")
    if fu is not None:
        if "timepoint" in fu.frame:
            # labels the program declared but the windows do not know: default windows
            for tp in pd.unique(fu.frame["timepoint"].dropna().astype(str)):
                if tp not in windows and (labels is None or tp in labels):
                    try:
                        windows[tp] = default_window(tp)
                    except ParameterError:
                        pass
        if "episode_id" not in fu.frame and "patient_id" in fu.frame:
            extra_rejected.append(_link_followups(fu, cleaned["episodes"].frame, windows))
    ud = cleaned.get("use_days")
    if (
        ud is not None
        and "episode_id" not in ud.frame
        and {"patient_id", "date"} <= set(ud.frame.columns)
    ):
        extra_rejected.append(_check_calendar_links(ud, cleaned["episodes"].frame))
    frames = {t: c.frame for t, c in cleaned.items()}
    for t, c in cleaned.items():
        if t != "episodes" and len(c.frame) == 0:
            raise InsufficientDataError(
                f"[input.{t}]: no {t} row is left after linking to episodes "
                f"({len(extra_rejected[0]) if extra_rejected else 0:,} rejected); check "
                "episode_key or the dates."
            )
    service_codes = settings.tables["services"].service_codes if "services" in frames else None
    if isinstance(service_codes, str) and not Path(service_codes).is_absolute():
        service_codes = str(settings.base_dir / service_codes)
    try:
        recs = read_records(
            frames["episodes"],
            frames.get("followups"),
            frames.get("use_days"),
            services=frames.get("services"),
            codes=None if service_codes is None else {"services": {"service_code": service_codes}},
            timepoints=labels,
            data_as_of=data_as_of if data_as_of is not None else settings.data_as_of,
            source_rows={t: c.where for t, c in cleaned.items()},
            source_files={t: c.paths for t, c in cleaned.items()},
        )
    except SchemaError as exc:  # name the export files and the setting, not a DataFrame
        text = str(exc)
        for t, c in cleaned.items():
            names = ", ".join(p.name for p in c.paths)
            text = text.replace(f"The {t} table (DataFrame)", f"[input.{t}] ({names}): the table")
        text = text.replace("read_records(..., columns=", "the columns setting (")
        raise type(exc)(text) from None
    rejected = recs.rejected.copy()
    for t, spec in settings.tables.items():
        if spec.date_format:  # the dates were read in the table's own format, not ISO
            mine = (rejected["table"] == t).to_numpy(bool)
            rejected.loc[mine, "message"] = rejected.loc[mine, "message"].str.replace(
                "(expected %Y-%m-%d)", f"(expected {spec.date_format})", regex=False
            )
    counts = dict(recs.read_counts)
    if extra_rejected:
        more = pd.concat(extra_rejected, ignore_index=True)
        for name, k in more["table"].value_counts().items():
            counts[str(name)] = counts.get(str(name), 0) + int(k)
        order = {t: i for i, t in enumerate(TABLE_NAMES)}
        rejected = pd.concat([rejected, more], ignore_index=True)
        rejected = (
            rejected.assign(_t=rejected["table"].map(order))
            .sort_values(["_t", "source", "row"], kind="stable")
            .drop(columns="_t")
            .reset_index(drop=True)
            .astype({"row": "int64"})
        )
    remarks = list(recs.remarks)
    for t, c in cleaned.items():
        bits = []
        if c.n_blank:
            bits.append(f"{c.n_blank:,} blank line(s)")
        if c.n_footer:
            bits.append(f"{c.n_footer:,} footer line(s)")
        if bits:
            remarks.append(f"{t}: skipped {' and '.join(bits)} (not data rows, not rejected).")
        if c.n_missing_codes:
            remarks.append(
                f"{t}: {c.n_missing_codes:,} cell(s) held a missing-value code "
                f"({', '.join(settings.missing_codes)}) and were read as missing."
            )
    if settings.calendar is not None:
        remarks.append(f"use_days: calendar kind {settings.calendar}.")
    if settings.calendar == "daily" and len(recs.use_days):
        days = recs.use_days[["episode_id", "day"]].dropna()
        span = days.groupby("episode_id", observed=True)["day"].agg(["min", "max", "nunique"])
        covered = float(span["nunique"].sum()) / float((span["max"] - span["min"] + 1).sum())
        if covered < 0.5:
            remarks.append(
                f"use_days: declared a daily calendar, but only {covered:.0%} of the days "
                "between each episode's first and last record have a record; if these are urine "
                "screens on some days, declare [input.use_days] kind = 'screens'."
            )
    return dataclasses.replace(
        recs,
        rejected=rejected,
        read_counts=counts,
        remarks=tuple(remarks),
        provenance="export",
        options={**recs.options, "remarks_in_report": True},
    )


def require_rows(records: Any, tables: Sequence[str] = ("episodes",)) -> None:
    """Refuse records whose tables have no accepted row (the setting to check named).

    Episodes are required; a follow-up or use-day table that was given but of which no row was
    accepted is refused too (its outcomes would silently be missing).

    Raises
    ------
    InsufficientDataError
        A table in ``tables`` was read but none of its rows was accepted.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> require_rows(iop.load_sample())
    """
    for table in tables:
        read = int(dict(records.read_counts).get(table, 0))
        frame = getattr(records, table)
        if read and len(frame) == 0:
            top = records.rejection_counts()
            top = top.loc[top["table"] == table]
            why = (
                f"most for {top['reason'].iloc[0]} ({int(top['count'].iloc[0]):,} rows)"
                if len(top)
                else "none accepted"
            )
            what = "required" if table == "episodes" else "given"
            raise InsufficientDataError(
                f"The {what} {table} table is empty after mapping: {read:,} rows read, 0 "
                f"accepted, {why}. Check [input.{table}] columns, codes, date_format and "
                "episode_key (iopoutcomes check --config shows the counts)."
            )
