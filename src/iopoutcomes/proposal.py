"""A first ``[input]`` configuration proposed from export files (``iopoutcomes init``).

:func:`propose_input` reads each export's rows, finds the header row and footer lines, guesses
which canonical table the file is, maps its columns to canonical ones (exact names, known
EHR/GPRA wordings, then fuzzy matches) and its values to the vocabularies ("Left AMA" ->
``dropped_out``, "6 Month Follow-up" -> ``6mo``). :meth:`Proposal.to_toml` writes it with every
guess commented and every value it could not map listed; :meth:`Proposal.describe` summarises
it with counts only: values of identifier and date columns are never shown.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .exports import _EXCEL, _kind, _raw_grid, _text_grid, read_export_table
from .schema import TABLES

__all__ = ["Proposal", "TableProposal", "propose_input"]

SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "episodes": {
        "patient_id": ("client id", "patient id", "client number", "mrn", "person id", "client"),
        "episode_id": ("episode id", "episode number", "episode #", "episode no", "admission id"),
        "cohort": ("program", "cohort", "service", "program name"),
        "admission_date": ("admit date", "admission date", "intake date", "start date"),
        "discharge_date": ("discharge date", "dc date", "end date"),
        "discharge_reason": ("discharge reason", "reason for discharge", "dc reason"),
        "level_of_care": ("asam level", "level of care", "loc", "asam"),
        "site": ("site", "location", "clinic", "facility"),
    },
    "followups": {
        "patient_id": ("client id", "patient id", "client number", "mrn", "client"),
        "episode_id": ("episode id", "episode number", "episode #"),
        "timepoint": ("interview type", "timepoint", "assessment type", "visit"),
        "status": ("interview status", "status", "disposition", "interview conducted"),
        "assessment_date": ("interview date", "assessment date", "date of interview"),
        "days_used_past30": ("days used past 30", "days of use past 30", "days used"),
        "uds_result": ("uds result", "urine result", "tox result"),
        "housing_stable": ("stable housing", "housing"),
        "aftercare_attended": ("attended aftercare", "aftercare"),
    },
    "use_days": {
        "patient_id": ("client id", "patient id", "client number", "mrn", "client"),
        "episode_id": ("episode id", "episode number", "episode #"),
        "date": ("collected", "collection date", "specimen date", "date", "result date"),
        "used": ("result", "positive", "used"),
    },
}
"""Export column names known to mean a canonical column (compared without case/punctuation)."""

KNOWN_WORDINGS: dict[str, dict[str, str]] = {
    "discharge_reason": {
        "completed treatment": "completed",
        "completed": "completed",
        "successful completion": "completed",
        "left ama": "dropped_out",
        "left against medical advice": "dropped_out",
        "dropped out": "dropped_out",
        "administrative discharge": "terminated",
        "terminated": "terminated",
        "transferred": "transferred",
        "transferred to another provider": "transferred",
        "incarcerated": "incarcerated",
        "deceased": "died",
        "died": "died",
        "other": "other",
    },
    "status": {
        "conducted": "completed",
        "completed": "completed",
        "not located": "not_located",
        "unable to locate": "not_located",
        "refused": "refused",
        "incarcerated": "incarcerated",
        "deceased": "died",
        "died": "died",
        "withdrawn": "withdrawn",
    },
    "cohort": {
        "iop": "IOP",
        "intensive outpatient": "IOP",
        "residential 3.5": "inpatient",
        "residential": "inpatient",
        "asam 3.7 inpatient": "inpatient",
        "inpatient": "inpatient",
    },
    "uds_result": {"negative": "negative", "positive": "positive", "missing": "missing"},
    "used": {"negative": "0", "positive": "1", "neg": "0", "pos": "1"},
}
"""Known EHR / GPRA wordings of vocabulary values."""

_FILE_HINTS = {
    "episodes": ("adm", "episode", "discharge", "census"),
    "followups": ("gpra", "interview", "follow", "assessment"),
    "use_days": ("lab", "screen", "uds", "tox", "urine", "tlfb", "calendar"),
}
_LIST_LIMIT = 30  # vocabulary columns with more distinct values are not listed


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9#]+", " ", text.lower()).strip()


def _timepoint_word(text: str) -> str | None:
    t = _norm(text)
    if t in ("intake", "baseline", "admission"):
        return "intake"
    if t.startswith("discharge"):
        return "discharge"
    m = re.match(r"(\d+)\s*(month|mo)", t)
    if m:
        return f"{int(m.group(1))}mo"
    return None


@dataclass
class TableProposal:
    """What ``init`` proposes for one export file."""

    table: str
    path: Path
    header_row: int
    skip_footer: int
    n_rows: int
    columns: dict[str, tuple[str, str]] = field(default_factory=dict)  # src -> (canon, how)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # src -> (distinct, empty)
    codes: dict[str, dict[str, tuple[str, str, int]]] = field(default_factory=dict)
    unmapped: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    episode_key: tuple[str, ...] | None = None
    kind: str | None = None
    date_format: str | None = None
    n_gpra_codes: int = 0


@dataclass
class Proposal:
    """The proposal for all files (see :func:`propose_input`)."""

    tables: list[TableProposal]

    def describe(self) -> str:
        """Counts only: never a value of an identifier or date column."""
        lines: list[str] = []
        for t in self.tables:
            lines.append(
                f"{t.path.name}: looks like the {t.table} table; header on row {t.header_row}, "
                f"{t.skip_footer} footer line(s), {t.n_rows:,} data rows"
            )
            for src, (distinct, empty) in t.counts.items():
                canon, how = t.columns.get(src, ("", ""))
                target = f"-> {canon} ({how})" if canon else "(not mapped)"
                if t.episode_key and src in t.episode_key:
                    target = (target + ", " if canon else "") + "part of episode_key"
                lines.append(f"  {src!r:<28} {target:<40} {distinct:,} distinct, {empty:,} empty")
            for col, values in t.unmapped.items():
                lines.append(f"  {col}: {len(values)} value(s) not mapped (listed in the file)")
        return "\n".join(lines)

    def to_toml(self) -> str:
        """The ``[input]`` section, every guess commented, every unmapped value listed."""
        out = [
            "# Proposed by `iopoutcomes init`: check every line marked GUESS, map the values",
            "# listed as UNMAPPED, then run `iopoutcomes check --config <this file>`.",
            "",
            "[input]",
        ]
        n_codes = sum(t.n_gpra_codes for t in self.tables)
        if n_codes:
            out.append(f'missing_codes = "gpra"  # GUESS: {n_codes:,} cells hold -7, -8 or -9')
        else:
            out.append('# missing_codes = "gpra"  # for GPRA exports (-7, -8, -9 = missing)')
        tps = sorted(
            {v for t in self.tables for v, *_ in t.codes.get("timepoint", {}).values()},
            key=lambda x: (x != "intake", x != "discharge", x),
        )
        if tps:
            out.append(f"timepoints = {list(tps)!r}  # GUESS: the interviews this program does")
        for t in self.tables:
            out += ["", f"[input.{t.table}]", f'files = "{t.path.name}"']
            out.append(f"header_row = {t.header_row}" + ("  # GUESS" if t.header_row > 1 else ""))
            if t.skip_footer:
                out.append(f"skip_footer = {t.skip_footer}  # GUESS: lines below the data")
            if t.date_format:
                out.append(f'date_format = "{t.date_format}"  # GUESS from the dates\' shape')
            if t.episode_key:
                out.append(
                    f"episode_key = {list(t.episode_key)!r}  # GUESS: episodes numbered within "
                    "each client"
                )
            if t.kind:
                out.append(f'kind = "{t.kind}"  # GUESS: "daily" or "screens"')
            out += ["", f"[input.{t.table}.columns]"]
            for src, (canon, how) in t.columns.items():
                line = f'"{src}" = "{canon}"'
                out.append(f"# {line}  # GUESS ({how}): uncomment if right" if how == "fuzzy"
                           else f"{line}  # {how}")  # fmt: skip
            for src in t.counts:
                if src not in t.columns and (not t.episode_key or src not in t.episode_key):
                    snake = re.sub(r"[^a-z0-9]+", "_", src.lower()).strip("_")
                    out.append(f'# "{src}" = "{snake}"  # not mapped: kept as "{src}" (covariate)')
            for col, mapping in t.codes.items():
                out += ["", f"[input.{t.table}.codes.{col}]"]
                for value, (canon, how, n) in mapping.items():
                    out.append(f'"{value}" = "{canon}"  # {how}, {n:,} rows')
                for value, n in t.unmapped.get(col, []):
                    out.append(f'# "{value}" = ""  # UNMAPPED, {n:,} rows')
        return "\n".join(out) + "\n"


def _header_row(rows: list[list[Any]]) -> int:
    """The first row (1-based) as full as the fullest and made of names, not numbers."""
    filled = [sum(1 for v in r if v is not None) for r in rows]
    top = max(filled, default=0)
    for i, (r, k) in enumerate(zip(rows, filled, strict=True)):
        names = [v for v in r if v is not None and not _is_number(str(v))]
        if top and k >= 0.8 * top and len(names) == k:
            return i + 1
    return 1


def _footer(filled: Any, width: int) -> int:
    """Trailing non-blank lines with at most one cell (blank lines between them ignored)."""
    k = np.asarray(filled)
    nonblank = k[k > 0]
    if width < 3 or not len(nonblank):
        return 0
    short = nonblank[::-1] <= 1
    return int(len(short)) if bool(short.all()) else int(np.argmin(short))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _date_format(values: pd.Series) -> str | None:
    text = values.dropna().astype(str)
    if not len(text):
        return None
    if text.str.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}").mean() > 0.9:
        return "%m/%d/%Y"
    if text.str.fullmatch(r"\d{1,2}/\d{1,2}/\d{2}").mean() > 0.9:
        return "%m/%d/%y"
    return None


def _guess_table(path: Path, names: list[str]) -> str:
    scores = {}
    for table, syn in SYNONYMS.items():
        normed = {_norm(n) for n in names}
        known = {_norm(s) for v in syn.values() for s in v} | {_norm(c) for c in syn}
        hint = any(h in path.name.lower() for h in _FILE_HINTS[table])
        scores[table] = len(normed & known) + (3 if hint else 0)
    return max(scores, key=lambda t: scores[t])


def _map_columns(table: str, names: list[str]) -> dict[str, tuple[str, str]]:
    syn = SYNONYMS[table]
    lookup: dict[str, str] = {}
    for canon, words in syn.items():
        for w in words:
            lookup.setdefault(_norm(w), canon)
    for canon in TABLES[table].names:
        lookup.setdefault(_norm(canon.replace("_", " ")), canon)
    out: dict[str, tuple[str, str]] = {}
    taken: set[str] = set()
    for name in names:
        n = _norm(name)
        if name in TABLES[table].names:
            out[name] = (name, "exact")
        elif n in lookup and lookup[n] not in taken:
            out[name] = (lookup[n], "known name")
        else:
            continue
        taken.add(out[name][0])
    for name in names:
        if name in out:
            continue
        close = difflib.get_close_matches(_norm(name), list(lookup), n=1, cutoff=0.75)
        if close and lookup[close[0]] not in taken:
            out[name] = (lookup[close[0]], "fuzzy")
            taken.add(lookup[close[0]])
    return out


def _propose_one(path: Path) -> TableProposal:
    text = _text_grid(_raw_grid(path, None, "utf-8"), path.name.lower().endswith(_EXCEL))
    rows = text.head(50).to_numpy(object).tolist()
    header = _header_row(rows)
    filled = text.notna().sum(axis=1).to_numpy()
    width = int(filled[header - 1]) if len(filled) >= header else 0
    footer = _footer(filled[header:], width)
    sheet = read_export_table(path, header_row=header, skip_footer=footer)
    frame = sheet.frame
    names = [str(c) for c in frame.columns]
    table = _guess_table(path, names)
    columns = _map_columns(table, names)
    prop = TableProposal(table, path, header, footer, len(frame), columns)
    for name in names:
        prop.counts[name] = (int(frame[name].nunique()), int(frame[name].isna().sum()))
        if _kind(table, columns.get(name, ("", ""))[0]) not in ("id", "date"):
            prop.n_gpra_codes += int(frame[name].isin(["-7", "-8", "-9"]).sum())
    by_canon = {canon: src for src, (canon, _) in columns.items()}
    # episodes numbered within each client: a composite key
    ep_src = by_canon.get("episode_id")
    pat_src = by_canon.get("patient_id")
    if ep_src and pat_src and bool(frame[ep_src].dropna().duplicated().any()):
        prop.episode_key = (pat_src, ep_src)
        del prop.columns[ep_src]
    dates = [src for src, (canon, _) in columns.items() if _kind(table, canon) == "date"]
    for src in dates:
        fmt = _date_format(frame[src])
        if fmt:
            prop.date_format = fmt
    if table == "use_days":
        # a lab file of results is urine screens; a day-by-day use flag is a daily calendar
        used_src = by_canon.get("used", "")
        prop.kind = "screens" if _norm(used_src) in ("result", "positive") else "daily"
    for src, (canon, _) in list(prop.columns.items()):
        kind = _kind(table, canon)
        if canon not in KNOWN_WORDINGS and canon != "timepoint":
            continue
        if kind in ("id", "date"):
            continue
        counts = frame[src].dropna().astype(str).value_counts()
        if len(counts) > _LIST_LIMIT:
            continue
        mapping: dict[str, tuple[str, str, int]] = {}
        unmapped: list[tuple[str, int]] = []
        known = {_norm(k): w for k, w in KNOWN_WORDINGS.get(canon, {}).items()}
        vocab = TABLES[table].column(canon).vocabulary or () if kind else ()
        for value, n in counts.items():
            v = str(value)
            if canon == "timepoint":
                word = _timepoint_word(v)
                if word and word != v:
                    mapping[v] = (word, "known GPRA wording", int(n))
                elif not word:
                    unmapped.append((v, int(n)))
                continue
            if v in vocab:
                continue
            if _norm(v) in known:
                if known[_norm(v)] != v:
                    mapping[v] = (known[_norm(v)], "known EHR wording", int(n))
                continue
            close = difflib.get_close_matches(_norm(v), list(known), n=1, cutoff=0.8)
            if close:
                mapping[v] = (known[close[0]], "GUESS (fuzzy)", int(n))
            else:
                unmapped.append((v, int(n)))
        if mapping:
            prop.codes[canon] = mapping
        if unmapped:
            prop.unmapped[canon] = unmapped
    return prop


def propose_input(files: list[str | Path]) -> Proposal:
    """Propose an ``[input]`` section for export ``files`` (see the module docstring).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d) / "admissions.csv"
    ...     _ = p.write_text("EHR export\\nClient ID,Episode #,Program,Admit Date,Discharge Reason\\n"
    ...                      "C1,1,IOP,01/02/2024,Left AMA\\nC1,2,IOP,06/01/2024,Completed Treatment\\n"
    ...                      "C2,1,IOP,01/03/2024,Left AMA\\nC3,1,IOP,01/03/2024,\\nTotal 4\\n")
    ...     prop = propose_input([p])
    >>> t = prop.tables[0]
    >>> t.table, t.header_row, t.skip_footer, t.episode_key, t.date_format
    ('episodes', 2, 1, ('Client ID', 'Episode #'), '%m/%d/%Y')
    >>> t.codes["discharge_reason"]["Left AMA"]
    ('dropped_out', 'known EHR wording', 2)
    """
    return Proposal([_propose_one(Path(f)) for f in files])
