"""Tests for iopoutcomes.ctn0094: hand-built CTN-0094-format folders for each harmonised rule,
quirk counting and errors, then the real public tables (skipped when ../shared is absent)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest

from iopoutcomes.ctn0094 import ctn0094_visit_imputed, read_ctn0094
from iopoutcomes.exceptions import FileReadError, MissingColumnError, ParameterError, SchemaError
from iopoutcomes.patterns import pattern_outcomes, weekly_patterns
from iopoutcomes.schema import EPISODES, FOLLOWUPS, REJECTED_COLUMNS, USE_DAYS

# Protocol design of the three trials (weeks per arm/phase/stage), as meta_study_length gives it.
META = pd.DataFrame(
    [
        ("27", "Methadone", 1, 1, 24),
        ("27", "Outpatient BUP", 1, 1, 24),
        ("30", "Outpatient BUP + EMM", 1, 1, 2),
        ("30", "Outpatient BUP + EMM", 1, 2, 2),
        ("30", "Outpatient BUP + EMM", 1, 3, 8),
        ("30", "Outpatient BUP + SMM", 1, 1, 2),
        ("30", "Outpatient BUP + SMM", 1, 2, 2),
        ("30", "Outpatient BUP + SMM", 1, 3, 8),
        ("30", "Outpatient BUP + EMM", 2, 1, 12),
        ("30", "Outpatient BUP + EMM", 2, 2, 4),
        ("30", "Outpatient BUP + EMM", 2, 3, 8),
        ("30", "Outpatient BUP + SMM", 2, 1, 12),
        ("30", "Outpatient BUP + SMM", 2, 2, 4),
        ("30", "Outpatient BUP + SMM", 2, 3, 8),
        ("51", "Inpatient BUP", 1, 1, 24),
        ("51", "Inpatient NR-NTX", 1, 1, 24),
    ],
    columns=["project", "treatment", "phase", "stage", "weeks"],
)


def write_ctn(
    folder: Path,
    everybody: Sequence[tuple[int, str]],
    randomization: Sequence[tuple[int, str, int, int | None]] = (),
    uds: Sequence[tuple[int, str, int | None]] = (),
    visit: Sequence[tuple[int, str, int | None]] = (),
    tlfb: Sequence[tuple[int, str, int]] | None = None,
    treatment: Sequence[tuple[int, int, int]] | None = None,
    fmt: str = "csv",
) -> Path:
    """Write a mini CTN-0094 folder; visits are (who, disposition, day)."""
    folder.mkdir(parents=True, exist_ok=True)
    who = [w for w, _ in everybody]
    tables = {
        "everybody": pd.DataFrame(everybody, columns=["who", "project"]),
        "randomization": pd.DataFrame(randomization, columns=["who", "treatment", "which", "when"]),
        "uds": pd.DataFrame(uds, columns=["who", "what", "when"]),
        "visit": pd.DataFrame(
            [(w, f"WK{i}", what, day) for i, (w, what, day) in enumerate(visit)],
            columns=["who", "visit", "what", "when"],
        ),
        "tlfb": pd.DataFrame(
            tlfb if tlfb is not None else [(w, "Heroin", -3) for w in who],
            columns=["who", "what", "when"],
        ),
        "demographics": pd.DataFrame(
            {
                "who": who,
                "age": [30 + i for i in range(len(who))],
                "is_hispanic": "No",
                "race": "White",
                "job": "Full Time",
                "is_living_stable": "Yes",
                "education": "HS/GED",
                "marital": "Never married",
                "is_male": "Yes",
            }
        ),
        "site_masked": pd.DataFrame({"who": who, "site_masked": "7"}),
        "meta_study_length": META,
    }
    if treatment is not None:
        tables["treatment"] = pd.DataFrame(treatment, columns=["who", "amount", "when"])
    for name, frame in tables.items():
        for col in ("who", "when", "which", "age"):
            if col in frame:
                frame[col] = frame[col].astype("Int64")
        if fmt == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def words_of(folder: Path, **kw: object) -> dict[str, str]:
    return weekly_patterns(read_ctn0094(folder), **kw).to_dict()  # type: ignore[arg-type]


# --- the harmonised rules, one at a time --------------------------------------------------------


def test_week_formula_and_symbols(tmp_path: Path) -> None:
    # CTN-0051, Inpatient NR-NTX (all three opioids count), randomised on day 3.
    # week = floor((day - 3 - 1) / 7) + 1: week 1 = days 4..10, week 2 = 11..17, week 3 =
    # 18..24, week 4 = 25..31, week 5 = 32..38, week 6 = 39..45; last backbone day 168 ->
    # week floor(164 / 7) + 1 = 24.
    folder = write_ctn(
        tmp_path,
        [(1, "51")],
        [(1, "Inpatient NR-NTX", 1, 3), (1, "Inpatient NR-NTX", 2, 3)],
        uds=[
            (1, "Opioid", 3),  # randomisation day: week 0, not in the word
            (1, "Opioid", 11),  # week 2 positive
            (1, "Methadone", 20),  # week 3 positive ...
            (1, "Thc", 32),  # not an opioid: week 5 stays negative
            (1, "Opioid", 40),  # week 6: positive without a visit still counts
        ],
        visit=[(1, "visit", 3), (1, "visit", 4), (1, "visit", 10), (1, "visit", 11),
               (1, "visit", 18), (1, "visit", 20), (1, "final", 32)],
    )  # fmt: skip
    # week 1: days 4, 10 present, no positive -> '-'; week 2: 11 positive -> '+';
    # week 3: 18 negative + 20 positive -> '*'; week 4: nothing -> 'o'; week 5: 32 ("final")
    # present, Thc only -> '-'; week 6: '+'; weeks 7-24 'o'.
    assert words_of(folder) == {"1": "-+*o-+" + "o" * 18}


def test_opioid_substances_depend_on_first_arm(tmp_path: Path) -> None:
    arms = [(1, "Methadone", "27"), (2, "Outpatient BUP", "27"), (3, "Inpatient NR-NTX", "51"),
            (4, "Inpatient BUP", "51")]  # fmt: skip
    everybody = [(w, p) for w, _, p in arms] + [(5, "51")]  # 5 is never randomised
    rand = [(w, arm, 1, 0) for w, arm, _ in arms]
    # day 5 Methadone positive, day 12 Buprenorphine positive, both at visits
    uds = [(w, "Methadone", 5) for w in range(1, 6)] + [
        (w, "Buprenorphine", 12) for w in range(1, 6)
    ]
    visit = [(w, "visit", d) for w in range(1, 6) for d in (5, 12)]
    folder = write_ctn(tmp_path, everybody, rand, uds, visit)
    words = words_of(folder)
    # Methadone arm: methadone is the study drug -> week 1 '-', buprenorphine counts -> '+'.
    # Buprenorphine arms: methadone counts, buprenorphine does not.  NR-NTX and never
    # randomised: both count.  rand1 = 0 -> 24 weeks; never randomised (CTN-0051) -> 25.
    assert {k: v[:2] for k, v in words.items()} == {
        "1": "-+", "2": "+-", "3": "++", "4": "+-", "5": "++"
    }  # fmt: skip
    assert {k: len(v) for k, v in words.items()} == {"1": 24, "2": 24, "3": 24, "4": 24, "5": 25}
    # an explicit substance list applies to everyone
    override = words_of(folder, substances=["Opioid"])
    assert {k: v[:2] for k, v in override.items()} == {
        "1": "--", "2": "--", "3": "--", "4": "--", "5": "oo"
    }  # fmt: skip


def test_backbone_end_limits_the_last_week(tmp_path: Path) -> None:
    # CTN-0027 randomised on day 3: backbone ends on day 168, week 24 = days 165..171.
    folder = write_ctn(
        tmp_path,
        [(1, "27"), (2, "27")],
        [(1, "Outpatient BUP", 1, 3), (2, "Outpatient BUP", 1, 3)],
        uds=[(2, "Opioid", 169)],  # off the backbone: ignored
        visit=[(1, "visit", 165), (2, "visit", 170)],  # 170 is off the backbone
    )
    words = words_of(folder)
    assert words["1"] == "o" * 23 + "-"
    assert words["2"] == "o" * 24


def test_never_randomised_words(tmp_path: Path) -> None:
    # week = floor(day / 7) + 1 (day 0 in week 1); '+' if any opioid positive, else 'o' (visits
    # never make a '-'). Backbone: CTN-0027/0051 -> day 168 (25 weeks), CTN-0030 -> day 98 (15).
    folder = write_ctn(
        tmp_path,
        [(1, "27"), (2, "30"), (3, "51")],
        uds=[(1, "Opioid", -1), (1, "Opioid", 6), (1, "Opioid", 7), (2, "Opioid", 0),
             (2, "Opioid", 99), (3, "Cocaine", 3)],
        visit=[(1, "visit", 14), (3, "visit", 3)],
    )  # fmt: skip
    words = words_of(folder)
    # 1: day -1 is baseline; 6 -> week 1; 7 -> week 2; the visit on 14 does not make a '-'.
    assert words["1"] == "++" + "o" * 23
    # 2: day 0 -> week 1; day 99 is after the CTN-0030 backbone end (98).
    assert words["2"] == "+" + "o" * 14
    assert words["3"] == "o" * 25
    e = read_ctn0094(folder).episodes
    assert e["cohort"].tolist() == ["not randomised"] * 3
    assert e["randomised"].tolist() == [False] * 3
    assert e["discharge_day"].isna().all()


def test_ctn0030_second_randomisation_extends_the_word(tmp_path: Path) -> None:
    folder = write_ctn(
        tmp_path,
        [(1, "30"), (2, "30"), (3, "51"), (4, "27")],
        [
            (1, "Outpatient BUP + SMM", 1, 2),
            (1, "Outpatient BUP + EMM", 2, 40),  # real re-randomisation, arm changes
            (2, "Outpatient BUP + EMM", 1, 2),
            (3, "Inpatient BUP", 1, 5),
            (3, "Inpatient BUP", 2, 5),  # duplicate which = 2 row (CTN-0051)
            (4, "Methadone", 1, 1),
            (4, "Methadone", 2, 9),  # a differing which = 2 row outside CTN-0030: ignored
        ],
        uds=[(1, "Opioid", 150), (2, "Opioid", 150), (2, "Opioid", 100)],
    )
    words = words_of(folder)
    # 1: backbone -30..39 then 40..208; week = floor((day - 3) / 7) + 1 -> 30 weeks; day 150 is
    #    week 22. The grid (and the word) stays anchored at the first randomisation.
    assert words["1"] == "o" * 21 + "+" + "o" * 8
    # 2: no second randomisation: backbone ends at 2 + 98 = 100 -> 14 weeks; day 100 is week
    #    floor(97 / 7) + 1 = 14; day 150 is off the backbone.
    assert words["2"] == "o" * 13 + "+"
    # 3 and 4: 168-day backbone whatever the which = 2 rows say
    assert len(words["3"]) == (168 - 6) // 7 + 1 == 24
    assert len(words["4"]) == (168 - 2) // 7 + 1 == 24
    records = read_ctn0094(folder)
    e = records.episodes.set_index("episode_id")
    assert e.loc["1", "cohort"] == "Outpatient BUP + SMM"  # cohort = first arm
    assert e.loc["1", "rand2_arm"] == "Outpatient BUP + EMM"
    assert e.loc["1", "rand2_day"] == 40
    assert pd.isna(e.loc["3", "rand2_day"]) and pd.isna(e.loc["4", "rand2_day"])
    # scheduled protocol end: phase 2 = 12 + 4 + 8 weeks after rand2; phase 1 = 2 + 2 + 8
    # weeks; CTN-0027/0051 = 24 weeks after rand1
    assert e["discharge_day"].tolist() == [40 + 168, 2 + 84, 5 + 168, 1 + 168]
    quirks = records.extras["quirks"].set_index(["table", "quirk"])["count"]
    assert quirks["randomization", "ctn0030_second_randomisation"] == 1
    assert quirks["randomization", "ctn0030_arm_changed_at_second_randomisation"] == 1
    assert quirks["randomization", "duplicate_which2_rows_ctn0027_0051"] == 1
    assert quirks["randomization", "differing_which2_rows_ctn0027_0051_ignored"] == 1


def test_visit_dispositions_and_duplicates(tmp_path: Path) -> None:
    # Only "visit" and "final" make a present day; "", "no visit", "MISSING" and rows
    # without a day are ignored; duplicate rows collapse.
    folder = write_ctn(
        tmp_path,
        [(1, "27")],
        [(1, "Outpatient BUP", 1, 0)],
        visit=[(1, "visit", 3), (1, "visit", 3), (1, "", 10), (1, "no visit", None),
               (1, "MISSING", 17), (1, "final", 24), (1, "no visit", 31)],
    )  # fmt: skip
    # week 1 = days 1..7 '-'; week 2 ("" on 10) 'o'; week 3 (MISSING on 17) 'o'; week 4 '-'
    assert words_of(folder)["1"][:5] == "-oo-o"


def test_missing_visit_grid(tmp_path: Path) -> None:
    folder = write_ctn(
        tmp_path,
        [(1, "51"), (2, "30"), (3, "30")],
        [(1, "Inpatient BUP", 1, 3)],
        visit=[(1, "visit", 9), (1, "visit", 12), (1, "visit", 25), (3, "visit", 0),
               (3, "visit", 5)],
    )  # fmt: skip
    v = ctn0094_visit_imputed(read_ctn0094(folder))
    one = v[v["episode_id"] == "1"]
    # grid d = 3, 10, 17, 24, ...: (3, 10] has 9; (10, 17] has 12; (17, 24] none -> 24 missing;
    # (24, 31] has 25; from 31 on no visit -> 38, 45, ..., 164 missing (d + 7 <= 168).
    assert one.loc[one["status"] == "present", "day"].tolist() == [9, 12, 25]
    assert one.loc[one["status"] == "missing", "day"].tolist() == [24] + list(range(38, 165, 7))
    # never randomised, CTN-0030 (backbone to 98): anchored at day 0; no visit on day 0 ->
    # day 0 missing too; person 3 visited on day 0 (present) and on day 5.
    two = v[v["episode_id"] == "2"]
    assert two["day"].tolist() == list(range(0, 99, 7))
    assert set(two["status"]) == {"missing"}
    three = v[v["episode_id"] == "3"]
    assert three.loc[three["status"] == "missing", "day"].tolist() == list(range(14, 99, 7))
    # the grid never reaches a word: weeks without a test are 'o' either way
    assert words_of(folder)["2"] == "o" * 15


# --- reading: structure, counts, quirks, formats ------------------------------------------------


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    return write_ctn(
        tmp_path / "mini",
        [(1, "51"), (2, "27"), (3, "30"), (3, "30"), (None, "27")],  # type: ignore[list-item]
        [(1, "Inpatient BUP", 1, 2), (1, "Inpatient BUP", 2, 2), (3, "Outpatient BUP + EMM", 1, 4),
         (3, "Outpatient BUP + SMM", 2, 30)],
        uds=[(1, "Opioid", -1), (1, "Opioid", 5), (1, "Thc", 5), (2, "Opioid", None),
             (9, "Opioid", 3)],
        visit=[(1, "visit", 5), (1, "visit", 5), (1, "no visit", None), (1, "", 12),
               (1, "visit", -2), (3, "visit", 300)],
        tlfb=[(1, "Heroin", -40), (1, "Heroin", -2), (2, "THC", 1), (9, "Heroin", 0)],
        treatment=[(1, 8, 2), (1, 8, 2), (1, 8, 1), (2, 4, 3)],
    )  # fmt: skip


def test_records_structure(mini: Path) -> None:
    r = read_ctn0094(mini)
    assert r.provenance == "ctn0094" and r.time_basis == "study_day" and r.data_as_of is None
    assert r.timepoints == ()
    e = r.episodes
    assert tuple(e.columns[: len(EPISODES.names)]) == EPISODES.names
    for col in ("trial", "site", "age", "is_hispanic", "race", "job", "is_living_stable",
                "education", "marital", "is_male", "rand1_day", "rand2_day", "rand2_arm"):  # fmt: skip
        assert col in e.columns
    assert e["episode_id"].tolist() == ["1", "2", "3"] == e["patient_id"].tolist()
    assert e["cohort"].tolist() == ["Inpatient BUP", "not randomised", "Outpatient BUP + EMM"]
    assert e["trial"].tolist() == ["CTN-0051", "CTN-0027", "CTN-0030"]
    assert e["site"].tolist() == ["7", "7", "7"]
    assert e["admission_date"].isna().all() and e["level_of_care"].isna().all()
    assert e["rand1_day"].tolist()[0] == 2 and pd.isna(e["rand1_day"].tolist()[1])
    assert e["age"].tolist() == [30, 31, 32]
    assert list(r.followups.columns) == list(FOLLOWUPS.names) and r.followups.empty
    u = r.use_days
    assert set(USE_DAYS.names) <= set(u.columns)
    assert u["source"].value_counts().to_dict() == {"self_report": 3, "uds": 3}
    assert (u["used"] == 1).all()
    assert sorted(u.loc[u["source"] == "uds", "day"].tolist()) == [-1, 5, 5]
    assert set(r.extras) >= {"visit", "uds", "randomization", "everybody", "quirks"}
    assert set(r.file_hashes) == {f"{t}.csv" for t in (
        "everybody", "randomization", "uds", "tlfb", "visit", "demographics", "site_masked",
        "meta_study_length", "treatment")}  # fmt: skip
    assert all(len(h) == 64 for h in r.file_hashes.values())


def test_rejections_and_read_counts_agree(mini: Path) -> None:
    r = read_ctn0094(mini)
    assert list(r.rejected.columns) == list(REJECTED_COLUMNS)
    rej = r.rejected.groupby(["table", "source", "reason"]).size().to_dict()
    assert rej == {
        ("episodes", "everybody.csv", "duplicate_episode_id"): 1,
        ("episodes", "everybody.csv", "missing_required_value"): 1,
        ("use_days", "tlfb.csv", "unknown_episode"): 1,
        ("use_days", "uds.csv", "missing_required_value"): 1,
        ("use_days", "uds.csv", "unknown_episode"): 1,
    }
    assert dict(r.read_counts) == {"episodes": 5, "followups": 0, "use_days": 9}
    for table, n_read in r.read_counts.items():
        accepted = {"episodes": r.episodes, "followups": r.followups, "use_days": r.use_days}[table]
        assert len(accepted) + int((r.rejected["table"] == table).sum()) == n_read
    # rejected rows carry the 1-based source row, never a value
    assert r.rejected.loc[r.rejected["reason"] == "duplicate_episode_id", "row"].tolist() == [4]


def test_quirks_are_counted(mini: Path) -> None:
    r = read_ctn0094(mini)
    q = r.extras["quirks"].set_index(["table", "quirk"])["count"].to_dict()
    assert q[("randomization", "never_randomised")] == 1
    assert q[("randomization", "duplicate_which2_rows_ctn0027_0051")] == 1
    assert q[("randomization", "ctn0030_second_randomisation")] == 1
    assert q[("uds", "positive_rows_only_no_negative_rows")] == 5
    assert q[("uds", "extra_substance_rows_same_person_day")] == 1
    assert q[("uds", "negative_day_rows")] == 1
    assert q[("visit", "exact_duplicate_rows")] == 0  # labels differ (WK0, WK1)
    assert q[("visit", "extra_rows_same_person_day")] == 1
    assert q[("visit", "rows_without_day")] == 1
    assert q[("visit", "empty_disposition_rows")] == 1
    assert q[("visit", "negative_day_rows")] == 1
    assert q[("visit", "rows_after_day_168")] == 1
    assert q[("tlfb", "negative_day_rows")] == 2
    assert q[("tlfb", "rows_before_day_minus_30")] == 1
    assert q[("treatment", "rows_for_never_randomised")] == 1
    assert q[("treatment", "extra_dose_rows_same_person_day")] == 1
    assert q[("treatment", "doses_before_randomisation_day")] == 1
    assert any("never randomised" in remark for remark in r.remarks)
    assert any("positive findings only" in remark for remark in r.remarks)
    # no participant id appears in remarks
    assert not any(" 9 " in remark or "who" in remark for remark in r.remarks)


def test_csv_and_parquet_read_the_same(tmp_path: Path) -> None:
    spec = dict(
        everybody=[(1, "51"), (2, "30")],
        randomization=[(1, "Inpatient BUP", 1, 2), (2, "Outpatient BUP + EMM", 1, 4)],
        uds=[(1, "Opioid", 5), (2, "Methadone", 9)],
        visit=[(1, "visit", 5), (2, "", 9), (2, "final", 12)],
    )
    a = read_ctn0094(write_ctn(tmp_path / "csv", **spec), file_format="csv")  # type: ignore[arg-type]
    b = read_ctn0094(write_ctn(tmp_path / "pq", fmt="parquet", **spec), file_format="parquet")  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(a.episodes, b.episodes)
    pd.testing.assert_frame_equal(a.use_days, b.use_days)
    pd.testing.assert_series_equal(weekly_patterns(a), weekly_patterns(b))
    assert set(b.file_hashes) >= {"everybody.parquet", "visit.parquet"}


# --- errors ---------------------------------------------------------------------------------


def test_missing_table_and_column(tmp_path: Path) -> None:
    folder = write_ctn(tmp_path, [(1, "27")])
    (folder / "uds.csv").unlink()
    with pytest.raises(FileReadError, match="'uds'"):
        read_ctn0094(folder)
    with pytest.raises(FileReadError, match=r"looked for everybody\.parquet"):
        read_ctn0094(folder, file_format="parquet")  # only CSV files exist
    write_ctn(tmp_path, [(1, "27")])
    pd.DataFrame({"who": [1], "day": [3]}).to_csv(folder / "visit.csv", index=False)
    with pytest.raises(MissingColumnError, match=r"visit\.csv.*'visit', 'what', 'when'"):
        read_ctn0094(folder)
    with pytest.raises(ParameterError, match="format"):
        read_ctn0094(folder, file_format="xlsx")  # type: ignore[arg-type]
    with pytest.raises(FileReadError, match="not found"):
        read_ctn0094(tmp_path / "nowhere")


def test_malformed_values(tmp_path: Path) -> None:
    folder = write_ctn(tmp_path, [(1, "27")])
    pd.DataFrame({"who": [1, 1], "what": ["Opioid", "Opioid"], "when": ["3", "x4417"]}).to_csv(
        folder / "uds.csv", index=False
    )
    with pytest.raises(FileReadError, match=r"uds\.csv.*'when'.*1 of 2") as info:
        read_ctn0094(folder)
    assert "x4417" not in str(info.value)  # never a value in a message
    pd.DataFrame({"who": [1], "what": ["Opioid"], "when": ["3.5"]}).to_csv(
        folder / "uds.csv", index=False
    )
    with pytest.raises(FileReadError, match="whole numbers"):
        read_ctn0094(folder)
    write_ctn(tmp_path, [(1, "99")])
    with pytest.raises(SchemaError, match="project"):
        read_ctn0094(folder)
    pq = write_ctn(tmp_path / "pq", [(1, "27")], fmt="parquet")
    (pq / "visit.parquet").write_bytes(b"not parquet")
    with pytest.raises(FileReadError, match=r"visit\.parquet"):
        read_ctn0094(pq)


def test_weekly_patterns_needs_ctn_extras(mini: Path) -> None:
    r = read_ctn0094(mini)
    broken = type(r)(**{**r.__dict__, "extras": {}})
    with pytest.raises(SchemaError, match="read_ctn0094"):
        weekly_patterns(broken)


# --- the real public tables ---------------------------------------------------------------------


_REAL: dict[str, tuple] = {}


@pytest.fixture
def real(ctn0094_dir: Path) -> tuple:
    """Read the real tables and build the words once per test session."""
    key = str(ctn0094_dir)
    if key not in _REAL:
        records = read_ctn0094(ctn0094_dir)
        _REAL[key] = (records, weekly_patterns(records))
    return _REAL[key]


def test_real_records(ctn0094_dir: Path) -> None:
    r = read_ctn0094(ctn0094_dir)
    # counts from the README of ../shared/real/ctn0094 (rows per table)
    assert len(r.episodes) == 3560 and r.episodes["episode_id"].is_unique
    assert dict(r.read_counts) == {"episodes": 3560, "followups": 0, "use_days": 237778 + 42906}
    assert r.rejected.empty
    assert r.episodes["trial"].value_counts().to_dict() == {
        "CTN-0027": 1920, "CTN-0030": 868, "CTN-0051": 772
    }  # fmt: skip
    # first-randomisation arms (randomization rows with which == 1) and 1,068 never randomised
    assert r.episodes["cohort"].value_counts().to_dict() == {
        "not randomised": 1068,
        "Outpatient BUP": 740,
        "Methadone": 529,
        "Outpatient BUP + EMM": 329,
        "Outpatient BUP + SMM": 324,
        "Inpatient BUP": 287,
        "Inpatient NR-NTX": 283,
    }
    q = r.extras["quirks"].set_index(["table", "quirk"])["count"].to_dict()
    # README quirk counts: never randomised 1,068; a duplicate which = 2 row for every
    # randomised CTN-0027 (1,269) and CTN-0051 (570) person; 360 real CTN-0030 second
    # randomisations (177 changed arm: computed once with this reader); visit 10,818 rows
    # without a day, 1 exact duplicate, 1,360 extra rows on a shared person-day (the exact
    # duplicate included), 1,921 "" dispositions; treatment 89 split-dose person-days.
    expected = {
        ("randomization", "never_randomised"): 1068,
        ("randomization", "duplicate_which2_rows_ctn0027_0051"): 1269 + 570,
        ("randomization", "ctn0030_second_randomisation"): 360,
        ("randomization", "ctn0030_arm_changed_at_second_randomisation"): 177,
        ("visit", "rows_without_day"): 10818,
        ("visit", "exact_duplicate_rows"): 1,
        ("visit", "extra_rows_same_person_day"): 1360,
        ("visit", "empty_disposition_rows"): 1921,
        ("uds", "positive_rows_only_no_negative_rows"): 42906,
        ("uds", "negative_day_rows"): 3,
        ("visit", "negative_day_rows"): 13,
        ("treatment", "extra_dose_rows_same_person_day"): 89,
        ("treatment", "rows_for_never_randomised"): 4,
        ("treatment", "doses_before_randomisation_day"): 2,
        ("demographics", "missing_age"): 208,
    }
    assert {k: q[k] for k in expected} == expected


def test_real_words_counts(real) -> None:
    records, words = real
    # Recorded once (2024, this reader, ../shared/real/ctn0094 = public.ctn0094data 1.0.6):
    #   words = weekly_patterns(read_ctn0094(folder)); words.str.count(symbol).sum()
    assert len(words) == 3560 and (words.str.len() > 0).all()
    totals = {s: int(words.str.count(re.escape(s)).sum()) for s in "+-o*_"}
    assert totals == {"+": 9470, "-": 21106, "o": 51690, "*": 710, "_": 0}
    assert int(words.str.len().sum()) == 82976
    # word lengths follow the backbone: CTN-0030 randomised without phase 2 -> (98 - 1) // 7 + 1
    # = 14 weeks (293 people); CTN-0030 never randomised -> 98 // 7 + 1 = 15 (868 - 653 = 215)
    lengths = words.str.len().value_counts()
    assert lengths[14] == 293 and lengths[15] == 215
    assert words.str.len().max() == 39
    arm = records.episodes.set_index("episode_id")["cohort"]
    per_arm = pd.DataFrame({"arm": arm, "w": words}).groupby("arm")["w"]
    counted = {a: tuple(int(s.str.count(re.escape(c)).sum()) for c in "+-o*") for a, s in per_arm}
    assert counted == {
        "Inpatient BUP": (490, 3229, 3058, 48),
        "Inpatient NR-NTX": (323, 2379, 4014, 27),
        "Methadone": (3247, 4827, 4095, 269),
        "Outpatient BUP": (3039, 5000, 9074, 233),
        "Outpatient BUP + EMM": (1148, 2685, 3529, 67),
        "Outpatient BUP + SMM": (1178, 2986, 3415, 66),
        "not randomised": (45, 0, 24505, 0),
    }


def test_real_hand_checked_participants(real) -> None:
    _, words = real
    # Participant 7 (CTN-0051, Inpatient NR-NTX, randomised day 5): raw visits with a day on
    # 6, 13, 18, 25, 32 (all "visit"; the rest "no visit"/"MISSING" without a day); one uds
    # row, Buprenorphine on day 1 (before randomisation). Weeks of days 6..12, 13..19, 20..26,
    # 27..33 are '-', then 'o' to week floor((168 - 6) / 7) + 1 = 24.
    assert words["7"] == "----" + "o" * 20
    # Participant 27 (CTN-0030, BUP + EMM day 7, re-randomised to BUP + EMM on day 56):
    # present 10, 17, 24, 31, 49, 56, 63, 66, 73, 80, 91, 98, 115 ("" dispositions on 0 and 31
    # do not count; day 7 is week 0); non-study opioid positives (Opioid, Methadone: a BUP arm)
    # on 10, 49, 56, 63, 66, 91. Weeks (day - 8) // 7 + 1: 1 '+', 2-4 '-', 5 'o', 6-9 '+',
    # 10-11 '-', 12 '+', 13 '-', 14-15 'o', 16 '-', then 'o' up to week (224 - 8) // 7 + 1 = 31.
    assert words["27"] == "+---o++++--+-oo-" + "o" * 15
    # Participant 45 (CTN-0027, never randomised): Opioid positive on day 0 -> week 1 '+';
    # 25 weeks (days 0..168).
    assert words["45"] == "+" + "o" * 24


def test_real_xbot_relapse_counts(real) -> None:
    records, words = real
    arm = records.episodes.set_index("episode_id")["cohort"]
    xbot = words[arm.isin(["Inpatient BUP", "Inpatient NR-NTX"])]
    out = pattern_outcomes(xbot, ["lee2018_relapse", "ctn0094_relapse"]).join(arm)
    counts = out.groupby("cohort")[["lee2018_relapse_event", "ctn0094_relapse_event"]].agg(
        ["sum", "count"]
    )
    # Recorded once with this reader (all randomised, intention to treat): lee2018 relapse
    # 163 / 287 Inpatient BUP and 188 / 283 Inpatient NR-NTX. X:BOT (Lee et al. 2018, Lancet
    # 391:309-318) reported intention-to-treat relapse in 163 / 287 BUP-NX (57%) and
    # 185 / 283 XR-NTX (65%); 204 of the 283 XR-NTX participants started (were inducted onto)
    # XR-NTX, which is not a relapse count. This reader matches BUP-NX and counts 3 more
    # XR-NTX relapses than published (188 vs 185).
    assert counts.loc["Inpatient BUP"].tolist() == [163, 287, 165, 287]
    assert counts.loc["Inpatient NR-NTX"].tolist() == [188, 283, 191, 283]
    assert int(out["lee2018_relapse_time"].sum()) == 3934 + 3180


def test_real_csv_matches_parquet(ctn0094_dir: Path, real) -> None:
    _, words = real
    from_csv = weekly_patterns(read_ctn0094(ctn0094_dir, file_format="csv"))
    pd.testing.assert_series_equal(from_csv, words)


def test_xbot_relapse_comparison_matches_r(ctn0094_dir: Path) -> None:
    """Inpatient BUP vs Inpatient NR-NTX on lee2018_relapse: KM medians, log-rank and Cox
    against R's survfit/survdiff/coxph on the same rows (tests/reference/r_ctn0094.py)."""
    from numpy.testing import assert_allclose
    from reference import r_ctn0094 as R

    from iopoutcomes.survival import time_to_relapse

    records = read_ctn0094(ctn0094_dir)
    words = weekly_patterns(records)
    relapse = pattern_outcomes(words, ["lee2018_relapse"])
    arms = records.episodes.set_index("episode_id")["cohort"]
    frame = relapse.join(arms)
    frame = frame[frame["cohort"].isin(["Inpatient BUP", "Inpatient NR-NTX"])]
    events = frame.groupby("cohort")["lee2018_relapse_event"].agg(["sum", "count"])
    assert events.loc["Inpatient BUP"].tolist() == [163, 287]
    assert events.loc["Inpatient NR-NTX"].tolist() == [188, 283]
    result = time_to_relapse(
        frame, by="cohort", relapse="lee2018_relapse", reference="Inpatient BUP"
    )
    assert result.time_unit == "weeks"
    cox = result.cox.iloc[0]
    assert_allclose(
        [cox["hazard_ratio"], cox["ci_low"], cox["ci_high"]], [R.COX_HR, *R.COX_CI], rtol=1e-6
    )
    assert_allclose(cox["pvalue"], R.COX_P, rtol=1e-5)
    assert_allclose(
        [result.logrank.statistic, result.logrank.pvalue], [R.LOGRANK_CHISQ, R.LOGRANK_P], rtol=1e-6
    )
    medians = result.medians.set_index("group")
    for arm, values in R.MEDIANS.items():
        assert medians.loc[arm, ["median", "ci_low", "ci_high"]].tolist() == list(values)


# --- missing demographics stay missing (pandas 2's astype("str") wrote "nan"/"None") ---------


@pytest.fixture(params=[True, False], ids=["infer_string", "pandas2_object_strings"])
def string_inference(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Run under pandas 3's str dtype and under pandas 2's object strings (where
    ``Series.astype("str")`` turns a missing value into the text "nan" or "None")."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the option itself is deprecated on pandas 3
        with pd.option_context("future.infer_string", request.param):
            yield request.param


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_missing_demographics_stay_missing(tmp_path: Path, fmt: str, string_inference) -> None:
    folder = write_ctn(
        tmp_path / fmt,
        [(1, "51"), (2, "27"), (3, "30")],
        [(1, "Inpatient BUP", 1, 2), (3, "Outpatient BUP + EMM", 1, 4)],
        fmt=fmt,
    )
    # blank out job for two participants, education and site for one: written as empty CSV
    # fields and Parquet nulls
    suffix = "csv" if fmt == "csv" else "parquet"
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    demo = read(folder / f"demographics.{suffix}")
    demo["job"] = demo["job"].astype(object)
    demo.loc[demo["who"].isin([1, 3]), "job"] = None
    demo["education"] = demo["education"].astype(object)
    demo.loc[demo["who"] == 2, "education"] = None
    site = read(folder / f"site_masked.{suffix}")
    site["site_masked"] = site["site_masked"].astype(object)
    site.loc[site["who"] == 3, "site_masked"] = None
    for name, frame in (("demographics", demo), ("site_masked", site)):
        if fmt == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    r = read_ctn0094(folder, file_format=fmt)  # type: ignore[arg-type]
    e = r.episodes.set_index("episode_id")
    assert e["job"].isna().tolist() == [True, False, True]
    assert e["education"].isna().tolist() == [False, True, False]
    assert e["site"].isna().tolist() == [False, False, True]
    assert not e[["job", "education", "site", "race"]].isin(["nan", "None", "<NA>", ""]).any().any()
    q = r.extras["quirks"].set_index(["table", "quirk"])["count"]
    assert q["demographics", "missing_job"] == 2
    assert q["demographics", "missing_education"] == 1
    assert q["demographics", "missing_race"] == 0


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_real_missing_demographics(ctn0094_dir: Path, fmt: str, string_inference) -> None:
    # Missing demographics in public.ctn0094data 1.0.6, counted with R on the CSV file:
    #   d <- read.csv("demographics.csv", na.strings = ""); sapply(d, function(x) sum(is.na(x)))
    # age 208, is_hispanic 34, race 0, job 1944, is_living_stable 1962, education 1793,
    # marital 1809, is_male 4 (every participant has one demographics row).
    r = read_ctn0094(ctn0094_dir, file_format=fmt)  # type: ignore[arg-type]
    q = r.extras["quirks"].set_index(["table", "quirk"])["count"].to_dict()
    expected = {"age": 208, "is_hispanic": 34, "race": 0, "job": 1944, "is_living_stable": 1962,
                "education": 1793, "marital": 1809, "is_male": 4}  # fmt: skip
    assert {c: q["demographics", f"missing_{c}"] for c in expected} == expected
    assert {c: int(r.episodes[c].isna().sum()) for c in expected} == expected
    text = r.episodes[[c for c in expected if c != "age"]]
    assert not text.isin(["nan", "None", "<NA>"]).any().any()


def test_xbot_breslow_ph_test_and_rmst_match_r(ctn0094_dir: Path) -> None:
    """Issue 22: Breslow ties reproduce the published X:BOT hazard ratio (1.36, 1.10-1.68);
    proportional hazards fail (most relapses early); RMST to week 24 against survfit."""
    from numpy.testing import assert_allclose
    from reference import r_ctn0094 as R

    from iopoutcomes.survival import time_to_relapse

    records = read_ctn0094(ctn0094_dir)
    relapse = pattern_outcomes(weekly_patterns(records), ["lee2018_relapse"])
    frame = relapse.join(records.episodes.set_index("episode_id")[["cohort"]])
    frame = frame[frame["cohort"].isin(["Inpatient BUP", "Inpatient NR-NTX"])]
    kw = dict(by="cohort", relapse="lee2018_relapse", reference="Inpatient BUP")
    breslow = time_to_relapse(frame, ties="breslow", **kw)  # type: ignore[arg-type]
    cox = breslow.cox.iloc[0]
    assert_allclose([cox["hazard_ratio"], cox["ci_low"], cox["ci_high"]],
                    [R.COX_BRESLOW_HR, *R.COX_BRESLOW_CI], rtol=1e-6)  # fmt: skip
    assert_allclose(breslow.ph_test().global_pvalue, R.ZPH_BRESLOW_P, rtol=1e-5)
    efron = time_to_relapse(frame, **kw)  # type: ignore[arg-type]
    assert_allclose(efron.ph_test().global_pvalue, R.ZPH_EFRON_P, rtol=1e-5)
    assert any("Proportional hazards are doubtful" in r for r in efron.remarks)
    rm = efron.rmst(24).to_frame()
    assert_allclose(rm["rmst"], R.RMST_24, rtol=1e-9)
    assert_allclose(rm["std_err"], R.RMST_24_SE, rtol=1e-9)
    assert any("carried forward" in r for r in efron.rmst(24).remarks)  # curves end at week 21


def test_ctn_first_use_after_discharge_is_a_clear_error(ctn0094_dir: Path) -> None:
    from iopoutcomes.exceptions import InsufficientDataError
    from iopoutcomes.outcomes import episode_outcomes
    from iopoutcomes.survival import time_to_relapse

    out = episode_outcomes(read_ctn0094(ctn0094_dir))
    with pytest.raises(InsufficientDataError, match="lee2018_relapse"):
        time_to_relapse(out)
