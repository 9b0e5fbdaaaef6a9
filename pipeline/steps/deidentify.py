"""deidentify: drop direct identifiers, pseudonymize, derive ages and postal prefixes."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from pipeline.run.context import RunContext
from pipeline.settings.keys import load_hmac_key
from pipeline.sources.hierarchies import HIERARCHY_COLUMNS, shipped_hierarchies
from pipeline.steps.zone_io import finish, read, write
from transforms.deidentify import deidentify as deidentify_tables
from transforms.parse import REASON_COLUMN
from transforms.web_totals import daily_visit_totals


def _unmapped(customers: pd.DataFrame, ctx: RunContext) -> pd.Series:
    """Why a customer's quasi-identifier is not a leaf of its hierarchy ("" when all are)."""
    trees = shipped_hierarchies(HIERARCHY_COLUMNS)
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
        read(ctx, "clean", "customers_current"),
        usage=read(ctx, "clean", "service_usage_current"),
        questionnaires=read(ctx, "clean", "questionnaire_responses_current"),
        key=key,
        run_date=ctx.run_date,
    )
    reasons = _unmapped(out.customers, ctx)
    bad = (reasons != "").to_numpy()
    bad_tokens = out.customers.loc[bad, "pseudonym"]
    write(
        ctx,
        "quarantine",
        "customers_outside_hierarchies",
        pd.DataFrame({"pseudonym": bad_tokens.to_numpy(), REASON_COLUMN: reasons[bad].to_numpy()}),
    )
    customers = out.customers[~bad].reset_index(drop=True)
    usage_bad = out.usage["pseudonym"].isin(bad_tokens)
    answers_bad = out.questionnaires["pseudonym"].isin(bad_tokens)
    write(ctx, "deidentified", "customers", customers)
    write(ctx, "deidentified", "usage", out.usage[~usage_bad].reset_index(drop=True))
    write(
        ctx,
        "deidentified",
        "questionnaires",
        out.questionnaires[~answers_bad].reset_index(drop=True),
    )
    visits = daily_visit_totals(read(ctx, "clean", "web_access_log"), timezone=ctx.config.timezone)
    write(ctx, "deidentified", "web_visits_daily", visits)  # internal only, never a candidate
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
    return finish(ctx, "deidentify", report)
