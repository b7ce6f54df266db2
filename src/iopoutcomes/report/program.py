"""The program's own settings in the report: its timepoints, calendar kind and refusals.

A program declares the follow-ups it collects (``[input] timepoints`` with their windows, or
``[definition] timepoints``) and what its use calendar is (``[input.use_days] kind``). The report
then uses exactly these: a GPRA program with intake, discharge and 6-month interviews gets no
1-month row. Settings that match no data are refused (:class:`~iopoutcomes.ConfigError` or
:class:`~iopoutcomes.InsufficientDataError`, exit status 2 on the command line) with the setting
named and what was found, instead of a report whose numbers and reasons are wrong.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ..definitions import OutcomeDefinition
from ..exceptions import ConfigError, InsufficientDataError
from .config import ReportConfig

__all__ = ["GPRA_RULE_TEXT", "check_program", "gpra_followup_counts", "program_definition"]


def program_definition(config: ReportConfig, base: OutcomeDefinition) -> OutcomeDefinition:
    """``base`` with the ``[input]`` timepoints, windows and calendar kind applied.

    ``[definition]`` settings win over ``[input]`` ones. A ``daily`` calendar read from exports
    skips days without a record (a missing day is missing, not use) unless ``[definition]
    missing_days`` says otherwise.

    Examples
    --------
    >>> cfg = ReportConfig.from_dict({"input": {"timepoints": ["intake", "discharge", "6mo"],
    ...                               "episodes": {"files": "a.csv"}}})
    >>> program_definition(cfg, OutcomeDefinition()).outcome_timepoints
    ('discharge', '6mo')
    """
    inp = config.export_input()
    if inp is None:
        return base
    user = dict(config.definition)
    over = {k: v for k, v in inp.definition_settings().items() if k not in user}
    if "windows" in over:  # windows the user gave in [definition] win, one by one
        given = dict(user.get("windows", {}))
        over["windows"] = {k: w for k, w in over["windows"].items() if k not in given}
    return base.replace(**over) if over else base


def _declared(config: ReportConfig) -> tuple[str, tuple[str, ...]] | None:
    if "timepoints" in config.definition:
        return "[definition] timepoints", tuple(str(t) for t in config.definition["timepoints"])
    inp = config.export_input()
    if inp is not None and inp.timepoints:
        return "[input] timepoints", tuple(inp.timepoints)
    return None


def check_program(
    records: Any,
    definition: OutcomeDefinition,
    config: ReportConfig,
    period: pd.Period | None,
    full: Any = None,
) -> Any:
    """Refuse settings that match no data; return the records with the program's timepoints.

    Raises
    ------
    InsufficientDataError
        The quarter ends before the first admission; a table read has no accepted row.
    ConfigError
        A declared timepoint has no follow-up row; ``substance``, ``verify`` or the calendar
        kind needs data the records do not have.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> cfg = ReportConfig.from_dict({"definition": {"substance": "alcohol"}})
    >>> check_program(iop.load_sample(), OutcomeDefinition(substance="alcohol"), cfg, None)
    Traceback (most recent call last):
    ...
    iopoutcomes.exceptions.ConfigError: [definition] substance = 'alcohol' matches no data: ...
    """
    from ..exports import require_rows

    whole = records if full is None else full  # ``records`` may be a snapshot at the quarter
    eps = whole.episodes
    if period is not None and len(eps) and "admission_date" in eps:
        first = pd.to_datetime(eps["admission_date"]).min()
        if pd.notna(first) and period.end_time.normalize() < first:
            first_q = pd.Timestamp(first).to_period(period.freqstr)
            raise InsufficientDataError(
                f"quarter {period} (--quarter) ends before the first admission in the data "
                f"(in {first_q}); the report would only give false reasons. Choose a quarter "
                f"from {first_q} on."
            )
    require_rows(whole, [t for t in ("episodes", "followups", "use_days", "services")
                         if t in dict(whole.read_counts)])  # fmt: skip
    fu = records.followups
    declared = _declared(config)
    if declared is not None:
        setting, labels = declared
        known = tuple(getattr(records, "timepoints", labels))
        found = sorted(set(fu["timepoint"].dropna().astype(str))) if len(fu) else []
        absent = [t for t in labels if t != "intake" and t not in found]
        if len(fu) and absent:
            raise ConfigError(
                f"{setting}: {absent} match no follow-up row (timepoints found in the "
                f"follow-ups: {found}). Remove them or map the interview labels with "
                "[input.followups] codes.timepoint."
            )
        undeclared = [t for t in labels if t not in known]
        if undeclared and not len(fu):
            raise ConfigError(f"{setting}: {undeclared} are not timepoints of these records.")
        records = dataclasses.replace(records, timepoints=labels)
    if definition.substance != "any" and len(fu):
        column = f"days_{definition.substance}_past30"
        has_col = column in fu and bool(fu[column].notna().any())
        ud = records.use_days
        has_cal = "substance" in ud and bool(ud["substance"].notna().any())
        if not has_col and not has_cal:
            raise ConfigError(
                f"[definition] substance = {definition.substance!r} matches no data: the "
                f"follow-ups have no {column} values and the calendar no substance column, so "
                "every outcome would be missing. Map that column ([input.followups] columns) "
                "or use substance = 'any'."
            )
    if definition.verify == "uds":
        has_fu = "uds_result" in fu and bool(fu["uds_result"].notna().any())
        ud = records.use_days
        has_ud = "source" in ud and bool((ud["source"].astype("string") == "uds").any())
        if not has_fu and not has_ud:
            raise ConfigError(
                "[definition] verify = 'uds' matches no data: no follow-up has a uds_result "
                "and no calendar row has source = 'uds'."
            )
    if definition.calendar == "screens" and not len(records.use_days):
        raise ConfigError(
            "[input.use_days] kind = 'screens' (or [definition] calendar) matches no data: "
            "no use-day row was read."
        )
    return records


# --- the funder's follow-up rule, beside the library's ------------------------------------

GPRA_RULE_TEXT = (
    "GPRA/SPARS rule: a 6-month follow-up counts when it was conducted 5 to 8 months (calendar "
    "months) after the intake (admission) date; it is due once that window has closed (intake "
    "+ 8 months on or before the data-as-of date); clients who died are removed from the "
    "denominator, as SPARS does; incarcerated clients and every other interview not conducted "
    "stay in it."
)
"""How :func:`gpra_followup_counts` counts (printed under the table and in the methods)."""


def gpra_followup_counts(
    episodes: pd.DataFrame,
    followups: pd.DataFrame,
    as_of: pd.Timestamp,
    by: str = "cohort",
    *,
    per_episode: bool = False,
) -> pd.DataFrame:
    """6-month follow-ups by the GPRA/SPARS rule (:data:`GPRA_RULE_TEXT`), per group.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``by``: ``conducted_in_window``, ``not_conducted`` (their sum is the number
        due) and ``died_excluded``; with ``per_episode=True`` the same 0/1 columns per episode
        (indexed like ``episodes``), before they are summed.

    Examples
    --------
    >>> eps = pd.DataFrame({"episode_id": ["a", "b", "c", "d"], "cohort": "IOP",
    ...                     "admission_date": pd.to_datetime(["2024-01-31"] * 3 + ["2024-06-01"])})
    >>> fu = pd.DataFrame({"episode_id": ["a", "b", "c"], "timepoint": "6mo",
    ...                    "status": ["completed", "completed", "died"],
    ...                    "assessment_date": pd.to_datetime(["2024-06-30", "2024-10-01", None])})
    >>> gpra_followup_counts(eps, fu, pd.Timestamp("2024-12-31")).loc["IOP"].to_dict()
    {'conducted_in_window': 1, 'not_conducted': 1, 'died_excluded': 1}

    (``a``: conducted on the day the window opens, 5 months after 31 January = 30 June;
    ``b``: after the window; ``c``: died, out of the denominator; ``d``: window still open.)
    """
    adm = pd.to_datetime(episodes["admission_date"]).reset_index(drop=True)
    opens = adm + pd.DateOffset(months=5)
    closes = adm + pd.DateOffset(months=8)
    due = (closes <= as_of).fillna(False).to_numpy(bool)
    six = followups.loc[followups["timepoint"].astype(str) == "6mo"]
    ids = pd.Index(episodes["episode_id"].astype(str))
    pos = ids.get_indexer(pd.Index(six["episode_id"].astype(str)))
    ok = pos >= 0
    n = len(episodes)
    status = np.full(n, "", dtype=object)
    date = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    status[pos[ok]] = six["status"].astype(str).to_numpy(object)[ok]
    date.iloc[pos[ok]] = pd.to_datetime(six["assessment_date"]).to_numpy()[ok]
    died = status == "died"
    inside = ((date >= opens) & (date <= closes)).fillna(False).to_numpy(bool)
    conducted = (status == "completed") & inside
    counted = due & ~died
    frame = pd.DataFrame(
        {
            by: episodes[by].astype(str).to_numpy(),
            "conducted_in_window": (counted & conducted).astype("int64"),
            "not_conducted": (counted & ~conducted).astype("int64"),
            "died_excluded": (due & died).astype("int64"),
        },
        index=episodes.index,
    )
    if per_episode:  # one row per episode (the disclosure audit's members)
        return frame
    return frame.groupby(by, sort=True).sum()
