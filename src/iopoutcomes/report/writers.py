"""Writers for the quarterly report: HTML, PDF, XLSX, CSV and JSON.

Guarantees, tested in ``tests/test_report.py``:

* **Atomic**: each file is written to a temporary file in the destination folder and renamed
  into place, so an interrupted run never leaves a half-written report.
* **Reproducible**: the same report gives byte-identical HTML, XLSX, CSV and JSON. Figures are
  SVG with a fixed hash salt and no date; the XLSX has fixed document times (from
  ``SOURCE_DATE_EPOCH`` when set), no author names, and fixed zip entry times.
* **Safe**: HTML is one self-contained file (inline CSS and SVG, no scripts, no remote assets)
  rendered by Jinja2 with autoescaping; XLSX and CSV text cells starting with ``= + - @``, tab
  or CR are neutralised; XLSX cells are typed (numbers as numbers, text as text).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._epoch import source_date
from ..exceptions import FileReadError
from ..privacy import neutralise_cell, neutralise_frame
from .labels import column_label, display_columns, format_cell
from .model import ReportSection, ReportTable

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "FORMATS",
    "figure_to_svg",
    "render_html",
    "source_date",
    "write_atomic",
    "write_csv_tables",
    "write_json",
    "write_pdf",
    "write_xlsx",
]

FORMATS: tuple[str, ...] = ("html", "pdf", "xlsx", "csv", "json")
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def figure_to_svg(figure: Figure) -> str:
    """Render a matplotlib figure to deterministic SVG text and close it."""
    import matplotlib
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "iopoutcomes", "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(figure)
    text = buffer.getvalue()
    # drop the XML prolog and DOCTYPE: the SVG is embedded inline in HTML
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


# --- HTML --------------------------------------------------------------------------------------


def _table_rows(table: ReportTable) -> list[list[str]]:
    """Formatted cells of the displayed columns (one format per quantity; labels.py)."""
    frame = table.frame
    columns = display_columns(table.key, frame.columns)
    records: list[dict[str, Any]] = [
        {str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")
    ]
    return [[format_cell(row[c], c, table.key, row) for c in columns] for row in records]


def _table_header(table: ReportTable) -> list[str]:
    return [column_label(c, table.key) for c in display_columns(table.key, table.frame.columns)]


WIDE_TABLE = 9
"""Tables with more displayed columns than this are printed on landscape pages."""


def _table_class(table: ReportTable) -> str:
    n = len(display_columns(table.key, table.frame.columns))
    return "table-block wide" if n > WIDE_TABLE else "table-block"


def render_html(
    *,
    title: str,
    subtitle: str,
    stamp: Mapping[str, Any],
    sections: Sequence[ReportSection],
) -> str:
    """Render the self-contained HTML report (Jinja2 with autoescaping)."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = environment.get_template("report.html.j2")
    css = resources.files("iopoutcomes.report").joinpath("templates/report.css").read_text("utf-8")
    return template.render(
        title=title,
        subtitle=subtitle,
        stamp=stamp,
        sections=sections,
        css=css,
        table_rows=_table_rows,
        table_header=_table_header,
        table_class=_table_class,
        enumerate=enumerate,
    )


def _load_template(name: str) -> str:
    return resources.files("iopoutcomes.report").joinpath(f"templates/{name}").read_text("utf-8")


def write_pdf(html: str, path: Path) -> Path | None:
    """Render the HTML report to PDF with WeasyPrint (the ``pdf`` extra); None if absent."""
    try:
        import weasyprint
    except ImportError:
        return None
    data = weasyprint.HTML(string=html).write_pdf()
    return write_atomic(path, data)


# --- tabular outputs ---------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON/XLSX-ready scalar: NA -> None, numpy scalars -> Python, timestamps -> ISO text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp | dt.date):
        return value.isoformat()
    return str(value)


def write_csv_tables(tables: Iterable[ReportTable], folder: Path) -> list[Path]:
    """One CSV per table (``\\n`` line ends, UTF-8, text cells neutralised)."""
    written = []
    for table in tables:
        frame = neutralise_frame(table.frame)
        text = frame.to_csv(index=False, lineterminator="\n")
        written.append(write_atomic(folder / f"{table.key}.csv", text.encode("utf-8")))
    return written


def write_json(
    path: Path,
    *,
    stamp: Mapping[str, Any],
    sections: Sequence[ReportSection],
    tables: Iterable[ReportTable],
) -> Path:
    """Every table, every section's text and the stamp in one JSON document."""
    document = {
        "stamp": {k: _plain(v) if not isinstance(v, dict | list) else v for k, v in stamp.items()},
        "sections": [s.as_json() for s in sections],
        "tables": {
            t.key: {
                "title": t.title,
                "footnote": t.footnote,
                "columns": [str(c) for c in t.frame.columns],
                "rows": [[_plain(v) for v in row] for row in t.frame.itertuples(index=False)],
            }
            for t in tables
        },
    }
    text = json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False, default=str)
    return write_atomic(path, (text + "\n").encode("utf-8"))


def _sheet_names(tables: Sequence[ReportTable]) -> list[str]:
    names: list[str] = []
    reserved = ["notes", "stamp"]
    for table in tables:
        base = "".join(ch for ch in table.key if ch not in "[]:*?/\\")[:28] or "table"
        name, i = base, 2
        while name.lower() in (n.lower() for n in [*reserved, *names]):
            name, i = f"{base[:26]}_{i}", i + 1
        names.append(name)
    return names


def write_xlsx(
    path: Path,
    *,
    stamp: Mapping[str, Any],
    tables: Sequence[ReportTable],
    when: dt.datetime | None,
) -> Path:
    """An Excel workbook whose data sheets are pivot-ready.

    A ``notes`` sheet (one row per data sheet: sheet name, title, notes), then one sheet per
    table with a single header row in row 1 (human labels; differences in percentage points),
    typed cells with number formats (rates as %), a frozen header and a filter, and last one
    ``stamp`` sheet (the reproducibility stamp, item / value).
    """
    try:
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font
        from openpyxl.utils import get_column_letter
    except ImportError as exc:  # pragma: no cover - openpyxl is a core dependency
        raise FileReadError("Writing .xlsx needs openpyxl (pip install openpyxl).") from exc

    from .labels import excel_format, excel_label, excel_value

    workbook = Workbook()
    fixed = when or dt.datetime(2000, 1, 1)
    workbook.properties.creator = ""
    workbook.properties.lastModifiedBy = ""
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    data = [t for t in tables if t.key != "stamp"]
    names = _sheet_names(data)
    notes = workbook.active
    assert notes is not None  # a new Workbook always has one sheet
    notes.title = "notes"
    notes.append(["Sheet", "Title", "Notes"])
    for table, name in zip(data, names, strict=True):
        notes.append([name, _text_cell(table.title), _text_cell(table.footnote)])
    for cell in notes[1]:
        cell.font = bold
    for column, width in (("A", 22), ("B", 60), ("C", 100)):
        notes.column_dimensions[column].width = width
    for row in notes.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = wrap
    for table, name in zip(data, names, strict=True):
        ws = workbook.create_sheet(name)
        frame = table.frame
        columns = [str(c) for c in frame.columns]
        ws.append([_text_cell(excel_label(c, table.key)) for c in columns])
        for cell in ws[1]:
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="bottom")
        levels = frame["level"].astype(str).tolist() if "level" in frame else [""] * len(frame)
        formats = [
            (excel_format(c, table.key), excel_format(c, table.key, level_mean=True))
            for c in columns
        ]
        for i, row in enumerate(frame.itertuples(index=False, name=None)):
            ws.append(
                [
                    _text_cell(_plain(excel_value(v, c, table.key)))
                    for v, c in zip(row, columns, strict=True)
                ]
            )
            mean = levels[i] == "mean"
            for j, (plain, for_mean) in enumerate(formats):
                number_format = for_mean if mean else plain
                if number_format is not None:
                    ws.cell(row=i + 2, column=j + 1).number_format = number_format
        for j, c in enumerate(columns):
            ws.column_dimensions[get_column_letter(j + 1)].width = max(
                10, min(36, len(excel_label(c, table.key)) + 2)
            )
        ws.freeze_panes = "A2"
        if len(frame):
            ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(frame) + 1}"
    sheet = workbook.create_sheet("stamp")
    sheet.append(["Item", "Value"])
    for cell in sheet[1]:
        cell.font = bold
    for key, value in stamp.items():
        rendered = value if not isinstance(value, dict | list) else json.dumps(value, default=str)
        sheet.append([str(key), _text_cell(_plain(rendered))])
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 80
    buffer = io.BytesIO()
    workbook.save(buffer)
    return write_atomic(path, _normalise_zip(buffer.getvalue(), fixed))


def _text_cell(value: Any) -> Any:
    # openpyxl would turn a string starting with "=" into a formula: neutralise text first
    return neutralise_cell(value) if isinstance(value, str) else value


def _normalise_zip(data: bytes, when: dt.datetime | None = None) -> bytes:
    """Rewrite a zip (xlsx) with fixed entry times so equal content gives equal bytes.

    openpyxl stamps ``docProps/core.xml`` with the wall-clock time on save; those timestamps
    are replaced by ``when`` (``SOURCE_DATE_EPOCH``) or a fixed date.
    """
    import re

    stamp = (when or dt.datetime(2000, 1, 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>" + stamp.encode() + rb"\g<2>",
                    content,
                )
            target.writestr(fixed, content)
    return out.getvalue()
