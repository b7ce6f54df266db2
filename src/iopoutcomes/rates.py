"""Outcome rates with confidence intervals, under a declared missing-data rule: :class:`RateTable`.

Every rate goes through :func:`iopoutcomes._counts.group_counts` (the one door from rows to
counts), so pandas, Dask and DuckDB inputs give the same numbers for the ``using``,
``exclude`` and ``bounds`` rules; ``impute`` and ``ipw`` need a model and take pandas only.

Examples
--------
>>> import iopoutcomes as iop
>>> from iopoutcomes.simulate import simulate_records
>>> out = iop.episode_outcomes(simulate_records(n=200, seed=0))
>>> rates = iop.outcome_rates(out, "abstinent_6mo", by="cohort")
>>> rates.to_frame().columns.tolist()[:6]
['group', 'outcome', 'timepoint', 'n', 'n_events', 'n_missing']
>>> bool((rates.table["ci_low"] <= rates.table["rate"]).all())
True
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
from scipy import stats

from ._ci import proportion_ci
from ._counts import group_counts, is_dask, is_duckdb
from ._deprecate import renamed_parameters
from ._input import outcomes_table
from ._render import ResultDisplay
from ._validate import check_confidence_level, validates_confidence_level
from .benchmarks import GPRA_FOLLOWUP_TARGET, MCCARTY_2014, Benchmark, position
from .definitions import (
    MISSING_RULES,
    MISSING_RULES_ANALYSING_EVERY_ELIGIBLE,
    OutcomeDefinition,
    parse_timepoint,
    timepoint_text,
)
from .exceptions import InsufficientDataError, MissingColumnError, ParameterError
from .missing import (
    DEATH_STATUSES,
    completed_datasets,
    extreme_weight_remark,
    filter_eligible,
    ipw_sandwich,
    rubin_pool,
    unfavourable_text,
)
from .schema import DEFAULT_TIMEPOINTS, ELIGIBILITY_COLUMNS, FOLLOWUP_RATE_COLUMNS, RATE_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "FOLLOWUP_RATE_COLUMNS",
    "FollowupRateTable",
    "RateTable",
    "abstinence_rates",
    "followup_rates",
    "outcome_rates",
]

MIN_N_FOR_RATE = 30
"""Below this denominator a rate gets a remark (NCHS practice, reporting guide §4)."""


def _timepoint_of(outcome: str, d: OutcomeDefinition | None) -> str | None:
    if outcome.endswith(("_after_discharge", "_in_treatment")):
        return None
    known = set(d.timepoints if d is not None else DEFAULT_TIMEPOINTS)
    for tp in sorted(known, key=len, reverse=True):
        if outcome.endswith(f"_{tp}"):
            return tp
    last = outcome.rsplit("_", 1)[-1]
    return last if "_" in outcome and parse_timepoint(last) is not None else None


def _columns(data: Any) -> list[str]:
    return [str(c) for c in data.columns]


def _keys(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else [str(b) for b in by]


def _group_labels(counts: pd.DataFrame, keys: list[str]) -> pd.Series:
    if not keys:
        return pd.Series(["all"] * len(counts), index=counts.index, dtype="string")
    parts = [counts[k].astype("string") for k in keys]
    label = parts[0]
    for p in parts[1:]:
        label = label + " / " + p
    return label.astype("string")


@dataclass(frozen=True, eq=False, repr=False)
class RateTable(ResultDisplay):
    """Rates of binary outcomes by group, with confidence intervals and the rule behind them.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns :data:`~iopoutcomes.schema.RATE_COLUMNS` (``group``, ``outcome``,
        ``timepoint`` (NA for outcomes not tied to a follow-up), ``n``, ``n_events``,
        ``n_missing``, ``rate``, ``ci_low``, ``ci_high``, ``method``) then ``missing`` (the
        rule). ``n`` is the denominator of ``rate``: the episodes whose follow-up is due
        (:func:`iopoutcomes.missing.eligible_mask`; windows still open are not counted), minus
        died/incarcerated under ``death_policy="exclude"``, minus episodes *not eligible* by
        observation time (``eligible_<outcome>`` False: e.g. a stay shorter than a 30-day run),
        counted per group in the extra column ``n_not_eligible`` when any outcome has an
        eligibility column (:data:`~iopoutcomes.schema.ELIGIBILITY_COLUMNS`; neither successes
        nor failures). ``n_missing`` counts those whose
        outcome was missing (counted as the unfavourable value under ``using``: not abstinent,
        or relapsed with ``higher_is_better=False``, and then included in ``n_events`` for an
        event outcome; left out under ``exclude``, imputed under ``impute``, represented
        through weights under ``ipw``).
        With ``missing="bounds"`` each group has two rows told apart by the extra column
        ``bound``: ``lower`` (missing counted as no event) and ``upper`` (missing counted as
        an event); the interval from the lower row's ``ci_low`` to the upper row's ``ci_high``
        covers every missing-data mechanism. Under ``impute``, ``rate`` is the Rubin-pooled
        estimate and ``n_events`` counts observed events only; under ``ipw``, ``rate`` is the
        weighted rate among the followed-up and ``n_events`` counts observed events.
    definition : OutcomeDefinition or None
        The definition (None for a plain DataFrame given without one); when ``missing=``
        overrides the definition's rule, a copy with ``missing`` set to the rule applied, so
        every label and description names the rule actually used.
    missing : str
        The missing-data rule applied.
    higher_is_better : bool
        Direction of the outcome (decides the value a missing outcome takes under ``using``).
    confidence_level : float
        Level of the intervals.
    by : tuple of str
        The grouping columns.
    remarks : tuple of str
        How many were counted as using, left out, small denominators, and so on.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> out = iop.episode_outcomes(iop.simulate_records(n=100, seed=0))
    >>> rates = iop.outcome_rates(out, "abstinent_6mo", by="cohort")
    >>> print(repr(rates).splitlines()[0])
    <RateTable: abstinent_6mo by cohort, 76 episodes, missing=using>
    >>> rates.table["group"].tolist()
    ['IOP', 'inpatient']
    >>> rates.check_benchmark(iop.MCCARTY_2014).columns.tolist()[-3:]
    ['benchmark_high', 'position', 'citation']
    """

    table: pd.DataFrame
    definition: OutcomeDefinition | None
    missing: str
    confidence_level: float = 0.95
    by: tuple[str, ...] = ()
    remarks: tuple[str, ...] = field(default=())
    higher_is_better: bool = True

    def _header(self) -> str:
        outcomes = "/".join(dict.fromkeys(self.table["outcome"].astype(str)))
        by = " by " + ", ".join(self.by) if self.by else ""
        first = (
            self.table.loc[self.table["outcome"] == self.table["outcome"].iloc[0]]
            if len(self.table)
            else self.table
        )
        if "bound" in first:
            first = first.loc[first["bound"] == "lower"]
        n = first["n"] + (
            0 if self.missing in MISSING_RULES_ANALYSING_EVERY_ELIGIBLE else first["n_missing"]
        )
        return f"<RateTable: {outcomes}{by}, {int(n.sum()):,} episodes, missing={self.missing}>"

    def to_frame(self) -> pd.DataFrame:
        """A copy of the tidy table."""
        return self.table.copy()

    def _definition_applied(self) -> OutcomeDefinition:
        d = self.definition or OutcomeDefinition()
        if self.missing in MISSING_RULES and self.missing != d.missing:
            d = d.replace(missing=self.missing)
        return d

    def _short_label(self, outcome: str) -> str:
        return (self.definition or OutcomeDefinition()).label(outcome)

    def label(self, outcome: str) -> str:
        """Axis label of an outcome with the table's own missing-data rule.

        >>> import pandas as pd
        >>> f = pd.DataFrame({"cohort": ["IOP", "IOP"], "abstinent_6mo": [1, None]})
        >>> outcome_rates(f, missing="exclude").label("abstinent_6mo")
        'Abstinent at 6-month follow-up (no use in past 30 days), missing = exclude'
        """
        if self.missing not in MISSING_RULES:
            return self._short_label(outcome)
        return self._definition_applied().describe(outcome)

    def definition_text(self) -> str:
        """The definition and the method in words."""
        pct = f"{self.confidence_level:.0%}"
        methods = (
            ", ".join(dict.fromkeys(self.table["method"].astype(str))) if len(self.table) else ""
        )
        d = self._definition_applied() if self.definition is not None else None
        base = d.describe() if d is not None else "Plain data frame"
        return (
            f"{base}. Rates with {pct} confidence intervals ({methods}); missing = {self.missing}."
        )

    methods_text = definition_text

    def check_benchmark(self, benchmark: Benchmark = MCCARTY_2014) -> pd.DataFrame:
        """Position of each rate's interval relative to a benchmark band.

        Returns
        -------
        pandas.DataFrame
            ``group``, ``outcome``, ``timepoint``, ``rate``, ``ci_low``, ``ci_high``,
            ``benchmark``, ``benchmark_low``, ``benchmark_high``, ``position`` (``inside``,
            ``overlapping``, ``below``, ``above``) and ``citation``.
        """
        cols = ["group", "outcome", "timepoint", "rate", "ci_low", "ci_high"]
        if "bound" in self.table:
            cols.insert(3, "bound")
        out = self.table[cols].copy()
        out["benchmark"] = benchmark.name
        out["benchmark_low"] = benchmark.low
        out["benchmark_high"] = benchmark.high
        out["position"] = position(out["ci_low"], out["ci_high"], benchmark)
        out["citation"] = benchmark.citation
        return out.reset_index(drop=True)

    def narrative(self, decimals: int = 0) -> str:
        """Plain-language sentences, one per row (rounded for reading only)."""
        pct = f"{self.confidence_level:.0%}"
        lines = []
        for row in self.table.itertuples(index=False):
            row = cast(Any, row)
            what = self._short_label(str(row.outcome))
            rate = float(row.rate)
            if np.isnan(rate):
                lines.append(f"{row.group}: {what} — no data.")
                continue
            extra = f" ({row.bound} bound)" if hasattr(row, "bound") else ""
            counts = (
                f"{int(row.n_events)} of {int(row.n)}"
                if self.missing in ("using", "exclude", "bounds")
                else f"n = {int(row.n)}"
            )
            lines.append(
                f"{row.group}: {rate:.{decimals}%}{extra} {what[0].lower() + what[1:]} "
                f"({pct} CI {float(row.ci_low):.{decimals}%} to {float(row.ci_high):.{decimals}%}; "
                f"{counts}; missing = {self.missing})."
            )
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Rates with interval bars (``iopoutcomes.plots.plot_rates``)."""
        from .plots import plot_rates

        return plot_rates(self, ax=ax, **kwargs)


def _rubin_rates(
    frame: pd.DataFrame,
    outcome: str,
    keys: list[str],
    labels_index: pd.DataFrame,
    d: OutcomeDefinition | None,
    confidence_level: float,
    seed: int,
    covariates: Sequence[str] = (),
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Pooled (Rubin, logit scale) rate and limits per group of ``labels_index``."""
    covs = list(dict.fromkeys([*keys, *(d.covariates if d is not None else ()), *covariates]))
    m = d.n_imputations if d is not None else 20
    death = d.death_policy if d is not None else "missing"
    sets = completed_datasets(
        frame,
        outcome,
        missing="impute",
        covariates=covs,
        n_imputations=m,
        seed=seed,
        death_policy=death,
    )
    est = np.full((len(sets), len(labels_index)), np.nan)
    for j, cd in enumerate(sets):
        c = group_counts(cd.frame, outcome, keys) if keys else None
        if c is None:
            y = cd.frame[outcome].to_numpy(float)
            est[j, 0] = y.mean() if len(y) else np.nan
            nn = np.array([len(y)])
        else:
            merged = labels_index.merge(c, on=keys, how="left")
            est[j] = (merged["n_events"] / merged["n"]).to_numpy(float)
            nn = merged["n"].to_numpy(float)
    rate = np.full(len(labels_index), np.nan)
    low = np.full(len(labels_index), np.nan)
    high = np.full(len(labels_index), np.nan)
    alpha = 1.0 - confidence_level
    for g in range(len(labels_index)):  # loop over groups (a handful), not over episodes
        p = est[:, g]
        n = nn[g]
        if np.isnan(p).any() or n == 0:
            continue
        if np.all((p > 0) & (p < 1)):
            q = np.log(p / (1 - p))
            u = 1.0 / (n * p * (1 - p))
            pooled = rubin_pool(q, u)
            qbar, se, df = pooled.estimate, pooled.std_err, pooled.df
            t = stats.t.ppf(1 - alpha / 2, df) if np.isfinite(df) else stats.norm.ppf(1 - alpha / 2)
            expit = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
            rate[g] = expit(qbar)
            low[g], high[g] = expit(qbar - t * se), expit(qbar + t * se)
        else:  # a completed data set with 0% or 100%: pool on the raw scale
            u = np.maximum(p * (1 - p), 0.25 / n) / n
            pooled = rubin_pool(p, u)
            qbar, se, df = pooled.estimate, pooled.std_err, pooled.df
            t = stats.t.ppf(1 - alpha / 2, df) if np.isfinite(df) else stats.norm.ppf(1 - alpha / 2)
            rate[g] = qbar
            low[g], high[g] = max(0.0, qbar - t * se), min(1.0, qbar + t * se)
    return rate, low, high, f"multiple imputation (m={m}), Rubin's rules on the logit scale"


@validates_confidence_level
def weighted_rates(
    frame: pd.DataFrame,
    outcome: str,
    weights: Any,
    keys: Sequence[str] = (),
    *,
    interval: str = "wilson",
    confidence_level: float = 0.95,
) -> pd.DataFrame:
    """Weighted rate per group with its interval on Kish's effective sample size.

    A design-based summary for known (not estimated) weights; under ``missing="ipw"``
    :func:`outcome_rates` and :func:`iopoutcomes.compare.compare_rates` take the rates from
    here but their intervals from the M-estimation sandwich
    (:func:`iopoutcomes.missing.ipw_sandwich`), which accounts for the weights being
    estimated (Kish's effective n does not). Among rows with an
    observed outcome ``y`` and weight ``w``: ``rate = sum(w y) / sum(w)``, Kish's (1965)
    effective sample size ``n_eff = (sum w)^2 / sum(w^2)``, and the interval is
    :func:`iopoutcomes._ci.proportion_ci` of ``rate * n_eff`` events in ``n_eff`` trials with
    ``interval`` (Wilson by default).

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with the outcome (0/1) and the ``keys`` columns.
    outcome : str
        Outcome column; rows where it is missing are left out.
    weights : array-like or None
        Weights aligned with ``frame`` (``None``: every weight 1, the unweighted rate).
    keys : sequence of str
        Grouping columns (empty: one row for all).
    interval : str
        Interval method of :func:`iopoutcomes._ci.proportion_ci` (default ``"wilson"``).
    confidence_level : float

    Returns
    -------
    pandas.DataFrame
        The ``keys`` columns, then ``sum_w``, ``sum_wy``, ``sum_w2``, ``rate``, ``n_eff``,
        ``ci_low``, ``ci_high``; one row per group in order of the keys.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"cohort": ["IOP"] * 4, "y": [1, 1, 0, 1]})
    >>> r = weighted_rates(f, "y", [1.0, 1.0, 2.0, 2.0], ["cohort"]).iloc[0]
    >>> float(r["rate"]), float(r["n_eff"])  # 4/6; 6**2 / 10
    (0.6666666666666666, 3.6)
    """
    keys = list(keys)
    w_all = np.ones(len(frame)) if weights is None else np.asarray(weights, dtype=float)
    observed = frame[outcome].notna().to_numpy(dtype=bool)
    f = frame.loc[observed, keys].copy() if keys else pd.DataFrame(index=frame.index[observed])
    w = w_all[observed]
    f["sum_w"] = w
    f["sum_wy"] = w * frame.loc[observed, outcome].astype(float).to_numpy()
    f["sum_w2"] = w * w
    cols = ["sum_w", "sum_wy", "sum_w2"]
    if keys:
        out = f.groupby(keys, observed=True, dropna=True)[cols].sum().reset_index()
    else:
        out = pd.DataFrame({c: [float(f[c].sum())] for c in cols})
    sw = out["sum_w"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = out["sum_wy"].to_numpy(float) / sw
        n_eff = sw**2 / out["sum_w2"].to_numpy(float)
        low, high = proportion_ci(
            rate * n_eff, n_eff, method=interval, confidence_level=confidence_level
        )
    out["rate"] = rate
    out["n_eff"] = n_eff
    out["ci_low"] = np.asarray(low, dtype=float)
    out["ci_high"] = np.asarray(high, dtype=float)
    return out


def _ipw_rates(
    frame: pd.DataFrame,
    outcome: str,
    keys: list[str],
    labels_index: pd.DataFrame,
    d: OutcomeDefinition | None,
    confidence_level: float,
    interval: str,
    covariates: Sequence[str] = (),
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, np.ndarray]:
    """Weighted rates with intervals on the effective sample size ``p (1 - p) / V`` of the
    M-estimation sandwich variance ``V`` (:func:`iopoutcomes.missing.ipw_sandwich`), which
    accounts for the follow-up model's estimation."""
    covs = list(dict.fromkeys([*keys, *(d.covariates if d is not None else ()), *covariates]))
    death = d.death_policy if d is not None else "missing"
    (cd,) = completed_datasets(frame, outcome, missing="ipw", covariates=covs, death_policy=death)
    label = "__ipw_group__"
    if keys:
        key_frame = frame[keys].astype("string")
        cell = key_frame.iloc[:, 0].str.cat(key_frame[keys[1:]], sep="\x1f")
        labelled = frame.assign(**{label: cell})
        wanted = labels_index[keys].astype("string")
        wanted_cell = wanted.iloc[:, 0].str.cat(wanted[keys[1:]], sep="\x1f")
    else:
        labelled = frame.assign(**{label: "all"})
        wanted_cell = pd.Series(["all"])
    groups, mu, cov = ipw_sandwich(labelled, outcome, label, covs, death_policy=death)
    pos = {str(g): i for i, g in enumerate(groups)}
    idx = np.array([pos.get(str(c), -1) for c in wanted_cell], dtype=int)
    rate = np.where(idx >= 0, mu[np.maximum(idx, 0)], np.nan)
    var = np.where(idx >= 0, np.diag(cov)[np.maximum(idx, 0)], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        n_eff = np.where(var > 0, rate * (1 - rate) / var, np.nan)
        low, high = proportion_ci(
            rate * n_eff, n_eff, method=interval, confidence_level=confidence_level
        )
    return (
        np.asarray(rate, float),
        np.asarray(low, float),
        np.asarray(high, float),
        f"{interval} on the effective sample size of the M-estimation sandwich variance, "
        "inverse probability of follow-up weights",
        np.asarray(cd.weights, dtype=float),
    )


def _not_eligible_counts(data: Any, outcome: str, keys: list[str]) -> pd.DataFrame | None:
    """Per group: episodes whose ``eligible_<outcome>`` is False (observed too few days), or
    None when the table has no eligibility column for the outcome. Any engine (group_counts)."""
    flag = f"eligible_{outcome}"
    if flag not in _columns(data):
        return None
    if keys:
        counts = group_counts(data, flag, keys)
    else:
        tmp = data.assign(_all="all") if not is_duckdb(data) else data.project("*, 'all' AS _all")
        counts = group_counts(tmp, flag, "_all").drop(columns="_all")
    counts[ELIGIBILITY_COLUMNS[0]] = counts["n"] - counts["n_events"] - counts["n_missing"]
    return counts


def _one_outcome(
    data: Any,
    outcome: str,
    keys: list[str],
    rule: str,
    d: OutcomeDefinition | None,
    confidence_level: float,
    interval: str,
    seed: int,
    higher_is_better: bool = True,
    covariates: Sequence[str] = (),
) -> tuple[pd.DataFrame, list[str]]:
    cols = _columns(data)
    if outcome not in cols:
        raise MissingColumnError(
            f"Outcome column {outcome!r} is not in the data. Found: {cols}. Name an outcome "
            "column of the episode table (e.g. 'abstinent_6mo')."
        )
    tp = _timepoint_of(outcome, d)
    remarks: list[str] = []
    death_policy = d.death_policy if d is not None else "missing"
    not_eligible = _not_eligible_counts(data, outcome, keys)
    data, elig = filter_eligible(data, outcome, death_policy=death_policy, definition=d)
    remarks.extend(elig.remarks(missing=rule))
    if keys and isinstance(data, pd.DataFrame):
        n_no_group = int(data[keys].isna().any(axis=1).sum())
        if n_no_group:
            remarks.append(
                f"{outcome}: {n_no_group} episodes with a missing {', '.join(keys)} value were "
                "left out (no group to count them in)."
            )
    if keys:
        counts = group_counts(data, outcome, keys)
    else:
        tmp = data.assign(_all="all") if not is_duckdb(data) else data.project("*, 'all' AS _all")
        counts = group_counts(tmp, outcome, "_all").drop(columns="_all")
    if len(counts) == 0:
        raise InsufficientDataError(
            f"No rows with a group value to compute rates of {outcome!r} by {keys}."
        )
    groups = _group_labels(counts, keys)
    n_all = counts["n"].to_numpy(float)
    x = counts["n_events"].to_numpy(float)
    miss = counts["n_missing"].to_numpy(float)
    rows: list[dict[str, Any]] = []

    def add(n: Any, ev: Any, rate: Any, low: Any, high: Any, meth: str, bound: str | None) -> None:
        for i in range(len(counts)):  # one row per group (a handful)
            row = {
                "group": groups.iloc[i],
                "outcome": outcome,
                "timepoint": tp,
                "n": int(n[i]),
                "n_events": int(ev[i]),
                "n_missing": int(miss[i]),
                "rate": float(rate[i]),
                "ci_low": float(low[i]),
                "ci_high": float(high[i]),
                "method": meth,
                "missing": rule,
            }
            if bound is not None:
                row["bound"] = bound
            rows.append(row)

    total_missing = int(miss.sum())
    total = int(n_all.sum())
    if outcome.startswith("abstinent_") and tp is not None:
        what = (
            f"no {timepoint_text(tp)} abstinence outcome (no completed follow-up with "
            "days-of-use data)"
        )
    else:
        what = f"no value for {outcome}"
    neg = unfavourable_text(outcome, higher_is_better)
    with np.errstate(invalid="ignore", divide="ignore"):
        if rule in ("using", "exclude"):
            n = n_all if rule == "using" else n_all - miss
            ev = x + miss if (rule == "using" and not higher_is_better) else x
            lo, hi = proportion_ci(ev, n, method=interval, confidence_level=confidence_level)
            add(n, ev, ev / np.where(n > 0, n, np.nan), lo, hi, interval, None)
            if total_missing:
                fill = "0" if higher_is_better else "1"
                how = (
                    f"counted as {neg} (the unfavourable value, {fill})"
                    if rule == "using"
                    else "left out (complete case)"
                )
                remarks.append(
                    f"{total_missing} of {total} episodes had {what} and were {how} "
                    f"(missing = {rule})."
                )
        elif rule == "bounds":
            for bound, ev in (("lower", x), ("upper", x + miss)):
                lo, hi = proportion_ci(
                    ev, n_all, method=interval, confidence_level=confidence_level
                )
                add(n_all, ev, ev / np.where(n_all > 0, n_all, np.nan), lo, hi, interval, bound)
            remarks.append(
                f"{total_missing} of {total} episodes had {what}: the lower bound "
                "counts them as no event, the upper bound as events (missing = bounds)."
            )
        else:
            if is_dask(data) or is_duckdb(data):
                raise ParameterError(
                    f"missing={rule!r} fits a model and needs a pandas DataFrame; call "
                    ".compute() (Dask) or .df() (DuckDB) first, or use using/exclude/bounds."
                )
            labels_index = counts[keys] if keys else pd.DataFrame(index=[0])
            frame = data.loc[data[keys].notna().all(axis=1)] if keys else data
            if rule == "impute":
                rate, lo, hi, meth = _rubin_rates(
                    frame, outcome, keys, labels_index, d, confidence_level, seed, covariates
                )
                add(n_all, x, rate, lo, hi, meth, None)
                remarks.append(
                    f"{total_missing} of {total} episodes had {what} and were "
                    "multiply imputed (missing = impute); n_events counts observed events only."
                )
            else:
                rate, lo, hi, meth, weights = _ipw_rates(
                    frame, outcome, keys, labels_index, d, confidence_level, interval, covariates
                )
                add(n_all - miss, x, rate, lo, hi, meth, None)
                remarks.append(
                    f"{total_missing} of {total} episodes had {what}; the "
                    "followed-up episodes were weighted by the inverse probability of follow-up "
                    "(missing = ipw)."
                )
                extreme = extreme_weight_remark(outcome, weights)
                if extreme is not None:
                    remarks.append(extreme)
    table = pd.DataFrame(rows)
    if not_eligible is not None:
        labels = _group_labels(not_eligible, keys) if keys else pd.Series(["all"], dtype="string")
        per_group = dict(zip(labels.astype(str), not_eligible["n_not_eligible"], strict=True))
        table[ELIGIBILITY_COLUMNS[0]] = (
            table["group"].astype(str).map(per_group).fillna(0).astype("int64")
        )
    small = table.loc[table["n"] < MIN_N_FOR_RATE, "group"].drop_duplicates()
    if len(small):
        remarks.append(
            f"{len(small)} groups have fewer than {MIN_N_FOR_RATE} episodes in the denominator "
            f"of {outcome}; their rates are unstable (NCHS practice: n >= {MIN_N_FOR_RATE})."
        )
    return table, remarks


@renamed_parameters(method="interval")
@validates_confidence_level
def outcome_rates(
    outcomes: Any,
    outcome: str | Sequence[str] = "abstinent_6mo",
    by: str | Sequence[str] | None = "cohort",
    *,
    missing: str | None = None,
    covariates: Sequence[str] | None = None,
    confidence_level: float = 0.95,
    interval: str = "wilson",
    definition: OutcomeDefinition | None = None,
    seed: int = 0,
    higher_is_better: bool = True,
) -> RateTable:
    """Rate of a binary outcome (or several) by group, under a missing-data rule.

    Parameters
    ----------
    outcomes : EpisodeOutcomes, pandas.DataFrame, dask DataFrame or duckdb relation
        The episode table (or any table with the outcome and grouping columns).
    outcome : str or sequence of str
        Boolean / 0-1 outcome columns (``abstinent_6mo``, ``completed_program``,
        ``milestone_<name>`` ...); several give stacked rows.
    by : str, sequence of str or None
        Grouping columns (None: one group ``"all"``).
    missing : {"using", "exclude", "bounds", "impute", "ipw"}, optional
        Missing-data rule; default the definition's (``"using"`` for a plain DataFrame).
        ``"impute"`` and ``"ipw"`` need predictors (``covariates`` or the definition's) and
        raise :class:`~iopoutcomes.exceptions.ParameterError` without them: with the groups
        alone they reduce to the complete-case rate (missing completely at random within
        group).
    covariates : sequence of str, optional
        Predictors of the imputation (``impute``) or follow-up (``ipw``) model, added to the
        grouping columns and the definition's ``covariates``.
    confidence_level : float
        Level of the intervals (0.95).
    interval : {"wilson", "clopper-pearson", "jeffreys"}
        Interval method for a proportion (:func:`iopoutcomes._ci.proportion_ci`); Wilson by
        default. Replaces ``method`` (deprecated).
    definition : OutcomeDefinition, optional
        For a plain DataFrame: the definition to echo and whose ``death_policy``,
        ``covariates`` and ``n_imputations`` apply.
    seed : int
        Seed of the imputations (``impute``): the same seed gives the same draws in every
        call, so vary it across repeated analyses (simulations, a report each quarter).
    higher_is_better : bool
        Direction of the outcome. ``missing="using"`` counts a missing outcome as the
        unfavourable value: 0 (not abstinent) when True (default), 1 (e.g. relapsed) when False.

    Returns
    -------
    RateTable

    Notes
    -----
    Denominator: only episodes whose follow-up is due enter it
    (:func:`iopoutcomes.missing.eligible_mask`, the rule shared with ``compare_rates``,
    ``compare_over_time`` and ``followup_rates``): ``followup_due_<tp>`` when present, else a
    follow-up status other than ``pending``; a remark counts those still open.
    ``death_policy="exclude"`` drops episodes whose ``followup_status_<tp>`` is ``died`` or
    ``incarcerated`` before counting. ``impute``: ``n_imputations`` data sets (MICE on
    ``definition.covariates`` plus the grouping columns); the group rate of each is pooled with
    Rubin's rules on the logit scale with variance :math:`1/(n p (1-p))` and back-transformed
    (raw scale if a completed data set has a rate of 0 or 1), t reference distribution with
    Rubin's degrees of freedom. ``ipw``: weighted rate among the followed-up; the interval is
    the chosen method on the effective sample size :math:`p(1-p)/V`, where :math:`V` is the
    M-estimation sandwich variance that stacks the follow-up model
    (:func:`iopoutcomes.missing.ipw_sandwich`).

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> from iopoutcomes.simulate import simulate_records
    >>> out = iop.episode_outcomes(simulate_records(n=200, seed=0))
    >>> t = iop.outcome_rates(out, "abstinent_6mo", missing="bounds").table
    >>> t["bound"].tolist()
    ['lower', 'lower', 'upper', 'upper']
    """
    data, d = outcomes_table(outcomes, definition, needed_by="outcome_rates", lazy=True, copy=False)
    rule = missing if missing is not None else (d.missing if d is not None else "using")
    if rule not in MISSING_RULES:
        raise ParameterError(
            f"The 'missing' parameter of outcome_rates must be one of {list(MISSING_RULES)}; "
            "got a value that is not among them."
        )
    check_confidence_level(confidence_level)
    keys = _keys(by)
    outcome_list = [outcome] if isinstance(outcome, str) else list(outcome)
    if not outcome_list:
        raise ParameterError("Name at least one outcome column.")
    model_cols = (covariates,) if isinstance(covariates, str) else tuple(covariates or ())
    predictors = [*model_cols, *(d.covariates if d is not None else ())]
    if rule in ("impute", "ipw") and not [c for c in predictors if c not in keys]:
        raise ParameterError(
            f"missing={rule!r} needs predictors of the outcome or of follow-up, and none were "
            "given: with the groups alone it reduces to the complete-case rate (missing "
            "completely at random within each group). Pass covariates=[...] or a definition "
            "with covariates, or use missing='exclude' and say it assumes MCAR within group."
        )
    cols = _columns(data)
    missing_keys = [k for k in keys if k not in cols]
    if missing_keys:
        raise MissingColumnError(
            f"Grouping columns {missing_keys} are not in the data. Found: {cols}."
        )
    tables: list[pd.DataFrame] = []
    remarks: list[str] = []
    for name in outcome_list:  # a handful of outcomes
        t, r = _one_outcome(
            data,
            name,
            keys,
            rule,
            d,
            float(confidence_level),
            interval,
            seed,
            higher_is_better,
            model_cols,
        )
        tables.append(t)
        remarks.extend(r)
    table = pd.concat(tables, ignore_index=True)
    lead = [*RATE_COLUMNS, "missing"] + (["bound"] if "bound" in table else [])
    lead += [c for c in ELIGIBILITY_COLUMNS if c in table]
    table = table[lead]
    for c in ELIGIBILITY_COLUMNS:
        if c in table:  # outcomes without an observation-time requirement: 0 not eligible
            table[c] = table[c].fillna(0).astype("int64")
    table["timepoint"] = table["timepoint"].astype("string")
    table["group"] = table["group"].astype("string")
    for c in ("n", "n_events", "n_missing"):
        table[c] = table[c].astype("int64")
    if d is not None and rule != d.missing:
        d = d.replace(missing=rule)  # labels and plots name the rule applied
    return RateTable(
        table=table,
        definition=d,
        missing=rule,
        confidence_level=float(confidence_level),
        by=tuple(keys),
        remarks=tuple(dict.fromkeys(remarks)),
        higher_is_better=bool(higher_is_better),
    )


@renamed_parameters(positional=("missing",), method="interval")
@validates_confidence_level
def abstinence_rates(
    outcomes: Any,
    by: str | Sequence[str] | None = "cohort",
    timepoints: Sequence[str] | str = ("6mo",),
    *,
    missing: str | None = None,
    covariates: Sequence[str] | None = None,
    confidence_level: float = 0.95,
    interval: str = "wilson",
    definition: OutcomeDefinition | None = None,
    seed: int = 0,
    higher_is_better: bool = True,
) -> RateTable:
    """Abstinence rates at follow-up timepoints: :func:`outcome_rates` on ``abstinent_<tp>``
    (parameters as there; ``covariates`` are the missing-data model's predictors; ``missing``
    is keyword-only, passing it by position is deprecated).

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> from iopoutcomes.simulate import simulate_records
    >>> out = iop.episode_outcomes(simulate_records(n=200, seed=0))
    >>> iop.abstinence_rates(out, timepoints=("3mo", "6mo")).table["timepoint"].tolist()
    ['3mo', '3mo', '6mo', '6mo']
    """
    tps = [timepoints] if isinstance(timepoints, str) else list(timepoints)
    return outcome_rates(
        outcomes,
        [f"abstinent_{tp}" for tp in tps],
        by,
        missing=missing,
        covariates=covariates,
        confidence_level=confidence_level,
        interval=interval,
        definition=definition,
        seed=seed,
        higher_is_better=higher_is_better,
    )


@dataclass(frozen=True, eq=False, repr=False)
class FollowupRateTable(RateTable):
    """GPRA-style follow-up rates: conducted in window / due, per timepoint and group.

    ``table`` has the :data:`~iopoutcomes.schema.RATE_COLUMNS` (``outcome`` =
    ``followup_<tp>``, ``n`` = due, ``n_events`` = conducted in window, ``n_missing`` = due
    but not conducted in window) plus ``missing`` (``"not applicable"``) and
    :data:`FOLLOWUP_RATE_COLUMNS`: ``episodes``, ``due`` (window closed by the data-as-of date),
    ``conducted_in_window``, ``conducted_out_of_window``, ``not_conducted`` (due, no completed
    assessment), ``pending`` (window still open; outside the denominator), ``excluded`` (died
    or incarcerated with ``death_policy="exclude"``) and ``target`` (0.80).

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> out = iop.episode_outcomes(iop.simulate_records(n=100, seed=0))
    >>> fu = iop.followup_rates(out, timepoints="6mo")
    >>> print(repr(fu).splitlines()[0])
    <FollowupRateTable: conducted in window / due by cohort, target 80%>
    >>> fu.table[["group", "outcome", "timepoint"]]
           group       outcome timepoint
    0        IOP  followup_6mo       6mo
    1  inpatient  followup_6mo       6mo
    >>> bool((fu.table["n"] == fu.table["due"]).all())  # the denominator is the follow-ups due
    True
    """

    target: float = GPRA_FOLLOWUP_TARGET.low

    def _header(self) -> str:
        by = " by " + ", ".join(self.by) if self.by else ""
        return f"<FollowupRateTable: conducted in window / due{by}, target {self.target:.0%}>"

    def check_benchmark(self, benchmark: Benchmark = GPRA_FOLLOWUP_TARGET) -> pd.DataFrame:
        """Position of each follow-up rate's interval relative to the 80% target."""
        return RateTable.check_benchmark(self, benchmark)

    def _methods(self) -> str:
        """Interval method(s) actually used, as named in the ``method`` column."""
        if not len(self.table):
            return "Wilson"
        return ", ".join(dict.fromkeys(m.title() for m in self.table["method"].astype(str)))

    def definition_text(self) -> str:
        """How the rate is counted."""
        pct = f"{self.confidence_level:.0%}"
        death = self.definition.death_policy if self.definition is not None else "missing"
        return (
            "Follow-up rate = follow-ups conducted inside their window / follow-ups due (window "
            "closed by the data-as-of date); windows still open are pending and outside the "
            f"denominator; died/incarcerated: {'excluded' if death == 'exclude' else 'counted as not conducted'}. "
            f"{self._methods()} {pct} intervals; target {self.target:.0%} (GPRA)."
        )

    def narrative(self, decimals: int = 0) -> str:
        """One sentence per row."""
        lines = []
        for row in self.table.itertuples(index=False):
            row = cast(Any, row)
            if row.due == 0:
                lines.append(f"{row.group}, {row.timepoint}: no follow-ups due yet.")
                continue
            verdict = "meets" if row.rate >= self.target else "is below"
            lines.append(
                f"{row.group}, {timepoint_text(str(row.timepoint))} follow-up: "
                f"{row.conducted_in_window} of {row.due} due were conducted in the window "
                f"({float(row.rate):.{decimals}%}), which {verdict} the {self.target:.0%} target; "
                f"{row.pending} pending."
            )
        return "\n".join(lines)


@renamed_parameters(method="interval")
@validates_confidence_level
def followup_rates(
    outcomes: Any,
    by: str | Sequence[str] | None = "cohort",
    timepoints: Sequence[str] | str | None = None,
    *,
    confidence_level: float = 0.95,
    interval: str = "wilson",
    definition: OutcomeDefinition | None = None,
    target: float = GPRA_FOLLOWUP_TARGET.low,
) -> FollowupRateTable:
    """GPRA follow-up rate per timepoint: conducted in window / due (target 80%).

    Parameters
    ----------
    outcomes : EpisodeOutcomes or pandas.DataFrame
        Needs ``followup_status_<tp>``, ``in_window_<tp>`` and ``followup_due_<tp>``.
    by : str, sequence of str or None
        Grouping columns.
    timepoints : sequence of str, optional
        Default: every outcome timepoint of the definition (those with columns).
    confidence_level, interval
        Level and method of the interval for the rate (Wilson by default; ``interval``
        replaces the deprecated ``method``).
    definition : OutcomeDefinition, optional
        Supplies ``death_policy`` for a plain DataFrame.
    target : float
        The target rate (GPRA: 0.80).

    Returns
    -------
    FollowupRateTable

    Notes
    -----
    Reporting guide §1.3: ``rate = #{due and conducted in window} / #{due}``; due = the window
    closed on or before the data-as-of date; open windows are pending and stay out of the
    denominator. With ``death_policy="exclude"`` died/incarcerated follow-ups leave the
    denominator; by default they count as not conducted.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> from iopoutcomes.simulate import simulate_records
    >>> out = iop.episode_outcomes(simulate_records(n=200, seed=0))
    >>> t = iop.followup_rates(out, timepoints="6mo").table
    >>> bool((t["due"] == t["conducted_in_window"] + t["conducted_out_of_window"]
    ...       + t["not_conducted"]).all())
    True
    """
    data, d = outcomes_table(
        outcomes, definition, needed_by="followup_rates", lazy=True, copy=False
    )
    if is_dask(data) or is_duckdb(data):
        raise ParameterError("followup_rates needs a pandas DataFrame (an episode table).")
    keys = _keys(by)
    cols = _columns(data)
    if timepoints is None:
        tps = [m.group(1) for c in cols if (m := re.fullmatch(r"followup_due_(.+)", c)) is not None]
    else:
        tps = [timepoints] if isinstance(timepoints, str) else list(timepoints)
    if not tps:
        raise MissingColumnError(
            "No followup_due_<timepoint> columns found; pass an EpisodeOutcomes or its table."
        )
    death_policy = d.death_policy if d is not None else "missing"
    frames = []
    for tp in tps:  # a handful of timepoints
        need = [f"followup_status_{tp}", f"in_window_{tp}", f"followup_due_{tp}"]
        absent = [c for c in need if c not in cols]
        if absent:
            raise MissingColumnError(f"Columns {absent} are not in the data. Found: {cols}.")
        status = data[need[0]].astype("string")
        inw = data[need[1]].astype("boolean").fillna(False).to_numpy(bool)
        due = data[need[2]].astype("boolean").fillna(False).to_numpy(bool)
        completed = (status == "completed").fillna(False).to_numpy(bool)
        dead = status.isin(list(DEATH_STATUSES)).fillna(False).to_numpy(bool)
        excluded = due & dead if death_policy == "exclude" else np.zeros(len(data), bool)
        due_n = due & ~excluded
        f = pd.DataFrame(
            {
                **{k: data[k].to_numpy() for k in keys},
                "_all": "all",
                "episodes": 1,
                "due": due_n.astype(int),
                "conducted_in_window": (due_n & completed & inw).astype(int),
                "conducted_out_of_window": (due_n & completed & ~inw).astype(int),
                "not_conducted": (due_n & ~completed).astype(int),
                "pending": (~due).astype(int),
                "excluded": excluded.astype(int),
            }
        )
        gk = keys if keys else ["_all"]
        g = f.groupby(gk, observed=True, dropna=True, sort=True)[
            [
                "episodes",
                "due",
                "conducted_in_window",
                "conducted_out_of_window",
                "not_conducted",
                "pending",
                "excluded",
            ]
        ].sum()
        g = g.reset_index()
        g.insert(0, "group", _group_labels(g, keys).to_numpy())
        g["timepoint"] = tp
        frames.append(g.drop(columns=gk))
    table = pd.concat(frames, ignore_index=True)
    due_arr = table["due"].to_numpy(float)
    x = table["conducted_in_window"].to_numpy(float)
    lo, hi = proportion_ci(x, due_arr, method=interval, confidence_level=confidence_level)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["rate"] = x / np.where(due_arr > 0, due_arr, np.nan)
    table["ci_low"] = np.asarray(lo, float)
    table["ci_high"] = np.asarray(hi, float)
    table["outcome"] = [f"followup_{tp}" for tp in table["timepoint"]]
    table["n"] = table["due"]
    table["n_events"] = table["conducted_in_window"]
    table["n_missing"] = table["due"] - table["conducted_in_window"]
    table["method"] = interval
    table["missing"] = "not applicable"
    table["target"] = float(target)
    table = table[[*RATE_COLUMNS, "missing", *FOLLOWUP_RATE_COLUMNS]]
    table["group"] = table["group"].astype("string")
    table["timepoint"] = table["timepoint"].astype("string")
    remarks = []
    below = table.loc[(table["due"] > 0) & (table["rate"] < target)]
    if len(below):
        remarks.append(
            f"{len(below)} of {len(table)} rows are below the {target:.0%} follow-up target."
        )
    n_out = int(table["conducted_out_of_window"].sum())
    if n_out:
        remarks.append(
            f"{n_out} follow-ups were conducted outside their window and do not count toward "
            "the rate."
        )
    return FollowupRateTable(
        table=table.reset_index(drop=True),
        definition=d,
        missing="not applicable",
        confidence_level=float(confidence_level),
        by=tuple(keys),
        remarks=tuple(remarks),
        target=float(target),
    )
