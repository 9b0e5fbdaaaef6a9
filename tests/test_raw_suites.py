"""Raw suites that decide who is excluded or crashes a run: consents, requests, customers.

Each rule has a frame that passes and one that fails; reasons name fields and rules, never
values. One GX context for the module (GX imports take seconds)."""

from __future__ import annotations

import datetime as dt
import os

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import numpy as np
import pandas as pd
import pytest

from expectations.validation import (
    REASON_COLUMN,
    ROW_COLUMN,
    SuiteConfigError,
    Validator,
    load_suite,
)
from pipeline.sources.schema import SUITE_VOCABULARIES
from transforms.customer_requests import CORRECTABLE
from transforms.errors import DataError

RUN_DATE = dt.date(2026, 11, 24)
CUSTOMER_IDS = np.array([1, 2, 3])


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator()


def _reasons(rejected: pd.DataFrame) -> dict[int, str]:
    return dict(zip(rejected[ROW_COLUMN].tolist(), rejected[REASON_COLUMN].tolist(), strict=True))


def _split(
    validator: Validator, df: pd.DataFrame, suite: str, **context: object
) -> tuple[pd.DataFrame, dict[int, str]]:
    clean, rejected = validator.split(
        df,
        suite=suite,
        table=suite,
        context={"run_date": RUN_DATE, **SUITE_VOCABULARIES, **context},
    )
    assert len(clean) + len(rejected) == len(df)
    return clean, _reasons(rejected)


# ------------------------------------------------------------------------------ consents

GOOD_CONSENT = {
    "consent_id": "1",
    "customer_id": "1",
    "purpose": "statistics",
    "granted": "0",
    "policy_version": "2024-04",
    "recorded_at": "2026-11-24T23:30:00+09:00",
}


def _consents(*changes: dict[str, str | None]) -> pd.DataFrame:
    rows = [
        {**GOOD_CONSENT, "consent_id": str(i + 1), **change} for i, change in enumerate(changes)
    ]
    return pd.DataFrame(rows, columns=list(GOOD_CONSENT), dtype="str")


def test_raw_consents_accepts_every_purpose_and_both_grants(validator: Validator) -> None:
    df = _consents(
        {},
        {"purpose": "service", "granted": "1", "customer_id": "2"},
        {"purpose": "partner_marketing", "recorded_at": "2026-11-24T10:00:00Z"},
        {"purpose": "mail_magazine", "recorded_at": "2026-01-02T03:04:05", "customer_id": "3"},
    )
    clean, reasons = _split(validator, df, "raw_consents", customer_ids=CUSTOMER_IDS)
    assert reasons == {}
    assert len(clean) == 4


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"consent_id": None}, "consent_id: missing id"),
        ({"customer_id": None}, "customer_id: missing"),
        ({"customer_id": "99"}, "customer_id: unknown customer (reference:customer_ids)"),
        ({"purpose": "Statistics"}, "purpose: unknown purpose"),
        ({"purpose": None}, "purpose: missing"),
        ({"granted": "N"}, "granted: not 0 or 1"),
        ({"granted": "true"}, "granted: not 0 or 1"),
        ({"granted": None}, "granted: missing"),
        ({"recorded_at": None}, "recorded_at: missing"),
        ({"recorded_at": "24/11/2026 23:30"}, "recorded_at: not a valid timestamp"),
        ({"recorded_at": "2026-02-30T10:00:00+09:00"}, "recorded_at: not a valid timestamp"),
        ({"policy_version": None}, "policy_version: missing"),
    ],
)
def test_raw_consents_rejects_each_broken_rule(
    validator: Validator, change: dict[str, str | None], reason: str
) -> None:
    df = _consents({}, change)
    clean, reasons = _split(validator, df, "raw_consents", customer_ids=CUSTOMER_IDS)
    assert list(reasons) == [1]
    assert reason in reasons[1]
    assert clean["consent_id"].tolist() == ["1"]
    for value in change.values():
        if value is not None:
            assert value not in reasons[1]


def test_raw_consents_duplicate_ids_and_needs_customer_ids(validator: Validator) -> None:
    df = _consents({}, {"consent_id": "1"})
    _, reasons = _split(validator, df, "raw_consents", customer_ids=CUSTOMER_IDS)
    assert set(reasons) == {0, 1} and all("duplicate id" in r for r in reasons.values())
    with pytest.raises(SuiteConfigError, match="customer_ids"):
        validator.split(
            df, suite="raw_consents", table="consents", context=dict(SUITE_VOCABULARIES)
        )


# ------------------------------------------------------------------------------ requests

REQUEST_COLUMNS = [
    "request_id",
    "customer_id",
    "request_type",
    "requested_on",
    "field",
    "new_value",
    "status",
]


def _requests(*rows: tuple[str | None, str | None, str | None, str | None]) -> pd.DataFrame:
    """Rows of (request_type, requested_on, field, new_value)."""
    data = [
        (str(i + 1), str(i + 1), rtype, on, field, value, "pending")
        for i, (rtype, on, field, value) in enumerate(rows)
    ]
    return pd.DataFrame(data, columns=REQUEST_COLUMNS, dtype="str")


def test_raw_requests_honours_deletions_whatever_their_date_or_stray_field(
    validator: Validator,
) -> None:
    df = _requests(
        ("deletion", "2026-11-30", None, None),  # after the run date: still honoured
        ("deletion", "2031-01-01", "email", None),  # stray field: data-entry noise
        ("disclosure", "2026-01-01", "prefecture", "x"),
        ("correction", "2026-11-25", "gender", "F"),
        ("correction", "2000-01-01", "birth_date", "1990-01-01"),
        ("correction", "2026-01-01", "postal_code", "100-0001"),
    )
    clean, reasons = _split(validator, df, "raw_requests")
    assert reasons == {}
    assert clean["request_id"].tolist() == ["1", "2", "3", "4", "5", "6"]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (("correction", "2026-01-01", "prefecture", "東京都"), "field: not a correctable field"),
        (("correction", "2026-01-01", "email", "a@b.jp"), "field: not a correctable field"),
        (("correction", "2026-01-01", None, "F"), "field: missing in a correction"),
        (("correction", "2026-01-01", "gender", None), "new_value: missing in a correction"),
        (("deletion", "1999-12-31", None, None), "requested_on: implausible date"),
        (("deletion", "2026/11/20", None, None), "requested_on: not a valid date"),
        (("deletion", None, None, None), "requested_on: missing"),
        (("Deletion", "2026-01-01", None, None), "request_type: unknown request type"),
        ((None, "2026-01-01", None, None), "request_type: missing"),
    ],
)
def test_raw_requests_rejects_each_broken_rule(
    validator: Validator, row: tuple[str | None, ...], reason: str
) -> None:
    df = _requests(("deletion", "2026-01-01", None, None), row)  # type: ignore[arg-type]
    clean, reasons = _split(validator, df, "raw_requests")
    assert list(reasons) == [1], reasons
    assert reason in reasons[1]
    assert clean["request_id"].tolist() == ["1"]
    for value in row[1:]:
        if value is not None:
            assert value not in reasons[1]


def test_raw_requests_needs_no_run_date_upper_bound() -> None:
    spec = load_suite("raw_requests", parameters={"run_date": RUN_DATE, **SUITE_VOCABULARIES})
    for entry in spec.expectations:
        if entry["kwargs"].get("column") == "requested_on":
            assert entry["kwargs"].get("max_value") is None


def test_correctable_fields_are_the_transforms_single_constant() -> None:
    spec = load_suite("raw_requests", parameters=SUITE_VOCABULARIES)
    (in_set,) = [
        e
        for e in spec.expectations
        if e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"]["column"] == "field"
    ]
    assert set(in_set["kwargs"]["value_set"]) == set(CORRECTABLE)
    assert len(in_set["kwargs"]["value_set"]) == len(CORRECTABLE)


# ------------------------------------------------------------------------------ customers

CUSTOMER = {
    "customer_id": "1",
    "family_name": "a",
    "given_name": "b",
    "family_name_kana": "c",
    "given_name_kana": "d",
    "gender": "F",
    "birth_date": "1990-01-01",
    "postal_code": "100-0001",
    "prefecture": "東京都",
    "city": "e",
    "street_address": "f",
    "phone": "g",
    "email": "h",
    "registered_on": "2020-01-01",
    "home_store_id": "1",
}
PREFIXES = np.array(["001", "100", "150"])


def _customers(*changes: dict[str, str | None]) -> pd.DataFrame:
    rows = [{**CUSTOMER, "customer_id": str(i + 1), **c} for i, c in enumerate(changes)]
    return pd.DataFrame(rows, columns=list(CUSTOMER), dtype="str")


def test_raw_customers_birth_dates_cover_ages_0_to_120(validator: Validator) -> None:
    df = _customers(
        {"birth_date": "1906-11-24"},  # exactly 120 years before the run date
        {"birth_date": "2026-11-24"},  # born on the run date
        {"birth_date": "1906-11-23"},
        {"birth_date": "1900-01-01"},  # a common placeholder: age 126
        {"birth_date": "2026-11-25"},
    )
    clean, reasons = _split(validator, df, "raw_customers", postal_prefixes=PREFIXES)
    assert clean["customer_id"].tolist() == ["1", "2"]
    assert set(reasons) == {2, 3, 4}
    assert all("birth_date: implausible date" in r for r in reasons.values())
    for value in ("1906-11-23", "1900-01-01", "2026-11-25"):
        assert not any(value in r for r in reasons.values())


def test_birth_date_bound_of_a_29_february_run() -> None:
    spec = load_suite(
        "raw_customers", parameters={"run_date": dt.date(2020, 2, 29), **SUITE_VOCABULARIES}
    )
    bounds = [
        e["kwargs"]["min_value"]
        for e in spec.expectations
        if e["type"] == "expect_column_values_to_be_iso_dates_between"
        and e["kwargs"]["column"] == "birth_date"
    ]
    assert bounds == ["1900-02-28"]  # 1900 has no 29 February


def test_raw_customers_postal_prefix_known_when_given(validator: Validator) -> None:
    df = _customers(
        {"postal_code": "100-0001"},
        {"postal_code": "000-0000"},  # matches the format, no such prefix
        {"postal_code": "1000001"},  # the format rule's problem, not the prefix rule's
    )
    clean, reasons = _split(validator, df, "raw_customers", postal_prefixes=PREFIXES)
    assert clean["customer_id"].tolist() == ["1"]
    assert reasons[1] == "postal_code: unknown postal prefix (reference:postal_prefixes)"
    assert reasons[2] == (
        "postal_code: not a postal code NNN-NNNN (expect_column_values_to_match_regex)"
    )
    # integer prefixes (as read from a CSV without dtype) work the same
    _, as_numbers = _split(validator, df, "raw_customers", postal_prefixes=np.array([1, 100, 150]))
    assert as_numbers == reasons
    # no prefixes given: the prefix check is skipped, the format rule still applies
    clean, reasons = _split(validator, df, "raw_customers")
    assert clean["customer_id"].tolist() == ["1", "2"]
    assert list(reasons) == [2]
    outcome = validator.run(
        df, suite="raw_customers", parameters={"run_date": RUN_DATE, **SUITE_VOCABULARIES}
    )
    assert "reference:postal_prefixes" not in {f.expectation for f in outcome.failures}
    outcome = validator.run(
        df,
        suite="raw_customers",
        parameters={"run_date": RUN_DATE, "postal_prefixes": PREFIXES, **SUITE_VOCABULARIES},
    )
    failed = {f.expectation: f.unexpected_count for f in outcome.failures}
    assert failed["reference:postal_prefixes"] == 1
    assert "000-0000" not in str(outcome.to_json())


# ------------------------------------------------------------------- table-level rules


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (lambda df: df.drop(columns=["city"]), "city"),
        (lambda df: df.assign(nickname="x"), "nickname"),
        (lambda df: df.drop(columns=["city"]).iloc[:0], "city"),
    ],
    ids=["missing column", "unexpected column", "missing column of an empty table"],
)
def test_a_broken_column_set_fails_the_whole_table_with_the_rule_named(
    validator: Validator, frame, problem: str
) -> None:
    """Fail closed: a table-level rule names no row, so no row may come out clean."""
    df = frame(_customers({}, {"gender": "F"}))
    with pytest.raises(DataError) as err:
        validator.split(
            df,
            suite="raw_customers",
            table="customers",
            context={"run_date": RUN_DATE, **SUITE_VOCABULARIES},
        )
    assert type(err.value).__name__ == "TableRuleFailed"
    message = str(err.value)
    assert message.startswith("customers: table rule expect_table_columns_to_match_set")
    assert "raw_customers" in message and problem in message
    # run_validation flags the same rule on the same frame
    outcome = validator.run(
        df, suite="raw_customers", parameters={"run_date": RUN_DATE, **SUITE_VOCABULARIES}
    )
    assert "expect_table_columns_to_match_set" in {f.expectation for f in outcome.failures}
