"""Aggregate contribution records into every cell of a table, margins included.

The cells are the full product of each dimension's codes (leaves, subtotals, ``TOTAL``), in
that product's order, so the same records always give the same rows and an empty cell is a
row with 0. Per cell: the additive ``value`` (distinct customers, records, or a sum), the
number of distinct ``contributors`` (customers), the ``top1``/``top2`` largest per-customer
contributions (dominance and p % rules) and, for means, the number of ``responses``.

Cells are keyed on integer codes (mixed radix over each dimension's code list): every margin
level combination is one pass of ``numpy`` counting over the (cell, customer) pairs, and the
counts of two partitions of the records add up cell by cell, except distinct contributors,
which are counted on the pairs and merge only when partitioned by customer.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.cellkey import key_sums
from transforms.table_structure import TableDimension
from transforms.tables import ValuesOutsideDomainError

UNIT = "pseudonym"
TOP = ("top1", "top2")


@dataclass(frozen=True)
class CellMeasure:
    """How a record contributes: ``kind`` customers | records | sum | mean | top_box_share."""

    kind: str
    column: str | None = None


def _ancestor_codes(dim: TableDimension, margins: bool) -> list[np.ndarray]:
    """Per level (leaf first, TOTAL last): the code index of each leaf's ancestor there."""
    index = {code: i for i, code in enumerate(dim.codes)}
    chains = []
    for leaf in dim.leaves:
        chain = [leaf]
        while (parent := dim.parents[chain[-1]]) is not None:
            chain.append(parent)
        chains.append([index[c] for c in chain])
    depth = {len(c) for c in chains}
    if len(depth) != 1:
        raise ValueError(f"dimension {dim.name!r}: leaves at different depths")
    levels = [np.array(level, dtype=np.int64) for level in zip(*chains, strict=True)]
    return levels if margins else levels[:1]


def _contribution(records: pd.DataFrame, measure: CellMeasure) -> np.ndarray:
    if measure.kind in ("customers", "records"):
        return np.ones(len(records), dtype=np.float64)
    values = records[str(measure.column)].to_numpy(dtype=np.float64)
    if measure.kind == "top_box_share":
        values = (values >= 4).astype(np.float64)
    return np.asarray(values, dtype=np.float64)


def build_cells(
    records: pd.DataFrame,
    dims: Sequence[TableDimension],
    /,
    *,
    measure: CellMeasure,
    margins: bool = True,
    unit_keys: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """Every cell of ``dims`` over ``records`` (see the module doc).

    A record whose dimension value is not a leaf raises ``ValuesOutsideDomainError`` (the
    caller quarantines such rows first). Without ``margins`` only the interior is built.
    ``unit_keys`` (each customer's fixed-point record key, ``transforms.cellkey``) adds the
    ``key_sum`` of every cell: the sum of its customers' keys mod 2**32, each customer once.
    """
    leaf_codes = []
    for dim in dims:
        position = {leaf: i for i, leaf in enumerate(dim.leaves)}
        codes = records[dim.name].astype("object").map(position)
        if codes.isna().any():
            raise ValuesOutsideDomainError(dim.name, int(codes.isna().sum()))
        leaf_codes.append(codes.to_numpy(dtype=np.int64))
    sizes = [len(d.codes) for d in dims]
    n_cells = int(np.prod(sizes))
    strides = [int(np.prod(sizes[i + 1 :])) for i in range(len(dims))]
    units, unit_codes = np.unique(records[UNIT].to_numpy(dtype=str), return_inverse=True)
    n_units = max(len(units), 1)
    contribution = _contribution(records, measure)

    value = np.zeros(n_cells)
    responses = np.zeros(n_cells, dtype=np.int64)
    contributors = np.zeros(n_cells, dtype=np.int64)
    top = np.zeros((2, n_cells))
    key_sum = np.zeros(n_cells, dtype=np.uint64)
    unit_key = (
        np.array([unit_keys[u] for u in units], dtype=np.uint64) if unit_keys is not None else None
    )
    level_maps = [_ancestor_codes(d, margins) for d in dims]
    for combo in itertools.product(*level_maps):
        cell = np.zeros(len(records), dtype=np.int64)
        for stride, ancestors, codes in zip(strides, combo, leaf_codes, strict=True):
            cell += ancestors[codes] * stride
        pair, pair_index = np.unique(cell * n_units + unit_codes, return_inverse=True)
        pair_sum = np.bincount(pair_index, weights=contribution, minlength=len(pair))
        pair_cell = pair // n_units
        counts = np.bincount(pair_cell, minlength=n_cells)
        seen = counts > 0
        contributors[seen] = counts[seen]
        if measure.kind == "customers":
            value[seen] = counts[seen]
        else:
            sums = np.bincount(cell, weights=contribution, minlength=n_cells)
            value[seen] = sums[seen]
            rows = np.bincount(cell, minlength=n_cells)
            responses[seen] = rows[seen]
        if unit_key is not None:
            sums_mod = key_sums(pair_cell, unit_key[pair % n_units], n_cells=n_cells)
            key_sum[seen] = sums_mod[seen]
        order = np.lexsort((-pair_sum, pair_cell))
        first = np.r_[0, np.flatnonzero(np.diff(pair_cell[order])) + 1]
        for rank in range(2):
            at = first + rank
            ok = at < np.r_[first[1:], len(order)]
            top[rank, pair_cell[order[at[ok]]]] = pair_sum[order[at[ok]]]
    grid = pd.MultiIndex.from_product([d.codes for d in dims], names=[d.name for d in dims])
    cells = grid.to_frame(index=False)
    for dim in dims:
        cells[dim.name] = cells[dim.name].astype("string")
    if not margins:
        interior = pd.MultiIndex.from_product([d.leaves for d in dims]).to_frame(index=False)
        keep = cells.set_index([d.name for d in dims]).index.isin(
            pd.MultiIndex.from_frame(interior)
        )
    else:
        keep = np.ones(n_cells, dtype=bool)
    cells["value"] = value
    cells["contributors"] = contributors
    if measure.kind in ("mean", "top_box_share"):
        cells["responses"] = responses
    cells["top1"], cells["top2"] = top[0], top[1]
    if unit_key is not None:
        cells["key_sum"] = key_sum
    return cells[keep].reset_index(drop=True)


def interior_mask(cells: pd.DataFrame, dims: Sequence[TableDimension]) -> np.ndarray:
    """Cells whose every code is a leaf (the table's body, no margin or subtotal)."""
    mask = np.ones(len(cells), dtype=bool)
    for dim in dims:
        mask &= cells[dim.name].isin(dim.leaves).to_numpy()
    return mask
