"""Messy agency exports made from canonical records (for the walkthrough and the tests).

:func:`write_example_exports` writes what a program's EHR and GPRA tool export, from records
whose truth is known (``load_sample()``): an Excel admissions list with title rows, a blank line
and a footer, US dates, EHR wordings and episodes numbered 1, 2, ... within each client; a GPRA
interview CSV with -7/-8/-9 codes; and a lab file of urine screens. A few rows with known
problems are planted, and their file, spreadsheet row number and expected reason returned, so a
reader can be checked against them.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PROGRAM_WORDING = {
    "IOP": "Intensive Outpatient",
    "residential": "Residential 3.5",
    "inpatient": "ASAM 3.7 Inpatient",
}
REASON_WORDING = {
    "completed": "Completed Treatment",
    "dropped_out": "Left AMA",
    "terminated": "Administrative Discharge",
    "transferred": "Transferred to Another Provider",
    "incarcerated": "Incarcerated",
    "died": "Deceased",
    "other": "Other",
}
INTERVIEW_WORDING = {"intake": "Intake", "discharge": "Discharge", "6mo": "6 Month Follow-up"}
STATUS_WORDING = {
    "completed": "Conducted",
    "not_located": "Not Located",
    "refused": "Refused",
    "incarcerated": "Incarcerated",
    "died": "Deceased",
    "withdrawn": "Withdrawn",
}
GPRA_TIMEPOINTS = ("intake", "discharge", "6mo")
TITLE_ROWS = 3  # title, run date, blank: the header is on row 4


def _us(dates: pd.Series) -> pd.Series:
    d = pd.to_datetime(dates)
    return d.dt.strftime("%m/%d/%Y").astype(object).where(d.notna(), None)


def _episode_numbers(episodes: pd.DataFrame) -> pd.Series:
    order = episodes.sort_values(["patient_id", "admission_date", "episode_id"])
    rank = order.groupby("patient_id", sort=False).cumcount() + 1
    return rank.reindex(episodes.index)


def write_example_exports(records: Any, folder: str | Path) -> dict[str, Any]:
    """Write ``admissions.xlsx``, ``gpra_interviews.csv`` and ``lab_screens.csv`` to ``folder``.

    Returns
    -------
    dict
        ``files`` (table -> path), ``planted`` (DataFrame ``table, source, row, reason``),
        ``episode_key`` (canonical episode_id -> ``"client|episode #"``).
    """
    import openpyxl

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    eps = records.episodes.reset_index(drop=True)
    number = _episode_numbers(eps)
    client = eps["patient_id"].astype(str)
    key = pd.Series(client + "|" + number.astype(str), index=eps.index)
    planted: list[dict[str, Any]] = []

    # -- admissions.xlsx ------------------------------------------------------------------
    header = [
        "Client ID",
        "Episode #",
        "Program",
        "ASAM Level",
        "Site",
        "Admit Date",
        "Discharge Date",
        "Discharge Reason",
        "Age",
        "Sex",
        "Primary Substance",
        "Severity",
    ]
    body = pd.DataFrame(
        {
            "Client ID": client,
            "Episode #": number.astype(int),
            "Program": eps["level_of_care"].astype(str).map(PROGRAM_WORDING),
            "ASAM Level": eps["asam_code"].astype(str),
            "Site": eps["site"].astype(str),
            "Admit Date": _us(eps["admission_date"]),
            # discharge dates as real Excel date cells (as many EHR exports have them)
            "Discharge Date": pd.to_datetime(eps["discharge_date"]).astype(object),
            "Discharge Reason": eps["discharge_reason"].astype(object).map(REASON_WORDING),
            "Age": eps["age"].astype(int),
            "Sex": eps["sex"].astype(str),
            "Primary Substance": eps["primary_substance"].astype(str),
            "Severity": eps["severity"].astype(float),
        }
    )
    body = body.astype(object).where(body.notna(), None)
    rows = body.to_numpy(object).tolist()
    bad_rows: list[tuple[list[Any], str]] = [
        (
            [
                "X901",
                1,
                "Intensive Outpatient",
                "2.1",
                "Site A",
                "02/30/2025",
                None,
                None,
                40,
                "male",
                "alcohol",
                4.0,
            ],
            "unparseable_date",
        ),
        (
            [
                "X902",
                1,
                "Intensive Outpatient",
                "9.9",
                "Site A",
                "03/02/2025",
                None,
                None,
                41,
                "female",
                "opioids",
                5.0,
            ],
            "unknown_level_of_care",
        ),
        (
            [
                "X903",
                1,
                "Residential 3.5",
                "3.5",
                "Site B",
                "03/10/2025",
                pd.Timestamp("2025-03-01"),
                "Completed Treatment",
                35,
                "male",
                "stimulants",
                6.0,
            ],
            "discharge_before_admission",
        ),
        (
            [
                None,
                1,
                "Intensive Outpatient",
                "2.1",
                "Site C",
                "04/01/2025",
                None,
                None,
                29,
                "female",
                "alcohol",
                3.0,
            ],
            "missing_required_value",
        ),
    ]
    # planted rows go after data rows 100, 200, 300 and 400; a blank line after data row 250
    layout: list[tuple[list[Any] | None, str | None]] = []
    inserts = {100: 0, 200: 1, 300: 2, 400: 3}
    for i, row in enumerate(rows, start=1):
        layout.append((row, None))
        if i in inserts:
            bad, reason = bad_rows[inserts[i]]
            layout.append((bad, reason))
        if i == 250:
            layout.append((None, None))
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Admissions"
    ws.append(["Acme Recovery Services - Admissions and Discharges"])
    ws.append(["Report run 07/02/2026 by EHR reporting module"])
    ws.append([])
    ws.append(header)
    for k, (cells, why) in enumerate(layout):
        ws.append([] if cells is None else list(cells))
        if why is not None:
            planted.append(
                {
                    "table": "episodes",
                    "source": "admissions.xlsx",
                    "row": TITLE_ROWS + 2 + k,
                    "reason": why,
                }
            )
    ws.append([])
    ws.append([f"Total records: {len(rows)}"])
    for cell in ws["G"][TITLE_ROWS + 1 :]:
        if cell.value is not None and not isinstance(cell.value, str):
            cell.number_format = "mm/dd/yyyy"
    book.save(out / "admissions.xlsx")

    # -- gpra_interviews.csv ------------------------------------------------------------------
    fu = records.followups
    fu = fu.loc[fu["timepoint"].isin(GPRA_TIMEPOINTS)].reset_index(drop=True)
    pos = pd.Index(eps["episode_id"]).get_indexer(fu["episode_id"])
    days = fu["days_used_past30"].astype("Float64")
    completed = (fu["status"] == "completed").to_numpy(bool)
    rng = np.random.default_rng(14)
    gpra_code = rng.choice(["-7", "-8", "-9"], size=len(fu))

    def item(values: pd.Series, fmt: str = "{:g}") -> list[Any]:
        """A GPRA item: the value; a -7/-8/-9 code when a conducted interview lacks it."""
        v = values.astype("Float64")
        text = [None if pd.isna(x) else fmt.format(float(x)) for x in v]
        return [
            (gpra_code[i] if c else "") if t is None else t
            for i, (t, c) in enumerate(zip(text, completed, strict=True))
        ]

    def flag(values: pd.Series) -> list[Any]:
        v = values.astype("Float64")
        words = [None if pd.isna(x) else ("Yes" if x else "No") for x in v]
        return [
            (gpra_code[i] if c else "") if w is None else w
            for i, (w, c) in enumerate(zip(words, completed, strict=True))
        ]

    gpra = pd.DataFrame(
        {
            "Client ID": client.to_numpy()[pos],
            "Episode #": number.to_numpy()[pos],
            "Interview Type": fu["timepoint"].astype(str).map(INTERVIEW_WORDING),
            "Interview Status": fu["status"].astype(str).map(STATUS_WORDING),
            "Interview Date": _us(fu["assessment_date"]).fillna(""),
            "Days Used Past 30": item(days),
            "UDS Result": fu["uds_result"]
            .astype(object)
            .map({"negative": "Negative", "positive": "Positive", "missing": "Missing"})
            .fillna(""),
            "Wellbeing": item(fu["wellbeing"]),
            "Relationships": item(fu["relationships"]),
            "Coping": item(fu["coping"]),
            "Stable Housing": flag(fu["housing_stable"]),
            "Employed": flag(fu["employed"]),
            "Attended Aftercare": flag(fu["aftercare_attended"]),
        }
    )
    lines = gpra.astype(object).to_numpy().tolist()
    fu_bad = [
        (
            [
                "X999",
                1,
                "6 Month Follow-up",
                "Conducted",
                "09/01/2025",
                "3",
                "",
                "20",
                "20",
                "20",
                "Yes",
                "No",
                "No",
            ],
            "unknown_episode",
        ),
        (
            [
                client.iloc[0],
                1,
                "3 Month Follow-up",
                "Conducted",
                "04/01/2024",
                "2",
                "",
                "20",
                "20",
                "20",
                "Yes",
                "No",
                "No",
            ],
            "unknown_timepoint",
        ),
        (
            [
                "X998",
                1,
                "Intake",
                "Conducted",
                "01/05/2025",
                "45",
                "",
                "20",
                "20",
                "20",
                "Yes",
                "No",
                "No",
            ],
            "days_used_out_of_range",
        ),
    ]
    with open(out / "gpra_interviews.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(list(gpra.columns))
        line = 1
        for i, row in enumerate(lines, start=1):
            writer.writerow(row)
            line += 1
            if i in (500, 1000, 1500):
                bad, reason = fu_bad[(500, 1000, 1500).index(i)]
                writer.writerow(bad)
                line += 1
                planted.append(
                    {
                        "table": "followups",
                        "source": "gpra_interviews.csv",
                        "row": line,
                        "reason": reason,
                    }
                )

    # -- lab_screens.csv ------------------------------------------------------------------
    ud = records.use_days
    ud = ud.loc[ud["source"].astype(str) == "uds"].reset_index(drop=True)
    lab = pd.DataFrame(
        {
            "Client ID": ud["patient_id"].astype(str),
            "Collected": _us(ud["date"]),
            "Panel": "12-panel",
            "Result": np.where(ud["used"].astype(bool), "Positive", "Negative"),
        }
    )
    lab_bad = [
        (["X997", "05/05/2025", "12-panel", "Negative"], "unknown_patient"),
        ([client.iloc[1], "05/06/2024", "12-panel", "Dilute"], "used_not_binary"),
    ]
    with open(out / "lab_screens.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["Lab results export"])
        writer.writerow(list(lab.columns))
        line = 2
        for i, row in enumerate(lab.to_numpy(object).tolist(), start=1):
            writer.writerow(row)
            line += 1
            if i in (1000, 2000):
                bad, reason = lab_bad[(1000, 2000).index(i)]
                writer.writerow(bad)
                line += 1
                planted.append(
                    {
                        "table": "use_days",
                        "source": "lab_screens.csv",
                        "row": line,
                        "reason": reason,
                    }
                )
        writer.writerow([])
        writer.writerow(["End of report"])
    return {
        "files": {
            "episodes": out / "admissions.xlsx",
            "followups": out / "gpra_interviews.csv",
            "use_days": out / "lab_screens.csv",
        },
        "planted": pd.DataFrame(planted, columns=["table", "source", "row", "reason"]),
        "episode_key": dict(zip(eps["episode_id"].astype(str), key, strict=True)),
    }


EXAMPLE_CONFIG = """\
# Written by hand for the walkthrough (`iopoutcomes init` proposes most of it).
[report]
title = "Acme Recovery Services: quarterly outcomes"

[input]
missing_codes = "gpra"
data_as_of = "2026-07-01"
date_format = "%m/%d/%Y"

[input.timepoints]
intake = {anchor = "admission", start_day = -30, end_day = 7}
discharge = {anchor = "discharge", start_day = -7, end_day = 14}
6mo = {anchor = "admission", start_day = 152, end_day = 243}

[input.episodes]
files = "admissions.xlsx"
sheet = "Admissions"
header_row = 4
skip_footer = 1
episode_key = ["Client ID", "Episode #"]

[input.episodes.columns]
"Client ID" = "patient_id"
"Program" = "cohort"
"ASAM Level" = "level_of_care"
"Site" = "site"
"Admit Date" = "admission_date"
"Discharge Date" = "discharge_date"
"Discharge Reason" = "discharge_reason"
"Age" = "age"
"Sex" = "sex"
"Primary Substance" = "primary_substance"
"Severity" = "severity"

[input.episodes.codes.cohort]
"Intensive Outpatient" = "IOP"
"Residential 3.5" = "inpatient"
"ASAM 3.7 Inpatient" = "inpatient"

[input.episodes.codes.discharge_reason]
"Completed Treatment" = "completed"
"Left AMA" = "dropped_out"
"Administrative Discharge" = "terminated"
"Transferred to Another Provider" = "transferred"
"Incarcerated" = "incarcerated"
"Deceased" = "died"
"Other" = "other"

[input.followups]
files = "gpra_interviews.csv"
episode_key = ["Client ID", "Episode #"]

[input.followups.columns]
"Interview Type" = "timepoint"
"Interview Status" = "status"
"Interview Date" = "assessment_date"
"Days Used Past 30" = "days_used_past30"
"UDS Result" = "uds_result"
"Wellbeing" = "wellbeing"
"Relationships" = "relationships"
"Coping" = "coping"
"Stable Housing" = "housing_stable"
"Employed" = "employed"
"Attended Aftercare" = "aftercare_attended"

[input.followups.codes.timepoint]
"Intake" = "intake"
"Discharge" = "discharge"
"6 Month Follow-up" = "6mo"

[input.followups.codes.status]
"Conducted" = "completed"
"Not Located" = "not_located"
"Refused" = "refused"
"Incarcerated" = "incarcerated"
"Deceased" = "died"
"Withdrawn" = "withdrawn"

[input.use_days]
files = "lab_screens.csv"
header_row = 2
skip_footer = 1
kind = "screens"

[input.use_days.columns]
"Client ID" = "patient_id"
"Collected" = "date"
"Result" = "used"

[input.use_days.codes.used]
"Negative" = "0"
"Positive" = "1"
"""
