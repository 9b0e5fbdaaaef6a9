"""Lawful disclosure: one customer's requested items, for a lawful demand, after approval.

The privacy policy allows personal information to go to a court, a public prosecutor's
office, the police, a bar association, a consumer center or another authorised body on a
lawful demand. The ``legal_disclosure`` DAG (``dags/legal_disclosure.py``) takes the demand
as typed Params, records it, waits for a person to approve it (Airflow's human-in-the-loop
``ApprovalOperator``) and only then calls :func:`disclose`, which reads the latest raw
snapshot and writes the requested items of that one customer, and nothing else, to an
owner-only file under ``<workdir>/legal_disclosures/``: inside the internal work folder,
never a release folder. A rejection or a timeout produces nothing. Every step is audited
(``legal_disclosure.requested``, ``.approved`` / ``.rejected`` / ``.not_approved`` with the
approver, ``.written`` with the file's sha256), with the customer as the pseudonym's prefix
and never a value. ``anonrelease legal-disclosure`` calls the same functions
(``pipeline.rights.disclosure_demands``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.rights.export import (
    UnknownCustomerError,
    customer_records,
    latest_snapshot,
    records_payload,
)
from pipeline.rights.tombstones import customer_pseudonym, short
from pipeline.run import audit
from pipeline.settings.storage import private_dir, write_private
from transforms.errors import DataError, PrivacyCheckFailed

# The bodies that may make a lawful demand (privacy policy, "Management of personal
# information"); the DAG's Param offers exactly these.
REQUESTING_BODIES: tuple[str, ...] = (
    "court",
    "public_prosecutors_office",
    "police",
    "bar_association",
    "consumer_center",
    "other_authorised_body",
)
# The items a demand may name, each with the source tables it is made of.
ITEMS: dict[str, tuple[str, ...]] = {
    "profile": ("customers",),
    "visits": ("service_usage",),
    "questionnaires": ("questionnaire_responses",),
    "campaign_applications": ("campaign_applications",),
    "mail_subscriptions": ("mail_subscriptions",),
    "consents": ("consents",),
    "requests": ("customer_requests",),
}
FOLDER = "legal_disclosures"
APPROVE = "Approve"  # ApprovalOperator.APPROVE (not imported: this module needs no Airflow)


class DemandError(DataError):
    """A demand that cannot be acted on; the message names the field, never its value."""


class DemandFieldError(DemandError):
    """One field of a demand is invalid: ``field`` names it (the CLI maps it to its option)."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")


class NotApprovedError(PrivacyCheckFailed):
    """Disclosure was asked for without a recorded approval: nothing is read."""

    def __init__(self) -> None:
        super().__init__("no recorded approval for this demand: nothing is disclosed")


@dataclass(frozen=True)
class Demand:
    """A lawful demand as the DAG's Params give it."""

    requesting_body: str
    legal_basis: str
    reference_number: str
    customer_id: int
    items: tuple[str, ...]

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Demand:
        """Check the Params again (a CLI may call this without Airflow's validation)."""
        body = params.get("requesting_body")
        if body not in REQUESTING_BODIES:
            raise DemandFieldError("requesting_body", f"not one of {list(REQUESTING_BODIES)}")
        for field in ("legal_basis", "reference_number"):
            value = params.get(field)
            if not isinstance(value, str) or not value.strip():
                raise DemandFieldError(field, "required")
        customer = params.get("customer_id")
        if isinstance(customer, bool) or not isinstance(customer, int) or customer < 1:
            raise DemandFieldError("customer_id", "not a positive integer")
        items = params.get("items")
        if not isinstance(items, list | tuple) or not items:
            raise DemandFieldError("items", "at least one item is required")
        unknown = [i for i in items if i not in ITEMS]
        if unknown:
            raise DemandFieldError("items", f"{len(unknown)} not one of {list(ITEMS)}")
        return cls(
            requesting_body=str(body),
            legal_basis=str(params["legal_basis"]),
            reference_number=str(params["reference_number"]),
            customer_id=customer,
            items=tuple(sorted(set(items))),
        )


@dataclass(frozen=True)
class Disclosure:
    path: Path
    sha256: str
    records: dict[str, int]  # item -> number of records


def output_path(workdir: str | Path, run_id: str) -> Path:
    """Where the disclosure of one DAG run goes (owner-only, inside the work folder)."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)
    return Path(workdir) / FOLDER / f"{name}.json"


def _subject(demand: Demand, key: bytes) -> dict[str, Any]:
    """What the audit trail says of a demand: the body, the items, the customer's prefix."""
    return {
        "body": demand.requesting_body,
        "items": list(demand.items),
        "customer": short(customer_pseudonym(demand.customer_id, key=key)),
    }


def record_demand(workdir: str | Path, demand: Demand, *, key: bytes, run_id: str) -> None:
    """Audit that a demand arrived (before anyone approves it or anything is read)."""
    audit.record(
        workdir, run_id=run_id, event="legal_disclosure.requested", **_subject(demand, key)
    )


def approver(response: Mapping[str, Any] | None) -> str | None:
    """The responding user of an HITL response (``responded_by_user``), by name or id."""
    user = (response or {}).get("responded_by_user") or {}
    name = user.get("name") or user.get("id")
    return str(name) if name else None


def is_approved(response: Mapping[str, Any] | None) -> bool:
    """True only for an explicit Approve by a named user."""
    chosen = (response or {}).get("chosen_options") or []
    return list(chosen) == [APPROVE] and approver(response) is not None


def disclose(
    workdir: str | Path,
    demand: Demand,
    *,
    response: Mapping[str, Any] | None,
    key: bytes,
    run_id: str,
) -> Disclosure:
    """Write the demanded items of the one customer, after checking the approval.

    ``response`` is the approval task's result (chosen options and responding user); without
    an explicit approval nothing is read (:class:`NotApprovedError`). An unknown customer is
    audited and refused (:class:`UnknownCustomerError`), with no file.
    """
    if not is_approved(response):
        raise NotApprovedError
    subject = _subject(demand, key)
    audit.record(
        workdir,
        run_id=run_id,
        event="legal_disclosure.approved",
        approver=approver(response),
        **subject,
    )
    raw = latest_snapshot(workdir)
    tables = customer_records(raw, demand.customer_id)
    if not tables.get("customers"):
        audit.record(workdir, run_id=run_id, event="legal_disclosure.unknown", **subject)
        raise UnknownCustomerError(raw.parent.name)
    items = {item: [row for t in ITEMS[item] for row in tables.get(t, [])] for item in demand.items}
    body = {
        "requesting_body": demand.requesting_body,
        "legal_basis": demand.legal_basis,
        "reference_number": demand.reference_number,
        "customer_id": demand.customer_id,
        "snapshot": raw.parent.name,
        "approved_by": approver(response),
        "items": items,
    }
    payload = records_payload(body)
    target = output_path(workdir, run_id)
    private_dir(target.parent)
    write_private(target, payload)
    digest = hashlib.sha256(payload).hexdigest()
    counts = {item: len(rows) for item, rows in items.items()}
    audit.record(
        workdir,
        run_id=run_id,
        event="legal_disclosure.written",
        snapshot=raw.parent.name,
        records=counts,
        sha256=digest,
        **subject,
    )
    return Disclosure(path=target, sha256=digest, records=counts)


def record_outcome(
    workdir: str | Path,
    demand: Demand,
    *,
    response: Mapping[str, Any] | None,
    disclosed: bool,
    key: bytes,
    run_id: str,
) -> str:
    """Audit how the demand ended when nothing was disclosed; returns the outcome's name.

    ``rejected`` (with the approver), or ``not_approved`` (no response before the timeout,
    or the approval task failed): both produce nothing.
    """
    if disclosed:
        return "disclosed"
    outcome = "rejected" if response and response.get("chosen_options") else "not_approved"
    audit.record(
        workdir,
        run_id=run_id,
        event=f"legal_disclosure.{outcome}",
        approver=approver(response),
        **_subject(demand, key),
    )
    return outcome
