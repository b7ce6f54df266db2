"""Section "Step-down and continuity" (issue 17): shown only when the records carry services.

The section model and its disclosure declarations are
:mod:`iopoutcomes.report.continuity_section`; this module plugs it into the registry.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..continuity_section import report_continuity_section
from ..inputs import ReportInputs
from .common import SectionOutput


def build(inputs: ReportInputs, computed: Mapping[str, SectionOutput]) -> SectionOutput:
    """The continuity section, or an output without a section when there are no services."""
    return SectionOutput(report_continuity_section(inputs))
