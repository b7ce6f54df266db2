"""Reader for the SAMHSA TEDS-D public use file (Treatment Episode Data Set - Discharges).

TEDS-D records are **discharges, not people**: the same person can appear in several rows (one
per treatment episode, and a "transfer" to another setting closes one episode and opens the
next). ``episode_id`` and ``patient_id`` are both the row's ``CASEID`` as text, so
person-level statements cannot be made from TEDS-D.

Cohorts come from the discharge service setting (``SERVICES_D``; ``SERVSETD`` in 2006-2014):

======  ==============================================  ================  =======================
code    setting                                         level_of_care     cohort
======  ==============================================  ================  =======================
1, 2    detox, 24-hour (hospital / free-standing)       ``detox``         ``detox``
3       rehab/residential, hospital (non-detox)         ``residential``   ``residential_hospital``
4       rehab/residential, short term (<= 30 days)      ``residential``   ``residential_short``
5       rehab/residential, long term (> 30 days)        ``residential``   ``residential_long``
6       ambulatory, intensive outpatient                ``IOP``           ``IOP``
7       ambulatory, non-intensive outpatient            ``OP``            ``OP``
8       ambulatory, detoxification                      ``detox``         ``detox``
======  ==============================================  ================  =======================

The three residential cohorts are kept apart; :func:`pool_residential` (or
``pool_residential=True``) reports them together as ``"residential"``.

TEDS-D has no dates. Records use ``time_basis="study_day"`` with an empty ``admission_date``;
the discharge year (``DISYR``) is the covariate ``discharge_year``. Length of stay is an
*ordinal* code (1-30 exact days, then ranges 31-45 ... more than a year): it is kept as
``los_code``/``los_band`` with the day range ``los_days_low``/``los_days_high``, and summarised
by :func:`los_summary` (median band and shares by band), never by a mean of codes.
``discharge_day`` is left empty for the same reason.

Outcome columns are put on the episodes table (the outcome engine carries them through):
``completed`` (REASON 1), ``completed_or_transferred`` (1 or 4), ``dropout`` (2: "dropped out
of treatment"; labelled "left against professional advice" in 2006-2014), ``abstinent_admission``
/ ``abstinent_discharge`` (FREQ1 / FREQ1_D 1 = no use in the past month -> True, 2-3 -> False,
-9 -> missing), ``use_frequency_change`` (discharge minus admission on none=0 / some=1 /
daily=2), ``use_reduced``, self-help attendance, employment and living arrangement at admission
and discharge with their changes. ``-9`` is missing everywhere; the count of missing values per
variable is in ``records.extras["missing_counts"]``.

Year layouts handled: 2006-2014 (``SERVSETD``; AGE, FREQ1, ETHNIC, RACE and SUB1 codes recoded to
the 2017+ coding; no discharge-time measures), 2015-2016 (no admission ``SERVICES``), 2017-2022,
the 2021 file with text labels in latin-1, and 2023+ (``GENDER`` renamed ``SEX``).

For larger-than-memory work :func:`teds_outcome_frame` returns the same outcome columns as a
Dask DataFrame or a DuckDB relation; ``iopoutcomes._counts.group_counts`` (and so the rate and
comparison functions) gives identical counts on either.

Examples
--------
>>> import io, tempfile, pathlib
>>> from iopoutcomes import teds
>>> text = "CASEID,DISYR,SERVICES,SERVICES_D,REASON,LOS,FREQ1,FREQ1_D\\n" \\
...        "1,2019,6,6,1,33,3,1\\n2,2019,4,4,2,12,2,-9\\n"
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "tedsd_2019.csv").write_text(text)
>>> rec = teds.read_teds_d(folder)
>>> rec.episodes[["cohort", "completed", "abstinent_discharge", "los_band"]]
              cohort  completed  abstinent_discharge       los_band
0                IOP       True                 True  61 to 90 days
1  residential_short      False                 <NA>             12
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import _teds_codes as codes
from ._counts import is_dask, is_duckdb
from ._render import ResultDisplay
from .exceptions import (
    EmptyFileError,
    FileReadError,
    MissingColumnError,
    ParameterError,
)
from .records import Records
from .schema import FOLLOWUPS, REJECTED_COLUMNS, USE_DAYS

__all__ = [
    "LosSummary",
    "OUTCOME_COLUMNS",
    "RESIDENTIAL_COHORTS",
    "TEDS_VARIABLES",
    "los_summary",
    "pool_residential",
    "read_teds_d",
    "teds_outcome_frame",
]

Engine = Literal["pandas", "dask", "duckdb"]

TEDS_VARIABLES: tuple[str, ...] = (
    "CASEID",
    "DISYR",
    "SERVICES_D",
    "SERVICES",
    "METHUSE",
    "REASON",
    "LOS",
    "FREQ1",
    "FREQ1_D",
    "SUB1",
    "EMPLOY",
    "EMPLOY_D",
    "LIVARAG",
    "LIVARAG_D",
    "FREQ_ATND_SELF_HELP",
    "FREQ_ATND_SELF_HELP_D",
    "AGE",
    "GENDER",
    "RACE",
    "ETHNIC",
    "STFIPS",
)
"""The TEDS-D variables read by default (harmonised names; only these columns are read)."""

RESIDENTIAL_COHORTS: tuple[str, ...] = (
    "residential_hospital",
    "residential_short",
    "residential_long",
)
"""Cohorts of SERVICES_D 3, 4 and 5, pooled into ``"residential"`` by :func:`pool_residential`."""

_COHORTS: tuple[str, ...] = ("IOP", *RESIDENTIAL_COHORTS, "detox", "OP")
_POOLED_COHORTS: tuple[str, ...] = ("IOP", "residential", "detox", "OP")
_LEVELS: tuple[str, ...] = ("IOP", "residential", "detox", "OP")
_SUFFIXES_CSV = (".csv", ".txt", ".csv.gz", ".csv.zip", ".tsv")
_SUFFIXES_STAT = (".sav", ".zsav", ".dta", ".sas7bdat", ".xpt", ".por")
_SUFFIXES_PARQUET = (".parquet", ".pq")
_SUFFIXES_R = (".rdata", ".rda", ".rds")
_ALL_SUFFIXES = _SUFFIXES_CSV + _SUFFIXES_STAT + _SUFFIXES_PARQUET + _SUFFIXES_R

# --- declarative derived columns (one spec drives pandas, Dask partitions and DuckDB SQL) ------

_ALL_REASONS = frozenset(range(1, 8))


@dataclass(frozen=True)
class _Flag:
    name: str
    variable: str
    true: frozenset[int]
    false: frozenset[int]


@dataclass(frozen=True)
class _Label:
    name: str
    variable: str
    labels: Mapping[int, str]
    ordered: bool = False
    categories: tuple[str, ...] | None = None  # category order (default: order of the codes)


@dataclass(frozen=True)
class _Change:
    name: str
    admission: str
    discharge: str
    score: Mapping[int, int]
    flag: str  # boolean companion column: change in the good direction
    good: Literal["up", "down"]


_FLAGS: tuple[_Flag, ...] = (
    _Flag("completed", "REASON", frozenset({1}), _ALL_REASONS - {1}),
    _Flag("completed_or_transferred", "REASON", frozenset({1, 4}), _ALL_REASONS - {1, 4}),
    _Flag("dropout", "REASON", frozenset({2}), _ALL_REASONS - {2}),
    _Flag("abstinent_admission", "FREQ1", frozenset({1}), frozenset({2, 3})),
    _Flag("abstinent_discharge", "FREQ1_D", frozenset({1}), frozenset({2, 3})),
    _Flag("selfhelp_admission", "FREQ_ATND_SELF_HELP", frozenset({2, 3, 4, 5}), frozenset({1})),
    _Flag("selfhelp_discharge", "FREQ_ATND_SELF_HELP_D", frozenset({2, 3, 4, 5}), frozenset({1})),
    _Flag("employed_admission", "EMPLOY", frozenset({1, 2}), frozenset({3, 4})),
    _Flag("employed_discharge", "EMPLOY_D", frozenset({1, 2}), frozenset({3, 4})),
    _Flag("homeless_admission", "LIVARAG", frozenset({1}), frozenset({2, 3})),
    _Flag("homeless_discharge", "LIVARAG_D", frozenset({1}), frozenset({2, 3})),
    _Flag("medication_assisted", "METHUSE", frozenset({1}), frozenset({2})),
)

_LABELS: tuple[_Label, ...] = (
    _Label("cohort", "SERVICES_D", codes.COHORT_FROM_SETTING, categories=_COHORTS),
    _Label("level_of_care", "SERVICES_D", codes.LEVEL_FROM_SETTING, categories=_LEVELS),
    _Label("setting", "SERVICES_D", codes.SETTING),
    _Label("setting_admission", "SERVICES", codes.SETTING),
    _Label("discharge_reason", "REASON", codes.DISCHARGE_REASON_FROM_REASON),
    _Label("los_band", "LOS", codes.LOS, ordered=True),
    _Label("use_frequency_admission", "FREQ1", codes.FREQ, ordered=True),
    _Label("use_frequency_discharge", "FREQ1_D", codes.FREQ, ordered=True),
    _Label("selfhelp_frequency_admission", "FREQ_ATND_SELF_HELP", codes.SELF_HELP),
    _Label("selfhelp_frequency_discharge", "FREQ_ATND_SELF_HELP_D", codes.SELF_HELP),
    _Label("employment_admission", "EMPLOY", codes.EMPLOY),
    _Label("employment_discharge", "EMPLOY_D", codes.EMPLOY),
    _Label("living_admission", "LIVARAG", codes.LIVARAG, ordered=True),
    _Label("living_discharge", "LIVARAG_D", codes.LIVARAG, ordered=True),
    _Label("age_group", "AGE", codes.AGE, ordered=True),
    _Label("sex", "GENDER", codes.GENDER),
    _Label("race", "RACE", codes.RACE),
    _Label("ethnicity", "ETHNIC", codes.ETHNIC),
    _Label("primary_substance", "SUB1", codes.SUB),
    _Label("state", "STFIPS", codes.STFIPS),
)

_CHANGES: tuple[_Change, ...] = (
    _Change("use_frequency_change", "FREQ1", "FREQ1_D", {1: 0, 2: 1, 3: 2}, "use_reduced", "down"),
    _Change(
        "selfhelp_change",
        "FREQ_ATND_SELF_HELP",
        "FREQ_ATND_SELF_HELP_D",
        {1: 0, 2: 1, 3: 1, 4: 1, 5: 1},
        "selfhelp_started",
        "up",
    ),
    _Change("employment_change", "EMPLOY", "EMPLOY_D", {1: 1, 2: 1, 3: 0, 4: 0}, "employment_gained", "up"),
    _Change("living_change", "LIVARAG", "LIVARAG_D", {1: 0, 2: 1, 3: 2}, "housing_improved", "up"),
)  # fmt: skip

OUTCOME_COLUMNS: tuple[str, ...] = (
    "completed",
    "completed_or_transferred",
    "dropout",
    "abstinent_admission",
    "abstinent_discharge",
    "use_frequency_change",
    "use_reduced",
    "selfhelp_admission",
    "selfhelp_discharge",
    "selfhelp_change",
    "selfhelp_started",
    "employed_admission",
    "employed_discharge",
    "employment_change",
    "employment_gained",
    "homeless_admission",
    "homeless_discharge",
    "living_change",
    "housing_improved",
)
"""Binary (boolean) and change (Int8) outcome columns put on the episodes table."""


# --- lookup tables -------------------------------------------------------------------------------

_LUT_SIZE = 128  # every decoded code is 1..99; slot 0 holds "missing"


def _slot(c: np.ndarray) -> np.ndarray:
    """Index into a lookup table: the code itself when 1..127, else 0 (missing)."""
    return np.where((c > 0) & (c < _LUT_SIZE), c, 0).astype(np.intp)


def _lut_int(mapping: Mapping[int, int], fill: int) -> np.ndarray:
    lut = np.full(_LUT_SIZE, fill, dtype=np.int16)
    for k, v in mapping.items():
        if 0 < k < _LUT_SIZE:
            lut[k] = v
    return lut


def _valid_lut(variable: str) -> np.ndarray:
    """Code -> code for codes in the codebook, ``-9`` for anything else."""
    table = codes.CODE_LABELS.get(variable)
    if table is None:  # DISYR, CASEID, extra columns: keep as is
        lut = np.arange(_LUT_SIZE, dtype=np.int16)
        lut[0] = codes.MISSING
        return lut
    return _lut_int({k: k for k in table}, codes.MISSING)


# --- file handling --------------------------------------------------------------------------------


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(_ALL_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def _list_files(path: str | Path | Iterable[str | Path]) -> list[Path]:
    items = [path] if isinstance(path, str | Path) else list(path)
    if not items:
        raise ParameterError("No TEDS-D file was given: pass a file, a list of files or a folder.")
    files: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and _suffix(f) in _ALL_SUFFIXES)
            if not found:
                raise FileReadError(
                    f"Folder {p.name!r} holds no TEDS-D file (looked for {', '.join(_ALL_SUFFIXES)})."
                    " Pass the file path directly or put the files in the folder."
                )
            files.extend(found)
        elif p.is_file():
            if _suffix(p) not in _ALL_SUFFIXES:
                raise FileReadError(
                    f"File {p.name!r} has an unknown format (suffix {p.suffix!r}). TEDS-D is read "
                    "from CSV, Parquet, SPSS/Stata/SAS (pyreadstat) or R data files."
                )
            files.append(p)
        else:
            raise FileReadError(f"TEDS-D path {p.name!r} does not exist. Check the path.")
    return files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class _RawFile:
    """One file's needed columns (harmonised names) before decoding."""

    name: str
    layout: str
    frame: pd.DataFrame
    text_columns: tuple[str, ...]
    absent: tuple[str, ...]
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)


def _layout(header: Sequence[str]) -> str:
    cols = {c.upper() for c in header}
    if "SERVSETD" in cols:
        return "2006-2014"
    if "SEX" in cols and "GENDER" not in cols:
        return "2023+"
    if "SERVICES" not in cols:
        return "2015-2016"
    return "2017-2022"


def _source_map(header: Sequence[str], wanted: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Harmonised name -> source column, and the wanted names absent from the file."""
    by_upper = {c.upper(): c for c in header}
    found: dict[str, str] = {}
    absent: list[str] = []
    for var in wanted:
        for candidate in codes.SOURCE_NAMES.get(var, (var,)):
            if candidate in by_upper:
                found[var] = by_upper[candidate]
                break
        else:
            absent.append(var)
    return found, absent


def _csv_header(path: Path, encoding: str) -> tuple[list[str], dict[str, bool]]:
    """Column names and, per column, whether its first block looks like text."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    opts = pacsv.ReadOptions(block_size=1 << 20, encoding=encoding)
    reader = pacsv.open_csv(path, read_options=opts)
    schema = reader.schema
    reader.close()
    numeric = (pa.types.is_integer, pa.types.is_floating, pa.types.is_null)
    is_text = {f.name: not any(test(f.type) for test in numeric) for f in schema}
    return list(schema.names), is_text


def _read_csv(path: Path, wanted: Sequence[str], encoding: str | None) -> _RawFile:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    encodings = [encoding] if encoding else ["utf8", "latin-1"]
    last_error: Exception | None = None
    for enc in encodings:
        try:
            header, is_text = _csv_header(path, enc)
            found, absent = _source_map(header, wanted)
            text = [v for v, src in found.items() if is_text[src] and v != "CASEID"]
            types: dict[str, Any] = {
                src: (pa.int64() if v == "CASEID" else pa.int32())
                for v, src in found.items()
                if v not in text and not is_text[src]
            }
            read = pacsv.ReadOptions(encoding=enc, block_size=1 << 24)
            convert = pacsv.ConvertOptions(
                include_columns=list(found.values()),
                column_types=types,
                auto_dict_encode=True,
                auto_dict_max_cardinality=10_000,
                strings_can_be_null=True,
            )
            try:
                table = pacsv.read_csv(path, read_options=read, convert_options=convert)
            except pa.ArrowInvalid:
                # a numeric-looking column holds text further down: read those columns as text
                convert = pacsv.ConvertOptions(
                    include_columns=list(found.values()),
                    column_types={found["CASEID"]: pa.string()} if "CASEID" in found else {},
                    auto_dict_encode=True,
                    auto_dict_max_cardinality=10_000,
                    strings_can_be_null=True,
                )
                table = pacsv.read_csv(path, read_options=read, convert_options=convert)
                text = [
                    v
                    for v, src in found.items()
                    if v != "CASEID" and not pa.types.is_integer(table.schema.field(src).type)
                ]
        except (UnicodeDecodeError, pa.ArrowInvalid) as exc:
            last_error = exc
            continue
        if enc != encodings[-1] and any(_is_binary(f.type) for f in table.schema):
            last_error = UnicodeDecodeError(enc, b"", 0, 1, "not valid UTF-8")
            continue  # bytes that are not valid UTF-8: read again in the fallback encoding
        frame = _arrow_to_pandas(table, found)
        raw = _RawFile(path.name, _layout(header), frame, tuple(text), tuple(absent), enc)
        if enc != encodings[0]:
            raw.notes.append(f"{path.name}: not valid UTF-8, read as {enc}.")
        return raw
    raise FileReadError(
        f"Could not read CSV file {path.name!r} ({type(last_error).__name__}). Check that it is a "
        "comma-separated TEDS-D file; pass encoding= if it is neither UTF-8 nor latin-1."
    )


def _is_binary(dtype: Any) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    return bool(pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype))


def _arrow_to_pandas(table: Any, found: Mapping[str, str]) -> pd.DataFrame:
    """Arrow table -> pandas with harmonised names (dictionary columns become categoricals)."""
    frame = table.select(list(found.values())).to_pandas(split_blocks=True, self_destruct=True)
    return frame.rename(columns={src: var for var, src in found.items()})


def _read_parquet(path: Path, wanted: Sequence[str]) -> _RawFile:
    import pyarrow as pa
    import pyarrow.parquet as pq

    header = pq.read_schema(path).names
    found, absent = _source_map(header, wanted)
    table = pq.read_table(path, columns=list(found.values()))
    text = [
        v
        for v, src in found.items()
        if v != "CASEID"
        and not (
            pa.types.is_integer(table.schema.field(src).type)
            or pa.types.is_floating(table.schema.field(src).type)
        )
    ]
    return _RawFile(
        path.name, _layout(header), _arrow_to_pandas(table, found), tuple(text), tuple(absent)
    )


def _read_stat(path: Path, wanted: Sequence[str], encoding: str | None) -> _RawFile:
    try:
        import pyreadstat
    except ImportError as exc:  # pragma: no cover - pyreadstat is in the [teds] extra
        raise FileReadError(
            f"Reading {path.name!r} needs pyreadstat: pip install 'iopoutcomes[teds]'."
        ) from exc
    reader: Any = {
        ".sav": pyreadstat.read_sav,
        ".zsav": pyreadstat.read_sav,
        ".dta": pyreadstat.read_dta,
        ".sas7bdat": pyreadstat.read_sas7bdat,
        ".xpt": pyreadstat.read_xport,
        ".por": pyreadstat.read_por,
    }[_suffix(path)]
    kwargs: dict[str, Any] = {"encoding": encoding} if encoding else {}
    try:
        _, meta = reader(str(path), metadataonly=True, **kwargs)
        found, absent = _source_map(meta.column_names, wanted)
        frame, _ = reader(
            str(path), usecols=list(found.values()), apply_value_formats=False, **kwargs
        )
    except Exception as exc:  # pyreadstat raises its own ReadstatError / PyreadstatError
        raise FileReadError(
            f"pyreadstat could not read {path.name!r} ({type(exc).__name__}). Check the file, or "
            "export it to CSV or Parquet."
        ) from exc
    frame = frame.rename(columns={src: var for var, src in found.items()})
    text = [v for v in found if v != "CASEID" and not pd.api.types.is_numeric_dtype(frame[v])]
    return _RawFile(
        path.name, _layout(meta.column_names), frame, tuple(text), tuple(absent), encoding
    )


def _read_r(path: Path, wanted: Sequence[str]) -> _RawFile:
    try:
        import pyreadr
    except ImportError as exc:
        raise FileReadError(
            f"Reading the R data file {path.name!r} needs pyreadr (pip install pyreadr), or export "
            "it to CSV/Parquet."
        ) from exc
    result = pyreadr.read_r(str(path))
    if len(result) != 1:
        raise FileReadError(
            f"R data file {path.name!r} holds {len(result)} objects; expected one data frame."
        )
    frame = next(iter(result.values()))
    found, absent = _source_map(list(frame.columns), wanted)
    frame = frame[list(found.values())].rename(columns={s: v for v, s in found.items()})
    text = [v for v in found if v != "CASEID" and not pd.api.types.is_numeric_dtype(frame[v])]
    return _RawFile(path.name, _layout(list(found.values())), frame, tuple(text), tuple(absent))


def _read_raw(path: Path, wanted: Sequence[str], encoding: str | None) -> _RawFile:
    suffix = _suffix(path)
    if suffix in _SUFFIXES_PARQUET:
        raw = _read_parquet(path, wanted)
    elif suffix in _SUFFIXES_STAT:
        raw = _read_stat(path, wanted, encoding)
    elif suffix in _SUFFIXES_R:
        raw = _read_r(path, wanted)
    else:
        raw = _read_csv(path, wanted, encoding)
    if raw.frame.empty:
        raise EmptyFileError(f"TEDS-D file {path.name!r} has no data rows.")
    missing_required = [v for v in ("CASEID", "SERVICES_D") if v in raw.absent]
    if missing_required:
        raise MissingColumnError(
            f"TEDS-D file {path.name!r} lacks {missing_required} (SERVICES_D may be named "
            f"SERVSETD). Found {len(raw.frame.columns)} of the needed columns: "
            f"{sorted(raw.frame.columns)}. Check that this is a TEDS-D discharge file."
        )
    return raw


# --- decoding ------------------------------------------------------------------------------------


def _text_codes(values: pd.Series, variable: str) -> tuple[np.ndarray, int, np.ndarray]:
    """Text labels -> codes (vectorised over distinct values).

    Returns the codes, the number of unrecognised values and a mask of the rows decoded from a
    text *label* (already in the harmonised coding) rather than from a number written as text
    (in the file's own coding)."""
    cat = values.astype("category")
    lookup = codes.label_to_code(variable) if variable in codes.CODE_LABELS else {}
    cat_codes = np.empty(len(cat.cat.categories), dtype=np.int16)
    unrecognised = np.zeros(len(cat.cat.categories), dtype=bool)
    from_label = np.zeros(len(cat.cat.categories), dtype=bool)
    for i, label in enumerate(cat.cat.categories):  # loop over distinct labels, not rows
        text = str(label).strip()
        key = codes.normalise_label(text)
        if key in lookup:
            cat_codes[i] = lookup[key]
            from_label[i] = True
        else:
            try:
                cat_codes[i] = int(float(text))
            except ValueError:
                cat_codes[i] = codes.MISSING
                unrecognised[i] = True
    idx = cat.cat.codes.to_numpy()
    out = np.where(idx >= 0, cat_codes[np.maximum(idx, 0)], codes.MISSING).astype(np.int16)
    n_bad = int(unrecognised[idx[idx >= 0]].sum()) if unrecognised.any() else 0
    return out, n_bad, (idx >= 0) & from_label[np.maximum(idx, 0)]


def _numeric_codes(values: pd.Series) -> np.ndarray:
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(values.cat.categories.dtype)
    num = pd.to_numeric(values, errors="coerce")
    arr = num.to_numpy(dtype="float64", na_value=np.nan)
    out = np.full(len(arr), codes.MISSING, dtype=np.int16)
    ok = np.isfinite(arr) & (np.abs(arr) < 30000)
    out[ok] = arr[ok].astype(np.int16)
    return out


def _harmonised_codes(
    frame: pd.DataFrame, layout: str, text_columns: Iterable[str], variables: Sequence[str]
) -> tuple[dict[str, np.ndarray], dict[str, tuple[int, int]]]:
    """Harmonised int16 codes per variable (``-9`` missing) and (missing, unrecognised) counts."""
    text = set(text_columns)
    n = len(frame)
    out: dict[str, np.ndarray] = {}
    counts: dict[str, tuple[int, int]] = {}
    for var in variables:
        if var == "CASEID":
            continue
        if var not in frame.columns:
            out[var] = np.full(n, codes.MISSING, dtype=np.int16)
            continue
        from_label = np.zeros(n, dtype=bool)
        if var in text:
            raw, n_text_bad, from_label = _text_codes(frame[var], var)
        else:
            raw, n_text_bad = _numeric_codes(frame[var]), 0
        if layout == "2006-2014" and var in codes.RECODE_2006_2014:
            # numeric codes are in the 2006-2014 coding; decoded labels are already harmonised
            recode = codes.RECODE_2006_2014[var]
            lut = _lut_int({k: recode.get(k, k) for k in range(1, _LUT_SIZE)}, codes.MISSING)
            raw = np.where((raw > 0) & ~from_label, lut[_slot(raw)], raw).astype(np.int16)
        if var == "DISYR":
            valid = np.where(raw > 0, raw, codes.MISSING).astype(np.int16)
        else:
            valid = np.where(raw > 0, _valid_lut(var)[_slot(raw)], codes.MISSING).astype(np.int16)
        n_missing = int((raw == codes.MISSING).sum()) - n_text_bad
        n_unrec = int(((valid == codes.MISSING) & (raw != codes.MISSING)).sum()) + n_text_bad
        out[var] = valid
        counts[var] = (n_missing, n_unrec)
    return out, counts


def _boolean(lut: np.ndarray, c: np.ndarray) -> pd.arrays.BooleanArray:
    v = lut[_slot(c)]
    return pd.arrays.BooleanArray(v == 1, v < 0)


def _derive(c: Mapping[str, np.ndarray], extra: Sequence[str] = ()) -> dict[str, Any]:
    """Outcome, label and LOS columns from harmonised codes (shared by every engine)."""
    cols: dict[str, Any] = {}
    for lab in _LABELS:
        categories = list(lab.categories or dict.fromkeys(lab.labels.values()))
        pos = {label: i for i, label in enumerate(categories)}
        lut = _lut_int({k: pos[v] for k, v in lab.labels.items()}, -1)
        cols[lab.name] = pd.Categorical.from_codes(
            lut[_slot(c[lab.variable])], dtype=pd.CategoricalDtype(categories, lab.ordered)
        )
    for flag in _FLAGS:
        lut = _lut_int({**dict.fromkeys(flag.true, 1), **dict.fromkeys(flag.false, 0)}, -1)
        cols[flag.name] = _boolean(lut, c[flag.variable])
    for ch in _CHANGES:
        lut = _lut_int(dict(ch.score), -100)
        a = lut[_slot(c[ch.admission])]
        d = lut[_slot(c[ch.discharge])]
        missing = (a < -50) | (d < -50)
        diff = np.where(missing, 0, d - a).astype(np.int8)
        cols[ch.name] = pd.arrays.IntegerArray(diff, missing)
        good = diff < 0 if ch.good == "down" else diff > 0
        cols[ch.flag] = pd.arrays.BooleanArray(good, missing)
    los = c["LOS"]
    los_ok = (los >= 1) & (los <= 37)
    cols["los_code"] = pd.arrays.IntegerArray(np.where(los_ok, los, 0).astype(np.int8), ~los_ok)
    low = _lut_int({k: v[0] for k, v in codes.LOS_DAYS.items()}, -1)[_slot(los)]
    high = _lut_int({k: (v[1] or -1) for k, v in codes.LOS_DAYS.items()}, -1)[_slot(los)]
    cols["los_days_low"] = pd.arrays.IntegerArray(np.maximum(low, 0), low < 0)
    cols["los_days_high"] = pd.arrays.IntegerArray(np.maximum(high, 0), high < 0)
    year = c["DISYR"]
    cols["discharge_year"] = pd.arrays.IntegerArray(np.maximum(year, 0), year <= 0)
    for var in extra:
        v = c[var]
        cols[var.lower()] = pd.arrays.IntegerArray(
            np.where(v == codes.MISSING, 0, v), v == codes.MISSING
        )
    return cols


def _caseid_text(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """CASEID as text (no decimals) and a mask of rows where it is missing."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        num = pd.to_numeric(values, errors="coerce")
        missing = num.isna().to_numpy()
        ints = num.fillna(0).astype("int64")
        import pyarrow as pa
        import pyarrow.compute as pc

        text = pd.Series(pc.cast(pa.array(ints.to_numpy()), pa.string()), index=values.index)
        return text, missing
    text = values.astype("str").str.strip()
    missing = (values.isna() | (text == "")).to_numpy()
    return text, missing


def _episode_frame(
    raw: pd.DataFrame, layout: str, text_columns: Iterable[str], extra: Sequence[str]
) -> tuple[pd.DataFrame, np.ndarray, dict[str, tuple[int, int]], np.ndarray]:
    """Decoded episode rows for one raw frame; returns frame, CASEID-missing mask, counts, codes
    of the discharge setting."""
    variables = [v for v in (*TEDS_VARIABLES, *extra) if v != "CASEID"]
    c, counts = _harmonised_codes(raw, layout, text_columns, variables)
    caseid, caseid_missing = _caseid_text(raw["CASEID"])
    cols = _derive(c, extra)
    frame = pd.DataFrame(
        {
            "patient_id": caseid,
            "episode_id": caseid,
            "cohort": cols.pop("cohort"),
            "admission_date": pd.Series(pd.NaT, index=raw.index, dtype="datetime64[s]"),
            "level_of_care": cols.pop("level_of_care"),
            "discharge_date": pd.Series(pd.NaT, index=raw.index, dtype="datetime64[s]"),
            "discharge_reason": cols.pop("discharge_reason"),
            "discharge_day": pd.Series(pd.NA, index=raw.index, dtype="Int32"),
            **{k: cols.pop(k) for k in ("discharge_year",)},
            **{name: cols[name] for name in OUTCOME_COLUMNS},
            **{k: v for k, v in cols.items() if k not in OUTCOME_COLUMNS},
        },
        index=raw.index,
    )
    return frame, caseid_missing, counts, c["SERVICES_D"]


# --- public readers -------------------------------------------------------------------------------


def _check_engine(engine: str, allowed: Sequence[str]) -> None:
    if engine not in allowed:
        raise ParameterError(f"engine must be one of {list(allowed)}; received {engine!r}.")


def _check_columns(columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return []
    if isinstance(columns, str):
        columns = [columns]
    extra = [c.upper() for c in columns if c.upper() not in TEDS_VARIABLES]
    return list(dict.fromkeys(extra))


def _years(years: int | Iterable[int] | None) -> set[int] | None:
    if years is None:
        return None
    out = {int(years)} if isinstance(years, int | np.integer) else {int(y) for y in years}
    if not out:
        raise ParameterError("years= is empty: pass a year, several years, or None for all.")
    return out


def read_teds_d(
    path: str | Path | Iterable[str | Path],
    *,
    years: int | Iterable[int] | None = None,
    columns: Sequence[str] | None = None,
    exclude_medication_assisted: bool = False,
    pool_residential: bool = False,
    encoding: str | None = None,
    engine: Literal["pandas", "dask"] = "pandas",
) -> Records:
    """Read TEDS-D public use file(s) into :class:`~iopoutcomes.records.Records`.

    Records are **discharges, not people**: one row of ``episodes`` per TEDS-D discharge record,
    with ``episode_id`` = ``patient_id`` = ``CASEID`` as text.

    Parameters
    ----------
    path : str, Path or iterable of them
        A file, several files or a folder of files: CSV (UTF-8 or latin-1, codes or text labels),
        Parquet, SPSS/Stata/SAS (via pyreadstat) or R data (via pyreadr, if installed).
    years : int or iterable of int, optional
        Keep only these discharge years (``DISYR``).
    columns : sequence of str, optional
        Extra TEDS-D variables to read besides :data:`TEDS_VARIABLES`; kept as nullable integer
        codes in lower-case columns (``-9`` -> missing). Only the needed columns are read.
    exclude_medication_assisted : bool, default False
        Drop records with medication-assisted opioid therapy planned (``METHUSE`` = 1); records
        with ``METHUSE`` missing are kept. The number dropped is in ``remarks``.
    pool_residential : bool, default False
        Report SERVICES_D 3, 4 and 5 as one ``"residential"`` cohort.
    encoding : str, optional
        Text encoding of CSV/SPSS files; by default UTF-8, falling back to latin-1.
    engine : {"pandas", "dask"}, default "pandas"
        ``"dask"`` decodes partitions in parallel with Dask and collects the result (CSV and
        Parquet only); the result is identical.

    Returns
    -------
    Records
        ``provenance="teds_d"``, ``time_basis="study_day"``, ``options``
        ``timepoints_from_followups`` (True) and ``record_unit``, empty ``followups`` and
        ``use_days``; outcome columns on ``episodes``; ``extras["missing_counts"]`` (per
        variable: rows, missing ``-9``/blank, unrecognised codes, absent from the file's layout)
        and ``extras["files"]`` (layout and rows per file).

    Raises
    ------
    FileReadError
        A path does not exist or a file cannot be read.
    MissingColumnError
        A file lacks CASEID or the discharge setting (SERVICES_D / SERVSETD).
    ParameterError
        An invalid option.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "teds.csv"
    >>> _ = f.write_text("CASEID,DISYR,SERVICES_D,REASON,FREQ1,FREQ1_D\\n7,2019,6,4,3,-9\\n")
    >>> rec = read_teds_d(f)
    >>> rec.provenance, rec.time_basis, rec.episodes.loc[0, "completed_or_transferred"]
    ('teds_d', 'study_day', np.True_)
    """
    _check_engine(engine, ("pandas", "dask"))
    files = _list_files(path)
    extra = _check_columns(columns)
    keep_years = _years(years)
    wanted = [*TEDS_VARIABLES, *extra]

    frames: list[pd.DataFrame] = []
    rejected: list[pd.DataFrame] = []
    file_rows: list[dict[str, Any]] = []
    counts_total: dict[str, list[int]] = {}
    remarks: list[str] = [
        "Records are discharges, not people: episode_id = patient_id = CASEID; a person with "
        "several treatment episodes appears several times.",
        "TEDS-D has no dates: time_basis is 'study_day', admission_date is empty and the "
        "discharge year is the covariate discharge_year.",
        "Length of stay is ordinal (1-30 days, then ranges): use los_code/los_band and "
        "los_summary(); discharge_day is left empty.",
    ]
    n_read = n_year_dropped = n_mat_dropped = n_mat_unknown = 0
    for f in files:
        if engine == "dask":
            raw_frame, layout, n_file, text_cols, absent, notes, enc = _dask_raw(
                f, wanted, encoding
            )
        else:
            raw = _read_raw(f, wanted, encoding)
            raw_frame, layout, text_cols, absent = (
                raw.frame,
                raw.layout,
                raw.text_columns,
                raw.absent,
            )
            n_file, notes, enc = len(raw_frame), raw.notes, raw.encoding
        remarks.extend(notes)
        n_read += n_file
        row_no = np.arange(1, n_file + 1)
        episodes, caseid_missing, counts, setting = _episode_frame(
            raw_frame, layout, text_cols, extra
        )
        del raw_frame
        keep = np.ones(n_file, dtype=bool)
        if keep_years is not None:
            year = episodes["discharge_year"].to_numpy(dtype="float64", na_value=np.nan)
            in_years = np.isin(year, list(keep_years))
            n_year_dropped += int((~in_years).sum())
            keep &= in_years
        if exclude_medication_assisted:
            mat = episodes["medication_assisted"]
            drop = mat.fillna(False).to_numpy(dtype=bool)
            n_mat_dropped += int((drop & keep).sum())
            n_mat_unknown += int((mat.isna().to_numpy() & keep).sum())
            keep &= ~drop
        for var, (n_miss, n_unrec) in counts.items():
            tot = counts_total.setdefault(var, [0, 0, 0, 0])
            tot[0] += n_file
            tot[1] += n_miss
            tot[2] += n_unrec
        for var in absent:
            if var in counts_total or var in wanted:
                tot = counts_total.setdefault(var, [0, 0, 0, 0])
                tot[3] += n_file
        no_setting = keep & (setting == codes.MISSING) & ~caseid_missing
        no_caseid = keep & caseid_missing
        for mask, column, reason, text in (
            (no_caseid, "CASEID", "missing_required_value", "CASEID is empty"),
            (
                no_setting,
                "SERVICES_D",
                "missing_required_value",
                "the discharge service setting is missing (-9) or not a codebook code",
            ),
        ):
            if mask.any():
                rejected.append(_rejections(f.name, row_no[mask], column, reason, text))
        keep &= ~caseid_missing & (setting != codes.MISSING)
        accepted = episodes.loc[keep] if not keep.all() else episodes
        frames.append(accepted.assign(_source_row=row_no[keep], _source=f.name))
        file_rows.append(
            {
                "file": f.name,
                "layout": layout,
                "text_labels": bool(text_cols),
                "encoding": enc,
                "rows": n_file,
                "accepted": int(keep.sum()),
                "absent_variables": ", ".join(v for v in absent if v in TEDS_VARIABLES),
            }
        )
        if text_cols:
            remarks.append(
                f"{f.name}: {len(text_cols)} variables hold text labels and were decoded to codes."
            )
        if layout == "2006-2014":
            remarks.append(
                f"{f.name}: 2006-2014 layout (SERVSETD; AGE, FREQ1, ETHNIC, RACE, SUB1 recoded to "
                "the 2017+ codes; no discharge-time use, employment, living or self-help measures)."
            )
        elif layout == "2015-2016":
            remarks.append(f"{f.name}: 2015-2016 layout (no admission service setting SERVICES).")
        elif layout == "2023+":
            remarks.append(f"{f.name}: 2023+ layout (GENDER is named SEX).")

    episodes = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    episodes = episodes.reset_index(drop=True)
    episodes, dup_rejected, id_note = _deduplicate(episodes)
    if id_note:
        remarks.append(id_note)
    if dup_rejected is not None:
        rejected.append(dup_rejected)
    episodes = episodes.drop(columns=["_source_row", "_source"])
    if pool_residential:
        episodes = _pool_frame(episodes)
    if keep_years is not None:
        remarks.append(
            f"years={sorted(keep_years)}: {n_year_dropped} of {n_read} records outside these "
            "discharge years were skipped."
        )
    if exclude_medication_assisted:
        remarks.append(
            f"exclude_medication_assisted: {n_mat_dropped} records with METHUSE = 1 were dropped; "
            f"{n_mat_unknown} with METHUSE missing were kept."
        )
    missing = _missing_table(counts_total)
    top = missing[missing["variable"].isin(["REASON", "FREQ1_D", "LOS", "SERVICES_D"])]
    remarks.append(
        "Missing (-9 or blank) per outcome variable: "
        + "; ".join(
            f"{var} {int(miss) + int(absent)} of {int(rows)}"
            for var, miss, absent, rows in zip(
                top["variable"], top["n_missing"], top["n_not_in_file"], top["n_rows"], strict=True
            )
        )
        + ". All variables: extras['missing_counts']."
    )
    rejected_frame = (
        pd.concat(rejected, ignore_index=True)
        if rejected
        else pd.DataFrame({c: pd.Series(dtype="object") for c in REJECTED_COLUMNS})
    )
    n_in_scope = n_read - n_year_dropped - n_mat_dropped
    if len(rejected_frame):
        remarks.append(
            f"{len(rejected_frame)} of {n_in_scope} records rejected (reasons in records.rejected)."
        )
    return Records(
        episodes=episodes,
        followups=_empty(FOLLOWUPS.names),
        use_days=_empty(USE_DAYS.names),
        rejected=rejected_frame,
        read_counts={"episodes": n_in_scope, "followups": 0, "use_days": 0},
        sources={"episodes": ", ".join(f.name for f in files)},
        timepoints=("intake", "discharge"),
        time_basis="study_day",
        data_as_of=None,
        file_hashes={f.name: _sha256(f) for f in files},
        provenance="teds_d",
        remarks=tuple(remarks),
        extras={"missing_counts": missing, "files": pd.DataFrame(file_rows)},
        # a discharge record has no later follow-up: outcomes only at timepoints with rows
        options={
            "timepoints_from_followups": True,
            "record_unit": "treatment discharges (TEDS-D)",
        },
    )


def _empty(names: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in names})


def _rejections(source: str, rows: np.ndarray, column: str, reason: str, text: str) -> pd.DataFrame:
    n = len(rows)
    return pd.DataFrame(
        {
            "table": np.repeat("episodes", n),
            "source": np.repeat(source, n),
            "row": rows.astype("int64"),
            "column": np.repeat(column, n),
            "reason": np.repeat(reason, n),
            "message": np.repeat(f"Row rejected: {text}.", n),
        }
    )


def _deduplicate(episodes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None, str | None]:
    """Reject repeated (discharge year, CASEID) pairs; make ids year-qualified if CASEIDs repeat
    across years only."""
    ids = episodes["episode_id"]
    dup_any = ids.duplicated(keep=False)
    if not bool(dup_any.any()):
        return episodes, None, None
    key = pd.DataFrame({"y": episodes["discharge_year"], "id": ids})
    dup_pair = key.duplicated(keep="first").to_numpy()
    rejected = None
    if dup_pair.any():
        rejected = _rejections(
            "",
            episodes["_source_row"].to_numpy()[dup_pair],
            "CASEID",
            "duplicate_episode_id",
            "CASEID repeats within the same discharge year",
        )
        rejected["source"] = episodes["_source"].to_numpy()[dup_pair]
        episodes = episodes.loc[~dup_pair].reset_index(drop=True)
    note = None
    if bool(episodes["episode_id"].duplicated().any()):
        year = episodes["discharge_year"].astype("str").fillna("NA")
        qualified = (year + "-" + episodes["episode_id"]).astype("str")
        episodes["episode_id"] = qualified
        episodes["patient_id"] = qualified
        note = (
            "CASEID repeats across discharge years: episode_id and patient_id are "
            "'<DISYR>-<CASEID>' so that every discharge has a unique id."
        )
    return episodes, rejected, note


def _missing_table(counts: Mapping[str, Sequence[int]]) -> pd.DataFrame:
    rows = []
    for var, (n_rows, n_miss, n_unrec, n_absent) in counts.items():
        total = n_rows + n_absent if n_rows else n_absent
        rows.append(
            {
                "variable": var,
                "n_rows": total,
                "n_missing": n_miss,
                "n_unrecognised": n_unrec,
                "n_not_in_file": n_absent,
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=["variable", "n_rows", "n_missing", "n_unrecognised"])
    # n_rows counts rows of files that have the variable plus those that lack it
    table["share_missing"] = (
        (table["n_missing"] + table["n_unrecognised"] + table["n_not_in_file"]) / table["n_rows"]
    ).astype(float)
    return table


# --- pooling --------------------------------------------------------------------------------------


def _pool_frame(frame: pd.DataFrame) -> pd.DataFrame:
    cohort = (
        frame["cohort"].astype("str").replace(dict.fromkeys(RESIDENTIAL_COHORTS, "residential"))
    )
    return frame.assign(cohort=pd.Categorical(cohort, categories=list(_POOLED_COHORTS)))


def pool_residential(data: Any) -> Any:
    """Report the three residential cohorts (SERVICES_D 3, 4, 5) as one ``"residential"`` cohort.

    Parameters
    ----------
    data : Records, pandas.DataFrame, dask DataFrame or DuckDB relation
        TEDS-D records or an outcome frame with a ``cohort`` column.

    Returns
    -------
    Same type as ``data``, with ``cohort`` pooled.

    Examples
    --------
    >>> df = pd.DataFrame({"cohort": ["IOP", "residential_short", "residential_long"]})
    >>> pool_residential(df)["cohort"].tolist()
    ['IOP', 'residential', 'residential']
    """
    if isinstance(data, Records):
        return dataclasses.replace(
            data,
            episodes=_pool_frame(data.episodes),
            remarks=(*data.remarks, "Residential cohorts pooled into 'residential'."),
        )
    if is_duckdb(data):
        cases = " ".join(f"WHEN '{c}' THEN 'residential'" for c in RESIDENTIAL_COHORTS)
        return data.project(f'* REPLACE (CASE "cohort" {cases} ELSE "cohort" END AS "cohort")')
    if is_dask(data):
        return data.map_partitions(_pool_frame, meta=_pool_frame(data._meta))
    if isinstance(data, pd.DataFrame):
        return _pool_frame(data)
    raise ParameterError(
        f"pool_residential accepts Records, a pandas/Dask DataFrame or a DuckDB relation; "
        f"received {type(data).__name__}."
    )


# --- larger-than-memory engines -------------------------------------------------------------------


def _frame_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Outcome-frame view of decoded episodes (drop the empty date/day placeholder columns)."""
    return frame.drop(columns=["patient_id", "admission_date", "discharge_date", "discharge_day"])


def _decode_partition(
    part: pd.DataFrame,
    layout: str,
    text_columns: tuple[str, ...],
    extra: tuple[str, ...],
    keep_years: tuple[int, ...] | None,
    exclude_mat: bool,
    pool: bool,
) -> pd.DataFrame:
    """Decode one partition exactly as ``read_teds_d`` decodes a file (used by Dask)."""
    episodes, caseid_missing, _, setting = _episode_frame(part, layout, text_columns, extra)
    keep = ~caseid_missing & (setting != codes.MISSING)
    if keep_years is not None:
        year = episodes["discharge_year"].to_numpy(dtype="float64", na_value=np.nan)
        keep &= np.isin(year, list(keep_years))
    if exclude_mat:
        keep &= ~episodes["medication_assisted"].fillna(False).to_numpy(dtype=bool)
    out = _frame_columns(episodes.loc[keep])
    if pool:
        out = _pool_frame(out)
    return out


def _sniff(
    path: Path, wanted: Sequence[str], encoding: str | None
) -> tuple[str, dict[str, str], list[str], list[str], str]:
    """Layout, source map, absent and text-labelled variables of a CSV/Parquet file (header and
    first block only)."""
    suffix = _suffix(path)
    if suffix in _SUFFIXES_PARQUET:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        found, absent = _source_map(schema.names, wanted)
        text = [
            v
            for v, s in found.items()
            if v != "CASEID"
            and not (
                pa.types.is_integer(schema.field(s).type)
                or pa.types.is_floating(schema.field(s).type)
            )
        ]
        return _layout(schema.names), found, absent, text, "parquet"
    if suffix not in _SUFFIXES_CSV:
        raise ParameterError(
            f"engine='dask'/'duckdb' reads CSV and Parquet; {path.name!r} is {suffix!r}. Use "
            "engine='pandas' or export the file to Parquet."
        )
    for enc in [encoding] if encoding else ["utf8", "latin-1"]:
        try:
            header, is_text = _csv_header(path, enc)
        except Exception:
            continue
        found, absent = _source_map(header, wanted)
        text = [v for v, s in found.items() if is_text[s] and v != "CASEID"]
        return _layout(header), found, absent, text, enc
    raise FileReadError(f"Could not read the header of {path.name!r}; pass encoding=.")


def _dask_read(
    path: Path, wanted: Sequence[str], encoding: str | None, blocksize: str | int
) -> tuple[Any, str, list[str], list[str]]:
    import dask.dataframe as dd

    layout, found, absent, text, enc = _sniff(path, wanted, encoding)
    if enc == "parquet":
        ddf = dd.read_parquet(str(path), columns=list(found.values()))
    else:
        dtypes = {
            s: ("object" if v in text else "float64") for v, s in found.items() if v != "CASEID"
        }
        dtypes[found["CASEID"]] = "object" if "CASEID" in text else "float64"
        ddf = dd.read_csv(
            str(path),
            usecols=list(found.values()),
            dtype=dtypes,
            blocksize=blocksize,
            encoding="latin-1" if enc == "latin-1" else "utf-8",
            keep_default_na=True,
        )
    ddf = ddf.rename(columns={s: v for v, s in found.items()})
    return ddf, layout, text, absent


def _dask_raw(
    path: Path, wanted: Sequence[str], encoding: str | None
) -> tuple[pd.DataFrame, str, int, tuple[str, ...], tuple[str, ...], list[str], str | None]:
    """Read one file with Dask (parallel parse) and collect the raw needed columns."""
    ddf, layout, text, absent = _dask_read(path, wanted, encoding, "64MB")
    frame = ddf.compute().reset_index(drop=True)
    if frame.empty:
        raise EmptyFileError(f"TEDS-D file {path.name!r} has no data rows.")
    return frame, layout, len(frame), tuple(text), tuple(absent), [], encoding


def teds_outcome_frame(
    path: str | Path | Iterable[str | Path],
    *,
    years: int | Iterable[int] | None = None,
    columns: Sequence[str] | None = None,
    exclude_medication_assisted: bool = False,
    pool_residential: bool = False,
    encoding: str | None = None,
    engine: Engine = "dask",
    blocksize: str | int = "64MB",
) -> Any:
    """TEDS-D outcome columns as a lazy Dask DataFrame or DuckDB relation (larger than memory).

    Rows and columns are those of ``read_teds_d(...).episodes`` without the empty date/day
    placeholders and ``patient_id``: ``episode_id``, ``cohort``, ``level_of_care``,
    ``discharge_reason``, ``discharge_year``, the :data:`OUTCOME_COLUMNS`, labels and LOS
    columns. Records without CASEID or discharge setting are left out, as ``read_teds_d``
    rejects them; duplicated CASEIDs are *not* removed (that needs a global pass).

    Records are discharges, not people.

    Parameters
    ----------
    path, years, columns, exclude_medication_assisted, pool_residential, encoding
        As in :func:`read_teds_d` (CSV and Parquet files only).
    engine : {"dask", "duckdb", "pandas"}, default "dask"
        ``"dask"``: partitions are decoded by the same code as ``read_teds_d``. ``"duckdb"``: a
        DuckDB relation whose SQL is generated from the same code tables. ``"pandas"``: the
        in-memory frame.
    blocksize : str or int, default "64MB"
        Dask CSV partition size.

    Returns
    -------
    dask.dataframe.DataFrame, duckdb.DuckDBPyRelation or pandas.DataFrame

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from iopoutcomes._counts import group_counts
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "teds.csv"
    >>> _ = f.write_text("CASEID,DISYR,SERVICES_D,REASON\\n1,2019,6,1\\n2,2019,6,2\\n3,2019,5,1\\n")
    >>> rel = teds_outcome_frame(f, engine="duckdb")
    >>> group_counts(rel, "completed", "cohort")[["cohort", "n", "n_events"]]
                 cohort  n  n_events
    0               IOP  2         1
    1  residential_long  1         1
    """
    _check_engine(engine, ("dask", "duckdb", "pandas"))
    files = _list_files(path)
    extra = tuple(_check_columns(columns))
    keep_years = _years(years)
    if engine == "pandas":
        rec = read_teds_d(
            files,
            years=years,
            columns=columns,
            exclude_medication_assisted=exclude_medication_assisted,
            pool_residential=pool_residential,
            encoding=encoding,
        )
        return _frame_columns(rec.episodes)
    wanted = [*TEDS_VARIABLES, *extra]
    if engine == "duckdb":
        return _duckdb_frame(
            files,
            wanted,
            extra,
            keep_years,
            exclude_medication_assisted,
            pool_residential,
            encoding,
        )
    import dask.dataframe as dd

    parts = []
    for f in files:
        ddf, layout, text, _ = _dask_read(f, wanted, encoding, blocksize)
        args = (layout, tuple(text), extra, tuple(sorted(keep_years)) if keep_years else None,
                exclude_medication_assisted, pool_residential)  # fmt: skip
        meta = _decode_partition(ddf._meta, *args)
        parts.append(ddf.map_partitions(_decode_partition, *args, meta=meta))
    return parts[0] if len(parts) == 1 else dd.concat(parts, ignore_index=True)


# --- DuckDB (SQL generated from the same code tables) --------------------------------------------


def _sql_in(values: Iterable[int]) -> str:
    return ", ".join(str(v) for v in sorted(values))


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_code(var: str, source: str | None, text: bool, layout: str) -> str:
    """SQL expression giving the harmonised code of ``var`` (-9 missing)."""
    if source is None:
        return str(codes.MISSING)
    col = f'"{source}"'
    recode = ""
    if layout == "2006-2014" and var in codes.RECODE_2006_2014:
        recode = " ".join(f"WHEN {k} THEN {v}" for k, v in codes.RECODE_2006_2014[var].items())
    if text:
        lookup = codes.label_to_code(var) if var in codes.CODE_LABELS else {}
        whens = " ".join(f"WHEN {_sql_str(k)} THEN {v}" for k, v in lookup.items())
        norm = f"regexp_replace(lower(trim(CAST({col} AS VARCHAR))), '[^a-z0-9]', '', 'g')"
        fallback = f"COALESCE(TRY_CAST(TRY_CAST(trim(CAST({col} AS VARCHAR)) AS DOUBLE) AS INTEGER), {codes.MISSING})"
        if recode:  # numbers written as text are in the 2006-2014 coding; labels are not
            fallback = f"(CASE {fallback} {recode} ELSE {fallback} END)"
        expr = f"(CASE {norm} {whens} ELSE {fallback} END)" if whens else fallback
    else:
        expr = f"COALESCE(TRY_CAST({col} AS INTEGER), {codes.MISSING})"
        if recode:
            expr = f"(CASE {expr} {recode} ELSE {expr} END)"
    if var == "DISYR" or var not in codes.CODE_LABELS:
        return f"(CASE WHEN {expr} > 0 THEN {expr} ELSE {codes.MISSING} END)"
    return f"(CASE WHEN {expr} IN ({_sql_in(codes.CODE_LABELS[var])}) THEN {expr} ELSE {codes.MISSING} END)"


def _sql_derived(extra: Sequence[str]) -> list[str]:
    """SELECT expressions of the outcome frame, in the pandas column order."""
    out = []
    for lab in _LABELS:
        whens = " ".join(f"WHEN {k} THEN {_sql_str(v)}" for k, v in lab.labels.items())
        out.append(f'CASE "{lab.variable}" {whens} END AS "{lab.name}"')
    for flag in _FLAGS:
        out.append(
            f'CASE WHEN "{flag.variable}" IN ({_sql_in(flag.true)}) THEN TRUE '
            f'WHEN "{flag.variable}" IN ({_sql_in(flag.false)}) THEN FALSE END AS "{flag.name}"'
        )
    for ch in _CHANGES:

        def score(var: str, ch: _Change = ch) -> str:
            return (
                'CASE "'
                + var
                + '" '
                + " ".join(f"WHEN {k} THEN {v}" for k, v in ch.score.items())
                + " END"
            )

        diff = f"(({score(ch.discharge)}) - ({score(ch.admission)}))"
        out.append(f'CAST({diff} AS TINYINT) AS "{ch.name}"')
        op = "<" if ch.good == "down" else ">"
        out.append(f'({diff} {op} 0) AS "{ch.flag}"')
    out.append('CAST(CASE WHEN "LOS" BETWEEN 1 AND 37 THEN "LOS" END AS TINYINT) AS "los_code"')
    low = " ".join(f"WHEN {k} THEN {v[0]}" for k, v in codes.LOS_DAYS.items())
    high = " ".join(f"WHEN {k} THEN {v[1]}" for k, v in codes.LOS_DAYS.items() if v[1] is not None)
    out.append(f'CAST(CASE "LOS" {low} END AS SMALLINT) AS "los_days_low"')
    out.append(f'CAST(CASE "LOS" {high} END AS SMALLINT) AS "los_days_high"')
    out.append('CAST(CASE WHEN "DISYR" > 0 THEN "DISYR" END AS SMALLINT) AS "discharge_year"')
    for var in extra:
        out.append(
            f'CAST(CASE WHEN "{var}" <> {codes.MISSING} THEN "{var}" END AS SMALLINT) AS "{var.lower()}"'
        )
    named = {e.rsplit(" AS ", 1)[1].strip('"'): e for e in out}
    named["episode_id"] = '"CASEID" AS "episode_id"'
    return [named[c] for c in _output_columns(tuple(extra))]


def _output_columns(extra: tuple[str, ...]) -> list[str]:
    """Columns of the outcome frame (decoding an empty frame with the shared code)."""
    empty = pd.DataFrame({"CASEID": pd.Series(dtype="float64")})
    return list(_decode_partition(empty, "2017-2022", (), extra, None, False, False).columns)


def _duckdb_frame(
    files: Sequence[Path],
    wanted: Sequence[str],
    extra: Sequence[str],
    keep_years: set[int] | None,
    exclude_mat: bool,
    pool: bool,
    encoding: str | None,
) -> Any:
    import duckdb

    con = duckdb.connect()
    selects = []
    for f in files:
        layout, found, _, text, enc = _sniff(f, wanted, encoding)
        path = _sql_str(str(f))
        if enc == "parquet":
            source = f"read_parquet({path})"
        else:
            enc_sql = ", encoding='latin-1'" if enc == "latin-1" else ""
            source = f"read_csv({path}, header=true, all_varchar=true{enc_sql})"
        parts = [
            f'CAST(TRY_CAST(TRY_CAST("{found["CASEID"]}" AS DOUBLE) AS BIGINT) AS VARCHAR) AS "CASEID"'
            if "CASEID" not in text
            else f'NULLIF(trim(CAST("{found["CASEID"]}" AS VARCHAR)), \'\') AS "CASEID"'
        ]
        for var in wanted:
            if var == "CASEID":
                continue
            parts.append(f'{_sql_code(var, found.get(var), var in text, layout)} AS "{var}"')
        selects.append(f"SELECT {', '.join(parts)} FROM {source}")
    union = " UNION ALL ".join(selects)
    where = ['"CASEID" IS NOT NULL', f'"SERVICES_D" <> {codes.MISSING}']
    if keep_years is not None:
        where.append(f'"DISYR" IN ({_sql_in(keep_years)})')
    if exclude_mat:
        where.append('"METHUSE" <> 1')
    derived = _sql_derived(extra)
    cols = ", ".join(derived)
    sql = f"SELECT {cols} FROM ({union}) WHERE {' AND '.join(where)}"
    relation = con.sql(sql)
    if pool:
        relation = pool_residential(relation)
    return relation


# --- length of stay -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class LosSummary(ResultDisplay):
    """Length-of-stay distribution by group: shares by LOS band and the median band.

    LOS is ordinal (1-30 days exactly, then ranges), so it is summarised by the band holding the
    median discharge and the share of discharges in each band, never by a mean of codes.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group and band: ``group``, ``los_code``, ``los_band``, ``n``, ``share``
        (of the group's discharges with a known LOS) and ``cumulative_share``.
    medians : pandas.DataFrame
        One row per group: ``group``, ``n`` (known LOS), ``n_missing``, ``median_code``,
        ``median_band``, ``median_days_low``, ``median_days_high``.
    by : tuple of str
        Grouping columns (``group`` holds their values joined by " / ").
    remarks : tuple of str

    Examples
    --------
    >>> import pandas as pd
    >>> import iopoutcomes as iop
    >>> df = pd.DataFrame({"cohort": ["IOP"] * 3 + ["OP"] * 2, "los_code": [5, 31, 33, 34, 36]})
    >>> s = iop.los_summary(df)
    >>> print(repr(s).splitlines()[0])
    LosSummary: median length-of-stay band by cohort (2 groups, 5 discharges)
    >>> s.to_frame()[["group", "n", "median_band"]]
      group  n     median_band
    0   IOP  3   31 to 45 days
    1    OP  2  91 to 120 days
    >>> s.shares().columns.tolist()
    ['group', 'los_code', 'los_band', 'n', 'share', 'cumulative_share']
    """

    table: pd.DataFrame
    medians: pd.DataFrame
    by: tuple[str, ...]
    remarks: tuple[str, ...] = ()

    def _header(self) -> str:
        n = int(self.medians["n"].sum() + self.medians["n_missing"].sum())
        return (
            f"LosSummary: median length-of-stay band by {', '.join(self.by)} "
            f"({len(self.medians)} groups, {n} discharges)"
        )

    def to_frame(self) -> pd.DataFrame:
        """The medians table (one row per group); ``table`` holds the shares by band."""
        return self.medians.copy()

    def shares(self) -> pd.DataFrame:
        """Shares by band (a copy of ``table``)."""
        return self.table.copy()

    def definition_text(self) -> str:
        return (
            "Median band: the LOS band where the cumulative share of discharges (with a known "
            "length of stay, in code order) first reaches one half. TEDS-D LOS codes 1-30 are "
            "exact days, 31-37 are ranges (31-45, 46-60, 61-90, 91-120, 121-180, 181-365 days, "
            "more than a year). Records are discharges, not people."
        )


def _los_counts(data: Any, keys: list[str]) -> pd.DataFrame:
    """Rows per (keys, los_code), LOS missing as code 0; any engine."""
    if is_duckdb(data):
        quoted = ", ".join(f'"{k}"' for k in keys)
        sql = (
            f'SELECT {quoted}, COALESCE(CAST("los_code" AS INTEGER), 0) AS los_code, COUNT(*) AS n '
            f"FROM los_relation WHERE {' AND '.join(f'{chr(34)}{k}{chr(34)} IS NOT NULL' for k in keys)} "
            f"GROUP BY ALL"
        )
        return data.query("los_relation", sql).df()
    part = data[[*keys, "los_code"]]
    if is_dask(data):
        part = part.assign(los_code=part["los_code"].fillna(0).astype("int64"), _one=1)
        out = part.groupby([*keys, "los_code"], dropna=True)["_one"].sum().compute()
        return out.rename("n").reset_index()
    part = part.assign(los_code=part["los_code"].fillna(0).astype("int64"))
    out = part.groupby([*keys, "los_code"], dropna=True, observed=True).size()
    return out.rename("n").reset_index()


def los_summary(data: Any, by: str | Sequence[str] = "cohort") -> LosSummary:
    """Median length-of-stay band and shares by band, per group.

    Parameters
    ----------
    data : Records, pandas.DataFrame, dask DataFrame or DuckDB relation
        TEDS-D records (``read_teds_d``) or an outcome frame with ``los_code`` and ``by``.
    by : str or sequence of str, default "cohort"
        Grouping columns.

    Returns
    -------
    LosSummary

    Examples
    --------
    >>> df = pd.DataFrame({"cohort": ["IOP"] * 3 + ["OP"], "los_code": [5, 31, 33, pd.NA]})
    >>> s = los_summary(df)
    >>> s.to_frame()[["group", "n", "n_missing", "median_band"]]
      group  n  n_missing    median_band
    0   IOP  3          0  31 to 45 days
    1    OP  0          1           <NA>
    """
    frame = data.episodes if isinstance(data, Records) else data
    keys = [by] if isinstance(by, str) else list(by)
    columns = list(frame.columns)
    missing = [c for c in [*keys, "los_code"] if c not in columns]
    if missing:
        raise MissingColumnError(
            f"los_summary needs columns {missing}; found {columns}. Read the data with "
            "read_teds_d or teds_outcome_frame, or pass by= with existing columns."
        )
    counts = _los_counts(frame, keys)
    counts["los_code"] = counts["los_code"].astype("int64")
    counts["n"] = counts["n"].astype("int64")
    for k in keys:
        counts[k] = counts[k].astype("str")
    counts["group"] = counts[keys].agg(" / ".join, axis=1) if len(keys) > 1 else counts[keys[0]]
    known = counts[counts["los_code"] > 0].sort_values(["group", "los_code"], kind="stable")
    known = known.reset_index(drop=True)
    total = known.groupby("group")["n"].transform("sum")
    known["share"] = known["n"] / total
    known["cumulative_share"] = known.groupby("group")["n"].cumsum() / total
    known["los_band"] = known["los_code"].map(codes.LOS)
    table = known[["group", "los_code", "los_band", "n", "share", "cumulative_share"]]
    groups = pd.Index(sorted(counts["group"].unique()), name="group")
    n_known = known.groupby("group")["n"].sum().reindex(groups, fill_value=0)
    n_missing = counts[counts["los_code"] == 0].groupby("group")["n"].sum()
    n_missing = n_missing.reindex(groups, fill_value=0)
    med = known[known["cumulative_share"] >= 0.5].groupby("group")["los_code"].first()
    med = med.reindex(groups)
    med_code = pd.array(med.to_numpy(dtype="float64", na_value=np.nan), dtype="Int64")
    lows = {k: v[0] for k, v in codes.LOS_DAYS.items()}
    highs = {k: v[1] for k, v in codes.LOS_DAYS.items()}
    med_series = pd.Series(med_code, index=groups)
    medians = pd.DataFrame(
        {
            "group": groups.to_numpy(),
            "n": n_known.to_numpy(dtype="int64"),
            "n_missing": n_missing.to_numpy(dtype="int64"),
            "median_code": med_code,
            "median_band": pd.array(med_series.map(codes.LOS).to_numpy(), dtype="string"),
            "median_days_low": pd.array(
                med_series.map(lows).to_numpy(dtype="float64", na_value=np.nan), dtype="Int64"
            ),
            "median_days_high": pd.array(
                med_series.map(highs).to_numpy(dtype="float64", na_value=np.nan), dtype="Int64"
            ),
        }
    )
    remarks = ["Records are discharges, not people."]
    if int(medians["n_missing"].sum()):
        remarks.append(
            f"{int(medians['n_missing'].sum())} discharges with LOS missing are left out of the "
            "shares and medians."
        )
    return LosSummary(
        table=table.reset_index(drop=True), medians=medians, by=tuple(keys), remarks=tuple(remarks)
    )
