"""Matching rows to episodes: follow-ups and calendar days by ``episode_id``, calendar days by
``patient_id`` and date; duplicate ids and duplicate (episode, timepoint) pairs; day numbers.

Positions are rows of the accepted episodes table (``-1``: no episode). Short ids (up to 8
bytes, the usual case) are packed into 8-byte integers and matched in cache-sized
partitions; longer ids are matched as text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._columns import DATE, isnull, text_series

_DAY_NS = 86_400_000_000_000
_NAT = np.iinfo(np.int64).min
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: top bits spread any key set


def id_keys(arr: pa.Array | pa.ChunkedArray, width: int = 8) -> np.ndarray | None:
    """Each id packed into one ``uint64`` (``None`` when some id does not fit 8 bytes).

    Ids are right-padded with spaces to 8 bytes, so two ids share a key only when one ends in
    spaces (``None`` then: trimmed ids never do, a value mapped with ``codes=`` may). Missing
    ids get the key of eight spaces: mask them separately.
    """
    if len(arr) == 0:
        return np.zeros(0, dtype=np.uint64)
    filled = pc.fill_null(arr, "")
    if pc.max(pc.binary_length(filled)).as_py() > width:
        return None
    if pc.any(pc.ends_with(filled, " ")).as_py():
        return None
    # ascii_rpad counts bytes, so any UTF-8 id of up to 8 bytes becomes exactly 8 bytes
    fixed = pc.cast(pc.ascii_rpad(filled, width=width, padding=" "), pa.binary(width))
    chunks = fixed.chunks if isinstance(fixed, pa.ChunkedArray) else [fixed]
    parts = [
        np.frombuffer(c.buffers()[1], dtype=np.uint64, count=len(c), offset=c.offset * width)
        for c in chunks
        if len(c)
    ]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


def n_parts(n_table: int) -> int:
    """How many partitions :func:`match_keys` splits a table of ``n_table`` keys into (about
    8,192 keys each: one partition's hash table stays in the CPU caches)."""
    parts = 1
    while parts < 1024 and n_table // parts > 8192:
        parts *= 2
    return parts


def _partition(keys: np.ndarray, parts: int) -> tuple[np.ndarray, np.ndarray]:
    """(row order grouping ``keys`` by partition, start of each partition in that order)."""
    shift = np.uint64(64 - (parts.bit_length() - 1))
    with np.errstate(over="ignore"):  # the multiplication is meant to wrap
        part = ((keys * _GOLDEN) >> shift).astype(np.uint16)
    order = np.argsort(part, kind="stable")  # a radix sort of small integers
    start = np.concatenate(([0], np.cumsum(np.bincount(part, minlength=parts))))
    return order, start


def match_keys(probe: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Position of each ``probe`` key in ``table`` (distinct ``uint64`` keys; -1 when absent).

    One hash table of a million keys is far bigger than the CPU caches and every probe would
    miss them, so both sides are split alike into partitions by the top bits of a
    multiplicative hash and each partition is matched on its own.
    """
    parts = n_parts(len(table))
    if parts == 1:
        found = pc.index_in(pa.array(probe), value_set=pa.array(table))
        return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), np.int64)
    p_order, p_start = _partition(probe, parts)
    t_order, t_start = _partition(table, parts)
    p_sorted, t_sorted = probe[p_order], table[t_order]
    out = np.full(len(probe), -1, dtype=np.int64)
    for k in range(parts):
        p_lo, p_hi = p_start[k], p_start[k + 1]
        t_lo, t_hi = t_start[k], t_start[k + 1]
        if p_lo == p_hi or t_lo == t_hi:
            continue
        found = pc.index_in(pa.array(p_sorted[p_lo:p_hi]), value_set=pa.array(t_sorted[t_lo:t_hi]))
        pos = np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), np.int64)
        hit = pos >= 0
        rows = p_order[p_lo:p_hi]
        out[rows[hit]] = t_order[t_lo + pos[hit]]
    return out


def episode_position(
    ids: pa.Array | pa.ChunkedArray, episode_ids: pa.Array | pa.ChunkedArray
) -> np.ndarray:
    """Row of each id among the (distinct) accepted ``episode_ids``; -1 when absent or missing."""
    if isinstance(episode_ids, pa.ChunkedArray):
        episode_ids = episode_ids.combine_chunks()
    episode_ids = episode_ids.cast(ids.type)
    if n_parts(len(episode_ids)) == 1:  # a small table: one cache-sized hash of the text
        found = pc.index_in(ids, value_set=episode_ids)
        return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), np.int64)
    probe_keys = id_keys(ids)
    table_keys = id_keys(episode_ids) if probe_keys is not None else None
    if probe_keys is None or table_keys is None:  # long ids: matched as text
        found = pc.index_in(ids, value_set=episode_ids)
        return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), np.int64)
    out = match_keys(probe_keys, table_keys)
    out[isnull(ids)] = -1  # a missing id (key: eight spaces) is never an episode
    return out


def duplicated(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """True for every non-null value that occurs more than once."""
    present = ~isnull(arr)
    keys = id_keys(arr)
    values = pd.Series(keys, copy=False) if keys is not None else text_series(arr)
    return np.asarray(values.duplicated(keep=False).to_numpy(), dtype=bool) & present


def duplicated_pairs(group: np.ndarray, item: np.ndarray, n_items: int) -> np.ndarray:
    """True where a (group, item) pair of non-negative codes occurs more than once."""
    known = (group >= 0) & (item >= 0)
    if not known.any():
        return np.zeros(len(group), dtype=bool)
    key = group.astype(np.int64) * max(n_items, 1) + item
    key = np.where(known, key, -1)
    size = int(key.max()) + 1
    if size <= 4 * len(key) + 1_000_000:  # a count per possible pair: one pass
        counts = np.bincount(key[known], minlength=size)
        return known & (counts[np.maximum(key, 0)] > 1)
    return known & pd.Series(key, copy=False).duplicated(keep=False).to_numpy()


def days_after(
    later: pd.Series, admission: pd.Series, position: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(whole days from the admission of episode ``position`` to ``later``, missing mask).

    Dates are midnights, so the day count is negative exactly when ``later`` is earlier.
    """
    end = later.to_numpy(dtype=DATE).view(np.int64)
    admitted = admission.to_numpy(dtype=DATE).view(np.int64)
    if len(admitted) == 0:
        return np.zeros(len(end), dtype=np.int64), np.ones(len(end), dtype=bool)
    start = admitted.take(position, mode="clip")
    missing = (position < 0) | (end == _NAT) | (start == _NAT)
    days = np.where(missing, 0, end - start) // _DAY_NS
    return days, missing


def resolve_patient_days(
    patient: pa.Array | pa.ChunkedArray, date: pd.Series, episodes: pd.DataFrame
) -> np.ndarray:
    """Row of the patient's episode with the latest admission on or before each date (-1: none).

    Among episodes of one patient admitted the same day, the later row wins.
    """
    n = len(patient)
    position = np.full(n, -1, dtype=np.int64)
    if len(episodes) == 0:
        return position
    ep_patient = pa.array(episodes["patient_id"].astype("string").array)
    ep_patient = ep_patient.cast(patient.type)
    people = pc.unique(ep_patient)
    ep_code = np.asarray(pc.index_in(ep_patient, value_set=people).to_numpy(), dtype=np.int64)
    row_code = np.asarray(
        pc.fill_null(pc.index_in(patient, value_set=people), -1).to_numpy(zero_copy_only=False),
        dtype=np.int64,
    )
    day = date.to_numpy(dtype=DATE).view(np.int64)
    admitted = episodes["admission_date"].to_numpy(dtype=DATE).view(np.int64)
    known = (row_code >= 0) & (day != _NAT)
    if len(people) == len(ep_code):  # one episode per patient (the usual case): no search
        row = np.full(len(people), -1, dtype=np.int64)
        row[ep_code] = np.arange(len(ep_code))
        candidate = row[np.maximum(row_code, 0)]
    else:  # the latest admission on or before the date, per patient: one sorted search
        # (patient code, day) as one integer: days since 1970 fit 32 bits with an offset
        offset = np.int64(2**31)
        ep_key = (ep_code << 32) + admitted // _DAY_NS + offset
        order = np.argsort(ep_key, kind="stable")  # equal keys keep row order
        row_day = np.where(day == _NAT, 0, day // _DAY_NS)
        probe = (np.maximum(row_code, 0) << 32) + row_day + offset
        at = np.searchsorted(ep_key[order], probe, side="right") - 1
        candidate = order[np.maximum(at, 0)]
        known &= (at >= 0) & (ep_code[candidate] == row_code)
    ok = known & (admitted[candidate] <= day)
    position[ok] = candidate[ok]
    return position
