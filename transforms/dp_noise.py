"""Differentially private noise for a table's cells, through OpenDP.

Only the **interior** cells (a leaf code in every dimension) are noised; every margin
(subtotal, ``TOTAL``) is then *derived* as the sum of the published interior cells beneath it.
Deriving is post-processing, so it costs no budget, and the table is consistent: partners
who add up the cells find the published margins. Noising every margin as a cell of its own
would need the sensitivity multiplied by the number of cells one customer touches (2**d for a
d-dimensional table with one ``TOTAL`` per dimension, more with subtotals), so every interior
cell would carry 2**d times the noise; derived margins carry the summed noise of their
interior cells instead (a grand total over n cells: sqrt(n) times one cell's noise).

Contribution bounding is the builder's job and is stated here as a :class:`ContributionBound`:
how many interior cells one customer can touch, and how much at most in each (1 for a count
of distinct customers, the per-customer clip in yen for a sum). OpenDP's own privacy map
turns that bound and the requested epsilon into the noise scale (``binary_search_param``),
so epsilon is what OpenDP proves, not what a formula here says.

Post-processing (keeps DP): the mechanisms are discrete (integers in, integers out, no
rounding needed); negative interior values are clamped to 0 before the margins are summed.
Clamping biases sparse margins upwards (a zero cell publishes E[max(0, noise)] > 0); that is
the price of consistent, non-negative tables.

The noise comes from the operating system's CSPRNG (OpenDP's sampler), so two calls differ:
reproducible releases store the first draw (``pipeline.release.budget_ledger.noisy_release``)
instead of drawing again, which would also let a recipient average fresh draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, get_args

import numpy as np
import opendp.prelude as dp
import pandas as pd

from transforms.errors import ConfigurationError, InternalError
from transforms.table_constraints import cell_coordinates, dense_with_margins
from transforms.table_structure import TableDimension, interior_mask

Mechanism = Literal["laplace", "gaussian"]
MECHANISMS: tuple[str, ...] = get_args(Mechanism)


@dataclass(frozen=True)
class ContributionBound:
    """What one customer can change in the interior cells of one table.

    ``cells``: how many interior cells one customer contributes to (1 when every dimension is
    an attribute of the customer; up to the number of months for a by-month table, once the
    builder keeps at most that many). ``per_cell``: the most one customer adds to one cell
    (1 for distinct customers, the clip in yen for a sum of yen).
    """

    cells: int = 1
    per_cell: int = 1

    def __post_init__(self) -> None:
        if self.cells < 1 or self.per_cell < 1:
            raise ConfigurationError("a contribution bound needs cells >= 1 and per_cell >= 1")

    @property
    def l1(self) -> int:
        """L1 sensitivity (Laplace): the customer's whole contribution, cells x per_cell."""
        return self.cells * self.per_cell

    @property
    def l2(self) -> float:
        """L2 sensitivity (Gaussian): sqrt(cells) x per_cell, rounded up one ulp.

        The square root rounds to nearest; one ulp up makes sure it never understates.
        """
        return math.nextafter(self.per_cell * math.sqrt(self.cells), math.inf)


def _check(epsilon: float, mechanism: str, delta: float | None) -> None:
    if mechanism not in MECHANISMS:
        raise ConfigurationError(f"DP mechanism must be one of {', '.join(MECHANISMS)}")
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise ConfigurationError("DP epsilon must be a positive finite number")
    if mechanism == "gaussian":
        if delta is None or not (0 < delta < 1):
            raise ConfigurationError("the gaussian mechanism needs a delta in (0, 1)")
    elif delta is not None:
        raise ConfigurationError("delta applies to the gaussian mechanism only")


def _chain(mechanism: str, delta: float | None) -> Any:
    """scale -> the OpenDP measurement on integer vectors (discrete Laplace / Gaussian)."""
    dp.enable_features("contrib")
    domain = dp.vector_domain(dp.atom_domain(T="i64"))
    if mechanism == "laplace":
        return lambda scale: dp.m.make_laplace(domain, dp.l1_distance(T="i64"), scale=scale)
    if delta is None:
        raise InternalError("the gaussian chain needs a delta")
    fixed = delta
    return lambda scale: dp.c.make_fix_delta(
        dp.c.make_zCDP_to_approxDP(
            dp.m.make_gaussian(domain, dp.l2_distance(T="f64"), scale=scale)
        ),
        fixed,
    )


def d_in(mechanism: Mechanism, bound: ContributionBound) -> int | float:
    """The input distance OpenDP's privacy map is asked about: L1 (Laplace) or L2 (Gaussian)."""
    return bound.l1 if mechanism == "laplace" else bound.l2


@lru_cache(maxsize=64)
def noise_measurement(
    *,
    epsilon: float,
    mechanism: Mechanism,
    bound: ContributionBound = ContributionBound(),
    delta: float | None = None,
) -> Any:
    """The OpenDP measurement with the smallest scale whose privacy map meets ``epsilon``.

    Laplace: ``measurement.map(bound.l1) <= epsilon`` (pure DP). Gaussian:
    ``measurement.map(bound.l2) == (eps, delta)`` with ``eps <= epsilon`` (zCDP converted to
    (epsilon, delta)-DP by OpenDP).
    """
    _check(epsilon, mechanism, delta)
    make = _chain(mechanism, delta)
    distance = d_in(mechanism, bound)
    d_out = epsilon if mechanism == "laplace" else (epsilon, delta)
    # Search bounds (OpenDP's own inference fails for large sensitivities): Laplace needs
    # exactly d_in / epsilon; the classic Gaussian sigma bound is well above OpenDP's answer.
    widen = 1.0 if delta is None else 1.0 + math.sqrt(2 * math.log(2 / delta))
    upper = 4 * widen * distance / epsilon
    try:
        scale = dp.binary_search_param(make, d_in=distance, d_out=d_out, bounds=(0.0, upper))
        return make(scale)
    except (dp.OpenDPException, ValueError, TypeError) as exc:
        raise InternalError(
            f"OpenDP found no {mechanism} scale for epsilon {epsilon} ({type(exc).__name__})"
        ) from None


def noisy_values(
    true_values: np.ndarray[Any, np.dtype[np.int64]],
    /,
    *,
    epsilon: float,
    mechanism: Mechanism,
    bound: ContributionBound = ContributionBound(),
    delta: float | None = None,
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Each value plus independent discrete noise, negatives clamped to 0 (int64, same order).

    The vector is what one customer's bound applies to: the interior cells of one table.

    >>> out = noisy_values(np.array([5, 0, 12]), epsilon=1.0, mechanism="laplace")
    >>> out.dtype, out.shape, bool((out >= 0).all())
    (dtype('int64'), (3,), True)
    """
    values = np.asarray(true_values)
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer):
        raise InternalError("DP noise takes a one-dimensional vector of integers")
    measurement = noise_measurement(epsilon=epsilon, mechanism=mechanism, bound=bound, delta=delta)
    try:
        noisy = measurement(values.astype(np.int64).tolist())
    except dp.OpenDPException as exc:
        raise InternalError(f"OpenDP could not add noise ({type(exc).__name__})") from None
    return np.maximum(np.asarray(noisy, dtype=np.int64), 0)


# ----------------------------------------------------------------------------- tables


def derive_margins(
    cells: pd.DataFrame,
    dimensions: Sequence[TableDimension],
    interior_values: np.ndarray[Any, np.dtype[np.int64]],
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Every row's value: interior rows get ``interior_values`` (in row order), margins the sum.

    Every combination of leaves must be a row exactly once: a missing interior cell would
    tell a reader that the cell was empty, and a margin would lose part of its sum.
    """
    mask = interior_mask(cells, dimensions)
    if len(interior_values) != int(mask.sum()):
        raise InternalError("derive_margins: one value per interior cell is needed")
    coords = cell_coordinates(cells, dimensions)  # refuses a missing or repeated cell
    cube = np.zeros(tuple(len(dim.leaves) for dim in dimensions), dtype=np.int64)
    leaf_of_code = []
    for dim in dimensions:
        of_code = np.full(len(dim.codes), -1, dtype=np.int64)
        of_code[[dim.codes.index(leaf) for leaf in dim.leaves]] = np.arange(len(dim.leaves))
        leaf_of_code.append(of_code)
    interior = coords[mask]
    cube[tuple(of_code[interior[:, j]] for j, of_code in enumerate(leaf_of_code))] = np.asarray(
        interior_values, dtype=np.int64
    )
    full = dense_with_margins(cube, dimensions)  # float64: exact for counts below 2**53
    return np.asarray(np.rint(full[tuple(coords.T)]), dtype=np.int64)


def noisy_cells(
    cells: pd.DataFrame,
    dimensions: Sequence[TableDimension],
    *,
    epsilon: float,
    mechanism: Mechanism,
    bound: ContributionBound = ContributionBound(),
    delta: float | None = None,
    value: str = "value",
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """The DP values of every row of ``cells`` (in row order): noisy interior, summed margins.

    One customer changes the interior by at most ``bound``; the margins are post-processing.
    """
    mask = interior_mask(cells, dimensions)
    interior = cells.loc[mask, value].to_numpy(dtype=np.int64)
    noisy = noisy_values(interior, epsilon=epsilon, mechanism=mechanism, bound=bound, delta=delta)
    return derive_margins(cells, dimensions, noisy)
