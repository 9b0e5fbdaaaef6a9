"""
### analyst_report

An analyst's protected table on demand: manual trigger only. Params choose the report spec
(data/reports/), the date window and the protection method within what the spec allows; the
table is built from the latest nightly run's de-identified data, checked by the release gate's
report checks (the LP audit of a suppression pattern included) and written as CSV, Parquet and
a JSON summary under the analysts' folder. ``anonrelease report`` runs the same function and
writes the same bytes. Analysts only ever receive protected tables.
"""

from __future__ import annotations

from pathlib import Path

import pendulum
from airflow.sdk import ExceptionRetryPolicy, Param, RetryAction, RetryRule, dag, task

REPORTS_DIR = Path(__file__).resolve().parents[1] / "data" / "reports"
# Spec names from the file names: parsing reads no YAML and imports nothing of the project.
SPECS = sorted(p.stem for p in REPORTS_DIR.glob("*.yaml"))

RETRY_POLICY = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception="transforms.errors.FinalError",
            action=RetryAction.FAIL,
            reason="a spec, window, method or privacy check no retry can change",
        ),
    ],
)


@dag(
    dag_id="analyst_report",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Tokyo"),
    catchup=False,
    dagrun_timeout=pendulum.duration(hours=1),
    default_args={
        "owner": "anonrelease",
        "retries": 1,
        "retry_policy": RETRY_POLICY,
        "execution_timeout": pendulum.duration(minutes=30),
    },
    params={
        "spec": Param(SPECS[0] if SPECS else "", type="string", enum=SPECS),
        "date_from": Param(None, type=["null", "string"], format="date"),
        "date_to": Param(None, type=["null", "string"], format="date"),
        "method": Param(None, type=["null", "string"], enum=[None, "suppress", "cellkey", "dp"]),
        "recipient": Param("analysts", type="string", pattern=r"^[a-z0-9][a-z0-9_-]*$"),
    },
    tags=["anonrelease", "privacy", "analysts"],
    doc_md=__doc__,
)
def analyst_report() -> None:
    @task
    def build_report(params: dict | None = None) -> list[str]:
        from pipeline.steps.analyst_report import run_from_params

        return run_from_params(dict(params or {}))

    build_report()


analyst_report()
