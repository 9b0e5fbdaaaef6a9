"""The steps of a release, as plain functions of a RunContext.

The Airflow DAG and the ``anonrelease run`` command call exactly these functions in the same
order, so a nightly run and a manual run write the same bytes. Each step reads the previous
step's files, writes its own zone of the run folder, and returns a small JSON-able report.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from pipeline import audit
from pipeline.extract import extract_all
from pipeline.keys import load_hmac_key
from pipeline.publish import withdraw_run
from pipeline.release_datasets import (
    anonymize_customers,
    build_candidates,
    gate,
    hierarchies,
    publish_allowed,
)
from pipeline.run_context import RunContext
from pipeline.source_schema import SOURCE_TABLES
from pipeline.validate_raw import validate_table
from transforms.customer_requests import UNREADABLE_CONSENT, UNREADABLE_REQUEST
from transforms.customer_requests import apply_customer_requests as apply_requests
from transforms.deidentify import deidentify as deidentify_tables
from transforms.parse import dated_after
from transforms.web_totals import daily_visit_totals

STEPS = (
    "extract",
    "validate_raw",
    "apply_customer_requests",
    "deidentify",
    "anonymize",
    "build_tables",
    "validate_release",
    "publish",
)

RAW_SUITES = {
    "customers": "raw_customers",
    "service_usage": "raw_usage",
    "questionnaire_responses": "raw_questionnaires",
    "customer_requests": "raw_requests",
    "consents": "raw_consents",
}
# Tables whose rows belong to a customer: validated against the clean customers.
CUSTOMER_OWNED = (
    "service_usage",
    "questionnaire_responses",
    "campaign_applications",
    "mail_subscriptions",
    "consents",
    "customer_requests",
)
# Rows dated after the run date are not yet in scope for that night (a backfill or a rerun
# of an old night sees newer rows in today's snapshot): excluded and counted, not quarantined.
SCOPE_DATES = {
    "customers": "registered_on",
    "service_usage": "visit_date",
    "questionnaire_responses": "answered_on",
}
# Quasi-identifiers that tables and the engine generalize through the shipped hierarchies.
HIERARCHY_COLUMNS = ("age", "gender", "postal_code")


class QuarantineThresholdExceeded(Exception):
    """Too much of a table was rejected: the source is broken, not a few rows."""

    def __init__(self, table: str, rejected: int, total: int, threshold: float) -> None:
        super().__init__(
            f"{table}: {rejected} of {total} rows quarantined, above the threshold "
            f"{threshold:.1%}; fix the source or raise quarantine_threshold"
        )
        self.table, self.rejected, self.total, self.threshold = table, rejected, total, threshold


class UnreadableRequestError(Exception):
    """A quarantined request or consent row has no readable customer id: we cannot tell whom
    to exclude, so nothing may be released."""

    def __init__(self, table: str, rows: int) -> None:
        super().__init__(f"{table}: {rows} quarantined row(s) without a readable customer_id")
        self.table, self.rows = table, rows


def _read(ctx: RunContext, zone: str, name: str) -> pd.DataFrame:
    return pd.read_parquet(ctx.run_dir / zone / f"{name}.parquet")


def _write(ctx: RunContext, zone: str, name: str, df: pd.DataFrame) -> None:
    df.to_parquet(ctx.zone(zone) / f"{name}.parquet", index=False)


def _finish(ctx: RunContext, step: str, report: dict[str, Any]) -> dict[str, Any]:
    ctx.write_report(step, report)
    audit.record(ctx.config.workdir, run_id=ctx.run_id, event=f"{step}.done", **report)
    return report


def extract(ctx: RunContext) -> dict[str, Any]:
    """Start the run afresh, pin its config, and snapshot every source table as text.

    Whatever an earlier attempt of this run published is withdrawn first: if this attempt
    fails anywhere, nothing half-checked or stale stays published for the night.
    """
    withdrawn = withdraw_run(ctx.config.release_root, ctx.run_id)
    for folder in withdrawn:
        audit.record(
            ctx.config.workdir, run_id=ctx.run_id, event="release.withdrawn", folder=folder
        )
    ctx.reset()
    ctx = ctx.pin()
    snapshots = extract_all(ctx.config.source_url, ctx.zone("raw"))
    report = {"rows_read": {s.table: s.rows for s in snapshots}, "withdrawn": withdrawn}
    return _finish(ctx, "extract", report)


def validate_raw(ctx: RunContext) -> dict[str, Any]:
    """Quarantine rows that break the raw suites or do not parse.

    Per table: in = clean + quarantined + out_of_scope (dated after the run date).
    """
    prefixes = np.asarray(sorted(hierarchies(("postal_code",))["postal_code"].leaves))
    # Rows of customers who registered after the run date are out of scope with them.
    raw_customers = _read(ctx, "raw", "customers")
    later = dated_after(raw_customers["registered_on"], ctx.run_date)
    later_customers = frozenset(raw_customers.loc[later, "customer_id"].dropna())
    tables: dict[str, dict[str, int]] = {}
    customer_ids = None
    for table in ("customers", *[t for t in SOURCE_TABLES if t != "customers"]):
        context: dict[str, object] = {"run_date": ctx.run_date}
        if table == "customers":
            context["postal_prefixes"] = prefixes
        if table in CUSTOMER_OWNED:
            context["customer_ids"] = customer_ids
        counts, clean = validate_table(
            ctx,
            table,
            suite=RAW_SUITES.get(table),
            context=context,
            scope_column=SCOPE_DATES.get(table),
            out_of_scope_customers=later_customers if table in CUSTOMER_OWNED else frozenset(),
        )
        if table == "customers":
            customer_ids = clean["customer_id"].to_numpy()
        tables[table] = counts
    report = {"tables": tables}
    threshold = ctx.config.quarantine_threshold
    for table, c in tables.items():
        if c["in"] and c["quarantined"] / c["in"] > threshold:
            ctx.write_report("validate_raw", report)
            raise QuarantineThresholdExceeded(table, c["quarantined"], c["in"], threshold)
    return _finish(ctx, "validate_raw", report)


def _unreadable(ctx: RunContext) -> pd.DataFrame:
    """Customers whose request or consent rows were quarantined (they will be excluded)."""
    frames = []
    for table, reason in (
        ("customer_requests", UNREADABLE_REQUEST),
        ("consents", UNREADABLE_CONSENT),
    ):
        rejected = _read(ctx, "quarantine", table)
        ids = pd.to_numeric(rejected["customer_id"], errors="coerce")
        if ids.isna().any():
            raise UnreadableRequestError(table, int(ids.isna().sum()))
        frames.append(pd.DataFrame({"customer_id": ids.astype("int64"), "reason": reason}))
    return pd.concat(frames, ignore_index=True)


def apply_customer_requests(ctx: RunContext) -> dict[str, Any]:
    """Remove deleted, opted-out and unreadable customers (and all their rows); correct."""
    customers = _read(ctx, "clean", "customers")
    outcome = apply_requests(
        customers,
        requests=_read(ctx, "clean", "customer_requests"),
        consents=_read(ctx, "clean", "consents"),
        run_date=ctx.run_date,
        unreadable=_unreadable(ctx),
    )
    excluded_ids = outcome.excluded["customer_id"]
    rows_excluded = {"customers": len(customers) - len(outcome.customers)}
    _write(ctx, "clean", "customers_current", outcome.customers)
    for table in ("service_usage", "questionnaire_responses"):
        df = _read(ctx, "clean", table)
        drop = df["customer_id"].isin(excluded_ids)
        rows_excluded[table] = int(drop.sum())
        _write(ctx, "clean", f"{table}_current", df[~drop].reset_index(drop=True))
    _write(ctx, "quarantine", "customer_requests_corrections", outcome.corrections_rejected)
    report = {
        "customers_excluded": outcome.excluded["reason"].value_counts().sort_index().to_dict(),
        "rows_excluded": rows_excluded,
        "corrections_applied": outcome.corrections_applied,
        "corrections_rejected": len(outcome.corrections_rejected),
        "corrections_superseded": outcome.corrections_superseded,
        "corrections_of_excluded_customers": outcome.corrections_not_applied,
    }
    return _finish(ctx, "apply_customer_requests", report)


def _unmapped(customers: pd.DataFrame, ctx: RunContext) -> pd.Series:
    """Why a customer's quasi-identifier is not a leaf of its hierarchy ("" when all are)."""
    trees = hierarchies(HIERARCHY_COLUMNS)
    reasons = pd.Series("", index=customers.index, dtype="string")
    for column in HIERARCHY_COLUMNS:
        leaves = set(trees[column].leaves)
        outside = ~customers[column].astype("string").isin(leaves).fillna(False)
        reasons = reasons.mask(outside, reasons + f"{column}: outside its hierarchy; ")
    return reasons.str.rstrip("; ")


def deidentify(ctx: RunContext) -> dict[str, Any]:
    """Drop direct identifiers, pseudonymize ids with the keyed HMAC, derive ages.

    A customer whose derived quasi-identifiers fall outside the shipped hierarchies (an age
    over 120 after a correction, an unassigned postal prefix) is quarantined with all their
    rows, so one odd value cannot stop the night.
    """
    key = load_hmac_key(demo=os.environ.get("ANONRELEASE_DEMO") == "1")
    out = deidentify_tables(
        _read(ctx, "clean", "customers_current"),
        usage=_read(ctx, "clean", "service_usage_current"),
        questionnaires=_read(ctx, "clean", "questionnaire_responses_current"),
        key=key,
        run_date=ctx.run_date,
    )
    reasons = _unmapped(out.customers, ctx)
    bad = (reasons != "").to_numpy()
    bad_tokens = out.customers.loc[bad, "pseudonym"]
    _write(
        ctx,
        "quarantine",
        "customers_outside_hierarchies",
        pd.DataFrame({"pseudonym": bad_tokens.to_numpy(), "_reason": reasons[bad].to_numpy()}),
    )
    customers = out.customers[~bad].reset_index(drop=True)
    usage_bad = out.usage["pseudonym"].isin(bad_tokens)
    answers_bad = out.questionnaires["pseudonym"].isin(bad_tokens)
    _write(ctx, "deidentified", "customers", customers)
    _write(ctx, "deidentified", "usage", out.usage[~usage_bad].reset_index(drop=True))
    _write(
        ctx,
        "deidentified",
        "questionnaires",
        out.questionnaires[~answers_bad].reset_index(drop=True),
    )
    visits = daily_visit_totals(_read(ctx, "clean", "web_access_log"), timezone=ctx.config.timezone)
    _write(ctx, "deidentified", "web_visits_daily", visits)  # internal only, never a candidate
    report = {
        "rows": {
            "customers": len(customers),
            "usage": int((~usage_bad).sum()),
            "questionnaires": int((~answers_bad).sum()),
        },
        "quarantined_outside_hierarchies": {
            "customers": int(bad.sum()),
            "usage": int(usage_bad.sum()),
            "questionnaires": int(answers_bad.sum()),
        },
        "web_page_views": int(visits["page_views"].sum()),
    }
    return _finish(ctx, "deidentify", report)


def anonymize(ctx: RunContext) -> dict[str, Any]:
    """Optimal generalization of the customer profile under the configured privacy profile."""
    return _finish(ctx, "anonymize", anonymize_customers(ctx))


def build_tables(ctx: RunContext) -> dict[str, Any]:
    """Statistical tables and the released microdata, as candidate files for the gate."""
    return _finish(ctx, "build_tables", build_candidates(ctx))


def validate_release(ctx: RunContext) -> dict[str, Any]:
    """Check every candidate against the profile and each recipient's minimum; fail closed."""
    report = gate(ctx)
    _finish(ctx, "validate_release", report)
    return report


def publish(ctx: RunContext) -> dict[str, Any]:
    """Publish only what the gate allowed, per recipient, with a manifest written last."""
    return _finish(ctx, "publish", publish_allowed(ctx))
