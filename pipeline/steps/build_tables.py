"""build_tables: the report catalogue's tables and each microdata series, as gate candidates.

Beside each candidate, an internal copy keeps what the differencing gate needs: the pseudonym
behind every microdata row, the true contributors behind every table cell.
"""

from __future__ import annotations

from typing import Any

from pipeline.release.datasets import MICRODATA, csv_bytes, partner_registry, series_name
from pipeline.release.purposes import dataset_purposes, population_mask
from pipeline.release.report_protection import protect_cells
from pipeline.release.reports import BuiltReport, build_report, summary_bytes
from pipeline.run.context import RunContext
from pipeline.run.step_reports import AnonymizeReport, BuildTablesReport, DeidentifyReport
from pipeline.settings.keys import demo_mode, load_cellkey_secret
from pipeline.settings.report_specs import SuppressMethod, load_catalogue
from pipeline.sources.report_dimensions import store_areas
from pipeline.steps.anonymize import UNIT
from pipeline.steps.zone_io import finish, read, write


def build_tables(ctx: RunContext) -> BuildTablesReport:
    """Write every releasable dataset as a CSV candidate for the gate: each microdata series
    released this run and each table of the report catalogue."""
    candidates = ctx.zone("candidates")
    datasets: dict[str, int] = {}
    purposes: dict[str, tuple[str, ...]] = {}
    profiles = ctx.read_report(DeidentifyReport)
    series_purposes = {c: e.purposes for c, e in profiles.series.items()} if profiles else {}
    anonymized = ctx.read_report(AnonymizeReport)
    released = anonymized.released() if anonymized else {}
    for cadence in sorted(released):  # a held series has no release this run
        name = series_name(MICRODATA, cadence)
        microdata = read(ctx, "anonymized", f"{MICRODATA}_{cadence}").drop(columns=UNIT)
        (candidates / f"{name}.csv").write_bytes(csv_bytes(microdata))
        datasets[name] = len(microdata)
        purposes[name] = series_purposes.get(cadence, ())
    catalogue, report_purposes = _catalogue(ctx)
    reports = {name: built.summary() for name, built in catalogue.items()}
    for name in reports:
        datasets[name] = reports[name]["cells"]
    purposes.update(report_purposes)
    report = BuildTablesReport(
        datasets=datasets,
        purposes=purposes,  # [consent] what each dataset's population consented to
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


def _catalogue(ctx: RunContext) -> tuple[dict[str, BuiltReport], dict[str, tuple[str, ...]]]:
    """Build every partner table of the catalogue with its default method (web statistics
    are internal: written by deidentify, never a candidate); also each table's purposes.

    A suppressed table is built at the strictest minimum among the recipients that may
    receive it, and from the customers who consented to every purpose those recipients'
    kinds require (one version for all: two versions could be subtracted). Activity rows
    are joined to the customers (``transforms.report_records``), so filtering the customers
    filters every source.
    """
    registry = partner_registry(ctx.config.partners)
    frames = report_frames(ctx)
    everyone = frames["customers"]
    areas = store_areas(read(ctx, "clean", "stores"))
    built: dict[str, BuiltReport] = {}
    purposes: dict[str, tuple[str, ...]] = {}
    secret = load_cellkey_secret(demo=demo_mode())
    for name, spec in load_catalogue().items():
        if spec.source == "web_access_log":
            continue
        method = spec.method()
        recipients = [r for r in registry.recipients if r.allows(name)]
        minimum = max([ctx.config.profile.min_cell_count, *(r.min_cell_count for r in recipients)])
        if not isinstance(method, SuppressMethod):
            minimum = 0
        purposes[name] = dataset_purposes(recipients, ctx.config.consent)
        population = everyone[population_mask(everyone, purposes[name])]
        report = build_report(
            spec,
            frames={**frames, "customers": population.reset_index(drop=True)},
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
    return built, purposes
