"""Sentence pieces shared by result narratives and the report (one wording everywhere).

Examples
--------
>>> f"{in_ten(0.62)} IOP clients", f"{in_ten(0.0).capitalize()} clients"
('about 6 in 10 IOP clients', 'None of the clients')
"""

from __future__ import annotations

import math

__all__ = ["in_ten"]


def in_ten(rate: float) -> str:
    """A rate as "about N in 10", worded to precede a plural noun ("... clients").

    Exactly 0 and 1 are "none of the" and "all"; rates that round to 0 or 10 in 10 without
    being exactly 0 or 1 are "fewer than 1 in 10" and "nearly all"; a missing or non-finite
    rate is "an unknown share of". Rounding is half up (0.25 -> about 3 in 10), as a reader
    would round.

    Parameters
    ----------
    rate : float
        A proportion in [0, 1].

    Returns
    -------
    str

    Examples
    --------
    >>> [in_ten(r) for r in (0.0, 0.04, 0.25, 0.96, 1.0, float("nan"))]
    ['none of the', 'fewer than 1 in 10', 'about 3 in 10', 'nearly all', 'all', 'an unknown share of']
    """
    if not math.isfinite(rate):
        return "an unknown share of"
    k = math.floor(10 * rate + 0.5)
    if rate == 0:
        return "none of the"
    if rate == 1:
        return "all"
    if k == 0:
        return "fewer than 1 in 10"
    if k == 10:
        return "nearly all"
    return f"about {k} in 10"
