"""Case-mix adjustment: g-computation, inverse probability of treatment weighting, balance.

Programs admit different clients: inpatient units take more severe cases, so a crude comparison
of abstinence rates mixes the effect of the setting with the effect of who was admitted. This
module gives the two standard answers and the diagnostics that go with them.

* :func:`adjusted_comparison` with ``method="gcomp"`` fits a logistic regression of the outcome
  on the group indicator and the covariates, predicts every client's risk as if treated in
  ``group`` and as if treated in ``reference``, and averages (standardisation, Robins 1986).
* ``method="iptw"`` fits a logistic propensity model of the group on the covariates and weights
  each client by the inverse probability of the group they were in (Rosenbaum & Rubin 1983;
  Austin & Stuart 2015), with a balance table of standardized mean differences before and after
  weighting and Kish effective sample sizes.
* :func:`standardized_mean_difference`, :func:`balance_table` and
  :func:`effective_sample_size` are the balance diagnostics (also used by ``table_one`` and the
  love plot).

Covariates
----------
Numeric and boolean covariates enter the models linearly. Other columns (text, categorical) are
dummy coded with :func:`pandas.get_dummies` (``drop_first=True``: the first level, in the
categorical order or sorted order, is the reference level). Rows with a missing covariate are
left out (complete cases; the number is reported in ``remarks``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ._counts import outcome_as_float
from ._deprecate import renamed_parameters, warn_renamed
from ._render import ResultDisplay
from ._validate import check_confidence_level, validates_confidence_level
from .exceptions import InsufficientDataError, MissingColumnError, ParameterError
from .schema import BALANCE_COLUMNS, RATE, RATE_REF

__all__ = [
    "AdjustedEstimate",
    "adjusted_comparison",
    "balance_table",
    "design_matrix",
    "effective_sample_size",
    "standardized_mean_difference",
]


# --- helpers -------------------------------------------------------------------------------------


def _as_list(columns: str | Sequence[str] | None) -> list[str]:
    if columns is None:
        return []
    return [columns] if isinstance(columns, str) else list(columns)


def _check_columns(frame: pd.DataFrame, needed: Sequence[str]) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise MissingColumnError(
            f"Columns {missing} are not in the data. Found: {list(frame.columns)}. "
            "Name existing columns in the arguments."
        )


def _is_numeric(series: pd.Series) -> bool:
    return bool(
        pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype)
    )


def design_matrix(
    frame: pd.DataFrame,
    covariates: Sequence[str],
    *,
    observed_levels: bool = False,
    drop_constant: bool = False,
) -> pd.DataFrame:
    """Numeric model columns for ``covariates`` (numeric as is, others dummy coded).

    The library's one design-matrix builder (case-mix adjustment, survival and competing-risks
    models, subgroup and propensity models, and the follow-up and imputation models of
    :mod:`iopoutcomes.missing`). Numeric and boolean columns are used as floats. Any other
    column is dummy coded with ``pandas.get_dummies(drop_first=True)``; dummy columns are named
    ``"<covariate>[<level>]"``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data.
    covariates : sequence of str
        Covariate columns.
    observed_levels : bool, default False
        Dummy levels are the sorted values present in ``frame`` (a categorical's unused or
        reordered categories are ignored, so the first *observed* level is the reference).
        Default: a categorical column's own categories, in their order.
    drop_constant : bool, default False
        Leave out columns with fewer than two distinct non-missing values (they carry no
        information in a model with an intercept).

    Returns
    -------
    pandas.DataFrame
        Float columns, same index as ``frame``; missing values stay missing.

    Raises
    ------
    MissingColumnError
        A covariate that is not a column of ``frame``.

    Examples
    --------
    >>> df = pd.DataFrame({"age": [30, 40, 50], "sex": ["F", "M", "F"]})
    >>> design_matrix(df, ["age", "sex"]).columns.tolist()
    ['age', 'sex[M]']
    """
    absent = [c for c in covariates if c not in frame.columns]
    if absent:
        raise MissingColumnError(
            f"Covariate {absent[0]!r} is not in the data. Found: {list(frame.columns)}."
        )
    parts: list[pd.DataFrame] = []
    for name in covariates:
        col = frame[name]
        if _is_numeric(col):
            parts.append(pd.DataFrame({name: col.astype("Float64").astype(float)}))
        else:
            cat = col.astype("string") if observed_levels else col.astype("category")
            dummies = pd.get_dummies(cat, drop_first=True, dtype=float)
            dummies.columns = [f"{name}[{level}]" for level in dummies.columns]
            dummies[col.isna().to_numpy()] = np.nan
            parts.append(dummies)
    if not parts:
        return pd.DataFrame(index=frame.index)
    x = pd.concat(parts, axis=1)
    x.index = frame.index
    if drop_constant:
        x = x[[c for c in x.columns if x[c].nunique(dropna=True) > 1]]
    return x


def _level_indicators(frame: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Every covariate as balance-table columns: numeric as is, categorical one column per level.

    Columns are a MultiIndex (covariate, level); level is ``""`` for numeric covariates.
    """
    parts: list[pd.DataFrame] = []
    for name in covariates:
        col = frame[name]
        if _is_numeric(col):
            part = pd.DataFrame({(name, ""): col.astype("Float64").astype(float)})
        else:
            cat = col.astype("category")
            dummies = pd.get_dummies(cat, dtype=float)
            dummies[col.isna().to_numpy()] = np.nan
            dummies.columns = pd.MultiIndex.from_tuples([(name, str(lv)) for lv in dummies.columns])
            part = dummies
        parts.append(part)
    out = pd.concat(parts, axis=1)
    names: list[tuple[str, str]] = [(str(c[0]), str(c[1])) for c in out.columns]
    out.columns = pd.MultiIndex.from_tuples(names, names=["covariate", "level"])
    return out


def _weighted_moments(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column-wise weighted mean, binary-style variance p(1-p) and reliability-weighted variance.

    ``x`` is (n, m) with NaN for missing; ``w`` is (n,). Missing cells get weight 0.
    """
    ok = ~np.isnan(x)
    wm = np.where(ok, w[:, None], 0.0)
    xz = np.where(ok, x, 0.0)
    sw = wm.sum(axis=0)
    sw2 = (wm**2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (wm * xz).sum(axis=0) / sw
        dev2 = np.where(ok, (xz - mean) ** 2, 0.0)
        var = (wm * dev2).sum(axis=0) * sw / (sw**2 - sw2)
    return mean, mean * (1.0 - mean), var


def _smd_frame(
    frame: pd.DataFrame,
    by: str,
    covariates: Sequence[str],
    group: Any,
    reference: Any,
    weights: np.ndarray | None,
) -> pd.DataFrame:
    _check_columns(frame, [by, *covariates])
    g = frame[by]
    in_group = (g == group).to_numpy(dtype=bool)
    in_ref = (g == reference).to_numpy(dtype=bool)
    for label, mask in (("group", in_group), ("reference", in_ref)):
        if not mask.any():
            raise InsufficientDataError(
                f"The {label} level of column {by!r} has no rows; "
                f"found {g.nunique()} distinct levels. Check group= and reference=."
            )
    indicators = _level_indicators(frame, covariates)
    x = indicators.to_numpy(dtype=float)
    levels = indicators.columns.get_level_values(1)
    binary = np.array(
        [
            levels[j] != "" or bool(np.isin(x[~np.isnan(x[:, j]), j], (0.0, 1.0)).all())
            for j in range(x.shape[1])
        ]
    )
    w = np.ones(len(frame)) if weights is None else np.asarray(weights, dtype=float)
    m1, b1, v1 = _weighted_moments(x[in_group], w[in_group])
    m0, b0, v0 = _weighted_moments(x[in_ref], w[in_ref])
    var1 = np.where(binary, b1, v1)
    var0 = np.where(binary, b0, v0)
    num = m1 - m0
    den = np.sqrt((var1 + var0) / 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        smd = np.where(num == 0.0, 0.0, num / den)
    smd = np.where(np.isfinite(smd), smd, np.nan)
    return pd.DataFrame(
        {
            "covariate": indicators.columns.get_level_values(0),
            "level": indicators.columns.get_level_values(1),
            "mean_group": m1,
            "mean_reference": m0,
            "smd": smd,
        }
    )


# --- public balance diagnostics ------------------------------------------------------------------


@renamed_parameters(group_col="by")
def standardized_mean_difference(
    frame: pd.DataFrame,
    by: str,
    covariate: str | Sequence[str],
    group: Any,
    reference: Any,
    weights: Sequence[float] | np.ndarray | pd.Series | str | None = None,
) -> pd.DataFrame:
    """Standardized mean differences of covariates between two groups (Austin 2009).

    Continuous covariate: ``(mean_1 - mean_0) / sqrt((s_1^2 + s_0^2) / 2)``. Binary covariate
    (numeric 0/1 or boolean) and each level of a categorical covariate:
    ``(p_1 - p_0) / sqrt((p_1 (1 - p_1) + p_0 (1 - p_0)) / 2)`` (Austin 2009, Stat Med
    28:3083-3107, eqs. 1-2). With ``weights`` the means, proportions and variances are weighted
    (Austin & Stuart 2015, Stat Med 34:3661-3679); the weighted variance is the
    reliability-weighted ``sum w (x - m)^2 * sum w / ((sum w)^2 - sum w^2)``, equal to the usual
    ``n - 1`` sample variance when all weights are 1. A zero numerator gives 0; a zero
    denominator with a non-zero numerator gives NaN. Missing covariate values are ignored.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data.
    by : str
        Column holding the group labels (replaces ``group_col``, deprecated).
    covariate : str or sequence of str
        One or several covariates (computed together, vectorised).
    group, reference : scalar
        The two levels of ``by`` to compare (``group`` minus ``reference``).
    weights : array-like or str, optional
        Row weights (an array aligned with ``frame`` or the name of a column).

    Returns
    -------
    pandas.DataFrame
        One row per covariate (numeric) or covariate level (categorical): ``covariate``,
        ``level`` (``""`` for numeric covariates), ``mean_group``, ``mean_reference``
        (proportions for binary columns and levels) and ``smd``.

    Examples
    --------
    >>> df = pd.DataFrame({"g": ["a", "a", "b", "b"], "x": [1.0, 3.0, 2.0, 6.0]})
    >>> round(float(standardized_mean_difference(df, "g", "x", "a", "b")["smd"].iloc[0]), 4)
    -0.8944
    """
    w = _resolve_weights(frame, weights)
    return _smd_frame(frame, by, _as_list(covariate), group, reference, w)


def _resolve_weights(
    frame: pd.DataFrame, weights: Sequence[float] | np.ndarray | pd.Series | str | None
) -> np.ndarray | None:
    if weights is None:
        return None
    if isinstance(weights, str):
        _check_columns(frame, [weights])
        w = pd.to_numeric(frame[weights], errors="coerce").to_numpy(dtype=float)
    else:
        w = np.asarray(weights, dtype=float)
    if w.shape != (len(frame),):
        raise ParameterError(
            f"weights must have one value per row: got shape {w.shape} for {len(frame)} rows."
        )
    if not np.all(np.isfinite(w)) or bool((w < 0).any()):
        raise ParameterError("weights must be finite and non-negative; some are not.")
    return w


@renamed_parameters(group_col="by", covariates="adjust")
def balance_table(
    frame: pd.DataFrame,
    by: str,
    group: Any,
    reference: Any,
    adjust: Sequence[str],
    weights: Sequence[float] | np.ndarray | pd.Series | str | None = None,
) -> pd.DataFrame:
    """Covariate balance between two groups, before and (optionally) after weighting.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data.
    by : str
        Column holding the group labels (replaces ``group_col``, deprecated).
    group, reference : scalar
        The two levels compared.
    adjust : sequence of str
        The case-mix covariates whose balance is checked (those of ``adjust`` in
        :func:`adjusted_comparison`); categorical ones give one row per level. Replaces
        ``covariates`` (deprecated).
    weights : array-like or str, optional
        Row weights (e.g. inverse probability of treatment weights).

    Returns
    -------
    pandas.DataFrame
        Columns ``covariate``, ``level``, ``mean_group``, ``mean_reference`` (unweighted),
        ``mean_group_weighted``, ``mean_reference_weighted``, ``smd_unweighted`` and
        ``smd_weighted`` (the weighted columns are NaN without weights). See
        :func:`standardized_mean_difference` for the formulas.

    Examples
    --------
    >>> df = pd.DataFrame({"g": ["a", "a", "b", "b"], "sex": ["F", "M", "M", "M"]})
    >>> balance_table(df, "g", "a", "b", ["sex"])[["level", "smd_unweighted"]]
      level  smd_unweighted
    0     F        1.414214
    1     M       -1.414214
    """
    covs = _as_list(adjust)
    raw = _smd_frame(frame, by, covs, group, reference, None)
    out = raw.rename(columns={"smd": "smd_unweighted"})
    w = _resolve_weights(frame, weights)
    if w is None:
        out["mean_group_weighted"] = np.nan
        out["mean_reference_weighted"] = np.nan
        out["smd_weighted"] = np.nan
    else:
        weighted = _smd_frame(frame, by, covs, group, reference, w)
        out["mean_group_weighted"] = weighted["mean_group"].to_numpy()
        out["mean_reference_weighted"] = weighted["mean_reference"].to_numpy()
        out["smd_weighted"] = weighted["smd"].to_numpy()
    return out[list(BALANCE_COLUMNS)]


def effective_sample_size(weights: Sequence[float] | np.ndarray | pd.Series) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` (Kish 1965).

    Examples
    --------
    >>> effective_sample_size([1, 1, 1, 1])
    4.0
    >>> round(effective_sample_size([1, 1, 2]), 4)
    2.6667
    """
    w = np.asarray(weights, dtype=float)
    total = float(w.sum())
    return total**2 / float((w**2).sum()) if total > 0 else 0.0


# --- result --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class AdjustedEstimate(ResultDisplay):
    """A case-mix adjusted comparison of a binary outcome between two groups.

    Attributes
    ----------
    group, reference : object
        The compared levels (``group`` minus / over ``reference``).
    rate, rate_ref : float
        Standardised (g-computation) or weighted (IPTW) rates of the outcome (``risk`` and
        ``risk_ref`` are their deprecated names).
    diff, diff_ci_low, diff_ci_high : float
        Adjusted risk difference and its interval.
    ratio, ratio_ci_low, ratio_ci_high : float
        Adjusted risk ratio and its interval (log scale).
    odds_ratio, odds_ratio_ci_low, odds_ratio_ci_high : float
        g-computation: the conditional odds ratio of the group term of the logistic model;
        IPTW: the marginal odds ratio of the weighted risks.
    pvalue : float
        Two-sided Wald p-value for ``diff = 0``.
    method : str
        Model, estimand, interval and standard-error type in words.
    inference : str
        ``"delta"`` or ``"bootstrap"`` (``interval`` is its deprecated name).
    adjust : tuple of str
        The case-mix covariates (``covariates`` is their deprecated name).
    n_used : int
        Rows used (both groups, complete covariates).
    balance : pandas.DataFrame or None
        IPTW only: :func:`balance_table` before/after weighting.
    ess : dict or None
        IPTW only: Kish effective sample size per group.
    remarks : tuple of str
        Caveats (rows dropped, extreme weights, ...).

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> out = iop.episode_outcomes(iop.simulate_records(n=100, seed=0))
    >>> df = out.table.assign(abstinent_6mo=out.table["abstinent_6mo"].fillna(False))  # "using"
    >>> est = iop.adjusted_comparison(df, "abstinent_6mo", "cohort", "IOP", "inpatient", ["age", "sex"])
    >>> est.estimand, est.n_used, est.adjust
    ('ATE', 100, ('age', 'sex'))
    >>> est.to_frame().columns.tolist()[:7]
    ['outcome', 'group', 'reference', 'n', 'rate', 'rate_ref', 'diff']
    >>> bool(est.diff_ci_low <= est.diff <= est.diff_ci_high)
    True
    """

    group: Any
    reference: Any
    outcome: str
    rate: float
    rate_ref: float
    diff: float
    diff_ci_low: float
    diff_ci_high: float
    ratio: float
    ratio_ci_low: float
    ratio_ci_high: float
    odds_ratio: float
    odds_ratio_ci_low: float
    odds_ratio_ci_high: float
    pvalue: float
    std_err: float
    method: str
    estimand: str
    inference: str
    confidence_level: float
    n_used: int
    adjust: tuple[str, ...]
    balance: pd.DataFrame | None = None
    ess: dict[Any, float] | None = None
    remarks: tuple[str, ...] = ()

    @property
    def risk(self) -> float:
        """Deprecated name of :attr:`rate`."""
        warn_renamed("AdjustedEstimate", "risk", "rate")
        return self.rate

    @property
    def risk_ref(self) -> float:
        """Deprecated name of :attr:`rate_ref`."""
        warn_renamed("AdjustedEstimate", "risk_ref", "rate_ref")
        return self.rate_ref

    @property
    def covariates(self) -> tuple[str, ...]:
        """Deprecated name of :attr:`adjust`."""
        warn_renamed("AdjustedEstimate", "covariates", "adjust")
        return self.adjust

    @property
    def interval(self) -> str:
        """Deprecated name of :attr:`inference`."""
        warn_renamed("AdjustedEstimate", "interval", "inference")
        return self.inference

    def _header(self) -> str:
        return (
            f"AdjustedEstimate: {self.outcome}, {self.group} vs {self.reference}, "
            f"{self.estimand} by {self.method.split(';')[0]}, n = {self.n_used}"
        )

    def to_frame(self) -> pd.DataFrame:
        """One row with the adjusted risks, difference, ratio and odds ratio."""
        return pd.DataFrame(
            {
                "outcome": [self.outcome],
                "group": [self.group],
                "reference": [self.reference],
                "n": [self.n_used],
                RATE: [self.rate],
                RATE_REF: [self.rate_ref],
                "diff": [self.diff],
                "diff_ci_low": [self.diff_ci_low],
                "diff_ci_high": [self.diff_ci_high],
                "ratio": [self.ratio],
                "ratio_ci_low": [self.ratio_ci_low],
                "ratio_ci_high": [self.ratio_ci_high],
                "odds_ratio": [self.odds_ratio],
                "odds_ratio_ci_low": [self.odds_ratio_ci_low],
                "odds_ratio_ci_high": [self.odds_ratio_ci_high],
                "pvalue": [self.pvalue],
                "method": [self.method],
            }
        )

    def definition_text(self) -> str:
        """The adjustment method in one paragraph."""
        return f"Adjusted for {', '.join(self.adjust) or 'nothing'}. {self.method}."

    def narrative(self) -> str:
        """Plain-language summary a report can quote."""
        pct = round(100 * self.confidence_level)
        return (
            f"After adjusting for {', '.join(self.adjust)}, the estimated {self.outcome} rate "
            f"was {100 * self.rate:.0f}% for {self.group} and {100 * self.rate_ref:.0f}% for "
            f"{self.reference}; the adjusted difference is {100 * self.diff:.1f} points "
            f"({pct}% CI {100 * self.diff_ci_low:.1f} to {100 * self.diff_ci_high:.1f}; "
            f"p = {self.pvalue:.3g})."
        )

    def methods_text(self) -> str:
        """Methods paragraph with references."""
        if self.method.startswith("g-computation"):
            core = (
                "Adjusted risks were obtained by standardisation (g-computation; Robins 1986): a "
                "logistic regression of the outcome on group and covariates was fitted and each "
                "client's predicted risk under each group was averaged"
            )
        else:
            core = (
                "Inverse probability of treatment weighting used a logistic propensity-score "
                "model (Rosenbaum & Rubin 1983); balance was checked with standardized mean "
                "differences (Austin 2009; Austin & Stuart 2015) and Kish effective sample sizes"
            )
        return f"{core}. {self.method}."

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Love plot of the IPTW balance table (``plots.plot_balance``; IPTW only)."""
        if self.balance is None:
            raise ParameterError(
                "This estimate has no balance table (g-computation); use method='iptw' or "
                "balance_table() and plots.plot_balance()."
            )
        from .plots import plot_balance

        return plot_balance(self, ax=ax, **kwargs)


# --- estimation ----------------------------------------------------------------------------------


def _expit(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


def _fit_logit(
    y: np.ndarray, x: np.ndarray, cluster: np.ndarray | None, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Logistic GLM (statsmodels); returns coefficients and covariance (model or clustered)."""
    import statsmodels.api as sm

    model = sm.GLM(y, x, family=sm.families.Binomial(), var_weights=weights)
    if cluster is None:
        res = model.fit(tol=1e-12, maxiter=100)
    else:
        res = model.fit(cov_type="cluster", cov_kwds={"groups": cluster}, tol=1e-12, maxiter=100)
    return np.asarray(res.params, dtype=float), np.asarray(res.cov_params(), dtype=float)


def _gcomp_point(
    y: np.ndarray, x: np.ndarray, treat_col: int, target: np.ndarray, cluster: np.ndarray | None
) -> tuple[float, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    beta, cov = _fit_logit(y, x, cluster)
    x1 = x[target].copy()
    x1[:, treat_col] = 1.0
    x0 = x[target].copy()
    x0[:, treat_col] = 0.0
    p1 = _expit(x1 @ beta)
    p0 = _expit(x0 @ beta)
    g1 = ((p1 * (1 - p1))[:, None] * x1).mean(axis=0)
    g0 = ((p0 * (1 - p0))[:, None] * x0).mean(axis=0)
    return float(p1.mean()), float(p0.mean()), g1, g0, beta, cov


def _iptw_point(
    y: np.ndarray,
    t: np.ndarray,
    xc: np.ndarray,
    estimand: str,
    cluster: np.ndarray | None,
    with_variance: bool,
) -> tuple[float, float, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted (Hajek) risks and the M-estimation covariance of (mu1, mu0).

    Stacked estimating equations (Lunceford & Davidian 2004): propensity score
    ``X (T - e)``, ``w1 T (Y - mu1)``, ``w0 (1 - T) (Y - mu0)``.
    """
    alpha, _ = _fit_logit(t, xc, None)
    e = _expit(xc @ alpha)
    if estimand == "ATE":
        w1 = 1.0 / e
        w0 = 1.0 / (1.0 - e)
        dw1 = -(1.0 - e) / e  # d w1 / d alpha = dw1 * x
        dw0 = e / (1.0 - e)
    else:  # ATT
        w1 = np.ones_like(e)
        w0 = e / (1.0 - e)
        dw1 = np.zeros_like(e)
        dw0 = e / (1.0 - e)
    a1 = w1 * t
    a0 = w0 * (1.0 - t)
    mu1 = float((a1 * y).sum() / a1.sum())
    mu0 = float((a0 * y).sum() / a0.sum())
    weights = a1 + a0
    if not with_variance:
        return mu1, mu0, np.zeros((2, 2)), e, weights
    p = xc.shape[1]
    r1 = t * (y - mu1)
    r0 = (1.0 - t) * (y - mu0)
    psi = np.column_stack([xc * (t - e)[:, None], w1 * r1, w0 * r0])
    k = p + 2
    a = np.zeros((k, k))
    a[:p, :p] = -(xc * (e * (1 - e))[:, None]).T @ xc
    a[p, :p] = (xc * (r1 * dw1)[:, None]).sum(axis=0)
    a[p, p] = -a1.sum()
    a[p + 1, :p] = (xc * (r0 * dw0)[:, None]).sum(axis=0)
    a[p + 1, p + 1] = -a0.sum()
    if cluster is None:
        meat = psi.T @ psi
    else:
        codes, _ = pd.factorize(cluster)
        sums = np.zeros((codes.max() + 1, k))
        np.add.at(sums, codes, psi)
        n_groups = sums.shape[0]
        meat = sums.T @ sums * n_groups / (n_groups - 1.0)
    a_inv = np.linalg.inv(a)
    cov = a_inv @ meat @ a_inv.T
    return mu1, mu0, cov[p:, p:], e, weights


def _contrasts(r1: float, r0: float) -> tuple[float, float, float]:
    with np.errstate(divide="ignore", invalid="ignore"):
        return (
            r1 - r0,
            float(np.log(r1) - np.log(r0)),
            float(np.log(r1 / (1 - r1)) - np.log(r0 / (1 - r0))),
        )


@renamed_parameters(covariates="adjust", interval="inference")
@validates_confidence_level
def adjusted_comparison(
    frame: pd.DataFrame,
    outcome: str,
    by: str,
    group: Any,
    reference: Any,
    adjust: Sequence[str],
    *,
    method: Literal["gcomp", "iptw"] = "gcomp",
    cluster: str | None = None,
    inference: Literal["delta", "bootstrap"] = "delta",
    n_boot: int = 500,
    seed: int = 0,
    confidence_level: float = 0.95,
    estimand: Literal["ATE", "ATT"] = "ATE",
) -> AdjustedEstimate:
    """Case-mix adjusted risk difference, risk ratio and odds ratio of a binary outcome.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per episode: ``outcome`` (0/1, no missing values: apply the missing-data rule
        first), ``by`` and the ``adjust`` columns (and ``cluster``).
    outcome : str
        The binary outcome column.
    by : str
        The group column.
    group, reference : scalar
        The compared levels of ``by``; rows of other groups are not used.
    adjust : sequence of str
        Case-mix covariates (numeric linear; others dummy coded, first level reference).
        Replaces ``covariates`` (deprecated; ``covariates`` elsewhere names the predictors of
        a missing-data model).
    method : {"gcomp", "iptw"}
        ``"gcomp"``: logistic outcome model and standardisation (g-computation).
        ``"iptw"``: logistic propensity model and inverse probability of treatment weights.
    cluster : str, optional
        Column of clusters (e.g. ``"site"``): cluster-robust standard errors, and the bootstrap
        resamples whole clusters.
    inference : {"delta", "bootstrap"}
        How the standard errors and intervals are obtained (replaces ``interval``, deprecated:
        elsewhere ``interval`` names an interval formula such as ``"wilson"``).
        ``"delta"``: g-computation uses the delta method on the logistic model's covariance
        (model-based, or cluster-robust CR1 with ``cluster``: the ``G/(G-1) (N-1)/(N-K)``
        correction, as R's ``sandwich::vcovCL(type = "HC1")``); the standardisation treats the
        covariate distribution of the sample as fixed (as R's ``marginaleffects``). IPTW uses
        the M-estimation sandwich of the stacked propensity and weighted-mean estimating
        equations (Lunceford & Davidian 2004), which accounts for the estimated propensity
        score (with ``cluster``: cluster sums of the estimating functions, ``G/(G-1)``
        correction). ``"bootstrap"``: ``n_boot`` seeded nonparametric bootstrap replicates
        refitting every model; percentile intervals and the bootstrap standard error for the
        p-value.
    n_boot : int
        Bootstrap replicates.
    seed : int
        Bootstrap seed (``numpy.random.default_rng``).
    confidence_level : float
        Interval level.
    estimand : {"ATE", "ATT"}
        ``"ATE"`` (default): the contrast averaged over the combined population of both groups.
        ``"ATT"``: averaged over the ``group`` rows (g-computation standardises to the group's
        covariates; IPTW weights the reference rows by ``e / (1 - e)``).

    Returns
    -------
    AdjustedEstimate

    Notes
    -----
    IPTW weights are stabilised: ATE weights are ``P(T=1)/e`` for the group and
    ``P(T=0)/(1-e)`` for the reference (Robins, Hernan & Brumback 2000); risks are weighted means
    within each group (Hajek), which the stabilising constants leave unchanged. The balance table
    and effective sample sizes use the stabilised weights.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> sev = rng.normal(size=400)
    >>> iop = (rng.random(400) < 1 / (1 + np.exp(sev))).astype(int)
    >>> y = (rng.random(400) < 1 / (1 + np.exp(-(0.2 - sev)))).astype(float)
    >>> df = pd.DataFrame({"y": y, "cohort": np.where(iop == 1, "IOP", "inpatient"), "sev": sev})
    >>> est = adjusted_comparison(df, "y", "cohort", "IOP", "inpatient", ["sev"])
    >>> bool(est.diff_ci_low < 0 < est.diff_ci_high)
    True
    """
    covs = _as_list(adjust)
    _check_columns(frame, [outcome, by, *covs] + ([cluster] if cluster else []))
    if method not in ("gcomp", "iptw"):
        raise ParameterError(f"method must be 'gcomp' or 'iptw'; got {method!r}.")
    if inference not in ("delta", "bootstrap"):
        raise ParameterError(f"inference must be 'delta' or 'bootstrap'; got {inference!r}.")
    if estimand not in ("ATE", "ATT"):
        raise ParameterError(f"estimand must be 'ATE' or 'ATT'; got {estimand!r}.")
    check_confidence_level(confidence_level)
    if inference == "bootstrap" and n_boot < 2:
        raise ParameterError(f"n_boot must be at least 2; got {n_boot!r}.")
    if not covs:
        raise ParameterError("adjust is empty: name at least one case-mix covariate.")

    rows = frame[frame[by].isin([group, reference])]
    for label, level in (("group", group), ("reference", reference)):
        if not bool((rows[by] == level).any()):
            raise InsufficientDataError(
                f"The {label} level of column {by!r} has no rows; check {label}=. "
                f"Column {by!r} has {frame[by].nunique()} distinct levels."
            )
    y_all = outcome_as_float(rows[outcome])
    if bool(y_all.isna().any()):
        raise ParameterError(
            f"Outcome column {outcome!r} has {int(y_all.isna().sum())} missing values among the "
            "compared groups; apply the missing-data rule (e.g. missing='using') first."
        )
    xcov = design_matrix(rows, covs)
    complete = xcov.notna().all(axis=1).to_numpy().copy()
    if cluster:
        complete &= rows[cluster].notna().to_numpy()
    remarks: list[str] = []
    n_dropped = int((~complete).sum())
    if n_dropped:
        remarks.append(
            f"{n_dropped} rows with a missing covariate{' or cluster' if cluster else ''} "
            "were left out (complete-case adjustment)."
        )
    rows = rows[complete]
    xcov = xcov[complete]
    y = y_all.to_numpy(dtype=float)[complete]
    t = (rows[by] == group).to_numpy(dtype=float)
    if t.sum() == 0 or t.sum() == len(t):
        raise InsufficientDataError(
            "After dropping rows with missing covariates one of the compared groups is empty."
        )
    constant = xcov.columns[(xcov.nunique() <= 1).to_numpy()]
    if len(constant):
        remarks.append(f"Covariate columns without variation were dropped: {list(constant)}.")
        xcov = xcov.drop(columns=constant)
    clusters = rows[cluster].to_numpy() if cluster else None
    cl_codes = pd.factorize(clusters)[0] if clusters is not None else None
    n = len(y)
    z = float(stats.norm.ppf(0.5 + confidence_level / 2))

    xc = np.column_stack([np.ones(n), xcov.to_numpy(dtype=float)])
    balance: pd.DataFrame | None = None
    ess: dict[Any, float] | None = None

    def estimate(
        idx: np.ndarray | None, with_variance: bool
    ) -> tuple[float, float, np.ndarray, np.ndarray, float, float]:
        """(r1, r0, grad-or-cov, ..., log OR, se log OR) on the rows idx (None = all)."""
        yy, tt, xx = (y, t, xc) if idx is None else (y[idx], t[idx], xc[idx])
        cc = None if cl_codes is None or idx is not None else cl_codes
        if method == "gcomp":
            xg = np.column_stack([xx[:, :1], tt, xx[:, 1:]])
            tg = tt == 1.0 if estimand == "ATT" else np.ones(len(yy), dtype=bool)
            r1, r0, g1, g0, beta, cov = _gcomp_point(yy, xg, 1, tg, cc)
            return r1, r0, np.vstack([g1, g0]), cov, float(beta[1]), float(np.sqrt(cov[1, 1]))
        mu1, mu0, cov2, _, _ = _iptw_point(yy, tt, xx, estimand, cc, with_variance)
        return mu1, mu0, np.eye(2), cov2, np.nan, np.nan

    r1, r0, grads, cov, log_or_cond, se_log_or_cond = estimate(None, inference == "delta")
    diff, log_rr, log_or_marg = _contrasts(r1, r0)

    if method == "iptw":
        _, _, _, e, _ = _iptw_point(y, t, xc, estimand, None, False)
        p_t = t.mean()
        if estimand == "ATE":
            w = np.where(t == 1.0, p_t / e, (1 - p_t) / (1 - e))
        else:
            w = np.where(t == 1.0, 1.0, e / (1 - e) * (1 - p_t) / p_t)
        balance = balance_table(rows, by, group, reference, covs, weights=w)
        ess = {
            group: effective_sample_size(w[t == 1.0]),
            reference: effective_sample_size(w[t == 0.0]),
        }
        if float(e.min()) < 0.01 or float(e.max()) > 0.99:
            remarks.append(
                "Some propensity scores are below 0.01 or above 0.99 (near positivity "
                "violation); weighted estimates may be unstable."
            )
        if balance["smd_weighted"].abs().max() > 0.1:
            remarks.append("Some covariates remain imbalanced after weighting (|SMD| > 0.1).")

    if inference == "delta":
        if method == "gcomp":
            g1, g0 = grads
            v = cov
            se_diff = float(np.sqrt((g1 - g0) @ v @ (g1 - g0)))
            gl = g1 / r1 - g0 / r0
            se_log_rr = float(np.sqrt(gl @ v @ gl))
            log_or, se_log_or = log_or_cond, se_log_or_cond
        else:
            v = cov
            se_diff = float(np.sqrt(v[0, 0] + v[1, 1] - 2 * v[0, 1]))
            gl = np.array([1 / r1, -1 / r0])
            se_log_rr = float(np.sqrt(gl @ v @ gl))
            go = np.array([1 / (r1 * (1 - r1)), -1 / (r0 * (1 - r0))])
            log_or, se_log_or = log_or_marg, float(np.sqrt(go @ v @ go))
        diff_ci = (diff - z * se_diff, diff + z * se_diff)
        rr_ci = (float(np.exp(log_rr - z * se_log_rr)), float(np.exp(log_rr + z * se_log_rr)))
        or_ci = (float(np.exp(log_or - z * se_log_or)), float(np.exp(log_or + z * se_log_or)))
        se = se_diff
        interval_text = "delta-method Wald intervals"
    else:
        rng = np.random.default_rng(seed)
        boot = np.empty((n_boot, 3))
        if cl_codes is None:
            draws = [rng.integers(0, n, n) for _ in range(n_boot)]
        else:
            members = pd.Series(np.arange(n)).groupby(cl_codes).apply(np.asarray).tolist()
            n_groups = len(members)
            draws = [
                np.concatenate([members[c] for c in rng.integers(0, n_groups, n_groups)])
                for _ in range(n_boot)
            ]
        for b, idx in enumerate(draws):
            br1, br0, _, _, blor, _ = estimate(idx, False)
            d, lr, lo = _contrasts(br1, br0)
            boot[b] = (d, lr, blor if method == "gcomp" else lo)
        lo_q, hi_q = 0.5 - confidence_level / 2, 0.5 + confidence_level / 2
        q = np.nanquantile(boot, [lo_q, hi_q], axis=0)
        diff_ci = (float(q[0, 0]), float(q[1, 0]))
        rr_ci = (float(np.exp(q[0, 1])), float(np.exp(q[1, 1])))
        or_ci = (float(np.exp(q[0, 2])), float(np.exp(q[1, 2])))
        log_or = log_or_cond if method == "gcomp" else log_or_marg
        se = float(np.nanstd(boot[:, 0], ddof=1))
        unit = "cluster" if cluster else "row"
        interval_text = (
            f"percentile bootstrap intervals ({n_boot} {unit}-resampling replicates, seed {seed})"
        )
    pvalue = float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else float("nan")

    if method == "gcomp":
        se_text = (
            f"cluster-robust (CR1, clustered on {cluster}) GLM covariance"
            if cluster
            else "model-based GLM covariance"
        )
        method_text = (
            f"g-computation (logistic regression of {outcome} on {by} and covariates, "
            f"standardised to the {'combined' if estimand == 'ATE' else group} population); "
            f"{interval_text}"
            + (f" from the {se_text}" if inference == "delta" else "")
            + "; odds ratio conditional on covariates"
        )
    else:
        se_text = (
            f"M-estimation sandwich clustered on {cluster}"
            if cluster
            else "M-estimation sandwich (propensity estimation accounted for)"
        )
        method_text = (
            f"IPTW (logistic propensity model, stabilised {estimand} weights, weighted risks); "
            f"{interval_text}"
            + (f" from the {se_text}" if inference == "delta" else "")
            + "; marginal odds ratio of the weighted risks"
        )
    return AdjustedEstimate(
        group=group,
        reference=reference,
        outcome=outcome,
        rate=r1,
        rate_ref=r0,
        diff=diff,
        diff_ci_low=float(diff_ci[0]),
        diff_ci_high=float(diff_ci[1]),
        ratio=float(np.exp(log_rr)),
        ratio_ci_low=rr_ci[0],
        ratio_ci_high=rr_ci[1],
        odds_ratio=float(np.exp(log_or)),
        odds_ratio_ci_low=or_ci[0],
        odds_ratio_ci_high=or_ci[1],
        pvalue=pvalue,
        std_err=se,
        method=method_text,
        estimand=estimand,
        inference=inference,
        confidence_level=confidence_level,
        n_used=n,
        adjust=tuple(covs),
        balance=balance,
        ess=ess,
        remarks=tuple(remarks),
    )
