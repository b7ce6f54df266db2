"""Tests for ``read_records`` and ``Records`` (issue 2, sections 2 and 3).

Expected values are hand-computed from the small tables below (day numbers are calendar
differences, e.g. 2024-01-01 -> 2024-02-15 is 31 + 14 = 45 days).
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import iopoutcomes as iop
from iopoutcomes import schema
from iopoutcomes.records import (
    MISSING_TOKENS,
    REJECTION_PRECEDENCE,
    Records,
    canonical_dtypes,
    read_records,
)

SECRET = "ZZSECRET42"  # a marker value: it must never appear in messages or rejected rows


def episodes_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": ["p1", "p2", "p3"],
            "episode_id": ["e1", "e2", "e3"],
            "cohort": ["IOP", "inpatient", "IOP"],
            "admission_date": ["2024-01-01", "2024-01-10", "2024-02-01"],
            "level_of_care": ["IOP", "inpatient", "2.1"],
            "site": ["A", "B", "A"],
            "discharge_date": ["2024-02-15", "2024-01-30", ""],
            "discharge_reason": ["completed", "dropped_out", ""],
            "age": [30, 41, 52],
        }
    )


def followups_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "episode_id": ["e1", "e1", "e2", "e3"],
            "timepoint": ["intake", "3mo", "3mo", "intake"],
            "status": ["completed", "completed", "not_located", "completed"],
            "assessment_date": ["2024-01-01", "2024-04-01", "", "2024-02-01"],
            "days_used_past30": ["20", "0", "", "15"],
            "uds_result": ["positive", "negative", "", "positive"],
            "wellbeing": ["3.5", "4", "", "2"],
            "housing_stable": ["1", "1", "", "0"],
        }
    )


def use_days_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": ["p1", "p1", "p2", "p3"],
            "date": ["2024-01-02", "2024-01-02", "2024-01-11", "2024-02-03"],
            "used": ["1", "0", "1", "0"],
            "source": ["self_report", "uds", "self_report", "uds"],
        }
    )


def read_all(**kwargs: Any) -> Records:
    return read_records(episodes_frame(), followups_frame(), use_days_frame(), **kwargs)


def assert_balanced(recs: Records) -> None:
    summary = recs.summary()
    assert (summary["accepted"] + summary["rejected"] == summary["read"]).all()
    assert not recs.rejected.duplicated(["table", "row"]).any()


# --- typed canonical output ------------------------------------------------------------------


def test_dataframe_input_gives_canonical_dtypes_and_derived_days() -> None:
    recs = read_all()
    assert recs.rejected.empty
    for table in ("episodes", "followups", "use_days"):
        frame = getattr(recs, table)
        for name, dtype in canonical_dtypes(table).items():
            assert frame[name].dtype == dtype, (table, name)
    eps = recs.episodes
    assert eps["discharge_day"].tolist() == [45, 20, pd.NA]
    assert eps["age"].dtype == np.int64  # covariates carried through unchanged
    assert eps["age"].tolist() == [30, 41, 52]
    fu = recs.followups
    assert fu["assessment_day"].tolist() == [0, 91, pd.NA, 0]
    assert fu["days_used_past30"].tolist() == [20, 0, pd.NA, 15]
    assert fu["wellbeing"].tolist()[:2] == [3.5, 4.0]
    assert fu["housing_stable"].tolist() == [True, True, pd.NA, False]
    ud = recs.use_days
    assert ud["episode_id"].tolist() == ["e1", "e1", "e2", "e3"]
    assert ud["day"].tolist() == [1, 1, 1, 2]  # two rows for one day are both kept
    assert ud["used"].tolist() == [True, False, True, False]
    assert recs.time_basis == "calendar"
    assert recs.timepoints == schema.DEFAULT_TIMEPOINTS
    assert recs.data_as_of == pd.Timestamp("2024-04-01")  # latest date in accepted rows
    assert recs.sources == {t: "DataFrame" for t in ("episodes", "followups", "use_days")}
    assert recs.file_hashes == {}
    assert dict(recs.read_counts) == {"episodes": 3, "followups": 4, "use_days": 4}


def test_missing_optional_tables_are_empty_canonical_frames() -> None:
    recs = read_records(episodes_frame())
    assert len(recs.followups) == 0 and len(recs.use_days) == 0
    assert list(recs.use_days.columns) == list(schema.USE_DAYS.names)
    assert recs.summary()["table"].tolist() == ["episodes"]


def test_input_dataframes_are_not_mutated() -> None:
    eps, fu, ud = episodes_frame(), followups_frame(), use_days_frame()
    eps.loc[1, "discharge_date"] = "2023-01-01"  # also exercise the rejection path
    copies = [eps.copy(deep=True), fu.copy(deep=True), ud.copy(deep=True)]
    read_records(
        eps,
        fu,
        ud,
        columns={"site": "site"},
        codes={"status": {"not_located": "not_located"}},
    )
    for before, after in zip(copies, (eps, fu, ud), strict=True):
        pd.testing.assert_frame_equal(before, after)


def test_typed_dataframe_input_dates_and_numbers() -> None:
    eps = episodes_frame()
    eps["admission_date"] = pd.to_datetime(eps["admission_date"])
    eps["patient_id"] = [101, 102, 103]  # numeric ids become text without ".0"
    fu = followups_frame()
    fu["days_used_past30"] = pd.array([20, 0, None, 15], dtype="Int64")
    fu["housing_stable"] = pd.array([True, True, None, False], dtype="boolean")
    recs = read_records(eps, fu)
    assert recs.rejected.empty
    assert recs.episodes["patient_id"].tolist() == ["101", "102", "103"]
    assert recs.episodes["discharge_day"].tolist()[:2] == [45, 20]
    assert recs.followups["days_used_past30"].tolist() == [20, 0, pd.NA, 15]


def test_asam_codes_map_to_levels_with_edition() -> None:
    eps = pd.concat([episodes_frame()] * 2, ignore_index=True)
    eps["episode_id"] = [f"e{i}" for i in range(6)]
    eps["level_of_care"] = pd.Series(["2.1", "3.7", "iop", "4", "1.0", "Residential"], dtype=object)
    recs = read_records(eps)
    out = recs.episodes
    assert out["level_of_care"].tolist() == [
        "IOP",
        "inpatient",
        "IOP",
        "inpatient",
        "OP",
        "residential",
    ]
    assert out["asam_code"].tolist() == ["2.1", "3.7", pd.NA, "4", "1", pd.NA]
    assert out["asam_edition"].tolist() == ["ASAM3", "ASAM3", pd.NA, "ASAM3", "ASAM3", pd.NA]
    numeric = episodes_frame().assign(level_of_care=[2.1, 3.5, 4.0])
    assert read_records(numeric).episodes["level_of_care"].tolist() == [
        "IOP",
        "residential",
        "inpatient",
    ]


def test_vocabulary_is_case_insensitive_and_stored_canonically() -> None:
    fu = followups_frame()
    fu["status"] = [" Completed", "COMPLETED", "Not_Located", "completed"]
    fu["timepoint"] = ["INTAKE", "3MO", "3mo", "Intake"]
    recs = read_records(episodes_frame(), fu)
    assert recs.rejected.empty
    assert recs.followups["status"].tolist()[:3] == ["completed", "completed", "not_located"]
    assert recs.followups["timepoint"].tolist() == ["intake", "3mo", "3mo", "intake"]


# --- options -------------------------------------------------------------------------------


def test_columns_mapping_flat_and_per_table() -> None:
    eps = episodes_frame().rename(columns={"patient_id": "pt", "admission_date": "adm"})
    fu = followups_frame().rename(columns={"status": "disp"})
    flat = read_records(
        eps, fu, columns={"pt": "patient_id", "adm": "admission_date", "disp": "status"}
    )
    nested = read_records(
        eps,
        fu,
        columns={
            "episodes": {"pt": "patient_id", "adm": "admission_date"},
            "followups": {"disp": "status"},
        },
    )
    reference = read_all()
    for recs in (flat, nested):
        pd.testing.assert_frame_equal(recs.episodes, reference.episodes)
        pd.testing.assert_frame_equal(recs.followups, reference.followups)


def test_codes_mapping_numeric_program_codes() -> None:
    fu = followups_frame()
    fu["status"] = [1, 1, 2, 1]
    eps = episodes_frame().assign(cohort=["10", "20", "10"])
    recs = read_records(
        eps,
        fu,
        codes={
            "episodes": {"cohort": {"10": "IOP", "20": "inpatient"}},
            "followups": {"status": {1: "completed", 2: "not_located"}},
        },
    )
    assert recs.rejected.empty
    assert recs.followups["status"].tolist() == [
        "completed",
        "completed",
        "not_located",
        "completed",
    ]
    assert recs.episodes["cohort"].tolist() == ["IOP", "inpatient", "IOP"]
    flat = read_records(
        episodes_frame(),
        followups_frame().assign(status=["c", "c", "lost", "c"]),
        codes={"status": {"c": "completed", "lost": "not_located"}},
    )
    assert flat.rejected.empty


def test_date_format_is_explicit_and_never_guessed() -> None:
    eps = episodes_frame()
    eps["admission_date"] = ["01/01/2024", "10/01/2024", "01/02/2024"]
    eps["discharge_date"] = ["15/02/2024", "30/01/2024", ""]
    rejected = read_records(eps).rejected
    assert rejected["reason"].tolist() == ["unparseable_date"] * 3
    recs = read_records(eps, date_format="%d/%m/%Y")
    assert recs.episodes["admission_date"].tolist() == list(
        pd.to_datetime(["2024-01-01", "2024-01-10", "2024-02-01"])
    )
    iso = read_records(episodes_frame(), date_format="%d/%m/%Y").rejected
    assert set(iso["reason"]) == {"unparseable_date"}


def test_declared_timepoints() -> None:
    fu = followups_frame().assign(timepoint=["intake", "2wk", "2wk", "intake"])
    default = read_records(episodes_frame(), fu)
    assert default.rejected["reason"].tolist() == ["unknown_timepoint"] * 2
    declared = read_records(episodes_frame(), fu, timepoints=["intake", "2wk"])
    assert declared.rejected.empty
    assert declared.timepoints == ("intake", "2wk")
    with pytest.raises(iop.ParameterError):
        read_records(episodes_frame(), fu, timepoints=["a", "A"])
    with pytest.raises(iop.ParameterError):
        read_records(episodes_frame(), fu, timepoints="intake")


def test_data_as_of_given_or_invalid() -> None:
    assert read_all(data_as_of="2025-06-30").data_as_of == pd.Timestamp("2025-06-30")
    with pytest.raises(iop.ParameterError, match="data_as_of"):
        read_all(data_as_of="not a date")


def test_bad_option_types_raise_parameter_error() -> None:
    with pytest.raises(iop.ParameterError, match="path or a pandas DataFrame"):
        read_records(42)  # type: ignore[arg-type]
    with pytest.raises(iop.ParameterError, match="codes="):
        read_all(codes={"status": "completed"})
    with pytest.raises(iop.ParameterError, match="date_format"):
        read_all(date_format="YYYY-MM-DD")
    with pytest.raises(iop.SchemaError, match="more than once"):
        read_records(episodes_frame(), columns={"site": "cohort"})


# --- use_days ------------------------------------------------------------------------------


def test_use_days_patient_rows_resolve_to_latest_admission() -> None:
    eps = pd.DataFrame(
        {
            "patient_id": ["p1", "p1", "p2"],
            "episode_id": ["a", "b", "c"],
            "cohort": ["IOP", "inpatient", "IOP"],
            "admission_date": ["2024-01-01", "2024-03-01", "2024-01-05"],
        }
    )
    ud = pd.DataFrame(
        {
            "patient_id": ["p1", "p1", "p1", "p1", "p2", "p9"],
            "date": [
                "2023-12-31",
                "2024-01-01",
                "2024-02-29",
                "2024-03-02",
                "2024-01-04",
                "2024-01-04",
            ],
            "used": [1, 0, 1, 1, 0, 1],
        }
    )
    recs = read_records(eps, use_days=ud)
    assert recs.use_days["episode_id"].tolist() == ["a", "a", "b"]
    assert recs.use_days["day"].tolist() == [0, 59, 1]
    rej = recs.rejected
    assert rej["row"].tolist() == [1, 5, 6]
    assert set(rej["reason"]) == {"unknown_patient"}


def test_use_days_with_episode_id_and_study_day() -> None:
    ud = pd.DataFrame(
        {"episode_id": ["e1", "e1", "e2", "zz"], "day": [-3, 0, 14, 1], "used": [1, 1, 0, 1]}
    )
    recs = read_records(episodes_frame(), use_days=ud)
    assert recs.use_days["day"].tolist() == [-3, 0, 14]
    assert recs.use_days["patient_id"].tolist() == ["p1", "p1", "p2"]
    assert recs.rejected[["row", "reason"]].values.tolist() == [[4, "unknown_episode"]]


def test_use_days_required_columns() -> None:
    with pytest.raises(iop.MissingColumnError, match="date"):
        read_records(
            episodes_frame(), use_days=pd.DataFrame({"patient_id": ["p1"], "day": [1], "used": [1]})
        )
    with pytest.raises(iop.MissingColumnError, match="used"):
        read_records(episodes_frame(), use_days=pd.DataFrame({"episode_id": ["e1"], "day": [1]}))


# --- rejection reasons ---------------------------------------------------------------------

# (table, column, row index to spoil, bad value, expected reason, expected rejected rows)
REJECTION_CASES = [
    ("episodes", "cohort", 1, "", "missing_required_value", [2]),
    ("episodes", "admission_date", 0, "", "missing_required_value", [1]),
    ("episodes", "episode_id", 2, "e1", "duplicate_episode_id", [1, 3]),
    ("episodes", "discharge_date", 1, "2024-01-09", "discharge_before_admission", [2]),
    ("episodes", "discharge_reason", 0, "graduated", "unknown_discharge_reason", [1]),
    ("episodes", "level_of_care", 2, "2.7", "unknown_level_of_care", [3]),
    ("episodes", "admission_date", 2, "2024-02-30", "unparseable_date", [3]),
    ("episodes", "discharge_date", 0, "2024-1-5", "unparseable_date", [1]),
    ("followups", "episode_id", 3, "e99", "unknown_episode", [4]),
    ("followups", "assessment_date", 1, "2023-12-31", "assessment_before_admission", [2]),
    ("followups", "days_used_past30", 0, "31", "days_used_out_of_range", [1]),
    ("followups", "days_used_past30", 3, "-1", "days_used_out_of_range", [4]),
    ("followups", "days_used_past30", 1, "2.5", "days_used_not_integer", [2]),
    ("followups", "days_used_past30", 1, "some", "unparseable_number", [2]),
    ("followups", "wellbeing", 0, "high", "unparseable_number", [1]),
    ("followups", "housing_stable", 0, "maybe", "flag_not_binary", [1]),
    ("followups", "housing_stable", 3, "2", "flag_not_binary", [4]),
    ("followups", "status", 2, "lost", "unknown_status", [3]),
    ("followups", "status", 2, "", "missing_required_value", [3]),
    ("followups", "timepoint", 3, "9mo", "unknown_timepoint", [4]),
    ("followups", "uds_result", 0, "inconclusive", "unknown_uds_result", [1]),
    ("followups", "timepoint", 1, "intake", "duplicate_followup", [1, 2]),
    ("followups", "assessment_date", 2, "2024-04-10", "assessment_date_without_completion", [3]),
    ("followups", "assessment_date", 0, "April 1", "unparseable_date", [1]),
    ("use_days", "used", 2, "2", "used_not_binary", [3]),
    ("use_days", "used", 1, "", "missing_required_value", [2]),
    ("use_days", "source", 0, "collateral", "unknown_source", [1]),
    ("use_days", "patient_id", 3, "p9", "unknown_patient", [4]),
    ("use_days", "date", 0, "2024-13-01", "unparseable_date", [1]),
]


def spoiled_tables(table: str, column: str, index: int, value: str) -> dict[str, pd.DataFrame]:
    frames = {
        "episodes": episodes_frame(),
        "followups": followups_frame(),
        "use_days": use_days_frame(),
    }
    frame = frames[table].astype({column: object})
    frame.loc[index, column] = value
    frames[table] = frame
    return frames


@pytest.mark.parametrize("kind", ["DataFrame", "csv"])
@pytest.mark.parametrize(("table", "column", "index", "value", "reason", "rows"), REJECTION_CASES)
def test_each_rejection_reason(
    tmp_path: Path,
    kind: str,
    table: str,
    column: str,
    index: int,
    value: str,
    reason: str,
    rows: list[int],
) -> None:
    frames = spoiled_tables(table, column, index, value)
    if kind == "csv":
        sources: dict[str, Any] = {}
        for name, frame in frames.items():
            sources[name] = tmp_path / f"{name}.csv"
            frame.to_csv(sources[name], index=False)
    else:
        sources = frames
    recs = read_records(sources["episodes"], sources["followups"], sources["use_days"])
    rej = recs.rejected
    assert list(rej.columns) == list(schema.REJECTED_COLUMNS)
    mine = rej[rej["table"] == table]
    assert mine["reason"].tolist() == [reason] * len(rows)
    assert mine["row"].tolist() == rows
    assert reason in schema.REJECTION_REASONS
    assert set(mine["source"]) == {"DataFrame" if kind == "DataFrame" else f"{table}.csv"}
    if table != "episodes":
        assert (rej["table"] == table).all()  # nothing else was touched
    assert_balanced(recs)


def test_followups_of_rejected_episodes_are_unknown_episode() -> None:
    eps = episodes_frame()
    eps.loc[0, "discharge_date"] = "2023-06-01"  # e1 rejected
    recs = read_records(eps, followups_frame(), use_days_frame())
    fu = recs.rejected[recs.rejected["table"] == "followups"]
    assert fu[["row", "reason"]].values.tolist() == [[1, "unknown_episode"], [2, "unknown_episode"]]
    ud = recs.rejected[recs.rejected["table"] == "use_days"]
    assert ud["reason"].tolist() == ["unknown_patient", "unknown_patient"]
    assert_balanced(recs)


def test_one_rejection_per_row_first_reason_wins() -> None:
    fu = followups_frame()
    fu.loc[0, ["status", "days_used_past30", "assessment_date"]] = ["lost", "45", "2020-99-99"]
    recs = read_records(episodes_frame(), fu)
    assert recs.rejected[["row", "reason"]].values.tolist() == [[1, "unparseable_date"]]
    assert set(REJECTION_PRECEDENCE) == set(schema.REJECTION_REASONS)
    assert len(REJECTION_PRECEDENCE) == len(schema.REJECTION_REASONS)


def test_flag_not_binary_for_each_milestone_flag() -> None:
    # 0/1, true/false, t/f, yes/no, y/n in any case are flags; anything else is flag_not_binary,
    # numbers (2, 0.5) included, and never unparseable_number
    for column in ("housing_stable", "employed", "aftercare_attended"):
        fu = followups_frame()
        fu[column] = ["TRUE", "no", "2", "0.5"]
        recs = read_records(episodes_frame(), fu)
        rej = recs.rejected
        assert rej[["row", "column", "reason"]].values.tolist() == [
            [3, column, "flag_not_binary"],
            [4, column, "flag_not_binary"],
        ]
        assert recs.followups[column].tolist() == [True, False]
        numeric = followups_frame().assign(**{column: [1, 0, 2, np.nan]})
        rej = read_records(episodes_frame(), numeric).rejected
        assert rej[["row", "reason"]].values.tolist() == [[3, "flag_not_binary"]]
    # a flag problem is reported after a number problem of the same row (precedence)
    fu = followups_frame().assign(wellbeing=["x", "4", "", "2"], employed=["9", "1", "", "0"])
    rej = read_records(episodes_frame(), fu).rejected
    assert rej[["row", "column", "reason"]].values.tolist() == [
        [1, "wellbeing", "unparseable_number"]
    ]
    assert REJECTION_PRECEDENCE.index("flag_not_binary") > REJECTION_PRECEDENCE.index(
        "unparseable_number"
    )


@pytest.mark.parametrize("kind", ["DataFrame", "csv"])
def test_empty_discharge_and_assessment_dates_emit_no_warnings(tmp_path: Path, kind: str) -> None:
    # missing dates (NaT) flow through the day-number arithmetic without RuntimeWarnings
    eps = episodes_frame().assign(discharge_date=["", "", ""], discharge_reason=["", "", ""])
    fu = followups_frame().assign(assessment_date=["", "", "", ""])
    ud = use_days_frame().assign(date=["2024-01-02", "", "2024-01-11", "2024-02-03"])
    sources: list[Any] = [eps, fu, ud]
    if kind == "csv":
        sources = []
        for name, frame in (("episodes", eps), ("followups", fu), ("use_days", ud)):
            frame.to_csv(tmp_path / f"{name}.csv", index=False)
            sources.append(tmp_path / f"{name}.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        recs = read_records(*sources)
        recs.summary()
    assert recs.episodes["discharge_day"].isna().all()
    assert recs.followups["assessment_day"].isna().all()
    assert recs.rejected[["table", "row", "reason"]].values.tolist() == [
        ["use_days", 2, "missing_required_value"]
    ]


@pytest.mark.parametrize("n_items", [3, 6, 32, 40])
def test_duplicated_pairs_matches_pandas(n_items: int) -> None:
    # the per-pair count agrees with pandas.duplicated
    from iopoutcomes.records._matching import duplicated_pairs

    rng = np.random.default_rng(n_items)
    n_groups = 50
    for clean in (True, False):
        if clean:  # distinct pairs, and a few unknown codes
            pairs = rng.choice(n_groups * n_items, size=n_groups * n_items // 2, replace=False)
            group, item = pairs // n_items, pairs % n_items
        else:
            group = rng.integers(0, n_groups, 400)
            item = rng.integers(0, n_items, 400)
        group = np.where(rng.random(len(group)) < 0.05, -1, group)
        item = np.where(rng.random(len(item)) < 0.05, -1, item)
        frame = pd.DataFrame({"g": group, "i": item})
        known = (group >= 0) & (item >= 0)
        want = frame.duplicated(keep=False).to_numpy() & known
        got = duplicated_pairs(group, item, n_items)
        assert got.tolist() == want.tolist()
        assert want.any() != clean


def test_match_keys_partitioned_join_matches_pandas() -> None:
    # the cache-partitioned integer join gives pandas' get_indexer positions (-1 when absent)
    from iopoutcomes.records._matching import match_keys

    rng = np.random.default_rng(7)
    for n_table, n_probe in [(5, 20), (40_000, 100_000)]:
        table = np.unique(rng.integers(0, 2**62, n_table)).astype(np.uint64) * np.uint64(2)
        rng.shuffle(table)
        known = table[rng.integers(0, len(table), n_probe)]
        odd = rng.integers(0, 2**62, n_probe).astype(np.uint64) * np.uint64(2) + np.uint64(1)
        probe = np.where(rng.random(n_probe) < 0.8, known, odd)
        want = pd.Index(table).get_indexer(probe)
        assert match_keys(probe, table).tolist() == want.tolist()


@pytest.mark.parametrize(
    "ids",
    [
        ["e1", "e2", "e3"],  # short: matched as packed 8-byte keys
        ["episode-000000001", "episode-000000002", "episode-000000003"],  # long: as text
        ["é1", "e2", "ü3"],  # multi-byte characters: as text
        ["12345678", "1234567", "123456789"],  # 8 bytes exactly, and one longer
    ],
)
def test_followups_match_episode_ids_of_any_length(ids: list[str]) -> None:
    eps = episodes_frame().assign(episode_id=ids)
    fu = followups_frame().assign(episode_id=[f" {ids[0]}", ids[0], ids[1], ids[1] + "x"])
    recs = read_records(eps, fu)
    assert recs.rejected[["row", "reason"]].values.tolist() == [[4, "unknown_episode"]]
    assert recs.followups["episode_id"].tolist() == [ids[0], ids[0], ids[1]]
    assert recs.followups["assessment_day"].tolist() == [0, 91, pd.NA]
    dup = read_records(eps.assign(episode_id=[ids[0], ids[1], ids[0]])).rejected
    assert dup[["row", "reason"]].values.tolist() == [
        [1, "duplicate_episode_id"],
        [3, "duplicate_episode_id"],
    ]


def test_ids_mapped_to_trailing_spaces_stay_distinct() -> None:
    # codes= values are not trimmed: "e1 " and "e1" are different ids (no packed-key clash)
    eps = episodes_frame()
    recs = read_records(eps, codes={"episode_id": {"e3": "e1 "}})
    assert recs.rejected.empty
    assert recs.episodes["episode_id"].tolist() == ["e1", "e2", "e1 "]
    fu = followups_frame().assign(episode_id=["e1", "e1", "e2", "e3"])
    both = read_records(eps, fu, codes={"episode_id": {"e3": "e1 "}})
    assert both.rejected.empty
    assert both.followups["episode_id"].tolist() == ["e1", "e1", "e2", "e1 "]


def test_whitespace_and_missing_tokens() -> None:
    eps = episodes_frame().assign(cohort=["IOP", "   ", "IOP"])
    assert read_records(eps).rejected["row"].tolist() == [2]
    assert {"", "NA", "NULL"} <= set(MISSING_TOKENS)


def test_missing_tokens_in_csv(tmp_path: Path) -> None:
    path = tmp_path / "episodes.csv"
    episodes_frame().assign(discharge_date=["NA", "NULL", ""]).to_csv(path, index=False)
    recs = read_records(path)
    assert recs.rejected.empty
    assert recs.episodes["discharge_date"].isna().all()


def test_strict_raises_on_first_rejection() -> None:
    fu = followups_frame()
    fu.loc[2, "status"] = SECRET
    fu.loc[3, "status"] = "lost"
    with pytest.raises(iop.RowValidationError) as info:
        read_records(episodes_frame(), fu, strict=True)
    message = str(info.value)
    assert "followups" in message and "row 3" in message and "unknown_status" in message
    assert SECRET not in message
    assert read_records(episodes_frame(), followups_frame(), strict=True).rejected.empty


def test_rejections_never_show_values() -> None:
    eps = episodes_frame()
    eps.loc[0, "admission_date"] = SECRET
    eps.loc[1, "level_of_care"] = SECRET
    eps.loc[2, "patient_id"] = ""
    fu = followups_frame()
    fu.loc[0, "episode_id"] = SECRET
    fu.loc[1, "wellbeing"] = SECRET
    recs = read_records(eps, fu)
    assert len(recs.rejected) == 7  # every episode, so every follow-up too
    text = recs.rejected.to_csv() + repr(recs) + recs._repr_html_()
    assert SECRET not in text
    assert "p1" not in recs.rejected.to_csv()


# --- summary, display ------------------------------------------------------------------------


def test_summary_counts_and_display() -> None:
    eps = episodes_frame()
    eps.loc[1, "discharge_reason"] = "graduated"
    fu = followups_frame()
    fu.loc[0, "days_used_past30"] = "31"
    recs = read_records(eps, fu)
    summary = recs.summary()
    assert summary.values.tolist() == [
        ["episodes", "DataFrame", 3, 2, 1],
        ["followups", "DataFrame", 4, 2, 2],
    ]
    counts = recs.rejection_counts()
    assert counts.values.tolist() == [
        ["episodes", "unknown_discharge_reason", 1],
        ["followups", "days_used_out_of_range", 1],
        ["followups", "unknown_episode", 1],
    ]
    assert recs._header() == (
        "<Records: 2 tables, 3 episodes read, 2 accepted, 1 rejected; time basis calendar>"
    )
    text = repr(recs)
    assert text.startswith("<Records: 2 tables")
    assert "followups: 1 row rejected, unknown_episode" in text
    assert '<ol class="iopoutcomes-remarks">' in recs._repr_html_()
    pd.testing.assert_frame_equal(recs.to_frame(), summary)


def test_header_uses_thousands_separators() -> None:
    n = 1204
    eps = pd.DataFrame(
        {
            "patient_id": [f"p{i}" for i in range(n)],
            "episode_id": [f"e{i}" for i in range(n)],
            "cohort": "IOP",
            "admission_date": ["2024-01-01"] * (n - 17) + ["bad"] * 17,
        }
    )
    recs = read_records(eps)
    assert recs._header().startswith(
        "<Records: 1 table, 1,204 episodes read, 1,187 accepted, 17 rejected"
    )


# --- files -----------------------------------------------------------------------------------


def write_tables(folder: Path, fmt: str) -> dict[str, Path]:
    paths = {}
    for name, frame in (
        ("episodes", episodes_frame()),
        ("followups", followups_frame()),
        ("use_days", use_days_frame()),
    ):
        path = folder / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False)
        elif fmt == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_excel(path, index=False)
        paths[name] = path
    return paths


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_files_read_like_dataframes(tmp_path: Path, fmt: str) -> None:
    paths = write_tables(tmp_path, fmt)
    recs = read_records(paths["episodes"], str(paths["followups"]), paths["use_days"])
    reference = read_all()
    for table in ("episodes", "followups", "use_days"):
        got = getattr(recs, table)
        want = getattr(reference, table)
        canonical = list(canonical_dtypes(table))
        pd.testing.assert_frame_equal(got[canonical], want[canonical], check_dtype=True)
    assert recs.episodes["age"].tolist() == [30, 41, 52]
    assert recs.sources == {t: f"{t}.{fmt}" for t in ("episodes", "followups", "use_days")}
    for table, path in paths.items():
        assert recs.file_hashes[table] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_csv_ids_keep_leading_zeros(tmp_path: Path) -> None:
    path = tmp_path / "episodes.csv"
    episodes_frame().assign(patient_id=["007", "010", "100"]).to_csv(path, index=False)
    assert read_records(path).episodes["patient_id"].tolist() == ["007", "010", "100"]


def test_excel_native_dates(tmp_path: Path) -> None:
    path = tmp_path / "episodes.xlsx"
    eps = episodes_frame()
    eps["admission_date"] = pd.to_datetime(eps["admission_date"])
    eps.to_excel(path, index=False)
    recs = read_records(path)
    assert recs.rejected.empty
    assert recs.episodes["discharge_day"].tolist()[:2] == [45, 20]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(iop.FileReadError, match="does not exist") as info:
        read_records(tmp_path / "episodes.csv")
    assert isinstance(info.value, OSError)
    with pytest.raises(iop.FileReadError, match="folder"):
        read_records(tmp_path)


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "episodes.txt"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(iop.FileReadError, match=r"\.parquet"):
        read_records(path)


@pytest.mark.parametrize("content", [b"", b"patient_id,episode_id,cohort,admission_date\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "episodes.csv"
    path.write_bytes(content)
    with pytest.raises(iop.EmptyFileError) as info:
        read_records(path)
    assert isinstance(info.value, ValueError)
    assert "episodes.csv" in str(info.value)


def test_empty_dataframe() -> None:
    with pytest.raises(iop.EmptyFileError, match="no data rows"):
        read_records(episodes_frame().iloc[:0])


def test_missing_column_lists_found_and_mapping(tmp_path: Path) -> None:
    path = tmp_path / "episodes.csv"
    episodes_frame().rename(columns={"admission_date": "adm_date"}).to_csv(path, index=False)
    with pytest.raises(iop.MissingColumnError) as info:
        read_records(path)
    message = str(info.value)
    assert "admission_date" in message and "adm_date" in message and "columns={" in message
    assert "'adm_date': 'admission_date'" in message  # the closest source name is suggested
    assert "Found: ['patient_id', 'episode_id'" in message
    assert isinstance(info.value, ValueError)
    with pytest.raises(iop.MissingColumnError, match="status"):
        read_records(episodes_frame(), followups_frame().drop(columns="status"))


def test_wrong_encoding(tmp_path: Path) -> None:
    path = tmp_path / "episodes.csv"
    episodes_frame().assign(site=["Sé", "B", "A"]).to_csv(path, index=False, encoding="latin-1")
    with pytest.raises(iop.FileReadError, match="encoding=") as info:
        read_records(path)
    assert "utf-8" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    recs = read_records(path, encoding="latin-1")
    assert recs.episodes["site"].tolist() == ["Sé", "B", "A"]


def test_ragged_csv_message_has_no_row_content(tmp_path: Path) -> None:
    path = tmp_path / "episodes.csv"
    path.write_text(
        "patient_id,episode_id,cohort,admission_date\n"
        f"p1,e1,IOP,2024-01-01\n{SECRET},e2,IOP,2024-01-02,extra\n"
    )
    with pytest.raises(iop.FileReadError) as info:
        read_records(path)
    assert SECRET not in str(info.value)
    assert "Expected 4 columns, got 5" in str(info.value)
    assert info.value.__suppress_context__


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx"])
def test_corrupt_binary_files(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"episodes{suffix}"
    path.write_bytes(b"this is not a real file " * 10)
    with pytest.raises(iop.FileReadError, match="could not be read"):
        read_records(path)


# --- writing -------------------------------------------------------------------------------


def test_to_csv_round_trip_and_deterministic(tmp_path: Path) -> None:
    fu = followups_frame().assign(wellbeing=["0.1", "1e-7", "", "2.675"])
    recs = read_records(episodes_frame(), fu, use_days_frame())
    paths = recs.to_csv(tmp_path / "a")
    again = recs.to_csv(tmp_path / "b")
    for table in paths:
        data = paths[table].read_bytes()
        assert data == again[table].read_bytes()
        assert b"\r\n" not in data
    header = paths["episodes"].read_text().splitlines()[0].split(",")
    assert "discharge_day" not in header and "asam_code" in header
    assert paths["episodes"].read_text().splitlines()[1].startswith("p1,e1,IOP,2024-01-01,IOP")
    back = read_records(paths["episodes"], paths["followups"], paths["use_days"])
    for table in ("episodes", "followups", "use_days"):
        pd.testing.assert_frame_equal(getattr(back, table), getattr(recs, table))


def test_to_csv_keeps_study_days(tmp_path: Path) -> None:
    ud = pd.DataFrame({"episode_id": ["e1", "e2"], "day": [-2, 5], "used": [1, 0]})
    recs = read_records(episodes_frame(), use_days=ud)
    paths = recs.to_csv(tmp_path)
    assert "day" in paths["use_days"].read_text().splitlines()[0].split(",")
    back = read_records(paths["episodes"], use_days=paths["use_days"])
    pd.testing.assert_frame_equal(back.use_days, recs.use_days)


# --- property-based --------------------------------------------------------------------------

GOOD_DATES = ["2024-01-01", "2024-03-15", "2024-06-30"]
BAD_DATES = ["2024-02-30", "15/03/2024", "soon"]
IDS = ["e1", "e2", "e3", "e4", "e5"]

episode_rows = st.fixed_dictionaries(
    {
        "patient_id": st.sampled_from(["p1", "p2", "p3", ""]),
        "episode_id": st.sampled_from([*IDS, ""]),
        "cohort": st.sampled_from(["IOP", "inpatient", ""]),
        "admission_date": st.sampled_from(GOOD_DATES + BAD_DATES + [""]),
        "level_of_care": st.sampled_from(["IOP", "2.1", "3.7", "9", ""]),
        "discharge_date": st.sampled_from(GOOD_DATES + BAD_DATES[:1] + ["", "2023-01-01"]),
        "discharge_reason": st.sampled_from(["completed", "other", "graduated", ""]),
    }
)
followup_rows = st.fixed_dictionaries(
    {
        "episode_id": st.sampled_from([*IDS, "e9", ""]),
        "timepoint": st.sampled_from(["intake", "3mo", "6mo", "9mo", ""]),
        "status": st.sampled_from(["completed", "refused", "lost", ""]),
        "assessment_date": st.sampled_from(
            [*GOOD_DATES, "2030-01-01", "2024-02-30", "", "2023-01-01"]
        ),
        "days_used_past30": st.sampled_from(["0", "12", "30", "31", "-2", "2.5", "x", ""]),
        "uds_result": st.sampled_from(["negative", "positive", "unsure", ""]),
    }
)
use_day_rows = st.fixed_dictionaries(
    {
        "patient_id": st.sampled_from(["p1", "p2", "p3", "p7", ""]),
        "date": st.sampled_from([*GOOD_DATES, "2023-06-01", "bad", ""]),
        "used": st.sampled_from(["0", "1", "2", "yes", ""]),
        "source": st.sampled_from(["uds", "self_report", "diary", ""]),
    }
)


@settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    st.lists(episode_rows, min_size=1, max_size=12),
    st.lists(followup_rows, min_size=1, max_size=15),
    st.lists(use_day_rows, min_size=1, max_size=10),
)
def test_random_rows_are_accounted_for(
    eps_rows: list[dict[str, str]], fu_rows: list[dict[str, str]], ud_rows: list[dict[str, str]]
) -> None:
    eps, fu, ud = pd.DataFrame(eps_rows), pd.DataFrame(fu_rows), pd.DataFrame(ud_rows)
    recs = read_records(eps, fu, ud)
    rej = recs.rejected
    # every row is either accepted or rejected exactly once, with a known reason
    assert_balanced(recs)
    assert dict(recs.read_counts) == {
        "episodes": len(eps),
        "followups": len(fu),
        "use_days": len(ud),
    }
    assert set(rej["reason"]) <= set(schema.REJECTION_REASONS)
    assert rej["row"].between(1, max(len(eps), len(fu), len(ud))).all()
    # rows that are bad on their own are always rejected
    bad_eps = (
        eps["admission_date"].isin(BAD_DATES + [""])
        | eps["cohort"].eq("")
        | eps["episode_id"].eq("")
        | eps["level_of_care"].eq("9")
        | eps["discharge_reason"].eq("graduated")
    )
    rejected_eps = set(rej.loc[rej["table"] == "episodes", "row"])
    assert set(np.flatnonzero(bad_eps.to_numpy()) + 1) <= rejected_eps
    bad_fu = (
        fu["days_used_past30"].isin(["31", "-2", "2.5", "x"])
        | fu["status"].isin(["lost", ""])
        | fu["timepoint"].isin(["9mo", ""])
        | fu["episode_id"].isin(["e9", ""])
        | fu["uds_result"].eq("unsure")
        | fu["assessment_date"].eq("2024-02-30")
    )
    rejected_fu = set(rej.loc[rej["table"] == "followups", "row"])
    assert set(np.flatnonzero(bad_fu.to_numpy()) + 1) <= rejected_fu
    bad_ud = ud["used"].isin(["2", ""]) | ud["source"].eq("diary") | ud["date"].isin(["bad", ""])
    rejected_ud = set(rej.loc[rej["table"] == "use_days", "row"])
    assert set(np.flatnonzero(bad_ud.to_numpy()) + 1) <= rejected_ud
    # accepted rows satisfy every row rule
    ok = recs.episodes
    assert ok["episode_id"].is_unique
    assert not (ok["discharge_date"] < ok["admission_date"]).any()
    acc = recs.followups
    assert acc["days_used_past30"].dropna().between(0, 30).all()
    assert acc["episode_id"].isin(ok["episode_id"]).all()
    assert not acc.duplicated(["episode_id", "timepoint"]).any()
    assert (acc["assessment_day"].dropna() >= 0).all()
    assert acc.loc[acc["status"] != "completed", "assessment_date"].isna().all()
    assert recs.use_days["episode_id"].isin(ok["episode_id"]).all()
    assert (recs.use_days["day"] >= 0).all()  # patient rows are never before their admission


@settings(max_examples=40, deadline=None, database=None)
@given(st.lists(st.text(max_size=6), min_size=1, max_size=8))
def test_arbitrary_text_in_every_column_is_rejected_or_accepted(values: list[str]) -> None:
    n = len(values)
    eps = pd.DataFrame(
        {c: values for c in ("patient_id", "episode_id", "cohort", "admission_date")}
    )
    eps["discharge_date"] = values
    eps["level_of_care"] = values
    recs = read_records(eps)
    assert_balanced(recs)
    assert recs.read_counts["episodes"] == n
    assert SECRET not in recs.rejected.to_csv()


def test_docs_precedence_table_matches_code() -> None:
    docs = Path(__file__).resolve().parents[1] / "docs" / "format.md"
    if not docs.exists():
        pytest.skip("docs/format.md is not in this checkout")
    rows = [line.split("|") for line in docs.read_text(encoding="utf-8").splitlines()]
    listed = [r[2].strip().strip("`") for r in rows if len(r) > 3 and r[1].strip().isdigit()]
    assert listed == list(REJECTION_PRECEDENCE)


def test_codes_to_none_make_values_missing() -> None:
    eps = episodes_frame().assign(site=["A", "unknown", "B"])
    recs = read_records(eps, codes={"site": {"unknown": None}})
    assert recs.episodes["site"].tolist() == ["A", pd.NA, "B"]


# --- lazy file hashes and the packed-id fast path --------------------------------------------


def test_file_hashes_are_of_the_bytes_read(tmp_path: Path) -> None:
    # each file is hashed from the bytes read_records parsed (one read of the file)
    paths = write_tables(tmp_path, "csv")
    recs = read_records(paths["episodes"], paths["followups"])
    want = {t: hashlib.sha256(paths[t].read_bytes()).hexdigest() for t in recs.file_hashes}
    assert list(recs.file_hashes) == ["episodes", "followups"]
    assert dict(recs.file_hashes) == want
    with pytest.raises(KeyError):
        recs.file_hashes["use_days"]


def test_a_file_replaced_after_reading_never_breaks_a_later_analysis(tmp_path: Path) -> None:
    # issue 12: an export overwritten (or removed) after read_records keeps the hash of what
    # was read, and episode_outcomes (which stamps the hashes) still runs
    paths = write_tables(tmp_path, "csv")
    before = {t: hashlib.sha256(paths[t].read_bytes()).hexdigest() for t in paths}
    recs = read_records(paths["episodes"], paths["followups"], paths["use_days"])
    with paths["episodes"].open("a") as handle:
        handle.write("p9,e9,IOP,2024-03-01,IOP,,,,,\n")
    paths["followups"].unlink()
    outcomes = iop.episode_outcomes(recs)
    assert dict(recs.file_hashes) == before
    assert outcomes.records_summary["file_hashes"] == before


def test_file_hashes_pickle_and_carry_through_replace(tmp_path: Path) -> None:
    import dataclasses
    import pickle

    paths = write_tables(tmp_path, "parquet")
    recs = read_records(paths["episodes"])
    back = pickle.loads(pickle.dumps(recs.file_hashes))
    want = hashlib.sha256(paths["episodes"].read_bytes()).hexdigest()
    assert back["episodes"] == want
    assert dataclasses.replace(recs, provenance="x").file_hashes["episodes"] == want


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(st.none(), st.text(alphabet=st.sampled_from("ab9 é-"), max_size=10)),
        min_size=1,
        max_size=30,
    ),
    st.lists(st.text(alphabet=st.sampled_from("ab9 é-"), max_size=10), max_size=30, unique=True),
)
def test_episode_position_agrees_with_a_pandas_lookup(
    probe: list[str | None], table: list[str]
) -> None:
    # packed 8-byte keys (short ASCII ids) or text (longer, multi-byte, trailing spaces): the
    # position of each id among distinct episode ids, as pandas' Index.get_indexer gives it
    import pyarrow as pa

    from iopoutcomes.records._matching import episode_position, id_keys, match_keys

    probe_arr, table_arr = pa.array(probe, pa.large_string()), pa.array(table, pa.large_string())
    got = episode_position(probe_arr, table_arr)
    want = pd.Index(table, dtype=object).get_indexer(pd.Index(probe, dtype=object))
    want = np.where(pd.isna(pd.Series(probe, dtype=object)).to_numpy(), -1, want)
    assert got.tolist() == want.tolist()
    # the packed-key path large tables take, whenever every id packs
    probe_keys, table_keys = id_keys(probe_arr), id_keys(table_arr)
    if probe_keys is not None and table_keys is not None:
        packed = match_keys(probe_keys, table_keys)
        packed[pd.isna(pd.Series(probe, dtype=object)).to_numpy()] = -1
        assert packed.tolist() == want.tolist()


def test_absent_columns_share_data_but_not_writes() -> None:
    # all-missing canonical columns of one kind share one array until one is written to
    from iopoutcomes.records._tables import COPY_ON_WRITE

    recs = read_records(episodes_frame(), followups_frame())
    # a shallow copy is independent only under pandas 3's copy-on-write; on pandas 2 writing
    # to it writes to the original by pandas' own rules, so the copy there is a deep one (what
    # is tested in both: a write to one column never reaches another)
    fu = recs.followups.copy(deep=not COPY_ON_WRITE)
    fu.loc[0, "relationships"] = 2.5
    fu.loc[1, "employed"] = True
    fu.loc[2, "days_alcohol_past30"] = 3
    for name in ("relationships", "coping", "employed", "aftercare_attended"):
        assert recs.followups[name].isna().all()
    for name in ("days_alcohol_past30", "days_drugs_past30"):
        assert recs.followups[name].isna().all()
    assert fu["coping"].isna().all() and fu["aftercare_attended"].isna().all()
    assert fu["days_drugs_past30"].isna().all()
    assert fu["relationships"].iloc[0] == 2.5 and fu["relationships"].iloc[1:].isna().all()
    assert fu["employed"].iloc[1] and fu["employed"].drop(index=1).isna().all()
    recs.followups.loc[3, "coping"] = 1.0  # in place, on the returned frame itself
    assert recs.followups["relationships"].isna().all()
    assert recs.followups["coping"].tolist()[3] == 1.0


def test_errors_surface_in_table_order(tmp_path: Path) -> None:
    # every file is read before any table is validated: file problems come first, then the
    # episodes' own, then the follow-ups'
    eps = pd.DataFrame({"patient_id": ["p1"], "episode_id": ["e1"], "cohort": ["IOP"]})
    with pytest.raises(iop.FileReadError, match="followups"):
        iop.read_records(eps, tmp_path / "missing.csv")  # file problems come first
    fu = pd.DataFrame({"episode_id": ["e1"]})
    with pytest.raises(iop.MissingColumnError, match="episodes"):
        iop.read_records(eps, fu)  # then the episodes' problems
    bad_date = eps.assign(admission_date=["2024-13-01"])
    with pytest.raises(iop.RowValidationError, match="episodes"):
        iop.read_records(bad_date, fu, strict=True)
    with pytest.raises(iop.MissingColumnError, match="followups"):
        iop.read_records(bad_date, fu)  # then the follow-ups'


# --- large tables: the partitioned id match run beside the typing of the other columns ---------


def _large_tables(seed: int, prefix: str = "e") -> tuple[pd.DataFrame, pd.DataFrame]:
    """20,000 episodes (enough for several match partitions) and 60,000 follow-ups with
    missing, unknown and duplicated ids, duplicate pairs, early assessments and bad counts."""
    rng = np.random.default_rng(seed)
    n_eps, n_fu = 20_000, 60_000
    ids = np.array([f"{prefix}{i}" for i in range(n_eps)], dtype=object)
    ids[1:100:7] = ids[0:99:7]  # 15 ids used twice: every row sharing one is rejected
    admission = np.datetime64("2022-01-01") + rng.integers(0, 700, n_eps).astype("timedelta64[D]")
    eps = pd.DataFrame(
        {
            "patient_id": [f"p{i}" for i in range(n_eps)],
            "episode_id": ids,
            "cohort": np.where(rng.random(n_eps) < 0.5, "IOP", "inpatient"),
            "admission_date": admission.astype(str),
        }
    )
    which = rng.integers(0, n_eps + 200, n_fu)  # beyond n_eps: ids of no episode
    fu_ids = np.array([f"{prefix}{i}" for i in which], dtype=object)
    fu_ids[rng.random(n_fu) < 0.01] = None
    offset = rng.integers(-5, 400, n_fu).astype("timedelta64[D]")
    adm_of = admission[np.minimum(which, n_eps - 1)]
    days = rng.integers(0, 31, n_fu)
    days[rng.random(n_fu) < 0.005] = 31
    days[rng.random(n_fu) < 0.005] = -1
    fu = pd.DataFrame(
        {
            "episode_id": fu_ids,
            "timepoint": rng.choice(["intake", "discharge", "3mo", "6mo", "12mo"], n_fu),
            "status": "completed",
            "assessment_date": (adm_of + offset).astype(str),
            "days_used_past30": days,
        }
    )
    return eps, fu


def _expected_followup_rejections(eps: pd.DataFrame, fu: pd.DataFrame) -> pd.Series:
    """First reason per follow-up row, computed with plain pandas (independent of the reader)."""
    accepted = eps[~eps["episode_id"].duplicated(keep=False)]
    admission = dict(
        zip(accepted["episode_id"], pd.to_datetime(accepted["admission_date"]), strict=True)
    )
    reason = pd.Series("", index=fu.index, dtype=object)

    def first(mask: pd.Series, why: str) -> None:
        reason[mask & (reason == "")] = why

    first(fu["episode_id"].isna(), "missing_required_value")
    first((fu["days_used_past30"] < 0) | (fu["days_used_past30"] > 30), "days_used_out_of_range")
    known = fu["episode_id"].isin(admission)
    first(fu["episode_id"].notna() & ~known, "unknown_episode")
    first(
        known & fu[known].duplicated(["episode_id", "timepoint"], keep=False), "duplicate_followup"
    )
    days = (pd.to_datetime(fu["assessment_date"]) - fu["episode_id"].map(admission)).dt.days
    first(known & (days < 0), "assessment_before_admission")
    return reason


@pytest.mark.parametrize(
    ("source", "prefix"),
    [("frames", "e"), ("csv", "e"), ("frames", "episode-number-")],  # the last: text ids
)
def test_large_tables_match_an_independent_pandas_join(
    tmp_path: Path, source: str, prefix: str
) -> None:
    from iopoutcomes.records._matching import n_parts

    eps, fu = _large_tables(seed=11, prefix=prefix)
    assert n_parts(len(eps)) > 1  # the partitioned match
    if source == "csv":
        eps.to_csv(tmp_path / "episodes.csv", index=False)
        fu.to_csv(tmp_path / "followups.csv", index=False)
        recs = read_records(tmp_path / "episodes.csv", tmp_path / "followups.csv")
    else:
        recs = read_records(eps, fu)
    assert_balanced(recs)
    want = _expected_followup_rejections(eps, fu)
    got = recs.rejected[recs.rejected["table"] == "followups"]
    assert dict(zip(got["row"] - 1, got["reason"], strict=True)) == want[want != ""].to_dict()
    assert set(got["reason"]) == set(want[want != ""])  # every kind occurs
    kept = fu[(want == "").to_numpy()].reset_index(drop=True)
    admitted = dict(
        zip(eps["episode_id"], eps["admission_date"], strict=True)
    )  # kept ids are unique
    days = (
        pd.to_datetime(kept["assessment_date"]) - pd.to_datetime(kept["episode_id"].map(admitted))
    ).dt.days
    assert recs.followups["assessment_day"].tolist() == days.tolist()
    assert recs.followups["episode_id"].tolist() == kept["episode_id"].tolist()
    assert recs.followups["days_used_past30"].dtype == "Int64"
    assert recs.followups["days_used_past30"].tolist() == kept["days_used_past30"].tolist()


def test_large_tables_with_episode_errors_raise_the_episodes_error() -> None:
    eps, fu = _large_tables(seed=3)
    with pytest.raises(iop.MissingColumnError, match="episodes"):
        read_records(eps.drop(columns="cohort"), fu)
    with pytest.raises(iop.RowValidationError, match="episodes"):
        read_records(eps, fu, strict=True)  # the duplicated episode ids


def test_an_error_while_typing_columns_on_the_thread_pool_is_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # large tables type their columns through a thread pool's map: errors come through it
    from iopoutcomes.records import _tables

    def broken(*args: Any, **kwargs: Any) -> None:
        raise MemoryError("no room to type a column")

    monkeypatch.setattr(_tables, "type_column", broken)
    monkeypatch.setattr(_tables, "_PARALLEL_ROWS", 0)  # the pool even for these tables
    eps, fu = _large_tables(seed=5)
    with pytest.raises(MemoryError, match="type a column"):
        read_records(eps.drop_duplicates("episode_id"), fu)


def test_whole_number_columns_from_csv_are_checked_without_a_float_round_trip(
    tmp_path: Path,
) -> None:
    fu = followups_frame()
    fu["days_used_past30"] = ["31", "0", "", "-2"]
    fu.to_csv(tmp_path / "f.csv", index=False)
    recs = read_records(episodes_frame(), tmp_path / "f.csv")
    assert recs.rejected[["row", "reason"]].values.tolist() == [
        [1, "days_used_out_of_range"],
        [4, "days_used_out_of_range"],
    ]
    assert recs.followups["days_used_past30"].dtype == "Int64"
    assert recs.followups["days_used_past30"].tolist() == [0, pd.NA]
    fu["days_used_past30"] = ["2.5", "0", "", "3.0"]  # read as floats: the general path
    fu.to_csv(tmp_path / "g.csv", index=False)
    recs = read_records(episodes_frame(), tmp_path / "g.csv")
    assert recs.rejected[["row", "reason"]].values.tolist() == [[1, "days_used_not_integer"]]
    assert recs.followups["days_used_past30"].tolist() == [0, pd.NA, 3]


def test_many_declared_timepoints_keep_exact_codes() -> None:
    # more labels than a one-byte code holds: duplicates are still found on the right pairs
    labels = [f"w{k}" for k in range(200)]
    fu = followups_frame().assign(timepoint=["w150", "w150", "w199", "w3"])
    recs = read_records(episodes_frame(), fu, timepoints=labels)
    assert recs.rejected[["row", "reason"]].values.tolist() == [
        [1, "duplicate_followup"],
        [2, "duplicate_followup"],
    ]
    assert recs.followups["timepoint"].tolist() == ["w199", "w3"]


def test_status_spelling_variants_still_decide_completion() -> None:
    fu = followups_frame()
    fu["status"] = ["COMPLETED", "Not_Located", "not_located", "completed"]
    recs = read_records(episodes_frame(), fu)
    assert recs.rejected[["row", "reason"]].values.tolist() == [
        [2, "assessment_date_without_completion"]
    ]
    assert recs.followups["status"].tolist() == ["completed", "not_located", "completed"]


def test_asam_code_column_alone_and_beside_levels() -> None:
    eps = episodes_frame().drop(columns="level_of_care").assign(asam_code=["2.1", "3.7", "9.9"])
    recs = read_records(eps)
    assert recs.rejected[["row", "column", "reason"]].values.tolist() == [
        [3, "asam_code", "unknown_level_of_care"]
    ]
    assert recs.episodes["level_of_care"].tolist() == ["IOP", "inpatient"]
    assert recs.episodes["asam_edition"].tolist() == ["ASAM3", "ASAM3"]
    # codes given beside levels are kept where the level is a name; edition given is kept too
    eps = episodes_frame().assign(
        level_of_care=["IOP", "3.7", "inpatient"],
        asam_code=["2.1", None, "4"],
        asam_edition=["ASAM4", None, None],
    )
    out = read_records(eps).episodes
    assert out["level_of_care"].tolist() == ["IOP", "inpatient", "inpatient"]
    assert out["asam_code"].tolist() == ["2.1", "3.7", "4"]
    assert out["asam_edition"].tolist() == ["ASAM4", "ASAM3", pd.NA]


def test_latest_date_ignores_missing_dates() -> None:
    eps = episodes_frame().assign(discharge_date=["", "", ""])
    fu = followups_frame().assign(assessment_date=["", "", "", ""], status="not_located")
    recs = read_records(eps, fu)
    assert recs.data_as_of == pd.Timestamp("2024-02-01")  # the latest admission


@pytest.mark.parametrize(
    ("labels", "expected_rejected", "expected_kept"),
    [
        # exactly as declared: one probing pass gives the codes
        (
            ["intake", "", "3mo", "intake"],
            [[2, "missing_required_value"]],
            ["intake", "3mo", "intake"],
        ),
        # spelling variants: the general path trims and matches case-insensitively
        (["INTAKE", " 3mo", "3Mo", "w9"], [[4, "unknown_timepoint"]], ["intake", "3mo", "3mo"]),
    ],
)
def test_csv_timepoints_exact_and_variant_spellings(
    tmp_path: Path, labels: list[str], expected_rejected: list[list[Any]], expected_kept: list[str]
) -> None:
    fu = followups_frame().assign(timepoint=labels)
    fu.to_csv(tmp_path / "f.csv", index=False)
    raw = read_records(episodes_frame(), tmp_path / "f.csv")
    assert raw.rejected[["row", "reason"]].values.tolist() == expected_rejected
    assert raw.followups["timepoint"].tolist() == expected_kept
    assert raw.followups["timepoint"].dtype == "string"
    # the same rows as a DataFrame give the same result
    same = read_records(episodes_frame(), fu)
    assert same.rejected[["row", "reason"]].values.tolist() == expected_rejected


@pytest.mark.parametrize("values", [[None, None, None], ["", " ", ""], ["2.1", None, " "]])
def test_level_of_care_missing_or_blank_stays_missing(values: list[Any]) -> None:
    recs = read_records(episodes_frame().assign(level_of_care=values))
    assert recs.rejected.empty
    out = recs.episodes[["level_of_care", "asam_code", "asam_edition"]]
    expected = [[pd.NA] * 3] * 3
    if values[0] == "2.1":
        expected = [["IOP", "2.1", "ASAM3"], [pd.NA] * 3, [pd.NA] * 3]
    assert out.astype(object).where(out.notna(), pd.NA).values.tolist() == expected


# --- bad inputs (issue 12, section 3) ---------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["0001-01-01", "2262-04-12", "9999-12-31", "1899-12-31", "1677-09-21"]
)
@pytest.mark.parametrize("source", ["frame", "csv", "parquet", "typed"])
def test_dates_outside_the_plausible_range_are_rejected_never_wrapped(
    tmp_path: Path, value: str, source: str
) -> None:
    # before the fix 0001-01-01 came back as 1754-08-30 and 2262-04-12 as 1677-09-21
    eps = episodes_frame()
    eps.loc[1, "admission_date"] = value
    eps.loc[1, "discharge_date"] = ""
    given: Any = eps
    if source == "csv":
        eps.to_csv(tmp_path / "e.csv", index=False)
        given = tmp_path / "e.csv"
    elif source == "parquet":
        eps.to_parquet(tmp_path / "e.parquet", index=False)
        given = tmp_path / "e.parquet"
    elif source == "typed":  # datetime64 in a unit that holds any year (pandas >= 2)
        eps["admission_date"] = np.array(eps["admission_date"].tolist(), dtype="datetime64[s]")
        given = eps
    recs = read_records(given, data_as_of="2024-06-30")
    assert recs.rejected[["row", "column", "reason"]].values.tolist() == [
        [2, "admission_date", "date_out_of_range"]
    ]
    assert "expected 1900-01-01 to 2025-06-30" in recs.rejected["message"].iloc[0]
    assert value not in recs.rejected.to_csv()
    assert recs.episodes["admission_date"].min() >= pd.Timestamp("2024-01-01")
    assert_balanced(recs)


def test_date_range_is_configurable_and_defaults_to_a_year_after_data_as_of() -> None:
    eps = episodes_frame().assign(admission_date=["1900-01-01", "2025-06-30", "2025-07-01"])
    eps["discharge_date"] = ""
    recs = read_records(eps, data_as_of="2024-06-30")
    assert recs.rejected[["row", "reason"]].values.tolist() == [[3, "date_out_of_range"]]
    narrow = read_records(eps, data_as_of="2024-06-30", date_range=("1990-01-01", None))
    assert narrow.rejected["row"].tolist() == [1, 3]
    wide = read_records(eps, date_range=(None, "2030-12-31"))
    assert wide.rejected.empty
    for bad in ("1990-01-01", ("x", None), ("2025-01-01", "2024-01-01")):
        with pytest.raises(iop.ParameterError, match="date_range="):
            read_records(eps, date_range=bad)  # type: ignore[arg-type]


def test_date_range_without_data_as_of_ends_a_year_after_today() -> None:
    eps = episodes_frame()
    next_year = pd.Timestamp.now(tz="UTC").tz_localize(None) + pd.DateOffset(years=1, days=2)
    eps.loc[0, "admission_date"] = f"{next_year:%Y-%m-%d}"
    eps.loc[0, "discharge_date"] = ""
    recs = read_records(eps)
    assert recs.rejected[["row", "reason"]].values.tolist() == [[1, "date_out_of_range"]]


def test_file_without_header_never_shows_values(tmp_path: Path) -> None:
    path = tmp_path / "episodes.csv"
    eps = episodes_frame().assign(patient_id=[SECRET, "p2", "p3"])
    eps.to_csv(path, index=False, header=False)
    with pytest.raises(iop.MissingColumnError) as info:
        read_records(path)
    message = str(info.value)
    assert SECRET not in message and "2024-01-01" not in message
    assert "first row looks like data" in message
    one_row = tmp_path / "one.csv"
    eps.iloc[:1].to_csv(one_row, index=False, header=False)
    with pytest.raises(iop.EmptyFileError) as info:
        read_records(one_row)
    assert SECRET not in str(info.value) and "looks like data" in str(info.value)
    # a real header is still listed
    eps.drop(columns="cohort").to_csv(path, index=False)
    with pytest.raises(iop.MissingColumnError, match=r"Found: \['patient_id'"):
        read_records(path)


@pytest.mark.parametrize("source", ["frame", "csv", "parquet"])
def test_infinite_numbers_are_rejected_in_every_numeric_column(tmp_path: Path, source: str) -> None:
    eps = episodes_frame().assign(severity=[0.5, np.inf, 1.0])
    fu = followups_frame().assign(wellbeing=["3.5", "4", "", "-inf"])
    fu["days_used_past30"] = ["20", "0", "", "15"]
    given: list[Any] = [eps, fu]
    if source != "frame":
        fu = fu.assign(wellbeing=[3.5, 4.0, np.nan, -np.inf])
        for k, (name, frame) in enumerate((("e", eps), ("f", fu))):
            path = tmp_path / f"{name}.{source}"
            if source == "csv":
                frame.to_csv(path, index=False)
            else:
                frame.to_parquet(path, index=False)
            given[k] = path
    recs = read_records(*given)
    got = recs.rejected[["table", "row", "column", "reason"]].values.tolist()
    assert got == [
        ["episodes", 2, "severity", "unparseable_number"],
        ["followups", 3, "episode_id", "unknown_episode"],
        ["followups", 4, "wellbeing", "unparseable_number"],
    ]
    assert "not a finite number" in recs.rejected["message"].iloc[0]
    assert np.isfinite(recs.episodes["severity"]).all()
    assert np.isfinite(recs.followups["wellbeing"].dropna()).all()


def test_control_characters_in_text_are_rejected() -> None:
    eps = episodes_frame().assign(site=["A", "B\x07", "A"], note=["ok", "fine", "x\x1by"])
    eps.loc[0, "cohort"] = "IOP\x00"
    recs = read_records(eps)
    assert recs.rejected[["row", "column", "reason"]].values.tolist() == [
        [1, "cohort", "control_character"],
        [2, "site", "control_character"],
        [3, "note", "control_character"],
    ]
    clean = read_records(episodes_frame().assign(site=["A\tB", "line\nbreak", "C"]))
    assert clean.rejected.empty  # tab, line feed and carriage return are text


def test_excel_formulas_without_values_and_merged_cells_are_rejected(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    eps = episodes_frame()
    sheet.append(list(eps.columns))
    for row in eps.itertuples(index=False):
        sheet.append(list(row))
    sheet["I2"] = "=20+10"  # age of row 1: a formula never calculated (no saved value)
    sheet.merge_cells("H3:H4")  # discharge_reason of rows 2-3: row 3's cell is emptied
    path = tmp_path / "episodes.xlsx"
    book.save(path)
    recs = read_records(path)
    assert recs.rejected[["row", "column", "reason"]].values.tolist() == [
        [1, "age", "formula_without_value"],
        [3, "discharge_reason", "merged_cell"],
    ]
    assert_balanced(recs)
    # a workbook without formulas or merged cells is read as before
    plain = tmp_path / "plain.xlsx"
    eps.to_excel(plain, index=False)
    assert read_records(plain).rejected.empty
