"""Strict multidimensional Mondrian (LeFevre, DeWitt, Ramakrishnan 2006): local recoding.

Full-domain generalization recodes a value the same way in every row; Mondrian cuts the
QI space into boxes of at least k records (and whatever else the models ask) and recodes
each box to its own extent, so it keeps much more detail on dense data.

The algorithm works on integer codes: every QI column is coded once (numeric columns by
value rank, hierarchical ones in depth-first hierarchy order, others in sorted order). The
normalized width of a partition on an attribute is its NCP there (value range over the
whole range; input values under the common ancestor; distinct values), and the widest
attribute is cut first: at the median code, or for a tree hierarchy first at the boundary
between subtrees of the common ancestor that balances the halves best (so each half's
ancestor moves down). A cut is kept only if both halves satisfy every privacy model,
otherwise the next candidate / next widest attribute is tried. Partitions live on an
explicit stack of row-index arrays, so there is no recursion limit, and all per-partition
work is numpy on those arrays. A partition whose rows share all QI values cannot be cut.
The result is deterministic.

Recoding per partition: numeric ``[min-max]`` (or the single value), hierarchical to the
lowest common ancestor of the partition's values, other categorical to ``{a,b,...}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from transforms.privacy_models import (
    KAnonymity,
    PrivacyModel,
    PrivacyModelError,
    SensitiveDomain,
    class_stats,
    sensitive_domain,
)
from transforms.utility import UnknownColumnError, hierarchy_ancestors, ncp_per_attribute

if TYPE_CHECKING:
    from transforms.hierarchy import Hierarchy

__all__ = [
    "MissingQIValuesError",
    "MondrianInfeasibleError",
    "MondrianResult",
    "mondrian",
]


class MissingQIValuesError(ValueError):
    """A quasi-identifier has missing values; Mondrian needs every value to be coded."""

    def __init__(self, column: str, n_missing: int) -> None:
        self.column = column
        self.n_missing = n_missing
        super().__init__(f"quasi-identifier {column!r} has {n_missing} missing value(s)")


class MondrianInfeasibleError(ValueError):
    """Even the whole table (one partition) violates a privacy model."""

    def __init__(self, model: str, n_rows: int) -> None:
        self.model = model
        self.n_rows = n_rows
        super().__init__(f"the whole table of {n_rows} rows does not satisfy {model}")


@dataclass(frozen=True)
class MondrianResult:
    """Recoded data (same rows, index and non-QI columns) and what the recoding cost.

    ``partition`` is the partition id of every row (0..n_partitions-1, positional),
    ``loss`` the normalized certainty penalty per QI (record-weighted, in [0, 1]).
    """

    data: pd.DataFrame
    n_partitions: int
    min_class_size: int
    loss: Mapping[str, float]
    partition: np.ndarray = field(repr=False)

    @property
    def ncp(self) -> float:
        """Mean NCP over the QIs (0 = no loss, 1 = everything generalized away)."""
        return float(np.mean(list(self.loss.values()))) if self.loss else 0.0


# --------------------------------------------------------------------------------------
# Model checks on a cut: both halves as a two-class ClassStats, judged by the models' own
# vectorized ``violating`` (the same code as check_privacy and the lattice search).


class _CutChecker:
    """Decides whether a cut of a partition keeps every model satisfied on both halves."""

    def __init__(self, df: pd.DataFrame, models: Sequence[PrivacyModel], sensitive: str | None):
        self.k = 1
        self.others: list[PrivacyModel] = []
        self.sensitive: dict[str, tuple[np.ndarray, SensitiveDomain]] = {}
        for model in models:
            if isinstance(model, KAnonymity):
                self.k = max(self.k, int(model.k))
                continue
            column = model.sensitive_column
            if column is not None and sensitive is not None and column != sensitive:
                raise PrivacyModelError(
                    f"model {type(model).__name__} uses column {column!r} "
                    f"but sensitive={sensitive!r}"
                )
            if column is not None and column not in self.sensitive:
                if column not in df.columns:
                    raise UnknownColumnError([column])
                self.sensitive[column] = sensitive_domain(df[column], column=column)
            self.others.append(model)

    def _violates(self, idx: np.ndarray, ids: np.ndarray, n_classes: int) -> bool:
        if not self.others:
            return False
        stats = class_stats(
            ids,
            n_classes,
            sensitive={c: (codes[idx], dom) for c, (codes, dom) in self.sensitive.items()},
        )
        return any(bool(m.violating(stats).any()) for m in self.others)

    def first_violated(self, idx: np.ndarray) -> str | None:
        """Name of a model the partition ``idx`` (one class) violates, or None."""
        if len(idx) < self.k:
            return f"KAnonymity({self.k})"
        ids = np.zeros(len(idx), dtype=np.int64)
        for model in self.others:
            stats = class_stats(
                ids,
                1,
                sensitive={c: (codes[idx], dom) for c, (codes, dom) in self.sensitive.items()},
            )
            if model.violating(stats).any():
                return repr(model)
        return None

    def cut_ok(self, idx: np.ndarray, left: np.ndarray, n_left: int) -> bool:
        if n_left < self.k or len(idx) - n_left < self.k:
            return False
        return not self._violates(idx, (~left).astype(np.int64), 2)


# --------------------------------------------------------------------------------------
# Encoding


@dataclass(frozen=True)
class _Dim:
    """One QI, integer-coded, with what the cut and the recoding need."""

    column: str
    codes: np.ndarray  # per row, int64
    kind: str  # "numeric" | "hierarchy" | "set"
    labels: np.ndarray  # per code: original value (object)
    scale: np.ndarray  # numeric: per code, (value - min) / (max - min)
    ancestors: np.ndarray | None = None  # hierarchy: per code x level, ancestor code
    ancestor_labels: tuple[tuple[str, ...], ...] = ()
    under: tuple[np.ndarray, ...] = ()  # hierarchy: per level, input values under each node
    aligned: bool = False  # hierarchy is a tree: cut between subtrees of the common ancestor

    @property
    def n_codes(self) -> int:
        return len(self.labels)

    def width(self, col: np.ndarray, lo: int, hi: int) -> float:
        """Normalized extent of a partition: its NCP on this attribute (0 = one value)."""
        if lo == hi:
            return 0.0
        m = self.n_codes
        if self.kind == "numeric":
            return float(self.scale[hi] - self.scale[lo])
        if self.kind == "set":
            return (np.count_nonzero(np.bincount(col, minlength=m)) - 1) / (m - 1)
        assert self.ancestors is not None
        if not self.aligned:
            return (hi - lo) / (m - 1)
        level = self._lca_level(lo, hi)
        return (self.under[level][self.ancestors[lo, level]] - 1) / (m - 1)

    def _lca_level(self, lo: int, hi: int) -> int:
        assert self.ancestors is not None
        same = self.ancestors[lo] == self.ancestors[hi]
        return int(np.argmax(same)) if same.any() else self.ancestors.shape[1] - 1

    def cuts(self, col: np.ndarray, lo: int, hi: int) -> list[np.ndarray]:
        """Candidate cuts (left-half masks), best first.

        The median cut; for a tree hierarchy first the boundary between children of the
        partition's common ancestor that balances the halves best, so that each half's
        ancestor moves down the tree.
        """
        out = []
        if self.kind == "hierarchy" and self.aligned:
            assert self.ancestors is not None
            level = self._lca_level(lo, hi)
            if level >= 2:
                child = self.ancestors[lo : hi + 1, level - 1]
                boundaries = np.flatnonzero(child[1:] != child[:-1]) + 1  # offsets from lo
                counts = np.cumsum(np.bincount(col - lo, minlength=hi - lo + 1))
                left_n = counts[boundaries - 1]
                best = boundaries[np.argmax(np.minimum(left_n, len(col) - left_n))]
                out.append(col < lo + best)
        half = (len(col) - 1) // 2
        median = np.partition(col, half)[half]
        if median >= hi:
            median = col[col < hi].max()
        median_cut = col <= median
        if not out or not np.array_equal(out[0], median_cut):
            out.append(median_cut)
        return out


def _encode(df: pd.DataFrame, column: str, numeric: bool, hierarchy: Hierarchy | None) -> _Dim:
    series = df[column]
    n_missing = int(series.isna().sum())
    if n_missing:
        raise MissingQIValuesError(column, n_missing)
    if numeric:
        values = series.to_numpy(dtype=np.float64)
        uniq, codes = np.unique(values, return_inverse=True)
        span = float(uniq[-1] - uniq[0]) if len(uniq) > 1 else 1.0
        labels = np.asarray(series.drop_duplicates().sort_values().to_numpy(), dtype=object)
        return _Dim(column, codes.astype(np.int64), "numeric", labels, (uniq - uniq[0]) / span)
    codes0, uniques = pd.factorize(series, sort=True)
    uniques_s = pd.Series(np.asarray(uniques, dtype=object))
    empty = np.zeros(0)
    if hierarchy is None:
        return _Dim(column, codes0.astype(np.int64), "set", uniques_s.to_numpy(), empty)
    anc, anc_labels = hierarchy_ancestors(hierarchy, uniques_s)
    # depth-first order: sort leaves by their path from the top, so subtrees are contiguous
    order = np.lexsort(tuple(anc[:, level] for level in range(anc.shape[1])))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    anc = anc[order]
    under = tuple(np.bincount(anc[:, level]) for level in range(anc.shape[1]))
    is_tree = getattr(hierarchy, "is_functional", None)
    return _Dim(
        column,
        rank[codes0].astype(np.int64),
        "hierarchy",
        uniques_s.to_numpy()[order],
        empty,
        anc,
        anc_labels,
        under,
        bool(is_tree()) if callable(is_tree) else False,
    )


# --------------------------------------------------------------------------------------
# Partitioning


def _partition(x: np.ndarray, dims: Sequence[_Dim], checker: _CutChecker) -> list[np.ndarray]:
    n, d = x.shape
    stack = [np.arange(n, dtype=np.int64)]
    final: list[np.ndarray] = []
    while stack:
        idx = stack.pop()
        cut = False
        if len(idx) >= 2 * checker.k:
            sub = x[idx]
            lo = sub.min(axis=0).tolist()
            hi = sub.max(axis=0).tolist()
            width = np.array([dims[j].width(sub[:, j], lo[j], hi[j]) for j in range(d)])
            for j in np.argsort(-width, kind="stable"):
                if width[j] <= 0:
                    break
                for left in dims[j].cuts(sub[:, j], lo[j], hi[j]):
                    if checker.cut_ok(idx, left, int(np.count_nonzero(left))):
                        stack.append(idx[~left])
                        stack.append(idx[left])
                        cut = True
                        break
                if cut:
                    break
        if not cut:
            final.append(idx)
    return final


def _format_number(value: object) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _recode(dim: _Dim, pid: np.ndarray, n_parts: int) -> np.ndarray:
    """Label of every row: its partition's extent on this dimension."""
    lo = np.full(n_parts, np.iinfo(np.int64).max)
    hi = np.full(n_parts, -1)
    np.minimum.at(lo, pid, dim.codes)
    np.maximum.at(hi, pid, dim.codes)
    if dim.kind == "numeric":
        part_labels = np.array(
            [
                _format_number(dim.labels[a])
                if a == b
                else f"[{_format_number(dim.labels[a])}-{_format_number(dim.labels[b])}]"
                for a, b in zip(lo.tolist(), hi.tolist(), strict=True)
            ],
            dtype=object,
        )
    elif dim.kind == "hierarchy":
        assert dim.ancestors is not None
        part_labels = np.empty(n_parts, dtype=object)
        todo = np.ones(n_parts, dtype=bool)
        for level in range(dim.ancestors.shape[1]):
            row_anc = dim.ancestors[dim.codes, level]
            alo = np.full(n_parts, np.iinfo(np.int64).max)
            ahi = np.full(n_parts, -1)
            np.minimum.at(alo, pid, row_anc)
            np.maximum.at(ahi, pid, row_anc)
            done = todo & (alo == ahi)
            names = np.asarray(dim.ancestor_labels[level], dtype=object)
            part_labels[done] = names[alo[done]]
            todo &= ~done
        # a forest without a common top: list the top-level values
        if todo.any():
            part_labels[todo] = "*"
    else:
        m = len(dim.labels)
        pairs = np.unique(pid * m + dim.codes)
        owners, members = pairs // m, pairs % m
        starts = np.searchsorted(owners, np.arange(n_parts))
        ends = np.searchsorted(owners, np.arange(n_parts), side="right")
        names = [str(v) for v in dim.labels]
        part_labels = np.empty(n_parts, dtype=object)
        for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
            members_i = members[s:e].tolist()
            if len(members_i) == 1:
                part_labels[i] = names[members_i[0]]
            else:
                part_labels[i] = "{" + ",".join(names[c] for c in members_i) + "}"
    return part_labels[pid]


def mondrian(
    df: pd.DataFrame,
    /,
    *,
    qi: Sequence[str],
    models: Sequence[PrivacyModel],
    hierarchies: Mapping[str, Hierarchy] | None = None,
    numeric: Sequence[str] = (),
    sensitive: str | None = None,
) -> MondrianResult:
    """Recode ``qi`` by strict multidimensional Mondrian so every partition meets ``models``.

    Parameters
    ----------
    df : input table; rows, index and non-QI columns are returned unchanged.
    qi : quasi-identifier columns to recode.
    models : privacy models from ``transforms.privacy_models``; a cut is kept only if
        both halves satisfy all of them (t-closeness compares with the whole table).
    hierarchies : per categorical QI, recode to the lowest common ancestor; without one
        a categorical QI becomes the set ``{a,b}`` of its partition's values.
    numeric : QIs cut and recoded by value (``[lo-hi]``).
    sensitive : sensitive column for models that do not name their own.

    Examples
    --------
    >>> from transforms.privacy_models import KAnonymity
    >>> df = pd.DataFrame({"age": [21, 22, 35, 36], "x": [1, 2, 3, 4]})
    >>> mondrian(df, qi=["age"], models=[KAnonymity(2)], numeric=["age"]).data["age"].tolist()
    ['[21-22]', '[21-22]', '[35-36]', '[35-36]']
    """
    qi = list(qi)
    hierarchies = dict(hierarchies or {})
    missing = [c for c in [*qi, *numeric] if c not in df.columns]
    if missing:
        raise UnknownColumnError(missing)
    unknown_numeric = [c for c in numeric if c not in qi]
    if unknown_numeric:
        raise UnknownColumnError(unknown_numeric)
    if sensitive is not None and sensitive in qi:
        raise ValueError(f"sensitive column {sensitive!r} is also a quasi-identifier")
    n = len(df)
    checker = _CutChecker(df, models, sensitive)
    if n == 0:
        return MondrianResult(df.copy(), 0, 0, {c: 0.0 for c in qi}, np.zeros(0, np.int64))
    everything = np.arange(n, dtype=np.int64)
    violated = checker.first_violated(everything)
    if violated is not None:
        raise MondrianInfeasibleError(violated, n)
    dims = [
        _encode(df, col, col in numeric, None if col in numeric else hierarchies.get(col))
        for col in qi
    ]
    if dims:
        x = np.stack([dim.codes for dim in dims], axis=1)
        parts = _partition(x, dims, checker)
    else:
        parts = [everything]
    pid = np.empty(n, dtype=np.int64)
    for i, idx in enumerate(parts):
        pid[idx] = i
    n_parts = len(parts)
    out = df.copy()
    for dim in dims:
        out[dim.column] = pd.Series(_recode(dim, pid, n_parts), index=df.index, dtype="str")
    loss = ncp_per_attribute(
        df,
        qi=qi,
        classes=pid,
        numeric=list(numeric),
        hierarchies={c: h for c, h in hierarchies.items() if c in qi and c not in numeric},
    )
    return MondrianResult(
        data=out,
        n_partitions=n_parts,
        min_class_size=int(np.bincount(pid).min()),
        loss=loss,
        partition=pid,
    )
