"""Raw agency exports -> init -> check -> report (issue 14), and the refusals.

The messy export is built here from the shipped sample's truth
(``iopoutcomes._example_exports.write_example_exports``): an Excel admissions list with title
rows, a blank line and a footer, US dates, EHR wordings and episodes numbered within each
client; a GPRA interview CSV with -7/-8/-9 codes; a lab file of urine screens. The planted
problem rows and their spreadsheet row numbers are laid out by the writer (3 title rows + the
header: data row k of the sheet is row 4 + k), independently of the reader.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import iopoutcomes as iop
from iopoutcomes._example_exports import EXAMPLE_CONFIG, GPRA_TIMEPOINTS, write_example_exports
from iopoutcomes.cli import cli
from iopoutcomes.exports import read_exports
from iopoutcomes.report.config import ReportConfig, load_config


@pytest.fixture(scope="module")
def sample() -> iop.Records:
    return iop.load_sample()


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory, sample: iop.Records) -> Path:
    folder = tmp_path_factory.mktemp("export")
    info = write_example_exports(sample, folder)
    info["planted"].to_csv(folder / "planted.csv", index=False)
    (folder / "program.toml").write_text(EXAMPLE_CONFIG, encoding="utf-8")
    return folder


def test_accepted_rows_equal_truth_and_rejected_are_the_planted_rows(
    export_dir: Path, sample: iop.Records
) -> None:
    recs = read_exports(load_config(export_dir / "program.toml").export_input())
    planted = pd.read_csv(export_dir / "planted.csv")
    got = recs.rejected[["table", "source", "row", "reason"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, planted, check_dtype=False)
    # the row numbers a spreadsheet shows: 3 title rows + header, so data row 100 is row 104
    # and the planted row after it is row 105
    assert got.loc[0, "row"] == 105
    # accepted episodes: every episode of the truth, same values (episode_id is the composite)
    eps = recs.episodes
    truth = sample.episodes
    assert len(eps) == len(truth) == 600
    key = eps["patient_id"].astype(str) + "|"
    rank = truth.sort_values(["patient_id", "admission_date", "episode_id"])
    rank = rank.assign(n=rank.groupby("patient_id").cumcount() + 1)
    expected_id = (rank["patient_id"].astype(str) + "|" + rank["n"].astype(str)).sort_values()
    assert sorted(eps["episode_id"].astype(str)) == expected_id.tolist()
    assert key.str.len().gt(1).all()
    to_truth = dict(zip(expected_id.index.map(rank["episode_id"]), expected_id, strict=True))
    mine = eps.assign(episode_id=eps["episode_id"].astype(str)).set_index("episode_id")
    theirs = truth.assign(episode_id=truth["episode_id"].astype(str).map(to_truth))
    theirs = theirs.set_index("episode_id")
    for col in (
        "patient_id",
        "cohort",
        "level_of_care",
        "asam_code",
        "site",
        "admission_date",
        "discharge_date",
        "discharge_reason",
        "discharge_day",
        "age",
        "severity",
    ):
        pd.testing.assert_series_equal(
            mine[col].sort_index(), theirs[col].sort_index(), check_dtype=False, check_names=False
        )
    # follow-ups: the GPRA timepoints of the truth, -7/-8/-9 read as missing
    fu_truth = sample.followups[sample.followups["timepoint"].isin(GPRA_TIMEPOINTS)]
    assert len(recs.followups) == len(fu_truth)
    a = recs.followups.assign(episode_id=recs.followups["episode_id"].astype(str))
    b = fu_truth.assign(episode_id=fu_truth["episode_id"].map(to_truth))
    cols = [
        "episode_id",
        "timepoint",
        "status",
        "assessment_date",
        "days_used_past30",
        "uds_result",
        "wellbeing",
        "housing_stable",
        "assessment_day",
    ]
    a = a[cols].sort_values(["episode_id", "timepoint"]).reset_index(drop=True)
    b = b[cols].sort_values(["episode_id", "timepoint"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    # screens: the truth's urine-screen days, linked to the same episodes by client and date
    ud_truth = sample.use_days[sample.use_days["source"] == "uds"]
    assert len(recs.use_days) == len(ud_truth)
    pairs_a = sorted(
        zip(
            recs.use_days["episode_id"].astype(str),
            recs.use_days["day"],
            recs.use_days["used"].astype(bool),
            strict=True,
        )
    )
    pairs_b = sorted(
        zip(
            ud_truth["episode_id"].map(to_truth),
            ud_truth["day"],
            ud_truth["used"].astype(bool),
            strict=True,
        )
    )
    assert pairs_a == pairs_b
    # counts and stamp refer to the export
    assert dict(recs.read_counts) == {"episodes": 604, "followups": 1630, "use_days": 3393}
    assert set(recs.sources.values()) == {
        "admissions.xlsx",
        "gpra_interviews.csv",
        "lab_screens.csv",
    }
    import hashlib

    digest = hashlib.sha256((export_dir / "admissions.xlsx").read_bytes()).hexdigest()
    assert recs.file_hashes["episodes"] == digest


def test_init_check_report_on_the_export_match_the_canonical_report(
    export_dir: Path, sample: iop.Records, tmp_path: Path
) -> None:
    runner = CliRunner()
    files = [
        str(export_dir / n) for n in ("admissions.xlsx", "gpra_interviews.csv", "lab_screens.csv")
    ]
    res = runner.invoke(cli, ["init", *files, "--out", str(tmp_path / "init.toml")])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "init.toml").read_text()
    for line in (
        '"Left AMA" = "dropped_out"',
        '"6 Month Follow-up" = "6mo"',
        "header_row = 4",
        "episode_key = ['Client ID', 'Episode #']",
        'kind = "screens"',
        'missing_codes = "gpra"',
        '# "Dilute" = ""  # UNMAPPED',
    ):
        assert line in text
    # counts only: no client identifier or date of the export is printed
    assert sample.episodes["patient_id"].iloc[0] not in res.output
    assert "01/0" not in res.output
    res = runner.invoke(cli, ["check", "--config", str(export_dir / "program.toml")])
    assert res.exit_code == 0, res.output
    assert "admissions.xlsx   604       600         4" in res.output
    # the report on the raw export ...
    cfg = load_config(export_dir / "program.toml")
    rep = iop.quarterly_report(
        read_exports(cfg.export_input()), quarter="2026Q2", config=cfg, progress=False
    )
    # ... equals the report on the canonical sample restricted to the same data
    fu = sample.followups[sample.followups["timepoint"].isin(GPRA_TIMEPOINTS)]
    ud = sample.use_days[sample.use_days["source"] == "uds"].assign(source=pd.NA)
    canon = dataclasses.replace(
        sample,
        followups=fu.reset_index(drop=True),
        use_days=ud.reset_index(drop=True),
        timepoints=tuple(GPRA_TIMEPOINTS),
    )
    cfg2 = ReportConfig.from_dict(
        {
            "report": {"title": cfg.title},
            "definition": {"timepoints": list(GPRA_TIMEPOINTS), "calendar": "screens"},
        }
    )
    rep2 = iop.quarterly_report(canon, quarter="2026Q2", config=cfg2, progress=False)
    a = {t.key: t.frame for s in rep.sections for t in s.tables}
    b = {t.key: t.frame for s in rep2.sections for t in s.tables}
    assert set(a) - set(b) == {"rejected_rows"}
    assert not any(k.endswith("1mo") for k in a)
    for key in set(a) & set(b) - {"stamp"}:
        pd.testing.assert_frame_equal(
            a[key].reset_index(drop=True), b[key].reset_index(drop=True), check_dtype=False
        )
    # data quality counts the export's rejections; the stamp hashes the export files
    rej = a["rejected_rows"]
    assert int(pd.to_numeric(rej["rows"], errors="coerce").fillna(0).sum()) <= 9
    assert set(rej["reason"]) == set(pd.read_csv(export_dir / "planted.csv")["reason"])
    assert set(rep.stamp["input_files"]) == {
        "episodes (admissions.xlsx)",
        "followups (gpra_interviews.csv)",
        "use_days (lab_screens.csv)",
    }
    assert rep.stamp["rows_rejected"] == 9
    quality = next(s for s in rep.sections if s.key == "quality")
    # 4 rejected episode rows is a small count: the read count is printed, the accepted and
    # rejected counts are hidden (accepted = read - rejected would give it back)
    assert "episodes 604 / — / —" in quality.paragraphs[0]
    assert any("skipped 2 blank line(s) and 1 footer line(s)" in p for p in quality.paragraphs)
    # and the command line writes it
    res = runner.invoke(
        cli,
        [
            "report",
            "--config",
            str(export_dir / "program.toml"),
            "--quarter",
            "2026Q2",
            "--format",
            "csv",
            "--no-progress",
            "--out",
            str(tmp_path / "rep"),
        ],
    )
    assert res.exit_code == 0, res.output


def _run(args: list[str]) -> tuple[int, str]:
    res = CliRunner().invoke(cli, args)
    return res.exit_code, res.output


def _config(export_dir: Path, tmp_path: Path, extra: str = "", replace: tuple = ()) -> Path:
    text = EXAMPLE_CONFIG
    for old, new in replace:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "program.toml"
    path.write_text(text + extra, encoding="utf-8")
    for name in ("admissions.xlsx", "gpra_interviews.csv", "lab_screens.csv"):
        (tmp_path / name).write_bytes((export_dir / name).read_bytes())
    return path


def test_refuses_quarter_before_the_data(export_dir: Path, tmp_path: Path) -> None:
    code, out = _run(
        [
            "report",
            "--config",
            str(export_dir / "program.toml"),
            "--quarter",
            "2023Q1",
            "--no-progress",
            "--out",
            str(tmp_path / "r"),
        ]
    )
    assert code == 2
    assert "quarter 2023Q1 (--quarter) ends before the first admission" in out


def test_refuses_timepoint_that_matches_no_data(export_dir: Path, tmp_path: Path) -> None:
    cfg = _config(export_dir, tmp_path, '\n[definition]\ntimepoints = ["intake", "1mo", "6mo"]\n')
    code, out = _run(
        [
            "report",
            "--config",
            str(cfg),
            "--quarter",
            "2026Q2",
            "--no-progress",
            "--out",
            str(tmp_path / "r"),
        ]
    )
    assert code == 2
    assert "[definition] timepoints: ['1mo'] match no follow-up row" in out


def test_refuses_outcome_setting_that_matches_no_data(export_dir: Path, tmp_path: Path) -> None:
    cfg = _config(export_dir, tmp_path, '\n[definition]\nsubstance = "alcohol"\n')
    code, out = _run(
        [
            "report",
            "--config",
            str(cfg),
            "--quarter",
            "2026Q2",
            "--no-progress",
            "--out",
            str(tmp_path / "r"),
        ]
    )
    assert code == 2
    assert "[definition] substance = 'alcohol' matches no data" in out


def test_refuses_required_table_empty_after_mapping(export_dir: Path, tmp_path: Path) -> None:
    # a wrong date format: every admission date is unparseable, no episode is accepted
    cfg = _config(
        export_dir,
        tmp_path,
        replace=(
            (
                '[input.episodes]\nfiles = "admissions.xlsx"',
                '[input.episodes]\nfiles = "admissions.xlsx"\ndate_format = "%d.%m.%Y"',
            ),
        ),
    )
    code, out = _run(
        [
            "report",
            "--config",
            str(cfg),
            "--quarter",
            "2026Q2",
            "--no-progress",
            "--out",
            str(tmp_path / "r"),
        ]
    )
    assert code == 2
    assert "The required episodes table is empty after mapping: 604 rows read, 0 accepted" in out
    code, out = _run(["check", "--config", str(cfg)])
    assert code == 2 and "empty after mapping" in out


def test_gpra_program_gets_no_one_month_row(export_dir: Path) -> None:
    cfg = load_config(export_dir / "program.toml")
    rep = iop.quarterly_report(
        read_exports(cfg.export_input()), quarter="2026Q2", config=cfg, progress=False
    )
    tables = {t.key: t.frame for s in rep.sections for t in s.tables}
    assert set(tables["abstinence"]["timepoint"].astype(str)) == {"discharge", "6mo"}
    assert set(tables["out_of_window"]["timepoint"].astype(str)) <= {"discharge", "6mo"}
    # records declaring the default timepoints get a 1-month row of "missed" interviews ...
    recs = dataclasses.replace(
        read_exports(cfg.export_input()), timepoints=iop.schema.DEFAULT_TIMEPOINTS
    )
    plain = iop.quarterly_report(recs, quarter="2026Q2", config=ReportConfig(), progress=False)
    plain_tables = {t.key: t.frame for s in plain.sections for t in s.tables}
    assert "1mo" in set(plain_tables["abstinence"]["timepoint"].astype(str))
    # ... which [definition] timepoints removes (it used to be ignored)
    told = ReportConfig.from_dict({"definition": {"timepoints": list(GPRA_TIMEPOINTS)}})
    fixed = iop.quarterly_report(recs, quarter="2026Q2", config=told, progress=False)
    fixed_tables = {t.key: t.frame for s in fixed.sections for t in s.tables}
    assert set(fixed_tables["abstinence"]["timepoint"].astype(str)) == {"discharge", "6mo"}


def test_linking_followups_by_client_and_date(tmp_path: Path) -> None:
    (tmp_path / "adm.csv").write_text(
        "Client,Admit,Discharge,Program\n"
        "A,2024-01-01,2024-02-01,IOP\n"
        "A,2024-03-01,2024-04-01,IOP\n"  # overlaps A's first 6-month window? no: see below
        "B,2024-01-10,2024-02-10,IOP\n"
        "C,2024-01-10,2024-02-10,IOP\n"
        "C,2024-01-20,2024-02-20,IOP\n"
    )
    # row 2: A intake on 2024-01-02 -> A's first episode only (window -30..7 days)
    # row 3: A 6mo on 2024-07-15: day 196 of the first, day 136 of the second (window 152..243)
    #        -> first episode
    # row 4: C 6mo on 2024-07-20: days 192 and 182 -> both windows -> ambiguous
    # row 5: B not located, no date, single episode -> linked
    # row 6: C not located, no date, two episodes -> ambiguous
    # row 7: D (no episode) -> no_episode_link
    # row 8: B 6mo on 2024-03-01: day 51, no window -> no_episode_link
    (tmp_path / "gpra.csv").write_text(
        "Client,Type,Status,Date,Days\n"
        "A,intake,completed,2024-01-02,3\n"
        "A,6mo,completed,2024-07-15,0\n"
        "C,6mo,completed,2024-07-20,0\n"
        "B,6mo,not_located,,\n"
        "C,6mo,not_located,,\n"
        "D,6mo,completed,2024-07-20,0\n"
        "B,6mo,completed,2024-03-01,0\n"
    )
    recs = read_exports(
        {
            "timepoints": ["intake", "discharge", "6mo"],
            "episodes": {
                "files": "adm.csv",
                "columns": {
                    "Client": "patient_id",
                    "Admit": "admission_date",
                    "Discharge": "discharge_date",
                    "Program": "cohort",
                },
                "episode_key": ["Client", "Admit"],
            },
            "followups": {
                "files": "gpra.csv",
                "columns": {
                    "Client": "patient_id",
                    "Type": "timepoint",
                    "Status": "status",
                    "Date": "assessment_date",
                    "Days": "days_used_past30",
                },
            },
        },
        base_dir=tmp_path,
    )
    fu = recs.followups.sort_values("assessment_day")
    assert fu["episode_id"].astype(str).tolist() == ["A|2024-01-01", "A|2024-01-01", "B|2024-01-10"]
    rej = recs.rejected[["row", "reason"]].to_dict("records")
    assert rej == [
        {"row": 4, "reason": "ambiguous_episode_link"},
        {"row": 6, "reason": "ambiguous_episode_link"},
        {"row": 7, "reason": "no_episode_link"},
        {"row": 8, "reason": "no_episode_link"},
    ]
    assert recs.read_counts["followups"] == 7


def test_screen_rule_by_hand() -> None:
    """Weekly screen rule checked by hand: 5 clean consecutive weeks = sustained 30 days."""
    eps = pd.DataFrame(
        {
            "patient_id": ["a", "b", "c"],
            "episode_id": ["a", "b", "c"],
            "cohort": "IOP",
            "admission_date": "2024-01-01",
            "discharge_date": "2024-03-31",
        }
    )
    days = {  # day numbers of negative screens; b has a gap in week 2, c has no screen
        "a": [1, 8, 15, 22, 29],
        "b": [1, 8, 22, 29, 36, 43],
    }
    rows = [
        (e, (pd.Timestamp("2024-01-01") + pd.Timedelta(days=d)).strftime("%Y-%m-%d"), 0)
        for e, ds in days.items()
        for d in ds
    ]
    ud = pd.DataFrame(rows, columns=["episode_id", "date", "used"])
    recs = iop.read_records(eps, use_days=ud, data_as_of="2024-12-31")
    eo = iop.episode_outcomes(recs, iop.OutcomeDefinition(calendar="screens"))
    t = eo.table.set_index("episode_id")
    # a: weeks 0-4 each screened and negative -> 5 weeks = ceil(30/7) -> True
    # b: weeks 0,1 then gap at week 2, then weeks 3-6 (4 weeks) -> longest run 4 -> False
    # c: no screen -> not computable (missing), never False
    assert bool(t.loc["a", "sustained_30d_in_treatment"])
    assert not bool(t.loc["b", "sustained_30d_in_treatment"])
    assert pd.isna(t.loc["c", "sustained_30d_in_treatment"])
    # coverage of a: 5 of 13 weeks (91 days of stay -> ceil(91/7) = 13)
    assert t.loc["a", "screen_coverage_in_treatment"] == pytest.approx(5 / 13, rel=1e-12)
    assert any("Ling W" in r for r in eo.remarks)


def test_report_options_read_raw_exports_without_a_config(tmp_path: Path) -> None:
    """The [input] keys as options of `report`: title rows, US dates, codes, composite key."""
    sample = iop.simulate_records(n=300, seed=3)
    eps = sample.episodes
    number = eps.groupby("patient_id").cumcount() + 1
    us = pd.to_datetime(eps["admission_date"]).dt.strftime("%m/%d/%Y")
    dis = pd.to_datetime(eps["discharge_date"]).dt.strftime("%m/%d/%Y")
    exp = pd.DataFrame(
        {
            "Client ID": eps["patient_id"],
            "Episode #": number,
            "Program": eps["cohort"].map({"IOP": "Intensive Outpatient", "inpatient": "Inpt"}),
            "Admit Date": us,
            "Discharge Date": dis,
            "Reason": eps["discharge_reason"],
            "Site": eps["site"],
        }
    )
    (tmp_path / "adm.csv").write_text(
        "Agency export\n" + exp.to_csv(index=False, lineterminator="\n")
    )
    key = dict(zip(eps["episode_id"], exp["Client ID"] + "|" + number.astype(str), strict=True))
    fu = sample.followups
    fexp = pd.DataFrame(
        {
            "Client ID": fu["episode_id"].map(key).str.split("|").str[0],
            "Episode #": fu["episode_id"].map(key).str.split("|").str[1],
            "timepoint": fu["timepoint"],
            "status": fu["status"],
            "assessment_date": pd.to_datetime(fu["assessment_date"]).dt.strftime("%m/%d/%Y"),
            "days_used_past30": fu["days_used_past30"].astype("Float64").fillna(-9),
        }
    )
    (tmp_path / "fu.csv").write_text("Interviews\n" + fexp.to_csv(index=False, lineterminator="\n"))
    columns = {
        "episodes": {
            "Client ID": "patient_id",
            "Program": "cohort",
            "Admit Date": "admission_date",
            "Discharge Date": "discharge_date",
            "Reason": "discharge_reason",
            "Site": "site",
        },
        "followups": {"Client ID": "patient_id"},
    }
    codes = {"episodes": {"cohort": {"Intensive Outpatient": "IOP", "Inpt": "inpatient"}}}
    (tmp_path / "columns.json").write_text(__import__("json").dumps(columns))
    (tmp_path / "codes.json").write_text(__import__("json").dumps(codes))
    code, out = _run(
        [
            "report",
            "--episodes", str(tmp_path / "adm.csv"),
            "--followups", str(tmp_path / "fu.csv"),
            "--header-row", "2",
            "--date-format", "%m/%d/%Y",
            "--episode-key", "Client ID,Episode #",
            "--missing-codes", "gpra",
            "--columns-json", str(tmp_path / "columns.json"),
            "--codes-json", str(tmp_path / "codes.json"),
            "--quarter", "2026Q2", "--format", "json", "--no-progress",
            "--out", str(tmp_path / "r"),
        ]
    )  # fmt: skip
    assert code == 0, out
    import json

    report = json.loads((tmp_path / "r" / "report.json").read_text())
    stamp = report["stamp"]
    assert stamp["rows_read"] == {"episodes": 300, "followups": len(fu)}
    assert stamp["rows_rejected"] == 0
    assert set(stamp["input_files"]) == {"episodes (adm.csv)", "followups (fu.csv)"}
    # same numbers as the canonical records (the -9 codes were the missing days of use)
    rep = iop.quarterly_report(sample, quarter="2026Q2", progress=False)
    canonical = {t.key: t.frame for s in rep.sections for t in s.tables}
    for key in ("followup_by_cohort", "abstinence", "flow_quarter"):
        got = pd.DataFrame(report["tables"][key]["rows"], columns=report["tables"][key]["columns"])
        want = canonical[key].astype(object).where(canonical[key].notna(), None)
        assert got.shape == want.shape, key
        for column in got.columns:
            a, b = got[column], want[column]
            num_a, num_b = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
            if num_b.notna().any():
                assert num_a.tolist() == pytest.approx(num_b.tolist(), rel=1e-12, nan_ok=True)
            else:
                assert a.astype(str).tolist() == b.astype(str).tolist(), (key, column)


def test_read_records_hook_relabels_rows_sources_and_hashes(tmp_path: Path) -> None:
    import hashlib

    eps = pd.DataFrame(
        {
            "patient_id": ["1", "2", "3"],
            "episode_id": ["a", "b", "c"],
            "cohort": "IOP",
            "admission_date": ["2024-01-02", "x", "2024-01-05"],
        }
    )
    one, two = tmp_path / "jan.xlsx", tmp_path / "feb.xlsx"
    one.write_bytes(b"first export")
    two.write_bytes(b"second export")
    where = pd.DataFrame({"source": ["jan.xlsx", "feb.xlsx", "feb.xlsx"], "row": [5, 5, 6]})
    recs = iop.read_records(
        eps, source_rows={"episodes": where}, source_files={"episodes": [one, two]}
    )
    assert recs.rejected[["source", "row"]].to_dict("records") == [{"source": "feb.xlsx", "row": 5}]
    assert dict(recs.file_hashes) == {
        "episodes/jan.xlsx": hashlib.sha256(b"first export").hexdigest(),
        "episodes/feb.xlsx": hashlib.sha256(b"second export").hexdigest(),
    }
    assert recs.sources["episodes"] == "jan.xlsx, feb.xlsx"
    with pytest.raises(iop.RowValidationError, match="row 5"):
        iop.read_records(eps, strict=True, source_rows={"episodes": [4, 5, 6]})
    with pytest.raises(iop.ParameterError, match="one row number per row"):
        iop.read_records(eps, source_rows={"episodes": [4, 5]})


def test_files_glob_reads_several_exports_with_their_own_row_numbers(tmp_path: Path) -> None:
    header = "Client,Admit,Program\n"
    (tmp_path / "adm_2024a.csv").write_text("Title\n" + header + "A,2024-01-02,IOP\nB,bad,IOP\n")
    (tmp_path / "adm_2024b.csv").write_text("Title\n" + header + "C,2024-02-02,IOP\n\nD,x,IOP\n")
    recs = read_exports(
        {
            "episodes": {
                "files": "adm_*.csv",
                "skip_rows": 1,
                "episode_key": ["Client"],
                "columns": {"Client": "patient_id", "Admit": "admission_date", "Program": "cohort"},
            }
        },
        base_dir=tmp_path,
    )
    assert recs.rejected[["source", "row"]].to_dict("records") == [
        {"source": "adm_2024a.csv", "row": 4},
        {"source": "adm_2024b.csv", "row": 5},
    ]
    assert recs.read_counts["episodes"] == 4  # the blank line is not a row
    assert len(recs.file_hashes) == 2


def test_refuses_quarter_after_the_data(export_dir: Path, tmp_path: Path) -> None:
    code, out = _run(
        ["report", "--config", str(export_dir / "program.toml"), "--quarter", "2030Q1",
         "--no-progress", "--out", str(tmp_path / "r")]
    )  # fmt: skip
    assert code == 2
    assert "The data end before quarter 2030Q1 starts" in out


def test_gpra_rule_table_against_a_hand_count(sample: iop.Records) -> None:
    """GPRA/SPARS counts recomputed row by row with calendar-month arithmetic (dateutil)."""
    from dateutil.relativedelta import relativedelta

    # at the default k = 11: the IOP row's counts are published since the audit chooses its
    # complementary cells at least cost (the headline counts are hidden last)
    rep = iop.quarterly_report(sample, quarter="2026Q2", progress=False)
    table = {t.key: t.frame for s in rep.sections for t in s.tables}["followup_gpra_rule"]
    iop_row = table.set_index("cohort").loc["IOP"]
    # the same episodes as the library's table: 6-month windows (day 243) closing 2025Q3-2026Q2
    eps = sample.episodes
    close = pd.to_datetime(eps["admission_date"]) + pd.Timedelta(days=243)
    cohort = eps.loc[
        (close >= pd.Timestamp("2025-07-01")) & (close <= pd.Timestamp("2026-06-30"))
        & (eps["cohort"] == "IOP")
    ]  # fmt: skip
    six = sample.followups.loc[sample.followups["timepoint"] == "6mo"].set_index("episode_id")
    due = conducted = died = 0
    for episode_id, admitted in zip(cohort["episode_id"], cohort["admission_date"], strict=True):
        start = admitted.date() + relativedelta(months=5)
        end = admitted.date() + relativedelta(months=8)
        if end > pd.Timestamp("2026-06-30").date():
            continue
        status = six["status"].get(episode_id)
        if status == "died":
            died += 1
            continue
        due += 1
        when = six["assessment_date"].get(episode_id)
        if status == "completed" and start <= when.date() <= end:
            conducted += 1
    assert died == 0  # the IOP row is published only without small death counts
    assert int(iop_row["due"]) == due
    assert int(iop_row["conducted_in_window"]) == conducted
    assert float(iop_row["rate"]) == pytest.approx(conducted / due, rel=1e-12)


def test_calendar_rows_outside_every_window_or_tied_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "adm.csv").write_text(
        "Client,Ep,Admit,Discharge,Program\n"
        "A,1,2024-01-01,2024-02-01,IOP\n"
        "B,1,2024-01-01,2024-02-01,IOP\n"
        "B,2,2024-01-01,2024-03-01,IOP\n"  # same admission day: screens after it are ambiguous
        "C,1,2024-01-01,,IOP\n"  # still in care: open window
    )
    # rows: A on day 0 of the window; A 179 days after discharge (last day: 2024-07-29);
    # A 180 days after (outside); B tied; C a year later (open); E no episode; bad date
    (tmp_path / "lab.csv").write_text(
        "Client,Collected,Result\n"
        "A,2024-01-01,0\nA,2024-07-29,0\nA,2024-07-30,0\nB,2024-01-05,1\n"
        "C,2025-01-01,0\nE,2024-01-05,0\nA,2024-13-01,0\n"
    )
    recs = read_exports(
        {
            "episodes": {
                "files": "adm.csv",
                "episode_key": ["Client", "Ep"],
                "columns": {
                    "Client": "patient_id",
                    "Admit": "admission_date",
                    "Discharge": "discharge_date",
                    "Program": "cohort",
                },
            },
            "use_days": {
                "files": "lab.csv",
                "kind": "screens",
                "columns": {"Client": "patient_id", "Collected": "date", "Result": "used"},
            },
        },
        base_dir=tmp_path,
    )
    got = recs.rejected.loc[recs.rejected["table"] == "use_days", ["row", "reason"]]
    assert got.to_dict("records") == [
        {"row": 4, "reason": "no_episode_link"},
        {"row": 5, "reason": "ambiguous_episode_link"},
        {"row": 7, "reason": "unknown_patient"},
        {"row": 8, "reason": "unparseable_date"},
    ]
    assert len(recs.use_days) == 3 and recs.read_counts["use_days"] == 7


def test_missing_column_names_the_export_and_the_setting(tmp_path: Path) -> None:
    (tmp_path / "adm.csv").write_text("Client,Admit\nA,2024-01-01\n")
    settings = {
        "episodes": {
            "files": "adm.csv",
            "columns": {"Client": "patient_id", "Admit": "admission_date"},
            "episode_key": ["Client"],
        }
    }
    with pytest.raises(iop.MissingColumnError, match=r"\[input.episodes\] \(adm.csv\)"):
        read_exports(settings, base_dir=tmp_path)


def test_screens_declared_daily_get_a_warning_remark(export_dir: Path, tmp_path: Path) -> None:
    cfg = _config(export_dir, tmp_path, replace=(('kind = "screens"', 'kind = "daily"'),))
    recs = read_exports(load_config(cfg).export_input())
    assert any("declare [input.use_days] kind = 'screens'" in r for r in recs.remarks)
    code, out = _run(["check", "--config", str(cfg)])
    assert code == 0 and "only 4% of the days" in out


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"episodes": {"files": "a.csv", "headr_row": 2}}, r"\[input.episodes\]: unknown key"),
        ({"episodes": {"files": "a.csv", "header_row": 0}}, r"header_row must be a whole number"),
        (
            {"episodes": {"files": "a.csv", "header_row": 2, "skip_rows": 1}},
            r"give header_row or skip_rows, not both",
        ),
        ({"episodes": {"files": "a.csv", "kind": "screens"}}, r"kind is a setting of"),
        ({"missing_codes": "spars", "episodes": {"files": "a.csv"}}, r"missing_codes takes"),
        ({"episodes": {"files": "a.csv", "date_format": "MM/DD/YYYY"}}, r"date_format must be"),
        ({"followups": {"files": "f.csv"}}, r"needs an \[input.episodes\] table"),
        ({"episodes": {}}, r"\[input.episodes\] files"),
        ({"timepoints": ["intake", "followup"], "episodes": {"files": "a.csv"}}, r"timepoints"),
    ],
)
def test_input_settings_errors_name_the_setting(settings: dict, message: str) -> None:
    with pytest.raises(iop.ConfigError, match=message):
        ReportConfig.from_dict({"input": settings})


def test_sheet_by_name_and_encoding_per_table(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active.append(["not the data"])
    ws = book.create_sheet("Admissions")
    ws.append(["Client", "Admit", "Program", "Site"])
    ws.append(["A", "2024-01-02", "IOP", "Main"])
    book.save(tmp_path / "adm.xlsx")
    (tmp_path / "fu.csv").write_bytes(
        "Client,Type,Status,Date,Days,Site note\nA,6mo,completed,2024-07-01,0,Café\n".encode(
            "cp1252"
        )
    )
    base = {
        "episodes": {
            "files": "adm.xlsx",
            "sheet": "Admissions",
            "episode_key": ["Client"],
            "columns": {"Client": "patient_id", "Admit": "admission_date", "Program": "cohort"},
        },
        "followups": {
            "files": "fu.csv",
            "encoding": "cp1252",
            "episode_key": ["Client"],
            "columns": {
                "Type": "timepoint",
                "Status": "status",
                "Date": "assessment_date",
                "Days": "days_used_past30",
            },
        },
    }
    recs = read_exports(base, base_dir=tmp_path)
    assert len(recs.episodes) == 1 and len(recs.followups) == 1
    assert recs.followups["Site note"].iloc[0] == "Café"
    bad = {**base, "episodes": {**base["episodes"], "sheet": "Admits"}}
    with pytest.raises(iop.ConfigError, match=r"its sheets are \['Notes', 'Admissions'\]"):
        read_exports(bad, base_dir=tmp_path)
    utf8 = {**base, "followups": {**base["followups"], "encoding": "utf-8"}}
    with pytest.raises(iop.FileReadError, match="is not valid utf-8 text"):
        read_exports(utf8, base_dir=tmp_path)


def test_refuses_input_timepoint_that_matches_no_data(export_dir: Path, tmp_path: Path) -> None:
    cfg = _config(
        export_dir,
        tmp_path,
        replace=(("6mo = {anchor", '12mo = {anchor = "admission", start_day = 335, end_day = 426}'
                  "\n6mo = {anchor"),),
    )  # fmt: skip
    code, out = _run(["check", "--config", str(cfg)])
    assert code == 2
    assert "[input] timepoints: ['12mo'] match no follow-up row" in out
