"""``anonrelease series``: the release series a run keeps, and the explicit reset of one.

A microdata series freezes the transformation of its first release. When that transformation
no longer satisfies the privacy profile, the series is held until an operator resets it; the
reset is audited, and the next release starts a new series.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import options

series_app = typer.Typer(help="Release series: list them, or reset one.", no_args_is_help=True)


@series_app.command("list")
def list_series(workdir: Annotated[Path | None, typer.Option("--workdir")] = None) -> None:
    """Every frozen series: dataset, cadence, transformation, first release."""
    from pipeline.release.series import SERIES_DIR, FrozenSeries

    root = options.workdir(workdir) / SERIES_DIR
    for path in sorted(root.glob("*/*.json")) if root.exists() else []:
        s = FrozenSeries.model_validate_json(path.read_text())
        typer.echo(
            f"{s.dataset}@{s.cadence}: {s.transformation} since {s.first_run} "
            f"(cut-off {s.first_cutoff})"
        )


@series_app.command("reset")
def reset(
    dataset: Annotated[str, typer.Argument(help="The dataset, e.g. customers_microdata.")],
    cadence: Annotated[str, typer.Argument(help="nightly, weekly or monthly.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")],
    workdir: Annotated[Path | None, typer.Option("--workdir")] = None,
) -> None:
    """Forget a series' frozen transformation; its next release starts a new series."""
    from pipeline.release.series import reset_series
    from pipeline.run import audit

    root = options.workdir(workdir)
    if not reset_series(root, dataset, cadence):
        typer.echo(f"no frozen series {dataset}@{cadence}", err=True)
        raise typer.Exit(1)
    audit.record(
        root, run_id="-", event="series.reset", series=f"{dataset}@{cadence}", reason=reason
    )
    typer.echo(f"reset {dataset}@{cadence}: the next release starts a new series")


def register(app: typer.Typer) -> None:
    app.add_typer(series_app, name="series")
