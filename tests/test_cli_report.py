"""End-to-end tests of ``iopoutcomes report`` on the sample and on the real CTN-0094 tables."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import iopoutcomes as iop
from iopoutcomes.cli import cli
from iopoutcomes.report.command import EXIT_AUDIT, EXIT_INPUT, EXIT_OK


def _run(*args: str) -> object:
    return CliRunner().invoke(cli, ["report", *args])


def _has_pdf_writer() -> bool:
    """WeasyPrint imports only with the pdf extra installed and Pango on the system."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def test_demo_writes_every_format(tmp_path: Path) -> None:
    result = _run("--demo", "--out", str(tmp_path), "--no-progress")
    assert result.exit_code == EXIT_OK, result.output
    assert "Quarterly report for 2026Q2" in result.output  # last complete quarter, printed
    names = {p.name for p in tmp_path.iterdir()}
    assert {"report.html", "report.xlsx", "report.json"} <= names
    if _has_pdf_writer():
        assert "report.pdf" in names
    else:  # the run still succeeds and says why the PDF is missing
        assert "report.pdf" not in names and "pdf not written" in result.output
    assert {"abstinence.csv", "followup_by_cohort.csv", "sites.csv", "stamp.csv"} <= names
    document = json.loads((tmp_path / "report.json").read_text())
    assert document["stamp"]["period"] == "2026Q2"
    assert set(document["tables"]) == {p.stem for p in tmp_path.glob("*.csv")}


def test_files_and_config(tmp_path: Path) -> None:
    data = tmp_path / "data"
    paths = iop.load_sample().to_csv(data)
    config = tmp_path / "report.toml"
    config.write_text(
        '[report]\nprogram = "Demo program"\nprofile = "public"\n[comparison]\nmargin = 0.15\n'
    )
    out = tmp_path / "out"
    result = _run(
        "--episodes",
        str(paths["episodes"]),
        "--followups",
        str(paths["followups"]),
        "--quarter",
        "2026Q1",
        "--config",
        str(config),
        "--format",
        "html,csv,json",
        "--out",
        str(out),
    )
    assert result.exit_code == EXIT_OK, result.output
    stamp = json.loads((out / "report.json").read_text())["stamp"]
    assert stamp["profile"] == "public" and stamp["period"] == "2026Q1"
    # public profile: tables, not file names; 12-digit hash prefixes
    assert set(stamp["input_files"]) == {"episodes", "followups"}
    assert all(len(h) == 12 for h in stamp["input_files"].values())
    assert not (out / "report.xlsx").exists()
    comparison = pd.read_csv(out / "comparison.csv")
    assert (comparison["margin"] == 0.15).all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--episodes", "/nonexistent/episodes.csv"], "does not exist"),
        (["--demo", "--quarter", "third"], "2026Q3"),
        (["--demo", "--format", "docx"], "unknown format"),
        (["--demo", "--quarter", "2030Q1"], "data end before"),
        ([], "--episodes"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = _run(*args, "--out", str(tmp_path / "out"))
    assert result.exit_code == EXIT_INPUT
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_bad_config_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[privacy]\nk = 1\n")
    result = _run("--demo", "--config", str(config), "--out", str(tmp_path / "out"))
    assert result.exit_code == EXIT_INPUT and "privacy.k" in result.output
    config.write_text('[definition]\nmissing = "guess"\n')
    result = _run("--demo", "--config", str(config), "--out", str(tmp_path / "out"))
    assert result.exit_code == EXIT_INPUT and "[definition]" in result.output


def test_audit_failure_exit_3_and_nothing_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    from iopoutcomes import privacy

    # simulate a table the suppression cannot protect (see tests/test_report.py)
    monkeypatch.setattr(privacy, "_protecting_candidate", lambda *args: None)
    monkeypatch.setattr(privacy, "_feasible_integers", lambda lo, hi: np.zeros_like(lo))
    result = _run("--demo", "--out", str(tmp_path / "out"))
    assert result.exit_code == EXIT_AUDIT
    assert "suppression audit failed" in result.output
    assert not (tmp_path / "out").exists()


def test_ctn0094_degrades_without_quarters(ctn0094_dir: Path, tmp_path: Path) -> None:
    records = iop.read_ctn0094(ctn0094_dir)
    report = iop.quarterly_report(records, "2026Q3", progress=False)
    assert report.quarter is None
    omitted = " ".join(report.omitted)
    assert "study days only" in omitted and "no follow-up interviews" in omitted
    assert "Trends are omitted: study-day records have no calendar quarters" in omitted
    summary = " ".join(report.sections[1].paragraphs)
    assert "quarter-based parts of the report are omitted" in summary
    keys = {t.key for t in report.tables}
    assert {"flow_episodes", "milestones", "sites", "stamp"} <= keys
    assert report.stamp["data_as_of"] == "not applicable (study-day data)"
    assert "everybody.parquet" in report.stamp["input_files"]
    files = report.write(tmp_path, ("html", "json", "csv"))
    html = files["html"].read_text()
    assert "Not available: study-day records have no calendar quarters." in html
    flow = report.table("flow_episodes").frame
    assert int(flow.loc[flow["cohort"] == "Total", "episodes"].iloc[0]) == len(records.episodes)
