"""Information loss per attribute, so a release can say what anonymization cost.

Two families:

* full-domain generalization (one level per attribute, as found by the lattice search):
  non-uniform entropy in bits per attribute, its share of the attribute's maximum
  (everything generalized to the top) and the generalization intensity
  ``level / (height - 1)``;
* local recoding (Mondrian, or any table whose equivalence classes are known):
  normalized certainty penalty (NCP) per attribute, a record-weighted mean in [0, 1].

Results hold column names and numbers only, never a row value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from transforms.class_keys import column_codes, equivalence_classes
from transforms.errors import ConfigurationError

if TYPE_CHECKING:
    from transforms.hierarchy import Hierarchy

__all__ = [
    "AttributeLoss",
    "UnknownColumnError",
    "class_ids",
    "full_domain_loss",
    "hierarchy_ancestor_codes",
    "hierarchy_ancestors",
    "ncp_per_attribute",
]


class UnknownColumnError(ConfigurationError, KeyError):
    """A requested quasi-identifier is not a column of the frame."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        super().__init__(f"columns not in frame: {list(self.columns)}")


@dataclass(frozen=True, slots=True)
class AttributeLoss:
    """Loss of one attribute under full-domain generalization.

    ``entropy_bits`` is ARX's monotonic non-uniform entropy of this attribute,
    ``entropy_share`` that value divided by its maximum (all values generalized to one),
    ``intensity`` is ``level / (height - 1)``.
    """

    level: int
    height: int
    entropy_bits: float
    entropy_share: float
    intensity: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _check_columns(df: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise UnknownColumnError(missing)


def class_ids(df: pd.DataFrame, /, *, qi: Sequence[str]) -> np.ndarray:
    """Equivalence-class id per row (0..n_classes-1), from integer codes, vectorized.

    Missing values form their own value. With no QI every row is in class 0. Ids follow the
    sorted order of the rows' QI codes (``transforms.class_keys`` with ``sort=True``).
    """
    _check_columns(df, qi)
    return equivalence_classes(column_codes(df, columns=qi), n=len(df), sort=True).ids


def hierarchy_ancestors(
    hierarchy: Hierarchy, leaves: pd.Series
) -> tuple[np.ndarray, tuple[tuple[str, ...], ...]]:
    """Code of each leaf's ancestor at every level, shape (len(leaves), height), and labels.

    ``labels[level][code]`` is the ancestor's label. Uses only ``Hierarchy.height`` and
    ``Hierarchy.generalize``, so any implementation of that interface works. Level 0
    codes the leaves themselves (as strings, the hierarchy's own type).
    """
    leaves = pd.Series(np.asarray(leaves, dtype=object)).astype(str)
    out = np.empty((len(leaves), hierarchy.height), dtype=np.int64)
    labels = []
    for level in range(hierarchy.height):
        gen = leaves if level == 0 else hierarchy.generalize(leaves, level=level)
        codes, uniques = pd.factorize(pd.Series(gen).reset_index(drop=True), sort=True)
        out[:, level] = codes
        labels.append(tuple(str(u) for u in uniques))
    return out, tuple(labels)


def hierarchy_ancestor_codes(hierarchy: Hierarchy, leaves: pd.Series) -> np.ndarray:
    """Integer code of each leaf's ancestor at every level: shape (len(leaves), height)."""
    return hierarchy_ancestors(hierarchy, leaves)[0]


def _group_min_max(values: np.ndarray, ids: np.ndarray, n_groups: int) -> tuple[np.ndarray, ...]:
    lo = np.full(n_groups, np.iinfo(np.int64).max if values.dtype.kind in "iu" else np.inf)
    hi = np.full(n_groups, np.iinfo(np.int64).min if values.dtype.kind in "iu" else -np.inf)
    lo = lo.astype(values.dtype)
    hi = hi.astype(values.dtype)
    np.minimum.at(lo, ids, values)
    np.maximum.at(hi, ids, values)
    return lo, hi


def _distinct_per_group(codes: np.ndarray, ids: np.ndarray, n_groups: int) -> np.ndarray:
    n_codes = int(codes.max()) + 1 if len(codes) else 1
    pairs = np.unique(ids * n_codes + codes)
    return np.bincount(pairs // n_codes, minlength=n_groups)


def ncp_per_attribute(
    original: pd.DataFrame,
    /,
    *,
    qi: Sequence[str],
    classes: np.ndarray | None = None,
    generalized: pd.DataFrame | None = None,
    numeric: Sequence[str] = (),
    hierarchies: Mapping[str, Hierarchy] | None = None,
    weights: np.ndarray | None = None,
) -> dict[str, float]:
    """Normalized certainty penalty per QI, record-weighted mean in [0, 1].

    The classes are ``classes`` (an id per row) or the equivalence classes of
    ``generalized`` (same rows, same order as ``original``). Per class and attribute:

    * numeric: ``(max - min) / (global max - global min)`` of the original values;
    * with a hierarchy: ``(d(LCA) - 1) / (d - 1)`` where ``d(LCA)`` is the number of
      distinct input values under the lowest common ancestor of the class's values and
      ``d`` the number of distinct input values;
    * otherwise: ``(distinct in class - 1) / (distinct overall - 1)``.

    Deriving the penalty from the original values and the class membership makes it
    comparable across tools whatever their label formats. ``weights`` (records per row)
    lets a table of distinct tuples stand for the records it collapses.
    """
    _check_columns(original, qi)
    hierarchies = hierarchies or {}
    if classes is None:
        if generalized is None:
            raise TypeError("ncp_per_attribute needs classes or generalized")
        if len(generalized) != len(original):
            raise ValueError(f"generalized has {len(generalized)} rows, original {len(original)}")
        classes = class_ids(generalized, qi=qi)
    classes = np.asarray(classes, dtype=np.int64)
    if len(classes) != len(original):
        raise ValueError(f"classes has {len(classes)} entries, original {len(original)} rows")
    n = len(original)
    if n == 0:
        return {col: 0.0 for col in qi}
    _, classes = np.unique(classes, return_inverse=True)
    classes = classes.reshape(-1)
    n_groups = int(classes.max()) + 1
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if len(weights) != n:
            raise ValueError(f"weights has {len(weights)} entries, original {n} rows")
    sizes = np.bincount(classes, weights=weights, minlength=n_groups)
    total = float(sizes.sum())
    out: dict[str, float] = {}
    for col in qi:
        series = original[col]
        if col in numeric:
            vals = series.to_numpy(dtype=np.float64)
            span = float(vals.max() - vals.min())
            if span == 0:
                out[col] = 0.0
                continue
            lo, hi = _group_min_max(vals, classes, n_groups)
            penalty = (hi - lo) / span
        else:
            codes, uniques = pd.factorize(series, use_na_sentinel=False)
            d = len(uniques)
            if d <= 1:
                out[col] = 0.0
                continue
            if col in hierarchies:
                leaves = pd.Series(uniques)
                anc = hierarchy_ancestor_codes(hierarchies[col], leaves)
                row_anc = anc[codes]
                penalty = np.full(n_groups, -1.0)
                for level in range(anc.shape[1]):
                    lo, hi = _group_min_max(row_anc[:, level], classes, n_groups)
                    # values under each ancestor at this level, counted on the input domain
                    under = np.bincount(anc[:, level])
                    fresh = (lo == hi) & (penalty < 0)
                    penalty[fresh] = (under[lo[fresh]] - 1) / (d - 1)
                penalty[penalty < 0] = 1.0
            else:
                distinct = _distinct_per_group(codes.astype(np.int64), classes, n_groups)
                penalty = (distinct - 1) / (d - 1)
        out[col] = float(np.dot(penalty, sizes) / total)
    return out


def _entropy_bits(leaf_counts: np.ndarray, gen_codes: np.ndarray) -> float:
    gen_counts = np.bincount(gen_codes, weights=leaf_counts)
    return float(np.sum(leaf_counts * np.log2(gen_counts[gen_codes] / leaf_counts)))


def full_domain_loss(
    original: pd.DataFrame,
    /,
    *,
    qi: Sequence[str],
    hierarchies: Mapping[str, Hierarchy],
    transformation: Mapping[str, int],
) -> dict[str, AttributeLoss]:
    """Per-attribute loss of a full-domain generalization (a level per QI).

    Entropy follows ARX's monotonic non-uniform entropy: for every original value ``v``,
    ``count(v) * log2(count(gen(v)) / count(v))``, counts on the input, suppression
    ignored. Summing ``entropy_bits`` over the QIs gives ARX's loss.
    """
    _check_columns(original, qi)
    out: dict[str, AttributeLoss] = {}
    for col in qi:
        hierarchy = hierarchies[col]
        level = int(transformation[col])
        height = int(hierarchy.height)
        if not 0 <= level < height:
            raise ValueError(f"level {level} out of range for {col!r} (height {height})")
        codes, uniques = pd.factorize(original[col], use_na_sentinel=False)
        leaf_counts = np.bincount(codes, minlength=len(uniques)).astype(np.float64)
        leaves = pd.Series(uniques)
        anc = hierarchy_ancestor_codes(hierarchy, leaves)
        bits = _entropy_bits(leaf_counts, anc[:, level])
        top = _entropy_bits(leaf_counts, np.zeros(len(uniques), dtype=np.int64))
        out[col] = AttributeLoss(
            level=level,
            height=height,
            entropy_bits=bits,
            entropy_share=bits / top if top > 0 else 0.0,
            intensity=level / (height - 1) if height > 1 else 0.0,
        )
    return out
