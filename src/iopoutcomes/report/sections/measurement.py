"""Measurement-based care section: instrument completion, accreditation measures and change
(computed by :mod:`iopoutcomes.report.measurement`); left out when no instrument is recorded."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..inputs import ReportInputs
from ..model import ReportSection
from .common import SectionOutput

__all__ = ["build", "section"]


def section(inp: ReportInputs) -> ReportSection | None:
    """Measurement-based care (report/measurement.py), when follow-ups carry instrument
    items: the milestones' episodes (discharged in the lookback period)."""
    from ..measurement import measurement_section  # the section's own computation

    t = inp.table
    if inp.period is not None:
        mask = t["_discharge_q"].isin(inp.lookback_labels).to_numpy(bool)
        who = f"episodes discharged in {inp.period_text()}"
    else:
        mask = np.ones(len(t), dtype=bool)
        who = "all episodes"
    cohort_of = t.loc[mask, "cohort"].set_axis(t.loc[mask, "episode_id"].astype(str))
    return measurement_section(
        inp.snapshot.followups,
        cohort_of,
        k=inp.k,
        min_denominator=inp.min_den,
        profile=inp.config.profile,
        bam_version=inp.config.bam_version or None,
        log=lambda key, part, members=None: inp.log.add(
            key, part, inp.units(members, by="episode_id")
        ),
        period_text=who,
    )


def build(inp: ReportInputs, computed: Mapping[str, SectionOutput]) -> SectionOutput:
    """Section 7 (when follow-ups carry instrument items): measurement-based care."""
    return SectionOutput(section(inp))
