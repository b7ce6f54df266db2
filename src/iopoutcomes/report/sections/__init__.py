"""The report's sections, one module each, and the registry that orders them.

Each section is a function ``build(inputs, computed) -> SectionOutput``:

* ``inputs`` is the :class:`~iopoutcomes.report.inputs.ReportInputs` every section starts from
  (the records as they stood at the end of the quarter, the episode outcomes, cohorts,
  timepoints, settings). A section reads them and changes nothing in them; it adds each table
  of counts to ``inputs.log`` (small-cell suppression under the whole-report audit) and each
  part it leaves out, with the reason, to ``inputs.omitted``.
* ``computed`` maps the keys of the sections built before it to their outputs: a section that
  needs another's results (the summary reads the follow-up, outcomes, milestones and trends
  sections' published tables) reads them there, typed (``FollowupOutput``, ...), and copes with
  their absence.
* It returns a :class:`~.common.SectionOutput` whose ``section`` is the
  :class:`~iopoutcomes.report.model.ReportSection` to print (None: left out), or a subclass
  carrying results later sections read.

Sections are built in the order of :data:`SECTIONS`, except that those marked
``after_analyses`` (the executive summary and the methods, which summarise the others) are
built after all the rest; the report prints them in the order of :data:`SECTIONS`.

Adding a section
----------------
Write ``sections/<name>.py`` with ``build(inputs, computed) -> SectionOutput`` (and its tests
in ``tests/test_report_<name>.py``), then register it with one line in :data:`SECTIONS`, where
it should appear in the report::

    SectionSpec("costs", costs.build, "cost per outcome"),
    SectionSpec("continuity", continuity.build, "step-down and continuity"),

Its tables must go through ``inputs.log.add(key, suppress_partition(counts, inputs.k))`` and
the cells it publishes must be declared to the disclosure audit
(:func:`iopoutcomes.report.disclosure.report_members` for the table ``key``, or ``members``
passed to ``log.add``), so the privacy step covers it like every other table. The writers need
nothing: they render any section model.

Examples
--------
>>> [spec.key for spec in SECTIONS][:4]
['cover', 'summary', 'flow', 'followup']
>>> [spec.key for spec in SECTIONS if spec.after_analyses]
['summary', 'methods']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..inputs import ReportInputs
from ..model import ReportSection
from . import (
    continuity,
    costs,
    cover,
    flow,
    followup,
    measurement,
    methods,
    milestones,
    outcomes,
    quality,
    sites,
    summary,
    trends,
)
from .common import SectionOutput

__all__ = ["SECTIONS", "SectionBuilder", "SectionOutput", "SectionSpec", "build_sections"]

SectionBuilder = Callable[[ReportInputs, Mapping[str, SectionOutput]], SectionOutput]
"""``build(inputs, computed) -> SectionOutput``: one report section."""


@dataclass(frozen=True)
class SectionSpec:
    """A registered section: its key, its function, its progress-bar label, and whether it
    summarises the others (then it is built after all sections that do not)."""

    key: str
    build: SectionBuilder
    label: str
    after_analyses: bool = False


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec("cover", cover.build, "cover"),
    SectionSpec("summary", summary.build, "executive summary", after_analyses=True),
    SectionSpec("flow", flow.build, "cohort flow"),
    SectionSpec("followup", followup.build, "follow-up rates"),
    SectionSpec("outcomes", outcomes.build, "outcomes"),
    SectionSpec("milestones", milestones.build, "milestones"),
    SectionSpec("measurement", measurement.build, "measurement-based care"),
    SectionSpec("trends", trends.build, "trends"),
    SectionSpec("sites", sites.build, "sites"),
    SectionSpec("quality", quality.build, "data quality"),
    SectionSpec("costs", costs.build, "cost per outcome"),
    SectionSpec("continuity", continuity.build, "step-down and continuity"),
    SectionSpec("methods", methods.build, "methods", after_analyses=True),
)
"""The report's sections in print order (cover first, methods and stamp last)."""


def build_sections(
    inputs: ReportInputs,
    sections: Sequence[SectionSpec] = SECTIONS,
    progress: Any = None,
) -> tuple[ReportSection, ...]:
    """Build every section (analyses first, then the summarising ones); print order.

    Parameters
    ----------
    inputs : ReportInputs
        From :func:`~iopoutcomes.report.inputs.prepare_inputs`.
    sections : sequence of SectionSpec
        The registry (default :data:`SECTIONS`).
    progress : object with ``set_description(str)`` and ``update(int)``, optional
        A progress bar, advanced once per section.

    Returns
    -------
    tuple of ReportSection
        The sections that are not left out, in the order of ``sections``.
    """
    keys = [spec.key for spec in sections]
    if len(set(keys)) != len(keys):
        raise ValueError(f"section keys must be unique; got {keys}")
    order = [s for s in sections if not s.after_analyses] + [
        s for s in sections if s.after_analyses
    ]
    computed: dict[str, SectionOutput] = {}
    for spec in order:
        if progress is not None:
            progress.set_description(spec.label)
        computed[spec.key] = spec.build(inputs, dict(computed))
        if progress is not None:
            progress.update(1)
    built = (computed[spec.key].section for spec in sections)
    return tuple(section for section in built if section is not None)
