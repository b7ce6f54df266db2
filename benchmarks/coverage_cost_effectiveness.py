"""Coverage of the cost-effectiveness intervals on simulated programs with known truth (issue 19).

Each replicate simulates a program with ``simulate_records(n, seed, costs=True)``, computes
``episode_outcomes`` and ``cost_effectiveness`` (abstinent at 6 months, missing = using, 2,000
stratified bootstrap replicates), and records whether the percentile and BCa intervals of the
cost difference and of the effect difference cover the truth:

* cost difference: exact, ``truth.costs`` (-5,530 USD: the expected cost per episode of the
  generating model, IOP minus inpatient);
* effect difference: the estimand of the effect under missing = using is the difference in the
  share of episodes *observed* abstinent (a missing outcome counts as not abstinent), which has
  no closed form in the simulation; it is estimated once from one large simulated program
  (``--truth-n`` episodes, default 100,000, its own seed), whose Monte Carlo standard error is
  printed (about 0.003, under a tenth of a replicate's standard error).

Every program is observed until ``DATA_AS_OF`` (18 months after the last admission), so every
episode's 6-month follow-up is due and the analysed episodes are all episodes: with an earlier
data-as-of date the episodes whose follow-up is due are those with shorter stays, hence lower
costs, and the cost truth would be that of a selected population.

Target: coverage of the 95% intervals between 93% and 97% over at least 500 replicates.

Usage::

    python benchmarks/coverage_cost_effectiveness.py                 # 500 x 600 episodes
    python benchmarks/coverage_cost_effectiveness.py --replicates 20 # smoke run
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

import iopoutcomes as iop

DATA_AS_OF = "2027-12-31"  # admissions 2024-01-01 .. 2026-06-30 (10 quarters)


def effect_truth(n: int, seed: int) -> tuple[float, float]:
    """Difference in the share observed abstinent at 6 months (missing = using), one big run."""
    out = iop.episode_outcomes(
        iop.simulate_records(n=n, seed=seed, costs=True, data_as_of=DATA_AS_OF)
    )
    cmp = iop.compare_rates(out, missing="using", sensitivity=False).to_frame().iloc[0]
    p1, p0 = cmp["rate"], cmp["rate_ref"]
    se = math.sqrt(p1 * (1 - p1) / cmp["n"] + p0 * (1 - p0) / cmp["n_ref"])
    return float(cmp["diff"]), se


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=500)
    parser.add_argument("--episodes", type=int, default=600)
    parser.add_argument("--n-boot", type=int, default=2000)
    parser.add_argument("--truth-n", type=int, default=100_000)
    parser.add_argument("--first-seed", type=int, default=5000)
    args = parser.parse_args()

    t_start = time.perf_counter()
    true_de, se_de = effect_truth(args.truth_n, seed=99)
    print(
        f"effect truth (difference observed abstinent, using): {true_de:.4f} "
        f"(Monte Carlo SE {se_de:.4f}, {args.truth_n:,} episodes)",
        flush=True,
    )
    hits: dict[str, list[bool]] = {
        k: [] for k in ("cost_perc", "cost_bca", "effect_perc", "effect_bca")
    }
    true_dc = math.nan
    est_dc, est_de = [], []
    for r in range(args.replicates):
        seed = args.first_seed + r
        rec = iop.simulate_records(n=args.episodes, seed=seed, costs=True, data_as_of=DATA_AS_OF)
        true_dc = float(rec.truth.costs.set_index("cohort").loc["difference", "mean_cost"])
        ce = iop.cost_effectiveness(
            iop.episode_outcomes(rec), missing="using", n_boot=args.n_boot, seed=seed
        )
        iv = ce.intervals.set_index(["statistic", "interval"])
        for stat, truth, key in (("diff_cost", true_dc, "cost"), ("diff", true_de, "effect")):
            for kind, short in (("percentile", "perc"), ("bca", "bca")):
                lo, hi = iv.loc[(stat, kind), ["ci_low", "ci_high"]]
                hits[f"{key}_{short}"].append(bool(lo <= truth <= hi))
        est_dc.append(float(ce.table["diff_cost"].iloc[0]))
        est_de.append(float(ce.table["diff"].iloc[0]))
        if (r + 1) % 50 == 0:
            print(f"{r + 1} replicates, {time.perf_counter() - t_start:.0f} s", flush=True)
    n = len(est_dc)
    print(f"\n{n} replicates of {args.episodes} episodes, {args.n_boot} bootstrap replicates")
    print(f"cost difference: truth {true_dc:.0f}, mean estimate {np.mean(est_dc):.1f}")
    print(f"effect difference: truth {true_de:.4f}, mean estimate {np.mean(est_de):.4f}")
    for key, h in hits.items():
        cov = float(np.mean(h))
        mcse = math.sqrt(cov * (1 - cov) / n)
        verdict = "met" if 0.93 <= cov <= 0.97 else "NOT met"
        print(
            f"  {key:12s} coverage {100 * cov:.1f}% ({sum(h)}/{n}; MC SE {100 * mcse:.1f}) {verdict}"
        )
    print(f"total {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
