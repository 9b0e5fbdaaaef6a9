"""``anonrelease report``: an analyst's protected table on demand (the ``analyst_report`` DAG
runs the same function and writes the same bytes)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import options
from transforms.options import PROTECTION_METHODS as METHODS


def _day(value: str | None, option: str) -> date | None:
    return None if value is None else options.run_date(value, option=option)


def report(
    spec: Annotated[str, typer.Argument(help="A report spec of data/reports/ (its name).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the CSV, Parquet and summary.")],
    date_from: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD).")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last day (YYYY-MM-DD).")] = None,
    method: Annotated[
        str | None, typer.Option("--method", help=f"One the spec allows: {', '.join(METHODS)}.")
    ] = None,
    run_date: Annotated[
        str | None, typer.Option("--run-date", help="Whose run's data (default: the latest).")
    ] = None,
    recipient: Annotated[
        str, typer.Option("--recipient", help="Whose DP budget a dp table spends.")
    ] = "analysts",
) -> None:
    """Build one protected table from the latest run's de-identified data."""
    from pipeline.steps.analyst_report import report_from_latest_run

    result = report_from_latest_run(
        spec_name=spec,
        out_dir=out,
        run_date=_day(run_date, "--run-date"),
        date_from=_day(date_from, "--from"),
        date_to=_day(date_to, "--to"),
        method_name=method,
        recipient=recipient,
    )
    share = result.summary.get("published_share")
    typer.echo(
        f"{spec} from the run of {result.run_date} ({result.summary.get('method')}): "
        f"published share {share}; written {', '.join(str(f) for f in result.files)}"
    )


def register(app: typer.Typer) -> None:
    app.command("report")(report)
