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
otherwise the next candidate / next widest attribute is tried. The algorithm runs on the
distinct (QI, sensitive) tuples weighted by their record counts (weighted medians, weighted
class statistics), so duplicated records cost nothing; a partition whose records share all
QI values cannot be cut. Partitions live on an explicit stack of tuple-index arrays (no
recursion limit) and all per-partition work is numpy on those arrays. Deterministic.

Recoding per partition: numeric ``[min-max]`` (or the single value), hierarchical to the
lowest common ancestor of the partition's values, other categorical to ``{a,b,...}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from transforms.class_keys import equivalence_classes
from transforms.errors import DataError, PrivacyCheckFailed
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


class MissingQIValuesError(DataError, ValueError):
    """A quasi-identifier has missing values; Mondrian needs every value to be coded."""

    def __init__(self, column: str, n_missing: int) -> None:
        self.column = column
        self.n_missing = n_missing
        super().__init__(f"quasi-identifier {column!r} has {n_missing} missing value(s)")


class MondrianInfeasibleError(PrivacyCheckFailed, ValueError):
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

    def bind(self, first: np.ndarray, weights: np.ndarray) -> None:
        """Work on distinct tuples: ``first`` row of each, ``weights`` rows per tuple."""
        self.weights = weights
        self.tuple_sensitive = {
            c: (codes[first], dom) for c, (codes, dom) in self.sensitive.items()
        }

    def _stats_violate(self, idx: np.ndarray, ids: np.ndarray, n_classes: int) -> str | None:
        if not self.others:
            return None
        stats = class_stats(
            ids,
            n_classes,
            weights=self.weights[idx].astype(np.float64),
            sensitive={c: (codes[idx], dom) for c, (codes, dom) in self.tuple_sensitive.items()},
        )
        for model in self.others:
            if model.violating(stats).any():
                # class name and column only: a model's repr may embed a hierarchy's values
                column = model.sensitive_column
                return f"{type(model).__name__}({column})" if column else type(model).__name__
        return None

    def first_violated(self, idx: np.ndarray) -> str | None:
        """Name of a model the partition ``idx`` (one class) violates, or None."""
        if int(self.weights[idx].sum()) < self.k:
            return f"KAnonymity({self.k})"
        return self._stats_violate(idx, np.zeros(len(idx), dtype=np.int64), 1)

    def cut_ok(self, idx: np.ndarray, left: np.ndarray, n_left: int, n_total: int) -> bool:
        if n_left < self.k or n_total - n_left < self.k:
            return False
        if not self.others:
            return True
        return self._stats_violate(idx, (~left).astype(np.int64), 2) is None


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
        under: int = self.under[level][self.ancestors[lo, level]]
        return (under - 1) / (m - 1)

    def _lca_level(self, lo: int, hi: int) -> int:
        assert self.ancestors is not None
        same = self.ancestors[lo] == self.ancestors[hi]
        return int(np.argmax(same)) if same.any() else self.ancestors.shape[1] - 1

    def cuts(self, col: np.ndarray, w: np.ndarray, lo: int, hi: int) -> list[np.ndarray]:
        """Candidate cuts (left-half masks over the partition's tuples), best first.

        For a tree hierarchy first the boundary between children of the partition's common
        ancestor that balances the halves best (each half's ancestor moves down the tree);
        for a set first the cut that halves the distinct values (the set shrinks fastest);
        then the (weighted, lower) median cut.
        """
        out = []
        total = int(w.sum())
        span = hi - lo + 1
        dense = span <= 4 * len(col) + 64
        counts = np.bincount(col - lo, weights=w, minlength=span) if dense else None
        if self.kind == "hierarchy" and self.aligned:
            assert self.ancestors is not None
            level = self._lca_level(lo, hi)
            if level >= 2:
                if counts is None:
                    counts = np.bincount(col - lo, weights=w, minlength=span)
                child = self.ancestors[lo : hi + 1, level - 1]
                boundaries = np.flatnonzero(child[1:] != child[:-1]) + 1  # offsets from lo
                left_n = np.cumsum(counts)[boundaries - 1]
                best = boundaries[np.argmax(np.minimum(left_n, total - left_n))]
                out.append(col < lo + best)
        elif self.kind == "set":
            present = np.unique(col)
            out.append(col < present[len(present) // 2])
        target = (total + 1) // 2  # lower median: first code whose cumulative weight reaches it
        if counts is not None:
            cum = np.cumsum(counts)
            median = lo + int(np.searchsorted(cum, target))
        else:
            order = np.argsort(col, kind="stable")
            cum = np.cumsum(w[order])
            median = int(col[order[np.searchsorted(cum, target)]])
        if median >= hi:
            median = int(col[col < hi].max())
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


def _partition(
    x: np.ndarray, weights: np.ndarray, dims: Sequence[_Dim], checker: _CutChecker
) -> list[np.ndarray]:
    """Cut the distinct tuples (rows of ``x``, ``weights`` records each) into partitions."""
    n, d = x.shape
    stack = [np.arange(n, dtype=np.int64)]
    final: list[np.ndarray] = []
    while stack:
        idx = stack.pop()
        w = weights[idx]
        total = int(w.sum())
        cut = False
        if total >= 2 * checker.k and len(idx) > 1:
            sub = x[idx]
            lo = sub.min(axis=0).tolist()
            hi = sub.max(axis=0).tolist()
            width = np.array([dims[j].width(sub[:, j], lo[j], hi[j]) for j in range(d)])
            for j in np.argsort(-width, kind="stable"):
                if width[j] <= 0:
                    break
                for left in dims[j].cuts(sub[:, j], w, lo[j], hi[j]):
                    n_left = int(w[left].sum())
                    if checker.cut_ok(idx, left, n_left, total):
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


def _recode(dim: _Dim, codes: np.ndarray, pid: np.ndarray, n_parts: int) -> pd.Series:
    """Label of every partition: its extent on this dimension (``codes`` per tuple)."""
    lo = np.full(n_parts, np.iinfo(np.int64).max)
    hi = np.full(n_parts, -1)
    np.minimum.at(lo, pid, codes)
    np.maximum.at(hi, pid, codes)
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
            row_anc = dim.ancestors[codes, level]
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
        pairs = np.unique(pid * m + codes)
        owners, members = pairs // m, pairs % m
        starts = np.searchsorted(owners, np.arange(n_parts))
        ends = np.searchsorted(owners, np.arange(n_parts), side="right")
        value_names = [str(v) for v in dim.labels]
        part_labels = np.empty(n_parts, dtype=object)
        for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
            members_i = members[s:e].tolist()
            if len(members_i) == 1:
                part_labels[i] = value_names[members_i[0]]
            else:
                part_labels[i] = "{" + ",".join(value_names[c] for c in members_i) + "}"
    return pd.Series(part_labels, dtype="str")


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
    dims = [
        _encode(df, col, col in numeric, None if col in numeric else hierarchies.get(col))
        for col in qi
    ]
    # Work on distinct (QI, sensitive) tuples weighted by their record counts: duplicated
    # records cost nothing and can never be separated anyway.
    key_columns = [(dim.codes, dim.n_codes) for dim in dims]
    key_columns += [(codes, dom.size) for codes, dom in checker.sensitive.values()]
    tuples = equivalence_classes(key_columns, n=n)
    row_tuple, first, weights = tuples.ids, tuples.first_rows, tuples.sizes
    checker.bind(first, weights)
    all_tuples = np.arange(len(first), dtype=np.int64)
    violated = checker.first_violated(all_tuples)
    if violated is not None:
        raise MondrianInfeasibleError(violated, n)
    if dims:
        x = np.stack([dim.codes[first] for dim in dims], axis=1)
        parts = _partition(x, weights, dims, checker)
    else:
        parts = [all_tuples]
    tuple_pid = np.empty(len(first), dtype=np.int64)
    for i, idx in enumerate(parts):
        tuple_pid[idx] = i
    n_parts = len(parts)
    pid = tuple_pid[row_tuple]
    out = df.copy()
    for dim in dims:
        labels = _recode(dim, dim.codes[first], tuple_pid, n_parts)
        out[dim.column] = labels.take(pid).set_axis(df.index)
    loss = ncp_per_attribute(
        df.iloc[first],
        qi=qi,
        classes=tuple_pid,
        weights=weights,
        numeric=list(numeric),
        hierarchies={c: h for c, h in hierarchies.items() if c in qi and c not in numeric},
    )
    return MondrianResult(
        data=out,
        n_partitions=n_parts,
        min_class_size=int(np.bincount(tuple_pid, weights=weights).min()),
        loss=loss,
        partition=pid,
    )
