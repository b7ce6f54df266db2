"""Tests for the ``iopoutcomes`` command line (validate, simulate), run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from iopoutcomes import __version__
from iopoutcomes.cli import cli, collect_tables, main

SECRET = "ZZSECRET42"


def write_tables(folder: Path, *, bad_followup: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "patient_id": ["p1", "p2"],
            "episode_id": ["e1", "e2"],
            "cohort": ["IOP", "inpatient"],
            "admission_date": ["2024-01-01", "2024-01-10"],
        }
    ).to_csv(folder / "episodes.csv", index=False)
    pd.DataFrame(
        {
            "episode_id": ["e1", "e2", SECRET if bad_followup else "e1"],
            "timepoint": ["intake", "intake", "3mo"],
            "status": ["completed", "refused", "completed"],
            "days_used_past30": ["3", "", "31" if bad_followup else "0"],
        }
    ).to_csv(folder / "followups.csv", index=False)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_version() -> None:
    code, out, _ = run("--version")
    assert code == 0 and __version__ in out
    assert main(["--version"]) == 0


def test_validate_folder_prints_counts(tmp_path: Path) -> None:
    write_tables(tmp_path)
    (tmp_path / "notes.txt").write_text("ignored")
    code, out, err = run("validate", str(tmp_path))
    assert code == 0, err
    assert "<Records: 2 tables, 2 episodes read, 2 accepted, 0 rejected" in out
    assert "followups.csv" in out
    assert "Rejected rows by reason" not in out


def test_validate_reports_reasons_without_values(tmp_path: Path) -> None:
    write_tables(tmp_path, bad_followup=True)
    code, out, _ = run("validate", str(tmp_path / "episodes.csv"), str(tmp_path / "followups.csv"))
    assert code == 0  # rejected rows are reported, not a failure
    assert "Rejected rows by reason:" in out
    assert "days_used_out_of_range" in out
    assert SECRET not in out
    code, _, err = run("validate", str(tmp_path), "--fail-on-reject")
    assert code == 1 and "rows rejected: 1 (--fail-on-reject)" in err


def test_validate_rejected_out(tmp_path: Path) -> None:
    write_tables(tmp_path / "in", bad_followup=True)
    target = tmp_path / "out" / "rejected.csv"
    code, _, _ = run("validate", str(tmp_path / "in"), "--rejected-out", str(target))
    assert code == 0
    rejected = pd.read_csv(target)
    assert rejected[["table", "row", "reason"]].values.tolist() == [
        ["followups", 3, "days_used_out_of_range"]
    ]
    assert SECRET not in target.read_text()


def test_validate_strict_exits_1(tmp_path: Path) -> None:
    write_tables(tmp_path, bad_followup=True)
    code, _, err = run("validate", str(tmp_path), "--strict")
    assert code == 1
    assert err.startswith("error: followups (followups.csv) row 3")
    assert "Traceback" not in err


def test_validate_file_problems_exit_2_with_one_line(tmp_path: Path) -> None:
    code, out, err = run("validate", str(tmp_path / "episodes.csv"))
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "does not exist" in err
    assert "Traceback" not in err + out
    (tmp_path / "episodes.csv").write_text("pt,ep\n1,2\n")
    code, _, err = run("validate", str(tmp_path))
    assert code == 2 and "columns={" in err and "Found: ['pt', 'ep']" in err
    code, _, err = run("validate", str(tmp_path / "other.csv"))
    assert code == 2 and "Cannot tell which table" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run("validate", str(empty))
    assert code == 2 and "No episodes file" in err


def test_validate_options(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    pd.DataFrame(
        {
            "pt": ["p1"],
            "episode_id": ["e1"],
            "cohort": ["IOP"],
            "admission_date": ["05/01/2024"],
        }
    ).to_csv(folder / "episodes_2024.csv", index=False)
    pd.DataFrame({"episode_id": ["e1"], "timepoint": ["2wk"], "status": ["lost"]}).to_csv(
        folder / "fu.csv", index=False
    )
    columns = tmp_path / "columns.json"
    columns.write_text(json.dumps({"pt": "patient_id"}))
    codes = tmp_path / "codes.json"
    codes.write_text(json.dumps({"status": {"lost": "not_located"}}))
    code, out, err = run(
        "validate",
        str(folder / "episodes_2024.csv"),
        "--followups",
        str(folder / "fu.csv"),
        "--columns-json",
        str(columns),
        "--codes-json",
        str(codes),
        "--date-format",
        "%d/%m/%Y",
        "--timepoints",
        "intake, 2wk",
        "--fail-on-reject",
    )
    assert code == 0, err
    assert "timepoints intake, 2wk" in out
    assert "Data as of 2024-01-05" in out
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    code, _, err = run(
        "validate", str(folder / "episodes_2024.csv"), "--columns-json", str(bad_json)
    )
    assert code == 2 and "not valid JSON" in err


def test_collect_tables_rules(tmp_path: Path) -> None:
    write_tables(tmp_path)
    (tmp_path / "episodes_old.csv").write_text("x\n1\n")
    with pytest.raises(ValueError, match="2 files look like the episodes table"):
        collect_tables([tmp_path], {})
    chosen = collect_tables([tmp_path], {"episodes": tmp_path / "episodes.csv"})
    assert chosen == {
        "episodes": tmp_path / "episodes.csv",
        "followups": tmp_path / "followups.csv",
    }


def test_main_returns_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_tables(tmp_path)
    assert main(["validate", str(tmp_path)]) == 0
    assert main(["validate", str(tmp_path / "missing")]) == 2
    assert "error:" in capsys.readouterr().err


def test_simulate_writes_reproducible_files(tmp_path: Path) -> None:
    code, out, err = run("simulate", "--n", "60", "--seed", "3", "--out", str(tmp_path / "a"))
    assert code == 0, err
    assert "episodes.csv: 60 rows" in out
    run("simulate", "--n", "60", "--seed", "3", "--out", str(tmp_path / "b"))
    for name in ("episodes.csv", "followups.csv", "use_days.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    code, out, _ = run("validate", str(tmp_path / "a"))
    assert code == 0 and "60 episodes read, 60 accepted, 0 rejected" in out
    code, _, err = run("simulate", "--n", "0", "--out", str(tmp_path / "c"))
    assert code == 2


# --- the command-line boundary: no raw traceback, ever ------------------------------------------


def _crash_simulate(monkeypatch: pytest.MonkeyPatch) -> None:
    import iopoutcomes.simulate

    def boom(*args: object, **kwargs: object) -> None:
        raise KeyError(SECRET)  # a pandas KeyError names the value it could not find

    monkeypatch.setattr(iopoutcomes.simulate, "simulate_records", boom)


def test_unexpected_error_is_one_line_without_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _crash_simulate(monkeypatch)
    code, out, err = run("simulate", "--n", "10", "--out", str(tmp_path))
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "simulate" in lines[0] and "KeyError" in lines[0]
    assert "please report" in lines[0] and "--debug" in lines[0]
    assert SECRET not in out + err and "Traceback" not in err


def test_debug_flag_shows_the_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _crash_simulate(monkeypatch)
    result = CliRunner().invoke(cli, ["--debug", "simulate", "--n", "10", "--out", str(tmp_path)])
    assert isinstance(result.exception, KeyError)  # re-raised, so Python prints the traceback


def test_console_script_exit_status_for_internal_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _crash_simulate(monkeypatch)
    assert main(["simulate", "--n", "10", "--out", str(tmp_path)]) == 1


@pytest.mark.parametrize("value", ["soon", "1.5", "1e20", "-1", "99999999999999999999"])
def test_bad_source_date_epoch_is_one_clear_error(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    code, out, err = run("simulate", "--n", "10", "--out", str(tmp_path))
    assert code == 2
    assert err.strip().splitlines() == [err.strip()]
    assert "SOURCE_DATE_EPOCH must be a whole number" in err
    assert not any(tmp_path.iterdir())  # refused before any work


def test_valid_source_date_epoch_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", " 1700000000 ")
    from iopoutcomes._epoch import source_date

    assert str(source_date()) == "2023-11-14 22:13:20"
