"""Missing-data rules and Rubin's rules, against hand computations and a simulated truth."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from iopoutcomes.exceptions import InsufficientDataError, ParameterError
from iopoutcomes.missing import completed_datasets, rubin_pool


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "abstinent_6mo": pd.array([True, False, None, None, True], dtype="boolean"),
            "followup_status_6mo": ["completed", "completed", "died", "refused", "completed"],
            "age": [30.0, 40.0, 50.0, 60.0, 35.0],
        }
    )


def test_trivial_rules(small: pd.DataFrame) -> None:
    (u,) = completed_datasets(small, "abstinent_6mo", missing="using")
    assert u.frame["abstinent_6mo"].tolist() == [1.0, 0.0, 0.0, 0.0, 1.0] and u.weights is None
    (e,) = completed_datasets(small, "abstinent_6mo", missing="exclude")
    assert e.frame.index.tolist() == [0, 1, 4]
    lo, hi = completed_datasets(small, "abstinent_6mo", missing="bounds")
    assert (lo.label, hi.label) == ("lower", "upper")
    assert hi.frame["abstinent_6mo"].tolist() == [1.0, 0.0, 1.0, 1.0, 1.0]
    (d,) = completed_datasets(small, "abstinent_6mo", missing="using", death_policy="exclude")
    assert d.frame.index.tolist() == [0, 1, 3, 4]  # the died row leaves
    assert small["abstinent_6mo"].isna().sum() == 2  # input unchanged


def test_errors(small: pd.DataFrame) -> None:
    with pytest.raises(ParameterError):
        completed_datasets(small, "abstinent_6mo", missing="drop")
    with pytest.raises(ParameterError):
        completed_datasets(small, "abstinent_6mo", missing="impute", n_imputations=1)
    none = small.assign(abstinent_6mo=pd.array([None] * 5, dtype="boolean"))
    with pytest.raises(InsufficientDataError):
        completed_datasets(none, "abstinent_6mo", missing="ipw")
    with pytest.raises(ParameterError):
        rubin_pool([1.0], [0.1])


def test_rubin_pool_hand_computed() -> None:
    # q = (0.2, 0.4, 0.3), u = 0.01 each: qbar = 0.3, B = 0.01, T = 0.01 + 4/3 * 0.01
    pooled = rubin_pool([0.2, 0.4, 0.3], [0.01, 0.01, 0.01])
    est, se, df = pooled.estimate, pooled.std_err, pooled.df
    assert est == pytest.approx(0.3, rel=1e-12)
    assert se**2 == pytest.approx(0.01 + 4 / 3 * 0.01, rel=1e-12)
    r = (4 / 3 * 0.01) / 0.01
    assert df == pytest.approx(2 * (1 + 1 / r) ** 2, rel=1e-12)  # Rubin 1987
    # Barnard-Rubin 1999 with nu_com = 50: gamma = (4/3 B)/T
    gamma = (4 / 3 * 0.01) / (0.01 + 4 / 3 * 0.01)
    obs = (51 / 53) * 50 * (1 - gamma)
    df_br = rubin_pool([0.2, 0.4, 0.3], [0.01, 0.01, 0.01], df_complete=50).df
    assert df_br == pytest.approx(1 / (1 / (2 * (1 + 1 / r) ** 2) + 1 / obs), rel=1e-12)
    # identical imputations: no between variance, infinite df
    assert rubin_pool([0.5, 0.5], [0.01, 0.02]).df == np.inf


def _mar_frame(n: int, seed: int) -> tuple[pd.DataFrame, float]:
    rng = np.random.default_rng(seed)
    age = rng.normal(0, 1, n)
    group = rng.choice(["a", "b"], n)
    y = rng.random(n) < 1 / (1 + np.exp(-(0.9 * age + 0.4 * (group == "a"))))
    observed = rng.random(n) < 1 / (1 + np.exp(-(1.2 * age + 0.5)))  # MAR on age
    f = pd.DataFrame(
        {"y": pd.array(np.where(observed, y, np.nan)).astype("Float64"), "age": age, "group": group}
    )
    return f, float(y.mean())


def test_impute_and_ipw_recover_mar_truth() -> None:
    f, truth = _mar_frame(3000, 2)
    cc = float(f["y"].mean())
    assert cc - truth > 0.05  # complete case is biased under MAR on age
    sets = completed_datasets(
        f, "y", missing="impute", covariates=("age", "group"), n_imputations=10
    )
    assert len(sets) == 10 and all(s.frame["y"].isin([0.0, 1.0]).all() for s in sets)
    q = np.array([s.frame["y"].mean() for s in sets])
    pooled = rubin_pool(q, q * (1 - q) / len(f))
    est, se = pooled.estimate, pooled.std_err
    assert abs(est - truth) < 4 * se  # simulation recovery, fixed seed
    (w,) = completed_datasets(f, "y", missing="ipw", covariates=("age", "group"))
    ipw = float(np.average(w.frame["y"], weights=w.weights))
    assert abs(ipw - truth) < 4 * se
    assert w.weights is not None and w.weights.mean() == pytest.approx(1.0, abs=0.1)
    again = completed_datasets(
        f, "y", missing="impute", covariates=("age", "group"), n_imputations=10
    )
    assert [s.frame["y"].tolist() for s in again] == [s.frame["y"].tolist() for s in sets]


def test_impute_without_covariates_uses_the_approximate_bayesian_bootstrap() -> None:
    # Regression: intercept-only MICE returned only the observed rows. With no predictors every
    # completed set keeps all rows, the observed values, and 0/1 draws for the missing ones.
    y = np.array([1, 0, np.nan, 1, np.nan, 0, 1, 1] * 25)
    frame = pd.DataFrame({"y": y})
    sets = completed_datasets(frame, "y", missing="impute", n_imputations=5, seed=3)
    observed = ~np.isnan(y)
    for cd in sets:
        values = cd.frame["y"].to_numpy(float)
        assert len(values) == len(y)
        assert np.array_equal(values[observed], y[observed])
        assert set(np.unique(values[~observed])) <= {0.0, 1.0}
    # the draws differ between imputations (the bootstrap propagates uncertainty)
    assert len({tuple(cd.frame["y"]) for cd in sets}) > 1


# --- the shared denominator rule ---------------------------------------------------------------


def test_eligible_mask_due_pending_deaths_by_hand() -> None:
    from iopoutcomes.missing import eligibility, eligible_mask

    f = pd.DataFrame(
        {
            "abstinent_6mo": pd.array([True, None, None, False, None, None], dtype="boolean"),
            # row 3: assessed early inside a window still open; row 5: died, window open
            "followup_status_6mo": [
                "completed",
                "pending",
                "died",
                "completed",
                "refused",
                "died",
            ],
            "followup_due_6mo": pd.array([True, False, True, False, True, False], "boolean"),
        }
    )
    # due rows are 0, 2, 4; exclude drops the died row 2 (row 5 is not due anyway)
    assert eligible_mask(f, "abstinent_6mo").tolist() == [True, False, True, False, True, False]
    e = eligibility(f, "abstinent_6mo", death_policy="exclude")
    assert e.mask.tolist() == [True, False, False, False, True, False]
    assert (e.n_not_due, e.n_not_due_assessed, e.n_excluded_deaths) == (3, 1, 1)
    assert e.remarks()[0] == (
        "abstinent_6mo: 3 episodes whose 6-month window is still open are not yet due and are "
        "not counted (1 of them already assessed early; they count once the window closes)."
    )
    # without a due column: status != "pending"; without either column: every row
    no_due = f.drop(columns="followup_due_6mo")
    assert eligible_mask(no_due, "abstinent_6mo").tolist() == [True, False, True, True, True, True]
    assert eligible_mask(f[["abstinent_6mo"]], "abstinent_6mo").all()
    # completed_datasets analyses the same rows
    (u,) = completed_datasets(f, "abstinent_6mo", missing="using")
    assert u.frame.index.tolist() == [0, 2, 4]


def test_using_fills_the_unfavourable_value(small: pd.DataFrame) -> None:
    (up,) = completed_datasets(small, "abstinent_6mo", missing="using")
    (down,) = completed_datasets(small, "abstinent_6mo", missing="using", higher_is_better=False)
    assert up.frame["abstinent_6mo"].tolist() == [1.0, 0.0, 0.0, 0.0, 1.0]
    assert down.frame["abstinent_6mo"].tolist() == [1.0, 0.0, 1.0, 1.0, 1.0]  # NA -> 1


# --- Bayesian logistic-regression imputation ---------------------------------------------------


def test_logreg_imputation_recovers_mar_truth_and_is_fast() -> None:
    """Complete covariates: the Rubin (1987) / mice.impute.logreg draw, not MICEData (its
    speed is measured by benchmarks/bench_imputation.py, not asserted here)."""
    f, truth = _mar_frame(1200, 7)
    cc = float(f["y"].mean())
    sets = completed_datasets(
        f, "y", missing="impute", covariates=("age", "group"), n_imputations=20
    )
    assert len(sets) == 20
    observed = f["y"].notna().to_numpy()
    for s in sets:  # observed values kept, 0/1 draws for the missing ones
        v = s.frame["y"].to_numpy(float)
        assert np.array_equal(v[observed], f["y"].to_numpy(float)[observed])
        assert set(np.unique(v[~observed])) <= {0.0, 1.0}
    q = np.array([s.frame["y"].mean() for s in sets])
    pooled = rubin_pool(q, q * (1 - q) / len(f))
    est, se = pooled.estimate, pooled.std_err
    assert cc - truth > 0.05  # complete case is biased under MAR on age
    assert abs(est - truth) < 4 * se  # the imputations recover it (fixed seed)
    assert q.var(ddof=1) > 0  # proper imputation: draws differ between data sets


def test_incomplete_covariates_still_use_chained_equations() -> None:
    f, truth = _mar_frame(400, 3)
    f.loc[f.index[:20], "age"] = np.nan
    sets = completed_datasets(
        f, "y", missing="impute", covariates=("age", "group"), n_imputations=2
    )
    assert all(s.frame["y"].notna().all() for s in sets)


def test_calendar_outcomes_are_not_tied_to_the_discharge_interview() -> None:
    # Regression: "sustained_30d_after_discharge" ends in "_discharge", and the status and due
    # columns of the discharge interview were applied to it, dropping episodes whose discharge
    # interview window was open or whose interview status was died/incarcerated.
    from iopoutcomes.missing import _timepoint_columns

    columns = ["followup_status_discharge", "followup_due_discharge", "followup_status_6mo"]
    assert _timepoint_columns(columns, "sustained_30d_after_discharge") == (None, None, None)
    assert _timepoint_columns(columns, "longest_abstinent_run_in_treatment") == (None, None, None)
    assert _timepoint_columns(columns, "abstinent_discharge")[1] == "followup_status_discharge"
    assert _timepoint_columns(columns, "abstinent_alcohol_6mo")[1] == "followup_status_6mo"
    frame = pd.DataFrame(
        {
            "sustained_30d_after_discharge": [True, False, None],
            "followup_status_discharge": ["died", "pending", "completed"],
            "followup_due_discharge": [True, False, True],
        }
    )
    sets = completed_datasets(
        frame, "sustained_30d_after_discharge", missing="using", death_policy="exclude"
    )
    assert len(sets[0].frame) == 3


def test_delta_adjusted_imputation() -> None:
    """delta = 0 reproduces the MAR logistic draws exactly; a large negative (positive) shift
    imputes every missing outcome as 0 (1); a per-group mapping shifts only that group."""
    rng = np.random.default_rng(4)
    n = 200
    f = pd.DataFrame(
        {
            "g": np.where(np.arange(n) % 2 == 0, "IOP", "inpatient"),
            "age": rng.normal(40, 10, n),
            "y": (rng.random(n) < 0.5).astype(float),
        }
    )
    f.loc[rng.random(n) < 0.3, "y"] = np.nan
    miss = f["y"].isna()
    kw = {"covariates": ("g", "age"), "n_imputations": 5, "seed": 3}
    mar = completed_datasets(f, "y", missing="impute", **kw)
    zero = completed_datasets(f, "y", missing="impute", delta=0.0, **kw)
    for a, b in zip(mar, zero, strict=True):
        assert a.frame["y"].tolist() == b.frame["y"].tolist()
    low = completed_datasets(f, "y", missing="impute", delta=-50.0, **kw)
    high = completed_datasets(f, "y", missing="impute", delta=50.0, **kw)
    assert all((d.frame.loc[miss, "y"] == 0).all() for d in low)
    assert all((d.frame.loc[miss, "y"] == 1).all() for d in high)
    one = completed_datasets(f, "y", missing="impute", delta={"IOP": 50.0}, by="g", **kw)
    iop_missing = miss & (f["g"] == "IOP")
    inp_missing = miss & (f["g"] == "inpatient")
    assert all((d.frame.loc[iop_missing, "y"] == 1).all() for d in one)
    for a, b in zip(mar, one, strict=True):  # the other group's draws are unchanged
        assert a.frame.loc[inp_missing, "y"].tolist() == b.frame.loc[inp_missing, "y"].tolist()
    with pytest.raises(ParameterError):
        completed_datasets(f, "y", missing="using", delta=1.0)
    with pytest.raises(ParameterError):
        completed_datasets(f, "y", missing="impute", delta={"IOP": 1.0}, **kw)  # no by=


def test_ipw_sandwich_equals_the_post_stratification_variance() -> None:
    """issue 20: IPW intervals from the M-estimation sandwich (follow-up model stacked).

    With a follow-up model saturated in cells c nested in the groups, the IPW rate is the
    post-stratified mean sum_c (N_c / N_g) p_c, whose linearisation (influence-function)
    variance with random cell sizes is, by hand,
    N_g^-2 {sum_c (N_c / r_c)^2 sum_{observed i in c} (y_i - p_c)^2 + sum_c N_c (p_c - mu_g)^2}.
    """
    from iopoutcomes.missing import ipw_sandwich

    rng = np.random.default_rng(1)
    n = 400
    g = rng.choice(["IOP", "inpatient"], n)
    site = rng.choice(["a", "b", "c"], n)
    y = (rng.random(n) < np.where(site == "a", 0.3, 0.6)).astype(float)
    y[rng.random(n) > np.where(site == "c", 0.5, 0.85)] = np.nan
    f = pd.DataFrame({"cohort": g, "cell": pd.Series(g).str.cat(site, sep="-"), "y": y})
    groups, mu, cov = ipw_sandwich(f, "y", "cohort", ["cohort", "cell"])
    for k, name in enumerate(groups):
        sub = f[f["cohort"] == name]
        n_g = len(sub)
        cells = sub.groupby("cell")["y"].agg(N="size", r="count", p="mean")
        sq = (
            sub.assign(p=sub["cell"].map(cells["p"]))
            .eval("(y - p) ** 2")
            .groupby(sub["cell"])
            .sum()
        )
        mean = float((cells["N"] / n_g * cells["p"]).sum())
        var = (
            ((cells["N"] / cells["r"]) ** 2 * sq).sum()
            + (cells["N"] * (cells["p"] - mean) ** 2).sum()
        ) / n_g**2
        assert mu[k] == pytest.approx(mean, rel=1e-9)
        assert cov[k, k] == pytest.approx(var, rel=1e-6)
    assert abs(cov[0, 1]) < 1e-12  # disjoint cells: the two groups' rates are independent


def test_rubin_pool_is_a_displayable_result_and_tuple_use_warns() -> None:
    # hand computation: qbar = 0.3, U = 0.01, B = var(0.2, 0.4, 0.3) = 0.01, T = 0.01 + 4/3 * 0.01
    pooled = rubin_pool([0.2, 0.4, 0.3], [0.01, 0.01, 0.01])
    assert pooled.n_imputations == 3 and pooled.method == "Rubin (1987)"
    assert pooled.within_variance == pytest.approx(0.01, rel=1e-12)
    assert pooled.between_variance == pytest.approx(0.01, rel=1e-12)
    assert pooled.std_err == pytest.approx(np.sqrt(0.01 + 4 / 3 * 0.01), rel=1e-12)
    from iopoutcomes import schema

    assert tuple(pooled.to_frame().columns) == schema.POOLED_COLUMNS
    assert "Rubin" in pooled.methods_text() and "<table" in pooled._repr_html_()
    with pytest.raises(dataclasses.FrozenInstanceError):
        pooled.estimate = 1.0  # type: ignore[misc]
    with pytest.warns(DeprecationWarning, match="PooledEstimate"):
        est, se, df = pooled
    assert (est, se, df) == (pooled.estimate, pooled.std_err, pooled.df)


def test_completed_datasets_rule_is_deprecated_for_missing() -> None:
    f = pd.DataFrame({"y": [1, 0, None, 1]})
    with pytest.warns(DeprecationWarning, match="'rule' is deprecated; use 'missing'"):
        (old,) = completed_datasets(f, "y", rule="exclude")
    with pytest.warns(DeprecationWarning, match="by position is deprecated; pass missing="):
        (positional,) = completed_datasets(f, "y", "exclude")
    (new,) = completed_datasets(f, "y", missing="exclude")
    assert old.frame.equals(new.frame) and positional.frame.equals(new.frame)
