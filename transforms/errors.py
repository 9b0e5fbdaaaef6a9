"""The one root of every anonrelease error, and the markers that decide retries.

It sits at the bottom of the import graph (``transforms``) so every layer can raise it:
``transforms`` <- ``expectations`` <- ``pipeline`` <- ``dags``.

A failure is either **final** (the data, a privacy check or the configuration said no: a retry
five minutes later meets the same data and the same rules, so the task fails at once) or
**transient** (a database that did not answer, a destination that was briefly unreachable: a
retry may succeed). The DAG's retry policy and ``anonrelease run`` read the marker, never a
hand-kept list of classes.

Messages are built from names, counts and rules only, never from a person's values; a foreign
exception's text (SQLAlchemy, sqlite3, pyarrow quote data) is never put into one.
"""

from __future__ import annotations

# Exit codes of the command line (``anonrelease``): one per kind of final failure.
EXIT_CHECK_FAILED = 1
EXIT_CONFIGURATION = 2
EXIT_ALREADY_RUNNING = 3


class AnonreleaseError(Exception):
    """Root of every error the project raises on purpose."""

    exit_code: int = EXIT_CHECK_FAILED


class FinalError(AnonreleaseError):
    """No retry can fix this: the task fails at once and the run ends failed."""


class TransientError(AnonreleaseError):
    """May succeed on a later attempt (an unreachable database or destination)."""


class ConfigurationError(FinalError):
    """A configuration file, option or parameter is wrong (exit code 2)."""

    exit_code = EXIT_CONFIGURATION


class DataError(FinalError):
    """The data cannot be processed as it is (exit code 1); names table, row and field."""


class PrivacyCheckFailed(FinalError):
    """A privacy requirement was not met, so nothing it concerns is published (exit code 1)."""


class InternalError(FinalError):
    """An invariant of the pipeline itself broke (a bug, never the data): stop, do not retry."""
