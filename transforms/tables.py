"""Names shared by the statistical tables: the suppressed-cell flag and the domain error.

The tables themselves are built by ``transforms.report_tables`` (every cell of the product of
the dimensions' code trees, margins included) and protected by ``transforms.table_protection``.
"""

from __future__ import annotations

from transforms.errors import DataError

SUPPRESSED_COLUMN = "suppressed"


class ValuesOutsideDomainError(DataError, ValueError):
    """Data holds a category that the table's domain does not list (named, with a count)."""

    def __init__(self, column: str, count: int) -> None:
        super().__init__(f"column {column!r}: {count} row(s) outside the table's domain")
        self.column, self.count = column, count
