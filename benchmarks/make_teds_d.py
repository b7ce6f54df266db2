"""Generate realistic TEDS-D-format discharge files (2017+ layout, integer codes).

Marginals come from the official codebook frequencies of one year (default 2019), read from
``../shared/reference/teds_d_codebook/TEDS-D-<year>-DS0001-info-codebook*.csv`` at generation
time (nothing is copied into the project). Every column is a permutation of an exact count
vector: for ``n`` rows the count of each code is the largest-remainder apportionment of the
codebook frequencies to ``n`` (so ``n`` = 1,722,503 reproduces the 2019 codebook exactly,
e.g. ``REASON == 1`` -> 725,929).

Dependence that matters for outcome work is induced by *rank coupling*, which keeps every
marginal exact: rows are sorted by a latent score and the codes (in a meaningful order) are
dealt out along that order.

* REASON depends on the discharge setting (completion propensity by SERVICES_D: highest for
  detox, lowest for outpatient), order completed > transferred > other > death > incarcerated >
  terminated > dropped out.
* LOS depends on the setting (log-days centred at about 3 days for hospital detox, 24 for
  short-term residential, 70 for long-term residential, 45 for IOP, 80 for OP) and is longer
  for completers.
* SERVICES (admission setting) mostly equals SERVICES_D.
* FREQ1_D depends on FREQ1 and completion; EMPLOY_D, LIVARAG_D and FREQ_ATND_SELF_HELP_D depend
  on their admission values. Missing (-9) discharge values are placed at random.

Usage::

    python benchmarks/make_teds_d.py --rows 1500000 --out /tmp/tedsd_1p5m.csv
    python benchmarks/make_teds_d.py --rows 15000000 --out /tmp/tedsd_15m.csv
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[1]
CODEBOOK_DIR = Path(
    os.environ.get("IOPOUTCOMES_SHARED", ROOT.parent / "shared"),
    "reference",
    "teds_d_codebook",
)

# log-days centre of the length of stay and completion propensity by discharge setting
_LOS_CENTRE = {1: 3, 2: 4, 3: 20, 4: 24, 5: 70, 6: 45, 7: 80, 8: 5}
_COMPLETION = {1: 1.3, 2: 1.0, 3: 0.5, 4: 0.6, 5: 0.0, 6: -0.3, 7: -0.4, 8: 0.2}
_REASON_ORDER = (1, 4, 7, 6, 5, 3, 2)  # best to worst outcome


def codebook_marginals(
    year: int = 2019, codebook_dir: Path = CODEBOOK_DIR
) -> dict[str, dict[int, int]]:
    """Code -> frequency per variable from the year's codebook table (integer codes only).

    Only 2017-2019 are accepted: the 2015 and 2016 transcriptions carry known errors (missing
    codes written as 9 instead of -9 in several fields, a 2016 LOS count of 7,101 for 17,101;
    see the codebook folder's README), which would silently corrupt the generated marginals.
    """
    if year not in (2017, 2018, 2019):
        raise ValueError(
            f"Codebook marginals are taken from the 2017-2019 tables only (got {year}): the "
            "2015-2016 transcriptions have known errors listed in the codebook README."
        )
    matches = sorted(codebook_dir.glob(f"TEDS-D-{year}-DS0001-info-codebook*.csv"))
    if not matches:
        raise FileNotFoundError(f"No codebook table for {year} in {codebook_dir}")
    table = pd.read_csv(matches[0], dtype=str)
    table = table.dropna(subset=["Value", "Frequency"])
    out: dict[str, dict[int, int]] = {}
    for row in table.itertuples(index=False):
        try:
            code = int(float(str(row.Value)))
            freq = int(str(row.Frequency).replace(",", ""))
        except ValueError:
            continue
        out.setdefault(str(row.code), {})[code] = freq
    return out


def apportion(freqs: Mapping[int, int], n: int) -> dict[int, int]:
    """Largest-remainder apportionment of ``freqs`` to ``n`` rows (exact when n = total).

    >>> apportion({1: 3, 2: 1}, 8)
    {1: 6, 2: 2}
    """
    keys = sorted(freqs)
    w = np.array([freqs[k] for k in keys], dtype=float)
    quota = w / w.sum() * n
    base = np.floor(quota).astype(np.int64)
    short = n - int(base.sum())
    order = np.argsort(-(quota - base), kind="stable")
    base[order[:short]] += 1
    return {k: int(v) for k, v in zip(keys, base, strict=True)}


def _exact(counts: Mapping[int, int], order: Sequence[int] | None = None) -> np.ndarray:
    keys = list(order) if order is not None else sorted(counts)
    return np.repeat(np.array(keys, dtype=np.int32), [counts.get(k, 0) for k in keys])


def _deal(latent: np.ndarray, counts: Mapping[int, int], order: Sequence[int]) -> np.ndarray:
    """Give the codes in ``order`` to rows by descending ``latent`` (exact counts)."""
    out = np.empty(len(latent), dtype=np.int32)
    out[np.argsort(-latent, kind="stable")] = _exact(counts, order)
    return out


def _deal_with_missing(
    rng: np.random.Generator, latent: np.ndarray, counts: Mapping[int, int], order: Sequence[int]
) -> np.ndarray:
    """As :func:`_deal`, but the ``-9`` count is placed at random first."""
    n = len(latent)
    n_miss = counts.get(-9, 0)
    out = np.full(n, -9, dtype=np.int32)
    rest = rng.permutation(n)[n_miss:]
    known = {k: v for k, v in counts.items() if k != -9}
    out[rest] = _deal(latent[rest], known, order)
    return out


def generate_teds_d(
    n_rows: int,
    *,
    marginals: Mapping[str, Mapping[int, int]] | None = None,
    year: int = 2019,
    seed: int = 0,
    variables: Sequence[str] | None = None,
    first_caseid: int = 1,
) -> pa.Table:
    """One TEDS-D-format table of ``n_rows`` discharges with exact apportioned marginals.

    Parameters
    ----------
    n_rows : int
        Number of discharge rows.
    marginals : mapping, optional
        Variable -> code -> frequency (default: the year's codebook, ``codebook_marginals``).
    year : int
        DISYR value and codebook year.
    seed : int
        Random seed.
    variables : sequence of str, optional
        Restrict the output to these variables (CASEID and DISYR are always included).
    first_caseid : int
        CASEIDs are ``year * 10**7 + first_caseid + i`` (unique within a file).
    """
    rng = np.random.default_rng(seed)
    m = dict(marginals if marginals is not None else codebook_marginals(year))
    names = [v for v in m if v not in ("CASEID", "DISYR")]
    if variables is not None:
        wanted = set(variables)
        names = [v for v in names if v in wanted]
    counts = {v: apportion(m[v], n_rows) for v in m if v not in ("CASEID", "DISYR")}
    cols: dict[str, np.ndarray] = {}
    cols["CASEID"] = year * 10**7 + first_caseid + rng.permutation(n_rows).astype(np.int64)
    cols["DISYR"] = np.full(n_rows, year, dtype=np.int32)

    setting = rng.permutation(_exact(counts["SERVICES_D"]))
    cols["SERVICES_D"] = setting
    noise = rng.random(n_rows)
    cols["SERVICES"] = _deal(
        -(setting + 0.9 * noise), counts["SERVICES"], sorted(counts["SERVICES"])
    )

    comp = np.array([_COMPLETION.get(int(s), 0.0) for s in range(9)])[np.clip(setting, 0, 8)]
    latent = comp + rng.logistic(size=n_rows)
    reason = _deal_with_missing(rng, latent, counts["REASON"], _REASON_ORDER)
    cols["REASON"] = reason
    completed = (reason == 1).astype(float)

    centre = np.log(np.array([_LOS_CENTRE.get(s, 30) for s in range(9)], dtype=float))
    los_latent = centre[np.clip(setting, 0, 8)] + 0.4 * completed + rng.normal(0, 1.1, n_rows)
    cols["LOS"] = _deal_with_missing(rng, -los_latent, counts["LOS"], list(range(1, 38)))

    freq1 = rng.permutation(_exact(counts["FREQ1"]))
    cols["FREQ1"] = freq1
    f1 = np.where(freq1 > 0, freq1, 2).astype(float)
    cols["FREQ1_D"] = _deal_with_missing(
        rng, -0.8 * f1 + 1.5 * completed + rng.normal(0, 1, n_rows), counts["FREQ1_D"], [1, 2, 3]
    )
    for adm, dis in (
        ("EMPLOY", "EMPLOY_D"),
        ("LIVARAG", "LIVARAG_D"),
        ("FREQ_ATND_SELF_HELP", "FREQ_ATND_SELF_HELP_D"),
    ):
        a = rng.permutation(_exact(counts[adm]))
        cols[adm] = a
        base = np.where(a > 0, a, np.mean([k for k in counts[dis] if k > 0])).astype(float)
        order = sorted(k for k in counts[dis] if k > 0)
        cols[dis] = _deal_with_missing(
            rng, -(base + rng.normal(0, 0.8, n_rows)), counts[dis], order
        )

    for v in names:
        if v not in cols:
            cols[v] = rng.permutation(_exact(counts[v]))
    ordered = ["CASEID", "DISYR", *[v for v in m if v in cols and v not in ("CASEID", "DISYR")]]
    if variables is not None:
        ordered = [v for v in ordered if v in ("CASEID", "DISYR") or v in set(variables)]
    arrays = [pa.array(cols[v], type=pa.int64() if v == "CASEID" else pa.int32()) for v in ordered]
    return pa.table(arrays, names=ordered)


def write_teds_d(
    path: str | Path,
    n_rows: int,
    *,
    year: int = 2019,
    seed: int = 0,
    chunk_rows: int = 1_500_000,
    variables: Sequence[str] | None = None,
    fmt: str = "csv",
    first_caseid: int = 1,
) -> Path:
    """Write ``n_rows`` generated discharges to CSV (or Parquet), in chunks of ``chunk_rows``.

    Each chunk has exact apportioned marginals for its own size (so the whole file matches the
    codebook proportions to within one row per chunk and code).
    """
    path = Path(path)
    marginals = codebook_marginals(year)
    writer: pacsv.CSVWriter | None = None
    pq_writer = None
    done = 0
    chunk = 0
    while done < n_rows:
        size = min(chunk_rows, n_rows - done)
        table = generate_teds_d(
            size,
            marginals=marginals,
            year=year,
            seed=seed + chunk,
            variables=variables,
            first_caseid=first_caseid + done,
        )
        if fmt == "parquet":
            import pyarrow.parquet as pq

            if pq_writer is None:
                pq_writer = pq.ParquetWriter(path, table.schema)
            pq_writer.write_table(table)
        else:
            if writer is None:
                writer = pacsv.CSVWriter(path, table.schema)
            writer.write_table(table)
        done += size
        chunk += 1
    if writer is not None:
        writer.close()
    if pq_writer is not None:
        pq_writer.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_500_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--year", type=int, default=2019)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    args = parser.parse_args()
    start = time.perf_counter()
    write_teds_d(args.out, args.rows, year=args.year, seed=args.seed, fmt=args.format)
    size = args.out.stat().st_size / 1e6
    print(
        f"wrote {args.rows} rows to {args.out} ({size:.0f} MB) in {time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":
    main()
