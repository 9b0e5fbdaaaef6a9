"""Optimal full-domain generalization: a Flash-style search over the lattice of level vectors.

A node is a vector of one generalization level per quasi-identifier. A node *satisfies* the
models when the records of all violating classes, which are suppressed, number at most
``floor(limit * N)``. The result is the satisfying node with the smallest loss; ties are broken
by the smallest sum of levels, then by the lexicographically smallest level vector.

How the search avoids checking most nodes (after ARX's Flash, Kohlmayer et al. 2012):

- Predictive tagging. When every model is monotonic (see ``transforms.privacy_models``: with
  suppression only k-anonymity and distinct l-diversity are), a satisfying node makes all its
  successors satisfy and a failing node makes all its predecessors fail; whole up-sets and
  down-sets are tagged with one vectorized comparison. Which node to check next:
  ``strategy="flash"`` walks greedy paths upwards from the lowest untagged node and
  binary-searches each path (ARX's Flash); ``strategy="bisect"`` (default) checks the open node
  at the 95 % quantile of the bound order, a binary search on the loss axis: a satisfying node
  becomes the new best and excludes everything worse, a failing one tags its down-set. On
  Adult (k-anonymity, nu-entropy) it checks about half as many nodes as the Flash paths
  (598 vs 1387 for k=5, 4 %, 9 QIs); ``benchmarks/bench_flash.py`` measures both.
- Bounds. Each metric gives a lower bound for all nodes without data passes (for monotonic
  non-uniform entropy the exact value). Nodes whose bound is already worse than the best
  satisfying node are never checked (for inexact bounds: worse by more than ``BOUND_SLACK``,
  as a bound computed in floats can exceed its node's value by rounding).
- When a model is not monotonic under the configured suppression, nodes are checked in order
  of their lower bound until the bound exceeds the best value found. Before that, a Flash pass
  over the monotone parts judged on class sizes alone (``privacy_models.monotone_part``:
  k-anonymity) tags every node failing them; in bound order a node's predecessors come first,
  so only this pass spares the nodes below the border (on the large-domain benchmark about
  3,600 of 6,480 nodes, for 1,800 cheap checks).

Level bounds (ARX's ``DataDefinition.setMinimumGeneralization`` / ``setMaximumGeneralization``):
``search`` can be given a minimum and a maximum level per QI; the lattice is then only the
nodes within the bounds (a box of the full lattice, itself a lattice with the bounds as bottom
and top), so a node outside is never checked, tagged or returned, and ``lattice_size`` counts
the box. Tagging stays correct: an up-set or down-set within the box is the full one cut to the
box, and monotonicity holds between any two nodes of it. Node ids are mixed-radix over the
box's spans, so the lexicographic tie-break is unchanged. Without bounds the box is the full
lattice and the search is the same as before, node for node.

Correctness argument for the result: every node ends up checked, tagged, or excluded by the
bound. For a priori metrics every satisfying node (checked or tagged) has a known value and the
minimum over them is taken. For other monotonic metrics the optimum is a minimal satisfying
node, which can only be known by checking it. For non-monotonic metrics, satisfying nodes that
were only tagged are evaluated afterwards (in bound order). The tests compare this against
``brute_force`` on random tables.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from transforms.class_keys import combine_codes, dense_ids, radix_order
from transforms.encode import EncodedTable
from transforms.errors import ConfigurationError
from transforms.metrics import Metric, NodeEvaluation
from transforms.privacy_models import (
    ClassStats,
    KAnonymity,
    PrivacyModel,
    SparseHistogram,
    TCloseness,
    monotone_part,
)

__all__ = [
    "LatticeTooLargeError",
    "LevelBoundsError",
    "SearchResult",
    "SuppressionLimitError",
    "brute_force",
    "evaluate_node",
    "lattice_nodes",
    "level_bounds",
    "search",
]

BISECT_QUANTILE = 0.95  # measured on Adult: fewest checks among 0.1 .. 1.0
BOUND_SLACK = 1e-12  # relative: how far a float lower bound may exceed the value it bounds
_DIRECT_BINCOUNT_LIMIT = 1 << 16  # radix up to which classes are counted without hashing


MAX_LATTICE_SIZE = 2_000_000


class LatticeTooLargeError(ConfigurationError, ValueError):
    """The lattice has too many nodes to enumerate (fewer QIs or flatter hierarchies help)."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            f"the generalization lattice has {size:,} nodes, more than {limit:,}: use local "
            "recoding (method='mondrian', `--method mondrian`), fewer quasi-identifiers or "
            "flatter hierarchies"
        )


@dataclass(frozen=True)
class SearchResult:
    levels: tuple[int, ...] | None
    loss: float | None
    nodes_checked: int
    lattice_size: int
    evaluation: NodeEvaluation | None


class LevelBoundsError(ConfigurationError, ValueError):
    """A minimum or maximum generalization level that names no QI or lies outside its
    hierarchy, or a minimum above the maximum; ``column`` names the QI."""

    def __init__(self, column: str, problem: str) -> None:
        self.column, self.problem = column, problem
        super().__init__(f"level bounds of {column!r}: {problem}")


def lattice_nodes(
    heights: Sequence[int],
    /,
    *,
    min_levels: Sequence[int] | None = None,
    max_levels: Sequence[int] | None = None,
) -> np.ndarray:
    """All level vectors within the bounds, in lexicographic order (row index = node id).

    Without bounds every level of every QI (``0 .. height - 1``); ``min_levels`` and
    ``max_levels`` (one inclusive level per QI) cut the lattice to a box.
    """
    if not heights:
        return np.zeros((1, 0), dtype=np.int64)
    low = list(min_levels) if min_levels is not None else [0] * len(heights)
    high = list(max_levels) if max_levels is not None else [h - 1 for h in heights]
    size = math.prod(max(b - a + 1, 0) for a, b in zip(low, high, strict=True))
    if size > MAX_LATTICE_SIZE:
        raise LatticeTooLargeError(size, MAX_LATTICE_SIZE)
    ranges = (range(a, b + 1) for a, b in zip(low, high, strict=True))
    return np.asarray(list(itertools.product(*ranges)), dtype=np.int64).reshape(size, len(heights))


def level_bounds(
    qi: Sequence[str],
    heights: Sequence[int],
    /,
    *,
    min_levels: Mapping[str, int] | None = None,
    max_levels: Mapping[str, int] | None = None,
) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    """Per-QI bounds (in QI order) from maps by column name, validated with the column named.

    A column missing from a map is unbounded on that side (0, resp. its hierarchy's top
    level). Returns ``(None, None)`` when no map is given, so the search runs unchanged.
    """
    tops = dict(zip(qi, (h - 1 for h in heights), strict=True))
    for side, given in (("minimum", min_levels), ("maximum", max_levels)):
        for column, level in (given or {}).items():
            if column not in tops:
                raise LevelBoundsError(column, f"{side} level for a column that is not a QI")
            if isinstance(level, bool) or not isinstance(level, int | np.integer):
                raise LevelBoundsError(column, f"{side} level must be a whole number")
            if not 0 <= level <= tops[column]:
                raise LevelBoundsError(
                    column,
                    f"{side} level {level} outside its hierarchy's levels 0..{tops[column]}",
                )
    low = tuple(int((min_levels or {}).get(c, 0)) for c in qi)
    high = tuple(int((max_levels or {}).get(c, tops[c])) for c in qi)
    for column, a, b in zip(qi, low, high, strict=True):
        if a > b:
            raise LevelBoundsError(column, f"minimum level {a} above maximum level {b}")
    return (
        low if min_levels else None,
        high if max_levels else None,
    )


class SuppressionLimitError(ConfigurationError, ValueError):
    def __init__(self, limit: float) -> None:
        self.limit = limit
        super().__init__(f"suppression limit must lie in [0, 1], got {limit}")


def max_suppressed(n_records: int, limit: float) -> int:
    """ARX: at most floor(limit * N) records may be suppressed."""
    if not 0 <= limit <= 1:
        raise SuppressionLimitError(limit)
    return math.floor(limit * n_records)


def evaluate_node(
    enc: EncodedTable,
    levels: Sequence[int],
    /,
    *,
    models: Sequence[PrivacyModel],
    max_suppressed: int,
    stop_early: bool = False,
    value_orders: Mapping[str, np.ndarray] | None = None,
) -> NodeEvaluation:
    """Classes of a node by a mixed-radix key over the tuples and one bincount.

    Models on class sizes alone (k-anonymity) are judged first, with the classes t-closeness
    rejects on their size alone (``TCloseness.implied_k``); the sensitive histograms
    (sparse cells, integer codes) are then built once, only for the tuples of classes not
    already violating, since every model judges each class on its own. With ``stop_early``
    (the search), a node is given up as soon as its violating records exceed
    ``max_suppressed``: the evaluation then says ``satisfied=False`` and its ``violating``
    mask and ``suppressed`` count are only those found so far. ``value_orders`` (from
    ``sensitive_orders(enc, models)`` with the same table and models: orders built for other
    models would give cells out of order) saves sorting the tuples by value at every node.
    """
    n = enc.n_tuples
    key, radix = combine_codes(
        ((enc.tuple_gen[j][level], enc.level_sizes[j][level]) for j, level in enumerate(levels)),
        n=n,
    )
    # count straight into the key's range while it stays small; sensitive histograms are
    # sparse cells (one per distinct (class, value)), so their width does not matter
    if radix <= max(_DIRECT_BINCOUNT_LIMIT, 4 * n):
        class_of_tuple, n_classes = key, radix
    else:
        class_of_tuple, n_classes = dense_ids(key, radix=radix)
    weights = enc.tuple_weights
    sizes = np.bincount(class_of_tuple, weights=weights, minlength=n_classes).astype(np.int64)
    present = sizes > 0
    violating = np.zeros(n_classes, dtype=bool)

    def result() -> NodeEvaluation:
        suppressed = int(sizes[violating].sum())
        return NodeEvaluation(
            levels=tuple(int(x) for x in levels),
            class_of_tuple=class_of_tuple,
            sizes=sizes,
            violating=violating,
            suppressed=suppressed,
            satisfied=suppressed <= max_suppressed,
        )

    def over() -> bool:
        return stop_early and int(sizes[violating].sum()) > max_suppressed

    with np.errstate(divide="ignore", invalid="ignore"):
        size_stats = ClassStats(sizes)
        for model in models:
            if model.sensitive_column is None:
                violating |= model.violating(size_stats)
            elif isinstance(model, TCloseness):
                violating |= sizes < model.implied_k(enc.domains[model.column])
        violating &= present
        columns = sorted({m.sensitive_column for m in models if m.sensitive_column is not None})
        if not columns or over():
            return result()
        ranks = _value_ranks(enc, models)
        orders = value_orders if value_orders is not None else sensitive_orders(enc, models)
        cells = {}
        for column in columns:
            tuples = orders[column]  # the tuples in value (rank) order
            of_tuple = class_of_tuple[tuples]
            kept = ~violating[of_tuple]
            cells[column] = SparseHistogram.from_codes(
                of_tuple[kept],
                enc.tuple_sensitive[column][tuples[kept]],
                n_classes=n_classes,
                n_values=enc.domains[column].size,
                weights=weights[tuples[kept]],
                value_rank=ranks.get(column),
                values_sorted=True,
            )
        stats = ClassStats(
            np.where(violating, 0, sizes),
            domains={c: enc.domains[c] for c in columns},
            cells=cells,
        )
        present = stats.sizes > 0
        for model in sorted(models, key=_cost):
            if model.sensitive_column is not None:
                violating |= model.violating(stats) & present
                if over():
                    break
    return result()


def _value_ranks(enc: EncodedTable, models: Sequence[PrivacyModel]) -> dict[str, np.ndarray]:
    """Per sensitive column, the order of values its models read fastest (identity: None)."""
    return {
        m.column: rank
        for m in models
        if isinstance(m, TCloseness) and (rank := m.value_rank(enc.domains[m.column])) is not None
    }


def sensitive_orders(enc: EncodedTable, models: Sequence[PrivacyModel]) -> dict[str, np.ndarray]:
    """Per sensitive column of the models, its tuples sorted (stably) by value rank.

    Computed once per search: a node then needs only a stable radix pass on its class ids to
    have its sensitive cells in (class, value) order.
    """
    ranks = _value_ranks(enc, models)
    orders = {}
    for column in {m.sensitive_column for m in models if m.sensitive_column is not None}:
        codes = enc.tuple_sensitive[column]
        rank = ranks.get(column)
        ranked = codes if rank is None else rank[codes]
        orders[column] = radix_order([(ranked, max(enc.domains[column].size, 1))])
    return orders


def _cost(model: PrivacyModel) -> int:
    """Cheapest sensitive models first, so that ``stop_early`` skips the dear ones."""
    if isinstance(model, TCloseness):
        return 2
    return 0 if monotone_part(model) is model else 1


class _Search:
    def __init__(
        self,
        enc: EncodedTable,
        models: Sequence[PrivacyModel],
        limit: float,
        metric: Metric,
        min_levels: Sequence[int] | None = None,
        max_levels: Sequence[int] | None = None,
    ) -> None:
        self.enc = enc
        self.models = tuple(models)
        self.metric = metric
        self.limit = limit
        self.min_levels, self.max_levels = min_levels, max_levels
        self.max_suppressed = max_suppressed(enc.n_records, limit)
        self.classify_only = False  # True: tag satisfy/fail only, never offer a best node
        self.value_orders = sensitive_orders(enc, self.models)
        self.heights = np.asarray(enc.heights, dtype=np.int64)
        self.low = np.asarray(
            min_levels if min_levels is not None else [0] * len(enc.heights), dtype=np.int64
        )
        self.high = np.asarray(
            max_levels if max_levels is not None else self.heights - 1, dtype=np.int64
        )
        self.nodes = lattice_nodes(enc.heights, min_levels=min_levels, max_levels=max_levels)
        n_nodes = len(self.nodes)
        self.bounds = metric.lower_bounds(enc, self.nodes)
        self.level_sums = self.nodes.sum(axis=1)
        self.ids = np.arange(n_nodes)
        # total order by (bound, level sum, lexicographic == node id)
        order = np.lexsort((self.ids, self.level_sums, self.bounds))
        self.rank = np.empty(n_nodes, dtype=np.int64)
        self.rank[order] = np.arange(n_nodes)
        self.order = order
        # mixed-radix strides over the box's spans (the full heights without bounds)
        spans = self.high - self.low + 1
        self.strides = np.ones(len(enc.heights), dtype=np.int64)
        for j in range(len(enc.heights) - 2, -1, -1):
            self.strides[j] = self.strides[j + 1] * spans[j + 1]
        # per QI and level: which nodes are at least / at most that level (for tagging)
        self.at_least = [
            [self.nodes[:, j] >= lv for lv in range(h)] for j, h in enumerate(enc.heights)
        ]
        self.at_most = [
            [self.nodes[:, j] <= lv for lv in range(h)] for j, h in enumerate(enc.heights)
        ]
        # 0 unknown, 1 satisfies, 2 fails
        self.state = np.zeros(n_nodes, dtype=np.int8)
        self.checked = np.zeros(n_nodes, dtype=bool)
        self.excluded = np.zeros(n_nodes, dtype=bool)
        self.values = np.full(n_nodes, np.nan)
        self.best: tuple[float, int, int] | None = None  # (loss, level sum, node id)
        self.best_eval: NodeEvaluation | None = None

    # --- bookkeeping ----------------------------------------------------------------------

    def key(self, node: int, value: float) -> tuple[float, int, int]:
        return (value, int(self.level_sums[node]), node)

    @property
    def nodes_checked(self) -> int:
        """Distinct nodes whose classes were evaluated."""
        return int(self.checked.sum())

    def check(self, node: int) -> NodeEvaluation:
        self.checked[node] = True
        ev = evaluate_node(
            self.enc,
            self.nodes[node],
            models=self.models,
            max_suppressed=self.max_suppressed,
            stop_early=True,
            value_orders=self.value_orders,
        )
        if ev.satisfied and not self.classify_only:
            value = (
                float(self.bounds[node])
                if self.metric.a_priori
                else self.metric.value(self.enc, ev, bound=float(self.bounds[node]))
            )
            self.values[node] = value
            self.offer(node, value, ev)
        return ev

    def offer(self, node: int, value: float, ev: NodeEvaluation | None) -> None:
        if self.classify_only:
            return
        candidate = self.key(node, value)
        if self.best is None or candidate < self.best:
            self.best = candidate
            self.best_eval = ev
            self.exclude_worse()

    def exclude_worse(self) -> None:
        """Exclude the nodes that cannot come before the best one in the documented order.

        For a priori metrics the bounds are the values, so the order decides exactly. Other
        bounds are computed differently from the values they bound and can exceed them by
        rounding (precision: ``sum(level / h) / q`` vs ``sum(n * level / h) / (n q)``), so a
        node is only excluded when its bound is above the best loss by more than BOUND_SLACK;
        a node that ties the best is checked and competes by level sum and level vector.
        """
        assert self.best is not None
        loss, level_sum, node = self.best
        b = self.bounds
        if not self.metric.a_priori:
            self.excluded |= b > loss + BOUND_SLACK * max(abs(loss), 1.0)
            return
        worse = (b > loss) | (
            (b == loss)
            & ((self.level_sums > level_sum) | ((self.level_sums == level_sum) & (self.ids > node)))
        )
        self.excluded |= worse

    def tag_up(self, node: int) -> None:
        up = self.state == 0
        for j, level in enumerate(self.nodes[node]):
            up &= self.at_least[j][level]
        self.state[up] = 1
        if self.metric.a_priori and up.any():
            # values are known without data passes: the best newly tagged node competes
            tagged = np.flatnonzero(up)
            best = int(tagged[np.argmin(self.rank[tagged])])
            self.values[tagged] = self.bounds[tagged]
            self.offer(best, float(self.bounds[best]), None)

    def tag_down(self, node: int) -> None:
        down = self.state == 0
        for j, level in enumerate(self.nodes[node]):
            down &= self.at_most[j][level]
        self.state[down] = 2

    def open(self, node: int) -> bool:
        return self.state[node] == 0 and not self.excluded[node]

    # --- strategies ---------------------------------------------------------------------------

    def path_from(self, node: int) -> list[int]:
        path = [node]
        current = node
        while True:
            candidates = [
                current + int(self.strides[j])
                for j in range(len(self.heights))
                if self.nodes[current, j] < self.high[j]
            ]
            candidates = [c for c in candidates if self.open(c)]
            if not candidates:
                return path
            current = min(candidates, key=lambda c: self.rank[c])
            path.append(current)

    def run_tagging(self) -> None:
        # bottom-up by level sum like Flash, cheapest bound first within a level
        for node in np.lexsort((self.rank, self.level_sums)):
            node = int(node)
            if not self.open(node):
                continue
            path = self.path_from(node)
            low, high = 0, len(path) - 1
            while low <= high:
                mid = (low + high) // 2
                current = path[mid]
                if self.state[current] == 1:
                    high = mid - 1
                    continue
                if self.state[current] == 2:
                    low = mid + 1
                    continue
                if self.excluded[current]:
                    break
                ev = self.check(current)
                if ev.satisfied:
                    self.state[current] = 1
                    self.tag_up(current)
                    high = mid - 1
                else:
                    self.state[current] = 2
                    self.tag_down(current)
                    low = mid + 1

    def evaluate_tagged(self) -> None:
        """Non-monotonic metrics: satisfying nodes known only by tagging need their value."""
        if not self.metric.a_priori and not self.metric.monotonic:
            pending = np.flatnonzero((self.state == 1) & ~self.checked & ~self.excluded)
            for node in pending[np.argsort(self.rank[pending], kind="stable")]:
                node = int(node)
                if self.excluded[node]:
                    continue
                self.check(node)

    def run_bisect(self, quantile: float = 0.5) -> None:
        """A priori metric, monotonic models: check the open node at a loss quantile.

        Satisfying moves the best below it (excluding every worse node); failing tags its
        whole down-set. Like a binary search on the loss axis.
        """
        while True:
            candidates = self.order[~self.excluded[self.order] & (self.state[self.order] == 0)]
            if not len(candidates):
                return
            node = int(candidates[int(quantile * (len(candidates) - 1))])
            ev = self.check(node)
            if ev.satisfied:
                self.state[node] = 1
                self.tag_up(node)
            else:
                self.state[node] = 2
                self.tag_down(node)

    def tag_monotone_failures(self, parts: Sequence[PrivacyModel]) -> None:
        """Mark as failing (state 2) every node that fails the monotone ``parts`` of the models.

        A Flash pass over the parts alone (``run_tagging``, nothing excluded) classifies the
        whole lattice with checks only near the border between passing and failing nodes;
        since each part is implied by its model, a node failing a part fails the models. In
        bound order (``run_ordered``) the predecessors of a node come first, so tagging there
        could never skip a check: this pass is what spares the nodes below the border.
        """
        pre = _Search(self.enc, parts, self.limit, self.metric, self.min_levels, self.max_levels)
        pre.classify_only = True
        pre.run_tagging()
        self.state[pre.state == 2] = 2
        self.checked |= pre.checked  # a node evaluated in both passes counts once

    def run_ordered(self) -> None:
        for node in self.order:
            node = int(node)
            if self.excluded[node]:
                break  # the order is by bound, so every later node is excluded too
            if self.state[node] != 2:
                self.check(node)


def search(
    enc: EncodedTable,
    /,
    *,
    models: Sequence[PrivacyModel],
    suppression_limit: float,
    metric: Metric,
    strategy: Literal["bisect", "flash"] = "bisect",
    min_levels: Sequence[int] | None = None,
    max_levels: Sequence[int] | None = None,
) -> SearchResult:
    """The optimal transformation (see the module docstring for order and tie-break).

    ``strategy`` only changes how many nodes are checked, never the result. ``min_levels``
    and ``max_levels`` (one inclusive level per QI, from ``level_bounds``) restrict the
    lattice to the nodes between them.
    """
    s = _Search(enc, models, suppression_limit, metric, min_levels, max_levels)
    with_suppression = s.max_suppressed > 0
    if all(m.monotonic(with_suppression=with_suppression) for m in models):
        if strategy == "bisect":
            s.run_bisect(BISECT_QUANTILE)
        elif strategy == "flash":
            s.run_tagging()
        else:
            raise ValueError(f"unknown search strategy {strategy!r}")
        s.evaluate_tagged()
    else:
        # only the parts judged on class sizes: a distinct-l part costs a node its sensitive
        # cells, which on a large domain is the price of the full check (measured: k + recursive
        # (4, 5) on 1,243 values 1.3 s with it, 0.46 s without; entropy-3 on Adult 1.13 / 1.29 s)
        parts: list[PrivacyModel] = [
            part
            for model in models
            if (part := monotone_part(model)) is not None and part.sensitive_column is None
        ]
        parts += [
            KAnonymity(k)
            for model in models
            if isinstance(model, TCloseness)
            and (k := model.implied_k(enc.domains[model.column])) > 1
        ]
        if parts:
            s.tag_monotone_failures(parts)
        s.run_ordered()
    return _result(s)


def brute_force(
    enc: EncodedTable,
    /,
    *,
    models: Sequence[PrivacyModel],
    suppression_limit: float,
    metric: Metric,
    min_levels: Sequence[int] | None = None,
    max_levels: Sequence[int] | None = None,
) -> SearchResult:
    """Check every node within the bounds (reference for tests)."""
    s = _Search(enc, models, suppression_limit, metric, min_levels, max_levels)
    s.exclude_worse = lambda: None  # type: ignore[method-assign]
    for node in range(len(s.nodes)):
        s.check(node)
    return _result(s)


def _result(s: _Search) -> SearchResult:
    if s.best is None:
        return SearchResult(None, None, s.nodes_checked, len(s.nodes), None)
    loss, _, node = s.best
    ev = s.best_eval
    if ev is None:
        ev = evaluate_node(s.enc, s.nodes[node], models=s.models, max_suppressed=s.max_suppressed)
    return SearchResult(
        tuple(int(x) for x in s.nodes[node]), float(loss), s.nodes_checked, len(s.nodes), ev
    )
