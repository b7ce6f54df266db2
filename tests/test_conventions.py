"""The public API speaks one vocabulary (issue 13, ``docs/conventions.md``).

Every public signature is inspected: the same idea has one name everywhere, ``missing`` is
keyword-only, every ``confidence_level`` is checked by the one validator with the one message,
result classes are frozen and displayable, result columns come from ``schema.py``, and the old
names still work for one release with a :class:`DeprecationWarning` naming the new one.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import iopoutcomes as iop
from iopoutcomes import schema
from iopoutcomes._deprecate import DEPRECATED_PARAMETERS, renamed_parameters
from iopoutcomes._validate import CONFIDENCE_LEVEL_MESSAGE
from iopoutcomes.exceptions import ParameterError

ROOT = Path(__file__).resolve().parents[1]

# --- the public callables ------------------------------------------------------------------------


def _public() -> dict[str, Any]:
    """``iopoutcomes.__all__`` plus the ``__all__`` of every public submodule (the API pages)."""
    found: dict[str, Any] = {}
    for name in iop.__all__:
        obj = getattr(iop, name)
        if callable(obj) and not (inspect.isclass(obj) and issubclass(obj, BaseException)):
            found[name] = obj
    for module_name in sorted(iop._SUBMODULES - {"cli", "exceptions"}):
        module = importlib.import_module(f"iopoutcomes.{module_name}")
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not callable(obj) or (inspect.isclass(obj) and issubclass(obj, BaseException)):
                continue
            if not getattr(obj, "__module__", "").startswith("iopoutcomes"):
                continue
            found.setdefault(f"{module_name}.{name}", obj)
    return found


PUBLIC = _public()


def _signatures() -> Iterator[tuple[str, inspect.Signature]]:
    """Functions, and the constructors-free public methods of result classes."""
    for name, obj in PUBLIC.items():
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not inspect.isfunction(member):
                    continue
                yield f"{name}.{attr}", inspect.signature(member)
        else:
            yield name, inspect.signature(obj)


SIGNATURES = dict(_signatures())

# ``method`` is fine for a choice of estimator (g-computation, Jacobson-Truax, a grid scan) but
# the interval formula is always ``interval``: a ``method`` defaulting to one of these is a bug
INTERVAL_METHODS = {
    "wilson",
    "clopper-pearson",
    "jeffreys",
    "agresti-coull",
    "newcombe",
    "miettinen-nurminen",
    "mee",
    "agresti-caffo",
    "wald",
    "log-log",
    "plain",
    "delta",
    "bootstrap",
}

# ``covariates`` names the predictors of a missing-data model (imputation, follow-up weights);
# the case-mix covariates of a comparison are ``adjust``. These are the functions whose
# ``covariates`` are a missing-data model's.
MISSING_MODEL_COVARIATES = {
    "outcome_rates",
    "abstinence_rates",
    "compare_rates",
    "completed_datasets",
    "tipping_point",
    "rates.outcome_rates",
    "rates.abstinence_rates",
    "compare.compare_rates",
    "missing.completed_datasets",
    "missing.ipw_sandwich",
    "sensitivity.tipping_point",
    "sensitivity.report_sentences",
    # a design-matrix builder: its columns are whatever model it serves (issue 13 part B)
    "adjust.design_matrix",
}

BANNED = {
    "group_col": "by",
    "alpha": "confidence_level",
    "rule": "missing",
    "format": "file_format",
}


def test_the_public_surface_is_not_empty() -> None:
    # guards the inspection itself: a broken collector would make every check below vacuous
    assert {"compare_rates", "outcome_rates", "kaplan_meier", "sample_size"} <= set(PUBLIC)
    assert len(SIGNATURES) > 100


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_no_banned_parameter_names(name: str) -> None:
    params = SIGNATURES[name].parameters
    for old, new in BANNED.items():
        assert old not in params, f"{name}: parameter {old!r} should be {new!r}"
    method = params.get("method")
    if method is not None:
        assert method.default not in INTERVAL_METHODS, (
            f"{name}: the interval formula is interval=, not method="
        )
    if "covariates" in params:
        assert name in MISSING_MODEL_COVARIATES, (
            f"{name}: case-mix covariates are adjust=; covariates= is a missing-data model's"
        )


@pytest.mark.parametrize(
    "name", sorted(n for n, s in SIGNATURES.items() if "missing" in s.parameters)
)
def test_missing_is_keyword_only(name: str) -> None:
    assert SIGNATURES[name].parameters["missing"].kind is inspect.Parameter.KEYWORD_ONLY


def _function(name: str) -> Callable[..., Any]:
    return PUBLIC[name]  # type: ignore[no-any-return]


CONFIDENCE_FUNCTIONS = sorted(
    n
    for n, s in SIGNATURES.items()
    if "confidence_level" in s.parameters and n in PUBLIC and not inspect.isclass(PUBLIC[n])
)


def test_confidence_level_functions_are_found() -> None:
    assert {"kaplan_meier", "compare_rates", "sample_size", "adjusted_comparison"} <= set(
        CONFIDENCE_FUNCTIONS
    )


@pytest.mark.parametrize("name", CONFIDENCE_FUNCTIONS)
@pytest.mark.parametrize("level", [95, 0.0, 1.0, -0.5])
def test_every_confidence_level_is_checked_with_the_one_message(name: str, level: float) -> None:
    func = _function(name)
    sig = inspect.signature(func)
    # placeholders for the data arguments: the check must run before the data are looked at
    args = [
        None
        for p in sig.parameters.values()
        if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD
    ]
    kwargs: dict[str, Any] = {
        p.name: None
        for p in sig.parameters.values()
        if p.default is p.empty and p.kind is p.KEYWORD_ONLY
    }
    kwargs["confidence_level"] = level
    expected = re.escape(CONFIDENCE_LEVEL_MESSAGE.format(value=level))
    with pytest.raises(ParameterError, match=expected):
        func(*args, **kwargs)


def test_kaplan_meier_with_a_percentage_raises_instead_of_returning_nan_intervals() -> None:
    with pytest.raises(ParameterError, match="fraction strictly between 0 and 1"):
        iop.kaplan_meier(np.array([1.0, 2.0, 3.0]), np.array([1, 0, 1]), confidence_level=95)


# --- results -------------------------------------------------------------------------------------

SPECIFICATIONS = {
    # inputs and settings, not results: they describe what to compute and have no table
    "OutcomeDefinition",
    "Window",
    "Milestone",
    "PatternDefinition",
    "Benchmark",
    "ReportConfig",
    "ExportInput",
    "ContinuityDefinition",
    "EngagementDefinition",
    # a report is a document of many tables (QuarterlyReport.table(key)), shown as HTML
    "QuarterlyReport",
}


RESULT_CLASSES = sorted(
    n
    for n in iop.__all__
    if inspect.isclass(obj := getattr(iop, n))
    and not issubclass(obj, BaseException)
    and n not in SPECIFICATIONS
)


@pytest.mark.parametrize("name", RESULT_CLASSES)
def test_result_classes_are_frozen_and_displayable(name: str) -> None:
    cls = getattr(iop, name)
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, name  # type: ignore[attr-defined]
    assert callable(getattr(cls, "to_frame", None)), f"{name} has no to_frame()"
    assert callable(getattr(cls, "_repr_html_", None)), f"{name} has no _repr_html_()"


@pytest.fixture(scope="module")
def sample_results() -> dict[str, Any]:
    rec = iop.simulate_records(n=400, seed=1)
    out = iop.episode_outcomes(rec)
    followed = out.table.assign(abstinent_6mo=out.table["abstinent_6mo"].fillna(False))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the library uses no old name
        return {
            "RateTable": iop.outcome_rates(out, "abstinent_6mo", missing="bounds"),
            "FollowupRateTable": iop.followup_rates(out, timepoints="6mo"),
            "Comparison": iop.compare_rates(
                out, ["abstinent_3mo", "abstinent_6mo"], missing="bounds", margin=0.1
            ),
            "AdjustedEstimate": iop.adjusted_comparison(
                followed, "abstinent_6mo", "cohort", "IOP", "inpatient", ["age", "sex"]
            ),
            "OverTimeComparison": iop.compare_over_time(out, timepoints=("3mo", "6mo")),
            "RelapseAnalysis": iop.time_to_relapse(out),
            "LogRankTest": iop.logrank_test([1, 2, 3, 4], [1, 1, 1, 0], ["a", "a", "b", "b"]),
            "PooledEstimate": iop.rubin_pool([0.2, 0.4], [0.01, 0.01]),
            "SampleSize": iop.sample_size(0.6, 0.5),
            "EValue": iop.e_value(1.5, 1.1, 2.0),
            "AnhoejResult": iop.anhoej_rules([0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.4], centre=0.55),
            "TableOne": iop.table_one(out, columns=["age", "sex"]),
        }


def test_result_columns_come_from_the_schema_vocabulary(sample_results: dict[str, Any]) -> None:
    for name, result in sample_results.items():
        columns = list(result.to_frame().columns)
        assert columns, name
        unknown = [c for c in columns if c not in schema.OUTPUT_COLUMNS]
        assert not unknown, f"{name}.to_frame() has columns outside schema.py: {unknown}"


def test_shared_columns_use_the_shared_names(sample_results: dict[str, Any]) -> None:
    rates = sample_results["RateTable"].to_frame()
    assert list(rates.columns[: len(schema.RATE_COLUMNS)]) == list(schema.RATE_COLUMNS)
    assert set(rates[schema.BOUND]) == set(schema.BOUND_VALUES)
    comparison = sample_results["Comparison"].to_frame()
    assert list(comparison.columns[: len(schema.COMPARISON_COLUMNS)]) == list(
        schema.COMPARISON_COLUMNS
    )
    adjusted = sample_results["AdjustedEstimate"]
    assert adjusted.to_frame()[schema.RATE].iloc[0] == adjusted.rate
    assert tuple(sample_results["LogRankTest"].to_frame().columns) == schema.LOGRANK_COLUMNS
    assert tuple(sample_results["SampleSize"].to_frame().columns) == schema.SAMPLE_SIZE_COLUMNS


def test_inferential_results_explain_themselves(sample_results: dict[str, Any]) -> None:
    for name in ("Comparison", "AdjustedEstimate", "LogRankTest", "PooledEstimate", "SampleSize"):
        result = sample_results[name]
        assert isinstance(result.narrative(), str) and result.narrative(), name
        assert isinstance(result.methods_text(), str) and result.methods_text(), name
        assert "<" in result._repr_html_()


# --- deprecations --------------------------------------------------------------------------------


def test_the_rename_helper_warns_converts_and_refuses_both_names() -> None:
    @renamed_parameters(positional=("missing",), group_col="by")
    def f(data: Any, *, by: str = "cohort", missing: str | None = None) -> tuple[str, Any]:
        return by, missing

    with pytest.warns(DeprecationWarning, match="f\\(\\): parameter 'group_col' is deprecated"):
        assert f(None, group_col="site") == ("site", None)
    with pytest.warns(DeprecationWarning, match="passing 'missing' by position is deprecated"):
        assert f(None, "exclude") == ("cohort", "exclude")
    with pytest.raises(ParameterError, match="pass 'by' only"):
        f(None, by="a", group_col="b")
    with pytest.raises(TypeError, match="at most 2 positional"):
        f(None, "exclude", "extra")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert f(None, by="site", missing="using") == ("site", "using")  # new names are silent


RENAMES = sorted(
    (qualname, old, new)
    for qualname, table in DEPRECATED_PARAMETERS.items()
    for old, new in table.items()
)


def test_the_renames_are_registered() -> None:
    pairs = {(q.rsplit(".", 1)[-1], old, new) for q, old, new in RENAMES}
    assert {
        ("outcome_rates", "method", "interval"),
        ("completed_datasets", "rule", "missing"),
        ("adjusted_comparison", "covariates", "adjust"),
        ("adjusted_comparison", "interval", "inference"),
        ("balance_table", "group_col", "by"),
        ("sample_size", "alpha", "confidence_level"),
        ("read_ctn0094", "format", "file_format"),
    } <= pairs


@pytest.mark.parametrize(("qualname", "old", "new"), RENAMES)
def test_every_old_name_warns_and_names_the_new_one(qualname: str, old: str, new: str) -> None:
    module_name, func_name = qualname.rsplit(".", 1)
    func = getattr(importlib.import_module(module_name), func_name)
    sig = inspect.signature(func)
    args = [
        None
        for p in sig.parameters.values()
        if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD
    ]
    kwargs = {
        p.name: None
        for p in sig.parameters.values()
        if p.default is p.empty and p.kind is p.KEYWORD_ONLY and p.name != new
    }
    value: Any = 0.05 if old == "alpha" else "csv" if old == "format" else None
    with pytest.warns(DeprecationWarning, match=f"'{old}' is deprecated; use '{new}'"):
        try:
            func(*args, **kwargs, **{old: value})
        except Exception:  # placeholder data: only the warning is checked here
            pass


def test_abstinence_rates_missing_by_position_still_works_and_warns() -> None:
    out = iop.episode_outcomes(iop.simulate_records(n=150, seed=2))
    with pytest.warns(DeprecationWarning, match="pass missing= by keyword"):
        old = iop.abstinence_rates(out, "cohort", ("6mo",), "exclude")
    new = iop.abstinence_rates(out, "cohort", ("6mo",), missing="exclude")
    pd.testing.assert_frame_equal(old.to_frame(), new.to_frame())


# --- one registry, one vocabulary in the sources -------------------------------------------------


def test_one_missing_rule_registry() -> None:
    from iopoutcomes import compare, definitions
    from iopoutcomes.report import labels

    assert compare.MISSING_RULES is definitions.MISSING_RULES
    assert not hasattr(labels, "_MISSING_RULES")
    hits = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "src").rglob("*.py")
        if re.search(r"^_?MISSING_RULES\w*\s*[:=]", p.read_text(encoding="utf-8"), re.M)
    ]
    assert hits == ["src/iopoutcomes/definitions.py"]


OLD_USAGE = {
    "group_col=": r"\bgroup_col\s*=",
    "read_ctn0094(format=)": r"read_ctn0094\([^)]*\bformat\s*=",
    "alpha= in planning": r"(sample_size|power)\([^)]*\balpha\s*=",
    "completed_datasets rule": r"completed_datasets\([^)]*\brule\s*=",
    "rates method=": r"(outcome_rates|abstinence_rates|followup_rates)\([^)]*\bmethod\s*=",
    "AdjustedEstimate.risk": r"\best\.risk\b|\.risk_ref\b",
}


def _sources() -> Iterator[Path]:
    yield ROOT / "README.md"
    yield from (ROOT / "docs").rglob("*.md")
    yield from (ROOT / "docs").rglob("*.py")
    yield from (ROOT / "notebooks").glob("*.py")
    yield from (ROOT / "benchmarks").glob("*.py")
    yield from (ROOT / "src").rglob("*.py")


@pytest.mark.parametrize("label", sorted(OLD_USAGE))
def test_no_source_uses_an_old_name(label: str) -> None:
    pattern = re.compile(OLD_USAGE[label], re.S)
    offenders = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        # the deprecation shims themselves and their docs name the old spelling on purpose
        text = re.sub(r"@renamed_parameters\([^)]*\)", "", text)
        if path.name in {"_deprecate.py", "conventions.md"}:
            continue
        if pattern.search(text):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"{label} still used in {offenders}"


# --- one default reference -----------------------------------------------------------------------

REFERENCE_FUNCTIONS = sorted(
    n
    for n, s in SIGNATURES.items()
    if "reference" in s.parameters and n in PUBLIC and not inspect.isclass(PUBLIC[n])
)


@pytest.mark.parametrize("name", REFERENCE_FUNCTIONS)
def test_reference_has_one_default_convention(name: str) -> None:
    param = SIGNATURES[name].parameters["reference"]
    # required (a balance table compares two named levels) or None: never a hard-coded label
    assert param.default is param.empty or param.default is None, (
        f"{name}: reference defaults to {param.default!r}; use None (resolved by "
        "_validate.default_reference)"
    )


def test_default_reference_is_inpatient_else_the_first_sorted_group() -> None:
    frame = pd.DataFrame(
        {"cohort": ["IOP"] * 40 + ["PHP"] * 40, "abstinent_6mo": [1, 0] * 20 + [1, 1, 0, 0] * 10}
    )
    # no inpatient group: the first group in sorted order, as time_to_relapse and fine_gray do
    assert iop.compare_rates(frame).to_frame()["reference"].iloc[0] == "IOP"
    with_inpatient = frame.replace({"cohort": {"PHP": "inpatient"}})
    assert iop.compare_rates(with_inpatient).to_frame()["reference"].iloc[0] == "inpatient"
