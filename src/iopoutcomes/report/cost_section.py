"""The report section "Cost per outcome" (issue 19), from a computed cost-effectiveness result.

:func:`cost_section` turns a :class:`~iopoutcomes.cea.CostEffectiveness` into a
:class:`~iopoutcomes.report.model.ReportSection`: the unit costs with their source, price year
and conversion; cost per abstinent client by cohort; the ICER or dominance statement in words;
the acceptability curve. The report shows it only when costs are configured (``[costs]``).

Privacy: the clients and abstinent clients per cohort form one partition (cohort x abstinent /
not abstinent), suppressed like every report table and declared to the whole-report audit
(:func:`cost_members`). A cohort's mean cost is published only when the cohort has at least
``k`` clients; its cost per abstinent client only when its abstinent count is published (the
mean cost, the number of clients and the cost per abstinent client together reveal that count);
the differences, ICER, net benefit and curve only when every count of both cohorts is published
and both have at least ``min_denominator`` clients.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from iopoutcomes.cea import cost_effectiveness
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"cohort": ["IOP"] * 120 + ["inpatient"] * 90,
...                    "abstinent_6mo": rng.random(210) < 0.5,
...                    "cost": rng.gamma(2, 4000, 210)})
>>> sec = cost_section(cost_effectiveness(df, n_boot=200), k=11, min_denominator=30)
>>> sec.title, [t.key for t in sec.tables]
('Cost per outcome', ['cost_per_outcome'])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .inputs import ReportInputs
from .model import ReportFigure, ReportSection, ReportTable
from .suppression import TOTAL, Partition, suppress_partition

__all__ = ["COST_TABLE", "cost_members", "cost_section"]

COST_TABLE = "cost_per_outcome"
"""Key of the published partition (cohort x abstinent / not abstinent) in the audit."""


def _money(value: float, currency: str) -> str:
    if not math.isfinite(value):
        return "—"
    symbol = "$" if currency == "USD" else f"{currency} "
    return f"{'-' if value < 0 else ''}{symbol}{abs(value):,.0f}"


def _counts(result: Any) -> pd.DataFrame:
    """Clients by cohort: abstinent / not abstinent (missing counted by the rule) in the
    analysis; the reference once, then every compared group."""
    t = result.table
    rows = {result.reference: (int(t["n_events_ref"].iloc[0]), int(t["n_ref"].iloc[0]))}
    for r in t.to_dict("records"):
        rows[r["group"]] = (int(r["n_events"]), int(r["n"]))
    return pd.DataFrame(
        {
            "abstinent": [e for e, _ in rows.values()],
            "not_abstinent": [n - e for e, n in rows.values()],
        },
        index=pd.Index([str(g) for g in rows], name="cohort"),
    )


def cost_members(table: pd.DataFrame, result: Any, *, definition: Any = None) -> dict[Any, Any]:
    """The episodes (rows of the report's outcome ``table``) behind each published cell, for
    the whole-report disclosure audit: the outcome's denominator (follow-up due, as the rate
    functions) by cohort, abstinent vs not (a missing outcome counts as not abstinent under
    ``missing = using``; under ``exclude`` it is left out), episodes without a cost left out."""
    from ..missing import eligible_mask

    policy = getattr(definition, "death_policy", "missing") if definition is not None else "missing"
    eligible = np.asarray(eligible_mask(table, result.outcome, death_policy=policy), dtype=bool)
    value = table[result.outcome].astype("boolean")
    yes = value.fillna(False).to_numpy(bool)
    observed = value.notna().to_numpy(bool)
    cost = pd.to_numeric(table[result.cost], errors="coerce").to_numpy(float)
    base = eligible & np.isfinite(cost) & (cost >= 0)
    if result.missing_rule == "exclude":
        base &= observed
    cohort = table[result.by].astype("string")
    out: dict[Any, Any] = {}
    for g in _counts(result).index:
        in_g = (cohort == g).fillna(False).to_numpy(bool) & base
        out[(g, "abstinent")] = (in_g & yes).astype(np.int64)
        out[(g, "not_abstinent")] = (in_g & ~yes).astype(np.int64)
    return out


def _figure(result: Any) -> ReportFigure:
    from ..ce_plots import plot_ceac
    from .figures import _new, _svg

    figure, ax = _new()
    plot_ceac(result, ax=ax)
    alt = "; ".join(
        f"{g!s} vs {result.reference!s}: probability cost-effective from "
        f"{100 * part['prob_cost_effective'].iloc[0]:.0f}% at 0 to "
        f"{100 * part['prob_cost_effective'].iloc[-1]:.0f}% at "
        f"{_money(float(part['wtp'].iloc[-1]), result.currency)} per additional abstinent client"
        for g, part in result.ceac.groupby("group", sort=False)
    )
    return ReportFigure("cost_ceac", "Cost-effectiveness acceptability curve", _svg(figure), alt)


def cost_section(
    result: Any,
    *,
    k: int,
    min_denominator: int,
    log: Any = None,
    members: Any = None,
    title: str = "Cost per outcome",
) -> ReportSection:
    """The "Cost per outcome" section from a cost-effectiveness result.

    Parameters
    ----------
    result : CostEffectiveness
        From :func:`iopoutcomes.cost_effectiveness` (with unit costs from
        :func:`iopoutcomes.costs.episode_costs` when configured).
    k, min_denominator : int
        Suppression threshold (counts 1..k-1 hidden) and the smallest cohort whose rates and
        differences are printed.
    log : object, optional
        The report builder's suppression log (``add(key, partition, members)``); declares the
        partition to the whole-report audit.
    members : mapping, optional
        The episodes behind each cell (:func:`cost_members`), for the audit.
    title : str

    Returns
    -------
    ReportSection
    """
    counts = _counts(result)
    part: Partition = suppress_partition(counts, k)
    if log is not None:
        part = log.add(COST_TABLE, part, members)
    currency = result.currency
    year = f"{currency} {result.price_year}" if result.price_year else currency
    paragraphs: list[str] = []
    tables: list[ReportTable] = []
    if result.unit_costs is not None and len(result.unit_costs):
        units = result.unit_costs
        frame = pd.DataFrame(
            {
                "level of care": units["level_of_care"].astype(str),
                "unit cost": [
                    f"{_money(a, currency)} per {p} ({y})"
                    for a, p, y in zip(
                        units["amount"], units["per"], units["price_year"], strict=True
                    )
                ],
                "CPI-U factor": units["factor"].round(4),
                f"unit cost ({year})": [_money(v, currency) for v in units["amount_converted"]],
                "source": units["source"].astype(str),
            }
        )
        tables.append(
            ReportTable(
                "cost_unit_costs",
                "Unit costs and their source",
                frame,
                "Converted to the report's price year with the CPI-U annual averages (BLS "
                "series CUUR0000SA0): factor = CPI of the report year / CPI of the price year.",
            )
        )
        notes = sorted({str(n) for n in units["note"] if str(n)})
        paragraphs.extend(notes)
    shown: dict[str, bool] = {}
    rows = []
    by_group = {str(r["group"]): r for r in result.table.to_dict("records")}
    ref = str(result.reference)
    for g in counts.index:
        r = by_group.get(g)
        n = part.shown(g, TOTAL)
        events = part.shown(g, "abstinent")
        other = part.shown(g, "not_abstinent")
        mean = r["mean_cost"] if r is not None else next(iter(by_group.values()))["mean_cost_ref"]
        per = (
            r["cost_per_event"]
            if r is not None
            else next(iter(by_group.values()))["cost_per_event_ref"]
        )
        size = int(counts.loc[g].sum())
        ok_mean = n is not None and size >= k
        ok_per = ok_mean and events is not None and other is not None and events > 0
        shown[g] = ok_per and size >= min_denominator
        rows.append(
            {
                "cohort": g,
                "clients": n,
                "abstinent": events,
                f"mean cost per episode ({year})": _money(mean, currency) if ok_mean else "—",
                f"cost per abstinent client ({year})": _money(per, currency) if ok_per else "—",
                "suppressed": not ok_per,
            }
        )
    table = pd.DataFrame(rows)
    table["clients"] = table["clients"].astype("Int64")
    table["abstinent"] = table["abstinent"].astype("Int64")
    tables.append(
        ReportTable(
            COST_TABLE,
            f"Cost per abstinent client by cohort ({result.outcome})",
            table,
            "Cost per abstinent client = total cost / clients abstinent = mean cost / share "
            "abstinent; " + result.definition_text(),
        )
    )
    figures: list[ReportFigure] = []
    publish = all(shown.values())
    if publish:
        for r in result.table.to_dict("records"):
            paragraphs.append(result.icer_statement[r["group"]])
            if result.wtp is not None and math.isfinite(r["inmb"]):
                paragraphs.append(
                    f"At a willingness to pay of {_money(result.wtp, currency)} per additional "
                    f"abstinent client, {100 * r['prob_cost_effective']:.0f}% of bootstrap "
                    f"replicates favour {r['group']!s} over {ref}."
                )
        figures.append(_figure(result))
    else:
        paragraphs.append(
            "The cost comparison is not shown: a cohort has fewer clients than the report "
            "publishes, or a count it rests on is suppressed."
        )
    paragraphs.append(result.methods_text().split("\n\nReferences:")[0])
    return ReportSection(
        "costs",
        title,
        tuple(paragraphs),
        (),
        tuple(tables),
        tuple(figures),
        tuple(result.remarks),
    )


def report_cost_section(inputs: ReportInputs) -> ReportSection | None:
    """The section for the quarterly report (its :class:`~.inputs.ReportInputs`), or None when ``[costs]`` is not
    configured (or there is no follow-up timepoint).

    Costs come from ``[costs]`` (:meth:`iopoutcomes.costs.CostSettings.episode_costs` of the
    report's records), the effect is abstinence at the primary timepoint among the outcome
    cohort of the report (windows closed in the lookback quarters) under the report's outcome
    definition (missing-data rule and death policy), the reference is
    ``report.reference_cohort``, and the comparison is adjusted for ``[comparison] adjust``
    when the report's primary analysis is adjusted.
    """
    import dataclasses

    from ..cea import cost_effectiveness
    from ..exceptions import IopOutcomesError

    settings = inputs.config.cost_settings()
    fallback = ""
    tp = inputs.primary
    if settings is None or tp is None:
        return None
    title = "Cost per outcome"
    try:
        ec = settings.episode_costs(inputs.snapshot)
        table = inputs.table.copy()
        table["cost"] = (
            table["episode_id"]
            .astype(str)
            .map(
                ec.table.assign(episode_id=ec.table["episode_id"].astype(str)).set_index(
                    "episode_id"
                )["cost"]
            )
        )
        cohort = inputs.cohort_mask(tp)
        eo = dataclasses.replace(inputs.eo, table=table[cohort].reset_index(drop=True))
        adjust = tuple(inputs.config.adjust) if inputs.config.primary == "adjusted" else ()
        missing = inputs.definition.missing
        if missing not in ("using", "exclude"):
            fallback = (
                f"The report's missing-data rule ({missing}) has no joint bootstrap of costs "
                "and effects; the cost comparison counts a missing outcome as not abstinent "
                "(missing = using)."
            )
        result = cost_effectiveness(
            eo,
            f"abstinent_{tp}",
            by="cohort",
            reference=inputs.config.reference_cohort,
            cost=ec,
            missing=missing if missing in ("using", "exclude") else "using",
            adjust=adjust,
            seed=inputs.seed,
            wtp=settings.wtp or None,
            perspective=settings.perspective,
            cost_includes=settings.includes,
        )
    except IopOutcomesError as exc:
        return ReportSection("costs", title, (f"Not available: {exc}",))
    members = cost_members(table, result, definition=inputs.definition)
    members = {cell: values * cohort for cell, values in members.items()}
    section = cost_section(
        result, k=inputs.k, min_denominator=inputs.min_den, log=inputs.log, members=members
    )
    if fallback:
        section = dataclasses.replace(section, notes=(*section.notes, fallback))
    return section
