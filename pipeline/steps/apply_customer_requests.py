"""apply_customer_requests: honour deletions, opt-outs and corrections; fail closed."""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipeline.run.context import RunContext
from pipeline.sources.schema import GENDERS
from pipeline.steps.validate_raw import (
    UnreadableRequestError,
    quarantined_customer_ids,
)
from pipeline.steps.zone_io import finish, read, write
from transforms.customer_requests import UNREADABLE_CONSENT, UNREADABLE_REQUEST
from transforms.customer_requests import apply_customer_requests as apply_requests

__all__ = ["UnreadableRequestError", "apply_customer_requests"]


def _unreadable(ctx: RunContext) -> pd.DataFrame:
    """Customers whose request or consent rows were quarantined (they will be excluded)."""
    frames = []
    for table, reason in (
        ("customer_requests", UNREADABLE_REQUEST),
        ("consents", UNREADABLE_CONSENT),
    ):
        ids = quarantined_customer_ids(ctx, table)  # validate_raw has checked them all
        frames.append(pd.DataFrame({"customer_id": ids.astype("int64"), "reason": reason}))
    return pd.concat(frames, ignore_index=True)


def apply_customer_requests(ctx: RunContext) -> dict[str, Any]:
    """Remove deleted, opted-out and unreadable customers (and all their rows); correct."""
    customers = read(ctx, "clean", "customers")
    outcome = apply_requests(
        customers,
        requests=read(ctx, "clean", "customer_requests"),
        consents=read(ctx, "clean", "consents"),
        run_date=ctx.run_date,
        genders=GENDERS,
        unreadable=_unreadable(ctx),
    )
    excluded_ids = outcome.excluded["customer_id"]
    rows_excluded = {"customers": len(customers) - len(outcome.customers)}
    write(ctx, "clean", "customers_current", outcome.customers)
    for table in ("service_usage", "questionnaire_responses"):
        df = read(ctx, "clean", table)
        drop = df["customer_id"].isin(excluded_ids)
        rows_excluded[table] = int(drop.sum())
        write(ctx, "clean", f"{table}_current", df[~drop].reset_index(drop=True))
    write(ctx, "quarantine", "customer_requests_corrections", outcome.corrections_rejected)
    report = {
        "customers_excluded": outcome.excluded["reason"].value_counts().sort_index().to_dict(),
        "rows_excluded": rows_excluded,
        "corrections_applied": outcome.corrections_applied,
        "corrections_rejected": len(outcome.corrections_rejected),
        "corrections_superseded": outcome.corrections_superseded,
        "corrections_of_excluded_customers": outcome.corrections_not_applied,
    }
    return finish(ctx, "apply_customer_requests", report)
