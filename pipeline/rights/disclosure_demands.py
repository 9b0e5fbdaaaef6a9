"""Lawful demands answered from the command line: request -> approve | reject -> disclose.

The ``legal_disclosure`` DAG keeps a demand in its run's Params and the approval in Airflow's
human-in-the-loop tables. ``anonrelease legal-disclosure`` has no scheduler, so this module
keeps each demand and its decision as owner-only files under
``<workdir>/legal_disclosure_requests/`` (``<id>.json`` and ``<id>.decision.json``), each
created once and never rewritten: a decision cannot be changed or made twice. Every step
calls the DAG's own functions in :mod:`pipeline.rights.legal_disclosure` (``Demand.from_params``,
``record_demand``, ``disclose``, ``record_outcome``) with the request id as the audit trail's
run, so the validation, the owner-only output (``<workdir>/legal_disclosures/<id>.json``),
the audit events and the approval check are the DAG's. An approval names its approver;
``disclose`` rebuilds the approval response from the decision file and ``disclose`` refuses
without an explicit approval by a named user, before reading anything.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pipeline.rights.legal_disclosure import (
    APPROVE,
    Demand,
    DemandError,
    Disclosure,
    NotApprovedError,
    disclose,
    output_path,
    record_demand,
    record_outcome,
)
from pipeline.settings.storage import FILE_MODE, private_dir

REJECT = "Reject"  # ApprovalOperator.REJECT
REQUESTS = "legal_disclosure_requests"  # beside legal_disclosures/, which holds answers only
_ID = re.compile(r"^ld-[0-9]{8}-[0-9a-f]{8}$")
Outcome = Literal["approved", "rejected"]


class DemandStateError(DemandError):
    """A request id that is malformed, unknown, already decided or already disclosed."""


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    approver: str
    decided_at: str  # UTC, ISO 8601


@dataclass(frozen=True)
class StoredDemand:
    """One demand recorded from the command line, with its decision and whether it was
    disclosed."""

    request_id: str
    demand: Demand
    requested_at: str
    decision: Decision | None
    disclosed: bool

    @property
    def state(self) -> str:
        if self.disclosed:
            return "disclosed"
        if self.decision is None:
            return "pending"
        return self.decision.outcome

    def response(self) -> dict[str, Any] | None:
        """The decision as the DAG's approval task gives it (chosen options, responder)."""
        if self.decision is None:
            return None
        chosen = APPROVE if self.decision.outcome == "approved" else REJECT
        return {
            "chosen_options": [chosen],
            "responded_by_user": {"name": self.decision.approver},
        }


def requests_dir(workdir: str | Path) -> Path:
    return Path(workdir) / REQUESTS


def _path(workdir: str | Path, request_id: str, suffix: str = ".json") -> Path:
    if not _ID.match(request_id):
        raise DemandStateError("request id: not of the form ld-YYYYMMDD-xxxxxxxx")
    return requests_dir(workdir) / f"{request_id}{suffix}"


def _create(path: Path, body: Mapping[str, Any], *, exists: str) -> None:
    """Write ``body`` to a new owner-only file (``O_EXCL``: never overwritten, even by a
    concurrent command); ``exists`` is the message when the file is already there."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        raise DemandStateError(exists) from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def _now(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


def new_request(
    workdir: str | Path,
    params: Mapping[str, Any],
    *,
    key: bytes,
    now: datetime | None = None,
) -> StoredDemand:
    """Validate a demand (the DAG's checks), keep it and audit ``legal_disclosure.requested``.

    Reads no customer data. Returns the stored demand with its new id.
    """
    demand = Demand.from_params(params)
    stamp = now or datetime.now(UTC)
    request_id = f"ld-{stamp.astimezone(UTC):%Y%m%d}-{secrets.token_hex(4)}"
    requested_at = _now(stamp)
    _create(
        _path(workdir, request_id),
        {"request_id": request_id, "requested_at": requested_at, "demand": asdict(demand)},
        exists=f"{request_id}: already recorded",
    )
    record_demand(workdir, demand, key=key, run_id=request_id)
    return StoredDemand(request_id, demand, requested_at, None, False)


def load_request(workdir: str | Path, request_id: str) -> StoredDemand:
    """The demand ``request_id`` with its decision; an unknown id fails, naming the id."""
    path = _path(workdir, request_id)
    if not path.is_file():
        raise DemandStateError(f"{request_id}: no such lawful disclosure request")
    raw = json.loads(path.read_text(encoding="utf-8"))
    demand = Demand.from_params(raw["demand"])
    decision_path = _path(workdir, request_id, ".decision.json")
    decision = None
    if decision_path.is_file():
        decided = json.loads(decision_path.read_text(encoding="utf-8"))
        decision = Decision(decided["outcome"], decided["approver"], decided["decided_at"])
    disclosed = output_path(workdir, request_id).is_file()
    return StoredDemand(request_id, demand, raw["requested_at"], decision, disclosed)


def list_requests(workdir: str | Path) -> list[StoredDemand]:
    """Every demand recorded from the command line, oldest first."""
    folder = requests_dir(workdir)
    if not folder.is_dir():
        return []
    ids = sorted(p.stem for p in folder.glob("ld-*.json") if not p.stem.endswith(".decision"))
    stored = [load_request(workdir, i) for i in ids if _ID.match(i)]
    return sorted(stored, key=lambda s: (s.requested_at, s.request_id))


def decide(
    workdir: str | Path,
    request_id: str,
    *,
    outcome: Outcome,
    approver: str,
    key: bytes,
    now: datetime | None = None,
) -> StoredDemand:
    """Record a person's decision on a pending demand, once.

    ``approver`` names the person (required). A rejection is audited at once
    (``legal_disclosure.rejected``, with the approver) and nothing is read or written but
    the decision; an approval is audited by :func:`disclose_request`, as in the DAG.
    """
    name = approver.strip()
    if not name:
        raise DemandStateError("approver: a named person is required")
    stored = load_request(workdir, request_id)
    if stored.decision is not None:
        raise DemandStateError(f"{request_id}: already decided")
    decision = Decision(outcome, name, _now(now))
    _create(
        _path(workdir, request_id, ".decision.json"),
        asdict(decision),
        exists=f"{request_id}: already decided",
    )
    decided = StoredDemand(request_id, stored.demand, stored.requested_at, decision, False)
    if outcome == "rejected":
        record_outcome(
            workdir,
            decided.demand,
            response=decided.response(),
            disclosed=False,
            key=key,
            run_id=request_id,
        )
    return decided


def disclose_request(workdir: str | Path, request_id: str, *, key: bytes) -> Disclosure:
    """Write the approved demand's items (the DAG's :func:`disclose`), once.

    Without a recorded approval by a named person nothing is read (:class:`NotApprovedError`);
    a pending demand is then audited ``legal_disclosure.not_approved`` (a rejection was
    audited when it was made).
    """
    stored = load_request(workdir, request_id)
    if stored.disclosed:
        raise DemandStateError(f"{request_id}: already disclosed")
    try:
        return disclose(
            workdir, stored.demand, response=stored.response(), key=key, run_id=request_id
        )
    except NotApprovedError:
        if stored.decision is None:
            record_outcome(
                workdir, stored.demand, response=None, disclosed=False, key=key, run_id=request_id
            )
        raise
