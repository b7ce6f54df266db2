"""Time to relapse: Kaplan-Meier curves, medians, the log-rank test and Cox hazard ratios.

:func:`time_to_relapse` reads a time-to-event column and an event indicator per episode (the
outcome engine writes ``first_use_after_discharge_time`` / ``_event`` in days; the weekly-pattern
engine writes e.g. ``lee2018_relapse_time`` / ``_event`` in weeks), and returns a
:class:`RelapseAnalysis` with

* the Kaplan-Meier estimate per group with Greenwood standard errors and log(-log) intervals
  (``survival::survfit(..., conf.type = "log-log")``),
* median time to relapse with R's ``quantile.survfit`` conventions (midpoint when the curve is
  exactly 0.5 on an interval; interval limits from the confidence bands),
* the log-rank test (``survival::survdiff``, rho = 0),
* Cox proportional-hazards ratios of each group against the reference (statsmodels ``PHReg``,
  Efron ties by default as R's ``coxph``), optionally adjusted for covariates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ._counts import outcome_as_float
from ._render import ResultDisplay
from .adjust import design_matrix
from .exceptions import InsufficientDataError, MissingColumnError, ParameterError

__all__ = ["LogRankTest", "RelapseAnalysis", "kaplan_meier", "logrank_test", "time_to_relapse"]

SURVIVAL_COLUMNS: tuple[str, ...] = (
    "group",
    "time",
    "n_at_risk",
    "n_events",
    "n_censored",
    "survival",
    "std_err",
    "ci_low",
    "ci_high",
)

_TOL = float(np.sqrt(np.finfo(float).eps))  # R's quantile.survfit tolerance

TimeUnit = Literal["days", "weeks"]
_UNIT_WORD: dict[str, str] = {"days": "day", "weeks": "week"}


# --- Kaplan-Meier ------------------------------------------------------------------------------


def _loglog_ci(surv: np.ndarray, se_log: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """R's ``survfit_confint(conf.type = "log-log")``: NaN where S is 0 or 1."""
    xx = np.where((surv > 0) & (surv < 1), surv, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        se2 = z * se_log / np.log(xx)
        lld = np.log(-np.log(xx))
        low = np.exp(-np.exp(lld - se2))
        high = np.exp(-np.exp(lld + se2))
    return low, high


def kaplan_meier(
    time: np.ndarray | pd.Series,
    event: np.ndarray | pd.Series,
    group: np.ndarray | pd.Series | None = None,
    *,
    confidence_level: float = 0.95,
) -> pd.DataFrame:
    """Kaplan-Meier estimate with Greenwood standard errors and log(-log) intervals.

    Parameters
    ----------
    time : array-like of float
        Follow-up time (days or weeks) to the event or censoring.
    event : array-like of 0/1
        1 = event (relapse), 0 = censored.
    group : array-like, optional
        Group labels; one curve per group (sorted).
    confidence_level : float
        Pointwise interval level.

    Returns
    -------
    pandas.DataFrame
        One row per group and distinct time (events or censorings, as ``survfit``):
        ``group``, ``time``, ``n_at_risk``, ``n_events``, ``n_censored``, ``survival``,
        ``std_err`` (of log survival, Greenwood), ``ci_low``, ``ci_high``.

    Notes
    -----
    ``S(t) = prod (1 - d_i / n_i)``; ``var(log S) = sum d_i / (n_i (n_i - d_i))`` (Greenwood);
    interval ``S^exp(+-z se / log S)`` (Kalbfleisch & Prentice 2002), undefined where S is 0 or 1.

    Examples
    --------
    >>> km = kaplan_meier([1, 2, 2, 3, 4], [1, 1, 0, 1, 0])
    >>> km[["time", "n_at_risk", "survival"]].round(3).values.tolist()
    [[1.0, 5.0, 0.8], [2.0, 4.0, 0.6], [3.0, 2.0, 0.3], [4.0, 1.0, 0.3]]
    """
    t = np.asarray(time, dtype=float)
    d = np.asarray(event, dtype=float)
    g = np.zeros(len(t), dtype=int) if group is None else np.asarray(group)
    z = float(stats.norm.ppf(0.5 + confidence_level / 2))
    frame = pd.DataFrame({"group": g, "time": t, "n_events": d, "n_censored": 1.0 - d, "n": 1})
    agg = (
        frame.groupby(["group", "time"], sort=True)[["n", "n_events", "n_censored"]]
        .sum()
        .reset_index()
    )
    # number at risk: rows with time >= t within the group (reverse cumulative sum)
    agg["n_at_risk"] = agg.iloc[::-1].groupby("group")["n"].cumsum().iloc[::-1]
    n = agg["n_at_risk"].to_numpy(dtype=float)
    ev = agg["n_events"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = 1.0 - ev / n
        green = np.where(ev > 0, ev / (n * (n - ev)), 0.0)
    agg["survival"] = pd.Series(factor, index=agg.index).groupby(agg["group"]).cumprod()
    var = pd.Series(green, index=agg.index).groupby(agg["group"]).cumsum()
    agg["std_err"] = np.sqrt(var.to_numpy())
    low, high = _loglog_ci(agg["survival"].to_numpy(), agg["std_err"].to_numpy(), z)
    agg["ci_low"] = low
    agg["ci_high"] = high
    for col in ("n_at_risk", "n_events", "n_censored"):
        agg[col] = agg[col].astype("int64")
    return agg[list(SURVIVAL_COLUMNS)]


def _findq(x: np.ndarray, y: np.ndarray, p: float) -> float:
    """R's ``survival:::findq`` for one probability: first time ``1 - S`` reaches ``p``."""
    xmax = x[-1]
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return float("nan")
    # duplicated(y) removal keeps first occurrences; NaN pairs are dropped by approx()
    keep = ~pd.Series(y).duplicated().to_numpy()
    xk, yk = x[keep], y[keep]
    last_y = yk[-1]
    ok = ~np.isnan(yk)
    xo, yo = xk[ok], yk[ok]
    hit1 = np.flatnonzero(yo + _TOL >= p)
    hit2 = np.flatnonzero(yo - _TOL >= p)
    if p == 0:
        return float(xk[0])
    q1 = xo[hit1[0]] if hit1.size else np.nan
    q2 = xo[hit2[0]] if hit2.size else np.nan
    if not np.isnan(last_y) and abs(p - last_y) < _TOL:
        return float((q1 + xmax) / 2)
    return float((q1 + q2) / 2)


def _medians(km: pd.DataFrame, groups: Sequence[Any]) -> pd.DataFrame:
    rows = []
    for grp in groups:  # loop over a handful of groups, never over episodes
        part = km[km["group"] == grp]
        x = np.concatenate([[0.0], part["time"].to_numpy(dtype=float)])

        def q(col: str, x: np.ndarray = x, part: pd.DataFrame = part) -> float:
            y = np.concatenate([[0.0], 1.0 - part[col].to_numpy(dtype=float)])
            return _findq(x, y, 0.5)

        rows.append(
            {"group": grp, "median": q("survival"), "ci_low": q("ci_low"), "ci_high": q("ci_high")}
        )
    return pd.DataFrame(rows, columns=["group", "median", "ci_low", "ci_high"])


# --- log-rank ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogRankTest:
    """Log-rank test (Mantel 1966; ``survival::survdiff`` with ``rho = 0``).

    Attributes
    ----------
    statistic : float
        Chi-square statistic.
    df : int
        Degrees of freedom: groups with expected events minus one (as R's ``survdiff``, groups
        with no expected events leave the test); 0 when fewer than two remain.
    pvalue : float
        Upper-tail chi-square p-value; ``statistic`` and ``pvalue`` are NaN when fewer than two
        groups have expected events (for example no relapses at all): there is nothing to test.
    observed, expected : pandas.Series
        Observed and expected events per group.
    """

    statistic: float
    df: int
    pvalue: float
    observed: pd.Series
    expected: pd.Series

    def __iter__(self) -> Any:
        return iter((self.statistic, self.pvalue))


def logrank_test(
    time: np.ndarray | pd.Series, event: np.ndarray | pd.Series, group: np.ndarray | pd.Series
) -> LogRankTest:
    """The k-sample log-rank test.

    Examples
    --------
    >>> res = logrank_test([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], ["a", "a", "a", "b", "b", "b"])
    >>> round(res.statistic, 4), res.df
    (5.0517, 1)
    """
    t = np.asarray(time, dtype=float)
    d = np.asarray(event, dtype=float)
    labels, codes = np.unique(np.asarray(group), return_inverse=True)
    k = len(labels)
    if k < 2:
        raise InsufficientDataError(f"The log-rank test needs two or more groups; got {k}.")
    event_times = np.unique(t[d == 1])
    m = len(event_times)
    # at risk per (event time, group): rows with time >= t; events at t per group
    n_jt = np.empty((m, k))
    d_jt = np.empty((m, k))
    for j in range(k):  # loop over groups only
        tj = np.sort(t[codes == j])
        n_jt[:, j] = len(tj) - np.searchsorted(tj, event_times, side="left")
        ej = t[(codes == j) & (d == 1)]
        d_jt[:, j] = np.bincount(np.searchsorted(event_times, ej), minlength=m).astype(float)
    n_t = n_jt.sum(axis=1)
    d_t = d_jt.sum(axis=1)
    expected = (n_jt * (d_t / n_t)[:, None]).sum(axis=0)
    observed = d_jt.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(n_t > 1, d_t * (n_t - d_t) / (n_t - 1), 0.0)
    frac = n_jt / n_t[:, None]
    v = np.einsum("t,tj,jk->jk", c, frac, np.eye(k)) - np.einsum("t,tj,tk->jk", c, frac, frac)
    # as R's survdiff: groups with no expected events (none at risk at any event time, or no
    # events at all) leave the test; fewer than two remaining groups give no test (NaN)
    live = expected > 0
    if int(live.sum()) < 2:
        statistic, df, pvalue = math.nan, 0, math.nan
    else:
        oe = (observed - expected)[live][:-1]
        vv = v[np.ix_(live, live)][:-1, :-1]
        statistic = float(oe @ np.linalg.solve(vv, oe))
        df = int(live.sum()) - 1
        pvalue = float(stats.chi2.sf(statistic, df))
    return LogRankTest(
        statistic=statistic,
        df=df,
        pvalue=pvalue,
        observed=pd.Series(observed, index=labels, name="observed"),
        expected=pd.Series(expected, index=labels, name="expected"),
    )


# --- result ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class RelapseAnalysis(ResultDisplay):
    """Time to relapse by group: Kaplan-Meier, medians, log-rank test and Cox model.

    Attributes
    ----------
    survival_table : pandas.DataFrame
        Kaplan-Meier estimates (see :func:`kaplan_meier`).
    medians : pandas.DataFrame
        ``group``, ``median``, ``ci_low``, ``ci_high`` (NaN when not reached).
    logrank : LogRankTest
        The log-rank test across groups.
    cox : pandas.DataFrame
        ``term``, ``hazard_ratio``, ``ci_low``, ``ci_high``, ``pvalue``, ``std_err`` (log
        hazard ratio): one row per non-reference group (``"<by>[<group>]"``) and per
        adjustment covariate column.
    counts : pandas.DataFrame
        ``group``, ``n``, ``n_events`` per group.
    relapse : str
        Name of the analysis (the relapse definition, or the time column without ``_time``).
    time_unit : {"days", "weeks"}
        Unit of the time column; used in the narrative, the methods text, the repr and the
        Kaplan-Meier x axis (:attr:`time_label`).

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> out = iop.episode_outcomes(iop.simulate_records(n=100, seed=0))
    >>> res = iop.time_to_relapse(out)
    >>> res.groups  # reference first
    ['inpatient', 'IOP']
    >>> res.to_frame().columns.tolist()[:7]
    ['group', 'reference', 'n', 'n_events', 'median', 'median_ci_low', 'median_ci_high']
    >>> res.cox["term"].tolist()
    ['cohort[IOP]']
    """

    survival_table: pd.DataFrame
    medians: pd.DataFrame
    logrank: LogRankTest
    cox: pd.DataFrame
    counts: pd.DataFrame
    by: str
    reference: Any
    relapse: str
    time_col: str
    event_col: str
    adjust: tuple[str, ...]
    ties: str
    confidence_level: float
    n_excluded: int
    definition: Any = None
    remarks: tuple[str, ...] = ()
    time_unit: TimeUnit = "days"
    competing_risks: Any = None  # competing.CompetingRelapse when time_to_relapse(competing=...)

    @property
    def groups(self) -> list[Any]:
        """Group labels (reference first)."""
        return self.counts["group"].tolist()

    @property
    def time_label(self) -> str:
        """Axis text for the time scale, e.g. "Days since discharge" or "Weeks of follow-up"."""
        if self.time_unit == "days" and self.relapse == "first_use_after_discharge":
            return "Days since discharge"
        return f"{self.time_unit.capitalize()} of follow-up"

    def _header(self) -> str:
        n = int(self.counts["n"].sum())
        e = int(self.counts["n_events"].sum())
        return (
            f"<RelapseAnalysis: {self.relapse} by {self.by} (reference {self.reference}), "
            f"{n:,} episodes, {e:,} relapses, {n - e:,} censored; time in {self.time_unit}>"
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per group: counts, median with interval, and the hazard ratio vs reference.

        Columns ``group``, ``reference``, ``n``, ``n_events``, ``median``, ``median_ci_low``,
        ``median_ci_high``, ``hazard_ratio``, ``hazard_ratio_ci_low``, ``hazard_ratio_ci_high``,
        ``pvalue`` (Cox Wald test of the group term; NaN for the reference row),
        ``logrank_pvalue`` (the same for every row).
        """
        med = self.medians.rename(columns={"ci_low": "median_ci_low", "ci_high": "median_ci_high"})
        out = self.counts.merge(med, on="group", how="left")
        terms = [f"{self.by}[{g}]" for g in out["group"]]
        cox = self.cox.set_index("term")
        hr = cox.reindex(terms)
        out.insert(1, "reference", self.reference)
        out["hazard_ratio"] = hr["hazard_ratio"].to_numpy()
        out["hazard_ratio_ci_low"] = hr["ci_low"].to_numpy()
        out["hazard_ratio_ci_high"] = hr["ci_high"].to_numpy()
        out["pvalue"] = hr["pvalue"].to_numpy()
        is_ref = out["group"] == self.reference
        out.loc[is_ref, ["hazard_ratio"]] = 1.0
        out["logrank_pvalue"] = self.logrank.pvalue
        return out

    def at_risk_table(self, times: Sequence[float]) -> pd.DataFrame:
        """Numbers at risk, cumulative events and censorings, and survival at given times.

        Returns ``group``, ``time``, ``n_at_risk`` (follow-up time >= t), ``n_events`` and
        ``n_censored`` (cumulative up to and including t), ``survival``, ``ci_low``, ``ci_high``
        (the curve's value at t, as R's ``summary(survfit, times = ...)``).
        """
        req = np.asarray(times, dtype=float)
        parts = []
        for grp in self.groups:  # loop over groups only
            km = self.survival_table[self.survival_table["group"] == grp]
            tt = km["time"].to_numpy(dtype=float)
            pos = np.searchsorted(tt, req, side="right") - 1  # last curve time <= t
            after = np.searchsorted(tt, req, side="left")  # first curve time >= t
            n_total = int(km["n_at_risk"].iloc[0]) if len(km) else 0
            cum_e = np.concatenate([[0], km["n_events"].cumsum().to_numpy()])
            cum_c = np.concatenate([[0], km["n_censored"].cumsum().to_numpy()])
            risk = np.concatenate([km["n_at_risk"].to_numpy(), [0]])
            surv = np.concatenate([[1.0], km["survival"].to_numpy()])
            # as summary(survfit, times = ): limits are 1 where the curve is still 1
            low = np.concatenate([[1.0], km["ci_low"].to_numpy()])
            high = np.concatenate([[1.0], km["ci_high"].to_numpy()])
            low = np.where(surv == 1.0, 1.0, low)
            high = np.where(surv == 1.0, 1.0, high)
            parts.append(
                pd.DataFrame(
                    {
                        "group": grp,
                        "time": req,
                        "n_at_risk": np.where(req <= 0, n_total, risk[after]),
                        "n_events": cum_e[pos + 1],
                        "n_censored": cum_c[pos + 1],
                        "survival": surv[pos + 1],
                        "ci_low": low[pos + 1],
                        "ci_high": high[pos + 1],
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)

    def definition_text(self) -> str:
        """The event definition and methods in one paragraph."""
        adj = f", adjusted for {', '.join(self.adjust)}" if self.adjust else ""
        return (
            f"Time to relapse ({self.relapse}): {self.time_col} ({self.time_unit}) with event "
            f"{self.event_col}; "
            f"Kaplan-Meier with Greenwood log(-log) {round(100 * self.confidence_level)}% "
            f"intervals; log-rank test; Cox model ({self.ties} ties{adj})."
        )

    def narrative(self) -> str:
        """Plain-language summary a report can quote."""
        pct = round(100 * self.confidence_level)
        step = _UNIT_WORD[self.time_unit]
        parts = []
        med = self.medians
        for grp, m, lo_v, hi_v in zip(
            med["group"].tolist(),
            med["median"].to_numpy(dtype=float),
            med["ci_low"].to_numpy(dtype=float),
            med["ci_high"].to_numpy(dtype=float),
            strict=True,
        ):
            if np.isnan(m):
                parts.append(f"fewer than half of {grp} clients relapsed during follow-up")
            else:
                hi = "not reached" if np.isnan(hi_v) else f"{hi_v:.0f}"
                lo = "—" if np.isnan(lo_v) else f"{lo_v:.0f}"
                parts.append(
                    f"half of {grp} clients had relapsed by {step} {m:.0f} ({pct}% CI {lo} to {hi})"
                )
        text = "; ".join(parts)
        text = text[0].upper() + text[1:] + "."
        if np.isnan(self.logrank.pvalue):
            text += " No log-rank test: fewer than two groups had relapses to compare."
        else:
            text += f" Log-rank test p = {self.logrank.pvalue:.3g}."
        cox = self.cox[self.cox["term"].str.startswith(f"{self.by}[")]
        adj = " (adjusted)" if self.adjust else ""
        for term, hr, lo_v, hi_v in zip(
            cox["term"].astype(str).tolist(),
            cox["hazard_ratio"].to_numpy(dtype=float),
            cox["ci_low"].to_numpy(dtype=float),
            cox["ci_high"].to_numpy(dtype=float),
            strict=True,
        ):
            if np.isnan(hr):
                continue
            grp_text = term[len(self.by) + 1 : -1]
            text += (
                f" Hazard of relapse{adj}, {grp_text} vs {self.reference}: {hr:.2f} "
                f"({pct}% CI {lo_v:.2f} to {hi_v:.2f})."
            )
        return text

    def methods_text(self) -> str:
        """Methods paragraph with references."""
        adj = f" adjusted for {', '.join(self.adjust)}" if self.adjust else ""
        return (
            f"Time to first relapse ({self.relapse}, in {self.time_unit}) was estimated with the "
            "Kaplan-Meier method (Kaplan & Meier "
            "1958) with Greenwood variances and log(-log) pointwise confidence intervals "
            "(Kalbfleisch & Prentice 2002); medians and their intervals follow Brookmeyer & "
            "Crowley (1982) as implemented in R's survival package. Groups were compared with "
            "the log-rank test (Mantel 1966) and a Cox proportional-hazards model (Cox 1972)"
            f"{adj}, with {self.ties.capitalize()} handling of tied event times and Wald "
            "intervals."
        )

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Kaplan-Meier curves (``iopoutcomes.plots.plot_km``)."""
        from .plots import plot_km

        return plot_km(self, ax=ax, **kwargs)


# --- main entry --------------------------------------------------------------------------------


def _as_frame(outcomes: Any) -> tuple[pd.DataFrame, Any]:
    if isinstance(outcomes, pd.DataFrame):
        return outcomes, None
    if hasattr(outcomes, "to_frame"):
        return outcomes.to_frame(), getattr(outcomes, "definition", None)
    raise ParameterError(
        f"outcomes must be an EpisodeOutcomes or a pandas DataFrame; got {type(outcomes).__name__}."
    )


def _default_reference(levels: Sequence[Any], reference: Any) -> Any:
    if reference is not None:
        return reference
    return "inpatient" if "inpatient" in levels else sorted(levels, key=str)[0]


def _cox(
    time: np.ndarray,
    event: np.ndarray,
    exog: pd.DataFrame,
    ties: str,
    z: float,
) -> tuple[pd.DataFrame, bool]:
    """Cox fit as a table, and whether the partial likelihood converged to a finite maximum."""
    import warnings

    from statsmodels.duration.hazard_regression import PHReg
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        res = PHReg(time, exog.to_numpy(dtype=float), status=event, ties=ties).fit(
            tol=1e-12, maxiter=200, disp=False
        )
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    beta = np.asarray(res.params, dtype=float)
    se = np.asarray(res.bse, dtype=float)
    with np.errstate(over="ignore"):  # a divergent fit's interval is infinite: remarked
        ci_low, ci_high = np.exp(beta - z * se), np.exp(beta + z * se)
    return pd.DataFrame(
        {
            "term": list(exog.columns),
            "hazard_ratio": np.exp(beta),
            "ci_low": ci_low,
            "ci_high": ci_high,
            "pvalue": 2 * stats.norm.sf(np.abs(beta / se)),
            "std_err": se,
        }
    ), converged


def _analysis_name(relapse: str | None, time: str | None) -> str:
    """``relapse`` when given; else the time column without ``_time``; else the default."""
    if relapse is not None:
        return relapse
    if time is not None:
        return time[: -len("_time")] if time.endswith("_time") and time != "_time" else time
    return "first_use_after_discharge"


def _default_time_unit(name: str) -> TimeUnit:
    """``"weeks"`` when ``name`` starts with a registered weekly-pattern definition."""
    from .patterns import pattern_definitions

    weekly = pattern_definitions()["name"].astype(str).tolist()
    return "weeks" if any(name.startswith(w) for w in weekly) else "days"


def time_to_relapse(
    outcomes: Any,
    by: str = "cohort",
    *,
    relapse: str | None = None,
    time: str | None = None,
    event: str | None = None,
    time_unit: TimeUnit | None = None,
    reference: Any = None,
    adjust: Sequence[str] | None = None,
    confidence_level: float = 0.95,
    ties: Literal["efron", "breslow"] = "efron",
    competing: Sequence[str] | None = None,
) -> RelapseAnalysis:
    """Kaplan-Meier curves, median time to relapse, log-rank test and Cox hazard ratios.

    Parameters
    ----------
    outcomes : EpisodeOutcomes or pandas.DataFrame
        One row per episode with a time column (days or weeks to relapse or censoring)
        and an event column (1 = relapsed, 0 = censored), plus ``by`` and ``adjust`` columns.
    by : str
        Group column.
    relapse : str, optional
        Name of the relapse definition; the default columns are ``f"{relapse}_time"`` and
        ``f"{relapse}_event"`` (``"first_use_after_discharge"`` from the outcome engine,
        ``"lee2018_relapse"`` etc. from the weekly-pattern engine). Default: the ``time``
        column without its ``_time`` suffix when ``time`` is given, else
        ``"first_use_after_discharge"``. The result is labelled with this name.
    time, event : str, optional
        Explicit column names (override the columns derived from ``relapse``).
    time_unit : {"days", "weeks"}, optional
        Unit of the time column, used in the narrative, methods text, repr and plot axis.
        Default ``"weeks"`` when the analysis name starts with a registered weekly-pattern
        definition (:func:`~iopoutcomes.patterns.pattern_definitions`, e.g.
        ``"lee2018_relapse"``), else ``"days"``.
    reference : scalar, optional
        Reference group for the hazard ratios; default ``"inpatient"`` when present, else the
        first group in sorted order.
    adjust : sequence of str, optional
        Covariates for the Cox model (numeric linear, others dummy coded; complete cases).
    confidence_level : float
        Level of every interval.
    ties : {"efron", "breslow"}
        Handling of tied event times in the Cox model (R's ``coxph`` default is Efron).
    competing : sequence of str, optional
        Competing events, e.g. ``("died", "incarcerated")``: discharge reasons and follow-up
        statuses that end follow-up before a relapse can be seen
        (:func:`iopoutcomes.competing.relapse_events`). Adds
        :attr:`RelapseAnalysis.competing_risks` (cumulative incidence of relapse and of each
        competing event, Gray's test, cause-specific and Fine-Gray hazard ratios) and a remark.

    Returns
    -------
    RelapseAnalysis

    Notes
    -----
    Rows with a missing time, event or group are left out (counted in ``remarks``). Rows with
    a missing ``adjust`` covariate are left out of the Cox model only.

    Examples
    --------
    >>> df = pd.DataFrame({
    ...     "cohort": ["IOP"] * 5 + ["inpatient"] * 5,
    ...     "first_use_after_discharge_time": [5, 8, 12, 20, 30, 3, 6, 9, 14, 30],
    ...     "first_use_after_discharge_event": [1, 1, 1, 0, 0, 1, 1, 1, 1, 0],
    ... })
    >>> res = time_to_relapse(df)
    >>> res.medians["median"].tolist()  # reference (inpatient) first
    [9.0, 12.0]
    >>> res.time_unit, res.time_label
    ('days', 'Days since discharge')
    >>> weekly = df.set_axis(["cohort", "lee2018_relapse_time", "lee2018_relapse_event"], axis=1)
    >>> res = time_to_relapse(weekly, time="lee2018_relapse_time", event="lee2018_relapse_event")
    >>> res.relapse, res.time_unit
    ('lee2018_relapse', 'weeks')
    """
    frame, definition = _as_frame(outcomes)
    name = _analysis_name(relapse, time)
    time_col = time or f"{name}_time"
    event_col = event or f"{name}_event"
    unit: TimeUnit = _default_time_unit(name) if time_unit is None else time_unit
    if unit not in _UNIT_WORD:
        raise ParameterError(f"time_unit must be 'days' or 'weeks'; got {time_unit!r}.")
    covs = [] if adjust is None else ([adjust] if isinstance(adjust, str) else list(adjust))
    needed = [time_col, event_col, by, *covs]
    missing_cols = [c for c in needed if c not in frame.columns]
    if missing_cols:
        raise MissingColumnError(
            f"Columns {missing_cols} are not in the outcomes table. Found: {list(frame.columns)}. "
            "Pass time= and event= (or relapse=) naming the days-to-relapse and event columns."
        )
    if ties not in ("efron", "breslow"):
        raise ParameterError(f"ties must be 'efron' or 'breslow'; got {ties!r}.")
    if not 0 < confidence_level < 1:
        raise ParameterError(f"confidence_level must be in (0, 1); got {confidence_level!r}.")
    t_all = pd.to_numeric(frame[time_col], errors="coerce").astype(float)
    e_all = outcome_as_float(frame[event_col])
    keep = t_all.notna() & e_all.notna() & frame[by].notna()
    n_excluded = int((~keep).sum())
    remarks: list[str] = []
    if n_excluded:
        remarks.append(
            f"{n_excluded} episodes without a relapse time, event status or {by} were left out."
        )
    data = frame.loc[keep]
    t = t_all[keep].to_numpy()
    e = e_all[keep].to_numpy()
    if bool((t < 0).any()):
        raise ParameterError(
            f"Column {time_col!r} has {int((t < 0).sum())} negative times; times are {unit} "
            "from the start of follow-up and must be >= 0."
        )
    levels = sorted(pd.unique(data[by]).tolist(), key=str)
    ref = _default_reference(levels, reference)
    if ref not in levels:
        raise InsufficientDataError(
            f"The reference group is not among the {len(levels)} groups of column {by!r} "
            "(after dropping rows without a time or event); check reference=."
        )
    if len(levels) < 2:
        raise InsufficientDataError(
            f"Column {by!r} has one group with data; a comparison needs two or more."
        )
    order = [ref] + [g for g in levels if g != ref]
    z = float(stats.norm.ppf(0.5 + confidence_level / 2))
    g = data[by].to_numpy()
    km = kaplan_meier(t, e, g, confidence_level=confidence_level)
    km["group"] = pd.Categorical(km["group"], categories=order)
    km = km.sort_values(["group", "time"], kind="stable").reset_index(drop=True)
    km["group"] = km["group"].astype(object)
    medians = _medians(km, order)
    lr = logrank_test(t, e, g)
    counts = (
        pd.DataFrame({"group": g, "n_events": e})
        .groupby("group", sort=False)["n_events"]
        .agg(["size", "sum"])
        .rename(columns={"size": "n", "sum": "n_events"})
        .reindex(order)
        .reset_index()
        .astype({"n": "int64", "n_events": "int64"})
    )
    no_events = counts.loc[counts["n_events"] == 0, "group"].tolist()
    if math.isnan(lr.statistic):
        remarks.append(
            "Fewer than two groups have expected relapses (no relapses, or no one at risk at "
            "the relapse times): the log-rank test was not computed."
        )
    for grp in no_events:
        remarks.append(
            f"Group {grp} has no relapses; hazard ratios are not estimable (no Cox model fitted)."
        )
    exog = pd.DataFrame(
        {f"{by}[{lv}]": (data[by] == lv).to_numpy(dtype=float) for lv in order[1:]},
        index=data.index,
    )
    if covs:
        xc = design_matrix(data, covs)
        exog = pd.concat([exog, xc], axis=1)
        ok = xc.notna().all(axis=1).to_numpy()
        if not ok.all():
            remarks.append(
                f"{int((~ok).sum())} episodes with a missing adjustment covariate were left out "
                "of the Cox model."
            )
        exog, tc, ec = exog[ok], t[ok], e[ok]
    else:
        tc, ec = t, e
    if no_events:
        nan = np.full(exog.shape[1], np.nan)
        cox = pd.DataFrame(
            {"term": list(exog.columns), "hazard_ratio": nan, "ci_low": nan, "ci_high": nan}
            | {"pvalue": nan, "std_err": nan}
        )
    else:
        cox, converged = _cox(tc, ec, exog, ties, z)
        if not converged:
            # monotone likelihood (e.g. everyone in one group relapses before anyone in the
            # other): the estimate runs to 0 or infinity and its Wald interval is meaningless
            remarks.append(
                "The Cox model did not converge (monotone likelihood: the groups' relapse "
                "times barely overlap), so its hazard ratios and intervals are not reliable; "
                "read the Kaplan-Meier curves and the log-rank test instead."
            )
    competing_risks = None
    if competing:
        from .competing import competing_relapse

        competing_risks, notes = competing_relapse(
            data, time=time_col, event=event_col, by=by, reference=ref,
            competing=[competing] if isinstance(competing, str) else list(competing),
            adjust=covs, confidence_level=confidence_level,
        )  # fmt: skip
        remarks.extend(notes)
    return RelapseAnalysis(
        competing_risks=competing_risks,
        survival_table=km,
        medians=medians,
        logrank=lr,
        cox=cox,
        counts=counts,
        by=by,
        reference=ref,
        relapse=name,
        time_col=time_col,
        event_col=event_col,
        adjust=tuple(covs),
        ties=ties,
        confidence_level=confidence_level,
        n_excluded=n_excluded,
        definition=definition,
        remarks=tuple(remarks),
        time_unit=unit,
    )
