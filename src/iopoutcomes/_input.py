"""The one accessor that unwraps an outcomes table from what a function was given.

Every engine that takes ``outcomes`` (an :class:`~iopoutcomes.outcomes.EpisodeOutcomes`, or a
table with its columns) reads it through :func:`outcomes_table`, so they accept the same inputs
and refuse the others with the same message.

Examples
--------
>>> import pandas as pd
>>> frame, definition = outcomes_table(pd.DataFrame({"x": [1]}), needed_by="demo")
>>> list(frame.columns), definition
(['x'], None)
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ._counts import is_dask, is_duckdb
from .exceptions import ParameterError

__all__ = ["outcomes_table"]


def outcomes_table(
    outcomes: Any,
    definition: Any = None,
    *,
    needed_by: str,
    lazy: bool = False,
    copy: bool = True,
) -> tuple[Any, Any]:
    """The episode table and outcome definition of ``outcomes``.

    Parameters
    ----------
    outcomes : EpisodeOutcomes, pandas.DataFrame, or (``lazy``) Dask DataFrame / DuckDB relation
        A result with ``to_frame()`` (or a ``table``) and, optionally, a ``definition``; or a
        table itself (which carries no definition).
    definition : OutcomeDefinition, optional
        Wins over the result's own definition when given.
    needed_by : str
        The public function asking, named in the error.
    lazy : bool, default False
        Whether Dask DataFrames and DuckDB relations are accepted (returned as they are).
    copy : bool, default True
        Whether a result's table is copied (``to_frame()``); ``False`` reads ``table`` itself,
        for engines that never modify it.

    Returns
    -------
    (table, definition)

    Raises
    ------
    ParameterError
        Anything else, naming ``needed_by`` and what it accepts.

    Examples
    --------
    >>> outcomes_table([1, 2], needed_by="compare_rates")
    Traceback (most recent call last):
    ...
    iopoutcomes.exceptions.ParameterError: compare_rates needs an EpisodeOutcomes (from episode_outcomes) or a pandas DataFrame; got list.
    """
    if isinstance(outcomes, pd.DataFrame) or (lazy and (is_dask(outcomes) or is_duckdb(outcomes))):
        return outcomes, definition
    to_frame = getattr(outcomes, "to_frame", None)
    table = getattr(outcomes, "table", None)
    if callable(to_frame) or isinstance(table, pd.DataFrame):
        frame = to_frame() if callable(to_frame) and (copy or table is None) else table
        own = getattr(outcomes, "definition", None)
        return frame, definition if definition is not None else own
    accepted = "a pandas DataFrame"
    if lazy:
        accepted = "a pandas or Dask DataFrame or a DuckDB relation"
    raise ParameterError(
        f"{needed_by} needs an EpisodeOutcomes (from episode_outcomes) or {accepted}; "
        f"got {type(outcomes).__name__}."
    )
