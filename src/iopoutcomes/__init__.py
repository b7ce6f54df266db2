"""iopoutcomes: treatment-outcomes analytics for intensive outpatient (IOP) and inpatient programs.

Records flow one way: ``read_records`` -> ``episode_outcomes`` (one row per episode) ->
``outcome_rates`` / ``compare_rates`` / ``time_to_relapse`` -> plots and the quarterly report.

The public names below are imported lazily so that ``import iopoutcomes`` stays fast and never
imports matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

from .exceptions import (
    ConfigError,
    DefinitionWarning,
    EmptyFileError,
    FileReadError,
    InsufficientDataError,
    IopOutcomesError,
    IopOutcomesWarning,
    MissingColumnError,
    ParameterError,
    RowValidationError,
    SchemaError,
    SmallSampleWarning,
    SuppressionAuditError,
)

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "Records": "records",
    "read_records": "records",
}

__all__ = [
    "ConfigError",
    "DefinitionWarning",
    "EmptyFileError",
    "FileReadError",
    "InsufficientDataError",
    "IopOutcomesError",
    "IopOutcomesWarning",
    "MissingColumnError",
    "ParameterError",
    "RowValidationError",
    "SchemaError",
    "SmallSampleWarning",
    "SuppressionAuditError",
    "__version__",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'iopoutcomes' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
