"""The steps of a release, as plain functions of a RunContext.

The Airflow DAG and the ``anonrelease run`` command call exactly these functions in the same
order, so a nightly run and a manual run write the same bytes. Each step reads the previous
step's files, writes its own zone of the run folder, and returns a small JSON-able report.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from pipeline import audit
from pipeline.run_context import RunContext
from pipeline.source_schema import SOURCE_TABLES

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


class QuarantineThresholdExceeded(Exception):
    """Too much of a table was rejected: the source is broken, not a few rows."""

    def __init__(self, table: str, rejected: int, total: int, threshold: float) -> None:
        super().__init__(
            f"{table}: {rejected} of {total} rows quarantined, above the threshold "
            f"{threshold:.1%}; fix the source or raise quarantine_threshold"
        )
        self.table, self.rejected, self.total, self.threshold = table, rejected, total, threshold


def _read(ctx: RunContext, zone: str, name: str) -> pd.DataFrame:
    return pd.read_parquet(ctx.run_dir / zone / f"{name}.parquet")


def _write(ctx: RunContext, zone: str, name: str, df: pd.DataFrame) -> None:
    df.to_parquet(ctx.zone(zone) / f"{name}.parquet", index=False)


def _finish(ctx: RunContext, step: str, report: dict[str, Any]) -> dict[str, Any]:
    ctx.write_report(step, report)
    audit.record(ctx.config.workdir, run_id=ctx.run_id, event=f"{step}.done", **report)
    return report


def extract(ctx: RunContext) -> dict[str, Any]:
    """Snapshot every source table as text Parquet."""
    from pipeline.extract import extract_all

    snapshots = extract_all(ctx.config.source_url, ctx.zone("raw"))
    return _finish(ctx, "extract", {"rows_read": {s.table: s.rows for s in snapshots}})


def validate_raw(ctx: RunContext) -> dict[str, Any]:
    """Quarantine rows that break the raw suites or do not parse; in = clean + quarantined."""
    from pipeline.validate_raw import validate_table

    tables: dict[str, dict[str, int]] = {}
    customer_ids = None
    for table in ("customers", *[t for t in SOURCE_TABLES if t != "customers"]):
        context = {"run_date": ctx.run_date}
        if table in CUSTOMER_OWNED:
            context["customer_ids"] = customer_ids
        counts, clean = validate_table(ctx, table, suite=RAW_SUITES.get(table), context=context)
        if table == "customers":
            customer_ids = clean["customer_id"].to_numpy()
        tables[table] = counts
    report = {"tables": tables}
    _finish(ctx, "validate_raw", report)
    threshold = ctx.config.quarantine_threshold
    for table, c in tables.items():
        if c["in"] and c["quarantined"] / c["in"] > threshold:
            raise QuarantineThresholdExceeded(table, c["quarantined"], c["in"], threshold)
    return report


def apply_customer_requests(ctx: RunContext) -> dict[str, Any]:
    """Remove deleted and opted-out customers (and all their rows); apply corrections."""
    from transforms.customer_requests import apply_customer_requests as apply

    customers = _read(ctx, "clean", "customers")
    outcome = apply(
        customers,
        requests=_read(ctx, "clean", "customer_requests"),
        consents=_read(ctx, "clean", "consents"),
        run_date=ctx.run_date,
    )
    excluded_ids = outcome.excluded["customer_id"]
    rows_excluded = {"customers": len(customers) - len(outcome.customers)}
    _write(ctx, "clean", "customers_current", outcome.customers)
    for table in ("service_usage", "questionnaire_responses"):
        df = _read(ctx, "clean", table)
        drop = df["customer_id"].isin(excluded_ids)
        rows_excluded[table] = int(drop.sum())
        _write(ctx, "clean", f"{table}_current", df[~drop].reset_index(drop=True))
    if len(outcome.corrections_rejected):
        outcome.corrections_rejected.to_parquet(
            ctx.zone("quarantine") / "customer_requests_corrections.parquet", index=False
        )
    report = {
        "customers_excluded": outcome.excluded["reason"].value_counts().sort_index().to_dict(),
        "rows_excluded": rows_excluded,
        "corrections_applied": outcome.corrections_applied,
        "corrections_rejected": len(outcome.corrections_rejected),
    }
    return _finish(ctx, "apply_customer_requests", report)


def deidentify(ctx: RunContext) -> dict[str, Any]:
    """Drop direct identifiers, pseudonymize ids with the keyed HMAC, derive ages."""
    from pipeline.keys import load_hmac_key
    from transforms.deidentify import deidentify as run_deidentify
    from transforms.web_totals import daily_visit_totals

    key = load_hmac_key(demo=os.environ.get("ANONRELEASE_DEMO") == "1")
    out = run_deidentify(
        _read(ctx, "clean", "customers_current"),
        usage=_read(ctx, "clean", "service_usage_current"),
        questionnaires=_read(ctx, "clean", "questionnaire_responses_current"),
        key=key,
        run_date=ctx.run_date,
    )
    _write(ctx, "deidentified", "customers", out.customers)
    _write(ctx, "deidentified", "usage", out.usage)
    _write(ctx, "deidentified", "questionnaires", out.questionnaires)
    visits = daily_visit_totals(_read(ctx, "clean", "web_access_log"), timezone=ctx.config.timezone)
    _write(ctx, "deidentified", "web_visits_daily", visits)  # internal only, never a candidate
    report = {
        "rows": {
            "customers": len(out.customers),
            "usage": len(out.usage),
            "questionnaires": len(out.questionnaires),
        },
        "web_page_views": int(visits["page_views"].sum()),
    }
    return _finish(ctx, "deidentify", report)


def anonymize(ctx: RunContext) -> dict[str, Any]:
    """Optimal generalization of the customer profile under the configured privacy profile."""
    from pipeline.release_datasets import anonymize_customers

    return _finish(ctx, "anonymize", anonymize_customers(ctx))


def build_tables(ctx: RunContext) -> dict[str, Any]:
    """Statistical tables and the released microdata, as candidate files for the gate."""
    from pipeline.release_datasets import build_candidates

    return _finish(ctx, "build_tables", build_candidates(ctx))


def validate_release(ctx: RunContext) -> dict[str, Any]:
    """Check every candidate against the profile and each recipient's minimum; fail closed."""
    from pipeline.release_datasets import gate

    report = gate(ctx)
    _finish(ctx, "validate_release", report)
    return report


def publish(ctx: RunContext) -> dict[str, Any]:
    """Publish only what the gate allowed, per recipient, with a manifest written last."""
    from pipeline.release_datasets import publish_allowed

    return _finish(ctx, "publish", publish_allowed(ctx))
