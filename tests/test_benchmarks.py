"""Benchmarks: the cited band and the vectorised position rule."""

from __future__ import annotations

import numpy as np
import pytest

from iopoutcomes.benchmarks import GPRA_FOLLOWUP_TARGET, MCCARTY_2014, Benchmark, position
from iopoutcomes.exceptions import ParameterError


def test_mccarty_band_and_citation() -> None:
    assert (MCCARTY_2014.low, MCCARTY_2014.high, MCCARTY_2014.year) == (0.5, 0.7, 2014)
    assert "Psychiatric Services 2014;65(6):718-726" in MCCARTY_2014.citation
    assert GPRA_FOLLOWUP_TARGET.low == GPRA_FOLLOWUP_TARGET.high == 0.8
    assert "50%-70%" in MCCARTY_2014.text()


def test_position_rules() -> None:
    lo = [0.50, 0.45, 0.20, 0.71, 0.40, np.nan, 0.60]
    hi = [0.70, 0.55, 0.49, 0.90, 0.80, 0.50, 0.70]
    assert position(lo, hi).tolist() == [
        "inside",
        "overlapping",
        "below",
        "above",
        "overlapping",
        "unknown",
        "inside",
    ]
    # a single-value target: containing it is overlapping, never inside
    assert position([0.7, 0.81, 0.79], [0.9, 0.9, 0.8], GPRA_FOLLOWUP_TARGET).tolist() == [
        "overlapping",
        "above",
        "overlapping",
    ]


def test_benchmark_validation() -> None:
    with pytest.raises(ParameterError):
        Benchmark("x", 0.8, 0.5, "m", "t", "c", 2020, "p")
