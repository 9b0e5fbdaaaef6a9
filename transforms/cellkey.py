"""The cell key method for count tables (ABS, ONS, Destatis): consistent noise from record keys.

Every customer gets a permanent **record key** in [0, 1): an HMAC-SHA256 of their pseudonym
under a secret of its own (not the pseudonymization key), so nobody without the secret can
compute a customer's key, and the same customer has the same key every night. A cell's
**cell key** is the fractional part of the sum of its customers' record keys (each customer
once per cell, margins being cells of their own). The published count is the count plus the
perturbation the p-table (``transforms.ptable``) assigns to (count, cell key). So the same
cell content gets the same published value in every release, and a cell that gained or lost
one customer gets a fresh, unpredictable key: subtracting two releases shows noise, not the
customer.

Exact and order-independent sums. A float sum of record keys depends on the order of
addition, so the same content could get a different key in another run, on another
partitioning or after a different sort. Record keys are therefore **32-bit fixed-point
integers** (``uint64`` holding ``0 .. 2**32 - 1``; the float key is that integer / 2**32,
exact in float64). Their sums are integer sums: exact in any order, any grouping, any
partitioning (merge partial sums with ``combine_key_sums``), and reduced modulo ``2**32`` that
reduction commutes with addition. The cell key is ``(sum mod 2**32) / 2**32``. The p-table's
interval bounds are multiples of ``2**-32`` too, so the lookup has no rounding anywhere.

Which bits: the record key is the **first 4 bytes of the digest, big-endian** (the top 32 bits
of its first 8 bytes). 32 bits are 10 000 times finer than any probability a p-table holds,
and they leave room to sum 2**31 customers per cell in int64/uint64 without overflow (sums
of the fixed keys need no modular arithmetic from the aggregator: any integer ``sum`` works).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from transforms.errors import DataError, InternalError
from transforms.pseudonymize import MIN_KEY_BYTES, WeakKeyError
from transforms.ptable import PTable

KEY_BITS = 32
KEY_MODULUS = 1 << KEY_BITS
# Domain separation: a record key is never the HMAC of the same message as anything else, even
# if an operator configured the pseudonymization key here by mistake.
MESSAGE_PREFIX = b"anonrelease-record-key:"
_BLOCK = 64  # SHA-256 block size (RFC 2104)


class MissingPseudonymError(DataError, ValueError):
    """A record has no pseudonym, so it has no record key (names the column and the count)."""

    def __init__(self, column: object, count: int) -> None:
        super().__init__(f"column {column!r}: {count} missing pseudonym(s); no record key")
        self.column, self.count = column, count


class InvalidCountsError(DataError, ValueError):
    """Counts or cell keys that the perturbation cannot take (negative, mismatched, outside)."""


class PerturbationInvariantError(InternalError):
    """The perturbation produced a value it must never produce (a bug: fail closed)."""


def record_keys_fixed(pseudonyms: pd.Series, /, *, key: bytes) -> NDArray[np.uint64]:
    """Each pseudonym's record key as an integer ``0 .. 2**32 - 1`` (``uint64``).

    HMAC-SHA256(key, ``MESSAGE_PREFIX`` + pseudonym as UTF-8), first 4 bytes big-endian.
    The HMAC is RFC 2104 computed with its inner and outer hash states prepared once
    (the same bytes as ``hmac.digest``, about twice as fast over a million pseudonyms).
    """
    if len(key) < MIN_KEY_BYTES:
        raise WeakKeyError(len(key))
    missing = int(pseudonyms.isna().sum())
    if missing:
        raise MissingPseudonymError(pseudonyms.name, missing)
    padded = (hashlib.sha256(key).digest() if len(key) > _BLOCK else key).ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
    inner.update(MESSAGE_PREFIX)
    digests = []
    for value in pseudonyms.to_numpy(dtype=object):
        h = inner.copy()
        h.update(str(value).encode())
        o = outer.copy()
        o.update(h.digest())
        digests.append(o.digest()[:4])
    if not digests:
        return np.zeros(0, dtype=np.uint64)
    return np.frombuffer(b"".join(digests), dtype=">u4").astype(np.uint64)


def record_keys(pseudonyms: pd.Series, /, *, key: bytes) -> NDArray[np.float64]:
    """Each pseudonym's record key in [0, 1): ``record_keys_fixed / 2**32`` (exact)."""
    return record_keys_fixed(pseudonyms, key=key).astype(np.float64) / KEY_MODULUS


def key_sums(
    cell_ids: NDArray[np.integer], keys: NDArray[np.uint64], /, *, n_cells: int
) -> NDArray[np.uint64]:
    """Per cell ``0 .. n_cells - 1``, the sum of its contributions' fixed keys mod ``2**32``.

    Each (customer, cell) pair must appear once (deduplicate before: a customer counts once
    per cell). Exact: the keys are summed as two 16-bit halves with ``np.bincount``, whose
    float64 sums are exact below 2**53 (2**37 contributions per cell).
    """
    ids = np.asarray(cell_ids, dtype=np.int64)
    k = np.asarray(keys, dtype=np.uint64)
    if ids.shape != k.shape:
        raise InvalidCountsError("cell ids and record keys differ in length")
    low = np.bincount(ids, weights=(k & 0xFFFF).astype(np.float64), minlength=n_cells)
    high = np.bincount(ids, weights=(k >> 16).astype(np.float64), minlength=n_cells)
    out = (high.astype(np.uint64) << np.uint64(16)) + low.astype(np.uint64)
    return out % np.uint64(KEY_MODULUS)


def combine_key_sums(*partials: NDArray[np.integer]) -> NDArray[np.uint64]:
    """Merge per-cell key sums of disjoint parts of the records (sum mod ``2**32``)."""
    total = np.zeros(np.shape(partials[0]), dtype=np.uint64)
    for part in partials:
        total = (total + np.asarray(part, dtype=np.uint64) % KEY_MODULUS) % KEY_MODULUS
    return total


def cell_keys(key_sums: NDArray[np.integer]) -> NDArray[np.float64]:
    """Cell keys in [0, 1) from integer sums of fixed record keys: ``(s mod 2**32) / 2**32``.

    Only integer sums are accepted: a float sum of float keys depends on the order of
    addition and would break "same content, same key".
    """
    sums = np.asarray(key_sums)
    if not np.issubdtype(sums.dtype, np.integer):
        raise InvalidCountsError("cell keys need integer sums of fixed-point record keys")
    if np.issubdtype(sums.dtype, np.signedinteger) and np.any(sums < 0):
        raise InvalidCountsError("a key sum is negative")
    return (sums.astype(np.uint64) % np.uint64(KEY_MODULUS)).astype(np.float64) / KEY_MODULUS


def perturb(
    counts: NDArray[np.integer], keys: NDArray[np.float64], ptable: PTable
) -> NDArray[np.int64]:
    """Published counts: ``count + v`` with ``v`` looked up for (count, cell key).

    Counts above the p-table's last row use that row. Zero stays zero, no published value
    lies in ``1..js``, none is negative: checked on the way out (``InternalError`` if not).
    """
    c = np.asarray(counts)
    k = np.asarray(keys, dtype=np.float64)
    if c.shape != k.shape:
        raise InvalidCountsError("counts and cell keys differ in length")
    if not np.issubdtype(c.dtype, np.integer):
        raise InvalidCountsError("counts must be integers")
    c = c.astype(np.int64)
    if np.any(c < 0):
        raise InvalidCountsError(f"{int((c < 0).sum())} negative count(s)")
    if not np.all((k >= 0) & (k < 1)):
        raise InvalidCountsError("cell keys must lie in [0, 1)")
    published = c + ptable.lookup(c, k)
    if (
        np.any(published < 0)
        or np.any((published >= 1) & (published <= ptable.js))
        or np.any(published[c == 0] != 0)
    ):
        raise PerturbationInvariantError("perturbation broke 0 -> 0, >= 0 or no 1..js")
    return published
