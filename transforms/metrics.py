"""Information-loss metrics for full-domain generalization with record suppression (ARX).

Lower is better for every metric. A metric gives, for all lattice nodes at once, a lower bound
of its value that needs no pass over the data (``lower_bounds``); metrics whose value depends on
the levels alone ("a priori": monotonic non-uniform entropy) return their exact value there.
Metrics that depend on the classes or on what is suppressed are computed from a node's
evaluation (``value``).

Definitions (N records, q quasi-identifiers, S suppressed records):

- ``nu-entropy`` (monotonic non-uniform entropy): ``sum_j sum_v count(v) *
  log2(count(gen(v)) / count(v))`` with counts on the input; suppression ignored.
- ``nu-entropy-nm``: the above plus, per QI, ``sum_g S_g log2(S / S_g)`` over the generalized
  values g of the suppressed records.
- ``discernibility``: sum of squared class sizes, suppressed classes included.
- ``discernibility-nm``: sum of squared sizes of kept classes plus ``N * S``.
- ``loss`` (generalization intensity, Iyengar's LM as in ARX's "Loss"): mean over records and
  QIs of ``(leaves(g) - 1) / (domain - 1)``, leaves counted in the hierarchy; a suppressed
  record counts 1 per QI.
- ``precision`` (Sweeney's Prec as in ARX): mean over records and QIs of
  ``level / (height - 1)``; a suppressed record counts 1 per QI.
- ``aecs`` (average equivalence class size): ``N / classes``, the suppressed records forming
  one class (they all read ``*``).

Attribute weights (ARX's ``ARXConfiguration.setAttributeWeight``): the metrics that sum a
contribution per QI (``nu-entropy``, ``nu-entropy-nm``, ``loss``, ``precision``) multiply QI
j's contribution, and its share of every lower bound, by ``w_j / max(w)`` as ARX's
``AbstractMetricMultiDimensional`` does (all weights 0: all 1). Weights are never negative, so
each weighted bound still bounds its weighted value and the search prunes as before; without
weights nothing is multiplied and every value is bit-identical to the unweighted metric.
``discernibility`` and ``aecs`` have no per-attribute decomposition (single-dimensional in
ARX): weights for them are a ``ConfigurationError``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Protocol

import numpy as np

from transforms.encode import EncodedTable
from transforms.errors import ConfigurationError
from transforms.options import METRIC_NAMES, MetricName

__all__ = [
    "METRICS",
    "METRIC_NAMES",
    "AttributeWeightError",
    "Metric",
    "MetricName",
    "NodeEvaluation",
    "UnknownMetricError",
    "get_metric",
    "normalized_weights",
    "weighted",
]


class UnknownMetricError(ConfigurationError, ValueError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown metric {name!r}; choose one of {sorted(METRIC_NAMES)}")


@dataclass(frozen=True)
class NodeEvaluation:
    """Classes of one lattice node over the encoded tuples."""

    levels: tuple[int, ...]
    class_of_tuple: np.ndarray  # class id per tuple
    sizes: np.ndarray  # records per class
    violating: np.ndarray  # bool per class
    suppressed: int
    satisfied: bool

    @property
    def kept_sizes(self) -> np.ndarray:
        return self.sizes[~self.violating & (self.sizes > 0)]


class Metric(Protocol):
    # read-only, so that the frozen dataclasses in METRICS satisfy it
    @property
    def name(self) -> str: ...
    @property
    def a_priori(self) -> bool: ...  # value known from levels alone (lower_bounds is exact)
    @property
    def monotonic(self) -> bool: ...  # never smaller on a more general node

    def lower_bounds(self, enc: EncodedTable, nodes: np.ndarray, /) -> np.ndarray: ...

    def value(self, enc: EncodedTable, ev: NodeEvaluation, /, *, bound: float) -> float: ...


class AttributeWeightError(ConfigurationError, ValueError):
    """A weight that is not a finite number >= 0, or weights for a metric that takes none."""

    def __init__(self, column: str | None, problem: str) -> None:
        self.column, self.problem = column, problem
        super().__init__(f"weight of {column!r}: {problem}" if column else problem)


Weights = tuple[float, ...] | None


def normalized_weights(weights: Sequence[float], /) -> tuple[float, ...]:
    """ARX's normalization: divided by the largest weight; all weights 0 count as all 1."""
    for w in weights:
        if not isinstance(w, int | float) or isinstance(w, bool) or not math.isfinite(w) or w < 0:
            raise AttributeWeightError(None, f"weights must be finite numbers >= 0, got {w!r}")
    top = max(weights, default=0.0)
    if top == 0:
        return tuple(1.0 for _ in weights)
    return tuple(float(w) / top for w in weights)


def weighted(metric: Metric, weights: Sequence[float] | None, /) -> Metric:
    """``metric`` with one weight per QI (in QI order); ``None``: the metric unchanged."""
    if weights is None:
        return metric
    if "weights" not in {f.name for f in fields(metric)}:  # type: ignore[arg-type]
        raise AttributeWeightError(
            None,
            f"metric {metric.name!r} has no per-attribute contributions to weight; use "
            "nu-entropy, nu-entropy-nm, loss or precision",
        )
    return replace(metric, weights=normalized_weights(weights))  # type: ignore[type-var]


def _per_level_sum(
    tables: list[np.ndarray], nodes: np.ndarray, weights: Weights = None
) -> np.ndarray:
    total = np.zeros(len(nodes))
    for j, table in enumerate(tables):
        if weights is None:
            total = total + table[nodes[:, j]]
        else:
            total = total + weights[j] * table[nodes[:, j]]
    return total


def _entropy_tables(enc: EncodedTable) -> list[np.ndarray]:
    tables = []
    for j in range(len(enc.qi)):
        leaf_counts = enc.value_counts[j][0]
        values = []
        for level in range(enc.heights[j]):
            # each data value v: count(v) * log2(count(gen(v)) / count(v))
            gen_of_value = _gen_of_value(enc, j, level)
            generalized = enc.value_counts[j][level][gen_of_value]
            present = leaf_counts > 0
            values.append(
                float(
                    np.sum(
                        leaf_counts[present] * np.log2(generalized[present] / leaf_counts[present])
                    )
                )
            )
        tables.append(np.asarray(values))
    return tables


def _gen_of_value(enc: EncodedTable, j: int, level: int) -> np.ndarray:
    """Generalized code at ``level`` of every level-0 code of QI j."""
    out = np.zeros(enc.level_sizes[j][0], dtype=np.int64)
    out[enc.tuple_gen[j][0]] = enc.tuple_gen[j][level]
    return out


def _suppressed_tuples(ev: NodeEvaluation) -> np.ndarray:
    return np.asarray(ev.violating[ev.class_of_tuple])


@dataclass(frozen=True)
class NonUniformEntropy:
    monotonic_variant: bool = True
    weights: Weights = None

    @property
    def name(self) -> str:
        return "nu-entropy" if self.monotonic_variant else "nu-entropy-nm"

    @property
    def a_priori(self) -> bool:
        return self.monotonic_variant

    @property
    def monotonic(self) -> bool:
        return self.monotonic_variant

    def lower_bounds(self, enc: EncodedTable, nodes: np.ndarray, /) -> np.ndarray:
        return _per_level_sum(_entropy_tables(enc), nodes, self.weights)

    def value(self, enc: EncodedTable, ev: NodeEvaluation, /, *, bound: float) -> float:
        base = bound
        if self.monotonic_variant or ev.suppressed == 0:
            return base
        mask = _suppressed_tuples(ev)
        weights = enc.tuple_weights[mask]
        extra = 0.0
        for j, level in enumerate(ev.levels):
            s_g = np.bincount(enc.tuple_gen[j][level][mask], weights=weights)
            s_g = s_g[s_g > 0]
            part = float(np.sum(s_g * np.log2(ev.suppressed / s_g)))
            extra += part if self.weights is None else self.weights[j] * part
        return base + extra


def _class_count_bound(enc: EncodedTable, nodes: np.ndarray) -> np.ndarray:
    """Upper bound of the number of classes of each node: min(N, prod of level sizes)."""
    bound = np.ones(len(nodes))
    for j in range(len(enc.qi)):
        bound = bound * np.asarray(enc.level_sizes[j], dtype=np.float64)[nodes[:, j]]
    return np.maximum(np.minimum(bound, enc.n_records), 1)


@dataclass(frozen=True)
class Discernibility:
    monotonic_variant: bool = True
    a_priori: bool = False

    @property
    def name(self) -> str:
        return "discernibility" if self.monotonic_variant else "discernibility-nm"

    @property
    def monotonic(self) -> bool:
        return self.monotonic_variant

    def lower_bounds(self, enc: EncodedTable, nodes: np.ndarray, /) -> np.ndarray:
        # sum of squares of C class sizes adding to N is at least N^2 / C (Cauchy-Schwarz)
        n = float(enc.n_records)
        return n * n / _class_count_bound(enc, nodes)

    def value(self, enc: EncodedTable, ev: NodeEvaluation, /, *, bound: float) -> float:
        sizes = ev.sizes.astype(np.float64)
        if self.monotonic_variant:
            return float(np.sum(sizes * sizes))
        kept = ev.kept_sizes.astype(np.float64)
        return float(np.sum(kept * kept) + float(enc.n_records) * ev.suppressed)


@dataclass(frozen=True)
class GeneralizationLoss:
    name: str = "loss"
    a_priori: bool = False
    monotonic: bool = False
    weights: Weights = None

    def _tables(self, enc: EncodedTable) -> list[np.ndarray]:
        tables = []
        for j in range(len(enc.qi)):
            denominator = max(enc.domain_sizes[j] - 1, 1)
            tables.append(
                np.asarray(
                    [
                        float(np.sum(counts * (leaves - 1)) / denominator)
                        for counts, leaves in zip(
                            enc.value_counts[j], enc.leaf_counts[j], strict=True
                        )
                    ]
                )
            )
        return tables

    def _normalizer(self, enc: EncodedTable) -> float:
        return float(max(enc.n_records, 1) * max(len(enc.qi), 1))

    def lower_bounds(self, enc: EncodedTable, nodes: np.ndarray, /) -> np.ndarray:
        return _per_level_sum(self._tables(enc), nodes, self.weights) / self._normalizer(enc)

    def value(self, enc: EncodedTable, ev: NodeEvaluation, /, *, bound: float) -> float:
        if ev.suppressed == 0:
            return bound
        mask = _suppressed_tuples(ev)
        keep_w = np.where(mask, 0.0, enc.tuple_weights)
        total = 0.0
        for j, level in enumerate(ev.levels):
            denominator = max(enc.domain_sizes[j] - 1, 1)
            per_code = (enc.leaf_counts[j][level] - 1) / denominator
            part = float(np.sum(per_code[enc.tuple_gen[j][level]] * keep_w)) + ev.suppressed
            total += part if self.weights is None else self.weights[j] * part
        return total / self._normalizer(enc)


@dataclass(frozen=True)
class Precision:
    name: str = "precision"
    a_priori: bool = False
    monotonic: bool = False
    weights: Weights = None

    def _fractions(self, enc: EncodedTable, levels: np.ndarray) -> np.ndarray:
        heights = np.maximum(np.asarray(enc.heights, dtype=np.float64) - 1, 1)
        if self.weights is None:
            return levels / heights
        return levels / heights * np.asarray(self.weights, dtype=np.float64)

    def lower_bounds(self, enc: EncodedTable, nodes: np.ndarray, /) -> np.ndarray:
        if not enc.qi:
            return np.zeros(len(nodes))
        return np.asarray(self._fractions(enc, nodes).sum(axis=1) / len(enc.qi))

    def value(self, enc: EncodedTable, ev: NodeEvaluation, /, *, bound: float) -> float:
        if not enc.qi:
            return 0.0
        n = max(enc.n_records, 1)
        fractions = self._fractions(enc, np.asarray(ev.levels))
        kept = enc.n_records - ev.suppressed
        # a suppressed record counts 1 per QI, weighted like the QI
        full = 1 if self.weights is None else np.asarray(self.weights, dtype=np.float64)
        return float(np.sum(kept * fractions + ev.suppressed * full) / (n * len(enc.qi)))


@dataclass(frozen=True)
class AverageClassSize:
    name: str = "aecs"
    a_priori: bool = False
    monotonic: bool = False

    def lower_bounds(self, enc: EncodedTable, nodes: np.ndarray, /) -> np.ndarray:
        return enc.n_records / _class_count_bound(enc, nodes)

    def value(self, enc: EncodedTable, ev: NodeEvaluation, /, *, bound: float) -> float:
        classes = len(ev.kept_sizes) + (1 if ev.suppressed else 0)
        return float(enc.n_records / classes) if classes else 0.0


METRICS: dict[MetricName, Metric] = {
    "nu-entropy": NonUniformEntropy(True),
    "nu-entropy-nm": NonUniformEntropy(False),
    "discernibility": Discernibility(True),
    "discernibility-nm": Discernibility(False),
    "loss": GeneralizationLoss(),
    "precision": Precision(),
    "aecs": AverageClassSize(),
}


def get_metric(name: str, /) -> Metric:
    try:
        return METRICS[name]  # type: ignore[index]  # any text may come in: unknown -> error
    except KeyError:
        raise UnknownMetricError(name) from None
