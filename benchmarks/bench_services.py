"""Benchmark: reading a services table of 1,000,000 rows, ``read_records`` versus pandas.

Writes a canonical services CSV (vectorised numpy: 100,000 people, ten rows each: stays with
end dates, visits, dispensings with a medication, EHR wordings such as "Intensive Outpatient"
in a tenth of the rows so the wording match runs) and an episodes CSV, then times in this
process, interleaved, pandas' pyarrow-engine ``read_csv`` of the services file and
``read_records(episodes, services=...)`` (which reads, hashes, types, matches the vocabularies
and checks every row). Best and median of ``--repeat`` runs are printed.

Target (issue 17): 1,000,000 service rows for 100,000 discharges read in seconds, linear in
rows. Figures: see the README's Performance table.

Usage::

    python benchmarks/bench_services.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from iopoutcomes import read_records

TYPES = np.array(
    ["iop", "outpatient", "pharmacotherapy", "telehealth", "residential", "inpatient", "ed",
     "Intensive Outpatient", "Residential Tx", "MAT - Buprenorphine"],
    dtype=object,
)  # fmt: skip


def write_files(folder: Path, rows: int, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    people = max(rows // 10, 1)
    patient = np.char.add("P", np.arange(people).astype(str))
    episodes = pd.DataFrame(
        {
            "patient_id": patient[: min(people, 1000)],
            "episode_id": np.char.add("E", np.arange(min(people, 1000)).astype(str)),
            "cohort": "inpatient",
            "admission_date": "2024-01-02",
        }
    )
    day = np.datetime64("2024-01-01") + rng.integers(0, 700, rows)
    kind = TYPES[
        rng.choice(len(TYPES), rows, p=[0.2, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.04, 0.03, 0.03])
    ]
    stay = np.isin(kind, ["residential", "inpatient", "Residential Tx"])
    end = np.where(stay, (day + rng.integers(3, 29, rows)).astype(str), "")
    medication = np.where(kind == "pharmacotherapy", "buprenorphine", "")
    services = pd.DataFrame(
        {
            "patient_id": patient[rng.integers(0, people, rows)],
            "service_date": day.astype(str),
            "service_type": kind,
            "end_date": end,
            "sud_diagnosis": "principal",
            "provider_id": np.char.add("PR", rng.integers(0, 400, rows).astype(str)),
            "medication": medication,
        }
    )
    paths = folder / "episodes.csv", folder / "services.csv"
    episodes.to_csv(paths[0], index=False)
    services.to_csv(paths[1], index=False)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        episodes, services = write_files(Path(tmp), args.rows)
        size = services.stat().st_size / 1e6
        times: dict[str, list[float]] = {"pandas read_csv (pyarrow)": [], "read_records": []}
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            pd.read_csv(services, engine="pyarrow", dtype_backend="pyarrow")
            times["pandas read_csv (pyarrow)"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            recs = read_records(episodes, services=services)
            times["read_records"].append(time.perf_counter() - t0)
        assert len(recs.services) + int((recs.rejected["table"] == "services").sum()) == args.rows
        print(f"{args.rows:,} service rows ({size:.0f} MB CSV), {args.repeat} runs")
        for name, values in times.items():
            print(
                f"  {name:28s} best {min(values):6.2f} s  median {statistics.median(values):6.2f} s"
            )
        ratio = min(times["read_records"]) / min(times["pandas read_csv (pyarrow)"])
        print(f"  read_records / pandas (best): {ratio:.1f}x")


if __name__ == "__main__":
    main()
