"""Exception and warning hierarchy of iopoutcomes.

Every error the library raises on purpose derives from :class:`IopOutcomesError` and also from
the builtin a user would naturally catch (``ValueError`` or ``OSError``), so both
``except iopoutcomes.IopOutcomesError`` and ``except ValueError`` work.

Messages follow one shape: what is wrong, where (file, table, column, row number), what was
received (types, counts, column names: never values or identifiers, because this is 42 CFR
Part 2 data), and how to fix it.

Examples
--------
>>> import iopoutcomes as iop
>>> issubclass(iop.MissingColumnError, ValueError)
True
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DefinitionWarning",
    "EmptyFileError",
    "FileReadError",
    "InsufficientDataError",
    "IopOutcomesError",
    "IopOutcomesWarning",
    "MissingColumnError",
    "ParameterError",
    "RowValidationError",
    "SchemaError",
    "SmallSampleWarning",
    "SuppressionAuditError",
]


class IopOutcomesError(Exception):
    """Root of every error raised on purpose by iopoutcomes.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> try:
    ...     iop.sample_size(0.6, 0.5, confidence_level=95)
    ... except ValueError as err:
    ...     print([cls.__name__ for cls in type(err).__mro__[:3]])
    ['ParameterError', 'IopOutcomesError', 'ValueError']
    """


class FileReadError(IopOutcomesError, OSError):
    """A file is missing, unreadable, of an unknown format or in the wrong encoding.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> try:
    ...     iop.read_records("no/such/episodes.csv")
    ... except OSError as err:
    ...     print(type(err).__name__)
    FileReadError
    """


class SchemaError(IopOutcomesError, ValueError):
    """A whole table does not fit the canonical format (for example a column is missing).

    Examples
    --------
    >>> import pandas as pd
    >>> import iopoutcomes as iop
    >>> try:
    ...     iop.compare_rates(pd.DataFrame({"cohort": ["IOP"], "score": [1]}))
    ... except ValueError as err:
    ...     print([cls.__name__ for cls in type(err).__mro__[:4]])
    ['MissingColumnError', 'SchemaError', 'IopOutcomesError', 'ValueError']
    """


class MissingColumnError(SchemaError):
    """A required column is missing; the message lists the columns found and the mapping fix.

    Examples
    --------
    >>> import pandas as pd
    >>> import iopoutcomes as iop
    >>> try:
    ...     iop.los_summary(pd.DataFrame({"cohort": ["IOP"]}))
    ... except ValueError as err:
    ...     print(type(err).__name__)
    MissingColumnError
    """


class EmptyFileError(SchemaError):
    """A file or table has no data rows.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import iopoutcomes as iop
    >>> empty = pathlib.Path(tempfile.mkdtemp()) / "episodes.csv"
    >>> _ = empty.write_text("")
    >>> try:
    ...     iop.read_records(empty)
    ... except ValueError as err:
    ...     print(type(err).__name__)
    EmptyFileError
    """


class RowValidationError(SchemaError):
    """Raised in ``strict=True`` mode on the first rejected row (row number and reason only).

    Examples
    --------
    >>> import pandas as pd
    >>> import iopoutcomes as iop
    >>> episodes = pd.DataFrame({
    ...     "episode_id": ["e1", "e2"], "patient_id": ["p1", "p2"], "cohort": ["IOP", "IOP"],
    ...     "admission_date": ["2023-01-05", "2023-02-01"],
    ...     "discharge_date": ["2023-02-01", "2023-01-01"],  # e2: discharge before admission
    ... })
    >>> try:
    ...     iop.read_records(episodes, strict=True)
    ... except ValueError as err:
    ...     print(type(err).__name__)
    RowValidationError
    >>> len(iop.read_records(episodes).rejected)  # strict=False collects the rejections
    1
    """


class ParameterError(IopOutcomesError, ValueError):
    """An argument value or combination of arguments is not valid.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> try:
    ...     iop.Window("admission", 30, 10)
    ... except ValueError as err:
    ...     print(type(err).__name__)
    ParameterError
    """


class ConfigError(ParameterError):
    """A report configuration file is invalid (unknown key, wrong type, impossible value).

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> issubclass(iop.ConfigError, iop.ParameterError), issubclass(iop.ConfigError, ValueError)
    (True, True)
    """


class InsufficientDataError(IopOutcomesError, ValueError):
    """A computation lacks the data it needs (an empty group, a missing reference group...).

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> try:
    ...     iop.logrank_test([5, 9], [1, 1], ["IOP", "IOP"])  # a single group
    ... except ValueError as err:
    ...     print(type(err).__name__)
    InsufficientDataError
    """


class SuppressionAuditError(IopOutcomesError, RuntimeError):
    """The small-cell audit found a suppressed cell that could be recovered from the margins.

    It derives from ``RuntimeError``: it reports a failure of the suppression itself, not a
    bad input, and must stop a report from being written.

    Examples
    --------
    >>> import iopoutcomes as iop
    >>> issubclass(iop.SuppressionAuditError, RuntimeError)
    True
    """


class IopOutcomesWarning(UserWarning):
    """Root of the warnings iopoutcomes emits.

    Examples
    --------
    >>> import warnings
    >>> import iopoutcomes as iop
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     d = iop.OutcomeDefinition(windows={"3mo": iop.Window("admission", 76, 160)})
    >>> [cls.__name__ for cls in caught[0].category.__mro__[:3]]
    ['DefinitionWarning', 'IopOutcomesWarning', 'UserWarning']
    """


class SmallSampleWarning(IopOutcomesWarning):
    """A group is small enough that an approximation or an estimate is doubtful.

    Examples
    --------
    >>> import warnings
    >>> import iopoutcomes as iop
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", iop.SmallSampleWarning)  # turn it into an error
    ...     try:
    ...         warnings.warn("only 4 episodes in group 'OP'", iop.SmallSampleWarning)
    ...     except UserWarning as w:
    ...         print(type(w).__name__)
    SmallSampleWarning
    """


class DefinitionWarning(IopOutcomesWarning):
    """An outcome definition is unusual (for example overlapping follow-up windows).

    Examples
    --------
    >>> import warnings
    >>> import iopoutcomes as iop
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     d = iop.OutcomeDefinition(windows={"3mo": iop.Window("admission", 76, 160)})
    >>> [w.category.__name__ for w in caught]  # 3mo now overlaps the 6mo window (152-243)
    ['DefinitionWarning']
    >>> d.windows["3mo"].end_day  # the definition is still made as asked
    160
    """
