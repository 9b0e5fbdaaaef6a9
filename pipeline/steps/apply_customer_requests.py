"""apply_customer_requests: honour deletions, opt-outs and corrections; fail closed.

Every deletion request also leaves a tombstone (``pipeline.rights.tombstones``), and every
tombstoned customer is excluded, with all their rows, even when the request itself is no
longer in the source (a backup restored from before it).
"""

from __future__ import annotations

import pandas as pd

from pipeline.rights.disclosure_requests import answer_disclosure_requests
from pipeline.rights.tombstones import (
    FROM_REQUEST_TABLE,
    customer_pseudonyms,
    read_tombstones,
    record_tombstones,
)
from pipeline.run.context import RunContext
from pipeline.run.step_reports import (
    ApplyCustomerRequestsReport,
    ConsentCounts,
    DisclosureCounts,
    TombstoneCounts,
)
from pipeline.settings.keys import demo_mode, load_hmac_key
from pipeline.sources.schema import GENDERS
from pipeline.steps.validate_raw import (
    UnreadableRequestError,
    quarantined_customer_ids,
)
from pipeline.steps.zone_io import finish, read, write
from transforms.customer_requests import (
    DELETION_REQUEST,
    UNREADABLE_CONSENT,
    UNREADABLE_REQUEST,
    consent_column,
    consent_flags,
)
from transforms.customer_requests import apply_customer_requests as apply_requests

__all__ = ["UnreadableRequestError", "apply_customer_requests"]

TOMBSTONED = "tombstoned"  # exclusion reason: deleted earlier, the request no longer seen


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


def apply_customer_requests(ctx: RunContext) -> ApplyCustomerRequestsReport:
    """Remove deleted, opted-out and unreadable customers (and all their rows); correct;
    flag each customer's consent to the purposes of third-party datasets; answer pending
    disclosure requests (``pipeline.rights.disclosure_requests``)."""
    customers = read(ctx, "clean", "customers")
    requests = read(ctx, "clean", "customer_requests")
    key = load_hmac_key(demo=demo_mode())
    deleted = requests.loc[requests["request_type"] == DELETION_REQUEST, "customer_id"]
    new_tombstones = record_tombstones(
        ctx.config.workdir,
        customer_pseudonyms(deleted.dropna().drop_duplicates(), key=key),
        key=key,
        origin=FROM_REQUEST_TABLE,
        run_id=ctx.run_id,
    )
    tombstones = read_tombstones(ctx.config.workdir, key=key)
    consents = read(ctx, "clean", "consents")
    outcome = apply_requests(
        customers,
        requests=requests,
        consents=consents,
        run_date=ctx.run_date,
        genders=GENDERS,
        unreadable=_unreadable(ctx),
    )
    kept = outcome.customers
    buried = customer_pseudonyms(kept["customer_id"], key=key).isin(tombstones).to_numpy()
    tombstoned_ids = kept.loc[buried, "customer_id"]
    kept = kept[~buried].reset_index(drop=True)
    excluded = pd.concat(
        [outcome.excluded, pd.DataFrame({"customer_id": tombstoned_ids, "reason": TOMBSTONED})],
        ignore_index=True,
    )
    excluded_ids = excluded["customer_id"]
    rows_excluded = {"customers": len(customers) - len(kept)}
    tombstoned = {"customers": len(tombstoned_ids)}
    policy = ctx.config.consent
    flags = consent_flags(
        kept["customer_id"],
        consents=consents,
        purposes=policy.flag_purposes(),
        granted_without_record=policy.granted_without_record,
    )
    kept = pd.concat([kept, flags.drop(columns="customer_id")], axis=1)
    consented = {
        p: ConsentCounts(
            granted=int(kept[consent_column(p)].sum()),
            not_granted=int((~kept[consent_column(p)]).sum()),
        )
        for p in policy.flag_purposes()
    }
    write(ctx, "clean", "customers_current", kept)
    for table in ("service_usage", "questionnaire_responses"):
        df = read(ctx, "clean", table)
        drop = df["customer_id"].isin(excluded_ids)
        rows_excluded[table] = int(drop.sum())
        tombstoned[table] = int(df["customer_id"].isin(tombstoned_ids).sum())
        write(ctx, "clean", f"{table}_current", df[~drop].reset_index(drop=True))
    write(ctx, "quarantine", "customer_requests_corrections", outcome.corrections_rejected)
    answers = answer_disclosure_requests(
        ctx.run_dir, workdir=ctx.config.workdir, key=key, run_id=ctx.run_id
    )
    report = ApplyCustomerRequestsReport(
        customers_excluded=excluded["reason"].value_counts().sort_index().to_dict(),
        rows_excluded=rows_excluded,
        tombstoned=tombstoned,
        tombstones=TombstoneCounts(recorded=len(new_tombstones), total=len(tombstones)),
        # Customers in the run by their latest consent to each purpose besides statistics:
        # those not granted stay in internal statistics and leave that purpose's datasets.
        consent=consented,
        # Pending disclosure requests, answered into the run's owner-only disclosures/ folder.
        disclosures=DisclosureCounts(
            answered=answers.answered,
            unknown_customer=answers.unknown_customer,
            unreadable=answers.unreadable,
        ),
        corrections_applied=outcome.corrections_applied,
        corrections_rejected=len(outcome.corrections_rejected),
        corrections_superseded=outcome.corrections_superseded,
        corrections_of_excluded_customers=outcome.corrections_not_applied,
    )
    return finish(ctx, report)
