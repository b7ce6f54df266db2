"""One way to rename a public parameter or attribute and keep the old name working for a release.

The parameter vocabulary (``docs/conventions.md``) renamed several parameters. Old code keeps
running for one release: the old name still works and a :class:`DeprecationWarning` names the new
one. Every rename goes through :func:`renamed_parameters` (parameters) or :func:`warn_renamed`
(attributes, result fields), so the wording is the same everywhere and the set of deprecated
names can be listed (:data:`DEPRECATED_PARAMETERS`) and tested.

Examples
--------
>>> import warnings
>>> @renamed_parameters(group_col="by")
... def count(frame, by="cohort"):
...     return by
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     count(None, group_col="site")
'site'
>>> print(caught[0].message)
count(): parameter 'group_col' is deprecated; use 'by' instead (the old name will be removed in the next release).
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from .exceptions import ParameterError

__all__ = ["DEPRECATED_PARAMETERS", "Renamed", "renamed_parameters", "warn_renamed"]

F = TypeVar("F", bound=Callable[..., Any])

DEPRECATED_PARAMETERS: dict[str, dict[str, str]] = {}
"""``function qualname -> {old name: new name}`` of every renamed parameter (filled by the
decorator; the conventions test checks each old name still works and warns)."""


@dataclass(frozen=True)
class Renamed:
    """A renamed parameter whose value changes meaning, with the conversion to the new one.

    ``convert(value, arguments)`` receives the old value and the other keyword arguments of
    the call (for example ``alpha`` -> ``confidence_level`` depends on ``test``).
    """

    new: str
    convert: Callable[[Any, Mapping[str, Any]], Any] | None = None


def _message(where: str, old: str, new: str, kind: str = "parameter") -> str:
    return (
        f"{where}: {kind} {old!r} is deprecated; use {new!r} instead "
        "(the old name will be removed in the next release)."
    )


def warn_renamed(where: str, old: str, new: str, *, kind: str = "attribute") -> None:
    """Emit the one :class:`DeprecationWarning` wording for a renamed name.

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_renamed("AdjustedEstimate", "risk", "rate")
    >>> print(caught[0].message)  # doctest: +NORMALIZE_WHITESPACE
    AdjustedEstimate: attribute 'risk' is deprecated; use 'rate' instead (the old name will be
    removed in the next release).
    """
    warnings.warn(_message(where, old, new, kind), DeprecationWarning, stacklevel=3)


def renamed_parameters(
    *, positional: tuple[str, ...] = (), **renames: str | Renamed
) -> Callable[[F], F]:
    """Decorate a function whose parameters were renamed (``old="new"``) or made keyword-only.

    Parameters
    ----------
    positional : tuple of str
        Names that callers could pass positionally, in order, right after the parameters that
        are still positional (for example ``missing`` of ``abstinence_rates``, or ``rule`` of
        ``completed_datasets``): extra positional arguments are bound to them with a warning.
    **renames : str or Renamed
        ``old="new"``; a :class:`Renamed` when the value must be converted.

    Returns
    -------
    callable
        The decorator; the decorated function keeps its new signature (``inspect.signature``
        follows ``__wrapped__``).

    Raises
    ------
    ParameterError
        When a call passes both the old and the new name.

    Examples
    --------
    >>> @renamed_parameters(positional=("missing",))
    ... def rates(outcomes, *, missing=None):
    ...     return missing
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     rates(None, "exclude")
    'exclude'
    """
    table = {old: (r if isinstance(r, Renamed) else Renamed(r)) for old, r in renames.items()}

    def decorate(func: F) -> F:
        where = f"{func.__qualname__}()"
        n_positional = sum(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            for p in inspect.signature(func).parameters.values()
        )
        DEPRECATED_PARAMETERS[f"{func.__module__}.{func.__qualname__}"] = {
            old: r.new for old, r in table.items()
        }

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if len(args) > n_positional and positional:
                extra = args[n_positional:]
                if len(extra) > len(positional):
                    raise TypeError(
                        f"{where} takes at most {n_positional + len(positional)} positional "
                        f"arguments ({len(args)} given)"
                    )
                args = args[:n_positional]
                for name, value in zip(positional, extra, strict=False):
                    new = table[name].new if name in table else name
                    warnings.warn(
                        f"{where}: passing {name!r} by position is deprecated; pass {new}= "
                        "by keyword (positional use will be removed in the next release).",
                        DeprecationWarning,
                        stacklevel=2,
                    )
                    if new in kwargs or name in kwargs:
                        raise TypeError(f"{where} got multiple values for argument {new!r}")
                    kwargs[new] = value
            for old, rename in table.items():
                if old not in kwargs:
                    continue
                if rename.new in kwargs:
                    raise ParameterError(
                        f"{where}: pass {rename.new!r} only; {old!r} is its deprecated name."
                    )
                warnings.warn(_message(where, old, rename.new), DeprecationWarning, stacklevel=2)
                value = kwargs.pop(old)
                kwargs[rename.new] = (
                    value if rename.convert is None else rename.convert(value, kwargs)
                )
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
