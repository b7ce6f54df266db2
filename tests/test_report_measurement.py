"""Tests for the report's measurement-based care section (``report/measurement.py``)."""

from __future__ import annotations

import pandas as pd
import pytest

import iopoutcomes as iop
from iopoutcomes.exceptions import ConfigError
from iopoutcomes.report.config import ReportConfig
from iopoutcomes.report.measurement import measured_instruments, measurement_section


@pytest.fixture(scope="module")
def recs() -> iop.Records:
    return iop.simulate_records(n=400, seed=8, instruments=True)


@pytest.fixture(scope="module")
def cohorts(recs: iop.Records) -> pd.Series:
    eo = iop.episode_outcomes(recs).table
    return eo["cohort"].astype(str).set_axis(eo["episode_id"].astype(str))


def test_section_counts_equal_an_independent_count(recs: iop.Records, cohorts: pd.Series) -> None:
    section = measurement_section(
        recs.followups, cohorts, k=11, min_denominator=20, profile="funder", bam_version="likert"
    )
    assert section is not None
    tables = {t.key: t.frame for t in section.tables}
    assert set(tables) == {"measures_completion", "measures_accreditation", "measures_change"}
    # completion: completed assessments and PHQ-9 scores per timepoint, counted directly
    f = recs.followups[recs.followups["status"] == "completed"]
    phq = iop.phq9(f).to_frame()
    done = phq["phq9_total"].notna().groupby(f["timepoint"]).agg(["sum", "size"])
    comp = tables["measures_completion"]
    for row in comp[comp["instrument"] == "PHQ-9"].itertuples(index=False):
        assert row.assessments == done.loc[row.timepoint, "size"]
        if not pd.isna(row.scored):
            assert row.scored == done.loc[row.timepoint, "sum"]
    # change: category counts equal reliable_change on the same data, where published
    data = phq.assign(cohort=phq["episode_id"].astype(str).map(cohorts))
    counts = iop.reliable_change(data, "phq9", method="threshold", by="cohort").counts()
    change = tables["measures_change"]
    for row in change[change["instrument"] == "PHQ-9"].itertuples(index=False):
        want = counts[counts["group"] == row.cohort].set_index("category")["n_events"]
        for category in ("recovered", "improved", "unchanged", "deteriorated"):
            value = getattr(row, category)
            if not pd.isna(value):
                assert value == want[category]
    # every published count is 0 or at least k (the small-cell rule)
    for frame in tables.values():
        for column in frame.columns:
            if str(frame[column].dtype) == "Int64":
                shown = frame[column].dropna()
                assert ((shown == 0) | (shown >= 11)).all(), column


def test_scatter_only_in_the_internal_profile(recs: iop.Records, cohorts: pd.Series) -> None:
    def figure_keys(profile: str) -> list[str]:
        s = measurement_section(recs.followups, cohorts, k=11, min_denominator=20, profile=profile)
        assert s is not None
        return [f.key for f in s.figures]

    assert not any(k.startswith("measures_scatter") for k in figure_keys("public"))
    assert not any(k.startswith("measures_scatter") for k in figure_keys("funder"))
    assert "measures_scatter_phq9" in figure_keys("internal")


def test_no_items_no_section(cohorts: pd.Series) -> None:
    plain = iop.simulate_records(n=60, seed=8)
    assert measured_instruments(plain.followups) == []
    assert (
        measurement_section(plain.followups, cohorts, k=11, min_denominator=20, profile="funder")
        is None
    )


def test_bam_needs_its_version(recs: iop.Records) -> None:
    assert "bam" not in measured_instruments(recs.followups)
    assert "bam" in measured_instruments(recs.followups, "likert")
    with pytest.raises(ConfigError, match="bam_version"):
        ReportConfig.from_dict({"measures": {"bam_version": "weekly"}})
    assert ReportConfig.from_dict({"measures": {"bam_version": "days"}}).bam_version == "days"


def test_quarterly_report_shows_the_section(recs: iop.Records, tmp_path: object) -> None:
    rep = iop.quarterly_report(recs, progress=False)
    keys = [s.key for s in rep.sections]
    assert keys.index("measurement") == keys.index("milestones") + 1
    plain = iop.quarterly_report(iop.simulate_records(n=300, seed=8), progress=False)
    assert "measurement" not in [s.key for s in plain.sections]
