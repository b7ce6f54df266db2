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

__all__ = ["ResultDisplay", "escape", "format_value", "frame_to_html", "frame_to_text"]


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


class ResultDisplay:
    """Mixin giving result objects a uniform ``__repr__`` and ``_repr_html_``.

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
