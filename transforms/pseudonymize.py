"""Keyed pseudonyms: the same customer gets the same token every night, nobody without the key
can recompute or reverse it, and a new key unlinks every past release."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd

from transforms.errors import ConfigurationError

MIN_KEY_BYTES = 32


class WeakKeyError(ConfigurationError, ValueError):
    """The HMAC key is too short to resist brute force over a small id space."""

    def __init__(self, length: int) -> None:
        super().__init__(f"HMAC key has {length} bytes; at least {MIN_KEY_BYTES} are required")
        self.length = length


def pseudonymize(values: pd.Series, /, *, key: bytes, domain: str) -> pd.Series:
    """HMAC-SHA256 of ``domain:value`` as hex, so ids of different kinds never collide.

    Customer ids are small integers: an unkeyed hash could be reversed by enumerating them,
    which is why the key is mandatory and must be long.

    >>> pseudonymize(pd.Series([1]), key=b"k" * 32, domain="customer").str.len().iloc[0]
    np.int64(64)
    """
    if len(key) < MIN_KEY_BYTES:
        raise WeakKeyError(len(key))
    prefix = f"{domain}:".encode()
    mac = hmac.new(key, digestmod=hashlib.sha256)

    def one(value: object) -> str:
        h = mac.copy()
        h.update(prefix + str(value).encode())
        return h.hexdigest()

    if values.isna().any():
        raise ValueError(f"cannot pseudonymize missing values in column {values.name!r}")
    return pd.Series([one(v) for v in values.to_numpy()], index=values.index, name=values.name)
