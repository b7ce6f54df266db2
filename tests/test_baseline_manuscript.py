"""Tests for the manuscript additions to table_one (issue 22): labels, one row for binary flags,
all-missing columns, infinite SMDs at 0% vs 100%, the SMD sign of the comparisons, and the
Word / LaTeX / HTML writers (opened back and compared with the display)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import iopoutcomes as iop
from iopoutcomes.baseline import table_one


@pytest.fixture
def df() -> pd.DataFrame:
    return pd.DataFrame({
        "cohort": ["IOP"] * 6 + ["inpatient"] * 4,
        "age": [30, 41, 25, 38, 50, 33, 45, 29, 61, 40],
        "employed": [1, 1, 0, 1, 0, 1, 0, 0, 1, 0],
        "homeless": [True] * 6 + [False] * 4,
        "sex": ["F", "M", "F", "M", "M", "F", "M", "M", "F", "M"],
        "job": [None] * 10,
    })  # fmt: skip


def test_all_missing_column_is_reported(df: pd.DataFrame) -> None:
    t = table_one(df, columns=["age", "job"])
    rows = t.to_frame().query("variable == 'job'")
    assert rows["n_missing"].tolist() == [6, 4, 10] and rows["n_valid"].sum() == 0
    assert any("job" in r and "no values" in r for r in t.remarks)
    wide = t.to_wide()
    assert "(missing)" in wide["level"].tolist()


def test_smd_sign_matches_comparisons(df: pd.DataFrame) -> None:
    # comparisons report IOP - inpatient (reference "inpatient"): so does Table 1 by default
    t = table_one(df, columns=["age"])
    assert t.reference == "inpatient"
    iop_mean, inp_mean = np.mean([30, 41, 25, 38, 50, 33]), np.mean([45, 29, 61, 40])
    sd = math.sqrt(
        (np.var([30, 41, 25, 38, 50, 33], ddof=1) + np.var([45, 29, 61, 40], ddof=1)) / 2
    )
    smd = t.to_frame().query("variable == 'age' and group == 'Overall'")["smd"].iloc[0]
    assert smd == pytest.approx((iop_mean - inp_mean) / sd, rel=1e-6) and smd < 0
    assert any("IOP minus inpatient" in r for r in t.remarks)


def test_zero_vs_hundred_percent_smd_is_infinite(df: pd.DataFrame) -> None:
    # homeless: 100% of IOP, 0% of inpatient: (1 - 0) / sqrt((0 + 0) / 2) = +inf, not 0 or blank
    t = table_one(df, columns=["homeless"])
    smd = t.to_frame().query("variable == 'homeless' and group == 'Overall'")["smd"]
    assert smd.tolist() == [-np.inf, np.inf]  # levels False, True
    wide = t.to_wide()
    assert wide.loc[wide["variable"].str.startswith("homeless"), "SMD"].tolist() == ["Inf"]
    three = pd.DataFrame({"cohort": ["a"] * 3 + ["b"] * 3 + ["c"] * 3, "f": [1] * 3 + [0] * 6})
    w3 = table_one(three, columns=["f"]).to_wide()
    assert w3.loc[1, "max |SMD|"] == "Inf"


def test_labels_and_one_row_for_flags(df: pd.DataFrame) -> None:
    t = table_one(df, columns=["age", "employed", "homeless", "sex"],
                  labels={"age": "Age, years", "employed": "Employed", "homeless": "Homeless"})  # fmt: skip
    wide = t.to_wide()
    assert wide["variable"].tolist() == [
        "n", "Age, years, mean (SD)", "Employed, n (%)", "Homeless, n (%)", "sex, n (%)", ""
    ]  # fmt: skip
    assert wide["level"].tolist()[2:4] == ["1", "True"]
    assert wide.loc[2, "IOP"] == "4 (66.7)"
    both = table_one(df, columns=["employed"], binary_rows="all-levels").to_wide()
    assert both["level"].tolist() == ["", "0", "1"]
    sex_one = table_one(df, columns=["sex"], binary_rows="two-level").to_wide()
    assert sex_one["level"].tolist() == ["", "M"]


def test_to_docx_round_trip(df: pd.DataFrame, tmp_path: Path) -> None:
    docx = pytest.importorskip("docx")
    t = table_one(df, columns=["age", "sex"], labels={"age": "Age"})
    path = t.to_docx(tmp_path / "t1.docx")
    doc = docx.Document(str(path))
    table = doc.tables[0]
    cells = [[c.text for c in row.cells] for row in table.rows]
    wide = t.to_wide()
    assert cells[0] == list(wide.columns)
    assert cells[1:] == wide.astype(str).to_numpy().tolist()
    assert any("SMD" in p.text for p in doc.paragraphs)  # the remarks as notes


def test_to_latex_and_html(df: pd.DataFrame) -> None:
    t = table_one(df, columns=["age", "sex"])
    tex = t.to_latex(caption="Baseline characteristics")
    assert "\\begin{tabular}" in tex and "\\caption{Baseline characteristics}" in tex
    assert "\\toprule" in tex and "mean (SD)" in tex
    html = t.to_html()
    assert "<table" in html and "Overall" in html and "<style" in html
    evil = pd.DataFrame({"cohort": ["a", "b"] * 3, "x": ["<b>&", "y"] * 3})
    assert "<b>&" not in table_one(evil, columns=["x"]).to_html()
    assert r"\&" in table_one(evil, columns=["x"]).to_latex()


def test_comparison_and_rate_table_writers(tmp_path: Path) -> None:
    out = iop.episode_outcomes(iop.simulate_records(n=200, seed=4))
    for result in (iop.compare_rates(out), iop.outcome_rates(out)):
        tex = result.to_latex()
        assert "\\begin{tabular}" in tex
        assert "<table" in result.to_html()
        docx = pytest.importorskip("docx")
        path = result.to_docx(tmp_path / f"{type(result).__name__}.docx")
        table = docx.Document(str(path)).tables[0]
        shown = result.to_frame()
        assert len(table.rows) == len(shown) + 1
        assert [c.text for c in table.rows[0].cells] == [str(c) for c in shown.columns]
        from iopoutcomes._render import format_value

        cells = [[c.text for c in row.cells] for row in table.rows[1:]]
        expected = [[format_value(v, 3) for v in row] for row in shown.itertuples(index=False)]
        assert cells == expected
