"""Privacy models (k-anonymity, l-diversity, t-closeness) as ARX defines them, and a checker.

Every model judges equivalence classes from per-class counts only: ``ClassStats`` holds the
class sizes and, per sensitive column, a histogram as sparse cells (``SparseHistogram``: one
per distinct (class, value), so a domain of thousands of values costs nothing per class); the
models decide on the cells with ``np.bincount`` and sorts, never a per-class Python loop. The
optimal search (``transforms.lattice``) and ``check_privacy`` share these vectorized
functions, so the checker and the engine cannot disagree. Counts are sums, so partitions can
be counted separately and merged (``class_counts`` + ``merge_class_counts`` +
``check_class_counts``).

Semantics (ARX):

- k-anonymity: a class violates iff its size < k.
- distinct l-diversity: violates iff it has < l distinct sensitive values.
- entropy l-diversity (ARX's ``EntropyLDiversity.isAnonymous``): a class of n records with
  counts f_i passes iff it has at least ``ceil(l)`` distinct values and
  ``sum f_i psi(f_i) <= n (psi(n) - ln l)``, where psi is ``ln`` (Shannon) or Grassberger's
  ``G`` as ARX computes it (``grassberger_g``: the exact value for n <= 100, an asymptotic series
  above). ``entropy_l_violating`` is the one place this is decided; it allows a tolerance of
  ``ENTROPY_TOLERANCE * n * max(ln n, 1)`` on the sum, so exact ties (l values with equal
  counts: H = ln l) pass instead of being decided by rounding.
- recursive (c, l)-diversity: with sorted counts r_1 >= r_2 >= ..., passes iff
  ``r_1 < c * (r_l + ... + r_m)``.
- t-closeness: the earth mover's distance between a class's sensitive distribution and the
  distribution over the whole table is <= t (a 1e-12 slack absorbs summation-order rounding).
  Distances: equal (half the L1 distance), ordered (Li et al.: cumulative differences over the
  value order divided by m - 1; numeric order when every value parses as a number), and
  hierarchical (Li et al.: sum over hierarchy nodes of level/height * min(positive extra,
  negative extra)).

Monotonicity (used by the search to tag nodes without checking them): without record
suppression every model here is monotonic in ARX's sense (merging two passing classes gives a
passing class: sizes and distinct counts only grow, Shannon entropy is concave, EMD is convex),
except entropy l-diversity with the Grassberger estimator: counts (1, 3) and (3, 1) each pass
l = 2, their union (4, 4) fails. With suppression only
k-anonymity and distinct l-diversity stay monotonic (a class that contains a passing class
passes), so only those prune when suppression is allowed; for the other models the search
prunes with the k-anonymity among them (see ``monotone_part`` and ``transforms.lattice``),
then checks the rest in bound order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable

import numpy as np

from transforms.class_keys import CodeColumn, column_codes, equivalence_classes, radix_order
from transforms.errors import ConfigurationError
from transforms.options import (
    ENTROPY_ESTIMATORS,
    L_VARIANTS,
    T_DISTANCES,
    EntropyEstimator,
    LVariant,
    TDistance,
)

__all__ = [
    "ENTROPY_ESTIMATORS",
    "ENTROPY_TOLERANCE",
    "L_VARIANTS",
    "T_DISTANCES",
    "ClassStats",
    "DistinctLDiversity",
    "EntropyEstimator",
    "EntropyLDiversity",
    "KAnonymity",
    "LVariant",
    "PrivacyModel",
    "PrivacyModelError",
    "PrivacyReport",
    "RecursiveCLDiversity",
    "SensitiveDomain",
    "SparseHistogram",
    "TCloseness",
    "TDistance",
    "check_class_counts",
    "check_privacy",
    "class_counts",
    "class_stats",
    "entropy_l_violating",
    "grassberger_g",
    "iter_class_stats",
    "merge_class_counts",
    "monotone_part",
    "report_from_chunks",
    "sensitive_domain",
]

EMD_SLACK = 1e-12
EMD_BOUND_MARGIN = 1e-9  # how far a bound must clear t before it decides (>> float rounding)
ENTROPY_TOLERANCE = 1e-12
"""Entropy l-diversity tolerance, relative to ``n max(ln n, 1)`` (see ``entropy_l_violating``).

In entropy units it is ``1e-12 * max(ln n, 1)`` nats: far above the float rounding of the sums
(a few ulp of ``n ln n``), far below any real entropy gap of a class."""

if TYPE_CHECKING:  # pandas is imported where it is used: a check on codes never loads it
    import pandas as pd

    from transforms.hierarchy import Hierarchy

# Euler-Mascheroni constant to 50 digits: G's exact values are -gamma - ln 2 + a rational
_EULER_GAMMA = Decimal("0.57721566490153286060651209008240243104215933593992")
GRASSBERGER_EXACT_UP_TO = 100  # ARX's precomputed table; larger n use the asymptotic series


class PrivacyModelError(ConfigurationError):
    """A privacy model is misconfigured or does not fit the data (names columns, never values)."""


@dataclass(frozen=True)
class SensitiveDomain:
    """The distinct values of a sensitive column (code order) and their overall counts."""

    column: str
    labels: tuple[str, ...]
    global_counts: np.ndarray

    @property
    def size(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class SparseHistogram:
    """The non-zero cells of a ``(n_classes, n_values)`` histogram, sorted by class and,
    within a class, by value code (or by the ``value_rank`` they were built with).

    A node of the search has at most one cell per distinct tuple, however large the sensitive
    domain, so the models judge these cells (``np.bincount`` per class) instead of a dense
    array of mostly zeros.
    """

    classes: np.ndarray  # int64 class id per cell, non-decreasing
    values: np.ndarray  # int64 value code per cell, distinct within a class
    counts: np.ndarray  # float64 (weighted) count per cell, > 0
    n_classes: int
    n_values: int

    @classmethod
    def from_codes(
        cls,
        class_ids: np.ndarray,
        codes: np.ndarray,
        /,
        *,
        n_classes: int,
        n_values: int,
        weights: np.ndarray | None = None,
        value_rank: np.ndarray | None = None,
        values_sorted: bool = False,
    ) -> SparseHistogram:
        """Cells of per-record (or per-tuple, weighted) class ids and value codes.

        ``value_rank`` (a permutation of the codes) orders the cells within a class, so a
        model that needs that order (the hierarchical distance) need not sort again.
        ``values_sorted`` says the rows already come in that order (the search sorts its
        tuples once), so one stable radix pass on the classes suffices.
        """
        class_ids = np.asarray(class_ids, dtype=np.int64)
        ranked = np.asarray(codes if value_rank is None else value_rank[codes], dtype=np.int64)
        top = int(class_ids.max()) + 1 if len(class_ids) else 1  # fewer digits than n_classes
        keys = [(class_ids, top)] if values_sorted else [(class_ids, top), (ranked, n_values)]
        order = radix_order(keys)
        classes, ranked = class_ids[order], ranked[order]
        new = np.ones(len(order), dtype=bool)
        new[1:] = (classes[1:] != classes[:-1]) | (ranked[1:] != ranked[:-1])
        starts = np.flatnonzero(new)
        mass = np.ones(len(order)) if weights is None else np.asarray(weights, float)[order]
        # most rows start a cell of their own: a bincount over run ids beats reduceat there
        counts = np.bincount(np.cumsum(new) - 1, weights=mass, minlength=len(starts))
        keep = counts > 0
        starts = starts[keep]
        values = ranked[starts]
        if value_rank is not None:
            code_of_rank = np.empty_like(value_rank)
            code_of_rank[value_rank] = np.arange(len(value_rank))
            values = code_of_rank[values]
        counts = counts[keep].astype(np.float64, copy=False)  # bincount of nothing is int64
        return cls(classes[starts], values, counts, n_classes, n_values)

    @classmethod
    def from_dense(cls, hist: np.ndarray, /) -> SparseHistogram:
        rows, cols = np.nonzero(hist > 0)
        return cls(
            rows.astype(np.int64),
            cols.astype(np.int64),
            hist[rows, cols].astype(np.float64),
            hist.shape[0],
            hist.shape[1],
        )

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_classes, self.n_values)

    def dense(self) -> np.ndarray:
        hist = np.zeros((self.n_classes, self.n_values))
        hist[self.classes, self.values] = self.counts
        return hist

    def per_class(self, cell_values: np.ndarray, /) -> np.ndarray:
        """Sum of a per-cell quantity in every class (0 for classes without cells)."""
        return np.bincount(self.classes, weights=cell_values, minlength=self.n_classes)

    def sizes(self) -> np.ndarray:
        return self.per_class(self.counts)

    def per_class_of(self, classes: np.ndarray, cell_values: np.ndarray, /) -> np.ndarray:
        """``per_class`` for cells given in another order (their class ids alongside)."""
        return np.bincount(classes, weights=cell_values, minlength=self.n_classes)

    def distinct(self) -> np.ndarray:
        return np.bincount(self.classes, minlength=self.n_classes)


@dataclass(frozen=True)
class ClassStats:
    """Per-class counts: sizes and, per sensitive column, value histograms.

    A histogram is given dense (``histograms``, ``(n_classes, n_values)``) or sparse
    (``cells``); ``histogram`` and ``sparse`` convert on demand. The models decide on the
    sparse cells; only the checker's achieved l densifies (in bounded chunks).
    """

    sizes: np.ndarray
    histograms: Mapping[str, np.ndarray] = field(default_factory=dict)
    domains: Mapping[str, SensitiveDomain] = field(default_factory=dict)
    cells: Mapping[str, SparseHistogram] = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return len(self.sizes)

    def histogram(self, column: str) -> np.ndarray:
        if column in self.histograms:
            return self.histograms[column]
        return self.sparse(column).dense()

    def sparse(self, column: str) -> SparseHistogram:
        if column in self.cells:
            return self.cells[column]
        if column in self.histograms:
            return SparseHistogram.from_dense(self.histograms[column])
        raise PrivacyModelError(f"sensitive column {column!r} was not counted for this check")


@runtime_checkable
class PrivacyModel(Protocol):
    """What the search and the checker need from a privacy model."""

    @property
    def sensitive_column(self) -> str | None: ...

    def violating(self, stats: ClassStats, /) -> np.ndarray:
        """Boolean mask over classes: True where the class violates the model."""
        ...

    def monotonic(self, *, with_suppression: bool) -> bool: ...


class _ModelBase:
    """Shared convenience: evaluate a model straight from class ids."""

    @property
    def sensitive_column(self) -> str | None:
        return getattr(self, "column", None)

    def violating(self, stats: ClassStats, /) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def violating_classes(
        self,
        class_ids: np.ndarray,
        n_classes: int,
        sensitive_codes: np.ndarray | None = None,
        *,
        domain: SensitiveDomain | None = None,
        weights: np.ndarray | None = None,
    ) -> np.ndarray:
        """Violating mask per class from per-record class ids (and sensitive codes)."""
        sensitive = {}
        column = self.sensitive_column
        if column is not None:
            if sensitive_codes is None or domain is None:
                raise PrivacyModelError(f"{self!r} needs sensitive codes and their domain")
            sensitive[column] = (sensitive_codes, domain)
        return self.violating(
            class_stats(class_ids, n_classes, weights=weights, sensitive=sensitive)
        )


@dataclass(frozen=True)
class KAnonymity(_ModelBase):
    k: int

    def __post_init__(self) -> None:
        if int(self.k) != self.k or self.k < 1:
            raise PrivacyModelError(f"k must be a positive integer, got {self.k}")

    def violating(self, stats: ClassStats, /) -> np.ndarray:
        return stats.sizes < self.k

    def monotonic(self, *, with_suppression: bool) -> bool:
        return True


@dataclass(frozen=True)
class DistinctLDiversity(_ModelBase):
    column: str
    l: int  # noqa: E741 - the literature's name

    def __post_init__(self) -> None:
        if int(self.l) != self.l or self.l < 1:
            raise PrivacyModelError(f"distinct l must be a positive integer, got {self.l}")

    def violating(self, stats: ClassStats, /) -> np.ndarray:
        return stats.sparse(self.column).distinct() < self.l

    def monotonic(self, *, with_suppression: bool) -> bool:
        return True


@dataclass(frozen=True)
class EntropyLDiversity(_ModelBase):
    column: str
    l: float  # noqa: E741
    estimator: EntropyEstimator = "shannon"

    def __post_init__(self) -> None:
        if not self.l >= 1:
            raise PrivacyModelError(f"entropy l must be >= 1, got {self.l}")
        if self.estimator not in ENTROPY_ESTIMATORS:
            raise PrivacyModelError(f"unknown entropy estimator {self.estimator!r}")

    def violating(self, stats: ClassStats, /) -> np.ndarray:
        return entropy_l_violating(stats.sparse(self.column), self.l, self.estimator)

    def achieved(self, stats: ClassStats, /) -> np.ndarray:
        """Largest l per class: exp(estimated entropy), at most the number of distinct values."""
        cells = stats.sparse(self.column)
        n, sum_f_psi, psi_n = _entropy_terms(cells, self.estimator)
        distinct = cells.distinct()
        achieved = np.minimum(np.exp(psi_n - sum_f_psi / n), distinct)
        # a single value has entropy 0 exactly; keep exp(0) = 1 free of rounding
        return np.where(distinct == 1, 1.0, achieved)

    def monotonic(self, *, with_suppression: bool) -> bool:
        return not with_suppression and self.estimator == "shannon"


@dataclass(frozen=True)
class RecursiveCLDiversity(_ModelBase):
    column: str
    c: float
    l: int  # noqa: E741

    def __post_init__(self) -> None:
        if int(self.l) != self.l or self.l < 1:
            raise PrivacyModelError(f"recursive l must be a positive integer, got {self.l}")
        if not self.c > 0:
            raise PrivacyModelError(f"recursive c must be > 0, got {self.c}")

    def violating(self, stats: ClassStats, /) -> np.ndarray:
        cells = stats.sparse(self.column)
        classes, counts, rank, top = _descending(cells)
        tail = cells.per_class_of(classes, np.where(rank >= self.l - 1, counts, 0.0))
        return np.asarray(~(top < self.c * tail))

    def achieved(self, stats: ClassStats, /) -> np.ndarray:
        """Largest l per class with r_1 < c * (r_l + ...); 0 if even l = 1 fails."""
        cells = stats.sparse(self.column)
        classes, counts, _, top = _descending(cells)
        # tail from each rank on = class size - the counts ranked before it; ok is a prefix
        before = np.cumsum(counts) - counts
        first = np.searchsorted(classes, np.arange(cells.n_classes))
        offset = np.concatenate([before, [0.0]])[first]
        tails = cells.per_class_of(classes, counts)[classes] - (before - offset[classes])
        ok = top[classes] < self.c * tails
        return np.bincount(classes[ok], minlength=cells.n_classes)

    def monotonic(self, *, with_suppression: bool) -> bool:
        return not with_suppression


@dataclass(frozen=True)
class TCloseness(_ModelBase):
    column: str
    t: float
    distance: TDistance = "equal"
    hierarchy: Hierarchy | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.t <= 1:
            raise PrivacyModelError(f"t must lie in [0, 1], got {self.t}")
        if self.distance not in T_DISTANCES:
            raise PrivacyModelError(f"unknown t-closeness distance {self.distance!r}")
        if self.distance == "hierarchical" and self.hierarchy is None:
            raise PrivacyModelError(
                f"hierarchical t-closeness on {self.column!r} needs the column's hierarchy"
            )

    def violating(self, stats: ClassStats, /) -> np.ndarray:
        """Distance > t (+ EMD_SLACK); the ordered distance is computed only for the classes
        its bounds leave open.

        The ordered distance lies between bounds from the equal distance TV (the mass that
        must move): each unit moves at most the whole order, so distance <= TV, and a class
        with ``TV <= t - EMD_BOUND_MARGIN`` passes whatever the rounding. The equal and the
        hierarchical distances are computed for every class: the hierarchical one is a sum of
        per-level TVs (``_hierarchical_emd``), so no bound is cheaper than the distance.
        """
        if self.distance != "ordered":
            return np.asarray(self.distances(stats) > self.t + EMD_SLACK)
        cells, p, q, sizes = self._distributions(stats)
        tv = _equal_emd(cells, p, q)
        open_ = (sizes > 0) & ~(tv <= self.t - EMD_BOUND_MARGIN)
        if not open_.any():
            return open_
        keep = open_[cells.classes]
        subset = SparseHistogram(
            cells.classes[keep], cells.values[keep], cells.counts[keep], *cells.shape
        )
        exact = self._distance(subset, p[keep], q, stats.domains[self.column].labels)
        return np.asarray(open_ & (exact > self.t + EMD_SLACK))

    def distances(self, stats: ClassStats, /) -> np.ndarray:
        """Earth mover's distance of every class to the overall distribution."""
        cells, p, q, sizes = self._distributions(stats)
        distances = self._distance(cells, p, q, stats.domains[self.column].labels)
        return np.where(sizes > 0, distances, np.nan)  # an empty class has no distribution

    def value_rank(self, domain: SensitiveDomain, /) -> np.ndarray | None:
        """The order of the cells within a class this model reads fastest (see ``class_stats``)."""
        if self.distance != "hierarchical" or self.hierarchy is None:
            return None
        return _hierarchy_tree(self.hierarchy, domain.labels)[0]

    def implied_k(self, domain: SensitiveDomain, /) -> int:
        """The class size below which every class violates, whatever its values (1: none).

        A class of n records touches at most n values, so the mass it shares with the overall
        distribution is at most the n largest overall shares ``Q_top(n)``, and
        ``TV >= 1 - Q_top(n)``. The equal distance is TV; the hierarchical one, in a hierarchy
        with one root, moves every unit at least one level, so it is at least ``TV / H``. Below
        the first n whose bound is within t (+ ``EMD_SLACK + EMD_BOUND_MARGIN``, so rounding
        never decides) a class fails: t-closeness implies k-anonymity for this k, a monotone
        model the search prunes with and checks before any sensitive cell is built. On a
        large domain that rejects most small classes (the benchmark's 1,243 values, t = 0.2:
        k = 441 for the equal distance, 27 for the hierarchical one over 4 levels). The
        ordered distance, or a forest, has no such bound.
        """
        if self.distance == "ordered" or domain.size == 0:
            return 1
        levels = 1
        if self.distance == "hierarchical":
            assert self.hierarchy is not None
            levels = self.hierarchy.height - 1
            if levels == 0 or _hierarchy_tree(self.hierarchy, domain.labels)[2] != 1:
                return 1  # no level to move, or a forest: mass between trees never moves
        shares = np.sort(domain.global_counts)[::-1] / domain.global_counts.sum()
        bound = (1.0 - np.concatenate([[0.0], np.cumsum(shares)])) / levels  # n = 0 .. m
        within = bound <= self.t + EMD_SLACK + EMD_BOUND_MARGIN
        return max(int(np.argmax(within)) if within.any() else domain.size, 1)

    def _distributions(
        self, stats: ClassStats
    ) -> tuple[SparseHistogram, np.ndarray, np.ndarray, np.ndarray]:
        """Cells, each cell's share of its class (p), the overall distribution q, class sizes."""
        cells = stats.sparse(self.column)
        domain = stats.domains[self.column]
        sizes = cells.sizes()
        with np.errstate(divide="ignore", invalid="ignore"):
            p = cells.counts / sizes[cells.classes]
        return cells, p, domain.global_counts / domain.global_counts.sum(), sizes

    def _distance(
        self, cells: SparseHistogram, p: np.ndarray, q: np.ndarray, labels: Sequence[str]
    ) -> np.ndarray:
        if self.distance == "equal":
            return _equal_emd(cells, p, q)
        if self.distance == "ordered":
            return _ordered_emd(cells, p, q, labels)
        assert self.hierarchy is not None
        return _hierarchical_emd(cells, p, q, labels, self.hierarchy)

    def monotonic(self, *, with_suppression: bool) -> bool:
        return not with_suppression


def monotone_part(model: PrivacyModel, /) -> PrivacyModel | None:
    """A model implied by ``model`` that stays monotonic with suppression, or None.

    Every class violating the part violates the model, so a node whose part alone needs
    more than the suppression limit fails, and so do all its predecessors (the part is
    monotonic): the search prunes non-monotonic models with it. k-anonymity and distinct
    l-diversity are their own part; entropy l-diversity needs ``ceil(l)`` distinct values
    and recursive (c, l)-diversity ``l`` (with fewer, ``r_l + ... = 0``); t-closeness has none.
    """
    if isinstance(model, KAnonymity | DistinctLDiversity):
        return model
    if isinstance(model, EntropyLDiversity):
        return DistinctLDiversity(model.column, math.ceil(model.l))
    if isinstance(model, RecursiveCLDiversity):
        return DistinctLDiversity(model.column, model.l)
    return None


# --- vectorized helpers -------------------------------------------------------------------


def distinct_counts(hist: np.ndarray) -> np.ndarray:
    return np.asarray(np.count_nonzero(hist > 0, axis=1))


def entropy_l_violating(
    hist: np.ndarray | SparseHistogram,
    l: float,  # noqa: E741
    estimator: str,
) -> np.ndarray:
    """Entropy l-diversity per class of a dense or sparse histogram: True = violates.

    ARX's test, with the one tolerance of this project: a class violates iff it has fewer than
    ``ceil(l)`` distinct values, or

        sum f psi(f) > n (psi(n) - ln l) + ENTROPY_TOLERANCE * n * max(ln n, 1)

    (psi = ``ln`` or ``grassberger_g``). ARX compares without a tolerance, so its verdict on an
    exact tie depends on rounding; here ties pass. Unlike ARX's loop, which stops at the first
    partial sum above the bound (Grassberger's G(1) < 0 makes partial sums non-monotonic, so
    its verdict can depend on hash order), the whole sum is compared.
    """
    cells = hist if isinstance(hist, SparseHistogram) else SparseHistogram.from_dense(hist)
    n, sum_f_psi, psi_n = _entropy_terms(cells, estimator)
    tolerance = ENTROPY_TOLERANCE * n * np.maximum(np.log(np.maximum(n, 1.0)), 1.0)
    too_few = cells.distinct() < math.ceil(l)
    return np.asarray(too_few | (sum_f_psi > n * (psi_n - math.log(l)) + tolerance))


def _entropy_terms(
    cells: SparseHistogram, estimator: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class sizes n, ``sum f psi(f)`` and ``psi(n)`` for the estimator's psi (f = 0 adds 0)."""
    counts = np.rint(cells.counts).astype(np.int64)
    n = np.bincount(cells.classes, weights=counts, minlength=cells.n_classes)
    psi_n = _psi(estimator, np.maximum(n, 1).astype(np.int64))
    top = int(counts.max()) + 1 if counts.size else 1
    size = 1 << max(top - 1, 1).bit_length()  # power of two: few distinct cached tables
    sum_f_psi = cells.per_class(_f_psi_table(estimator, size)[counts])
    return n, sum_f_psi, psi_n


def _descending(cells: SparseHistogram) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cells re-sorted by (class, count descending): classes, counts, rank in class, r_1."""
    order = np.lexsort((-cells.counts, cells.classes))
    classes, counts = cells.classes[order], cells.counts[order]
    first = np.searchsorted(classes, np.arange(cells.n_classes))
    rank = np.arange(len(classes)) - first[classes]
    top = np.zeros(cells.n_classes)
    top[classes[rank == 0]] = counts[rank == 0]
    return classes, counts, rank, top


@lru_cache(maxsize=8)
def _f_psi_table(estimator: str, size: int) -> np.ndarray:
    """f * psi(f) for integer counts f = 0..size-1 (0 for f = 0)."""
    f = np.arange(size, dtype=np.int64)
    values: np.ndarray = f * _psi(estimator, np.maximum(f, 1))
    values[0] = 0.0
    values.setflags(write=False)
    return values


def _psi(estimator: str, n: np.ndarray) -> np.ndarray:
    """The estimator's logarithm substitute for counts n >= 1 (ARX's ``EntropyEstimator.psi``)."""
    return np.log(n.astype(np.float64)) if estimator == "shannon" else grassberger_g(n)


@lru_cache(maxsize=1)
def _grassberger_exact() -> np.ndarray:
    """G(0..100), each the double nearest the exact value (index 0 unused)."""
    values = np.zeros(GRASSBERGER_EXACT_UP_TO + 1)
    with localcontext() as ctx:
        ctx.prec = 50
        base = -_EULER_GAMMA - Decimal(2).ln()
        partial = Fraction(0)  # sum_{k=1..m} 2 / (2k - 1)
        for m in range(GRASSBERGER_EXACT_UP_TO // 2 + 1):
            if m:
                partial += Fraction(2, 2 * m - 1)
            exact = float(base + Decimal(partial.numerator) / Decimal(partial.denominator))
            for n in (2 * m, 2 * m + 1):
                if 1 <= n <= GRASSBERGER_EXACT_UP_TO:
                    values[n] = exact
    values.setflags(write=False)
    return values


def grassberger_g(n: np.ndarray | int, /) -> np.ndarray:
    """Grassberger's G(n) for counts n >= 1 exactly as ARX's ``EntropyEstimator.GRASSBERGER``.

    ``G(1) = -gamma - ln 2``, ``G(2m) = G(2m + 1) = -gamma - ln 2 + sum_{k=1..m} 2 / (2k - 1)``
    up to n = 100; above, with n made even (n - n mod 2) and ``u = 1 / (n / 2)^2``,
    ``ln n + u (1/24 - u (7/960 - u 31/8064))``. ARX computes ``(n / 2)^2`` in 32-bit ints,
    which overflows from n = 92682 on; this is the intended real-valued series.

    Examples
    --------
    >>> float(grassberger_g(1))
    -1.2703628454614782
    """
    n = np.asarray(n, dtype=np.int64)
    exact = _grassberger_exact()
    small = n <= GRASSBERGER_EXACT_UP_TO
    even = np.maximum(n - n % 2, GRASSBERGER_EXACT_UP_TO).astype(np.float64)
    u = 1.0 / ((even / 2) * (even / 2))
    series = np.log(even) + u * (1 / 24 - u * (7 / 960 - u * (31 / 8064)))
    return np.where(small, exact[np.where(small, n, 0)], series)


def value_order(labels: Sequence[str]) -> np.ndarray:
    """Codes sorted by value: numerically if every label is a number, else as strings."""
    import pandas as pd

    numeric = pd.to_numeric(pd.Series(list(labels), dtype=object), errors="coerce")
    if len(labels) and not numeric.isna().any():
        return np.argsort(numeric.to_numpy(dtype=float), kind="stable")
    return np.argsort(np.asarray(labels, dtype=object), kind="stable")


def _equal_emd(cells: SparseHistogram, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Half the L1 distance; the untouched values add their q, i.e. 1 - the touched q."""
    touched = cells.per_class(q[cells.values])
    return np.asarray(0.5 * (cells.per_class(np.abs(p - q[cells.values])) + (1.0 - touched)))


def _ordered_emd(
    cells: SparseHistogram, p: np.ndarray, q: np.ndarray, labels: Sequence[str]
) -> np.ndarray:
    """Li et al.'s ordered distance: ``sum_{i < m-1} |P(i) - Q(i)| / (m - 1)``, cumulative over
    the value order, from the cells alone.

    Between two touched positions a class's cumulative P is constant, and the overall
    cumulative Q is non-decreasing, so each run's ``sum |C - Q(i)|`` is two prefix sums of Q
    split where Q crosses C.
    """
    m = len(labels)
    if m <= 1:
        return np.zeros(cells.n_classes)
    order = value_order(labels)
    position = np.empty(m, dtype=np.int64)
    position[order] = np.arange(m)
    cum_q = np.cumsum(q[order])[: m - 1]  # Q(i) for i = 0 .. m-2
    prefix = np.concatenate([[0.0], np.cumsum(cum_q)])  # prefix[i] = Q(0) + ... + Q(i-1)
    at = position[cells.values]
    sort = np.lexsort((at, cells.classes))
    classes, at, mass = cells.classes[sort], at[sort], p[sort]
    first = np.searchsorted(classes, np.arange(cells.n_classes))
    running = np.cumsum(mass)
    start_of_class = np.concatenate([[0.0], running])[first]
    level = running - start_of_class[classes]  # P from this cell's position on
    last = np.ones(len(classes), dtype=bool)
    last[:-1] = classes[1:] != classes[:-1]
    a = np.minimum(at, m - 1)
    b = np.where(last, m - 1, np.minimum(np.roll(at, -1), m - 1))
    split = np.clip(np.searchsorted(cum_q, level), a, b)
    runs = (
        level * (split - a)
        - (prefix[split] - prefix[a])
        + (prefix[b] - prefix[split])
        - level * (b - split)
    )
    head = np.full(cells.n_classes, prefix[m - 1])  # before a class's first value, P = 0
    has_cells = first < len(classes)
    head[has_cells] = prefix[np.minimum(at[first[has_cells]], m - 1)]
    distance = cells.per_class_of(classes, runs) + head
    return np.asarray(distance / (m - 1))


_Tree: TypeAlias = tuple[np.ndarray, tuple[np.ndarray, ...], int]
_TREES: dict[tuple[int, int], tuple[Hierarchy, tuple[str, ...], _Tree]] = {}


def _hierarchy_tree(hierarchy: Hierarchy, labels: tuple[str, ...]) -> _Tree:
    """The depth-first rank of every value code, per level 1 .. height-1 its node id there,
    and the number of nodes at the top.

    Node ids increase along the depth-first order, so cells sorted by (class, rank) group into
    their nodes as contiguous runs at every level. A node is its path from its level to the
    top, so equal labels under different parents stay different nodes. Cached by identity
    first (a search asks for the same tree at every node; hashing 1,000 labels each time cost
    more than the distance), then by value (equal labels in a new tuple).
    """
    cached = _TREES.get((id(hierarchy), id(labels)))
    if cached is not None and cached[0] is hierarchy and cached[1] is labels:
        return cached[2]
    tree = _build_tree(hierarchy, labels)
    if len(_TREES) >= 16:
        _TREES.clear()
    _TREES[(id(hierarchy), id(labels))] = (hierarchy, labels, tree)
    return tree


@lru_cache(maxsize=16)
def _build_tree(hierarchy: Hierarchy, labels: tuple[str, ...]) -> _Tree:
    import pandas as pd

    rows = hierarchy.codes(pd.Series(list(labels), dtype=object))
    paths = [hierarchy.levels[r] for r in rows]
    depth_first = sorted(range(len(labels)), key=lambda i: paths[i][::-1])
    rank = np.empty(len(labels), dtype=np.int64)
    rank[depth_first] = np.arange(len(labels))
    node_ids = []
    for level in range(1, hierarchy.height):
        ids, _ = pd.factorize(
            pd.Series([tuple(paths[i][level:]) for i in depth_first], dtype=object)
        )
        of_value = np.empty(len(labels), dtype=np.int64)
        of_value[depth_first] = ids
        node_ids.append(of_value)
    n_top = int(node_ids[-1].max()) + 1 if node_ids and len(labels) else 1
    return rank, tuple(node_ids), n_top


def _hierarchical_emd(
    cells: SparseHistogram,
    p: np.ndarray,
    q: np.ndarray,
    labels: Sequence[str],
    hierarchy: Hierarchy,
) -> np.ndarray:
    """Li et al.'s hierarchical distance from the cells, as a sum of per-level L1 distances.

    Li et al. move ``min(pos, neg)`` at every node N at cost ``level(N) / H`` (pos and neg the
    positive and negative extras ``e = P - Q`` of N's children). Since
    ``min(pos, neg) = (sum_children |e_c| - |e_N|) / 2``, the sum over the tree telescopes:
    every node below the top appears once as a child (weight ``(level + 1) / 2H``) and once as
    a parent (``-level / 2H``), so

        distance = sum_{levels 0..H-1} L1_level / 2H  -  L1_top / 2

    with ``L1_level = sum over that level's nodes of |P(node) - Q(node)|`` (one root: the top
    term is 0). Per level only the nodes a class touches are visited; the untouched ones add
    their Q, i.e. ``1 - Q(touched)``. Exactly the distance ARX computes (same formula,
    rearranged), with one run-sum per level instead of four.
    """
    height = hierarchy.height - 1
    if height == 0:
        return np.zeros(cells.n_classes)
    rank, node_ids, n_top = _hierarchy_tree(hierarchy, tuple(labels))
    key = cells.classes * len(labels) + rank[cells.values]
    if np.all(key[1:] > key[:-1]):  # built with this rank (``value_rank``): already in order
        classes, value, mass = cells.classes, cells.values, p
    else:
        sort = np.argsort(key, kind="stable")
        classes, value, mass = cells.classes[sort], cells.values[sort], p[sort]
    share = q[value]
    distance = cells.per_class_of(classes, np.abs(mass - share) - share) + 1.0
    top = height if n_top > 1 else height - 1  # one root: its L1 is 0 for every class
    for level in range(1, top + 1):
        of_value = node_ids[level - 1]
        node = of_value[value]
        new = np.ones(len(classes), dtype=bool)
        new[1:] = (classes[1:] != classes[:-1]) | (node[1:] != node[:-1])
        starts = np.flatnonzero(new)
        if len(starts):
            mass = np.add.reduceat(mass, starts)
        classes, value = classes[starts], value[starts]
        share = np.bincount(of_value, weights=q)[node[starts]]
        l1 = cells.per_class_of(classes, np.abs(mass - share) - share) + 1.0
        distance += l1 if level < height else -height * l1
    distance /= 2 * height
    return distance


# --- building class statistics -------------------------------------------------------------


def sensitive_domain(values: pd.Series, /, *, column: str) -> tuple[np.ndarray, SensitiveDomain]:
    """Integer codes of a sensitive column and its domain (overall counts over all rows)."""
    import pandas as pd

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if (codes < 0).any():
        raise PrivacyModelError(f"sensitive column {column!r} has missing values")
    counts = np.bincount(codes, minlength=len(uniques)).astype(np.float64)
    labels = tuple(str(u) for u in uniques)
    return codes.astype(np.int64), SensitiveDomain(column, labels, counts)


def class_stats(
    class_ids: np.ndarray,
    n_classes: int,
    /,
    *,
    weights: np.ndarray | None = None,
    sensitive: Mapping[str, tuple[np.ndarray, SensitiveDomain]] | None = None,
    value_ranks: Mapping[str, np.ndarray] | None = None,
) -> ClassStats:
    """Class sizes and sparse sensitive histograms by one sort and ``np.bincount`` (no
    per-row or per-class Python); ``value_ranks`` orders a column's cells within a class."""
    sizes = np.bincount(class_ids, weights=weights, minlength=n_classes)
    cells: dict[str, SparseHistogram] = {}
    domains: dict[str, SensitiveDomain] = {}
    for column, (codes, domain) in (sensitive or {}).items():
        cells[column] = SparseHistogram.from_codes(
            class_ids,
            codes,
            n_classes=n_classes,
            n_values=domain.size,
            weights=weights,
            value_rank=(value_ranks or {}).get(column),
        )
        domains[column] = domain
    return ClassStats(sizes.astype(np.int64), domains=domains, cells=cells)


MAX_HISTOGRAM_CELLS = 4_000_000  # dense (classes x values) cells built at once


def iter_class_stats(
    class_ids: np.ndarray,
    n_classes: int,
    /,
    *,
    weights: np.ndarray | None = None,
    sensitive: Mapping[str, tuple[np.ndarray, SensitiveDomain]] | None = None,
    max_cells: int | None = None,
) -> Iterator[tuple[slice, ClassStats]]:
    """``class_stats`` in slices of classes, so dense histograms stay within ``max_cells``.

    Every model judges classes independently, so chunks can be checked one by one.
    """
    sensitive = sensitive or {}
    max_cells = MAX_HISTOGRAM_CELLS if max_cells is None else max_cells
    width = max((domain.size for _, domain in sensitive.values()), default=1)
    if n_classes * max(width, 1) <= max_cells:
        yield (
            slice(0, n_classes),
            class_stats(class_ids, n_classes, weights=weights, sensitive=sensitive),
        )
        return
    order = np.argsort(class_ids, kind="stable")
    sorted_ids = class_ids[order]
    step = max(1, max_cells // max(width, 1))
    for start in range(0, n_classes, step):
        stop = min(start + step, n_classes)
        low, high = np.searchsorted(sorted_ids, [start, stop])
        rows = order[low:high]
        yield (
            slice(start, stop),
            class_stats(
                class_ids[rows] - start,
                stop - start,
                weights=None if weights is None else weights[rows],
                sensitive={c: (codes[rows], domain) for c, (codes, domain) in sensitive.items()},
            ),
        )


def qi_class_ids(df: pd.DataFrame, /, *, qi: Sequence[str]) -> tuple[np.ndarray, int]:
    """Equivalence class id per row (first appearance) and the number of classes.

    Counted on integer codes by ``transforms.class_keys``, like every class in the project.
    """
    classes = equivalence_classes(column_codes(df, columns=qi), n=len(df))
    return classes.ids, classes.n_classes


# --- the public checker -------------------------------------------------------------------


@dataclass(frozen=True)
class PrivacyReport:
    """Achieved privacy of a table; counts and levels only, never a row value."""

    n_records: int
    n_classes: int
    min_class_size: int
    k: int | None
    l: float | None  # noqa: E741
    t: float | None
    violating_classes: int
    violating_records: int
    satisfied: bool
    max_risk: float | None = None
    avg_risk: float | None = None


def _sensitive_columns(models: Sequence[PrivacyModel], sensitive: str | None) -> list[str]:
    columns = []
    for model in models:
        column = model.sensitive_column
        if column is None:
            continue
        if sensitive is not None and column != sensitive:
            raise PrivacyModelError(
                f"model {type(model).__name__} uses column {column!r} but sensitive={sensitive!r}"
            )
        if column not in columns:
            columns.append(column)
    return columns


def report_from_stats(stats: ClassStats, models: Sequence[PrivacyModel]) -> PrivacyReport:
    """Summarize class statistics against the models."""
    return report_from_chunks([(slice(0, stats.n_classes), stats)], models)


def report_from_chunks(
    chunks: Iterable[tuple[slice, ClassStats]], models: Sequence[PrivacyModel]
) -> PrivacyReport:
    """Summarize class statistics given in slices of classes (see ``iter_class_stats``)."""
    n_classes = n_records = violating_classes = violating_records = 0
    min_size: int | None = None
    l_value: float | None = None
    t_value: float | None = None
    for _, stats in chunks:
        sizes = stats.sizes
        present = sizes > 0
        if not present.any():
            continue
        n_classes += int(np.count_nonzero(present))
        n_records += int(sizes.sum())
        chunk_min = int(sizes[present].min())
        min_size = chunk_min if min_size is None else min(min_size, chunk_min)
        violating = np.zeros(len(sizes), dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            for model in models:
                violating |= model.violating(stats)
                if isinstance(model, DistinctLDiversity):
                    value = float(stats.sparse(model.column).distinct()[present].min())
                elif isinstance(model, EntropyLDiversity | RecursiveCLDiversity):
                    value = float(np.min(model.achieved(stats)[present]))
                elif isinstance(model, TCloseness):
                    distance = float(np.max(model.distances(stats)[present]))
                    t_value = distance if t_value is None else max(t_value, distance)
                    continue
                else:
                    continue
                l_value = value if l_value is None else min(l_value, value)
        violating &= present
        violating_classes += int(np.count_nonzero(violating))
        violating_records += int(sizes[violating].sum())
    return PrivacyReport(
        n_records=n_records,
        n_classes=n_classes,
        min_class_size=min_size or 0,
        k=min_size,
        l=l_value,
        t=t_value,
        violating_classes=violating_classes,
        violating_records=violating_records,
        satisfied=violating_classes == 0,
        max_risk=1.0 / min_size if min_size else None,
        avg_risk=n_classes / n_records if n_records else None,
    )


def check_privacy(
    df: pd.DataFrame,
    /,
    *,
    qi: Sequence[str],
    models: Sequence[PrivacyModel],
    sensitive: str | None = None,
    exclude: np.ndarray | None = None,
) -> PrivacyReport:
    """Check a (generalized) table against privacy models.

    ``exclude`` marks records left out of the classes (e.g. the suppressed ones); they still
    count for the overall sensitive distribution that t-closeness compares against.
    """
    import pandas as pd

    missing = [c for c in [*qi, *([sensitive] if sensitive else [])] if c not in df.columns]
    if missing:
        raise PrivacyModelError(f"columns not in the table: {missing}")
    values = {}
    for column in _sensitive_columns(models, sensitive):
        codes, uniques = pd.factorize(df[column], use_na_sentinel=True)
        values[column] = (codes, tuple(str(u) for u in uniques))
    return check_privacy_codes(
        column_codes(df, columns=qi),
        n=len(df),
        models=models,
        sensitive=values,
        exclude=exclude,
    )


def check_privacy_codes(
    qi: Iterable[CodeColumn],
    /,
    *,
    n: int,
    models: Sequence[PrivacyModel],
    sensitive: Mapping[str, tuple[np.ndarray, Sequence[str]]] | None = None,
    exclude: np.ndarray | None = None,
) -> PrivacyReport:
    """``check_privacy`` on integer codes: the QI columns as ``(codes, cardinality)`` (a
    missing value is a value, coded like any other), each sensitive column as codes into its
    labels with -1 for a missing value (refused, as in ``sensitive_domain``).

    A file read into dictionary-encoded columns is checked without building a frame (or
    importing pandas): classes are ranked by direct addressing (``equivalence_classes`` with
    ``sort``), which gives the same report as first-appearance ids.
    """
    sensitive = sensitive or {}
    columns = _sensitive_columns(models, None)
    absent = [c for c in columns if c not in sensitive]
    if absent:
        raise PrivacyModelError(f"columns not in the table: {absent}")
    keep = None if exclude is None or not np.any(exclude) else ~np.asarray(exclude, dtype=bool)
    kept = n if keep is None else int(np.count_nonzero(keep))
    if keep is not None:
        qi = ((np.asarray(codes)[keep], size) for codes, size in qi)
    classes = equivalence_classes(qi, n=kept, sort=True)
    sensitive_inputs = {}
    for column in columns:
        codes, labels = sensitive[column]
        codes = np.asarray(codes, dtype=np.int64)
        if n and int(codes.min()) < 0:
            raise PrivacyModelError(f"sensitive column {column!r} has missing values")
        counts = np.bincount(codes, minlength=len(labels)).astype(np.float64)
        domain = SensitiveDomain(column, tuple(labels), counts)
        sensitive_inputs[column] = (codes if keep is None else codes[keep], domain)
    chunks = iter_class_stats(classes.ids, classes.n_classes, sensitive=sensitive_inputs)
    return report_from_chunks(chunks, models)


# --- mergeable counts (per partition, then summed) ----------------------------------------


def class_counts(
    df: pd.DataFrame, /, *, qi: Sequence[str], sensitive: str | None = None
) -> pd.DataFrame:
    """Counts per (QI values[, sensitive value]): one row per combination, column ``count``.

    Partitions counted separately are combined with ``merge_class_counts``.
    """

    keys = [*qi, *([sensitive] if sensitive else [])]
    counts = df.groupby(keys, sort=False, dropna=False, observed=True).size()
    return counts.rename("count").reset_index()


def merge_class_counts(parts: Sequence[pd.DataFrame], /) -> pd.DataFrame:
    """Sum count tables of partitions (same key columns)."""
    import pandas as pd

    if not parts:
        raise PrivacyModelError("no count tables to merge")
    keys = [c for c in parts[0].columns if c != "count"]
    merged = pd.concat(parts, ignore_index=True)
    return (
        merged.groupby(keys, sort=False, dropna=False, observed=True)["count"].sum().reset_index()
    )


def check_class_counts(
    counts: pd.DataFrame,
    /,
    *,
    qi: Sequence[str],
    models: Sequence[PrivacyModel],
    sensitive: str | None = None,
) -> PrivacyReport:
    """``check_privacy`` on a (merged) count table from ``class_counts``."""
    import pandas as pd

    columns = _sensitive_columns(models, sensitive)
    if len(columns) > 1:
        raise PrivacyModelError("count tables carry one sensitive column")
    weights = counts["count"].to_numpy(dtype=np.float64)
    class_ids, n_classes = qi_class_ids(counts, qi=qi)
    sensitive_inputs = {}
    for column in columns:
        codes, uniques = pd.factorize(counts[column], use_na_sentinel=True)
        if (codes < 0).any():  # same rule as sensitive_domain: a missing value is not a value
            raise PrivacyModelError(f"sensitive column {column!r} has missing values")
        totals = np.bincount(codes, weights=weights, minlength=len(uniques))
        domain = SensitiveDomain(column, tuple(str(u) for u in uniques), totals)
        sensitive_inputs[column] = (codes.astype(np.int64), domain)
    chunks = iter_class_stats(class_ids, n_classes, weights=weights, sensitive=sensitive_inputs)
    return report_from_chunks(chunks, models)
