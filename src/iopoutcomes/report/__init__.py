"""The quarterly outcome report: configuration, computation, privacy and writers.

``quarterly_report(records, quarter, config)`` computes a :class:`QuarterlyReport` (every number
suppressed once, before rendering); ``QuarterlyReport.write(out_dir)`` writes HTML, PDF, XLSX, CSV
and JSON. Names are imported lazily so that the command line stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["QuarterlyReport", "ReportConfig", "ReportFiles", "load_config", "quarterly_report"]

_LAZY = {
    "QuarterlyReport": "build",
    "ReportFiles": "build",
    "quarterly_report": "build",
    "ReportConfig": "config",
    "load_config": "config",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'iopoutcomes.report' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
