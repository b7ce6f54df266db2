"""The report's headline: primary analysis, sensitivity analyses, intake profile, benchmark."""

from __future__ import annotations

import math

import pytest

import iopoutcomes as iop
from iopoutcomes.benchmarks import MCCARTY_2014, position
from iopoutcomes.report.headline import primary_rows

COVARIATES = ["age", "sex", "severity", "primary_substance"]


# These tests exercise the headline logic on every row of the comparison. With k = 11 the
# primary rows are published, but the whole-report audit hides this program's 6-month missing
# counts (they protect small out-of-window counts, so the headline counts need not be hidden)
# and with them the complete-case and bounds rows; so they run at k = 5. The privacy rules are
# tested in test_disclosure.py.
SMALL_K = {"k": 5}


@pytest.fixture(scope="module")
def confounded() -> iop.Records:
    # True 6-month difference exactly 0 (effect_iop_logodds = 0: both settings share the
    # after-treatment process); strong confounding: less severe clients go to IOP.
    return iop.simulate_records(n=1200, seed=1, confounding_strength=3.0)


def _kpi(rep: iop.QuarterlyReport) -> iop.report.model.Kpi:
    return next(k for k in rep.sections[1].kpis if " vs " in k.label)


def test_confounded_data_have_the_properties_the_test_relies_on(confounded: iop.Records) -> None:
    effects = confounded.truth.causal_effects.set_index("timepoint")
    assert effects.loc["6mo", "risk_difference"] == 0.0
    eps = confounded.episodes
    sev = eps.groupby("cohort")["severity"].mean()
    assert sev["IOP"] < sev["inpatient"] - 1.0  # IOP clients less severe at admission


def test_headline_follows_the_adjusted_analysis(confounded: iop.Records) -> None:
    rep = iop.quarterly_report(
        confounded,
        None,
        config={"comparison": {"adjust": COVARIATES}, "privacy": SMALL_K},
        progress=False,
    )
    frame = rep.table("comparison").frame
    assert frame["verdict"].ne("").all()  # adjusted rows carry a verdict like the others
    primary = frame.loc[frame["role"] == "primary"]
    assert primary["analysis"].tolist() == ["adjusted (g-computation)"]
    unadjusted = frame.loc[frame["analysis"] == "unadjusted"].iloc[0]
    adjusted = primary.iloc[0]
    # the crude comparison flatters IOP; adjustment removes the confounding (truth: 0)
    assert unadjusted["diff"] > adjusted["diff"]
    assert unadjusted["verdict"] != adjusted["verdict"]  # the case the headline must get right
    kpi = _kpi(rep)
    assert kpi.signal == adjusted["verdict"]
    assert kpi.value == f"{100 * adjusted['diff']:+.1f} pts"
    assert "primary analysis (case-mix adjusted)" in kpi.label
    summary = " ".join(rep.sections[1].paragraphs)
    assert summary.index("Primary analysis (case-mix adjusted") < summary.index(
        "Sensitivity analysis (unadjusted"
    )
    assert "The two analyses disagree" in summary
    assert f"{100 * adjusted['diff']:+.1f} points" in summary
    outcomes = " ".join(rep.sections[4].paragraphs)
    assert "Primary analysis (case-mix adjusted" in outcomes and "complete case" in outcomes


def test_primary_can_be_set_to_unadjusted(confounded: iop.Records) -> None:
    rep = iop.quarterly_report(
        confounded,
        None,
        config={"comparison": {"adjust": COVARIATES, "primary": "unadjusted"}, "privacy": SMALL_K},
        progress=False,
    )
    frame = rep.table("comparison").frame
    row = frame.loc[frame["role"] == "primary"].iloc[0]
    assert row["analysis"] == "unadjusted"
    assert _kpi(rep).signal == row["verdict"]
    assert "after case-mix adjustment" in " ".join(rep.sections[1].paragraphs)


def test_without_covariates_the_intake_profile_is_shown(confounded: iop.Records) -> None:
    rep = iop.quarterly_report(confounded, None, config={"privacy": SMALL_K}, progress=False)
    profile = rep.table("intake_profile").frame
    shown = profile.loc[~profile["suppressed"]]
    severity = shown.loc[shown["covariate"] == "severity"].iloc[0]
    assert severity["smd"] < -0.1 and severity["value"] < severity["value_ref"]
    # the SMD is the balance_table one (Austin 2009), computed independently here:
    cohort = rep.table("comparison").frame  # the comparison is published
    assert not cohort["suppressed"].any()
    summary = " ".join(rep.sections[1].paragraphs)
    assert "differed at intake" in summary and "severity" in summary
    assert "not adjusted for these differences" in summary
    assert _kpi(rep).label.endswith("(unadjusted)")


def test_intake_profile_matches_a_hand_computation() -> None:
    # Austin (2009): numeric (m1 - m0) / sqrt((s1^2 + s0^2) / 2) with sample variances; a level
    # (p1 - p0) / sqrt((p1(1-p1) + p0(1-p0)) / 2). IOP ages 6 x 30 + 6 x 40 (mean 35, variance
    # 300/11), inpatient 6 x 40 + 6 x 50 (mean 45, variance 300/11): SMD = -10 / sqrt(300/11)
    # = -1.914854; female 6/12 vs 9/12: -0.25 / sqrt(0.21875) = -0.534522.
    import pandas as pd

    from iopoutcomes.report.headline import intake_profile
    from iopoutcomes.report.suppression import Partition

    table = pd.DataFrame(
        {
            "cohort": ["IOP"] * 12 + ["inpatient"] * 12,
            "age": [30] * 6 + [40] * 6 + [40] * 6 + [50] * 6,
            "sex": ["female"] * 6 + ["male"] * 6 + ["female"] * 9 + ["male"] * 3,
        }
    )
    logged: list[str] = []

    def log(name: str, part: Partition, members: object = None) -> Partition:
        logged.append(name)
        return part

    frame = intake_profile(table, "cohort", "IOP", "inpatient", ["age", "sex"], 3, log)
    age = frame.loc[frame["covariate"] == "age"].iloc[0]
    assert (age["value"], age["value_ref"], age["n"], age["n_ref"]) == (35.0, 45.0, 12, 12)
    assert age["smd"] == pytest.approx(-1.914854, abs=1e-6)
    female = frame.loc[frame["level"] == "female"].iloc[0]
    assert (female["n"], female["n_ref"]) == (6, 9)
    assert female["smd"] == pytest.approx(-0.534522, abs=1e-6)
    assert logged == ["intake_profile"]
    # with k = 13 no cohort has 13 clients: the mean is withheld, level counts suppressed
    hidden = intake_profile(table, "cohort", "IOP", "inpatient", ["age", "sex"], 13, log)
    assert hidden["suppressed"].all() and hidden["smd"].isna().all()


def test_benchmark_is_compared_with_the_complete_case_rate(confounded: iop.Records) -> None:
    rep = iop.quarterly_report(confounded, None, config={"privacy": SMALL_K}, progress=False)
    frame = rep.table("abstinence").frame
    for _, row in frame.iterrows():
        if math.isfinite(row["complete_case_rate"]):
            expected = position(
                row["complete_case_ci_low"], row["complete_case_ci_high"], MCCARTY_2014
            )[()]
            assert row["benchmark"] == expected
    assert "compared like for like with the complete-case rate" in rep.table("abstinence").footnote
    kpis = [k for k in rep.sections[1].kpis if k.label.startswith("Abstinent")]
    assert kpis and all("complete case" in k.target for k in kpis)


def test_primary_adjusted_needs_covariates() -> None:
    with pytest.raises(iop.ConfigError, match="needs case-mix covariates"):
        iop.report.ReportConfig.from_dict({"comparison": {"primary": "adjusted"}})
    with pytest.raises(iop.ConfigError, match="comparison.primary"):
        iop.report.ReportConfig.from_dict({"comparison": {"primary": "crude"}})


def test_primary_rows_pick_by_role() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "analysis": ["unadjusted", "adjusted (g-computation)", "unadjusted (complete case)"],
            "group": ["IOP"] * 3,
        }
    )
    assert primary_rows(frame, "adjusted").primary["analysis"] == "adjusted (g-computation)"
    assert primary_rows(frame, "unadjusted").other["analysis"] == "adjusted (g-computation)"
    only = frame.iloc[[0, 2]]
    assert primary_rows(only, "adjusted").primary_kind == "unadjusted"
