from __future__ import annotations

from datetime import date

import pandas as pd

from transforms.deidentify import age_at, deidentify, main_course

KEY = bytes(range(32))


def _customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.array([1, 2], dtype="Int64"),
            "family_name": ["山田", "佐藤"],
            "given_name": ["花子", "美咲"],
            "family_name_kana": ["ヤマダ", "サトウ"],
            "given_name_kana": ["ハナコ", "ミサキ"],
            "gender": ["F", "F"],
            "birth_date": pd.to_datetime(["1990-11-24", "1990-11-25"]),
            "postal_code": ["100-0001", "530-0002"],
            "street_address": ["千代田1-1-1", "北区2-2-2"],
            "phone": ["090-1234-5678", "03-1234-5678"],
            "email": ["hanako@example.jp", "misaki@example.jp"],
        }
    )


def _usage() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 3],
            "store_id": [1, 1, 2, 3, 3],
            "visit_date": pd.to_datetime(["2026-01-01"] * 5),
            "course_category": ["facial", "body", "body", "facial", "bridal"],
            "amount_yen": [5000, 8000, 8000, 6000, 90000],
        }
    )


def _questionnaires() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [1, 3],
            "answered_on": pd.to_datetime(["2026-02-01", "2026-02-02"]),
            "satisfaction_overall": [5, 4],
            "channel": ["web", "store"],
            "comment": ["山田花子です。090-1234-5678まで", "ok"],
        }
    )


def test_age_is_whole_years_on_the_run_date() -> None:
    births = pd.Series(pd.to_datetime(["1990-11-24", "1990-11-25", "2000-02-29"]))
    assert age_at(births, on=date(2026, 11, 24)).tolist() == [36, 35, 26]


def test_main_course_ties_go_to_alphabetical_first() -> None:
    usage = pd.DataFrame({"customer_id": [1, 1, 2], "course_category": ["facial", "body", "nail"]})
    assert main_course(usage).to_dict() == {1: "body", 2: "nail"}


def test_no_direct_identifier_survives() -> None:
    out = deidentify(
        _customers(),
        usage=_usage(),
        questionnaires=_questionnaires(),
        key=KEY,
        run_date=date(2026, 11, 24),
    )
    text = " ".join(
        frame.astype(str).to_csv() for frame in (out.customers, out.usage, out.questionnaires)
    )
    for value in ("山田", "花子", "ヤマダ", "090-1234-5678", "hanako@example.jp", "千代田"):
        assert value not in text
    assert "comment" not in out.questionnaires.columns
    assert out.customers["postal_code"].tolist() == ["100", "530"]
    assert out.customers["age"].tolist() == [36, 35]
    assert out.customers["main_course"].tolist() == ["body", "facial"]
    assert out.customers["visits"].tolist() == [3, 1]


def test_rows_of_unknown_customers_are_dropped_and_pseudonyms_link_tables() -> None:
    out = deidentify(
        _customers(),
        usage=_usage(),
        questionnaires=_questionnaires(),
        key=KEY,
        run_date=date(2026, 11, 24),
    )
    assert len(out.usage) == 4 and len(out.questionnaires) == 1
    assert set(out.usage["pseudonym"]) == set(out.customers["pseudonym"])
    assert out.questionnaires["pseudonym"].iloc[0] == out.customers["pseudonym"].iloc[0]
