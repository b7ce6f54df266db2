"""Cox proportional-hazards fitting shared by the survival and competing-risks engines.

:func:`_cox` fits a (stratified) Cox model with statsmodels' ``PHReg`` and, with ``cluster``,
replaces the model-based standard errors by the cluster-robust sandwich (as R's ``cluster()``);
the risk-set sums it uses also give :mod:`iopoutcomes.survival` the proportional-hazards score
test. One home for both engines: :mod:`iopoutcomes.survival` offers competing risks and
:mod:`iopoutcomes.competing` fits cause-specific Cox models, so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__: list[str] = []


@dataclass(frozen=True)
class _RiskSets:
    """Sums over the risk set and the event set at each (stratum, distinct time), time ascending
    within stratum; ``row`` maps every observation to its (stratum, time) row."""

    d: np.ndarray  # events at the time
    s0: np.ndarray  # sum of w over the risk set
    s1: np.ndarray  # sum of w x, (m, p)
    s2: np.ndarray  # sum of w x x', (m, p, p)
    e0: np.ndarray  # the same over the events at the time
    e1: np.ndarray
    e2: np.ndarray
    xd: np.ndarray  # sum of x over the events at the time (unweighted), (m, p)
    stratum: np.ndarray
    time: np.ndarray
    row: np.ndarray  # (n,) row index of each observation


def _risk_sets(
    time: np.ndarray, event: np.ndarray, x: np.ndarray, eta: np.ndarray, strata: np.ndarray
) -> _RiskSets:
    n, p = x.shape
    w = np.exp(eta - eta.max())  # risk weights up to a constant (cancels in every ratio)
    xx = (x[:, :, None] * x[:, None, :]).reshape(n, p * p)
    ev = event.astype(float)
    parts = np.column_stack([w, w[:, None] * x, w[:, None] * xx])
    cols = parts.shape[1]
    frame = pd.DataFrame(
        np.column_stack([parts, ev[:, None] * parts, ev, ev[:, None] * x]),
    )
    frame["_s"] = strata
    frame["_t"] = time
    agg = frame.groupby(["_s", "_t"], sort=True).sum()  # strata then time ascending
    keys = agg.index.to_frame(index=False)
    vals = agg.to_numpy(dtype=float)
    # risk set at t: rows with time >= t in the stratum -> reverse cumulative sum per stratum
    risk = (
        pd.DataFrame(vals[:, :cols]).iloc[::-1].groupby(keys["_s"].to_numpy()[::-1]).cumsum()
    ).iloc[::-1]
    risk_v = risk.to_numpy(dtype=float)
    evs = vals[:, cols : 2 * cols]
    m = len(agg)
    row = pd.MultiIndex.from_frame(keys).get_indexer(pd.MultiIndex.from_arrays([strata, time]))
    return _RiskSets(
        d=vals[:, 2 * cols],
        s0=risk_v[:, 0],
        s1=risk_v[:, 1 : 1 + p],
        s2=risk_v[:, 1 + p :].reshape(m, p, p),
        e0=evs[:, 0],
        e1=evs[:, 1 : 1 + p],
        e2=evs[:, 1 + p :].reshape(m, p, p),
        xd=vals[:, 2 * cols + 1 :],
        stratum=keys["_s"].to_numpy(),
        time=keys["_t"].to_numpy(dtype=float),
        row=row,
    )


@dataclass(frozen=True)
class _TieTerms:
    """Per (stratum, time) row: score, information, the mean covariate per event and the
    increments needed by the score residuals (Efron or Breslow ties)."""

    score: np.ndarray  # (m, p): sum of x over events minus the sum of the risk-set means
    info: np.ndarray  # (m, p, p)
    xbar: np.ndarray  # (m, p): mean of the risk-set means over the d events
    hazard: np.ndarray  # (m,): sum_k 1 / S0_k
    hazard_x: np.ndarray  # (m, p): sum_k xbar_k / S0_k
    hazard2: np.ndarray  # (m,): sum_k (k / d) / S0_k
    hazard2_x: np.ndarray  # (m, p): sum_k (k / d) xbar_k / S0_k


def _tie_terms(rs: _RiskSets, ties: str) -> _TieTerms:
    m, p = rs.s1.shape
    d = rs.d
    score = rs.xd.copy()
    info = np.zeros((m, p, p))
    xsum = np.zeros((m, p))
    hz = np.zeros(m)
    hzx = np.zeros((m, p))
    hz2 = np.zeros(m)
    hz2x = np.zeros((m, p))
    max_d = int(d.max()) if m else 0
    steps = range(max_d) if ties == "efron" else range(1)
    for k in steps:  # over the tie multiplicity, never over observations
        live = d > k
        frac = np.where(live, k / np.where(d > 0, d, 1), 0.0) if ties == "efron" else 0.0 * d
        mult = live.astype(float) if ties == "efron" else d.astype(float)
        s0 = rs.s0 - frac * rs.e0
        s1 = rs.s1 - frac[:, None] * rs.e1
        s2 = rs.s2 - frac[:, None, None] * rs.e2
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(live[:, None], s1 / s0[:, None], 0.0)
            var = np.where(
                live[:, None, None],
                s2 / s0[:, None, None] - mean[:, :, None] * mean[:, None, :],
                0.0,
            )
            inv = np.where(live, 1.0 / s0, 0.0)
        score -= mult[:, None] * mean
        info += mult[:, None, None] * var
        xsum += mult[:, None] * mean
        hz += mult * inv
        hzx += (mult * inv)[:, None] * mean
        hz2 += frac * inv
        hz2x += (frac * inv)[:, None] * mean
    with np.errstate(divide="ignore", invalid="ignore"):
        xbar = np.where(d[:, None] > 0, xsum / np.where(d > 0, d, 1)[:, None], 0.0)
    return _TieTerms(score, info, xbar, hz, hzx, hz2, hz2x)


def _score_residuals(
    x: np.ndarray, event: np.ndarray, eta: np.ndarray, rs: _RiskSets, tt: _TieTerms
) -> np.ndarray:
    """Per-observation score residuals (R's ``residuals(coxph, "score")``, Efron or Breslow)."""
    w = np.exp(eta - eta.max())
    # cumulative hazard terms up to each (stratum, time), ascending within stratum
    cum_h = pd.Series(tt.hazard).groupby(rs.stratum).cumsum().to_numpy()
    cum_hx = pd.DataFrame(tt.hazard_x).groupby(rs.stratum).cumsum().to_numpy()
    r = rs.row
    resid = -w[:, None] * (x * cum_h[r][:, None] - cum_hx[r])
    # an event's own time: its counting-process jump, and Efron's down-weighting of the dying
    own = (x - tt.xbar[r]) + w[:, None] * (x * tt.hazard2[r][:, None] - tt.hazard2_x[r])
    return resid + event[:, None] * own


def _robust_covariance(
    x: np.ndarray,
    event: np.ndarray,
    eta: np.ndarray,
    rs: _RiskSets,
    tt: _TieTerms,
    cluster: np.ndarray,
) -> np.ndarray:
    """Sandwich variance V (U'U) V with U the score residuals summed within clusters (Lin & Wei
    1989; R's ``coxph(... + cluster(id))``, no small-sample factor)."""
    resid = _score_residuals(x, event, eta, rs, tt)
    u = pd.DataFrame(resid).groupby(cluster, sort=False).sum().to_numpy()
    v = np.linalg.inv(tt.info.sum(axis=0))
    return v @ (u.T @ u) @ v


def _cox(
    time: np.ndarray,
    event: np.ndarray,
    exog: pd.DataFrame,
    ties: str,
    z: float,
    strata: np.ndarray | None = None,
    cluster: np.ndarray | None = None,
) -> tuple[pd.DataFrame, bool]:
    """Cox fit as a table, and whether the partial likelihood converged to a finite maximum.

    ``strata`` (integer codes) gives each stratum its own baseline hazard; ``cluster`` replaces
    the model-based standard errors by the cluster-robust sandwich (as R's ``cluster()``).
    """
    import warnings

    from statsmodels.duration.hazard_regression import PHReg
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    xv = exog.to_numpy(dtype=float)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        res = PHReg(time, xv, status=event, ties=ties, strata=strata).fit(
            tol=1e-12, maxiter=200, disp=False
        )
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    beta = np.asarray(res.params, dtype=float)
    with warnings.catch_warnings():  # a non-estimable term has a negative variance: NaN, remarked
        warnings.simplefilter("ignore", RuntimeWarning)
        se = np.asarray(res.bse, dtype=float)
    if cluster is not None:
        codes = np.zeros(len(time), dtype=int) if strata is None else strata
        eta = xv @ beta
        rs = _risk_sets(time, event, xv, eta, codes)
        tt = _tie_terms(rs, ties)
        se = np.sqrt(np.diag(_robust_covariance(xv, event, eta, rs, tt, cluster)))
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
