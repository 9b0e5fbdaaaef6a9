"""Failure records for alerting: what failed, where, and whether a retry could help.

The Airflow DAG's ``on_failure_callback`` calls this; an alerting job tails the audit trail for
``task.failed``. Only names and the error's type go in (a foreign error's text may quote data).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.run import audit
from pipeline.run.context import context_for_logical_date
from pipeline.run.runner import failure_message
from transforms.errors import FinalError


def record_task_failure(context: Mapping[str, Any]) -> None:
    """Append a ``task.failed`` event for a failed task instance."""
    exc = context.get("exception")
    ti = context.get("ti") or context.get("task_instance")
    when = context.get("logical_date") or context["dag_run"].run_after
    ctx = context_for_logical_date(when)
    audit.record(
        ctx.config.workdir,
        run_id=ctx.run_id,
        event="task.failed",
        dag=getattr(ti, "dag_id", None),
        task=getattr(ti, "task_id", None),
        try_number=getattr(ti, "try_number", None),
        error=type(exc).__name__ if exc is not None else None,
        final=isinstance(exc, FinalError),
        message=failure_message(exc) if exc is not None else None,
    )
