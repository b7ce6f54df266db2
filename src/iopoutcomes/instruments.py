"""Standard outcome instruments: versioned scorers and reliable change.

The completion milestones of an IOP (improved well-being, coping, recovery capital, less use)
are measured in practice with a few standard questionnaires given at intake, during care and at
follow-up. This module scores them from their item columns, with item-level validation and a
stated rule for missing items, and classifies each client's change from one assessment to the
next (Jacobson & Truax 1991; the fixed-point rules of NHS Talking Therapies).

Scores live in the follow-ups table: one row per assessment (``episode_id``, ``timepoint``) with
the item columns beside the other measures, so instruments come in the one way every follow-up
measure does (``read_records``) and a scored column (``phq9_total``) is a follow-up measure like
any other.

Instruments (each with its source; see :data:`INSTRUMENTS`):

* ``phq9``: Patient Health Questionnaire-9 (Kroenke, Spitzer & Williams 2001): 9 items 0-3,
  total 0-27, severity bands at 5, 10, 15 and 20.
* ``gad7``: Generalized Anxiety Disorder-7 (Spitzer, Kroenke, Williams & Löwe 2006): 7 items
  0-3, total 0-21, bands at 5, 10 and 15.
* ``bam``: Brief Addiction Monitor (Cacciola et al. 2013), 17 items; Use (items 4-6), Risk
  (1, 2, 3, 8, 11, 15) and Protective (9, 10, 12, 13, 14, 16) subscales; item 7 (7A-7G) and
  item 17 are not part of any subscale. Two versions score differently, so the version is a
  required argument: ``"likert"`` (VA BAM-R, every scored item 0-4: Use 0-12, Risk and
  Protective 0-24) and ``"days"`` (the original continuous version, each scored item 0-30:
  Use 0-90, Risk and Protective 0-180).
* ``barc10``: Brief Assessment of Recovery Capital (Vilsaint et al. 2017): 10 items 1-6,
  total 10-60; 47 or more is the published cut-off for sustained remission.

Missing items: PHQ-9 and GAD-7 totals are prorated when at most two (PHQ-9) or one (GAD-7) item
is missing: the mean of the answered items times the number of items, rounded half up to a
whole score (the "half rule" convention of the PROMIS/HealthMeasures scoring manuals, applied
here with the stricter minimum of 7 of 9 and 6 of 7 items; Kroenke et al. give no rule). BAM
subscales and the BARC-10 total need every item (no published proration rule). Each rule is a
parameter (``min_items``): ``min_items=9`` turns PHQ-9 proration off.

Examples
--------
>>> import pandas as pd
>>> import iopoutcomes as iop
>>> visits = pd.DataFrame({"episode_id": ["e1", "e1"], "timepoint": ["intake", "discharge"],
...                        **{f"phq9_{i}": [2, 1] for i in range(1, 10)}})
>>> iop.phq9(visits).to_frame()[["timepoint", "phq9_total", "phq9_severity"]]
   timepoint  phq9_total      phq9_severity
0     intake          18  moderately severe
1  discharge           9               mild
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ._render import ResultDisplay
from ._validate import check_confidence_level, validates_confidence_level
from .definitions import Milestone
from .exceptions import InsufficientDataError, MissingColumnError, ParameterError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "CHANGE_CATEGORIES",
    "CHANGE_PRESETS",
    "INSTRUMENTS",
    "ChangePreset",
    "DepressionOutcomes",
    "INSTRUMENT_MILESTONES",
    "InstrumentScores",
    "InstrumentSpec",
    "ReliableChange",
    "bam",
    "barc10",
    "depression_response_remission",
    "gad7",
    "phq9",
    "reliable_change",
    "score_followups",
    "score_instrument",
]

ID_COLUMNS: tuple[str, ...] = ("patient_id", "episode_id", "timepoint")
"""Identifying columns carried into a score table when the input has them."""

CHANGE_CATEGORIES: tuple[str, ...] = ("recovered", "improved", "unchanged", "deteriorated")
"""Jacobson-Truax change categories, best first."""


@dataclass(frozen=True)
class InstrumentSpec:
    """How one instrument (in one version) is scored.

    Parameters
    ----------
    name : str
        Short name; score columns are ``<name>_<scale>`` (``phq9_total``, ``bam_use``).
    title, version, source : str
        Full name, version label and the reference its scoring follows.
    n_items : int
        Number of items; default item columns are ``<name>_1`` ... ``<name>_<n_items>``.
    item_min, item_max : int
        Valid whole-number range of a scored item.
    scales : mapping
        Scale name -> 1-based item numbers summed into it.
    min_items : mapping
        Scale name -> fewest answered items for a score (proration below all of them).
    bands : tuple of (lower bound, label)
        Severity bands of the ``total`` scale, by inclusive lower bound, ascending.
    higher_is_better : mapping
        Scale name -> whether a higher score is the better state.
    missing_rule : str
        The rule for missing items in words, with its source.

    Examples
    --------
    >>> INSTRUMENTS["gad7"].scales["total"]
    (1, 2, 3, 4, 5, 6, 7)
    """

    name: str
    title: str
    version: str
    source: str
    n_items: int
    item_min: int
    item_max: int
    scales: Mapping[str, tuple[int, ...]]
    min_items: Mapping[str, int]
    higher_is_better: Mapping[str, bool]
    bands: tuple[tuple[int, str], ...] = ()
    missing_rule: str = ""

    def default_items(self) -> list[str]:
        """Default item column names ``<name>_1`` ... ``<name>_<n_items>``."""
        return [f"{self.name}_{i}" for i in range(1, self.n_items + 1)]

    def scale_range(self, scale: str) -> tuple[int, int]:
        """Lowest and highest possible score of a scale."""
        k = len(self.scales[scale])
        return k * self.item_min, k * self.item_max


_PROMIS_HALF_RULE = (
    "prorated when at least {k} of {n} items are answered: the mean of the answered items "
    "times {n}, rounded half up (the half-rule convention of the PROMIS/HealthMeasures scoring "
    "manuals, with a stricter minimum; the instrument's authors give no rule)"
)

_BAM_SCALES = {
    "use": (4, 5, 6),
    "risk": (1, 2, 3, 8, 11, 15),
    "protective": (9, 10, 12, 13, 14, 16),
}
_BAM_SOURCE = (
    "Cacciola JS, Alterman AI, DePhilippis D, et al. Development and initial evaluation of the "
    "Brief Addiction Monitor (BAM). J Subst Abuse Treat 2013;44(3):256-263; scoring as in the "
    "VA BAM manual (Use = items 4-6, Risk = 1, 2, 3, 8, 11, 15, Protective = 9, 10, 12, 13, 14, "
    "16; items 7 and 17 unscored)"
)


def _bam(version: str, item_max: int) -> InstrumentSpec:
    return InstrumentSpec(
        name="bam",
        title="Brief Addiction Monitor",
        version=version,
        source=_BAM_SOURCE,
        n_items=17,
        item_min=0,
        item_max=item_max,
        scales=_BAM_SCALES,
        min_items={scale: len(items) for scale, items in _BAM_SCALES.items()},
        higher_is_better={"use": False, "risk": False, "protective": True},
        missing_rule="each subscale needs every one of its items (no proration)",
    )


INSTRUMENTS: Mapping[str, InstrumentSpec] = {
    "phq9": InstrumentSpec(
        name="phq9",
        title="Patient Health Questionnaire-9",
        version="PHQ-9 (2001)",
        source=(
            "Kroenke K, Spitzer RL, Williams JBW. The PHQ-9: validity of a brief depression "
            "severity measure. J Gen Intern Med 2001;16(9):606-613"
        ),
        n_items=9,
        item_min=0,
        item_max=3,
        scales={"total": tuple(range(1, 10))},
        min_items={"total": 7},
        higher_is_better={"total": False},
        bands=(
            (0, "minimal"),
            (5, "mild"),
            (10, "moderate"),
            (15, "moderately severe"),
            (20, "severe"),
        ),
        missing_rule=_PROMIS_HALF_RULE.format(k=7, n=9),
    ),
    "gad7": InstrumentSpec(
        name="gad7",
        title="Generalized Anxiety Disorder-7",
        version="GAD-7 (2006)",
        source=(
            "Spitzer RL, Kroenke K, Williams JBW, Löwe B. A brief measure for assessing "
            "generalized anxiety disorder: the GAD-7. Arch Intern Med 2006;166(10):1092-1097"
        ),
        n_items=7,
        item_min=0,
        item_max=3,
        scales={"total": tuple(range(1, 8))},
        min_items={"total": 6},
        higher_is_better={"total": False},
        bands=((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe")),
        missing_rule=_PROMIS_HALF_RULE.format(k=6, n=7),
    ),
    "bam:likert": _bam("likert", 4),
    "bam:days": _bam("days", 30),
    "barc10": InstrumentSpec(
        name="barc10",
        title="Brief Assessment of Recovery Capital",
        version="BARC-10 (2017)",
        source=(
            "Vilsaint CL, Kelly JF, Bergman BG, et al. Development and validation of a Brief "
            "Assessment of Recovery Capital (BARC-10) for alcohol and drug use disorder. Drug "
            "Alcohol Depend 2017;177:71-76"
        ),
        n_items=10,
        item_min=1,
        item_max=6,
        scales={"total": tuple(range(1, 11))},
        min_items={"total": 10},
        higher_is_better={"total": True},
        bands=((10, "below 47"), (47, "47 or more (sustained-remission cut-off)")),
        missing_rule="the total needs all 10 items (no proration)",
    ),
}
"""Instrument specifications by key (``bam`` has one key per version)."""


# --- scoring ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class InstrumentScores(ResultDisplay):
    """Scores of one instrument, one row per input row (assessment).

    Attributes
    ----------
    instrument : InstrumentSpec
        What was scored and how.
    scores : pandas.DataFrame
        The input's id columns (``patient_id``, ``episode_id``, ``timepoint`` when present),
        then per scale ``<name>_<scale>`` (nullable integer, missing when too few items were
        answered), ``<name>_<scale>_n_items`` and ``<name>_<scale>_prorated``, and
        ``<name>_severity`` for instruments with bands. Same index as the input.
    rejected : pandas.DataFrame
        One row per rejected item value: ``row`` (1-based position in the input), ``item``
        (the column) and ``reason`` (``not_a_number``, ``not_whole``, ``out_of_range``); the
        value itself is never shown. A rejected item counts as unanswered.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = score_instrument(pd.DataFrame({f"phq9_{i}": [1, 9] for i in range(1, 10)}),
    ...                           "phq9")
    >>> scores.rejected.to_dict("list")["reason"]
    ['out_of_range', 'out_of_range', 'out_of_range', 'out_of_range', 'out_of_range', 'out_of_range', 'out_of_range', 'out_of_range', 'out_of_range']
    >>> scores.summary()[["n", "n_scored", "n_not_scored"]].iloc[0].tolist()
    [2, 1, 1]
    """

    instrument: InstrumentSpec
    scores: pd.DataFrame
    rejected: pd.DataFrame
    remarks: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """The score table (a copy)."""
        return self.scores.copy()

    def summary(self) -> pd.DataFrame:
        """Per scale: rows, scored, prorated, not scored (too few items), items rejected."""
        spec = self.instrument
        rows = []
        for scale in spec.scales:
            col = f"{spec.name}_{scale}"
            scored = self.scores[col].notna()
            rows.append(
                {
                    "scale": col,
                    "n": len(self.scores),
                    "n_scored": int(scored.sum()),
                    "n_prorated": int(self.scores[f"{col}_prorated"].sum()),
                    "n_not_scored": int((~scored).sum()),
                }
            )
        out = pd.DataFrame(rows)
        out["n_items_rejected"] = len(self.rejected)
        return out

    def _header(self) -> str:
        spec = self.instrument
        n_scored = int(self.scores[f"{spec.name}_{next(iter(spec.scales))}"].notna().sum())
        return (
            f"<InstrumentScores: {spec.title} ({spec.version}), {len(self.scores)} assessments, "
            f"{n_scored} scored, {len(self.rejected)} item values rejected>"
        )

    def definition_text(self) -> str:
        spec = self.instrument
        scales = "; ".join(
            f"{scale} = items {', '.join(map(str, items))} "
            f"(range {spec.scale_range(scale)[0]}-{spec.scale_range(scale)[1]})"
            for scale, items in spec.scales.items()
        )
        return (
            f"{spec.title}, {spec.version}: {scales}; items scored "
            f"{spec.item_min}-{spec.item_max}. Missing items: {spec.missing_rule}. "
            f"Source: {spec.source}."
        )


def _spec_for(instrument: str, version: str | None) -> InstrumentSpec:
    if instrument == "bam":
        if version not in ("likert", "days"):
            raise ParameterError(
                "The Brief Addiction Monitor's two versions score differently: give "
                "version='likert' (items 0-4, the VA BAM-R) or version='days' (items 0-30, "
                "the original continuous version)."
            )
        return INSTRUMENTS[f"bam:{version}"]
    if instrument not in INSTRUMENTS:
        known = sorted({k.split(":")[0] for k in INSTRUMENTS})
        raise ParameterError(f"Unknown instrument {instrument!r}; choose from {', '.join(known)}.")
    return INSTRUMENTS[instrument]


def score_instrument(
    data: pd.DataFrame,
    instrument: str,
    *,
    version: str | None = None,
    items: Sequence[str] | Mapping[int, str] | None = None,
    min_items: int | Mapping[str, int] | None = None,
) -> InstrumentScores:
    """Score one instrument from its item columns, one score row per input row.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per assessment with the item columns (the follow-ups table, or any frame).
    instrument : {"phq9", "gad7", "bam", "barc10"}
        Which instrument.
    version : {"likert", "days"}, optional
        Required for ``bam``; ignored otherwise.
    items : sequence or mapping, optional
        The item columns in item order, or item number -> column; default ``<name>_1`` ...
    min_items : int or mapping, optional
        Fewest answered items for a (prorated) score, per scale or one number for the total;
        the instrument's stated default when not given.

    Returns
    -------
    InstrumentScores

    Raises
    ------
    MissingColumnError
        An item column is not in ``data``.
    ParameterError
        Unknown instrument or version, or ``min_items`` outside 1..items of the scale.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({f"gad7_{i}": [3, None] for i in range(1, 8)})
    >>> d.loc[1, ["gad7_1", "gad7_2", "gad7_3", "gad7_4", "gad7_5", "gad7_6"]] = 1
    >>> s = score_instrument(d, "gad7").to_frame()
    >>> s["gad7_total"].tolist(), s["gad7_total_prorated"].tolist()
    ([21, 7], [False, True])
    """
    spec = _spec_for(instrument, version)
    columns = _item_columns(spec, data, items)
    minimum = _minimum_items(spec, min_items)
    values, rejected = _validated_items(data, columns, spec)

    out = data[[c for c in ID_COLUMNS if c in data.columns]].copy()
    for scale, numbers in spec.scales.items():
        block = values[:, [n - 1 for n in numbers]]
        answered = ~np.isnan(block)
        n_answered = answered.sum(axis=1)
        total = np.where(answered, block, 0.0).sum(axis=1)
        k = len(numbers)
        with np.errstate(invalid="ignore", divide="ignore"):
            prorated_total = np.floor(total * k / n_answered + 0.5)
        enough = n_answered >= minimum[scale]
        score = np.where(n_answered == k, total, prorated_total)
        name = f"{spec.name}_{scale}"
        out[name] = pd.array(np.where(enough, score, np.nan), dtype="Float64").astype("Int64")
        out[f"{name}_n_items"] = n_answered.astype(np.int64)
        out[f"{name}_prorated"] = enough & (n_answered < k)
    if spec.bands:
        total_col = out[f"{spec.name}_total"]
        bounds = [b for b, _ in spec.bands]
        labels = [label for _, label in spec.bands]
        idx = np.searchsorted(bounds, total_col.fillna(-1).to_numpy(dtype=float), side="right")
        band = np.array([None, *labels], dtype=object)[idx]
        out[f"{spec.name}_severity"] = pd.Series(band, index=out.index, dtype="string")
        out.loc[total_col.isna().to_numpy(), f"{spec.name}_severity"] = pd.NA
    remarks = []
    if len(rejected):
        remarks.append(
            f"{len(rejected)} item value(s) were not valid answers "
            f"({spec.item_min}-{spec.item_max}) and were treated as unanswered; see .rejected."
        )
    return InstrumentScores(spec, out, rejected, tuple(remarks))


def _item_columns(
    spec: InstrumentSpec, data: pd.DataFrame, items: Sequence[str] | Mapping[int, str] | None
) -> list[str]:
    if items is None:
        columns = spec.default_items()
    elif isinstance(items, Mapping):
        columns = spec.default_items()
        for number, column in items.items():
            if not 1 <= int(number) <= spec.n_items:
                raise ParameterError(
                    f"{spec.title} has items 1-{spec.n_items}; item number {number} in items= "
                    "is outside that range."
                )
            columns[int(number) - 1] = column
    else:
        columns = list(items)
        if len(columns) != spec.n_items:
            raise ParameterError(
                f"{spec.title} has {spec.n_items} items; items= lists {len(columns)} columns."
            )
    used = sorted({n for numbers in spec.scales.values() for n in numbers})
    missing = [columns[n - 1] for n in used if columns[n - 1] not in data.columns]
    if missing:
        raise MissingColumnError(
            f"Scoring the {spec.title} needs the item column(s) {', '.join(missing)}, which "
            "the data do not have; name the columns with items= (a list in item order or "
            "{item number: column})."
        )
    return columns


def _minimum_items(
    spec: InstrumentSpec, min_items: int | Mapping[str, int] | None
) -> dict[str, int]:
    minimum = dict(spec.min_items)
    if min_items is None:
        return minimum
    given = {"total": min_items} if isinstance(min_items, int) else dict(min_items)
    for scale, k in given.items():
        if scale not in spec.scales:
            raise ParameterError(
                f"min_items names scale {scale!r}; the {spec.title} has {', '.join(spec.scales)}."
            )
        if not 1 <= int(k) <= len(spec.scales[scale]):
            raise ParameterError(
                f"min_items for {scale} must be between 1 and {len(spec.scales[scale])}."
            )
        minimum[scale] = int(k)
    return minimum


def _validated_items(
    data: pd.DataFrame, columns: list[str], spec: InstrumentSpec
) -> tuple[np.ndarray, pd.DataFrame]:
    """Item values as floats (NaN = unanswered or rejected) and the rejections."""
    n = len(data)
    values = np.full((n, spec.n_items), np.nan)
    rows, names, reasons = [], [], []
    scored = {n - 1 for numbers in spec.scales.values() for n in numbers}
    for j, column in enumerate(columns):
        if j not in scored:
            continue  # an unscored item (BAM 7 and 17): not read, so never rejected
        raw = data[column]
        blank = raw.isna().to_numpy(copy=True)
        if raw.dtype == object or pd.api.types.is_string_dtype(raw.dtype):
            blank |= raw.astype("string").str.strip().fillna("").eq("").to_numpy()
        number = pd.to_numeric(raw.where(~blank), errors="coerce").to_numpy(dtype=float)
        checks = (
            ("not_a_number", ~blank & np.isnan(number)),
            ("not_whole", ~np.isnan(number) & (number != np.round(number))),
            (
                "out_of_range",
                ~np.isnan(number) & ((number < spec.item_min) | (number > spec.item_max)),
            ),
        )
        bad = np.zeros(n, dtype=bool)
        for reason, mask in checks:
            mask = mask & ~bad
            hits = np.flatnonzero(mask)
            rows.extend((hits + 1).tolist())
            names.extend([column] * len(hits))
            reasons.extend([reason] * len(hits))
            bad |= mask
        values[:, j] = np.where(bad, np.nan, number)
    rejected = pd.DataFrame(
        {
            "row": pd.array(rows, dtype="Int64"),
            "item": pd.array(names, dtype="string"),
            "reason": pd.array(reasons, dtype="string"),
        }
    )
    return values, rejected.sort_values(["row", "item"], kind="stable").reset_index(drop=True)


def phq9(
    data: pd.DataFrame,
    *,
    items: Sequence[str] | Mapping[int, str] | None = None,
    min_items: int = 7,
) -> InstrumentScores:
    """Score the PHQ-9 (total 0-27 and severity band; prorated from 7 of 9 items).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({f"phq9_{i}": [3] for i in range(1, 10)})
    >>> s = phq9(d).to_frame()
    >>> int(s.loc[0, "phq9_total"]), s.loc[0, "phq9_severity"]
    (27, 'severe')
    """
    return score_instrument(data, "phq9", items=items, min_items=min_items)


def gad7(
    data: pd.DataFrame,
    *,
    items: Sequence[str] | Mapping[int, str] | None = None,
    min_items: int = 6,
) -> InstrumentScores:
    """Score the GAD-7 (total 0-21 and severity band; prorated from 6 of 7 items).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({f"gad7_{i}": [0] for i in range(1, 8)})
    >>> s = gad7(d).to_frame()
    >>> int(s.loc[0, "gad7_total"]), s.loc[0, "gad7_severity"]
    (0, 'minimal')
    """
    return score_instrument(data, "gad7", items=items, min_items=min_items)


def bam(
    data: pd.DataFrame,
    *,
    version: Literal["likert", "days"],
    items: Sequence[str] | Mapping[int, str] | None = None,
) -> InstrumentScores:
    """Score the Brief Addiction Monitor's Use, Risk and Protective subscales.

    Parameters
    ----------
    version : {"likert", "days"}
        Required: the VA BAM-R Likert version (items 0-4) or the original days version
        (items 0-30). The two score on different ranges and cannot be mixed.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({f"bam_{i}": [0] for i in range(1, 18)})
    >>> d[["bam_9", "bam_10", "bam_12", "bam_13", "bam_14", "bam_16"]] = 4
    >>> s = bam(d, version="likert").to_frame()
    >>> [int(s.loc[0, c]) for c in ("bam_use", "bam_risk", "bam_protective")]
    [0, 0, 24]
    """
    return score_instrument(data, "bam", version=version, items=items)


def barc10(
    data: pd.DataFrame,
    *,
    items: Sequence[str] | Mapping[int, str] | None = None,
) -> InstrumentScores:
    """Score the BARC-10 (total 10-60; 47 or more is the sustained-remission cut-off).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({f"barc10_{i}": [5] for i in range(1, 11)})
    >>> s = barc10(d).to_frame()
    >>> int(s.loc[0, "barc10_total"]), s.loc[0, "barc10_severity"]
    (50, '47 or more (sustained-remission cut-off)')
    """
    return score_instrument(data, "barc10", items=items)


def score_followups(
    records: Any,
    instrument: str,
    *,
    version: str | None = None,
    items: Sequence[str] | Mapping[int, str] | None = None,
    min_items: int | Mapping[str, int] | None = None,
) -> Any:
    """Records whose follow-ups carry an instrument's scores beside its items.

    The scored columns (``phq9_total``, ``phq9_severity``, ...) become follow-up measures like
    any other: milestones (:data:`INSTRUMENT_MILESTONES`), rates and comparisons read them.
    Rejected item values are counted in the returned records' remarks (row numbers of the
    follow-ups table and reasons in ``InstrumentScores.rejected``; never the values).

    Parameters
    ----------
    records : Records
        From :func:`~iopoutcomes.read_records` (or :func:`~iopoutcomes.load_sample`).
    instrument, version, items, min_items
        As in :func:`score_instrument`.

    Returns
    -------
    Records
        A copy with the score columns added to (or replaced in) ``followups``.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> recs = iop.simulate_records(n=40, seed=3, instruments=True)
    >>> scored = iop.score_followups(recs, "phq9")
    >>> "phq9_total" in scored.followups, "phq9_total" in recs.followups
    (True, False)
    """
    import dataclasses

    result = score_instrument(
        records.followups, instrument, version=version, items=items, min_items=min_items
    )
    scores = result.scores.drop(columns=[c for c in ID_COLUMNS if c in result.scores.columns])
    followups = records.followups.drop(
        columns=[c for c in scores.columns if c in records.followups]
    )
    followups = pd.concat([followups, scores], axis=1)
    remarks = tuple(records.remarks)
    if len(result.rejected):
        remarks += (
            f"{result.instrument.title}: {len(result.rejected)} item value(s) outside "
            f"{result.instrument.item_min}-{result.instrument.item_max} were treated as "
            "unanswered.",
        )
    return dataclasses.replace(records, followups=followups, remarks=remarks)


INSTRUMENT_MILESTONES: Mapping[str, Milestone] = {
    "phq9_reliable_improvement": Milestone(
        "phq9_reliable_improvement",
        "improved",
        measure="phq9_total",
        min_change=6,
        higher_is_better=False,
        scale="0-27 PHQ-9 total (the NHS Talking Therapies reliable improvement)",
    ),
    "gad7_reliable_improvement": Milestone(
        "gad7_reliable_improvement",
        "improved",
        measure="gad7_total",
        min_change=4,
        higher_is_better=False,
        scale="0-21 GAD-7 total (the NHS Talking Therapies reliable improvement)",
    ),
    "barc10_recovery_capital": Milestone(
        "barc10_recovery_capital",
        "threshold",
        measure="barc10_total",
        timepoint="6mo",
        threshold=47,
        scale="10-60 BARC-10 total (the sustained-remission cut-off of Vilsaint et al. 2017)",
    ),
    "bam_no_use": Milestone(
        "bam_no_use",
        "threshold",
        measure="bam_use",
        threshold=0,
        higher_is_better=False,
        scale="0-12 Use subscale (no alcohol or drug use in the past 30 days)",
    ),
}
"""Milestones measured by instruments: well-being (PHQ-9, GAD-7 reliable improvement by
discharge), recovery capital (BARC-10 at or above 47 at 6 months) and no use (BAM Use subscale
0 at discharge). Add them to ``OutcomeDefinition(milestones=...)`` after
:func:`score_followups`."""


# --- reliable change ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangePreset:
    """A published convention for classifying change on one measure.

    Parameters
    ----------
    measure : str
        The score column (``phq9_total``).
    higher_is_better : bool
        Direction of improvement.
    threshold : float
        Smallest change in points that counts as reliable (the fixed-point rule).
    cutoff : float
        Caseness: a score at or above it (lower-is-better) is in the clinical range.
    source : str
        Where the convention is published.
    """

    measure: str
    higher_is_better: bool
    threshold: float
    cutoff: float
    source: str


CHANGE_PRESETS: Mapping[str, ChangePreset] = {
    "phq9": ChangePreset(
        "phq9_total",
        higher_is_better=False,
        threshold=6,
        cutoff=10,
        source=(
            "NHS Talking Therapies Manual (NHS England 2024) and its measures guidance: reliable "
            "improvement is a decrease of 6 or more points on the PHQ-9; caseness is 10 or more"
        ),
    ),
    "gad7": ChangePreset(
        "gad7_total",
        higher_is_better=False,
        threshold=4,
        cutoff=8,
        source=(
            "NHS Talking Therapies Manual (NHS England 2024) and its measures guidance: reliable "
            "improvement is a decrease of 4 or more points on the GAD-7; caseness is 8 or more"
        ),
    ),
}
"""Fixed-point reliable-change conventions by instrument (``method="threshold"``)."""


@dataclass(frozen=True, eq=False, repr=False)
class ReliableChange(ResultDisplay):
    """Per-client change between two assessments, classified as reliable or not.

    ``to_frame()`` has one row per client with both assessments: the id column, ``group``
    (when ``by`` was given), ``pre``, ``post``, ``change`` (post - pre), ``rci`` (Jacobson-
    Truax only), ``reliable_improvement``, ``reliable_deterioration``, ``case_pre``,
    ``case_post`` (when a cut-off is set) and ``category`` (recovered / improved / unchanged /
    deteriorated).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"episode_id": ["a", "a"], "timepoint": ["intake", "discharge"],
    ...                   "gad7_total": [15, 6]})
    >>> rc = reliable_change(d, "gad7", method="threshold")
    >>> rc.to_frame()["category"].tolist(), rc.threshold
    (['recovered'], 4.0)
    """

    frame: pd.DataFrame
    measure: str
    baseline: str
    followup: str
    method: str
    higher_is_better: bool
    cutoff: float | None
    reliability: float | None
    sd_baseline: float | None
    threshold: float
    confidence_level: float
    n_without_pair: int
    source: str
    remarks: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per client with both assessments (a copy)."""
        return self.frame.copy()

    def counts(self) -> pd.DataFrame:
        """Clients per change category (and group): ``n``, ``n_events`` and ``rate``.

        Examples
        --------
        >>> import pandas as pd
        >>> d = pd.DataFrame({"episode_id": ["a", "a", "b", "b"],
        ...                   "timepoint": ["intake", "discharge"] * 2,
        ...                   "phq9_total": [20, 8, 12, 13]})
        >>> rc = reliable_change(d, "phq9", method="threshold")
        >>> rc.counts()[["category", "n_events"]].to_dict("list")
        {'category': ['recovered', 'improved', 'unchanged', 'deteriorated'], 'n_events': [1, 0, 1, 0]}
        """
        keys = ["group"] if "group" in self.frame.columns else []
        cats = pd.Categorical(self.frame["category"], categories=CHANGE_CATEGORIES)
        frame = self.frame.assign(category=cats)
        counted = frame.groupby([*keys, "category"], observed=False).size().rename("n_events")
        out = counted.reset_index()
        totals = out.groupby(keys)["n_events"].transform("sum") if keys else out["n_events"].sum()
        out["n"] = totals
        out["rate"] = out["n_events"] / out["n"].where(out["n"] > 0)
        out["category"] = out["category"].astype(str)
        return out[[*keys, "category", "n", "n_events", "rate"]]

    @property
    def measure_text(self) -> str:
        """The measure in words (``PHQ-9 depression score``), else its column name."""
        from .definitions import MEASURE_TEXT

        return MEASURE_TEXT.get(self.measure, self.measure)

    def _header(self) -> str:
        return (
            f"<ReliableChange: {self.measure} {self.baseline} -> {self.followup}, "
            f"{len(self.frame)} clients with both ({self.method})>"
        )

    def definition_text(self) -> str:
        return self.methods_text()

    def methods_text(self) -> str:
        """The classification rule in words, with its reference."""
        direction = "higher" if self.higher_is_better else "lower"
        if self.method == "jacobson_truax":
            z = stats.norm.ppf(0.5 + self.confidence_level / 2)
            assert self.sd_baseline is not None and self.reliability is not None
            se = self.sd_baseline * math.sqrt(1 - self.reliability)
            rule = (
                f"Change in {self.measure_text} from {self.baseline} to {self.followup} was called "
                f"reliable when the reliable change index RCI = (post - pre) / sqrt(2 SE^2), "
                f"SE = SD x sqrt(1 - r), exceeded {z:.2f} in absolute value (Jacobson & Truax "
                f"1991), with SD = {self.sd_baseline:.3g} (baseline) and r = "
                f"{self.reliability:.3g}: a change of at least {z * math.sqrt(2) * se:.3g} "
                "points."
            )
        else:
            rule = (
                f"Change in {self.measure_text} from {self.baseline} to {self.followup} was called "
                f"reliable when it was at least {self.threshold:g} points in either direction "
                f"({self.source})."
            )
        if self.cutoff is not None:
            side = "below" if not self.higher_is_better else "at or above"
            rule += (
                f" A client was recovered when the change was a reliable improvement and the "
                f"score moved from the clinical range at {self.baseline} to {side} "
                f"{self.cutoff:g} at {self.followup}."
            )
        rule += f" {direction.capitalize()} scores are better."
        if self.n_without_pair:
            rule += f" {self.n_without_pair} client(s) without both assessments are not classified."
        return rule

    def narrative(self) -> str:
        """One sentence per group: share reliably improved or recovered."""
        counts = self.counts()
        keys = ["group"] if "group" in counts.columns else []
        parts = []
        for key, part in counts.groupby(keys, sort=False) if keys else [((), counts)]:
            n = int(part["n"].iloc[0]) if len(part) else 0
            good = int(part.loc[part["category"].isin(["recovered", "improved"]), "n_events"].sum())
            worse = int(part.loc[part["category"] == "deteriorated", "n_events"].sum())
            who = f"{key[0] if isinstance(key, tuple) else key}: " if keys else ""
            parts.append(
                f"{who}{good} of {n} clients reliably improved on the {self.measure_text} "
                f"({self.baseline} to {self.followup}) and {worse} reliably deteriorated."
            )
        return " ".join(parts)

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Jacobson-Truax scatter: pre vs post with the no-change line, the reliable-change
        band and the cut-off (see :func:`iopoutcomes.plots.plot_reliable_change`)."""
        from .plots import plot_reliable_change

        return plot_reliable_change(self, ax=ax, **kwargs)


def _cutoff_value(
    cutoff: float | str | None,
    pre: np.ndarray,
    higher_is_better: bool,
    functional_mean: float | None,
    functional_sd: float | None,
) -> float | None:
    """A number, or Jacobson & Truax's criterion a, b or c from the baseline sample."""
    if cutoff is None or isinstance(cutoff, int | float):
        return None if cutoff is None else float(cutoff)
    if cutoff not in ("a", "b", "c"):
        raise ParameterError("cutoff must be a number or one of 'a', 'b', 'c' (Jacobson & Truax).")
    m_dys, s_dys = float(np.mean(pre)), float(np.std(pre, ddof=1))
    toward = 1.0 if higher_is_better else -1.0  # direction from dysfunctional to functional
    if cutoff == "a":
        return m_dys + toward * 2 * s_dys
    if functional_mean is None or functional_sd is None:
        raise ParameterError(
            f"cutoff={cutoff!r} needs the functional population's functional_mean and "
            "functional_sd (published norms)."
        )
    if cutoff == "b":
        return functional_mean - toward * 2 * functional_sd
    return (s_dys * functional_mean + functional_sd * m_dys) / (s_dys + functional_sd)


@validates_confidence_level
def reliable_change(
    data: pd.DataFrame,
    measure: str,
    *,
    baseline: str = "intake",
    followup: str = "discharge",
    reliability: float | None = None,
    sd_baseline: float | None = None,
    method: Literal["jacobson_truax", "threshold"] = "jacobson_truax",
    threshold: float | None = None,
    cutoff: float | Literal["a", "b", "c"] | None = None,
    functional_mean: float | None = None,
    functional_sd: float | None = None,
    higher_is_better: bool | None = None,
    by: str | None = None,
    id_column: str = "episode_id",
    confidence_level: float = 0.95,
) -> ReliableChange:
    """Classify each client's change between two assessments (Jacobson & Truax 1991).

    Parameters
    ----------
    data : pandas.DataFrame
        Long format: one row per assessment with ``id_column``, ``timepoint`` and the score
        column (the follow-ups table after scoring), plus ``by`` when given.
    measure : str
        The score column, or an instrument with a preset (``"phq9"``, ``"gad7"``: column,
        direction, fixed-point threshold and caseness cut-off from NHS Talking Therapies).
    baseline, followup : str
        The two timepoints compared.
    reliability : float, optional
        Test-retest (or internal-consistency) reliability r of the measure, in (0, 1);
        required by ``method="jacobson_truax"``.
    sd_baseline : float, optional
        Standard deviation for the standard error of measurement; the baseline scores' SD
        (ddof 1) of the clients analysed when not given (say which in a paper).
    method : {"jacobson_truax", "threshold"}
        ``jacobson_truax``: reliable when |RCI| > z (1.96 at 95%), RCI = (post - pre) /
        sqrt(2 SE^2), SE = SD sqrt(1 - r). ``threshold``: reliable when the change is at least
        ``threshold`` points (the preset's when not given).
    cutoff : float or {"a", "b", "c"}, optional
        Clinical cut-off (the preset's caseness for ``phq9``/``gad7``): a number, or Jacobson
        & Truax's criterion a (2 SD beyond the baseline mean), b (within 2 SD of the functional
        mean) or c (the weighted midpoint), the latter two needing ``functional_mean`` and
        ``functional_sd``. On the lower-is-better side, a score at or above the cut-off is in
        the clinical range.
    higher_is_better : bool, optional
        Direction of improvement; required unless ``measure`` is a preset.
    by : str, optional
        Grouping column (e.g. ``cohort``), carried into the result as ``group``.
    id_column : str, default "episode_id"
        The client/episode identifier.
    confidence_level : float, default 0.95
        Sets the RCI's critical value (two-sided).

    Returns
    -------
    ReliableChange

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"episode_id": ["a", "a", "b", "b", "c", "c"],
    ...                   "timepoint": ["intake", "discharge"] * 3,
    ...                   "phq9_total": [20, 8, 12, 13, 9, 16]})
    >>> rc = reliable_change(d, "phq9", reliability=0.84, sd_baseline=5.0)
    >>> rc.to_frame()[["episode_id", "change", "category"]].to_dict("list")
    {'episode_id': ['a', 'b', 'c'], 'change': [-12.0, 1.0, 7.0], 'category': ['recovered', 'unchanged', 'deteriorated']}
    """
    check_confidence_level(confidence_level)
    preset = CHANGE_PRESETS.get(measure)
    column = preset.measure if preset else measure
    source = preset.source if preset else "user-supplied threshold"
    if higher_is_better is None:
        if preset is None:
            raise ParameterError(
                f"Say whether higher {measure} scores are better: give higher_is_better=."
            )
        higher_is_better = preset.higher_is_better
    if cutoff is None and preset is not None:
        cutoff = preset.cutoff
    if method == "threshold":
        if threshold is None:
            if preset is None:
                raise ParameterError("method='threshold' needs threshold= (points).")
            threshold = preset.threshold
        if threshold <= 0:
            raise ParameterError("threshold must be a positive number of points.")
    elif method == "jacobson_truax":
        if reliability is None or not 0 < reliability < 1:
            raise ParameterError(
                "method='jacobson_truax' needs the measure's reliability= in (0, 1) (a "
                "published test-retest or internal-consistency coefficient)."
            )
    else:
        raise ParameterError("method must be 'jacobson_truax' or 'threshold'.")
    needed = [c for c in (id_column, "timepoint", column, by) if c is not None]
    absent = [c for c in needed if c not in data.columns]
    if absent:
        raise MissingColumnError(
            f"reliable_change needs the column(s) {', '.join(absent)}; score the instrument "
            "first (e.g. iop.phq9(followups).to_frame()) and keep episode_id and timepoint."
        )

    long = data.loc[data["timepoint"].isin([baseline, followup]), needed]
    long = long[long[column].notna()]
    if long.duplicated([id_column, "timepoint"]).any():
        raise ParameterError(
            f"Some clients have two {column} scores at one timepoint; keep one assessment per "
            f"{id_column} and timepoint before classifying change."
        )
    wide = long.pivot(index=id_column, columns="timepoint", values=column)
    n_ids = wide.shape[0]
    if baseline not in wide.columns or followup not in wide.columns:
        raise InsufficientDataError(f"No client has {column} at both {baseline} and {followup}.")
    wide = wide.dropna(subset=[baseline, followup])
    if wide.empty:
        raise InsufficientDataError(f"No client has {column} at both {baseline} and {followup}.")
    pre = wide[baseline].to_numpy(dtype=float)
    post = wide[followup].to_numpy(dtype=float)
    change = post - pre
    sign = 1.0 if higher_is_better else -1.0
    out = pd.DataFrame({id_column: wide.index.to_numpy()})
    if by is not None:
        groups = long.drop_duplicates(id_column).set_index(id_column)[by]
        out["group"] = groups.reindex(wide.index).to_numpy()
    out["pre"] = pre
    out["post"] = post
    out["change"] = change
    if method == "jacobson_truax":
        assert reliability is not None
        if sd_baseline is None:
            if len(pre) < 2:
                raise InsufficientDataError(
                    "The baseline SD needs at least two clients; give sd_baseline= (a "
                    "published norm) instead."
                )
            sd_baseline = float(np.std(pre, ddof=1))
        if sd_baseline <= 0:
            raise ParameterError("sd_baseline must be positive.")
        se = sd_baseline * math.sqrt(1 - reliability)
        rci = change / math.sqrt(2 * se**2)
        z = float(stats.norm.ppf(0.5 + confidence_level / 2))
        out["rci"] = rci
        improved = sign * rci > z
        worse = sign * rci < -z
        threshold_used = z * math.sqrt(2) * se
    else:
        assert threshold is not None
        improved = sign * change >= threshold
        worse = sign * change <= -threshold
        threshold_used = float(threshold)
    out["reliable_improvement"] = improved
    out["reliable_deterioration"] = worse
    cut = _cutoff_value(cutoff, pre, higher_is_better, functional_mean, functional_sd)
    category = np.where(improved, "improved", np.where(worse, "deteriorated", "unchanged"))
    if cut is not None:
        case_pre = pre < cut if higher_is_better else pre >= cut
        case_post = post < cut if higher_is_better else post >= cut
        out["case_pre"] = case_pre
        out["case_post"] = case_post
        category = np.where(improved & case_pre & ~case_post, "recovered", category)
    out["category"] = pd.array(category, dtype="string")
    remarks = []
    if cut is not None and not (out.get("case_pre", pd.Series(dtype=bool))).any():
        remarks.append("No client was in the clinical range at baseline, so none can recover.")
    return ReliableChange(
        frame=out,
        measure=column,
        baseline=baseline,
        followup=followup,
        method=method,
        higher_is_better=bool(higher_is_better),
        cutoff=cut,
        reliability=reliability,
        sd_baseline=sd_baseline if method == "jacobson_truax" else None,
        threshold=threshold_used,
        confidence_level=confidence_level,
        n_without_pair=int(n_ids - len(wide)),
        source=source,
        remarks=tuple(remarks),
    )


# --- PHQ-9 response and remission at twelve months ------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class DepressionOutcomes(ResultDisplay):
    """PHQ-9 response and remission at twelve months (CMS159 / CBE 1885 conventions).

    ``to_frame()`` has one row per client with an index score: the id column, ``group`` (when
    ``by`` was given), ``index_date``, ``index_score``, ``followup_date``, ``followup_score``
    (the last score inside the window; missing when none), ``remission`` and ``response``
    (False when no follow-up score: the measures count the client in the denominator).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"episode_id": ["a", "a", "b"],
    ...                   "assessment_date": pd.to_datetime(["2024-01-10", "2025-01-05",
    ...                                                      "2024-02-01"]),
    ...                   "phq9_total": [16, 4, 12]})
    >>> out = depression_response_remission(d)
    >>> out.to_frame()[["episode_id", "remission", "response"]].to_dict("list")
    {'episode_id': ['a', 'b'], 'remission': [True, False], 'response': [True, False]}
    """

    frame: pd.DataFrame
    months: int
    window_days: int
    index_threshold: float
    remarks: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per client with an index score (a copy)."""
        return self.frame.copy()

    def rates(self) -> pd.DataFrame:
        """Remission and response rates (per group): ``outcome``, ``n``, ``n_events``, ``rate``."""
        keys = ["group"] if "group" in self.frame.columns else []
        rows = []
        for outcome in ("remission", "response"):
            grouped = self.frame.groupby(keys, sort=False) if keys else [((), self.frame)]
            for key, part in grouped:
                row: dict[str, Any] = {"outcome": outcome}
                if keys:
                    row["group"] = key[0] if isinstance(key, tuple) else key
                row["n"] = len(part)
                row["n_events"] = int(part[outcome].sum())
                row["rate"] = row["n_events"] / row["n"] if row["n"] else float("nan")
                rows.append(row)
        return pd.DataFrame(rows)

    def _header(self) -> str:
        return (
            f"<DepressionOutcomes: {len(self.frame)} clients with a PHQ-9 index score above "
            f"{self.index_threshold:g}; {self.months}-month window ±{self.window_days} days>"
        )

    def definition_text(self) -> str:
        return self.methods_text()

    def methods_text(self) -> str:
        """The measure definitions in words, with their sources."""
        return (
            f"Index: the first PHQ-9 total above {self.index_threshold:g}. Follow-up: the last "
            f"PHQ-9 total {self.months} months (±{self.window_days} days) after the index. "
            "Remission: follow-up score below 5 (CMS159, Depression Remission at Twelve "
            "Months); response: follow-up score at least 50% below the index score (CBE/NQF "
            "1885, Depression Response at Twelve Months). Clients without a follow-up score in "
            "the window stay in the denominator as not in remission and not responding, as the "
            "measures count them."
        )


def depression_response_remission(
    data: pd.DataFrame,
    *,
    measure: str = "phq9_total",
    date_column: str = "assessment_date",
    id_column: str = "episode_id",
    by: str | None = None,
    index_threshold: float = 9,
    months: int = 12,
    window_days: int = 60,
) -> DepressionOutcomes:
    """PHQ-9 remission (CMS159) and response (CBE/NQF 1885) at twelve months.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format: one row per PHQ-9 assessment with ``id_column``, ``date_column`` and the
        score (``phq9_total`` from :func:`phq9`), plus ``by`` when given.
    measure, date_column, id_column : str
        Column names.
    by : str, optional
        Grouping column, carried into the result as ``group``.
    index_threshold : float, default 9
        The index event is the first score above it (CMS159: PHQ-9 greater than 9).
    months, window_days : int
        Follow-up at ``months`` after the index date, ± ``window_days`` (12 months ± 60 days).

    Returns
    -------
    DepressionOutcomes

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"episode_id": ["a", "a"],
    ...                   "assessment_date": pd.to_datetime(["2024-01-10", "2024-11-20"]),
    ...                   "phq9_total": [20, 10]})
    >>> depression_response_remission(d).to_frame()[["remission", "response"]].values.tolist()
    [[False, True]]
    """
    needed = [c for c in (id_column, date_column, measure, by) if c is not None]
    absent = [c for c in needed if c not in data.columns]
    if absent:
        raise MissingColumnError(
            f"depression_response_remission needs the column(s) {', '.join(absent)}; score "
            "the PHQ-9 first (iop.phq9(followups).to_frame()) and keep the assessment date."
        )
    if months < 1 or window_days < 0:
        raise ParameterError("months must be at least 1 and window_days not negative.")
    d = data.loc[data[measure].notna() & data[date_column].notna(), needed].copy()
    d[date_column] = pd.to_datetime(d[date_column])
    d[measure] = d[measure].astype(float)
    d = d.sort_values([id_column, date_column], kind="stable")
    index = d.loc[d[measure] > index_threshold].groupby(id_column, sort=False).head(1)
    index = index.rename(columns={date_column: "index_date", measure: "index_score"})
    target = index["index_date"] + pd.DateOffset(months=months)
    index = index.assign(
        _low=target - pd.Timedelta(days=window_days), _high=target + pd.Timedelta(days=window_days)
    )
    later = d.merge(index[[id_column, "_low", "_high"]], on=id_column)
    inside = later[(later[date_column] >= later["_low"]) & (later[date_column] <= later["_high"])]
    last = inside.groupby(id_column, sort=False).tail(1)[[id_column, date_column, measure]]
    last = last.rename(columns={date_column: "followup_date", measure: "followup_score"})
    out = index.drop(columns=["_low", "_high"]).merge(last, on=id_column, how="left")
    if by is not None:
        out = out.rename(columns={by: "group"})
    score = out["followup_score"]
    out["remission"] = (score < 5).fillna(False).astype(bool)
    out["response"] = (score <= 0.5 * out["index_score"]).fillna(False).astype(bool)
    columns = [id_column, *(["group"] if by is not None else []), "index_date", "index_score"]
    out = out[[*columns, "followup_date", "followup_score", "remission", "response"]]
    n_without = int(score.isna().sum())
    remarks = (
        (f"{n_without} client(s) had no PHQ-9 score in the follow-up window: counted as not in "
         "remission and not responding (the measures' rule).",)
        if n_without
        else ()
    )  # fmt: skip
    return DepressionOutcomes(
        out.reset_index(drop=True), months, window_days, float(index_threshold), remarks
    )
