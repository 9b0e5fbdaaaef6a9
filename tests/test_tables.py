from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.tables import count_distinct_table

rows = st.lists(
    st.tuples(st.sampled_from("ab"), st.sampled_from("xyz"), st.integers(0, 40)),
    min_size=0,
    max_size=200,
)


@settings(max_examples=60, deadline=None)
@given(rows=rows, min_count=st.integers(1, 6))
def test_published_counts_are_exact_and_never_below_the_minimum(
    rows: list[tuple[str, str, int]], min_count: int
) -> None:
    df = pd.DataFrame(rows, columns=["g", "h", "person"])
    table = count_distinct_table(
        df, by=["g", "h"], unit="person", count_name="n", min_count=min_count
    )
    published = table[~table["suppressed"]]
    assert (published["n"] >= min_count).all()
    assert table.loc[table["suppressed"], "n"].isna().all()
    for _, row in published.iterrows():
        cell = df[(df["g"] == row["g"]) & (df["h"] == row["h"])]
        assert row["n"] == cell["person"].nunique()


def test_distinct_units_are_counted_once_and_rows_are_sorted() -> None:
    df = pd.DataFrame({"g": ["b", "a", "a", "a"], "person": [1, 2, 2, 3]})
    table = count_distinct_table(df, by=["g"], unit="person", count_name="n", min_count=2)
    assert table["g"].tolist() == ["a", "b"]
    assert table["n"].tolist()[0] == 2
    assert table["suppressed"].tolist() == [False, True]
