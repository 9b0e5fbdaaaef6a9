"""The independent audit of a suppression pattern: can any suppressed cell be narrowed down?

For every suppressed cell it solves two LPs (HiGHS): the minimum and the maximum of the cell
over all non-negative tables that agree with every published cell and satisfy every additive
relation (the attacker's best knowledge from the release alone). A primary cell whose interval
is narrower than its protection level, or any suppressed cell whose interval has zero width
(exactly recomputable), fails the audit. The release gate runs this and fails closed.

It shares only the constraint-matrix builder (``transforms.table_constraints``) with
``transforms.secondary_suppression``, never its logic: the protection works on deviation
patterns, the audit on the published values themselves.

The result carries positions (frame row numbers), counts and rule names, never a value or a
bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from transforms.errors import DataError, InternalError
from transforms.table_constraints import additive_constraints
from transforms.table_structure import TableDimension

RULE_PROTECTION = "protection-interval"
RULE_RECOMPUTABLE = "recomputable"
RULE_INCONSISTENT = "published-cells-inconsistent"


@dataclass(frozen=True)
class SuppressionAudit:
    """Outcome of :func:`audit`: which suppressed cells fail, by position, and why."""

    n_cells: int
    n_suppressed: int
    n_primary: int
    narrow: tuple[int, ...]  # primary cells narrower than their protection level
    recomputable: tuple[int, ...]  # suppressed cells whose interval has zero width
    inconsistent: bool  # the published cells do not satisfy the additive relations
    n_lps: int

    @property
    def passed(self) -> bool:
        return not (self.narrow or self.recomputable or self.inconsistent)

    @property
    def failed_rules(self) -> tuple[str, ...]:
        rules = []
        if self.narrow:
            rules.append(RULE_PROTECTION)
        if self.recomputable:
            rules.append(RULE_RECOMPUTABLE)
        if self.inconsistent:
            rules.append(RULE_INCONSISTENT)
        return tuple(rules)

    @property
    def failing(self) -> tuple[int, ...]:
        """Every failing position once, ascending."""
        return tuple(sorted(set(self.narrow) | set(self.recomputable)))


def audit(
    cells: pd.DataFrame,
    dims: Sequence[TableDimension],
    *,
    value: str,
    suppressed: npt.ArrayLike,
    protection: npt.ArrayLike,
    tolerance: float = 1e-6,
) -> SuppressionAudit:
    """Min and max of every suppressed cell given everything published.

    ``suppressed``: boolean per cell (frame row order). ``protection``: the required interval
    width per cell; cells with a positive level are the primary cells (it is ignored on
    published cells). Suppressed cells are audited per connected component of the relations
    that link them, which keeps each LP small; one constraint matrix serves all of them.
    """
    n_cells = len(cells)
    mask = _bool_array(suppressed, n_cells, "suppressed")
    level = _float_array(protection, n_cells, "protection")
    if value not in cells.columns:
        raise DataError(f"audit: value column {value!r} missing")
    values = pd.to_numeric(cells[value], errors="coerce").to_numpy(np.float64, na_value=np.nan)
    if not np.isfinite(values).all():
        raise DataError(f"audit: value column {value!r} must be finite")
    matrix = additive_constraints(cells, dims).tocsc()
    hidden = np.flatnonzero(mask)
    primary = mask & (level > 0)
    a_hidden = matrix[:, hidden].tocsr()
    rhs = -(matrix[:, ~mask] @ values[~mask])
    scale = max(1.0, float(np.abs(values).max(initial=0.0)))
    touches = np.diff(a_hidden.indptr) > 0
    inconsistent = bool((np.abs(rhs[~touches]) > tolerance * scale).any()) or bool(
        (np.abs(matrix @ values) > tolerance * scale).any()  # the truth must be a witness
    )

    narrow: list[int] = []
    exact: list[int] = []
    n_lps = 0
    if hidden.size:
        link = (abs(a_hidden).T @ abs(a_hidden)).tocsr()
        n_comp, label = connected_components(link, directed=False)
        order = np.argsort(label, kind="stable")
        bounds_of = np.searchsorted(label[order], np.arange(n_comp + 1))
        for comp in range(n_comp):
            members = order[bounds_of[comp] : bounds_of[comp + 1]]
            sub = a_hidden[:, members]
            rows = np.flatnonzero(np.diff(sub.tocsr().indptr) > 0)
            sub = sub.tocsr()[rows]
            cell_ids = hidden[members]
            need = np.maximum(
                np.where(primary[cell_ids], level[cell_ids], 0.0),
                tolerance * np.maximum(1.0, np.abs(values[cell_ids])),
            )
            widths, lps, feasible = _widths(sub, rhs[rows], values[cell_ids], need)
            n_lps += lps
            if not feasible:
                inconsistent = True
                continue
            for local, cell in enumerate(cell_ids):
                width = widths[local]
                if width <= tolerance * max(1.0, abs(values[cell])):
                    exact.append(int(cell))
                if primary[cell] and width < level[cell] - tolerance * max(1.0, level[cell]):
                    narrow.append(int(cell))
    return SuppressionAudit(
        n_cells=n_cells,
        n_suppressed=int(hidden.size),
        n_primary=int(primary.sum()),
        narrow=tuple(sorted(narrow)),
        recomputable=tuple(sorted(exact)),
        inconsistent=inconsistent,
        n_lps=n_lps,
    )


def _widths(
    a_eq: sp.csr_matrix,
    b_eq: npt.NDArray[np.float64],
    truth: npt.NDArray[np.float64],
    need: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], int, bool]:
    """A lower bound on each cell's interval width over ``{x >= 0 : a_eq x = b_eq}``, exact
    (min and max solved) for every cell whose bound falls short of ``need``.

    Every solution an LP returns is a table the attacker cannot rule out, so it widens what is
    *seen* of every cell at once; a cell whose seen range already reaches ``need`` is proved
    wide enough without LPs of its own. Failing cells always get both exact LPs.
    """
    n = truth.size
    seen_lo = truth.copy()  # the true table is feasible
    seen_hi = truth.copy()
    if a_eq.shape[0] == 0:  # no relation holds these cells: anything non-negative fits
        return np.full(n, np.inf), 0, True
    lps = 0
    widths = np.zeros(n)
    for j in range(n):
        exact_lo = exact_hi = None
        for sign in (-1.0, 1.0):  # maximum first: it moves most cells
            if seen_hi[j] - seen_lo[j] > need[j]:
                break
            c = np.zeros(n)
            c[j] = sign
            res = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            lps += 1
            if res.status == 2:
                return widths, lps, False
            if res.status == 3:  # unbounded above
                seen_hi[j] = np.inf
                exact_hi = np.inf
                continue
            if res.status != 0:
                raise InternalError(f"audit: the LP solver stopped with status {res.status}")
            np.minimum(seen_lo, res.x, out=seen_lo)
            np.maximum(seen_hi, res.x, out=seen_hi)
            if sign > 0:
                exact_lo = float(res.x[j])
            else:
                exact_hi = float(res.x[j])
        if exact_lo is not None and exact_hi is not None:
            widths[j] = exact_hi - exact_lo
        else:
            widths[j] = seen_hi[j] - seen_lo[j]
    return widths, lps, True


def _bool_array(values: npt.ArrayLike, n: int, name: str) -> npt.NDArray[np.bool_]:
    array = np.asarray(values)
    if array.shape != (n,) or array.dtype != np.bool_:
        raise DataError(f"audit: {name!r} must be a boolean array with one entry per cell")
    return array


def _float_array(values: npt.ArrayLike, n: int, name: str) -> npt.NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (n,) or not np.isfinite(array).all() or (array < 0).any():
        raise DataError(f"audit: {name!r} must be finite, non-negative, one entry per cell")
    return array
