"""The provision ledger: an append-only, hash-chained record of every provision and refusal.

APPI asks a business that provides data to a third party to keep a record of each provision
(and we keep the refusals beside them: why a recipient got nothing). Each entry states the
run, the recipient, the datasets, the sha256 of each file provided, the parameters each
dataset was built with (JSON), the outcome (``provided``, ``blocked``, ``held``,
``not_due``, ``refused`` (agreement not in force, notice not published), ``withdrawn``,
``failed``), the reason, and when it was recorded (UTC wall clock:
the ledger is a record, not a transform).

Tamper evidence: every entry carries the sha256 of the previous entry (``prev_sha256``) and
its own ``sha256``, computed over a canonical JSON of all its other fields (keys sorted, no
whitespace, UTF-8). :func:`verify_ledger` recomputes the chain from the first entry and names
the first entry that does not hold, so an edited or deleted entry is detected. Removing the
*latest* entries leaves a shorter chain that still holds: compare the head that ``anonrelease
ledger verify`` prints with a copy kept elsewhere (the audit trail records the head after each
append).

Nothing here updates or deletes an entry. On SQLite, triggers refuse ``UPDATE`` and ``DELETE``
on the table; on another database, grant the pipeline's role ``INSERT`` and ``SELECT`` only.
Entries are kept at least :data:`RETENTION_YEARS` years (APPI's retention for provision
records); no code of this project removes them.

The database is any SQLAlchemy URL: ``ANONRELEASE_LEDGER_URL``, else the config's
``ledger_url``, else SQLite at ``<workdir>/ledger.sqlite``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, get_args

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError

from transforms.errors import ConfigurationError, DataError, InternalError, TransientError

LEDGER_URL_ENV = "ANONRELEASE_LEDGER_URL"
LEDGER_FILE = "ledger.sqlite"
RETENTION_YEARS = 3
GENESIS = "0" * 64
Outcome = Literal["provided", "blocked", "held", "not_due", "refused", "withdrawn", "failed"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)

_metadata = MetaData()
provisions = Table(
    "provisions",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("run", String(64), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("datasets", Text, nullable=False),  # JSON list
    Column("files", Text, nullable=False),  # JSON {file name: sha256}
    Column("parameters", Text, nullable=False),  # JSON {dataset: parameters}
    Column("recorded_at", String(40), nullable=False),
    # Unique: two appends racing from the same head cannot both land (one chain, no fork).
    Column("prev_sha256", String(64), nullable=False, unique=True),
    Column("sha256", String(64), nullable=False),
)
_JSON_FIELDS = ("datasets", "files", "parameters")
_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS provisions_no_{what} BEFORE {what.upper()} ON provisions "
    "BEGIN SELECT RAISE(ABORT, 'the provision ledger is append-only'); END"
    for what in ("update", "delete")
]


class LedgerUnusable(ConfigurationError):
    """The ledger's URL is not a SQLAlchemy URL, or its driver is not installed."""


class LedgerUnavailable(TransientError):
    """The ledger database did not answer or refused the write (a retry may succeed)."""


class LedgerBroken(DataError):
    """The hash chain does not hold: an entry was edited, deleted or inserted."""

    def __init__(self, entry_id: int, problem: str) -> None:
        super().__init__(f"ledger entry {entry_id}: {problem}")
        self.entry_id = entry_id
        self.problem = problem


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    run: str
    recipient: str
    outcome: str
    reason: str
    datasets: tuple[str, ...]
    files: Mapping[str, str] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    recorded_at: str = ""
    prev_sha256: str = GENESIS
    sha256: str = ""


@dataclass(frozen=True)
class LedgerState:
    """What :func:`verify_ledger` found: how many entries, and the head of the chain."""

    entries: int
    head_id: int | None
    head_sha256: str


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_sha256(fields: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of an entry's fields (all but ``sha256`` itself)."""
    body = {k: v for k, v in fields.items() if k != "sha256"}
    return hashlib.sha256(_dumps(body).encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------- where


def database_url(env: str, configured: str | None, workdir: str | Path, file: str) -> str:
    """The environment variable ``env``, else ``configured``, else SQLite ``file`` in the
    workdir (the provision ledger and the DP budget ledger are found the same way)."""
    return os.environ.get(env) or configured or f"sqlite:///{Path(workdir).resolve() / file}"


def ledger_url(configured: str | None, workdir: str | Path) -> str:
    """``ANONRELEASE_LEDGER_URL``, else the config's ``ledger_url``, else SQLite in the workdir."""
    return database_url(LEDGER_URL_ENV, configured, workdir, LEDGER_FILE)


def check_url(url: str) -> str:
    """A SQLAlchemy URL whose driver is installed (not connected); the password hidden."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise LedgerUnusable("ledger URL is not a SQLAlchemy URL") from None
    shown = parsed.render_as_string(hide_password=True)
    try:
        parsed.get_dialect().import_dbapi()
    except (NoSuchModuleError, ImportError):
        raise LedgerUnusable(
            f"ledger URL {shown}: unknown dialect, or its driver is not installed"
        ) from None
    return shown


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return None if parsed.database == ":memory:" else Path(parsed.database)


def exists(url: str) -> bool:
    """False only for an SQLite ledger whose file was never made (nothing recorded yet)."""
    file = _sqlite_file(url)
    return file is None or file.exists()


def open_ledger(url: str) -> Engine:
    """An engine on the ledger, its table (and on SQLite its append-only triggers) created."""
    shown = check_url(url)
    file = _sqlite_file(url)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _busy_timeout(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA busy_timeout = 10000")

    try:
        _metadata.create_all(engine)
        if engine.dialect.name == "sqlite":
            with engine.begin() as conn:
                for trigger in _SQLITE_TRIGGERS:
                    conn.execute(text(trigger))
    except SQLAlchemyError as exc:
        raise LedgerUnavailable(
            f"ledger {shown}: cannot be opened ({type(exc).__name__})"
        ) from None
    if file is not None:
        file.chmod(0o600)
    return engine


# ----------------------------------------------------------------------------- append


def append(
    engine: Engine,
    *,
    run: str,
    recipient: str,
    outcome: Outcome,
    reason: str = "",
    datasets: Sequence[str] = (),
    files: Mapping[str, str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> LedgerEntry:
    """Append one entry after the current head; the only write this module makes."""
    if outcome not in OUTCOMES:
        raise InternalError(f"unknown ledger outcome {outcome!r}")
    recorded_at = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")
    for _attempt in range(5):
        try:
            with engine.begin() as conn:
                head = conn.execute(
                    select(provisions.c.id, provisions.c.sha256)
                    .order_by(provisions.c.id.desc())
                    .limit(1)
                ).first()
                fields: dict[str, Any] = {
                    "id": head.id + 1 if head else 1,
                    "run": run,
                    "recipient": recipient,
                    "outcome": outcome,
                    "reason": reason,
                    "datasets": list(datasets),
                    "files": dict(sorted((files or {}).items())),
                    "parameters": json.loads(_dumps(parameters or {})),
                    "recorded_at": recorded_at,
                    "prev_sha256": head.sha256 if head else GENESIS,
                }
                digest = entry_sha256(fields)
                row = {k: _dumps(v) if k in _JSON_FIELDS else v for k, v in fields.items()}
                conn.execute(insert(provisions).values(**row, sha256=digest))
        except IntegrityError:  # another writer appended from the same head: read it again
            continue
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(
                f"ledger: the entry for {recipient} ({outcome}) could not be written "
                f"({type(exc).__name__})"
            ) from None
        return _entry({**fields, "sha256": digest})
    raise LedgerUnavailable(f"ledger: the entry for {recipient} lost five races for the head")


# ----------------------------------------------------------------------------- read


def _entry(fields: Mapping[str, Any]) -> LedgerEntry:
    return LedgerEntry(**{**fields, "datasets": tuple(fields["datasets"])})


def _rows(engine: Engine) -> Iterator[Mapping[str, Any]]:
    try:
        with engine.connect() as conn:
            for row in conn.execute(select(provisions).order_by(provisions.c.id)).mappings():
                yield dict(row)
    except SQLAlchemyError as exc:
        raise LedgerUnavailable(f"ledger cannot be read ({type(exc).__name__})") from None


def _decoded(row: Mapping[str, Any]) -> dict[str, Any]:
    fields = dict(row)
    for name in _JSON_FIELDS:
        try:
            fields[name] = json.loads(fields[name])
        except (TypeError, ValueError):
            raise LedgerBroken(row["id"], f"edited: {name} is not valid JSON") from None
    return fields


def entries(
    engine: Engine, *, recipient: str | None = None, since: date | None = None
) -> list[LedgerEntry]:
    """Entries in order, optionally of one recipient and recorded on or after ``since`` (UTC)."""
    found = []
    for row in _rows(engine):
        if recipient is not None and row["recipient"] != recipient:
            continue
        if since is not None and row["recorded_at"][:10] < since.isoformat():
            continue
        found.append(_entry(_decoded(row)))
    return found


def verify_ledger(engine: Engine) -> LedgerState:
    """Recompute the chain from the first entry; raise :class:`LedgerBroken` at the first break."""
    prev, expected, count, head_id = GENESIS, 1, 0, None
    for row in _rows(engine):
        entry_id = row["id"]
        if entry_id != expected:
            raise LedgerBroken(
                entry_id, f"entry {expected} before it is missing (deleted), or ids were changed"
            )
        if row["prev_sha256"] != prev:
            before = "the start of the chain" if expected == 1 else f"entry {expected - 1}"
            raise LedgerBroken(
                entry_id,
                f"does not follow {before}: an earlier entry was edited or replaced",
            )
        fields = _decoded(row)
        if entry_sha256(fields) != row["sha256"]:
            raise LedgerBroken(entry_id, "edited: its content does not match its sha256")
        prev, expected, count, head_id = row["sha256"], expected + 1, count + 1, entry_id
    return LedgerState(entries=count, head_id=head_id, head_sha256=prev)
