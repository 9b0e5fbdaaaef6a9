"""Fractional thresholds are configuration errors, never truncated to a weaker check (review)."""

from __future__ import annotations

import pandas as pd
import pytest

from expectations.validation import SuiteConfigError, run_validation

TWO_ANONYMOUS = pd.DataFrame({"a": ["1", "1", "2", "2"]})


def test_fractional_k_is_refused_not_checked_as_a_smaller_k() -> None:
    # k = 2.5 used to be truncated by the expectation's int field and passed this 2-anonymous table
    with pytest.raises(SuiteConfigError, match="expect_table_to_be_k_anonymous"):
        run_validation(
            TWO_ANONYMOUS,
            suite="released_microdata",
            parameters={"qi": ["a"], "k": 2.5, "suppression_marker": None},
        )


def test_whole_k_given_as_float_still_checks() -> None:
    outcome = run_validation(
        TWO_ANONYMOUS,
        suite="released_microdata",
        parameters={"qi": ["a"], "k": 2.0, "suppression_marker": None},
    )
    assert outcome.success
    outcome = run_validation(
        TWO_ANONYMOUS,
        suite="released_microdata",
        parameters={"qi": ["a"], "k": 3.0, "suppression_marker": None},
    )
    assert not outcome.success


def test_fractional_minimum_cell_count_is_refused() -> None:
    table = pd.DataFrame({"count": [9, 12]})
    with pytest.raises(SuiteConfigError, match="expect_table_cells_to_meet_minimum_count"):
        run_validation(
            table,
            suite="released_tables",
            parameters={"count_column": "count", "min_cell_count": 9.5},
        )
    assert not run_validation(
        table, suite="released_tables", parameters={"count_column": "count", "min_cell_count": 10}
    ).success
