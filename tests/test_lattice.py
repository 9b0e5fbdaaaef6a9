"""The optimal search equals brute force over the whole lattice, and its output is private."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from engine_strategies import tables
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from property_budget import examples

from transforms import privacy_models
from transforms.anonymize import SUPPRESSED, anonymize
from transforms.encode import NonFunctionalHierarchyError, encode_table
from transforms.hierarchy import Hierarchy, UnknownValuesError
from transforms.lattice import (
    LatticeTooLargeError,
    brute_force,
    evaluate_node,
    lattice_nodes,
    search,
)
from transforms.metrics import METRICS, get_metric
from transforms.privacy_models import (
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    PrivacyModel,
    RecursiveCLDiversity,
    TCloseness,
    check_privacy,
)


def _models(kind: str, k: int, s_hierarchy: Hierarchy) -> list[PrivacyModel]:
    return {
        "k": [KAnonymity(k)],
        "k+distinct": [KAnonymity(k), DistinctLDiversity("s", 2)],
        "entropy": [EntropyLDiversity("s", 1.5)],
        "grassberger": [KAnonymity(2), EntropyLDiversity("s", 1.3, "grassberger")],
        "recursive": [RecursiveCLDiversity("s", 3, 2)],
        "t-equal": [TCloseness("s", 0.3)],
        "t-ordered": [KAnonymity(2), TCloseness("s", 0.25, "ordered")],
        "t-hierarchical": [TCloseness("s", 0.3, "hierarchical", s_hierarchy)],
        "k+recursive": [KAnonymity(k), RecursiveCLDiversity("s", 2, 2)],
        "k+t-equal": [KAnonymity(k), TCloseness("s", 0.3)],
        "k+t-hierarchical": [KAnonymity(k), TCloseness("s", 0.3, "hierarchical", s_hierarchy)],
    }[kind]


MODEL_KINDS = [
    "k",
    "k+distinct",
    "entropy",
    "grassberger",
    "recursive",
    "t-equal",
    "t-ordered",
    "t-hierarchical",
    "k+recursive",
    "k+t-equal",
    "k+t-hierarchical",
]


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=tables(max_qi=4),
    kind=st.sampled_from(MODEL_KINDS),
    k=st.integers(1, 6),
    limit=st.sampled_from([0.0, 0.05, 0.2, 0.5]),
    metric=st.sampled_from(sorted(METRICS)),
    strategy=st.sampled_from(["bisect", "flash"]),
)
def test_search_equals_brute_force_and_output_is_private(
    table: tuple[pd.DataFrame, list[str], dict[str, Hierarchy], Hierarchy],
    kind: str,
    k: int,
    limit: float,
    metric: str,
    strategy: str,
) -> None:
    df, qi, hs, s_hierarchy = table
    models = _models(kind, k, s_hierarchy)
    enc = encode_table(df, qi=qi, hierarchies=hs, sensitive=["s"])
    found = search(
        enc,
        models=models,
        suppression_limit=limit,
        metric=get_metric(metric),
        strategy=strategy,  # type: ignore[arg-type]
    )
    reference = brute_force(enc, models=models, suppression_limit=limit, metric=get_metric(metric))
    assert found.levels == reference.levels
    if reference.loss is not None:
        assert found.loss == pytest.approx(reference.loss, rel=1e-12, abs=1e-12)
    assert found.nodes_checked <= found.lattice_size

    result = anonymize(
        df, qi=qi, hierarchies=hs, models=models, suppression_limit=limit, metric=metric
    )
    others = [c for c in df.columns if c not in qi]
    assert result.data[others].equals(df[others])  # non-QI columns never change
    assert result.data.index.equals(df.index) and len(result.data) == len(df)
    if result.transformation is None:
        assert reference.levels is None
        return
    assert tuple(result.transformation[c] for c in qi) == reference.levels
    mask = result.suppressed_mask
    assert result.suppressed == int(mask.sum()) <= math.floor(limit * len(df))
    assert (result.data.loc[mask, qi] == SUPPRESSED).all().all()
    if (~mask).any():
        report = check_privacy(result.data, qi=qi, models=models, exclude=mask)
        assert report.satisfied
        assert report.n_classes == result.classes
        assert report.min_class_size == result.min_class_size
        # kept records carry exactly the generalized values of the chosen levels
        for column in qi:
            expected = hs[column].generalize(df[column], level=result.transformation[column])
            assert (result.data.loc[~mask, column] == expected[~mask]).all()


def test_tie_break_prefers_lowest_level_sum_then_lexicographic() -> None:
    # two QIs whose generalization costs nothing (one value each): all four nodes tie at 0
    df = pd.DataFrame({"a": ["x"] * 4, "b": ["y"] * 4}, dtype="str")
    hs = {
        "a": Hierarchy("a", (("x", "*"),)),
        "b": Hierarchy("b", (("y", "*"),)),
    }
    result = anonymize(
        df, qi=["a", "b"], hierarchies=hs, models=[KAnonymity(2)], suppression_limit=0
    )
    assert result.transformation == {"a": 0, "b": 0}
    assert result.loss == 0


def test_no_solution_returns_none() -> None:
    df = pd.DataFrame({"a": ["x", "y"], "s": ["1", "1"]}, dtype="str")
    hs = {"a": Hierarchy("a", (("x", "*"), ("y", "*")))}
    result = anonymize(
        df,
        qi=["a"],
        hierarchies=hs,
        models=[DistinctLDiversity("s", 2)],
        suppression_limit=0.0,
    )
    assert result.transformation is None and result.loss is None
    assert not result.suppressed_mask.any() and result.data.equals(df)


def test_unknown_value_names_the_column() -> None:
    df = pd.DataFrame({"a": ["x", "unlisted"]}, dtype="str")
    hs = {"a": Hierarchy("a", (("x", "*"), ("y", "*")))}
    with pytest.raises(UnknownValuesError) as info:
        anonymize(df, qi=["a"], hierarchies=hs, models=[KAnonymity(2)], suppression_limit=0)
    assert info.value.column == "a" and "unlisted" not in str(info.value)


def test_non_functional_hierarchy_is_rejected() -> None:
    df = pd.DataFrame({"a": ["x", "y"]}, dtype="str")
    hs = {"a": Hierarchy("a", (("x", "p", "1"), ("y", "p", "2")))}
    with pytest.raises(NonFunctionalHierarchyError):
        anonymize(df, qi=["a"], hierarchies=hs, models=[KAnonymity(2)], suppression_limit=0)


def test_lattice_nodes_are_lexicographic() -> None:
    nodes = lattice_nodes([2, 3])
    assert nodes.tolist() == [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]
    assert np.array_equal(lattice_nodes([]), np.zeros((1, 0)))


def test_entropy_l_with_suppression_is_not_pruned_as_monotonic() -> None:
    # level 0: {x, y} passes, {x, x, x, x} is suppressed (4 <= floor(0.7 * 6));
    # level 1 merges them into {x*5, y} which fails: a failing node above a passing one
    df = pd.DataFrame(
        {"a": ["a1", "a1", "a2", "a2", "a2", "a2"], "s": ["x", "y", "x", "x", "x", "x"]},
        dtype="str",
    )
    hs = {"a": Hierarchy("a", (("a1", "g", "*"), ("a2", "g", "*")))}
    result = anonymize(
        df,
        qi=["a"],
        hierarchies=hs,
        models=[EntropyLDiversity("s", 2)],
        suppression_limit=0.7,
    )
    assert result.transformation == {"a": 0}
    assert result.suppressed == 4


def test_huge_lattice_is_refused_before_enumeration() -> None:
    with pytest.raises(LatticeTooLargeError) as info:
        lattice_nodes([5] * 12)
    assert info.value.size == 5**12


def test_mondrian_method_is_delegated() -> None:
    df = pd.DataFrame({"a": ["x", "y", "x", "y", "x", "y"], "s": list("123456")}, dtype="str")
    hs = {"a": Hierarchy("a", (("x", "*"), ("y", "*")))}
    result = anonymize(
        df, qi=["a"], hierarchies=hs, models=[KAnonymity(3)], suppression_limit=0, method="mondrian"
    )
    assert result.transformation == {} and result.min_class_size >= 3
    assert result.data["s"].equals(df["s"])
    # Reported classes are the distinct released QI combinations, not the partitions.
    assert result.classes == result.data[["a"]].drop_duplicates().shape[0]


def test_chunked_class_histograms_do_not_change_the_optimum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(11)
    df = pd.DataFrame(
        {
            "a": rng.choice(["a0", "a1", "a2", "a3"], 300),
            "b": rng.choice(["b0", "b1", "b2"], 300),
            "s": rng.choice(["1", "2", "3", "4", "5"], 300),
        },
        dtype="str",
    )
    hs = {
        "a": Hierarchy(
            "a", (("a0", "A", "*"), ("a1", "A", "*"), ("a2", "B", "*"), ("a3", "B", "*"))
        ),
        "b": Hierarchy("b", (("b0", "*"), ("b1", "*"), ("b2", "*"))),
    }
    models = [EntropyLDiversity("s", 4.2), TCloseness("s", 0.15, "ordered")]

    def run() -> tuple:
        r = anonymize(
            df,
            qi=["a", "b"],
            hierarchies=hs,
            models=models,
            suppression_limit=0.1,
            metric="discernibility-nm",
        )
        return r.transformation, r.loss, r.suppressed, tuple(np.flatnonzero(r.suppressed_mask))

    whole = run()
    monkeypatch.setattr(privacy_models, "MAX_HISTOGRAM_CELLS", 10)
    assert run() == whole


@pytest.mark.parametrize("strategy", ["bisect", "flash"])
def test_a_bound_rounded_above_its_value_does_not_hide_a_tied_optimum(strategy: str) -> None:
    """Precision of (0, 1, 1) and (1, 0, 1) is 4/9 for both; the tie goes to (0, 1, 1).

    Precision's bound of (0, 1, 1) is one ulp above its value, so once (1, 0, 1) was found
    the exact bound comparison excluded (0, 1, 1) unchecked (found by a random search: 3 in
    20,000 tables; the property test above draws such ties rarely).
    """
    tall = (("{c}0", "{c}01", "{c}01", "*"), ("{c}1", "{c}01", "{c}01", "*"))  # height 4
    hs = {
        c: Hierarchy(c, tuple(tuple(v.format(c=c) for v in row) for row in tall))
        for c in ("a", "b")
    }
    hs["c"] = Hierarchy("c", (("c0", "*"), ("c1", "*"), ("c2", "*")))
    df = pd.DataFrame(
        {
            "a": ["a0", "a1", "a0", "a1", "a1", "a0", "a1"],
            "b": ["b1", "b0", "b0", "b0", "b1", "b0", "b1"],
            "c": ["c0", "c2", "c0", "c2", "c0", "c1", "c0"],
        },
        dtype="str",
    )
    enc = encode_table(df, qi=["a", "b", "c"], hierarchies=hs)
    kwargs = {
        "models": [KAnonymity(3)],
        "suppression_limit": 0.5,
        "metric": get_metric("precision"),
    }
    found = search(enc, strategy=strategy, **kwargs)  # type: ignore[arg-type]
    assert found.levels == brute_force(enc, **kwargs).levels == (0, 1, 1)


def test_stopping_early_keeps_every_verdict_and_every_satisfying_evaluation() -> None:
    rng = np.random.default_rng(5)
    df = pd.DataFrame(
        {
            "a": rng.choice(["a0", "a1", "a2", "a3"], 400),
            "b": rng.choice(["b0", "b1", "b2"], 400),
            "s": rng.choice([str(v) for v in range(12)], 400),
        },
        dtype="str",
    )
    hs = {
        "a": Hierarchy(
            "a", (("a0", "A", "*"), ("a1", "A", "*"), ("a2", "B", "*"), ("a3", "B", "*"))
        ),
        "b": Hierarchy("b", (("b0", "*"), ("b1", "*"), ("b2", "*"))),
    }
    sh = Hierarchy("s", tuple((str(v), f"g{v // 4}", "*") for v in range(12)))
    enc = encode_table(df, qi=["a", "b"], hierarchies=hs, sensitive=["s"])
    cases = [
        [KAnonymity(30), TCloseness("s", 0.1, "hierarchical", sh)],
        [KAnonymity(3), RecursiveCLDiversity("s", 2, 4)],
        [EntropyLDiversity("s", 6), TCloseness("s", 0.12, "ordered")],
    ]
    for models in cases:
        for limit in (0, 20, 60):
            for levels in lattice_nodes(enc.heights):
                full = evaluate_node(enc, levels, models=models, max_suppressed=limit)
                early = evaluate_node(
                    enc, levels, models=models, max_suppressed=limit, stop_early=True
                )
                assert early.satisfied == full.satisfied
                if full.satisfied:
                    assert np.array_equal(early.violating, full.violating)
                    assert early.suppressed == full.suppressed


def test_nodes_below_the_monotone_border_are_tagged_not_checked() -> None:
    """With suppression, k + t-closeness is searched in bound order, where a node's
    predecessors come first: only the Flash pass over k alone spares the nodes failing k."""
    from adult_data import ADULT, read_adult

    from transforms.hierarchy import find_hierarchies

    qi = ["sex", "age", "race", "marital-status", "education"]
    df = read_adult(dtype="str")
    enc = encode_table(
        df, qi=qi, hierarchies=find_hierarchies(ADULT, columns=qi), sensitive=["occupation"]
    )
    models: list[PrivacyModel] = [KAnonymity(20), TCloseness("occupation", 0.15)]
    metric = get_metric("nu-entropy")
    found = search(enc, models=models, suppression_limit=0.02, metric=metric)
    assert (
        found.levels
        == brute_force(enc, models=models, suppression_limit=0.02, metric=metric).levels
    )
    limit = math.floor(0.02 * len(df))
    fail_k = sum(
        not evaluate_node(enc, node, models=[KAnonymity(20)], max_suppressed=limit).satisfied
        for node in lattice_nodes(enc.heights)
    )
    passing_k = len(lattice_nodes(enc.heights)) - fail_k
    assert fail_k > 100
    assert found.nodes_checked < passing_k + fail_k / 2
