"""episode_outcomes: hand-built records with answers worked out here, and simulated truth."""

from __future__ import annotations

import dataclasses
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iopoutcomes.definitions import OutcomeDefinition, Window
from iopoutcomes.outcomes import EpisodeOutcomes, episode_outcomes
from iopoutcomes.records import Records, read_records
from iopoutcomes.simulate import simulate_records

ADM = pd.Timestamp("2025-01-01")


def _date(day: int) -> str:
    return (ADM + pd.Timedelta(days=day)).date().isoformat()


def _episodes(n: int, discharge_day: list[int | None], **extra: list[object]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(n)],
            "episode_id": [f"E{i}" for i in range(n)],
            "cohort": ["IOP"] * n,
            "admission_date": [ADM.date().isoformat()] * n,
            "discharge_date": [None if d is None else _date(d) for d in discharge_day],
            "discharge_reason": ["completed" if d is not None else None for d in discharge_day],
            **extra,
        }
    )


def _calendar(rows: list[tuple[str, int, int]], **extra: list[object]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "episode_id": [r[0] for r in rows],
            "date": [_date(r[1]) for r in rows],
            "used": [r[2] for r in rows],
            **extra,
        }
    )


def _read(
    ep: pd.DataFrame, fu: pd.DataFrame | None, ud: pd.DataFrame | None, as_of: str
) -> Records:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rec = read_records(ep, fu, ud, data_as_of=as_of)
    assert len(rec.rejected) == 0, rec.rejected
    return rec


# --- follow-ups ---------------------------------------------------------------------------------


@pytest.fixture
def followup_records() -> Records:
    # E0: 6mo at day 160 (inside 152-243), 0 days used      -> abstinent True, in window
    # E1: 6mo at day 250 (after the window), 0 days used     -> out of window, counted
    # E2: 6mo at day 170, 4 days used                        -> False
    # E3: 6mo status died                                    -> NA, status died
    # E4: no 6mo row; window closed (as_of day 243 = end)    -> missed
    # E5: admitted one day later, no row: window ends day 243 = 2025-09-02 > as_of -> pending
    # E0: 1mo at day 30 while still in treatment (discharge day 60) -> in window, abstinent
    # E2: 1mo at day 30, 0 days, positive urine screen       -> True; False with verify="uds"
    ep = _episodes(6, [60, 60, 60, 60, 60, 60])
    ep.loc[5, "admission_date"] = "2025-01-02"
    ep.loc[5, "discharge_date"] = "2025-03-03"
    fu = pd.DataFrame(
        {
            "episode_id": ["E0", "E1", "E2", "E3", "E0", "E2"],
            "timepoint": ["6mo", "6mo", "6mo", "6mo", "1mo", "1mo"],
            "status": ["completed", "completed", "completed", "died", "completed", "completed"],
            "assessment_date": [_date(160), _date(250), _date(170), None, _date(30), _date(30)],
            "days_used_past30": [0, 0, 4, None, 0, 0],
            "uds_result": [None, None, None, None, "negative", "positive"],
        }
    )
    return _read(ep, fu, None, _date(243))


def test_abstinence_status_and_windows(followup_records: Records) -> None:
    out = episode_outcomes(followup_records)
    t = out.table.set_index("episode_id")
    assert t["abstinent_6mo"].tolist() == [True, True, False, pd.NA, pd.NA, pd.NA]
    assert t["followup_status_6mo"].tolist() == [
        "completed",
        "completed",
        "completed",
        "died",
        "missed",
        "pending",
    ]
    assert t["in_window_6mo"].tolist() == [True, False, True, pd.NA, pd.NA, pd.NA]
    assert t["followup_due_6mo"].tolist() == [True] * 5 + [False]
    assert t["days_used_past30_6mo"].tolist()[:3] == [0, 0, 4]
    # follow-up before discharge (1mo at day 30, discharge at day 60) is an ordinary follow-up
    assert t.loc["E0", "abstinent_1mo"] and t.loc["E0", "in_window_1mo"]
    assert t.loc["E2", "abstinent_1mo"]
    # the remark counts the out-of-window assessment
    assert any("1 completed 6-month follow-ups were outside the window" in r for r in out.remarks)
    assert out.followups.columns.tolist()[:4] == [
        "episode_id",
        "timepoint",
        "status",
        "assessment_day",
    ]
    assert (
        out.followups.set_index(["episode_id", "timepoint"]).loc[("E1", "6mo"), "offset_day"] == 250
    )


def test_out_of_window_missing_and_uds(followup_records: Records) -> None:
    t = episode_outcomes(followup_records, out_of_window="missing").table.set_index("episode_id")
    assert t["abstinent_6mo"].tolist()[:3] == [True, pd.NA, False]
    assert t.loc["E1", "followup_status_6mo"] == "completed"  # still a faithful record
    u = episode_outcomes(followup_records, verify="uds").table.set_index("episode_id")
    assert u.loc["E2", "abstinent_1mo"] == False  # noqa: E712 - positive screen overrides
    assert u.loc["E0", "abstinent_1mo"] == True  # noqa: E712


def test_substance_scope() -> None:
    ep = _episodes(3, [20, 20, 20])
    fu = pd.DataFrame(
        {
            "episode_id": ["E0", "E1", "E2"],
            "timepoint": ["6mo"] * 3,
            "status": ["completed"] * 3,
            "assessment_date": [_date(180)] * 3,
            "days_used_past30": [3, 2, None],
            "days_alcohol_past30": [3, 0, 0],
            "days_drugs_past30": [0, 2, 0],
        }
    )
    rec = _read(ep, fu, None, _date(400))
    col = "abstinent_6mo"
    assert episode_outcomes(rec).table[col].tolist() == [False, False, True]  # E2: 0 + 0
    assert episode_outcomes(rec, substance="alcohol").table[col].tolist() == [False, True, True]
    assert episode_outcomes(rec, substance="drugs").table[col].tolist() == [True, False, True]


def test_urine_screen_does_not_override_alcohol_only_abstinence() -> None:
    # E1 used drugs (2 days) but no alcohol, and screened positive. Urine drug screens do not
    # test for alcohol: alcohol-only abstinence stays True; any/drugs scopes become False.
    ep = _episodes(2, [20, 20])
    fu = pd.DataFrame(
        {
            "episode_id": ["E0", "E1"],
            "timepoint": ["6mo"] * 2,
            "status": ["completed"] * 2,
            "assessment_date": [_date(180)] * 2,
            "days_used_past30": [0, 2],
            "days_alcohol_past30": [0, 0],
            "days_drugs_past30": [0, 2],
            "uds_result": ["positive", "positive"],
        }
    )
    rec = _read(ep, fu, None, _date(400))
    col = "abstinent_6mo"
    alcohol = episode_outcomes(rec, substance="alcohol", verify="uds").table[col].tolist()
    assert alcohol == [True, True]
    assert episode_outcomes(rec, verify="uds").table[col].tolist() == [False, False]
    drugs = episode_outcomes(rec, substance="drugs", verify="uds").table[col].tolist()
    assert drugs == [False, False]


def test_quarters_calendar_and_fiscal() -> None:
    ep = _episodes(2, [10, None])
    ep["admission_date"] = ["2024-10-01", "2025-08-15"]
    ep["discharge_date"] = ["2024-10-11", None]
    rec = _read(ep, None, None, "2025-12-31")
    t = episode_outcomes(rec).table
    assert t["admission_quarter"].tolist() == ["2024Q4", "2025Q3"]
    assert t["discharge_quarter"].tolist() == ["2024Q4", pd.NA]
    f = episode_outcomes(rec, fiscal_year_start_month=10).table
    assert f["admission_quarter"].tolist() == ["2025Q1", "2025Q4"]  # US federal fiscal year


def test_covariates_carried_and_source_columns_never_overwritten() -> None:
    ep = _episodes(2, [10, 12], age=[30, 40], abstinent_discharge=[True, False])
    rec = _read(ep, None, None, "2025-12-31")
    out = episode_outcomes(rec)
    t = out.table
    assert t["age"].tolist() == [30, 40]
    assert t["abstinent_discharge"].astype(bool).tolist() == [True, False]
    assert any("kept as given" in r for r in out.remarks)
    # the first columns are the identifiers, in order
    assert t.columns[:7].tolist() == [
        "episode_id",
        "patient_id",
        "cohort",
        "site",
        "admission_quarter",
        "discharge_quarter",
        "admission_date",
    ] or t.columns[:3].tolist() == ["episode_id", "patient_id", "cohort"]


def test_teds_records_only_get_timepoints_with_rows() -> None:
    ep = _episodes(2, [10, 12], completed=[True, False], abstinent_discharge=[True, None])
    rec = _read(ep, None, None, "2025-12-31")
    teds = Records(
        episodes=rec.episodes,
        followups=rec.followups,
        use_days=rec.use_days,
        rejected=rec.rejected,
        read_counts=rec.read_counts,
        timepoints=("intake", "discharge"),
        provenance="teds_d",
        # what read_teds_d declares; the engine reads these options, never the provenance
        options={
            "timepoints_from_followups": True,
            "record_unit": "treatment discharges (TEDS-D)",
        },
    )
    out = episode_outcomes(teds)
    assert "followup_status_discharge" not in out.table
    assert out.table["completed"].tolist() == [True, False]
    assert "Records are treatment discharges (TEDS-D), not people." in out.remarks
    # the same records without the declared options: the provenance label alone changes nothing
    plain = episode_outcomes(dataclasses.replace(teds, options={}))
    assert "followup_status_discharge" in plain.table
    assert not any("discharges" in r for r in plain.remarks)
    # and the options work on records from any reader
    canonical = episode_outcomes(dataclasses.replace(teds, provenance="canonical"))
    assert "followup_status_discharge" not in canonical.table
    assert canonical.records_summary["subjects"] == "clients"


# --- calendar -------------------------------------------------------------------------------


@pytest.fixture
def calendar_records() -> Records:
    # every episode discharged on day 30 (in-treatment window days 0..30, 31 days)
    rows: list[tuple[str, int, int]] = []
    rows += [("E0", d, 0) for d in range(31)]  # all abstinent, run touches both window ends
    rows += [("E1", d, 0) for d in range(31) if d != 15]  # day 15 missing from the calendar
    rows += [("E2", d, 0) for d in range(31)]
    # E3: after-discharge window (after_discharge_days=10: days 30..39); use on day 35 only
    rows += [("E3", d, int(d == 35)) for d in range(46)]
    # E4: calendar ends on day 36, no use after discharge (end of the calendar = censoring)
    rows += [("E4", d, 0) for d in range(37)]
    substance: list[object] = [None] * len(rows)
    source: list[object] = ["self_report"] * len(rows)
    # E2: several rows on one day: an alcohol use row on day 10, a positive urine screen day 20
    rows += [("E2", 10, 1), ("E2", 20, 1)]
    substance += ["alcohol", None]
    source += ["self_report", "uds"]
    ep = _episodes(6, [30] * 6)  # E5 has no calendar at all
    return _read(ep, None, _calendar(rows, substance=substance, source=source), _date(400))


def test_runs_in_treatment(calendar_records: Records) -> None:
    t = episode_outcomes(calendar_records).table.set_index("episode_id")
    col = t["longest_abstinent_run_in_treatment"]
    # E0 31 (0..30); E1 15 (0..14 | 16..30, the missing day counts as use); E2 20 (11..30,
    # alcohol use on day 10, urine screen ignored); E3 31; E4 31; E5 no calendar
    assert col.tolist() == [31, 15, 20, 31, 31, pd.NA]
    assert t["sustained_30d_in_treatment"].tolist() == [True, False, False, True, True, pd.NA]
    skip = episode_outcomes(calendar_records, missing_days="skip").table
    assert skip["longest_abstinent_run_in_treatment"].tolist()[:3] == [31, 30, 20]
    uds = episode_outcomes(calendar_records, verify="uds").table
    assert uds["longest_abstinent_run_in_treatment"].tolist()[2] == 10  # 0..9 | 11..19 | 21..30
    drugs = episode_outcomes(calendar_records, substance="drugs").table
    assert drugs["longest_abstinent_run_in_treatment"].tolist()[2] == 31  # alcohol row dropped


def test_after_discharge(calendar_records: Records) -> None:
    d = OutcomeDefinition(after_discharge_days=10, sustained_days=5)
    t = episode_outcomes(calendar_records, d).table.set_index("episode_id")
    # E3: window 30..39, abstinent 30..34 (5 days), use 35, abstinent 36..39 (4 days)
    assert t.loc["E3", "longest_abstinent_run_after_discharge"] == 5
    assert t.loc["E3", "sustained_5d_after_discharge"] == True  # noqa: E712
    assert t.loc["E3", "continuous_abstinence_after_discharge"] == False  # noqa: E712
    assert t.loc["E3", "point_prevalence_30d_after_discharge"] == False  # noqa: E712
    assert t.loc["E3", "first_use_after_discharge_time"] == 5
    assert t.loc["E3", "first_use_after_discharge_event"] == True  # noqa: E712
    # E4: calendar ends day 36 -> observed 30..36 (7 days), window not complete
    assert t.loc["E4", "longest_abstinent_run_after_discharge"] == 7
    assert t.loc["E4", "sustained_5d_after_discharge"] == True  # noqa: E712 - reached already
    assert pd.isna(t.loc["E4", "continuous_abstinence_after_discharge"])
    assert t.loc["E4", "first_use_after_discharge_time"] == 7  # 7 abstinent days observed
    assert t.loc["E4", "first_use_after_discharge_event"] == False  # noqa: E712 - censored
    # E0: calendar ends on the discharge day: 1 observed day
    assert t.loc["E0", "first_use_after_discharge_time"] == 1
    # 30-day sustained in a 10-day window: no episode can reach 30, so none is eligible
    # (observed < 30 days) and the outcome is NA, not a failure (issue 21)
    t30 = episode_outcomes(calendar_records, after_discharge_days=10).table.set_index("episode_id")
    assert pd.isna(t30.loc["E3", "sustained_30d_after_discharge"])
    assert not t30["eligible_sustained_30d_after_discharge"].any()
    assert pd.isna(t30.loc["E4", "sustained_30d_after_discharge"])
    assert pd.isna(t30.loc["E5", "first_use_after_discharge_time"])


def test_continuous_and_point_prevalence_complete_window() -> None:
    # window 10..14 (after_discharge_days=5), point prevalence on its last 30 days = all 5;
    # E0 clean; E1 uses on day 10 only (point prevalence uses days 10..14 too -> False);
    # E2 day 12 missing -> using (False) / skip (True)
    rows = [("E0", d, 0) for d in range(20)]
    rows += [("E1", d, int(d == 10)) for d in range(20)]
    rows += [("E2", d, 0) for d in range(20) if d != 12]
    rec = _read(_episodes(3, [10, 10, 10]), None, _calendar(rows), _date(100))
    t = episode_outcomes(rec, after_discharge_days=5).table
    assert t["continuous_abstinence_after_discharge"].tolist() == [True, False, False]
    assert t["point_prevalence_30d_after_discharge"].tolist() == [True, False, False]
    assert t["first_use_after_discharge_time"].tolist() == [5, 0, 2]
    assert t["first_use_after_discharge_event"].tolist() == [False, True, True]
    s = episode_outcomes(rec, after_discharge_days=5, missing_days="skip").table
    assert s["continuous_abstinence_after_discharge"].tolist() == [True, False, True]
    assert s["first_use_after_discharge_event"].tolist() == [False, True, False]


def test_data_as_of_truncates_calendar_windows() -> None:
    rows = [("E0", d, 0) for d in range(60)]
    rec = _read(_episodes(1, [10]), None, _calendar(rows), _date(39))  # as of day 39
    t = episode_outcomes(rec).table
    assert t["longest_abstinent_run_after_discharge"].tolist() == [30]  # 10..39
    assert t["sustained_30d_after_discharge"].tolist() == [True]
    assert t["continuous_abstinence_after_discharge"].isna().all()


# --- milestones -----------------------------------------------------------------------------


def test_milestones_and_completion_rule() -> None:
    ep = _episodes(3, [40, 40, None])
    ep.loc[1, "discharge_reason"] = "dropped_out"
    fu = pd.DataFrame(
        {
            "episode_id": ["E0", "E0", "E1", "E1", "E2"],
            "timepoint": ["intake", "discharge", "intake", "discharge", "intake"],
            "status": ["completed"] * 5,
            "assessment_date": [_date(0), _date(40), _date(0), _date(40), _date(0)],
            "wellbeing": [10.0, 12.0, 10.0, 10.5, 9.0],
            "employed": [False, True, False, False, False],
        }
    )
    d = OutcomeDefinition(
        milestones=(
            {"name": "treatment_completed", "kind": "discharge_reason"},
            {"name": "improved_wellbeing", "kind": "improved", "measure": "wellbeing"},
            {"name": "employed", "kind": "flag", "measure": "employed"},
            {"name": "coping", "kind": "improved", "measure": "coping"},  # no data -> left out
        )
    )
    out = episode_outcomes(_read(ep, fu, None, _date(400)), d)
    t = out.table
    assert t["milestone_treatment_completed"].tolist() == [True, False, pd.NA]
    assert t["milestone_improved_wellbeing"].tolist() == [True, False, pd.NA]  # +2 / +0.5
    assert t["milestone_employed"].tolist() == [True, False, pd.NA]
    assert t["milestones_met"].tolist() == [3, 0, 0]
    assert t["completed_program"].tolist() == [True, False, pd.NA]
    assert t["treatment_completed"].tolist() == [True, False, pd.NA]
    assert "milestone_coping" not in t and any("coping" in r for r in out.remarks)
    k = episode_outcomes(_read(ep, fu, None, _date(400)), d, completion_rule=1).table
    assert k["completed_program"].tolist() == [True, False, pd.NA]


# --- simulated truth ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def simulated() -> Records:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return simulate_records(n=400, seed=11)


def test_simulated_followup_truth_recovered_exactly(simulated: Records) -> None:
    out = episode_outcomes(simulated)
    assert isinstance(out, EpisodeOutcomes) and len(out.table) == len(simulated.episodes)
    t = out.table.set_index("episode_id")
    fd = simulated.truth.full_data
    for tp in ("discharge", "1mo", "3mo", "6mo", "12mo"):
        f = fd.loc[fd["timepoint"] == tp].set_index("episode_id")
        obs = f["observed"].astype(bool).to_numpy()
        mine = t.loc[f.index, f"abstinent_{tp}"]
        assert mine.notna().to_numpy().tolist() == obs.tolist()
        np.testing.assert_array_equal(
            mine[obs].astype(bool).to_numpy(), f["abstinent_reported"][obs].astype(bool).to_numpy()
        )
        status = t.loc[f.index, f"followup_status_{tp}"].astype(str).to_numpy()
        truth = f["status"].astype(str).to_numpy()
        has_row = ~np.isin(status, ["pending", "missed"])
        np.testing.assert_array_equal(status[has_row], truth[has_row])
        assert (status[obs] == "completed").all()
        inw = t.loc[f.index, f"in_window_{tp}"][obs].astype(bool).to_numpy()
        np.testing.assert_array_equal(inw, f["in_window"][obs].astype(bool).to_numpy())
    # full-data counts among the followed-up equal the counts of the episode table
    counts = simulated.truth.full_data_counts.set_index(["cohort", "timepoint"])
    assert int(counts["n"].sum()) > 0


def _naive_after_discharge(
    used_by_day: dict[int, bool], dis: int, length: int, last: int
) -> tuple[int, object, object, int, bool]:
    """Day-by-day reference (a loop, for the test only)."""
    end = dis + length - 1
    obs_end = min(end, last)
    run = best = 0
    first = None
    for day in range(dis, obs_end + 1):
        use = used_by_day.get(day, True)  # missing day = use
        if use and first is None:
            first = day - dis
        run = 0 if use else run + 1
        best = max(best, run)
    complete = end <= last
    cont = None if not complete else all(not used_by_day.get(x, True) for x in range(dis, end + 1))
    sustained = True if best >= 30 else (False if complete else None)
    time = first if first is not None else obs_end - dis + 1
    return best, sustained, cont, time, first is not None


def test_simulated_calendar_matches_day_by_day_reference(simulated: Records) -> None:
    t = episode_outcomes(simulated).table.set_index("episode_id")
    ud = simulated.use_days
    ud = ud.loc[ud["source"] != "uds"]
    ep = simulated.episodes.set_index("episode_id")
    as_of = (simulated.data_as_of - ep["admission_date"]).dt.days
    checked = 0
    for eid, g in list(ud.groupby("episode_id"))[:80]:  # test-only reference loop
        dis = ep.loc[eid, "discharge_day"]
        if pd.isna(dis):
            continue
        days = dict(zip(g["day"].astype(int), g["used"].astype(bool), strict=True))
        last = min(max(days), int(as_of.loc[eid]))
        best, sustained, cont, time, event = _naive_after_discharge(days, int(dis), 180, last)
        row = t.loc[eid]
        assert row["longest_abstinent_run_after_discharge"] == best
        assert (pd.isna(row["sustained_30d_after_discharge"]) and sustained is None) or (
            row["sustained_30d_after_discharge"] == sustained
        )
        assert (pd.isna(row["continuous_abstinence_after_discharge"]) and cont is None) or (
            row["continuous_abstinence_after_discharge"] == cont
        )
        assert row["first_use_after_discharge_time"] == time
        assert row["first_use_after_discharge_event"] == event
        checked += 1
    assert checked > 50


def test_input_records_unchanged_and_shuffle_invariant(simulated: Records) -> None:
    before = simulated.followups.copy()
    out = episode_outcomes(simulated)
    pd.testing.assert_frame_equal(simulated.followups, before)
    shuffled = Records(
        episodes=simulated.episodes.sample(frac=1, random_state=1),
        followups=simulated.followups.sample(frac=1, random_state=2),
        use_days=simulated.use_days.sample(frac=1, random_state=3),
        rejected=simulated.rejected,
        read_counts=simulated.read_counts,
        timepoints=simulated.timepoints,
        data_as_of=simulated.data_as_of,
    )
    again = episode_outcomes(shuffled).table.set_index("episode_id").loc[out.table["episode_id"]]
    pd.testing.assert_frame_equal(
        again.reset_index(), out.table, check_like=False, check_dtype=False
    )


def test_result_display(simulated: Records) -> None:
    out = episode_outcomes(simulated)
    text = repr(out)
    assert text.startswith("<EpisodeOutcomes: 400 episodes") and "missing = using" in text
    assert "E0" not in text and "P0" not in text  # no identifiers in the summary repr
    assert "<table" in out._repr_html_()
    frame = out.to_frame()
    frame.iloc[0, 0] = "changed"
    assert out.table.iloc[0, 0] != "changed"
    assert out.records_summary["provenance"] == "simulated"


def _no_followup_records() -> Records:
    # E0, E1 (IOP) and E2 (inpatient): use calendars only, no follow-up timepoint declared
    ep = _episodes(3, [10, 12, 8])
    ep.loc[2, "cohort"] = "inpatient"
    ud = _calendar([("E0", 0, 0), ("E0", 12, 1), ("E1", 1, 0), ("E2", 2, 1)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rec = read_records(ep, None, ud, data_as_of="2025-12-31", timepoints=("intake",))
    assert len(rec.rejected) == 0, rec.rejected
    return rec


def _assert_no_followup_display(out: EpisodeOutcomes, n: int) -> None:
    text = repr(out)
    page = out._repr_html_()
    assert text.splitlines()[0] == f"<EpisodeOutcomes: {n:,} episodes, no follow-up assessments>"
    for shown in (text, page):
        assert "Empty DataFrame" not in shown and "no follow-ups" not in shown
        assert "No follow-up assessments" in shown and "Episodes by cohort:" in shown
        assert "first_use_after_discharge_event" in shown  # the outcome columns are listed
        assert "follow-up (" not in shown  # no empty timepoint list "()"
        assert not re.search(r"\b0 of [\d,]+ ", shown)  # no zero-count remarks
    assert "<table" in page


def test_display_without_followups() -> None:
    out = episode_outcomes(_no_followup_records())
    assert out.definition.outcome_timepoints == ()
    _assert_no_followup_display(out, 3)
    text = repr(out)
    assert "Episodes by cohort: IOP 2, inpatient 1." in text
    assert "the table has calendar and milestone outcomes" in text
    # summary(): the per-timepoint columns, no rows
    assert out.summary().empty and out.summary().columns[0] == "timepoint"
    over = out._overview().set_index("outcome")
    assert over.columns.tolist() == ["kind", "n", "n_events", "n_missing"]
    # hand: E0 discharged day 10, calendar to day 12 (unrecorded day 10 counts as use) ->
    # event; E1 and E2 have no calendar day after discharge -> NA
    assert list(over.loc["first_use_after_discharge_event"]) == ["calendar", 1, 1, 2]
    assert over.loc["milestones_met", "kind"] == "milestone"
    assert "abstinent_discharge" not in over.index


def test_remarks_leave_out_zero_counts() -> None:
    """Missed / pending remarks name only the non-zero counts (hand-built, as of 2025-04-01)."""
    out = episode_outcomes(_read(_episodes(3, [10, 12, 8]), None, None, "2025-04-01"))
    remarks = [r for r in out.remarks if "follow-up:" in r]
    assert remarks  # 1mo windows closed (missed), 6mo still open (pending)
    for r in remarks:
        assert not re.search(r"\b0 (of|are)\b", r), r
    one_month = next(r for r in remarks if r.startswith("1-month"))
    assert "3 of 3 episodes" in one_month and "pending" not in one_month
    six_month = next(r for r in remarks if r.startswith("6-month"))
    assert "pending" in six_month and "missed" not in six_month


def test_display_ctn0094_without_followups(ctn0094_dir: Path) -> None:
    from iopoutcomes.ctn0094 import read_ctn0094

    out = episode_outcomes(read_ctn0094(ctn0094_dir), patterns=("lee2018_relapse",))
    _assert_no_followup_display(out, len(out.table))
    text = repr(out)
    assert "calendar, milestone and pattern outcomes" in text
    assert "lee2018_relapse_event" in text and "Inpatient BUP" in text


# --- observation-time eligibility (issue 21) -----------------------------------------------------


def test_in_treatment_eligibility_day_counting() -> None:
    # The engine numbers days from the admission date (day 0) and counts the discharge day in
    # the stay: a stay with discharge_day = d is observed for d + 1 calendar days (days 0..d).
    # So an episode discharged on its 29th calendar day in care (discharge_day 28: days 0..28)
    # cannot hold a 30-day run and is not eligible; one discharged on its 30th day
    # (discharge_day 29: days 0..29) can and is eligible, as is discharge_day 30.
    days = [28, 29, 30]
    rows = [(f"E{i}", d, 0) for i, dd in enumerate(days) for d in range(dd + 60)]
    rec = _read(_episodes(3, list(days)), None, _calendar(rows), _date(400))
    out = episode_outcomes(rec)
    t = out.table
    assert t["eligible_sustained_30d_in_treatment"].tolist() == [False, True, True]
    # abstinent every day: the eligible stays meet the 30-day run (29 + 1 = 30 days)
    assert t["longest_abstinent_run_in_treatment"].tolist() == [29, 30, 31]
    assert t["sustained_30d_in_treatment"].tolist() == [pd.NA, True, True]
    # the milestone built on it and completed_program inherit the eligibility
    assert t["eligible_milestone_sustained_abstinence"].tolist() == [False, True, True]
    assert t["milestone_sustained_abstinence"].isna().tolist() == [True, False, False]
    assert t["eligible_completed_program"].tolist() == [False, True, True]
    assert pd.isna(t.loc[0, "completed_program"])
    assert any(
        r.startswith(
            "sustained_30d_in_treatment: 1 of 3 episodes are not eligible (observed < "
            "30 days in treatment)"
        )
        for r in out.remarks
    )
    # rates leave the ineligible episode out instead of counting it as a failure
    from iopoutcomes import outcome_rates

    rates = outcome_rates(out, "sustained_30d_in_treatment", by=None).table.iloc[0]
    assert (rates["n"], rates["n_events"], rates["n_not_eligible"]) == (2, 2, 1)


def test_after_discharge_eligibility_by_data_as_of() -> None:
    # discharged on day 10; data complete up to day 38 (days 10..38 = 29 days observed after
    # discharge) or day 39 (30 days): the 30-day run needs 30 observed days
    rows = [("E0", d, 0) for d in range(60)]
    for as_of, expected in ((38, False), (39, True)):
        t = episode_outcomes(_read(_episodes(1, [10]), None, _calendar(rows), _date(as_of))).table
        assert t["eligible_sustained_30d_after_discharge"].tolist() == [expected]
        # the whole 180-day window is needed for continuous abstinence / point prevalence
        assert t["eligible_continuous_abstinence_after_discharge"].tolist() == [False]


def test_eligibility_counts_equal_an_independent_computation(simulated: Records) -> None:
    out = episode_outcomes(simulated)
    t = out.table
    ep = simulated.episodes.set_index("episode_id").loc[t["episode_id"]]
    adm = pd.to_datetime(ep["admission_date"]).to_numpy()
    dis = pd.to_datetime(ep["discharge_date"]).to_numpy()
    as_of = np.datetime64(pd.Timestamp(simulated.data_as_of))
    one = np.timedelta64(1, "D")
    in_care = pd.isna(dis)
    # in treatment: admission to discharge (or to data_as_of while in care), both included
    stay = np.where(in_care, (as_of - adm) / one, (dis - adm) / one) + 1
    # after discharge: discharge day to the earlier of day 179 after it and data_as_of
    after = np.where(in_care, 0, np.minimum(179, (as_of - dis) / one) + 1)
    # comparable window: days 1..90 after discharge, closed by data_as_of
    closed = ~in_care & ((dis + 90 * one) <= as_of)
    expected = {
        "sustained_30d_in_treatment": stay >= 30,
        "sustained_30d_after_discharge": after >= 30,
        "continuous_abstinence_after_discharge": after >= 180,
        "point_prevalence_30d_after_discharge": after >= 180,
        "sustained_30d_comparable": closed,
        "milestone_sustained_abstinence": stay >= 30,
        "completed_program": stay >= 30,
    }
    for name, flags in expected.items():
        got = t[f"eligible_{name}"].to_numpy(dtype=bool)
        assert (got == flags).all(), name
        by_cohort = pd.Series(~flags).groupby(t["cohort"].to_numpy()).sum()
        # the counts reach the rate table unchanged, and the denominator leaves them out
        from iopoutcomes import outcome_rates

        rt = outcome_rates(out, name, by="cohort").table.set_index("group")
        for cohort, k in by_cohort.items():
            assert rt.loc[cohort, "n_not_eligible"] == k
            assert rt.loc[cohort, "n"] == int((t["cohort"] == cohort).sum()) - k
        # not eligible never carries a value
        assert t.loc[~flags, name].isna().all()


def _controlled_records(level: str) -> Records:
    # discharged on day 10 from a 24-hour setting (days 0..9 controlled); use on day 5 (in
    # the controlled period) and day 22; calendar days 0..50
    rows = [("E0", d, int(d in (5, 22))) for d in range(51)]
    return _read(_episodes(1, [10], level_of_care=[level]), None, _calendar(rows), _date(400))


@pytest.mark.parametrize(
    ("rule", "days", "longest", "eligible", "value"),
    [
        # exclude: days 1..9 leave the window (10..40 remain: 31 observed days); runs 10..21
        # (12) and 23..40 (18)
        ("exclude", 21, 18, True, False),
        ("exclude", 35, 18, False, pd.NA),  # 31 < 35 observed days: not eligible
        # missing: days 1..9 have no record and count as use (missing_days="using"); 40
        # observed days
        ("missing", 21, 18, True, False),
        ("missing", 35, 18, True, False),
        # count: days 1..9 abstinent (the day-5 use in care does not count): run 1..21 = 21
        ("count", 21, 21, True, True),
        ("count", 35, 21, True, False),
    ],
)
def test_controlled_environment_rules_by_hand(
    rule: str, days: int, longest: int, eligible: bool, value: object
) -> None:
    d = OutcomeDefinition(
        comparable_window=Window("admission", 1, 40),
        controlled_environment=rule,
        sustained_days=days,
    )
    t = episode_outcomes(_controlled_records("inpatient"), d).table
    name = d.comparable_name
    assert t["longest_abstinent_run_comparable"].tolist() == [longest]
    assert t[f"eligible_{name}"].tolist() == [eligible]
    assert t[name].tolist() == [value]
    # IOP days are not in a controlled environment: the rule changes nothing (runs 1..4, 6..21,
    # 23..40 -> 18; 40 observed days)
    iop_t = episode_outcomes(_controlled_records("IOP"), d).table
    assert iop_t["longest_abstinent_run_comparable"].tolist() == [18]
    assert iop_t[f"eligible_{name}"].tolist() == [True]


def test_controlled_days_removed_join_the_days_around_them() -> None:
    # window from 5 days before admission: with "exclude" the days before admission and the
    # days after discharge join (the controlled days neither break nor extend the run)
    rows = [("E0", d, int(d == 20)) for d in range(-5, 40)]
    rec = _read(
        _episodes(1, [10], level_of_care=["residential"]), None, _calendar(rows), _date(400)
    )
    d = OutcomeDefinition(comparable_window=Window("admission", -5, 30), sustained_days=12)
    t = episode_outcomes(rec, d).table
    # -5..-1 (5 days) + 10..19 (10 days) = 15; then use on 20; 21..30 = 10
    assert t["longest_abstinent_run_comparable"].tolist() == [15]
    assert t["sustained_12d_comparable"].tolist() == [True]


# --- aftercare milestone from the services table (issue 17) ------------------------------------


def _with_services(recs: Records, services: pd.DataFrame) -> Records:
    """Attach a services table (a Records field once the ingestion half of issue 17 lands)."""
    import dataclasses

    if "services" in {f.name for f in dataclasses.fields(Records)}:
        return dataclasses.replace(recs, services=services)
    object.__setattr__(recs, "services", services)
    return recs


def test_aftercare_milestone_from_services_counts_days_1_to_n() -> None:
    # discharges June 1; visits on day 0 (the discharge day, not aftercare), 1, 30, 31; one
    # window still open at the data-as-of date; one episode still in care
    eps = pd.DataFrame(
        {
            "patient_id": ["a", "b", "c", "d", "e", "f"],
            "episode_id": ["E1", "E2", "E3", "E4", "E5", "E6"],
            "cohort": ["IOP"] * 6,
            "admission_date": ["2024-05-01"] * 6,
            "discharge_date": ["2024-06-01"] * 4 + ["2024-07-01", None],
        }
    )
    svc = pd.DataFrame(
        {
            "patient_id": ["a", "b", "c", "d", "e", "c"],
            "service_type": ["iop", "outpatient", "peer_support", "iop", "iop", "detox"],
            "service_date": pd.to_datetime(
                ["2024-06-01", "2024-06-02", "2024-07-01", "2024-07-02", "2024-06-20", "2024-06-05"]
            ),
        }
    )
    recs = _with_services(read_records(eps, data_as_of="2024-07-15"), svc)
    d = OutcomeDefinition(aftercare_from="services")
    out = episode_outcomes(recs, d)
    got = out.table["milestone_aftercare_attended"].astype("object").tolist()
    assert got == [False, True, True, False, pd.NA, pd.NA]
    assert any("aftercare_from='services'" in r for r in out.remarks)
    assert "services table" in d.milestone_text("aftercare_attended")
    # the window is a parameter: 31 days reaches d's visit on day 31
    got31 = episode_outcomes(recs, d.replace(aftercare_within=31)).table
    assert got31["milestone_aftercare_attended"].tolist()[3] is True or bool(
        got31["milestone_aftercare_attended"].iloc[3]
    )
    # the default still reads the follow-up item (absent here: left out with a remark)
    default = episode_outcomes(recs)
    assert "milestone_aftercare_attended" not in default.table


def test_aftercare_from_is_validated() -> None:
    from iopoutcomes.exceptions import ParameterError

    with pytest.raises(ParameterError):
        OutcomeDefinition(aftercare_from="survey")  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        OutcomeDefinition(aftercare_within=0)
    d = OutcomeDefinition(aftercare_from="services", aftercare_within=14)
    assert OutcomeDefinition.from_dict(d.to_dict()) == d
