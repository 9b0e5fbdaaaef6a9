"""The `anonrelease` command line: one entry point for operators, scripts and the Makefile.

Each area registers its commands from its own module; heavy libraries are imported inside
the commands, so `anonrelease --help` stays fast.
"""

from __future__ import annotations

import typer

from pipeline.cli import (
    demo_command,
    engine_command,
    run_command,
    series_command,
    validate_command,
)

app = typer.Typer(
    name="anonrelease",
    help="Release statistics that cannot identify an individual.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """anonrelease: de-identify, anonymize, validate and publish statistical releases."""


run_command.register(app)
demo_command.register(app)
engine_command.register(app)
validate_command.register(app)
series_command.register(app)
