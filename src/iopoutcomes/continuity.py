"""Step-down continuity and engagement measures computed from service records (issue 17).

Two engines, both vectorised (sorted integer keys and :func:`numpy.searchsorted`, no per-row
Python loop), both driven by a frozen definition whose every rule is a field:

:func:`continuity_of_care`
    Follow-up after a residential or inpatient discharge: CBE/NQF #3453 *Continuity of Care
    After Inpatient or Residential Treatment for Substance Use Disorder* (preset ``cbe3453``)
    and HEDIS FUI *Follow-Up After High-Intensity Care for Substance Use Disorder* (preset
    ``hedis_fui``).
:func:`initiation_engagement`
    HEDIS IET *Initiation and Engagement of Substance Use Disorder Treatment* (preset
    ``hedis_iet``, 194-day negative look-back) and its eCQM version CMS137 (preset ``cms137``,
    60-day look-back).

Index discharges are the residential/inpatient stays of ``records.services``
(``service_date`` .. ``end_date``) and the episodes whose ``level_of_care`` is residential or
inpatient with a ``discharge_date``; an episode and an identical services stay (same patient,
admission and discharge dates) count once, as the episode, and a stay exported twice is one stay
(its first row). The rules are written out in
``docs/continuity.md``. Value sets (which billing codes are which service) are the user's: the
engines read the normalised ``service_type`` only.

References
----------
CMS / Mathematica. Continuity of Care After Inpatient or Residential Treatment for Substance
Use Disorder (SUD), CBE (formerly NQF) #3453, Medicaid Adult Core Set measure specification.
NCQA. HEDIS Measurement Year 2024 Volume 2: Follow-Up After High-Intensity Care for Substance
Use Disorder (FUI); Initiation and Engagement of Substance Use Disorder Treatment (IET).
CMS. eCQM CMS137: Initiation and Engagement of Substance Use Disorder Treatment.

Examples
--------
>>> import pandas as pd
>>> from types import SimpleNamespace
>>> services = pd.DataFrame({
...     "patient_id": ["p1", "p1"],
...     "service_date": pd.to_datetime(["2024-06-01", "2024-06-05"]),
...     "service_type": ["residential", "iop"],
...     "end_date": pd.to_datetime(["2024-06-20", None])})
>>> recs = SimpleNamespace(episodes=pd.DataFrame(), services=services, data_as_of=None)
>>> res = continuity_of_care(recs)
>>> res.discharges[["index_type", "followed_within_7", "days_to_follow_up"]]
    index_type  followed_within_7  days_to_follow_up
0  residential              False               <NA>
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from ._render import ResultDisplay
from .exceptions import MissingColumnError, ParameterError
from .schema import CONTINUITY_COLUMNS, CONTINUITY_EXCLUSION_REASONS, ENGAGEMENT_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from .rates import RateTable

__all__ = [
    "CONTINUITY_DEFINITIONS",
    "ContinuityDefinition",
    "ContinuityResult",
    "ENGAGEMENT_DEFINITIONS",
    "EngagementDefinition",
    "EngagementResult",
    "continuity_of_care",
    "initiation_engagement",
]

STAY_TYPES: tuple[str, ...] = ("residential", "inpatient", "detox")
"""Service types that are stays (admission ``service_date``, discharge ``end_date``)."""

EXCLUSION_REASONS = CONTINUITY_EXCLUSION_REASONS
"""Exclusion reason codes, in the order they are applied (:mod:`iopoutcomes.schema`)."""


# --- definitions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContinuityDefinition:
    """The rules of a continuity-of-care measure, as data.

    Day numbers are counted from the discharge date (day 0 = the discharge day, day 1 = the
    day after). A window of ``d`` days holds follow-up on days ``from_day`` .. ``d``.

    Parameters
    ----------
    name : str
        Preset name (``"cbe3453"``, ``"hedis_fui"``) or your own.
    title : str
        The measure's title.
    within : tuple of int
        Follow-up windows in days after discharge.
    visit_types : tuple of str
        ``service_type`` values that are follow-up visits.
    visit_from_day : int
        First day a visit counts (1: not on the discharge day).
    pharmacotherapy_from_day : int or None
        First day a ``pharmacotherapy`` row counts (None: pharmacotherapy is not follow-up).
    stay_types : tuple of str
        Stays whose admission counts as follow-up.
    stay_from_day : int
        First day such an admission counts.
    stay_after : tuple of str or None
        Index types after which a stay admission counts (None: after any index type).
    transfer_within_days : int or None
        A stay admitted within this many days of a discharge is a direct transfer and chains
        into one index episode dated by the last discharge (None: no chaining).
    exclude_non_sud_transfer : bool
        A chain holding a stay whose ``sud_diagnosis`` is ``none`` is excluded as a whole.
    first_in_days : int or None
        Only the first eligible index discharge in any such period counts: later ones on days
        1 .. ``first_in_days - 1`` after a counted one are excluded (31: Jan 1 counts, Jan 2 to
        Jan 31 do not, Feb 1 may).
    last_discharge : str or None
        Last eligible discharge as month-day (``"12-01"``) within the measurement year.
    require_sud_follow_up : bool
        A visit or stay whose ``sud_diagnosis`` is ``none`` is not follow-up (a missing
        diagnosis counts: the services table of an SUD program is SUD care).
    citation : str
        The measure specification.

    Examples
    --------
    >>> CONTINUITY_DEFINITIONS["hedis_fui"].within
    (7, 30)
    >>> CONTINUITY_DEFINITIONS["cbe3453"].replace(within=(7,)).within
    (7,)
    """

    name: str
    title: str
    within: tuple[int, ...]
    visit_types: tuple[str, ...]
    visit_from_day: int = 1
    pharmacotherapy_from_day: int | None = 1
    stay_types: tuple[str, ...] = ()
    stay_from_day: int = 1
    stay_after: tuple[str, ...] | None = None
    transfer_within_days: int | None = None
    exclude_non_sud_transfer: bool = False
    first_in_days: int | None = None
    last_discharge: str | None = None
    require_sud_follow_up: bool = True
    citation: str = ""

    def __post_init__(self) -> None:
        within = tuple(int(w) for w in self.within)
        if not within or min(within) < 1:
            raise ParameterError("Continuity windows must be whole numbers of days, at least 1.")
        object.__setattr__(self, "within", tuple(sorted(set(within))))
        for name in ("visit_types", "stay_types"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.stay_after is not None:
            object.__setattr__(self, "stay_after", tuple(self.stay_after))

    def replace(self, **changes: Any) -> ContinuityDefinition:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        """The rules in one paragraph (for methods text and reports)."""
        parts = [
            f"{self.title} ({self.name}): follow-up within "
            + " and ".join(str(w) for w in self.within)
            + " days of discharge",
            f"visits ({', '.join(self.visit_types)}) count from day {self.visit_from_day} "
            "after discharge (day 0 = the discharge day)",
        ]
        if self.pharmacotherapy_from_day is not None:
            parts.append(f"pharmacotherapy counts from day {self.pharmacotherapy_from_day}")
        if self.stay_types:
            after = f" after a {'/'.join(self.stay_after)} discharge" if self.stay_after else ""
            parts.append(
                f"a {'/'.join(self.stay_types)} admission counts from day "
                f"{self.stay_from_day}{after}"
            )
        if self.transfer_within_days is not None:
            parts.append(
                f"an admission within {self.transfer_within_days} day(s) of a discharge is a "
                "direct transfer, chained into one index episode dated by the last discharge"
                + (
                    "; a transfer involving a non-SUD stay excludes the chain"
                    if self.exclude_non_sud_transfer
                    else ""
                )
            )
        if self.first_in_days is not None:
            parts.append(f"only the first index discharge in any {self.first_in_days}-day period")
        parts.append("death or hospice during the stay or the window excludes")
        return "; ".join(parts) + f". Specification: {self.citation}"


_FOLLOW_UP_VISITS = ("outpatient", "iop", "php", "telehealth", "peer_support", "assessment")

CONTINUITY_DEFINITIONS: Mapping[str, ContinuityDefinition] = {
    "cbe3453": ContinuityDefinition(
        name="cbe3453",
        title="Continuity of Care After Inpatient or Residential Treatment for SUD",
        within=(7, 14),
        visit_types=("outpatient", "iop", "php", "telehealth"),
        visit_from_day=1,
        pharmacotherapy_from_day=0,
        stay_types=("residential",),
        stay_from_day=3,
        stay_after=("inpatient",),
        citation=(
            "CBE (formerly NQF) #3453, Continuity of Care After Inpatient or Residential "
            "Treatment for Substance Use Disorder (CMS / Mathematica, Medicaid Adult Core Set)"
        ),
    ),
    "hedis_fui": ContinuityDefinition(
        name="hedis_fui",
        title="Follow-Up After High-Intensity Care for Substance Use Disorder",
        within=(7, 30),
        visit_types=_FOLLOW_UP_VISITS,
        visit_from_day=1,
        pharmacotherapy_from_day=1,
        stay_types=("residential", "inpatient"),
        stay_from_day=1,
        transfer_within_days=1,
        exclude_non_sud_transfer=True,
        first_in_days=31,
        last_discharge="12-01",
        citation="NCQA HEDIS MY2024 Volume 2, FUI (Follow-Up After High-Intensity Care for SUD)",
    ),
}
"""Continuity presets by name (written out in ``docs/continuity.md``)."""


@dataclass(frozen=True)
class EngagementDefinition:
    """The rules of an initiation-and-engagement measure (HEDIS IET / CMS137), as data.

    Parameters
    ----------
    name, title, citation : str
        Identification.
    lookback_days : int
        Negative history: no SUD-diagnosed service and no pharmacotherapy in this many days
        before the event's start date makes it a new SUD episode.
    initiation_days : int
        Initiation on days 0 .. ``initiation_days - 1`` of the episode date (14: day 13
        counts, day 14 does not); the episode's own event does not initiate itself.
    engagement_days : int
        Engagement events on days 1 .. ``engagement_days`` after the initiation date.
    engagement_events : int
        Events needed (two visits or medication events) ...
    long_acting : tuple of str
        ... or one event with one of these medications (long-acting injectable).
    index_types : tuple of str
        Service types that can start an episode.
    visit_types : tuple of str
        Service types that initiate or engage (with stays and pharmacotherapy).
    stay_initiates : tuple of str
        An episode that is such a stay is initiated by itself; its episode date is the
        discharge date (``end_date``).

    Examples
    --------
    >>> ENGAGEMENT_DEFINITIONS["cms137"].lookback_days
    60
    """

    name: str
    title: str
    lookback_days: int
    initiation_days: int = 14
    engagement_days: int = 34
    engagement_events: int = 2
    long_acting: tuple[str, ...] = ("naltrexone_er",)
    index_types: tuple[str, ...] = (
        "outpatient",
        "iop",
        "php",
        "telehealth",
        "detox",
        "ed",
        "inpatient",
        "residential",
        "pharmacotherapy",
        "assessment",
    )
    visit_types: tuple[str, ...] = ("outpatient", "iop", "php", "telehealth", "peer_support")
    stay_initiates: tuple[str, ...] = ("inpatient", "residential")
    citation: str = ""

    def replace(self, **changes: Any) -> EngagementDefinition:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        """The rules in one paragraph."""
        return (
            f"{self.title} ({self.name}): new SUD episodes (no SUD-diagnosed service or "
            f"medication in the {self.lookback_days} days before); initiation by a visit, stay "
            f"admission or medication event on days 0-{self.initiation_days - 1} of the episode "
            f"date (a {'/'.join(self.stay_initiates)} stay initiates itself, dated by its "
            f"discharge); engagement by {self.engagement_events} visits or medication events, "
            f"or one long-acting medication event ({', '.join(self.long_acting)}), on days "
            f"1-{self.engagement_days} after initiation; visits on one day count once unless "
            f"with different providers. Specification: {self.citation}"
        )


ENGAGEMENT_DEFINITIONS: Mapping[str, EngagementDefinition] = {
    "hedis_iet": EngagementDefinition(
        name="hedis_iet",
        title="Initiation and Engagement of Substance Use Disorder Treatment",
        lookback_days=194,
        citation="NCQA HEDIS MY2024 Volume 2, IET (194-day negative diagnosis history)",
    ),
    "cms137": EngagementDefinition(
        name="cms137",
        title="Initiation and Engagement of Substance Use Disorder Treatment (eCQM)",
        lookback_days=60,
        citation="CMS eCQM CMS137 (60-day negative look-back)",
    ),
}
"""Initiation-and-engagement presets by name."""


def _resolve(definition: Any, presets: Mapping[str, Any], kind: type, what: str) -> Any:
    if isinstance(definition, kind):
        return definition
    if isinstance(definition, str) and definition in presets:
        return presets[definition]
    raise ParameterError(
        f"definition must be one of {sorted(presets)} or a {kind.__name__}; got a value "
        f"that is neither ({what})."
    )


# --- shared preparation ------------------------------------------------------------------------

_SERVICE_COLUMNS = (
    "patient_id",
    "service_date",
    "service_type",
    "end_date",
    "sud_diagnosis",
    "provider_id",
    "medication",
)


def _dates(values: Any) -> pd.Series:
    s = pd.Series(values)
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = pd.to_datetime(s, errors="coerce")
    return s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s


def _day(values: pd.Series) -> np.ndarray:
    """Whole days since 1970-01-01 (NaT -> a sentinel far below any real date)."""
    d = _dates(values)
    out = d.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    return np.where(d.isna().to_numpy(), np.iinfo(np.int32).min, out)


def _services(records: Any) -> pd.DataFrame:
    frame = getattr(records, "services", None)
    if frame is None:
        frame = pd.DataFrame(columns=list(_SERVICE_COLUMNS))
    missing = [c for c in ("patient_id", "service_date", "service_type") if c not in frame]
    if len(frame) and missing:
        raise MissingColumnError(
            f"The services table lacks required column(s) {missing}; read it with "
            "read_records(..., services=...) or give the canonical columns."
        )
    out = pd.DataFrame(
        {
            "patient_id": frame["patient_id"].astype("string")
            if "patient_id" in frame
            else pd.Series(dtype="string"),
            "start": _day(frame["service_date"]) if "service_date" in frame else [],
        }
    )
    out["type"] = (
        frame["service_type"].astype("string").str.lower().to_numpy()
        if "service_type" in frame
        else []
    )
    n = len(out)
    out["end"] = _day(frame["end_date"]) if "end_date" in frame else np.full(n, _NA_DAY)
    for col in ("sud_diagnosis", "provider_id", "medication"):
        out[col] = (
            frame[col].astype("string").to_numpy()
            if col in frame
            else pd.array([pd.NA] * n, dtype="string")
        )
    if "substance" in frame:
        out["substance"] = frame["substance"].astype("string").to_numpy()
    return out.loc[out["start"] != _NA_DAY].reset_index(drop=True)


_NA_DAY = int(np.iinfo(np.int32).min)


def _episodes(records: Any) -> pd.DataFrame:
    ep = getattr(records, "episodes", None)
    if ep is None or not len(ep) or "patient_id" not in ep:
        return pd.DataFrame(
            {
                "patient_id": pd.Series(dtype="string"),
                "episode_id": pd.Series(dtype="string"),
                "admission": pd.Series(dtype=np.int64),
                "discharge": pd.Series(dtype=np.int64),
                "level": pd.Series(dtype="string"),
                "death": pd.Series(dtype=np.int64),
            }
        )
    out = pd.DataFrame(
        {
            "patient_id": ep["patient_id"].astype("string").to_numpy(),
            "episode_id": ep["episode_id"].astype("string").to_numpy(),
            "admission": _day(ep["admission_date"]),
            "discharge": _day(ep["discharge_date"])
            if "discharge_date" in ep
            else np.full(len(ep), _NA_DAY),
            "level": ep["level_of_care"].astype("string").str.lower().to_numpy()
            if "level_of_care" in ep
            else pd.array([pd.NA] * len(ep), dtype="string"),
        }
    )
    death = _day(ep["death_date"]) if "death_date" in ep else np.full(len(ep), _NA_DAY)
    if "discharge_reason" in ep:
        died = (ep["discharge_reason"].astype("string") == "died").fillna(False).to_numpy(bool)
        # a discharge by death dates the death at the discharge
        death = np.where(died & (death == _NA_DAY), out["discharge"].to_numpy(), death)
    out["death"] = death
    for col in ("cohort", "site", "age", "primary_substance"):
        if col in ep:
            out[col] = ep[col].to_numpy()
    return out


class _Keys:
    """(patient, day) pairs encoded as one sortable int64: ``code * stride + day``.

    Windows up to ``_MARGIN`` days either side of the data stay inside a patient's band, so a
    range search never reaches another patient's events.
    """

    _MARGIN = 5000

    def __init__(self, patients: Sequence[pd.Series], days: Sequence[np.ndarray]) -> None:
        allp = pd.concat([pd.Series(p, dtype="string") for p in patients], ignore_index=True)
        self.codes = pd.Index(pd.unique(allp.dropna()))
        real = [d[d != _NA_DAY] for d in days]
        real = [d for d in real if len(d)]
        lo = int(min(d.min() for d in real)) if real else 0
        hi = int(max(d.max() for d in real)) if real else 0
        self.offset = lo - self._MARGIN
        self.stride = hi - lo + 2 * self._MARGIN + 1

    def code(self, patients: pd.Series) -> np.ndarray:
        values = pd.Index(pd.Series(patients, dtype="string"))
        return np.asarray(self.codes.get_indexer(values), dtype=np.int64)

    def key(self, code: np.ndarray, day: np.ndarray) -> np.ndarray:
        return code * self.stride + (np.asarray(day, dtype=np.int64) - self.offset)


def _count_in(sorted_keys: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Events with key in [lo, hi] (both included) for each query."""
    return np.searchsorted(sorted_keys, hi, "right") - np.searchsorted(sorted_keys, lo, "left")


def _first_from(sorted_keys: np.ndarray, lo: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Day offset (key - base) of the first event at or after ``lo``; a huge number if none."""
    pos = np.searchsorted(sorted_keys, lo, "left")
    ok = pos < len(sorted_keys)
    out = np.full(len(lo), np.iinfo(np.int64).max // 4, dtype=np.int64)
    if len(sorted_keys):
        hit = sorted_keys[np.minimum(pos, len(sorted_keys) - 1)]
        # a hit in the next patient's band is far beyond any window (stride > 2 * margin)
        out = np.where(ok, hit - base, out)
    return out


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A linked text column as a string array (all NA when the episodes lack it)."""
    if column in frame:
        return np.asarray(pd.Series(frame[column]).astype("string").to_numpy())
    return np.asarray(pd.array([pd.NA] * len(frame), dtype="string"))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as ``string``, dates as ``datetime64[ns]`` (the same on pandas 2 and 3)."""
    for c in frame.columns:
        kind = frame[c].dtype
        if pd.api.types.is_datetime64_any_dtype(kind):
            frame[c] = frame[c].astype("datetime64[ns]")
        elif pd.api.types.is_object_dtype(kind) or pd.api.types.is_string_dtype(kind):
            frame[c] = frame[c].astype("string")
    return frame


def _quarter(days: np.ndarray) -> pd.Series:
    d = pd.Series(days.astype("datetime64[D]").astype("datetime64[ns]"))
    return pd.Series(d.dt.year.astype(str) + "Q" + d.dt.quarter.astype(str), dtype="string")


def _link_episodes(
    episodes: pd.DataFrame, patients: pd.Series, days: np.ndarray, episode_ids: pd.Series
) -> pd.DataFrame:
    """Cohort/site/age/substance of each row: its own episode, else the patient's latest episode
    admitted on or before the day (None of them: NA)."""
    cols = [c for c in ("cohort", "site", "age", "primary_substance") if c in episodes]
    out = pd.DataFrame(index=range(len(days)))
    if not cols or not len(days):
        for c in cols:
            out[c] = pd.NA
        return out
    query = pd.DataFrame(
        {
            "patient_id": pd.Series(patients, dtype="string").to_numpy(),
            "day": days,
            "row": np.arange(len(days)),
        }
    ).sort_values("day", kind="stable")
    eps = episodes.loc[episodes["admission"] != _NA_DAY, ["patient_id", "admission", *cols]]
    eps = eps.sort_values("admission", kind="stable")
    near = pd.merge_asof(
        query, eps, left_on="day", right_on="admission", by="patient_id", direction="backward"
    ).sort_values("row")
    own = pd.Series(episode_ids, dtype="string").reset_index(drop=True)
    by_id = episodes.drop_duplicates("episode_id").set_index("episode_id")
    for c in cols:
        linked = near[c].reset_index(drop=True).astype(object)
        mine = own.map(by_id[c]).astype(object)
        out[c] = mine.where(own.notna(), linked).to_numpy()
    return out


# --- continuity of care ------------------------------------------------------------------------


def _stays(services: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
    """All stays, episodes first; an identical services stay (patient, dates) counts once."""
    s = services.loc[services["type"].isin(STAY_TYPES).to_numpy()]
    from_services = pd.DataFrame(
        {
            "patient_id": s["patient_id"].to_numpy(),
            "admission": s["start"].to_numpy(),
            "discharge": s["end"].to_numpy(),
            "type": s["type"].to_numpy(),
            "sud": (s["sud_diagnosis"].astype("string").str.lower() != "none")
            .fillna(True)
            .to_numpy(bool),
            "episode_id": pd.array([pd.NA] * len(s), dtype="string"),
        }
    )
    e = episodes.loc[episodes["level"].isin(STAY_TYPES).fillna(False).to_numpy(bool)]
    from_episodes = pd.DataFrame(
        {
            "patient_id": e["patient_id"].to_numpy(),
            "admission": e["admission"].to_numpy(),
            "discharge": e["discharge"].to_numpy(),
            "type": e["level"].to_numpy(),
            "sud": np.ones(len(e), bool),
            "episode_id": e["episode_id"].to_numpy(),
        }
    )
    stays = pd.concat([from_episodes, from_services], ignore_index=True)
    stays["patient_id"] = stays["patient_id"].astype("string")
    stays["type"] = stays["type"].astype("string")
    stays["episode_id"] = stays["episode_id"].astype("string")
    # a services stay without a discharge date is still in care: never an index discharge
    stays = stays.drop_duplicates(["patient_id", "admission", "discharge"], keep="first")
    return stays.reset_index(drop=True)


def _chains(stays: pd.DataFrame, d: ContinuityDefinition, index: tuple[str, ...]) -> pd.DataFrame:
    """Index discharges: single stays, or chains of direct transfers (dated by the last)."""
    closed = stays.loc[stays["discharge"] != _NA_DAY].copy()
    closed["is_index"] = closed["type"].isin(index).to_numpy(bool) & closed["sud"].to_numpy(bool)
    if d.transfer_within_days is None:
        out = closed.loc[closed["is_index"]].copy()
        out["index_type"] = out["type"]
        out["non_sud"] = False
        out["chain_admission"] = out["admission"]
        return out.reset_index(drop=True)
    closed = closed.sort_values(["patient_id", "admission", "discharge"], kind="stable")
    pid = closed["patient_id"].to_numpy()
    reach = closed.groupby("patient_id", sort=False)["discharge"].cummax().to_numpy()
    prev_reach = np.r_[np.iinfo(np.int64).min, reach[:-1]]
    same = np.r_[False, pid[1:] == pid[:-1]]
    new = ~same | (closed["admission"].to_numpy() > prev_reach + d.transfer_within_days)
    closed["chain"] = np.cumsum(new)
    closed = closed.sort_values(["chain", "discharge", "admission"], kind="stable")
    idx = closed.loc[closed["is_index"]]
    g = closed.groupby("chain", sort=True)
    chains = pd.DataFrame(
        {
            "patient_id": g["patient_id"].first(),
            "chain_admission": g["admission"].min(),
            "discharge": g["discharge"].max(),
            "non_sud": ~g["sud"].all(),
            "episode_id": g["episode_id"].last(),  # the last stay that is an episode
        }
    )
    last_index = idx.groupby("chain", sort=True)
    chains = chains.loc[chains.index.isin(idx["chain"].unique())].copy()
    chains = chains.loc[~_transferred_to_open_stay(chains, stays, d.transfer_within_days)]
    chains["index_type"] = last_index["type"].last().reindex(chains.index)
    chains["admission"] = last_index["admission"].last().reindex(chains.index)
    return chains.reset_index(drop=True)


def _transferred_to_open_stay(chains: pd.DataFrame, stays: pd.DataFrame, days: int) -> np.ndarray:
    """Chains followed by a stay still open at data_as_of, admitted on day 0 .. ``days``.

    That stay is a direct transfer whose discharge has not come yet: the index episode has not
    ended, so the chain is no index discharge (yet), rather than one followed by the transfer.
    """
    still_open = stays.loc[stays["discharge"] == _NA_DAY, ["patient_id", "admission"]]
    if not len(still_open) or not len(chains):
        return np.zeros(len(chains), dtype=bool)
    pairs = (
        chains[["patient_id", "discharge"]]
        .reset_index(names="chain")
        .merge(still_open, on="patient_id")
    )
    gap = pairs["admission"].to_numpy(np.int64) - pairs["discharge"].to_numpy(np.int64)
    hit = pairs.loc[(gap >= 0) & (gap <= days), "chain"].unique()
    return chains.index.isin(hit)


def _first_in_period(
    eligible: np.ndarray, codes: np.ndarray, days: np.ndarray, period: int
) -> np.ndarray:
    """True for discharges excluded by the 'first in any ``period`` days' rule.

    Rounds, not rows: each round keeps every patient's earliest undecided discharge and drops
    those on days 1 .. period-1 after it, so the loop runs as many times as the most index
    discharges one patient has counted (a handful per year).
    """
    order = np.lexsort((days, codes))
    c, dd = codes[order], days[order]
    undecided = eligible[order].copy()
    dropped = np.zeros(len(c), bool)
    while undecided.any():
        pos = np.flatnonzero(undecided)
        first_of_patient = np.r_[True, c[pos][1:] != c[pos][:-1]]
        kept = pos[first_of_patient]
        undecided[kept] = False
        # for every undecided row, the day of its patient's kept discharge this round
        kept_day = pd.Series(dd[kept], index=c[kept])
        anchor = kept_day.reindex(c).to_numpy()
        near = undecided & (dd - anchor < period) & (dd >= anchor)
        dropped |= near
        undecided &= ~near
    out = np.zeros(len(c), bool)
    out[order] = dropped
    return out


def _follow_up(
    ix: pd.DataFrame,
    services: pd.DataFrame,
    stays: pd.DataFrame,
    d: ContinuityDefinition,
    keys: _Keys,
) -> tuple[np.ndarray, np.ndarray]:
    """Days from discharge to the first qualifying follow-up and its type (NA: none)."""
    code = keys.code(ix["patient_id"])
    disc = ix["discharge"].to_numpy(np.int64)
    base = keys.key(code, disc)
    sud_ok = (services["sud_diagnosis"].astype("string").str.lower() != "none").fillna(True)
    if not d.require_sud_follow_up:
        sud_ok = pd.Series(True, index=services.index)
    candidates: list[tuple[str | None, pd.DataFrame, np.ndarray]] = []
    # visits: the first one on or after visit_from_day; its own type is reported
    vis = services.loc[services["type"].isin(d.visit_types).to_numpy() & sud_ok.to_numpy()]
    candidates.append((None, vis, np.full(len(ix), d.visit_from_day)))
    if d.pharmacotherapy_from_day is not None:
        ph = services.loc[(services["type"] == "pharmacotherapy").to_numpy(bool)]
        candidates.append(("pharmacotherapy", ph, np.full(len(ix), d.pharmacotherapy_from_day)))
    if d.stay_types:
        st = stays.loc[stays["type"].isin(d.stay_types).to_numpy(bool)]
        if d.require_sud_follow_up:
            st = st.loc[st["sud"].to_numpy(bool)]
        st = st.rename(columns={"admission": "start"})
        applies = (
            np.ones(len(ix), bool)
            if d.stay_after is None
            else ix["index_type"].isin(d.stay_after).to_numpy(bool)
        )
        # an index type the rule does not apply to gets a start beyond any window
        start = np.where(applies, d.stay_from_day, keys._MARGIN)
        candidates.append((None, st, start))
    best = np.full(len(ix), np.iinfo(np.int64).max // 4, dtype=np.int64)
    best_type = np.full(len(ix), None, dtype=object)
    for fixed_type, frame, from_day in candidates:
        if not len(frame):
            continue
        ekey = keys.key(keys.code(frame["patient_id"]), frame["start"].to_numpy(np.int64))
        order = np.argsort(ekey, kind="stable")
        skeys = ekey[order]
        types = frame["type"].to_numpy(object)[order]
        lo = base + from_day
        offset = _first_from(skeys, lo, base)
        pos = np.searchsorted(skeys, lo, "left")
        found_type = (
            np.full(len(ix), fixed_type, dtype=object)
            if fixed_type is not None
            else types[np.minimum(pos, len(skeys) - 1)]
        )
        better = offset < best
        best = np.where(better, offset, best)
        best_type = np.where(better, found_type, best_type)
    none = best >= keys._MARGIN
    best_type[none] = None
    return np.where(none, -1, best), best_type


@dataclass(frozen=True, eq=False, repr=False)
class ContinuityResult(ResultDisplay):
    """Continuity of care after residential/inpatient discharges (one row per index discharge).

    Attributes
    ----------
    discharges : pandas.DataFrame
        ``episode_id`` (NA for a services stay), ``admission_date``, ``discharge_date``,
        ``index_type``, ``cohort``, ``site``, ``quarter`` (of discharge, ``"2024Q2"``),
        ``followed_within_<d>`` per window (NA when excluded), ``days_to_follow_up`` (days from
        discharge to the first qualifying follow-up at any distance; NA without one),
        ``follow_up_type``, ``excluded``, ``exclusion_reason``. No patient identifier.
    definition : ContinuityDefinition
        The rules applied.
    measurement_year : int or None
    last_discharge : pandas.Timestamp or None
        The last eligible discharge date applied.
    remarks : tuple of str

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> svc = pd.DataFrame({"patient_id": ["a", "a"],
    ...     "service_date": pd.to_datetime(["2024-03-01", "2024-03-10"]),
    ...     "service_type": ["inpatient", "outpatient"],
    ...     "end_date": pd.to_datetime(["2024-03-05", None])})
    >>> res = continuity_of_care(SimpleNamespace(episodes=None, services=svc))
    >>> res.rates(by=None).table[["outcome", "n", "n_events"]].values.tolist()
    [['followed_within_7', 1, 1], ['followed_within_14', 1, 1]]
    """

    discharges: pd.DataFrame
    definition: ContinuityDefinition
    measurement_year: int | None = None
    last_discharge: pd.Timestamp | None = None
    remarks: tuple[str, ...] = ()
    patient_ids: pd.Series = field(default_factory=lambda: pd.Series(dtype="string"))

    @property
    def outcomes(self) -> tuple[str, ...]:
        """The ``followed_within_<d>`` columns, shortest window first."""
        return tuple(f"followed_within_{w}" for w in self.definition.within)

    @property
    def included(self) -> pd.DataFrame:
        """The index discharges that count (not excluded)."""
        return self.discharges.loc[~self.discharges["excluded"].to_numpy(bool)]

    def _header(self) -> str:
        n = len(self.discharges)
        ex = int(self.discharges["excluded"].sum())
        return (
            f"<ContinuityResult: {self.definition.name}, {n:,} index discharges, {ex:,} excluded>"
        )

    def to_frame(self) -> pd.DataFrame:
        """A copy of the per-discharge table (no patient identifier)."""
        return self.discharges.copy()

    def rates(
        self,
        by: str | Sequence[str] | None = ("cohort",),
        *,
        confidence_level: float = 0.95,
        interval: str = "wilson",
    ) -> RateTable:
        """Follow-up rates per window by group, through :func:`iopoutcomes.outcome_rates`.

        Parameters
        ----------
        by : str, sequence of str or None
            ``"cohort"``, ``"site"``, ``"quarter"``, ``"index_type"`` (or several); None: all.
        confidence_level : float
            Level of the intervals, in (0, 1).
        interval : str
            Interval for a proportion (``"wilson"`` default; see ``outcome_rates``).

        Returns
        -------
        RateTable
            One row per group and window; ``n`` counts included discharges.
        """
        from .rates import outcome_rates

        frame = self.included.copy()
        for c in self.outcomes:
            frame[c] = frame[c].astype("boolean")
        if not len(frame):
            raise ParameterError(
                "No index discharge is left to compute a rate on (all excluded or none found)."
            )
        return outcome_rates(
            frame,
            list(self.outcomes),
            by=by,
            missing="exclude",
            confidence_level=confidence_level,
            interval=interval,
        )

    def compare(
        self,
        by: str = "cohort",
        reference: Any = None,
        *,
        confidence_level: float = 0.95,
        **kwargs: Any,
    ) -> Any:
        """Follow-up rates of groups compared with a reference (:func:`iopoutcomes.compare_rates`).

        Parameters
        ----------
        by : str
            Grouping column of :attr:`discharges` (``"cohort"``, ``"site"``, ``"index_type"``).
        reference : optional
            Reference group (default: the first group in sorted order).
        confidence_level : float
            Level of the intervals, in (0, 1).
        **kwargs
            Passed to ``compare_rates`` (``interval``, ``test``, ``margin``, ``strata`` ...).

        Returns
        -------
        Comparison
            One row per window (``followed_within_<d>``) and group.
        """
        from .compare import compare_rates

        frame = self.included.copy()
        for c in self.outcomes:
            frame[c] = frame[c].astype("boolean")
        if reference is None:
            groups = sorted(str(g) for g in frame[by].dropna().unique())
            if not groups:
                raise ParameterError(f"No included discharge has a value of {by!r} to compare.")
            reference = groups[0]
        return compare_rates(
            frame,
            list(self.outcomes),
            by=by,
            reference=reference,
            missing="exclude",
            confidence_level=confidence_level,
            sensitivity=False,
            **kwargs,
        )

    def definition_text(self) -> str:
        """The definition applied, exclusions counted (methods text)."""
        return self.methods_text()

    def methods_text(self) -> str:
        """Methods paragraph: the measure's rules, the period and the exclusions counted."""
        text = self.definition.describe()
        if self.measurement_year is not None:
            text += f" Measurement year {self.measurement_year}."
        if self.last_discharge is not None:
            text += f" Last eligible discharge {self.last_discharge.date().isoformat()}."
        reasons = self.discharges["exclusion_reason"].value_counts()
        if len(reasons):
            text += " Excluded: " + ", ".join(f"{k} {int(v)}" for k, v in reasons.items()) + "."
        return text + " Rates with Wilson score intervals unless stated otherwise."

    def narrative(self, decimals: int = 0) -> str:
        """Plain-language sentences on the follow-up rates of all included discharges."""
        inc = self.included
        if not len(inc):
            return f"No index discharge counted under {self.definition.name}."
        table = self.rates(by=None).table
        lines = [
            f"{len(inc):,} index discharges counted under {self.definition.name} "
            f"({int(self.discharges['excluded'].sum()):,} excluded)."
        ]
        for row in table.itertuples(index=False):
            row = cast(Any, row)
            window = str(row.outcome).rsplit("_", 1)[-1]
            lines.append(
                f"Follow-up within {window} days: {float(row.rate):.{decimals}%} (95% CI "
                f"{float(row.ci_low):.{decimals}%} to {float(row.ci_high):.{decimals}%}; "
                f"{int(row.n_events)} of {int(row.n)})."
            )
        return " ".join(lines)

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Follow-up rates per window with intervals (``plots_continuity.plot_continuity``)."""
        from .plots_continuity import plot_continuity

        return plot_continuity(self, ax=ax, **kwargs)


def _last_discharge_day(
    last_discharge: Any, d: ContinuityDefinition, year: int | None
) -> int | None:
    value = last_discharge
    if value is None:
        if d.last_discharge is None or year is None:
            return None
        value = d.last_discharge
    if isinstance(value, str) and len(value) == 5 and value[2] == "-":
        if year is None:
            raise ParameterError(
                "A month-day last_discharge (e.g. '12-01') needs measurement_year=; or pass a "
                "full date."
            )
        value = f"{year}-{value}"
    ts = pd.Timestamp(value)
    return int(np.datetime64(ts.date(), "D").astype(np.int64))


def continuity_of_care(
    records: Any,
    *,
    index: Sequence[str] = ("residential", "inpatient"),
    within: Sequence[int] | None = None,
    definition: str | ContinuityDefinition = "cbe3453",
    measurement_year: int | None = None,
    last_discharge: Any = None,
) -> ContinuityResult:
    """Follow-up after residential / inpatient discharges, one row per index discharge.

    Parameters
    ----------
    records : Records
        Reads ``records.services`` (empty or absent: the episodes alone) and
        ``records.episodes`` (stays, ``cohort``, ``site``, ``death_date``,
        ``discharge_reason`` ``died``) and ``records.data_as_of`` (windows still open).
    index : sequence of str
        Stay types whose discharge is an index discharge (add ``"detox"`` for FUI's
        withdrawal-management index episodes).
    within : sequence of int, optional
        Windows in days; default the definition's ((7, 14) for ``cbe3453``, (7, 30) for
        ``hedis_fui``).
    definition : {"cbe3453", "hedis_fui"} or ContinuityDefinition
        The measure's rules (see :data:`CONTINUITY_DEFINITIONS`, ``docs/continuity.md``).
    measurement_year : int, optional
        Keep discharges dated in this calendar year only.
    last_discharge : date, str or None
        Last eligible discharge date (a date, or a month-day ``"12-01"`` in the measurement
        year); later discharges are excluded (``after_last_discharge``). Default the
        definition's (``"12-01"`` for FUI when a measurement year is given).

    Returns
    -------
    ContinuityResult

    Notes
    -----
    Exclusions, first applicable recorded: ``transfer_to_non_sud_stay``,
    ``after_last_discharge``, ``window_open`` (discharge + longest window after
    ``data_as_of``), ``died`` (death on or before discharge + longest window),
    ``hospice`` (a hospice service from admission to discharge + longest window),
    ``not_first_in_period`` (applied last, among the discharges still eligible).

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> svc = pd.DataFrame({"patient_id": ["a", "a"],
    ...     "service_date": pd.to_datetime(["2024-03-01", "2024-03-05"]),
    ...     "service_type": ["inpatient", "pharmacotherapy"],
    ...     "end_date": pd.to_datetime(["2024-03-05", None])})
    >>> recs = SimpleNamespace(episodes=None, services=svc)
    >>> continuity_of_care(recs).discharges["followed_within_7"].tolist()
    [True]
    >>> continuity_of_care(recs, definition="hedis_fui").discharges["followed_within_7"].tolist()
    [False]
    """
    d = _resolve(definition, CONTINUITY_DEFINITIONS, ContinuityDefinition, "continuity")
    if within is not None:
        d = d.replace(within=tuple(within))
    index_types = tuple(str(i).lower() for i in ([index] if isinstance(index, str) else index))
    unknown = [i for i in index_types if i not in STAY_TYPES]
    if unknown:
        raise ParameterError(f"index takes stay types {list(STAY_TYPES)}; got others {unknown}.")
    services = _services(records)
    episodes = _episodes(records)
    stays = _stays(services, episodes)
    ix = _chains(stays, d, index_types)
    remarks: list[str] = []
    if measurement_year is not None:
        y0 = int(np.datetime64(f"{int(measurement_year)}-01-01", "D").astype(np.int64))
        y1 = int(np.datetime64(f"{int(measurement_year) + 1}-01-01", "D").astype(np.int64))
        keep = (ix["discharge"] >= y0) & (ix["discharge"] < y1)
        remarks.append(
            f"{int((~keep).sum())} index discharges outside measurement year "
            f"{measurement_year} left out."
        )
        ix = ix.loc[keep.to_numpy()].reset_index(drop=True)
    longest = max(d.within)
    all_days = [
        services["start"].to_numpy(),
        services["end"].to_numpy(),
        episodes["admission"].to_numpy(),
        episodes["discharge"].to_numpy(),
    ]
    keys = _Keys([services["patient_id"], episodes["patient_id"]], all_days)
    days, ftype = _follow_up(ix, services, stays, d, keys)
    n = len(ix)
    disc = ix["discharge"].to_numpy(np.int64)
    reason = np.full(n, None, dtype=object)

    def mark(mask: np.ndarray, code: str) -> None:
        reason[pd.isna(reason) & mask] = code

    mark(ix["non_sud"].to_numpy(bool) & d.exclude_non_sud_transfer, "transfer_to_non_sud_stay")
    cut = _last_discharge_day(last_discharge, d, measurement_year)
    if cut is not None:
        mark(disc > cut, "after_last_discharge")
    as_of = getattr(records, "data_as_of", None)
    if as_of is not None and not pd.isna(as_of):
        as_of_day = int(np.datetime64(pd.Timestamp(as_of).date(), "D").astype(np.int64))
        mark(disc + longest > as_of_day, "window_open")
    death = episodes.loc[episodes["death"] != _NA_DAY].groupby("patient_id")["death"].min()
    dday = pd.Series(ix["patient_id"]).map(death).to_numpy(dtype=float, na_value=np.nan)
    mark(~np.isnan(dday) & (dday <= disc + longest), "died")
    hospice = services.loc[(services["type"] == "hospice").to_numpy(bool)]
    if len(hospice):
        hk = np.sort(keys.key(keys.code(hospice["patient_id"]), hospice["start"].to_numpy()))
        code = keys.code(ix["patient_id"])
        lo = keys.key(code, ix["chain_admission"].to_numpy(np.int64))
        hi = keys.key(code, disc + longest)
        mark(_count_in(hk, lo, hi) > 0, "hospice")
    if d.first_in_days is not None and n:
        later = _first_in_period(
            pd.isna(reason), keys.code(ix["patient_id"]), disc, d.first_in_days
        )
        mark(later, "not_first_in_period")
    excluded = ~pd.isna(reason)
    linked = _link_episodes(episodes, ix["patient_id"], disc, ix["episode_id"])
    out = pd.DataFrame(
        {
            "episode_id": ix["episode_id"].astype("string").to_numpy(),
            "admission_date": pd.to_datetime(ix["admission"].to_numpy(np.int64), unit="D"),
            "discharge_date": pd.to_datetime(disc, unit="D"),
            "index_type": ix["index_type"].astype("string").to_numpy(),
            "cohort": _text(linked, "cohort"),
            "site": _text(linked, "site"),
            "quarter": _quarter(disc).to_numpy(),
        }
    )
    out["cohort"] = out["cohort"].fillna("no episode")
    out = _typed(out)
    for w in d.within:
        hit = (days >= 0) & (days <= w)
        out[f"followed_within_{w}"] = pd.Series(hit, dtype="boolean").mask(excluded).array
    out["days_to_follow_up"] = pd.Series(days, dtype="Int64").mask(days < 0).array
    out["follow_up_type"] = pd.array(ftype, dtype="string")
    out["excluded"] = excluded
    out["exclusion_reason"] = pd.array(reason, dtype="string")
    windows = [f"followed_within_{w}" for w in d.within]
    out = out[[c for name in CONTINUITY_COLUMNS for c in (windows if "{d}" in name else [name])]]
    # rows in patient then date order (the order of the identifiers, never the identifiers)
    order = np.lexsort((disc, ix["patient_id"].astype("string").rank(method="dense").to_numpy()))
    out = out.iloc[order].reset_index(drop=True)
    pids = ix["patient_id"].astype("string").iloc[order].reset_index(drop=True)
    cut_ts = pd.Timestamp(np.datetime64(cut, "D")) if cut is not None else None
    return ContinuityResult(
        discharges=out,
        definition=d,
        measurement_year=measurement_year,
        last_discharge=cut_ts,
        remarks=tuple(remarks),
        patient_ids=pids,
    )


# --- initiation and engagement -----------------------------------------------------------------

AGE_GROUPS: tuple[tuple[str, int, int], ...] = (
    ("13-17", 13, 17),
    ("18-64", 18, 64),
    ("65+", 65, 200),
)
"""Age strata of HEDIS IET (age at the episode date)."""

_OPIOID_MEDS = ("buprenorphine", "methadone")
_ALCOHOL_MEDS = ("acamprosate", "disulfiram")


def _substance_cohort(values: pd.Series) -> pd.Series:
    v = pd.Series(values, dtype="string").str.lower()
    out = pd.Series(pd.NA, index=v.index, dtype="string")
    out[v.str.startswith("alcohol").fillna(False)] = "alcohol"
    out[v.str.startswith("opioid").fillna(False)] = "opioid"
    out[v.notna() & out.isna()] = "other"
    return out


def _age_group(age: pd.Series) -> pd.Series:
    a = pd.to_numeric(pd.Series(age), errors="coerce")
    out = pd.Series(pd.NA, index=a.index, dtype="string")
    for label, lo, hi in AGE_GROUPS:
        out[(a >= lo) & (a <= hi)] = label
    return out


@dataclass(frozen=True, eq=False, repr=False)
class EngagementResult(ResultDisplay):
    """Initiation and engagement of SUD treatment, one row per new SUD episode.

    Attributes
    ----------
    episodes : pandas.DataFrame
        ``episode_date``, ``episode_type``, ``cohort``, ``site``, ``quarter``, ``age_group``
        (13-17, 18-64, 65+; NA if unknown or under 13), ``substance_cohort`` (alcohol, opioid,
        other; NA if unknown), ``initiated``, ``initiation_date``, ``days_to_initiation``,
        ``engaged``. No patient identifier.
    definition : EngagementDefinition

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> svc = pd.DataFrame({"patient_id": ["a"] * 3, "service_type": ["outpatient"] * 3,
    ...     "service_date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-09"])})
    >>> res = initiation_engagement(SimpleNamespace(episodes=None, services=svc))
    >>> res.episodes[["initiated", "engaged"]].values.tolist()
    [[True, False]]
    """

    episodes: pd.DataFrame
    definition: EngagementDefinition
    remarks: tuple[str, ...] = ()
    patient_ids: pd.Series = field(default_factory=lambda: pd.Series(dtype="string"))

    def _header(self) -> str:
        return f"<EngagementResult: {self.definition.name}, {len(self.episodes):,} new episodes>"

    def to_frame(self) -> pd.DataFrame:
        """A copy of the per-episode table (no patient identifier)."""
        return self.episodes.copy()

    def rates(
        self,
        by: str | Sequence[str] | None = None,
        *,
        confidence_level: float = 0.95,
        interval: str = "wilson",
    ) -> RateTable:
        """Initiation and engagement rates by group (``age_group``, ``substance_cohort``, ...)."""
        from .rates import outcome_rates

        frame = self.episodes.copy()
        for c in ("initiated", "engaged"):
            frame[c] = frame[c].astype("boolean")
        return outcome_rates(
            frame,
            ["initiated", "engaged"],
            by=by,
            missing="exclude",
            confidence_level=confidence_level,
            interval=interval,
        )

    def definition_text(self) -> str:
        return self.methods_text()

    def methods_text(self) -> str:
        """Methods paragraph: the measure's rules."""
        return self.definition.describe() + " Rates with Wilson score intervals."

    def narrative(self, decimals: int = 0) -> str:
        """Plain-language sentences on initiation and engagement overall."""
        n = len(self.episodes)
        if not n:
            return f"No new SUD episode found under {self.definition.name}."
        t = self.rates().table
        parts = [f"{n:,} new SUD episodes ({self.definition.name})."]
        for row in t.itertuples(index=False):
            row = cast(Any, row)
            parts.append(
                f"{str(row.outcome).capitalize()}: {float(row.rate):.{decimals}%} (95% CI "
                f"{float(row.ci_low):.{decimals}%} to {float(row.ci_high):.{decimals}%})."
            )
        return " ".join(parts)

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Initiation and engagement rates with intervals."""
        from .plots import plot_rates

        return plot_rates(self.rates(**kwargs), ax=ax)


def initiation_engagement(
    records: Any, *, definition: str | EngagementDefinition = "hedis_iet"
) -> EngagementResult:
    """Initiation and engagement of SUD treatment after new SUD episodes (HEDIS IET, CMS137).

    Parameters
    ----------
    records : Records
        Reads ``records.services`` (SUD-diagnosed services: ``sud_diagnosis`` principal,
        secondary or missing; ``none`` is not SUD care) and ``records.episodes`` (``cohort``,
        ``site``, ``age``, ``primary_substance`` of the patient's latest episode admitted on or
        before the episode date).
    definition : {"hedis_iet", "cms137"} or EngagementDefinition

    Returns
    -------
    EngagementResult

    Notes
    -----
    Events are dated by their ``service_date``. An episode is the first SUD event of a
    patient-day (a stay first) with no SUD event or pharmacotherapy in the look-back; its
    episode date is the ``end_date`` of a stay in ``stay_initiates`` (it initiates itself) and
    the service date otherwise. *Units* are the initiating/engaging events collapsed to one
    per patient, day and provider (a missing provider is one provider) for visits and stay
    admissions, and per patient, day and medication for pharmacotherapy. Initiation: another
    unit on days 0 .. ``initiation_days - 1``; engagement: ``engagement_events`` units, or one
    long-acting medication unit, on days 1 .. ``engagement_days`` after the initiation date.
    Substance cohort from a ``substance`` column of the services, else the linked episode's
    ``primary_substance``, else the medication (buprenorphine/methadone: opioid;
    acamprosate/disulfiram: alcohol).

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> svc = pd.DataFrame({"patient_id": ["a"] * 2, "service_type": ["ed", "inpatient"],
    ...     "service_date": pd.to_datetime(["2024-01-01", "2024-01-02"]),
    ...     "end_date": pd.to_datetime([None, "2024-01-08"])})
    >>> initiation_engagement(SimpleNamespace(services=svc)).episodes["initiated"].tolist()
    [True]
    """
    d = _resolve(definition, ENGAGEMENT_DEFINITIONS, EngagementDefinition, "engagement")
    services = _services(records)
    episodes = _episodes(records)
    sud = (services["sud_diagnosis"].astype("string").str.lower() != "none").fillna(True)
    is_med = (services["type"] == "pharmacotherapy").to_numpy(bool)
    history = services.loc[
        (sud.to_numpy(bool) & (services["type"] != "hospice").to_numpy(bool)) | is_med
    ]
    keys = _Keys(
        [services["patient_id"], episodes["patient_id"]],
        [
            services["start"].to_numpy(),
            services["end"].to_numpy(),
            episodes["admission"].to_numpy(),
        ],
    )
    hist_keys = np.sort(keys.key(keys.code(history["patient_id"]), history["start"].to_numpy()))
    # candidates: the first index-type SUD event of each patient-day, a stay first
    cand = services.loc[
        services["type"].isin(d.index_types).to_numpy(bool) & (sud.to_numpy(bool) | is_med)
    ].copy()
    cand["stay_first"] = ~cand["type"].isin(d.stay_initiates)
    cand = cand.sort_values(["patient_id", "start", "stay_first"], kind="stable")
    cand = cand.drop_duplicates(["patient_id", "start"], keep="first").reset_index(drop=True)
    code = keys.code(cand["patient_id"])
    start = cand["start"].to_numpy(np.int64)
    new = (
        _count_in(hist_keys, keys.key(code, start - d.lookback_days), keys.key(code, start - 1))
        == 0
    )
    ep = cand.loc[new].reset_index(drop=True)
    code, start = code[new], start[new]
    self_init = ep["type"].isin(d.stay_initiates).to_numpy(bool) & (ep["end"] != _NA_DAY)
    ep_day = np.where(self_init, ep["end"].to_numpy(np.int64), start)
    # units: visits and stay admissions per (patient, day, provider); medication per drug
    unit_rows = services.loc[
        (services["type"].isin((*d.visit_types, *STAY_TYPES)).to_numpy(bool) & sud.to_numpy(bool))
        | is_med
    ].copy()
    unit_rows["what"] = np.where(
        unit_rows["type"] == "pharmacotherapy",
        "med:" + unit_rows["medication"].astype("string").fillna("?"),
        "visit:" + unit_rows["provider_id"].astype("string").fillna("?"),
    )
    units = unit_rows.drop_duplicates(["patient_id", "start", "what"])
    ukeys = np.sort(keys.key(keys.code(units["patient_id"]), units["start"].to_numpy()))
    long_acting = units.loc[units["medication"].isin(d.long_acting).to_numpy(bool)]
    lkeys = np.sort(keys.key(keys.code(long_acting["patient_id"]), long_acting["start"].to_numpy()))
    base = keys.key(code, ep_day)
    in_units = ep["type"].isin((*d.visit_types, *STAY_TYPES, "pharmacotherapy")).to_numpy(bool)
    count = _count_in(ukeys, base, base + d.initiation_days - 1)
    others = count - in_units.astype(np.int64)
    initiated = self_init | (others >= 1)
    pos = np.searchsorted(ukeys, base, "left") + in_units.astype(np.int64)
    safe = np.minimum(pos, max(len(ukeys) - 1, 0))
    init_offset = (ukeys[safe] - base) if len(ukeys) else np.zeros(len(base), np.int64)
    init_offset = np.where(self_init, 0, init_offset)
    init_day = ep_day + init_offset
    ib = keys.key(code, init_day)
    engaged_units = _count_in(ukeys, ib + 1, ib + d.engagement_days)
    engaged_long = _count_in(lkeys, ib + 1, ib + d.engagement_days)
    engaged = initiated & ((engaged_units >= d.engagement_events) | (engaged_long >= 1))
    linked = _link_episodes(
        episodes, ep["patient_id"], ep_day, pd.Series([pd.NA] * len(ep), dtype="string")
    )
    n = len(ep)
    if "substance" in ep:
        sub = _substance_cohort(ep["substance"])
    else:
        sub = pd.Series(pd.NA, index=range(n), dtype="string")
    if "primary_substance" in linked:
        sub = sub.fillna(_substance_cohort(linked["primary_substance"]))
    med = ep["medication"].astype("string")
    sub = sub.mask(sub.isna() & med.isin(_OPIOID_MEDS).to_numpy(bool), "opioid")
    sub = sub.mask(sub.isna() & med.isin(_ALCOHOL_MEDS).to_numpy(bool), "alcohol")
    out = pd.DataFrame(
        {
            "episode_date": pd.to_datetime(ep_day, unit="D"),
            "episode_type": ep["type"].astype("string").to_numpy(),
            "cohort": _text(linked, "cohort"),
            "site": _text(linked, "site"),
            "quarter": _quarter(ep_day).to_numpy(),
            "age_group": _age_group(
                linked["age"] if "age" in linked else pd.Series(np.full(n, np.nan))
            ).to_numpy(),
            "substance_cohort": sub.to_numpy(),
            "initiated": initiated,
            "initiation_date": pd.to_datetime(np.where(initiated, init_day, 0), unit="D").where(
                initiated
            ),
            "days_to_initiation": pd.Series(init_offset, dtype="Int64").mask(~initiated).array,
            "engaged": engaged,
        }
    )
    out = _typed(out[list(ENGAGEMENT_COLUMNS)])
    remarks = []
    if not len(services):
        remarks.append("No services table: initiation and engagement need service records.")
    return EngagementResult(
        episodes=out,
        definition=d,
        remarks=tuple(remarks),
        patient_ids=ep["patient_id"].astype("string").reset_index(drop=True),
    )
