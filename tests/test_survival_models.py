"""Tests for the survival additions of issue 22: the proportional-hazards test (``cox.zph``),
stratified and cluster-robust Cox models, restricted mean survival time, and the clear error
for data without follow-up time. R values: tests/reference/r_survival_zph.py (command inside)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from reference import r_survival_zph as R
from test_survival import relapse_frame

from iopoutcomes.exceptions import InsufficientDataError, ParameterError
from iopoutcomes.survival import time_to_relapse


@pytest.fixture(scope="module")
def three() -> pd.DataFrame:
    df = relapse_frame()
    i = np.arange(len(df))
    df["site"] = np.array(["s1", "s2", "s3", "s4"])[i % 4]
    df["pid"] = i // 2
    return df


@pytest.fixture(scope="module")
def two(three: pd.DataFrame) -> pd.DataFrame:
    return three[three.cohort != "residential"].reset_index(drop=True)


def test_ph_test_matches_cox_zph_efron(two: pd.DataFrame) -> None:
    z = time_to_relapse(two, adjust=["sev", "sex"]).ph_test()
    t = z.to_frame()
    assert t["term"].tolist() == ["cohort", "sev", "sex", "GLOBAL"]
    assert_allclose(t["statistic"], R.ZPH_EFRON_CHISQ, rtol=1e-6)
    assert t["df"].tolist() == R.ZPH_EFRON_DF
    assert_allclose(t["pvalue"], R.ZPH_EFRON_P, rtol=1e-6)
    # scaled Schoenfeld residuals (+ beta), events ordered by time as cox.zph
    assert_allclose(z.residuals["transformed_time"], R.ZPH_EFRON_X, rtol=1e-9, atol=1e-12)
    assert_allclose(z.residuals["cohort[IOP]"], R.ZPH_EFRON_Y_COHORT, rtol=1e-6)
    assert_allclose(z.residuals["sev"], R.ZPH_EFRON_Y_SEV, rtol=1e-6)


def test_ph_test_breslow_multi_df_and_strata(two: pd.DataFrame, three: pd.DataFrame) -> None:
    t = time_to_relapse(two, adjust=["sev", "sex"], ties="breslow").ph_test().to_frame()
    assert_allclose(t["statistic"], R.ZPH_BRESLOW_CHISQ, rtol=1e-6)
    assert_allclose(t["pvalue"], R.ZPH_BRESLOW_P, rtol=1e-6)
    # three groups: the cohort term has 2 df
    t = time_to_relapse(three, adjust=["sev"]).ph_test().to_frame()
    assert_allclose(t["statistic"], R.ZPH3_CHISQ, rtol=1e-6)
    assert t["df"].tolist() == R.ZPH3_DF
    t = time_to_relapse(two, adjust=["sev"], strata="site").ph_test().to_frame()
    assert_allclose(t["statistic"], R.ZPH_STRATA_CHISQ, rtol=1e-6)


def test_ph_failure_is_remarked() -> None:
    # crossing hazards: IOP relapses early or never, inpatient steadily
    i = np.arange(200)
    cohort = np.where(i % 2 == 0, "IOP", "inpatient")
    time = np.where(cohort == "IOP", np.where(i % 4 == 0, 1 + i % 5, 60.0), 1 + (i * 7) % 50)
    event = np.where((cohort == "IOP") & (time == 60.0), 0, 1)
    df = pd.DataFrame({"cohort": cohort, "t_time": time, "t_event": event})
    res = time_to_relapse(df, time="t_time", event="t_event")
    p = res.ph_test().global_pvalue
    assert p < 0.05
    assert any("Proportional hazards are doubtful" in r for r in res.remarks)
    assert "doubtful" in res.ph_test().narrative()
    # and no such remark when the test does not reject
    two = relapse_frame().query("cohort != 'residential'")
    assert not any("Proportional hazards" in r for r in time_to_relapse(two).remarks)


def test_stratified_and_cluster_robust_cox_match_r(two: pd.DataFrame) -> None:
    cox = time_to_relapse(two, strata="site").cox
    assert_allclose(np.log(cox["hazard_ratio"]), R.COX_STRATA_COEF, rtol=1e-6)
    assert_allclose(cox["std_err"], R.COX_STRATA_SE, rtol=1e-6)
    res = time_to_relapse(two, adjust=["sev"], cluster="pid")
    assert_allclose(np.log(res.cox["hazard_ratio"]), R.COX_CLUSTER_COEF, rtol=1e-6)
    assert_allclose(res.cox["std_err"], R.COX_CLUSTER_SE, rtol=1e-6)
    assert not any("clusters" in r for r in res.remarks)  # 45 patients
    cox = time_to_relapse(two, strata="site", cluster="pid", ties="breslow").cox
    assert_allclose(np.log(cox["hazard_ratio"]), R.COX_STRATA_CLUSTER_BRESLOW_COEF, rtol=1e-6)
    assert_allclose(cox["std_err"], R.COX_STRATA_CLUSTER_BRESLOW_SE, rtol=1e-6)
    res = time_to_relapse(two, cluster="site")
    assert_allclose(res.cox["std_err"], R.COX_CLUSTER_SITE_SE, rtol=1e-6)
    assert any("Only 4 clusters" in r for r in res.remarks)


def test_rmst_matches_survfit_rmean(two: pd.DataFrame) -> None:
    res = time_to_relapse(two)
    for tau, mean, se in ((30, R.RMST_30, R.RMST_30_SE), (45, R.RMST_45, R.RMST_45_SE)):
        r = res.rmst(tau)
        t = r.to_frame()
        assert t["group"].tolist() == ["inpatient", "IOP"]
        assert_allclose(t["rmst"], mean, rtol=1e-9)
        assert_allclose(t["std_err"], se, rtol=1e-9)
        # difference and ratio as survRM2::rmst2 (normal on the difference, log for the ratio),
        # by hand from R's means and standard errors
        z = 1.959963984540054
        d = mean[1] - mean[0]
        sd = np.hypot(se[0], se[1])
        row = t.iloc[1]
        assert_allclose([row["diff"], row["diff_ci_low"], row["diff_ci_high"]],
                        [d, d - z * sd, d + z * sd], rtol=1e-9)  # fmt: skip
        lr = np.log(mean[1] / mean[0])
        slr = np.hypot(se[1] / mean[1], se[0] / mean[0])
        assert_allclose([row["ratio"], row["ratio_ci_low"], row["ratio_ci_high"]],
                        np.exp([lr, lr - z * slr, lr + z * slr]), rtol=1e-9)  # fmt: skip
        assert np.isnan(t.iloc[0]["diff"])
    assert "free of relapse" in res.rmst(30).narrative()
    # inpatient follow-up ends at 40 with S = 0, IOP at 46 with S = 0: no carry-forward remark
    assert res.rmst(45).remarks == ()
    with pytest.raises(ParameterError):
        res.rmst(-1)


def test_all_times_zero_gives_a_clear_error() -> None:
    # CTN-0094 through episode_outcomes: first use after the scheduled end of protocol is day 0
    # for everyone, which used to end in numpy's LinAlgError from the log-rank test
    df = pd.DataFrame({
        "cohort": ["A", "B"] * 5,
        "first_use_after_discharge_time": 0,
        "first_use_after_discharge_event": 1,
    })  # fmt: skip
    with pytest.raises(InsufficientDataError, match="relapse="):
        time_to_relapse(df)


def test_groups_without_a_shared_stratum_are_not_estimable() -> None:
    # arms nested in trials: A, B in trial 1; C, D in trial 2; reference A
    i = np.arange(80)
    arm = np.array(["A", "B", "C", "D"])[i % 4]
    df = pd.DataFrame({
        "cohort": arm,
        "trial": np.where(np.isin(arm, ["A", "B"]), "t1", "t2"),
        "t_time": 1 + (i * 7) % 23,
        "t_event": (i % 5 != 0).astype(int),
    })  # fmt: skip
    res = time_to_relapse(df, time="t_time", event="t_event", reference="A", strata="trial")
    cox = res.cox.set_index("term")
    assert np.isfinite(cox.loc["cohort[B]", "hazard_ratio"])
    assert cox.loc[["cohort[C]", "cohort[D]"], "hazard_ratio"].isna().all()
    assert any("never share a stratum" in r for r in res.remarks)


def test_ph_test_and_rmst_plots(two: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    res = time_to_relapse(two, adjust=["sev"])
    z = res.ph_test()
    ax = z.plot(term="sev")
    assert (
        len(ax.collections[0].get_offsets())
        == len(z.residuals)
        == int(two["first_use_after_discharge_event"].sum())
    )
    plt.close(ax.figure)
    ax = res.rmst(30).plot()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["inpatient", "IOP"]
    plt.close(ax.figure)
    with pytest.raises(ParameterError):
        z.plot(term="nope")
