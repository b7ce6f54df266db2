"""Table 1: baseline characteristics by cohort, with missing counts, SMDs and optional tests.

:func:`table_one` summarises the baseline columns of an :class:`~iopoutcomes.EpisodeOutcomes`
(or any data frame) by a grouping column, the way the first table of a paper does, and returns
a :class:`TableOne` result: a tidy long table (``to_frame()``), the classic wide display
(``to_wide()``), a notebook rendering with numbered remarks under the table, and CSV/Excel
writers. With ``suppress=11`` the counts are protected for sharing (small cells and the cells
that would reveal them are hidden, see :mod:`iopoutcomes.privacy`).

The tidy table (:data:`TABLE_ONE_COLUMNS`) has one row per variable, level and group, the
groups followed by ``Overall``:

``variable``, ``level``
    The column and, for categorical variables, the level (``""`` for continuous variables and
    for the leading ``n`` row).
``group``
    The group label, or ``"Overall"`` for all groups together.
``n``
    Categorical: episodes at this level. Continuous: episodes with a value. ``n`` row: size
    of the group.
``n_valid``, ``n_missing``
    Episodes of the group with a value, and without one (the denominators of the percentages
    are ``n_valid``: missing values are excluded from percentages and tests).
``value``, ``sd``, ``q1``, ``q3``
    Categorical: ``value`` is the percentage ``100 n / n_valid`` (0-100). Continuous: ``value``
    is the mean or the median (see ``summary``); ``sd``, ``q1`` and ``q3`` (sample standard
    deviation and quartiles) are filled for every continuous row.
``summary``
    The statistic shown: ``"n"``, ``"n (%)"``, ``"mean (SD)"`` or ``"median [Q1, Q3]"``.
``display``
    The formatted cell (rounded to ``decimals``; ``"*"`` where suppressed).
``smd``
    Standardized mean difference, one per variable (continuous) or level (categorical),
    repeated on each group row (see :func:`table_one` for which groups it compares).
``statistic``, ``pvalue``, ``method``
    The test statistic, its p-value and the test's name, one per variable (``pvalues=True``).
``suppressed``
    Whether the count of this cell is hidden.

Examples
--------
>>> import iopoutcomes as iop
>>> out = iop.episode_outcomes(iop.simulate_records(seed=0))
>>> t1 = iop.table_one(out, by="cohort")
>>> t1.groups
('IOP', 'inpatient')
>>> t1.to_wide().columns.tolist()
['variable', 'level', 'Overall', 'IOP', 'inpatient', 'SMD']
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ._input import outcomes_table
from ._render import ResultDisplay, escape, frame_to_html, frame_to_text
from .adjust import standardized_mean_difference
from .exceptions import (
    MissingColumnError,
    ParameterError,
    SuppressionAuditError,
)
from .privacy import neutralise_frame, suppress_table
from .schema import TABLE_ONE_COLUMNS

__all__ = ["OVERALL", "SKEWNESS_THRESHOLD", "TABLE_ONE_COLUMNS", "TableOne", "table_one"]


OVERALL = "Overall"
"""Group label of the all-groups column."""

SKEWNESS_THRESHOLD = 1.0
"""A continuous variable whose absolute sample skewness exceeds this value in any group is
summarised by median [Q1, Q3] instead of mean (SD) (Bulmer 1979: beyond 1 is highly skewed)."""

MISSING_LEVEL = "(missing)"
"""Level label of the missing-count rows of the wide display."""

SUPPRESSED = "*"
"""Display of a suppressed cell."""

# Columns of an episode table that are not baseline characteristics.
_ID_COLUMNS = frozenset({"episode_id", "patient_id"})
_NON_BASELINE = frozenset(
    {
        "admission_quarter",
        "discharge_quarter",
        "admission_date",
        "discharge_date",
        "discharge_day",
        "discharge_reason",
        "asam_code",
        "asam_edition",
        "level_of_care",
        "site",
        "cohort",
        "treatment_completed",
        "milestones_met",
        "completed_program",
    }
)
_OUTCOME_PREFIXES = (
    "abstinent_",
    "followup_status_",
    "in_window_",
    "followup_due_",
    "days_used_past30_",
    "longest_abstinent_run_",
    "sustained_",
    "continuous_abstinence_",
    "point_prevalence_",
    "first_use_after_discharge_",
    "milestone_",
    "eligible_",
    "screen_coverage_",
)


# --- input ---------------------------------------------------------------------------------------


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _pattern_columns(definition: Any) -> set[str]:
    names = tuple(getattr(definition, "patterns", ()) or ())
    if not names:
        return set()
    from .patterns import pattern_definitions

    registry = pattern_definitions()
    chosen = registry.loc[registry["name"].isin(names), "columns"].astype(str)
    return {c.strip() for text in chosen for c in text.split(",")}


def _default_columns(frame: pd.DataFrame, by: str, definition: Any) -> list[str]:
    """Baseline columns when ``columns=None`` (see :func:`table_one`, Notes)."""
    if definition is not None:
        covariates = [c for c in getattr(definition, "covariates", ()) if c != by]
        if covariates:
            return covariates
        patterns = _pattern_columns(definition)
        return [
            str(c)
            for c in frame.columns
            if c != by
            and c not in _ID_COLUMNS
            and c not in _NON_BASELINE
            and c not in patterns
            and not str(c).startswith(_OUTCOME_PREFIXES)
            and not pd.api.types.is_datetime64_any_dtype(frame[c].dtype)
        ]
    return [
        str(c)
        for c in frame.columns
        if c != by
        and c not in _ID_COLUMNS
        and not pd.api.types.is_datetime64_any_dtype(frame[c].dtype)
    ]


def _check_columns(frame: pd.DataFrame, names: Sequence[str], what: str) -> None:
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise MissingColumnError(
            f"{what} {missing} not in the data. Found columns: {[str(c) for c in frame.columns]}. "
            "Name existing columns."
        )


def _is_categorical(series: pd.Series) -> bool:
    """Automatic type rule: non-numeric, boolean, or numeric with only the values 0 and 1."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return True
    values = pd.to_numeric(series, errors="coerce").dropna()
    return bool(len(values) > 0 and values.isin([0, 1]).all())


def _levels(series: pd.Series) -> list[Any]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return list(series.cat.categories)
    values = pd.unique(series.dropna())
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


# --- formatting ----------------------------------------------------------------------------------


def _as_float(value: Any) -> float:
    return math.nan if value is None or value is pd.NA else float(value)


def _fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def _fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _fmt_smd(value: float) -> str:
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return "" if not math.isfinite(value) else f"{value:.3f}"


# --- tests ---------------------------------------------------------------------------------------


def _categorical_test(counts: np.ndarray) -> tuple[float, float, str, bool]:
    """Test of independence on a levels x groups count table (missing excluded).

    Returns (statistic, pvalue, method, small_expected).
    """
    table = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return math.nan, math.nan, "not tested (fewer than two levels or groups)", False
    chi2, p, _, expected = stats.chi2_contingency(table, correction=False)
    small = bool((expected < 5).any())
    if table.shape == (2, 2) and small:
        res = stats.fisher_exact(table)
        return math.nan, float(res.pvalue), "Fisher's exact test", False
    return float(chi2), float(p), "Pearson chi-square test", small


def _continuous_test(samples: list[np.ndarray], nonnormal: bool) -> tuple[float, float, str]:
    if any(len(s) < 2 for s in samples) or len(samples) < 2:
        return math.nan, math.nan, "not tested (a group has fewer than two values)"
    if len(samples) == 2:
        if nonnormal:
            res = stats.mannwhitneyu(samples[0], samples[1], alternative="two-sided")
            return float(res.statistic), float(res.pvalue), "Mann-Whitney U test"
        tt = stats.ttest_ind(samples[0], samples[1], equal_var=False)
        return float(tt.statistic), float(tt.pvalue), "Welch two-sample t-test"
    if nonnormal:
        kw = stats.kruskal(*samples)
        return float(kw.statistic), float(kw.pvalue), "Kruskal-Wallis test"
    an = stats.f_oneway(*samples)
    return float(an.statistic), float(an.pvalue), "one-way ANOVA"


# --- result --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class TableOne(ResultDisplay):
    """Baseline characteristics by group (the result of :func:`table_one`).

    Attributes
    ----------
    table : pandas.DataFrame
        The tidy long table, columns :data:`TABLE_ONE_COLUMNS` (see the module docstring).
    by : str
        The grouping column.
    groups : tuple of str
        Group labels in display order (``Overall`` is not among them).
    reference : str
        The reference group of the SMDs.
    n : int
        Episodes summarised (rows with a group).
    variables : tuple of str
        The summarised columns, in order.
    summaries : dict
        ``variable -> "n (%)" | "mean (SD)" | "median [Q1, Q3]"``.
    smd_pairwise : pandas.DataFrame
        Every pairwise SMD: ``variable``, ``level``, ``group``, ``reference``, ``smd`` (one
        pair with two groups; ``k (k - 1) / 2`` pairs with ``k`` groups).
    suppress : int or None
        The suppression threshold ``k`` (counts ``1 .. k-1`` hidden), or None.
    suppression_audit : pandas.DataFrame or None
        With ``suppress``: one row per hidden cell (``variable``, ``row``, ``column``,
        ``lower``, ``upper``, ``feasible_integers``): the range an outsider can derive from
        what is published (see :func:`iopoutcomes.privacy.suppress_table`).
    decimals : int
        Decimals of percentages, means, SDs, medians and quartiles in ``display``.
    definition : OutcomeDefinition or None
        The outcome definition of the episode table, when the input had one.
    remarks : tuple of str
        The rules used (summary statistics, SMDs, tests, suppression) and caveats.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> out = iop.episode_outcomes(iop.simulate_records(seed=0))
    >>> t1 = iop.table_one(out, columns=["age", "sex"], suppress=11)
    >>> repr(t1).splitlines()[0]
    '<TableOne: 2 variables by cohort, 2,000 episodes in 2 groups, suppress k=11>'
    >>> t1.to_frame().query("variable == 'n'")["display"].tolist()
    ['1162', '838', '2000']
    """

    table: pd.DataFrame
    by: str
    groups: tuple[str, ...]
    reference: str
    n: int
    variables: tuple[str, ...]
    summaries: dict[str, str]
    smd_pairwise: pd.DataFrame
    suppress: int | None = None
    suppression_audit: pd.DataFrame | None = None
    decimals: int = 1
    definition: Any = None
    remarks: tuple[str, ...] = field(default=())
    labels: dict[str, str] = field(default_factory=dict)
    one_row: dict[str, str] = field(default_factory=dict)

    def _header(self) -> str:
        shared = f", suppress k={self.suppress}" if self.suppress else ""
        return (
            f"<TableOne: {len(self.variables)} variables by {self.by}, {self.n:,} episodes "
            f"in {len(self.groups)} groups{shared}>"
        )

    def to_frame(self) -> pd.DataFrame:
        """A copy of the tidy long table (columns :data:`TABLE_ONE_COLUMNS`)."""
        return self.table.copy()

    def definition_text(self) -> str | None:
        """The outcome definition of the input episode table, when there is one."""
        if self.definition is None or not hasattr(self.definition, "describe"):
            return None
        return f"Episodes from an episode table; outcome definition: {self.definition.describe()}."

    def to_wide(self) -> pd.DataFrame:
        """The classic Table 1 display: one row per variable or level, one column per group.

        Columns: ``variable`` (name and summary, e.g. ``"age, mean (SD)"``, on the first row
        of each variable), ``level``, ``Overall``, one column per group, then ``SMD`` (``max
        |SMD|`` with more than two groups), and with p-values ``p-value`` and ``test``. A
        variable with missing values gets a ``(missing)`` row of counts. All cells are text.

        Examples
        --------
        >>> import iopoutcomes as iop
        >>> out = iop.episode_outcomes(iop.simulate_records(seed=0))
        >>> wide = iop.table_one(out, columns=["sex"]).to_wide()
        >>> wide[["variable", "level"]].to_numpy().tolist()
        [['n', ''], ['sex, n (%)', 'female'], ['', 'male']]
        """
        t = self.table
        if self.one_row:  # two-level variables shown by one level (e.g. the 1 of a 0/1 flag)
            drop = pd.Series(False, index=t.index)
            for variable, shown in self.one_row.items():
                drop |= (t["variable"] == variable) & (t["level"] != shown)
            t = t.loc[~drop]
        columns = [OVERALL, *self.groups]
        smd_header = "SMD" if len(self.groups) <= 2 else "max |SMD|"
        has_p = bool(t["method"].notna().any())
        rows: list[dict[str, str]] = []
        for variable in ("n", *self.variables):
            block = t.loc[t["variable"] == variable]
            summary = str(block["summary"].iloc[0])
            name = self.labels.get(variable, variable)
            label = "n" if variable == "n" else f"{name}, {summary}"
            first = True
            for level, part in block.groupby("level", sort=False):
                cells = part.set_index("group")
                row = {"variable": label if first else "", "level": str(level)}
                for g in columns:
                    row[g] = str(cells.at[g, "display"])
                row[smd_header] = _fmt_smd(_as_float(cells.at[OVERALL, "smd"]))
                if has_p:
                    row["p-value"] = _fmt_p(_as_float(cells.at[OVERALL, "pvalue"])) if first else ""
                    method: Any = cells.at[OVERALL, "method"]
                    row["test"] = str(method) if first and not pd.isna(method) else ""
                rows.append(row)
                first = False
            if variable != "n":
                first_level = block.loc[block["level"] == block["level"].iloc[0]]
                missing = first_level.set_index("group")
                if int(missing["n_missing"].fillna(1).sum()) > 0:
                    row = {"variable": "", "level": MISSING_LEVEL}
                    for g in columns:
                        value = missing.at[g, "n_missing"]
                        row[g] = SUPPRESSED if pd.isna(value) else str(int(value))
                    row[smd_header] = ""
                    if has_p:
                        row["p-value"] = ""
                        row["test"] = ""
                    rows.append(row)
        header = ["variable", "level", *columns, smd_header]
        if has_p:
            header += ["p-value", "test"]
        return pd.DataFrame(rows, columns=header)

    def _export_frame(self) -> pd.DataFrame:
        return self.to_wide()

    def methods_text(self) -> str:
        """Methods sentence for the baseline table (issue 22), with labels applied.

        Examples
        --------
        >>> import iopoutcomes as iop
        >>> out = iop.episode_outcomes(iop.simulate_records(n=100, seed=0))
        >>> iop.table_one(out, columns=["age"]).methods_text()[:40]
        'Baseline characteristics are summarised '
        """
        cont = [self.labels.get(v, v) for v, k in self.summaries.items() if k != "n (%)"]
        cat = [self.labels.get(v, v) for v, k in self.summaries.items() if k == "n (%)"]
        parts = [
            f"Baseline characteristics are summarised by {self.by}: "
            + "; ".join(
                p
                for p in (
                    f"{', '.join(cat)} as n (%) of non-missing values" if cat else "",
                    f"{', '.join(cont)} as mean (SD) or median [Q1, Q3] when skewed"
                    if cont
                    else "",
                )
                if p
            )
            + ". Missing values are counted per variable and group."
        ]
        if self.table["smd"].notna().any():
            other = [g for g in self.groups if g != self.reference]
            sign = f" ({other[0]} minus {self.reference})" if len(other) == 1 else ""
            parts.append(
                f"Imbalance is described by standardized mean differences{sign} (Austin 2009); "
                "|SMD| > 0.1 marks imbalance."
            )
        if self.table["method"].notna().any():
            parts.append("P-values are two-sided and not adjusted for multiplicity.")
        if self.suppress:
            parts.append(f"Counts below {self.suppress} are suppressed for privacy.")
        return " ".join(parts)

    def __repr__(self) -> str:
        wide = self.to_wide()
        parts = [self._header(), frame_to_text(wide, max_rows=len(wide) + 1)]
        definition = self.definition_text()
        if definition:
            parts.append(definition)
        if self.remarks:
            parts.append("\n".join(f"[{i}] {r}" for i, r in enumerate(self.remarks, start=1)))
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        wide = self.to_wide()
        parts = [
            f"<p><strong>{escape(self._header())}</strong></p>",
            frame_to_html(wide, max_rows=len(wide) + 1),
        ]
        definition = self.definition_text()
        if definition:
            parts.append(f'<p class="iopoutcomes-definition">{escape(definition)}</p>')
        if self.remarks:
            items = "".join(f"<li>{escape(r)}</li>" for r in self.remarks)
            parts.append(f'<ol class="iopoutcomes-remarks">{items}</ol>')
        return f'<div class="iopoutcomes-result">{"".join(parts)}</div>'

    def to_csv(self, path: str | os.PathLike[str], *, wide: bool = True) -> None:
        """Write the wide display (or, with ``wide=False``, the tidy table) as UTF-8 CSV.

        Text cells starting with ``= + - @``, a tab or a carriage return are neutralised
        (:func:`iopoutcomes.privacy.neutralise_frame`). The remarks are not written; use
        :meth:`to_excel` to keep them next to the table.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import iopoutcomes as iop
        >>> out = iop.episode_outcomes(iop.simulate_records(seed=0))
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp) / "table1.csv"
        ...     iop.table_one(out, columns=["age"]).to_csv(path)
        ...     path.read_text().splitlines()[0]
        'variable,level,Overall,IOP,inpatient,SMD'
        """
        frame = self.to_wide() if wide else self.to_frame()
        neutralise_frame(frame).to_csv(path, index=False)

    def to_excel(self, path: str | os.PathLike[str]) -> None:
        """Write an ``.xlsx`` workbook: sheets ``table_one`` (wide), ``long`` (tidy), ``remarks``.

        Text cells starting with ``= + - @``, a tab or a carriage return are neutralised
        (:func:`iopoutcomes.privacy.neutralise_frame`); numbers stay numbers.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import pandas as pd
        >>> import iopoutcomes as iop
        >>> out = iop.episode_outcomes(iop.simulate_records(seed=0))
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp) / "table1.xlsx"
        ...     iop.table_one(out, columns=["sex"]).to_excel(path)
        ...     list(pd.read_excel(path, sheet_name=None))
        ['table_one', 'long', 'remarks']
        """
        remarks = pd.DataFrame(
            {"remark": list(self.remarks), "number": range(1, len(self.remarks) + 1)}
        )[["number", "remark"]]
        long = self.to_frame()
        for column in ("n", "n_valid", "n_missing"):
            long[column] = long[column].astype("float")  # Int64 NA -> empty cell
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            neutralise_frame(self.to_wide()).to_excel(writer, sheet_name="table_one", index=False)
            neutralise_frame(long).to_excel(writer, sheet_name="long", index=False)
            neutralise_frame(remarks).to_excel(writer, sheet_name="remarks", index=False)


# --- computation ---------------------------------------------------------------------------------


def _categorical_rows(
    x: pd.Series, g: pd.Series, levels: list[Any], groups: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Counts (levels x groups) and missing counts (groups) of one categorical variable."""
    codes = pd.Categorical(x, categories=levels).codes
    gcodes = pd.Categorical(g, categories=groups).codes
    ok = codes >= 0
    counts = np.zeros((len(levels), len(groups)), dtype=np.int64)
    np.add.at(counts, (codes[ok], gcodes[ok]), 1)
    missing = np.bincount(gcodes[~ok], minlength=len(groups)).astype(np.int64)
    return counts, missing


def _continuous_stats(x: pd.Series, g: pd.Series, groups: list[str]) -> pd.DataFrame:
    """Per group and overall: n_valid, n_missing, mean, sd, median, q1, q3, skew."""
    frame = pd.DataFrame({"x": x.to_numpy(dtype=float), "g": g.to_numpy()})
    frame = pd.concat([frame, frame.assign(g=OVERALL)], ignore_index=True)
    grouped = frame.groupby("g", sort=False)["x"]
    out = pd.DataFrame(
        {
            "n_valid": grouped.count(),
            "n_missing": grouped.size() - grouped.count(),
            "mean": grouped.mean(),
            "sd": grouped.std(ddof=1),
            "median": grouped.median(),
            "q1": grouped.quantile(0.25),
            "q3": grouped.quantile(0.75),
            "skew": grouped.skew(),
        }
    )
    return out.reindex([*groups, OVERALL])


def _smd_pairs(
    work: pd.DataFrame, variables: list[str], groups: list[str], reference: str
) -> pd.DataFrame:
    """Pairwise SMDs from :func:`iopoutcomes.adjust.standardized_mean_difference`."""
    if len(groups) == 2:
        other = groups[1] if groups[0] == reference else groups[0]
        pairs = [(other, reference)]
    else:
        pairs = [(b, a) for a, b in combinations(groups, 2)]
    parts = []
    for group, ref in pairs:
        smd = standardized_mean_difference(work, "__group__", variables, group, ref)
        # a level present in every episode of one group and none of the other (or a constant
        # that differs): zero pooled SD, infinite imbalance (standardized_mean_difference
        # leaves it NaN)
        diff = smd["mean_group"].to_numpy(dtype=float) - smd["mean_reference"].to_numpy(dtype=float)
        value = smd["smd"].to_numpy(dtype=float)
        separated = np.isnan(value) & np.isfinite(diff) & (diff != 0)
        with np.errstate(invalid="ignore"):
            smd = smd.assign(smd=np.where(separated, np.sign(diff) * np.inf, value))
        parts.append(
            pd.DataFrame(
                {
                    "variable": smd["covariate"].astype(str).to_numpy(),
                    "level": smd["level"].astype(str).to_numpy(),
                    "group": group,
                    "reference": ref,
                    "smd": smd["smd"].to_numpy(dtype=float),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def table_one(
    outcomes: Any,
    by: str = "cohort",
    columns: str | Sequence[str] | None = None,
    *,
    categorical: str | Sequence[str] | None = None,
    continuous: str | Sequence[str] | None = None,
    nonnormal: str | Sequence[str] | None = None,
    reference: Any = None,
    pvalues: bool = False,
    smd: bool = True,
    suppress: int | None = None,
    decimals: int = 1,
    labels: dict[str, str] | None = None,
    binary_rows: Literal["flags", "two-level", "all-levels"] = "flags",
) -> TableOne:
    """Baseline characteristics by group: the first table of a paper.

    Parameters
    ----------
    outcomes : EpisodeOutcomes or pandas.DataFrame
        An episode table (anything with ``to_frame()`` and ``definition``) or a plain data
        frame. Never modified.
    by : str, default "cohort"
        Grouping column. Rows where it is missing are left out (remark).
    columns : str or sequence of str, optional
        Variables to summarise, in order. Default: see Notes.
    categorical, continuous : str or sequence of str, optional
        Force the type of these variables (otherwise the automatic rule of the Notes).
    nonnormal : str or sequence of str, optional
        Continuous variables to summarise by median [Q1, Q3]. When given, every other
        continuous variable is summarised by mean (SD) and the automatic skewness rule is off.
    reference : scalar, optional
        Reference group of the SMD with two groups (default: ``"inpatient"`` when it is a
        group, as in :func:`~iopoutcomes.compare.compare_rates`, so that the SMD has the sign
        of the comparisons, group minus reference; else the first group in display order:
        categorical order, else sorted).
    pvalues : bool, default False
        Add a test per variable (see Notes).
    smd : bool, default True
        Add standardized mean differences.
    suppress : int, optional
        Small-cell suppression threshold ``k`` for sharing (e.g. 11: counts 1-10 hidden, with
        complementary suppression per variable; see Notes).
    decimals : int, default 1
        Decimals of percentages, means, SDs, medians and quartiles in the display (the data
        are never rounded).
    labels : dict, optional
        Display names of the variables in :meth:`TableOne.to_wide` and the writers, e.g.
        ``{"primary_substance": "Primary substance"}`` (the tidy table keeps column names).
    binary_rows : {"flags", "two-level", "all-levels"}, default "flags"
        Rows of two-level categorical variables in the wide display: ``"flags"`` shows one row
        (the 1 / True / yes level) for 0/1, boolean and yes/no variables; ``"two-level"`` shows
        one row (the second level) for every two-level variable (as R's tableone); ``"all-
        levels"`` shows every level. The tidy table always has every level.

    Returns
    -------
    TableOne

    Raises
    ------
    ParameterError
        A bad argument (unknown type, a column both categorical and continuous, ...).
    MissingColumnError
        ``by`` or a named column is not in the data.
    InsufficientDataError
        Fewer than two groups.
    SuppressionAuditError
        ``suppress`` cannot protect a hidden count (pool small groups or levels).

    Notes
    -----
    **Default columns.** For an episode table: ``definition.covariates`` when set, else every
    episode column that is not an identifier, a date, a canonical episode column
    (``level_of_care``, ``site``, ``discharge_reason`` ...), a quarter or an outcome column,
    that is the baseline columns the program added (age, sex, primary substance, severity ...).
    For a data frame: every column but ``by``, ``episode_id``, ``patient_id`` and dates.

    **Types.** A column is categorical when it is not numeric, is boolean, or only holds 0 and
    1; otherwise continuous. Levels follow the categorical order, else sorted order.

    **Categorical**: ``n (%)``, the percentage of the group's non-missing values. **Continuous**:
    mean (SD) (sample SD, ``n - 1``), or median [Q1, Q3] (quartiles by linear interpolation,
    R's type 7) when the absolute sample skewness (adjusted Fisher-Pearson, ``pandas.Series.
    skew``) exceeds :data:`SKEWNESS_THRESHOLD` (1) in any group with three or more values, or
    when named in ``nonnormal``. The choice is in the ``summary`` column and in a remark.
    Missing values are counted per variable and group (``n_missing``) and excluded from
    percentages, summaries, SMDs and tests.

    **SMD** (Austin 2009) by :func:`iopoutcomes.adjust.standardized_mean_difference`: for a
    continuous variable the difference in means over the pooled SD, for each level of a
    categorical variable the difference in proportions over ``sqrt((p1 (1 - p1) + p0 (1 -
    p0)) / 2)``. With two groups it is signed: the other group minus ``reference``. With more
    groups ``smd`` is the largest absolute pairwise SMD (``max |SMD|``); every pair is in
    ``TableOne.smd_pairwise``. ``|SMD| > 0.1`` is the usual mark of imbalance.

    **Tests** (``pvalues=True``, two-sided, unadjusted for multiplicity): categorical, the
    Pearson chi-square test of independence without continuity correction, or Fisher's exact
    test for a 2 x 2 table with an expected count below 5 (a remark warns about larger tables
    with small expected counts); continuous with mean (SD), Welch's two-sample t-test (one-way
    ANOVA for more than two groups); with median [Q1, Q3], the Mann-Whitney U test
    (Kruskal-Wallis for more than two groups). The test is named in ``method``. In
    non-randomised comparisons SMDs, not p-values, describe imbalance (Austin 2009).

    **Suppression** (``suppress=k``): for each variable the count table (levels, plus the
    missing counts, by group, with the group sizes and the Overall column as margins) goes
    through :func:`iopoutcomes.privacy.suppress_table`: counts ``1 .. k-1`` are hidden, then
    complementary cells so that no hidden count can be recovered from the margins (LP audit).
    Group sizes are published in the ``n`` row (hidden there when under ``k``). Percentages
    of hidden counts, percentages whose denominator is hidden, continuous summaries of fewer
    than ``k`` values, SMDs of a level with a hidden count and p-values of a categorical
    variable with a hidden count are withheld too, since each would give the count back.

    References
    ----------
    Austin PC. Balance diagnostics for comparing the distribution of baseline covariates
    between treatment groups in propensity-score matched samples. Stat Med
    2009;28:3083-3107. Bulmer MG. Principles of Statistics. Dover, 1979. Hyndman RJ, Fan Y.
    Sample quantiles in statistical packages. Am Stat 1996;50:361-365. Pollard TJ, Johnson AEW,
    Raffa JD, Mark RG. tableone: an open source Python package for producing summary
    statistics for research papers. JAMIA Open 2018;1:26-31.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> out = iop.episode_outcomes(iop.simulate_records(seed=0))
    >>> t1 = iop.table_one(out, by="cohort", pvalues=True)
    >>> t1.variables
    ('age', 'sex', 'primary_substance', 'severity')
    >>> t1.summaries["age"]
    'mean (SD)'
    >>> row = t1.to_frame().query("variable == 'sex' and level == 'female' and group == 'IOP'")
    >>> row[["n", "n_valid", "display", "summary"]].to_numpy().tolist()
    [[437, 1162, '437 (37.6)', 'n (%)']]
    >>> t1.to_wide().loc[1, ["variable", "test"]].tolist()
    ['age, mean (SD)', 'Welch two-sample t-test']
    """
    frame, definition = outcomes_table(outcomes, needed_by="table_one")
    if not isinstance(by, str):
        raise ParameterError(f"by must be one column name (a str); got {type(by).__name__}.")
    _check_columns(frame, [by], "The grouping column by=")
    if isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0:
        raise ParameterError(f"decimals must be a non-negative int; got {decimals!r}.")
    if suppress is not None and (
        isinstance(suppress, bool) or not isinstance(suppress, int) or suppress < 2
    ):
        raise ParameterError(
            f"suppress must be None or a whole threshold k >= 2 (e.g. 11); got {suppress!r}."
        )
    cat_forced = _as_list(categorical)
    cont_forced = _as_list(continuous)
    nonnormal_list = None if nonnormal is None else _as_list(nonnormal)
    both = sorted(set(cat_forced) & set(cont_forced))
    if both:
        raise ParameterError(
            f"Columns {both} are named both categorical= and continuous=; name each once."
        )
    named = list(dict.fromkeys([*cat_forced, *cont_forced, *(nonnormal_list or [])]))
    if columns is None:
        variables = _default_columns(frame, by, definition)
        variables += [c for c in named if c not in variables and c != by]
    else:
        variables = list(dict.fromkeys(_as_list(columns)))
        outside = [c for c in named if c not in variables]
        if outside:
            raise ParameterError(
                f"Columns {outside} are named in categorical=/continuous=/nonnormal= but not in "
                "columns=; add them to columns= or leave columns=None."
            )
    if by in variables:
        raise ParameterError(f"The grouping column {by!r} cannot also be a summarised column.")
    if "n" in variables:
        raise ParameterError("A column named 'n' clashes with the group-size row; rename it.")
    if not variables:
        raise ParameterError(
            "No columns to summarise: name them with columns= (the default found none)."
        )
    _check_columns(frame, variables, "Columns")
    if nonnormal_list and set(nonnormal_list) & set(cat_forced):
        raise ParameterError("A column named in nonnormal= cannot also be categorical=.")

    # groups
    keep = frame[by].notna().to_numpy()
    n_no_group = int((~keep).sum())
    data = frame.loc[keep, [by, *variables]]
    group_values = _levels(data[by])
    groups = [str(v) for v in group_values if (data[by] == v).any()]
    if len(groups) < 2:
        from .exceptions import InsufficientDataError

        raise InsufficientDataError(
            f"table_one needs at least two groups in column {by!r}; found {len(groups)}."
        )
    if OVERALL in groups:
        raise ParameterError(
            f"A group of {by!r} is labelled {OVERALL!r}, which names the all-groups column; "
            "relabel it."
        )
    if len(set(groups)) != len(groups):
        raise ParameterError(f"Group labels of {by!r} are not distinct as text; relabel them.")
    g = pd.Series(data[by].astype(object).map(str).to_numpy(dtype=object), index=data.index)
    if reference is None:
        ref = "inpatient" if "inpatient" in groups else groups[0]
    else:
        ref = str(reference)
        if ref not in groups:
            raise ParameterError(
                f"reference is not one of the {len(groups)} groups of {by!r}; name an existing "
                "group."
            )
    n_total = int(len(data))
    sizes = g.value_counts().reindex(groups).to_numpy(dtype=np.int64)

    if binary_rows not in ("flags", "two-level", "all-levels"):
        raise ParameterError(
            f"binary_rows must be 'flags', 'two-level' or 'all-levels'; got {binary_rows!r}."
        )
    # types
    kinds: dict[str, str] = {}
    all_missing = [v for v in variables if not bool(data[v].notna().any())]
    for v in variables:
        if v in all_missing:  # nothing to summarise: shown by its missing counts
            kinds[v] = "continuous"
            continue
        if pd.api.types.is_datetime64_any_dtype(data[v].dtype):
            raise ParameterError(
                f"Column {v!r} holds dates; summarise a derived number (e.g. age) instead."
            )
        if v in cat_forced:
            kinds[v] = "categorical"
        elif v in cont_forced or (nonnormal_list and v in nonnormal_list):
            kinds[v] = "continuous"
        else:
            kinds[v] = "categorical" if _is_categorical(data[v]) else "continuous"
        if kinds[v] == "continuous" and v not in all_missing:
            values = pd.to_numeric(data[v].astype("object"), errors="coerce")
            if int(values.notna().sum()) < int(data[v].notna().sum()):
                raise ParameterError(
                    f"Column {v!r} is continuous but has values that are not numbers; "
                    "name it in categorical= or clean it."
                )

    all_columns = [*groups, OVERALL]
    rows: list[pd.DataFrame] = []
    summaries: dict[str, str] = {}
    tests: dict[str, tuple[float, float, str]] = {}
    small_expected: list[str] = []
    skewed: list[str] = []
    work = pd.DataFrame({"__group__": g.to_numpy()}, index=data.index)
    level_tables: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}

    # n row
    n_counts = np.append(sizes, n_total)
    rows.append(
        pd.DataFrame(
            {
                "variable": "n",
                "level": "",
                "group": all_columns,
                "n": n_counts,
                "n_valid": n_counts,
                "n_missing": 0,
                "summary": "n",
            }
        )
    )
    one_row: dict[str, str] = {}
    for v in variables:
        x = data[v]
        if v in all_missing:
            x = pd.Series(np.nan, index=data.index, dtype=float)
        if kinds[v] == "categorical":
            levels = _levels(x)
            labels_v = [str(lv) for lv in levels]
            shown = _one_row_level(x, labels_v, binary_rows)
            if shown is not None:
                one_row[v] = shown
            if len(set(labels_v)) != len(labels_v):
                raise ParameterError(f"Levels of {v!r} are not distinct as text; relabel them.")
            counts, missing = _categorical_rows(x, g, levels, groups)
            level_tables[v] = (labels_v, counts, missing)
            full = np.column_stack([counts, counts.sum(axis=1)])
            miss = np.append(missing, missing.sum())
            valid = np.append(sizes, n_total) - miss
            with np.errstate(invalid="ignore", divide="ignore"):
                pct = 100.0 * full / valid[None, :]
            rows.append(
                pd.DataFrame(
                    {
                        "variable": v,
                        "level": np.repeat(labels_v, len(all_columns)),
                        "group": all_columns * len(labels_v),
                        "n": full.ravel(),
                        "n_valid": np.tile(valid, len(labels_v)),
                        "n_missing": np.tile(miss, len(labels_v)),
                        "value": pct.ravel(),
                        "summary": "n (%)",
                    }
                )
            )
            summaries[v] = "n (%)"
            codes = pd.Categorical(x, categories=levels)
            work[v] = pd.Categorical.from_codes(codes.codes, categories=pd.Index(labels_v))
            if pvalues:
                stat, p, method, small = _categorical_test(counts)
                tests[v] = (stat, p, method)
                if small:
                    small_expected.append(v)
        else:
            num = pd.to_numeric(x.astype("object"), errors="coerce").astype(float)
            st = _continuous_stats(num, g, groups)
            skew_groups = st.loc[groups]
            if nonnormal_list is not None:
                is_nonnormal = v in nonnormal_list
            else:
                sk = skew_groups.loc[skew_groups["n_valid"] >= 3, "skew"].abs()
                is_nonnormal = bool((sk > SKEWNESS_THRESHOLD).any())
                if is_nonnormal:
                    skewed.append(v)
            summary = "median [Q1, Q3]" if is_nonnormal else "mean (SD)"
            summaries[v] = summary
            rows.append(
                pd.DataFrame(
                    {
                        "variable": v,
                        "level": "",
                        "group": all_columns,
                        "n": st["n_valid"].to_numpy(dtype=np.int64),
                        "n_valid": st["n_valid"].to_numpy(dtype=np.int64),
                        "n_missing": st["n_missing"].to_numpy(dtype=np.int64),
                        "value": st["median" if is_nonnormal else "mean"].to_numpy(dtype=float),
                        "sd": st["sd"].to_numpy(dtype=float),
                        "q1": st["q1"].to_numpy(dtype=float),
                        "q3": st["q3"].to_numpy(dtype=float),
                        "summary": summary,
                    }
                )
            )
            work[v] = num.to_numpy()
            if pvalues:
                samples = [num.to_numpy()[(g == grp).to_numpy()] for grp in groups]
                samples = [s[~np.isnan(s)] for s in samples]
                tests[v] = _continuous_test(samples, is_nonnormal)

    table = pd.concat(rows, ignore_index=True)
    for column in ("value", "sd", "q1", "q3", "smd", "statistic", "pvalue"):
        if column not in table:
            table[column] = np.nan
        table[column] = table[column].astype(float)
    for column in ("n", "n_valid", "n_missing"):
        table[column] = table[column].astype("Int64")
    table["method"] = pd.Series(pd.NA, index=table.index, dtype="string")
    table["suppressed"] = False

    # SMDs
    pairwise = pd.DataFrame(columns=["variable", "level", "group", "reference", "smd"])
    if smd:
        pairwise = _smd_pairs(work, [v for v in variables if v not in all_missing], groups, ref)
        if len(groups) == 2:
            per = pairwise.set_index(["variable", "level"])["smd"]
        else:
            per = (
                pairwise.assign(smd=pairwise["smd"].abs())
                .groupby(["variable", "level"], sort=False)["smd"]
                .max()
            )
        key = pd.MultiIndex.from_frame(table[["variable", "level"]])
        table["smd"] = per.reindex(key).to_numpy(dtype=float)

    # tests
    if pvalues:
        for v, (stat, p, method) in tests.items():
            mask = table["variable"] == v
            table.loc[mask, "statistic"] = stat
            table.loc[mask, "pvalue"] = p
            table.loc[mask, "method"] = method

    audit = None
    if suppress is not None:
        table, pairwise, audit = _suppress(
            table, pairwise, variables, kinds, groups, level_tables, suppress
        )

    table["display"] = _display(table, decimals)
    table = table[list(TABLE_ONE_COLUMNS)].reset_index(drop=True)

    remarks = _remarks(
        groups=groups,
        ref=ref,
        by=by,
        kinds=kinds,
        summaries=summaries,
        nonnormal_given=nonnormal_list is not None,
        skewed=skewed,
        smd=smd,
        pvalues=pvalues,
        small_expected=small_expected,
        n_no_group=n_no_group,
        suppress=suppress,
        n_hidden=int(table["suppressed"].sum()),
    )
    for v in all_missing:
        remarks.append(
            f"Column {v!r} has no values (all {n_total} missing): only its missing counts are "
            "shown."
        )
    return TableOne(
        table=table,
        by=by,
        groups=tuple(groups),
        reference=ref,
        n=n_total,
        variables=tuple(variables),
        summaries=summaries,
        smd_pairwise=pairwise.reset_index(drop=True),
        suppress=suppress,
        suppression_audit=audit,
        decimals=decimals,
        definition=definition,
        remarks=tuple(remarks),
        labels=dict(labels or {}),
        one_row=one_row,
    )


_FLAG_LEVELS = ({"0", "1"}, {"false", "true"}, {"no", "yes"}, {"n", "y"})


def _one_row_level(x: pd.Series, levels: list[str], binary_rows: str) -> str | None:
    """The level a two-level variable is shown by in one row, or None for all levels."""
    if len(levels) != 2 or binary_rows == "all-levels":
        return None
    lower = [lv.lower() for lv in levels]
    for flag in _FLAG_LEVELS:
        if set(lower) == flag:
            positive = {"1", "true", "yes", "y"}
            return levels[0] if lower[0] in positive else levels[1]
    return levels[1] if binary_rows == "two-level" else None


def _suppress(
    table: pd.DataFrame,
    pairwise: pd.DataFrame,
    variables: list[str],
    kinds: dict[str, str],
    groups: list[str],
    level_tables: dict[str, tuple[list[str], np.ndarray, np.ndarray]],
    k: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Hide small counts (and what would reveal them) per variable; see :func:`table_one`."""
    table = table.copy()
    pairwise = pairwise.copy()
    columns = [*groups, OVERALL]
    sizes_row = table.loc[table["variable"] == "n"].set_index("group")["n"]
    sizes = sizes_row.reindex(groups).to_numpy(dtype=np.int64)
    audits: list[pd.DataFrame] = []

    # group sizes: the n row (one additive relation: the groups sum to the overall n)
    n_result = suppress_table(pd.DataFrame([sizes], index=["n"], columns=groups), k=k)
    size_hidden = n_result.values.isna().any(axis=0).to_numpy()  # groups, then Total
    mask_n = (table["variable"] == "n").to_numpy()
    table.loc[mask_n, "suppressed"] = size_hidden
    table.loc[mask_n, ["n", "n_valid"]] = table.loc[mask_n, ["n", "n_valid"]].mask(
        np.column_stack([size_hidden, size_hidden])
    )
    audits.append(n_result.audit.assign(variable="n"))

    for v in variables:
        mask_v = (table["variable"] == v).to_numpy()
        block = table.loc[mask_v]
        if kinds[v] == "continuous":
            # n_valid + n_missing = the published group size, so both are hidden together
            # when either is 1..k-1; the Overall pair too when only one group is hidden.
            st = block.set_index("group").reindex(columns)
            valid = st["n_valid"].to_numpy(dtype=np.int64)
            miss = st["n_missing"].to_numpy(dtype=np.int64)
            small = ((valid >= 1) & (valid < k)) | ((miss >= 1) & (miss < k))
            pair_hidden = small | size_hidden
            if pair_hidden[:-1].sum() == 1:
                pair_hidden[-1] = True
            idx = block.index
            few = (valid >= 1) & (valid < k)
            table.loc[idx, "suppressed"] = pair_hidden
            for column in ("n", "n_valid", "n_missing"):
                table.loc[idx, column] = table.loc[idx, column].mask(pair_hidden)
            if pair_hidden[:-1].any():
                # the Overall mean and the tests would give a hidden group size back
                few[-1] = True
                table.loc[idx, ["statistic", "pvalue"]] = np.nan
                table.loc[idx, "method"] = pd.NA
            for column in ("value", "sd", "q1", "q3"):
                table.loc[idx, column] = table.loc[idx, column].mask(few)
            continue
        labels, counts, missing = level_tables[v]
        row_labels = list(labels)
        interior = counts
        if missing.sum() > 0:
            row_labels = [*row_labels, MISSING_LEVEL]
            interior = np.vstack([interior, missing[None, :]])
        result = suppress_table(pd.DataFrame(interior, index=row_labels, columns=groups), k=k)
        hidden = result.values.isna().to_numpy()  # (rows + Total) x (groups + Total)
        margin_hidden = hidden[-1]
        if (margin_hidden & ~size_hidden).any():
            raise SuppressionAuditError(
                f"Protecting the small counts of column {v!r} would need to hide a group size "
                "that the table publishes. Pool small levels or groups before sharing."
            )
        audits.append(result.audit.assign(variable=v))
        if missing.sum() > 0:
            miss_hidden = hidden[len(row_labels) - 1]
        else:
            miss_hidden = np.zeros(len(columns), dtype=bool)
        valid_hidden = miss_hidden | size_hidden
        cell_hidden = hidden[: len(labels)]  # levels x columns
        n_levels = len(labels)
        flat_hidden = cell_hidden.ravel()
        value_hidden = flat_hidden | np.tile(valid_hidden, n_levels)
        idx = block.index
        table.loc[idx, "suppressed"] = flat_hidden
        table.loc[idx, "n"] = table.loc[idx, "n"].mask(flat_hidden)
        table.loc[idx, "value"] = table.loc[idx, "value"].mask(value_hidden)
        table.loc[idx, "n_valid"] = table.loc[idx, "n_valid"].mask(np.tile(valid_hidden, n_levels))
        table.loc[idx, "n_missing"] = table.loc[idx, "n_missing"].mask(
            np.tile(miss_hidden, n_levels)
        )
        level_any = np.asarray(cell_hidden.any(axis=1), dtype=bool)
        hidden_levels = [lab for lab, h in zip(labels, level_any.tolist(), strict=True) if h]
        table.loc[idx, "smd"] = table.loc[idx, "smd"].mask(np.repeat(level_any, len(columns)))
        if len(pairwise):
            pm = (pairwise["variable"] == v) & pairwise["level"].isin(hidden_levels)
            pairwise.loc[pm, "smd"] = np.nan
        if level_any.any():
            table.loc[idx, ["statistic", "pvalue"]] = np.nan
            table.loc[idx, "method"] = pd.NA
    audit = pd.concat(audits, ignore_index=True)
    audit = audit[["variable", "row", "column", "lower", "upper", "feasible_integers"]]
    return table, pairwise, audit


def _display(table: pd.DataFrame, decimals: int) -> list[str]:
    out: list[str] = []
    for n, value, sd, q1, q3, summary, hidden in zip(
        table["n"].astype("float").to_numpy(),
        table["value"].to_numpy(dtype=float),
        table["sd"].to_numpy(dtype=float),
        table["q1"].to_numpy(dtype=float),
        table["q3"].to_numpy(dtype=float),
        table["summary"].astype(str).to_numpy(),
        table["suppressed"].to_numpy(dtype=bool),
        strict=True,
    ):
        if hidden and summary in ("n", "n (%)"):
            out.append(SUPPRESSED)
        elif summary == "n":
            out.append(str(int(n)))
        elif summary == "n (%)":
            out.append(f"{int(n)}" if math.isnan(value) else f"{int(n)} ({_fmt(value, decimals)})")
        elif math.isnan(value):
            out.append(SUPPRESSED if hidden or not math.isnan(n) and n > 0 else "—")
        elif summary == "mean (SD)":
            sd_text = "—" if math.isnan(sd) else _fmt(sd, decimals)
            out.append(f"{_fmt(value, decimals)} ({sd_text})")
        else:
            out.append(f"{_fmt(value, decimals)} [{_fmt(q1, decimals)}, {_fmt(q3, decimals)}]")
    return out


def _remarks(
    *,
    groups: list[str],
    ref: str,
    by: str,
    kinds: dict[str, str],
    summaries: dict[str, str],
    nonnormal_given: bool,
    skewed: list[str],
    smd: bool,
    pvalues: bool,
    small_expected: list[str],
    n_no_group: int,
    suppress: int | None,
    n_hidden: int,
) -> list[str]:
    remarks: list[str] = []
    if any(k == "categorical" for k in kinds.values()):
        remarks.append(
            "Categorical variables: n (%), percentages of the non-missing values of each group; "
            "missing values are counted in the (missing) rows and left out of percentages."
        )
    continuous = [v for v, k in kinds.items() if k == "continuous"]
    if continuous:
        medians = [v for v in continuous if summaries[v] != "mean (SD)"]
        if nonnormal_given:
            rule = "median [Q1, Q3] for the columns named in nonnormal="
        else:
            rule = (
                f"median [Q1, Q3] when the absolute sample skewness exceeds "
                f"{SKEWNESS_THRESHOLD:g} in any group"
            )
        which = f" ({', '.join(medians)})" if medians else " (none)"
        remarks.append(
            f"Continuous variables: mean (SD), or {rule}{which}; quartiles by linear "
            "interpolation (R type 7)."
        )
    if smd:
        if len(groups) == 2:
            other = groups[1] if groups[0] == ref else groups[0]
            remarks.append(
                f"SMD: standardized mean difference of {other} minus {ref} (Austin 2009), per "
                "level for categorical variables; |SMD| > 0.1 is the usual mark of imbalance."
            )
        else:
            pairs = len(groups) * (len(groups) - 1) // 2
            remarks.append(
                f"max |SMD|: the largest absolute standardized mean difference over the {pairs} "
                "pairs of groups (Austin 2009), per level for categorical variables; each pair "
                "is in smd_pairwise."
            )
    if pvalues:
        remarks.append(
            "p-values: two-sided, not adjusted for multiple comparisons; the test is named in "
            "the test column. In non-randomised comparisons, judge imbalance by the SMD."
        )
        if small_expected:
            remarks.append(
                "Expected counts below 5 make the chi-square approximation doubtful for: "
                + ", ".join(small_expected)
                + "."
            )
    if n_no_group:
        remarks.append(f"{n_no_group} rows with no value of {by!r} were left out.")
    if suppress is not None:
        remarks.append(
            f"Small-cell suppression for sharing: counts of 1 to {suppress - 1} and the cells "
            f"that would reveal them are shown as {SUPPRESSED} ({n_hidden} cells); percentages, "
            f"summaries of fewer than {suppress} values, SMDs and p-values that would give a "
            "hidden count back are withheld."
        )
    return remarks
