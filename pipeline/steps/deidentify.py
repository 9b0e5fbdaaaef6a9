"""deidentify: drop direct identifiers, pseudonymize, derive ages and postal prefixes."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from pipeline.release.datasets import MICRODATA, cadence_for, microdata_series, partner_registry
from pipeline.release.purposes import (
    check_kinds,
    consent_columns,
    dataset_purposes,
    population_mask,
)
from pipeline.rights.tombstones import read_tombstones
from pipeline.run.context import RunContext
from pipeline.run.step_reports import DeidentifyReport, SeriesProfile
from pipeline.settings.keys import demo_mode, load_hmac_key
from pipeline.sources.hierarchies import HIERARCHY_COLUMNS, shipped_hierarchies
from pipeline.steps.zone_io import finish, read, write
from transforms.deidentify import Deidentified, as_of, deidentify_activity
from transforms.deidentify import deidentify as deidentify_tables
from transforms.parse import REASON_COLUMN
from transforms.periods import Cadence, age_reference_for_tables
from transforms.web_totals import daily_path_totals, daily_visit_totals


def _unmapped(customers: pd.DataFrame, ctx: RunContext) -> pd.Series:
    """Why a customer's quasi-identifier is not a leaf of its hierarchy ("" when all are)."""
    trees = shipped_hierarchies(HIERARCHY_COLUMNS)
    reasons = pd.Series("", index=customers.index, dtype="string")
    for column in HIERARCHY_COLUMNS:
        leaves = set(trees[column].leaves)
        outside = ~customers[column].astype("string").isin(leaves).fillna(False)
        reasons = reasons.mask(outside, reasons + f"{column}: outside its hierarchy; ")
    return reasons.str.rstrip("; ")


def _without_tombstoned(out: Deidentified, tombstones: frozenset[str]) -> Deidentified:
    """Drop tombstoned pseudonyms from every table (a deletion recorded after the requests
    step ran; apply_customer_requests has excluded the others already)."""

    def keep(df: pd.DataFrame) -> pd.DataFrame:
        return df[~df["pseudonym"].isin(tombstones)].reset_index(drop=True)

    return replace(
        out,
        customers=keep(out.customers),
        usage=keep(out.usage),
        questionnaires=keep(out.questionnaires),
    )


def _series_profiles(ctx: RunContext, *, key: bytes) -> dict[Cadence, SeriesProfile]:
    """The customer profile as of each microdata series' cut-off (ages at the cut-off).

    Within a period nothing moves: the same cut-off gives the same classes every night.
    """
    customers = read(ctx, "clean", "customers_current")
    usage = read(ctx, "clean", "service_usage_current")
    registry = partner_registry(ctx.config.partners)
    tombstones = read_tombstones(ctx.config.workdir, key=key)
    flags = consent_columns(customers)
    out: dict[Cadence, SeriesProfile] = {}
    for cadence, cutoff in microdata_series(registry, ctx.run_date).items():
        members, visits = as_of(customers, usage=usage, cutoff=cutoff)
        profile = deidentify_tables(
            members,
            usage=visits,
            questionnaires=read(ctx, "clean", "questionnaire_responses_current").iloc[0:0],
            key=key,
            run_date=cutoff,
            carry=flags,
        ).customers
        profile = profile[~profile["pseudonym"].isin(tombstones)].reset_index(drop=True)
        outside = (_unmapped(profile, ctx) != "").to_numpy()
        # One series goes to every recipient of its cadence: built from the customers who
        # consented to the purposes of all of them (pipeline.release.purposes).
        receivers = [r for r in registry.allowed(MICRODATA) if cadence_for(r, MICRODATA) == cadence]
        purposes = dataset_purposes(receivers, ctx.config.consent)
        consented = population_mask(profile, purposes)
        keep = ~outside & consented
        series = profile[keep].drop(columns=flags).reset_index(drop=True)
        write(ctx, "deidentified", f"customers_{cadence}", series)
        out[cadence] = SeriesProfile(
            cutoff=cutoff.isoformat(),
            reference_date=cutoff.isoformat(),
            customers=int(keep.sum()),
            outside_hierarchies=int(outside.sum()),
            purposes=purposes,
            without_consent=int((~outside & ~consented).sum()),
        )
    return out


# Activity tables the report catalogue counts, and the columns kept (never an email).
ACTIVITY = {
    "campaigns": ("campaign_applications", ("campaign_code", "applied_on", "channel")),
    "subscriptions": ("mail_subscriptions", ("list_name", "subscribed_on", "unsubscribed_on")),
}


def _activity(ctx: RunContext, *, key: bytes, customers: pd.DataFrame) -> None:
    """Campaign applications and subscriptions of the released customers, pseudonymized.

    Rows of customers deleted, opted out, tombstoned or quarantined drop out at the join of
    the report records (``transforms.report_records``) and here already for the former.
    """
    current = read(ctx, "clean", "customers_current")["customer_id"]
    for name, (table, keep) in ACTIVITY.items():
        rows = deidentify_activity(
            read(ctx, "clean", table), customer_ids=current, key=key, keep=keep
        )
        rows = rows[rows["pseudonym"].isin(customers["pseudonym"])].reset_index(drop=True)
        write(ctx, "deidentified", name, rows)


def deidentify(ctx: RunContext) -> DeidentifyReport:
    """Drop direct identifiers, pseudonymize ids with the keyed HMAC, derive ages.

    Ages for tables are as of 1 January (``age_reference_for_tables``); each microdata series
    gets its own profile with ages at its cut-off.

    A customer whose derived quasi-identifiers fall outside the shipped hierarchies (an age
    over 120 after a correction, an unassigned postal prefix) is quarantined with all their
    rows, so one odd value cannot stop the night.
    """
    key = load_hmac_key(demo=demo_mode())
    check_kinds(partner_registry(ctx.config.partners), ctx.config.consent)
    current = read(ctx, "clean", "customers_current")
    out = deidentify_tables(
        current,
        usage=read(ctx, "clean", "service_usage_current"),
        questionnaires=read(ctx, "clean", "questionnaire_responses_current"),
        key=key,
        run_date=age_reference_for_tables(ctx.run_date),
        carry=consent_columns(current),  # which datasets each customer may enter
    )
    tombstones = read_tombstones(ctx.config.workdir, key=key)
    out = _without_tombstoned(out, tombstones)
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
    _activity(ctx, key=key, customers=customers)
    series = _series_profiles(ctx, key=key)
    log = read(ctx, "clean", "web_access_log")
    visits = daily_visit_totals(log, timezone=ctx.config.timezone)
    write(ctx, "deidentified", "web_visits_daily", visits)  # internal only, never a candidate
    paths = daily_path_totals(log, timezone=ctx.config.timezone)
    write(ctx, "deidentified", "web_page_views_daily", paths)  # internal only, per path
    report = DeidentifyReport(
        rows={
            "customers": len(customers),
            "usage": int((~usage_bad).sum()),
            "questionnaires": int((~answers_bad).sum()),
        },
        quarantined_outside_hierarchies={
            "customers": int(bad.sum()),
            "usage": int(usage_bad.sum()),
            "questionnaires": int(answers_bad.sum()),
        },
        web_page_views=int(visits["page_views"].sum()),
        age_reference=age_reference_for_tables(ctx.run_date).isoformat(),
        series=series,
    )
    return finish(ctx, report)
