"""The optimal search on the hard cases: optima that suppress, combined models, every metric.

``test_lattice.py`` compares the search with ``brute_force``, but most of its random cases have
the bottom node as optimum or suppress nothing (review 2, M3), and ``brute_force`` shares the
engine's class counting, model checks and metric code. Here the tables are built to need
suppression (a bulk of common QI combinations plus a few outlier rows with rare values), every
privacy model is combined with k-anonymity, and the reference is an independent plain-Python
oracle: it generalizes each row through the hierarchy rows, groups with dicts, decides each model
in exact rational arithmetic where possible, and computes every metric from its documented
definition in ``transforms.metrics``. The optimum is then picked by the documented order of
``transforms.lattice``: smallest loss, then smallest level sum, then lexicographically smallest
level vector.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st
from property_budget import examples

from transforms.anonymize import SUPPRESSED, anonymize
from transforms.encode import EncodedTable, encode_table
from transforms.hierarchy import Hierarchy
from transforms.lattice import brute_force, evaluate_node, lattice_nodes, search
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

REL_TOL = 1e-9  # metric values: oracle (plain Python) vs engine (numpy), different sum orders

SENSITIVE_DOMAINS = (("1", "2", "10"), ("3", "5", "7", "20"), ("1", "2"), ("4", "8", "15", "16"))
MODEL_KINDS = (
    "k",
    "k+distinct",
    "k+entropy",
    "k+grassberger",
    "k+recursive",
    "k+t-equal",
    "k+t-ordered",
    "k+distinct+t-ordered",
)
# thresholds on decimal grids: the oracle reads them as exact decimals (Fraction(str(x))) and
# decides exactly, without the engine's tolerances. Exact ties (e.g. entropy of two equal
# counts at l = 2, an EMD equal to t) pass under both; every non-tie is far from the engine's
# tolerances: for classes of <= 80 records over <= 4 values, |n psi(n) - sum f psi(f) - n ln l|
# is 0 or >= 4e-9 * n max(ln n, 1) (enumerated for both estimators and every l below; the
# entropy tolerance is 1e-12 of that), and EMDs are rationals with denominators <= 80 * 80 * 3
ENTROPY_L = (1.2, 1.5, 1.8, 2.0, 2.2, 2.5, 3.0)
GRASSBERGER_L = (1.2, 1.5, 1.8, 2.0, 2.5)
RECURSIVE_C = (0.8, 1.0, 1.5, 2.0, 3.0, 4.0)
T_EQUAL = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
T_ORDERED = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4)
LIMITS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)


@dataclass(frozen=True)
class Case:
    df: pd.DataFrame
    qi: list[str]
    hierarchies: dict[str, Hierarchy]
    models: list[PrivacyModel]
    kind: str
    limit: float


# --- strategies -------------------------------------------------------------------------------


@st.composite
def _hierarchy(draw: st.DrawFn, column: str, leaves: list[str], height: int) -> Hierarchy:
    """A functional hierarchy of ``height`` levels (leaf .. ``*``) with random groupings."""
    rows = [[leaf] for leaf in leaves]
    current = list(leaves)
    for level in range(1, height - 1):
        distinct = sorted(set(current))
        n_groups = draw(st.integers(1, max(1, len(distinct) - 1)))
        groups = {v: draw(st.integers(0, n_groups - 1)) for v in distinct}
        current = [f"{column}L{level}g{groups[v]}" for v in current]
        for row, value in zip(rows, current, strict=True):
            row.append(value)
    for row in rows:
        row.append("*")
    return Hierarchy(column, tuple(tuple(r) for r in rows))


@st.composite
def _models(draw: st.DrawFn, kind: str) -> list[PrivacyModel]:
    models: list[PrivacyModel] = [KAnonymity(draw(st.integers(2, 5)))]
    if "distinct" in kind:
        models.append(DistinctLDiversity("s", draw(st.integers(2, 3))))
    if kind == "k+entropy":
        models.append(EntropyLDiversity("s", draw(st.sampled_from(ENTROPY_L))))
    if kind == "k+grassberger":
        models.append(EntropyLDiversity("s", draw(st.sampled_from(GRASSBERGER_L)), "grassberger"))
    if kind == "k+recursive":
        c = draw(st.sampled_from(RECURSIVE_C))
        models.append(RecursiveCLDiversity("s", c, draw(st.integers(2, 3))))
    if kind == "k+t-equal":
        models.append(TCloseness("s", draw(st.sampled_from(T_EQUAL))))
    if "t-ordered" in kind:
        models.append(TCloseness("s", draw(st.sampled_from(T_ORDERED)), "ordered"))
    return models


@st.composite
def cases(draw: st.DrawFn, kind: str | None = None) -> Case:
    """A bulk of rows over a few common QI values plus 1-4 outlier rows with rare values.

    Each QI's hierarchy also lists rare values and one leaf absent from the data (the loss
    metric counts hierarchy leaves). Outliers usually form tiny classes up to a high level, so
    suppressing them (limit 5-30 %) is typically cheaper than generalizing a whole column.
    """
    n_qi = draw(st.integers(2, 3))
    n = draw(st.integers(10, 80))
    limit = draw(st.sampled_from(LIMITS))
    # the limit can absorb at least one outlier: floor(0.05 * 20) = 1, floor(0.3 * 10) = 3
    limit = max(limit, 0.3 if n < 20 else 0.05)
    n_outliers = draw(st.integers(1, min(4, math.floor(limit * n))))
    n_bulk = n - n_outliers
    qi = [f"q{j}" for j in range(n_qi)]
    hierarchies: dict[str, Hierarchy] = {}
    columns: dict[str, list[str]] = {}
    rare_of: dict[str, list[str]] = {}
    for column in qi:
        common = [f"{column}c{i}" for i in range(draw(st.integers(1, 3)))]
        rare = [f"{column}r{i}" for i in range(draw(st.integers(1, 2)))]
        leaves = [*common, *rare, f"{column}unused"]
        height = draw(st.integers(2, 4))
        hierarchies[column] = draw(_hierarchy(column, leaves, height))
        columns[column] = draw(st.lists(st.sampled_from(common), min_size=n_bulk, max_size=n_bulk))
        rare_of[column] = rare
    for _ in range(n_outliers):
        odd = draw(st.sets(st.sampled_from(qi), min_size=1))
        for column in qi:
            pool = rare_of[column] if column in odd else sorted(set(columns[column][:n_bulk]))
            columns[column].append(draw(st.sampled_from(pool)))
    domain = draw(st.sampled_from(SENSITIVE_DOMAINS))
    sensitive = draw(st.lists(st.sampled_from(domain), min_size=n, max_size=n))
    order = draw(st.permutations(range(n)))
    data = {c: [columns[c][i] for i in order] for c in qi}
    data["s"] = [sensitive[i] for i in order]
    data["id"] = [f"r{i}" for i in range(n)]
    data["amount"] = [str(100 + 7 * i) for i in order]
    kind = kind or draw(st.sampled_from(MODEL_KINDS))
    models = draw(_models(kind))
    return Case(pd.DataFrame(data, dtype="str"), qi, hierarchies, models, kind, limit)


# --- independent oracle (plain Python, no engine code) ---------------------------------------


def _dec(x: float) -> Fraction:
    """A threshold as the decimal it was written as."""
    return Fraction(str(x))


def _grassberger_rational(f: int) -> Fraction:
    """ARX's G(f) + gamma + ln 2 for f <= 100: ``sum_{k=1..floor(f/2)} 2 / (2k - 1)``."""
    assert f <= 100, "generated classes hold at most 80 records"
    return sum((Fraction(2, 2 * k - 1) for k in range(1, f // 2 + 1)), Fraction(0))


def _grassberger_passes(counts: Counter[str], l: Fraction) -> bool:  # noqa: E741
    """ARX: ``sum f G(f) <= n (G(n) - ln l)``. With sum f = n the constant -gamma - ln 2 of
    every G cancels, leaving ``q = n R(n) - sum f R(f) >= n ln l`` with q rational. e^q is
    transcendental for rational q != 0 (Lindemann), so it never equals the rational l^n
    (l > 1): no exact ties, and 50 digits decide the sign."""
    n = sum(counts.values())
    q = n * _grassberger_rational(n) - sum(f * _grassberger_rational(f) for f in counts.values())
    with localcontext() as ctx:
        ctx.prec = 50
        log_l = Decimal(l.numerator).ln() - Decimal(l.denominator).ln()
        return Decimal(q.numerator) / Decimal(q.denominator) >= n * log_l


def _ordered_values(labels: Sequence[str]) -> list[str]:
    return sorted(labels, key=float)  # every generated sensitive label is a number


def _class_violates(
    values: list[str], global_counts: Counter[str], models: Sequence[PrivacyModel]
) -> bool:
    """Does one class (its sensitive values) violate any model? Exact arithmetic where possible."""
    n = len(values)
    counts = Counter(values)
    total = sum(global_counts.values())
    for model in models:
        if isinstance(model, KAnonymity):
            if n < model.k:
                return True
        elif isinstance(model, DistinctLDiversity):
            if len(counts) < model.l:
                return True
        elif isinstance(model, EntropyLDiversity):
            l_value = _dec(model.l)
            if len(counts) < math.ceil(l_value):  # ARX: at least ceil(l) distinct values
                return True
            if model.estimator == "shannon":
                # H >= ln l  <=>  prod f^f * l^n <= n^n  (exact for decimal l = a / b)
                lhs = math.prod(f**f for f in counts.values()) * l_value.numerator**n
                if lhs > n**n * l_value.denominator**n:
                    return True
            elif not _grassberger_passes(counts, l_value):
                return True
        elif isinstance(model, RecursiveCLDiversity):
            ordered = sorted(counts.values(), reverse=True)
            tail = sum(ordered[model.l - 1 :])
            if not ordered[0] < _dec(model.c) * tail:
                return True
        elif isinstance(model, TCloseness):
            domain = list(global_counts)
            diff = [Fraction(counts[v], n) - Fraction(global_counts[v], total) for v in domain]
            if model.distance == "equal":
                distance = sum(abs(d) for d in diff) / 2
            else:
                assert model.distance == "ordered"
                by_value = dict(zip(domain, diff, strict=True))
                running, distance = Fraction(0), Fraction(0)
                ordered_labels = _ordered_values(domain)
                for v in ordered_labels[:-1]:
                    running += by_value[v]
                    distance += abs(running)
                distance = distance / (len(domain) - 1) if len(domain) > 1 else Fraction(0)
            if distance > _dec(model.t):
                return True
        else:  # pragma: no cover - a model this oracle does not know
            raise AssertionError(f"oracle cannot check {model!r}")
    return False


def _violating_rows(
    keys: Sequence[tuple[str, ...]],
    sensitive: Sequence[str],
    global_counts: Counter[str],
    models: Sequence[PrivacyModel],
) -> set[int]:
    classes: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        classes[key].append(i)
    out: set[int] = set()
    for rows in classes.values():
        if _class_violates([sensitive[i] for i in rows], global_counts, models):
            out.update(rows)
    return out


@dataclass(frozen=True)
class NodeOutcome:
    levels: tuple[int, ...]
    suppressed: frozenset[int]
    satisfied: bool
    values: dict[str, float]  # metric name -> value (computed for every node)


def _node_outcome(case: Case, levels: tuple[int, ...], max_suppressed: int) -> NodeOutcome:
    df, qi, hs = case.df, case.qi, case.hierarchies
    n, q = len(df), len(qi)
    raw = {c: df[c].tolist() for c in qi}
    gen = {
        c: [dict((row[0], row[lv]) for row in hs[c].levels)[v] for v in raw[c]]
        for c, lv in zip(qi, levels, strict=True)
    }
    keys = list(zip(*(gen[c] for c in qi), strict=True))
    sensitive = df["s"].tolist()
    suppressed = _violating_rows(keys, sensitive, Counter(sensitive), case.models)
    s = len(suppressed)
    class_sizes = Counter(keys)
    kept_sizes = Counter(k for i, k in enumerate(keys) if i not in suppressed)

    values: dict[str, float] = {}
    entropy = 0.0
    for c in qi:
        leaf_count, gen_count = Counter(raw[c]), Counter(gen[c])
        gen_of = dict(zip(raw[c], gen[c], strict=True))
        entropy += sum(f * math.log2(gen_count[gen_of[v]] / f) for v, f in leaf_count.items())
    values["nu-entropy"] = entropy
    extra = 0.0
    if s:
        for c in qi:
            s_g = Counter(gen[c][i] for i in suppressed)
            extra += sum(f * math.log2(s / f) for f in s_g.values())
    values["nu-entropy-nm"] = entropy + extra
    values["discernibility"] = float(sum(size * size for size in class_sizes.values()))
    values["discernibility-nm"] = float(sum(x * x for x in kept_sizes.values()) + n * s)
    loss = precision = 0.0
    for c, lv in zip(qi, levels, strict=True):
        rows = hs[c].levels
        leaves_under = Counter(row[lv] for row in rows)
        denominator = max(len(rows) - 1, 1)
        kept_gen = [g for i, g in enumerate(gen[c]) if i not in suppressed]
        loss += sum((leaves_under[g] - 1) / denominator for g in kept_gen) + s
        precision += len(kept_gen) * lv / max(len(rows[0]) - 1, 1) + s
    values["loss"] = loss / (n * q)
    values["precision"] = precision / (n * q)
    n_classes = len(kept_sizes) + (1 if s else 0)
    values["aecs"] = n / n_classes if n_classes else 0.0
    return NodeOutcome(levels, frozenset(suppressed), s <= max_suppressed, values)


def _oracle_optima(
    outcomes: Sequence[NodeOutcome], metric: str
) -> tuple[list[NodeOutcome], float | None]:
    """The satisfying nodes whose loss ties the best one, and the best loss.

    The one tie rule both sides follow: losses are computed in floats, so losses that agree
    within REL_TOL (relative, at least 1 absolute) are ties. Equal losses reached by different
    sums can differ in the last bits, so neither side can tell which of them is smaller; the
    engine may return any of them, as long as among those it follows its documented order
    (smallest loss *as it computes it*, then level sum, then lexicographic; checked below).
    """
    satisfying = [o for o in outcomes if o.satisfied]
    if not satisfying:
        return [], None
    best = min(o.values[metric] for o in satisfying)
    tol = REL_TOL * max(abs(best), 1.0)
    tied = [o for o in satisfying if o.values[metric] <= best + tol]
    return sorted(tied, key=lambda o: (sum(o.levels), o.levels)), best


def _output_violations(
    data: pd.DataFrame, qi: Sequence[str], mask: np.ndarray, models: Sequence[PrivacyModel]
) -> set[int]:
    """Rows of kept classes of the released table that violate a model (plain groupby)."""
    sensitive = data["s"].tolist()
    kept = [i for i in range(len(data)) if not mask[i]]
    rows = data[list(qi)].itertuples(index=False, name=None)
    keys = [key for i, key in enumerate(rows) if not mask[i]]
    bad = _violating_rows(keys, [sensitive[i] for i in kept], Counter(sensitive), models)
    return {kept[i] for i in bad}


# --- engine side ------------------------------------------------------------------------------


def _engine_and_oracle(
    case: Case, metric: str
) -> tuple[EncodedTable, list[NodeOutcome], list[NodeOutcome], float | None]:
    enc = encode_table(case.df, qi=case.qi, hierarchies=case.hierarchies, sensitive=["s"])
    n = len(case.df)
    max_suppressed = math.floor(case.limit * n)
    nodes = lattice_nodes(enc.heights)
    outcomes = [_node_outcome(case, tuple(int(x) for x in node), max_suppressed) for node in nodes]
    optima, loss = _oracle_optima(outcomes, metric)
    return enc, outcomes, optima, loss


def _suppressing_optimum(case: Case, metric: str) -> str:
    found = brute_force(
        encode_table(case.df, qi=case.qi, hierarchies=case.hierarchies, sensitive=["s"]),
        models=case.models,
        suppression_limit=case.limit,
        metric=get_metric(metric),
    )
    if found.evaluation is None:
        return "none"
    return "suppressing" if found.evaluation.suppressed else "no suppression"


# --- properties -------------------------------------------------------------------------------


@settings(
    max_examples=examples(60),  # per model kind: 8 x 60 examples, about 12 s
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@pytest.mark.parametrize("kind", MODEL_KINDS)
@given(data=st.data(), metric=st.sampled_from(sorted(METRICS)))
def test_search_matches_independent_oracle_on_suppressing_cases(
    kind: str, data: st.DataObject, metric: str
) -> None:
    case = data.draw(cases(kind), label="case")
    df, qi, hs, models = case.df, case.qi, case.hierarchies, case.models
    n = len(df)
    enc, outcomes, optima, expected_loss = _engine_and_oracle(case, metric)
    m = get_metric(metric)
    max_suppressed = math.floor(case.limit * n)

    # every node: the engine's classes, suppression and metric value agree with the oracle,
    # and the search's lower bound never exceeds the true value (what pruning relies on)
    nodes = lattice_nodes(enc.heights)
    bounds = m.lower_bounds(enc, nodes)
    engine_values: dict[tuple[int, ...], float] = {}
    for node, outcome, bound in zip(nodes, outcomes, bounds, strict=True):
        ev = evaluate_node(enc, node, models=models, max_suppressed=max_suppressed)
        assert ev.suppressed == len(outcome.suppressed), outcome.levels
        assert ev.satisfied == outcome.satisfied, outcome.levels
        value = float(bound) if m.a_priori else m.value(enc, ev, bound=float(bound))
        engine_values[outcome.levels] = value
        assert value == pytest.approx(outcome.values[metric], rel=REL_TOL, abs=REL_TOL)
        assert bound <= outcome.values[metric] + REL_TOL * max(abs(value), 1.0), outcome.levels

    # (1) both strategies and brute force find one of the oracle's (tied) optima and its loss,
    # and among the tied nodes the engine's pick comes first in its own documented order
    by_levels = {o.levels: o for o in outcomes}
    picks = []
    for found in (
        search(enc, models=models, suppression_limit=case.limit, metric=m, strategy="bisect"),
        search(enc, models=models, suppression_limit=case.limit, metric=m, strategy="flash"),
        brute_force(enc, models=models, suppression_limit=case.limit, metric=m),
    ):
        if not optima:
            assert found.levels is None and found.loss is None
            continue
        assert found.levels in [o.levels for o in optima]
        assert by_levels[found.levels].satisfied
        assert found.loss == pytest.approx(expected_loss, rel=REL_TOL, abs=REL_TOL)
        assert found.nodes_checked <= found.lattice_size == len(nodes)
        order = {o.levels: (engine_values[o.levels], sum(o.levels), o.levels) for o in optima}
        assert order[found.levels] == min(order.values())
        picks.append(found.levels)
    if len(optima) > 1:
        event("optimum: losses tied within REL_TOL")
    expected = by_levels[picks[0]] if picks else None

    result = anonymize(
        df, qi=qi, hierarchies=hs, models=models, suppression_limit=case.limit, metric=metric
    )
    # (4) row count, index and every non-QI column unchanged (suppressed rows are kept)
    others = [c for c in df.columns if c not in qi]
    assert len(result.data) == n and result.data.index.equals(df.index)
    assert result.data[others].equals(df[others])
    assert list(result.data.columns) == list(df.columns)

    outcome_label = "none" if expected is None else ("suppressing" if expected.suppressed else "")
    event(f"optimum: {outcome_label or 'no suppression'}")
    if expected is None:
        assert result.transformation is None and not result.suppressed_mask.any()
        return
    assert result.transformation == dict(zip(qi, expected.levels, strict=True))
    if any(expected.levels):
        event("optimum: above the bottom node")
    target(float(len(expected.suppressed)), label="suppressed records")

    # (3) suppression: exactly the oracle's violating classes, within floor(limit * N)
    mask = result.suppressed_mask
    assert set(np.flatnonzero(mask).tolist()) == expected.suppressed
    assert result.suppressed == int(mask.sum()) <= math.floor(case.limit * n)
    assert (result.data.loc[mask, qi] == SUPPRESSED).all().all()
    for column, level in zip(qi, expected.levels, strict=True):
        leaf_to_level = {row[0]: row[level] for row in hs[column].levels}
        released = result.data[column].tolist()
        original = df[column].tolist()
        assert all(released[i] == leaf_to_level[original[i]] for i in range(n) if not mask[i])

    # (2) the kept records satisfy every model: engine checker and a plain groupby
    if (~mask).any():
        report = check_privacy(result.data, qi=qi, models=models, exclude=mask)
        assert report.satisfied and report.violating_records == 0
        assert report.n_records == n - int(mask.sum())
        assert report.n_classes == result.classes
        assert report.min_class_size == result.min_class_size >= models[0].k  # type: ignore[attr-defined]
    assert _output_violations(result.data, qi, mask, models) == set()


@pytest.mark.property  # its @given runs inside: a derandomized coverage sample
def test_generated_cases_mostly_need_suppression() -> None:
    """Coverage of the strategy above: a fixed (derandomized) sample of 15 cases per model kind."""
    tally: Counter[tuple[str, str]] = Counter()

    for kind in MODEL_KINDS:

        @settings(
            max_examples=15,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases(kind), metric=st.sampled_from(sorted(METRICS)))
        def sample(case: Case, metric: str) -> None:
            tally[case.kind, _suppressing_optimum(case, metric)] += 1

        sample()
    total = sum(tally.values())
    suppressing = sum(v for (_, outcome), v in tally.items() if outcome == "suppressing")
    assert total >= 100
    assert suppressing >= 0.6 * total, tally
    for kind in MODEL_KINDS:  # every combined model has suppressing optima in the sample
        assert tally[kind, "suppressing"] >= 3, (kind, tally)


def _e(l: float, estimator: str) -> EntropyLDiversity:  # noqa: E741
    return EntropyLDiversity("s", l, estimator)  # type: ignore[arg-type]


def test_oracle_decides_exact_ties_like_the_documented_semantics() -> None:
    """The oracle's tie rules, on hand-checked classes (it must be right to judge the engine)."""
    everywhere = Counter({"1": 2, "2": 2})
    # entropy of (2, 2) is exactly ln 2: passes l = 2, fails l = 2.2
    assert not _class_violates(["1", "1", "2", "2"], everywhere, [EntropyLDiversity("s", 2.0)])
    assert _class_violates(["1", "1", "2", "2"], everywhere, [EntropyLDiversity("s", 2.2)])
    # recursive (c, l): r1 < c * (r_l + ...) is strict: (2, 2) with c = 1, l = 2 fails
    assert _class_violates(["1", "1", "2", "2"], everywhere, [RecursiveCLDiversity("s", 1.0, 2)])
    assert not _class_violates(
        ["1", "1", "2", "2"], everywhere, [RecursiveCLDiversity("s", 1.5, 2)]
    )
    # equal EMD of a one-value class to (1/2, 1/2) is exactly 0.5: passes t = 0.5
    assert not _class_violates(["1", "1"], everywhere, [TCloseness("s", 0.5)])
    assert _class_violates(["1", "1"], everywhere, [TCloseness("s", 0.4)])
    # ordered EMD orders 1 < 2 < 10 numerically: class all "10" vs uniform = (1/3 + 2/3) / 2
    uniform = Counter({"1": 1, "2": 1, "10": 1})
    assert not _class_violates(["10"], uniform, [TCloseness("s", 0.5, "ordered")])
    assert _class_violates(["10"], uniform, [TCloseness("s", 0.45, "ordered")])
    # Grassberger (ARX's G): (1, 3) passes l = 2, (4, 4) fails it although its Shannon entropy
    # is ln 2 exactly; (1, 3) fails l = 2.5 with only 2 < ceil(2.5) distinct values
    grassberger = "grassberger"
    assert not _class_violates(["1", "2", "2", "2"], everywhere, [_e(2.0, grassberger)])
    assert _class_violates(["1"] * 4 + ["2"] * 4, everywhere, [_e(2.0, grassberger)])
    assert _class_violates(["1", "2", "2", "2"], everywhere, [_e(2.5, grassberger)])
    assert _grassberger_rational(1) == 0 and _grassberger_rational(5) == Fraction(8, 3)


TRAP_HIERARCHY = Hierarchy("a", (("a1", "G1", "*"), ("a2", "G1", "*"), ("a3", "G2", "*")))


@pytest.mark.parametrize(
    ("a", "s", "model"),
    [
        pytest.param(
            ["a1"] * 6 + ["a2"] + ["a3"] * 9,
            ["1", "3", "1", "1", "2", "2", "2", "1", "2", "1", "1", "3", "2", "3", "1", "3"],
            TCloseness("s", 0.1),
            id="t-equal",
        ),
        pytest.param(
            ["a1"] * 4 + ["a2"] * 2 + ["a3"] * 8,
            ["1", "2", "1", "2", "1", "1", "2", "3", "3", "1", "1", "3", "2", "1"],
            EntropyLDiversity("s", 2.0),
            id="entropy",
        ),
    ],
)
@pytest.mark.parametrize("strategy", ["bisect", "flash"])
def test_a_failing_node_above_a_suppressing_optimum_does_not_hide_it(
    a: list[str], s: list[str], model: PrivacyModel, strategy: str
) -> None:
    """Bottom passes by suppressing ``a2``; level 1 merges it into a failing class G1.

    Found with a mutant that declares t-closeness and entropy-l monotonic under suppression:
    the Flash path then checks level 1, tags the bottom as failing and returns the top node.
    The random cases above rarely hit this shape (their bulk classes are large).
    """
    df = pd.DataFrame({"a": a, "s": s, "id": [f"r{i}" for i in range(len(a))]}, dtype="str")
    case = Case(df, ["a"], {"a": TRAP_HIERARCHY}, [KAnonymity(2), model], "trap", 0.3)
    enc, outcomes, optima, expected_loss = _engine_and_oracle(case, "loss")
    assert [o.levels for o in optima] == [(0,)] and optima[0].suppressed
    assert not outcomes[1].satisfied  # the failing node above the optimum
    found = search(
        enc,
        models=case.models,
        suppression_limit=0.3,
        metric=get_metric("loss"),
        strategy=strategy,  # type: ignore[arg-type]
    )
    assert found.levels == (0,)
    assert found.loss == pytest.approx(expected_loss, rel=REL_TOL)
