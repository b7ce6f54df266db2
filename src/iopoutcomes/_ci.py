"""Interval and test arithmetic on counts: one and two independent binomial proportions.

This is the library's "calc" layer (in the spirit of zEpid's ``calc``): pure numpy/scipy
functions of counts, vectorised over arrays (every argument broadcasts), with no knowledge of
data frames. ``rates``, ``compare`` and ``report`` call it.

Conventions
-----------
* Group 1 is the comparison group (for example IOP) and group 0 the reference (inpatient);
  differences are ``p1 - p0``, ratios ``p1 / p0``, odds ratios ``odds1 / odds0``.
* ``confidence_level`` is two-sided (0.95 gives 2.5% in each tail).
* Scalar inputs give numpy float scalars; array inputs give arrays of the broadcast shape.
* A group with ``n = 0`` gives ``nan`` limits (nothing to estimate), never an error.

Why not statsmodels for everything? ``statsmodels.stats.proportion`` (checked in 0.15.0) solves
the Miettinen-Nurminen constrained maximum-likelihood cubic with a wrong linear coefficient
(``count0`` where ``nobs0`` belongs; upstream issue #10269), so its score tests and score
intervals for a difference are wrong whenever the null difference is not zero, which is exactly
the non-inferiority and equivalence case. The score machinery here is written from Miettinen and
Nurminen (1985) and Farrington and Manning (1990), and tested against Newcombe's (1998)
published table and against a brute-force maximisation of the restricted likelihood.

References
----------
Agresti A, Caffo B (2000). Simple and effective confidence intervals for proportions and
differences of proportions result from adding two successes and two failures. The American
Statistician 54:280-288.

Agresti A, Coull BA (1998). Approximate is better than "exact" for interval estimation of
binomial proportions. The American Statistician 52:119-126.

Brown LD, Cai TT, DasGupta A (2001). Interval estimation for a binomial proportion.
Statistical Science 16:101-133.

Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated in the case
of the binomial. Biometrika 26:404-413.

Farrington CP, Manning G (1990). Test statistics and sample size formulae for comparative
binomial trials with null hypothesis of non-zero risk difference or non-unity relative risk.
Statistics in Medicine 9:1447-1454.

Katz D, Baptista J, Azen SP, Pike MC (1978). Obtaining confidence intervals for the risk ratio
in cohort studies. Biometrics 34:469-474.

Koopman PAR (1984). Confidence intervals for the ratio of two binomial proportions.
Biometrics 40:513-517.

Mee RW (1984). Confidence bounds for the difference between two probabilities. Biometrics
40:1175-1176.

Miettinen O, Nurminen M (1985). Comparative analysis of two rates. Statistics in Medicine
4:213-226.

Newcombe RG (1998a). Two-sided confidence intervals for the single proportion: comparison of
seven methods. Statistics in Medicine 17:857-872.

Newcombe RG (1998b). Interval estimation for the difference between independent proportions:
comparison of eleven methods. Statistics in Medicine 17:873-890.

Wilson EB (1927). Probable inference, the law of succession, and statistical inference.
Journal of the American Statistical Association 22:209-212.

Woolf B (1955). On estimating the relation between blood group and disease. Annals of Human
Genetics 19:251-253.

Examples
--------
>>> from iopoutcomes._ci import proportion_ci, diff_ci
>>> low, high = proportion_ci(81, 263)            # Newcombe (1998a), Table I: 0.2553 to 0.3662
>>> print(f"{low:.4f} {high:.4f}")
0.2553 0.3662
>>> low, high = diff_ci(56, 70, 48, 80)           # Newcombe (1998b), Table II: 0.0524 to 0.3339
>>> print(f"{low:.4f} {high:.4f}")
0.0524 0.3339
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from ._validate import check_confidence_level
from .exceptions import ParameterError

__all__ = [
    "DIFF_METHODS",
    "ODDS_RATIO_METHODS",
    "PROPORTION_METHODS",
    "RATIO_METHODS",
    "constrained_mle_diff",
    "constrained_mle_ratio",
    "diff_ci",
    "odds_ratio",
    "odds_ratio_ci",
    "proportion_ci",
    "ratio_ci",
    "score_test_diff",
    "z_value",
]

ProportionMethod = Literal["wilson", "clopper-pearson", "jeffreys", "wald", "agresti-coull"]
DiffMethod = Literal["newcombe", "miettinen-nurminen", "mee", "agresti-caffo", "wald"]
RatioMethod = Literal["katz", "koopman", "miettinen-nurminen"]
OddsRatioMethod = Literal["woolf", "exact"]
Alternative = Literal["two-sided", "less", "greater"]

PROPORTION_METHODS: tuple[str, ...] = (
    "wilson",
    "clopper-pearson",
    "jeffreys",
    "wald",
    "agresti-coull",
)
DIFF_METHODS: tuple[str, ...] = ("newcombe", "miettinen-nurminen", "mee", "agresti-caffo", "wald")
RATIO_METHODS: tuple[str, ...] = ("katz", "koopman", "miettinen-nurminen")
ODDS_RATIO_METHODS: tuple[str, ...] = ("woolf", "exact")
ALTERNATIVES: tuple[str, ...] = ("two-sided", "less", "greater")

FloatArray = NDArray[np.float64]
_BISECT_STEPS = 80  # halves an interval of width 2 (or 60 on the log scale) below 1e-20


# --- small helpers -----------------------------------------------------------------------------


def _out(value: FloatArray) -> Any:
    """Return a numpy scalar for 0-d results, the array otherwise."""
    return value[()] if value.ndim == 0 else value


def z_value(confidence_level: float) -> float:
    """Two-sided standard-normal critical value for ``confidence_level``.

    >>> round(z_value(0.95), 6)
    1.959964
    """
    level = check_confidence_level(confidence_level)
    return float(stats.norm.ppf(0.5 + level / 2.0))


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ParameterError(
            f"{name} must be one of {list(allowed)}; received {value!r}. Pick one of the listed "
            "values."
        )
    return value


def _counts(x: ArrayLike, n: ArrayLike, label: str = "") -> tuple[FloatArray, FloatArray]:
    xa = np.asarray(x, dtype=float)
    na = np.asarray(n, dtype=float)
    xa, na = np.broadcast_arrays(xa, na)
    bad = ~np.isnan(xa) & ~np.isnan(na) & ((na < 0) | (xa < 0) | (xa > na))
    if bool(np.any(bad)):
        raise ParameterError(
            f"Counts{label} must satisfy 0 <= events <= n; {int(bad.sum())} of {bad.size} "
            "entries do not. Check that events and totals are not swapped."
        )
    return xa.astype(float), na.astype(float)


def _two_groups(
    x1: ArrayLike, n1: ArrayLike, x0: ArrayLike, n0: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    a1, m1 = _counts(x1, n1, " of group 1")
    a0, m0 = _counts(x0, n0, " of the reference group")
    a1, m1, a0, m0 = np.broadcast_arrays(a1, m1, a0, m0)
    return a1.astype(float), m1.astype(float), a0.astype(float), m0.astype(float)


def _safe_div(num: FloatArray | float, den: FloatArray | float) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.divide(num, den), dtype=float)


def _bisect(func: Callable[[FloatArray], FloatArray], lo: FloatArray, hi: FloatArray) -> FloatArray:
    """Vectorised bisection for a *decreasing* function with ``func(lo) > 0 > func(hi)``.

    Entries where the sign change does not happen converge to the end that keeps the sign, which
    is what the interval inversions below want at the boundary of the parameter space.
    """
    lo = lo.astype(float).copy()
    hi = hi.astype(float).copy()
    for _ in range(_BISECT_STEPS):
        mid = 0.5 * (lo + hi)
        above = func(mid) > 0
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return 0.5 * (lo + hi)


def _pvalue(z: FloatArray, alternative: str) -> FloatArray:
    if alternative == "two-sided":
        return np.asarray(2.0 * stats.norm.sf(np.abs(z)), dtype=float)
    if alternative == "greater":
        return np.asarray(stats.norm.sf(z), dtype=float)
    return np.asarray(stats.norm.cdf(z), dtype=float)


# --- one proportion ----------------------------------------------------------------------------


def proportion_ci(
    x: ArrayLike,
    n: ArrayLike,
    method: ProportionMethod | str = "wilson",
    confidence_level: float = 0.95,
) -> tuple[Any, Any]:
    r"""Confidence interval for a binomial proportion ``x / n``.

    Parameters
    ----------
    x, n : array_like
        Events and trials (broadcast against each other). ``n = 0`` gives ``nan`` limits.
    method : {"wilson", "clopper-pearson", "jeffreys", "wald", "agresti-coull"}
        ``"wilson"`` (default): score interval of Wilson (1927), Newcombe (1998a) method 3, the
        interval R's ``prop.test(x, n, correct=FALSE)`` reports. ``"clopper-pearson"``: exact
        interval from beta quantiles (Clopper and Pearson 1934), as R's ``binom.test``.
        ``"jeffreys"``: equal-tailed Beta(x + 1/2, n - x + 1/2) interval with the lower limit
        set to 0 when ``x = 0`` and the upper to 1 when ``x = n`` (Brown, Cai and DasGupta
        2001). ``"wald"``: :math:`\hat p \pm z\sqrt{\hat p(1-\hat p)/n}`, truncated to [0, 1]
        (poor for small programs; on request only). ``"agresti-coull"``: Wald interval around
        :math:`\tilde p = (x + z^2/2)/(n + z^2)` with :math:`\tilde n = n + z^2` (Agresti and
        Coull 1998), truncated to [0, 1].
    confidence_level : float
        Two-sided confidence level.

    Returns
    -------
    (low, high) : numpy scalars or arrays

    Notes
    -----
    Wilson limits are
    :math:`\frac{x + z^2/2 \pm z\sqrt{x(n-x)/n + z^2/4}}{n + z^2}`.

    Examples
    --------
    >>> low, high = proportion_ci([0, 15], [20, 148])
    >>> [f"{v:.4f}" for v in (*low, *high)]       # Newcombe (1998a) Table I, method 3
    ['0.0000', '0.0624', '0.1611', '0.1605']
    >>> low, high = proportion_ci(1, 29, method="clopper-pearson")
    >>> f"{low:.4f} {high:.4f}"                    # Newcombe (1998a) Table I, method 5
    '0.0009 0.1776'
    """
    _choice("method", method, PROPORTION_METHODS)
    z = z_value(confidence_level)
    alpha = 1.0 - float(confidence_level)
    xa, na = _counts(x, n)
    empty = na == 0
    nn = np.where(empty, np.nan, na)
    p = xa / nn
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "wilson":
            centre = (xa + z * z / 2.0) / (nn + z * z)
            half = z / (nn + z * z) * np.sqrt(xa * (nn - xa) / nn + z * z / 4.0)
            low, high = centre - half, centre + half
            # exact at the boundaries (roundoff would otherwise give -1e-17)
            low = np.where(xa == 0, 0.0, low)
            high = np.where(xa == nn, 1.0, high)
        elif method == "clopper-pearson":
            low = np.where(xa == 0, 0.0, stats.beta.ppf(alpha / 2.0, xa, nn - xa + 1.0))
            high = np.where(xa == nn, 1.0, stats.beta.ppf(1 - alpha / 2.0, xa + 1.0, nn - xa))
        elif method == "jeffreys":
            low = np.where(xa == 0, 0.0, stats.beta.ppf(alpha / 2.0, xa + 0.5, nn - xa + 0.5))
            high = np.where(xa == nn, 1.0, stats.beta.ppf(1 - alpha / 2.0, xa + 0.5, nn - xa + 0.5))
        elif method == "wald":
            half = z * np.sqrt(p * (1.0 - p) / nn)
            low, high = np.clip(p - half, 0.0, 1.0), np.clip(p + half, 0.0, 1.0)
        else:  # agresti-coull
            nt = nn + z * z
            pt = (xa + z * z / 2.0) / nt
            half = z * np.sqrt(pt * (1.0 - pt) / nt)
            low, high = np.clip(pt - half, 0.0, 1.0), np.clip(pt + half, 0.0, 1.0)
    low = np.where(empty, np.nan, low).astype(float)
    high = np.where(empty, np.nan, high).astype(float)
    return _out(low), _out(high)


# --- score machinery for the difference ---------------------------------------------------------


def constrained_mle_diff(
    x1: ArrayLike, n1: ArrayLike, x0: ArrayLike, n0: ArrayLike, delta: ArrayLike
) -> tuple[Any, Any]:
    r"""Maximum-likelihood proportions under the restriction ``p1 - p0 = delta``.

    Solves the cubic of Miettinen and Nurminen (1985, Appendix 1) in closed form, with the
    correct linear coefficient
    :math:`L_1 = (n_0\delta - N - 2x_0)\delta + x_0 + x_1` (statsmodels 0.15 has ``x0`` in
    place of the first ``n0``; upstream issue #10269):

    .. math:: L_3 p_0^3 + L_2 p_0^2 + L_1 p_0 + L_0 = 0,\quad L_3 = N,\;
       L_2 = (n_1 + 2n_0)\delta - N - x_0 - x_1,\; L_0 = x_0\delta(1 - \delta).

    Returns
    -------
    (p1_tilde, p0_tilde)

    Examples
    --------
    >>> p1, p0 = constrained_mle_diff(56, 70, 48, 80, 0.0)   # delta = 0: pooled proportion
    >>> round(float(p1), 12), round(float(p0), 12)
    (0.693333333333, 0.693333333333)
    """
    a1, m1, a0, m0 = _two_groups(x1, n1, x0, n0)
    d = np.broadcast_to(np.asarray(delta, dtype=float), a1.shape).astype(float)
    a1, m1, a0, m0, d = np.broadcast_arrays(a1, m1, a0, m0, d)
    big_n = m1 + m0
    c = a1 + a0
    with np.errstate(divide="ignore", invalid="ignore"):
        l3 = big_n
        l2 = (m1 + 2.0 * m0) * d - big_n - c
        l1 = (m0 * d - big_n - 2.0 * a0) * d + c
        l0 = a0 * d * (1.0 - d)
        q = (l2 / (3.0 * l3)) ** 3 - l1 * l2 / (6.0 * l3**2) + l0 / (2.0 * l3)
        pp = np.sign(q) * np.sqrt(np.maximum((l2 / (3.0 * l3)) ** 2 - l1 / (3.0 * l3), 0.0))
        ratio = np.where(pp == 0, 0.0, q / pp**3)
        angle = (np.pi + np.arccos(np.clip(ratio, -1.0, 1.0))) / 3.0
        p0 = 2.0 * pp * np.cos(angle) - l2 / (3.0 * l3)
        p0 = np.where(d == 0, c / big_n, p0)
    lo = np.maximum(0.0, -d)
    hi = np.minimum(1.0, 1.0 - d)
    p0 = np.clip(p0, lo, hi)
    p1 = p0 + d
    return _out(p1.astype(float)), _out(p0.astype(float))


def _score_z_diff(
    a1: FloatArray,
    m1: FloatArray,
    a0: FloatArray,
    m0: FloatArray,
    delta: FloatArray,
    correction: bool,
) -> FloatArray:
    p1t, p0t = constrained_mle_diff(a1, m1, a0, m0, delta)
    p1t, p0t = np.asarray(p1t, dtype=float), np.asarray(p0t, dtype=float)
    var = p1t * (1.0 - p1t) / m1 + p0t * (1.0 - p0t) / m0
    if correction:
        big_n = m1 + m0
        var = var * big_n / (big_n - 1.0)
    num = a1 / m1 - a0 / m0 - delta
    with np.errstate(divide="ignore", invalid="ignore"):
        z = num / np.sqrt(var)
    z = np.where(var > 0, z, np.copysign(np.inf, num))
    return np.where(num == 0, 0.0, z)


def score_test_diff(
    x1: ArrayLike,
    n1: ArrayLike,
    x0: ArrayLike,
    n0: ArrayLike,
    null_diff: ArrayLike = 0.0,
    alternative: Alternative | str = "two-sided",
    variance: Literal["farrington-manning", "miettinen-nurminen"] | str = "farrington-manning",
) -> tuple[Any, Any]:
    r"""Score test of ``p1 - p0 = null_diff`` (Farrington-Manning / Miettinen-Nurminen).

    .. math:: z = \frac{\hat p_1 - \hat p_0 - \delta_0}
       {\sqrt{\left[\tilde p_1(1-\tilde p_1)/n_1 + \tilde p_0(1-\tilde p_0)/n_0\right] c}}

    with :math:`\tilde p` the restricted maximum-likelihood estimates
    (:func:`constrained_mle_diff`), :math:`c = 1` for Farrington and Manning (1990) and
    :math:`c = N/(N-1)` for Miettinen and Nurminen (1985). With ``null_diff = 0`` and the
    Farrington-Manning variance, :math:`z^2` is Pearson's chi-square without continuity
    correction.

    Parameters
    ----------
    x1, n1, x0, n0 : array_like
        Events and totals in group 1 and the reference group 0.
    null_diff : array_like
        The difference under the null hypothesis (e.g. ``-margin`` for non-inferiority).
    alternative : {"two-sided", "less", "greater"}
        ``"greater"``: H1 is ``p1 - p0 > null_diff`` (the non-inferiority alternative when
        ``null_diff = -margin`` and higher is better).
    variance : {"farrington-manning", "miettinen-nurminen"}

    Returns
    -------
    (statistic, pvalue)

    Examples
    --------
    >>> z, p = score_test_diff(56, 70, 48, 80, 0.1, alternative="greater")
    >>> f"{z:.3f} {p:.4f}"   # cicalc (GSK) Mee/FM statistic at delta = 0.1: 1.348, 0.0889
    '1.348 0.0889'
    """
    _choice("alternative", alternative, ALTERNATIVES)
    _choice("variance", variance, ("farrington-manning", "miettinen-nurminen"))
    a1, m1, a0, m0 = _two_groups(x1, n1, x0, n0)
    d = np.asarray(null_diff, dtype=float)
    if bool(np.any(np.abs(d) >= 1)):
        raise ParameterError(
            "null_diff must lie strictly between -1 and 1; received a value outside. "
            "A margin of 10 percentage points is null_diff=-0.10."
        )
    a1, m1, a0, m0, d = np.broadcast_arrays(a1, m1, a0, m0, d)
    empty = (m1 == 0) | (m0 == 0)
    m1s, m0s = np.where(m1 == 0, 1.0, m1), np.where(m0 == 0, 1.0, m0)
    z = _score_z_diff(a1, m1s, a0, m0s, d, variance == "miettinen-nurminen")
    z = np.where(empty, np.nan, z)
    return _out(z.astype(float)), _out(_pvalue(z, alternative))


# --- difference of proportions -----------------------------------------------------------------


def diff_ci(
    x1: ArrayLike,
    n1: ArrayLike,
    x0: ArrayLike,
    n0: ArrayLike,
    method: DiffMethod | str = "newcombe",
    confidence_level: float = 0.95,
) -> tuple[Any, Any]:
    r"""Confidence interval for the difference ``p1 - p0`` of two independent proportions.

    Parameters
    ----------
    x1, n1, x0, n0 : array_like
        Events and totals in group 1 and the reference group 0.
    method : {"newcombe", "miettinen-nurminen", "mee", "agresti-caffo", "wald"}
        ``"newcombe"`` (default): hybrid score interval from the two Wilson intervals,
        Newcombe (1998b) method 10:
        :math:`\hat\delta - \sqrt{(\hat p_1 - l_1)^2 + (u_0 - \hat p_0)^2}` to
        :math:`\hat\delta + \sqrt{(u_1 - \hat p_1)^2 + (\hat p_0 - l_0)^2}`.
        ``"miettinen-nurminen"``: inversion of the score test with variance factor
        :math:`N/(N-1)` (Miettinen and Nurminen 1985; Newcombe method 6). ``"mee"``: the same
        without the factor (Mee 1984; Farrington and Manning 1990; Newcombe method 5).
        ``"agresti-caffo"``: Wald interval after adding one success and one failure to each
        group (Agresti and Caffo 2000). ``"wald"``: :math:`\hat\delta \pm z\sqrt{\hat p_1\hat
        q_1/n_1 + \hat p_0\hat q_0/n_0}` (Newcombe method 1), on request only.
        Wald-type limits are truncated to [-1, 1].
    confidence_level : float

    Returns
    -------
    (low, high)

    Examples
    --------
    >>> low, high = diff_ci(9, 10, 3, 10, method="miettinen-nurminen")
    >>> f"{low:.4f} {high:.4f}"   # Newcombe (1998b) Table II, example (b), method 6
    '0.1700 0.8406'
    """
    _choice("method", method, DIFF_METHODS)
    z = z_value(confidence_level)
    a1, m1, a0, m0 = _two_groups(x1, n1, x0, n0)
    empty = (m1 == 0) | (m0 == 0)
    m1s, m0s = np.where(m1 == 0, 1.0, m1), np.where(m0 == 0, 1.0, m0)
    p1, p0 = a1 / m1s, a0 / m0s
    d = p1 - p0
    if method == "newcombe":
        l1, u1 = (
            np.asarray(v, dtype=float) for v in proportion_ci(a1, m1s, "wilson", confidence_level)
        )
        l0, u0 = (
            np.asarray(v, dtype=float) for v in proportion_ci(a0, m0s, "wilson", confidence_level)
        )
        low = d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
        high = d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    elif method in ("wald", "agresti-caffo"):
        if method == "agresti-caffo":
            p1, p0 = (a1 + 1.0) / (m1s + 2.0), (a0 + 1.0) / (m0s + 2.0)
            d = p1 - p0
            half = z * np.sqrt(p1 * (1 - p1) / (m1s + 2.0) + p0 * (1 - p0) / (m0s + 2.0))
        else:
            half = z * np.sqrt(p1 * (1 - p1) / m1s + p0 * (1 - p0) / m0s)
        low, high = d - half, d + half
    else:
        correction = method == "miettinen-nurminen"

        def lower_fn(delta: FloatArray) -> FloatArray:
            return _score_z_diff(a1, m1s, a0, m0s, delta, correction) - z

        def upper_fn(delta: FloatArray) -> FloatArray:
            return _score_z_diff(a1, m1s, a0, m0s, delta, correction) + z

        low = _bisect(lower_fn, np.full_like(d, -1.0), d)
        high = _bisect(upper_fn, d, np.full_like(d, 1.0))
    low = np.where(empty, np.nan, np.clip(low, -1.0, 1.0)).astype(float)
    high = np.where(empty, np.nan, np.clip(high, -1.0, 1.0)).astype(float)
    return _out(low), _out(high)


# --- ratio of proportions ----------------------------------------------------------------------


def constrained_mle_ratio(
    x1: ArrayLike, n1: ArrayLike, x0: ArrayLike, n0: ArrayLike, ratio: ArrayLike
) -> tuple[Any, Any]:
    r"""Maximum-likelihood proportions under ``p1 / p0 = ratio`` (Miettinen-Nurminen 1985).

    :math:`\tilde p_0` is the smaller root of :math:`N\phi p^2 - (n_1\phi + x_1 + n_0 + x_0\phi)p
    + x_1 + x_0 = 0` and :math:`\tilde p_1 = \phi\tilde p_0`.

    Examples
    --------
    >>> p1, p0 = constrained_mle_ratio(10, 20, 5, 20, 1.0)   # ratio 1: pooled proportion
    >>> float(p1), float(p0)
    (0.375, 0.375)
    """
    a1, m1, a0, m0 = _two_groups(x1, n1, x0, n0)
    phi = np.asarray(ratio, dtype=float)
    a1, m1, a0, m0, phi = np.broadcast_arrays(a1, m1, a0, m0, phi)
    with np.errstate(divide="ignore", invalid="ignore"):
        qa = (m1 + m0) * phi
        qb = -(m1 * phi + a1 + m0 + a0 * phi)
        qc = a1 + a0
        disc = np.sqrt(np.maximum(qb * qb - 4.0 * qa * qc, 0.0))
        # numerically stable smaller root: 2c / (-b + sqrt(disc))
        p0 = np.where(-qb + disc > 0, 2.0 * qc / (-qb + disc), 0.0)
    p0 = np.clip(p0, 0.0, np.minimum(1.0, _safe_div(1.0, phi)))
    return _out((phi * p0).astype(float)), _out(p0.astype(float))


def _score_z_ratio(
    a1: FloatArray,
    m1: FloatArray,
    a0: FloatArray,
    m0: FloatArray,
    log_phi: FloatArray,
    correction: bool,
) -> FloatArray:
    phi = np.exp(log_phi)
    p1t, p0t = (np.asarray(v, dtype=float) for v in constrained_mle_ratio(a1, m1, a0, m0, phi))
    var = p1t * (1.0 - p1t) / m1 + phi * phi * p0t * (1.0 - p0t) / m0
    if correction:
        big_n = m1 + m0
        var = var * big_n / (big_n - 1.0)
    num = a1 / m1 - phi * a0 / m0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = num / np.sqrt(var)
    z = np.where(var > 0, z, np.copysign(np.inf, num))
    return np.where(num == 0, 0.0, z)


def ratio_ci(
    x1: ArrayLike,
    n1: ArrayLike,
    x0: ArrayLike,
    n0: ArrayLike,
    method: RatioMethod | str = "katz",
    confidence_level: float = 0.95,
) -> tuple[Any, Any]:
    r"""Confidence interval for the risk ratio ``p1 / p0``.

    Parameters
    ----------
    x1, n1, x0, n0 : array_like
    method : {"katz", "koopman", "miettinen-nurminen"}
        ``"katz"`` (default): :math:`\exp\{\log(\hat p_1/\hat p_0) \pm z
        \sqrt{1/x_1 - 1/n_1 + 1/x_0 - 1/n_0}\}` (Katz et al. 1978), the Wald interval of a
        log-binomial GLM (R ``confint.default`` on ``glm(..., binomial(link="log"))``). When
        a cell of the 2x2 table is zero (a group with no events or with all events), 0.5 is
        added to every cell (``x + 0.5``, ``n + 1``) so that the interval exists and does not
        collapse to zero width. ``"koopman"``: score interval
        (Koopman 1984). ``"miettinen-nurminen"``: score interval with the :math:`N/(N-1)`
        variance factor (Miettinen and Nurminen 1985). Score limits are 0 or ``inf`` where the
        data cannot bound them.
    confidence_level : float

    Returns
    -------
    (low, high)

    Examples
    --------
    >>> low, high = ratio_ci(36, 40, 16, 80, method="koopman")
    >>> f"{low:.3f} {high:.3f}"
    '2.940 7.152'
    """
    _choice("method", method, RATIO_METHODS)
    z = z_value(confidence_level)
    a1, m1, a0, m0 = _two_groups(x1, n1, x0, n0)
    empty = (m1 == 0) | (m0 == 0) | ((a1 == 0) & (a0 == 0))
    m1s, m0s = np.where(m1 == 0, 1.0, m1), np.where(m0 == 0, 1.0, m0)
    if method == "katz":
        # any zero cell (no events *or* all events in a group): with x = n the term
        # 1/x - 1/n is 0, which gives a zero-width interval for 20/20 vs 20/20
        zero = (a1 == 0) | (a0 == 0) | (a1 == m1s) | (a0 == m0s)
        b1, c1 = np.where(zero, a1 + 0.5, a1), np.where(zero, m1s + 1.0, m1s)
        b0, c0 = np.where(zero, a0 + 0.5, a0), np.where(zero, m0s + 1.0, m0s)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_rr = np.log((b1 / c1) / (b0 / c0))
            se = np.sqrt(1.0 / b1 - 1.0 / c1 + 1.0 / b0 - 1.0 / c0)
        low, high = np.exp(log_rr - z * se), np.exp(log_rr + z * se)
    else:
        correction = method == "miettinen-nurminen"
        with np.errstate(divide="ignore"):
            est = np.log(_safe_div(a1 / m1s, a0 / m0s))
        est = np.clip(est, -60.0, 60.0)

        def lower_fn(lp: FloatArray) -> FloatArray:
            return _score_z_ratio(a1, m1s, a0, m0s, lp, correction) - z

        def upper_fn(lp: FloatArray) -> FloatArray:
            return _score_z_ratio(a1, m1s, a0, m0s, lp, correction) + z

        lo_log = _bisect(lower_fn, np.full_like(est, -60.0), est)
        hi_log = _bisect(upper_fn, est, np.full_like(est, 60.0))
        low = np.where((a1 == 0) | (lo_log < -59.0), 0.0, np.exp(lo_log))
        high = np.where((a0 == 0) | (hi_log > 59.0), np.inf, np.exp(hi_log))
    low = np.where(empty, np.nan, low).astype(float)
    high = np.where(empty, np.nan, high).astype(float)
    return _out(low), _out(high)


# --- odds ratio --------------------------------------------------------------------------------


def odds_ratio(
    x1: ArrayLike, n1: ArrayLike, x0: ArrayLike, n0: ArrayLike, *, zero_correction: bool = True
) -> Any:
    """Sample odds ratio ``x1 (n0 - x0) / ((n1 - x1) x0)``.

    With ``zero_correction`` (default) 0.5 is added to all four cells of tables with a zero cell
    (a group with no events or with only events; Haldane 1956; Anscombe 1956), the estimate that
    matches :func:`odds_ratio_ci`'s Woolf interval; otherwise such tables give 0, ``inf`` or
    ``nan``. When *both* groups have no events, or both have only events (a zero column
    margin), the data carry no information on the odds ratio: it is ``nan`` (not estimable)
    either way, rather than the 0.5-corrected value that merely reflects the group sizes.

    >>> float(odds_ratio(56, 70, 48, 80))
    2.6666666666666665
    >>> float(odds_ratio(0, 10, 5, 10))   # (0.5 * 5.5) / (10.5 * 5.5)
    0.047619047619047616
    >>> float(odds_ratio(0, 15, 0, 18)), float(odds_ratio(12, 12, 30, 30))
    (nan, nan)
    """
    a1, m1, a0, m0 = _two_groups(x1, n1, x0, n0)
    cells = np.stack([a1, m1 - a1, a0, m0 - a0])
    if zero_correction:
        cells = np.where(np.any(cells == 0, axis=0), cells + 0.5, cells)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = cells[0] * cells[3] / (cells[1] * cells[2])
    value = np.where((m1 == 0) | (m0 == 0) | _no_odds_information(a1, m1, a0, m0), np.nan, value)
    return _out(np.asarray(value, dtype=float))


def _no_odds_information(a1: FloatArray, m1: FloatArray, a0: FloatArray, m0: FloatArray) -> Any:
    """True where both groups have no events or both have only events (zero column margin)."""
    events = a1 + a0
    return (events == 0) | (events == m1 + m0)


def odds_ratio_ci(
    x1: ArrayLike,
    n1: ArrayLike,
    x0: ArrayLike,
    n0: ArrayLike,
    method: OddsRatioMethod | str = "woolf",
    confidence_level: float = 0.95,
) -> tuple[Any, Any]:
    r"""Confidence interval for the odds ratio of group 1 versus group 0.

    Parameters
    ----------
    x1, n1, x0, n0 : array_like
    method : {"woolf", "exact"}
        ``"woolf"`` (default): :math:`\exp\{\log\widehat{OR} \pm z\sqrt{1/a + 1/b + 1/c +
        1/d}\}` (Woolf 1955), the Wald interval of a logistic GLM; when a cell is zero, 0.5 is
        added to all four cells (Haldane-Anscombe); when both groups have no events or both
        only events the odds ratio is not estimable and the limits are ``nan``. ``"exact"``: conditional exact interval
        (Cornfield), the interval of R's ``fisher.test``, via
        ``scipy.stats.contingency.odds_ratio(kind="conditional")`` (loops over tables).
    confidence_level : float

    Returns
    -------
    (low, high)

    Examples
    --------
    >>> low, high = odds_ratio_ci(56, 70, 48, 80)
    >>> f"{low:.4f} {high:.4f}"
    '1.2762 5.5720'
    """
    _choice("method", method, ODDS_RATIO_METHODS)
    z = z_value(confidence_level)
    a1, m1, a0, m0 = _two_groups(x1, n1, x0, n0)
    empty = (m1 == 0) | (m0 == 0)
    if method == "woolf":
        cells = np.stack([a1, m1 - a1, a0, m0 - a0])
        cells = np.where(np.any(cells == 0, axis=0), cells + 0.5, cells)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_or = np.log(cells[0] * cells[3] / (cells[1] * cells[2]))
            se = np.sqrt(np.sum(1.0 / cells, axis=0))
        low, high = np.exp(log_or - z * se), np.exp(log_or + z * se)
        none = _no_odds_information(a1, m1, a0, m0)
        low, high = np.where(none, np.nan, low), np.where(none, np.nan, high)
    else:
        from scipy.stats.contingency import odds_ratio as scipy_odds_ratio

        low = np.full(a1.shape, np.nan)
        high = np.full(a1.shape, np.nan)
        for idx in np.ndindex(a1.shape):
            if empty[idx]:
                continue
            table = np.array(
                [[a1[idx], m1[idx] - a1[idx]], [a0[idx], m0[idx] - a0[idx]]], dtype=np.int64
            )
            if np.any(table.sum(axis=0) == 0):
                low[idx], high[idx] = 0.0, np.inf  # a column margin is zero: OR not estimable
                continue
            ci = scipy_odds_ratio(table, kind="conditional").confidence_interval(
                confidence_level=float(confidence_level)
            )
            low[idx], high[idx] = ci.low, ci.high
    low = np.where(empty, np.nan, low).astype(float)
    high = np.where(empty, np.nan, high).astype(float)
    return _out(low), _out(high)
