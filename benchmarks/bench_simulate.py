"""Benchmark: vectorised generation of simulated programs (``simulate_tables``).

A Python loop over episodes and days (about 8 million iterations for 20,000 episodes) would
take minutes; the vectorised generator takes seconds. The figure is in the README (it used to be
a wall-clock assert in ``tests/test_simulate.py``, which fails on a loaded machine for reasons
that have nothing to do with the code).

Usage::

    python benchmarks/bench_simulate.py                    # 20,000 episodes, 3 runs
    python benchmarks/bench_simulate.py --episodes 100000 --repeat 1
"""

from __future__ import annotations

import argparse
import os
import time

from iopoutcomes.simulate import simulate_tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    times = []
    for run in range(args.repeat):
        start = time.perf_counter()
        episodes, _, use_days, _ = simulate_tables(n=args.episodes, seed=1 + run)
        times.append(time.perf_counter() - start)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"simulate_tables: {len(episodes):,} episodes, {len(use_days):,} calendar days; "
        f"best {min(times):.2f} s, median {sorted(times)[len(times) // 2]:.2f} s "
        f"({args.repeat} runs, 1-minute load {load:.1f})"
    )


if __name__ == "__main__":
    main()
