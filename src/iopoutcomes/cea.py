"""Cost per outcome and cost-effectiveness: :func:`cost_effectiveness` -> :class:`CostEffectiveness`.

(The module is named ``cea``, cost-effectiveness analysis, because a submodule named like the
public function ``iopoutcomes.cost_effectiveness`` would replace it on the package once
imported.)

Each non-reference group of ``by`` (IOP) is compared with the reference (inpatient) on mean
cost per episode and on the effect (the share with the outcome, e.g. abstinent at 6 months):

* mean cost and effect per group, the **cost per abstinent client** (total cost / number with
  the outcome = mean cost / rate), the incremental cost ``diff_cost`` and effect ``diff``;
* the **ICER** ``diff_cost / diff`` (cost per additional client with the outcome) with its
  quadrant on the cost-effectiveness plane always stated; no ICER number is reported when a
  strategy dominates (cheaper and better, or dearer and worse) or when the interval of ``diff``
  spans 0 (Drummond et al. 2015, ch. 11);
* intervals by the **stratified non-parametric bootstrap** (resampling within each group, the
  group sizes fixed): percentile and BCa (Efron & Tibshirani 1993, ch. 14), with R ``boot``'s
  interpolation of order statistics (Davison & Hinkley 1997, eq. 5.8), and **Fieller's**
  interval for the ICER (Fieller 1954; Willan & O'Brien 1996);
* the **incremental net monetary benefit** ``INMB(lambda) = lambda * diff - diff_cost`` at a
  willingness to pay ``wtp`` per additional client with the outcome, and the
  **cost-effectiveness acceptability curve** (CEAC): the share of bootstrap replicates with
  ``INMB > 0`` over a grid of lambda.

The effect is defined exactly as in :func:`iopoutcomes.compare.compare_rates` (its eligibility
rule and missing-data rule are reused), so the report's comparison and its cost-effectiveness
agree: unadjusted, ``diff`` equals ``compare_rates(...).to_frame()["diff"]``. With ``adjust``,
costs (linear regression) and effects (logistic regression) are adjusted the same way, by
g-computation (standardisation to the compared episodes), and refitted on every bootstrap
replicate (costs and effects resampled jointly, by episode).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from iopoutcomes.cea import cost_effectiveness
>>> rng = np.random.default_rng(1)
>>> df = pd.DataFrame({"cohort": ["IOP"] * 300 + ["inpatient"] * 300,
...                    "abstinent_6mo": rng.random(600) < 0.55,
...                    "cost": np.r_[rng.gamma(2, 2500, 300), rng.gamma(2, 6000, 300)]})
>>> ce = cost_effectiveness(df, "abstinent_6mo", n_boot=500, seed=1)
>>> ce.table.loc[0, "quadrant"], bool(ce.table.loc[0, "icer"] == ce.table.loc[0, "icer"])
('SW', False)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ._counts import outcome_as_float
from ._render import ResultDisplay
from ._validate import default_reference, validates_confidence_level
from .exceptions import InsufficientDataError, MissingColumnError, ParameterError
from .schema import COST_EFFECTIVENESS_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "CE_COLUMNS",
    "CostEffectiveness",
    "QUADRANTS",
    "bootstrap_intervals",
    "cost_effectiveness",
    "fieller_interval",
    "percentile_interval",
]

CE_COLUMNS: Final[tuple[str, ...]] = COST_EFFECTIVENESS_COLUMNS
"""``CostEffectiveness.to_frame()`` columns (:data:`iopoutcomes.schema.COST_EFFECTIVENESS_COLUMNS`)."""

QUADRANTS: Final[dict[str, str]] = {
    "NE": "more costly and more effective",
    "NW": "more costly and less effective (dominated)",
    "SE": "less costly and more effective (dominant)",
    "SW": "less costly and less effective",
    "axis": "on an axis of the plane (no difference in cost or in effect)",
}
"""Quadrants of the cost-effectiveness plane (x: difference in effect, y: difference in cost),
for the group against the reference."""

INTERVALS: Final[tuple[str, ...]] = ("bca", "percentile")
SUPPORTED_MISSING_RULES: Final[tuple[str, ...]] = ("using", "exclude")
_STATISTICS: Final[tuple[str, ...]] = (
    "mean_cost",
    "mean_cost_ref",
    "rate",
    "rate_ref",
    "cost_per_event",
    "cost_per_event_ref",
    "diff_cost",
    "diff",
    "inmb",
)
_CHUNK_CELLS: Final[int] = 4_000_000  # resample indices held at once (32 MB of int64)

_REFERENCES: Final[dict[str, str]] = {
    "drummond": "Drummond MF, Sculpher MJ, Claxton K, Stoddart GL, Torrance GW (2015). Methods "
    "for the economic evaluation of health care programmes, 4th ed. Oxford University Press.",
    "fieller": "Fieller EC (1954). Some problems in interval estimation. J R Stat Soc B "
    "16:175-185.",
    "willan": "Willan AR, O'Brien BJ (1996). Confidence intervals for cost-effectiveness ratios: "
    "an application of Fieller's theorem. Health Econ 5:297-305.",
    "efron": "Efron B, Tibshirani RJ (1993). An introduction to the bootstrap. Chapman & Hall.",
    "davison": "Davison AC, Hinkley DV (1997). Bootstrap methods and their application. "
    "Cambridge University Press.",
    "vanhout": "van Hout BA, Al MJ, Gordon GS, Rutten FF (1994). Costs, effects and C/E-ratios "
    "alongside a clinical trial. Health Econ 3:309-319.",
    "robins": "Robins J (1986). A new approach to causal inference in mortality studies with a "
    "sustained exposure period. Math Model 7:1393-1512.",
}


# --- interval engines (pure functions of replicates) -------------------------------------------


def _norm_inter(t: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Quantiles of replicates ``t`` at ``alpha`` by R ``boot``'s ``norm.inter``: order
    statistic ``(B + 1) alpha``, interpolated on the normal quantile scale when it is not a
    whole number (Davison & Hinkley 1997, eq. 5.8); extreme order statistics at the ends."""
    t = np.sort(t[np.isfinite(t)])
    r = t.size
    out = np.full(alpha.shape, np.nan)
    if r == 0:
        return out
    rk = (r + 1) * alpha
    k = np.trunc(rk).astype(np.int64)
    for j in range(alpha.size):  # two (or a handful of) levels
        if not np.isfinite(alpha[j]):
            continue
        if k[j] <= 0:
            out[j] = t[0]
        elif k[j] >= r:
            out[j] = t[-1]
        elif k[j] == rk[j]:
            out[j] = t[k[j] - 1]
        else:
            z = stats.norm.ppf(alpha[j])
            z1 = stats.norm.ppf(k[j] / (r + 1))
            z2 = stats.norm.ppf((k[j] + 1) / (r + 1))
            lo, hi = t[k[j] - 1], t[k[j]]
            out[j] = lo + (z - z1) / (z2 - z1) * (hi - lo)
    return out


@validates_confidence_level
def percentile_interval(t: np.ndarray, confidence_level: float = 0.95) -> tuple[float, float]:
    """Bootstrap percentile interval of replicates ``t`` (R ``boot.ci(type="perc")``).

    Examples
    --------
    >>> [round(v, 6) for v in percentile_interval(np.arange(1.0, 1000.0), 0.95)]
    [25.0, 975.0]
    """
    a = (1.0 - confidence_level) / 2.0
    lo, hi = _norm_inter(np.asarray(t, float), np.array([a, 1.0 - a]))
    return float(lo), float(hi)


@validates_confidence_level
def bootstrap_intervals(
    t0: float, t: np.ndarray, influence: np.ndarray | None, confidence_level: float = 0.95
) -> dict[str, tuple[float, float]]:
    """Percentile and BCa intervals from replicates, as R ``boot.ci`` computes them.

    Parameters
    ----------
    t0 : float
        The estimate on the original data.
    t : array
        Bootstrap replicates.
    influence : array or None
        Empirical influence values of the statistic (one per observation; any common scale),
        giving the acceleration ``a = sum(L^3) / (6 sum(L^2)^1.5)``. ``None``: ``a = 0``
        (the bias-corrected percentile interval).
    confidence_level : float

    Returns
    -------
    dict
        ``{"percentile": (low, high), "bca": (low, high)}``; BCa is NaN when the bias
        correction is infinite (every replicate on one side of ``t0``).

    Examples
    --------
    >>> t = np.linspace(-1.96, 1.96, 1000)  # as many replicates below 0 as above
    >>> res = bootstrap_intervals(0.0, t, None)
    >>> bool(np.allclose(res["bca"], res["percentile"]))  # no bias, no acceleration
    True
    """
    t = np.asarray(t, float)
    finite = t[np.isfinite(t)]
    perc = percentile_interval(finite, confidence_level)
    out = {"percentile": perc, "bca": (math.nan, math.nan)}
    if finite.size == 0 or not math.isfinite(t0):
        return out
    share = float(np.mean(finite < t0))
    if not 0.0 < share < 1.0:
        return out
    w = stats.norm.ppf(share)
    a = 0.0
    if influence is not None:
        infl = np.asarray(influence, float)
        s2 = float(np.sum(infl**2))
        a = float(np.sum(infl**3)) / (6.0 * s2**1.5) if s2 > 0 else 0.0
    alpha = np.array([(1 - confidence_level) / 2, (1 + confidence_level) / 2])
    za = stats.norm.ppf(alpha)
    adj = stats.norm.cdf(w + (w + za) / (1 - a * (w + za)))
    lo, hi = _norm_inter(finite, adj)
    out["bca"] = (float(lo), float(hi))
    return out


@validates_confidence_level
def fieller_interval(
    diff_cost: float,
    diff_effect: float,
    var_cost: float,
    var_effect: float,
    cov: float,
    confidence_level: float = 0.95,
) -> tuple[float, float, str]:
    """Fieller's interval for the ICER ``diff_cost / diff_effect`` (Willan & O'Brien 1996).

    The set of ratios ``R`` with ``(dC - R dE)^2 <= z^2 (Vc - 2 R C + R^2 Ve)``: the roots of
    ``R^2 (dE^2 - z^2 Ve) - 2 R (dC dE - z^2 C) + (dC^2 - z^2 Vc) = 0``. It is a bounded
    interval only when ``dE^2 > z^2 Ve`` (the effect differs from 0 at this level);
    otherwise the set is unbounded and NaN is returned with the reason.

    Returns
    -------
    (low, high, status)
        ``status`` is ``"bounded"`` or ``"unbounded"``.

    Examples
    --------
    >>> lo, hi, s = fieller_interval(1000.0, 0.1, 200.0**2, 0.03**2, 0.0)
    >>> print(f"{lo:.0f} {hi:.0f} {s}")
    5074 25495 bounded
    """
    z = float(stats.norm.ppf(0.5 + confidence_level / 2))
    a = diff_effect**2 - z**2 * var_effect
    b = diff_cost * diff_effect - z**2 * cov
    c = diff_cost**2 - z**2 * var_cost
    disc = b * b - a * c
    if not (math.isfinite(a) and math.isfinite(disc)) or a <= 0 or disc < 0:
        return math.nan, math.nan, "unbounded"
    root = math.sqrt(disc)
    lo, hi = sorted(((b - root) / a, (b + root) / a))
    return lo, hi, "bounded"


def quadrant(diff_cost: float, diff_effect: float) -> str:
    """Quadrant of the cost-effectiveness plane (x: effect, y: cost); see :data:`QUADRANTS`.

    >>> quadrant(-100.0, 0.05), quadrant(100.0, -0.05), quadrant(100.0, 0.05)
    ('SE', 'NW', 'NE')
    """
    if (
        diff_cost == 0
        or diff_effect == 0
        or not (math.isfinite(diff_cost) and math.isfinite(diff_effect))
    ):
        return "axis"
    return ("N" if diff_cost > 0 else "S") + ("E" if diff_effect > 0 else "W")


# --- the result --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class CostEffectiveness(ResultDisplay):
    """Cost per outcome and cost-effectiveness of each group against a reference.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per compared group: the columns of :data:`CE_COLUMNS`. ``rate`` is the effect
        (share with the outcome; ``1 - rate`` of the event when ``higher_is_better=False``),
        ``cost_per_event`` the mean cost divided by it (cost per abstinent client),
        ``icer`` NaN whenever no ICER is reported (see ``icer_statement``), ``prob_cost_effective``
        the CEAC at ``wtp``.
    intervals : pandas.DataFrame
        ``group``, ``statistic``, ``estimate``, ``interval`` ("percentile", "bca" or, under
        ``adjust``, "bc"; "fieller" for the ICER), ``ci_low``, ``ci_high``.
    ceac : pandas.DataFrame
        ``group``, ``wtp``, ``inmb``, ``prob_cost_effective`` over the lambda grid.
    replicates : pandas.DataFrame
        ``group``, ``replicate``, ``diff_cost``, ``diff`` (the bootstrap cloud).
    icer_statement : dict
        Group -> the ICER or dominance statement in words.
    outcome, by, reference, cost, missing_rule, adjust, n_boot, seed, wtp, confidence_level,
    interval, higher_is_better, perspective, cost_includes, price_year, currency :
        As passed to :func:`cost_effectiveness` (``seed`` resolved).
    unit_costs : pandas.DataFrame or None
        The unit costs and their price-year conversion when costs came from
        :func:`iopoutcomes.costs.episode_costs`.
    remarks : tuple of str

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> rec = iop.simulate_records(n=300, seed=2, costs=True)
    >>> ce = iop.cost_effectiveness(iop.episode_outcomes(rec), n_boot=200, seed=0)
    >>> list(ce.to_frame().columns[:3])
    ['outcome', 'group', 'reference']
    """

    table: pd.DataFrame
    intervals: pd.DataFrame
    ceac: pd.DataFrame
    replicates: pd.DataFrame
    icer_statement: dict[Any, str]
    outcome: str
    by: str
    reference: Any
    cost: str
    missing_rule: str
    adjust: tuple[str, ...]
    n_boot: int
    seed: int
    wtp: float | None
    confidence_level: float
    interval: str
    higher_is_better: bool = True
    perspective: str = "provider"
    cost_includes: str = ""
    price_year: int | None = None
    currency: str = "USD"
    unit_costs: pd.DataFrame | None = None
    remarks: tuple[str, ...] = field(default_factory=tuple)

    def _header(self) -> str:
        n = int(self.table["n"].sum() + (self.table["n_ref"].iloc[0] if len(self.table) else 0))
        year = f" {self.price_year}" if self.price_year else ""
        return (
            f"<CostEffectiveness: {self.outcome} and {self.cost} ({self.currency}{year}) by "
            f"{self.by} vs {self.reference!s}, {n:,} episodes, {self.n_boot} stratified "
            f"bootstrap replicates, missing = {self.missing_rule}>"
        )

    def to_frame(self) -> pd.DataFrame:
        """A copy of the tidy table (one row per compared group)."""
        return self.table.copy()

    def definition_text(self) -> str:
        """What the columns mean, in one paragraph."""
        pct = f"{100 * self.confidence_level:g}%"
        return (
            f"rate = share of episodes with {self.outcome}"
            + ("" if self.higher_is_better else " avoided")
            + f"; diff = group minus {self.reference!s}; diff_cost = difference in mean cost "
            f"per episode; cost_per_event = mean cost / rate; ICER = diff_cost / diff; INMB = "
            f"wtp x diff - diff_cost; {pct} intervals: {self._interval_name()} (stratified "
            f"bootstrap, {self.n_boot} replicates), Fieller for the ICER; "
            f"{self._missing_text()}."
        )

    def _interval_name(self) -> str:
        if self.adjust and self.interval == "bca":
            return "bias-corrected percentile"
        return {"bca": "BCa", "percentile": "percentile"}[self.interval]

    def _missing_text(self) -> str:
        from .compare import _missing_text

        return _missing_text(self.missing_rule, self.outcome, self.higher_is_better)

    # -- words -------------------------------------------------------------------------------

    def _money(self, value: float) -> str:
        if not math.isfinite(value):
            return "not estimable"
        sign = "-" if value < 0 else ""
        symbol = "$" if self.currency == "USD" else f"{self.currency} "
        return f"{sign}{symbol}{abs(value):,.0f}"

    def narrative(self) -> str:
        """Plain-language summary: costs, cost per abstinent client, ICER or dominance, CEAC."""
        pct = f"{100 * self.confidence_level:g}%"
        year = f" ({self.currency} {self.price_year})" if self.price_year else ""
        parts = []
        for row in self.table.to_dict("records"):
            ci_c = (
                f"{self._money(row['diff_cost_ci_low'])} to {self._money(row['diff_cost_ci_high'])}"
            )
            ci_e = f"{100 * row['diff_ci_low']:.1f} to {100 * row['diff_ci_high']:.1f}"
            text = (
                f"Mean cost per episode{year} was {self._money(row['mean_cost'])} in {row['group']!s} "
                f"and {self._money(row['mean_cost_ref'])} in {row['reference']!s} (difference "
                f"{self._money(row['diff_cost'])}, {pct} CI {ci_c}); the share {self._verb()} was "
                f"{100 * row['rate']:.1f}% and {100 * row['rate_ref']:.1f}% (difference "
                f"{100 * row['diff']:.1f} points, {pct} CI {ci_e}). Cost per "
                f"{self._client()}: {self._money(row['cost_per_event'])} in {row['group']!s}, "
                f"{self._money(row['cost_per_event_ref'])} in {row['reference']!s}. "
                f"{self.icer_statement[row['group']]}"
            )
            if self.wtp is not None and math.isfinite(row["inmb"]):
                text += (
                    f" At a willingness to pay of {self._money(self.wtp)} per additional "
                    f"{self._client()}, the incremental net monetary benefit is "
                    f"{self._money(row['inmb'])} per episode ({pct} CI "
                    f"{self._money(row['inmb_ci_low'])} to {self._money(row['inmb_ci_high'])}) and "
                    f"{100 * row['prob_cost_effective']:.0f}% of bootstrap replicates favour "
                    f"{row['group']!s}."
                )
            parts.append(text)
        return " ".join(parts)

    def _verb(self) -> str:
        return f"with {self.outcome}" if self.higher_is_better else f"without {self.outcome}"

    def _client(self) -> str:
        if self.higher_is_better and self.outcome.startswith("abstinent"):
            return "abstinent client"
        return f"client {self._verb()}"

    def methods_text(self) -> str:
        """Methods paragraph with price year, perspective, cost contents and bootstrap details."""
        pct = f"{100 * self.confidence_level:g}%"
        year = f"{self.currency} of {self.price_year}" if self.price_year else self.currency
        include = f" Costs include {self.cost_includes}." if self.cost_includes else ""
        conv = ""
        if self.unit_costs is not None and len(self.unit_costs):
            conv = (
                " Unit costs (amount per day, week or episode of care by level of care) were "
                "multiplied by each episode's days of care and converted to the price year with "
                "the CPI-U annual averages (BLS CUUR0000SA0): "
                + "; ".join(
                    f"{r['level_of_care']} {r['amount']:,.2f} per {r['per']} ({r['price_year']}) x "
                    f"{r['factor']:.4f}" + (f" [{r['source']}]" if r["source"] else "")
                    for r in self.unit_costs.to_dict("records")
                )
                + "."
            )
        if self.adjust:
            model = (
                f" Costs (linear regression) and effects (logistic regression) were adjusted "
                f"for {', '.join(self.adjust)} by g-computation, standardising to the compared "
                "episodes (Robins 1986); both models were refitted on every replicate. Without "
                "the cost of a refit per left-out episode the acceleration is set to 0, so the "
                "intervals are bias-corrected percentile intervals (Efron & Tibshirani 1993)."
            )
            refs = ["drummond", "efron", "davison", "fieller", "willan", "vanhout", "robins"]
        else:
            model = (
                " BCa intervals use the bias correction from the share of replicates below the "
                "estimate and the acceleration from the empirical influence values (Efron & "
                "Tibshirani 1993, ch. 14); end points interpolate order statistics as R's boot "
                "package does (Davison & Hinkley 1997)."
            )
            refs = ["drummond", "efron", "davison", "fieller", "willan", "vanhout"]
        text = (
            f"Costs are from the {self.perspective} perspective, in {year}.{include}{conv} "
            f"The effect is the share of episodes {self._verb()}, defined as in the rate "
            f"comparison: {self._missing_text()}. Differences are group minus "
            f"{self.reference!s}. {pct} intervals come from the non-parametric bootstrap "
            f"stratified by {self.by} ({self.n_boot} replicates, seed {self.seed}; episodes "
            "resampled within each group, costs and effects jointly)."
            f"{model} The ICER (difference in cost / difference in effect) is reported with "
            "its quadrant on the cost-effectiveness plane and Fieller's interval (Fieller "
            "1954; Willan & O'Brien 1996, variances and covariance of the differences "
            + ("from the bootstrap replicates" if self.adjust else "from the group sample moments")
            + "); no ICER is reported when one strategy dominates or when the interval of the "
            "effect difference includes 0 (Drummond et al. 2015). The incremental net monetary "
            "benefit is INMB = lambda x difference in effect - difference in cost, and the "
            "acceptability curve gives, for each willingness to pay lambda, the share of "
            "replicates with INMB > 0 (van Hout et al. 1994)."
        )
        return text + "\n\nReferences: " + " ".join(_REFERENCES[r] for r in refs)

    # -- plots ---------------------------------------------------------------------------------

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Any:
        """The cost-effectiveness plane (``iopoutcomes.ce_plots.plot_ce_plane``)."""
        from .ce_plots import plot_ce_plane

        return plot_ce_plane(self, ax=ax, **kwargs)

    def plot_ceac(self, ax: Axes | None = None, **kwargs: Any) -> Any:
        """The acceptability curve (``iopoutcomes.ce_plots.plot_ceac``)."""
        from .ce_plots import plot_ceac

        return plot_ceac(self, ax=ax, **kwargs)


# --- resampling --------------------------------------------------------------------------------


def _group_means(values: list[np.ndarray], n_boot: int, seed: int) -> np.ndarray:
    """Bootstrap means ``(n_boot, n_groups, n_values)``: resampling within each group, in
    chunks so memory stays bounded (every value array is gathered with the same indices)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, len(values), values[0].shape[1]))
    for g, v in enumerate(values):
        n = v.shape[0]
        columns = [np.ascontiguousarray(v[:, j]) for j in range(v.shape[1])]
        chunk = max(1, _CHUNK_CELLS // max(n, 1))
        # 32-bit indices are drawn about three times faster than 64-bit ones
        dtype = np.int32 if n < 2**31 else np.int64
        for start in range(0, n_boot, chunk):
            b = min(chunk, n_boot - start)
            idx = rng.integers(0, n, size=(b, n), dtype=dtype)
            for j, col in enumerate(columns):
                out[start : start + b, g, j] = col[idx].mean(axis=1)
    return out


def _means_from_indices(values: list[np.ndarray], indices: list[np.ndarray]) -> np.ndarray:
    """Bootstrap means from given indices (the test path: R gets the same indices)."""
    n_boot = indices[0].shape[0]
    out = np.empty((n_boot, len(values), values[0].shape[1]))
    for g, (v, idx) in enumerate(zip(values, indices, strict=True)):
        for j in range(v.shape[1]):
            out[:, g, j] = v[idx, j].mean(axis=1)
    return out


# --- adjusted (g-computation) ------------------------------------------------------------------


def _wls(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    xw = x * w[:, None]
    beta: np.ndarray = np.linalg.lstsq(xw.T @ x, xw.T @ y, rcond=None)[0]
    return beta


def _logit_weighted(x: np.ndarray, y: np.ndarray, w: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Weighted logistic regression by Newton-Raphson from ``start`` (bootstrap counts as
    frequency weights: the same fit as on the resampled rows)."""
    beta = start.copy()
    for _ in range(50):
        p = 0.5 * (1.0 + np.tanh(0.5 * (x @ beta)))
        grad = x.T @ (w * (y - p))
        hess = (x * (w * p * (1 - p))[:, None]).T @ x
        step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        beta = beta + step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    return beta


def _gcomp_stats(
    x: np.ndarray, c: np.ndarray, e: np.ndarray, w: np.ndarray, start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(standardised [cost_g, cost_ref, rate_g, rate_ref], logistic coefficients): treatment
    indicator in column 1 of ``x``; standardised over the (weighted) compared episodes."""
    x1, x0 = x.copy(), x.copy()
    x1[:, 1], x0[:, 1] = 1.0, 0.0
    bc = _wls(x, c, w)
    be = _logit_weighted(x, e, w, start)
    sw = w.sum()
    mc1, mc0 = (w @ (x1 @ bc)) / sw, (w @ (x0 @ bc)) / sw
    p1 = 0.5 * (1.0 + np.tanh(0.5 * (x1 @ be)))
    p0 = 0.5 * (1.0 + np.tanh(0.5 * (x0 @ be)))
    return np.array([mc1, mc0, (w @ p1) / sw, (w @ p0) / sw]), be


# --- the function ------------------------------------------------------------------------------


def _resolve_cost(frame: pd.DataFrame, cost: Any) -> tuple[pd.DataFrame, str, Any]:
    """Attach episode costs: a column name, or an ``EpisodeCosts`` joined on ``episode_id``."""
    from .costs import EpisodeCosts

    if isinstance(cost, EpisodeCosts):
        if "episode_id" not in frame:
            raise MissingColumnError(
                "joining EpisodeCosts needs an episode_id column in the outcomes table."
            )
        joined = frame.assign(cost=frame["episode_id"].map(cost.series()).to_numpy(float))
        return joined, "cost", cost
    if not isinstance(cost, str):
        raise ParameterError(
            f"cost must be a column name or an EpisodeCosts; received {type(cost).__name__}."
        )
    if cost not in frame:
        raise MissingColumnError(
            f"Cost column {cost!r} is not in the data. Found: {list(frame.columns)}. Add costs "
            "with iop.episode_costs(records, costs=...) and pass cost= that result, or name the "
            "cost column."
        )
    return frame, cost, None


def _default_grid(table_max: float) -> np.ndarray:
    top = table_max if math.isfinite(table_max) and table_max > 0 else 100_000.0
    # a round upper end above five times the largest cost per client with the outcome
    step = 10 ** math.floor(math.log10(5 * top))
    return np.linspace(0.0, math.ceil(5 * top / step) * step, 101)


@validates_confidence_level
def cost_effectiveness(
    outcomes: Any,
    outcome: str = "abstinent_6mo",
    *,
    by: str = "cohort",
    reference: Any = None,
    cost: Any = "cost",
    missing: str | None = None,
    adjust: Sequence[str] = (),
    n_boot: int = 2000,
    seed: int | None = None,
    wtp: float | None = None,
    confidence_level: float = 0.95,
    interval: Literal["bca", "percentile"] = "bca",
    wtp_grid: Sequence[float] | None = None,
    higher_is_better: bool = True,
    perspective: str = "provider",
    cost_includes: str = "",
    price_year: int | None = None,
    currency: str = "USD",
) -> CostEffectiveness:
    """Cost per outcome and cost-effectiveness of each group against a reference group.

    Parameters
    ----------
    outcomes : EpisodeOutcomes or pandas.DataFrame
        One row per episode with the outcome, ``by`` and the cost (an ``EpisodeOutcomes``: its
        definition's missing-data rule and death policy apply, as in ``compare_rates``).
    outcome : str
        Binary outcome column (e.g. ``abstinent_6mo``).
    by, reference : str, scalar
        Group column and reference level (None: ``inpatient`` when present, else the first
        group in sorted order, as in :func:`iopoutcomes.compare_rates`).
    cost : str or EpisodeCosts
        Per-episode cost column, or the result of :func:`iopoutcomes.costs.episode_costs`
        (joined on ``episode_id``; its price year, currency and unit costs are reported).
        Episodes without a cost are left out (a remark gives their number).
    missing : {"using", "exclude"}, optional
        Missing-data rule of the effect, as in ``compare_rates`` (default: the definition's,
        or ``"using"``). ``"using"`` counts a missing outcome as unfavourable; ``"exclude"``
        analyses complete cases (their costs only). The multi-analysis and model-based rules
        (``bounds``, ``impute``, ``ipw``) are not available here and raise.
    adjust : sequence of str
        Case-mix covariates: costs (linear regression) and effects (logistic regression)
        adjusted by g-computation over the compared episodes, refitted on every replicate.
    n_boot : int
        Bootstrap replicates (default 2000; at least 200).
    seed : int, optional
        Seed of the resampling; ``None`` uses 0 so that a report is reproducible (vary it to
        gauge the Monte Carlo error).
    wtp : float, optional
        Willingness to pay lambda per additional client with the outcome: adds the INMB with its
        interval and the CEAC value at lambda.
    confidence_level : float
        Two-sided level of every interval, in (0, 1).
    interval : {"bca", "percentile"}
        Interval shown in :meth:`CostEffectiveness.to_frame` and deciding whether the effect
        difference spans 0 (both are always in ``intervals``).
    wtp_grid : sequence of float, optional
        Lambda grid of the CEAC (default 101 points from 0 to a round number above five
        times the largest cost per client with the outcome).
    higher_is_better : bool
        False for an adverse outcome (relapse): the effect is then the share without it.
    perspective, cost_includes : str
        Stated in the methods text (e.g. "provider", "program staff, facilities and
        medication").
    price_year, currency : int, str
        Price year and currency of a cost column (taken from ``EpisodeCosts`` when given).

    Returns
    -------
    CostEffectiveness

    Raises
    ------
    ParameterError, MissingColumnError, InsufficientDataError

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"cohort": ["IOP"] * 4 + ["inpatient"] * 4,
    ...                    "abstinent_6mo": [1, 1, 1, 0, 1, 0, 0, 0],
    ...                    "cost": [3000, 4000, 5000, 4000, 9000, 11000, 10000, 10000]})
    >>> ce = cost_effectiveness(df, n_boot=200, seed=3)
    >>> r = ce.table.iloc[0]
    >>> print(r["diff_cost"], r["diff"], round(r["cost_per_event"], 2), r["quadrant"])
    -6000.0 0.5 5333.33 SE
    >>> print(ce.icer_statement["IOP"])  # doctest: +ELLIPSIS
    IOP cost less and had the outcome more often than inpatient (SE quadrant): IOP dominates...
    """
    from ._input import outcomes_table
    from .compare import _as_pandas, _eligible, _fill_specs

    if isinstance(n_boot, bool) or int(n_boot) != n_boot or n_boot < 200:
        raise ParameterError(f"n_boot must be a whole number of at least 200; received {n_boot!r}.")
    if interval not in INTERVALS:
        raise ParameterError(f"interval must be one of {list(INTERVALS)}; received {interval!r}.")
    if wtp is not None and not (math.isfinite(float(wtp)) and float(wtp) >= 0):
        raise ParameterError("wtp must be a non-negative amount per additional client.")
    seed = 0 if seed is None else int(seed)
    n_boot = int(n_boot)
    frame, definition = outcomes_table(outcomes, needed_by="cost_effectiveness", lazy=True)
    frame = _as_pandas(frame)
    if missing is None:
        missing = getattr(definition, "missing", "using") if definition is not None else "using"
    if missing not in SUPPORTED_MISSING_RULES:
        raise ParameterError(
            f"missing must be one of {list(SUPPORTED_MISSING_RULES)} for cost-effectiveness; received "
            f"{missing!r}. Bounds, imputation and weighting give several or weighted analyses "
            "of the effect that a joint bootstrap of costs cannot follow; run compare_rates for "
            "those sensitivity analyses."
        )
    frame, cost_col, episode_costs = _resolve_cost(frame, cost)
    adjust_cols = tuple(adjust or ())
    needed = [outcome, by, *adjust_cols]
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        raise MissingColumnError(
            f"Columns {absent} are not in the data. Found: {list(frame.columns)}. Name existing "
            "columns with outcome=, by= and adjust=."
        )
    remarks: list[str] = []
    data, notes = _eligible(frame, outcome, definition, missing)
    remarks.extend(notes)
    data = _as_pandas(data)
    y = outcome_as_float(data[outcome]).to_numpy(float)
    c_all = pd.to_numeric(data[cost_col], errors="coerce").to_numpy(float)
    _, g_fill, _ = _fill_specs(missing, higher_is_better)[0]
    observed = np.isfinite(y)
    if g_fill is not None:
        y = np.where(observed, y, g_fill)
    keep = np.isfinite(y)
    no_cost = keep & ~(np.isfinite(c_all) & (c_all >= 0))
    if no_cost.any():
        remarks.append(
            f"{int(no_cost.sum())} episode(s) without a usable cost were left out of the "
            "cost-effectiveness analysis, so its effect may differ from compare_rates."
        )
        keep &= ~no_cost
    groups_col = data[by].to_numpy(dtype=object)
    keep &= pd.notna(data[by]).to_numpy()
    effect = y if higher_is_better else 1.0 - y
    levels = list(pd.unique(groups_col[keep]))
    reference = default_reference(levels, reference)
    if reference not in levels:
        raise InsufficientDataError(
            f"Reference group {reference!r} is not among the {by!r} groups with costs and "
            f"outcomes; groups found: {[str(g) for g in levels]}. Pass reference= one of them."
        )
    others = [g for g in levels if g != reference]
    if not others:
        raise InsufficientDataError(f"Only the reference group {reference!r} is present.")
    try:
        others = sorted(others)
    except TypeError:
        pass
    order = [*others, reference]
    n_missing = {g: int(((groups_col == g) & ~observed & keep).sum()) for g in order}
    vals = [
        np.column_stack([c_all[keep & (groups_col == g)], effect[keep & (groups_col == g)]])
        for g in order
    ]
    sizes = [v.shape[0] for v in vals]
    if min(sizes) < 2:
        raise InsufficientDataError(
            "Every group needs at least 2 episodes with a cost and an outcome to bootstrap."
        )
    price = price_year if episode_costs is None else episode_costs.price_year
    curr = currency if episode_costs is None else episode_costs.currency
    unit_costs = None if episode_costs is None else episode_costs.unit_costs
    if episode_costs is not None:
        remarks.extend(episode_costs.remarks)

    rows: list[dict[str, Any]] = []
    ivals: list[dict[str, Any]] = []
    reps: list[pd.DataFrame] = []
    ceac_parts: list[pd.DataFrame] = []
    statements: dict[Any, str] = {}
    r_i = len(order) - 1
    if not adjust_cols:
        boot = _group_means(vals, n_boot, seed)
        point = np.array([v.mean(axis=0) for v in vals])
    for gi, g in enumerate(others):
        if adjust_cols:
            est, tb, notes_adj, n_pair = _adjusted(
                data[keep], c_all[keep], effect[keep], groups_col[keep], g, reference,
                adjust_cols, n_boot, seed + gi,
            )  # fmt: skip
            remarks.extend(notes_adj)
            mc1, mc0, e1, e0 = est
            t_mc1, t_mc0, t_e1, t_e0 = tb.T
            infl: dict[str, np.ndarray | None] = dict.fromkeys(_STATISTICS)
            var_c = float(np.var(t_mc1 - t_mc0, ddof=1))
            var_e = float(np.var(t_e1 - t_e0, ddof=1))
            cov_ce = float(np.cov(t_mc1 - t_mc0, t_e1 - t_e0)[0, 1])
            n1, n0, ev1, ev0 = n_pair
        else:
            mc1, e1 = point[gi]
            mc0, e0 = point[r_i]
            t_mc1, t_e1 = boot[:, gi, 0], boot[:, gi, 1]
            t_mc0, t_e0 = boot[:, r_i, 0], boot[:, r_i, 1]
            v1, v0 = vals[gi], vals[r_i]
            n1, n0 = v1.shape[0], v0.shape[0]
            ev1, ev0 = int(round(float(v1[:, 1].sum()))), int(round(float(v0[:, 1].sum())))
            infl = _influence(v1, v0, float(wtp) if wtp is not None else None)
            cov1, cov0 = np.cov(v1.T, ddof=1), np.cov(v0.T, ddof=1)
            var_c = float(cov1[0, 0] / n1 + cov0[0, 0] / n0)
            var_e = float(cov1[1, 1] / n1 + cov0[1, 1] / n0)
            cov_ce = float(cov1[0, 1] / n1 + cov0[0, 1] / n0)
        with np.errstate(divide="ignore", invalid="ignore"):
            est_map = {
                "mean_cost": (mc1, t_mc1),
                "mean_cost_ref": (mc0, t_mc0),
                "rate": (e1, t_e1),
                "rate_ref": (e0, t_e0),
                "cost_per_event": (mc1 / e1 if e1 > 0 else math.nan, t_mc1 / t_e1),
                "cost_per_event_ref": (mc0 / e0 if e0 > 0 else math.nan, t_mc0 / t_e0),
                "diff_cost": (mc1 - mc0, t_mc1 - t_mc0),
                "diff": (e1 - e0, t_e1 - t_e0),
            }
        if wtp is not None:
            lam = float(wtp)
            est_map["inmb"] = (lam * (e1 - e0) - (mc1 - mc0), lam * (t_e1 - t_e0) - (t_mc1 - t_mc0))
        cis: dict[str, dict[str, tuple[float, float]]] = {}
        for name, (t0, tt) in est_map.items():
            tt = np.where(np.isfinite(tt), tt, np.nan)
            res = bootstrap_intervals(float(t0), tt, infl.get(name), confidence_level)
            label_bca = "bc" if adjust_cols else "bca"
            cis[name] = {"percentile": res["percentile"], "bca": res["bca"]}
            for kind, (lo, hi) in (("percentile", res["percentile"]), (label_bca, res["bca"])):
                ivals.append(
                    {"group": g, "statistic": name, "estimate": float(t0), "interval": kind,
                     "ci_low": lo, "ci_high": hi}
                )  # fmt: skip
        d_c, d_e = mc1 - mc0, e1 - e0
        f_lo, f_hi, f_status = fieller_interval(d_c, d_e, var_c, var_e, cov_ce, confidence_level)
        quad = quadrant(d_c, d_e)
        e_lo, e_hi = cis["diff"][interval]
        spans = not (math.isfinite(e_lo) and math.isfinite(e_hi)) or (e_lo <= 0 <= e_hi)
        report_icer = quad in ("NE", "SW") and not spans
        icer = d_c / d_e if report_icer else math.nan
        ivals.append(
            {"group": g, "statistic": "icer", "estimate": d_c / d_e if d_e != 0 else math.nan,
             "interval": "fieller", "ci_low": f_lo, "ci_high": f_hi}
        )  # fmt: skip
        dummy = _Words(g, reference, curr, outcome, higher_is_better, confidence_level)
        statements[g] = dummy.statement(quad, spans, icer, f_lo, f_hi, f_status, e_lo, e_hi)
        grid = (
            np.asarray(wtp_grid, float)
            if wtp_grid is not None
            else _default_grid(float(np.nanmax([est_map["cost_per_event"][0],
                                                est_map["cost_per_event_ref"][0]])))
        )  # fmt: skip
        if wtp is not None:
            grid = np.unique(np.r_[grid, float(wtp)])
        tc, te = t_mc1 - t_mc0, t_e1 - t_e0
        ok = np.isfinite(tc) & np.isfinite(te)
        prob = ((grid[None, :] * te[ok, None] - tc[ok, None]) > 0).mean(axis=0)
        ceac_parts.append(
            pd.DataFrame({"group": g, "wtp": grid, "inmb": grid * d_e - d_c,
                          "prob_cost_effective": prob})
        )  # fmt: skip
        reps.append(
            pd.DataFrame({"group": g, "replicate": np.arange(n_boot), "diff_cost": tc,
                          "diff": te})
        )  # fmt: skip
        inmb = est_map.get("inmb", (math.nan, None))[0]
        inmb_ci = cis["inmb"][interval] if "inmb" in cis else (math.nan, math.nan)
        prob_w = float(prob[np.flatnonzero(grid == float(wtp))[0]]) if wtp is not None else math.nan
        rows.append(
            {
                "outcome": outcome,
                "group": g,
                "reference": reference,
                "n": int(n1),
                "n_ref": int(n0),
                "n_events": ev1,
                "n_events_ref": ev0,
                "n_missing": n_missing[g],
                "n_missing_ref": n_missing[reference],
                "mean_cost": float(mc1),
                "mean_cost_ref": float(mc0),
                "rate": float(e1),
                "rate_ref": float(e0),
                "cost_per_event": float(est_map["cost_per_event"][0]),
                "cost_per_event_ref": float(est_map["cost_per_event_ref"][0]),
                "diff_cost": float(d_c),
                "diff_cost_ci_low": cis["diff_cost"][interval][0],
                "diff_cost_ci_high": cis["diff_cost"][interval][1],
                "diff": float(d_e),
                "diff_ci_low": e_lo,
                "diff_ci_high": e_hi,
                "quadrant": quad,
                "icer": icer,
                "icer_ci_low": f_lo if report_icer else math.nan,
                "icer_ci_high": f_hi if report_icer else math.nan,
                "wtp": float(wtp) if wtp is not None else math.nan,
                "inmb": float(inmb),
                "inmb_ci_low": inmb_ci[0],
                "inmb_ci_high": inmb_ci[1],
                "prob_cost_effective": prob_w,
                "method": (
                    f"stratified bootstrap ({n_boot} replicates), "
                    + (
                        "bias-corrected percentile"
                        if adjust_cols and interval == "bca"
                        else interval
                    )
                    + "; Fieller for the ICER"
                ),  # fmt: skip
                "missing": missing,
                "analysis": "adjusted (g-computation)" if adjust_cols else "unadjusted",
            }
        )
    return CostEffectiveness(
        table=pd.DataFrame(rows, columns=list(CE_COLUMNS)),
        intervals=pd.DataFrame(ivals),
        ceac=pd.concat(ceac_parts, ignore_index=True),
        replicates=pd.concat(reps, ignore_index=True),
        icer_statement=statements,
        outcome=outcome,
        by=by,
        reference=reference,
        cost=cost_col,
        missing_rule=missing,
        adjust=adjust_cols,
        n_boot=n_boot,
        seed=seed,
        wtp=float(wtp) if wtp is not None else None,
        confidence_level=float(confidence_level),
        interval=interval,
        higher_is_better=higher_is_better,
        perspective=perspective,
        cost_includes=cost_includes,
        price_year=int(price) if price is not None else None,
        currency=curr,
        unit_costs=unit_costs,
        remarks=tuple(dict.fromkeys(remarks)),
    )


def _influence(v1: np.ndarray, v0: np.ndarray, lam: float | None) -> dict[str, np.ndarray | None]:
    """Empirical influence values of each statistic over the group's then the reference's
    episodes (stratified: each group mean's influence is ``(x - mean) / n_g``)."""
    n1, n0 = v1.shape[0], v0.shape[0]
    m1, m0 = v1.mean(axis=0), v0.mean(axis=0)
    d1, d0 = (v1 - m1) / n1, (v0 - m0) / n0
    z1, z0 = np.zeros(n1), np.zeros(n0)
    out: dict[str, np.ndarray | None] = {
        "mean_cost": np.r_[d1[:, 0], z0],
        "mean_cost_ref": np.r_[z1, d0[:, 0]],
        "rate": np.r_[d1[:, 1], z0],
        "rate_ref": np.r_[z1, d0[:, 1]],
        "diff_cost": np.r_[d1[:, 0], -d0[:, 0]],
        "diff": np.r_[d1[:, 1], -d0[:, 1]],
        "cost_per_event": None,
        "cost_per_event_ref": None,
        "inmb": None,
    }
    if m1[1] > 0:
        out["cost_per_event"] = np.r_[d1[:, 0] / m1[1] - m1[0] * d1[:, 1] / m1[1] ** 2, z0]
    if m0[1] > 0:
        out["cost_per_event_ref"] = np.r_[z1, d0[:, 0] / m0[1] - m0[0] * d0[:, 1] / m0[1] ** 2]
    if lam is not None:
        out["inmb"] = np.r_[lam * d1[:, 1] - d1[:, 0], -(lam * d0[:, 1] - d0[:, 0])]
    return out


def _adjusted(
    data: pd.DataFrame,
    c: np.ndarray,
    e: np.ndarray,
    groups: np.ndarray,
    group: Any,
    reference: Any,
    covariates: tuple[str, ...],
    n_boot: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, list[str], tuple[int, int, int, int]]:
    """g-computation point estimates and stratified bootstrap replicates for one pair; the
    pair's (n, n_ref, n_events, n_events_ref) after complete-case covariates."""
    from .adjust import design_matrix

    pair = (groups == group) | (groups == reference)
    rows = data[pair]
    xcov = design_matrix(rows, covariates)
    complete = xcov.notna().all(axis=1).to_numpy()
    notes = []
    if not complete.all():
        notes.append(
            f"{group!s} vs {reference!s}: {int((~complete).sum())} episode(s) with a missing "
            "covariate were left out of the adjusted analysis (complete cases)."
        )
    xcov = xcov[complete]
    xcov = xcov.loc[:, (xcov.nunique() > 1).to_numpy()]
    t = (groups[pair][complete] == group).astype(float)
    x = np.column_stack([np.ones(t.size), t, xcov.to_numpy(float)])
    cc, ee = c[pair][complete], e[pair][complete]
    w_all = np.ones(t.size)
    start = np.zeros(x.shape[1])
    est, beta = _gcomp_stats(x, cc, ee, w_all, start)
    rng = np.random.default_rng(seed)
    pos = [np.flatnonzero(t == 1.0), np.flatnonzero(t == 0.0)]
    tb = np.empty((n_boot, 4))
    for b in range(n_boot):  # one refit of both models per replicate
        w = np.zeros(t.size)
        for p in pos:
            w += np.bincount(p[rng.integers(0, p.size, p.size)], minlength=t.size)
        tb[b], _ = _gcomp_stats(x, cc, ee, w, beta)
    counts = (int(pos[0].size), int(pos[1].size), int(ee[pos[0]].sum()), int(ee[pos[1]].sum()))
    return est, tb, notes, counts


@dataclass(frozen=True)
class _Words:
    group: Any
    reference: Any
    currency: str
    outcome: str
    higher_is_better: bool
    confidence_level: float

    def _money(self, v: float) -> str:
        symbol = "$" if self.currency == "USD" else f"{self.currency} "
        return f"{'-' if v < 0 else ''}{symbol}{abs(v):,.0f}"

    def statement(
        self,
        quad: str,
        spans: bool,
        icer: float,
        lo: float,
        hi: float,
        status: str,
        e_lo: float,
        e_hi: float,
    ) -> str:
        g, r = f"{self.group!s}", f"{self.reference!s}"
        pct = f"{100 * self.confidence_level:g}%"
        unit = (
            "additional abstinent client"
            if self.higher_is_better and self.outcome.startswith("abstinent")
            else f"additional client {'with' if self.higher_is_better else 'without'} "
            f"{self.outcome}"
        )
        caveat = (
            f" The difference in effect is not distinguishable from zero ({pct} CI "
            f"{100 * e_lo:.1f} to {100 * e_hi:.1f} points), so the comparison rests on costs."
            if spans
            else ""
        )
        if quad == "SE":
            return (
                f"{g} cost less and had the outcome more often than {r} (SE quadrant): {g} "
                f"dominates, so no ICER is reported.{caveat}"
            )
        if quad == "NW":
            return (
                f"{g} cost more and had the outcome less often than {r} (NW quadrant): {g} is "
                f"dominated, so no ICER is reported.{caveat}"
            )
        if quad == "axis":
            return (
                f"{g} and {r} do not differ in cost or in effect (on an axis of the "
                "cost-effectiveness plane): no ICER is defined."
            )
        where = (
            "NE quadrant: more costly and more effective"
            if quad == "NE"
            else "SW quadrant: less costly and less effective"
        )
        if spans:
            return (
                f"{g} against {r} lies in the {where}; no ICER is reported because the "
                f"difference in effect is not distinguishable from zero ({pct} CI "
                f"{100 * e_lo:.1f} to {100 * e_hi:.1f} points): the comparison rests on costs."
            )
        interval = (
            f"Fieller {pct} CI {self._money(lo)} to {self._money(hi)}"
            if status == "bounded"
            else "Fieller interval unbounded"
        )
        if quad == "NE":
            return (
                f"{g} against {r} lies in the {where}: the ICER is {self._money(icer)} per "
                f"{unit} ({interval})."
            )
        return (
            f"{g} against {r} lies in the {where}: {g} saves {self._money(icer)} per "
            f"{unit.replace('additional', 'fewer')} ({interval})."
        )
