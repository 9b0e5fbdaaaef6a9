"""Statistical tables with primary cell suppression.

A published count of 1, 2 or 3 customers can point at a person; cells under the minimum
are withheld (count missing, ``suppressed`` true). Every cell of the full cross product of
the category domains is written, empty ones included, so a suppressed cell means "0 to
min-1" and its presence says nothing about whether such a customer exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from transforms.errors import DataError

SUPPRESSED_COLUMN = "suppressed"


class ValuesOutsideDomainError(DataError, ValueError):
    """Data holds a category that the table's domain does not list (named, with a count)."""

    def __init__(self, column: str, count: int) -> None:
        super().__init__(f"column {column!r}: {count} row(s) outside the table's domain")
        self.column, self.count = column, count


def count_distinct_table(
    df: pd.DataFrame,
    /,
    *,
    domains: Mapping[str, Sequence[str]],
    unit: str,
    count_name: str,
    min_count: int,
) -> pd.DataFrame:
    """Count distinct ``unit`` values in every cell of the product of ``domains``.

    Cells below ``min_count`` (zero included) are suppressed. Rows follow the domains' order,
    so the same input always gives the same bytes.
    """
    if min_count < 1:
        raise ValueError("min_count must be at least 1")
    by = list(domains)
    for column, domain in domains.items():
        outside = ~df[column].isin(domain)
        if outside.any():
            raise ValuesOutsideDomainError(column, int(outside.sum()))
    counts = df[[*by, unit]].drop_duplicates().groupby(by, sort=False).size()
    cells = pd.MultiIndex.from_product([list(d) for d in domains.values()], names=by)
    table = counts.reindex(cells, fill_value=0).rename(count_name).reset_index()
    small = table[count_name] < min_count
    table[count_name] = table[count_name].astype("Int64").mask(small)
    table[SUPPRESSED_COLUMN] = small.to_numpy()
    return table
