"""Sample size and power for comparing two proportions: :func:`sample_size`, :func:`power`.

The same three questions :func:`iopoutcomes.compare_rates` answers: is there a difference,
is the group non-inferior (at most ``margin`` worse), is it equivalent (within ``±margin``)?
Sizes are per group: ``n_reference`` for the reference group and
``n_treatment = ratio * n_reference``.

Defaults match the analysis :func:`iopoutcomes.compare_rates` runs (issue 20): the
``"score"`` variance (the test of no difference is the pooled-variance score test; margins are
tested with score tests at the null-restricted proportions), and the level by question,
given as the ``confidence_level`` of the two-sided interval whose limits decide the test (the
library's one convention, ``docs/conventions.md``): 0.95, i.e. 0.05 two-sided, for a
difference; 0.95 for non-inferiority, i.e. 0.025 one-sided (the lower limit of the two-sided
95% interval; ICH E9/E10, FDA 2016); 0.90 for equivalence, i.e. 0.05 for each of the two
one-sided tests (Schuirmann's 90% interval), as ``compare_rates``' ``confidence_level=0.95``
and ``equivalence_alpha=0.05``. The level of the test is kept on the result as ``alpha``.
Under the Wald variance and 3:1 allocation (0.30 vs 0.15) the returned sizes gave only 72%
exact power for the test the analysis runs.

Two variance conventions (``method``):

``"wald"``
    Chow, Shao and Wang (2008), *Sample Size Calculations in Clinical Research*, 2nd ed.,
    section 4.2: the variance under the alternative, ``p1 q1 / ratio + p0 q0``, is used for both
    the null and the alternative. Difference:
    ``n0 = (z_{1-a/2} + z_{1-b})^2 V / eps^2``; non-inferiority:
    ``n0 = (z_{1-a} + z_{1-b})^2 V / (eps + margin)^2``; equivalence: the exact normal power
    ``Phi(((m - eps) sqrt(n0) - z_{1-a} sqrt(V)) / sqrt(V)) +
    Phi(((m + eps) sqrt(n0) - z_{1-a} sqrt(V)) / sqrt(V)) - 1`` solved for ``n0``, which equals
    Chow et al.'s closed form ``(z_{1-a} + z_{1-b/2})^2 V / (m - |eps|)^2`` when ``eps = 0`` and is
    slightly smaller otherwise (their closed form is conservative).
``"score"`` (default)
    The variance under the null is that of the score test the analysis uses: the pooled
    proportion for the difference test (Fleiss 1981 without continuity correction, which is what
    R's ``power.prop.test`` computes) and the Farrington-Manning (1990) null-restricted
    estimate for a margin. ``n0 = (z_a sqrt(V0) + z_b sqrt(V1))^2 / eps_eff^2``.

R's ``power.prop.test`` therefore matches ``method="score"`` for the difference test (and
ignores the far tail of a two-sided test, as here); ``method="wald"`` matches Chow et al. and
statsmodels' ``NormalIndPower`` with ``effect_size = eps / sqrt((p1 q1 + p0 q0) / 2)`` for equal
groups.

References
----------
Chow SC, Shao J, Wang H (2008). Sample Size Calculations in Clinical Research, 2nd ed. Chapman
& Hall/CRC, section 4.2 (two-sample parallel design: tests for equality, non-inferiority and
equivalence).

Farrington CP, Manning G (1990). Test statistics and sample size formulae for comparative
binomial trials with null hypothesis of non-zero risk difference or non-unity relative risk.
Statistics in Medicine 9:1447-1454.

Fleiss JL (1981). Statistical Methods for Rates and Proportions, 2nd ed. Wiley.

Examples
--------
>>> from iopoutcomes.planning import sample_size, power
>>> ss = sample_size(0.60, 0.60, margin=0.10, test="noninferiority", method="wald")
>>> ss.alpha, ss.n_reference, ss.n_treatment     # (1.960 + 0.842)^2 * 0.48 / 0.1^2 = 376.8
(0.025, 377, 377)
>>> round(power(0.60, 0.60, 377, margin=0.10, test="noninferiority", method="wald"), 3)
0.8
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
from scipy import optimize, stats

from . import _ci
from ._deprecate import Renamed, renamed_parameters
from ._render import ResultDisplay
from ._validate import check_confidence_level, validates_confidence_level
from .exceptions import ParameterError
from .schema import SAMPLE_SIZE_COLUMNS

__all__ = ["SampleSize", "default_alpha", "default_confidence_level", "power", "sample_size"]

TestKind = Literal["difference", "noninferiority", "equivalence"]
_TESTS = ("difference", "noninferiority", "equivalence")
_METHODS = ("wald", "score")

MARGIN_TOLERANCE: float = 1e-9
"""Differences within this of zero or of the margin count as equal to it (floating point)."""

MAX_N_PER_GROUP: float = 1e7
"""Sizes above this many clients per group are refused as infeasible."""


def default_alpha(test: str) -> float:
    """The level ``compare_rates`` tests at by default, for each question.

    >>> default_alpha("difference"), default_alpha("noninferiority"), default_alpha("equivalence")
    (0.05, 0.025, 0.05)
    """
    return {"difference": 0.05, "noninferiority": 0.025, "equivalence": 0.05}.get(test, 0.05)


def default_confidence_level(test: str) -> float:
    """The ``confidence_level`` whose interval decides each test as ``compare_rates`` runs it.

    >>> tuple(default_confidence_level(t) for t in ("difference", "noninferiority", "equivalence"))
    (0.95, 0.95, 0.9)
    """
    return {"difference": 0.95, "noninferiority": 0.95, "equivalence": 0.90}.get(test, 0.95)


def level_of_test(test: str, confidence_level: float | None) -> float:
    """The level (alpha) of ``test`` decided by the two-sided ``confidence_level`` interval.

    A difference is tested at ``1 - confidence_level`` (two-sided, or one-sided with an
    ``alternative``); non-inferiority and each half of an equivalence test at the one-sided
    ``(1 - confidence_level) / 2``. Rounded to 12 decimals so that 0.95 gives exactly 0.025,
    not the binary ``1 - 0.95``.

    >>> level_of_test("noninferiority", 0.95), level_of_test("equivalence", 0.9)
    (0.025, 0.05)
    """
    if confidence_level is None:
        return default_alpha(test)
    level = check_confidence_level(confidence_level)
    return round(1.0 - level if test == "difference" else (1.0 - level) / 2.0, 12)


def _confidence_level_from_alpha(alpha: Any, arguments: Mapping[str, Any]) -> float:
    """Deprecated ``alpha=`` (the test's level) as the equivalent ``confidence_level``."""
    value = float(alpha)
    if not 0.0 < value < 1.0:
        raise ParameterError(f"alpha must be strictly between 0 and 1; received {alpha!r}.")
    test = arguments.get("test", "difference")
    return round(1.0 - value if test == "difference" else 1.0 - 2.0 * value, 12)


@dataclass(frozen=True, eq=False, repr=False)
class SampleSize(ResultDisplay):
    """Required sample size for comparing two proportions (see :func:`sample_size`).

    Attributes
    ----------
    n_treatment, n_reference, n_total : int
        Rounded-up group sizes and their sum.
    n_treatment_exact, n_reference_exact : float
        Unrounded solutions of the formula.
    power : float
        Power achieved with the rounded sizes.
    alpha : float
        Level of the test implied by ``confidence_level`` (one-sided for non-inferiority and
        for each half of an equivalence test).
    p_treatment, p_reference, margin, test, confidence_level, target_power, ratio, alternative,
    method, higher_is_better : the inputs (``confidence_level`` after its per-test default).
    remarks : tuple of str

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> ss = iop.sample_size(0.60, 0.50)
    >>> print(repr(ss).splitlines()[0])
    <SampleSize: difference (score), 776 clients (388 + 388) for power 0.8>
    >>> ss.n_treatment, ss.n_reference, ss.n_total
    (388, 388, 776)
    >>> ss.to_frame().columns.tolist()[:4]
    ['test', 'p_treatment', 'p_reference', 'margin']
    """

    n_treatment: int
    n_reference: int
    n_total: int
    n_treatment_exact: float
    n_reference_exact: float
    power: float
    p_treatment: float
    p_reference: float
    margin: float | None
    test: str
    alpha: float
    confidence_level: float
    target_power: float
    ratio: float
    alternative: str
    method: str
    higher_is_better: bool = True
    remarks: tuple[str, ...] = field(default_factory=tuple)

    def _header(self) -> str:
        return (
            f"<SampleSize: {self.test} ({self.method}), {self.n_total:,} clients "
            f"({self.n_treatment:,} + {self.n_reference:,}) for power {self.target_power:g}>"
        )

    def to_frame(self) -> pd.DataFrame:
        """One row with the inputs and the required sizes (``schema.SAMPLE_SIZE_COLUMNS``)."""
        return pd.DataFrame(
            [[getattr(self, c) for c in SAMPLE_SIZE_COLUMNS]], columns=SAMPLE_SIZE_COLUMNS
        )

    def definition_text(self) -> str:
        """The formula used, in words."""
        return methods_sentence(self.test, self.method, self.alpha, self.alternative)

    def narrative(self) -> str:
        """Plain-language statement of the requirement.

        >>> print(sample_size(0.6, 0.6, margin=0.1, test="equivalence").narrative())
        ... # doctest: +NORMALIZE_WHITESPACE
        To show equivalence within 10 percentage points with 80% power, assuming rates of 60%
        and 60%, about 410 clients per group (820 in all) are needed.
        """
        goal = {
            "difference": "detect the difference",
            "noninferiority": f"show non-inferiority with a {100 * (self.margin or 0):g}-point margin",
            "equivalence": f"show equivalence within {100 * (self.margin or 0):g} percentage points",
        }[self.test]
        per = (
            f"about {self.n_reference} clients per group ({self.n_total} in all)"
            if self.n_treatment == self.n_reference
            else f"about {self.n_treatment} treatment and {self.n_reference} reference clients"
        )
        return (
            f"To {goal} with {100 * self.target_power:g}% power, assuming rates of "
            f"{100 * self.p_treatment:g}% and {100 * self.p_reference:g}%, {per} are needed."
        )

    def methods_text(self) -> str:
        """Methods sentence with references."""
        return methods_sentence(self.test, self.method, self.alpha, self.alternative)


def methods_sentence(test: str, method: str, alpha: float, alternative: str) -> str:
    """Describe the sample-size formula (used by :class:`SampleSize`)."""
    var = (
        "the unpooled variance under the alternative (Chow, Shao & Wang 2008, section 4.2)"
        if method == "wald"
        else "the score-test variance under the null (pooled for a difference, Fleiss 1981; "
        "null-restricted for a margin, Farrington & Manning 1990) and the unpooled variance "
        "under the alternative"
    )
    side = {
        "difference": f"a {alternative} test at level {alpha:g}",
        "noninferiority": f"a one-sided non-inferiority test at level {alpha:g}",
        "equivalence": f"two one-sided tests at level {alpha:g} each",
    }[test]
    return f"Sample size for {side} of two proportions, normal approximation with {var}."


# --- the arithmetic ------------------------------------------------------------------------------


def _validate(
    p1: float, p0: float, margin: float | None, test: str, alpha: float, ratio: float, method: str
) -> None:
    if test not in _TESTS:
        raise ParameterError(f"test must be one of {list(_TESTS)}; received {test!r}.")
    if method not in _METHODS:
        raise ParameterError(f"method must be one of {list(_METHODS)}; received {method!r}.")
    for name, p in (("p_treatment", p1), ("p_reference", p0)):
        if not 0.0 < p < 1.0:
            raise ParameterError(f"{name} must be strictly between 0 and 1; received {p!r}.")
    if not 0.0 < alpha < 1.0:
        raise ParameterError(f"alpha must be strictly between 0 and 1; received {alpha!r}.")
    if not ratio > 0:
        raise ParameterError(
            f"ratio (n_treatment / n_reference) must be positive; received {ratio!r}."
        )
    if test != "difference" and (margin is None or not 0.0 < margin < 1.0):
        raise ParameterError(
            f"test={test!r} needs margin= strictly between 0 and 1 (0.10 = 10 points); "
            f"received {margin!r}."
        )


def _null_sd(p1: float, p0: float, ratio: float, delta0: float, method: str) -> float:
    """sqrt of the per-reference-unit variance under H0 (p1 - p0 = delta0)."""
    if method == "wald":
        return math.sqrt(p1 * (1 - p1) / ratio + p0 * (1 - p0))
    # the restricted MLE depends only on proportions and allocation: use 'counts' per unit n0
    t1, t0 = _ci.constrained_mle_diff(ratio * p1, ratio, p0, 1.0, delta0)
    t1, t0 = float(t1), float(t0)
    return math.sqrt(t1 * (1 - t1) / ratio + t0 * (1 - t0))


def _power_components(
    p1: float,
    p0: float,
    n0: float,
    margin: float | None,
    test: str,
    alpha: float,
    ratio: float,
    alternative: str,
    method: str,
    higher_is_better: bool,
) -> float:
    sd1 = math.sqrt(p1 * (1 - p1) / ratio + p0 * (1 - p0))
    eps = p1 - p0
    root = math.sqrt(n0)
    phi = stats.norm.cdf
    if test == "difference":
        sd0 = _null_sd(p1, p0, ratio, 0.0, method)
        if alternative == "two-sided":
            z = stats.norm.ppf(1 - alpha / 2)
            return float(phi((abs(eps) * root - z * sd0) / sd1))
        z = stats.norm.ppf(1 - alpha)
        signed = eps if alternative == "greater" else -eps
        return float(phi((signed * root - z * sd0) / sd1))
    m = float(margin)  # type: ignore[arg-type]
    z = stats.norm.ppf(1 - alpha)
    if test == "noninferiority":
        if higher_is_better:
            sd0 = _null_sd(p1, p0, ratio, -m, method)
            return float(phi(((eps + m) * root - z * sd0) / sd1))
        sd0 = _null_sd(p1, p0, ratio, m, method)
        return float(phi(((m - eps) * root - z * sd0) / sd1))
    sd_lo = _null_sd(p1, p0, ratio, -m, method)
    sd_hi = _null_sd(p1, p0, ratio, m, method)
    value = (
        phi(((m - eps) * root - z * sd_hi) / sd1) + phi(((m + eps) * root - z * sd_lo) / sd1) - 1
    )
    return float(max(value, 0.0))


@renamed_parameters(alpha=Renamed("confidence_level", _confidence_level_from_alpha))
@validates_confidence_level
def power(
    p_treatment: float,
    p_reference: float,
    n_reference: float,
    *,
    margin: float | None = None,
    test: TestKind = "difference",
    confidence_level: float | None = None,
    ratio: float = 1.0,
    alternative: Literal["two-sided", "less", "greater"] = "two-sided",
    method: Literal["wald", "score"] = "score",
    higher_is_better: bool = True,
) -> float:
    """Power of the difference, non-inferiority or equivalence test of two proportions.

    Parameters
    ----------
    p_treatment, p_reference : float
        Assumed true rates of the compared group (e.g. IOP) and the reference (inpatient).
    n_reference : float
        Size of the reference group; the compared group has ``ratio * n_reference``.
    margin : float, optional
        Non-inferiority / equivalence margin on the difference scale (0.10 = 10 points).
    test : {"difference", "noninferiority", "equivalence"}
    confidence_level : float, optional
        Two-sided level of the interval whose limits decide the test, a fraction in (0, 1):
        a difference is tested at ``1 - confidence_level`` (two-sided, or one-sided with an
        ``alternative``), non-inferiority and each half of an equivalence test at
        ``(1 - confidence_level) / 2`` one-sided (:func:`test_level`). Default (``None``) as
        :func:`iopoutcomes.compare_rates` tests (:func:`default_confidence_level`): 0.95 for a
        difference and for non-inferiority, 0.90 for equivalence (``equivalence_alpha=0.05``).
        Replaces ``alpha`` (deprecated: ``alpha=0.025`` with a margin is
        ``confidence_level=0.95``).
    ratio : float
        ``n_treatment / n_reference``.
    alternative : {"two-sided", "less", "greater"}
        For the difference test only.
    method : {"score", "wald"}
        Variance convention (module docstring); ``"score"`` (default) is that of the tests
        ``compare_rates`` runs.
    higher_is_better : bool
        Direction of the non-inferiority question.

    Returns
    -------
    float

    Examples
    --------
    >>> round(power(0.6, 0.5, 200, method="score"), 4)   # R power.prop.test: 0.5201
    0.5201
    """
    p1, p0 = float(p_treatment), float(p_reference)
    alpha = level_of_test(test, confidence_level)
    _validate(p1, p0, margin, test, float(alpha), float(ratio), method)
    if alternative not in _ci.ALTERNATIVES:
        raise ParameterError(
            f"alternative must be one of {list(_ci.ALTERNATIVES)}; received {alternative!r}."
        )
    if not n_reference > 0:
        raise ParameterError(f"n_reference must be positive; received {n_reference!r}.")
    return _power_components(
        p1,
        p0,
        float(n_reference),
        margin,
        test,
        float(alpha),
        float(ratio),
        alternative,
        method,
        higher_is_better,
    )


@renamed_parameters(alpha=Renamed("confidence_level", _confidence_level_from_alpha))
@validates_confidence_level
def sample_size(
    p_treatment: float,
    p_reference: float,
    *,
    margin: float | None = None,
    test: TestKind = "difference",
    confidence_level: float | None = None,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: Literal["two-sided", "less", "greater"] = "two-sided",
    method: Literal["wald", "score"] = "score",
    higher_is_better: bool = True,
) -> SampleSize:
    """Clients needed to detect a difference, or to show non-inferiority or equivalence.

    Parameters are those of :func:`power` with ``power`` the target power (default 0.8).

    Returns
    -------
    SampleSize
        Rounded-up sizes per group, the exact solution and the achieved power.

    Raises
    ------
    ParameterError
        Impossible inputs: equal rates for a difference test, a true difference at or outside
        the margin for equivalence (no sample size suffices), or at or worse than the margin
        for non-inferiority, compared with a tolerance of :data:`MARGIN_TOLERANCE` (so that
        ``0.6 - 0.5``, which is ``0.0999...`` in floating point, counts as the margin 0.10);
        and any input needing more than :data:`MAX_N_PER_GROUP` clients per group.

    Examples
    --------
    >>> ss = sample_size(0.6, 0.5)    # R power.prop.test: n = 387.34
    >>> ss.n_reference, round(ss.n_reference_exact, 2)
    (388, 387.34)
    """
    p1, p0 = float(p_treatment), float(p_reference)
    alpha = level_of_test(test, confidence_level)
    level = default_confidence_level(test) if confidence_level is None else confidence_level
    target = float(power)
    _validate(p1, p0, margin, test, float(alpha), float(ratio), method)
    if alternative not in _ci.ALTERNATIVES:
        raise ParameterError(
            f"alternative must be one of {list(_ci.ALTERNATIVES)}; received {alternative!r}."
        )
    if not 0.0 < target < 1.0:
        raise ParameterError(f"power must be strictly between 0 and 1; received {power!r}.")
    eps = p1 - p0
    sd1 = math.sqrt(p1 * (1 - p1) / ratio + p0 * (1 - p0))
    zb = stats.norm.ppf(target)
    remarks: list[str] = []
    if test == "difference":
        if abs(eps) <= MARGIN_TOLERANCE:
            raise ParameterError(
                "p_treatment equals p_reference: no sample size detects a zero difference. "
                "To show the rates are alike use test='equivalence' with a margin."
            )
        if alternative != "two-sided" and (eps > 0) != (alternative == "greater"):
            raise ParameterError(
                f"alternative={alternative!r} points away from the assumed difference; "
                "swap it or the rates."
            )
        za = stats.norm.ppf(1 - alpha / 2 if alternative == "two-sided" else 1 - alpha)
        sd0 = _null_sd(p1, p0, ratio, 0.0, method)
        n0 = (za * sd0 + zb * sd1) ** 2 / eps**2
    elif test == "noninferiority":
        m = float(margin)  # type: ignore[arg-type]
        gap = eps + m if higher_is_better else m - eps
        if gap <= MARGIN_TOLERANCE:
            raise ParameterError(
                "The assumed difference is at or beyond the non-inferiority margin: "
                "non-inferiority cannot be shown at any sample size."
            )
        za = stats.norm.ppf(1 - alpha)
        sd0 = _null_sd(p1, p0, ratio, -m if higher_is_better else m, method)
        n0 = (za * sd0 + zb * sd1) ** 2 / gap**2
    else:
        m = float(margin)  # type: ignore[arg-type]
        if abs(eps) >= m - MARGIN_TOLERANCE:
            raise ParameterError(
                "The assumed difference is at or beyond the equivalence margin: equivalence "
                "cannot be shown at any sample size."
            )

        def gap_fn(n: float) -> float:
            return (
                _power_components(
                    p1, p0, n, m, test, alpha, ratio, alternative, method, higher_is_better
                )
                - target
            )

        hi = 10.0
        while gap_fn(hi) < 0:
            hi *= 2.0
            if hi > 4 * MAX_N_PER_GROUP:
                break
        n0 = (
            float(optimize.brentq(gap_fn, 1e-6, hi, xtol=1e-10, rtol=1e-14))
            if gap_fn(hi) >= 0
            else math.inf
        )
    if not n0 <= MAX_N_PER_GROUP or not ratio * n0 <= MAX_N_PER_GROUP:
        raise ParameterError(
            f"The required size exceeds {MAX_N_PER_GROUP:,.0f} clients per group: the assumed "
            "difference is too close to zero or to the margin for any feasible study. Check "
            "the rates and the margin."
        )
    n_ref = int(math.ceil(n0 - 1e-9))
    n_trt = int(math.ceil(ratio * n0 - 1e-9))
    achieved = _power_components(
        p1, p0, float(n_ref), margin, test, alpha, ratio, alternative, method, higher_is_better
    )
    if n_ref < 30:
        remarks.append(
            "Fewer than 30 clients per group: the normal approximation behind this formula is "
            "rough; check with an exact calculation."
        )
    return SampleSize(
        n_treatment=n_trt,
        n_reference=n_ref,
        n_total=n_trt + n_ref,
        n_treatment_exact=float(ratio * n0),
        n_reference_exact=float(n0),
        power=float(achieved),
        p_treatment=p1,
        p_reference=p0,
        margin=None if margin is None else float(margin),
        test=test,
        alpha=float(alpha),
        confidence_level=float(level),
        target_power=target,
        ratio=float(ratio),
        alternative=alternative,
        method=method,
        higher_is_better=higher_is_better,
        remarks=tuple(remarks),
    )
