"""The `anonrelease` command line: one entry point for operators, scripts and the Makefile.

Each area registers its commands from its own module; heavy libraries are imported inside
the commands, so `anonrelease --help` stays fast.

Every failure ends here, in :class:`AnonreleaseGroup`, as one line on stderr and an exit code:

- 2: usage or configuration (an option's value, a config or registry field, a missing key);
- 1: a failed check or a data failure;
- 3: a run of the same date is already in progress in the same work folder.

A project error (``transforms.errors.AnonreleaseError``) prints its own message, which is
built from names, counts and rules. Any other exception prints only its type: a foreign
text (SQLAlchemy, sqlite3, pyarrow) may quote data. ``--debug`` (or ``ANONRELEASE_DEBUG=1``)
also prints the traceback, to the terminal only.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from pipeline.cli import (
    config_command,
    demo_command,
    engine_command,
    ledger_command,
    legal_disclosure_command,
    notice_command,
    report_command,
    request_command,
    run_command,
    series_command,
    validate_command,
)
from pipeline.cli.output import one_line
from pipeline.settings.storage import owner_only
from transforms.errors import EXIT_CHECK_FAILED, EXIT_CONFIGURATION, AnonreleaseError

DEBUG_ENV = "ANONRELEASE_DEBUG"
_debug = {"on": False}


def failure(exc: BaseException) -> tuple[str, int]:
    """The line to print for an exception that ended a command, and the exit code."""
    if isinstance(exc, AnonreleaseError):
        return str(exc), exc.exit_code
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):  # a model validated outside our loaders
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or exc.title}: {err['msg']}"
            for err in exc.errors()
        )
        return f"invalid {exc.title}: {problems}", EXIT_CONFIGURATION
    return f"unexpected {type(exc).__name__} (run with --debug for details)", EXIT_CHECK_FAILED


def _error(message: str) -> None:
    typer.echo(f"error: {one_line(message)}", err=True)


class AnonreleaseGroup(TyperGroup):
    """The top-level command group: turns every failure into one line and an exit code."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        _debug["on"] = os.environ.get(DEBUG_ENV) == "1"
        try:
            with owner_only():  # what a command writes is the operator's own (see storage)
                result = super().main(
                    args=args,
                    prog_name=prog_name,
                    complete_var=complete_var,
                    standalone_mode=False,
                    windows_expand_args=windows_expand_args,
                    **extra,
                )
            code = result if isinstance(result, int) else 0
        except typer.TyperException as exc:  # usage errors (exit code 2) and the like
            if type(exc).__name__ == "NoArgsIsHelpError":  # typer has printed the help
                code = exc.exit_code
            else:
                ctx = getattr(exc, "ctx", None)
                usage = exc.exit_code == EXIT_CONFIGURATION and ctx is not None
                hint = f" (see '{ctx.command_path} --help')" if usage and ctx is not None else ""
                _error(exc.format_message() + hint)
                code = exc.exit_code
        except typer.Abort:
            _error("aborted")
            code = EXIT_CHECK_FAILED
        except Exception as exc:
            if _debug["on"]:
                traceback.print_exception(exc, file=sys.stderr)
            message, code = failure(exc)
            _error(message)
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    name="anonrelease",
    help="Release statistics that cannot identify an individual.",
    no_args_is_help=True,
    add_completion=False,
    cls=AnonreleaseGroup,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="On a failure, also print the traceback (to the terminal only; "
            f"or set {DEBUG_ENV}=1).",
        ),
    ] = False,
) -> None:
    """anonrelease: de-identify, anonymize, validate and publish statistical releases.

    Exit codes: 0 success, 1 a failed check or a data failure, 2 usage or configuration,
    3 a run of that date is already in progress.
    """
    if debug:
        _debug["on"] = True


run_command.register(app)
config_command.register(app)
demo_command.register(app)
engine_command.register(app)
validate_command.register(app)
series_command.register(app)
request_command.register(app)
ledger_command.register(app)
notice_command.register(app)
report_command.register(app)
legal_disclosure_command.register(app)
