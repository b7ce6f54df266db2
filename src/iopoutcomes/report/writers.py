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


def _cell(value: Any, column: str) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        name = column.lower()
        if name in {"rate", "ci_low", "ci_high", "rate_ref", "target"} or name.endswith("_rate"):
            return f"{100 * float(value):.1f}%"
        if name.startswith(("diff", "equivalence_ci", "adjusted_diff")):
            return f"{100 * float(value):+.1f} pts"
        if "pvalue" in name:
            return "<0.001" if value < 0.001 else f"{float(value):.3f}"
        return f"{float(value):.2f}"
    return str(value)


def _table_rows(table: ReportTable) -> list[list[str]]:
    frame = table.frame
    return [
        [_cell(v, str(c)) for v, c in zip(row, frame.columns, strict=True)]
        for row in frame.itertuples(index=False, name=None)
    ]


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
    for table in tables:
        base = "".join(ch for ch in table.key if ch not in "[]:*?/\\")[:28] or "table"
        name, i = base, 2
        while name.lower() in (n.lower() for n in names):
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
    """An Excel workbook: a ``stamp`` sheet, then one typed sheet per table."""
    try:
        from openpyxl import Workbook
        from openpyxl.styles import Font
    except ImportError as exc:  # pragma: no cover - openpyxl is a core dependency
        raise FileReadError("Writing .xlsx needs openpyxl (pip install openpyxl).") from exc

    workbook = Workbook()
    fixed = when or dt.datetime(2000, 1, 1)
    workbook.properties.creator = ""
    workbook.properties.lastModifiedBy = ""
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    sheet = workbook.active
    assert sheet is not None  # a new Workbook always has one sheet
    sheet.title = "stamp"
    bold = Font(bold=True)
    for key, value in stamp.items():
        rendered = value if not isinstance(value, dict | list) else json.dumps(value, default=str)
        sheet.append([str(key), _text_cell(_plain(rendered))])
    for table, name in zip(tables, _sheet_names(tables), strict=True):
        ws = workbook.create_sheet(name)
        ws.append([_text_cell(table.title)])
        ws["A1"].font = bold
        ws.append([_text_cell(str(c)) for c in table.frame.columns])
        for row in table.frame.itertuples(index=False, name=None):
            ws.append([_text_cell(_plain(v)) for v in row])
        if table.footnote:
            ws.append([])
            ws.append([_text_cell(table.footnote)])
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
