"""Episode costs: unit costs by level of care, length of stay, and price-year conversion.

A cost-effectiveness comparison needs one cost per episode in one price year. This module
gives it three ways, all stated in the result:

* a program's own **unit costs** by level of care (amount per ``day``, ``week`` or
  ``episode``, with currency, price year and source) from a ``costs=`` argument or the report
  configuration's ``[costs]`` table, multiplied by each episode's length of stay;
* a ``cost`` column already on the episodes (e.g. from a billing extract);
* documented, dated **reference unit costs** from the literature (:data:`UNIT_COST_PRESETS`),
  for programs without their own figures.

Every amount is converted to one price year with the CPI-U annual averages shipped in
``iopoutcomes/data/cpi_u.csv`` (:func:`inflate`); the factor and years of each conversion are
kept in the result (``EpisodeCosts.unit_costs``), never hidden.

Length of stay
--------------
``discharge_day`` (days from admission to discharge; computed from ``admission_date`` and
``discharge_date`` when absent). A same-day discharge counts as one day of care. Episodes still
in care (no discharge) are **censored at the data-as-of date**: their stay so far is costed and
they are flagged ``in_care`` (their final cost will be higher); the result's remarks give their
number.

Examples
--------
>>> from iopoutcomes.costs import inflate
>>> c = inflate(462, 2001, 2024)
>>> print(f"{c.factor:.4f} {c.converted:.2f}")
1.7713 818.32
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, ClassVar, Final, Literal

import numpy as np
import pandas as pd

from ._render import ResultDisplay
from .exceptions import ConfigError, MissingColumnError, ParameterError

__all__ = [
    "COST_BENCHMARKS",
    "CPI_SERIES",
    "COST_UNITS",
    "CostSettings",
    "EpisodeCosts",
    "Inflation",
    "UNIT_COST_PRESETS",
    "UnitCost",
    "cpi_table",
    "episode_costs",
    "inflate",
    "unit_costs_from_mapping",
]

CostUnit = Literal["day", "week", "episode"]
COST_UNITS: Final[tuple[str, ...]] = ("day", "week", "episode")
CPI_SERIES: Final[str] = (
    "CPI-U, U.S. city average, all items, annual average (BLS series CUUR0000SA0, 1982-84=100)"
)


# --- CPI and inflation -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _cpi() -> dict[int, float]:
    text = resources.files("iopoutcomes").joinpath("data/cpi_u.csv").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    out: dict[int, float] = {}
    for line in lines[1:]:
        year, value = line.split(",")
        out[int(year)] = float(value)
    return out


def cpi_table() -> pd.DataFrame:
    """The shipped CPI-U annual averages (``year``, ``cpi_u``); source in :data:`CPI_SERIES`.

    Examples
    --------
    >>> t = cpi_table()
    >>> float(t.set_index("year").loc[2001, "cpi_u"])
    177.1
    """
    cpi = _cpi()
    return pd.DataFrame({"year": list(cpi), "cpi_u": list(cpi.values())})


@dataclass(frozen=True)
class Inflation:
    """One price-year conversion, with everything needed to repeat it by hand.

    ``converted = amount * cpi_to / cpi_from`` (``factor = cpi_to / cpi_from``).
    """

    amount: float
    from_year: int
    to_year: int
    cpi_from: float
    cpi_to: float
    factor: float
    converted: float
    series: str = CPI_SERIES

    def __float__(self) -> float:
        return self.converted

    def text(self, currency: str = "USD") -> str:
        """The conversion in words (shown in results and reports).

        >>> print(inflate(100, 2020, 2024).text())
        100.00 USD (2020) x 313.689 / 258.811 = 121.20 USD (2024), CPI-U annual averages
        """
        if self.from_year == self.to_year:
            return f"{self.amount:,.2f} {currency} ({self.to_year}), no conversion"
        return (
            f"{self.amount:,.2f} {currency} ({self.from_year}) x {self.cpi_to:g} / "
            f"{self.cpi_from:g} = {self.converted:,.2f} {currency} ({self.to_year}), CPI-U "
            "annual averages"
        )


def inflate(amount: float, from_year: int, to_year: int) -> Inflation:
    """Convert an amount from one price year to another with the CPI-U annual averages.

    Parameters
    ----------
    amount : float
        Amount in ``from_year`` prices.
    from_year, to_year : int
        Price years; both must be in :func:`cpi_table` (1990 onwards).

    Returns
    -------
    Inflation
        The converted amount with the factor and both index values (a ``float`` of it is the
        converted amount).

    Raises
    ------
    ParameterError
        A year outside the shipped table (the message gives its range and how to extend it).

    Examples
    --------
    >>> c = inflate(3134, 1997, 2024)
    >>> print(round(c.converted, 2), round(c.factor, 4))
    6125.24 1.9544
    """
    cpi = _cpi()
    for name, year in (("from_year", from_year), ("to_year", to_year)):
        if isinstance(year, bool) or int(year) != year or int(year) not in cpi:
            raise ParameterError(
                f"{name} must be a year in the shipped CPI-U table ({min(cpi)}-{max(cpi)}); "
                f"received {year!r}. Add the BLS annual average to iopoutcomes/data/cpi_u.csv "
                "or give amounts in a covered year."
            )
    if not math.isfinite(float(amount)):
        raise ParameterError("amount must be a finite number.")
    a, b = cpi[int(from_year)], cpi[int(to_year)]
    factor = b / a
    return Inflation(float(amount), int(from_year), int(to_year), a, b, factor, amount * factor)


# --- unit costs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitCost:
    """A unit cost of one level of care.

    Attributes
    ----------
    amount : float
        Cost per ``per`` (non-negative).
    per : {"day", "week", "episode"}
        Unit: per day of care, per week of care (prorated by days / 7), or a flat episode cost.
    price_year : int
        Year whose prices ``amount`` is in.
    currency : str
    source : str
        Where the figure comes from (citation or "program budget FY2024").
    includes : str
        What the figure covers (e.g. "all program resources, provider perspective").
    note : str
        Caveats on its provenance.
    """

    amount: float
    per: CostUnit
    price_year: int
    currency: str = "USD"
    source: str = ""
    includes: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if self.per not in COST_UNITS:
            raise ParameterError(
                f"a unit cost's per must be one of {list(COST_UNITS)}; received {self.per!r}."
            )
        if not (math.isfinite(float(self.amount)) and float(self.amount) >= 0):
            raise ParameterError("a unit cost's amount must be a non-negative number.")
        if isinstance(self.price_year, bool) or int(self.price_year) != self.price_year:
            raise ParameterError(
                f"a unit cost's price_year must be a year; received {self.price_year!r}."
            )


UNIT_COST_PRESETS: Final[dict[str, dict[str, UnitCost]]] = {
    "datcap_2001": {
        "IOP": UnitCost(
            462.0,
            "week",
            2001,
            source=(
                "French MT et al., Drug Abuse Treatment Cost Analysis Program (DATCAP) studies "
                "of US intensive outpatient programs, as summarised in issue 19: about $462 per "
                "client-week ($4,445 per episode)"
            ),
            includes="economic cost of program resources (DATCAP: provider perspective)",
            note=(
                "The exact table of the per-week figure was not verified when this preset was "
                "written; check the DATCAP publication before quoting it."
            ),
        ),
    },
    "datcap_2001_episode": {
        "IOP": UnitCost(
            4445.0,
            "episode",
            2001,
            source="French MT et al., DATCAP, intensive outpatient: about $4,445 per episode",
            includes="economic cost of program resources (DATCAP: provider perspective)",
            note="Exact table not verified; see the datcap_2001 preset.",
        ),
    },
    "adss_1997": {
        "residential": UnitCost(
            3134.0,
            "episode",
            1997,
            source=(
                "SAMHSA Alcohol and Drug Services Study (ADSS) Cost Study: residential, about "
                "$3,134 per admission"
            ),
            includes="program cost per admission (provider perspective)",
            note=(
                "Figure and 1997 price year as quoted in issue 19; the ADSS report table was "
                "not verified when this preset was written."
            ),
        ),
        "inpatient": UnitCost(
            3134.0,
            "episode",
            1997,
            source="ADSS Cost Study residential figure, applied to inpatient (ASAM 3.7-4)",
            includes="program cost per admission (provider perspective)",
            note="ADSS reports residential care; its use for inpatient is an approximation.",
        ),
        "OP": UnitCost(
            1141.0,
            "episode",
            1997,
            source=("SAMHSA ADSS Cost Study: non-methadone outpatient, about $1,141 per admission"),
            includes="program cost per admission (provider perspective)",
            note="As quoted in issue 19; the ADSS report table was not verified.",
        ),
        "IOP": UnitCost(
            1141.0,
            "episode",
            1997,
            source="ADSS Cost Study non-methadone outpatient figure, applied to IOP",
            includes="program cost per admission (provider perspective)",
            note=(
                "ADSS pools outpatient and intensive outpatient non-methadone care; IOP alone "
                "costs more per admission."
            ),
        ),
    },
}
"""Reference unit costs from the literature, by preset name and level of care (see each
entry's ``source``, ``price_year``, ``includes`` and ``note``). Use them only when a program has
no figures of its own, converted to the report's price year (:func:`episode_costs` does)."""

COST_BENCHMARKS: Final[dict[str, dict[str, Any]]] = {
    "mojtabai_2003_outpatient_drug_free": {
        "value": 6300.0,
        "measure": "cost per abstinent case",
        "currency": "USD",
        "price_year": None,
        "source": (
            "Mojtabai R, Graff Zivin J (2003). Effectiveness and cost-effectiveness of four "
            "treatment modalities for substance disorders: a propensity score analysis. Health "
            "Serv Res 38:233-259 (outpatient drug-free care, about $6,300 per abstinent case)"
        ),
        "note": (
            "Price year not verified here (the study used 1990s NTIES data), so the figure is "
            "shown unconverted, as a point of comparison only."
        ),
    },
}
"""Published cost-per-outcome figures for comparison (not unit costs)."""


def unit_costs_from_mapping(
    costs: Mapping[str, Any] | str, *, currency: str = "USD"
) -> dict[str, UnitCost]:
    """Unit costs by level of care from a preset name or a mapping.

    Parameters
    ----------
    costs : str or mapping
        A key of :data:`UNIT_COST_PRESETS`, or ``{level: UnitCost}``, or ``{level: {"amount":
        ..., "per": "day"|"week"|"episode", "price_year": ..., "source": ..., "includes":
        ...}}`` (the form of the report configuration's ``[costs.units]`` table).
    currency : str
        Currency of mapping entries that do not name one.

    Returns
    -------
    dict of str to UnitCost

    Examples
    --------
    >>> u = unit_costs_from_mapping({"IOP": {"amount": 95, "per": "day", "price_year": 2024}})
    >>> u["IOP"].per, u["IOP"].amount
    ('day', 95.0)
    """
    if isinstance(costs, str):
        if costs not in UNIT_COST_PRESETS:
            raise ParameterError(
                f"unknown unit-cost preset {costs!r}; presets: {sorted(UNIT_COST_PRESETS)}."
            )
        return dict(UNIT_COST_PRESETS[costs])
    if not isinstance(costs, Mapping) or not costs:
        raise ParameterError(
            "costs must be a preset name or a non-empty mapping of level of care to a unit cost "
            '(e.g. {"IOP": {"amount": 95, "per": "day", "price_year": 2024}}).'
        )
    out: dict[str, UnitCost] = {}
    allowed = {"amount", "per", "price_year", "currency", "source", "includes", "note"}
    for level, spec in costs.items():
        if isinstance(spec, UnitCost):
            out[str(level)] = spec
            continue
        if not isinstance(spec, Mapping):
            raise ParameterError(
                f"the unit cost of {level!r} must be a table with amount, per and price_year."
            )
        unknown = set(spec) - allowed
        absent = {"amount", "per", "price_year"} - set(spec)
        if unknown or absent:
            raise ParameterError(
                f"the unit cost of {level!r} needs amount, per and price_year (optional: "
                f"currency, source, includes, note); unknown keys {sorted(unknown)}, "
                f"missing {sorted(absent)}."
            )
        try:
            amount = float(spec["amount"])
            year = int(spec["price_year"])
        except (TypeError, ValueError) as exc:
            raise ParameterError(
                f"the unit cost of {level!r}: amount must be a number and price_year a year."
            ) from exc
        out[str(level)] = UnitCost(
            amount,
            spec["per"],
            year,
            currency=str(spec.get("currency", currency)),
            source=str(spec.get("source", "")),
            includes=str(spec.get("includes", "")),
            note=str(spec.get("note", "")),
        )
    return out


# --- episode costs -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class EpisodeCosts(ResultDisplay):
    """One cost per episode in one price year (see :func:`episode_costs`).

    Attributes
    ----------
    table : pandas.DataFrame
        ``episode_id``, ``level_of_care``, ``length_of_stay`` (days of care, at least 1),
        ``in_care`` (still in care: stay censored at ``data_as_of``), ``cost`` (in
        ``price_year`` prices).
    unit_costs : pandas.DataFrame
        One row per level of care: ``level_of_care``, ``amount``, ``per``, ``price_year``,
        ``cpi_from``, ``cpi_to``, ``factor``, ``amount_converted``, ``source``, ``includes``,
        ``note`` (empty when costs come from a column).
    price_year : int
    currency : str
    method : str
        ``"unit costs x length of stay"`` or ``"cost column"``.
    data_as_of : pandas.Timestamp or None
        Censoring date of stays still in care.
    remarks : tuple of str

    Examples
    --------
    >>> eps = pd.DataFrame({"episode_id": ["a"], "level_of_care": ["IOP"], "discharge_day": [14]})
    >>> ec = episode_costs(eps, "datcap_2001", price_year=2024)
    >>> print(f"{ec.series()['a']:.2f}")  # 2 weeks x 462 x 313.689 / 177.1
    1636.64
    """

    table: pd.DataFrame
    unit_costs: pd.DataFrame
    price_year: int
    currency: str
    method: str
    data_as_of: pd.Timestamp | None = None
    remarks: tuple[str, ...] = field(default_factory=tuple)

    def _header(self) -> str:
        return (
            f"<EpisodeCosts: {len(self.table):,} episodes, {self.currency} {self.price_year} "
            f"prices, {self.method}>"
        )

    def to_frame(self) -> pd.DataFrame:
        """The unit costs and their conversion (one row per level of care)."""
        return self.unit_costs.copy()

    def definition_text(self) -> str:
        """How the episode costs were computed, in one paragraph."""
        if self.method == "cost column":
            return (
                f"Episode costs were taken from the episodes' cost column, in {self.currency} "
                f"of {self.price_year}."
            )
        convs = "; ".join(
            f"{r['level_of_care']}: {r['amount']:,.2f} per {r['per']} ({r['price_year']}) x {r['factor']:.4f}"
            f" = {r['amount_converted']:,.2f} ({self.price_year})"
            for r in self.unit_costs.to_dict("records")
        )
        censor = (
            f" Stays still in care are costed up to {self.data_as_of.date().isoformat()} "
            "(censored at the data-as-of date)."
            if self.data_as_of is not None
            else ""
        )
        return (
            "Episode cost = unit cost of the level of care x days of care (per day), x days / 7 "
            "(per week) or once (per episode); days of care = days from admission to discharge "
            f"(a same-day discharge counts as one).{censor} Unit costs converted to "
            f"{self.currency} of {self.price_year} with the {CPI_SERIES}: {convs}."
        )

    def series(self) -> pd.Series:
        """Episode costs indexed by ``episode_id`` (to join onto an outcomes table)."""
        return self.table.set_index("episode_id")["cost"]


def _stay_days(episodes: pd.DataFrame, data_as_of: pd.Timestamp | None) -> tuple[Any, Any]:
    if "discharge_day" in episodes:
        los = pd.to_numeric(episodes["discharge_day"], errors="coerce").astype(float)
    elif "discharge_date" in episodes and "admission_date" in episodes:
        los = (
            pd.to_datetime(episodes["discharge_date"]) - pd.to_datetime(episodes["admission_date"])
        ).dt.days.astype(float)
    else:
        raise MissingColumnError(
            "episodes need discharge_day or admission_date and discharge_date to cost stays; "
            f"found {list(episodes.columns)}. Pass the episodes of read_records(...)."
        )
    in_care = los.isna().to_numpy()
    if in_care.any():
        if data_as_of is None or "admission_date" not in episodes:
            raise ParameterError(
                f"{int(in_care.sum())} episode(s) are still in care (no discharge): pass "
                "data_as_of= (their stays are costed up to it) or leave them out."
            )
        so_far = (data_as_of - pd.to_datetime(episodes["admission_date"])).dt.days.astype(float)
        los = los.where(~in_care, so_far)
    days = np.maximum(los.to_numpy(float), 1.0)
    return days, in_care


def episode_costs(
    episodes: Any,
    costs: Mapping[str, Any] | str | None = None,
    *,
    price_year: int | None = None,
    currency: str = "USD",
    cost_column: str = "cost",
    cost_price_year: int | None = None,
    level_column: str = "level_of_care",
    data_as_of: Any = None,
) -> EpisodeCosts:
    """One cost per episode, in one price year.

    Parameters
    ----------
    episodes : Records or pandas.DataFrame
        ``Records`` (its episodes and ``data_as_of`` are used) or an episodes table with
        ``episode_id``, ``level_column`` and ``discharge_day`` (or ``admission_date`` and
        ``discharge_date``).
    costs : str or mapping, optional
        Unit costs by level of care (see :func:`unit_costs_from_mapping`: a preset name or a
        mapping). Without it, the episodes' ``cost_column`` is used.
    price_year : int, optional
        Price year of the result; default: the latest price year among the unit costs (or
        ``cost_price_year``).
    currency : str
        Currency of the result (unit costs in another currency are refused: no exchange rates).
    cost_column : str
        Per-episode cost column used when ``costs`` is None.
    cost_price_year : int, optional
        Price year of ``cost_column`` (required with it: costs without a price year cannot be
        compared or converted).
    level_column : str
        Column holding the level of care (``level_of_care``; ``cohort`` also works).
    data_as_of : date-like, optional
        Stays still in care are costed up to this date (default: ``Records.data_as_of``).

    Returns
    -------
    EpisodeCosts

    Examples
    --------
    >>> import pandas as pd
    >>> eps = pd.DataFrame({"episode_id": ["a", "b"], "level_of_care": ["IOP", "inpatient"],
    ...                     "discharge_day": [56, 21]})
    >>> ec = episode_costs(eps, {"IOP": {"amount": 70, "per": "week", "price_year": 2024},
    ...                          "inpatient": {"amount": 600, "per": "day", "price_year": 2024}})
    >>> ec.table["cost"].tolist()
    [560.0, 12600.0]
    """
    if hasattr(episodes, "episodes") and hasattr(episodes, "followups"):
        if data_as_of is None:
            data_as_of = getattr(episodes, "data_as_of", None)
        episodes = episodes.episodes
    if not isinstance(episodes, pd.DataFrame):
        raise ParameterError(
            f"episode_costs needs Records or an episodes DataFrame; received "
            f"{type(episodes).__name__}."
        )
    if "episode_id" not in episodes:
        raise MissingColumnError(
            f"episodes need an episode_id column; found {list(episodes.columns)}."
        )
    as_of = None if data_as_of is None else pd.Timestamp(data_as_of)
    remarks: list[str] = []
    if costs is None:
        if cost_column not in episodes:
            raise MissingColumnError(
                f"no unit costs were given and the episodes have no {cost_column!r} column; "
                "pass costs= (unit costs by level of care or a preset name) or a cost column."
            )
        if cost_price_year is None:
            raise ParameterError(
                "cost_price_year is required with a cost column: say which year's prices the "
                "costs are in."
            )
        target = int(price_year if price_year is not None else cost_price_year)
        conv = inflate(1.0, int(cost_price_year), target)
        cost = pd.to_numeric(episodes[cost_column], errors="coerce").to_numpy(float) * conv.factor
        n_bad = int((~np.isfinite(cost)).sum() + (cost[np.isfinite(cost)] < 0).sum())
        if n_bad:
            remarks.append(
                f"{n_bad} episode(s) have no usable cost (empty, not a number or negative) "
                "and are left without one."
            )
            cost = np.where(np.isfinite(cost) & (cost >= 0), cost, np.nan)
        table = pd.DataFrame(
            {
                "episode_id": episodes["episode_id"].to_numpy(),
                "level_of_care": (
                    episodes[level_column].to_numpy() if level_column in episodes else None
                ),
                "length_of_stay": np.nan,
                "in_care": False,
                "cost": cost,
            }
        )
        units = pd.DataFrame(
            [
                {
                    "level_of_care": "(cost column)",
                    "amount": 1.0,
                    "per": "episode",
                    "price_year": int(cost_price_year),
                    "cpi_from": conv.cpi_from,
                    "cpi_to": conv.cpi_to,
                    "factor": conv.factor,
                    "amount_converted": conv.factor,
                    "source": f"episodes column {cost_column!r}",
                    "includes": "",
                    "note": "",
                }
            ]
        )
        return EpisodeCosts(table, units, target, currency, "cost column", as_of, tuple(remarks))

    units_in = unit_costs_from_mapping(costs, currency=currency)
    other = sorted({u.currency for u in units_in.values()} - {currency})
    if other:
        raise ParameterError(
            f"unit costs in {other} cannot be combined with {currency}: give every unit cost in "
            "one currency (the library applies no exchange rates)."
        )
    if level_column not in episodes:
        raise MissingColumnError(
            f"episodes have no {level_column!r} column to match unit costs to; found "
            f"{list(episodes.columns)}. Pass level_column= (e.g. 'cohort')."
        )
    target = int(
        price_year if price_year is not None else max(u.price_year for u in units_in.values())
    )
    levels = episodes[level_column].astype("string")
    uncosted = sorted(set(levels.dropna().unique()) - set(units_in))
    if uncosted or levels.isna().any():
        raise ParameterError(
            f"no unit cost for level(s) of care {uncosted}"
            + (" (and some episodes have none)" if levels.isna().any() else "")
            + f"; unit costs are given for {sorted(units_in)}. Add them to costs= or [costs.units]."
        )
    days, in_care = _stay_days(episodes, as_of)
    rows = []
    per_day = pd.Series(0.0, index=list(units_in))
    per_week = per_day.copy()
    per_episode = per_day.copy()
    for level, u in units_in.items():
        conv = inflate(u.amount, u.price_year, target)
        rows.append(
            {
                "level_of_care": level,
                "amount": u.amount,
                "per": u.per,
                "price_year": u.price_year,
                "cpi_from": conv.cpi_from,
                "cpi_to": conv.cpi_to,
                "factor": conv.factor,
                "amount_converted": conv.converted,
                "source": u.source,
                "includes": u.includes,
                "note": u.note,
            }
        )
        {"day": per_day, "week": per_week, "episode": per_episode}[u.per][level] = conv.converted
    lv = levels.to_numpy(dtype=object)
    cost = (
        per_day.reindex(lv).to_numpy() * days
        + per_week.reindex(lv).to_numpy() * days / 7.0
        + per_episode.reindex(lv).to_numpy()
    )
    if in_care.any():
        remarks.append(
            f"{int(in_care.sum())} episode(s) still in care: their stays are costed up to the "
            "data-as-of date (censored), so their costs are lower than they will be."
        )
    table = pd.DataFrame(
        {
            "episode_id": episodes["episode_id"].to_numpy(),
            "level_of_care": lv,
            "length_of_stay": days,
            "in_care": in_care,
            "cost": cost,
        }
    )
    return EpisodeCosts(
        table,
        pd.DataFrame(rows),
        target,
        currency,
        "unit costs x length of stay",
        as_of if in_care.any() else None,
        tuple(remarks),
    )


# --- report configuration ----------------------------------------------------------------------


@dataclass(frozen=True)
class CostSettings:
    """The report configuration's ``[costs]`` table, validated (see
    :mod:`iopoutcomes.report.config`).

    Either unit costs by level of care (``[costs.units]``, or ``preset``) or a per-episode
    cost ``column`` (with ``column_price_year``); ``price_year`` is the report's price year
    (default: the latest of the unit costs), ``wtp`` the willingness to pay per additional
    abstinent client for the net benefit (0: none).

    Examples
    --------
    >>> s = CostSettings.from_mapping({"price_year": 2024, "units": {
    ...     "IOP": {"amount": 95, "per": "day", "price_year": 2024}}})
    >>> s.unit_costs()["IOP"].amount
    95.0
    """

    units: Mapping[str, Any] = field(default_factory=dict)
    preset: str = ""
    column: str = ""
    column_price_year: int | None = None
    price_year: int | None = None
    currency: str = "USD"
    perspective: str = "provider"
    includes: str = ""
    wtp: float = 0.0

    KEYS: ClassVar[tuple[str, ...]] = (
        "units",
        "preset",
        "column",
        "column_price_year",
        "price_year",
        "currency",
        "perspective",
        "includes",
        "wtp",
    )

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], *, source: str = "config") -> CostSettings:
        """Validate a ``[costs]`` table; every problem raises ``ConfigError`` naming the key."""
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{source}: [costs] must be a table of key = value lines.")
        unknown = sorted(set(raw) - set(cls.KEYS))
        if unknown:
            raise ConfigError(
                f"{source}: unknown key(s) {unknown} in [costs]. Valid keys: {sorted(cls.KEYS)}."
            )
        try:
            settings = cls(
                units=dict(raw.get("units", {}) or {}),
                preset=str(raw.get("preset", "")),
                column=str(raw.get("column", "")),
                column_price_year=(
                    int(raw["column_price_year"]) if "column_price_year" in raw else None
                ),
                price_year=int(raw["price_year"]) if "price_year" in raw else None,
                currency=str(raw.get("currency", "USD")),
                perspective=str(raw.get("perspective", "provider")),
                includes=str(raw.get("includes", "")),
                wtp=float(raw.get("wtp", 0.0)),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"{source}: [costs] price years must be whole years and wtp a number."
            ) from exc
        sources = [bool(settings.units), bool(settings.preset), bool(settings.column)]
        if sum(sources) != 1:
            raise ConfigError(
                f"{source}: [costs] needs exactly one of [costs.units] (unit costs by level of "
                "care), preset (a literature preset) or column (a per-episode cost column)."
            )
        if settings.column and settings.column_price_year is None:
            raise ConfigError(
                f"{source}: [costs] column needs column_price_year (the year of its prices)."
            )
        if not (math.isfinite(settings.wtp) and settings.wtp >= 0):
            raise ConfigError(f"{source}: costs.wtp must be a non-negative amount.")
        try:
            if not settings.column:
                settings.unit_costs()
            for year in (settings.price_year, settings.column_price_year):
                if year is not None:
                    inflate(1.0, year, year)
        except ParameterError as exc:
            raise ConfigError(f"{source}: [costs]: {exc}") from exc
        return settings

    def unit_costs(self) -> dict[str, UnitCost]:
        """The unit costs by level of care (empty with a cost column)."""
        if self.column:
            return {}
        return unit_costs_from_mapping(
            self.preset if self.preset else dict(self.units), currency=self.currency
        )

    def episode_costs(self, records: Any) -> EpisodeCosts:
        """:func:`episode_costs` of ``records`` under these settings."""
        if self.column:
            return episode_costs(
                records,
                cost_column=self.column,
                cost_price_year=self.column_price_year,
                price_year=self.price_year,
                currency=self.currency,
            )
        return episode_costs(
            records, self.unit_costs(), price_year=self.price_year, currency=self.currency
        )
