"""Golden ``report.json`` of the sample report: build, normalise, (re)write.

The golden files pin the quarterly report's numbers and texts so that refactoring the report
(issue 13: one module per section) can be checked to change nothing in substance. They are
built through the command line's own entry point (:func:`iopoutcomes.report.command.run_report`)
over ``data/samples`` with the default configuration and ``SOURCE_DATE_EPOCH`` fixed.

Only what legitimately differs between machines is normalised: the package versions of the
reproducibility stamp (``stamp.versions`` and the same values in the stamp table) and the report
ID, which is a hash over them. Everything else (every number, every sentence, every suppressed
cell) is compared exactly.

Regenerate (after an intended change of the report, e.g. a new suppression choice)::

    PYTHONPATH=src python tests/reference/report_golden.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "samples"
HERE = Path(__file__).resolve().parent
EPOCH = "1767225600"  # 2026-01-01T00:00:00Z
VERSIONS = "<environment>"
REPORT_ID = "<report id>"

# golden file -> --quarter given on the command line (None: the CLI default, the last complete
# quarter at the data-as-of date; 2026Q2 for the sample)
RUNS: dict[str, str | None] = {
    "report_default.json": None,
    "report_2026Q3.json": "2026Q3",
}


def normalise(document: dict[str, Any]) -> dict[str, Any]:
    """``report.json`` with the environment-dependent stamp values replaced by placeholders."""
    stamp = document["stamp"]
    report_id = str(stamp["report_id"])
    stamp["versions"] = {name: VERSIONS for name in stamp["versions"]}
    for row in document["tables"]["stamp"]["rows"]:
        if str(row[0]).startswith("versions: "):
            row[1] = VERSIONS

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str):
            return value.replace(report_id, REPORT_ID)
        return value

    out = walk(document)
    assert isinstance(out, dict)
    return out


def build(quarter: str | None, out: Path) -> dict[str, Any]:
    """Run ``iopoutcomes report`` (JSON only) on the sample files; the normalised report.json."""
    from iopoutcomes.report.command import EXIT_OK, run_report

    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        code = run_report(
            episodes=SAMPLES / "episodes.csv",
            followups=SAMPLES / "followups.csv",
            use_days=SAMPLES / "use_days.csv",
            quarter=quarter,
            formats="json",
            out=out,
            progress=False,
        )
    finally:
        if previous is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous
    if code != EXIT_OK:
        raise RuntimeError(f"iopoutcomes report ended with exit status {code}")
    document = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return normalise(document)


def dump(document: dict[str, Any]) -> str:
    """The golden file's text (stable key order as written by the report, one-space indent)."""
    return json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        for name, quarter in RUNS.items():
            document = build(quarter, Path(tmp) / name)
            (HERE / name).write_text(dump(document), encoding="utf-8")
            print(f"wrote {HERE / name} ({document['stamp']['period']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
