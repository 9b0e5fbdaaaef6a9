"""The vectorized checkers agree with a straightforward per-class Python implementation."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
import pandas as pd
import pytest
from engine_strategies import tables
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import digamma

from transforms import privacy_models
from transforms.hierarchy import Hierarchy
from transforms.privacy_models import (
    ClassStats,
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    PrivacyModelError,
    RecursiveCLDiversity,
    TCloseness,
    check_class_counts,
    check_privacy,
    class_counts,
    merge_class_counts,
)

# --- reference implementation: one Counter per class, plain loops -------------------------


def _classes(df: pd.DataFrame, qi: list[str], s: str) -> dict[tuple, Counter]:
    classes: dict[tuple, Counter] = defaultdict(Counter)
    for row in df.itertuples(index=False):
        values = row._asdict()
        classes[tuple(values[c] for c in qi)][values[s]] += 1
    return classes


def _entropy_ok(counter: Counter, l: float) -> bool:  # noqa: E741
    n = sum(counter.values())
    if float(l).is_integer():
        # exact: H >= ln l  <=>  prod f^f * l^n <= n^n (integers, so ties are decided exactly)
        return math.prod(f**f for f in counter.values()) * int(l) ** n <= n**n
    return sum(f * math.log(f) for f in counter.values()) <= n * (math.log(n) - math.log(l))


def _grassberger_ok(counter: Counter, l: float) -> bool:  # noqa: E741
    n = sum(counter.values())
    total = 0.0
    for f in counter.values():
        g = digamma(f) + 0.5 * (-1) ** f * (digamma((f + 1) / 2) - digamma(f / 2))
        total += f * g
    return n * math.log(n) - total >= n * math.log(l)


def _recursive_ok(counter: Counter, c: float, l: int) -> bool:  # noqa: E741
    r = sorted(counter.values(), reverse=True)
    return r[0] < c * sum(r[l - 1 :])


def _emd(counter: Counter, overall: Counter, distance: str, h: Hierarchy | None) -> float:
    n = sum(counter.values())
    total = sum(overall.values())
    values = sorted(overall, key=float)  # sensitive values in the tests are numbers
    p = {v: counter.get(v, 0) / n for v in values}
    q = {v: overall[v] / total for v in values}
    if distance == "equal":
        return 0.5 * sum(abs(p[v] - q[v]) for v in values)
    if distance == "ordered":
        if len(values) == 1:
            return 0.0
        running, cost = 0.0, 0.0
        for v in values[:-1]:
            running += p[v] - q[v]
            cost += abs(running)
        return cost / (len(values) - 1)
    assert h is not None
    rows = {row[0]: row for row in h.levels}
    height = h.height - 1
    extra = {(v,): p[v] - q[v] for v in values}  # node = path from its level to the top
    cost = 0.0
    for level in range(1, height + 1):
        # each child once (several leaves share a child above level 1)
        children: dict[tuple, list[float]] = defaultdict(list)
        seen = set()
        for v in values:
            child = rows[v][level - 1 :] if level > 1 else (v,)
            if child in seen:
                continue
            seen.add(child)
            children[rows[v][level:]].append(extra[child])
        new_extra = {}
        for parent, child_extras in children.items():
            positive = sum(e for e in child_extras if e > 0)
            negative = -sum(e for e in child_extras if e < 0)
            cost += level / height * min(positive, negative)
            new_extra[parent] = sum(child_extras)
        extra = new_extra
    return cost


@settings(max_examples=120, deadline=None)
@given(
    table=tables(max_qi=3),
    k=st.integers(1, 5),
    l=st.integers(1, 4),
    entropy_l=st.floats(1.0, 3.0),
    c=st.floats(0.5, 4.0),
    t=st.floats(0.0, 1.0),
)
def test_checkers_agree_with_reference(
    table: tuple[pd.DataFrame, list[str], dict[str, Hierarchy], Hierarchy],
    k: int,
    l: int,  # noqa: E741
    entropy_l: float,
    c: float,
    t: float,
) -> None:
    df, qi, _, s_hierarchy = table
    classes = _classes(df, qi, "s")
    overall = Counter(df["s"])
    sizes = {key: sum(counter.values()) for key, counter in classes.items()}
    cases = [
        (KAnonymity(k), lambda cnt: sum(cnt.values()) >= k),
        (DistinctLDiversity("s", l), lambda cnt: len(cnt) >= l),
        (EntropyLDiversity("s", entropy_l), lambda cnt: _entropy_ok(cnt, entropy_l)),
        (
            EntropyLDiversity("s", entropy_l, "grassberger"),
            lambda cnt: _grassberger_ok(cnt, entropy_l),
        ),
        (RecursiveCLDiversity("s", c, l), lambda cnt: _recursive_ok(cnt, c, l)),
    ]
    for distance in ("equal", "ordered", "hierarchical"):
        model = TCloseness("s", t, distance, s_hierarchy if distance == "hierarchical" else None)
        emds = {key: _emd(cnt, overall, distance, s_hierarchy) for key, cnt in classes.items()}
        report = check_privacy(df, qi=qi, models=[model], sensitive="s")
        assert report.t == pytest.approx(max(emds.values()), abs=1e-12)
        # away from exact ties the verdicts agree
        if all(abs(e - t) > 1e-9 for e in emds.values()):
            assert report.violating_classes == sum(e > t for e in emds.values())
    for model, ok in cases:
        report = check_privacy(df, qi=qi, models=[model])
        bad = [key for key, cnt in classes.items() if not ok(cnt)]
        assert report.violating_classes == len(bad), model
        assert report.violating_records == sum(sizes[key] for key in bad)
        assert report.satisfied == (not bad)
        assert report.n_classes == len(classes) and report.n_records == len(df)
        assert report.min_class_size == min(sizes.values()) == report.k
    # achieved l values
    distinct = check_privacy(df, qi=qi, models=[DistinctLDiversity("s", 1)])
    assert distinct.l == min(len(cnt) for cnt in classes.values())
    shannon = check_privacy(df, qi=qi, models=[EntropyLDiversity("s", 1)])
    expected = min(
        math.exp(
            -sum(f / sum(cnt.values()) * math.log(f / sum(cnt.values())) for f in cnt.values())
        )
        for cnt in classes.values()
    )
    assert shannon.l == pytest.approx(expected, rel=1e-9)
    recursive = check_privacy(df, qi=qi, models=[RecursiveCLDiversity("s", c, 1)])
    achieved = min(
        max([m for m in range(1, len(cnt) + 1) if _recursive_ok(cnt, c, m)], default=0)
        for cnt in classes.values()
    )
    assert recursive.l == achieved


def test_entropy_l_exact_tie_passes() -> None:
    # two values once each: H = ln 2 exactly; exp(H) >= 2 could fail through rounding
    df = pd.DataFrame({"q": ["a", "a", "b", "b", "b"], "s": ["x", "y", "x", "y", "z"]})
    report = check_privacy(df, qi=["q"], models=[EntropyLDiversity("s", 2)])
    assert report.satisfied


def test_counts_merge_across_partitions() -> None:
    rng = np.random.default_rng(7)
    df = pd.DataFrame(
        {
            "q": rng.choice(["a", "b", "c"], 500),
            "r": rng.choice(["u", "v"], 500),
            "s": rng.choice(["1", "2", "3", "4"], 500),
        },
        dtype="str",
    )
    models = [KAnonymity(30), DistinctLDiversity("s", 4), TCloseness("s", 0.1, "ordered")]
    whole = check_privacy(df, qi=["q", "r"], models=models, sensitive="s")
    parts = [class_counts(df.iloc[i::3], qi=["q", "r"], sensitive="s") for i in range(3)]
    merged = check_class_counts(
        merge_class_counts(parts), qi=["q", "r"], models=models, sensitive="s"
    )
    assert merged == whole


def test_report_never_carries_values_and_exclude_works() -> None:
    df = pd.DataFrame({"q": ["Alice", "Bob", "Bob"], "s": ["1", "2", "3"]})
    report = check_privacy(
        df, qi=["q"], models=[KAnonymity(2)], exclude=np.array([True, False, False])
    )
    assert report.satisfied and report.n_records == 2 and report.min_class_size == 2
    assert "Alice" not in repr(report) and "Bob" not in repr(report)


def test_misconfiguration_is_structured() -> None:
    with pytest.raises(PrivacyModelError):
        KAnonymity(0)
    with pytest.raises(PrivacyModelError):
        TCloseness("s", 0.2, "hierarchical")
    df = pd.DataFrame({"q": ["a"], "s": ["1"]})
    with pytest.raises(PrivacyModelError, match="'other'"):
        check_privacy(df, qi=["q"], models=[DistinctLDiversity("s", 1)], sensitive="other")


def test_chunked_histograms_give_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {
            "q": rng.choice(list("abcdefgh"), 400),
            "r": rng.choice(list("uvw"), 400),
            "s": rng.choice([str(v) for v in range(9)], 400),
        },
        dtype="str",
    )
    hierarchy = Hierarchy("s", tuple((str(v), "lo" if v < 5 else "hi", "*") for v in range(9)))
    models = [
        KAnonymity(3),
        DistinctLDiversity("s", 3),
        EntropyLDiversity("s", 2.5),
        RecursiveCLDiversity("s", 2, 2),
        TCloseness("s", 0.3, "hierarchical", hierarchy),
        TCloseness("s", 0.3, "ordered"),
    ]
    whole = check_privacy(df, qi=["q", "r"], models=models)
    monkeypatch.setattr(privacy_models, "MAX_HISTOGRAM_CELLS", 20)  # 2 classes per chunk
    assert check_privacy(df, qi=["q", "r"], models=models) == whole


def test_grassberger_entropy_is_not_monotonic_so_it_is_never_pruned() -> None:
    hist = np.array([[1.0, 3.0], [3.0, 1.0], [4.0, 4.0]])
    stats = ClassStats(hist.sum(axis=1).astype(np.int64), {"s": hist}, {})
    model = EntropyLDiversity("s", 2.08, "grassberger")
    assert model.violating(stats).tolist() == [False, False, True]
    assert not model.monotonic(with_suppression=False)
    assert EntropyLDiversity("s", 2.08).monotonic(with_suppression=False)
