from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from property_budget import examples

from transforms.tables import ValuesOutsideDomainError, count_distinct_table

DOMAINS = {"g": ["a", "b"], "h": ["x", "y", "z"]}
rows = st.lists(
    st.tuples(st.sampled_from("ab"), st.sampled_from("xyz"), st.integers(0, 40)),
    min_size=0,
    max_size=200,
)


@settings(max_examples=examples(60), deadline=None)
@given(rows=rows, min_count=st.integers(1, 6))
def test_published_counts_are_exact_and_never_below_the_minimum(
    rows: list[tuple[str, str, int]], min_count: int
) -> None:
    df = pd.DataFrame(rows, columns=["g", "h", "person"])
    table = count_distinct_table(
        df, domains=DOMAINS, unit="person", count_name="n", min_count=min_count
    )
    assert len(table) == 6  # every cell of the product, empty ones included
    published = table[~table["suppressed"]]
    assert (published["n"] >= min_count).all()
    assert table.loc[table["suppressed"], "n"].isna().all()
    for _, row in published.iterrows():
        cell = df[(df["g"] == row["g"]) & (df["h"] == row["h"])]
        assert row["n"] == cell["person"].nunique()


def test_an_empty_cell_and_a_small_cell_look_the_same() -> None:
    empty = pd.DataFrame({"g": ["a"] * 5, "h": ["x"] * 5, "person": range(5)})
    one = pd.concat([empty, pd.DataFrame({"g": ["b"], "h": ["z"], "person": [99]})])
    kwargs = {"domains": DOMAINS, "unit": "person", "count_name": "n", "min_count": 3}
    assert count_distinct_table(empty, **kwargs).equals(count_distinct_table(one, **kwargs))


def test_distinct_units_are_counted_once_in_domain_order() -> None:
    df = pd.DataFrame({"g": ["b", "a", "a", "a"], "person": [1, 2, 2, 3]})
    table = count_distinct_table(
        df, domains={"g": ["a", "b"]}, unit="person", count_name="n", min_count=2
    )
    assert table["g"].tolist() == ["a", "b"]
    assert table["n"].tolist()[0] == 2
    assert table["suppressed"].tolist() == [False, True]


def test_values_outside_the_domain_are_an_error_naming_the_column() -> None:
    df = pd.DataFrame({"g": ["c"], "person": [1]})
    with pytest.raises(ValuesOutsideDomainError, match="'g': 1 row"):
        count_distinct_table(df, domains={"g": ["a"]}, unit="person", count_name="n", min_count=1)
