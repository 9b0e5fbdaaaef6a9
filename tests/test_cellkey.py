"""The cell key method: record keys, exact order-free cell keys, and the perturbation.

The promise: the same cell content gets the same published value in every run, whatever
the order or partitioning of the records; no published value is negative or in 1..js; an
empty cell stays empty.
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.cellkey import (
    KEY_MODULUS,
    MESSAGE_PREFIX,
    InvalidCountsError,
    MissingPseudonymError,
    cell_keys,
    combine_key_sums,
    key_sums,
    perturb,
    record_keys,
    record_keys_fixed,
)
from transforms.pseudonymize import WeakKeyError
from transforms.ptable import generate_ptable

KEY = b"r" * 32
OTHER_KEY = b"s" * 32
PTABLE = generate_ptable(3, 2.0, 2)

pseudonym = st.text(alphabet="0123456789abcdef", min_size=1, max_size=64)
customers = st.lists(pseudonym, min_size=1, max_size=60, unique=True)


def publish(pseudonyms: list[str], key: bytes = KEY) -> int:
    """One cell holding ``pseudonyms``: its published count."""
    fixed = record_keys_fixed(pd.Series(pseudonyms, dtype=object), key=key)
    sums = key_sums(np.zeros(len(fixed), dtype=np.int64), fixed, n_cells=1)
    return int(perturb(np.array([len(pseudonyms)]), cell_keys(sums), PTABLE)[0])


def test_record_key_is_the_hmac_of_the_pseudonym_top_32_bits() -> None:
    values = pd.Series(["ab12", "ff00"])
    fixed = record_keys_fixed(values, key=KEY)
    digest = hmac.digest(KEY, MESSAGE_PREFIX + b"ab12", hashlib.sha256)
    assert fixed.dtype == np.uint64
    assert int(fixed[0]) == int.from_bytes(digest[:4], "big")
    floats = record_keys(values, key=KEY)
    assert floats.dtype == np.float64
    assert np.array_equal(floats * KEY_MODULUS, fixed.astype(np.float64))
    assert np.all((floats >= 0) & (floats < 1))


def test_a_key_longer_than_the_hash_block_is_hashed_first_as_rfc_2104_says() -> None:
    long_key = bytes(range(100))
    digest = hmac.digest(long_key, MESSAGE_PREFIX + b"x", hashlib.sha256)
    fixed = record_keys_fixed(pd.Series(["x"]), key=long_key)
    assert int(fixed[0]) == int.from_bytes(digest[:4], "big")


def test_short_keys_and_missing_pseudonyms_are_refused() -> None:
    with pytest.raises(WeakKeyError):
        record_keys_fixed(pd.Series(["a"]), key=b"short")
    with pytest.raises(MissingPseudonymError, match="'pseudonym': 1 missing"):
        record_keys_fixed(pd.Series(["a", None], name="pseudonym"), key=KEY)
    assert record_keys_fixed(pd.Series([], dtype=object), key=KEY).shape == (0,)


@given(customers)
def test_the_record_key_depends_on_the_secret(values: list[str]) -> None:
    a = record_keys_fixed(pd.Series(values), key=KEY)
    b = record_keys_fixed(pd.Series(values), key=OTHER_KEY)
    assert np.array_equal(a, record_keys_fixed(pd.Series(values), key=KEY))  # permanent
    # 32-bit keys: an accidental match of all of them is out of reach
    assert not np.array_equal(a, b)


@given(customers, st.randoms(use_true_random=False), st.integers(1, 5))
def test_the_cell_key_ignores_record_order_and_partitioning(
    values: list[str], rnd: object, n_parts: int
) -> None:
    fixed = record_keys_fixed(pd.Series(values), key=KEY)
    whole = key_sums(np.zeros(len(fixed), dtype=np.int64), fixed, n_cells=1)
    order = list(range(len(values)))
    rnd.shuffle(order)  # type: ignore[attr-defined]
    shuffled = fixed[order]
    cuts = sorted(rnd.randint(0, len(values)) for _ in range(n_parts - 1))  # type: ignore[attr-defined]
    parts = np.split(shuffled, cuts)
    partial = [key_sums(np.zeros(len(p), dtype=np.int64), p, n_cells=1) for p in parts]
    assert np.array_equal(combine_key_sums(*partial), whole)
    # a plain integer sum in any order, reduced at the end, is the same key too
    assert cell_keys(np.array([int(shuffled.sum())]))[0] == cell_keys(whole)[0]


@given(customers, st.randoms(use_true_random=False))
def test_same_content_same_published_value_across_runs(values: list[str], rnd: object) -> None:
    night_two = list(values)
    rnd.shuffle(night_two)  # type: ignore[attr-defined]
    assert publish(values) == publish(night_two)


@given(customers, pseudonym)
def test_changed_content_changes_the_key_unchanged_never(values: list[str], extra: str) -> None:
    base = publish(values)
    assert publish(list(values)) == base
    if extra not in values:
        fixed = record_keys_fixed(pd.Series([*values, extra]), key=KEY)
        before = cell_keys(np.array([int(fixed[:-1].sum())]))[0]
        after = cell_keys(np.array([int(fixed.sum())]))[0]
        # the new customer moves the key by their own record key (mod 1): a fresh draw
        assert after == (before + float(fixed[-1]) / KEY_MODULUS) % 1.0


def test_one_customer_more_can_change_the_published_value() -> None:
    """Across many cells, adding one customer re-draws the noise: values move beyond +1."""
    rng = np.random.default_rng(5)
    moved_other_than_by_one = 0
    for cell in range(200):
        people = [f"{cell}-{k}" for k in range(rng.integers(10, 60))]
        diff = publish([*people, f"{cell}-new"]) - publish(people)
        moved_other_than_by_one += diff != 1
    assert moved_other_than_by_one > 100


def test_key_sums_per_cell_are_exact_and_modular() -> None:
    rng = np.random.default_rng(1)
    keys = rng.integers(0, KEY_MODULUS, 100_000, dtype=np.uint64)
    cells = rng.integers(0, 7, 100_000)
    got = key_sums(cells, keys, n_cells=9)
    expected = [sum(int(k) for k in keys[cells == c]) % KEY_MODULUS for c in range(9)]
    assert got.tolist() == expected
    assert got[7] == got[8] == 0  # empty cells


def test_cell_keys_refuse_float_sums() -> None:
    with pytest.raises(InvalidCountsError, match="integer sums"):
        cell_keys(np.array([0.5]))
    with pytest.raises(InvalidCountsError):
        cell_keys(np.array([-1]))
    assert cell_keys(np.array([KEY_MODULUS + 1], dtype=np.uint64))[0] == 1 / KEY_MODULUS


@given(
    st.lists(st.integers(0, 500), min_size=1, max_size=200),
    st.data(),
)
def test_perturbation_never_publishes_1_to_js_or_negatives(counts: list[int], data: object) -> None:
    n = len(counts)
    raw = data.draw(  # type: ignore[attr-defined]
        st.lists(st.integers(0, KEY_MODULUS - 1), min_size=n, max_size=n)
    )
    keys = np.array(raw, dtype=np.float64) / KEY_MODULUS
    c = np.array(counts, dtype=np.int64)
    published = perturb(c, keys, PTABLE)
    assert published.dtype == np.int64
    assert np.all(published >= 0)
    assert not np.any((published >= 1) & (published <= PTABLE.js))
    assert np.all(published[c == 0] == 0)
    assert np.all(np.abs(published - c) <= PTABLE.D)


def test_the_lookup_follows_the_cumulative_intervals() -> None:
    row = PTABLE.cumulative[-1]
    lb = np.concatenate([[0.0], row[:-1]])
    for k, v in enumerate(PTABLE.perturbations):
        if row[k] == lb[k]:
            continue
        for key in (lb[k], (lb[k] + row[k]) / 2, row[k] - 2.0**-32):
            assert perturb(np.array([100]), np.array([key]), PTABLE)[0] == 100 + v
    # counts above the table's last row use the last row
    keys = np.linspace(0, 1, 1000, endpoint=False)
    assert np.array_equal(
        perturb(np.full(1000, 10**6), keys, PTABLE) - 10**6,
        perturb(np.full(1000, PTABLE.imax), keys, PTABLE) - PTABLE.imax,
    )


def test_the_empirical_noise_matches_the_table() -> None:
    keys = (np.arange(2**16, dtype=np.float64) + 0.5) / 2**16
    for count in (1, 2, 3, 4, 50):
        v = perturb(np.full(keys.size, count), keys, PTABLE) - count
        shares = np.bincount(v + PTABLE.D, minlength=2 * PTABLE.D + 1) / keys.size
        row = PTABLE.probabilities[min(count, PTABLE.imax)]
        assert np.allclose(shares, row, atol=2e-4)


@pytest.mark.parametrize(
    ("counts", "keys"),
    [([1, 2], [0.5]), ([-1], [0.5]), ([1], [1.0]), ([1], [float("nan")]), ([1.5], [0.5])],
)
def test_bad_inputs_to_perturb_are_refused(counts: list[float], keys: list[float]) -> None:
    with pytest.raises(InvalidCountsError):
        perturb(np.array(counts), np.array(keys), PTABLE)
