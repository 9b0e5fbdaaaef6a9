from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from property_budget import examples

from transforms.pseudonymize import WeakKeyError, pseudonymize

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))

keys = st.binary(min_size=32, max_size=64)
ids = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=50, unique=True)


@settings(max_examples=examples(50), deadline=None)
@given(ids=ids, key=keys)
def test_pseudonyms_are_stable_and_injective_per_key(ids: list[int], key: bytes) -> None:
    values = pd.Series(ids)
    first = pseudonymize(values, key=key, domain="customer")
    again = pseudonymize(values, key=key, domain="customer")
    assert first.tolist() == again.tolist()
    assert first.nunique() == len(ids)


@settings(max_examples=examples(50), deadline=None)
@given(ids=ids, a=keys, b=keys)
def test_pseudonyms_differ_across_keys(ids: list[int], a: bytes, b: bytes) -> None:
    if a == b:
        return
    values = pd.Series(ids)
    left = set(pseudonymize(values, key=a, domain="customer"))
    right = set(pseudonymize(values, key=b, domain="customer"))
    assert left.isdisjoint(right)


def test_pseudonym_is_not_the_plain_hash_and_depends_on_domain() -> None:
    import hashlib

    values = pd.Series([12345])
    token = pseudonymize(values, key=KEY_A, domain="customer").iloc[0]
    assert token != hashlib.sha256(b"12345").hexdigest()
    assert token != pseudonymize(values, key=KEY_A, domain="store").iloc[0]
    assert len(token) == 64


def test_short_keys_are_refused() -> None:
    with pytest.raises(WeakKeyError):
        pseudonymize(pd.Series([1]), key=b"short", domain="customer")


def test_missing_ids_are_an_error_not_a_shared_token() -> None:
    with pytest.raises(ValueError, match="missing"):
        pseudonymize(pd.Series([1, None], name="customer_id"), key=KEY_A, domain="customer")
