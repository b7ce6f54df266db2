"""The report section "Step-down and continuity": published counts equal the engine's, small
cells are hidden, Wilson limits agree with R, nothing identifying is published, and the
quarterly report carries the section (audited) only when the records have services."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

import iopoutcomes as iop
from iopoutcomes.continuity import continuity_of_care
from iopoutcomes.records import Records
from iopoutcomes.report.continuity_section import continuity_section, follow_up_bins


def _discharges(n_small: int = 5) -> pd.DataFrame:
    """55 IOP-cohort discharges (30 followed on day 3, 12 on day 10, 13 never) and
    ``n_small`` inpatient-cohort discharges (2 followed on day 3), all on 2024-03-05."""
    rows = []
    for i in range(55 + n_small):
        pid = f"secret-{i}"
        rows.append((pid, "residential", "2024-03-01", "2024-03-05"))
        if i < 30 or 55 <= i < 57:
            rows.append((pid, "iop", "2024-03-08", None))
        elif i < 42:
            rows.append((pid, "iop", "2024-03-15", None))
    svc = pd.DataFrame(rows, columns=["patient_id", "service_type", "service_date", "end_date"])
    svc["service_date"] = pd.to_datetime(svc["service_date"])
    svc["end_date"] = pd.to_datetime(svc["end_date"])
    return svc


def _episodes(n_small: int = 5) -> pd.DataFrame:
    n = 55 + n_small
    return pd.DataFrame(
        {
            "patient_id": [f"secret-{i}" for i in range(n)],
            "episode_id": [f"E{i}" for i in range(n)],
            "cohort": ["IOP"] * 55 + ["inpatient"] * n_small,
            # the same stays as the services rows: each discharge counts once, as the episode
            "level_of_care": ["residential"] * n,
            "admission_date": pd.to_datetime(["2024-03-01"] * n),
            "discharge_date": pd.to_datetime(["2024-03-05"] * n),
        }
    )


def test_bins_are_disjoint_and_cover_the_windows() -> None:
    assert follow_up_bins((7, 14)) == [("within_7", 7), ("day_8_to_14", 14), ("day_15_to_30", 30)]
    assert follow_up_bins((7, 30), extra=()) == [("within_7", 7), ("day_8_to_30", 30)]


def test_section_counts_and_wilson_limits() -> None:
    eps = _episodes(0)
    res = continuity_of_care(SimpleNamespace(episodes=eps, services=_discharges(0)))
    recorded: list[tuple[str, Any, Any]] = []

    def record(key: str, part: Any, members: Any) -> Any:
        recorded.append((key, part, members))
        return part

    section = continuity_section(res, k=11, record=record, episode_ids=eps["episode_id"])
    cohort = section.tables[0].frame.set_index("cohort")
    # 30 within 7 days, 12 more on day 10 (within 14), 13 never
    assert cohort.loc["IOP", "n"] == 55
    assert cohort.loc["IOP", "followed_within_7"] == 30
    assert cohort.loc["IOP", "followed_within_14"] == 42
    # R: print(prop.test(30, 55, correct = FALSE)$conf.int, digits = 10)
    #    -> 0.4152269024 0.6697471975 ; (42, 55) -> 0.6365163381 0.8563334413
    assert cohort.loc["IOP", "ci_low_7"] == pytest.approx(0.4152269024, abs=1e-9)
    assert cohort.loc["IOP", "ci_high_7"] == pytest.approx(0.6697471975, abs=1e-9)
    assert cohort.loc["IOP", "ci_low_14"] == pytest.approx(0.6365163381, abs=1e-9)
    assert cohort.loc["IOP", "ci_high_14"] == pytest.approx(0.8563334413, abs=1e-9)
    assert "55 index discharges counted." in section.paragraphs
    # the counts declared to the audit are the engine's, on the episodes' own units
    key, part, members = recorded[0]
    assert key == "continuity_by_cohort"
    w = members[("IOP", "within_7")]
    assert len(w) == 55 and int(w[:30].sum()) == 30 and int(w.sum()) == 30
    assert int(members[("IOP", "day_8_to_14")][30:42].sum()) == 12


def test_small_cells_are_never_published() -> None:
    res = continuity_of_care(SimpleNamespace(episodes=_episodes(), services=_discharges()))
    section = continuity_section(res, k=11, episode_ids=_episodes()["episode_id"])
    frame = section.tables[0].frame.set_index("cohort")
    counts = frame[["n", "followed_within_7", "within_7", "day_8_to_14", "not_followed"]]
    shown = counts.stack().dropna().astype(int)
    assert not ((shown >= 1) & (shown <= 10)).any()
    assert np.isnan(frame.loc["inpatient", "rate_within_7"])
    # a shown count is the engine's
    if not pd.isna(frame.loc["IOP", "followed_within_7"]):
        assert frame.loc["IOP", "followed_within_7"] == 30
    # nothing identifying anywhere in the section
    text = repr(section.as_json()) + "".join(f.alt + f.svg for f in section.figures)
    text += "".join(t.frame.to_csv() + t.footnote for t in section.tables)
    assert "secret" not in text and "E1" not in text


def test_services_only_discharges_get_units_after_the_report_units() -> None:
    res = continuity_of_care(SimpleNamespace(episodes=None, services=_discharges()))
    recorded = []
    continuity_section(
        res,
        k=11,
        record=lambda key, part, members: recorded.append(members) or part,
        episode_ids=pd.Series(["X1", "X2"]),
        n_other_units=3,
    )
    w = recorded[0][("no episode", "within_7")]
    assert len(w) == 2 + 3 + 60
    assert int(w[:5].sum()) == 0 and int(w.sum()) == 32


def test_no_included_discharge_gives_a_not_available_section() -> None:
    svc = _discharges()
    recs = SimpleNamespace(episodes=None, services=svc, data_as_of=pd.Timestamp("2024-03-06"))
    section = continuity_section(continuity_of_care(recs), k=11)
    assert section.paragraphs[0].startswith("Not available")


# --- the quarterly report --------------------------------------------------------------------


def _with_services(records: Records, services: pd.DataFrame) -> Any:
    # the services table in its canonical columns and types (those read_records gives)
    canonical = records.services
    typed = services.reindex(columns=canonical.columns).astype(canonical.dtypes.to_dict())
    return dataclasses.replace(records, services=typed)


def _stepdown_services(records: Records, seed: int) -> pd.DataFrame:
    eps = records.episodes
    stays = eps.loc[
        eps["level_of_care"].isin(["residential", "inpatient"]) & eps["discharge_date"].notna()
    ]
    rng = np.random.default_rng(seed)
    delay = rng.integers(0, 40, len(stays))
    go = rng.random(len(stays)) < 0.75
    return pd.DataFrame(
        {
            "patient_id": stays["patient_id"].to_numpy()[go],
            "service_date": (stays["discharge_date"] + pd.to_timedelta(delay, "D")).to_numpy()[go],
            "service_type": "iop",
        }
    )


@pytest.mark.slow
def test_quarterly_report_has_the_audited_section_only_with_services() -> None:
    sample = iop.load_sample()
    recs = _with_services(sample, _stepdown_services(sample, 1))
    rep = iop.quarterly_report(recs, "2026Q2", progress=False)
    sections = {s.key: s for s in rep.sections}
    assert "continuity" in sections
    assert [s.key for s in rep.sections][-2:] == ["continuity", "methods"]
    log = rep.suppression_log.set_index("table")
    assert "continuity_by_cohort" in log.index and "continuity_by_quarter" in log.index
    table = sections["continuity"].tables[0].frame
    # every published count is the engine's (on the report's snapshot at its as-of date)
    snapshot = dataclasses.replace(recs, data_as_of=pd.Timestamp("2026-06-30"))
    inc = continuity_of_care(snapshot).included
    for row in table.itertuples(index=False):
        if pd.isna(row.followed_within_7):
            continue
        mine = inc.loc[inc["cohort"] == row.cohort]
        assert row.followed_within_7 == int(mine["followed_within_7"].sum())
    html = rep.to_html()
    assert "Step-down and continuity" in html
    assert not any(pid in html for pid in sample.episodes["patient_id"].astype(str).head(50))
