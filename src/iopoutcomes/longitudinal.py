"""Repeated follow-ups: abstinence at 1, 3, 6 and 12 months compared between groups with GEE.

:func:`compare_over_time` stacks the ``abstinent_<timepoint>`` columns of an outcomes table
into long format (one row per episode and follow-up) and fits a logistic GEE (Liang & Zeger
1986) with an exchangeable working correlation within episodes and robust (sandwich) standard
errors: group, timepoint (categorical) and group-by-timepoint terms, plus optional adjustment
covariates. From the model it reports, per timepoint, each group's marginal abstinence rate and
the difference from the reference group with delta-method intervals, and a joint Wald test of
the group-by-time interaction (does the difference change over follow-up?).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._counts import outcome_as_float
from ._input import outcomes_table
from ._render import ResultDisplay
from ._validate import check_confidence_level, default_reference, validates_confidence_level
from .adjust import design_matrix
from .exceptions import InsufficientDataError, MissingColumnError, ParameterError
from .missing import eligibility
from .schema import OVER_TIME_COLUMNS as TABLE_COLUMNS

__all__ = ["OverTimeComparison", "WaldTest", "compare_over_time"]


@dataclass(frozen=True)
class WaldTest:
    """A joint Wald chi-square test (``statistic``, ``df``, ``pvalue``); unpacks as a pair."""

    statistic: float
    df: int
    pvalue: float

    def __iter__(self) -> Any:
        return iter((self.statistic, self.pvalue))


@dataclass(frozen=True, eq=False, repr=False)
class OverTimeComparison(ResultDisplay):
    """Abstinence over repeated follow-ups by group (logistic GEE, exchangeable correlation).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per timepoint and non-reference group: ``timepoint``, ``group``,
        ``reference``, ``rate``, ``rate_ref`` (model-based marginal rates), ``diff``,
        ``diff_ci_low``, ``diff_ci_high``, ``std_err`` and ``pvalue`` (Wald, robust SE).
    fitted : pandas.DataFrame
        ``group``, ``timepoint``, ``rate``, ``ci_low``, ``ci_high`` (logit-scale delta-method
        intervals), for the plot.
    observed : pandas.DataFrame
        ``group``, ``timepoint``, ``n`` (observations used), ``n_events``, ``n_missing``
        (due follow-ups missing before the rule), ``rate`` (observed proportion) and Wilson
        ``ci_low``, ``ci_high``. Follow-ups not yet due (window still open) are in none of
        these.
    interaction : WaldTest or None
        Joint Wald test that all group-by-time terms are zero (None with one timepoint).
    coefficients : pandas.DataFrame
        ``term``, ``estimate`` (log-odds), ``std_err`` (robust), ``pvalue``.
    working_correlation : float
        Estimated exchangeable correlation.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> out = iop.episode_outcomes(iop.simulate_records(n=100, seed=0))
    >>> res = iop.compare_over_time(out)
    >>> res.timepoints, res.reference, res.n_episodes  # episodes with a follow-up due
    (('1mo', '3mo', '6mo', '12mo'), 'inpatient', 96)
    >>> res.to_frame()[["timepoint", "group", "reference"]]
      timepoint group  reference
    0       1mo   IOP  inpatient
    1       3mo   IOP  inpatient
    2       6mo   IOP  inpatient
    3      12mo   IOP  inpatient
    >>> res.interaction.df  # joint Wald test of the 3 group-by-time terms
    3
    """

    table: pd.DataFrame
    fitted: pd.DataFrame
    observed: pd.DataFrame
    interaction: WaldTest | None
    coefficients: pd.DataFrame
    working_correlation: float
    timepoints: tuple[str, ...]
    by: str
    reference: Any
    missing: str
    adjust: tuple[str, ...]
    confidence_level: float
    n_episodes: int
    n_observations: int
    definition: Any = None
    remarks: tuple[str, ...] = ()

    def _header(self) -> str:
        return (
            f"<OverTimeComparison: abstinence at {', '.join(self.timepoints)} by {self.by} "
            f"(reference {self.reference}), {self.n_episodes:,} episodes, "
            f"{self.n_observations:,} follow-ups, missing = {self.missing}>"
        )

    def to_frame(self) -> pd.DataFrame:
        """Copy of :attr:`table` (per-timepoint differences from the reference)."""
        return self.table.copy()

    def definition_text(self) -> str:
        """Model and missing-data rule in one paragraph."""
        adj = f" and {', '.join(self.adjust)}" if self.adjust else ""
        rule = (
            "missing follow-ups counted as not abstinent"
            if self.missing == "using"
            else "missing follow-ups left out (valid if missing completely at random)"
        ) + "; follow-ups not yet due (window still open) not counted"
        return (
            f"Logistic GEE on {self.by}, timepoint and their interaction{adj}; exchangeable "
            f"working correlation within episode (estimated {self.working_correlation:.3f}); "
            f"robust standard errors; {rule}."
        )

    def narrative(self) -> str:
        """Plain-language summary a report can quote."""
        pct = round(100 * self.confidence_level)
        parts = []
        for tp, grp, r, r0, d, lo, hi in zip(
            self.table["timepoint"].tolist(),
            self.table["group"].tolist(),
            self.table["rate"].to_numpy(dtype=float),
            self.table["rate_ref"].to_numpy(dtype=float),
            self.table["diff"].to_numpy(dtype=float),
            self.table["diff_ci_low"].to_numpy(dtype=float),
            self.table["diff_ci_high"].to_numpy(dtype=float),
            strict=True,
        ):
            parts.append(
                f"at {tp}, {100 * r:.0f}% of {grp} and {100 * r0:.0f}% of {self.reference} "
                f"clients were abstinent (difference {100 * d:+.0f} points, {pct}% CI "
                f"{100 * lo:.0f} to {100 * hi:.0f})"
            )
        text = "; ".join(parts)
        text = text[0].upper() + text[1:] + "."
        if self.interaction is not None:
            text += (
                f" Whether the difference changes over follow-up: joint test of the "
                f"group-by-time terms, p = {self.interaction.pvalue:.3g}."
            )
        return text

    def methods_text(self) -> str:
        """Methods paragraph with references."""
        adj = f", adjusted for {', '.join(self.adjust)}," if self.adjust else ""
        rule = (
            "Missing follow-ups were counted as not abstinent (missing = using)."
            if self.missing == "using"
            else "Missing follow-ups were left out; GEE with available observations is valid "
            "when follow-ups are missing completely at random."
        ) + " Follow-ups whose window was still open at the data-as-of date were not counted."
        return (
            "Abstinence at repeated follow-ups was modelled with generalized estimating "
            "equations (Liang & Zeger 1986): a logistic model with group, follow-up timepoint "
            f"and their interaction{adj} an exchangeable working correlation within episode "
            "and robust sandwich standard errors. Marginal abstinence rates per group and "
            "timepoint were obtained by standardisation over the episodes analysed, with "
            "delta-method intervals; the group-by-time interaction was tested with a joint "
            f"Wald test. {rule}"
        )

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Observed rates with the fitted GEE curve (``plots.plot_rates_over_time``)."""
        from .plots import plot_rates_over_time

        return plot_rates_over_time(self.observed, ax=ax, fitted=self.fitted, **kwargs)


def _wilson(events: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        p = events / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def _expit(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


@validates_confidence_level
def compare_over_time(
    outcomes: Any,
    timepoints: Sequence[str] = ("1mo", "3mo", "6mo", "12mo"),
    by: str = "cohort",
    reference: Any = None,
    *,
    missing: str | None = None,
    adjust: Sequence[str] | None = None,
    confidence_level: float = 0.95,
) -> OverTimeComparison:
    """Compare abstinence between groups across repeated follow-ups with a logistic GEE.

    Parameters
    ----------
    outcomes : EpisodeOutcomes or pandas.DataFrame
        One row per episode with ``abstinent_<timepoint>`` columns (0/1/True/False/NA), the
        ``by`` column, optional ``episode_id`` (clusters; the row position otherwise) and any
        ``adjust`` covariates.
    timepoints : sequence of str
        Follow-ups to include, in order; the first is the reference level of time.
    by : str
        Group column.
    reference : scalar, optional
        Reference group; default (``None``) ``"inpatient"`` when it is a group, else the first
        group in sorted order (``docs/conventions.md``).
    missing : {"using", "exclude"}, optional
        ``"using"`` counts a missing follow-up as not abstinent; ``"exclude"`` uses the available
        observations only (GEE is then valid if follow-ups are missing completely at random).
        Either way only follow-ups that are due enter
        (:func:`iopoutcomes.missing.eligible_mask`: ``followup_due_<tp>``, else status not
        ``pending``; died/incarcerated left out under ``death_policy="exclude"``), as in
        ``outcome_rates`` and ``compare_rates``.
        Default: the outcome definition's rule when it is one of these, else ``"using"``.
    adjust : sequence of str, optional
        Episode-level covariates (numeric linear, others dummy coded; complete cases).
    confidence_level : float
        Level of every interval.

    Returns
    -------
    OverTimeComparison

    Notes
    -----
    Model: ``logit P(y_it = 1) = b0 + group + time + group:time (+ covariates)``, fitted by
    statsmodels ``GEE`` (Binomial family, ``Exchangeable`` working correlation, robust
    covariance without small-sample correction, as ``geepack::geeglm``'s ``san.se``). The rate of
    group g at timepoint t is ``mean_i expit(x_i(g, t) b)`` over all analysed episodes (equal to
    ``expit`` of the linear predictor without covariates); its variance and that of the
    differences come from the delta method with the robust covariance. Without covariates and
    with complete data (``missing="using"`` and every follow-up due) the model is saturated and
    the rates equal the observed proportions.

    Examples
    --------
    >>> i = np.arange(200)
    >>> df = pd.DataFrame({
    ...     "cohort": np.where(i % 2 == 0, "IOP", "inpatient"),
    ...     "abstinent_1mo": (i * 7) % 10 < 7,
    ...     "abstinent_3mo": (i * 7) % 10 < 6,
    ... })
    >>> res = compare_over_time(df, timepoints=("1mo", "3mo"))
    >>> res.fitted["rate"].round(2).tolist()  # inpatient (reference) 1mo, 3mo, then IOP
    [0.6, 0.6, 0.8, 0.6]
    """
    frame, definition = outcomes_table(outcomes, needed_by="compare_over_time")
    tps = [timepoints] if isinstance(timepoints, str) else list(timepoints)
    if not tps:
        raise ParameterError("timepoints is empty: name at least one follow-up, e.g. ('6mo',).")
    if len(set(tps)) != len(tps):
        raise ParameterError(f"timepoints must be distinct; got {len(tps)} with repeats.")
    covs = [] if adjust is None else ([adjust] if isinstance(adjust, str) else list(adjust))
    ycols = [f"abstinent_{tp}" for tp in tps]
    needed = [*ycols, by, *covs]
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        raise MissingColumnError(
            f"Columns {absent} are not in the outcomes table. Found: {list(frame.columns)}. "
            "Choose timepoints= among the abstinent_<timepoint> columns."
        )
    rule = missing
    if rule is None:
        from_def = getattr(definition, "missing", None)
        rule = from_def if from_def in ("using", "exclude") else "using"
    if rule not in ("using", "exclude"):
        raise ParameterError(
            f"missing must be 'using' or 'exclude' for compare_over_time; got {rule!r}. "
            "Bounds, imputation and weighting are available in compare_rates."
        )
    check_confidence_level(confidence_level)
    remarks: list[str] = []
    if missing is None and getattr(definition, "missing", None) not in (None, "using", "exclude"):
        remarks.append(
            f"The definition's missing-data rule ({definition.missing}) is not available for "
            "GEE; missing = using was applied."
        )

    keep = frame[by].notna().to_numpy().copy()
    xcov = design_matrix(frame, covs) if covs else pd.DataFrame(index=frame.index)
    if covs:
        ok = xcov.notna().all(axis=1).to_numpy()
        if not ok.all():
            remarks.append(
                f"{int((~ok).sum())} episodes with a missing adjustment covariate were left out."
            )
        keep &= ok
    data = frame.loc[keep]
    xcov = xcov.loc[keep]
    if "episode_id" in data.columns:
        cluster = pd.factorize(data["episode_id"])[0]
    else:
        cluster = np.arange(len(data))
    levels = pd.unique(data[by]).tolist()
    reference = default_reference(levels, reference)
    if reference not in levels:
        raise InsufficientDataError(
            f"The reference group is not among the {len(levels)} groups of column {by!r}; "
            "check reference=."
        )
    if len(levels) < 2:
        raise InsufficientDataError(f"Column {by!r} has one group; a comparison needs two.")
    order = [reference] + sorted((g for g in levels if g != reference), key=str)
    g_code = pd.Categorical(data[by], categories=order).codes.astype(int)

    # the shared denominator rule: a follow-up enters only once it is due (window closed),
    # minus died/incarcerated under death_policy="exclude"
    death_policy = getattr(definition, "death_policy", "missing") or "missing"
    elig_cols = []
    for c in ycols:  # a handful of timepoints
        e = eligibility(data, c, death_policy=death_policy)
        elig_cols.append(np.asarray(e.mask, dtype=bool))
        remarks.extend(e.remarks(missing=str(rule)))
    eligible = np.column_stack(elig_cols)
    y_wide = np.column_stack([outcome_as_float(data[c]).to_numpy() for c in ycols])
    y_wide = np.where(eligible, y_wide, np.nan)
    n_ep, n_t = y_wide.shape
    was_missing = np.isnan(y_wide) & eligible
    if rule == "using":
        y_wide = np.where(was_missing, 0.0, y_wide)
    # long format: episode-major, timepoint-minor (vectorised)
    ep = np.repeat(np.arange(n_ep), n_t)
    t_idx = np.tile(np.arange(n_t), n_ep)
    y = y_wide.ravel()
    used = ~np.isnan(y)
    n_g, n_tp = len(order), n_t

    def design(gc: np.ndarray, tc: np.ndarray, cov: np.ndarray) -> np.ndarray:
        gd = (gc[:, None] == np.arange(1, n_g)[None, :]).astype(float)
        td = (tc[:, None] == np.arange(1, n_tp)[None, :]).astype(float)
        inter = (gd[:, :, None] * td[:, None, :]).reshape(len(gc), -1)
        return np.column_stack([np.ones(len(gc)), gd, td, inter, cov])

    cov_mat = xcov.to_numpy(dtype=float)
    x = design(g_code[ep], t_idx, cov_mat[ep])
    names = (
        ["(Intercept)"]
        + [f"{by}[{g}]" for g in order[1:]]
        + [f"timepoint[{tp}]" for tp in tps[1:]]
        + [f"{by}[{g}]:timepoint[{tp}]" for g in order[1:] for tp in tps[1:]]
        + list(xcov.columns)
    )
    x_used, y_used, cl_used = x[used], y[used], cluster[ep][used]
    # observed counts per group x timepoint
    obs = pd.DataFrame(
        {
            "g": g_code[ep],
            "t": t_idx,
            "n": used.astype(int),
            "n_events": np.where(used, y, 0.0),
            "n_missing": was_missing.ravel().astype(int),
        }
    )
    counts = obs.groupby(["g", "t"])[["n", "n_events", "n_missing"]].sum()
    counts = counts.reindex(pd.MultiIndex.from_product([range(n_g), range(n_tp)]), fill_value=0)
    empty = counts[(counts["n"] == 0)].index.tolist()
    if empty:
        raise InsufficientDataError(
            f"{len(empty)} group-by-timepoint cells have no observations; drop those "
            "timepoints or use missing='using'."
        )
    boundary = counts[(counts["n_events"] == 0) | (counts["n_events"] == counts["n"])]
    for gi, ti in boundary.index.tolist():  # a handful of cells
        remarks.append(
            f"{order[gi]} at {tps[ti]}: all or none abstinent; the logistic model is at the "
            "boundary and its intervals for that cell are unreliable."
        )
    x_used, names = _drop_constant(x_used, names, n_fixed=1 + (n_g - 1) * n_tp + (n_tp - 1))

    import statsmodels.api as sm

    model = sm.GEE(
        y_used,
        x_used,
        groups=cl_used,
        family=sm.families.Binomial(),
        cov_struct=sm.cov_struct.Exchangeable(),
    )
    # ddof_scale=0: moment estimators of the scale and the exchangeable correlation without
    # degrees-of-freedom corrections, as geepack (statsmodels defaults to N - p)
    res = model.fit(maxiter=200, ctol=1e-12, ddof_scale=0)
    beta = np.asarray(res.params, dtype=float)
    vcov = np.asarray(res.cov_params(), dtype=float)  # robust sandwich
    alpha = float(np.asarray(res.model.cov_struct.dep_params).ravel()[0])
    z = float(stats.norm.ppf(0.5 + confidence_level / 2))
    # A robust variance can be exactly zero: when, in every episode of a group, the outcome is
    # the same at all timepoints, the within-episode change has no sampling variability and
    # the sandwich's diagonal for that time effect is 0, computed as a rounding-level negative
    # (the sqrt then warned "invalid value" and gave NaN). Clip those to 0 and say so.
    var_beta = np.diag(vcov).copy()
    tiny = 1e-10 * max(1.0, float(np.max(np.abs(var_beta))))
    degenerate = var_beta <= tiny
    se_beta = np.sqrt(np.where(degenerate, 0.0, var_beta))
    if degenerate.any():
        remarks.append(
            "The robust variance of "
            + ", ".join(str(nm) for nm, d in zip(names, degenerate, strict=True) if d)
            + " is zero (no variation to estimate it from: e.g. every episode of a group has "
            "the same outcome at all timepoints); its standard error is 0 and its p-value is "
            "not available."
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        pvalue_beta = np.where(se_beta > 0, 2 * stats.norm.sf(np.abs(beta / se_beta)), np.nan)
    coefficients = pd.DataFrame(
        {
            "term": names,
            "estimate": beta,
            "std_err": se_beta,
            "pvalue": pvalue_beta,
        }
    )

    # standardised marginal rates per cell: average over analysed episodes
    kept_cov = [c for c in xcov.columns if c in names]
    cov_used = xcov[kept_cov].to_numpy(dtype=float)
    n_fixed = x_used.shape[1] - len(kept_cov)
    rates = np.empty((n_g, n_tp))
    grads = np.empty((n_g, n_tp, len(beta)))
    for gi in range(n_g):  # a handful of cells
        for ti in range(n_tp):
            xc = design(np.full(n_ep, gi), np.full(n_ep, ti), np.empty((n_ep, 0)))[:, :n_fixed]
            xc = np.column_stack([xc, cov_used])
            p = _expit(xc @ beta)
            rates[gi, ti] = p.mean()
            grads[gi, ti] = ((p * (1 - p))[:, None] * xc).mean(axis=0)
    se_rate = np.sqrt(np.maximum(np.einsum("gtk,kl,gtl->gt", grads, vcov, grads), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        logit = np.log(rates / (1 - rates))
        se_logit = se_rate / (rates * (1 - rates))
    fitted = pd.DataFrame(
        {
            "group": np.repeat(order, n_tp),
            "timepoint": np.tile(tps, n_g),
            "rate": rates.ravel(),
            "ci_low": _expit(logit - z * se_logit).ravel(),
            "ci_high": _expit(logit + z * se_logit).ravel(),
            "std_err": se_rate.ravel(),
        }
    )
    dgrad = grads[1:] - grads[:1]
    se_diff = np.sqrt(np.maximum(np.einsum("gtk,kl,gtl->gt", dgrad, vcov, dgrad), 0.0))
    diff = rates[1:] - rates[:1]
    table = pd.DataFrame(
        {
            "timepoint": np.tile(tps, n_g - 1),
            "group": np.repeat(order[1:], n_tp),
            "reference": reference,
            "rate": rates[1:].ravel(),
            "rate_ref": np.tile(rates[0], n_g - 1),
            "diff": diff.ravel(),
            "diff_ci_low": (diff - z * se_diff).ravel(),
            "diff_ci_high": (diff + z * se_diff).ravel(),
            "std_err": se_diff.ravel(),
            "pvalue": np.where(
                se_diff > 0,
                2 * stats.norm.sf(np.abs(diff / np.where(se_diff > 0, se_diff, 1))),
                np.nan,
            ).ravel(),
        }
    )
    table = table.sort_values(["timepoint", "group"], key=_tp_key(tps), kind="stable")
    table = table.reset_index(drop=True)[list(TABLE_COLUMNS)]

    inter_idx = [i for i, nm in enumerate(names) if ":timepoint[" in nm]
    interaction = None
    if inter_idx:
        b = beta[inter_idx]
        v = vcov[np.ix_(inter_idx, inter_idx)]
        stat = float(b @ np.linalg.solve(v, b))
        interaction = WaldTest(stat, len(inter_idx), float(stats.chi2.sf(stat, len(inter_idx))))

    n_arr = counts["n"].to_numpy(dtype=float)
    e_arr = counts["n_events"].to_numpy(dtype=float)
    lo, hi = _wilson(e_arr, n_arr, z)
    observed = pd.DataFrame(
        {
            "group": np.repeat(order, n_tp),
            "timepoint": np.tile(tps, n_g),
            "n": n_arr.astype(int),
            "n_events": e_arr.astype(int),
            "n_missing": counts["n_missing"].to_numpy(dtype=int),
            "rate": e_arr / n_arr,
            "ci_low": lo,
            "ci_high": hi,
        }
    )
    return OverTimeComparison(
        table=table,
        fitted=fitted,
        observed=observed,
        interaction=interaction,
        coefficients=coefficients,
        working_correlation=alpha,
        timepoints=tuple(tps),
        by=by,
        reference=reference,
        missing=str(rule),
        adjust=tuple(covs),
        confidence_level=confidence_level,
        n_episodes=int(len(np.unique(cl_used))),
        n_observations=int(used.sum()),
        definition=definition,
        remarks=tuple(remarks),
    )


def _tp_key(tps: Sequence[str]) -> Any:
    rank = {tp: i for i, tp in enumerate(tps)}

    def key(col: pd.Series) -> pd.Series:
        return col.map(rank) if col.name == "timepoint" else col

    return key


def _drop_constant(x: np.ndarray, names: list[str], n_fixed: int) -> tuple[np.ndarray, list[str]]:
    """Drop covariate columns (after the first ``n_fixed``) without variation."""
    const = np.ptp(x[:, n_fixed:], axis=0) == 0 if x.shape[1] > n_fixed else np.array([], bool)
    if not const.any():
        return x, names
    keep = np.concatenate([np.ones(n_fixed, bool), ~const])
    return x[:, keep], [n for n, k in zip(names, keep, strict=True) if k]
