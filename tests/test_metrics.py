"""Information-loss metrics agree with row-by-row formulas on generalized tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from engine_strategies import tables
from hypothesis import given, settings
from hypothesis import strategies as st
from property_budget import examples

from transforms.encode import encode_table
from transforms.hierarchy import Hierarchy
from transforms.lattice import evaluate_node, lattice_nodes
from transforms.metrics import METRICS, UnknownMetricError, get_metric
from transforms.privacy_models import KAnonymity


def _reference(
    df: pd.DataFrame, qi: list[str], hs: dict[str, Hierarchy], levels: list[int], k: int
) -> dict[str, float]:
    n = len(df)
    gen = pd.DataFrame(
        {c: hs[c].generalize(df[c], level=lv) for c, lv in zip(qi, levels, strict=True)}
    )
    size_per_row = gen.groupby(qi)[qi[0]].transform("size").to_numpy()
    suppressed = size_per_row < k
    s = int(suppressed.sum())
    class_sizes = gen.groupby(qi).size().to_numpy()
    kept_sizes = gen[~suppressed].groupby(qi).size().to_numpy()
    entropy = 0.0
    extra = 0.0
    loss = 0.0
    precision = 0.0
    for column, level in zip(qi, levels, strict=True):
        h = hs[column]
        count_orig = df[column].map(df[column].value_counts())
        count_gen = gen[column].map(gen[column].value_counts())
        entropy += float(np.sum(np.log2(count_gen / count_orig)))
        if s:
            s_g = gen.loc[suppressed, column].value_counts()
            extra += float(sum(v * math.log2(s / v) for v in s_g))
        leaves = pd.Series([row[level] for row in h.levels]).value_counts()
        denominator = max(len(h.levels) - 1, 1)
        per_row = gen[column].map(leaves).sub(1).div(denominator).to_numpy(dtype=float)
        loss += float(np.sum(np.where(suppressed, 1.0, per_row)))
        fraction = level / max(h.height - 1, 1)
        precision += float(np.sum(np.where(suppressed, 1.0, fraction)))
    q = len(qi)
    return {
        "nu-entropy": entropy,
        "nu-entropy-nm": entropy + extra,
        "discernibility": float(np.sum(class_sizes.astype(float) ** 2)),
        "discernibility-nm": float(np.sum(kept_sizes.astype(float) ** 2) + n * s),
        "loss": loss / (n * q),
        "precision": precision / (n * q),
        "aecs": n / (len(kept_sizes) + (1 if s else 0)),
    }


@settings(max_examples=examples(60), deadline=None)
@given(table=tables(max_qi=3), k=st.integers(1, 5), pick=st.integers(0, 10**6))
def test_metric_values_match_row_by_row_formulas(
    table: tuple[pd.DataFrame, list[str], dict[str, Hierarchy], Hierarchy], k: int, pick: int
) -> None:
    df, qi, hs, _ = table
    enc = encode_table(df, qi=qi, hierarchies=hs)
    nodes = lattice_nodes(enc.heights)
    levels = [int(x) for x in nodes[pick % len(nodes)]]
    ev = evaluate_node(enc, levels, models=[KAnonymity(k)], max_suppressed=len(df))
    expected = _reference(df, qi, hs, levels, k)
    for name, metric in METRICS.items():
        bound = float(metric.lower_bounds(enc, np.asarray([levels]))[0])
        value = bound if metric.a_priori else metric.value(enc, ev, bound=bound)
        assert value == pytest.approx(expected[name], rel=1e-9, abs=1e-9), name
        assert bound <= value + 1e-9, name  # lower bounds are bounds


def test_unknown_metric_is_named() -> None:
    with pytest.raises(UnknownMetricError, match="'entropy'"):
        get_metric("entropy")
