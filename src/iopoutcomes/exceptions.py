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
    """Root of every error raised on purpose by iopoutcomes."""


class FileReadError(IopOutcomesError, OSError):
    """A file is missing, unreadable, of an unknown format or in the wrong encoding."""


class SchemaError(IopOutcomesError, ValueError):
    """A whole table does not fit the canonical format (for example a column is missing)."""


class MissingColumnError(SchemaError):
    """A required column is missing; the message lists the columns found and the mapping fix."""


class EmptyFileError(SchemaError):
    """A file or table has no data rows."""


class RowValidationError(SchemaError):
    """Raised in ``strict=True`` mode on the first rejected row (row number and reason only)."""


class ParameterError(IopOutcomesError, ValueError):
    """An argument value or combination of arguments is not valid."""


class ConfigError(ParameterError):
    """A report configuration file is invalid (unknown key, wrong type, impossible value)."""


class InsufficientDataError(IopOutcomesError, ValueError):
    """A computation lacks the data it needs (an empty group, a missing reference group...)."""


class SuppressionAuditError(IopOutcomesError, RuntimeError):
    """The small-cell audit found a suppressed cell that could be recovered from the margins."""


class IopOutcomesWarning(UserWarning):
    """Root of the warnings iopoutcomes emits."""


class SmallSampleWarning(IopOutcomesWarning):
    """A group is small enough that an approximation or an estimate is doubtful."""


class DefinitionWarning(IopOutcomesWarning):
    """An outcome definition is unusual (for example overlapping follow-up windows)."""
