"""Benchmark: continuity of care and initiation/engagement on 1,000,000 service rows (issue 17).

Builds a random services table of ``--patients`` patients, each with ``--stays`` residential or
inpatient stays (100,000 index discharges by default) and ``--visits`` other service rows
(outpatient, IOP, PHP, telehealth, peer support, pharmacotherapy, detox, ED, assessment,
hospice, other) at random days, so 1,000,000 rows in all; 2% of patients die at a random day.
Times

* ``continuity_of_care`` under ``cbe3453`` and ``hedis_fui`` (best of ``--repeat``),
* ``initiation_engagement`` under ``hedis_iet``,

and, unless ``--no-check``, compares every row of the engine's output with the plainly written
per-discharge loop of ``tests/test_continuity.py`` (the same loop the test runs on about 3,000
discharges) on all 100,000 discharges.

Usage::

    python benchmarks/bench_continuity.py                  # 50,000 patients, 1,000,000 rows
    python benchmarks/bench_continuity.py --patients 5000  # quick run
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

import iopoutcomes as iop

TYPES = np.array(
    [
        "outpatient",
        "iop",
        "php",
        "telehealth",
        "peer_support",
        "pharmacotherapy",
        "detox",
        "ed",
        "assessment",
        "hospice",
        "other",
    ]
)
WEIGHTS = np.array([30, 20, 5, 10, 5, 15, 3, 3, 5, 0.2, 3.8])
MEDS = np.array(["buprenorphine", "naltrexone_er", "naltrexone_oral", "methadone"])


def make_services(
    patients: int, stays: int, visits: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A random services table (vectorised) and an episodes table holding the deaths."""
    rng = np.random.default_rng(seed)
    base = np.datetime64("2022-01-01", "D")
    pid = np.repeat(np.arange(patients), stays)
    length = rng.integers(0, 25, pid.size)
    gap = rng.choice([0, 1, 2, 3, 5, 10, 20, 40, 90, 180], size=pid.size)
    start0 = rng.integers(0, 200, patients)
    # consecutive stays per patient: admission = previous discharge + gap
    span = (length + gap).reshape(patients, stays)
    offsets = np.concatenate([np.zeros((patients, 1), int), np.cumsum(span, axis=1)[:, :-1]], 1)
    adm = start0[:, None] + offsets
    adm = adm.reshape(-1)
    stay_type = rng.choice(
        ["residential", "inpatient", "detox"], size=pid.size, p=[0.5, 0.45, 0.05]
    )
    sud = rng.choice(
        ["principal", "secondary", "none", ""], size=pid.size, p=[0.6, 0.25, 0.05, 0.1]
    )
    last = adm.reshape(patients, stays)[:, -1] + 60
    vp = np.repeat(np.arange(patients), visits)
    vday = (rng.random(vp.size) * last[vp]).astype(np.int64)
    vtype = rng.choice(TYPES, size=vp.size, p=WEIGHTS / WEIGHTS.sum())
    vsud = rng.choice(["principal", "none", ""], size=vp.size, p=[0.75, 0.05, 0.2])
    med = np.where(vtype == "pharmacotherapy", rng.choice(MEDS, size=vp.size), "")
    provider = rng.choice(["a", "b", "c"], size=vp.size)
    frame = pd.DataFrame(
        {
            "patient_id": np.concatenate([pid, vp]).astype(str),
            "service_type": np.concatenate([stay_type, vtype]),
            "service_date": base + np.concatenate([adm, vday]).astype("timedelta64[D]"),
            "end_date": np.concatenate(
                [
                    base + (adm + length).astype("timedelta64[D]"),
                    np.full(vp.size, np.datetime64("NaT")),
                ]
            ),
            "sud_diagnosis": np.concatenate([sud, vsud]),
            "provider_id": np.concatenate([np.full(pid.size, "a"), provider]),
            "medication": np.concatenate([np.full(pid.size, ""), med]),
        }
    )
    for c in ("patient_id", "service_type", "sud_diagnosis", "provider_id", "medication"):
        frame[c] = frame[c].astype("string").replace("", pd.NA)
    frame["service_date"] = frame["service_date"].astype("datetime64[ns]")
    frame["end_date"] = frame["end_date"].astype("datetime64[ns]")
    dead = np.flatnonzero(rng.random(patients) < 0.02)
    episodes = pd.DataFrame(
        {
            "patient_id": dead.astype(str),
            "episode_id": [f"e{p}" for p in dead],
            "cohort": "IOP",
            "admission_date": pd.Timestamp("2021-06-01"),
            "death_date": (
                base + (rng.random(dead.size) * last[dead]).astype("timedelta64[D]")
            ).astype("datetime64[ns]"),
        }
    )
    episodes["patient_id"] = episodes["patient_id"].astype("string")
    return frame, episodes


def best_of(repeat: int, fn):  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times)), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=50_000)
    ap.add_argument("--stays", type=int, default=2)
    ap.add_argument("--visits", type=int, default=18)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--no-check", action="store_true", help="skip the plain-loop comparison")
    args = ap.parse_args()
    t0 = time.perf_counter()
    services, episodes = make_services(args.patients, args.stays, args.visits, args.seed)
    print(f"services: {len(services):,} rows ({time.perf_counter() - t0:.1f} s to generate)")
    recs = SimpleNamespace(episodes=episodes, services=services, data_as_of=None)
    results = {}
    for name in ("cbe3453", "hedis_fui"):
        best, median, res = best_of(
            args.repeat, lambda name=name: iop.continuity_of_care(recs, definition=name)
        )
        results[name] = res
        inc = res.included
        rates = ", ".join(f"{c} {inc[c].astype(float).mean():.1%}" for c in res.outcomes)
        print(
            f"continuity_of_care({name}): {len(res.discharges):,} index discharges "
            f"({int(res.discharges['excluded'].sum()):,} excluded; {rates}): best {best:.2f} s, "
            f"median {median:.2f} s"
        )
    best, median, iet = best_of(args.repeat, lambda: iop.initiation_engagement(recs))
    e = iet.episodes
    print(
        f"initiation_engagement(hedis_iet): {len(e):,} new episodes (initiated "
        f"{e['initiated'].mean():.1%}, engaged {e['engaged'].mean():.1%}): best {best:.2f} s, "
        f"median {median:.2f} s"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"peak resident memory {peak:.2f} GB")
    if args.no_check:
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_continuity import plain_continuity

    for name, res in results.items():
        t0 = time.perf_counter()
        expected = plain_continuity(services, episodes, name)
        loop = time.perf_counter() - t0
        got = sorted(
            (
                str(p),
                r.discharge_date,
                str(r.index_type),
                None if pd.isna(r.days_to_follow_up) else int(r.days_to_follow_up),
                None if pd.isna(r.exclusion_reason) else str(r.exclusion_reason),
                *(
                    None if pd.isna(v) else bool(v)
                    for v in (getattr(r, f"followed_within_{w}") for w in res.definition.within)
                ),
            )
            for p, r in zip(res.patient_ids, res.discharges.itertuples(), strict=True)
        )
        got.sort(key=lambda r: (r[0], r[1]))
        same = got == expected
        print(
            f"plain per-discharge loop ({name}): {len(expected):,} discharges in {loop:.0f} s; "
            f"engine agrees on every row: {same}"
        )
        if not same:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
