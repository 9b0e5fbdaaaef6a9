"""``anonrelease ledger [--recipient ID] [--since DATE]`` and ``ledger verify``: the provision
ledger (``pipeline.release.ledger``), listed and checked.

``ledger verify`` exits 0 when the hash chain holds from the first entry to the head (and
prints the head, to compare with a copy kept elsewhere), 1 naming the first entry that does
not hold (edited, deleted, inserted).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from pipeline.cli import options

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pipeline.cli.output import console as make_console

console = make_console()
ledger_app = typer.Typer(
    help="The provision ledger: every provision and refusal, hash-chained, append-only.",
    no_args_is_help=False,
)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="The ledger's SQLAlchemy URL (default: ANONRELEASE_LEDGER_URL, the config's "
        "ledger_url, or <workdir>/ledger.sqlite).",
    ),
]
WorkdirOption = Annotated[
    Path | None, typer.Option("--workdir", help="Internal work folder (default from config).")
]


def _url(url: str | None, workdir: Path | None) -> str:
    from pipeline.release.ledger import ledger_url
    from pipeline.settings.release_config import load_config

    if url is not None:
        return url
    config = load_config()
    return ledger_url(config.ledger_url, workdir or config.workdir)


def _shown(url: str) -> str:
    from pipeline.release.ledger import check_url

    return check_url(url)


@ledger_app.callback(invoke_without_command=True)
def ledger(
    ctx: typer.Context,
    recipient: Annotated[
        str | None, typer.Option("--recipient", help="Only this recipient's entries.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only entries recorded on or after this date (UTC)."),
    ] = None,
    url: UrlOption = None,
    workdir: WorkdirOption = None,
) -> None:
    """List the ledger's entries, oldest first (one line each)."""
    if ctx.invoked_subcommand is not None:
        return
    from pipeline.release.ledger import entries, exists, open_ledger

    day = options.run_date(since, option="--since") if since is not None else None
    where = _url(url, workdir)
    if not exists(where):
        console.print(f"no ledger at {_shown(where)} (nothing recorded yet)", markup=False)
        return
    found = entries(open_ledger(where), recipient=recipient, since=day)
    for e in found:
        datasets = ",".join(e.datasets) or "-"
        line = f"{e.id:>6}  {e.recorded_at[:19]}Z  {e.run}  {e.recipient}  {e.outcome}  {datasets}"
        console.print(line + (f"  {e.reason}" if e.reason else ""), markup=False, soft_wrap=True)
    console.print(f"{len(found)} entr{'y' if len(found) == 1 else 'ies'}", markup=False)


@ledger_app.command("verify")
def verify(
    url: UrlOption = None,
    workdir: WorkdirOption = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key", help="The manifest signing key's public key (PEM) for the signed head."
        ),
    ] = None,
) -> None:
    """Recompute the hash chain and compare it with the signed head; exit 1 naming the first
    thing that does not hold (an edited or deleted entry, the newest entries deleted)."""
    from pipeline.release.ledger import LedgerBroken, exists, open_ledger, verify_ledger
    from pipeline.release.ledger_checkpoint import checkpoint_problem

    where = _url(url, workdir)
    shown = _shown(where)
    if not exists(where):
        console.print(
            Text.assemble(("FAILED", "red"), f" no ledger at {shown} (never made, or removed)")
        )
        raise typer.Exit(1)
    try:
        state = verify_ledger(open_ledger(where))
    except LedgerBroken as exc:
        console.print(Text.assemble(("FAILED", "red"), f" {shown}: {exc}"))
        raise typer.Exit(exc.exit_code) from None
    root = options.workdir(workdir)
    key = _public_key(public_key)
    problem = checkpoint_problem(root, state, key) if key is not None else None
    if problem is not None:
        console.print(Text.assemble(("FAILED", "red"), f" {shown}: {problem}"))
        raise typer.Exit(1)
    head = f"entry {state.head_id} sha256 {state.head_sha256}" if state.head_id else "empty"
    signed = "" if key is not None else " (signed head not checked: give --public-key)"
    console.print(
        Text.assemble(
            ("OK", "green"), f" {shown}: {state.entries} entries chained; head {head}{signed}"
        )
    )


def _public_key(path: Path | None) -> Ed25519PublicKey | None:
    """The pinned public key, else the configured signing key's own, else None."""
    from pipeline.release.publish import load_public_key
    from pipeline.settings.keys import demo_mode
    from pipeline.settings.signing_keys import load_signing_key
    from transforms.errors import ConfigurationError

    if path is not None:
        return load_public_key(path.read_bytes(), str(path))
    try:
        return load_signing_key(demo=demo_mode()).public_key()
    except ConfigurationError:
        return None


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")
