"""Primary suppression rules: threshold, dominance (n, k) and p %, with a planted dominant
contributor, zero cells left published, and parameters refused by name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transforms.errors import ConfigurationError, DataError
from transforms.primary_suppression import (
    combine,
    dominance_rule,
    p_percent_rule,
    threshold_rule,
)


def _magnitudes() -> pd.DataFrame:
    # cell 0: one customer dominates (900 of 1000); cell 1: evenly spread; cell 2: empty;
    # cell 3: two customers make up almost everything (p % catches it, 1-dominance at 80 % not)
    return pd.DataFrame(
        {
            "value": [1000.0, 1000.0, 0.0, 1000.0],
            "contributors": [5, 10, 0, 4],
            "top1": [900.0, 100.0, 0.0, 500.0],
            "top2": [50.0, 100.0, 0.0, 495.0],
            "top3": [20.0, 100.0, 0.0, 3.0],
        }
    )


def test_threshold_rule_leaves_zero_cells_published() -> None:
    cells = pd.DataFrame({"contributors": [0, 1, 2, 3, 10]})
    result = threshold_rule(cells, n=3)
    assert result.sensitive.tolist() == [False, True, True, False, False]
    assert result.protection.tolist() == [0.0, 3.0, 3.0, 0.0, 0.0]
    assert threshold_rule(cells, n=3, protection=5).protection.max() == 5.0


def test_dominance_catches_a_planted_dominant_contributor() -> None:
    cells = _magnitudes()
    result = dominance_rule(cells, n=1, k=80)
    assert result.sensitive.tolist() == [True, False, False, False]
    # the value at which 900 is 80 % is 1125: the cell must be able to reach it
    assert result.protection[0] == pytest.approx(1125.0 - 1000.0)
    two = dominance_rule(cells, n=2, k=90)
    assert two.sensitive.tolist() == [True, False, False, True]


def test_p_percent_catches_a_planted_dominant_contributor() -> None:
    cells = _magnitudes()
    result = p_percent_rule(cells, p=10)
    assert result.sensitive.tolist() == [True, False, False, True]
    # cell 0: the rest (1000 - 900 - 50 = 50) must be 10 % of 900 = 90: 40 short
    assert result.protection[0] == pytest.approx(40.0)
    assert result.protection[3] == pytest.approx(50.0 - 5.0)
    both = combine(result, dominance_rule(cells, n=1, k=80))
    assert both.sensitive.tolist() == [True, False, False, True]
    assert both.protection[0] == pytest.approx(125.0)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda c: threshold_rule(c, n=1), "'n'"),
        (lambda c: threshold_rule(c, n=True), "'n'"),
        (lambda c: threshold_rule(c, n=3, protection=-1), "'protection'"),
        (lambda c: dominance_rule(c, n=4, k=80), "'n'"),
        (lambda c: dominance_rule(c, n=1, k=120), "'k'"),
        (lambda c: p_percent_rule(c, p=0), "'p'"),
        (lambda c: p_percent_rule(c, p=float("nan")), "'p'"),
        (lambda c: combine(), "'rules'"),
    ],
)
def test_bad_parameters_are_named(call, name: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigurationError, match=name):
        call(_magnitudes())


def test_bad_columns_are_named_never_valued() -> None:
    cells = _magnitudes()
    cells.loc[0, "top1"] = -123456.0
    with pytest.raises(DataError, match="'top1'") as caught:
        p_percent_rule(cells, p=10)
    assert "123456" not in str(caught.value)
    with pytest.raises(DataError, match="'customers'"):
        threshold_rule(cells, n=3, contributors="customers")
    assert np.array_equal(threshold_rule(_magnitudes(), n=5).sensitive, [False, False, False, True])
