"""Hierarchy loading, coding and generalization (ARX CSV format)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transforms.hierarchy import (
    DuplicateLeafError,
    Hierarchy,
    InconsistentHeightError,
    MissingHierarchyError,
    UnknownValuesError,
    find_hierarchies,
    load_hierarchy,
    to_arx_csv,
)

ADULT = Path(__file__).parent / "fixtures" / "adult"
ADULT_HEIGHTS = {
    "sex": 2,
    "age": 5,
    "race": 2,
    "marital-status": 3,
    "education": 4,
    "native-country": 3,
    "workclass": 3,
    "occupation": 3,
    "salary-class": 2,
}


def test_adult_hierarchies_load_with_documented_heights() -> None:
    found = find_hierarchies(ADULT, columns=list(ADULT_HEIGHTS))
    assert {c: h.height for c, h in found.items()} == ADULT_HEIGHTS
    assert all(h.is_functional() for h in found.values())


def test_every_adult_value_is_a_leaf_and_generalizes() -> None:
    df = pd.read_csv(ADULT / "adult.csv", sep=";", dtype=str)
    h = load_hierarchy(ADULT / "adult_hierarchy_age.csv", column="age")
    out = h.generalize(df["age"], level=4)
    assert (out == "*").all()
    assert out.index.equals(df.index)
    assert h.generalize(pd.Series(["39", "1"]), level=1).tolist() == ["35-39", "0-4"]
    assert h.generalize(pd.Series(["39"]), level=0).tolist() == ["39"]


def test_round_trip_through_arx_csv(tmp_path: Path) -> None:
    h = Hierarchy("x", (("a", "ab", "*"), ("b", "ab", "*"), ("c;d", "cd", "*")))
    path = tmp_path / "t_hierarchy_x.csv"
    path.write_text(to_arx_csv(h), encoding="utf-8")
    assert load_hierarchy(path, column="x") == h
    assert find_hierarchies(tmp_path, columns=["x"]) == {"x": h}


def test_unknown_values_name_the_column_but_not_the_values() -> None:
    h = Hierarchy("sex", (("Male", "*"), ("Female", "*")))
    with pytest.raises(UnknownValuesError) as info:
        h.generalize(pd.Series(["Male", "Secret-Value", "Other", None]), level=1)
    err = info.value
    assert err.column == "sex"
    assert err.unknown == ("Other", "Secret-Value")
    assert err.count == 3 and err.missing == 1
    assert "Secret-Value" not in str(err) and "'sex'" in str(err)


def test_inconsistent_heights_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad_hierarchy_x.csv"
    path.write_text("a;ab;*\r\nb;ab;*\r\nc;*\r\n", encoding="utf-8")
    with pytest.raises(InconsistentHeightError) as info:
        load_hierarchy(path, column="x")
    assert info.value.line == 3
    assert str(path) in str(info.value) and "line 3" in str(info.value)


def test_duplicate_leaf_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "bad_hierarchy_x.csv"
    path.write_text("a;*\nb;*\na;*\n", encoding="utf-8")
    with pytest.raises(DuplicateLeafError, match="line 3"):
        load_hierarchy(path, column="x")
    with pytest.raises(MissingHierarchyError) as info:
        find_hierarchies(tmp_path, columns=["y"])
    assert info.value.column == "y" and str(tmp_path) in str(info.value)


def test_level_codes_are_lookup_arrays() -> None:
    h = Hierarchy("x", (("a", "ab", "*"), ("b", "ab", "*"), ("c", "c", "*")))
    codes, labels = h.level_codes(1)
    assert labels == ("ab", "c")
    np.testing.assert_array_equal(codes[h.codes(pd.Series(["c", "a", "b"]))], [1, 0, 0])
    assert not Hierarchy("x", (("a", "p", "1"), ("b", "p", "2"))).is_functional()
