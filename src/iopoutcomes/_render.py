"""Shared text and HTML rendering of result objects (escaped, never rounded in the data).

Every result class of the library mixes in :class:`ResultDisplay` and supplies three things:
``_header()`` (the first repr line: what it is and on how much data), ``to_frame()`` (the tidy
table) and, optionally, ``definition_text()`` and ``remarks``. The mixin turns them into a text
``__repr__`` and a notebook ``_repr_html_`` with the definition and numbered remarks under the
table, so every result looks and reads the same.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = [
    "ExportMixin",
    "ResultDisplay",
    "escape",
    "format_value",
    "frame_to_html",
    "frame_to_text",
    "latex_escape",
    "table_to_docx",
    "table_to_latex",
    "table_to_styled_html",
]


def escape(text: object) -> str:
    """HTML-escape any value's string form (quotes included).

    >>> escape("<script>")
    '&lt;script&gt;'
    """
    return html.escape(str(text), quote=True)


def format_value(value: Any, decimals: int = 3) -> str:
    """Format one cell for display: floats rounded to ``decimals``, missing shown as an em dash.

    >>> format_value(0.123456), format_value(None), format_value(12)
    ('0.123', '—', '12')
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        return f"{value:.{decimals}f}"
    return str(value)


def frame_to_text(frame: pd.DataFrame, decimals: int = 3, max_rows: int = 30) -> str:
    """Plain-text table for ``__repr__`` (rounded for display only)."""
    shown = frame.head(max_rows)
    text = shown.to_string(
        index=False, float_format=lambda v: format_value(float(v), decimals), na_rep="—"
    )
    if len(frame) > max_rows:
        text += f"\n... {len(frame) - max_rows} more rows"
    return text


def frame_to_html(frame: pd.DataFrame, decimals: int = 3, max_rows: int = 60) -> str:
    """Escaped HTML table (every header and cell escaped; floats rounded for display only)."""
    shown = frame.head(max_rows)
    head = "".join(f"<th>{escape(c)}</th>" for c in shown.columns)
    body_rows = []
    for row in shown.itertuples(index=False, name=None):
        cells = "".join(f"<td>{escape(format_value(v, decimals))}</td>" for v in row)
        body_rows.append(f"<tr>{cells}</tr>")
    more = ""
    if len(frame) > max_rows:
        more = f"<p><em>{len(frame) - max_rows} more rows; use to_frame().</em></p>"
    return (
        '<table class="iopoutcomes-table" border="1">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body_rows)}</tbody></table>{more}"
    )


# --- manuscript writers: Word, LaTeX and a styled HTML table (issue 22) -------------------------

_HTML_STYLE = (
    "<style>"
    ".iop-pub{border-collapse:collapse;font-family:Helvetica,Arial,sans-serif;font-size:10pt}"
    ".iop-pub caption{caption-side:top;text-align:left;font-weight:bold;padding-bottom:4px}"
    ".iop-pub thead th{border-top:2px solid #000;border-bottom:1px solid #000;"
    "padding:3px 8px;text-align:left}"
    ".iop-pub td{padding:2px 8px;vertical-align:top}"
    ".iop-pub tbody tr:last-child td{border-bottom:2px solid #000}"
    ".iop-pub td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".iop-pub-notes{font-family:Helvetica,Arial,sans-serif;font-size:9pt;margin-top:4px}"
    "</style>"
)

_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def latex_escape(text: object) -> str:
    r"""Escape LaTeX special characters.

    >>> latex_escape("50% of a_b & c")
    '50\\% of a\\_b \\& c'
    """
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in str(text))


def _cells(frame: pd.DataFrame, decimals: int) -> list[list[str]]:
    return [[format_value(v, decimals) for v in row] for row in frame.itertuples(index=False)]


def _is_number(text: str) -> bool:
    try:
        float(text.replace("−", "-"))
    except ValueError:
        return False
    return True


def table_to_latex(
    frame: pd.DataFrame,
    *,
    caption: str | None = None,
    label: str | None = None,
    notes: Sequence[str] = (),
    decimals: int = 3,
) -> str:
    """A booktabs ``table`` environment (every cell escaped; floats rounded for display)."""
    cols = [latex_escape(c) for c in frame.columns]
    rows = _cells(frame, decimals)
    align = "".join(
        "r" if rows and all(_is_number(r[j]) or r[j] in ("—", "") for r in rows) else "l"
        for j in range(len(cols))
    )
    lines = ["\\begin{table}[ht]", "\\centering"]
    if caption:
        lines.append(f"\\caption{{{latex_escape(caption)}}}")
    if label:
        lines.append(f"\\label{{{label}}}")
    lines += [
        f"\\begin{{tabular}}{{{align}}}",
        "\\toprule",
        " & ".join(cols) + " \\\\",
        "\\midrule",
    ]
    lines += [" & ".join(latex_escape(c).replace("—", "---") for c in r) + " \\\\" for r in rows]
    lines += ["\\bottomrule", "\\end{tabular}"]
    if notes:
        lines.append("\\par\\smallskip{\\footnotesize")
        lines += [f"[{i}] {latex_escape(n)}\\par" for i, n in enumerate(notes, start=1)]
        lines.append("}")
    lines.append("\\end{table}")
    return "\n".join(lines) + "\n"


def table_to_styled_html(
    frame: pd.DataFrame,
    *,
    caption: str | None = None,
    notes: Sequence[str] = (),
    decimals: int = 3,
) -> str:
    """A self-contained journal-style HTML table (rules above and below the header and at the
    end, numbers right-aligned), every cell escaped."""
    rows = _cells(frame, decimals)
    head = "".join(f"<th>{escape(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{escape(c)}</td>' if _is_number(c) else f"<td>{escape(c)}</td>"
            for c in r
        )
        + "</tr>"
        for r in rows
    )
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    foot = ""
    if notes:
        items = "".join(f"<li>{escape(n)}</li>" for n in notes)
        foot = f'<ol class="iop-pub-notes">{items}</ol>'
    return (
        f'{_HTML_STYLE}<table class="iop-pub">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>{foot}"
    )


def table_to_docx(
    frame: pd.DataFrame,
    path: Any,
    *,
    caption: str | None = None,
    notes: Sequence[str] = (),
    decimals: int = 3,
) -> Any:
    """Write a Word document with the table (and the notes under it); needs python-docx
    (``pip install iopoutcomes[docx]``). Returns the path."""
    from pathlib import Path

    try:
        import docx
        from docx.shared import Pt
    except ImportError as exc:  # pragma: no cover - exercised without the extra
        from .exceptions import ParameterError

        raise ParameterError("to_docx needs python-docx: pip install 'iopoutcomes[docx]'.") from exc
    document = docx.Document()
    if caption:
        document.add_paragraph(caption).runs[0].bold = True
    rows = _cells(frame, decimals)
    table = document.add_table(rows=len(rows) + 1, cols=len(frame.columns))
    table.style = "Table Grid"
    for j, name in enumerate(frame.columns):
        cell = table.cell(0, j)
        cell.text = str(name)
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for i, r in enumerate(rows, start=1):
        for j, value in enumerate(r):
            table.cell(i, j).text = value
    for row in table.rows:
        for cell in row.cells:
            for para in cell.paragraphs:
                for run in para.runs:
                    run.font.size = Pt(9)
    for i, note in enumerate(notes, start=1):
        para = document.add_paragraph(f"[{i}] {note}")
        for run in para.runs:
            run.font.size = Pt(8)
    out = Path(path)
    document.save(str(out))
    return out


class ExportMixin:
    """``to_docx``, ``to_latex`` and ``to_html`` for results: the table of
    ``_export_frame()`` (default ``to_frame()``) with the header as caption and the definition
    and remarks as notes."""

    def _export_frame(self) -> pd.DataFrame:
        return self.to_frame()  # type: ignore[attr-defined]

    def _export_notes(self) -> list[str]:
        notes = []
        definition = getattr(self, "definition_text", lambda: None)()
        if definition:
            notes.append(str(definition))
        notes += [str(r) for r in (getattr(self, "remarks", ()) or ())]
        return notes

    def _export_caption(self) -> str:
        return str(getattr(self, "_header", lambda: type(self).__name__)()).strip("<>")

    def to_docx(self, path: Any, *, caption: str | None = None, decimals: int = 3) -> Any:
        """Write the table to a Word ``.docx`` file (python-docx, extra ``docx``), with the
        definition and remarks as numbered notes under it. Returns the path."""
        return table_to_docx(
            self._export_frame(),
            path,
            caption=caption or self._export_caption(),
            notes=self._export_notes(),
            decimals=decimals,
        )

    def to_latex(
        self, *, caption: str | None = None, label: str | None = None, decimals: int = 3
    ) -> str:
        """The table as a LaTeX ``table`` (booktabs rules; needs ``\\usepackage{booktabs}``)."""
        return table_to_latex(
            self._export_frame(),
            caption=caption or self._export_caption(),
            label=label,
            notes=self._export_notes(),
            decimals=decimals,
        )

    def to_html(self, *, caption: str | None = None, decimals: int = 3) -> str:
        """A self-contained, journal-styled HTML table with the notes under it."""
        return table_to_styled_html(
            self._export_frame(),
            caption=caption or self._export_caption(),
            notes=self._export_notes(),
            decimals=decimals,
        )


class ResultDisplay(ExportMixin):
    """Mixin giving result objects a uniform ``__repr__`` and ``_repr_html_`` (and, through
    :class:`ExportMixin`, ``to_docx`` / ``to_latex`` / ``to_html``).

    Subclasses implement ``_header()`` and ``to_frame()``; they may override
    ``definition_text()`` and provide a ``remarks`` attribute (a sequence of strings).
    """

    def _header(self) -> str:  # pragma: no cover - every subclass overrides
        return f"<{type(self).__name__}>"

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def definition_text(self) -> str | None:
        """One paragraph describing the definition and methods behind the result, if any."""
        return None

    def _remarks(self) -> Sequence[str]:
        return tuple(getattr(self, "remarks", ()) or ())

    def __repr__(self) -> str:
        parts = [self._header(), frame_to_text(self.to_frame())]
        definition = self.definition_text()
        if definition:
            parts.append(definition)
        remarks = self._remarks()
        if remarks:
            parts.append("\n".join(f"[{i}] {r}" for i, r in enumerate(remarks, start=1)))
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        parts = [
            f"<p><strong>{escape(self._header())}</strong></p>",
            frame_to_html(self.to_frame()),
        ]
        definition = self.definition_text()
        if definition:
            parts.append(f'<p class="iopoutcomes-definition">{escape(definition)}</p>')
        remarks = self._remarks()
        if remarks:
            items = "".join(f"<li>{escape(r)}</li>" for r in remarks)
            parts.append(f'<ol class="iopoutcomes-remarks">{items}</ol>')
        return f'<div class="iopoutcomes-result">{"".join(parts)}</div>'
