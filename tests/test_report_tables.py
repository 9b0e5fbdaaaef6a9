"""Cells with margins: the integer-coded builder agrees with a brute-force count of every cell
(margins included), a customer in several leaves counts once in their margin, and a record
outside a dimension's domain is quarantined with the reason, never dropped."""

from __future__ import annotations

import itertools
from datetime import date

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.release.report_protection import protect_cells
from pipeline.release.reports import build_report
from pipeline.settings.report_specs import load_catalogue
from transforms.report_tables import CellMeasure, build_cells
from transforms.table_structure import TOTAL, TableDimension

DIMS = [TableDimension.flat("a", ("x", "y", "z")), TableDimension.flat("b", ("p", "q"))]


def _brute(
    records: pd.DataFrame, kind: str
) -> dict[tuple[str, str], tuple[float, int, float, float]]:
    out = {}
    for a, b in itertools.product(("x", "y", "z", TOTAL), ("p", "q", TOTAL)):
        rows = records[((records["a"] == a) | (a == TOTAL)) & ((records["b"] == b) | (b == TOTAL))]
        weight = rows["amount"] if kind == "sum" else pd.Series(1, index=rows.index)
        per = weight.groupby(rows["pseudonym"]).sum().sort_values(ascending=False).tolist()
        value = (
            float(rows["pseudonym"].nunique())
            if kind == "customers"
            else float(rows["amount"].sum())
        )
        top = [*per, 0.0, 0.0]
        out[(a, b)] = (value, rows["pseudonym"].nunique(), float(top[0]), float(top[1]))
    return out


records_strategy = st.lists(
    st.tuples(
        st.sampled_from(["c1", "c2", "c3", "c4", "c5"]),
        st.sampled_from(["x", "y", "z"]),
        st.sampled_from(["p", "q"]),
        st.integers(min_value=0, max_value=50),
    ),
    min_size=0,
    max_size=40,
)


@given(rows=records_strategy, kind=st.sampled_from(["customers", "sum"]))
@settings(deadline=None)
def test_cells_agree_with_a_brute_force_count(rows, kind) -> None:
    records = pd.DataFrame(rows, columns=["pseudonym", "a", "b", "amount"])
    measure = CellMeasure(kind, None if kind == "customers" else "amount")
    cells = build_cells(records, DIMS, measure=measure)
    assert len(cells) == 4 * 3
    expected = _brute(records, kind)
    for row in cells.itertuples():
        value, contributors, top1, top2 = expected[(row.a, row.b)]
        assert row.value == value
        assert row.contributors == contributors
        assert (row.top1, row.top2) == (top1, top2)


def test_a_customer_in_two_leaves_counts_once_in_their_margin() -> None:
    records = pd.DataFrame(
        {
            "pseudonym": ["c1", "c1", "c2"],
            "a": ["x", "y", "x"],
            "b": ["p", "p", "p"],
            "amount": [1, 1, 1],
        }
    )
    cells = build_cells(records, DIMS, measure=CellMeasure("records"))
    total = cells[(cells["a"] == TOTAL) & (cells["b"] == TOTAL)].iloc[0]
    assert total["value"] == 3  # records add up
    assert total["contributors"] == 2  # customers do not


def test_records_outside_a_domain_are_quarantined_with_the_reason() -> None:
    spec = load_catalogue()["visits_by_course_quarter_area"]
    customers = pd.DataFrame(
        {
            "pseudonym": ["p1", "p2"],
            "age": [30, 40],
            "gender": ["F", "M"],
            "postal_code": ["100", "530"],
            "main_course": ["facial", "nail"],
        }
    )
    usage = pd.DataFrame(
        {
            "pseudonym": ["p1", "p2", "p2"],
            "visit_date": pd.to_datetime(["2026-02-01", "2026-03-01", "2026-04-01"]),
            "store_id": [1, 2, 99],  # store 99 has no known prefecture
            "course_category": ["facial", "nail", "nail"],
            "amount_yen": [5000, 6000, 7000],
        }
    )
    empty = pd.DataFrame()
    built = build_report(
        spec,
        frames={
            "customers": customers,
            "usage": usage,
            "questionnaires": empty,
            "campaigns": empty,
            "subscriptions": empty,
        },
        store_areas={1: "関東", 2: "近畿"},
        run_date=date(2026, 11, 24),
        method=spec.method(),
        min_contributors=10,
        protect=protect_cells,
    )
    assert built.records_in == 3
    assert len(built.quarantined) == 1
    assert built.quarantined["reason"].tolist() == ["store_area: outside its domain"]
    internal = built.table.internal
    grand = internal[(internal[["course", "quarter", "store_area"]] == TOTAL).all(axis=1)]
    assert grand["value"].tolist() == [2.0]  # in = out + quarantined
    assert np.all(
        built.table.published["flag"].isin(["", "suppressed-primary", "suppressed-secondary"])
    )
