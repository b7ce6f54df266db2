"""One disclosure audit over the whole report: every published count in one linear system.

Suppressing each table on its own (:func:`~iopoutcomes.report.suppression.suppress_partition`)
protects a hidden cell against its own table's row, column and grand totals, but not against
the other tables: the same clients are counted in the follow-up flow, the out-of-window table,
the abstinence table (complete-case n = in window + out of window - missing items), the
quarters of the trend tables (whose lookback quarters add up to the cohort totals), the sites
and the retention-bias table. An outsider who writes those identities down recovers hidden
counts by subtraction.

How the identities are derived
------------------------------
Every count the report publishes (interior cells and margins of every suppressed partition) is
declared as the set of clients it counts (episode rows of the report's episode table;
interviews or input rows for the tables that count those): per table type, a declaration
(:func:`report_members`) maps its rows and columns to the episode attributes they stand for
(cohort, site, quarter of window close, follow-up status, outcome, milestone, covariate level).
Nothing is listed per number, and each declaration must reproduce its table's counts or the run
stops. Cells of different tables that count exactly the same clients are one *quantity*
(hidden everywhere or nowhere). The relations come from one rule (:meth:`DisclosureControl.
relations`): for every quantity Q and every family of disjoint cells (the rows of a column, the
parts of a row), when the members sharing clients with Q add up to Q, ``Q = sum``; when they
only cover Q, ``Q <= sum``. That gives the table margins and every cross-table identity at once
(due = in window + out of window + not conducted, complete-case n <= in window + out of window,
the lookback quarters adding up to the cohort totals, sites to totals, ...). Which cells a table
prints is declared too (:data:`PUBLISHED`): a column total no table shows is an unknown of the
outsider's system, not a constant.

The suppression step
--------------------
1. Every printed quantity in ``1 .. k-1`` is hidden (primary), in every table that shows it.
2. The outsider's attack: for a hidden quantity, :func:`scipy.optimize.linprog` finds its
   minimum and maximum subject to the relations (printed counts fixed, hidden counts at least 1
   because zeros are shown, unprinted ones at least 0), over the hidden and unprinted
   quantities linked to it. A hidden count is protected when that range holds at least ``k``
   whole numbers (fractional optima with fewer than ``k + 3`` values are re-checked as integer
   programs, :func:`scipy.optimize.milp`).
   The complementary cells are chosen at least cost (:func:`_select`): a 0/1 program
   (:func:`scipy.optimize.milp`) picks the printed counts to hide, weighted by what hiding
   them costs readers (:data:`TABLE_COST`, :data:`HEADLINE_COLUMN_COST`: the headline rates'
   numerators and denominators are hidden only when nothing cheaper protects a small count),
   subject to cuts every protecting pattern must satisfy — a hidden count is never alone in a
   fully printed equality, and for a count the attack narrows, the duals of its two linear
   programs bound how far any other pattern could widen its range (Fischetti and
   Salazar-González 1999) — and the chosen pattern is attacked again, until every hidden
   count is protected. The program has no time limit (a node limit), so the choice is
   deterministic. Should the loop not settle, its last pattern is grown one cheapest binding
   cell at a time (ranges only widen as cells are hidden); the attack is the acceptance test
   either way.
3. If a hidden cell cannot be protected, :class:`~iopoutcomes.SuppressionAuditError` stops the
   run. Otherwise the report is built again with the decided cells (:func:`build_controlled`),
   so every sentence, figure and rate comes from the post-suppression numbers.

Examples
--------
>>> import numpy as np
>>> import pandas as pd
>>> from iopoutcomes.report.suppression import suppress_partition
>>> a = pd.DataFrame({"in": [3, 40], "out": [30, 30]}, index=["IOP", "inpatient"])
>>> b = pd.DataFrame({"in": [40]}, index=["inpatient"])  # counted again in another table
>>> ctl = DisclosureControl(k=11)
>>> member = np.array([0] * 3 + [1] * 40 + [2] * 30 + [3] * 30)  # which cell each client is in
>>> cells_a = {(r, c): (member == i).astype(int) for i, (r, c) in
...            enumerate([("IOP", "in"), ("inpatient", "in"), ("IOP", "out"), ("inpatient", "out")])}
>>> cells_b = {("inpatient", "in"): (member == 1).astype(int)}
>>> _ = ctl.add("a", suppress_partition(a, 11), cells_a)
>>> _ = ctl.add("b", suppress_partition(b, 11), cells_b)
>>> hidden = ctl.solve()
>>> bool(hidden[("a", 0)].loc["IOP", "in"]), int(hidden[("a", 0)].to_numpy().sum()) > 1
(True, True)
>>> int(ctl.audit["feasible_integers"].min()) >= 11
True
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from ..exceptions import SuppressionAuditError
from .suppression import TOTAL, Partition, with_margins

__all__ = [
    "CovariatePlan",
    "DisclosureControl",
    "Recorder",
    "control_covariates",
    "report_members",
    "site_pseudonyms",
]

_INTEGER_MARGIN = 3
"""Fractional LP ranges with fewer than ``k + 3`` whole numbers are re-checked as integer
programs (wider ones cannot fall under ``k`` through integrality alone in these tables' sizes
often enough to justify the cost; see the module notes)."""
_MILP_SECONDS = 1.0
_MAX_ROUNDS = 100
"""Rounds of cut generation before the last pattern is grown greedily instead."""
_CUTS_PER_ROUND = 8
"""Failing counts attacked per round before the 0/1 program chooses again."""
_MASTER_NODES = 20000
"""Branch-and-bound nodes per 0/1 program (a node limit, not a time limit: deterministic)."""
SEED_WITH_TABLE_SUPPRESSION = False
"""Start from the cells each table's own suppression hid (True) or from the small counts only
(False: the whole-report search then chooses every complementary cell, usually fewer)."""

TABLE_COST: dict[str, float] = {"flow_followup": 50.0, "abstinence": 50.0, "sites": 5.0}
"""What hiding a cell of a table costs readers (default 1): the headline follow-up and
abstinence counts are hidden last. A quantity printed in several places costs the sum, and a
total twice its table's cost."""

HEADLINE_COLUMN_COST: dict[str, float] = {
    "conducted_in_window": 4.0,
    "abstinent": 4.0,
    TOTAL: 4.0,
}
"""Extra cost, in the headline tables, of the numerators and denominators of the headline
rates (follow-up in window of those due; abstinent of the cohort): the other parts of their
rows (out of window, not conducted, missing) are hidden before them, so the headline rates
survive whenever a small count can be protected another way."""

Cell = tuple[Any, Any]
T = TypeVar("T")


# Which cells of each table type the report prints (interior columns, the row totals, the
# totals row). Cells not printed (a column total nobody sees, the parts a table leaves out) are
# unknowns of the outsider's system, not constants; cells derivable from printed ones (a part
# = total - the printed parts) count as printed. Keys not listed: everything is printed.
PUBLISHED: dict[str, tuple[tuple[str, ...] | None, bool, bool]] = {
    # key: (printed interior columns or None for all, row totals printed, totals row printed)
    "flow_quarter": (None, False, True),
    "followup_by_site": (("conducted_in_window",), True, True),
    "followup_by_quarter": (("conducted_in_window",), True, False),
    "abstinence_by_quarter": (("abstinent",), True, False),
    "abstinence": (None, True, False),
    "milestones": (None, True, False),
    "followup_gpra_rule": (None, True, True),
    "intake_profile": (None, False, True),
    "measures_completion": (None, True, False),
    "measures_accreditation": (None, True, False),
    "measures_change": (None, True, False),
    "sites": (("events",), True, False),
    "out_of_window": (None, True, False),
}


def _published(key: str, full: pd.DataFrame) -> pd.DataFrame:
    columns, row_totals, totals_row = PUBLISHED.get(key, (None, True, True))
    mask = pd.DataFrame(False, index=full.index, columns=full.columns)
    inner = [c for c in full.columns if c != TOTAL]
    shown = inner if columns is None else [c for c in inner if c in columns]
    if row_totals and columns is not None and len(shown) == len(inner) - 1:
        shown = inner  # the one part left out is the total minus the printed ones
    mask.loc[:, shown] = True
    mask.loc[:, TOTAL] = row_totals
    if not totals_row:
        mask.loc[TOTAL, :] = False
    elif len(full.index) == 2:  # one row: its totals row is the row itself
        mask.loc[TOTAL, :] = mask.iloc[0].to_numpy()
    return mask


@dataclass
class _Entry:
    key: str
    seq: int
    counts: pd.DataFrame
    full: pd.DataFrame
    first_hidden: pd.DataFrame
    weights: dict[Cell, np.ndarray]


class DisclosureControl:
    """The whole-report audit: collect every suppressed partition with the clients behind each
    cell, then decide the hidden cells of all of them together (:meth:`solve`).

    Parameters
    ----------
    k : int
        Counts ``1 .. k-1`` are hidden and every hidden count must keep at least ``k``
        feasible values.
    """

    def __init__(self, k: int) -> None:
        self.k = k
        self.entries: list[_Entry] = []
        self._seq: dict[str, int] = defaultdict(int)
        self.audit = pd.DataFrame()

    def add(self, key: str, part: Partition, cells: Mapping[Cell, np.ndarray]) -> Partition:
        """Record a partition; ``cells`` maps each interior (row, column) to the weight of every
        unit of the universe in it (0/1 for clients; interview counts for interview tables)."""
        if part.counts is None:
            raise SuppressionAuditError(
                f"The partition of table '{key}' carries no counts to audit."
            )
        counts = part.counts.astype("int64")
        weights: dict[Cell, np.ndarray] = {}
        for row in counts.index:
            for col in counts.columns:
                w = np.asarray(cells[(row, col)], dtype=np.int64)
                if int(w.sum()) != int(
                    counts.to_numpy()[counts.index.get_loc(row), counts.columns.get_loc(col)]
                ):
                    raise SuppressionAuditError(
                        f"The disclosure audit's declaration of table '{key}' does not reproduce "
                        f"its counts (row {list(counts.index).index(row) + 1}, column "
                        f"'{col}'); the report is not produced."
                    )
                weights[(row, col)] = w
        for row in counts.index:
            weights[(row, TOTAL)] = np.sum([weights[(row, c)] for c in counts.columns], axis=0)
        for col in [*counts.columns, TOTAL]:
            weights[(TOTAL, col)] = np.sum([weights[(r, col)] for r in counts.index], axis=0)
        seq = self._seq[key]
        self._seq[key] += 1
        self.entries.append(
            _Entry(key, seq, counts, with_margins(counts), part.hidden.copy(), weights)
        )
        return part

    # -- the linear system -----------------------------------------------------------------

    def _system(self) -> tuple[list[tuple[int, Cell]], np.ndarray, np.ndarray, list[list[int]]]:
        """Cells, their quantity ids, the quantity x unit weights, and the disjoint families.

        A *quantity* is a set of clients (cells of different tables counting exactly the same
        clients are one quantity). A *family* is a set of quantities over disjoint clients: the
        rows of one column of a table, or the parts of one row.
        """
        cells: list[tuple[int, Cell]] = []
        rows: list[np.ndarray] = []
        size = max((len(w) for e in self.entries for w in e.weights.values()), default=0)
        for i, entry in enumerate(self.entries):
            for row in entry.full.index:
                for col in entry.full.columns:
                    w = entry.weights[(row, col)]
                    rows.append(np.pad(w, (0, size - len(w))))
                    cells.append((i, (row, col)))
        if not rows:
            return cells, np.zeros(0, int), np.zeros((0, 0)), []
        w_all = np.vstack(rows)
        w_all = w_all[:, w_all.any(axis=0)]
        quantities, qid = np.unique(w_all, axis=0, return_inverse=True)
        qid = np.asarray(qid).reshape(-1)
        where = {cell: qid[pos] for pos, cell in enumerate(cells)}
        families: list[list[int]] = []
        for i, entry in enumerate(self.entries):
            inner_rows = list(entry.counts.index)
            inner_cols = list(entry.counts.columns)
            for col in [*inner_cols, TOTAL]:
                families.append([int(where[(i, (r, col))]) for r in inner_rows])
            for row in [*inner_rows, TOTAL]:
                families.append([int(where[(i, (row, c))]) for c in inner_cols])
        support = quantities > 0
        disjoint = []
        for family in families:
            members = sorted(set(family))
            if len(members) > 1 and support[members].sum(axis=0).max() <= 1:
                disjoint.append(members)
        unique = sorted({tuple(f) for f in disjoint})
        return cells, qid, quantities, [list(f) for f in unique]

    def relations(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The linear relations between quantities, derived from the clients they count.

        For every quantity Q and every family F of disjoint quantities: when the members of F
        that share clients with Q add up to Q exactly, ``Q = sum``; when they only cover Q,
        ``Q <= sum`` (e.g. complete-case n <= in window + out of window, the difference being
        interviews with the outcome item missing). Table margins, cross-table equalities,
        quarters adding up to the lookback and sites adding up to the total all come out of
        this one rule.

        Returns
        -------
        equalities, inequalities : numpy.ndarray
            Rows of coefficients over quantities (``row @ y == 0`` and ``row @ y <= 0``).
        values : numpy.ndarray
            The true value of each quantity.
        """
        _, _, weights, families = self._system()
        return self._relations(weights, families)

    @staticmethod
    def _relations(
        weights: np.ndarray, families: list[list[int]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n_q = len(weights)
        values = weights.sum(axis=1).astype(float)
        support = (weights > 0).astype(float)
        eq: set[tuple[int, tuple[int, ...]]] = set()
        le: set[tuple[int, tuple[int, ...]]] = set()
        for family in families:
            f = weights[family].astype(float)
            overlap = support @ (f > 0).T.astype(float)  # quantities x members
            chosen = overlap > 0
            total = chosen.astype(float) @ f
            equal = np.all(np.isclose(total, weights), axis=1)
            covered = np.all(weights <= total + 1e-9, axis=1) & ~equal
            # an inequality over the whole family or a single member is implied by the margins
            # (every cell is at most its total); only a proper part of two or more members adds
            # information (complete-case n <= in window + out of window)
            size = chosen.sum(axis=1)
            covered &= (size >= 2) & (size < len(family))
            for q in np.nonzero((equal | covered) & (size > 0))[0]:
                members = tuple(int(family[j]) for j in np.nonzero(chosen[q])[0])
                if members == (int(q),):
                    continue
                (eq if equal[q] else le).add((int(q), members))

        def matrix(pairs: set[tuple[int, tuple[int, ...]]]) -> np.ndarray:
            out = np.zeros((len(pairs), n_q))
            for r, (q, members) in enumerate(sorted(pairs)):
                out[r, list(members)] -= 1.0
                out[r, q] += 1.0
            return out

        return matrix(eq), matrix(le), values

    def solve(self) -> dict[tuple[str, int], pd.DataFrame]:
        """Decide the hidden cells of every recorded partition together.

        Returns
        -------
        dict
            ``(table key, occurrence)`` -> boolean mask shaped like the partition with margins.

        Raises
        ------
        SuppressionAuditError
            When a hidden count cannot be protected by hiding more cells.
        """
        k = self.k
        cells, qid, weights, families = self._system()
        a_eq, a_ub, values = self._relations(weights, families)
        n_q = len(values)
        published = np.zeros(n_q, dtype=bool)
        first = np.zeros(n_q, dtype=bool)
        masks_published = {i: _published(e.key, e.full) for i, e in enumerate(self.entries)}
        for pos, (i, (row, col)) in enumerate(cells):
            if bool(masks_published[i].at[row, col]):
                published[qid[pos]] = True
                first[qid[pos]] |= bool(self.entries[i].first_hidden.at[row, col])
        primary = ((values >= 1) & (values < k)) | (first & SEED_WITH_TABLE_SUPPRESSION)
        primary &= published & (values > 0)  # a zero is always shown
        system = _System(a_eq, a_ub, values, published)
        cost = self._costs(cells, qid, values)
        chosen = _select(system, primary, cost, k)
        cleared: dict[int, tuple[float, float]] = {}
        if chosen is None:  # the cut loop did not settle: grow its last pattern greedily
            hidden = _greedy(system, weights, primary | system.last_pattern, cost, k)
        else:
            hidden, cleared = chosen
        audited = np.nonzero(hidden)[0]
        ranges = np.array(
            [cleared.get(int(q)) or system.range_of(hidden, int(q), k) for q in audited]
        ).reshape(-1, 2)
        counts = [_count(lo, hi) for lo, hi in ranges]
        if any(c < k for c in counts):  # the acceptance test, whatever chose the pattern
            raise SuppressionAuditError(
                f"A hidden count can be narrowed to fewer than {k} values from the "
                "report's other tables and no further cell can be hidden to protect it. "
                "Pool small groups (sites, covariate levels) or lengthen the lookback."
            )
        self.audit = pd.DataFrame(
            {
                "quantity": audited,
                "lower": ranges[:, 0],
                "upper": ranges[:, 1],
                "feasible_integers": counts,
                "primary": primary[audited],
            }
        )
        masks = {
            (e.key, e.seq): pd.DataFrame(False, index=e.full.index, columns=e.full.columns)
            for e in self.entries
        }
        for pos, (i, (row, col)) in enumerate(cells):
            entry = self.entries[i]
            masks[(entry.key, entry.seq)].at[row, col] = bool(hidden[qid[pos]])
        return masks

    def _costs(
        self, cells: list[tuple[int, Cell]], qid: np.ndarray, values: np.ndarray
    ) -> np.ndarray:
        """What hiding each quantity costs readers: the sum over the places it is printed of its
        table's cost (:data:`TABLE_COST`), doubled for totals, times :data:`HEADLINE_COLUMN_COST`
        for the headline rates' numerators and denominators; plus a thousandth of its value, so
        that of two equally placed cells the smaller one (less information) is hidden."""
        cost = np.zeros(len(values), dtype=float)
        for pos, (i, (row, col)) in enumerate(cells):
            weight = TABLE_COST.get(self.entries[i].key, 1.0)
            if weight >= 50.0:  # a headline table: its rates' numerators and denominators
                weight *= HEADLINE_COLUMN_COST.get(str(col), 1.0)
            cost[qid[pos]] += weight * (2.0 if row == TOTAL or col == TOTAL else 1.0)
        return cost + 1e-3 * values


def _count(lo: float, hi: float) -> float:
    if not np.isfinite(hi):
        return float("inf")
    if not np.isfinite(lo):
        return 0.0
    return float(np.floor(hi + 1e-7) - np.ceil(lo - 1e-7) + 1)


@dataclass(frozen=True)
class _Attack:
    """The outsider's LP over one hidden quantity: its range, and how the range would move if
    other quantities were hidden or shown (from the optimal duals of both programs)."""

    lo: float
    hi: float
    fractional: bool
    width_gain: np.ndarray
    """Per quantity: an upper bound on how much hiding it can widen the range (``inf``: without
    limit, when the optimum rests on that count from the side hiding opens)."""
    binding: np.ndarray
    """Printed quantities some optimum rests on (non-zero reduced cost)."""
    moved: tuple[np.ndarray, ...] | None = None
    """The quantities that differ from their true values at the maximum and at the minimum
    (None when the maximum is unbounded): while all of them stay hidden or unprinted, both
    points stay feasible, so the range can only be as wide or wider."""


_TOL = 1e-9


@dataclass(frozen=True)
class _Program:
    """One component's linear program: its variables (hidden and unprinted quantities), the
    relations over them, and the printed quantities folded into the right-hand sides."""

    variables: np.ndarray
    a: np.ndarray
    rhs: np.ndarray
    is_eq: np.ndarray
    low: np.ndarray
    fixed_cols: np.ndarray
    fixed: np.ndarray


class _System:
    """The relations as matrices over quantities; published quantities are constants.

    Only the hidden and unprinted quantities linked to the audited one through relations (its
    connected component) are variables of its linear program, so each program stays small;
    results are cached per component pattern (the same program is never solved twice).
    """

    def __init__(
        self, a_eq: np.ndarray, a_ub: np.ndarray, values: np.ndarray, published: np.ndarray
    ) -> None:
        n = len(values)
        self.rows = np.vstack([a_eq.reshape(-1, n), a_ub.reshape(-1, n)])
        self.member = self.rows != 0
        self.is_eq = np.r_[np.ones(len(a_eq), bool), np.zeros(len(a_ub), bool)]
        self.values = values
        self.published = published
        self.n = n
        self._cache: dict[tuple[int, bytes, bytes], _Attack] = {}
        self._components: dict[bytes, np.ndarray] = {}
        self._programs: dict[tuple[bytes, bytes], _Program] = {}
        self._integer: dict[tuple[int, bytes], tuple[float, float]] = {}
        self.last_pattern = np.zeros(n, dtype=bool)

    def equality_rows(self) -> list[np.ndarray]:
        """The quantities of each equality relation."""
        return [np.nonzero(row)[0] for row in self.member[self.is_eq]]

    def _labels(self, hidden: np.ndarray) -> np.ndarray:
        """Connected-component label of every quantity (-1 for printed ones)."""
        key = hidden.tobytes()
        if key not in self._components:
            from scipy.sparse import csr_matrix
            from scipy.sparse.csgraph import connected_components

            free = hidden | ~self.published
            on = csr_matrix(self.member[:, free].astype(np.int8))
            adjacency = on.T @ on
            _, lab = connected_components(adjacency, directed=False)
            labels = np.full(self.n, -1)
            labels[np.nonzero(free)[0]] = lab
            self._components[key] = labels
        return self._components[key]

    def program(self, hidden: np.ndarray, q: int) -> _Program:
        """The outsider's constraints on the component of ``q`` (shared by its members)."""
        labels = self._labels(hidden)
        variables = np.nonzero(labels == labels[q])[0]
        key = (variables.tobytes(), hidden[variables].tobytes())
        if key not in self._programs:
            used = np.nonzero(self.member[:, variables].any(axis=1))[0]
            touched = self.member[used].any(axis=0)
            touched[variables] = False
            fixed_cols = np.nonzero(touched)[0]
            fixed = self.rows[np.ix_(used, fixed_cols)]
            self._programs[key] = _Program(
                variables=variables,
                a=self.rows[np.ix_(used, variables)],
                rhs=-(fixed @ self.values[fixed_cols]),
                is_eq=self.is_eq[used],
                low=np.where(hidden[variables], 1.0, 0.0),
                fixed_cols=fixed_cols,
                fixed=fixed,
            )
        return self._programs[key]

    def attack(self, hidden: np.ndarray, q: int) -> _Attack:
        """LP minimum and maximum of quantity ``q`` given the hidden pattern, with the bounds
        on how the range would move under another pattern."""
        prog = self.program(hidden, q)
        key = (q, prog.variables.tobytes(), hidden[prog.variables].tobytes())
        if key not in self._cache:
            self._cache[key] = self._solve(hidden, q, prog)
        return self._cache[key]

    def _solve(self, hidden: np.ndarray, q: int, prog: _Program) -> _Attack:
        if prog.a.shape[0] == 0:  # in no relation with anything published
            return _Attack(1.0, float("inf"), False, np.zeros(self.n), np.zeros(0, int))
        variables, a, rhs, is_eq, low = prog.variables, prog.a, prog.rhs, prog.is_eq, prog.low
        fixed_cols, fixed = prog.fixed_cols, prog.fixed
        target = int(np.nonzero(variables == q)[0][0])
        ends: list[float] = []
        moved: list[np.ndarray] = []
        gain = np.zeros(self.n)
        binding = np.zeros(self.n, dtype=bool)
        fractional = False
        for sign in (-1.0, 1.0):  # maximum, then minimum
            objective = np.zeros(len(variables))
            objective[target] = sign
            res = linprog(
                objective,
                A_eq=a[is_eq] if is_eq.any() else None,
                b_eq=rhs[is_eq] if is_eq.any() else None,
                A_ub=a[~is_eq] if (~is_eq).any() else None,
                b_ub=rhs[~is_eq] if (~is_eq).any() else None,
                bounds=[(lo_j, None) for lo_j in low],
                method="highs",
            )
            if res.status == 3:  # unbounded above: nothing learnt about the upper end
                ends.append(float("inf"))
                continue
            if res.status != 0:
                raise SuppressionAuditError(
                    "The disclosure audit's linear program could not be solved "
                    f"(status {res.status}); the report is not produced."
                )
            ends.append(sign * float(res.fun))
            moved.append(variables[np.abs(res.x - self.values[variables]) > 1e-7])
            fractional = fractional or bool(np.any(np.abs(res.x - np.round(res.x)) > 1e-6))
            duals = np.zeros(len(is_eq))
            if is_eq.any():
                duals[is_eq] = np.asarray(res.eqlin.marginals)
            if (~is_eq).any():
                duals[~is_eq] = np.asarray(res.ineqlin.marginals)
            # The optimum is a convex function of the bounds; its derivatives bound how far
            # a change of the hidden pattern can move it (weak duality). A printed count j
            # enters only through the right-hand sides: d(optimum)/d(v_j) = -column_j . duals.
            # Hiding it moves its lower bound from v_j to 1 and its upper bound to infinity.
            reduced = -(fixed.T @ duals)
            opens = reduced < -_TOL  # hiding it lifts the upper bound the optimum rests on
            gain[fixed_cols[opens]] = np.inf
            rests = reduced > _TOL
            gain[fixed_cols[rests]] += reduced[rests] * (self.values[fixed_cols[rests]] - 1.0)
            binding[fixed_cols[opens | rests]] = True
            # a hidden count resting at its lower bound 1: shown again, it is pinned at v_j
            at_lower = np.clip(np.asarray(res.lower.marginals), 0.0, None)
            back = (at_lower > _TOL) & hidden[variables] & (variables != q)
            gain[variables[back]] += at_lower[back] * (self.values[variables[back]] - 1.0)
        lo, hi = ends[1], ends[0]
        witness = tuple(moved) if len(moved) == 2 else None
        return _Attack(lo, hi, fractional, gain, np.nonzero(binding)[0], witness)

    def integer_range(
        self, hidden: np.ndarray, q: int, lo: float, hi: float
    ) -> tuple[float, float]:
        """The whole-number range (counts are whole): re-checked where the LP optimum was
        fractional. The best whole-number point found in the time limit is used, which can only
        narrow the range (conservative)."""
        prog = self.program(hidden, q)
        variables, a, rhs, is_eq, low = prog.variables, prog.a, prog.rhs, prog.is_eq, prog.low
        target = int(np.nonzero(variables == q)[0][0])
        parts = []
        if is_eq.any():
            parts.append(LinearConstraint(a[is_eq], rhs[is_eq], rhs[is_eq]))
        if (~is_eq).any():
            parts.append(LinearConstraint(a[~is_eq], -np.inf, rhs[~is_eq]))
        out = [lo, hi]
        for pos, sign in enumerate((1.0, -1.0)):
            if not np.isfinite(out[pos]) or not parts:
                continue
            objective = np.zeros(len(variables))
            objective[target] = sign
            res = milp(
                objective,
                constraints=parts,
                integrality=np.ones(len(variables)),
                bounds=Bounds(low, np.inf),
                options={"time_limit": _MILP_SECONDS},
            )
            if res.x is not None and res.fun is not None:
                out[pos] = sign * float(res.fun)
        return out[0], out[1]

    def range_of(self, hidden: np.ndarray, q: int, k: int) -> tuple[float, float]:
        """The acceptance range of ``q``: LP, re-checked in whole numbers when near ``k``."""
        found = self.attack(hidden, q)
        lo, hi = found.lo, found.hi
        if found.fractional and k <= _count(lo, hi) < k + _INTEGER_MARGIN:
            key = (q, hidden.tobytes())
            if key not in self._integer:
                self._integer[key] = self.integer_range(hidden, q, lo, hi)
            lo, hi = self._integer[key]
        return lo, hi


def _select(
    system: _System, primary: np.ndarray, cost: np.ndarray, k: int
) -> tuple[np.ndarray, dict[int, tuple[float, float]]] | None:
    """The cheapest hidden pattern that protects every hidden count, by cut generation.

    A 0/1 program (:func:`scipy.optimize.milp`) chooses which printed counts to hide at least
    total cost (:meth:`DisclosureControl._costs`), subject to cuts that every pattern
    protecting the hidden counts must satisfy: (a) a hidden count is never the only hidden
    member of an equality whose other members are printed; (b) for each hidden count whose
    range is too narrow under the current pattern, the duals of its two linear programs bound
    its range under any other pattern (Fischetti and Salazar-González, 1999: the width can
    grow only by what the hidden counts add), and the cut asks for enough of that growth. The
    chosen pattern is then attacked again; the loop ends when every hidden count keeps ``k``
    values (the acceptance test). Returns the pattern and the range that cleared each hidden
    count (a range a feasible point of each end proves: the true range is at least as wide), or
    None when it does not settle within
    :data:`_MAX_ROUNDS` rounds (the caller then grows the last pattern greedily).
    """
    n = len(primary)
    candidate = system.published & (system.values > 0)
    cuts: list[np.ndarray] = []
    for members in system.equality_rows():
        if not system.published[members].all():
            continue  # an unprinted member: the relation alone pins nothing
        for q in members:
            if not candidate[q]:
                continue
            row = np.zeros(n)
            others = [int(j) for j in members if j != q and candidate[j]]
            row[others] = 1.0
            row[q] = -1.0  # if q is hidden, at least one other member is
            cuts.append(row)
    hidden = primary.copy()
    # A count protected under one pattern keeps its two extreme points under another pattern
    # that leaves every count they move hidden (or unprinted): its range is at least as wide,
    # so it is not attacked again (most rounds change the pattern far from most counts).
    witnesses: dict[int, list[tuple[float, float, np.ndarray]]] = defaultdict(list)
    for _ in range(_MAX_ROUNDS):
        hidden = _master(cuts, cost, primary, candidate)
        system.last_pattern = hidden
        free = hidden | ~system.published
        ranges: dict[int, tuple[float, float]] = {}
        fresh: list[np.ndarray] = []
        # the small counts first: their cuts shape the pattern; a round stops at a few cuts
        # (the next pattern may protect the rest), and only the last round clears every cell
        order = np.r_[np.nonzero(hidden & primary)[0], np.nonzero(hidden & ~primary)[0]]
        for q in order:
            q = int(q)
            kept = next((w for w in witnesses[q] if free[w[2]].all()), None)
            if kept is not None:
                ranges[q] = kept[0], kept[1]
                continue
            if len(fresh) >= _CUTS_PER_ROUND:
                continue
            lo, hi = system.range_of(hidden, q, k)
            found = system.attack(hidden, q)
            if _count(lo, hi) >= k:
                ranges[q] = lo, hi
                reusable = not found.fractional or _count(lo, hi) >= k + _INTEGER_MARGIN
                if found.moved is not None and reusable:
                    witnesses[q].append((lo, hi, np.union1d(*found.moved)))
                continue
            width = found.hi - found.lo
            need = (k - 1) - width if width < k - 1 else 1.0  # integrality: ask for more
            row = found.width_gain.copy()
            row[q] = 0.0
            # hidden now: hiding is already counted in `width`; shown, it gives its gain back
            rhs = need + float(row[hidden].sum())
            row = np.minimum(row, rhs)
            row[q] = -rhs  # required only when q is hidden
            fresh.append(row)
        if not fresh:
            return hidden, ranges
        cuts.extend(fresh)
    return None


def _master(
    cuts: list[np.ndarray], cost: np.ndarray, primary: np.ndarray, candidate: np.ndarray
) -> np.ndarray:
    lower = primary.astype(float)
    upper = candidate.astype(float)
    constraints = [LinearConstraint(np.vstack(cuts), 0.0, np.inf)] if cuts else []
    res = milp(
        cost,
        constraints=constraints,
        integrality=np.ones(len(cost)),
        bounds=Bounds(lower, upper),
        options={"node_limit": _MASTER_NODES},
    )
    if res.x is None:
        raise SuppressionAuditError(
            "No set of cells can be hidden that protects every small count of the report "
            "against its other tables. Pool small groups (sites, covariate levels) or lengthen "
            "the lookback."
        )
    return np.asarray(np.round(res.x), dtype=bool)


def _greedy(
    system: _System, weights: np.ndarray, hidden: np.ndarray, cost: np.ndarray, k: int
) -> np.ndarray:
    """Grow a hidden pattern one cell at a time until every hidden count keeps ``k`` values:
    for a failing count, the cheapest printed count its bound rests on (else the cheapest
    sharing clients with it). Ranges only widen as cells are hidden, so this ends."""
    hidden = hidden.copy()
    passed = np.zeros(len(hidden), dtype=bool)
    for _ in range(len(hidden) + 1):
        todo = np.nonzero(hidden & ~passed)[0]
        choice = None
        for q in todo:
            lo, hi = system.range_of(hidden, int(q), k)
            if _count(lo, hi) >= k:
                passed[q] = True
                continue
            pool = [j for j in system.attack(hidden, int(q)).binding if not hidden[j]] or [
                int(j)
                for j in np.nonzero(
                    ((weights > 0).astype(float) @ (weights[q] > 0).astype(float) > 0)
                    & ~hidden
                    & system.published
                    & (system.values > 0)
                )[0]
            ]
            if not pool:
                raise SuppressionAuditError(
                    f"A hidden count can be narrowed to fewer than {k} values from the "
                    "report's other tables and no further cell can be hidden to protect it. "
                    "Pool small groups (sites, covariate levels) or lengthen the lookback."
                )
            choice = min(pool, key=lambda j: (float(cost[j]), j))
            break
        if choice is None:
            return hidden
        hidden[choice] = True
    return hidden


# --- the recorder used by the report builder -------------------------------------------------


class Recorder:
    """Sits in the report builder's suppression log: first records every partition with the
    clients behind its cells, then (``apply``) hands out the partitions with the hidden cells
    decided over the whole report."""

    def __init__(self, k: int) -> None:
        self.control = DisclosureControl(k)
        self.decided: dict[tuple[str, int], pd.DataFrame] | None = None
        self._seq: dict[str, int] = defaultdict(int)
        self.builder: Any = None

    def add(
        self, key: str, part: Partition, members: Mapping[Cell, np.ndarray] | None
    ) -> Partition:
        """Record (first run) or replace (second run) the hidden cells of a partition."""
        if self.decided is None:
            seq = self.control._seq[key]
            cells = members if members is not None else report_members(self.builder, key, part, seq)
            return self.control.add(key, part, cells)
        seq = self._seq[key]
        self._seq[key] += 1
        mask = self.decided.get((key, seq))
        entry = next((e for e in self.control.entries if e.key == key and e.seq == seq), None)
        if (
            mask is None
            or entry is None
            or part.counts is None
            or not entry.counts.equals(part.counts.astype("int64"))
        ):
            raise SuppressionAuditError(
                f"Table '{key}' changed between the audit and the final build; the report is "
                "not produced."
            )
        k = self.control.k
        full = entry.full
        primary = (full >= 1) & (full < k)
        values = full.astype("Int64").mask(mask)
        return Partition(
            values=values,
            hidden=mask,
            n_primary=int((primary & mask).to_numpy().sum()),
            n_complementary=int((mask & ~primary).to_numpy().sum()),
            counts=part.counts,
            split=part.split,
        )

    def decide(self) -> bool:
        """Solve the whole-report audit; True when some table's hidden cells changed."""
        self.decided = self.control.solve()
        return any(
            not self.decided[(e.key, e.seq)].equals(e.first_hidden.astype(bool))
            for e in self.control.entries
        )


def build_controlled(run: Callable[[Recorder], T], k: int) -> T:
    """Build a report under the whole-report audit (built twice when the audit hides more)."""
    from .suppression import audit_tables

    recorder = Recorder(k)
    first = run(recorder)
    if not recorder.decide():
        return first
    with audit_tables(False):  # the cells are decided: the per-table audit would be redone
        return run(recorder)


# --- declarations: which clients each table's cells count -------------------------------------


def _b(series: pd.Series) -> np.ndarray:
    return np.asarray(series.astype("boolean").fillna(False).to_numpy(dtype=bool))


def _status(b: Any, tp: str) -> dict[str, np.ndarray]:
    """The GPRA follow-up categories of ``followup_rates`` for every episode."""
    from ..missing import DEATH_STATUSES

    t = b.table
    status = t[f"followup_status_{tp}"].astype("string")
    inw = _b(t[f"in_window_{tp}"])
    due = _b(t[f"followup_due_{tp}"])
    completed = (status == "completed").fillna(False).to_numpy(bool)
    dead = status.isin(list(DEATH_STATUSES)).fillna(False).to_numpy(bool)
    if b.definition.death_policy == "exclude":
        due = due & ~dead
    return {
        "conducted_in_window": due & completed & inw,
        "conducted_out_of_window": due & completed & ~inw,
        "not_conducted": due & ~completed,
    }


def followup_due(b: Any, tp: str) -> np.ndarray:
    """The episodes whose ``tp`` follow-up is due (window closed; the death policy applied):
    the denominator of the follow-up rate, the sum of its three categories."""
    return np.logical_or.reduce(list(_status(b, tp).values()))


def _outcome(b: Any, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcome yes / no / missing among the episodes in its denominator (follow-up due, the
    death policy applied: :func:`iopoutcomes.missing.eligible_mask`, as the rate functions)."""
    from ..missing import eligible_mask

    t = b.table
    eligible = np.asarray(
        eligible_mask(t, column, death_policy=b.definition.death_policy), dtype=bool
    )
    value = t[column].astype("boolean")
    yes = value.fillna(False).to_numpy(bool) & eligible
    no = (~value).fillna(False).to_numpy(bool) & eligible
    return yes, no, value.isna().to_numpy(bool) & eligible


def _grid(
    rows: Mapping[Any, np.ndarray], cols: Mapping[Any, np.ndarray], population: np.ndarray
) -> dict[Cell, np.ndarray]:
    return {
        (r, c): (rm & cm & population).astype(np.int64)
        for r, rm in rows.items()
        for c, cm in cols.items()
    }


def _by(values: pd.Series, labels: Any) -> dict[Any, np.ndarray]:
    text = values.astype("string")
    return {label: (text == str(label)).fillna(False).to_numpy(bool) for label in labels}


def _pooled_sites(b: Any, population: np.ndarray) -> pd.Series:
    from .labels import OTHER_SITES

    labels = b.table["_site"].astype("string").where(population)
    size = labels.value_counts()
    small = set(size[size < b.k].index)
    if small:
        labels = labels.where(~labels.isin(small), OTHER_SITES)
    return labels


def report_members(b: Any, key: str, part: Partition, seq: int) -> dict[Cell, np.ndarray]:
    """The clients (episode rows of ``b.table``) behind every interior cell of a report table.

    One declaration per table type: the rows and columns stand for episode attributes, and the
    audit derives every identity between tables from them. Tables whose units are interviews or
    input rows are declared on their own units (interviews attached to their episode).
    """
    assert part.counts is not None
    counts = part.counts
    t = b.table
    n = len(t)
    everyone = np.ones(n, dtype=bool)
    primary = b.primary
    if key == "flow_quarter":
        q = str(b.period)
        cols = {
            "admissions": (t["_admission_q"] == q).fillna(False).to_numpy(bool),
            "discharges": (t["_discharge_q"] == q).fillna(False).to_numpy(bool),
            "in_care_at_end": t["discharge_date"].isna().to_numpy(bool),
        }
        if primary is not None:
            status = t[f"followup_status_{primary}"].astype("string")
            cols["followups_pending"] = (status == "pending").fillna(False).to_numpy(bool)
        return _grid(_by(t["cohort"], counts.index), cols, everyone)
    if key == "flow_episodes":
        disc = t["discharge_day"].notna().to_numpy(bool)
        cols = {"discharged": disc, "not_discharged": ~disc}
        return _grid(_by(t["cohort"], counts.index), cols, everyone)
    if key in ("flow_followup", "followup_by_site"):
        population = b._cohort_mask(primary)
        if key == "flow_followup":
            rows = _by(t["cohort"], counts.index)
        else:
            population = population & t["_site"].notna().to_numpy(bool)
            rows = _by(_pooled_sites(b, population), counts.index)
        return _grid(rows, _status(b, primary), population)
    if key in ("followup_by_quarter", "abstinence_by_quarter"):
        labels = [str(p) for p in b.trend]
        close = t[f"_close_{primary}"]
        population = close.isin(labels).to_numpy(bool)
        rows = _by(close, counts.index)
        if key == "followup_by_quarter":
            return _grid(rows, _status(b, primary), population)
        yes, no, missing = _outcome(b, f"abstinent_{primary}")
        return _grid(rows, {"abstinent": yes, "not_abstinent_or_missing": no | missing}, population)
    if key == "abstinence":
        tps = [tp for tp in b.timepoints if b._cohort_mask(tp).any()]
        tp = tps[seq]
        yes, no, missing = _outcome(b, f"abstinent_{tp}")
        cols = {"abstinent": yes, "not_abstinent": no, "missing": missing}
        return _grid(_by(t["cohort"], counts.index), cols, b._cohort_mask(tp))
    if key == "milestones":
        names = [
            c
            for c in t.columns
            if (c.startswith("milestone_") or c == "completed_program") and t[c].notna().any()
        ]
        comparable = b.definition.comparable_name  # shown with the milestones (issue 21)
        if comparable in t.columns and t[comparable].notna().any():
            names.append(comparable)
        if b.period is not None:
            population = t["_discharge_q"].isin(b.lookback_labels).to_numpy(bool)
        else:
            population = everyone
        name = names[seq]
        yes, no, missing = _outcome(b, name)
        cols = {"met": yes, "not_met": no, "unknown": missing}
        if "not_eligible" in counts.columns:  # observed too few days: neither met nor not
            eligible = t[f"eligible_{name}"].astype("boolean").fillna(True).to_numpy(bool)
            cols = {c: m & eligible for c, m in cols.items()}
            cols["not_eligible"] = ~eligible
        return _grid(_by(t["cohort"], counts.index), cols, population)
    if key == "sites":
        if primary is not None:
            outcome, population, rule = f"abstinent_{primary}", b._cohort_mask(primary), "using"
        else:
            outcome = next(
                c for c in t.columns if c.startswith("milestone_") and t[c].notna().any()
            )
            population, rule = everyone, "exclude"
        population = population & t["_site"].notna().to_numpy(bool)
        yes, no, missing = _outcome(b, outcome)
        cols = {"events": yes, "non_events": (no | missing) if rule == "using" else no}
        return _grid(_by(_pooled_sites(b, population), counts.index), cols, population)
    if key == "missingness":
        fu = b.snapshot.followups
        item = counts.index[0]
        ids = t["episode_id"].astype(str)
        cohort_ids = set(ids[b._cohort_mask(primary)])
        rows = fu.loc[
            (fu["timepoint"] == primary).to_numpy(bool)
            & (fu["status"] == "completed").fillna(False).to_numpy(bool)
            & fu["episode_id"].astype(str).isin(cohort_ids).to_numpy(bool)
        ]
        position = pd.Series(np.arange(n), index=ids.to_numpy())
        where = position.reindex(rows["episode_id"].astype(str).to_numpy()).to_numpy()
        missing = rows[item].isna().to_numpy(bool)
        return {
            (item, "missing"): np.bincount(where[missing].astype(int), minlength=n),
            (item, "present"): np.bincount(where[~missing].astype(int), minlength=n),
        }
    if key == "out_of_window":
        cells: dict[Cell, np.ndarray] = {}
        for tp in counts.index:
            s = _status(b, str(tp))
            population = b._cohort_mask(str(tp))
            cells[(tp, "in_window")] = (s["conducted_in_window"] & population).astype(np.int64)
            cells[(tp, "out_of_window")] = (s["conducted_out_of_window"] & population).astype(
                np.int64
            )
        return cells
    if key == "rejected":
        # input rows, not clients: each rejected row is counted once, for one reason, so the
        # cells are disjoint units of their own (placed after the episodes)
        sizes = counts.iloc[:, 0].to_numpy(dtype=np.int64)
        offsets = n + np.concatenate([[0], np.cumsum(sizes)[:-1]])
        total = n + int(sizes.sum())
        cells = {}
        for row, start, size in zip(counts.index, offsets, sizes, strict=True):
            w = np.zeros(total, dtype=np.int64)
            w[start : start + size] = 1
            cells[(row, counts.columns[0])] = w
        return cells
    raise SuppressionAuditError(
        f"Table '{key}' has no disclosure declaration: the whole-report audit cannot place its "
        "counts, so the report is not produced."
    )


# --- covariates in published profile tables ---------------------------------------------------

OTHER_LEVEL = "Other (pooled)"
MAX_LEVELS = 20
"""A text column with more distinct values than this is treated as free text (never tabulated)."""


@dataclass(frozen=True)
class CovariatePlan:
    """Covariates made safe to tabulate by level, with the refused ones and why.

    Attributes
    ----------
    frame : pandas.DataFrame
        Copy of the data with each kept covariate recoded: levels held by fewer than ``k``
        clients pooled into ``"Other (pooled)"``, dates as decade bands (``"1930-1939"``).
    kinds : dict
        Kept covariate -> ``"categorical"``, ``"numeric"`` or ``"date bands"``.
    refused : dict
        Refused covariate -> the reason (printed in the report; never a value).
    """

    frame: pd.DataFrame
    kinds: dict[str, str]
    refused: dict[str, str]

    @property
    def covariates(self) -> list[str]:
        """The kept covariates, in the order given."""
        return list(self.kinds)


def _looks_like_dates(values: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return True
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return False
    text = values.dropna().astype(str)
    if text.empty:
        return False
    shaped = text.str.fullmatch(r"\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T].*)?\s*")
    return bool(shaped.mean() >= 0.9)


def control_covariates(
    frame: pd.DataFrame,
    covariates: list[str],
    k: int,
    *,
    identifiers: tuple[str, ...] = ("episode_id", "patient_id"),
) -> CovariatePlan:
    """Make covariates safe to publish by level (retention-bias and intake-profile tables).

    Rules: identifier-like columns (an identifier name, or a text value for every client that
    no other client shares) are refused; text with more than ``MAX_LEVELS`` distinct values is
    free text and refused; dates are published as decade bands, never by day; levels (and
    bands) held by fewer than ``k`` clients are pooled into ``"Other (pooled)"``; numeric
    columns are kept as numeric (the caller publishes a mean only where at least ``k`` clients
    contribute in each group).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"drug": ["a"] * 12 + ["b"] * 12 + ["rare"],
    ...                    "note": [f"text {i}" for i in range(25)],
    ...                    "born": ["1950-01-02"] * 13 + ["1961-05-06"] * 12})
    >>> plan = control_covariates(df, ["drug", "note", "born"], k=11)
    >>> plan.kinds, sorted(plan.refused)
    ({'drug': 'categorical', 'born': 'date bands'}, ['note'])
    >>> sorted(plan.frame["drug"].unique()), sorted(plan.frame["born"].unique())
    (['Other (pooled)', 'a', 'b'], ['1950-1959', '1960-1969'])
    """
    out = frame.copy()
    kinds: dict[str, str] = {}
    refused: dict[str, str] = {}
    for cov in covariates:
        values = frame[cov]
        present = values.dropna()
        if cov in identifiers or cov.lower().endswith("_id"):
            refused[cov] = "an identifier, never a covariate"
            continue
        if present.empty:
            refused[cov] = "no values"
            continue
        if _looks_like_dates(values):
            when = pd.to_datetime(values, errors="coerce")
            start = (when.dt.year // 10) * 10
            banded = (
                start.astype("Int64").astype("string")
                + "-"
                + (start + 9).astype("Int64").astype("string")
            )
            out[cov] = banded
            kind = "date bands"
        elif pd.api.types.is_bool_dtype(values.dtype) or not pd.api.types.is_numeric_dtype(
            values.dtype
        ):
            text = values.astype("string")
            distinct = text.dropna().nunique()
            if distinct == len(text.dropna()) and distinct > 1:
                refused[cov] = "identifier-like: a different value for every client"
                continue
            if distinct > MAX_LEVELS:
                refused[cov] = f"free text ({distinct} distinct values): never tabulated by level"
                continue
            out[cov] = text
            kind = "categorical"
        else:
            kinds[cov] = "numeric"
            continue
        col = out[cov].astype("string")
        size = col.value_counts()
        small = list(size[size < k].index)
        if small:
            col = col.where(~col.isin(small), OTHER_LEVEL)
        out[cov] = col.astype(object).where(col.notna(), None)
        if out[cov].dropna().nunique() < 2:
            refused[cov] = f"fewer than two levels held by at least {k} clients"
            continue
        kinds[cov] = kind
    return CovariatePlan(out, kinds, refused)


def site_pseudonyms(names: list[str], seed: int) -> dict[str, str]:
    """Public site labels ``Site 1 .. Site m`` in a random but reproducible order.

    The order is drawn from ``seed`` (``[privacy] pseudonym_seed``) and the names themselves,
    never alphabetical, and numbers run without gaps over the sites that are shown (pool small
    sites before calling).

    >>> site_pseudonyms(["Alpha", "Beta", "Gamma"], seed=7) == site_pseudonyms(
    ...     ["Gamma", "Alpha", "Beta"], seed=7)
    True
    >>> sorted(site_pseudonyms(["Alpha", "Beta", "Gamma"], seed=7).values())
    ['Site 1', 'Site 2', 'Site 3']
    """
    import hashlib

    ordered = sorted(set(names))
    material = "\x1f".join([str(seed), *ordered]).encode()
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(material).digest()[:8], "big"))
    order = rng.permutation(len(ordered))
    return {ordered[j]: f"Site {pos + 1}" for pos, j in enumerate(order)}
