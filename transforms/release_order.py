"""The one row order a released file may have: a function of its released values alone.

A file's row order is information. If rows are written in the order of anything the file does
not show (the source order, the original age or postal code before generalization), an
attacker reads the hidden values back from the positions: within a class of ten identical
rows, the third row is the third-smallest hidden postal code. The canonical order sorts rows
on the released values only, so rows that look identical are interchangeable and any two
inputs that release the same multiset of rows release the same bytes.

Columns with a known label order (a hierarchy's levels, a category list) sort in that order,
so age bands read 0-4, 5-9, 10-14 rather than as text; every other column sorts as text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from transforms.errors import DataError


class UnorderedLabelError(DataError, ValueError):
    """A column holds a label its declared order does not list (named, with a count)."""

    def __init__(self, column: str, count: int) -> None:
        super().__init__(f"column {column!r}: {count} row(s) with a label outside its order")
        self.column, self.count = column, count


def _sort_key(column: pd.Series, order: Sequence[str] | None) -> np.ndarray:
    text = column.astype("str").to_numpy(dtype=object, na_value="")
    if order is None:
        codes, _ = pd.factorize(text, sort=True)
        return np.asarray(codes, dtype=np.int64)
    positions = pd.Categorical(text, categories=list(dict.fromkeys(order)), ordered=True).codes
    outside = int(np.count_nonzero(positions < 0))
    if outside:
        raise UnorderedLabelError(str(column.name), outside)
    return np.asarray(positions, dtype=np.int64)


def canonical_order(
    df: pd.DataFrame, /, *, label_orders: Mapping[str, Sequence[str]] | None = None
) -> pd.DataFrame:
    """``df``'s rows sorted on every column, left to right, with a fresh 0..n-1 index.

    Examples
    --------
    >>> df = pd.DataFrame({"age": ["10-14", "5-9", "10-14"], "sex": ["M", "F", "F"]})
    >>> canonical_order(df, label_orders={"age": ["5-9", "10-14"]}).values.tolist()
    [['5-9', 'F'], ['10-14', 'F'], ['10-14', 'M']]
    """
    orders = label_orders or {}
    if df.empty:
        return df.reset_index(drop=True)
    keys = [_sort_key(df[c], orders.get(str(c))) for c in df.columns]
    rows = np.lexsort(keys[::-1]) if keys else np.arange(len(df))
    return df.iloc[rows].reset_index(drop=True)


def is_canonical(
    df: pd.DataFrame, /, *, label_orders: Mapping[str, Sequence[str]] | None = None
) -> bool:
    """True when ``df`` is already in its canonical order (a label outside its order: False)."""
    try:
        expected = canonical_order(df, label_orders=label_orders)
    except UnorderedLabelError:
        return False
    return bool(expected.equals(df.reset_index(drop=True)))
