"""Retries follow the error's marker: every final error fails its DAG task at once.

The DAG's ``ExceptionRetryPolicy`` names ``transforms.errors.FinalError`` by its dotted path;
these tests hold every project error class against the real policy object of the parsed DAG,
and the DAG end-to-end tests (tests/test_nightly_dag.py) show a final failure is audited.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from project_errors import project_errors

from transforms.errors import FinalError, TransientError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def policy():
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(REPO / "dags")).dags["nightly_release"]
    policies = {t.task_id: t.retry_policy for t in dag.tasks}
    assert all(p is not None for p in policies.values())
    return policies["extract"]


def test_every_final_error_fails_at_once_and_transient_ones_retry(policy) -> None:
    from airflow.sdk import RetryAction

    errors = project_errors()
    finals = [c for c in errors if issubclass(c, FinalError)]
    assert len(finals) > 30
    for cls in errors:
        exc = cls.__new__(cls)  # the class is what the policy matches, not the message
        decision = policy.evaluate(exc, try_number=1, max_tries=3)
        expected = RetryAction.FAIL if issubclass(cls, FinalError) else RetryAction.DEFAULT
        assert decision.action == expected, cls.__qualname__
    for cls in (ConnectionError, TimeoutError, OSError):  # foreign: Airflow's own retries
        assert policy.evaluate(cls(), try_number=1, max_tries=3).action == RetryAction.DEFAULT
    assert any(issubclass(c, TransientError) for c in errors)
