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

How it is built
---------------
:func:`~iopoutcomes.report.inputs.prepare_inputs` computes what every section starts from;
each section is a function of those inputs in its own module of
:mod:`iopoutcomes.report.sections` (the registry there orders them and says how a section is
added); :mod:`iopoutcomes.report.stamp` stamps the result. The whole build runs under the
disclosure audit (:func:`iopoutcomes.report.disclosure.build_controlled`).

Examples
--------
Without a quarter the report covers the last complete quarter at the data-as-of date (the
sample's data run to 2026-07-01):

>>> import iopoutcomes as iop
>>> report = iop.quarterly_report(iop.load_sample(), progress=False)
>>> report.quarter, report.profile, report.stamp["lookback"]
('2026Q2', 'funder', '2025Q3–2026Q2')
>>> [s.key for s in report.sections][:3]
['cover', 'summary', 'flow']
>>> any("provisional" in note for note in report.omitted)
False
>>> report.n_suppressed > 0  # the sample has small cells: they are hidden before writing
True
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..exceptions import InsufficientDataError, ParameterError
from .config import PROFILES, ReportConfig, load_config
from .inputs import OTHER_SITES as OTHER_SITES  # re-exported: disclosure.py imports it here
from .inputs import prepare_inputs
from .model import ReportSection, ReportTable
from .sections import SECTIONS, build_sections
from .stamp import DEPENDENCIES as DEPENDENCIES  # re-exported: public since the first release
from .stamp import build_stamp, stamp_lines, stamp_table

__all__ = ["QuarterlyReport", "ReportFiles", "quarterly_report"]


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


# --- assembly ----------------------------------------------------------------------------------


def _build(
    records: Any, quarter: str | pd.Period | None, config: ReportConfig, progress: bool,
    recorder: Any = None,
) -> QuarterlyReport:  # fmt: skip
    """One build of the report: inputs, every registered section, the stamp."""
    bar = _progress(len(SECTIONS) + 1, progress)
    try:
        bar.set_description("episode outcomes")
        inputs = prepare_inputs(records, quarter, config, recorder)
        bar.update(1)
        sections = build_sections(inputs, SECTIONS, bar)
    finally:
        bar.close()
    log = inputs.log.frame()
    stamp = build_stamp(inputs, log, sections)
    keys = [s.key for s in sections]
    cover, methods = keys.index("cover"), keys.index("methods")
    assembled = list(sections)
    assembled[cover] = dataclasses.replace(
        sections[cover], paragraphs=sections[cover].paragraphs + stamp_lines(stamp, methods + 1)
    )
    assembled[methods] = dataclasses.replace(
        sections[methods], tables=(*sections[methods].tables, stamp_table(stamp))
    )
    return QuarterlyReport(
        quarter=None if inputs.period is None else str(inputs.period),
        config=config,
        stamp=stamp,
        sections=tuple(assembled),
        suppression_log=log,
        omitted=tuple(inputs.omitted),
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
    quarter: str | pd.Period | None = None,
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
        Reporting quarter, ``"2026Q3"`` (fiscal quarters per the config). None (the default,
        as in ``iopoutcomes report``): the last complete quarter at the records' data-as-of
        date (:func:`~iopoutcomes.report.periods.reporting_quarter`), so a report is
        provisional only when a quarter that has not ended is asked for. Ignored (with a note
        in the report) for study-day records, which have no calendar.
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
        lambda recorder: _build(records, quarter, cfg, progress, recorder), cfg.k
    )
