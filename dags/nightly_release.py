"""
### nightly_release

Every night (03:00 Asia/Tokyo) anonrelease turns the operational database into statistics
that cannot identify an individual, and publishes them per recipient:

extract -> validate_raw -> apply_customer_requests -> deidentify -> anonymize ->
build_tables -> validate_release -> publish

Each task is a few lines that call ``pipeline.run_steps.run_step``; the same functions run
under ``anonrelease run``. Tasks pass the run folder's path, never data. A failed privacy
check fails the run at once (no retry) and publishes nothing for what it concerns.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import Asset, dag, task
from airflow.timetables.trigger import CronTriggerTimetable

RAW_SNAPSHOT = Asset(name="anonrelease_raw_snapshot", uri="file:///anonrelease/warehouse/raw")
DEIDENTIFIED = Asset(
    name="anonrelease_deidentified", uri="file:///anonrelease/warehouse/deidentified"
)
ANONYMIZED = Asset(name="anonrelease_anonymized", uri="file:///anonrelease/warehouse/anonymized")
RELEASES = Asset(name="anonrelease_releases", uri="file:///anonrelease/releases")


def _run(step: str, outlet: Asset | None = None) -> str:
    """Run one pipeline step for this DAG run; privacy and data failures are not retried.

    The asset event of ``outlet`` carries the run and its real folder, for consumers.
    """
    from airflow.sdk import get_current_context
    from airflow.sdk.exceptions import AirflowFailException

    from pipeline.run_context import context_for_logical_date
    from pipeline.run_steps import final_errors, run_step

    context = get_current_context()
    # Runs triggered without a logical date (Airflow 3 allows it) fall back to run_after.
    when = context.get("logical_date") or context["dag_run"].run_after
    ctx = context_for_logical_date(when)
    try:
        run_step(ctx, step)
    except final_errors() as exc:
        raise AirflowFailException(f"{step}: {exc}") from exc
    if outlet is not None:
        context["outlet_events"][outlet].extra = {"run": ctx.run_id, "run_dir": str(ctx.run_dir)}
    return str(ctx.run_dir)


@dag(
    dag_id="nightly_release",
    schedule=CronTriggerTimetable("0 3 * * *", timezone="Asia/Tokyo"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Tokyo"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 2,
        # Tests shorten the wait between retries; production keeps five minutes.
        "retry_delay": pendulum.duration(
            seconds=int(os.environ.get("ANONRELEASE_RETRY_DELAY_SECONDS", "300"))
        ),
    },
    tags=["anonrelease", "privacy"],
    doc_md=__doc__,
)
def nightly_release() -> None:
    @task(outlets=[RAW_SNAPSHOT])
    def extract() -> str:
        return _run("extract", RAW_SNAPSHOT)

    @task
    def validate_raw(run_dir: str) -> str:
        return _run("validate_raw")

    @task
    def apply_customer_requests(run_dir: str) -> str:
        return _run("apply_customer_requests")

    @task(outlets=[DEIDENTIFIED])
    def deidentify(run_dir: str) -> str:
        return _run("deidentify", DEIDENTIFIED)

    @task(outlets=[ANONYMIZED])
    def anonymize(run_dir: str) -> str:
        return _run("anonymize", ANONYMIZED)

    @task
    def build_tables(run_dir: str) -> str:
        return _run("build_tables")

    @task
    def validate_release(run_dir: str) -> str:
        return _run("validate_release")

    @task(outlets=[RELEASES], retries=0)
    def publish(run_dir: str) -> str:
        return _run("publish", RELEASES)

    publish(
        validate_release(
            build_tables(anonymize(deidentify(apply_customer_requests(validate_raw(extract())))))
        )
    )


nightly_release()
