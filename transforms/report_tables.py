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
from transforms.errors import DataError, InternalError
from transforms.table_structure import TableDimension, interior_mask
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
    column = records[str(measure.column)]
    numeric = pd.to_numeric(column, errors="coerce")  # numpy's own error would quote the value
    not_numbers = int((numeric.isna() & column.notna()).sum())
    if not_numbers:
        raise DataError(f"measure column {measure.column!r}: {not_numbers} value(s) not a number")
    values = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
    if measure.kind == "top_box_share":
        values = (values >= 4).astype(np.float64)
    return np.asarray(values, dtype=np.float64)


def _top_two(cells: np.ndarray, sums: np.ndarray, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """The largest and second-largest of ``sums`` per cell (0 where a cell has fewer)."""
    top1 = np.zeros(n_cells)
    np.maximum.at(top1, cells, sums)
    at_top = sums == top1[cells]
    ties = np.bincount(cells[at_top], minlength=n_cells)
    top2 = np.zeros(n_cells)
    np.maximum.at(top2, cells[~at_top], sums[~at_top])
    return top1, np.where(ties >= 2, top1, top2)


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

    The records are reduced once to (leaf cell, customer) pairs with their sums (hash-based
    ``pd.factorize``, no sort); each margin level combination then maps the pairs to its
    cells and deduplicates (cell, customer) again, so a customer in several leaves of a
    margin counts once there.
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
    leaf_sizes = [len(d.leaves) for d in dims]
    leaf_strides = [int(np.prod(leaf_sizes[i + 1 :])) for i in range(len(dims))]
    unit_codes, units = pd.factorize(records[UNIT].to_numpy(dtype=object))
    n_units = max(len(units), 1)
    contribution = _contribution(records, measure)

    leaf_cell = np.zeros(len(records), dtype=np.int64)
    for stride, codes in zip(leaf_strides, leaf_codes, strict=True):
        leaf_cell += codes * stride
    pair_index, pairs = pd.factorize(leaf_cell * n_units + unit_codes)
    pair_sum = np.bincount(pair_index, weights=contribution, minlength=len(pairs))
    pair_rows = np.bincount(pair_index, minlength=len(pairs))
    pair_unit = pairs % n_units
    pair_leaf = pairs // n_units
    pair_codes = [
        (pair_leaf // st) % size for st, size in zip(leaf_strides, leaf_sizes, strict=True)
    ]
    unit_key = None
    if unit_keys is not None:  # mapped, not indexed: a missing key's KeyError would quote it
        mapped = pd.Series(units, dtype=object).map(unit_keys)
        if mapped.isna().any():
            raise InternalError(
                f"build_cells: {int(mapped.isna().sum())} customer(s) without a record key"
            )
        unit_key = mapped.to_numpy(dtype=np.uint64)

    value = np.zeros(n_cells)
    responses = np.zeros(n_cells, dtype=np.int64)
    contributors = np.zeros(n_cells, dtype=np.int64)
    top1 = np.zeros(n_cells)
    top2 = np.zeros(n_cells)
    key_sum = np.zeros(n_cells, dtype=np.uint64)
    level_maps = [_ancestor_codes(d, margins) for d in dims]
    for combo in itertools.product(*level_maps):
        cell = np.zeros(len(pairs), dtype=np.int64)
        for stride, ancestors, codes in zip(strides, combo, pair_codes, strict=True):
            cell += ancestors[codes] * stride
        seen = np.zeros(n_cells, dtype=bool)
        seen[cell] = True
        sums = np.bincount(cell, weights=pair_sum, minlength=n_cells)
        rows = np.bincount(cell, weights=pair_rows, minlength=n_cells)
        member_index, members = pd.factorize(cell * n_units + pair_unit)
        member_sum = np.bincount(member_index, weights=pair_sum, minlength=len(members))
        member_cell = members // n_units
        counts = np.bincount(member_cell, minlength=n_cells)
        contributors[seen] = counts[seen]
        value[seen] = counts[seen] if measure.kind == "customers" else sums[seen]
        responses[seen] = rows[seen].astype(np.int64)
        first, second = _top_two(member_cell, member_sum, n_cells)
        top1[seen], top2[seen] = first[seen], second[seen]
        if unit_key is not None:
            sums_mod = key_sums(member_cell, unit_key[members % n_units], n_cells=n_cells)
            key_sum[seen] = sums_mod[seen]
    grid = pd.MultiIndex.from_product([d.codes for d in dims], names=[d.name for d in dims])
    cells = grid.to_frame(index=False)
    for dim in dims:
        cells[dim.name] = cells[dim.name].astype("string")
    keep = np.ones(n_cells, dtype=bool)
    if not margins:
        keep = interior_mask(cells, dims)
    cells["value"] = value
    cells["contributors"] = contributors
    if measure.kind in ("mean", "top_box_share"):
        cells["responses"] = responses
    cells["top1"], cells["top2"] = top1, top2
    if unit_key is not None:
        cells["key_sum"] = key_sum
    return cells[keep].reset_index(drop=True)
