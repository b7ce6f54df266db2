"""Small-cell suppression: primary, complementary, the back-calculation audit, neutralisation."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from iopoutcomes import ParameterError
from iopoutcomes.privacy import (
    _feasible_ranges,
    _with_margins,
    neutralise_cell,
    neutralise_frame,
    suppress_rates,
    suppress_table,
)


def _brute_force_ranges(full: np.ndarray, hidden: np.ndarray) -> dict[tuple[int, int], tuple]:
    """Second method for the audit: enumerate every integer completion of the hidden cells
    (each >= 1, at most the grand total) that reproduces all published margins."""
    cells = list(zip(*np.nonzero(hidden), strict=True))
    grand = int(full[-1, -1])
    seen: dict[tuple[int, int], list[int]] = {c: [] for c in cells}
    for combo in itertools.product(range(1, grand + 1), repeat=len(cells)):
        trial = full.copy()
        for cell, value in zip(cells, combo, strict=True):
            trial[cell] = value
        rows_ok = np.all(trial[:-1, :-1].sum(axis=1) == trial[:-1, -1])
        cols_ok = np.all(trial[:-1, :-1].sum(axis=0) == trial[-1, :-1])
        totals_ok = trial[:-1, -1].sum() == trial[-1, -1] == trial[-1, :-1].sum()
        if rows_ok and cols_ok and totals_ok:
            for cell, value in zip(cells, combo, strict=True):
                seen[cell].append(value)
    return {c: (min(v), max(v)) for c, v in seen.items()}


def test_primary_and_complementary_in_two_by_two() -> None:
    table = pd.DataFrame({"yes": [40, 3], "no": [25, 30]}, index=["IOP", "inpatient"])
    result = suppress_table(table, k=11)
    # the 3 is primary; its row, its column and then the other row each need a partner
    assert result.primary.to_numpy().sum() == 1
    assert bool(result.primary.loc["inpatient", "yes"])
    hidden = result.values.isna().to_numpy()
    assert hidden[:2, :2].all()  # all four interior cells hidden
    assert not hidden[:, 2].any() and not hidden[2, :].any()  # margins published
    assert result.n_suppressed == 4
    # zero is shown, never suppressed
    zero = suppress_table(pd.DataFrame({"a": [0, 50], "b": [60, 70]}))
    assert zero.n_suppressed == 0 and int(zero.values.loc[0, "a"]) == 0


def test_audit_ranges_match_brute_force_enumeration() -> None:
    # small enough to enumerate every integer completion by hand-written brute force
    table = pd.DataFrame({"yes": [4, 6], "no": [5, 7]})
    full = _with_margins(table).to_numpy(dtype=float)
    hidden = np.zeros_like(full, dtype=bool)
    hidden[0, 0] = hidden[0, 1] = hidden[1, 0] = hidden[1, 1] = True
    cells, lower, upper = _feasible_ranges(full, hidden)
    expected = _brute_force_ranges(full.astype(int), hidden)
    for (i, j), lo, hi in zip(cells, lower, upper, strict=True):
        assert (lo, hi) == pytest.approx(expected[(int(i), int(j))])


def test_naive_suppression_is_recoverable_and_the_audit_sees_it() -> None:
    # hiding only the small cell: subtraction from the row total recovers it exactly
    table = pd.DataFrame({"yes": [40, 3], "no": [25, 30]})
    full = _with_margins(table).to_numpy(dtype=float)
    hidden = np.zeros_like(full, dtype=bool)
    hidden[1, 0] = True
    _, lower, upper = _feasible_ranges(full, hidden)
    assert lower[0] == upper[0] == 3.0


def test_every_published_table_passes_its_audit() -> None:
    rng = np.random.default_rng(7)
    for _ in range(25):
        table = pd.DataFrame(rng.integers(0, 40, size=(4, 3)))
        result = suppress_table(table, k=11)
        assert (result.audit["feasible_integers"] >= 11).all()
        shown = result.values.to_numpy(dtype=float, na_value=np.nan)
        small = (shown >= 1) & (shown < 11)
        assert not small.any()  # no published count in 1..10


def test_small_margin_is_hidden_and_protected() -> None:
    table = pd.DataFrame({"yes": [5, 50], "no": [2, 60]}, index=["a", "b"])
    result = suppress_table(table)
    assert result.values.loc["a", "Total"] is pd.NA  # the row total 7 is itself a small count
    assert (result.audit["feasible_integers"] >= 11).all()


def test_suppress_rates_hides_rates_and_explains_why() -> None:
    rates = pd.DataFrame(
        {
            "group": ["IOP", "inpatient", "PHP", "OP", "detox"],
            "n": [120, 80, 40, 25, 20],
            "n_events": [70, 5, 20, 12, 12],
            "rate": [70 / 120, 5 / 80, 0.5, 12 / 25, 0.6],
            "ci_low": [0.5, 0.02, 0.35, 0.3, 0.39],
            "ci_high": [0.67, 0.14, 0.65, 0.67, 0.78],
        }
    )
    out = suppress_rates(rates, k=11, min_denominator=30)
    assert out.loc[1, "suppression_reason"] == "small cell"
    assert pd.isna(out.loc[1, "rate"]) and out.loc[1, "n_events"] is pd.NA
    # a denominator of 25 is printed but its rate is not (imprecise, not disclosive)
    assert out.loc[3, "suppressed"] and out.loc[3, "suppression_reason"] in {
        "denominator < 30",
        "complementary",
    }
    assert pd.isna(out.loc[3, "rate"])
    # 20 - 12 = 8 non-events: the complement is a small cell, so the rate is hidden as one
    assert out.loc[4, "suppression_reason"] == "small cell"
    # someone must protect the hidden 5: at least one other group's numerator is hidden too
    assert out["n_events"].isna().sum() >= 2
    assert not out.loc[0, "suppressed"] or out.loc[0, "suppression_reason"] == "complementary"


def test_threshold_validation() -> None:
    with pytest.raises(ParameterError, match="at least 2"):
        suppress_table(pd.DataFrame({"a": [1]}), k=1)
    with pytest.raises(ParameterError, match="non-negative"):
        suppress_table(pd.DataFrame({"a": [-1, 3]}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("  =1+1", "'  =1+1"),
        ("\n@SUM(A1)", "'\n@SUM(A1)"),
        ("Site A", "Site A"),
    ],
)
def test_neutralise_cell(text: str, expected: str) -> None:
    assert neutralise_cell(text) == expected


def test_neutralise_frame_keeps_numbers() -> None:
    frame = pd.DataFrame({"site": ["=cmd", "ok"], "n": [-1, 2]})
    out = neutralise_frame(frame)
    assert out["site"].tolist() == ["'=cmd", "ok"]
    assert out["n"].tolist() == [-1, 2]
    assert frame["site"].tolist() == ["=cmd", "ok"]  # input untouched


def test_leak_through_the_totals_row_is_protected() -> None:
    # Regression (from a small simulated program's follow-up-by-quarter table, with structural
    # zeros for the quarters inside/outside the lookback split): every cell of column 3 is
    # small, so the column and its total are hidden; but that total is recoverable from the
    # grand total minus the other column totals, which narrowed the hidden 2s to 1..5. The
    # protecting cell lies in the totals row, outside the failing cell's row and column.
    table = pd.DataFrame(
        [
            [0, 4, 0, 0, 0, 5],
            [0, 17, 0, 2, 0, 13],
            [0, 25, 0, 2, 0, 7],
            [0, 10, 0, 3, 0, 10],
            [19, 0, 2, 0, 12, 0],
            [19, 0, 0, 0, 9, 0],
            [14, 0, 1, 0, 13, 0],
            [19, 0, 2, 0, 6, 0],
        ]
    )
    result = suppress_table(table, k=11)
    assert (result.audit["feasible_integers"] >= 11).all()
    shown = result.values.to_numpy(dtype=float, na_value=np.nan)
    assert not ((shown >= 1) & (shown < 11)).any()
