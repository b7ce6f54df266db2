"""Weekly urine-screen words and named pattern definitions (trial-style outcomes).

A *word* describes one person's urine screens week by week, one character per study week
(week 1 is the first character):

``+``
    positive week (use).
``-``
    negative week (no use).
``o``
    no sample that week (missed visit).
``*``
    mixed week (both a positive and a negative sample).
``_``
    a baseline (pre-study) week without a test. Only allowed as a *leading* prefix: leading
    ``_`` characters are removed before any definition is evaluated, so week 1 is the first
    character that is not ``_``. A ``_`` after the first study week is an error. Words built by
    :func:`weekly_patterns` never contain ``_`` (they hold the analysis part, weeks >= 1, only).

:func:`pattern_outcomes` evaluates named definitions from the literature on any Series of words,
vectorised: the words are padded into one 2-D ``numpy.uint8`` array (one row per word, one column
per week) and every definition is a handful of cumulative sums, run-length and window operations
on that array. :func:`pattern_definitions` lists the registry (citation, window, recoding,
output columns) and :func:`register_pattern_definition` adds a user definition by name.

:func:`weekly_patterns` builds the words from :class:`~iopoutcomes.records.Records`: for
CTN-0094 records (``read_ctn0094``) by the CTN-0094 team's harmonised rules, otherwise from the
urine-screen rows of ``use_days``.

Examples
--------
>>> import pandas as pd
>>> words = pd.Series(["--++++o", "---o-", "o+"], index=["a", "b", "c"])
>>> pattern_outcomes(words, ["lee2018_relapse", "kosten1993_abstinence"])
   lee2018_relapse_time  lee2018_relapse_event  kosten1993_abstinence
a                     3                      1                  False
b                     2                      0                   True
c                     0                      0                  False
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._deprecate import renamed_parameters, warn_renamed
from .exceptions import ParameterError, SchemaError

__all__ = [
    "SYMBOLS",
    "PatternDefinition",
    "WeekCounts",
    "WordArray",
    "encode_words",
    "pattern_definitions",
    "pattern_outcomes",
    "register_pattern_definition",
    "weekly_patterns",
]

SYMBOLS: tuple[str, ...] = ("+", "-", "o", "*", "_")
"""Allowed word symbols: positive, negative, no sample, mixed, baseline week without a test."""

# integer codes in the padded array (0 = padding beyond the end of a word)
PAD, POS, NEG, MISSING, MIXED, BASELINE = 0, 1, 2, 3, 4, 5
_LOOKUP = np.full(256, 255, dtype=np.uint8)
for _code, _symbol in ((POS, "+"), (NEG, "-"), (MISSING, "o"), (MIXED, "*"), (BASELINE, "_")):
    _LOOKUP[ord(_symbol)] = _code
_CHARS = np.frombuffer(b"\x00+-o*_", dtype=np.uint8)  # code -> ASCII byte


# --- the encoded words --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class WordArray:
    """Words padded into a 2-D code array: what every pattern definition receives.

    Attributes
    ----------
    codes : numpy.ndarray
        ``uint8`` array, shape ``(n_words, max_length)``; ``1`` ``+``, ``2`` ``-``, ``3`` ``o``,
        ``4`` ``*``, ``0`` padding after the end of the word. Leading baseline ``_`` weeks have
        already been removed, so column ``j`` is study week ``j + 1``.
    lengths : numpy.ndarray
        ``int64`` word lengths in weeks (after removing the baseline prefix).

    Examples
    --------
    >>> w = encode_words(pd.Series(["+-o*", "-"]))
    >>> w.codes.tolist(), w.lengths.tolist()
    ([[1, 2, 3, 4], [2, 0, 0, 0]], [4, 1])
    >>> w.use(missing_is_use=True, mixed_is_use=True).astype(int).tolist()
    [[1, 0, 1, 1], [0, 0, 0, 0]]
    """

    codes: np.ndarray
    lengths: np.ndarray

    @property
    def n_weeks(self) -> int:
        """Width of the padded array (the longest word)."""
        return int(self.codes.shape[1])

    def use(self, *, missing_is_use: bool = True, mixed_is_use: bool = True) -> np.ndarray:
        """Boolean use-week array: ``+`` always; ``o`` and ``*`` as asked; padding never."""
        used = self.codes == POS
        if missing_is_use:
            used |= self.codes == MISSING
        if mixed_is_use:
            used |= self.codes == MIXED
        return used

    def negative(self) -> np.ndarray:
        """Boolean array of ``-`` weeks (unrecoded: ``o`` and ``*`` are not negative)."""
        return self.codes == NEG

    def window(self, start: int, end: int | None = None) -> np.ndarray:
        """Boolean array of the weeks ``start..end`` (1-based, inclusive) clipped to each word."""
        week = np.arange(1, self.n_weeks + 1)[None, :]
        inside = (week >= start) & (week <= self.lengths[:, None])
        if end is not None:
            inside &= week <= end
        return inside

    def drop(self, code: int) -> WordArray:
        """Delete every week with ``code`` and close the gaps (stable, vectorised)."""
        keep = (self.codes != code) & (self.codes != PAD)
        target = np.cumsum(keep, axis=1, dtype=np.int32) - 1  # new column of each kept week
        rows, cols = np.nonzero(keep)
        codes = np.zeros_like(self.codes)
        codes[rows, target[rows, cols]] = self.codes[rows, cols]
        return WordArray(codes, keep.sum(axis=1).astype(np.int64))

    @staticmethod
    def first_run(flags: np.ndarray, k: int, start: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """First week ``s >= start`` beginning ``k`` consecutive ``True`` weeks.

        Returns ``(found, week)``: ``found`` boolean per row; ``week`` the 1-based start week
        where found (``0`` elsewhere).
        """
        n_rows, width = flags.shape
        if width < k:
            return np.zeros(n_rows, dtype=bool), np.zeros(n_rows, dtype=np.int64)
        csum = np.zeros((n_rows, width + 1), dtype=np.int32)
        np.cumsum(flags, axis=1, dtype=np.int32, out=csum[:, 1:])
        runs = (csum[:, k:] - csum[:, :-k]) == k  # runs[:, j]: weeks j+1 .. j+k all True
        runs[:, : max(start - 1, 0)] = False
        found = runs.any(axis=1)
        week = np.where(found, runs.argmax(axis=1) + 1, 0).astype(np.int64)
        return found, week

    @staticmethod
    def longest_run(flags: np.ndarray) -> np.ndarray:
        """Length of the longest run of consecutive ``True`` weeks per row."""
        n_rows, width = flags.shape
        if width == 0:
            return np.zeros(n_rows, dtype=np.int64)
        position = np.arange(width)[None, :]
        last_false = np.maximum.accumulate(np.where(flags, -1, position), axis=1)
        return (position - last_false).max(axis=1).clip(min=0).astype(np.int64)


def encode_words(words: pd.Series) -> WordArray:
    """Pad a Series of words into a :class:`WordArray` (vectorised, no loop over words).

    Missing words (NA) encode as empty words; :func:`pattern_outcomes` reports NA for them.

    Parameters
    ----------
    words : pandas.Series
        Strings over the symbols ``+ - o * _`` (``_`` only as a leading baseline prefix).

    Returns
    -------
    WordArray

    Raises
    ------
    ParameterError
        A word holds another symbol, or ``_`` after the first study week.

    Examples
    --------
    >>> encode_words(pd.Series(["__+-", "o"])).lengths.tolist()
    [2, 1]
    """
    if not isinstance(words, pd.Series):
        raise ParameterError(
            f"words must be a pandas Series of strings; received {type(words).__name__}. "
            "Wrap a list with pd.Series(...)."
        )
    present = words.dropna()
    if not isinstance(words.dtype, pd.StringDtype) and len(present):
        kind = pd.api.types.infer_dtype(present, skipna=True)
        if kind != "string":
            raise ParameterError(
                f"words must be strings; the {len(present)} non-missing values are of inferred "
                f"type {kind!r}. Allowed symbols: {' '.join(SYMBOLS)}."
            )
    text = words.astype("str").where(words.notna(), "")
    joined = "".join(text.tolist())
    if not joined.isascii():
        raise ParameterError(
            "words contain symbols outside the allowed set "
            f"{' '.join(SYMBOLS)} (non-ASCII characters found)."
        )
    lengths = text.str.len().to_numpy(dtype=np.int64)
    n, width = len(lengths), int(lengths.max()) if len(lengths) else 0
    flat = _LOOKUP[np.frombuffer(joined.encode("ascii"), dtype=np.uint8)]
    bad = flat == 255
    if bad.any():
        bad_rows = np.unique(np.searchsorted(np.cumsum(lengths), np.flatnonzero(bad), side="right"))
        raise ParameterError(
            f"{len(bad_rows)} of {n} words contain symbols outside the allowed set; allowed: "
            f"{' '.join(SYMBOLS)} (+ positive, - negative, o no sample, * mixed, _ baseline)."
        )
    codes = np.zeros((n, width), dtype=np.uint8)
    codes[np.arange(width)[None, :] < lengths[:, None]] = flat
    # strip the leading baseline prefix; any later "_" is an error
    is_base = codes == BASELINE
    lead = np.cumprod(is_base, axis=1, dtype=np.int64).sum(axis=1) if width else lengths * 0
    if int(is_base.sum()) != int(lead.sum()):
        raise ParameterError(
            "the baseline symbol '_' may only form a leading prefix of a word (pre-study weeks); "
            f"{int((is_base.sum(axis=1) != lead).sum())} words hold '_' after a study week. "
            f"Allowed symbols: {' '.join(SYMBOLS)}."
        )
    if lead.any():
        cols = np.arange(width)[None, :] + lead[:, None]
        codes = np.where(cols < width, np.take_along_axis(codes, cols.clip(max=width - 1), 1), 0)
        lengths = lengths - lead
        codes = codes[:, : int(lengths.max())].astype(np.uint8)
    return WordArray(codes, lengths)


def decode_words(codes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Turn a padded code array back into an object array of words (inverse of encoding)."""
    n, width = codes.shape
    if width == 0:
        return np.full(n, "", dtype=object)
    chars = _CHARS[codes]
    chars[np.arange(width)[None, :] >= lengths[:, None]] = 0
    # fixed-width bytes view: numpy strips the trailing NUL padding of each row
    fixed = np.ascontiguousarray(chars).view(f"S{width}").reshape(n)
    return fixed.astype(f"U{width}").astype(object)


# --- the registry -------------------------------------------------------------------------------

PatternFunction = Callable[[WordArray], Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class PatternDefinition:
    """A named weekly-pattern outcome definition.

    Attributes
    ----------
    name : str
        Registry key (``snake_case``, author + year + outcome).
    citation : str
        Full citation of the paper (or package) the definition comes from (``reference``
        until 0.1: that word names a comparison's reference group everywhere else).
    description : str
        The operational rule in one or two sentences.
    function : callable
        ``function(WordArray) -> Mapping[column, numpy array]`` (one value per word).
    columns : tuple of str
        Output columns, in order.
    window : str
        The weeks read (1-based, clipped to each word).
    recoding : str
        How ``o`` (no sample) and ``*`` (mixed) weeks are treated.

    Examples
    --------
    :func:`register_pattern_definition` builds one and adds it to the registry; built
    directly, it is not registered, and its function reads encoded words:

    >>> import pandas as pd
    >>> import iopoutcomes as iop
    >>> from iopoutcomes.patterns import encode_words
    >>> d = iop.PatternDefinition(
    ...     name="any_use_week", citation="", description="at least one week with use",
    ...     function=lambda w: {"any_use_week": w.use().any(axis=1)}, columns=("any_use_week",))
    >>> d.window
    'whole word'
    >>> d.function(encode_words(pd.Series(["--+-", "----"])))["any_use_week"].tolist()
    [True, False]
    """

    name: str
    citation: str
    description: str
    function: PatternFunction
    columns: tuple[str, ...]
    window: str = "whole word"
    recoding: str = ""

    @property
    def reference(self) -> str:
        """Deprecated name of :attr:`citation`."""
        warn_renamed("PatternDefinition", "reference", "citation")
        return self.citation


_REGISTRY: dict[str, PatternDefinition] = {}


@renamed_parameters(reference="citation")
def register_pattern_definition(
    name: str,
    function: PatternFunction,
    *,
    columns: Sequence[str] | None = None,
    citation: str = "",
    description: str = "",
    window: str = "whole word",
    recoding: str = "",
    overwrite: bool = False,
) -> PatternDefinition:
    """Add a named definition to the registry used by :func:`pattern_outcomes`.

    Parameters
    ----------
    name : str
        Registry key.
    function : callable
        Receives a :class:`WordArray` and returns a mapping ``column -> array`` with one value
        per word (vectorised; see the ``WordArray`` helpers ``use``, ``negative``, ``window``,
        ``drop``, ``first_run`` and ``longest_run``).
    columns : sequence of str, optional
        Output column names (default: ``(name,)``).
    citation, description, window, recoding : str
        Documentation shown by :func:`pattern_definitions` (``citation`` was ``reference``,
        which still works for one release with a warning).
    overwrite : bool, default False
        Replace an existing definition of the same name.

    Returns
    -------
    PatternDefinition

    Raises
    ------
    ParameterError
        The name is taken (and ``overwrite`` is false), empty, or ``function`` is not callable.

    Examples
    --------
    >>> def two_clean_weeks(w):
    ...     found, _ = WordArray.first_run(w.negative(), 2)
    ...     return {"two_clean_weeks": found}
    >>> d = register_pattern_definition(
    ...     "two_clean_weeks", two_clean_weeks, description="2 consecutive '-' weeks",
    ...     recoding="unrecoded", overwrite=True)
    >>> pattern_outcomes(pd.Series(["-o--"]), ["two_clean_weeks"])["two_clean_weeks"].tolist()
    [True]
    """
    if not isinstance(name, str) or not name:
        raise ParameterError("a pattern definition needs a non-empty text name.")
    if not callable(function):
        raise ParameterError(
            f"function must be callable (WordArray -> mapping); received {type(function).__name__}."
        )
    if name in _REGISTRY and not overwrite:
        raise ParameterError(
            f"a pattern definition named {name!r} already exists; pass overwrite=True to replace "
            "it or choose another name."
        )
    cols = tuple(columns) if columns is not None else (name,)
    if not cols:
        raise ParameterError("columns must name at least one output column.")
    definition = PatternDefinition(
        name=name,
        citation=citation,
        description=description,
        function=function,
        columns=cols,
        window=window,
        recoding=recoding,
    )
    _REGISTRY[name] = definition
    return definition


def pattern_definitions() -> pd.DataFrame:
    """List the registered pattern definitions (one row each).

    Returns
    -------
    pandas.DataFrame
        Columns ``name, columns, window, recoding, description, citation``.

    Examples
    --------
    >>> table = pattern_definitions()
    >>> "lee2018_relapse" in set(table["name"])
    True
    >>> table.set_index("name").loc["krupitsky2011_abstinence", "window"]
    'weeks 5-15'
    """
    rows = [
        {
            "name": d.name,
            "columns": ", ".join(d.columns),
            "window": d.window,
            "recoding": d.recoding,
            "description": d.description,
            "citation": d.citation,
        }
        for d in _REGISTRY.values()
    ]
    return pd.DataFrame(
        rows, columns=["name", "columns", "window", "recoding", "description", "citation"]
    )


# --- built-in definitions -----------------------------------------------------------------------


def _relapse(w: WordArray, start: int) -> dict[str, np.ndarray]:
    used = w.use(missing_is_use=True, mixed_is_use=True)
    found, week = WordArray.first_run(used, 4, start=start)
    censored = np.maximum(w.lengths - 3, 0)
    return {"time": np.where(found, week, censored), "event": found.astype(np.int64)}


def _lee2018(w: WordArray) -> dict[str, np.ndarray]:
    r = _relapse(w, start=3)
    return {"lee2018_relapse_time": r["time"], "lee2018_relapse_event": r["event"]}


def _ctn0094(w: WordArray) -> dict[str, np.ndarray]:
    r = _relapse(w, start=1)
    return {"ctn0094_relapse_time": r["time"], "ctn0094_relapse_event": r["event"]}


def _kosten1993(w: WordArray) -> dict[str, np.ndarray]:
    return {"kosten1993_abstinence": WordArray.first_run(w.negative(), 3)[0]}


def _ling1998(w: WordArray) -> dict[str, np.ndarray]:
    return {"ling1998_abstinence": WordArray.first_run(w.negative(), 4)[0]}


def _fiellin2006(w: WordArray) -> dict[str, np.ndarray]:
    return {"fiellin2006_negative_weeks": w.negative().sum(axis=1).astype(np.int64)}


def _schottenfeld2008(w: WordArray) -> dict[str, np.ndarray]:
    return {"schottenfeld2008_longest_abstinence": WordArray.longest_run(w.negative())}


def _schottenfeld2005(w: WordArray) -> dict[str, np.ndarray]:
    kept = w.drop(MISSING)
    return {"schottenfeld2005_longest_abstinence": WordArray.longest_run(kept.negative())}


def _krupitsky2011(w: WordArray) -> dict[str, np.ndarray]:
    window = w.window(5, 15)
    used = w.use(missing_is_use=True, mixed_is_use=True)
    return {"krupitsky2011_abstinence": window.any(axis=1) & ~(used & window).any(axis=1)}


def _mokri2016(w: WordArray) -> dict[str, np.ndarray]:
    found, week = WordArray.first_run(w.use(missing_is_use=True, mixed_is_use=True), 1)
    return {
        "mokri2016_first_use_time": np.where(found, week, w.lengths),
        "mokri2016_first_use_event": found.astype(np.int64),
    }


_USE = "'o' (no sample) and '*' (mixed) count as use ('+')"
_BUILTINS: tuple[tuple[str, PatternFunction, tuple[str, ...], str, str, str, str], ...] = (
    (
        "lee2018_relapse",
        _lee2018,
        ("lee2018_relapse_time", "lee2018_relapse_event"),
        "weeks 3-n (weeks 1-2 are an induction grace period and ignored)",
        _USE,
        "Relapse = 4 consecutive use weeks starting at week s >= 3: time = s (1-based week), "
        "event = 1. Otherwise censored: event = 0, time = n - 3 (the last week a 4-week run could "
        "start; 0 for words shorter than 3 weeks).",
        "Lee JD, Nunes EV Jr, Novo P, et al. Comparative effectiveness of extended-release "
        "naltrexone versus buprenorphine-naloxone for opioid relapse prevention (X:BOT): a "
        "multicentre, open-label, randomised controlled trial. Lancet. 2018;391(10118):309-318.",
    ),
    (
        "ctn0094_relapse",
        _ctn0094,
        ("ctn0094_relapse_time", "ctn0094_relapse_event"),
        "weeks 1-n (no grace period)",
        _USE,
        "As lee2018_relapse without the two-week grace: time = the first week s >= 1 starting 4 "
        "consecutive use weeks, event = 1; otherwise censored at n - 3 (0 if n < 3), event = 0.",
        "CTN-0094 harmonised relapse definition: Odom GJ, Brandt L, Castro C, Luo SX, Feaster "
        "DJ, Balise RR. CTNote: CTN Outcomes, Treatments, and Endpoints (R package), NIDA "
        "Clinical Trials Network CTN-0094 project, 2023.",
    ),
    (
        "kosten1993_abstinence",
        _kosten1993,
        ("kosten1993_abstinence",),
        "whole word",
        "unrecoded: 'o' and '*' are not '-' and break a run",
        "True if the word contains 3 consecutive '-' weeks.",
        "Kosten TR, Schottenfeld R, Ziedonis D, Falcioni J. Buprenorphine versus methadone "
        "maintenance for opioid dependence. J Nerv Ment Dis. 1993;181(6):358-364.",
    ),
    (
        "ling1998_abstinence",
        _ling1998,
        ("ling1998_abstinence",),
        "whole word",
        "unrecoded: 'o' and '*' are not '-' and break a run",
        "True if the word contains 4 consecutive '-' weeks.",
        "Ling W, Charuvastra C, Collins JF, et al. Buprenorphine maintenance treatment of "
        "opiate dependence: a multicenter, randomized clinical trial. Addiction. "
        "1998;93(4):475-486.",
    ),
    (
        "fiellin2006_negative_weeks",
        _fiellin2006,
        ("fiellin2006_negative_weeks",),
        "whole word",
        _USE,
        "Number of '-' weeks.",
        "Fiellin DA, Pantalon MV, Chawarski MC, et al. Counseling plus buprenorphine-naloxone "
        "maintenance therapy for opioid dependence. N Engl J Med. 2006;355(4):365-374.",
    ),
    (
        "schottenfeld2008_longest_abstinence",
        _schottenfeld2008,
        ("schottenfeld2008_longest_abstinence",),
        "whole word",
        _USE,
        "Longest run of consecutive '-' weeks (weeks).",
        "Schottenfeld RS, Chawarski MC, Mazlan M. Maintenance treatment with buprenorphine and "
        "naltrexone for heroin dependence in Malaysia: a randomised, double-blind, "
        "placebo-controlled trial. Lancet. 2008;371(9631):2192-2200.",
    ),
    (
        "schottenfeld2005_longest_abstinence",
        _schottenfeld2005,
        ("schottenfeld2005_longest_abstinence",),
        "whole word after deleting 'o' weeks",
        "'o' weeks are deleted (neither use nor abstinence; the weeks either side become "
        "adjacent); '*' counts as use",
        "Longest run of consecutive '-' weeks once 'o' weeks are removed from the word.",
        "Schottenfeld RS, Chawarski MC, Pakes JR, Pantalon MV, Carroll KM, Kosten TR. Methadone "
        "versus buprenorphine with contingency management or performance feedback for cocaine "
        "and opioid dependence. Am J Psychiatry. 2005;162(2):340-349.",
    ),
    (
        "krupitsky2011_abstinence",
        _krupitsky2011,
        ("krupitsky2011_abstinence",),
        "weeks 5-15",
        _USE,
        "True if every week 5-15 present in the word (window clipped to the word) is '-'; False "
        "when the word is shorter than 5 weeks (empty window: no evidence of abstinence).",
        "Krupitsky E, Nunes EV, Ling W, Illeperuma A, Gastfriend DR, Silverman BL. Injectable "
        "extended-release naltrexone for opioid dependence: a double-blind, placebo-controlled, "
        "multicentre randomised trial. Lancet. 2011;377(9776):1506-1513.",
    ),
    (
        "mokri2016_first_use",
        _mokri2016,
        ("mokri2016_first_use_time", "mokri2016_first_use_event"),
        "weeks 1-n",
        _USE,
        "Time (weeks) to the first use week: time = its 1-based week, event = 1; otherwise "
        "censored at n (the word length), event = 0.",
        "Mokri A, Chawarski MC, Taherinakhost H, Schottenfeld RS. Medical treatments for opioid "
        "use disorder in Iran: a randomized, double-blind placebo-controlled comparison of "
        "buprenorphine/naloxone and naltrexone maintenance treatment. Addiction. "
        "2016;111(5):874-882.",
    ),
)

for _name, _fn, _cols, _window, _recoding, _description, _citation in _BUILTINS:
    register_pattern_definition(
        _name,
        _fn,
        columns=_cols,
        citation=_citation,
        description=_description,
        window=_window,
        recoding=_recoding,
    )


# --- evaluation ---------------------------------------------------------------------------------


def pattern_outcomes(words: pd.Series, definitions: Sequence[str] | None = None) -> pd.DataFrame:
    """Evaluate named pattern definitions on a Series of weekly words (vectorised).

    Parameters
    ----------
    words : pandas.Series
        One word per person/episode (``+ - o * _``; see the module docstring), for example the
        output of :func:`weekly_patterns` or words brought from elsewhere. The index is kept.
    definitions : sequence of str, optional
        Registry names (:func:`pattern_definitions`); default: every registered definition.

    Returns
    -------
    pandas.DataFrame
        One row per word (same index, same order), the definitions' columns in the order asked.
        Times and counts are ``Int64`` (weeks, 1-based), events ``Int64`` 0/1, abstinence flags
        ``boolean``; a missing word gives NA in every column.

    Raises
    ------
    ParameterError
        An unknown definition name, or a word with a symbol outside ``+ - o * _``.

    Notes
    -----
    Windows are clipped to each word; time is in weeks. Each definition states how ``o`` and
    ``*`` are recoded (``pattern_definitions()``): most follow the trials' convention that a
    missing or mixed screen counts as use; the consecutive-negative abstinence definitions
    (Kosten 1993, Ling 1998) read the word unrecoded; Schottenfeld 2005 deletes ``o`` weeks.

    Examples
    --------
    >>> w = pd.Series(["-o---+", "o*+-----", "+--o"])
    >>> out = pattern_outcomes(w, ["fiellin2006_negative_weeks",
    ...                            "schottenfeld2005_longest_abstinence", "mokri2016_first_use"])
    >>> print(out.to_string())
       fiellin2006_negative_weeks  schottenfeld2005_longest_abstinence  mokri2016_first_use_time  mokri2016_first_use_event
    0                           4                                    4                         2                          1
    1                           5                                    5                         1                          1
    2                           2                                    2                         1                          1
    """
    names = list(_REGISTRY) if definitions is None else _as_names(definitions)
    unknown = [n for n in names if n not in _REGISTRY]
    if unknown:
        raise ParameterError(
            f"unknown pattern definition(s) {unknown}; registered: {sorted(_REGISTRY)}. "
            "Add your own with register_pattern_definition()."
        )
    encoded = encode_words(words)
    is_na = words.isna().to_numpy()
    out: dict[str, Any] = {}
    for name in names:  # loop over definitions (a handful), never over words
        definition = _REGISTRY[name]
        result = definition.function(encoded)
        missing_cols = [c for c in definition.columns if c not in result]
        if missing_cols:
            raise SchemaError(
                f"pattern definition {name!r} did not return column(s) {missing_cols}; it "
                f"returned {sorted(result)}."
            )
        for col in definition.columns:
            values = np.asarray(result[col])
            if values.shape != (len(words),):
                raise SchemaError(
                    f"pattern definition {name!r} returned {values.shape} values for column "
                    f"{col!r}; expected one per word ({len(words)})."
                )
            out[col] = _nullable(values, is_na)
    return pd.DataFrame(out, index=words.index)


def _as_names(definitions: Sequence[str] | str) -> list[str]:
    if isinstance(definitions, str):
        return [definitions]
    return list(definitions)


def _nullable(values: np.ndarray, is_na: np.ndarray) -> Any:
    if values.dtype == bool:
        return pd.arrays.BooleanArray(values, is_na.copy())
    if np.issubdtype(values.dtype, np.integer):
        return pd.arrays.IntegerArray(values.astype(np.int64), is_na.copy())
    return pd.Series(values).mask(is_na).array


# --- building words from Records ----------------------------------------------------------------


@dataclass(frozen=True)
class WeekCounts:
    """Per-episode day counts by analysis week: what a study-week backbone hands to
    :func:`weekly_patterns`.

    Attributes
    ----------
    episode_ids : pandas.Index
        Episode ids (text), in the order of ``records.episodes``.
    positive, negative : numpy.ndarray
        ``(n_episodes, n_weeks)`` counts of positive days and of present negative days per week.
    lengths : numpy.ndarray
        Word length (weeks) of each episode; columns at or after it are padding.

    Examples
    --------
    >>> import numpy as np
    >>> c = WeekCounts(pd.Index(["e1"]), np.array([[1, 0]]), np.array([[0, 2]]), np.array([2]))
    >>> weekly_patterns(None, backbone=lambda records, substances: c).tolist()
    ['+-']
    """

    episode_ids: pd.Index
    positive: np.ndarray
    negative: np.ndarray
    lengths: np.ndarray


WeekBackbone = Callable[[Any, "Sequence[str] | None"], WeekCounts]
"""A reader's study-week backbone: ``(records, substances) -> WeekCounts``."""


def weekly_patterns(
    records: Any,
    *,
    substances: Sequence[str] | None = None,
    source: str | None = "uds",
    weeks: int | None = None,
    backbone: WeekBackbone | None = None,
) -> pd.Series:
    """Build one weekly urine-screen word per episode.

    Parameters
    ----------
    records : Records
        From ``read_ctn0094`` or any canonical Records.
    substances : sequence of str, optional
        Substances whose positive screens make a ``+`` week. CTN-0094: default = the
        harmonised per-arm non-study opioids (see Notes); given = used for everyone instead.
        Generic Records: default = every substance (every row).
    source : str or None, default "uds"
        Generic Records only: the ``use_days.source`` rows to read. ``None`` (or a ``use_days``
        table without a ``source`` column) reads every row.
    weeks : int, optional
        Generic Records only: word length in weeks for every episode. Default: up to the week of
        the episode's last recorded ``use_days`` day (any source).
    backbone : callable, optional
        A study-week backbone ``(records, substances) -> WeekCounts`` that counts positive and
        negative days per analysis week by a source's own rules. Default: the one the reader
        declared in ``records.options["weekly_backbone"]`` (``read_ctn0094`` declares
        :func:`iopoutcomes.ctn0094.ctn0094_study_weeks`), else the generic weeks since
        admission below. ``source`` and ``weeks`` do not apply to a backbone.

    Returns
    -------
    pandas.Series
        Words (text) named ``"pattern"``, indexed by ``episode_id`` in the order of
        ``records.episodes``; one per episode.

    Notes
    -----
    **CTN-0094 backbone** (``read_ctn0094`` records; the harmonised rules of the CTN-0094 team's ``derived_weeklyOpioidPattern``):
    a day backbone per person (-30..168 in CTN-0027/0051; CTN-0030 -30..rand1 + 98, or
    -30..rand2 + 168 after a second randomisation; never-randomised CTN-0030 people -30..98);
    "present" visit days (status ``visit``/``final``, on the backbone); "missing" days from a
    7-day grid anchored at the first randomisation (day 0 when never randomised): grid day d
    with no present visit in (d, d + 7] makes d + 7 missing; opioid-positive days from ``uds``
    (buprenorphine arms: Opioid, Methadone; Methadone arm: Opioid, Buprenorphine;
    Inpatient NR-NTX and never randomised: all three). Week = floor((day - rand1 - 1) / 7) + 1
    (week 1 starts the day after randomisation) with ``+`` (positives only), ``-`` (present
    opioid-negative days only), ``*`` (both), ``o`` (neither). Never-randomised people: week =
    floor(day / 7) + 1, ``+`` if any positive else ``o``. The word is the analysis part only
    (weeks >= 1; CTN-0030 phase 1 then phase 2, one continuous week count anchored at the first
    randomisation), so it holds no ``_``.

    **Generic Records**: ``use_days.day`` is days since admission (day 0 = admission day);
    week = floor(day / 7) + 1, days before admission are ignored. A day is positive if any
    selected row that day has ``used == 1`` and negative if it has rows and all are 0. Week
    symbol: ``+`` positive days only, ``-`` negative days only, ``*`` both, ``o`` no row. Rows
    after the last week are ignored.

    Examples
    --------
    >>> from iopoutcomes.records import Records
    >>> episodes = pd.DataFrame({"episode_id": ["e1", "e2"], "patient_id": ["p1", "p2"]})
    >>> use = pd.DataFrame({"episode_id": ["e1", "e1", "e1", "e2"], "day": [1, 8, 9, 20],
    ...                     "used": [0, 1, 0, 1], "source": ["uds"] * 4})
    >>> r = Records(episodes, pd.DataFrame(), use, pd.DataFrame(), {})
    >>> weekly_patterns(r).tolist()
    ['-*', 'oo+']
    >>> weekly_patterns(r, weeks=4).tolist()
    ['-*oo', 'oo+o']
    """
    if backbone is None:
        backbone = (getattr(records, "options", None) or {}).get("weekly_backbone")
    if backbone is not None:
        counts = backbone(records, substances)
        lengths = np.asarray(counts.lengths, dtype=np.int64)
        codes = _week_codes(np.asarray(counts.positive), np.asarray(counts.negative), lengths)
        return pd.Series(
            decode_words(codes, lengths),
            index=pd.Index(counts.episode_ids, name="episode_id"),
            name="pattern",
            dtype="str",
        )
    return _generic_weekly_patterns(records, substances=substances, source=source, weeks=weeks)


def _generic_weekly_patterns(
    records: Any, *, substances: Sequence[str] | None, source: str | None, weeks: int | None
) -> pd.Series:
    if weeks is not None and (isinstance(weeks, bool) or not isinstance(weeks, int) or weeks < 0):
        raise ParameterError(f"weeks must be a non-negative integer; received {weeks!r}.")
    episodes = records.episodes
    if "episode_id" not in episodes.columns:
        raise SchemaError(
            f"records.episodes has no 'episode_id' column; columns found: {list(episodes.columns)}."
        )
    ids = episodes["episode_id"].astype("str")
    use = records.use_days
    for col in ("episode_id", "day", "used"):
        if len(use) and col not in use.columns:
            raise SchemaError(
                f"records.use_days needs column {col!r} to build weekly words; columns found: "
                f"{list(use.columns)}. Use read_records so day numbers are derived."
            )
    n = len(ids)
    if len(use):
        row = pd.Index(ids).get_indexer(use["episode_id"].astype("str"))
        day = pd.to_numeric(use["day"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        used = pd.to_numeric(use["used"], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        known = (row >= 0) & ~np.isnan(day)
        last_day = np.full(n, -1, dtype=np.int64)
        np.maximum.at(last_day, row[known], day[known].astype(np.int64))
        keep = known & ~np.isnan(used) & (day >= 0)
        if source is not None and "source" in use.columns:
            keep &= (use["source"].astype("str") == source).to_numpy(dtype=bool, na_value=False)
        if substances is not None and "substance" in use.columns:
            chosen = use["substance"].isin(list(substances)).to_numpy(dtype=bool)
            keep &= chosen
        row, day_i, used = row[keep], day[keep].astype(np.int64), used[keep] == 1
    else:
        last_day = np.full(n, -1, dtype=np.int64)
        row = np.zeros(0, dtype=np.int64)
        day_i = np.zeros(0, dtype=np.int64)
        used = np.zeros(0, dtype=bool)
    if weeks is None:
        lengths = np.where(last_day >= 0, last_day // 7 + 1, 0).astype(np.int64)
    else:
        lengths = np.full(n, weeks, dtype=np.int64)
    width = int(lengths.max()) if n else 0
    week = day_i // 7
    inside = week < lengths[row] if len(row) else np.zeros(0, dtype=bool)
    row, week, day_i, used = row[inside], week[inside], day_i[inside], used[inside]
    # a day is positive if any row is used, negative if it has rows and none is used
    day_key = row * (7 * max(width, 1)) + day_i
    order = np.argsort(day_key, kind="stable")
    keys, first = np.unique(day_key[order], return_index=True)
    day_pos = np.maximum.reduceat(used[order].astype(np.int8), first) if len(first) else first
    day_row = keys // (7 * max(width, 1))
    day_week = (keys % (7 * max(width, 1))) // 7
    pos = np.zeros((n, width), dtype=np.int64)
    neg = np.zeros((n, width), dtype=np.int64)
    np.add.at(pos, (day_row, day_week), day_pos == 1)
    np.add.at(neg, (day_row, day_week), day_pos == 0)
    codes = _week_codes(pos, neg, lengths)
    return pd.Series(
        decode_words(codes, lengths),
        index=pd.Index(ids, name="episode_id"),
        name="pattern",
        dtype="str",
    )


def _week_codes(pos: np.ndarray, neg: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Week symbols from positive/negative day counts (``o`` where neither; padding after)."""
    codes = np.full(pos.shape, MISSING, dtype=np.uint8)
    codes[(pos > 0) & (neg == 0)] = POS
    codes[(pos == 0) & (neg > 0)] = NEG
    codes[(pos > 0) & (neg > 0)] = MIXED
    codes[np.arange(pos.shape[1])[None, :] >= lengths[:, None]] = PAD
    return codes
