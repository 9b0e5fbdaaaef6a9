"""``anonrelease config check``: the run's preflight on its own, one line per item checked."""

from __future__ import annotations

from typing import Annotated

import typer

from transforms.errors import EXIT_CONFIGURATION

config_app = typer.Typer(
    help="Check the configuration a run would use.", no_args_is_help=True, add_completion=False
)


@config_app.command("check")
def check(
    run_date: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="Also check this run date (YYYY-MM-DD) and load the suites for it "
            "(default: today, date not checked).",
            show_default=False,
        ),
    ] = None,
    allow_future_date: Annotated[
        bool,
        typer.Option(
            "--allow-future-date",
            help="Accept a run date after today (for testing; or ANONRELEASE_ALLOW_FUTURE_DATE=1).",
        ),
    ] = False,
) -> None:
    """Load and validate the config, partners, hierarchies, suites, key, source and folders.

    Prints one line per item checked; exits 0 when every item passes, 2 otherwise.
    """
    from rich.text import Text

    from pipeline.cli import options
    from pipeline.cli.output import console as make_console
    from pipeline.cli.output import one_line
    from pipeline.run.preflight import future_dates_allowed, run_checks
    from pipeline.settings.release_config import config_file, load_config
    from transforms.errors import AnonreleaseError

    day = options.run_date(run_date) if run_date is not None else None
    console = make_console()

    def line(ok: bool, item: str, detail: str) -> None:
        verdict = ("ok", "green") if ok else ("FAILED", "bold red")
        pad = " " * (7 - len(verdict[0]))
        console.print(Text.assemble(verdict, pad, f"{item:<13}", one_line(detail)))

    try:
        config = load_config()
    except AnonreleaseError as exc:
        line(False, "config", str(exc))
        raise typer.Exit(EXIT_CONFIGURATION) from None
    line(True, "config", f"{config_file()} (time zone {config.timezone})")
    allow = allow_future_date or future_dates_allowed()
    checks = run_checks(config, run_date=day, allow_future=allow)
    for c in checks:
        line(c.ok, c.item, c.detail)
    if not all(c.ok for c in checks):
        raise typer.Exit(EXIT_CONFIGURATION)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
