"""Outcome definitions: every choice behind an outcome, explicit, versioned and printable.

An :class:`OutcomeDefinition` says which follow-ups exist, in which window each must fall, how
abstinence is read from a follow-up (substance scope, urine-screen verification), how the daily
calendar is read (runs, missing days), which completion milestones count, and how people who
were not followed up are counted (the missing-data rule). It travels inside every result
(``EpisodeOutcomes`` -> ``RateTable`` -> ``Comparison``), so each table and report can say what
it measured.

Examples
--------
>>> from iopoutcomes.definitions import OutcomeDefinition
>>> d = OutcomeDefinition()
>>> d.describe("abstinent_6mo")
'Abstinent at 6-month follow-up (no use in past 30 days), missing = using'
>>> d.windows["6mo"]
Window(anchor='admission', start_day=152, end_day=243)
>>> d.replace(missing="exclude").missing
'exclude'
"""

from __future__ import annotations

import dataclasses
import re
import string
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from .exceptions import DefinitionWarning, ParameterError
from .schema import DEFAULT_TIMEPOINTS

__all__ = [
    "CONTROLLED_ENVIRONMENT_OPTIONS",
    "CONTROLLED_LEVELS",
    "DEFAULT_COMPARABLE_WINDOW",
    "DEFAULT_MILESTONES",
    "DEFAULT_WINDOWS",
    "MISSING_RULES",
    "MISSING_RULE_LABELS",
    "Milestone",
    "OutcomeDefinition",
    "Window",
    "default_window",
    "parse_timepoint",
    "timepoint_text",
]

MissingRule = Literal["using", "exclude", "bounds", "impute", "ipw"]
MISSING_RULES: tuple[str, ...] = ("using", "exclude", "bounds", "impute", "ipw")
"""The one registry of missing-data rules (``missing=`` everywhere; ``docs/missing-data.md``)."""
CASCADE_STAGES: tuple[str, ...] = (
    "episodes",
    "discharged",
    "follow-up due",
    "conducted in window",
    "analysed",
)
"""The stages of the follow-up cascade, in order (:func:`iopoutcomes.cascade_counts`)."""
MISSING_RULES_ANALYSING_EVERY_ELIGIBLE: frozenset[str] = frozenset({"using", "bounds", "impute"})
"""The rules under which every episode in the denominator is analysed (a missing outcome counts
as use, is bounded or imputed); under the others (``exclude``, ``ipw``) only the episodes with
a known outcome are."""
MISSING_RULE_LABELS: dict[str, str] = {
    "using": "counted as not abstinent",
    "exclude": "left out (complete case)",
}
"""Short words for a rule in report tables; a rule without words here is shown by its name."""
DEATH_POLICIES: tuple[str, ...] = ("missing", "exclude")
VERIFY_OPTIONS: tuple[str, ...] = ("self_report", "uds")
SUBSTANCES: tuple[str, ...] = ("any", "alcohol", "drugs")
OUT_OF_WINDOW_OPTIONS: tuple[str, ...] = ("count", "missing")
MISSING_DAYS_OPTIONS: tuple[str, ...] = ("using", "skip")
ANCHORS: tuple[str, ...] = ("admission", "discharge")
CALENDAR_KINDS: tuple[str, ...] = ("daily", "screens")
MILESTONE_KINDS: tuple[str, ...] = ("discharge_reason", "calendar", "improved", "flag", "threshold")
CONTROLLED_ENVIRONMENT_OPTIONS: tuple[str, ...] = ("exclude", "missing", "count")

AFTERCARE_SOURCES: tuple[str, ...] = ("followups", "services")
"""Where the ``aftercare_attended`` milestone is read: the follow-up item, or service records."""

AFTERCARE_SERVICE_TYPES: tuple[str, ...] = ("outpatient", "iop", "peer_support")
"""Service types that count as aftercare when ``aftercare_from="services"`` (issue 17)."""
"""How days in a controlled environment enter the comparable window (see
:class:`OutcomeDefinition`, ``controlled_environment``)."""
CONTROLLED_LEVELS: tuple[str, ...] = ("residential", "inpatient", "detox")
"""Levels of care whose days in treatment are days in a controlled environment (24-hour
settings, ASAM 3.x-4: access to alcohol and drugs is restricted)."""

DAYS_PER_MONTH = 30.4375
"""Mean Gregorian month (365.25 / 12 days), used to turn month windows into day windows."""


def _check_option(name: str, value: object, options: Iterable[object]) -> None:
    opts = tuple(options)
    if value not in opts:
        raise ParameterError(
            f"The {name!r} setting of OutcomeDefinition must be one of {list(opts)}; "
            f"got a value of type {type(value).__name__} that is not among them."
        )


@dataclass(frozen=True)
class Window:
    """A follow-up window: days ``start_day..end_day`` (both inclusive) after an anchor date.

    ``anchor="admission"`` counts days from the admission (intake) date, as GPRA does;
    ``anchor="discharge"`` counts from the discharge date (the window is undefined, so the
    follow-up is pending, while the episode is still in care).

    Examples
    --------
    >>> Window("admission", 152, 243).contains(200)
    True
    """

    anchor: Literal["admission", "discharge"]
    start_day: int
    end_day: int

    def __post_init__(self) -> None:
        _check_option("anchor", self.anchor, ANCHORS)
        for name in ("start_day", "end_day"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    object.__setattr__(self, name, int(value))
                else:
                    raise ParameterError(
                        f"Window {name} must be a whole number of days; got {type(value).__name__}."
                    )
        if self.end_day < self.start_day:
            raise ParameterError(
                "Window end_day is before start_day; give start_day <= end_day (both inclusive)."
            )

    def contains(self, offset_day: float) -> bool:
        """True when ``offset_day`` (days after the anchor) falls inside the window."""
        return self.start_day <= offset_day <= self.end_day

    def to_dict(self) -> dict[str, Any]:
        """TOML-compatible mapping."""
        return {"anchor": self.anchor, "start_day": self.start_day, "end_day": self.end_day}


DEFAULT_WINDOWS: Mapping[str, Window] = MappingProxyType(
    {
        # Baseline interview; not an outcome. GPRA intake is done at admission; we accept
        # assessments from 30 days before to 7 days after admission (project choice).
        "intake": Window("admission", -30, 7),
        # Discharge interview: from a week before to two weeks after the discharge date
        # (project choice; GPRA discharge interviews are done at or shortly after discharge).
        "discharge": Window("discharge", -7, 14),
        # 1 and 3 months: GPRA's -1/+2-month rule would overlap the neighbouring windows, so
        # the 6-month window is scaled proportionally: 5/6 to 8/6 of the nominal time, with the
        # end rounded up to a whole day (40.6 -> 41, 121.8 -> 122). Labels not in this table
        # get the same fractions from default_window() with the end rounded down.
        "1mo": Window("admission", 25, 41),
        "3mo": Window("admission", 76, 122),
        # GPRA 6-month follow-up: months 5-8 after intake (Ohio SOS evaluation guidance [S2] in
        # docs/guide reporting.md §1.2; SPARS CSAT follow-up rate reports).
        "6mo": Window("admission", 152, 243),
        # 12 months: the same -1/+2-month rule as GPRA's 6-month window (months 11-14).
        "12mo": Window("admission", 335, 426),
    }
)
"""Default follow-up windows (days after the anchor, inclusive); see :func:`default_window`."""


def parse_timepoint(timepoint: Any) -> tuple[int, Literal["mo", "wk"]] | None:
    """The length and unit of a ``"<N>mo"`` / ``"<N>wk"`` follow-up label, else None.

    The one parser of timepoint labels: windows, axis and sentence texts, target days and
    outcome-name suffixes all read labels through it.

    Examples
    --------
    >>> parse_timepoint("6mo"), parse_timepoint("12wk"), parse_timepoint("discharge")
    ((6, 'mo'), (12, 'wk'), None)
    """
    m = re.fullmatch(r"(\d+)(mo|wk)", str(timepoint))
    if m is None:
        return None
    return int(m.group(1)), "mo" if m.group(2) == "mo" else "wk"


def default_window(timepoint: str) -> Window:
    """The default window of a timepoint label.

    Labels in :data:`DEFAULT_WINDOWS` use the table. Other ``"<N>mo"`` / ``"<N>wk"`` labels
    get the proportional rule (5/6 to 8/6 of the nominal time after admission, the GPRA 6-month
    window scaled); any other label needs an explicit window.

    >>> default_window("9mo")
    Window(anchor='admission', start_day=228, end_day=365)
    """
    if timepoint in DEFAULT_WINDOWS:
        return DEFAULT_WINDOWS[timepoint]
    parsed = parse_timepoint(timepoint)
    if parsed is None:
        raise ParameterError(
            f"No default follow-up window for a timepoint label of {len(timepoint)} characters "
            "that is neither a default label nor '<N>mo'/'<N>wk'. Pass windows={label: "
            "Window(anchor, start_day, end_day)} to OutcomeDefinition."
        )
    n, unit = parsed
    days = n * (DAYS_PER_MONTH if unit == "mo" else 7.0)
    return Window("admission", round(days * 5 / 6), int(days * 8 / 6))


def timepoint_text(timepoint: str) -> str:
    """Human text for a timepoint label.

    >>> timepoint_text("6mo"), timepoint_text("2wk"), timepoint_text("discharge")
    ('6-month', '2-week', 'discharge')
    """
    parsed = parse_timepoint(timepoint)
    if parsed is None:
        return str(timepoint)
    return f"{parsed[0]}-{'month' if parsed[1] == 'mo' else 'week'}"


def _at_text(timepoint: str) -> str:
    """'at discharge', 'at intake', 'at the 1-month follow-up'."""
    if parse_timepoint(timepoint) is not None:
        return f"at the {timepoint_text(timepoint)} follow-up"
    return f"at {timepoint}"


def _number_text(value: float) -> str:
    """1.0 -> '1', 1.5 -> '1.5' (no trailing zeros, no exponent for ordinary thresholds)."""
    return f"{float(value):g}"


_DESCRIPTION_FIELDS = ("sustained_days", "min_change", "scale", "measure", "timepoint", "baseline")


@dataclass(frozen=True)
class Milestone:
    """One completion milestone with its operational definition.

    Parameters
    ----------
    name : str
        Short snake_case name; the episode column is ``milestone_<name>``.
    kind : {"discharge_reason", "calendar", "improved", "flag", "threshold"}
        ``discharge_reason``: the discharge reason is one of ``values``.
        ``calendar``: the boolean episode outcome column ``measure`` (e.g.
        ``sustained_30d_in_treatment``) is True.
        ``improved``: ``measure`` changed from ``baseline`` to ``timepoint`` by at least
        ``min_change`` in the better direction (``higher_is_better``; on the user's own scale,
        e.g. a drop of 6 on the PHQ-9 total, the NHS Talking Therapies reliable improvement).
        ``flag``: ``measure`` at ``timepoint`` is 1/True (e.g. ``housing_stable``).
        ``threshold``: ``measure`` at ``timepoint`` is at least ``threshold`` (at most, when
        ``higher_is_better`` is False), e.g. BARC-10 total 47 or more at 6 months, BAM Use 0
        at discharge.
    measure : str, optional
        The follow-up (or episode outcome) column the milestone reads.
    timepoint, baseline : str
        Follow-up timepoints read by ``improved`` and ``flag``.
    min_change : float
        Smallest change that counts as an improvement (``improved`` only).
    threshold : float, optional
        The score to reach (``threshold`` only).
    higher_is_better : bool, default True
        Direction of improvement of ``measure`` (``improved`` and ``threshold``).
    values : tuple of str
        Discharge reasons that meet the milestone (``discharge_reason`` only).
    description : str
        The operational definition in your own words, shown in reports as given. Leave it
        empty (the default milestones do) to have it written from the milestone's values by
        :meth:`OutcomeDefinition.milestone_text` (run length, change threshold and scale).
    scale : str
        The scale of ``measure`` in words, for ``improved`` (e.g. ``"0-40 score"``); shown
        after the change threshold ("at least 2 points on the 0-40 score"). Empty: "on the
        measure's own scale".

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> craving = iop.Milestone(
    ...     "reduced_craving", "improved", measure="craving", min_change=2,
    ...     description="craving score at discharge at least 2 below intake")
    >>> craving.timepoint, craving.baseline, craving.to_dict()["kind"]
    ('discharge', 'intake', 'improved')
    >>> d = iop.OutcomeDefinition(milestones=(*iop.OutcomeDefinition().milestones, craving))
    >>> d.milestones[-1].name
    'reduced_craving'
    """

    name: str
    kind: Literal["discharge_reason", "calendar", "improved", "flag", "threshold"]
    measure: str | None = None
    timepoint: str = "discharge"
    baseline: str = "intake"
    min_change: float = 1.0
    values: tuple[str, ...] = ("completed",)
    description: str = ""
    scale: str = ""
    threshold: float | None = None
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        _check_option("milestone kind", self.kind, MILESTONE_KINDS)
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name or ""):
            raise ParameterError(
                "A milestone name must be snake_case (letters, digits, underscores, starting "
                "with a letter); it becomes the column name milestone_<name>."
            )
        if self.kind != "discharge_reason" and not self.measure:
            raise ParameterError(f"Milestone kind {self.kind!r} needs a measure column name.")
        if self.kind == "threshold" and self.threshold is None:
            raise ParameterError("A 'threshold' milestone needs threshold= (the score to reach).")
        object.__setattr__(self, "values", tuple(self.values))
        try:
            fields = [
                f for _, f, _, _ in string.Formatter().parse(self.description) if f is not None
            ]
        except ValueError:
            fields = ["{"]
        unknown = [f for f in fields if f not in _DESCRIPTION_FIELDS]
        if unknown:
            raise ParameterError(
                "A milestone description may hold the placeholders "
                f"{['{' + f + '}' for f in _DESCRIPTION_FIELDS]} only; it has "
                f"{len(unknown)} other brace expression(s). Write literal braces as '{{{{' "
                "and '}}}}'."
            )

    def to_dict(self) -> dict[str, Any]:
        """TOML-compatible mapping (no ``None`` values)."""
        out = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        out["values"] = list(self.values)
        return out


DEFAULT_MILESTONES: tuple[Milestone, ...] = (
    Milestone(
        "treatment_completed",
        "discharge_reason",
        values=("completed",),
        description="discharged with reason 'completed' (treatment plan completed)",
    ),
    # calendar and improved milestones are described from their values by
    # OutcomeDefinition.milestone_text (run length, change threshold and scale)
    Milestone("sustained_abstinence", "calendar", measure="sustained_30d_in_treatment"),
    Milestone("improved_wellbeing", "improved", measure="wellbeing"),
    Milestone("improved_relationships", "improved", measure="relationships"),
    Milestone("improved_coping", "improved", measure="coping"),
    Milestone(
        "housing_stable",
        "flag",
        measure="housing_stable",
        description="stable housing reported at discharge",
    ),
    Milestone(
        "employed",
        "flag",
        measure="employed",
        description="employed or in education at discharge",
    ),
    Milestone(
        "aftercare_attended",
        "flag",
        measure="aftercare_attended",
        timepoint="1mo",
        description="aftercare participation reported at the 1-month follow-up",
    ),
)
"""Default IOP completion milestones (issue 3 §1); a milestone whose data are absent from the
records is left out of ``milestones_met``/``completed_program`` with a remark. The
``sustained_abstinence`` milestone follows the definition's ``sustained_days`` (it reads
``sustained_<N>d_in_treatment``)."""

_DEFAULT_SUSTAINED = DEFAULT_MILESTONES[1]


DEFAULT_COMPARABLE_WINDOW = Window("discharge", 1, 90)
"""Default comparable window: days 1-90 after the discharge date, the same 90 days at home for
every setting (the first 90 days after treatment represent a year of post-treatment drinking:
Gioia, Sobell, Sobell and Simco, *Psychology of Addictive Behaviors*; see docs/definitions.md)."""

MEASURE_TEXT: Mapping[str, str] = MappingProxyType(
    {
        "wellbeing": "well-being score",
        "relationships": "relationships score",
        "coping": "coping score",
        "housing_stable": "stable housing",
        "employed": "employed or in education",
        "aftercare_attended": "aftercare participation",
        "phq9_total": "PHQ-9 depression score",
        "gad7_total": "GAD-7 anxiety score",
        "barc10_total": "BARC-10 recovery capital score",
        "bam_use": "BAM Use subscale",
        "bam_risk": "BAM Risk subscale",
        "bam_protective": "BAM Protective subscale",
    }
)


def _as_window(value: Any) -> Window:
    if isinstance(value, Window):
        return value
    if isinstance(value, Mapping):
        unknown = set(value) - {"anchor", "start_day", "end_day"}
        if unknown:
            raise ParameterError(
                f"A window takes anchor, start_day and end_day; got extra keys {sorted(unknown)}."
            )
        return Window(**value)
    if isinstance(value, (tuple, list)) and len(value) == 3:
        return Window(value[0], value[1], value[2])
    raise ParameterError(
        "A window must be a Window, a mapping with anchor/start_day/end_day or a 3-tuple; "
        f"got {type(value).__name__}."
    )


def _as_milestone(value: Any) -> Milestone:
    if isinstance(value, Milestone):
        return value
    if isinstance(value, Mapping):
        names = {f.name for f in dataclasses.fields(Milestone)}
        unknown = set(value) - names
        if unknown:
            raise ParameterError(
                f"Unknown milestone keys {sorted(unknown)}; valid keys are {sorted(names)}."
            )
        kw = dict(value)
        if "values" in kw:
            kw["values"] = tuple(kw["values"])
        return Milestone(**kw)
    raise ParameterError(
        f"A milestone must be a Milestone or a mapping; got {type(value).__name__}."
    )


@dataclass(frozen=True)
class OutcomeDefinition:
    """Everything that defines the outcomes of an episode table.

    Parameters
    ----------
    timepoints : tuple of str
        Follow-up timepoints (labels as in the data's ``timepoint`` column). ``intake`` is the
        baseline and gets no outcome columns.
    windows : mapping of str to Window
        Follow-up window per timepoint (days after ``anchor``, inclusive). Defaults
        (:data:`DEFAULT_WINDOWS`): 6mo = days 152-243 after admission (months 5-8, the GPRA
        window of the Ohio SOS evaluation guidance / SPARS follow-up rate reports); 12mo =
        335-426 (the same -1/+2-month rule); 1mo = 25-41 and 3mo = 76-122 (the 6-month window
        scaled proportionally, 5/6 to 8/6 of the nominal time, because the -1/+2-month rule would
        overlap neighbouring windows); discharge = 7 days before to 14 days after discharge;
        intake = 30 days before to 7 days after admission. Timepoints without an entry get
        :func:`default_window`.
    missing : {"using", "exclude", "bounds", "impute", "ipw"}
        How episodes without an outcome are counted where rates are computed: ``using`` (not
        followed up = not abstinent, the intention-to-treat convention in addiction research;
        default), ``exclude`` (complete case), ``bounds`` (both extremes), ``impute`` (multiple
        imputation on covariates, pooled with Rubin's rules), ``ipw`` (inverse probability of
        follow-up weighting on covariates).
    death_policy : {"missing", "exclude"}
        How follow-ups with status ``died`` or ``incarcerated`` count. ``missing`` (default):
        like any other follow-up without data, under the missing-data rule (with
        ``missing="using"`` they count as not abstinent). ``exclude``: they leave the
        denominator of outcome and follow-up rates. The default is the conservative one: whether
        SPARS drops them from its denominator is unverified (reporting guide §1.2), and keeping
        administrative outcomes in the denominator (as CalOMS does) stops a program looking
        better by leaving records blank.
    verify : {"self_report", "uds"}
        ``uds``: a positive urine drug screen overrides a self-report of no use (at follow-ups,
        ``uds_result == "positive"``; in the calendar, positive screen days count as use).
        Urine drug screens do not test for alcohol, so with ``substance="alcohol"`` the
        follow-up screen does not override the self-report.
        ``self_report`` ignores urine screens (calendar rows with ``source == "uds"``).
    substance : {"any", "alcohol", "drugs"}
        Scope of "use": ``days_used_past30`` for any use, ``days_alcohol_past30`` or
        ``days_drugs_past30`` when the data has them; in the calendar, rows whose ``substance``
        is ``alcohol`` (or everything else, for ``drugs``; rows without a substance count in
        every scope).
    out_of_window : {"count", "missing"}
        Whether completed assessments outside their window still give an outcome (``count``,
        default; the number is reported as a remark) or are treated as missing.
    sustained_days : int
        Length of the abstinent run that makes "sustained abstinence" (default 30).
    after_discharge_days : int
        Length of the after-discharge calendar window, starting on the discharge date (180).
    missing_days : {"using", "skip"}
        Days inside a calendar window with no record: count as use (default) or are skipped
        (neither break nor extend a run).
    comparable_window : Window
        The window of the comparable sustained-abstinence outcome
        (``sustained_<N>d_comparable``), anchored on an event common to every setting, so that
        settings whose stays differ in length are compared over the same days. Default
        :data:`DEFAULT_COMPARABLE_WINDOW`: days 1-90 after discharge. ``Window("admission", 1,
        180)`` gives days 1-180 after admission, where ``controlled_environment`` decides how
        days in residential/inpatient care count. An episode is eligible when the window has
        closed by the data-as-of date and at least ``sustained_days`` of it count as observed.
    controlled_environment : {"exclude", "missing", "count"}
        Days in a controlled environment (days in treatment at a level of care in
        :data:`CONTROLLED_LEVELS`) inside the comparable window: ``exclude`` (default) removes
        them from the calendar, so they neither extend nor break a run and do not count as
        observed days; ``missing`` treats them as days without a record (``missing_days``
        decides); ``count`` counts them as abstinent days. The default follows the Addiction
        Severity Index, which records controlled-environment days as a separate item so that
        use is read against the days a person could use (McLellan et al. 1992; see
        docs/definitions.md).
    milestones : tuple of Milestone
        Completion milestones (:data:`DEFAULT_MILESTONES`).
    completion_rule : "all" or int
        ``completed_program`` when all milestones are met, or at least k of them.
    fiscal_year_start_month : int
        First month of the reporting year (1 = calendar quarters; 10 = US federal fiscal year,
        named by the year it ends in, so October 2024 is ``2025Q1``).
    n_imputations : int
        Imputations for ``missing="impute"`` (20).
    covariates : tuple of str
        Episode columns used by ``impute`` and ``ipw`` (besides the grouping columns).
    patterns : tuple of str
        Named weekly-pattern definitions (``iopoutcomes.patterns``) joined to the episode table.
    version : str
        Version tag of the definition, printed in reports.
    aftercare_from : {"followups", "services"}
        Source of the ``aftercare_attended`` milestone: the follow-up item of that name
        (``followups``, default: self-report at the milestone's timepoint) or the services table
        (``services``: an outpatient, IOP or peer-support visit, :data:`AFTERCARE_SERVICE_TYPES`,
        on days 1 .. ``aftercare_within`` after the discharge date; NA while that window is
        still open at the data-as-of date or without a discharge date).
    aftercare_within : int
        Days after discharge that count for the services-derived aftercare milestone (30).
    calendar : {"daily", "screens"}
        What the use calendar is: ``daily`` (every day recorded, e.g. timeline follow-back) or
        ``screens`` (urine screens on some days): sustained abstinence then follows the weekly
        screen rule of :mod:`iopoutcomes._screens` (stated with its reference in
        :meth:`describe`), and outcomes that need every day are not computable (missing).

    Examples
    --------
    >>> d = OutcomeDefinition(missing="exclude", substance="alcohol")
    >>> d.describe("abstinent_6mo")
    'Abstinent from alcohol at 6-month follow-up (no use in past 30 days), missing = exclude'
    >>> OutcomeDefinition.from_dict(d.to_dict()) == d
    True
    """

    timepoints: tuple[str, ...] = DEFAULT_TIMEPOINTS
    windows: Mapping[str, Window] = field(default_factory=lambda: DEFAULT_WINDOWS)
    missing: MissingRule = "using"
    death_policy: Literal["missing", "exclude"] = "missing"
    verify: Literal["self_report", "uds"] = "self_report"
    substance: Literal["any", "alcohol", "drugs"] = "any"
    out_of_window: Literal["count", "missing"] = "count"
    sustained_days: int = 30
    after_discharge_days: int = 180
    missing_days: Literal["using", "skip"] = "using"
    milestones: tuple[Milestone, ...] = DEFAULT_MILESTONES
    completion_rule: Literal["all"] | int = "all"
    fiscal_year_start_month: int = 1
    n_imputations: int = 20
    covariates: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    version: str = "1"
    comparable_window: Window = DEFAULT_COMPARABLE_WINDOW
    controlled_environment: Literal["exclude", "missing", "count"] = "exclude"
    calendar: Literal["daily", "screens"] = "daily"
    aftercare_from: Literal["followups", "services"] = "followups"
    aftercare_within: int = 30

    def __post_init__(self) -> None:
        _check_option("missing", self.missing, MISSING_RULES)
        _check_option("death_policy", self.death_policy, DEATH_POLICIES)
        _check_option("verify", self.verify, VERIFY_OPTIONS)
        _check_option("substance", self.substance, SUBSTANCES)
        _check_option("out_of_window", self.out_of_window, OUT_OF_WINDOW_OPTIONS)
        _check_option("missing_days", self.missing_days, MISSING_DAYS_OPTIONS)
        _check_option(
            "controlled_environment", self.controlled_environment, CONTROLLED_ENVIRONMENT_OPTIONS
        )
        object.__setattr__(self, "comparable_window", _as_window(self.comparable_window))
        _check_option("calendar", self.calendar, CALENDAR_KINDS)
        _check_option("aftercare_from", self.aftercare_from, AFTERCARE_SOURCES)
        if isinstance(self.timepoints, str):
            raise ParameterError("timepoints must be a sequence of labels, not a single string.")
        tps = tuple(str(t) for t in self.timepoints)
        if len(set(tps)) != len(tps):
            raise ParameterError("timepoints contains the same label more than once.")
        object.__setattr__(self, "timepoints", tps)
        given = {str(k): _as_window(v) for k, v in dict(self.windows).items()}
        windows = {tp: given[tp] if tp in given else default_window(tp) for tp in tps}
        for tp, w in given.items():  # windows for undeclared timepoints are kept (harmless)
            windows.setdefault(tp, w)
        object.__setattr__(self, "windows", MappingProxyType(windows))
        for name, low in (
            ("sustained_days", 1),
            ("after_discharge_days", 1),
            ("n_imputations", 2),
            ("aftercare_within", 1),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ParameterError(f"{name} must be a whole number >= {low}.")
        fy = self.fiscal_year_start_month
        if isinstance(fy, bool) or not isinstance(fy, int) or not 1 <= fy <= 12:
            raise ParameterError("fiscal_year_start_month must be a month number 1..12.")
        milestones = tuple(_as_milestone(m) for m in self.milestones)
        # the default sustained-abstinence milestone reads the definition's own run column
        own = Milestone(
            "sustained_abstinence", "calendar", measure=f"{self.sustained_name}_in_treatment"
        )
        milestones = tuple(own if m == _DEFAULT_SUSTAINED else m for m in milestones)
        object.__setattr__(self, "milestones", milestones)
        names = [m.name for m in self.milestones]
        if len(set(names)) != len(names):
            raise ParameterError("Two milestones share a name; milestone names must be unique.")
        rule = self.completion_rule
        if rule != "all":
            if isinstance(rule, bool) or not isinstance(rule, int) or rule < 1:
                raise ParameterError(
                    "completion_rule must be 'all' or a whole number k >= 1 (k of n milestones)."
                )
            if self.milestones and rule > len(self.milestones):
                raise ParameterError(
                    f"completion_rule asks for {rule} milestones but only "
                    f"{len(self.milestones)} are defined."
                )
        for name in ("covariates", "patterns"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = (value,)
            object.__setattr__(self, name, tuple(str(v) for v in value))
        if not isinstance(self.version, str):
            raise ParameterError("version must be a string.")
        self._warn_overlaps()

    def _warn_overlaps(self) -> None:
        outcome_tps = [t for t in self.timepoints if t != "intake"]
        for i, a in enumerate(outcome_tps):
            for b in outcome_tps[i + 1 :]:
                wa, wb = self.windows[a], self.windows[b]
                if (
                    wa.anchor == wb.anchor
                    and wa.start_day <= wb.end_day
                    and wb.start_day <= wa.end_day
                ):
                    warnings.warn(
                        f"The follow-up windows of timepoints {a!r} and {b!r} overlap; an "
                        "assessment is still assigned by its timepoint label.",
                        DefinitionWarning,
                        stacklevel=4,
                    )

    # -- derived names -----------------------------------------------------------------------

    @property
    def outcome_timepoints(self) -> tuple[str, ...]:
        """Timepoints that get outcome columns (every timepoint but ``intake``)."""
        return tuple(t for t in self.timepoints if t != "intake")

    @property
    def sustained_name(self) -> str:
        """Stem of the sustained-abstinence columns (``sustained_30d`` by default)."""
        return f"sustained_{self.sustained_days}d"

    @property
    def comparable_name(self) -> str:
        """Name of the comparable sustained-abstinence column (``sustained_30d_comparable``)."""
        return f"{self.sustained_name}_comparable"

    # -- observation-time eligibility ---------------------------------------------------------

    def required_days(self, outcome: str) -> int | None:
        """Days an episode must be observed in ``outcome``'s window to be eligible for it.

        ``None`` for outcomes without an observation-time requirement (follow-up abstinence,
        discharge reason, ...). Run outcomes need ``sustained_days``; continuous abstinence and
        the point prevalence need the whole after-discharge window; a calendar milestone needs
        what its measure needs; ``completed_program`` the most any of its milestones needs.

        >>> d = OutcomeDefinition()
        >>> d.required_days("sustained_30d_in_treatment"), d.required_days("abstinent_6mo")
        (30, None)
        >>> d.required_days("milestone_sustained_abstinence"), d.required_days("completed_program")
        (30, 30)
        """
        stem = self.sustained_name
        if outcome in (f"{stem}_in_treatment", f"{stem}_after_discharge", self.comparable_name):
            return self.sustained_days
        if outcome in (
            "continuous_abstinence_after_discharge",
            "point_prevalence_30d_after_discharge",
        ):
            return self.after_discharge_days
        if outcome == "completed_program":
            days = [self.required_days(f"milestone_{m.name}") for m in self.milestones]
            known = [d for d in days if d is not None]
            return max(known) if known else None
        ms = self._milestone_of(outcome)
        if ms is not None and ms.kind == "calendar" and ms.measure != outcome:
            return self.required_days(str(ms.measure))
        return None

    @property
    def eligibility_outcomes(self) -> tuple[str, ...]:
        """Outcome columns that get an ``eligible_<outcome>`` column (observation time).

        >>> OutcomeDefinition().eligibility_outcomes[:2]
        ('sustained_30d_in_treatment', 'sustained_30d_after_discharge')
        """
        stem = self.sustained_name
        names = [
            f"{stem}_in_treatment",
            f"{stem}_after_discharge",
            self.comparable_name,
            "continuous_abstinence_after_discharge",
            "point_prevalence_30d_after_discharge",
            *(f"milestone_{m.name}" for m in self.milestones),
            "completed_program",
        ]
        return tuple(n for n in names if self.required_days(n) is not None)

    def length_of_stay_dependent(self, outcome: str) -> bool:
        """True for an outcome whose chance depends on the length of stay: an abstinent run
        counted between admission and discharge, a milestone built on one, and
        ``completed_program`` when one of its milestones is.

        Examples
        --------
        >>> d = OutcomeDefinition()
        >>> [d.length_of_stay_dependent(o) for o in
        ...  ("sustained_30d_in_treatment", "sustained_30d_comparable", "completed_program")]
        [True, False, True]
        """
        if outcome == "completed_program":
            return any(
                self.length_of_stay_dependent(f"milestone_{m.name}") for m in self.milestones
            )
        ms = self._milestone_of(outcome)
        if ms is not None and ms.kind == "calendar" and ms.measure != outcome:
            return self.length_of_stay_dependent(str(ms.measure))
        return outcome.endswith("_in_treatment") and self.required_days(outcome) is not None

    def not_eligible_text(self, outcome: str) -> str:
        """Why an episode is not eligible for ``outcome``, in words with the values.

        >>> OutcomeDefinition().not_eligible_text("sustained_30d_in_treatment")
        'not eligible (observed < 30 days in treatment)'
        >>> print(OutcomeDefinition().not_eligible_text("sustained_30d_comparable")[:63])
        not eligible (window days 1 to 90 after discharge not closed by
        """
        n = self.sustained_days
        stem = self.sustained_name
        by_as_of = "after discharge by the data-as-of date"
        if outcome == f"{stem}_in_treatment":
            why = f"observed < {n} days in treatment"
        elif outcome == f"{stem}_after_discharge":
            why = f"observed < {n} days {by_as_of}"
        elif outcome == self.comparable_name:
            outside = (
                " outside a controlled environment"
                if self.controlled_environment == "exclude"
                else ""
            )
            why = (
                f"window {self.window_text(self.comparable_window)} not closed by the "
                f"data-as-of date, or observed < {n} days in it{outside}"
            )
        elif outcome in (
            "continuous_abstinence_after_discharge",
            "point_prevalence_30d_after_discharge",
        ):
            why = f"observed < {self.after_discharge_days} days {by_as_of}"
        elif outcome == "completed_program":
            parts = [
                self.not_eligible_text(f"milestone_{m.name}")[len("not eligible (") : -1]
                for m in self.milestones
                if self.required_days(f"milestone_{m.name}") is not None
            ]
            why = "; ".join(dict.fromkeys(parts)) or "observed too few days"
        else:
            ms = self._milestone_of(outcome)
            if ms is not None and ms.kind == "calendar" and ms.measure != outcome:
                return self.not_eligible_text(str(ms.measure))
            required = self.required_days(outcome)
            why = f"observed < {required} days" if required else "observed too few days"
        return f"not eligible ({why})"

    @staticmethod
    def window_text(window: Window) -> str:
        """A window in words.

        >>> OutcomeDefinition.window_text(Window("discharge", 1, 90))
        'days 1 to 90 after discharge'
        """
        return f"days {window.start_day} to {window.end_day} after {window.anchor}"

    def _milestone_of(self, outcome: str) -> Milestone | None:
        m = re.fullmatch(r"milestone_(.+)", outcome)
        if m is None:
            return None
        for ms in self.milestones:
            if ms.name == m.group(1):
                return ms
        return None

    # -- text --------------------------------------------------------------------------------

    def aftercare_from_services(self, milestone: Milestone) -> bool:
        """Whether ``milestone`` is read from the services table (``aftercare_from``).

        The flag milestone on the ``aftercare_attended`` measure is; every other milestone is
        read as its kind says.

        >>> d = OutcomeDefinition(aftercare_from="services")
        >>> d.aftercare_from_services(d.milestones[-1]), d.milestone_text("aftercare_attended")
        (True, 'an outpatient, IOP or peer-support visit on days 1-30 after discharge (services table)')
        """
        return (
            self.aftercare_from == "services"
            and milestone.kind == "flag"
            and milestone.measure == "aftercare_attended"
        )

    def milestone_text(self, milestone: Milestone | str) -> str:
        """The operational definition of a milestone in words, with its values.

        A milestone's own ``description`` is used as given (``{sustained_days}``,
        ``{min_change}``, ``{scale}``, ``{measure}``, ``{timepoint}`` and ``{baseline}`` are
        replaced by their values); without one, the text is written from the milestone's kind
        and values: the run length, the change threshold and the scale.

        >>> d = OutcomeDefinition()
        >>> d.milestone_text("sustained_abstinence")
        'a run of at least 30 consecutive abstinent calendar days between admission and discharge'
        >>> d.milestone_text("improved_wellbeing")
        "well-being score at discharge at least 1 point above intake (on the measure's own scale)"
        """
        ms = (
            milestone
            if isinstance(milestone, Milestone)
            else self._milestone_of(f"milestone_{milestone}")
        )
        if ms is None:
            raise ParameterError(
                "No milestone of that name in the definition; name one of "
                f"{[m.name for m in self.milestones]}."
            )
        if self.aftercare_from == "services" and self.aftercare_from_services(ms):
            return (
                "an outpatient, IOP or peer-support visit on days 1-"
                f"{self.aftercare_within} after discharge (services table)"
            )
        change = _number_text(ms.min_change)
        unit = "point" if change == "1" else "points"
        scale = f"on the {ms.scale}" if ms.scale else "on the measure's own scale"
        if ms.description:
            values = {
                "sustained_days": str(self.sustained_days),
                "min_change": change,
                "scale": scale,
                "measure": MEASURE_TEXT.get(str(ms.measure), str(ms.measure)),
                "timepoint": _at_text(ms.timepoint),
                "baseline": _at_text(ms.baseline),
            }
            return ms.description.format_map(values) if "{" in ms.description else ms.description
        what = MEASURE_TEXT.get(str(ms.measure), f"{str(ms.measure).replace('_', ' ')} score")
        if ms.kind == "discharge_reason":
            return "discharged with reason " + " or ".join(f"'{v}'" for v in ms.values)
        if ms.kind == "calendar":
            run = re.fullmatch(r"sustained_(\d+)d_in_treatment", str(ms.measure))
            if run is not None:  # the run length is the one of the column the milestone reads
                return (
                    f"a run of at least {run.group(1)} consecutive abstinent calendar "
                    "days between admission and discharge"
                )
            text = self.label(str(ms.measure))
            return text[:1].lower() + text[1:]
        if ms.kind == "improved":
            side = "above" if ms.higher_is_better else "below"
            return (
                f"{what} {_at_text(ms.timepoint)} at least {change} {unit} {side} "
                f"{_at_text(ms.baseline).removeprefix('at ')} ({scale})"
            )
        if ms.kind == "threshold":
            assert ms.threshold is not None
            bound = "or more" if ms.higher_is_better else "or less"
            if ms.threshold == 0 and not ms.higher_is_better:
                bound = "(none)"  # "0 or less" on a score that cannot go below 0
            on = f" on the {ms.scale}" if ms.scale else ""
            return f"{what} {_at_text(ms.timepoint)} of {_number_text(ms.threshold)} {bound}{on}"
        return f"{what} reported {_at_text(ms.timepoint)}"

    def _scope(self) -> str:
        return {"any": "", "alcohol": " from alcohol", "drugs": " from drugs"}[self.substance]

    def describe(self, outcome: str | None = None) -> str:
        """Plain-text description of an outcome (or of the whole definition).

        >>> OutcomeDefinition().describe()[:60]
        'Abstinence = no use in past 30 days at follow-up (discharge,'
        """
        rule = f"missing = {self.missing}"
        if outcome is None:
            tps = ", ".join(self.outcome_timepoints)
            parts = [
                f"Abstinence{self._scope()} = no use in past 30 days at follow-up ({tps})",
                rule,
                "died/incarcerated follow-ups "
                + ("counted as missing" if self.death_policy == "missing" else "excluded"),
                "urine screens override self-report"
                if self.verify == "uds"
                else "self-report only",
                "out-of-window assessments "
                + ("counted" if self.out_of_window == "count" else "treated as missing"),
                f"calendar days without a record {'count as use' if self.missing_days == 'using' else 'skipped'}",
                f"comparable window {self.window_text(self.comparable_window)}, "
                "controlled-environment days "
                + {
                    "exclude": "excluded",
                    "missing": "treated as days without a record",
                    "count": "counted as abstinent",
                }[self.controlled_environment],
                f"definition version {self.version}",
            ]
            if self.calendar == "screens":
                from ._screens import screen_rule_text

                parts[-2] = screen_rule_text(self.sustained_days)
            return "; ".join(parts)
        return f"{self.label(outcome)}, {rule}"

    def label(self, outcome: str) -> str:
        """Short label of an outcome column, for axes and table captions.

        >>> OutcomeDefinition().label("abstinent_6mo")
        'Abstinent at 6-month follow-up (no use in past 30 days)'
        >>> OutcomeDefinition().label("sustained_30d_after_discharge")
        'Abstinent for at least 30 consecutive days in the 180 days after discharge'
        """
        scope = self._scope()
        m = re.fullmatch(r"abstinent_(.+)", outcome)
        if m:
            tp = m.group(1)
            if tp == "discharge":
                return f"Abstinent{scope} at discharge (no use in past 30 days)"
            return f"Abstinent{scope} at {timepoint_text(tp)} follow-up (no use in past 30 days)"
        after = f"in the {self.after_discharge_days} days after discharge"
        n = self.sustained_days
        labels = {
            f"{self.sustained_name}_in_treatment": f"Abstinent for at least {n} consecutive days "
            "during treatment",
            f"{self.sustained_name}_after_discharge": f"Abstinent for at least {n} consecutive "
            f"days {after}",
            "longest_abstinent_run_in_treatment": "Longest run of abstinent days in treatment",
            "longest_abstinent_run_after_discharge": f"Longest run of abstinent days {after}",
            "continuous_abstinence_after_discharge": f"No use on any day {after}",
            "point_prevalence_30d_after_discharge": f"No use in the last 30 days of the "
            f"{self.after_discharge_days} days after discharge",
            "first_use_after_discharge_time": "Days from discharge to first use",
            "completed_program": "Completed the program ("
            + (
                "all milestones"
                if self.completion_rule == "all"
                else f"at least {self.completion_rule} milestones"
            )
            + ")",
            "treatment_completed": "Treatment completed (discharge reason)",
            "milestones_met": "Milestones met",
        }
        labels[self.comparable_name] = (
            f"Abstinent for at least {n} consecutive days within "
            f"{self.window_text(self.comparable_window)} (the same window for every setting)"
        )
        labels["longest_abstinent_run_comparable"] = (
            f"Longest run of abstinent days in {self.window_text(self.comparable_window)}"
        )
        if outcome in labels:
            return labels[outcome]
        ms = self._milestone_of(outcome)
        if ms is not None:
            return f"Milestone: {self.milestone_text(ms)}"
        m = re.fullmatch(r"followup_(.+)", outcome)
        if m:
            return f"Followed up in window at {timepoint_text(m.group(1))}"
        return outcome.replace("_", " ")

    # -- (de)serialisation -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """TOML-compatible mapping (lists, tables, strings and numbers only; no ``None``).

        Examples
        --------
        >>> OutcomeDefinition().to_dict()["windows"]["6mo"]
        {'anchor': 'admission', 'start_day': 152, 'end_day': 243}
        """
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "windows":
                value = {k: w.to_dict() for k, w in value.items()}
            elif f.name == "comparable_window":
                value = value.to_dict()
            elif f.name == "milestones":
                value = [m.to_dict() for m in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutcomeDefinition:
        """Build a definition from :meth:`to_dict` output (e.g. a TOML table).

        Unknown keys raise ``ParameterError`` listing the valid ones.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ParameterError(
                f"Unknown outcome-definition keys {sorted(unknown)}; valid keys are {sorted(names)}."
            )
        kw: dict[str, Any] = dict(data)
        for name in ("timepoints", "covariates", "patterns"):
            if name in kw:
                kw[name] = tuple(kw[name])
        if "milestones" in kw:
            kw["milestones"] = tuple(_as_milestone(m) for m in kw["milestones"])
        if "windows" in kw:
            kw["windows"] = {k: _as_window(v) for k, v in dict(kw["windows"]).items()}
        return cls(**kw)

    def replace(self, **overrides: Any) -> OutcomeDefinition:
        """A copy with some settings changed (validated; unknown names raise ParameterError).

        >>> OutcomeDefinition().replace(sustained_days=60).sustained_name
        'sustained_60d'
        """
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(overrides) - names
        if unknown:
            raise ParameterError(
                f"Unknown outcome-definition settings {sorted(unknown)}; valid settings are "
                f"{sorted(names)}."
            )
        if "windows" in overrides:
            merged = dict(self.windows)
            merged.update({str(k): _as_window(v) for k, v in dict(overrides["windows"]).items()})
            overrides["windows"] = merged
        return dataclasses.replace(self, **overrides)
