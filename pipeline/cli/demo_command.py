"""``anonrelease demo-data``: create the demo operational database the pipeline reads."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.demo import DEMO_DATE

DEFAULT_AS_OF = DEMO_DATE.isoformat()  # a fixed anchor: the demo never depends on today's date


def demo_data(
    customers: Annotated[int, typer.Option(min=1, help="Number of customers.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same database.")] = 42,
    db: Annotated[
        str | None,
        typer.Option(
            help="SQLAlchemy URL to (re)create (default: SQLite file data/demo/source.sqlite).",
            show_default=False,
        ),
    ] = None,
    as_of: Annotated[
        str, typer.Option(help="Last day of the data (YYYY-MM-DD); every date is on or before it.")
    ] = DEFAULT_AS_OF,
    dirty_rate: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Share of customer/usage/questionnaire rows with a defect."
        ),
    ] = 0.001,
) -> None:
    """Generate a realistic, seeded demo source database (replacing an existing one)."""
    from datetime import date

    from rich.console import Console
    from rich.table import Table
    from sqlalchemy.engine import make_url

    from pipeline.demo.generator import generate_demo_database
    from pipeline.settings import paths

    try:
        as_of_day = date.fromisoformat(as_of)
    except ValueError as exc:
        raise typer.BadParameter("expected YYYY-MM-DD", param_hint="--as-of") from exc
    # Deliberately not ANONRELEASE_SOURCE_URL: that may name the real operational database,
    # whose tables this command would drop.
    url = db or f"sqlite:///{paths.DEFAULT_SOURCE_DB}"
    counts = generate_demo_database(
        url, customers=customers, seed=seed, as_of=as_of_day, dirty_rate=dirty_rate
    )
    table = Table(title=f"demo data: seed {seed}, as of {as_of_day.isoformat()}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in counts.items():
        table.add_row(name, f"{rows:,}")
    console = Console()
    console.print(table)
    shown = make_url(url).render_as_string(hide_password=True)
    console.print(f"written to {shown}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("demo-data")(demo_data)
