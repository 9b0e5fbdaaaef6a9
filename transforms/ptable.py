"""Perturbation tables (p-tables) for the cell key method on count tables.

A p-table says, for each original count ``i``, with which probability the published count is
``i + v`` for a perturbation ``v`` in ``[-D, D]``. It is built as the ABS / Destatis ``ptable``
R package builds it (``create_cnt_ptable(D, V, js)``, its maximum-entropy approach): for each
``i`` the distribution of ``v``

* puts mass only where ``|v| <= D``, ``i + v >= 0`` and ``i + v`` is not in ``1..js`` (a published
  1..js would point at one or two people; 0 stays possible, so small cells may vanish);
* has mean 0 (the published table is unbiased) and variance ``V``;
* among all distributions with those properties, has the largest entropy (the least
  predictable noise for the given variance);
* for ``i = 0`` is ``v = 0`` with probability 1 (an empty cell stays empty; noise on zeros
  would invent customers and make structural zeros unusable).

Where mean 0 and variance ``V`` cannot both hold (small ``i``: the allowed perturbations are few
and lopsided), the variance is relaxed to the nearest variance that the row can have with
mean 0 (the R package relaxes the variance of those rows too). With ``js < D`` mean 0 is always
possible, so only the variance is ever relaxed; ``PTable.target_variances`` says per row what
was asked of it.

Rows above ``imax`` reuse the last row: from ``i = D + js + 1`` on every perturbation in
``[-D, D]`` is allowed, so all those rows are the same problem with the same answer.

Probabilities are quantized to multiples of ``2**-32`` (the resolution of the cell keys of
``transforms.cellkey``): the cumulative bounds are then exact binary fractions, a cell key
falls into exactly one interval with no rounding at the edges, and the table written as CSV
reads back to the same bits.

>>> pt = generate_ptable(3, 2.0, 2)
>>> pt.imax, pt.cumulative.shape
(6, (7, 7))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from transforms.errors import ConfigurationError

# Probabilities are multiples of 1 / RESOLUTION: the cell key's resolution (transforms.cellkey).
RESOLUTION = 2**32
# Mean and variance of a row may miss 0 and V by the quantization (at most ~1e-8 for D <= 5).
MOMENT_TOLERANCE = 1e-7
FRAME_COLUMNS = ("i", "j", "p", "v", "p_int_lb", "p_int_ub")


class PTableError(ConfigurationError, ValueError):
    """A p-table lacks one of its properties; names the row (original count) and the field."""

    def __init__(self, problem: str, *, row: int | None = None, column: str | None = None) -> None:
        where = []
        if row is not None:
            where.append(f"row i={row}")
        if column is not None:
            where.append(f"field {column!r}")
        super().__init__(f"p-table {', '.join(where) + ': ' if where else ''}{problem}")
        self.problem, self.row, self.column = problem, row, column


def allowed_perturbations(i: int, D: int, js: int) -> NDArray[np.int64]:
    """The ``v`` in ``[-D, D]`` that row ``i`` may use: ``i + v >= 0`` and not in ``1..js``."""
    v = np.arange(-D, D + 1, dtype=np.int64)
    j = i + v
    return v[(j >= 0) & ~((j >= 1) & (j <= js))]


@dataclass(frozen=True, eq=False)
class PTable:
    """A count p-table: ``cumulative[i, k] = P(v <= k - D)`` for original count ``i``.

    Row ``imax`` (the last) also serves every count above it. The table checks its own
    properties on creation (``PTableError`` names the failing row).
    """

    D: int
    V: float
    js: int
    cumulative: NDArray[np.float64] = field(repr=False)

    def __post_init__(self) -> None:
        cumulative = np.array(self.cumulative, dtype=np.float64)
        cumulative.setflags(write=False)
        object.__setattr__(self, "cumulative", cumulative)
        _check(self)

    @property
    def imax(self) -> int:
        return int(self.cumulative.shape[0] - 1)

    @property
    def perturbations(self) -> NDArray[np.int64]:
        """The columns' ``v``: ``-D .. D``."""
        return np.arange(-self.D, self.D + 1, dtype=np.int64)

    @cached_property
    def target_variances(self) -> NDArray[np.float64]:
        """The variance each row was asked for: ``V``, or the nearest a mean-0 row can have."""
        out = np.array([target_variance(i, self.D, self.V, self.js) for i in range(self.imax + 1)])
        out.setflags(write=False)
        return out

    @cached_property
    def probabilities(self) -> NDArray[np.float64]:
        """``P(v)`` per row (differences of the cumulative bounds)."""
        out = np.diff(self.cumulative, axis=1, prepend=0.0)
        out.setflags(write=False)
        return out

    def row_means(self) -> NDArray[np.float64]:
        return self.probabilities @ self.perturbations.astype(np.float64)

    def row_variances(self) -> NDArray[np.float64]:
        v = self.perturbations.astype(np.float64)
        return self.probabilities @ v**2 - self.row_means() ** 2

    @cached_property
    def _flat(self) -> NDArray[np.float64]:
        """Row ``r``'s bounds shifted by ``r``: one sorted array for a vectorized lookup."""
        rows = np.arange(self.imax + 1, dtype=np.float64)[:, None]
        flat = (self.cumulative + rows).ravel()
        flat.setflags(write=False)
        return flat

    def lookup(self, counts: NDArray[np.int64], keys: NDArray[np.float64]) -> NDArray[np.int64]:
        """The perturbation ``v`` for each (count, key in [0, 1)): the interval holding the key.

        Counts above ``imax`` use the last row. A key in ``[lb, ub)`` of ``v`` gets ``v``; an
        interval of probability 0 is empty and never chosen.
        """
        rows = np.minimum(counts, self.imax).astype(np.int64)
        width = 2 * self.D + 1
        idx = np.searchsorted(self._flat, rows.astype(np.float64) + keys, side="right")
        return (idx - rows * width - self.D).astype(np.int64)

    def equals(self, other: PTable) -> bool:
        return (self.D, self.V, self.js) == (other.D, other.V, other.js) and np.array_equal(
            self.cumulative, other.cumulative
        )


def _check(pt: PTable) -> None:
    """Every property a p-table must have, or a ``PTableError`` naming the row and field."""
    if pt.D < 1:
        raise PTableError("the maximum noise D must be at least 1", column="D")
    if not 0 <= pt.js < pt.D:
        raise PTableError("js must be at least 0 and below D", column="js")
    if not (np.isfinite(pt.V) and pt.V > 0):
        raise PTableError("the variance V must be positive", column="V")
    c = pt.cumulative
    if c.ndim != 2 or c.shape[1] != 2 * pt.D + 1:
        raise PTableError("expected one column per perturbation -D..D", column="v")
    if c.shape[0] < pt.D + pt.js + 2:
        raise PTableError("the table must reach i = D + js + 1 (its last row serves all above)")
    p = pt.probabilities
    v = pt.perturbations
    for i in range(c.shape[0]):
        row = c[i]
        if not np.all(np.isfinite(row)) or np.any(p[i] < 0) or row[0] < 0:
            raise PTableError("probabilities must be between 0 and 1", row=i, column="p")
        if row[-1] != 1.0:
            raise PTableError("probabilities do not sum to 1", row=i, column="p")
        allowed = np.isin(v, allowed_perturbations(i, pt.D, pt.js))
        if np.any(p[i][~allowed] > 0):
            raise PTableError(
                "mass on a perturbation that is not allowed (|v| > D, a negative "
                "count or a published count in 1..js)",
                row=i,
                column="j",
            )
    if p[0, pt.D] != 1.0:
        raise PTableError("zero must stay zero", row=0, column="p")
    biased = np.flatnonzero(np.abs(pt.row_means()) > MOMENT_TOLERANCE)
    if biased.size:
        raise PTableError("the perturbation's mean is not 0", row=int(biased[0]), column="v")
    off = np.flatnonzero(np.abs(pt.row_variances() - pt.target_variances) > MOMENT_TOLERANCE)
    if off.size:
        raise PTableError(
            "the perturbation's variance is not V (nor, where V cannot hold, the nearest "
            "variance the row can have)",
            row=int(off[0]),
            column="p",
        )


# --- generation ------------------------------------------------------------------------------


def _variance_range(v: NDArray[np.int64]) -> tuple[int, int]:
    """Smallest and largest variance a mean-0 distribution on ``v`` can have.

    A mean-0 distribution is a mixture of the point mass at 0 and of two-point mean-0
    distributions on pairs ``a < 0 < b`` (variance ``-a * b``); its variance is the mixture's.
    """
    neg, pos = v[v < 0], v[v > 0]
    pair_variances = (-neg[:, None] * pos[None, :]).ravel()
    if pair_variances.size == 0:
        return 0, 0
    low = 0 if np.any(v == 0) else int(pair_variances.min())
    return low, int(pair_variances.max())


def target_variance(i: int, D: int, V: float, js: int) -> float:
    """``V`` clipped to the variances a mean-0 row ``i`` can have (0 for ``i = 0``)."""
    if i == 0:
        return 0.0
    low, high = _variance_range(allowed_perturbations(i, D, js))
    return float(min(max(V, low), high))


def _face(v: NDArray[np.int64], variance: float, low: int, high: int) -> NDArray[np.int64]:
    """The points that can carry mass in a mean-0 distribution on ``v`` with that variance.

    Inside ``(low, high)`` every point can (a positive mixture of all pairs); at an end only
    the points of the pairs (or the zero) that reach that end.
    """
    if low < variance < high:
        return v
    neg, pos = v[v < 0], v[v > 0]
    if variance == 0:
        return np.array([0], dtype=np.int64)
    product = -neg[:, None] * pos[None, :]
    a, b = np.nonzero(product == (low if variance == low else high))
    return np.unique(np.concatenate([neg[a], pos[b]]))


def _max_entropy(v: NDArray[np.int64], variance: float) -> NDArray[np.float64]:
    """``p(v) ∝ exp(l1 v + l2 v**2)`` with mean 0 and the given variance (the dual problem).

    The maximum-entropy distribution under moment constraints is of exponential-family
    form; its multipliers minimize the convex ``log Z(l) - l . (0, variance)``. On a support
    reduced to the points that can carry mass, the minimum is attained (or the objective is
    flat in a direction that leaves ``p`` unchanged), so a trust-region Newton converges.
    """
    from scipy.optimize import minimize

    if v.size == 1:
        return np.ones(1)
    a = np.stack([v.astype(np.float64), v.astype(np.float64) ** 2], axis=1)
    target = np.array([0.0, variance])

    def parts(lam: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
        z = a @ lam
        shift = z.max()
        w = np.exp(z - shift)
        return w / w.sum(), float(np.log(w.sum()) + shift)

    def fun(lam: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        p, log_z = parts(lam)
        return log_z - float(lam @ target), a.T @ p - target

    def hess(lam: NDArray[np.float64]) -> NDArray[np.float64]:
        p, _ = parts(lam)
        mean = a.T @ p
        out: NDArray[np.float64] = (a * p[:, None]).T @ a - np.outer(mean, mean)
        return out

    result = minimize(
        fun, np.zeros(2), jac=True, hess=hess, method="trust-exact", options={"gtol": 1e-13}
    )
    lam = np.asarray(result.x, dtype=np.float64)
    # polish with damped Newton steps (least squares: the Hessian may be singular in a
    # direction that does not change p) until the moments hold to machine precision
    for _ in range(100):
        value, grad = fun(lam)
        if np.max(np.abs(grad)) < 1e-14 * max(1.0, variance):
            break
        step = np.linalg.lstsq(hess(lam), -grad, rcond=None)[0]
        t = 1.0
        while t > 1e-10 and fun(lam + t * step)[0] > value + 1e-4 * t * float(grad @ step):
            t /= 2
        lam = lam + t * step
    p, _ = parts(lam)
    return p


def _quantize(p: NDArray[np.float64]) -> NDArray[np.float64]:
    """Cumulative bounds rounded to multiples of ``1 / RESOLUTION``, the last exactly 1."""
    bounds = np.rint(np.cumsum(p) / p.sum() * RESOLUTION)
    bounds[-1] = RESOLUTION
    bounds = np.maximum.accumulate(bounds)
    return bounds / RESOLUTION


def generate_ptable(D: int, V: float, js: int = 0, imax: int | None = None) -> PTable:
    """The maximum-entropy p-table for maximum noise ``D``, variance ``V`` and no 1..``js``.

    ``imax`` (default and minimum ``D + js + 1``) is the last row; larger counts reuse it.
    """
    if not isinstance(D, int) or D < 1:
        raise PTableError("the maximum noise D must be an integer of at least 1", column="D")
    if not isinstance(js, int) or not 0 <= js < D:
        raise PTableError("js must be an integer from 0 to D - 1", column="js")
    if not (np.isfinite(V) and V > 0):
        raise PTableError("the variance V must be positive", column="V")
    last = D + js + 1 if imax is None else imax
    if last < D + js + 1:
        raise PTableError("imax must be at least D + js + 1", column="i")
    width = 2 * D + 1
    cumulative = np.zeros((last + 1, width))
    cumulative[0, D:] = 1.0
    for i in range(1, last + 1):
        v = allowed_perturbations(i, D, js)
        low, high = _variance_range(v)
        target = target_variance(i, D, V, js)
        support = _face(v, target, low, high)
        p = np.zeros(width)
        p[support + D] = _max_entropy(support, target)
        cumulative[i] = _quantize(p)
    return PTable(D=D, V=float(V), js=js, cumulative=cumulative)


# --- the R package's frame format -----------------------------------------------------------


def ptable_frame(ptable: PTable) -> pd.DataFrame:
    """The table as the R package writes it: one row per (i, j) with ``p > 0``.

    Columns ``i`` (original count), ``j`` (published count), ``p``, ``v = j - i`` and the
    cell-key interval ``[p_int_lb, p_int_ub)`` that selects ``v``.
    """
    p = ptable.probabilities
    i, k = np.nonzero(p > 0)
    v = ptable.perturbations[k]
    lower = np.where(k > 0, ptable.cumulative[i, np.maximum(k - 1, 0)], 0.0)
    return pd.DataFrame(
        {
            "i": i.astype(np.int64),
            "j": (i + v).astype(np.int64),
            "p": p[i, k],
            "v": v.astype(np.int64),
            "p_int_lb": lower,
            "p_int_ub": ptable.cumulative[i, k],
        }
    )


def _column(df: pd.DataFrame, name: str, kind: str) -> NDArray[Any]:
    try:
        values = pd.to_numeric(df[name], errors="raise")
    except (ValueError, TypeError):
        bad = pd.to_numeric(df[name], errors="coerce").isna()
        row = _int_or_none(df.loc[bad, "i"].iloc[0]) if "i" in df and bad.any() else None
        raise PTableError("not a number", row=row, column=name) from None
    arr = values.to_numpy()
    if np.isnan(arr.astype(np.float64)).any():
        raise PTableError("a value is missing", column=name)
    if kind == "int":
        as_int = arr.astype(np.int64)
        if not np.array_equal(as_int, arr):
            raise PTableError("expected whole numbers", column=name)
        out: NDArray[Any] = as_int
        return out
    floats: NDArray[Any] = arr.astype(np.float64)
    return floats


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return None


def ptable_from_frame(df: pd.DataFrame, /, *, D: int, V: float, js: int) -> PTable:
    """Rebuild a ``PTable`` from ``ptable_frame``'s shape, checking every row.

    The parameters come from the caller (the loader reads them from the file's name or
    header); the rows must agree with them (support, 1..js, zero stays zero, sums to 1, mean 0).
    """
    missing = [c for c in FRAME_COLUMNS if c not in df.columns]
    if missing:
        raise PTableError(f"missing column(s) {', '.join(missing)}")
    i = _column(df, "i", "int")
    j = _column(df, "j", "int")
    v = _column(df, "v", "int")
    p = _column(df, "p", "float")
    lb = _column(df, "p_int_lb", "float")
    ub = _column(df, "p_int_ub", "float")
    if np.any(i < 0):
        raise PTableError("a negative original count", column="i")
    bad = np.flatnonzero(j - i != v)
    if bad.size:
        raise PTableError("v is not j - i", row=int(i[bad[0]]), column="v")
    bad = np.flatnonzero(np.abs(v) > D)
    if bad.size:
        raise PTableError("a perturbation beyond D", row=int(i[bad[0]]), column="v")
    imax = int(i.max()) if i.size else -1
    if not np.array_equal(np.unique(i), np.arange(imax + 1)):
        absent = sorted(set(range(imax + 1)) - set(i.tolist()))
        raise PTableError("no row for this original count", row=absent[0] if absent else None)
    width = 2 * D + 1
    prob = np.zeros((imax + 1, width))
    pairs = i * width + (v + D)
    if np.unique(pairs).size != pairs.size:
        dup = pairs[np.flatnonzero(np.diff(np.sort(pairs)) == 0)[0]]
        raise PTableError("the same (i, j) twice", row=int(dup // width), column="j")
    prob[i, v + D] = p
    if np.any(p < 0) or np.any(p > 1):
        raise PTableError("probabilities must be between 0 and 1", row=int(i[0]), column="p")
    cumulative = np.cumsum(prob, axis=1)
    # the interval columns are the cumulative bounds: they must agree with p
    expected_ub = cumulative[i, v + D]
    bad = np.flatnonzero(~np.isclose(ub, expected_ub, rtol=0, atol=1e-9))
    if bad.size:
        raise PTableError("p_int_ub is not the running sum of p", row=int(i[bad[0]]), column="p")
    bad = np.flatnonzero(~np.isclose(ub - lb, p, rtol=0, atol=1e-9))
    if bad.size:
        raise PTableError("p_int_ub - p_int_lb is not p", row=int(i[bad[0]]), column="p_int_lb")
    sums = cumulative[:, -1]
    bad = np.flatnonzero(~np.isclose(sums, 1.0, rtol=0, atol=1e-9))
    if bad.size:
        raise PTableError("probabilities do not sum to 1", row=int(bad[0]), column="p")
    # the published bounds are exact: use them (the last of a row is 1 exactly)
    cumulative[i, v + D] = ub
    cumulative = np.maximum.accumulate(cumulative, axis=1)
    cumulative[:, -1] = 1.0
    return PTable(D=D, V=float(V), js=js, cumulative=cumulative)
