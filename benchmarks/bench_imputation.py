"""Benchmark: multiple imputation of a binary outcome with complete covariates.

``completed_datasets(..., "impute")`` draws from the Bayesian logistic-regression posterior
(Rubin 1987; ``mice.impute.logreg``) instead of running statsmodels' chained ``MICEData``
(about 15 s for the case below). The figure is in the README (it used to be a wall-clock
assert in ``tests/test_missing.py``).

Usage::

    python benchmarks/bench_imputation.py                  # 1,200 rows, 20 imputations
    python benchmarks/bench_imputation.py --rows 100000 --imputations 50
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from iopoutcomes.missing import completed_datasets


def mar_frame(n: int, seed: int) -> pd.DataFrame:
    """A binary outcome missing at random on age (the frame of ``tests/test_missing.py``)."""
    rng = np.random.default_rng(seed)
    age = rng.normal(0, 1, n)
    group = rng.choice(["a", "b"], n)
    y = rng.random(n) < 1 / (1 + np.exp(-(0.9 * age + 0.4 * (group == "a"))))
    observed = rng.random(n) < 1 / (1 + np.exp(-(1.2 * age + 0.5)))
    return pd.DataFrame(
        {"y": pd.array(np.where(observed, y, np.nan)).astype("Float64"), "age": age, "group": group}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_200)
    parser.add_argument("--imputations", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    frame = mar_frame(args.rows, 7)
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        completed_datasets(
            frame, "y", "impute", covariates=("age", "group"), n_imputations=args.imputations
        )
        times.append(time.perf_counter() - start)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"completed_datasets(impute): {args.rows:,} rows, {args.imputations} imputations; "
        f"best {min(times):.3f} s, median {sorted(times)[len(times) // 2]:.3f} s "
        f"({args.repeat} runs, 1-minute load {load:.1f})"
    )


if __name__ == "__main__":
    main()
