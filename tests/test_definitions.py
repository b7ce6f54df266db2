"""OutcomeDefinition: defaults with their references, validation, text, TOML round trip."""

from __future__ import annotations

import tomllib
import warnings

import pytest

from iopoutcomes.definitions import (
    DEFAULT_MILESTONES,
    DEFAULT_WINDOWS,
    Milestone,
    OutcomeDefinition,
    Window,
    default_window,
    timepoint_text,
)
from iopoutcomes.exceptions import DefinitionWarning, ParameterError


def test_default_windows_gpra_and_no_overlap() -> None:
    d = OutcomeDefinition()
    # GPRA 6-month window: months 5-8 after intake; 5 * 30.4375 = 152.2, 8 * 30.4375 = 243.5
    assert d.windows["6mo"] == Window("admission", 152, 243)
    assert d.windows["12mo"] == Window("admission", 335, 426)  # months 11-14
    assert d.windows["discharge"].anchor == "discharge"
    # admission-anchored follow-up windows do not overlap
    spans = sorted(
        (w.start_day, w.end_day)
        for t, w in DEFAULT_WINDOWS.items()
        if t not in ("intake", "discharge")
    )
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        OutcomeDefinition()  # the defaults raise no overlap warning


def test_defaults_and_policies() -> None:
    d = OutcomeDefinition()
    assert (d.missing, d.death_policy, d.verify, d.substance) == (
        "using",
        "missing",
        "self_report",
        "any",
    )
    assert (d.out_of_window, d.sustained_days, d.after_discharge_days) == ("count", 30, 180)
    assert (d.missing_days, d.completion_rule, d.fiscal_year_start_month) == ("using", "all", 1)
    assert d.n_imputations == 20 and d.covariates == () and d.patterns == ()
    assert d.milestones == DEFAULT_MILESTONES
    assert d.outcome_timepoints == ("discharge", "1mo", "3mo", "6mo", "12mo")


def test_proportional_default_window_for_other_labels() -> None:
    # 9 months = 273.9 days; 5/6 -> 228.3 (rounded 228), 8/6 -> 365.2 (floor 365)
    assert default_window("9mo") == Window("admission", 228, 365)
    # 2 weeks = 14 days; 5/6 -> 11.7 -> 12, 8/6 -> 18.7 -> 18
    assert default_window("2wk") == Window("admission", 12, 18)
    with pytest.raises(ParameterError, match="windows="):
        default_window("exit")
    d = OutcomeDefinition(timepoints=("intake", "exit"), windows={"exit": ("discharge", 0, 10)})
    assert d.windows["exit"] == Window("discharge", 0, 10)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("missing", "drop"),
        ("death_policy", "ignore"),
        ("verify", "breath"),
        ("substance", "nicotine"),
        ("out_of_window", "drop"),
        ("missing_days", "zero"),
    ],
)
def test_replace_validates_options(setting: str, value: str) -> None:
    with pytest.raises(ParameterError, match=setting) as info:
        OutcomeDefinition().replace(**{setting: value})
    assert value not in str(info.value)  # lists the options, never echoes the value


def test_replace_rejects_unknown_and_bad_numbers() -> None:
    with pytest.raises(ParameterError, match="valid settings"):
        OutcomeDefinition().replace(windw={})
    for bad in ({"sustained_days": 0}, {"fiscal_year_start_month": 13}, {"completion_rule": 99}):
        with pytest.raises(ParameterError):
            OutcomeDefinition().replace(**bad)
    with pytest.raises(ParameterError):
        Window("admission", 10, 5)
    with pytest.raises(ParameterError):
        Window("intake", 0, 5)  # type: ignore[arg-type]


def test_replace_merges_windows_and_warns_on_overlap() -> None:
    d = OutcomeDefinition().replace(windows={"6mo": Window("admission", 150, 250)})
    assert d.windows["6mo"].start_day == 150 and d.windows["12mo"] == DEFAULT_WINDOWS["12mo"]
    with pytest.warns(DefinitionWarning, match="overlap"):
        OutcomeDefinition().replace(windows={"6mo": Window("admission", 100, 250)})


def test_describe_and_label() -> None:
    d = OutcomeDefinition()
    assert d.describe("abstinent_6mo") == (
        "Abstinent at 6-month follow-up (no use in past 30 days), missing = using"
    )
    assert d.replace(missing="exclude", substance="drugs").describe("abstinent_12mo") == (
        "Abstinent from drugs at 12-month follow-up (no use in past 30 days), missing = exclude"
    )
    assert "missing = using" in d.describe()
    assert d.label("abstinent_discharge") == "Abstinent at discharge (no use in past 30 days)"
    assert d.label("sustained_30d_in_treatment").startswith("Abstinent for at least 30")
    assert d.label("milestone_housing_stable") == "Milestone: stable housing reported at discharge"
    assert d.label("anything_else") == "anything else"
    assert timepoint_text("12mo") == "12-month"


def test_to_dict_is_toml_compatible_and_round_trips() -> None:
    d = OutcomeDefinition(
        missing="impute", covariates=("age", "sex"), completion_rule=3, fiscal_year_start_month=10
    )
    data = d.to_dict()

    def toml_value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return '"' + v + '"'
        if isinstance(v, list):
            return "[" + ", ".join(toml_value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f'"{k}" = {toml_value(x)}' for k, x in v.items()) + "}"
        raise TypeError(type(v))  # None or another type: not TOML

    text = "\n".join(f"{k} = {toml_value(v)}" for k, v in data.items())
    back = OutcomeDefinition.from_dict(tomllib.loads(text))
    assert back == d
    with pytest.raises(ParameterError, match="Unknown outcome-definition keys"):
        OutcomeDefinition.from_dict({"missingg": "using"})


def test_milestone_validation() -> None:
    with pytest.raises(ParameterError):
        Milestone("Bad Name", "flag", measure="employed")
    with pytest.raises(ParameterError):
        Milestone("x", "flag")  # needs a measure
    with pytest.raises(ParameterError, match="share a name"):
        OutcomeDefinition(milestones=(DEFAULT_MILESTONES[0], DEFAULT_MILESTONES[0]))
    d = OutcomeDefinition(milestones=({"name": "job", "kind": "flag", "measure": "employed"},))
    assert d.milestones[0] == Milestone("job", "flag", measure="employed")


# --- definition text rendered from values; eligibility (issue 21) --------------------------------

TEMPLATE_NAMES = ("{", "}", "sustained_days", "min_change", "after_discharge_days", "_days")


@pytest.mark.parametrize("milestone", [m.name for m in DEFAULT_MILESTONES])
@pytest.mark.parametrize(
    ("sustained_days", "min_change", "scale"), [(30, 1.0, ""), (45, 2.5, "0-40 BAM score")]
)
def test_every_milestone_text_shows_its_values(
    milestone: str, sustained_days: int, min_change: float, scale: str
) -> None:
    base = OutcomeDefinition()
    ms = tuple(
        Milestone(**{**m.to_dict(), "min_change": min_change, "scale": scale, "values": m.values})
        if m.kind == "improved"
        else m
        for m in base.milestones
    )
    d = base.replace(milestones=ms, sustained_days=sustained_days)
    m = next(x for x in d.milestones if x.name == milestone)
    text = d.milestone_text(milestone)
    label = d.label(f"milestone_{milestone}")
    assert label == f"Milestone: {text}"
    for name in TEMPLATE_NAMES:
        assert name not in text
    if m.kind == "calendar":
        # the default calendar milestone follows the definition's run length
        assert m.measure == f"sustained_{sustained_days}d_in_treatment"
        assert f"a run of at least {sustained_days} consecutive abstinent calendar days" in text
        assert d.required_days(f"milestone_{milestone}") == sustained_days
    if m.kind == "improved":
        unit = "point" if min_change == 1.0 else "points"
        assert f"at least {min_change:g} {unit} above intake" in text
        assert (f"on the {scale}" if scale else "on the measure's own scale") in text
    if m.kind in ("discharge_reason", "flag"):
        assert text == m.description  # given in words, without numbers


def test_sustained_milestone_follows_the_run_length() -> None:
    d = OutcomeDefinition(sustained_days=45)
    ms = Milestone("sustained_abstinence", "calendar", measure=f"{d.sustained_name}_in_treatment")
    d = d.replace(milestones=(ms,))
    assert d.milestone_text(ms) == (
        "a run of at least 45 consecutive abstinent calendar days between admission and discharge"
    )
    assert d.required_days("milestone_sustained_abstinence") == 45
    assert d.not_eligible_text("completed_program") == (
        "not eligible (observed < 45 days in treatment)"
    )


def test_description_placeholders_are_rendered_and_checked() -> None:
    ms = Milestone(
        "reduced_craving",
        "improved",
        measure="craving",
        min_change=2,
        description="craving score {timepoint} at least {min_change} better ({scale})",
        scale="0-10 craving scale",
    )
    d = OutcomeDefinition(milestones=(ms,))
    assert d.milestone_text(ms) == (
        "craving score at discharge at least 2 better (on the 0-10 craving scale)"
    )
    with pytest.raises(ParameterError, match="placeholders"):
        Milestone("x", "flag", measure="employed", description="at least {threshold}")
    # literal braces are written doubled
    assert Milestone("x", "flag", measure="employed", description="a {{b}}").description


def test_every_label_and_description_without_template_names() -> None:
    d = OutcomeDefinition(sustained_days=21, after_discharge_days=120)
    outcomes = [
        *d.eligibility_outcomes,
        "longest_abstinent_run_in_treatment",
        "longest_abstinent_run_comparable",
        *(f"abstinent_{tp}" for tp in d.outcome_timepoints),
    ]
    texts = [d.describe(), *(d.label(o) for o in outcomes), *(d.describe(o) for o in outcomes)]
    texts += [d.not_eligible_text(o) for o in d.eligibility_outcomes]
    for text in texts:
        for name in TEMPLATE_NAMES:
            assert name not in text, (name, text)
    assert "21 consecutive days within days 1 to 90 after discharge" in d.label(
        "sustained_21d_comparable"
    )
    assert d.not_eligible_text("continuous_abstinence_after_discharge") == (
        "not eligible (observed < 120 days after discharge by the data-as-of date)"
    )


def test_comparable_window_and_controlled_environment_settings() -> None:
    d = OutcomeDefinition()
    assert d.comparable_window == Window("discharge", 1, 90)
    assert d.controlled_environment == "exclude"
    assert d.comparable_name == "sustained_30d_comparable"
    e = d.replace(
        comparable_window={"anchor": "admission", "start_day": 1, "end_day": 180},
        controlled_environment="count",
    )
    assert e.comparable_window == Window("admission", 1, 180)
    assert OutcomeDefinition.from_dict(e.to_dict()) == e
    assert e.to_dict()["comparable_window"] == {
        "anchor": "admission",
        "start_day": 1,
        "end_day": 180,
    }
    assert "controlled-environment days counted as abstinent" in e.describe()
    with pytest.raises(ParameterError):
        OutcomeDefinition(controlled_environment="ignore")  # type: ignore[arg-type]
    # which outcomes depend on the length of stay, and which need observation time
    assert d.length_of_stay_dependent("milestone_sustained_abstinence")
    assert not d.length_of_stay_dependent("sustained_30d_after_discharge")
    assert not d.length_of_stay_dependent("abstinent_6mo")
    assert d.required_days("treatment_completed") is None
    no_calendar = d.replace(milestones=(DEFAULT_MILESTONES[0],))
    assert not no_calendar.length_of_stay_dependent("completed_program")
    assert "completed_program" not in no_calendar.eligibility_outcomes


def test_parse_timepoint_is_the_one_label_parser() -> None:
    from iopoutcomes.definitions import parse_timepoint

    assert parse_timepoint("6mo") == (6, "mo")
    assert parse_timepoint("12wk") == (12, "wk")
    for label in ("discharge", "intake", "6 mo", "6m", "mo", "06x", "", None):
        assert parse_timepoint(label) is None
    # every reader of labels agrees with it (issue 13: four parsers before)
    from iopoutcomes.competing import _timepoint_day
    from iopoutcomes.missing import _timepoint_columns
    from iopoutcomes.plots import _timepoint_months
    from iopoutcomes.rates import _timepoint_of

    assert _timepoint_months("3mo") == 3.0 and _timepoint_months("13wk") == pytest.approx(
        13 * 7 / 30.4375, rel=1e-15
    )
    # 6 months = floor(6 * 365.25 / 12) = floor(182.625) = 182 days after admission
    import numpy as np

    assert _timepoint_day("6mo", np.array([30.0])).tolist() == [182.0]
    assert _timepoint_day("2wk", np.array([30.0])).tolist() == [14.0]
    assert _timepoint_of("abstinent_alcohol_9mo", None) == "9mo"
    assert _timepoint_of("abstinent_9m", None) is None
    assert _timepoint_columns(["x"], "abstinent_alcohol_3mo")[0] == "alcohol_3mo"
    assert _timepoint_columns(["followup_status_3mo"], "abstinent_alcohol_3mo")[0] == "3mo"
