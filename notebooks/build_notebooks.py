"""Build the example notebooks from the cell lists below, and execute them with nbclient.

The notebooks are generated, not edited by hand: each ``nbNN_*`` function returns the cells of
one notebook as a list of ``md(...)`` / ``code(...)`` items, so a review reads Python and
Markdown here instead of JSON. ``tests/test_notebooks.py`` checks that the committed ``.ipynb``
files hold exactly these cells and executes every notebook again.

Usage (from the repository root)::

    python notebooks/build_notebooks.py                 # write and execute every notebook
    python notebooks/build_notebooks.py 01 04           # only the notebooks whose names start so
    python notebooks/build_notebooks.py --no-execute    # write the cells only (no outputs)

Execution runs in this folder (relative paths in the notebooks are relative to it), on the
``python3`` kernel, and keeps the outputs in the written file. Notebook 06 reads the CTN-0094
tables from ``$IOPOUTCOMES_CTN0094`` (default ``../../shared/real/ctn0094``); when that folder is
absent it is written without outputs.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
KERNEL_NAME = "python3"
CELL_TIMEOUT = 300  # seconds per cell (the slowest cell takes a few seconds)
CTN0094_DEFAULT = "../../shared/real/ctn0094"

Cell = tuple[str, str, tuple[str, ...]]


def md(text: str) -> Cell:
    """A Markdown cell (the text is dedented and stripped)."""
    return ("markdown", textwrap.dedent(text).strip(), ())


def code(text: str, *tags: str) -> Cell:
    """A code cell, optionally tagged (e.g. ``"parameters"``)."""
    return ("code", textwrap.dedent(text).strip(), tuple(tags))


SETUP = """
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

import iopoutcomes as iop
from iopoutcomes import plots

pd.set_option("display.precision", 3)
pd.set_option("display.max_columns", 40)
pd.set_option("display.float_format", "{:,.3f}".format)
plt.rcParams["figure.dpi"] = 90
iop.__version__
"""


# =================================================================================================
# 01 quickstart
# =================================================================================================


def nb01_quickstart() -> list[Cell]:
    return [
        md(
            """
            # Quickstart: from follow-up records to an IOP vs inpatient comparison

            This notebook walks once through the whole `iopoutcomes` pipeline on the shipped
            sample:

            1. **Records**: the three canonical tables (episodes, follow-ups, daily use
               calendar), validated, with a report of every rejected row;
            2. **Outcomes**: one row per treatment episode, computed under a declared
               *definition* (what counts as abstinent, which follow-up window, what to do with
               missing follow-ups);
            3. **Rates**: abstinence at follow-up with confidence intervals, set against the
               50-70% band from the literature (McCarty et al. 2014);
            4. **Comparison**: intensive outpatient (IOP) against inpatient/residential care,
               with an equivalence margin, and the plain-language and methods text a report or
               paper needs;
            5. **Plots** drawn on Axes you own.

            The sample is **synthetic** (`iopoutcomes.simulate_records`); no real person is in
            it. Every number below is computed when the notebook runs.
            """
        ),
        code(SETUP),
        md(
            """
            ## 1. Records

            `iop.load_sample()` rebuilds the sample records (600 episodes at six sites, the
            same data as the CSV files in `data/samples/`) from their seed. The result is a
            `Records` object: the accepted rows of each table, typed, plus the rejected rows
            with a reason code. Its first line says what it is and on how much data; the table
            under it counts rows read, accepted and rejected per table.
            """
        ),
        code(
            """
            records = iop.load_sample()
            records
            """
        ),
        md(
            """
            Each episode is one admission, with a `cohort` (the comparison groups: `IOP` and
            `inpatient`, which includes residential care), the level of care and ASAM code it
            was derived from, the site, the discharge and covariates. Identifiers are left out
            of the displays in these notebooks: aggregates are all we need.
            """
        ),
        code(
            """
            pd.crosstab(
                [records.episodes["cohort"], records.episodes["level_of_care"]],
                records.episodes["site"],
                margins=True,
            )
            """
        ),
        md(
            """
            ## 2. Reading your own files, and the rejection report

            Real exports go through `iop.read_records(episodes, followups, use_days)` (CSV,
            Parquet, Excel or DataFrames; `columns=` and `codes=` map other layouts onto the
            canonical one). Reading the sample's CSV files gives the same tables:
            """
        ),
        code(
            """
            SAMPLES = Path("..") / "data" / "samples"
            from_csv = iop.read_records(
                SAMPLES / "episodes.csv", SAMPLES / "followups.csv", SAMPLES / "use_days.csv"
            )
            from_csv
            """
        ),
        md(
            """
            Nothing is rejected there. To see what happens with a messy export, we damage a
            copy on purpose: an American-style date, a discharge before admission, an unknown
            level of care and a duplicated episode in the episodes table; an impossible
            days-of-use value, an undeclared timepoint and an unknown status in the follow-ups.

            A bad row is **never silently fixed or dropped**: it is rejected with a reason code,
            the other rows are kept, and rows that refer to a rejected episode are rejected in
            turn (`unknown_episode`). The messages name the column and the rule, never the
            value, so the report can be shared.
            """
        ),
        code(
            """
            import tempfile

            episodes_raw = pd.read_csv(SAMPLES / "episodes.csv", dtype=str, keep_default_na=False)
            followups_raw = pd.read_csv(SAMPLES / "followups.csv", dtype=str, keep_default_na=False)
            episodes_raw.loc[3, "admission_date"] = "03/01/2024"      # not ISO (%Y-%m-%d)
            episodes_raw.loc[7, "discharge_date"] = "2023-12-01"      # before admission
            episodes_raw.loc[11, "level_of_care"] = "outpatient-ish"  # not in the vocabulary
            episodes_raw = pd.concat([episodes_raw, episodes_raw.iloc[[20]]])  # duplicate
            followups_raw.loc[5, "days_used_past30"] = "45"           # outside 0..30
            followups_raw.loc[9, "timepoint"] = "9mo"                 # undeclared timepoint
            followups_raw.loc[13, "status"] = "lost"                  # not in the vocabulary

            damaged_dir = Path(tempfile.mkdtemp())
            episodes_raw.to_csv(damaged_dir / "episodes.csv", index=False)
            followups_raw.to_csv(damaged_dir / "followups.csv", index=False)
            damaged = iop.read_records(damaged_dir / "episodes.csv", damaged_dir / "followups.csv")
            damaged
            """
        ),
        md(
            """
            `rejection_counts()` is the summary to send back to whoever made the export;
            `rejected` has one row per rejected source row (file, row number, column, reason),
            so each can be found and fixed at the source.
            """
        ),
        code(
            """
            damaged.rejection_counts()
            """
        ),
        code(
            """
            damaged.rejected[["table", "source", "row", "column", "reason"]].head(10)
            """
        ),
        md(
            """
            ## 3. One row of outcomes per episode

            `iop.episode_outcomes(records)` applies an `OutcomeDefinition`. The default one
            says:

            * **abstinent at a follow-up** = the follow-up was completed and reported no use in
              the past 30 days (a 30-day point prevalence, as in GPRA; Hughes et al. 2003);
            * each follow-up has a **window** (6 months = days 152-243 after admission);
              interviews outside it still count, and how many did is reported;
            * **missing = using**: an episode without an outcome counts as *not abstinent* when
              rates are computed (the intention-to-treat convention in addiction research).
              The episode table itself keeps the outcome missing, with a status column that
              says why; notebook 03 compares the other missing-data rules.
            """
        ),
        code(
            """
            outcomes = iop.episode_outcomes(records)
            print(outcomes.definition.describe())
            """
        ),
        md(
            """
            The display is a per-timepoint summary: how many follow-ups were completed, why the
            others were not (`not_located`, `refused`, ...; `pending` = the window is still open
            on the data-as-of date, so the follow-up is not due yet), how many were in the
            window and abstinent. The numbered remarks under the table are part of the result.
            """
        ),
        code(
            """
            outcomes
            """
        ),
        md(
            """
            Because missing = using counts every unreached client as using, the **follow-up
            rate** bounds what the abstinence rate can be. The GPRA convention is *conducted in
            window / due*, against an 80% target; windows still open are not due.
            """
        ),
        code(
            """
            followup = iop.followup_rates(outcomes, timepoints=("6mo", "12mo"))
            print(followup.narrative())
            followup
            """
        ),
        md(
            """
            ## 4. Abstinence rates and the 50-70% band

            `iop.abstinence_rates` gives the rate per cohort with Wilson 95% intervals under the
            definition's missing-data rule. The denominator `n` is the episodes whose follow-up
            is **due**, the same episodes as in the follow-up rate above: a window still open
            is not yet a failure, so it is left out (the first remark counts them). McCarty et
            al. (2014), reviewing IOP studies, report 50-70% abstinent at follow-up in both IOP
            and inpatient/residential care: that band is the library's default benchmark.
            """
        ),
        code(
            """
            rates = iop.abstinence_rates(outcomes, timepoints=("6mo", "12mo"))
            rates
            """
        ),
        code(
            """
            print(iop.MCCARTY_2014.text())
            rates.check_benchmark()[["group", "timepoint", "rate", "ci_low", "ci_high", "position"]]
            """
        ),
        md(
            """
            `position` compares the whole interval with the band: `inside`, `overlapping`,
            `below` or `above`. Keep the rule in mind when reading it: under missing = using
            every client who was not reached counts against the program, so a low follow-up
            rate pulls the rate below the band whatever the clients' real outcomes. The
            sentences below are generated from the table (`narrative()`), ready to quote:
            """
        ),
        code(
            """
            print(rates.narrative())
            """
        ),
        md(
            """
            ## 5. IOP vs inpatient, with an equivalence margin

            `iop.compare_rates(outcomes, margin=0.10)` compares each cohort with the reference
            (`inpatient`) on 6-month abstinence: the difference in percentage points with the
            Miettinen-Nurminen score interval, risk and odds ratios, the 'N-1' chi-square test
            of no difference (the score test that interval inverts, so the p-value and the
            interval never disagree), and, with a **margin** of 10 points, score tests of
            non-inferiority and equivalence that give a verdict:

            * `equivalent`: the difference is shown to lie within ±10 points;
            * `non-inferior`: IOP is shown to be at most 10 points worse (it may be better);
            * `inferior`: IOP is shown to be more than 10 points worse;
            * `inconclusive`: the data are compatible with differences inside and outside the
              margin.

            Non-inferiority is tested one-sided at 2.5% (ICH E9/E10, FDA 2016): the lower limit
            of the 95% interval must lie above -10 points. Equivalence uses two one-sided tests
            at 5% each (Schuirmann), whose matching interval is the 90% one
            (`equivalence_ci_low`, `equivalence_ci_high`; `equivalence_alpha=` changes it). The
            narrative prints each verdict beside the interval of its test, with its level.
            When outcomes are missing, the complete-case and bounds rows follow the primary
            row as sensitivity analyses. Follow-ups not yet due are left out of the comparison
            by the same rule as in the rates, as the first remark says.
            """
        ),
        code(
            """
            comparison = iop.compare_rates(outcomes, margin=0.10)
            comparison
            """
        ),
        md(
            """
            `narrative()` turns the numbers into plain language, calling an inconclusive result
            inconclusive; `methods_text()` is the paragraph for a paper's methods section,
            with references.
            """
        ),
        code(
            """
            print(comparison.narrative())
            """
        ),
        code(
            """
            print(comparison.methods_text())
            """
        ),
        md(
            """
            ### One denominator everywhere

            The follow-up rate, the abstinence rates, the comparison and the analysis across
            all follow-ups (`compare_over_time`, notebook 04) share one rule for who is in the
            denominator of a follow-up: the episodes whose window has closed by the data-as-of
            date (minus deaths and incarcerations under `death_policy="exclude"`). So the same
            6-month outcome has the same `n` in every result:
            """
        ),
        code(
            """
            def n_by_group(frame, timepoint="6mo"):
                # n per group at one timepoint, from a result's table
                rows = frame.loc[frame["timepoint"].astype(str) == timepoint]
                return rows.set_index("group")["n"]

            compared = comparison.to_frame().iloc[0]
            due = followup.to_frame().query("timepoint == '6mo'").set_index("group")
            denominators = pd.DataFrame(
                {
                    "episodes": due["episodes"],
                    "pending": due["pending"],
                    "followup_rates": due["n"],
                    "abstinence_rates": n_by_group(rates.to_frame()),
                    "compare_rates": pd.Series(
                        {compared["group"]: compared["n"], compared["reference"]: compared["n_ref"]}
                    ),
                    "compare_over_time": n_by_group(iop.compare_over_time(outcomes).observed),
                }
            ).rename_axis("6-month follow-up")
            display(denominators)
            same = denominators.iloc[:, 2:].nunique(axis=1).eq(1).all()
            not_pending = (denominators["episodes"] - denominators["pending"]).eq(
                denominators["followup_rates"]
            ).all()
            display(Markdown(
                f"The four results {'give the same' if same else 'do **not** give the same'} "
                "6-month denominator for every cohort"
                + (": its episodes minus those whose window is still open." if not_pending else ".")
            ))
            """
        ),
        md(
            """
            ## 6. Plots

            Every result draws itself on a matplotlib Axes you pass (`result.plot(ax=ax)`, or
            the `iopoutcomes.plots` functions): rates with their intervals over the literature
            band, the comparison as a forest plot with the margin, and the follow-up cascade
            from episodes to analysed outcomes.
            """
        ),
        code(
            """
            fig, axes = plt.subplots(1, 2, figsize=(14, 5), constrained_layout=True)
            rates.plot(ax=axes[0])
            axes[0].set_title("Abstinence by cohort, with the McCarty et al. band")
            plots.plot_followup_cascade(iop.cascade_counts(outcomes, "6mo"), ax=axes[1])
            axes[1].set_title("Follow-up cascade, 6 months")
            plt.show()
            """
        ),
        code(
            """
            fig, ax = plt.subplots(figsize=(10, 3), constrained_layout=True)
            comparison.plot(ax=ax)
            ax.set_title("IOP minus inpatient at 6 months, with the ±10-point margin")
            plt.show()
            """
        ),
        md(
            """
            ## What next

            The comparison above is **unadjusted**. In these data, as in real programs, more
            severe clients are sent to inpatient care and severity also predicts relapse, so the
            crude difference mixes the effect of the setting with the effect of who was
            admitted. Notebook 02 adjusts for case mix and checks the answer against the known
            truth of the simulation; notebook 03 shows how much the missing-data rule matters;
            notebook 04 turns to sustained abstinence and time to relapse; notebook 05 builds
            the quarterly report; notebook 06 runs the same tools on real trial data
            (CTN-0094).
            """
        ),
    ]


# =================================================================================================
# 02 confounding
# =================================================================================================


def nb02_confounding() -> list[Cell]:
    return [
        md(
            """
            # Confounding by severity: unadjusted, g-computation and IPTW against the known truth

            IOP and inpatient clients are not alike. Clinicians send people with more severe
            problems to inpatient care, and severity also predicts relapse. A crude comparison
            of abstinence rates therefore credits IOP with the better prognosis of its clients.
            This is **confounding**, and no amount of data removes it: the comparison has to be
            adjusted for the covariates that drive both the setting and the outcome.

            The simulator builds exactly this situation and keeps the answer: with
            `effect_iop_logodds=0` the two settings are equally effective after treatment (the
            true causal risk difference at 6 and 12 months is exactly 0), and with a positive
            value IOP is truly better, by an amount recorded in `records.truth.causal_effects`.
            We use it to check that adjustment recovers the truth.

            To study confounding alone we switch off the other problems: everyone who is alive
            and free is reached at follow-up (`followup_rate=1.0`), nobody under-reports use
            (`uds_underreport=0.0`), and the data-as-of date is late enough for every follow-up
            window to have closed. Notebook 03 brings the missing follow-ups back.
            """
        ),
        code(SETUP),
        code(
            """
            SIMULATION = dict(
                n=3000, seed=2024, followup_rate=1.0, uds_underreport=0.0, data_as_of="2027-12-31"
            )
            COVARIATES = ["severity", "age", "sex", "primary_substance", "site"]

            records = iop.simulate_records(**SIMULATION, effect_iop_logodds=0.0)
            records.truth
            """
        ),
        md(
            """
            `records.truth` holds the full-data counts (every episode, whether followed up or
            not) and the causal effects: the abstinence risk if *every* episode had been
            treated in IOP, the risk if every episode had been treated inpatient, and their
            difference, computed from both potential outcomes of each episode.
            """
        ),
        code(
            """
            records.truth.causal_effects
            """
        ),
        md(
            """
            ## 1. Severity drives both the setting and the outcome

            First the setting: inpatient clients are more severe, and the substance mix and age
            differ too. Then the outcome: within each cohort, abstinence at 6 months falls with
            severity. A covariate related to both is a confounder.

            The outcomes use `missing="exclude"`: with everyone reachable, the only missing
            outcomes are deaths, incarcerations and withdrawals, and leaving them out changes
            nothing here (notebook 03 is about the cases where it does).
            """
        ),
        code(
            """
            outcomes = iop.episode_outcomes(records, missing="exclude")
            table = outcomes.table
            table.groupby("cohort")[["severity", "age"]].agg(["mean", "std"])
            """
        ),
        code(
            """
            pd.crosstab(table["primary_substance"], table["cohort"], normalize="columns")
            """
        ),
        code(
            """
            bands = pd.cut(table["severity"], [0, 3, 5, 7, 10], include_lowest=True,
               labels=["0-3", "3-5", "5-7", "7-10"])
            by_band = (
                table.assign(severity_band=bands)
                .groupby(["severity_band", "cohort"], observed=True)["abstinent_6mo"]
                .agg(rate="mean", n="count")
                .reset_index()
            )

            fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), constrained_layout=True)
            for i, (cohort, part) in enumerate(table.groupby("cohort")):
                axes[0].hist(part["severity"], bins=np.arange(0, 10.5, 0.5), alpha=0.6,
                             density=True, label=f"{cohort} (n = {len(part)})",
                             hatch=["", "//"][i])
            axes[0].set(xlabel="severity (0-10)", ylabel="density",
                        title="Who is treated where")
            axes[0].legend()
            for marker, (cohort, part) in zip("os", by_band.groupby("cohort")):
                axes[1].plot(part["severity_band"].astype(str), part["rate"], marker=marker,
                             label=cohort)
            axes[1].yaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0, decimals=0))
            axes[1].set(xlabel="severity band", ylabel="abstinent at 6 months",
                        title="Severity predicts the outcome in both settings")
            axes[1].legend()
            plt.show()
            """
        ),
        md(
            """
            ## 2. Unadjusted vs adjusted, in one call

            `compare_rates(..., adjust=[...])` adds two case-mix adjusted analyses to the crude
            one, each giving the **average treatment effect** (ATE: the difference if everyone
            were treated in IOP vs if everyone were treated inpatient):

            * **g-computation** (standardisation; Robins 1986): a logistic regression of the
              outcome on setting and covariates predicts each client's risk under both
              settings; the averages are compared. Delta-method intervals.
            * **IPTW** (inverse probability of treatment weighting; Rosenbaum & Rubin 1983): a
              logistic propensity model of the setting on the covariates weights each client by
              the inverse probability of the setting they got, which balances the covariates
              between the weighted cohorts. Sandwich intervals that account for the estimated
              propensity score.

            Both assume that the covariates named capture all confounding (no unmeasured
            confounders) and that every kind of client could have been treated in either
            setting (positivity). In this simulation both hold by construction.
            """
        ),
        code(
            """
            adjusted = iop.compare_rates(outcomes, adjust=COVARIATES)
            adjusted
            """
        ),
        md(
            """
            The full table has every effect measure; the columns that matter here:
            """
        ),
        code(
            """
            adjusted.to_frame()[
                ["analysis", "n", "rate", "n_ref", "rate_ref", "diff", "diff_ci_low",
                 "diff_ci_high", "pvalue"]
            ]
            """
        ),
        code(
            """
            print(adjusted.narrative())
            """
        ),
        md(
            """
            ## 3. Did the weighting balance the cohorts?

            A propensity model is judged by the balance it achieves, not by its fit. The
            balance table gives each covariate level's mean in both cohorts before and after
            weighting and the **standardized mean difference** (SMD); an absolute SMD below 0.1
            is the usual sign of adequate balance (Austin 2009). The *love plot* shows the same
            numbers.
            """
        ),
        code(
            """
            adjusted.balance[
                ["covariate", "level", "mean_group", "mean_reference", "smd_unweighted",
                 "smd_weighted"]
            ]
            """
        ),
        code(
            """
            fig, ax = plt.subplots(figsize=(7, 5.5), constrained_layout=True)
            plots.plot_balance(adjusted.balance, ax=ax)
            ax.set_title("Covariate balance before and after IPTW")
            plt.show()
            """
        ),
        md(
            """
            Positivity can be checked on the propensity scores themselves: the two cohorts'
            distributions must overlap. Here we plot the *true* probability of IOP that the
            simulator used (`truth.propensity_iop`); with real data use the fitted scores.
            """
        ),
        code(
            """
            propensity = records.truth.propensity_iop.rename("propensity_iop")
            scores = table[["episode_id", "cohort"]].join(propensity, on="episode_id")

            fig, ax = plt.subplots(figsize=(7, 3.8), constrained_layout=True)
            for hatch, (cohort, part) in zip(["", "//"], scores.groupby("cohort")):
                ax.hist(part["propensity_iop"], bins=np.linspace(0, 1, 41), alpha=0.6,
                        density=True, hatch=hatch, label=cohort)
            ax.set(xlabel="probability of being treated in IOP", ylabel="density",
                   title="Overlap of the propensity scores")
            ax.legend()
            plt.show()
            """
        ),
        md(
            """
            ## 4. The adjustment functions directly

            `iop.adjusted_comparison` is what `compare_rates` calls. Used directly it offers more
            choices: the estimand (`ATE`, or `ATT`, the effect among the clients who were
            actually treated in IOP), cluster-robust errors by site, and bootstrap intervals.
            It needs an outcome without missing values (apply the missing-data rule first).
            The result is an `AdjustedEstimate` with the same display, `narrative()` and
            `methods_text()` as the other results.
            """
        ),
        code(
            """
            analysed = table.dropna(subset=["abstinent_6mo"])
            att = iop.adjusted_comparison(
                analysed, "abstinent_6mo", "cohort", "IOP", "inpatient", COVARIATES,
                method="gcomp", estimand="ATT", cluster="site",
            )
            att
            """
        ),
        code(
            """
            print(att.narrative())
            print()
            print(att.methods_text())
            """
        ),
        md(
            """
            ## 5. Recovering the known truth

            Now the check. We simulate a second world, identical except that IOP is truly
            better (`effect_iop_logodds=0.5`), and compare each estimate with the true causal
            risk difference at 6 months in its world. The crude difference is off by the
            confounding in both worlds; the adjusted estimates should be close to the truth
            and their intervals should cover it.
            """
        ),
        code(
            """
            def estimates(records, adjusted, world):
                truth = records.truth.causal_effects.set_index("timepoint").loc["6mo"]
                frame = adjusted.to_frame()[["analysis", "diff", "diff_ci_low", "diff_ci_high"]]
                return frame.assign(
                    world=world,
                    true_difference=truth["risk_difference"],
                    covers_truth=(frame["diff_ci_low"] <= truth["risk_difference"])
                    & (truth["risk_difference"] <= frame["diff_ci_high"]),
                )

            records_better = iop.simulate_records(**SIMULATION, effect_iop_logodds=0.5)
            outcomes_better = iop.episode_outcomes(records_better, missing="exclude")
            adjusted_better = iop.compare_rates(outcomes_better, adjust=COVARIATES)

            check = pd.concat(
                [
                    estimates(records, adjusted, "equally effective"),
                    estimates(records_better, adjusted_better, "IOP better"),
                ],
                ignore_index=True,
            )
            check
            """
        ),
        code(
            """
            fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), sharex=True, constrained_layout=True)
            for ax, (world, part) in zip(axes, check.groupby("world", sort=False)):
                y = np.arange(len(part))[::-1]
                ax.errorbar(part["diff"], y,
                            xerr=[part["diff"] - part["diff_ci_low"],
                                  part["diff_ci_high"] - part["diff"]],
                            fmt="o", capsize=4, color="#0072B2")
                ax.axvline(part["true_difference"].iloc[0], color="#D55E00", linestyle="--",
                           label="true causal difference")
                ax.axvline(0, color="grey", linewidth=0.8)
                ax.set_yticks(y, part["analysis"])
                ax.xaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0, decimals=0))
                ax.set(title=f"World: {world}", xlabel="IOP minus inpatient, abstinent at 6 months")
                ax.legend(loc="best")
            plt.show()
            """
        ),
        code(
            """
            for world, part in check.groupby("world", sort=False):
                crude = part.loc[part["analysis"] == "unadjusted"].iloc[0]
                good = part.loc[part["analysis"] != "unadjusted", "covers_truth"]
                display(Markdown(
                    f"**{world}**: true difference {crude['true_difference']:+.1%}; the crude "
                    f"estimate is {crude['diff']:+.1%} (off by {crude['diff'] - crude['true_difference']:+.1%}), "
                    f"and {int(good.sum())} of {len(good)} adjusted intervals cover the truth."
                ))
            """
        ),
        md(
            """
            ## Take-aways

            * The crude comparison answers "how did the clients of each setting do?", not "which
              setting works better?". Report it, but do not read it as an effect.
            * Adjusted estimates are only as good as the covariates: the simulation has no
              unmeasured confounders, real programs do. Check balance (love plot) and overlap,
              and say which covariates were used (`methods_text()` does).
            * g-computation and IPTW rest on different models (outcome vs setting); when they
              agree, that is reassuring, when they differ, look at the balance and the overlap.
            """
        ),
    ]


# =================================================================================================
# 03 missing follow-up
# =================================================================================================


def nb03_missing_followup() -> list[Cell]:
    return [
        md(
            """
            # Missing follow-up: five rules, one question, and how far the answer moves

            A quarter or more of clients are usually not reached at a 6-month follow-up. What a
            program reports then depends on how it counts them. `iopoutcomes` makes the rule a
            declared part of every result (`missing=` on the definition, on `outcome_rates` and
            on `compare_rates`):

            | rule | missing outcome is ... | right when ... |
            | --- | --- | --- |
            | `using` | counted as *not abstinent* (intention to treat) | you want a conservative floor; it confounds outcome with follow-up effort |
            | `exclude` | left out (complete case) | follow-up is unrelated to the outcome (missing completely at random) |
            | `bounds` | counted both ways: for a rate, lower bound (all using) and upper bound (all abstinent); for a comparison, also each cohort's worst and best case | you want the range every mechanism lies in |
            | `impute` | multiply imputed from covariates, pooled with Rubin's rules | missing at random given the covariates |
            | `ipw` | represented by weighting the reached clients by 1 / P(reached given covariates) | missing at random given the covariates |

            The simulation again knows the answer: `records.truth.full_data` holds what every
            client would have reported had they been reached. We first use data that are
            *missing at random* given observed covariates, then let the chance of being reached
            depend on the outcome itself (*missing not at random*, `mnar_strength`) and watch
            each rule drift.
            """
        ),
        code(SETUP),
        md(
            """
            The imputation and weighting models use the covariates declared on the definition
            (`covariates=`), here the client's severity, age, sex, primary substance, site and
            **discharge reason**: in these data, as in real programs, people who dropped out
            of treatment are harder to reach. Multiple imputation draws the default number of
            imputations (`n_imputations` on the definition) from a Bayesian logistic model. The
            data-as-of date is late enough that every 6-month window has closed.
            """
        ),
        code(
            """
            SIMULATION = dict(n=1200, seed=11, data_as_of="2027-12-31")
            MISSING_MODEL = ("severity", "age", "sex", "primary_substance", "site", "discharge_reason")
            RULES = ["using", "exclude", "bounds", "impute", "ipw"]

            records = iop.simulate_records(**SIMULATION)
            outcomes = iop.episode_outcomes(records, covariates=MISSING_MODEL)
            outcomes
            """
        ),
        md(
            """
            ## 1. Who is missing?

            The follow-up rate (conducted in window / due, GPRA target 80%) and the cascade
            from episodes to analysed outcomes show how many are missing; the cross-tab shows
            that it is not at random: the status at 6 months depends on how the client left
            treatment.
            """
        ),
        code(
            """
            followup = iop.followup_rates(outcomes, timepoints="6mo")
            print(followup.narrative())
            pd.crosstab(
                outcomes.table["discharge_reason"],
                outcomes.table["followup_status_6mo"],
                normalize="index",
            )
            """
        ),
        code(
            """
            fig, ax = plt.subplots(figsize=(8, 4), constrained_layout=True)
            plots.plot_followup_cascade(iop.cascade_counts(outcomes, "6mo"), ax=ax)
            ax.set_title("6-month follow-up cascade")
            plt.show()
            """
        ),
        md(
            """
            ## 2. Abstinence rates under each rule

            The same episodes, five rules. The reference line is what a completed 6-month
            interview would have reported for every client alive at that time (from the
            simulation's full data, before any loss to follow-up). `bounds` gives two rows per
            cohort (`lower`, `upper`).
            """
        ),
        code(
            """
            rates = {rule: iop.abstinence_rates(outcomes, missing=rule) for rule in RULES}
            rates["bounds"]
            """
        ),
        code(
            """
            rates["impute"]
            """
        ),
        code(
            """
            def full_data_truth(records, timepoint="6mo"):
                full = records.truth.full_data
                alive = full[(full["timepoint"] == timepoint) & full["alive"]]
                return alive.groupby("cohort")["abstinent_reported"].mean()

            truth = full_data_truth(records)

            def rule_label(frame):
                label = frame["missing"].astype(str)
                if "bound" in frame:
                    label = label.where(frame["bound"].isna(), label + " (" + frame["bound"].astype(str) + ")")
                return label

            by_rule = pd.concat([t.to_frame().assign(rule=rule_label(t.to_frame())) for t in rates.values()],
                                ignore_index=True)
            by_rule = by_rule.assign(full_data=by_rule["group"].map(truth))
            by_rule[["rule", "group", "n", "n_events", "n_missing", "rate", "ci_low", "ci_high", "full_data"]]
            """
        ),
        code(
            """
            fig, axes = plt.subplots(1, 2, figsize=(13, 4), sharey=True, constrained_layout=True)
            for ax, (cohort, part) in zip(axes, by_rule.groupby("group")):
                x = np.arange(len(part))
                ax.errorbar(x, part["rate"], yerr=[part["rate"] - part["ci_low"],
                                                   part["ci_high"] - part["rate"]],
                            fmt="o", capsize=4, color="#0072B2")
                ax.axhline(truth[cohort], color="#D55E00", linestyle="--",
                           label="full data (everyone reached)")
                ax.set_xticks(x, part["rule"], rotation=20)
                ax.yaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0, decimals=0))
                ax.set(title=f"{cohort}: abstinent at 6 months", ylabel="rate")
                ax.legend(loc="lower right")
            plt.show()
            """
        ),
        md(
            """
            How to read it: `using` is far below the full-data rate because every unreached
            client counts as using; `exclude` is off when the reached differ from the
            unreached; `impute` and `ipw` use the covariates that predict being reached and
            land close to the full-data line when, as here, the data are missing at random
            given those covariates. The `bounds` pair brackets every possibility for a rate:
            nothing about the unreached can put it outside.

            ## 3. The comparison under each rule

            The question a program asks is comparative: is IOP doing as well as inpatient
            care? Each rule gives a difference with its interval. Under `bounds`,
            `compare_rates` gives four analyses per cohort, labelled in the `missing` column:

            * `bounds: all missing unfavourable` and `bounds: all missing favourable` count the
              missing outcomes of **both** cohorts the same way (all using, then all
              abstinent). They are a sensitivity analysis, **not** bounds for the difference;
            * `bounds: worst case for IOP` counts IOP's unreached clients as using and
              inpatient's as abstinent, and `bounds: best case for IOP` the reverse. Whatever
              the unreached clients' outcomes were, the difference lies between these two: the
              worst-case (Horowitz-Manski) bounds.

            The narrative reports both kinds:
            """
        ),
        code(
            """
            # sensitivity=False: one rule per comparison here (by default compare_rates adds the
            # complete-case and bounds rows beside the primary rule)
            comparisons = {
                rule: iop.compare_rates(outcomes, missing=rule, margin=0.10, sensitivity=False)
                for rule in RULES
            }
            print(comparisons["bounds"].narrative())
            """
        ),
        md(
            """
            The worst-case bounds need nothing beyond the rate bounds of section 2: pair one
            cohort's lower bound with the other's upper bound. Computed by hand that way and
            read from the library's worst- and best-case rows:
            """
        ),
        code(
            """
            def worst_case_bounds(rate_bounds, group="IOP", reference="inpatient"):
                # by hand, from the lower/upper rate bounds of each cohort
                t = rate_bounds.to_frame().set_index(["group", "bound"])["rate"]
                return pd.Series({
                    "diff_lower_bound": t[(group, "lower")] - t[(reference, "upper")],
                    "diff_upper_bound": t[(group, "upper")] - t[(reference, "lower")],
                })

            def library_bounds(comparison, group="IOP"):
                # the worst- and best-case rows of compare_rates(missing="bounds")
                t = comparison.to_frame().set_index("missing")["diff"]
                return pd.Series({
                    "diff_lower_bound": t[f"bounds: worst case for {group}"],
                    "diff_upper_bound": t[f"bounds: best case for {group}"],
                })

            true_diff = truth["IOP"] - truth["inpatient"]
            bounds = library_bounds(comparisons["bounds"])
            by_hand = worst_case_bounds(rates["bounds"])
            agreement = pd.DataFrame(
                {"by hand, from the rate bounds": by_hand, "compare_rates worst/best case": bounds}
            )
            display(agreement.T)
            display(Markdown(
                "The two computations "
                + ("agree." if np.allclose(by_hand, bounds) else "**differ**.")
            ))
            """
        ),
        code(
            """
            diffs = pd.concat([c.to_frame() for c in comparisons.values()], ignore_index=True)
            diffs = diffs[["missing", "n", "n_ref", "rate", "rate_ref", "diff", "diff_ci_low",
                           "diff_ci_high", "verdict"]].assign(full_data_diff=true_diff)
            diffs
            """
        ),
        md(
            """
            The margin verdict (`equivalent`, `non-inferior`, ...) is given under every rule:
            from score tests where the rule yields plain counts, and under `impute` and `ipw`
            from Wald tests on the pooled (Rubin's rules) or sandwich (estimated weights
            accounted for) estimate and standard error, which the intervals shown invert:
            """
        ),
        code(
            """
            comparisons["ipw"]
            """
        ),
        md(
            """
            In the figure the shaded band is the worst-case range of the difference.
            """
        ),
        code(
            """
            fig, ax = plt.subplots(figsize=(9, 4), constrained_layout=True)
            y = np.arange(len(diffs))[::-1]
            ax.axvspan(bounds["diff_lower_bound"], bounds["diff_upper_bound"], color="#56B4E9",
                       alpha=0.2, label="worst-case bounds")
            ax.errorbar(diffs["diff"], y, xerr=[diffs["diff"] - diffs["diff_ci_low"],
                                                diffs["diff_ci_high"] - diffs["diff"]],
                        fmt="o", capsize=4, color="#0072B2")
            ax.axvline(true_diff, color="#D55E00", linestyle="--", label="full-data difference")
            ax.axvline(0, color="grey", linewidth=0.8)
            ax.set_yticks(y, diffs["missing"])
            ax.xaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0, decimals=0))
            ax.set(xlabel="IOP minus inpatient, abstinent at 6 months",
                   title="The comparison under each missing-data rule")
            ax.legend(loc="lower right", fontsize=8)
            plt.show()
            """
        ),
        code(
            """
            display(Markdown(
                f"Without any assumption about the unreached, the data allow any difference from "
                f"{bounds['diff_lower_bound']:+.0%} to {bounds['diff_upper_bound']:+.0%}: with "
                f"this much loss to follow-up, every conclusion about the comparison rests on an "
                f"assumption about why people were not reached."
            ))
            """
        ),
        md(
            """
            ## 4. When being reached depends on the outcome (MNAR)

            No rule can test the assumption it rests on. So we simulate it: `mnar_strength` is
            the log odds ratio of being reached for a client who is truly abstinent versus one
            who is using (positive: abstinent clients are easier to reach, the usual worry;
            negative: the opposite). Everything else, including the full data, stays the same
            (each part of the simulator draws from its own random stream), so the full-data
            answer is fixed and only the loss to follow-up changes. The worst-case bounds are
            the library's worst- and best-case rows, as above.
            """
        ),
        code(
            """
            MNAR_RULES = ["using", "exclude", "impute", "ipw"]
            rows, bound_rows = [], []
            for strength in (-1.5, -0.75, 0.0, 0.75, 1.5):
                mnar_records = iop.simulate_records(**SIMULATION, mnar_strength=strength)
                mnar_outcomes = iop.episode_outcomes(mnar_records, covariates=MISSING_MODEL)
                for rule in MNAR_RULES:
                    frame = iop.compare_rates(
                        mnar_outcomes, missing=rule, sensitivity=False
                    ).to_frame()
                    rows.append(frame[["missing", "rate", "rate_ref", "diff", "diff_ci_low",
                                       "diff_ci_high"]].assign(mnar_strength=strength))
                mnar_comparison = iop.compare_rates(
                    mnar_outcomes, missing="bounds", sensitivity=False
                )
                bound_rows.append(library_bounds(mnar_comparison).rename(strength))
            mnar = pd.concat(rows, ignore_index=True)
            mnar_bounds = pd.DataFrame(bound_rows).rename_axis("mnar_strength")
            mnar.pivot(index="mnar_strength", columns="missing", values="diff").join(mnar_bounds)
            """
        ),
        code(
            """
            fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), constrained_layout=True)
            styles = dict(zip(MNAR_RULES, ["o-", "s--", "^:", "D-."]))
            for rule, part in mnar.groupby("missing", sort=False):
                axes[0].plot(part["mnar_strength"], part["rate"], styles[rule], label=rule)
                axes[1].plot(part["mnar_strength"], part["diff"], styles[rule], label=rule)
            axes[0].axhline(truth["IOP"], color="#D55E00", linestyle="--", label="full data")
            axes[0].set(title="IOP abstinence rate at 6 months", xlabel="mnar_strength")
            axes[1].axhline(true_diff, color="#D55E00", linestyle="--", label="full data")
            axes[1].axhline(0, color="grey", linewidth=0.8)
            axes[1].set(title="IOP minus inpatient (estimates)", xlabel="mnar_strength")
            for ax in axes:
                ax.yaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0, decimals=0))
                ax.legend(fontsize=8)
            plt.show()
            """
        ),
        code(
            """
            spread = mnar.groupby("missing", sort=False)["diff"].agg(["min", "max"])
            lines = [
                f"* `{rule}`: from {row['min']:+.1%} to {row['max']:+.1%}"
                for rule, row in spread.iterrows()
            ]
            covered = (
                (mnar_bounds["diff_lower_bound"] <= true_diff)
                & (true_diff <= mnar_bounds["diff_upper_bound"])
            ).all()
            display(Markdown(
                f"Across these loss-to-follow-up mechanisms the full-data difference stays "
                f"{true_diff:+.1%}; the estimated difference moves\\n\\n" + "\\n".join(lines)
                + f"\\n\\nThe worst-case bounds contain the full-data difference in "
                f"{'every' if covered else 'not every'} scenario."
            ))
            """
        ),
        md(
            """
            ## How strong a departure changes the conclusion: the tipping point

            Bounds say what *could* happen; a tipping-point analysis (Yan, Lee & Li 2009) says
            how far the missing outcomes would have to depart from an assumption to change the
            conclusion. `tipping_point` completes the 2x2 table in every possible way: for each
            number `k_group` of abstinent clients among the missing IOP clients and
            `k_reference` among the missing inpatient clients, the difference, its interval and
            the verdict at the margin. The grid's corners are the bounds above: `(0, 0)` is
            missing = using, `(0, m_reference)` the worst and `(m_group, 0)` the best case.

            Here on the shipped sample (`iop.load_sample()`), its 6-month comparison with a
            10-point non-inferiority margin.
            """
        ),
        code(
            """
            sample_outcomes = iop.episode_outcomes(iop.load_sample())
            sample_cmp = iop.compare_rates(sample_outcomes, "abstinent_6mo", margin=0.10)
            print(sample_cmp.narrative())
            tipping = iop.tipping_point(
                sample_outcomes, "abstinent_6mo", by="cohort", reference="inpatient", margin=0.10
            )
            tipping
            """
        ),
        code(
            """
            fig, ax = plt.subplots(figsize=(8, 5.5), constrained_layout=True)
            tipping.plot(ax=ax)
            plt.show()
            """
        ),
        md(
            """
            Each line in the heat map is a tipping point: crossing it changes the verdict.
            `tipping_points()` lists them (for every `k_group`, the first `k_reference` with a
            new verdict), and `sentence()` is the one sentence the quarterly report prints in
            its sensitivity paragraph.
            """
        ),
        code(
            """
            tips = tipping.tipping_points()
            print(tipping.sentence())
            tips.loc[tips["k_group"].isin([0, tipping.m_group // 2, tipping.m_group]),
                     ["k_group", "k_reference", "diff", "diff_ci_low", "verdict_before", "verdict"]]
            """
        ),
        md(
            """
            **Delta adjustment.** A model-based version of the same question: impute the missing
            outcomes (missing at random given the group and covariates) and then shift their
            log-odds of abstinence by `delta` per group (Carpenter & Kenward 2013).
            `delta = 0` is the MAR imputation of `compare_rates(..., missing="impute")`; a
            negative `delta` for IOP says that missing IOP clients were less often abstinent
            than similar IOP clients who were reached.
            """
        ),
        code(
            """
            delta_scan = iop.tipping_point(
                sample_outcomes, "abstinent_6mo", by="cohort", reference="inpatient",
                margin=0.10, method="delta", deltas=[-2, -1, 0, 1],
            )
            delta_scan.to_frame().pivot(index="delta_group", columns="delta_reference", values="verdict")
            """
        ),
        code(
            """
            print(delta_scan.sentence())
            """
        ),
        md(
            """
            ## Take-aways

            * State the rule with every number (`RateTable` and `Comparison` displays do), and
              report the follow-up rate next to it.
            * `using` is a floor for a *rate*, but not a safe choice for a *comparison*: it
              penalises whichever setting follows its clients up less well, and it estimates
              "abstinent and reached" rather than "abstinent".
            * `impute` and `ipw` are the principled choice when the reasons for being missed
              are measured; declare the covariates on the definition. When being reached
              depends on the outcome itself, they drift like complete case.
            * Worst-case bounds are the assumption-free answer. For a rate they are the
              `lower` and `upper` rows of `abstinence_rates(..., missing="bounds")`; for a
              difference, the `worst case` and `best case` rows of `compare_rates(...,
              missing="bounds")` (not its two `all missing` rows). When a conclusion holds
              across them, no missing-data mechanism can overturn it; when it does not (the
              usual case), say which assumption it rests on.
            """
        ),
    ]


# =================================================================================================
# 04 sustained abstinence and relapse
# =================================================================================================


def nb04_sustained_abstinence_and_relapse() -> list[Cell]:
    return [
        md(
            """
            # Sustained abstinence and time to relapse: daily calendars and weekly urine screens

            A 30-day point prevalence at 6 months (notebooks 01-03) is a snapshot. Daily data
            tell the story in between: how long clients stayed abstinent, whether they
            reached 30 days in a row, and when they first used again after discharge. This
            notebook uses two kinds of daily data:

            1. the **daily use calendar** (timeline follow-back style self-report), from which
               `episode_outcomes` computes sustained and continuous abstinence and the time to
               first use after discharge;
            2. **weekly urine-screen words**, one symbol per week, as clinical trials use them,
               with the named definitions of `iopoutcomes.patterns`.

            Then the time-to-event analysis (Kaplan-Meier, log-rank, Cox) and the comparison of
            abstinence across all follow-ups with a GEE model.
            """
        ),
        code(SETUP),
        code(
            """
            records = iop.simulate_records(n=1000, seed=4, data_as_of="2027-12-31")
            COVARIATES = ["severity", "age", "sex", "primary_substance", "site"]
            records
            """
        ),
        md(
            """
            ## 1. The daily use calendar

            `use_days` has one row per recorded day: used or not, from admission to 180 days
            after discharge. On the left, a random sample of episodes (labelled "patient 1..k",
            never by identifier): dark days are use, light days no use, white days have no
            record, and `|` marks the discharge. On the right, the share using on each day
            since discharge, by cohort (days with fewer than 11 records are left blank).
            """
        ),
        code(
            """
            fig, axes = plt.subplots(1, 2, figsize=(15, 5), constrained_layout=True)
            plots.plot_use_calendar(records, ax=axes[0], mode="patients", n_patients=25, seed=1)
            plots.plot_use_calendar(records, ax=axes[1], mode="since_discharge")
            plt.show()
            """
        ),
        md(
            """
            ## 2. Calendar outcomes

            `episode_outcomes` computes, from the calendar (Hughes et al. 2003):

            | column | meaning |
            | --- | --- |
            | `longest_abstinent_run_in_treatment` / `_after_discharge` | longest run of consecutive abstinent days in the window |
            | `sustained_30d_in_treatment` / `_after_discharge` | True once a run reaches 30 days (`sustained_days`), False when the window is fully observed without one |
            | `continuous_abstinence_after_discharge` | no use on any day of the 180 days after discharge |
            | `point_prevalence_30d_after_discharge` | no use in the last 30 days of that window |
            | `first_use_after_discharge_time` / `_event` | abstinent days before the first use (event = 1), or observed days without use (event = 0, censored) |

            Days inside a window without a record count as use (`missing_days="using"`,
            the conservative default; `"skip"` ignores them). An outcome whose window is not
            fully observed (the calendar ends early, for example at a death) is missing. With
            a calendar, such gaps are rare and unrelated to the outcome's later course, so the
            rates below use `missing="exclude"`; the remarks count what was left out, and the
            table, its description and the plot's labels all name the rule applied.
            """
        ),
        code(
            """
            outcomes = iop.episode_outcomes(records)
            CALENDAR = [
                "sustained_30d_in_treatment",
                "sustained_30d_after_discharge",
                "continuous_abstinence_after_discharge",
                "point_prevalence_30d_after_discharge",
            ]
            calendar_rates = iop.outcome_rates(outcomes, CALENDAR, missing="exclude")
            calendar_rates
            """
        ),
        code(
            """
            fig, ax = plt.subplots(figsize=(11, 4.2), constrained_layout=True)
            calendar_rates.plot(ax=ax, band=None)
            ax.set_title("Calendar outcomes by cohort")
            plt.show()
            """
        ),
        md(
            """
            Continuous abstinence over six months is rare, while reaching 30 abstinent days in a
            row is common: the definition changes the answer far more than the setting does.
            Name it with every number.

            ## 3. Time to first use after discharge

            `time_to_relapse(outcomes)` reads `first_use_after_discharge_time` / `_event`
            (days), and gives Kaplan-Meier curves with log(-log) Greenwood intervals, median
            times, the log-rank test and a Cox proportional-hazards model (Efron ties), as R's
            `survival` package does.
            """
        ),
        code(
            """
            relapse = iop.time_to_relapse(outcomes)
            relapse
            """
        ),
        code(
            """
            print(relapse.narrative())
            print()
            print(relapse.methods_text())
            """
        ),
        code(
            """
            fig, ax = plt.subplots(figsize=(9, 5), constrained_layout=True)
            relapse.plot(ax=ax)
            ax.set_title("Time to first use after discharge (days)")
            plt.show()
            """
        ),
        md(
            """
            The at-risk table gives the curve at chosen days; `n_at_risk` is the number still
            abstinent and under observation.
            """
        ),
        code(
            """
            relapse.at_risk_table([0, 7, 30, 90, 180])
            """
        ),
        md(
            """
            The crude hazard ratio is confounded by severity like the crude rates in notebook
            02. `adjust=` adds covariates to the Cox model: compare the cohort term with and
            without them.
            """
        ),
        code(
            """
            relapse_adjusted = iop.time_to_relapse(outcomes, adjust=COVARIATES)
            pd.concat(
                {"unadjusted": relapse.cox, "adjusted": relapse_adjusted.cox}, names=["model"]
            ).reset_index(level=0).reset_index(drop=True)
            """
        ),
        md(
            """
            ## 4. Weekly urine-screen words

            Trials summarise urine screens as a *word* per person, one symbol per week: `+`
            positive, `-` negative, `o` no sample, `*` both. `weekly_patterns(records)` builds
            the words from the `use_days` rows whose source is `uds` (for CTN-0094 records it
            follows the CTN-0094 team's harmonised rules; notebook 06). In this simulated
            program screens are taken on a few random days, so most weeks have no sample, which
            shows how much the treatment of `o` matters.
            """
        ),
        code(
            """
            def composition(words, cohort):
                # share of each symbol among all weeks, and word lengths, per cohort
                counts = pd.DataFrame({s: words.str.count(re.escape(s)) for s in "+-*o"})
                shares = counts.groupby(cohort).sum()
                shares = shares.div(shares.sum(axis=1), axis=0)
                return shares.assign(
                    words=cohort.value_counts(), median_weeks=words.str.len().groupby(cohort).median()
                )

            words = iop.weekly_patterns(records)
            cohort = records.episodes.set_index("episode_id")["cohort"].reindex(words.index)
            composition(words, cohort)
            """
        ),
        md(
            """
            The registry lists the named definitions from the literature, with the weeks each
            one reads and how it recodes `o` and `*`:
            """
        ),
        code(
            """
            iop.pattern_definitions()[["name", "columns", "window", "recoding"]]
            """
        ),
        md(
            """
            `pattern_outcomes(words)` evaluates them all, vectorised. The summary per cohort:
            the share with an event or with abstinence, and the mean of the counts and times
            (in weeks).
            """
        ),
        code(
            """
            patterns = iop.pattern_outcomes(words).join(cohort)
            summary = patterns.groupby("cohort").agg(
                lambda s: s.astype("Float64").mean()
            ).T
            summary.index.name = "column"
            summary
            """
        ),
        md(
            """
            Definitions that count a missing week as use (`lee2018_relapse`,
            `krupitsky2011_abstinence`, ...) call almost everyone relapsed or not abstinent
            here, because screens are sparse: the result describes the screening schedule more
            than the clients. `schottenfeld2005_longest_abstinence` deletes the missing weeks
            instead. The trials screened every week, which is what these definitions assume.

            The same word machinery reads any daily source. Built from the self-reported
            calendar (`source="self_report"`), almost every week has data, and the
            definitions describe use again:
            """
        ),
        code(
            """
            report_words = iop.weekly_patterns(records, source="self_report")
            composition(report_words, cohort)
            """
        ),
        code(
            """
            report_patterns = iop.pattern_outcomes(report_words).join(cohort)
            pd.concat(
                {
                    "urine screens": patterns.groupby("cohort")[["lee2018_relapse_event", "schottenfeld2005_longest_abstinence"]].mean(),
                    "self-report calendar": report_patterns.groupby("cohort")[["lee2018_relapse_event", "schottenfeld2005_longest_abstinence"]].mean(),
                },
                names=["words from"],
            )
            """
        ),
        md(
            """
            The relapse definitions give a time and an event, so the survival analysis of
            section 3 applies unchanged; here `lee2018_relapse` on the self-report words.
            `relapse="lee2018_relapse"` reads the columns `lee2018_relapse_time` and
            `lee2018_relapse_event` (the same as passing `time=` and `event=`). The time is in
            **weeks** since admission, the words' unit: `time_to_relapse` recognises a
            registered weekly definition and sets `time_unit="weeks"` itself, so its display,
            narrative, methods text and plot axis say weeks (pass `time_unit=` for other weekly
            columns).
            """
        ),
        code(
            """
            weekly_relapse = iop.time_to_relapse(report_patterns, relapse="lee2018_relapse")
            print(weekly_relapse.narrative())
            weekly_relapse
            """
        ),
        md(
            """
            ## 5. Abstinence across all follow-ups: GEE

            `compare_over_time` stacks abstinence at 1, 3, 6 and 12 months (one row per episode
            and follow-up) and fits a logistic GEE with an exchangeable working correlation
            within episodes and robust errors (Liang & Zeger 1986): the marginal rate of each
            cohort at each follow-up, the difference with its interval, and a joint test of
            whether the difference changes over time. `missing="using"` counts a missing
            follow-up as not abstinent, as in notebook 01 (`"exclude"` uses the available
            follow-ups, valid if they are missing completely at random); `adjust=` adds
            covariates.
            """
        ),
        code(
            """
            over_time = iop.compare_over_time(outcomes, missing="using")
            over_time
            """
        ),
        code(
            """
            print(over_time.narrative())
            """
        ),
        code(
            """
            over_time_adjusted = iop.compare_over_time(outcomes, missing="using", adjust=COVARIATES)
            fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), sharey=True, constrained_layout=True)
            over_time.plot(ax=axes[0])
            axes[0].set_title("Observed rates and the GEE fit")
            over_time_adjusted.plot(ax=axes[1])
            axes[1].set_title(f"Adjusted for {', '.join(COVARIATES)}")
            plt.show()
            """
        ),
        code(
            """
            print(over_time_adjusted.methods_text())
            """
        ),
        md(
            """
            ## Competing events: relapse when death, incarceration or withdrawal ends follow-up

            Kaplan-Meier censors a client who died or was incarcerated as if they could still
            relapse later, so 1 - Kaplan-Meier overstates relapse when such events are common.
            `time_to_relapse(..., competing=("died", "incarcerated", "withdrawn"))` labels each
            censored episode whose discharge reason, or whose first follow-up status after the
            end of observation, is one of those (`iopoutcomes.competing.relapse_events`), and
            adds `competing_risks`:

            * the **cumulative incidence** (Aalen-Johansen) of relapse and of each competing
              event, per cohort, with Gray's test;
            * **cause-specific** hazard ratios (among clients still event-free: the Cox model
              above, competing events censored), the default to report with the curves;
            * **Fine-Gray subdistribution** hazard ratios, which describe the cumulative
              incidence; they are not hazard ratios among those still at risk.
            """
        ),
        code(
            """
            competing = iop.time_to_relapse(outcomes, competing=("died", "incarcerated", "withdrawn"))
            print(competing.remarks[-1])
            competing.competing_risks.to_frame()
            """
        ),
        code(
            """
            cif = competing.competing_risks.cumulative_incidence
            at = cif.at([30, 90, 180])
            km = competing.at_risk_table([30, 90, 180])[["group", "time", "survival"]]
            relapse_at = at.loc[at["cause"] == "relapse", ["group", "time", "cif"]]
            relapse_at.merge(km, on=["group", "time"]).assign(
                one_minus_km=lambda t: 1 - t["survival"]
            ).drop(columns="survival")
            """
        ),
        code(
            """
            fig, ax = plt.subplots(figsize=(7, 5), constrained_layout=True)
            cif.plot(ax=ax)
            plt.show()
            print(cif.gray_test())
            print(competing.competing_risks.methods_text())
            """
        ),
    ]


# =================================================================================================
# 05 quarterly report
# =================================================================================================


def nb05_quarterly_report_from_python() -> list[Cell]:
    return [
        md(
            """
            # The quarterly report from Python

            `iopoutcomes report` writes a quarterly outcomes report (HTML, PDF, Excel workbook,
            CSV tables, JSON) from the three record files and a configuration file. The command
            is a thin wrapper: the report is computed by `iop.quarterly_report(records,
            quarter=..., config=...)`, which returns a `QuarterlyReport` object. From Python you
            get that object itself: the executive summary, every published table and the
            files, with the same numbers the command line writes.

            Everything in a report is computed once, **then suppressed** (small cells hidden,
            with complementary cells so they cannot be recovered), and only then rendered: the
            tables and figures below are what a reader of the report sees. We use the shipped
            synthetic sample.
            """
        ),
        code(SETUP),
        md(
            """
            ## 1. The configuration

            Every number a report depends on (definition, windows, suppression threshold `k`,
            follow-up target, benchmark, equivalence margin, case-mix covariates, site pooling,
            quarters) is a setting, so a report can be reproduced from its inputs and this
            file; the file's hash goes into the report's reproducibility stamp. Keys left out
            keep their documented defaults. The same TOML file is what `iopoutcomes report
            --config` reads.
            """
        ),
        code(
            """
            import tempfile

            work = Path(tempfile.mkdtemp())
            config_path = work / "report.toml"
            config_path.write_text(
                \'\'\'
            [report]
            title = "Quarterly treatment outcome report"
            program = "Example IOP and inpatient programs (synthetic data)"
            profile = "funder"          # public | funder | internal
            lookback_quarters = 4       # outcome cohort: windows closed in the last 4 quarters

            [definition]
            missing = "using"

            [privacy]
            k = 11                      # counts 1..10 are suppressed
            min_denominator = 30

            [comparison]
            margin = 0.10
            adjust = ["age", "sex", "severity", "primary_substance"]
            \'\'\'
            )
            from iopoutcomes.report import load_config

            config = load_config(config_path)
            config
            """
        ),
        md(
            """
            ## 2. Computing the report

            `quarter="2026Q2"` is the reporting quarter. The records are taken as they stood at
            the end of the quarter; the outcome cohort of a timepoint is the episodes whose
            follow-up window closed within the `lookback_quarters` ending with it (a rolling
            year), so a 6-month outcome is reported once its window has closed (the GPRA rule).
            The display lists the sections.
            """
        ),
        code(
            """
            records = iop.load_sample()
            report = iop.quarterly_report(records, quarter="2026Q2", config=config, progress=False)
            report
            """
        ),
        md(
            """
            ## 3. The executive summary

            The summary section holds the headline tiles (value, interval, n, target and the
            statistical-process-control signal) and the sentences under them, all generated
            from the suppressed numbers.
            """
        ),
        code(
            """
            sections = {section.key: section for section in report.sections}
            summary = sections["summary"]
            pd.DataFrame([vars(kpi) for kpi in summary.kpis])
            """
        ),
        code(
            """
            display(Markdown("\\n".join(f"* {paragraph}" for paragraph in summary.paragraphs)))
            """
        ),
        md(
            """
            ## 4. Published tables

            `report.tables` are the tables exactly as published: a suppressed cell is empty and
            flagged, never shown. Each carries the definition footnote printed under it in the
            report. Here the IOP vs inpatient comparison and the abstinence table:
            """
        ),
        code(
            """
            comparison = report.table("comparison")
            print(comparison.title)
            print(comparison.footnote)
            comparison.frame
            """
        ),
        code(
            """
            abstinence = report.table("abstinence")
            print(abstinence.title)
            abstinence.frame
            """
        ),
        md(
            """
            The suppression log counts, per table, the cells hidden because they were small
            (`primary`) and those hidden so that the small ones cannot be worked out from
            totals (`complementary`). It never holds values.
            """
        ),
        code(
            """
            report.suppression_log.groupby("table")[["primary", "complementary"]].sum()
            """
        ),
        md(
            """
            ## 5. Writing the files

            `report.write(folder, formats=...)` writes each file atomically. The PDF needs
            WeasyPrint (`pip install "iopoutcomes[pdf]"`); it is left out here to keep the
            notebook quick.
            """
        ),
        code(
            """
            out_dir = work / "report"
            files = report.write(out_dir, formats=("html", "xlsx", "csv", "json"))
            pd.DataFrame(
                {
                    "file": [path.name for path in files.values()],
                    "kilobytes": [path.stat().st_size / 1024 for path in files.values()],
                },
                index=pd.Index(list(files), name="format"),
            )
            """
        ),
        md(
            """
            `report.html` is self-contained (inline CSS and SVG figures): open it in a browser,
            or attach it to an email. The reproducibility stamp printed in the report is also
            in `report.json`:
            """
        ),
        code(
            """
            import json

            stamp = json.loads((out_dir / "report.json").read_text())["stamp"]
            {key: stamp[key] for key in ("period", "lookback", "profile", "provenance",
                                          "rows_read", "suppressed_cells", "config_hash",
                                          "report_id")}
            """
        ),
        md(
            """
            ## 6. The same report from the command line

            The command below computes the report on the same sample (`--demo` is
            `load_sample()`) with the same configuration file. Its `report.json` carries the
            same report id, a hash of the report's content.
            """
        ),
        code(
            """
            import subprocess
            import sys

            cli_dir = work / "report_cli"
            command = [
                sys.executable, "-m", "iopoutcomes.cli", "report", "--demo", "--quarter", "2026Q2",
                "--config", str(config_path), "--format", "json", "--out", str(cli_dir),
                "--no-progress",
            ]
            completed = subprocess.run(command, capture_output=True, text=True, check=True)
            cli_stamp = json.loads((cli_dir / "report.json").read_text())["stamp"]
            display(Markdown(
                f"Report id from Python: `{stamp['report_id']}`; from the command line: "
                f"`{cli_stamp['report_id']}` "
                f"({'identical' if stamp['report_id'] == cli_stamp['report_id'] else 'different'})."
            ))
            """
        ),
    ]


# =================================================================================================
# 06 CTN-0094 real data
# =================================================================================================


def nb06_ctn0094_real_data() -> list[Cell]:
    return [
        md(
            """
            # Real data: the randomised arms of CTN-0094 on abstinence and relapse

            The NIDA Clinical Trials Network's CTN-0094 project harmonised the data of three
            opioid-use-disorder trials and published them as the R package
            `public.ctn0094data` (MIT licence):

            | trial | design | arms |
            | --- | --- | --- |
            | CTN-0027 (START) | buprenorphine/naloxone vs methadone, 24 weeks | Outpatient BUP, Methadone |
            | CTN-0030 (POATS) | prescription-opioid dependence, two phases | Outpatient BUP + EMM / + SMM |
            | CTN-0051 (X:BOT) | extended-release naltrexone vs buprenorphine/naloxone, started during inpatient detoxification, 24 weeks | Inpatient NR-NTX, Inpatient BUP |

            This notebook takes a folder of those tables (exported to CSV or Parquet) as a
            parameter and compares the **randomised arms** on abstinence and relapse, step by
            step. It shows aggregates only: participant identifiers are never displayed, and
            the notebook is committed without the data.

            To run it on your copy, set `IOPOUTCOMES_CTN0094` to the folder, or edit the
            parameter cell below (papermill users: it is tagged `parameters`).
            """
        ),
        code(
            """
            import os

            CTN0094_DIR = os.environ.get("IOPOUTCOMES_CTN0094", "../../shared/real/ctn0094")
            """,
            "parameters",
        ),
        code(SETUP),
        code(
            """
            ctn_dir = Path(CTN0094_DIR)
            if not ctn_dir.is_absolute():
                ctn_dir = (Path.cwd() / ctn_dir).resolve()  # relative to this notebook
            assert ctn_dir.is_dir(), f"CTN-0094 folder not found: {ctn_dir}"
            sorted(p.name for p in ctn_dir.iterdir() if p.suffix in {".csv", ".parquet"})
            """
        ),
        md(
            """
            ## 1. Reading the tables

            `read_ctn0094(folder)` reads the tables into the same `Records` the rest of the
            library uses: one episode per consenting participant (randomised or not), the
            cohort = the first randomised arm (or "not randomised"), the trial and
            demographics as covariates, and **study days** (day 0 = consent) instead of dates.
            The daily use calendar comes from timeline follow-back and from the urine screens.
            """
        ),
        code(
            """
            records = iop.read_ctn0094(ctn_dir)
            records
            """
        ),
        md(
            """
            The remarks above are the part to read first. Real tables have quirks, and the
            reader handles each one by a stated rule and counts it instead of crashing or
            silently dropping rows: the urine-screen table lists positive results only, some
            days are negative (before consent), some visit rows have no day or are duplicated,
            CTN-0027 and CTN-0051 carry duplicate "second randomisation" rows while CTN-0030 has
            real ones. The full count table:
            """
        ),
        code(
            """
            quirks = records.extras["quirks"]
            quirks.loc[quirks["count"] > 0].reset_index(drop=True)
            """
        ),
        code(
            """
            pd.crosstab(records.episodes["cohort"], records.episodes["trial"], margins=True)
            """
        ),
        md(
            """
            ## 2. Weekly opioid-use words

            The trials' outcomes are defined on a weekly urine-screen pattern. `weekly_patterns`
            builds it by the CTN-0094 team's harmonised rules: a week after randomisation is `+`
            with only opioid-positive screens (non-study opioids for the arm: buprenorphine does
            not count in a buprenorphine arm), `-` with only negative visits, `*` with both and
            `o` with no screen. Week 1 starts the day after randomisation. The words are indexed
            by participant, so we show their composition only.
            """
        ),
        code(
            """
            words = iop.weekly_patterns(records)
            cohort = records.episodes.set_index("episode_id")["cohort"].reindex(words.index)
            counts = pd.DataFrame({s: words.str.count(re.escape(s)) for s in "+-*o"})
            composition = counts.groupby(cohort).sum()
            composition = composition.div(composition.sum(axis=1), axis=0)
            composition.assign(
                participants=cohort.value_counts(), median_weeks=words.str.len().groupby(cohort).median()
            )
            """
        ),
        md(
            """
            ## 3. Every named definition, for every participant

            `pattern_outcomes(words)` evaluates the registered definitions from the literature
            (`iop.pattern_definitions()`), each with its window and its recoding of missing
            (`o`) and mixed (`*`) weeks. The table gives, per arm, the share with the event or
            with abstinence, and the mean for counts and times (weeks).
            """
        ),
        code(
            """
            iop.pattern_definitions()[["name", "window", "recoding", "citation"]]
            """
        ),
        code(
            """
            outcomes = iop.pattern_outcomes(words).join(cohort.rename("cohort"))
            outcomes = outcomes.join(records.episodes.set_index("episode_id")[["trial"]])
            summary = (
                outcomes.drop(columns="trial")
                .groupby("cohort")
                .agg(lambda s: s.astype("Float64").mean())
                .T
            )
            summary.index.name = "column"
            summary
            """
        ),
        md(
            """
            ## 4. X:BOT: Inpatient BUP vs Inpatient NR-NTX on `lee2018_relapse`

            CTN-0051 randomised people in inpatient detoxification to buprenorphine/naloxone
            (BUP) or extended-release naltrexone (NR-NTX). The trial's primary outcome was
            relapse: four consecutive weeks of non-study opioid use from week 3 on (weeks 1-2
            are an induction grace period), a week without a urine sample counting as a use
            week. `lee2018_relapse` is that rule on the weekly words, as the registry states:

            The analysis population is **all randomised participants** of the two arms
            (intention to treat): those who never started their medication stay in their arm,
            which is the point of X:BOT, because naltrexone needs full detoxification first.
            """
        ),
        code(
            """
            lee2018 = iop.pattern_definitions().set_index("name").loc["lee2018_relapse"]
            print(lee2018["description"], lee2018["window"], lee2018["recoding"], sep="\\n")
            """
        ),
        code(
            """
            ARMS = ["Inpatient BUP", "Inpatient NR-NTX"]
            xbot = outcomes.loc[outcomes["cohort"].isin(ARMS)].copy()
            xbot["cohort"] = xbot["cohort"].astype(str)
            counts = xbot.groupby("cohort").agg(
                randomised=("lee2018_relapse_event", "size"),
                relapsed=("lee2018_relapse_event", "sum"),
            )
            counts["share_relapsed"] = counts["relapsed"] / counts["randomised"]
            counts
            """
        ),
        md(
            """
            For orientation, the published primary analysis (Lee et al. 2018, *Lancet*
            391:309-318; intention to treat, 24 weeks) reported opioid relapse in 185 of 283
            participants randomised to XR-naltrexone and 163 of 287 randomised to
            buprenorphine/naloxone. The trial's own definition also used self-reports and
            protocol rules not in the public tables, so the counts from the harmonised weekly
            words need not match exactly:
            """
        ),
        code(
            """
            published = pd.DataFrame(
                {"published_relapsed": [163, 185], "published_randomised": [287, 283]},
                index=pd.Index(ARMS, name="cohort"),
            )
            counts.join(published).assign(
                published_share=lambda t: t["published_relapsed"] / t["published_randomised"]
            )
            """
        ),
        md(
            """
            ### Relapse as a binary outcome

            `compare_rates` works on any 0/1 column. Relapse is an outcome where **lower is
            better**, so `higher_is_better=False`: it sets the direction of any margin analysis
            (the difference is still NR-NTX minus BUP), and the value a missing outcome takes.
            Under `missing="using"` (intention to treat) a participant without an outcome
            counts as **relapsed**, the unfavourable value, as the trial counted a missing
            urine sample as use. The `n_missing` columns show how many outcomes the rule had
            to fill: the definition already counts a week without a screen as a use week, so
            every randomised participant has an outcome.
            """
        ),
        code(
            """
            relapse_rates = iop.compare_rates(
                xbot, outcome="lee2018_relapse_event", by="cohort", reference="Inpatient BUP",
                higher_is_better=False, missing="using",
            )
            relapse_rates
            """
        ),
        code(
            """
            print(relapse_rates.narrative())
            """
        ),
        md(
            """
            ### Time to relapse: Kaplan-Meier and Cox

            `time_to_relapse(..., relapse="lee2018_relapse")` reads `lee2018_relapse_time` and
            `lee2018_relapse_event` (the same as `time="lee2018_relapse_time",
            event="lee2018_relapse_event"`). The time is in **weeks** since randomisation (the
            words' unit); `time_to_relapse` knows that `lee2018_relapse` is a weekly definition,
            so the display, the narrative, the medians, the at-risk table and the plot's axis
            are in weeks. The reference arm is Inpatient BUP, so the hazard ratio is NR-NTX
            relative to BUP (above 1: relapse comes sooner with NR-NTX).
            """
        ),
        code(
            """
            relapse = iop.time_to_relapse(
                xbot, by="cohort", relapse="lee2018_relapse", reference="Inpatient BUP"
            )
            relapse
            """
        ),
        code(
            """
            print(relapse.narrative())
            """
        ),
        code(
            """
            fig, ax = plt.subplots(figsize=(9, 5), constrained_layout=True)
            relapse.plot(ax=ax)
            ax.set_title("X:BOT, all randomised: time to relapse (lee2018_relapse)")
            plt.show()
            """
        ),
        code(
            """
            relapse.at_risk_table([0, 2, 4, 8, 12, 16, 20, 24])
            """
        ),
        md(
            """
            **Where the time axis ends.** The curves stop at week 21, not 24: a relapse is
            dated by the first week of its four-week run, and in a 24-week protocol the last
            run that can be observed starts in week 21, so participants without a relapse are
            censored at week 21 (`n - 3` for an `n`-week word; the remark under the result says
            so). Times are weeks since randomisation.

            **Ties and the published hazard ratio.** Weekly times are heavily tied (many
            relapses start in week 3), and the two usual tie corrections then differ. R's
            `coxph`, lifelines and `time_to_relapse` default to Efron; SAS `PROC PHREG` and
            Stata `stcox` default to Breslow. The published X:BOT analysis reports HR 1.36
            (95% CI 1.10-1.68); Breslow ties reproduce it on these rows, Efron gives a larger
            ratio (both checked against R in `tests/reference/r_ctn0094.py`):
            """
        ),
        code(
            """
            breslow = iop.time_to_relapse(
                xbot, by="cohort", relapse="lee2018_relapse", reference="Inpatient BUP",
                ties="breslow",
            )
            pd.concat({"efron": relapse.cox, "breslow": breslow.cox}, names=["ties"])
            """
        ),
        md(
            """
            **Proportional hazards and a measure that does not need them.** Most relapses
            happen in the first weeks after induction, so the hazard ratio is not constant:
            `ph_test()` is R's `cox.zph` (scaled Schoenfeld residuals, Kaplan-Meier time
            scale), and a small p-value says the single hazard ratio averages a changing one.
            The restricted mean relapse-free time up to week 21 (the area under each curve) is
            a difference in weeks that needs no such assumption:
            """
        ),
        code(
            """
            print(relapse.ph_test().narrative())
            relapse.rmst(21)
            """
        ),
        md(
            """
            **Why the counts differ from the paper.** The public tables hold urine-screen
            positives and visit dispositions but not the trial's self-reports of use, its
            protocol deviations or the adjudicated relapse dates, so the harmonised weekly
            words count 188 relapses on NR-NTX where the paper counts 185 (BUP-NX matches,
            163). The 1,068 consented participants who were never randomised belong to no arm
            and are excluded here.
            """
        ),
        md(
            """
            *When* the curves separate matters for the interpretation. Week 3 is the first week
            a relapse can start, and a relapse at week 3 means use (or no urine sample) in
            weeks 3-6, the first weeks after the induction period: people who did not start
            their medication, or left the study early, relapse there. Compare the gap between
            the arms at week 3 with the gap at the end of follow-up:
            """
        ),
        code(
            """
            last_week = int(xbot["lee2018_relapse_time"].max())
            at = relapse.at_risk_table([3, last_week]).pivot(index="time", columns="group", values="survival")
            gap = at["Inpatient BUP"] - at["Inpatient NR-NTX"]
            display(Markdown(
                f"Relapse-free share, Inpatient BUP minus Inpatient NR-NTX: {gap.iloc[0]:+.0%} "
                f"at week 3 and {gap.iloc[-1]:+.0%} at week {last_week}."
            ))
            """
        ),
        md(
            """
            A difference that opens at the start of treatment and then stays or narrows is an
            induction effect, not a steady difference in the risk of relapse; the Cox hazard
            ratio then averages a large early ratio with a smaller later one, so read it with
            the curves (Lee et al. 2018 drew the same conclusion from the trial's own data).

            ## 5. The other arms

            The same steps apply to any pair of arms. As a last aggregate view, three
            definitions for every randomised arm, with the trial it belongs to: the share
            relapsed by `ctn0094_relapse` (as `lee2018_relapse` without the grace period), the
            share with three negative weeks in a row (`kosten1993_abstinence`) and the mean
            number of negative weeks (`fiellin2006_negative_weeks`). Arms are only comparable
            within a trial, where randomisation makes them alike; the trials differ in
            population, length and schedule.
            """
        ),
        code(
            """
            randomised = outcomes.loc[outcomes["cohort"] != "not randomised"]
            per_trial = {
                trial: iop.time_to_relapse(part, by="cohort", relapse="ctn0094_relapse").cox
                for trial, part in randomised.groupby("trial")
            }
            pd.concat(per_trial, names=["trial"])  # one Cox model per trial: arms compared within it
            """
        ),
        code(
            """
            randomised.groupby(["trial", "cohort"]).agg(
                randomised=("ctn0094_relapse_event", "size"),
                relapsed_ctn0094=("ctn0094_relapse_event", "mean"),
                abstinent_kosten1993=("kosten1993_abstinence", "mean"),
                negative_weeks_fiellin2006=("fiellin2006_negative_weeks", "mean"),
            )
            """
        ),
        md(
            """
            ## 6. X:BOT: deaths and withdrawals as competing events?

            A competing-risks analysis of relapse needs the *time* of each death and withdrawal.
            The harmonised `visit` table flags them (`is_dead`, `is_left_study`); we count, per
            X:BOT arm, the participants flagged and how many of those flags carry a study day.
            """
        ),
        code(
            """
            visit = pd.read_parquet(
                ctn_dir / "visit.parquet", columns=["who", "when", "is_dead", "is_left_study"]
            ) if (ctn_dir / "visit.parquet").exists() else pd.read_csv(
                ctn_dir / "visit.csv", usecols=["who", "when", "is_dead", "is_left_study"]
            )
            eps = records.episodes.set_index("episode_id")
            arm = eps.loc[eps["cohort"].isin(["Inpatient BUP", "Inpatient NR-NTX"]), "cohort"]
            visit = visit.assign(who=visit["who"].astype("string")).loc[lambda v: v["who"].isin(arm.index)]
            flags = []
            for flag in ("is_dead", "is_left_study"):
                rows = visit.loc[visit[flag].astype("string") == "1"]
                flags.append(pd.DataFrame({
                    "flag": flag,
                    "participants": rows.groupby(rows["who"].map(arm))["who"].nunique(),
                    "with_a_study_day": rows.dropna(subset=["when"]).groupby(
                        rows["who"].map(arm))["who"].nunique(),
                }))
            pd.concat(flags).fillna(0).astype({"with_a_study_day": int}).rename_axis("arm")
            """
        ),
        md(
            """
            The flags have no study day in X:BOT, so deaths and withdrawals cannot be placed in
            time and a competing-risks analysis of `lee2018_relapse` is not possible from these
            tables. (Under that definition a missing week counts as opioid use, so a
            participant who leaves the study is counted as relapsing, which is the trial's
            intention-to-treat convention; withdrawal is then part of the outcome rather than a
            competing event.) What the relapse curves look like as cumulative incidence with
            only one cause, relapse, is 1 - Kaplan-Meier, with Gray's variance:
            """
        ),
        code(
            """
            xbot_events = xbot.assign(
                relapse_cause=xbot["lee2018_relapse_event"].astype(bool).map({True: "relapse", False: 0})
            )
            xbot_cif = iop.cumulative_incidence(
                xbot_events, time="lee2018_relapse_time", event="relapse_cause", by="cohort"
            )
            print(xbot_cif.gray_test())
            xbot_cif.at([4, 12, 24])
            """
        ),
        md(
            """
            ## Notes

            * Source: `public.ctn0094data` (Balise, Odom, Calderon; MIT licence), the harmonised
              tables of CTN-0027, CTN-0030 and CTN-0051. The weekly-pattern rules follow the
              CTN-0094 team's `derived_weeklyOpioidPattern`.
            * Lee JD, Nunes EV Jr, Novo P, et al. Comparative effectiveness of extended-release
              naltrexone versus buprenorphine-naloxone for opioid relapse prevention (X:BOT): a
              multicentre, open-label, randomised controlled trial. *Lancet*
              2018;391(10118):309-318.
            * The daily calendar of these tables lists use days only, so daily abstinence
              outcomes (notebook 04) are not meaningful here; the weekly words are the outcome
              basis.
            """
        ),
    ]


def nb07_measured_milestones() -> list[Cell]:
    return [
        md(
            """
            # 07 · Milestones measured, not asserted: instruments and reliable change

            The milestones that define a successful IOP (improved well-being, coping, recovery
            capital, less use) are measured with standard questionnaires at intake, discharge
            and follow-up. This notebook scores them from their items, classifies each client's
            change as reliable or not (Jacobson & Truax 1991; the NHS Talking Therapies
            conventions), and compares measured milestones between IOP and inpatient care.

            The records are simulated with `instruments=True`: PHQ-9, GAD-7, BARC-10 and BAM
            items whose latent distress and recovery capital improve with time in care and with
            abstinence, so measured change tracks use.
            """
        ),
        code(SETUP),
        code(
            """
            records = iop.simulate_records(n=1500, seed=7, instruments=True)
            for name, options in [("phq9", {}), ("gad7", {}), ("barc10", {}),
                                  ("bam", {"version": "likert"})]:
                records = iop.score_followups(records, name, **options)
            scored = records.followups
            scored.groupby("timepoint", sort=False)[
                ["phq9_total", "gad7_total", "barc10_total", "bam_use"]
            ].mean().round(1)
            """
        ),
        md(
            """
            ## Scoring rules, stated

            Each scorer says what it computed and how missing items were handled (PHQ-9 is
            prorated from 7 of 9 answered items; BARC-10 and the BAM subscales need every item).
            Out-of-range item values are rejected with their row number and a reason, never
            shown.
            """
        ),
        code(
            """
            phq = iop.phq9(records.followups)
            print(phq.definition_text())
            phq.summary()
            """
        ),
        md(
            """
            ## Reliable change from intake to discharge

            `reliable_change` classifies each client as recovered, improved, unchanged or
            deteriorated. With `method="threshold"` the PHQ-9 preset uses NHS Talking
            Therapies' fixed points (a drop of 6 or more is reliable; 10 or more is caseness);
            the Jacobson-Truax index needs the measure's reliability.
            """
        ),
        code(
            """
            with_cohort = scored.merge(records.episodes[["episode_id", "cohort"]], on="episode_id")
            rc = iop.reliable_change(with_cohort, "phq9", method="threshold", by="cohort")
            print(rc.narrative())
            rc.counts()
            """
        ),
        code(
            """
            jt = iop.reliable_change(with_cohort, "phq9", reliability=0.84, by="cohort",
                                     higher_is_better=False, cutoff=10)
            fig, ax = plt.subplots(figsize=(5.5, 5.5), layout="constrained")
            jt.plot(ax=ax)
            print(jt.methods_text())
            """
        ),
        md(
            """
            ## Measured milestones, compared between settings

            `INSTRUMENT_MILESTONES` turns the measures into milestones: reliable improvement
            on PHQ-9 and GAD-7 by discharge, BARC-10 at or above 47 at 6 months (Vilsaint et
            al. 2017's cut-off for sustained remission) and no use on the BAM at discharge. They
            go into the outcome definition like any milestone and are compared with the same
            functions as abstinence.
            """
        ),
        code(
            """
            definition = iop.OutcomeDefinition(
                milestones=(*iop.OutcomeDefinition().milestones,
                            *iop.INSTRUMENT_MILESTONES.values())
            )
            outcomes = iop.episode_outcomes(records, definition=definition)
            for m in iop.INSTRUMENT_MILESTONES.values():
                print(f"{m.name}: {definition.milestone_text(m)}")
            measured = [f"milestone_{m}" for m in iop.INSTRUMENT_MILESTONES]
            iop.outcome_rates(outcomes, measured, by="cohort", missing="exclude").to_frame()[
                ["outcome", "group", "n", "n_events", "rate", "ci_low", "ci_high"]
            ].round(3)
            """
        ),
        code(
            """
            cmp = iop.compare_rates(outcomes, "milestone_phq9_reliable_improvement", by="cohort",
                                    reference="inpatient", missing="exclude")
            print(cmp.narrative())
            """
        ),
        md(
            """
            ## Notes

            * Kroenke K, Spitzer RL, Williams JBW. The PHQ-9. *J Gen Intern Med*
              2001;16:606-613. Spitzer RL et al. The GAD-7. *Arch Intern Med* 2006;166:1092-1097.
            * Cacciola JS et al. Development and initial evaluation of the Brief Addiction
              Monitor. *J Subst Abuse Treat* 2013;44:256-263.
            * Vilsaint CL et al. Development and validation of a Brief Assessment of Recovery
              Capital (BARC-10). *Drug Alcohol Depend* 2017;177:71-76.
            * Jacobson NS, Truax P. Clinical significance. *J Consult Clin Psychol*
              1991;59:12-19.
            * Complete case (`missing="exclude"`) is used for the measured milestones because a
              client without the questionnaire has no measured change; say so in a paper and
              show the follow-up rates beside them.
            """
        ),
    ]


# =================================================================================================
# building and executing
# =================================================================================================

NOTEBOOKS: dict[str, Callable[[], list[Cell]]] = {
    "01_quickstart": nb01_quickstart,
    "02_confounding": nb02_confounding,
    "03_missing_followup": nb03_missing_followup,
    "04_sustained_abstinence_and_relapse": nb04_sustained_abstinence_and_relapse,
    "05_quarterly_report_from_python": nb05_quarterly_report_from_python,
    "06_ctn0094_real_data": nb06_ctn0094_real_data,
    "07_measured_milestones": nb07_measured_milestones,
}


def build(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` (without outputs), with stable cell ids."""
    cells = []
    for i, (kind, source, tags) in enumerate(NOTEBOOKS[name]()):
        make = new_markdown_cell if kind == "markdown" else new_code_cell
        cell = make(source)
        cell["id"] = f"{name[:2]}-{i:03d}"
        if tags:
            cell["metadata"]["tags"] = list(tags)
        cells.append(cell)
    nb = new_notebook(cells=cells)
    nb["metadata"] = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": KERNEL_NAME},
        "language_info": {"name": "python"},
    }
    return nb


def ctn0094_dir() -> Path:
    """The folder notebook 06 reads (``$IOPOUTCOMES_CTN0094`` or the default, from here)."""
    folder = Path(os.environ.get("IOPOUTCOMES_CTN0094", CTN0094_DEFAULT))
    return folder if folder.is_absolute() else (HERE / folder).resolve()


def execute(nb: nbformat.NotebookNode, timeout: int = CELL_TIMEOUT) -> nbformat.NotebookNode:
    """Run every cell in this folder on the python3 kernel (raises on the first error)."""
    from nbclient import NotebookClient

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(HERE)}},
        record_timing=False,
    )
    client.execute()
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook name prefixes (default: all)")
    parser.add_argument("--no-execute", action="store_true", help="write cells without outputs")
    args = parser.parse_args(argv)
    names = [n for n in NOTEBOOKS if not args.names or any(n.startswith(p) for p in args.names)]
    if not names:
        parser.error(f"no notebook matches {args.names}; known: {list(NOTEBOOKS)}")
    for name in names:
        nb = build(name)
        note = "written without outputs"
        if not args.no_execute:
            if name.startswith("06") and not ctn0094_dir().is_dir():
                note = f"written without outputs ({ctn0094_dir()} is absent)"
            else:
                start = time.perf_counter()
                execute(nb)
                note = f"executed in {time.perf_counter() - start:.1f} s"
        nbformat.write(nb, HERE / f"{name}.ipynb")
        print(f"{name}.ipynb: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
