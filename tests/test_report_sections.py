"""The report's section registry (iopoutcomes.report.sections): order, data flow, registration.

The numbers and texts of every built-in section are pinned by tests/test_report_golden.py;
these tests check the machinery a new section plugs into with one line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from iopoutcomes.report.model import ReportSection
from iopoutcomes.report.sections import SECTIONS, SectionOutput, SectionSpec, build_sections

GOLDEN = Path(__file__).resolve().parent / "reference" / "report_default.json"


@dataclass(frozen=True, eq=False)
class CountOutput(SectionOutput):
    n_seen: int = 0


def _recording(key: str, calls: list[str], section: bool = True) -> Any:
    def build(inputs: Any, computed: Mapping[str, SectionOutput]) -> SectionOutput:
        calls.append(key)
        model = ReportSection(key, key.title(), (f"saw {sorted(computed)}",)) if section else None
        return CountOutput(model, n_seen=len(computed))

    return build


def test_summarising_sections_are_built_last_and_printed_in_registry_order() -> None:
    calls: list[str] = []
    registry = (
        SectionSpec("cover", _recording("cover", calls), "cover"),
        SectionSpec("summary", _recording("summary", calls), "summary", after_analyses=True),
        SectionSpec("flow", _recording("flow", calls), "flow"),
        SectionSpec("costs", _recording("costs", calls), "cost per outcome"),  # one new line
        SectionSpec("methods", _recording("methods", calls), "methods", after_analyses=True),
    )
    sections = build_sections(object(), registry)  # type: ignore[arg-type]
    assert calls == ["cover", "flow", "costs", "summary", "methods"]
    assert [s.key for s in sections] == ["cover", "summary", "flow", "costs", "methods"]
    # each section sees exactly the outputs of the sections built before it
    by_key = {s.key: s.paragraphs[0] for s in sections}
    assert by_key["cover"] == "saw []"
    assert by_key["costs"] == "saw ['cover', 'flow']"
    assert by_key["summary"] == "saw ['costs', 'cover', 'flow']"
    assert by_key["methods"] == "saw ['costs', 'cover', 'flow', 'summary']"


def test_a_section_without_a_model_is_left_out_and_keys_are_unique() -> None:
    calls: list[str] = []
    registry = (
        SectionSpec("cover", _recording("cover", calls), "cover"),
        SectionSpec("measurement", _recording("measurement", calls, section=False), "mbc"),
    )
    assert [s.key for s in build_sections(object(), registry)] == ["cover"]  # type: ignore[arg-type]
    assert calls == ["cover", "measurement"]
    with pytest.raises(ValueError, match="unique"):
        build_sections(object(), registry + registry[:1])  # type: ignore[arg-type]


def test_progress_advances_once_per_section() -> None:
    class Bar:
        def __init__(self) -> None:
            self.labels: list[str] = []
            self.steps = 0

        def set_description(self, text: str) -> None:
            self.labels.append(text)

        def update(self, n: int) -> None:
            self.steps += n

    calls: list[str] = []
    bar = Bar()
    registry = (
        SectionSpec("a", _recording("a", calls), "first"),
        SectionSpec("b", _recording("b", calls), "second", after_analyses=True),
        SectionSpec("c", _recording("c", calls), "third"),
    )
    build_sections(object(), registry, bar)  # type: ignore[arg-type]
    assert bar.labels == ["first", "third", "second"] and bar.steps == 3


def test_the_registry_is_the_sample_report_s_table_of_contents() -> None:
    # the golden report (built on main before the split) has one section per registered key,
    # measurement included (the sample carries instrument items), in the same order; the
    # sections that need inputs the sample does not give (costs: a [costs] table; continuity:
    # a services table) are the only ones it leaves out
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    optional = {"costs", "continuity"}
    assert [s["key"] for s in golden["sections"]] == [
        spec.key for spec in SECTIONS if spec.key not in optional
    ]
    assert optional <= {spec.key for spec in SECTIONS}
    assert [spec.key for spec in SECTIONS if spec.after_analyses] == ["summary", "methods"]
