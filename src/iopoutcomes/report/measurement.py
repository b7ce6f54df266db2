"""The report's "Measurement-based care" section, from instrument items in the follow-ups.

The Joint Commission asks behavioural-health programs to "aggregate and analyze" their
standardized-measure data "to evaluate outcomes for the population served" (CTS.03.01.09,
EP 3). This section publishes, for the episodes of the report period and every instrument
whose items the follow-ups carry:

* how often each instrument was completed at each assessment (the EP 3 denominator);
* the accreditation summary: episodes with a baseline (intake) score, a discharge score and
  both;
* for PHQ-9 and GAD-7, the change categories from intake to discharge by cohort under the NHS
  Talking Therapies convention (reliable improvement, recovery, deterioration).

Every count goes through :func:`~iopoutcomes.report.suppression.suppress_partition` before it
is published; the figure is drawn from the suppressed change table. A Jacobson-Truax scatter
shows one point per client, so it is drawn only in the internal profile.

Examples
--------
>>> import iopoutcomes as iop
>>> recs = iop.simulate_records(n=300, seed=1, instruments=True)
>>> eo = iop.episode_outcomes(recs).table
>>> section = measurement_section(recs.followups, eo["cohort"].set_axis(eo["episode_id"]),
...                               k=11, min_denominator=20, profile="public")
>>> [t.key for t in section.tables]
['measures_completion', 'measures_accreditation', 'measures_change']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import InsufficientDataError
from ..instruments import CHANGE_CATEGORIES, CHANGE_PRESETS, INSTRUMENTS, score_instrument
from .model import ReportFigure, ReportSection, ReportTable
from .suppression import TOTAL, Partition, suppress_partition

__all__ = ["measured_instruments", "measurement_section"]

_SHORT = {"phq9": "PHQ-9", "gad7": "GAD-7", "barc10": "BARC-10", "bam": "BAM"}


def measured_instruments(followups: pd.DataFrame, bam_version: str | None = None) -> list[str]:
    """Instruments whose scored item columns are all in ``followups`` (default names).

    BAM needs its version (the Likert and days versions score differently), so it is listed
    only when ``bam_version`` is given.

    >>> import pandas as pd
    >>> measured_instruments(pd.DataFrame(columns=[f"gad7_{i}" for i in range(1, 8)]))
    ['gad7']
    """
    found = []
    for key in ("phq9", "gad7", "barc10", "bam"):
        if key == "bam":
            if bam_version is None:
                continue
            spec = INSTRUMENTS[f"bam:{bam_version}"]
        else:
            spec = INSTRUMENTS[key]
        used = {n for numbers in spec.scales.values() for n in numbers}
        if all(f"{spec.name}_{n}" in followups.columns for n in used):
            found.append(key)
    return found


def _score_column(key: str) -> str:
    return "bam_use" if key == "bam" else f"{key}_total"


def measurement_section(
    followups: pd.DataFrame,
    cohort_of: pd.Series,
    *,
    k: int,
    min_denominator: int,
    profile: str,
    bam_version: str | None = None,
    log: Callable[..., Partition] | None = None,
    period_text: str = "episodes of the report period",
) -> ReportSection | None:
    """Build the section, or None when the follow-ups carry no instrument items.

    Parameters
    ----------
    followups : pandas.DataFrame
        Follow-ups of the report's episodes (canonical table, item columns beside).
    cohort_of : pandas.Series
        Cohort by ``episode_id`` for the episodes of the report period; other episodes'
        assessments are left out.
    k, min_denominator : int
        The report's small-cell threshold and smallest denominator for a rate.
    profile : str
        ``internal`` adds the per-client Jacobson-Truax scatter.
    bam_version : {"likert", "days"}, optional
        Version of the BAM items (BAM is left out without it).
    log : callable, optional
        Records each suppressed partition in the report's suppression log.
    period_text : str
        Who is counted, in words.
    """
    keys = measured_instruments(followups, bam_version)
    if not keys:
        return None
    add = log or (lambda _name, part, _members=None: part)
    fu = followups.loc[followups["episode_id"].astype(str).isin(cohort_of.index.astype(str))]
    fu = fu.loc[fu["status"].astype(str) == "completed"]
    scored = fu[["episode_id", "timepoint"]].copy()
    for key in keys:
        result = score_instrument(fu, key, version=bam_version if key == "bam" else None)
        scored[_score_column(key)] = result.scores[_score_column(key)].to_numpy()
    cohorts = cohort_of.astype(str)
    tables = [
        _completion_table(scored, keys, k, min_denominator, add),
        _accreditation_table(scored, keys, cohorts, k, min_denominator, add),
    ]
    change_keys = [key for key in keys if key in CHANGE_PRESETS]
    figures: list[ReportFigure] = []
    paragraphs = [
        f"Standardized measures of the {period_text}: "
        + ", ".join(_SHORT[key] for key in keys)
        + ". Completion counts each completed assessment; change compares intake with "
        "discharge for clients measured at both."
    ]
    if change_keys:
        change = _change_table(scored, change_keys, cohorts, k, min_denominator, add)
        tables.append(change)
        figure = _change_figure(change)
        if figure is not None:
            figures.append(figure)
        if profile == "internal":
            figures.extend(_scatter_figures(scored, change_keys, cohorts))
        else:
            paragraphs.append(
                "The per-client change scatter (Jacobson-Truax plot) is shown in the internal "
                "profile only: each point is one client."
            )
    return ReportSection(
        "measurement",
        "Measurement-based care",
        tuple(paragraphs),
        (),
        tuple(tables),
        tuple(figures),
    )


def _share(part: Partition, row: Any, column: str, min_denominator: int) -> float:
    events, total = part.shown(row, column), part.shown(row, TOTAL)
    if events is None or total is None or total < min_denominator or total == 0:
        return float("nan")
    return events / total


def _completion_table(
    scored: pd.DataFrame,
    keys: Sequence[str],
    k: int,
    min_denominator: int,
    add: Callable[..., Partition],
) -> ReportTable:
    rows, index = [], []
    members: dict[tuple[str, str], pd.Series] = {}
    order = list(dict.fromkeys(scored["timepoint"].astype(str)))
    episode = scored["episode_id"].astype(str)
    for key in keys:
        done = scored[_score_column(key)].notna()
        timepoint = scored["timepoint"].astype(str)
        n_scored_by = done.groupby(timepoint).sum().to_dict()
        n_by = timepoint.value_counts().to_dict()
        for tp in order:
            if tp not in n_by:
                continue
            n_scored, n = int(n_scored_by[tp]), int(n_by[tp])
            rows.append({"scored": n_scored, "not_scored": n - n_scored})
            label = f"{_SHORT[key]} | {tp}"
            index.append(label)
            at = (timepoint == tp).to_numpy(bool)
            # interviews, attached to their episode (an episode counts once per assessment)
            members[(label, "scored")] = episode[at & done.to_numpy(bool)].value_counts()
            members[(label, "not_scored")] = episode[at & ~done.to_numpy(bool)].value_counts()
    counts = pd.DataFrame(rows, index=index).astype("int64")
    part = add("measures_completion", suppress_partition(counts, k), members)
    out = pd.DataFrame(
        {
            "instrument": [i.split(" | ")[0] for i in index],
            "timepoint": [i.split(" | ")[1] for i in index],
            "assessments": pd.array([part.shown(i, TOTAL) for i in index], dtype="Int64"),
            "scored": pd.array([part.shown(i, "scored") for i in index], dtype="Int64"),
            "rate": [_share(part, i, "scored", min_denominator) for i in index],
            "suppressed": [bool(part.hidden.loc[i].any()) for i in index],
        }
    )
    return ReportTable(
        "measures_completion",
        "Standardized measures completed, by assessment",
        out,
        footnote=(
            "Assessments = completed follow-up interviews of the period's episodes; scored = "
            "the instrument has a score (PHQ-9 and GAD-7 prorated from 7 of 9 and 6 of 7 "
            "items; BARC-10 and BAM need every item). The Joint Commission's CTS.03.01.09 EP 3 "
            "asks programs to aggregate and analyze these data."
        ),
    )


def _accreditation_table(
    scored: pd.DataFrame,
    keys: Sequence[str],
    cohorts: pd.Series,
    k: int,
    min_denominator: int,
    add: Callable[..., Partition],
) -> ReportTable:
    episodes = pd.Index(cohorts.index.astype(str))
    rows, index = [], []
    members: dict[tuple[str, str], pd.Series] = {}
    for key in keys:
        col = _score_column(key)
        has = scored.loc[scored[col].notna(), ["episode_id", "timepoint"]]
        base = episodes.isin(has.loc[has["timepoint"] == "intake", "episode_id"].astype(str))
        dis = episodes.isin(has.loc[has["timepoint"] == "discharge", "episode_id"].astype(str))
        rows.append(
            {
                "both": int((base & dis).sum()),
                "intake_only": int((base & ~dis).sum()),
                "discharge_only": int((~base & dis).sum()),
                "neither": int((~base & ~dis).sum()),
            }
        )
        index.append(_SHORT[key])
        for name, flag in (
            ("both", base & dis),
            ("intake_only", base & ~dis),
            ("discharge_only", ~base & dis),
            ("neither", ~base & ~dis),
        ):
            members[(_SHORT[key], name)] = pd.Series(flag.astype("int64"), index=episodes)
    counts = pd.DataFrame(rows, index=index).astype("int64")
    part = add("measures_accreditation", suppress_partition(counts, k), members)

    def union(row: str, columns: Sequence[str]) -> int | None:
        values = [part.shown(row, c) for c in columns]
        return None if any(v is None for v in values) else int(sum(values))  # type: ignore[arg-type]

    def rate(n: Any, total: Any) -> float:
        if pd.isna(n) or pd.isna(total) or total < min_denominator or total == 0:
            return float("nan")
        return float(n / total)

    out = pd.DataFrame(
        {
            "instrument": index,
            "episodes": pd.array([part.shown(i, TOTAL) for i in index], dtype="Int64"),
            "with_intake_score": pd.array(
                [union(i, ["both", "intake_only"]) for i in index], dtype="Int64"
            ),
            "with_discharge_score": pd.array(
                [union(i, ["both", "discharge_only"]) for i in index], dtype="Int64"
            ),
            "with_both": pd.array([part.shown(i, "both") for i in index], dtype="Int64"),
        }
    )
    out["intake_rate"] = [
        rate(n, t) for n, t in zip(out["with_intake_score"], out["episodes"], strict=True)
    ]
    out["both_rate"] = [rate(n, t) for n, t in zip(out["with_both"], out["episodes"], strict=True)]
    out["suppressed"] = [bool(part.hidden.loc[i].any()) for i in index]
    return ReportTable(
        "measures_accreditation",
        "Accreditation summary: episodes measured at intake and discharge",
        out,
        footnote=(
            "Episodes of the period with a score at intake, at discharge, and at both (the "
            "pairs from which change is measured). Episodes still in care have no discharge "
            "score yet."
        ),
    )


def _change_table(
    scored: pd.DataFrame,
    keys: Sequence[str],
    cohorts: pd.Series,
    k: int,
    min_denominator: int,
    add: Callable[..., Partition],
) -> ReportTable:
    from ..instruments import reliable_change

    frames = []
    for key in keys:
        data = scored.assign(cohort=scored["episode_id"].astype(str).map(cohorts))
        try:
            rc = reliable_change(data, key, method="threshold", by="cohort")
        except InsufficientDataError:  # no client with both scores: no change row
            continue
        counts = (
            rc.counts()
            .pivot(index="group", columns="category", values="n_events")
            .reindex(columns=list(CHANGE_CATEGORIES), fill_value=0)
            .astype("int64")
        )
        counts.index = counts.index.astype(str)
        clients = rc.to_frame()
        ids = clients["episode_id"].astype(str).to_numpy()
        members = {
            (cohort, category): pd.Series(
                ((clients["group"].astype(str) == cohort) & (clients["category"] == category))
                .astype("int64")
                .to_numpy(),
                index=ids,
            )
            for cohort in counts.index
            for category in CHANGE_CATEGORIES
        }
        part = add("measures_change", suppress_partition(counts, k), members)
        preset = CHANGE_PRESETS[key]
        rows = []
        for cohort in counts.index:
            row: dict[str, Any] = {
                "instrument": _SHORT[key],
                "cohort": cohort,
                "clients": part.shown(cohort, TOTAL),
            }
            for category in CHANGE_CATEGORIES:
                row[category] = part.shown(cohort, category)
                row[f"{category}_rate"] = _share(part, cohort, category, min_denominator)
            row["suppressed"] = bool(part.hidden.loc[cohort].any())
            row["rule"] = f"reliable change {preset.threshold:g} points, caseness {preset.cutoff:g}"
            rows.append(row)
        frames.append(pd.DataFrame(rows))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    for c in ("clients", *CHANGE_CATEGORIES):
        if c in frame:
            frame[c] = frame[c].astype("Int64")
    table = ReportTable(
        "measures_change",
        "Change from intake to discharge by cohort (NHS Talking Therapies convention)",
        frame,
        footnote=(
            "Clients with a score at intake and at discharge. Reliable improvement: a drop of "
            "at least 6 points (PHQ-9) or 4 points (GAD-7); recovered: reliably improved and "
            "moved from caseness (PHQ-9 10 or more, GAD-7 8 or more) to below it; "
            "deteriorated: a rise of at least that much; otherwise unchanged (NHS Talking "
            "Therapies Manual, NHS England). Shares of clients per cohort."
        ),
    )
    return table


def _change_figure(change: ReportTable) -> ReportFigure | None:
    """Stacked bars of the published change shares (suppressed rows are not drawn)."""
    from .figures import _new, _svg

    frame = change.frame
    if frame.empty:
        return None
    rates = [f"{c}_rate" for c in CHANGE_CATEGORIES]
    shown = frame.loc[frame[rates].notna().all(axis=1)]
    if shown.empty:
        return None
    from ..plots import OKABE_ITO

    colours = (OKABE_ITO[2], OKABE_ITO[0], "#BBBBBB", OKABE_ITO[3])
    labels = [f"{r.instrument}: {r.cohort}" for r in shown.itertuples(index=False)]
    figure, ax = _new(7.0, 1.6 + 0.45 * len(shown))
    y = np.arange(len(shown))[::-1]
    left = np.zeros(len(shown))
    for category, colour in zip(CHANGE_CATEGORIES, colours, strict=True):
        values = shown[f"{category}_rate"].to_numpy(dtype=float)
        ax.barh(y, values, left=left, color=colour, label=category, height=0.6)
        left += values
    ax.set_yticks(y, labels)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.set_xlabel("Share of clients measured at intake and discharge")
    title = "Change from intake to discharge"
    ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="small", frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    alt = "; ".join(
        f"{lab}: " + ", ".join(f"{c} {getattr(r, f'{c}_rate'):.0%}" for c in CHANGE_CATEGORIES)
        for lab, r in zip(labels, shown.itertuples(index=False), strict=True)
    )
    return ReportFigure("measures_change", title, _svg(figure), f"{title}. {alt}.")


def _scatter_figures(
    scored: pd.DataFrame, keys: Sequence[str], cohorts: pd.Series
) -> list[ReportFigure]:
    """Jacobson-Truax scatter per instrument (internal profile only: one point per client)."""
    from ..instruments import reliable_change
    from ..plots import plot_reliable_change
    from .figures import _new, _svg

    out = []
    for key in keys:
        data = scored.assign(cohort=scored["episode_id"].astype(str).map(cohorts))
        try:
            rc = reliable_change(data, key, method="threshold", by="cohort")
        except InsufficientDataError:  # nothing to draw
            continue
        figure, ax = _new(5.2, 5.2)
        plot_reliable_change(rc, ax=ax)
        title = f"{_SHORT[key]}: intake vs discharge, one point per client"
        out.append(
            ReportFigure(
                f"measures_scatter_{key}", title, _svg(figure), f"{title}. {rc.narrative()}"
            )
        )
    return out
