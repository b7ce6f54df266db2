"""Benchmark: cost_effectiveness on 100,000 episodes with 2,000 bootstrap replicates (issue 19).

The stratified bootstrap resamples episodes within each group in chunks of replicates (about 4
million resample indices at a time), gathering costs and effects with the same indices, so time
is linear in episodes x replicates and memory stays bounded. The data are a plain outcomes
table (cohort, 0/1 outcome with 25% missing, gamma costs), so only the cost-effectiveness step
is timed.

Usage::

    python benchmarks/bench_cost_effectiveness.py                     # 100,000 x 2,000
    python benchmarks/bench_cost_effectiveness.py --episodes 10000 --repeat 3
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from iopoutcomes import cost_effectiveness


def make_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    is_iop = rng.random(n) < 0.6
    y = (rng.random(n) < np.where(is_iop, 0.5, 0.45)).astype(float)
    y[rng.random(n) < 0.25] = np.nan
    cost = np.where(is_iop, rng.gamma(4.0, 1700.0, n), rng.gamma(4.0, 3000.0, n))
    return pd.DataFrame(
        {"cohort": np.where(is_iop, "IOP", "inpatient"), "abstinent_6mo": y, "cost": cost}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--n-boot", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    frame = make_frame(args.episodes)
    times = []
    for r in range(args.repeat):
        t0 = time.perf_counter()
        ce = cost_effectiveness(frame, n_boot=args.n_boot, seed=r, wtp=20_000)
        times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.episodes:,} episodes x {args.n_boot:,} replicates: best {min(times):.2f} s, "
        f"median {float(np.median(times)):.2f} s over {args.repeat} runs; peak RSS {peak:.0f} MB"
    )
    print(ce.table[["diff_cost", "diff_cost_ci_low", "diff_cost_ci_high", "diff"]].to_string())


if __name__ == "__main__":
    main()
