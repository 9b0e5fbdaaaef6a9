"""The legal_disclosure DAG: nothing before a person approves; then only what was asked.

The DAG runs under ``dag.test()`` in a child process; this process plays the approver the way
Airflow's Core API does (``PATCH .../hitlDetails``): it writes the response into the
HITLDetail row and resumes the parked task with ``handle_event_submit``.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from raw_snapshots import two_customers

from pipeline.rights import legal_disclosure as ld
from pipeline.run.audit import read_events

REPO = Path(__file__).resolve().parents[1]
KEY_HEX = "5a" * 32
KEY = bytes.fromhex(KEY_HEX)
CUSTOMER = 2
DEMAND = {
    "requesting_body": "court",
    "legal_basis": "Code of Civil Procedure art. 223",
    "reference_number": "R-2026-001",
    "customer_id": CUSTOMER,
    "items": ["profile", "consents"],
}
CHILD = textwrap.dedent(
    """
    import json, sys
    from airflow.dag_processing.dagbag import DagBag
    dag = DagBag(dag_folder=sys.argv[1]).dags["legal_disclosure"]
    try:
        run = dag.test(run_conf=json.loads(sys.argv[2]))
        out = {"state": str(run.state),
               "tasks": {t.task_id: str(t.state) for t in run.get_task_instances()}}
    except Exception as exc:
        out = {"error": type(exc).__name__}
    print("RESULT " + json.dumps(out), flush=True)
    """
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    wd = tmp_path / "warehouse"
    two_customers(wd)
    monkeypatch.setenv("ANONRELEASE_WORKDIR", str(wd))
    monkeypatch.setenv("ANONRELEASE_HMAC_KEY", KEY_HEX)
    return wd


def _start(conf: dict) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-u", "-c", CHILD, str(REPO / "dags"), json.dumps(conf)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ.copy(),
    )


def _result(child: subprocess.Popen[str]) -> dict:
    out, _ = child.communicate(timeout=240)
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert lines, out[-2000:]
    result: dict = json.loads(lines[-1].removeprefix("RESULT "))
    return result


def _approval_task(run_after: float) -> object | None:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        tis = session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == "legal_disclosure", TaskInstance.task_id == "approve"
            )
        ).all()
        fresh = [t for t in tis if t.start_date and t.start_date.timestamp() >= run_after - 1]
        return fresh[-1].state if fresh else None


def _wait_for_approval_request(child: subprocess.Popen[str], started: float) -> None:
    from airflow.utils.state import TaskInstanceState

    for _ in range(180):
        if _approval_task(started) == TaskInstanceState.AWAITING_INPUT:
            return
        assert child.poll() is None, child.communicate()[0][-2000:]
        time.sleep(1)
    raise AssertionError("the approval task never waited for input")


def _respond(started: float, option: str, user: str) -> None:
    """What the Core API's PATCH hitlDetails does: record the response, resume the task."""
    from airflow._shared.timezones import timezone
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import handle_event_submit
    from airflow.triggers.base import TriggerEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        tis = session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == "legal_disclosure", TaskInstance.task_id == "approve"
            )
        ).all()
        ti = [t for t in tis if t.start_date and t.start_date.timestamp() >= started - 1][-1]
        detail = session.scalar(select(HITLDetail).where(HITLDetail.ti_id == ti.id))
        detail.responded_by = {"id": "7", "name": user}
        detail.responded_at = timezone.utcnow()
        detail.chosen_options = [option]
        detail.params_input = {}
        session.add(detail)
        handle_event_submit(
            TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session
        )


def _events(workdir: Path) -> list[str]:
    return [e["event"] for e in read_events(workdir) if e["event"].startswith("legal_disclosure")]


def test_the_dag_is_manual_typed_and_waits_for_a_person_before_reading() -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.providers.standard.operators.hitl import ApprovalOperator

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    dag = bag.dags["legal_disclosure"]
    assert type(dag.timetable).__name__ == "NullTimetable"  # schedule=None: manual only
    order = [t.task_id for t in dag.topological_sort()]
    assert order == ["record_request", "approve", "disclose", "record_outcome"]
    assert isinstance(dag.get_task("approve"), ApprovalOperator)
    assert dag.get_task("disclose").upstream_task_ids == {"approve"}
    assert dag.get_task("record_outcome").trigger_rule == "all_done"
    params = dag.params
    assert params.get_param("requesting_body").schema["enum"] == list(ld.REQUESTING_BODIES)
    assert params.get_param("items").schema["items"]["enum"] == list(ld.ITEMS)


def test_a_requesting_body_outside_the_list_is_refused_by_params(airflow_db, workdir) -> None:
    child = _start({**DEMAND, "requesting_body": "journalist"})
    result = _result(child)
    assert result == {"error": "ParamValidationError"}
    assert not (workdir / ld.FOLDER).exists()
    assert _events(workdir) == []


def test_nothing_before_approval_then_only_the_requested_items(airflow_db, workdir) -> None:
    started = time.time()
    child = _start(DEMAND)
    try:
        _wait_for_approval_request(child, started)
        time.sleep(2)  # still waiting: nothing read, nothing written
        assert child.poll() is None
        assert not (workdir / ld.FOLDER).exists()
        assert _events(workdir) == ["legal_disclosure.requested"]
        _respond(started, "Approve", "privacy-officer")
        result = _result(child)
    finally:
        if child.poll() is None:
            child.kill()
    assert result["state"] == "success", result
    assert result["tasks"]["disclose"] == "success"
    files = list((workdir / ld.FOLDER).iterdir())
    assert len(files) == 1
    assert stat.S_IMODE((workdir / ld.FOLDER).stat().st_mode) == 0o700
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    answer = json.loads(files[0].read_text(encoding="utf-8"))
    assert sorted(answer["items"]) == ["consents", "profile"]  # visits were not asked for
    assert answer["items"]["profile"] == [
        {"customer_id": "2", "family_name": "佐藤", "phone": "090-0000-0002"}
    ]
    assert {r["customer_id"] for r in answer["items"]["consents"]} == {"2"}
    assert len(answer["items"]["consents"]) == 2
    assert answer["approved_by"] == "privacy-officer"
    events = [e for e in read_events(workdir) if e["event"].startswith("legal_disclosure")]
    assert [e["event"] for e in events] == [
        "legal_disclosure.requested",
        "legal_disclosure.approved",
        "legal_disclosure.written",
    ]
    assert events[1]["approver"] == "privacy-officer"
    import hashlib

    assert events[2]["sha256"] == hashlib.sha256(files[0].read_bytes()).hexdigest()
    audit_text = json.dumps(events, ensure_ascii=False)
    for value in ("佐藤", "090-0000-0002", "R-2026-001", "223"):
        assert value not in audit_text


def test_a_rejection_produces_nothing_and_is_audited_with_the_approver(airflow_db, workdir) -> None:
    started = time.time()
    child = _start(DEMAND)
    try:
        _wait_for_approval_request(child, started)
        _respond(started, "Reject", "privacy-officer")
        result = _result(child)
    finally:
        if child.poll() is None:
            child.kill()
    assert result["tasks"]["disclose"] == "skipped", result
    assert not (workdir / ld.FOLDER).exists()
    events = [e for e in read_events(workdir) if e["event"].startswith("legal_disclosure")]
    assert [e["event"] for e in events] == [
        "legal_disclosure.requested",
        "legal_disclosure.rejected",
    ]
    assert events[1]["approver"] == "privacy-officer"


def test_disclose_without_an_approval_reads_nothing(workdir) -> None:
    demand = ld.Demand.from_params(DEMAND)
    for response in (None, {"chosen_options": ["Reject"]}, {"chosen_options": ["Approve"]}):
        with pytest.raises(ld.NotApprovedError):
            ld.disclose(workdir, demand, response=response, key=KEY, run_id="r")
    assert not (workdir / ld.FOLDER).exists()
    unknown = ld.Demand.from_params({**DEMAND, "customer_id": 99})
    approved = {"chosen_options": ["Approve"], "responded_by_user": {"id": "7", "name": "a"}}
    with pytest.raises(ld.UnknownCustomerError):
        ld.disclose(workdir, unknown, response=approved, key=KEY, run_id="r")
    assert not (workdir / ld.FOLDER).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("requesting_body", "journalist"),
        ("items", []),
        ("items", ["profile", "passwords"]),
        ("customer_id", 0),
        ("reference_number", " "),
    ],
)
def test_a_demand_outside_the_rules_is_refused_naming_the_field(field, value) -> None:
    with pytest.raises(ld.DemandError, match=field):
        ld.Demand.from_params({**DEMAND, field: value})
