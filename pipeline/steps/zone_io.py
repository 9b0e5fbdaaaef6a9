"""Reading and writing a run's zones, and finishing a step (report file and audit event)."""

from __future__ import annotations

from typing import TypeVar

import pandas as pd

from pipeline.run import audit
from pipeline.run.context import RunContext
from pipeline.run.step_reports import StepReport

R = TypeVar("R", bound=StepReport)


def read(ctx: RunContext, zone: str, name: str) -> pd.DataFrame:
    return pd.read_parquet(ctx.run_dir / zone / f"{name}.parquet")


def write(ctx: RunContext, zone: str, name: str, df: pd.DataFrame) -> None:
    df.to_parquet(ctx.zone(zone) / f"{name}.parquet", index=False)


def finish(ctx: RunContext, report: R) -> R:
    """Persist the step's report for the summary and record it in the audit trail."""
    ctx.write_report(report)
    fields = report.model_dump(mode="json", by_alias=True)
    audit.record(ctx.config.workdir, run_id=ctx.run_id, event=f"{report.step}.done", **fields)
    return report
