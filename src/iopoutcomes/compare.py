"""Compare outcome rates between groups: :func:`compare_rates` -> :class:`Comparison`.

Each non-reference group of ``by`` (for example IOP) is compared with the reference group
(inpatient): rates with Wilson intervals, the risk difference with the Newcombe hybrid score
interval (default), the risk ratio and the odds ratio with intervals, a test of no difference
(named in ``method``), and, with a ``margin``, the equivalence (TOST) and non-inferiority score
tests with a verdict. Strata (sites) add Cochran-Mantel-Haenszel results; ``adjust`` adds
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
-0.02 (-0.074, 0.035) equivalent
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from . import _ci
from ._counts import group_counts, is_dask, is_duckdb, outcome_as_float
from ._render import ResultDisplay
from .exceptions import InsufficientDataError, MissingColumnError, ParameterError
from .missing import filter_eligible, unfavourable_text
from .rates import weighted_rates
from .schema import COMPARISON_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["Comparison", "compare_rates", "VERDICTS", "MISSING_RULES", "TESTS"]

VERDICTS: tuple[str, ...] = ("equivalent", "non-inferior", "inconclusive", "inferior")
MISSING_RULES: tuple[str, ...] = ("using", "exclude", "bounds", "impute", "ipw")
TESTS: tuple[str, ...] = ("auto", "chi2", "fisher", "boschloo")
P_ADJUST: tuple[str, ...] = ("holm", "fdr_bh")
ADJUST_METHODS: dict[str, str] = {"gcomp": "adjusted (g-computation)", "iptw": "adjusted (IPTW)"}

_TEST_NAMES = {
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
        "model of follow-up on the group and covariates); rates are weighted, and intervals "
        "and tests are Wald with the Kish effective sample size of the weights"
    )


_REFERENCES = {
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
}


# --- the result --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Comparison(ResultDisplay):
    """Group-versus-reference comparison of a binary outcome (see :func:`compare_rates`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (outcome, group, analysis, missing-data analysis): the columns of
        ``schema.COMPARISON_COLUMNS`` then ``analysis`` ("unadjusted", "adjusted
        (g-computation)", "adjusted (IPTW)"), ``missing`` (the missing-data analysis: "using",
        "exclude", "impute", "ipw", or under bounds :data:`BOUND_LABELS`: "bounds: all
        missing unfavourable", "bounds: all missing favourable", "bounds: worst case for
        <group>", "bounds: best case for <group>"), ``n_missing``, ``n_missing_ref``,
        ``rate_ci_low``, ``rate_ci_high``, ``rate_ref_ci_low``, ``rate_ref_ci_high`` (intervals
        for the reported rates: Wilson on counts; Rubin-pooled Wald under impute; Wilson on the
        Kish effective sample size under ipw, computed by
        :func:`iopoutcomes.rates.weighted_rates` as in ``outcome_rates``),
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
    confidence_level, interval, test, alternative, margin : as passed to
        :func:`compare_rates`.
    higher_is_better : bool
        Direction used by the margin analysis.
    strata, strata_table : str or None, pandas.DataFrame or None
        Stratifying column and the Cochran-Mantel-Haenszel results (one row per outcome,
        group and missing-data analysis): ``n_strata``, ``strata_excluded``,
        ``odds_ratio_mh`` with the Robins-Breslow-Greenland interval, ``diff_mh`` with the
        Sato (1989) interval, ``cmh_statistic``/``cmh_pvalue`` (no continuity correction) and
        ``cmh_pvalue_corrected``, ``breslow_day_statistic``/``breslow_day_pvalue`` (Tarone
        corrected).
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
    **Verdict** (only with a ``margin`` ``m > 0``; ``alpha = 1 - confidence_level``; shown
    for an outcome where higher is better, such as abstinence; with ``higher_is_better=False``
    the signs flip):

    * ``equivalent``: both one-sided score tests of the TOST reject at level ``alpha``
      (``equivalence_pvalue < alpha``): the difference lies within ``(-m, m)``;
      equivalently (for score intervals exactly, otherwise approximately) the
      ``1 - 2 alpha`` interval ``[equivalence_ci_low, equivalence_ci_high]`` lies inside the
      margins (Schuirmann 1987).
    * ``non-inferior``: not equivalent, but the one-sided test of ``H0: diff <= -m`` rejects
      at level ``alpha`` (``noninferiority_pvalue < alpha``): the group is at most ``m``
      worse, and possibly better by more than ``m``.
    * ``inferior``: the one-sided test of ``H0: diff >= -m`` rejects at level ``alpha``:
      the group is worse than the reference by more than the margin.
    * ``inconclusive``: none of these: the data are compatible with differences inside and
      outside the margin.

    Each one-sided test is at level ``alpha`` (as SAS PROC FREQ's ``RISKDIFF(EQUIV NONINF)``),
    so the matching interval is the ``1 - 2 alpha`` (90%) interval; for a one-sided 2.5%
    non-inferiority test (ICH E9) use ``confidence_level=0.975``.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> out = iop.episode_outcomes(iop.simulate_records(n=100, seed=0))
    >>> cmp = iop.compare_rates(out)
    >>> print(repr(cmp).splitlines()[0])  # doctest: +ELLIPSIS
    <Comparison: abstinent_6mo by cohort vs inpatient, 1 group(s), ... episodes analysed, missing = using>
    >>> cmp.to_frame()[["outcome", "group", "reference", "analysis", "missing"]]
             outcome group  reference    analysis missing
    0  abstinent_6mo   IOP  inpatient  unadjusted   using
    """

    table: pd.DataFrame
    outcome: tuple[str, ...]
    by: str
    reference: Any
    definition: Any = None
    missing_rule: str = "using"
    confidence_level: float = 0.95
    interval: str = "newcombe"
    test: str = "auto"
    alternative: str = "two-sided"
    margin: float | None = None
    higher_is_better: bool = True
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
        """A copy of the tidy comparison table (one row per contrast and analysis)."""
        return self.table.copy()

    def definition_text(self) -> str:
        """One paragraph: effect measures, interval, test and missing-data rule."""
        pct = f"{100 * self.confidence_level:g}%"
        if self.missing_rule in ("impute", "ipw"):
            how = (
                "Wald intervals pooled with Rubin's rules (t reference)"
                if self.missing_rule == "impute"
                else "Wilson intervals for the weighted rates and Wald intervals for the "
                "difference and ratios, on the Kish effective sample size"
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
        At 6 months about 6 in 10 IOP clients (30 of 50) and about 6 in 10 inpatient clients (31 of 50) were abstinent; the difference, -2 points (95% CI -20 to 17), is inconclusive: the 90% CI -18 to 14 reaches beyond ...
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
        sentences.extend(self._missing_sentences())
        return " ".join(sentences)

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
            f"{when} {_in_ten(row['rate'])} {row['group']!s} clients ({count}) and "
            f"{_in_ten(row['rate_ref'])} {row['reference']!s} clients ({count_ref}) {verb}; "
            f"the difference{' was' if closed else ','} {_pts(row['diff'])} points ({pct} CI "
            f"{_pts(row['diff_ci_low'])} "
            f"to {_pts(row['diff_ci_high'])})"
        )

    def _eq_ci(self, row: pd.Series) -> str:
        eq_pct = f"{100 * (1 - 2 * (1 - self.confidence_level)):g}%"
        return (
            f"{eq_pct} CI {_pts(row['equivalence_ci_low'])} to {_pts(row['equivalence_ci_high'])}"
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
        cases = f"the worst case for {g!s} ({self._eq_ci(w)}) and the best case ({self._eq_ci(b)})"
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
                f"for {g!s} ({self._eq_ci(w)}) and {vb if vb in VERDICTS else 'not available'} "
                f"in the best case ({self._eq_ci(b)})."
            )
        else:
            verdict = (
                f"Against the {m}-point margin the verdict depends on the missing outcomes: "
                f"{vw if vw in VERDICTS else 'not available'} in the worst case for {g!s} "
                f"({self._eq_ci(w)}) and {vb if vb in VERDICTS else 'not available'} in the "
                f"best case ({self._eq_ci(b)}), so neither equivalence nor non-inferiority is "
                "shown without an assumption about them."
            )
        return f"{head}. {verdict}"

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
        if verdict == "equivalent":
            return (
                head + f", lies within the {m}-point equivalence margin ({eq_ci}; two one-sided "
                f"tests {_p(row['equivalence_pvalue'])})."
            )
        if verdict == "non-inferior":
            return (
                head + f", shows {row['group']!s} is not worse than {row['reference']!s} by "
                f"{m} points or more ({eq_ci}; non-inferiority {_p(row['noninferiority_pvalue'])})"
                ", but equivalence within the margin is not shown."
            )
        if verdict == "inferior":
            return (
                head + f", shows {row['group']!s} doing worse than {row['reference']!s} by more "
                f"than the {m}-point margin ({eq_ci})."
            )
        return (
            head + f", is inconclusive: the {eq_ci} reaches beyond the {m}-point margin, so "
            "these data can show neither equivalence nor non-inferiority; more clients are "
            "needed."
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
            refs = ["rubin"] if self.missing_rule == "impute" else ["kish"]
            if self.missing_rule == "impute":
                text.append(
                    "In each imputed data set the rates, the difference, the log risk ratio and "
                    "the log odds ratio were estimated with Wald (binomial) variances; they were "
                    f"pooled with Rubin's rules and given with {lvl} intervals from the t "
                    "distribution with Rubin's degrees of freedom; rate intervals are pooled "
                    "Wald intervals, and the difference was tested with the pooled Wald test."
                )
            else:
                text.append(
                    "Rates are weighted proportions among the followed-up, given with "
                    f"{lvl} Wilson score intervals (Wilson 1927) on the Kish effective sample "
                    "size (sum of weights squared over the sum of squared weights); the "
                    "difference, the log risk ratio and the log odds ratio are given with "
                    f"{lvl} Wald intervals whose binomial variances use the same effective "
                    "sample size, and the difference was tested with the Wald test."
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
                "interval (0.5 added to every cell of a table with a zero cell)."
            )
            text.append(self._test_sentence(refs))
        if self.margin is not None and self.missing_rule not in ("impute", "ipw"):
            refs += ["fm", "schuirmann"]
            alpha = 1 - self.confidence_level
            var = (
                "Miettinen-Nurminen"
                if self.interval == "miettinen-nurminen"
                else "Farrington-Manning"
            )
            text.append(
                f"With an equivalence margin of {100 * self.margin:g} percentage points, "
                f"equivalence was assessed with two one-sided {var} score tests (Farrington & "
                f"Manning 1990; Schuirmann 1987) and non-inferiority with the one-sided score "
                f"test, each at level {alpha:g}, with the matching {100 * (1 - 2 * alpha):g}% "
                "interval; the null-restricted maximum-likelihood proportions were computed "
                "from Miettinen & Nurminen (1985)."
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
            text.append(
                f"Case-mix adjusted estimates used {', '.join(self.adjust)} (see the adjusted "
                "rows' method for the model and interval)."
            )
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

    def _test_sentence(self, refs: list[str]) -> str:
        if self.test == "auto":
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

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Any:
        """Forest plot of the differences (``iopoutcomes.plots.plot_comparison``)."""
        from .plots import plot_comparison

        return plot_comparison(self, ax=ax, **kwargs)


# --- text helpers ------------------------------------------------------------------------------


def _pts(value: float) -> str:
    """Proportion -> whole percentage points ("-2"), never "-0"."""
    if value is None or not np.isfinite(value):
        return "n/a"
    v = math.floor(100 * float(value) + 0.5)
    return str(0 if v == 0 else v)


def _p(p: float) -> str:
    if not np.isfinite(p):
        return "p not available"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _in_ten(rate: float) -> str:
    if not np.isfinite(rate):
        return "an unknown share of"
    k = math.floor(10 * rate + 0.5)
    if rate == 0:
        return "none of the"
    if rate == 1:
        return "all"
    if k == 0:
        return "fewer than 1 in 10"
    if k == 10:
        return "nearly all"
    return f"about {k} in 10"


def _timepoint_phrase(outcome: str) -> str:
    match = re.search(r"_(\d+)(mo|wk|w|d|y)$", outcome)
    if match:
        unit = {"mo": "month", "wk": "week", "w": "week", "d": "day", "y": "year"}[match.group(2)]
        k = int(match.group(1))
        return f"At {k} {unit}{'s' if k != 1 else ''}"
    if outcome.endswith("_discharge"):
        return "At discharge"
    return f"For {outcome},"


# --- input handling ----------------------------------------------------------------------------


def _resolve_input(outcomes: Any) -> tuple[Any, Any]:
    if hasattr(outcomes, "definition") and hasattr(outcomes, "to_frame"):
        return outcomes.to_frame(), outcomes.definition
    if isinstance(outcomes, pd.DataFrame) or is_dask(outcomes) or is_duckdb(outcomes):
        return outcomes, None
    raise ParameterError(
        f"compare_rates needs an EpisodeOutcomes or a DataFrame; received {type(outcomes).__name__}. "
        "Pass iop.episode_outcomes(records) or a table with outcome and group columns."
    )


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
    data, elig = filter_eligible(frame, outcome, death_policy=death_policy)
    return data, elig.remarks(rule)


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
    pooled = np.where(ok, (x1 + x0) / np.where(ok, n1 + n0, 1), np.nan)
    defined = ok & (pooled > 0) & (pooled < 1)
    chi = chosen == "chi2"
    statistic[chi] = np.where(defined, np.asarray(z, float) ** 2, np.nan)[chi]
    pvalue[chi] = np.where(defined, np.asarray(p_z, float), np.nan)[chi]
    for i in np.flatnonzero(ok & (chosen != "chi2")):
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
        alpha = 1.0 - confidence_level
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
        lo, hi = _ci.diff_ci(x1, n1, x0, n0, interval, 1.0 - 2.0 * alpha)
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        verdict = np.where(
            p_eq < alpha,
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
        ni_ci = (lo > -m) if higher_is_better else (hi < m)
        disagree = ok & (((p_eq < alpha) != inside) | ((p_ni < alpha) != ni_ci))
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
        row["cmh_pvalue_corrected"] = float(st.test_null_odds(correction=True).pvalue)
        if len(both) >= 2:
            bd = st.test_equal_odds(adjust=True)
            row["breslow_day_statistic"], row["breslow_day_pvalue"] = (
                float(bd.statistic),
                float(bd.pvalue),
            )
    return row, notes


# --- the public function -----------------------------------------------------------------------


def compare_rates(
    outcomes: Any,
    outcome: str | Sequence[str] = "abstinent_6mo",
    by: str = "cohort",
    reference: Any = "inpatient",
    *,
    margin: float | None = None,
    alternative: Literal["two-sided", "less", "greater"] = "two-sided",
    adjust: Sequence[str] | None = None,
    strata: str | None = None,
    cluster: str | None = None,
    missing: str | None = None,
    confidence_level: float = 0.95,
    interval: Literal[
        "newcombe", "miettinen-nurminen", "mee", "agresti-caffo", "wald"
    ] = "newcombe",
    test: Literal["auto", "chi2", "fisher", "boschloo"] = "auto",
    adjust_method: Sequence[str] = ("gcomp", "iptw"),
    p_adjust: Literal["holm", "fdr_bh"] | None = "holm",
    higher_is_better: bool = True,
    seed: int = 0,
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
    reference : scalar
        Reference level of ``by``; every other level is compared with it.
    margin : float, optional
        Equivalence / non-inferiority margin on the difference scale (0.10 = 10 points).
        Adds the TOST and non-inferiority score tests, the ``1 - 2 alpha`` interval and a
        ``verdict`` (defined in :class:`Comparison`).
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
        :mod:`iopoutcomes.missing` (Rubin's rules; Kish effective sample size). Only episodes
        whose follow-up is due are analysed (:func:`iopoutcomes.missing.eligible_mask`).
    confidence_level : float
        Two-sided level of every interval (default 0.95).
    interval : {"newcombe", "miettinen-nurminen", "mee", "agresti-caffo", "wald"}
        Interval for the difference (see :func:`iopoutcomes._ci.diff_ci`).
    test : {"auto", "chi2", "fisher", "boschloo"}
        ``"auto"``: Pearson chi-square without continuity correction, unless an expected count
        is below 5, then Fisher's exact test (scipy, two-sided p-value as R's
        ``fisher.test``); the test used is named in ``method`` and a remark. ``"boschloo"``:
        ``scipy.stats.boschloo_exact`` (two-sided p = twice the smaller one-sided p).
    adjust_method : sequence of {"gcomp", "iptw"}
    p_adjust : {"holm", "fdr_bh"} or None
        Multiplicity adjustment across outcomes x groups (within each analysis and missing-data
        analysis), used when several outcomes are compared.
    higher_is_better : bool
        Direction of the outcome (True for abstinence; False for relapse): decides the margin
        analysis and the unfavourable value a missing outcome takes under ``missing="using"``
        and ``"bounds"``.
    seed : int
        Seed for imputation and bootstrap.

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
    >>> print(round(row["diff"], 6), "|", row["method"])
    0.6 | Fisher's exact test
    >>> print(f"{cmp.table.loc[0, 'diff_ci_low']:.4f}")   # Newcombe (1998) Table II (b)
    0.1705
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
    for m in adjust_method:
        if m not in ADJUST_METHODS:
            raise ParameterError(
                f"adjust_method entries must be among {list(ADJUST_METHODS)}; received {m!r}."
            )

    frame, definition = _resolve_input(outcomes)
    if missing is None:
        missing = getattr(definition, "missing", "using") if definition is not None else "using"
    if missing not in MISSING_RULES:
        raise ParameterError(f"missing must be one of {list(MISSING_RULES)}; received {missing!r}.")
    outcome_list = [outcome] if isinstance(outcome, str) else list(outcome)
    if not outcome_list:
        raise ParameterError("outcome is empty; name at least one outcome column.")
    adjust_cols = tuple(adjust or ())
    columns = list(frame.columns)
    needed = [*outcome_list, by, *([strata] if strata else []), *adjust_cols]
    needed += [cluster] if cluster else []
    absent = [c for c in needed if c not in columns]
    if absent:
        raise MissingColumnError(
            f"Columns {absent} are not in the data. Found: {columns}. Name existing columns "
            "with outcome=, by=, strata=, adjust= and cluster=."
        )

    remarks: list[str] = []
    blocks: list[pd.DataFrame] = []
    strata_rows: list[dict[str, Any]] = []
    balance_frames: list[pd.DataFrame] = []
    for name in outcome_list:
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
            adjust,
        )
        remarks.extend(notes)
        if test in ("fisher", "boschloo"):
            # exact tests need whole counts: weighted or pooled analyses cannot give them
            remarks.append(
                f"{name}: test={test!r} was requested, but under missing = {missing} the "
                "p-value is a Wald test ("
                + (
                    "weighted, with the Kish effective sample size"
                    if missing == "ipw"
                    else "pooled over the imputations with Rubin's rules"
                )
                + "); see test_method."
            )
        if missing == "ipw":
            remarks.extend(_weight_notes(name, datasets))

    for label, c in analyses:
        c = c.set_index(by)
        ref = c.loc[reference]
        x1 = c.loc[others, "x"].to_numpy(float)
        n1 = c.loc[others, "n"].to_numpy(float)
        x0 = np.full(len(others), float(ref["x"]))
        n0 = np.full(len(others), float(ref["n"]))
        integer = missing not in ("ipw",)
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
            if bad:
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
) -> tuple[list[tuple[str, pd.DataFrame]], dict[str, dict[str, np.ndarray]], list[str], list[Any]]:
    """Counts from ``missing.completed_datasets`` and Rubin-pooled (impute) or weighted (ipw)
    Wald statistics, with intervals for the reported rates; also the completed data sets."""
    from . import missing as missing_mod

    # The group must be in the imputation / follow-up model: imputing without it pulls the
    # imputed outcomes of both groups towards the common rate and biases the difference
    # towards zero (the imputation model must be congenial with the analysis; Meng 1994).
    kwargs: dict[str, Any] = {
        "covariates": tuple(
            dict.fromkeys([by, *(getattr(definition, "covariates", ()) or ()), *adjust])
        ),
        "n_imputations": int(getattr(definition, "n_imputations", 20) or 20),
        "seed": seed,
    }
    if definition is not None and hasattr(definition, "death_policy"):
        kwargs["death_policy"] = definition.death_policy
    datasets = missing_mod.completed_datasets(data, name, rule, **kwargs)
    if not datasets:
        raise InsufficientDataError(f"missing={rule!r} produced no completed data for {name!r}.")
    raw = group_counts(data, name, by).set_index(by)
    est: dict[str, list[np.ndarray]] = {k: [] for k in ("diff", "lrr", "lor", "r1", "r0")}
    var: dict[str, list[np.ndarray]] = {k: [] for k in ("diff", "lrr", "lor", "r1", "r0")}
    weighted_counts = []
    weighted = pd.DataFrame()
    for ds in datasets:
        # the rates' own computation (weights 1 for an imputed data set): the same rate and
        # interval as outcome_rates(..., missing="ipw")
        weighted = weighted_rates(
            ds.frame, name, ds.weights, [by], confidence_level=confidence_level
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
        est["r0"].append(np.full(len(others), p0))
        var["r1"].append(p1 * (1 - p1) / m1)
        var["r0"].append(np.full(len(others), p0 * (1 - p0) / m0))
        weighted_counts.append((m1, m0))
    m = len(datasets)
    z = _ci.z_value(confidence_level)
    pooled: dict[str, np.ndarray] = {}
    k = len(others)
    results = {}
    for key in ("diff", "lrr", "lor", "r1", "r0"):
        e = np.array(est[key])  # (m, k)
        v = np.array(var[key])
        mean = np.full(k, np.nan)
        low = np.full(k, np.nan)
        high = np.full(k, np.nan)
        pval = np.full(k, np.nan)
        for j in range(k):
            if not (np.all(np.isfinite(e[:, j])) and np.all(np.isfinite(v[:, j]))):
                continue
            if m > 1 and np.ptp(e[:, j]) == 0 and np.all(v[:, j] == 0):
                q, se, crit = float(e[0, j]), 0.0, z  # every imputation at 0% or 100%
            elif m > 1:
                q, se, df = missing_mod.rubin_pool(e[:, j], v[:, j])
                crit = float(stats.t.ppf(0.5 + confidence_level / 2, df)) if np.isfinite(df) else z
                pval[j] = float(2 * stats.t.sf(abs(q / se), df)) if se > 0 else np.nan
            else:
                q, se, crit = float(e[0, j]), math.sqrt(float(v[0, j])), z
                pval[j] = float(2 * stats.norm.sf(abs(q / se))) if se > 0 else np.nan
            mean[j], low[j], high[j] = q, q - crit * se, q + crit * se
        results[key] = (mean, low, high, pval)
    r1 = np.mean(np.array(est["r1"]), axis=0)
    r0 = np.mean(np.array(est["r0"]), axis=0)
    pooled = {
        "rate": r1,
        "rate_ref": r0,
        "rate_ci_low": np.clip(results["r1"][1], 0.0, 1.0),
        "rate_ci_high": np.clip(results["r1"][2], 0.0, 1.0),
        "rate_ref_ci_low": np.clip(results["r0"][1], 0.0, 1.0),
        "rate_ref_ci_high": np.clip(results["r0"][2], 0.0, 1.0),
    }
    if rule == "ipw":  # one weighted data set: Wilson on the Kish n, as outcome_rates
        pooled["rate_ci_low"] = weighted.loc[others, "ci_low"].to_numpy(float)
        pooled["rate_ci_high"] = weighted.loc[others, "ci_high"].to_numpy(float)
        pooled["rate_ref_ci_low"] = np.full(k, float(weighted.loc[reference, "ci_low"]))
        pooled["rate_ref_ci_high"] = np.full(k, float(weighted.loc[reference, "ci_high"]))
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
        "method": np.array(
            [
                f"Wald test pooled by Rubin's rules ({m} imputations)"
                if rule == "impute"
                else "Wald test (inverse probability of follow-up weights, Kish effective n)"
            ]
            * k,
            dtype=object,
        ),
        "interval_method": np.array(
            ["wald (Rubin's rules)" if rule == "impute" else "wald (weighted, Kish n)"] * k,
            dtype=object,
        ),
        "test_method": np.array(["wald"] * k, dtype=object),
    }
    for col in (
        "equivalence_pvalue",
        "noninferiority_pvalue",
        "equivalence_ci_low",
        "equivalence_ci_high",
        "verdict",
    ):
        pooled[col] = np.full(k, np.nan) if col != "verdict" else np.array([None] * k, dtype=object)
    # counts for the row: observed events; n = episodes analysed (all due episodes under
    # impute, the followed-up ones under ipw)
    if rule == "impute":
        c = raw.assign(x=raw["n_events"], n=raw["n"])
        notes = [
            f"{name}: missing = impute: rates, rate intervals, differences, ratios and odds "
            f"ratios are Wald estimates pooled with Rubin's rules over {m} imputed data sets; "
            "n counts every episode analysed (observed and imputed), n_events the observed "
            "events only; margin verdicts are not computed under this rule."
        ]
    else:
        c = raw.assign(x=raw["n_events"], n=raw["n"] - raw["n_missing"])
        notes = [
            f"{name}: missing = ipw: rates are weighted by the inverse probability of "
            "follow-up; rate intervals are Wilson intervals and differences, ratios and odds "
            "ratios Wald intervals, all with the Kish effective sample size of the weights; n "
            "and n_events count the followed-up episodes; margin verdicts are not computed "
            "under this rule."
        ]
    return [(rule, c.reset_index())], {rule: pooled}, notes, list(datasets)


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
        "risk": float(np.mean([r.risk for r in results])),
        "risk_ref": float(np.mean([r.risk_ref for r in results])),
        "interval": "wald (Rubin's rules)",
    }

    def pool(q: np.ndarray, u: np.ndarray) -> tuple[float, float, float, float]:
        if len(q) < 2 or not (np.all(np.isfinite(q)) and np.all(np.isfinite(u))):
            return (float("nan"),) * 4
        est, se, df = missing_mod.rubin_pool(q, u)
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
    row["rate"] = res.risk
    row["rate_ref"] = res.risk_ref
    row["statistic"] = np.nan
    row["analysis"] = analysis
    row["interval_method"] = getattr(res, "interval", "delta")
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
