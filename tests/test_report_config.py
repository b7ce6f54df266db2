"""Report configuration (TOML validation) and the deterministic, atomic, injection-safe writers."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from iopoutcomes import ConfigError, FileReadError
from iopoutcomes.report.config import ReportConfig, load_config
from iopoutcomes.report.model import Kpi, ReportSection, ReportTable
from iopoutcomes.report.writers import (
    render_html,
    source_date,
    write_atomic,
    write_csv_tables,
    write_json,
    write_xlsx,
)


def test_defaults_are_documented_values() -> None:
    cfg = load_config(None)
    assert (cfg.k, cfg.min_denominator, cfg.followup_target, cfg.margin) == (11, 30, 0.8, 0.1)
    assert cfg.profile == "funder" and cfg.fiscal_year_start_month == 1


def test_toml_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "report.toml"
    path.write_text(
        '[report]\nprofile = "public"\nfiscal_year_start_month = 7\n'
        '[privacy]\nk = 6\n[comparison]\nmargin = 0.15\nadjust = ["age", "severity"]\n'
        '[definition]\nmissing = "exclude"\n'
        '[[benchmarks]]\nname = "Band"\nlow = 0.5\nhigh = 0.7\ncitation = "Ref"\nyear = 2014\n'
    )
    cfg = load_config(path)
    assert cfg.profile == "public" and cfg.k == 6 and cfg.adjust == ("age", "severity")
    assert cfg.definition == {"missing": "exclude"} and cfg.benchmarks[0].high == 0.7
    assert cfg.hash() != ReportConfig().hash()
    assert cfg.hash() == load_config(path).hash()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[reprot]\nk = 1\n", "unknown section"),
        ("[privacy]\nthreshold = 5\n", "unknown key 'threshold'"),
        ("[privacy]\nk = '11'\n", "privacy.k must be int"),
        ("[privacy]\nk = 1\n", "privacy.k must be between"),
        ("[comparison]\nmargin = 10\n", "comparison.margin"),
        ("[report]\nprofile = 'everyone'\n", "report.profile"),
        ("[[benchmarks]]\nname = 'x'\nlow = 0.1\nhigh = 0.2\n", "citation"),
        ("not toml at all [", "not valid TOML"),
    ],
)
def test_invalid_config_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(path)


def test_missing_config_file() -> None:
    with pytest.raises(FileReadError, match="not found"):
        load_config("/nonexistent/report.toml")


def _tables() -> list[ReportTable]:
    frame = pd.DataFrame(
        {
            "group": ['=HYPERLINK("http://x")', "<script>alert(1)</script>"],
            "n": [120, 45],
            "rate": [0.55, float("nan")],
            "suppressed": [False, True],
        }
    )
    return [ReportTable("rates", "Rates <b>", frame, footnote="Wilson 95% CI & n")]


def test_html_is_escaped_and_self_contained() -> None:
    section = ReportSection(
        "summary",
        "Summary <i>",
        paragraphs=("About 6 in 10 <clients>",),
        kpis=(Kpi("Follow-up <rate>", "81%", "n = 120"),),
        tables=tuple(_tables()),
    )
    html = render_html(title="T <x>", subtitle="2026Q3", stamp={"k": "<v>"}, sections=[section])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>" not in html and "<i>" not in html and "<clients>" not in html
    assert "=HYPERLINK(&#34;http://x&#34;)" in html  # shown as inert, escaped text
    assert "<link" not in html and "src=" not in html  # no remote assets
    assert "55.0%" in html and "—" in html  # percent formatting, missing shown as a dash


def test_csv_and_xlsx_neutralise_formulas(tmp_path: Path) -> None:
    tables = _tables()
    (csv_path,) = write_csv_tables(tables, tmp_path)
    text = csv_path.read_text()
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text
    xlsx = write_xlsx(tmp_path / "r.xlsx", stamp={"as_of": "2026-09-30"}, tables=tables, when=None)
    from openpyxl import load_workbook

    sheet = load_workbook(xlsx)["rates"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    # pivot-ready: one header row in row 1, data from row 2 (no title row, no footnote)
    assert values[1][0] == '\'=HYPERLINK("http://x")'
    assert values[1][1] == 120 and isinstance(values[1][1], int)  # numbers stay typed
    assert values[2][2] is None  # missing rate is an empty cell, not the text "nan"
    assert len(values) == 1 + len(tables[0].frame)
    props = zipfile.ZipFile(xlsx).read("docProps/core.xml").decode()
    assert "openpyxl" not in props  # no author/tool names in document properties


def test_outputs_are_byte_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    when = source_date()
    digests = []
    for run in ("a", "b"):
        folder = tmp_path / run
        tables = _tables()
        write_xlsx(folder / "r.xlsx", stamp={"x": 1}, tables=tables, when=when)
        write_json(folder / "r.json", stamp={"x": 1}, sections=[], tables=tables)
        write_csv_tables(tables, folder)
        digests.append(
            [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())]
        )
    assert digests[0] == digests[1]
    document = json.loads((tmp_path / "a" / "r.json").read_text())
    assert document["tables"]["rates"]["rows"][1][2] is None  # NaN -> null, valid JSON


def test_write_atomic_leaves_no_partial_file(tmp_path: Path) -> None:
    class Boom(Exception):
        pass

    target = tmp_path / "report.html"
    target.write_text("old")

    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    # a failure while writing keeps the previous file and leaves no temporary behind
    import os

    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        raise Boom

    os.fsync = failing_fsync  # type: ignore[assignment]
    try:
        with pytest.raises(Boom):
            write_atomic(target, b"half")
    finally:
        os.fsync = real_fsync
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert source_date() is None
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert source_date() is not None and source_date().year == 1970  # type: ignore[union-attr]


def test_zip_entries_have_fixed_times(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", stamp={}, tables=_tables(), when=None)
    infos = zipfile.ZipFile(io.BytesIO(path.read_bytes())).infolist()
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
