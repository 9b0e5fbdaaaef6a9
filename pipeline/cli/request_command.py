"""``anonrelease request delete`` and ``request export``: customers' rights, answered directly.

Both need the HMAC key (the customer is recorded and audited by the prefix of their
pseudonym, never by the id) and act on the work folder (``--workdir``, default from config).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from pipeline.cli import options
from pipeline.cli.output import console as make_console

console = make_console()

# The audit trail's run field for requests answered outside a nightly run.
REQUESTS_RUN = "requests"

request_app = typer.Typer(
    help="Answer a customer's request: delete (a tombstone) or export their own data.",
    no_args_is_help=True,
)

CustomerId = Annotated[int, typer.Argument(help="The customer's id in the source database.")]
Workdir = Annotated[
    Path | None, typer.Option("--workdir", help="Internal work folder (default from config).")
]


def _key() -> bytes:
    from pipeline.settings.keys import demo_mode, load_hmac_key

    return load_hmac_key(demo=demo_mode())


@request_app.command("delete")
def delete(customer_id: CustomerId, workdir: Workdir = None) -> None:
    """Tombstone a customer: every later run excludes them, even from a restored backup."""
    from pipeline.rights.tombstones import delete_customer

    folder = options.workdir(workdir)
    done = delete_customer(folder, customer_id, key=_key(), run_id=REQUESTS_RUN)
    state = "recorded" if done.new else "already recorded"
    console.print(Text.assemble(("OK", "green"), f" tombstone {state} for customer {done.prefix}…"))
    details = done.past.audit_details()
    console.print(
        f"  included before: {details['microdata_releases']} microdata release(s)"
        f" (runs {', '.join(details['microdata_runs']) or '-'};"
        f" recipients {', '.join(details['microdata_recipients']) or '-'});"
        f" counted in {len(details['runs_counted'])} run(s)"
        f" ({', '.join(details['runs_counted']) or '-'})",
        markup=False,
    )
    console.print(
        "  what was already delivered (tables, microdata) cannot be recalled; "
        "the next run and every later one leave the customer out",
        markup=False,
    )


@request_app.command("export")
def export(
    customer_id: CustomerId,
    out: Annotated[Path, typer.Option("--out", help="The JSON file to write (owner-only).")],
    workdir: Workdir = None,
) -> None:
    """Write every record of one customer from the latest snapshot to a JSON file."""
    from pipeline.rights.export import export_customer

    folder = options.workdir(workdir)
    done = export_customer(folder, customer_id, out, key=_key(), run_id=REQUESTS_RUN)
    total = sum(done.records.values())
    console.print(
        Text.assemble(("OK", "green"), f" {total} record(s) from snapshot {done.snapshot} to "),
        Text(str(out)),
    )


def register(app: typer.Typer) -> None:
    app.add_typer(request_app, name="request")
