"""The retention-bias table of the data-quality section: were the clients followed up
different at intake from those who were not?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ...definitions import timepoint_text
from ...exceptions import IopOutcomesError
from ..inputs import ReportInputs
from ..model import ReportFigure, ReportTable
from ..suppression import TOTAL, suppress_partition
from .common import as_bool, as_float

__all__ = ["retention_bias"]


def retention_bias(
    inp: ReportInputs, primary: str
) -> tuple[ReportTable, ReportFigure | None] | None:
    """Intake profile of the clients followed up at the primary timepoint vs those not (a
    check of retention bias), with its figure; None when there is nothing to compare."""
    from ...adjust import balance_table
    from ..disclosure import control_covariates, followup_due
    from ..figures import balance_figure

    tp = primary
    # the due clients only: one whose window is still open is neither followed up nor lost
    mask = inp.cohort_mask(tp) & followup_due(inp, tp)
    sub = inp.table.loc[mask].copy()
    if len(sub) == 0:
        return None
    status = sub[f"followup_status_{tp}"].astype("string")
    followed = (status == "completed").fillna(False).to_numpy(bool) & as_bool(
        sub[f"in_window_{tp}"]
    )
    sub["_followed"] = np.where(followed, "followed up", "not followed up")
    candidates = list(
        dict.fromkeys([*inp.config.adjust, "age", "sex", "severity", "primary_substance", "cohort"])
    )
    covs = [c for c in candidates if c in sub.columns and sub[c].notna().any()]
    plan = control_covariates(sub, covs, inp.k)
    for cov, why in plan.refused.items():
        inp.omitted.append(f"'{cov}' is left out of the retention-bias table: {why}.")
    covs = plan.covariates
    if not covs or sub["_followed"].nunique() < 2:
        inp.omitted.append("The retention-bias table is omitted: nothing to compare.")
        return None
    data = plan.frame
    try:
        bal = balance_table(data, "_followed", "followed up", "not followed up", covs)
    except IopOutcomesError as exc:
        inp.omitted.append(f"The retention-bias table could not be computed: {exc}")
        return None
    where = np.nonzero(mask)[0]
    size = len(inp.table)

    def members(cells: Mapping[tuple[Any, Any], np.ndarray]) -> dict[Any, np.ndarray]:
        out = {}
        for key, local in cells.items():
            w = np.zeros(size, dtype=np.int64)
            w[where[local]] = 1
            out[key] = w
        return out

    ones = np.ones(len(sub), dtype=bool)
    groups = inp.log.add(
        "retention_groups",
        suppress_partition(
            pd.DataFrame(
                {"followed": [int(followed.sum())], "not_followed": [int((~followed).sum())]},
                index=["all"],
            ),
            inp.k,
        ),
        members({("all", "followed"): followed & ones, ("all", "not_followed"): ~followed}),
    )
    n_f, n_n = groups.shown("all", "followed"), groups.shown("all", "not_followed")
    out_rows = []
    for cov in covs:
        levels = [(str(r["level"]), r) for _, r in bal.loc[bal["covariate"] == cov].iterrows()]
        if plan.kinds[cov] == "numeric":
            r = levels[0][1]
            present = data[cov].notna().to_numpy(bool)
            ok = (
                int((present & followed).sum()) >= inp.k
                and int((present & ~followed).sum()) >= inp.k
                and n_f is not None
                and n_n is not None
            )
            out_rows.append(
                {
                    "covariate": cov,
                    "level": "mean",
                    "followed_n": n_f,
                    "followed_value": as_float(r["mean_group"]) if ok else np.nan,
                    "not_followed_n": n_n,
                    "not_followed_value": as_float(r["mean_reference"]) if ok else np.nan,
                    "smd": as_float(r["smd_unweighted"]) if ok else np.nan,
                    "suppressed": not ok,
                }
            )
            continue
        col = data[cov].astype("string")
        is_level = {lv: (col == lv).fillna(False).to_numpy(bool) for lv, _ in levels}
        counts = pd.DataFrame(
            {
                "followed": [int((is_level[lv] & followed).sum()) for lv, _ in levels],
                "not_followed": [int((is_level[lv] & ~followed).sum()) for lv, _ in levels],
            },
            index=[lv for lv, _ in levels],
        )
        cells = {}
        for lv, _ in levels:
            cells[(lv, "followed")] = is_level[lv] & followed
            cells[(lv, "not_followed")] = is_level[lv] & ~followed
        part = inp.log.add("retention_bias", suppress_partition(counts, inp.k), members(cells))
        for lv, r in levels:
            hide = bool(part.hidden.loc[lv].any()) or bool(part.hidden.loc[TOTAL].any())
            out_rows.append(
                {
                    "covariate": cov,
                    "level": lv,
                    "followed_n": part.shown(lv, "followed"),
                    "followed_value": np.nan if hide else as_float(r["mean_group"]),
                    "not_followed_n": part.shown(lv, "not_followed"),
                    "not_followed_value": np.nan if hide else as_float(r["mean_reference"]),
                    "smd": np.nan if hide else as_float(r["smd_unweighted"]),
                    "suppressed": hide,
                }
            )
    frame = pd.DataFrame(out_rows)
    for c in ("followed_n", "not_followed_n"):
        frame[c] = frame[c].astype("Int64")
    table = ReportTable(
        "retention_bias",
        f"Retention bias: intake profile of clients followed up at {timepoint_text(tp)} vs not",
        frame,
        footnote=(
            "followed up = conducted in the window. value: share of the group with the "
            "level (categorical) or the mean (numeric). smd: standardized difference "
            "(followed minus not followed; Austin 2009); |smd| > 0.1 suggests the "
            "followed-up clients differ at intake. Rows hidden when a count is suppressed. "
            f"Levels held by fewer than {inp.k} clients are pooled as 'Other (pooled)'; "
            "dates appear only as decade bands; free-text and identifier-like columns are "
            f"never tabulated; a mean needs at least {inp.k} clients with a value in each "
            "group."
        ),
    )
    shown = frame.loc[~frame["suppressed"]]
    fig = balance_figure(shown) if len(shown) else None
    return table, fig
