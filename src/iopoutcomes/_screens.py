"""Calendar outcomes from urine screens on some days (``OutcomeDefinition(calendar="screens")``).

A screen calendar is not a daily record: a day without a screen says nothing about use. The
sustained-abstinence outcomes therefore use a stated weekly rule instead of a run of days:

    **Screen rule.** Sustained abstinence for ``sustained_days`` days = at least
    ceil(sustained_days / 7) consecutive weeks (7-day blocks counted from the window's start:
    admission in treatment, the discharge date after discharge), each with at least one urine
    screen and every screen negative. A week without a screen breaks the run (it cannot show
    abstinence). After Ling W, Charuvastra C, Collins JF, et al. Buprenorphine maintenance
    treatment of opiate dependence: a multicenter, randomized clinical trial. Addiction
    1998;93(4):475-486 (four consecutive negative weekly urines).

An episode with no screen in the window is *not computable* (missing), never "not abstinent";
a window still open at the data-as-of date is undecided unless the run is already reached.
Outcomes that need every day (longest abstinent run in days, continuous abstinence, point
prevalence, time to first use) are not computable from screens and are left missing with a
remark. The coverage (share of the window's weeks with a screen) is returned per episode.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

SCREEN_RULE_REFERENCE = (
    "Ling W, Charuvastra C, Collins JF, et al. Buprenorphine maintenance treatment of opiate "
    "dependence: a multicenter, randomized clinical trial. Addiction. 1998;93(4):475-486."
)


def screen_rule_text(sustained_days: int) -> str:
    """The rule in one sentence (printed in the report's methods)."""
    weeks = math.ceil(sustained_days / 7)
    return (
        f"Urine-screen calendar: sustained abstinence ({sustained_days} days) = at least {weeks} "
        "consecutive weeks, counted from the window's start, each with at least one urine screen "
        "and every screen negative; a week without a screen breaks the run; episodes with no "
        "screen in the window are not computable (missing), never counted as use. Outcomes that "
        "need every day (continuous abstinence, point prevalence, time to first use) are not "
        f"computable from screens. Rule after {SCREEN_RULE_REFERENCE}"
    )


def _weekly(
    e: np.ndarray,
    day: np.ndarray,
    used: np.ndarray,
    n: int,
    start: np.ndarray,
    end: np.ndarray,
    as_of: np.ndarray,
    weeks_needed: int,
) -> tuple[pd.arrays.BooleanArray, np.ndarray]:
    """Sustained (weekly rule) and coverage per episode for windows ``start..end`` (days)."""
    stop = np.fmin(end, as_of)
    s, t = start[e], stop[e]
    inside = ~np.isnan(s) & (day >= s) & (day <= t)
    ei, di, ui = e[inside], day[inside], used[inside]
    week = ((di - s[inside]) // 7).astype(np.int64)
    frame = pd.DataFrame({"e": ei, "w": week, "pos": ui})
    per_week = frame.groupby(["e", "w"], sort=True)["pos"].any().reset_index()
    clean = per_week.loc[~per_week["pos"].to_numpy(bool)]
    # runs of consecutive clean weeks: week - rank is constant within a run
    rank = clean.groupby("e").cumcount().to_numpy()
    runs = pd.DataFrame({"e": clean["e"].to_numpy(), "g": clean["w"].to_numpy() - rank})
    longest = np.zeros(n)
    if len(runs):
        size = runs.groupby(["e", "g"]).size().groupby(level=0).max()
        longest[size.index.to_numpy(np.int64)] = size.to_numpy(float)
    n_weeks_screened = np.bincount(per_week["e"].to_numpy(np.int64), minlength=n).astype(float)
    length = np.fmax(stop - start + 1, 0)
    n_weeks = np.ceil(length / 7)
    with np.errstate(invalid="ignore", divide="ignore"):
        coverage = np.where(n_weeks > 0, n_weeks_screened / n_weeks, np.nan)
    hit = longest >= weeks_needed
    complete = ~np.isnan(start) & (end <= as_of)
    known = (n_weeks_screened > 0) & (hit | complete)
    return pd.arrays.BooleanArray(hit & known, ~known), coverage


def screen_outcomes(
    e: np.ndarray,
    day: np.ndarray,
    used: np.ndarray,
    n: int,
    discharge_day: np.ndarray,
    as_of: np.ndarray,
    sustained_days: int,
    after_discharge_days: int,
    stem: str,
) -> tuple[dict[str, Any], list[str]]:
    """The calendar outcome columns of ``episode_outcomes`` for a screen calendar, and remarks."""
    weeks = math.ceil(sustained_days / 7)
    day_f = day.astype(float)
    cols: dict[str, Any] = {}
    t_end = np.where(np.isnan(discharge_day), np.inf, discharge_day)
    sus_in, cov_in = _weekly(e, day_f, used, n, np.zeros(n), t_end, as_of, weeks)
    a_end = discharge_day + after_discharge_days - 1
    sus_after, cov_after = _weekly(e, day_f, used, n, discharge_day, a_end, as_of, weeks)
    missing_int = pd.array([pd.NA] * n, dtype="Int64")
    missing_bool = pd.array([pd.NA] * n, dtype="boolean")
    cols["longest_abstinent_run_in_treatment"] = missing_int
    cols[f"{stem}_in_treatment"] = sus_in
    cols["screen_coverage_in_treatment"] = pd.array(cov_in, dtype="Float64")
    cols["longest_abstinent_run_after_discharge"] = missing_int.copy()
    cols[f"{stem}_after_discharge"] = sus_after
    cols["screen_coverage_after_discharge"] = pd.array(cov_after, dtype="Float64")
    cols["continuous_abstinence_after_discharge"] = missing_bool
    cols["first_use_after_discharge_time"] = missing_int.copy()
    cols["first_use_after_discharge_event"] = missing_bool.copy()
    cols["point_prevalence_30d_after_discharge"] = missing_bool.copy()
    n_none = int(np.sum(np.nan_to_num(cov_in) == 0))
    median_cov = float(np.nanmedian(cov_in)) if np.any(~np.isnan(cov_in)) else float("nan")
    remarks = [
        screen_rule_text(sustained_days),
        f"Screen coverage in treatment: median {median_cov:.0%} of weeks with a screen; "
        f"{n_none} episode(s) without any screen in treatment are not computable.",
    ]
    return cols, remarks
