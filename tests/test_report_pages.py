"""What a person reads: labels, number formats, PDF pages, XLSX layout, figures, cover text."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import iopoutcomes as iop
from iopoutcomes.report.labels import (
    COLUMN_LABELS,
    TABLE_LABELS,
    column_label,
    display_columns,
    excel_label,
    fill_parameters,
    format_cell,
    quantity,
)
from iopoutcomes.report.writers import _table_header, _table_rows


@pytest.fixture(scope="module")
def report(sample_report: iop.QuarterlyReport) -> iop.QuarterlyReport:
    return sample_report  # built once per test process (conftest.py)


@pytest.fixture(scope="module")
def written(report: iop.QuarterlyReport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pages")
    formats = ["html", "xlsx", "csv", "json"]
    try:
        import weasyprint  # noqa: F401

        formats.append("pdf")
    except ImportError:
        pass
    report.write(folder, formats)
    return folder


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00ad", "")).strip()


# --- labels and formats ------------------------------------------------------------------------


def test_every_published_column_has_a_human_label(report: iop.QuarterlyReport) -> None:
    for table in report.tables:
        for column in display_columns(table.key, table.frame.columns):
            assert column in COLUMN_LABELS or (table.key, column) in TABLE_LABELS, (
                table.key,
                column,
            )
        for label in _table_header(table):
            assert "_" not in label, (table.key, label)  # never a code name
    html = report.to_html()
    headers = re.findall(r'<th scope="col">([^<]*)</th>', html)
    assert headers and not [h for h in headers if "_" in h]
    for code in ("conducted_in_window", "ci_low", "diff_ci_high", "sustained_days", "min_change"):
        assert f">{code}<" not in html
    assert "sustained_days" not in html and "min_change" not in html


def test_one_format_per_quantity(report: iop.QuarterlyReport) -> None:
    patterns = {
        "rate": r"^\d{1,3}\.\d%$",
        "points": r"^[+-]\d+\.\d pts$",
        "margin": r"^±\d+\.\d pts$",
        "pvalue": r"^(<0\.001|[01]\.\d{3})$",
        "smd": r"^[+-]\d+\.\d{2}$",
    }
    seen: set[str] = set()
    for table in report.tables:
        columns = display_columns(table.key, table.frame.columns)
        for row in _table_rows(table):
            for column, cell in zip(columns, row, strict=True):
                kind = quantity(column, table.key)
                shares_or_means = column in ("value", "value_ref") or column.endswith("_value")
                if kind in patterns and cell != "—" and not shares_or_means:
                    assert re.match(patterns[kind], cell), (table.key, column, cell)
                    seen.add(kind)
    assert seen == set(patterns)
    # the test behind every p-value is named beside it
    comparison = report.table("comparison").frame
    assert {"test", "noninferiority_test"} <= set(comparison.columns)
    assert comparison["test"].str.len().gt(0).all()
    assert list(comparison.columns).index("test") == list(comparison.columns).index("pvalue") + 1


def test_format_cell_examples() -> None:
    # hand-written expectations, one per quantity
    assert format_cell(0.679, "rate") == "67.9%"
    assert format_cell(0.8, "target") == "80.0%"
    assert format_cell(0.0654, "diff") == "+6.5 pts"
    assert format_cell(-0.0404, "equivalence_ci_low") == "-4.0 pts"
    assert format_cell(0.1, "margin") == "±10.0 pts"
    assert format_cell(0.28, "pvalue") == "0.280"
    assert format_cell(0.0004, "noninferiority_pvalue") == "<0.001"
    assert format_cell(0.185, "smd") == "+0.18" or format_cell(0.185, "smd") == "+0.19"
    assert format_cell(38.24, "value", row={"level": "mean"}) == "38.2"
    assert format_cell(0.349, "value", row={"level": "female"}) == "34.9%"
    assert format_cell(pd.NA, "rate") == "—" and format_cell(True, "suppressed") == "yes"
    assert format_cell("6mo", "timepoint") == "6 months"
    assert format_cell("using", "missing", "comparison") == "counted as not abstinent"
    assert column_label("missing", "comparison") == "Missing outcomes"
    assert excel_label("diff") == "Difference (percentage points)"


def test_milestone_parameters_are_filled_in(report: iop.QuarterlyReport) -> None:
    d = iop.OutcomeDefinition()
    assert "at least 30 consecutive" in fill_parameters(
        "a run of at least sustained_days consecutive abstinent calendar days", d
    )
    text = (
        " ".join(report.table("milestones").frame["milestone"])
        + report.table("milestones").footnote
    )
    assert "sustained_days" not in text and "min_change" not in text
    assert "at least 30 consecutive abstinent calendar days" in text
    assert "at least 1 point above intake" in text


# --- cover, dates, trend text ------------------------------------------------------------------


def test_cover_has_the_run_date_and_a_data_as_of_sentence(
    report: iop.QuarterlyReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = dt.datetime.now(dt.UTC)
    expected = f"{today.day} {today:%B %Y}"
    cover = " ".join(report.sections[0].paragraphs)
    assert report.stamp["run_date"] == expected
    assert "The data are complete up to a date in 2026Q3" in cover
    assert "Data as of: in" not in cover
    html = report.to_html()
    assert html.index(f"Report run on {expected}") < html.index('<nav class="toc"')
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")  # 2026-09-21T14:13:20Z
    rep = iop.quarterly_report(iop.load_sample(), "2026Q2", progress=False)
    assert rep.stamp["run_date"] == "21 September 2026"


def test_trend_text_counts_only_shown_quarters(report: iop.QuarterlyReport) -> None:
    for key, paragraph in (("trend_followup", 0), ("trend_abstinence", 1)):
        frame = report.table(key).frame
        shown = int((~frame["suppressed"]).sum())
        trends = next(sec for sec in report.sections if sec.key == "trends")
        text = trends.paragraphs[paragraph]
        assert f"over {shown} quarters (" in text
        if shown < len(frame):
            assert f"({len(frame) - shown} of {len(frame)} quarters suppressed" in text


def test_a_chart_is_drawn_whenever_its_table_publishes_the_rate() -> None:
    # 2026Q3's (provisional) report publishes both cohorts' 6-month follow-up rates with some
    # of their counts hidden (2026Q2's hides the rates themselves under the whole-report audit)
    report = iop.quarterly_report(iop.load_sample(), "2026Q3", progress=False)
    figures = {f.key: f for s in report.sections for f in s.figures}
    table = report.table("followup_by_cohort").frame
    rows = table.loc[table["cohort"] != "All"]
    assert rows["suppressed"].any()  # flagged (a count of the row is hidden) ...
    for _, row in rows.iterrows():
        if pd.notna(row["rate"]):  # ... but the rate is printed, so it is drawn
            assert f"{row['cohort']}: {100 * row['rate']:.0f}%" in figures["followup_rates"].alt
    assert "suppressed" not in figures["followup_rates"].alt
    assert 'aria-label="Weighted"' not in figures["retention_bias"].svg
    assert "Weighted" not in figures["retention_bias"].svg.replace("Unweighted", "")


# --- XLSX ------------------------------------------------------------------------------------


def test_xlsx_is_pivot_ready(report: iop.QuarterlyReport, written: Path) -> None:
    from openpyxl import load_workbook

    book = load_workbook(written / "report.xlsx")
    data = [t for t in report.tables if t.key != "stamp"]
    assert book.sheetnames == ["notes", *[t.key for t in data], "stamp"]
    assert sum(name.startswith("stamp") for name in book.sheetnames) == 1
    notes = [[c.value for c in row] for row in book["notes"].iter_rows()]
    assert notes[0] == ["Sheet", "Title", "Notes"]
    assert [r[0] for r in notes[1:]] == [t.key for t in data]
    for table in data:
        ws = book[table.key]
        header = [c.value for c in ws[1]]
        assert header == [excel_label(str(c), table.key) for c in table.frame.columns]
        assert ws.max_row == len(table.frame) + 1  # one header row, no title, no footnote
        csv = pd.read_csv(written / f"{table.key}.csv")
        for j, column in enumerate(table.frame.columns):
            kind = quantity(str(column), table.key)
            cells = [ws.cell(row=i + 2, column=j + 1) for i in range(len(table.frame))]
            for cell, value in zip(cells, csv[column], strict=True):
                if pd.isna(value):
                    assert cell.value is None
                    continue
                if kind == "rate":
                    assert cell.number_format == "0.0%" and cell.value == pytest.approx(value)
                elif kind in ("points", "margin"):
                    assert cell.value == pytest.approx(100 * value, rel=1e-9)
                    assert "pts" in cell.number_format
                elif kind == "pvalue":
                    assert cell.number_format == "0.000"
                if isinstance(value, float) and kind != "text":
                    assert isinstance(cell.value, int | float)  # typed, never text


# --- PDF -------------------------------------------------------------------------------------


def _pdf_pages(path: Path) -> list[str]:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))  # type: ignore[union-attr]
    out = []
    for i in range(1, pages + 1):
        done = subprocess.run(
            ["pdftotext", "-f", str(i), "-l", str(i), str(path), "-"],
            capture_output=True,
            text=True,
            check=True,
        )
        out.append(_norm(done.stdout))
    return out


@pytest.mark.parametrize("adjust", [False, True])
def test_pdf_pages_show_every_column(
    report: iop.QuarterlyReport, written: Path, tmp_path: Path, adjust: bool
) -> None:
    if not (written / "report.pdf").exists():
        pytest.skip("the pdf extra (WeasyPrint) is not installed")
    if shutil.which("pdftotext") is None or shutil.which("pdfinfo") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    pdf = written / "report.pdf"
    if adjust:  # the widest comparison table: adjusted rows with their tests named
        config = {"comparison": {"adjust": ["age", "sex", "severity"]}}
        report = iop.quarterly_report(iop.load_sample(), "2026Q2", config, progress=False)
        pdf = report.write(tmp_path, ("pdf",))["pdf"]
        assert "adjusted (IPTW)" in set(report.table("comparison").frame["analysis"])
    pages = _pdf_pages(pdf)
    # page 1 holds more than the title and the contents: the cover section starts there
    assert "Contents" in pages[0] and "Reporting period" in pages[0]
    assert "Report run on" in pages[0]
    for table in report.tables:
        title = _norm(table.title)[:50]
        where = [i for i, text in enumerate(pages) if title in text]
        assert where, table.key
        # a header wrapped at its hyphen comes back joined ("Follow-up" -> "Followup")
        text = re.sub("[-‐]", "", " ".join(pages[where[0] : where[0] + 2]))
        headers = _table_header(table)
        for label in (headers[-1], *headers):  # the last column first: it is cut off first
            for word in label.split():
                assert re.sub("[-‐]", "", word) in text, (table.key, label)


def test_long_titles_and_labels_are_wrapped_not_clipped() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from iopoutcomes.report import figures

    fig, ax = figures._new(7.0, 3.0)  # the size of the report figures
    ax.plot([0, 1], [0, 1])
    ax.set_yticks([0, 1], ["IOP (adjusted (g-computation)) vs inpatient", "IOP vs inpatient"])
    ax.set_title("Retention bias: followed up vs not followed up (standardized differences) " * 2)
    ax.set_xlabel("Difference in rate, percentage points (group - reference), with the margin")
    ax.set_ylabel("6-month abstinence (missing = using) (%), all cohorts")
    fig.tight_layout()
    assert figures._fit_labels(fig)
    fig.tight_layout()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # label positions are final only once drawn (as when saved to SVG)
    renderer = canvas.get_renderer()
    for text in (ax.title, ax.xaxis.label, ax.yaxis.label):
        box = text.get_window_extent(renderer)
        assert box.x0 >= 0 and box.x1 <= fig.bbox.width, text.get_text()
        assert box.y0 >= 0 and box.y1 <= fig.bbox.height, text.get_text()
    assert "\n" in ax.title.get_text()  # wrapped at a word boundary, every word kept
    assert ax.title.get_text().split() == (
        ("Retention bias: followed up vs not followed up (standardized differences) " * 2).split()
    )
