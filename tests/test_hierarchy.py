"""Hierarchy loading, coding and generalization (ARX CSV format)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from adult_data import ADULT

from transforms.hierarchy import (
    DuplicateLeafError,
    DuplicateRowsWarning,
    Hierarchy,
    HierarchyError,
    InconsistentHeightError,
    MissingHierarchyError,
    UnknownValuesError,
    find_hierarchies,
    load_hierarchy,
    to_arx_csv,
)
from transforms.hierarchy_builders import (
    InvalidValuesError,
    date_hierarchy,
    interval_hierarchy,
    masking_hierarchy,
    ordered_hierarchy,
    postal_code_hierarchy,
)

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


def test_identical_duplicate_rows_are_dropped_with_one_warning(tmp_path: Path) -> None:
    # ARX accepts a hierarchy file that repeats lines exactly
    path = tmp_path / "dup_hierarchy_x.csv"
    path.write_text("a;ab;*\nb;ab;*\na;ab;*\nc;c;*\nb;ab;*\na;ab;*\n", encoding="utf-8")
    with pytest.warns(DuplicateRowsWarning) as caught:
        h = load_hierarchy(path, column="x")
    assert h == Hierarchy("x", (("a", "ab", "*"), ("b", "ab", "*"), ("c", "c", "*")))
    assert len(caught) == 1  # one warning per file, with the count of repeated lines
    warning = caught[0].message
    assert isinstance(warning, DuplicateRowsWarning) and warning.count == 3
    assert str(path) in str(warning) and "3 line(s)" in str(warning)
    assert "ab" not in str(warning).replace(str(path), "")  # counts, never values


def test_conflicting_duplicate_leaf_names_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad_hierarchy_x.csv"
    path.write_text("a;ab;*\nb;ab;*\na;ab;*\na;b;*\n", encoding="utf-8")
    with pytest.raises(DuplicateLeafError) as info:
        load_hierarchy(path, column="x")
    assert (info.value.line, info.value.first_line) == (4, 1)
    assert "line 4" in str(info.value) and "line 1" in str(info.value)
    with pytest.raises(DuplicateLeafError):  # built in code, a repeated leaf stays an error
        Hierarchy("x", (("a", "*"), ("a", "*")))


def test_duplicate_leaf_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "bad_hierarchy_x.csv"
    path.write_text("a;*\nb;*\na;b\n", encoding="utf-8")
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


# --- builders -----------------------------------------------------------------------------


def test_interval_hierarchy_labels_and_nesting() -> None:
    h = interval_hierarchy(["23", "37", "5", "20"], column="age", widths=(5, 10, 20))
    assert h.height == 5 and h.is_functional()
    assert h.generalize(pd.Series(["23", "37"]), level=1).tolist() == ["[20, 25)", "[35, 40)"]
    assert h.generalize(pd.Series(["23", "37"]), level=3).tolist() == ["[20, 40)", "[20, 40)"]
    assert h.leaves == ("5", "20", "23", "37")  # numeric order
    with pytest.raises(HierarchyError):
        interval_hierarchy(["1"], column="age", widths=(5, 7))
    with pytest.raises(InvalidValuesError) as info:
        interval_hierarchy(["1", "secret"], column="age")
    assert info.value.count == 1 and "secret" not in str(info.value)


def test_date_hierarchy() -> None:
    h = date_hierarchy(["2024-05-17", "2024-12-31"], column="visit")
    assert h.levels[0] == ("2024-05-17", "2024-05", "2024-Q2", "2024", "*")
    assert h.levels[1][2] == "2024-Q4" and h.is_functional()
    with pytest.raises(InvalidValuesError):
        date_hierarchy(["2024-02-30"], column="visit")


def test_postal_code_hierarchy() -> None:
    h = postal_code_hierarchy(
        ["100-0001", "1000005", "530-0001"],
        prefecture_of={"100": "東京都", "530": "大阪府"},
        region_of={"東京都": "関東", "大阪府": "近畿"},
    )
    assert h.generalize(pd.Series(["100-0001", "530-0001"]), level=2).tolist() == [
        "東京都",
        "大阪府",
    ]
    assert h.generalize(pd.Series(["1000005"]), level=3).tolist() == ["関東"]
    assert h.height == 5 and h.is_functional()
    with pytest.raises(InvalidValuesError, match="known prefix"):
        postal_code_hierarchy(["999-0000"], prefecture_of={}, region_of={})


def test_masking_and_ordered_hierarchies() -> None:
    h = masking_hierarchy(["1234", "1299", "77"], column="code")
    assert h.generalize(pd.Series(["1234", "77"]), level=2).tolist() == ["12**", "**"]
    assert h.generalize(pd.Series(["1234"]), level=h.height - 1).tolist() == ["*"]
    assert h.is_functional()
    o = ordered_hierarchy(["1", "2", "3", "4", "5"], column="satisfaction", group_sizes=(2, 4))
    assert [row[1] for row in o.levels] == ["[1..2]", "[1..2]", "[3..4]", "[3..4]", "[5]"]
    assert [row[2] for row in o.levels] == ["[1..4]"] * 4 + ["[5]"]
    assert o.is_functional()
    with pytest.raises(HierarchyError):
        ordered_hierarchy(["a", "b"], column="x", group_sizes=(2, 3))
