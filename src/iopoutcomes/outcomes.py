"""From validated records to one row of outcomes per episode: :func:`episode_outcomes`.

The episode table is a faithful record: an outcome that could not be observed is missing
(pandas ``NA``) with a status column saying why, and the missing-data rule of the definition is
applied only where rates and comparisons are computed (``iopoutcomes.rates``).

Everything is vectorised: follow-ups are placed by episode position, and calendar runs are
found with cumulative sums over day arrays sorted by (episode, day); nothing loops over
patients, episodes or days.

Examples
--------
>>> import iopoutcomes as iop
>>> from iopoutcomes.simulate import simulate_records
>>> out = iop.episode_outcomes(simulate_records(n=40, seed=0))
>>> out.table.shape[0]
40
>>> out.table["abstinent_6mo"].dtype
BooleanDtype
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._counts import is_dask, is_duckdb
from ._render import ResultDisplay, escape, frame_to_html, frame_to_text
from .definitions import CONTROLLED_LEVELS, OutcomeDefinition, timepoint_text
from .exceptions import ParameterError
from .schema import FOLLOWUP_STATUSES

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "FOLLOWUP_OUTCOME_STATUSES",
    "STAY_NOT_ELIGIBLE_SHARE",
    "EpisodeOutcomes",
    "episode_outcomes",
    "stay_length_remark",
]

STAY_NOT_ELIGIBLE_SHARE = 0.20
"""Share of a group not eligible for an in-treatment run above which comparing groups on it is
flagged (:func:`stay_length_remark`)."""

FOLLOWUP_OUTCOME_STATUSES: tuple[str, ...] = (*FOLLOWUP_STATUSES, "pending", "missed")
"""Values of ``followup_status_<tp>``: the data's statuses plus ``pending`` (no row, window
still open at ``data_as_of``) and ``missed`` (no row, window closed)."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False, repr=False)
class EpisodeOutcomes(ResultDisplay):
    """One row of outcomes per accepted episode, with the definition that produced them.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per episode: identifiers, cohort, level of care, site, ``admission_quarter``,
        ``discharge_quarter``, every episode column (covariates) and the outcome columns
        (see :func:`episode_outcomes`).
    definition : OutcomeDefinition
        The effective definition (timepoints taken from the records).
    followups : pandas.DataFrame
        One row per follow-up of a declared outcome timepoint: ``episode_id``, ``timepoint``,
        ``status``, ``assessment_day``, ``anchor``, ``window_start``, ``window_end``,
        ``offset_day`` (days after the anchor), ``in_window``, ``days_used_past30`` (in the
        definition's substance scope), ``uds_result`` and ``abstinent``.
    records_summary : Mapping
        Provenance of the input: ``n_episodes``, ``n_followups``, ``n_use_days``,
        ``provenance``, ``subjects`` (the reader's ``options["subjects"]``, default
        ``"clients"``), ``time_basis``, ``data_as_of``, ``sources``, ``file_hashes``.
    remarks : tuple of str
        Counts of out-of-window assessments, missed and pending follow-ups, dropped
        milestones, and anything else a reader of the table should know.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> out = iop.episode_outcomes(iop.simulate_records(n=40, seed=0))
    >>> print(repr(out).splitlines()[0])
    <EpisodeOutcomes: 40 episodes, follow-ups discharge/1mo/3mo/6mo/12mo, missing=using>
    >>> out.table.shape[0], out.table["abstinent_6mo"].dtype
    (40, BooleanDtype)
    >>> out.summary()["timepoint"].tolist()
    ['discharge', '1mo', '3mo', '6mo', '12mo']
    """

    table: pd.DataFrame
    definition: OutcomeDefinition
    followups: pd.DataFrame
    records_summary: Mapping[str, Any] = field(default_factory=dict)
    remarks: tuple[str, ...] = ()

    def _header(self) -> str:
        n = len(self.table)
        tps = "/".join(self._followup_timepoints())
        if not tps:
            return f"<EpisodeOutcomes: {n:,} episodes, no follow-up assessments>"
        return (
            f"<EpisodeOutcomes: {n:,} episodes, follow-ups {tps}, "
            f"missing={self.definition.missing}>"
        )

    def _followup_timepoints(self) -> tuple[str, ...]:
        """Outcome timepoints that have follow-up columns in the table."""
        return tuple(
            tp
            for tp in self.definition.outcome_timepoints
            if f"followup_status_{tp}" in self.table.columns
        )

    def _outcome_columns(self) -> pd.DataFrame:
        """``outcome``, ``kind`` (follow-up, calendar, milestone, pattern) of the table's columns."""
        d = self.definition
        kinds: dict[str, str] = {}
        for tp in d.outcome_timepoints:
            for prefix in ("abstinent_", "days_used_past30_"):
                kinds[f"{prefix}{tp}"] = "follow-up"
        for where in ("in_treatment", "after_discharge"):
            kinds[f"longest_abstinent_run_{where}"] = "calendar"
            kinds[f"{d.sustained_name}_{where}"] = "calendar"
        kinds[d.comparable_name] = "calendar"
        kinds["longest_abstinent_run_comparable"] = "calendar"
        for name in (
            "continuous_abstinence_after_discharge",
            "point_prevalence_30d_after_discharge",
            "first_use_after_discharge_time",
            "first_use_after_discharge_event",
        ):
            kinds[name] = "calendar"
        for name in ("treatment_completed", "milestones_met", "completed_program"):
            kinds[name] = "milestone"
        for ms in d.milestones:
            kinds[f"milestone_{ms.name}"] = "milestone"
        if d.patterns:
            from .patterns import pattern_definitions

            registry = pattern_definitions().set_index("name")["columns"]
            for name in d.patterns:
                for col in str(registry.get(name, name)).split(", "):
                    kinds[col] = "pattern"
        cols = [c for c in self.table.columns if c in kinds]
        return pd.DataFrame({"outcome": cols, "kind": [kinds[c] for c in cols]})

    def _overview(self) -> pd.DataFrame:
        """Per outcome column: episodes with a value, events (True / 1) and missing values."""
        rows = []
        for outcome, kind in self._outcome_columns().itertuples(index=False, name=None):
            values = self.table[outcome]
            known = values.notna()
            numeric = pd.to_numeric(values, errors="coerce").astype("Float64")
            binary = values.dtype == bool or str(values.dtype) == "boolean"
            binary = binary or outcome.endswith("_event")
            rows.append(
                {
                    "outcome": outcome,
                    "kind": kind,
                    "n": int(known.sum()),
                    "n_events": int(numeric.fillna(0).sum()) if binary else pd.NA,
                    "n_missing": int((~known).sum()),
                }
            )
        return pd.DataFrame(rows, columns=["outcome", "kind", "n", "n_events", "n_missing"])

    def _cohort_line(self, limit: int = 12) -> str:
        """Line ``Episodes by cohort: A 120, B 95.`` (largest first, at most ``limit`` cohorts)."""
        if "cohort" not in self.table.columns:
            return f"Episodes: {len(self.table):,}."
        counts = self.table["cohort"].astype("string").fillna("(no cohort)").value_counts()
        shown = ", ".join(f"{c} {k:,}" for c, k in counts.head(limit).items())
        more = f", and {len(counts) - limit} more" if len(counts) > limit else ""
        return f"Episodes by cohort: {shown}{more}."

    def _no_followup_text(self) -> str:
        present = set(self._outcome_columns()["kind"])
        names = {"follow-up": "source-given follow-up"}
        order = ("follow-up", "calendar", "milestone", "pattern")
        kinds = [names.get(k, k) for k in order if k in present]
        if not kinds:
            have = "no outcome columns"
        else:
            listed = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " and " + kinds[-1]
            have = f"{listed} outcomes"
        return (
            "No follow-up assessments: these records have no follow-up timepoints with "
            "assessments, so no abstinence-at-follow-up outcomes were computed; the table has "
            f"{have}."
        )

    def to_frame(self) -> pd.DataFrame:
        """A copy of the episode table."""
        return self.table.copy()

    def summary(self) -> pd.DataFrame:
        """Per timepoint: episodes, follow-up statuses, in-window and abstinent counts.

        Without follow-up timepoints (e.g. CTN-0094 study-day records) the table has the
        columns and no rows; the repr then shows the outcome columns instead.
        """
        columns = [
            "timepoint",
            "episodes",
            *FOLLOWUP_OUTCOME_STATUSES,
            "in_window",
            "abstinent",
            "abstinent_missing",
        ]
        rows = []
        t = self.table
        for tp in self.definition.outcome_timepoints:  # a handful of timepoints
            col = f"followup_status_{tp}"
            if col not in t:
                continue
            status = t[col].astype("string")
            row: dict[str, Any] = {"timepoint": tp, "episodes": len(t)}
            for s in FOLLOWUP_OUTCOME_STATUSES:
                row[s] = int((status == s).sum())
            row["in_window"] = int(t[f"in_window_{tp}"].astype("boolean").fillna(False).sum())
            ab = t[f"abstinent_{tp}"].astype("boolean")
            row["abstinent"] = int(ab.fillna(False).sum())
            row["abstinent_missing"] = int(ab.isna().sum())
            rows.append(row)
        return pd.DataFrame(rows, columns=columns)

    def __repr__(self) -> str:
        if self._followup_timepoints():
            return _SummaryView(self).__repr__()
        return _NoFollowupView(self).__repr__()

    def _repr_html_(self) -> str:
        if self._followup_timepoints():
            return _SummaryView(self)._repr_html_()
        return _NoFollowupView(self)._repr_html_()

    def definition_text(self) -> str:
        """The definition in words (without the follow-up part when there are no follow-ups)."""
        text = self.definition.describe()
        if self._followup_timepoints():
            return text
        followup_only = ("Abstinence", "missing =", "died/", "out-of-window")
        kept = [p for p in text.split("; ") if not p.startswith(followup_only)]
        return "; ".join(["No follow-up timepoints (follow-up rules unused)", *kept])

    @property
    def data_as_of(self) -> pd.Timestamp | None:
        """Date the data are complete up to (``None`` for study-day data)."""
        value = self.records_summary.get("data_as_of")
        return None if value is None else pd.Timestamp(value)

    @property
    def timepoints(self) -> tuple[str, ...]:
        """Timepoints with outcome columns."""
        return self.definition.outcome_timepoints

    def plot(self, ax: Axes | None = None, timepoint: str = "6mo", **kwargs: Any) -> Axes:
        """Follow-up cascade (episodes -> discharged -> due -> in window -> analysed) of
        :func:`iopoutcomes.cascade_counts`."""
        from .cascade import cascade_counts
        from .plots import plot_followup_cascade

        return plot_followup_cascade(cascade_counts(self, timepoint), ax=ax, **kwargs)


@dataclass(frozen=True, eq=False, repr=False)
class _SummaryView(ResultDisplay):
    """Renders an EpisodeOutcomes through its per-timepoint summary (the table is too wide)."""

    result: EpisodeOutcomes

    def _header(self) -> str:
        return self.result._header()

    def to_frame(self) -> pd.DataFrame:
        return self.result.summary()

    def definition_text(self) -> str:
        return self.result.definition_text()

    def _remarks(self) -> tuple[str, ...]:
        return tuple(self.result.remarks)


@dataclass(frozen=True, eq=False, repr=False)
class _NoFollowupView(_SummaryView):
    """Renders an EpisodeOutcomes without follow-ups: cohorts, then the outcome columns."""

    def to_frame(self) -> pd.DataFrame:
        return self.result._overview()

    def _lines(self) -> list[str]:
        return [self.result._no_followup_text(), self.result._cohort_line()]

    def __repr__(self) -> str:
        frame = self.to_frame().astype(object)
        frame = frame.where(frame.notna(), "—")
        table = frame_to_text(frame) if len(frame) else "(no outcome columns)"
        parts = [self._header(), *self._lines(), "Outcome columns:", table]
        parts.append(self.definition_text())
        remarks = self._remarks()
        if remarks:
            parts.append("\n".join(f"[{i}] {r}" for i, r in enumerate(remarks, start=1)))
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        frame = self.to_frame()
        parts = [f"<p><strong>{escape(self._header())}</strong></p>"]
        parts += [f"<p>{escape(line)}</p>" for line in self._lines()]
        if len(frame):
            parts += ["<p>Outcome columns:</p>", frame_to_html(frame)]
        parts.append(f'<p class="iopoutcomes-definition">{escape(self.definition_text())}</p>')
        remarks = self._remarks()
        if remarks:
            items = "".join(f"<li>{escape(r)}</li>" for r in remarks)
            parts.append(f'<ol class="iopoutcomes-remarks">{items}</ol>')
        return f'<div class="iopoutcomes-result">{"".join(parts)}</div>'


# --- helpers -----------------------------------------------------------------------------------


def _no_record_remark(tp: str, n: int, n_missed: int, n_pending: int) -> str:
    """Remark on episodes without a follow-up row; zero counts are not mentioned."""
    parts = []
    if n_missed:
        parts.append(
            f"{n_missed} of {n:,} episodes have no follow-up record although the window has "
            "closed (missed)"
        )
    if n_pending:
        parts.append(
            f"{n_pending} of {n:,} have no record yet and are pending (window still open at "
            "the data-as-of date)"
        )
    return f"{timepoint_text(tp).capitalize()} follow-up: {'; '.join(parts)}."


def _num(values: Any) -> FloatArray:
    """Any numeric-ish column (Int64 with NA, float, object) -> float ndarray with nan."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        return np.asarray(s.to_numpy(dtype=float, na_value=np.nan))
    return np.asarray(pd.to_numeric(s, errors="coerce").astype(float))


def _positions(index: pd.Index, values: pd.Series) -> IntArray:
    """Position of each value in ``index`` (-1 when absent), hashing in Arrow when possible."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        found = pc.index_in(
            pa.array(values.astype("string").array, type=pa.string()),
            value_set=pa.array(index.astype("string").array, type=pa.string()),
        )
        return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    except (ImportError, TypeError, ValueError):  # pragma: no cover - pyarrow is a dependency
        return np.asarray(index.get_indexer(pd.Index(values)), dtype=np.int64)


def _bool_array(values: FloatArray | BoolArray, known: BoolArray) -> pd.arrays.BooleanArray:
    """Boolean extension array: True/False where ``known``, NA elsewhere."""
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool), ~np.asarray(known, dtype=bool))


def _quarters(dates: pd.Series, start_month: int) -> pd.Series:
    """'2025Q3' labels; fiscal years named by the calendar year they end in."""
    d = pd.to_datetime(dates, errors="coerce")
    shifted_month = (d.dt.month - start_month) % 12
    year = d.dt.year + ((d.dt.month >= start_month) & (start_month != 1)).astype("Int64")
    quarter = shifted_month // 3 + 1
    label = year.astype("Int64").astype("string") + "Q" + quarter.astype("Int64").astype("string")
    return label.astype("string")


# --- follow-ups ------------------------------------------------------------------------------


def _scope_days(fu: pd.DataFrame, substance: str) -> tuple[FloatArray, FloatArray]:
    """Days of use in scope, and a 0/1/nan 'any use' derived from the scope (nan = unknown)."""
    if substance == "any":
        days = (
            _num(fu["days_used_past30"]) if "days_used_past30" in fu else np.full(len(fu), np.nan)
        )
        used = np.where(np.isnan(days), np.nan, days > 0)
        if "days_alcohol_past30" in fu and "days_drugs_past30" in fu:
            alc = _num(fu["days_alcohol_past30"])
            drg = _num(fu["days_drugs_past30"])
            known = ~np.isnan(alc) & ~np.isnan(drg)
            fill = np.where(known, (alc > 0) | (drg > 0), np.nan)
            # a positive day count for either substance is use even if the other is unknown
            fill = np.where((alc > 0) | (drg > 0), 1.0, fill)
            used = np.where(np.isnan(used), fill, used)
        return days, used.astype(float)
    column = "days_alcohol_past30" if substance == "alcohol" else "days_drugs_past30"
    if column not in fu:
        raise ParameterError(
            f"substance={substance!r} needs the follow-up column {column!r}, which the records "
            f"do not have. Found columns: {list(fu.columns)}. Use substance='any' or map the "
            "column when reading the records."
        )
    days = _num(fu[column])
    return days, np.where(np.isnan(days), np.nan, days > 0).astype(float)


def _followup_detail(
    records: Any, d: OutcomeDefinition, ep_pos: pd.Index, discharge_day: FloatArray
) -> pd.DataFrame:
    fu = records.followups
    tps = d.outcome_timepoints
    fu = fu.loc[fu["timepoint"].isin(tps)] if len(fu) else fu
    pos = ep_pos.get_indexer(fu["episode_id"]) if len(fu) else np.zeros(0, dtype=np.int64)
    keep = pos >= 0
    fu = fu.loc[keep].reset_index(drop=True)
    pos = pos[keep]
    tp = fu["timepoint"].astype(str).to_numpy()
    anchor = np.array([d.windows[t].anchor for t in tps], dtype=object)
    starts = np.array([d.windows[t].start_day for t in tps], dtype=float)
    ends = np.array([d.windows[t].end_day for t in tps], dtype=float)
    tp_index = pd.Index(list(tps)).get_indexer(tp)
    row_anchor = anchor[tp_index] if len(tp) else np.array([], dtype=object)
    row_start = starts[tp_index] if len(tp) else np.zeros(0)
    row_end = ends[tp_index] if len(tp) else np.zeros(0)
    aday = _num(fu["assessment_day"]) if "assessment_day" in fu else np.full(len(fu), np.nan)
    base = np.where(row_anchor == "discharge", discharge_day[pos] if len(pos) else 0.0, 0.0)
    offset = aday - base
    known = ~np.isnan(offset)
    inside = (offset >= row_start) & (offset <= row_end)
    status = fu["status"].astype(str).to_numpy()
    completed = status == "completed"
    days, used = _scope_days(fu, d.substance)
    # Urine drug screens do not test for alcohol, so a positive screen says nothing about
    # alcohol-only abstinence; it verifies "any" and "drugs" scopes only.
    if d.verify == "uds" and "uds_result" in fu and d.substance != "alcohol":
        positive = (fu["uds_result"].astype("string") == "positive").fillna(False).to_numpy(bool)
        used = np.where(positive, 1.0, used)
    abst_known = completed & ~np.isnan(used)
    if d.out_of_window == "missing":
        abst_known &= known & inside
    detail = pd.DataFrame(
        {
            "episode_id": fu["episode_id"].to_numpy(),
            "timepoint": pd.array(tp, dtype="string"),
            "status": pd.array(status, dtype="string"),
            "assessment_day": pd.array(np.asarray(aday, dtype=float), dtype="Float64"),
            "anchor": pd.array(row_anchor.astype(str), dtype="string"),
            "window_start": pd.array(np.asarray(row_start, dtype=float), dtype="Float64").astype(
                "Int64"
            ),
            "window_end": pd.array(np.asarray(row_end, dtype=float), dtype="Float64").astype(
                "Int64"
            ),
            "offset_day": pd.array(offset, dtype="Float64"),
            "in_window": _bool_array(inside, known),
            "days_used_past30": pd.array(days, dtype="Float64"),
            "uds_result": fu["uds_result"].astype("string").to_numpy()
            if "uds_result" in fu
            else pd.array([pd.NA] * len(fu), dtype="string"),
            "abstinent": _bool_array(used == 0.0, abst_known),
        }
    )
    detail["_pos"] = pos
    return detail


def _as_of_day(records: Any, episodes: pd.DataFrame) -> FloatArray:
    """Days from admission to data_as_of per episode (+inf when there is no data_as_of)."""
    n = len(episodes)
    as_of = getattr(records, "data_as_of", None)
    if as_of is None or "admission_date" not in episodes:
        return np.full(n, np.inf)
    adm = pd.to_datetime(episodes["admission_date"], errors="coerce")
    days = (pd.Timestamp(as_of) - adm).dt.days.astype(float).to_numpy()
    return np.where(np.isnan(days), np.inf, days)


# --- calendar ----------------------------------------------------------------------------------


def _calendar_days(
    use_days: pd.DataFrame, ep_pos: pd.Index, d: OutcomeDefinition
) -> tuple[IntArray, IntArray, BoolArray]:
    """Scoped calendar collapsed to one row per (episode position, day), sorted."""
    ud = use_days
    if d.verify == "self_report" and "source" in ud:
        is_uds = (ud["source"] == "uds").to_numpy(dtype=bool, na_value=False)
        if is_uds.any():
            ud = ud.loc[~is_uds]
    if d.substance != "any" and "substance" in ud:
        sub = ud["substance"].astype("string").str.lower()
        is_alc = (sub == "alcohol").to_numpy(dtype=bool, na_value=False)
        unknown = sub.isna().to_numpy()
        keep = unknown | (is_alc if d.substance == "alcohol" else ~is_alc)
        ud = ud.loc[keep]
    e = _positions(ep_pos, ud["episode_id"])
    sentinel = np.iinfo(np.int64).min
    day_i = _int_column(ud["day"], sentinel)
    used_i = _int_column(ud["used"], -1)
    ok = (e >= 0) & (day_i != sentinel) & (used_i >= 0)
    if not bool(ok.all()):
        e, day_i, used_i = e[ok], day_i[ok], used_i[ok]
    u = used_i > 0
    if len(e) == 0:
        return e, day_i, u
    # sorted by (episode, day) with one row per day? (the usual layout: nothing to do)
    same_e = e[1:] == e[:-1]
    step = np.where(same_e, day_i[1:] > day_i[:-1], e[1:] > e[:-1])
    if bool(step.all()):
        return e, day_i, u
    dmin = int(day_i.min())
    span = int(day_i.max()) - dmin + 1
    key = e * span + (day_i - dmin)
    if not bool(np.all(key[1:] >= key[:-1])):
        order = np.argsort(key, kind="stable")
        key, u = key[order], u[order]
    first = np.r_[True, key[1:] != key[:-1]]
    if not bool(first.all()):
        starts = np.flatnonzero(first)
        u = np.logical_or.reduceat(u, starts)
        key = key[starts]
    return key // span, key % span + dmin, u


def _int_column(values: pd.Series, na: int) -> IntArray:
    """Whole-number (or boolean) column as int64 with ``na`` for missing, without a float copy."""
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_integer_dtype(values.dtype):
        return np.asarray(values.to_numpy(dtype=np.int64, na_value=na), dtype=np.int64)
    f = _num(values)
    return np.where(np.isnan(f), na, np.nan_to_num(f)).astype(np.int64)


def _int_bounds(start: FloatArray, obs_end: FloatArray) -> tuple[IntArray, IntArray]:
    """Integer window limits; an undefined window gets an empty range."""
    big = np.iinfo(np.int64).max // 4
    lo = np.where(np.isnan(start), big, np.nan_to_num(start, posinf=big, neginf=-big))
    hi = np.where(np.isnan(obs_end), -big, np.nan_to_num(obs_end, posinf=big, neginf=-big))
    return lo.astype(np.int64), hi.astype(np.int64)


@dataclass(frozen=True)
class _WindowStats:
    longest: FloatArray  # longest abstinent run (nan = no calendar data)
    n_recorded: FloatArray
    n_use: FloatArray
    first_use: FloatArray  # first day counting as use (nan = none)
    complete: BoolArray
    obs_end: FloatArray
    has_data: BoolArray


class _Calendar:
    """A sorted calendar (one row per episode-day) with the structures every window query uses.

    Built once in O(rows): cumulative use counts, the rows after which a gap follows, the rows
    with use, and the abstinent runs (maximal row intervals; with ``missing_days="using"`` a
    run also needs consecutive days). A window query is then O(episodes log rows + runs):
    row ranges by binary search, counts by differences of cumulative sums, and the longest run
    as the maximum over the runs meeting the window, the two end runs clipped.
    """

    def __init__(self, e: IntArray, day: IntArray, used: BoolArray, n: int, missing_days: str):
        self.e, self.day, self.used, self.n = e, day, used, n
        self.using = missing_days == "using"
        rows = len(e)
        self.last_day = np.full(n, np.nan)
        if rows == 0:
            self.key = np.zeros(0, dtype=np.int64)
            self.dmin, self.span = 0, 1
        else:
            self.dmin = int(day.min())
            self.span = int(day.max()) - self.dmin + 2
            self.key = e * self.span + (day - self.dmin)
            ends = np.flatnonzero(np.r_[e[1:] != e[:-1], True])
            self.last_day[e[ends]] = day[ends]
        self.cum_use = np.r_[0, np.cumsum(used, dtype=np.int64)]
        self.use_rows = np.flatnonzero(used)
        same = e[1:] == e[:-1]
        consecutive = same & (day[1:] == day[:-1] + 1)
        self.gap_rows = np.flatnonzero(~np.r_[consecutive, False])
        a = ~used
        link = a[1:] & a[:-1] & (consecutive if self.using else same)
        self.run_rs = np.flatnonzero(a & ~np.r_[False, link])
        self.run_re = np.flatnonzero(a & ~np.r_[link, False])
        self.run_len = (self.run_re - self.run_rs + 1).astype(float)

    def window(
        self, start: FloatArray, end: FloatArray, as_of: FloatArray, first_use: bool = False
    ) -> _WindowStats:
        """Statistics of each episode's calendar inside [start, end] (observed part)."""
        n = self.n
        has_data = ~np.isnan(self.last_day) & ~np.isnan(start)
        obs_end = np.where(has_data, np.fmin(np.fmin(end, self.last_day), as_of), np.nan)
        complete = has_data & (end <= self.last_day) & (end <= as_of)
        lo, hi = _int_bounds(start, obs_end)
        ep = np.arange(n, dtype=np.int64)
        dmax = self.dmin + self.span - 2
        lo_c = np.clip(lo, self.dmin, dmax + 1) - self.dmin
        hi_c = np.clip(hi, self.dmin - 1, dmax) - self.dmin
        begin = np.searchsorted(self.key, ep * self.span + lo_c, side="left")
        stop = np.searchsorted(self.key, ep * self.span + hi_c, side="right")
        stop = np.where(has_data & (hi >= lo), np.maximum(stop, begin), begin)
        n_recorded = (stop - begin).astype(float)
        n_use = (self.cum_use[stop] - self.cum_use[begin]).astype(float)
        # longest abstinent run: runs meeting [begin, stop), end runs clipped
        longest = np.zeros(n)
        if len(self.run_rs):
            ra = np.searchsorted(self.run_re, begin, side="left")
            rb = np.searchsorted(self.run_rs, stop - 1, side="right") - 1
            ok = (stop > begin) & (ra <= rb)
            ra, rb, b0, s0 = ra[ok], rb[ok], begin[ok], stop[ok]
            if len(ra):
                lengths = np.r_[self.run_len, 0.0]

                def clipped(k: IntArray) -> FloatArray:
                    return (
                        np.minimum(self.run_re[k], s0 - 1) - np.maximum(self.run_rs[k], b0) + 1
                    ).astype(float)

                ca, cb = clipped(ra), clipped(rb)
                lengths[ra] = ca
                lengths[rb] = cb
                idx = np.column_stack([ra, rb + 1]).ravel()
                longest[ok] = np.maximum.reduceat(lengths, idx)[::2]
        first = np.full(n, np.inf)
        if first_use:
            rows = len(self.e)
            k = np.searchsorted(self.use_rows, begin)
            row = np.r_[self.use_rows, rows][k]
            hit = row < stop
            first = (
                np.where(hit, self.day[np.minimum(row, max(rows - 1, 0))], np.inf).astype(float)
                if rows
                else first
            )
            if self.using:
                g = np.searchsorted(self.gap_rows, begin)
                grow = np.r_[self.gap_rows, rows][g]
                gday = (
                    self.day[np.minimum(grow, max(rows - 1, 0))].astype(float) + 1.0
                    if rows
                    else np.full(n, np.inf)
                )
                gap = np.where((grow < stop) & (gday <= hi), gday, np.inf)
                starts_late = (stop > begin) & (
                    self.day[np.minimum(begin, max(rows - 1, 0))] > lo if rows else False
                )
                empty = has_data & (stop == begin) & (hi >= lo)
                gap = np.where(starts_late | empty, lo.astype(float), gap)
                first = np.fmin(first, gap)
        first = np.where(np.isinf(first), np.nan, first)
        longest = np.where(has_data, longest, np.nan)
        return _WindowStats(longest, n_recorded, n_use, first, complete, obs_end, has_data)


def _collapse(e: IntArray, day: IntArray, used: BoolArray) -> tuple[IntArray, IntArray, BoolArray]:
    """Sort calendar rows by (episode, day) and merge rows of one day (use if any says use)."""
    if len(e) == 0:
        return e, day, used
    dmin = int(day.min())
    span = int(day.max()) - dmin + 1
    key = e * span + (day - dmin)
    order = np.argsort(key, kind="stable")
    key, u = key[order], used[order]
    first = np.r_[True, key[1:] != key[:-1]]
    starts = np.flatnonzero(first)
    u = np.logical_or.reduceat(u, starts)
    key = key[starts]
    return key // span, key % span + dmin, u


def _controlled_calendar(
    e: IntArray,
    day: IntArray,
    used: BoolArray,
    ctl_end: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    rule: str,
) -> tuple[IntArray, IntArray, BoolArray, Any]:
    """The calendar with days ``0 .. ctl_end - 1`` (days in a controlled environment) handled
    by ``rule``, and a function mapping window limits onto its day numbers.

    ``exclude`` removes those days from the timeline (later days move back, so the days before
    and after join: the removed days neither break nor extend a run); ``missing`` drops their
    rows (days without a record); ``count`` makes every controlled day of ``lo..hi`` an
    abstinent day.
    """
    big = float(np.iinfo(np.int32).max)
    length = np.where(np.isnan(ctl_end), 0.0, np.minimum(ctl_end, big))
    length_i = length.astype(np.int64)
    row_len = length_i[e] if len(e) else np.zeros(0, dtype=np.int64)
    in_ctl = (day >= 0) & (day < row_len)

    def identity(x: FloatArray, end: bool = False) -> FloatArray:
        return x

    if rule == "count":
        used = np.where(in_ctl, False, used)
        first = np.maximum(np.nan_to_num(lo, nan=big), 0.0)
        last = np.minimum(np.nan_to_num(hi, nan=-big), length - 1.0)
        count = np.clip(last - first + 1.0, 0.0, None).astype(np.int64)
        if int(count.sum()):
            ep = np.repeat(np.arange(len(count), dtype=np.int64), count)
            offset = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(
                np.cumsum(count) - count, count
            )
            extra = np.repeat(first.astype(np.int64), count) + offset
            e, day, used = _collapse(
                np.r_[e, ep], np.r_[day, extra], np.r_[used, np.zeros(len(ep), dtype=bool)]
            )
        return e, day, used, identity
    keep = ~in_ctl
    e, day, used = e[keep], day[keep], used[keep]
    if rule == "missing":
        return e, day, used, identity
    row_len = row_len[keep]
    day = np.where(day >= row_len, day - row_len, day)

    def compress(x: FloatArray, end: bool = False) -> FloatArray:
        inside = -1.0 if end else 0.0
        return np.where(x < 0, x, np.where(x < length, inside, x - length))

    return e, day, used, compress


def _calendar_outcomes(
    records: Any,
    d: OutcomeDefinition,
    ep_pos: pd.Index,
    discharge_day: FloatArray,
    as_of: FloatArray,
    controlled: BoolArray | None = None,
) -> dict[str, Any]:
    n = len(ep_pos)
    e, day, used = _calendar_days(records.use_days, ep_pos, d)
    cal = _Calendar(e, day, used, n, d.missing_days)
    cols: dict[str, Any] = {}
    stem = d.sustained_name
    k = d.sustained_days

    def sustained(st: _WindowStats, eligible: BoolArray | None = None) -> pd.arrays.BooleanArray:
        hit = st.longest >= k
        known = st.has_data & (hit | st.complete)
        if eligible is not None:
            known = known & eligible
        return _bool_array(hit, known)

    # Observation time of each window by design (stay, window and data-as-of date; not the
    # calendar's own end, which is loss to follow-up and handled by the missing-data rule).
    # Day numbers count from the admission date (day 0); a window's limits are inclusive, so a
    # window from day a to day b observes b - a + 1 days.
    in_care = np.isnan(discharge_day)
    t_end = np.where(in_care, np.inf, discharge_day)
    t_seen = np.where(
        in_care, np.where(np.isfinite(as_of), as_of, cal.last_day), np.fmin(discharge_day, as_of)
    )
    t_days = np.nan_to_num(t_seen + 1.0, nan=0.0)
    eligible_t = t_days >= k
    # in treatment: admission (day 0) to discharge (open-ended while still in care)
    st = cal.window(np.zeros(n), t_end, as_of)
    cols["longest_abstinent_run_in_treatment"] = pd.array(st.longest, dtype="Float64").astype(
        "Int64"
    )
    cols[f"{stem}_in_treatment"] = sustained(st, eligible_t)
    cols[f"eligible_{stem}_in_treatment"] = pd.array(eligible_t, dtype="boolean")
    # after discharge: after_discharge_days days starting on the discharge date
    a_start = discharge_day
    a_end = discharge_day + d.after_discharge_days - 1
    a_days = np.nan_to_num(np.fmin(a_end, as_of) - a_start + 1.0, nan=0.0)
    eligible_a = a_days >= k
    eligible_full = a_days >= d.after_discharge_days
    st = cal.window(a_start, a_end, as_of, first_use=True)
    cols["longest_abstinent_run_after_discharge"] = pd.array(st.longest, dtype="Float64").astype(
        "Int64"
    )
    cols[f"{stem}_after_discharge"] = sustained(st, eligible_a)
    cols[f"eligible_{stem}_after_discharge"] = pd.array(eligible_a, dtype="boolean")
    full = (
        st.n_recorded == d.after_discharge_days if d.missing_days == "using" else st.n_recorded > 0
    )
    # "using": a complete window is always decided (unrecorded days are use); "skip": needs a
    # recorded day
    decided = st.complete & (True if d.missing_days == "using" else st.n_recorded > 0)
    cols["continuous_abstinence_after_discharge"] = _bool_array(
        full & (st.n_use == 0), decided & eligible_full
    )
    cols["eligible_continuous_abstinence_after_discharge"] = pd.array(
        eligible_full, dtype="boolean"
    )
    event = ~np.isnan(st.first_use)
    time = np.where(event, st.first_use - a_start, st.obs_end - a_start + 1)
    time = np.where((st.has_data & (st.obs_end >= a_start)) | event, time, np.nan)
    cols["first_use_after_discharge_time"] = pd.array(time, dtype="Float64").astype("Int64")
    cols["first_use_after_discharge_event"] = _bool_array(event, ~np.isnan(time))
    # point prevalence: the last 30 days of the after-discharge window
    p_start = np.fmax(a_start, a_end - 29)
    pp = cal.window(p_start, a_end, as_of)
    p_len = a_end - p_start + 1
    p_full = pp.n_recorded == p_len if d.missing_days == "using" else pp.n_recorded > 0
    p_decided = pp.complete & (True if d.missing_days == "using" else pp.n_recorded > 0)
    cols["point_prevalence_30d_after_discharge"] = _bool_array(
        p_full & (pp.n_use == 0), p_decided & eligible_full
    )
    cols["eligible_point_prevalence_30d_after_discharge"] = pd.array(eligible_full, dtype="boolean")
    # comparable window: the same days, anchored on an event every setting has
    w = d.comparable_window
    base = discharge_day if w.anchor == "discharge" else np.zeros(n)
    c_start = base + w.start_day
    c_end = base + w.end_day
    # days in a controlled environment: days 0 .. discharge - 1 of a 24-hour level of care
    ctl = np.zeros(n, dtype=bool) if controlled is None else controlled
    ctl_end = np.where(
        ctl,
        np.where(in_care, np.where(np.isfinite(as_of), as_of + 1.0, np.inf), discharge_day),
        0.0,
    )
    c_seen = np.fmin(c_end, as_of)
    overlap = np.clip(np.fmin(c_seen, ctl_end - 1.0) - np.fmax(c_start, 0.0) + 1.0, 0.0, None)
    overlap = np.nan_to_num(overlap, nan=0.0)
    c_days = np.nan_to_num(c_seen - c_start + 1.0, nan=0.0)
    if d.controlled_environment == "exclude":
        c_days = c_days - overlap
    eligible_c = ~np.isnan(c_start) & (c_end <= as_of) & (c_days >= k)
    if bool((overlap > 0).any()):
        e2, day2, used2, shift = _controlled_calendar(
            e, day, used, ctl_end, c_start, c_end, d.controlled_environment
        )
        cal_c = _Calendar(e2, day2, used2, n, d.missing_days)
        st = cal_c.window(shift(c_start), shift(c_end, True), shift(as_of, True))
    else:
        st = cal.window(c_start, c_end, as_of)
    cols["longest_abstinent_run_comparable"] = pd.array(st.longest, dtype="Float64").astype("Int64")
    cols[d.comparable_name] = sustained(st, eligible_c)
    cols[f"eligible_{d.comparable_name}"] = pd.array(eligible_c, dtype="boolean")
    return cols


# --- milestones --------------------------------------------------------------------------------


def _followup_value(
    records: Any, ep_pos: pd.Index, timepoint: str, measure: str
) -> FloatArray | None:
    """``measure`` at a completed ``timepoint`` follow-up per episode (nan where absent)."""
    fu = records.followups
    if measure not in fu or not len(fu):
        return None
    rows = fu.loc[(fu["timepoint"] == timepoint) & (fu["status"] == "completed")]
    out = np.full(len(ep_pos), np.nan)
    pos = ep_pos.get_indexer(rows["episode_id"])
    ok = pos >= 0
    values = rows[measure]
    if pd.api.types.is_bool_dtype(values.dtype):
        values = values.astype("Float64")
    out[pos[ok]] = _num(values)[ok]
    return out


def _aftercare_from_services(
    records: Any, d: OutcomeDefinition, table: pd.DataFrame
) -> FloatArray | None:
    """1 with an aftercare visit on days 1..aftercare_within after discharge, 0 when the window
    closed without one, nan while it is open or without a discharge date; None without services.
    """
    from .definitions import AFTERCARE_SERVICE_TYPES

    services = getattr(records, "services", None)
    if services is None or not len(services) or "discharge_date" not in table:
        return None
    visits = services.loc[
        services["service_type"].astype("string").str.lower().isin(AFTERCARE_SERVICE_TYPES),
        ["patient_id", "service_date"],
    ]
    visits = pd.DataFrame(
        {
            "patient_id": visits["patient_id"].astype("string").to_numpy(),
            "visit": pd.to_datetime(visits["service_date"]).astype("datetime64[ns]").to_numpy(),
        }
    ).sort_values("visit", kind="stable")
    discharge = pd.to_datetime(table["discharge_date"]).astype("datetime64[ns]")
    query = pd.DataFrame(
        {
            "patient_id": table["patient_id"].astype("string").to_numpy(),
            "start": (discharge + pd.Timedelta(days=1)).to_numpy(),
            "row": np.arange(len(table)),
        }
    )
    known = query["start"].notna().to_numpy()
    found = np.zeros(len(table), bool)
    if known.any() and len(visits):
        q = query.loc[known].sort_values("start", kind="stable")
        # the first visit on or after the day after discharge, at most aftercare_within - 1 later
        hit = pd.merge_asof(
            q,
            visits,
            left_on="start",
            right_on="visit",
            by="patient_id",
            direction="forward",
            tolerance=pd.Timedelta(days=d.aftercare_within - 1),
        )
        found[hit["row"].to_numpy()] = hit["visit"].notna().to_numpy()
    value = np.where(found, 1.0, 0.0)
    last_day = discharge + pd.Timedelta(days=d.aftercare_within)
    as_of = getattr(records, "data_as_of", None)
    still_open = (
        (last_day > pd.Timestamp(as_of)).to_numpy(dtype=bool, na_value=False)
        if as_of is not None and not pd.isna(as_of)
        else np.zeros(len(table), bool)
    )
    value[~known | (still_open & ~found)] = np.nan
    return value


def _milestone_columns(
    records: Any, d: OutcomeDefinition, ep_pos: pd.Index, table: pd.DataFrame
) -> tuple[dict[str, Any], list[str]]:
    n = len(ep_pos)
    cols: dict[str, Any] = {}
    dropped: list[str] = []
    eligible: dict[str, BoolArray] = {}
    reason = (
        table["discharge_reason"].astype("string")
        if "discharge_reason" in table
        else pd.Series(pd.NA, index=table.index, dtype="string")
    )
    for ms in d.milestones:
        value: FloatArray | None = None
        if ms.kind == "discharge_reason":
            if reason.notna().any():
                v = reason.isin(list(ms.values)).to_numpy(bool)
                value = np.where(reason.isna().to_numpy(), np.nan, v.astype(float))
        elif ms.kind == "calendar":
            if ms.measure in table and table[ms.measure].notna().any():
                value = _num(table[ms.measure].astype("Float64"))
        elif ms.kind == "improved":
            assert ms.measure is not None
            after = _followup_value(records, ep_pos, ms.timepoint, ms.measure)
            before = _followup_value(records, ep_pos, ms.baseline, ms.measure)
            if after is not None and before is not None:
                change = (after - before) * (1.0 if ms.higher_is_better else -1.0)
                if not np.all(np.isnan(change)):
                    value = np.where(np.isnan(change), np.nan, change >= ms.min_change)
        elif ms.kind == "threshold":
            assert ms.measure is not None and ms.threshold is not None
            fv = _followup_value(records, ep_pos, ms.timepoint, ms.measure)
            if fv is not None and not np.all(np.isnan(fv)):
                reached = fv >= ms.threshold if ms.higher_is_better else fv <= ms.threshold
                value = np.where(np.isnan(fv), np.nan, reached)
        elif d.aftercare_from_services(ms):
            value = _aftercare_from_services(records, d, table)
        else:  # flag
            assert ms.measure is not None
            fv = _followup_value(records, ep_pos, ms.timepoint, ms.measure)
            if fv is not None and not np.all(np.isnan(fv)):
                value = np.where(np.isnan(fv), np.nan, fv > 0)
        if value is None:
            dropped.append(ms.name)
            continue
        cols[f"milestone_{ms.name}"] = _bool_array(value == 1.0, ~np.isnan(value))
        # a milestone read from a calendar outcome inherits that outcome's eligibility
        if ms.kind == "calendar" and f"eligible_{ms.measure}" in table:
            eligible[ms.name] = table[f"eligible_{ms.measure}"].to_numpy(dtype=bool, na_value=True)
            cols[f"eligible_milestone_{ms.name}"] = pd.array(eligible[ms.name], dtype="boolean")
    used = [m for m in d.milestones if m.name not in dropped]
    if used:
        vals = np.column_stack(
            [np.asarray(cols[f"milestone_{m.name}"].to_numpy(float, na_value=np.nan)) for m in used]
        )
        n_true = np.nansum(vals == 1.0, axis=1)
        n_na = np.isnan(vals).sum(axis=1)
        k = len(used) if d.completion_rule == "all" else int(d.completion_rule)
        k = min(k, len(used))
        met = n_true >= k
        cols["milestones_met"] = pd.array(n_true.astype(np.int64), dtype="Int64")
        known = met | (n_true + n_na < k)
        program_eligible = [eligible[m.name] for m in used if m.name in eligible]
        if program_eligible:
            # eligible only when every length-dependent milestone could be met
            ok = np.logical_and.reduce(program_eligible)
            cols["completed_program"] = _bool_array(met, known & ok)
            cols["eligible_completed_program"] = pd.array(ok, dtype="boolean")
        else:
            cols["completed_program"] = _bool_array(met, known)
    else:
        cols["milestones_met"] = pd.array(np.zeros(n, dtype=np.int64), dtype="Int64")
        cols["completed_program"] = _bool_array(np.zeros(n, bool), np.zeros(n, bool))
    return cols, dropped


# --- main --------------------------------------------------------------------------------------


def episode_outcomes(
    records: Any, definition: OutcomeDefinition | None = None, **overrides: Any
) -> EpisodeOutcomes:
    """One row of outcomes per accepted episode.

    Parameters
    ----------
    records : Records
        Validated records (``read_records``, ``simulate_records``, ``read_ctn0094``,
        ``read_teds_d``).
    definition : OutcomeDefinition, optional
        The outcome definition (default ``OutcomeDefinition()``). Its timepoints are replaced by
        the records' declared timepoints (windows of new labels from
        :func:`~iopoutcomes.definitions.default_window`).
    **overrides
        Settings changed on the definition, e.g. ``missing="exclude"``, ``verify="uds"``.

    Returns
    -------
    EpisodeOutcomes
        ``.table`` columns: ``episode_id``, ``patient_id``, ``cohort``, ``level_of_care``,
        ``site``, ``admission_quarter``, ``discharge_quarter`` (``"2025Q3"``; NA for study-day
        data), every other episode column, then per timepoint ``tp`` (all declared but
        ``intake``): ``abstinent_<tp>`` (boolean, NA = not assessed), ``followup_status_<tp>``,
        ``in_window_<tp>``, ``followup_due_<tp>`` (window closed by ``data_as_of``),
        ``days_used_past30_<tp>``; calendar outcomes (when the records have a use calendar):
        ``longest_abstinent_run_in_treatment``, ``sustained_30d_in_treatment``,
        ``longest_abstinent_run_after_discharge``, ``sustained_30d_after_discharge``,
        ``continuous_abstinence_after_discharge``, ``point_prevalence_30d_after_discharge``,
        ``first_use_after_discharge_time``, ``first_use_after_discharge_event``,
        ``longest_abstinent_run_comparable``, ``sustained_30d_comparable``; milestones:
        ``treatment_completed``, ``milestone_<name>``, ``milestones_met``,
        ``completed_program``; ``eligible_<outcome>`` beside every run or window outcome
        (:attr:`OutcomeDefinition.eligibility_outcomes`); and the named weekly-pattern
        outcomes when ``definition.patterns`` is set.

    Notes
    -----
    *Abstinence at a follow-up* (``abstinent_<tp>``): a past-30-day point prevalence (GPRA;
    Hughes et al. 2003): True when the follow-up is ``completed`` and no use is reported in
    the past 30 days in the substance scope (``days_used_past30`` for any use; alcohol or drug
    days when asked, and when only those two are given they are combined); with
    ``verify="uds"`` a positive urine screen makes it False. NA when the follow-up was not
    completed, has no days-of-use value, or (``out_of_window="missing"``) fell outside its
    window. The ``timepoint`` label in the data decides which follow-up a row is;
    ``in_window_<tp>`` says whether its assessment day lies in the window.

    *Follow-up status*: the row's status; without a row, ``pending`` while the window is open
    at ``data_as_of`` and ``missed`` once it has closed. A window is closed when its last day
    is on or before ``data_as_of`` (study-day data without ``data_as_of``: always closed, except
    discharge-anchored windows of episodes still in care, which stay pending).

    *Calendar outcomes* (``use_days``; Hughes et al. 2003): days are relative to admission.
    Rows are scoped by the definition (``verify="self_report"`` drops urine-screen rows;
    ``substance`` keeps alcohol or non-alcohol rows, rows without a substance count in every
    scope); several rows on one day make a use day if any says use. The in-treatment window
    is days 0..discharge (to the end of the data while still in care); the after-discharge
    window is the ``after_discharge_days`` days starting on the discharge day. A window is
    observed up to the earliest of its end, the episode's last calendar day ("end of the
    calendar") and ``data_as_of``; days inside that range without a record count as use
    (``missing_days="using"``) or are skipped (``"skip"``: they neither break nor extend a
    run). ``longest_abstinent_run_*`` is the longest run of consecutive abstinent days in the
    observed part; ``sustained_*`` is True once a run reaches ``sustained_days``, False when
    the window is fully observed without one, NA otherwise. Continuous abstinence (no use on
    any day) and the 30-day point prevalence (no use in the window's last 30 days) need a
    fully observed window (else NA). ``first_use_after_discharge_time`` is the number of
    abstinent days before the first use day (use on the discharge day = 0;
    ``missing_days="using"`` makes an unrecorded day a use day); without use it is the number
    of observed days and ``first_use_after_discharge_event`` is False (censored). Episodes
    without any calendar row in scope get NA.

    *Observation-time eligibility* (issue 21): ``eligible_<outcome>`` is True when the episode
    was observed long enough in the outcome's window to meet it
    (:meth:`OutcomeDefinition.required_days`): a stay of at least ``sustained_days`` days for a
    run in treatment (days are counted from the admission date, day 0, to the discharge day,
    both included: ``discharge_day + 1`` days; to the data-as-of date while in care), at least
    ``sustained_days`` days after discharge by the data-as-of date for the after-discharge
    run, the whole after-discharge window for continuous abstinence and the point prevalence,
    a comparable window closed by the data-as-of date with at least ``sustained_days``
    observed days. Observation time is by design (stay, window, data-as-of date), not the
    calendar's end (loss to follow-up is missing data). A not-eligible episode gets NA in the
    outcome column; rates and comparisons leave it out of the denominator and count it as
    not eligible (:func:`iopoutcomes.missing.eligibility`), never as a failure.

    *Comparable window* (``definition.comparable_window``, default days 1-90 after
    discharge): ``sustained_<N>d_comparable`` looks for the run in a window anchored on an
    event every setting has. Days in a controlled environment (days 0 to discharge - 1 of a
    level of care in :data:`~iopoutcomes.definitions.CONTROLLED_LEVELS`) inside it are
    removed from the calendar (``controlled_environment="exclude"``: they neither break nor
    extend a run and are not observed days), become days without a record (``"missing"``) or
    count as abstinent (``"count"``).

    *Milestones* (``definition.milestones``): each gives ``milestone_<name>`` (NA where its
    data are missing); ``milestones_met`` counts those met; ``completed_program`` is True with
    all (or k) met, False when that can no longer happen given the missing ones, NA otherwise.
    A milestone whose data are absent from the records is left out (remark).
    ``treatment_completed`` = discharge reason ``completed``.

    Episode columns that already exist (e.g. TEDS-D ``abstinent_discharge``) are kept and never
    overwritten by a computed column of the same name (remark).

    References
    ----------
    Hughes JR, Keely JP, Niaura RS, et al. Measures of abstinence in clinical trials: issues and
    recommendations. Nicotine Tob Res 2003;5(1):13-25.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> from iopoutcomes.simulate import simulate_records
    >>> out = iop.episode_outcomes(simulate_records(n=40, seed=0), missing="exclude")
    >>> out.definition.missing
    'exclude'
    >>> "followup_status_6mo" in out.table
    True
    """
    base = definition if definition is not None else OutcomeDefinition()
    if not isinstance(base, OutcomeDefinition):
        raise ParameterError(f"definition must be an OutcomeDefinition; got {type(base).__name__}.")
    rec_tps = tuple(getattr(records, "timepoints", base.timepoints))
    d = (
        base.replace(timepoints=rec_tps, **overrides)
        if (overrides or rec_tps != base.timepoints)
        else base
    )
    episodes = records.episodes.reset_index(drop=True)
    n = len(episodes)
    ep_pos = pd.Index(episodes["episode_id"])
    if not ep_pos.is_unique:
        raise ParameterError(
            "episode_id is not unique in the episodes table; read the data with read_records, "
            "which rejects duplicate episodes."
        )
    remarks: list[str] = []
    provenance = getattr(records, "provenance", "canonical")
    options = getattr(records, "options", None) or {}
    time_basis = getattr(records, "time_basis", "calendar")

    lead = ["episode_id", "patient_id", "cohort", "level_of_care", "site"]
    table = pd.DataFrame({c: episodes[c] for c in lead if c in episodes})
    calendar_basis = time_basis == "calendar"
    for name, col in (
        ("admission_quarter", "admission_date"),
        ("discharge_quarter", "discharge_date"),
    ):
        if calendar_basis and col in episodes:
            table[name] = _quarters(episodes[col], d.fiscal_year_start_month)
        else:
            table[name] = pd.array([pd.NA] * n, dtype="string")
    for c in episodes.columns:
        if c not in table:
            table[c] = episodes[c]
    existing = set(table.columns)
    kept: list[str] = []
    new: dict[str, Any] = {}

    def put(name: str, value: Any) -> None:
        if name in existing:
            kept.append(name)
        else:
            new[name] = value

    discharge_day = (
        _num(episodes["discharge_day"]) if "discharge_day" in episodes else np.full(n, np.nan)
    )
    as_of = _as_of_day(records, episodes)

    # follow-ups
    detail = _followup_detail(records, d, ep_pos, discharge_day)
    fu_tps_with_rows = set(detail["timepoint"].dropna().unique())
    for tp in d.outcome_timepoints:
        if options.get("timepoints_from_followups") and tp not in fu_tps_with_rows:
            continue
        w = d.windows[tp]
        rows = detail.loc[detail["timepoint"] == tp]
        pos = rows["_pos"].to_numpy()
        if w.anchor == "admission":
            due = w.end_day <= as_of
        else:
            due = ~np.isnan(discharge_day) & (discharge_day + w.end_day <= as_of)
        status = np.where(due, "missed", "pending").astype(object)
        status[pos] = rows["status"].to_numpy(dtype=object)
        abst = pd.array([pd.NA] * n, dtype="boolean")
        abst[pos] = rows["abstinent"].array
        inw = pd.array([pd.NA] * n, dtype="boolean")
        inw[pos] = rows["in_window"].array
        days = pd.array([pd.NA] * n, dtype="Float64")
        days[pos] = rows["days_used_past30"].array
        put(f"abstinent_{tp}", abst)
        put(f"followup_status_{tp}", pd.array(status, dtype="string"))
        put(f"in_window_{tp}", inw)
        put(f"followup_due_{tp}", pd.array(due, dtype="boolean"))
        put(f"days_used_past30_{tp}", days)
        completed = rows["status"] == "completed"
        n_out = int((completed & (rows["in_window"] == False)).sum())  # noqa: E712
        if n_out:
            how = "counted" if d.out_of_window == "count" else "treated as missing"
            remarks.append(
                f"{n_out} completed {timepoint_text(tp)} follow-ups were outside the window "
                f"(days {w.start_day} to {w.end_day} after {w.anchor}) and were {how} "
                f"(out_of_window = {d.out_of_window})."
            )
        n_nodays = int((completed & rows["abstinent"].isna() & ~(rows["in_window"] == False)).sum())  # noqa: E712
        if n_nodays:
            remarks.append(
                f"{n_nodays} completed {timepoint_text(tp)} follow-ups had no days-of-use value "
                "in scope and have no abstinence outcome."
            )
        n_missed = int((status == "missed").sum())
        n_pending = int((status == "pending").sum())
        if n_missed or n_pending:
            remarks.append(_no_record_remark(tp, n, n_missed, n_pending))

    # calendar
    has_calendar = len(records.use_days) > 0
    if has_calendar and d.calendar == "screens":
        # urine screens on some days: the weekly rule of iopoutcomes._screens (never a run of
        # days, where every day without a screen would count as use)
        from ._screens import screen_outcomes

        e, day, used = _calendar_days(records.use_days, ep_pos, d)
        cols, notes = screen_outcomes(
            e, day, used, n, discharge_day, as_of, d.sustained_days,
            d.after_discharge_days, d.sustained_name,
        )  # fmt: skip
        for name, value in cols.items():
            put(name, value)
        remarks.extend(notes)
    elif has_calendar:
        controlled = (
            episodes["level_of_care"]
            .astype("string")
            .isin(list(CONTROLLED_LEVELS))
            .to_numpy(dtype=bool, na_value=False)
            if "level_of_care" in episodes
            else None
        )
        calendar_cols = _calendar_outcomes(records, d, ep_pos, discharge_day, as_of, controlled)
        for name, value in calendar_cols.items():
            put(name, value)
    # milestones need the calendar columns
    if "discharge_reason" in episodes:
        reason = episodes["discharge_reason"].astype("string")
        put(
            "treatment_completed",
            _bool_array((reason == "completed").fillna(False).to_numpy(bool), reason.notna()),
        )
    if new:
        table = pd.concat([table, pd.DataFrame(new, index=table.index)], axis=1)
        existing.update(new)
        new = {}
    if d.milestones:
        mcols, dropped = _milestone_columns(records, d, ep_pos, table)
        for name, value in mcols.items():
            put(name, value)
        if dropped:
            remarks.append(
                f"Milestones without data in these records were left out of milestones_met and "
                f"completed_program: {', '.join(dropped)}."
            )
        if d.aftercare_from == "services" and "aftercare_attended" not in dropped:
            remarks.append(
                "Milestone aftercare_attended read from the services table "
                f"(aftercare_from='services'): an outpatient, IOP or peer-support visit on days "
                f"1-{d.aftercare_within} after discharge, not the follow-up item."
            )
    if new:
        table = pd.concat([table, pd.DataFrame(new, index=table.index)], axis=1)
        new = {}
    if d.patterns:
        from . import patterns as _patterns

        words = _patterns.weekly_patterns(records)
        pat = _patterns.pattern_outcomes(words, definitions=list(d.patterns))
        pat = pat.reindex(pd.Index(episodes["episode_id"]))
        for c in pat.columns:
            put(str(c), pat[c].to_numpy())
        if new:
            table = pd.concat([table, pd.DataFrame(new, index=table.index)], axis=1)
    for name in d.eligibility_outcomes:
        flag = f"eligible_{name}"
        if flag in table.columns and name in table.columns:
            n_not = int((~table[flag].to_numpy(dtype=bool, na_value=True)).sum())
            if n_not:
                remarks.append(
                    f"{name}: {n_not} of {n:,} episodes are {d.not_eligible_text(name)}; they "
                    "are left out of its denominator, not counted as failures."
                )
    if kept:
        remarks.append(
            "Episode columns kept as given by the source (not recomputed): "
            + ", ".join(sorted(set(kept)))
            + "."
        )
    followups = detail.drop(columns="_pos").reset_index(drop=True)
    summary = {
        "n_episodes": n,
        "n_followups": len(records.followups),
        "n_use_days": len(records.use_days),
        "provenance": provenance,
        "subjects": str(options.get("subjects", "clients")),
        "time_basis": time_basis,
        "data_as_of": getattr(records, "data_as_of", None),
        "sources": dict(getattr(records, "sources", {}) or {}),
        "file_hashes": dict(getattr(records, "file_hashes", {}) or {}),
    }
    if options.get("record_unit"):
        remarks.append(f"Records are {options['record_unit']}, not people.")
    return EpisodeOutcomes(
        table=table.reset_index(drop=True),
        definition=d,
        followups=followups,
        records_summary=summary,
        remarks=tuple(remarks),
    )


def stay_length_remark(
    frame: Any, outcome: str, by: str, reference: Any, definition: OutcomeDefinition | None
) -> list[str]:
    """A remark when groups are compared on a length-of-stay-dependent outcome unfairly.

    For an outcome counted between admission and discharge (a run of ``sustained_days`` in
    treatment, a milestone built on it, ``completed_program`` with such a milestone; see
    :meth:`~iopoutcomes.definitions.OutcomeDefinition.length_of_stay_dependent`), the groups'
    chances differ with their stays. The remark is given when the median stay
    (``discharge_day``) of a group differs from the reference group's by more than the run
    length, or when more than :data:`STAY_NOT_ELIGIBLE_SHARE` (20%) of a group is not eligible
    (``eligible_<outcome>`` False). Otherwise, or for other outcomes, the list is empty.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"cohort": ["IOP"] * 4 + ["inpatient"] * 4,
    ...                   "discharge_day": [40, 45, 50, 60, 14, 19, 20, 35],
    ...                   "eligible_sustained_30d_in_treatment": [True] * 4 + [False] * 3 + [True]})
    >>> text = stay_length_remark(f, "sustained_30d_in_treatment", "cohort", "inpatient",
    ...                           OutcomeDefinition())
    >>> print(text[0][:78])
    sustained_30d_in_treatment depends on length of stay (a run of 30 days counted
    """
    d = definition
    if not isinstance(d, OutcomeDefinition) or not d.length_of_stay_dependent(outcome):
        return []
    flag = f"eligible_{outcome}"
    columns = [str(c) for c in frame.columns]
    wanted = [c for c in (by, "discharge_day", flag) if c in columns]
    if by not in wanted or len(wanted) == 1:
        return []
    if is_duckdb(frame):
        sub = frame.project(", ".join(f'"{c}"' for c in wanted)).df()
    else:
        sub = frame[wanted]
        sub = sub.compute() if is_dask(sub) else sub
    sub = sub.loc[sub[by].notna()]
    n = d.required_days(outcome) or d.sustained_days
    reasons: list[str] = []
    if "discharge_day" in sub:
        med = pd.to_numeric(sub["discharge_day"], errors="coerce").groupby(sub[by]).median()
        if reference in med.index and np.isfinite(med.loc[reference]):
            for g, m in med.items():
                if g != reference and np.isfinite(m) and abs(m - med.loc[reference]) > n:
                    reasons.append(
                        f"median stay {g} {m:g} days vs {reference} {med.loc[reference]:g} days "
                        f"(differ by more than the {n}-day run)"
                    )
    if flag in sub:
        not_ok = ~sub[flag].astype("boolean").fillna(True).astype(bool)
        share = not_ok.groupby(sub[by]).mean()
        for g, v in share.items():
            if v > STAY_NOT_ELIGIBLE_SHARE:
                reasons.append(f"{100 * v:.0f}% of {g} episodes are {d.not_eligible_text(outcome)}")
    if not reasons:
        return []
    return [
        f"{outcome} depends on length of stay (a run of {n} days counted between admission and "
        f"discharge), and the groups' stays differ: {'; '.join(reasons)}. A difference between "
        "the groups reflects how long they stayed as much as how they did; compare "
        f"{d.comparable_name} ({d.window_text(d.comparable_window)}, the same window for every "
        "setting) instead."
    ]
