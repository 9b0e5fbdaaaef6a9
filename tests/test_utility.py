"""Information loss per attribute: ARX's entropy on Adult, and NCP against plain Python."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
import pandas as pd
import pytest
from adult_data import ADULT, ADULT_COLUMNS, read_adult
from hypothesis import given, settings
from hypothesis import strategies as st
from property_budget import examples

from transforms.hierarchy import Hierarchy, find_hierarchies
from transforms.utility import class_ids, full_domain_loss, ncp_per_attribute

COLUMNS = ADULT_COLUMNS
COLOUR = Hierarchy(
    "colour",
    (("a", "ab", "*"), ("b", "ab", "*"), ("c", "cd", "*"), ("d", "cd", "*"), ("e", "e", "*")),
)


@pytest.mark.parametrize(
    ("levels", "loss"),
    [
        ([1, 0, 1, 1, 3, 2, 2, 0, 1], 255559.85455731067),
        ([1, 2, 1, 1, 3, 2, 2, 1, 1], 407289.5388925293),
    ],
)
def test_entropy_sums_to_arx_golden_loss(levels, loss):
    df = read_adult()
    hierarchies = find_hierarchies(ADULT, columns=COLUMNS)
    result = full_domain_loss(
        df,
        qi=COLUMNS,
        hierarchies=hierarchies,
        transformation=dict(zip(COLUMNS, levels, strict=True)),
    )
    assert sum(a.entropy_bits for a in result.values()) == pytest.approx(loss, rel=1e-12)
    for col, level in zip(COLUMNS, levels, strict=True):
        attr = result[col]
        assert attr.intensity == pytest.approx(level / (hierarchies[col].height - 1))
        assert 0.0 <= attr.entropy_share <= 1.0 + 1e-12
        assert (attr.entropy_bits == 0) == (level == 0)
    # the top level loses the whole attribute
    top = full_domain_loss(df, qi=["sex"], hierarchies=hierarchies, transformation={"sex": 1})[
        "sex"
    ]
    assert top.entropy_share == pytest.approx(1.0) and top.intensity == 1.0


def python_ncp(records, classes, kind):
    values = [r for r in records]
    domain = sorted(set(values))
    by_class = defaultdict(list)
    for v, c in zip(values, classes, strict=True):
        by_class[c].append(v)
    total = 0.0
    for members in by_class.values():
        if kind == "numeric":
            span = max(domain) - min(domain)
            penalty = (max(members) - min(members)) / span if span else 0.0
        elif kind == "hierarchy":
            if len(domain) <= 1:
                penalty = 0.0
            else:
                for level in range(3):
                    anc = {COLOUR.levels[ord(v) - ord("a")][level] for v in members}
                    if len(anc) == 1:
                        (node,) = anc
                        under = [
                            v for v in domain if COLOUR.levels[ord(v) - ord("a")][level] == node
                        ]
                        penalty = (len(under) - 1) / (len(domain) - 1)
                        break
        else:
            penalty = (len(set(members)) - 1) / (len(domain) - 1) if len(domain) > 1 else 0.0
        total += penalty * len(members)
    return total / len(values)


@settings(max_examples=examples(50), deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.integers(0, 9), st.sampled_from("abcde"), st.sampled_from("xyz"), st.integers(0, 4)
        ),
        min_size=1,
        max_size=50,
    )
)
def test_ncp_matches_plain_python(data):
    df = pd.DataFrame(data, columns=["num", "colour", "plain", "cls"])
    classes = df["cls"].to_numpy()
    got = ncp_per_attribute(
        df,
        qi=["num", "colour", "plain"],
        classes=classes,
        numeric=["num"],
        hierarchies={"colour": COLOUR},
    )
    assert got["num"] == pytest.approx(python_ncp(df["num"].tolist(), classes, "numeric"))
    assert got["colour"] == pytest.approx(python_ncp(df["colour"].tolist(), classes, "hierarchy"))
    assert got["plain"] == pytest.approx(python_ncp(df["plain"].tolist(), classes, "set"))
    # the same classes given as a generalized table
    generalized = df.assign(num=df["cls"], colour=df["cls"], plain=df["cls"])
    again = ncp_per_attribute(
        df,
        qi=["num", "colour", "plain"],
        generalized=generalized,
        numeric=["num"],
        hierarchies={"colour": COLOUR},
    )
    assert again == pytest.approx(got)


def test_ncp_weights_stand_for_repeated_rows():
    df = pd.DataFrame({"num": [1, 5, 9, 2], "plain": ["x", "y", "x", "z"]})
    classes = np.array([0, 0, 1, 1])
    weights = np.array([3, 1, 2, 5])
    expanded = df.loc[df.index.repeat(weights)]
    got = ncp_per_attribute(
        df, qi=["num", "plain"], classes=classes, weights=weights, numeric=["num"]
    )
    want = ncp_per_attribute(
        expanded, qi=["num", "plain"], classes=np.repeat(classes, weights), numeric=["num"]
    )
    assert got == pytest.approx(want)
    assert got["num"] == pytest.approx((4 * 4 / 8 + 7 * 7 / 8) / 11)


def test_class_ids_group_equal_rows():
    df = pd.DataFrame({"a": ["x", "y", "x", None], "b": [1, 2, 1, None]})
    ids = class_ids(df, qi=["a", "b"])
    assert ids[0] == ids[2] and len(set(ids.tolist())) == 3
    assert Counter(class_ids(df, qi=[]).tolist()) == {0: 4}
    assert math.isclose(len(np.unique(ids)), 3)
