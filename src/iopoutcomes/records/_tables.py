"""Validating each canonical table: type its columns, check its rows, match them to episodes.

One function per table takes the raw source (renamed to canonical column names) and returns
the typed table with every source row still in it, plus its :class:`~._rejections.Rejections`;
:func:`~._read.read_records` drops the rejected rows. A further table follows the same
pattern: required columns, :func:`type_columns`, the table's own checks, the match to the
accepted episodes, :func:`~._columns.assemble`.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..exceptions import FileReadError, MissingColumnError, ParameterError, SchemaError
from ..schema import SERVICE_TYPES, TABLES, TableSpec
from ._columns import (
    Options,
    as_text,
    assemble,
    check_extra,
    flat_codes,
    isnull,
    missing_column,
    text_series,
    trimmed,
    type_column,
    type_level_of_care,
)
from ._files import RawTable, describe_columns
from ._matching import (
    days_after,
    duplicated,
    duplicated_pairs,
    episode_position,
    resolve_patient_days,
)
from ._rejections import Problem, Rejections

_T = TypeVar("_T")
_R = TypeVar("_R")
_PARALLEL_ROWS = 100_000  # below this, threads cost more than they save

COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3
"""pandas 3 copies on write: a Series shared by several columns is copied before a write."""


@dataclass
class Source:
    """One table as read, with its columns renamed to canonical names."""

    raw: RawTable
    frame: pd.DataFrame
    renamed: dict[str, str]  # source column name -> column name in ``frame``

    @property
    def name(self) -> str:
        return self.raw.source


def rename(raw: RawTable, table: str, mapping: dict[str, str]) -> Source:
    """Apply ``columns=`` (source name -> canonical name) to a raw table."""
    columns = [str(c).strip() for c in raw.frame.columns]
    renamed = [str(mapping.get(c, c)) for c in columns]
    doubled = sorted({n for n in renamed if renamed.count(n) > 1})
    if doubled:
        described = describe_columns(columns)
        if not described.startswith("Found"):  # a header-less file: the "names" are values
            raise MissingColumnError(
                f"The {table} table ({raw.source}) has repeated column names, and {described}."
            )
        raise SchemaError(
            f"The {table} table ({raw.source}) has column(s) {doubled} more than once after "
            "applying columns=. Each canonical column must come from exactly one source column."
        )
    frame = raw.frame.copy(deep=False)
    frame.columns = pd.Index(renamed, dtype=object)
    names = dict(zip((str(c) for c in raw.frame.columns), renamed, strict=True))
    return Source(raw, frame, names)


def require(frame: pd.DataFrame, table: str, source: str, needed: Sequence[str]) -> None:
    """Raise :class:`~iopoutcomes.MissingColumnError` naming the required columns not found."""
    missing = [c for c in needed if c not in frame.columns]
    if not missing:
        return
    found = [str(c) for c in frame.columns]
    described = describe_columns(found)
    if described.startswith("Found"):
        hints = []
        for col in missing:
            close = difflib.get_close_matches(col, found, n=1, cutoff=0.5)
            hints.append(f"{close[0] if close else '<source name>'!r}: {col!r}")
        fix = f"Map source names to canonical ones with read_records(..., columns={{{', '.join(hints)}}})."
    else:
        fix = "Map source names to canonical ones with read_records(..., columns={...})."
    raise MissingColumnError(
        f"The {table} table ({source}) is missing required column(s) {missing}. "
        f"{described[0].upper()}{described[1:]}. {fix}"
    )


def parallel_map(func: Callable[[_T], _R], items: Iterable[_T], rows: int) -> list[_R]:
    """``map`` on a thread pool for large tables (pyarrow, numpy and pandas release the GIL in
    the heavy parts), plain ``map`` for small ones; results in the order of ``items``."""
    if rows < _PARALLEL_ROWS:
        return list(map(func, items))
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return list(pool.map(func, items))


def _call(job: Callable[[], _R]) -> _R:
    return job()


def type_columns(
    source: Source, spec: TableSpec, options: Options, rej: Rejections, skip: Sequence[str] = ()
) -> dict[str, Any]:
    """Type every canonical column of ``spec`` (absent ones all missing, ``skip`` left out) and
    check the source's other columns; record the problems in ``rej`` in column order."""
    frame = source.frame
    n = len(frame)
    for problem in source.raw.cell_problems:  # Excel cells read as empty, in source names
        rej.add(problem.reason, source.renamed.get(problem.column, problem.column), problem.rows)
    present = [c for c in spec.columns if c.name not in skip and c.name in frame.columns]
    jobs = [(c, frame[c.name]) for c in present]
    results = parallel_map(lambda job: type_column(job[1], job[0], n, options), jobs, n)
    typed: dict[str, Any] = {}
    for col, (value, problems) in zip(present, results, strict=True):
        typed[col.name] = value
        rej.extend(problems)
    # absent columns: all missing, one array per kind shared by its columns (Arrow arrays are
    # immutable, and pandas 3 copies a shallow-copied Series before the first write to it);
    # pandas 2 writes through shared data, so there each column gets its own array
    absent: dict[str, Any] = {}
    for col in spec.columns:
        if col.name not in skip and col.name not in frame.columns:
            if col.kind not in absent or not COPY_ON_WRITE:
                absent[col.kind] = missing_column(col.kind, n)
            shared = absent[col.kind]
            typed[col.name] = shared.copy(deep=False) if isinstance(shared, pd.Series) else shared
    extras = [str(c) for c in frame.columns if c not in spec.names]
    for problems in parallel_map(lambda name: check_extra(frame[name], name), extras, n):
        rej.extend(problems)
    return typed


# --- episodes ----------------------------------------------------------------------------------


def validate_episodes(source: Source, options: Options) -> tuple[pd.DataFrame, Rejections]:
    """Typed episodes (every source row) and their rejections."""
    spec = TABLES["episodes"]
    frame = source.frame
    require(frame, "episodes", source.name, spec.required)
    rej = Rejections("episodes", source.name, len(frame))
    typed = type_columns(source, spec, options, rej, skip=("level_of_care",))
    for problem in type_level_of_care(frame, typed, options.codes):
        rej.add(problem.reason, problem.column, problem.rows)
    admission, discharge = typed["admission_date"], typed["discharge_date"]
    position = np.arange(len(frame))
    days, no_days = days_after(discharge, admission, position)
    rej.add("discharge_before_admission", "discharge_date", (days < 0) & ~no_days)
    died, no_death = days_after(typed["death_date"], admission, position)
    rej.add("death_before_admission", "death_date", (died < 0) & ~no_death)
    rej.add("duplicate_episode_id", "episode_id", duplicated(typed["episode_id"]))
    typed["discharge_day"] = pd.Series(pd.arrays.IntegerArray(days, no_days))
    return assemble(typed, frame, spec, options.codes), rej


# --- follow-ups -------------------------------------------------------------------------------


def validate_followups(
    source: Source, options: Options, episodes: pd.DataFrame, timepoints: Sequence[str]
) -> tuple[pd.DataFrame, Rejections]:
    """Typed follow-ups (every source row) and their rejections; ``episodes``: the accepted."""
    spec = TABLES["followups"]
    frame = source.frame
    require(frame, "followups", source.name, spec.required)
    n = len(frame)
    rej = Rejections("followups", source.name, n)
    episode_ids = pa.array(episodes["episode_id"].astype("string").array)

    def ids() -> tuple[Any, list[Problem], np.ndarray]:
        """The typed ids, their problems and each one's row among the accepted episodes."""
        value, problems = type_column(frame["episode_id"], spec.column("episode_id"), n, options)
        return value, problems, episode_position(value, episode_ids)

    def others() -> tuple[dict[str, Any], Rejections]:
        found = Rejections("followups", source.name, n)
        skip = ("episode_id", "assessment_day")
        return type_columns(source, spec, options, found, skip=skip), found

    # the ids are typed and matched while the other columns are typed
    jobs: list[Callable[[], Any]] = [ids, others]
    (id_typed, id_problems, position), (typed, found) = parallel_map(_call, jobs, n)
    rej.extend(id_problems)  # the first column: its problems come first
    rej.extend(found.problems)
    typed["episode_id"] = id_typed
    status = typed["status"]
    assessed = typed["assessment_date"]
    not_completed = ~isnull(status) & ~np.asarray(
        pc.fill_null(pc.equal(status, "completed"), True).to_numpy(zero_copy_only=False), bool
    )
    rej.add(
        "assessment_date_without_completion",
        "assessment_date",
        not_completed & assessed.notna().to_numpy(),
    )
    rej.add("unknown_episode", "episode_id", ~isnull(id_typed) & (position < 0))
    # unknown episodes and timepoints are rejected before duplicates: only known pairs count
    tp_code = flat_codes(
        pc.index_in(typed["timepoint"], value_set=pa.array(list(timepoints), pa.large_string()))
    )
    rej.add("duplicate_followup", "timepoint", duplicated_pairs(position, tp_code, len(timepoints)))
    days, no_days = days_after(assessed, episodes["admission_date"], position)
    rej.add("assessment_before_admission", "assessment_date", (days < 0) & ~no_days)
    typed["assessment_day"] = pd.Series(pd.arrays.IntegerArray(days, no_days))
    return assemble(typed, frame, spec, options.codes), rej


# --- daily use calendar -----------------------------------------------------------------------


def validate_use_days(
    source: Source, options: Options, episodes: pd.DataFrame
) -> tuple[pd.DataFrame, Rejections]:
    """Typed use days (every source row) and their rejections; rows given by ``patient_id``
    and ``date`` get the patient's episode with the latest admission on or before the date."""
    spec = TABLES["use_days"]
    frame = source.frame
    columns = [str(c) for c in frame.columns]
    require(frame, "use_days", source.name, ("used",))
    has_episode = "episode_id" in frame.columns
    if not has_episode and "patient_id" not in frame.columns:
        require(frame, "use_days", source.name, ("episode_id",))
    if "date" not in frame.columns and "day" not in frame.columns:
        require(frame, "use_days", source.name, ("date",))
    if not has_episode and "date" not in frame.columns:
        raise MissingColumnError(
            f"The use_days table ({source.name}) identifies rows by patient_id, which needs a "
            f"'date' column to find the episode ({describe_columns(columns)}). Add episode_id "
            "or map a date column with read_records(..., columns={...: 'date'})."
        )
    rej = Rejections("use_days", source.name, len(frame))
    typed = type_columns(source, spec, options, rej)
    key = "episode_id" if has_episode else "patient_id"
    rej.add("missing_required_value", key, isnull(typed[key]))
    date = typed["date"]
    day_given = "day" in frame.columns
    no_date, no_day = _blank(typed, rej, "date"), _blank(typed, rej, "day")
    if day_given and "date" in frame.columns:
        rej.add("missing_required_value", "date", no_date & no_day)
    elif day_given:
        rej.add("missing_required_value", "day", no_day)
    else:
        rej.add("missing_required_value", "date", no_date)
    if has_episode:
        position = episode_position(
            typed["episode_id"], pa.array(episodes["episode_id"].astype("string").array)
        )
        rej.add("unknown_episode", "episode_id", ~isnull(typed["episode_id"]) & (position < 0))
    else:
        position = resolve_patient_days(typed["patient_id"], date, episodes)
        rej.add(
            "unknown_patient",
            "patient_id",
            ~isnull(typed["patient_id"]) & date.notna().to_numpy() & (position < 0),
        )
        typed["episode_id"] = _take_text(episodes["episode_id"], position)
    if len(episodes) and "patient_id" not in frame.columns:
        typed["patient_id"] = _take_text(episodes["patient_id"], position)
    derived = pd.Series(
        pd.arrays.IntegerArray(*days_after(date, episodes["admission_date"], position))
    )
    given = typed["day"].reset_index(drop=True)
    typed["day"] = given.where(given.notna(), derived) if day_given else derived
    return assemble(typed, frame, spec, options.codes), rej


def _take_text(values: pd.Series, position: np.ndarray) -> pa.Array | pa.ChunkedArray:
    """Text ``values`` at ``position`` (missing where -1)."""
    text = pa.array(values.astype("string").array)
    if text.type != pa.large_string():
        text = text.cast(pa.large_string())
    if len(text) == 0:
        return pa.nulls(len(position), pa.large_string())
    return pc.take(text, pa.array(position, mask=position < 0))


def _blank(typed: dict[str, Any], rej: Rejections, name: str) -> np.ndarray:
    """True where column ``name`` was empty (typed as missing without another problem)."""
    flagged = np.zeros(rej.n, dtype=bool)
    for problem in rej.problems:
        if problem.column == name:
            flagged |= problem.rows
    return typed[name].isna().to_numpy() & ~flagged


# --- services -----------------------------------------------------------------------------------


def validate_services(source: Source, options: Options) -> tuple[pd.DataFrame, Rejections]:
    """Typed services (every source row) and their rejections.

    ``options.codes["service_code"]`` (billing code -> service type, from ``codes=``) derives
    the service type from ``service_code``: a row whose code is not in the mapping is rejected
    ``unknown_service_code``; a row without a code keeps its ``service_type`` as given. The
    code column itself stays as given. Rows are not matched to episodes: a person's services
    before, between or without episodes are what the care-transition measures look at.
    """
    spec = TABLES["services"]
    frame = source.frame
    code_map = options.codes.get("service_code")
    required = ["patient_id", "service_date"]
    if code_map and "service_type" not in frame.columns:
        required.append("service_code")
    else:
        required.append("service_type")
    require(frame, "services", source.name, required)
    n = len(frame)
    rej = Rejections("services", source.name, n)
    typing = dataclasses.replace(
        options, codes={k: v for k, v in options.codes.items() if k != "service_code"}
    )
    typed = type_columns(source, spec, typing, rej, skip=("service_type",))
    given = frame["service_type"] if "service_type" in frame.columns else None
    unknown_code = np.zeros(n, dtype=bool)
    if code_map:
        code = typed["service_code"]
        keys = pa.array([_code_text(k) for k in code_map], pa.large_string())
        targets = pa.array([str(v) for v in code_map.values()], pa.large_string())
        hit = pc.index_in(code, value_set=keys)
        unknown_code = ~isnull(code) & isnull(hit)
        derived = pc.take(targets, hit)
        if given is not None:
            given_text = trimmed(as_text(given), few=True)
            derived = pc.if_else(pc.is_null(hit), given_text, derived)
        values: pd.Series | None = text_series(derived)
    else:
        values = given
    # required-ness is checked here: a row whose code is unknown has no type for that reason
    optional_type = dataclasses.replace(spec.column("service_type"), required=False)
    service_type, problems = type_column(values, optional_type, n, typing)
    flagged = unknown_code.copy()  # rows whose type is missing for a reason of their own
    for problem in problems:
        flagged |= problem.rows
    rej.add("unknown_service_code", "service_code", unknown_code)
    rej.add("missing_required_value", "service_type", isnull(service_type) & ~flagged)
    rej.extend(problems)
    typed["service_type"] = service_type
    start, end = typed["service_date"], typed["end_date"]
    days, no_days = days_after(end, start, np.arange(n))
    rej.add("end_before_service_date", "end_date", (days < 0) & ~no_days)
    return assemble(typed, frame, spec, typing.codes), rej


def service_code_mapping(value: Any, source: str = "codes=") -> dict[str, str]:
    """A ``codes=`` mapping of billing codes to service types, checked: a dict (code ->
    service type) or a CSV file with two columns (code, service type) and a header row.

    Raises ``ParameterError`` when a target is not a service type, naming the targets (they
    are vocabulary values, never cell values of the records).
    """
    if isinstance(value, str | os.PathLike):
        path = os.fspath(value)
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, ValueError, UnicodeDecodeError) as err:
            raise FileReadError(
                f"The service-code mapping {os.path.basename(path)!r} could not be read as CSV "
                f"({type(err).__name__}); give a CSV file with two columns (code, service type) "
                "and a header row."
            ) from None
        if table.shape[1] != 2:
            raise SchemaError(
                f"The service-code mapping {os.path.basename(path)!r} has {table.shape[1]} "
                "column(s); it needs exactly two (code, service type) after a header row."
            )
        mapping = dict(zip(table.iloc[:, 0].str.strip(), table.iloc[:, 1].str.strip(), strict=True))
        mapping.pop("", None)
    elif isinstance(value, Mapping):
        mapping = {_code_text(k): str(v).strip() for k, v in value.items() if v is not None}
    else:
        raise ParameterError(
            f"{source} service_code must be a dict (billing code -> service type) or the path "
            f"of a two-column CSV file; got {type(value).__name__}."
        )
    lookup = {t.lower(): t for t in SERVICE_TYPES}
    bad = sorted({v for v in mapping.values() if v.lower() not in lookup})
    if bad:
        raise ParameterError(
            f"{source} service_code maps codes to {len(bad)} value(s) that are not service "
            f"types: {bad}. Use one of {list(SERVICE_TYPES)}."
        )
    return {k: lookup[v.lower()] for k, v in mapping.items()}


def _code_text(key: Any) -> str:
    """A code as the text it is compared as (``99213`` and ``"99213"`` match)."""
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key).strip()
