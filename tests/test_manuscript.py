"""Tests for iopoutcomes.manuscript: the methods section states design, windows, counts,
estimand, balance, missing data, clusters, multiplicity, software and references."""

from __future__ import annotations

import re
from importlib import metadata

import pytest

import iopoutcomes as iop
from iopoutcomes.exceptions import ParameterError
from iopoutcomes.manuscript import methods_report


@pytest.fixture(scope="module")
def out() -> iop.EpisodeOutcomes:
    return iop.episode_outcomes(iop.load_sample())


def test_design_counts_windows_and_software(out) -> None:  # type: ignore[no-untyped-def]
    frame = out.to_frame()
    cmp = iop.compare_rates(out)
    rep = methods_report(cmp, outcomes=out)
    design = rep.sections["Design and participants"]
    # the sample: 600 episodes of 552 patients, 48 with two episodes, 21 in both cohorts
    per = frame.groupby("patient_id").size()
    both = int((frame.groupby("patient_id")["cohort"].nunique() > 1).sum())
    assert (len(frame), per.size, int((per > 1).sum()), both) == (600, 552, 48, 21)
    assert "600 treatment episodes" in design and "552 clients" in design
    assert "48 contributed more than one episode (21 in more than one group)" in design
    outcomes_text = rep.sections["Outcomes"]
    assert "window days 152 to 243 after admission" in outcomes_text
    due = int(frame["followup_due_6mo"].astype("boolean").fillna(False).sum())
    assert f"{due} episodes were due, {600 - due} not yet due" in outcomes_text
    assert "self-reported" in outcomes_text and "Deaths and incarcerations" in outcomes_text
    software = rep.sections["Software"]
    assert f"iopoutcomes {iop.__version__}" in software
    assert f"statsmodels {metadata.version('statsmodels')}" in software
    assert "independent" in rep.sections["Clustering"]  # repeated episodes not clustered
    assert any("STROBE" in r for r in rep.references)


def test_adjustment_missing_clusters_labels(out) -> None:  # type: ignore[no-untyped-def]
    cmp = iop.compare_rates(out, adjust=["age", "primary_substance"], cluster="site", margin=0.1)
    bounds = iop.compare_rates(out, missing="bounds")
    rel = iop.time_to_relapse(out, cluster="patient_id")
    rep = methods_report(cmp, bounds, rel, rel.rmst(90), outcomes=out,
                         labels={"primary_substance": "primary substance"})  # fmt: skip
    adj = rep.sections["Adjustment for case mix"]
    assert "average treatment effect" in adj and "G-computation" in adj
    before = cmp.balance["smd_unweighted"].abs().max()
    after = cmp.balance["smd_weighted"].abs().max()
    assert f"{before:.2f} before and {after:.2f} after" in adj
    assert "positivity" in adj
    text = rep.text()
    assert "primary_substance" not in text and "primary substance" in text
    assert "only 6 clusters" in rep.sections["Clustering"]
    assert "Sensitivity analyses" in rep.sections["Missing data"]
    assert "bounds: worst case for IOP" in rep.sections["Missing data"]
    assert "equivalence margin (10 percentage points)" in rep.sections["Statistical analysis"]
    assert any(r.startswith("Royston") for r in rep.references)
    # the comparison's own methods text states the estimand instead of "see the rows"
    own = cmp.methods_text()
    assert "see the adjusted rows" not in own and "ATE" in own and "Robins" in own
    assert len(re.findall(r"^\d+\. ", rep.text(), flags=re.M)) == len(rep.references)


def test_participants_for_trial_data() -> None:
    import pandas as pd

    df = pd.DataFrame({
        "cohort": ["A", "B"] * 20, "trial": "CTN-0051", "patient_id": range(40),
        "y": [1, 0, 0, 1] * 10,
    })  # fmt: skip
    rep = methods_report(iop.compare_rates(df, "y", reference="A"), outcomes=df)
    assert "40 participants" in rep.sections["Design and participants"]
    assert "clients" not in rep.text()
    with pytest.raises(ParameterError):
        methods_report()


def test_comparison_warns_about_few_clusters(out) -> None:  # type: ignore[no-untyped-def]
    cmp = iop.compare_rates(out, adjust=["age"], cluster="site")
    assert any("Only 6 clusters of site" in r for r in cmp.remarks)
    many = iop.compare_rates(out, adjust=["age"], cluster="patient_id")
    assert not any("clusters of" in r for r in many.remarks)
