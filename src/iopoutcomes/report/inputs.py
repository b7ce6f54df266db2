"""What every report section starts from: :class:`ReportInputs`, computed once.

:func:`prepare_inputs` resolves the reporting quarter (:func:`~.periods.reporting_quarter`),
takes the records as they stood at its end, applies the program's refusals, computes the
episode outcomes and labels each episode with its site and with the quarters its follow-up
windows closed in. Sections (:mod:`iopoutcomes.report.sections`) read these inputs and never
change them; the two collectors they share are append-only: the suppression log (every count
structure goes through it once, so the whole-report disclosure audit sees every table) and the
list of omitted parts with their reasons.

Examples
--------
>>> import iopoutcomes as iop
>>> from iopoutcomes.report.config import ReportConfig
>>> inputs = prepare_inputs(iop.load_sample(), None, ReportConfig())
>>> str(inputs.period), inputs.period_text(), inputs.primary
('2026Q2', '2025Q3–2026Q2', '6mo')
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..benchmarks import GPRA_FOLLOWUP_TARGET, MCCARTY_2014, Benchmark
from ..definitions import OutcomeDefinition
from ..exceptions import ConfigError, InsufficientDataError, IopOutcomesError
from .config import ReportConfig
from .labels import OTHER_SITES
from .periods import quarter_freq, quarters_of, reporting_quarter
from .suppression import Partition

__all__ = ["OTHER_SITES", "ReportInputs", "SuppressionLog", "prepare_inputs"]


@dataclass
class SuppressionLog:
    """Every suppressed count structure of the report, in the order the sections add them.

    ``recorder`` is the whole-report disclosure audit (:class:`~.disclosure.Recorder`): it
    records each partition on the first build and hands back the cells it decided on the
    second, so sections must add their tables in the same order on every build.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    recorder: Any = None

    def add(self, table: str, part: Partition, members: Any = None) -> Partition:
        """Log (and, under the audit, record or replace) one suppressed partition."""
        if self.recorder is not None:
            part = self.recorder.add(table, part, members)
        self.rows.append(
            {"table": table, "primary": part.n_primary, "complementary": part.n_complementary}
        )
        return part

    def frame(self) -> pd.DataFrame:
        """Per table: cells hidden as primary and as complementary suppression."""
        frame = pd.DataFrame(self.rows, columns=["table", "primary", "complementary"])
        if frame.empty:
            return frame.astype({"primary": "int64", "complementary": "int64"})
        return frame.groupby("table", sort=False, as_index=False).sum()

    def total(self) -> int:
        """Cells suppressed so far (primary + complementary)."""
        frame = self.frame()
        return int(frame["primary"].sum() + frame["complementary"].sum()) if len(frame) else 0


@dataclass(frozen=True, eq=False)
class ReportInputs:
    """The computed inputs of every section (read-only but for the two collectors).

    Attributes
    ----------
    records : Records
        The records as given.
    config : ReportConfig
        The settings (with the effective profile).
    definition : OutcomeDefinition
        The outcome definition the episode outcomes were computed with.
    benchmark : Benchmark
        The literature band abstinence is placed against.
    calendar : bool
        False for study-day records (no quarters).
    period, as_of : pandas.Period, pandas.Timestamp or None
        The reporting quarter and the date the snapshot is taken at (None: study days).
    lookback, trend : pandas.PeriodIndex or None
        The outcome-cohort quarters and the trend quarters, both ending with ``period``.
    snapshot : Records
        The records as they stood at ``as_of``, after the program's refusals.
    eo : EpisodeOutcomes
        ``episode_outcomes(snapshot, definition)``.
    table : pandas.DataFrame
        ``eo.table`` with ``_site`` (pooled/pseudonymised per profile) and, for calendar
        records, ``_close_<tp>``, ``_discharge_q`` and ``_admission_q`` quarter labels.
    cohorts, timepoints : tuple of str
        The cohorts (sorted) and the timepoints with follow-up data.
    primary : str or None
        The headline timepoint; None when there are no follow-up interviews.
    log : SuppressionLog
        Append-only: every suppressed count structure.
    omitted : list of str
        Append-only: parts left out and why.
    """

    records: Any
    config: ReportConfig
    definition: OutcomeDefinition
    benchmark: Benchmark
    calendar: bool
    period: pd.Period | None
    as_of: pd.Timestamp | None
    lookback: pd.PeriodIndex | None
    trend: pd.PeriodIndex | None
    snapshot: Any
    eo: Any
    table: pd.DataFrame
    cohorts: tuple[str, ...]
    timepoints: tuple[str, ...]
    primary: str | None
    log: SuppressionLog
    omitted: list[str]

    @property
    def k(self) -> int:
        """Smallest published count (``[privacy] k``)."""
        return self.config.k

    @property
    def min_den(self) -> int:
        """Smallest denominator of a published rate."""
        return self.config.min_denominator

    @property
    def freq(self) -> str:
        """pandas frequency of the reporting quarters."""
        return quarter_freq(self.config.fiscal_year_start_month)

    @property
    def lookback_labels(self) -> tuple[str, ...]:
        """The lookback quarters as labels (``"2026Q2"``); empty for study-day records."""
        if self.period is None or self.lookback is None:
            return ()
        return tuple(str(p) for p in self.lookback)

    @property
    def seed(self) -> int:
        """Seed of the imputations, derived from the configuration and the quarter.

        The same report (same settings, same quarter) reproduces its numbers; reports for
        other quarters or settings use different draws (a fixed seed would reuse one set of
        imputation draws in every report).
        """
        text = f"{self.period}|{self.as_of}|{self.config!r}"
        return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big")

    def cohort_mask(self, tp: str) -> np.ndarray:
        """Episodes of the outcome cohort of ``tp`` (window closed in the lookback quarters)."""
        if self.period is None:
            return np.ones(len(self.table), dtype=bool)
        labels = list(self.lookback_labels)
        return np.asarray(self.table[f"_close_{tp}"].isin(labels).to_numpy(bool))

    # the name the disclosure declarations (report/disclosure.py) call
    _cohort_mask = cohort_mask

    def subset(self, mask: np.ndarray) -> Any:
        """The episode outcomes restricted to ``mask`` (a fresh table: callers may add columns)."""
        return dataclasses.replace(self.eo, table=self.table.loc[mask].reset_index(drop=True))

    def pooled_sites(self, sub: Any) -> Any:
        """Sites with fewer than k clients in this analysis are pooled as 'Other sites'."""
        labels = sub.table["_site"].astype("string")
        size = labels.value_counts()
        small = set(size[size < self.k].index)
        if small:
            labels = labels.where(~labels.isin(small), OTHER_SITES)
        sub.table["_site"] = labels
        return sub

    def period_text(self) -> str:
        """The lookback quarters in words (``2025Q3–2026Q2``), or ``all episodes``."""
        if self.period is None or self.lookback is None:
            return "all episodes"
        first, last = self.lookback[0], self.lookback[-1]
        return str(last) if first == last else f"{first}–{last}"

    def quarter_convention(self) -> str:
        """``calendar quarters`` or the fiscal year's first month."""
        fy = self.config.fiscal_year_start_month
        if fy == 1:
            return "calendar quarters"
        month = pd.Timestamp(2000, fy, 1).strftime("%B")
        return f"fiscal quarters, year starting in {month}"

    def target(self) -> Benchmark:
        """The follow-up target as a benchmark band (low = high = the target)."""
        return dataclasses.replace(
            GPRA_FOLLOWUP_TARGET,
            low=self.config.followup_target,
            high=self.config.followup_target,
        )

    def units(
        self, members: Mapping[Any, pd.Series] | None, by: str = "index"
    ) -> dict[Any, np.ndarray] | None:
        """Members of a table's cells as counts per row of the episode table (the disclosure
        audit's units), from Series indexed like the table (``by="index"``) or by episode id."""
        if members is None:
            return None
        t = self.table
        key = t.index if by == "index" else pd.Index(t["episode_id"].astype(str))
        out = {}
        for cell, series in members.items():
            values = series.groupby(level=0).sum() if by != "index" else series
            if by != "index":
                values.index = values.index.astype(str)
            out[cell] = values.reindex(key, fill_value=0).to_numpy(dtype=np.int64)
        return out


# --- preparation -------------------------------------------------------------------------------


def prepare_inputs(
    records: Any,
    quarter: str | pd.Period | None,
    config: ReportConfig,
    recorder: Any = None,
) -> ReportInputs:
    """Compute the inputs of every section (see the module docstring).

    Parameters
    ----------
    records : Records
        Validated records.
    quarter : str, pandas.Period or None
        The reporting quarter; None: the last complete quarter at the data-as-of date
        (:func:`~.periods.reporting_quarter`). Ignored, with a note, for study-day records.
    config : ReportConfig
        The settings.
    recorder : disclosure.Recorder, optional
        The whole-report audit; it reads the returned inputs when it declares table members.
    """
    log = SuppressionLog(recorder=recorder)
    omitted: list[str] = []
    calendar = getattr(records, "time_basis", "calendar") == "calendar"
    definition = _definition(config)
    period: pd.Period | None = None
    as_of: pd.Timestamp | None = None
    lookback: pd.PeriodIndex | None = None
    trend: pd.PeriodIndex | None = None
    if calendar:
        period, as_of = _calendar(records, quarter, config, omitted)
        snapshot = _snapshot(records, as_of)
        lookback = pd.period_range(end=period, periods=config.lookback_quarters, freq=period.freq)
        trend = pd.period_range(end=period, periods=config.trend_quarters, freq=period.freq)
    else:
        if quarter is not None:
            omitted.append(
                f"The quarter {quarter} was not applied: these records have study days "
                "only (no calendar dates), so the report covers all episodes."
            )
        snapshot = records
    from .. import outcomes as outcomes_module
    from .program import check_program  # refusals; the program's declared timepoints

    snapshot = check_program(snapshot, definition, config, period, full=records)
    eo = outcomes_module.episode_outcomes(snapshot, definition)
    table = eo.table.copy()
    table["cohort"] = table["cohort"].astype("string")
    cohorts = sorted(str(c) for c in pd.unique(table["cohort"].dropna()))
    table["_site"] = _site_labels(table, config)
    d = eo.definition
    timepoints = [tp for tp in d.outcome_timepoints if f"followup_status_{tp}" in table.columns]
    if len(getattr(snapshot, "followups", ())) == 0:
        timepoints = []
    primary = config.primary_timepoint if config.primary_timepoint in timepoints else None
    if primary is None and timepoints:
        primary = timepoints[-1]
    if calendar and period is not None:
        fy = config.fiscal_year_start_month
        for tp in timepoints:
            w = d.windows[tp]
            anchor = "admission_date" if w.anchor == "admission" else "discharge_date"
            close = pd.to_datetime(table[anchor]) + pd.to_timedelta(w.end_day, unit="D")
            table[f"_close_{tp}"] = _labels(quarters_of(close, fy))
        table["_discharge_q"] = _labels(quarters_of(table["discharge_date"], fy))
        table["_admission_q"] = _labels(quarters_of(table["admission_date"], fy))
    if config.profile == "public" and table["_site"].notna().any():
        table["_site"] = _public_sites(table, config, primary, period, lookback)
    inputs = ReportInputs(
        records=records,
        config=config,
        definition=d,
        benchmark=_benchmark(config),
        calendar=calendar,
        period=period,
        as_of=as_of,
        lookback=lookback,
        trend=trend,
        snapshot=snapshot,
        eo=eo,
        table=table,
        cohorts=tuple(cohorts),
        timepoints=tuple(timepoints),
        primary=primary,
        log=log,
        omitted=omitted,
    )
    if recorder is not None:
        recorder.builder = inputs
    return inputs


def _definition(config: ReportConfig) -> OutcomeDefinition:
    try:
        base = OutcomeDefinition.from_dict(dict(config.definition))
    except IopOutcomesError as exc:
        raise ConfigError(f"[definition] is not a valid outcome definition: {exc}") from None
    from .program import program_definition  # the program's [input] timepoints, calendar

    base = program_definition(config, base)
    return base.replace(fiscal_year_start_month=config.fiscal_year_start_month)


def _benchmark(config: ReportConfig) -> Benchmark:
    if not config.benchmarks:
        return MCCARTY_2014
    b = config.benchmarks[0]
    return Benchmark(
        name=b.name,
        low=b.low,
        high=b.high,
        measure=b.measure,
        timepoint="first follow-up",
        citation=b.citation,
        year=b.year,
        population="as cited",
    )


def _calendar(
    records: Any, quarter: str | pd.Period | None, config: ReportConfig, omitted: list[str]
) -> tuple[pd.Period, pd.Timestamp]:
    """The reporting quarter and the snapshot date (its end, or the data-as-of date)."""
    data_as_of = getattr(records, "data_as_of", None)
    period = reporting_quarter(quarter, data_as_of, config.fiscal_year_start_month)
    q_start = period.start_time.normalize()
    q_end = period.end_time.normalize()
    as_of = q_end
    if data_as_of is not None:
        data_as_of = pd.Timestamp(data_as_of).normalize()
        if data_as_of < q_start:
            raise InsufficientDataError(
                f"The data end before quarter {period} starts (data as of "
                f"{data_as_of:%Y-%m-%d}); choose an earlier quarter."
            )
        if data_as_of < q_end:
            omitted.append(
                f"Quarter {period} is not complete in these data: counts are as of "
                "the data-as-of date and will change (provisional report)."
            )
            as_of = data_as_of
    return period, as_of


def _snapshot(records: Any, as_of: pd.Timestamp) -> Any:
    """The records as they stood at ``as_of`` (vectorised filters, nothing recomputed)."""
    r = records
    eps = r.episodes
    keep = pd.to_datetime(eps["admission_date"]).le(as_of).fillna(False).to_numpy(bool)
    eps = eps.loc[keep].copy()
    later = pd.to_datetime(eps["discharge_date"]).gt(as_of).fillna(False).to_numpy(bool)
    if later.any():
        eps.loc[later, "discharge_date"] = pd.NaT
        for column in ("discharge_reason", "discharge_day"):
            if column in eps:
                eps.loc[later, column] = pd.NA
    if "death_date" in eps:  # a death after the as-of date was not known then
        dead_later = pd.to_datetime(eps["death_date"]).gt(as_of).fillna(False)
        eps.loc[dead_later.to_numpy(bool), "death_date"] = pd.NaT
    ids = set(eps["episode_id"].astype(str))
    fu = r.followups
    if len(fu):
        ok = fu["episode_id"].astype(str).isin(ids).to_numpy(bool)
        ok = ok & ~pd.to_datetime(fu["assessment_date"]).gt(as_of).fillna(False).to_numpy(bool)
        fu = fu.loc[ok]
    ud = r.use_days
    if len(ud):
        ok = ud["episode_id"].astype(str).isin(ids).to_numpy(bool)
        if "date" in ud:
            ok = ok & ~pd.to_datetime(ud["date"]).gt(as_of).fillna(False).to_numpy(bool)
        ud = ud.loc[ok]
    sv = r.services
    if len(sv):  # services are by person, not episode: cut by date only
        sv = sv.loc[~sv["service_date"].gt(as_of).fillna(False).to_numpy(bool)].copy()
        ongoing = sv["end_date"].gt(as_of).fillna(False).to_numpy(bool)
        sv.loc[ongoing, "end_date"] = pd.NaT  # still in the stay on the as-of date
    return dataclasses.replace(
        r,
        episodes=eps.reset_index(drop=True),
        followups=fu.reset_index(drop=True),
        use_days=ud.reset_index(drop=True),
        services=sv.reset_index(drop=True),
        data_as_of=as_of,
    )


def _labels(periods: pd.Series) -> pd.Series:
    """Period series -> quarter label strings (``"2026Q2"``), missing where NaT."""
    text: Any = periods.astype("string")
    return text.mask(periods.isna())


def _site_labels(table: pd.DataFrame, config: ReportConfig) -> pd.Series:
    column = config.site_column
    if column not in table.columns or table[column].notna().sum() == 0:
        return pd.Series(pd.NA, index=table.index, dtype="string")
    raw = table[column].astype("string")
    groups = dict(config.site_groups)
    labels = raw.map(lambda s: groups.get(s, s) if s is not pd.NA else s).astype("string")
    size = labels.value_counts()
    small = set(size[size < config.k].index)
    if small:
        labels = labels.where(~labels.isin(small), OTHER_SITES)
    return labels


def _public_sites(
    table: pd.DataFrame,
    config: ReportConfig,
    primary: str | None,
    period: pd.Period | None,
    lookback: pd.PeriodIndex | None,
) -> pd.Series:
    """Public site labels: sites the site analyses would pool (fewer than k clients in the
    outcome cohort) are pooled everywhere first, then the others are numbered "Site 1..m"
    in a seeded random order, so no number is skipped in any table."""
    from .disclosure import site_pseudonyms

    labels = table["_site"].astype("string")
    if period is not None and primary is not None and lookback is not None:
        cohort = table[f"_close_{primary}"].isin([str(p) for p in lookback]).to_numpy(bool)
    else:
        cohort = np.ones(len(table), dtype=bool)
    size = labels[cohort].value_counts()
    small = set(size[size < config.k].index) | (set(labels.dropna()) - set(size.index))
    if small:
        labels = labels.where(~labels.isin(small), OTHER_SITES)
    allowed = set(dict(config.site_groups).values()) | {OTHER_SITES}
    neutral = site_pseudonyms(sorted(set(labels.dropna()) - allowed), config.pseudonym_seed)
    return labels.map(lambda s: neutral.get(s, s) if s is not pd.NA else s).astype("string")
