"""Reading input files: CSV, Parquet and Excel into a raw frame, hashed as parsed.

Each file is read once into memory; its SHA-256 (for the report's reproducibility stamp) is
computed from those bytes and the table is parsed from the same bytes, so the hash always
describes the data read, whatever happens to the file afterwards. Whole-file problems
(missing, unreadable, malformed, wrong encoding, no rows) raise one exception of the
library's hierarchy; messages name the file and columns, never cell values.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..exceptions import EmptyFileError, FileReadError, ParameterError

MISSING_TOKENS: tuple[str, ...] = ("", "NA", "N/A", "NULL", "null", "NaN", "nan", "#N/A", "None")
"""Cell texts read as missing in CSV and Excel files (surrounding whitespace is ignored)."""

CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zst")
PARQUET_SUFFIXES = (".parquet", ".pq")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
SUPPORTED_SUFFIXES = (*CSV_SUFFIXES, *PARQUET_SUFFIXES, *EXCEL_SUFFIXES)


@dataclass(frozen=True)
class CellProblem:
    """Data rows of a file whose cell in ``column`` (a source column name) cannot be trusted."""

    reason: str  # a reason code: formula_without_value, merged_cell
    column: str
    rows: np.ndarray  # boolean mask over the data rows


@dataclass
class RawTable:
    """One table as read, before any typing."""

    frame: pd.DataFrame
    source: str  # file name, or "DataFrame"
    sha256: str | None = None  # of the bytes parsed (None for a DataFrame)
    cell_problems: tuple[CellProblem, ...] = ()
    notes: tuple[str, ...] = ()  # file-level remarks (e.g. merged header cells)


def load(
    source: Any,
    table: str,
    text_columns: Sequence[str],
    date_columns: Sequence[str],
    encoding: str,
) -> RawTable:
    """Read ``source`` (a path or a DataFrame) for ``table``.

    ``text_columns`` (ids, labels, vocabularies) are source column names read as text
    whatever they look like: a CSV's ``007`` stays ``"007"``. ``date_columns`` are read as
    text from CSV (parsed strictly later) and as Excel gives them (date cells are dates).
    """
    if isinstance(source, pd.DataFrame):
        return RawTable(source, "DataFrame")
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
    if not lower.endswith(SUPPORTED_SUFFIXES):
        raise FileReadError(
            f"The {table} file {name!r} has an extension read_records does not know. "
            f"Supported: {', '.join(SUPPORTED_SUFFIXES)}; or read it yourself and pass a DataFrame."
        )
    try:
        data = path.read_bytes()
    except PermissionError:
        raise FileReadError(
            f"The {table} file {name!r} cannot be read: permission denied."
        ) from None
    except IsADirectoryError:  # pragma: no cover - checked above
        raise FileReadError(f"The {table} source {name!r} is a folder, not a file.") from None
    except OSError as exc:
        raise FileReadError(
            f"The {table} file {name!r} cannot be read ({type(exc).__name__})."
        ) from None

    digest = hashlib.sha256(data).hexdigest()  # the bytes parsed below, nothing else
    if lower.endswith(CSV_SUFFIXES):
        frame = read_csv(data, name, table, [*text_columns, *date_columns], encoding)
        return RawTable(frame, name, digest)
    if lower.endswith(PARQUET_SUFFIXES):
        return RawTable(read_parquet(data, name, table), name, digest)
    frame = read_excel(data, name, table, text_columns)
    problems, notes = excel_cell_problems(data, name, frame)
    return RawTable(frame, name, digest, problems, notes)


# --- CSV -----------------------------------------------------------------------------------


def read_csv(
    data: bytes, name: str, table: str, text_columns: Sequence[str], encoding: str
) -> pd.DataFrame:
    """Parse CSV bytes with pyarrow's multithreaded reader: ``text_columns`` as text, the other
    columns typed by pyarrow (numbers as numbers)."""
    import pyarrow.csv as pcsv

    if len(data) == 0:
        raise EmptyFileError(f"The {table} file {name!r} is empty (no header, no rows).")
    try:
        # pyarrow decodes "utf8" natively; any other spelling goes through Python codecs
        native = codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        raise ParameterError(
            f"encoding={encoding!r} is not an encoding Python knows (e.g. 'utf-8', 'cp1252')."
        ) from None
    read_options = pcsv.ReadOptions(encoding="utf8" if native else encoding)
    convert = pcsv.ConvertOptions(
        column_types=dict.fromkeys(text_columns, pa.large_string()),
        null_values=list(MISSING_TOKENS),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        timestamp_parsers=[],  # dates are parsed (strictly) when the columns are typed
    )
    stream = pa.input_stream(pa.py_buffer(data), compression=_compression(name))
    try:
        arrow = pcsv.read_csv(stream, read_options=read_options, convert_options=convert)
    except (UnicodeDecodeError, UnicodeError):
        raise _encoding_error(table, name, encoding) from None
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError) as exc:
        raise _csv_error(exc, table, name, encoding) from None
    for column in arrow.schema:
        if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            raise _encoding_error(table, name, encoding)
    if arrow.num_rows == 0:
        raise EmptyFileError(
            f"The {table} file {name!r} has a header but no data rows "
            f"({describe_columns(arrow.column_names)})."
        )
    # pandas' default: text Arrow-backed (no copy) where pandas stores text in Arrow
    return arrow.to_pandas(split_blocks=True)


def _compression(name: str) -> str | None:
    lower = name.lower()
    for suffix, codec in ((".gz", "gzip"), (".bz2", "bz2"), (".zst", "zstd")):
        if lower.endswith(suffix):
            return codec
    return None


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


# --- Parquet -------------------------------------------------------------------------------


def read_parquet(data: bytes, name: str, table: str) -> pd.DataFrame:
    """Parse Parquet bytes (pyarrow's multithreaded reader)."""
    import pyarrow.parquet as pq

    try:
        frame = pq.read_table(pa.BufferReader(data)).to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise FileReadError(
            f"The {table} file {name!r} could not be read as Parquet "
            f"({type(exc).__name__}); check that it is a Parquet file and not truncated."
        ) from None
    if len(frame) == 0:
        raise EmptyFileError(
            f"The {table} file {name!r} has no data rows ({describe_columns(frame.columns)})."
        )
    return frame


# --- Excel ---------------------------------------------------------------------------------


def read_excel(data: bytes, name: str, table: str, text_columns: Sequence[str]) -> pd.DataFrame:
    """Parse the first sheet of an Excel workbook (cached values of formulas)."""
    try:
        frame = pd.read_excel(
            io.BytesIO(data),
            sheet_name=0,
            dtype=dict.fromkeys(text_columns, str),
            na_values=list(MISSING_TOKENS),
            keep_default_na=False,
        )
    except ImportError:
        raise FileReadError(
            f"Reading the {table} file {name!r} needs an Excel engine that is not "
            "installed (old .xls files need xlrd). Save it as .xlsx or CSV."
        ) from None
    except Exception as exc:  # openpyxl/zipfile raise many types for broken workbooks
        raise FileReadError(
            f"The {table} file {name!r} could not be read as an Excel workbook "
            f"({type(exc).__name__}); check that it is a valid .xlsx file."
        ) from None
    if len(frame) == 0:
        raise EmptyFileError(
            f"The {table} file {name!r} has no data rows in its first sheet "
            f"({describe_columns(frame.columns)})."
        )
    return frame


def excel_cell_problems(
    data: bytes, name: str, frame: pd.DataFrame
) -> tuple[tuple[CellProblem, ...], tuple[str, ...]]:
    """Cells of the first sheet that pandas reads as empty although they are not.

    A formula whose result was never saved (a workbook written by a program, not by Excel)
    and the cells a merged region covers besides its first one both arrive empty. Each such
    data row is reported in the column concerned (``formula_without_value``,
    ``merged_cell``); formulas or merged regions in the header row become notes. Only
    ``.xlsx``/``.xlsm`` workbooks are inspected.
    """
    if not name.lower().endswith((".xlsx", ".xlsm")) or not _has_formulas_or_merges(data):
        return (), ()
    import openpyxl

    formulas_book = openpyxl.load_workbook(io.BytesIO(data), data_only=False, read_only=False)
    values_book = openpyxl.load_workbook(io.BytesIO(data), data_only=True, read_only=True)
    sheet = formulas_book.worksheets[0]
    values = values_book.worksheets[0]
    header_row, first_col = sheet.min_row, sheet.min_column
    n = len(frame)
    columns = [str(c) for c in frame.columns]
    masks: dict[tuple[str, str], np.ndarray] = {}
    notes: list[str] = []

    def mark(reason: str, row: int, col: int) -> None:
        k, j = row - header_row - 1, col - first_col
        if row == header_row:
            what = "a formula" if reason == "formula_without_value" else "merged cells"
            note = f"{name}: the header row has {what}; check the column names."
            if note not in notes:
                notes.append(note)
            return
        if 0 <= k < n and 0 <= j < len(columns):
            mask = masks.setdefault((reason, columns[j]), np.zeros(n, dtype=bool))
            mask[k] = True

    # formulas: one pass over the formula cells, then their saved values
    formula_cells = [
        (cell.row, cell.column)
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]
    if formula_cells:
        saved = {
            (cell.row, cell.column): cell.value
            for row in values.iter_rows()
            for cell in row
            if hasattr(cell, "column")
        }
        for where in formula_cells:
            if saved.get(where) is None:
                mark("formula_without_value", *where)
    for region in sheet.merged_cells.ranges:
        for row in range(region.min_row, region.max_row + 1):
            for col in range(region.min_col, region.max_col + 1):
                if (row, col) != (region.min_row, region.min_col):
                    mark("merged_cell", row, col)
    values_book.close()
    problems = tuple(
        CellProblem(reason, column, mask) for (reason, column), mask in sorted(masks.items())
    )
    return problems, tuple(notes)


def _has_formulas_or_merges(data: bytes) -> bool:
    """Whether any worksheet of the workbook has a formula (``<f>``) or a merged region."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            for item in book.namelist():
                if item.startswith("xl/worksheets/") and item.endswith(".xml"):
                    xml = book.read(item)
                    if b"<f>" in xml or b"<f " in xml or b"<mergeCell" in xml:
                        return True
    except zipfile.BadZipFile:  # pragma: no cover - pandas read it, so it is a zip
        return False
    return False


# --- column names ----------------------------------------------------------------------------

_DATA_LIKE = re.compile(
    r"""\s*(
        [+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?      # a number
      | \d{1,4}[-/.]\d{1,2}([-/.]\d{1,4})?([ T].*)?     # a date (or date-time)
      | [+-]?(inf|infinity|nan)                          # a special float
    )\s*""",
    re.IGNORECASE | re.VERBOSE,
)


def header_looks_like_data(names: Sequence[Any]) -> bool:
    """Whether a file's column names look like a first data row (a file without a header).

    Column names that are numbers or dates are the telltale: a header never has them, a
    header-less export's first record almost always does (dates, counts, flags).
    """
    return any(_DATA_LIKE.fullmatch(str(name)) for name in names)


def describe_columns(names: Sequence[Any] | pd.Index) -> str:
    """``Found: [...]`` for a header; for a row that looks like data, a note without values."""
    found = [str(c) for c in names]
    if header_looks_like_data(found):
        return (
            f"the first row looks like data, not a header ({len(found)} columns; its values "
            "are not shown): export the file with its header row"
        )
    return f"Found: {found}"
