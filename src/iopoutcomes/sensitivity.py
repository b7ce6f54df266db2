"""Missing-not-at-random sensitivity for a binary outcome: tipping-point analysis.

"Missing = using" is one assumption about clients without a follow-up, not the truth. A
tipping-point analysis (Yan, Lee & Li 2009) shows how far the missing outcomes would have to
depart from it to change the conclusion:

* ``method="grid"`` (default): for every pair ``(k_group, k_reference)`` of abstinent counts
  among the ``m_group`` and ``m_reference`` clients with a missing outcome, the completed 2x2
  table's difference, interval (the library's :func:`~iopoutcomes._ci.diff_ci`), score-test
  p-value and verdict. The four corners are the library's bounds (``compare_rates(...,
  missing="bounds")``): ``(0, 0)`` all missing unfavourable (= missing = using), ``(m, m)``
  all favourable, ``(0, m_reference)`` the worst and ``(m_group, 0)`` the best case for the
  group. When the grid would exceed ``max_cells`` it is computed on a coarser regular grid and
  the exact cells where the verdict changes are located by integer bisection along
  ``k_reference`` (the difference falls monotonically as ``k_reference`` grows).
* ``method="delta"``: delta-adjusted multiple imputation (Carpenter & Kenward 2013): the
  log-odds of the outcome of the missing are shifted by ``delta_group`` and
  ``delta_reference`` from the MAR imputation model (``missing.completed_datasets(...,
  delta=...)``) and the difference pooled with Rubin's rules; ``delta = 0`` is the MAR
  imputation of ``compare_rates(..., missing="impute")``.

References
----------
Yan X, Lee S, Li N (2009). Missing data handling methods in medical device clinical trials.
Journal of Biopharmaceutical Statistics 19:1085-1098.

Carpenter JR, Kenward MG (2013). Multiple Imputation and its Application. Wiley, chapter 10.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"cohort": ["IOP"] * 10 + ["inpatient"] * 10,
...                    "abstinent_6mo": [1] * 6 + [0] * 2 + [None] * 2
...                                     + [1] * 4 + [0] * 4 + [None] * 2})
>>> tp = tipping_point(df, "abstinent_6mo", by="cohort", reference="inpatient")
>>> tp.to_frame().shape
(9, 11)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from . import _ci
from ._counts import outcome_as_float
from ._input import outcomes_table
from ._render import ResultDisplay
from ._validate import default_reference, validates_confidence_level
from .exceptions import InsufficientDataError, MissingColumnError, ParameterError
from .schema import TIPPING_DELTA_COLUMNS, TIPPING_POINT_COLUMNS

__all__ = ["TippingPoint", "report_sentences", "tipping_point", "tipping_point_sentence"]

FloatArray = npt.NDArray[np.float64]
VERDICT_ORDER: tuple[str, ...] = (
    "superior",
    "equivalent",
    "non-inferior",
    "inconclusive",
    "inferior",
)
"""Verdicts of a grid cell, from the group's best to its worst (see :func:`tipping_point`)."""


def _verdicts(
    low: FloatArray, high: FloatArray, margin: float | None, higher_is_better: bool
) -> npt.NDArray[np.object_]:
    """Interval-based verdicts: the two-sided interval against 0 and the margin."""
    lo, hi = (low, high) if higher_is_better else (-high, -low)
    out = np.full(lo.shape, "inconclusive", dtype=object)
    if margin is None:
        out[hi < 0] = "inferior"
        out[lo > 0] = "superior"
    else:
        m = float(margin)
        out[hi < -m] = "inferior"
        out[lo > -m] = "non-inferior"
        out[(lo > -m) & (hi < m)] = "equivalent"
        out[lo > 0] = "superior"
    out[~(np.isfinite(lo) & np.isfinite(hi))] = None
    return out


def _claim(verdict: Any, margin: float | None) -> Any:
    """The claim a verdict supports: with a margin, superior and equivalent are non-inferior."""
    if margin is not None and verdict in ("superior", "equivalent", "non-inferior"):
        return "non-inferior"
    return verdict


def _outcome_word(outcome: str, higher_is_better: bool) -> tuple[str, str]:
    """(verb phrase, noun) for the outcome: ("were abstinent", "abstinence"), ..."""
    if outcome.startswith("abstinent"):
        return "were abstinent", "abstinence"
    if "relaps" in outcome:
        return "had relapsed", "relapse"
    return "had the outcome", "the outcome"


@dataclass(frozen=True, eq=False, repr=False)
class TippingPoint(ResultDisplay):
    """Tipping-point analysis of a two-group comparison of a binary outcome.

    Attributes
    ----------
    table : pandas.DataFrame
        ``method="grid"``: :data:`~iopoutcomes.schema.TIPPING_POINT_COLUMNS`, one row per
        ``(k_group, k_reference)`` cell (abstinent counts among the missing); ``"delta"``:
        :data:`~iopoutcomes.schema.TIPPING_DELTA_COLUMNS`, one row per pair of log-odds shifts.
    counts : pandas.DataFrame
        ``group``, ``n`` (due episodes), ``n_events`` (observed events), ``n_missing``.
    conclusion : str or None
        The verdict under missing = using (cell ``(0, 0)``, or ``delta`` -> -inf) for the grid,
        at ``delta = 0`` (MAR) for the delta scan.
    exact : bool
        True when every integer cell was computed; False for a coarse grid plus the exact
        boundary cells.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"cohort": ["IOP"] * 10 + ["inpatient"] * 10,
    ...                    "y": [1] * 6 + [0] * 2 + [None] * 2 + [1] * 4 + [0] * 4 + [None] * 2})
    >>> tp = tipping_point(df, "y", by="cohort", reference="inpatient")
    >>> corners = tp.corners()
    >>> row = corners["using"]
    >>> int(row["k_group"]), int(row["k_reference"]), round(float(row["diff"]), 6)
    (0, 0, 0.2)
    """

    table: pd.DataFrame
    method: str
    outcome: str
    by: str
    group: Any
    reference: Any
    counts: pd.DataFrame
    margin: float | None
    interval: str
    confidence_level: float
    higher_is_better: bool
    conclusion: str | None
    exact: bool = True
    axes: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())
    remarks: tuple[str, ...] = field(default=())

    # --- counts -------------------------------------------------------------------------------
    def _count(self, grp: Any, col: str) -> int:
        return int(self.counts.set_index("group").loc[grp, col])

    @property
    def m_group(self) -> int:
        """Missing outcomes in the compared group."""
        return self._count(self.group, "n_missing")

    @property
    def m_reference(self) -> int:
        """Missing outcomes in the reference group."""
        return self._count(self.reference, "n_missing")

    def _header(self) -> str:
        kind = "integer grid" if self.method == "grid" else "delta-adjusted imputation"
        return (
            f"<TippingPoint: {self.outcome}, {self.group} vs {self.reference} ({kind}; "
            f"{self.m_group} and {self.m_reference} missing); conclusion under "
            f"{'missing = using' if self.method == 'grid' else 'MAR'}: {self.conclusion}>"
        )

    def to_frame(self) -> pd.DataFrame:
        """Copy of :attr:`table`."""
        return self.table.copy()

    def corners(self) -> dict[str, pd.Series]:
        """The four corner cells of the grid, named as the library's bounds.

        ``"using"`` (every missing outcome unfavourable), ``"all favourable"``, ``"worst"``
        (the group's missing unfavourable, the reference's favourable) and ``"best"``.
        """
        if self.method != "grid":
            raise ParameterError("corners() belongs to the integer grid (method='grid').")
        mg, mr = self.m_group, self.m_reference
        t = self.table.set_index(["k_group", "k_reference"], drop=False)
        unfav_g, unfav_r = (0, 0) if self.higher_is_better else (mg, mr)
        fav_g, fav_r = mg - unfav_g, mr - unfav_r
        cells = {
            "using": (unfav_g, unfav_r),
            "all favourable": (fav_g, fav_r),
            "worst": (unfav_g, fav_r),
            "best": (fav_g, unfav_r),
        }
        return {name: t.loc[[key]].iloc[0] for name, key in cells.items()}

    def _gap(self, frame: pd.DataFrame) -> FloatArray:
        """Rate among the group's missing minus rate among the reference's missing."""
        if self.method != "grid":
            return np.asarray(
                frame["delta_group"].to_numpy(float) - frame["delta_reference"].to_numpy(float)
            )
        mg, mr = max(self.m_group, 1), max(self.m_reference, 1)
        return np.asarray(
            frame["k_group"].to_numpy(float) / mg - frame["k_reference"].to_numpy(float) / mr
        )

    def tipping_points(self) -> pd.DataFrame:
        """Cells where the verdict changes as ``k_reference`` (``delta_reference``) grows.

        One row per ``k_group`` (``delta_group``) and change: the first cell with the new
        verdict, with ``verdict_before`` (the verdict of the previous cell) and ``gap`` (the
        rate among the group's missing minus that among the reference's missing; for the
        delta scan the difference of the shifts).
        """
        gk, rk = (
            ("k_group", "k_reference")
            if self.method == "grid"
            else ("delta_group", "delta_reference")
        )
        t = self.table.sort_values([gk, rk], kind="stable").reset_index(drop=True)
        v = t["verdict"].astype(object).fillna("none")
        prev = v.groupby(t[gk]).shift(1)
        change = prev.notna() & (prev != v)
        out = t.loc[change].copy()
        out.insert(list(out.columns).index("verdict"), "verdict_before", prev[change].to_numpy())
        out["gap"] = self._gap(out)
        return out.reset_index(drop=True)

    def plausible_region(self) -> pd.DataFrame:
        """Cells where neither group's missing clients did better than its followed-up ones.

        The usual direction of a departure from missing at random in addiction follow-up
        (clients who are not reached are no more often abstinent than those who are): each
        group's rate among the missing between 0 and its observed (complete-case) rate
        (mirrored for an outcome where lower is better). Grid only.
        """
        if self.method != "grid":
            raise ParameterError("plausible_region() belongs to the integer grid.")
        c = self.counts.set_index("group")
        t = self.table
        obs_g = c.loc[self.group, "n_events"] / max(c.loc[self.group, "n"] - self.m_group, 1)
        obs_r = c.loc[self.reference, "n_events"] / max(
            c.loc[self.reference, "n"] - self.m_reference, 1
        )
        rg = t["k_group"] / max(self.m_group, 1)
        rr = t["k_reference"] / max(self.m_reference, 1)
        if self.higher_is_better:
            keep = (rg <= obs_g + 1e-12) & (rr <= obs_r + 1e-12)
        else:
            keep = (rg >= obs_g - 1e-12) & (rr >= obs_r - 1e-12)
        return t.loc[keep].reset_index(drop=True)

    def sentence(self) -> str:
        """One sentence for a report: how far the missing must depart to change the conclusion.

        For the grid: "The conclusion (<verdict>) holds unless the missing <group> clients
        were <abstinent> at a rate at least N points below the missing <reference> clients"
        (and/or above), where N is the smallest such departure among the cells whose verdict
        differs from the conclusion under missing = using. On a coarse grid (``exact`` False)
        the boundary is exact along ``k_reference`` for every ``k_group`` computed, so N is
        exact to within one step of the ``k_group`` axis.
        """
        return tipping_point_sentence(self)

    def definition_text(self) -> str:
        pct = round(100 * self.confidence_level)
        margin = f"margin {100 * self.margin:g} points" if self.margin is not None else "no margin"
        if self.method == "grid":
            return (
                f"Tipping-point grid (Yan, Lee & Li 2009): every completion of the "
                f"{self.m_group} + {self.m_reference} missing outcomes; {pct}% {self.interval} "
                f"interval of the difference; verdicts from the interval ({margin})."
            )
        return (
            "Delta-adjusted multiple imputation: log-odds of the outcome of the missing shifted "
            f"per group; Rubin-pooled Wald {pct}% intervals; verdicts from the interval "
            f"({margin})."
        )

    def narrative(self) -> str:
        """The conclusion and its tipping point in plain language."""
        return self.sentence()

    def methods_text(self) -> str:
        pct = round(100 * self.confidence_level)
        if self.method == "grid":
            return (
                "The sensitivity of the conclusion to missing outcomes not missing at random "
                "was assessed with a tipping-point analysis (Yan, Lee & Li 2009): for every "
                "possible number of favourable outcomes among the missing in each group, the "
                f"completed table's difference and its {pct}% {self.interval} interval were "
                "computed; its corners are the worst-, best-case and missing = using bounds. "
                "The tipping point is the smallest difference between the two groups' rates "
                "among the missing that changes the conclusion."
            )
        return (
            "The sensitivity of the conclusion to outcomes missing not at random was assessed "
            "with delta-adjusted multiple imputation (Carpenter & Kenward 2013): the log-odds "
            "of the outcome of the missing were shifted from the missing-at-random imputation "
            "model by a range of values per group, and each analysis pooled with Rubin's rules."
        )

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Heat map of the difference over the grid with the verdict boundary and key cells."""
        return plot_tipping_point(self, ax=ax, **kwargs)


def tipping_point_sentence(result: TippingPoint) -> str:
    """The report sentence of a :class:`TippingPoint` (see :meth:`TippingPoint.sentence`)."""
    verb, noun = _outcome_word(result.outcome, result.higher_is_better)
    concl = _claim(result.conclusion, result.margin)
    what = {
        "superior": f"{result.group} better than {result.reference}",
        "inferior": f"{result.group} worse than {result.reference}"
        + (" by more than the margin" if result.margin is not None else ""),
        "equivalent": f"{result.group} equivalent to {result.reference}",
        "non-inferior": f"{result.group} non-inferior to {result.reference}"
        + (f" (margin {100 * result.margin:g} points)" if result.margin is not None else ""),
        "inconclusive": "no conclusive difference",
    }.get(str(concl), "no verdict")
    t = result.table
    v = t["verdict"].to_numpy(object).copy()
    if result.margin is not None:  # with a margin, the claim is non-inferiority
        v[np.isin(v, ["superior", "equivalent", "non-inferior"])] = "non-inferior"
    changed = t.loc[v != concl]
    gap = result._gap(changed)
    under = "missing = using" if result.method == "grid" else "missing at random"
    head = f"Under {under} the conclusion is: {what}."
    if changed.empty:
        return (
            f"{head} It holds whatever the missing outcomes were (every cell of the "
            f"sensitivity {'grid' if result.method == 'grid' else 'scan'} gives the same verdict)."
        )
    below = -gap[gap <= 0]
    above = gap[gap > 0]
    parts = []
    if result.method == "grid":
        if np.abs(gap).min() < 0.005:
            return (
                f"{head} The conclusion can change even if the missing {result.group} and "
                f"{result.reference} clients {verb} at the same rate (see the "
                "tipping-point grid)."
            )
        if below.size:
            parts.append(f"at a rate at least {100 * below.min():.0f} points below")
        if above.size:
            parts.append(f"at a rate at least {100 * above.min():.0f} points above")
        return (
            f"{head} The conclusion holds unless the missing {result.group} clients {verb} "
            f"{' or '.join(parts)} the missing {result.reference} clients."
        )
    if below.size:
        parts.append(f"at least {below.min():.2g} lower")
    if above.size:
        parts.append(f"at least {above.min():.2g} higher")
    return (
        f"{head} The conclusion holds unless the log-odds of {noun} of the missing "
        f"{result.group} clients, relative to the missing {result.reference} clients, were "
        f"{' or '.join(parts)} than missing at random implies."
    )


def plot_tipping_point(result: TippingPoint, *, ax: Any = None, **kwargs: Any) -> Any:
    """Heat map of the difference over the tipping-point grid.

    x: rate of the outcome among the reference group's missing; y: among the compared group's
    missing; colour: the completed data's difference; black lines: where the verdict changes;
    markers: missing = using, complete case (missing like the observed), worst and best case.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd
    >>> df = pd.DataFrame({"cohort": ["IOP"] * 10 + ["inpatient"] * 10,
    ...                    "y": [1] * 6 + [0] * 2 + [None] * 2 + [1] * 4 + [0] * 4 + [None] * 2})
    >>> fig, ax = plt.subplots()
    >>> ax = tipping_point(df, "y", by="cohort", reference="inpatient").plot(ax=ax)
    >>> ax.get_xlabel()
    'Rate among missing inpatient (%)'
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    if ax is None:
        ax = plt.gca()
    t = result.table
    if result.method == "grid":
        xcol, ycol = "k_reference", "k_group"
        xs = max(result.m_reference, 1) / 100.0
        ys = max(result.m_group, 1) / 100.0
        gx, gy = result.axes[1], result.axes[0]
        sub = t[t["k_reference"].isin(gx) & t["k_group"].isin(gy)]
    else:
        xcol, ycol = "delta_reference", "delta_group"
        xs = ys = 1.0
        sub = t
    piv = sub.pivot_table(index=ycol, columns=xcol, values="diff", aggfunc="first")
    x = piv.columns.to_numpy(float) / xs
    y = piv.index.to_numpy(float) / ys
    z = 100 * piv.to_numpy(float)
    lim = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    mesh = ax.pcolormesh(
        x, y, z, cmap=kwargs.pop("cmap", "RdBu"), vmin=-lim, vmax=lim, shading="nearest", **kwargs
    )
    ax.figure.colorbar(
        mesh, ax=ax, label=f"Difference {result.group} - {result.reference} (points)"
    )
    codes = sub.pivot_table(
        index=ycol,
        columns=xcol,
        values="verdict",
        aggfunc=lambda s: VERDICT_ORDER.index(s.iloc[0]) if s.iloc[0] in VERDICT_ORDER else -1,
    ).to_numpy(float)
    if np.unique(codes[np.isfinite(codes)]).size > 1 and len(x) > 1 and len(y) > 1:
        ax.contour(x, y, codes, levels=np.arange(0.5, 4.5, 1.0), colors="black", linewidths=1)
    # name each verdict region at the middle of its cells
    for verdict in VERDICT_ORDER:
        cells = sub[sub["verdict"] == verdict]
        if len(cells) >= max(4, len(sub) // 50):
            ax.text(
                float(cells[xcol].median()) / xs,
                float(cells[ycol].median()) / ys,
                verdict,
                ha="center",
                va="center",
                fontsize="small",
                bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.7, "linewidth": 0},
            )
    if result.method == "grid":
        c = result.counts.set_index("group")
        mg, mr = result.m_group, result.m_reference
        og = c.loc[result.group, "n_events"] / max(c.loc[result.group, "n"] - mg, 1)
        orr = c.loc[result.reference, "n_events"] / max(c.loc[result.reference, "n"] - mr, 1)
        unfav = 0.0 if result.higher_is_better else 100.0
        marks = {
            "missing = using": (unfav, unfav, "o"),
            "complete case": (100 * orr, 100 * og, "s"),
            "worst case": (100.0 - unfav, unfav, "v"),
            "best case": (unfav, 100.0 - unfav, "^"),
        }
        for label, (mx, my, mk) in marks.items():
            ax.plot(
                [mx], [my], marker=mk, color="black", linestyle="none", label=label, clip_on=False
            )
        word = "Rate among missing"
        ax.set_xlabel(f"{word} {result.reference} (%)")
        ax.set_ylabel(f"{word} {result.group} (%)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=4, fontsize="small")
    else:
        ax.set_xlabel(f"Log-odds shift for missing {result.reference}")
        ax.set_ylabel(f"Log-odds shift for missing {result.group}")
    ax.set_title(f"Tipping point: {result.outcome}")
    return ax


# --- computation --------------------------------------------------------------------------------


def _cells(
    kg: FloatArray,
    kr: FloatArray,
    xg: int,
    ng: int,
    xr: int,
    nr: int,
    interval: str,
    confidence_level: float,
    margin: float | None,
    higher_is_better: bool,
) -> dict[str, Any]:
    x1 = xg + kg
    x0 = xr + kr
    low, high = _ci.diff_ci(x1, ng, x0, nr, interval, confidence_level)
    _, p = _ci.score_test_diff(x1, ng, x0, nr, 0.0, "two-sided")
    low, high = np.asarray(low, float), np.asarray(high, float)
    return {
        "rate_group": x1 / ng,
        "rate_reference": x0 / nr,
        "diff": x1 / ng - x0 / nr,
        "diff_ci_low": low,
        "diff_ci_high": high,
        "pvalue": np.asarray(p, float),
        "verdict": _verdicts(low, high, margin, higher_is_better),
    }


def _axis(m: int, points: int) -> npt.NDArray[np.int64]:
    if m + 1 <= points:
        return np.arange(m + 1, dtype=np.int64)
    return np.unique(np.round(np.linspace(0, m, points)).astype(np.int64))


def _grid(
    counts: pd.DataFrame,
    group: Any,
    reference: Any,
    interval: str,
    confidence_level: float,
    margin: float | None,
    higher_is_better: bool,
    max_cells: int,
) -> tuple[pd.DataFrame, bool, tuple[tuple[int, ...], tuple[int, ...]]]:
    c = counts.set_index("group")
    ng, xg, mg = (int(c.loc[group, k]) for k in ("n", "n_events", "n_missing"))
    nr, xr, mr = (int(c.loc[reference, k]) for k in ("n", "n_events", "n_missing"))
    exact = (mg + 1) * (mr + 1) <= max_cells
    points = max(int(math.sqrt(max_cells)), 2)
    ag, ar = _axis(mg, points if not exact else mg + 1), _axis(mr, points if not exact else mr + 1)
    kg, kr = (a.ravel().astype(float) for a in np.meshgrid(ag, ar, indexing="ij"))
    args = (xg, ng, xr, nr, interval, confidence_level, margin, higher_is_better)
    frame = pd.DataFrame({"k_group": kg, "k_reference": kr} | _cells(kg, kr, *args))
    if not exact:
        # exact boundary along k_reference: bisect every pair of neighbouring cells whose
        # verdicts differ and that are more than one apart, until none is left (two changes
        # between coarse neighbours are found in successive rounds)
        while True:
            frame = frame.sort_values(["k_group", "k_reference"], kind="stable")
            kgv = frame["k_group"].to_numpy(float)
            krv = frame["k_reference"].to_numpy(float)
            vv = frame["verdict"].to_numpy(object)
            pair = (kgv[1:] == kgv[:-1]) & (vv[1:] != vv[:-1]) & (krv[1:] - krv[:-1] > 1)
            if not pair.any():
                break
            idx = np.flatnonzero(pair)
            g, lo, hi, v_lo = kgv[idx], krv[idx], krv[idx + 1], vv[idx]
            while np.any(hi - lo > 1):  # about log2(m / points) vectorised steps
                mid = np.floor((lo + hi) / 2)
                mid = np.where(hi - lo > 1, mid, lo)
                same = _cells(g, mid, *args)["verdict"] == v_lo
                lo = np.where(same, mid, lo)
                hi = np.where(same | (hi - lo <= 1), hi, mid)
            kg2 = np.concatenate([g, g])
            kr2 = np.concatenate([lo, hi])
            extra = pd.DataFrame({"k_group": kg2, "k_reference": kr2} | _cells(kg2, kr2, *args))
            frame = pd.concat([frame, extra], ignore_index=True)
            frame = frame.drop_duplicates(["k_group", "k_reference"])
    frame = frame.sort_values(["k_group", "k_reference"], kind="stable").reset_index(drop=True)
    frame["k_group"] = frame["k_group"].astype(np.int64)
    frame["k_reference"] = frame["k_reference"].astype(np.int64)
    frame.insert(2, "m_group", mg)
    frame.insert(3, "m_reference", mr)
    return frame[list(TIPPING_POINT_COLUMNS)], exact, (tuple(ag.tolist()), tuple(ar.tolist()))


def _delta_scan(
    data: pd.DataFrame,
    outcome: str,
    by: str,
    group: Any,
    reference: Any,
    deltas: Sequence[float],
    covariates: Sequence[str],
    n_imputations: int,
    seed: int,
    confidence_level: float,
    margin: float | None,
    higher_is_better: bool,
    death_policy: str,
) -> pd.DataFrame:
    from .missing import completed_datasets, rubin_pool

    rows = []
    covs = tuple(dict.fromkeys([by, *covariates]))
    for dg in deltas:  # a small grid of sensitivity parameters, not a loop over episodes
        for dr in deltas:
            sets = completed_datasets(
                data,
                outcome,
                missing="impute",
                covariates=covs,
                n_imputations=n_imputations,
                seed=seed,
                death_policy=death_policy,
                delta={group: float(dg), reference: float(dr)},
                by=by,
            )
            est, var, r1, r0 = [], [], [], []
            for ds in sets:  # m imputations
                f = ds.frame
                y1 = f.loc[f[by] == group, outcome].to_numpy(float)
                y0 = f.loc[f[by] == reference, outcome].to_numpy(float)
                p1, p0 = y1.mean(), y0.mean()
                r1.append(p1)
                r0.append(p0)
                est.append(p1 - p0)
                var.append(p1 * (1 - p1) / len(y1) + p0 * (1 - p0) / len(y0))
            pooled = rubin_pool(est, var)
            q, se, df = pooled.estimate, pooled.std_err, pooled.df
            crit = (
                float(stats.t.ppf(0.5 + confidence_level / 2, df))
                if np.isfinite(df)
                else float(stats.norm.ppf(0.5 + confidence_level / 2))
            )
            p = float(2 * stats.t.sf(abs(q / se), df)) if se > 0 else math.nan
            rows.append(
                {
                    "delta_group": float(dg),
                    "delta_reference": float(dr),
                    "rate_group": float(np.mean(r1)),
                    "rate_reference": float(np.mean(r0)),
                    "diff": q,
                    "diff_ci_low": q - crit * se,
                    "diff_ci_high": q + crit * se,
                    "pvalue": p,
                }
            )
    out = pd.DataFrame(rows)
    out["verdict"] = _verdicts(
        out["diff_ci_low"].to_numpy(float),
        out["diff_ci_high"].to_numpy(float),
        margin,
        higher_is_better,
    )
    return out[list(TIPPING_DELTA_COLUMNS)]


@validates_confidence_level
def tipping_point(
    outcomes: Any,
    outcome: str,
    *,
    by: str = "cohort",
    reference: Any = None,
    group: Any = None,
    margin: float | None = None,
    interval: Literal[
        "newcombe", "miettinen-nurminen", "mee", "agresti-caffo", "wald"
    ] = "newcombe",
    confidence_level: float = 0.95,
    higher_is_better: bool = True,
    method: Literal["grid", "delta"] = "grid",
    deltas: Sequence[float] | None = None,
    covariates: Sequence[str] = (),
    n_imputations: int = 20,
    seed: int = 0,
    max_cells: int | None = None,
) -> TippingPoint:
    """Tipping-point analysis: how the comparison changes over every completion of the missing.

    Parameters
    ----------
    outcomes : EpisodeOutcomes or pandas.DataFrame
        One row per episode with the binary ``outcome`` (missing allowed) and ``by``. Only
        episodes whose follow-up is due are analysed (:func:`iopoutcomes.missing.eligible_mask`,
        with the definition's death policy).
    outcome : str
        The outcome column, e.g. ``"abstinent_6mo"``.
    by, reference : str, scalar
        Group column and reference group; ``reference`` defaults (``None``) to ``"inpatient"``
        when it is a group, else the first group in sorted order (``docs/conventions.md``).
    group : scalar, optional
        The compared group; default the only other group of ``by``.
    margin : float, optional
        Non-inferiority / equivalence margin on the difference scale (0.10 = 10 points).
    interval : str
        Interval for the difference (:func:`iopoutcomes._ci.diff_ci`), as ``compare_rates``.
    confidence_level : float
        Two-sided level of the intervals.
    higher_is_better : bool
        True for abstinence (missing = using counts missing as 0), False for relapse.
    method : {"grid", "delta"}
        ``"grid"``: every ``(k_group, k_reference)``; ``"delta"``: delta-adjusted imputation
        over ``deltas`` x ``deltas``.
    deltas : sequence of float, optional
        Log-odds shifts for ``method="delta"`` (default -2, -1, 0, 1, 2; 0 is always added).
    covariates : sequence of str
        Extra predictors of the imputation model (``method="delta"``; the group is always in).
    n_imputations, seed : int
        Imputations per cell and their seed (``method="delta"``).
    max_cells : int, optional
        Largest integer grid computed in full; above it a coarse regular grid of about
        ``max_cells`` cells plus the exact boundary cells. Default 250,000 for the closed-form
        intervals and 40,000 for the score intervals found by bisection
        (``"miettinen-nurminen"``, ``"mee"``), which cost about 100 times more per cell.

    Returns
    -------
    TippingPoint

    Notes
    -----
    Verdict of each cell, read from the two-sided interval of the difference (``low``,
    ``high``; mirrored when lower is better): ``superior`` when ``low > 0``; with a margin
    ``m``: ``equivalent`` when ``-m < low`` and ``high < m``, ``non-inferior`` when
    ``low > -m``, ``inferior`` when ``high < -m``; without a margin ``inferior`` when
    ``high < 0``; otherwise ``inconclusive``. ``pvalue`` is the two-sided score test of no
    difference (Pearson chi-square without continuity correction). The ``(0, 0)`` cell is
    missing = using and equals ``compare_rates(..., missing="using")``; the corners equal the
    four ``missing="bounds"`` rows.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"cohort": ["IOP"] * 10 + ["inpatient"] * 10,
    ...                    "y": [1] * 6 + [0] * 2 + [None] * 2 + [1] * 4 + [0] * 4 + [None] * 2})
    >>> tp = tipping_point(df, "y", by="cohort", reference="inpatient")
    >>> tp.conclusion, tp.m_group, tp.m_reference
    ('inconclusive', 2, 2)
    """
    from .missing import filter_eligible

    frame, definition = outcomes_table(outcomes, needed_by="tipping_point")
    absent = [c for c in (outcome, by) if c not in frame.columns]
    if absent:
        raise MissingColumnError(
            f"Columns {absent} are not in the data. Found: {list(frame.columns)}."
        )
    if interval not in _ci.DIFF_METHODS:
        raise ParameterError(f"interval must be one of {list(_ci.DIFF_METHODS)}.")
    _ci.z_value(confidence_level)
    if margin is not None and not 0 < float(margin) < 1:
        raise ParameterError("margin must be a proportion strictly between 0 and 1.")
    if method not in ("grid", "delta"):
        raise ParameterError(f"method must be 'grid' or 'delta'; received {method!r}.")
    death_policy = str(getattr(definition, "death_policy", "missing") or "missing")
    data, elig = filter_eligible(frame, outcome, death_policy=death_policy)
    data = data[data[by].notna()]
    levels = sorted(pd.unique(data[by]).tolist(), key=str)
    reference = default_reference(levels, reference)
    if reference not in levels:
        raise InsufficientDataError(
            f"The reference group is not among the {len(levels)} groups of {by!r}."
        )
    others = [g for g in levels if g != reference]
    if group is None:
        if len(others) != 1:
            raise ParameterError(
                f"{by!r} has {len(others)} groups besides the reference; name one with group=."
            )
        group = others[0]
    if group not in others:
        raise InsufficientDataError(f"The compared group is not among the groups of {by!r}.")
    y = outcome_as_float(data[outcome])
    counts = (
        pd.DataFrame({"group": data[by].to_numpy(), "y": y.to_numpy(float)})
        .groupby("group", sort=False)["y"]
        .agg(n="size", n_events="sum", n_missing=lambda s: int(s.isna().sum()))
        .reindex([group, reference])
        .reset_index()
        .astype({"n": "int64", "n_events": "int64", "n_missing": "int64"})
    )
    remarks = elig.remarks(missing="using")
    if max_cells is None:
        max_cells = 40_000 if interval in ("miettinen-nurminen", "mee") else 250_000
    if method == "grid":
        table, exact, axes = _grid(
            counts,
            group,
            reference,
            interval,
            confidence_level,
            None if margin is None else float(margin),
            higher_is_better,
            max_cells,
        )
        mg, mr = int(table["m_group"].iloc[0]), int(table["m_reference"].iloc[0])
        using = (0, 0) if higher_is_better else (mg, mr)
        row = table[(table["k_group"] == using[0]) & (table["k_reference"] == using[1])]
        conclusion = row["verdict"].iloc[0] if len(row) else None
        if not exact:
            remarks.append(
                f"The {mg + 1} x {mr + 1} grid was computed on a regular {len(axes[0])} x "
                f"{len(axes[1])} grid plus the exact cells where the verdict changes along "
                "k_reference."
            )
    else:
        grid = list(np.arange(-2.0, 2.5, 1.0) if deltas is None else deltas)
        if 0.0 not in [float(d) for d in grid]:
            grid = sorted([*grid, 0.0])
        table = _delta_scan(
            data,
            outcome,
            by,
            group,
            reference,
            grid,
            covariates,
            n_imputations,
            seed,
            confidence_level,
            None if margin is None else float(margin),
            higher_is_better,
            death_policy,
        )
        mar = table[(table["delta_group"] == 0) & (table["delta_reference"] == 0)]
        conclusion = mar["verdict"].iloc[0]
        exact, axes = True, ((), ())
        interval = "wald (Rubin's rules)"  # type: ignore[assignment]
    return TippingPoint(
        table=table,
        method=method,
        outcome=outcome,
        by=by,
        group=group,
        reference=reference,
        counts=counts,
        margin=None if margin is None else float(margin),
        interval=interval,
        confidence_level=float(confidence_level),
        higher_is_better=higher_is_better,
        conclusion=conclusion,
        exact=exact,
        axes=axes,
        remarks=tuple(remarks),
    )


def report_sentences(
    outcomes: Any,
    outcome: str,
    *,
    by: str = "cohort",
    reference: Any = None,
    margin: float | None = None,
    delta: float = -1.0,
    covariates: Sequence[str] = (),
) -> list[str]:
    """Sentences for the report's sensitivity paragraph: tipping point and a delta analysis.

    For each group against the reference: the :meth:`TippingPoint.sentence` of the integer
    grid, and the difference under delta-adjusted imputation in which the missing clients of
    the group have log-odds of the outcome ``delta`` below missing at random (the reference's
    missing left at MAR). The imputation model uses ``covariates`` (besides the group); without
    them the delta analysis is not run (imputing from the group alone is the complete-case
    analysis) and the sentence says so. Groups whose tipping point cannot be computed are
    skipped.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"cohort": ["IOP"] * 10 + ["inpatient"] * 10,
    ...                    "y": [1] * 6 + [0] * 2 + [None] * 2 + [1] * 4 + [0] * 4 + [None] * 2})
    >>> report_sentences(df, "y")[0].startswith("Tipping point (IOP vs inpatient)")
    True
    """
    from .compare import compare_rates
    from .exceptions import IopOutcomesError

    frame = outcomes.to_frame() if hasattr(outcomes, "to_frame") else outcomes
    levels = sorted(pd.unique(frame[by].dropna()).tolist(), key=str)
    reference = default_reference(levels, reference)
    groups = [g for g in levels if g != reference]
    noun = "abstinence" if outcome.startswith("abstinent") else "the outcome"
    out = []
    for grp in groups:  # a handful of cohorts
        try:
            tp = tipping_point(
                outcomes, outcome, by=by, reference=reference, group=grp, margin=margin
            )
        except IopOutcomesError:
            continue
        text = f"Tipping point ({grp} vs {reference}): {tp.sentence()}"
        if not covariates:
            out.append(
                text + " (No delta-adjusted imputation was run: no covariates are configured "
                "to impute the missing outcomes from.)"
            )
            continue
        try:
            table = compare_rates(
                outcomes,
                outcome,
                by=by,
                reference=reference,
                missing="impute",
                covariates=list(covariates),
                delta={grp: delta},
            ).table
            row = table[table["group"] == grp].iloc[0]
            text += (
                f" With multiple imputation in which the missing {grp} clients' odds of "
                f"{noun} are {math.exp(delta):.2f} times those implied by missing at random, "
                f"the difference is {100 * float(row['diff']):+.1f} points (95% CI "
                f"{100 * float(row['diff_ci_low']):+.1f} to "
                f"{100 * float(row['diff_ci_high']):+.1f})."
            )
        except (IopOutcomesError, TypeError, ValueError):
            pass
        out.append(text)
    return out
