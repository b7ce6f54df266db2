"""Missing-data rules for binary outcomes, and Rubin's rules for pooling.

The episode table keeps an unobserved outcome as missing; this module turns it into one or
more *completed* data sets under a declared rule, which rates and comparisons then analyse:

``using``
    Missing = the unfavourable value: not abstinent (0) for an outcome where higher is better,
    relapsed (1) for an event outcome (``higher_is_better=False``): the intention-to-treat
    convention of addiction trials.
``exclude``
    Complete case: episodes without an outcome are dropped.
``bounds``
    Two data sets, missing = 0 (lower bound) and missing = 1 (upper bound): the extremes
    any missing-data mechanism can produce.
``impute``
    Multiple imputation. When the covariates are complete (the common case: only the outcome
    is missing) the outcome is imputed by Bayesian logistic regression (Rubin 1987, p. 169;
    van Buuren's ``mice.impute.logreg``): a logistic GLM of the outcome on the covariates is
    fitted to the observed rows, and for each imputation a coefficient vector is drawn from
    the normal approximation to its posterior, ``beta* ~ N(beta_hat, V_hat)``, and each missing
    outcome from ``Bernoulli(expit(x beta*))``. When covariates are incomplete, chained
    equations (statsmodels ``MICEData``) impute them and the outcome together. Without
    covariates, the approximate Bayesian bootstrap (within the groups given as covariates,
    that is missing completely at random within group; ``compare_rates`` and
    ``outcome_rates`` refuse ``impute`` and ``ipw`` without predictors beyond the groups).
    Analyse each and pool with :func:`rubin_pool`.
``ipw``
    Inverse probability of follow-up weighting: a logistic model of "outcome observed" on
    the covariates; observed episodes get stabilised weights ``P(observed) / p_i``. Their
    variance: :func:`ipw_sandwich` (M-estimation, the follow-up model stacked).

The denominator (:func:`eligible_mask`, shared by rates, comparisons and the GEE): only
episodes whose follow-up is *due* (window closed by the data-as-of date: ``followup_due_<tp>``
when present, otherwise status not ``pending``) are analysed; follow-ups not yet due are
neither successes nor failures. Deaths and incarceration: with ``death_policy="exclude"``
episodes whose follow-up status is ``died`` or ``incarcerated`` are removed too; with
``"missing"`` (default) they stay and are handled by the rule like any other missing outcome.

Examples
--------
>>> import pandas as pd
>>> from iopoutcomes.missing import completed_datasets, rubin_pool
>>> f = pd.DataFrame({"y": pd.array([True, False, None, True], dtype="boolean")})
>>> [c.frame["y"].tolist() for c in completed_datasets(f, "y", missing="bounds")]
[[1.0, 0.0, 0.0, 1.0], [1.0, 0.0, 1.0, 1.0]]
>>> pooled = rubin_pool([0.50, 0.54, 0.52], [0.0025, 0.0025, 0.0025])
>>> round(pooled.estimate, 4), round(pooled.std_err, 4)
(0.52, 0.0551)
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._counts import outcome_as_float
from ._deprecate import renamed_parameters
from ._render import ResultDisplay
from .adjust import design_matrix
from .definitions import MISSING_RULES, parse_timepoint
from .exceptions import InsufficientDataError, MissingColumnError, ParameterError
from .schema import POOLED_COLUMNS

__all__ = [
    "DEATH_STATUSES",
    "CompletedData",
    "Eligibility",
    "completed_datasets",
    "eligibility",
    "ipw_sandwich",
    "eligible_mask",
    "rubin_pool",
    "PooledEstimate",
    "unfavourable_text",
]

DEATH_STATUSES: tuple[str, ...] = ("died", "incarcerated")
"""Follow-up statuses governed by ``death_policy``."""


@dataclass(frozen=True, eq=False)
class CompletedData:
    """One completed data set.

    Attributes
    ----------
    label : str
        ``"using"``, ``"exclude"``, ``"lower"``/``"upper"`` (bounds), ``"imputation 1"``...,
        or ``"ipw"``.
    frame : pandas.DataFrame
        The rows analysed, with the outcome column as float 0/1 (no missing values).
    weights : numpy.ndarray or None
        Analysis weights aligned with ``frame`` (``ipw`` only).
    """

    label: str
    frame: pd.DataFrame
    weights: npt.NDArray[np.float64] | None = None


_CALENDAR_SUFFIXES = ("_in_treatment", "_after_discharge")


def _timepoint_columns(
    columns: Sequence[str], outcome: str
) -> tuple[str | None, str | None, str | None]:
    """(timepoint, status column, due column) of an ``abstinent_<tp>``-style outcome.

    Calendar outcomes (``..._in_treatment``, ``..._after_discharge``) belong to a window of
    the daily calendar, not to a follow-up interview, so they have no timepoint even though
    ``_discharge`` ends their name. Other names fall back to a timepoint-like last part
    (``3mo``, ``12wk``, ``intake``, ``discharge``), e.g. a user's ``abstinent_alcohol_6mo``.
    """
    cands: list[str] = []
    if outcome.endswith(_CALENDAR_SUFFIXES):
        return None, None, None
    m = re.fullmatch(r"abstinent_(.+)", outcome)
    if m:
        cands.append(m.group(1))
    if "_" in outcome:
        last = outcome.rsplit("_", 1)[-1]
        if last in ("intake", "discharge") or parse_timepoint(last) is not None:
            cands.append(last)
    cols = set(map(str, columns))
    for tp in cands:
        status = f"followup_status_{tp}" if f"followup_status_{tp}" in cols else None
        due = f"followup_due_{tp}" if f"followup_due_{tp}" in cols else None
        if status or due:
            return tp, status, due
    return (cands[0] if cands else None), None, None


def _status_column(frame: Any, outcome: str, status_column: str | None) -> str | None:
    if status_column is not None:
        if status_column not in frame.columns:
            raise MissingColumnError(
                f"status_column {status_column!r} is not in the data. Found: {list(frame.columns)}."
            )
        return status_column
    return _timepoint_columns(list(frame.columns), outcome)[1]


def death_mask(frame: pd.DataFrame, outcome: str, status_column: str | None = None) -> pd.Series:
    """Boolean Series: rows whose follow-up status (of the outcome's timepoint) is died or
    incarcerated (all False when no status column is known)."""
    col = _status_column(frame, outcome, status_column)
    if col is None:
        return pd.Series(False, index=frame.index)
    return frame[col].astype("string").isin(DEATH_STATUSES).fillna(False).astype(bool)


def unfavourable_text(outcome: str, higher_is_better: bool = True) -> str:
    """What "missing = using" counts a missing outcome as, in words.

    >>> unfavourable_text("abstinent_6mo"), unfavourable_text("relapse_6mo", False)
    ('not abstinent', 'relapsed')
    """
    if higher_is_better:
        return "not abstinent" if outcome.startswith("abstinent") else "not having the outcome"
    return "relapsed" if "relaps" in outcome else "having the event"


@dataclass(frozen=True, eq=False)
class Eligibility:
    """Which episodes enter the denominator of an outcome, and why the others do not.

    Attributes
    ----------
    mask : pandas.Series
        True for episodes in the denominator (aligned with the frame; a Dask Series for Dask).
    outcome, timepoint : str, str or None
        The outcome and its follow-up timepoint (None when no follow-up columns exist).
    n_not_due : int
        Episodes whose follow-up window is still open at the data-as-of date.
    n_not_due_assessed : int
        Of those, episodes already assessed (an early assessment inside an open window): they
        enter once the window closes, so that the denominator never favours early responders.
    n_excluded_deaths : int
        Due episodes left out because died/incarcerated (``death_policy="exclude"``).
    n_deaths_counted : int
        Due episodes died/incarcerated kept and handled by the missing-data rule.
    death_policy : str
    n_not_eligible : int
        Episodes whose ``eligible_<outcome>`` column is False: observed too few days in the
        outcome's window (e.g. a stay shorter than a 30-day run); neither successes nor
        failures.
    not_eligible_text : str
        Why, in words with the values ("not eligible (observed < 30 days in treatment)").
    """

    mask: Any
    outcome: str
    timepoint: str | None
    n_not_due: int = 0
    n_not_due_assessed: int = 0
    n_excluded_deaths: int = 0
    n_deaths_counted: int = 0
    death_policy: str = "missing"
    n_not_eligible: int = 0
    not_eligible_text: str = "not eligible (observed too few days in the outcome's window)"

    def remarks(self, *, missing: str | None = None) -> list[str]:
        """The standard remarks, worded the same in rates, comparisons and the GEE.

        ``missing`` is the missing-data rule in force (it words the remark on deaths counted
        under it; ``None`` leaves that remark out).
        """
        rule = missing
        from .definitions import timepoint_text

        when = timepoint_text(self.timepoint) if self.timepoint else "follow-up"
        out = []
        if self.n_not_due:
            early = (
                f" ({self.n_not_due_assessed} of them already assessed early; they count once "
                "the window closes)"
                if self.n_not_due_assessed
                else ""
            )
            out.append(
                f"{self.outcome}: {self.n_not_due} episodes whose {when} window is still open "
                f"are not yet due and are not counted{early}."
            )
        if self.n_excluded_deaths:
            out.append(
                f"{self.outcome}: {self.n_excluded_deaths} episodes whose {when} follow-up "
                "status was died or incarcerated were left out of the denominator "
                "(death_policy = exclude)."
            )
        if self.n_not_eligible:
            out.append(
                f"{self.outcome}: {self.n_not_eligible} episodes {self.not_eligible_text} were "
                "left out of the denominator (neither successes nor failures)."
            )
        if self.n_deaths_counted and rule is not None:
            out.append(
                f"{self.outcome}: {self.n_deaths_counted} episodes whose {when} follow-up status "
                "was died or incarcerated are counted under the missing-data rule "
                f"(death_policy = missing, missing = {rule})."
            )
        return out


def _as_int(value: Any) -> int:
    return int(value.compute() if hasattr(value, "compute") else value)


def _eligible_column(columns: Sequence[str], outcome: str) -> str | None:
    """``eligible_<outcome>`` when the table has it (observation-time eligibility)."""
    name = f"eligible_{outcome}"
    return name if name in set(map(str, columns)) else None


def _not_eligible_text(outcome: str, definition: Any) -> str:
    text = getattr(definition, "not_eligible_text", None)
    if text is not None:
        return str(text(outcome))
    return Eligibility.not_eligible_text


def eligibility(
    frame: Any,
    outcome: str,
    *,
    death_policy: str = "missing",
    status_column: str | None = None,
    definition: Any = None,
) -> Eligibility:
    """The denominator rule for an outcome, with its counts.

    An episode is in the denominator when its follow-up is *due*: its window closed by the
    data-as-of date (``followup_due_<tp>`` when the column exists; otherwise the follow-up
    status is not ``pending``), minus episodes whose status is died or incarcerated when
    ``death_policy="exclude"``, minus episodes *not eligible* by observation time: when the
    table has ``eligible_<outcome>`` (run and window outcomes of
    :func:`~iopoutcomes.outcomes.episode_outcomes`), rows where it is False (e.g. a stay
    shorter than a 30-day run in treatment) are neither successes nor failures. A table without
    those columns keeps every row. Works on pandas and Dask frames (see :func:`filter_eligible`
    for DuckDB relations too). This is the one denominator rule of rates, comparisons and the
    GEE.

    Parameters
    ----------
    frame : pandas.DataFrame or dask DataFrame
    outcome : str
        The outcome column (``abstinent_6mo`` -> ``followup_due_6mo``/``followup_status_6mo``).
    death_policy : {"missing", "exclude"}
    status_column : str, optional
        The follow-up status column when it is not ``followup_status_<tp>``.
    definition : OutcomeDefinition, optional
        Words the not-eligible remark with the definition's values (``observed < 30 days in
        treatment``).

    Returns
    -------
    Eligibility

    Examples
    --------
    >>> f = pd.DataFrame({"abstinent_6mo": [1, None, None, 0],
    ...                   "followup_status_6mo": ["completed", "pending", "died", "completed"],
    ...                   "followup_due_6mo": [True, False, True, False]})
    >>> e = eligibility(f, "abstinent_6mo", death_policy="exclude")
    >>> e.mask.tolist(), e.n_not_due, e.n_not_due_assessed, e.n_excluded_deaths
    ([True, False, False, False], 2, 1, 1)
    >>> print(e.remarks()[0])
    abstinent_6mo: 2 episodes whose 6-month window is still open are not yet due and are not counted (1 of them already assessed early; they count once the window closes).
    """
    if death_policy not in ("missing", "exclude"):
        raise ParameterError("death_policy must be 'missing' or 'exclude'.")
    tp, status_col, due_col = _timepoint_columns([str(c) for c in frame.columns], outcome)
    status_col = _status_column(frame, outcome, status_column) if status_column else status_col
    index_true = frame[outcome].isna() | ~frame[outcome].isna()  # all True, engine-native
    elig_col = _eligible_column(list(frame.columns), outcome)
    observed_enough = (
        frame[elig_col].fillna(True).astype(bool)  # missing flag: no requirement known
        if elig_col is not None
        else index_true
    )
    n_not_eligible = _as_int((~observed_enough).sum()) if elig_col is not None else 0
    not_eligible_text = _not_eligible_text(outcome, definition)
    if status_col is None and due_col is None:
        return Eligibility(
            observed_enough,
            outcome,
            tp,
            death_policy=death_policy,
            n_not_eligible=n_not_eligible,
            not_eligible_text=not_eligible_text,
        )
    status = frame[status_col].astype("string") if status_col is not None else None
    if due_col is not None:
        due_raw = frame[due_col].astype("boolean")
        fallback = (status != "pending").fillna(True) if status is not None else True
        due = due_raw.fillna(fallback) if status is not None else due_raw.fillna(True)
        due = due.astype(bool)
    else:
        assert status is not None
        due = (status != "pending").fillna(True).astype(bool)
    dead = (
        status.isin(list(DEATH_STATUSES)).fillna(False).astype(bool)
        if status is not None
        else ~index_true
    )
    assessed = ~frame[outcome].isna()
    if status is not None:
        assessed = assessed | (status == "completed").fillna(False).astype(bool)
    not_due = ~due
    excluded = due & dead if death_policy == "exclude" else ~index_true
    mask = due & ~excluded & observed_enough
    if elig_col is not None:
        n_not_eligible = _as_int((due & ~excluded & ~observed_enough).sum())
    return Eligibility(
        mask=mask,
        outcome=outcome,
        timepoint=tp,
        n_not_due=_as_int(not_due.sum()),
        n_not_due_assessed=_as_int((not_due & assessed).sum()),
        n_excluded_deaths=_as_int(excluded.sum()),
        n_deaths_counted=_as_int((due & dead & observed_enough).sum())
        if death_policy == "missing"
        else 0,
        death_policy=death_policy,
        n_not_eligible=n_not_eligible,
        not_eligible_text=not_eligible_text,
    )


def eligible_mask(
    frame: Any,
    outcome: str,
    *,
    death_policy: str = "missing",
    status_column: str | None = None,
    definition: Any = None,
) -> Any:
    """Boolean Series: episodes in the denominator of ``outcome`` (see :func:`eligibility`).

    Examples
    --------
    >>> f = pd.DataFrame({"abstinent_6mo": [1, None, None],
    ...                   "followup_status_6mo": ["completed", "pending", "missed"]})
    >>> eligible_mask(f, "abstinent_6mo").tolist()   # no due column: status != pending
    [True, False, True]
    """
    return eligibility(
        frame,
        outcome,
        death_policy=death_policy,
        status_column=status_column,
        definition=definition,
    ).mask


def filter_eligible(
    data: Any,
    outcome: str,
    *,
    death_policy: str = "missing",
    status_column: str | None = None,
    definition: Any = None,
) -> tuple[Any, Eligibility]:
    """The rows of ``data`` in the denominator and the :class:`Eligibility` behind them.

    pandas, Dask and DuckDB inputs give the same rows and counts (DuckDB through SQL).
    """
    if type(data).__module__.startswith("duckdb"):
        return _filter_duckdb(data, outcome, death_policy, status_column, definition)
    e = eligibility(
        data,
        outcome,
        death_policy=death_policy,
        status_column=status_column,
        definition=definition,
    )
    if type(data).__module__.startswith("dask"):
        # filter each pandas partition with the same rule: dask-expr's projection pushdown
        # mishandles a filter whose predicate reads a column a later projection drops

        def keep(part: pd.DataFrame) -> pd.DataFrame:
            return part[
                eligibility(
                    part, outcome, death_policy=death_policy, status_column=status_column
                ).mask
            ]

        return data.map_partitions(keep, meta=data._meta), e
    return data[e.mask], e


def _filter_duckdb(
    rel: Any, outcome: str, death_policy: str, status_column: str | None, definition: Any = None
) -> tuple[Any, Eligibility]:
    if death_policy not in ("missing", "exclude"):
        raise ParameterError("death_policy must be 'missing' or 'exclude'.")
    cols = [str(c) for c in rel.columns]
    tp, status_col, due_col = _timepoint_columns(cols, outcome)
    if status_column is not None:
        if status_column not in cols:
            raise MissingColumnError(
                f"status_column {status_column!r} is not in the data. Found: {cols}."
            )
        status_col = status_column
    elig_col = _eligible_column(cols, outcome)
    enough = f'COALESCE(CAST("{elig_col}" AS BOOLEAN), TRUE)' if elig_col else "TRUE"
    text = _not_eligible_text(outcome, definition)
    if status_col is None and due_col is None:
        if elig_col is None:
            return rel, Eligibility(None, outcome, tp, death_policy=death_policy)
        sql = f"SELECT SUM(CASE WHEN NOT ({enough}) THEN 1 ELSE 0 END) FROM eligible_relation"
        (k,) = rel.query("eligible_relation", sql).fetchall()[0]
        return rel.filter(enough), Eligibility(
            None,
            outcome,
            tp,
            death_policy=death_policy,
            n_not_eligible=int(k or 0),
            not_eligible_text=text,
        )
    st = f'CAST("{status_col}" AS VARCHAR)' if status_col else None
    not_pending = f"COALESCE({st} <> 'pending', TRUE)" if st else "TRUE"
    due = f'COALESCE(CAST("{due_col}" AS BOOLEAN), {not_pending})' if due_col else not_pending
    deaths = ", ".join(f"'{s}'" for s in DEATH_STATUSES)
    dead = f"COALESCE({st} IN ({deaths}), FALSE)" if st else "FALSE"
    assessed = f'("{outcome}" IS NOT NULL' + (
        f" OR COALESCE({st} = 'completed', FALSE))" if st else ")"
    )
    excluded = f"({due}) AND ({dead})" if death_policy == "exclude" else "FALSE"
    sql = (
        f"SELECT SUM(CASE WHEN NOT ({due}) THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN NOT ({due}) AND {assessed} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN {excluded} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN ({due}) AND ({dead}) AND ({enough}) THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN ({due}) AND NOT ({excluded}) AND NOT ({enough}) THEN 1 ELSE 0 END) "
        "FROM eligible_relation"
    )
    a, b, c, d, k = (int(v or 0) for v in rel.query("eligible_relation", sql).fetchall()[0])
    kept = rel.filter(f"({due}) AND NOT ({excluded}) AND ({enough})")
    return kept, Eligibility(
        None,
        outcome,
        tp,
        n_not_due=a,
        n_not_due_assessed=b,
        n_excluded_deaths=c,
        n_deaths_counted=d if death_policy == "missing" else 0,
        death_policy=death_policy,
        n_not_eligible=k,
        not_eligible_text=text,
    )


def _followup_design(x: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Intercept + covariates of the follow-up model (missing-indicator method for incomplete
    covariates), with linearly dependent columns dropped so that the model is identified."""
    xf = x.copy()
    for c in list(xf.columns):  # missing-indicator method for incomplete covariates
        if xf[c].isna().any():
            xf[f"{c}__missing"] = xf[c].isna().astype(float)
            xf[c] = xf[c].fillna(xf[c].mean())
    design = np.column_stack([np.ones(len(xf)), xf.to_numpy(dtype=float)])
    keep: list[int] = []
    for j in range(design.shape[1]):  # a handful of columns, not a loop over episodes
        if np.linalg.matrix_rank(design[:, [*keep, j]]) == len(keep) + 1:
            keep.append(j)
    return design[:, keep]


def _fit_observed_probability(x: pd.DataFrame, observed: npt.NDArray[np.bool_]) -> Any:
    import statsmodels.api as sm

    design = _followup_design(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.GLM(observed.astype(float), design, family=sm.families.Binomial()).fit(
            tol=1e-12, maxiter=100
        )
    return np.asarray(fit.predict(design), dtype=float)


def ipw_sandwich(
    frame: pd.DataFrame,
    outcome: str,
    by: str,
    covariates: Sequence[str],
    *,
    death_policy: str = "missing",
    status_column: str | None = None,
) -> tuple[list[Any], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    r"""Inverse-probability-of-follow-up weighted rates per group with their M-estimation
    covariance (the follow-up model's estimation accounted for).

    Stacked estimating equations (Lunceford & Davidian 2004; the construction of the IPTW
    variance in :mod:`iopoutcomes.adjust`): the follow-up model
    :math:`\psi_\gamma = D_i (R_i - \pi_i)`, :math:`\pi_i = \operatorname{expit}(D_i\gamma)`,
    and for each group :math:`g` the weighted mean
    :math:`\psi_g = 1[G_i = g] R_i (Y_i - \mu_g) / \pi_i`. The covariance is
    :math:`A^{-1} B A^{-\top}` with :math:`A = \sum \partial\psi/\partial\theta` and
    :math:`B = \sum \psi\psi^\top`. Unlike a binomial variance on Kish's effective sample size,
    it accounts for the weights being estimated, and for a follow-up model saturated in
    the strata it equals the post-stratification variance
    :math:`N_g^{-2}\{\sum_c (N_c / r_c)^2 \sum_{i \in c, R_i = 1} (Y_i - \hat p_c)^2 +
    \sum_c N_c (\hat p_c - \hat\mu_g)^2\}`.

    Parameters
    ----------
    frame : pandas.DataFrame
        Episodes with the outcome (missing allowed), ``by`` and the covariates.
    outcome, by : str
        Outcome and group columns.
    covariates : sequence of str
        The follow-up model's covariates (``by`` is not added: pass it when wanted).
    death_policy, status_column :
        As :func:`completed_datasets` (the same denominator).

    Returns
    -------
    (groups, means, covariance)
        The groups in order of appearance, their weighted rates and the covariance matrix of
        the rates.

    Examples
    --------
    >>> f = pd.DataFrame({"g": ["a"] * 6 + ["b"] * 6,
    ...                   "site": ["x", "x", "x", "y", "y", "y"] * 2,
    ...                   "y": [1, 0, None, 1, 1, 0, 0, 1, 1, None, None, 1]})
    >>> groups, mu, cov = ipw_sandwich(f, "y", "g", ["g", "site"])
    >>> groups, [round(float(v), 4) for v in mu]
    (['a', 'b'], [0.606, 0.771])
    """
    import statsmodels.api as sm

    for c in [outcome, by, *covariates]:
        if c not in frame:
            raise MissingColumnError(
                f"Column {c!r} is not in the data. Found: {list(frame.columns)}."
            )
    mask = eligible_mask(frame, outcome, death_policy=death_policy, status_column=status_column)
    data = frame.loc[np.asarray(mask, dtype=bool)]
    y = outcome_as_float(data[outcome]).to_numpy(dtype=float)
    r = ~np.isnan(y)
    if not r.any():
        raise InsufficientDataError(
            f"Outcome {outcome!r} is missing for every row; missing='ipw' needs observed values."
        )
    design = _followup_design(
        design_matrix(data, covariates, observed_levels=True, drop_constant=True)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.GLM(r.astype(float), design, family=sm.families.Binomial()).fit(
            tol=1e-12, maxiter=100
        )
    gamma = np.asarray(fit.params, dtype=float)
    pi = 1.0 / (1.0 + np.exp(-(design @ gamma)))
    codes, levels = pd.factorize(data[by])
    k = len(levels)
    onehot = (codes[:, None] == np.arange(k)[None, :]).astype(float)  # (n, k)
    yr = np.where(r, y, 0.0)
    w = np.where(r, 1.0 / pi, 0.0)
    mu = (onehot * (w * yr)[:, None]).sum(axis=0) / (onehot * w[:, None]).sum(axis=0)
    resid = onehot * (yr[:, None] - mu[None, :]) * w[:, None]  # psi_g, zero when unobserved
    p = design.shape[1]
    psi = np.column_stack([design * (r - pi)[:, None], resid])
    a = np.zeros((p + k, p + k))
    a[:p, :p] = -(design * (pi * (1 - pi))[:, None]).T @ design
    # d(R / pi)/d gamma = -R (1 - pi) / pi * D
    a[p:, :p] = -(resid * (1 - pi)[:, None]).T @ design
    a[p:, p:] = -np.diag((onehot * w[:, None]).sum(axis=0))
    a_inv = np.linalg.inv(a)
    cov = a_inv @ (psi.T @ psi) @ a_inv.T
    return list(levels), mu.astype(float), np.asarray(cov[p:, p:], dtype=float)


def _logreg_draws(
    y: npt.NDArray[np.float64],
    x: pd.DataFrame,
    m: int,
    seed: int,
    offset: npt.NDArray[np.float64] | None = None,
) -> list[npt.NDArray[np.float64]] | None:
    """Bayesian logistic-regression imputation of a binary outcome (complete covariates).

    Rubin (1987, Multiple Imputation for Nonresponse in Surveys, p. 169-170) and van Buuren's
    ``mice.impute.logreg`` (Flexible Imputation of Missing Data, 2nd ed., sec. 3.6): fit the
    logistic GLM of ``y`` on ``x`` to the observed rows; per imputation draw
    ``beta* ~ N(beta_hat, V_hat)`` (the normal approximation to the posterior), then each
    missing ``y`` from ``Bernoulli(expit(x beta*))``. Vectorised over the ``m`` imputations.
    Returns None when the fit fails (e.g. perfect separation), so the caller can fall back.
    ``offset`` (one value per row) shifts the log-odds of the missing rows' draws: the
    delta adjustment of a missing-not-at-random sensitivity analysis (0 = MAR, same draws).
    """
    import statsmodels.api as sm

    miss = np.isnan(y)
    design = np.column_stack([np.ones(len(y)), x.to_numpy(dtype=float)])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = sm.GLM(y[~miss], design[~miss], family=sm.families.Binomial()).fit()
        beta = np.asarray(fit.params, dtype=float)
        cov = np.asarray(fit.cov_params(), dtype=float)
    except Exception:  # separation or a singular fit: fall back to chained equations
        return None
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(cov))) or np.abs(beta).max() > 30:
        return None
    rng = np.random.default_rng(seed)
    betas = rng.multivariate_normal(beta, cov, size=m, method="eigh")  # (m, k)
    eta = design[miss] @ betas.T  # (n_missing, m)
    if offset is not None:
        eta = eta + offset[miss][:, None]
    p = 0.5 * (1.0 + np.tanh(0.5 * eta))
    draws = (rng.random(p.shape) < p).astype(float)
    out = []
    for j in range(m):  # m imputations (about 20), not a loop over episodes
        filled = y.copy()
        filled[miss] = draws[:, j]
        out.append(filled)
    return out


def _mice(
    y: npt.NDArray[np.float64], x: pd.DataFrame, m: int, seed: int
) -> list[npt.NDArray[np.float64]]:
    if not x.isna().to_numpy().any():
        fast = _logreg_draws(y, x, m, seed)
        if fast is not None:
            return fast
    import statsmodels.api as sm
    from statsmodels.imputation.mice import MICEData

    names = [f"x{i}" for i in range(x.shape[1])]
    data = pd.DataFrame(x.to_numpy(dtype=float), columns=names)
    data.insert(0, "y", y)
    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imp = MICEData(data, rng=rng)
        formula = " + ".join(names) if names else "1"
        imp.set_imputer(
            "y",
            formula=formula,
            model_class=sm.GLM,
            init_kwds={"family": sm.families.Binomial()},
        )
        imp.update_all(10)  # burn-in
        out = []
        for _ in range(m):
            imp.update_all(2)
            out.append(np.asarray(imp.data["y"], dtype=float).copy())
    return out


def _abb(y: npt.NDArray[np.float64], m: int, seed: int) -> list[npt.NDArray[np.float64]]:
    """Approximate Bayesian bootstrap imputations when there are no predictors.

    With no covariates the imputation model is the marginal distribution of the observed
    values; drawing the missing values from a bootstrap resample of the observed ones (rather
    than from the observed values themselves) propagates the uncertainty of that distribution,
    so Rubin's rules give proper intervals (Rubin & Schenker 1986, JASA 81:366-374).
    """
    rng = np.random.default_rng(seed)
    observed = y[~np.isnan(y)]
    miss = np.isnan(y)
    out = []
    for _ in range(m):  # m imputations (about 20), not a loop over episodes
        donors = rng.choice(observed, size=observed.size, replace=True)
        filled = y.copy()
        filled[miss] = rng.choice(donors, size=int(miss.sum()), replace=True)
        out.append(filled)
    return out


@renamed_parameters(positional=("rule",), rule="missing")
def completed_datasets(
    frame: pd.DataFrame,
    outcome: str,
    *,
    missing: str,
    covariates: Sequence[str] = (),
    n_imputations: int = 20,
    seed: int = 0,
    death_policy: str = "missing",
    status_column: str | None = None,
    higher_is_better: bool = True,
    delta: float | Mapping[Any, float] | None = None,
    by: str | None = None,
) -> list[CompletedData]:
    """Completed data sets of one binary outcome under a missing-data rule.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per episode with the outcome (0/1/True/False/NA) and the covariates.
    outcome : str
        The outcome column.
    missing : {"using", "exclude", "bounds", "impute", "ipw"}
        The missing-data rule (see the module docstring); keyword-only. Replaces ``rule``
        (deprecated, as is passing the rule by position).
    covariates : sequence of str
        Columns of the imputation / follow-up model (``impute``, ``ipw``); text columns become
        dummies.
    n_imputations : int
        Number of imputed data sets (``impute``).
    seed : int
        Seed of the imputation chain. The same seed gives the same draws in every call: vary
        it across repeated analyses (simulations, a report each quarter), whose imputation
        noise should be independent.
    death_policy : {"missing", "exclude"}
        ``exclude`` drops rows whose status column says ``died`` or ``incarcerated``.
    status_column : str, optional
        The follow-up status column; default ``followup_status_<tp>`` for an outcome
        ``abstinent_<tp>`` when present.
    higher_is_better : bool
        Direction of the outcome: ``using`` fills a missing value with the unfavourable value,
        0 (not abstinent) when higher is better, 1 (relapsed) otherwise.
    delta : float or mapping, optional
        ``impute`` only: delta-adjusted imputation, a missing-not-at-random sensitivity
        analysis (pattern mixture; Carpenter & Kenward 2013, ch. 10): each missing outcome is
        drawn with the log-odds of the imputation model shifted by ``delta`` (the log-odds of
        the outcome being 1, e.g. abstinent). A mapping gives one shift per value of the ``by``
        column (groups not named get 0). ``delta=0`` reproduces the MAR imputation draw for
        draw. Needs complete covariates (without covariates an intercept-only logistic model
        replaces the approximate Bayesian bootstrap).
    by : str, optional
        The column whose values key a ``delta`` mapping.

    Returns
    -------
    list of CompletedData
        One item (``using``, ``exclude``, ``ipw``), two (``bounds``: lower, upper) or
        ``n_imputations`` (``impute``). Frames keep the input's index and columns; the outcome
        is float 0/1.

    Notes
    -----
    Rows not in the denominator (:func:`eligible_mask`: follow-up not yet due, and
    died/incarcerated under ``death_policy="exclude"``) are dropped first.

    Examples
    --------
    >>> f = pd.DataFrame({"y": [1, 0, None, 1], "age": [30, 40, 35, 50]})
    >>> [len(c.frame) for c in completed_datasets(f, "y", missing="exclude")]
    [3]
    >>> completed_datasets(f, "y", missing="using", higher_is_better=False)[0].frame["y"].tolist()
    [1.0, 0.0, 1.0, 1.0]
    """
    rule = missing
    if rule not in MISSING_RULES:
        raise ParameterError(f"missing must be one of {list(MISSING_RULES)}; got an unknown rule.")
    if death_policy not in ("missing", "exclude"):
        raise ParameterError("death_policy must be 'missing' or 'exclude'.")
    if delta is not None and rule != "impute":
        raise ParameterError("delta applies to missing='impute' only (delta-adjusted imputation).")
    if outcome not in frame:
        raise MissingColumnError(
            f"Outcome column {outcome!r} is not in the data. Found: {list(frame.columns)}."
        )
    mask = eligible_mask(frame, outcome, death_policy=death_policy, status_column=status_column)
    data = frame.loc[np.asarray(mask, dtype=bool)]
    y = outcome_as_float(data[outcome]).to_numpy(dtype=float)
    miss = np.isnan(y)

    def with_y(values: npt.NDArray[np.float64], rows: Any = None) -> pd.DataFrame:
        out = data if rows is None else data.loc[rows]
        out = out.copy()
        out[outcome] = values if rows is None else values[rows]
        return out

    if rule == "using":
        unfavourable = 0.0 if higher_is_better else 1.0
        return [CompletedData("using", with_y(np.where(miss, unfavourable, y)))]
    if rule == "exclude":
        return [CompletedData("exclude", with_y(y, ~miss))]
    if rule == "bounds":
        return [
            CompletedData("lower", with_y(np.where(miss, 0.0, y))),
            CompletedData("upper", with_y(np.where(miss, 1.0, y))),
        ]
    if (~miss).sum() == 0:
        raise InsufficientDataError(
            f"Outcome {outcome!r} is missing for every row; rule {rule!r} needs observed values."
        )
    x = design_matrix(data, covariates, observed_levels=True, drop_constant=True)
    if rule == "ipw":
        p = _fit_observed_probability(x, ~miss)
        w = np.mean(~miss) / p[~miss]
        return [CompletedData("ipw", with_y(y, ~miss), weights=w)]
    if isinstance(n_imputations, bool) or not isinstance(n_imputations, int) or n_imputations < 2:
        raise ParameterError("n_imputations must be a whole number >= 2.")
    if not miss.any():
        return [CompletedData(f"imputation {i + 1}", with_y(y)) for i in range(n_imputations)]
    if delta is not None:
        offset = _delta_offset(data, delta, by)
        draws_or_none = _logreg_draws(y, x, n_imputations, seed, offset)
        if draws_or_none is None or x.isna().to_numpy().any():
            raise ParameterError(
                "delta-adjusted imputation needs complete covariates and a logistic "
                "imputation model that can be fitted (no perfect separation)."
            )
        draws = draws_or_none
    else:
        draws = _mice(y, x, n_imputations, seed) if x.shape[1] else _abb(y, n_imputations, seed)
    return [
        CompletedData(f"imputation {i + 1}", with_y(np.where(miss, draw, y)))
        for i, draw in enumerate(draws)
    ]


def _delta_offset(
    data: pd.DataFrame, delta: float | Mapping[Any, float], by: str | None
) -> npt.NDArray[np.float64]:
    """Per-row log-odds shift of a delta-adjusted imputation (see ``completed_datasets``)."""
    if isinstance(delta, Mapping):
        if by is None or by not in data:
            raise ParameterError(
                "A delta mapping (one shift per group) needs by= naming the group column."
            )
        values = pd.Series(dict(delta), dtype=float)
        offset = data[by].map(values).astype(float).fillna(0.0).to_numpy()
    else:
        offset = np.full(len(data), float(delta))
    if not np.all(np.isfinite(offset)):
        raise ParameterError("delta must be finite log-odds shifts.")
    return np.asarray(offset, dtype=float)


@dataclass(frozen=True, eq=False, repr=False)
class PooledEstimate(ResultDisplay):
    """An estimate pooled over imputed data sets with Rubin's rules (see :func:`rubin_pool`).

    Attributes
    ----------
    estimate : float
        :math:`\bar q`, the mean of the per-imputation estimates.
    std_err : float
        :math:`\\sqrt{T}`, with total variance :math:`T = \bar U + (1 + 1/m) B`.
    df : float
        Degrees of freedom of the reference t distribution (``inf`` when the imputations agree).
    n_imputations : int
        :math:`m`.
    within_variance, between_variance : float
        :math:`\bar U` and :math:`B`.
    method : str
        ``"Rubin (1987)"`` or ``"Barnard-Rubin (1999)"`` (small-sample degrees of freedom).

    Tuple unpacking ``est, se, df = rubin_pool(...)`` still works for one release (it was a
    tuple) and warns; use the attributes.

    Examples
    --------
    >>> pooled = rubin_pool([1.0, 2.0], [0.5, 0.5])   # U = 0.5, B = 0.5, T = 0.5 + 1.5 * 0.5
    >>> pooled.n_imputations, pooled.within_variance, pooled.between_variance
    (2, 0.5, 0.5)
    >>> pooled.to_frame().columns.tolist()[:3]
    ['estimate', 'std_err', 'df']
    """

    estimate: float
    std_err: float
    df: float
    n_imputations: int
    within_variance: float
    between_variance: float
    method: str

    def _header(self) -> str:
        return f"<PooledEstimate: Rubin's rules over {self.n_imputations} imputations>"

    def to_frame(self) -> pd.DataFrame:
        """One row: :data:`~iopoutcomes.schema.POOLED_COLUMNS`."""
        return pd.DataFrame([{c: getattr(self, c) for c in POOLED_COLUMNS}], columns=POOLED_COLUMNS)

    def methods_text(self) -> str:
        """The pooling in one sentence, with references."""
        df_text = (
            "Barnard and Rubin's (1999) small-sample degrees of freedom"
            if self.method.startswith("Barnard")
            else "Rubin's (1987) degrees of freedom"
        )
        return (
            f"Estimates from {self.n_imputations} imputed data sets were pooled with Rubin's "
            f"rules (Rubin 1987): total variance = within + (1 + 1/m) x between, with a t "
            f"reference distribution on {df_text}."
        )

    def narrative(self) -> str:
        """The pooled estimate and its standard error in words."""
        return (
            f"Pooled over {self.n_imputations} imputations, the estimate is "
            f"{self.estimate:.3g} (standard error {self.std_err:.3g}, {self.df:.3g} degrees "
            "of freedom)."
        )

    def _as_tuple(self) -> tuple[float, float, float]:
        warnings.warn(
            "rubin_pool() returns a PooledEstimate: unpacking it as a tuple (estimate, se, df) "
            "is deprecated; use .estimate, .std_err and .df (tuple use will be removed in the "
            "next release).",
            DeprecationWarning,
            stacklevel=3,
        )
        return (self.estimate, self.std_err, self.df)

    def __iter__(self) -> Any:
        return iter(self._as_tuple())

    def __getitem__(self, index: int) -> float:
        return self._as_tuple()[index]


def rubin_pool(
    estimates: Sequence[float] | npt.ArrayLike,
    variances: Sequence[float] | npt.ArrayLike,
    *,
    df_complete: float | None = None,
) -> PooledEstimate:
    r"""Pool estimates from m imputed data sets with Rubin's rules.

    Parameters
    ----------
    estimates, variances : sequence of float
        The estimate and its squared standard error in each completed data set.
    df_complete : float, optional
        Degrees of freedom of the complete-data analysis; when given, the Barnard-Rubin (1999)
        small-sample degrees of freedom are returned instead of Rubin's (1987).

    Returns
    -------
    PooledEstimate
        ``estimate`` :math:`\bar q`, ``std_err`` :math:`\sqrt{T}` with
        :math:`T = \bar U + (1 + 1/m) B`, and ``df``, the degrees of freedom of the reference t
        distribution (``inf`` when the imputations agree). It was a tuple
        ``(estimate, se, df)``; unpacking it still works for one release, with a warning.

    Notes
    -----
    Rubin (1987): :math:`\nu = (m - 1)(1 + \bar U / ((1 + 1/m) B))^2`. Barnard and Rubin
    (1999): :math:`\nu^{-1} = \nu_{old}^{-1} + \hat\nu_{obs}^{-1}` with
    :math:`\hat\nu_{obs} = \frac{\nu_{com} + 1}{\nu_{com} + 3}\nu_{com}(1 - \gamma)`,
    :math:`\gamma = (1 + 1/m)B/T`.

    References
    ----------
    Rubin DB. Multiple Imputation for Nonresponse in Surveys. Wiley, 1987.
    Barnard J, Rubin DB. Small-sample degrees of freedom with multiple imputation.
    Biometrika 1999;86(4):948-955.

    Examples
    --------
    >>> pooled = rubin_pool([1.0, 2.0], [0.5, 0.5])
    >>> pooled.estimate, round(pooled.std_err ** 2, 6), round(pooled.df, 4)  # T = 0.5 + 1.5 * 0.5
    (1.5, 1.25, 2.7778)
    """
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    if q.ndim != 1 or q.shape != u.shape or len(q) < 2:
        raise ParameterError(
            "rubin_pool needs two 1-d sequences of the same length >= 2 (one estimate and one "
            f"variance per imputation); got shapes {q.shape} and {u.shape}."
        )
    m = len(q)
    qbar = float(q.mean())
    ubar = float(u.mean())
    b = float(q.var(ddof=1))
    t = ubar + (1.0 + 1.0 / m) * b
    method = "Rubin (1987)" if df_complete is None else "Barnard-Rubin (1999)"

    def pooled(df: float) -> PooledEstimate:
        return PooledEstimate(qbar, float(np.sqrt(t)), float(df), m, ubar, max(b, 0.0), method)

    if b <= 0.0:
        return pooled(np.inf if df_complete is None else float(df_complete))
    r = (1.0 + 1.0 / m) * b / ubar if ubar > 0 else np.inf
    df_old = (m - 1) * (1.0 + 1.0 / r) ** 2
    if df_complete is None:
        return pooled(df_old)
    gamma = (1.0 + 1.0 / m) * b / t
    df_obs = (df_complete + 1.0) / (df_complete + 3.0) * df_complete * (1.0 - gamma)
    return pooled(1.0 / (1.0 / df_old + 1.0 / df_obs))


EXTREME_WEIGHT: float = 10.0
"""Inverse-probability-of-follow-up weights above this are reported as extreme."""


def extreme_weight_remark(outcome: str, weights: npt.ArrayLike) -> str | None:
    """A remark on extreme inverse-probability-of-follow-up weights, or ``None``.

    Stabilised weights average about 1; a weight far above it means a few followed-up clients
    stand in for many lost ones, so the estimate leans on them. Cole & Hernán (2008, *Am J
    Epidemiol* 168:656-664) recommend reporting the weights' mean and maximum; the cut-off
    of 10 is a rule of thumb, not theirs, stated in the remark so a reader can judge it. The
    weights are not trimmed.

    Examples
    --------
    >>> extreme_weight_remark("abstinent_6mo", [0.8, 1.1, 0.9]) is None
    True
    >>> print(extreme_weight_remark("abstinent_6mo", [0.5, 0.6, 14.0]))  # doctest: +ELLIPSIS
    abstinent_6mo: missing = ipw: 1 followed-up episode(s) carry a weight above 10 (mean ...
    """
    w = np.asarray(weights, dtype=float)
    big = int(np.sum(w > EXTREME_WEIGHT))
    if big == 0:
        return None
    return (
        f"{outcome}: missing = ipw: {big} followed-up episode(s) carry a weight above "
        f"{EXTREME_WEIGHT:g} (mean weight {w.mean():.2f}, largest {w.max():.1f}), so the "
        "weighted rates lean on few clients; the weights are not trimmed. Check the "
        "follow-up model's covariates, and compare with missing='using' and 'bounds'."
    )
