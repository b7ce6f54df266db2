"""Small helpers the sections share: numbers to text, and publishing a rate only when every
count behind it is published.

Examples
--------
>>> pct(0.634), in_ten(0.634), in_ten(float("nan"))
('63%', 'about 6 in 10', 'an unknown share of')
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..._sentences import in_ten as in_ten  # the one "about N in 10" wording, shared
from ..model import ReportSection
from ..suppression import TOTAL, Partition

__all__ = [
    "SectionOutput",
    "as_bool",
    "as_float",
    "in_ten",
    "int_col",
    "part_died",
    "pct",
    "rate_cells",
]


@dataclass(frozen=True, eq=False)
class SectionOutput:
    """What a section function returns: its section model (None: left out of the report).

    Sections whose results later sections read (the executive summary, the methods) return a
    subclass with those results as further fields.
    """

    section: ReportSection | None


def as_float(value: Any) -> float:
    """``float(value)``, NaN when it is not a number (``<NA>``, None, text)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return out


def pct(value: float, decimals: int = 0) -> str:
    """A fraction as a percentage (``n/a`` when not finite)."""
    return "n/a" if not math.isfinite(value) else f"{100 * value:.{decimals}f}%"


def as_bool(series: pd.Series) -> np.ndarray:
    """A boolean column as a numpy mask (missing = False)."""
    return np.asarray(series.astype("boolean").fillna(False).to_numpy(dtype=bool))


def rate_cells(
    part: Partition,
    row: Any,
    events: Sequence[str],
    denominator: Sequence[str] | None,
    rate: float,
    low: float,
    high: float,
    min_denominator: int,
) -> tuple[int | None, int | None, float, float, float, str]:
    """Publish a rate only when all counts it rests on are published (and n is large enough)."""
    shown_events = [part.shown(row, c) for c in events]
    ev = None if any(v is None for v in shown_events) else int(sum(shown_events))  # type: ignore[arg-type]
    if denominator is None:
        den = part.shown(row, TOTAL)
    else:
        parts = [part.shown(row, c) for c in denominator]
        den = None if any(v is None for v in parts) else int(sum(parts))  # type: ignore[arg-type]
    nan = float("nan")
    if ev is None or den is None:
        return ev, den, nan, nan, nan, "small cell"
    if den < min_denominator:
        return ev, den, nan, nan, nan, f"denominator < {min_denominator}"
    if den == 0:
        return ev, den, nan, nan, nan, "no cases"
    return ev, den, rate, low, high, ""


def part_died(n: int, k: int) -> int | None:
    """Deaths removed from a denominator: shown unless a small cell (1..k-1)."""
    return None if 0 < n < k else n


def int_col(values: Iterable[int | None]) -> pd.Series:
    """Published counts as a nullable integer column (None = suppressed)."""
    return pd.Series(list(values), dtype="Int64")
