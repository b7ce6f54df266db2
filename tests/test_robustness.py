"""Tests for iopoutcomes.robustness: E-values against the closed forms of VanderWeele & Ding
(2017) and their worked example; subgroup analyses against compare_rates and R's glm."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import iopoutcomes as iop
from iopoutcomes.exceptions import ParameterError
from iopoutcomes.robustness import e_value, subgroup_analysis


def closed_form(rr: float) -> float:
    r = rr if rr >= 1 else 1 / rr
    return r + math.sqrt(r * (r - 1))


def test_e_value_worked_example_and_closed_forms() -> None:
    # VanderWeele & Ding (2017), Ann Intern Med 167:268, the breastfeeding example: RR 3.9
    # (95% CI 1.8 to 8.7) gives E-value 7.2 for the estimate and 3.0 for the lower limit
    t = e_value(3.9, 1.8, 8.7).to_frame().iloc[0]
    assert_allclose(t["e_value"], 3.9 + math.sqrt(3.9 * 2.9), rtol=1e-12)
    assert round(t["e_value"], 1) == 7.3 and t["e_value_ci"] == pytest.approx(3.0, rel=1e-12)
    # protective: 1/RR, and the upper limit is the one closest to the null
    t = e_value(0.5, 0.3, 0.8).to_frame().iloc[0]
    assert_allclose(
        [t["e_value"], t["e_value_ci"]], [2 + math.sqrt(2), closed_form(0.8)], rtol=1e-12
    )
    # interval including the null: 1
    assert e_value(1.3, 0.9, 1.8).to_frame()["e_value_ci"].iloc[0] == 1.0
    assert e_value(0.7, 0.4, 1.1).to_frame()["e_value_ci"].iloc[0] == 1.0


def test_e_value_odds_and_hazard_conversions() -> None:
    # common outcome: RR ~ sqrt(OR); rare: OR as RR
    t = e_value(4.0, 2.25, 9.0, measure="or").to_frame().iloc[0]
    assert_allclose([t["rr"], t["e_value"], t["e_value_ci"]],
                    [2.0, closed_form(2.0), closed_form(1.5)], rtol=1e-12)  # fmt: skip
    t = e_value(4.0, measure="or", rare=True).to_frame().iloc[0]
    assert_allclose(t["e_value"], closed_form(4.0), rtol=1e-12)
    assert np.isnan(t["e_value_ci"])
    # common outcome: RR ~ (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))
    hr = 1.45
    rr = (1 - 0.5 ** math.sqrt(hr)) / (1 - 0.5 ** math.sqrt(1 / hr))
    t = e_value(hr, 1.17, 1.79, measure="hr").to_frame().iloc[0]
    rr_lo = (1 - 0.5 ** math.sqrt(1.17)) / (1 - 0.5 ** math.sqrt(1 / 1.17))
    assert_allclose([t["rr"], t["e_value"], t["e_value_ci"]],
                    [rr, closed_form(rr), closed_form(rr_lo)], rtol=1e-12)  # fmt: skip
    with pytest.raises(ParameterError):
        e_value(-1.0)
    with pytest.raises(ParameterError):
        e_value(2.0, measure="rd")  # type: ignore[arg-type]


def test_e_value_methods_on_results() -> None:
    out = iop.episode_outcomes(iop.simulate_records(n=300, seed=5))
    cmp = iop.compare_rates(out)
    ev = cmp.e_value().to_frame()
    row = cmp.to_frame().iloc[0]
    direct = e_value(row["ratio"], row["ratio_ci_low"], row["ratio_ci_high"]).to_frame().iloc[0]
    assert_allclose(ev.loc[0, ["e_value", "e_value_ci"]].to_numpy(dtype=float),
                    direct[["e_value", "e_value_ci"]].to_numpy(dtype=float), rtol=1e-12)  # fmt: skip
    assert ev.loc[0, "label"].startswith("abstinent_6mo: IOP vs inpatient")
    rel = iop.time_to_relapse(out)
    hr = rel.cox.iloc[0]
    got = rel.e_value().to_frame().iloc[0]
    assert got["measure"] == "hr" and got["estimate"] == hr["hazard_ratio"]
    assert "unmeasured confounder" in rel.e_value().narrative()


# --- subgroups ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outcomes() -> iop.EpisodeOutcomes:
    return iop.episode_outcomes(iop.simulate_records(n=400, seed=3))


def test_subgroup_rows_match_compare_rates(outcomes) -> None:  # type: ignore[no-untyped-def]
    sg = subgroup_analysis(outcomes, "abstinent_6mo", subgroups=["sex", "primary_substance"],
                           labels={"primary_substance": "Primary substance"})  # fmt: skip
    t = sg.to_frame()
    assert t["subgroup"].tolist()[0] == "All"
    assert t.groupby("subgroup", sort=False).size().to_dict() == {
        "All": 1, "sex": 2, "primary_substance": 4
    }  # fmt: skip
    full = iop.compare_rates(outcomes).to_frame().iloc[0]
    assert_allclose(t.loc[0, ["diff", "diff_ci_low", "diff_ci_high"]].to_numpy(dtype=float),
                    full[["diff", "diff_ci_low", "diff_ci_high"]].to_numpy(dtype=float))  # fmt: skip
    frame = outcomes.to_frame()
    import dataclasses

    male = dataclasses.replace(outcomes, table=outcomes.table[frame["sex"].eq("male").to_numpy()])
    m = iop.compare_rates(male).to_frame().iloc[0]
    row = t[(t["subgroup"] == "sex") & (t["level"] == "male")].iloc[0]
    assert row["n"] == m["n"] and row["diff"] == m["diff"]
    assert "Primary substance" in sg.methods_text()


def test_interaction_test_matches_r_glm(outcomes) -> None:  # type: ignore[no-untyped-def]
    # The follow-up-due rows of episode_outcomes(simulate_records(n=400, seed=3)) written to
    # sg.csv (abstinent_6mo, cohort, sex, primary_substance) and, in R 4.x:
    #   d$y <- ifelse(is.na(d$abstinent_6mo), 0, as.numeric(d$abstinent_6mo == "True"))
    #   d$cohort <- relevel(factor(d$cohort), ref = "inpatient")
    #   f0 <- glm(y ~ cohort + sex, binomial, d); f1 <- glm(y ~ cohort * sex, binomial, d)
    #   anova(f0, f1, test = "LRT")   # and the same with primary_substance
    sg = subgroup_analysis(outcomes, "abstinent_6mo", subgroups=["sex", "primary_substance"])
    it = sg.interaction.set_index("subgroup")
    assert_allclose(it.loc["sex", ["statistic", "pvalue"]].to_numpy(dtype=float),
                    [0.659536478706059, 0.416723631415817], rtol=1e-6)  # fmt: skip
    assert_allclose(it.loc["primary_substance", ["statistic", "pvalue"]].to_numpy(dtype=float),
                    [1.00975542309845, 0.798891448735768], rtol=1e-6)  # fmt: skip
    assert it.loc["primary_substance", "df"] == 3 and it.loc["sex", "n"] == 272


def test_subgroup_margin_adjust_and_plot(outcomes) -> None:  # type: ignore[no-untyped-def]
    import matplotlib.pyplot as plt

    sg = subgroup_analysis(outcomes, "abstinent_6mo", subgroups=["sex"], margin=0.1,
                           adjust=["age"])  # fmt: skip
    t = sg.to_frame()
    assert "verdict" in t.columns and (t["analysis"] != "unadjusted").all()
    ax = sg.plot()
    labels = [tl.get_text() for tl in ax.get_yticklabels()]
    assert any("male" in lab for lab in labels) and any("All" in lab for lab in labels)
    plt.close(ax.figure)
    with pytest.raises(iop.MissingColumnError):
        subgroup_analysis(outcomes, "abstinent_6mo", subgroups=["nope"])


def test_subgroup_on_dataframe() -> None:
    df = pd.DataFrame({
        "cohort": ["IOP", "inpatient"] * 40,
        "y": ([1, 0, 0, 1] * 20),
        "s": ["a"] * 40 + ["b"] * 40,
    })  # fmt: skip
    sg = subgroup_analysis(df, "y", subgroups=["s"])
    assert sg.to_frame()["level"].tolist() == ["All", "a", "b"]
