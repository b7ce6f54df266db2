"""Robustness of comparisons: E-values for unmeasured confounding and subgroup analyses.

* :func:`e_value` (from :mod:`iopoutcomes.evalue`) — the E-value of VanderWeele & Ding (2017): the minimum strength of
  association, on the risk-ratio scale, that an unmeasured confounder would need with both the
  treatment and the outcome to explain away an observed association (and its confidence limit
  closest to the null). Risk ratios are used as they are; odds ratios and hazard ratios are first
  converted to approximate risk ratios (rare outcomes: unchanged; common outcomes, >= 15%:
  ``sqrt(OR)`` and ``(1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))``).
* :func:`subgroup_analysis` — per-level group differences with intervals within each level of
  one or more subgroup variables, and an interaction test per subgroup variable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._render import ResultDisplay
from ._validate import default_reference, validates_confidence_level
from .evalue import EValue, e_value
from .exceptions import InsufficientDataError, MissingColumnError, ParameterError

__all__ = ["EValue", "SubgroupAnalysis", "e_value", "propensity_scores", "subgroup_analysis"]


# --- subgroup analyses ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class SubgroupAnalysis(ResultDisplay):
    """Group-vs-reference differences within subgroups (see :func:`subgroup_analysis`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row for all episodes (``subgroup = "All"``) then one per subgroup level:
        ``subgroup``, ``level``, ``group``, ``reference``, ``n``, ``n_events``, ``rate``,
        ``n_ref``, ``n_events_ref``, ``rate_ref``, ``diff``, ``diff_ci_low``, ``diff_ci_high``,
        ``analysis`` and, with a margin, ``verdict``.
    interaction : pandas.DataFrame
        One row per subgroup variable and group: ``subgroup``, ``group``, ``statistic``
        (likelihood-ratio chi-square of the group x subgroup interaction), ``df``,
        ``pvalue``, ``n``.
    outcome, by, reference : as passed.
    labels : mapping
        Display names of variables and levels.
    confidence_level, margin : as passed.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> out = iop.episode_outcomes(iop.simulate_records(n=300, seed=2))
    >>> sg = subgroup_analysis(out, "abstinent_6mo", subgroups=["sex"])
    >>> sg.interaction[["subgroup", "df"]].values.tolist()
    [['sex', 1]]
    """

    table: pd.DataFrame
    interaction: pd.DataFrame
    outcome: str
    by: str
    reference: Any
    labels: Mapping[str, str]
    confidence_level: float = 0.95
    margin: float | None = None
    adjust: tuple[str, ...] = ()
    remarks: tuple[str, ...] = ()

    def _header(self) -> str:
        n_vars = self.interaction["subgroup"].nunique()
        return (
            f"<SubgroupAnalysis: {self.outcome} by {self.by} vs {self.reference}, "
            f"{n_vars} subgroup variable(s), {len(self.table) - 1} subgroup rows>"
        )

    def to_frame(self) -> pd.DataFrame:
        """The per-level table with each subgroup's interaction p-value (``pvalue_interaction``)."""
        p = self.interaction.groupby(["subgroup", "group"], sort=False)["pvalue"].first()
        out = self.table.copy()
        key = pd.MultiIndex.from_arrays([out["subgroup"], out["group"]])
        out["pvalue_interaction"] = p.reindex(key).to_numpy()
        return out

    def definition_text(self) -> str:
        pct = round(100 * self.confidence_level)
        adj = self.adjust
        adj_text = f", adjusted for {', '.join(self._label(a) for a in adj)}" if adj else ""
        return (
            f"Difference in {self._label(self.outcome)} ({self.by} group minus {self.reference}) "
            f"within each subgroup level with {pct}% intervals{adj_text}; interaction: "
            "likelihood-ratio test of group x subgroup terms in a logistic model (the episodes "
            "of the comparison; missing outcomes as not achieved under missing='using', else "
            "left out)."
        )

    def _label(self, name: Any) -> str:
        return str(self.labels.get(str(name), str(name)))

    def narrative(self) -> str:
        """Interaction tests in words, with the caution subgroup findings need."""
        parts = []
        subs = self.interaction["subgroup"].tolist()
        pvals = self.interaction["pvalue"].to_numpy(dtype=float)
        for sub, p in zip(subs, pvals, strict=True):
            parts.append(
                f"{self._label(sub)} (interaction p = {p:.2g})"
                if math.isfinite(p)
                else f"{self._label(sub)} (interaction not estimable)"
            )
        text = "The difference was examined within subgroups of " + "; ".join(parts) + "."
        if (self.interaction["pvalue"] < 0.05).any():
            text += (
                " An interaction p < 0.05 suggests the difference varies across levels, but "
                "subgroup analyses are exploratory: with several subgroups one such p-value is "
                "expected by chance."
            )
        else:
            text += " No interaction test suggested that the difference varies across levels."
        return text

    def methods_text(self) -> str:
        """Methods paragraph."""
        return (
            f"Pre-specified subgroup analyses estimated the difference within each level of "
            f"{', '.join(self._label(s) for s in self.interaction['subgroup'].unique())}; "
            "heterogeneity was assessed with a likelihood-ratio test of the group-by-subgroup "
            "interaction in a logistic regression (Wang et al. 2007). Subgroup results were "
            "interpreted as exploratory."
        )

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Forest plot (``iopoutcomes.plots.plot_subgroups``)."""
        from .plots import plot_subgroups

        return plot_subgroups(self, ax=ax, **kwargs)


def _subset(outcomes: Any, mask: pd.Series) -> Any:
    """The same kind of input restricted to the rows of ``mask``."""
    import dataclasses

    if isinstance(outcomes, pd.DataFrame):
        return outcomes.loc[mask.to_numpy()]
    return dataclasses.replace(outcomes, table=outcomes.table.loc[mask.to_numpy()])


def _interaction_lrt(
    frame: pd.DataFrame,
    outcome: str,
    by: str,
    reference: Any,
    var: str,
    adjust: Sequence[str],
    rule: str,
    death_policy: str,
) -> list[dict[str, Any]]:
    """Likelihood-ratio test of ``by x var`` in a logistic model, per non-reference group.

    The episodes are those of the comparison (follow-up due); under ``missing="using"`` a
    missing outcome counts as not achieved, as in the per-level estimates; under the other
    rules the test uses the episodes with an observed outcome.
    """
    import statsmodels.api as sm

    from ._counts import outcome_as_float
    from .adjust import design_matrix
    from .missing import filter_eligible

    frame, _ = filter_eligible(frame, outcome, death_policy=death_policy)
    rows = []
    y_all = outcome_as_float(frame[outcome])
    if rule == "using":
        y_all = y_all.fillna(0.0)
    for grp in sorted(
        (g for g in frame[by].dropna().unique() if g != reference), key=str
    ):  # groups only
        keep = frame[by].isin([grp, reference]) & frame[var].notna() & y_all.notna()
        if adjust:
            keep &= frame[list(adjust)].notna().all(axis=1)
        d = frame.loc[keep]
        y = y_all[keep].to_numpy(dtype=float)
        g = (d[by] == grp).to_numpy(dtype=float)
        sub = design_matrix(d, [var]).to_numpy(dtype=float)
        base = [np.ones(len(d)), g, *sub.T]
        if adjust:
            base += list(design_matrix(d, list(adjust)).to_numpy(dtype=float).T)
        inter = [g * s for s in sub.T]
        x0 = np.column_stack(base)
        x1 = np.column_stack(base + inter)
        stat, df, p = math.nan, len(inter), math.nan
        try:
            f0 = sm.GLM(y, x0, family=sm.families.Binomial()).fit()
            f1 = sm.GLM(y, x1, family=sm.families.Binomial()).fit()
            stat = float(2 * (f1.llf - f0.llf))
            df = int(np.linalg.matrix_rank(x1) - np.linalg.matrix_rank(x0))
            p = float(stats.chi2.sf(stat, df)) if df > 0 else math.nan
        except (np.linalg.LinAlgError, ValueError):
            pass
        rows.append(
            {"subgroup": var, "group": grp, "statistic": stat, "df": df, "pvalue": p, "n": len(d)}
        )
    return rows


@validates_confidence_level
def subgroup_analysis(
    outcomes: Any,
    outcome: str,
    *,
    by: str = "cohort",
    reference: Any = None,
    subgroups: Sequence[str],
    adjust: Sequence[str] = (),
    margin: float | None = None,
    missing: str | None = None,
    confidence_level: float = 0.95,
    labels: Mapping[str, str] | None = None,
) -> SubgroupAnalysis:
    """Differences between groups within subgroups, with an interaction test per variable.

    Parameters
    ----------
    outcomes : EpisodeOutcomes or pandas.DataFrame
        As for :func:`~iopoutcomes.compare.compare_rates`.
    outcome : str
        Binary outcome column.
    by, reference : str, scalar
        Group column and reference level; ``reference`` defaults (``None``) to ``"inpatient"``
        when it is a group, else the first group in sorted order (``docs/conventions.md``).
    subgroups : sequence of str
        Subgroup columns (categorical; bin continuous ones first).
    adjust : sequence of str
        Case-mix covariates: the per-level difference is then the g-computation estimate and
        the interaction model includes them.
    margin : float, optional
        Passed to :func:`compare_rates` (adds a verdict per level and the band to the plot).
    missing : str, optional
        Missing-data rule for the per-level comparisons (default as :func:`compare_rates`).
    confidence_level : float
        Level of the intervals.
    labels : mapping, optional
        Display names for the outcome and subgroup variables (e.g.
        ``{"primary_substance": "Primary substance"}``).

    Returns
    -------
    SubgroupAnalysis

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> out = iop.episode_outcomes(iop.simulate_records(n=400, seed=3))
    >>> sg = subgroup_analysis(out, "abstinent_6mo", subgroups=["sex"])
    >>> sg.to_frame()["subgroup"].tolist()[:1], sg.interaction["subgroup"].tolist()
    (['All'], ['sex'])
    """
    from .compare import compare_rates

    frame = outcomes if isinstance(outcomes, pd.DataFrame) else outcomes.to_frame()
    if not isinstance(outcomes, pd.DataFrame) and not hasattr(outcomes, "table"):
        raise ParameterError("outcomes must be an EpisodeOutcomes or a pandas DataFrame.")
    if isinstance(subgroups, str):
        subgroups = [subgroups]
    need = [outcome, by, *subgroups, *adjust]
    absent = [c for c in need if c not in frame.columns]
    if absent:
        raise MissingColumnError(
            f"Columns {absent} are not in the outcomes table; found {list(frame.columns)}."
        )
    if not subgroups:
        raise ParameterError("subgroups must name at least one column.")
    reference = default_reference(frame[by].dropna().unique().tolist(), reference)

    def one(data: Any, var: str, level: Any) -> list[dict[str, Any]]:
        cmp = compare_rates(
            data,
            outcome,
            by,
            reference,
            margin=margin,
            adjust=list(adjust) or None,
            adjust_method=("gcomp",),
            missing=missing,
            confidence_level=confidence_level,
            p_adjust=None,
        )
        t = cmp.to_frame()
        t = t[t["analysis"] != "unadjusted"] if adjust else t[t["analysis"] == "unadjusted"]
        t = t.drop_duplicates("group")  # first missing-data analysis: the primary
        cols = ["group", "reference", "n", "n_events", "rate", "n_ref", "n_events_ref",
                "rate_ref", "diff", "diff_ci_low", "diff_ci_high", "analysis"]  # fmt: skip
        if "verdict" in t.columns:
            cols.append("verdict")
        records = [{str(k): v for k, v in r.items()} for r in t[cols].to_dict("records")]
        return [{"subgroup": var, "level": level, **r} for r in records]

    definition = getattr(outcomes, "definition", None)
    rule = str(missing or (getattr(definition, "missing", "using") if definition else "using"))
    death_policy = getattr(definition, "death_policy", "missing") if definition else "missing"
    rows = one(outcomes, "All", "All")
    inter: list[dict[str, Any]] = []
    remarks: list[str] = []
    for var in subgroups:  # loop over subgroup variables and their levels, not episodes
        levels = sorted(frame[var].dropna().unique().tolist(), key=str)
        for lv in levels:
            try:
                rows += one(_subset(outcomes, frame[var] == lv), var, lv)
            except InsufficientDataError:
                remarks.append(
                    f"{labels.get(var, var) if labels else var} = one level had too few "
                    "episodes in a group to compare; left out."
                )
        inter += _interaction_lrt(frame, outcome, by, reference, var, adjust, rule, death_policy)
    table = pd.DataFrame(rows)
    if "verdict" not in table.columns and margin is not None:
        table["verdict"] = None
    return SubgroupAnalysis(
        table=table,
        interaction=pd.DataFrame(
            inter, columns=["subgroup", "group", "statistic", "df", "pvalue", "n"]
        ),
        outcome=outcome,
        by=by,
        reference=reference,
        labels=dict(labels or {}),
        confidence_level=confidence_level,
        margin=margin,
        adjust=tuple(adjust),
        remarks=tuple(remarks),
    )


def propensity_scores(
    outcomes: Any, *, by: str = "cohort", reference: Any = None, adjust: Sequence[str]
) -> pd.DataFrame:
    """Estimated propensity scores (logistic model of group on ``adjust``), one row per
    episode with complete covariates of the first non-reference group and the reference.

    The same model as the IPTW rows of :func:`~iopoutcomes.compare.compare_rates` (intercept,
    numeric covariates linear, others dummy coded).

    Returns
    -------
    pandas.DataFrame
        ``group``, ``propensity`` (index of the input rows).

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> out = iop.episode_outcomes(iop.simulate_records(n=200, seed=1))
    >>> ps = propensity_scores(out, adjust=["age"])
    >>> bool(ps["propensity"].between(0, 1).all())
    True
    """
    import statsmodels.api as sm

    from .adjust import design_matrix

    frame = outcomes if isinstance(outcomes, pd.DataFrame) else outcomes.to_frame()
    adjust = [adjust] if isinstance(adjust, str) else list(adjust)
    absent = [c for c in [by, *adjust] if c not in frame.columns]
    if absent:
        raise MissingColumnError(f"Columns {absent} are not in the outcomes table.")
    if not adjust:
        raise ParameterError("adjust must name at least one covariate of the propensity model.")
    reference = default_reference(frame[by].dropna().unique().tolist(), reference)
    others = sorted((g for g in frame[by].dropna().unique() if g != reference), key=str)
    if reference not in set(frame[by].dropna()) or not others:
        raise InsufficientDataError(f"Column {by!r} needs the reference and another group.")
    rows = frame[frame[by].isin([others[0], reference])]
    x = design_matrix(rows, adjust)
    ok = x.notna().all(axis=1)
    rows, x = rows.loc[ok], x.loc[ok]
    t = (rows[by] == others[0]).to_numpy(dtype=float)
    fit = sm.GLM(t, sm.add_constant(x.to_numpy(dtype=float), has_constant="add"),
                 family=sm.families.Binomial()).fit()  # fmt: skip
    return pd.DataFrame(
        {"group": rows[by].to_numpy(), "propensity": np.asarray(fit.fittedvalues, dtype=float)},
        index=rows.index,
    )
