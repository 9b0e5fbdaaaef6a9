"""Equivalence-class keys: per-column integer codes in, one int64 key per row out.

Every equivalence class of the project is counted here, on integer codes, never on labels, so
the same code can count a whole frame or its partitions (Dask) and sum the partitions' counts.

A column is ``(codes, cardinality)`` with ``0 <= codes < cardinality``. The key of a row is the
mixed-radix number of its codes, first column most significant::

    key = (...((c0 * s1 + c1) * s2 + c2) ...) * s_last + c_last

While the product of the cardinalities stays below ``KEY_LIMIT = 2**62`` the key is exact and
its order is the lexicographic order of the code tuples. ``KEY_LIMIT`` leaves a bit of int64
headroom (the sum of two keys never wraps), as every copy of this loop did before.

Overflow (one strategy everywhere): when the next column would take the product to
``KEY_LIMIT`` or beyond, the partial key is re-factorized first, i.e. densely re-coded to
``0..d-1`` over the ``d <= n`` distinct partial keys present, and multiplication goes on from
radix ``d`` (a column whose own cardinality is that large is re-coded the same way). The key
stays exact, but it now depends on which rows are present: it identifies classes within one
call, not across calls.

Class ids (``dense_ids``, ``equivalence_classes``) are ``0..n_classes-1`` in order of first
appearance (hash-based ``pd.factorize``), or with ``sort=True`` in lexicographic order of the
code tuples; re-factorization keeps that order too. Both are deterministic functions of the
codes, never of hashing or the machine; first-appearance ids do not even depend on the code
book (any relabelling of a column's codes gives the same ids).

Mergeable keys (``ClassCounts``): counts of two partitions can be summed by key only if the key
is the same function of the code tuple in both, so every partition must use the same columns in
the same order, one global code book per column (a value has the same code everywhere) and the
global cardinalities, and there must be no re-factorization. ``ClassCounts.from_codes`` refuses
cardinalities whose product reaches ``KEY_LIMIT``; codes from ``pd.factorize`` per partition are
never mergeable (the same value gets different codes in different partitions).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from transforms.errors import InternalError

if TYPE_CHECKING:  # pandas is imported where it is used: a check on codes never loads it
    import pandas as pd

__all__ = [
    "KEY_LIMIT",
    "ClassCounts",
    "ClassKeyError",
    "CodeColumn",
    "EquivalenceClasses",
    "column_codes",
    "combine_codes",
    "dense_ids",
    "equivalence_classes",
    "merge_counts",
    "radix_order",
]

KEY_LIMIT = 2**62
_DIRECT_MIN = 1 << 16  # key ranges counted by direct addressing (no hashing) up to max(this, 4n)
_SAMPLE = 1 << 18  # rows sampled (at most) to choose hashing or sorting for sorted ids
_SAMPLE_FROM = 1 << 17  # below this many rows hashing is used: either takes milliseconds

CodeColumn: TypeAlias = tuple[np.ndarray, int]
"""Integer codes of one column (``0 <= codes < cardinality``) and the cardinality."""


class ClassKeyError(InternalError, ValueError):
    """Codes that cannot form (mergeable) keys: a caller broke the contract of the codes.

    Names sizes and column positions, never values.
    """


def column_codes(df: pd.DataFrame, /, *, columns: Sequence[str]) -> Iterator[CodeColumn]:
    """Codes of each column by ``pd.factorize`` (first appearance; a missing value is a value).

    Lazily, one column at a time, so ``combine_codes`` holds one column's codes at once. The
    cardinality is at least 1, so an empty frame still gives a valid radix.

    Examples
    --------
    >>> import pandas as pd
    >>> [(codes, size)] = column_codes(pd.DataFrame({"a": ["x", "y", "x"]}), columns=["a"])
    >>> codes.tolist(), size
    ([0, 1, 0], 2)
    """
    import pandas as pd

    for column in columns:
        codes, uniques = pd.factorize(df[column], use_na_sentinel=False)
        yield codes.astype(np.int64, copy=False), max(len(uniques), 1)


def combine_codes(
    columns: Iterable[CodeColumn], /, *, n: int, sort: bool = False, bound: int = KEY_LIMIT
) -> tuple[np.ndarray, int]:
    """One int64 key per row and its radix (``0 <= key < radix``): mixed radix, re-factorized
    before it would reach ``KEY_LIMIT`` (see the module docstring).

    Columns of cardinality 1 carry nothing and are skipped; ``sort`` chooses the order of a
    re-factorization (as in ``dense_ids``). A lower ``bound`` re-factorizes the partial key
    as soon as the radix would reach it (``equivalence_classes`` uses this to keep every key
    within direct addressing). The inputs are never modified, and the key is a new array.

    Examples
    --------
    >>> key, radix = combine_codes([(np.array([0, 1, 1]), 2), (np.array([2, 0, 2]), 3)], n=3)
    >>> key.tolist(), radix
    ([2, 3, 5], 6)
    """
    key: np.ndarray | None = None
    owned = False  # False while key is still an input's array (never written to)
    radix = 1
    for raw, cardinality in columns:
        size = int(cardinality)
        if size == 1:
            continue
        codes = np.asarray(raw, dtype=np.int64)
        if key is not None and radix * size >= min(bound, KEY_LIMIT):
            key, radix = dense_ids(key, radix=radix, sort=sort)
            owned, radix = True, max(radix, 1)  # no rows: keys stay in [0, 1)
        if radix * size >= KEY_LIMIT:
            codes, size = dense_ids(codes, radix=size, sort=sort)
            size = max(size, 1)
            if radix * size >= KEY_LIMIT:  # only past ~2**31 rows
                raise ClassKeyError(f"{n} rows have too many classes for an int64 key")
        if key is None:
            key = codes
        elif owned:
            key *= size
            key += codes
        else:
            key = key * size  # the first write allocates; then in place
            key += codes
            owned = True
        radix *= size
    if key is None:
        return np.zeros(n, dtype=np.int64), 1
    return (key if owned else key.copy()), radix


def dense_ids(
    key: np.ndarray, /, *, radix: int | None = None, sort: bool = False
) -> tuple[np.ndarray, int]:
    """Dense ids ``0..n_classes-1`` of the distinct keys and ``n_classes``.

    First appearance by default (``pd.factorize``, hash-based, O(n)); with ``sort=True`` in
    key order: by direct addressing when ``radix`` is small, else by hashing and sorting the
    distinct keys, or by one sort of all rows when a sample shows many classes (speed only:
    all three give the same ids).

    Examples
    --------
    >>> ids, n = dense_ids(np.array([7, 3, 7, 5]))
    >>> ids.tolist(), n
    ([0, 1, 0, 2], 3)
    >>> dense_ids(np.array([7, 3, 7, 5]), sort=True)[0].tolist()
    [2, 0, 2, 1]
    """
    n = len(key)
    if radix is not None and radix <= 1:
        return np.zeros(n, dtype=np.int64), 1 if n else 0
    if not sort:
        import pandas as pd

        ids, uniques = pd.factorize(key)
        return ids.astype(np.int64, copy=False), len(uniques)
    ids, uniques = _sorted_dense(key, radix)
    return ids, len(uniques)


def radix_order(columns: Sequence[CodeColumn], /) -> np.ndarray:
    """The stable permutation that sorts rows by the code columns, first most significant.

    An LSD radix sort on 16-bit digits: numpy's stable sort of a 16-bit array is a counting
    sort, O(n) and about ten times faster than a comparison sort of int64 keys, so a sort by
    (class, value) costs a few such passes however many classes there are.

    Examples
    --------
    >>> radix_order([(np.array([1, 0, 1, 0]), 2), (np.array([0, 2, 1, 2]), 3)]).tolist()
    [1, 3, 0, 2]
    """
    n = len(columns[0][0]) if columns else 0
    if len(columns) > 1 and math.prod(max(int(c), 1) for _, c in columns) < KEY_LIMIT:
        # one mixed-radix key needs no more 16-bit digits than the columns apart, often fewer
        key, radix = combine_codes(columns, n=n)
        columns = [(key, radix)]
    order = np.arange(n, dtype=np.int64)
    for codes, cardinality in reversed(columns):
        digits = max(1, -(-max(int(cardinality) - 1, 0).bit_length() // 16))
        for d in range(digits):
            digit = (codes[order] >> (16 * d)).astype(np.uint16)  # wraps to the 16-bit digit
            order = order[np.argsort(digit, kind="stable")]
    return order


def _sorted_dense(key: np.ndarray, radix: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Ids in key order and the distinct keys, ascending."""
    n = len(key)
    if radix is not None and radix <= max(_DIRECT_MIN, 4 * n):
        present = np.bincount(key, minlength=radix) > 0
        rank = np.cumsum(present, dtype=np.int64) - 1
        return rank[key], np.flatnonzero(present)
    if n >= _SAMPLE_FROM and not _few_classes(key):
        return _sort_dense(key, radix)
    import pandas as pd

    ids, uniques = pd.factorize(key)
    order = _argsort_distinct(uniques, radix)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    return rank[ids], uniques[order]


def _few_classes(key: np.ndarray) -> bool:
    """Whether the rows fall into fewer than n / 10 classes, estimated from a fixed sample.

    Chao1 estimate of the number of classes from a sample (keys seen once f1, twice f2):
    ``seen + f1 (f1 - 1) / (2 (f2 + 1))``. Below n / 10 (the crossover measured on 10 M rows)
    hashing all rows and sorting the distinct keys is faster, above it one sort of all rows.
    Speed only: both give the same ids.
    """
    n = len(key)
    sample = key[np.random.default_rng(0).integers(0, n, min(_SAMPLE, n // 4))]
    _, counts = np.unique(sample, return_counts=True)
    f1 = int(np.count_nonzero(counts == 1))
    f2 = int(np.count_nonzero(counts == 2))
    return len(counts) + f1 * (f1 - 1) / (2 * (f2 + 1)) < n / 10


def _packable(bound: int, count: int) -> int | None:
    """Bits for an index below ``count`` if ``(value << bits) | index`` fits in int64 for
    every value below ``bound``, else None. A plain sort of such packed values is an argsort
    (values distinct, or ties broken by index) at about half the cost of ``np.argsort``."""
    bits = max(count - 1, 0).bit_length()
    return bits if max(bound - 1, 0).bit_length() + bits <= 63 else None


def _argsort_distinct(values: np.ndarray, bound: int | None) -> np.ndarray:
    """``np.argsort`` of distinct non-negative values below ``bound``."""
    m = len(values)
    if bound is None:
        bound = int(values.max()) + 1 if m else 1
    bits = _packable(bound, m)
    if bits is None:
        return np.argsort(values)
    packed = (values << bits) | np.arange(m, dtype=np.int64)
    packed.sort()
    return packed & ((1 << bits) - 1)


def _sort_dense(key: np.ndarray, radix: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(key, return_inverse=True)`` by one sort of (key, row) packed into int64."""
    n = len(key)
    if radix is None:
        radix = int(key.max()) + 1 if n else 1
    bits = _packable(radix, n)
    if bits is None:
        uniques, inverse = np.unique(key, return_inverse=True)
        return inverse.reshape(-1).astype(np.int64, copy=False), uniques
    packed = (key << bits) | np.arange(n, dtype=np.int64)
    packed.sort()
    rows = packed & ((1 << bits) - 1)
    packed >>= bits  # now the keys, ascending
    new = np.empty(n, dtype=bool)
    new[:1] = True
    np.not_equal(packed[1:], packed[:-1], out=new[1:])
    ids = np.empty(n, dtype=np.int64)
    ids[rows] = np.cumsum(new, dtype=np.int64) - 1
    return ids, packed[new]


@dataclass(frozen=True, eq=False)
class EquivalenceClasses:
    """Class id of every row (``0..n_classes-1``), with sizes and first rows on demand."""

    ids: np.ndarray
    n_classes: int

    @cached_property
    def sizes(self) -> np.ndarray:
        """Rows per class (int64)."""
        return np.bincount(self.ids, minlength=self.n_classes).astype(np.int64, copy=False)

    @cached_property
    def first_rows(self) -> np.ndarray:
        """Position of the first row of every class (a representative, e.g. a distinct tuple)."""
        first = np.full(self.n_classes, len(self.ids), dtype=np.int64)
        np.minimum.at(first, self.ids, np.arange(len(self.ids), dtype=np.int64))
        return first


def equivalence_classes(
    columns: Iterable[CodeColumn], /, *, n: int, sort: bool = False
) -> EquivalenceClasses:
    """Equivalence classes of the rows of code columns: ``combine_codes`` then ``dense_ids``.

    With ``sort`` the partial key is re-factorized whenever its radix would pass
    ``max(2**16, 4 n)``, so every step is direct addressing (no hashing, no sort, no pandas);
    the ids are the same (ranks of the code tuples), only faster.

    Examples
    --------
    >>> classes = equivalence_classes([(np.array([1, 0, 1, 1]), 2)], n=4)
    >>> classes.ids.tolist(), classes.sizes.tolist(), classes.first_rows.tolist()
    ([0, 1, 0, 0], [3, 1], [0, 1])
    """
    bound = max(_DIRECT_MIN, 4 * n) + 1 if sort else KEY_LIMIT
    key, radix = combine_codes(columns, n=n, sort=sort, bound=bound)
    return EquivalenceClasses(*dense_ids(key, radix=radix, sort=sort))


@dataclass(frozen=True, eq=False)
class ClassCounts:
    """Rows per class as mergeable counts: distinct keys ascending, their counts (int64).

    ``radices`` are the cardinalities the keys were built with; only counts with equal
    radices (and the same global code books, see the module docstring) can be merged.
    """

    radices: tuple[int, ...]
    keys: np.ndarray
    counts: np.ndarray

    @classmethod
    def from_codes(cls, columns: Sequence[CodeColumn], /, *, n: int) -> ClassCounts:
        """Count one partition; ``columns`` must carry the global cardinalities.

        Raises ``ClassKeyError`` when a code lies outside its cardinality or the product of
        the cardinalities reaches ``KEY_LIMIT`` (such keys would need re-factorization).

        Examples
        --------
        >>> part = ClassCounts.from_codes([(np.array([1, 0, 1]), 3)], n=3)
        >>> part.keys.tolist(), part.counts.tolist()
        ([0, 1], [1, 2])
        """
        radices = tuple(int(size) for _, size in columns)
        if math.prod(radices) >= KEY_LIMIT:
            raise ClassKeyError(
                f"cardinalities {list(radices)} multiply to 2**62 or more: keys would be "
                "re-factorized per partition and could not be merged"
            )
        for j, (codes, size) in enumerate(columns):
            if len(codes) != n:
                raise ClassKeyError(f"column {j} has {len(codes)} codes for {n} rows")
            if n and (int(np.min(codes)) < 0 or int(np.max(codes)) >= size):
                raise ClassKeyError(f"column {j} has codes outside 0..{size - 1}")
        key, radix = combine_codes(columns, n=n)
        ids, keys = _sorted_dense(key, radix)
        counts = np.bincount(ids, minlength=len(keys)).astype(np.int64, copy=False)
        return cls(radices, keys, counts)

    @property
    def n_classes(self) -> int:
        return len(self.keys)

    @property
    def n_records(self) -> int:
        return int(self.counts.sum())

    def merge(self, other: ClassCounts, /) -> ClassCounts:
        """Counts of both partitions summed per key.

        Examples
        --------
        >>> a = ClassCounts.from_codes([(np.array([0, 2]), 3)], n=2)
        >>> b = ClassCounts.from_codes([(np.array([2, 1]), 3)], n=2)
        >>> merged = a.merge(b)
        >>> merged.keys.tolist(), merged.counts.tolist()
        ([0, 1, 2], [1, 1, 2])
        """
        return merge_counts([self, other])

    def unravel(self) -> tuple[np.ndarray, ...]:
        """Codes of every class, one array per column (inverse of the mixed-radix key)."""
        if not self.radices:
            return ()
        return tuple(
            codes.astype(np.int64, copy=False)
            for codes in np.unravel_index(self.keys, self.radices)
        )


def merge_counts(parts: Sequence[ClassCounts], /) -> ClassCounts:
    """Sum the counts of partitions that share their radices (any number, any order)."""
    if not parts:
        raise ClassKeyError("no class counts to merge")
    radices = parts[0].radices
    for part in parts[1:]:
        if part.radices != radices:
            raise ClassKeyError(
                f"class counts with radices {list(part.radices)} and {list(radices)} "
                "use different keys"
            )
    keys = np.concatenate([p.keys for p in parts])
    counts = np.concatenate([p.counts for p in parts])
    order = np.argsort(keys, kind="stable")  # runs of sorted keys: close to linear
    keys, counts = keys[order], counts[order]
    if not len(keys):
        return ClassCounts(radices, keys, counts)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return ClassCounts(radices, keys[starts], np.add.reduceat(counts, starts))
