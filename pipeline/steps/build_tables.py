"""build_tables: the statistical tables and each microdata series, as gate candidates.

Beside each candidate, an internal copy keeps what the differencing gate needs: the pseudonym
behind every microdata row, the true count behind every table cell.
"""

from __future__ import annotations

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
from pipeline.release.purposes import dataset_purposes, population_mask
from pipeline.run.context import RunContext
from pipeline.sources.hierarchies import shipped_hierarchies
from pipeline.steps.anonymize import UNIT
from pipeline.steps.zone_io import finish, read, write
from transforms.tables import SUPPRESSED_COLUMN, count_distinct_table


def build_tables(ctx: RunContext) -> dict[str, Any]:
    """Write every releasable dataset as a CSV candidate for the gate.

    The count table is built once, at the strictest minimum among its recipients: two
    versions at different minimums could be subtracted to reveal the small cells.
    """
    candidates = ctx.zone("candidates")
    trees = shipped_hierarchies(("age", "gender", "postal_code"))
    registry = partner_registry(ctx.config.partners)
    recipients = registry.allowed(COUNT_TABLE)
    # [consent] The table's population: customers who consented to every purpose its
    # recipients' kinds require (one version for all of them; pipeline.release.purposes).
    table_purposes = dataset_purposes(recipients, ctx.config.consent)
    customers = read(ctx, "deidentified", "customers")
    customers = customers[population_mask(customers, table_purposes)].reset_index(drop=True)
    usage = read(ctx, "deidentified", "usage")
    cells = customers[["pseudonym", "gender"]].assign(
        region=trees["postal_code"].generalize(
            customers["postal_code"].astype("str"), level=REGION_LEVEL
        ),
        age_band=trees["age"].generalize(customers["age"].astype("str"), level=AGE_BAND_LEVEL),
    )
    joined = usage[["pseudonym", "course_category"]].merge(cells, on="pseudonym", how="inner")
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
    purposes = {COUNT_TABLE: list(table_purposes)}
    series_purposes = {
        c: e.get("purposes", [])
        for c, e in (ctx.read_report("deidentify") or {}).get("series", {}).items()
    }
    for cadence, entry in sorted((ctx.read_report("anonymize") or {}).get("series", {}).items()):
        if "transformation" not in entry:
            continue  # held: the series has no release this run
        name = series_name(MICRODATA, cadence)
        microdata = read(ctx, "anonymized", f"{MICRODATA}_{cadence}").drop(columns=UNIT)
        (candidates / f"{name}.csv").write_bytes(csv_bytes(microdata))
        datasets[name] = len(microdata)
        purposes[name] = list(series_purposes.get(cadence, []))
    report = {
        "datasets": datasets,
        "purposes": purposes,  # [consent] what each dataset's population consented to
        "table_min_cell_count": min_count,
        "table_cells_suppressed": int(table[SUPPRESSED_COLUMN].sum()),
    }
    return finish(ctx, "build_tables", report)
