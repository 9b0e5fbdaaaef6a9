"""Run the release steps in process, in the DAG's order: ``anonrelease run`` uses this."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline import audit, steps
from pipeline.run_context import RunContext


def final_errors() -> tuple[type[Exception], ...]:
    """Failures a retry cannot fix (the data or a privacy check said no): fail at once."""
    from pipeline.config import ConfigError
    from pipeline.extract import ExtractError
    from pipeline.keys import MissingKeyError
    from pipeline.partners import PartnerRegistryError
    from pipeline.release_datasets import RecipientsBlocked, ReleaseBlocked
    from transforms.hierarchy import HierarchyError
    from transforms.pseudonymize import WeakKeyError

    return (
        ConfigError,
        ExtractError,
        HierarchyError,
        MissingKeyError,
        PartnerRegistryError,
        RecipientsBlocked,
        ReleaseBlocked,
        WeakKeyError,
        steps.QuarantineThresholdExceeded,
        steps.UnreadableRequestError,
    )


def run_step(ctx: RunContext, name: str) -> dict[str, Any]:
    """Run one step by name, recording a failure in the audit log before re-raising."""
    step: Callable[[RunContext], dict[str, Any]] = getattr(steps, name)
    if name != "extract":
        ctx = ctx.pinned()
    audit.record(ctx.config.workdir, run_id=ctx.run_id, event=f"{name}.started")
    try:
        return step(ctx)
    except Exception as exc:
        audit.record(
            ctx.config.workdir,
            run_id=ctx.run_id,
            event=f"{name}.failed",
            error=type(exc).__name__,
            message=str(exc),
        )
        raise


def run_all(
    ctx: RunContext, *, on_step: Callable[[str], None] | None = None
) -> dict[str, dict[str, Any]]:
    """Every step in order; stops at the first failure (nothing later runs)."""
    reports = {}
    for name in steps.STEPS:
        if on_step:
            on_step(name)
        reports[name] = run_step(ctx, name)
    return reports
