"""Compare outcome rates between groups: :func:`compare_rates` -> :class:`Comparison`.

Each non-reference group of ``by`` (for example IOP) is compared with the reference group
(inpatient): rates with Wilson intervals, the risk difference with the Miettinen-Nurminen score
interval (default), the risk ratio and the odds ratio with intervals, the 'N-1' chi-square test
of no difference (the score test that interval inverts, so the two never disagree; named in
``method``), and, with a ``margin``, the non-inferiority (one-sided 2.5%) and equivalence
(TOST, 5% each) score tests with a verdict. When outcomes are missing, complete-case and
bounds rows are shown beside the primary missing-data rule. Strata (sites) add Cochran-Mantel-Haenszel results; ``adjust`` adds
case-mix adjusted rows (g-computation, IPTW) from :mod:`iopoutcomes.adjust`.

All statistics are functions of counts, obtained through :func:`iopoutcomes._counts.group_counts`
(so pandas, Dask and DuckDB inputs give the same numbers), and computed by :mod:`iopoutcomes._ci`.

Examples
--------
>>> import pandas as pd
>>> from iopoutcomes.compare import compare_rates
>>> df = pd.DataFrame({
...     "cohort": ["IOP"] * 600 + ["inpatient"] * 600,
...     "abstinent_6mo": [1] * 372 + [0] * 228 + [1] * 384 + [0] * 216,
... })
>>> cmp = compare_rates(df, margin=0.10)
>>> row = cmp.to_frame().iloc[0]
>>> print(f"{row['diff']:.2f} ({row['diff_ci_low']:.3f}, {row['diff_ci_high']:.3f}) {row['verdict']}")
-0.02 (-0.075, 0.035) equivalent
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from . import _ci
from ._counts import group_counts, is_dask, is_duckdb, outcome_as_float
from ._input import outcomes_table
from ._render import ResultDisplay
from ._sentences import in_ten
from ._validate import default_reference, validates_confidence_level
from .definitions import MISSING_RULES, parse_timepoint
from .exceptions import InsufficientDataError, MissingColumnError, ParameterError
from .missing import filter_eligible, unfavourable_text
from .outcomes import stay_length_remark
from .rates import weighted_rates
from .schema import BOUND, COMPARISON_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["Comparison", "compare_rates", "VERDICTS", "MISSING_RULES", "TESTS"]

VERDICTS: tuple[str, ...] = ("equivalent", "non-inferior", "inconclusive", "inferior")
TESTS: tuple[str, ...] = ("score", "auto", "chi2", "fisher", "boschloo")
P_ADJUST: tuple[str, ...] = ("holm", "fdr_bh")
ADJUST_METHODS: dict[str, str] = {"gcomp": "adjusted (g-computation)", "iptw": "adjusted (IPTW)"}

_TEST_NAMES = {
    "score": (
        "'N-1' chi-square test (the Miettinen-Nurminen score test of no difference, which the "
        "default interval inverts)"
    ),
    "chi2": "Pearson chi-square test (no continuity correction)",
    "fisher": "Fisher's exact test",
    "boschloo": "Boschloo's exact unconditional test",
}
_INTERVAL_TEXT = {
    "newcombe": (
        "Newcombe's hybrid score interval (Newcombe 1998, method 10: the two Wilson score "
        "intervals combined)"
    ),
    "miettinen-nurminen": (
        "the Miettinen-Nurminen score interval (Miettinen & Nurminen 1985, inverting the score "
        "test with variance factor N/(N-1))"
    ),
    "mee": "the Mee score interval (Mee 1984; Farrington & Manning 1990)",
    "agresti-caffo": (
        "the Agresti-Caffo interval (Agresti & Caffo 2000: Wald after adding one success and "
        "one failure to each group)"
    ),
    "wald": "the Wald interval (normal approximation with unpooled variance)",
}
BOUND_LABELS: tuple[str, ...] = (
    "bounds: all missing unfavourable",
    "bounds: all missing favourable",
    "bounds: worst case for {group}",
    "bounds: best case for {group}",
)
"""Values of the ``missing`` column under ``missing="bounds"`` (``{group}``: the compared group)."""


def _fill_specs(
    missing: str, higher_is_better: bool
) -> list[tuple[str, float | None, float | None]]:
    """(label, value for the group's missing outcomes, value for the reference's)."""
    unfav = 0.0 if higher_is_better else 1.0
    fav = 1.0 - unfav
    if missing == "using":
        return [("using", unfav, unfav)]
    if missing == "exclude":
        return [("exclude", None, None)]
    fills = [(unfav, unfav), (fav, fav), (unfav, fav), (fav, unfav)]
    return [(lab, g, r) for lab, (g, r) in zip(BOUND_LABELS, fills, strict=True)]


def _group_levels(frame: Any, outcome: str, by: str) -> list[Any]:
    """The groups of ``by`` (pandas directly; dask and duckdb through their group counts)."""
    if isinstance(frame, pd.DataFrame):
        return frame[by].dropna().unique().tolist()
    return group_counts(frame, outcome, by)[by].tolist()


def _missing_text(rule: str, outcome: str, higher_is_better: bool) -> str:
    """The missing-data rule in words, following the outcome's direction."""
    unfav = unfavourable_text(outcome, higher_is_better)
    value = 0 if higher_is_better else 1
    if rule == "using":
        return (
            f"Episodes without an observed outcome were counted as {unfav} (missing = using: "
            f"the unfavourable value, {value}; the intention-to-treat convention in addiction "
            "research)"
        )
    if rule == "exclude":
        return (
            "Episodes without an observed outcome were excluded (complete-case analysis, which "
            "assumes follow-up is unrelated to the outcome)"
        )
    if rule == "bounds":
        return (
            "Episodes without an observed outcome were analysed under four assumptions "
            f"(missing = bounds): all counted as unfavourable ({unfav}), all counted as "
            "favourable, and, for each group against the reference, the worst case (the "
            "group's missing outcomes unfavourable, the reference's favourable) and the best "
            "case (the reverse). The worst- and best-case differences are the Horowitz-Manski "
            "bounds: whatever the missing outcomes were, the complete-data difference lies "
            "between them (the two 'all missing' rows are not bounds for the difference)"
        )
    if rule == "impute":
        return (
            "Missing outcomes were multiply imputed (Bayesian logistic regression of the "
            "outcome on the group and covariates; chained equations when covariates are "
            "incomplete) and estimates pooled with Rubin's rules (Rubin 1987): Wald estimates "
            "and variances per imputed data set, Rubin's total variance and t degrees of "
            "freedom"
        )
    return (
        "Followed-up episodes were weighted by the inverse probability of follow-up (logistic "
        "model of follow-up on the group and covariates); rates are weighted, and their "
        "variances come from the M-estimation sandwich that stacks the follow-up model, so the "
        "estimation of the weights is accounted for (Lunceford & Davidian 2004)"
    )


_REFERENCES = {
    "robins": "Robins J (1986). A new approach to causal inference in mortality studies with a "
    "sustained exposure period. Math Model 7:1393-1512.",
    "rosenbaum": "Rosenbaum PR, Rubin DB (1983). The central role of the propensity score in "
    "observational studies for causal effects. Biometrika 70:41-55.",
    "lunceford": "Lunceford JK, Davidian M (2004). Stratification and weighting via the "
    "propensity score in estimation of causal treatment effects. Stat Med 23:2937-2960.",
    "austin": "Austin PC (2009). Balance diagnostics for comparing the distribution of baseline "
    "covariates between treatment groups in propensity-score matched samples. Stat Med "
    "28:3083-3107.",
    "newcombe": (
        "Newcombe RG (1998). Interval estimation for the difference between independent "
        "proportions: comparison of eleven methods. Stat Med 17:873-890."
    ),
    "miettinen-nurminen": (
        "Miettinen O, Nurminen M (1985). Comparative analysis of two rates. Stat Med 4:213-226."
    ),
    "mee": "Mee RW (1984). Confidence bounds for the difference between two probabilities. "
    "Biometrics 40:1175-1176.",
    "agresti-caffo": (
        "Agresti A, Caffo B (2000). Simple and effective confidence intervals for proportions "
        "and differences of proportions result from adding two successes and two failures. "
        "Am Stat 54:280-288."
    ),
    "wilson": (
        "Wilson EB (1927). Probable inference, the law of succession, and statistical "
        "inference. J Am Stat Assoc 22:209-212."
    ),
    "fm": (
        "Farrington CP, Manning G (1990). Test statistics and sample size formulae for "
        "comparative binomial trials with null hypothesis of non-zero risk difference or "
        "non-unity relative risk. Stat Med 9:1447-1454."
    ),
    "schuirmann": (
        "Schuirmann DJ (1987). A comparison of the two one-sided tests procedure and the power "
        "approach for assessing the equivalence of average bioavailability. J Pharmacokinet "
        "Biopharm 15:657-680."
    ),
    "katz": "Katz D, Baptista J, Azen SP, Pike MC (1978). Obtaining confidence intervals for "
    "the risk ratio in cohort studies. Biometrics 34:469-474.",
    "koopman": "Koopman PAR (1984). Confidence intervals for the ratio of two binomial "
    "proportions. Biometrics 40:513-517.",
    "woolf": "Woolf B (1955). On estimating the relation between blood group and disease. "
    "Ann Hum Genet 19:251-253.",
    "fisher": "Fisher RA (1935). The logic of inductive inference. J R Stat Soc 98:39-82.",
    "boschloo": "Boschloo RD (1970). Raised conditional level of significance for the 2x2 "
    "table when testing the equality of two probabilities. Stat Neerl 24:1-9.",
    "cochran": "Cochran WG (1954). Some methods for strengthening the common chi-square tests. "
    "Biometrics 10:417-451.",
    "cmh": "Mantel N, Haenszel W (1959). Statistical aspects of the analysis of data from "
    "retrospective studies of disease. J Natl Cancer Inst 22:719-748.",
    "rgb": "Robins J, Breslow N, Greenland S (1986). Estimators of the Mantel-Haenszel "
    "variance consistent in both sparse data and large-strata limiting models. Biometrics "
    "42:311-323.",
    "sato": "Sato T (1989). On the variance estimator for the Mantel-Haenszel risk difference. "
    "Biometrics 45:1323-1324.",
    "breslow_day": "Breslow NE, Day NE (1980). Statistical Methods in Cancer Research I. IARC; "
    "Tarone RE (1985). On heterogeneity tests based on efficient scores. Biometrika 72:91-95.",
    "holm": "Holm S (1979). A simple sequentially rejective multiple test procedure. Scand J "
    "Stat 6:65-70.",
    "fdr_bh": "Benjamini Y, Hochberg Y (1995). Controlling the false discovery rate. J R Stat "
    "Soc B 57:289-300.",
    "rubin": "Rubin DB (1987). Multiple Imputation for Nonresponse in Surveys. Wiley.",
    "manski": "Horowitz JL, Manski CF (2000). Nonparametric analysis of randomized experiments "
    "with missing covariate and outcome data. J Am Stat Assoc 95:77-84.",
    "kish": "Kish L (1965). Survey Sampling. Wiley.",
    "campbell": "Campbell I (2007). Chi-squared and Fisher-Irwin tests of two-by-two tables "
    "with small sample recommendations. Stat Med 26:3661-3675.",
    "ich": "ICH E9 (1998). Statistical principles for clinical trials, section 5.5; ICH E10 "
    "(2000). Choice of control group, section 1.5.1.4; FDA (2016). Non-inferiority clinical "
    "trials to establish effectiveness: guidance for industry, section IV.",
}


# --- the result --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Comparison(ResultDisplay):
    """Group-versus-reference comparison of a binary outcome (see :func:`compare_rates`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (outcome, group, analysis, missing-data analysis), the primary rule's
        rows first, then (when outcomes are missing and ``sensitivity=True``) the
        complete-case and bounds rows: the columns of
        ``schema.COMPARISON_COLUMNS`` then ``analysis`` ("unadjusted", "adjusted
        (g-computation)", "adjusted (IPTW)"), ``missing`` (the missing-data analysis: "using",
        "exclude", "impute", "ipw", or under bounds :data:`BOUND_LABELS`: "bounds: all
        missing unfavourable", "bounds: all missing favourable", "bounds: worst case for
        <group>", "bounds: best case for <group>"), ``n_missing``, ``n_missing_ref``,
        ``rate_ci_low``, ``rate_ci_high``, ``rate_ref_ci_low``, ``rate_ref_ci_high`` (intervals
        for the reported rates: Wilson on counts; Rubin-pooled Wald under impute; under ipw
        Wilson on the effective sample size ``p(1 - p) / V`` of the M-estimation sandwich
        variance ``V`` (:func:`iopoutcomes.missing.ipw_sandwich`, as in ``outcome_rates``),
        ``confidence_level``, ``interval_method``,
        ``test_method``; with a margin ``margin``, ``equivalence_pvalue``,
        ``noninferiority_pvalue``, ``equivalence_ci_low``, ``equivalence_ci_high`` and
        ``verdict``; with several outcomes ``pvalue_adj``.
    outcome : tuple of str
        The compared outcome columns.
    by, reference : str, object
        Group column and reference level.
    definition : object or None
        The ``OutcomeDefinition`` of the ``EpisodeOutcomes`` analysed (``None`` for a plain
        DataFrame).
    missing_rule : str
        The missing-data rule applied.
    confidence_level, interval, test, alternative, margin, equivalence_alpha, covariates :
        as passed to :func:`compare_rates`.
    higher_is_better : bool
        Direction used by the margin analysis.
    strata, strata_table : str or None, pandas.DataFrame or None
        Stratifying column and the Cochran-Mantel-Haenszel results (one row per outcome,
        group and missing-data analysis): ``n_strata``, ``strata_excluded``,
        ``odds_ratio_mh`` with the Robins-Breslow-Greenland interval, ``diff_mh`` with the
        Sato (1989) interval, ``cmh_statistic``/``cmh_pvalue`` (no continuity correction) and
        ``cmh_pvalue_corrected`` (``max(|D| - 0.5, 0)^2``, as R's ``mantelhaen.test``),
        ``breslow_day_statistic``/``breslow_day_pvalue`` (Tarone corrected) on
        ``breslow_day_df`` degrees of freedom (informative strata - 1: strata with no events
        or only events carry no information on the odds ratio).
    adjust : tuple of str
        Adjustment covariates (empty when unadjusted).
    balance : pandas.DataFrame or None
        Covariate balance of the IPTW analysis (for the love plot).
    p_adjust : str or None
        Multiplicity adjustment used for ``pvalue_adj``.
    remarks : tuple of str
        Caveats: test switches, zero cells, excluded strata, missing groups.

    Notes
    -----
    **Verdict** (only with a ``margin`` ``m > 0``; ``alpha_ni = (1 - confidence_level) / 2``,
    0.025 by default; ``alpha_eq = equivalence_alpha``, 0.05 by default; shown for an outcome
    where higher is better, such as abstinence; with ``higher_is_better=False`` the signs flip):

    * ``equivalent``: both one-sided tests of the TOST reject at level ``alpha_eq``
      (``equivalence_pvalue < alpha_eq``): the difference lies within ``(-m, m)``;
      equivalently the ``1 - 2 alpha_eq`` (90%) interval ``[equivalence_ci_low,
      equivalence_ci_high]`` lies inside the margins (Schuirmann 1987).
    * ``non-inferior``: not equivalent, but the one-sided test of ``H0: diff <= -m`` rejects
      at level ``alpha_ni`` (``noninferiority_pvalue < alpha_ni``): the lower limit of the
      two-sided ``confidence_level`` (95%) interval lies above ``-m`` (ICH E9 section 5.5,
      ICH E10, FDA 2016 non-inferiority guidance). The group is at most ``m`` worse, and
      possibly better by more than ``m``.
    * ``inferior``: the one-sided test of ``H0: diff >= -m`` rejects at level ``alpha_ni``:
      the group is worse than the reference by more than the margin.
    * ``inconclusive``: none of these: the data are compatible with differences inside and
      outside the margin.

    The tests are score tests (Miettinen-Nurminen with the default interval, which inverts
    them exactly; Farrington-Manning with any other interval, which ``"mee"`` inverts; a
    remark names any mismatch of interval and verdict). Under ``missing="impute"`` and
    ``"ipw"`` they are Wald tests on the pooled (Rubin) or sandwich estimate and standard
    error, which the shown Wald intervals invert. The narrative prints every verdict beside
    the interval that inverts its test, labelled with its level.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> out = iop.episode_outcomes(iop.simulate_records(n=100, seed=0))
    >>> cmp = iop.compare_rates(out)
    >>> print(repr(cmp).splitlines()[0])  # doctest: +ELLIPSIS
    <Comparison: abstinent_6mo by cohort vs inpatient, 1 group(s), ... episodes analysed, missing = using>
    >>> cmp.to_frame()[["group", "analysis", "missing"]]  # primary, then sensitivity rows
      group    analysis                           missing
    0   IOP  unadjusted                             using
    1   IOP  unadjusted                           exclude
    2   IOP  unadjusted  bounds: all missing unfavourable
    3   IOP  unadjusted    bounds: all missing favourable
    4   IOP  unadjusted        bounds: worst case for IOP
    5   IOP  unadjusted         bounds: best case for IOP
    """

    table: pd.DataFrame
    outcome: tuple[str, ...]
    by: str
    reference: Any
    definition: Any = None
    missing_rule: str = "using"
    confidence_level: float = 0.95
    interval: str = "miettinen-nurminen"
    test: str = "score"
    alternative: str = "two-sided"
    margin: float | None = None
    higher_is_better: bool = True
    equivalence_alpha: float = 0.05
    covariates: tuple[str, ...] = ()
    strata: str | None = None
    strata_table: pd.DataFrame | None = None
    adjust: tuple[str, ...] = ()
    balance: pd.DataFrame | None = None
    p_adjust: str | None = None
    remarks: tuple[str, ...] = field(default_factory=tuple)

    # -- ResultDisplay -------------------------------------------------------------------------

    def _header(self) -> str:
        unadjusted = self.table[self.table["analysis"] == "unadjusted"]
        groups = unadjusted["group"].nunique()
        first = unadjusted.drop_duplicates("group")
        n_episodes = int(first["n"].sum() + (first["n_ref"].iloc[0] if len(first) else 0))
        outcomes = ", ".join(self.outcome)
        margin = "" if self.margin is None else f", margin {100 * self.margin:g} points"
        return (
            f"<Comparison: {outcomes} by {self.by} vs {self.reference!s}, {groups} group(s), "
            f"{n_episodes:,} episodes analysed, missing = {self.missing_rule}{margin}>"
        )

    def to_frame(self) -> pd.DataFrame:
        """A copy of the tidy comparison table (one row per contrast and analysis).

        Rows of the bounds analysis also say which bound they are in the ``bound`` column
        (``"all missing unfavourable"``, ``"worst case for IOP"`` ...), the convention of
        :class:`~iopoutcomes.rates.RateTable`; their ``missing`` value keeps the full label
        (``"bounds: worst case for IOP"``) for this release.
        """
        out = self.table.copy()
        if "missing" in out and BOUND not in out:
            rule = out["missing"].astype("string")
            is_bound = rule.str.startswith("bounds: ").fillna(False).to_numpy(dtype=bool)
            if is_bound.any():
                bound = rule.str.removeprefix("bounds: ").astype(object)
                out.insert(
                    list(out.columns).index("missing") + 1,
                    BOUND,
                    bound.where(is_bound, None).to_numpy(dtype=object),
                )
        return out

    def definition_text(self) -> str:
        """One paragraph: effect measures, interval, test and missing-data rule."""
        pct = f"{100 * self.confidence_level:g}%"
        if self.missing_rule in ("impute", "ipw"):
            how = (
                "Wald intervals pooled with Rubin's rules (t reference)"
                if self.missing_rule == "impute"
                else "Wilson intervals for the weighted rates and Wald intervals for the "
                "difference and ratios, with M-estimation sandwich variances"
            )
            parts = [
                f"diff = group minus {self.reference!s} rate; {pct} intervals: {how}",
                "test: Wald test of the difference"
                + (" pooled with Rubin's rules" if self.missing_rule == "impute" else ""),
                self._missing_text(),
            ]
        else:
            parts = [
                f"diff = group minus {self.reference!s} rate; {pct} intervals: "
                f"{_INTERVAL_TEXT[self.interval]}",
                f"test: {self._test_phrase()}",
                self._missing_text(),
            ]
        if self.definition is not None and hasattr(self.definition, "describe"):
            parts.insert(0, str(self._definition_applied().describe(self.outcome[0])))
        return "; ".join(parts) + "."

    def _definition_applied(self) -> Any:
        """The definition with the missing-data rule actually applied (for its wording)."""
        d = self.definition
        if getattr(d, "missing", self.missing_rule) != self.missing_rule and hasattr(d, "replace"):
            try:
                return d.replace(missing=self.missing_rule)
            except (TypeError, ValueError, ParameterError):
                return d
        return d

    def _missing_text(self) -> str:
        return _missing_text(self.missing_rule, self.outcome[0], self.higher_is_better)

    def _test_phrase(self) -> str:
        if self.test == "score":
            return (
                "the 'N-1' chi-square test (Pearson's statistic times (N - 1)/N: the "
                "Miettinen-Nurminen score test of no difference)"
            )
        if self.test == "auto":
            return (
                "Pearson chi-square without continuity correction, or Fisher's exact test when "
                "an expected count is below 5"
            )
        return _TEST_NAMES[self.test]

    # -- plain-language output -----------------------------------------------------------------

    def narrative(self) -> str:
        """Plain-language summary of the comparison that a report can quote.

        Generated from the numbers: rates as "about k in 10", the difference in percentage
        points with its interval, the verdict against the margin (or the test without one), the
        missing-data rule and the number of missing outcomes. Inconclusive results are called
        inconclusive. Under ``missing="bounds"`` the opening numbers say that they count every
        missing outcome as unfavourable, and a margin verdict is given only when it holds in
        both the worst and the best case for the group; otherwise the text says that the
        verdict depends on the missing outcomes.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"cohort": ["IOP"] * 50 + ["inpatient"] * 50,
        ...                    "abstinent_6mo": [1] * 30 + [0] * 20 + [1] * 31 + [0] * 19})
        >>> print(compare_rates(df, margin=0.10).narrative())  # doctest: +ELLIPSIS
        At 6 months about 6 in 10 IOP clients (30 of 50) and about 6 in 10 inpatient clients (31 of 50) were abstinent; the difference, -2 points (95% CI -21 to 17), is inconclusive against the 10-point margin: the 95% CI reaches -10, so non-inferiority (one-sided at the 2.5% level) is not shown, and the 90% CI -18 to 14 reaches beyond ...
        """
        t = self.table
        pct = f"{100 * self.confidence_level:g}%"
        sentences: list[str] = []
        primary_missing = t["missing"].iloc[0] if len(t) else None
        for _, row in t[
            (t["analysis"] == "unadjusted") & (t["missing"] == primary_missing)
        ].iterrows():
            if self.missing_rule == "bounds":
                sentences.append(self._bounds_sentence(row, pct))
            else:
                sentences.append(self._row_sentence(row, pct))
        for _, row in t[t["analysis"] != "unadjusted"].iterrows():
            if row["missing"] != primary_missing:
                continue
            counted = (
                ", counting every missing outcome as "
                + unfavourable_text(str(row["outcome"]), self.higher_is_better)
                if self.missing_rule == "bounds"
                else ""
            )
            sentences.append(
                f"{row['analysis'].capitalize()} for {', '.join(self.adjust)}{counted}, the "
                f"difference for {row['group']!s} was {_pts(row['diff'])} points ({pct} CI "
                f"{_pts(row['diff_ci_low'])} to {_pts(row['diff_ci_high'])})."
            )
        sentences.extend(self._sensitivity_sentences(primary_missing))
        sentences.extend(self._missing_sentences())
        return " ".join(sentences)

    def _sensitivity_sentences(self, primary: Any) -> list[str]:
        """The complete-case difference and the Horowitz-Manski bounds beside the primary
        analysis (the sensitivity rows ``compare_rates`` adds when outcomes are missing)."""
        if self.missing_rule == "bounds":
            return []
        t = self.table[self.table["analysis"] == "unadjusted"]
        t = t[t["missing"] != primary]
        if t.empty:
            return []
        pct = f"{100 * self.confidence_level:g}%"
        out = []
        for (_o, g), rows in t.groupby(["outcome", "group"], sort=False):
            by_label = {
                str(m): r for m, (_, r) in zip(rows["missing"], rows.iterrows(), strict=True)
            }
            parts = []
            cc = by_label.get("exclude")
            if cc is not None:
                parts.append(
                    f"counting only clients with an observed outcome (complete case) the "
                    f"difference for {g!s} is {_pts(cc['diff'])} points ({pct} CI "
                    f"{_pts(cc['diff_ci_low'])} to {_pts(cc['diff_ci_high'])})"
                )
            w = by_label.get(BOUND_LABELS[2].format(group=g))
            b = by_label.get(BOUND_LABELS[3].format(group=g))
            if w is not None and b is not None:
                lo_row, hi_row = (w, b) if self.higher_is_better else (b, w)
                parts.append(
                    f"whatever the missing outcomes were, it lies between {_pts(lo_row['diff'])} "
                    f"and {_pts(hi_row['diff'])} points (Horowitz-Manski bounds)"
                )
            if parts:
                out.append("Sensitivity: " + "; ".join(parts) + ".")
        return out

    def _outcome_verb(self, outcome: str) -> str:
        """What a client with the event did, in words that follow the outcome's meaning.

        Abstinence outcomes: "were abstinent"; relapse outcomes where lower is better:
        "relapsed"; any other outcome: "had the event <label>" (lower is better) or "had the
        outcome <label>", with the definition's label when it has one.
        """
        if outcome.startswith("abstinent") or outcome.endswith("_abstinence"):
            return "were abstinent"
        if "relaps" in outcome and not self.higher_is_better:
            return "relapsed"
        label = f"'{outcome}'"
        d = self.definition
        if d is not None and callable(getattr(d, "label", None)):
            try:
                text = str(d.label(outcome))
            except (TypeError, ValueError, KeyError, ParameterError):
                text = ""
            if text and text != outcome.replace("_", " "):  # a label, not the fallback
                text = text[0].lower() + text[1:] if text[1:2].islower() else text
                label = f"'{text}'"
        return f"had the {'outcome' if self.higher_is_better else 'event'} {label}"

    def _head(self, row: pd.Series, pct: str, assumption: str = "", closed: bool = False) -> str:
        """Rates, counts and the difference with its interval (no verdict).

        ``assumption`` (e.g. how missing outcomes were counted) follows the timepoint;
        ``closed`` ends with "the difference was ..." instead of an opening "the difference, ...".
        """
        when = _timepoint_phrase(str(row["outcome"]))
        verb = self._outcome_verb(str(row["outcome"]))
        count = (
            "{:.0f} of {:.0f}".format(row["n_events"], row["n"])
            if row["missing"] not in ("impute", "ipw")
            else f"{100 * row['rate']:.0f}%"
        )
        count_ref = (
            "{:.0f} of {:.0f}".format(row["n_events_ref"], row["n_ref"])
            if row["missing"] not in ("impute", "ipw")
            else f"{100 * row['rate_ref']:.0f}%"
        )
        if assumption:
            when = f"{when.rstrip(',')}, {assumption},"
        return (
            f"{when} {in_ten(row['rate'])} {row['group']!s} clients ({count}) and "
            f"{in_ten(row['rate_ref'])} {row['reference']!s} clients ({count_ref}) {verb}; "
            f"the difference{' was' if closed else ','} {_pts(row['diff'])} points ({pct} CI "
            f"{_pts(row['diff_ci_low'])} "
            f"to {_pts(row['diff_ci_high'])})"
        )

    def _eq_ci(self, row: pd.Series) -> str:
        eq_pct = f"{100 * (1 - 2 * self.equivalence_alpha):g}%"
        return (
            f"{eq_pct} CI {_pts(row['equivalence_ci_low'])} to {_pts(row['equivalence_ci_high'])}"
        )

    def _both_ci(self, row: pd.Series) -> str:
        """The interval of the non-inferiority test and that of the TOST, with their levels."""
        pct = f"{100 * self.confidence_level:g}%"
        return (
            f"{pct} CI {_pts(row['diff_ci_low'])} to {_pts(row['diff_ci_high'])}, "
            f"{self._eq_ci(row)}"
        )

    def _levels(self) -> tuple[str, str]:
        """(non-inferiority level, level of each TOST half) as percentages."""
        return (
            f"{100 * (1 - self.confidence_level) / 2:g}%",
            f"{100 * self.equivalence_alpha:g}%",
        )

    def _bounds_sentence(self, row: pd.Series, pct: str) -> str:
        """The "all missing unfavourable" row, saying so, then the margin verdict of the bounds.

        A verdict is given for the bounds analysis only when it holds in both the worst and
        the best case for the group (its missing outcomes unfavourable and the reference's
        favourable, and the reverse); otherwise the verdict depends on the missing outcomes.
        """
        unfav = unfavourable_text(str(row["outcome"]), self.higher_is_better)
        assumption = f"counting every missing outcome as {unfav}"
        head = self._head(row, pct, assumption, closed=True)
        g, ref = row["group"], row["reference"]
        if self.margin is None or "verdict" not in row.index:
            return self._verdict_text(row, self._head(row, pct, assumption))
        t = self.table
        same = t[
            (t["analysis"] == "unadjusted")
            & (t["outcome"] == row["outcome"])
            & (t["group"].astype(str) == str(g))
        ].set_index("missing")
        worst_label = BOUND_LABELS[2].format(group=g)
        best_label = BOUND_LABELS[3].format(group=g)
        if worst_label not in same.index or best_label not in same.index:
            return self._verdict_text(row, self._head(row, pct, assumption))
        w, b = same.loc[worst_label], same.loc[best_label]
        vw, vb = w["verdict"], b["verdict"]
        m = _pts(self.margin)
        cases = (
            f"the worst case for {g!s} ({self._both_ci(w)}) and the best case ({self._both_ci(b)})"
        )
        if vw == "equivalent" and vb == "equivalent":
            verdict = (
                f"Whatever the missing outcomes were, the difference lies within the {m}-point "
                f"equivalence margin: equivalence holds in both {cases}."
            )
        elif {vw, vb} <= {"equivalent", "non-inferior"}:
            verdict = (
                f"Whatever the missing outcomes were, {g!s} is not worse than {ref!s} by {m} "
                f"points or more: non-inferiority holds in both {cases}, but equivalence within "
                "the margin is not shown in both."
            )
        elif vw == "inferior" and vb == "inferior":
            verdict = (
                f"Whatever the missing outcomes were, {g!s} does worse than {ref!s} by more than "
                f"the {m}-point margin, in both {cases}."
            )
        elif not ({vw, vb} & {"equivalent", "non-inferior"}):
            verdict = (
                f"Against the {m}-point margin neither equivalence nor non-inferiority is shown: "
                f"the result is {vw if vw in VERDICTS else 'not available'} in the worst case "
                f"for {g!s} ({self._both_ci(w)}) and "
                f"{vb if vb in VERDICTS else 'not available'} in the best case "
                f"({self._both_ci(b)})."
            )
        else:
            verdict = (
                f"Against the {m}-point margin the verdict depends on the missing outcomes: "
                f"{vw if vw in VERDICTS else 'not available'} in the worst case for {g!s} "
                f"({self._both_ci(w)}) and {vb if vb in VERDICTS else 'not available'} in the "
                f"best case ({self._both_ci(b)}), so neither equivalence nor non-inferiority is "
                "shown without an assumption about them."
            )
        ni_lvl, eq_lvl = self._levels()
        levels = (
            f" (Non-inferiority one-sided at the {ni_lvl} level, the {100 * self.confidence_level:g}%"
            f" CI; equivalence by two one-sided tests at the {eq_lvl} level each, the "
            f"{100 * (1 - 2 * self.equivalence_alpha):g}% CI.)"
        )
        return f"{head}. {verdict}{levels}"

    def _row_sentence(self, row: pd.Series, pct: str) -> str:
        return self._verdict_text(row, self._head(row, pct))

    def _verdict_text(self, row: pd.Series, head: str) -> str:
        if self.margin is None or "verdict" not in row.index:
            p = row["pvalue"]
            if not np.isfinite(p):
                return head + ", could not be tested."
            alpha = 1 - self.confidence_level
            if p < alpha:
                return head + f", is statistically significant ({_p(p)})."
            return (
                head + f", is not statistically significant ({_p(p)}); this alone does not "
                "show that the programs are equally effective (no equivalence margin was set)."
            )
        m = _pts(self.margin)
        eq_ci = self._eq_ci(row)
        verdict = row["verdict"]
        g, ref = row["group"], row["reference"]
        pct = f"{100 * self.confidence_level:g}%"
        ni_lvl, eq_lvl = self._levels()
        p = row["pvalue"]
        significant = bool(np.isfinite(p) and p < 1 - self.confidence_level)
        sign = 1.0 if self.higher_is_better else -1.0
        better = sign * float(row["diff"]) > 0
        lim_name, lim, other_name, other = (
            ("lower", row["diff_ci_low"], "upper", row["diff_ci_high"])
            if self.higher_is_better
            else ("upper", row["diff_ci_high"], "lower", row["diff_ci_low"])
        )
        bad_margin = f"{_pts(-sign * self.margin)}"
        ni_side, inf_side = ("above", "below") if self.higher_is_better else ("below", "above")
        sig = (
            f"; the difference itself is statistically significant ({_p(p)}): {g!s} does "
            f"{'better' if better else 'worse'} than {ref!s}"
            if significant
            else ""
        )
        if verdict == "equivalent":
            return (
                head + f", lies within the {m}-point equivalence margin (the {eq_ci} lies "
                f"inside -{m} to {m}; two one-sided tests at the {eq_lvl} level each, "
                f"{_p(row['equivalence_pvalue'])}){sig}."
            )
        if verdict == "non-inferior":
            return (
                head + f", shows {g!s} is not worse than {ref!s} by {m} points or more (the "
                f"{pct} CI's {lim_name} limit, {_pts_fine(lim)}, is {ni_side} {bad_margin}; one-sided "
                f"non-inferiority test at the {ni_lvl} level, "
                f"{_p(row['noninferiority_pvalue'])}){sig}, but equivalence within the margin "
                f"is not shown (the {eq_ci} reaches beyond it)."
            )
        if verdict == "inferior":
            return (
                head + f", shows {g!s} doing worse than {ref!s} by more than the {m}-point "
                f"margin (the {pct} CI's {other_name} limit, {_pts_fine(other)}, is {inf_side} "
                f"{bad_margin}; one-sided test at the {ni_lvl} level)."
            )
        if verdict not in VERDICTS:
            return head + f", could not be judged against the {m}-point margin."
        if significant:
            return (
                head + f", is statistically significant ({_p(p)}): {g!s} does "
                f"{'better' if better else 'worse'} than {ref!s}. Whether it does worse by "
                f"more than the {m}-point margin is not shown: the {pct} CI reaches "
                f"{bad_margin} (one-sided tests at the {ni_lvl} level), so against the margin "
                "the result is inconclusive."
            )
        return (
            head + f", is inconclusive against the {m}-point margin: the {pct} CI reaches "
            f"{bad_margin}, so non-inferiority (one-sided at the {ni_lvl} level) is not shown, "
            f"and the {eq_ci} reaches beyond the margin, so equivalence (two one-sided tests "
            f"at the {eq_lvl} level each) is not shown; more clients are needed to decide."
        )

    def _missing_sentences(self) -> list[str]:
        t = self.table[self.table["analysis"] == "unadjusted"]
        if self.missing_rule == "bounds":
            pct = f"{100 * self.confidence_level:g}%"
            out = []
            for (_o, g), rows in t.groupby(["outcome", "group"], sort=False):
                by_label = {
                    str(m).replace(f" for {g!s}", " for {group}"): r
                    for m, (_, r) in zip(rows["missing"], rows.iterrows(), strict=True)
                }
                a, b = by_label.get(BOUND_LABELS[0]), by_label.get(BOUND_LABELS[1])
                w, v = by_label.get(BOUND_LABELS[2]), by_label.get(BOUND_LABELS[3])
                if a is None or b is None or w is None or v is None:
                    continue
                lo_row, hi_row = (w, v) if self.higher_is_better else (v, w)
                out.append(
                    f"Counting every missing outcome as unfavourable gives a difference of "
                    f"{_pts(a['diff'])} points for {g!s}, and as favourable {_pts(b['diff'])} "
                    "points; these two are not bounds for the difference. Whatever the missing "
                    f"outcomes were, the difference for {g!s} lies between {_pts(lo_row['diff'])} "
                    f"and {_pts(hi_row['diff'])} points (worst case for {g!s}: its missing "
                    f"outcomes unfavourable and {self.reference!s}'s favourable, and best case, "
                    "the reverse; Horowitz-Manski bounds), or between "
                    f"{_pts(lo_row['diff_ci_low'])} and {_pts(hi_row['diff_ci_high'])} points "
                    f"allowing for sampling error ({pct} intervals of the two cases)."
                )
            return out
        first = t.iloc[0] if len(t) else None
        if first is None:
            return []
        unfav = unfavourable_text(self.outcome[0], self.higher_is_better)
        phrase = {
            "using": f"Clients without an outcome were counted as {unfav} (missing = using)",
            "exclude": "Clients without an outcome were left out (missing = exclude)",
            "impute": "Missing outcomes were multiply imputed (missing = impute)",
            "ipw": "Followed-up clients were weighted for loss to follow-up (missing = ipw)",
        }[self.missing_rule]
        nm = first.get("n_missing", np.nan)
        nm_ref = first.get("n_missing_ref", np.nan)
        if nm == 0 and nm_ref == 0:
            phrase += "; no outcomes were missing"
        elif np.isfinite(nm) and np.isfinite(nm_ref):
            phrase += (
                f"; {nm:.0f} {first['group']!s} and {nm_ref:.0f} {first['reference']!s} outcomes "
                "were missing"
            )
        return [phrase + "."]

    def methods_text(self) -> str:
        """Methods paragraph with references, ready for a paper's methods section."""
        lvl = f"{100 * self.confidence_level:g}%"
        refs = ["wilson", self.interval if self.interval != "wald" else "newcombe"]
        text = []
        if self.definition is not None and hasattr(self.definition, "describe"):
            applied = self._definition_applied()
            defs = "; ".join(str(applied.describe(o)) for o in self.outcome)
            text.append(f"Outcome: {defs}.")
        else:
            text.append(f"Outcome: {', '.join(self.outcome)} (binary).")
        text.append(
            f"Each {self.by} group was compared with the {self.reference!s} group. "
            f"{self._missing_text()}."
        )
        if self.missing_rule == "bounds":
            refs.append("manski")
        if self.missing_rule in ("impute", "ipw"):
            refs = ["rubin"] if self.missing_rule == "impute" else ["lunceford"]
            model = ", ".join([self.by, *self._model_covariates()])
            text.append(
                f"The {'imputation' if self.missing_rule == 'impute' else 'follow-up'} model "
                f"used {model}."
            )
            if self.missing_rule == "impute":
                text.append(
                    "In each imputed data set the rates, the difference, the log risk ratio and "
                    "the log odds ratio were estimated with Wald (binomial) variances; they were "
                    f"pooled with Rubin's rules and given with {lvl} intervals from the t "
                    "distribution with Rubin's degrees of freedom; rate intervals are pooled "
                    "Wald intervals, and the difference was tested with the pooled Wald test."
                )
            else:
                refs.append("lunceford")
                text.append(
                    "Rates are weighted proportions among the followed-up; their covariance "
                    "comes from the M-estimation sandwich of the stacked estimating equations "
                    "of the follow-up model and the weighted means (Lunceford & Davidian "
                    "2004), which accounts for the weights being estimated. Rates are given "
                    f"with {lvl} Wilson score intervals (Wilson 1927) on the effective sample "
                    "size p(1 - p)/variance; the difference, the log risk ratio and the log "
                    f"odds ratio with {lvl} Wald intervals (delta method), and the difference "
                    "was tested with the Wald test."
                )
        else:
            ratio = (
                "Koopman score" if self.interval in ("miettinen-nurminen", "mee") else "Katz log"
            )
            refs += ["koopman" if ratio.startswith("Koopman") else "katz", "woolf"]
            text.append(
                f"Rates are given with {lvl} Wilson score intervals (Wilson 1927). The difference "
                f"in rates (group minus reference) is given with {_INTERVAL_TEXT[self.interval]}, "
                f"the risk ratio with the {ratio} interval and the odds ratio with Woolf's logit "
                "interval (0.5 added to every cell of a table with a zero cell; not estimable "
                "when both groups have no events or both have only events)."
            )
            text.append(self._test_sentence(refs))
        if self.margin is not None:
            refs += ["fm", "schuirmann", "ich"]
            ni = (1 - self.confidence_level) / 2
            eq = self.equivalence_alpha
            if self.missing_rule in ("impute", "ipw"):
                how = (
                    "Wald tests on the pooled (impute) or sandwich (ipw) estimate and standard "
                    "error of the difference, shifted by the margin"
                )
            else:
                var = (
                    "Miettinen-Nurminen"
                    if self.interval == "miettinen-nurminen"
                    else "Farrington-Manning"
                )
                how = (
                    f"{var} score tests of the shifted hypotheses (Farrington & Manning 1990; "
                    "null-restricted maximum-likelihood proportions from Miettinen & Nurminen "
                    "1985)"
                )
            text.append(
                f"With a margin of {100 * self.margin:g} percentage points, non-inferiority was "
                f"tested one-sided at level {ni:g} (ICH E9/E10, FDA 2016), which is whether the "
                f"lower limit of the two-sided {lvl} interval lies above minus the margin; "
                f"equivalence with two one-sided tests (Schuirmann 1987) at level {eq:g} each, "
                f"the {100 * (1 - 2 * eq):g}% interval lying inside the margins; both with "
                f"{how}."
            )
        if (
            self.missing_rule not in ("bounds",)
            and (self.table["missing"] != self.missing_rule).any()
        ):
            refs.append("manski")
            text.append(
                "As sensitivity analyses, the complete-case comparison and the four bounds "
                "analyses (Horowitz & Manski 2000) are reported beside the primary one."
            )
        if self.strata is not None:
            refs += ["cochran", "cmh", "rgb", "sato", "breslow_day"]
            text.append(
                f"Stratified by {self.strata}: Cochran-Mantel-Haenszel test (no continuity "
                "correction), Mantel-Haenszel common odds ratio with the Robins-Breslow-Greenland "
                "variance, Mantel-Haenszel risk difference with the Sato (1989) variance, and the "
                "Breslow-Day test of homogeneous odds ratios with Tarone's correction."
            )
        if self.adjust:
            from .manuscript import adjustment_text

            text.append(adjustment_text(self))
            refs += ["robins", "rosenbaum", "lunceford", "austin"]
        if self.p_adjust is not None:
            refs.append(self.p_adjust)
            name = "Holm's" if self.p_adjust == "holm" else "the Benjamini-Hochberg"
            text.append(f"P-values across outcomes and groups were adjusted with {name} method.")
        if self.missing_rule == "impute" and "rubin" not in refs:
            refs.append("rubin")
        seen: list[str] = []
        for r in refs:
            if r in _REFERENCES and _REFERENCES[r] not in seen:
                seen.append(_REFERENCES[r])
        return " ".join(text) + "\n\nReferences\n" + "\n".join(f"- {r}" for r in seen)

    def _model_covariates(self) -> list[str]:
        d = self.definition
        return list(
            dict.fromkeys([*self.covariates, *(getattr(d, "covariates", ()) or ()), *self.adjust])
        )

    def _test_sentence(self, refs: list[str]) -> str:
        if self.test == "score":
            refs.append("campbell")
            test = (
                "The hypothesis of equal rates was tested with the 'N-1' chi-square test "
                "(Pearson's statistic times (N - 1)/N; Campbell 2007), the Miettinen-Nurminen "
                "score test of no difference, so that the test and the "
                + (
                    "difference interval always agree"
                    if self.interval == "miettinen-nurminen"
                    else "Miettinen-Nurminen interval agree"
                )
            )
        elif self.test == "auto":
            refs.append("fisher")
            test = (
                "The hypothesis of equal rates was tested with Pearson's chi-square test without "
                "continuity correction, replaced by Fisher's exact test (Fisher 1935) for "
                "contrasts with an expected cell count below 5 (named in the results)"
            )
        elif self.test == "boschloo":
            refs.append("boschloo")
            test = (
                "The hypothesis of equal rates was tested with Boschloo's exact unconditional "
                "test (Boschloo 1970)"
            )
        elif self.test == "fisher":
            refs.append("fisher")
            test = "The hypothesis of equal rates was tested with Fisher's exact test (Fisher 1935)"
        else:
            test = (
                "The hypothesis of equal rates was tested with Pearson's chi-square test without "
                "continuity correction"
            )
        return f"{test} ({self.alternative})."

    def e_value(self, measure: Literal["rr", "or"] = "rr", *, rare: bool = False) -> Any:
        """E-values (VanderWeele & Ding 2017) of every row's risk ratio or odds ratio.

        See :func:`iopoutcomes.robustness.e_value`; rows are labelled "outcome: group vs
        reference (analysis, missing)".

        Examples
        --------
        >>> import iopoutcomes as iop
        >>> out = iop.episode_outcomes(iop.simulate_records(n=100, seed=0))
        >>> cmp = iop.compare_rates(out, sensitivity=False)
        >>> cmp.e_value().to_frame()["measure"].tolist()
        ['rr']
        """
        from .evalue import e_value

        if measure not in ("rr", "or"):
            raise ParameterError(f"measure must be 'rr' or 'or'; received {measure!r}.")
        col = "ratio" if measure == "rr" else "odds_ratio"
        t = self.table
        labels = (
            t["outcome"].astype(str)
            + ": "
            + t["group"].astype(str)
            + " vs "
            + t["reference"].astype(str)
            + " ("
            + t["analysis"].astype(str)
            + ", "
            + t["missing"].astype(str)
            + ")"
        ).tolist()
        return e_value(
            t[col].to_numpy(dtype=float),
            t[f"{col}_ci_low"].to_numpy(dtype=float),
            t[f"{col}_ci_high"].to_numpy(dtype=float),
            measure=measure,
            rare=rare,
            labels=labels,
        )

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Any:
        """Forest plot of the differences (``iopoutcomes.plots.plot_comparison``) of the
        primary missing-data rule (the sensitivity rows are in :meth:`to_frame`)."""
        import dataclasses

        from .plots import plot_comparison

        rule = self.table["missing"].astype(str)
        keep = rule.str.startswith("bounds") if self.missing_rule == "bounds" else None
        if keep is None:
            keep = rule == self.missing_rule
        target = self
        if not bool(keep.all()):
            target = dataclasses.replace(self, table=self.table[keep.to_numpy()])
        return plot_comparison(target, ax=ax, **kwargs)


# --- text helpers ------------------------------------------------------------------------------


def _pts(value: float) -> str:
    """Proportion -> whole percentage points ("-2"), never "-0"."""
    if value is None or not np.isfinite(value):
        return "n/a"
    v = math.floor(100 * float(value) + 0.5)
    return str(0 if v == 0 else v)


def _pts_fine(value: float) -> str:
    """Proportion -> percentage points with one decimal ("-9.6"), for a limit beside a margin."""
    if value is None or not np.isfinite(value):
        return "n/a"
    v = math.floor(1000 * float(value) + 0.5) / 10
    return f"{0.0 if v == 0 else v:.1f}"


def _p(p: float) -> str:
    if not np.isfinite(p):
        return "p not available"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _timepoint_phrase(outcome: str) -> str:
    parsed = parse_timepoint(outcome.rsplit("_", 1)[-1]) if "_" in outcome else None
    if parsed is not None:
        k, unit = parsed[0], "month" if parsed[1] == "mo" else "week"
        return f"At {k} {unit}{'s' if k != 1 else ''}"
    if outcome.endswith("_discharge"):
        return "At discharge"
    return f"For {outcome},"


# --- input handling ----------------------------------------------------------------------------


def _as_pandas(frame: Any) -> pd.DataFrame:
    if is_dask(frame):
        return frame.compute()
    if is_duckdb(frame):
        return frame.df()
    return frame


def _eligible(frame: Any, outcome: str, definition: Any, rule: str) -> tuple[Any, list[str]]:
    """The episodes in the denominator (:func:`iopoutcomes.missing.eligible_mask`): follow-up
    due, minus died/incarcerated under ``death_policy="exclude"``; the shared remarks."""
    death_policy = (
        getattr(definition, "death_policy", "missing") if definition is not None else "missing"
    )
    data, elig = filter_eligible(frame, outcome, death_policy=death_policy, definition=definition)
    return data, elig.remarks(missing=rule)


# --- the two-group statistics (vectorised over contrasts) --------------------------------------


def _expected_min(x1: np.ndarray, n1: np.ndarray, x0: np.ndarray, n0: np.ndarray) -> np.ndarray:
    big_n = n1 + n0
    events = x1 + x0
    with np.errstate(divide="ignore", invalid="ignore"):
        cells = np.stack(
            [
                n1 * events / big_n,
                n1 * (big_n - events) / big_n,
                n0 * events / big_n,
                n0 * (big_n - events) / big_n,
            ]
        )
    return np.asarray(np.min(cells, axis=0), dtype=float)


def _fisher(x1: float, n1: float, x0: float, n0: float, alternative: str) -> float:
    table = np.array([[x1, n1 - x1], [x0, n0 - x0]], dtype=np.int64)
    return float(stats.fisher_exact(table, alternative=alternative).pvalue)


def _boschloo(x1: float, n1: float, x0: float, n0: float, alternative: str) -> tuple[float, float]:
    # scipy's Boschloo compares the two *columns*
    table = np.array([[x1, x0], [n1 - x1, n0 - x0]], dtype=np.int64)
    res = stats.boschloo_exact(table, alternative=alternative)
    return float(res.statistic), float(res.pvalue)


def _two_group_rows(
    x1: np.ndarray,
    n1: np.ndarray,
    x0: np.ndarray,
    n0: np.ndarray,
    *,
    interval: str,
    test: str,
    alternative: str,
    confidence_level: float,
    margin: float | None,
    higher_is_better: bool,
    integer_counts: bool = True,
    equivalence_alpha: float = 0.05,
) -> tuple[dict[str, np.ndarray], list[str]]:
    """All contrast statistics for arrays of (x1, n1) versus (x0, n0)."""
    notes: list[str] = []
    x1, n1, x0, n0 = (np.asarray(v, dtype=float) for v in (x1, n1, x0, n0))
    ok = (n1 > 0) & (n0 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(n1 > 0, x1 / n1, np.nan)
        rate_ref = np.where(n0 > 0, x0 / n0, np.nan)
        ratio = np.where(ok, rate / rate_ref, np.nan)
    out: dict[str, np.ndarray] = {"rate": rate, "rate_ref": rate_ref, "diff": rate - rate_ref}
    out["rate_ci_low"], out["rate_ci_high"] = (
        np.asarray(v, dtype=float) for v in _ci.proportion_ci(x1, n1, "wilson", confidence_level)
    )
    out["rate_ref_ci_low"], out["rate_ref_ci_high"] = (
        np.asarray(v, dtype=float) for v in _ci.proportion_ci(x0, n0, "wilson", confidence_level)
    )
    lo, hi = _ci.diff_ci(x1, n1, x0, n0, interval, confidence_level)
    out["diff_ci_low"], out["diff_ci_high"] = np.asarray(lo, float), np.asarray(hi, float)
    ratio_method = "koopman" if interval in ("miettinen-nurminen", "mee") else "katz"
    if interval == "miettinen-nurminen":
        ratio_method = "miettinen-nurminen"
    lo, hi = _ci.ratio_ci(x1, n1, x0, n0, ratio_method, confidence_level)
    out["ratio"], out["ratio_ci_low"], out["ratio_ci_high"] = ratio, np.asarray(lo), np.asarray(hi)
    # With a zero cell the Woolf interval is centred on the 0.5-corrected log odds ratio, so
    # the estimate gets the same (Haldane-Anscombe) correction and lies inside its interval.
    out["odds_ratio"] = np.asarray(_ci.odds_ratio(x1, n1, x0, n0, zero_correction=True), float)
    lo, hi = _ci.odds_ratio_ci(x1, n1, x0, n0, "woolf", confidence_level)
    out["odds_ratio_ci_low"], out["odds_ratio_ci_high"] = np.asarray(lo), np.asarray(hi)
    zero = ok & ((x1 == 0) | (x0 == 0) | (x1 == n1) | (x0 == n0))
    if zero.any():
        notes.append(
            "0.5 was added to every cell of the 2x2 table for the odds ratio and its interval"
            + (" and the Katz risk-ratio interval" if ratio_method == "katz" else "")
            + " of contrasts with a zero cell: {groups}."
        )

    # test of no difference
    k = x1.shape[0]
    statistic = np.full(k, np.nan)
    pvalue = np.full(k, np.nan)
    method = np.empty(k, dtype=object)
    expected = _expected_min(x1, n1, x0, n0)
    chosen = np.full(k, test, dtype=object)
    if test == "auto":
        chosen = np.where(expected < 5, "fisher", "chi2").astype(object)
    # contrasts with an empty group get placeholder counts (their results are set to nan)
    xs1, xs0 = np.where(ok, x1, 0.0), np.where(ok, x0, 0.0)
    ns1, ns0 = np.where(ok, n1, 1.0), np.where(ok, n0, 1.0)
    z, p_z = _ci.score_test_diff(xs1, ns1, xs0, ns0, 0.0, alternative)
    z_mn, p_mn = _ci.score_test_diff(xs1, ns1, xs0, ns0, 0.0, alternative, "miettinen-nurminen")
    pooled = np.where(ok, (x1 + x0) / np.where(ok, n1 + n0, 1), np.nan)
    defined = ok & (pooled > 0) & (pooled < 1)
    chi = chosen == "chi2"
    statistic[chi] = np.where(defined, np.asarray(z, float) ** 2, np.nan)[chi]
    pvalue[chi] = np.where(defined, np.asarray(p_z, float), np.nan)[chi]
    sc = chosen == "score"
    # every client with the event, or none: the rates are equal and the score statistic's
    # numerator is 0, so the statistic is 0 and p = 1 (its limit), not missing
    statistic[sc] = np.where(ok, np.asarray(z_mn, float) ** 2, np.nan)[sc]
    pvalue[sc] = np.where(ok, np.asarray(p_mn, float), np.nan)[sc]
    for i in np.flatnonzero(ok & (chosen != "chi2") & (chosen != "score")):
        if not integer_counts:
            chosen[i] = "chi2"
            statistic[i] = float(np.asarray(z)[i] ** 2) if defined[i] else np.nan
            pvalue[i] = float(np.asarray(p_z)[i]) if defined[i] else np.nan
            continue
        if chosen[i] == "fisher":
            pvalue[i] = _fisher(x1[i], n1[i], x0[i], n0[i], alternative)
        else:
            statistic[i], pvalue[i] = _boschloo(x1[i], n1[i], x0[i], n0[i], alternative)
    for j in range(k):
        method[j] = _TEST_NAMES[str(chosen[j])] + (
            f" ({alternative})" if alternative != "two-sided" else ""
        )
    out["statistic"], out["pvalue"], out["method"] = statistic, pvalue, method
    out["_chosen"] = chosen
    out["_expected_min"] = expected

    if margin is not None:
        # non-inferiority (and inferiority) one-sided at (1 - confidence_level) / 2: the
        # lower (upper) limit of the two-sided interval (ICH E9/E10, FDA 2016); each half of
        # the TOST at equivalence_alpha, the 1 - 2 equivalence_alpha interval (Schuirmann 1987)
        alpha = (1.0 - confidence_level) / 2.0
        eq_alpha = float(equivalence_alpha)
        variance = (
            "miettinen-nurminen" if interval == "miettinen-nurminen" else "farrington-manning"
        )
        m = float(margin)
        if higher_is_better:
            _, p_ni = _ci.score_test_diff(xs1, ns1, xs0, ns0, -m, "greater", variance)
            _, p_upper = _ci.score_test_diff(xs1, ns1, xs0, ns0, m, "less", variance)
            _, p_inf = _ci.score_test_diff(xs1, ns1, xs0, ns0, -m, "less", variance)
        else:
            _, p_ni = _ci.score_test_diff(xs1, ns1, xs0, ns0, m, "less", variance)
            _, p_upper = _ci.score_test_diff(xs1, ns1, xs0, ns0, -m, "greater", variance)
            _, p_inf = _ci.score_test_diff(xs1, ns1, xs0, ns0, m, "greater", variance)
        p_ni, p_upper, p_inf = (
            np.where(ok, np.asarray(v, float), np.nan) for v in (p_ni, p_upper, p_inf)
        )
        p_eq = np.maximum(p_ni, p_upper)
        lo, hi = _ci.diff_ci(x1, n1, x0, n0, interval, 1.0 - 2.0 * eq_alpha)
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        verdict = np.where(
            p_eq < eq_alpha,
            "equivalent",
            np.where(
                p_ni < alpha, "non-inferior", np.where(p_inf < alpha, "inferior", "inconclusive")
            ),
        ).astype(object)
        verdict[~ok] = None
        out["margin"] = np.full(k, m)
        out["equivalence_pvalue"] = p_eq
        out["noninferiority_pvalue"] = p_ni
        out["equivalence_ci_low"], out["equivalence_ci_high"] = lo, hi
        out["verdict"] = verdict
        # the interval and the test agree exactly only for the score interval they invert
        inside = (lo > -m) & (hi < m)
        main_lo, main_hi = out["diff_ci_low"], out["diff_ci_high"]
        ni_ci = (main_lo > -m) if higher_is_better else (main_hi < m)
        disagree = ok & (((p_eq < eq_alpha) != inside) | ((p_ni < alpha) != ni_ci))
        out["_disagree"] = disagree
    return out, notes


# --- CMH over strata ---------------------------------------------------------------------------


def _mh_risk_difference(
    x1: np.ndarray, n1: np.ndarray, x0: np.ndarray, n0: np.ndarray, confidence_level: float
) -> tuple[float, float, float]:
    """Mantel-Haenszel risk difference with the Sato (1989) variance.

    ``RD = sum((x1 n0 - x0 n1)/N) / sum(n1 n0 / N)``;
    ``Var = (RD sum(P) + sum(Q)) / sum(W)^2`` with
    ``P = (n1^2 x0 - n0^2 x1 + n1 n0 (n0 - n1)/2) / N^2`` and
    ``Q = (x1 (n0 - x0) + x0 (n1 - x1)) / (2N)``, consistent in sparse and large strata
    (Greenland & Robins 1985's estimator is not).

    >>> rd, lo, hi = _mh_risk_difference(np.array([20.]), np.array([40.]), np.array([25.]),
    ...                                  np.array([45.]), 0.95)
    >>> round(rd, 6)   # one stratum: the crude difference 20/40 - 25/45
    -0.055556
    """
    big_n = n1 + n0
    w = n1 * n0 / big_n
    rd = float(np.sum((x1 * n0 - x0 * n1) / big_n) / np.sum(w))
    p = (n1**2 * x0 - n0**2 * x1 + n1 * n0 * (n0 - n1) / 2.0) / big_n**2
    q = (x1 * (n0 - x0) + x0 * (n1 - x1)) / (2.0 * big_n)
    var = (rd * np.sum(p) + np.sum(q)) / np.sum(w) ** 2
    z = _ci.z_value(confidence_level)
    se = math.sqrt(max(float(var), 0.0))
    return rd, rd - z * se, rd + z * se


def _strata_row(
    counts: pd.DataFrame,
    strata: str,
    by: str,
    group: Any,
    reference: Any,
    confidence_level: float,
) -> tuple[dict[str, Any], list[str]]:
    from statsmodels.stats.contingency_tables import StratifiedTable

    g = counts[counts[by] == group].set_index(strata)
    r = counts[counts[by] == reference].set_index(strata)
    both = g.index.intersection(r.index)
    both = [s for s in both if g.loc[s, "n"] > 0 and r.loc[s, "n"] > 0]
    excluded = sorted(set(g.index).union(r.index) - set(both), key=str)
    notes = []
    if excluded:
        notes.append(
            f"{len(excluded)} {strata} stratum/strata with only one of {group!s} and "
            f"{reference!s} were left out of the Mantel-Haenszel analysis of {group!s}: "
            f"{', '.join(map(str, excluded))}."
        )
    row: dict[str, Any] = {
        "group": group,
        "reference": reference,
        "n_strata": len(both),
        "strata_excluded": len(excluded),
    }
    keys = [
        "odds_ratio_mh",
        "odds_ratio_mh_ci_low",
        "odds_ratio_mh_ci_high",
        "diff_mh",
        "diff_mh_ci_low",
        "diff_mh_ci_high",
        "cmh_statistic",
        "cmh_pvalue",
        "cmh_pvalue_corrected",
        "breslow_day_statistic",
        "breslow_day_pvalue",
        "breslow_day_df",
    ]
    row.update({k: np.nan for k in keys})
    if not both:
        notes.append(
            f"No {strata} stratum holds both {group!s} and {reference!s}: no Mantel-Haenszel "
            "results for this contrast."
        )
        return row, notes
    x1 = g.loc[both, "x"].to_numpy(float)
    n1 = g.loc[both, "n"].to_numpy(float)
    x0 = r.loc[both, "x"].to_numpy(float)
    n0 = r.loc[both, "n"].to_numpy(float)
    row["diff_mh"], row["diff_mh_ci_low"], row["diff_mh_ci_high"] = _mh_risk_difference(
        x1, n1, x0, n0, confidence_level
    )
    tables = np.stack(
        [np.stack([x1, n1 - x1], axis=1), np.stack([x0, n0 - x0], axis=1)], axis=1
    )  # (K, 2, 2): rows = group, reference
    st = StratifiedTable(np.moveaxis(tables, 0, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        row["odds_ratio_mh"] = float(st.oddsratio_pooled)
        lo, hi = st.oddsratio_pooled_confint(alpha=1 - confidence_level)
        row["odds_ratio_mh_ci_low"], row["odds_ratio_mh_ci_high"] = float(lo), float(hi)
        res = st.test_null_odds(correction=False)
        row["cmh_statistic"], row["cmh_pvalue"] = float(res.statistic), float(res.pvalue)
    row["cmh_pvalue_corrected"] = _cmh_corrected_pvalue(x1, n1, x0, n0)
    bd_stat, bd_p, bd_df = _breslow_day_tarone(x1, n1, x0, n0, float(row["odds_ratio_mh"]))
    row["breslow_day_statistic"], row["breslow_day_pvalue"] = bd_stat, bd_p
    row["breslow_day_df"] = bd_df
    n_uninformative = len(both) - (bd_df + 1)
    if n_uninformative > 0:
        notes.append(
            f"{n_uninformative} {strata} stratum/strata of {group!s} vs {reference!s} have no "
            "events or only events in both groups: they carry no information on the odds "
            "ratio and are not counted in the Breslow-Day degrees of freedom."
        )
    return row, notes


def _cmh_corrected_pvalue(x1: np.ndarray, n1: np.ndarray, x0: np.ndarray, n0: np.ndarray) -> float:
    """Continuity-corrected Cochran-Mantel-Haenszel p-value, ``max(|D| - 0.5, 0)^2 / V``.

    ``D = sum(a_k - E a_k)`` with ``E a_k = m1 c1 / N`` and the hypergeometric variance
    ``V = sum(m1 m0 c1 c0 / (N^2 (N - 1)))``. The correction never enlarges the statistic
    (as R's ``mantelhaen.test(correct=TRUE)``, which drops it when ``|D| < 0.5``);
    statsmodels' ``test_null_odds(correction=True)`` squares ``|D| - 0.5`` even when negative.

    >>> x1, n1 = np.array([40., 10., 25.]), np.array([50., 50., 50.])
    >>> x0, n0 = np.array([10., 40., 25.]), np.array([50., 50., 50.])
    >>> _cmh_corrected_pvalue(x1, n1, x0, n0)   # R mantelhaen.test(correct=TRUE): 1
    1.0
    """
    big_n = n1 + n0
    c1 = x1 + x0
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(big_n > 1, n1 * n0 * c1 * (big_n - c1) / (big_n**2 * (big_n - 1)), 0.0)
    var = float(np.sum(v))
    if not var > 0:
        return float("nan")
    d = float(np.sum(x1 - n1 * c1 / big_n))
    stat = max(abs(d) - 0.5, 0.0) ** 2 / var
    return float(stats.chi2.sf(stat, 1))


def _breslow_day_tarone(
    x1: np.ndarray, n1: np.ndarray, x0: np.ndarray, n0: np.ndarray, odds_ratio: float
) -> tuple[float, float, int]:
    """Breslow-Day test of homogeneous odds ratios with Tarone's (1985) correction.

    In stratum k the expected ``a_k`` under the common Mantel-Haenszel odds ratio ``psi`` is
    the root in ``[max(0, m1 + c1 - N), min(m1, c1)]`` of
    ``(1 - psi) a^2 + (N - m1 - c1 + psi (m1 + c1)) a - psi m1 c1 = 0`` (``a = m1 c1 / N``
    when ``psi = 1``) with variance ``1 / (1/a + 1/(m1 - a) + 1/(c1 - a) + 1/(N - m1 - c1 + a))``;
    ``X2 = sum((a_k - E a_k)^2 / V_k) - (sum a_k - sum E a_k)^2 / sum V_k`` on
    ``K' - 1`` degrees of freedom, where ``K'`` counts the *informative* strata (some but not
    all clients with the event): a stratum with no events or only events has variance 0 and
    no information on the odds ratio (Breslow & Day 1980, section 4.4; Tarone 1985).

    Returns (statistic, p-value, degrees of freedom); NaN when fewer than two strata are
    informative.

    >>> x1, n1 = np.array([40., 10., 25.]), np.array([50., 50., 50.])
    >>> x0, n0 = np.array([10., 40., 25.]), np.array([50., 50., 50.])
    >>> stat, p, df = _breslow_day_tarone(x1, n1, x0, n0, 1.0)   # R by hand: 72 on 2 df
    >>> round(stat, 9), df
    (72.0, 2)
    """
    big_n = n1 + n0
    c1 = x1 + x0
    informative = (c1 > 0) & (c1 < big_n)
    df = int(informative.sum()) - 1
    nan = float("nan")
    if df < 1 or not (np.isfinite(odds_ratio) and odds_ratio > 0):
        return nan, nan, max(df, 0)
    a, m1, c, n = x1[informative], n1[informative], c1[informative], big_n[informative]
    lo, hi = np.maximum(0.0, m1 + c - n), np.minimum(m1, c)
    qa = 1.0 - odds_ratio
    qb = n - m1 - c + odds_ratio * (m1 + c)
    qc = -odds_ratio * m1 * c
    if abs(qa) < 1e-12:
        ea = -qc / qb
    else:
        disc = np.sqrt(np.maximum(qb**2 - 4.0 * qa * qc, 0.0))
        q = -0.5 * (qb + np.where(qb >= 0, 1.0, -1.0) * disc)
        with np.errstate(divide="ignore", invalid="ignore"):
            r1, r2 = q / qa, qc / q
        inside = (r1 >= lo - 1e-9) & (r1 <= hi + 1e-9)
        ea = np.where(inside, r1, r2)
    ea = np.clip(ea, lo, hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        va = 1.0 / (1.0 / ea + 1.0 / (m1 - ea) + 1.0 / (c - ea) + 1.0 / (n - m1 - c + ea))
    if not np.all(np.isfinite(va) & (va > 0)):
        return nan, nan, df
    stat = float(np.sum((a - ea) ** 2 / va) - np.sum(a - ea) ** 2 / np.sum(va))
    return stat, float(stats.chi2.sf(stat, df)), df


# --- the public function -----------------------------------------------------------------------


@validates_confidence_level
def compare_rates(
    outcomes: Any,
    outcome: str | Sequence[str] = "abstinent_6mo",
    by: str = "cohort",
    reference: Any = None,
    *,
    margin: float | None = None,
    alternative: Literal["two-sided", "less", "greater"] = "two-sided",
    adjust: Sequence[str] | None = None,
    strata: str | None = None,
    cluster: str | None = None,
    missing: str | None = None,
    covariates: Sequence[str] | None = None,
    confidence_level: float = 0.95,
    interval: Literal[
        "newcombe", "miettinen-nurminen", "mee", "agresti-caffo", "wald"
    ] = "miettinen-nurminen",
    test: Literal["score", "auto", "chi2", "fisher", "boschloo"] = "score",
    equivalence_alpha: float = 0.05,
    adjust_method: Sequence[str] = ("gcomp", "iptw"),
    p_adjust: Literal["holm", "fdr_bh"] | None = "holm",
    higher_is_better: bool = True,
    sensitivity: bool = True,
    seed: int = 0,
    delta: float | Mapping[Any, float] | None = None,
) -> Comparison:
    """Compare a binary outcome between each group and a reference group.

    Parameters
    ----------
    outcomes : EpisodeOutcomes or DataFrame
        An ``EpisodeOutcomes`` (its definition's missing-data rule and death policy are used) or
        any table (pandas, Dask, DuckDB relation) with the outcome column(s) (0/1/True/False,
        missing allowed), ``by`` and any ``strata``/``adjust``/``cluster`` columns.
    outcome : str or sequence of str
        Outcome column(s). Several outcomes give one block each and ``pvalue_adj``.
    by : str
        Group column.
    reference : scalar, optional
        Reference level of ``by``; every other level is compared with it. Default (``None``):
        ``"inpatient"`` when it is a level, else the first level in sorted order
        (``docs/conventions.md``).
    margin : float, optional
        Equivalence / non-inferiority margin on the difference scale (0.10 = 10 points).
        Adds the non-inferiority score test (one-sided at ``(1 - confidence_level) / 2``,
        2.5% by default: the lower limit of the two-sided 95% interval; ICH E9/E10, FDA
        2016), the two one-sided tests of equivalence (each at ``equivalence_alpha``, with
        the ``1 - 2 equivalence_alpha`` interval) and a ``verdict`` (defined in
        :class:`Comparison`).
    alternative : {"two-sided", "less", "greater"}
        Alternative of the test of no difference (``"greater"``: group rate above reference).
        Intervals are always two-sided.
    adjust : sequence of str, optional
        Case-mix covariates: adds rows from :func:`iopoutcomes.adjust.adjusted_comparison`
        (``adjust_method``: ``"gcomp"`` and/or ``"iptw"``), with ``cluster`` robust errors.
    strata : str, optional
        Stratifying column (e.g. ``"site"``): Cochran-Mantel-Haenszel results in
        ``Comparison.strata_table``.
    cluster : str, optional
        Cluster column for the adjusted analyses.
    missing : {"using", "exclude", "bounds", "impute", "ipw"}, optional
        Missing-data rule; default: the ``EpisodeOutcomes`` definition's rule, or ``"using"``
        for a plain table. ``"using"`` counts a missing outcome as the unfavourable value (0,
        not abstinent; 1, relapsed, with ``higher_is_better=False``), ``"exclude"`` drops it,
        ``"bounds"`` gives four analyses (:data:`BOUND_LABELS`: all missing unfavourable, all
        favourable, and the worst and best case for each group, whose differences are the
        Horowitz-Manski bounds), ``"impute"`` and ``"ipw"`` come from
        :mod:`iopoutcomes.missing` (Rubin's rules; the M-estimation sandwich for the weights).
        ``"impute"`` and ``"ipw"`` need predictors of the outcome or of follow-up
        (``covariates``, the definition's ``covariates`` or ``adjust``) and raise
        :class:`~iopoutcomes.exceptions.ParameterError` without them. Only episodes whose
        follow-up is due and that are eligible by observation time (``eligible_<outcome>``)
        are analysed (:func:`iopoutcomes.missing.eligible_mask`). An outcome that depends on
        the length of stay, compared between groups whose stays differ, gets a remark
        (:func:`iopoutcomes.outcomes.stay_length_remark`).
    covariates : sequence of str, optional
        Predictors of the missing-data model (imputation model under ``"impute"``, follow-up
        model under ``"ipw"``), added to the group and to the definition's ``covariates``
        (and ``adjust``); not used by the other rules.
    confidence_level : float
        Two-sided level of every interval (default 0.95); non-inferiority is tested one-sided
        at ``(1 - confidence_level) / 2``.
    interval : {"miettinen-nurminen", "newcombe", "mee", "agresti-caffo", "wald"}
        Interval for the difference (see :func:`iopoutcomes._ci.diff_ci`). Default
        Miettinen-Nurminen: it inverts the default test and the margin tests, so interval,
        p-value and verdict never disagree. Any other interval is checked against the margin
        tests (Farrington-Manning, which ``"mee"`` inverts) and a remark names a mismatch.
    test : {"score", "auto", "chi2", "fisher", "boschloo"}
        ``"score"`` (default): the 'N-1' chi-square test, Pearson's statistic times
        ``(N - 1) / N``, i.e. the Miettinen-Nurminen score test of no difference that the
        default interval inverts (Campbell 2007 recommends it for 2x2 tables down to an
        expected count of 1). ``"chi2"``: Pearson without continuity correction (the test
        ``"mee"`` inverts). ``"fisher"``: Fisher's exact test (two-sided p-value as R's
        ``fisher.test``). ``"auto"``: chi-square, or Fisher when an expected count is below 5
        (the switch is named in ``method`` and a remark). ``"boschloo"``:
        ``scipy.stats.boschloo_exact`` (two-sided p = twice the smaller one-sided p).
    equivalence_alpha : float
        Level of each of the two one-sided tests of equivalence (default 0.05, Schuirmann's
        convention, with the 90% interval); separate from the non-inferiority level.
    adjust_method : sequence of {"gcomp", "iptw"}
    p_adjust : {"holm", "fdr_bh"} or None
        Multiplicity adjustment across outcomes x groups (within each analysis and missing-data
        analysis), used when several outcomes are compared.
    higher_is_better : bool
        Direction of the outcome (True for abstinence; False for relapse): decides the margin
        analysis and the unfavourable value a missing outcome takes under ``missing="using"``
        and ``"bounds"``.
    sensitivity : bool
        When outcomes are missing, add the complete-case (``missing="exclude"``) and the four
        bounds rows beside the primary rule's rows (default True; the primary rows come first
        and the narrative quotes them), and remark when follow-up differs between a group and
        the reference by more than 10 percentage points.
    seed : int
        Seed for imputation. The same seed gives the same imputations in every call: vary it
        across repeated analyses (simulations, a report each quarter) so that they do not share
        one set of draws.
    delta : float or mapping, optional
        With ``missing="impute"`` only: delta-adjusted multiple imputation, a missing-not-at-
        random sensitivity analysis. The imputation model's log-odds of the outcome are shifted
        by ``delta`` for the missing outcomes (a mapping gives one shift per ``by`` group;
        groups not named get 0); ``delta=0`` is the MAR imputation. Scanned by
        :func:`iopoutcomes.sensitivity.tipping_point` (``method="delta"``).

    Returns
    -------
    Comparison

    Raises
    ------
    InsufficientDataError
        The reference group is absent (the message lists the groups found) or no rows remain.
    MissingColumnError, ParameterError

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"cohort": ["IOP"] * 10 + ["inpatient"] * 10,
    ...                    "abstinent_6mo": [1] * 9 + [0] + [1] * 3 + [0] * 7})
    >>> cmp = compare_rates(df)
    >>> row = cmp.to_frame().iloc[0]
    >>> print(round(row["diff"], 6), "|", row["method"])  # doctest: +ELLIPSIS
    0.6 | 'N-1' chi-square test ...
    >>> print(f"{cmp.table.loc[0, 'diff_ci_low']:.4f}")   # Newcombe (1998) Table II (b), method 6
    0.1700
    """
    if interval not in _ci.DIFF_METHODS:
        raise ParameterError(
            f"interval must be one of {list(_ci.DIFF_METHODS)}; received {interval!r}."
        )
    if test not in TESTS:
        raise ParameterError(f"test must be one of {list(TESTS)}; received {test!r}.")
    if alternative not in _ci.ALTERNATIVES:
        raise ParameterError(
            f"alternative must be one of {list(_ci.ALTERNATIVES)}; received {alternative!r}."
        )
    if p_adjust is not None and p_adjust not in P_ADJUST:
        raise ParameterError(
            f"p_adjust must be one of {list(P_ADJUST)} or None; received {p_adjust!r}."
        )
    _ci.z_value(confidence_level)
    if margin is not None and not (0.0 < float(margin) < 1.0):
        raise ParameterError(
            f"margin must be a proportion strictly between 0 and 1 (0.10 = 10 points); received "
            f"{margin!r}."
        )
    if margin is not None:
        margin = float(margin)
    if not 0.0 < float(equivalence_alpha) < 0.5:
        raise ParameterError(
            "equivalence_alpha must be strictly between 0 and 0.5 (0.05 = each one-sided test "
            f"at 5%, the 90% interval); received {equivalence_alpha!r}."
        )
    for m in adjust_method:
        if m not in ADJUST_METHODS:
            raise ParameterError(
                f"adjust_method entries must be among {list(ADJUST_METHODS)}; received {m!r}."
            )

    frame, definition = outcomes_table(outcomes, needed_by="compare_rates", lazy=True)
    if missing is None:
        missing = getattr(definition, "missing", "using") if definition is not None else "using"
    if missing not in MISSING_RULES:
        raise ParameterError(f"missing must be one of {list(MISSING_RULES)}; received {missing!r}.")
    if delta is not None and missing != "impute":
        raise ParameterError("delta applies to missing='impute' only (delta-adjusted imputation).")
    outcome_list = [outcome] if isinstance(outcome, str) else list(outcome)
    if not outcome_list:
        raise ParameterError("outcome is empty; name at least one outcome column.")
    adjust_cols = tuple(adjust or ())
    model_cols = tuple(covariates or ())
    if isinstance(covariates, str):
        model_cols = (covariates,)
    columns = list(frame.columns)
    predictors = tuple(
        dict.fromkeys([*model_cols, *(getattr(definition, "covariates", ()) or ()), *adjust_cols])
    )
    if missing in ("impute", "ipw") and not [c for c in predictors if c != by]:
        raise ParameterError(
            f"missing={missing!r} needs predictors of the outcome or of follow-up, and none "
            "were given: with the group alone it reduces to the complete-case analysis "
            "(missing completely at random within each group). Pass covariates=[...] (columns "
            "that predict being followed up and the outcome), declare covariates on the "
            "definition, or use missing='exclude' and say it assumes MCAR within group."
        )
    needed = [*outcome_list, by, *([strata] if strata else []), *adjust_cols]
    if missing in ("impute", "ipw"):
        needed += [c for c in model_cols if c not in needed]
    needed += [cluster] if cluster else []
    absent = [c for c in needed if c not in columns]
    if absent:
        raise MissingColumnError(
            f"Columns {absent} are not in the data. Found: {columns}. Name existing columns "
            "with outcome=, by=, strata=, adjust= and cluster=."
        )

    if reference is None:
        reference = default_reference(_group_levels(frame, outcome_list[0], by))
    remarks: list[str] = []
    if cluster and adjust_cols:
        from .manuscript import few_clusters_remark

        note = few_clusters_remark(frame, cluster)
        if note:
            remarks.append(note)
    blocks: list[pd.DataFrame] = []
    strata_rows: list[dict[str, Any]] = []
    balance_frames: list[pd.DataFrame] = []
    for name in outcome_list:
        # length-of-stay-dependent outcomes between groups whose stays differ: say so
        remarks.extend(stay_length_remark(frame, name, by, reference, definition))
        data, notes = _eligible(frame, name, definition, missing)
        remarks.extend(notes)
        block, strata_part, balance, more = _one_outcome(
            data,
            name,
            by,
            reference,
            missing=missing,
            definition=definition,
            margin=margin,
            alternative=alternative,
            confidence_level=confidence_level,
            interval=interval,
            test=test,
            higher_is_better=higher_is_better,
            strata=strata,
            adjust=adjust_cols,
            adjust_method=tuple(adjust_method),
            cluster=cluster,
            seed=seed,
            delta=delta,
            covariates=model_cols,
            equivalence_alpha=float(equivalence_alpha),
            sensitivity=sensitivity,
        )
        blocks.append(block)
        strata_rows.extend(strata_part)
        if balance is not None:
            balance_frames.append(balance)
        remarks.extend(more)
    table = pd.concat(blocks, ignore_index=True)
    used_p_adjust = None
    if len(outcome_list) > 1 and p_adjust is not None:
        from statsmodels.stats.multitest import multipletests

        table["pvalue_adj"] = np.nan
        family = table["missing"].astype(str).str.replace(r" for .*$", "", regex=True)
        for _, idx in table.groupby([table["analysis"], family], sort=False).groups.items():
            p = table.loc[idx, "pvalue"].to_numpy(float)
            finite = np.isfinite(p)
            if finite.any():
                adj = np.full(p.shape, np.nan)
                adj[finite] = multipletests(p[finite], method=p_adjust)[1]
                table.loc[idx, "pvalue_adj"] = adj
        used_p_adjust = p_adjust
    strata_table = None
    if strata is not None:
        strata_table = pd.DataFrame(strata_rows)
    balance_all = pd.concat(balance_frames, ignore_index=True) if balance_frames else None
    return Comparison(
        table=table,
        outcome=tuple(outcome_list),
        by=by,
        reference=reference,
        definition=definition,
        missing_rule=missing,
        confidence_level=float(confidence_level),
        interval=interval,
        test=test,
        alternative=alternative,
        margin=margin,
        equivalence_alpha=float(equivalence_alpha),
        covariates=model_cols,
        higher_is_better=higher_is_better,
        strata=strata,
        strata_table=strata_table,
        adjust=adjust_cols,
        balance=balance_all,
        p_adjust=used_p_adjust,
        remarks=tuple(dict.fromkeys(remarks)),
    )


def _analyses_from_counts(
    counts: pd.DataFrame, missing: str, higher_is_better: bool, by: str, reference: Any
) -> list[tuple[str, pd.DataFrame]]:
    """(label, counts with n/x/n_missing) for the count-based missing-data rules.

    Missing outcomes take the value of :func:`_fill_specs` (the unfavourable value under
    ``using``; under ``bounds`` each of the four assumptions, the worst and best case giving
    the group and the reference opposite values). Labels may hold ``{group}``.
    """
    is_ref = (counts[by] == reference).to_numpy()
    out = []
    for label, g_fill, r_fill in _fill_specs(missing, higher_is_better):
        c = counts.copy()
        if g_fill is None:
            c = c.assign(x=c["n_events"], n=c["n"] - c["n_missing"])
        else:
            fill = np.where(is_ref, float(r_fill or 0.0), float(g_fill))
            c = c.assign(x=c["n_events"] + (fill * c["n_missing"]).astype(np.int64), n=c["n"])
        out.append((label, c))
    return out


FOLLOWUP_GAP: float = 0.10
"""Follow-up rates of a group and the reference differing by more than this get a remark."""


def _followup_gap_notes(
    name: str, counts: pd.DataFrame, by: str, reference: Any, others: list[Any]
) -> list[str]:
    """A remark for each group whose follow-up rate differs from the reference's by more than
    :data:`FOLLOWUP_GAP` (differential loss to follow-up: the missing-data rule matters)."""
    c = counts.set_index(by)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = 1.0 - c["n_missing"].astype(float) / c["n"].astype(float)
    ref = float(rate.loc[reference])
    out = []
    for g in others:  # a handful of groups
        gap = float(rate.loc[g]) - ref
        if np.isfinite(gap) and abs(gap) > FOLLOWUP_GAP:
            out.append(
                f"{name}: follow-up differs between {g!s} ({100 * float(rate.loc[g]):.0f}% "
                f"with an outcome) and {reference!s} ({100 * ref:.0f}%) by more than "
                f"{100 * FOLLOWUP_GAP:g} percentage points: the missing-data rule can move the "
                "comparison; compare the complete-case and bounds rows with the primary one."
            )
    return out


def _one_outcome(
    data: Any,
    name: str,
    by: str,
    reference: Any,
    *,
    missing: str,
    definition: Any,
    margin: float | None,
    alternative: str,
    confidence_level: float,
    interval: str,
    test: str,
    higher_is_better: bool,
    strata: str | None,
    adjust: tuple[str, ...],
    adjust_method: tuple[str, ...],
    cluster: str | None,
    seed: int,
    delta: float | Mapping[Any, float] | None = None,
    covariates: tuple[str, ...] = (),
    equivalence_alpha: float = 0.05,
    sensitivity: bool = False,
) -> tuple[pd.DataFrame, list[dict[str, Any]], pd.DataFrame | None, list[str]]:
    remarks: list[str] = []
    counts = group_counts(data, name, by)
    groups = counts[by].tolist()
    if len(counts) == 0 or int(counts["n"].sum()) == 0:
        raise InsufficientDataError(
            f"No rows with a {by!r} value remain for outcome {name!r}: nothing to compare. "
            "Check the group column and the filters applied."
        )
    if reference not in groups:
        raise InsufficientDataError(
            f"Reference group {reference!r} is not among the {by!r} groups of outcome "
            f"{name!r}; groups found: {[str(g) for g in groups]}. Pass reference= one of them."
        )
    if len(groups) < 2:
        raise InsufficientDataError(
            f"Only the reference group {reference!r} is present in {by!r}: nothing to compare "
            "it with."
        )
    others = [g for g in groups if g != reference]

    rows: list[pd.DataFrame] = []
    analyses: list[tuple[str, pd.DataFrame]]
    pooled: dict[str, dict[str, np.ndarray]] = {}
    datasets: list[Any] = []
    if missing in ("using", "exclude", "bounds"):
        analyses = _analyses_from_counts(counts, missing, higher_is_better, by, reference)
    else:
        analyses, pooled, notes, datasets = _completed_analyses(
            _as_pandas(data),
            name,
            by,
            reference,
            others,
            missing,
            definition,
            confidence_level,
            seed,
            (*covariates, *adjust),
            delta,
            margin=margin,
            higher_is_better=higher_is_better,
            equivalence_alpha=equivalence_alpha,
        )
        remarks.extend(notes)
        if test in ("fisher", "boschloo"):
            # exact tests need whole counts: weighted or pooled analyses cannot give them
            remarks.append(
                f"{name}: test={test!r} was requested, but under missing = {missing} the "
                "p-value is a Wald test ("
                + (
                    "weighted, with the M-estimation sandwich variance"
                    if missing == "ipw"
                    else "pooled over the imputations with Rubin's rules"
                )
                + "); see test_method."
            )
        if missing == "ipw":
            remarks.extend(_weight_notes(name, datasets))
    if sensitivity and int(counts["n_missing"].sum()) > 0:
        # sensitivity analyses shown by default beside the primary rule: complete case and
        # the bounds (the analyses a reader needs to judge how much the rule matters)
        for extra in ("exclude", "bounds"):
            if extra != missing:
                analyses = [
                    *analyses,
                    *_analyses_from_counts(counts, extra, higher_is_better, by, reference),
                ]
        remarks.extend(_followup_gap_notes(name, counts, by, reference, others))

    for label, c in analyses:
        c = c.set_index(by)
        ref = c.loc[reference]
        x1 = c.loc[others, "x"].to_numpy(float)
        n1 = c.loc[others, "n"].to_numpy(float)
        x0 = np.full(len(others), float(ref["x"]))
        n0 = np.full(len(others), float(ref["n"]))
        integer = label != "ipw"
        stats_, notes = _two_group_rows(
            x1,
            n1,
            x0,
            n0,
            interval=interval,
            test=test,
            alternative=alternative,
            confidence_level=confidence_level,
            margin=margin,
            higher_is_better=higher_is_better,
            integer_counts=integer,
            equivalence_alpha=equivalence_alpha,
        )
        zero_groups = [
            str(g)
            for g, a, b in zip(others, x1, n1, strict=True)
            if (a in (0, b)) or float(ref["x"]) in (0.0, float(ref["n"]))
        ]
        remarks.extend(note.format(groups=", ".join(zero_groups)) for note in notes)
        block = pd.DataFrame(
            {
                "outcome": name,
                "group": others,
                "reference": reference,
                "n": n1.astype(np.int64),
                "n_events": x1.astype(np.int64),
                "rate": stats_["rate"],
                "n_ref": n0.astype(np.int64),
                "n_events_ref": x0.astype(np.int64),
                "rate_ref": stats_["rate_ref"],
            }
        )
        for col in COMPARISON_COLUMNS[9:]:
            block[col] = stats_[col]
        block["analysis"] = "unadjusted"
        block["missing"] = [label.format(group=g) for g in others]
        block["n_missing"] = c.loc[others, "n_missing"].to_numpy(np.int64)
        block["n_missing_ref"] = int(ref["n_missing"])
        for col in ("rate_ci_low", "rate_ci_high", "rate_ref_ci_low", "rate_ref_ci_high"):
            block[col] = stats_[col]
        block["confidence_level"] = confidence_level
        block["interval_method"] = interval
        block["test_method"] = test
        if margin is not None:
            for col in (
                "margin",
                "equivalence_pvalue",
                "noninferiority_pvalue",
                "equivalence_ci_low",
                "equivalence_ci_high",
                "verdict",
            ):
                block[col] = stats_[col]
            bad = [str(g) for g, d in zip(others, stats_["_disagree"], strict=True) if d]
            if bad and label not in pooled:
                remarks.append(
                    f"{name} ({label.format(group='the group')}): for {', '.join(bad)} the {interval} 1-2alpha interval and the "
                    "score tests disagree at the margin; the verdict follows the tests. Use "
                    "interval='miettinen-nurminen' for an interval that matches them exactly."
                )
        if label in pooled:
            for col, values in pooled[label].items():
                block[col] = values
        if missing in ("using", "exclude", "bounds") or missing == "ipw":
            switched = [
                str(g)
                for g, ch, e in zip(others, stats_["_chosen"], stats_["_expected_min"], strict=True)
                if test == "auto" and ch == "fisher" and np.isfinite(e)
            ]
            if switched:
                remarks.append(
                    f"{name} ({label.format(group='the group')}): an expected count is below 5 for {', '.join(switched)}, "
                    "so Fisher's exact test was used instead of the chi-square test."
                )
        small = [str(g) for g, n in zip(others, n1, strict=True) if n == 0]
        if small or float(ref["n"]) == 0:
            remarks.append(
                f"{name} ({label.format(group='the group')}): no analysable episodes in "
                f"{', '.join(small + ([str(reference)] if float(ref['n']) == 0 else []))}; "
                "their statistics are missing."
            )
        rows.append(block)

    strata_rows: list[dict[str, Any]] = []
    if strata is not None:
        if missing in ("impute", "ipw"):
            remarks.append(
                f"Mantel-Haenszel results are not computed under missing = {missing}; use "
                "'using', 'exclude' or 'bounds'."
            )
        else:
            sc = group_counts(data, name, [strata, by])
            for label, c in _analyses_from_counts(sc, missing, higher_is_better, by, reference):
                for g in others:
                    row, notes = _strata_row(c, strata, by, g, reference, confidence_level)
                    strata_rows.append({"outcome": name, "missing": label.format(group=g), **row})
                    remarks.extend(notes)

    balance = None
    if adjust:
        adj_rows, balance, notes = _adjusted_rows(
            _as_pandas(data),
            name,
            by,
            reference,
            others,
            rows,
            missing,
            adjust,
            adjust_method,
            cluster,
            confidence_level,
            seed,
            higher_is_better,
            datasets,
        )
        rows.extend(adj_rows)
        remarks.extend(notes)
    return pd.concat(rows, ignore_index=True), strata_rows, balance, remarks


# --- impute / ipw ------------------------------------------------------------------------------


def _completed_analyses(
    data: pd.DataFrame,
    name: str,
    by: str,
    reference: Any,
    others: list[Any],
    rule: str,
    definition: Any,
    confidence_level: float,
    seed: int,
    adjust: tuple[str, ...] = (),
    delta: float | Mapping[Any, float] | None = None,
    *,
    margin: float | None = None,
    higher_is_better: bool = True,
    equivalence_alpha: float = 0.05,
) -> tuple[list[tuple[str, pd.DataFrame]], dict[str, dict[str, np.ndarray]], list[str], list[Any]]:
    """Counts from ``missing.completed_datasets`` and Rubin-pooled (impute) or M-estimation
    sandwich (ipw) Wald statistics, with intervals for the reported rates and, with a margin,
    Wald margin tests and a verdict; also the completed data sets."""
    from . import missing as missing_mod

    # The group must be in the imputation / follow-up model: imputing without it pulls the
    # imputed outcomes of both groups towards the common rate and biases the difference
    # towards zero (the imputation model must be congenial with the analysis; Meng 1994).
    model = tuple(dict.fromkeys([by, *(getattr(definition, "covariates", ()) or ()), *adjust]))
    kwargs: dict[str, Any] = {
        "covariates": model,
        "n_imputations": int(getattr(definition, "n_imputations", 20) or 20),
        "seed": seed,
    }
    death_policy = "missing"
    if definition is not None and hasattr(definition, "death_policy"):
        kwargs["death_policy"] = death_policy = definition.death_policy
    if delta is not None:
        kwargs |= {"delta": delta, "by": by}
    datasets = missing_mod.completed_datasets(data, name, missing=rule, **kwargs)
    if not datasets:
        raise InsufficientDataError(f"missing={rule!r} produced no completed data for {name!r}.")
    raw = group_counts(data, name, by).set_index(by)
    keys = ("diff", "lrr", "lor", "r1", "r0")
    k = len(others)
    # per contrast: estimate, standard error and degrees of freedom (inf: normal reference)
    q_all: dict[str, np.ndarray] = {key: np.full(k, np.nan) for key in keys}
    se_all: dict[str, np.ndarray] = {key: np.full(k, np.nan) for key in keys}
    df_all: dict[str, np.ndarray] = {key: np.full(k, np.inf) for key in keys}
    if rule == "ipw":
        groups, mu, cov = missing_mod.ipw_sandwich(data, name, by, model, death_policy=death_policy)
        pos = {g: i for i, g in enumerate(groups)}
        i0 = pos[reference]
        for j, g in enumerate(others):  # a handful of groups
            i1 = pos[g]
            r1, r0_ = float(mu[i1]), float(mu[i0])
            v11, v00, v10 = float(cov[i1, i1]), float(cov[i0, i0]), float(cov[i1, i0])
            grads = {
                "diff": (1.0, -1.0),
                "lrr": (1.0 / r1 if r1 > 0 else np.nan, -1.0 / r0_ if r0_ > 0 else np.nan),
                "lor": (
                    1.0 / (r1 * (1 - r1)) if 0 < r1 < 1 else np.nan,
                    -1.0 / (r0_ * (1 - r0_)) if 0 < r0_ < 1 else np.nan,
                ),
            }
            with np.errstate(divide="ignore", invalid="ignore"):
                q_all["diff"][j] = r1 - r0_
                q_all["lrr"][j] = np.log(r1 / r0_)
                q_all["lor"][j] = np.log(r1 / (1 - r1)) - np.log(r0_ / (1 - r0_))
            for key, (g1, g0) in grads.items():
                vk = g1 * g1 * v11 + g0 * g0 * v00 + 2 * g1 * g0 * v10
                se_all[key][j] = math.sqrt(vk) if np.isfinite(vk) and vk >= 0 else np.nan
            q_all["r1"][j], se_all["r1"][j] = r1, math.sqrt(max(v11, 0.0))
            q_all["r0"][j], se_all["r0"][j] = r0_, math.sqrt(max(v00, 0.0))
    else:
        est: dict[str, list[np.ndarray]] = {key: [] for key in keys}
        var: dict[str, list[np.ndarray]] = {key: [] for key in keys}
        for ds in datasets:
            weighted = weighted_rates(
                ds.frame, name, None, [by], confidence_level=confidence_level
            ).set_index(by)
            n_eff = weighted["n_eff"]
            p = weighted["rate"]
            p1 = p.loc[others].to_numpy(float)
            p0 = float(p.loc[reference])
            m1 = n_eff.loc[others].to_numpy(float)
            m0 = float(n_eff.loc[reference])
            with np.errstate(divide="ignore", invalid="ignore"):
                est["diff"].append(p1 - p0)
                var["diff"].append(p1 * (1 - p1) / m1 + p0 * (1 - p0) / m0)
                est["lrr"].append(np.log(p1 / p0))
                var["lrr"].append((1 - p1) / (m1 * p1) + (1 - p0) / (m0 * p0))
                est["lor"].append(np.log(p1 / (1 - p1)) - np.log(p0 / (1 - p0)))
                var["lor"].append(1 / (m1 * p1 * (1 - p1)) + 1 / (m0 * p0 * (1 - p0)))
            est["r1"].append(p1)
            est["r0"].append(np.full(k, p0))
            var["r1"].append(p1 * (1 - p1) / m1)
            var["r0"].append(np.full(k, p0 * (1 - p0) / m0))
        for key in keys:
            e = np.array(est[key])  # (m, k)
            v = np.array(var[key])
            for j in range(k):
                if not (np.all(np.isfinite(e[:, j])) and np.all(np.isfinite(v[:, j]))):
                    continue
                if np.ptp(e[:, j]) == 0 and np.all(v[:, j] == 0):
                    q_all[key][j], se_all[key][j] = float(e[0, j]), 0.0  # all at 0% or 100%
                    continue
                pooled_j = missing_mod.rubin_pool(e[:, j], v[:, j])
                q_all[key][j], se_all[key][j] = pooled_j.estimate, pooled_j.std_err
                df_all[key][j] = pooled_j.df

    def crit(df: np.ndarray, level: float) -> np.ndarray:
        normal = float(stats.norm.ppf(0.5 + level / 2))
        return np.where(np.isfinite(df), stats.t.ppf(0.5 + level / 2, np.minimum(df, 1e12)), normal)

    def tail(t: np.ndarray, df: np.ndarray) -> np.ndarray:
        """Upper-tail probability of the reference distribution."""
        return np.where(np.isfinite(df), stats.t.sf(t, np.minimum(df, 1e12)), stats.norm.sf(t))

    results = {}
    for key in keys:
        qk, sek, dfk = q_all[key], se_all[key], df_all[key]
        ck = crit(dfk, confidence_level)
        with np.errstate(divide="ignore", invalid="ignore"):
            pval = np.where(sek > 0, 2 * tail(np.abs(qk / sek), dfk), np.nan)
        results[key] = (qk, qk - ck * sek, qk + ck * sek, pval)
    pooled: dict[str, np.ndarray] = {
        "rate": q_all["r1"],
        "rate_ref": q_all["r0"],
    }
    for key, prefix in (("r1", "rate"), ("r0", "rate_ref")):
        if rule == "ipw":  # Wilson on the sandwich's effective n, as outcome_rates
            pr, sr = q_all[key], se_all[key]
            with np.errstate(divide="ignore", invalid="ignore"):
                n_sandwich = np.where(sr > 0, pr * (1 - pr) / sr**2, np.nan)
            lo, hi = _ci.proportion_ci(pr * n_sandwich, n_sandwich, "wilson", confidence_level)
        else:
            lo, hi = results[key][1], results[key][2]
        pooled[f"{prefix}_ci_low"] = np.clip(np.asarray(lo, float), 0.0, 1.0)
        pooled[f"{prefix}_ci_high"] = np.clip(np.asarray(hi, float), 0.0, 1.0)
    how = (
        f"Wald test pooled by Rubin's rules ({len(datasets)} imputations)"
        if rule == "impute"
        else "Wald test (inverse probability of follow-up weights, M-estimation sandwich)"
    )
    pooled |= {
        "diff": results["diff"][0],
        "diff_ci_low": results["diff"][1],
        "diff_ci_high": results["diff"][2],
        "ratio": np.exp(results["lrr"][0]),
        "ratio_ci_low": np.exp(results["lrr"][1]),
        "ratio_ci_high": np.exp(results["lrr"][2]),
        "odds_ratio": np.exp(results["lor"][0]),
        "odds_ratio_ci_low": np.exp(results["lor"][1]),
        "odds_ratio_ci_high": np.exp(results["lor"][2]),
        "statistic": np.full(k, np.nan),
        "pvalue": results["diff"][3],
        "method": np.array([how] * k, dtype=object),
        "interval_method": np.array(
            ["wald (Rubin's rules)" if rule == "impute" else "wald (M-estimation sandwich)"] * k,
            dtype=object,
        ),
        "test_method": np.array(["wald"] * k, dtype=object),
    }
    if margin is not None:
        qd, sed, dfd = q_all["diff"], se_all["diff"], df_all["diff"]
        mm = float(margin)
        sign = 1.0 if higher_is_better else -1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            # H0: sign * diff <= -m (non-inferiority) and sign * diff >= m (the other half)
            p_ni = np.where(sed > 0, tail((sign * qd + mm) / sed, dfd), np.nan)
            p_upper = np.where(sed > 0, tail((mm - sign * qd) / sed, dfd), np.nan)
            p_inf = np.where(sed > 0, tail(-(sign * qd + mm) / sed, dfd), np.nan)
        alpha = (1.0 - confidence_level) / 2.0
        p_eq = np.maximum(p_ni, p_upper)
        c_eq = crit(dfd, 1.0 - 2.0 * equivalence_alpha)
        verdict = np.where(
            p_eq < equivalence_alpha,
            "equivalent",
            np.where(
                p_ni < alpha, "non-inferior", np.where(p_inf < alpha, "inferior", "inconclusive")
            ),
        ).astype(object)
        verdict[~np.isfinite(p_eq)] = None
        pooled |= {
            "equivalence_pvalue": p_eq,
            "noninferiority_pvalue": p_ni,
            "equivalence_ci_low": qd - c_eq * sed,
            "equivalence_ci_high": qd + c_eq * sed,
            "verdict": verdict,
        }
    # counts for the row: observed events; n = episodes analysed (all due episodes under
    # impute, the followed-up ones under ipw)
    margin_note = (
        "; margin verdicts come from Wald tests on the same estimates and standard errors"
        if margin is not None
        else ""
    )
    if rule == "impute":
        counts = raw.assign(x=raw["n_events"], n=raw["n"])
        notes = [
            f"{name}: missing = impute: rates, rate intervals, differences, ratios and odds "
            f"ratios are Wald estimates pooled with Rubin's rules over {len(datasets)} imputed "
            "data sets; n counts every episode analysed (observed and imputed), n_events the "
            f"observed events only{margin_note}."
        ]
        if delta is not None:
            shift = (
                ", ".join(f"{k}: {float(v):+g}" for k, v in dict(delta).items())
                if isinstance(delta, Mapping)
                else f"{float(delta):+g}"
            )
            notes.append(
                f"{name}: delta-adjusted imputation (missing-not-at-random sensitivity "
                f"analysis): the log-odds of the outcome of the missing were shifted by {shift} "
                "from the MAR imputation model (Carpenter & Kenward 2013)."
            )
    else:
        counts = raw.assign(x=raw["n_events"], n=raw["n"] - raw["n_missing"])
        notes = [
            f"{name}: missing = ipw: rates are weighted by the inverse probability of "
            "follow-up; their variances and those of the differences, ratios and odds ratios "
            "come from the M-estimation sandwich that stacks the follow-up model (so the "
            "weights' estimation is accounted for); rate intervals are Wilson intervals on the "
            "matching effective sample size, the others Wald; n and n_events count the "
            f"followed-up episodes{margin_note}."
        ]
    return [(rule, counts.reset_index())], {rule: pooled}, notes, list(datasets)


def _weight_notes(name: str, datasets: list[Any]) -> list[str]:
    """The extreme-weight remark of :func:`missing.extreme_weight_remark`, if any."""
    from . import missing as missing_mod

    weights = [np.asarray(ds.weights, float) for ds in datasets if ds.weights is not None]
    if not weights:
        return []
    note = missing_mod.extreme_weight_remark(name, np.concatenate(weights))
    return [] if note is None else [note]


# --- adjusted rows -----------------------------------------------------------------------------


def _pool_adjusted(results: list[Any], confidence_level: float) -> Any:
    """Rubin's rules over per-imputation adjusted estimates (difference with its standard
    error; log risk and odds ratios with standard errors from their symmetric Wald
    intervals)."""
    import types

    from . import missing as missing_mod

    z = _ci.z_value(confidence_level)
    out: dict[str, Any] = {
        "rate": float(np.mean([r.rate for r in results])),
        "rate_ref": float(np.mean([r.rate_ref for r in results])),
        "inference": "wald (Rubin's rules)",
    }

    def pool(q: np.ndarray, u: np.ndarray) -> tuple[float, float, float, float]:
        if len(q) < 2 or not (np.all(np.isfinite(q)) and np.all(np.isfinite(u))):
            return (float("nan"),) * 4
        pooled = missing_mod.rubin_pool(q, u)
        est, se, df = pooled.estimate, pooled.std_err, pooled.df
        crit = float(stats.t.ppf(0.5 + confidence_level / 2, df)) if np.isfinite(df) else z
        p = float(2 * stats.t.sf(abs(est / se), df)) if se > 0 else float("nan")
        return est, est - crit * se, est + crit * se, p

    d = pool(np.array([r.diff for r in results]), np.array([r.std_err**2 for r in results]))
    out["diff"], out["diff_ci_low"], out["diff_ci_high"], out["pvalue"] = d
    for key in ("ratio", "odds_ratio"):
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.log(np.array([getattr(r, key) for r in results], dtype=float))
            lo = np.log(np.array([getattr(r, f"{key}_ci_low") for r in results], dtype=float))
            hi = np.log(np.array([getattr(r, f"{key}_ci_high") for r in results], dtype=float))
        e, lo_p, hi_p, _ = pool(q, ((hi - lo) / (2 * z)) ** 2)
        out[key], out[f"{key}_ci_low"], out[f"{key}_ci_high"] = np.exp([e, lo_p, hi_p])
    out["method"] = (
        f"{results[0].method}; estimated in each of {len(results)} imputed data sets and "
        "pooled with Rubin's rules"
    )
    return types.SimpleNamespace(**out)


def _adjusted_row(
    base: pd.DataFrame,
    res: Any,
    analysis: str,
    confidence_level: float = 0.95,
    higher_is_better: bool = True,
) -> pd.DataFrame:
    row = base.copy()
    for col in (
        "diff",
        "diff_ci_low",
        "diff_ci_high",
        "ratio",
        "ratio_ci_low",
        "ratio_ci_high",
        "odds_ratio",
        "odds_ratio_ci_low",
        "odds_ratio_ci_high",
        "pvalue",
        "method",
    ):
        row[col] = getattr(res, col)
    row["rate"] = res.rate
    row["rate_ref"] = res.rate_ref
    row["statistic"] = np.nan
    row["analysis"] = analysis
    row["interval_method"] = getattr(res, "inference", "delta")
    row["test_method"] = "wald"
    for col in (
        "rate_ci_low",
        "rate_ci_high",
        "rate_ref_ci_low",
        "rate_ref_ci_high",
        "equivalence_pvalue",
        "noninferiority_pvalue",
        "equivalence_ci_low",
        "equivalence_ci_high",
    ):
        if col in row:
            row[col] = np.nan
    if "verdict" in row:
        row["verdict"] = None
    if "margin" in row and np.isfinite(float(row["margin"].iloc[0])):
        _adjusted_margin(row, res, confidence_level, higher_is_better)
    return row


def _adjusted_margin(
    row: pd.DataFrame, res: Any, confidence_level: float, higher_is_better: bool
) -> None:
    """Equivalence / non-inferiority of an adjusted difference: Wald tests on its standard
    error, the same decision rule as the unadjusted rows (equivalent when both one-sided tests
    reject at 1 - confidence_level, with the matching 1 - 2 alpha interval)."""
    diff = float(res.diff)
    se = float(getattr(res, "std_err", float("nan")))
    if not np.isfinite(se):  # pooled (Rubin) rows: the SE behind their symmetric interval
        crit = _ci.z_value(confidence_level)
        se = (float(res.diff_ci_high) - float(res.diff_ci_low)) / (2.0 * crit)
    m = float(row["margin"].iloc[0])
    alpha = 1.0 - confidence_level
    if not (np.isfinite(diff) and np.isfinite(se) and se > 0):
        return
    sign = 1.0 if higher_is_better else -1.0
    # "better" direction: d = sign * diff; non-inferior when d > -m, inferior when d < -m
    d = sign * diff
    p_ni = float(stats.norm.sf((d + m) / se))
    p_upper = float(stats.norm.cdf((d - m) / se))
    p_inf = float(stats.norm.cdf((d + m) / se))
    p_eq = max(p_ni, p_upper)
    z = float(stats.norm.ppf(1.0 - alpha))
    if p_eq < alpha:
        verdict = "equivalent"
    elif p_ni < alpha:
        verdict = "non-inferior"
    elif p_inf < alpha:
        verdict = "inferior"
    else:
        verdict = "inconclusive"
    row["equivalence_pvalue"] = p_eq
    row["noninferiority_pvalue"] = p_ni
    row["equivalence_ci_low"] = diff - z * se
    row["equivalence_ci_high"] = diff + z * se
    row["verdict"] = verdict


def _adjusted_rows(
    data: pd.DataFrame,
    name: str,
    by: str,
    reference: Any,
    others: list[Any],
    unadjusted: list[pd.DataFrame],
    missing: str,
    covariates: tuple[str, ...],
    methods: tuple[str, ...],
    cluster: str | None,
    confidence_level: float,
    seed: int,
    higher_is_better: bool = True,
    datasets: Sequence[Any] = (),
) -> tuple[list[pd.DataFrame], pd.DataFrame | None, list[str]]:
    """Case-mix adjusted rows under the missing-data rule: one completed data set per
    analysis (``using``, ``exclude``, each bounds assumption with group-specific fills), or
    every imputed data set pooled with Rubin's rules (``impute``)."""
    from .adjust import adjusted_comparison

    notes: list[str] = []
    if missing == "ipw":
        notes.append(
            f"{name}: case-mix adjusted rows are not produced under missing = ipw (they would "
            "need the follow-up weights multiplied into the g-computation and IPTW fits); use "
            "missing = impute, using, exclude or bounds for adjusted estimates."
        )
        return [], None, notes
    every = pd.concat(unadjusted, ignore_index=True)

    def base(label: str, g: Any) -> pd.DataFrame:
        return every[(every["missing"] == label) & (every["group"] == g)].iloc[[0]].copy()

    def fit(f: pd.DataFrame, g: Any, method: str) -> Any:
        return adjusted_comparison(
            f,
            name,
            by,
            g,
            reference,
            list(covariates),
            method=method,  # type: ignore[arg-type]
            cluster=cluster,
            seed=seed,
            confidence_level=confidence_level,
        )

    out: list[pd.DataFrame] = []
    balances: list[pd.DataFrame] = []
    if missing == "impute":
        for method in methods:
            for g in others:  # a handful of groups x about 20 imputations
                results = [fit(ds.frame, g, method) for ds in datasets]
                out.append(
                    _adjusted_row(
                        base("impute", g),
                        _pool_adjusted(results, confidence_level),
                        ADJUST_METHODS[method],
                        confidence_level,
                        higher_is_better,
                    )
                )
                for r in dict.fromkeys(x for res in results for x in res.remarks):
                    notes.append(f"{name}, {g!s} ({method}, impute): {r}")
        notes.append(
            f"{name}: adjusted rows under missing = impute were estimated in each of "
            f"{len(datasets)} imputed data sets (the adjustment covariates in the imputation "
            "model) and pooled with Rubin's rules."
        )
        return out, None, notes
    y = outcome_as_float(data[name])
    is_ref = (data[by] == reference).to_numpy()
    for label, g_fill, r_fill in _fill_specs(missing, higher_is_better):
        if g_fill is None:
            frame = data.loc[y.notna()].assign(**{name: y[y.notna()]})
        else:
            fill = pd.Series(
                np.where(is_ref, float(r_fill or 0.0), float(g_fill)), index=data.index
            )
            frame = data.assign(**{name: y.fillna(fill)})
        for method in methods:
            for g in others:
                label_g = label.format(group=g)
                res = fit(frame, g, method)
                out.append(
                    _adjusted_row(
                        base(label_g, g),
                        res,
                        ADJUST_METHODS[method],
                        confidence_level,
                        higher_is_better,
                    )
                )
                notes.extend(f"{name}, {g!s} ({method}): {r}" for r in res.remarks)
                if res.balance is not None:
                    balances.append(
                        res.balance.assign(
                            outcome=name, group=g, reference=reference, missing=label_g
                        )
                    )
                if res.ess:
                    ess = ", ".join(f"{k!s} {v:.1f}" for k, v in res.ess.items())
                    notes.append(f"{name}, {g!s} (IPTW, {label_g}): effective sample sizes {ess}.")
    return out, (pd.concat(balances, ignore_index=True) if balances else None), notes
