"""E-values for unmeasured confounding (VanderWeele & Ding 2017).

:func:`e_value` gives the minimum strength of association, on the risk-ratio scale, that an
unmeasured confounder would need with both the treatment and the outcome to explain away an
observed association (and its confidence limit closest to the null). Risk ratios are used as
they are; odds ratios and hazard ratios are first converted to approximate risk ratios (rare
outcomes: unchanged; common outcomes, >= 15%: ``sqrt(OR)`` and
``(1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))``).

Its own module (re-exported by :mod:`iopoutcomes.robustness`) because comparisons report
E-values and subgroup analyses run comparisons: one module each way would be an import cycle.

Examples
--------
>>> ev = e_value(3.9, 1.8, 8.7)  # VanderWeele & Ding 2017, worked example
>>> ev.to_frame()[["e_value", "e_value_ci"]].round(2).values.tolist()
[[7.26, 3.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._render import ResultDisplay
from .exceptions import ParameterError

__all__ = ["EValue", "e_value"]

Measure = Literal["rr", "or", "hr"]

_REFERENCES = (
    "VanderWeele TJ, Ding P. Sensitivity analysis in observational research: introducing the "
    "E-value. Ann Intern Med. 2017;167(4):268-274."
)


def _rr_equivalent(x: np.ndarray, measure: str, rare: bool) -> np.ndarray:
    """Approximate risk ratio for an OR or HR (VanderWeele & Ding 2017, Table)."""
    if measure == "rr" or rare:
        return x
    if measure == "or":
        return np.sqrt(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (1.0 - 0.5 ** np.sqrt(x)) / (1.0 - 0.5 ** np.sqrt(1.0 / x))


def _e(rr: np.ndarray) -> np.ndarray:
    """E-value of a risk ratio: RR + sqrt(RR (RR - 1)) after taking RR >= 1 (1/RR below 1)."""
    r = np.where(rr < 1, 1.0 / rr, rr)
    return r + np.sqrt(r * (r - 1.0))


@dataclass(frozen=True, eq=False, repr=False)
class EValue(ResultDisplay):
    """E-values for one or more estimates (see :func:`e_value`).

    Attributes
    ----------
    table : pandas.DataFrame
        ``label``, ``measure``, ``estimate``, ``ci_low``, ``ci_high``, ``rr``, ``rr_ci_low``,
        ``rr_ci_high`` (risk-ratio equivalents), ``e_value`` (for the estimate) and
        ``e_value_ci`` (for the confidence limit closest to the null; 1 when the interval
        includes the null).
    rare : bool
        Whether the outcome was treated as rare (< 15%).

    Examples
    --------
    >>> ev = e_value(0.5, 0.3, 0.8)
    >>> ev.to_frame()[["e_value", "e_value_ci"]].round(2).values.tolist()
    [[3.41, 1.81]]
    """

    table: pd.DataFrame
    rare: bool
    remarks: tuple[str, ...] = ()

    def _header(self) -> str:
        return (
            f"<EValue: {len(self.table)} estimate(s), {'rare' if self.rare else 'common'} outcome>"
        )

    def to_frame(self) -> pd.DataFrame:
        """Copy of the table."""
        return self.table.copy()

    def definition_text(self) -> str:
        return (
            "E-value: the minimum risk ratio an unmeasured confounder would need with both the "
            "group and the outcome, beyond the measured covariates, to move the estimate (or "
            "its confidence limit closest to 1) to the null (VanderWeele & Ding 2017)."
        )

    def narrative(self) -> str:
        """One sentence per estimate."""
        out = []
        for row in self.table.itertuples(index=False):
            lim = (
                "the confidence interval already includes the null"
                if row.e_value_ci == 1
                else f"to move the confidence limit to the null, {row.e_value_ci:.2f}"
            )
            out.append(
                f"{row.label}: an unmeasured confounder associated with both group and outcome "
                f"by a risk ratio of {row.e_value:.2f} each, above the measured covariates, "
                f"could explain away the estimate {row.estimate:.2f}; {lim}."
            )
        return " ".join(out)

    def methods_text(self) -> str:
        """Methods sentence with reference."""
        conv = (
            "odds and hazard ratios were used as risk ratios (rare outcome)"
            if self.rare
            else "odds ratios were converted with sqrt(OR) and hazard ratios with "
            "(1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR)) (common outcome)"
        )
        return (
            "Sensitivity to unmeasured confounding was summarised by E-values for the estimate "
            f"and the confidence limit closest to the null; {conv} (VanderWeele & Ding 2017)."
        )


def e_value(
    estimate: float | Sequence[float] | np.ndarray,
    ci_low: float | Sequence[float] | np.ndarray | None = None,
    ci_high: float | Sequence[float] | np.ndarray | None = None,
    *,
    measure: Measure = "rr",
    rare: bool = False,
    labels: Sequence[str] | None = None,
) -> EValue:
    """E-values for risk, odds or hazard ratios (VanderWeele & Ding 2017).

    Parameters
    ----------
    estimate : float or array-like
        Ratio estimate(s) (> 0).
    ci_low, ci_high : float or array-like, optional
        Confidence limits; the E-value of the limit closest to 1 is reported (1 when the
        interval includes 1). NaN when not given.
    measure : {"rr", "or", "hr"}
        Risk ratio, odds ratio or hazard ratio.
    rare : bool
        Outcome rare (< 15% in every group) at the end of follow-up: odds and hazard ratios
        approximate risk ratios. Otherwise the common-outcome conversions are used.
    labels : sequence of str, optional
        Names of the estimates.

    Returns
    -------
    EValue

    Examples
    --------
    >>> ev = e_value(3.9, 1.8, 8.7)  # VanderWeele & Ding 2017, worked example
    >>> ev.to_frame()[["e_value", "e_value_ci"]].round(2).values.tolist()
    [[7.26, 3.0]]
    """
    if measure not in ("rr", "or", "hr"):
        raise ParameterError(f"measure must be 'rr', 'or' or 'hr'; got {measure!r}.")
    est = np.atleast_1d(np.asarray(estimate, dtype=float))
    n = len(est)

    def lim(v: Any) -> np.ndarray:
        if v is None:
            return np.full(n, np.nan)
        a = np.atleast_1d(np.asarray(v, dtype=float))
        if len(a) != n:
            raise ParameterError(
                f"ci_low and ci_high need one value per estimate ({n}); got {len(a)}."
            )
        return a

    lo, hi = lim(ci_low), lim(ci_high)
    for name, arr in (("estimate", est), ("ci_low", lo), ("ci_high", hi)):
        if bool((arr[np.isfinite(arr)] <= 0).any()):
            raise ParameterError(f"{name} must hold ratios > 0.")
    rr, rr_lo, rr_hi = (_rr_equivalent(a, measure, rare) for a in (est, lo, hi))
    ev = _e(rr)
    # the limit closest to the null: the lower limit above 1, the upper limit below 1
    closest = np.where(rr >= 1, rr_lo, rr_hi)
    crosses = np.where(rr >= 1, rr_lo <= 1, rr_hi >= 1)
    ev_ci = np.where(np.isnan(closest), np.nan, np.where(crosses, 1.0, _e(closest)))
    table = pd.DataFrame(
        {
            "label": list(labels)
            if labels is not None
            else [f"estimate {i + 1}" for i in range(n)],
            "measure": measure,
            "estimate": est,
            "ci_low": lo,
            "ci_high": hi,
            "rr": rr,
            "rr_ci_low": rr_lo,
            "rr_ci_high": rr_hi,
            "e_value": ev,
            "e_value_ci": ev_ci,
        }
    )
    return EValue(table=table, rare=rare)
