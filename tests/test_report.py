"""The quarterly report: suppression of its count structures, privacy, formats, reproducibility."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import iopoutcomes as iop
from iopoutcomes import SuppressionAuditError
from iopoutcomes.report.periods import last_complete_quarter, quarter_period, reporting_quarter
from iopoutcomes.report.suppression import TOTAL, suppress_partition

ROOT = Path(__file__).resolve().parents[1]

# A zero-heavy table whose small cells cannot be protected inside their own rows and columns
# (an earlier, row/column-only search gave up on it): the protection must reach further.
ZERO_HEAVY = pd.DataFrame(
    {"c0": [0, 3, 8], "c1": [2, 0, 12], "c2": [12, 8, 0]}, index=["r0", "r1", "r2"]
)


def _disable_protection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulate a table the suppression cannot protect: every hidden cell fails the audit and
    no further cell may be hidden, so the run must stop rather than publish."""
    import numpy as np

    from iopoutcomes import privacy

    monkeypatch.setattr(privacy, "_protecting_candidate", lambda *args: None)
    monkeypatch.setattr(privacy, "_feasible_integers", lambda lo, hi: np.zeros_like(lo))


@pytest.fixture(scope="module")
def sample() -> iop.Records:
    return iop.load_sample()


@pytest.fixture(scope="module")
def report(sample_report: iop.QuarterlyReport) -> iop.QuarterlyReport:
    return sample_report  # built once per test process (conftest.py), same sample and quarter


# --- periods -------------------------------------------------------------------------------------


def test_quarters_calendar_and_fiscal() -> None:
    q = quarter_period("2025Q1", fiscal_year_start_month=10)
    # federal fiscal year 2025 starts in October 2024
    assert (q.start_time.date().isoformat(), q.end_time.date().isoformat()) == (
        "2024-10-01",
        "2024-12-31",
    )
    assert str(last_complete_quarter(pd.Timestamp("2026-07-01"))) == "2026Q2"
    assert str(last_complete_quarter(pd.Timestamp("2026-06-29"))) == "2026Q1"
    with pytest.raises(iop.ParameterError, match="2026Q3"):
        quarter_period("Q3-2026")


def test_reporting_quarter_defaults_to_the_last_complete_quarter() -> None:
    # hand-worked: data complete up to 2026-07-01 -> Q3 has begun, Q2 (Apr-Jun) is complete;
    # up to 2026-06-30 -> Q2's last day is included, so Q2 is complete; up to 2026-06-29 -> Q1
    assert str(reporting_quarter(None, "2026-07-01")) == "2026Q2"
    assert str(reporting_quarter(None, pd.Timestamp("2026-06-30"))) == "2026Q2"
    assert str(reporting_quarter(None, "2026-06-29")) == "2026Q1"
    # federal fiscal year (starts in October): FY2026 Q3 is April-June 2026
    assert str(reporting_quarter(None, "2026-07-01", fiscal_year_start_month=10)) == "2026Q3"
    assert str(reporting_quarter(None, "2026-09-30", fiscal_year_start_month=10)) == "2026Q4"
    # a quarter that is asked for is taken as given, complete or not
    assert str(reporting_quarter("2026Q3", "2026-07-01")) == "2026Q3"
    with pytest.raises(iop.ParameterError, match="data-as-of"):
        reporting_quarter(None, None)


def test_quarterly_report_defaults_to_the_last_complete_quarter_like_the_cli(
    sample: iop.Records,
) -> None:
    # issue 13: the function's default was a fixed "2026Q3", so quarterly_report(load_sample())
    # silently built a provisional report while the CLI built 2026Q2. Both now pass None to the
    # one rule (reporting_quarter); the CLI side is pinned by tests/test_report_golden.py.
    import inspect

    from iopoutcomes.report.command import run_report
    from iopoutcomes.report.config import ReportConfig
    from iopoutcomes.report.inputs import prepare_inputs

    assert inspect.signature(iop.quarterly_report).parameters["quarter"].default is None
    assert inspect.signature(run_report).parameters["quarter"].default is None
    inputs = prepare_inputs(sample, None, ReportConfig())
    assert str(inputs.period) == "2026Q2"
    assert not any("provisional" in note for note in inputs.omitted)
    provisional = prepare_inputs(sample, "2026Q3", ReportConfig())
    assert any("provisional" in note for note in provisional.omitted)


# --- suppression of hand-built tables ---------------------------------------------------------


def test_primary_and_complementary_suppression() -> None:
    # IOP: 40 abstinent / 25 not; inpatient: 3 / 30. The 3 is primary; its row and column
    # each get a complementary cell, so it cannot be recovered from the published totals.
    counts = pd.DataFrame({"yes": [40, 3], "no": [25, 30]}, index=["IOP", "inpatient"])
    part = suppress_partition(counts, k=11)
    assert part.n_primary == 1 and part.n_complementary == 3
    assert part.hidden.loc["inpatient", "yes"] and part.hidden.loc["IOP", "yes"]
    assert part.hidden.loc["inpatient", "no"] and part.hidden.loc["IOP", "no"]
    assert part.shown(TOTAL, TOTAL) == 98  # totals stay published
    # the hidden 3 lies anywhere in 1..43 given the totals: at least k values
    assert part.values.loc["IOP", TOTAL] == 65 and part.values.loc["inpatient", TOTAL] == 33


def test_zero_is_shown_and_large_counts_untouched() -> None:
    counts = pd.DataFrame({"yes": [0, 50], "no": [40, 60]}, index=["a", "b"])
    part = suppress_partition(counts, k=11)
    assert part.n_hidden == 0 and part.shown("a", "yes") == 0


def test_split_adds_the_lookback_subtotal_relation() -> None:
    # quarters Q2, Q3 form the lookback; their sub-total is published in another table.
    counts = pd.DataFrame({"yes": [30, 4, 50], "no": [20, 40, 30]}, index=["Q1", "Q2", "Q3"])
    split = pd.Series([False, True, True], index=counts.index)
    part = suppress_partition(counts, k=11, split=split)
    # without the split Q1 could serve as the complementary cell; with it the hidden 4 must
    # be protected inside the lookback: Q3 is hidden too (54 - 50 would give it away)
    assert part.hidden.loc["Q2", "yes"] and part.hidden.loc["Q3", "yes"]
    assert not part.hidden.loc["Q1", "yes"]


def test_zero_heavy_table_is_protected() -> None:
    part = suppress_partition(ZERO_HEAVY, k=11)
    assert part.hidden.loc["r1", "c0"] and part.n_complementary >= 3


def test_audit_failure_fails_the_partition(monkeypatch: pytest.MonkeyPatch) -> None:
    _disable_protection(monkeypatch)
    with pytest.raises(SuppressionAuditError, match="fewer than 11"):
        suppress_partition(ZERO_HEAVY, k=11)


def test_audit_failure_fails_the_report(
    sample: iop.Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    _disable_protection(monkeypatch)
    with pytest.raises(SuppressionAuditError):
        iop.quarterly_report(sample, "2026Q2", progress=False)


# --- the report on the sample -----------------------------------------------------------------


def test_sections_and_cohort_definition(report: iop.QuarterlyReport) -> None:
    keys = [s.key for s in report.sections]
    assert keys == [
        "cover",
        "summary",
        "flow",
        "followup",
        "outcomes",
        "milestones",
        "measurement",
        "trends",
        "sites",
        "quality",
        "methods",
    ]
    assert report.stamp["lookback"] == "2025Q3–2026Q2" and report.quarter == "2026Q2"
    assert report.n_suppressed == report.stamp["suppressed_cells"] > 0
    # summary tiles: value, interval, n, target, signal
    kpi = report.sections[1].kpis[0]
    # the tile shows what the follow-up table publishes: 157 of 231 due (hand count in
    # test_disclosure.py); the small out-of-window counts (8 and 2) are protected by hiding
    # other cells, so the headline rate is published
    total = report.table("followup_by_cohort").frame.iloc[-1]
    assert (int(total["conducted_in_window"]), int(total["due"])) == (157, 231)
    assert kpi.value == "68%" and "95% CI" in kpi.detail and "n = 231 due" in kpi.detail
    assert kpi.target == "target 80%"
    assert kpi.signal in ("common-cause variation only", "special-cause variation")


def test_numbers_come_from_the_library(sample: iop.Records, report: iop.QuarterlyReport) -> None:
    # independent route: episode outcomes of the snapshot at the quarter end, cohort = 6-month
    # windows (days 152-243 after admission) closed in 2025Q3..2026Q2, followup_rates on it
    eps = sample.episodes
    close = (eps["admission_date"] + pd.to_timedelta(243, unit="D")).dt.to_period("Q")
    ids = set(
        eps.loc[close.astype(str).isin(["2025Q3", "2025Q4", "2026Q1", "2026Q2"]), "episode_id"]
    )
    rec = dataclasses.replace(sample, data_as_of=pd.Timestamp("2026-06-30"))
    eo = iop.episode_outcomes(rec)
    sub = dataclasses.replace(eo, table=eo.table.loc[eo.table["episode_id"].isin(ids)])
    expected = iop.followup_rates(sub, by="cohort", timepoints="6mo").table.set_index("group")
    got = report.table("followup_by_cohort").frame.set_index("cohort")
    for cohort in ("IOP", "inpatient"):
        assert got.loc[cohort, "due"] == expected.loc[cohort, "due"]
        if not pd.isna(got.loc[cohort, "conducted_in_window"]):  # published: must be right
            assert (
                got.loc[cohort, "conducted_in_window"]
                == expected.loc[cohort, "conducted_in_window"]
            )
            assert got.loc[cohort, "rate"] == pytest.approx(expected.loc[cohort, "rate"], rel=1e-12)
    # the using rate and the complete-case rate differ by the missing outcomes only
    ab = report.table("abstinence").frame
    row = ab.loc[(ab["timepoint"] == "3mo") & (ab["cohort"] == "IOP")].iloc[0]
    assert row["n"] - row["missing"] == row["complete_case_n"]
    assert row["rate"] == pytest.approx(row["abstinent"] / row["n"], rel=1e-12)


def test_published_tables_never_show_small_counts(report: iop.QuarterlyReport) -> None:
    k = report.config.k
    count_columns = {
        "due",
        "conducted_in_window",
        "conducted_out_of_window",
        "not_conducted",
        "n",
        "n_events",
        "abstinent",
        "missing",
        "complete_case_n",
        "episodes",
        "known",
        "met",
        "admissions",
        "discharges",
        "in_care_at_end",
        "followups_pending",
        "interviews",
        "completed",
        "in_window",
        "out_of_window",
        "followed_n",
        "not_followed_n",
        "rows",
    }
    for table in report.tables:
        for column in count_columns & set(table.frame.columns):
            values = pd.to_numeric(table.frame[column], errors="coerce").dropna()
            assert not ((values >= 1) & (values < k)).any(), (table.key, column)
        # rates are hidden wherever a count behind them is hidden
        if {"rate", "n"} <= set(table.frame.columns):
            hidden_n = table.frame["n"].isna().to_numpy()
            assert np.isnan(table.frame["rate"].to_numpy(float)[hidden_n]).all(), table.key


def test_rates_need_min_denominator(sample: iop.Records) -> None:
    rep = iop.quarterly_report(
        sample, "2026Q2", {"privacy": {"min_denominator": 100}}, progress=False
    )
    frame = rep.table("followup_by_cohort").frame
    small = frame["due"].astype("Float64") < 100
    assert small.any()
    assert frame.loc[small.fillna(True).to_numpy(bool), "rate"].isna().all()
    # the reason names the denominator where the counts are published (a hidden count is
    # reported as a small cell first: in the sample the audit hides the 6-month in-window counts)
    counted = frame["conducted_in_window"].notna().to_numpy(bool)
    small_rows = small.fillna(False).to_numpy(bool)
    assert (frame.loc[small_rows & counted, "suppression"] == "denominator < 100").all()
    assert (frame.loc[small_rows & ~counted, "suppression"] == "small cell").all()


def test_suppressed_comparison_hides_narrative(sample: iop.Records) -> None:
    # with min_denominator = 90 the inpatient rate (83 due) is not printed: no comparison
    # numbers, no narrative, no forest plot
    rep = iop.quarterly_report(
        sample, "2026Q2", {"privacy": {"min_denominator": 90}}, progress=False
    )
    frame = rep.table("comparison").frame
    assert frame["suppressed"].all() and frame["diff"].isna().all()
    text = " ".join(rep.sections[4].paragraphs)
    assert "not shown because a count behind it is suppressed" in text
    assert not any(f.key == "comparison" for f in rep.sections[4].figures)


def test_adjusted_comparison_and_changelog_break(sample: iop.Records) -> None:
    config = {
        "comparison": {"adjust": ["age", "severity"]},
        "changelog": [{"date": "2025-10-01", "version": "2", "description": "new window rule"}],
    }
    rep = iop.quarterly_report(sample, "2026Q2", config, progress=False)
    analyses = set(rep.table("comparison").frame["analysis"])
    assert {"adjusted (g-computation)", "adjusted (IPTW)"} <= analyses
    assert rep.table("changelog").frame["version"].tolist() == ["2"]
    trends = next(sec for sec in rep.sections if sec.key == "trends")
    assert "2025Q4" in " ".join(trends.paragraphs)


def test_public_profile_has_no_fine_dates_or_site_names(sample: iop.Records) -> None:
    rep = iop.quarterly_report(sample, "2026Q2", profile="public", progress=False)
    html = rep.to_html()
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", html)  # no day-level dates anywhere
    assert "Site A" not in html and "Site 1" in html
    assert rep.stamp["data_as_of"] == "in 2026Q3"
    internal = iop.quarterly_report(sample, "2026Q2", profile="internal", progress=False)
    assert internal.stamp["data_as_of"] == "2026-07-01"
    assert "42 CFR Part 2" in " ".join(internal.sections[0].paragraphs)


def test_incomplete_quarter_is_provisional(sample: iop.Records) -> None:
    rep = iop.quarterly_report(sample, "2026Q3", progress=False)
    assert any("provisional" in note for note in rep.omitted)
    with pytest.raises(iop.InsufficientDataError, match="data end before"):
        iop.quarterly_report(sample, "2027Q1", progress=False)


def test_figures_are_drawn_from_suppressed_tables(report: iop.QuarterlyReport) -> None:
    figures = {f.key: f for s in report.sections for f in s.figures}
    assert {"cascade", "followup_rates", "abstinence", "trend_followup", "funnel"} <= set(figures)
    sites = report.table("sites").frame
    hidden_sites = sites.loc[sites["suppressed"], "site"].tolist()
    assert hidden_sites  # the sample has small sites
    for name in hidden_sites:
        assert f"{name}: suppressed" in figures["funnel"].alt
    for figure in figures.values():
        assert figure.svg.startswith("<svg") and "<script" not in figure.svg


def test_repr_and_notebook_summary(report: iop.QuarterlyReport) -> None:
    assert repr(report).startswith("<QuarterlyReport: 2026Q2, funder profile")
    assert "cells suppressed" in report._repr_html_()


# --- injection, formats, reproducibility ------------------------------------------------------


INJECT_FORMULA = '=HYPERLINK("http://x")'
INJECT_SCRIPT = "<script>alert(1)</script>"


def test_injection_is_neutralised_in_every_format(sample: iop.Records, tmp_path: Path) -> None:
    eps = sample.episodes.copy()
    eps["site"] = eps["site"].replace({"Site A": INJECT_FORMULA, "Site E": INJECT_SCRIPT})
    records = dataclasses.replace(sample, episodes=eps)
    rep = iop.quarterly_report(records, "2026Q2", progress=False)
    files = rep.write(tmp_path, ("html", "xlsx", "csv", "json"))
    html = files["html"].read_text("utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "=HYPERLINK(&#34;http://x&#34;)" in html
    text = files["csv/sites"].read_text("utf-8")
    assert "'=HYPERLINK" in text and not re.search(r'(^|,)"?=HYPERLINK', text, re.M)
    from openpyxl import load_workbook

    book = load_workbook(files["xlsx"])
    cells = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert INJECT_FORMULA not in cells and "'" + INJECT_FORMULA in cells
    assert all(not (isinstance(v, str) and v.startswith("=")) for v in cells)
    document = json.loads(files["json"].read_text("utf-8"))
    sites = [row[0] for row in document["tables"]["sites"]["rows"]]
    assert INJECT_FORMULA in sites and INJECT_SCRIPT in sites  # JSON keeps data as data


def test_dollar_signs_in_names_are_drawn_literally(sample: iop.Records) -> None:
    # a "$" pair in a cohort or site name must not switch matplotlib to mathtext (a parse
    # error aborted the whole report with a traceback)
    name = "$\\frac{a$ inpatient"
    eps = sample.episodes.copy()
    eps["cohort"] = eps["cohort"].replace({"inpatient": name})
    eps["site"] = eps["site"].replace({"Site A": "Main St $5 and $"})
    records = dataclasses.replace(sample, episodes=eps)
    rep = iop.quarterly_report(
        records, "2026Q2", config={"report": {"reference_cohort": name}}, progress=False
    )
    figures = {f.key: f for s in rep.sections for f in s.figures}
    assert name in figures["abstinence"].alt
    assert all(f.svg.startswith("<svg") for f in figures.values())


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.suffix in (".html", ".xlsx", ".csv", ".json")
    }


@pytest.mark.parametrize("epoch", [None, "1790000000"])
def test_rerun_is_byte_identical(
    sample: iop.Records, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, epoch: str | None
) -> None:
    if epoch is None:
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    else:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    for run in ("a", "b"):
        rep = iop.quarterly_report(sample, "2026Q2", progress=False)
        rep.write(tmp_path / run, ("html", "xlsx", "csv", "json"))
    first, second = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert first == second and len(first) >= 15
    stamp = json.loads((tmp_path / "a" / "report.json").read_text())["stamp"]
    if epoch is None:
        assert stamp["generated"].startswith("not stamped")
    else:
        assert stamp["generated"] == "2026-09-21T14:13:20Z"


def _pdf_pages(data: bytes) -> int:
    """Count page objects, also inside compressed object streams (no PDF library needed)."""
    pattern = re.compile(rb"/Type\s*/Page(?![s\w])")
    count = len(pattern.findall(data))
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            count += len(pattern.findall(zlib.decompress(match.group(1))))
        except zlib.error:
            continue
    return count


def test_pdf_has_the_expected_pages(report: iop.QuarterlyReport, tmp_path: Path) -> None:
    pytest.importorskip("weasyprint", reason="the pdf extra (WeasyPrint) is not installed")
    files = report.write(tmp_path, ("pdf",))
    data = files["pdf"].read_bytes()
    assert data.startswith(b"%PDF-")
    pages = _pdf_pages(data)
    # print CSS: contents page, then every section starts a new page (10 sections)
    assert 11 <= pages <= 40, pages
    assert b"openpyxl" not in data


def test_html_renders_in_headless_chromium(report: iop.QuarterlyReport, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    html = report.write(tmp_path, ("html",))["html"]
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            f"--screenshot={shot}",
            "--window-size=1280,2000",
            html.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console
    assert shot.stat().st_size > 10_000
    # the page is self-contained: nothing is fetched from the network
    assert not re.search(r"""(src|href)=["']https?:""", html.read_text())


# --- milestones on equal terms (issue 21) --------------------------------------------------------

# Definition settings whose names must never appear in report prose (the snake_case ones: the
# others are ordinary words such as "missing" or "version"), plus template braces and "_days".
TEMPLATE_NAMES = (
    "{",
    "}",
    "_days",
    *sorted(
        {
            f.name
            for cls in (iop.OutcomeDefinition, iop.Milestone)
            for f in dataclasses.fields(cls)
            if "_" in f.name
        }
    ),
)


def _prose_hits(text: str, headers: set[str]) -> list[str]:
    """Template names in one piece of text. The canonical input-table name ``use_days`` (in the
    provenance stamp) is a table name, not a template; a bare table column header (an exact
    cell, or a PDF line without sentence punctuation) is a column name, not prose."""
    text = text.replace("use_days", "")
    if not text.strip() or text.strip() in headers:
        return []
    if text.lstrip().startswith("{"):
        try:
            json.loads(text)  # structured provenance in the stamp sheet, not prose
            return []
        except ValueError:
            pass
    hits = []
    for name in TEMPLATE_NAMES:
        pattern = (
            re.escape(name)
            if not name[0].isalpha()
            else rf"(?<![A-Za-z0-9_]){name}(?![A-Za-z0-9_])"
        )
        for m in re.finditer(pattern, text):
            is_header_line = not re.search(r"[.;:=]", text) and name in headers
            if not is_header_line:
                hits.append(f"{name!r} in {text[max(0, m.start() - 60) : m.end() + 60]!r}")
    return hits


def test_no_template_names_in_any_output_format(
    report: iop.QuarterlyReport, tmp_path: Path
) -> None:
    formats = ["html", "xlsx", "csv", "json"]
    pdf = shutil.which("pdftotext") is not None
    try:
        import weasyprint  # noqa: F401
    except ImportError:  # pragma: no cover - the pdf extra is part of the test setup
        pdf = False
    if pdf:
        formats.append("pdf")
    files = report.write(tmp_path, tuple(formats))
    headers = {str(c) for t in report.tables for c in t.frame.columns}
    texts: dict[str, list[str]] = {}
    html_text = files["html"].read_text("utf-8")
    html_text = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", html_text, flags=re.S)
    import html as html_module

    texts["html"] = html_module.unescape(re.sub(r"<[^>]+>", "\n", html_text)).split("\n")
    from openpyxl import load_workbook

    book = load_workbook(files["xlsx"])
    texts["xlsx"] = [
        c
        for ws in book.worksheets
        for row in ws.iter_rows(values_only=True)
        for c in row
        if isinstance(c, str)
    ]
    csv_cells = []
    for key, path in files.items():
        if key.startswith("csv/"):
            csv_cells += [
                c
                for row in pd.read_csv(path, dtype=str).itertuples(index=False)
                for c in row
                if isinstance(c, str)
            ]
    texts["csv"] = csv_cells

    def strings(o: object) -> list[str]:
        if isinstance(o, str):
            return [o]
        if isinstance(o, dict):
            return [s for v in o.values() for s in strings(v)]
        if isinstance(o, list):
            return [s for v in o for s in strings(v)]
        return []

    texts["json"] = strings(json.loads(files["json"].read_text("utf-8")))
    if pdf:
        out = subprocess.run(
            ["pdftotext", "-layout", str(files["pdf"]), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        texts["pdf"] = out.splitlines()
    assert set(texts) == set(formats)
    # the milestone definitions are in the outputs, rendered with their values
    assert any(
        "a run of at least 30 consecutive abstinent calendar days" in t for t in texts["json"]
    )
    assert any("at least 1 point above intake" in t for t in texts["csv"])
    hits = {
        fmt: [h for t in items for h in _prose_hits(t, headers)] for fmt, items in texts.items()
    }
    assert hits == {fmt: [] for fmt in formats}


def test_in_treatment_milestones_per_cohort_comparable_compared(
    report: iop.QuarterlyReport, sample: iop.Records
) -> None:
    section = next(s for s in report.sections if s.key == "milestones")
    d = iop.OutcomeDefinition()
    why = [p for p in section.paragraphs if "not compared between cohorts" in p]
    assert len(why) == 1 and "at least 30 days" in why[0]
    milestones = report.table("milestones").frame
    # in-treatment milestones are rates per cohort: no difference column anywhere in the table
    assert not {"diff", "diff_ci_low", "diff_ci_high"} & set(milestones.columns)
    # the only cohort comparison of a milestone is on the comparable definition
    compared = report.table("milestone_comparison").frame
    assert set(compared["milestone"]) == {d.label(d.comparable_name)}
    assert set(compared["group"]) == {"IOP"} and set(compared["reference"]) == {"inpatient"}
    # not-eligible counts equal an independent count on the episodes discharged in the lookback
    # (stay = discharge_day + 1 calendar days, admission day 0 and discharge day included)
    out = iop.episode_outcomes(sample)
    t = out.table
    lookback = set(report.table("milestones").frame["cohort"])  # cohorts shown
    q = pd.PeriodIndex(pd.to_datetime(t["discharge_date"]), freq="Q").astype(str)
    period = [str(p) for p in pd.period_range("2025Q3", "2026Q2", freq="Q")]
    mine = t.loc[q.isin(period)]
    expected = (mine["discharge_day"].astype(float) + 1 < 30).groupby(mine["cohort"]).sum()
    row = milestones.loc[milestones["outcome"] == "milestone_sustained_abstinence"].set_index(
        "cohort"
    )
    for cohort in lookback:
        shown = row.loc[cohort, "not_eligible"]
        if not pd.isna(shown):
            assert int(shown) == int(expected[cohort])
    # other milestones have no observation-time requirement
    assert (
        milestones.loc[milestones["outcome"] == "milestone_housing_stable", "not_eligible"]
        .isna()
        .all()
    )


def test_sensitivity_paragraph_has_the_tipping_point(
    sample: iop.Records, report: iop.QuarterlyReport
) -> None:
    """The outcomes section quotes the tipping point of the 6-month comparison, computed
    independently here on the same cohort (6-month windows closed in 2025Q3..2026Q2)."""
    from iopoutcomes.sensitivity import tipping_point

    # k = 2: at k = 11 the 6-month missing counts of 2026Q2 (the not-conducted interviews,
    # 41 and 23) are the cells that protect the small out-of-window counts (8 and 2) without
    # hiding the headline rates, and the paragraph that needs them is left out (the
    # disclosure rules are tested in test_disclosure.py)
    report = iop.quarterly_report(sample, "2026Q2", config={"privacy": {"k": 2}}, progress=False)
    outcomes = next(s for s in report.sections if s.key == "outcomes")
    tips = [p for p in outcomes.paragraphs if p.startswith("Tipping point (IOP vs inpatient)")]
    assert len(tips) == 1
    eps = sample.episodes
    close = (eps["admission_date"] + pd.to_timedelta(243, unit="D")).dt.to_period("Q")
    ids = set(
        eps.loc[close.astype(str).isin(["2025Q3", "2025Q4", "2026Q1", "2026Q2"]), "episode_id"]
    )
    rec = dataclasses.replace(sample, data_as_of=pd.Timestamp("2026-06-30"))
    eo = iop.episode_outcomes(rec)
    sub = dataclasses.replace(eo, table=eo.table.loc[eo.table["episode_id"].isin(ids)])
    tp = tipping_point(sub, "abstinent_6mo", by="cohort", reference="inpatient", margin=0.10)
    assert tp.sentence() in tips[0]
    assert "points below the missing inpatient clients" in tips[0] or "holds whatever" in tips[0]
    # the sample report configures no covariates, so no imputation model: the report says so
    # (issue 20: imputation never runs from the group alone)
    assert "No delta-adjusted imputation was run" in tips[0]
    configured = iop.quarterly_report(
        sample,
        "2026Q2",
        config={"comparison": {"adjust": ["age", "sex", "severity"]}, "privacy": {"k": 2}},
        progress=False,
    )
    section = next(s for s in configured.sections if s.key == "outcomes")
    tip = next(p for p in section.paragraphs if p.startswith("Tipping point (IOP vs inpatient)"))
    assert "odds of abstinence are 0.37 times" in tip


def test_imputation_seed_is_derived_from_the_configuration_and_quarter(sample) -> None:
    # issue 20: a fixed seed reuses the same imputation draws in every report; the report
    # derives it from its settings and quarter: reproducible, but different across quarters
    from iopoutcomes.report.config import ReportConfig
    from iopoutcomes.report.inputs import prepare_inputs

    cfg = ReportConfig()
    a = prepare_inputs(sample, "2026Q2", cfg).seed
    assert a == prepare_inputs(sample, "2026Q2", cfg).seed
    assert a != prepare_inputs(sample, "2026Q1", cfg).seed
    other = ReportConfig.from_dict({"comparison": {"margin": 0.05}})
    assert a != prepare_inputs(sample, "2026Q2", other).seed


def test_comparison_shows_sensitivity_rows_under_the_new_defaults(report) -> None:
    # issue 20: the primary rule beside complete case and the Horowitz-Manski worst/best case
    frame = report.table("comparison").frame
    analyses = set(frame["analysis"])
    assert "unadjusted" in analyses and "unadjusted (complete case)" in analyses
    assert {"unadjusted (worst case)", "unadjusted (best case)"} <= analyses
    footnote = report.table("comparison").footnote
    assert "Miettinen-Nurminen 95% CI" in footnote and "Newcombe" not in footnote


def test_snapshot_cuts_services_and_deaths_at_the_as_of_date() -> None:
    """What the report sees of services at a quarter end: rows after it are not yet known, a
    stay running over it has no discharge yet, a later death is not yet known."""
    from iopoutcomes.report.inputs import _snapshot

    episodes = pd.DataFrame(
        {
            "patient_id": ["p1", "p2"],
            "episode_id": ["e1", "e2"],
            "cohort": ["inpatient", "inpatient"],
            "admission_date": ["2024-03-01", "2024-03-02"],
            "discharge_date": ["2024-03-10", "2024-03-12"],
            "death_date": ["2024-03-20", "2024-04-02"],
        }
    )
    services = pd.DataFrame(
        {
            "patient_id": ["p1", "p1", "p9", "p9"],
            "service_date": ["2024-03-11", "2024-04-01", "2024-03-25", "2024-03-31"],
            "service_type": ["iop", "iop", "residential", "outpatient"],
            "end_date": ["", "", "2024-04-05", ""],
        }
    )
    recs = iop.read_records(episodes, services=services)
    snap = _snapshot(recs, pd.Timestamp("2024-03-31"))
    assert snap.services["service_date"].dt.strftime("%m-%d").tolist() == [
        "03-11",
        "03-25",
        "03-31",
    ]
    assert snap.services["end_date"].isna().all()  # the residential stay is still running
    assert snap.episodes["death_date"].dt.strftime("%m-%d").fillna("").tolist() == ["03-20", ""]
    assert len(recs.services) == 4  # the records themselves are untouched


def test_cover_points_to_the_methods_section_by_its_printed_number(
    report: iop.QuarterlyReport,
) -> None:
    # optional sections (measurement, costs, continuity) move the appendix: never a fixed number
    keys = [s.key for s in report.sections]
    cover = report.sections[keys.index("cover")]
    assert any(f"appendix (section {keys.index('methods') + 1})" in p for p in cover.paragraphs), (
        cover.paragraphs
    )


def test_sentences_name_the_non_inferiority_test_the_table_prints(
    report: iop.QuarterlyReport,
) -> None:
    # the summary once said Farrington-Manning beside a table saying Miettinen-Nurminen
    named = set(report.table("comparison").frame["noninferiority_test"].dropna().astype(str))
    sentences = [p for s in report.sections for p in s.paragraphs if "non-inferiority p" in p]
    assert sentences and named
    for sentence in sentences:
        assert any(f"({name})" in sentence for name in named), (sentence, named)
