"""Preflight: everything a run needs is loaded and validated before extract touches the source.

A night should not read the operational database, validate, de-identify and search for an
hour only to find a typo in the partner registry. So before extract withdraws or resets
anything, and before ``anonrelease run`` starts its progress bar, this checks:

- the run date: not after today in the configured time zone, unless allowed for testing
  (``--allow-future-date`` or ``ANONRELEASE_ALLOW_FUTURE_DATE=1``);
- the source: a SQLAlchemy URL whose driver is installed; for SQLite, a file that exists and
  is a whole SQLite database (never opened for writing, never created);
- the work folder and the release root: writable folders, or creatable ones (a release
  root that is an fsspec URL needs a known protocol with its backend installed);
- the partner registry (against the datasets the run produces), the hierarchies of the
  quasi-identifiers, the raw and release GX suites with the profile's parameters, and the
  HMAC key and the manifest signing key (in demo mode, ``ANONRELEASE_DEMO=1``, the throwaway
  demo keys, as deidentify and publish), and the provision ledger's URL.

The release configuration itself was validated when it was loaded. ``anonrelease config
check`` runs the same checks on their own and prints one line per item. Messages name files,
fields and options; a source URL is shown with its password hidden.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.settings.release_config import ReleaseConfig
from transforms.errors import AnonreleaseError, ConfigurationError

ALLOW_FUTURE_DATE_ENV = "ANONRELEASE_ALLOW_FUTURE_DATE"
DEMO_ENV = "ANONRELEASE_DEMO"
SQLITE_HEADER = b"SQLite format 3\x00"


class PreflightFailed(ConfigurationError):
    """One or more preflight checks failed (exit code 2); the message lists each of them."""

    def __init__(self, failures: Sequence[PreflightCheck]) -> None:
        super().__init__(
            "preflight failed: " + "; ".join(f"{c.item}: {c.detail}" for c in failures)
        )
        self.failures = tuple(failures)


class FutureRunDate(ConfigurationError):
    """The run date is after today in the configured time zone."""


class SourceUnusable(ConfigurationError):
    """The source URL cannot be used: not a URL, driver missing, not a database file."""


class FolderUnusable(ConfigurationError):
    """A folder the run writes to is a file, or cannot be written or created."""


@dataclass(frozen=True)
class PreflightCheck:
    """One item checked: what was found (``ok``) or why it cannot be used."""

    item: str
    ok: bool
    detail: str


def future_dates_allowed() -> bool:
    return os.environ.get(ALLOW_FUTURE_DATE_ENV) == "1"


@contextlib.contextmanager
def allowing_future_dates(allow: bool = True) -> Iterator[None]:
    """Within the block, run dates after today are allowed (``--allow-future-date``).

    It sets ``ANONRELEASE_ALLOW_FUTURE_DATE`` for the block, so the extract step's own
    preflight sees the same permission, and restores it after.
    """
    if not allow:
        yield
        return
    before = os.environ.get(ALLOW_FUTURE_DATE_ENV)
    os.environ[ALLOW_FUTURE_DATE_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ALLOW_FUTURE_DATE_ENV, None)
        else:
            os.environ[ALLOW_FUTURE_DATE_ENV] = before


# ----------------------------------------------------------------------------- the checks


def check_run_date(run_date: date, *, timezone: str, allow_future: bool = False) -> str:
    """Refuse a run date after today in ``timezone`` unless ``allow_future``."""
    today = datetime.now(ZoneInfo(timezone)).date()
    if run_date > today and not allow_future:
        raise FutureRunDate(
            f"run date {run_date.isoformat()} is after today ({today.isoformat()} in "
            f"{timezone}); a future date is refused unless allowed for testing "
            f"(--allow-future-date or {ALLOW_FUTURE_DATE_ENV}=1)"
        )
    if run_date > today:
        return f"{run_date.isoformat()} (after today, allowed for testing)"
    return f"{run_date.isoformat()} (today is {today.isoformat()} in {timezone})"


def _sqlite_file(path: Path, shown: str) -> str:
    """A whole SQLite database file: header and size, read without opening it for writing."""
    if not path.exists():
        raise SourceUnusable(f"source database not found: {path}")
    if not path.is_file():
        raise SourceUnusable(f"source database {path}: not a file")
    size = path.stat().st_size
    try:
        with path.open("rb") as f:
            header = f.read(100)
    except OSError as exc:
        raise SourceUnusable(
            f"source database {path}: cannot be read ({type(exc).__name__})"
        ) from None
    if len(header) < 100 or not header.startswith(SQLITE_HEADER):
        raise SourceUnusable(f"source database {path}: not an SQLite database file")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The page count in the header is valid when its "version valid for" matches the
    # change counter (SQLite file format, section 1.3.8).
    if pages and header[24:28] == header[92:96] and size < pages * page_size:
        raise SourceUnusable(
            f"source database {path}: truncated ({size} of {pages * page_size} bytes)"
        )
    import sqlite3

    try:
        # Read-only, as extract opens it: never creates or changes the file.
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise SourceUnusable(
            f"source database {path}: not a readable SQLite database ({type(exc).__name__})"
        ) from None
    return f"{shown} (SQLite database, {size:,} bytes)"


def check_source(source_url: str) -> str:
    """A SQLAlchemy URL with an installed driver; for SQLite, a whole database file."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(source_url)
    except ArgumentError:
        raise SourceUnusable(
            "source_url is not a SQLAlchemy URL (expected dialect+driver://user@host/database)"
        ) from None
    shown = url.render_as_string(hide_password=True)
    try:
        dialect = url.get_dialect()
    except NoSuchModuleError:
        raise SourceUnusable(
            f"source_url {shown}: unknown database dialect or driver {url.drivername!r}"
        ) from None
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        missing = f" (module {exc.name!r} not found)" if exc.name else ""
        raise SourceUnusable(
            f"source_url {shown}: the driver for {url.drivername!r} is not installed{missing}"
        ) from None
    if url.get_backend_name() == "sqlite":
        database = url.database
        if not database or database == ":memory:":
            raise SourceUnusable(f"source_url {shown}: an SQLite source needs a database file")
        return _sqlite_file(Path(database), shown)
    return f"{shown} (driver {url.drivername} installed; not connected)"


def check_folder(path: str | Path, *, what: str) -> str:
    """A folder that exists and is writable, or can be created (it is not created here)."""
    folder = Path(path)
    if folder.exists():
        if not folder.is_dir():
            raise FolderUnusable(f"{what} {folder}: is a file, expected a folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise FolderUnusable(f"{what} {folder}: folder is not writable")
        return f"{folder} (writable folder)"
    parent = folder.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise FolderUnusable(f"{what} {folder}: {parent} is a file, expected a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise FolderUnusable(f"{what} {folder}: cannot be created ({parent} is not writable)")
    return f"{folder} (will be created)"


def check_release_root(root: str) -> str:
    """A local folder as :func:`check_folder`, or an fsspec URL whose backend is installed."""
    import fsspec

    protocol, path = fsspec.core.split_protocol(root)
    if protocol in (None, "file", "local"):
        return check_folder(path, what="release root")
    try:
        fs, _ = fsspec.core.url_to_fs(root)
    except (ImportError, ValueError) as exc:
        raise FolderUnusable(
            f"release root {root}: protocol {protocol!r} is unknown or its fsspec backend is "
            f"not installed ({type(exc).__name__})"
        ) from None
    return f"{root} ({type(fs).__name__}; not connected)"


def check_partners(config: ReleaseConfig) -> str:
    from pipeline.release.datasets import partner_registry
    from pipeline.release.purposes import check_kinds

    registry = partner_registry(config.partners)
    check_kinds(registry, config.consent)  # every kind names the consent purpose it serves
    return f"{config.partners} ({len(registry.recipients)} recipient(s))"


def check_hierarchies(config: ReleaseConfig) -> str:
    from pipeline.sources.hierarchies import HIERARCHY_COLUMNS, shipped_hierarchies

    columns = tuple(dict.fromkeys((*HIERARCHY_COLUMNS, *config.profile.quasi_identifiers)))
    trees = shipped_hierarchies(columns)
    return ", ".join(f"{c} ({trees[c].height} levels)" for c in columns)


def check_suites(config: ReleaseConfig, *, run_date: date) -> str:
    """Every raw suite for the run date, and the release suites with the profile's numbers."""
    from expectations.validation import load_suite
    from pipeline.release.datasets import MICRODATA
    from pipeline.release.gate import CandidateDataset, suite_for, suite_parameters
    from pipeline.sources.schema import RAW_SUITES, SUITE_VOCABULARIES

    names = []
    for suite in sorted(set(RAW_SUITES.values())):
        load_suite(suite, parameters={"run_date": run_date, **SUITE_VOCABULARIES})
        names.append(suite)
    profile = config.profile
    microdata = CandidateDataset(
        name=MICRODATA,
        path=Path(f"{MICRODATA}.csv"),
        kind="microdata",
        qi=tuple(profile.quasi_identifiers),
        sensitive=profile.sensitive,
    )
    suite = suite_for(microdata)
    load_suite(suite, parameters=suite_parameters(microdata, profile))
    names.append(suite)
    # The report tables' suite, as the gate fills it for a suppressed table (report_gate).
    load_suite(
        "released_tables",
        parameters={"count_column": "count", "min_cell_count": profile.min_cell_count},
    )
    names.append("released_tables")
    return ", ".join(dict.fromkeys(names))


def check_key() -> str:
    from pipeline.settings.keys import load_hmac_key

    demo = os.environ.get(DEMO_ENV) == "1"
    key = load_hmac_key(demo=demo)
    return f"HMAC key of {len(key)} bytes" + (" (demo mode: throwaway key)" if demo else "")


def check_signing_key() -> str:
    from pipeline.settings.signing_keys import fingerprint, load_signing_key

    demo = os.environ.get(DEMO_ENV) == "1"
    key = load_signing_key(demo=demo)
    return f"Ed25519 signing key {fingerprint(key)}" + (
        " (demo mode: throwaway key)" if demo else ""
    )


def check_ledger(config: ReleaseConfig) -> str:
    """The provision ledger's URL parses and its driver is installed (not connected)."""
    from pipeline.release.ledger import check_url, ledger_url

    return check_url(ledger_url(config.ledger_url, config.workdir)) + " (not connected)"


def _run_check(item: str, check: Callable[[], str]) -> PreflightCheck:
    try:
        return PreflightCheck(item, True, check())
    except AnonreleaseError as exc:
        return PreflightCheck(item, False, str(exc))
    except Exception as exc:  # a foreign error's text may quote data: its type only
        return PreflightCheck(item, False, f"unexpected {type(exc).__name__}")


def run_checks(
    config: ReleaseConfig, *, run_date: date | None = None, allow_future: bool | None = None
) -> list[PreflightCheck]:
    """Every check, each reported (nothing stops at the first failure)."""
    allow = future_dates_allowed() if allow_future is None else allow_future
    day = run_date or datetime.now(ZoneInfo(config.timezone)).date()
    checks: list[tuple[str, Callable[[], str]]] = []
    if run_date is not None:
        checks.append(
            (
                "run date",
                lambda: check_run_date(run_date, timezone=config.timezone, allow_future=allow),
            )
        )
    checks += [
        ("source", lambda: check_source(config.source_url)),
        ("workdir", lambda: check_folder(config.workdir, what="workdir")),
        ("release root", lambda: check_release_root(config.release_root)),
        ("partners", lambda: check_partners(config)),
        ("hierarchies", lambda: check_hierarchies(config)),
        ("suites", lambda: check_suites(config, run_date=day)),
        ("hmac key", check_key),
        ("signing key", check_signing_key),
        ("ledger", lambda: check_ledger(config)),
    ]
    return [_run_check(item, check) for item, check in checks]


def preflight(
    config: ReleaseConfig, *, run_date: date | None = None, allow_future: bool | None = None
) -> list[PreflightCheck]:
    """Run every check; raise :class:`PreflightFailed` naming each failed one."""
    checks = run_checks(config, run_date=run_date, allow_future=allow_future)
    failures = [c for c in checks if not c.ok]
    if failures:
        raise PreflightFailed(failures)
    return checks
