"""Report section "Step-down and continuity" (issue 17), from a computed continuity result.

Continuity after residential/inpatient discharge by cohort and by quarter of discharge, the
quarterly rates as an SPC p-chart, sites in a funnel plot, and the days to the first follow-up
as a distribution over the measure's windows. Every count is suppressed before it is printed or
drawn and is declared to the whole-report disclosure audit with the clients it counts: a
discharge that is an episode of the report's episode table is that episode's unit (so the audit
sees the identities with the other tables), a services-only discharge a unit of its own placed
after every other unit of the report.

Examples
--------
>>> import pandas as pd
>>> from types import SimpleNamespace
>>> from iopoutcomes.continuity import continuity_of_care
>>> n = 40
>>> svc = pd.DataFrame({
...     "patient_id": [f"p{i}" for i in range(n)] * 2,
...     "service_date": pd.to_datetime(["2024-03-01"] * n + ["2024-03-09"] * 20
...                                    + ["2024-04-20"] * 20),
...     "service_type": ["residential"] * n + ["iop"] * n,
...     "end_date": pd.to_datetime(["2024-03-05"] * n + [None] * n)})
>>> res = continuity_of_care(SimpleNamespace(services=svc))
>>> section = continuity_section(res, k=11)
>>> section.title, [t.key for t in section.tables]
('Step-down and continuity', ['continuity_by_cohort', 'continuity_by_quarter'])
>>> section.tables[0].frame[["cohort", "n", "rate_within_7", "rate_within_14"]].values.tolist()
[['no episode', 40, 0.5, 0.5]]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._ci import proportion_ci
from ..exceptions import IopOutcomesError
from .inputs import ReportInputs
from .model import ReportFigure, ReportSection, ReportTable
from .periods import quarters_of
from .suppression import TOTAL, Partition, suppress_partition

__all__ = ["continuity_section", "follow_up_bins"]

TITLE = "Step-down and continuity"
NOT_FOLLOWED = "not_followed"


def follow_up_bins(within: Sequence[int], extra: Sequence[int] = (30,)) -> list[tuple[str, int]]:
    """Disjoint day bins of the first follow-up: ``(column, last day)``, then not followed.

    >>> follow_up_bins((7, 14))
    [('within_7', 7), ('day_8_to_14', 14), ('day_15_to_30', 30)]
    >>> follow_up_bins((7, 30), extra=())
    [('within_7', 7), ('day_8_to_30', 30)]
    """
    edges = sorted(set(int(w) for w in within) | set(int(e) for e in extra))
    out = []
    last = -1
    for i, e in enumerate(edges):
        out.append((f"within_{e}" if i == 0 else f"day_{last + 1}_to_{e}", e))
        last = e
    return out


def _bin_masks(days: pd.Series, bins: list[tuple[str, int]]) -> dict[str, np.ndarray]:
    d = pd.to_numeric(days, errors="coerce").to_numpy(float)
    masks: dict[str, np.ndarray] = {}
    low = -np.inf
    for name, high in bins:
        masks[name] = (d > low) & (d <= high)
        low = high
    masks[NOT_FOLLOWED] = ~np.logical_or.reduce(list(masks.values()))
    return masks


def _partition(
    frame: pd.DataFrame,
    rows: pd.Series,
    bins: list[tuple[str, int]],
    key: str,
    k: int,
    record: Callable[..., Partition] | None,
    units: np.ndarray,
    n_units: int,
) -> tuple[pd.DataFrame, Partition, list[str]]:
    """Counts rows x bins, suppressed, recorded with the units behind every cell."""
    masks = _bin_masks(frame["days_to_follow_up"], bins)
    labels = [str(v) for v in pd.unique(rows.dropna())]
    labels.sort()
    row_masks = {r: (rows == r).fillna(False).to_numpy(bool) for r in labels}
    counts = pd.DataFrame(
        {c: [int((row_masks[r] & m).sum()) for r in labels] for c, m in masks.items()},
        index=labels,
    ).astype("int64")
    part = suppress_partition(counts, k)
    if record is not None:
        members = {}
        for r in labels:
            for c, m in masks.items():
                w = np.zeros(n_units, dtype=np.int64)
                np.add.at(w, units[row_masks[r] & m], 1)
                members[(r, c)] = w
        part = record(key, part, members)
    return counts, part, labels


def _rates(
    part: Partition,
    labels: list[str],
    bins: list[tuple[str, int]],
    within: Sequence[int],
    min_denominator: int,
    confidence_level: float,
) -> pd.DataFrame:
    """Published counts and Wilson rates per window: a rate only when all its counts show."""
    names = [b for b, _ in bins]
    rows = []
    for r in labels:
        n = part.shown(r, TOTAL)
        row: dict[str, Any] = {"n": n}
        hidden_any = bool(part.hidden.loc[r].any())
        for w in within:
            parts = [part.shown(r, b) for b, last in bins if last <= w]
            x = None if any(p is None for p in parts) else int(sum(p or 0 for p in parts))
            row[f"followed_within_{w}"] = x
            if x is not None and n is not None and n >= max(min_denominator, 1):
                lo, hi = proportion_ci(x, n, "wilson", confidence_level)
                row[f"rate_within_{w}"] = float(x) / float(n)
                row[f"ci_low_{w}"], row[f"ci_high_{w}"] = float(lo), float(hi)
            else:
                row[f"rate_within_{w}"] = np.nan
                row[f"ci_low_{w}"] = row[f"ci_high_{w}"] = np.nan
        for b in [*names, NOT_FOLLOWED]:
            row[b] = part.shown(r, b)
        row["suppressed"] = hidden_any
        rows.append(row)
    out = pd.DataFrame(rows, index=labels)
    for c in ["n", *[f"followed_within_{w}" for w in within], *names, NOT_FOLLOWED]:
        out[c] = pd.Series(out[c].tolist(), index=out.index, dtype="Int64")
    return out


def _figure(key: str, title: str, draw: Callable[[Any], Any], alt: str) -> ReportFigure:
    from .figures import _new, _svg

    figure, ax = _new(7.0, 3.6)
    draw(ax)
    ax.set_title(title, fontsize="medium")
    return ReportFigure(key, title, _svg(figure), f"{title}. {alt}")


def _distribution_figure(table: pd.DataFrame, bins: list[tuple[str, int]]) -> ReportFigure | None:
    """Stacked shares of days to first follow-up per cohort (suppressed cohorts not drawn)."""
    names = [b for b, _ in bins] + [NOT_FOLLOWED]
    shown = table.loc[~table[names].isna().any(axis=1) & table["n"].notna()]
    shown = shown.loc[shown["n"].astype(float) > 0]
    if not len(shown):
        return None
    shares = shown[names].astype(float).div(shown["n"].astype(float), axis=0)
    words = {b: b.replace("_", " ") for b in names}
    words[NOT_FOLLOWED] = f"none by day {bins[-1][1]}"

    def draw(ax: Any) -> None:
        left = np.zeros(len(shares))
        y = np.arange(len(shares))
        for b in names:
            ax.barh(y, shares[b].to_numpy(), left=left, label=words[b])
            left = left + shares[b].to_numpy()
        ax.set_yticks(y, [str(c) for c in shares.index])
        ax.set_xlim(0, 1)
        ax.set_xlabel("Share of discharges, by days from discharge to first follow-up")
        ax.legend(frameon=False, fontsize="small", loc="lower right")

    alt = "; ".join(
        f"{c}: " + ", ".join(f"{words[str(b)]} {100 * float(v):.0f}%" for b, v in row.items())
        for c, row in shares.iterrows()
    )
    return _figure("continuity_days", "Days from discharge to first follow-up", draw, alt + ".")


def continuity_section(
    result: Any,
    *,
    k: int,
    record: Callable[..., Partition] | None = None,
    episode_ids: pd.Series | None = None,
    n_other_units: int = 0,
    sites: Mapping[str, str] | None = None,
    quarters: Sequence[str] | None = None,
    fiscal_year_start_month: int = 1,
    min_denominator: int = 1,
    confidence_level: float = 0.95,
) -> ReportSection:
    """The "Step-down and continuity" section from a :class:`ContinuityResult`.

    Parameters
    ----------
    result : ContinuityResult
        From :func:`iopoutcomes.continuity_of_care` (included discharges only are counted).
    k : int
        Small-cell threshold: counts 1 .. k-1 are hidden (with complementary cells).
    record : callable, optional
        The report builder's suppression log ``add(key, partition, members)``: declares every
        table's counts to the whole-report disclosure audit with the units behind each cell.
    episode_ids : pandas.Series, optional
        ``episode_id`` of the report's episode table, in its row order: a discharge of one of
        those episodes is counted on that row's unit.
    n_other_units : int
        Units the report already counts beyond its episode rows (e.g. rejected input rows);
        services-only discharges are placed after them.
    sites : mapping, optional
        Published site label per ``episode_id`` (the report's own, pooled or pseudonymised):
        the funnel plot uses these, never the raw site names.
    quarters : sequence of str, optional
        Quarter labels (``"2024Q3"``) to report; default every quarter present.
    fiscal_year_start_month : int
        First month of the reporting year (quarters are named as the report names them).
    min_denominator : int
        Rates on fewer discharges are not shown.
    confidence_level : float
        Level of the Wilson intervals.

    Returns
    -------
    ReportSection
    """
    d = result.definition
    within = tuple(d.within)
    inc = result.included.reset_index(drop=True)
    q = quarters_of(inc["discharge_date"], fiscal_year_start_month).astype(str)
    inc = inc.assign(_quarter=q.to_numpy())
    if quarters is not None:
        inc = inc.loc[inc["_quarter"].isin([str(x) for x in quarters])].reset_index(drop=True)
    if not len(inc):
        return ReportSection(
            "continuity",
            TITLE,
            (
                "Not available: no residential or inpatient discharge with a "
                "closed follow-up window in the reporting quarters.",
            ),
        )
    ids = pd.Series(episode_ids if episode_ids is not None else [], dtype="string")
    n_rows = len(ids)
    pos = pd.Index(ids).get_indexer(inc["episode_id"].astype("string"))
    extra = np.flatnonzero(pos < 0)
    units = pos.astype(np.int64)
    units[extra] = n_rows + int(n_other_units) + np.arange(len(extra))
    n_units = n_rows + int(n_other_units) + len(extra)
    bins_full = follow_up_bins(within, extra=(30,) if max(within) < 30 else ())
    bins_windows = follow_up_bins(within, extra=())
    paragraphs = [
        f"Follow-up after residential and inpatient discharges ({d.title}; preset {d.name}): "
        + " and ".join(f"{w}-day" for w in within)
        + " continuity rates with Wilson intervals. Discharges still inside their window at "
        "the data-as-of date, after a death or in hospice care are not counted (see methods)."
    ]
    tables: list[ReportTable] = []
    figures: list[ReportFigure] = []
    # by cohort, with the days-to-first-follow-up bins
    _, part, labels = _partition(
        inc,
        inc["cohort"].astype("string"),
        bins_full,
        "continuity_by_cohort",
        k,
        record,
        units,
        n_units,
    )
    by_cohort = _rates(part, labels, bins_full, within, min_denominator, confidence_level)
    by_cohort.insert(0, "cohort", labels)
    total = part.shown(TOTAL, TOTAL)
    if total is not None:
        paragraphs.append(f"{total:,} index discharges counted.")
    tables.append(
        ReportTable(
            "continuity_by_cohort",
            "Continuity after residential/inpatient discharge by cohort",
            by_cohort.reset_index(drop=True),
            footnote=result.methods_text().split(" Excluded:")[0]
            + " Discharges not linked to an episode are shown as 'no episode'. Counts of 1 to "
            f"{k - 1} are suppressed, with complementary cells.",
        )
    )
    dist = _distribution_figure(by_cohort.set_index("cohort"), bins_full)
    if dist is not None:
        figures.append(dist)
    # by quarter of discharge, with a p-chart of the shortest window
    _, qpart, qlabels = _partition(
        inc,
        inc["_quarter"].astype("string"),
        bins_windows,
        "continuity_by_quarter",
        k,
        record,
        units,
        n_units,
    )
    by_quarter = _rates(qpart, qlabels, bins_windows, within, min_denominator, confidence_level)
    by_quarter.insert(0, "quarter", qlabels)
    tables.append(
        ReportTable(
            "continuity_by_quarter",
            "Continuity by quarter of discharge",
            by_quarter.reset_index(drop=True),
            footnote="Quarter of the discharge date; suppressed quarters are neither drawn nor "
            "used for the control limits.",
        )
    )
    first = f"followed_within_{within[0]}"
    if len(qlabels) >= 2:
        from ..spc import p_chart
        from .figures import spc_figure

        hidden = by_quarter[first].isna() | by_quarter["n"].isna()
        counts = pd.DataFrame(
            {
                "period": [pd.Period(x, freq="Q") if "Q" in x else x for x in qlabels],
                "n": by_quarter["n"].fillna(0).astype("int64").to_numpy(),
                "n_events": by_quarter[first].astype("Float64").to_numpy(float, na_value=np.nan),
            }
        )
        counts.loc[hidden.to_numpy(), "n_events"] = np.nan
        try:
            chart = p_chart(counts, label=f"followed up within {within[0]} days")
            figures.append(
                spc_figure(chart, "continuity_spc", f"SPC chart: follow-up within {within[0]} days")
            )
        except IopOutcomesError as exc:
            paragraphs.append(f"The quarterly chart could not be drawn: {exc}")
    # sites in a funnel plot (published site labels only)
    if sites:
        site = inc["episode_id"].astype("string").map(dict(sites)).astype("string")
        if site.notna().any():
            figures.extend(_site_funnel(inc, site, bins_windows, within, k, record, units, n_units))
    return ReportSection("continuity", TITLE, tuple(paragraphs), (), tuple(tables), tuple(figures))


def _site_funnel(
    inc: pd.DataFrame,
    site: pd.Series,
    bins: list[tuple[str, int]],
    within: Sequence[int],
    k: int,
    record: Callable[..., Partition] | None,
    units: np.ndarray,
    n_units: int,
) -> list[ReportFigure]:
    from ..plots import plot_funnel
    from ..spc import funnel_table

    keep = site.notna().to_numpy(bool)
    _, part, labels = _partition(
        inc.loc[keep].reset_index(drop=True),
        site.loc[keep].reset_index(drop=True),
        bins,
        "continuity_by_site",
        k,
        record,
        units[keep],
        n_units,
    )
    rates = _rates(part, labels, bins, within, 1, 0.95)
    first = f"followed_within_{within[0]}"
    hidden = rates[first].isna() | rates["n"].isna()
    counts = pd.DataFrame(
        {
            "site": labels,
            "n": rates["n"].fillna(0).astype("int64").to_numpy(),
            "n_events": rates[first].astype("Float64").to_numpy(float, na_value=np.nan),
            "suppressed": hidden.to_numpy(bool),
        }
    )
    try:
        funnel = funnel_table(counts, unit="site", label=f"followed up within {within[0]} days")
    except IopOutcomesError:
        return []
    table = funnel.to_frame()
    alt = "; ".join(
        f"{s}: {'suppressed' if h else f'{100 * r:.0f}%'}"
        for s, r, h in zip(table["site"], table["rate"], counts["suppressed"], strict=True)
    )
    return [
        _figure(
            "continuity_funnel",
            f"Funnel plot of sites: follow-up within {within[0]} days",
            lambda ax: plot_funnel(funnel, ax=ax),
            alt + ".",
        )
    ]


def report_continuity_section(inputs: ReportInputs) -> ReportSection | None:
    """The section for the quarterly report (its :class:`~.inputs.ReportInputs`): None when the
    records have no services.

    Reads what the report inputs already decided (the snapshot at the data-as-of date, the episode
    table and its published site labels, k, the trend quarters) and declares the counts to its
    suppression log; the continuity engine itself never sees the report.
    """
    services = getattr(inputs.snapshot, "services", None)
    if services is None or not len(services):
        return None
    from ..continuity import continuity_of_care

    table = inputs.table
    sites = (
        dict(zip(table["episode_id"].astype(str), table["_site"].astype("string"), strict=True))
        if "_site" in table and table["_site"].notna().any()
        else None
    )
    trend = inputs.trend
    section = continuity_section(
        continuity_of_care(inputs.snapshot),
        k=inputs.k,
        record=inputs.log.add,
        episode_ids=table["episode_id"],
        # the rejected-rows table places its units right after the episode rows
        n_other_units=len(getattr(inputs.records, "rejected", ())),
        sites={k: v for k, v in (sites or {}).items() if not pd.isna(v)} or None,
        quarters=[str(p) for p in trend] if trend is not None else None,
        fiscal_year_start_month=inputs.config.fiscal_year_start_month,
        min_denominator=inputs.min_den,
    )
    return section
