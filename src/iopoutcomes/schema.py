"""The canonical follow-up records format and the library's output vocabulary, in one place.

Every module reads column names, controlled vocabularies and reason codes from here, so the
format documented in ``docs/format.md`` and the code cannot drift apart.

Four input tables (see ``docs/format.md``):

``episodes``
    one row per treatment episode (``patient_id``, ``episode_id``, ``cohort``,
    ``admission_date`` ...).
``followups``
    one row per scheduled assessment of an episode (``episode_id``, ``timepoint``, ``status``,
    ``assessment_date``, ``days_used_past30`` ...).
``use_days``
    optional daily use calendar (timeline follow-back or urine screens): one row per person-day
    (and substance/source), ``used`` 0/1.
``services``
    optional service records (encounters, stays, dispensings): one row per visit, admission or
    medication event of a person (``patient_id``, ``service_date``, ``service_type`` ...), the
    input of the care-transition measures (continuity of care after a residential or inpatient
    discharge, initiation and engagement).

After validation each table also carries derived day numbers relative to the episode's admission
(``discharge_day``, ``assessment_day``, ``day``), so that calendar-dated program exports and
de-identified trial data that only has relative study days flow through the same outcome code.

Examples
--------
>>> from iopoutcomes import schema
>>> schema.LEVEL_OF_CARE_FROM_ASAM3["2.1"]
'IOP'
>>> "completed" in schema.FOLLOWUP_STATUSES
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "ASAM_EDITION",
    "DEFAULT_TIMEPOINTS",
    "DISCHARGE_REASONS",
    "EPISODES",
    "FOLLOWUPS",
    "FOLLOWUP_STATUSES",
    "LEVELS_OF_CARE",
    "LEVEL_OF_CARE_FROM_ASAM3",
    "MEDICATIONS",
    "MILESTONE_MEASURES",
    "SERVICES",
    "SERVICE_STAYS",
    "SERVICE_TYPES",
    "SERVICE_WORDINGS",
    "SUD_DIAGNOSES",
    "REJECTION_REASONS",
    "TABLES",
    "TimeBasis",
    "UDS_RESULTS",
    "USE_DAYS",
    "USE_SOURCES",
    "ColumnSpec",
    "TableSpec",
    "RATE_COLUMNS",
    "COMPARISON_COLUMNS",
    "REJECTED_COLUMNS",
    "ELIGIBILITY_COLUMNS",
    "EXPORT_REJECTION_REASONS",
    "FOLLOWUP_RATE_COLUMNS",
    "OVER_TIME_COLUMNS",
    "SURVIVAL_COLUMNS",
    "LOGRANK_COLUMNS",
    "POOLED_COLUMNS",
    "TABLE_ONE_COLUMNS",
    "BALANCE_COLUMNS",
    "CIF_COLUMNS",
    "GRAY_TEST_COLUMNS",
    "HAZARD_MODEL_COLUMNS",
    "TIPPING_POINT_COLUMNS",
    "TIPPING_DELTA_COLUMNS",
    "PH_TEST_COLUMNS",
    "RMST_COLUMNS",
    "BOUND_VALUES",
    "ANHOEJ_COLUMNS",
    "EXTRA_OUTPUT_COLUMNS",
    "COMPARISON_EXTRA_COLUMNS",
    "RATE_EXTRA_COLUMNS",
    "RELAPSE_COLUMNS",
    "SAMPLE_SIZE_COLUMNS",
    "EVALUE_COLUMNS",
    "OUTPUT_COLUMNS",
    "GROUP",
    "REFERENCE",
    "OUTCOME",
    "TIMEPOINT",
    "N",
    "N_EVENTS",
    "N_MISSING",
    "RATE",
    "CI_LOW",
    "CI_HIGH",
    "DIFF",
    "DIFF_CI_LOW",
    "DIFF_CI_HIGH",
    "RATIO",
    "RATIO_CI_LOW",
    "RATIO_CI_HIGH",
    "ODDS_RATIO",
    "ODDS_RATIO_CI_LOW",
    "ODDS_RATIO_CI_HIGH",
    "STATISTIC",
    "PVALUE",
    "METHOD",
    "MISSING",
    "BOUND",
    "RATE_REF",
    "N_REF",
    "N_EVENTS_REF",
    "STD_ERR",
    "COST_EFFECTIVENESS_COLUMNS",
]

TimeBasis = Literal["calendar", "study_day"]
"""``calendar``: real dates (program exports). ``study_day``: integer days only (trial data)."""

# --- controlled vocabularies -------------------------------------------------------------------

LEVELS_OF_CARE: Final[tuple[str, ...]] = ("OP", "IOP", "PHP", "residential", "inpatient", "detox")
"""Normalised level-of-care vocabulary (ASAM-like, setting based)."""

ASAM_EDITION: Final[str] = "ASAM3"
"""Edition tag stored next to an ASAM code (3rd edition, 2013: Mee-Lee et al.)."""

LEVEL_OF_CARE_FROM_ASAM3: Final[dict[str, str]] = {
    # ASAM Criteria 3rd ed. (2013): 1 outpatient; 2.1 intensive outpatient; 2.5 partial
    # hospitalisation; 3.1/3.3/3.5 clinically managed residential; 3.7 medically monitored
    # intensive inpatient; 4 medically managed intensive inpatient.
    "1": "OP",
    "2.1": "IOP",
    "2.5": "PHP",
    "3.1": "residential",
    "3.3": "residential",
    "3.5": "residential",
    "3.7": "inpatient",
    "4": "inpatient",
}

DISCHARGE_REASONS: Final[tuple[str, ...]] = (
    "completed",
    "dropped_out",
    "terminated",
    "transferred",
    "incarcerated",
    "died",
    "other",
)

FOLLOWUP_STATUSES: Final[tuple[str, ...]] = (
    "completed",
    "not_located",
    "refused",
    "incarcerated",
    "died",
    "withdrawn",
)
"""Disposition of a scheduled assessment; only ``completed`` carries data."""

DEFAULT_TIMEPOINTS: Final[tuple[str, ...]] = ("intake", "discharge", "1mo", "3mo", "6mo", "12mo")

UDS_RESULTS: Final[tuple[str, ...]] = ("negative", "positive", "missing")

USE_SOURCES: Final[tuple[str, ...]] = ("self_report", "uds")

SERVICE_TYPES: Final[tuple[str, ...]] = (
    "outpatient",
    "iop",
    "php",
    "residential",
    "inpatient",
    "detox",
    "ed",
    "telehealth",
    "pharmacotherapy",
    "peer_support",
    "assessment",
    "hospice",  # not a follow-up: hospice care excludes a discharge from the measures
    "other",
)
"""Normalised vocabulary of ``services.service_type`` (lower case: a service, not a cohort)."""

SERVICE_STAYS: Final[tuple[str, ...]] = ("residential", "inpatient", "detox")
"""Service types that are stays (``service_date`` = admission, ``end_date`` = discharge)."""

SUD_DIAGNOSES: Final[tuple[str, ...]] = ("principal", "secondary", "none")
"""Position of a substance-use-disorder diagnosis on the service's claim or encounter."""

MEDICATIONS: Final[tuple[str, ...]] = (
    "buprenorphine",
    "naltrexone_oral",
    "naltrexone_er",
    "methadone",
    "acamprosate",
    "disulfiram",
    "other",
)
"""Medications for alcohol or opioid use disorder (``services.medication``, pharmacotherapy)."""

SERVICE_WORDINGS: Final[dict[str, dict[str, str]]] = {
    # Common EHR wordings of the service vocabularies: descriptions, not billing codes (code
    # lists are licensed value sets and stay the user's, given with codes=). Keys are matched
    # after lower-casing and collapsing every run of other characters than letters and digits
    # to one space, so "Intensive Outpatient", "INTENSIVE-OUTPATIENT" and "intensive
    # outpatient " are one wording; the canonical names match the same way ("peer support").
    "service_type": {
        "op": "outpatient",
        "outpatient": "outpatient",
        "outpatient services": "outpatient",
        "outpatient counseling": "outpatient",
        "outpatient therapy": "outpatient",
        "individual counseling": "outpatient",
        "group counseling": "outpatient",
        "individual therapy": "outpatient",
        "group therapy": "outpatient",
        "office visit": "outpatient",
        "asam 1": "outpatient",
        "intensive outpatient": "iop",
        "intensive outpatient program": "iop",
        "intensive outpatient treatment": "iop",
        "asam 2 1": "iop",
        "partial hospitalization": "php",
        "partial hospitalisation": "php",
        "partial hospitalization program": "php",
        "day treatment": "php",
        "asam 2 5": "php",
        "residential tx": "residential",
        "residential treatment": "residential",
        "residential rehabilitation": "residential",
        "short term residential": "residential",
        "long term residential": "residential",
        "inpatient tx": "inpatient",
        "inpatient treatment": "inpatient",
        "inpatient rehabilitation": "inpatient",
        "hospital inpatient": "inpatient",
        "acute inpatient": "inpatient",
        "detoxification": "detox",
        "withdrawal management": "detox",
        "medically managed withdrawal": "detox",
        "emergency department": "ed",
        "emergency room": "ed",
        "er": "ed",
        "er visit": "ed",
        "ed visit": "ed",
        "telehealth visit": "telehealth",
        "telemedicine": "telehealth",
        "video visit": "telehealth",
        "telephone visit": "telehealth",
        "virtual visit": "telehealth",
        "mat": "pharmacotherapy",
        "moud": "pharmacotherapy",
        "maud": "pharmacotherapy",
        "medication assisted treatment": "pharmacotherapy",
        "medication for opioid use disorder": "pharmacotherapy",
        "medication for alcohol use disorder": "pharmacotherapy",
        "medication management": "pharmacotherapy",
        "mat buprenorphine": "pharmacotherapy",
        "mat naltrexone": "pharmacotherapy",
        "mat methadone": "pharmacotherapy",
        "mat vivitrol": "pharmacotherapy",
        "opioid treatment program": "pharmacotherapy",
        "otp": "pharmacotherapy",
        "otp dosing": "pharmacotherapy",
        "methadone dosing": "pharmacotherapy",
        "peer recovery support": "peer_support",
        "peer recovery support services": "peer_support",
        "recovery coaching": "peer_support",
        "peer specialist": "peer_support",
        "intake assessment": "assessment",
        "screening": "assessment",
        "biopsychosocial assessment": "assessment",
        "asam assessment": "assessment",
        "hospice care": "hospice",
    },
    "medication": {
        "bup": "buprenorphine",
        "suboxone": "buprenorphine",
        "subutex": "buprenorphine",
        "sublocade": "buprenorphine",
        "zubsolv": "buprenorphine",
        "buprenorphine naloxone": "buprenorphine",
        "mat buprenorphine": "buprenorphine",
        "oral naltrexone": "naltrexone_oral",
        "naltrexone oral": "naltrexone_oral",
        "revia": "naltrexone_oral",
        "vivitrol": "naltrexone_er",
        "xr ntx": "naltrexone_er",
        "extended release naltrexone": "naltrexone_er",
        "naltrexone er": "naltrexone_er",
        "naltrexone xr": "naltrexone_er",
        "injectable naltrexone": "naltrexone_er",
        # plain "naltrexone" is left out: oral or extended-release is the user's to say
        "mat vivitrol": "naltrexone_er",
        "mat methadone": "methadone",
        "methadone dosing": "methadone",
        "campral": "acamprosate",
        "antabuse": "disulfiram",
    },
    "sud_diagnosis": {
        "primary": "principal",
        "principal diagnosis": "principal",
        "primary diagnosis": "principal",
        "dx 1": "principal",
        "secondary diagnosis": "secondary",
        "other diagnosis": "secondary",
        "no": "none",
        "no sud": "none",
        "no sud diagnosis": "none",
    },
}
"""Known EHR wordings of the ``services`` vocabularies (normalised wording -> canonical value)."""

MILESTONE_MEASURES: Final[tuple[str, ...]] = (
    "wellbeing",
    "relationships",
    "coping",
    "housing_stable",
    "employed",
    "aftercare_attended",
)
"""Optional follow-up measures the default completion milestones read."""


# --- table specifications ----------------------------------------------------------------------

ColumnKind = Literal["id", "label", "date", "integer", "number", "flag", "category", "day"]


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column: its name, kind, whether it is required, and its vocabulary."""

    name: str
    kind: ColumnKind
    required: bool = False
    vocabulary: tuple[str, ...] | None = None
    description: str = ""


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its name and columns (required first)."""

    name: str
    columns: tuple[ColumnSpec, ...]

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the required columns."""
        return tuple(c.name for c in self.columns if c.required)

    @property
    def names(self) -> tuple[str, ...]:
        """Names of all canonical columns."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ColumnSpec:
        """Return the spec of column ``name`` (``KeyError`` if it is not canonical)."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


EPISODES: Final[TableSpec] = TableSpec(
    "episodes",
    (
        ColumnSpec("patient_id", "id", True, description="person identifier (kept as text)"),
        ColumnSpec("episode_id", "id", True, description="unique episode identifier (text)"),
        ColumnSpec("cohort", "label", True, description="comparison group, e.g. IOP, inpatient"),
        ColumnSpec("admission_date", "date", True, description="ISO date of admission"),
        ColumnSpec("level_of_care", "category", vocabulary=LEVELS_OF_CARE),
        ColumnSpec("asam_code", "label", description="ASAM code as given (with asam_edition)"),
        ColumnSpec("asam_edition", "label"),
        ColumnSpec("site", "label"),
        ColumnSpec("discharge_date", "date", description="empty = still in care"),
        ColumnSpec("discharge_reason", "category", vocabulary=DISCHARGE_REASONS),
        ColumnSpec("death_date", "date", description="date of death, if known (an exclusion)"),
        # derived by read_records (or given directly by study-day readers)
        ColumnSpec("discharge_day", "day", description="days from admission to discharge"),
    ),
)

FOLLOWUPS: Final[TableSpec] = TableSpec(
    "followups",
    (
        ColumnSpec("episode_id", "id", True),
        ColumnSpec("timepoint", "label", True, description="intake, discharge, 1mo, 3mo, ..."),
        ColumnSpec("status", "category", True, vocabulary=FOLLOWUP_STATUSES),
        ColumnSpec("assessment_date", "date", description="empty unless completed"),
        ColumnSpec("days_used_past30", "integer", description="0..30 days of any AOD use"),
        ColumnSpec("days_alcohol_past30", "integer", description="0..30, optional"),
        ColumnSpec("days_drugs_past30", "integer", description="0..30, optional"),
        ColumnSpec("uds_result", "category", vocabulary=UDS_RESULTS),
        ColumnSpec("wellbeing", "number"),
        ColumnSpec("relationships", "number"),
        ColumnSpec("coping", "number"),
        ColumnSpec("housing_stable", "flag"),
        ColumnSpec("employed", "flag"),
        ColumnSpec("aftercare_attended", "flag"),
        ColumnSpec("assessment_day", "day", description="days from admission to assessment"),
    ),
)

USE_DAYS: Final[TableSpec] = TableSpec(
    "use_days",
    (
        # either patient_id or episode_id is required; read_records resolves patient_id rows to
        # the episode whose admission is the latest on or before the day of use.
        ColumnSpec("episode_id", "id"),
        ColumnSpec("patient_id", "id"),
        ColumnSpec("date", "date"),
        ColumnSpec("day", "day", description="days relative to admission (trial data)"),
        ColumnSpec("used", "flag", True),
        ColumnSpec("substance", "label"),
        ColumnSpec("source", "category", vocabulary=USE_SOURCES),
    ),
)

SERVICES: Final[TableSpec] = TableSpec(
    "services",
    (
        # patient_id links to the episodes' patient_id, but a person need not have an episode
        ColumnSpec("patient_id", "id", True, description="person identifier (kept as text)"),
        ColumnSpec("service_date", "date", True, description="visit, admission or dispensing"),
        ColumnSpec("service_type", "category", True, vocabulary=SERVICE_TYPES),
        ColumnSpec("end_date", "date", description="discharge date of a stay"),
        ColumnSpec("sud_diagnosis", "category", vocabulary=SUD_DIAGNOSES),
        ColumnSpec("provider_id", "id", description="rendering provider (kept as text)"),
        ColumnSpec("medication", "category", vocabulary=MEDICATIONS),
        ColumnSpec("service_code", "label", description="billing code as given"),
    ),
)

TABLES: Final[dict[str, TableSpec]] = {t.name: t for t in (EPISODES, FOLLOWUPS, USE_DAYS, SERVICES)}

# --- rejection reason codes (stable: reports and users filter on them) ------------------------

REJECTION_REASONS: Final[dict[str, str]] = {
    "missing_required_value": "a required value is empty",
    "duplicate_episode_id": "episode_id occurs more than once",
    "unknown_episode": "the row refers to an episode_id that is not among accepted episodes",
    "unknown_patient": "the row refers to a patient_id with no accepted episode at that time",
    "discharge_before_admission": "discharge date is before the admission date",
    "assessment_before_admission": "assessment date is before the admission date",
    "days_used_out_of_range": "days of use in the past 30 days is outside 0..30",
    "days_used_not_integer": "days of use in the past 30 days is not a whole number",
    "unknown_status": "follow-up status is not in the vocabulary",
    "unknown_discharge_reason": "discharge reason is not in the vocabulary",
    "unknown_level_of_care": "level of care (or ASAM code) is not in the vocabulary",
    "unknown_timepoint": "timepoint label is not declared",
    "unknown_uds_result": "urine drug screen result is not in the vocabulary",
    "unknown_source": "use-day source is not in the vocabulary",
    "unknown_service_code": "the service code is not in the codes= mapping of service codes",
    "unknown_service_type": "service type is not in the vocabulary",
    "unknown_sud_diagnosis": "SUD diagnosis position is not in the vocabulary",
    "unknown_medication": "medication is not in the vocabulary",
    "end_before_service_date": "the end date of a stay is before its service date",
    "death_before_admission": "date of death is before the admission date",
    "unparseable_date": "a date could not be parsed in the declared format",
    "unparseable_number": "a numeric value could not be parsed",
    "used_not_binary": "used must be 0 or 1",
    "flag_not_binary": "a 0/1 flag holds another value",
    "duplicate_followup": "the (episode_id, timepoint) pair occurs more than once",
    "assessment_date_without_completion": "an assessment date is given for a non-completed status",
    "date_out_of_range": "a date is outside the plausible range (a placeholder or a typo?)",
    "control_character": "a text value holds a control character",
    "formula_without_value": "an Excel formula cell has no saved result",
    "merged_cell": "the cell is covered by an Excel merged region",
}

EXPORT_REJECTION_REASONS: Final[dict[str, str]] = {
    "no_episode_link": "the row has no episode key and fits no episode of the client",
    "ambiguous_episode_link": "the row has no episode key and fits several episodes of the client",
}
"""Reasons for rows that ``read_exports`` rejects while linking an export to episodes
(interviews by client and date); kept apart from :data:`REJECTION_REASONS`, which are the
reasons of ``read_records`` in its order of precedence."""

REJECTED_COLUMNS: Final[tuple[str, ...]] = ("table", "source", "row", "column", "reason", "message")
"""Columns of ``Records.rejected``: never the offending value (privacy)."""

# --- output vocabulary (one snake_case vocabulary across results) ------------------------------

# Column names every result shares, as constants so that code building a ``to_frame()`` names
# them from here (a typo is then an import error, not a silently new column).
GROUP: Final[str] = "group"
REFERENCE: Final[str] = "reference"
OUTCOME: Final[str] = "outcome"
TIMEPOINT: Final[str] = "timepoint"
N: Final[str] = "n"
N_EVENTS: Final[str] = "n_events"
N_MISSING: Final[str] = "n_missing"
RATE: Final[str] = "rate"
CI_LOW: Final[str] = "ci_low"
CI_HIGH: Final[str] = "ci_high"
DIFF: Final[str] = "diff"
DIFF_CI_LOW: Final[str] = "diff_ci_low"
DIFF_CI_HIGH: Final[str] = "diff_ci_high"
RATIO: Final[str] = "ratio"
RATIO_CI_LOW: Final[str] = "ratio_ci_low"
RATIO_CI_HIGH: Final[str] = "ratio_ci_high"
ODDS_RATIO: Final[str] = "odds_ratio"
ODDS_RATIO_CI_LOW: Final[str] = "odds_ratio_ci_low"
ODDS_RATIO_CI_HIGH: Final[str] = "odds_ratio_ci_high"
STATISTIC: Final[str] = "statistic"
PVALUE: Final[str] = "pvalue"
METHOD: Final[str] = "method"
MISSING: Final[str] = "missing"
BOUND: Final[str] = "bound"
RATE_REF: Final[str] = "rate_ref"
N_REF: Final[str] = "n_ref"
N_EVENTS_REF: Final[str] = "n_events_ref"
STD_ERR: Final[str] = "std_err"

RATE_COLUMNS: Final[tuple[str, ...]] = (
    "group",
    "outcome",
    "timepoint",
    "n",
    "n_events",
    "n_missing",
    "rate",
    "ci_low",
    "ci_high",
    "method",
)
"""``RateTable.to_frame()`` columns."""

COMPARISON_COLUMNS: Final[tuple[str, ...]] = (
    "outcome",
    "group",
    "reference",
    "n",
    "n_events",
    "rate",
    "n_ref",
    "n_events_ref",
    "rate_ref",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "ratio",
    "ratio_ci_low",
    "ratio_ci_high",
    "odds_ratio",
    "odds_ratio_ci_low",
    "odds_ratio_ci_high",
    "statistic",
    "pvalue",
    "method",
)
"""Leading ``Comparison.to_frame()`` columns (a margin adds ``equivalence_pvalue``,
``noninferiority_pvalue``, ``verdict``; several outcomes add ``pvalue_adj``)."""

FOLLOWUP_RATE_COLUMNS: Final[tuple[str, ...]] = (
    "episodes",
    "due",
    "conducted_in_window",
    "conducted_out_of_window",
    "not_conducted",
    "pending",
    "excluded",
    "target",
)
"""Extra ``FollowupRateTable`` columns (after :data:`RATE_COLUMNS`)."""

BOUND_VALUES: Final[tuple[str, ...]] = ("lower", "upper")
"""Values of the ``bound`` column of ``RateTable`` under ``missing="bounds"``."""

OVER_TIME_COLUMNS: Final[tuple[str, ...]] = (
    "timepoint",
    "group",
    "reference",
    "rate",
    "rate_ref",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "std_err",
    "pvalue",
)
"""``OverTimeComparison.to_frame()`` columns."""

SURVIVAL_COLUMNS: Final[tuple[str, ...]] = (
    "group",
    "time",
    "n_at_risk",
    "n_events",
    "n_censored",
    "survival",
    "std_err",
    "ci_low",
    "ci_high",
)
"""``kaplan_meier`` / ``RelapseAnalysis.to_frame()`` survival-curve columns."""

LOGRANK_COLUMNS: Final[tuple[str, ...]] = ("statistic", "df", "pvalue", "method")
"""``LogRankTest.to_frame()`` columns."""

POOLED_COLUMNS: Final[tuple[str, ...]] = (
    "estimate",
    "std_err",
    "df",
    "n_imputations",
    "within_variance",
    "between_variance",
    "method",
)
"""``PooledEstimate.to_frame()`` columns (``rubin_pool``)."""

TABLE_ONE_COLUMNS: Final[tuple[str, ...]] = (
    "variable",
    "level",
    "group",
    "n",
    "n_valid",
    "n_missing",
    "value",
    "sd",
    "q1",
    "q3",
    "summary",
    "display",
    "smd",
    "statistic",
    "pvalue",
    "method",
    "suppressed",
)
"""Columns of ``TableOne.to_frame()``."""

BALANCE_COLUMNS: Final[tuple[str, ...]] = (
    "covariate",
    "level",
    "mean_group",
    "mean_reference",
    "mean_group_weighted",
    "mean_reference_weighted",
    "smd_unweighted",
    "smd_weighted",
)
"""``balance_table`` columns (covariate balance before and after weighting)."""

ELIGIBILITY_COLUMNS: Final[tuple[str, ...]] = ("n_not_eligible",)
"""Extra ``RateTable`` column for run and window outcomes: episodes not eligible (observed fewer
days in the outcome's window than it needs, e.g. a stay shorter than a 30-day run), left out of
``n``; neither successes nor failures."""

# --- competing risks and missing-not-at-random sensitivity (competing.py, sensitivity.py) ----

CIF_COLUMNS: Final[tuple[str, ...]] = (
    "group",
    "cause",
    "time",
    "n_at_risk",
    "n_events",
    "cif",
    "std_err",
    "ci_low",
    "ci_high",
    "method",
)
"""``CumulativeIncidence.to_frame()`` and ``.at()`` columns."""

GRAY_TEST_COLUMNS: Final[tuple[str, ...]] = ("cause", "statistic", "df", "pvalue")
"""``CumulativeIncidence.gray_test()`` columns."""

HAZARD_MODEL_COLUMNS: Final[tuple[str, ...]] = (
    "term",
    "coef",
    "se",
    "hr",
    "hr_ci_low",
    "hr_ci_high",
    "pvalue",
)
"""``fine_gray`` / ``cause_specific_cox`` ``to_frame()`` columns."""

TIPPING_POINT_COLUMNS: Final[tuple[str, ...]] = (
    "k_group",
    "k_reference",
    "m_group",
    "m_reference",
    "rate_group",
    "rate_reference",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "pvalue",
    "verdict",
)
"""``TippingPoint.to_frame()`` columns (the integer grid)."""

TIPPING_DELTA_COLUMNS: Final[tuple[str, ...]] = (
    "delta_group",
    "delta_reference",
    "rate_group",
    "rate_reference",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "pvalue",
    "verdict",
)
"""``TippingPoint.to_frame()`` columns of the delta-adjusted imputation scan."""

# --- survival model checks and restricted means (issue 22) -------------------------------------

PH_TEST_COLUMNS: Final[tuple[str, ...]] = ("term", "statistic", "df", "pvalue")
"""``PHTest.to_frame()`` columns (one row per model term, then ``GLOBAL``)."""

RMST_COLUMNS: Final[tuple[str, ...]] = (
    "group",
    "reference",
    "tau",
    "n",
    "n_events",
    "rmst",
    "std_err",
    "ci_low",
    "ci_high",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "ratio",
    "ratio_ci_low",
    "ratio_ci_high",
    "pvalue",
)
"""``RMSTResult.to_frame()`` columns (restricted mean survival time per group, and each group
minus / over the reference)."""

ANHOEJ_COLUMNS: Final[tuple[str, ...]] = (
    "n_useful",
    "longest_run",
    "longest_run_max",
    "n_crossings",
    "n_crossings_min",
    "shift_signal",
    "crossings_signal",
    "signal",
)
"""``AnhoejResult.to_frame()`` columns (Anhøj run-chart rules of one series)."""


COMPARISON_EXTRA_COLUMNS: Final[tuple[str, ...]] = (
    "analysis",
    "missing",
    "bound",
    "n_missing",
    "n_missing_ref",
    "rate_ci_low",
    "rate_ci_high",
    "rate_ref_ci_low",
    "rate_ref_ci_high",
    "confidence_level",
    "interval_method",
    "test_method",
    "margin",
    "equivalence_pvalue",
    "noninferiority_pvalue",
    "equivalence_ci_low",
    "equivalence_ci_high",
    "verdict",
    "pvalue_adj",
)
"""``Comparison.to_frame()`` columns after :data:`COMPARISON_COLUMNS`: the analysis
(unadjusted, adjusted, stratified), the missing-data rule and, under ``missing="bounds"``, which
bound (``bound``), per-group intervals, the interval and test methods, margin tests, and
multiplicity-adjusted p-values."""

RATE_EXTRA_COLUMNS: Final[tuple[str, ...]] = ("missing", "bound")
"""``RateTable.to_frame()`` columns after :data:`RATE_COLUMNS`: the missing-data rule, and under
``missing="bounds"`` which bound (:data:`BOUND_VALUES`)."""

RELAPSE_COLUMNS: Final[tuple[str, ...]] = (
    "group",
    "reference",
    "n",
    "n_events",
    "median",
    "median_ci_low",
    "median_ci_high",
    "hazard_ratio",
    "hazard_ratio_ci_low",
    "hazard_ratio_ci_high",
    "pvalue",
    "logrank_pvalue",
)
"""``RelapseAnalysis.to_frame()`` columns."""

SAMPLE_SIZE_COLUMNS: Final[tuple[str, ...]] = (
    "test",
    "p_treatment",
    "p_reference",
    "margin",
    "confidence_level",
    "alpha",
    "target_power",
    "ratio",
    "n_treatment",
    "n_reference",
    "n_total",
    "power",
    "method",
)
"""``SampleSize.to_frame()`` columns (``alpha``: the level of the test that
``confidence_level`` implies)."""

EVALUE_COLUMNS: Final[tuple[str, ...]] = (
    "label",
    "measure",
    "estimate",
    "ci_low",
    "ci_high",
    "rr",
    "rr_ci_low",
    "rr_ci_high",
    "e_value",
    "e_value_ci",
)
"""``EValue.to_frame()`` columns."""


# --- the whole output vocabulary ----------------------------------------------------------------

# --- cost per outcome and cost-effectiveness (issue 19, cea.py) -------------------------------

COST_EFFECTIVENESS_COLUMNS: Final[tuple[str, ...]] = (
    "outcome",
    "group",
    "reference",
    "n",
    "n_ref",
    "n_events",
    "n_events_ref",
    "n_missing",
    "n_missing_ref",
    "mean_cost",
    "mean_cost_ref",
    "rate",
    "rate_ref",
    "cost_per_event",
    "cost_per_event_ref",
    "diff_cost",
    "diff_cost_ci_low",
    "diff_cost_ci_high",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "quadrant",
    "icer",
    "icer_ci_low",
    "icer_ci_high",
    "wtp",
    "inmb",
    "inmb_ci_low",
    "inmb_ci_high",
    "prob_cost_effective",
    "method",
    "missing",
    "analysis",
)
"""``CostEffectiveness.to_frame()`` columns (intervals of the primary ``interval``; every
interval of every statistic is in ``CostEffectiveness.intervals``)."""

EXTRA_OUTPUT_COLUMNS: Final[tuple[str, ...]] = ()
"""Output columns that appear only in some results or under some options (listed once here so
that the conventions test can hold every ``to_frame()`` to the vocabulary)."""

OUTPUT_COLUMNS: Final[frozenset[str]] = frozenset(
    {
        *RATE_COLUMNS,
        *COMPARISON_COLUMNS,
        *ELIGIBILITY_COLUMNS,
        *FOLLOWUP_RATE_COLUMNS,
        *OVER_TIME_COLUMNS,
        *SURVIVAL_COLUMNS,
        *LOGRANK_COLUMNS,
        *POOLED_COLUMNS,
        *TABLE_ONE_COLUMNS,
        *BALANCE_COLUMNS,
        *CIF_COLUMNS,
        *GRAY_TEST_COLUMNS,
        *HAZARD_MODEL_COLUMNS,
        *TIPPING_POINT_COLUMNS,
        *TIPPING_DELTA_COLUMNS,
        *PH_TEST_COLUMNS,
        *RMST_COLUMNS,
        *ANHOEJ_COLUMNS,
        *COMPARISON_EXTRA_COLUMNS,
        *RATE_EXTRA_COLUMNS,
        *RELAPSE_COLUMNS,
        *SAMPLE_SIZE_COLUMNS,
        *EVALUE_COLUMNS,
        *COST_EFFECTIVENESS_COLUMNS,
        *EXTRA_OUTPUT_COLUMNS,
    }
)
"""Every column name a result's ``to_frame()`` may carry (``docs/conventions.md``)."""
# --- step-down continuity and engagement (issue 17, continuity.py) ---------------------------

CONTINUITY_COLUMNS: Final[tuple[str, ...]] = (
    "episode_id",
    "admission_date",
    "discharge_date",
    "index_type",
    "cohort",
    "site",
    "quarter",
    "followed_within_{d}",
    "days_to_follow_up",
    "follow_up_type",
    "excluded",
    "exclusion_reason",
)
"""``ContinuityResult.discharges`` columns, one row per index discharge;
``followed_within_{d}`` stands for one column per window (``followed_within_7`` ...). Never a
patient identifier."""

CONTINUITY_EXCLUSION_REASONS: Final[dict[str, str]] = {
    "transfer_to_non_sud_stay": "a direct transfer to (or from) a stay without an SUD diagnosis",
    "after_last_discharge": "discharged after the last eligible discharge date",
    "window_open": "the follow-up window had not closed by the data-as-of date",
    "died": "died during the stay or within the follow-up window",
    "hospice": "hospice care during the stay or within the follow-up window",
    "not_first_in_period": "not the first index discharge in its period (31 days for FUI)",
}
"""``exclusion_reason`` codes of ``ContinuityResult.discharges``, in the order they are applied
(the first applicable is recorded)."""

ENGAGEMENT_COLUMNS: Final[tuple[str, ...]] = (
    "episode_date",
    "episode_type",
    "cohort",
    "site",
    "quarter",
    "age_group",
    "substance_cohort",
    "initiated",
    "initiation_date",
    "days_to_initiation",
    "engaged",
)
"""``EngagementResult.episodes`` columns, one row per new SUD episode."""

__all__ += ["CONTINUITY_COLUMNS", "CONTINUITY_EXCLUSION_REASONS", "ENGAGEMENT_COLUMNS"]
