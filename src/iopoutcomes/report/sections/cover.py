"""Section 1, cover: the reporting period and the privacy statement (the reproducibility stamp
lines are appended when the report is assembled, :mod:`iopoutcomes.report.stamp`)."""

from __future__ import annotations

from collections.abc import Mapping

from ..inputs import ReportInputs
from ..model import ReportSection
from .common import SectionOutput

__all__ = ["build", "section"]


def section(inp: ReportInputs) -> ReportSection:
    """The cover's section model: period and privacy lines (see :func:`build`)."""
    profile = inp.config.profile
    lines = [
        f"Reporting period: {inp.period} ({inp.quarter_convention()})."
        if inp.period is not None
        else "Reporting period: all episodes (study-day records have no calendar quarters).",
        "Aggregate and de-identified: small-cell suppression applied (counts 1-"
        f"{inp.k - 1} hidden, with complementary cells and a back-calculation audit); "
        f"rates need at least {inp.min_den} clients.",
    ]
    if profile == "internal":
        lines.append(
            "INTERNAL profile: this report may contain information protected by 42 CFR "
            "Part 2. Do not re-disclose without the consent the regulation requires."
        )
    return ReportSection("cover", "Cover and reproducibility stamp", tuple(lines))


def build(inp: ReportInputs, computed: Mapping[str, SectionOutput]) -> SectionOutput:
    """Section 1: reporting period, privacy statement (the stamp lines are added last)."""
    return SectionOutput(section(inp))
