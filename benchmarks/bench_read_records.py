"""Benchmark: ``read_records`` versus pandas' own pyarrow-engine ``read_csv`` of the same files.

Writes synthetic canonical CSVs (episodes + follow-ups, vectorised numpy), then runs each
reader in a fresh subprocess, timing it (wall and CPU time) and measuring the child's peak
resident memory (``VmHWM``), and compares that peak with the memory of the loaded frames
(``DataFrame.memory_usage(deep=True)``). The import of pandas/iopoutcomes costs the same in
both children and is excluded from the timings.

Each repeat runs one pandas child and then one read_records child (interleaved, so a change in
machine load hits both alike); the output gives the ratio of the best times, of the median
times, the ratio within each pair, median CPU seconds and the 1-minute load average before
and after.

Page state (``--warm-gb``, default 3). On this development VM (Firecracker, free-page
reporting), memory the guest gave back is returned to the host, and the first touch of such a
page costs a host fault: touching 1 GB of fresh memory takes 0.07 s on one run and 1.4-2.5 s
on the next. How many such pages a child meets depends on what ran before it and how much it
needs, so back-to-back children are not measured alike (read_records needs ~0.15 GB more
than pandas at its peak and pays for exactly those pages). By default a throwaway child
touches and frees 3 GB before each timed child, so both readers start from the same page
state — that of an ordinary machine, where memory is always backed. ``--warm-gb 0`` shows
the raw back-to-back figures.

Targets: issue 12, 1,000,000 episodes + 4,000,000 follow-ups: read time <= 2.5x pandas;
5,000 episodes (``--simulated``: a simulated program's episodes, follow-ups and daily
calendar): <= 2x pandas; issue 2, peak memory < 3x the loaded frames.

Figures: see the README's Performance table (issue 12 series, measured while seven other
developers shared the two cores: load average 6-10, so best and median of interleaved runs
are both given, and the CPU seconds of each child, which load inflates less).

How ``read_records`` spends the time (since issue 12: the ``records/`` package, no hand-made
thread coordination, no pandas/Arrow internals): each file is read once (its SHA-256 taken
from the same bytes) and parsed by pyarrow's multithreaded CSV reader; the follow-up file is
read while the episodes are validated, and the follow-up ids are typed and matched to the
accepted episodes (8-byte packed keys, matched in cache-sized partitions) while the other
follow-up columns are typed — both through a plain ``ThreadPoolExecutor.map``.

Earlier figures (issue 2, hand-coordinated threads and Arrow internals, idle machine,
``--repeat 9``): best 0.70-0.73 s vs pandas 0.40 s (1.76-1.80x), medians 1.36-1.50x;
peak 1.69-1.71x the frames.

Usage::

    python benchmarks/bench_read_records.py --episodes 1000000 --followups 4000000 --tmp /tmp/b
    python benchmarks/bench_read_records.py --simulated --episodes 5000 --tmp /tmp/s --repeat 7
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

TIMEPOINTS = np.array(["intake", "discharge", "3mo", "6mo", "12mo"])
STATUSES = np.array(["completed", "not_located", "refused", "withdrawn"])


def write_files(n_episodes: int, n_followups: int, folder: Path, seed: int = 1) -> None:
    """Write ``episodes.csv`` and ``followups.csv`` with canonical, valid rows."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    admission = np.datetime64("2021-01-01") + rng.integers(0, 1000, n_episodes).astype(
        "timedelta64[D]"
    )
    stay = rng.integers(5, 120, n_episodes).astype("timedelta64[D]")
    discharged = rng.random(n_episodes) < 0.9
    episodes = pd.DataFrame(
        {
            "patient_id": np.char.add("P", rng.integers(0, n_episodes, n_episodes).astype(str)),
            "episode_id": np.char.add("E", np.arange(n_episodes).astype(str)),
            "cohort": np.where(rng.random(n_episodes) < 0.6, "IOP", "inpatient"),
            "admission_date": admission.astype(str),
            "level_of_care": rng.choice(["IOP", "inpatient", "2.1", "3.7"], n_episodes),
            "site": np.char.add("site", rng.integers(0, 12, n_episodes).astype(str)),
            "discharge_date": np.where(discharged, (admission + stay).astype(str), ""),
            "discharge_reason": np.where(
                discharged, rng.choice(["completed", "dropped_out", "other"], n_episodes), ""
            ),
            "age": rng.integers(18, 80, n_episodes),
            "severity": np.round(rng.normal(0, 1, n_episodes), 4),
        }
    )
    episodes.to_csv(folder / "episodes.csv", index=False)
    # follow-ups: distinct (episode, timepoint) pairs
    per = len(TIMEPOINTS)
    slots = rng.choice(n_episodes * per, size=min(n_followups, n_episodes * per), replace=False)
    ep = slots // per
    tp = TIMEPOINTS[slots % per]
    status = STATUSES[rng.choice(len(STATUSES), len(slots), p=[0.7, 0.2, 0.05, 0.05])]
    completed = status == "completed"
    assessed = admission[ep] + rng.integers(0, 400, len(slots)).astype("timedelta64[D]")
    days = rng.integers(0, 31, len(slots))
    followups = pd.DataFrame(
        {
            "episode_id": np.char.add("E", ep.astype(str)),
            "timepoint": tp,
            "status": status,
            "assessment_date": np.where(completed, assessed.astype(str), ""),
            "days_used_past30": np.where(completed, days.astype(str), ""),
            "uds_result": np.where(completed, rng.choice(["negative", "positive"], len(slots)), ""),
        }
    )
    followups.to_csv(folder / "followups.csv", index=False)


def write_simulated(n_episodes: int, folder: Path, seed: int = 1) -> None:
    """Write a simulated program's three CSVs (``simulate_records``: episodes, follow-ups and
    the daily use calendar, about 190 calendar days per episode)."""
    import iopoutcomes as iop

    folder.mkdir(parents=True, exist_ok=True)
    iop.simulate_records(n=n_episodes, seed=seed).to_csv(folder)


CHILD = r"""
import json, os, resource, sys, time
import pandas as pd
mode, folder = sys.argv[1], sys.argv[2]
tables = [t for t in ("episodes", "followups", "use_days") if os.path.exists(f"{folder}/{t}.csv")]
if mode == "read_records":
    import iopoutcomes as iop
    iop.read_records  # resolve the lazy import before timing
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu_start = usage.ru_utime + usage.ru_stime
start = time.perf_counter()
if mode == "pandas":
    frames = [pd.read_csv(f"{folder}/{t}.csv", engine="pyarrow") for t in tables]
else:
    recs = iop.read_records(*[f"{folder}/{t}.csv" for t in tables])
    frames = [getattr(recs, t) for t in tables]
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime - cpu_start
frame_bytes = int(sum(f.memory_usage(deep=True).sum() for f in frames))
rows = [len(f) for f in frames]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
try:  # VmHWM is this image's own high-water mark (ru_maxrss survives exec on Linux)
    with open("/proc/self/status") as status:
        peak = next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmHWM"))
except (OSError, StopIteration):
    pass
print(json.dumps({"seconds": seconds, "cpu": cpu, "frame_bytes": frame_bytes, "rows": rows,
                  "peak": peak}))
"""


def run_child(mode: str, folder: Path) -> dict[str, float]:
    """Run one reader in a fresh interpreter; return its timing, frame size and peak RSS."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(folder)],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # the child's own RUSAGE_SELF peak: RUSAGE_CHILDREN in the parent is the maximum over
    # every child so far, which would hide a smaller later child
    result["peak_rss_bytes"] = result["peak"]
    result["children_max_rss_bytes"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return result


WARM = r"""
import sys
import numpy as np
np.ones(int(float(sys.argv[1]) * 1e9) // 8)  # touch, then give back to the kernel at exit
"""


def warm_memory(gigabytes: float) -> None:
    """Touch and free ``gigabytes`` of memory in a throwaway child (see the module notes)."""
    if gigabytes > 0:
        subprocess.run([sys.executable, "-c", WARM, str(gigabytes)], check=True)


def baseline_rss() -> int:
    """Peak RSS of a child that only imports pandas, pyarrow and iopoutcomes (bytes)."""
    code = (
        "import pandas, pyarrow.csv, pyarrow.compute, iopoutcomes as i; i.read_records\n"
        "print(next(int(l.split()[1]) * 1024 for l in open('/proc/self/status')"
        " if l.startswith('VmHWM')))"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(done.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1_000_000)
    parser.add_argument("--followups", type=int, default=4_000_000)
    parser.add_argument("--tmp", type=Path, default=Path("/tmp/iopoutcomes-bench"))
    parser.add_argument("--repeat", type=int, default=1, help="timed runs of each reader")
    parser.add_argument("--keep", action="store_true", help="reuse existing files in --tmp")
    parser.add_argument(
        "--warm-gb",
        type=float,
        default=3.0,
        help="memory touched and freed by a throwaway child before each timed child "
        "(0: none; see the module notes on this VM's page faults)",
    )
    parser.add_argument(
        "--simulated",
        action="store_true",
        help="read a simulated program's three CSVs (simulate_records with --episodes) instead "
        "of the synthetic episodes + follow-ups",
    )
    parser.add_argument("--write-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write_only:
        if args.simulated:
            write_simulated(args.episodes, args.tmp)
        else:
            write_files(args.episodes, args.followups, args.tmp)
        return 0

    files_ok = (args.tmp / "episodes.csv").exists() and (args.tmp / "followups.csv").exists()
    if not (args.keep and files_ok):
        start = time.perf_counter()
        # in a child, so this process stays small (its memory is not what is measured)
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--write-only",
                "--episodes",
                str(args.episodes),
                "--followups",
                str(args.followups),
                "--tmp",
                str(args.tmp),
                *(["--simulated"] if args.simulated else []),
            ],
            check=True,
        )
        print(f"wrote files in {time.perf_counter() - start:.1f} s")
    sizes = {p.name: p.stat().st_size for p in sorted(args.tmp.glob("*.csv"))}
    print("files:", ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in sizes.items()))

    base = baseline_rss()
    load_before = os.getloadavg()[0]
    pandas_runs: list[dict[str, float]] = []
    records_runs: list[dict[str, float]] = []
    for _ in range(args.repeat):  # interleaved, so a change in machine load hits both alike
        warm_memory(args.warm_gb)
        pandas_runs.append(run_child("pandas", args.tmp))
        warm_memory(args.warm_gb)
        records_runs.append(run_child("read_records", args.tmp))
    load_after = os.getloadavg()[0]
    pd_times = [r["seconds"] for r in pandas_runs]
    rr_times = [r["seconds"] for r in records_runs]
    pd_best, rr_best = min(pd_times), min(rr_times)
    ratios = sorted(r / p for p, r in zip(pd_times, rr_times, strict=True))
    rr = records_runs[-1]
    frames = rr["frame_bytes"]
    peak = rr["peak_rss_bytes"]
    summary = {
        "episodes": args.episodes,
        "followups": args.followups,
        "pandas_read_csv_seconds": round(pd_best, 2),
        "read_records_seconds": round(rr_best, 2),
        "time_ratio": round(rr_best / pd_best, 2),
        "pandas_median_seconds": round(statistics.median(pd_times), 2),
        "read_records_median_seconds": round(statistics.median(rr_times), 2),
        "time_ratio_of_medians": round(
            statistics.median(rr_times) / statistics.median(pd_times), 2
        ),
        "time_ratio_per_pair": [round(x, 2) for x in ratios],
        "pandas_cpu_seconds_median": round(statistics.median(r["cpu"] for r in pandas_runs), 2),
        "read_records_cpu_seconds_median": round(
            statistics.median(r["cpu"] for r in records_runs), 2
        ),
        "warm_gb": args.warm_gb,
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
        "cpus": os.cpu_count(),
        "read_records_frames_mb": round(frames / 1e6, 1),
        "read_records_peak_rss_mb": round(peak / 1e6, 1),
        "import_baseline_rss_mb": round(base / 1e6, 1),
        "memory_ratio": round(peak / frames, 2),
        "memory_ratio_above_imports": round((peak - base) / frames, 2),
        "pandas_frames_mb": round(pandas_runs[-1]["frame_bytes"] / 1e6, 1),
        "pandas_peak_rss_mb": round(pandas_runs[-1]["peak_rss_bytes"] / 1e6, 1),
    }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
