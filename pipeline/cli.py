"""The `anonrelease` command line: one entry point for operators, scripts and the Makefile."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="anonrelease",
    help="Release statistics that cannot identify an individual.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """anonrelease: de-identify, anonymize, validate and publish statistical releases."""
