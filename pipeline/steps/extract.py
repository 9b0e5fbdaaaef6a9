"""extract: preflight, start the run afresh, pin its configuration, snapshot every table."""

from __future__ import annotations

from pipeline.release.publish import withdraw_run
from pipeline.run import audit
from pipeline.run.context import RunContext
from pipeline.run.preflight import preflight
from pipeline.run.step_reports import ExtractReport
from pipeline.sources.extract import extract_all
from pipeline.steps.zone_io import finish


def extract(ctx: RunContext) -> ExtractReport:
    """Start the run afresh, pin its config, and snapshot every source table as text.

    Preflight comes first (``pipeline.run.preflight``): a configuration, registry, suite,
    hierarchy or key that cannot be used fails here, before the source is read and before
    anything is withdrawn or reset, so an earlier attempt's files stay as they were.
    Then whatever an earlier attempt of this run published is withdrawn: if this attempt
    fails anywhere, nothing half-checked or stale stays published for the night.
    """
    checked = preflight(ctx.config, run_date=ctx.run_date)
    audit.record(
        ctx.config.workdir,
        run_id=ctx.run_id,
        event="preflight.passed",
        checked=[c.item for c in checked],
    )
    withdrawn = withdraw_run(ctx.config.release_root, ctx.run_id)
    for folder in withdrawn:
        audit.record(
            ctx.config.workdir, run_id=ctx.run_id, event="release.withdrawn", folder=folder
        )
    # The URL as loaded (it may hold a password); the pinned config keeps it redacted.
    source_url = ctx.config.source_url
    ctx.reset()
    ctx = ctx.pin()
    snapshots = extract_all(source_url, ctx.zone("raw"))
    report = ExtractReport(rows_read={s.table: s.rows for s in snapshots}, withdrawn=withdrawn)
    return finish(ctx, report)
