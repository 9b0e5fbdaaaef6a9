"""Direct-identifier detectors, cell disclosure rules and the name dictionary (no GX: fast)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from property_budget import examples

from expectations.cell_rules import (
    CellRuleConfigError,
    count_dominated_cells,
    count_p_percent_cells,
    count_small_cells,
)
from expectations.identifiers import (
    UnknownIdentifierKindError,
    my_number_check_digit_valid,
    scan_frame,
    scan_values,
)
from expectations.names import NAMES_FILE, build_name_dictionary, load_name_dictionary


def _check_digit(first11: str) -> str:
    weights = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
    remainder = sum(int(d) * w for d, w in zip(first11, weights, strict=True)) % 11
    return "0" if remainder <= 1 else str(11 - remainder)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("email", "連絡先 hanako.sato@example.co.jp まで"),
        ("email", "ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ"),
        ("phone", "090-1234-5678"),
        ("phone", "09012345678"),
        ("phone", "０９０ー１２３４ー５６７８"),
        ("phone", "03-1234-5678"),
        ("phone", "0312345678"),
        ("phone", "(03)1234-5678"),
        ("phone", "+81-90-1234-5678"),
        ("phone", "0120-123-456"),
        ("postal_code", "150-0001"),
        ("postal_code", "〒150-0001"),
        ("postal_code", "〒１５０－０００１"),
        ("postal_code", "1500001"),
        ("street_address", "東京都渋谷区神南1丁目2番3号"),
        ("street_address", "芝公園3丁目4-1"),
        ("street_address", "渋谷区神南1-2-3"),
        ("street_address", "神南１－２－３"),
        ("street_address", "大阪府大阪市北区梅田2-4"),
        ("my_number", "123456789018"),
        ("my_number", "1234-5678-9018"),
        ("person_name", "佐藤花子"),
        ("person_name", "佐藤 花子"),
        ("person_name", "サトウ　ハナコ"),
        ("person_name", "担当の鈴木さんが親切でした"),
        ("person_name", "明美様へ"),
        ("person_name", "高橋と申します。"),
    ],
)
def test_each_kind_is_detected(kind: str, text: str) -> None:
    counts = scan_values(pd.Series([text]))
    assert counts[kind] == 1, counts


@pytest.mark.parametrize(
    "text",
    [
        "スタッフがとても親切でした",
        "2024-01-02",
        "1,500,000円",
        "中田店の対応が良かった",  # a family name inside a word is not a name
        "松本市のお店",
        "10-19",
        "https://example.jp/path",
        "123456789012",  # 12 digits with a wrong check digit
        "facial",
        "第2期",
    ],
)
def test_ordinary_text_is_not_flagged(text: str) -> None:
    assert sum(scan_values(pd.Series([text])).values()) == 0


def test_phone_after_kanji_is_a_phone_not_an_address() -> None:
    counts = scan_values(pd.Series(["電話090-1234-5678まで"]))
    assert counts["phone"] == 1 and counts["street_address"] == 0


def test_numeric_columns_only_checked_for_my_number() -> None:
    amounts = pd.Series([1_500_000, 9_012_345_678, 1500001], dtype="int64")
    assert sum(scan_values(amounts).values()) == 0
    assert scan_values(pd.Series([123456789018], dtype="int64"))["my_number"] == 1
    assert sum(scan_values(pd.Series([1.5, 2.0])).values()) == 0


def test_column_of_bare_names_is_flagged_but_one_name_in_prose_is_not() -> None:
    family = pd.Series(["佐藤", "鈴木", "高橋", "田中"])
    assert scan_values(family)["person_name"] == 4
    prose = pd.Series(["佐藤", "良い", "普通", "悪い", "とても良い"])
    assert scan_values(prose)["person_name"] == 0


def test_my_number_check_digit() -> None:
    assert my_number_check_digit_valid(["123456789018"]).tolist() == [True]
    assert my_number_check_digit_valid(["123456789012"]).tolist() == [False]
    assert my_number_check_digit_valid([]).shape == (0,)


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
@settings(max_examples=examples(50), deadline=None)
def test_my_number_check_digit_matches_reference(first11: str) -> None:
    good = first11 + _check_digit(first11)
    bad = first11 + str((int(_check_digit(first11)) + 1) % 10)
    assert my_number_check_digit_valid([good, bad]).tolist() == [True, False]


def test_scan_samples_deterministically_and_reports_counts_only() -> None:
    rng = np.random.default_rng(0)
    n = 5_000
    df = pd.DataFrame(
        {
            "note": np.where(rng.random(n) < 0.1, "call 090-1234-5678", "fine"),
            "amount": rng.integers(0, 10_000, n),
        }
    )
    first = scan_frame(df, sample_size=1_000, seed=7)
    second = scan_frame(df, sample_size=1_000, seed=7)
    assert first == second
    assert first.rows_total == n and first.rows_scanned == 1_000
    assert 50 < first.counts["note"]["phone"] < 150
    assert first.flagged == {"note": first.counts["note"]["phone"]}
    assert "090" not in json.dumps(first.counts)


def test_unknown_kind_is_a_structured_error() -> None:
    with pytest.raises(UnknownIdentifierKindError) as err:
        scan_frame(pd.DataFrame({"a": ["x"]}), kinds=("email", "passport"))  # type: ignore[arg-type]
    assert err.value.kinds == ("passport",)


def test_name_dictionary_file_matches_faker() -> None:
    shipped = json.loads(NAMES_FILE.read_text(encoding="utf-8"))
    assert shipped == build_name_dictionary()
    names = load_name_dictionary()
    assert {"佐藤", "サトウ", "さとう"} <= names.family
    assert "花子" in names.given or "ハナコ" in names.given


def test_small_cells() -> None:
    df = pd.DataFrame({"n": pd.array([12, None, 0, 3, 10], dtype="Int64")})
    assert count_small_cells(df, count_column="n", min_count=10) == {
        "n_cells": 5,
        "n_suppressed": 1,
        "n_unsafe": 1,
    }
    assert count_small_cells(df, count_column="n", min_count=10, allow_zero=False)["n_unsafe"] == 2


def test_dominance_and_p_percent() -> None:
    df = pd.DataFrame(
        {
            "total": [100.0, 100.0, 100.0, np.nan, 50.0],
            "top1": [90, 30, 50, 0, 20],
            "top2": [5, 30, 45, 0, 10],
        }
    )
    kw = {"total_column": "total", "top_columns": ["top1", "top2"]}
    assert count_dominated_cells(df, **kw, n=2, k=85)["n_unsafe"] == 2
    assert count_dominated_cells(df, **kw, n=1, k=50)["n_unsafe"] == 1
    p = count_p_percent_cells(
        df, total_column="total", top1_column="top1", top2_column="top2", p=10
    )
    assert p == {"n_cells": 5, "n_suppressed": 1, "n_unsafe": 1}
    with pytest.raises(CellRuleConfigError):
        count_dominated_cells(df, **kw, n=3, k=85)
