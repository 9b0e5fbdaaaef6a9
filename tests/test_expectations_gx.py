"""Custom GX expectations, suites, run_validation and split_valid_rows.

One GX context per module (GX imports take seconds)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from property_budget import examples

from expectations.validation import (
    ROW_COLUMN,
    SuiteConfigError,
    Validator,
    load_suite,
)
from pipeline.sources.schema import SUITE_VOCABULARIES

RUN_DATE = dt.date(2026, 11, 25)


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator()


def _suite(path: Path, expectations: list[dict[str, Any]]) -> Path:
    file = path / "case.json"
    file.write_text(json.dumps({"name": "case", "expectations": expectations}), encoding="utf-8")
    return file


def _microdata(classes: list[tuple[str, str, list[str]]]) -> pd.DataFrame:
    rows = [(a, g, s) for a, g, values in classes for s in values]
    return pd.DataFrame(rows, columns=["age", "gender", "course"])


QI = ["age", "gender"]
GOOD_MICRO = _microdata(
    [
        ("20-29", "F", ["facial", "body", "nail"]),
        ("30-39", "M", ["facial", "nail", "body"]),
        ("*", "*", ["bridal"]),  # suppressed: excluded from the classes
    ]
)
BAD_MICRO = _microdata([("20-29", "F", ["facial", "facial", "facial"]), ("30-39", "M", ["body"])])

CASES: list[tuple[str, dict[str, Any], pd.DataFrame, pd.DataFrame]] = [
    ("expect_table_to_be_k_anonymous", {"qi": QI, "k": 3}, GOOD_MICRO, BAD_MICRO),
    (
        "expect_table_to_be_l_diverse",
        {"qi": QI, "sensitive": "course", "l": 3},
        GOOD_MICRO,
        BAD_MICRO,
    ),
    (
        "expect_table_to_be_l_diverse",
        {"qi": QI, "sensitive": "course", "l": 2.5, "variant": "entropy"},
        GOOD_MICRO,
        BAD_MICRO,
    ),
    (
        "expect_table_to_be_l_diverse",
        {"qi": QI, "sensitive": "course", "l": 2, "variant": "recursive", "c": 3},
        GOOD_MICRO,
        BAD_MICRO,
    ),
    (
        "expect_table_to_be_t_close",
        {"qi": QI, "sensitive": "course", "t": 0.3},
        GOOD_MICRO,
        BAD_MICRO,
    ),
    (
        "expect_columns_to_contain_no_direct_identifiers",
        {},
        pd.DataFrame({"comment": ["良かった", "また来ます"], "n": [1, 2]}),
        pd.DataFrame({"comment": ["担当の佐藤さん", "tel 090-1234-5678"], "n": [1, 2]}),
    ),
    (
        "expect_table_cells_to_meet_minimum_count",
        {"count_column": "customers", "min_count": 10},
        pd.DataFrame({"customers": pd.array([10, None, 25, 0], dtype="Int64")}),
        pd.DataFrame({"customers": pd.array([10, 3, 25], dtype="Int64")}),
    ),
    (
        "expect_magnitude_cells_to_satisfy_dominance_rule",
        {"total_column": "total", "top_columns": ["top1", "top2"], "n": 2, "k": 85},
        pd.DataFrame({"total": [1000.0, None], "top1": [300, 0], "top2": [200, 0]}),
        pd.DataFrame({"total": [1000.0, 500.0], "top1": [900, 100], "top2": [50, 100]}),
    ),
    (
        "expect_magnitude_cells_to_satisfy_p_percent_rule",
        {"total_column": "total", "top1_column": "top1", "top2_column": "top2", "p": 10},
        pd.DataFrame({"total": [1000.0, None], "top1": [300, 0], "top2": [200, 0]}),
        pd.DataFrame({"total": [1000.0], "top1": [600], "top2": [390]}),
    ),
    (
        "expect_column_values_to_be_iso_dates",
        {"column": "d"},
        pd.DataFrame({"d": ["2024-02-29", None]}),
        pd.DataFrame({"d": ["2023-02-29", "20240101"]}),
    ),
    (
        "expect_column_values_to_be_iso_dates_between",
        {"column": "d", "min_value": "1900-01-01", "max_value": "2026-11-25"},
        pd.DataFrame({"d": ["1900-01-01", "2026-11-25", "not a date"]}),
        pd.DataFrame({"d": ["1899-12-31", "2026-11-26"]}),
    ),
    (
        "expect_column_values_to_be_iso_timestamps",
        {"column": "t"},
        pd.DataFrame({"t": ["2026-11-24T23:30:00+09:00", "2026-11-24T14:30:00Z", None]}),
        pd.DataFrame({"t": ["2026-11-24T25:00:00+09:00", "24/11/2026 10:00", "x"]}),
    ),
    (
        "expect_column_values_to_be_numbers_between",
        {"column": "s", "min_value": 1, "max_value": 5, "integer": True},
        pd.DataFrame({"s": ["1", "5", None]}),
        pd.DataFrame({"s": ["0", "2.5", "x", "6"]}),
    ),
]


@pytest.mark.parametrize(
    ("etype", "kwargs", "good", "bad"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_expectation_passes_good_and_fails_bad(
    validator: Validator,
    tmp_path: Path,
    etype: str,
    kwargs: dict[str, Any],
    good: pd.DataFrame,
    bad: pd.DataFrame,
) -> None:
    suite = _suite(tmp_path, [{"type": etype, "kwargs": kwargs}])
    ok = validator.run(good, suite=suite)
    assert ok.success, ok.failures
    assert not validator.last_results[0].exception_info.get("raised_exception")
    ko = validator.run(bad, suite=suite)
    assert not validator.last_results[0].exception_info.get("raised_exception")
    assert not ko.success
    (failure,) = ko.failures
    assert failure.expectation == etype
    assert failure.unexpected_count and failure.unexpected_count > 0


def test_without_suppression_marker_all_star_rows_are_a_class(validator: Validator) -> None:
    # L1: a row generalized to "*" on every QI is a released record when nothing is suppressed
    params = {"qi": QI, "k": 3, "sensitive": "course", "l": 2}
    marked = {**params, "suppression_marker": "*"}
    assert validator.run(GOOD_MICRO, suite="released_microdata", parameters=marked).success
    # Without a marker (the suite's default) every row is a released record.
    default = validator.run(GOOD_MICRO, suite="released_microdata", parameters=params)
    assert not default.success
    outcome = validator.run(
        GOOD_MICRO,
        suite="released_microdata",
        parameters={**params, "suppression_marker": None},
    )
    failed = {f.expectation: f.detail for f in outcome.failures}
    assert set(failed) == {"expect_table_to_be_k_anonymous", "expect_table_to_be_l_diverse"}
    assert "smallest class 1" in failed["expect_table_to_be_k_anonymous"]
    details = validator.last_results[0].result["details"]
    assert details["n_suppressed"] == 0 and details["n_classes"] == 3
    # fully generalized data is checked, not passed vacuously: one class of 4, l = 1
    stars = _microdata([("*", "*", ["facial", "facial", "facial", "facial"])])
    outcome = validator.run(
        stars, suite="released_microdata", parameters={**params, "suppression_marker": None}
    )
    assert [f.expectation for f in outcome.failures] == ["expect_table_to_be_l_diverse"]


def test_k_anonymity_reports_counts_and_excludes_suppressed(validator: Validator) -> None:
    params = {"qi": QI, "k": 4, "suppression_marker": "*"}
    outcome = validator.run(GOOD_MICRO, suite="released_microdata", parameters=params)
    assert not outcome.success
    details = validator.last_results[0].result["details"]
    assert details["n_suppressed"] == 1
    assert details["n_classes"] == 2
    assert details["min_class_size"] == 3
    assert outcome.failures[0].column == "age,gender"
    assert "smallest class 3" in outcome.failures[0].detail


DISTINCT = {
    "name": ["Zyxwa Qorblat", "Vexmo Trandil", "佐藤 花子", "鈴木 明美"],
    "email": ["zyxwa.qorblat@example.com", "vexmo@example.org", "x1@ex.jp", "x2@ex.jp"],
    "phone": ["090-9876-5432", "080-1111-2222", "03-5555-6666", "070-3333-4444"],
    "age": ["QIAGE-alpha", "QIAGE-alpha", "QIAGE-beta", "QIAGE-gamma"],
    "gender": ["QIG-one", "QIG-one", "QIG-two", "QIG-two"],
    "course": ["SENS-apricot", "SENS-banana", "SENS-cherry", "SENS-cherry"],
    "birth_date": ["1890-07-07", "2099-08-08", "1985-13-45", "1981-03-03"],
    "postal_code": ["987-6543", "1234567", "150-0001", "〒150-0002"],
    "customers": pd.array([3, 1, 7, 2], dtype="Int64"),
}


def _all_values() -> list[str]:
    """Every string value (counts are small numbers that occur anywhere in HTML)."""
    return [v for values in DISTINCT.values() for v in values if isinstance(v, str)]


def test_no_person_value_in_any_result_or_data_docs(tmp_path: Path) -> None:
    df = pd.DataFrame(DISTINCT)
    docs = tmp_path / "docs"
    v = Validator(docs_dir=docs)
    serialized: list[str] = []
    checks = [
        ("released_microdata", {"qi": ["age", "gender"], "k": 5, "sensitive": "course", "l": 3}),
        ("released_tables", {"count_column": "customers", "min_cell_count": 10}),
    ]
    for suite, params in checks:
        outcome = v.run(df, suite=suite, parameters=params)
        assert not outcome.success
        assert all(f.detail != "error while checking" for f in outcome.failures)
        serialized.append(json.dumps(outcome.to_json(), ensure_ascii=False, default=str))
        serialized.append(
            json.dumps(v.last_suite_result.describe_dict(), ensure_ascii=False, default=str)
        )
        serialized.append(
            json.dumps(v.last_suite_result.to_json_dict(), ensure_ascii=False, default=str)
        )
    schema_only = _suite(
        tmp_path,
        [
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "gender", "value_set": ["F", "M"]},
            },
            {
                "type": "expect_column_values_to_match_regex",
                "kwargs": {"column": "postal_code", "regex": "^[0-9]{3}-[0-9]{4}$"},
            },
            {"type": "expect_column_values_to_be_iso_dates", "kwargs": {"column": "birth_date"}},
            {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "gender"}},
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "email"}},
        ],
    )
    outcome = v.run(df, suite=schema_only)
    assert len(outcome.failures) == 4
    assert all(f.unexpected_count for f in outcome.failures)
    serialized.append(json.dumps(outcome.to_json(), ensure_ascii=False, default=str))
    serialized.append(json.dumps(v.last_suite_result.to_json_dict(), ensure_ascii=False))
    html = [p.read_text(encoding="utf-8") for p in docs.rglob("*.html")]
    assert v.docs_index is not None and v.docs_index.exists()
    assert len(html) >= 4  # index + suites + validation pages
    everything = "\n".join(serialized + html)
    assert "Every equivalence class over age, gender must hold at least 5 records" in everything
    leaked = [value for value in _all_values() if value in everything]
    assert leaked == []


def test_split_valid_rows_reconciles_and_names_rules_not_values(validator: Validator) -> None:
    df = pd.DataFrame(
        {
            "response_id": [1, 2, 2, 4, 5, 6],
            "customer_id": [10, 11, 12, 99, 10, None],
            "answered_on": ["2025-01-01", "2025-13-01", "2025-01-02", "2030-01-01", None, "x"],
            "satisfaction_overall": [5, 6, 3, 4, 1, 2],
            "satisfaction_staff": [5, 5, "five", 4, 1, 2],
            "satisfaction_cleanliness": [1, 2, 3, 4, 5, 1],
            "satisfaction_value": [1, 2, 3, 4, 5, 1],
            "channel": ["store", "web", "fax", "app", "mail", "web"],
            "comment": ["佐藤さんが良い", None, None, None, None, None],
        },
        index=[100, 101, 102, 103, 104, 105],
    )
    clean, rejected = validator.split(
        df,
        suite="raw_questionnaires",
        table="questionnaire_responses",
        context={
            "run_date": RUN_DATE,
            "customer_ids": np.array([10, 11, 12]),
            **SUITE_VOCABULARIES,
        },
    )
    assert len(clean) + len(rejected) == len(df)
    assert rejected[ROW_COLUMN].is_unique
    assert sorted([*map(int, df.index.get_indexer(clean.index)), *rejected[ROW_COLUMN]]) == list(
        range(len(df))
    )
    back = pd.concat([clean, rejected.drop(columns=[ROW_COLUMN, "_reason"])]).loc[df.index]
    pd.testing.assert_frame_equal(back, df)
    assert clean["response_id"].tolist() == [1]
    reasons = dict(zip(rejected[ROW_COLUMN], rejected["_reason"], strict=True))
    assert "satisfaction_overall: not a score within the plausibility bounds" in reasons[1]
    assert "answered_on: not a valid date (expect_column_values_to_be_iso_dates)" in reasons[1]
    assert "response_id: duplicate id" in reasons[2] and "channel: unknown channel" in reasons[2]
    assert "satisfaction_staff" in reasons[2]
    assert "customer_id: unknown customer (reference:customer_ids)" in reasons[3]
    assert "answered_on: implausible date" in reasons[3]
    assert reasons[4] == "answered_on: missing (expect_column_values_to_not_be_null)"
    assert "customer_id: missing" in reasons[5]
    text = " ".join(reasons.values())
    for value in ("fax", "five", "2030-01-01", "2025-13-01", "99"):
        assert value not in text


def test_split_without_failures_and_on_empty_input(validator: Validator) -> None:
    df = pd.DataFrame(
        {
            "request_id": [1, 2],
            "customer_id": [1, 2],
            "request_type": ["deletion", "correction"],
            "requested_on": ["2025-01-01", "2025-01-02"],
            "field": [None, "gender"],
            "new_value": [None, "F"],
            "status": ["pending", "completed"],
        }
    )
    ctx = {"run_date": RUN_DATE, **SUITE_VOCABULARIES}
    clean, rejected = validator.split(df, suite="raw_requests", table="requests", context=ctx)
    assert len(clean) == 2 and rejected.empty
    assert [*rejected.columns] == [*df.columns, ROW_COLUMN, "_reason"]
    clean, rejected = validator.split(df.iloc[:0], suite="raw_requests", table="r", context=ctx)
    assert clean.empty and rejected.empty


def test_missing_column_is_a_suite_config_error(validator: Validator) -> None:
    df = pd.DataFrame({"usage_id": [1], "customer_id": [1]})
    with pytest.raises(SuiteConfigError) as err:
        params = {"run_date": RUN_DATE, "customer_ids": [1], **SUITE_VOCABULARIES}
        validator.run(df, suite="raw_usage", parameters=params)
    assert err.value.suite == "raw_usage"
    assert err.value.column == "store_id"
    assert err.value.expectation == "expect_column_values_to_not_be_null"
    assert "store_id" in str(err.value)
    with pytest.raises(SuiteConfigError, match="no such column"):
        validator.run(GOOD_MICRO, suite="released_microdata", parameters={"qi": ["zip"], "k": 2})


def test_missing_parameter_and_unknown_suite_are_config_errors(validator: Validator) -> None:
    with pytest.raises(SuiteConfigError, match="parameter 'k' is not set"):
        validator.run(GOOD_MICRO, suite="released_microdata", parameters={"qi": QI})
    with pytest.raises(SuiteConfigError, match="no such suite"):
        validator.run(GOOD_MICRO, suite="no_such_suite")


def test_empty_input_validates_and_reports_zero_rows(validator: Validator) -> None:
    outcome = validator.run(
        GOOD_MICRO.iloc[:0], suite="released_microdata", parameters={"qi": QI, "k": 10}
    )
    assert outcome.statistics["rows"] == 0
    assert outcome.rows == 0
    assert outcome.to_json()["statistics"]["rows"] == 0


def test_suites_are_parametrized_at_run_time() -> None:
    without_l = load_suite("released_microdata", parameters={"qi": QI, "k": 5})
    types = [e["type"] for e in without_l.expectations]
    assert "expect_table_to_be_l_diverse" not in types
    with_l = load_suite(
        "released_microdata",
        parameters={"qi": QI, "k": 5, "sensitive": "course", "l": 2, "t": 0.2},
    )
    kinds = {e["type"]: e["kwargs"] for e in with_l.expectations}
    assert kinds["expect_table_to_be_k_anonymous"]["k"] == 5
    assert kinds["expect_table_to_be_l_diverse"]["l"] == 2
    assert kinds["expect_table_to_be_t_close"]["t"] == 0.2
    raw = load_suite("raw_customers", parameters={"run_date": RUN_DATE, **SUITE_VOCABULARIES})
    between = [e for e in raw.expectations if e["kwargs"].get("column") == "birth_date"]
    assert any(e["kwargs"].get("max_value") == "2026-11-25" for e in between)


def test_date_parameter_shifted_by_years_and_bad_references(tmp_path: Path) -> None:
    shifted = {"$PARAMETER": "run_date", "years_before": 120}
    suite = _suite(
        tmp_path,
        [
            {
                "type": "expect_column_values_to_be_iso_dates_between",
                "kwargs": {"column": "d", "min_value": shifted},
            }
        ],
    )
    (entry,) = load_suite(suite, parameters={"run_date": RUN_DATE}).expectations
    assert entry["kwargs"]["min_value"] == "1906-11-25"
    (entry,) = load_suite(suite, parameters={"run_date": "2026-11-25T09:00:00+09:00"}).expectations
    assert entry["kwargs"]["min_value"] == "1906-11-25"
    with pytest.raises(SuiteConfigError, match="'run_date' is not set"):
        load_suite(suite)
    with pytest.raises(SuiteConfigError, match="not a date"):
        load_suite(suite, parameters={"run_date": "yesterday"})
    shifted["years_before"] = "many"
    with pytest.raises(SuiteConfigError, match="whole number"):
        load_suite(
            _suite(tmp_path, [{"type": "x", "kwargs": {"min_value": shifted}}]),
            parameters={"run_date": RUN_DATE},
        )
    bad_ref = tmp_path / "ref.json"
    for ref in (
        {"column": "p", "context_key": "k", "extract": "^[0-9]{3}"},
        {"column": "p", "context_key": "k", "extract": "(["},
        {"column": "p", "context_key": "k", "colour": "red"},
    ):
        bad_ref.write_text(
            json.dumps({"name": "r", "meta": {"anonrelease": {"references": [ref]}}}),
            encoding="utf-8",
        )
        with pytest.raises(SuiteConfigError):
            load_suite(bad_ref)


def test_released_tables_runs_magnitude_rules_when_configured(validator: Validator) -> None:
    table = pd.DataFrame(
        {
            "cell": ["a", "b", "c"],
            "customers": pd.array([12, 15, None], dtype="Int64"),
            "total": [120_000.0, 90_000.0, None],
            "top1": [100_000, 20_000, 0],
            "top2": [12_000, 15_000, 0],
        }
    )
    params = {"count_column": "customers", "min_cell_count": 10}
    assert validator.run(table, suite="released_tables", parameters=params).success
    outcome = validator.run(
        table, suite="released_tables", parameters={**params, "total_column": "total"}
    )
    failed = {f.expectation: f.unexpected_count for f in outcome.failures}
    assert failed == {
        "expect_magnitude_cells_to_satisfy_dominance_rule": 1,
        "expect_magnitude_cells_to_satisfy_p_percent_rule": 1,
    }


_CELL = st.one_of(st.none(), st.sampled_from(["1", "3", "5", "6", "x", "2.5", " 4"]))


@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["1", "2", "3", None]), _CELL, st.sampled_from(["web", "fax"])),
        max_size=12,
    )
)
@settings(max_examples=examples(15), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_split_valid_rows_partitions_every_input(
    validator: Validator, rows: list[tuple[str | None, str | None, str]]
) -> None:
    df = pd.DataFrame(
        {
            "response_id": [str(i) for i in range(len(rows))],
            "customer_id": [r[0] for r in rows],
            "answered_on": "2025-01-01",
            "satisfaction_overall": [r[1] for r in rows],
            "satisfaction_staff": "3",
            "satisfaction_cleanliness": "3",
            "satisfaction_value": "3",
            "channel": [r[2] for r in rows],
            "comment": None,
        },
        dtype=object,
    )
    clean, rejected = validator.split(
        df,
        suite="raw_questionnaires",
        table="q",
        context={"run_date": RUN_DATE, "customer_ids": np.array([1, 2]), **SUITE_VOCABULARIES},
    )
    assert len(clean) + len(rejected) == len(df)
    assert sorted(rejected[ROW_COLUMN].tolist() + clean.index.tolist()) == list(range(len(df)))
    expected_bad = {
        i
        for i, (cid, score, channel) in enumerate(rows)
        if cid is None or cid == "3" or channel == "fax" or score not in (None, "1", "3", "5", " 4")
    }
    assert set(rejected[ROW_COLUMN]) == expected_bad


def test_fractional_l_is_not_rounded_down(validator: Validator, tmp_path: Path) -> None:
    # 2 distinct values per class: entropy l = 2 passes, 2.5 must fail (not round to 2)
    df = _microdata([("20-29", "F", ["facial", "body"]), ("30-39", "M", ["nail", "body"])])
    entropy = {"qi": QI, "sensitive": "course", "variant": "entropy"}
    assert validator.run(df, suite=_suite(tmp_path, [_l(entropy, 2)])).success
    assert not validator.run(df, suite=_suite(tmp_path, [_l(entropy, 2.5)])).success
    distinct = validator.run(
        df, suite=_suite(tmp_path, [_l({**entropy, "variant": "distinct"}, 1.5)])
    )
    assert not distinct.success and distinct.failures[0].detail == "error while checking"


def _l(kwargs: dict[str, Any], l_value: float) -> dict[str, Any]:
    return {"type": "expect_table_to_be_l_diverse", "kwargs": {**kwargs, "l": l_value}}
