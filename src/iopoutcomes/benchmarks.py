"""Cited literature and contract benchmarks that outcome rates can be checked against.

A benchmark is a band (``low``..``high``) with its source, year and population. Rates are
context, never a verdict: :func:`position` says whether a confidence interval lies inside the
band, overlaps it, or lies wholly below or above it.

Examples
--------
>>> from iopoutcomes.benchmarks import MCCARTY_2014, position
>>> MCCARTY_2014.low, MCCARTY_2014.high
(0.5, 0.7)
>>> position([0.55, 0.40, 0.30, 0.72], [0.65, 0.60, 0.45, 0.80], MCCARTY_2014).tolist()
['inside', 'overlapping', 'below', 'above']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .exceptions import ParameterError

__all__ = ["GPRA_FOLLOWUP_TARGET", "MCCARTY_2014", "Benchmark", "position"]


@dataclass(frozen=True)
class Benchmark:
    """A published band for a rate, with its citation.

    Attributes
    ----------
    name : str
        Short name (``"McCarty et al. 2014"``).
    low, high : float
        The band, as proportions (``low <= high``); a single target has ``low == high``.
    measure : str
        What is measured (e.g. "abstinence at first follow-up").
    timepoint : str
        When (e.g. "first follow-up").
    citation : str
        Full reference.
    year : int
        Publication year.
    population : str
        Who the figure is about.
    url : str, optional
        Where to read it.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> from iopoutcomes.benchmarks import position
    >>> target = iop.Benchmark("Site plan", 0.50, 0.60, "abstinence", "6 months",
    ...                        "Quality plan 2024", 2024, "adults in IOP")
    >>> target.text()
    'Site plan: 50%-60% abstinence (adults in IOP; Quality plan 2024)'
    >>> position([0.45, 0.62], [0.55, 0.70], target).tolist()  # two rate intervals
    ['overlapping', 'above']
    """

    name: str
    low: float
    high: float
    measure: str
    timepoint: str
    citation: str
    year: int
    population: str
    url: str | None = None

    def __post_init__(self) -> None:
        if not (0.0 <= self.low <= self.high <= 1.0):
            raise ParameterError("A benchmark band needs 0 <= low <= high <= 1 (proportions).")

    def text(self) -> str:
        """One-line description with the band in percent and the source.

        >>> GPRA_FOLLOWUP_TARGET.text()[:40]
        'GPRA follow-up rate target: at least 80%'
        """
        if self.low == self.high:
            band = f"at least {self.low:.0%}"
        else:
            band = f"{self.low:.0%}-{self.high:.0%}"
        return f"{self.name}: {band} {self.measure} ({self.population}; {self.citation})"


MCCARTY_2014 = Benchmark(
    name="McCarty et al. 2014",
    low=0.50,
    high=0.70,
    measure="abstinence at first follow-up",
    timepoint="first follow-up",
    citation=(
        "McCarty D, Braude L, Lyman DR, et al. Substance abuse intensive outpatient programs: "
        "assessing the evidence. Psychiatric Services 2014;65(6):718-726"
    ),
    year=2014,
    population="adults in intensive outpatient and in inpatient/residential treatment",
    url="https://doi.org/10.1176/appi.ps.201300249",
)
"""50-70% abstinent at first follow-up in both IOP and inpatient/residential studies (review of
the IOP evidence). The band is quoted as in the review's summary; the included studies vary in
how they define abstinence and follow-up."""

GPRA_FOLLOWUP_TARGET = Benchmark(
    name="GPRA follow-up rate target",
    low=0.80,
    high=0.80,
    measure="follow-up rate (conducted in window / due)",
    timepoint="6mo",
    citation="SAMHSA CSAT GPRA discretionary-grant expectation (reporting guide §1.3)",
    year=2017,
    population="clients of SAMHSA-funded treatment programs",
)
"""The 80% GPRA follow-up rate: a target (a floor), so a rate is ``above`` or ``below`` it."""


def position(ci_low: Any, ci_high: Any, benchmark: Benchmark = MCCARTY_2014) -> npt.NDArray[Any]:
    """Where each confidence interval lies relative to a benchmark band (vectorised).

    Parameters
    ----------
    ci_low, ci_high : array-like of float
        Interval limits (proportions).
    benchmark : Benchmark
        The band.

    Returns
    -------
    numpy.ndarray of str
        ``"inside"`` (the interval lies within the band), ``"below"`` / ``"above"`` (wholly
        below / above it), ``"overlapping"`` (otherwise, including an interval wider than the
        band), or ``"unknown"`` where a limit is missing. For a single-value target
        (``low == high``) an interval containing it is ``"overlapping"``.

    Examples
    --------
    >>> position(0.62, 0.68).tolist()
    'inside'
    """
    lo = np.asarray(ci_low, dtype=float)
    hi = np.asarray(ci_high, dtype=float)
    out = np.where(
        hi < benchmark.low,
        "below",
        np.where(
            lo > benchmark.high,
            "above",
            np.where((lo >= benchmark.low) & (hi <= benchmark.high), "inside", "overlapping"),
        ),
    ).astype(object)
    out = np.where(np.isnan(lo) | np.isnan(hi), "unknown", out)
    if benchmark.low == benchmark.high:
        out = np.where(out == "inside", "overlapping", out)
    return out.astype(object)
