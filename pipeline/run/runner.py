"""Run the release steps in process, in the DAG's order: ``anonrelease run`` and the DAG.

Whether a failure is retried is decided by its marker (``transforms.errors``): a
``FinalError`` (data, privacy, configuration) fails at once; anything else may be retried.

Each step, and the whole of ``run_all``, holds the run's lock (``pipeline.run.lock``): a
second run of the same date and work folder is refused before it writes anything, not even
an audit event (its ``<step>.failed`` would read as the running one's failure).

Everything a run writes into the work folder is owner-only (``pipeline.settings.storage``):
the umask is 0o077 while a step runs, and the run's folder is tightened after each step.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from pipeline.run import audit
from pipeline.run.context import RunContext
from pipeline.run.lock import run_lock
from pipeline.run.step_reports import StepReport
from pipeline.settings.storage import owner_only, private_dir, restrict_tree
from pipeline.steps import STEPS
from transforms.errors import AnonreleaseError, FinalError, InternalError

Step = Callable[[RunContext], StepReport]


class UnknownStepError(InternalError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown step {name!r}; expected one of {', '.join(STEPS)}")
        self.name = name


def step_function(name: str) -> Step:
    """The function of step ``name`` (module ``pipeline.steps.<name>``, imported on use)."""
    if name not in STEPS:
        raise UnknownStepError(name)
    module = importlib.import_module(f"pipeline.steps.{name}")
    step: Step = getattr(module, name)
    return step


def failure_message(exc: BaseException) -> str:
    """What the audit trail and the console may say about a failure.

    Our own errors are built from names, counts and rules. A foreign exception's text may
    quote data (SQLAlchemy and sqlite3 do), so only its type is given.
    """
    if isinstance(exc, AnonreleaseError):
        return str(exc)
    return f"unexpected {type(exc).__name__} (details withheld: they may quote data)"


def run_step(ctx: RunContext, name: str) -> StepReport:
    """Run one step by name, recording a failure in the audit log before re-raising."""
    step = step_function(name)
    with owner_only():
        private_dir(ctx.config.workdir)
        with run_lock(ctx.config.workdir, ctx.run_id):
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
                    final=isinstance(exc, FinalError),
                    message=failure_message(exc),
                )
                raise
            finally:
                restrict_tree(ctx.run_dir)


def run_all(
    ctx: RunContext, *, on_step: Callable[[str], None] | None = None
) -> dict[str, StepReport]:
    """Every step in order, under one lock; stops at the first failure (nothing later runs)."""
    reports: dict[str, StepReport] = {}
    with owner_only():
        private_dir(ctx.config.workdir)
        with run_lock(ctx.config.workdir, ctx.run_id):
            for name in STEPS:
                if on_step:
                    on_step(name)
                reports[name] = run_step(ctx, name)
    return reports
