"""The report as data: sections of paragraphs, KPI tiles, tables and figures.

Everything a writer renders is already final here: numbers are suppressed before they enter a
:class:`ReportTable`, and figures are drawn from suppressed numbers. Writers only format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Kpi", "ReportFigure", "ReportSection", "ReportTable"]


@dataclass(frozen=True, eq=False)
class ReportTable:
    """One published table (already suppressed), with its definition footnote."""

    key: str
    title: str
    frame: pd.DataFrame
    footnote: str = ""

    @property
    def n_suppressed(self) -> int:
        """Cells hidden by small-cell rules (counted from the ``suppressed`` flag if present)."""
        if "suppressed" in self.frame:
            return int(self.frame["suppressed"].fillna(False).astype(bool).sum())
        return 0


@dataclass(frozen=True)
class ReportFigure:
    """A figure rendered to deterministic SVG text, with alternative text."""

    key: str
    title: str
    svg: str
    alt: str


@dataclass(frozen=True)
class Kpi:
    """An executive-summary tile: a value with its interval, n, target and trend signal."""

    label: str
    value: str
    detail: str = ""
    target: str = ""
    signal: str = ""


@dataclass(frozen=True, eq=False)
class ReportSection:
    """A numbered report section."""

    key: str
    title: str
    paragraphs: tuple[str, ...] = ()
    kpis: tuple[Kpi, ...] = ()
    tables: tuple[ReportTable, ...] = ()
    figures: tuple[ReportFigure, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_json(self) -> dict[str, Any]:
        """Plain-data form (text and table keys) for ``report.json``."""
        return {
            "key": self.key,
            "title": self.title,
            "paragraphs": list(self.paragraphs),
            "kpis": [k.__dict__ for k in self.kpis],
            "tables": [t.key for t in self.tables],
            "figures": [f.key for f in self.figures],
            "notes": list(self.notes),
        }
