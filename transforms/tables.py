"""Statistical tables with primary cell suppression.

A published count of 1, 2 or 3 customers can point at a person; cells under the minimum
are withheld (count missing, ``suppressed`` true) rather than dropped, so the table's shape
does not itself reveal which cells were small.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

SUPPRESSED_COLUMN = "suppressed"


def count_distinct_table(
    df: pd.DataFrame, /, *, by: Sequence[str], unit: str, count_name: str, min_count: int
) -> pd.DataFrame:
    """Count distinct ``unit`` values per cell of ``by``; suppress cells below ``min_count``.

    Rows are sorted by the cell keys so the same input always gives the same bytes.
    """
    if min_count < 1:
        raise ValueError("min_count must be at least 1")
    counts = (
        df[[*by, unit]]
        .drop_duplicates()
        .groupby(list(by), sort=True, observed=True, dropna=False)
        .size()
        .rename(count_name)
        .reset_index()
    )
    small = counts[count_name] < min_count
    counts[count_name] = counts[count_name].astype("Int64").mask(small)
    counts[SUPPRESSED_COLUMN] = small.to_numpy()
    return counts.sort_values(list(by), kind="stable").reset_index(drop=True)
