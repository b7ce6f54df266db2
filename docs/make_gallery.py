"""Render every figure of ``iopoutcomes.plots`` from the shipped sample into docs/gallery/*.png.

Run from the repository root::

    python docs/make_gallery.py            # writes docs/gallery/*.png
    python docs/make_gallery.py --out DIR  # somewhere else

Each figure is drawn by one ``plot_*`` function on an Axes created here, from the result objects
the library computes on ``iopoutcomes.simulate.load_sample()`` (simulated data: no real
patient appears anywhere). A figure whose input module is missing or fails is reported and
skipped, so the script renders whatever exists; the exit code is 1 if any figure was skipped.
PNG metadata is fixed (no software/date stamp) so reruns give identical files.
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

import iopoutcomes as iop
from iopoutcomes import plots
from iopoutcomes.spc import funnel_table, p_chart

GPRA_TOOL_CHANGE = "2023-01-21"
"""New CSAT GPRA tool (reporting guide §1.1): marked as a break on trend charts that span it."""


def _save(fig: Any, path: Path) -> None:
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


def _fig(width: float = 7.0, height: float = 4.5) -> tuple[Any, Any]:
    return plt.subplots(figsize=(width, height), layout="constrained")


def build(out: Path) -> list[str]:
    """Render the gallery into ``out``; return the names of the figures that failed."""
    from iopoutcomes.simulate import load_sample

    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records = load_sample()
        eo = iop.episode_outcomes(records)
    table = eo.to_frame()

    def rates() -> Any:
        from iopoutcomes.rates import outcome_rates

        fig, ax = _fig(6, 4.5)
        plots.plot_rates(outcome_rates(eo, "abstinent_1mo"), ax=ax)
        ax.set_title("Abstinence at first follow-up by cohort (sample data)")
        return fig

    def rates_timepoints() -> Any:
        from iopoutcomes.rates import outcome_rates

        fig, ax = _fig(8, 4.5)
        tps = ["abstinent_1mo", "abstinent_3mo", "abstinent_6mo", "abstinent_12mo"]
        plots.plot_rates(outcome_rates(eo, tps), ax=ax, band=None)
        ax.set_title("Abstinence by follow-up and cohort")
        return fig

    def comparison() -> Any:
        from iopoutcomes.compare import compare_rates

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cmp = compare_rates(
                eo, ["abstinent_6mo", "abstinent_12mo"], margin=0.1, adjust=["age", "severity"]
            )
        fig, ax = _fig(8, 5.5)
        plots.plot_comparison(cmp, ax=ax)
        ax.set_title("IOP vs inpatient: risk differences (±10-point equivalence margin)")
        return fig

    def milestones() -> Any:
        from iopoutcomes.rates import outcome_rates

        cols = [c for c in table.columns if c.startswith("milestone_")]
        fig, ax = _fig(7, 5)
        plots.plot_milestones(outcome_rates(eo, cols), ax=ax)
        ax.set_title("Completion milestones by cohort")
        return fig

    def milestones_distribution() -> Any:
        fig, ax = _fig(6.5, 4)
        plots.plot_milestones_distribution(eo, ax=ax)
        ax.set_title("Number of milestones met")
        return fig

    def over_time() -> Any:
        from iopoutcomes.longitudinal import compare_over_time

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = compare_over_time(eo)
        fig, ax = _fig(7, 4.5)
        plots.plot_rates_over_time(res.observed, ax=ax, fitted=res.fitted)
        ax.set_title("Abstinence over follow-up, observed and GEE fit")
        return fig

    def km() -> Any:
        from iopoutcomes.survival import time_to_relapse

        fig, ax = _fig(7, 5.5)
        plots.plot_km(time_to_relapse(eo), ax=ax)
        ax.set_title("Time to first use after discharge (Kaplan-Meier)")
        return fig

    def balance() -> Any:
        from iopoutcomes.compare import compare_rates

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cmp = compare_rates(eo, "abstinent_6mo", adjust=["age", "sex", "severity"])
        fig, ax = _fig(6, 3.5)
        plots.plot_balance(cmp, ax=ax)
        ax.set_title("Covariate balance before and after IPTW")
        return fig

    def spc() -> Any:
        due = table[table["followup_due_6mo"].fillna(False).astype(bool)]
        done = due["in_window_6mo"].fillna(False).astype(bool) & (
            due["followup_status_6mo"] == "completed"
        )
        quarterly = (
            due.assign(
                done=done.astype(int), period=pd.PeriodIndex(due["admission_quarter"], freq="Q")
            )
            .groupby("period")["done"]
            .agg(n="size", n_events="sum")
            .reset_index()
        )
        chart = p_chart(quarterly, label="6-month follow-up conducted in window")
        fig, ax = _fig(8, 4.5)
        plots.plot_spc(chart, ax=ax)
        ax.set_title("6-month follow-up rate by admission quarter (p-chart)")
        return fig

    def spc_break() -> Any:
        # a longer illustrative monthly series spanning the GPRA tool change
        import numpy as np

        rng = np.random.default_rng(7)
        n = rng.integers(35, 60, 30)
        p = np.where(np.arange(30) < 19, 0.55, 0.45)
        counts = pd.DataFrame(
            {
                "period": pd.period_range("2021-07", periods=30, freq="M"),
                "n": n,
                "n_events": rng.binomial(n, p),
            }
        )
        chart = p_chart(counts, breaks=[GPRA_TOOL_CHANGE], label="Abstinent at 6 months")
        fig, ax = _fig(9, 4.5)
        plots.plot_spc(chart, ax=ax)
        ax.set_title("Monthly p-chart with the 2023-01-21 GPRA tool change (simulated series)")
        return fig

    def funnel() -> Any:
        sites = (
            table.assign(a=table["abstinent_6mo"].fillna(False).astype(int))
            .groupby("site")["a"]
            .agg(n="size", n_events="sum")
            .reset_index()
        )
        fig, ax = _fig(7, 4.5)
        plots.plot_funnel(funnel_table(sites, label="Abstinent at 6 months"), ax=ax)
        ax.set_title("Sites against the pooled rate (funnel plot, no ranks)")
        return fig

    def cascade() -> Any:
        fig, ax = _fig(7.5, 4.5)
        plots.plot_followup_cascade(iop.cascade_counts(eo), ax=ax)
        ax.set_title("6-month follow-up cascade")
        return fig

    def calendar() -> Any:
        fig, ax = _fig(9, 6)
        plots.plot_use_calendar(records, ax=ax, n_patients=30)
        ax.set_title("Daily use, 30 sampled episodes (pseudonymised)")
        return fig

    def calendar_since_discharge() -> Any:
        fig, ax = _fig(9, 2.8)
        plots.plot_use_calendar(records, ax=ax, mode="since_discharge")
        ax.set_title("Share using by day since discharge")
        return fig

    def cumulative_incidence() -> Any:
        from iopoutcomes.survival import time_to_relapse

        res = time_to_relapse(eo, competing=("died", "incarcerated", "withdrawn"))
        fig, ax = _fig(7, 5.5)
        res.competing_risks.cumulative_incidence.plot(ax=ax)
        ax.set_title("Cumulative incidence of relapse and competing events (Aalen-Johansen)")
        return fig

    def tipping() -> Any:
        from iopoutcomes.sensitivity import tipping_point

        tp = tipping_point(eo, "abstinent_6mo", by="cohort", reference="inpatient", margin=0.10)
        fig, ax = _fig(8, 5.5)
        tp.plot(ax=ax)
        ax.set_title("Tipping point: 6-month abstinence, IOP vs inpatient (margin 10 points)")
        return fig

    def stepdown() -> Any:
        """Continuity after residential/inpatient discharge: the sample's own services table,
        or (until the sample carries one) follow-up visits drawn at seeded delays after its
        residential/inpatient discharges."""
        import numpy as np

        from iopoutcomes.continuity import continuity_of_care

        services = getattr(records, "services", None)
        if services is None or not len(services):
            eps = records.episodes
            stays = eps.loc[
                eps["level_of_care"].isin(["residential", "inpatient"])
                & eps["discharge_date"].notna()
            ]
            rng = np.random.default_rng(17)
            delay = pd.to_timedelta(rng.geometric(0.12, len(stays)) - 1, unit="D")
            kind = rng.choice(["iop", "outpatient", "pharmacotherapy"], len(stays))
            go = rng.random(len(stays)) < 0.8
            services = pd.DataFrame(
                {
                    "patient_id": stays["patient_id"].to_numpy()[go],
                    "service_date": (stays["discharge_date"] + delay).to_numpy()[go],
                    "service_type": kind[go],
                }
            )
        from types import SimpleNamespace

        view = SimpleNamespace(
            episodes=records.episodes, services=services, data_as_of=records.data_as_of
        )
        return continuity_of_care(view)

    def continuity() -> Any:
        fig, ax = _fig(7, 4.5)
        stepdown().plot(ax=ax, by="index_type")
        ax.set_title("Continuity after discharge (CBE #3453): 7- and 14-day follow-up")
        return fig

    def continuity_days() -> Any:
        from iopoutcomes.plots_continuity import plot_days_to_follow_up

        fig, ax = _fig(7, 4.5)
        plot_days_to_follow_up(stepdown(), ax=ax, by="index_type")
        ax.set_title("Days from residential/inpatient discharge to first follow-up")
        return fig

    figures: dict[str, Callable[[], Any]] = {
        "rates": rates,
        "rates_timepoints": rates_timepoints,
        "comparison": comparison,
        "milestones": milestones,
        "milestones_distribution": milestones_distribution,
        "rates_over_time": over_time,
        "km": km,
        "balance": balance,
        "spc": spc,
        "spc_break": spc_break,
        "funnel": funnel,
        "cascade": cascade,
        "use_calendar": calendar,
        "use_since_discharge": calendar_since_discharge,
        "cumulative_incidence": cumulative_incidence,
        "tipping_point": tipping,
        "continuity": continuity,
        "continuity_days": continuity_days,
    }
    failed = []
    for name, make in figures.items():
        try:
            fig = make()
        except Exception:  # report and keep going: the gallery renders whatever exists
            failed.append(name)
            print(f"skipped {name}:\n{traceback.format_exc(limit=3)}", file=sys.stderr)
            plt.close("all")
            continue
        _save(fig, out / f"{name}.png")
        print(f"wrote {out / f'{name}.png'}")
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "gallery")
    args = parser.parse_args(argv)
    failed = build(args.out)
    if failed:
        print(f"{len(failed)} figure(s) skipped: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
