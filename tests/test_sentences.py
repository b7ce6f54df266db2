"""The one "about N in 10" sentence helper (issue 13: two copies worded 0% and 100% apart)."""

from __future__ import annotations

import pytest

from iopoutcomes._sentences import in_ten


@pytest.mark.parametrize(
    ("rate", "words"),
    [
        # worked by hand: k = floor(10 * rate + 0.5), half up
        (0.0, "none of the"),
        (0.04, "fewer than 1 in 10"),  # k = floor(0.9) = 0
        (0.05, "about 1 in 10"),  # k = floor(1.0) = 1
        (0.25, "about 3 in 10"),  # half up, not banker's rounding (round(2.5) == 2)
        (0.349, "about 3 in 10"),  # k = floor(3.99) = 3
        (0.62, "about 6 in 10"),
        (0.949, "about 9 in 10"),  # k = floor(9.99) = 9
        (0.95, "nearly all"),  # k = floor(10.0) = 10 but not every client
        (1.0, "all"),
        (float("nan"), "an unknown share of"),
        (float("inf"), "an unknown share of"),
    ],
)
def test_in_ten_by_hand(rate: float, words: str) -> None:
    assert in_ten(rate) == words


def test_every_wording_reads_before_a_plural_noun() -> None:
    for rate in (0.0, 0.01, 0.5, 0.99, 1.0, float("nan")):
        sentence = f"{in_ten(rate).capitalize()} clients were abstinent."
        assert sentence[0].isupper() and "  " not in sentence
    assert f"{in_ten(0.0)} IOP clients" == "none of the IOP clients"


def test_narratives_and_report_share_the_one_helper() -> None:
    from iopoutcomes import compare
    from iopoutcomes.report.sections import common

    assert compare.in_ten is in_ten
    assert common.in_ten is in_ten
