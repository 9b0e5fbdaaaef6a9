"""
### nightly_release

Every night (03:00 Asia/Tokyo) anonrelease turns the operational database into statistics
that cannot identify an individual, and publishes them per recipient:

extract -> validate_raw -> apply_customer_requests -> deidentify -> anonymize ->
build_tables -> validate_release -> publish

Each task is a few lines that call ``pipeline.run.runner.run_step``; the same functions run
under ``anonrelease run``. Tasks pass the run folder's path, never data: extract pins the
configuration into that folder and every later task works from it. Retries follow the error's
marker (``transforms.errors``): a final failure (data, privacy, configuration) fails the task
at once and publishes nothing for what it concerns; a transient one is retried.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import (
    Asset,
    CronTriggerTimetable,
    ExceptionRetryPolicy,
    RetryAction,
    RetryRule,
    dag,
    task,
)

# Name-only assets: where the data lives is configuration (a local folder, a bucket).
RAW_SNAPSHOT = Asset(name="anonrelease_raw_snapshot")
DEIDENTIFIED = Asset(name="anonrelease_deidentified")
ANONYMIZED = Asset(name="anonrelease_anonymized")
RELEASES = Asset(name="anonrelease_releases")

# A dotted path, so parsing imports nothing of the project.
RETRY_POLICY = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception="transforms.errors.FinalError",
            action=RetryAction.FAIL,
            reason="data, privacy or configuration failure: a retry meets the same rules",
        ),
    ],
)


def _record_failure(context: dict) -> None:
    """on_failure_callback: one audit event per failed task, for alerting."""
    from pipeline.run.alerts import record_task_failure

    record_task_failure(context)


def _run(step: str, run_dir: str | None, outlet: Asset | None = None) -> str:
    """Run one pipeline step for this DAG run; return the run folder for the next task.

    The asset event of ``outlet`` carries the run and its real folder, for consumers.
    """
    from airflow.sdk import get_current_context

    from pipeline.run.context import RunContext, context_for_logical_date
    from pipeline.run.runner import run_step

    context = get_current_context()
    if run_dir is None:
        # Runs triggered without a logical date (Airflow 3 allows it) fall back to run_after.
        ctx = context_for_logical_date(context.get("logical_date") or context["dag_run"].run_after)
    else:
        ctx = RunContext.from_run_dir(run_dir)
    run_step(ctx, step)
    if outlet is not None:
        context["outlet_events"][outlet].extra = {"run": ctx.run_id, "run_dir": str(ctx.run_dir)}
    return str(ctx.run_dir)


@dag(
    dag_id="nightly_release",
    schedule=CronTriggerTimetable("0 3 * * *", timezone="Asia/Tokyo"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Tokyo"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=pendulum.duration(hours=6),
    default_args={
        "owner": "anonrelease",
        "retries": 2,
        "retry_delay": pendulum.duration(minutes=5),
        "retry_policy": RETRY_POLICY,
        "execution_timeout": pendulum.duration(hours=1),
        "on_failure_callback": _record_failure,
    },
    tags=["anonrelease", "privacy"],
    doc_md=__doc__,
)
def nightly_release() -> None:
    @task(outlets=[RAW_SNAPSHOT])
    def extract() -> str:
        return _run("extract", None, RAW_SNAPSHOT)

    @task
    def validate_raw(run_dir: str) -> str:
        return _run("validate_raw", run_dir)

    @task
    def apply_customer_requests(run_dir: str) -> str:
        return _run("apply_customer_requests", run_dir)

    @task(outlets=[DEIDENTIFIED])
    def deidentify(run_dir: str) -> str:
        return _run("deidentify", run_dir, DEIDENTIFIED)

    @task(outlets=[ANONYMIZED])
    def anonymize(run_dir: str) -> str:
        return _run("anonymize", run_dir, ANONYMIZED)

    @task
    def build_tables(run_dir: str) -> str:
        return _run("build_tables", run_dir)

    @task
    def validate_release(run_dir: str) -> str:
        return _run("validate_release", run_dir)

    # Publishing is idempotent (it replaces the run's folders), so transient errors retry.
    @task(outlets=[RELEASES])
    def publish(run_dir: str) -> str:
        return _run("publish", run_dir, RELEASES)

    publish(
        validate_release(
            build_tables(anonymize(deidentify(apply_customer_requests(validate_raw(extract())))))
        )
    )


nightly_release()
