"""Typing columns: text, vocabularies, dates, numbers and flags, each with its row problems.

Every canonical column is typed by :func:`type_column`, a pure function of the source column
and the options: it returns the typed values and the rows that break a rule (as
:class:`~._rejections.Problem` masks), so the columns of a table can be typed one after the
other or side by side. Text is trimmed (empty text is missing); vocabulary values match
case-insensitively and are stored in their canonical spelling; dates are ISO ``YYYY-MM-DD``
unless a ``strptime`` format is declared, and must fall in a plausible range; numbers must be
finite; text must hold no control characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..exceptions import ParameterError
from ..schema import (
    ASAM_EDITION,
    LEVEL_OF_CARE_FROM_ASAM3,
    LEVELS_OF_CARE,
    SERVICE_WORDINGS,
    TABLES,
    ColumnSpec,
    TableSpec,
)
from ._rejections import Problem

TABLE_ORDER: tuple[str, ...] = ("episodes", "followups", "use_days", "services")

STRING = pd.StringDtype()
DATE: Literal["datetime64[ns]"] = "datetime64[ns]"
KIND_DTYPE: dict[str, Any] = {
    "id": STRING,
    "label": STRING,
    "category": STRING,
    "date": DATE,
    "integer": "Int64",
    "number": "float64",
    "flag": "boolean",
    "day": "Int64",
}
TEXT_KINDS = ("id", "label", "category")
DAYS_COLUMNS = ("days_used_past30", "days_alcohol_past30", "days_drugs_past30")
VOCAB_REASONS = {
    "status": "unknown_status",
    "discharge_reason": "unknown_discharge_reason",
    "uds_result": "unknown_uds_result",
    "source": "unknown_source",
    "timepoint": "unknown_timepoint",
    "service_type": "unknown_service_type",
    "sud_diagnosis": "unknown_sud_diagnosis",
    "medication": "unknown_medication",
}
_TRUE = ("1", "true", "t", "yes", "y")
_FALSE = ("0", "false", "f", "no", "n")
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
# C0 control characters other than tab, line feed and carriage return, and DEL: what
# spreadsheet writers refuse and terminals misprint
_CONTROL = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]"
_CONTROL_BYTES = np.zeros(256, dtype=bool)
_CONTROL_BYTES[[*range(0, 9), 11, 12, *range(14, 32), 127]] = True
_NAT = np.iinfo(np.int64).min
_DAY_NS = 86_400_000_000_000


def canonical_dtypes(table: str) -> dict[str, Any]:
    """Return the dtype of every canonical column of ``table`` after :func:`read_records`.

    Parameters
    ----------
    table : {"episodes", "followups", "use_days", "services"}
        Table name.

    Returns
    -------
    dict
        Column name -> pandas dtype (``string``, ``datetime64[ns]``, ``Int64``, ``float64``,
        ``boolean``).

    Examples
    --------
    >>> canonical_dtypes("followups")["days_used_past30"]
    'Int64'
    """
    return {c.name: KIND_DTYPE[c.kind] for c in table_spec(table).columns}


def table_spec(table: str) -> TableSpec:
    """The schema of a canonical table (``ParameterError`` for an unknown name)."""
    try:
        return TABLES[table]
    except KeyError:
        raise ParameterError(
            f"Unknown table {table!r}; the canonical tables are {list(TABLE_ORDER)}."
        ) from None


def empty_table(table: str) -> pd.DataFrame:
    """A table with the canonical columns and dtypes and no rows."""
    return pd.DataFrame(
        {name: pd.Series([], dtype=dtype) for name, dtype in canonical_dtypes(table).items()}
    )


@dataclass(frozen=True)
class DateRange:
    """Plausible dates, as whole days since 1970-01-01 (inclusive bounds)."""

    first: int
    last: int

    def describe(self) -> str:
        first = np.datetime64(self.first, "D")
        last = np.datetime64(self.last, "D")
        return f"expected {first} to {last}"


@dataclass(frozen=True)
class Options:
    """What typing a column needs besides the column itself."""

    codes: Mapping[str, Mapping[Any, Any]]
    date_format: str | None
    dates: DateRange
    vocabularies: Mapping[str, Sequence[str]]  # per column: its vocabulary (timepoints too)


# --- Arrow text ------------------------------------------------------------------------------


def as_text(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """Any column as Arrow ``large_string``, untrimmed (Arrow-backed text without a copy)."""
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        arr = pa.array(values.array)  # pandas' __arrow_array__: the Arrow data itself
    elif pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        arr = pc.cast(pa.array(values, from_pandas=True), pa.string())
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        arr = pa.array(values.dt.strftime("%Y-%m-%d"), from_pandas=True)
    else:
        arr = pa.array(values.astype(STRING), from_pandas=True)
    if not pa.types.is_large_string(arr.type):
        arr = pc.cast(arr, pa.large_string())
    return arr


def trimmed(arr: pa.Array | pa.ChunkedArray, few: bool = False) -> pa.Array | pa.ChunkedArray:
    """``arr`` with surrounding whitespace trimmed and empty texts made null.

    ``few`` says the column has few distinct values: they are checked once each, and a column
    that needs no trimming is returned as it is.
    """
    if few:
        uniq = pc.unique(arr)
        clean = pc.utf8_trim_whitespace(uniq)
        if (
            pc.all(pc.equal(clean, uniq)).as_py() is not False
            and pc.min(pc.binary_length(clean)).as_py() != 0
        ):
            return arr
    out = pc.utf8_trim_whitespace(arr)
    lengths = pc.binary_length(out)
    if pc.sum(lengths).as_py() == pc.sum(pc.binary_length(arr)).as_py():
        out = arr  # nothing was trimmed: keep the source buffers
    empty = pc.equal(lengths, 0)
    if not pc.any(empty).as_py():
        return out
    return pc.if_else(empty, pa.scalar(None, out.type), out)


def text_series(arr: pa.Array | pa.ChunkedArray, index: pd.Index | None = None) -> pd.Series:
    """Arrow text as a pandas ``string`` Series (no copy)."""
    return pd.Series(pd.array(arr, dtype=STRING), index=index)


def isnull(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Missing-value mask of an Arrow array as numpy booleans."""
    if arr.null_count == 0:
        return np.zeros(len(arr), dtype=bool)
    return np.asarray(pc.is_null(arr).to_numpy(zero_copy_only=False), dtype=bool)


def control_characters(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """True where a text value holds a control character (C0 other than tab/LF/CR, or DEL)."""
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    # a quick look at the raw bytes first: clean text (the usual case) needs no regex pass
    suspect = False
    for chunk in chunks:
        buffers = chunk.buffers()
        if len(buffers) > 2 and buffers[2] is not None:
            data = np.frombuffer(buffers[2], dtype=np.uint8)
            if _CONTROL_BYTES[data[(data < 32) | (data == 127)]].any():
                suspect = True
                break
    if not suspect:
        return np.zeros(len(arr), dtype=bool)
    found = pc.match_substring_regex(arr, _CONTROL)
    return np.asarray(pc.fill_null(found, False).to_numpy(zero_copy_only=False), dtype=bool)


def apply_codes(arr: pa.Array | pa.ChunkedArray, codes: Mapping[Any, Any] | None) -> Any:
    """Map source values to canonical ones (keys compared as trimmed text; ``None``: missing)."""
    if not codes:
        return arr
    keys = [_code_key(k) for k in codes]
    vals = [None if v is None else str(v) for v in codes.values()]
    hit = pc.index_in(arr, value_set=pa.array(keys, type=arr.type))
    mapped = pc.take(pa.array(vals, type=arr.type), hit)
    return pc.if_else(pc.is_null(hit), arr, mapped)


def _code_key(key: Any) -> str:
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key).strip()


def coded(values: pd.Series, codes: Mapping[Any, Any] | None) -> pd.Series:
    """``values`` with ``codes=`` applied (as text), or unchanged when there are none."""
    if not codes:
        return values
    return text_series(apply_codes(trimmed(as_text(values)), codes), values.index)


def exact_codes(
    values: pd.Series, vocabulary: Sequence[str]
) -> tuple[pa.Array | pa.ChunkedArray, np.ndarray] | None:
    """(the column as Arrow text, each row's position in ``vocabulary``, -1 when missing) when
    every present value is spelled exactly as in ``vocabulary``; ``None`` otherwise."""
    dtype = values.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return None
    text = as_text(values)
    code = pc.index_in(text, value_set=pa.array(list(vocabulary), pa.large_string()))
    if code.null_count != text.null_count:
        return None
    return text, flat_codes(code)


def flat_codes(codes: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Integer codes (e.g. from ``pc.index_in``) as one int32 numpy array, -1 for null."""
    filled = pc.fill_null(codes, -1)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=np.int32)


def match_vocabulary(
    arr: Any, vocabulary: Sequence[str], wordings: Mapping[str, str] | None = None
) -> tuple[Any, np.ndarray]:
    """Case-insensitive vocabulary match: (canonical spelling or null, not-in-vocabulary mask).

    With ``wordings`` (normalised wording -> canonical value, see
    :data:`~iopoutcomes.schema.SERVICE_WORDINGS`), values are compared after
    :func:`normalise_wording`, so the canonical names and the known wordings match whatever
    their case, spacing and punctuation.
    """
    vocab = pa.array(list(vocabulary), type=pa.large_string())
    if arr.type != vocab.type:
        arr = arr.cast(vocab.type)
    # the distinct values are a handful: match those, then spread back to the rows
    uniq = pc.drop_null(pc.unique(arr))
    if pc.all(pc.is_in(uniq, value_set=vocab)).as_py() is not False:
        return arr, np.zeros(len(arr), dtype=bool)
    if wordings is None:
        lowered = pa.array([v.lower() for v in vocabulary], vocab.type)
        canon_uniq = pc.take(vocab, pc.index_in(pc.utf8_lower(uniq), value_set=lowered))
    else:
        known = {normalise_wording(v): v for v in vocabulary}
        known.update({normalise_wording(k): v for k, v in wordings.items()})
        canon_uniq = pa.array(
            [known.get(normalise_wording(u)) for u in uniq.to_pylist()], vocab.type
        )
    canon = pc.take(canon_uniq, pc.index_in(arr, value_set=uniq))
    return canon, ~isnull(arr) & isnull(canon)


def normalise_wording(text: str) -> str:
    """``text`` lower-cased, every run of characters other than letters and digits one space.

    Examples
    --------
    >>> normalise_wording("MAT - Buprenorphine")
    'mat buprenorphine'
    >>> normalise_wording("peer_support")
    'peer support'
    """
    return " ".join(re.split(r"[^0-9a-z]+", text.lower())).strip()


# --- dates -----------------------------------------------------------------------------------


def parse_dates(
    values: pd.Series, date_format: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(whole days since 1970-01-01, missing mask, unparseable mask) of a date column.

    Any year from 1 to 9999 parses: whether it is plausible is checked afterwards.
    """
    n = len(values)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):  # typed dates (any unit)
        if getattr(values.dtype, "tz", None) is not None:
            values = values.dt.tz_localize(None)
        days = _to_days(values.to_numpy())
        return days, days == _NAT, np.zeros(n, dtype=bool)
    if values.dtype == object:
        return _object_dates(values, date_format)
    text = as_text(values)
    if date_format is None:
        # Arrow's strict ISO parser (exactly YYYY-MM-DD, real calendar dates) on the text as
        # given: clean columns (the usual case) need no trimmed copy
        as_date = _iso_dates(text)
        if as_date is None:
            text = trimmed(text)
            as_date = _iso_dates(text)
        if as_date is not None:
            missing = isnull(as_date)
            days = pc.fill_null(pc.cast(as_date, pa.int32()), 0)
            out = np.asarray(days.to_numpy(zero_copy_only=False), dtype=np.int64)
            if missing.any():
                out[missing] = _NAT
            return out, missing, np.zeros(n, bool)
    text = trimmed(text)
    missing = isnull(text)
    if date_format is None:
        # some value is not an ISO date: find which, row by row (strptime alone would also
        # take 2024-1-5, so the shape is checked first)
        shape = pc.fill_null(pc.match_substring_regex(text, _ISO_DATE), False)
        text = pc.if_else(shape, text, pa.scalar(None, text.type))
    parsed = pd.to_datetime(
        text_series(text), format=date_format or "%Y-%m-%d", errors="coerce"
    ).to_numpy()
    days = _to_days(parsed)
    return days, missing, ~missing & (days == _NAT)


def _iso_dates(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray | None:
    """``text`` as Arrow dates when every present value is an ISO date (``None`` otherwise)."""
    try:
        return pc.cast(text, pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _object_dates(
    values: pd.Series, date_format: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dates of a mixed column (Excel, hand-made frames): date objects as they are, text parsed."""
    is_text = values.map(type).isin((str,)).to_numpy()
    n = len(values)
    days = np.full(n, _NAT, dtype=np.int64)
    missing = np.array(values.isna().to_numpy(), dtype=bool)  # a copy: written below
    bad = np.zeros(n, dtype=bool)
    if is_text.any():
        t_days, t_missing, t_bad = parse_dates(
            values[is_text].astype(STRING).reset_index(drop=True), date_format
        )
        days[is_text] = t_days
        missing[is_text] = t_missing
        bad[is_text] = t_bad
    other = ~is_text & ~missing
    if other.any():
        parsed = pd.to_datetime(values[other].reset_index(drop=True), errors="coerce")
        o_days = _to_days(parsed.to_numpy())
        days[other] = o_days
        bad[other] = o_days == _NAT
    return days, missing, bad


def _to_days(stamps: np.ndarray) -> np.ndarray:
    """datetime64 values of any unit as whole days since 1970-01-01 (NaT: int64 minimum)."""
    return np.asarray(stamps).astype("datetime64[D]").view(np.int64)


def days_to_dates(days: np.ndarray, ok: np.ndarray) -> pd.Series:
    """``datetime64[ns]`` Series of the day numbers where ``ok`` (NaT elsewhere)."""
    nanoseconds = np.multiply(days, _DAY_NS)  # in range wherever ok
    nanoseconds[~ok] = _NAT
    return pd.Series(nanoseconds.view(DATE), copy=False)


def date_range(
    first: str | pd.Timestamp | None, last: str | pd.Timestamp | None, as_of: pd.Timestamp | None
) -> DateRange:
    """Plausible dates: from ``first`` (default 1900-01-01) to ``last`` (default a year after
    ``as_of``, or after today when the data are not dated)."""
    start = pd.Timestamp("1900-01-01") if first is None else pd.Timestamp(first)
    if last is None:
        reference = as_of if as_of is not None else pd.Timestamp.now(tz="UTC").tz_localize(None)
        end = reference.normalize() + pd.DateOffset(years=1)
    else:
        end = pd.Timestamp(last)
    lowest, highest = pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("D")
    start, end = max(start, lowest), min(end, highest)  # a datetime64[ns] holds no more
    return DateRange(
        int(np.datetime64(start.date(), "D").view(np.int64)),
        int(np.datetime64(end.date(), "D").view(np.int64)),
    )


# --- numbers and flags -------------------------------------------------------------------------


def parse_numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(float64 array with NaN for missing, unparseable mask, infinite mask)."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        nums = values.to_numpy(dtype="float64", na_value=np.nan)
        return nums, np.zeros(len(values), dtype=bool), np.isinf(nums)
    arr = trimmed(as_text(values))
    missing = isnull(arr)
    parsed = pd.to_numeric(text_series(arr), errors="coerce")
    nums = parsed.to_numpy(dtype="float64", na_value=np.nan)
    infinite = np.isinf(nums)
    return nums, ~missing & np.isnan(nums), infinite


def parse_flags(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse a 0/1 flag: (boolean Series, not-binary mask). Accepts 0/1, true/false, yes/no."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return values.astype("boolean").reset_index(drop=True), np.zeros(len(values), bool)
    if pd.api.types.is_numeric_dtype(dtype):
        nums = values.to_numpy(dtype="float64", na_value=np.nan)
        bad = ~np.isnan(nums) & ~np.isin(nums, (0.0, 1.0))
        return pd.Series(pd.arrays.BooleanArray(nums == 1.0, np.isnan(nums) | bad)), bad
    arr = pc.utf8_lower(trimmed(as_text(values), few=True))
    is_true = np.asarray(
        pc.is_in(arr, value_set=pa.array(_TRUE, arr.type)).to_numpy(zero_copy_only=False), bool
    )
    is_false = np.asarray(
        pc.is_in(arr, value_set=pa.array(_FALSE, arr.type)).to_numpy(zero_copy_only=False), bool
    )
    missing = isnull(arr)
    unmatched = ~missing & ~is_true & ~is_false
    if unmatched.any():  # numeric text such as "1.0" counts as 1
        nums = pd.to_numeric(text_series(arr), errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        is_true |= unmatched & (nums == 1.0)
        is_false |= unmatched & (nums == 0.0)
    bad = ~missing & ~is_true & ~is_false
    return pd.Series(pd.arrays.BooleanArray(is_true, ~(is_true | is_false))), bad


def int_array(nums: np.ndarray, drop: np.ndarray) -> pd.arrays.IntegerArray:
    """``Int64`` array from floats (NaN and ``drop`` become missing)."""
    mask = np.isnan(nums) | drop
    return pd.arrays.IntegerArray(np.where(mask, 0, nums).astype(np.int64), mask)


# --- one column --------------------------------------------------------------------------------


def type_column(
    values: pd.Series | None, col: ColumnSpec, n: int, options: Options
) -> tuple[Any, list[Problem]]:
    """Type one canonical column; return (typed values, the rows that break a rule).

    ``values`` is ``None`` when the source has no such column: an all-missing column (a
    required column is checked by the caller). Text comes back as Arrow text, dates and
    numbers as pandas Series or numpy arrays; :func:`assemble` makes the frame.
    """
    name = col.name
    if values is None:
        return missing_column(col.kind, n), []
    values = values.reset_index(drop=True)
    codes = options.codes.get(name)
    problems: list[Problem] = []

    def add(reason: str, mask: np.ndarray, detail: str = "") -> None:
        if mask.any():
            problems.append(Problem(reason, name, np.asarray(mask, dtype=bool), detail))

    if col.kind in TEXT_KINDS:
        vocabulary = options.vocabularies.get(name, col.vocabulary)
        reason = VOCAB_REASONS.get(name) if vocabulary is not None else None
        found = None if codes or vocabulary is None else exact_codes(values, vocabulary)
        if found is not None:  # the usual case: every value already canonical
            text = found[0]
        else:
            text = apply_codes(trimmed(as_text(values), few=col.kind != "id"), codes)
        if col.required:
            add("missing_required_value", isnull(text))
        add("control_character", control_characters(text))
        if found is None and reason is not None and vocabulary is not None:
            text, bad = match_vocabulary(text, vocabulary, SERVICE_WORDINGS.get(name))
            add(reason, bad)
        return text, problems
    if col.kind == "date":
        days, missing, bad = parse_dates(coded(values, codes), options.date_format)
        if col.required:
            add("missing_required_value", missing & ~bad)
        add("unparseable_date", bad, f"expected {options.date_format or '%Y-%m-%d'}")
        present = ~missing & ~bad
        out_of_range = present & ((days < options.dates.first) | (days > options.dates.last))
        add("date_out_of_range", out_of_range, options.dates.describe())
        return days_to_dates(days, present & ~out_of_range), problems
    if col.kind in ("integer", "day"):
        if not codes and isinstance(values.dtype, pd.Int64Dtype):  # whole numbers as read
            absent = values.isna().to_numpy()
            if name in DAYS_COLUMNS:
                data = values.to_numpy(dtype="int64", na_value=0)
                add("days_used_out_of_range", ~absent & ((data < 0) | (data > 30)))
            if col.required:
                add("missing_required_value", absent)
            return values, problems
        nums, bad, infinite = parse_numbers(coded(values, codes))
        add("unparseable_number", bad)
        add("unparseable_number", infinite, "not a finite number")
        nums = np.where(infinite, np.nan, nums)
        integral = np.isnan(nums) | (nums == np.round(nums))
        if name in DAYS_COLUMNS:
            add("days_used_not_integer", ~integral)
            add("days_used_out_of_range", ~np.isnan(nums) & ((nums < 0) | (nums > 30)))
        else:
            add("unparseable_number", ~integral, "expected a whole number")
        if col.required:
            add("missing_required_value", np.isnan(nums) & ~bad & ~infinite)
        return pd.Series(int_array(nums, ~integral)), problems
    if col.kind == "number":
        nums, bad, infinite = parse_numbers(coded(values, codes))
        add("unparseable_number", bad)
        add("unparseable_number", infinite, "not a finite number")
        return np.where(infinite, np.nan, nums), problems
    if col.kind == "flag":
        flag, bad = parse_flags(coded(values, codes))
        if name == "used":
            add("used_not_binary", bad)
        else:
            add("flag_not_binary", bad, "expected 0/1, true/false or yes/no")
        if col.required:
            add("missing_required_value", flag.isna().to_numpy() & ~bad)
        return flag, problems
    raise AssertionError(f"unknown column kind {col.kind!r}")  # pragma: no cover


def check_extra(values: pd.Series, name: str) -> list[Problem]:
    """Problems of a source column that is not canonical (a covariate): kept unchanged, so a
    value that could not be carried into outputs safely rejects its row."""
    dtype = values.dtype
    problems = []
    if pd.api.types.is_float_dtype(dtype):
        infinite = np.isinf(values.to_numpy(dtype="float64", na_value=np.nan))
        if infinite.any():
            problems.append(Problem("unparseable_number", name, infinite, "not a finite number"))
    elif isinstance(dtype, pd.StringDtype) or pd.api.types.is_object_dtype(dtype):
        text = as_text(values)
        control = control_characters(text)
        if control.any():
            problems.append(Problem("control_character", name, control))
        if pd.api.types.is_object_dtype(dtype):  # hand-made frames may mix in float infinities
            floats = values.map(type).isin((float,))
            numbers = pd.to_numeric(values.where(floats), errors="coerce")
            infinite = np.isinf(numbers.to_numpy(dtype="float64", na_value=np.nan))
            if infinite.any():
                problems.append(
                    Problem("unparseable_number", name, infinite, "not a finite number")
                )
    return problems


# --- level of care ----------------------------------------------------------------------------


def type_level_of_care(
    frame: pd.DataFrame, typed: dict[str, Any], codes: Mapping[str, Any]
) -> list[Problem]:
    """Normalised level of care from the vocabulary or an ASAM 3rd-edition code.

    Fills ``typed["level_of_care"]`` (and ``asam_code``/``asam_edition`` for ASAM codes).
    """
    n = len(frame)
    if "level_of_care" in frame.columns:
        column = "level_of_care"
    elif "asam_code" in frame.columns:
        column = "asam_code"
    else:
        typed["level_of_care"] = pa.nulls(n, pa.large_string())
        return []
    text = apply_codes(trimmed(as_text(frame[column]), few=True), codes.get(column))
    problems = []
    control = control_characters(text)
    if control.any():
        problems.append(Problem("control_character", column, control))
    # work on the distinct values (a handful), then spread them back to the rows
    uniq = pc.drop_null(pc.unique(text))
    idx = pc.index_in(text, value_set=uniq)
    u_text = text_series(uniq)
    lookup = {v.lower(): v for v in LEVELS_OF_CARE}
    u_level = np.array(u_text.str.lower().map(lookup).astype(object), dtype=object)
    # ASAM codes: "2.1", 2.1, "4", "4.0" all match; compared numerically at one decimal
    u_num = pd.to_numeric(u_text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    asam_keys = list(LEVEL_OF_CARE_FROM_ASAM3)
    tenths = np.round(np.array([float(k) for k in asam_keys]) * 10)
    with np.errstate(invalid="ignore"):  # inf - inf for texts such as "inf"
        scaled = np.round(u_num * 10)
        close = np.abs(u_num * 10 - scaled) < 1e-6
    match = (scaled[:, None] == tenths[None, :]) & close[:, None]
    which = np.where(match.any(axis=1), match.argmax(axis=1), -1)
    u_asam = pd.isna(u_level) & (which >= 0)
    u_level[u_asam] = np.array([LEVEL_OF_CARE_FROM_ASAM3[k] for k in asam_keys])[which[u_asam]]
    u_code = np.array(asam_keys, dtype=object)[np.maximum(which, 0)]
    u_code[~u_asam] = None
    rows = flat_codes(idx)

    def spread(values: np.ndarray) -> pa.Array:
        return pc.take(pa.array(values, type=pa.large_string(), from_pandas=True), idx)

    def row_flag(values: np.ndarray) -> np.ndarray:
        # the extra last entry (False) serves the rows with no value (-1)
        return np.append(np.asarray(values, dtype=bool), False)[rows]

    bad = row_flag(pd.isna(u_level))
    if bad.any():
        problems.append(Problem("unknown_level_of_care", column, bad))
    typed["level_of_care"] = spread(u_level)
    if not u_asam.any():
        return problems
    code = spread(u_code)
    u_edition = np.full(len(u_asam), None, dtype=object)
    u_edition[u_asam] = ASAM_EDITION
    edition = spread(u_edition)
    asam = pa.array(row_flag(u_asam))
    given_code = typed.get("asam_code")
    if column == "asam_code" or given_code is None or given_code.null_count == n:
        typed["asam_code"] = code
    else:  # keep the codes given beside levels
        typed["asam_code"] = pc.if_else(asam, code, given_code)
    given_edition = typed.get("asam_edition")
    if given_edition is None or given_edition.null_count == n:
        typed["asam_edition"] = edition
    else:
        typed["asam_edition"] = pc.if_else(asam, edition, given_edition)
    return problems


# --- assembling a table --------------------------------------------------------------------------


def missing_column(kind: str, n: int) -> Any:
    """An all-missing column of ``kind`` (text kinds as Arrow nulls)."""
    if kind in TEXT_KINDS:
        return pa.nulls(n, pa.large_string())
    if kind == "date":
        return pd.Series(np.full(n, np.datetime64("NaT", "ns")), copy=False)
    if kind == "number":
        return pd.Series(np.full(n, np.nan), copy=False)
    if kind == "flag":
        return pd.Series(pd.arrays.BooleanArray(np.zeros(n, bool), np.ones(n, bool)), copy=False)
    return pd.Series(pd.arrays.IntegerArray(np.zeros(n, np.int64), np.ones(n, bool)), copy=False)


def assemble(
    typed: Mapping[str, Any], frame: pd.DataFrame, spec: TableSpec, codes: Mapping[str, Any]
) -> pd.DataFrame:
    """Canonical columns in schema order, then the source's other columns unchanged."""
    index = pd.RangeIndex(len(frame))
    data: dict[str, Any] = {}
    for col in spec.columns:
        value = typed[col.name]
        dtype = KIND_DTYPE[col.kind]
        if isinstance(value, pa.Array | pa.ChunkedArray):
            data[col.name] = text_series(value, index)
        elif isinstance(value, pd.Series):
            series = value.set_axis(index)
            data[col.name] = series if series.dtype == dtype else series.astype(dtype)
        else:
            data[col.name] = pd.Series(value, index=index, copy=False).astype(dtype)
    for name in frame.columns:
        if name in data:
            continue
        extra = frame[name].set_axis(index)
        if codes.get(name):
            extra = coded(extra, codes[name]).set_axis(index)
        data[name] = extra
    return pd.DataFrame(data, index=index, copy=False)
