"""Tests for iopoutcomes.competing against R's cmprsk and survival (tests/reference/r_competing.py).

Tolerances: the cumulative incidence and its variance are closed form (1e-10 relative here;
the issue asks for 1e-8); Gray's statistic is closed form too (1e-8, asked 1e-6); the Fine-Gray
and Cox fits are iterative, both sides converged to 1e-12 or better (1e-7 relative, asked 1e-5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reference import r_competing as R

from iopoutcomes import InsufficientDataError, MissingColumnError, ParameterError
from iopoutcomes.competing import (
    cause_specific_cox,
    cumulative_incidence,
    event_codes,
    fine_gray,
    gray_test,
)
from iopoutcomes.schema import CIF_COLUMNS, GRAY_TEST_COLUMNS, HAZARD_MODEL_COLUMNS

CAUSE_LABEL = {0: 0, 1: "relapse", 2: "died"}


def competing_frame(labels: bool = False) -> pd.DataFrame:
    """Python twin of the R data in tests/reference/r_competing.py."""
    i = np.arange(150)
    group = np.array(["IOP", "inpatient", "residential"])[i % 3]
    s = (i * 7) % 10
    status = np.where(s <= 4, 0, np.where(s <= 7, 1, 2))
    status[(group == "residential") & (status == 2)] = 0
    frame = pd.DataFrame(
        {
            "cohort": group,
            "time": 1 + (i * 37) % 23,
            "status": status,
            "sev": ((i * 11) % 13) / 6 - 1,
        }
    )
    if labels:
        frame["status"] = [CAUSE_LABEL[v] for v in status]
    return frame


@pytest.fixture(scope="module")
def cif() -> object:
    return cumulative_incidence(competing_frame(), time="time", event="status", by="cohort")


@pytest.mark.parametrize("group", ["IOP", "inpatient", "residential"])
@pytest.mark.parametrize("cause", [1, 2])
def test_cif_and_variance_match_cuminc(cif: object, group: str, cause: int) -> None:
    tab = cif.to_frame()  # type: ignore[attr-defined]
    part = tab[(tab["group"] == group) & (tab["cause"] == cause)]
    key = f"CI_{group.upper()}_{cause}"
    np.testing.assert_array_equal(part["time"], getattr(R, f"{key}_TIME"))
    np.testing.assert_allclose(part["cif"], getattr(R, f"{key}_EST"), rtol=1e-10)
    np.testing.assert_allclose(part["std_err"] ** 2, getattr(R, f"{key}_VAR"), rtol=1e-10)


def test_cif_columns_and_residential_has_no_deaths(cif: object) -> None:
    tab = cif.to_frame()  # type: ignore[attr-defined]
    assert tuple(tab.columns) == CIF_COLUMNS
    assert tab[(tab["group"] == "residential") & (tab["cause"] == 2)].empty
    assert any("no events of cause 2" in r for r in cif.remarks)  # type: ignore[attr-defined]


def test_cif_equals_survfit_multistate_aalen_johansen(cif: object) -> None:
    """``summary(survfit(Surv(time, fs) ~ grp), times = ...)$pstate`` (groups inpatient, IOP,
    residential): the multi-state Aalen-Johansen estimate is the same function."""
    at = cif.at([0.5, 5, 10.5, 17, 22])  # type: ignore[attr-defined]
    order = ["inpatient", "IOP", "residential"]
    for cause, ref in ((1, R.MS_RELAPSE), (2, R.MS_DIED)):
        got = np.concatenate(
            [at[(at.group == g) & (at.cause == cause)]["cif"].to_numpy() for g in order]
        )
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)


def test_at_matches_timepoints(cif: object) -> None:
    """``timepoints(ci, c(0.5, 5, 10.5, 17, 30))``: rows inpatient 1, IOP 1, residential 1,
    inpatient 2, IOP 2, residential 2 (R's order), NA after the last follow-up time (23)."""
    at = cif.at([0.5, 5, 10.5, 17, 30])  # type: ignore[attr-defined]
    order = [(g, c) for c in (1, 2) for g in ("inpatient", "IOP", "residential")]
    est = np.concatenate(
        [at[(at.group == g) & (at.cause == c)]["cif"].to_numpy() for g, c in order]
    )
    var = np.concatenate(
        [at[(at.group == g) & (at.cause == c)]["std_err"].to_numpy() ** 2 for g, c in order]
    )
    np.testing.assert_allclose(est, R.AT_EST, rtol=1e-10)
    np.testing.assert_allclose(var, R.AT_VAR, rtol=1e-10)
    assert tuple(at.columns) == CIF_COLUMNS
    # cumulative events and numbers at risk at t = 5 for IOP (hand count from the data)
    f = competing_frame()
    iop = f[f.cohort == "IOP"]
    row = at[(at.group == "IOP") & (at.cause == 1) & (at.time == 5)].iloc[0]
    assert row["n_at_risk"] == int((iop.time >= 5).sum())
    assert row["n_events"] == int(((iop.time <= 5) & (iop.status == 1)).sum())


def test_gray_test_matches_cuminc(cif: object) -> None:
    res = cif.gray_test()  # type: ignore[attr-defined]
    assert tuple(res.columns) == GRAY_TEST_COLUMNS
    np.testing.assert_allclose(res["statistic"], R.GRAY3_STAT, rtol=1e-8)
    np.testing.assert_allclose(res["pvalue"], R.GRAY3_PV, rtol=1e-8)
    assert res["df"].tolist() == R.GRAY3_DF
    f = competing_frame()
    two = f[f.cohort != "residential"]
    res2 = gray_test(two["time"], two["status"], two["cohort"])
    np.testing.assert_allclose(res2["statistic"], R.GRAY2_STAT, rtol=1e-8)
    np.testing.assert_allclose(res2["pvalue"], R.GRAY2_PV, rtol=1e-8)


def test_labels_give_the_same_numbers_as_codes(cif: object) -> None:
    lab = cumulative_incidence(
        competing_frame(labels=True), time="time", event="status", by="cohort"
    )
    assert lab.causes == ("died", "relapse")
    a = lab.to_frame()
    b = cif.to_frame()  # type: ignore[attr-defined]
    np.testing.assert_array_equal(
        a[a.cause == "relapse"]["cif"].to_numpy(), b[b.cause == 1]["cif"].to_numpy()
    )
    g = lab.gray_test().set_index("cause")
    assert g.loc["died", "statistic"] == pytest.approx(R.GRAY3_STAT[1], rel=1e-8)


def test_single_cause_cif_is_one_minus_kaplan_meier() -> None:
    """Without competing events the CIF is 1 - KM (hand check); Gray's variance at the first
    event time reduces to ``d / n^2`` (1/64 here), which is not Greenwood's."""
    from iopoutcomes.survival import kaplan_meier

    t = np.array([1, 2, 2, 3, 5, 6, 6, 8])
    e = np.array([1, 1, 0, 1, 0, 1, 1, 0])
    ci = cumulative_incidence(pd.DataFrame({"t": t, "e": e}), time="t", event="e").to_frame()
    km = kaplan_meier(t, e)
    km = km[km.n_events > 0]
    np.testing.assert_allclose(ci["cif"], 1 - km["survival"], rtol=1e-12)
    assert ci["std_err"].iloc[0] ** 2 == pytest.approx(1 / 64, rel=1e-12)


def test_intervals() -> None:
    f = competing_frame()
    ll = cumulative_incidence(f, time="time", event="status", by="cohort").to_frame()
    pl = cumulative_incidence(f, time="time", event="status", by="cohort", interval="plain")
    z = 1.959963984540054
    p = pl.to_frame()
    np.testing.assert_allclose(p["ci_low"], np.clip(p["cif"] - z * p["std_err"], 0, 1))
    assert (ll["ci_low"] < ll["cif"]).all() and (ll["cif"] < ll["ci_high"]).all()
    # log(-log): log(-log F) +- z se / (F |log F|), back-transformed (hand formula)
    row = ll.iloc[3]
    F, se = row["cif"], row["std_err"]
    lo = np.exp(-np.exp(np.log(-np.log(F)) + z * se / (F * abs(np.log(F)))))
    assert row["ci_low"] == pytest.approx(lo, rel=1e-12)
    assert "log-log" in ll["method"].iloc[0] and "plain" in p["method"].iloc[0]


def test_fine_gray_matches_crr() -> None:
    f = competing_frame()
    res = fine_gray(f, time="time", event="status", cause=1, by="cohort", reference="inpatient")
    tab = res.to_frame()
    assert tuple(tab.columns) == HAZARD_MODEL_COLUMNS
    assert tab["term"].tolist() == ["cohort[IOP]", "cohort[residential]"]
    np.testing.assert_allclose(tab["coef"], R.CRR1_COEF, rtol=1e-7)
    np.testing.assert_allclose(tab["se"], R.CRR1_SE, rtol=1e-7)
    np.testing.assert_allclose(tab["hr"], np.exp(R.CRR1_COEF), rtol=1e-7)
    # the point estimate is close to, but (with ties) not equal to, finegray + coxph
    np.testing.assert_allclose(tab["coef"], R.FG1_COEF, atol=0.01)
    adj = fine_gray(f, time="time", event="status", cause=1, by="cohort", adjust=["sev"])
    np.testing.assert_allclose(adj.table["coef"], R.CRR1ADJ_COEF, rtol=1e-7)
    np.testing.assert_allclose(adj.table["se"], R.CRR1ADJ_SE, rtol=1e-7)


def test_fine_gray_other_cause_and_labels() -> None:
    f = competing_frame(labels=True)
    two = f[f.cohort != "residential"]
    res = fine_gray(two, time="time", event="status", cause="died", by="cohort")
    np.testing.assert_allclose(res.table["coef"], R.CRR2_COEF, rtol=1e-6)
    np.testing.assert_allclose(res.table["se"], R.CRR2_SE, rtol=1e-7)
    assert "subdistribution" in res.methods_text() and "not the hazard" in res.methods_text()
    # residential has no deaths: no model, NaN row and a remark
    none = fine_gray(f, time="time", event="status", cause="died", by="cohort")
    assert none.table["coef"].isna().all()
    assert any("no events of cause died" in r for r in none.remarks)


def test_cause_specific_cox_matches_coxph() -> None:
    f = competing_frame()
    res = cause_specific_cox(f, time="time", event="status", cause=1, by="cohort")
    np.testing.assert_allclose(res.table["coef"], R.CS1_COEF, rtol=1e-7)
    np.testing.assert_allclose(res.table["se"], R.CS1_SE, rtol=1e-7)
    adj = cause_specific_cox(f, time="time", event="status", cause=1, by="cohort", adjust="sev")
    np.testing.assert_allclose(adj.table["coef"], R.CS1ADJ_COEF, rtol=1e-7)
    np.testing.assert_allclose(adj.table["se"], R.CS1ADJ_SE, rtol=1e-7)
    assert "among clients still event-free" in res.narrative()


def test_event_codes_and_errors() -> None:
    codes, causes = event_codes(pd.Series([0, 2, 1, None, 2.0]))
    assert codes.tolist() == [0, 2, 1, -1, 2] and causes == [1.0, 2.0]
    f = competing_frame()
    with pytest.raises(MissingColumnError):
        cumulative_incidence(f, time="nope", event="status")
    with pytest.raises(ParameterError):
        cumulative_incidence(f, time="time", event="status", interval="log")
    with pytest.raises(ParameterError):
        fine_gray(f, time="time", event="status", cause=7, by="cohort")
    with pytest.raises(InsufficientDataError):
        cumulative_incidence(f.assign(status=0), time="time", event="status")


def test_rendering_and_plot() -> None:
    import matplotlib.pyplot as plt

    ci = cumulative_incidence(
        competing_frame(labels=True), time="time", event="status", by="cohort"
    )
    assert "CumulativeIncidence" in repr(ci) and "<table" in ci._repr_html_()
    assert "Gray" in ci.methods_text() and "Aalen" in ci.methods_text()
    assert ci.narrative(10).startswith("Cumulative incidence by time 10")
    fig, ax = plt.subplots()
    ci.plot(ax=ax)
    assert len(ax.get_lines()) == 6  # 3 groups x 2 causes (residential deaths drawn flat at 0)
    plt.close(fig)


def test_relapse_events_from_discharge_reasons_and_statuses() -> None:
    from iopoutcomes.competing import relapse_events

    f = pd.DataFrame(
        {
            "first_use_after_discharge_time": [5, 40, 40, 40, 200, None],
            "first_use_after_discharge_event": [True, False, False, False, False, None],
            "discharge_reason": [
                "died",
                "incarcerated",
                "completed",
                "completed",
                "completed",
                "x",
            ],
            "discharge_day": [30, 30, 30, 30, 30, 30],
            # observation ends on admission day 70 (rows 1-3) or 230 (row 4): the 3-month
            # (day 91) interview is the first after it for rows 1-3, the 12-month for row 4
            "followup_status_1mo": ["completed", "completed", "completed", "died", "completed", ""],
            "followup_status_3mo": ["completed", "completed", "died", "missed", "died", ""],
            "followup_status_12mo": ["died", "died", "died", "died", "withdrawn", ""],
        }
    )
    got = relapse_events(f, competing=("died", "incarcerated", "withdrawn")).tolist()
    # a relapse wins over a later death; the 1-month death of row 3 precedes observation's end
    # (day 70), so it is not the event that ended it; row 4's 3-month death was before day 230
    # but the first interview after day 230 (12 months) says withdrawn
    assert got[:5] == ["relapse", "incarcerated", "died", 0, "withdrawn"]
    assert pd.isna(got[5])


def test_time_to_relapse_with_competing_events() -> None:
    from iopoutcomes.competing import relapse_events
    from iopoutcomes.survival import time_to_relapse

    out = iop_outcomes()
    res = time_to_relapse(out, competing=("died", "incarcerated", "withdrawn"))
    cr = res.competing_risks
    assert any("Competing events (died, incarcerated, withdrawn" in r for r in res.remarks)
    # the cause-specific Cox of relapse is the library's Cox of the relapse indicator
    hr = res.to_frame().set_index("group").loc["IOP", "hazard_ratio"]
    assert cr.cause_specific.table["hr"].iloc[0] == pytest.approx(hr, rel=1e-10)
    # the stored curves are cumulative_incidence() of the derived event labels
    frame = out.to_frame()
    labels = relapse_events(frame, competing=("died", "incarcerated", "withdrawn"))
    direct = cumulative_incidence(
        frame.assign(cause=labels).dropna(subset=["cause"]),
        time="first_use_after_discharge_time",
        event="cause",
        by="cohort",
    ).to_frame()
    pd.testing.assert_frame_equal(cr.cumulative_incidence.to_frame(), direct)
    # with competing events removed from the relapse risk set, CIF(relapse) <= 1 - KM
    at = cr.cumulative_incidence.at([60.0])
    km = res.at_risk_table([60.0]).set_index("group")["survival"]
    for g in ("IOP", "inpatient"):
        cif = at[(at.group == g) & (at.cause == "relapse")]["cif"].iloc[0]
        assert cif <= 1 - km[g] + 1e-12
    assert {"cause-specific", "fine-gray"} == set(cr.to_frame()["model"])


def iop_outcomes() -> object:
    import iopoutcomes as iop

    return iop.episode_outcomes(iop.load_sample())


def no_ties_frame() -> pd.DataFrame:
    """Python twin of the second R data set (200 distinct times, two covariates)."""
    i = np.arange(200)
    s = (i * 13) % 7
    return pd.DataFrame(
        {
            "time": ((i * 7919) % 1000) / 10 + 0.5,
            "status": np.where(s <= 2, 0, np.where(s <= 4, 1, 2)),
            "grp": np.where((i * 5) % 3 == 0, "IOP", "inpatient"),
            "x": np.sin(i) + ((i * 3) % 5) / 4,
        }
    )


def test_fine_gray_without_ties_equals_crr_and_finegray_coxph() -> None:
    f = no_ties_frame()
    assert f["time"].nunique() == 200
    res = fine_gray(f, time="time", event="status", cause=1, by="grp", adjust=["x"])
    np.testing.assert_allclose(res.table["coef"], R.NT_CRR_COEF, rtol=1e-7)
    np.testing.assert_allclose(res.table["coef"], R.NT_FG_COEF, rtol=1e-7)
    np.testing.assert_allclose(res.table["se"], R.NT_CRR_SE, rtol=1e-7)
    ci = cumulative_incidence(f, time="time", event="status", by="grp")
    np.testing.assert_allclose(ci.gray_test()["statistic"], R.NT_GRAY_STAT, rtol=1e-8)
    at = ci.at([10, 50, 90])
    order = [(g, c) for c in (1, 2) for g in ("inpatient", "IOP")]  # R sorts levels by locale
    est = np.concatenate([at[(at.group == g) & (at.cause == c)]["cif"] for g, c in order])
    var = np.concatenate([at[(at.group == g) & (at.cause == c)]["std_err"] ** 2 for g, c in order])
    np.testing.assert_allclose(est, R.NT_AT_EST, rtol=1e-10)
    np.testing.assert_allclose(var, R.NT_AT_VAR, rtol=1e-10)


def test_fine_gray_without_competing_events_is_the_breslow_cox_fit() -> None:
    """With no competing events the subdistribution risk set is the ordinary one, so the
    Fine-Gray estimate equals the Cox estimate with Breslow ties (R's crr uses Breslow)."""
    from iopoutcomes.survival import time_to_relapse

    f = competing_frame()
    f = f[f.cohort != "residential"].assign(status=lambda d: (d.status == 1).astype(int))
    fg = fine_gray(f, time="time", event="status", cause=1, by="cohort", adjust=["sev"])
    cox = time_to_relapse(
        f.rename(columns={"time": "t_time", "status": "t_event"}),
        relapse="t",
        adjust=["sev"],
        ties="breslow",
    ).cox
    np.testing.assert_allclose(fg.table["hr"], cox["hazard_ratio"], rtol=1e-8)
