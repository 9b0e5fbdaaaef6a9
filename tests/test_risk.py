"""Re-identification risk against a plain Python computation of ARX's definitions."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from property_budget import examples

from transforms.risk import JOURNALIST_WITHOUT_POPULATION, reidentification_risk, risk_before_after
from transforms.utility import UnknownColumnError

QI = ["zip", "age"]

rows = st.lists(
    st.tuples(st.sampled_from(["100", "101", "102"]), st.integers(20, 24)),
    min_size=1,
    max_size=80,
)


def python_risk(records: list[tuple], threshold: float, population: list[tuple] | None = None):
    sizes = Counter(records)
    n = len(records)
    prosecutor = [1 / sizes[r] for r in records]
    if population is None:
        journalist = prosecutor
    else:
        pop = Counter(population)
        journalist = [1 / max(pop[r], sizes[r]) for r in records]
    return {
        "n_classes": len(sizes),
        "prosecutor_highest": max(prosecutor),
        "prosecutor_average": sum(prosecutor) / n,
        "prosecutor_records_at_risk": sum(p > threshold for p in prosecutor) / n,
        "journalist_highest": max(journalist),
        "journalist_average": sum(journalist) / n,
        "journalist_records_at_risk": sum(p > threshold for p in journalist) / n,
        "marketer": (
            len(sizes) / n
            if population is None
            else sum(sizes[c] / max(Counter(population)[c], sizes[c]) for c in sizes) / n
        ),
        "sample_uniques": sum(1 for c in sizes.values() if c == 1),
        "min_class_size": min(sizes.values()),
    }


@settings(max_examples=examples(60), deadline=None)
@given(sample=rows, extra=rows, threshold=st.sampled_from([0.0, 0.2, 0.34, 0.5, 1.0]))
def test_matches_plain_python(sample, extra, threshold):
    df = pd.DataFrame(sample, columns=QI, index=np.arange(len(sample)) * 7)
    expected = python_risk(sample, threshold)
    report = reidentification_risk(df, qi=QI, threshold=threshold)
    for key, value in expected.items():
        assert getattr(report, key) == pytest.approx(value), key
    assert report.sample_uniques_share == pytest.approx(expected["sample_uniques"] / len(sample))
    assert report.journalist_basis == JOURNALIST_WITHOUT_POPULATION
    # average prosecutor risk is n_classes / N (ARX)
    assert report.prosecutor_average == pytest.approx(report.n_classes / report.n_records)

    population = sample + extra
    pop_df = pd.DataFrame(population, columns=QI)
    expected_pop = python_risk(sample, threshold, population)
    with_pop = reidentification_risk(df, qi=QI, population=pop_df, threshold=threshold)
    for key, value in expected_pop.items():
        assert getattr(with_pop, key) == pytest.approx(value), key
    assert with_pop.journalist_basis == "population"
    assert with_pop.journalist_highest <= report.prosecutor_highest


def test_population_smaller_than_sample_class_is_raised_to_the_sample():
    df = pd.DataFrame({"zip": ["1", "1", "2"], "age": [1, 1, 2]})
    pop = pd.DataFrame({"zip": ["1", "3"], "age": [1, 3]})  # "2" missing, "1" too small
    report = reidentification_risk(df, qi=QI, population=pop)
    assert report.journalist_highest == 1.0  # the unmatched record
    assert report.journalist_average == pytest.approx((0.5 + 0.5 + 1.0) / 3)


def test_before_after_is_json_ready_and_holds_no_row_value():
    original = pd.DataFrame(
        {"zip": ["13579", "13579", "24680", "11111"], "age": [31, 32, 45, 77], "x": [0] * 4}
    )
    anonymized = pd.DataFrame(
        {"zip": ["1****", "1****", "2****", "*"], "age": ["3*", "3*", "4*", "*"], "x": [0] * 4}
    )
    result = risk_before_after(
        original, anonymized, QI, suppressed_mask=[False, False, False, True]
    )
    text = json.dumps(result)
    for value in ["13579", "24680", "11111", "1****", "2****", "3*", "4*", "77"]:
        assert value not in text
    assert result["n_suppressed"] == 1
    assert result["before"]["sample_uniques"] == 4
    assert result["after"]["n_records"] == 3
    assert result["after"]["sample_uniques"] == 1
    assert result["after"]["prosecutor_highest"] == 1.0
    assert result["after"]["prosecutor_average"] == pytest.approx(2 / 3)


def test_empty_table_and_errors():
    empty = pd.DataFrame({"zip": pd.Series([], dtype="str"), "age": pd.Series([], dtype=int)})
    report = reidentification_risk(empty, qi=QI)
    assert report.n_records == 0 and report.prosecutor_highest == 0.0
    with pytest.raises(UnknownColumnError):
        reidentification_risk(empty, qi=["nope"])
    with pytest.raises(ValueError, match="threshold"):
        reidentification_risk(empty, qi=QI, threshold=2.0)
