"""Tests of the TEDS-D reader: every year layout, decoding, codebook marginals, engines, LOS.

Fixtures are written in the tests from the codebook codes (SAMHSA TEDS-D codebooks; see
``src/iopoutcomes/_teds_codes.py`` for provenance). Expected values are hand-derived from the
codebook definitions written next to each assertion.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import iopoutcomes as iop
from iopoutcomes import _teds_codes as codes
from iopoutcomes import teds
from iopoutcomes._counts import group_counts

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

# --- fixtures --------------------------------------------------------------------------------

# 2017-2022 layout: one row per discharge setting 1..8 plus edge cases.
# columns: CASEID DISYR SERVICES SERVICES_D METHUSE REASON LOS FREQ1 FREQ1_D SUB1 EMPLOY EMPLOY_D
#          LIVARAG LIVARAG_D SELF SELF_D AGE GENDER RACE ETHNIC STFIPS CBSA2010
HEADER_2017 = (
    "CASEID,DISYR,SERVICES,SERVICES_D,METHUSE,REASON,LOS,FREQ1,FREQ1_D,SUB1,EMPLOY,EMPLOY_D,"
    "LIVARAG,LIVARAG_D,FREQ_ATND_SELF_HELP,FREQ_ATND_SELF_HELP_D,AGE,GENDER,RACE,ETHNIC,STFIPS,"
    "CBSA2010"
)
ROWS_2017 = [
    # id    yr  sv sd me rs los f1 fd sb em ed la ld sh sd ag ge ra et st cbsa
    (20190000101, 2019, 1, 1, 2, 1, 3, 3, 1, 2, 3, 3, 1, 1, 1, 1, 5, 1, 5, 4, 6, 1),
    (20190000102, 2019, 2, 2, 2, 2, 1, 3, 3, 5, 4, 4, 1, 2, 1, 2, 6, 2, 4, 4, 36, 1),
    (20190000103, 2019, 3, 3, -9, 4, 20, 2, 1, 4, 3, 1, 2, 3, 2, 4, 3, 1, 6, 1, 72, 1),
    (20190000104, 2019, 4, 4, 2, 3, 28, 3, 2, 10, 1, 1, 3, 3, 5, 5, 12, 2, 9, 2, 48, 1),
    (20190000105, 2019, 5, 5, 1, 1, 33, 2, -9, 7, -9, 2, 3, -9, -9, 1, 11, -9, 8, 3, 25, 1),
    (20190000106, 2019, 6, 6, 2, 1, 31, 3, 1, 2, 3, 2, 2, 3, 1, 3, 1, 1, 7, 5, 42, 1),
    (20190000107, 2019, 6, 6, 1, 2, 8, 1, 2, 5, 1, 3, 3, 1, 3, 1, 4, 2, 3, -9, 1, 1),
    (20190000108, 2019, 7, 7, 2, 5, 37, -9, 3, 13, 2, -9, 2, 2, 4, -9, 10, 1, 1, 4, 56, 1),
    (20190000109, 2019, 8, 8, 2, 7, 2, 3, 2, 19, 4, 4, 1, 1, 1, 1, 2, 1, 2, 4, 11, 1),
    (20190000110, 2019, 6, 6, 2, 6, 36, 3, 3, 1, 3, 3, 3, 3, 1, 1, 9, 2, 5, 4, 6, 1),
]


def _csv(path: Path, header: str, rows: list[tuple], encoding: str = "utf-8") -> Path:
    lines = [header] + [",".join(str(v) for v in r) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


@pytest.fixture
def file_2017(tmp_path: Path) -> Path:
    return _csv(tmp_path / "tedsd_2019.csv", HEADER_2017, ROWS_2017)


def _col(rows: list[tuple], name: str, header: str = HEADER_2017) -> list:
    i = header.split(",").index(name)
    return [r[i] for r in rows]


# --- the 2017-2022 layout --------------------------------------------------------------------


def test_read_2017_layout_cohorts_and_outcomes(file_2017: Path) -> None:
    rec = teds.read_teds_d(file_2017)
    ep = rec.episodes
    assert rec.provenance == "teds_d" and rec.time_basis == "study_day"
    assert len(ep) == 10 and rec.read_counts["episodes"] == 10 and rec.rejected.empty
    assert any("discharges, not people" in r for r in rec.remarks)
    # ids: CASEID as text, episode = patient
    assert ep["episode_id"].tolist() == [str(r[0]) for r in ROWS_2017]
    assert (ep["patient_id"] == ep["episode_id"]).all()
    # SERVICES_D 1..8 -> cohort / level of care (issue 8)
    assert ep["cohort"].astype(str).tolist() == [
        "detox", "detox", "residential_hospital", "residential_short", "residential_long",
        "IOP", "IOP", "OP", "detox", "IOP",
    ]  # fmt: skip
    assert ep["level_of_care"].astype(str).tolist()[2:8] == ["residential"] * 3 + ["IOP"] * 2 + [
        "OP"
    ]
    # REASON 1 completed; 1 or 4 completed_or_transferred; 2 dropout
    reason = _col(ROWS_2017, "REASON")
    assert ep["completed"].tolist() == [r == 1 for r in reason]
    assert ep["completed_or_transferred"].tolist() == [r in (1, 4) for r in reason]
    assert ep["dropout"].tolist() == [r == 2 for r in reason]
    assert ep["discharge_reason"].astype(str).tolist()[:4] == [
        "completed",
        "dropped_out",
        "transferred",
        "terminated",
    ]
    # FREQ1_D: 1 -> True, 2/3 -> False, -9 -> NA
    fd = _col(ROWS_2017, "FREQ1_D")
    expected = [pd.NA if v == -9 else v == 1 for v in fd]
    assert ep["abstinent_discharge"].tolist() == expected
    assert ep["abstinent_admission"].isna().sum() == 1  # one FREQ1 = -9
    # change from admission: (discharge - admission) on none 0 / some 1 / daily 2
    f1 = _col(ROWS_2017, "FREQ1")
    exp_change = [pd.NA if -9 in (a, d) else (d - 1) - (a - 1) for a, d in zip(f1, fd, strict=True)]
    assert ep["use_frequency_change"].tolist() == exp_change
    assert ep["use_reduced"].tolist() == [pd.NA if c is pd.NA else c < 0 for c in exp_change]
    # employment: 1,2 employed; change -1/0/+1
    em, ed = _col(ROWS_2017, "EMPLOY"), _col(ROWS_2017, "EMPLOY_D")
    emp = [
        pd.NA if -9 in (a, d) else int(d in (1, 2)) - int(a in (1, 2))
        for a, d in zip(em, ed, strict=True)
    ]
    assert ep["employment_change"].tolist() == emp
    # living: homeless 0 < dependent 1 < independent 2
    la, ld = _col(ROWS_2017, "LIVARAG"), _col(ROWS_2017, "LIVARAG_D")
    liv = [pd.NA if -9 in (a, d) else d - a for a, d in zip(la, ld, strict=True)]
    assert ep["living_change"].tolist() == liv
    assert ep["homeless_discharge"].tolist()[:2] == [True, False]
    # self-help: any attendance = codes 2..5
    assert ep["selfhelp_discharge"].tolist()[:5] == [False, True, True, True, False]
    assert ep["selfhelp_started"].tolist()[:5] == [False, True, False, False, pd.NA]
    # LOS ordinal: code, band label and day range
    assert ep["los_code"].tolist()[:6] == [3, 1, 20, 28, 33, 31]
    assert ep["los_band"].astype(str).tolist()[4:6] == ["61 to 90 days", "31 to 45 days"]
    assert ep["los_days_low"].tolist()[4] == 61 and ep["los_days_high"].tolist()[4] == 90
    assert ep["los_days_high"].isna().tolist()[7]  # 37 = more than a year: open-ended
    assert ep["discharge_day"].isna().all() and ep["admission_date"].isna().all()
    # covariates
    assert ep["discharge_year"].tolist() == [2019] * 10
    assert ep.loc[2, "state"] == "Puerto Rico" and ep.loc[0, "state"] == "California"
    assert ep.loc[3, "age_group"] == "65 years and older"
    assert ep.loc[4, "sex"] is pd.NA or pd.isna(ep.loc[4, "sex"])
    assert ep.loc[3, "race"] == "Native Hawaiian or other Pacific Islander"
    assert ep.loc[3, "primary_substance"] == "Methamphetamine/speed"
    assert ep["medication_assisted"].tolist()[2:5] == [pd.NA, False, True]
    assert ep.loc[0, "setting"] == "Detox, 24-hour, hospital inpatient"
    # compact dtypes
    assert ep["cohort"].dtype == "category" and str(ep["los_code"].dtype) == "Int8"
    assert str(ep["completed"].dtype) == "boolean"


def test_missing_counts_per_variable(file_2017: Path) -> None:
    rec = teds.read_teds_d(file_2017)
    mc = rec.extras["missing_counts"].set_index("variable")
    for var in ("FREQ1_D", "EMPLOY", "EMPLOY_D", "LIVARAG_D", "METHUSE", "GENDER", "ETHNIC"):
        assert mc.loc[var, "n_missing"] == _col(ROWS_2017, var).count(-9), var
    assert mc.loc["REASON", "n_missing"] == 0
    assert (mc["n_rows"] == 10).all()
    assert any("FREQ1_D 1 of 10" in r for r in rec.remarks)


def test_unrecognised_codes_are_missing_and_counted(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS_2017[:3]]
    rows[0][HEADER_2017.split(",").index("REASON")] = 9  # not a REASON code
    f = _csv(tmp_path / "t.csv", HEADER_2017, [tuple(r) for r in rows])
    rec = teds.read_teds_d(f)
    mc = rec.extras["missing_counts"].set_index("variable")
    assert mc.loc["REASON", "n_unrecognised"] == 1 and mc.loc["REASON", "n_missing"] == 0
    assert rec.episodes["completed"].isna().tolist() == [True, False, False]


# --- other year layouts ---------------------------------------------------------------------

HEADER_2006 = "CASEID,DISYR,AGE,GENDER,RACE,ETHNIC,SERVSETD,METHUSE,REASON,LOS,SUB1,FREQ1,EMPLOY,LIVARAG,STFIPS"
ROWS_2006 = [
    (1, 2006, 2, 1, 13, 4, 6, 2, 2, 5, 20, 4, 1, 3, 41),  # IOP, left AMA, FREQ1 3-6/week
    (2, 2010, 12, 2, 5, 5, 4, 2, 1, 14, 2, 5, 3, 1, 53),  # res short, daily
    (3, 2014, 11, 1, 21, 6, 7, 1, 4, -9, 5, 1, -9, 2, 54),  # OP, no use
    (4, 2014, 3, 1, 5, 3, -9, 2, 1, 3, 2, 2, 3, 3, 6),  # setting missing: rejected
]


def test_read_2006_2014_layout(tmp_path: Path) -> None:
    rec = teds.read_teds_d(_csv(tmp_path / "tedsd_2006_2014.csv", HEADER_2006, ROWS_2006))
    ep = rec.episodes
    assert ep["cohort"].astype(str).tolist() == ["IOP", "residential_short", "OP"]
    # AGE: 2006-2014 code 2 = 12-14, 11 = 50-54, 12 = 55 and over (harmonised code 13)
    assert ep["age_group"].astype(str).tolist() == [
        "12-14 years",
        "55 years and older",
        "50-54 years",
    ]
    # FREQ1 five levels: 4 (3-6 times/week) -> some use, 5 daily, 1 none
    assert ep["use_frequency_admission"].astype(str).tolist() == [
        "Some use",
        "Daily use",
        "No use in the past month",
    ]
    assert ep["abstinent_admission"].tolist() == [False, False, True]
    # ETHNIC: 4 other specific Hispanic -> "Cuban or other specific Hispanic"; 5 not Hispanic;
    # 6 Hispanic not specified
    assert ep["ethnicity"].astype(str).tolist() == [
        "Cuban or other specific Hispanic",
        "Not of Hispanic or Latino origin",
        "Hispanic or Latino, specific origin not specified",
    ]
    assert ep["race"].astype(str).tolist() == ["Asian", "White", "Two or more races"]
    assert ep["primary_substance"].astype(str).tolist()[0] == "Other drugs"  # SUB1 20 "Other"
    assert ep["state"].astype(str).tolist() == ["Oregon", "Washington", "West Virginia"]
    assert ep["dropout"].tolist() == [True, False, False]  # REASON 2 = left against advice
    # no discharge measures in this layout: all missing, counted as not in the file
    assert ep["abstinent_discharge"].isna().all() and ep["employment_change"].isna().all()
    mc = rec.extras["missing_counts"].set_index("variable")
    assert mc.loc["FREQ1_D", "n_not_in_file"] == 4 and mc.loc["LOS", "n_missing"] == 1
    assert ep["discharge_year"].tolist() == [2006, 2010, 2014]
    # rejected: SERVSETD -9 (row 4), reason code, no identifier in the message
    rj = rec.rejected
    assert rj[["row", "column", "reason"]].values.tolist() == [
        [4, "SERVICES_D", "missing_required_value"]
    ]
    assert "4" not in rj.loc[0, "message"]
    assert rec.read_counts["episodes"] == len(ep) + len(rj)
    assert any("2006-2014 layout" in r for r in rec.remarks)


def test_2006_2014_text_labels_are_not_recoded_twice(tmp_path: Path) -> None:
    # A 2006-2014 file whose AGE/RACE hold text: a label decodes straight to the harmonised code
    # and must not go through the 2006-2014 recode again ("15-17" is harmonised code 2; the
    # 2006-2014 recode 2 -> 1 would turn it into "12-14"). Numbers written as text ("3" = 15-17
    # and "13" = Asian in the 2006-2014 codebook) are still recoded.
    f = tmp_path / "tedsd_2006_2014_labels.csv"
    f.write_text(
        "CASEID,DISYR,SERVSETD,REASON,AGE,RACE\n"
        "1,2010,6,1,15-17,Asian\n"
        "2,2010,6,1,3,13\n"
        "3,2010,6,1,55 and over,Two or more races\n"
    )
    want_age = ["15-17 years", "15-17 years", "55 years and older"]
    want_race = ["Asian", "Asian", "Two or more races"]
    ep = teds.read_teds_d(f).episodes
    assert ep["age_group"].astype(str).tolist() == want_age
    assert ep["race"].astype(str).tolist() == want_race
    df = teds.teds_outcome_frame(f, engine="duckdb").df()
    assert df["age_group"].astype(str).tolist() == want_age
    assert df["race"].astype(str).tolist() == want_race


def test_read_2015_2016_layout_has_no_admission_setting(tmp_path: Path) -> None:
    header = HEADER_2017.replace("SERVICES,", "")
    rows = [tuple(v for i, v in enumerate(r) if i != 2) for r in ROWS_2017]
    rec = teds.read_teds_d(_csv(tmp_path / "tedsd_2015.csv", header, rows))
    assert rec.episodes["setting_admission"].isna().all()
    assert rec.episodes["cohort"].astype(str).tolist()[5] == "IOP"
    assert rec.extras["files"].loc[0, "layout"] == "2015-2016"
    mc = rec.extras["missing_counts"].set_index("variable")
    assert mc.loc["SERVICES", "n_not_in_file"] == 10


def test_read_2023_layout_sex(tmp_path: Path, file_2017: Path) -> None:
    f = _csv(tmp_path / "tedsd_2023.csv", HEADER_2017.replace("GENDER", "SEX"), ROWS_2017)
    rec = teds.read_teds_d(f)
    assert rec.extras["files"].loc[0, "layout"] == "2023+"
    base = teds.read_teds_d(file_2017).episodes
    pd.testing.assert_series_equal(rec.episodes["sex"], base["sex"])
    assert rec.episodes["sex"].astype(str).tolist()[:2] == ["Male", "Female"]


def _labelled(value: int, var: str) -> str:
    """2021-style text label for a code (2021 column of the merged codebook table)."""
    if value == -9:
        return "Missing/Unknown/Not Collected/Invalid"
    special = {
        "AGE": lambda v: (
            f"{codes.AGE[v].split(' ')[0]} Years Old" if v <= 11 else "65 Years And Older"
        ),
        "EMPLOY": lambda v: {1: "Full-Time", 2: "Part-Time"}.get(v, codes.EMPLOY[v].title()),
        "LIVARAG": lambda v: "Experiencing Homelessness" if v == 1 else codes.LIVARAG[v].title(),
    }
    if var in special:
        return special[var](value)
    return codes.CODE_LABELS[var][value].title()


def test_read_2021_text_labels_latin1(tmp_path: Path, file_2017: Path) -> None:
    names = HEADER_2017.split(",")
    decoded = {"SERVICES", "SERVICES_D", "REASON", "LOS", "FREQ1", "FREQ1_D", "EMPLOY",
               "EMPLOY_D", "LIVARAG", "LIVARAG_D", "AGE", "GENDER", "METHUSE"}  # fmt: skip
    rows = []
    for r in ROWS_2017:
        out = []
        for name, v in zip(names, r, strict=True):
            harmonised = name.removesuffix("_D") if name in ("EMPLOY_D", "LIVARAG_D") else name
            if name == "CBSA2010":
                out.append("Mayagüez PR")  # a latin-1 byte, as in the 2021 distribution
            elif name in decoded:
                text = _labelled(v, harmonised)
                out.append(f'"{text}"' if "," in text else text)
            else:
                out.append(str(v))
        rows.append(tuple(out))
    f = _csv(tmp_path / "tedsd_2021.csv", HEADER_2017, rows, encoding="latin-1")
    with pytest.raises(UnicodeDecodeError):
        f.read_bytes().decode("utf-8")
    rec = teds.read_teds_d(f)
    base = teds.read_teds_d(file_2017).episodes
    cols = [c for c in base.columns if c not in ("cbsa2010",)]
    pd.testing.assert_frame_equal(rec.episodes[cols], base[cols])
    # only projected columns are decoded: UTF-8 works until the latin-1 column is read
    assert rec.extras["files"].loc[0, "encoding"] == "utf8"
    with_cbsa = teds.read_teds_d(f, columns=["CBSA2010"])
    assert with_cbsa.extras["files"].loc[0, "encoding"] == "latin-1"
    assert any("read as latin-1" in r for r in with_cbsa.remarks)
    cbsa = with_cbsa.extras["missing_counts"].set_index("variable").loc["CBSA2010"]
    assert cbsa["n_unrecognised"] == 10 and with_cbsa.episodes["cbsa2010"].isna().all()
    assert rec.extras["files"].loc[0, "text_labels"]
    assert any("text labels" in r for r in rec.remarks)
    mc = rec.extras["missing_counts"].set_index("variable")
    assert mc.loc["FREQ1_D", "n_missing"] == 1 and mc.loc["FREQ1_D", "n_unrecognised"] == 0


def test_other_formats_give_the_same_episodes(tmp_path: Path, file_2017: Path) -> None:
    base = teds.read_teds_d(file_2017).episodes
    raw = pd.read_csv(file_2017)
    pq_file = tmp_path / "t.parquet"
    raw.to_parquet(pq_file)
    pyreadstat = pytest.importorskip("pyreadstat")
    sav, dta = tmp_path / "t.sav", tmp_path / "t.dta"
    pyreadstat.write_sav(raw.astype("float64"), str(sav))
    pyreadstat.write_dta(raw.astype("float64"), str(dta))
    for f in (pq_file, sav, dta):
        pd.testing.assert_frame_equal(teds.read_teds_d(f).episodes, base, obj=f.suffix)


# --- options, several files, errors -------------------------------------------------------------


def test_options_years_mat_columns_pool(tmp_path: Path, file_2017: Path) -> None:
    f2006 = _csv(tmp_path / "tedsd_2006_2014.csv", HEADER_2006, ROWS_2006)
    both = teds.read_teds_d([file_2017, f2006])
    assert len(both.episodes) == 13 and list(both.extras["files"]["layout"]) == [
        "2017-2022",
        "2006-2014",
    ]
    only = teds.read_teds_d(tmp_path, years=[2010, 2014])
    assert only.episodes["discharge_year"].tolist() == [2010, 2014]
    assert any("years=[2010, 2014]" in r for r in only.remarks)
    no_mat = teds.read_teds_d(file_2017, exclude_medication_assisted=True)
    # METHUSE = 1 in rows 5 and 7; the METHUSE = -9 row is kept
    assert len(no_mat.episodes) == 8 and no_mat.read_counts["episodes"] == 8
    assert any(
        "2 records with METHUSE = 1 were dropped; 1 with METHUSE missing" in r
        for r in no_mat.remarks
    )
    extra = teds.read_teds_d(file_2017, columns=["CBSA2010"])
    assert extra.episodes["cbsa2010"].tolist() == [1] * 10
    pooled = teds.read_teds_d(file_2017, pool_residential=True)
    assert pooled.episodes["cohort"].astype(str).tolist()[2:5] == ["residential"] * 3
    again = teds.pool_residential(teds.read_teds_d(file_2017))
    pd.testing.assert_series_equal(again.episodes["cohort"], pooled.episodes["cohort"])


def test_duplicates_and_missing_caseid_are_rejected(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS_2017[:4]]
    rows[1][0] = rows[0][0]  # same CASEID, same year
    rows[2][0] = ""  # no CASEID
    f = _csv(tmp_path / "t.csv", HEADER_2017, [tuple(r) for r in rows])
    rec = teds.read_teds_d(f)
    assert len(rec.episodes) == 2
    assert sorted(rec.rejected["reason"]) == ["duplicate_episode_id", "missing_required_value"]
    assert sorted(rec.rejected["row"]) == [2, 3]
    assert not rec.rejected["message"].str.contains(str(ROWS_2017[0][0])).any()
    assert rec.read_counts["episodes"] == len(rec.episodes) + len(rec.rejected)


def test_caseids_repeating_across_years_are_qualified(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS_2017[:2]]
    rows[1][0], rows[1][1] = rows[0][0], 2018
    rec = teds.read_teds_d(_csv(tmp_path / "t.csv", HEADER_2017, [tuple(r) for r in rows]))
    assert rec.episodes["episode_id"].tolist() == [f"2019-{rows[0][0]}", f"2018-{rows[0][0]}"]
    assert rec.rejected.empty


def test_errors(tmp_path: Path, file_2017: Path) -> None:
    with pytest.raises(iop.FileReadError, match="does not exist"):
        teds.read_teds_d(tmp_path / "nope.csv")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(iop.FileReadError, match="unknown format"):
        teds.read_teds_d(tmp_path / "x.json")
    bad = _csv(tmp_path / "bad.csv", "CASEID,DISYR,REASON", [(20190000101, 2019, 1)])
    with pytest.raises(iop.MissingColumnError, match="SERVICES_D") as info:
        teds.read_teds_d(bad)
    assert "20190000101" not in str(info.value)
    with pytest.raises(iop.ParameterError, match="engine"):
        teds.read_teds_d(file_2017, engine="spark")  # type: ignore[arg-type]


# --- codebook checks (need ../shared) -------------------------------------------------------------


def test_code_tables_agree_with_the_2019_codebook(teds_codebook_dir: Path) -> None:
    book = pd.read_csv(teds_codebook_dir / "TEDS-D-2019-DS0001-info-codebook_V1_codes.csv")
    book = book.dropna(subset=["Value"])
    for var, table in codes.CODE_LABELS.items():
        rows = book[book["code"] == var]
        book_codes = {int(v) for v in rows["Value"] if int(v) != -9}
        mine = set(table) - ({13} if var == "AGE" else set())  # 13: harmonised 2006-2014 band
        if var == "STFIPS":  # states absent from the 2019 file
            assert book_codes <= mine
            continue
        assert book_codes == mine, var
        for code, label in zip(rows["Value"], rows["Label"], strict=True):
            if int(code) == -9 or pd.isna(label) or var in ("LOS",):
                continue
            assert codes.normalise_label(table[int(code)]) == codes.normalise_label(label), (
                var,
                code,
            )


def test_generated_2019_file_reads_back_to_the_codebook_counts(
    tmp_path: Path, teds_codebook_dir: Path
) -> None:
    """A full-size 2019 file (1,722,503 rows, only the variables the reader uses) generated by
    benchmarks/make_teds_d.py reads back to exactly the codebook frequencies."""
    make = importlib.import_module("make_teds_d")
    marginals = make.codebook_marginals(2019, teds_codebook_dir)
    n = 1_722_503  # 2019 DISYR total in the codebook
    assert sum(marginals["REASON"].values()) == n
    path = make.write_teds_d(
        tmp_path / "tedsd_2019.csv", n, variables=teds.TEDS_VARIABLES, chunk_rows=n
    )
    rec = teds.read_teds_d(path)  # its speed: benchmarks/bench_teds_d.py (README figures)
    ep = rec.episodes
    assert len(ep) == n and rec.rejected.empty
    # published marginals (2019 codebook): REASON 1 = 725,929; FREQ1_D 1 = 575,133, -9 = 537,124;
    # SERVICES_D 6 = 235,771; LOS 1 = 260,581; EMPLOY_D -9 = 322,858
    assert int(ep["completed"].sum()) == 725_929
    assert int(ep["abstinent_discharge"].sum()) == 575_133
    assert int(ep["abstinent_discharge"].isna().sum()) == 537_124
    assert int((ep["cohort"] == "IOP").sum()) == 235_771
    assert int((ep["los_code"] == 1).sum()) == 260_581
    mc = rec.extras["missing_counts"].set_index("variable")
    assert mc.loc["EMPLOY_D", "n_missing"] == 322_858
    # every code of every decoded variable
    back = {
        "REASON": ep["discharge_reason"].map(
            {v: k for k, v in codes.DISCHARGE_REASON_FROM_REASON.items()}
        ),
        "LOS": ep["los_code"],
        "SERVICES_D": ep["setting"].map({v: k for k, v in codes.SETTING.items()}),
        "FREQ1_D": ep["use_frequency_discharge"].map({v: k for k, v in codes.FREQ.items()}),
        "FREQ1": ep["use_frequency_admission"].map({v: k for k, v in codes.FREQ.items()}),
        "LIVARAG_D": ep["living_discharge"].map({v: k for k, v in codes.LIVARAG.items()}),
        "AGE": ep["age_group"].map({v: k for k, v in codes.AGE.items()}),
    }
    for var, series in back.items():
        got = series.astype("float64").fillna(-9).astype(int).value_counts().to_dict()
        assert got == {k: v for k, v in marginals[var].items() if v}, var


def test_apportion_is_exact_at_full_size_and_scaled() -> None:
    make = importlib.import_module("make_teds_d")
    freqs = {1: 725_929, 2: 432_610, 3: 95_254, 4: 369_503, 5: 26_005, 6: 3_576, 7: 69_626}
    assert make.apportion(freqs, 1_722_503) == freqs
    scaled = make.apportion(freqs, 1000)
    # quotas 421.44, 251.15, 55.30, 214.51, 15.10, 2.08, 40.42: floors sum to 998, the two
    # largest remainders (.51 for code 4, .44 for code 1) get the two remaining rows
    assert scaled == {1: 422, 2: 251, 3: 55, 4: 215, 5: 15, 6: 2, 7: 40}


# --- engines: pandas, Dask, DuckDB give identical counts ------------------------------------------


@pytest.fixture(scope="module")
def generated_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    make = importlib.import_module("make_teds_d")
    if not make.CODEBOOK_DIR.exists():
        pytest.skip(f"{make.CODEBOOK_DIR} is absent: the shared folder sits beside the checkout")
    folder = tmp_path_factory.mktemp("teds_engines")
    make.write_teds_d(folder / "a.csv", 30_000, seed=1, variables=teds.TEDS_VARIABLES)
    make.write_teds_d(
        folder / "b.parquet",
        20_000,
        seed=2,
        fmt="parquet",
        variables=teds.TEDS_VARIABLES,
        first_caseid=30_001,
    )
    return folder


OUTCOMES = ["completed", "completed_or_transferred", "dropout", "abstinent_discharge",
            "use_reduced", "employment_gained", "housing_improved", "selfhelp_discharge"]  # fmt: skip


def _normalise(counts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    out = counts.copy()
    for k in keys:
        out[k] = out[k].astype(str)
    return out.sort_values(keys).reset_index(drop=True)


def test_group_counts_identical_on_pandas_dask_duckdb(generated_file: Path) -> None:
    distributed = pytest.importorskip("distributed")
    pdf = teds.teds_outcome_frame(generated_file, engine="pandas")
    rel = teds.teds_outcome_frame(generated_file, engine="duckdb")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        ddf = teds.teds_outcome_frame(generated_file, engine="dask", blocksize=200_000)
        assert ddf.npartitions >= 2
        ddf = ddf.persist()  # decoded once on the cluster's workers, then reduced many times
        for by in (["cohort"], ["cohort", "sex"], ["level_of_care", "discharge_year"]):
            for i, outcome in enumerate(OUTCOMES):
                ref = _normalise(group_counts(pdf, outcome, by), by)
                assert ref["n"].sum() > 0
                engines = (ddf, rel) if by == ["cohort"] or i < 2 else ()
                for other in engines:
                    got = _normalise(group_counts(other, outcome, by), by)
                    pd.testing.assert_frame_equal(
                        got, ref, check_dtype=False, obj=f"{outcome} by {by}"
                    )
        los_ref = teds.los_summary(pdf).to_frame()
        pd.testing.assert_frame_equal(teds.los_summary(ddf).to_frame(), los_ref)
        pd.testing.assert_frame_equal(teds.los_summary(rel).to_frame(), los_ref)
    assert len(pdf) == 50_000


def test_duckdb_sql_matches_pandas_on_every_layout(tmp_path: Path) -> None:
    """The SQL path is generated separately from the code tables: check it on all layouts."""
    _csv(tmp_path / "a_2006.csv", HEADER_2006, ROWS_2006)
    _csv(tmp_path / "b_2017.csv", HEADER_2017, ROWS_2017)
    rows_2023 = [(r[0] + 40_000_000_000, 2023, *r[2:]) for r in ROWS_2017]
    _csv(tmp_path / "c_2023.csv", HEADER_2017.replace("GENDER", "SEX"), rows_2023)
    pdf = teds.teds_outcome_frame(tmp_path, engine="pandas", columns=["CBSA2010"])
    assert len(pdf) == 23
    rel = teds.teds_outcome_frame(tmp_path, engine="duckdb", columns=["CBSA2010"])
    got = rel.df()
    assert list(got.columns) == list(pdf.columns)
    for col in pdf.columns:
        a = pdf[col].astype("object").where(pdf[col].notna(), None).tolist()
        b = got[col].astype("object").where(got[col].notna(), None).tolist()
        assert [None if x is None else str(x) for x in a] == [
            None if x is None else str(x) for x in b
        ], col


def test_rates_and_comparisons_identical_on_dask(generated_file: Path) -> None:
    try:
        rates = importlib.import_module("iopoutcomes.rates")
        compare = importlib.import_module("iopoutcomes.compare")
    except ImportError:
        pytest.skip("iopoutcomes.rates / iopoutcomes.compare are not written yet (other engineers)")
    pdf = teds.teds_outcome_frame(generated_file, engine="pandas")
    ddf = teds.teds_outcome_frame(generated_file, engine="dask", blocksize=200_000)
    a = rates.outcome_rates(pdf, outcome="completed", by="cohort").to_frame()
    b = rates.outcome_rates(ddf, outcome="completed", by="cohort").to_frame()
    pd.testing.assert_frame_equal(a, b)
    for rule in ("exclude", "using"):
        e = rates.outcome_rates(pdf, "abstinent_discharge", "cohort", missing=rule).to_frame()
        f = rates.outcome_rates(ddf, "abstinent_discharge", "cohort", missing=rule).to_frame()
        pd.testing.assert_frame_equal(e, f)
        assert int(e["n_missing"].sum()) == int(pdf["abstinent_discharge"].isna().sum()) > 0
    c = compare.compare_rates(pdf, outcome="completed", by="cohort", reference="IOP").to_frame()
    d = compare.compare_rates(ddf, outcome="completed", by="cohort", reference="IOP").to_frame()
    pd.testing.assert_frame_equal(c, d)


# --- length of stay ------------------------------------------------------------------------------


def test_los_summary_median_band_and_shares() -> None:
    # IOP: codes 5, 31, 31, 33 -> cumulative 1/4, 3/4 -> median band 31 (31 to 45 days)
    # OP: codes 37, 37 and one missing -> median 37; residential: all missing -> no median
    df = pd.DataFrame(
        {
            "cohort": ["IOP"] * 4 + ["OP"] * 3 + ["residential_long"],
            "los_code": pd.array([5, 31, 31, 33, 37, 37, pd.NA, pd.NA], dtype="Int8"),
        }
    )
    s = teds.los_summary(df)
    med = s.to_frame().set_index("group")
    assert (
        med.loc["IOP", "median_band"] == "31 to 45 days"
        and med.loc["IOP", "median_days_high"] == 45
    )
    assert med.loc["OP", "median_code"] == 37 and pd.isna(med.loc["OP", "median_days_high"])
    assert med.loc["OP", "n_missing"] == 1 and pd.isna(med.loc["residential_long", "median_code"])
    shares = s.shares()
    iop_rows = shares[shares["group"] == "IOP"]
    assert iop_rows["share"].tolist() == [0.25, 0.5, 0.25]
    assert iop_rows["cumulative_share"].tolist() == [0.25, 0.75, 1.0]
    assert "discharges, not people" in repr(s)
    with pytest.raises(iop.MissingColumnError):
        teds.los_summary(df, by="site")


def test_public_names_are_exported() -> None:
    assert iop.read_teds_d is teds.read_teds_d and iop.los_summary is teds.los_summary
    assert np.array_equal(np.sort(teds.OUTCOME_COLUMNS), np.sort(list(set(teds.OUTCOME_COLUMNS))))


def test_generator_refuses_codebook_years_with_known_transcription_errors() -> None:
    # 2015/2016 codebook tables write missing as 9 in several fields and misprint a 2016 LOS
    # count (codebook README); generating from them would silently corrupt the marginals.
    make = importlib.import_module("make_teds_d")
    for year in (2015, 2016):
        with pytest.raises(ValueError, match="2017-2019"):
            make.codebook_marginals(year)
