"""Benchmark: the whole CTN-0094 pipeline on the real public tables.

Times ``read_ctn0094`` (Parquet and CSV), ``weekly_patterns`` (harmonised rules, 3,560 words)
and ``pattern_outcomes`` with every registered definition, then ``pattern_outcomes`` on the
real words replicated 100 times (356,000 words) to show the evaluation is vectorised.

Usage::

    python benchmarks/bench_ctn0094.py [FOLDER] [--repeat N]

``FOLDER`` defaults to ``../shared/real/ctn0094`` beside the checkout (or
``$IOPOUTCOMES_SHARED/real/ctn0094``). Prints the median wall time of ``N`` runs (default 5).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from iopoutcomes.ctn0094 import read_ctn0094
from iopoutcomes.patterns import pattern_outcomes, weekly_patterns

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = Path(os.environ.get("IOPOUTCOMES_SHARED", ROOT.parent / "shared")) / "real" / "ctn0094"


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time (seconds) of ``repeat`` calls and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(DEFAULT))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"CTN-0094 folder not found: {folder}", file=sys.stderr)
        return 2

    rows = []
    t, records = timed(lambda: read_ctn0094(folder, file_format="parquet"), args.repeat)
    rows.append(("read_ctn0094 (parquet)", len(records.episodes), t))
    t, _ = timed(lambda: read_ctn0094(folder, file_format="csv"), max(1, args.repeat // 2))
    rows.append(("read_ctn0094 (csv)", len(records.episodes), t))
    t, words = timed(lambda: weekly_patterns(records), args.repeat)
    rows.append(("weekly_patterns (harmonised rules)", len(words), t))
    t, outcomes = timed(lambda: pattern_outcomes(words), args.repeat)
    rows.append((f"pattern_outcomes ({outcomes.shape[1]} columns)", len(words), t))
    t_all, _ = timed(
        lambda: pattern_outcomes(weekly_patterns(read_ctn0094(folder, file_format="parquet"))),
        args.repeat,
    )
    rows.append(("pipeline: read + words + all definitions", len(words), t_all))
    many = pd.Series(list(words) * 100)
    t, _ = timed(lambda: pattern_outcomes(many), max(1, args.repeat // 2))
    rows.append(("pattern_outcomes on words x 100", len(many), t))

    table = pd.DataFrame(rows, columns=["step", "n", "seconds"])
    print(f"CTN-0094 pipeline, median of {args.repeat} runs ({folder})")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    symbols = {s: int(words.str.count(f"[{s}]").sum()) for s in "+-o*"}
    print(f"words: {len(words)}, weeks: {int(words.str.len().sum())}, symbols: {symbols}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
