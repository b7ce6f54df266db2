"""The sample report's report.json equals the golden files in tests/reference (issue 13).

The golden files were built on main's code before the report was split into one module per
section; this test rebuilds them through the command line's entry point and compares every
number and every sentence exactly. Only the package versions of the reproducibility stamp and
the report ID (a hash over them) are normalised, because they depend on the machine
(tests/reference/report_golden.py). Regenerate after an intended change with
``PYTHONPATH=src python tests/reference/report_golden.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from reference import report_golden

pytestmark = pytest.mark.slow


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Path of the first difference between two JSON values (None when equal)."""
    if type(a) is not type(b):
        return f"{path or '/'}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path or '/'}: keys {list(a)} != {list(b)}"
        for key in a:
            found = first_difference(a[key], b[key], f"{path}/{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path or '/'}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}/{i}")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


@pytest.mark.parametrize("name", sorted(report_golden.RUNS))
def test_report_json_equals_golden(name: str, tmp_path: Path) -> None:
    golden = json.loads((Path(report_golden.HERE) / name).read_text(encoding="utf-8"))
    fresh = report_golden.build(report_golden.RUNS[name], tmp_path)
    assert first_difference(golden, fresh) is None, first_difference(golden, fresh)
    assert report_golden.dump(fresh) == report_golden.dump(golden)


def test_normalise_hides_only_the_environment() -> None:
    document = {
        "stamp": {"versions": {"numpy": "2.4.6"}, "report_id": "abc123", "k": 11},
        "sections": [{"paragraphs": ["Report ID abc123 · k 11 · numpy 2.4.6"]}],
        "tables": {"stamp": {"rows": [["versions: numpy", "2.4.6"], ["k", "11"]]}},
    }
    out = report_golden.normalise(document)
    assert out["stamp"] == {
        "versions": {"numpy": report_golden.VERSIONS},
        "report_id": report_golden.REPORT_ID,
        "k": 11,
    }
    # a version number in a sentence is content, only the report ID is replaced
    assert out["sections"][0]["paragraphs"] == [
        f"Report ID {report_golden.REPORT_ID} · k 11 · numpy 2.4.6"
    ]
    assert out["tables"]["stamp"]["rows"] == [
        ["versions: numpy", report_golden.VERSIONS],
        ["k", "11"],
    ]
