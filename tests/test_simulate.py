"""Tests of simulate_records / load_sample: the truth matches what was generated."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import iopoutcomes as iop
from iopoutcomes._simulate_services import true_rate
from iopoutcomes.definitions import DEFAULT_WINDOWS
from iopoutcomes.exceptions import ParameterError
from iopoutcomes.records import Records, read_records
from iopoutcomes.simulate import (
    SAMPLE_N,
    SAMPLE_SEED,
    SimulationTruth,
    load_sample,
    simulate_records,
    simulate_tables,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
FOLLOWUPS = ("1mo", "3mo", "6mo", "12mo")


@pytest.fixture(scope="module")
def rec() -> Records:
    return simulate_records(n=2000, seed=0)


@pytest.fixture(scope="module")
def honest() -> Records:
    """No under-reporting and everyone reachable is reached: data = truth where observable."""
    return simulate_records(n=1500, seed=5, uds_underreport=0.0, followup_rate=1.0)


def _joined(records: Records) -> pd.DataFrame:
    """Completed follow-up rows joined to the truth row of the same episode and timepoint."""
    fu = records.followups
    fu = fu[fu["status"] == "completed"]
    full = records.truth.full_data
    return fu.merge(full, on=["episode_id", "timepoint"], suffixes=("", "_truth"), validate="1:1")


# --- structure ---------------------------------------------------------------------------------


def test_returns_validated_simulated_records(rec: Records) -> None:
    assert isinstance(rec, Records)
    assert rec.provenance == "simulated"
    assert isinstance(rec.truth, SimulationTruth)
    assert len(rec.episodes) == 2000
    assert len(rec.rejected) == 0
    assert set(rec.episodes["cohort"]) == {"IOP", "inpatient"}
    assert set(rec.episodes["level_of_care"]) == {"IOP", "residential", "inpatient"}
    # ASAM codes agree with the normalised level of care
    pairs = set(zip(rec.episodes["asam_code"], rec.episodes["level_of_care"], strict=True))
    assert pairs == {("2.1", "IOP"), ("3.5", "residential"), ("3.7", "inpatient")}
    assert set(rec.episodes["site"]) == {f"Site {c}" for c in "ABCDEF"}
    assert set(rec.episodes["primary_substance"]) == {
        "alcohol",
        "opioids",
        "stimulants",
        "cannabis",
    }
    sev = rec.episodes["severity"]
    assert sev.between(0, 10).all() and sev.std() > 1
    assert set(rec.followups["timepoint"]) == set(iop.schema.DEFAULT_TIMEPOINTS)
    assert rec.data_as_of == pd.Timestamp("2026-07-01")
    assert rec.truth.parameters["data_as_of"] == "2026-07-01"


def test_admissions_spread_over_at_least_eight_quarters(rec: Records) -> None:
    quarters = rec.episodes["admission_date"].dt.to_period("Q")
    counts = quarters.value_counts()
    assert len(counts) == 10
    assert counts.min() > 0.5 * len(rec.episodes) / 10  # roughly even, no empty quarter


def test_patients_with_two_episodes_do_not_overlap(rec: Records) -> None:
    eps = rec.episodes.sort_values(["patient_id", "admission_date"])
    per_patient = eps.groupby("patient_id").size()
    assert per_patient.max() == 2
    assert 0.05 < (per_patient == 2).sum() / len(eps) < 0.11
    gap = eps.groupby("patient_id")["admission_date"].diff().dropna().dt.days
    assert gap.min() > 365 + 30  # the second admission starts after the first follow-up year


def test_length_of_stay_and_discharge_reasons_by_setting(rec: Records) -> None:
    eps = rec.episodes
    done = eps[eps["discharge_reason"] == "completed"]
    los_iop = done.loc[done["cohort"] == "IOP", "discharge_day"]
    los_inp = done.loc[done["cohort"] == "inpatient", "discharge_day"]
    assert los_iop.between(42, 70).all() and los_inp.between(14, 35).all()
    assert (eps["discharge_day"].dropna() >= 0).all()
    reasons = set(eps["discharge_reason"].dropna())
    assert {"completed", "dropped_out", "terminated", "transferred", "other"} <= reasons
    # still in care at data_as_of: no discharge date and no reason, admitted recently
    in_care = eps[eps["discharge_date"].isna()]
    assert len(in_care) > 0 and in_care["discharge_reason"].isna().all()
    assert (in_care["admission_date"] > rec.data_as_of - pd.Timedelta(days=71)).all()
    # completion is setting specific: inpatient completes more often
    share = eps.dropna(subset=["discharge_reason"]).groupby("cohort")["discharge_reason"]
    completion = share.apply(lambda s: (s == "completed").mean())
    assert completion["inpatient"] > completion["IOP"]


# --- truth matches the data --------------------------------------------------------------------


def test_full_data_counts_equal_counts_recomputed_from_full_data(rec: Records) -> None:
    full = rec.truth.full_data
    assert len(full) == 6 * len(rec.episodes)
    alive = full[full["alive"]]
    expected = (
        alive.groupby(["cohort", "timepoint"])
        .agg(n=("episode_id", "size"), n_abstinent=("abstinent", "sum"))
        .reset_index()
    )
    got = rec.truth.full_data_counts.merge(expected, on=["cohort", "timepoint"], validate="1:1")
    assert len(got) == 12
    assert (got["n_x"] == got["n_y"]).all()
    assert (got["n_abstinent_x"] == got["n_abstinent_y"]).all()
    died = full.groupby(["cohort", "timepoint"])["alive"].apply(lambda a: int((~a).sum()))
    merged = rec.truth.full_data_counts.set_index(["cohort", "timepoint"])["n_died"]
    assert (merged.sort_index() == died.sort_index()).all()
    # abstinent is missing exactly for the dead
    assert (full["abstinent"].isna() == ~full["alive"]).all()
    assert (full["abstinent"].dropna() == (full.loc[full["alive"], "days_used_past30"] == 0)).all()


def test_completed_followups_agree_with_truth(rec: Records) -> None:
    j = _joined(rec)
    assert len(j) > 5000
    assert (j["observed"]).all() and j["alive"].all()
    assert (j["assessment_date"] == j["assessment_date_truth"]).all()
    assert (j["assessment_day"] == j["assessment_day_truth"]).all()
    reported = j["days_used_past30"].astype(int)
    assert (reported == j["reported_days_used_past30"]).all()
    # days_used_past30 == 0 iff truly abstinent, unless the person under-reported
    assert ((reported == 0) == (j["abstinent"].astype(bool) | j["underreport"])).all()
    # under-reporters used, say 0 days, and screen positive
    under = j[j["underreport"]]
    assert len(under) > 0
    assert (under["days_used_past30_truth"] > 0).all() and (under["uds_result"] == "positive").all()
    honest_rows = j[~j["underreport"]]
    assert (honest_rows["days_used_past30"] == honest_rows["days_used_past30_truth"]).all()
    # urine screens only at 1-12 months
    assert j.loc[j["timepoint"].isin(["intake", "discharge"]), "uds_result"].isna().all()
    assert set(j.loc[j["timepoint"].isin(FOLLOWUPS), "uds_result"]) == {
        "positive",
        "negative",
        "missing",
    }


def test_without_underreport_self_report_is_exactly_the_truth(honest: Records) -> None:
    j = _joined(honest)
    assert ((j["days_used_past30"] == 0) == j["abstinent"].astype(bool)).all()
    # with followup_rate=1 every follow-up with a row is completed unless died/incarcerated,
    # so the observed abstinence counts at 6mo equal the full-data counts of those episodes
    fu = honest.followups
    six = fu[fu["timepoint"] == "6mo"]
    assert set(six["status"]) <= {"completed", "died", "incarcerated", "withdrawn"}
    assert not (six["status"] == "withdrawn").any()
    full = honest.truth.full_data
    full6 = full[(full["timepoint"] == "6mo") & full["has_row"] & full["alive"]]
    full6 = full6[~full6["incarcerated"]]
    observed = six[six["status"] == "completed"]
    assert len(observed) == len(full6)
    assert int((observed["days_used_past30"] == 0).sum()) == int(full6["abstinent"].sum())


def test_use_days_consistent_with_days_used_past30(honest: Records) -> None:
    ud = honest.use_days
    sr = ud[ud["source"] == "self_report"]
    fu = honest.followups
    fu = fu[(fu["status"] == "completed") & (fu["assessment_day"] >= 30)][
        ["episode_id", "timepoint", "assessment_day", "days_used_past30"]
    ]
    m = sr[["episode_id", "day", "used"]].merge(fu, on="episode_id")
    m = m[(m["day"] >= m["assessment_day"] - 30) & (m["day"] < m["assessment_day"])]
    per = m.groupby(["episode_id", "timepoint"]).agg(
        n_days=("day", "size"), used=("used", "sum"), reported=("days_used_past30", "first")
    )
    covered = per[per["n_days"] == 30]  # the calendar has all 30 days of the window
    assert len(covered) > 1000
    assert (covered["used"] == covered["reported"]).all()
    # missing days exist (about 2%) and urine-screen rows agree with the self-report that day
    partial = per[per["n_days"] < 30]
    assert len(partial) > 0
    both = ud.pivot_table(
        index=["episode_id", "day"], columns="source", values="used", aggfunc="first"
    )
    both = both.dropna()
    assert len(both) > 100 and (both["uds"] == both["self_report"]).all()


def test_use_days_cover_admission_to_180_days_after_discharge(rec: Records) -> None:
    ud = rec.use_days
    eps = rec.episodes.set_index("episode_id")
    # the calendar runs from admission to discharge + 179 days, or to data_as_of while in care
    as_of_day = (rec.data_as_of - eps["admission_date"]).dt.days
    last = np.minimum(eps["discharge_day"].fillna(10**6) + 179, as_of_day).astype(int)
    alive = rec.truth.full_data.query("timepoint == '12mo'").set_index("episode_id")["alive"]
    sr = ud[ud["source"] == "self_report"]
    span = sr.groupby("episode_id")["day"].agg(["min", "max", "size"]).join(last.rename("last"))
    assert len(span) == len(eps)
    assert (span["min"] >= 0).all() and (span["max"] <= span["last"]).all()
    keep = alive.reindex(span.index).to_numpy()  # death ends a calendar early
    assert ((span["last"] - span["max"])[keep] <= 5).mean() > 0.99
    # about 2% of the days have no self-report row; about 3% have an extra urine-screen row
    missing = 1 - span.loc[keep, "size"].sum() / (span.loc[keep, "last"] + 1).sum()
    assert 0.015 < missing < 0.025
    assert 0.02 < (ud["source"] == "uds").sum() / len(sr) < 0.04
    # read_records resolved every row to the episode that generated it
    assert (ud["day"] <= ud["episode_id"].map(last)).all()


def test_deaths_and_incarceration_consistent_with_discharge_reasons(rec: Records) -> None:
    eps = rec.episodes[["episode_id", "discharge_reason", "discharge_day"]]
    fu = rec.followups.merge(eps, on="episode_id")
    full = rec.truth.full_data[["episode_id", "timepoint", "assessment_day"]]
    died = fu[fu["discharge_reason"] == "died"].merge(
        full, on=["episode_id", "timepoint"], suffixes=("", "_truth")
    )
    # died during the stay: every interview due on or after the death (discharge) day says so
    after = died["assessment_day_truth"] >= died["discharge_day"]
    assert after.sum() > 0 and (died.loc[after, "status"] == "died").all()
    assert (died.loc[~after, "status"] != "died").all()
    jailed = fu[(fu["discharge_reason"] == "incarcerated") & (fu["timepoint"] == "discharge")]
    assert len(jailed) > 0 and (jailed["status"] == "incarcerated").all()
    # once died, always died afterwards (in assessment-day order: IOP discharge can follow 1mo)
    full = rec.truth.full_data
    by = full.groupby("episode_id")
    last_alive = full[full["alive"]].groupby("episode_id")["assessment_day"].max()
    first_dead = full[~full["alive"]].groupby("episode_id")["assessment_day"].min()
    assert len(first_dead) > 10 and by.ngroups == len(rec.episodes)
    assert (last_alive.reindex(first_dead.index) < first_dead).all()
    assert (full.loc[~full["alive"], "status"] == "died").all()


def test_pending_followups_have_no_row(rec: Records) -> None:
    fu = rec.followups.merge(rec.episodes[["episode_id", "admission_date"]], on="episode_id")
    done = fu[fu["status"] == "completed"]
    assert (done["assessment_date"] <= rec.data_as_of).all()
    other = fu[(fu["status"] != "completed") & fu["timepoint"].isin(FOLLOWUPS)]
    window_end = other["timepoint"].map({tp: DEFAULT_WINDOWS[tp].end_day for tp in FOLLOWUPS})
    closed = other["admission_date"] + pd.to_timedelta(window_end, unit="D")
    assert (closed <= rec.data_as_of).all()
    full = rec.truth.full_data
    assert (~full["has_row"]).sum() > 0  # some follow-ups are pending
    assert full["has_row"].sum() == len(rec.followups)


def test_out_of_window_share_among_completed_followups(rec: Records) -> None:
    j = _joined(rec)
    j = j[j["timepoint"].isin(FOLLOWUPS)]
    start = j["timepoint"].map({tp: DEFAULT_WINDOWS[tp].start_day for tp in FOLLOWUPS})
    end = j["timepoint"].map({tp: DEFAULT_WINDOWS[tp].end_day for tp in FOLLOWUPS})
    inside = j["assessment_day"].between(start, end)
    assert (inside == j["in_window"]).all()
    assert 0.05 <= 1 - inside.mean() <= 0.10
    # the 6-month interviews cluster around the 182-day target
    six = j.loc[j["timepoint"] == "6mo", "assessment_day"]
    assert 175 <= six.median() <= 200


def test_followup_rate_reaches_target(rec: Records) -> None:
    full = rec.truth.full_data
    fu = full[full["timepoint"].isin(FOLLOWUPS)].copy()
    prev = fu.groupby("episode_id")["status"].shift(1)
    eligible = fu["alive"] & ~fu["incarcerated"] & (prev != "withdrawn")
    reached = (
        (fu.loc[eligible, "status"] == "completed").groupby(fu.loc[eligible, "timepoint"]).mean()
    )
    assert np.allclose(reached, 0.75, atol=0.03)


# --- the properties the analysis modules rely on ----------------------------------------------


def test_abstinence_at_six_months_in_band_by_default(rec: Records) -> None:
    counts = rec.truth.full_data_counts
    six = counts[counts["timepoint"] == "6mo"]
    rate = six["n_abstinent"].sum() / six["n"].sum()
    assert 0.50 <= rate <= 0.70
    # the observed complete-case self-report rate is also in the band
    fu = rec.followups
    obs = fu[(fu["timepoint"] == "6mo") & (fu["status"] == "completed")]
    assert 0.50 <= (obs["days_used_past30"] == 0).mean() <= 0.70
    # intake: nearly everyone used in the 30 days before admission
    intake = counts[counts["timepoint"] == "intake"]
    assert intake["n_abstinent"].sum() / intake["n"].sum() < 0.02


def test_confounding_severity_higher_in_inpatient(rec: Records) -> None:
    eps = rec.episodes
    sev = eps.groupby("cohort")["severity"].mean()
    assert sev["inpatient"] - sev["IOP"] > 1.0
    # unadjusted full-data comparison is biased while the true effect is exactly 0 at 6mo
    six = rec.truth.full_data_counts.query("timepoint == '6mo'").set_index("cohort")
    naive = six["n_abstinent"] / six["n"]
    effects = rec.truth.causal_effects.set_index("timepoint")
    assert effects.loc["6mo", "risk_difference"] == 0.0
    assert naive["IOP"] - naive["inpatient"] > 0.06
    # without confounding the groups look alike
    flat = simulate_records(n=2000, seed=0, confounding_strength=0.0).episodes
    flat_sev = flat.groupby("cohort")["severity"].mean()
    assert abs(flat_sev["inpatient"] - flat_sev["IOP"]) < 0.3
    # true propensity ranks severity: higher severity -> less likely IOP
    ps = rec.truth.propensity_iop.reindex(eps["episode_id"]).to_numpy()
    assert np.corrcoef(ps, eps["severity"].to_numpy())[0, 1] < -0.5


def test_causal_effects_from_potential_outcomes() -> None:
    rec = simulate_records(n=2000, seed=11, effect_iop_logodds=1.0)
    full = rec.truth.full_data
    fu = full[full["timepoint"].isin(FOLLOWUPS) & full["alive"]]
    # consistency: the observed setting's potential outcome is the outcome
    iop_rows = fu["cohort"] == "IOP"
    assert (fu.loc[iop_rows, "abstinent_if_iop"] == fu.loc[iop_rows, "abstinent"]).all()
    assert (fu.loc[~iop_rows, "abstinent_if_inpatient"] == fu.loc[~iop_rows, "abstinent"]).all()
    recomputed = fu.groupby("timepoint").apply(
        lambda d: (
            d["abstinent_if_iop"].astype(float).mean()
            - d["abstinent_if_inpatient"].astype(float).mean()
        )
    )
    effects = rec.truth.causal_effects.set_index("timepoint")
    assert np.allclose(effects["risk_difference"], recomputed.reindex(effects.index), atol=1e-12)
    assert (effects.loc[["6mo", "12mo"], "risk_difference"] > 0.08).all()
    assert (effects["n"] == fu.groupby("timepoint").size().reindex(effects.index)).all()
    # the same seed without effect: identical latent outcomes in the inpatient world
    base = simulate_records(n=2000, seed=11).truth.full_data
    assert base["abstinent_if_inpatient"].equals(full["abstinent_if_inpatient"])


def test_mnar_makes_followup_depend_on_the_outcome() -> None:
    def gap(records: Records) -> float:
        full = records.truth.full_data
        six = full[(full["timepoint"] == "6mo") & full["alive"] & ~full["incarcerated"]]
        reached = six["status"] == "completed"
        abst = six["abstinent"].astype(bool)
        return float(reached[abst].mean() - reached[~abst].mean())

    mar = simulate_records(n=3000, seed=4)
    mnar = simulate_records(n=3000, seed=4, mnar_strength=2.0)
    # same latent outcomes (common random numbers), different follow-up
    assert mar.truth.full_data["abstinent"].equals(mnar.truth.full_data["abstinent"])
    assert gap(mnar) > gap(mar) + 0.15

    # complete-case abstinence now overstates the truth
    def cc_bias(records: Records) -> float:
        full = records.truth.full_data
        six = full[(full["timepoint"] == "6mo") & full["alive"]]
        return float(
            six.loc[six["status"] == "completed", "abstinent"].mean() - six["abstinent"].mean()
        )

    assert cc_bias(mnar) > cc_bias(mar) + 0.05


def test_milestone_scores_improve_more_for_abstinent_people(rec: Records) -> None:
    fu = rec.followups
    base = fu[fu["timepoint"] == "intake"].set_index("episode_id")["wellbeing"]
    six = fu[(fu["timepoint"] == "6mo") & (fu["status"] == "completed")].set_index("episode_id")
    change = (six["wellbeing"] - base.reindex(six.index)).dropna()
    abst = six.loc[change.index, "days_used_past30"] == 0
    assert change[abst].mean() - change[~abst].mean() > 2.0
    for col in ("wellbeing", "relationships", "coping"):
        values = fu[col].dropna()
        assert values.between(0, 40).all() and (values == values.round()).all()
    for col in ("housing_stable", "employed"):
        assert 0.2 < fu[col].dropna().mean() < 0.9
    assert fu.loc[fu["timepoint"] == "intake", "aftercare_attended"].isna().all()
    assert fu.loc[fu["timepoint"] == "6mo", "aftercare_attended"].notna().any()


# --- determinism, parameters, sample ----------------------------------------------------------


def test_deterministic_under_seed() -> None:
    a = simulate_tables(n=300, seed=9)
    b = simulate_tables(n=300, seed=9)
    c = simulate_tables(n=300, seed=10)
    for x, y in zip(a[:3], b[:3], strict=True):
        pd.testing.assert_frame_equal(x, y)
    pd.testing.assert_frame_equal(a[3].full_data, b[3].full_data)
    assert not a[0]["severity"].equals(c[0]["severity"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n": 0},
        {"n": 10.5},
        {"followup_rate": 1.5},
        {"iop_share": 1.0},
        {"n_sites": 0},
        {"n_quarters": 0},
        {"data_as_of": "2024-06-01"},
        {"start": "not a date"},
        {"effect_iop_logodds": float("nan")},
        {"uds_underreport": -0.1},
        {"readmission_share": 0.8},
        {"seed": -1},
    ],
)
def test_invalid_parameters_raise(kwargs: dict[str, object]) -> None:
    with pytest.raises(ParameterError):
        simulate_tables(**kwargs)  # type: ignore[arg-type]


def test_custom_period_and_data_as_of() -> None:
    rec = simulate_records(
        n=400, seed=2, start="2023-04-01", n_quarters=8, data_as_of="2025-12-31", n_sites=3
    )
    quarters = rec.episodes["admission_date"].dt.to_period("Q")
    assert quarters.min() == pd.Period("2023Q2") and quarters.max() == pd.Period("2025Q1")
    assert quarters.nunique() == 8
    assert rec.data_as_of == pd.Timestamp("2025-12-31")
    assert set(rec.episodes["site"]) == {"Site A", "Site B", "Site C"}
    assert rec.episodes["discharge_date"].notna().all()  # long after the last admission


def test_truth_repr_and_frame(rec: Records) -> None:
    text = repr(rec.truth)
    assert text.startswith("SimulationTruth: 2000 episodes, seed 0")
    frame = rec.truth.to_frame()
    frame.loc[0, "n"] = -1
    assert rec.truth.full_data_counts.loc[0, "n"] != -1
    assert "<table" in rec.truth._repr_html_()


def test_sample_files_read_back_as_load_sample() -> None:
    if not (SAMPLES / "episodes.csv").exists():
        pytest.skip("data/samples/ is absent (installed package): nothing to compare")
    sample = load_sample()
    assert len(sample.episodes) == SAMPLE_N
    files = read_records(
        SAMPLES / "episodes.csv",
        SAMPLES / "followups.csv",
        SAMPLES / "use_days.csv",
        data_as_of=sample.data_as_of,
    )
    for table in ("episodes", "followups", "use_days"):
        pd.testing.assert_frame_equal(getattr(files, table), getattr(sample, table))
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    assert f"iopoutcomes simulate --n {SAMPLE_N} --seed {SAMPLE_SEED} --out data/samples" in readme


def test_sample_regenerates_byte_identically(tmp_path: Path) -> None:
    if not (SAMPLES / "episodes.csv").exists():
        pytest.skip("data/samples/ is absent (installed package): nothing to compare")
    written = simulate_records(n=SAMPLE_N, seed=SAMPLE_SEED, instruments=True).to_csv(tmp_path)
    assert sorted(written) == ["episodes", "followups", "use_days"]
    for table, path in written.items():
        new = hashlib.sha256(path.read_bytes()).hexdigest()
        old = hashlib.sha256((SAMPLES / f"{table}.csv").read_bytes()).hexdigest()
        assert new == old, table
    assert sum(p.stat().st_size for p in SAMPLES.glob("*.csv")) < 5_000_000


def test_generation_at_size() -> None:
    # 20,000 episodes with about 3.7 million calendar days; the time it takes is measured by
    # benchmarks/bench_simulate.py (figures in the README), not asserted here
    episodes, followups, use_days, _ = simulate_tables(n=20_000, seed=1)
    assert len(episodes) == 20_000 and len(use_days) > 3_000_000


# --- scenario "stay_length" (issue 21) ------------------------------------------------------------


def _after_discharge_use(records: Records, days: int = 90) -> pd.DataFrame:
    """Self-reported use on days 1..days after discharge, keyed by (episode, day after)."""
    ud = records.use_days
    ud = ud.loc[ud["source"].astype("string").fillna("self_report") == "self_report"]
    dis = records.episodes.set_index("episode_id")["discharge_day"].astype("Float64")
    after = ud["day"].astype("Float64").to_numpy() - dis.reindex(ud["episode_id"]).to_numpy()
    out = pd.DataFrame(
        {"episode_id": ud["episode_id"].to_numpy(), "after": after, "used": ud["used"].to_numpy()}
    )
    out = out.loc[(out["after"] >= 1) & (out["after"] <= days)]
    return out.astype({"after": "int64", "used": "int64"}).set_index(["episode_id", "after"])


@pytest.mark.parametrize(("scenario", "identical"), [("stay_length", True), ("default", False)])
def test_stay_length_after_discharge_process_does_not_depend_on_setting(
    scenario: str, identical: bool
) -> None:
    # Each model part draws from its own stream, so changing iop_share flips the setting of
    # some episodes and leaves every other draw unchanged. In the stay_length scenario an
    # episode's use on days 1-90 after discharge is then the same in either setting (its stay
    # differs); on the default admission clock it is not.
    kw = {"confounding_strength": 0.0} if scenario == "default" else {}
    a = simulate_records(n=300, seed=3, iop_share=0.3, scenario=scenario, **kw)
    b = simulate_records(n=300, seed=3, iop_share=0.7, scenario=scenario, **kw)
    ca = a.episodes.set_index("episode_id")["cohort"]
    cb = b.episodes.set_index("episode_id")["cohort"].reindex(ca.index)
    flipped = ca.index[(ca != cb).to_numpy()]
    assert len(flipped) > 50
    ua, ub = _after_discharge_use(a), _after_discharge_use(b)
    both = ua.merge(ub, left_index=True, right_index=True, suffixes=("_a", "_b"))
    both = both.loc[both.index.get_level_values("episode_id").isin(flipped)]
    assert len(both) > 5000
    same = (both["used_a"] == both["used_b"]).all()
    assert bool(same) is identical


def test_stay_length_truth_and_parameters() -> None:
    rec = simulate_records(n=200, seed=1, scenario="stay_length")
    p = rec.truth.parameters
    assert p["scenario"] == "stay_length" and p["confounding_strength"] == 0.0
    assert p["effect_iop_logodds"] == 0.0
    text = " ".join(rec.truth.remarks)
    assert "after-discharge abstinence process is identical in both settings" in text
    assert "only the stays differ in length" in text
    assert "True IOP - inpatient difference" in text
    # the default scenario records nothing new (the shipped sample is unchanged)
    assert "scenario" not in simulate_records(n=50, seed=1).truth.parameters
    for bad in ({"effect_iop_logodds": 0.5}, {"confounding_strength": 2.0}):
        with pytest.raises(ParameterError):
            simulate_records(n=50, seed=1, scenario="stay_length", **bad)  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        simulate_records(n=50, seed=1, scenario="unknown")


def test_milestones_benchmark_smoke() -> None:
    # 20 replicates of benchmarks/bench_milestones.py (the full run uses 500): the comparable
    # milestone's 95% interval covers the true 0 in at least 16 of 20 (P >= 0.98 at 95%
    # coverage), and compare_rates flags the in-treatment milestone in every replicate
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench_milestones", ROOT / "benchmarks" / "bench_milestones.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    res = bench.run(20, n=300, seed=500)
    assert res.covers.sum() >= 16
    assert res.in_treatment_flagged.all()
    assert abs(res.diff.mean()) < 0.05


# --- services (issue 17): step-down transitions with known continuity rates ----------------

FOLLOW_UP_TYPES = {"outpatient", "iop", "php", "telehealth", "pharmacotherapy"}


@pytest.fixture(scope="module")
def stepdown() -> Records:
    return simulate_records(n=600, seed=11, services=True, n_service_stays=20_000)


def plain_continuity(recs: Records) -> dict[tuple[str, int], tuple[int, int]]:
    """(n, n_events) per (definition, window), one index discharge at a time, from the records.

    Written from the rules the simulator documents, without its fates: index stays are the
    residential/inpatient stays of services and of episodes (an identical pair counted once);
    for HEDIS FUI a next stay admitted on the discharge day or the day after chains into one
    index dated by the last discharge, for CBE #3453 every stay is an index of its own; a
    discharge whose longest window (CBE 14, FUI 30 days) ends after data_as_of is not counted,
    nor one with hospice or death on days 0..longest (one denominator for both windows); CBE
    #3453 counts a follow-up visit on days 1..w or pharmacotherapy on days 0..w, HEDIS FUI a
    visit on days 1..w.
    """
    as_of = pd.Timestamp(recs.truth.parameters["data_as_of"])
    services = recs.services
    episodes = recs.episodes
    stays: dict[str, set[tuple[Any, Any, str]]] = {}
    for row in services.itertuples(index=False):
        if row.service_type in ("residential", "inpatient"):
            stays.setdefault(row.patient_id, set()).add(
                (row.service_date, row.end_date, row.service_type)
            )
    death: dict[str, pd.Timestamp] = {}
    for row in episodes.itertuples(index=False):
        if pd.notna(row.death_date):
            death[row.patient_id] = row.death_date
        if pd.notna(row.discharge_reason) and row.discharge_reason == "died":
            death[row.patient_id] = row.discharge_date
        if pd.notna(row.discharge_date) and row.level_of_care in ("residential", "inpatient"):
            stays.setdefault(row.patient_id, set()).add(
                (row.admission_date, row.discharge_date, row.level_of_care)
            )
    events: dict[str, list[tuple[pd.Timestamp, str]]] = {}
    for row in services.itertuples(index=False):
        events.setdefault(row.patient_id, []).append((row.service_date, row.service_type))
    counts: dict[tuple[str, int], list[int]] = {
        key: [0, 0]
        for key in (("cbe3453", 7), ("cbe3453", 14), ("hedis_fui", 7), ("hedis_fui", 30))
    }
    longest = {"cbe3453": 14, "hedis_fui": 30}
    for patient, patient_stays in stays.items():
        ordered = sorted(patient_stays, key=lambda s: (s[0], pd.isna(s[1])))
        for definition in ("cbe3453", "hedis_fui"):
            k = 0
            while k < len(ordered):
                discharge = ordered[k][1]
                while (
                    definition == "hedis_fui"
                    and pd.notna(discharge)
                    and k + 1 < len(ordered)
                    and 0 <= (ordered[k + 1][0] - discharge).days <= 1
                ):
                    k += 1
                    discharge = ordered[k][1]
                k += 1
                last = longest[definition]
                if pd.isna(discharge) or discharge + pd.Timedelta(days=last) > as_of:
                    continue
                died = death.get(patient)
                if died is not None and died <= discharge + pd.Timedelta(days=last):
                    continue
                days = [((d - discharge).days, t) for d, t in events.get(patient, [])]
                if any(t == "hospice" and 0 <= d <= last for d, t in days):
                    continue
                for (name, w), tally in counts.items():
                    if name != definition:
                        continue
                    followed = any(t in FOLLOW_UP_TYPES and 1 <= d <= w for d, t in days)
                    if definition == "cbe3453":
                        followed |= any(t == "pharmacotherapy" and 0 <= d <= w for d, t in days)
                    tally[0] += 1
                    tally[1] += int(followed)
    return {key: (n, e) for key, (n, e) in counts.items()}


def test_services_truth_counts_equal_a_plain_per_discharge_computation(stepdown: Records) -> None:
    truth = stepdown.truth.continuity.set_index(["definition", "within"])
    plain = plain_continuity(stepdown)
    for key, (n, n_events) in plain.items():
        assert (int(truth.loc[key, "n"]), int(truth.loc[key, "n_events"])) == (n, n_events), key
    assert min(n for n, _ in plain.values()) > 19_000


def test_services_true_rates_within_sampling_error(stepdown: Records) -> None:
    # the model probabilities, by hand from the documented model (P_NEVER 0.30, daily visit
    # probability 0.15 from day 1, pharmacotherapy on the discharge day 0.15):
    # FUI w: 0.7 (1 - 0.85**w); CBE w: 1 - 0.85 (1 - FUI w)
    hand = {
        ("hedis_fui", 7): 0.7 * (1 - 0.3205771),  # 0.85**7 = 0.3205771
        ("hedis_fui", 30): 0.7 * (1 - 0.0076308),  # 0.85**30 = 0.0076308
        ("cbe3453", 7): 1 - 0.85 * (1 - 0.7 * (1 - 0.3205771)),
        ("cbe3453", 14): 1 - 0.85 * (1 - 0.7 * (1 - 0.1027697)),  # 0.85**14 = 0.1027697
    }
    truth = stepdown.truth.continuity.set_index(["definition", "within"])
    plain = plain_continuity(stepdown)
    for key, rate in hand.items():
        assert true_rate(*key) == pytest.approx(rate, abs=5e-7)  # 7-digit powers
        if key[0] == "hedis_fui":  # every FUI index discharge follows the plain model
            assert truth.loc[key, "rate"] == pytest.approx(rate, abs=5e-7)
        else:
            # CBE counts the first stay of a transfer chain too, followed (if at all) only
            # after the chain's end, 7 days or more later: the average model probability is
            # lower, by at most the share of such stays times the rate
            assert rate * 0.85 < truth.loc[key, "rate"] < rate
            rate = float(truth.loc[key, "rate"])
        n, n_events = plain[key]
        # 4.5 standard errors: four windows checked, a false alarm below 1 in 10,000 runs
        assert abs(n_events / n - rate) < 4.5 * np.sqrt(rate * (1 - rate) / n), key


def test_services_tables_and_truth_shapes(stepdown: Records) -> None:
    services = stepdown.services
    assert stepdown.rejected.empty
    assert set(services["service_type"]) <= set(iop.schema.SERVICE_TYPES)
    assert {
        "iop",
        "outpatient",
        "pharmacotherapy",
        "residential",
        "inpatient",
        "ed",
        "hospice",
    } <= set(services["service_type"])
    assert (services["service_date"] <= stepdown.data_as_of).all()
    index = stepdown.truth.index_discharges
    assert 0.04 < index["transfer"].mean() < 0.09  # 6% of service-only stays, and transfers
    assert index["episode_id"].notna().sum() > 0
    assert index["episode_id"].isna().sum() == 20_000  # the stays of people without an episode
    pharm = services[services["service_type"] == "pharmacotherapy"]
    assert pharm["medication"].notna().all()
    assert services.loc[services["service_type"] != "pharmacotherapy", "medication"].isna().all()
    # half of the episodes' stays are listed in services with their very dates
    eps = stepdown.episodes
    stays = eps[
        eps["level_of_care"].isin(["residential", "inpatient"]) & eps["discharge_date"].notna()
    ]
    listed = stays.merge(
        services,
        left_on=["patient_id", "admission_date", "discharge_date"],
        right_on=["patient_id", "service_date", "end_date"],
    )
    assert 0.35 < len(listed) / len(stays) < 0.65
    # IET-style new episodes: people with visits and no stay
    assert services["patient_id"].str.startswith("T").any()


def test_services_leave_the_other_tables_unchanged() -> None:
    plain = simulate_records(n=300, seed=4)
    with_services = simulate_records(n=300, seed=4, services=True, n_service_stays=50)
    pd.testing.assert_frame_equal(plain.followups, with_services.followups)
    pd.testing.assert_frame_equal(plain.use_days, with_services.use_days)
    pd.testing.assert_frame_equal(
        plain.episodes.drop(columns="death_date"), with_services.episodes.drop(columns="death_date")
    )
    assert plain.episodes["death_date"].isna().all()
    assert plain.truth.continuity is None and len(plain.services) == 0
    assert "services" not in plain.truth.parameters
    # deaths in episodes agree with the discharge reason and the follow-up statuses
    eps = with_services.episodes
    died = eps[eps["discharge_reason"] == "died"]
    assert (died["death_date"] == died["discharge_date"]).all()
    dead = with_services.followups.merge(eps[["episode_id", "death_date"]], on="episode_id")
    completed = dead[dead["status"] == "completed"]
    assert not (completed["assessment_date"] > completed["death_date"]).any()


def test_services_deterministic_by_seed() -> None:
    a = simulate_records(n=200, seed=9, services=True, n_service_stays=300)
    b = simulate_records(n=200, seed=9, services=True, n_service_stays=300)
    c = simulate_records(n=200, seed=10, services=True, n_service_stays=300)
    pd.testing.assert_frame_equal(a.services, b.services)
    pd.testing.assert_frame_equal(a.truth.continuity, b.truth.continuity)
    assert not a.services.equals(c.services)
    assert len(a.truth.index_discharges) >= 300


@pytest.mark.parametrize(
    "kwargs",
    [{"services": "yes"}, {"n_service_stays": 10}, {"services": True, "n_service_stays": -1}],
)
def test_services_invalid_parameters(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ParameterError):
        simulate_records(n=50, seed=1, **kwargs)
