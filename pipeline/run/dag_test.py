"""Run the nightly DAG for one logical date through Airflow itself (``dag.test()``).

``airflow dags test`` exits 0 even when the run fails; operators and ``make demo`` need the
run's real outcome, so this loads the DAG from the DAG folder, runs it, and reports the
final state of the run and of each task.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.settings.paths import DAGS_DIR
from transforms.errors import InternalError

DAG_ID = "nightly_release"


class DagImportError(InternalError):
    """The DAG folder does not import (the message names the files, not their tracebacks)."""


@dataclass(frozen=True)
class DagRunOutcome:
    state: str
    tasks: dict[str, str]

    @property
    def succeeded(self) -> bool:
        return self.state == "success"


def logical_date_for(run_date: date, timezone: str = "Asia/Tokyo") -> datetime:
    """The logical date whose calendar day in ``timezone`` is ``run_date`` (noon, unambiguous)."""
    return datetime.combine(run_date, time(12, 0), tzinfo=ZoneInfo(timezone))


def run_dag(
    run_date: date, *, dag_folder: Path = DAGS_DIR, timezone: str = "Asia/Tokyo"
) -> DagRunOutcome:
    """Run the DAG for the logical date whose day in ``timezone`` (the config's) is the date."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dag_folder))
    if bag.import_errors:
        raise DagImportError(f"DAG import errors in: {', '.join(sorted(bag.import_errors))}")
    dag = bag.dags[DAG_ID]
    run = dag.test(logical_date=logical_date_for(run_date, timezone))
    tasks = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    return DagRunOutcome(state=str(run.state), tasks=tasks)
