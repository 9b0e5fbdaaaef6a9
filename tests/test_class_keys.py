"""Equivalence-class keys (transforms.class_keys): classes equal pandas groupby, overflow
included; partition counts merge to the whole; ids are deterministic."""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms import class_keys
from transforms.class_keys import (
    KEY_LIMIT,
    ClassCounts,
    ClassKeyError,
    CodeColumn,
    column_codes,
    combine_codes,
    dense_ids,
    equivalence_classes,
    merge_counts,
)
from transforms.privacy_models import qi_class_ids
from transforms.utility import class_ids

# --- strategies ----------------------------------------------------------------------------


@st.composite
def frames(draw: st.DrawFn, *, n: int | None = None) -> pd.DataFrame:
    """Frames of low-cardinality ints, strings and floats with missing values, and
    high-cardinality ints (up to a distinct value per row)."""
    n = draw(st.integers(0, 60)) if n is None else n
    kinds = draw(st.lists(st.sampled_from(["low", "str", "float", "high"]), max_size=5))
    data: dict[str, object] = {}
    for j, kind in enumerate(kinds):
        if kind == "low":
            data[f"c{j}"] = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
        elif kind == "str":
            values = st.one_of(st.none(), st.sampled_from(["a", "b", "ア", ""]))
            data[f"c{j}"] = pd.Series(draw(st.lists(values, min_size=n, max_size=n)), dtype="str")
        elif kind == "float":
            values = st.sampled_from([0.5, 1.0, 2.5, math.nan])
            data[f"c{j}"] = draw(st.lists(values, min_size=n, max_size=n))
        else:
            data[f"c{j}"] = draw(st.lists(st.integers(0, 2**40), min_size=n, max_size=n))
    return pd.DataFrame(data, index=pd.RangeIndex(n))


@st.composite
def overflow_frames(draw: st.DrawFn) -> pd.DataFrame:
    """Eleven columns of 50+ distinct values each (product > 2**62), rows repeated so that
    classes have several rows, mixed with the columns of ``frames``."""
    m = draw(st.integers(50, 64))
    rows = np.asarray(
        draw(st.permutations([*range(m), *draw(st.lists(st.integers(0, m - 1), max_size=40))]))
    )
    high = {
        f"h{j}": np.asarray(
            draw(st.lists(st.integers(0, 2**40), min_size=m, max_size=m, unique=True))
        )[rows]
        for j in range(11)
    }
    mixed = draw(frames(n=len(rows)))
    at = draw(st.integers(0, len(mixed.columns)))  # where the wide columns start
    before, after = mixed.iloc[:, :at], mixed.iloc[:, at:]
    return pd.concat([before, pd.DataFrame(high), after], axis=1)


@st.composite
def code_columns(draw: st.DrawFn, *, max_size: int = 2**40) -> tuple[list[CodeColumn], int]:
    """Code columns with declared (global) cardinalities up to ``max_size``."""
    n = draw(st.integers(0, 80))
    sizes = draw(st.lists(st.integers(1, max_size), max_size=6))
    columns = []
    for size in sizes:
        few = draw(st.booleans())  # a few codes repeated, or codes spread over the range
        pool = (
            draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=4))
            if few
            else list(range(min(size, 1000)))
        )
        picks = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
        columns.append((np.asarray(picks, dtype=np.int64), size))
    return columns, n


def groupby_ids(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Reference: pandas' own classes, numbered in order of first appearance."""
    if not columns:
        return np.zeros(len(df), dtype=np.int64)
    return df.groupby(columns, dropna=False, sort=False).ngroup().to_numpy(dtype=np.int64)


def lexicographic_ids(columns: list[CodeColumn], n: int) -> np.ndarray:
    """Reference for ``sort=True``: rank of each row's code tuple."""
    if not columns:
        return np.zeros(n, dtype=np.int64)
    stacked = np.stack([codes for codes, _ in columns], axis=1)
    return np.unique(stacked, axis=0, return_inverse=True)[1].reshape(-1)


def codes_frame(columns: list[CodeColumn], n: int) -> pd.DataFrame:
    return pd.DataFrame({f"c{j}": codes for j, (codes, _) in enumerate(columns)}, index=range(n))


# --- classes equal pandas groupby ------------------------------------------------------------


def check_frame_classes(df: pd.DataFrame) -> None:
    qi = list(df.columns)
    expected = groupby_ids(df, qi)
    codes = list(column_codes(df, columns=qi))
    classes = equivalence_classes(codes, n=len(df))
    np.testing.assert_array_equal(classes.ids, expected)
    sizes = df.groupby(qi, dropna=False, sort=False).size().to_numpy() if qi else [len(df)]
    np.testing.assert_array_equal(classes.sizes, sizes if len(df) else [])
    first = pd.Series(np.arange(len(df))).groupby(expected).min().to_numpy()
    np.testing.assert_array_equal(classes.first_rows, first)
    ids, n_classes = qi_class_ids(df, qi=qi)
    np.testing.assert_array_equal(ids, expected)
    assert n_classes == classes.n_classes
    # utility.class_ids: the same partition, numbered in sorted order of the codes
    np.testing.assert_array_equal(class_ids(df, qi=qi), lexicographic_ids(codes, len(df)))


@settings(max_examples=150, deadline=None)
@given(df=frames())
def test_classes_equal_pandas_groupby(df: pd.DataFrame) -> None:
    check_frame_classes(df)


@settings(max_examples=60, deadline=None)
@given(df=overflow_frames())
def test_classes_equal_pandas_groupby_through_the_overflow_path(df: pd.DataFrame) -> None:
    sizes = [size for _, size in column_codes(df, columns=list(df.columns))]
    assert math.prod(sizes) >= KEY_LIMIT  # the partial key is re-factorized on the way
    check_frame_classes(df)


@settings(max_examples=200, deadline=None)
@given(data=code_columns())
def test_code_columns_with_large_cardinalities(data: tuple[list[CodeColumn], int]) -> None:
    columns, n = data
    key, radix = combine_codes(columns, n=n)
    assert key.dtype == np.int64 and radix < KEY_LIMIT
    assert ((key >= 0) & (key < radix)).all()
    if math.prod(size for _, size in columns) < KEY_LIMIT:  # exact mixed radix, no re-coding
        assert radix == math.prod(size for _, size in columns)
        if columns:
            np.testing.assert_array_equal(
                key, np.ravel_multi_index([c for c, _ in columns], [s for _, s in columns])
            )
    frame = codes_frame(columns, n)
    np.testing.assert_array_equal(
        equivalence_classes(columns, n=n).ids, groupby_ids(frame, list(frame.columns))
    )
    np.testing.assert_array_equal(
        equivalence_classes(columns, n=n, sort=True).ids, lexicographic_ids(columns, n)
    )


def test_overflow_is_re_factorized_and_stays_exact() -> None:
    rng = np.random.default_rng(3)
    n = 5000
    sizes = [2**31, 2**31, 2**31, 3]  # the product passes 2**62 at the second column
    columns = [(rng.integers(0, 4, n) * (s // 4), s) for s in sizes]
    _, radix = combine_codes(columns, n=n)
    assert radix < KEY_LIMIT < math.prod(sizes)
    frame = codes_frame(columns, n)
    ids = equivalence_classes(columns, n=n).ids
    np.testing.assert_array_equal(ids, groupby_ids(frame, list(frame.columns)))
    np.testing.assert_array_equal(
        equivalence_classes(columns, n=n, sort=True).ids, lexicographic_ids(columns, n)
    )
    # a single column wider than the limit is re-coded too
    wide = [(np.array([0, 2**62, 0, 5]), 2**63)]
    assert equivalence_classes(wide, n=4).ids.tolist() == [0, 1, 0, 2]


@pytest.mark.parametrize("bits", [40, 61])  # 40: (key, row) packs into int64; 61: it does not
@pytest.mark.parametrize("distinct", [50, 190_000])
def test_sorted_ids_agree_on_every_path(distinct: int, bits: int) -> None:
    # small radix: direct addressing; wide keys: hashing, or one sort when many classes
    rng = np.random.default_rng(distinct)
    n = 200_000
    values = rng.choice(2**bits, size=distinct, replace=False)
    key = values[rng.integers(0, distinct, n)]
    expected = np.unique(key, return_inverse=True)[1].reshape(-1)
    ids, n_classes = dense_ids(key, radix=2**bits, sort=True)
    np.testing.assert_array_equal(ids, expected)
    assert n_classes == len(np.unique(key))
    direct, _ = dense_ids(expected, radix=n_classes, sort=True)  # radix <= 4n: no hashing
    np.testing.assert_array_equal(direct, expected)


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.integers(0, 2**62 - 1), max_size=50),
    bound=st.sampled_from([None, 2**62]),
)
def test_packed_sorts_equal_numpy(values: list[int], bound: int | None) -> None:
    key = np.asarray(values, dtype=np.int64)
    small = key % 1000  # also keys whose (key, row) pairs pack into int64
    for k, radix in ((key, bound), (small, 1000)):
        ids, uniques = class_keys._sort_dense(k, radix)
        expected_uniques, expected_ids = np.unique(k, return_inverse=True)
        np.testing.assert_array_equal(ids, expected_ids.reshape(-1))
        np.testing.assert_array_equal(uniques, expected_uniques)
        distinct = pd.unique(k)
        np.testing.assert_array_equal(
            class_keys._argsort_distinct(distinct, radix), np.argsort(distinct)
        )


def test_no_columns_and_no_rows() -> None:
    assert combine_codes([], n=3)[0].tolist() == [0, 0, 0]
    assert qi_class_ids(pd.DataFrame({"a": [1, 2]}), qi=[])[1] == 1
    empty = equivalence_classes([(np.zeros(0, dtype=np.int64), 0)], n=0)
    assert empty.n_classes == 0 and empty.sizes.tolist() == [] and empty.first_rows.tolist() == []
    assert qi_class_ids(pd.DataFrame({"a": []}), qi=["a"])[1] == 0


def test_inputs_are_never_modified() -> None:
    codes = np.array([1, 0, 1], dtype=np.int64)
    other = np.array([2, 2, 0], dtype=np.int64)
    combine_codes([(codes, 2), (other, 3)], n=3)
    assert codes.tolist() == [1, 0, 1] and other.tolist() == [2, 2, 0]
    key, _ = combine_codes([(codes, 2)], n=3)  # one column: a copy, never the input itself
    assert not np.shares_memory(key, codes)


# --- mergeable counts ------------------------------------------------------------------------


@st.composite
def partitioned(draw: st.DrawFn) -> tuple[list[CodeColumn], int, np.ndarray]:
    columns, n = draw(code_columns(max_size=1000))
    parts = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    return columns, n, np.asarray(parts, dtype=np.int64)


def _counts_of(columns: list[CodeColumn], rows: np.ndarray) -> ClassCounts:
    return ClassCounts.from_codes([(codes[rows], size) for codes, size in columns], n=len(rows))


@settings(max_examples=200, deadline=None)
@given(data=partitioned(), order=st.randoms(use_true_random=False))
def test_partition_counts_merge_to_the_whole(
    data: tuple[list[CodeColumn], int, np.ndarray], order: random.Random
) -> None:
    columns, n, labels = data
    whole = ClassCounts.from_codes(columns, n=n)
    parts = [_counts_of(columns, np.flatnonzero(labels == p)) for p in range(4)]
    order.shuffle(parts)
    merged = merge_counts(parts)
    folded = parts[0]
    for part in parts[1:]:
        folded = folded.merge(part)
    for result in (merged, folded):
        np.testing.assert_array_equal(result.keys, whole.keys)
        np.testing.assert_array_equal(result.counts, whole.counts)
    assert merged.n_records == n
    # and the whole agrees with pandas: one count per distinct code tuple, keys ascending
    assert (np.diff(whole.keys) > 0).all()
    if columns and n:
        frame = codes_frame(columns, n)
        expected = frame.groupby(list(frame.columns), sort=True).size().reset_index(name="n")
        decoded = np.stack(whole.unravel(), axis=1)
        np.testing.assert_array_equal(decoded, expected[list(frame.columns)].to_numpy())
        np.testing.assert_array_equal(whole.counts, expected["n"].to_numpy())


def test_counts_refuse_what_cannot_be_merged() -> None:
    codes = np.array([0, 1], dtype=np.int64)
    a = ClassCounts.from_codes([(codes, 2)], n=2)
    b = ClassCounts.from_codes([(codes, 3)], n=2)
    with pytest.raises(ClassKeyError, match="different keys"):
        a.merge(b)
    with pytest.raises(ClassKeyError, match="could not be merged"):
        ClassCounts.from_codes([(codes, 2**31), (codes, 2**31)], n=2)
    with pytest.raises(ClassKeyError, match="outside"):
        ClassCounts.from_codes([(np.array([0, 2]), 2)], n=2)
    with pytest.raises(ClassKeyError, match="no class counts"):
        merge_counts([])


# --- determinism -----------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(data=code_columns(), seed=st.integers(0, 2**32 - 1))
def test_ids_are_deterministic(data: tuple[list[CodeColumn], int], seed: int) -> None:
    columns, n = data
    first = equivalence_classes(columns, n=n)
    again = equivalence_classes([(codes.copy(), size) for codes, size in columns], n=n)
    np.testing.assert_array_equal(first.ids, again.ids)
    # first appearance: class 0 is row 0's, every new class takes the next id
    np.testing.assert_array_equal(first.ids[first.first_rows], np.arange(first.n_classes))
    assert (np.diff(first.first_rows) > 0).all()
    # a function of the rows only: relabelling the codes of a column changes nothing
    rng = np.random.default_rng(seed)
    relabelled = []
    for codes, size in columns:
        present = np.unique(codes)
        mapping = dict(zip(present.tolist(), rng.permutation(present).tolist(), strict=True))
        relabelled.append((np.array([mapping[c] for c in codes.tolist()], np.int64), size))
    np.testing.assert_array_equal(equivalence_classes(relabelled, n=n).ids, first.ids)
    sorted_ids = equivalence_classes(columns, n=n, sort=True).ids
    np.testing.assert_array_equal(equivalence_classes(columns, n=n, sort=True).ids, sorted_ids)


@settings(deadline=None)
@given(
    cardinalities=st.lists(
        st.sampled_from([1, 2, 3, 255, 65_536, 65_537, 2**33, 2**40]), min_size=1, max_size=3
    ),
    n=st.integers(0, 300),
    seed=st.integers(0, 2**32 - 1),
)
def test_radix_order_is_the_stable_lexicographic_sort(
    cardinalities: list[int], n: int, seed: int
) -> None:
    """LSD radix on 16-bit digits: as np.lexsort, stable (ties keep row order), whether the
    columns fit one key or (product past KEY_LIMIT) are sorted one after another."""
    rng = np.random.default_rng(seed)
    columns = []
    for cardinality in cardinalities:
        # few distinct codes, so that ties occur, and the extremes of the range
        pool = np.unique(np.r_[0, cardinality - 1, rng.integers(0, cardinality, 3)])
        columns.append((rng.choice(pool, n).astype(np.int64), cardinality))
    expected = np.lexsort([codes for codes, _ in reversed(columns)])
    assert class_keys.radix_order(columns).tolist() == expected.tolist()
