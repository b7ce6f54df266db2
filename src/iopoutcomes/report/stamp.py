"""The reproducibility stamp of a report: what went in (file hashes, rows, settings, package
versions) and a report ID that changes whenever a published number does."""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any

import pandas as pd

from .. import __version__
from .config import ReportConfig
from .inputs import ReportInputs
from .labels import run_date_text
from .model import ReportSection, ReportTable

__all__ = ["DEPENDENCIES", "build_stamp", "stamp_lines", "stamp_table"]

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


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def build_stamp(
    inp: ReportInputs, log: pd.DataFrame, sections: Sequence[ReportSection]
) -> dict[str, Any]:
    """The reproducibility stamp: period, inputs (hashes), versions, settings, suppressed cells
    and a report ID over all of it and every published table."""
    from .writers import source_date

    r = inp.records
    internal = inp.config.profile == "internal"
    as_of = getattr(r, "data_as_of", None)
    if as_of is None:
        as_of_text = "not applicable (study-day data)"
    elif internal:
        as_of_text = f"{pd.Timestamp(as_of):%Y-%m-%d}"
    else:
        as_of_text = "in " + str(
            pd.Period(
                pd.Timestamp(as_of),
                freq=inp.freq,
            )
        )
    when = source_date()
    stamp: dict[str, Any] = {
        "title": inp.config.title,
        "program": inp.config.program,
        "period": str(inp.period) if inp.period is not None else "all episodes",
        "lookback": inp.period_text(),
        "quarter_convention": inp.quarter_convention() if inp.period is not None else "none",
        "profile": inp.config.profile,
        "data_as_of": as_of_text,
        "provenance": str(getattr(r, "provenance", "")),
        "time_basis": str(getattr(r, "time_basis", "")),
        "input_files": _input_files(r, inp.config),
        "rows_read": {str(k): int(v) for k, v in dict(r.read_counts).items()},
        "rows_rejected": int(len(r.rejected)),
        "versions": _versions(),
        "config_hash": inp.config.hash(),
        "definition_version": inp.definition.version,
        "definition_hash": hashlib.sha256(
            _canonical(inp.definition.to_dict()).encode()
        ).hexdigest(),
        "k": inp.k,
        "min_denominator": inp.min_den,
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


def stamp_lines(stamp: Mapping[str, Any], methods_section: int) -> tuple[str, ...]:
    """The stamp in two sentences for the cover; ``methods_section`` is the printed number of
    the methods appendix that holds the full stamp (it moves as optional sections appear)."""
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
        + f". The full stamp is in the appendix (section {methods_section}).",
    )


def stamp_table(stamp: Mapping[str, Any]) -> ReportTable:
    """The full stamp as an item / value table for the methods appendix."""
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
