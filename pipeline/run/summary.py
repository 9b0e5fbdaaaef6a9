"""The run summary: what was read, excluded and why, quarantined, and published where.

Built from the step reports in the run folder, so the DAG and the CLI show the same thing.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from pipeline.run.context import RunContext


def render_summary(ctx: RunContext, *, console: Console) -> None:
    console.rule(f"anonrelease run {ctx.run_id}")
    extract = ctx.read_report("extract") or {}
    raw = (ctx.read_report("validate_raw") or {}).get("tables", {})
    if extract:
        table = Table(
            "source table", "read", "clean", "quarantined", "out of scope", title="Rows by source"
        )
        for name, rows in extract["rows_read"].items():
            counts = raw.get(name, {})
            table.add_row(
                name,
                str(rows),
                *(str(counts.get(k, "-")) for k in ("clean", "quarantined", "out_of_scope")),
            )
        console.print(table)
    if requests := ctx.read_report("apply_customer_requests"):
        table = Table("excluded", "rows", title="Excluded by customer requests and consent")
        for reason, n in requests["customers_excluded"].items():
            table.add_row(f"customers: {reason}", str(n))
        for name, n in requests["rows_excluded"].items():
            if name != "customers":
                table.add_row(f"their rows in {name}", str(n))
        table.add_row("corrections applied", str(requests["corrections_applied"]))
        table.add_row("corrections rejected (quarantined)", str(requests["corrections_rejected"]))
        console.print(table)
    if anonymized := ctx.read_report("anonymize"):
        for cadence, entry in sorted(anonymized.get("series", {}).items()):
            head = f"microdata series {cadence} (as of {entry['cutoff']}, ages at "
            head += f"{entry['reference_date']}"
            if "held" in entry:
                _say(console, f"{head}): held: {entry['held']}", style="yellow")
                continue
            frozen = (
                "frozen" if entry["frozen"] else "first release: optimal, frozen when published"
            )
            _say(
                console,
                f"{head}): levels {entry['transformation']} ({frozen}), "
                f"{entry['suppressed']} of {entry['records']} records suppressed, "
                f"{entry['classes']} classes, smallest {entry['min_class_size']}",
            )
    if tables := ctx.read_report("build_tables"):
        _say(
            console,
            f"tables: {tables['datasets']}, cells suppressed below "
            f"{tables['table_min_cell_count']}: {tables['table_cells_suppressed']}",
        )
    if decision := ctx.read_report("release_decision"):
        for recipient, reasons in sorted(decision.get("blocked", {}).items()):
            _say(console, f"blocked {recipient}: {'; '.join(reasons)}", style="red")
        for reason in decision.get("profile_failures", []):
            _say(console, f"profile failed: {reason}", style="red")
        for recipient, held in sorted(decision.get("held", {}).items()):
            for name, reason in sorted(held.items()):
                _say(console, f"held for {recipient}: {name}: {reason}", style="yellow")
        for recipient, waiting in sorted(decision.get("not_due", {}).items()):
            for name, reason in sorted(waiting.items()):
                _say(console, f"not due for {recipient}: {name}: {reason}")
        if decision.get("docs_index"):
            _say(console, f"validation report (Data Docs): {decision['docs_index']}")
    _render_reconciliation(ctx, console)
    if published := ctx.read_report("publish"):
        console.print(
            "[bold]Published[/bold] (each folder has a manifest.json; check with "
            "`anonrelease verify FOLDER`)"
        )
        for recipient, info in published["published"].items():
            console.print(f"  {recipient}: {', '.join(info['files'])}")
            console.print(f"    {info['folder']}")
    quarantine = ctx.run_dir / "quarantine"
    if quarantine.exists():
        console.print(f"quarantine files: {quarantine}")


def _say(console: Console, text: str, *, style: str | None = None) -> None:
    """Print literally: brackets in reasons ([k=50, l=2]) are text, not markup."""
    console.print(text, style=style, markup=False, highlight=False)


def reconciliation(ctx: RunContext) -> list[dict[str, object]]:
    """Per table: rows read = quarantined + excluded + suppressed + out, with the 'out' named.

    Out-of-scope rows (dated after the run date) count as excluded; rows of customers whose
    quasi-identifiers fall outside the hierarchies count as quarantined. For customers,
    'out' is the number of rows actually written to the released microdata.
    """
    raw = (ctx.read_report("validate_raw") or {}).get("tables", {})
    requests = ctx.read_report("apply_customer_requests")
    deidentify = ctx.read_report("deidentify") or {}
    anonymized = ctx.read_report("anonymize")
    built = ctx.read_report("build_tables")
    if not (raw and requests and deidentify):
        return []
    outside = deidentify.get("quarantined_outside_hierarchies", {})
    rows = []
    for table, key, out_is in (
        ("customers", "customers", "de-identified customers"),
        ("service_usage", "usage", "de-identified rows used for tables"),
        ("questionnaire_responses", "questionnaires", "de-identified rows (internal only)"),
    ):
        counts = raw[table]
        row: dict[str, object] = {
            "table": table,
            "read": counts["in"],
            "quarantined": counts["quarantined"] + outside.get(key, 0),
            "excluded": requests["rows_excluded"].get(table, 0) + counts.get("out_of_scope", 0),
            "suppressed": 0,
            "out": deidentify["rows"][key],
            "out_is": out_is,
        }
        parts = ("quarantined", "excluded", "suppressed", "out")
        row["reconciles"] = row["read"] == sum(int(row[p]) for p in parts)  # type: ignore[arg-type]
        rows.append(row)
        if table == "customers" and anonymized and built:
            rows += _series_rows(row, deidentify, anonymized, built)
    return rows


def _series_rows(
    customers: dict[str, object],
    deidentify: dict[str, Any],
    anonymized: dict[str, Any],
    built: dict[str, Any],
) -> list[dict[str, object]]:
    """One row per released microdata series: later registrations count as excluded."""
    rows: list[dict[str, object]] = []
    profile_rows = int(deidentify["rows"]["customers"])
    for cadence, entry in sorted(anonymized.get("series", {}).items()):
        members = int(deidentify["series"][cadence]["customers"])
        name = f"customers_microdata@{cadence}"
        if name not in built["datasets"]:
            continue  # held: no file this run
        out = int(built["datasets"][name])
        suppressed = int(entry["suppressed"])
        row: dict[str, object] = {
            "table": f"customers -> {name}",
            "read": customers["read"],
            "quarantined": customers["quarantined"],
            "excluded": int(customers["excluded"]) + profile_rows - members,  # type: ignore[call-overload]
            "suppressed": suppressed,
            "out": out,
            "out_is": f"records in the {cadence} microdata (as of {entry['cutoff']})",
        }
        parts = ("quarantined", "excluded", "suppressed", "out")
        row["reconciles"] = row["read"] == sum(int(row[p]) for p in parts)  # type: ignore[call-overload]
        rows.append(row)
    return rows


def _render_reconciliation(ctx: RunContext, console: Console) -> None:
    rows = reconciliation(ctx)
    if not rows:
        return
    table = Table(
        "table",
        "read",
        "quarantined",
        "excluded",
        "suppressed",
        "out",
        "ok",
        title="Reconciliation: read = quarantined + excluded + suppressed + out",
    )
    for r in rows:
        counts = (str(r[k]) for k in ("read", "quarantined", "excluded", "suppressed", "out"))
        table.add_row(str(r["table"]), *counts, "yes" if r["reconciles"] else "[red]NO[/red]")
    console.print(table)
    for r in rows:
        console.print(f"  out of {r['table']}: {r['out_is']}")
