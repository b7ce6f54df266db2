"""Shared parameter checks: one ``confidence_level`` check and one default ``reference``.

``confidence_level`` is a fraction in (0, 1) (0.95 for a 95% interval) everywhere in the
library (``docs/conventions.md``). A percentage such as ``95`` is the commonest slip; before this
check existed ``kaplan_meier(..., confidence_level=95)`` returned all-NaN intervals instead of
failing. Public functions are decorated with :func:`validates_confidence_level`, which checks the
argument before the function body runs, so every function fails the same way, early, and the
conventions test can verify that each one does.

Examples
--------
>>> check_confidence_level(0.9)
0.9
>>> check_confidence_level(95)
Traceback (most recent call last):
...
iopoutcomes.exceptions.ParameterError: confidence_level must be a fraction strictly between 0 and 1 (0.95 for a 95% interval); received 95.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any, TypeVar

from .exceptions import ParameterError

__all__ = [
    "CONFIDENCE_LEVEL_MESSAGE",
    "DEFAULT_REFERENCE",
    "check_confidence_level",
    "default_reference",
    "validates_confidence_level",
]

F = TypeVar("F", bound=Callable[..., Any])

CONFIDENCE_LEVEL_MESSAGE = (
    "confidence_level must be a fraction strictly between 0 and 1 (0.95 for a 95% interval); "
    "received {value!r}."
)
"""The one wording (``{value!r}`` is the argument: a parameter, never a data value)."""


def check_confidence_level(value: Any) -> float:
    """Return ``value`` as a float if it is a fraction in (0, 1), else raise :class:`ParameterError`.

    >>> check_confidence_level(1.0)
    Traceback (most recent call last):
    ...
    iopoutcomes.exceptions.ParameterError: confidence_level must be a fraction strictly between 0 and 1 (0.95 for a 95% interval); received 1.0.
    """
    try:
        level = float(value)
    except (TypeError, ValueError):
        raise ParameterError(CONFIDENCE_LEVEL_MESSAGE.format(value=value)) from None
    if isinstance(value, bool) or not math.isfinite(level) or not 0.0 < level < 1.0:
        raise ParameterError(CONFIDENCE_LEVEL_MESSAGE.format(value=value))
    return level


def validates_confidence_level(func: F) -> F:
    """Check the function's ``confidence_level`` argument before its body runs.

    ``None`` passes when it is the parameter's default (a function that then picks a level
    itself, as ``sample_size`` does per test).

    >>> @validates_confidence_level
    ... def interval(x, *, confidence_level=0.95):
    ...     return confidence_level
    >>> interval(1, confidence_level=0.9)
    0.9
    >>> interval(1, confidence_level=90)
    Traceback (most recent call last):
    ...
    iopoutcomes.exceptions.ParameterError: confidence_level must be a fraction strictly between 0 and 1 (0.95 for a 95% interval); received 90.
    """
    params = list(inspect.signature(func).parameters.values())
    names = [p.name for p in params]
    if "confidence_level" not in names:
        raise TypeError(f"{func.__qualname__} has no confidence_level parameter")
    spec = params[names.index("confidence_level")]
    index = (
        names.index("confidence_level")
        if spec.kind in (spec.POSITIONAL_ONLY, spec.POSITIONAL_OR_KEYWORD)
        else None
    )
    none_ok = spec.default is None

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if "confidence_level" in kwargs:
            value = kwargs["confidence_level"]
        elif index is not None and index < len(args):
            value = args[index]
        else:
            value = spec.default
        if not (value is None and none_ok):
            check_confidence_level(value)
        return func(*args, **kwargs)

    wrapper.__validates_confidence_level__ = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


DEFAULT_REFERENCE = "inpatient"
"""The reference group when none is named: the comparison the library exists for is IOP
against inpatient care (``docs/conventions.md``)."""


def default_reference(levels: Any, reference: Any = None) -> Any:
    """The reference group: ``reference`` if given, else :data:`DEFAULT_REFERENCE` when it is
    one of ``levels``, else the first level in sorted (text) order.

    Every function with a ``reference=None`` default resolves it here, so one call with the
    same data picks the same reference everywhere.

    >>> default_reference(["IOP", "inpatient"]), default_reference(["b", "a"])
    ('inpatient', 'a')
    >>> default_reference(["IOP", "inpatient"], "IOP")
    'IOP'
    """
    if reference is not None:
        return reference
    present = [level for level in levels if level is not None and level == level]  # drop NaN
    if DEFAULT_REFERENCE in present:
        return DEFAULT_REFERENCE
    return sorted(present, key=str)[0] if present else None
