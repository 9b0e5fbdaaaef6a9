"""The `anonrelease` command line: one entry point for operators, scripts and the Makefile.

Each area registers its commands from its own module; heavy libraries are imported inside
the commands, so `anonrelease --help` stays fast.
"""

from __future__ import annotations

import typer

from pipeline import demo_cli, engine_cli, run_cli, validate_cli

app = typer.Typer(
    name="anonrelease",
    help="Release statistics that cannot identify an individual.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """anonrelease: de-identify, anonymize, validate and publish statistical releases."""


run_cli.register(app)
demo_cli.register(app)
engine_cli.register(app)
validate_cli.register(app)
