"""Secondary suppression and its independent LP audit on generated tables with margins.

Properties: after ``protect`` every primary cell keeps its protection interval (the audit,
2 LPs per suppressed cell, proves it); a pattern that hides a cell alone in a relation fails
the audit; zero cells never get hidden; the output is deterministic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.errors import ConfigurationError, DataError
from transforms.primary_suppression import threshold_rule
from transforms.secondary_suppression import default_cost, protect
from transforms.suppression_audit import RULE_PROTECTION, RULE_RECOMPUTABLE, audit
from transforms.table_constraints import (
    additive_constraints,
    cell_positions,
    cells_frame,
    dense_with_margins,
)
from transforms.table_structure import TOTAL, TableDimension

N_THRESHOLD = 4


def _hierarchical(name: str, groups: list[int]) -> TableDimension:
    """Leaves under subtotals ``G0``, ``G1``... under TOTAL (a subtotal level)."""
    parents: dict[str, str | None] = {}
    for g, size in enumerate(groups):
        for leaf in range(size):
            parents[f"{name}{g}.{leaf}"] = f"{name}G{g}"
    for g in range(len(groups)):
        parents[f"{name}G{g}"] = TOTAL
    parents[TOTAL] = None
    return TableDimension(name, parents)


def _table(dims: list[TableDimension], leaf: np.ndarray) -> pd.DataFrame:
    dense = dense_with_margins(leaf, dims)
    return cells_frame(dims, {"value": dense, "contributors": dense})


@st.composite
def tables(draw: st.DrawFn, n_dims: int) -> tuple[list[TableDimension], pd.DataFrame]:
    max_size = {2: 4, 3: 3, 4: 2}[n_dims]
    dims: list[TableDimension] = []
    hierarchical = draw(st.integers(0, n_dims - 1))
    for d in range(n_dims):
        name = "abcd"[d]
        if d == hierarchical:
            groups = draw(st.lists(st.integers(1, 2), min_size=2, max_size=2))
            dims.append(_hierarchical(name, groups))
        else:
            size = draw(st.integers(2, max_size))
            dims.append(TableDimension.flat(name, tuple(f"{name}{i}" for i in range(size))))
    shape = tuple(len(d.leaves) for d in dims)
    flat = draw(
        st.lists(
            st.sampled_from([0, 1, 2, 3, 5, 8, 12, 20]),
            min_size=int(np.prod(shape)),
            max_size=int(np.prod(shape)),
        )
    )
    return dims, _table(dims, np.array(flat, dtype=float).reshape(shape))


def _protect_and_audit(dims: list[TableDimension], cells: pd.DataFrame) -> None:
    primary = threshold_rule(cells, n=N_THRESHOLD)
    mask = protect(
        cells, dims, value="value", primary=primary.sensitive, protection=primary.protection
    )
    result = audit(cells, dims, value="value", suppressed=mask, protection=primary.protection)
    assert result.passed, result.failed_rules
    assert not (primary.sensitive & ~mask).any()  # every primary stays suppressed
    values = cells["value"].to_numpy()
    assert not (mask & (values == 0)).any()  # zero cells are never hidden
    if not primary.sensitive.any():
        assert not mask.any()  # nothing sensitive: everything is published
    again = protect(
        cells, dims, value="value", primary=primary.sensitive, protection=primary.protection
    )
    assert np.array_equal(mask, again)


@settings(max_examples=25)
@given(tables(2))
def test_protect_passes_the_audit_2d(table: tuple[list[TableDimension], pd.DataFrame]) -> None:
    _protect_and_audit(*table)


@settings(max_examples=10)
@given(tables(3))
def test_protect_passes_the_audit_3d(table: tuple[list[TableDimension], pd.DataFrame]) -> None:
    _protect_and_audit(*table)


@settings(max_examples=8)
@given(tables(4))
def test_protect_passes_the_audit_4d(table: tuple[list[TableDimension], pd.DataFrame]) -> None:
    _protect_and_audit(*table)


@settings(max_examples=20)
@given(tables(2))
def test_primary_suppression_alone_fails_the_audit(
    table: tuple[list[TableDimension], pd.DataFrame],
) -> None:
    dims, cells = table
    primary = threshold_rule(cells, n=N_THRESHOLD)
    # Primaries alone can protect each other (a rectangle of them); a primary that is the only
    # suppressed cell of a relation, every other cell of it published, is recomputable.
    if not _alone_in_a_relation(cells, dims, primary.sensitive):
        return
    result = audit(
        cells, dims, value="value", suppressed=primary.sensitive, protection=primary.protection
    )
    assert not result.passed


def _alone_in_a_relation(
    cells: pd.DataFrame, dims: list[TableDimension], hidden: np.ndarray
) -> bool:
    """Some relation (a parent cell and its children along one dimension, the other codes
    fixed) holds exactly one hidden cell."""
    for dim in dims:
        others = [d.name for d in dims if d.name != dim.name]
        for parent, children in dim.children.items():
            members = cells[dim.name].isin([parent, *children]).to_numpy()
            groups = (
                cells[members].groupby(others, sort=False).indices
                if others
                else {(): np.arange(int(members.sum()))}
            )
            positions = np.flatnonzero(members)
            for rows in groups.values():
                if int(hidden[positions[rows]].sum()) == 1:
                    return True
    return False


def _grid() -> tuple[list[TableDimension], pd.DataFrame]:
    dims = [
        TableDimension.flat("row", ("r1", "r2", "r3")),
        TableDimension.flat("col", ("c1", "c2", "c3")),
    ]
    leaf = np.array([[2.0, 10.0, 7.0], [9.0, 11.0, 6.0], [8.0, 5.0, 12.0]])
    return dims, _table(dims, leaf)


def _at(cells: pd.DataFrame, row: str, col: str) -> int:
    return int(np.flatnonzero((cells["row"] == row) & (cells["col"] == col))[0])


def test_a_cell_alone_in_its_row_is_recomputable() -> None:
    dims, cells = _grid()
    i = _at(cells, "r1", "c1")
    mask = np.zeros(len(cells), dtype=bool)
    mask[i] = True
    level = np.where(mask, 5.0, 0.0)
    result = audit(cells, dims, value="value", suppressed=mask, protection=level)
    assert result.narrow == (i,)
    assert result.recomputable == (i,)
    assert result.failed_rules == (RULE_PROTECTION, RULE_RECOMPUTABLE)


def test_a_two_by_two_pattern_protects_and_narrow_widths_are_caught() -> None:
    dims, cells = _grid()
    hidden = [_at(cells, r, c) for r in ("r1", "r2") for c in ("c1", "c2")]
    mask = np.zeros(len(cells), dtype=bool)
    mask[hidden] = True
    level = np.zeros(len(cells))
    level[hidden[0]] = 2.0  # the cell of 2 can move 0..4 (limited by the 2 and the 9, 10, 11)
    assert audit(cells, dims, value="value", suppressed=mask, protection=level).passed
    level[hidden[0]] = 50.0  # no 2x2 pattern of these values gives a width of 50
    result = audit(cells, dims, value="value", suppressed=mask, protection=level)
    assert result.narrow == (hidden[0],)
    assert result.recomputable == ()


def test_protect_hides_the_second_cell_a_single_primary_needs() -> None:
    dims, cells = _grid()
    primary = threshold_rule(cells, n=3)
    assert primary.count == 1
    mask = protect(
        cells, dims, value="value", primary=primary.sensitive, protection=primary.protection
    )
    assert mask.sum() == 4  # the cheapest protection of one interior cell is a 2x2 rectangle
    totals = (cells["row"] == TOTAL) | (cells["col"] == TOTAL)
    assert not (mask & totals.to_numpy()).any()
    assert audit(cells, dims, value="value", suppressed=mask, protection=primary.protection).passed


def test_singletons_get_a_third_cell_in_their_relation() -> None:
    dims, cells = _grid()
    primary = threshold_rule(cells, n=3)
    single = primary.sensitive.copy()
    mask = protect(
        cells,
        dims,
        value="value",
        primary=primary.sensitive,
        protection=primary.protection,
        singleton=single,
    )
    i = _at(cells, "r1", "c1")
    members = additive_constraints(cells, dims).tocsr()
    for row in range(members.shape[0]):
        cols = members.indices[members.indptr[row] : members.indptr[row + 1]]
        if i in cols and mask[cols].any():
            assert mask[cols].sum() != 2
    assert audit(cells, dims, value="value", suppressed=mask, protection=primary.protection).passed


def test_costs_make_margins_dear() -> None:
    dims, cells = _grid()
    cost = default_cost(cells, dims, value="value")
    grand = _at(cells, TOTAL, TOTAL)
    assert cost[grand] == cost.max()
    assert cost[_at(cells, "r1", TOTAL)] > cells["value"].to_numpy()[_at(cells, "r1", TOTAL)]


def test_bad_inputs_name_the_parameter_not_a_value() -> None:
    dims, cells = _grid()
    primary = threshold_rule(cells, n=3)
    with pytest.raises(ConfigurationError, match="'protection'"):
        protect(
            cells,
            dims,
            value="value",
            primary=primary.sensitive,
            protection=np.zeros(len(cells)),
        )
    with pytest.raises(ConfigurationError, match="'primary'"):
        protect(cells, dims, value="value", primary=[1, 0], protection=primary.protection)
    with pytest.raises(DataError, match="full product"):
        cell_positions(cells.iloc[1:], dims)
    broken = cells.copy()
    broken.loc[0, "value"] = 999.0
    result = audit(
        broken, dims, value="value", suppressed=primary.sensitive, protection=primary.protection
    )
    assert result.inconsistent and not result.passed
    assert "999" not in repr(result)


def test_additive_constraints_hold_on_a_hierarchical_table() -> None:
    dims = [_hierarchical("a", [2, 1]), TableDimension.flat("b", ("b0", "b1", "b2"))]
    leaf = np.arange(9, dtype=float).reshape(3, 3)
    cells = _table(dims, leaf)
    matrix = additive_constraints(cells, dims)
    assert np.allclose(matrix @ cells["value"].to_numpy(), 0.0)
    # (a: 3 inner codes G0, G1, TOTAL x 4 b codes) + (b: 1 inner code x 6 a codes)
    assert matrix.shape == (3 * 4 + 6, len(cells))
