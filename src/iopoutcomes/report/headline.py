"""The report's headline: the primary analysis of the cohort comparison, said honestly.

The question a funder asks is "is our IOP as effective as inpatient care?". The report answers
it with one **primary analysis** (``[comparison] primary``: case-mix adjusted whenever
covariates are configured, otherwise unadjusted); the KPI tile, the executive summary and the
verdict come from that analysis, the other analyses are shown beside it as sensitivity
analyses, and a disagreement in verdict is said in plain words. Without covariates the cohorts'
intake profile (standardized differences) is published and the summary says when the cohorts
differ at intake (|SMD| > 0.1) that the comparison does not account for it.

Everything here works on the published (already suppressed) comparison table, so sentences
never carry a number the tables hide.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({
...     "analysis": ["unadjusted", "adjusted (g-computation)"], "missing": ["using", "using"],
...     "group": ["IOP", "IOP"], "reference": ["inpatient", "inpatient"],
...     "diff": [0.065, -0.04], "diff_ci_low": [-0.03, -0.16], "diff_ci_high": [0.16, 0.08],
...     "equivalence_ci_low": [-0.015, -0.14], "equivalence_ci_high": [0.145, 0.06],
...     "verdict": ["non-inferior", "inconclusive"], "suppressed": [False, False]})
>>> rows = primary_rows(frame, "adjusted")
>>> rows.primary["analysis"], rows.other["analysis"]
('adjusted (g-computation)', 'unadjusted')
>>> print(disagreement_sentence(rows, margin=0.10))  # doctest: +NORMALIZE_WHITESPACE
The two analyses disagree: without adjustment IOP looks non-inferior to inpatient, but after
adjusting for the cohorts' differences at intake (the primary analysis) the result is
inconclusive. The headline follows the primary analysis.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .labels import points
from .suppression import TOTAL, Partition, suppress_partition

__all__ = [
    "INTAKE_COVARIATES",
    "SMD_THRESHOLD",
    "PrimaryRows",
    "analysis_text",
    "disagreement_sentence",
    "intake_profile",
    "intake_sentence",
    "primary_rows",
    "result_sentence",
    "named_tests",
    "verdict_text",
]

SMD_THRESHOLD = 0.1
"""|standardized difference| above which cohorts are said to differ at intake (Austin 2009)."""

INTAKE_COVARIATES: tuple[str, ...] = ("age", "sex", "severity", "primary_substance")
"""Intake characteristics shown side by side when no case-mix covariates are configured."""

UNADJUSTED = "unadjusted"
PRIMARY_ADJUSTED = "adjusted (g-computation)"


@dataclass(frozen=True)
class PrimaryRows:
    """The primary row of a published comparison table, the other analysis beside it (adjusted
    vs unadjusted, under the same missing-data rule) and the complete-case row."""

    primary: pd.Series | None
    other: pd.Series | None
    complete_case: pd.Series | None
    primary_kind: str


def _first(frame: pd.DataFrame, mask: Any) -> pd.Series | None:
    rows = frame.loc[np.asarray(mask, dtype=bool)]
    return None if rows.empty else rows.iloc[0]


def primary_rows(frame: pd.DataFrame, primary: str, group: str | None = None) -> PrimaryRows:
    """Pick the primary, other and complete-case rows for one group of a comparison table.

    ``primary`` is "adjusted" (the g-computation row; the unadjusted row when no adjusted row
    exists) or "unadjusted". Rows are picked from the rows whose ``analysis`` is not a complete
    case sensitivity row.
    """
    f = frame if group is None else frame.loc[frame["group"].astype(str) == str(group)]
    analysis = f["analysis"].astype(str)
    main = ~analysis.str.contains("complete case", regex=False)
    unadjusted = _first(f, main & (analysis == UNADJUSTED))
    adjusted = _first(f, main & (analysis == PRIMARY_ADJUSTED))
    if adjusted is None:
        adjusted = _first(f, main & analysis.str.startswith("adjusted"))
    cc = _first(f, analysis.str.contains("complete case", regex=False))
    if primary == "adjusted" and adjusted is not None:
        return PrimaryRows(adjusted, unadjusted, cc, "adjusted")
    return PrimaryRows(unadjusted, adjusted, cc, "unadjusted")


def _pts(value: Any) -> str:
    return points(float(value))


def _published(row: pd.Series | None) -> bool:
    return (
        row is not None
        and not bool(row.get("suppressed", False))
        and math.isfinite(float(row.get("diff", float("nan"))))
    )


def verdict_text(verdict: str, group: str, reference: str, margin: float) -> str:
    """The margin verdict in plain words (``margin`` in proportion units).

    >>> verdict_text("non-inferior", "IOP", "inpatient", 0.1)
    'IOP is not worse than inpatient by 10 points or more (non-inferior)'
    """
    m = f"{100 * margin:g}"
    return {
        "equivalent": f"{group} and {reference} are equivalent within ±{m} points",
        "non-inferior": f"{group} is not worse than {reference} by {m} points or more "
        "(non-inferior)",
        "inferior": f"{group} is worse than {reference} by more than the {m}-point margin "
        "(inferior)",
        "inconclusive": f"the result is inconclusive: the data cannot show that {group} is not "
        f"worse than {reference} by {m} points or more",
    }.get(verdict, "no verdict against the margin")


def analysis_text(row: pd.Series, adjust: Sequence[str]) -> str:
    """Which analysis a row is, in words: "adjusted for age, sex by g-computation"."""
    analysis = str(row["analysis"])
    missing = str(row.get("missing", ""))
    rule = {
        "using": "missing outcomes counted as not abstinent",
        "exclude": "clients with an observed outcome only",
    }.get(missing, f"missing = {missing}")
    if analysis.startswith("adjusted"):
        method = analysis[analysis.find("(") + 1 : -1] if "(" in analysis else "a model"
        covs = ", ".join(c.replace("_", " ") for c in adjust) or "no covariates"
        return f"case-mix adjusted for {covs} by {method}; {rule}"
    if "complete case" in analysis:
        return "unadjusted, complete case: clients with an observed outcome only"
    return f"unadjusted; {rule}"


def named_tests(row: pd.Series) -> tuple[str, str]:
    """(test of no difference, non-inferiority test) named for a comparison row.

    >>> named_tests(pd.Series({"analysis": "unadjusted",
    ...                       "method": "Pearson chi-square test (no continuity correction)"}))
    ('Pearson chi-square test', 'Farrington-Manning score test, one-sided')
    >>> named_tests(pd.Series({"analysis": "unadjusted", "method": "'N-1' chi-square test",
    ...                        "interval_method": "miettinen-nurminen"}))[1]
    'Miettinen-Nurminen score test, one-sided'
    """
    if str(row.get("analysis", "")).startswith("adjusted"):
        return "Wald test of the adjusted difference", "Wald test, one-sided"
    method = str(row.get("method", "") or "")
    short = method.split(" (")[0].strip() or "test of equal rates"
    # compare_rates' margin tests use the variance of the interval shown: Miettinen-Nurminen
    # with its own interval (the default), Farrington-Manning otherwise
    if str(row.get("interval_method", "")) == "miettinen-nurminen":
        return short, "Miettinen-Nurminen score test, one-sided"
    return short, "Farrington-Manning score test, one-sided"


def result_sentence(
    row: pd.Series, label: str, timepoint: str, margin: float, adjust: Sequence[str]
) -> str:
    """One sentence for a published comparison row: difference, interval, verdict, test."""
    group, reference = str(row["group"]), str(row["reference"])
    verdict = str(row.get("verdict") or "")
    ni_p = float(row.get("noninferiority_pvalue", float("nan")))
    # the name the published table prints beside this row, so sentence and table agree
    ni_test = str(row.get("noninferiority_test") or "") or named_tests(row)[1]
    lo90, hi90 = float(row["equivalence_ci_low"]), float(row["equivalence_ci_high"])
    detail = ""
    if math.isfinite(lo90) and math.isfinite(hi90):
        detail = f"; 90% CI {_pts(lo90)} to {_pts(hi90)}"
    if math.isfinite(ni_p):
        shown = "< 0.001" if ni_p < 0.001 else f"= {ni_p:.3f}"
        detail += f", non-inferiority p {shown} ({ni_test})"
    return (
        f"{label} ({analysis_text(row, adjust)}): at {timepoint}, {group} minus {reference} "
        f"abstinence is {_pts(row['diff'])} points (95% CI {_pts(row['diff_ci_low'])} to "
        f"{_pts(row['diff_ci_high'])}{detail}); {verdict_text(verdict, group, reference, margin)}."
    )


def disagreement_sentence(rows: PrimaryRows, margin: float) -> str:
    """Plain words when the primary and the other analysis reach different verdicts ("" when
    they agree or either is not published)."""
    p, o = rows.primary, rows.other
    if not (_published(p) and _published(o)):
        return ""
    assert p is not None and o is not None
    vp, vo = str(p.get("verdict") or ""), str(o.get("verdict") or "")
    if not vp or not vo or vp == vo:
        return ""
    group, reference = str(p["group"]), str(p["reference"])

    def reads(v: str) -> str:
        return {
            "equivalent": f"{group} looks equivalent to {reference}",
            "non-inferior": f"{group} looks non-inferior to {reference}",
            "inferior": f"{group} looks inferior to {reference}",
            "inconclusive": "the result is inconclusive",
        }.get(v, f"the verdict is {v}")

    def final(v: str) -> str:
        return {
            "equivalent": f"{group} is equivalent to {reference}",
            "non-inferior": f"{group} is non-inferior to {reference}",
            "inferior": f"{group} is inferior to {reference}",
            "inconclusive": "the result is inconclusive",
        }.get(v, f"the verdict is {v}")

    if rows.primary_kind == "adjusted":
        return (
            f"The two analyses disagree: without adjustment {reads(vo)}, but after adjusting "
            f"for the cohorts' differences at intake (the primary analysis) {final(vp)}. The "
            "headline follows the primary analysis."
        )
    return (
        f"The two analyses disagree: in the primary (unadjusted) analysis {final(vp)}, but "
        f"after case-mix adjustment {reads(vo)}; the cohorts' differences at intake matter for "
        "this conclusion. The headline follows the primary analysis as configured "
        "([comparison] primary)."
    )


# --- intake profile ----------------------------------------------------------------------------


def intake_profile(
    table: pd.DataFrame,
    by: str,
    group: str,
    reference: str,
    covariates: Sequence[str],
    k: int,
    log: Callable[..., Partition],
) -> pd.DataFrame:
    """The two cohorts' intake characteristics side by side, with standardized differences.

    Categorical covariates give one row per level (the share of each cohort with the level);
    numeric covariates one "mean" row. Level counts are suppressed with
    :func:`~iopoutcomes.report.suppression.suppress_partition` (rows with a hidden count are
    blanked); a mean is published only when at least ``k`` clients of each cohort contribute.

    Returns
    -------
    pandas.DataFrame
        ``covariate``, ``level``, ``n``, ``value``, ``n_ref``, ``value_ref``, ``smd``
        (``group`` minus ``reference``; Austin 2009) and ``suppressed``.
    """
    from ..adjust import balance_table

    sub = table.loc[table[by].astype("string").isin([group, reference]).fillna(False)].copy()
    sub[by] = sub[by].astype(str)
    covs = [c for c in covariates if c in sub.columns and sub[c].notna().any()]
    columns = ["covariate", "level", "n", "value", "n_ref", "value_ref", "smd", "suppressed"]
    if not covs or sub[by].nunique() < 2:
        return pd.DataFrame(columns=columns)
    bal = balance_table(sub, by, group, reference, covs)
    in_group = (sub[by] == group).to_numpy(bool)
    out: list[dict[str, Any]] = []
    for cov in dict.fromkeys(bal["covariate"].astype(str)):
        rows = bal.loc[bal["covariate"].astype(str) == cov]
        levels = [str(v) for v in rows["level"]]
        if any(levels):
            col = sub[cov].astype("string")
            counts = pd.DataFrame(
                {
                    "group": [int(((col == lv).fillna(False) & in_group).sum()) for lv in levels],
                    "reference": [
                        int(((col == lv).fillna(False) & ~in_group).sum()) for lv in levels
                    ],
                },
                index=levels,
            )
            is_group = pd.Series(in_group, index=sub.index)
            members = {
                (lv, side): (
                    (col == lv).fillna(False) & (is_group if side == "group" else ~is_group)
                ).astype("int64")
                for lv in levels
                for side in ("group", "reference")
            }  # the clients behind each count, for the whole-report disclosure audit
            part = log("intake_profile", suppress_partition(counts, k), members)
            for lv, (_, r) in zip(levels, rows.iterrows(), strict=True):
                hide = bool(part.hidden.loc[lv].any()) or bool(part.hidden.loc[TOTAL].any())
                out.append(
                    {
                        "covariate": cov,
                        "level": lv,
                        "n": part.shown(lv, "group"),
                        "value": np.nan if hide else float(r["mean_group"]),
                        "n_ref": part.shown(lv, "reference"),
                        "value_ref": np.nan if hide else float(r["mean_reference"]),
                        "smd": np.nan if hide else float(r["smd_unweighted"]),
                        "suppressed": hide,
                    }
                )
        else:
            r = rows.iloc[0]
            present = sub[cov].notna().to_numpy(bool)
            n_g, n_r = int((present & in_group).sum()), int((present & ~in_group).sum())
            ok = n_g >= k and n_r >= k
            out.append(
                {
                    "covariate": cov,
                    "level": "mean",
                    "n": n_g if ok else None,
                    "value": float(r["mean_group"]) if ok else np.nan,
                    "n_ref": n_r if ok else None,
                    "value_ref": float(r["mean_reference"]) if ok else np.nan,
                    "smd": float(r["smd_unweighted"]) if ok else np.nan,
                    "suppressed": not ok,
                }
            )
    frame = pd.DataFrame(out, columns=columns)
    for c in ("n", "n_ref"):
        frame[c] = frame[c].astype("Int64")
    frame["suppressed"] = frame["suppressed"].astype(bool)
    return frame


def intake_sentence(frame: pd.DataFrame, group: str, reference: str) -> str:
    """Say whether the cohorts differ at intake (published rows only) and that the comparison
    is not adjusted for it."""
    shown = frame.loc[~frame["suppressed"].to_numpy(bool)]
    if shown.empty:
        return (
            "The comparison is not adjusted for case-mix (no covariates from [comparison] adjust "
            "were used), and the cohorts' intake profile could not be published."
        )
    smd = pd.to_numeric(shown["smd"], errors="coerce").to_numpy(float)
    differ = shown.loc[np.abs(smd) > SMD_THRESHOLD]
    names = [
        str(c).replace("_", " ") + ("" if lv == "mean" else f" ({lv})")
        for c, lv in zip(differ["covariate"], differ["level"], strict=True)
    ]
    if names:
        return (
            f"{group} and {reference} clients differed at intake (standardized difference "
            f"above {SMD_THRESHOLD:g} for {', '.join(names)}); the comparison is not adjusted "
            "for these differences (no case-mix covariates from [comparison] adjust were used), "
            "so part of the difference may reflect who was admitted rather than the care "
            "setting."
        )
    return (
        f"{group} and {reference} clients were similar at intake on the characteristics shown "
        f"(every standardized difference within ±{SMD_THRESHOLD:g}); the comparison is not "
        "adjusted for case-mix."
    )
