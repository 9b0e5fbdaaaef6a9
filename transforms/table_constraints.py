"""The additive relations of a table with margins, as one sparse matrix.

Secondary suppression and its audit both reason about the same linear system: for every
dimension ``d``, every inner code ``c`` of ``d`` and every combination of codes of the other
dimensions, ``x[c, rest] - sum(x[child, rest] for child of c) = 0``. This module builds that
matrix once, vectorized over ``rest`` (one numpy pass per dimension and inner code), with
columns in the frame's own row order, so the protection and the audit share the system but
nothing of each other's logic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from transforms.errors import DataError
from transforms.table_structure import TableDimension


def cell_positions(cells: pd.DataFrame, dims: Sequence[TableDimension]) -> npt.NDArray[np.int64]:
    """For each cell of the full code product (C order over ``dims``), its row in ``cells``.

    Raises DataError when the frame is not exactly one row per combination of codes: a missing
    margin or a duplicated cell would make the additive system wrong, and a wrong system
    would make an audit pass that should fail.
    """
    if not dims:
        raise DataError("table: at least one dimension is needed")
    shape = tuple(len(d.codes) for d in dims)
    n_full = int(np.prod(shape))
    if len(cells) != n_full:
        raise DataError(
            f"table: {len(cells)} cell row(s), the full product of the dimensions has {n_full}"
        )
    linear = np.zeros(len(cells), dtype=np.int64)
    for dim, size in zip(dims, shape, strict=True):
        if dim.name not in cells.columns:
            raise DataError(f"table: dimension column {dim.name!r} missing")
        codes = pd.Categorical(cells[dim.name].astype("string"), categories=list(dim.codes))
        index = np.asarray(codes.codes, dtype=np.int64)
        if (index < 0).any():
            raise DataError(f"table: dimension {dim.name!r} holds code(s) outside its hierarchy")
        linear = linear * size + index
    positions = np.full(n_full, -1, dtype=np.int64)
    positions[linear] = np.arange(len(cells), dtype=np.int64)
    if (positions < 0).any():
        raise DataError("table: duplicated cell(s); each combination of codes must appear once")
    return positions


def cell_coordinates(cells: pd.DataFrame, dims: Sequence[TableDimension]) -> npt.NDArray[np.int64]:
    """Each cell's code index in each dimension (cells x dimensions, frame row order)."""
    positions = cell_positions(cells, dims)
    shape = tuple(len(d.codes) for d in dims)
    coords = np.empty((len(cells), len(dims)), dtype=np.int64)
    coords[positions] = np.stack(np.unravel_index(np.arange(positions.size), shape), axis=1)
    return coords


def additive_constraints(cells: pd.DataFrame, dims: Sequence[TableDimension]) -> sp.csr_matrix:
    """Sparse matrix ``A`` (relations x cells, frame row order) with ``A @ value == 0``.

    One row per (dimension, inner code, combination of the other dimensions' codes):
    +1 on the subtotal, -1 on each child. Redundant rows (a grand total reachable through
    several dimensions) are kept: the LPs do not mind, and dropping them would need care.
    """
    positions = cell_positions(cells, dims)
    shape = tuple(len(d.codes) for d in dims)
    full = np.arange(positions.size, dtype=np.int64).reshape(shape)
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    vals: list[npt.NDArray[np.float64]] = []
    n_rows = 0
    for axis, dim in enumerate(dims):
        index = {code: i for i, code in enumerate(dim.codes)}
        # the linear cell index of every "rest" combination, with this axis' code moved
        moved = np.moveaxis(full, axis, 0).reshape(shape[axis], -1)
        n_rest = moved.shape[1]
        for parent, children in dim.children.items():
            row_ids = n_rows + np.arange(n_rest, dtype=np.int64)
            members = [index[parent], *(index[c] for c in children)]
            signs = np.array([1.0] + [-1.0] * len(children))
            rows.append(np.tile(row_ids, len(members)))
            cols.append(moved[members].ravel())
            vals.append(np.repeat(signs, n_rest))
            n_rows += n_rest
    if not rows:
        return sp.csr_matrix((0, positions.size))
    matrix = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), positions[np.concatenate(cols)])),
        shape=(n_rows, positions.size),
    )
    matrix.sum_duplicates()
    return matrix


def dense_with_margins(
    leaf_values: npt.ArrayLike, dims: Sequence[TableDimension]
) -> npt.NDArray[np.float64]:
    """Fill every subtotal and total of an array indexed by each dimension's ``.leaves``.

    Returns an array indexed by each dimension's ``.codes``. For tables made from counts: DP
    sums its noisy interior this way, tests and benchmarks build tables with it; the
    pipeline's table builder works on records.
    """
    leaf = np.asarray(leaf_values, dtype=np.float64)
    out = leaf
    for axis, dim in enumerate(dims):
        index = {code: i for i, code in enumerate(dim.codes)}
        shape = list(out.shape)
        shape[axis] = len(dim.codes)
        grown = np.zeros(shape)
        leaf_index = [index[c] for c in dim.leaves]
        np.moveaxis(grown, axis, 0)[leaf_index] = np.moveaxis(out, axis, 0)
        view = np.moveaxis(grown, axis, 0)
        for code in _bottom_up(dim):
            view[index[code]] = view[[index[c] for c in dim.children[code]]].sum(axis=0)
        out = grown
    return out


def cells_frame(dims: Sequence[TableDimension], columns: dict[str, npt.ArrayLike]) -> pd.DataFrame:
    """A cells frame (one row per code combination, C order) from dense arrays by code."""
    grids = np.meshgrid(*(np.asarray(d.codes, dtype=object) for d in dims), indexing="ij")
    frame = pd.DataFrame({d.name: g.ravel() for d, g in zip(dims, grids, strict=True)})
    for name, array in columns.items():
        frame[name] = np.asarray(array).ravel()
    return frame


def _bottom_up(dim: TableDimension) -> list[str]:
    """Inner codes, every child before its parent."""
    depth: dict[str, int] = {}
    for code in dim.codes:
        d, node = 0, dim.parents[code]
        while node is not None:
            d, node = d + 1, dim.parents[node]
        depth[code] = d
    return sorted(dim.children, key=lambda c: -depth[c])
