"""The one outcomes-table accessor (issue 13: five helpers unwrapped an outcomes table)."""

from __future__ import annotations

import pandas as pd
import pytest

import iopoutcomes as iop
from iopoutcomes._input import outcomes_table
from iopoutcomes.definitions import OutcomeDefinition
from iopoutcomes.exceptions import ParameterError


@pytest.fixture(scope="module")
def out() -> iop.EpisodeOutcomes:
    return iop.episode_outcomes(iop.simulate_records(n=60, seed=4))


def test_frame_passes_through_without_a_definition() -> None:
    frame = pd.DataFrame({"y": [1, 0]})
    got, definition = outcomes_table(frame, needed_by="demo")
    assert got is frame and definition is None
    mine = OutcomeDefinition()
    assert outcomes_table(frame, mine, needed_by="demo")[1] is mine


def test_result_gives_a_copy_or_its_own_table(out: iop.EpisodeOutcomes) -> None:
    copied, definition = outcomes_table(out, needed_by="demo")
    assert copied is not out.table and copied.equals(out.table)
    assert definition is out.definition
    shared, _ = outcomes_table(out, needed_by="demo", copy=False)
    assert shared is out.table
    mine = OutcomeDefinition(missing="exclude")
    assert outcomes_table(out, mine, needed_by="demo")[1] is mine  # the caller's wins


def test_refusal_names_the_function_and_what_it_accepts() -> None:
    with pytest.raises(
        ParameterError, match=r"^table_one needs an EpisodeOutcomes .* DataFrame; got list\.$"
    ):
        outcomes_table([1], needed_by="table_one")
    with pytest.raises(ParameterError, match="Dask DataFrame or a DuckDB relation; got dict"):
        outcomes_table({}, needed_by="compare_rates", lazy=True)


def test_engines_refuse_alike() -> None:
    for call in (
        lambda: iop.outcome_rates([1], "abstinent_6mo"),
        lambda: iop.compare_rates([1]),
        lambda: iop.table_one([1]),
    ):
        with pytest.raises(ParameterError, match="needs an EpisodeOutcomes"):
            call()
