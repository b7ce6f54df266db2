"""Tests of iopoutcomes.report.cost_section and the [costs] configuration: what is published,
what is suppressed (k clients for a mean, a published abstinent count for a cost per abstinent
client), the ICER or dominance wording, and the section appearing only with [costs]."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import iopoutcomes as iop
from iopoutcomes.cea import cost_effectiveness
from iopoutcomes.costs import CostSettings
from iopoutcomes.exceptions import ConfigError
from iopoutcomes.report.config import ReportConfig
from iopoutcomes.report.cost_section import COST_TABLE, cost_section

UNITS = {
    "IOP": {"amount": 120, "per": "day", "price_year": 2024, "source": "program budget"},
    "residential": {"amount": 400, "per": "day", "price_year": 2024},
    "inpatient": {"amount": 650, "per": "day", "price_year": 2022},
}


def _frame(n1, n0, p1, p0, c1, c0, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "cohort": ["IOP"] * n1 + ["inpatient"] * n0,
            "abstinent_6mo": np.r_[rng.random(n1) < p1, rng.random(n0) < p0],
            "cost": np.r_[rng.gamma(2, c1 / 2, n1), rng.gamma(2, c0 / 2, n0)],
        }
    )


def test_published_numbers_match_the_result():
    ce = cost_effectiveness(_frame(300, 250, 0.6, 0.45, 5000, 11000), n_boot=300, seed=1)
    sec = cost_section(ce, k=11, min_denominator=30)
    table = {t.key: t for t in sec.tables}[COST_TABLE].frame.set_index("cohort")
    row = ce.table.iloc[0]
    assert table.loc["IOP", "clients"] == row["n"]
    assert table.loc["IOP", "abstinent"] == row["n_events"]
    assert table.loc["inpatient", "abstinent"] == row["n_events_ref"]
    assert table.loc["IOP", "cost per abstinent client (USD)"] == f"${row['cost_per_event']:,.0f}"
    assert table.loc["inpatient", "mean cost per episode (USD)"] == f"${row['mean_cost_ref']:,.0f}"
    assert ce.icer_statement["IOP"] in sec.paragraphs  # SE: the dominance statement
    assert "dominates" in ce.icer_statement["IOP"]
    assert [f.key for f in sec.figures] == ["cost_ceac"]
    assert sec.figures[0].svg.startswith("<svg")


def test_small_cohorts_publish_no_mean_and_no_comparison():
    ce = cost_effectiveness(_frame(300, 8, 0.6, 0.5, 5000, 11000), n_boot=300, seed=1)
    sec = cost_section(ce, k=11, min_denominator=30)
    table = sec.tables[-1].frame.set_index("cohort")
    assert table.loc["inpatient", "mean cost per episode (USD)"] == "—"
    assert table.loc["inpatient", "cost per abstinent client (USD)"] == "—"
    assert bool(table.loc["inpatient", "suppressed"])
    assert not sec.figures
    assert not any("ICER" in p or "dominat" in p for p in sec.paragraphs[:-1])
    assert any("not shown" in p for p in sec.paragraphs)


def test_a_small_abstinent_count_hides_the_cost_per_abstinent_client():
    # 5 abstinent of 200: mean cost x clients / cost per abstinent client would reveal it
    df = _frame(200, 200, 0.5, 0.5, 5000, 11000)
    df.loc[df.cohort == "inpatient", "abstinent_6mo"] = [True] * 5 + [False] * 195
    ce = cost_effectiveness(df, n_boot=300, seed=1)
    table = cost_section(ce, k=11, min_denominator=30).tables[-1].frame.set_index("cohort")
    assert pd.isna(table.loc["inpatient", "abstinent"])
    assert table.loc["inpatient", "cost per abstinent client (USD)"] == "—"
    assert table.loc["inpatient", "mean cost per episode (USD)"] != "—"  # 200 clients >= k


def test_cost_settings_validation():
    s = CostSettings.from_mapping({"price_year": 2024, "units": UNITS, "wtp": 20000})
    assert set(s.unit_costs()) == set(UNITS)
    assert CostSettings.from_mapping({"preset": "adss_1997"}).unit_costs()["OP"].amount == 1141
    with pytest.raises(ConfigError, match="exactly one"):
        CostSettings.from_mapping({"price_year": 2024})
    with pytest.raises(ConfigError, match="exactly one"):
        CostSettings.from_mapping({"preset": "adss_1997", "units": UNITS})
    with pytest.raises(ConfigError, match="unknown key"):
        CostSettings.from_mapping({"preset": "adss_1997", "prices": 1})
    with pytest.raises(ConfigError, match="column_price_year"):
        CostSettings.from_mapping({"column": "cost"})
    with pytest.raises(ConfigError, match="CPI-U table"):
        CostSettings.from_mapping({"preset": "adss_1997", "price_year": 2031})
    with pytest.raises(ConfigError, match="per must be one of"):
        CostSettings.from_mapping(
            {"units": {"IOP": {"amount": 1, "per": "hour", "price_year": 2024}}}
        )


def test_config_costs_table_and_hash():
    plain = ReportConfig()
    assert "costs" not in plain.to_dict()  # configs without costs keep their hash
    assert plain.hash() == ReportConfig.from_dict({}).hash()
    cfg = ReportConfig.from_dict({"costs": {"price_year": 2024, "units": UNITS}})
    assert cfg.cost_settings().price_year == 2024
    assert cfg.hash() != plain.hash()
    with pytest.raises(ConfigError, match="costs"):
        ReportConfig.from_dict({"costs": {"units": {"IOP": {"amount": 1}}}})


@pytest.mark.slow
def test_report_shows_the_section_only_with_costs():
    rec = iop.simulate_records(n=900, seed=3)
    with_costs = iop.quarterly_report(
        rec,
        config={"costs": {"price_year": 2024, "wtp": 20000, "units": UNITS}, "privacy": {"k": 5}},
        progress=False,
    )
    keys = [s.key for s in with_costs.sections]
    assert "costs" in keys and keys[-1] == "methods"
    sec = with_costs.sections[keys.index("costs")]
    assert {t.key for t in sec.tables} == {"cost_unit_costs", COST_TABLE}
    assert COST_TABLE in set(with_costs.suppression_log["table"])  # declared to the audit
    units = sec.tables[0].frame.set_index("level of care")
    assert units.loc["inpatient", "CPI-U factor"] == pytest.approx(round(313.689 / 292.655, 4))
    without = iop.quarterly_report(rec, config={"privacy": {"k": 5}}, progress=False)
    assert "costs" not in [s.key for s in without.sections]
