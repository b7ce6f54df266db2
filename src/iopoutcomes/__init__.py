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
    "adjusted_comparison": "adjust",
    "AdjustedEstimate": "adjust",
    "balance_table": "adjust",
    "standardized_mean_difference": "adjust",
    "effective_sample_size": "adjust",
    "time_to_relapse": "survival",
    "RelapseAnalysis": "survival",
    "kaplan_meier": "survival",
    "logrank_test": "survival",
    "compare_over_time": "longitudinal",
    "OverTimeComparison": "longitudinal",
    "p_chart": "spc",
    "PChart": "spc",
    "anhoej_rules": "spc",
    "AnhoejResult": "spc",
    "funnel_limits": "spc",
    "funnel_table": "spc",
    "FunnelResult": "spc",
    "Records": "records",
    "read_records": "records",
    "compare_rates": "compare",
    "Comparison": "compare",
    "sample_size": "planning",
    "power": "planning",
    "SampleSize": "planning",
    "weekly_patterns": "patterns",
    "pattern_outcomes": "patterns",
    "pattern_definitions": "patterns",
    "register_pattern_definition": "patterns",
    "PatternDefinition": "patterns",
    "read_ctn0094": "ctn0094",
    "simulate_records": "simulate",
    "simulate_tables": "simulate",
    "load_sample": "simulate",
    "SimulationTruth": "simulate",
    "OutcomeDefinition": "definitions",
    "Window": "definitions",
    "Milestone": "definitions",
    "EpisodeOutcomes": "outcomes",
    "episode_outcomes": "outcomes",
    "RateTable": "rates",
    "FollowupRateTable": "rates",
    "outcome_rates": "rates",
    "abstinence_rates": "rates",
    "followup_rates": "rates",
    "Benchmark": "benchmarks",
    "MCCARTY_2014": "benchmarks",
    "GPRA_FOLLOWUP_TARGET": "benchmarks",
    "completed_datasets": "missing",
    "rubin_pool": "missing",
    "read_teds_d": "teds",
    "teds_outcome_frame": "teds",
    "los_summary": "teds",
    "pool_residential": "teds",
    "LosSummary": "teds",
    "table_one": "baseline",
    "TableOne": "baseline",
    "quarterly_report": "report",
    "QuarterlyReport": "report",
    "ReportConfig": "report",
    "load_config": "report",
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
