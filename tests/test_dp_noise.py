"""DP noise: OpenDP's own privacy map meets the requested epsilon for the contribution bound;
the noise is really there (variance near the mechanism's); published values are non-negative
integers; margins are the sums of the noisy interior cells (a consistent table)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.dp_noise import (
    ContributionBound,
    d_in,
    derive_margins,
    interior_mask,
    noise_measurement,
    noisy_cells,
    noisy_values,
)
from transforms.errors import ConfigurationError, DataError
from transforms.table_structure import TOTAL, TableDimension

BOUNDS = [ContributionBound(), ContributionBound(cells=12), ContributionBound(3, 50_000)]


@pytest.mark.parametrize("bound", BOUNDS)
@pytest.mark.parametrize("epsilon", [0.1, 1.0, 3.0])
def test_laplace_scale_meets_epsilon_by_opendps_map(
    epsilon: float, bound: ContributionBound
) -> None:
    m = noise_measurement(epsilon=epsilon, mechanism="laplace", bound=bound)
    assert m.map(bound.l1) <= epsilon
    assert m.map(bound.l1) > 0.99 * epsilon  # the smallest scale, not a wasteful one
    assert not m.check(bound.l1 + 1, epsilon)  # a larger contribution is not covered


@pytest.mark.parametrize("bound", BOUNDS)
def test_gaussian_scale_meets_epsilon_delta_by_opendps_map(bound: ContributionBound) -> None:
    m = noise_measurement(epsilon=1.0, mechanism="gaussian", bound=bound, delta=1e-7)
    eps, delta = m.map(bound.l2)
    assert eps <= 1.0 and delta == 1e-7
    assert eps > 0.99


def test_l2_sensitivity_never_understates() -> None:
    for cells in range(1, 200):
        bound = ContributionBound(cells=cells, per_cell=7)
        assert bound.l2**2 >= cells * 49
        assert d_in("gaussian", bound) == bound.l2 and d_in("laplace", bound) == 7 * cells


@pytest.mark.parametrize(
    ("mechanism", "delta", "bound"),
    [("laplace", None, ContributionBound()), ("gaussian", 1e-6, ContributionBound(cells=4))],
)
def test_noise_is_there_with_the_mechanisms_variance(
    mechanism: str, delta: float | None, bound: ContributionBound
) -> None:
    """10,000 draws far from 0 (no clamping): the sample variance is near the expected one."""
    epsilon = 1.0
    true = np.full(10_000, 1_000_000, dtype=np.int64)
    out = noisy_values(true, epsilon=epsilon, mechanism=mechanism, bound=bound, delta=delta)  # type: ignore[arg-type]
    noise = out - true
    # Expected variance: discrete Laplace with scale b = l1 / epsilon has 2 q / (1 - q)^2,
    # q = exp(-1/b); the discrete Gaussian's is just under sigma^2 (found by OpenDP's search).
    if mechanism == "laplace":
        q = math.exp(-epsilon / bound.l1)
        expected = 2 * q / (1 - q) ** 2
    else:
        expected = _gaussian_sigma(epsilon, delta, bound) ** 2
    assert 0.5 * expected < noise.var() < 1.5 * expected
    assert abs(noise.mean()) < 0.1 * math.sqrt(expected)  # unbiased far from 0


def _gaussian_sigma(epsilon: float, delta: float | None, bound: ContributionBound) -> float:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    domain = dp.vector_domain(dp.atom_domain(T="i64"))

    def make(s: float) -> object:
        return dp.c.make_fix_delta(
            dp.c.make_zCDP_to_approxDP(dp.m.make_gaussian(domain, dp.l2_distance(T="f64"), s)),
            delta,
        )

    return float(dp.binary_search_param(make, d_in=bound.l2, d_out=(epsilon, delta)))


@given(
    st.lists(st.integers(0, 10**9), min_size=0, max_size=50),
    st.sampled_from(["laplace", "gaussian"]),
)
def test_published_values_are_non_negative_int64(values: list[int], mechanism: str) -> None:
    delta = 1e-6 if mechanism == "gaussian" else None
    out = noisy_values(
        np.array(values, dtype=np.int64),
        epsilon=0.5,
        mechanism=mechanism,  # type: ignore[arg-type]
        delta=delta,
    )
    assert out.dtype == np.int64 and out.shape == (len(values),)
    assert (out >= 0).all()


def test_zero_cells_are_not_all_published_as_zero() -> None:
    out = noisy_values(np.zeros(1_000, dtype=np.int64), epsilon=1.0, mechanism="laplace")
    assert (out > 0).sum() > 200  # P(noise > 0) = q / (1 + q) ~ 0.27 at scale 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"epsilon": 0.0, "mechanism": "laplace"},
        {"epsilon": math.inf, "mechanism": "laplace"},
        {"epsilon": 1.0, "mechanism": "uniform"},
        {"epsilon": 1.0, "mechanism": "gaussian"},  # no delta
        {"epsilon": 1.0, "mechanism": "laplace", "delta": 1e-6},
    ],
)
def test_bad_parameters_are_configuration_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        noisy_values(np.array([1, 2]), **kwargs)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- tables

REGION = TableDimension(
    "region",
    {"p1": "east", "p2": "east", "p3": "west", "east": TOTAL, "west": TOTAL, TOTAL: None},
)
AGE = TableDimension.flat("age", ("0-9", "10-19", "20-29"))
GENDER = TableDimension.flat("gender", ("f", "m"))
DIMS = [REGION, AGE, GENDER]


def _table(rng: np.random.Generator, dims: list[TableDimension] = DIMS) -> pd.DataFrame:
    cells = pd.DataFrame(
        list(itertools.product(*(d.codes for d in dims))), columns=[d.name for d in dims]
    )
    cells = cells.sample(frac=1.0, random_state=1).reset_index(drop=True)  # any row order
    mask = interior_mask(cells, dims)
    cells["value"] = derive_margins(cells, dims, rng.integers(0, 30, int(mask.sum())))
    return cells


def _true_sum(cells: pd.DataFrame, row: pd.Series, dims: list[TableDimension]) -> int:
    """A margin by brute force: the interior cells whose codes lie under the row's codes."""

    def under(dim: TableDimension, code: str) -> set[str]:
        out = set()
        for leaf in dim.leaves:
            c: str | None = leaf
            while c is not None:
                if c == code:
                    out.add(leaf)
                c = dim.parents[c]
        return out

    keep = interior_mask(cells, dims)
    for dim in dims:
        keep &= cells[dim.name].isin(under(dim, row[dim.name])).to_numpy()
    return int(cells.loc[keep, "value"].sum())


def test_derive_margins_sums_the_interior_under_every_code() -> None:
    cells = _table(np.random.default_rng(0))
    assert len(cells) == 6 * 4 * 3
    for _, row in cells.iterrows():
        assert row["value"] == _true_sum(cells, row, DIMS)


@pytest.mark.parametrize("mechanism", ["laplace", "gaussian"])
def test_noisy_table_is_consistent_and_noises_the_interior(mechanism: str) -> None:
    cells = _table(np.random.default_rng(1))
    out = cells.assign(
        value=noisy_cells(
            cells,
            DIMS,
            epsilon=0.5,
            mechanism=mechanism,  # type: ignore[arg-type]
            delta=1e-6 if mechanism == "gaussian" else None,
        )
    )
    assert (out["value"] >= 0).all()
    for _, row in out.iterrows():  # every margin is the sum of the published interior
        assert row["value"] == _true_sum(out, row, DIMS)
    mask = interior_mask(cells, DIMS)
    assert (out.loc[mask, "value"] != cells.loc[mask, "value"]).any()


def test_a_missing_interior_cell_is_refused() -> None:
    cells = _table(np.random.default_rng(2))
    mask = interior_mask(cells, DIMS)
    dropped = cells.drop(index=cells.index[mask][0]).reset_index(drop=True)
    with pytest.raises(
        DataError, match=r"71 cell row\(s\), the full product of the dimensions has 72"
    ):
        noisy_cells(dropped, DIMS, epsilon=1.0, mechanism="laplace")


def test_a_code_outside_the_dimension_is_refused_without_quoting_it() -> None:
    cells = _table(np.random.default_rng(3))
    cells.loc[cells["region"] == "east", "region"] = "secret-town"
    with pytest.raises(DataError) as caught:
        noisy_cells(cells, DIMS, epsilon=1.0, mechanism="laplace")
    assert "secret-town" not in str(caught.value)
