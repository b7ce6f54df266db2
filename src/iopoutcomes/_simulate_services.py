"""Simulated service records with step-down transitions and their true continuity rates.

:func:`simulate_services` is the services part of :func:`iopoutcomes.simulate_records`
(``services=True``). It turns the simulated episodes into the encounters an EHR would list
around them, and adds people who have services but no episode, so that the care-transition
measures (CBE #3453 continuity of care, HEDIS FUI) have a known truth.

Generative model (vectorised; one draw per index discharge, no loop over people)
--------------------------------------------------------------------------------
1. **Stays.** Every residential or inpatient episode with a discharge date is a stay; half of
   them are also listed in ``services`` with the very same dates (an EHR lists the stay its
   episode is: the measures must count it once). ``n_service_stays`` further stays (55%
   residential, 45% inpatient, 3-28 days, admitted uniformly from ``start`` to 30 days before
   ``data_as_of``) belong to people without an episode (``patient_id`` ``S...``).
2. **Direct transfers.** An episode discharged ``transferred``, and 6% of the other stays,
   continue in a stay of the other kind (inpatient -> residential, residential -> inpatient)
   admitted on the discharge day or the day after (half each), 7-28 days long. The chain is one
   index discharge, dated by the last discharge, whose type it takes.
3. **Hospice.** 1% of index discharges are followed by a ``hospice`` service 1-3 days later and
   by nothing else (excluded from every window).
4. **Follow-up** of the other index discharges, independently:

   * pharmacotherapy (buprenorphine, extended-release naltrexone or methadone) on the
     discharge day with probability ``P_PHARMACOTHERAPY_DAY0`` = 0.15;
   * no visit within 60 days with probability ``P_NEVER`` = 0.30; otherwise the first visit on
     day ``D`` = 1, 2, ... after discharge, geometric with ``P_VISIT_DAY`` = 0.15 a day, so
     P(D <= w) = 1 - 0.85**w; its type is ``iop`` (35%), ``outpatient`` (30%),
     ``pharmacotherapy`` (15%), ``telehealth`` (10%) or ``php`` (10%), all follow-up types of
     both measures; 0-3 further weekly visits of the same type;
   * an ``ed`` visit (follow-up for neither measure) on a day 0-30 with probability 0.15.

   Services after ``data_as_of``, and after a death (the episodes' ``death_date``; deaths come
   from the episode model, so they are rare), are not listed.
5. **New SUD episodes** (IET style, no truth kept): ``n_service_stays // 4`` people (``T...``)
   with a first SUD visit (outpatient 60%, ED 25%, IOP 15%; principal SUD diagnosis), a second
   visit 0-20 days later for half of them, and two more visits 1-40 days after that for half of
   those, some with two providers on one day.

True rates (``truth.continuity``)
---------------------------------
The index discharges of each definition, under the rules ``continuity_of_care`` applies:

* ``hedis_fui``: a direct-transfer chain is one index discharge, dated by its last discharge
  (NCQA's rule). ``cbe3453``: every stay is an index discharge of its own (the CBE #3453
  specification counts discharges and states no transfer rule; its numerator's "residential
  admission on day 3 through day 7 or 14, after inpatient discharges only" presupposes that a
  stay that starts days 0-2 after a discharge leaves that discharge in the denominator). The
  first stay of a chain is then followed only by what follows the chain's end within its
  window (the next admission, on day 0 or 1, is never a CBE follow-up).
* Exclusions per discharge, over the definition's longest window (14 days for CBE, 30 for
  FUI), so both rates of a measure share one denominator: the window has not closed by
  ``data_as_of``, a hospice service, or a death on days 0..longest after discharge (which
  includes episodes discharged ``died``).
* Followed within w: ``cbe3453`` a visit on days 1..w or pharmacotherapy on days 0..w;
  ``hedis_fui`` a visit (pharmacotherapy included) on days 1..w.

``n`` and ``n_events`` are counted from the fates drawn (what a correct measure computes on
these records). ``rate`` is the model probability averaged over the eligible index
discharges (:func:`follow_probability`): for a discharge not followed by a transfer (all of
FUI's) it is :func:`true_rate`, FUI 0.70 (1 - 0.85**w), CBE 1 - (1 - 0.15)(1 - FUI); for the
first stay of a CBE chain it is the same model shifted by the days to the chain's end.

Each person has at most one FUI index discharge in any 31-day period (episodes of one person
are far apart), so the HEDIS 31-day rule drops none, and no residential admission follows an
inpatient discharge 2 days or more later, so CBE's day-3 rule never applies: both rules are for
hand-built tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

P_PHARMACOTHERAPY_DAY0 = 0.15
"""Probability of pharmacotherapy on the discharge day."""
P_NEVER = 0.30
"""Probability of no follow-up visit within 60 days."""
P_VISIT_DAY = 0.15
"""Daily probability of the first visit (geometric delay from day 1)."""
P_HOSPICE = 0.01
P_TRANSFER = 0.06
P_ED = 0.15
WINDOWS: dict[str, tuple[int, ...]] = {"cbe3453": (7, 14), "hedis_fui": (7, 30)}
"""The windows (days) of each definition whose true rate ``truth.continuity`` holds."""

_VISIT_TYPES = ("iop", "outpatient", "pharmacotherapy", "telehealth", "php")
_VISIT_PROBS = (0.35, 0.30, 0.15, 0.10, 0.10)
_MEDICATIONS = ("buprenorphine", "naltrexone_er", "methadone")
_DAY = np.timedelta64(1, "D")
_NONE = np.array(None, dtype=object)  # a missing text value, as an array for np.where

CONTINUITY_COLUMNS: tuple[str, ...] = ("definition", "within", "n", "n_events", "rate", "method")
"""Columns of ``truth.continuity``."""


def true_rate(definition: str, within: int) -> float:
    """The model probability that an eligible index discharge is followed within ``within``.

    For a discharge whose follow-up starts on its own discharge day (every index discharge of
    HEDIS FUI, and every CBE #3453 index discharge not followed by a direct transfer).

    Examples
    --------
    >>> round(true_rate("hedis_fui", 7), 4)
    0.4756
    >>> round(true_rate("cbe3453", 7), 4)
    0.5543
    """
    return float(follow_probability(definition, within, np.zeros(1))[0])


def follow_probability(definition: str, within: int, offset: np.ndarray) -> np.ndarray:
    """Model probability of follow-up within ``within`` when the follow-up starts ``offset`` days
    after the index discharge.

    ``offset`` is 0 for a discharge followed by no transfer; for the first stay of a direct
    transfer chain (an index discharge of its own under CBE #3453) it is the number of days
    from its discharge to the chain's last discharge, after which the follow-up model runs:
    pharmacotherapy on day ``offset`` (CBE only), first visit on day ``offset + D``.

    Examples
    --------
    >>> follow_probability("cbe3453", 7, np.array([0, 7, 8])).round(4).tolist()
    [0.5543, 0.15, 0.0]
    """
    offset = np.asarray(offset, dtype=float)
    days_left = np.maximum(within - offset, 0)
    visit = (1 - P_NEVER) * (1 - (1 - P_VISIT_DAY) ** days_left)
    if definition == "hedis_fui":
        return visit
    pharmacotherapy = np.where(offset <= within, P_PHARMACOTHERAPY_DAY0, 0.0)
    return 1 - (1 - pharmacotherapy) * (1 - visit)


def simulate_services(
    episodes: pd.DataFrame,
    rng: np.random.Generator,
    *,
    start: pd.Timestamp,
    data_as_of: pd.Timestamp,
    n_service_stays: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(services table, one row per index discharge, true rates) for the raw ``episodes``.

    ``episodes`` is the generator's raw episodes frame (``death_date`` included). The index
    table keeps ``patient_id`` for tests only (truth is never published).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> eps = pd.DataFrame({"patient_id": ["P1"], "episode_id": ["E1"],
    ...     "level_of_care": ["inpatient"], "admission_date": [pd.Timestamp("2024-01-02")],
    ...     "discharge_date": [pd.Timestamp("2024-01-20")], "discharge_reason": ["completed"],
    ...     "death_date": [pd.NaT]})
    >>> services, index, rates = simulate_services(eps, np.random.default_rng(1),
    ...     start=pd.Timestamp("2024-01-01"), data_as_of=pd.Timestamp("2024-12-31"),
    ...     n_service_stays=50)
    >>> len(index), rates["definition"].tolist()
    (51, ['cbe3453', 'cbe3453', 'hedis_fui', 'hedis_fui'])
    """
    as_of = np.datetime64(data_as_of, "D")
    first_day = np.datetime64(start, "D")
    rows: list[pd.DataFrame] = []

    # 1. stays: the episodes' and the service-only people's --------------------------------
    level = episodes["level_of_care"].astype(str).to_numpy()
    discharged = episodes["discharge_date"].notna().to_numpy()
    is_stay = np.isin(level, ("residential", "inpatient")) & discharged
    ep = episodes.loc[is_stay]
    n_ep = len(ep)
    ep_adm = ep["admission_date"].to_numpy().astype("datetime64[D]")
    ep_dis = ep["discharge_date"].to_numpy().astype("datetime64[D]")
    ep_type = level[is_stay]
    ep_reason = ep["discharge_reason"].astype(str).to_numpy()
    if "death_date" in ep:
        ep_death = ep["death_date"].to_numpy().astype("datetime64[D]")
    else:
        ep_death = np.full(n_ep, np.datetime64("NaT"), "datetime64[D]")
    listed = rng.random(n_ep) < 0.5
    rows.append(
        _frame(
            ep["patient_id"].astype(str).to_numpy()[listed],
            ep_adm[listed],
            ep_type[listed],
            ep_dis[listed],
            rng,
        )
    )

    m = int(n_service_stays)
    width = len(str(max(m, 1)))
    so_patient = np.array([f"S{i + 1:0{width}d}" for i in range(m)], dtype=object)
    so_type = np.where(rng.random(m) < 0.55, "residential", "inpatient")
    latest = max(int((as_of - first_day) / _DAY) - 30 - 28, 1)
    so_adm = first_day + rng.integers(0, latest, m) * _DAY
    so_dis = so_adm + rng.integers(3, 29, m) * _DAY
    rows.append(_frame(so_patient, so_adm, so_type, so_dis, rng))

    patient = np.concatenate([ep["patient_id"].astype(str).to_numpy(), so_patient])
    episode_id = np.concatenate([ep["episode_id"].astype(str).to_numpy(), np.full(m, None)])
    stay_type = np.concatenate([ep_type, so_type]).astype(object)
    admission = np.concatenate([ep_adm, so_adm])
    discharge = np.concatenate([ep_dis, so_dis])
    death = np.concatenate([ep_death, np.full(m, np.datetime64("NaT"), "datetime64[D]")])
    died_in_stay = np.concatenate([ep_reason == "died", np.zeros(m, bool)])
    died_in_stay |= ~np.isnat(death) & (death <= discharge)
    k = n_ep + m

    # 2. direct transfers: the chain ends with the next stay's discharge ---------------------
    transfer = np.concatenate([ep_reason == "transferred", rng.random(m) < P_TRANSFER])
    transfer &= ~died_in_stay
    next_type = np.where(stay_type == "inpatient", "residential", "inpatient")
    next_adm = discharge + rng.integers(0, 2, k) * _DAY
    next_dis = next_adm + rng.integers(7, 29, k) * _DAY
    # a death during the next stay ends it (and is an exclusion); no stay continues past as_of
    ends = np.where(~np.isnat(death) & (death < next_dis), death, next_dis)
    transfer &= next_adm <= as_of
    still_in = transfer & (ends > as_of)
    listed_end = np.where(still_in, np.datetime64("NaT"), ends)  # still in care at as_of
    rows.append(
        _frame(
            patient[transfer], next_adm[transfer], next_type[transfer], listed_end[transfer], rng
        )
    )
    index_discharge = np.where(transfer, ends, discharge)
    index_type = np.where(transfer, next_type, stay_type)

    # 3.-4. what follows the index discharge ------------------------------------------------
    hospice = rng.random(k) < P_HOSPICE
    hospice_day = rng.integers(1, 4, k)
    pharm0 = ~hospice & (rng.random(k) < P_PHARMACOTHERAPY_DAY0)
    visit = ~hospice & (rng.random(k) >= P_NEVER)
    visit_day = rng.geometric(P_VISIT_DAY, k)  # 1, 2, ...
    visit &= visit_day <= 60
    visit_type = rng.choice(np.array(_VISIT_TYPES, dtype=object), size=k, p=_VISIT_PROBS)
    n_more = rng.integers(0, 4, k)
    ed = rng.random(k) < P_ED
    ed_day = rng.integers(0, 31, k)
    medication = rng.choice(np.array(_MEDICATIONS, dtype=object), size=k)
    alive_until = np.where(np.isnat(death), np.datetime64("9999-12-31", "D"), death)
    # index discharges after as_of are not yet known; nothing follows a death in the stay
    seen = (index_discharge <= as_of) & ~died_in_stay & ~still_in
    last_day = np.minimum(alive_until, as_of)

    events: list[tuple[np.ndarray, np.ndarray, str | np.ndarray]] = []
    events.append((hospice & seen, index_discharge + hospice_day * _DAY, "hospice"))
    events.append((pharm0 & seen, index_discharge, "pharmacotherapy"))
    events.append((visit & seen, index_discharge + visit_day * _DAY, visit_type))
    for j in range(1, 4):
        more = visit & seen & (n_more >= j)
        events.append((more, index_discharge + (visit_day + 7 * j) * _DAY, visit_type))
    events.append((ed & ~hospice & seen, index_discharge + ed_day * _DAY, "ed"))
    for mask, day, kind in events:
        keep = mask & (day <= last_day)
        kinds = kind[keep] if isinstance(kind, np.ndarray) else np.full(keep.sum(), kind)
        meds = np.where(kinds == "pharmacotherapy", medication[keep], _NONE)
        rows.append(_frame(patient[keep], day[keep], kinds, None, rng, medication=meds))

    # 5. new SUD episodes without a stay (initiation and engagement) ------------------------
    rows.append(_new_episodes(max(m // 4, 0), rng, first_day, as_of))

    services = pd.concat(rows, ignore_index=True)
    services = services.sort_values(["patient_id", "service_date"], kind="stable")
    services = services.reset_index(drop=True)

    # truth ---------------------------------------------------------------------------------
    death_offset = (death - index_discharge) / _DAY  # NaN when alive
    died_by = np.where(died_in_stay, 0.0, np.where(np.isnat(death), np.inf, death_offset))
    observed = (index_discharge <= as_of) & ~still_in & (index_discharge + 30 * _DAY <= as_of)
    visit_seen = visit & (index_discharge + visit_day * _DAY <= last_day)
    pharm_seen = pharm0 & (index_discharge <= last_day)
    index = pd.DataFrame(
        {
            "patient_id": pd.Series(patient, dtype="string"),
            "episode_id": pd.Series(episode_id, dtype="string"),
            "index_type": pd.Series(index_type, dtype="string"),
            "admission_date": pd.Series(admission.astype("datetime64[ns]")),
            "discharge_date": pd.Series(index_discharge.astype("datetime64[ns]")),
            "transfer": transfer,
            "window_observed": observed,
            "hospice": hospice,
            "days_to_death": pd.array(np.where(np.isinf(died_by), np.nan, died_by), "Int64"),
            "pharmacotherapy_day0": pharm_seen,
            "days_to_visit": pd.array(np.where(visit_seen, visit_day, np.nan), "Int64"),
            "visit_type": pd.Series(np.where(visit_seen, visit_type, _NONE), dtype="string"),
        }
    )
    # CBE #3453 does not chain direct transfers: the first stay of a chain is an index
    # discharge of its own, whose follow-up is whatever the chain's end brings within its
    # windows (the next admission is on day 0 or 1, never a CBE follow-up: a residential
    # admission counts from day 3, an inpatient one never).
    first_offset = ((ends - discharge) / _DAY)[transfer]  # days from first discharge to chain end
    first_hospice = hospice & seen & (index_discharge + hospice_day * _DAY <= last_day)
    first_death = np.where(np.isnat(death), np.inf, (death - discharge) / _DAY)[transfer]
    rates = []
    for definition, windows in WINDOWS.items():
        longest = max(windows)
        # exclusions per discharge, over the definition's longest window (one denominator for
        # every window of the measure): window not closed at as_of, hospice, death
        eligible = (
            (index_discharge <= as_of)
            & ~still_in
            & (index_discharge + longest * _DAY <= as_of)
            & ~hospice
            & (died_by > longest)
        )
        offset = np.zeros(int(eligible.sum()))
        parts = {w: [(eligible & visit_seen & (visit_day <= w)).sum()] for w in windows}
        if definition == "cbe3453":
            for w in windows:
                parts[w][0] += (eligible & ~(visit_seen & (visit_day <= w)) & pharm_seen).sum()
            first_eligible = (
                (discharge[transfer] + longest * _DAY <= as_of)
                & ~(first_hospice[transfer] & (first_offset + hospice_day[transfer] <= longest))
                & (first_death > longest)
            )
            off = first_offset[first_eligible]
            offset = np.concatenate([offset, off])
            for w in windows:
                followed = (pharm_seen[transfer] & (first_offset <= w)) | (
                    visit_seen[transfer] & (first_offset + visit_day[transfer] <= w)
                )
                parts[w].append((first_eligible & followed).sum())
        for w in windows:
            rates.append(
                {
                    "definition": definition,
                    "within": w,
                    "n": len(offset),
                    "n_events": int(sum(parts[w])),
                    "rate": float(np.mean(follow_probability(definition, w, offset)))
                    if len(offset)
                    else true_rate(definition, w),
                    "method": "model probability (n, n_events: fates drawn)",
                }
            )
    return services, index, pd.DataFrame(rates, columns=list(CONTINUITY_COLUMNS))


def _frame(
    patient: np.ndarray,
    day: np.ndarray,
    kind: np.ndarray | str,
    end: np.ndarray | None,
    rng: np.random.Generator,
    *,
    medication: np.ndarray | None = None,
    sud: str = "principal",
) -> pd.DataFrame:
    """Service rows in the canonical columns (``provider_id`` drawn from 40 providers)."""
    n = len(patient)
    kinds = np.full(n, kind, dtype=object) if isinstance(kind, str) else kind
    return pd.DataFrame(
        {
            "patient_id": pd.Series(patient, dtype="string"),
            "service_date": pd.Series(np.asarray(day).astype("datetime64[ns]")),
            "service_type": pd.Series(kinds, dtype="string"),
            "end_date": pd.Series(
                np.full(n, np.datetime64("NaT"), "datetime64[ns]")
                if end is None
                else np.asarray(end).astype("datetime64[ns]")
            ),
            "sud_diagnosis": pd.Series(np.full(n, sud, dtype=object), dtype="string"),
            "provider_id": pd.Series(
                np.char.add("PR", rng.integers(1, 41, n).astype(str)).astype(object),
                dtype="string",
            ),
            "medication": pd.Series(
                np.full(n, None, dtype=object) if medication is None else medication,
                dtype="string",
            ),
        }
    )


def _new_episodes(
    n: int, rng: np.random.Generator, first_day: np.datetime64, as_of: np.datetime64
) -> pd.DataFrame:
    """People whose SUD care starts with a visit (IET-style new episodes; no truth kept)."""
    width = len(str(max(n, 1)))
    patient = np.array([f"T{i + 1:0{width}d}" for i in range(n)], dtype=object)
    latest = max(int((as_of - first_day) / _DAY) - 80, 1)
    start = first_day + rng.integers(0, latest, n) * _DAY
    kind = rng.choice(np.array(["outpatient", "ed", "iop"], dtype=object), n, p=(0.6, 0.25, 0.15))
    initiated = rng.random(n) < 0.5
    init_day = start + rng.integers(0, 21, n) * _DAY
    engaged = initiated & (rng.random(n) < 0.5)
    eng1 = init_day + rng.integers(1, 41, n) * _DAY
    eng2 = eng1 + rng.integers(0, 8, n) * _DAY  # 0: two visits on one day
    parts = [
        _frame(patient, start, kind, None, rng),
        _frame(patient[initiated], init_day[initiated], "outpatient", None, rng),
        _frame(patient[engaged], eng1[engaged], "outpatient", None, rng),
        _frame(patient[engaged], eng2[engaged], "outpatient", None, rng),
    ]
    out = pd.concat(parts, ignore_index=True)
    return out[out["service_date"] <= pd.Timestamp(as_of)]
