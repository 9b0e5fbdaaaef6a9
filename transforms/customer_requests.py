"""Honour what customers asked for before anything is derived from their data.

Deletion requests and withdrawn consent to statistical use remove a customer from the run;
corrections replace the stored value. Every request in the snapshot is honoured, whatever the
run date: a rerun of an old night published today must respect today's deletions. Fail
closed: a customer whose request or consent record could not be read is excluded too, since
we cannot prove they did not ask to be left out.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

import pandas as pd

from transforms.parse import REASON_COLUMN

# Words of the source vocabularies (pipeline.sources.schema) that these rules act on.
STATISTICS_PURPOSE = "statistics"
DELETION_REQUEST = "deletion"
CORRECTION_REQUEST = "correction"
# The customer fields a correction request may change, each with its rule below (the
# raw_requests suite receives the same tuple through the schema).
CORRECTABLE: tuple[str, ...] = ("gender", "birth_date", "postal_code")
MAX_AGE_YEARS = 120

# Exclusion reasons, strongest first: a customer excluded for several is reported once.
DELETION = "deletion_request"
WITHDRAWN = "statistics_consent_withdrawn"
UNREADABLE_REQUEST = "request_unreadable"
UNREADABLE_CONSENT = "consent_unreadable"
REASONS = (DELETION, WITHDRAWN, UNREADABLE_REQUEST, UNREADABLE_CONSENT)
# The boolean column that says a customer's latest consent for a purpose is granted
# (``consent_partner_marketing``): datasets for a purpose are built from the customers whose
# column is set (pipeline.release.purposes).
CONSENT_COLUMN_PREFIX = "consent_"


def consent_column(purpose: str) -> str:
    """The name of the boolean column of one consent purpose."""
    return f"{CONSENT_COLUMN_PREFIX}{purpose}"


@dataclass(frozen=True)
class RequestOutcome:
    """Customers after requests, who was excluded and why, and what became of corrections."""

    customers: pd.DataFrame
    excluded: pd.DataFrame  # customer_id, reason
    corrections_applied: int
    corrections_rejected: pd.DataFrame  # the latest invalid correction per field, + _reason
    corrections_superseded: int  # older corrections of the same field
    corrections_not_applied: int  # corrections of customers excluded from the run


def _latest(frame: pd.DataFrame, /, *, by: list[str], order: list[str]) -> pd.DataFrame:
    return frame.sort_values([*by, *order], kind="stable").drop_duplicates(by, keep="last")


def correction_problems(
    corrections: pd.DataFrame, /, *, run_date: date, genders: Collection[str]
) -> pd.Series:
    """Why each correction cannot be applied ("" when it can); names the field, not the value.

    ``genders``: the source's gender vocabulary (``pipeline.sources.schema.GENDERS``).
    """
    field = corrections["field"].astype("string")
    value = corrections["new_value"].astype("string")
    correctable = field.isin(CORRECTABLE).fillna(False)
    born = pd.to_datetime(value, format="%Y-%m-%d", errors="coerce")
    earliest = pd.Timestamp(run_date) - pd.DateOffset(years=MAX_AGE_YEARS)
    ok = (
        ((field == "gender") & value.isin(list(genders)))
        | ((field == "postal_code") & value.str.fullmatch(r"\d{3}-\d{4}"))
        | ((field == "birth_date") & born.between(earliest, pd.Timestamp(run_date)))
    ).fillna(False)
    problems = pd.Series("", index=corrections.index, dtype="string")
    problems = problems.mask(~correctable, "field: not a correctable field")
    return problems.mask(correctable & ~ok, "new_value: not valid for its field")


def _exclusions(
    customers: pd.DataFrame,
    requests: pd.DataFrame,
    consents: pd.DataFrame,
    unreadable: pd.DataFrame,
) -> pd.DataFrame:
    deleted = requests.loc[requests["request_type"] == DELETION_REQUEST, "customer_id"]
    statistics = consents[consents["purpose"] == STATISTICS_PURPOSE]
    broken = statistics["granted"].isna() | statistics["recorded_at"].isna()
    latest = _latest(statistics[~broken], by=["customer_id"], order=["recorded_at", "consent_id"])
    withdrawn = latest.loc[~latest["granted"].astype(bool), "customer_id"]
    untyped = requests.loc[requests["request_type"].isna(), "customer_id"]
    candidates = pd.concat(
        [
            pd.DataFrame({"customer_id": deleted, "reason": DELETION}),
            pd.DataFrame({"customer_id": withdrawn, "reason": WITHDRAWN}),
            pd.DataFrame({"customer_id": untyped, "reason": UNREADABLE_REQUEST}),
            pd.DataFrame({"customer_id": statistics.loc[broken, "customer_id"]}).assign(
                reason=UNREADABLE_CONSENT
            ),
            unreadable[["customer_id", "reason"]],
        ],
        ignore_index=True,
    )
    candidates = candidates[candidates["customer_id"].isin(customers["customer_id"])]
    rank = candidates["reason"].map({r: i for i, r in enumerate(REASONS)})
    strongest = (
        candidates.assign(_rank=rank)
        .sort_values(["customer_id", "_rank"], kind="stable")
        .drop_duplicates("customer_id")
    )
    return pd.DataFrame(
        {
            "customer_id": pd.array(strongest["customer_id"].to_numpy(), dtype="Int64"),
            "reason": strongest["reason"].to_numpy(),
        }
    ).reset_index(drop=True)


def consent_flags(
    customer_ids: pd.Series,
    /,
    *,
    consents: pd.DataFrame,
    purposes: Collection[str],
    granted_without_record: Collection[str] = (),
) -> pd.DataFrame:
    """One boolean column per purpose: is the customer's latest consent for it granted?

    The latest record counts (by ``recorded_at``, ties broken by ``consent_id``), so a
    withdrawal after a grant clears the flag and a grant after a withdrawal sets it again. A
    customer with no record for a purpose is granted only when the purpose is in
    ``granted_without_record``. Fail closed: a customer with a record of that purpose whose
    ``granted`` or ``recorded_at`` is unreadable is not granted, since we cannot prove what
    they chose. Rows come out in the order of ``customer_ids``.
    """
    ids = customer_ids.to_numpy()
    out = pd.DataFrame({"customer_id": ids})
    for purpose in sorted(set(purposes)):
        rows = consents[consents["purpose"] == purpose]
        broken = rows["granted"].isna() | rows["recorded_at"].isna()
        latest = _latest(rows[~broken], by=["customer_id"], order=["recorded_at", "consent_id"])
        granted = dict(zip(latest["customer_id"], latest["granted"].astype(bool), strict=True))
        unknown = purpose in granted_without_record
        flag = pd.Series(ids).map(granted).astype("boolean").fillna(unknown)
        unreadable = pd.Series(ids).isin(rows.loc[broken, "customer_id"])
        out[consent_column(purpose)] = (flag & ~unreadable).astype(bool).to_numpy()
    return out


def apply_customer_requests(
    customers: pd.DataFrame,
    /,
    *,
    requests: pd.DataFrame,
    consents: pd.DataFrame,
    run_date: date,
    genders: Collection[str],
    unreadable: pd.DataFrame | None = None,
) -> RequestOutcome:
    """Apply every deletion, statistics opt-out and correction in the snapshot.

    ``unreadable`` (customer_id, reason) lists customers whose request or consent rows were
    quarantined: they are excluded. A customer with no statistics consent record stays in:
    releasing statistics that cannot identify anyone is a stated purpose of the policy; an
    explicit withdrawal is honoured. For each customer and field only the latest correction
    counts; if it is invalid it is rejected and no older value is applied instead.
    """
    if unreadable is None:
        unreadable = pd.DataFrame({"customer_id": [], "reason": []})
    excluded = _exclusions(customers, requests, consents, unreadable)
    kept = customers[~customers["customer_id"].isin(excluded["customer_id"])].copy()

    corrections = requests[requests["request_type"] == CORRECTION_REQUEST]
    for_kept = corrections["customer_id"].isin(kept["customer_id"])
    latest = _latest(
        corrections[for_kept].assign(_field=corrections["field"].fillna("")),
        by=["customer_id", "_field"],
        order=["requested_on", "request_id"],
    ).drop(columns="_field")
    problems = correction_problems(latest, run_date=run_date, genders=genders)
    valid = latest[(problems == "").to_numpy()]
    applied = 0
    for field, group in valid.groupby("field", sort=True):
        updates = dict(zip(group["customer_id"], group["new_value"], strict=True))
        mask = kept["customer_id"].isin(list(updates))
        new = kept.loc[mask, "customer_id"].map(updates)
        if field == "birth_date":
            new = pd.to_datetime(new, format="%Y-%m-%d").astype(kept["birth_date"].dtype)
        kept.loc[mask, field] = new.to_numpy()
        applied += int(mask.sum())
    rejected = latest[(problems != "").to_numpy()]
    rejected = rejected.assign(**{REASON_COLUMN: problems[problems != ""].to_numpy()})
    return RequestOutcome(
        customers=kept.reset_index(drop=True),
        excluded=excluded,
        corrections_applied=applied,
        corrections_rejected=rejected.reset_index(drop=True),
        corrections_superseded=int(for_kept.sum()) - len(latest),
        corrections_not_applied=int((~for_kept).sum()),
    )
