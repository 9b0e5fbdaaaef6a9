"""build_tables: the statistical tables and each microdata series, as gate candidates.

Beside each candidate, an internal copy keeps what the differencing gate needs: the pseudonym
behind every microdata row, the true count behind every table cell.
"""

from __future__ import annotations

import os
from typing import Any

from pipeline.release.datasets import (
    AGE_BAND_LEVEL,
    COUNT_COLUMN,
    COUNT_TABLE,
    MICRODATA,
    REGION_LEVEL,
    csv_bytes,
    partner_registry,
    series_name,
    table_label_orders,
)
from pipeline.release.report_protection import protect_cells
from pipeline.release.reports import BuiltReport, build_report, summary_bytes
from pipeline.run.context import RunContext
from pipeline.run.step_reports import AnonymizeReport, BuildTablesReport
from pipeline.settings.keys import load_cellkey_secret
from pipeline.settings.report_specs import SuppressMethod, load_catalogue
from pipeline.sources.hierarchies import shipped_hierarchies
from pipeline.sources.report_dimensions import store_areas
from pipeline.steps.anonymize import UNIT
from pipeline.steps.zone_io import finish, read, write
from transforms.tables import SUPPRESSED_COLUMN, count_distinct_table


def build_tables(ctx: RunContext) -> BuildTablesReport:
    """Write every releasable dataset as a CSV candidate for the gate.

    The count table is built once, at the strictest minimum among its recipients: two
    versions at different minimums could be subtracted to reveal the small cells.
    """
    candidates = ctx.zone("candidates")
    trees = shipped_hierarchies(("age", "gender", "postal_code"))
    customers = read(ctx, "deidentified", "customers")
    usage = read(ctx, "deidentified", "usage")
    cells = customers[["pseudonym", "gender"]].assign(
        region=trees["postal_code"].generalize(
            customers["postal_code"].astype("str"), level=REGION_LEVEL
        ),
        age_band=trees["age"].generalize(customers["age"].astype("str"), level=AGE_BAND_LEVEL),
    )
    joined = usage[["pseudonym", "course_category"]].merge(cells, on="pseudonym", how="inner")
    recipients = partner_registry(ctx.config.partners).allowed(COUNT_TABLE)
    min_count = max([ctx.config.profile.min_cell_count, *(r.min_cell_count for r in recipients)])
    arguments: dict[str, Any] = {
        "domains": table_label_orders(),
        "unit": "pseudonym",
        "count_name": COUNT_COLUMN,
    }
    table = count_distinct_table(joined, min_count=min_count, **arguments)
    true_counts = count_distinct_table(joined, min_count=1, **arguments)
    write(
        ctx,
        "anonymized",
        COUNT_TABLE,
        true_counts.drop(columns=SUPPRESSED_COLUMN).assign(
            **{SUPPRESSED_COLUMN: table[SUPPRESSED_COLUMN].to_numpy()}
        ),
    )
    (candidates / f"{COUNT_TABLE}.csv").write_bytes(csv_bytes(table))
    datasets = {COUNT_TABLE: len(table)}
    anonymized = ctx.read_report(AnonymizeReport)
    released = anonymized.released() if anonymized else {}
    for cadence in sorted(released):  # a held series has no release this run
        name = series_name(MICRODATA, cadence)
        microdata = read(ctx, "anonymized", f"{MICRODATA}_{cadence}").drop(columns=UNIT)
        (candidates / f"{name}.csv").write_bytes(csv_bytes(microdata))
        datasets[name] = len(microdata)
    reports = {name: built.summary() for name, built in _catalogue(ctx).items()}
    for name in reports:
        datasets[name] = reports[name]["cells"]
    report = BuildTablesReport(
        datasets=datasets,
        table_min_cell_count=min_count,
        table_cells_suppressed=int(table[SUPPRESSED_COLUMN].sum()),
        reports=reports,
    )
    return finish(ctx, report)


REPORT_FRAMES = {
    "customers": "customers",
    "usage": "usage",
    "questionnaires": "questionnaires",
    "campaigns": "campaigns",
    "subscriptions": "subscriptions",
}


def report_frames(ctx: RunContext) -> dict[str, Any]:
    """The de-identified tables the report catalogue is built from."""
    return {name: read(ctx, "deidentified", zone) for name, zone in REPORT_FRAMES.items()}


def _catalogue(ctx: RunContext) -> dict[str, BuiltReport]:
    """Build every partner table of the catalogue with its default method (web statistics
    are internal: written by deidentify, never a candidate).

    A suppressed table is built at the strictest minimum among the recipients that may
    receive it (one version for all: two versions could be subtracted).
    """
    registry = partner_registry(ctx.config.partners)
    frames = report_frames(ctx)
    areas = store_areas(read(ctx, "clean", "stores"))
    built: dict[str, BuiltReport] = {}
    secret = load_cellkey_secret(demo=os.environ.get("ANONRELEASE_DEMO") == "1")
    for name, spec in load_catalogue().items():
        if spec.source == "web_access_log":
            continue
        method = spec.method()
        recipients = [r for r in registry.recipients if r.allows(name)]
        minimum = max([ctx.config.profile.min_cell_count, *(r.min_cell_count for r in recipients)])
        if not isinstance(method, SuppressMethod):
            minimum = 0
        report = build_report(
            spec,
            frames=frames,
            store_areas=areas,
            run_date=ctx.run_date,
            method=method,
            min_contributors=minimum,
            protect=protect_cells,
            cellkey_secret=secret,
        )
        (ctx.zone("candidates") / f"{name}.csv").write_bytes(csv_bytes(report.table.published))
        (ctx.zone("candidates") / f"{name}.summary.json").write_bytes(
            summary_bytes(report.summary())
        )
        write(ctx, "anonymized", name, report.table.internal)
        write(ctx, "quarantine", f"report_{name}", report.quarantined)
        built[name] = report
    return built
