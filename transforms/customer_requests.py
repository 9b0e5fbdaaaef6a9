"""Honour what customers asked for before anything is derived from their data.

Deletion requests and withdrawn consent to statistical use remove a customer from the run;
corrections replace the stored value. Both are applied as of the run date, so a rerun of an
old night gives the same result however many requests arrived since.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd

STATISTICS_PURPOSE = "statistics"
CORRECTABLE = ("gender", "birth_date", "postal_code")


@dataclass(frozen=True)
class RequestOutcome:
    """Customers after requests, who was excluded and why, and what was corrected."""

    customers: pd.DataFrame
    excluded: pd.DataFrame  # customer_id, reason
    corrections_applied: int
    corrections_rejected: pd.DataFrame  # request rows whose new value is invalid, with _reason


def _latest(frame: pd.DataFrame, /, *, by: str, order: list[str]) -> pd.DataFrame:
    return frame.sort_values([by, *order], kind="stable").drop_duplicates(by, keep="last")


def _valid_corrections(corrections: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    value = corrections["new_value"].astype("string")
    field = corrections["field"].astype("string")
    ok = pd.Series(False, index=corrections.index)
    ok |= (field == "gender") & value.isin(["F", "M", "X"])
    ok |= (field == "postal_code") & value.str.fullmatch(r"\d{3}-\d{4}").fillna(False)
    parsed = pd.to_datetime(value, format="%Y-%m-%d", errors="coerce")
    ok |= (field == "birth_date") & parsed.notna()
    reason = pd.Series("", index=corrections.index, dtype="string")
    reason = reason.mask(~field.isin(CORRECTABLE), "field: not a correctable field")
    reason = reason.mask(field.isin(CORRECTABLE) & ~ok, "new_value: not valid for its field")
    return corrections[ok.to_numpy()], reason[~ok.to_numpy()]


def apply_customer_requests(
    customers: pd.DataFrame,
    /,
    *,
    requests: pd.DataFrame,
    consents: pd.DataFrame,
    run_date: date,
) -> RequestOutcome:
    """Apply deletions, statistics opt-outs and corrections made on or before ``run_date``.

    A customer with no statistics consent record stays in: releasing statistics that cannot
    identify anyone is a stated purpose of the policy; an explicit withdrawal is honoured.
    """
    cutoff = pd.Timestamp(run_date)
    requests = requests[requests["requested_on"] <= cutoff]

    deletions = requests.loc[requests["request_type"] == "deletion", "customer_id"]
    latest_consent = _latest(
        consents[
            (consents["purpose"] == STATISTICS_PURPOSE)
            & (consents["recorded_at"].dt.tz_convert("Asia/Tokyo").dt.date <= run_date)
        ],
        by="customer_id",
        order=["recorded_at", "consent_id"],
    )
    withdrawn = latest_consent.loc[~latest_consent["granted"].astype(bool), "customer_id"]

    known = set(customers["customer_id"].tolist())
    deleted_ids = sorted(set(deletions.tolist()) & known)
    withdrawn_ids = sorted((set(withdrawn.tolist()) & known) - set(deleted_ids))
    excluded = pd.DataFrame(
        {
            "customer_id": pd.array(deleted_ids + withdrawn_ids, dtype="Int64"),
            "reason": ["deletion_request"] * len(deleted_ids)
            + ["statistics_consent_withdrawn"] * len(withdrawn_ids),
        }
    )

    kept = customers[~customers["customer_id"].isin(excluded["customer_id"])].copy()
    corrections = requests[requests["request_type"] == "correction"]
    valid, rejected_reason = _valid_corrections(corrections)
    valid = valid[valid["customer_id"].isin(kept["customer_id"])]
    latest = _latest(
        valid.assign(_key=valid["customer_id"].astype("string") + "|" + valid["field"]),
        by="_key",
        order=["requested_on", "request_id"],
    )
    applied = 0
    for field, group in latest.groupby("field", sort=True):
        updates: Mapping[int, str] = dict(
            zip(group["customer_id"], group["new_value"], strict=True)
        )
        mask = kept["customer_id"].isin(list(updates))
        new = kept.loc[mask, "customer_id"].map(updates)
        if field == "birth_date":
            new = pd.to_datetime(new, format="%Y-%m-%d").astype(kept["birth_date"].dtype)
        kept.loc[mask, field] = new.to_numpy()
        applied += int(mask.sum())
    rejected = corrections.loc[rejected_reason.index].assign(_reason=rejected_reason.to_numpy())
    return RequestOutcome(
        customers=kept.reset_index(drop=True),
        excluded=excluded,
        corrections_applied=applied,
        corrections_rejected=rejected.reset_index(drop=True),
    )
