from __future__ import annotations

import pandas as pd

from transforms.parse import REASON_COLUMN, ROW_COLUMN, parse_columns

SCHEMA = {"id": "int", "born": "date", "granted": "bool", "name": "str"}


def test_parse_types_and_quarantines_with_field_and_rule() -> None:
    raw = pd.DataFrame(
        {
            "id": ["1", "2", "x3", "4"],
            "born": ["1990-01-31", "1985-02-30", "1970-05-05", None],
            "granted": ["1", "0", "1", "maybe"],
            "name": ["a", "b", "c", "d"],
        },
        dtype="string",
    )
    clean, rejected = parse_columns(raw, schema=SCHEMA)
    assert clean["id"].tolist() == [1]
    assert str(clean["born"].iloc[0].date()) == "1990-01-31"
    assert rejected[ROW_COLUMN].tolist() == [1, 2, 3]
    reasons = rejected[REASON_COLUMN].tolist()
    assert reasons[0] == "born: not a valid date (YYYY-MM-DD)"
    assert reasons[1] == "id: not an integer"
    assert reasons[2] == "granted: not a boolean (0/1)"
    # Reasons name the field and rule, never the offending value.
    assert not any("1985-02-30" in r or "x3" in r for r in reasons)
    assert len(clean) + len(rejected) == len(raw)


def test_missing_values_stay_missing_and_are_not_rejected() -> None:
    raw = pd.DataFrame({"id": ["1", None], "born": [None, None]}, dtype="string")
    clean, rejected = parse_columns(raw, schema={"id": "int", "born": "date"})
    assert len(rejected) == 0
    assert clean["id"].isna().tolist() == [False, True]


def test_non_integral_numbers_are_rejected() -> None:
    raw = pd.DataFrame({"id": ["1.5", "2.0"]}, dtype="string")
    clean, rejected = parse_columns(raw, schema={"id": "int"})
    assert rejected[ROW_COLUMN].tolist() == [0]
    assert clean["id"].tolist() == [2]


def test_naive_timestamps_are_local_time_and_offsets_are_kept() -> None:
    raw = pd.DataFrame(
        {"at": ["2026-11-24T23:30:00", "2026-11-24T23:30:00+00:00", "2026-11-24 08:00"]},
        dtype="string",
    )
    clean, rejected = parse_columns(raw, schema={"at": "timestamp"})
    assert rejected.empty
    local = clean["at"].dt.tz_convert("Asia/Tokyo").dt.strftime("%Y-%m-%d %H:%M").tolist()
    assert local == ["2026-11-24 23:30", "2026-11-25 08:30", "2026-11-24 08:00"]


def test_only_well_formed_later_dates_are_after_the_run_date() -> None:
    from datetime import date

    from transforms.parse import dated_after

    values = pd.Series(["2026-11-24", "2026-11-25", "昭和60年", None, "2026-13-45"])
    assert dated_after(values, date(2026, 11, 24)).tolist() == [False, True, False, False, True]


def test_integers_parse_exactly_and_extremes_are_rejected_not_raised() -> None:
    """An id beyond 2**53 keeps its value; a huge or infinite number rejects its row."""
    values = ["9007199254740993", "-42", " 7 ", "2.0", "1e3", "1e300", "inf", "-inf", "nan"]
    values += ["99999999999999999999", "1e16", "0x10"]
    raw = pd.DataFrame({"id": values}, dtype="string")
    clean, rejected = parse_columns(raw, schema={"id": "int"})
    assert clean["id"].tolist() == [9007199254740993, -42, 7, 2, 1000]
    assert rejected[ROW_COLUMN].tolist() == list(range(5, len(values)))
    assert set(rejected[REASON_COLUMN]) == {"id: not an integer"}
