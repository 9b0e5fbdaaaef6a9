"""Option values checked before any work starts.

A wrong value is a usage error (exit code 2) that names the option and the accepted form,
printed on one line by ``pipeline.cli.main``; nothing has been read or written yet.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import typer

from transforms.errors import ConfigurationError

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def run_date(value: str, *, option: str = "--date") -> date:
    """A real calendar date written YYYY-MM-DD (``2026-13-45`` and ``yesterday`` are not)."""
    day = None
    if _ISO_DAY.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            day = None
    if day is None:
        raise typer.BadParameter(
            f"{value!r} is not a real date (expected YYYY-MM-DD, e.g. 2026-11-24)",
            param_hint=option,
        )
    return day


def folder(value: Path, *, option: str) -> Path:
    """A writable folder, or one that can be created (not a file)."""
    from pipeline.run.preflight import check_folder

    try:
        check_folder(value, what="folder")
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None
    return value


def workdir(value: Path | None, *, option: str = "--workdir") -> Path:
    """The internal work folder: ``--workdir`` checked as a folder, else the configured one."""
    if value is not None:
        return folder(value, option=option)
    from pipeline.settings.release_config import load_config

    return Path(load_config().workdir)


def release_root(value: str, *, option: str) -> str:
    """A writable local folder (or one that can be created), or an fsspec URL we can open."""
    from pipeline.run.preflight import check_release_root

    try:
        check_release_root(value)
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None
    return value
