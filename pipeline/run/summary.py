"""The run summary: how the run ended, then what was read, excluded and why, quarantined,
and published where.

The outcome comes first: succeeded, failed at which step and why (the audit trail's
``<step>.failed`` event of the latest attempt), still in progress (the run's lock is held), or
stopped without a word (a killed process); then whether anything is published for the run and
what the latest attempt withdrew. The rest is built from the step reports in the run folder,
so the DAG and the CLI show the same thing. Everything is printed literally: a reason such as
``[k=50, l=2]`` is text, never console markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline.run import audit
from pipeline.run.context import RunContext
from pipeline.run.lock import holder
from pipeline.run.step_reports import (
    AnonymizeReport,
    ApplyCustomerRequestsReport,
    BuildTablesReport,
    DeidentifyReport,
    ExtractReport,
    HeldSeries,
    PublishReport,
    TableCounts,
    ValidateRawReport,
    read_decision,
)
from pipeline.steps import STEPS
from transforms.errors import DataError


class NoRunRecorded(DataError):
    """Neither a run folder nor an audit event exists for the date in this work folder."""

    def __init__(self, run_id: str, workdir: Path) -> None:
        super().__init__(f"no run recorded for {run_id} in {workdir}")
        self.run_id = run_id


@dataclass(frozen=True)
class Outcome:
    """How the latest attempt of a run ended, from the audit trail and the run's lock."""

    state: str  # succeeded | failed | in progress | stopped | not started
    step: str | None = None
    error: str | None = None
    message: str | None = None
    holder: str | None = None
    withdrawn: tuple[str, ...] = field(default=())

    def headline(self, run_id: str) -> Text:
        if self.state == "succeeded":
            return Text.assemble(f"run {run_id}: ", ("SUCCEEDED", "bold green"))
        if self.state == "failed":
            why = self.message or "no reason recorded"
            kind = f" ({self.error})" if self.error and self.error not in why else ""
            return Text.assemble(
                f"run {run_id}: ", ("FAILED", "bold red"), f" at {self.step}: {why}{kind}"
            )
        if self.state == "in progress":
            at = f", at {self.step}" if self.step else ""
            return Text.assemble(
                f"run {run_id}: ", ("IN PROGRESS", "bold yellow"), f" ({self.holder}){at}"
            )
        if self.state == "stopped":
            return Text.assemble(
                f"run {run_id}: ",
                ("STOPPED", "bold red"),
                f" during {self.step}: the process ended without finishing it "
                "(killed or crashed); run it again",
            )
        return Text(f"run {run_id}: not started (no step recorded)")


def _latest_attempt(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    starts = [i for i, e in enumerate(events) if e.get("event") == f"{STEPS[0]}.started"]
    return events[starts[-1] :] if starts else events


def run_outcome(ctx: RunContext) -> Outcome:
    """The latest attempt's outcome: its last step event, unless the run's lock is held."""
    events = _latest_attempt(audit.read_events(ctx.config.workdir, run_id=ctx.run_id))
    withdrawn = tuple(e["folder"] for e in events if e.get("event") == "release.withdrawn")
    last: tuple[str, str, dict[str, Any]] | None = None
    for e in events:
        step, _, what = str(e.get("event", "")).rpartition(".")
        if step in STEPS and what in ("started", "done", "failed"):
            last = (step, what, e)
    held = holder(ctx.config.workdir, ctx.run_id)
    if held is not None:
        return Outcome(
            "in progress",
            step=last[0] if last else None,
            holder=held.describe(),
            withdrawn=withdrawn,
        )
    if last is None:
        return Outcome("not started", withdrawn=withdrawn)
    step, what, event = last
    if what == "failed":
        return Outcome(
            "failed",
            step=step,
            error=event.get("error"),
            message=event.get("message"),
            withdrawn=withdrawn,
        )
    if what == "done" and step == STEPS[-1]:
        return Outcome("succeeded", step=step, withdrawn=withdrawn)
    # A step started, or one finished and the next never started, and nobody holds the lock.
    next_step = step if what == "started" else STEPS[STEPS.index(step) + 1]
    return Outcome("stopped", step=next_step, withdrawn=withdrawn)


def published_now(ctx: RunContext) -> dict[str, str]:
    """Recipient -> folder of every release of this run that is published now (has a
    manifest), read from the release root itself."""
    import fsspec

    root = ctx.config.release_root.rstrip("/")
    fs, base = fsspec.core.url_to_fs(root)
    if not fs.exists(base):
        return {}
    found = sorted(fs.glob(f"{base.rstrip('/')}/*/{ctx.run_id}/manifest.json"))
    protocol = root.split("://", 1)[0] + "://" if "://" in root else ""
    return {Path(m).parent.parent.name: protocol + str(Path(m).parent) for m in found}


def has_record(ctx: RunContext) -> bool:
    """Whether anything is known of this run: a run folder or an audit event."""
    if ctx.run_dir.exists():
        return True
    return bool(audit.read_events(ctx.config.workdir, run_id=ctx.run_id))


def _print(console: Console, *parts: str | tuple[str, str]) -> None:
    console.print(Text.assemble(*parts))


def _render_outcome(ctx: RunContext, console: Console) -> None:
    outcome = run_outcome(ctx)
    console.print(outcome.headline(ctx.run_id))
    failed = outcome.state == "failed"
    # A failed extract writes no report: one in the folder is an earlier attempt's.
    stale = failed and outcome.step == STEPS[0] and ctx.read_report(ExtractReport) is not None
    published = published_now(ctx)
    if published:
        earlier = failed and outcome.step != STEPS[-1]
        what = "still published from an earlier attempt" if earlier else "published"
        _print(console, f"{what}: {', '.join(sorted(published))}")
    else:
        _print(console, "published: nothing for this run")
    decision = read_decision(ctx.run_dir / "reports")
    blocked = sorted(decision.blocked) if decision else []
    if failed and blocked and not stale:
        _print(console, ("blocked", "red"), f" (received nothing): {', '.join(blocked)}")
    if outcome.withdrawn:
        _print(console, f"withdrawn at the start of this attempt: {', '.join(outcome.withdrawn)}")
    if stale:
        _print(
            console,
            "the run folder still holds an earlier attempt (this one failed before it "
            "started afresh); the reports below are that attempt's",
        )


def render_summary(ctx: RunContext, *, console: Console) -> None:
    console.rule(Text(f"anonrelease run {ctx.run_id}"))
    _render_outcome(ctx, console)
    extract = ctx.read_report(ExtractReport)
    raw = _raw_tables(ctx)
    if extract:
        table = Table(
            "source table", "read", "clean", "quarantined", "out of scope", title="Rows by source"
        )
        for name, rows in extract.rows_read.items():
            counts = raw.get(name)
            seen = (counts.clean, counts.quarantined, counts.out_of_scope) if counts else None
            table.add_row(Text(name), str(rows), *(str(n) for n in seen or ("-",) * 3))
        console.print(table)
    if requests := ctx.read_report(ApplyCustomerRequestsReport):
        table = Table("excluded", "rows", title="Excluded by customer requests and consent")
        for reason, n in requests.customers_excluded.items():
            table.add_row(Text(f"customers: {reason}"), str(n))
        for name, n in requests.rows_excluded.items():
            if name != "customers":
                table.add_row(Text(f"their rows in {name}"), str(n))
        for purpose, consent in sorted(requests.consent.items()):
            table.add_row(
                Text(f"customers without {purpose} consent (left out of its datasets only)"),
                str(consent.not_granted),
            )
        if answers := requests.disclosures:
            table.add_row(
                "disclosure requests answered (internal disclosures/ folder)",
                str(answers.answered),
            )
            table.add_row("disclosure requests: unknown customer", str(answers.unknown_customer))
        table.add_row("corrections applied", str(requests.corrections_applied))
        table.add_row("corrections rejected (quarantined)", str(requests.corrections_rejected))
        buried = requests.tombstoned
        rows = sum(n for name, n in buried.items() if name != "customers")
        table.add_row(
            "tombstoned (deleted earlier, back in the source): customers / their rows",
            f"{buried.get('customers', 0)} / {rows}",
        )
        stones = requests.tombstones
        table.add_row(
            "tombstones recorded this run / in total", f"{stones.recorded} / {stones.total}"
        )
        console.print(table)
    if anonymized := ctx.read_report(AnonymizeReport):
        for cadence, entry in sorted(anonymized.series.items()):
            head = f"microdata series {cadence} (as of {entry.cutoff}, ages at "
            head += f"{entry.reference_date})"
            if isinstance(entry, HeldSeries):
                _print(console, (f"{head}: held", "yellow"), f": {entry.held}")
                continue
            frozen = "frozen" if entry.frozen else "optimal; frozen when first published"
            _print(
                console,
                f"{head}: levels {entry.transformation} ({frozen}), "
                f"{entry.suppressed} of {entry.records} records suppressed, "
                f"{entry.classes} classes, smallest {entry.min_class_size}",
            )
    if tables := ctx.read_report(BuildTablesReport):
        _print(console, f"rows per candidate dataset: {tables.datasets}")
        if tables.reports:
            _catalogue_table(console, tables)
    if decision := read_decision(ctx.run_dir / "reports"):
        for recipient, reasons in sorted(decision.blocked.items()):
            _print(console, ("blocked", "red"), f" {recipient}: {'; '.join(reasons)}")
        for reason in decision.profile_failures:
            _print(console, ("profile failed", "red"), f": {reason}")
        for recipient, held in sorted(decision.held.items()):
            for name, reason in sorted(held.items()):
                _print(console, ("held", "yellow"), f" for {recipient}: {name}: {reason}")
        for recipient, refused in sorted(decision.refused.items()):
            for reason in sorted(set(refused.values())):
                names = ", ".join(sorted(n for n, r in refused.items() if r == reason))
                _print(console, ("refused", "red"), f" for {recipient}: {names}: {reason}")
        for recipient, waiting in sorted(decision.not_due.items()):
            for name, reason in sorted(waiting.items()):
                _print(console, f"not due for {recipient}: {name}: {reason}")
        if decision.docs_index:
            _print(console, f"validation report (Data Docs): {decision.docs_index}")
    _render_reconciliation(ctx, console)
    if published := ctx.read_report(PublishReport):
        _print(
            console,
            ("Published", "bold"),
            " (each folder has a manifest.json; check with `anonrelease verify FOLDER`)",
        )
        from pipeline.release.legal import STATEMENT_FILE, notices_dir

        for recipient, info in published.published.items():
            _print(console, f"  {recipient}: {', '.join(info.files)}")
            _print(console, f"    {info.folder}")
            if STATEMENT_FILE in info.files:
                _print(
                    console,
                    f"    statement (anonymously processed information): "
                    f"{info.folder}/{STATEMENT_FILE}",
                )
        notices = notices_dir(ctx.config.workdir)
        if notices.is_dir():
            _print(console, f"public notices (公表文) and their publication record: {notices}")
    quarantine = ctx.run_dir / "quarantine"
    if quarantine.exists():
        _print(console, f"quarantine files: {quarantine}")


def reconciliation(ctx: RunContext) -> list[dict[str, object]]:
    """Per table: rows read = quarantined + excluded + suppressed + out, with the 'out' named.

    Out-of-scope rows (dated after the run date) count as excluded; rows of customers whose
    quasi-identifiers fall outside the hierarchies count as quarantined. For customers,
    'out' is the number of rows actually written to the released microdata.
    """
    raw = _raw_tables(ctx)
    requests = ctx.read_report(ApplyCustomerRequestsReport)
    deidentify = ctx.read_report(DeidentifyReport)
    anonymized = ctx.read_report(AnonymizeReport)
    built = ctx.read_report(BuildTablesReport)
    if not (raw and requests and deidentify):
        return []
    outside = deidentify.quarantined_outside_hierarchies
    rows = []
    for table, key, out_is in (
        ("customers", "customers", "de-identified customers"),
        ("service_usage", "usage", "de-identified rows used for tables"),
        ("questionnaire_responses", "questionnaires", "de-identified rows (internal only)"),
    ):
        counts = raw[table]
        quarantined = counts.quarantined + outside.get(key, 0)
        excluded = requests.rows_excluded.get(table, 0) + counts.out_of_scope
        out = deidentify.rows[key]
        row: dict[str, object] = {
            "table": table,
            "read": counts.rows_in,
            "quarantined": quarantined,
            "excluded": excluded,
            "suppressed": 0,
            "out": out,
            "out_is": out_is,
            "reconciles": counts.rows_in == quarantined + excluded + out,
        }
        rows.append(row)
        if table == "customers" and anonymized and built:
            rows += _series_rows(
                counts.rows_in, quarantined, excluded, deidentify, anonymized, built
            )
    return rows


def _raw_tables(ctx: RunContext) -> dict[str, TableCounts]:
    report = ctx.read_report(ValidateRawReport)
    return report.tables if report else {}


def _series_rows(
    read: int,
    quarantined: int,
    excluded: int,
    deidentify: DeidentifyReport,
    anonymized: AnonymizeReport,
    built: BuildTablesReport,
) -> list[dict[str, object]]:
    """One row per released microdata series: later registrations count as excluded.

    ``read``, ``quarantined`` and ``excluded`` are the customers table's row.
    """
    rows: list[dict[str, object]] = []
    profile_rows = deidentify.rows["customers"]
    for cadence, entry in sorted(anonymized.released().items()):
        members = deidentify.series[cadence].customers
        name = f"customers_microdata@{cadence}"
        if name not in built.datasets:
            continue  # no file this run
        out = built.datasets[name]
        left_out = excluded + profile_rows - members
        rows.append(
            {
                "table": f"customers -> {name}",
                "read": read,
                "quarantined": quarantined,
                "excluded": left_out,
                "suppressed": entry.suppressed,
                "out": out,
                "out_is": f"records in the {cadence} microdata (as of {entry.cutoff})",
                "reconciles": read == quarantined + left_out + entry.suppressed + out,
            }
        )
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
        ok = Text("yes") if r["reconciles"] else Text("NO", style="red")
        table.add_row(Text(str(r["table"])), *counts, ok)
    console.print(table)
    for r in rows:
        _print(console, f"  out of {r['table']}: {r['out_is']}")


def _catalogue_table(console: Console, tables: BuildTablesReport) -> None:
    """The report catalogue: each table's method and the share of its interior published."""
    grid = Table(title="Report catalogue (published share of each table's interior cells)")
    grid.add_column("table", overflow="fold")
    for column in ("method", "cells", "published", "suppressed p/s", "loss"):
        grid.add_column(column, no_wrap=True)
    for name, r in sorted(tables.reports.items()):
        grid.add_row(
            name,
            str(r["method"]),
            str(r["cells"]),
            f"{float(r['published_share']):.1%}",
            f"{r['suppressed_primary']}/{r['suppressed_secondary']}",
            f"{float(r['information_loss']):.1%}",
        )
    console.print(grid)
