"""The follow-up cascade (CONSORT-like flow) of an abstinence outcome, by cohort.

episodes -> discharged -> follow-up due -> conducted in window -> analysed. The counts come from
the library's one denominator rule (:func:`iopoutcomes.missing.eligibility`: window closed,
death policy, observation-time eligibility) and the missing-data rule of the outcome
definition, so the cascade's "analysed" box is the ``n`` of the rate the report prints.
:func:`iopoutcomes.plots.plot_followup_cascade` draws the table this module makes.

Examples
--------
>>> import iopoutcomes as iop
>>> out = iop.episode_outcomes(iop.simulate_records(n=200, seed=1))
>>> flow = cascade_counts(out, timepoint="6mo")
>>> flow.columns.tolist(), flow["stage"].unique().tolist()[:2]
(['cohort', 'stage', 'n', 'missing'], ['episodes', 'discharged'])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._input import outcomes_table
from .definitions import CASCADE_STAGES, MISSING_RULES_ANALYSING_EVERY_ELIGIBLE
from .exceptions import MissingColumnError
from .missing import eligible_mask

__all__ = ["CASCADE_STAGES", "cascade_counts"]


def _first_column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    return next((c for c in names if c in frame.columns), None)


def cascade_counts(outcomes: Any, timepoint: str = "6mo") -> pd.DataFrame:
    """Count the follow-up cascade of ``abstinent_<timepoint>`` per cohort.

    Parameters
    ----------
    outcomes : EpisodeOutcomes or pandas.DataFrame
        One row per episode with ``cohort`` (or ``group``), ``discharge_day`` (or
        ``discharge_date``), ``followup_status_<tp>`` and ``abstinent_<tp>``; optionally
        ``followup_due_<tp>``, ``in_window_<tp>`` and ``eligible_abstinent_<tp>``.
    timepoint : str, default "6mo"

    Returns
    -------
    pandas.DataFrame
        Tidy: ``cohort``, ``stage`` (:data:`CASCADE_STAGES`), ``n``, and ``missing`` (the
        definition's missing-data rule, missing for a plain table), where

        * discharged: a discharge day (or date) is recorded;
        * follow-up due: discharged and in the denominator of the ``abstinent_<tp>`` rate
          (:func:`iopoutcomes.missing.eligible_mask` under the definition's death policy:
          window closed, deaths per the policy, observation-time eligibility). The flow is
          one of discharged clients: an episode still in care when its window closed is in
          the rate's denominator but leaves the flow at "discharged";
        * conducted in window: due, ``followup_status_<tp> == "completed"`` and (when the
          column exists) ``in_window_<tp>``;
        * analysed: the due episodes the rate counts: every one under a missing-data rule
          that keeps them all (``using``, ``bounds``, ``impute``), otherwise (``exclude``,
          ``ipw``, or a table without a definition) those with a known outcome.

    Examples
    --------
    >>> eo = pd.DataFrame({"cohort": ["IOP"] * 4, "discharge_day": [30, 40, None, 35],
    ...                    "followup_status_6mo": ["completed", "refused", "pending",
    ...                                            "completed"],
    ...                    "in_window_6mo": [True, False, False, False],
    ...                    "abstinent_6mo": [1.0, 0.0, None, None]})
    >>> cascade_counts(eo)["n"].tolist()
    [4, 3, 3, 1, 2]
    """
    frame, definition = outcomes_table(outcomes, needed_by="cascade_counts", copy=False)
    tp = timepoint
    gcol = _first_column(frame, ("cohort", "group"))
    dcol = _first_column(frame, ("discharge_day", "discharge_date"))
    status_col, out_col = f"followup_status_{tp}", f"abstinent_{tp}"
    absent = [
        name
        for name, col in (
            ("cohort or group", gcol),
            ("discharge_day or discharge_date", dcol),
            (status_col, status_col if status_col in frame else None),
            (out_col, out_col if out_col in frame else None),
        )
        if col is None
    ]
    if absent:
        raise MissingColumnError(
            f"cascade_counts (timepoint={tp!r}) needs the column(s) {absent}; pass "
            "iopoutcomes.episode_outcomes(records) or a table with those columns."
        )
    assert gcol is not None and dcol is not None
    death_policy = getattr(definition, "death_policy", "missing")
    discharged = frame[dcol].notna().to_numpy(bool)
    eligible = np.asarray(eligible_mask(frame, out_col, death_policy=death_policy), dtype=bool)
    due = discharged & eligible
    conducted = (frame[status_col] == "completed").fillna(False).to_numpy(dtype=bool) & due
    if f"in_window_{tp}" in frame:
        conducted &= frame[f"in_window_{tp}"].astype("boolean").fillna(False).to_numpy(bool)
    rule = getattr(definition, "missing", None)
    known = frame[out_col].notna().to_numpy(bool)
    analysed = due if rule in MISSING_RULES_ANALYSING_EVERY_ELIGIBLE else due & known
    flags = pd.DataFrame(
        {
            "episodes": np.ones(len(frame), dtype=int),
            "discharged": discharged,
            "follow-up due": due,
            "conducted in window": conducted,
            "analysed": analysed,
        }
    ).astype(int)
    flags["cohort"] = frame[gcol].to_numpy()
    wide = flags.groupby("cohort", sort=False).sum()
    long = wide.reset_index().melt(id_vars="cohort", var_name="stage", value_name="n")
    long["stage"] = pd.Categorical(long["stage"], categories=CASCADE_STAGES, ordered=True)
    long = long.sort_values(["cohort", "stage"], kind="stable").reset_index(drop=True)
    long["stage"] = long["stage"].astype(str)
    long["missing"] = pd.Series(rule, index=long.index, dtype="string")
    return long
