"""``anonrelease legal-disclosure``: a lawful demand answered without the scheduler.

``request`` records the demand (validated as the ``legal_disclosure`` DAG validates its
Params; reads nothing), ``approve --approver NAME`` or ``reject --approver NAME`` records a
person's decision once, ``disclose`` writes the approved items of the one customer,
owner-only, under ``<workdir>/legal_disclosures/`` (refused without a recorded approval by a
named person), ``status`` lists the demands. The step bodies are the DAG's
(``pipeline.rights.legal_disclosure``, through ``pipeline.rights.disclosure_demands``), so the
audit events are the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from pipeline.cli import options
from pipeline.cli.output import console as make_console

console = make_console()

legal_app = typer.Typer(
    help="Answer a lawful demand (court, prosecutor, police, ...): request, approve or "
    "reject, disclose, status.",
    no_args_is_help=True,
)

# The Demand field a validation message names -> the option that gave it.
OPTION_OF = {
    "requesting_body": "--body",
    "legal_basis": "--legal-basis",
    "reference_number": "--reference",
    "customer_id": "--customer",
    "items": "--item",
}

RequestId = Annotated[str, typer.Argument(help="The request's id (ld-YYYYMMDD-xxxxxxxx).")]
Approver = Annotated[
    str, typer.Option("--approver", help="The person deciding, by name (kept in the audit).")
]
Workdir = Annotated[
    Path | None, typer.Option("--workdir", help="Internal work folder (default from config).")
]


def _key() -> bytes:
    from pipeline.settings.keys import demo_mode, load_hmac_key

    return load_hmac_key(demo=demo_mode())


@legal_app.command("request")
def request(
    body: Annotated[
        str,
        typer.Option(
            "--body",
            "--requesting-body",
            help="Who makes the demand: court, public_prosecutors_office, police, "
            "bar_association, consumer_center or other_authorised_body.",
        ),
    ],
    legal_basis: Annotated[
        str, typer.Option("--legal-basis", help="The law or order the demand rests on.")
    ],
    reference: Annotated[
        str, typer.Option("--reference", help="The requesting body's reference number.")
    ],
    customer: Annotated[int, typer.Option("--customer", help="The customer's id.")],
    item: Annotated[
        list[str],
        typer.Option(
            "--item",
            help="An item requested (repeat): profile, visits, questionnaires, "
            "campaign_applications, mail_subscriptions, consents, requests.",
        ),
    ],
    workdir: Workdir = None,
) -> None:
    """Record a lawful demand (audited; reads no customer data) for a person to decide."""
    from pipeline.rights.disclosure_demands import new_request
    from pipeline.rights.legal_disclosure import Demand, DemandFieldError

    params = {
        "requesting_body": body,
        "legal_basis": legal_basis,
        "reference_number": reference,
        "customer_id": customer,
        "items": item,
    }
    try:  # the DAG's validation, reported against the option that gave the field
        Demand.from_params(params)
    except DemandFieldError as exc:
        hint = OPTION_OF.get(exc.field, exc.field)
        raise typer.BadParameter(exc.problem, param_hint=hint) from None
    folder = options.workdir(workdir)
    stored = new_request(folder, params, key=_key())
    console.print(
        Text.assemble(
            ("OK", "green"),
            f" request {stored.request_id} recorded ({stored.demand.requesting_body}; "
            f"items {', '.join(stored.demand.items)}): pending a person's decision "
            f"(anonrelease legal-disclosure approve --approver NAME {stored.request_id})",
        )
    )


@legal_app.command("approve")
def approve(request_id: RequestId, approver: Approver, workdir: Workdir = None) -> None:
    """Record a named person's approval of a pending demand (once; it cannot be changed)."""
    from pipeline.rights.disclosure_demands import decide

    decided = decide(
        options.workdir(workdir), request_id, outcome="approved", approver=approver, key=_key()
    )
    console.print(
        Text.assemble(
            ("OK", "green"),
            f" {request_id} approved by {approver.strip()}; disclose it with "
            f"anonrelease legal-disclosure disclose {decided.request_id}",
        )
    )


@legal_app.command("reject")
def reject(request_id: RequestId, approver: Approver, workdir: Workdir = None) -> None:
    """Record a named person's rejection of a pending demand: nothing is disclosed."""
    from pipeline.rights.disclosure_demands import decide

    decide(options.workdir(workdir), request_id, outcome="rejected", approver=approver, key=_key())
    console.print(
        Text.assemble(
            ("OK", "green"), f" {request_id} rejected by {approver.strip()}: nothing disclosed"
        )
    )


@legal_app.command("disclose")
def disclose(request_id: RequestId, workdir: Workdir = None) -> None:
    """Write the approved demand's items of the one customer (owner-only, audited)."""
    from pipeline.rights.disclosure_demands import disclose_request

    done = disclose_request(options.workdir(workdir), request_id, key=_key())
    total = sum(done.records.values())
    console.print(
        Text.assemble(("OK", "green"), f" {total} record(s) written (owner-only) to "),
        Text(str(done.path)),
        Text(f" sha256 {done.sha256}"),
    )


@legal_app.command("status")
def status(
    request_id: Annotated[
        str | None, typer.Argument(help="One request (default: every request).")
    ] = None,
    workdir: Workdir = None,
) -> None:
    """Every demand recorded here: body, items, state (pending, approved, rejected,
    disclosed) and who decided. Never the customer or the reference."""
    from pipeline.rights.disclosure_demands import list_requests, load_request

    folder = options.workdir(workdir)
    stored = [load_request(folder, request_id)] if request_id else list_requests(folder)
    if not stored:
        console.print("no lawful disclosure requests", markup=False)
        return
    table = Table("request", "requested at (UTC)", "body", "items", "state", "decided by")
    for s in stored:
        table.add_row(
            Text(s.request_id),
            Text(s.requested_at),
            Text(s.demand.requesting_body),
            Text(", ".join(s.demand.items)),
            Text(s.state),
            Text(s.decision.approver if s.decision else "-"),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(legal_app, name="legal-disclosure")
