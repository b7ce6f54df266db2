"""Benchmark: ``read_records`` of a daily calendar keyed by ``patient_id`` with ISO text dates.

Issue 12 §2: 50,000 episodes x 180 calendar days (9 million rows, Parquet) must take at most
2x a plain read of the same files + parsing their dates + sorting the calendar by patient and
date, and the calendar path must scale linearly (to 500,000 episodes, 90 million rows, within
24 GB).

The files are synthetic canonical tables written with vectorised numpy: ``episodes.parquet``
(one episode per patient, ISO text dates) and ``use_days.parquet`` (``patient_id``, ``date``
as ISO text, ``used`` 0/1, ``source``), one row per patient-day. Each reader runs in a fresh
subprocess (imports excluded from the timing), interleaved so a change in machine load hits
both alike; the output gives best and median times, their ratios, and each child's peak
resident memory (``VmHWM``).

The baseline ("plain") is ``pandas.read_parquet`` of both files, ``pandas.to_datetime`` of
every date column with the ISO format, and ``sort_values(["patient_id", "date"])`` of the
calendar. ``--arrow`` adds a leaner one, all in Arrow (``pyarrow.parquet.read_table``, a cast
of the date text to ``date32``, ``Table.sort_by``), which does not even make pandas frames.

Usage::

    python benchmarks/bench_calendar.py --episodes 50000 --repeat 5
    python benchmarks/bench_calendar.py --episodes 150000 --repeat 3   # scaling
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def write_files(n_episodes: int, days: int, folder: Path, seed: int = 1) -> None:
    """Write ``episodes.parquet`` and ``use_days.parquet`` (patient_id + ISO text date)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    patients = np.char.add("P", np.char.zfill(np.arange(n_episodes).astype(str), 7))
    admission = np.datetime64("2023-01-01") + rng.integers(0, 365, n_episodes).astype(
        "timedelta64[D]"
    )
    pd.DataFrame(
        {
            "patient_id": patients,
            "episode_id": np.char.add("E", np.char.zfill(np.arange(n_episodes).astype(str), 7)),
            "cohort": np.where(rng.random(n_episodes) < 0.5, "IOP", "inpatient"),
            "admission_date": admission.astype(str),
        }
    ).to_parquet(folder / "episodes.parquet", index=False)
    # written in slices of patients: 90 million rows of text would not fit in memory at once
    # (the random stream is drawn in the same order, so the files do not depend on the slice)
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer: pq.ParquetWriter | None = None
    try:
        for start in range(0, n_episodes, 20_000):
            idx = np.arange(start, min(n_episodes, start + 20_000))
            person = np.repeat(idx, days)
            date = admission[person] + np.tile(np.arange(days), len(idx)).astype("timedelta64[D]")
            table = pa.table(
                {
                    "patient_id": pa.array(patients[person].tolist(), pa.string()),
                    "date": pa.array(date.astype(str).tolist(), pa.string()),
                    "used": pa.array((rng.random(len(person)) < 0.2).astype(np.int8)),
                    "source": pa.array(["self_report"] * len(person), pa.string()),
                }
            )
            if writer is None:
                writer = pq.ParquetWriter(folder / "use_days.parquet", table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


CHILD = r"""
import json, resource, sys, time
import pandas as pd
mode, folder = sys.argv[1], sys.argv[2]
if mode == "read_records":
    import iopoutcomes as iop
    iop.read_records
start = time.perf_counter()
if mode == "plain":
    eps = pd.read_parquet(f"{folder}/episodes.parquet")
    eps["admission_date"] = pd.to_datetime(eps["admission_date"], format="%Y-%m-%d")
    days = pd.read_parquet(f"{folder}/use_days.parquet")
    days["date"] = pd.to_datetime(days["date"], format="%Y-%m-%d")
    days = days.sort_values(["patient_id", "date"])
    rows = [len(eps), len(days)]
elif mode == "arrow":
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    import pyarrow as pa
    eps = pq.read_table(f"{folder}/episodes.parquet")
    eps = eps.set_column(3, "admission_date", pc.cast(eps["admission_date"], pa.date32()))
    days = pq.read_table(f"{folder}/use_days.parquet")
    days = days.set_column(1, "date", pc.cast(days["date"], pa.date32()))
    days = days.sort_by([("patient_id", "ascending"), ("date", "ascending")])
    rows = [eps.num_rows, days.num_rows]
else:
    recs = iop.read_records(f"{folder}/episodes.parquet", use_days=f"{folder}/use_days.parquet",
                            data_as_of="2024-12-31")
    assert len(recs.rejected) == 0
    rows = [len(recs.episodes), len(recs.use_days)]
seconds = time.perf_counter() - start
with open("/proc/self/status") as status:
    peak = next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmHWM"))
print(json.dumps({"seconds": seconds, "rows": rows, "peak": peak}))
"""


WARM = r"""
import sys
import numpy as np
np.ones(int(float(sys.argv[1]) * 1e9) // 8)  # touch, then give back to the kernel at exit
"""


def warm_memory(gigabytes: float) -> None:
    """Touch and free memory in a throwaway child, so each timed child meets the same page
    state (see ``bench_read_records.py``: on this VM the first touch of memory the host
    reclaimed is slow, and a child needing several GB would pay for it)."""
    if gigabytes > 0:
        subprocess.run([sys.executable, "-c", WARM, str(gigabytes)], check=True)


def run_child(mode: str, folder: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(folder)], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tmp", type=Path, default=Path("/tmp/iopoutcomes-bench-calendar"))
    parser.add_argument("--keep", action="store_true", help="reuse existing files in --tmp")
    parser.add_argument("--arrow", action="store_true", help="also time the Arrow-only baseline")
    parser.add_argument(
        "--warm-gb",
        type=float,
        default=0.0,
        help="memory touched and freed by a throwaway child before each timed child",
    )
    args = parser.parse_args(argv)
    folder = args.tmp / f"{args.episodes}x{args.days}"
    if not (args.keep and (folder / "use_days.parquet").exists()):
        start = time.perf_counter()
        write_files(args.episodes, args.days, folder)
        print(f"wrote files in {time.perf_counter() - start:.1f} s")
    load_before = os.getloadavg()[0]
    plain, records, arrow = [], [], []
    for _ in range(args.repeat):
        if args.arrow:
            warm_memory(args.warm_gb)
            arrow.append(run_child("arrow", folder))
        warm_memory(args.warm_gb)
        plain.append(run_child("plain", folder))
        warm_memory(args.warm_gb)
        records.append(run_child("read_records", folder))
    load_after = os.getloadavg()[0]
    p_times = [r["seconds"] for r in plain]
    r_times = [r["seconds"] for r in records]
    summary = {
        "episodes": args.episodes,
        "calendar_rows": records[-1]["rows"][1],
        "plain_best_seconds": round(min(p_times), 2),
        "plain_median_seconds": round(statistics.median(p_times), 2),
        "read_records_best_seconds": round(min(r_times), 2),
        "read_records_median_seconds": round(statistics.median(r_times), 2),
        "ratio_of_best": round(min(r_times) / min(p_times), 2),
        "ratio_of_medians": round(statistics.median(r_times) / statistics.median(p_times), 2),
        "plain_peak_rss_gb": round(max(r["peak"] for r in plain) / 1e9, 2),
        "read_records_peak_rss_gb": round(max(r["peak"] for r in records) / 1e9, 2),
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
        "warm_gb": args.warm_gb,
    }
    if arrow:
        a_times = [r["seconds"] for r in arrow]
        summary["arrow_best_seconds"] = round(min(a_times), 2)
        summary["arrow_median_seconds"] = round(statistics.median(a_times), 2)
        summary["ratio_to_arrow_of_best"] = round(min(r_times) / min(a_times), 2)
        summary["ratio_to_arrow_of_medians"] = round(
            statistics.median(r_times) / statistics.median(a_times), 2
        )
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
