"""Cell rules fail closed on cells they cannot verify (review: they were read as suppressed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from expectations.cell_rules import (
    count_dominated_cells,
    count_p_percent_cells,
    count_small_cells,
)

TOPS = {"total_column": "total", "top_columns": ["top1", "top2"]}
P = {"total_column": "total", "top1_column": "top1", "top2_column": "top2", "p": 10}


def test_a_count_that_is_not_a_number_is_unsafe_not_suppressed() -> None:
    df = pd.DataFrame({"n": ["12", "3件", "<5", None, "10"]})
    result = count_small_cells(df, count_column="n", min_count=10)
    assert result == {"n_cells": 5, "n_suppressed": 1, "n_unsafe": 2}


def test_a_published_magnitude_cell_without_its_top_contributions_is_unsafe() -> None:
    # top1 missing: read as 0 it made every rule pass
    df = pd.DataFrame({"total": [1000.0], "top1": [np.nan], "top2": [10.0]})
    assert count_dominated_cells(df, **TOPS, n=2, k=85)["n_unsafe"] == 1
    assert count_dominated_cells(df, **TOPS, n=1, k=50)["n_unsafe"] == 1
    assert count_p_percent_cells(df, **P)["n_unsafe"] == 1


def test_top_contributions_written_as_text_are_unsafe() -> None:
    df = pd.DataFrame({"total": ["1000"], "top1": ["990,000"], "top2": ["5"]})
    assert count_dominated_cells(df, **TOPS, n=2, k=85)["n_unsafe"] == 1
    assert count_p_percent_cells(df, **P)["n_unsafe"] == 1


def test_a_total_that_is_not_a_number_is_unsafe() -> None:
    df = pd.DataFrame({"total": ["1,000", None], "top1": [10.0, None], "top2": [5.0, None]})
    assert count_dominated_cells(df, **TOPS, n=2, k=85) == {
        "n_cells": 2,
        "n_suppressed": 1,
        "n_unsafe": 1,
    }
    assert count_p_percent_cells(df, **P) == {"n_cells": 2, "n_suppressed": 1, "n_unsafe": 1}


def test_suppressed_cells_may_leave_their_contributions_empty() -> None:
    df = pd.DataFrame({"total": [None, 1000.0], "top1": [None, 100.0], "top2": [None, 50.0]})
    assert count_dominated_cells(df, **TOPS, n=2, k=85)["n_unsafe"] == 0
    assert count_p_percent_cells(df, **P)["n_unsafe"] == 0
