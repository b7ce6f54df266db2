"""Missing-data rules for binary outcomes, and Rubin's rules for pooling.

The episode table keeps an unobserved outcome as missing; this module turns it into one or
more *completed* data sets under a declared rule, which rates and comparisons then analyse:

``using``
    Missing = not abstinent (0): the intention-to-treat convention of addiction trials.
``exclude``
    Complete case: episodes without an outcome are dropped.
``bounds``
    Two data sets, missing = 0 (lower bound) and missing = 1 (upper bound): the extremes
    any missing-data mechanism can produce.
``impute``
    Multiple imputation by chained equations (statsmodels ``MICEData``): the outcome is
    imputed by predictive mean matching on a logistic (binomial GLM) model of the covariates,
    so imputed values are observed 0/1 values of similar episodes; incomplete covariates are
    imputed in the same chain (linear model + PMM). Analyse each and pool with
    :func:`rubin_pool`.
``ipw``
    Inverse probability of follow-up weighting: a logistic model of "outcome observed" on
    the covariates; observed episodes get stabilised weights ``P(observed) / p_i``.

Deaths and incarceration: with ``death_policy="exclude"`` episodes whose follow-up status is
``died`` or ``incarcerated`` are removed first; with ``"missing"`` (default) they stay and are
handled by the rule like any other missing outcome.

Examples
--------
>>> import pandas as pd
>>> from iopoutcomes.missing import completed_datasets, rubin_pool
>>> f = pd.DataFrame({"y": pd.array([True, False, None, True], dtype="boolean")})
>>> [c.frame["y"].tolist() for c in completed_datasets(f, "y", "bounds")]
[[1.0, 0.0, 0.0, 1.0], [1.0, 0.0, 1.0, 1.0]]
>>> est, se, df = rubin_pool([0.50, 0.54, 0.52], [0.0025, 0.0025, 0.0025])
>>> round(est, 4), round(se, 4)
(0.52, 0.0551)
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._counts import outcome_as_float
from .definitions import MISSING_RULES
from .exceptions import InsufficientDataError, MissingColumnError, ParameterError

__all__ = ["DEATH_STATUSES", "CompletedData", "completed_datasets", "rubin_pool"]

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


def _status_column(frame: pd.DataFrame, outcome: str, status_column: str | None) -> str | None:
    if status_column is not None:
        if status_column not in frame:
            raise MissingColumnError(
                f"status_column {status_column!r} is not in the data. Found: {list(frame.columns)}."
            )
        return status_column
    m = re.fullmatch(r"abstinent_(.+)", outcome)
    if m and f"followup_status_{m.group(1)}" in frame:
        return f"followup_status_{m.group(1)}"
    return None


def death_mask(frame: pd.DataFrame, outcome: str, status_column: str | None = None) -> pd.Series:
    """Boolean Series: rows whose follow-up status (of the outcome's timepoint) is died or
    incarcerated (all False when no status column is known)."""
    col = _status_column(frame, outcome, status_column)
    if col is None:
        return pd.Series(False, index=frame.index)
    return frame[col].astype("string").isin(DEATH_STATUSES).fillna(False).astype(bool)


def design_matrix(frame: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Numeric design (no intercept): numbers and flags as float, other columns as dummies
    (first level dropped). Missing values stay missing (NaN)."""
    parts: list[pd.DataFrame] = []
    for c in covariates:
        if c not in frame:
            raise MissingColumnError(
                f"Covariate {c!r} is not in the data. Found: {list(frame.columns)}."
            )
        s = frame[c]
        if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
            parts.append(pd.DataFrame({c: pd.to_numeric(s.astype("Float64")).astype(float)}))
        else:
            cat = s.astype("string")
            dummies = pd.get_dummies(cat, prefix=c, drop_first=True, dtype=float)
            dummies.loc[cat.isna().to_numpy()] = np.nan
            parts.append(dummies)
    if not parts:
        return pd.DataFrame(index=frame.index)
    x = pd.concat(parts, axis=1)
    x.index = frame.index
    keep = [c for c in x.columns if x[c].nunique(dropna=True) > 1]
    return x[keep]


def _fit_observed_probability(x: pd.DataFrame, observed: npt.NDArray[np.bool_]) -> Any:
    import statsmodels.api as sm

    xf = x.copy()
    for c in list(xf.columns):  # missing-indicator method for incomplete covariates
        if xf[c].isna().any():
            xf[f"{c}__missing"] = xf[c].isna().astype(float)
            xf[c] = xf[c].fillna(xf[c].mean())
    design = sm.add_constant(xf.to_numpy(dtype=float), has_constant="add")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.GLM(observed.astype(float), design, family=sm.families.Binomial()).fit()
    return np.asarray(fit.predict(design), dtype=float)


def _mice(
    y: npt.NDArray[np.float64], x: pd.DataFrame, m: int, seed: int
) -> list[npt.NDArray[np.float64]]:
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


def completed_datasets(
    frame: pd.DataFrame,
    outcome: str,
    rule: str,
    *,
    covariates: Sequence[str] = (),
    n_imputations: int = 20,
    seed: int = 0,
    death_policy: str = "missing",
    status_column: str | None = None,
) -> list[CompletedData]:
    """Completed data sets of one binary outcome under a missing-data rule.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per episode with the outcome (0/1/True/False/NA) and the covariates.
    outcome : str
        The outcome column.
    rule : {"using", "exclude", "bounds", "impute", "ipw"}
        The missing-data rule (see the module docstring).
    covariates : sequence of str
        Columns of the imputation / follow-up model (``impute``, ``ipw``); text columns become
        dummies.
    n_imputations : int
        Number of imputed data sets (``impute``).
    seed : int
        Seed of the imputation chain.
    death_policy : {"missing", "exclude"}
        ``exclude`` drops rows whose status column says ``died`` or ``incarcerated``.
    status_column : str, optional
        The follow-up status column; default ``followup_status_<tp>`` for an outcome
        ``abstinent_<tp>`` when present.

    Returns
    -------
    list of CompletedData
        One item (``using``, ``exclude``, ``ipw``), two (``bounds``: lower, upper) or
        ``n_imputations`` (``impute``). Frames keep the input's index and columns; the outcome
        is float 0/1.

    Examples
    --------
    >>> f = pd.DataFrame({"y": [1, 0, None, 1], "age": [30, 40, 35, 50]})
    >>> [len(c.frame) for c in completed_datasets(f, "y", "exclude")]
    [3]
    """
    if rule not in MISSING_RULES:
        raise ParameterError(f"rule must be one of {list(MISSING_RULES)}; got an unknown rule.")
    if death_policy not in ("missing", "exclude"):
        raise ParameterError("death_policy must be 'missing' or 'exclude'.")
    if outcome not in frame:
        raise MissingColumnError(
            f"Outcome column {outcome!r} is not in the data. Found: {list(frame.columns)}."
        )
    data = frame
    if death_policy == "exclude":
        data = data.loc[~death_mask(data, outcome, status_column).to_numpy()]
    y = outcome_as_float(data[outcome]).to_numpy(dtype=float)
    miss = np.isnan(y)

    def with_y(values: npt.NDArray[np.float64], rows: Any = None) -> pd.DataFrame:
        out = data if rows is None else data.loc[rows]
        out = out.copy()
        out[outcome] = values if rows is None else values[rows]
        return out

    if rule == "using":
        return [CompletedData("using", with_y(np.where(miss, 0.0, y)))]
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
    x = design_matrix(data, covariates)
    if rule == "ipw":
        p = _fit_observed_probability(x, ~miss)
        w = np.mean(~miss) / p[~miss]
        return [CompletedData("ipw", with_y(y, ~miss), weights=w)]
    if isinstance(n_imputations, bool) or not isinstance(n_imputations, int) or n_imputations < 2:
        raise ParameterError("n_imputations must be a whole number >= 2.")
    if not miss.any():
        return [CompletedData(f"imputation {i + 1}", with_y(y)) for i in range(n_imputations)]
    draws = _mice(y, x, n_imputations, seed) if x.shape[1] else _abb(y, n_imputations, seed)
    return [
        CompletedData(f"imputation {i + 1}", with_y(np.where(miss, draw, y)))
        for i, draw in enumerate(draws)
    ]


def rubin_pool(
    estimates: Sequence[float] | npt.ArrayLike,
    variances: Sequence[float] | npt.ArrayLike,
    *,
    df_complete: float | None = None,
) -> tuple[float, float, float]:
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
    (estimate, se, df) : tuple of float
        :math:`\bar q`, :math:`\sqrt{T}` with :math:`T = \bar U + (1 + 1/m) B`, and the degrees
        of freedom of the reference t distribution (``inf`` when the imputations agree).

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
    >>> est, se, df = rubin_pool([1.0, 2.0], [0.5, 0.5])
    >>> est, round(se ** 2, 6), round(df, 4)      # T = 0.5 + 1.5 * 0.5
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
    if b <= 0.0:
        df = np.inf if df_complete is None else float(df_complete)
        return qbar, float(np.sqrt(t)), float(df)
    r = (1.0 + 1.0 / m) * b / ubar if ubar > 0 else np.inf
    df_old = (m - 1) * (1.0 + 1.0 / r) ** 2
    if df_complete is None:
        return qbar, float(np.sqrt(t)), float(df_old)
    gamma = (1.0 + 1.0 / m) * b / t
    df_obs = (df_complete + 1.0) / (df_complete + 3.0) * df_complete * (1.0 - gamma)
    df = 1.0 / (1.0 / df_old + 1.0 / df_obs)
    return qbar, float(np.sqrt(t)), float(df)
