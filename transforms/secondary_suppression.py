"""Secondary suppression: hide enough other cells that no primary cell can be narrowed down.

A primary cell hidden alone is recomputed from its margin minus the published cells of its
row. For every primary cell ``i`` (largest protection first, then frame order: deterministic)
``protect`` makes sure the suppressed set admits two *deviation patterns*: vectors ``y`` with
``A @ y == 0`` (every additive relation still holds), ``y == 0`` on every published cell and
``value + y >= 0``, one raising cell ``i`` by ``up`` and one lowering it by ``down``, with
``down = min(value_i, level_i / 2)`` and ``up = level_i - down``. Then ``value + y`` are two
tables the attacker cannot tell from the truth, so the cell's feasible interval contains
``[value_i - down, value_i + up]``: at least ``level_i`` wide, with the true value strictly
inside it. Lowering is capped by non-negativity; splitting both ways keeps the minimum off the
true value (a cell of 1 with level 3 gets at least 0..3).

When the current suppressed set has no such pattern yet, an LP (HiGHS, the
Kelly-Golden-Assad / Fischetti-Salazar deviation model relaxed to an LP) finds the cheapest
one over the whole table, where moving a published cell costs its cost per unit and moving an
already suppressed cell almost nothing; the cells it moves are suppressed. Growing the
suppressed set only enlarges every feasible set, so earlier patterns stay valid. A final round
runs the independent audit and repairs any cell it still finds too narrow or recomputable.

Zero cells are never chosen as secondaries (a published 0 says "nobody"; tau-ARGUS Modular
does the same): the margins always offer a pattern, so this never blocks a primary.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linprog

from transforms.errors import ConfigurationError, DataError, InternalError, PrivacyCheckFailed
from transforms.suppression_audit import audit
from transforms.table_constraints import additive_constraints, cell_coordinates
from transforms.table_structure import TableDimension

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

# moving an already suppressed cell costs this share of the cheapest published cell: almost
# free, yet enough to keep the LP's patterns compact
_REUSE_COST = 1e-3
# a pattern is asked for slightly more than the level, so LP round-off never lands below it
_SLACK = 1e-5
# the first pattern LP looks at cells differing from the primary in at most this many codes
_NEAR = 3


def default_cost(cells: pd.DataFrame, dims: Sequence[TableDimension], *, value: str) -> FloatArray:
    """Information loss of suppressing a cell: its value (+1, so small patterns win), times
    one more for each dimension in which it is a subtotal or total (margins are dear)."""
    values = _values(cells, value)
    inner = np.zeros(len(cells))
    for dim in dims:
        inner += cells[dim.name].isin(list(dim.children)).to_numpy()
    return (values + 1.0) * (1.0 + inner)


def protect(
    cells: pd.DataFrame,
    dims: Sequence[TableDimension],
    *,
    value: str,
    primary: npt.ArrayLike,
    protection: npt.ArrayLike,
    cost: npt.ArrayLike | None = None,
    singleton: npt.ArrayLike | None = None,
    max_repair_rounds: int = 5,
) -> BoolArray:
    """All suppressed cells (primary and secondary), as a boolean array in frame row order.

    ``primary``: boolean per cell; ``protection``: the interval width each primary cell needs
    (``transforms.primary_suppression``); ``cost``: per-cell cost of suppressing (default
    :func:`default_cost`); ``singleton``: cells with a single contributor, who knows the
    cell's value: a relation whose only suppressed cells are such a cell and one other would
    let that contributor recompute the other, so a third cell of it is suppressed.
    """
    n = len(cells)
    values = _values(cells, value)
    is_primary = _bools(primary, n, "primary")
    level = _floats(protection, n, "protection")
    if (is_primary & ~(level > 0)).any():
        raise ConfigurationError("protect: parameter 'protection' must be positive on primaries")
    weights = default_cost(cells, dims, value=value) if cost is None else _floats(cost, n, "cost")
    if isinstance(max_repair_rounds, bool) or not isinstance(max_repair_rounds, int):
        raise ConfigurationError("protect: parameter 'max_repair_rounds' must be an integer")
    matrix = additive_constraints(cells, dims)
    solver = _PatternSolver(matrix, values, weights, cell_coordinates(cells, dims))
    suppressed = is_primary.copy()
    order = np.lexsort((np.arange(n), -level))
    for i in order[is_primary[order]]:
        _protect_cell(solver, suppressed, int(i), float(level[i]))
    if singleton is not None:
        _singletons(matrix, suppressed, _bools(singleton, n, "singleton"), values, weights)
    floor = float(level[is_primary].min()) if is_primary.any() else 1.0
    for _ in range(max(0, max_repair_rounds)):
        result = audit(cells, dims, value=value, suppressed=suppressed, protection=level)
        if result.inconsistent:
            raise DataError("protect: the table's cells do not add up to its margins")
        if result.passed:
            return suppressed
        for i in result.failing:
            _protect_cell(solver, suppressed, i, float(level[i]) if is_primary[i] else floor)
    result = audit(cells, dims, value=value, suppressed=suppressed, protection=level)
    if not result.passed:
        raise PrivacyCheckFailed(
            f"protect: {len(result.failing)} suppressed cell(s) still fail the audit"
        )
    return suppressed


def _protect_cell(solver: _PatternSolver, suppressed: BoolArray, i: int, level: float) -> None:
    """Make sure the suppressed set lets cell ``i`` move down and up by its share of ``level``."""
    down = min(float(solver.values[i]), level / 2.0)
    up = level - down
    for sign, amount in ((1.0, up), (-1.0, down)):
        if amount <= 0:
            continue
        need = amount * (1.0 + _SLACK)
        if sign < 0:  # never below zero: the margins above a cell are at least its value
            need = min(need, float(solver.values[i]))
        if solver.seen(i, sign) >= need or solver.room(suppressed, i, sign) >= need:
            continue
        moved = solver.pattern(suppressed, i, sign, need)
        suppressed |= moved


class _PatternSolver:
    """The deviation LPs over one table, with the stacked matrix built once."""

    def __init__(
        self,
        matrix: sp.csr_matrix,
        values: FloatArray,
        cost: FloatArray,
        coords: npt.NDArray[np.int64],
    ) -> None:
        self.matrix = matrix.tocsc()
        self.coords = coords
        self.values = values
        self.cost = cost
        self.eligible = values > 0
        positive = cost[cost > 0]
        self.reuse = _REUSE_COST * (float(positive.min()) if positive.size else 1.0)
        # the farthest each cell was seen to move up / down in a pattern valid for the
        # current suppressed set (patterns stay valid as the set grows): proofs for free
        self.up_seen = np.zeros(values.size)
        self.down_seen = np.zeros(values.size)

    def seen(self, i: int, sign: float) -> float:
        return float(self.up_seen[i] if sign > 0 else self.down_seen[i])

    def _witness(self, cells: npt.NDArray[np.int64], deviation: FloatArray) -> None:
        np.maximum.at(self.up_seen, cells, deviation)
        np.maximum.at(self.down_seen, cells, -deviation)

    def room(self, suppressed: BoolArray, i: int, sign: float) -> float:
        """How far cell ``i`` can move in direction ``sign`` within the suppressed set alone."""
        hidden = np.flatnonzero(suppressed)
        sub = self.matrix[:, hidden]
        rows = np.flatnonzero(np.diff(sub.tocsr().indptr) > 0)
        local = int(np.searchsorted(hidden, i))
        if rows.size == 0:
            return float("inf")
        a_eq = sub.tocsr()[rows]
        c = np.zeros(hidden.size)
        c[local] = -sign
        bounds = np.column_stack([-self.values[hidden], np.full(hidden.size, np.inf)])
        res = linprog(c, A_eq=a_eq, b_eq=np.zeros(rows.size), bounds=bounds, method="highs")
        if res.status == 3:
            return float("inf")
        if res.status != 0:
            raise InternalError(f"protect: the LP solver stopped with status {res.status}")
        self._witness(hidden, res.x)
        return float(sign * res.x[local])

    def pattern(self, suppressed: BoolArray, i: int, sign: float, amount: float) -> BoolArray:
        """Cells moved by the cheapest pattern shifting cell ``i`` by ``sign * amount``.

        Tried first on the cells that differ from ``i`` in at most three dimensions plus the
        suppressed ones (where nearly every pattern lies, at a tenth of the LP), then, if that
        has none, on the whole table.
        """
        near = (self.coords != self.coords[i]).sum(axis=1) <= _NEAR
        for subset in (np.flatnonzero(near | suppressed), None):
            moved = self._pattern_on(subset, suppressed, i, sign, amount)
            if moved is not None:
                return moved
        raise InternalError("protect: no deviation pattern exists for a primary cell")

    def _pattern_on(
        self,
        subset: npt.NDArray[np.int64] | None,
        suppressed: BoolArray,
        i: int,
        sign: float,
        amount: float,
    ) -> BoolArray | None:
        n = self.values.size
        cols = np.arange(n) if subset is None else subset
        m = cols.size
        sub = self.matrix[:, cols].tocsr()
        rows = np.flatnonzero(np.diff(sub.indptr) > 0)
        sub = sub[rows]
        values = self.values[cols]
        hidden = suppressed[cols]
        usable = hidden | self.eligible[cols]
        up_hi = np.where(usable, np.inf, 0.0)
        down_hi = np.where(usable, values, 0.0)
        unit = np.where(hidden, self.reuse, self.cost[cols])
        up_lo = np.zeros(m)
        down_lo = np.zeros(m)
        local = int(np.searchsorted(cols, i))
        if sign > 0:
            up_lo[local] = up_hi[local] = amount
            down_hi[local] = 0.0
        else:
            down_lo[local] = down_hi[local] = amount
            up_hi[local] = 0.0
        bounds = np.column_stack(
            [np.concatenate([up_lo, down_lo]), np.concatenate([up_hi, down_hi])]
        )
        res = linprog(
            np.concatenate([unit, unit]),
            A_eq=sp.hstack([sub, -sub]).tocsr(),
            b_eq=np.zeros(rows.size),
            bounds=bounds,
            method="highs",
        )
        if res.status == 2:
            return None
        if res.status != 0:
            raise InternalError(f"protect: the pattern LP stopped with status {res.status}")
        deviation = res.x[:m] - res.x[m:]
        used = (res.x[:m] + res.x[m:]) > amount * 1e-7
        deviation[~used] = 0.0
        self._witness(cols, deviation)
        moved = np.zeros(n, dtype=np.bool_)
        moved[cols[used]] = True
        return moved


def _singletons(
    matrix: sp.csr_matrix,
    suppressed: BoolArray,
    single: BoolArray,
    values: FloatArray,
    cost: FloatArray,
) -> None:
    """Add a third cell to every relation whose only two suppressed cells include a singleton."""
    members = abs(matrix).tocsr()
    members.data[:] = 1.0
    while True:
        hidden = members @ suppressed.astype(np.float64)
        lonely = members @ (suppressed & single).astype(np.float64)
        rows = np.flatnonzero((hidden == 2) & (lonely >= 1))
        added = False
        for row in rows:
            cols = members.indices[members.indptr[row] : members.indptr[row + 1]]
            free = cols[~suppressed[cols] & (values[cols] > 0)]
            if free.size == 0:
                continue
            pick = free[np.lexsort((free, cost[free]))[0]]
            suppressed[pick] = True
            added = True
            break  # recount: one addition may fix several relations
        if not added:
            return


def _values(cells: pd.DataFrame, value: str) -> FloatArray:
    if value not in cells.columns:
        raise DataError(f"protect: value column {value!r} missing")
    values: FloatArray = pd.to_numeric(cells[value], errors="coerce").to_numpy(
        np.float64, na_value=np.nan
    )
    if not np.isfinite(values).all() or (values < 0).any():
        raise DataError(f"protect: value column {value!r} must be finite and non-negative")
    return values


def _bools(values: npt.ArrayLike, n: int, name: str) -> BoolArray:
    array = np.asarray(values)
    if array.shape != (n,) or array.dtype != np.bool_:
        raise ConfigurationError(f"protect: parameter {name!r} must be one boolean per cell")
    return array


def _floats(values: npt.ArrayLike, n: int, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (n,) or not np.isfinite(array).all() or (array < 0).any():
        raise ConfigurationError(
            f"protect: parameter {name!r} must be one finite non-negative number per cell"
        )
    return array
