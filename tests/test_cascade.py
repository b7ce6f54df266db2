"""The follow-up cascade: counts by hand, the one denominator rule, agreement with the rate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest

import iopoutcomes as iop
from iopoutcomes import MissingColumnError
from iopoutcomes.cascade import CASCADE_STAGES, cascade_counts


@dataclass(frozen=True)
class Outcomes:
    table: pd.DataFrame
    definition: Any

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def _episodes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cohort": ["IOP"] * 5 + ["inpatient"] * 2,
            "discharge_day": [30, 40, None, 35, 20, 10, 12],
            "followup_due_6mo": [True, True, False, True, False, True, True],
            "followup_status_6mo": ["completed", "refused", None, "completed", None,
                                    "completed", "died"],
            "in_window_6mo": [True, False, False, False, False, True, False],
            "abstinent_6mo": [1.0, None, None, 0.0, None, 1.0, None],
        }
    )  # fmt: skip


def test_cascade_counts_by_hand() -> None:
    out = cascade_counts(_episodes())
    assert list(out.columns) == ["cohort", "stage", "n", "missing"]
    assert out["missing"].isna().all()  # a plain table carries no rule
    iop_rows = out[out.cohort == "IOP"]
    # episodes 5; discharged 4 (E3 still in care); due 3 (E1, E2, E4: E5's window is open);
    # in window: E1; analysed (no definition: known outcome): E1, E4
    assert iop_rows["stage"].tolist() == list(CASCADE_STAGES)
    assert iop_rows["n"].tolist() == [5, 4, 3, 1, 2]
    # inpatient: both due (a death counts as missing by default), one in window and known
    assert out[out.cohort == "inpatient"]["n"].tolist() == [2, 2, 2, 1, 1]


def test_the_definition_s_rules_decide_due_and_analysed() -> None:
    @dataclass(frozen=True)
    class Rule:
        missing: str = "using"
        death_policy: str = "missing"

    using = cascade_counts(Outcomes(_episodes(), Rule()))
    assert using[using.cohort == "IOP"]["n"].tolist() == [5, 4, 3, 1, 3]  # every due analysed
    assert set(using["missing"]) == {"using"}
    # death_policy="exclude": the death leaves the denominator (missing.eligibility's rule)
    excl = cascade_counts(Outcomes(_episodes(), Rule(death_policy="exclude")))
    assert excl[excl.cohort == "inpatient"]["n"].tolist() == [2, 2, 1, 1, 1]
    with pytest.raises(MissingColumnError, match="abstinent_12mo"):
        cascade_counts(_episodes(), timepoint="12mo")


def test_analysed_is_the_n_of_the_rate_the_report_prints() -> None:
    out = iop.episode_outcomes(iop.simulate_records(n=400, seed=3))
    flow = cascade_counts(out).pivot(index="cohort", columns="stage", values="n")
    rates = iop.outcome_rates(out, "abstinent_6mo", by="cohort").to_frame().set_index("group")
    table = out.to_frame()
    in_care = (
        (table["discharge_day"].isna() & table["followup_due_6mo"].fillna(False))
        .groupby(table["cohort"])
        .sum()
    )  # due but still in care: in the rate, out of the discharged flow
    for cohort in flow.index:
        assert flow.loc[cohort, "analysed"] + in_care.get(cohort, 0) == rates.loc[cohort, "n"]


def test_plots_draw_the_table_and_refuse_outcomes() -> None:
    import matplotlib.pyplot as plt

    from iopoutcomes import ParameterError, plots

    fig, ax = plt.subplots()
    try:
        with pytest.raises(ParameterError, match=r"iopoutcomes\.cascade_counts"):
            plots.plot_followup_cascade(_episodes(), ax=ax)
        with pytest.raises(ParameterError, match=r"iopoutcomes\.cascade_counts"):
            plots.plot_flow_diagram(_episodes(), ax=ax)
    finally:
        plt.close(fig)


def test_old_home_in_plots_warns_and_names_the_new_one() -> None:
    from iopoutcomes import plots

    with pytest.warns(DeprecationWarning, match=r"use iopoutcomes\.cascade\.cascade_counts"):
        old = plots.cascade_counts
    assert old is cascade_counts
