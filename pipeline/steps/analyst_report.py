"""analyst_report: one protected table on demand, from a run's de-identified data.

``anonrelease report`` and the ``analyst_report`` DAG call ``analyst_report`` with the same
arguments and write the same bytes: the table as CSV and Parquet and its JSON summary. The
table is built exactly as the nightly catalogue builds it (``pipeline.release.reports``) and
checked by the gate's report checks (the LP audit of a suppression pattern included) before
anything is written: a table that fails is not written, and the message names the rule.
Analysts only ever receive protected tables built from de-identified data.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

import pandas as pd

from pipeline.release.budget_ledger import budget_url, calendar_window, open_budget_ledger
from pipeline.release.datasets import csv_bytes
from pipeline.release.report_gate import ReportCheck, report_problems
from pipeline.release.report_protection import DPContext, protect_cells
from pipeline.release.reports import build_report, summary_bytes
from pipeline.run.context import RunContext
from pipeline.settings.keys import demo_mode, load_cellkey_secret
from pipeline.settings.report_specs import (
    WINDOW_DATES,
    DPMethod,
    SuppressMethod,
    UnknownReportOptionError,
    load_catalogue,
    spec_named,
)
from pipeline.sources.report_dimensions import store_areas
from pipeline.steps.build_tables import report_frames
from pipeline.steps.zone_io import read
from transforms.errors import PrivacyCheckFailed


class ReportRefused(PrivacyCheckFailed):
    """The protected table failed the gate's checks: nothing was written (rule named)."""


class NoDeidentifiedRun(UnknownReportOptionError):
    """No nightly run in the workdir has de-identified data to build a report from."""


def latest_run(workdir: Path, on_or_before: date | None = None) -> date:
    """The newest run date whose de-identified zone is complete (the analysts' data)."""
    days = []
    for folder in workdir.glob("????-??-??"):
        try:
            day = date.fromisoformat(folder.name)
        except ValueError:
            continue
        complete = (folder / "deidentified" / "campaigns.parquet").is_file()
        if complete and (on_or_before is None or day <= on_or_before):
            days.append(day)
    if not days:
        raise NoDeidentifiedRun(f"{workdir}: no run with de-identified data; run the nightly first")
    return max(days)


@dataclass(frozen=True)
class AnalystReport:
    files: tuple[Path, ...]
    summary: dict[str, object]
    run_date: date  # whose run's data


def _window(
    ctx: RunContext, source: str, date_from: date | None, date_to: date | None
) -> tuple[date, date] | None:
    if date_from is None and date_to is None:
        return None
    if WINDOW_DATES[source] is None:
        raise UnknownReportOptionError(
            f"{source} is a stock as of the run date: --from/--to do not apply"
        )
    if date_from is None or date_to is None or date_from > date_to:
        raise UnknownReportOptionError("give --from and --to, with --from on or before --to")
    if date_to > ctx.run_date:
        raise UnknownReportOptionError(
            f"--to is after the data's last day; valid: on or before {ctx.run_date}"
        )
    return date_from, date_to


def analyst_report(
    ctx: RunContext,
    *,
    spec_name: str,
    out_dir: Path,
    date_from: date | None = None,
    date_to: date | None = None,
    method_name: str | None = None,
    recipient: str = "analysts",
) -> AnalystReport:
    """Build, protect, check and write one report (see the module doc)."""
    spec = spec_named(load_catalogue(), spec_name)
    method = spec.method(method_name)
    window = _window(ctx, spec.source, date_from, date_to)
    minimum = ctx.config.profile.min_cell_count if isinstance(method, SuppressMethod) else 0
    demo = demo_mode()
    # The analyst's epsilon per calendar year: dp.analyst_budget of the configuration (the
    # budget ledger is opened only for a dp table: the other methods spend nothing).
    dp = None
    if isinstance(method, DPMethod):
        dp = DPContext(
            ledger=open_budget_ledger(
                budget_url(None, ctx.config.workdir),
                budgets={recipient: ctx.config.dp.analyst_budget},
            ),
            recipient=recipient,
            window=calendar_window(ctx.run_date),
        )

    built = build_report(
        spec,
        frames=report_frames(ctx),
        store_areas=store_areas(read(ctx, "clean", "stores")),
        run_date=ctx.run_date,
        method=method,
        min_contributors=minimum,
        window=window,
        protect=partial(protect_cells, dp=dp),
        cellkey_secret=load_cellkey_secret(demo=demo),
    )
    summary = built.summary()
    check = ReportCheck.from_summary(None, summary)  # the internal frame is at hand
    released = pd.read_csv(io.BytesIO(csv_bytes(built.table.published)))
    problems = report_problems(spec.name, released, built.table.internal, check)
    if problems:
        raise ReportRefused("; ".join(problems))
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / spec.name
    files = (stem.with_suffix(".csv"), stem.with_suffix(".parquet"), Path(f"{stem}.summary.json"))
    files[0].write_bytes(csv_bytes(built.table.published))
    built.table.published.to_parquet(files[1], index=False)
    public = {k: v for k, v in summary.items() if k != "dimensions"}
    files[2].write_bytes(summary_bytes(public))
    return AnalystReport(files=files, summary=public, run_date=ctx.run_date)


def analyst_dir(workdir: Path) -> Path:
    """Where analysts' tables go: ``ANONRELEASE_ANALYST_DIR`` or ``<workdir>/../analyst_reports``
    beside the warehouse (protected tables only, never internal data)."""
    configured = os.environ.get("ANONRELEASE_ANALYST_DIR")
    return Path(configured) if configured else Path(workdir).resolve().parent / "analyst_reports"


def report_from_latest_run(
    *,
    spec_name: str,
    out_dir: Path | None = None,
    run_date: date | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    method_name: str | None = None,
    recipient: str = "analysts",
) -> AnalystReport:
    """``analyst_report`` on the latest completed run (or ``run_date``'s), as the CLI and the
    DAG both call it; ``out_dir`` defaults to the work folder's analyst folder."""
    from pipeline.settings.release_config import load_config

    config = load_config()
    workdir = Path(config.workdir)
    ctx = RunContext(run_date=latest_run(workdir, run_date), config=config)
    return analyst_report(
        ctx,
        spec_name=spec_name,
        out_dir=out_dir if out_dir is not None else analyst_dir(workdir) / spec_name,
        date_from=date_from,
        date_to=date_to,
        method_name=method_name,
        recipient=recipient,
    )


def run_from_params(params: dict[str, object]) -> list[str]:
    """The ``analyst_report`` DAG's task: the Params as ``anonrelease report`` arguments."""

    def day(name: str) -> date | None:
        value = params.get(name)
        return date.fromisoformat(str(value)) if value else None

    method = params.get("method")
    result = report_from_latest_run(
        spec_name=str(params["spec"]),
        date_from=day("date_from"),
        date_to=day("date_to"),
        method_name=str(method) if method else None,
        recipient=str(params.get("recipient") or "analysts"),
    )
    return [str(f) for f in result.files]
