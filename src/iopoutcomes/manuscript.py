"""Methods sections for manuscripts: :func:`methods_report` combines several results.

A results section is only as good as the methods paragraph beside it. :func:`methods_report`
takes the results of an analysis (comparisons, time-to-relapse analyses, subgroup analyses,
E-values, Table 1) and, optionally, the episode table they came from, and writes the methods in
the order a journal expects: design and participants (cohorts, episodes and patients, sites,
follow-up windows with their day ranges, outcome definitions), statistical analysis (each
result's own methods text), adjustment (estimand, model, positivity and balance), missing data
(rule, counts, sensitivity analyses run), clustering and repeated episodes, multiplicity,
software (versions and citation) and references. Column names are replaced by the ``labels=``
mapping, and trial data say "participants" where service data say "clients".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ._render import ResultDisplay, escape
from .exceptions import ParameterError

__all__ = [
    "CITATION",
    "MethodsReport",
    "adjustment_text",
    "few_clusters_remark",
    "methods_report",
    "software_text",
]

CITATION = (
    "iopoutcomes developers. iopoutcomes: treatment-outcomes analytics for intensive outpatient "
    "and inpatient substance-use programs (Python package), version {version}."
)
"""How to cite the package (``{version}`` is filled in)."""

_REFERENCES = {
    "robins": "Robins J (1986). A new approach to causal inference in mortality studies with a "
    "sustained exposure period. Math Model 7:1393-1512.",
    "rosenbaum": "Rosenbaum PR, Rubin DB (1983). The central role of the propensity score in "
    "observational studies for causal effects. Biometrika 70:41-55.",
    "austin": "Austin PC (2009). Balance diagnostics for comparing the distribution of baseline "
    "covariates between treatment groups in propensity-score matched samples. Stat Med "
    "28:3083-3107.",
    "austin_stuart": "Austin PC, Stuart EA (2015). Moving towards best practice when using "
    "inverse probability of treatment weighting (IPTW) using the propensity score to estimate "
    "causal treatment effects in observational studies. Stat Med 34:3661-3679.",
    "lunceford": "Lunceford JK, Davidian M (2004). Stratification and weighting via the "
    "propensity score in estimation of causal treatment effects. Stat Med 23:2937-2960.",
    "cameron": "Cameron AC, Gelbach JB, Miller DL (2008). Bootstrap-based improvements for "
    "inference with clustered errors. Rev Econ Stat 90:414-427.",
    "lin_wei": "Lin DY, Wei LJ (1989). The robust inference for the Cox proportional hazards "
    "model. J Am Stat Assoc 84:1074-1078.",
    "cox": "Cox DR (1972). Regression models and life-tables. J R Stat Soc B 34:187-220.",
    "km": "Kaplan EL, Meier P (1958). Nonparametric estimation from incomplete observations. "
    "J Am Stat Assoc 53:457-481.",
    "grambsch": "Grambsch PM, Therneau TM (1994). Proportional hazards tests and diagnostics "
    "based on weighted residuals. Biometrika 81:515-526.",
    "royston": "Royston P, Parmar MKB (2013). Restricted mean survival time: an alternative to "
    "the hazard ratio for the design and analysis of randomized trials with a time-to-event "
    "outcome. BMC Med Res Methodol 13:152.",
    "uno": "Uno H, Claggett B, Tian L, et al. (2014). Moving beyond the hazard ratio in "
    "quantifying the between-group difference in survival analysis. J Clin Oncol 32:2380-2385.",
    "vanderweele": "VanderWeele TJ, Ding P (2017). Sensitivity analysis in observational "
    "research: introducing the E-value. Ann Intern Med 167:268-274.",
    "wang": "Wang R, Lagakos SW, Ware JH, Hunter DJ, Drazen JM (2007). Statistics in medicine - "
    "reporting of subgroup analyses in clinical trials. N Engl J Med 357:2189-2194.",
    "holm": "Holm S (1979). A simple sequentially rejective multiple test procedure. Scand J "
    "Stat 6:65-70.",
    "strobe": "von Elm E, Altman DG, Egger M, et al. (2007). The Strengthening the Reporting of "
    "Observational Studies in Epidemiology (STROBE) statement. Lancet 370:1453-1457.",
    "mccarty": "McCarty D, Braude L, Lyman DR, et al. (2014). Substance abuse intensive "
    "outpatient programs: assessing the evidence. Psychiatr Serv 65:718-726.",
}

_KEY_PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "matplotlib")


def software_text() -> str:
    """Software sentence with the versions in use and the package citation.

    Examples
    --------
    >>> software_text().startswith("Analyses used iopoutcomes")
    True
    """
    import platform
    from importlib import metadata

    from . import __version__

    versions = []
    for name in _KEY_PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            continue
    return (
        f"Analyses used iopoutcomes {__version__} (Python {platform.python_version()}; "
        f"{', '.join(versions)}). Cite as: {CITATION.format(version=__version__)}"
    )


def _split_refs(text: str) -> tuple[str, list[str]]:
    """A methods_text's body and its reference list ("References" block), if any."""
    if "\n\nReferences\n" not in text:
        return text.strip(), []
    body, refs = text.split("\n\nReferences\n", 1)
    return body.strip(), [r.lstrip("- ").strip() for r in refs.splitlines() if r.strip()]


def _who(outcomes: Any, frame: pd.DataFrame | None) -> str:
    """ "participants" for trial data, "clients" for service data."""
    summary = getattr(outcomes, "records_summary", {}) or {}
    if summary.get("subjects") == "participants" or (
        frame is not None and ("trial" in frame.columns or "randomised" in frame.columns)
    ):
        return "participants"
    return "clients"


def adjustment_text(comparison: Any) -> str:
    """Estimand, model, positivity and balance of a comparison's adjusted rows (no references).

    Used by :meth:`Comparison.methods_text` and :func:`methods_report`.
    """
    t = comparison.table
    adj = list(getattr(comparison, "adjust", ()) or ())
    if not adj:
        return ""
    analyses = [a for a in dict.fromkeys(t["analysis"].astype(str)) if a != "unadjusted"]
    parts = [
        "Case-mix adjusted differences target the average effect in the combined population of "
        f"both groups (average treatment effect, ATE) and adjust for {', '.join(adj)}."
    ]
    if any("g-computation" in a for a in analyses):
        parts.append(
            "G-computation (standardisation; Robins 1986) fitted a logistic regression of the "
            "outcome on group and the covariates (numeric covariates linear, categorical "
            "covariates dummy coded), predicted every episode's risk as if treated in each "
            "group and averaged the predictions; intervals use the delta method."
        )
    if any("IPTW" in a for a in analyses):
        parts.append(
            "Inverse probability of treatment weighting (Rosenbaum & Rubin 1983) used stabilised "
            "weights from a logistic propensity-score model of the same covariates; the variance "
            "is the M-estimation sandwich that accounts for estimating the propensity score "
            "(Lunceford & Davidian 2004)."
        )
        bal = getattr(comparison, "balance", None)
        if bal is not None and len(bal):
            before = float(bal["smd_unweighted"].abs().max())
            after = float(bal["smd_weighted"].abs().max())
            parts.append(
                f"Covariate balance was checked with standardized mean differences (Austin "
                f"2009): the largest absolute SMD was {before:.2f} before and {after:.2f} after "
                "weighting" + (" (below the usual 0.1 threshold)." if after <= 0.1 else ".")
            )
    near = [r for r in getattr(comparison, "remarks", ()) if "positivity" in r]
    if near:
        parts.append(
            "Some propensity scores were below 0.01 or above 0.99 (a near violation of "
            "positivity), so weighted estimates may be unstable."
        )
    elif any("IPTW" in a for a in analyses):
        parts.append(
            "No propensity score was below 0.01 or above 0.99 (no near violation of positivity)."
        )
    parts.append("Episodes with a missing covariate were left out of the adjusted analyses.")
    for col in _comparison_clusters(comparison):
        parts.append(
            f"Standard errors of the adjusted estimates are cluster-robust by {col}"
            + _few_clusters_text(comparison, col)
        )
    return " ".join(parts)


def few_clusters_remark(frame: Any, cluster: str) -> str | None:
    """A remark when ``cluster`` has fewer than 30 distinct values (None otherwise).

    Examples
    --------
    >>> import pandas as pd
    >>> few_clusters_remark(pd.DataFrame({"site": list("abcdef")}), "site")[:24]
    'Only 6 clusters of site:'
    """
    try:
        n = int(frame[cluster].nunique())
    except (TypeError, KeyError):  # lazy frames (Dask, DuckDB): not counted here
        return None
    if n >= 30:
        return None
    return (
        f"Only {n} clusters of {cluster}: cluster-robust standard errors are biased downwards "
        "with fewer than about 30 clusters (Cameron et al. 2008), so the adjusted intervals are "
        "likely too narrow; stratify by the cluster or treat the intervals with caution."
    )


def _comparison_clusters(comparison: Any) -> list[str]:
    """Cluster columns named in a comparison's adjusted-row methods ("clustered on <col>")."""
    methods = comparison.table["method"].astype(str)
    found = methods.str.extract(r"clustered on ([A-Za-z0-9_]+)", expand=False).dropna()
    return list(dict.fromkeys(found.tolist()))


def _few_clusters_text(result: Any, col: str, n_clusters: int | None = None) -> str:
    """Sentence ending: a warning when there are fewer than 30 clusters."""
    n = n_clusters
    if n is None:
        return (
            "; with fewer than about 30 clusters sandwich intervals are too narrow (Cameron et "
            "al. 2008), so check the number of clusters."
        )
    if n >= 30:
        return "."
    return (
        f" with only {n} clusters: sandwich estimators are biased downwards with fewer than "
        "about 30 clusters (Cameron et al. 2008), so these intervals are likely too narrow; "
        "stratifying by the cluster, or a small-sample correction, is an alternative."
    )


@dataclass(frozen=True, eq=False, repr=False)
class MethodsReport(ResultDisplay):
    """A methods section built from several results (see :func:`methods_report`).

    Attributes
    ----------
    sections : dict
        Heading -> paragraph, in the order of a methods section.
    references : tuple of str
        The references cited, deduplicated, in order of first use.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> out = iop.episode_outcomes(iop.simulate_records(n=200, seed=1))
    >>> rep = iop.methods_report(iop.time_to_relapse(out), outcomes=out)
    >>> "Software" in rep.sections and rep.text().count("References") == 1
    True
    """

    sections: dict[str, str]
    references: tuple[str, ...]
    remarks: tuple[str, ...] = field(default_factory=tuple)

    def _header(self) -> str:
        return f"<MethodsReport: {len(self.sections)} sections, {len(self.references)} references>"

    def to_frame(self) -> pd.DataFrame:
        """One row per section: ``section``, ``text``."""
        return pd.DataFrame({"section": list(self.sections), "text": list(self.sections.values())})

    def text(self) -> str:
        """Plain text: headings, paragraphs and the numbered reference list."""
        body = "\n\n".join(f"{h}\n{p}" for h, p in self.sections.items())
        refs = "\n".join(f"{i}. {r}" for i, r in enumerate(self.references, start=1))
        return f"{body}\n\nReferences\n{refs}\n"

    def to_markdown(self) -> str:
        """Markdown with ``###`` headings."""
        body = "\n\n".join(f"### {h}\n\n{p}" for h, p in self.sections.items())
        refs = "\n".join(f"{i}. {r}" for i, r in enumerate(self.references, start=1))
        return f"{body}\n\n### References\n\n{refs}\n"

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"{self._header()}\n{self.text()}"

    def _repr_html_(self) -> str:
        parts = [f"<h4>{escape(h)}</h4><p>{escape(p)}</p>" for h, p in self.sections.items()]
        refs = "".join(f"<li>{escape(r)}</li>" for r in self.references)
        return f'<div class="iopoutcomes-result">{"".join(parts)}<h4>References</h4><ol>{refs}</ol></div>'


def _outcome_names(results: Sequence[Any]) -> list[str]:
    names: list[str] = []
    for r in results:
        out = getattr(r, "outcome", None)
        if isinstance(out, str):
            names.append(out)
        elif isinstance(out, tuple | list):
            names += [str(o) for o in out]
    return list(dict.fromkeys(names))


def _timepoint(outcome: str, definition: Any) -> str | None:
    tps = getattr(definition, "timepoints", ()) or ()
    for tp in tps:
        if outcome.endswith(f"_{tp}"):
            return str(tp)
    return None


def _design(
    outcomes: Any, frame: pd.DataFrame | None, results: Sequence[Any], who: str
) -> tuple[str, str]:
    """(design paragraph, outcomes paragraph)."""
    by = str(next((getattr(r, "by", None) for r in results if getattr(r, "by", None)), "cohort"))
    definition = getattr(outcomes, "definition", None) or next(
        (getattr(r, "definition", None) for r in results if getattr(r, "definition", None)), None
    )
    design = []
    if frame is not None and by in frame.columns:
        counts = frame[by].value_counts(dropna=True)
        groups = ", ".join(f"{g} (n = {int(n):,})" for g, n in counts.items())
        design.append(
            f"The analysis included {len(frame):,} treatment episodes in {len(counts)} groups "
            f"of {by}: {groups}."
        )
        if "patient_id" in frame.columns:
            per = frame.groupby("patient_id", dropna=True).size()
            multi = int((per > 1).sum())
            both = int((frame.groupby("patient_id")[by].nunique() > 1).sum())
            design.append(
                f"The episodes came from {per.size:,} {who}; {multi:,} contributed more than one "
                f"episode ({both:,} in more than one group)."
            )
        if "site" in frame.columns and frame["site"].notna().any():
            design.append(f"Episodes came from {frame['site'].nunique()} sites.")
        if "trial" in frame.columns:
            design.append(
                f"Data came from {frame['trial'].nunique()} randomised trials; {who} never "
                "randomised are not part of any arm and should be excluded, and trials should be "
                "analysed separately or as strata."
            )
    design.append(
        "Reporting follows the STROBE statement for observational studies (von Elm et al. 2007)."
    )
    outcome_parts = []
    if definition is not None and hasattr(definition, "describe"):
        outcome_parts.append(f"Outcome definition: {definition.describe()}.")
        windows = getattr(definition, "windows", {}) or {}
        for name in _outcome_names(results):
            tp = _timepoint(name, definition)
            if tp is None or tp not in windows:
                continue
            w = windows[tp]
            text = (
                f"{definition.label(name) if hasattr(definition, 'label') else name}: assessed "
                f"at the {tp} follow-up, window days {w.start_day} to {w.end_day} after "
                f"{w.anchor}"
            )
            due_col = f"followup_due_{tp}"
            if frame is not None and due_col in frame.columns:
                due = frame[due_col].astype("boolean").fillna(False).to_numpy(dtype=bool)
                text += f"; {int(due.sum()):,} episodes were due, {int((~due).sum()):,} not yet due"
                status = f"followup_status_{tp}"
                if status in frame.columns:
                    s = frame.loc[due, status].astype(str)
                    done = int((s == "completed").sum())
                    dead = int(s.isin(["died", "incarcerated"]).sum())
                    text += f" ({done:,} followed up; {dead:,} died or incarcerated)"
            outcome_parts.append(text + ".")
        if getattr(definition, "death_policy", "missing") == "missing":
            outcome_parts.append(
                "Deaths and incarcerations before the assessment count as missing follow-ups "
                "(and therefore as use under the 'missing = using' rule)."
            )
        if getattr(definition, "out_of_window", "count") == "count":
            outcome_parts.append(
                "Interviews outside the window were counted at the nearest time point."
            )
        if getattr(definition, "verify", "self_report") == "self_report":
            outcome_parts.append("Use was self-reported (not verified by urine screens).")
    return " ".join(design), " ".join(outcome_parts)


def methods_report(
    *results: Any,
    outcomes: Any = None,
    labels: Mapping[str, str] | None = None,
) -> MethodsReport:
    """A manuscript methods section combining several results.

    Parameters
    ----------
    *results
        Results of the analysis: ``Comparison``, ``RelapseAnalysis``, ``SubgroupAnalysis``,
        ``EValue``, ``TableOne``, ``PHTest``, ``RMSTResult`` ... (anything with
        ``methods_text()``; others are skipped with a remark).
    outcomes : EpisodeOutcomes or pandas.DataFrame, optional
        The episode table analysed: gives the design counts (groups, episodes, patients,
        repeated episodes, sites, episodes due and followed up).
    labels : mapping, optional
        Display names replacing column names everywhere in the text, e.g.
        ``{"primary_substance": "primary substance", "cohort": "programme"}``.

    Returns
    -------
    MethodsReport

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> out = iop.episode_outcomes(iop.simulate_records(n=200, seed=1))
    >>> rep = methods_report(iop.compare_rates(out), outcomes=out)
    >>> list(rep.sections)[:3]
    ['Design and participants', 'Outcomes', 'Statistical analysis']
    """
    if not results:
        raise ParameterError("methods_report needs at least one result.")
    frame: pd.DataFrame | None = None
    if outcomes is not None:
        frame = outcomes if isinstance(outcomes, pd.DataFrame) else outcomes.to_frame()
    who = _who(outcomes, frame)
    sections: dict[str, str] = {}
    refs: list[str] = []
    remarks: list[str] = []
    design, outcome_text = _design(outcomes, frame, results, who)
    sections["Design and participants"] = design
    if outcome_text:
        sections["Outcomes"] = outcome_text

    stats_parts: list[str] = []
    for r in results:  # loop over results
        method = getattr(r, "methods_text", None)
        if not callable(method):
            remarks.append(f"{type(r).__name__} has no methods text; left out.")
            continue
        body, rr = _split_refs(str(method()))
        stats_parts.append(body)
        refs += rr
    sections["Statistical analysis"] = " ".join(dict.fromkeys(stats_parts))

    comparisons = [r for r in results if hasattr(r, "missing_rule") and hasattr(r, "table")]
    adjusted = [c for c in comparisons if getattr(c, "adjust", ())]
    if adjusted:
        sections["Adjustment for case mix"] = " ".join(
            dict.fromkeys(adjustment_text(c) for c in adjusted)
        )
        refs += [_REFERENCES[k] for k in ("robins", "rosenbaum", "lunceford", "austin")]

    # missing data
    missing_parts = []
    rules = list(dict.fromkeys(str(c.missing_rule) for c in comparisons))
    if comparisons:
        t = comparisons[0].table
        first = t[t["analysis"] == "unadjusted"].drop_duplicates(["outcome", "group"])
        if {"n_missing", "n_missing_ref"} <= set(first.columns):
            for row in first.to_dict("records"):
                missing_parts.append(
                    f"{row['outcome']}: {int(row['n_missing'])} of {int(row['n'])} "
                    f"{row['group']} and {int(row['n_missing_ref'])} of {int(row['n_ref'])} "
                    f"{row['reference']} episodes had no outcome."
                )
        missing_parts.insert(0, f"Primary missing-data rule: {rules[0]}.")
        all_missing = list(dict.fromkeys(str(m) for c in comparisons for m in c.table["missing"]))
        if len(all_missing) > 1:
            missing_parts.append(
                "Sensitivity analyses under other missing-data assumptions: "
                + "; ".join(all_missing[1:])
                + "."
            )
        else:
            missing_parts.append(
                "No sensitivity analysis under another missing-data rule was run; results "
                "depend on the primary rule."
            )
    if missing_parts:
        sections["Missing data"] = " ".join(missing_parts)

    # clustering and repeated episodes
    cluster_parts = []
    clusters = [
        (type(r).__name__, getattr(r, "cluster", None))
        for r in results
        if getattr(r, "cluster", None)
    ]
    clusters += [("Comparison", c) for cmp in comparisons for c in _comparison_clusters(cmp)]
    if frame is not None and "patient_id" in frame.columns:
        per = frame.groupby("patient_id", dropna=True).size()
        if bool((per > 1).any()):
            by_patient = [n for n, c in clusters if c == "patient_id"]
            others = [type(r).__name__ for r in results if type(r).__name__ not in by_patient]
            text = f"{int((per > 1).sum()):,} {who} contributed more than one episode; "
            if by_patient and not others:
                text += "standard errors were clustered by patient."
            elif by_patient:
                text += (
                    f"the {', '.join(dict.fromkeys(by_patient))} clustered standard errors by "
                    "patient; the other analyses treat episodes as independent, which "
                    "understates uncertainty slightly."
                )
            else:
                text += (
                    "episodes were analysed as independent, which understates uncertainty "
                    "slightly; a cluster-robust sensitivity analysis by patient (cluster="
                    "'patient_id') is advisable."
                )
            cluster_parts.append(text)
    for name, c in dict.fromkeys(clusters):
        n_cl = int(frame[c].nunique()) if frame is not None and c in frame.columns else None
        cluster_parts.append(
            f"The {name} used cluster-robust standard errors by {c}"
            + _few_clusters_text(None, str(c), n_cl)
        )
        if n_cl is not None and n_cl < 30:
            refs.append(_REFERENCES["cameron"])
    margins = sorted({float(c.margin) for c in comparisons if getattr(c, "margin", None)})
    if margins:
        sections["Statistical analysis"] += (
            f" The equivalence margin ({', '.join(f'{100 * m:g}' for m in margins)} percentage "
            "points) is the smallest difference considered clinically important; [state its "
            "source: a prior study, a clinical consensus or a payer requirement]."
        )
    if any(type(r).__name__ == "RelapseAnalysis" and getattr(r, "cluster", None) for r in results):
        refs.append(_REFERENCES["lin_wei"])
    if cluster_parts:
        sections["Clustering"] = " ".join(cluster_parts)

    # multiplicity
    mult = []
    n_tests = sum(
        len(c.table[c.table["analysis"] == "unadjusted"].drop_duplicates(["outcome", "group"]))
        for c in comparisons
    )
    p_adj = {getattr(c, "p_adjust", None) for c in comparisons} - {None}
    if n_tests > 1 and p_adj:
        mult.append(
            f"P-values of the {n_tests} primary contrasts were adjusted with "
            f"{' / '.join(sorted(str(p) for p in p_adj))}."
        )
        if "holm" in p_adj:
            refs.append(_REFERENCES["holm"])
    elif n_tests > 1:
        mult.append(f"{n_tests} contrasts were tested without adjustment for multiplicity.")
    if any(type(r).__name__ == "SubgroupAnalysis" for r in results):
        mult.append("Subgroup analyses were exploratory and not adjusted for multiplicity.")
        refs.append(_REFERENCES["wang"])
    mult.append("All tests are two-sided unless stated otherwise.")
    sections["Multiplicity"] = " ".join(mult)
    sections["Software"] = software_text()

    names = {type(r).__name__ for r in results}
    if "RelapseAnalysis" in names:
        refs += [_REFERENCES["km"], _REFERENCES["cox"]]
    if "PHTest" in names:
        refs.append(_REFERENCES["grambsch"])
    if "RMSTResult" in names:
        refs += [_REFERENCES["royston"], _REFERENCES["uno"]]
    if "EValue" in names:
        refs.append(_REFERENCES["vanderweele"])
    refs.append(_REFERENCES["strobe"])

    if labels:
        pattern = re.compile(
            r"\b(" + "|".join(re.escape(k) for k in sorted(labels, key=len, reverse=True)) + r")\b"
        )
        sections = {
            h: pattern.sub(lambda m: str(labels[m.group(1)]), p) for h, p in sections.items()
        }
    if who == "participants":
        sections = {h: re.sub(r"\bclients\b", "participants", p) for h, p in sections.items()}
        sections = {h: re.sub(r"\bclient's\b", "participant's", p) for h, p in sections.items()}
    return MethodsReport(
        sections=sections,
        references=tuple(dict.fromkeys(refs)),
        remarks=tuple(remarks),
    )
