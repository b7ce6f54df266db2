"""Tests of iopoutcomes.baseline (table_one) against hand computations (formulas written next to values)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

import iopoutcomes as iop
from iopoutcomes.baseline import TABLE_ONE_COLUMNS, TableOne, table_one
from iopoutcomes.exceptions import (
    InsufficientDataError,
    MissingColumnError,
    ParameterError,
)


def _cell(t: TableOne, variable: str, level: str, group: str) -> pd.Series:
    frame = t.to_frame()
    row = frame.loc[
        (frame["variable"] == variable) & (frame["level"] == level) & (frame["group"] == group)
    ]
    assert len(row) == 1
    return row.iloc[0]


@pytest.fixture
def small() -> pd.DataFrame:
    # group A: sex F, F, M, M, M, missing; x = 2, 4, 6, 8, 10, missing
    # group B: sex F, F, F, M;             x = 1, 3, 5, 7
    return pd.DataFrame(
        {
            "g": ["A"] * 6 + ["B"] * 4,
            "sex": ["F", "F", "M", "M", "M", None, "F", "F", "F", "M"],
            "x": [2.0, 4.0, 6.0, 8.0, 10.0, np.nan, 1.0, 3.0, 5.0, 7.0],
        }
    )


def test_columns_and_n_row(small: pd.DataFrame) -> None:
    t = table_one(small, by="g")
    frame = t.to_frame()
    assert tuple(frame.columns) == TABLE_ONE_COLUMNS
    assert t.groups == ("A", "B")
    assert t.variables == ("sex", "x")
    n_row = frame.loc[frame["variable"] == "n"].set_index("group")["n"]
    assert n_row.to_dict() == {"A": 6, "B": 4, "Overall": 10}


def test_categorical_counts_percentages_missing(small: pd.DataFrame) -> None:
    t = table_one(small, by="g")
    assert t.summaries["sex"] == "n (%)"
    # A: F 2, M 3 of 5 non-missing (1 missing) -> 40.0 %, 60.0 %
    f_a = _cell(t, "sex", "F", "A")
    assert (f_a["n"], f_a["n_valid"], f_a["n_missing"]) == (2, 5, 1)
    assert_allclose(f_a["value"], 100 * 2 / 5, rtol=1e-12)
    assert f_a["display"] == "2 (40.0)"
    # B: F 3 of 4 -> 75 %; Overall F 5 of 9 non-missing -> 55.555...%
    assert_allclose(_cell(t, "sex", "F", "B")["value"], 75.0, rtol=1e-12)
    overall = _cell(t, "sex", "F", "Overall")
    assert (overall["n"], overall["n_valid"], overall["n_missing"]) == (5, 9, 1)
    assert_allclose(overall["value"], 100 * 5 / 9, rtol=1e-12)
    assert overall["display"] == "5 (55.6)"


def test_categorical_smd_by_hand(small: pd.DataFrame) -> None:
    t = table_one(small, by="g")
    # Austin 2009 eq. 2, B minus reference A: p1 = 3/4, p0 = 2/5
    expected = (0.75 - 0.40) / math.sqrt((0.75 * 0.25 + 0.40 * 0.60) / 2)  # 0.757032...
    assert_allclose(_cell(t, "sex", "F", "B")["smd"], expected, rtol=1e-6)
    assert_allclose(_cell(t, "sex", "M", "Overall")["smd"], -expected, rtol=1e-6)
    # the reference switches the sign
    flipped = table_one(small, by="g", reference="B")
    assert_allclose(_cell(flipped, "sex", "F", "A")["smd"], -expected, rtol=1e-6)
    assert flipped.reference == "B"


def test_continuous_mean_sd_quartiles_by_hand(small: pd.DataFrame) -> None:
    t = table_one(small, by="g")
    assert t.summaries["x"] == "mean (SD)"  # symmetric values: skewness 0
    a = _cell(t, "x", "", "A")
    # A = 2, 4, 6, 8, 10: mean 6, variance (16 + 4 + 0 + 4 + 16) / 4 = 10
    assert (a["n"], a["n_valid"], a["n_missing"]) == (5, 5, 1)
    assert_allclose([a["value"], a["sd"]], [6.0, math.sqrt(10)], rtol=1e-12)
    # type-7 quartiles: position (n - 1) p = 1 and 3 -> 4 and 8
    assert_allclose([a["q1"], a["q3"]], [4.0, 8.0], rtol=1e-12)
    assert a["display"] == "6.0 (3.2)"
    b = _cell(t, "x", "", "B")
    # B = 1, 3, 5, 7: mean 4, variance (9 + 1 + 1 + 9) / 3 = 20/3; quartiles at 0.75, 2.25
    assert_allclose([b["value"], b["sd"]], [4.0, math.sqrt(20 / 3)], rtol=1e-12)
    assert_allclose([b["q1"], b["q3"]], [1 + 0.75 * 2, 5 + 0.25 * 2], rtol=1e-12)
    overall = _cell(t, "x", "", "Overall")
    assert_allclose(overall["value"], 46 / 9, rtol=1e-12)
    # SMD B minus A: (4 - 6) / sqrt((20/3 + 10) / 2)
    assert_allclose(b["smd"], -2 / math.sqrt((20 / 3 + 10) / 2), rtol=1e-6)


def test_continuous_welch_t_by_hand(small: pd.DataFrame) -> None:
    t = table_one(small, by="g", pvalues=True)
    a = _cell(t, "x", "", "A")
    # Welch: t = (6 - 4) / sqrt(10/5 + (20/3)/4); df by Welch-Satterthwaite
    va, vb = 10 / 5, (20 / 3) / 4
    t_stat = 2 / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / 4 + vb**2 / 3)
    assert_allclose(a["statistic"], t_stat, rtol=1e-6)
    assert_allclose(a["pvalue"], 2 * stats.t.sf(t_stat, df), rtol=1e-6)
    assert a["method"] == "Welch two-sample t-test"


def test_fisher_exact_by_hand(small: pd.DataFrame) -> None:
    t = table_one(small, by="g", pvalues=True)
    row = _cell(t, "sex", "F", "Overall")
    assert row["method"] == "Fisher's exact test"
    # margins F 5, M 4, A 5, B 4 (N 9). P(F in A = x) = C(5,x) C(4,5-x) / C(9,5), C(9,5) = 126:
    # x = 1..5 -> 5, 40, 60, 20, 1. Observed x = 2 (40); as or less likely: 5 + 40 + 20 + 1.
    assert_allclose(row["pvalue"], 66 / 126, rtol=1e-6)
    wide = t.to_wide()
    assert wide.loc[wide["variable"] == "sex, n (%)", "p-value"].item() == "0.524"


def test_pearson_chi_square_by_hand() -> None:
    # levels x groups [[10, 20], [20, 10], [15, 15]]: every expected count is 15,
    # chi2 = 4 * 25 / 15 = 6.666..., df 2, p = exp(-chi2 / 2)
    df = pd.DataFrame(
        {
            "g": ["A"] * 45 + ["B"] * 45,
            "c": ["u"] * 10 + ["v"] * 20 + ["w"] * 15 + ["u"] * 20 + ["v"] * 10 + ["w"] * 15,
        }
    )
    row = _cell(table_one(df, by="g", pvalues=True), "c", "u", "A")
    assert row["method"] == "Pearson chi-square test"
    assert_allclose(row["statistic"], 100 / 15, rtol=1e-6)
    assert_allclose(row["pvalue"], math.exp(-100 / 30), rtol=1e-6)


def test_nonnormal_tests_by_hand() -> None:
    df = pd.DataFrame({"g": ["A"] * 3 + ["B"] * 3, "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    t = table_one(df, by="g", nonnormal=["x"], pvalues=True)
    a = _cell(t, "x", "", "A")
    assert a["summary"] == "median [Q1, Q3]"
    assert a["display"] == "2.0 [1.5, 2.5]"
    # Mann-Whitney: U_A = 0; exact two-sided p = 2 / C(6, 3) = 0.1
    assert a["method"] == "Mann-Whitney U test"
    assert_allclose([a["statistic"], a["pvalue"]], [0.0, 2 / 20], rtol=1e-6)
    # three groups: rank sums 3, 7, 11 -> H = 12 / (6 * 7) * (9/2 + 49/2 + 121/2) - 3 * 7
    three = pd.DataFrame({"g": ["A", "A", "B", "B", "C", "C"], "x": [1.0, 2, 3, 4, 5, 6]})
    k = _cell(table_one(three, by="g", nonnormal="x", pvalues=True), "x", "", "A")
    h = 12 / 42 * (9 / 2 + 49 / 2 + 121 / 2) - 21
    assert k["method"] == "Kruskal-Wallis test"
    assert_allclose([k["statistic"], k["pvalue"]], [h, math.exp(-h / 2)], rtol=1e-6)


def test_skewness_rule_picks_median() -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "g": np.repeat(["A", "B"], 200),
            "skewed": rng.exponential(size=400),  # skewness 2
            "normal": rng.normal(size=400),
        }
    )
    t = table_one(df, by="g")
    assert t.summaries == {"skewed": "median [Q1, Q3]", "normal": "mean (SD)"}
    assert any("(skewed)" in r and "skewness exceeds 1" in r for r in t.remarks)
    # nonnormal= turns the automatic rule off
    forced = table_one(df, by="g", nonnormal=["normal"])
    assert forced.summaries == {"skewed": "mean (SD)", "normal": "median [Q1, Q3]"}


def test_three_groups_max_pairwise_smd_and_anova_by_hand() -> None:
    df = pd.DataFrame({"g": ["A", "A", "B", "B", "C", "C"], "x": [1.0, 3, 2, 6, 0, 2]})
    t = table_one(df, by="g", pvalues=True)
    # means 2, 4, 1; variances 2, 8, 2. |SMD|: B-A 2/sqrt(5), C-A 1/sqrt(2), C-B 3/sqrt(5)
    row = _cell(t, "x", "", "Overall")
    assert_allclose(row["smd"], 3 / math.sqrt(5), rtol=1e-6)
    pairs = t.smd_pairwise.set_index(["group", "reference"])["smd"]
    assert_allclose(pairs[("B", "A")], 2 / math.sqrt(5), rtol=1e-6)
    assert_allclose(pairs[("C", "A")], -1 / math.sqrt(2), rtol=1e-6)
    assert_allclose(pairs[("C", "B")], -3 / math.sqrt(5), rtol=1e-6)
    # ANOVA: SSB = 2 * (1/9 + 25/9 + 16/9) = 84/9 on 2 df; SSW = 2 + 8 + 2 = 12 on 3 df
    f = (84 / 9 / 2) / (12 / 3)
    assert row["method"] == "one-way ANOVA"
    assert_allclose([row["statistic"], row["pvalue"]], [f, stats.f.sf(f, 2, 3)], rtol=1e-6)
    assert "max |SMD|" in t.to_wide().columns


def test_wide_layout_and_missing_rows(small: pd.DataFrame) -> None:
    wide = table_one(small, by="g").to_wide()
    assert wide.columns.tolist() == ["variable", "level", "Overall", "A", "B", "SMD"]
    assert wide["level"].tolist() == ["", "F", "M", "(missing)", "", "(missing)"]
    assert wide["variable"].tolist() == ["n", "sex, n (%)", "", "", "x, mean (SD)", ""]
    missing = wide.loc[wide["level"] == "(missing)"]
    assert missing[["Overall", "A", "B"]].to_numpy().tolist() == [["1", "1", "0"]] * 2
    assert wide.loc[1, "SMD"] == "0.757"


def test_input_not_mutated_and_rows_without_group(small: pd.DataFrame) -> None:
    df = pd.concat([small, pd.DataFrame({"g": [None], "sex": ["F"], "x": [99.0]})])
    before = df.copy()
    t = table_one(df, by="g", pvalues=True, suppress=3)
    pd.testing.assert_frame_equal(df, before)
    assert t.n == 10
    assert any("1 rows with no value of 'g' were left out" in r for r in t.remarks)


def test_shuffling_rows_does_not_change_the_table(small: pd.DataFrame) -> None:
    t = table_one(small, by="g", pvalues=True).to_frame()
    shuffled = small.sample(frac=1.0, random_state=3)
    u = table_one(shuffled, by="g", pvalues=True).to_frame()
    pd.testing.assert_frame_equal(t, u)


@pytest.fixture
def shareable() -> pd.DataFrame:
    # c: A x 5, y 15, z 20; B x 12, y 8, z 10.  v: B has 3 missing values.
    return pd.DataFrame(
        {
            "g": ["A"] * 40 + ["B"] * 30,
            "c": ["x"] * 5 + ["y"] * 15 + ["z"] * 20 + ["x"] * 12 + ["y"] * 8 + ["z"] * 10,
            "v": np.r_[np.arange(40.0), np.arange(27.0), [np.nan] * 3],
        }
    )


def test_suppression_hides_small_counts_and_what_reveals_them(shareable: pd.DataFrame) -> None:
    t = table_one(shareable, by="g", pvalues=True, suppress=11)
    frame = t.to_frame()
    # primary cells: A/x = 5 and B/y = 8
    assert _cell(t, "c", "x", "A")["display"] == "*"
    assert _cell(t, "c", "y", "B")["display"] == "*"
    shown = frame["n"].dropna().astype(int)
    assert not ((shown >= 1) & (shown <= 10)).any()  # no published count in 1..10
    # the Overall column (row margins) stays published
    assert _cell(t, "c", "x", "Overall")["display"] == "17 (24.3)"
    # SMDs and the test of a variable with hidden counts are withheld
    assert frame.loc[frame["variable"] == "c", ["smd", "pvalue"]].isna().all().all()
    # every hidden categorical cell can be anything among >= 11 values (LP audit)
    audit = t.suppression_audit
    assert audit is not None and (audit["feasible_integers"] >= 11).all()
    assert set(audit.loc[audit["variable"] == "c", "column"]) <= {"A", "B", "Total"}
    # continuous: B has 3 missing -> its (n_valid, n_missing) and the Overall ones are hidden,
    # and the Overall mean and the t-test (which would give n_valid back) are withheld
    v_b = _cell(t, "v", "", "B")
    assert pd.isna(v_b["n_valid"]) and pd.isna(v_b["n_missing"]) and v_b["suppressed"]
    assert_allclose(v_b["value"], 13.0, rtol=1e-12)  # mean of 0..26: 27 values >= 11
    v_all = _cell(t, "v", "", "Overall")
    assert pd.isna(v_all["value"]) and v_all["display"] == "*"
    assert pd.isna(v_all["pvalue"])
    assert _cell(t, "v", "", "A")["n_missing"] == 0
    wide = t.to_wide()
    assert wide.loc[wide["level"] == "(missing)", ["Overall", "A", "B"]].to_numpy().tolist() == [
        ["*", "0", "*"]
    ]
    assert any("counts of 1 to 10" in r for r in t.remarks)
    assert "suppress k=11" in repr(t).splitlines()[0]


def test_suppression_leaves_large_counts_alone(shareable: pd.DataFrame) -> None:
    big = shareable.assign(c=np.where(shareable["c"] == "x", "y", shareable["c"]))
    big = big.assign(v=big["v"].fillna(1.0))
    plain = table_one(big, by="g", pvalues=True).to_frame()
    # smallest count is 10 (B/z): nothing to hide with k = 10
    shared = table_one(big, by="g", pvalues=True, suppress=10).to_frame()
    pd.testing.assert_frame_equal(plain, shared)


def test_small_group_size_is_hidden() -> None:
    df = pd.DataFrame({"g": ["A"] * 30 + ["B"] * 4 + ["C"] * 25, "x": np.arange(59.0)})
    t = table_one(df, by="g", suppress=11)
    n_row = t.to_frame().query("variable == 'n'").set_index("group")["display"]
    # B = 4 is primary; the groups sum to the Overall n, so a second group (C, the smaller) goes
    assert n_row.to_dict() == {"A": "30", "B": "*", "C": "*", "Overall": "59"}
    assert pd.isna(_cell(t, "x", "", "B")["value"])  # a mean of 4 values is not shared


def test_repr_and_html(small: pd.DataFrame) -> None:
    odd = small.assign(sex=small["sex"].replace({"F": "<b>F</b>"}))
    t = table_one(odd, by="g", pvalues=True)
    text = repr(t)
    assert text.splitlines()[0] == "<TableOne: 2 variables by g, 10 episodes in 2 groups>"
    assert "[1] Categorical variables" in text
    html = t._repr_html_()
    assert "&lt;b&gt;F&lt;/b&gt;" in html and "<b>F</b>" not in html
    assert html.count("<li>") == len(t.remarks) >= 3
    assert '<ol class="iopoutcomes-remarks">' in html


def test_csv_and_excel_are_neutralised(small: pd.DataFrame, tmp_path) -> None:
    odd = small.assign(sex=small["sex"].replace({"F": "=HYPERLINK(1)"}))
    t = table_one(odd, by="g")
    t.to_csv(tmp_path / "t.csv")
    back = pd.read_csv(tmp_path / "t.csv", keep_default_na=False, dtype=str)
    assert "'=HYPERLINK(1)" in back["level"].tolist()
    t.to_csv(tmp_path / "long.csv", wide=False)
    long = pd.read_csv(tmp_path / "long.csv")
    assert list(long.columns) == list(TABLE_ONE_COLUMNS)
    t.to_excel(tmp_path / "t.xlsx")
    sheets = pd.read_excel(tmp_path / "t.xlsx", sheet_name=None)
    assert list(sheets) == ["table_one", "long", "remarks"]
    assert "'=HYPERLINK(1)" in sheets["long"]["level"].tolist()
    assert sheets["long"]["n"].dtype.kind in "if"  # numbers stay numbers
    assert sheets["remarks"]["remark"].tolist() == list(t.remarks)


def test_episode_outcomes_default_columns() -> None:
    out = iop.episode_outcomes(iop.simulate_records(n=200, seed=0))
    t = iop.table_one(out)
    assert t.variables == ("age", "sex", "primary_substance", "severity")
    assert t.definition is out.definition
    assert t.definition_text() is not None and "Abstinence" in t.definition_text()
    n_row = t.to_frame().query("variable == 'n'").set_index("group")["n"]
    counts = out.table["cohort"].value_counts()
    assert_array_equal(n_row[list(t.groups)].to_numpy(), counts[list(t.groups)].to_numpy())
    chosen = iop.table_one(out, categorical=["site"])
    assert chosen.variables[-1] == "site"


def test_boolean_and_zero_one_columns_are_categorical() -> None:
    df = pd.DataFrame(
        {
            "g": ["A", "A", "B", "B"],
            "flag": pd.array([True, False, True, pd.NA], dtype="boolean"),
            "dummy": [0, 1, 1, 1],
        }
    )
    t = table_one(df, by="g")
    assert t.summaries == {"flag": "n (%)", "dummy": "n (%)"}
    frame = t.to_frame()
    assert frame.loc[frame["variable"] == "flag", "level"].unique().tolist() == ["False", "True"]
    assert _cell(t, "flag", "True", "B")["n_missing"] == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"by": "nope"}, MissingColumnError, "by="),
        ({"columns": ["nope"]}, MissingColumnError, "nope"),
        ({"categorical": ["x"], "continuous": ["x"]}, ParameterError, "both"),
        ({"suppress": 1}, ParameterError, "k >= 2"),
        ({"decimals": -1}, ParameterError, "decimals"),
        ({"reference": "Z"}, ParameterError, "reference"),
        ({"columns": ["x"], "categorical": ["sex"]}, ParameterError, "columns="),
        ({"columns": ["g"], "by": "g"}, ParameterError, "grouping column"),
    ],
)
def test_errors(small: pd.DataFrame, kwargs: dict, error: type, text: str) -> None:
    with pytest.raises(error, match=text.replace("(", r"\(")):
        table_one(small, **{"by": "g", **kwargs})


def test_needs_two_groups_and_a_frame(small: pd.DataFrame) -> None:
    with pytest.raises(InsufficientDataError, match="at least two groups"):
        table_one(small.loc[small["g"] == "A"], by="g")
    with pytest.raises(ParameterError, match="DataFrame"):
        table_one([1, 2, 3])
    with pytest.raises(ParameterError, match="Overall"):
        table_one(small.assign(g=small["g"].replace({"B": "Overall"})), by="g")


def test_smd_false_and_decimals(small: pd.DataFrame) -> None:
    t = table_one(small, by="g", smd=False, decimals=2)
    assert t.to_frame()["smd"].isna().all()
    assert _cell(t, "x", "", "A")["display"] == "6.00 (3.16)"
    assert t.smd_pairwise.empty
