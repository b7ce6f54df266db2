"""Synthetic IOP vs inpatient cohorts with known truth (:func:`simulate_records`).

The generator builds realistic treatment episodes, follow-up interviews and daily use calendars
from a latent daily use process, then passes the three tables through
:func:`iopoutcomes.read_records`, so simulated records are validated exactly like user data.
Everything the analysis should recover is kept in ``records.truth`` (a :class:`SimulationTruth`):
the full-data outcomes of every episode at every timepoint before any loss to follow-up, their
counts, and the true marginal causal risk difference IOP - inpatient computed from both potential
outcomes of every episode.

Generative model (one episode = one admission; everything vectorised, no loop over people/days)
------------------------------------------------------------------------------------------------
1. **Covariates**: sex, primary substance (alcohol, opioids, stimulants, cannabis), age,
   severity (0-10, higher for opioids and stimulants), site, and an unobserved "recovery
   propensity" ``z`` ~ N(0, 1) that affects retention and relapse but *not* the setting (so the
   setting is unconfounded given the observed covariates and site). About
   ``readmission_share`` of the episodes are a patient's second admission, at least one
   latent-process horizon after the first.
2. **Setting**: P(IOP) is logistic in severity, substance, age and a site effect, all scaled by
   ``confounding_strength``; the intercept is solved so that the expected IOP share is
   ``iop_share``. Higher severity -> inpatient, and higher severity -> more relapse, so the
   unadjusted IOP - inpatient comparison is confounded.
3. **Course in both settings** (common random numbers): completion probability by setting,
   severity and ``z``; non-completion reasons with setting-specific probabilities; length of
   stay 42-70 days in IOP (6-10 weeks), 14-35 days inpatient/residential (2-5 weeks), cut short
   for non-completers; a death or an incarceration (event times that do not depend on the
   setting) during the stay ends it with reason ``died`` / ``incarcerated``.
4. **Latent daily use** from 30 days before admission to the last possible assessment date: an
   alternating renewal process (abstinent and use spells with geometric lengths, i.e. a
   two-state Markov chain per person) built from cumulative sums of spell lengths. Three phases:
   heavy use before admission; treatment (inpatient: almost no use; IOP: spells 2.5 times
   longer than after treatment); after treatment, where the mean abstinent spell is
   ``exp(eta)`` days with ``eta`` linear in severity, substance, age, sex, site, ``z`` and
   ``effect_iop_logodds`` for IOP. The after-treatment process runs on the admission clock and is
   shared by both settings (common random numbers), so with ``effect_iop_logodds=0`` the two
   potential outcomes of an episode are identical for every window that lies after discharge in
   both settings (6 and 12 months): the settings are then exactly equally effective there.
5. **Follow-ups** at intake, discharge, 1, 3, 6 and 12 months: target day 30/91/182/365 after
   admission; actual day drawn inside the default window of
   :data:`iopoutcomes.definitions.DEFAULT_WINDOWS` for about 92.5% and just outside it for the
   rest. Status: ``died`` / ``incarcerated`` from the event times; otherwise reached with a
   logistic probability in observed covariates (age, sex, severity, discharge reason, site), a
   person effect shared by the timepoints, and ``mnar_strength`` times the true abstinence at
   that date; the intercept is solved so that the reached share is ``followup_rate``. A
   ``withdrawn`` status carries forward. Follow-ups whose window is still open at ``data_as_of``
   have no row (pending).
6. **Measures**: ``days_used_past30`` = use days of the latent process in the 30 days before the
   assessment date, except that a share ``uds_underreport`` of people who used report 0 days
   (their urine screen is positive); ``uds_result`` at 1-12 months positive when used in the
   last 3 days; milestone scores that improve more for abstinent people.
7. **use_days**: the latent process from admission to discharge + ``calendar_days_after_discharge``
   (or ``data_as_of``, or death), as self-report rows keyed by ``patient_id``, with about 2% of
   days missing and about 3% of days with an extra ``source="uds"`` row.

Examples
--------
>>> from iopoutcomes.simulate import simulate_records
>>> rec = simulate_records(n=300, seed=1)
>>> len(rec.episodes), rec.provenance
(300, 'simulated')
>>> sorted(rec.episodes["cohort"].unique())
['IOP', 'inpatient']
>>> rec.truth.full_data_counts.columns[:4].tolist()
['cohort', 'timepoint', 'n', 'n_abstinent']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.optimize import brentq
from scipy.special import expit

from ._render import ResultDisplay
from ._simulate_services import simulate_services
from .definitions import DEFAULT_WINDOWS
from .exceptions import ParameterError
from .records import Records, read_records
from .schema import DEFAULT_TIMEPOINTS

__all__ = [
    "SAMPLE_N",
    "SAMPLE_SEED",
    "SCENARIOS",
    "SimulationTruth",
    "load_sample",
    "simulate_records",
    "simulate_tables",
]

SAMPLE_N: int = 600
"""Number of episodes in the shipped sample (``data/samples/``)."""

SAMPLE_SEED: int = 20240101
"""Seed of the shipped sample (``data/samples/``)."""

SUBSTANCES: tuple[str, ...] = ("alcohol", "opioids", "stimulants", "cannabis")
"""Primary substances drawn by the generator."""

FOLLOWUP_TARGET_DAYS: Mapping[str, int] = {"1mo": 30, "3mo": 91, "6mo": 182, "12mo": 365}
"""Target assessment day after admission of each post-admission follow-up."""

_FOLLOWUPS: tuple[str, ...] = ("1mo", "3mo", "6mo", "12mo")
SCENARIOS: tuple[str, ...] = ("default", "stay_length")
"""Scenarios of :func:`simulate_records` (``stay_length``: identical after-discharge process in
both settings, stays of different length)."""
_PRE_DAYS = 30  # latent process starts 30 days before admission (intake past-30-day window)
_LATE_MAX = 45  # latest out-of-window assessment: window end + 45 days
_UDS_DAYS = 3  # a urine screen detects use in the last 3 days
_UDS_MISSING = 0.07  # share of scheduled urine screens not obtained
_OUT_OF_WINDOW = 0.075  # share of follow-up assessments drawn outside their window
_ITEM_MISSING = 0.02  # item non-response of each milestone measure
_MISSING_DAY_SHARE = 0.02  # calendar days without a record
_UDS_DAY_SHARE = 0.03  # calendar days with an extra urine-screen row

# Setting-specific course parameters (probabilities at severity 5, z = 0).
_P_COMPLETE = {"IOP": 0.55, "inpatient": 0.68}
_NONCOMPLETE_REASONS = ("dropped_out", "terminated", "transferred", "other")
_P_NONCOMPLETE = {"IOP": (0.62, 0.14, 0.12, 0.12), "inpatient": (0.50, 0.15, 0.22, 0.13)}
_LOS_RANGE = {"IOP": (42, 70), "inpatient": (14, 35)}
_SUBSTANCE_PROBS = (0.42, 0.26, 0.18, 0.14)
_SEVERITY_MEAN = {"alcohol": 0.50, "opioids": 0.60, "stimulants": 0.56, "cannabis": 0.38}
_LOG_ABSTINENT_SPELL = 4.72  # log mean abstinent spell (days) after treatment at the reference
_STREAMS = (
    "covariates",
    "readmission",
    "setting",
    "course",
    "events",
    "pre",
    "treatment",
    "after",
    "assessment",
    "followup",
    "report",
    "measures",
    "calendar",
)


@dataclass(frozen=True, eq=False, repr=False)
class SimulationTruth(ResultDisplay):
    """What :func:`simulate_records` generated, before any loss to follow-up.

    Attributes
    ----------
    parameters : Mapping[str, Any]
        The generating parameters (``n``, ``seed`` and every keyword, ``data_as_of`` resolved to
        an ISO date).
    full_data : pandas.DataFrame
        One row per episode and timepoint (``intake``, ``discharge``, ``1mo`` ... ``12mo``) for
        every episode, followed up or not: ``episode_id``, ``patient_id``, ``cohort``, ``site``,
        ``timepoint``, ``target_day`` / ``assessment_day`` (days after admission of the target
        and of the actual or would-be assessment), ``assessment_date``, ``in_window``, ``alive``
        (not died on or before the assessment day), ``incarcerated``, ``days_used_past30`` (true
        use days in the 30 days before the assessment day), ``abstinent`` (true: no use in those
        30 days; missing when dead), ``abstinent_at_target`` (the same before the target day),
        ``underreport`` (would report 0 days although using), ``reported_days_used_past30``,
        ``abstinent_reported`` (what a completed self-report would say), ``abstinent_if_iop`` /
        ``abstinent_if_inpatient`` (the two potential outcomes; 1-12 months only), ``status``
        (the follow-up status generated, also where the follow-up is still pending),
        ``has_row`` (the follow-up has a row at ``data_as_of``) and ``observed`` (a completed
        row is in ``records.followups``).
    full_data_counts : pandas.DataFrame
        ``cohort``, ``timepoint``, ``n`` (episodes alive at the assessment), ``n_abstinent``
        (truly abstinent), ``n_abstinent_reported`` (self-report of 0 days), ``n_died``.
    causal_effects : pandas.DataFrame
        ``timepoint``, ``n``, ``risk_iop``, ``risk_inpatient``, ``risk_difference``: the true
        marginal risk of abstinence if every episode had been IOP / inpatient and their
        difference, among episodes alive at the assessment (death does not depend on setting).
    propensity_iop : pandas.Series
        True probability of IOP given covariates and site, indexed by ``episode_id``.
    continuity : pandas.DataFrame or None
        With ``services=True``: the true continuity-of-care rates after residential and
        inpatient discharges, ``definition`` (``cbe3453``, ``hedis_fui``), ``within`` (7 and
        14; 7 and 30 days), ``n`` and ``n_events`` (eligible index discharges and those
        followed, counted from the fates drawn, under the rules of ``continuity_of_care``:
        transfers chained for FUI only, exclusions per discharge over the longest window),
        ``rate`` (the model probability, averaged over the eligible discharges) and
        ``method``; model and rules in :mod:`iopoutcomes._simulate_services`.
    index_discharges : pandas.DataFrame or None
        With ``services=True``: one row per FUI index discharge (a direct transfer chain is
        one; under CBE #3453 its first stay is an index discharge too)
        with its fate: ``patient_id``, ``episode_id`` (NA for people without an episode),
        ``index_type``, ``admission_date``, ``discharge_date``, ``transfer``,
        ``window_observed`` (the 30-day window ends by ``data_as_of``), ``hospice``,
        ``days_to_death``, ``pharmacotherapy_day0``, ``days_to_visit`` (first visit, days
        after discharge) and ``visit_type``. For tests: truth is never published.

    Examples
    --------
    >>> from iopoutcomes.simulate import simulate_records
    >>> truth = simulate_records(n=200, seed=3).truth
    >>> truth.causal_effects["timepoint"].tolist()
    ['1mo', '3mo', '6mo', '12mo']
    >>> float(truth.causal_effects.set_index("timepoint").loc["6mo", "risk_difference"])
    0.0
    """

    parameters: Mapping[str, Any]
    full_data: pd.DataFrame
    full_data_counts: pd.DataFrame
    causal_effects: pd.DataFrame
    propensity_iop: pd.Series
    remarks: tuple[str, ...] = field(default=())
    costs: pd.DataFrame | None = None
    continuity: pd.DataFrame | None = None
    index_discharges: pd.DataFrame | None = None

    def _header(self) -> str:
        p = self.parameters
        return (
            f"SimulationTruth: {p['n']} episodes, seed {p['seed']}, "
            f"effect_iop_logodds {p['effect_iop_logodds']}, mnar_strength {p['mnar_strength']}"
        )

    def to_frame(self) -> pd.DataFrame:
        """Full-data counts by cohort and timepoint (a copy)."""
        return self.full_data_counts.copy()

    def definition_text(self) -> str:
        """What the counts mean."""
        return (
            "Full-data counts before loss to follow-up: abstinent = no use of the latent daily "
            "process in the 30 days before the (actual or would-be) assessment date; n = "
            "episodes alive on that date."
        )


# --- parameter handling ------------------------------------------------------------------------


def _as_timestamp(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"{name} must be an ISO date such as '2024-01-01' (or a date/Timestamp); "
            f"got a value of type {type(value).__name__} that could not be parsed."
        ) from exc
    if pd.isna(ts):
        raise ParameterError(f"{name} must be a date; got a missing value.")
    return ts.normalize().tz_localize(None) if ts.tzinfo is not None else ts.normalize()


def _check_share(name: str, value: float, *, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ParameterError(f"{name} must be a number; got {type(value).__name__}.")
    value = float(value)
    if not (low <= value <= high):
        raise ParameterError(f"{name} must lie in [{low}, {high}]; got a value outside it.")
    return value


def _check_int(name: str, value: int, *, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ParameterError(f"{name} must be a whole number; got {type(value).__name__}.")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in {low}..{high}"
        raise ParameterError(f"{name} must be {bound}; got a value outside that range.")
    return int(value)


def _check_real(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ParameterError(f"{name} must be a number; got {type(value).__name__}.")
    if not np.isfinite(value):
        raise ParameterError(f"{name} must be finite.")
    return float(value)


# --- small numerical helpers -------------------------------------------------------------------


def _solve_intercept(lp: np.ndarray, target: float) -> float:
    """Intercept ``c`` with ``mean(expit(c + lp)) == target`` (``+-inf`` at 0 and 1)."""
    if target <= 0.0:
        return -np.inf
    if target >= 1.0 or lp.size == 0:
        return np.inf if target >= 1.0 else 0.0
    return float(brentq(lambda c: float(expit(c + lp).mean()) - target, -40.0, 40.0, xtol=1e-10))


def _renewal(
    rng: np.random.Generator,
    length: np.ndarray,
    using0: np.ndarray,
    mean_abstinent: np.ndarray,
    mean_use: np.ndarray,
    batch: int = 16,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Alternating renewal process (geometric spells) on ``[0, length)`` in ``W`` worlds.

    All worlds share the uniforms of spell ``k`` of episode ``i`` (common random numbers). Spells
    are drawn ``batch`` at a time for the episodes not yet covered (a loop over batches, not over
    episodes or days), placed with cumulative sums and clipped to ``length``.

    Parameters
    ----------
    length : (n,) int array
        Days to cover per episode (0 allowed).
    using0 : (W, n) bool array
        State of the first spell (True = use).
    mean_abstinent, mean_use : (W, n) float arrays
        Mean spell lengths in days (>= 1).

    Returns
    -------
    list of (episode, start, end, used)
        One flat segment table per world, sorted by episode then start, covering each
        ``[0, length_i)`` exactly.
    """
    n_worlds, n = using0.shape
    log_stay_a = np.log1p(-1.0 / np.maximum(mean_abstinent, 1.0 + 1e-9))
    log_stay_u = np.log1p(-1.0 / np.maximum(mean_use, 1.0 + 1e-9))
    offset = np.zeros((n_worlds, n), dtype=np.int64)
    state = using0.astype(bool).copy()
    parity = (np.arange(batch) % 2).astype(bool)
    pieces: list[list[tuple[np.ndarray, ...]]] = [[] for _ in range(n_worlds)]
    rows = np.flatnonzero(length > 0)
    while rows.size:
        u = 1.0 - rng.random((rows.size, batch))  # in (0, 1]
        log_u = np.log(u)
        limit = length[rows][:, None]
        for w in range(n_worlds):
            spell_using = state[w, rows][:, None] ^ parity[None, :]
            log_stay = np.where(
                spell_using, log_stay_u[w, rows][:, None], log_stay_a[w, rows][:, None]
            )
            lengths = np.maximum(np.ceil(log_u / log_stay), 1.0).astype(np.int64)
            ends = offset[w, rows][:, None] + np.cumsum(lengths, axis=1)
            starts = ends - lengths
            keep = starts < limit
            episode = np.broadcast_to(rows[:, None], keep.shape)[keep]
            pieces[w].append(
                (episode, starts[keep], np.minimum(ends, limit)[keep], spell_using[keep])
            )
            offset[w, rows] = ends[:, -1]
            state[w, rows] = state[w, rows] ^ bool(batch % 2)
        rows = rows[(offset[:, rows] < length[rows][None, :]).any(axis=0)]
    out = []
    for w in range(n_worlds):
        if pieces[w]:
            ep, st, en, us = (np.concatenate(parts) for parts in zip(*pieces[w], strict=True))
        else:
            ep = st = en = np.zeros(0, dtype=np.int64)
            us = np.zeros(0, dtype=bool)
        order = np.lexsort((st, ep))
        out.append((ep[order], st[order], en[order], us[order]))
    return out


_Segments = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _clip(seg: _Segments, low: np.ndarray, high: np.ndarray, shift: int = 0) -> _Segments:
    """Shift segments by ``shift`` days and clip each episode's segments to ``[low, high)``."""
    ep, st, en, us = seg
    st = np.maximum(st + shift, low[ep])
    en = np.minimum(en + shift, high[ep])
    keep = en > st
    return ep[keep], st[keep], en[keep], us[keep]


def _concat(*segs: _Segments) -> _Segments:
    ep, st, en, us = (np.concatenate(parts) for parts in zip(*segs, strict=True))
    order = np.lexsort((st, ep))
    return ep[order], st[order], en[order], us[order]


def _select(seg: _Segments, mask: np.ndarray) -> _Segments:
    keep = mask[seg[0]]
    return seg[0][keep], seg[1][keep], seg[2][keep], seg[3][keep]


def _days_used(seg: _Segments, low: np.ndarray, high: np.ndarray, n: int) -> np.ndarray:
    """Use days of each episode in ``[low_i, high_i)``."""
    ep, st, en, us = seg
    overlap = np.clip(np.minimum(en, high[ep]) - np.maximum(st, low[ep]), 0, None)
    return np.bincount(ep, weights=overlap * us, minlength=n).astype(np.int64)


# --- the generator -----------------------------------------------------------------------------


def _resolve_parameters(n: int, seed: int, **kw: Any) -> dict[str, Any]:
    p: dict[str, Any] = {"n": _check_int("n", n, low=1), "seed": _check_int("seed", seed, low=0)}
    p["n_sites"] = _check_int("n_sites", kw["n_sites"], low=1, high=26)
    start = _as_timestamp(kw["start"], "start")
    p["n_quarters"] = _check_int("n_quarters", kw["n_quarters"], low=1)
    end = start + pd.DateOffset(months=3 * p["n_quarters"])
    as_of = end if kw["data_as_of"] is None else _as_timestamp(kw["data_as_of"], "data_as_of")
    if as_of < end - pd.Timedelta(days=1):
        raise ParameterError(
            "data_as_of must not be before the last admission day (start + n_quarters "
            "quarters - 1 day); give a later data_as_of or fewer quarters."
        )
    p["start"] = start.date().isoformat()
    p["data_as_of"] = as_of.date().isoformat()
    p["iop_share"] = _check_share("iop_share", kw["iop_share"], low=0.01, high=0.99)
    p["effect_iop_logodds"] = _check_real("effect_iop_logodds", kw["effect_iop_logodds"])
    if abs(p["effect_iop_logodds"]) > 5:
        raise ParameterError("effect_iop_logodds must lie in [-5, 5].")
    p["confounding_strength"] = _check_share(
        "confounding_strength", kw["confounding_strength"], high=5.0
    )
    p["followup_rate"] = _check_share("followup_rate", kw["followup_rate"])
    p["mnar_strength"] = _check_real("mnar_strength", kw["mnar_strength"])
    p["uds_underreport"] = _check_share("uds_underreport", kw["uds_underreport"])
    p["calendar_days_after_discharge"] = _check_int(
        "calendar_days_after_discharge", kw["calendar_days_after_discharge"], low=0, high=730
    )
    p["readmission_share"] = _check_share("readmission_share", kw["readmission_share"], high=0.5)
    scenario = kw.get("scenario", "default")
    if scenario not in SCENARIOS:
        raise ParameterError(f"scenario must be one of {list(SCENARIOS)}.")
    if scenario == "stay_length":
        if p["effect_iop_logodds"] != 0.0:
            raise ParameterError(
                "scenario='stay_length' makes the after-discharge process identical in both "
                "settings, so effect_iop_logodds must be 0."
            )
        if p["confounding_strength"] not in (0.0, 1.0):
            raise ParameterError(
                "scenario='stay_length' assigns the setting at random (confounding_strength "
                "0); leave confounding_strength at its default or pass 0."
            )
        p["confounding_strength"] = 0.0
        p["scenario"] = scenario  # only recorded when not the default (sample unchanged)
    if kw.get("instruments", False):
        p["instruments"] = True  # recorded only when asked for: the sample stays unchanged
    if kw.get("costs", False):
        p["costs"] = True  # recorded only when asked for: the sample stays unchanged
    if kw.get("services", False):  # recorded only when asked for, like instruments
        if not isinstance(kw["services"], bool):
            raise ParameterError("services must be True or False.")
        p["services"] = True
        stays = kw.get("n_service_stays")
        p["n_service_stays"] = n if stays is None else _check_int("n_service_stays", stays, low=0)
    elif kw.get("n_service_stays") is not None:
        raise ParameterError("n_service_stays is a setting of services=True only.")
    return p


def _categorical_text(codes: np.ndarray, labels: list[str]) -> pd.Series:
    """Text column from integer codes (pandas' default string dtype)."""
    text = pc.take(pa.array(labels, type=pa.large_string()), pa.array(np.asarray(codes, np.int64)))
    return pd.Series(pd.array(text, dtype="str"))


_INSTRUMENT_GAIN = {
    "intake": 0.0,
    "discharge": 0.2,
    "1mo": 0.25,
    "3mo": 0.3,
    "6mo": 0.35,
    "12mo": 0.4,
}
"""Average improvement of the latent distress (item units) by timepoint, before the effect of
abstinence: care helps everyone a little, staying abstinent helps more."""


def _instrument_latents(
    seed: int, sev_c: np.ndarray, z: np.ndarray, substance: np.ndarray
) -> dict[str, Any]:
    """Per-episode latent distress and recovery capital for ``instruments=True``.

    Drawn from a generator of their own (the seed's child after all model streams), so asking
    for instruments changes no other column of the simulated records.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(len(_STREAMS) + 1)[-1])
    n = len(sev_c)
    distress = 1.4 + 0.12 * sev_c - 0.25 * z + rng.normal(0, 0.45, n)
    capital = 3.6 - 0.1 * sev_c + 0.3 * z + rng.normal(0, 0.5, n)
    alcohol = np.asarray(substance) == SUBSTANCES.index("alcohol")
    return {"rng": rng, "distress": distress, "capital": capital, "alcohol": alcohol}


def _day_band(days: np.ndarray) -> np.ndarray:
    """BAM Likert coding of a past-30-day count: 0, 1-3, 4-8, 9-15, 16-30 -> 0..4."""
    return np.searchsorted(np.array([1, 4, 9, 16]), days, side="right")


def _instrument_items(
    state: dict[str, Any], tp: str, used30: np.ndarray, completed: np.ndarray
) -> pd.DataFrame:
    """PHQ-9, GAD-7, BARC-10 and BAM (Likert) item columns for one timepoint.

    Distress falls and recovery capital rises with time in care and, more, with the share of
    the past 30 days abstinent, so measured change tracks use; about 2% of items are left
    blank. Items exist only for completed assessments.
    """
    rng = state["rng"]
    n = len(used30)
    clean = 1.0 - np.asarray(used30, dtype=float) / 30.0 if tp != "intake" else np.zeros(n)
    gain = _INSTRUMENT_GAIN[tp]
    distress = state["distress"] - gain - 0.45 * clean + rng.normal(0, 0.3, n)
    capital = state["capital"] + 1.5 * gain + 0.6 * clean + rng.normal(0, 0.3, n)
    columns: dict[str, np.ndarray] = {}

    def items(prefix: str, k: int, centre: np.ndarray, low: int, high: int, sd: float) -> None:
        for i in range(1, k + 1):
            columns[f"{prefix}_{i}"] = np.clip(np.round(centre + rng.normal(0, sd, n)), low, high)

    items("phq9", 9, distress, 0, 3, 0.6)
    items("gad7", 7, 0.9 * distress + 0.1, 0, 3, 0.6)
    items("barc10", 10, capital, 1, 6, 0.6)
    days = np.asarray(used30, dtype=float)
    alcohol = state["alcohol"]
    bam = {
        4: _day_band(np.where(alcohol, days, np.round(days * 0.2))),
        5: _day_band(np.where(alcohol, np.round(days * 0.6), 0)),
        6: _day_band(np.where(alcohol, np.round(days * 0.3), days)),
    }
    for i in (1, 2, 3, 8, 11, 15):
        bam[i] = np.clip(np.round(1.2 * distress + rng.normal(0, 0.7, n)), 0, 4)
    for i in (9, 10, 12, 13, 14, 16, 17):
        bam[i] = np.clip(np.round(capital - 1.5 + rng.normal(0, 0.7, n)), 0, 4)
    for i in sorted(bam):
        columns[f"bam_{i}"] = np.asarray(bam[i], dtype=float)
    # + 0.0 turns the -0.0 that rounding a small negative gives into 0.0 (written "0.0" by
    # every pandas version, so the sample is byte-identical whatever pandas regenerates it)
    frame = pd.DataFrame({name: values + 0.0 for name, values in columns.items()})
    blank = rng.random(frame.shape) < 0.02
    frame = frame.mask(blank | ~np.asarray(completed, dtype=bool)[:, None])
    return frame.astype("float64")  # as a CSV of the same values reads back


def simulate_tables(
    n: int = 2000,
    seed: int = 0,
    *,
    n_sites: int = 6,
    start: Any = "2024-01-01",
    n_quarters: int = 10,
    data_as_of: Any = None,
    iop_share: float = 0.6,
    effect_iop_logodds: float = 0.0,
    confounding_strength: float = 1.0,
    followup_rate: float = 0.75,
    mnar_strength: float = 0.0,
    uds_underreport: float = 0.1,
    calendar_days_after_discharge: int = 180,
    readmission_share: float = 0.08,
    scenario: str = "default",
    instruments: bool = False,
    costs: bool = False,
    services: bool = False,
    n_service_stays: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, SimulationTruth]:
    """Generate the three raw tables and the truth, without validation.

    Same parameters as :func:`simulate_records`, which passes these tables through
    :func:`iopoutcomes.read_records`. Useful to write large files (benchmarks) or to test
    ingestion on realistic frames.

    Returns
    -------
    episodes, followups, use_days : pandas.DataFrame
        Canonical input tables with calendar dates (``datetime64``), text identifiers and
        nullable integer/boolean measures.
    truth : SimulationTruth

    Examples
    --------
    >>> from iopoutcomes.simulate import simulate_tables
    >>> episodes, followups, use_days, truth = simulate_tables(n=100, seed=2)
    >>> len(episodes), set(followups["timepoint"]) <= set(truth.full_data["timepoint"])
    (100, True)
    """
    p = _resolve_parameters(
        n,
        seed,
        n_sites=n_sites,
        start=start,
        n_quarters=n_quarters,
        data_as_of=data_as_of,
        iop_share=iop_share,
        effect_iop_logodds=effect_iop_logodds,
        confounding_strength=confounding_strength,
        followup_rate=followup_rate,
        mnar_strength=mnar_strength,
        uds_underreport=uds_underreport,
        calendar_days_after_discharge=calendar_days_after_discharge,
        readmission_share=readmission_share,
        scenario=scenario,
        instruments=instruments,
        costs=costs,
        services=services,
        n_service_stays=n_service_stays,
    )
    return _generate(p)


def _generate(
    p: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, SimulationTruth]:
    n = p["n"]
    rngs = dict(
        zip(
            _STREAMS,
            (
                np.random.default_rng(s)
                for s in np.random.SeedSequence(p["seed"]).spawn(len(_STREAMS))
            ),
            strict=True,
        )
    )
    start = pd.Timestamp(p["start"])
    period_end = start + pd.DateOffset(months=3 * p["n_quarters"])
    span = int((period_end - start).days)
    as_of = pd.Timestamp(p["data_as_of"])
    windows = {tp: DEFAULT_WINDOWS[tp] for tp in DEFAULT_TIMEPOINTS}
    los_max = max(hi for _, hi in _LOS_RANGE.values())
    horizon = max(
        max(windows[tp].end_day for tp in _FOLLOWUPS) + _LATE_MAX + 1,
        los_max + max(windows["discharge"].end_day, 0) + 1,
        los_max + p["calendar_days_after_discharge"] + 1,
    )
    gap_min = horizon + _PRE_DAYS + 1

    # 1. patients and episodes --------------------------------------------------------------
    n_second = int(round(p["readmission_share"] * n)) if span > gap_min + 1 else 0
    n_first = n - n_second
    rc = rngs["covariates"]
    female = rc.random(n_first) < 0.38
    substance = rc.choice(len(SUBSTANCES), size=n_first, p=_SUBSTANCE_PROBS)
    age_shift = np.array([5.0, 0.0, -2.0, -8.0])[substance]
    age = np.clip(np.floor(18 + rc.gamma(4.0, 5.0, n_first) + age_shift), 18, 80)
    sev_mean = np.array([_SEVERITY_MEAN[s] for s in SUBSTANCES])[substance]
    severity = np.round(10 * rc.beta(7 * sev_mean, 7 * (1 - sev_mean)), 1)
    z = rc.standard_normal(n_first)
    site_weights = rc.dirichlet(np.full(p["n_sites"], 4.0))
    site = rc.choice(p["n_sites"], size=n_first, p=site_weights)
    admission = rc.integers(0, span, n_first)

    rr = rngs["readmission"]
    if n_second:
        weight = np.exp(0.25 * (severity - 5) - 0.5 * z)
        parent = np.sort(rr.choice(n_first, size=n_second, replace=False, p=weight / weight.sum()))
        admission[parent] = rr.integers(0, span - gap_min, n_second)
        second_adm = (
            admission[parent] + gap_min + rr.integers(0, span - gap_min - admission[parent])
        )
        female = np.concatenate([female, female[parent]])
        substance = np.concatenate([substance, substance[parent]])
        age = np.concatenate(
            [age, np.minimum(age[parent] + (second_adm - admission[parent]) // 365, 80)]
        )
        severity = np.concatenate(
            [
                severity,
                np.round(np.clip(severity[parent] + rr.normal(0.3, 1.0, n_second), 0, 10), 1),
            ]
        )
        z = np.concatenate([z, 0.7 * z[parent] + np.sqrt(0.51) * rr.standard_normal(n_second)])
        moved = rr.random(n_second) < 0.2
        site = np.concatenate(
            [site, np.where(moved, rr.choice(p["n_sites"], n_second, p=site_weights), site[parent])]
        )
        admission = np.concatenate([admission, second_adm])
        patient = np.concatenate([np.arange(n_first), parent])
    else:
        patient = np.arange(n_first)
    # order episodes by admission day (ties broken at random) and number patients by first visit
    order = np.lexsort((rr.random(n), admission))
    female, substance, age, severity, z, site, admission, patient = (
        a[order] for a in (female, substance, age, severity, z, site, admission, patient)
    )
    _, first_pos = np.unique(patient, return_index=True)
    patient_rank = np.empty(n_first, dtype=np.int64)
    patient_rank[np.argsort(first_pos)] = np.arange(n_first)
    patient = patient_rank[patient]
    sev_c = severity - 5.0
    age_c = (age - 38.0) / 10.0
    is_sub = {s: substance == i for i, s in enumerate(SUBSTANCES)}

    # 2. setting ----------------------------------------------------------------------------
    rs = rngs["setting"]
    site_setting = rs.normal(0.0, 0.5, p["n_sites"])
    site_outcome = rs.normal(0.0, 0.15, p["n_sites"])
    site_followup = rs.normal(0.0, 0.3, p["n_sites"])
    lp_inpatient = p["confounding_strength"] * (
        0.45 * sev_c
        + 0.5 * is_sub["opioids"]
        + 0.3 * is_sub["alcohol"]
        - 0.4 * is_sub["cannabis"]
        + 0.1 * age_c
        + site_setting[site]
    )
    propensity = expit(_solve_intercept(-lp_inpatient, p["iop_share"]) - lp_inpatient)
    iop = rs.random(n) < propensity
    asam = np.where(iop, "2.1", np.where(rs.random(n) < 0.6, "3.5", "3.7"))

    # 3. course in both settings (common random numbers) -------------------------------------
    rcse = rngs["course"]
    u_comp, u_reason, u_plan, u_frac = (rcse.random(n) for _ in range(4))
    re = rngs["events"]
    death_rate = (
        0.012
        * np.exp(0.35 * age_c + 0.1 * sev_c)
        * np.where(is_sub["opioids"], 2.5, np.where(is_sub["stimulants"], 1.4, 1.0))
    )
    death_day = np.floor(re.exponential(365.25 / death_rate))
    inc_rate = (
        0.06 * np.exp(-0.2 * age_c) * np.where(is_sub["opioids"] | is_sub["stimulants"], 1.5, 1.0)
    )
    inc_day = np.floor(re.exponential(365.25 / inc_rate))
    inc_end = inc_day + 30 + re.geometric(1 / 150, n)
    course: dict[str, dict[str, np.ndarray]] = {}
    for setting in ("IOP", "inpatient"):
        lo, hi = _LOS_RANGE[setting]
        planned = lo + np.floor(u_plan * (hi - lo + 1))
        p_comp = expit(
            np.log(_P_COMPLETE[setting] / (1 - _P_COMPLETE[setting])) - 0.15 * sev_c + 0.5 * z
        )
        completed = u_comp < p_comp
        reason_idx = np.searchsorted(np.cumsum(_P_NONCOMPLETE[setting]), u_reason * (1 - 1e-12))
        reason = np.where(completed, "completed", np.array(_NONCOMPLETE_REASONS)[reason_idx])
        los = np.where(completed, planned, np.maximum(np.ceil(planned * (0.1 + 0.8 * u_frac)), 1))
        died = death_day < los
        jailed = ~died & (inc_day < los)
        reason = np.where(died, "died", np.where(jailed, "incarcerated", reason))
        los = np.where(died, death_day, np.where(jailed, inc_day, los))
        course[setting] = {"los": los.astype(np.int64), "reason": reason}
    los_obs = np.where(iop, course["IOP"]["los"], course["inpatient"]["los"])
    reason_obs = np.where(iop, course["IOP"]["reason"], course["inpatient"]["reason"])

    # 4. latent daily use --------------------------------------------------------------------
    eta = (
        _LOG_ABSTINENT_SPELL
        - 0.22 * sev_c
        + np.array([0.0, -0.35, -0.25, 0.1])[substance]
        + 0.08 * age_c
        + 0.1 * female
        + site_outcome[site]
        + 0.9 * z
    )
    mean_abst_after = np.stack([np.exp(eta + p["effect_iop_logodds"]), np.exp(eta)])  # IOP, inp
    mean_use_after = np.exp(np.log(10.0) + 0.08 * sev_c - 0.3 * z)
    # before admission: heavy use
    rp = rngs["pre"]
    pre_using = rp.random(n) < 0.8
    pre = _renewal(
        rp,
        np.full(n, _PRE_DAYS),
        pre_using[None, :],
        (2.0 + 0.5 * (10 - severity))[None, :],
        (4.0 + 2.0 * severity)[None, :],
    )[0]
    # in treatment (IOP world, inpatient world)
    rt = rngs["treatment"]
    treat_using = np.stack([rt.random(n) < 0.15, np.zeros(n, dtype=bool)])
    treat = _renewal(
        rt,
        np.maximum(course["IOP"]["los"], course["inpatient"]["los"]),
        treat_using,
        np.stack([2.5 * mean_abst_after[0], 10.0 * mean_abst_after[1] + 200.0]),
        np.stack([np.full(n, 3.0), np.full(n, 1.3)]),
    )
    # after treatment, on the admission clock, starting abstinent on the admission day
    after = _renewal(
        rngs["after"],
        np.full(n, horizon),
        np.zeros((2, n), dtype=bool),
        mean_abst_after,
        np.broadcast_to(np.maximum(mean_use_after, 1.2), (2, n)),
    )
    zeros = np.zeros(n, dtype=np.int64)
    pre_seg = _clip(pre, np.full(n, -_PRE_DAYS), zeros, shift=-_PRE_DAYS)
    world: list[_Segments] = []
    stay_length = p.get("scenario") == "stay_length"
    for w, setting in enumerate(("IOP", "inpatient")):
        los = course[setting]["los"]
        after_w = after[w]
        if stay_length:  # the same process on the discharge clock in both settings
            ep_a, st_a, en_a, us_a = after_w
            after_w = (ep_a, st_a + los[ep_a], en_a + los[ep_a], us_a)
        world.append(
            _concat(
                pre_seg,
                _clip(treat[w], zeros, los),
                _clip(after_w, los, np.full(n, horizon)),
            )
        )
    observed = _concat(_select(world[0], iop), _select(world[1], ~iop))

    # 5. assessment days ----------------------------------------------------------------------
    ra = rngs["assessment"]
    target = {"intake": zeros, "discharge": los_obs}
    day: dict[str, np.ndarray] = {"intake": zeros}
    dis_jitter = np.where(
        ra.random(n) < 0.7, 0, np.minimum(ra.geometric(0.25, n), windows["discharge"].end_day)
    )
    day["discharge"] = los_obs + dis_jitter
    for tp in _FOLLOWUPS:
        win = windows[tp]
        inside = win.start_day + np.floor(ra.beta(2.0, 3.0, n) * (win.end_day - win.start_day + 1))
        early = np.maximum(win.start_day - ra.geometric(1 / 6, n), 1)
        late = win.end_day + np.minimum(ra.geometric(1 / 12, n), _LATE_MAX)
        u_out = ra.random(n)
        outside = u_out < _OUT_OF_WINDOW
        day[tp] = np.where(
            outside, np.where(u_out < 0.3 * _OUT_OF_WINDOW, early, late), inside
        ).astype(np.int64)
        target[tp] = np.full(n, FOLLOWUP_TARGET_DAYS[tp])

    # 6. truth at every timepoint -------------------------------------------------------------
    used30 = {tp: _days_used(observed, day[tp] - 30, day[tp], n) for tp in DEFAULT_TIMEPOINTS}
    used30_target = {
        tp: _days_used(observed, target[tp] - 30, target[tp], n) for tp in DEFAULT_TIMEPOINTS
    }
    used3 = {tp: _days_used(observed, day[tp] - _UDS_DAYS, day[tp], n) for tp in _FOLLOWUPS}
    potential = {
        tp: [_days_used(world[w], day[tp] - 30, day[tp], n) == 0 for w in (0, 1)]
        for tp in _FOLLOWUPS
    }
    alive = {tp: death_day > day[tp] for tp in DEFAULT_TIMEPOINTS}
    alive["intake"] = np.ones(n, dtype=bool)
    jailed_at = {tp: (inc_day <= day[tp]) & (day[tp] < inc_end) for tp in DEFAULT_TIMEPOINTS}
    jailed_at["intake"] = np.zeros(n, dtype=bool)

    # 7. follow-up status -----------------------------------------------------------------------
    rf = rngs["followup"]
    person = rf.normal(0.0, 0.8, n)
    completer = np.isin(reason_obs, ("completed", "transferred"))
    mar = (
        0.2 * age_c - 0.12 * sev_c + 0.25 * female + site_followup[site] + 0.5 * completer + person
    )
    status: dict[str, np.ndarray] = {"intake": np.full(n, "completed", dtype=object)}
    dis_reach = np.where(
        reason_obs == "completed", 0.95, np.where(reason_obs == "transferred", 0.75, 0.45)
    )
    u_dis = rf.random(n)
    status["discharge"] = np.where(
        u_dis < dis_reach,
        "completed",
        np.where(u_dis < dis_reach + 0.6 * (1 - dis_reach), "not_located", "refused"),
    )
    withdrawn = np.zeros(n, dtype=bool)
    for tp in _FOLLOWUPS:
        abst = used30[tp] == 0
        lp = mar + p["mnar_strength"] * abst
        eligible = alive[tp] & ~jailed_at[tp] & ~withdrawn
        c = _solve_intercept(lp[eligible], p["followup_rate"])
        reach = rf.random(n) < (expit(c + lp) if np.isfinite(c) else float(c > 0))
        u_lost = rf.random(n)
        lost = np.where(
            u_lost < 0.08, "withdrawn", np.where(u_lost < 0.33, "refused", "not_located")
        )
        s = np.where(reach, "completed", lost)
        s = np.where(withdrawn, "withdrawn", s)
        withdrawn = withdrawn | (s == "withdrawn")
        status[tp] = s
    for tp in ("discharge", *_FOLLOWUPS):
        status[tp] = np.where(
            ~alive[tp],
            "died",
            np.where(jailed_at[tp] & (status[tp] != "withdrawn"), "incarcerated", status[tp]),
        )

    # rows present at data_as_of: completed when done by then; others once the window closed
    as_of_day = (as_of - (start + pd.to_timedelta(admission, unit="D"))).days.to_numpy()
    present: dict[str, np.ndarray] = {"intake": np.ones(n, dtype=bool)}
    present["discharge"] = day["discharge"] <= as_of_day
    for tp in _FOLLOWUPS:
        done = (status[tp] == "completed") & (day[tp] <= as_of_day)
        present[tp] = done | ((status[tp] != "completed") & (windows[tp].end_day <= as_of_day))

    # 8. reported use, urine screens, milestone measures ---------------------------------------
    rp2 = rngs["report"]
    underreport: dict[str, np.ndarray] = {
        "intake": np.zeros(n, dtype=bool),
        "discharge": np.zeros(n, dtype=bool),
    }
    uds: dict[str, np.ndarray] = {}
    for tp in _FOLLOWUPS:
        underreport[tp] = (used30[tp] > 0) & (rp2.random(n) < p["uds_underreport"])
        result = np.where(used3[tp] > 0, "positive", "negative")
        result = np.where(rp2.random(n) < _UDS_MISSING, "missing", result)
        uds[tp] = np.where(underreport[tp], "positive", result)
    reported = {tp: np.where(underreport[tp], 0, used30[tp]) for tp in DEFAULT_TIMEPOINTS}

    rm = rngs["measures"]
    base = {
        m: 24.0 - 1.4 * sev_c + 2.0 * z + rm.normal(0, 4, n)
        for m in ("wellbeing", "relationships", "coping")
    }
    gain_time = {"intake": 0.0, "discharge": 2.0, "1mo": 2.0, "3mo": 3.0, "6mo": 3.5, "12mo": 4.0}
    measures: dict[str, dict[str, np.ndarray]] = {}
    for tp in DEFAULT_TIMEPOINTS:
        clean = 1.0 - used30[tp] / 30.0 if tp != "intake" else np.zeros(n)
        m: dict[str, np.ndarray] = {}
        for name, b in base.items():
            gain = (
                0.0
                if tp == "intake"
                else gain_time[tp] + 5.0 * clean + 1.5 * z + rm.normal(0, 3, n)
            )
            m[name] = np.clip(np.round(b + gain), 0, 40)
        m["housing_stable"] = rm.random(n) < expit(1.0 - 0.25 * sev_c + 0.5 * z + 0.9 * clean)
        m["employed"] = rm.random(n) < expit(
            -0.3 - 0.2 * sev_c + 0.3 * z - 0.3 * age_c + 0.7 * clean
        )
        after_discharge = day[tp] > los_obs
        m["aftercare_attended"] = np.where(
            after_discharge & (tp != "intake"),
            rm.random(n) < expit(0.2 + 0.9 * (reason_obs == "completed") + 0.6 * clean + 0.3 * z),
            False,
        )
        m["_aftercare_applies"] = after_discharge & (tp != "intake")
        for name in ("wellbeing", "relationships", "coping", "housing_stable", "employed"):
            m[f"_{name}_missing"] = rm.random(n) < _ITEM_MISSING
        measures[tp] = m

    # 9. tables ----------------------------------------------------------------------------------
    width_e = len(str(n))
    episode_ids = np.array([f"E{i + 1:0{width_e}d}" for i in range(n)])
    width_p = len(str(n_first))
    patient_labels = [f"P{i + 1:0{width_p}d}" for i in range(n_first)]
    admission_date = start + pd.to_timedelta(admission, unit="D")
    discharged = los_obs <= as_of_day
    discharge_date = pd.Series(admission_date + pd.to_timedelta(los_obs, unit="D")).where(
        discharged
    )
    site_labels = [f"Site {chr(ord('A') + i)}" for i in range(p["n_sites"])]
    level = np.where(iop, "IOP", np.where(asam == "3.5", "residential", "inpatient"))
    cohort = np.where(iop, "IOP", "inpatient")
    episodes = pd.DataFrame(
        {
            "patient_id": _categorical_text(patient, patient_labels),
            "episode_id": pd.Series(episode_ids, dtype="str"),
            "cohort": pd.Series(cohort, dtype="str"),
            "level_of_care": pd.Series(level, dtype="str"),
            "asam_code": pd.Series(asam, dtype="str"),
            "asam_edition": pd.Series(np.full(n, "ASAM3"), dtype="str"),
            "site": _categorical_text(site, site_labels),
            "admission_date": pd.Series(admission_date),
            "discharge_date": discharge_date,
            "discharge_reason": pd.Series(reason_obs, dtype="str").where(discharged),
            "age": pd.Series(age.astype(np.int64)),
            "sex": pd.Series(np.where(female, "female", "male"), dtype="str"),
            "primary_substance": pd.Series(np.array(SUBSTANCES)[substance], dtype="str"),
            "severity": pd.Series(severity),
        }
    )
    if p.get("services"):
        # deaths known by data_as_of: an exclusion of the care-transition measures. Each
        # episode draws its own death time, so a readmitted patient has two: only the one of
        # the latest episode is a death (the other would precede or contradict a readmission)
        latest = admission == pd.Series(admission).groupby(patient).transform("max").to_numpy()
        died = (death_day <= as_of_day) & latest
        death_date = admission_date + pd.to_timedelta(np.where(died, death_day, 0), unit="D")
        episodes.insert(
            list(episodes.columns).index("discharge_reason") + 1,
            "death_date",
            pd.Series(death_date).where(died),
        )

    if p.get("costs"):
        episodes["cost"] = _simulated_costs(p["seed"], iop, level, u_plan)
    if p.get("instruments"):
        instrument_state = _instrument_latents(p["seed"], sev_c, z, substance)
    frames = []
    full_frames = []
    for k, tp in enumerate(DEFAULT_TIMEPOINTS):
        completed = status[tp] == "completed"
        m = measures[tp]
        date = admission_date + pd.to_timedelta(day[tp], unit="D")
        fu = pd.DataFrame(
            {
                "episode": np.arange(n),
                "tp_order": k,
                "timepoint": tp,
                "status": status[tp],
                "assessment_date": pd.Series(date).where(completed),
                "days_used_past30": pd.array(np.where(completed, reported[tp], 0), dtype="Int64"),
                "uds_result": uds.get(tp, np.full(n, None, dtype=object)),
            }
        )
        fu.loc[~completed, "days_used_past30"] = pd.NA
        fu["uds_result"] = pd.Series(fu["uds_result"], dtype="str").where(
            completed & (tp in _FOLLOWUPS)
        )
        for name in ("wellbeing", "relationships", "coping"):
            fu[name] = pd.Series(m[name], dtype="Float64").where(completed & ~m[f"_{name}_missing"])
        for name in ("housing_stable", "employed"):
            fu[name] = pd.Series(m[name], dtype="boolean").where(completed & ~m[f"_{name}_missing"])
        fu["aftercare_attended"] = pd.Series(m["aftercare_attended"], dtype="boolean").where(
            completed & m["_aftercare_applies"]
        )
        if p.get("instruments"):
            items = _instrument_items(instrument_state, tp, used30[tp], completed)
            fu = pd.concat([fu, items], axis=1)
        frames.append(fu[present[tp]])
        alive_tp = alive[tp]
        full = {
            "episode": np.arange(n),
            "tp_order": k,
            "timepoint": tp,
            "target_day": target[tp],
            "assessment_day": day[tp],
            "assessment_date": date,
            "in_window": _in_window(
                windows[tp].start_day,
                windows[tp].end_day,
                day[tp] - (los_obs if tp == "discharge" else 0),
            ),
            "alive": alive_tp,
            "incarcerated": jailed_at[tp],
            "days_used_past30": used30[tp],
            "abstinent": pd.array(used30[tp] == 0, dtype="boolean"),
            "abstinent_at_target": pd.array(used30_target[tp] == 0, dtype="boolean"),
            "underreport": underreport[tp],
            "reported_days_used_past30": reported[tp],
            "abstinent_reported": pd.array(reported[tp] == 0, dtype="boolean"),
            "abstinent_if_iop": pd.array(
                potential[tp][0] if tp in potential else np.zeros(n, bool), dtype="boolean"
            ),
            "abstinent_if_inpatient": pd.array(
                potential[tp][1] if tp in potential else np.zeros(n, bool), dtype="boolean"
            ),
            "status": status[tp],
            "has_row": present[tp],
            "observed": present[tp] & completed,
        }
        ff = pd.DataFrame(full)
        for col in (
            "abstinent",
            "abstinent_at_target",
            "abstinent_reported",
            "abstinent_if_iop",
            "abstinent_if_inpatient",
        ):
            ff.loc[~alive_tp, col] = pd.NA
        if tp not in potential:
            ff["abstinent_if_iop"] = pd.NA
            ff["abstinent_if_inpatient"] = pd.NA
        full_frames.append(ff)

    followups = pd.concat(frames, ignore_index=True).sort_values(
        ["episode", "tp_order"], kind="stable"
    )
    followups.insert(
        0,
        "episode_id",
        pd.Series(episode_ids[followups["episode"].to_numpy()], dtype="str", index=followups.index),
    )
    followups["timepoint"] = followups["timepoint"].astype("str")
    followups["status"] = followups["status"].astype("str")
    followups = followups.drop(columns=["episode", "tp_order"]).reset_index(drop=True)

    full_data = pd.concat(full_frames, ignore_index=True).sort_values(
        ["episode", "tp_order"], kind="stable"
    )
    ep_idx = full_data["episode"].to_numpy()
    full_data.insert(
        0, "episode_id", pd.Series(episode_ids[ep_idx], dtype="str", index=full_data.index)
    )
    full_data.insert(1, "patient_id", episodes["patient_id"].to_numpy()[ep_idx])
    full_data.insert(2, "cohort", cohort[ep_idx])
    full_data.insert(3, "site", episodes["site"].to_numpy()[ep_idx])
    for col in ("patient_id", "cohort", "site", "timepoint", "status"):
        full_data[col] = full_data[col].astype("str")
    full_data = full_data.drop(columns=["episode", "tp_order"]).reset_index(drop=True)

    # use_days: the observed latent process from admission to the end of the calendar
    rcal = rngs["calendar"]
    cal_end = np.minimum(los_obs + p["calendar_days_after_discharge"], as_of_day + 1)
    cal_end = np.minimum(cal_end, death_day + 1).astype(np.int64)
    use_days = _calendar(
        rcal,
        _clip(observed, zeros, np.maximum(cal_end, 0)),
        patient,
        patient_labels,
        admission,
        np.datetime64(start.date().isoformat(), "D"),
    )

    counts = (
        full_data.assign(
            _alive=full_data["alive"],
            _abst=full_data["abstinent"].fillna(False).astype(bool),
            _rep=full_data["abstinent_reported"].fillna(False).astype(bool),
            _died=~full_data["alive"],
        )
        .groupby(["cohort", "timepoint"], sort=False)
        .agg(
            n=("_alive", "sum"),
            n_abstinent=("_abst", "sum"),
            n_abstinent_reported=("_rep", "sum"),
            n_died=("_died", "sum"),
        )
        .reset_index()
    )
    counts["_order"] = counts["timepoint"].map({tp: i for i, tp in enumerate(DEFAULT_TIMEPOINTS)})
    counts = counts.sort_values(["cohort", "_order"]).drop(columns="_order").reset_index(drop=True)
    counts = counts.astype(
        {c: "int64" for c in ("n", "n_abstinent", "n_abstinent_reported", "n_died")}
    )

    effects = []
    for tp in _FOLLOWUPS:
        a = alive[tp]
        r1 = float(potential[tp][0][a].mean()) if a.any() else float("nan")
        r0 = float(potential[tp][1][a].mean()) if a.any() else float("nan")
        effects.append(
            {
                "timepoint": tp,
                "n": int(a.sum()),
                "risk_iop": r1,
                "risk_inpatient": r0,
                "risk_difference": r1 - r0,
            }
        )
    causal = pd.DataFrame(effects)

    truth = SimulationTruth(
        costs=_cost_truth(causal) if p.get("costs") else None,
        parameters=dict(p),
        full_data=full_data,
        full_data_counts=counts,
        causal_effects=causal,
        propensity_iop=pd.Series(
            propensity,
            index=pd.Index(episode_ids, dtype="str", name="episode_id"),
            name="propensity_iop",
        ),
        remarks=(
            f"Latent daily use from {_PRE_DAYS} days before admission to day {horizon}.",
            "Setting is unconfounded given age, sex, primary_substance, severity and site.",
        )
        + (_STAY_LENGTH_TRUTH if p.get("scenario") == "stay_length" else ()),
    )
    return episodes, followups, use_days, truth


SIMULATED_DAILY_COST: dict[str, float] = {"IOP": 120.0, "residential": 400.0, "inpatient": 650.0}
"""Daily amounts (USD, 2024 prices, illustrative) of the simulated episode payments."""
_COST_SHAPE = 4.0  # gamma shape of the services-used variation: CV = 1 / sqrt(4) = 0.5
_RESIDENTIAL_SHARE = 0.6  # inpatient-cohort episodes placed in residential care (ASAM 3.5)


def _simulated_costs(
    seed: int, iop: np.ndarray, level: np.ndarray, u_plan: np.ndarray
) -> np.ndarray:
    """Episode costs for ``costs=True``, from a stream of their own (other columns unchanged)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(len(_STREAMS) + 2)[-1])
    lo = np.where(iop, _LOS_RANGE["IOP"][0], _LOS_RANGE["inpatient"][0])
    hi = np.where(iop, _LOS_RANGE["IOP"][1], _LOS_RANGE["inpatient"][1])
    planned = lo + np.floor(u_plan * (hi - lo + 1))
    daily = np.vectorize(SIMULATED_DAILY_COST.__getitem__, otypes=[float])(level)
    variation = rng.gamma(_COST_SHAPE, 1.0 / _COST_SHAPE, iop.size)
    return np.round(daily * planned * variation, 2)


def _cost_truth(causal: pd.DataFrame) -> pd.DataFrame:
    """Expected cost per episode by cohort (uniform planned stays, mean-1 variation) and the
    difference, with the true risk differences of abstinence."""
    iop_days = sum(_LOS_RANGE["IOP"]) / 2.0
    inp_days = sum(_LOS_RANGE["inpatient"]) / 2.0
    inp_daily = (
        _RESIDENTIAL_SHARE * SIMULATED_DAILY_COST["residential"]
        + (1 - _RESIDENTIAL_SHARE) * SIMULATED_DAILY_COST["inpatient"]
    )
    iop = SIMULATED_DAILY_COST["IOP"] * iop_days
    inp = inp_daily * inp_days
    out = pd.DataFrame(
        {"cohort": ["IOP", "inpatient", "difference"], "mean_cost": [iop, inp, iop - inp]}
    )
    for tp, rd in zip(causal["timepoint"], causal["risk_difference"], strict=True):
        out[f"diff_{tp}"] = [np.nan, np.nan, float(rd)]
    return out


_STAY_LENGTH_TRUTH: tuple[str, ...] = (
    "Scenario stay_length: the after-discharge abstinence process is identical in both "
    "settings (the same draws on the discharge clock, no setting effect, setting assigned at "
    "random); only the stays differ in length (IOP 42-70 days planned, inpatient 14-35).",
    "True IOP - inpatient difference of any outcome on a window anchored at discharge (e.g. "
    "sustained abstinence in days 1-90 after discharge): 0. In-treatment milestones differ "
    "with the stays, not with the settings' effect.",
)


def _calendar(
    rng: np.random.Generator,
    seg: _Segments,
    patient: np.ndarray,
    patient_labels: list[str],
    admission: np.ndarray,
    epoch: np.datetime64,
) -> pd.DataFrame:
    """Expand use segments into daily rows sorted by (patient_id, date, source).

    About ``_MISSING_DAY_SHARE`` of the days get no self-report row and about
    ``_UDS_DAY_SHARE`` get an extra ``source="uds"`` row with the same value.
    """
    ep, st, en, us = seg
    n = admission.size
    lengths = en - st
    total = int(lengths.sum())
    cal_ep = np.repeat(ep.astype(np.int32), lengths)
    cal_day = (np.repeat(st - (np.cumsum(lengths) - lengths), lengths) + np.arange(total)).astype(
        np.int32
    )
    cal_used = np.repeat(us, lengths)
    keep = rng.random(total) >= _MISSING_DAY_SHARE
    extra = rng.random(total) < _UDS_DAY_SHARE
    # one row per kept self-report day plus one per urine-screen day (after the self-report)
    src_idx = np.repeat(np.arange(total, dtype=np.int64), keep.astype(np.int8) + extra)
    is_uds = ~keep[src_idx]
    del keep, extra
    is_uds[1:] |= src_idx[1:] == src_idx[:-1]
    row_ep = cal_ep[src_idx]
    # rows are in (episode, day) order; a patient's calendars do not overlap in time, so moving
    # whole episode blocks into (patient, admission) order sorts them by (patient_id, date)
    per_ep = np.bincount(row_ep, minlength=n)
    begin = np.cumsum(per_ep) - per_ep
    ep_order = np.argsort(patient, kind="stable")
    new_len = per_ep[ep_order]
    gather = np.repeat(begin[ep_order] - (np.cumsum(new_len) - new_len), new_len)
    gather += np.arange(row_ep.size)
    src_idx, row_ep, is_uds = src_idx[gather], row_ep[gather], is_uds[gather]
    del gather
    days = (admission[row_ep] + cal_day[src_idx]).astype("timedelta64[D]")
    return pd.DataFrame(
        {
            "patient_id": _categorical_text(patient[row_ep], patient_labels),
            "date": (epoch + days).astype("datetime64[s]"),
            "used": cal_used[src_idx].astype(np.int64),
            "source": _categorical_text(is_uds.astype(np.int8), ["self_report", "uds"]),
        }
    )


def _in_window(low: int, high: int, offset: np.ndarray) -> np.ndarray:
    return (offset >= low) & (offset <= high)


def simulate_records(
    n: int = 2000,
    seed: int = 0,
    *,
    n_sites: int = 6,
    start: Any = "2024-01-01",
    n_quarters: int = 10,
    data_as_of: Any = None,
    iop_share: float = 0.6,
    effect_iop_logodds: float = 0.0,
    confounding_strength: float = 1.0,
    followup_rate: float = 0.75,
    mnar_strength: float = 0.0,
    uds_underreport: float = 0.1,
    calendar_days_after_discharge: int = 180,
    readmission_share: float = 0.08,
    scenario: str = "default",
    instruments: bool = False,
    costs: bool = False,
    services: bool = False,
    n_service_stays: int | None = None,
) -> Records:
    """Simulate IOP vs inpatient follow-up records with known truth.

    The tables are generated by :func:`simulate_tables` (model in the module docstring) and read
    with :func:`iopoutcomes.read_records`, so they are validated like user data; the result has
    ``provenance="simulated"`` and ``truth`` (a :class:`SimulationTruth`).

    Parameters
    ----------
    n : int, default 2000
        Number of treatment episodes.
    seed : int, default 0
        Seed of the random generator (each model part draws from its own child stream, so
        changing one parameter leaves the others' draws unchanged).
    n_sites : int, default 6
        Number of sites, labelled ``"Site A"``, ``"Site B"``, ... (unequal sizes).
    start : str or date, default "2024-01-01"
        First admission day.
    n_quarters : int, default 10
        Admissions are spread uniformly over ``n_quarters`` quarters from ``start``.
    data_as_of : str or date, optional
        Date the data are complete up to: later discharges are blank (still in care) and
        follow-ups not yet done whose window is still open have no row. Defaults to the day
        after the admission period (``start`` + ``n_quarters`` quarters).
    iop_share : float, default 0.6
        Expected share of episodes treated in IOP.
    effect_iop_logodds : float, default 0.0
        True conditional effect of IOP vs inpatient on abstinence after treatment: added to the
        log mean abstinent-spell length, i.e. the log odds ratio of being abstinent on a given
        day in the after-treatment steady state (close to the log odds ratio of 30-day
        abstinence). 0 means equally effective after treatment. The resulting true marginal
        risk differences are in ``truth.causal_effects``.
    confounding_strength : float, default 1.0
        Multiplies the effects of severity, substance, age and site on the setting (0 = setting
        assigned at random).
    followup_rate : float, default 0.75
        Target share reached at each 1-12 month follow-up among those alive, not incarcerated
        and not withdrawn (discharge interviews are done for 95% of completers, 75% of
        transfers and 45% of other discharges; intake interviews for everyone).
    mnar_strength : float, default 0.0
        Log odds ratio of being reached for truly abstinent vs using people (loss to follow-up
        that depends on the outcome itself); 0 = missing at random given observed covariates.
    uds_underreport : float, default 0.1
        Share of people who used in the past 30 days who report 0 days but whose urine screen
        is positive (1-12 months).
    calendar_days_after_discharge : int, default 180
        Length of the daily use calendar after the discharge date.
    readmission_share : float, default 0.08
        Share of episodes that are a patient's second admission.
    scenario : {"default", "stay_length"}, default "default"
        ``"stay_length"`` (opt-in; issue 21): the after-discharge abstinence process is
        identical in both settings and only the stays differ in length. The after-treatment
        process runs on the *discharge* clock (day 0 = discharge date, starting abstinent), with
        the same random draws in both settings, no setting effect (``effect_iop_logodds`` must
        be 0) and the setting assigned at random (``confounding_strength`` is set to 0; another
        non-zero value than the default raises). Any outcome on a window anchored at discharge
        (e.g. the comparable window, days 1-90 after discharge) then has a true IOP - inpatient
        difference of 0, while in-treatment milestones differ with the stays (IOP 42-70 days
        planned, inpatient 14-35). ``truth.parameters["scenario"]`` and ``truth.remarks`` say
        so. The default scenario draws exactly what earlier versions drew.
    instruments : bool, default False
        Add item columns of the PHQ-9 (``phq9_1``...), GAD-7, BARC-10 and the BAM (Likert
        version, items 7 omitted) to every completed assessment, driven by a latent distress
        and recovery capital that improve with time in care and with abstinence (so
        reliable change tracks use). Drawn from a stream of their own: every other column is
        what ``instruments=False`` gives. Score them with
        :func:`iopoutcomes.score_followups`.
    costs : bool, default False
        Add a ``cost`` column to the episodes (USD, 2024 prices; issue 19): an episode-based
        payment set at the planned course (:data:`SIMULATED_DAILY_COST` per day of the planned
        stay, 42-70 days IOP, 14-35 inpatient/residential, uniform and independent of the
        covariates) times a gamma variation for services used (mean 1, coefficient of variation
        0.5), drawn from a stream of its own (every other column is what ``costs=False``
        gives). The true mean costs and their difference are in ``truth.costs``.
    services : bool, default False
        Add a ``services`` table with step-down transitions (model in
        :mod:`iopoutcomes._simulate_services`): residential and inpatient discharges (the
        episodes', half of them also listed as service stays with the same dates, and
        ``n_service_stays`` of people without an episode) followed by IOP, outpatient, PHP,
        telehealth or pharmacotherapy at simulated delays or never, direct transfers, hospice,
        emergency visits that are no follow-up, and IET-style new episodes. The episodes gain
        ``death_date`` (deaths known by ``data_as_of``, on a patient's latest episode: a
        readmitted patient's earlier episode draws a death time of its own that the
        readmission contradicts). ``truth.continuity`` holds the true
        CBE #3453 (7, 14 days) and HEDIS FUI (7, 30 days) rates, ``truth.index_discharges``
        each index discharge's fate. Drawn from a stream of its own: the other tables are what
        ``services=False`` gives (``episodes`` but for ``death_date``).
    n_service_stays : int, optional
        With ``services=True``: stays of people without an episode; ``n`` when not given.

    Returns
    -------
    Records
        Validated records with ``provenance="simulated"`` and ``truth``.

    Raises
    ------
    ParameterError
        When a parameter is out of range or of the wrong type.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> rec = iop.simulate_records(n=400, seed=0)
    >>> rec.truth.parameters["followup_rate"]
    0.75
    >>> bool((rec.followups["timepoint"] == "6mo").any())
    True
    """
    episodes, followups, use_days, truth = simulate_tables(
        n,
        seed,
        n_sites=n_sites,
        start=start,
        n_quarters=n_quarters,
        data_as_of=data_as_of,
        iop_share=iop_share,
        effect_iop_logodds=effect_iop_logodds,
        confounding_strength=confounding_strength,
        followup_rate=followup_rate,
        mnar_strength=mnar_strength,
        uds_underreport=uds_underreport,
        calendar_days_after_discharge=calendar_days_after_discharge,
        readmission_share=readmission_share,
        scenario=scenario,
        instruments=instruments,
        costs=costs,
        services=services,
        n_service_stays=n_service_stays,
    )
    service_table = None
    if truth.parameters.get("services"):
        # a stream of its own: +1 is the instruments', +2 the costs' stream
        stream = np.random.SeedSequence(truth.parameters["seed"]).spawn(len(_STREAMS) + 3)[-1]
        service_table, index, continuity = simulate_services(
            episodes,
            np.random.default_rng(stream),
            start=pd.Timestamp(truth.parameters["start"]),
            data_as_of=pd.Timestamp(truth.parameters["data_as_of"]),
            n_service_stays=truth.parameters["n_service_stays"],
        )
        truth = dataclasses.replace(truth, continuity=continuity, index_discharges=index)
    records = read_records(
        episodes,
        followups,
        use_days,
        services=service_table,
        timepoints=DEFAULT_TIMEPOINTS,
        data_as_of=pd.Timestamp(truth.parameters["data_as_of"]),
    )
    return dataclasses.replace(records, provenance="simulated", truth=truth)


def load_sample() -> Records:
    """The shipped sample: ``simulate_records(n=SAMPLE_N, seed=SAMPLE_SEED, instruments=True)``.

    ``data/samples/`` in the source tree holds the same records as CSV files (regenerate them
    with ``iopoutcomes simulate --n 600 --seed 20240101 --out data/samples``); this function
    rebuilds them from the seed, so it also works in an installed package. The follow-ups carry
    PHQ-9, GAD-7, BARC-10 and BAM item columns (drawn from their own stream, so every other
    column is what ``instruments=False`` gives).

    Examples
    --------
    >>> from iopoutcomes.simulate import load_sample, SAMPLE_N
    >>> len(load_sample().episodes) == SAMPLE_N
    True
    """
    return simulate_records(n=SAMPLE_N, seed=SAMPLE_SEED, instruments=True)
