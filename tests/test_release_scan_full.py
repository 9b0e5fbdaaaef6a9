"""The release suites scan every row for direct identifiers, not a sample."""

from __future__ import annotations

import pandas as pd

from expectations import run_validation


def test_one_email_in_a_large_released_table_fails_the_suite() -> None:
    rows = 25_000
    table = pd.DataFrame(
        {
            "region": ["関東"] * rows,
            "label": ["facial"] * rows,
            "customers": pd.array([50] * rows, dtype="Int64"),
        }
    )
    table.loc[rows - 7, "label"] = "hanako.yamada@example.jp"
    outcome = run_validation(
        table,
        suite="released_tables",
        parameters={"count_column": "customers", "min_cell_count": 10},
    )
    assert not outcome.success
    failed = {f.expectation for f in outcome.failures}
    assert failed == {"expect_columns_to_contain_no_direct_identifiers"}
    assert "hanako" not in str(outcome.failures)
