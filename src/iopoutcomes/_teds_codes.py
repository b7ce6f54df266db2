"""Compact TEDS-D code tables used by :mod:`iopoutcomes.teds` (hand-encoded, not copied).

Provenance
----------
Written by hand from the SAMHSA/CBHSQ "Treatment Episode Data Set Discharges (TEDS-D)"
codebooks (public domain), as transcribed in the machine-readable tables of
``../shared/reference/teds_d_codebook/`` (kabellhart/teds-processing @ e53f31e, CC0;
HI-OD2A-P2P/TEDS-Processing @ 6bdcce7, MIT):

* 2017-2022 codes and labels: ``TEDS-D-2019-DS0001-info-codebook_V1_codes.csv`` (labels in
  sentence case as printed in the 2019 codebook) checked against the 2017, 2018 files and the
  2020-2022 columns of ``TEDS-D-2006-2022-merged_codes_result.csv``.
* 2015-2016 codes: the 2015/2016 files. Their ``9`` missing codes in FREQ1, FREQ1_D, LIVARAG ...
  are transcription errors (the PDFs print ``-9``; see the folder README), so ``-9`` is used here.
* 2006-2014 codes: ``TEDS-D-2006-2014-post-manual.csv`` (concatenated 2006-2014 PUF): the
  discharge setting is ``SERVSETD``; AGE codes 2-12 (12-14 ... "55 and over"); FREQ1 has five
  levels; ETHNIC has six codes; RACE uses 13/20/21/23 for the 2015+ codes 6/7/8/9; SUB1 uses
  20 for "Other"; REASON 2 is labelled "Left against professional advice".
* Text labels of the 2021 file: the 2021 column of the merged table (e.g. "12-14 Years Old",
  "Full-Time"); ``LIVARAG`` 1 reads "Experiencing Homelessness" in 2022. Text is matched after
  lower-casing and dropping every non-alphanumeric character, so case, hyphen and spacing
  variants ("Full Time", "FULL-TIME") decode to the same code.
* 2023: GENDER is renamed SEX (same codes, 1 male, 2 female) per the 2023 TEDS-D codebook.

Only what the library needs is encoded: the variables ``read_teds_d`` decodes, in one
*harmonised* coding (the 2017+ codes; 2006-2014 codes are recoded on reading, see
``RECODE_2006_2014``). ``-9`` means missing in every year and every variable.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "AGE",
    "ALIASES",
    "CODE_LABELS",
    "COHORT_FROM_SETTING",
    "DISCHARGE_REASON_FROM_REASON",
    "LEVEL_FROM_SETTING",
    "LOS_DAYS",
    "MISSING",
    "RECODE_2006_2014",
    "SOURCE_NAMES",
    "label_to_code",
    "normalise_label",
]

MISSING: Final[int] = -9
"""The TEDS missing/unknown/not collected/invalid code (every year, every variable)."""

# --- discharge service setting (SERVICES_D; SERVSETD in 2006-2014; SERVICES at admission) -----
SETTING: Final[dict[int, str]] = {
    1: "Detox, 24-hour, hospital inpatient",
    2: "Detox, 24-hour, free-standing residential",
    3: "Rehab/residential, hospital (non-detox)",
    4: "Rehab/residential, short term (30 days or fewer)",
    5: "Rehab/residential, long term (more than 30 days)",
    6: "Ambulatory, intensive outpatient",
    7: "Ambulatory, non-intensive outpatient",
    8: "Ambulatory, detoxification",
}
LEVEL_FROM_SETTING: Final[dict[int, str]] = {
    1: "detox",
    2: "detox",
    3: "residential",
    4: "residential",
    5: "residential",
    6: "IOP",
    7: "OP",
    8: "detox",
}
COHORT_FROM_SETTING: Final[dict[int, str]] = {
    1: "detox",
    2: "detox",
    3: "residential_hospital",
    4: "residential_short",
    5: "residential_long",
    6: "IOP",
    7: "OP",
    8: "detox",
}

# --- reason for discharge -----------------------------------------------------------------------
REASON: Final[dict[int, str]] = {
    1: "Treatment completed",
    2: "Dropped out of treatment",  # 2006-2014: "Left against professional advice" (same code)
    3: "Terminated by facility",
    4: "Transferred to another treatment program or facility",
    5: "Incarcerated",
    6: "Death",
    7: "Other",
}
DISCHARGE_REASON_FROM_REASON: Final[dict[int, str]] = {
    1: "completed",
    2: "dropped_out",
    3: "terminated",
    4: "transferred",
    5: "incarcerated",
    6: "died",
    7: "other",
}

# --- length of stay (ordinal: exact days 1-30, then ranges) ------------------------------------
LOS: Final[dict[int, str]] = {
    **{d: str(d) for d in range(1, 31)},
    31: "31 to 45 days",
    32: "46 to 60 days",
    33: "61 to 90 days",
    34: "91 to 120 days",
    35: "121 to 180 days",
    36: "181 to 365 days",
    37: "More than a year",
}
LOS_DAYS: Final[dict[int, tuple[int, int | None]]] = {
    **{d: (d, d) for d in range(1, 31)},
    31: (31, 45),
    32: (46, 60),
    33: (61, 90),
    34: (91, 120),
    35: (121, 180),
    36: (181, 365),
    37: (366, None),
}
"""Lowest and highest number of days each LOS code stands for (``None``: open-ended)."""

# --- admission / discharge measures -------------------------------------------------------------
FREQ: Final[dict[int, str]] = {1: "No use in the past month", 2: "Some use", 3: "Daily use"}
EMPLOY: Final[dict[int, str]] = {
    1: "Full-time",
    2: "Part-time",
    3: "Unemployed",
    4: "Not in labor force",
}
LIVARAG: Final[dict[int, str]] = {1: "Homeless", 2: "Dependent living", 3: "Independent living"}
SELF_HELP: Final[dict[int, str]] = {
    1: "No attendance",
    2: "1-3 times in the past month",
    3: "4-7 times in the past month",
    4: "8-30 times in the past month",
    5: "Some attendance, frequency is unknown",
}
YES_NO: Final[dict[int, str]] = {1: "Yes", 2: "No"}
GENDER: Final[dict[int, str]] = {1: "Male", 2: "Female"}

AGE: Final[dict[int, str]] = {
    1: "12-14 years",
    2: "15-17 years",
    3: "18-20 years",
    4: "21-24 years",
    5: "25-29 years",
    6: "30-34 years",
    7: "35-39 years",
    8: "40-44 years",
    9: "45-49 years",
    10: "50-54 years",
    11: "55-64 years",
    12: "65 years and older",
    # harmonised code for the 2006-2014 top band (its code 12), not split into 55-64 / 65+
    13: "55 years and older",
}
RACE: Final[dict[int, str]] = {
    1: "Alaska Native (Aleut, Eskimo, Indian)",
    2: "American Indian (other than Alaska Native)",
    3: "Asian or Pacific Islander",
    4: "Black or African American",
    5: "White",
    6: "Asian",
    7: "Other single race",
    8: "Two or more races",
    9: "Native Hawaiian or other Pacific Islander",
}
ETHNIC: Final[dict[int, str]] = {
    1: "Puerto Rican",
    2: "Mexican",
    3: "Cuban or other specific Hispanic",
    4: "Not of Hispanic or Latino origin",
    5: "Hispanic or Latino, specific origin not specified",
}
SUB: Final[dict[int, str]] = {
    1: "None",
    2: "Alcohol",
    3: "Cocaine/crack",
    4: "Marijuana/hashish",
    5: "Heroin",
    6: "Non-prescription methadone",
    7: "Other opiates and synthetics",
    8: "PCP",
    9: "Hallucinogens",
    10: "Methamphetamine/speed",
    11: "Other amphetamines",
    12: "Other stimulants",
    13: "Benzodiazepines",
    14: "Other tranquilizers",
    15: "Barbiturates",
    16: "Other sedatives or hypnotics",
    17: "Inhalants",
    18: "Over-the-counter medications",
    19: "Other drugs",
}
STFIPS: Final[dict[int, str]] = {
    1: "Alabama", 2: "Alaska", 4: "Arizona", 5: "Arkansas", 6: "California", 8: "Colorado",
    9: "Connecticut", 10: "Delaware", 11: "District of Columbia", 12: "Florida", 13: "Georgia",
    15: "Hawaii", 16: "Idaho", 17: "Illinois", 18: "Indiana", 19: "Iowa", 20: "Kansas",
    21: "Kentucky", 22: "Louisiana", 23: "Maine", 24: "Maryland", 25: "Massachusetts",
    26: "Michigan", 27: "Minnesota", 28: "Mississippi", 29: "Missouri", 30: "Montana",
    31: "Nebraska", 32: "Nevada", 33: "New Hampshire", 34: "New Jersey", 35: "New Mexico",
    36: "New York", 37: "North Carolina", 38: "North Dakota", 39: "Ohio", 40: "Oklahoma",
    41: "Oregon", 42: "Pennsylvania", 44: "Rhode Island", 45: "South Carolina",
    46: "South Dakota", 47: "Tennessee", 48: "Texas", 49: "Utah", 50: "Vermont",
    51: "Virginia", 53: "Washington", 54: "West Virginia", 55: "Wisconsin", 56: "Wyoming",
    72: "Puerto Rico",
}  # fmt: skip

CODE_LABELS: Final[dict[str, dict[int, str]]] = {
    "SERVICES_D": SETTING,
    "SERVICES": SETTING,
    "REASON": REASON,
    "LOS": LOS,
    "FREQ1": FREQ,
    "FREQ1_D": FREQ,
    "EMPLOY": EMPLOY,
    "EMPLOY_D": EMPLOY,
    "LIVARAG": LIVARAG,
    "LIVARAG_D": LIVARAG,
    "FREQ_ATND_SELF_HELP": SELF_HELP,
    "FREQ_ATND_SELF_HELP_D": SELF_HELP,
    "METHUSE": YES_NO,
    "GENDER": GENDER,
    "AGE": AGE,
    "RACE": RACE,
    "ETHNIC": ETHNIC,
    "SUB1": SUB,
    "STFIPS": STFIPS,
}
"""Harmonised code -> label for every decoded variable (``-9`` = missing is implicit)."""

SOURCE_NAMES: Final[dict[str, tuple[str, ...]]] = {
    # harmonised name -> names it may carry in a file, first match wins
    "SERVICES_D": ("SERVICES_D", "SERVSETD"),
    "GENDER": ("GENDER", "SEX"),
    "ETHNIC": ("ETHNIC", "ETHNICITY"),
}

RECODE_2006_2014: Final[dict[str, dict[int, int]]] = {
    # 2006-2014 code -> harmonised (2017+) code; codes not listed keep their value
    "AGE": {2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 6, 8: 7, 9: 8, 10: 9, 11: 10, 12: 13},
    # 1 none; 2 1-3 times/month, 3 1-2 times/week, 4 3-6 times/week -> some use; 5 daily
    "FREQ1": {1: 1, 2: 2, 3: 2, 4: 2, 5: 3},
    # 3 Cuban and 4 other specific Hispanic -> 3 "Cuban or other specific Hispanic"
    "ETHNIC": {1: 1, 2: 2, 3: 3, 4: 3, 5: 4, 6: 5},
    "RACE": {13: 6, 20: 7, 21: 8, 23: 9},
    "SUB1": {20: 19},
}

# Extra text labels (beyond CODE_LABELS) seen in label-coded files, by harmonised variable.
_MISSING_TEXT = ("Missing/unknown/not collected/invalid", "Missing", "Unknown")
ALIASES: Final[dict[str, dict[str, int]]] = {
    "AGE": {
        **{f"{AGE[c]} old": c for c in range(1, 12)},  # 2020-2022: "12-14 Years Old"
        **{AGE[c].removesuffix(" years"): c for c in range(1, 12)},  # 2015-2016: "12-14"
        "65 and older": 12,
        "55 and over": 13,  # 2006-2014 codebook label of its top band (code 12 there)
    },
    "REASON": {"Left against professional advice": 2},
    "LIVARAG": {"Experiencing homelessness": 1},
    "LIVARAG_D": {"Experiencing homelessness": 1},
    "SERVICES_D": {
        "Detox, 24 hr, hospital inpatient": 1,
        "Detox, 24 hr, free-standing residential": 2,
        "Rehab/res, hospital (non-detox)": 3,
        "Rehab/res, short term (30 days or fewer)": 4,
        "Rehab/res, long term (more than 30 days)": 5,
    },
}


_NON_ALNUM = re.compile(r"[^a-z0-9]")


def normalise_label(text: str) -> str:
    """Lower-case a label and drop every non-alphanumeric character.

    >>> normalise_label("Full-Time"), normalise_label("FULL TIME")
    ('fulltime', 'fulltime')
    """
    return _NON_ALNUM.sub("", str(text).lower())


def label_to_code(variable: str) -> dict[str, int]:
    """Normalised text label -> harmonised code for ``variable`` (missing labels -> ``-9``).

    >>> label_to_code("EMPLOY")[normalise_label("Part Time")]
    2
    """
    out = {normalise_label(t): MISSING for t in _MISSING_TEXT}
    for code, label in CODE_LABELS[variable].items():
        out[normalise_label(label)] = code
    for label, code in ALIASES.get(variable, {}).items():
        out[normalise_label(label)] = code
    if variable == "SERVICES":
        for label, code in ALIASES["SERVICES_D"].items():
            out[normalise_label(label)] = code
    return out
