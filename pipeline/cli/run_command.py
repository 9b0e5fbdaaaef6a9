"""``anonrelease run``, ``summary``, ``verify`` and ``demo-key``: operating a release."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipeline.run.context import RunContext
from transforms.errors import FinalError

console = Console()


def _context(run_date: date, out: Path | None, workdir: Path | None) -> RunContext:
    from pipeline.settings.release_config import load_config

    config = load_config()
    updates = {}
    if out is not None:
        updates["release_root"] = str(out)
    if workdir is not None:
        updates["workdir"] = workdir
    return RunContext(run_date=run_date, config=config.model_copy(update=updates))


def run(
    run_date: Annotated[
        str, typer.Option("--date", help="The run's date (YYYY-MM-DD), as the DAG's logical date.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Release root (default from config).")
    ] = None,
    workdir: Annotated[
        Path | None, typer.Option("--workdir", help="Internal work folder (default from config).")
    ] = None,
) -> None:
    """Run every step of the nightly release in process, without the scheduler."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from pipeline.run.runner import run_all
    from pipeline.run.summary import render_summary
    from pipeline.steps import STEPS

    ctx = _context(date.fromisoformat(run_date), out, workdir)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    failure: FinalError | None = None
    with Progress(*columns, console=console, transient=True) as progress:
        bar = progress.add_task("release", total=len(STEPS))

        def on_step(step: str) -> None:
            progress.update(bar, description=f"[bold]{step}", completed=STEPS.index(step))

        try:
            run_all(ctx, on_step=on_step)
        except FinalError as exc:
            failure = exc
    render_summary(ctx.pinned(), console=console)
    if failure is not None:
        console.print(f"run failed: {failure}", style="red", markup=False, highlight=False)
        raise typer.Exit(failure.exit_code) from failure


def summary(
    run_date: Annotated[str, typer.Option("--date", help="The run's date (YYYY-MM-DD).")],
    workdir: Annotated[Path | None, typer.Option("--workdir")] = None,
) -> None:
    """Print what a run read, excluded, quarantined and published."""
    from pipeline.run.summary import render_summary

    ctx = _context(date.fromisoformat(run_date), None, workdir)
    if not ctx.run_dir.exists():
        console.print(f"[red]no run folder for {run_date}:[/red] {ctx.run_dir}")
        raise typer.Exit(1)
    render_summary(ctx, console=console)


def verify(
    folder: Annotated[str, typer.Argument(help="A release folder (path or fsspec URL).")],
) -> None:
    """Check a release folder against its manifest.json (sha256 and row counts)."""
    from pipeline.release.publish import ManifestMismatch, verify_release

    try:
        manifest = verify_release(folder)
    except ManifestMismatch as exc:
        console.print(f"[red]FAILED[/red] {exc}")
        raise typer.Exit(1) from exc
    count = len(manifest["files"])
    console.print(f"[green]OK[/green] {folder}: {count} file(s) match the manifest")


def dag_test(
    run_date: Annotated[str, typer.Option("--date", help="The run's date (YYYY-MM-DD).")],
) -> None:
    """Run the nightly_release DAG through Airflow (dag.test) and exit 1 unless it succeeded."""
    from pipeline.run.dag_test import run_dag

    outcome = run_dag(date.fromisoformat(run_date))
    for task, state in outcome.tasks.items():
        console.print(f"  {task}: {state}")
    console.print(f"DAG run {run_date}: [bold]{outcome.state}[/bold]")
    if not outcome.succeeded:
        raise typer.Exit(1)


def demo_key() -> None:
    """Create (once) a throwaway demo HMAC key outside the repository; print its path."""
    from pipeline.settings.keys import create_demo_key

    path = create_demo_key()
    typer.echo(f"DEMO MODE: throwaway HMAC key (not for production) at {path}", err=True)
    typer.echo(str(path))


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("summary")(summary)
    app.command("verify")(verify)
    app.command("demo-key")(demo_key)
    app.command("dag-test")(dag_test)
