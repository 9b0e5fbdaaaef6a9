"""Mondrian local recoding: privacy of every output, coverage of every recoded value."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from adult_data import ADULT, ADULT_QI_8, read_adult
from hypothesis import given, settings
from hypothesis import strategies as st
from property_budget import examples

from transforms.hierarchy import Hierarchy, find_hierarchies
from transforms.mondrian import (
    MissingQIValuesError,
    MondrianInfeasibleError,
    mondrian,
)
from transforms.privacy_models import (
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    TCloseness,
    check_privacy,
)
from transforms.utility import UnknownColumnError

ADULT_QI = ADULT_QI_8

# colour: leaves a..f under two parents, then "*"
COLOUR = Hierarchy(
    "colour",
    (
        ("a", "ab", "*"),
        ("b", "ab", "*"),
        ("c", "cdef", "*"),
        ("d", "cdef", "*"),
        ("e", "cdef", "*"),
        ("f", "cdef", "*"),
    ),
)
RANGE = re.compile(r"^\[(-?[\d.]+)-(-?[\d.]+)\]$")


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return read_adult()


@pytest.fixture(scope="module")
def adult_hierarchies() -> dict[str, Hierarchy]:
    return find_hierarchies(ADULT, columns=[*ADULT_QI, "salary-class"])


def covers(label: str, value: object, kind: str) -> bool:
    """Does a recoded label include the original value?"""
    if kind == "numeric":
        m = RANGE.match(label)
        if m is None:
            return float(label) == float(value)
        return float(m.group(1)) <= float(value) <= float(m.group(2))
    if kind == "hierarchy":
        ancestors = {
            COLOUR.generalize(pd.Series([value]), level=lv).iloc[0] for lv in range(COLOUR.height)
        }
        return label in ancestors
    if label.startswith("{"):
        return str(value) in label[1:-1].split(",")
    return label == str(value)


frames = st.integers(min_value=1, max_value=60).flatmap(
    lambda n: st.fixed_dictionaries(
        {
            "age": st.lists(st.integers(0, 30), min_size=n, max_size=n),
            "colour": st.lists(st.sampled_from("abcdef"), min_size=n, max_size=n),
            "shape": st.lists(st.sampled_from(["sq", "tri", "hex"]), min_size=n, max_size=n),
            "disease": st.lists(st.sampled_from(["flu", "cold", "none"]), min_size=n, max_size=n),
            "payload": st.lists(st.integers(), min_size=n, max_size=n),
        }
    )
)


@settings(max_examples=examples(60), deadline=None)
@given(data=frames, k=st.integers(1, 6), diverse=st.booleans(), shift=st.integers(0, 5))
def test_output_is_private_complete_and_covers_originals(data, k, diverse, shift):
    df = pd.DataFrame(data)
    df.index = df.index * 3 + shift  # not 0..n-1 on purpose
    qi = ["age", "colour", "shape"]
    models = [KAnonymity(k)]
    if diverse:
        models.append(DistinctLDiversity("disease", 2))
    whole = check_privacy(df.assign(one=0), qi=["one"], models=models)
    if not whole.satisfied:
        with pytest.raises(MondrianInfeasibleError):
            mondrian(df, qi=qi, models=models, hierarchies={"colour": COLOUR}, numeric=["age"])
        return
    result = mondrian(df, qi=qi, models=models, hierarchies={"colour": COLOUR}, numeric=["age"])
    out = result.data
    assert check_privacy(out, qi=qi, models=models).satisfied
    assert out.index.equals(df.index)
    assert list(out.columns) == list(df.columns)
    pd.testing.assert_series_equal(out["payload"], df["payload"])
    pd.testing.assert_series_equal(out["disease"], df["disease"])
    assert result.min_class_size >= k
    assert np.bincount(result.partition).min() == result.min_class_size
    assert len(np.unique(result.partition)) == result.n_partitions
    for col, kind in (("age", "numeric"), ("colour", "hierarchy"), ("shape", "set")):
        for label, value in zip(out[col], df[col], strict=True):
            assert covers(label, value, kind), (col, label, value)
    assert all(0.0 <= v <= 1.0 for v in result.loss.values())


def test_small_example_splits_on_the_median():
    df = pd.DataFrame({"age": [21, 22, 35, 36], "x": [1, 2, 3, 4]})
    result = mondrian(df, qi=["age"], models=[KAnonymity(2)], numeric=["age"])
    assert result.data["age"].tolist() == ["[21-22]", "[21-22]", "[35-36]", "[35-36]"]
    assert result.n_partitions == 2
    # NCP: each class spans 1 of the 15 years
    assert result.loss["age"] == pytest.approx(1 / 15)


def test_categorical_without_hierarchy_becomes_a_set_and_with_one_the_common_ancestor():
    df = pd.DataFrame({"colour": ["a", "b", "c", "d"], "shape": ["sq", "tri", "sq", "tri"]})
    result = mondrian(df, qi=["colour"], models=[KAnonymity(2)], hierarchies={"colour": COLOUR})
    assert result.data["colour"].tolist() == ["ab", "ab", "cdef", "cdef"]
    # leaves under the ancestor: ab has 2 of the 4 input values, cdef has c and d
    assert result.loss["colour"] == pytest.approx(1 / 3)
    sets = mondrian(df, qi=["shape"], models=[KAnonymity(4)])
    assert sets.data["shape"].tolist() == ["{sq,tri}"] * 4


def test_identical_rows_cannot_be_split():
    df = pd.DataFrame({"age": [40] * 7, "colour": ["c"] * 7})
    result = mondrian(
        df, qi=["age", "colour"], models=[KAnonymity(2)], numeric=["age"], hierarchies={}
    )
    assert result.n_partitions == 1
    assert result.data["age"].tolist() == ["40"] * 7
    assert result.data["colour"].tolist() == ["c"] * 7
    assert result.ncp == 0.0


def test_infeasible_and_missing_values_raise_structured_errors():
    df = pd.DataFrame({"age": [1, 2, 3], "d": ["x", "x", "y"]})
    with pytest.raises(MondrianInfeasibleError) as err:
        mondrian(df, qi=["age"], models=[KAnonymity(4)], numeric=["age"])
    assert err.value.n_rows == 3
    with pytest.raises(MondrianInfeasibleError) as l_err:
        mondrian(df, qi=["age"], models=[DistinctLDiversity("d", 3)], numeric=["age"])
    assert l_err.value.model == "DistinctLDiversity(d)"
    with pytest.raises(MissingQIValuesError) as missing:
        mondrian(df.assign(age=[1.0, None, 3.0]), qi=["age"], models=[KAnonymity(1)])
    assert missing.value.column == "age" and missing.value.n_missing == 1
    assert "None" not in str(missing.value)
    with pytest.raises(UnknownColumnError):
        mondrian(df, qi=["nope"], models=[KAnonymity(1)])


def test_adult_k5_is_deterministic_and_k_anonymous(adult, adult_hierarchies):
    kwargs = {
        "qi": ADULT_QI,
        "models": [KAnonymity(5)],
        "hierarchies": adult_hierarchies,
        "numeric": ["age"],
    }
    first = mondrian(adult, **kwargs)
    second = mondrian(adult, **kwargs)
    pd.testing.assert_frame_equal(first.data, second.data)
    assert first.n_partitions == second.n_partitions
    assert check_privacy(first.data, qi=ADULT_QI, models=[KAnonymity(5)]).satisfied
    assert first.min_class_size == 5
    # far finer than the 5-anonymous full-domain optimum, which keeps a few hundred classes
    assert first.n_partitions > 3000
    assert 0.0 < first.ncp < 0.2
    assert (first.data["salary-class"] == adult["salary-class"]).all()


def test_adult_with_l_diversity_and_t_closeness(adult, adult_hierarchies):
    for models in (
        [KAnonymity(5), DistinctLDiversity("salary-class", 2)],
        [KAnonymity(3), EntropyLDiversity("salary-class", 1.5)],
        [KAnonymity(3), TCloseness("salary-class", 0.2)],
        [
            KAnonymity(3),
            TCloseness("salary-class", 0.2, "hierarchical", adult_hierarchies["salary-class"]),
        ],
    ):
        result = mondrian(
            adult,
            qi=ADULT_QI,
            models=models,
            hierarchies=adult_hierarchies,
            numeric=["age"],
            sensitive="salary-class",
        )
        assert check_privacy(result.data, qi=ADULT_QI, models=models).satisfied, models
        assert result.n_partitions > 100


def test_duplicated_adult_stops_at_the_distinct_records(adult):
    # x3: every distinct record appears at least 3 times, so 3-anonymity needs no recoding
    big = pd.concat([adult.head(2000)] * 3, ignore_index=True)
    result = mondrian(big, qi=ADULT_QI, models=[KAnonymity(3)], numeric=["age"])
    distinct = big[ADULT_QI].drop_duplicates().shape[0]
    assert result.n_partitions == distinct
    assert result.ncp == 0.0
