"""Attribute weights and per-QI level bounds (ARX's ``setAttributeWeight`` and
``setMinimumGeneralization`` / ``setMaximumGeneralization``).

On Adult: bounds and weights move the optimum as expected. On generated tables that need
suppression (``test_search_properties_hard.cases``): the returned node lies within random
bounds and is the optimum among the in-bound nodes by the independent plain-Python oracle of
``test_search_properties_hard``, with weighted losses recomputed per QI from their definitions.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from adult_data import ADULT, read_adult
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from property_budget import examples
from test_search_properties_hard import REL_TOL, Case, _node_outcome, cases

from transforms.anonymize import TransformationOutOfBoundsError, anonymize, anonymize_at
from transforms.encode import encode_table
from transforms.errors import ConfigurationError
from transforms.hierarchy import Hierarchy, find_hierarchies
from transforms.lattice import evaluate_node, lattice_nodes, level_bounds, search
from transforms.metrics import METRICS, get_metric, weighted
from transforms.privacy_models import KAnonymity

UNBOUNDED_OPTIMUM = [1, 0, 1, 1, 3, 2, 2, 0, 1]  # k = 5, 4 %, nu-entropy (ARX's golden result)
WEIGHTED_METRICS = ("loss", "nu-entropy", "nu-entropy-nm", "precision")


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return read_adult(dtype=str)


@pytest.fixture(scope="module")
def adult_hierarchies(adult: pd.DataFrame) -> dict[str, Hierarchy]:
    return find_hierarchies(ADULT, columns=list(adult.columns))


def _adult(adult: pd.DataFrame, hs: dict[str, Hierarchy], **options: object) -> list[int]:
    qi = list(adult.columns)
    result = anonymize(
        adult, qi=qi, hierarchies=hs, models=[KAnonymity(5)], suppression_limit=0.04, **options
    )
    assert result.transformation is not None
    assert result.suppressed <= math.floor(0.04 * len(adult))
    return [result.transformation[c] for c in qi]


# --- Adult --------------------------------------------------------------------------------------


def test_a_maximum_level_forces_the_search_elsewhere(
    adult: pd.DataFrame, adult_hierarchies: dict[str, Hierarchy]
) -> None:
    qi = list(adult.columns)
    levels = _adult(adult, adult_hierarchies, max_levels={"education": 2})
    # education (3 at the optimum) stays at most 2; marital-status and occupation pay for it
    assert levels == [1, 0, 1, 2, 1, 2, 2, 1, 0]
    assert levels[qi.index("education")] <= 2 < UNBOUNDED_OPTIMUM[qi.index("education")]


def test_a_minimum_level_is_kept(
    adult: pd.DataFrame, adult_hierarchies: dict[str, Hierarchy]
) -> None:
    qi = list(adult.columns)
    levels = _adult(adult, adult_hierarchies, min_levels={"age": 2})
    assert levels[qi.index("age")] >= 2
    assert levels == [0, 2, 1, 1, 2, 2, 2, 0, 0]


def test_bounds_around_the_optimum_and_equal_weights_change_nothing(
    adult: pd.DataFrame, adult_hierarchies: dict[str, Hierarchy]
) -> None:
    qi = list(adult.columns)
    box = dict(zip(qi, UNBOUNDED_OPTIMUM, strict=True))
    assert _adult(adult, adult_hierarchies, min_levels=box, max_levels=box) == UNBOUNDED_OPTIMUM
    # ARX normalizes by the largest weight: equal weights are no weights
    equal = anonymize(
        adult,
        qi=qi,
        hierarchies=adult_hierarchies,
        models=[KAnonymity(5)],
        suppression_limit=0.04,
        weights={c: 0.5 for c in qi},
    )
    assert equal.loss == pytest.approx(255559.85455731067, rel=1e-12)
    assert [equal.transformation[c] for c in qi] == UNBOUNDED_OPTIMUM  # type: ignore[index]


@pytest.mark.parametrize("metric", ["nu-entropy", "loss"])
def test_a_heavy_weight_generalizes_its_qi_less(
    adult: pd.DataFrame, adult_hierarchies: dict[str, Hierarchy], metric: str
) -> None:
    qi = list(adult.columns)
    j = qi.index("education")
    plain = _adult(adult, adult_hierarchies, metric=metric)
    heavy = _adult(
        adult,
        adult_hierarchies,
        metric=metric,
        weights={c: (1.0 if c == "education" else 0.2) for c in qi},
    )
    assert heavy[j] < plain[j]
    assert heavy[j] == 0  # exact education is worth generalizing everything else more


# --- configuration errors -----------------------------------------------------------------------


def _small() -> tuple[pd.DataFrame, dict[str, Hierarchy]]:
    df = pd.DataFrame({"a": ["1", "2", "1", "2"], "b": ["x", "x", "y", "y"]})
    hs = {
        "a": Hierarchy("a", (("1", "*"), ("2", "*"))),
        "b": Hierarchy("b", (("x", "xy", "*"), ("y", "xy", "*"))),
    }
    return df, hs


@pytest.mark.parametrize(
    ("options", "column"),
    [
        ({"weights": {"c": 1.0}}, "c"),
        ({"weights": {"a": -1.0}}, "a"),
        ({"weights": {"b": math.nan}}, "b"),
        ({"min_levels": {"zip": 1}}, "zip"),
        ({"max_levels": {"b": 3}}, "b"),
        ({"min_levels": {"a": -1}}, "a"),
        ({"max_levels": {"a": 1.5}}, "a"),
        ({"min_levels": {"b": 2}, "max_levels": {"b": 1}}, "b"),
    ],
)
def test_bad_weights_and_bounds_are_configuration_errors_naming_the_column(
    options: dict[str, object], column: str
) -> None:
    df, hs = _small()
    with pytest.raises(ConfigurationError, match=repr(column)):
        anonymize(
            df,
            qi=["a", "b"],
            hierarchies=hs,
            models=[KAnonymity(2)],
            suppression_limit=0,
            **options,  # type: ignore[arg-type]
        )


@pytest.mark.parametrize("metric", ["discernibility", "aecs"])
def test_weights_need_a_metric_with_per_attribute_contributions(metric: str) -> None:
    df, hs = _small()
    with pytest.raises(ConfigurationError, match=metric):
        anonymize(
            df,
            qi=["a", "b"],
            hierarchies=hs,
            models=[KAnonymity(2)],
            suppression_limit=0,
            metric=metric,
            weights={"a": 2.0},
        )


def test_mondrian_takes_no_bounds() -> None:
    df, hs = _small()
    with pytest.raises(ConfigurationError, match="mondrian"):
        anonymize(
            df,
            qi=["a", "b"],
            hierarchies=hs,
            models=[KAnonymity(2)],
            suppression_limit=0,
            method="mondrian",
            max_levels={"a": 0},
        )


def test_a_fixed_transformation_outside_the_bounds_is_refused() -> None:
    df, hs = _small()
    common = {"qi": ["a", "b"], "hierarchies": hs, "models": [KAnonymity(2)]}
    with pytest.raises(TransformationOutOfBoundsError, match="'b'"):
        anonymize_at(
            df, **common, suppression_limit=0, transformation={"a": 0, "b": 2}, max_levels={"b": 1}
        )
    within = anonymize_at(
        df, **common, suppression_limit=0, transformation={"a": 0, "b": 1}, max_levels={"b": 1}
    )
    assert within.transformation == {"a": 0, "b": 1}


def test_level_bounds_without_maps_leave_the_search_unchanged() -> None:
    assert level_bounds(["a", "b"], [2, 3]) == (None, None)
    assert level_bounds(["a", "b"], [2, 3], max_levels={"b": 1}) == (None, (1, 1))
    assert lattice_nodes([2, 3], min_levels=[1, 1], max_levels=[1, 2]).tolist() == [[1, 1], [1, 2]]


# --- property: within the bounds, the optimum among in-bound nodes --------------------------


def _weighted_value(
    case: Case, levels: tuple[int, ...], suppressed: frozenset[int], w: list[float]
) -> dict[str, float]:
    """Per-QI contributions of the per-attribute metrics (their definitions), times w_j."""
    df, qi, hs = case.df, case.qi, case.hierarchies
    n, q, s = len(df), len(qi), len(suppressed)
    entropy = extra = loss = precision = 0.0
    for c, lv, wj in zip(qi, levels, w, strict=True):
        rows = hs[c].levels
        gen_of = {row[0]: row[lv] for row in rows}
        raw = df[c].tolist()
        gen = [gen_of[v] for v in raw]
        leaf_count, gen_count = Counter(raw), Counter(gen)
        entropy += wj * sum(f * math.log2(gen_count[gen_of[v]] / f) for v, f in leaf_count.items())
        if s:
            s_g = Counter(gen[i] for i in suppressed)
            extra += wj * sum(f * math.log2(s / f) for f in s_g.values())
        leaves_under = Counter(row[lv] for row in rows)
        denominator = max(len(rows) - 1, 1)
        kept = [g for i, g in enumerate(gen) if i not in suppressed]
        loss += wj * (sum((leaves_under[g] - 1) / denominator for g in kept) + s)
        precision += wj * (len(kept) * lv / max(len(rows[0]) - 1, 1) + s)
    return {
        "nu-entropy": entropy,
        "nu-entropy-nm": entropy + extra,
        "loss": loss / (n * q),
        "precision": precision / (n * q),
    }


@st.composite
def _bounded(draw: st.DrawFn) -> tuple[Case, dict[str, int], dict[str, int]]:
    case = draw(cases())
    low: dict[str, int] = {}
    high: dict[str, int] = {}
    for c in case.qi:
        top = case.hierarchies[c].height - 1
        a = draw(st.integers(0, top))
        b = draw(st.integers(a, top))
        if draw(st.booleans()):
            low[c] = a
        if draw(st.booleans()):
            high[c] = b
    return case, low, high


@settings(
    max_examples=examples(80),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    drawn=_bounded(),
    metric=st.sampled_from(sorted(METRICS)),
    raw_weights=st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, 3.0]), min_size=3, max_size=3),
    use_weights=st.booleans(),
)
def test_search_stays_within_bounds_and_finds_the_in_bound_optimum(
    drawn: tuple[Case, dict[str, int], dict[str, int]],
    metric: str,
    raw_weights: list[float],
    use_weights: bool,
) -> None:
    case, low_map, high_map = drawn
    qi, n = case.qi, len(case.df)
    use_weights = use_weights and metric in WEIGHTED_METRICS
    weights = dict(zip(qi, raw_weights, strict=False)) if use_weights else None
    heights = [case.hierarchies[c].height for c in qi]
    low = [low_map.get(c, 0) for c in qi]
    high = [high_map.get(c, h - 1) for c, h in zip(qi, heights, strict=True)]
    top = max(raw_weights[: len(qi)])
    w = [x / top for x in raw_weights[: len(qi)]] if use_weights and top else [1.0] * len(qi)

    # oracle: every in-bound node, decided and valued in plain Python
    max_suppressed = math.floor(case.limit * n)
    outcomes = []
    for node in lattice_nodes(heights, min_levels=low, max_levels=high):
        outcome = _node_outcome(case, tuple(int(x) for x in node), max_suppressed)
        value = (
            _weighted_value(case, outcome.levels, outcome.suppressed, w)[metric]
            if use_weights
            else outcome.values[metric]
        )
        outcomes.append((outcome, value))
    satisfying = [(o, v) for o, v in outcomes if o.satisfied]

    enc = encode_table(case.df, qi=qi, hierarchies=case.hierarchies, sensitive=["s"])
    m = weighted(get_metric(metric), [weights.get(c, 1.0) for c in qi] if weights else None)
    for strategy in ("bisect", "flash"):
        found = search(
            enc,
            models=case.models,
            suppression_limit=case.limit,
            metric=m,
            strategy=strategy,  # type: ignore[arg-type]
            min_levels=low if low_map else None,
            max_levels=high if high_map else None,
        )
        assert found.lattice_size == len(outcomes)
        if not satisfying:
            assert found.levels is None
            continue
        assert found.levels is not None
        assert all(a <= x <= b for a, x, b in zip(low, found.levels, high, strict=True))
        best = min(v for _, v in satisfying)
        tol = REL_TOL * max(abs(best), 1.0)
        tied = [o.levels for o, v in satisfying if v <= best + tol]
        assert found.levels in tied
        assert found.loss == pytest.approx(best, rel=REL_TOL, abs=REL_TOL)
        # among the tied nodes, the engine's pick is first in its documented order
        order = {}
        for levels in tied:
            ev = evaluate_node(enc, levels, models=case.models, max_suppressed=max_suppressed)
            bound = float(m.lower_bounds(enc, np.asarray([levels], dtype=np.int64))[0])
            value = bound if m.a_priori else m.value(enc, ev, bound=bound)
            order[levels] = (value, sum(levels), levels)
        assert order[found.levels] == min(order.values())

    result = anonymize(
        case.df,
        qi=qi,
        hierarchies=case.hierarchies,
        models=case.models,
        suppression_limit=case.limit,
        metric=metric,
        weights=weights,
        min_levels=low_map or None,
        max_levels=high_map or None,
    )
    if result.transformation is not None:
        levels = [result.transformation[c] for c in qi]
        assert all(a <= x <= b for a, x, b in zip(low, levels, high, strict=True))
        assert result.suppressed <= max_suppressed


def test_a_qi_given_no_weight_has_arx_default_half() -> None:
    df, hs = _small()
    common = {"qi": ["a", "b"], "hierarchies": hs, "models": [KAnonymity(2)]}
    given_one = anonymize(df, **common, suppression_limit=0, metric="loss", weights={"a": 1.0})
    both = anonymize(df, **common, suppression_limit=0, metric="loss", weights={"a": 1.0, "b": 0.5})
    assert given_one.loss == both.loss
    assert given_one.transformation == both.transformation
