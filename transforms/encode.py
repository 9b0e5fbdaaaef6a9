"""Integer coding of a table for the optimal search.

The search never touches strings: every quasi-identifier is factorized once, the rows are
collapsed into distinct (QI codes, sensitive codes) tuples with a weight, and generalizing to a
level is an index into a small per-level lookup array (data code -> generalized code). A node's
equivalence classes are then a mixed-radix key over the tuples and one ``np.bincount``. Tuples
and keys come from ``transforms.class_keys``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.class_keys import equivalence_classes
from transforms.errors import ConfigurationError
from transforms.hierarchy import Hierarchy, HierarchyError
from transforms.privacy_models import SensitiveDomain, sensitive_domain

__all__ = ["EncodedTable", "NonFunctionalHierarchyError", "encode_table"]


class NonFunctionalHierarchyError(HierarchyError, ConfigurationError):
    """A value at some level maps to two different values one level up."""

    def __init__(self, column: str) -> None:
        self.column = column
        super().__init__(
            f"hierarchy for column {column!r} is not functional: each value at a level must "
            "have exactly one parent at the next level for the optimal search"
        )


@dataclass(frozen=True)
class EncodedTable:
    """A table reduced to weighted distinct tuples of integer codes.

    Attributes
    ----------
    row_tuple: tuple id of every input row (so results can be mapped back to rows).
    tuple_weights: number of rows per tuple (float64, ready for ``np.bincount`` weights).
    tuple_gen: ``tuple_gen[j][level]`` is the generalized code of QI j at that level for every
        tuple.
    level_sizes: ``level_sizes[j][level]`` is the number of distinct generalized codes.
    level_labels: ``level_labels[j][level][code]`` is the label of a generalized code.
    value_counts: ``value_counts[j][level]`` is the number of rows per generalized code.
    leaf_counts: ``leaf_counts[j][level][code]`` is the number of hierarchy leaves under a
        generalized code (for the loss metric).
    domain_sizes: number of leaves of each QI's hierarchy.
    """

    qi: tuple[str, ...]
    heights: tuple[int, ...]
    n_records: int
    row_tuple: np.ndarray
    tuple_weights: np.ndarray
    tuple_gen: tuple[tuple[np.ndarray, ...], ...]
    level_sizes: tuple[tuple[int, ...], ...]
    level_labels: tuple[tuple[tuple[str, ...], ...], ...]
    value_counts: tuple[tuple[np.ndarray, ...], ...]
    leaf_counts: tuple[tuple[np.ndarray, ...], ...]
    domain_sizes: tuple[int, ...]
    tuple_sensitive: Mapping[str, np.ndarray]
    domains: Mapping[str, SensitiveDomain]

    @property
    def n_tuples(self) -> int:
        return len(self.tuple_weights)


def encode_table(
    df: pd.DataFrame,
    /,
    *,
    qi: Sequence[str],
    hierarchies: Mapping[str, Hierarchy],
    sensitive: Sequence[str] = (),
) -> EncodedTable:
    """Code the QIs through their hierarchies and collapse rows to weighted distinct tuples.

    Raises ``UnknownValuesError`` (naming the column) when a value is not a hierarchy leaf and
    ``NonFunctionalHierarchyError`` when a hierarchy is not a tree.
    """
    n = len(df)
    data_codes: list[tuple[np.ndarray, int]] = []
    per_level: list[list[np.ndarray]] = []  # data code -> generalized code, per level
    sizes: list[tuple[int, ...]] = []
    labels: list[tuple[tuple[str, ...], ...]] = []
    leaves: list[tuple[np.ndarray, ...]] = []
    heights: list[int] = []
    for column in qi:
        h = hierarchies.get(column)
        if h is None:
            raise HierarchyError(f"no hierarchy given for quasi-identifier {column!r}")
        if not h.is_functional():
            raise NonFunctionalHierarchyError(column)
        codes, uniques = pd.factorize(df[column], use_na_sentinel=True)
        leaf_rows = h.codes(pd.Series(np.asarray(uniques, dtype=object), dtype=object))
        if (codes < 0).any():
            h.codes(df[column])  # raises UnknownValuesError with the missing count
        data_codes.append((codes.astype(np.int64), len(uniques)))
        maps, level_size, level_label, level_leaves = [], [], [], []
        for level in range(h.height):
            lookup, names = h.level_codes(level)
            all_leaves = np.bincount(lookup, minlength=len(names))
            gen = lookup[leaf_rows]
            compact, used = pd.factorize(gen, sort=True)
            maps.append(compact.astype(np.int64))
            level_size.append(len(used))
            level_label.append(tuple(names[u] for u in used))
            level_leaves.append(all_leaves[used])
        per_level.append(maps)
        sizes.append(tuple(level_size))
        labels.append(tuple(level_label))
        leaves.append(tuple(level_leaves))
        heights.append(h.height)

    sensitive_codes: dict[str, np.ndarray] = {}
    domains: dict[str, SensitiveDomain] = {}
    for column in sensitive:
        codes, domain = sensitive_domain(df[column], column=column)
        sensitive_codes[column] = codes
        domains[column] = domain

    columns = [*data_codes, *((sensitive_codes[c], domains[c].size) for c in sensitive)]
    tuples = equivalence_classes(columns, n=n)
    row_tuple, first = tuples.ids, tuples.first_rows
    weights = tuples.sizes.astype(np.float64)
    tuple_gen = []
    counts = []
    for j, (codes, _) in enumerate(data_codes):
        tuple_codes = codes[first]
        tuple_gen.append(tuple(m[tuple_codes] for m in per_level[j]))
        counts.append(
            tuple(
                np.bincount(m[tuple_codes], weights=weights, minlength=sizes[j][level])
                for level, m in enumerate(per_level[j])
            )
        )
    return EncodedTable(
        qi=tuple(qi),
        heights=tuple(heights),
        n_records=n,
        row_tuple=row_tuple,
        tuple_weights=weights,
        tuple_gen=tuple(tuple_gen),
        level_sizes=tuple(sizes),
        level_labels=tuple(labels),
        value_counts=tuple(counts),
        leaf_counts=tuple(leaves),
        domain_sizes=tuple(len(hierarchies[c].levels) for c in qi),
        tuple_sensitive={c: sensitive_codes[c][first] for c in sensitive},
        domains=domains,
    )
