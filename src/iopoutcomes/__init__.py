"""iopoutcomes: treatment-outcomes analytics for intensive outpatient (IOP) and inpatient programs.

Records flow one way: ``read_records`` -> ``episode_outcomes`` (one row per episode) ->
``outcome_rates`` / ``compare_rates`` / ``time_to_relapse`` -> plots and the quarterly report.

The public names below are imported lazily so that ``import iopoutcomes`` stays fast and never
imports matplotlib.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:  # static names for type checkers and IDEs; imported lazily at run time
    from .adjust import (
        AdjustedEstimate,
        adjusted_comparison,
        balance_table,
        effective_sample_size,
        standardized_mean_difference,
    )
    from .baseline import TableOne, table_one
    from .benchmarks import GPRA_FOLLOWUP_TARGET, MCCARTY_2014, Benchmark
    from .cascade import cascade_counts
    from .cea import CostEffectiveness, cost_effectiveness
    from .compare import Comparison, compare_rates
    from .competing import (
        CompetingRiskModel,
        CumulativeIncidence,
        cause_specific_cox,
        cumulative_incidence,
        fine_gray,
    )
    from .continuity import (
        ContinuityDefinition,
        ContinuityResult,
        EngagementDefinition,
        EngagementResult,
        continuity_of_care,
        initiation_engagement,
    )
    from .costs import EpisodeCosts, episode_costs, inflate
    from .ctn0094 import read_ctn0094
    from .definitions import Milestone, OutcomeDefinition, Window
    from .exports import ExportInput, read_exports
    from .instruments import (
        INSTRUMENT_MILESTONES,
        DepressionOutcomes,
        InstrumentScores,
        ReliableChange,
        bam,
        barc10,
        depression_response_remission,
        gad7,
        phq9,
        reliable_change,
        score_followups,
        score_instrument,
    )
    from .longitudinal import OverTimeComparison, compare_over_time
    from .manuscript import MethodsReport, methods_report
    from .missing import completed_datasets, rubin_pool
    from .outcomes import EpisodeOutcomes, episode_outcomes
    from .patterns import (
        PatternDefinition,
        pattern_definitions,
        pattern_outcomes,
        register_pattern_definition,
        weekly_patterns,
    )
    from .planning import SampleSize, power, sample_size
    from .rates import FollowupRateTable, RateTable, abstinence_rates, followup_rates, outcome_rates
    from .records import Records, read_records
    from .report import QuarterlyReport, ReportConfig, load_config, quarterly_report
    from .robustness import EValue, SubgroupAnalysis, e_value, subgroup_analysis
    from .sensitivity import TippingPoint, tipping_point
    from .simulate import SimulationTruth, load_sample, simulate_records, simulate_tables
    from .spc import (
        AnhoejResult,
        FunnelResult,
        PChart,
        anhoej_rules,
        funnel_limits,
        funnel_table,
        p_chart,
    )
    from .survival import (
        PHTest,
        RelapseAnalysis,
        RMSTResult,
        kaplan_meier,
        logrank_test,
        time_to_relapse,
    )
    from .teds import LosSummary, los_summary, pool_residential, read_teds_d, teds_outcome_frame


# public name -> module that defines it, in the order data flows through the library
_LAZY: dict[str, str] = {
    # records and synthetic data
    "Records": "records",
    "read_records": "records",
    "simulate_records": "simulate",
    "simulate_tables": "simulate",
    "load_sample": "simulate",
    "SimulationTruth": "simulate",
    "read_ctn0094": "ctn0094",
    "read_teds_d": "teds",
    "teds_outcome_frame": "teds",
    "los_summary": "teds",
    "pool_residential": "teds",
    "LosSummary": "teds",
    # outcome definitions and the episode table
    "OutcomeDefinition": "definitions",
    "Window": "definitions",
    "Milestone": "definitions",
    "episode_outcomes": "outcomes",
    "EpisodeOutcomes": "outcomes",
    "weekly_patterns": "patterns",
    "pattern_outcomes": "patterns",
    "pattern_definitions": "patterns",
    "register_pattern_definition": "patterns",
    "PatternDefinition": "patterns",
    "completed_datasets": "missing",
    "rubin_pool": "missing",
    # standard instruments and reliable change
    "phq9": "instruments",
    "gad7": "instruments",
    "bam": "instruments",
    "barc10": "instruments",
    "score_instrument": "instruments",
    "score_followups": "instruments",
    "INSTRUMENT_MILESTONES": "instruments",
    "InstrumentScores": "instruments",
    "reliable_change": "instruments",
    "depression_response_remission": "instruments",
    "DepressionOutcomes": "instruments",
    "ReliableChange": "instruments",
    # rates, benchmarks, comparisons
    "outcome_rates": "rates",
    "abstinence_rates": "rates",
    "followup_rates": "rates",
    "RateTable": "rates",
    "FollowupRateTable": "rates",
    "Benchmark": "benchmarks",
    "MCCARTY_2014": "benchmarks",
    "GPRA_FOLLOWUP_TARGET": "benchmarks",
    "compare_rates": "compare",
    "Comparison": "compare",
    "episode_costs": "costs",
    "EpisodeCosts": "costs",
    "inflate": "costs",
    "cost_effectiveness": "cea",
    "CostEffectiveness": "cea",
    "sample_size": "planning",
    "power": "planning",
    "SampleSize": "planning",
    "adjusted_comparison": "adjust",
    "AdjustedEstimate": "adjust",
    "balance_table": "adjust",
    "standardized_mean_difference": "adjust",
    "effective_sample_size": "adjust",
    "compare_over_time": "longitudinal",
    "OverTimeComparison": "longitudinal",
    "time_to_relapse": "survival",
    "RelapseAnalysis": "survival",
    "kaplan_meier": "survival",
    "cascade_counts": "cascade",
    "logrank_test": "survival",
    "table_one": "baseline",
    "TableOne": "baseline",
    # quality charts and the report
    "p_chart": "spc",
    "PChart": "spc",
    "anhoej_rules": "spc",
    "AnhoejResult": "spc",
    "funnel_limits": "spc",
    "funnel_table": "spc",
    "FunnelResult": "spc",
    "quarterly_report": "report",
    "QuarterlyReport": "report",
    "ReportConfig": "report",
    "load_config": "report",
    # competing risks and missing-not-at-random sensitivity
    "cumulative_incidence": "competing",
    "CumulativeIncidence": "competing",
    "fine_gray": "competing",
    "cause_specific_cox": "competing",
    "CompetingRiskModel": "competing",
    "tipping_point": "sensitivity",
    "TippingPoint": "sensitivity",
    # robustness and survival model checks (issue 22)
    "e_value": "robustness",
    "EValue": "robustness",
    "subgroup_analysis": "robustness",
    "SubgroupAnalysis": "robustness",
    "PHTest": "survival",
    "RMSTResult": "survival",
    "methods_report": "manuscript",
    "MethodsReport": "manuscript",
    # an agency's own exports (EHR spreadsheets, GPRA interviews, lab files)
    "read_exports": "exports",
    "ExportInput": "exports",
    # step-down continuity and engagement from service records (issue 17)
    "continuity_of_care": "continuity",
    "ContinuityResult": "continuity",
    "ContinuityDefinition": "continuity",
    "initiation_engagement": "continuity",
    "EngagementResult": "continuity",
    "EngagementDefinition": "continuity",
}

# submodules reachable as attributes (``iop.benchmarks.MCCARTY_2014``, ``iop.plots.plot_km``)
_SUBMODULES: frozenset[str] = frozenset(
    {
        "adjust",
        "baseline",
        "benchmarks",
        "cli",
        "compare",
        "cascade",
        "competing",
        "costs",
        "ce_plots",
        "cea",
        "continuity",
        "ctn0094",
        "definitions",
        "instruments",
        "exceptions",
        "exports",
        "longitudinal",
        "missing",
        "outcomes",
        "patterns",
        "planning",
        "plots",
        "privacy",
        "rates",
        "records",
        "report",
        "schema",
        "sensitivity",
        "simulate",
        "spc",
        "survival",
        "teds",
        "robustness",
        "manuscript",
    }
)

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
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'iopoutcomes' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
