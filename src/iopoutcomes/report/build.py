"""Build the quarterly outcome report: :func:`quarterly_report` -> :class:`QuarterlyReport`.

The report is computed once, as data: every number comes from the library's result objects
(``followup_rates``, ``abstinence_rates``, ``outcome_rates``, ``compare_rates``, ``p_chart``,
``funnel_table``, ``balance_table``), goes through small-cell suppression
(:mod:`iopoutcomes.report.suppression`) and only then becomes a :class:`ReportTable`; figures are
drawn from those suppressed tables. Writers (:mod:`iopoutcomes.report.writers`) only format.

Who is in the report of quarter Q (calendar records)
----------------------------------------------------
* The records are taken **as they stood at the end of Q** (or at the data-as-of date when that
  is earlier): episodes admitted later, follow-ups assessed later, later use days and later
  discharges are left out, so a report on an old quarter does not change when newer data
  arrive (late data entry aside).
* **Quarter activity** (cohort flow): admissions and discharges dated in Q, and follow-ups still
  pending (window open) at the end of Q.
* **Outcome cohort of a timepoint** (follow-up rates, abstinence, comparison, sites, retention
  bias): episodes whose follow-up window for that timepoint *closed* within the
  ``lookback_quarters`` quarters ending with Q (default 4: a rolling year). GPRA rule: a
  follow-up is **due** once its window has closed; the follow-up rate is follow-ups conducted in
  the window / follow-ups due; windows still open are pending and outside the denominator.
* **Milestone cohort**: episodes discharged within the lookback quarters.
* **Trends**: the same counts by quarter of window close over the last ``trend_quarters``
  quarters, with SPC signals.

Study-day records (de-identified trial data such as CTN-0094) have no calendar quarters: the
report then covers all episodes, and the quarter-based parts (activity in the quarter, rates by
quarter, trends) are omitted with the reason printed in the report.

Examples
--------
>>> import iopoutcomes as iop
>>> report = iop.quarterly_report(iop.load_sample(), quarter="2026Q2", progress=False)
>>> report.quarter, report.profile
('2026Q2', 'funder')
>>> [s.key for s in report.sections][:3]
['cover', 'summary', 'flow']
>>> report.n_suppressed >= 0
True
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import platform
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..benchmarks import GPRA_FOLLOWUP_TARGET, MCCARTY_2014, Benchmark, position
from ..definitions import OutcomeDefinition, timepoint_text
from ..exceptions import ConfigError, InsufficientDataError, IopOutcomesError, ParameterError
from ..schema import EXPORT_REJECTION_REASONS, MILESTONE_MEASURES, REJECTION_REASONS
from .config import PROFILES, ReportConfig, load_config
from .headline import (
    INTAKE_COVARIATES,
    disagreement_sentence,
    intake_profile,
    intake_sentence,
    named_tests,
    primary_rows,
    result_sentence,
)
from .labels import fill_parameters, points, run_date_text, timepoint_label
from .model import Kpi, ReportFigure, ReportSection, ReportTable
from .periods import quarter_freq, quarter_period, quarters_of
from .suppression import TOTAL, Partition, suppress_partition

__all__ = ["QuarterlyReport", "ReportFiles", "quarterly_report"]

DEPENDENCIES: tuple[str, ...] = (
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "matplotlib",
    "jinja2",
    "openpyxl",
    "weasyprint",
)
"""Packages whose versions go into the reproducibility stamp."""

OTHER_SITES = "Other sites"

REFERENCES: tuple[str, ...] = (
    "McCarty D, Braude L, Lyman DR, et al. Substance abuse intensive outpatient programs: "
    "assessing the evidence. Psychiatric Services 2014;65(6):718-726.",
    "Wilson EB. Probable inference, the law of succession, and statistical inference. "
    "J Am Stat Assoc 1927;22:209-212.",
    "Newcombe RG. Interval estimation for the difference between independent proportions. "
    "Stat Med 1998;17:873-890.",
    "Miettinen O, Nurminen M. Comparative analysis of two rates. Stat Med 1985;4:213-226.",
    "Campbell I. Chi-squared and Fisher-Irwin tests of two-by-two tables with small sample "
    "recommendations. Stat Med 2007;26:3661-3675.",
    "Schuirmann DJ. A comparison of the two one-sided tests procedure and the power approach "
    "for assessing the equivalence of average bioavailability. J Pharmacokinet Biopharm "
    "1987;15:657-680; ICH E9 (1998) section 5.5 and FDA (2016) non-inferiority guidance.",
    "Horowitz JL, Manski CF. Nonparametric analysis of randomized experiments with missing "
    "covariate and outcome data. J Am Stat Assoc 2000;95:77-84.",
    "Laney DB. Improved control charts for attributes. Quality Engineering 2002;14:531-537.",
    "Anhøj J, Olesen AV. Run charts revisited. PLoS One 2014;9(11):e113825.",
    "Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med "
    "2005;24:1185-1202.",
    "Austin PC. Balance diagnostics for comparing the distribution of baseline covariates "
    "between treatment groups in propensity-score matched samples. Stat Med 2009;28:3083-3107.",
    "Hughes JR, Keely JP, Niaura RS, et al. Measures of abstinence in clinical trials. "
    "Nicotine Tob Res 2003;5(1):13-25.",
    "CMS Cell Size Suppression Policy (no cell of 1-10); FCSM Statistical Policy Working "
    "Paper 22 (complementary suppression and its audit).",
    "SAMHSA CSAT GPRA client outcome measures: 80% follow-up rate; 6-month follow-up window "
    "of months 5-8 after intake.",
)


# --- the result --------------------------------------------------------------------------------


class ReportFiles(dict[str, Path]):
    """Files written by :meth:`QuarterlyReport.write` (format or ``csv/<table>`` -> path).

    ``skipped`` maps a requested format that was not written to the reason (e.g. the PDF when
    WeasyPrint is not installed).
    """

    skipped: dict[str, str]

    def __init__(self) -> None:
        super().__init__()
        self.skipped = {}


@dataclass(frozen=True, eq=False)
class QuarterlyReport:
    """A quarterly outcome report, computed and suppressed, ready to be written.

    Attributes
    ----------
    quarter : str or None
        The reporting quarter (``"2026Q3"``); None for study-day records (no calendar).
    config : ReportConfig
        The settings (with the effective profile).
    stamp : Mapping
        The reproducibility stamp (also printed in the report and stored in ``report.json``).
    sections : tuple of ReportSection
        The ten sections, in order.
    suppression_log : pandas.DataFrame
        Per count structure: ``table``, ``primary``, ``complementary`` (never values).
    omitted : tuple of str
        Parts left out and why.

    Examples
    --------
    Built by :func:`quarterly_report` (here on the shipped simulated sample):

    >>> import iopoutcomes as iop
    >>> rep = iop.quarterly_report(iop.load_sample(), quarter="2026Q2", progress=False)
    >>> rep.quarter, rep.profile
    ('2026Q2', 'funder')
    >>> [s.title for s in rep.sections][:3]
    ['Cover and reproducibility stamp', 'Executive summary', 'Cohort flow']
    >>> rep.n_suppressed > 0  # small cells are hidden before anything is written
    True
    """

    quarter: str | None
    config: ReportConfig
    stamp: Mapping[str, Any]
    sections: tuple[ReportSection, ...]
    suppression_log: pd.DataFrame
    omitted: tuple[str, ...] = ()

    @property
    def profile(self) -> str:
        """The audience profile: public, funder or internal."""
        return self.config.profile

    @property
    def tables(self) -> tuple[ReportTable, ...]:
        """Every published table, in report order."""
        return tuple(t for s in self.sections for t in s.tables)

    @property
    def n_suppressed(self) -> int:
        """Count cells hidden by small-cell suppression (primary + complementary)."""
        if self.suppression_log.empty:
            return 0
        log = self.suppression_log
        return int(log["primary"].sum() + log["complementary"].sum())

    @property
    def title(self) -> str:
        """Report title (from the config)."""
        return self.config.title

    @property
    def subtitle(self) -> str:
        """Period, program and profile line."""
        period = f"Quarter {self.quarter}" if self.quarter else "All episodes (study-day data)"
        program = f"{self.config.program} · " if self.config.program else ""
        return f"{program}{period} · {self.profile} profile"

    def table(self, key: str) -> ReportTable:
        """The published table with this key (``KeyError`` if absent)."""
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(key)

    def to_html(self) -> str:
        """The self-contained HTML report (inline CSS and SVG, escaped labels)."""
        from .writers import render_html

        return render_html(
            title=self.title, subtitle=self.subtitle, stamp=self.stamp, sections=self.sections
        )

    def _repr_html_(self) -> str:
        from .._render import escape

        rows = "".join(
            f"<li>{escape(s.title)}: {len(s.tables)} tables, {len(s.figures)} figures</li>"
            for s in self.sections
        )
        return (
            f"<div><strong>{escape(self.title)}</strong> — {escape(self.subtitle)}<br>"
            f"{self.n_suppressed} cells suppressed (k = {self.config.k}); "
            f"{len(self.omitted)} parts omitted<ol>{rows}</ol></div>"
        )

    def __repr__(self) -> str:
        return (
            f"<QuarterlyReport: {self.quarter or 'study-day data'}, {self.profile} profile, "
            f"{len(self.sections)} sections, {len(self.tables)} tables, "
            f"{self.n_suppressed} cells suppressed>"
        )

    def write(
        self,
        out_dir: str | Path,
        formats: Sequence[str] = ("html", "pdf", "xlsx", "csv", "json"),
    ) -> ReportFiles:
        """Write the report files into ``out_dir``, replacing the folder as a whole.

        The files are written into a fresh folder next to ``out_dir`` that then takes its
        place (:mod:`iopoutcomes.report.folder`): files of an earlier run that this run does
        not write are gone, and an interrupted run leaves the previous report complete. A
        non-empty folder that no report run wrote is refused (``FileExistsError``).

        Parameters
        ----------
        out_dir : str or path
            Output folder (created if needed).
        formats : sequence of {"html", "pdf", "xlsx", "csv", "json"}
            ``report.html``, ``report.pdf`` (only when WeasyPrint is importable: otherwise the
            format is listed in ``ReportFiles.skipped`` with the reason), ``report.xlsx``,
            ``report.json`` and one ``<table>.csv`` per table.

        Returns
        -------
        ReportFiles
            Format (``csv/<table>`` for CSV files) -> path written.
        """
        from .writers import FORMATS

        wanted = [str(f).strip().lower() for f in formats]
        unknown = [f for f in wanted if f not in FORMATS]
        if unknown:
            raise ParameterError(
                f"Unknown report format(s) {unknown}; choose from {list(FORMATS)}."
            )
        from .folder import staged_folder

        final = Path(out_dir)
        with staged_folder(final) as folder:
            files = self._write_into(folder, wanted)
        for key, path in list(files.items()):
            files[key] = final / path.name
        return files

    def _write_into(self, folder: Path, wanted: Sequence[str]) -> ReportFiles:
        from .writers import (
            source_date,
            write_atomic,
            write_csv_tables,
            write_json,
            write_pdf,
            write_xlsx,
        )

        files = ReportFiles()
        html = self.to_html() if ("html" in wanted or "pdf" in wanted) else ""
        if "html" in wanted:
            files["html"] = write_atomic(folder / "report.html", html.encode("utf-8"))
        if "pdf" in wanted:
            pdf = write_pdf(html, folder / "report.pdf")
            if pdf is None:
                files.skipped["pdf"] = (
                    "WeasyPrint is not installed (pip install 'iopoutcomes[pdf]')"
                )
            else:
                files["pdf"] = pdf
        tables = list(self.tables)
        if "xlsx" in wanted:
            files["xlsx"] = write_xlsx(
                folder / "report.xlsx", stamp=self.stamp, tables=tables, when=source_date()
            )
        if "json" in wanted:
            files["json"] = write_json(
                folder / "report.json", stamp=self.stamp, sections=self.sections, tables=tables
            )
        if "csv" in wanted:
            for path in write_csv_tables(tables, folder):
                files[f"csv/{path.stem}"] = path
        return files


# --- helpers -----------------------------------------------------------------------------------


def _f(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return out


def _pct(value: float, decimals: int = 0) -> str:
    return "n/a" if not math.isfinite(value) else f"{100 * value:.{decimals}f}%"


def _in_ten(rate: float) -> str:
    if not math.isfinite(rate):
        return "an unknown share"
    k = math.floor(10 * rate + 0.5)
    if k <= 0:
        return "fewer than 1 in 10"
    if k >= 10:
        return "nearly all"
    return f"about {k} in 10"


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "iopoutcomes": __version__}
    for name in DEPENDENCIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _input_files(records: Any, config: ReportConfig | None = None) -> dict[str, str]:
    """Input file -> SHA-256 (named ``table (file)`` when hashes are keyed by table).

    In the public profile files are named by their table only (file names can carry dates,
    places or people) and hashes are shortened to 12 hex digits; ``[privacy] hashes`` sets
    ``full``, ``short`` or ``none`` explicitly.
    """
    hashes = dict(getattr(records, "file_hashes", {}) or {})
    sources = dict(getattr(records, "sources", {}) or {})
    public = config is not None and config.profile == "public"
    mode = "full" if config is None else config.hashes
    if mode == "auto":
        mode = "short" if public else "full"
    out = {}
    for key, digest in hashes.items():
        source = sources.get(key)
        name = f"{key} ({source})" if source and source != key and not public else str(key)
        text = str(digest)
        out[name] = {"full": text, "short": text[:12], "none": "not published"}[mode]
    return dict(sorted(out.items()))


def _labels(periods: pd.Series) -> pd.Series:
    """Period series -> quarter label strings (``"2026Q2"``), missing where NaT."""
    text: Any = periods.astype("string")
    return text.mask(periods.isna())


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _bool(series: pd.Series) -> np.ndarray:
    return np.asarray(series.astype("boolean").fillna(False).to_numpy(dtype=bool))


@dataclass
class _Log:
    rows: list[dict[str, Any]] = field(default_factory=list)
    recorder: Any = None  # disclosure.Recorder: the whole-report audit

    def add(self, table: str, part: Partition, members: Any = None) -> Partition:
        if self.recorder is not None:
            part = self.recorder.add(table, part, members)
        self.rows.append(
            {"table": table, "primary": part.n_primary, "complementary": part.n_complementary}
        )
        return part

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.rows, columns=["table", "primary", "complementary"])
        if frame.empty:
            return frame.astype({"primary": "int64", "complementary": "int64"})
        return frame.groupby("table", sort=False, as_index=False).sum()


def _rate_cells(
    part: Partition,
    row: Any,
    events: Sequence[str],
    denominator: Sequence[str] | None,
    rate: float,
    low: float,
    high: float,
    min_denominator: int,
) -> tuple[int | None, int | None, float, float, float, str]:
    """Publish a rate only when all counts it rests on are published (and n is large enough)."""
    shown_events = [part.shown(row, c) for c in events]
    ev = None if any(v is None for v in shown_events) else int(sum(shown_events))  # type: ignore[arg-type]
    if denominator is None:
        den = part.shown(row, TOTAL)
    else:
        parts = [part.shown(row, c) for c in denominator]
        den = None if any(v is None for v in parts) else int(sum(parts))  # type: ignore[arg-type]
    nan = float("nan")
    if ev is None or den is None:
        return ev, den, nan, nan, nan, "small cell"
    if den < min_denominator:
        return ev, den, nan, nan, nan, f"denominator < {min_denominator}"
    if den == 0:
        return ev, den, nan, nan, nan, "no cases"
    return ev, den, rate, low, high, ""


def part_died(n: int, k: int) -> int | None:
    """Deaths removed from a denominator: shown unless a small cell (1..k-1)."""
    return None if 0 < n < k else n


def _int_col(values: Iterable[int | None]) -> pd.Series:
    return pd.Series(list(values), dtype="Int64")


# --- the builder -------------------------------------------------------------------------------


class _Builder:
    def __init__(
        self,
        records: Any,
        quarter: str | pd.Period | None,
        config: ReportConfig,
        progress: bool,
        recorder: Any = None,
    ) -> None:
        self.records = records
        self.config = config
        self.k = config.k
        self.min_den = config.min_denominator
        self.log = _Log(recorder=recorder)
        if recorder is not None:
            recorder.builder = self
        self.omitted: list[str] = []
        self.progress = progress
        self.calendar = getattr(records, "time_basis", "calendar") == "calendar"
        self.definition = self._definition()
        self.benchmark = self._benchmark()
        self.figures: dict[str, ReportFigure] = {}
        self.period: pd.Period | None = None
        self.as_of: pd.Timestamp | None = None
        self.lookback_labels: list[str] = []
        self.freq = quarter_freq(config.fiscal_year_start_month)
        if self.calendar:
            self._setup_calendar(quarter)
        else:
            if quarter is not None:
                self.omitted.append(
                    f"The quarter {quarter} was not applied: these records have study days "
                    "only (no calendar dates), so the report covers all episodes."
                )
            self.snapshot = records
        from .program import check_program  # refusals; the program's declared timepoints

        self.snapshot = check_program(
            self.snapshot, self.definition, config, self.period, full=records
        )

    # -- setup ----------------------------------------------------------------------------

    @property
    def seed(self) -> int:
        """Seed of the imputations, derived from the configuration and the quarter.

        The same report (same settings, same quarter) reproduces its numbers; reports for
        other quarters or settings use different draws (a fixed seed would reuse one set of
        imputation draws in every report).
        """
        import hashlib

        text = f"{self.period}|{self.as_of}|{self.config!r}"
        return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big")

    def _definition(self) -> OutcomeDefinition:
        try:
            base = OutcomeDefinition.from_dict(dict(self.config.definition))
        except IopOutcomesError as exc:
            raise ConfigError(f"[definition] is not a valid outcome definition: {exc}") from None
        from .program import program_definition  # the program's [input] timepoints, calendar

        base = program_definition(self.config, base)
        return base.replace(fiscal_year_start_month=self.config.fiscal_year_start_month)

    def _benchmark(self) -> Benchmark:
        if not self.config.benchmarks:
            return MCCARTY_2014
        b = self.config.benchmarks[0]
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

    def _setup_calendar(self, quarter: str | pd.Period | None) -> None:
        fy = self.config.fiscal_year_start_month
        data_as_of = getattr(self.records, "data_as_of", None)
        if quarter is None:
            if data_as_of is None:
                raise ParameterError("Give the reporting quarter, e.g. quarter='2026Q3'.")
            from .periods import last_complete_quarter

            period = last_complete_quarter(pd.Timestamp(data_as_of), fy)
        else:
            period = quarter_period(quarter, fy)
        self.period = period
        q_start = period.start_time.normalize()
        q_end = period.end_time.normalize()
        as_of = q_end
        if data_as_of is not None:
            data_as_of = pd.Timestamp(data_as_of).normalize()
            if data_as_of < q_start:
                raise InsufficientDataError(
                    f"The data end before quarter {self.period} starts (data as of "
                    f"{data_as_of:%Y-%m-%d}); choose an earlier quarter."
                )
            if data_as_of < q_end:
                self.omitted.append(
                    f"Quarter {self.period} is not complete in these data: counts are as of "
                    "the data-as-of date and will change (provisional report)."
                )
                as_of = data_as_of
        self.as_of = as_of
        self.snapshot = self._snapshot(as_of)
        self.lookback = pd.period_range(
            end=period, periods=self.config.lookback_quarters, freq=period.freq
        )
        self.trend = pd.period_range(
            end=period, periods=self.config.trend_quarters, freq=period.freq
        )

    def _snapshot(self, as_of: pd.Timestamp) -> Any:
        """The records as they stood at ``as_of`` (vectorised filters, nothing recomputed)."""
        r = self.records
        eps = r.episodes
        keep = pd.to_datetime(eps["admission_date"]).le(as_of).fillna(False).to_numpy(bool)
        eps = eps.loc[keep].copy()
        later = pd.to_datetime(eps["discharge_date"]).gt(as_of).fillna(False).to_numpy(bool)
        if later.any():
            eps.loc[later, "discharge_date"] = pd.NaT
            for column in ("discharge_reason", "discharge_day"):
                if column in eps:
                    eps.loc[later, column] = pd.NA
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
        return dataclasses.replace(
            r,
            episodes=eps.reset_index(drop=True),
            followups=fu.reset_index(drop=True),
            use_days=ud.reset_index(drop=True),
            data_as_of=as_of,
        )

    # -- the analysis ---------------------------------------------------------------------

    def run(self) -> QuarterlyReport:
        from .. import outcomes as outcomes_module

        steps: list[tuple[str, Callable[[], Any]]] = [
            ("episode outcomes", lambda: None),
            ("cohort flow", self._flow),
            ("follow-up rates", self._followup),
            ("outcomes", self._outcomes),
            ("milestones", self._milestones),
            ("measurement-based care", self._measurement),
            ("trends", self._trends),
            ("sites", self._sites),
            ("data quality", self._quality),
        ]
        bar = _progress(len(steps), self.progress)
        try:
            bar.set_description("episode outcomes")
            self.eo = outcomes_module.episode_outcomes(self.snapshot, self.definition)
            self.definition = self.eo.definition
            self._prepare()
            bar.update(1)
            results: dict[str, Any] = {}
            for name, step in steps[1:]:
                bar.set_description(name)
                results[name] = step()
                bar.update(1)
        finally:
            bar.close()
        sections = (
            self._cover(),
            self._summary(),
            results["cohort flow"],
            results["follow-up rates"],
            results["outcomes"],
            results["milestones"],
            *([results["measurement-based care"]] if results["measurement-based care"] else []),
            results["trends"],
            results["sites"],
            results["data quality"],
            self._methods(),
        )
        log = self.log.frame()
        stamp = self._stamp(log, sections)
        cover = dataclasses.replace(
            sections[0], paragraphs=sections[0].paragraphs + self._stamp_lines(stamp)
        )
        methods = dataclasses.replace(
            sections[-1], tables=(*sections[-1].tables, self._stamp_table(stamp))
        )
        sections = (cover, *sections[1:-1], methods)
        return QuarterlyReport(
            quarter=None if self.period is None else str(self.period),
            config=self.config,
            stamp=stamp,
            sections=sections,
            suppression_log=log,
            omitted=tuple(self.omitted),
        )

    def _prepare(self) -> None:
        table = self.eo.table.copy()
        table["cohort"] = table["cohort"].astype("string")
        self.cohorts = [str(c) for c in pd.unique(table["cohort"].dropna())]
        self.cohorts.sort()
        table["_site"] = self._site_labels(table)
        d = self.definition
        self.timepoints = [
            tp for tp in d.outcome_timepoints if f"followup_status_{tp}" in table.columns
        ]
        has_followups = len(getattr(self.snapshot, "followups", ())) > 0
        if not has_followups:
            self.timepoints = []
        primary = self.config.primary_timepoint
        self.primary = primary if primary in self.timepoints else None
        if self.primary is None and self.timepoints:
            self.primary = self.timepoints[-1]
        if self.calendar and self.period is not None:
            for tp in self.timepoints:
                w = d.windows[tp]
                anchor = "admission_date" if w.anchor == "admission" else "discharge_date"
                close = pd.to_datetime(table[anchor]) + pd.to_timedelta(w.end_day, unit="D")
                q = quarters_of(close, self.config.fiscal_year_start_month)
                table[f"_close_{tp}"] = _labels(q)
            dq = quarters_of(table["discharge_date"], self.config.fiscal_year_start_month)
            table["_discharge_q"] = _labels(dq)
            aq = quarters_of(table["admission_date"], self.config.fiscal_year_start_month)
            table["_admission_q"] = _labels(aq)
        if self.config.profile == "public" and table["_site"].notna().any():
            table["_site"] = self._public_sites(table)
        self.table = table
        self.lookback_labels = [str(p) for p in self.lookback] if self.period is not None else []

    def _site_labels(self, table: pd.DataFrame) -> pd.Series:
        column = self.config.site_column
        if column not in table.columns or table[column].notna().sum() == 0:
            return pd.Series(pd.NA, index=table.index, dtype="string")
        raw = table[column].astype("string")
        groups = dict(self.config.site_groups)
        labels = raw.map(lambda s: groups.get(s, s) if s is not pd.NA else s).astype("string")
        size = labels.value_counts()
        small = set(size[size < self.k].index)
        if small:
            labels = labels.where(~labels.isin(small), OTHER_SITES)
        return labels

    def _public_sites(self, table: pd.DataFrame) -> pd.Series:
        """Public site labels: sites the site analyses would pool (fewer than k clients in the
        outcome cohort) are pooled everywhere first, then the others are numbered "Site 1..m"
        in a seeded random order, so no number is skipped in any table."""
        from .disclosure import site_pseudonyms

        labels = table["_site"].astype("string")
        if self.period is not None and self.primary is not None:
            lookback = [str(p) for p in self.lookback]
            cohort = table[f"_close_{self.primary}"].isin(lookback).to_numpy(bool)
        else:
            cohort = np.ones(len(table), dtype=bool)
        size = labels[cohort].value_counts()
        small = set(size[size < self.k].index) | (set(labels.dropna()) - set(size.index))
        if small:
            labels = labels.where(~labels.isin(small), OTHER_SITES)
        allowed = set(dict(self.config.site_groups).values()) | {OTHER_SITES}
        neutral = site_pseudonyms(
            sorted(set(labels.dropna()) - allowed), self.config.pseudonym_seed
        )
        return labels.map(lambda s: neutral.get(s, s) if s is not pd.NA else s).astype("string")

    def _pooled_sites(self, sub: Any) -> Any:
        """Sites with fewer than k clients in this analysis are pooled as 'Other sites'."""
        labels = sub.table["_site"].astype("string")
        size = labels.value_counts()
        small = set(size[size < self.k].index)
        if small:
            labels = labels.where(~labels.isin(small), OTHER_SITES)
        sub.table["_site"] = labels
        return sub

    def _subset(self, mask: np.ndarray) -> Any:
        return dataclasses.replace(self.eo, table=self.table.loc[mask].reset_index(drop=True))

    def _cohort_mask(self, tp: str) -> np.ndarray:
        if self.period is None:
            return np.ones(len(self.table), dtype=bool)
        return np.asarray(self.table[f"_close_{tp}"].isin(self.lookback_labels).to_numpy(bool))

    def _period_text(self) -> str:
        if self.period is None:
            return "all episodes"
        first, last = self.lookback[0], self.lookback[-1]
        return str(last) if first == last else f"{first}–{last}"

    # -- section 3: flow ------------------------------------------------------------------

    def _flow(self) -> ReportSection:
        paragraphs: list[str] = []
        tables: list[ReportTable] = []
        t = self.table
        if self.period is not None:
            q = str(self.period)
            counts = pd.DataFrame(index=pd.Index(self.cohorts, name="cohort"))
            cohort = t["cohort"].astype("string")
            counts["admissions"] = (
                (t["_admission_q"] == q).fillna(False).groupby(cohort).sum()
            ).reindex(self.cohorts, fill_value=0)
            counts["discharges"] = (
                (t["_discharge_q"] == q).fillna(False).groupby(cohort).sum()
            ).reindex(self.cohorts, fill_value=0)
            counts["in_care_at_end"] = (t["discharge_date"].isna().groupby(cohort).sum()).reindex(
                self.cohorts, fill_value=0
            )
            if self.primary is not None:
                pending = (t[f"followup_status_{self.primary}"] == "pending").fillna(False)
                counts["followups_pending"] = (
                    pending.groupby(cohort).sum().reindex(self.cohorts, fill_value=0)
                )
            part = self.log.add("flow_quarter", suppress_partition(counts, self.k))
            frame = part.values.drop(columns=[TOTAL]).rename_axis("cohort").reset_index()
            frame["cohort"] = frame["cohort"].astype(str)
            frame["suppressed"] = part.hidden.drop(columns=[TOTAL]).any(axis=1).to_numpy()
            tables.append(
                ReportTable(
                    "flow_quarter",
                    f"Activity in {q} by cohort",
                    frame,
                    footnote=(
                        f"Admissions and discharges dated in {q}; clients in care and "
                        f"{timepoint_text(self.primary or '')} follow-ups pending (window still "
                        f"open) at the end of {q}. Counts 1-{self.k - 1} are suppressed and "
                        "other cells hidden so they cannot be recovered (— = suppressed)."
                    ),
                )
            )
        else:
            self.omitted.append(
                "Activity in the quarter (admissions, discharges) is omitted: study-day records "
                "have no calendar dates."
            )
            counts = pd.DataFrame({"episodes": self.table.groupby("cohort").size()}).reindex(
                self.cohorts, fill_value=0
            )
            counts["discharged"] = (
                self.table["discharge_day"].notna().groupby(self.table["cohort"]).sum()
            ).reindex(self.cohorts, fill_value=0)
            counts["not_discharged"] = counts["episodes"] - counts["discharged"]
            part = self.log.add(
                "flow_episodes",
                suppress_partition(counts[["discharged", "not_discharged"]], self.k),
            )
            frame = part.values.rename(columns={TOTAL: "episodes"}).rename_axis("cohort")
            frame = frame.reset_index()
            frame["cohort"] = frame["cohort"].astype(str)
            frame["suppressed"] = part.hidden.any(axis=1).to_numpy()
            tables.append(
                ReportTable(
                    "flow_episodes",
                    "Episodes by cohort",
                    frame,
                    footnote="Discharged = a discharge (or scheduled end) day is recorded. "
                    f"Counts 1-{self.k - 1} are suppressed (— = suppressed).",
                )
            )
        figures: list[ReportFigure] = []
        if self.primary is None:
            self.omitted.append(
                "Follow-up flow is omitted: the records have no follow-up interviews."
            )
        else:
            self.followup_part, self.followup_rt = self._followup_partition(
                "cohort", "flow_followup"
            )
            frame = self._followup_frame(self.followup_part, self.followup_rt, "cohort")
            tables.append(
                ReportTable(
                    "flow_followup",
                    f"{timepoint_text(self.primary).capitalize()} follow-ups due in "
                    f"{self._period_text()} by cohort",
                    frame,
                    footnote=self._followup_footnote(),
                )
            )
            from .figures import cascade_figure

            figures.append(cascade_figure(frame, self.primary))
        paragraphs.append(
            "Who is counted: "
            + (
                f"a {timepoint_text(self.primary or '6mo')} follow-up is due once its window "
                f"has closed; this report counts windows that closed in {self._period_text()} "
                f"(the {self.config.lookback_quarters} quarters ending with {self.period})."
                if self.period is not None
                else "all episodes of the records (study-day data have no quarters)."
            )
        )
        return ReportSection(
            "flow", "Cohort flow", tuple(paragraphs), (), tuple(tables), tuple(figures)
        )

    def _followup_partition(self, by: str, key: str) -> tuple[Partition, pd.DataFrame]:
        from ..rates import followup_rates

        assert self.primary is not None
        mask = self._cohort_mask(self.primary)
        column = by if by != "site" else "_site"
        if by == "site":
            mask = mask & self.table["_site"].notna().to_numpy(bool)
        sub = self._subset(mask)
        if by == "site":
            sub = self._pooled_sites(sub)
        if len(sub.table) == 0:
            raise InsufficientDataError(
                f"No {timepoint_text(self.primary)} follow-up windows closed in "
                f"{self._period_text()}; choose a later quarter or more lookback_quarters."
            )
        rt = followup_rates(
            sub,
            by=column,
            timepoints=[self.primary],
            target=self.config.followup_target,
        ).table
        rt = rt.set_index(rt["group"].astype(str))
        parts = ["conducted_in_window", "conducted_out_of_window", "not_conducted"]
        counts = rt[parts].astype("int64")
        counts = counts.loc[counts.sum(axis=1) > 0] if by == "site" else counts
        part = self.log.add(key, suppress_partition(counts, self.k))
        return part, rt.loc[counts.index]

    def _followup_frame(self, part: Partition, rt: pd.DataFrame, label: str) -> pd.DataFrame:
        rows = []
        parts = ["conducted_in_window", "conducted_out_of_window", "not_conducted"]
        for group in rt.index:
            ev, den, rate, lo, hi, why = _rate_cells(
                part,
                group,
                ["conducted_in_window"],
                None,
                _f(rt.loc[group, "rate"]),
                _f(rt.loc[group, "ci_low"]),
                _f(rt.loc[group, "ci_high"]),
                self.min_den,
            )
            rows.append(
                {
                    label: str(group),
                    "due": den,
                    **{p: part.shown(group, p) for p in parts},
                    "rate": rate,
                    "ci_low": rate if math.isnan(rate) else lo,
                    "ci_high": rate if math.isnan(rate) else hi,
                    "target": self.config.followup_target,
                    "vs_target": (
                        position(lo, hi, self._target())[()] if not math.isnan(rate) else ""
                    ),
                    "suppressed": bool(part.hidden.loc[group].any()) or bool(why),
                    "suppression": why
                    if why
                    else ("" if not part.hidden.loc[group].any() else "complementary"),
                }
            )
        total_ev, total_den, rate, lo, hi, why = _rate_cells(
            part, TOTAL, ["conducted_in_window"], None, float("nan"), float("nan"), float("nan"), 0
        )
        frame = pd.DataFrame(rows)
        for column in ("due", *parts):
            frame[column] = frame[column].astype("Int64")
        total: dict[str, Any] = {
            label: "All",
            "due": total_den,
            **{p: part.shown(TOTAL, p) for p in parts},
            "rate": float("nan"),
            "ci_low": float("nan"),
            "ci_high": float("nan"),
            "target": self.config.followup_target,
            "vs_target": "",
            "suppressed": bool(part.hidden.loc[TOTAL].any()),
            "suppression": "",
        }
        overall = self._overall_followup()
        if overall is not None and total_ev is not None and total_den and total_den >= self.min_den:
            total["rate"], total["ci_low"], total["ci_high"] = overall
            total["vs_target"] = str(position(overall[1], overall[2], self._target())[()])
        frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
        for column in ("due", *parts):
            frame[column] = frame[column].astype("Int64")
        return frame

    def _target(self) -> Benchmark:
        return dataclasses.replace(
            GPRA_FOLLOWUP_TARGET,
            low=self.config.followup_target,
            high=self.config.followup_target,
        )

    def _overall_followup(self) -> tuple[float, float, float] | None:
        from ..rates import followup_rates

        if self.primary is None:
            return None
        sub = self._subset(self._cohort_mask(self.primary))
        if len(sub.table) == 0:
            return None
        t = followup_rates(
            sub, by=None, timepoints=[self.primary], target=self.config.followup_target
        ).table
        self.followup_overall = t
        return _f(t["rate"].iloc[0]), _f(t["ci_low"].iloc[0]), _f(t["ci_high"].iloc[0])

    def _followup_footnote(self) -> str:
        from ..rates import followup_rates

        assert self.primary is not None
        text = followup_rates(
            self._subset(np.zeros(len(self.table), bool) | True),
            by=None,
            timepoints=[self.primary],
            target=self.config.followup_target,
        ).definition_text()
        w = self.definition.windows[self.primary]
        return (
            f"{text} Window: days {w.start_day}-{w.end_day} after {w.anchor}. Rate hidden (—) "
            f"when a count behind it is suppressed or fewer than {self.min_den} are due."
        )

    # -- section 4: follow-up rates --------------------------------------------------------

    def _followup(self) -> ReportSection:
        title = "Follow-up rate against the target"
        if self.primary is None:
            self.omitted.append("Follow-up rates are omitted: no follow-up interviews.")
            return ReportSection(
                "followup",
                title,
                ("Not available: the records have no follow-up interviews.",),
            )
        from .figures import rates_figure

        tables: list[ReportTable] = []
        frame = self.table_frame_cohort = self._followup_frame(
            self.followup_part, self.followup_rt, "cohort"
        )
        keep = ["cohort", "due", "conducted_in_window", "rate", "ci_low", "ci_high", "target"]
        keep += ["vs_target", "suppressed", "suppression"]
        tables.append(
            ReportTable(
                "followup_by_cohort",
                f"{timepoint_text(self.primary).capitalize()} follow-up rate by cohort, "
                f"{self._period_text()}",
                frame[keep].copy(),
                footnote=self._followup_footnote(),
            )
        )
        figures = [
            rates_figure(
                frame.rename(columns={"cohort": "group", "due": "n"}),
                "followup_rates",
                f"{timepoint_text(self.primary).capitalize()} follow-up rate by cohort "
                f"(target {self.config.followup_target:.0%})",
                target=self.config.followup_target,
            )
        ]
        if self.table["_site"].notna().any():
            part, rt = self._followup_partition("site", "followup_by_site")
            site_frame = self._followup_frame(part, rt, "site")
            self.followup_site = (part, rt)
            tables.append(
                ReportTable(
                    "followup_by_site",
                    f"{timepoint_text(self.primary).capitalize()} follow-up rate by site, "
                    f"{self._period_text()}",
                    site_frame[["site", *keep[1:]]].copy(),
                    footnote=f"Sites listed in data order of their names, never ranked; sites "
                    f"with fewer than {self.k} clients are pooled as '{OTHER_SITES}'. "
                    + self._followup_footnote(),
                )
            )
        else:
            self.omitted.append(
                f"Follow-up rates by site are omitted: no '{self.config.site_column}' column."
            )
        gpra = self._gpra_followup()
        if gpra is not None:
            tables.insert(1, gpra)
        paragraphs = []
        if self.period is not None:
            qt = self._quarter_followup()
            if qt is not None:
                tables.append(qt)
        else:
            self.omitted.append("Follow-up rates by quarter are omitted: study-day records.")
        row = frame.iloc[-1]
        if math.isfinite(_f(row["rate"])):
            verdict = {
                "above": "is above",
                "below": "is below",
                "overlapping": "is compatible with",
            }.get(str(row["vs_target"]), "cannot be compared with")
            paragraphs.append(
                f"{row['conducted_in_window']} of {row['due']} {timepoint_text(self.primary)} "
                f"follow-ups due in {self._period_text()} were conducted in the window "
                f"({_pct(_f(row['rate']))}, 95% CI {_pct(_f(row['ci_low']))} to "
                f"{_pct(_f(row['ci_high']))}); the program {verdict} the "
                f"{self.config.followup_target:.0%} target."
            )
        return ReportSection(
            "followup", title, tuple(paragraphs), (), tuple(tables), tuple(figures)
        )

    def _gpra_followup(self) -> ReportTable | None:
        """The 6-month follow-up rate by the GPRA/SPARS rule, beside the library's own table."""
        from .._ci import proportion_ci
        from .program import GPRA_RULE_TEXT, gpra_followup_counts

        if self.primary != "6mo" or not self.calendar or self.as_of is None:
            self.omitted.append(
                "The GPRA/SPARS follow-up rate is omitted: it is defined for 6-month follow-ups "
                "of calendar-dated records."
            )
            return None
        mask = self._cohort_mask(self.primary)
        counts = gpra_followup_counts(
            self.table.loc[mask], self.snapshot.followups, pd.Timestamp(self.as_of)
        )
        counts = counts.reindex(self.cohorts, fill_value=0)
        flags = gpra_followup_counts(
            self.table.loc[mask], self.snapshot.followups, pd.Timestamp(self.as_of),
            per_episode=True,
        )  # fmt: skip
        members = {
            (group, column): (flags[column] * (flags["cohort"] == group)).astype("int64")
            for group in counts.index
            for column in ("conducted_in_window", "not_conducted")
        }
        part = self.log.add(
            "followup_gpra_rule",
            suppress_partition(counts[["conducted_in_window", "not_conducted"]], self.k),
            self._units(members),
        )
        rows = []
        for group in [*counts.index, TOTAL]:
            # the rate from the true counts; _rate_cells publishes it only when every count
            # behind it is published (part.values is <NA> where a cell is hidden)
            raw = counts.sum() if group == TOTAL else counts.loc[group]
            x = int(raw["conducted_in_window"])
            n_due = x + int(raw["not_conducted"])
            lo, hi = proportion_ci(x, n_due, "wilson")
            rate = x / n_due if n_due else float("nan")
            ev, den, rate, lo, hi, why = _rate_cells(
                part, group, ["conducted_in_window"], None, rate, _f(lo), _f(hi), self.min_den
            )
            died = int(counts["died_excluded"].sum() if group == TOTAL
                       else counts.loc[group, "died_excluded"])  # fmt: skip
            if 0 < died < self.k:
                # the difference with the library table's "due" would reveal a small count of
                # deaths: the row is not published
                ev, den, rate, lo, hi = None, None, float("nan"), float("nan"), float("nan")
                why = f"deaths 1-{self.k - 1} (would be recoverable from the table above)"
            rows.append(
                {
                    "cohort": "All" if group == TOTAL else str(group),
                    "due": den,
                    "conducted_in_window": ev,
                    "died_excluded": part_died(died, self.k),
                    "rate": rate,
                    "ci_low": lo,
                    "ci_high": hi,
                    "target": self.config.followup_target,
                    "suppressed": bool(part.hidden.loc[group].any()) or bool(why),
                    "suppression": why,
                }
            )
        frame = pd.DataFrame(rows)
        for column in ("due", "conducted_in_window", "died_excluded"):
            frame[column] = frame[column].astype("Int64")
        return ReportTable(
            "followup_gpra_rule",
            f"6-month follow-up rate by the GPRA/SPARS rule, {self._period_text()} (for "
            "reconciliation with the funder's numbers)",
            frame,
            footnote=GPRA_RULE_TEXT
            + " Same episodes as the table above (windows closed in the lookback quarters); "
            "the rate above uses the library's rule (see the methods).",
        )

    def _quarter_counts(self, kind: str) -> tuple[Partition, pd.DataFrame, list[str]] | None:
        """Counts by quarter of window close over the trend quarters (lookback split)."""
        from ..rates import abstinence_rates, followup_rates

        assert self.primary is not None
        labels = [str(p) for p in self.trend]
        close = self.table[f"_close_{self.primary}"]
        mask = close.isin(labels).to_numpy(bool)
        sub = self._subset(mask)
        if len(sub.table) == 0:
            return None
        sub.table["_quarter"] = sub.table[f"_close_{self.primary}"]
        if kind == "followup":
            rt = followup_rates(
                sub, by="_quarter", timepoints=[self.primary], target=self.config.followup_target
            ).table
            rt = rt.set_index(rt["group"].astype(str))
            counts = pd.DataFrame(
                {
                    "conducted_in_window": rt["conducted_in_window"],
                    "conducted_out_of_window": rt["conducted_out_of_window"],
                    "not_conducted": rt["not_conducted"],
                }
            )
        else:
            rt = abstinence_rates(
                sub, by="_quarter", timepoints=[self.primary], missing="using"
            ).table
            rt = rt.set_index(rt["group"].astype(str))
            counts = pd.DataFrame(
                {"abstinent": rt["n_events"], "not_abstinent_or_missing": rt["n"] - rt["n_events"]}
            )
        present = [q for q in labels if q in counts.index]
        counts = counts.loc[present].astype("int64")
        split = pd.Series([q in self.lookback_labels for q in present], index=present)
        part = self.log.add(f"{kind}_by_quarter", suppress_partition(counts, self.k, split=split))
        return part, rt.loc[present], present

    def _quarter_followup(self) -> ReportTable | None:
        got = self._quarter_counts("followup")
        if got is None:
            return None
        part, rt, present = got
        self.quarter_followup = got
        frame = self._followup_frame(part, rt, "quarter").iloc[:-1]
        keep = ["quarter", "due", "conducted_in_window", "rate", "ci_low", "ci_high", "target"]
        return ReportTable(
            "followup_by_quarter",
            f"{timepoint_text(self.primary or '').capitalize()} follow-up rate by quarter of "
            "window close",
            frame[[*keep, "vs_target", "suppressed", "suppression"]].reset_index(drop=True),
            footnote="Quarter = the quarter in which the follow-up window closed (the follow-up "
            "became due). " + self._followup_footnote(),
        )

    # -- section 5: outcomes --------------------------------------------------------------

    def _outcomes(self) -> ReportSection:
        title = "Outcomes: abstinence at follow-up"
        if self.primary is None:
            self.omitted.append(
                "Abstinence at follow-up and the IOP vs inpatient comparison are omitted: the "
                "records have no follow-up interviews."
            )
            return ReportSection("outcomes", title, ("Not available: no follow-up interviews.",))
        from ..rates import abstinence_rates, outcome_rates
        from .figures import rates_figure

        frames = []
        self.abstinence_parts: dict[str, Partition] = {}
        rule = self.definition.missing
        for tp in self.timepoints:
            mask = self._cohort_mask(tp)
            sub = self._subset(mask)
            if len(sub.table) == 0:
                continue
            using = abstinence_rates(sub, timepoints=[tp], missing="using").table
            cc = abstinence_rates(sub, timepoints=[tp], missing="exclude").table
            using = using.set_index(using["group"].astype(str))
            cc = cc.set_index(cc["group"].astype(str))
            counts = pd.DataFrame(
                {
                    "abstinent": using["n_events"],
                    "not_abstinent": cc["n"].reindex(using.index, fill_value=0) - using["n_events"],
                    "missing": using["n"] - cc["n"].reindex(using.index, fill_value=0),
                }
            ).astype("int64")
            part = self.log.add("abstinence", suppress_partition(counts, self.k))
            self.abstinence_parts[tp] = part
            extra = None
            if rule not in ("using", "exclude"):
                extra = outcome_rates(
                    sub, f"abstinent_{tp}", by="cohort", missing=rule, seed=self.seed
                ).table
                extra = extra.set_index(extra["group"].astype(str))
            for group in using.index:
                ev, n, rate, lo, hi, why = _rate_cells(
                    part,
                    group,
                    ["abstinent"],
                    None,
                    _f(using.loc[group, "rate"]),
                    _f(using.loc[group, "ci_low"]),
                    _f(using.loc[group, "ci_high"]),
                    self.min_den,
                )
                _, n_cc, rate_cc, lo_cc, hi_cc, why_cc = _rate_cells(
                    part,
                    group,
                    ["abstinent"],
                    ["abstinent", "not_abstinent"],
                    _f(cc.loc[group, "rate"]) if group in cc.index else float("nan"),
                    _f(cc.loc[group, "ci_low"]) if group in cc.index else float("nan"),
                    _f(cc.loc[group, "ci_high"]) if group in cc.index else float("nan"),
                    self.min_den,
                )
                row = {
                    "timepoint": tp,
                    "cohort": group,
                    "n": n,
                    "abstinent": ev,
                    "missing": part.shown(group, "missing"),
                    "rate": rate,
                    "ci_low": lo,
                    "ci_high": hi,
                    "complete_case_n": n_cc,
                    "complete_case_rate": rate_cc,
                    "complete_case_ci_low": lo_cc,
                    "complete_case_ci_high": hi_cc,
                    # like for like: the literature band describes clients who were followed
                    # up, so the complete-case interval is placed against it
                    "benchmark": (
                        position(lo_cc, hi_cc, self.benchmark)[()] if math.isfinite(rate_cc) else ""
                    ),
                }
                if extra is not None:
                    ok = math.isfinite(rate)
                    row[f"{rule}_rate"] = _f(extra.loc[group, "rate"]) if ok else float("nan")
                row["suppressed"] = bool(part.hidden.loc[group].any()) or bool(why or why_cc)
                row["suppression"] = (
                    why or why_cc or ("complementary" if part.hidden.loc[group].any() else "")
                )
                frames.append(row)
        frame = pd.DataFrame(frames)
        for c in ("n", "abstinent", "missing", "complete_case_n"):
            frame[c] = frame[c].astype("Int64")
        self.abstinence_frame = frame
        tables = [
            ReportTable(
                "abstinence",
                f"Abstinence at each follow-up by cohort, windows closed in {self._period_text()}",
                frame,
                footnote=(
                    f"{self.definition.describe()}. Rate: missing = using (not followed up "
                    "counts as not abstinent); complete-case columns: only clients with an "
                    "observed outcome (missing-data sensitivity). Wilson 95% CI. Benchmark: "
                    "position of the complete-case interval against "
                    f"{self.benchmark.text()} — the band describes clients who were followed "
                    "up, so it is compared like for like with the complete-case rate, not with "
                    "the missing = using rate (which counts everyone not reached as using and "
                    "is lower by construction). Rates hidden (—) when a count behind them is "
                    f"suppressed or n < {self.min_den}."
                ),
            )
        ]
        figures = [
            rates_figure(
                frame[["timepoint", "cohort", "suppressed"]].assign(
                    group=frame["cohort"],
                    n=frame["complete_case_n"],
                    rate=frame["complete_case_rate"],
                    ci_low=frame["complete_case_ci_low"],
                    ci_high=frame["complete_case_ci_high"],
                    outcome=[timepoint_label(tp) for tp in frame["timepoint"]],
                ),
                "abstinence",
                "Abstinence among clients followed up (complete case), with the literature band",
                band=self.benchmark,
            )
        ]
        paragraphs = []
        comparison = self._comparison()
        if comparison is not None:
            ctable, cfig, text = comparison
            tables.append(ctable)
            intake: ReportTable | None = getattr(self, "intake", None)
            if intake is not None:
                tables.append(intake)
            if cfig is not None:
                figures.append(cfig)
            paragraphs.extend(text)
        return ReportSection(
            "outcomes", title, tuple(paragraphs), (), tuple(tables), tuple(figures)
        )

    def _comparison(self) -> tuple[ReportTable, ReportFigure | None, list[str]] | None:
        from ..compare import compare_rates
        from .figures import comparison_figure

        assert self.primary is not None
        ref = self.config.reference_cohort
        if ref not in self.cohorts or len(self.cohorts) < 2:
            self.omitted.append(
                f"The cohort comparison is omitted: the reference cohort '{ref}' "
                f"(report.reference_cohort) is not among the {len(self.cohorts)} cohorts."
            )
            self.comparison = None
            return None
        tp = self.primary
        part = self.abstinence_parts.get(tp)
        sub = self._subset(self._cohort_mask(tp))
        adjust = [c for c in self.config.adjust if c in sub.table.columns]
        absent = [c for c in self.config.adjust if c not in sub.table.columns]
        if absent:
            self.omitted.append(
                f"Adjustment covariates {absent} are not in the records and were not used."
            )
        outcome = f"abstinent_{tp}"
        try:
            main = compare_rates(
                sub,
                outcome,
                by="cohort",
                reference=ref,
                margin=self.config.margin,
                adjust=adjust or None,
                missing=self.definition.missing,
                seed=self.seed,
            )
        except IopOutcomesError as exc:
            self.omitted.append(f"The cohort comparison could not be computed: {exc}")
            self.comparison = None
            return None
        self.comparison = main
        self.comparison_adjust = adjust
        self.intake = None if adjust else self._intake_table(sub)
        rows = []
        publishable: dict[str, bool] = {}
        missing_published = True
        # compare_rates adds the sensitivity rows (complete case, bounds) when outcomes are
        # missing; the report shows the primary rule, complete case and the Horowitz-Manski
        # worst and best cases (the two "all missing" rows are not bounds for the difference)
        sensitivity = {"exclude": "complete case"}
        for source, label in ((main, None),):
            t = source.to_frame()
            for _, r in t.iterrows():
                row_rule = str(r["missing"])
                primary_row = row_rule == main.missing_rule or (
                    main.missing_rule == "bounds" and row_rule.startswith("bounds")
                )
                if primary_row:
                    label = None
                elif row_rule in sensitivity:
                    label = sensitivity[row_rule]
                elif row_rule.startswith("bounds: worst case"):
                    label = "worst case"
                elif row_rule.startswith("bounds: best case"):
                    label = "best case"
                else:
                    continue
                group = str(r["group"])
                # the counts a row reveals: every row the cohort sizes and the abstinent counts
                # (missing = using); complete case and the bounds also the missing counts
                revealed = [TOTAL, "abstinent"] + ([] if label is None else ["missing"])
                ok = part is not None and all(
                    not bool(
                        part.hidden.loc[g, [c for c in revealed if c in part.hidden.columns]].any()
                    )
                    and (part.shown(g, TOTAL) or 0) >= self.min_den
                    for g in (group, ref)
                    if g in part.hidden.index
                )
                if label is None or main.missing_rule != "using":
                    publishable[group] = publishable.get(group, True) and ok
                else:  # the missing counts: published, or the sensitivity text is left out
                    missing_published = missing_published and ok
                analysis = str(r["analysis"]) if label is None else f"unadjusted ({label})"
                nan = float("nan")
                test, ni_test = named_tests(pd.Series({"analysis": analysis, **dict(r)}))
                rows.append(
                    {
                        "role": "",
                        "analysis": analysis,
                        "missing": str(r["missing"]),
                        "group": group,
                        "reference": str(r["reference"]),
                        "diff": _f(r["diff"]) if ok else nan,
                        "diff_ci_low": _f(r["diff_ci_low"]) if ok else nan,
                        "diff_ci_high": _f(r["diff_ci_high"]) if ok else nan,
                        "equivalence_ci_low": _f(r.get("equivalence_ci_low")) if ok else nan,
                        "equivalence_ci_high": _f(r.get("equivalence_ci_high")) if ok else nan,
                        "margin": self.config.margin,
                        "verdict": (str(r.get("verdict")) if ok and r.get("verdict") else ""),
                        "noninferiority_pvalue": _f(r.get("noninferiority_pvalue")) if ok else nan,
                        "noninferiority_test": ni_test,
                        "pvalue": _f(r.get("pvalue")) if ok else nan,
                        "test": test,
                        "suppressed": not ok,
                    }
                )
        frame = pd.DataFrame(rows)
        frame["role"] = "sensitivity"
        for group in dict.fromkeys(frame["group"]):
            picked = primary_rows(frame, self.config.primary, group)
            if picked.primary is not None:
                frame.loc[picked.primary.name, "role"] = "primary"
        order = np.argsort((frame["role"] != "primary").to_numpy(), kind="stable")
        frame = frame.iloc[order].reset_index(drop=True)  # the primary analysis first
        self.comparison_frame = frame
        self.comparison_adjust = adjust
        if self.config.primary == "adjusted" and not (
            frame["analysis"].astype(str).str.startswith("adjusted").any()
        ):
            self.omitted.append(
                "The primary analysis is set to adjusted, but no case-mix adjusted estimate "
                "could be produced (no configured covariate in the records, or a missing-data "
                "rule without adjusted rows): the headline uses the unadjusted analysis."
            )
        table = ReportTable(
            "comparison",
            f"{timepoint_text(tp).capitalize()} abstinence: each cohort vs {ref}",
            frame,
            footnote=(
                f"Primary analysis: {self.config.primary}"
                + (
                    " (set by [comparison] primary)"
                    if self.config.primary_analysis
                    else " (the default: adjusted whenever case-mix covariates are configured)"
                )
                + "; the other rows are sensitivity analyses. "
                f"Difference = cohort minus {ref} in percentage points, Miettinen-Nurminen 95% "
                "CI (the 'N-1' chi-square p-value of no difference and the non-inferiority "
                "test, one-sided at 2.5%, invert it; adjusted rows: delta-method Wald). "
                f"Equivalence margin ±{100 * self.config.margin:g} points: two one-sided tests "
                "at 5% each with the 90% CI (adjusted rows: Wald tests); the non-inferiority "
                "p-value is the one-sided test against minus the margin. Complete case and "
                "worst/best case (Horowitz-Manski bounds) are sensitivity analyses of missing "
                "outcomes. Adjusted rows: case-mix adjusted (g-computation, IPTW) for "
                + (", ".join(adjust) if adjust else "no covariates (none configured)")
                + ". Hidden when a count behind the comparison is suppressed."
            ),
        )
        text: list[str] = []
        if all(publishable.values()):
            text.extend(self._headline_sentences(frame))
            if missing_published:  # the tipping point rests on the missing counts
                from ..sensitivity import report_sentences  # tipping point + delta imputation

                text.extend(
                    report_sentences(
                        sub, outcome, reference=ref, margin=self.config.margin, covariates=adjust
                    )
                )
            else:
                text.append(
                    "The missing-data sensitivity analyses (complete case, bounds, tipping "
                    "point) are not shown: the counts of missing outcomes are suppressed."
                )
            figure = comparison_figure(frame, tp)
        else:
            text.append(
                "The cohort comparison is not shown because a count behind it is suppressed "
                "(small numbers)."
            )
            figure = None
        return table, figure, text

    def _headline_sentences(self, frame: pd.DataFrame, *, summary: bool = False) -> list[str]:
        """Primary analysis first, the other analysis as a sensitivity analysis, any
        disagreement in plain words, then (section text only) the complete-case row; from the
        published comparison table only."""
        assert self.primary is not None
        when = f"the {timepoint_text(self.primary)} follow-up"
        margin = self.config.margin
        adjust = getattr(self, "comparison_adjust", [])
        out: list[str] = []
        for group in dict.fromkeys(frame["group"].astype(str)):
            rows = primary_rows(frame, self.config.primary, group)
            if rows.primary is not None and not bool(rows.primary["suppressed"]):
                out.append(result_sentence(rows.primary, "Primary analysis", when, margin, adjust))
            if rows.other is not None and not bool(rows.other["suppressed"]):
                out.append(
                    result_sentence(rows.other, "Sensitivity analysis", when, margin, adjust)
                )
            text = disagreement_sentence(rows, margin)
            if text:
                out.append(text)
            cc = rows.complete_case
            if not summary and cc is not None and not bool(cc["suppressed"]):
                out.append(result_sentence(cc, "Missing-data sensitivity", when, margin, adjust))
        intake = getattr(self, "intake_frame", None)
        if not adjust and intake is not None:
            ref = self.config.reference_cohort
            for group in dict.fromkeys(intake["group"].astype(str)):
                rows_g = intake.loc[intake["group"].astype(str) == group]
                out.append(intake_sentence(rows_g, group, ref))
        return out

    def _intake_table(self, sub: Any) -> ReportTable | None:
        """The cohorts' intake profile side by side (only when no covariates are configured)."""
        ref = self.config.reference_cohort
        frames = []
        for group in self.cohorts:
            if group == ref:
                continue
            f = intake_profile(
                sub.table,
                "cohort",
                group,
                ref,
                INTAKE_COVARIATES,
                self.k,
                lambda key, part, members=None: self.log.add(key, part, self._units(members)),
            )
            if len(f):
                frames.append(f.assign(group=group)[["group", *f.columns]])
        if not frames:
            return None
        frame = pd.concat(frames, ignore_index=True)
        for c in ("n", "n_ref"):
            frame[c] = frame[c].astype("Int64")
        self.intake_frame = frame
        return ReportTable(
            "intake_profile",
            f"Intake profile: each cohort vs {ref}, "
            f"{timepoint_text(self.primary or '')} outcome cohort",
            frame,
            footnote=(
                "The comparison is not case-mix adjusted (no covariates in [comparison] "
                f"adjust). value: share of the cohort with the level, or the mean; smd: "
                f"standardized difference, cohort minus {ref} (Austin 2009); |smd| > 0.1 means "
                "the cohorts differ at intake. Rows hidden when a count is suppressed; a mean "
                f"is shown only when at least {self.k} clients of each cohort contribute."
            ),
        )

    # -- section 6: milestones ------------------------------------------------------------

    def _milestones(self) -> ReportSection:
        from ..rates import outcome_rates
        from .figures import milestones_figure

        title = "Completion milestones"
        t = self.table
        names = [
            c
            for c in t.columns
            if (c.startswith("milestone_") or c == "completed_program") and t[c].notna().any()
        ]
        if not names:
            self.omitted.append("Milestones are omitted: no milestone has data in these records.")
            return ReportSection("milestones", title, ("Not available: no milestone data.",))
        if self.period is not None:
            mask = t["_discharge_q"].isin(self.lookback_labels).to_numpy(bool)
            who = f"episodes discharged in {self._period_text()}"
        else:
            mask = np.ones(len(t), dtype=bool)
            who = "all episodes"
        sub = self._subset(mask)
        if len(sub.table) == 0:
            self.omitted.append(f"Milestones are omitted: no {who}.")
            return ReportSection("milestones", title, (f"No {who}.",))
        d = self.definition
        # the comparable milestone (same window for every setting) is shown with the others
        comparable = d.comparable_name
        if comparable in t.columns and t[comparable].notna().any():
            names.append(comparable)
        rt = outcome_rates(sub, names, by="cohort", missing="exclude").table
        rows = []
        for name in names:
            r = rt.loc[rt["outcome"] == name].set_index(
                rt.loc[rt["outcome"] == name, "group"].astype(str)
            )
            counts = pd.DataFrame(
                {
                    "met": r["n_events"],
                    "not_met": r["n"] - r["n_events"],
                    "unknown": r["n_missing"],
                }
            ).astype("int64")
            has_eligibility = f"eligible_{name}" in t.columns and "n_not_eligible" in r
            if has_eligibility:  # not eligible: observed too few days (issue 21)
                counts["not_eligible"] = r["n_not_eligible"].astype("int64")
            part = self.log.add("milestones", suppress_partition(counts, self.k))
            for group in r.index:
                ev, n, rate, lo, hi, why = _rate_cells(
                    part,
                    group,
                    ["met"],
                    ["met", "not_met"],
                    _f(r.loc[group, "rate"]),
                    _f(r.loc[group, "ci_low"]),
                    _f(r.loc[group, "ci_high"]),
                    self.min_den,
                )
                rows.append(
                    {
                        "milestone": fill_parameters(
                            self.definition.label(name), self.definition, name
                        ).removeprefix("Milestone: "),
                        "outcome": name,
                        "cohort": group,
                        "episodes": part.shown(group, TOTAL),
                        "not_eligible": part.shown(group, "not_eligible")
                        if has_eligibility
                        else None,
                        "known": n,
                        "met": ev,
                        "rate": rate,
                        "ci_low": lo,
                        "ci_high": hi,
                        "suppressed": bool(part.hidden.loc[group].any()) or bool(why),
                        "suppression": why
                        or ("complementary" if part.hidden.loc[group].any() else ""),
                    }
                )
        frame = pd.DataFrame(rows)
        for c in ("episodes", "not_eligible", "known", "met"):
            frame[c] = frame[c].astype("Int64")
        self.milestone_frame = frame
        described = [
            f"{m.name}: {d.milestone_text(m)}"
            for m in d.milestones
            if f"milestone_{m.name}" in names
        ]
        table = ReportTable(
            "milestones",
            f"Completion milestones by cohort, {who}",
            frame,
            footnote=(
                "Rate = met / clients with the milestone's data (unknown left out); Wilson 95% "
                "CI. Not eligible = observed fewer days than the milestone needs (e.g. a stay "
                f"shorter than {d.sustained_days} days for a {d.sustained_days}-day run in "
                "treatment): left out of the rate, neither met nor not met. Definitions: "
                + "; ".join(described)
                + ". Completed program: "
                + d.label("completed_program")
                + ". "
                + d.label(comparable)
                + "."
            ),
        )
        paragraphs = [f"Milestones are counted for {who}."]
        stay_dependent = [n for n in names if d.length_of_stay_dependent(n)]
        if stay_dependent:
            paragraphs.append(
                "Milestones counted during treatment are shown for each cohort but not "
                f"compared between cohorts, because a run of {d.sustained_days} abstinent days "
                f"between admission and discharge is only possible in a stay of at least "
                f"{d.sustained_days} days, and stays differ in length between settings."
            )
        tables: list[ReportTable] = [table]
        compared = self._comparable_milestone(sub)
        if compared is not None:
            tables.append(compared[0])
            paragraphs.append(compared[1])
        fig = milestones_figure(frame)
        return ReportSection(
            "milestones",
            title,
            tuple(paragraphs),
            (),
            tuple(tables),
            (fig,) if fig is not None else (),
        )

    def _units(
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

    def _measurement(self) -> ReportSection | None:
        """Measurement-based care (report/measurement.py), when follow-ups carry instrument
        items: the milestones' episodes (discharged in the lookback period)."""
        from .measurement import measurement_section

        t = self.table
        if self.period is not None:
            mask = t["_discharge_q"].isin(self.lookback_labels).to_numpy(bool)
            who = f"episodes discharged in {self._period_text()}"
        else:
            mask = np.ones(len(t), dtype=bool)
            who = "all episodes"
        cohort_of = t.loc[mask, "cohort"].set_axis(t.loc[mask, "episode_id"].astype(str))
        return measurement_section(
            self.snapshot.followups,
            cohort_of,
            k=self.k,
            min_denominator=self.min_den,
            profile=self.config.profile,
            bam_version=self.config.bam_version or None,
            log=lambda key, part, members=None: self.log.add(
                key, part, self._units(members, by="episode_id")
            ),
            period_text=who,
        )

    def _comparable_milestone(self, sub: Any) -> tuple[ReportTable, str] | None:
        """Cohorts compared on the comparable milestone (the same window for every setting)."""
        from ..compare import compare_rates

        d = self.definition
        name = d.comparable_name
        ref = self.config.reference_cohort
        frame = getattr(self, "milestone_frame", None)
        if (
            frame is None
            or name not in set(frame["outcome"])
            or ref not in self.cohorts
            or len(self.cohorts) < 2
        ):
            return None
        try:
            cmp = compare_rates(sub, name, by="cohort", reference=ref, missing="exclude")
        except IopOutcomesError as exc:
            self.omitted.append(f"The comparable milestone could not be compared: {exc}")
            return None
        mine = frame.loc[frame["outcome"] == name].set_index(
            frame.loc[frame["outcome"] == name, "cohort"].astype(str)
        )
        rows = []
        for _, r in cmp.to_frame().iterrows():
            group = str(r["group"])
            ok = all(g in mine.index and not bool(mine.loc[g, "suppressed"]) for g in (group, ref))
            nan = float("nan")
            rows.append(
                {
                    "milestone": d.label(name),
                    "group": group,
                    "reference": str(r["reference"]),
                    "diff": _f(r["diff"]) if ok else nan,
                    "diff_ci_low": _f(r["diff_ci_low"]) if ok else nan,
                    "diff_ci_high": _f(r["diff_ci_high"]) if ok else nan,
                    "pvalue": _f(r.get("pvalue")) if ok else nan,
                    "suppressed": not ok,
                }
            )
        table = ReportTable(
            "milestone_comparison",
            f"{d.label(name)}: each cohort vs {ref}",
            pd.DataFrame(rows),
            footnote=(
                f"diff = cohort minus {ref} (percentage points), Newcombe 95% CI, among "
                "eligible clients with the outcome known (complete case). The window is "
                f"{d.window_text(d.comparable_window)} for every setting. Hidden when a count "
                "behind the comparison is suppressed."
            ),
        )
        shown = [r for r in rows if not r["suppressed"]]
        if shown:
            text = (
                "On the same window for every setting ("
                + d.window_text(d.comparable_window)
                + "), "
                + "; ".join(
                    f"{r['group']} minus {ref} is {100 * _f(r['diff']):+.0f} points (95% CI "
                    f"{100 * _f(r['diff_ci_low']):+.0f} to {100 * _f(r['diff_ci_high']):+.0f})"
                    for r in shown
                )
                + "."
            )
        else:
            text = (
                "The cohorts' comparison on the comparable milestone is not shown because a "
                "count behind it is suppressed (small numbers)."
            )
        return table, text

    # -- section 7: trends ----------------------------------------------------------------

    def _trends(self) -> ReportSection:
        title = "Trends and signals"
        if self.period is None or self.primary is None:
            why = (
                "study-day records have no calendar quarters"
                if self.period is None
                else "no follow-up interviews"
            )
            self.omitted.append(f"Trends are omitted: {why}.")
            return ReportSection("trends", title, (f"Not available: {why}.",))
        from ..spc import p_chart
        from .figures import spc_figure

        breaks = self._breaks()
        tables = []
        figures = []
        paragraphs = []
        self.signals: dict[str, str] = {}
        for kind, label in (
            ("followup", f"{timepoint_text(self.primary)} follow-up rate"),
            ("abstinence", f"{timepoint_text(self.primary)} abstinence (missing = using)"),
        ):
            got = (
                self.quarter_followup
                if kind == "followup" and hasattr(self, "quarter_followup")
                else self._quarter_counts(kind)
            )
            if got is None:
                continue
            part, rt, present = got
            events_col = "conducted_in_window" if kind == "followup" else "abstinent"
            n = [part.shown(q, TOTAL) for q in present]
            x = [part.shown(q, events_col) for q in present]
            hidden = [a is None or b is None for a, b in zip(n, x, strict=True)]
            periods = pd.PeriodIndex(present, freq=self.freq)
            counts = pd.DataFrame(
                {
                    "period": periods,
                    "n": [0 if h else int(v or 0) for h, v in zip(hidden, n, strict=True)],
                    "n_events": [
                        np.nan if h else float(v or 0) for h, v in zip(hidden, x, strict=True)
                    ],
                }
            )
            try:
                chart = p_chart(
                    counts, breaks=breaks or None, definition=self.definition, label=label
                )
            except IopOutcomesError as exc:
                self.omitted.append(f"The {label} chart could not be drawn: {exc}")
                continue
            ct = chart.to_frame()
            frame = pd.DataFrame(
                {
                    "quarter": present,
                    "n": _int_col(n),  # printed whenever the audit publishes it
                    "n_events": _int_col(None if h else v for h, v in zip(hidden, x, strict=True)),
                    "rate": ct["rate"].to_numpy(float),
                    "centre": ct["centre"].to_numpy(float),
                    "lcl": np.where(hidden, np.nan, ct["lcl"].to_numpy(float)),
                    "ucl": np.where(hidden, np.nan, ct["ucl"].to_numpy(float)),
                    "signal": ct["signal"].fillna(False).to_numpy(bool) & ~np.asarray(hidden),
                    "suppressed": hidden,
                }
            )
            tables.append(
                ReportTable(
                    f"trend_{kind}",
                    f"Trend: {label} by quarter of window close",
                    frame,
                    footnote=(chart.definition_text() or "")
                    + (" Trial limits (fewer than 12 points)." if chart.trial_limits else "")
                    + " Suppressed quarters are not drawn and not used for the limits.",
                )
            )
            figures.append(spc_figure(chart, f"trend_{kind}", f"SPC chart: {label}"))
            if chart.n_outside or chart.shift_signal or chart.crossings_signal:
                signal = "special-cause variation"
            else:
                signal = "common-cause variation only"
            self.signals[kind] = signal
            n_shown = len(present) - int(sum(hidden))
            n_hidden = len(present) - n_shown
            paragraphs.append(
                f"{label.capitalize()}: {signal} over {n_shown} quarters ("
                + (
                    f"{n_hidden} of {len(present)} quarters suppressed: too few clients; "
                    if n_hidden
                    else ""
                )
                + f"{chart.n_outside} outside the limits; run rules "
                f"{'signal' if chart.shift_signal or chart.crossings_signal else 'no signal'})"
                + ("; limits are trial limits." if chart.trial_limits else ".")
            )
        if breaks:
            paragraphs.append(
                "Definition changes start new chart phases in: "
                + ", ".join(str(pd.Period(pd.Timestamp(b), freq=self.freq)) for b in breaks)
            )
        return ReportSection("trends", title, tuple(paragraphs), (), tuple(tables), tuple(figures))

    def _breaks(self) -> list[str]:
        out = []
        freq = self.freq
        for change in self.config.changelog:
            try:
                p = pd.Period(pd.Timestamp(change.date), freq=freq)
            except (ValueError, TypeError):
                continue
            if p in self.trend and p != self.trend[0]:
                out.append(change.date)
        return sorted(set(out))

    # -- section 8: sites -----------------------------------------------------------------

    def _sites(self) -> ReportSection:
        title = "Sites"
        if not self.table["_site"].notna().any():
            self.omitted.append(
                f"The site comparison is omitted: no '{self.config.site_column}' column."
            )
            return ReportSection("sites", title, ("Not available: no site information.",))
        from ..rates import outcome_rates
        from ..spc import funnel_table
        from .figures import funnel_figure

        if self.primary is not None:
            outcome = f"abstinent_{self.primary}"
            mask = self._cohort_mask(self.primary)
            label = f"{timepoint_text(self.primary)} abstinence (missing = using)"
            rule = "using"
        else:
            candidates = [
                c
                for c in self.table.columns
                if c.startswith("milestone_") and self.table[c].notna().any()
            ]
            if not candidates:
                self.omitted.append("The site comparison is omitted: no outcome with data.")
                return ReportSection("sites", title, ("Not available: no outcome data.",))
            outcome = candidates[0]
            mask = np.ones(len(self.table), dtype=bool)
            label = self.definition.label(outcome) + " (clients with data)"
            rule = "exclude"
        mask = mask & self.table["_site"].notna().to_numpy(bool)
        sub = self._pooled_sites(self._subset(mask))
        rt = outcome_rates(sub, outcome, by="_site", missing=rule, seed=self.seed).table
        rt = rt.set_index(rt["group"].astype(str))
        counts = pd.DataFrame(
            {"events": rt["n_events"], "non_events": rt["n"] - rt["n_events"]}
        ).astype("int64")
        counts = counts.loc[counts.sum(axis=1) > 0]
        part = self.log.add("sites", suppress_partition(counts, self.k))
        funnel_counts = pd.DataFrame(
            {
                "site": list(counts.index),
                "n": [part.shown(s, TOTAL) or 0 for s in counts.index],
                "n_events": [
                    np.nan
                    if part.shown(s, "events") is None
                    else float(part.shown(s, "events") or 0)
                    for s in counts.index
                ],
                "suppressed": [bool(part.hidden.loc[s].any()) for s in counts.index],
            }
        )
        funnel_counts.loc[funnel_counts["suppressed"], "n_events"] = np.nan
        try:
            funnel = funnel_table(
                funnel_counts, unit="site", definition=self.definition, label=label
            )
        except IopOutcomesError as exc:
            self.omitted.append(f"The funnel plot could not be drawn: {exc}")
            return ReportSection("sites", title, (f"Not available: {exc}",))
        ft = funnel.to_frame()
        hidden = funnel_counts["suppressed"].to_numpy(bool)
        lower = [c for c in ft.columns if str(c).startswith("lower_")]
        upper = [c for c in ft.columns if str(c).startswith("upper_")]
        frame = pd.DataFrame(
            {
                "site": funnel_counts["site"],
                # a site's n is printed whenever the audit publishes it (a hidden event count
                # does not blank it: the audit counted it as published)
                "n": _int_col(part.shown(s, TOTAL) for s in counts.index),
                "n_events": _int_col(
                    None if h else int(v)
                    for h, v in zip(hidden, funnel_counts["n_events"].fillna(0), strict=True)
                ),
                "rate": np.where(hidden, np.nan, ft["rate"].to_numpy(float)),
            }
        )
        for c in (*lower, *upper):
            frame[str(c).replace("lower_", "funnel_low_").replace("upper_", "funnel_high_")] = (
                np.where(hidden, np.nan, ft[c].to_numpy(float))
            )
        frame["position"] = np.where(hidden, "", ft["side"].astype(str).to_numpy())
        frame["suppressed"] = hidden
        table = ReportTable(
            "sites",
            f"Sites: {label}",
            frame,
            footnote=(funnel.definition_text() or "")
            + f" Sites with fewer than {self.k} clients are pooled as '{OTHER_SITES}'; "
            "suppressed sites are neither drawn nor pooled into the target. Sites are listed "
            "by name, never ranked.",
        )
        outside = frame.loc[(frame["position"] != "within") & (frame["position"] != ""), "site"]
        text = (
            f"Outside the {funnel.outer_level:.1%} limits: {', '.join(outside)} (a prompt to look "
            "closer, not a verdict)."
            if len(outside)
            else f"No site lies outside the {funnel.outer_level:.1%} limits: the differences "
            "between sites are compatible with chance."
        )
        return ReportSection("sites", title, (text,), (), (table,), (funnel_figure(funnel, label),))

    # -- section 9: data quality ----------------------------------------------------------

    def _quality(self) -> ReportSection:
        tables: list[ReportTable] = []
        figures: list[ReportFigure] = []
        paragraphs: list[str] = []
        rc = self.records.rejection_counts()
        if len(rc):
            rc = rc.copy()
            counts = pd.DataFrame(
                {"rows": rc["count"].to_numpy()},
                index=[f"{a}: {b}" for a, b in zip(rc["table"], rc["reason"], strict=True)],
            )
            part = self.log.add("rejected", suppress_partition(counts, self.k))
            frame = pd.DataFrame(
                {
                    "table": rc["table"].astype(str).to_numpy(),
                    "reason": rc["reason"].astype(str).to_numpy(),
                    "meaning": [
                        REJECTION_REASONS.get(str(r)) or EXPORT_REJECTION_REASONS.get(str(r), "")
                        for r in rc["reason"]
                    ],
                    "rows": _int_col(part.shown(i, "rows") for i in counts.index),
                }
            )
            tables.append(
                ReportTable(
                    "rejected_rows",
                    "Rejected input rows by reason (counts only)",
                    frame,
                    footnote="Each rejected row is counted once, for its first reason. Values "
                    "and identifiers are never shown.",
                )
            )
        else:
            paragraphs.append("No input row was rejected.")
        summary = self.records.summary()
        shown = self._rejected_by_table(rc, summary)
        paragraphs.append(
            "Rows read / accepted / rejected: "
            + "; ".join(
                f"{r.table} {r.read:,} / {r.accepted:,} / {r.rejected:,}"
                if shown.get(str(r.table), True)
                else f"{r.table} {r.read:,} / — / —"
                for r in summary.itertuples(index=False)
            )
            + "."
        )
        if getattr(self.records, "provenance", "") == "export":  # how the exports were read
            paragraphs.extend(str(r) for r in getattr(self.records, "remarks", ()))
        if self.primary is not None:
            tables.append(self._missingness())
            tables.append(self._out_of_window())
            rb = self._retention_bias()
            if rb is not None:
                tables.append(rb[0])
                if rb[1] is not None:
                    figures.append(rb[1])
        else:
            self.omitted.append(
                "Item missingness, out-of-window interviews and the retention-bias table are "
                "omitted: no follow-up interviews."
            )
        return ReportSection(
            "quality", "Data quality", tuple(paragraphs), (), tuple(tables), tuple(figures)
        )

    def _rejected_by_table(self, rc: pd.DataFrame, summary: pd.DataFrame) -> dict[str, bool]:
        """Audit the per-table rejected counts printed in the data-quality paragraph (they add
        up the rejected-rows table's reasons): table -> whether its counts may be printed."""
        if not len(rc):
            return {}
        per_table = rc.groupby(rc["table"].astype(str), sort=False)["count"].sum()
        printed = summary.set_index(summary["table"].astype(str))["rejected"]
        if (
            not per_table.reindex(printed.index, fill_value=0)
            .astype(int)
            .equals(printed.astype(int))
        ):
            return {str(t): False for t in printed.index}  # cannot be audited: not printed
        tables = [t for t in printed.index if int(printed[t]) > 0]
        counts = pd.DataFrame({"rows": [int(printed[t]) for t in tables]}, index=tables)
        n = len(self.table)
        sizes = rc["count"].to_numpy(dtype=np.int64)
        starts = n + np.concatenate([[0], np.cumsum(sizes)[:-1]])
        total = n + int(sizes.sum())
        members = {}
        for t in tables:
            w = np.zeros(total, dtype=np.int64)
            for start, size, owner in zip(starts, sizes, rc["table"].astype(str), strict=True):
                if owner == t:
                    w[start : start + size] = 1
            members[(t, "rows")] = w
        part = self.log.add("rejected_by_table", suppress_partition(counts, self.k), members)
        return {t: part.shown(t, "rows") is not None for t in tables}

    def _missingness(self) -> ReportTable:
        assert self.primary is not None
        fu = self.snapshot.followups
        ids = set(self.table.loc[self._cohort_mask(self.primary), "episode_id"].astype(str))
        rows = fu.loc[
            (fu["timepoint"] == self.primary).to_numpy(bool)
            & (fu["status"] == "completed").fillna(False).to_numpy(bool)
            & fu["episode_id"].astype(str).isin(ids).to_numpy(bool)
        ]
        items = [
            c
            for c in (
                "days_used_past30",
                "days_alcohol_past30",
                "days_drugs_past30",
                "uds_result",
                *MILESTONE_MEASURES,
            )
            if c in rows.columns and fu[c].notna().any()
        ]
        shown_n: list[int | None] = []
        shown_missing: list[int | None] = []
        for item in items:  # one audited 1 x 2 table per item: items share no published total
            counts = pd.DataFrame(
                {
                    "missing": [int(rows[item].isna().sum())],
                    "present": [int(rows[item].notna().sum())],
                },
                index=[item],
            )
            part = self.log.add("missingness", suppress_partition(counts, self.k))
            shown_n.append(part.shown(item, TOTAL))
            shown_missing.append(part.shown(item, "missing"))
        frame = pd.DataFrame(
            {"item": items, "interviews": _int_col(shown_n), "missing": _int_col(shown_missing)}
        )
        frame["missing_pct"] = [
            (m / n) if (m is not pd.NA and n is not pd.NA and n) else float("nan")
            for m, n in zip(frame["missing"], frame["interviews"], strict=True)
        ]
        return ReportTable(
            "missingness",
            f"Item missingness in completed {timepoint_text(self.primary)} interviews, "
            f"{self._period_text()}",
            frame,
            footnote="Share of completed interviews with the item empty. Items never recorded "
            "in these data are not listed.",
        )

    def _out_of_window(self) -> ReportTable:
        from ..rates import followup_rates

        rows = []
        for tp in self.timepoints:
            sub = self._subset(self._cohort_mask(tp))
            if len(sub.table) == 0:
                continue
            t = followup_rates(sub, by=None, timepoints=[tp]).table.iloc[0]
            rows.append((tp, int(t["conducted_in_window"]), int(t["conducted_out_of_window"])))
        counts = pd.DataFrame(
            {"in_window": [r[1] for r in rows], "out_of_window": [r[2] for r in rows]},
            index=[r[0] for r in rows],
        )
        part = self.log.add("out_of_window", suppress_partition(counts, self.k))
        index = list(counts.index)
        frame = pd.DataFrame(
            {
                "timepoint": index,
                "completed": _int_col(part.shown(i, TOTAL) for i in index),
                "in_window": _int_col(part.shown(i, "in_window") for i in index),
                "out_of_window": _int_col(part.shown(i, "out_of_window") for i in index),
            }
        )
        handling = (
            "still give an outcome (the definition counts out-of-window assessments)"
            if self.definition.out_of_window == "count"
            else "are treated as missing (the definition's out-of-window rule)"
        )
        return ReportTable(
            "out_of_window",
            f"Completed interviews inside and outside their window, {self._period_text()}",
            frame,
            footnote="Out-of-window interviews never count toward the follow-up rate; for "
            f"outcomes they {handling}.",
        )

    def _retention_bias(self) -> tuple[ReportTable, ReportFigure | None] | None:
        from ..adjust import balance_table
        from .disclosure import control_covariates, followup_due
        from .figures import balance_figure

        assert self.primary is not None
        tp = self.primary
        # the due clients only: one whose window is still open is neither followed up nor lost
        mask = self._cohort_mask(tp) & followup_due(self, tp)
        sub = self.table.loc[mask].copy()
        if len(sub) == 0:
            return None
        status = sub[f"followup_status_{tp}"].astype("string")
        followed = (status == "completed").fillna(False).to_numpy(bool) & _bool(
            sub[f"in_window_{tp}"]
        )
        sub["_followed"] = np.where(followed, "followed up", "not followed up")
        candidates = list(
            dict.fromkeys(
                [*self.config.adjust, "age", "sex", "severity", "primary_substance", "cohort"]
            )
        )
        covs = [c for c in candidates if c in sub.columns and sub[c].notna().any()]
        plan = control_covariates(sub, covs, self.k)
        for cov, why in plan.refused.items():
            self.omitted.append(f"'{cov}' is left out of the retention-bias table: {why}.")
        covs = plan.covariates
        if not covs or sub["_followed"].nunique() < 2:
            self.omitted.append("The retention-bias table is omitted: nothing to compare.")
            return None
        data = plan.frame
        try:
            bal = balance_table(data, "_followed", "followed up", "not followed up", covs)
        except IopOutcomesError as exc:
            self.omitted.append(f"The retention-bias table could not be computed: {exc}")
            return None
        where = np.nonzero(mask)[0]
        size = len(self.table)

        def members(cells: Mapping[tuple[Any, Any], np.ndarray]) -> dict[Any, np.ndarray]:
            out = {}
            for key, local in cells.items():
                w = np.zeros(size, dtype=np.int64)
                w[where[local]] = 1
                out[key] = w
            return out

        ones = np.ones(len(sub), dtype=bool)
        groups = self.log.add(
            "retention_groups",
            suppress_partition(
                pd.DataFrame(
                    {"followed": [int(followed.sum())], "not_followed": [int((~followed).sum())]},
                    index=["all"],
                ),
                self.k,
            ),
            members({("all", "followed"): followed & ones, ("all", "not_followed"): ~followed}),
        )
        n_f, n_n = groups.shown("all", "followed"), groups.shown("all", "not_followed")
        out_rows = []
        for cov in covs:
            levels = [(str(r["level"]), r) for _, r in bal.loc[bal["covariate"] == cov].iterrows()]
            if plan.kinds[cov] == "numeric":
                r = levels[0][1]
                present = data[cov].notna().to_numpy(bool)
                ok = (
                    int((present & followed).sum()) >= self.k
                    and int((present & ~followed).sum()) >= self.k
                    and n_f is not None
                    and n_n is not None
                )
                out_rows.append(
                    {
                        "covariate": cov,
                        "level": "mean",
                        "followed_n": n_f,
                        "followed_value": _f(r["mean_group"]) if ok else np.nan,
                        "not_followed_n": n_n,
                        "not_followed_value": _f(r["mean_reference"]) if ok else np.nan,
                        "smd": _f(r["smd_unweighted"]) if ok else np.nan,
                        "suppressed": not ok,
                    }
                )
                continue
            col = data[cov].astype("string")
            is_level = {lv: (col == lv).fillna(False).to_numpy(bool) for lv, _ in levels}
            counts = pd.DataFrame(
                {
                    "followed": [int((is_level[lv] & followed).sum()) for lv, _ in levels],
                    "not_followed": [int((is_level[lv] & ~followed).sum()) for lv, _ in levels],
                },
                index=[lv for lv, _ in levels],
            )
            cells = {}
            for lv, _ in levels:
                cells[(lv, "followed")] = is_level[lv] & followed
                cells[(lv, "not_followed")] = is_level[lv] & ~followed
            part = self.log.add(
                "retention_bias", suppress_partition(counts, self.k), members(cells)
            )
            for lv, r in levels:
                hide = bool(part.hidden.loc[lv].any()) or bool(part.hidden.loc[TOTAL].any())
                out_rows.append(
                    {
                        "covariate": cov,
                        "level": lv,
                        "followed_n": part.shown(lv, "followed"),
                        "followed_value": np.nan if hide else _f(r["mean_group"]),
                        "not_followed_n": part.shown(lv, "not_followed"),
                        "not_followed_value": np.nan if hide else _f(r["mean_reference"]),
                        "smd": np.nan if hide else _f(r["smd_unweighted"]),
                        "suppressed": hide,
                    }
                )
        frame = pd.DataFrame(out_rows)
        for c in ("followed_n", "not_followed_n"):
            frame[c] = frame[c].astype("Int64")
        table = ReportTable(
            "retention_bias",
            f"Retention bias: intake profile of clients followed up at {timepoint_text(tp)} vs not",
            frame,
            footnote=(
                "followed up = conducted in the window. value: share of the group with the "
                "level (categorical) or the mean (numeric). smd: standardized difference "
                "(followed minus not followed; Austin 2009); |smd| > 0.1 suggests the "
                "followed-up clients differ at intake. Rows hidden when a count is suppressed. "
                f"Levels held by fewer than {self.k} clients are pooled as 'Other (pooled)'; "
                "dates appear only as decade bands; free-text and identifier-like columns are "
                f"never tabulated; a mean needs at least {self.k} clients with a value in each "
                "group."
            ),
        )
        shown = frame.loc[~frame["suppressed"]]
        fig = balance_figure(shown) if len(shown) else None
        return table, fig

    # -- sections 1, 2, 10 ----------------------------------------------------------------

    def _cover(self) -> ReportSection:
        profile = self.config.profile
        lines = [
            f"Reporting period: {self.period} ({self._quarter_convention()})."
            if self.period is not None
            else "Reporting period: all episodes (study-day records have no calendar quarters).",
            "Aggregate and de-identified: small-cell suppression applied (counts 1-"
            f"{self.k - 1} hidden, with complementary cells and a back-calculation audit); "
            f"rates need at least {self.min_den} clients.",
        ]
        if profile == "internal":
            lines.append(
                "INTERNAL profile: this report may contain information protected by 42 CFR "
                "Part 2. Do not re-disclose without the consent the regulation requires."
            )
        lines.extend(self.omitted_intro())
        return ReportSection("cover", "Cover and reproducibility stamp", tuple(lines))

    def omitted_intro(self) -> list[str]:
        return []

    def _quarter_convention(self) -> str:
        fy = self.config.fiscal_year_start_month
        if fy == 1:
            return "calendar quarters"
        month = pd.Timestamp(2000, fy, 1).strftime("%B")
        return f"fiscal quarters, year starting in {month}"

    def _summary(self) -> ReportSection:
        kpis: list[Kpi] = []
        sentences: list[str] = []
        signals = getattr(self, "signals", {})
        if self.primary is not None and hasattr(self, "table_frame_cohort"):
            row = self.table_frame_cohort.iloc[-1]
            rate = _f(row["rate"])
            kpis.append(
                Kpi(
                    label=f"{timepoint_text(self.primary).capitalize()} follow-up rate",
                    value=_pct(rate) if math.isfinite(rate) else "suppressed",
                    detail=(
                        f"95% CI {_pct(_f(row['ci_low']))}–{_pct(_f(row['ci_high']))}; "
                        f"n = {row['due']} due"
                        if math.isfinite(rate)
                        else "n too small or suppressed"
                    ),
                    target=f"target {self.config.followup_target:.0%}",
                    signal=signals.get(
                        "followup", "no trend (study-day data)" if self.period is None else ""
                    ),
                )
            )
            if math.isfinite(rate):
                sentences.append(
                    f"{_in_ten(rate).capitalize()} clients due for a "
                    f"{timepoint_text(self.primary)} follow-up were interviewed in the window "
                    f"({_pct(rate)}; target {self.config.followup_target:.0%})."
                )
        if hasattr(self, "abstinence_frame") and self.primary is not None:
            f = self.abstinence_frame
            for _, row in f.loc[f["timepoint"] == self.primary].iterrows():
                rate = _f(row["rate"])
                kpis.append(
                    Kpi(
                        label=f"Abstinent at the {timepoint_text(self.primary)} follow-up: "
                        f"{row['cohort']}",
                        value=_pct(rate) if math.isfinite(rate) else "suppressed",
                        detail=(
                            f"95% CI {_pct(_f(row['ci_low']))}–{_pct(_f(row['ci_high']))}; "
                            f"n = {row['n']}"
                            if math.isfinite(rate)
                            else "n too small or suppressed"
                        ),
                        target=self._benchmark_note(row),
                        signal=signals.get("abstinence", ""),
                    )
                )
        comparison = getattr(self, "comparison", None)
        outcome_section_text: list[str] = []
        if comparison is not None and hasattr(self, "abstinence_parts"):
            if self._comparison_published():
                frame = self.comparison_frame
                outcome_section_text.extend(self._headline_sentences(frame, summary=True))
                for group in dict.fromkeys(frame["group"].astype(str)):
                    kpi = self._comparison_kpi(frame, group)
                    if kpi is not None:
                        kpis.append(kpi)
        sentences.extend(outcome_section_text)
        if hasattr(self, "milestone_frame"):
            mf = self.milestone_frame
            done = mf.loc[mf["outcome"] == "milestone_treatment_completed"]
            parts = [
                f"{_in_ten(_f(r['rate']))} {r['cohort']} clients"
                for _, r in done.iterrows()
                if math.isfinite(_f(r["rate"]))
            ]
            if parts:
                sentences.append("Treatment completed: " + "; ".join(parts) + ".")
        if self.period is None:
            sentences.append(
                "These records carry study days only, so quarter-based parts of the report are "
                "omitted (see the list below)."
            )
        sentences.append(
            f"{self.log_total()} table cells were suppressed to protect privacy (values never "
            "shown)."
        )
        notes = tuple(self.omitted)
        return ReportSection(
            "summary", "Executive summary", tuple(sentences), tuple(kpis), notes=notes
        )

    def _benchmark_note(self, row: pd.Series) -> str:
        """The literature band with the rate it is compared with (complete case: like for
        like), so a missing = using rate is never read against it on its own."""
        band = f"{self.benchmark.low:.0%}–{self.benchmark.high:.0%}"
        cc = _f(row.get("complete_case_rate"))
        if not math.isfinite(cc):
            return f"literature {band} (for clients followed up; complete-case rate hidden)"
        where = {
            "above": "above",
            "below": "below",
            "inside": "within",
            "overlapping": "overlapping",
        }.get(str(row.get("benchmark")), "not comparable with")
        return (
            f"followed up (complete case): {_pct(cc)}, {where} the literature {band} "
            "(which describes clients followed up)"
        )

    def _comparison_kpi(self, frame: pd.DataFrame, group: str) -> Kpi | None:
        rows = primary_rows(frame, self.config.primary, group)
        row = rows.primary
        if row is None or bool(row["suppressed"]):
            return None
        other = rows.other
        detail = f"95% CI {points(_f(row['diff_ci_low']))} to {points(_f(row['diff_ci_high']))}"
        if other is not None and not bool(other["suppressed"]):
            name = "unadjusted" if rows.primary_kind == "adjusted" else "adjusted"
            detail += (
                f"; sensitivity ({name}): {points(_f(other['diff']))} pts, "
                f"{other['verdict'] or 'no verdict'}"
            )
        kind = "case-mix adjusted" if rows.primary_kind == "adjusted" else "unadjusted"
        return Kpi(
            label=f"{row['group']} vs {row['reference']}: primary analysis ({kind})",
            value=f"{points(_f(row['diff']))} pts",
            detail=detail,
            target=f"margin ±{100 * self.config.margin:g} pts",
            signal=str(row.get("verdict") or ""),
        )

    def log_total(self) -> int:
        frame = self.log.frame()
        return int(frame["primary"].sum() + frame["complementary"].sum()) if len(frame) else 0

    def _comparison_published(self) -> bool:
        comparison = getattr(self, "comparison", None)
        if comparison is None or self.primary is None:
            return False
        part = self.abstinence_parts.get(self.primary)
        if part is None:
            return False
        groups = {str(g) for g in comparison.to_frame()["group"]} | {self.config.reference_cohort}
        # only the counts the primary analysis reveals, as in the comparison table: a hidden
        # missing count (missing = using) does not hide the headline comparison
        using = getattr(comparison, "missing_rule", "using") == "using"
        revealed = [c for c in (TOTAL, "abstinent", *(() if using else ("missing",)))
                    if c in part.hidden.columns]  # fmt: skip
        return all(
            g in part.hidden.index
            and not bool(part.hidden.loc[g, revealed].any())
            and (part.shown(g, TOTAL) or 0) >= self.min_den
            for g in groups
        )

    def _followup_rules_text(self) -> list[str]:
        """Which follow-up rule each follow-up table uses (issue 14: reconciliation)."""
        from .program import GPRA_RULE_TEXT

        d = self.definition
        deaths = (
            "died and incarcerated clients count as not followed up"
            if d.death_policy == "missing"
            else "died and incarcerated clients are removed from the denominator"
        )
        out = [
            "Library rule (tables followup_by_cohort, followup_by_site, followup_by_quarter, "
            "flow_followup and the follow-up trend): the definition's window of the timepoint; "
            f"{deaths}."
        ]
        if self.primary == "6mo" and self.calendar:
            out.append(f"Funder rule (table followup_gpra_rule): {GPRA_RULE_TEXT}")
        if d.calendar == "screens" and "screen_coverage_in_treatment" in self.eo.table:
            from .._screens import screen_rule_text

            coverage = pd.to_numeric(self.eo.table["screen_coverage_in_treatment"])
            out.append(
                screen_rule_text(d.sustained_days)
                + f" Coverage: in the median episode {_pct(float(coverage.median()))} of the "
                "weeks in treatment have a screen."
            )
        return out

    def _methods(self) -> ReportSection:
        d = self.definition
        paragraphs = [
            "Outcome definition: " + d.describe() + ".",
        ]
        for tp in self.timepoints:
            paragraphs.append(f"{d.label(f'abstinent_{tp}')}: {d.describe(f'abstinent_{tp}')}.")
            w = d.windows[tp]
            paragraphs.append(
                f"{timepoint_text(tp).capitalize()} window: days {w.start_day} to {w.end_day} "
                f"after {w.anchor}."
            )
        comparison = getattr(self, "comparison", None)
        if comparison is not None and self._comparison_published():
            paragraphs.append(comparison.methods_text().split("\n\nReferences")[0])
        paragraphs.extend(
            [
                "Follow-up rate (GPRA): follow-ups conducted inside their window / follow-ups due "
                "(window closed); open windows are pending and outside the denominator.",
                *self._followup_rules_text(),
                "Outcome cohort: episodes whose follow-up window closed in the lookback quarters "
                "ending with the reporting quarter; the records are taken as they stood at the "
                "end of the quarter.",
                "Trends: p-charts (Laney p′ when over-dispersed) of quarterly counts with the "
                "Anhøj run rules; fewer than 12 points give trial limits. Sites: exact binomial "
                "funnel limits (95% and 99.8%), never ranks.",
                f"Privacy: counts 1-{self.k - 1} are suppressed, zero is shown; rates are hidden "
                "when their numerator or complement is suppressed; complementary cells are "
                "hidden, at the least cost to readers, so that no suppressed cell can be "
                f"narrowed to fewer than {self.k} values from all the published tables together "
                "(their margins and the identities between tables, e.g. due = in window + out "
                "of window + not conducted; linear-programming audit of the whole report; the "
                "run fails otherwise). Figures are drawn from the suppressed tables.",
            ]
        )
        notes = REFERENCES
        tables = []
        if self.config.changelog:
            frame = pd.DataFrame(
                [
                    {"date": c.date, "version": c.version, "change": c.description}
                    for c in self.config.changelog
                ]
            )
            tables.append(
                ReportTable(
                    "changelog",
                    "Definition change log",
                    frame,
                    footnote="From the configuration's [[changelog]]; changes inside the trend "
                    "window start a new SPC phase.",
                )
            )
        return ReportSection(
            "methods",
            "Methods, definitions and references",
            tuple(paragraphs),
            (),
            tuple(tables),
            (),
            notes,
        )

    # -- stamp ----------------------------------------------------------------------------

    def _stamp(self, log: pd.DataFrame, sections: Sequence[ReportSection]) -> dict[str, Any]:
        from .writers import source_date

        r = self.records
        internal = self.config.profile == "internal"
        as_of = getattr(r, "data_as_of", None)
        if as_of is None:
            as_of_text = "not applicable (study-day data)"
        elif internal:
            as_of_text = f"{pd.Timestamp(as_of):%Y-%m-%d}"
        else:
            as_of_text = "in " + str(
                pd.Period(
                    pd.Timestamp(as_of),
                    freq=self.freq,
                )
            )
        when = source_date()
        stamp: dict[str, Any] = {
            "title": self.config.title,
            "program": self.config.program,
            "period": str(self.period) if self.period is not None else "all episodes",
            "lookback": self._period_text(),
            "quarter_convention": self._quarter_convention() if self.period is not None else "none",
            "profile": self.config.profile,
            "data_as_of": as_of_text,
            "provenance": str(getattr(r, "provenance", "")),
            "time_basis": str(getattr(r, "time_basis", "")),
            "input_files": _input_files(r, self.config),
            "rows_read": {str(k): int(v) for k, v in dict(r.read_counts).items()},
            "rows_rejected": int(len(r.rejected)),
            "versions": _versions(),
            "config_hash": self.config.hash(),
            "definition_version": self.definition.version,
            "definition_hash": hashlib.sha256(
                _canonical(self.definition.to_dict()).encode()
            ).hexdigest(),
            "k": self.k,
            "min_denominator": self.min_den,
            "suppressed_cells": int(log["primary"].sum() + log["complementary"].sum())
            if len(log)
            else 0,
            "generated": when.isoformat() + "Z"
            if when is not None
            else "not stamped (SOURCE_DATE_EPOCH unset)",
        }
        if not stamp["input_files"]:
            stamp["input_files"] = {"(in-memory data)": "no file hash"}
        body = {
            "stamp": stamp,
            "tables": {
                t.key: t.frame.astype(object).where(t.frame.notna(), None).to_numpy().tolist()
                for s in sections
                for t in s.tables
            },
        }
        stamp["report_id"] = hashlib.sha256(_canonical(body).encode()).hexdigest()[:16]
        # after the ID, so the same inputs keep the same report ID on any day
        stamp["run_date"] = run_date_text(when)
        return stamp

    def _stamp_lines(self, stamp: Mapping[str, Any]) -> tuple[str, ...]:
        files = stamp["input_files"]
        as_of = str(stamp["data_as_of"])
        if as_of.startswith("in "):
            data_line = (
                f"The data are complete up to a date {as_of} (the exact date is shown only in "
                "the internal profile)."
            )
        elif as_of.startswith("not applicable"):
            data_line = "The data carry study days only, so they have no data-as-of date."
        else:
            data_line = f"The data are complete up to {as_of}."
        return (
            f"{data_line} Inputs: "
            + ", ".join(
                f"{name} (SHA-256 {str(h)[:12]}…)" if len(str(h)) > 12 else f"{name} ({h})"
                for name, h in files.items()
            )
            + "; rows read: "
            + ", ".join(f"{t} {n:,}" for t, n in stamp["rows_read"].items())
            + ".",
            f"Report ID {stamp['report_id']} · configuration {stamp['config_hash'][:12]}… · "
            f"definition version {stamp['definition_version']} · iopoutcomes "
            f"{stamp['versions']['iopoutcomes']} · "
            + (
                "generation time not stamped (SOURCE_DATE_EPOCH unset)"
                if str(stamp["generated"]).startswith("not stamped")
                else f"generated {stamp['generated']}"
            )
            + ". The full "
            "stamp is in the appendix (section 10).",
        )

    def _stamp_table(self, stamp: Mapping[str, Any]) -> ReportTable:
        rows = []
        for key, value in stamp.items():
            if isinstance(value, dict):
                for k, v in value.items():
                    rows.append({"item": f"{key}: {k}", "value": str(v)})
            else:
                rows.append({"item": key, "value": str(value)})
        return ReportTable(
            "stamp",
            "Reproducibility stamp",
            pd.DataFrame(rows),
            footnote="The same inputs and configuration give byte-identical HTML, XLSX, CSV "
            "and JSON; the generated time comes from SOURCE_DATE_EPOCH only.",
        )


class _NoBar:
    def set_description(self, text: str) -> None:
        pass

    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool) -> Any:
    if not enabled or not sys.stderr.isatty():
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return _NoBar()
    return tqdm(total=total, file=sys.stderr, leave=False, unit="step")


# --- public entry point ------------------------------------------------------------------------


def quarterly_report(
    records: Any,
    quarter: str | pd.Period | None = "2026Q3",
    config: ReportConfig | str | Path | Mapping[str, Any] | None = None,
    *,
    profile: str | None = None,
    progress: bool = True,
) -> QuarterlyReport:
    """Compute the quarterly outcome report (suppressed, ready to write in every format).

    Parameters
    ----------
    records : Records
        Validated records (``read_records``, ``load_sample``, ``read_ctn0094``...).
    quarter : str, pandas.Period or None
        Reporting quarter, ``"2026Q3"`` (fiscal quarters per the config). None: the last
        complete quarter at the records' data-as-of date. Ignored (with a note in the report)
        for study-day records, which have no calendar.
    config : ReportConfig, path to a TOML file, mapping or None
        Report settings (:mod:`iopoutcomes.report.config`); None gives the defaults.
    profile : {"public", "funder", "internal"}, optional
        Overrides the config's profile.
    progress : bool
        Show a progress bar on stderr (only when stderr is a terminal).

    Returns
    -------
    QuarterlyReport

    Raises
    ------
    ConfigError, ParameterError
        Invalid settings or quarter.
    InsufficientDataError
        No data for the quarter (e.g. no follow-up window closed in the lookback quarters).
    SuppressionAuditError
        A suppressed cell could not be protected: the report is not produced.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> rep = iop.quarterly_report(iop.load_sample(), "2026Q2", profile="public",
    ...                            progress=False)
    >>> rep.stamp["profile"], rep.stamp["period"]
    ('public', '2026Q2')
    """
    if config is None or isinstance(config, (str, Path)):
        cfg = load_config(config)
    elif isinstance(config, ReportConfig):
        cfg = config
    elif isinstance(config, Mapping):
        cfg = ReportConfig.from_dict(config)
    else:
        raise ParameterError(
            "config must be a ReportConfig, a path to a TOML file, a mapping or None; "
            f"got {type(config).__name__}."
        )
    if profile is not None:
        if profile not in PROFILES:
            raise ParameterError(f"profile must be one of {list(PROFILES)}.")
        cfg = dataclasses.replace(cfg, profile=profile)  # type: ignore[arg-type]
    if not hasattr(records, "episodes") or not hasattr(records, "rejection_counts"):
        raise ParameterError(
            f"records must be a Records object (read_records, load_sample); got "
            f"{type(records).__name__}."
        )
    if len(records.episodes) == 0:
        raise InsufficientDataError("The records have no accepted episodes to report on.")
    from .disclosure import build_controlled

    return build_controlled(
        lambda recorder: _Builder(records, quarter, cfg, progress, recorder).run(), cfg.k
    )
