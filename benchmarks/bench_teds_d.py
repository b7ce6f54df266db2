"""Benchmark: read a TEDS-D-format file and build the IOP-vs-residential comparison tables.

For each size (default 1.5M and 15M rows) a file is generated once with ``make_teds_d.py``
(2019 layout, 2019 codebook marginals) and then, in a fresh subprocess, the benchmark

1. reads it with ``iopoutcomes.read_teds_d`` (column projection, compact dtypes),
2. pools the residential cohorts and keeps IOP vs residential,
3. builds the comparison tables: counts by cohort, completion rates and abstinence at discharge
   (among known values and under missing = using) with ``outcome_rates`` / ``compare_rates``
   when those modules exist (otherwise from ``group_counts``), and the LOS summary.

Time (wall clock of the subprocess's work) and peak resident memory (``ru_maxrss`` of the
subprocess, which includes the interpreter and imports) are printed as a table.

Usage::

    python benchmarks/bench_teds_d.py --rows 1500000 15000000 --dir /tmp/teds_bench
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_one(path: Path) -> dict[str, object]:
    """The measured work (runs inside the subprocess)."""
    start = time.perf_counter()
    import pandas as pd

    from iopoutcomes import teds
    from iopoutcomes._counts import group_counts

    rec = teds.read_teds_d(path, years=[2019], pool_residential=True)
    t_read = time.perf_counter() - start
    ep = rec.episodes
    ep = ep[ep["cohort"].isin(["IOP", "residential"])]
    tables: dict[str, pd.DataFrame] = {}
    tables["counts"] = group_counts(ep, "completed", "cohort")
    try:
        from iopoutcomes.compare import compare_rates
        from iopoutcomes.rates import outcome_rates

        tables["rates"] = outcome_rates(
            ep, ["completed", "completed_or_transferred", "abstinent_discharge"], "cohort",
            missing="exclude",
        ).to_frame()  # fmt: skip
        tables["rates_missing_using"] = outcome_rates(
            ep, "abstinent_discharge", "cohort", missing="using"
        ).to_frame()
        tables["comparison"] = compare_rates(
            ep, ["completed", "abstinent_discharge"], "cohort", reference="residential",
            missing="exclude",
        ).to_frame()  # fmt: skip
        engine = "outcome_rates/compare_rates"
    except ImportError:
        for outcome in ("completed", "abstinent_discharge"):
            c = group_counts(ep, outcome, "cohort")
            c["rate"] = c["n_events"] / (c["n"] - c["n_missing"])
            tables[outcome] = c
        engine = "group_counts"
    tables["los"] = teds.los_summary(ep).to_frame()
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "rows": int(rec.read_counts["episodes"]),
        "seconds": round(elapsed, 1),
        "read_seconds": round(t_read, 1),
        "peak_rss_mb": round(peak_mb),
        "episodes_mb": round(rec.episodes.memory_usage(deep=True).sum() / 1e6),
        "tables": engine,
        "completion": tables["counts"].to_dict("records"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_500_000, 15_000_000])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/teds_bench"))
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child)))
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(HERE))
    from make_teds_d import write_teds_d

    results = []
    for n in args.rows:
        path = args.dir / f"tedsd_{n}.csv"
        if not path.exists():
            t0 = time.perf_counter()
            write_teds_d(path, n)
            print(f"generated {n} rows ({path.stat().st_size / 1e9:.2f} GB) in "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(path)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["file_gb"] = round(path.stat().st_size / 1e9, 2)
        results.append(result)
        print(json.dumps(result), flush=True)
    print("\n| rows | file (GB) | read (s) | read + tables (s) | peak RSS (MB) | episodes (MB) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['rows']:,} | {r['file_gb']} | {r['read_seconds']} | {r['seconds']} | "
              f"{r['peak_rss_mb']:,} | {r['episodes_mb']:,} |")  # fmt: skip


if __name__ == "__main__":
    main()
