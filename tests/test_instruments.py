"""Tests for ``iopoutcomes.instruments``: scorers against hand scoring from the published rules,
reliable change against the closed form and R (``tests/reference/r_instruments.py``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from reference import r_instruments as R

import iopoutcomes as iop
from iopoutcomes.exceptions import InsufficientDataError, MissingColumnError, ParameterError
from iopoutcomes.instruments import INSTRUMENTS, score_instrument


def items(prefix: str, rows: list[list[float | None]]) -> pd.DataFrame:
    """A frame of item columns ``<prefix>_1`` ... from rows of item values (None = blank)."""
    k = len(rows[0])
    return pd.DataFrame(rows, columns=[f"{prefix}_{i}" for i in range(1, k + 1)], dtype=float)


def total(scores: iop.InstrumentScores, column: str) -> list[int | None]:
    return [None if pd.isna(v) else int(v) for v in scores.to_frame()[column]]


# --- PHQ-9 (Kroenke et al. 2001: 9 items 0-3; bands 5/10/15/20) ----------------------------------


def test_phq9_minimum_maximum_and_mixed_pattern() -> None:
    d = items("phq9", [[0] * 9, [3] * 9, [1, 2, 3, 0, 1, 2, 3, 0, 1]])
    s = iop.phq9(d)
    # hand scores: 0; 27; 1+2+3+0+1+2+3+0+1 = 13
    assert total(s, "phq9_total") == [0, 27, 13]
    assert s.to_frame()["phq9_severity"].tolist() == ["minimal", "severe", "moderate"]
    assert s.to_frame()["phq9_total_prorated"].tolist() == [False, False, False]
    assert len(s.rejected) == 0


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately severe"),
        (19, "moderately severe"),
        (20, "severe"),
    ],
)
def test_phq9_band_edges(score: int, band: str) -> None:
    row = [3] * (score // 3) + ([score % 3] if score % 3 else [])
    row += [0] * (9 - len(row))
    s = iop.phq9(items("phq9", [row])).to_frame()
    assert int(s.loc[0, "phq9_total"]) == score
    assert s.loc[0, "phq9_severity"] == band


def test_phq9_proration_edge_seven_of_nine() -> None:
    d = items(
        "phq9",
        [
            [3, 3, 3, 3, 3, 3, 3, None, None],  # 21 * 9/7 = 27
            [1, 0, 1, 0, 1, 0, 1, None, None],  # 4 * 9/7 = 5.14 -> 5
            [1, 1, 1, 1, 1, 1, None, None, None],  # 6 answered: below 7, no score
            [2, 2, 2, 2, 2, 2, 2, 2, None],  # 16 * 9/8 = 18
        ],
    )
    s = iop.phq9(d)
    assert total(s, "phq9_total") == [27, 5, None, 18]
    assert s.to_frame()["phq9_total_prorated"].tolist() == [True, True, False, True]
    assert s.to_frame()["phq9_total_n_items"].tolist() == [7, 7, 6, 8]
    assert pd.isna(s.to_frame().loc[2, "phq9_severity"])
    # proration off: every item needed
    assert total(iop.phq9(d, min_items=9), "phq9_total") == [None, None, None, None]


def test_gad7_proration_rounds_half_up_and_bands() -> None:
    d = items(
        "gad7",
        [
            [0] * 7,
            [3] * 7,
            [1, 0, 1, 0, 1, 0, None],  # 3 * 7/6 = 3.5 -> 4 (half up)
            [1, 1, 1, 1, 1, None, None],  # 5 answered: below 6
            [2, 2, 1, 0, 0, 0, 0],  # 5: mild edge
        ],
    )
    s = iop.gad7(d)
    assert total(s, "gad7_total") == [0, 21, 4, None, 5]
    assert s.to_frame()["gad7_severity"].tolist()[:2] == ["minimal", "severe"]
    assert s.to_frame().loc[4, "gad7_severity"] == "mild"


# --- BAM (Cacciola et al. 2013; VA manual subscales) ----------------------------------------------


def test_bam_likert_subscales_minimum_maximum_mixed() -> None:
    low, high = [0] * 17, [4] * 17
    mixed = list(range(17))
    mixed = [v % 5 for v in mixed]  # item k (1-based) scores (k - 1) % 5
    s = iop.bam(items("bam", [low, high, mixed]), version="likert").to_frame()
    # Use = items 4, 5, 6; Risk = 1, 2, 3, 8, 11, 15; Protective = 9, 10, 12, 13, 14, 16
    item = {k: (k - 1) % 5 for k in range(1, 18)}
    use = item[4] + item[5] + item[6]
    risk = item[1] + item[2] + item[3] + item[8] + item[11] + item[15]
    protective = item[9] + item[10] + item[12] + item[13] + item[14] + item[16]
    assert s["bam_use"].astype(int).tolist() == [0, 12, use]
    assert s["bam_risk"].astype(int).tolist() == [0, 24, risk]
    assert s["bam_protective"].astype(int).tolist() == [0, 24, protective]


def test_bam_days_version_scores_on_its_own_range() -> None:
    d = items("bam", [[30] * 17, [0, 0, 0, 30, 4, 12] + [0] * 11])
    s = iop.bam(d, version="days").to_frame()
    assert s["bam_use"].astype(int).tolist() == [90, 46]
    assert s["bam_risk"].astype(int).tolist() == [180, 0]
    # the same answers are out of range for the Likert version (items 0-4)
    likert = iop.bam(d, version="likert")
    # row 1: the 15 scored items (30 each); row 2: items 4 (30) and 6 (12); items 7, 17 unscored
    assert len(likert.rejected) == 17
    assert set(likert.rejected["reason"]) == {"out_of_range"}


def test_bam_needs_its_version_and_every_subscale_item() -> None:
    d = items("bam", [[1] * 17])
    with pytest.raises(ParameterError, match="version"):
        score_instrument(d, "bam")
    d.loc[0, "bam_5"] = np.nan  # a Use item missing: no Use score, other subscales kept
    s = iop.bam(d, version="likert").to_frame()
    assert pd.isna(s.loc[0, "bam_use"]) and int(s.loc[0, "bam_risk"]) == 6
    # items 7 and 17 are unscored: the data need not carry them
    s2 = iop.bam(d.drop(columns=["bam_7", "bam_17"]), version="likert").to_frame()
    assert int(s2.loc[0, "bam_protective"]) == 6


# --- BARC-10 (Vilsaint et al. 2017: 10 items 1-6, cut-off 47) -------------------------------------


def test_barc10_range_cutoff_and_no_proration() -> None:
    d = items(
        "barc10",
        [
            [1] * 10,
            [6] * 10,
            [5, 5, 5, 5, 5, 5, 4, 4, 4, 4],
            [5] * 6 + [4] * 3 + [6],
            [6] * 9 + [None],
        ],
    )
    s = iop.barc10(d)
    assert total(s, "barc10_total") == [10, 60, 46, 48, None]
    bands = s.to_frame()["barc10_severity"].tolist()
    assert bands[2] == "below 47" and bands[3].startswith("47 or more")


# --- item validation -------------------------------------------------------------------------------


def test_invalid_items_are_rejected_with_row_and_reason_never_value() -> None:
    d = pd.DataFrame({f"phq9_{i}": ["1"] * 4 for i in range(1, 10)})
    d.loc[0, "phq9_3"] = "7"  # out of range
    d.loc[1, "phq9_4"] = "1.5"  # not whole
    d.loc[2, "phq9_9"] = "SECRET-VALUE"  # not a number
    d.loc[3, "phq9_1"] = " "  # blank: unanswered, not rejected
    s = iop.phq9(d)
    assert s.rejected.to_dict("list") == {
        "row": [1, 2, 3],
        "item": ["phq9_3", "phq9_4", "phq9_9"],
        "reason": ["out_of_range", "not_whole", "not_a_number"],
    }
    # each row keeps 8 valid items: prorated 8 * 9/8 = 9
    assert total(s, "phq9_total") == [9, 9, 9, 9]
    shown = repr(s) + s._repr_html_() + s.rejected.to_string()
    assert "SECRET-VALUE" not in shown and "1.5" not in s.rejected.to_string()
    assert "3 item value(s)" in repr(s)


def test_missing_item_column_and_custom_names() -> None:
    d = items("phq9", [[1] * 9]).drop(columns=["phq9_2"])
    with pytest.raises(MissingColumnError, match="phq9_2"):
        iop.phq9(d)
    renamed = d.rename(columns={f"phq9_{i}": f"q{i}" for i in range(1, 10)})
    renamed["q2"] = 2
    s = iop.phq9(renamed, items={i: f"q{i}" for i in range(1, 10)})
    assert total(s, "phq9_total") == [10]
    with pytest.raises(ParameterError, match="9 items"):
        iop.phq9(renamed, items=["q1", "q2"])


def test_ids_are_carried_and_summary_counts() -> None:
    d = items("gad7", [[1] * 7, [1, 1, 1, 1, 1, 1, None], [None] * 7])
    d.insert(0, "episode_id", ["e1", "e1", "e2"])
    d.insert(1, "timepoint", ["intake", "discharge", "intake"])
    s = iop.gad7(d)
    assert list(s.to_frame().columns[:2]) == ["episode_id", "timepoint"]
    summary = s.summary().iloc[0]
    assert (summary["n"], summary["n_scored"], summary["n_prorated"], summary["n_not_scored"]) == (
        3,
        2,
        1,
        1,
    )
    assert "GAD-7" in s.definition_text() and "Spitzer" in s.definition_text()


def test_every_instrument_states_its_source_and_missing_rule() -> None:
    for spec in INSTRUMENTS.values():
        assert spec.source and spec.missing_rule
        for scale, numbers in spec.scales.items():
            assert spec.min_items[scale] <= len(numbers)
            assert all(1 <= n <= spec.n_items for n in numbers)


# --- reliable change -------------------------------------------------------------------------------


def long_frame(pre: list[float], post: list[float], column: str = "score") -> pd.DataFrame:
    ids = [f"c{i:02d}" for i in range(len(pre))]
    return pd.DataFrame(
        {
            "episode_id": ids * 2,
            "timepoint": ["intake"] * len(pre) + ["discharge"] * len(post),
            column: [*pre, *post],
        }
    )


def test_rci_and_categories_match_r() -> None:
    d = long_frame(R.PRE, R.POST)
    rc = iop.reliable_change(
        d,
        "score",
        reliability=0.84,
        higher_is_better=False,
        cutoff="c",
        functional_mean=5.1,
        functional_sd=4.2,
    )
    f = rc.to_frame()
    assert rc.sd_baseline == pytest.approx(R.SD_BASELINE[0], rel=1e-12)
    np.testing.assert_allclose(f["rci"], R.RCI, rtol=1e-12, atol=1e-12)
    assert rc.cutoff == pytest.approx(R.CUT_C[0], rel=1e-12)
    assert f["category"].tolist() == R.CATEGORY_C


def test_criteria_a_and_b_match_r() -> None:
    d = long_frame(R.PRE, R.POST)
    kw = {"reliability": 0.84, "higher_is_better": False}
    a = iop.reliable_change(d, "score", cutoff="a", **kw)
    b = iop.reliable_change(d, "score", cutoff="b", functional_mean=5.1, functional_sd=4.2, **kw)
    assert a.cutoff == pytest.approx(R.CUT_A[0], rel=1e-12)
    assert b.cutoff == pytest.approx(R.CUT_B[0], rel=1e-12)
    with pytest.raises(ParameterError, match="functional_mean"):
        iop.reliable_change(d, "score", cutoff="b", **kw)


def test_rci_closed_form_with_given_sd() -> None:
    # SE = 5 sqrt(1 - 0.8) = 2.2360679...; S_diff = sqrt(2) SE = 3.1622776...; change -10
    d = long_frame([20.0], [10.0])
    rc = iop.reliable_change(d, "score", reliability=0.8, sd_baseline=5.0, higher_is_better=False)
    assert rc.to_frame()["rci"].iloc[0] == pytest.approx(-10 / math.sqrt(10), rel=1e-14)
    assert rc.to_frame()["category"].iloc[0] == "improved"  # no cut-off: never "recovered"


def test_rci_threshold_edges() -> None:
    # reliable change needs |change| > 1.959964 * sqrt(2) * 5 * sqrt(1 - 0.8) = 6.19795 points
    z = 1.959963984540054
    edge = z * math.sqrt(2) * 5 * math.sqrt(0.2)
    d = long_frame(
        [20.0, 20.0, 20.0, 20.0], [20 - edge - 1e-9, 20 - edge + 1e-9, 20 + edge + 1e-9, 26]
    )
    rc = iop.reliable_change(d, "score", reliability=0.8, sd_baseline=5.0, higher_is_better=False)
    assert rc.to_frame()["category"].tolist() == [
        "improved",
        "unchanged",
        "deteriorated",
        "unchanged",
    ]
    assert rc.threshold == pytest.approx(edge, rel=1e-12)


def test_nhs_talking_therapies_presets_at_exact_thresholds() -> None:
    # PHQ-9: reliable improvement is a drop of 6 or more; caseness 10 or more
    d = long_frame([16, 16, 12, 10, 9, 4], [10, 11, 6, 4, 3, 10], column="phq9_total")
    rc = iop.reliable_change(d, "phq9", method="threshold")
    assert rc.to_frame()["category"].tolist() == [
        "improved",  # 16 -> 10: drop 6 but still a case (10)
        "unchanged",  # drop 5
        "recovered",  # 12 -> 6: case -> not a case, drop 6
        "recovered",  # 10 -> 4: the caseness edge at baseline
        "improved",  # 9 -> 3: not a case at baseline, so not "recovered"
        "deteriorated",  # +6
    ]
    g = long_frame([8, 8, 12], [4, 5, 16], column="gad7_total")
    rg = iop.reliable_change(g, "gad7", method="threshold")
    assert rg.to_frame()["category"].tolist() == ["recovered", "unchanged", "deteriorated"]
    assert "NHS Talking Therapies" in rg.methods_text()


def test_groups_counts_and_narrative() -> None:
    d = long_frame([20, 20, 20, 12], [8, 19, 8, 20], column="phq9_total")
    d["cohort"] = ["IOP", "IOP", "inpatient", "inpatient"] * 2
    rc = iop.reliable_change(d, "phq9", method="threshold", by="cohort")
    counts = rc.counts()
    iop_rows = counts[counts["group"] == "IOP"].set_index("category")
    assert iop_rows.loc["recovered", "n_events"] == 1 and iop_rows.loc["unchanged", "n_events"] == 1
    assert iop_rows["n"].unique().tolist() == [2]
    assert counts.groupby("group")["rate"].sum().round(12).tolist() == [1.0, 1.0]
    text = rc.narrative()
    assert "IOP: 1 of 2 clients reliably improved on the PHQ-9 depression score" in text
    assert "inpatient: 1 of 2" in text and "1 reliably deteriorated" in text


def test_reliable_change_refusals() -> None:
    d = long_frame([10.0, 12.0], [5.0, 9.0])
    with pytest.raises(ParameterError, match="reliability"):
        iop.reliable_change(d, "score", higher_is_better=False)
    with pytest.raises(ParameterError, match="higher_is_better"):
        iop.reliable_change(d, "score", reliability=0.8)
    with pytest.raises(ParameterError, match="threshold"):
        iop.reliable_change(d, "score", method="threshold", higher_is_better=False)
    with pytest.raises(ParameterError, match="confidence_level"):
        iop.reliable_change(
            d, "score", reliability=0.8, higher_is_better=False, confidence_level=95
        )
    with pytest.raises(MissingColumnError, match="phq9_total"):
        iop.reliable_change(d, "phq9", method="threshold")
    with pytest.raises(InsufficientDataError):
        iop.reliable_change(d, "score", reliability=0.8, higher_is_better=False, followup="6mo")
    twice = pd.concat([d, d.iloc[[0]]])
    with pytest.raises(ParameterError, match="two score"):
        iop.reliable_change(twice, "score", reliability=0.8, higher_is_better=False)


def test_clients_without_both_assessments_are_counted_not_classified() -> None:
    d = long_frame([10.0, 12.0, 14.0], [5.0, 9.0, 3.0])
    d.loc[5, "score"] = np.nan  # third client: no discharge score
    rc = iop.reliable_change(d, "score", reliability=0.8, higher_is_better=False)
    assert len(rc.to_frame()) == 2 and rc.n_without_pair == 1
    assert "1 client(s) without both assessments" in rc.methods_text()


def test_scored_then_classified_end_to_end() -> None:
    visits = items("phq9", [[3] * 9, [1] * 9, [2] * 9, [2] * 9])
    visits.insert(0, "episode_id", ["a", "a", "b", "b"])
    visits.insert(1, "timepoint", ["intake", "discharge"] * 2)
    scored = iop.phq9(visits).to_frame()
    rc = iop.reliable_change(scored, "phq9", method="threshold")
    assert rc.to_frame()[["pre", "post", "category"]].values.tolist() == [
        [27.0, 9.0, "recovered"],
        [18.0, 18.0, "unchanged"],
    ]


def test_plot_draws_band_and_cutoff() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = long_frame([16, 16, 12, 10, 9, 4], [10, 11, 6, 4, 3, 10], column="phq9_total")
    rc = iop.reliable_change(d, "phq9", method="threshold")
    fig, (ax1, ax2) = plt.subplots(1, 2)
    ax2.set_title(r"$\alpha$")
    rc.plot(ax=ax1)
    assert ax2.title.get_parse_math()  # another subplot's text is left alone
    labels = [t.get_text() for t in ax1.get_legend().get_texts()]
    assert labels == ["recovered (2)", "improved (2)", "unchanged (1)", "deteriorated (1)"]
    assert len(ax1.lines) == 3 + 2  # no-change line, band edges, cut-off lines
    assert ax1.get_xlabel() == "PHQ-9 depression score at intake"
    plt.close(fig)


# --- simulated instruments, scoring into the records, milestones from instruments -----------------


@pytest.fixture(scope="module")
def scored_records() -> object:
    recs = iop.simulate_records(n=300, seed=11, instruments=True)
    for name, kw in (("phq9", {}), ("gad7", {}), ("barc10", {}), ("bam", {"version": "likert"})):
        recs = iop.score_followups(recs, name, **kw)
    return recs


def test_simulated_instruments_leave_every_other_column_unchanged() -> None:
    plain = iop.simulate_records(n=120, seed=4)
    with_items = iop.simulate_records(n=120, seed=4, instruments=True)
    pd.testing.assert_frame_equal(plain.episodes, with_items.episodes)
    pd.testing.assert_frame_equal(plain.followups, with_items.followups[plain.followups.columns])
    pd.testing.assert_frame_equal(plain.use_days, with_items.use_days)
    assert {"phq9_9", "gad7_7", "barc10_10", "bam_16"} <= set(with_items.followups.columns)
    assert with_items.truth.parameters["instruments"] is True
    assert "instruments" not in plain.truth.parameters


def test_simulated_scores_track_use(scored_records: object) -> None:
    f = scored_records.followups  # type: ignore[attr-defined]
    done = f[(f["status"] == "completed") & (f["timepoint"] == "6mo")]

    def corr(score: str) -> float:
        pair = done[["days_used_past30", score]].astype(float).dropna()
        return float(np.corrcoef(pair.to_numpy().T)[0, 1])

    # distress rises and recovery capital falls with days used (the simulator's model)
    assert corr("phq9_total") > 0.3
    assert corr("barc10_total") < -0.2
    means = f.groupby("timepoint")["phq9_total"].mean()
    assert means["intake"] > means["discharge"] + 2
    # items exist only for completed assessments
    assert f.loc[f["status"] != "completed", "phq9_1"].isna().all()


def test_score_followups_adds_columns_and_counts_rejections() -> None:
    recs = iop.simulate_records(n=60, seed=2, instruments=True)
    f = recs.followups.copy()
    f.loc[f.index[0], "phq9_1"] = 9
    bad = dataclasses_replace(recs, followups=f)
    scored = iop.score_followups(bad, "phq9")
    assert "phq9_total" in scored.followups and "phq9_total" not in recs.followups
    assert any("1 item value(s) outside 0-3" in r for r in scored.remarks)
    again = iop.score_followups(scored, "phq9")  # re-scoring replaces, never duplicates
    assert list(again.followups.columns).count("phq9_total") == 1


def dataclasses_replace(obj: object, **kw: object) -> object:
    import dataclasses

    return dataclasses.replace(obj, **kw)  # type: ignore[type-var]


def test_instrument_milestones_equal_an_independent_computation(scored_records: object) -> None:
    ms = iop.INSTRUMENT_MILESTONES
    d = iop.OutcomeDefinition(milestones=tuple(ms.values()))
    out = iop.episode_outcomes(scored_records, definition=d).to_frame()
    f = scored_records.followups  # type: ignore[attr-defined]
    done = f[f["status"] == "completed"]

    def at(tp: str, col: str) -> pd.Series:
        return done[done["timepoint"] == tp].set_index("episode_id")[col].astype(float)

    ep = out.set_index("episode_id")
    drop = at("intake", "phq9_total") - at("discharge", "phq9_total")
    want = (drop >= 6).reindex(ep.index)
    got = ep["milestone_phq9_reliable_improvement"]
    known = drop.reindex(ep.index).notna()
    assert (got[known].astype(bool) == want[known]).all()
    assert got[~known].isna().all()
    barc = at("6mo", "barc10_total").reindex(ep.index)
    got_b = ep["milestone_barc10_recovery_capital"]
    assert (got_b[barc.notna()].astype(bool) == (barc[barc.notna()] >= 47)).all()
    use = at("discharge", "bam_use").reindex(ep.index)
    got_u = ep["milestone_bam_no_use"]
    assert (got_u[use.notna()].astype(bool) == (use[use.notna()] <= 0)).all()
    # the rate of a measured milestone compares between cohorts like any outcome
    cmp = iop.compare_rates(
        out, "milestone_phq9_reliable_improvement", by="cohort", reference="inpatient"
    )
    assert len(cmp.to_frame()) >= 1


def test_instrument_milestone_texts_show_their_values() -> None:
    d = iop.OutcomeDefinition(milestones=tuple(iop.INSTRUMENT_MILESTONES.values()))
    texts = {m.name: d.milestone_text(m) for m in d.milestones}
    assert texts["phq9_reliable_improvement"].startswith(
        "PHQ-9 depression score at discharge at least 6 points below intake"
    )
    assert texts["barc10_recovery_capital"].startswith(
        "BARC-10 recovery capital score at the 6-month follow-up of 47 or more"
    )
    assert texts["bam_no_use"].startswith("BAM Use subscale at discharge of 0 (none)")
    for text in texts.values():
        assert "{" not in text and "min_change" not in text and "threshold" not in text


def test_threshold_milestone_needs_a_threshold_and_round_trips() -> None:
    with pytest.raises(ParameterError, match="threshold"):
        iop.Milestone("x", "threshold", measure="barc10_total")
    m = iop.INSTRUMENT_MILESTONES["bam_no_use"]
    d = iop.OutcomeDefinition(milestones=(m,))
    back = iop.OutcomeDefinition.from_dict(d.to_dict())
    assert back.milestones == (m,)


# --- PHQ-9 response and remission at twelve months (CMS159, CBE/NQF 1885) ----------------------


def test_response_and_remission_window_edges_by_hand() -> None:
    dates = pd.to_datetime
    rows = [
        # client, date, score
        ("a", "2024-01-10", 8),  # not an index (9 or less)
        ("a", "2024-02-01", 10),  # index: first score above 9; window 2024-12-03..2025-04-02
        ("a", "2024-12-02", 2),  # one day before the window: ignored
        ("a", "2025-03-01", 6),
        ("a", "2025-04-02", 4),  # last score inside the window (edge): remission and response
        ("b", "2024-03-15", 20),  # window 2025-01-14..2025-05-14
        ("b", "2025-05-14", 10),  # edge: exactly half the index: response, not remission
        ("c", "2024-05-01", 14),  # no score in the window: in the denominator, neither
        ("c", "2025-07-15", 1),  # after the window
        ("d", "2024-05-01", 9),  # never above 9: no index, not in the denominator
    ]
    d = pd.DataFrame(rows, columns=["episode_id", "assessment_date", "phq9_total"])
    d["assessment_date"] = dates(d["assessment_date"])
    d["cohort"] = ["IOP"] * 5 + ["inpatient"] * 5
    out = iop.depression_response_remission(d, by="cohort")
    f = out.to_frame().set_index("episode_id")
    assert list(f.index) == ["a", "b", "c"]
    assert f.loc["a", "index_score"] == 10 and f.loc["a", "followup_score"] == 4
    assert f.loc["a", "followup_date"] == pd.Timestamp("2025-04-02")
    assert (f.loc["a", "remission"], f.loc["a", "response"]) == (True, True)
    assert (f.loc["b", "remission"], f.loc["b", "response"]) == (False, True)
    assert (f.loc["c", "remission"], f.loc["c", "response"]) == (False, False)
    assert pd.isna(f.loc["c", "followup_score"])
    rates = out.rates().set_index(["outcome", "group"])
    assert rates.loc[("remission", "IOP"), "rate"] == 1.0
    assert rates.loc[("response", "inpatient"), "n"] == 2
    assert rates.loc[("response", "inpatient"), "n_events"] == 1
    assert any("no PHQ-9 score in the follow-up window" in r for r in out.remarks)
    assert "CMS159" in out.methods_text() and "1885" in out.methods_text()
