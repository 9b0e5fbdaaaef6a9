from __future__ import annotations

from datetime import date

import pandas as pd

from pipeline.sources.schema import GENDERS
from transforms.customer_requests import apply_customer_requests

RUN = date(2026, 11, 24)


def _customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.array([1, 2, 3, 4, 5], dtype="Int64"),
            "gender": pd.array(["F", "F", "M", "F", "X"], dtype="string"),
            "birth_date": pd.to_datetime(
                ["1990-01-01", "1985-05-05", "1970-07-07", "2000-02-02", "1995-03-03"]
            ).astype("datetime64[s]"),
            "postal_code": pd.array(
                ["100-0001", "530-0001", "460-0001", "150-0001", "810-0001"], dtype="string"
            ),
        }
    )


def _requests(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows,
        columns=["request_id", "customer_id", "request_type", "requested_on", "field", "new_value"],
    )
    frame["requested_on"] = pd.to_datetime(frame["requested_on"]).astype("datetime64[s]")
    return frame


def _consents(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["consent_id", "customer_id", "purpose", "granted", "at"])
    frame["recorded_at"] = pd.to_datetime(frame.pop("at"), utc=True)
    return frame


def test_deletion_and_withdrawn_consent_exclude_customers() -> None:
    requests = _requests(
        [
            (1, 2, "deletion", "2026-11-01", None, None),
            (2, 3, "disclosure", "2026-11-01", None, None),
        ]
    )
    consents = _consents(
        [
            (1, 4, "statistics", True, "2024-01-01T00:00:00+09:00"),
            (2, 4, "statistics", False, "2025-01-01T00:00:00+09:00"),  # latest wins: out
            (3, 5, "statistics", False, "2024-01-01T00:00:00+09:00"),
            (4, 5, "statistics", True, "2025-06-01T00:00:00+09:00"),  # re-granted: in
            (5, 1, "mail_magazine", False, "2025-06-01T00:00:00+09:00"),  # other purpose
        ]
    )
    out = apply_customer_requests(
        _customers(), requests=requests, consents=consents, run_date=RUN, genders=GENDERS
    )
    assert out.customers["customer_id"].tolist() == [1, 3, 5]
    assert dict(zip(out.excluded["customer_id"], out.excluded["reason"], strict=True)) == {
        2: "deletion_request",
        4: "statistics_consent_withdrawn",
    }


def test_deletions_dated_after_the_run_date_are_still_honoured() -> None:
    requests = _requests([(1, 2, "deletion", "2026-11-25", None, None)])
    out = apply_customer_requests(
        _customers(), requests=requests, consents=_consents([]), run_date=RUN, genders=GENDERS
    )
    assert out.excluded["customer_id"].tolist() == [2]


def test_unreadable_requests_and_consents_exclude_their_customers() -> None:
    consents = _consents(
        [
            (1, 3, "statistics", None, "2025-01-01T00:00:00+09:00"),  # granted unreadable
            (2, 4, "statistics", True, None),  # timestamp unreadable
        ]
    )
    requests = _requests([(1, 5, None, "2026-11-01", None, None)])  # type unreadable
    quarantined = pd.DataFrame({"customer_id": [1], "reason": ["request_unreadable"]})
    out = apply_customer_requests(
        _customers(),
        requests=requests,
        consents=consents,
        run_date=RUN,
        genders=GENDERS,
        unreadable=quarantined,
    )
    assert dict(zip(out.excluded["customer_id"], out.excluded["reason"], strict=True)) == {
        1: "request_unreadable",
        3: "consent_unreadable",
        4: "consent_unreadable",
        5: "request_unreadable",
    }
    assert out.customers["customer_id"].tolist() == [2]


def test_a_customer_excluded_for_several_reasons_is_reported_once_with_the_strongest() -> None:
    requests = _requests([(1, 2, "deletion", "2026-11-01", "email", None)])
    quarantined = pd.DataFrame({"customer_id": [2], "reason": ["consent_unreadable"]})
    out = apply_customer_requests(
        _customers(),
        requests=requests,
        consents=_consents([]),
        run_date=RUN,
        genders=GENDERS,
        unreadable=quarantined,
    )
    assert out.excluded.to_dict("records") == [{"customer_id": 2, "reason": "deletion_request"}]


def test_corrections_apply_latest_valid_value_and_reject_invalid() -> None:
    requests = _requests(
        [
            (1, 1, "correction", "2026-10-01", "postal_code", "100-0002"),
            (2, 1, "correction", "2026-10-05", "postal_code", "100-0003"),  # later wins
            (3, 3, "correction", "2026-10-01", "birth_date", "1971-08-08"),
            (4, 4, "correction", "2026-10-01", "gender", "Q"),  # invalid value
            (5, 5, "correction", "2026-10-01", "email", "x@example.com"),  # not correctable
        ]
    )
    out = apply_customer_requests(
        _customers(), requests=requests, consents=_consents([]), run_date=RUN, genders=GENDERS
    )
    customers = out.customers.set_index("customer_id")
    assert customers.loc[1, "postal_code"] == "100-0003"
    assert customers.loc[3, "birth_date"] == pd.Timestamp("1971-08-08")
    assert customers.loc[4, "gender"] == "F"
    assert out.corrections_applied == 2
    assert out.corrections_superseded == 1
    assert sorted(out.corrections_rejected["request_id"].tolist()) == [4, 5]
    assert "x@example.com" not in " ".join(out.corrections_rejected["_reason"])


def test_an_invalid_latest_correction_is_rejected_without_falling_back() -> None:
    requests = _requests(
        [
            (1, 1, "correction", "2026-10-01", "birth_date", "1991-01-01"),
            (2, 1, "correction", "2026-10-05", "birth_date", "1890-01-01"),  # implausible, latest
            (3, 3, "correction", "2026-10-05", None, "F"),  # no field
            (4, 4, "correction", "2026-10-05", "birth_date", "2027-01-01"),  # after the run date
        ]
    )
    out = apply_customer_requests(
        _customers(), requests=requests, consents=_consents([]), run_date=RUN, genders=GENDERS
    )
    customers = out.customers.set_index("customer_id")
    assert customers.loc[1, "birth_date"] == pd.Timestamp("1990-01-01")
    assert out.corrections_applied == 0
    assert sorted(out.corrections_rejected["request_id"].tolist()) == [2, 3, 4]
