"""
### legal_disclosure

Answers one lawful demand for one customer's information (a court, a public prosecutor's
office, the police, a bar association, a consumer center or another authorised body).
Manual trigger only, with typed Params:

record_request -> approve (a person decides: Approve / Reject) -> disclose -> record_outcome

Nothing is read before a person approves. On approval, only the requested items of that
customer are written, owner-only, under ``<workdir>/legal_disclosures/`` (never a release
folder). A rejection, or no answer within the response timeout, produces nothing. Every step
is audited without values. The step bodies live in ``pipeline.rights.legal_disclosure``.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Param, dag, task

# The same words as pipeline.rights.legal_disclosure (REQUESTING_BODIES, ITEMS), repeated
# here so parsing imports nothing of the project; a test checks that they agree.
REQUESTING_BODIES = [
    "court",
    "public_prosecutors_office",
    "police",
    "bar_association",
    "consumer_center",
    "other_authorised_body",
]
ITEMS = [
    "profile",
    "visits",
    "questionnaires",
    "campaign_applications",
    "mail_subscriptions",
    "consents",
    "requests",
]
RESPONSE_TIMEOUT = pendulum.duration(days=7)


class RecordedApproval(ApprovalOperator):
    """ApprovalOperator that keeps the response (options, responder) as XCom ``response``.

    A Reject skips the downstream tasks by raising before the return value is pushed, so
    the audit of a rejection, with its approver, needs the response kept first.
    """

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        kept = {
            "chosen_options": list(event.get("chosen_options") or []),
            "responded_by_user": event.get("responded_by_user"),
        }
        context["ti"].xcom_push(key="response", value=kept)
        return super().execute_complete(context, event)


def _context() -> tuple[Any, Any, bytes, str]:
    """The demand, the work folder, the HMAC key and the run id of the current task."""
    from airflow.sdk import get_current_context

    from pipeline.rights.legal_disclosure import Demand
    from pipeline.settings.keys import demo_mode, load_hmac_key
    from pipeline.settings.release_config import load_config

    context = get_current_context()
    key = load_hmac_key(demo=demo_mode())
    demand = Demand.from_params(context["params"])
    return demand, load_config().workdir, key, context["run_id"]


@dag(
    dag_id="legal_disclosure",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Tokyo"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "anonrelease", "retries": 0},
    params={
        "requesting_body": Param(
            type="string", enum=REQUESTING_BODIES, description="Who makes the lawful demand"
        ),
        "legal_basis": Param(
            type="string", minLength=1, description="The law or order the demand rests on"
        ),
        "reference_number": Param(
            type="string", minLength=1, description="The requesting body's reference"
        ),
        "customer_id": Param(type="integer", minimum=1, description="The customer concerned"),
        "items": Param(
            type="array",
            items={"type": "string", "enum": ITEMS},
            minItems=1,
            uniqueItems=True,
            description="The items requested",
        ),
    },
    tags=["anonrelease", "privacy", "customers-rights"],
    doc_md=__doc__,
)
def legal_disclosure() -> None:
    @task
    def record_request() -> None:
        """Audit the demand; reads no customer data."""
        from pipeline.rights.legal_disclosure import record_demand

        demand, workdir, key, run_id = _context()
        record_demand(workdir, demand, key=key, run_id=run_id)

    approve = RecordedApproval(
        task_id="approve",
        subject="Lawful disclosure: {{ params.requesting_body }}, {{ params.reference_number }}",
        body=(
            "Requesting body: {{ params.requesting_body }}\n\n"
            "Legal basis: {{ params.legal_basis }}\n\n"
            "Reference number: {{ params.reference_number }}\n\n"
            "Customer id: {{ params.customer_id }}\n\n"
            "Items: {{ params['items'] | join(', ') }}\n\n"
            "Approve only after checking the demand's authority and legal basis."
        ),
        response_timeout=RESPONSE_TIMEOUT,
    )

    @task
    def disclose(response: dict[str, Any] | None) -> str:
        """Write the approved items (checks the approval again before reading anything)."""
        from pipeline.rights.legal_disclosure import disclose as write_disclosure

        demand, workdir, key, run_id = _context()
        result = write_disclosure(workdir, demand, response=response, key=key, run_id=run_id)
        return result.sha256

    @task(trigger_rule="all_done")
    def record_outcome() -> str:
        """Audit a rejection or a missing approval (an approval is audited by disclose).

        Runs whatever happened upstream; pulls the results itself, since a skipped or failed
        task has none.
        """
        from airflow.sdk import get_current_context

        from pipeline.rights.legal_disclosure import record_outcome as audit_outcome

        ti = get_current_context()["ti"]
        response = ti.xcom_pull(task_ids="approve", key="response")
        digest = ti.xcom_pull(task_ids="disclose")
        demand, workdir, key, run_id = _context()
        return audit_outcome(
            workdir, demand, response=response, disclosed=digest is not None, key=key, run_id=run_id
        )

    record_request() >> approve
    disclose(approve.output) >> record_outcome()


legal_disclosure()
