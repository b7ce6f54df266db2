"""Statistical process control for rates: p-charts (Laney p′), Anhøj run rules, funnel plots.

Pure computation (numpy, pandas, scipy); drawing lives in :mod:`iopoutcomes.plots`.

* :func:`p_chart` -- a p-chart of a rate per period (month or quarter) with a centre line and
  3-sigma limits, Laney's p′ correction for over-dispersion, phases split at definition or
  instrument changes, "trial limits" when fewer than 12 points, and the Anhøj run rules.
* :func:`anhoej_rules` -- the two Anhøj run-chart rules (unusually long run, too few crossings).
* :func:`funnel_limits` and :func:`funnel_table` -- exact binomial funnel-plot limits
  (Spiegelhalter 2005) to compare sites without ranking them.

References
----------
.. [1] Laney DB (2002). Improved control charts for attributes. *Quality Engineering*
   14(4):531-537.
.. [2] Anhøj J, Olesen AV (2014). Run charts revisited: a simulation study of run chart rules
   for detection of non-random variation in health care processes. *PLoS One* 9(11):e113825.
.. [3] Spiegelhalter DJ (2005). Funnel plots for comparing institutional performance.
   *Statistics in Medicine* 24:1185-1202.
.. [4] Montgomery DC. *Introduction to Statistical Quality Control*, chapter on the control
   chart for fraction nonconforming.

Examples
--------
>>> import pandas as pd
>>> from iopoutcomes.spc import p_chart
>>> counts = pd.DataFrame({"period": range(1, 7), "n": [50] * 6,
...                        "n_events": [12, 15, 8, 10, 4, 7]})
>>> chart = p_chart(counts, laney=False)
>>> float(round(chart.to_frame()["centre"].iloc[0], 4)), chart.trial_limits
(0.1867, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ._render import ResultDisplay
from .exceptions import InsufficientDataError, MissingColumnError, ParameterError
from .schema import ANHOEJ_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "D2_MOVING_RANGE",
    "TRIAL_LIMIT_POINTS",
    "AnhoejResult",
    "FunnelResult",
    "PChart",
    "anhoej_rules",
    "funnel_limits",
    "funnel_table",
    "p_chart",
]

D2_MOVING_RANGE = 1.128
"""Bias constant d2 for moving ranges of two consecutive points (Laney's sigma_z = MR̄/d2)."""

TRIAL_LIMIT_POINTS = 12
"""Limits resting on fewer points than this are labelled *trial limits* (NHS-R practice)."""

_SIGMA_MULTIPLIER = 3.0
_AUTO_ALPHA = 0.05
_AUTO_MIN_POINTS = 3


# --- Anhøj run rules ---------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class AnhoejResult(ResultDisplay):
    """Anhøj run-chart rules for one series (one phase of a chart).

    Attributes
    ----------
    n_useful : int
        Points not on the centre line (points on it neither break nor extend a run).
    longest_run : int
        Longest run of consecutive useful points on the same side of the centre line.
    longest_run_max : int
        Largest run length expected by chance: ``round(log2(n_useful) + 3)``.
    n_crossings : int
        Number of times consecutive useful points are on opposite sides of the centre line.
    n_crossings_min : int
        Fewest crossings expected by chance: ``qbinom(0.05, n_useful - 1, 0.5)``.
    shift_signal : bool
        ``longest_run > longest_run_max`` (a sustained shift).
    crossings_signal : bool
        ``n_crossings < n_crossings_min`` (too little mixing: a shift or a trend).

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> r = iop.anhoej_rules([0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.4, 0.5], centre=0.55)
    >>> r.longest_run, r.longest_run_max, r.n_crossings, r.n_crossings_min
    (4, 6, 2, 1)
    >>> r.signal  # neither a sustained shift nor too few crossings
    False
    """

    n_useful: int
    longest_run: int
    longest_run_max: int
    n_crossings: int
    n_crossings_min: int
    shift_signal: bool
    crossings_signal: bool

    @property
    def signal(self) -> bool:
        """True when either rule signals non-random variation."""
        return self.shift_signal or self.crossings_signal

    def _header(self) -> str:
        return f"<AnhoejResult: {self.n_useful} useful points, signal {self.signal}>"

    def to_frame(self) -> pd.DataFrame:
        """One row: :data:`~iopoutcomes.schema.ANHOEJ_COLUMNS`."""
        return pd.DataFrame([[getattr(self, c) for c in ANHOEJ_COLUMNS]], columns=ANHOEJ_COLUMNS)


def _anhoej(values: Any, centre: Any) -> tuple[AnhoejResult, np.ndarray]:
    """Anhøj rules plus a mask of the points that belong to a run longer than the limit."""
    v = np.asarray(values, dtype=float)
    c = np.broadcast_to(np.asarray(centre, dtype=float), v.shape)
    useful = np.isfinite(v) & np.isfinite(c) & (v != c)
    idx = np.flatnonzero(useful)
    signs = np.sign(v[idx] - c[idx])
    n_useful = int(idx.size)
    mask = np.zeros(v.shape, dtype=bool)
    if n_useful == 0:
        return AnhoejResult(0, 0, 0, 0, 0, False, False), mask
    starts = np.concatenate(([0], np.flatnonzero(np.diff(signs) != 0) + 1))
    lengths = np.diff(np.concatenate((starts, [n_useful])))
    longest = int(lengths.max())
    crossings = int(lengths.size - 1)
    # R's round() and numpy's round both round half to even; log2(n) + 3 is never a half.
    run_max = int(np.round(np.log2(n_useful) + 3))
    cross_min = int(stats.binom.ppf(0.05, n_useful - 1, 0.5))
    shift = longest > run_max
    if shift:
        long_runs = np.repeat(lengths > run_max, lengths)
        mask[idx[long_runs]] = True
    result = AnhoejResult(
        n_useful=n_useful,
        longest_run=longest,
        longest_run_max=run_max,
        n_crossings=crossings,
        n_crossings_min=cross_min,
        shift_signal=bool(shift),
        crossings_signal=bool(crossings < cross_min),
    )
    return result, mask


def anhoej_rules(values: Sequence[float] | np.ndarray | pd.Series, centre: Any) -> AnhoejResult:
    """Apply the two Anhøj run rules to a series against its centre line.

    Parameters
    ----------
    values : array-like of float
        The series in time order. Missing values (NaN) are skipped.
    centre : float or array-like of float
        The centre line (a scalar, or one value per point). Points exactly on it are not
        "useful" and are skipped, as in Anhøj & Olesen (2014) and qicharts2.

    Returns
    -------
    AnhoejResult
        Longest run and its limit ``round(log2(n) + 3)``, number of crossings and its limit
        ``qbinom(0.05, n - 1, 0.5)`` (``n`` = useful points), and the two signals.

    Notes
    -----
    The rules detect non-random variation (shifts, trends) with about 5% false signals for
    random series of 10-30 points, regardless of the series length (Anhøj & Olesen 2014, whose
    Table 1 lists the same limits).

    Examples
    --------
    >>> r = anhoej_rules([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], centre=6.5)
    >>> r.longest_run, r.longest_run_max, r.n_crossings, r.n_crossings_min
    (6, 7, 1, 3)
    >>> r.shift_signal, r.crossings_signal
    (False, True)
    """
    return _anhoej(values, centre)[0]


# --- p-chart -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class PChart(ResultDisplay):
    """A p-chart (or Laney p′-chart) of a rate per period; see :func:`p_chart`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per period: ``period``, ``phase``, ``n``, ``n_events``, ``rate``, ``centre``,
        ``sigma`` (binomial sigma of the point), ``z``, ``sigma_z`` (Laney), ``lcl``, ``ucl``,
        ``laney``, ``trial_limits``, ``in_baseline``, ``outside_limits``, ``run_signal``
        (point in a run longer than the Anhøj limit), ``signal`` (either).
    runs : pandas.DataFrame
        One row per phase: ``phase``, ``start``, ``end``, ``n_points``, ``n_limit_points``,
        then the :class:`AnhoejResult` fields.
    laney_used : bool
        True when at least one phase uses Laney p′ limits.
    trial_limits : bool
        True when at least one phase's limits rest on fewer than 12 points.
    breaks : tuple
        The break values as given (each starts a new phase).
    laney : str or bool
        The ``laney`` argument as given.
    definition : object or None
        The outcome definition the rates come from (used for labels), if given.
    remarks : tuple of str
        Caveats shown under the table.

    Examples
    --------
    >>> import pandas as pd
    >>> import iopoutcomes as iop
    >>> counts = pd.DataFrame({"period": range(1, 7), "n": [50] * 6,
    ...                        "n_events": [12, 15, 8, 10, 4, 7]})
    >>> chart = iop.p_chart(counts, laney=False)
    >>> print(repr(chart).splitlines()[0])
    <PChart: p-chart, 6 periods, 1 phase, trial limits, 0 outside the limits>
    >>> chart.to_frame().columns.tolist()[:6]
    ['period', 'phase', 'n', 'n_events', 'rate', 'centre']
    >>> chart.runs[["phase", "n_points", "shift_signal", "crossings_signal"]]
       phase  n_points  shift_signal  crossings_signal
    0      0         6         False             False
    """

    table: pd.DataFrame
    runs: pd.DataFrame
    laney_used: bool
    trial_limits: bool
    breaks: tuple[Any, ...] = ()
    laney: str | bool = "auto"
    baseline: int | None = None
    definition: Any = None
    label: str | None = None
    remarks: tuple[str, ...] = field(default=())

    def _header(self) -> str:
        kind = "Laney p′-chart" if self.laney_used else "p-chart"
        n_phases = int(self.runs.shape[0])
        trial = ", trial limits" if self.trial_limits else ""
        return (
            f"<PChart: {kind}, {self.table.shape[0]} periods, {n_phases} "
            f"phase{'s' if n_phases != 1 else ''}{trial}, {self.n_outside} outside the limits>"
        )

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of the per-period table."""
        return self.table.copy()

    def definition_text(self) -> str | None:
        """Describe the chart's limits and rules."""
        text = (
            "Centre line: pooled rate of the phase; limits: centre ± 3 sigma, truncated to [0, 1]"
            + ("; Laney p′ sigma_z = mean moving range of z / 1.128" if self.laney_used else "")
            + ". Special causes: points outside the limits and the Anhøj run rules "
            "(longest run > round(log2(n) + 3); crossings < qbinom(0.05, n - 1, 0.5))."
        )
        describe = getattr(self.definition, "describe", None)
        if callable(describe):
            text = f"{describe()} {text}"
        return text

    @property
    def n_outside(self) -> int:
        """Number of points outside the control limits."""
        return int(self.table["outside_limits"].sum())

    @property
    def shift_signal(self) -> bool:
        """True when a phase has a run longer than the Anhøj limit."""
        return bool(self.runs["shift_signal"].any())

    @property
    def crossings_signal(self) -> bool:
        """True when a phase has fewer crossings than the Anhøj limit."""
        return bool(self.runs["crossings_signal"].any())

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Draw the chart with :func:`iopoutcomes.plots.plot_spc`."""
        from .plots import plot_spc

        return plot_spc(self, ax=ax, **kwargs)


def _check_counts(counts: pd.DataFrame, needed: Sequence[str], where: str) -> None:
    if not isinstance(counts, pd.DataFrame):
        raise ParameterError(
            f"{where} needs a pandas DataFrame with columns {list(needed)}; "
            f"got {type(counts).__name__}."
        )
    missing = [c for c in needed if c not in counts.columns]
    if missing:
        raise MissingColumnError(
            f"{where}: columns {missing} are missing. Found: {list(counts.columns)}. "
            "Rename the columns or aggregate the data to counts first."
        )
    n = pd.to_numeric(counts["n"], errors="coerce")
    x = pd.to_numeric(counts["n_events"], errors="coerce")
    bad_n = n.isna() | (n < 0) | (n != np.floor(n))
    if bool(bad_n.any()):
        raise ParameterError(
            f"{where}: column 'n' must hold non-negative whole numbers; "
            f"{int(bad_n.sum())} of {len(n)} rows do not."
        )
    bad_x = x.notna() & ((x < 0) | (x > n) | (x != np.floor(x)))
    if bool(bad_x.any()):
        raise ParameterError(
            f"{where}: column 'n_events' must hold whole numbers between 0 and n; "
            f"{int(bad_x.sum())} of {len(x)} rows do not."
        )


def _phase_index(periods: pd.Series, breaks: Sequence[Any]) -> np.ndarray:
    """Phase number (0, 1, ...) of each period: a break starts a phase at the first period
    that contains it (a pandas Period) or is on or after it (any other orderable value)."""
    phase = np.zeros(len(periods), dtype=int)
    if isinstance(periods.dtype, pd.PeriodDtype):
        ends = pd.PeriodIndex(periods).end_time
        for b in breaks:
            phase += np.asarray(ends >= pd.Timestamp(b), dtype=int)
        return phase
    for b in breaks:
        if pd.api.types.is_datetime64_any_dtype(periods.dtype):
            b = pd.Timestamp(b)
        try:
            phase += np.asarray(periods >= b, dtype=int)
        except TypeError as exc:
            raise ParameterError(
                f"p_chart: a break of type {type(b).__name__} cannot be compared with periods "
                f"of dtype {periods.dtype}. Give breaks of the same type as the periods."
            ) from exc
    return phase


def _phase_limits(
    rate: np.ndarray,
    n: np.ndarray,
    x: np.ndarray,
    limit_mask: np.ndarray,
    laney: str | bool,
) -> dict[str, Any]:
    """Centre, sigma, z, sigma_z and limits for one phase (vectorised over its points)."""
    ok = limit_mask & (n > 0) & np.isfinite(x)
    total_n = n[ok].sum()
    centre = x[ok].sum() / total_n if total_n > 0 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = np.sqrt(centre * (1 - centre) / n)
        z = (rate - centre) / sigma
    z_base = z[ok & np.isfinite(z)]
    k = int(z_base.size)
    sigma_z = float(np.mean(np.abs(np.diff(z_base))) / D2_MOVING_RANGE) if k >= 2 else np.nan
    if laney == "auto":
        chi2 = float(np.sum(z_base**2))
        dispersed = k >= _AUTO_MIN_POINTS and bool(stats.chi2.sf(chi2, k - 1) < _AUTO_ALPHA)
        use = dispersed and np.isfinite(sigma_z) and sigma_z > 1
    else:
        use = bool(laney) and np.isfinite(sigma_z)
    scale = sigma * (sigma_z if use else 1.0)
    lcl = np.clip(centre - _SIGMA_MULTIPLIER * scale, 0.0, 1.0)
    ucl = np.clip(centre + _SIGMA_MULTIPLIER * scale, 0.0, 1.0)
    lcl[n == 0] = np.nan
    ucl[n == 0] = np.nan
    return {
        "centre": centre,
        "sigma": sigma,
        "z": z,
        "sigma_z": sigma_z,
        "lcl": lcl,
        "ucl": ucl,
        "laney": bool(use),
        "n_limit_points": int(ok.sum()),
    }


def p_chart(
    counts: pd.DataFrame,
    *,
    laney: Literal["auto"] | bool = "auto",
    baseline: int | None = None,
    breaks: Sequence[Any] | None = None,
    definition: Any = None,
    label: str | None = None,
) -> PChart:
    """Build a p-chart (Laney p′ when over-dispersed) of a rate per period.

    Parameters
    ----------
    counts : pandas.DataFrame
        One row per period with columns ``period`` (orderable: pandas Period, date, number or
        sortable text), ``n`` (denominator) and ``n_events`` (numerator). Rows are sorted by
        period. A period with ``n == 0`` or a missing (suppressed) ``n_events`` is kept with a
        missing rate and left out of the centre line, the limits and the run rules.
    laney : {"auto", True, False}, default "auto"
        ``True``: Laney p′ limits; ``False``: ordinary binomial p-chart limits; ``"auto"``: use
        Laney p′ in a phase when it has at least 3 points, the Pearson dispersion statistic
        ``sum(z_i**2)`` exceeds the upper 5% point of chi-square on ``k - 1`` degrees of freedom
        (over-dispersion) **and** ``sigma_z > 1`` (so "auto" only ever widens the limits).
    baseline : int, optional
        Compute the centre and limits of each phase from its first ``baseline`` points only and
        extend them to the later points (frozen limits). Default: all points of the phase.
    breaks : sequence, optional
        Values where a definition or instrument changed (e.g. ``"2023-01-21"``, the new CSAT
        GPRA tool). Each starts a new phase with its own centre, limits and run analysis. For
        pandas Period periods, the period containing the break starts the new phase; otherwise
        the first period on or after it.
    definition : object, optional
        The outcome definition behind the rates (its ``describe()`` is shown and used for the
        axis label when plotting).
    label : str, optional
        A short description of the rate for the axis (else taken from ``definition``).

    Returns
    -------
    PChart
        Per-period table (rate, centre, limits, z, sigma_z, flags), Anhøj runs per phase,
        ``laney_used``, ``trial_limits``.

    Raises
    ------
    MissingColumnError
        When ``period``, ``n`` or ``n_events`` is missing.
    ParameterError
        For negative or fractional counts, events above ``n``, duplicated periods, or a bad
        ``laney``/``baseline`` argument.
    InsufficientDataError
        When no period has a positive denominator.

    Notes
    -----
    For each phase with pooled rate :math:`\\bar p = \\sum x_i / \\sum n_i`,
    :math:`\\sigma_i = \\sqrt{\\bar p (1 - \\bar p) / n_i}` and the limits are
    :math:`\\bar p \\pm 3 \\sigma_i` truncated to [0, 1]. Laney's p′ (2002) standardises each
    point, :math:`z_i = (p_i - \\bar p)/\\sigma_i`, estimates the between-period variation
    :math:`\\sigma_z = \\overline{MR}/1.128` from the moving ranges
    :math:`|z_i - z_{i-1}|` and uses :math:`\\bar p \\pm 3 \\sigma_i \\sigma_z`. Special causes
    are points outside the limits and the Anhøj run rules (:func:`anhoej_rules`), applied per
    phase against the phase's centre line. Limits that rest on fewer than 12 points are
    flagged as trial limits.

    Examples
    --------
    >>> import pandas as pd
    >>> counts = pd.DataFrame({
    ...     "period": pd.period_range("2022-07", periods=12, freq="M"),
    ...     "n": [40, 42, 38, 45, 50, 41, 39, 44, 47, 43, 40, 46],
    ...     "n_events": [22, 25, 20, 24, 30, 23, 26, 28, 30, 27, 25, 29]})
    >>> chart = p_chart(counts, breaks=["2023-01-21"])
    >>> chart.to_frame()["phase"].tolist()
    [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    >>> chart.trial_limits, chart.laney_used
    (True, False)
    """
    if laney not in ("auto", True, False):
        raise ParameterError(f"p_chart: laney must be 'auto', True or False; got {laney!r}.")
    if baseline is not None and (
        isinstance(baseline, bool) or not isinstance(baseline, int | np.integer) or baseline < 2
    ):
        raise ParameterError(
            f"p_chart: baseline must be a whole number of periods >= 2; got {type(baseline).__name__}."
        )
    _check_counts(counts, ("period", "n", "n_events"), "p_chart")
    data = counts[["period", "n", "n_events"]].sort_values("period", kind="stable")
    data = data.reset_index(drop=True)
    if bool(data["period"].duplicated().any()):
        raise ParameterError(
            f"p_chart: {int(data['period'].duplicated().sum())} periods occur more than once; "
            "give one row per period (sum the counts first)."
        )
    n = data["n"].to_numpy(dtype=float)
    x = data["n_events"].to_numpy(dtype=float)
    has_data = (n > 0) & np.isfinite(x)
    if not bool(has_data.any()):
        raise InsufficientDataError(
            f"p_chart: none of the {len(n)} periods has a count (n > 0 and n_events given)."
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(has_data, x / n, np.nan)
    breaks_t = tuple(breaks or ())
    phase = _phase_index(data["period"], breaks_t)

    cols: dict[str, np.ndarray] = {
        name: np.full(len(n), np.nan) for name in ("centre", "sigma", "z", "sigma_z", "lcl", "ucl")
    }
    flags = {
        name: np.zeros(len(n), dtype=bool)
        for name in ("laney", "trial_limits", "in_baseline", "run_signal")
    }
    run_rows = []
    remarks: list[str] = []
    for ph in np.unique(phase):
        sel = np.flatnonzero(phase == ph)
        position = np.cumsum(has_data[sel])  # 1-based position among periods with data
        limit_mask = has_data[sel] & (position <= (baseline if baseline else len(sel)))
        res = _phase_limits(rate[sel], n[sel], x[sel], limit_mask, laney)
        for name in cols:
            cols[name][sel] = res[name]
        flags["laney"][sel] = res["laney"]
        trial = res["n_limit_points"] < TRIAL_LIMIT_POINTS
        flags["trial_limits"][sel] = trial
        flags["in_baseline"][sel] = limit_mask
        runs, mask = _anhoej(rate[sel], res["centre"])
        flags["run_signal"][sel] = mask
        run_rows.append(
            {
                "phase": int(ph),
                "start": data["period"].iloc[sel[0]],
                "end": data["period"].iloc[sel[-1]],
                "n_points": int(sel.size),
                "n_limit_points": res["n_limit_points"],
                "laney": res["laney"],
                "sigma_z": res["sigma_z"],
                **runs.__dict__,
            }
        )
        if laney is True and not res["laney"]:
            remarks.append(
                f"Phase {int(ph)}: Laney p′ needs at least two points with a rate strictly "
                "between 0 and 1; ordinary p-chart limits were used."
            )
        if res["centre"] in (0.0, 1.0):
            remarks.append(
                f"Phase {int(ph)}: the pooled rate is {res['centre']:.0%}, so the limits are "
                "degenerate; no point can be outside them."
            )
    outside = (rate < cols["lcl"]) | (rate > cols["ucl"])
    table = pd.DataFrame(
        {
            "period": data["period"],
            "phase": phase,
            "n": data["n"].to_numpy(),
            "n_events": data["n_events"].to_numpy(),
            "rate": rate,
            **cols,
            **{k: v for k, v in flags.items() if k != "run_signal"},
            "outside_limits": outside,
            "run_signal": flags["run_signal"],
            "signal": outside | flags["run_signal"],
        }
    )
    runs_frame = pd.DataFrame(run_rows)
    laney_used = bool(flags["laney"].any())
    trial_any = bool(flags["trial_limits"].any())
    if trial_any:
        remarks.append(
            f"Limits resting on fewer than {TRIAL_LIMIT_POINTS} points are trial limits; "
            "recalculate them when more periods are available."
        )
    if laney_used:
        remarks.append(
            "Over-dispersion: limits use Laney's p′ correction (sigma_z in the table), which "
            "widens them when the periods vary more than sampling alone explains."
        )
    if bool(runs_frame["crossings_signal"].any() | runs_frame["shift_signal"].any()):
        remarks.append("The Anhøj run rules signal non-random variation (a shift or a trend).")
    return PChart(
        table=table,
        runs=runs_frame,
        laney_used=laney_used,
        trial_limits=trial_any,
        breaks=breaks_t,
        laney=laney,
        baseline=baseline,
        definition=definition,
        label=label,
        remarks=tuple(remarks),
    )


# --- funnel plots ------------------------------------------------------------------------------


def _level_suffix(level: float) -> str:
    """Column suffix of a confidence level: 0.95 -> '95', 0.998 -> '99_8'."""
    return f"{level * 100:g}".replace(".", "_")


def _check_levels(levels: Sequence[float]) -> tuple[float, ...]:
    lv = tuple(float(v) for v in levels)
    if not lv or any(not 0 < v < 1 for v in lv):
        raise ParameterError(
            f"funnel limits: levels must be probabilities strictly between 0 and 1; "
            f"got {len(lv)} values outside that range or none."
        )
    return tuple(sorted(lv))


def _exact_limit(n: np.ndarray, target: float, p: float) -> np.ndarray:
    """Spiegelhalter (2005, appendix) interpolated exact binomial quantile of a proportion."""
    r = stats.binom.ppf(p, n, target)
    f_r = stats.binom.cdf(r, n, target)
    f_below = stats.binom.cdf(r - 1, n, target)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(f_r > f_below, (f_r - p) / (f_r - f_below), 0.0)
        limit = (r - alpha) / n
    return np.clip(limit, 0.0, 1.0)


def funnel_limits(
    n: Sequence[float] | np.ndarray | pd.Series | float,
    target: float,
    levels: Sequence[float] = (0.95, 0.998),
) -> pd.DataFrame:
    """Exact binomial funnel-plot limits of a proportion around a target (Spiegelhalter 2005).

    Parameters
    ----------
    n : int or array-like of int
        Denominators (positive whole numbers).
    target : float
        The target rate :math:`\\theta` (pooled rate or an external benchmark), in [0, 1].
    levels : sequence of float, default (0.95, 0.998)
        Two-sided coverage of each pair of limits (about 2 and 3 standard errors).

    Returns
    -------
    pandas.DataFrame
        Long format, one row per (n, level): ``n``, ``level``, ``lower``, ``upper``.

    Notes
    -----
    For a lower or upper tail probability :math:`p` (``(1 - level)/2`` or ``(1 + level)/2``),
    :math:`r_p` is the smallest :math:`r` with :math:`F(r) \\ge p` under Binomial(n,
    :math:`\\theta`); the continuous limit interpolates between counts (Spiegelhalter 2005,
    appendix A.1.1): :math:`\\alpha = (F(r_p) - p)/(F(r_p) - F(r_p - 1))` and the limit is
    :math:`(r_p - \\alpha)/n`, truncated to [0, 1].

    Examples
    --------
    >>> lim = funnel_limits([10], target=0.5, levels=(0.95,))
    >>> float(round(lim["lower"].iloc[0], 6)), float(round(lim["upper"].iloc[0], 6))
    (0.132444, 0.767556)
    """
    if not 0 <= float(target) <= 1:
        raise ParameterError("funnel_limits: target must be a rate between 0 and 1.")
    lv = _check_levels(levels)
    nn = np.atleast_1d(np.asarray(n, dtype=float))
    if bool(np.any(~np.isfinite(nn) | (nn <= 0) | (nn != np.floor(nn)))):
        raise ParameterError(
            f"funnel_limits: n must hold positive whole numbers; {nn.size} values given, "
            f"{int(np.sum(~np.isfinite(nn) | (nn <= 0) | (nn != np.floor(nn))))} are not."
        )
    parts = [
        pd.DataFrame(
            {
                "n": nn.astype(int),
                "level": level,
                "lower": _exact_limit(nn, float(target), (1 - level) / 2),
                "upper": _exact_limit(nn, float(target), (1 + level) / 2),
            }
        )
        for level in lv
    ]
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True, eq=False, repr=False)
class FunnelResult(ResultDisplay):
    """Funnel-plot comparison of units (sites); see :func:`funnel_table`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per unit, in input order (never ranked): ``unit``, ``n``, ``n_events``,
        ``rate``, ``target``, ``z``, ``lower_<level>``/``upper_<level>`` per level (e.g.
        ``lower_95``, ``upper_99_8``), ``outside_<level>``, ``outside`` (outside the outer
        limits) and ``side`` (``"above"``, ``"below"`` or ``"within"``); plus ``suppressed``
        when the input had it.
    limits : pandas.DataFrame
        The funnel curves (``n``, ``level``, ``lower``, ``upper``) on a grid of denominators
        covering the units, for drawing.
    target : float
        The target rate.
    target_source : str
        ``"pooled"`` or ``"benchmark"``.
    levels : tuple of float
        Coverage of the limit pairs, inner first.
    phi : float
        Over-dispersion estimate: mean squared z-score after Winsorising 10% at each tail
        (Spiegelhalter 2005, section 6); NaN with fewer than 3 units.
    phi_pvalue : float
        P-value of ``units * phi`` against chi-square on ``units - 1`` degrees of freedom.

    Examples
    --------
    >>> import pandas as pd
    >>> import iopoutcomes as iop
    >>> sites = pd.DataFrame({"site": ["A", "B", "C", "D"], "n": [120, 80, 200, 60],
    ...                       "n_events": [70, 20, 118, 36]})
    >>> res = iop.funnel_table(sites)
    >>> print(repr(res).splitlines()[0])
    <FunnelResult: 4 units, pooled target 53.0%, 1 outside the 99.8% limits>
    >>> res.to_frame()[["site", "n", "n_events", "side"]]
      site    n  n_events    side
    0    A  120        70  within
    1    B   80        20   below
    2    C  200       118  within
    3    D   60        36  within
    >>> res.levels, res.limits.columns.tolist()
    ((0.95, 0.998), ['n', 'level', 'lower', 'upper'])
    """

    table: pd.DataFrame
    limits: pd.DataFrame
    target: float
    target_source: str
    levels: tuple[float, ...]
    phi: float
    phi_pvalue: float
    definition: Any = None
    label: str | None = None
    remarks: tuple[str, ...] = ()

    def _header(self) -> str:
        outer = self.levels[-1]
        return (
            f"<FunnelResult: {self.table.shape[0]} units, {self.target_source} target "
            f"{self.target:.1%}, {int(self.table['outside'].sum())} outside the "
            f"{outer:.1%} limits>"
        )

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of the per-unit table (input order; no ranks)."""
        return self.table.copy()

    def definition_text(self) -> str | None:
        """Describe the target and limits."""
        lv = " and ".join(f"{v:.1%}" for v in self.levels)
        return (
            f"Target: {self.target_source} rate {self.target:.1%}. Exact binomial limits at "
            f"{lv} (Spiegelhalter 2005, interpolated). Units outside the outer limits prompt a "
            "closer look; they are not a verdict, and units are not ranked."
        )

    @property
    def outer_level(self) -> float:
        """Coverage of the outer limits (the one used to flag units)."""
        return self.levels[-1]

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Draw the funnel plot with :func:`iopoutcomes.plots.plot_funnel`."""
        from .plots import plot_funnel

        return plot_funnel(self, ax=ax, **kwargs)


def _winsorised_phi(z: np.ndarray) -> tuple[float, float]:
    z = z[np.isfinite(z)]
    k = z.size
    if k < 3:
        return float("nan"), float("nan")
    lo, hi = np.quantile(z, [0.1, 0.9])
    zw = np.clip(z, lo, hi)
    phi = float(np.mean(zw**2))
    return phi, float(stats.chi2.sf(k * phi, k - 1))


def funnel_table(
    counts: pd.DataFrame,
    *,
    unit: str | None = None,
    target: float | None = None,
    levels: Sequence[float] = (0.95, 0.998),
    definition: Any = None,
    label: str | None = None,
) -> FunnelResult:
    """Compare units (sites) against a target with exact binomial funnel limits.

    Parameters
    ----------
    counts : pandas.DataFrame
        One row per unit with a unit label column, ``n`` and ``n_events``. Rows whose
        ``n_events`` is missing (suppressed) or whose ``suppressed`` column is True are kept
        but neither pooled nor flagged.
    unit : str, optional
        Name of the unit label column. Default: the first of ``unit``, ``site``, ``group``.
    target : float, optional
        External benchmark rate; default the pooled rate ``sum(n_events) / sum(n)``.
    levels : sequence of float, default (0.95, 0.998)
        Coverage of the limits (about 2 and 3 standard errors); the largest flags units.
    definition, label : optional
        Outcome definition and short label, used for axis labels.

    Returns
    -------
    FunnelResult
        Per-unit table (input order, no ranks), funnel curves, over-dispersion estimate.

    See Also
    --------
    funnel_limits : the limits themselves.

    Notes
    -----
    Units outside the outer limits are flagged (``outside``, ``side``) as a prompt to look
    closer. The over-dispersion estimate :math:`\\hat\\phi` is reported, and a remark added
    when it is significant, but the limits are not inflated.

    Examples
    --------
    >>> import pandas as pd
    >>> sites = pd.DataFrame({"site": ["A", "B", "C", "D"], "n": [120, 80, 200, 60],
    ...                       "n_events": [70, 20, 118, 36]})
    >>> res = funnel_table(sites)
    >>> round(res.target, 4), res.to_frame().loc[lambda d: d.outside, "site"].tolist()
    (0.5304, ['B'])
    """
    if unit is None:
        unit = next((c for c in ("unit", "site", "group") if c in counts.columns), None)
        if unit is None:
            raise MissingColumnError(
                "funnel_table: no unit label column (unit, site or group) found. Found: "
                f"{list(counts.columns)}. Name it with unit=."
            )
    _check_counts(counts, (unit, "n", "n_events"), "funnel_table")
    lv = _check_levels(levels)
    n = counts["n"].to_numpy(dtype=float)
    x = pd.to_numeric(counts["n_events"], errors="coerce").to_numpy(dtype=float)
    usable = (n > 0) & np.isfinite(x)
    if "suppressed" in counts.columns:
        usable &= ~counts["suppressed"].fillna(False).to_numpy(dtype=bool)
    if not bool(usable.any()):
        raise InsufficientDataError(
            f"funnel_table: none of the {len(n)} units has a usable count (n > 0, not suppressed)."
        )
    if target is None:
        theta = float(x[usable].sum() / n[usable].sum())
        source = "pooled"
    else:
        if not 0 <= float(target) <= 1:
            raise ParameterError("funnel_table: target must be a rate between 0 and 1.")
        theta = float(target)
        source = "benchmark"
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(usable, x / n, np.nan)
        z = (rate - theta) / np.sqrt(theta * (1 - theta) / n)
    table = counts[[unit]].copy().reset_index(drop=True)
    table["n"] = counts["n"].to_numpy()
    table["n_events"] = counts["n_events"].to_numpy()
    table["rate"] = rate
    table["target"] = theta
    table["z"] = z
    n_safe = np.where(usable, n, 1.0)
    outside_any = np.zeros(len(n), dtype=bool)
    side = np.full(len(n), "within", dtype=object)
    for level in lv:
        suffix = _level_suffix(level)
        lower = np.where(usable, _exact_limit(n_safe, theta, (1 - level) / 2), np.nan)
        upper = np.where(usable, _exact_limit(n_safe, theta, (1 + level) / 2), np.nan)
        table[f"lower_{suffix}"] = lower
        table[f"upper_{suffix}"] = upper
        table[f"outside_{suffix}"] = (rate < lower) | (rate > upper)
        if level == lv[-1]:
            outside_any = (rate < lower) | (rate > upper)
            side = np.where(rate > upper, "above", np.where(rate < lower, "below", "within"))
    table["outside"] = outside_any
    table["side"] = side
    if "suppressed" in counts.columns:
        table["suppressed"] = counts["suppressed"].fillna(False).to_numpy(dtype=bool)
    lo_n, hi_n = float(n[usable].min()), float(n[usable].max())
    grid = np.unique(np.round(np.geomspace(max(1.0, lo_n * 0.8), hi_n * 1.1, 300)))
    limits = funnel_limits(grid, theta, lv)
    phi, phi_p = _winsorised_phi(z[usable])
    remarks: list[str] = []
    if np.isfinite(phi_p) and phi_p < 0.05:
        remarks.append(
            f"The units vary more than chance alone explains (over-dispersion phi = {phi:.2f}, "
            f"p = {phi_p:.3f}); more units may fall outside the limits than case mix warrants."
        )
    if int(outside_any.sum()):
        remarks.append(
            f"{int(outside_any.sum())} unit(s) fall outside the {lv[-1]:.1%} limits: a prompt "
            "to investigate (data, case mix, practice), not a verdict."
        )
    return FunnelResult(
        table=table,
        limits=limits,
        target=theta,
        target_source=source,
        levels=lv,
        phi=phi,
        phi_pvalue=phi_p,
        definition=definition,
        label=label,
        remarks=tuple(remarks),
    )
