"""Reader for the NIDA CTN-0094 harmonised trial tables (``public.ctn0094data``).

:func:`read_ctn0094` reads the public tables of three opioid-use-disorder trials (CTN-0027,
CTN-0030, CTN-0051), exported to CSV or Parquet, into :class:`~iopoutcomes.records.Records`:
one episode per consenting participant, relative study days (day 0 = consent) instead of dates,
a positives-only daily use calendar, and the source tables the weekly urine-screen words need
(``Records.extras``). The real tables' quirks are handled and counted, never crashed on.

:func:`ctn0094_study_weeks` counts positive and negative days per analysis week by the CTN-0094
team's harmonised rules, vectorised over a person x day array; :func:`read_ctn0094` declares it
as the records' study-week backbone (``records.options["weekly_backbone"]``), so
:func:`iopoutcomes.patterns.weekly_patterns` builds the weekly opioid-use words with it without
asking where the records came from.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_example_folder(folder)
>>> records = read_ctn0094(folder)
>>> print(records.episodes[["episode_id", "cohort", "trial"]].to_string(index=False))
episode_id         cohort    trial
         1  Inpatient BUP CTN-0051
         2 not randomised CTN-0027
>>> from iopoutcomes.patterns import weekly_patterns
>>> weekly_patterns(records).str.len().tolist()
[24, 25]
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ._deprecate import renamed_parameters
from .exceptions import FileReadError, MissingColumnError, ParameterError, SchemaError
from .patterns import WeekCounts, weekly_patterns
from .records import Records, canonical_dtypes
from .schema import EPISODES, FOLLOWUPS, REJECTED_COLUMNS, REJECTION_REASONS

__all__ = [
    "ARMS",
    "OPIOIDS_BY_ARM",
    "TRIALS",
    "ctn0094_visit_imputed",
    "ctn0094_study_weeks",
    "ctn0094_weekly_patterns",
    "read_ctn0094",
    "write_example_folder",
]

TRIALS: dict[str, str] = {"27": "CTN-0027", "30": "CTN-0030", "51": "CTN-0051"}
"""``everybody.project`` code -> trial name."""

ARMS: tuple[str, ...] = (
    "Inpatient BUP",
    "Inpatient NR-NTX",
    "Methadone",
    "Outpatient BUP",
    "Outpatient BUP + EMM",
    "Outpatient BUP + SMM",
)
"""Randomised arms in the harmonised data."""

NOT_RANDOMISED = "not randomised"

# Harmonised rule 3: non-study opioids that make an opioid-positive day, by first arm.
_BUP_ARM_OPIOIDS = ("Opioid", "Methadone")
_METHADONE_ARM_OPIOIDS = ("Opioid", "Buprenorphine")
_ALL_OPIOIDS = ("Opioid", "Methadone", "Buprenorphine")
OPIOIDS_BY_ARM: dict[str, tuple[str, ...]] = {
    "Outpatient BUP": _BUP_ARM_OPIOIDS,
    "Inpatient BUP": _BUP_ARM_OPIOIDS,
    "Outpatient BUP + EMM": _BUP_ARM_OPIOIDS,
    "Outpatient BUP + SMM": _BUP_ARM_OPIOIDS,
    "Methadone": _METHADONE_ARM_OPIOIDS,
    "Inpatient NR-NTX": _ALL_OPIOIDS,
    NOT_RANDOMISED: _ALL_OPIOIDS,
}
"""``uds.what`` groups counted as an opioid-positive day, by first-randomisation arm."""

BACKBONE_START = -30
"""First backbone day (timeline follow-back reaches 30 days before consent)."""

_DEMOGRAPHICS = (
    "age",
    "is_hispanic",
    "race",
    "job",
    "is_living_stable",
    "education",
    "marital",
    "is_male",
)

# table -> {column: kind}; kind "int" (whole numbers, nullable) or "text"
_TABLES: dict[str, dict[str, str]] = {
    "everybody": {"who": "int", "project": "text"},
    "randomization": {"who": "int", "treatment": "text", "which": "int", "when": "int"},
    "uds": {"who": "int", "what": "text", "when": "int"},
    "tlfb": {"who": "int", "what": "text", "when": "int"},
    "visit": {"who": "int", "visit": "text", "what": "text", "when": "int"},
    "demographics": {"who": "int", "age": "int"} | {c: "text" for c in _DEMOGRAPHICS if c != "age"},
    "site_masked": {"who": "int", "site_masked": "text"},
    "meta_study_length": {
        "project": "text",
        "treatment": "text",
        "phase": "int",
        "stage": "int",
        "weeks": "int",
    },
}
_OPTIONAL_TABLES: dict[str, dict[str, str]] = {
    "treatment": {"who": "int", "amount": "int", "when": "int"},
}


# --- reading one table --------------------------------------------------------------------------


def _locate(folder: Path, table: str, fmt: str) -> Path | None:
    candidates = {
        "auto": (f"{table}.parquet", f"{table}.csv"),
        "parquet": (f"{table}.parquet",),
        "csv": (f"{table}.csv",),
    }[fmt]
    for name in candidates:
        path = folder / name
        if path.is_file():
            return path
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _as_text(values: pd.Series) -> pd.Series:
    """Values as text with missing values kept missing.

    ``Series.astype("str")`` writes a missing value as the text "nan" (or "None") when pandas
    does not infer its ``str`` dtype (pandas 2.x, or ``future.infer_string`` off); that text
    then reads as a real category in the quirk counts and in Table 1.
    """
    return values.astype("str").where(values.notna(), np.nan)


def _read_table(path: Path, table: str, columns: dict[str, str]) -> pd.DataFrame:
    """Read one table, check its columns and type them (``int`` -> Int64, ``text`` -> str)."""
    try:
        if path.suffix == ".parquet":
            raw = pd.read_parquet(path)
        else:
            # every field as text, empty fields kept as "" (visit.what == "" is a real value)
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
    except (OSError, ValueError, ImportError) as exc:  # pyarrow errors derive from these
        raise FileReadError(
            f"could not read CTN-0094 table {table!r} from {path.name}: {type(exc).__name__}. "
            "Check the file is a complete Parquet file or a UTF-8 comma-separated CSV."
        ) from exc
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise MissingColumnError(
            f"{path.name}: CTN-0094 table {table!r} lacks required column(s) {missing}; "
            f"columns found: {list(raw.columns)}. Export the table unchanged from "
            "public.ctn0094data."
        )
    out = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    from_csv = path.suffix != ".parquet"
    for col, kind in columns.items():
        values = raw[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = _as_text(values)
        if kind == "int":
            text = _as_text(values) if from_csv else values
            if from_csv:
                text = text.where(text.str.strip() != "", None)
            numbers = pd.to_numeric(text, errors="coerce")
            bad = numbers.isna() & values.notna() & (values.astype("str").str.strip() != "")
            as_float = numbers.astype("Float64")
            bad |= as_float.notna() & (as_float != as_float.round())
            if bool(bad.any()):
                raise FileReadError(
                    f"{path.name}: column {col!r} of CTN-0094 table {table!r} should hold whole "
                    f"numbers (or be empty); {int(bad.sum())} of {len(values)} values are not. "
                    "Export day numbers, ids and counts as integers."
                )
            out[col] = as_float.round().astype("Int64")
        else:
            text = _as_text(values)
            if from_csv and not (table == "visit" and col == "what"):
                text = text.where(text != "", np.nan)
            out[col] = text
    return out


# --- the reader ---------------------------------------------------------------------------------


@renamed_parameters(format="file_format")
def read_ctn0094(
    folder: str | Path, *, file_format: Literal["auto", "csv", "parquet"] = "auto"
) -> Records:
    """Read the CTN-0094 harmonised tables into :class:`~iopoutcomes.records.Records`.

    Parameters
    ----------
    folder : str or pathlib.Path
        Folder holding ``<table>.parquet`` and/or ``<table>.csv`` for the tables ``everybody``,
        ``randomization``, ``uds``, ``tlfb``, ``visit``, ``demographics``, ``site_masked`` and
        ``meta_study_length`` (``treatment`` is optional: read only to count its quirks).
    file_format : {"auto", "csv", "parquet"}, default "auto"
        ``auto`` prefers Parquet and falls back to CSV per table. Replaces ``format``
        (deprecated: it shadowed the builtin).

    Returns
    -------
    Records
        ``provenance="ctn0094"``, ``time_basis="study_day"``, ``data_as_of=None``,
        ``timepoints=()``, ``options`` ``weekly_backbone`` = :func:`ctn0094_study_weeks` and
        ``subjects`` = ``"participants"``:

        ``episodes``
            one per participant in ``everybody`` (randomised or not); ``episode_id`` =
            ``patient_id`` = the participant id as text; ``cohort`` = first-randomisation arm
            or ``"not randomised"``; ``admission_date`` NaT (day 0 = consent);
            ``level_of_care`` NA (the arms are medications, not levels of care);
            ``discharge_day`` = the *scheduled* end of protocol from ``meta_study_length``
            (first randomisation day + 7 x the arm's phase-1 weeks: 24 weeks in CTN-0027/0051,
            2 + 2 + 8 in CTN-0030; after a CTN-0030 second randomisation, its day + 7 x the
            phase-2 arm's 12 + 4 + 8 weeks), NA when never randomised. It is not an observed
            discharge. Covariates: ``trial``, ``site``, the demographics (``age``,
            ``is_hispanic``, ``race``, ``job``, ``is_living_stable``, ``education``,
            ``marital``, ``is_male``), ``randomised``, ``rand1_day``, ``rand2_day``,
            ``rand2_arm`` (a real second randomisation: CTN-0030 only).
        ``use_days``
            timeline follow-back (``source="self_report"``, ``substance`` = ``tlfb.what``) and
            urine-screen positives (``source="uds"``, ``substance`` = ``uds.what``), ``day`` =
            study day, ``used = 1``. The calendar is **positives-only**: the public tables
            have no negative rows (a negative screen is only implied by a visit with no
            positive, which :func:`ctn0094_weekly_patterns` uses), so under the outcome
            engine's default ``missing_days="using"`` every day without a row counts as use,
            and ``missing_days="skip"`` leaves no abstinent day to count: daily abstinence
            outcomes are not meaningful on this calendar; use the weekly words.
        ``followups``
            empty (canonical columns): the trials' clinic visits are dosing/urine-screen visits,
            not follow-up assessments with a past-30-day use count.
        ``extras``
            typed source tables ``everybody``, ``randomization``, ``visit``, ``uds``,
            ``meta_study_length`` and ``quirks`` (``table, quirk, count``).

    Raises
    ------
    FileReadError
        A required table is absent, unreadable, or a whole-number column is not.
    MissingColumnError
        A table lacks a required column (the message names file and column).
    ParameterError
        ``file_format`` is not one of the three choices.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_example_folder(folder)
    >>> r = read_ctn0094(folder, file_format="csv")
    >>> r.provenance, r.time_basis, len(r.episodes), dict(r.read_counts)
    ('ctn0094', 'study_day', 2, {'episodes': 2, 'followups': 0, 'use_days': 5})
    """
    if file_format not in ("auto", "csv", "parquet"):
        raise ParameterError(
            f"file_format must be 'auto', 'csv' or 'parquet'; received {file_format!r}."
        )
    folder = Path(folder)
    if not folder.is_dir():
        raise FileReadError(
            f"CTN-0094 folder not found or not a folder: {folder}. Pass the folder holding the "
            "exported public.ctn0094data tables."
        )
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    hashes: dict[str, str] = {}
    for table, columns in (_TABLES | _OPTIONAL_TABLES).items():
        path = _locate(folder, table, file_format)
        if path is None:
            if table in _OPTIONAL_TABLES:
                continue
            wanted = {"auto": ".parquet or .csv", "csv": ".csv", "parquet": ".parquet"}[file_format]
            raise FileReadError(
                f"CTN-0094 table {table!r} not found in {folder} (looked for {table}{wanted}). "
                f"Required tables: {sorted(_TABLES)}."
            )
        tables[table] = _read_table(path, table, columns)
        files[table] = path.name
        hashes[path.name] = _sha256(path)

    quirks: list[tuple[str, str, int]] = []
    rejected: list[pd.DataFrame] = []

    # --- everybody -> episodes ---------------------------------------------------------------
    everybody = tables["everybody"]
    unknown_project = everybody["project"].notna() & ~everybody["project"].isin(list(TRIALS))
    if bool(unknown_project.any()):
        raise SchemaError(
            f"{files['everybody']}: column 'project' holds {int(unknown_project.sum())} values "
            f"outside the CTN-0094 trials {sorted(TRIALS)}."
        )
    no_id = everybody["who"].isna() | everybody["project"].isna()
    dup_id = everybody["who"].duplicated(keep="first") & ~no_id
    rejected.append(
        _rejections("episodes", files["everybody"], no_id, "who", "missing_required_value")
    )
    rejected.append(
        _rejections("episodes", files["everybody"], dup_id, "who", "duplicate_episode_id")
    )
    people = everybody.loc[~no_id & ~dup_id, ["who", "project"]].reset_index(drop=True)
    people_index = pd.Index(people["who"].to_numpy(dtype=np.int64))

    rand = _randomisation(tables["randomization"], people, people_index, quirks)
    meta = tables["meta_study_length"]
    episodes = _episodes(people, rand, tables["demographics"], tables["site_masked"], meta, quirks)

    # --- use_days ------------------------------------------------------------------------------
    use_parts = []
    for table, source in (("tlfb", "self_report"), ("uds", "uds")):
        frame = tables[table]
        missing_value = frame["who"].isna() | frame["when"].isna() | frame["what"].isna()
        unknown = ~missing_value & (people_index.get_indexer(frame["who"].fillna(-1)) < 0)
        rejected.append(
            _rejections(
                "use_days", files[table], missing_value, "who/what/when", "missing_required_value"
            )
        )
        rejected.append(_rejections("use_days", files[table], unknown, "who", "unknown_episode"))
        keep = frame.loc[~missing_value & ~unknown]
        ids = keep["who"].astype("str")
        use_parts.append(
            pd.DataFrame(
                {
                    "episode_id": ids,
                    "patient_id": ids,
                    "date": pd.Series(pd.NaT, index=keep.index, dtype="datetime64[ns]"),
                    "day": keep["when"],
                    "used": pd.Series(1, index=keep.index, dtype="Int64"),
                    "substance": keep["what"],
                    "source": pd.Series(source, index=keep.index, dtype="str"),
                }
            )
        )
    use_days = _typed(pd.concat(use_parts, ignore_index=True), "use_days")
    episodes = _typed(episodes, "episodes")

    # --- quirks (counted; the weekly rules handle them) --------------------------------------
    _count_quirks(tables, people, quirks)
    quirk_table = pd.DataFrame(quirks, columns=["table", "quirk", "count"]).astype(
        {"table": "str", "quirk": "str", "count": "int64"}
    )
    rejected_frame = pd.concat(rejected, ignore_index=True)
    read_counts = {
        "episodes": len(everybody),
        "followups": 0,
        "use_days": len(tables["tlfb"]) + len(tables["uds"]),
    }
    extras = {
        "everybody": people.assign(trial=people["project"].map(TRIALS).astype("str")),
        "randomization": tables["randomization"],
        "visit": tables["visit"],
        "uds": tables["uds"],
        "meta_study_length": meta,
        "quirks": quirk_table,
    }
    return Records(
        episodes=episodes,
        followups=_typed(pd.DataFrame({c: [] for c in FOLLOWUPS.names}), "followups"),
        use_days=use_days,
        rejected=rejected_frame,
        read_counts=read_counts,
        sources={
            "episodes": files["everybody"],
            "followups": "",
            "use_days": f"{files['tlfb']}, {files['uds']}",
        },
        timepoints=(),
        time_basis="study_day",
        data_as_of=None,
        file_hashes=hashes,
        provenance="ctn0094",
        remarks=_remarks(quirk_table, len(rejected_frame)),
        extras=extras,
        options={"weekly_backbone": ctn0094_study_weeks, "subjects": "participants"},
    )


def _typed(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Give the canonical columns the dtypes ``read_records`` gives them."""
    dtypes = {c: d for c, d in canonical_dtypes(table).items() if c in frame.columns}
    return frame.astype(dtypes)


def _rejections(table: str, source: str, mask: pd.Series, column: str, reason: str) -> pd.DataFrame:
    rows = np.flatnonzero(mask.to_numpy(dtype=bool)) + 1  # 1-based data row of the source
    return pd.DataFrame(
        {
            "table": table,
            "source": source,
            "row": rows.astype(np.int64),
            "column": column,
            "reason": reason,
            "message": REJECTION_REASONS[reason],
        },
        columns=list(REJECTED_COLUMNS),
    )


def _randomisation(
    rand: pd.DataFrame,
    people: pd.DataFrame,
    people_index: pd.Index,
    quirks: list[tuple[str, str, int]],
) -> pd.DataFrame:
    """Per person: rand1 day/arm and (CTN-0030 only) rand2 day/arm; quirks counted."""
    n = len(people)
    row = people_index.get_indexer(pd.Index(rand["who"].fillna(-1)))
    known = row >= 0
    quirks.append(("randomization", "rows_for_unknown_participant", int((~known).sum())))
    no_day = known & (rand["when"].isna() | rand["treatment"].isna()).to_numpy()
    quirks.append(("randomization", "rows_without_day_or_arm", int(no_day.sum())))
    bad_arm = known & ~no_day & ~rand["treatment"].isin(ARMS).to_numpy()
    if bad_arm.any():
        raise SchemaError(
            f"randomization: column 'treatment' holds {int(bad_arm.sum())} values outside the "
            f"CTN-0094 arms {list(ARMS)}."
        )
    ok = known & ~no_day
    which = rand["which"].to_numpy(dtype="float64", na_value=np.nan)
    project = people["project"].to_numpy(dtype=object)
    r1 = ok & (which == 1)
    first = pd.DataFrame(
        {
            "row": row[r1],
            "day": rand["when"].to_numpy()[r1],
            "arm": rand["treatment"].to_numpy()[r1],
        }
    )
    quirks.append(
        ("randomization", "extra_first_randomisation_rows", int(first["row"].duplicated().sum()))
    )
    first = first.drop_duplicates("row", keep="first")
    out = pd.DataFrame(
        {
            "rand1_day": pd.array([pd.NA] * n, dtype="Int64"),
            "arm1": pd.Series([NOT_RANDOMISED] * n, dtype="str"),
            "rand2_day": pd.array([pd.NA] * n, dtype="Int64"),
            "rand2_arm": pd.Series([None] * n, dtype="str"),
        }
    )
    out.loc[first["row"].to_numpy(), "rand1_day"] = first["day"].to_numpy()
    out.loc[first["row"].to_numpy(), "arm1"] = first["arm"].to_numpy()
    quirks.append(("randomization", "never_randomised", int((out["arm1"] == NOT_RANDOMISED).sum())))

    r2 = ok & (which == 2)
    second = pd.DataFrame(
        {
            "row": row[r2],
            "day": rand["when"].to_numpy()[r2],
            "arm": rand["treatment"].to_numpy()[r2],
        }
    )
    has_first = out["rand1_day"].notna().to_numpy()[second["row"].to_numpy()]
    quirks.append(("randomization", "second_without_first_randomisation", int((~has_first).sum())))
    second = second[has_first]
    in_30 = project[second["row"].to_numpy()] == "30"
    same = (second["day"].to_numpy() == out["rand1_day"].to_numpy()[second["row"].to_numpy()]) & (
        second["arm"].to_numpy() == out["arm1"].to_numpy()[second["row"].to_numpy()]
    )
    quirks.append(
        ("randomization", "duplicate_which2_rows_ctn0027_0051", int((~in_30 & same).sum()))
    )
    quirks.append(
        ("randomization", "differing_which2_rows_ctn0027_0051_ignored", int((~in_30 & ~same).sum()))
    )
    real = second[in_30].drop_duplicates("row", keep="first")
    later = real["day"].to_numpy() > out["rand1_day"].to_numpy()[real["row"].to_numpy()]
    quirks.append(
        (
            "randomization",
            "ctn0030_second_randomisation_not_after_first_ignored",
            int((~later).sum()),
        )
    )
    real = real[later]
    out.loc[real["row"].to_numpy(), "rand2_day"] = real["day"].to_numpy()
    out.loc[real["row"].to_numpy(), "rand2_arm"] = real["arm"].to_numpy()
    quirks.append(("randomization", "ctn0030_second_randomisation", len(real)))
    changed = real["arm"].to_numpy() != out["arm1"].to_numpy()[real["row"].to_numpy()]
    quirks.append(
        ("randomization", "ctn0030_arm_changed_at_second_randomisation", int(changed.sum()))
    )
    return out


def _episodes(
    people: pd.DataFrame,
    rand: pd.DataFrame,
    demographics: pd.DataFrame,
    site: pd.DataFrame,
    meta: pd.DataFrame,
    quirks: list[tuple[str, str, int]],
) -> pd.DataFrame:
    n = len(people)
    ids = people["who"].astype("str")
    demo = demographics.dropna(subset=["who"])
    quirks.append(
        ("demographics", "duplicate_participant_rows", int(demo["who"].duplicated().sum()))
    )
    demo = demo.drop_duplicates("who").set_index("who")
    site_t = site.dropna(subset=["who"])
    quirks.append(
        ("site_masked", "duplicate_participant_rows", int(site_t["who"].duplicated().sum()))
    )
    site_t = site_t.drop_duplicates("who").set_index("who")
    who = people["who"]
    demo_rows = demo.reindex(who.to_numpy())
    quirks.append(("demographics", "participants_without_row", int((~who.isin(demo.index)).sum())))
    for col in _DEMOGRAPHICS:
        quirks.append(("demographics", f"missing_{col}", int(demo_rows[col].isna().sum())))

    # scheduled protocol length (days) per (project, arm, phase) from meta_study_length
    m = meta.dropna(subset=["project", "treatment", "phase", "weeks"])
    length = m.groupby(["project", "treatment", "phase"])["weeks"].sum() * 7
    lookup = {
        (str(p), str(t), int(ph)): int(v)
        for (p, t, ph), v in zip(length.index.tolist(), length.tolist(), strict=True)
    }
    project = people["project"].astype("str")
    key1 = pd.MultiIndex.from_arrays([project, rand["arm1"], np.ones(n, dtype=np.int64)])
    key2 = pd.MultiIndex.from_arrays(
        [project, rand["rand2_arm"].fillna(""), np.full(n, 2, dtype=np.int64)]
    )
    length_series = pd.Series(lookup, dtype="float64")
    if len(length_series):
        length_series.index = pd.MultiIndex.from_tuples(list(lookup))
        len1 = length_series.reindex(key1).to_numpy()
        len2 = length_series.reindex(key2).to_numpy()
    else:
        len1 = len2 = np.full(n, np.nan)
    rand1 = rand["rand1_day"].to_numpy(dtype="float64", na_value=np.nan)
    rand2 = rand["rand2_day"].to_numpy(dtype="float64", na_value=np.nan)
    end = np.where(np.isnan(rand2), rand1 + len1, rand2 + len2)
    quirks.append(
        (
            "meta_study_length",
            "randomised_without_protocol_length",
            int((~np.isnan(rand1) & np.isnan(end)).sum()),
        )
    )
    discharge_day = pd.array(np.where(np.isnan(end), 0, end).astype(np.int64), dtype="Int64")
    discharge_day[np.isnan(end)] = pd.NA

    nat = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    na_text = pd.Series([None] * n, dtype="str")
    out = pd.DataFrame(
        {
            "patient_id": ids,
            "episode_id": ids,
            "cohort": rand["arm1"].astype("str"),
            "admission_date": nat,
            "level_of_care": na_text,
            "asam_code": na_text,
            "asam_edition": na_text,
            "site": _as_text(site_t["site_masked"].reindex(who.to_numpy())).to_numpy(),
            "discharge_date": nat,
            "discharge_reason": na_text,
            "death_date": nat,  # not in the harmonised tables: unknown, not "alive"
            "discharge_day": discharge_day,
            "trial": project.map(TRIALS).astype("str"),
            "randomised": (rand["arm1"] != NOT_RANDOMISED).to_numpy(),
            "rand1_day": rand["rand1_day"],
            "rand2_day": rand["rand2_day"],
            "rand2_arm": rand["rand2_arm"],
        }
    )
    for col in _DEMOGRAPHICS:
        out[col] = demo_rows[col].to_numpy()
    out["age"] = out["age"].astype("Int64")
    for col in ("trial", "rand2_arm", *_DEMOGRAPHICS[1:]):
        out[col] = out[col].astype(pd.StringDtype())
    assert tuple(out.columns[: len(EPISODES.names)]) == EPISODES.names
    return out


def _count_quirks(
    tables: dict[str, pd.DataFrame], people: pd.DataFrame, quirks: list[tuple[str, str, int]]
) -> None:
    uds, tlfb, visit = tables["uds"], tables["tlfb"], tables["visit"]
    quirks.append(("uds", "positive_rows_only_no_negative_rows", len(uds)))
    quirks.append(
        (
            "uds",
            "extra_substance_rows_same_person_day",
            int(uds.dropna(subset=["who", "when"]).duplicated(["who", "when"]).sum()),
        )
    )
    quirks.append(("uds", "exact_duplicate_rows", int(uds.duplicated().sum())))
    for name, frame in (("uds", uds), ("tlfb", tlfb), ("visit", visit)):
        quirks.append((name, "negative_day_rows", int((frame["when"] < 0).sum())))
        quirks.append((name, "rows_without_day", int(frame["when"].isna().sum())))
    quirks.append(("tlfb", "rows_before_day_minus_30", int((tlfb["when"] < BACKBONE_START).sum())))
    dated = visit.dropna(subset=["who", "when"])
    quirks.append(("visit", "exact_duplicate_rows", int(visit.duplicated().sum())))
    quirks.append(
        ("visit", "extra_rows_same_person_day", int(dated.duplicated(["who", "when"]).sum()))
    )
    quirks.append(("visit", "empty_disposition_rows", int((visit["what"] == "").sum())))
    quirks.append(("visit", "rows_after_day_168", int((visit["when"] > 168).sum())))
    treatment = tables.get("treatment")
    if treatment is not None:
        never = set(people.loc[:, "who"].tolist()) - set(
            tables["randomization"]["who"].dropna().tolist()
        )
        quirks.append(
            (
                "treatment",
                "rows_for_never_randomised",
                int(treatment["who"].isin(list(never)).sum()),
            )
        )
        quirks.append(
            (
                "treatment",
                "extra_dose_rows_same_person_day",
                int(treatment.dropna(subset=["who", "when"]).duplicated(["who", "when"]).sum()),
            )
        )
        rand = tables["randomization"]
        first = rand[rand["which"] == 1].drop_duplicates("who").set_index("who")["when"]
        rand_day = first.reindex(treatment["who"].to_numpy()).to_numpy(
            dtype="float64", na_value=np.nan
        )
        dose_day = treatment["when"].to_numpy(dtype="float64", na_value=np.nan)
        quirks.append(
            ("treatment", "doses_before_randomisation_day", int((dose_day < rand_day).sum()))
        )


def _remarks(quirks: pd.DataFrame, n_rejected: int) -> tuple[str, ...]:
    q = {(t, k): c for t, k, c in quirks.itertuples(index=False, name=None)}

    def get(table: str, quirk: str) -> int:
        return int(q.get((table, quirk), 0))

    remarks = [
        "Study days are relative to consent (day 0); no calendar dates exist "
        "(time_basis='study_day', admission_date empty).",
        f"uds holds positive findings only ({get('uds', 'positive_rows_only_no_negative_rows')} "
        "rows): use_days is a positives-only calendar; negatives are inferred from visits by "
        "weekly_patterns only.",
        f"{get('randomization', 'never_randomised')} participants were never randomised "
        "(cohort 'not randomised').",
        f"{get('randomization', 'duplicate_which2_rows_ctn0027_0051')} duplicate second-"
        "randomisation rows (CTN-0027/0051, same day and arm) ignored; "
        f"{get('randomization', 'ctn0030_second_randomisation')} real CTN-0030 second "
        f"randomisations kept ({get('randomization', 'ctn0030_arm_changed_at_second_randomisation')}"
        " changed arm).",
        f"visit: {get('visit', 'rows_without_day')} rows without a day and "
        f"{get('visit', 'exact_duplicate_rows')} exact duplicate rows ignored by the weekly "
        f"rules; {get('visit', 'extra_rows_same_person_day')} extra rows share a person-day "
        f"(collapsed); {get('visit', 'empty_disposition_rows')} empty dispositions (not a visit).",
        "Negative study days kept (before consent): "
        f"tlfb {get('tlfb', 'negative_day_rows')}, visit {get('visit', 'negative_day_rows')}, "
        f"uds {get('uds', 'negative_day_rows')} rows.",
        "discharge_day is the scheduled end of protocol (meta_study_length), not an observed "
        "discharge.",
    ]
    if ("treatment", "rows_for_never_randomised") in q:
        remarks.append(
            f"treatment (read for counts only): {get('treatment', 'extra_dose_rows_same_person_day')}"
            f" extra dose rows on a person-day, {get('treatment', 'doses_before_randomisation_day')}"
            f" doses before randomisation, {get('treatment', 'rows_for_never_randomised')} rows "
            "for never-randomised participants."
        )
    if n_rejected:
        remarks.append(f"{n_rejected} rows rejected (see Records.rejected for reasons).")
    return tuple(remarks)


# --- weekly words (harmonised rules) -------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _DayArrays:
    """Person x backbone-day arrays of the harmonised rules (column c = day c + START)."""

    episode_ids: pd.Series
    randomised: np.ndarray
    anchor: np.ndarray  # missing-visit grid anchor: rand1, or 0 when never randomised
    end: np.ndarray  # last backbone day
    present: np.ndarray
    missing: np.ndarray
    positive: np.ndarray


def _day_arrays(records: Records, substances: Sequence[str] | None) -> _DayArrays:
    extras = records.extras
    needed = ("everybody", "randomization", "visit", "uds")
    absent = [k for k in needed if k not in extras]
    if absent:
        raise SchemaError(
            f"records.extras lacks {absent}: build CTN-0094 records with read_ctn0094()."
        )
    episode_ids = records.episodes["episode_id"].astype("str")
    who = pd.to_numeric(episode_ids, errors="coerce").to_numpy(dtype="float64")
    if np.isnan(who).any():
        raise SchemaError(
            "CTN-0094 episode ids must be the participant ids as text; "
            f"{int(np.isnan(who).sum())} are not whole numbers."
        )
    index = pd.Index(who.astype(np.int64))
    n = len(index)
    everybody = extras["everybody"]
    proj = pd.Series(everybody["project"].to_numpy(), index=everybody["who"].to_numpy(np.int64))
    project = proj.reindex(index).to_numpy(dtype=object)

    people = pd.DataFrame({"who": index, "project": project})
    rand = _randomisation(extras["randomization"], people, index, [])
    rand1 = rand["rand1_day"].to_numpy(dtype="float64", na_value=np.nan)
    rand2 = rand["rand2_day"].to_numpy(dtype="float64", na_value=np.nan)
    randomised = ~np.isnan(rand1)
    anchor = np.where(randomised, rand1, 0).astype(np.int64)
    # rule 1: the day backbone (contiguous: BACKBONE_START .. end)
    in_30 = project == "30"
    end = np.where(
        in_30,
        np.where(np.isnan(rand2), anchor + 98, np.nan_to_num(rand2) + 168),
        168,
    ).astype(np.int64)
    start = BACKBONE_START
    width = int(end.max()) - start + 1 if n else 1
    col_end = end - start  # last backbone column per person

    def person_day(table: pd.DataFrame, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        row = index.get_indexer(pd.Index(table["who"].fillna(-1).to_numpy(np.int64)))
        day = table["when"].to_numpy(dtype="float64", na_value=np.nan)
        ok = mask & (row >= 0) & ~np.isnan(day)
        row, col = row[ok], day[ok].astype(np.int64) - start
        on_backbone = (col >= 0) & (col <= col_end[row])
        return row[on_backbone], col[on_backbone]

    # rule 2: present visit days (rows without a day dropped, duplicates collapse)
    visit = extras["visit"]
    is_visit = visit["what"].isin(["visit", "final"]).to_numpy(dtype=bool)
    present = np.zeros((n, width), dtype=bool)
    present[person_day(visit, is_visit)] = True

    # rule 3: opioid-positive days; substances by first-randomisation arm
    uds = extras["uds"]
    if substances is None:
        group_of_arm = {arm: i for i, arm in enumerate(OPIOIDS_BY_ARM)}
        group = rand["arm1"].map(group_of_arm).to_numpy(dtype=np.int64)
        row = index.get_indexer(pd.Index(uds["who"].fillna(-1).to_numpy(np.int64)))
        pairs = pd.DataFrame(
            [(g, s) for arm, g in group_of_arm.items() for s in OPIOIDS_BY_ARM[arm]],
            columns=["group", "what"],
        )
        key = pd.MultiIndex.from_arrays(
            [np.where(row >= 0, group[row.clip(min=0)], -1), uds["what"].fillna("")]
        )
        is_opioid = np.asarray(key.isin(pd.MultiIndex.from_frame(pairs)), dtype=bool)
    else:
        is_opioid = uds["what"].isin(list(substances)).to_numpy(dtype=bool)
    positive = np.zeros((n, width), dtype=bool)
    positive[person_day(uds, is_opioid)] = True

    # rule 2: grid d = anchor, anchor + 7, ...; no present visit in (d, d + 7] -> d + 7 missing
    cum = np.zeros((n, width + 1), dtype=np.int32)
    np.cumsum(present, axis=1, out=cum[:, 1:])
    k_max = int(((end - anchor) // 7).max()) + 1 if n else 0
    grid = (anchor - start)[:, None] + 7 * np.arange(k_max)[None, :]  # column of grid day d
    marks = grid + 7 <= col_end[:, None]
    g = np.clip(grid, 0, width - 1)
    in_window = np.take_along_axis(cum, np.clip(g + 8, 0, width), 1) - np.take_along_axis(
        cum, g + 1, 1
    )
    missing = np.zeros((n, width), dtype=bool)
    rows_hit, k_hit = np.nonzero(marks & (in_window == 0))
    missing[rows_hit, grid[rows_hit, k_hit] + 7] = True
    # never randomised: day 0 is also missing when there was no visit that day
    missing[~randomised & ~present[:, -start], -start] = True
    return _DayArrays(episode_ids, randomised, anchor, end, present, missing, positive)


def ctn0094_study_weeks(records: Records, substances: Sequence[str] | None = None) -> WeekCounts:
    """Positive and present-negative days per analysis week by the CTN-0094 harmonised rules.

    The study-week backbone that :func:`read_ctn0094` declares in
    ``records.options["weekly_backbone"]``; :func:`iopoutcomes.patterns.weekly_patterns` turns
    the counts into words.

    Parameters
    ----------
    records : Records
        From :func:`read_ctn0094` (reads ``extras`` ``everybody``, ``randomization``, ``visit``,
        ``uds``).
    substances : sequence of str, optional
        ``uds.what`` groups that make an opioid-positive day for everyone; default: the
        harmonised per-arm non-study opioids (:data:`OPIOIDS_BY_ARM`).

    Returns
    -------
    iopoutcomes.patterns.WeekCounts
        Counts for weeks >= 1 (the analysis part), one row per episode.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_example_folder(folder)
    >>> counts = ctn0094_study_weeks(read_ctn0094(folder))
    >>> counts.positive.shape[0] == len(counts.episode_ids) == len(counts.lengths)
    True
    """
    days = _day_arrays(records, substances)
    n = len(days.episode_ids)
    start = BACKBONE_START
    width = days.present.shape[1]
    col_end = days.end - start
    # rules 4-5: week 1 starts the day after randomisation (the consent day if never randomised)
    first_day = np.where(days.randomised, days.anchor + 1, 0)
    lengths = ((days.end - first_day) // 7 + 1).astype(np.int64)
    w_max = int(lengths.max()) if n else 0
    offsets = (first_day - start)[:, None] + np.arange(7 * w_max)[None, :]
    inside = offsets <= col_end[:, None]
    cols = np.clip(offsets, 0, width - 1)
    pos_day = np.take_along_axis(days.positive, cols, 1) & inside
    neg_day = np.take_along_axis(days.present & ~days.positive, cols, 1) & inside
    neg_day[~days.randomised] = False  # rule 5: never-randomised weeks are '+' or 'o'
    return WeekCounts(
        episode_ids=pd.Index(days.episode_ids.to_numpy()),
        positive=pos_day.reshape(n, w_max, 7).sum(axis=2),
        negative=neg_day.reshape(n, w_max, 7).sum(axis=2),
        lengths=lengths,
    )


def ctn0094_weekly_patterns(
    records: Records, *, substances: Sequence[str] | None = None
) -> pd.Series:
    """Weekly opioid-use words by the CTN-0094 harmonised rules (one per episode).

    Parameters
    ----------
    records, substances
        As :func:`ctn0094_study_weeks`.

    Returns
    -------
    pandas.Series
        Words (text, analysis part: weeks >= 1) named ``"pattern"``, indexed by
        ``episode_id`` in the order of ``records.episodes``.

    Notes
    -----
    ``weekly_patterns(records, backbone=ctn0094_study_weeks)``; see
    :func:`iopoutcomes.patterns.weekly_patterns` for the rules. Interpretation choices:

    * never-randomised people keep their trial's backbone (-30..168 in CTN-0027/0051, -30..98 in
      CTN-0030), as the CTN-0094 team's scripts build it (``CreateProtocolHistory`` for
      CTN-0027/0051; ``CreateCTN30ProtocolHistory`` with day 0 as first randomisation);
    * visit and urine-screen rows off the backbone are ignored;
    * the missing-visit grid (:func:`ctn0094_visit_imputed`) cannot change an analysis word: its
      marks fall on days rand1 + 7k (k >= 1), in weeks >= 1, where a week with neither a positive
      nor a present visit is ``o`` anyway.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_example_folder(folder)
    >>> ctn0094_weekly_patterns(read_ctn0094(folder)).tolist()[0][:4]
    '-+oo'
    """
    return weekly_patterns(records, substances=substances, backbone=ctn0094_study_weeks)


def ctn0094_visit_imputed(records: Records) -> pd.DataFrame:
    """Day-level visit status by the harmonised rules (``derived_visitImputed`` equivalent).

    Parameters
    ----------
    records : Records
        From :func:`read_ctn0094`.

    Returns
    -------
    pandas.DataFrame
        Columns ``episode_id``, ``day`` (study day), ``status`` (``"present"``: a ``visit`` or
        ``final`` visit that day; ``"missing"``: a day ``rand1 + 7k`` (k >= 1; ``7k`` from day 0
        when never randomised, plus day 0 itself without a visit) with no present visit in the 7
        days before it, up to and including it). Backbone days only, sorted by episode and day.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_example_folder(folder)
    >>> v = ctn0094_visit_imputed(read_ctn0094(folder))
    >>> print(v[v["episode_id"] == "1"].head(4).to_string(index=False))
    episode_id  day  status
             1    0 present
             1    9 present
             1   12 present
             1   24 missing
    """
    days = _day_arrays(records, None)
    status = np.where(days.present, 1, np.where(days.missing, 2, 0))
    rows, cols = np.nonzero(status)
    return pd.DataFrame(
        {
            "episode_id": pd.Series(days.episode_ids.to_numpy()[rows], dtype="str"),
            "day": (cols + BACKBONE_START).astype(np.int64),
            "status": pd.Series(
                np.where(status[rows, cols] == 1, "present", "missing"), dtype="str"
            ),
        }
    )


# --- a tiny example folder (docs and doctests; synthetic, not real data) --------------------------


def write_example_folder(folder: str | Path) -> Path:
    """Write a two-person synthetic CTN-0094-format folder (CSV) for examples.

    Person 1 is randomised to Inpatient BUP in CTN-0051 on day 3; person 2 consented to
    CTN-0027 and was never randomised.

    Returns
    -------
    pathlib.Path
        The folder.

    Examples
    --------
    >>> import tempfile
    >>> sorted(p.name for p in write_example_folder(tempfile.mkdtemp()).iterdir())[:3]
    ['demographics.csv', 'everybody.csv', 'meta_study_length.csv']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frames = {
        "everybody": pd.DataFrame({"who": [1, 2], "project": ["51", "27"]}),
        "randomization": pd.DataFrame(
            {"who": [1, 1], "treatment": ["Inpatient BUP"] * 2, "which": [1, 2], "when": [3, 3]}
        ),
        "uds": pd.DataFrame(
            {"who": [1, 1, 2], "what": ["Opioid", "Thc", "Opioid"], "when": [12, 12, 20]}
        ),
        "tlfb": pd.DataFrame({"who": [1, 2], "what": ["Heroin", "Heroin"], "when": [-2, -5]}),
        "visit": pd.DataFrame(
            {
                "who": [1, 1, 1, 2],
                "visit": ["BASELINE", "WK1", "WK2", "BASELINE"],
                "what": ["visit", "visit", "visit", "visit"],
                "when": [0, 9, 12, 0],
            }
        ),
        "demographics": pd.DataFrame(
            {
                "who": [1, 2],
                "age": [30, 41],
                "is_hispanic": ["No", "Yes"],
                "race": ["White", "Black"],
                "job": ["Full Time", None],
                "is_living_stable": ["Yes", "No"],
                "education": ["HS/GED", None],
                "marital": ["Never married", None],
                "is_male": ["Yes", "No"],
            }
        ),
        "site_masked": pd.DataFrame({"who": [1, 2], "site_masked": ["7", "12"]}),
        "meta_study_length": pd.DataFrame(
            {
                "project": ["27", "27", "51", "51"],
                "treatment": ["Methadone", "Outpatient BUP", "Inpatient BUP", "Inpatient NR-NTX"],
                "phase": [1, 1, 1, 1],
                "stage": [1, 1, 1, 1],
                "weeks": [24, 24, 24, 24],
            }
        ),
    }
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder
