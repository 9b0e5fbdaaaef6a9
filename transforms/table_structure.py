"""The shape of a statistical table with margins: dimensions as code trees.

A protected table is a frame of *cells*: one row per combination of codes, one code per
dimension, where a code is a leaf category, a subtotal (a hierarchy's inner node) or
``TOTAL`` (the root). A cell whose code in dimension ``d`` is an inner node equals the sum of
the cells with that node's children in ``d`` and the same codes elsewhere. Secondary
suppression, its audit, the cell key method and the DP noise all work on this shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

TOTAL = "TOTAL"


@dataclass(frozen=True)
class TableDimension:
    """One dimension: every code with its parent (``TOTAL`` is the root, its parent None).

    ``parents`` is ordered: leaves and subtotals in the order the table lists them.
    """

    name: str
    parents: Mapping[str, str | None]

    def __post_init__(self) -> None:
        roots = [c for c, p in self.parents.items() if p is None]
        if roots != [TOTAL]:
            raise ValueError(f"dimension {self.name!r}: the one root must be {TOTAL!r}")
        unknown = {p for p in self.parents.values() if p is not None} - set(self.parents)
        if unknown:
            raise ValueError(f"dimension {self.name!r}: {len(unknown)} parent(s) not a code")

    @classmethod
    def flat(cls, name: str, categories: tuple[str, ...]) -> TableDimension:
        """Categories under one ``TOTAL`` margin."""
        return cls(name, {**dict.fromkeys(categories, TOTAL), TOTAL: None})

    @cached_property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.parents)

    @cached_property
    def children(self) -> dict[str, tuple[str, ...]]:
        """Each inner code's children, in order (leaves have none)."""
        out: dict[str, list[str]] = {}
        for code, parent in self.parents.items():
            if parent is not None:
                out.setdefault(parent, []).append(code)
        return {code: tuple(kids) for code, kids in out.items()}

    @cached_property
    def leaves(self) -> tuple[str, ...]:
        return tuple(c for c in self.parents if c not in self.children)


def interior_mask(cells: pd.DataFrame, dims: Sequence[TableDimension]) -> np.ndarray:
    """Cells whose every code is a leaf (the table's body, no margin or subtotal)."""
    mask = np.ones(len(cells), dtype=bool)
    for dim in dims:
        mask &= cells[dim.name].isin(dim.leaves).to_numpy()
    return mask
