"""Tests of iopoutcomes.costs: CPI conversion by hand, unit costs x length of stay by hand,
censoring of stays still in care, presets documented, bad input refused."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import iopoutcomes as iop
from iopoutcomes.costs import (
    UNIT_COST_PRESETS,
    UnitCost,
    cpi_table,
    episode_costs,
    inflate,
    unit_costs_from_mapping,
)
from iopoutcomes.exceptions import MissingColumnError, ParameterError


def test_cpi_table_holds_published_bls_annual_averages():
    cpi = cpi_table().set_index("year")["cpi_u"]
    # BLS CUUR0000SA0 annual averages (1982-84 = 100)
    assert cpi[1997] == 160.5
    assert cpi[2001] == 177.1
    assert cpi[2020] == 258.811
    assert cpi[2024] == 313.689
    assert cpi.index.is_monotonic_increasing
    assert list(cpi.index) == list(range(1990, 2025))  # no gaps


def test_inflate_by_hand():
    # 462 (2001 USD) to 2024: 462 x 313.689 / 177.1 = 144924.318 / 177.1 = 818.31913...
    c = inflate(462, 2001, 2024)
    assert c.cpi_from == 177.1 and c.cpi_to == 313.689
    assert c.factor == pytest.approx(1.771253529, rel=1e-9)
    assert c.converted == pytest.approx(144924.318 / 177.1, rel=1e-12)
    assert float(c) == c.converted
    assert "x 313.689 / 177.1" in c.text()  # the conversion is shown
    # 3134 (1997) to 2024: 3134 x 313.689 / 160.5 = 983101.326 / 160.5 = 6125.2419...
    assert inflate(3134, 1997, 2024).converted == pytest.approx(6125.24191, abs=1e-5)
    back = inflate(c.converted, 2024, 2001)
    assert back.converted == pytest.approx(462.0, rel=1e-12)
    assert inflate(50.0, 2010, 2010).factor == 1.0


@pytest.mark.parametrize("year", [1989, 2030, 2001.5, True])
def test_inflate_refuses_years_outside_the_table(year):
    with pytest.raises(ParameterError, match="CPI-U table"):
        inflate(100, year, 2024)


def test_presets_are_documented_and_dated():
    for name, units in UNIT_COST_PRESETS.items():
        for level, u in units.items():
            assert level in iop.schema.LEVELS_OF_CARE, (name, level)
            assert u.source and u.includes and u.note, (name, level)
            assert 1990 <= u.price_year <= 2024
    assert UNIT_COST_PRESETS["datcap_2001"]["IOP"].amount == 462.0
    assert UNIT_COST_PRESETS["datcap_2001"]["IOP"].per == "week"
    assert UNIT_COST_PRESETS["adss_1997"]["residential"].amount == 3134.0
    assert UNIT_COST_PRESETS["adss_1997"]["OP"].amount == 1141.0


def _episodes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "episode_id": ["a", "b", "c", "d", "e"],
            "level_of_care": ["IOP", "IOP", "inpatient", "residential", "inpatient"],
            "admission_date": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-03-01", "2024-03-01", "2024-06-20"]
            ),
            "discharge_day": pd.array([56, 0, 21, None, 10], dtype="Int64"),
        }
    )


def test_unit_costs_times_length_of_stay_by_hand():
    units = {
        "IOP": {"amount": 70.0, "per": "week", "price_year": 2024, "source": "budget"},
        "inpatient": {"amount": 600.0, "per": "day", "price_year": 2020},
        "residential": {"amount": 5000.0, "per": "episode", "price_year": 2024},
    }
    ec = episode_costs(_episodes(), units, data_as_of="2024-07-01")
    cost = ec.table.set_index("episode_id")["cost"]
    f = 313.689 / 258.811  # inpatient amounts are in 2020 prices
    assert cost["a"] == pytest.approx(70.0 * 56 / 7)  # 8 weeks
    assert cost["b"] == pytest.approx(70.0 * 1 / 7)  # same-day discharge: one day of care
    assert cost["c"] == pytest.approx(600.0 * f * 21)
    assert cost["d"] == pytest.approx(5000.0)  # flat per episode, still in care
    assert cost["e"] == pytest.approx(600.0 * f * 10)
    assert ec.price_year == 2024  # the latest price year of the unit costs
    conv = ec.unit_costs.set_index("level_of_care")
    assert conv.loc["inpatient", "factor"] == pytest.approx(f)
    assert conv.loc["inpatient", "amount_converted"] == pytest.approx(600.0 * f)
    assert "x 1.2120" in ec.definition_text()  # the conversion is shown, never hidden


def test_stays_still_in_care_are_censored_at_data_as_of():
    units = {"inpatient": {"amount": 100.0, "per": "day", "price_year": 2024}}
    eps = pd.DataFrame(
        {
            "episode_id": ["x", "y"],
            "level_of_care": ["inpatient", "inpatient"],
            "admission_date": pd.to_datetime(["2024-06-01", "2024-06-21"]),
            "discharge_day": pd.array([None, 5], dtype="Int64"),
        }
    )
    ec = episode_costs(eps, units, data_as_of="2024-07-01")
    t = ec.table.set_index("episode_id")
    assert t.loc["x", "length_of_stay"] == 30 and bool(t.loc["x", "in_care"])
    assert t.loc["x", "cost"] == 3000.0
    assert not bool(t.loc["y", "in_care"])
    assert any("still in care" in r for r in ec.remarks)
    with pytest.raises(ParameterError, match="data_as_of"):
        episode_costs(eps, units)


def test_records_give_their_data_as_of():
    rec = iop.simulate_records(n=150, seed=4)
    ec = episode_costs(rec, "adss_1997", price_year=2024)
    assert len(ec.table) == len(rec.episodes)
    assert (ec.table["cost"] > 0).all()
    # per admission: every episode costs its level's converted amount
    conv = ec.unit_costs.set_index("level_of_care")["amount_converted"]
    expected = ec.table["level_of_care"].map(conv)
    np.testing.assert_allclose(ec.table["cost"], expected, rtol=1e-12)


def test_cost_column_with_price_year():
    eps = _episodes().assign(cost=[100.0, 200.0, np.nan, 400.0, -1.0])
    ec = episode_costs(eps, cost_column="cost", cost_price_year=2020, price_year=2024)
    f = 313.689 / 258.811
    got = ec.table["cost"].to_numpy()
    np.testing.assert_allclose(got[[0, 1, 3]], np.array([100.0, 200.0, 400.0]) * f)
    assert np.isnan(got[2]) and np.isnan(got[4])
    assert ec.method == "cost column"
    with pytest.raises(ParameterError, match="cost_price_year"):
        episode_costs(eps)


def test_bad_unit_costs_are_refused_with_a_fix():
    with pytest.raises(ParameterError, match="no unit cost for level"):
        episode_costs(_episodes(), {"IOP": {"amount": 1, "per": "day", "price_year": 2024}})
    with pytest.raises(ParameterError, match="per must be one of"):
        UnitCost(10.0, "month", 2024)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="non-negative"):
        UnitCost(-1.0, "day", 2024)
    with pytest.raises(ParameterError, match="missing"):
        unit_costs_from_mapping({"IOP": {"amount": 1, "per": "day"}})
    with pytest.raises(ParameterError, match="preset"):
        unit_costs_from_mapping("no_such_preset")
    with pytest.raises(ParameterError, match="exchange"):
        episode_costs(
            _episodes(),
            {"IOP": {"amount": 1, "per": "day", "price_year": 2024, "currency": "EUR"}},
        )
    with pytest.raises(MissingColumnError):
        episode_costs(pd.DataFrame({"episode_id": ["a"]}))


def test_repr_and_html_are_escaped():
    ec = episode_costs(
        _episodes().iloc[:2],
        {"IOP": {"amount": 1.0, "per": "day", "price_year": 2024, "source": "<b>x</b>"}},
    )
    assert "<b>x</b>" not in ec._repr_html_()
    assert "EpisodeCosts" in repr(ec)
    assert math.isfinite(float(ec.table["cost"].sum()))
