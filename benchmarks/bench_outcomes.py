"""Benchmark: episode_outcomes on a large daily calendar vs reading that calendar from Parquet.

Issue 3 §3: ``episode_outcomes`` on 100,000 episodes with 18,000,000 calendar days must finish
within 3x the time it takes to read those calendar rows from Parquet.

The data are synthetic canonical tables (one self-report row per person-day, 180 days per
episode, ~2% of days missing, a two-state use process, a discharge on day 20-70) plus a 6-month
follow-up row per episode; ``Records`` is built directly from them (validation by
``read_records`` is benchmarked elsewhere), so the comparison is "read the calendar" vs
"compute every outcome from it".

Usage::

    python benchmarks/bench_outcomes.py                      # 100,000 episodes x 180 days
    python benchmarks/bench_outcomes.py --episodes 10000     # scaled down
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from iopoutcomes.outcomes import episode_outcomes
from iopoutcomes.records import Records


def make_tables(
    n: int, days: int, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = pd.array([f"E{i:07d}" for i in range(n)], dtype="string")
    admission = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    discharge_day = rng.integers(20, 71, n)
    episodes = pd.DataFrame(
        {
            "patient_id": ids,
            "episode_id": ids,
            "cohort": pd.array(np.where(rng.random(n) < 0.5, "IOP", "inpatient"), dtype="string"),
            "admission_date": admission,
            "discharge_date": admission + pd.to_timedelta(discharge_day, unit="D"),
            "discharge_reason": pd.array(["completed"] * n, dtype="string"),
            "discharge_day": pd.array(discharge_day, dtype="Int64"),
        }
    )
    ep = np.repeat(np.arange(n), days)
    day = np.tile(np.arange(days), n)
    # two-state Markov chain per person-day, vectorised: switch with probability 0.05
    switch = rng.random(n * days) < 0.05
    state = np.cumsum(switch) % 2
    keep = rng.random(n * days) >= 0.02
    use_days = pd.DataFrame(
        {
            "episode_id": ids[ep[keep]],
            "day": pd.array(day[keep], dtype="Int64"),
            "used": pd.array(state[keep] == 1, dtype="boolean"),
            "source": pd.array(["self_report"] * int(keep.sum()), dtype="string"),
        }
    )
    followups = pd.DataFrame(
        {
            "episode_id": ids,
            "timepoint": pd.array(["6mo"] * n, dtype="string"),
            "status": pd.array(["completed"] * n, dtype="string"),
            "assessment_day": pd.array(rng.integers(150, 250, n), dtype="Int64"),
            "days_used_past30": pd.array(rng.integers(0, 4, n), dtype="Int64"),
        }
    )
    return episodes, followups, use_days


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--repeat", type=int, default=3, help="timings are medians of repeats")
    args = parser.parse_args()
    episodes, followups, use_days = make_tables(args.episodes, args.days)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "use_days.parquet"
        use_days.to_parquet(path, index=False)
        del use_days
        reads = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            calendar = pd.read_parquet(path)
            reads.append(time.perf_counter() - t0)
        read_s = float(np.median(reads))
    records = Records(
        episodes=episodes,
        followups=followups,
        use_days=calendar,
        rejected=pd.DataFrame(),
        read_counts={},
        timepoints=("intake", "6mo"),
        data_as_of=pd.Timestamp("2026-06-30"),
    )
    runs = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        out = episode_outcomes(records)
        runs.append(time.perf_counter() - t0)
    outcomes_s = float(np.median(runs))
    print(f"episodes: {len(episodes):,}; calendar rows: {len(calendar):,}")
    print(f"read calendar from Parquet: {read_s:.2f} s (median of {args.repeat})")
    print(f"episode_outcomes:           {outcomes_s:.2f} s  ({outcomes_s / read_s:.2f}x the read)")
    print(
        f"columns: {out.table.shape[1]}; target <= 3x: {'met' if outcomes_s <= 3 * read_s else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
