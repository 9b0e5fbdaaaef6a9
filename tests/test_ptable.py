"""P-tables: every row has the properties the cell key method relies on, the shipped CSV is
what the generator makes, and a corrupted file fails naming the file and the row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import linprog

from pipeline.sources.ptables import (
    SHIPPED_COUNT_PTABLE,
    PTableFileError,
    load_ptable,
    ptable_csv,
    ptable_file_name,
)
from transforms.errors import ConfigurationError
from transforms.ptable import (
    MOMENT_TOLERANCE,
    PTable,
    PTableError,
    allowed_perturbations,
    generate_ptable,
    ptable_frame,
    ptable_from_frame,
)

SHIPPED = (3, 2.0, 2)


def assert_properties(pt: PTable) -> None:
    p = pt.probabilities
    v = pt.perturbations
    assert np.all(p >= 0)
    assert np.all(pt.cumulative[:, -1] == 1.0)
    assert np.allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert p[0, pt.D] == 1.0  # zero stays zero
    for i in range(pt.imax + 1):
        used = v[p[i] > 0]
        assert np.all(np.abs(used) <= pt.D)
        assert np.all(i + used >= 0)
        assert not np.any((i + used >= 1) & (i + used <= pt.js))
        assert set(used) <= set(allowed_perturbations(i, pt.D, pt.js))
    # the last row serves every larger count: no target at or below js from there on
    assert np.all(pt.imax + v[p[-1] > 0] > pt.js)
    assert np.all(np.abs(pt.row_means()) <= MOMENT_TOLERANCE)
    assert np.allclose(pt.row_variances(), pt.target_variances, rtol=0, atol=MOMENT_TOLERANCE)
    # V holds wherever a mean-0 row can have it (checked independently, by linear programs);
    # elsewhere the row's variance is the nearest it can have
    assert pt.target_variances[0] == 0.0
    for i in range(1, pt.imax + 1):
        low, high = _variance_range_lp(allowed_perturbations(i, pt.D, pt.js))
        assert pt.target_variances[i] == pytest.approx(min(max(pt.V, low), high), abs=1e-9)


def _variance_range_lp(v: np.ndarray) -> tuple[float, float]:
    """Least and largest variance of a mean-0 distribution on ``v`` (scipy HiGHS)."""
    a_eq = np.stack([np.ones(v.size), v.astype(float)])
    b_eq = np.array([1.0, 0.0])
    sq = v.astype(float) ** 2
    low = linprog(sq, A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
    high = linprog(-sq, A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
    assert low.success and high.success
    return float(low.fun), float(-high.fun)


@pytest.mark.parametrize(
    "params", [(1, 0.5, 0), (2, 1.0, 0), (2, 1.0, 1), (3, 2.0, 2), (3, 1.5, 2), (4, 2.0, 3)]
)
def test_generated_tables_have_every_property(params: tuple[int, float, int]) -> None:
    assert_properties(generate_ptable(*params))


def test_shipped_parameters_hold_v_in_every_row() -> None:
    pt = generate_ptable(*SHIPPED)
    assert np.array_equal(pt.target_variances[1:], np.full(pt.imax, 2.0))
    assert pt.imax == 6


def test_variance_is_relaxed_only_where_it_cannot_hold() -> None:
    # D=3, js=2: rows 1 and 2 can only reach 0 or 3+, and with mean 0 their variance is >= 2
    pt = generate_ptable(3, 1.5, 2)
    assert list(pt.target_variances) == [0.0, 2.0, 2.0, 1.5, 1.5, 1.5, 1.5]
    # V above what row 1 can have (at most 1 * D = 3): relaxed down
    big = generate_ptable(3, 4.0, 2)
    assert big.target_variances[1] == 3.0
    assert big.target_variances[-1] == 4.0
    assert_properties(big)


def test_rows_above_the_last_are_the_last_row() -> None:
    short, long = generate_ptable(3, 2.0, 2), generate_ptable(3, 2.0, 2, imax=12)
    assert np.array_equal(long.cumulative[: short.imax + 1], short.cumulative)
    assert all(np.array_equal(long.cumulative[i], short.cumulative[-1]) for i in range(6, 13))


def test_maximum_entropy_on_the_full_support_is_symmetric_and_spread() -> None:
    last = generate_ptable(3, 2.0, 2).probabilities[-1]
    assert np.allclose(last, last[::-1], atol=1e-9)
    assert np.all(last > 0)
    # the exponential family: log p is a parabola in v (max entropy with mean and variance)
    v = np.arange(-3, 4)
    coef = np.polyfit(v, np.log(last), 2)
    assert np.allclose(np.polyval(coef, v), np.log(last), atol=1e-6)


@given(
    D=st.integers(1, 5),
    js_offset=st.integers(0, 4),
    V=st.floats(0.1, 8.0, allow_nan=False),
)
def test_any_parameters_give_a_valid_table(D: int, js_offset: int, V: float) -> None:
    js = min(js_offset, D - 1)
    assert_properties(generate_ptable(D, V, js))


@pytest.mark.parametrize(
    ("args", "field"), [((0, 1.0, 0), "D"), ((2, 1.0, 2), "js"), ((2, 0.0, 0), "V")]
)
def test_impossible_parameters_are_refused(args: tuple[int, float, int], field: str) -> None:
    with pytest.raises(PTableError) as info:
        generate_ptable(*args)
    assert info.value.column == field
    assert isinstance(info.value, ConfigurationError)


def test_the_shipped_csv_is_what_the_generator_makes_byte_for_byte() -> None:
    assert SHIPPED_COUNT_PTABLE.name == ptable_file_name(*SHIPPED)
    expected = ptable_csv(generate_ptable(*SHIPPED))
    assert SHIPPED_COUNT_PTABLE.read_bytes() == expected.encode("utf-8")


def test_the_shipped_csv_loads_as_the_generated_table() -> None:
    loaded = load_ptable()
    assert loaded.equals(generate_ptable(*SHIPPED))
    assert_properties(loaded)


def test_the_frame_round_trips() -> None:
    pt = generate_ptable(2, 1.0, 1)
    frame = ptable_frame(pt)
    assert list(frame.columns) == ["i", "j", "p", "v", "p_int_lb", "p_int_ub"]
    assert np.all(frame["j"] - frame["i"] == frame["v"])
    assert ptable_from_frame(frame, D=2, V=1.0, js=1).equals(pt)


def _line(prefix: str) -> tuple[int, list[str]]:
    """The 1-based line of the shipped CSV starting with ``prefix``, and its fields."""
    for number, text in enumerate(SHIPPED_COUNT_PTABLE.read_text().splitlines(), start=1):
        if text.startswith(prefix):
            return number, text.split(",")
    raise AssertionError(prefix)


def _corrupt(tmp_path: Path, line: int, fields: list[str]) -> Path:
    lines = SHIPPED_COUNT_PTABLE.read_text().splitlines()
    lines[line - 1] = ",".join(fields)
    out = tmp_path / SHIPPED_COUNT_PTABLE.name
    out.write_text("\n".join(lines) + "\n")
    return out


def test_a_row_that_does_not_sum_to_one_names_file_row_and_line(tmp_path: Path) -> None:
    first, _ = _line("3,")
    number, (i, j, p, v, lb, _) = _line("3,6,")  # the row's last entry, consistently edited
    bigger = float(p) + 0.125
    bad = _corrupt(tmp_path, number, [i, j, repr(bigger), v, lb, repr(float(lb) + bigger)])
    with pytest.raises(PTableFileError) as info:
        load_ptable(bad)
    text = str(info.value)
    assert str(bad) in text
    assert f"row i=3 (line {first}), field 'p': probabilities do not sum to 1" in text
    assert repr(bigger)[:6] not in text  # no value quoted


def test_a_published_value_in_one_to_js_is_refused(tmp_path: Path) -> None:
    first, _ = _line("4,")
    number, (i, _, p, _, lb, ub) = _line("4,3,")  # v = -1 moved to v = -2: a published 2
    bad = _corrupt(tmp_path, number, [i, "2", p, "-2", lb, ub])
    with pytest.raises(PTableFileError, match=rf"row i=4 \(line {first}\).*not allowed"):
        load_ptable(bad)


def test_a_non_number_names_the_field(tmp_path: Path) -> None:
    first, _ = _line("5,")
    number, fields = _line("5,4,")
    fields[2] = "abc"
    bad = _corrupt(tmp_path, number, fields)
    with pytest.raises(
        PTableFileError, match=rf"row i=5 \(line {first}\), field 'p': not a number"
    ):
        load_ptable(bad)


def test_a_zero_that_moves_is_refused(tmp_path: Path) -> None:
    lines = SHIPPED_COUNT_PTABLE.read_text().splitlines()
    lines[1:2] = ["0,0,0.5,0,0.0,0.5", "0,1,0.5,1,0.5,1.0"]
    bad = tmp_path / SHIPPED_COUNT_PTABLE.name
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(PTableFileError, match=r"row i=0"):
        load_ptable(bad)


def test_a_file_whose_name_hides_its_parameters_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "counts.csv"
    other.write_bytes(SHIPPED_COUNT_PTABLE.read_bytes())
    with pytest.raises(PTableFileError, match="counts_D<D>_V<V>_js<js>"):
        load_ptable(other)
    # the right rows under other parameters fail: the variance is not V
    wrong = tmp_path / "counts_D3_V1_js2.csv"
    wrong.write_bytes(SHIPPED_COUNT_PTABLE.read_bytes())
    with pytest.raises(PTableFileError, match="variance"):
        load_ptable(wrong)


def test_a_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(PTableFileError, match="not found"):
        load_ptable(tmp_path / SHIPPED_COUNT_PTABLE.name)
