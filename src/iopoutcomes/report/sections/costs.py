"""Section "Cost per outcome" (issue 19): shown only when the config has a ``[costs]`` table.

The section model and its disclosure rules are :mod:`iopoutcomes.report.cost_section`; this
module plugs it into the registry.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..cost_section import report_cost_section
from ..inputs import ReportInputs
from .common import SectionOutput


def build(inputs: ReportInputs, computed: Mapping[str, SectionOutput]) -> SectionOutput:
    """The cost section, or an output without a section when ``[costs]`` is not configured."""
    return SectionOutput(report_cost_section(inputs))
