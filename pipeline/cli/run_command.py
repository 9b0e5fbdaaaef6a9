"""``anonrelease run``, ``summary``, ``verify``, ``dag-test`` and ``demo-key``: operating a release.

Options are checked before any work starts, then the preflight runs (``pipeline.run.preflight``),
then the run's lock is taken. A failure is raised to ``pipeline.cli.main``, which prints it on
one line and exits with its code (2 usage or configuration, 1 a failed check or data, 3 a run
of that date already in progress).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from pipeline.cli import options
from pipeline.cli.output import console as make_console

if TYPE_CHECKING:
    from pipeline.run.context import RunContext

console = make_console()

ALLOW_FUTURE_HELP = (
    "Accept a run date after today in the configured time zone (for testing only; "
    "or ANONRELEASE_ALLOW_FUTURE_DATE=1)."
)


def _context(run_date: date, out: str | None, workdir: Path | None) -> RunContext:
    from pipeline.run.context import RunContext
    from pipeline.settings.release_config import load_config

    config = load_config()
    updates: dict[str, object] = {}
    if out is not None:
        updates["release_root"] = out
    if workdir is not None:
        updates["workdir"] = workdir
    return RunContext(run_date=run_date, config=config.model_copy(update=updates))


def run(
    run_date: Annotated[
        str, typer.Option("--date", help="The run's date (YYYY-MM-DD), as the DAG's logical date.")
    ],
    out: Annotated[
        str | None,
        typer.Option("--out", help="Release root: a folder or fsspec URL (default from config)."),
    ] = None,
    workdir: Annotated[
        Path | None, typer.Option("--workdir", help="Internal work folder (default from config).")
    ] = None,
    allow_future_date: Annotated[
        bool, typer.Option("--allow-future-date", help=ALLOW_FUTURE_HELP)
    ] = False,
) -> None:
    """Run every step of the nightly release in process, without the scheduler."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from pipeline.run.lock import run_lock
    from pipeline.run.preflight import allowing_future_dates, preflight
    from pipeline.run.runner import run_all
    from pipeline.run.summary import render_summary
    from pipeline.steps import STEPS

    day = options.run_date(run_date)
    if out is not None:
        options.release_root(out, option="--out")
    if workdir is not None:
        options.folder(workdir, option="--workdir")
    ctx = _context(day, out, workdir)
    failure: Exception | None = None
    with allowing_future_dates(allow_future_date):
        preflight(ctx.config, run_date=day)
        with run_lock(ctx.config.workdir, ctx.run_id):
            columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
            bar_off = not console.is_terminal  # logs and pipes get the summary only
            with Progress(*columns, console=console, transient=True, disable=bar_off) as progress:
                bar = progress.add_task("release", total=len(STEPS))

                def on_step(step: str) -> None:
                    progress.update(bar, description=step, completed=STEPS.index(step))

                try:
                    run_all(ctx, on_step=on_step)
                except Exception as exc:  # summarized first, then reported by the CLI's root
                    failure = exc
    render_summary(ctx.pinned(), console=console)
    if failure is not None:
        raise failure


def summary(
    run_date: Annotated[str, typer.Option("--date", help="The run's date (YYYY-MM-DD).")],
    workdir: Annotated[Path | None, typer.Option("--workdir")] = None,
) -> None:
    """Print how a run ended, then what it read, excluded, quarantined and published."""
    from pipeline.run.summary import NoRunRecorded, has_record, render_summary

    ctx = _context(options.run_date(run_date), None, workdir).pinned()
    if not has_record(ctx):
        raise NoRunRecorded(ctx.run_id, ctx.config.workdir)
    render_summary(ctx, console=console)


def verify(
    folder: Annotated[str, typer.Argument(help="A release folder (path or fsspec URL).")],
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="The publisher's Ed25519 public key (PEM) you received out of band "
            "(default: the folder's own public_key.pem, which proves integrity, not origin).",
        ),
    ] = None,
) -> None:
    """Check a release folder: its signature, then every file against manifest.json.

    Exit 0 when the signature and every checksum hold, 1 naming what does not.
    """
    from pipeline.release.publish import (
        PUBLIC_KEY,
        ManifestMismatch,
        PublicKeyError,
        load_public_key,
        verify_release,
    )

    key = None
    if public_key is not None:
        try:
            data = public_key.read_bytes()
        except OSError as exc:
            raise PublicKeyError(
                f"--public-key {public_key}: cannot be read ({type(exc).__name__})"
            ) from None
        key = load_public_key(data, f"--public-key {public_key}")
    else:
        console.print(
            f"note: no --public-key given; using the folder's own {PUBLIC_KEY} "
            "(pin the key you received out of band to prove who signed it)",
            markup=False,
        )
    try:
        manifest = verify_release(folder, public_key=key)
    except ManifestMismatch as exc:
        console.print(Text.assemble(("FAILED", "red"), " ", str(exc)))
        raise typer.Exit(exc.exit_code) from None
    count = len(manifest["files"])
    console.print(
        Text.assemble(
            ("OK", "green"),
            f" {folder}: signature by {manifest['signed_by']} holds; "
            f"{count} file(s) match the manifest",
        )
    )


def dag_test(
    run_date: Annotated[str, typer.Option("--date", help="The run's date (YYYY-MM-DD).")],
    allow_future_date: Annotated[
        bool, typer.Option("--allow-future-date", help=ALLOW_FUTURE_HELP)
    ] = False,
) -> None:
    """Run the nightly_release DAG through Airflow (dag.test) and exit 1 unless it succeeded."""
    from pipeline.run.dag_test import run_dag
    from pipeline.run.preflight import allowing_future_dates, preflight
    from pipeline.settings.release_config import load_config

    day = options.run_date(run_date)
    config = load_config()
    with allowing_future_dates(allow_future_date):
        preflight(config, run_date=day)
        outcome = run_dag(day, timezone=config.timezone)
    for task, state in outcome.tasks.items():
        console.print(f"  {task}: {state}", markup=False)
    console.print(Text.assemble(f"DAG run {run_date}: ", (outcome.state, "bold")))
    if not outcome.succeeded:
        raise typer.Exit(1)


def demo_key(
    signing: Annotated[
        bool,
        typer.Option("--signing", help="The throwaway Ed25519 manifest signing key instead."),
    ] = False,
) -> None:
    """Create (once) a throwaway demo HMAC (or signing) key outside the repository; print it."""
    if signing:
        from pipeline.settings.signing_keys import create_demo_signing_key

        path = create_demo_signing_key()
        what = "Ed25519 manifest signing key"
    else:
        from pipeline.settings.keys import create_demo_key

        path = create_demo_key()
        what = "HMAC key"
    typer.echo(f"DEMO MODE: throwaway {what} (not for production) at {path}", err=True)
    typer.echo(str(path))


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("summary")(summary)
    app.command("verify")(verify)
    app.command("demo-key")(demo_key)
    app.command("dag-test")(dag_test)
