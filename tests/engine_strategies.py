"""Hypothesis strategies shared by the engine tests: small tables with random hierarchies."""

from __future__ import annotations

import pandas as pd
from hypothesis import strategies as st

from transforms.hierarchy import Hierarchy


@st.composite
def hierarchies(draw: st.DrawFn, column: str, leaves: list[str]) -> Hierarchy:
    """A random functional hierarchy: each level groups the previous level's values."""
    n_levels = draw(st.integers(min_value=0, max_value=2))
    rows = [[leaf] for leaf in leaves]
    current = list(leaves)
    for level in range(1, n_levels + 1):
        distinct = sorted(set(current))
        groups = {v: draw(st.integers(0, max(len(distinct) - 2, 0))) for v in distinct}
        current = [f"{column}L{level}g{groups[v]}" for v in current]
        for row, value in zip(rows, current, strict=True):
            row.append(value)
    if draw(st.booleans()) or n_levels == 0:
        for row in rows:
            row.append("*")
    return Hierarchy(column, tuple(tuple(r) for r in rows))


@st.composite
def tables(
    draw: st.DrawFn, *, min_qi: int = 2, max_qi: int = 3, max_rows: int = 60
) -> tuple[pd.DataFrame, list[str], dict[str, Hierarchy], Hierarchy]:
    """A table with QIs q0.., a sensitive column ``s``, a payload column ``id``."""
    n_qi = draw(st.integers(min_qi, max_qi))
    n_rows = draw(st.integers(5, max_rows))
    qi = [f"q{j}" for j in range(n_qi)]
    data: dict[str, list[str]] = {}
    hs: dict[str, Hierarchy] = {}
    for column in qi:
        domain = [f"{column}v{i}" for i in range(draw(st.integers(1, 5)))]
        hs[column] = draw(hierarchies(column, domain))
        data[column] = draw(st.lists(st.sampled_from(domain), min_size=n_rows, max_size=n_rows))
    s_domain = [str(v) for v in draw(st.sampled_from([[1, 2], [1, 2, 10], [3, 5, 7, 20]]))]
    data["s"] = draw(st.lists(st.sampled_from(s_domain), min_size=n_rows, max_size=n_rows))
    data["id"] = [f"r{i}" for i in range(n_rows)]
    s_hierarchy = draw(hierarchies("s", s_domain))
    return pd.DataFrame(data, dtype="str"), qi, hs, s_hierarchy
