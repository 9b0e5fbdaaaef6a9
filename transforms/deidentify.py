"""Remove what names, locates or contacts a person, and derive the quasi-identifiers.

After this step no name, kana, street address, phone, email or free-text comment exists in
the data; customer ids are replaced by keyed pseudonyms; birth dates become ages at the run
date and postal codes their 3-digit area prefix. Everything later works on this output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from transforms.pseudonymize import pseudonymize

CUSTOMER_DOMAIN = "customer"
NO_VISIT = "none"


@dataclass(frozen=True)
class Deidentified:
    """The de-identified tables a release is built from."""

    customers: pd.DataFrame  # pseudonym, gender, age, postal_code, main_course, visits
    usage: pd.DataFrame  # pseudonym, visit_date, store_id, course_category, amount_yen
    questionnaires: pd.DataFrame  # pseudonym, answered_on, satisfaction_*, channel


def age_at(birth_dates: pd.Series, /, *, on: date) -> pd.Series:
    """Whole years of age on ``on`` (the run date, never the clock)."""
    births = pd.to_datetime(birth_dates)
    before_birthday = (births.dt.month > on.month) | (
        (births.dt.month == on.month) & (births.dt.day > on.day)
    )
    return (on.year - births.dt.year - before_birthday.astype(int)).astype("Int64")


def main_course(usage: pd.DataFrame, /) -> pd.Series:
    """Each customer's most used course; ties go to the alphabetically first course."""
    counts = usage.groupby(["customer_id", "course_category"], sort=True).size()
    counts = counts.reset_index(name="n").sort_values(
        ["customer_id", "n", "course_category"], ascending=[True, False, True], kind="stable"
    )
    first = counts.drop_duplicates("customer_id")
    return first.set_index("customer_id")["course_category"]


def as_of(
    customers: pd.DataFrame, /, *, usage: pd.DataFrame, cutoff: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The customers registered, and the visits made, on or before ``cutoff``.

    A release series describes its period's cut-off, not the night it runs: deletions and
    opt-outs made since are honoured (they were applied before), later registrations and
    visits wait for the next period.
    """
    limit = pd.Timestamp(cutoff)
    registered = pd.to_datetime(customers["registered_on"]) <= limit
    visited = pd.to_datetime(usage["visit_date"]) <= limit
    return (
        customers[registered.to_numpy()].reset_index(drop=True),
        usage[visited.to_numpy()].reset_index(drop=True),
    )


def deidentify(
    customers: pd.DataFrame,
    /,
    *,
    usage: pd.DataFrame,
    questionnaires: pd.DataFrame,
    key: bytes,
    run_date: date,
    carry: Sequence[str] = (),
) -> Deidentified:
    """Drop direct identifiers and pseudonymize; only rows of ``customers`` survive.

    Usage and questionnaire rows of customers not in ``customers`` (deleted, opted out,
    quarantined) are dropped here as well, so no excluded person reaches any table.
    ``carry`` names customer columns copied to the profile as they are: the consent flags
    (``consent_<purpose>``, booleans) that say which datasets a customer may enter.
    """
    ids = customers["customer_id"]
    usage = usage[usage["customer_id"].isin(ids)]
    questionnaires = questionnaires[questionnaires["customer_id"].isin(ids)]
    tokens = pd.Series(
        pseudonymize(ids, key=key, domain=CUSTOMER_DOMAIN).to_numpy(), index=ids.to_numpy()
    )

    courses = main_course(usage)
    visits = usage.groupby("customer_id").size()
    profile = pd.DataFrame(
        {
            "pseudonym": tokens.to_numpy(),
            "gender": customers["gender"].astype("string").to_numpy(),
            "age": age_at(customers["birth_date"], on=run_date).to_numpy(),
            "postal_code": customers["postal_code"].astype("string").str[:3].to_numpy(),
            "main_course": ids.map(courses).fillna(NO_VISIT).astype("string").to_numpy(),
            "visits": ids.map(visits).fillna(0).astype(np.int64).to_numpy(),
            **{c: customers[c].to_numpy() for c in carry},
        }
    )
    usage_out = pd.DataFrame(
        {
            "pseudonym": usage["customer_id"].map(tokens).to_numpy(),
            "visit_date": usage["visit_date"].to_numpy(),
            "store_id": usage["store_id"].to_numpy(),
            "course_category": usage["course_category"].astype("string").to_numpy(),
            "amount_yen": usage["amount_yen"].to_numpy(),
        }
    )
    satisfaction = [c for c in questionnaires.columns if c.startswith("satisfaction_")]
    questionnaires_out = pd.DataFrame(
        {
            "pseudonym": questionnaires["customer_id"].map(tokens).to_numpy(),
            "answered_on": questionnaires["answered_on"].to_numpy(),
            **{c: questionnaires[c].to_numpy() for c in satisfaction},
            "channel": questionnaires["channel"].astype("string").to_numpy(),
        }
    )
    return Deidentified(customers=profile, usage=usage_out, questionnaires=questionnaires_out)


def deidentify_activity(
    rows: pd.DataFrame, /, *, customer_ids: pd.Series, key: bytes, keep: tuple[str, ...]
) -> pd.DataFrame:
    """Rows of the customers in ``customer_ids`` with the customer id replaced by its
    pseudonym and only the ``keep`` columns (campaign applications, subscriptions: no email).
    """
    rows = rows[rows["customer_id"].isin(customer_ids)]
    ids = rows["customer_id"]
    tokens = pseudonymize(ids, key=key, domain=CUSTOMER_DOMAIN)
    out = pd.DataFrame({"pseudonym": tokens.to_numpy()})
    for column in keep:
        out[column] = rows[column].to_numpy()
    return out
