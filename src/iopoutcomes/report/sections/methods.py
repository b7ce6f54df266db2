"""Section 11, methods, definitions and references."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ...definitions import timepoint_text
from ..inputs import ReportInputs
from ..model import ReportSection, ReportTable
from .common import SectionOutput, pct
from .comparison import comparison_published
from .outcomes import OutcomesOutput

__all__ = ["REFERENCES", "build", "followup_rules_text", "section"]

REFERENCES: tuple[str, ...] = (
    "McCarty D, Braude L, Lyman DR, et al. Substance abuse intensive outpatient programs: "
    "assessing the evidence. Psychiatric Services 2014;65(6):718-726.",
    "Wilson EB. Probable inference, the law of succession, and statistical inference. "
    "J Am Stat Assoc 1927;22:209-212.",
    "Newcombe RG. Interval estimation for the difference between independent proportions. "
    "Stat Med 1998;17:873-890.",
    "Miettinen O, Nurminen M. Comparative analysis of two rates. Stat Med 1985;4:213-226.",
    "Campbell I. Chi-squared and Fisher-Irwin tests of two-by-two tables with small sample "
    "recommendations. Stat Med 2007;26:3661-3675.",
    "Schuirmann DJ. A comparison of the two one-sided tests procedure and the power approach "
    "for assessing the equivalence of average bioavailability. J Pharmacokinet Biopharm "
    "1987;15:657-680; ICH E9 (1998) section 5.5 and FDA (2016) non-inferiority guidance.",
    "Horowitz JL, Manski CF. Nonparametric analysis of randomized experiments with missing "
    "covariate and outcome data. J Am Stat Assoc 2000;95:77-84.",
    "Laney DB. Improved control charts for attributes. Quality Engineering 2002;14:531-537.",
    "Anhøj J, Olesen AV. Run charts revisited. PLoS One 2014;9(11):e113825.",
    "Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med "
    "2005;24:1185-1202.",
    "Austin PC. Balance diagnostics for comparing the distribution of baseline covariates "
    "between treatment groups in propensity-score matched samples. Stat Med 2009;28:3083-3107.",
    "Hughes JR, Keely JP, Niaura RS, et al. Measures of abstinence in clinical trials. "
    "Nicotine Tob Res 2003;5(1):13-25.",
    "CMS Cell Size Suppression Policy (no cell of 1-10); FCSM Statistical Policy Working "
    "Paper 22 (complementary suppression and its audit).",
    "SAMHSA CSAT GPRA client outcome measures: 80% follow-up rate; 6-month follow-up window "
    "of months 5-8 after intake.",
)


def build(inp: ReportInputs, computed: Mapping[str, SectionOutput]) -> SectionOutput:
    """Section 11: definitions, windows, the comparison's methods text (when published), the
    follow-up rules, privacy and references (the stamp table is appended at assembly)."""
    return SectionOutput(section(inp, computed))


def section(inp: ReportInputs, computed: Mapping[str, SectionOutput]) -> ReportSection:
    """The methods section's model (see :func:`build`)."""
    outcomes = computed.get("outcomes")
    d = inp.definition
    paragraphs = [
        "Outcome definition: " + d.describe() + ".",
    ]
    for tp in inp.timepoints:
        paragraphs.append(f"{d.label(f'abstinent_{tp}')}: {d.describe(f'abstinent_{tp}')}.")
        w = d.windows[tp]
        paragraphs.append(
            f"{timepoint_text(tp).capitalize()} window: days {w.start_day} to {w.end_day} "
            f"after {w.anchor}."
        )
    if isinstance(outcomes, OutcomesOutput) and inp.primary is not None:
        comparison = outcomes.comparison
        part = outcomes.abstinence_parts.get(inp.primary)
        if comparison is not None and comparison_published(inp, comparison, part):
            paragraphs.append(comparison.result.methods_text().split("\n\nReferences")[0])
    paragraphs.extend(
        [
            "Follow-up rate (GPRA): follow-ups conducted inside their window / follow-ups due "
            "(window closed); open windows are pending and outside the denominator.",
            *followup_rules_text(inp),
            "Outcome cohort: episodes whose follow-up window closed in the lookback quarters "
            "ending with the reporting quarter; the records are taken as they stood at the "
            "end of the quarter.",
            "Trends: p-charts (Laney p′ when over-dispersed) of quarterly counts with the "
            "Anhøj run rules; fewer than 12 points give trial limits. Sites: exact binomial "
            "funnel limits (95% and 99.8%), never ranks.",
            f"Privacy: counts 1-{inp.k - 1} are suppressed, zero is shown; rates are hidden "
            "when their numerator or complement is suppressed; complementary cells are "
            "hidden, at the least cost to readers, so that no suppressed cell can be "
            f"narrowed to fewer than {inp.k} values from all the published tables together "
            "(their margins and the identities between tables, e.g. due = in window + out "
            "of window + not conducted; linear-programming audit of the whole report; the "
            "run fails otherwise). Figures are drawn from the suppressed tables.",
        ]
    )
    notes = REFERENCES
    tables = []
    if inp.config.changelog:
        frame = pd.DataFrame(
            [
                {"date": c.date, "version": c.version, "change": c.description}
                for c in inp.config.changelog
            ]
        )
        tables.append(
            ReportTable(
                "changelog",
                "Definition change log",
                frame,
                footnote="From the configuration's [[changelog]]; changes inside the trend "
                "window start a new SPC phase.",
            )
        )
    return ReportSection(
        "methods",
        "Methods, definitions and references",
        tuple(paragraphs),
        (),
        tuple(tables),
        (),
        notes,
    )


def followup_rules_text(inp: ReportInputs) -> list[str]:
    """Which follow-up rule each follow-up table uses (issue 14: reconciliation)."""
    from ..program import GPRA_RULE_TEXT

    d = inp.definition
    deaths = (
        "died and incarcerated clients count as not followed up"
        if d.death_policy == "missing"
        else "died and incarcerated clients are removed from the denominator"
    )
    out = [
        "Library rule (tables followup_by_cohort, followup_by_site, followup_by_quarter, "
        "flow_followup and the follow-up trend): the definition's window of the timepoint; "
        f"{deaths}."
    ]
    if inp.primary == "6mo" and inp.calendar:
        out.append(f"Funder rule (table followup_gpra_rule): {GPRA_RULE_TEXT}")
    if d.calendar == "screens" and "screen_coverage_in_treatment" in inp.eo.table:
        from ..._screens import screen_rule_text

        coverage = pd.to_numeric(inp.eo.table["screen_coverage_in_treatment"])
        out.append(
            screen_rule_text(d.sustained_days)
            + f" Coverage: in the median episode {pct(float(coverage.median()))} of the "
            "weeks in treatment have a screen."
        )
    return out
