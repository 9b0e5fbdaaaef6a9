"""``anonrelease notice``: the public notices (公表文) of anonymously processed information.

``notice build`` writes, for each anonymously processed dataset some recipient may receive,
the notice the configuration gives now (categories of information and method of provision,
Japanese and English) to ``<workdir>/notices/<dataset>.notice.md``, for an operator to put on
the website. ``notice publish DATASET --on DATE`` records that it was published that day;
a release refuses the dataset unless the notice it would need now was recorded as published
on or before the provision date. ``notice status`` lists what is published.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.cli import options

if TYPE_CHECKING:
    from pipeline.settings.release_config import ReleaseConfig

notice_app = typer.Typer(
    help="Public notices of anonymously processed information: build, publish, status.",
    no_args_is_help=True,
)
WorkdirOption = Annotated[
    Path | None, typer.Option("--workdir", help="Internal work folder (default from config).")
]


def _current(config: ReleaseConfig) -> dict[str, str]:
    from pipeline.release.datasets import partner_registry
    from pipeline.release.legal import current_notices

    return current_notices(
        quasi_identifiers=config.profile.quasi_identifiers,
        sensitive=config.profile.sensitive,
        registry=partner_registry(config.partners),
        release_root=config.release_root,
    )


def _config_and_workdir(workdir: Path | None) -> tuple[ReleaseConfig, Path]:
    from pipeline.settings.release_config import load_config

    config = load_config()
    return config, Path(workdir) if workdir is not None else Path(config.workdir)


@notice_app.command("build")
def build(workdir: WorkdirOption = None) -> None:
    """Write each notice the configuration gives now; print where (one path a line)."""
    from pipeline.release.legal import write_notice

    config, root = _config_and_workdir(workdir)
    for dataset, text in sorted(_current(config).items()):
        typer.echo(str(write_notice(root, dataset, text)))


@notice_app.command("publish")
def publish(
    dataset: Annotated[str, typer.Argument(help="The dataset, e.g. customers_microdata.")],
    on: Annotated[str, typer.Option("--on", help="The day it was published (YYYY-MM-DD).")],
    where: Annotated[
        str | None, typer.Option("--where", help="Where it was published (a URL).")
    ] = None,
    workdir: WorkdirOption = None,
) -> None:
    """Record that the current notice of DATASET was published on a day (writes it too)."""
    from pipeline.release.legal import record_publication, write_notice

    config, root = _config_and_workdir(workdir)
    day = options.run_date(on, option="--on")
    notices = _current(config)
    if dataset not in notices:
        known = ", ".join(sorted(notices)) or "none"
        typer.echo(f"{dataset}: no notice to publish (datasets with one: {known})", err=True)
        raise typer.Exit(2)
    path = write_notice(root, dataset, notices[dataset])
    entry = record_publication(root, dataset, on=day, text=notices[dataset], where=where)
    typer.echo(f"recorded: {dataset} notice published on {day} (sha256 {entry.sha256[:12]})")
    typer.echo(str(path))


@notice_app.command("status")
def status(
    date: Annotated[
        str | None, typer.Option("--date", help="Provision date to check (default today).")
    ] = None,
    workdir: WorkdirOption = None,
) -> None:
    """Whether each notice is published for a provision on a day; exit 1 if one is not."""
    import datetime as dt

    from pipeline.release.legal import notice_path, notice_problem

    config, root = _config_and_workdir(workdir)
    day = options.run_date(date, option="--date") if date is not None else dt.date.today()
    missing = False
    for dataset, text in sorted(_current(config).items()):
        problem = notice_problem(root, dataset, text=text, on=day)
        missing = missing or problem is not None
        typer.echo(f"{dataset}: {problem or 'published'} ({notice_path(root, dataset)})")
    if missing:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(notice_app, name="notice")
