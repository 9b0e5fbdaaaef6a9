"""Extract: copy every source table, as text, into Parquet snapshots keyed by the run.

The raw snapshot is a faithful copy (every value as text, NULL kept) so that parsing and
validation decide what is wrong, with the original at hand for the quarantine file.

Text is read bytes-safe: SQLite stores whatever bytes a client wrote, and one byte that is not
UTF-8 used to fail the whole night with an error quoting the person's text. Values are decoded
here, one by one; a value that is not valid UTF-8 is kept with its bad bytes escaped
(``\\x93``) and its field is named in the snapshot's ``_undecodable`` column, so validate_raw
quarantines the row (``comment: not valid UTF-8 text``) and the night goes on.

Every failure is one of the project's errors, built from names and codes, never from a
database's message (SQLAlchemy and sqlite3 quote the data): a broken or foreign file, a
missing table or column is an :class:`ExtractError` naming the path or table; a server that
does not answer is :class:`SourceUnavailable` (transient: retried); a URL that names no
installed driver is :class:`SourceConfigError`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from pipeline.sources.schema import PRIMARY_KEYS, SOURCE_TABLES
from transforms.errors import ConfigurationError, DataError, TransientError
from transforms.parse import UNDECODABLE_COLUMN

CHUNK_ROWS = 200_000
# SQLite result codes after which the same read may succeed later (another writer's lock).
_SQLITE_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")


class ExtractError(DataError):
    """The source cannot be read as the contract says; the message names what is missing."""


class SourceUnavailable(TransientError):
    """The source database did not answer (a server down, a lock held): a retry may succeed."""


class SourceConfigError(ConfigurationError):
    """The source URL cannot work: not a database URL, or a driver that is not installed."""


@dataclass(frozen=True)
class TableSnapshot:
    table: str
    path: Path
    rows: int


def _sqlite_database(parsed: sa.URL) -> str | None:
    """The file of a SQLite URL (``None`` for another backend)."""
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or not Path(database).is_file():
        where = database or parsed.render_as_string(hide_password=True)
        raise ExtractError(f"source database not found: {where}")
    return database


def _engine(url: str) -> tuple[sa.Engine, str, bool]:
    """The engine, how messages name the source (path or redacted URL), and whether SQLite."""
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise SourceConfigError(
            "source_url is not a database URL (expected dialect+driver://...)"
        ) from None
    database = _sqlite_database(parsed)
    if database is not None:
        # Read-only: extract must never create or change the operational database.
        return sa.create_engine(f"sqlite:///file:{database}?mode=ro&uri=true"), database, True
    try:
        engine = sa.create_engine(parsed)
    except sa.exc.NoSuchModuleError:
        raise SourceConfigError(
            f"source_url: unknown database driver {parsed.drivername!r}"
        ) from None
    except ImportError as exc:
        raise SourceConfigError(
            f"source_url: the driver of {parsed.drivername!r} is not installed "
            f"(module {exc.name!r})"
        ) from None
    return engine, parsed.render_as_string(hide_password=True), False


def _failure(exc: Exception, *, source: str, sqlite: bool, doing: str) -> Exception:
    """Our error for a database or Arrow failure: its type or code, never its text."""
    if sqlite:
        code = getattr(getattr(exc, "orig", None), "sqlite_errorname", None)
        if code is not None and code.startswith(_SQLITE_BUSY):
            return SourceUnavailable(f"source database {source} is locked ({code}) {doing}")
        if code is not None:
            return ExtractError(
                f"source database {source} cannot be read as SQLite ({code}) {doing}"
            )
    elif isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError) or getattr(
        exc, "connection_invalidated", False
    ):
        return SourceUnavailable(
            f"source database {source} did not answer ({type(exc).__name__}) {doing}"
        )
    return ExtractError(f"source database {source}: {type(exc).__name__} {doing}")


def check_source(engine: sa.Engine) -> None:
    """Fail before reading anything if a table or column of the contract is missing."""
    inspector = sa.inspect(engine)
    tables = set(inspector.get_table_names())
    missing_tables = [t for t in SOURCE_TABLES if t not in tables]
    if missing_tables:
        raise ExtractError(f"source table(s) missing: {', '.join(missing_tables)}")
    for table, columns in SOURCE_TABLES.items():
        present = {c["name"] for c in inspector.get_columns(table)}
        missing = [c for c in columns if c not in present]
        if missing:
            raise ExtractError(f"source table {table!r} lacks column(s): {', '.join(missing)}")


def _text(value: object) -> tuple[str | None, bool]:
    """A value as the text the raw suites read, and whether it was valid UTF-8.

    Booleans are 0/1 whatever the database; bytes are decoded as UTF-8, and bytes that are
    not UTF-8 are kept with the bad bytes escaped (``\\x93``), flagged for quarantine.
    """
    if value is None:
        return None, True
    if isinstance(value, bool):
        return ("1" if value else "0"), True
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        try:
            return raw.decode("utf-8"), True
        except UnicodeDecodeError:
            return raw.decode("utf-8", errors="backslashreplace"), False
    return str(value), True


def _as_text(rows: Sequence[Sequence[object]], columns: Sequence[str]) -> list[pa.Array]:
    """One text array per column, then the undecodable fields of each row (NULL if none)."""
    arrays = []
    bad: list[list[str]] = [[] for _ in rows]
    for i, column in enumerate(columns):
        texts = []
        for r, row in enumerate(rows):
            text, ok = _text(row[i])
            texts.append(text)
            if not ok:
                bad[r].append(column)
        arrays.append(pa.array(texts, type=pa.string()))
    arrays.append(pa.array([",".join(b) if b else None for b in bad], type=pa.string()))
    return arrays


@contextmanager
def _bytes_safe(conn: sa.Connection, *, sqlite: bool) -> Iterator[None]:
    """On SQLite, have the driver hand over TEXT as bytes, so that decoding happens here."""
    if not sqlite:
        yield
        return
    driver = conn.connection.driver_connection
    previous = driver.text_factory  # type: ignore[union-attr]
    driver.text_factory = bytes  # type: ignore[union-attr]
    try:
        yield
    finally:
        driver.text_factory = previous  # type: ignore[union-attr]


def extract_table(
    conn: sa.Connection, table: str, out: Path, *, sqlite: bool = False
) -> TableSnapshot:
    """Stream one table, ordered by its key, to Parquet in bounded memory."""
    columns = list(SOURCE_TABLES[table])
    schema = pa.schema([(c, pa.string()) for c in [*columns, UNDECODABLE_COLUMN]])
    meta = sa.MetaData()
    source = sa.Table(table, meta, *(sa.Column(c) for c in columns))
    query = sa.select(*source.c).order_by(source.c[PRIMARY_KEYS[table]])
    rows = 0
    tmp = out.with_suffix(".parquet.tmp")
    with pq.ParquetWriter(tmp, schema) as writer, _bytes_safe(conn, sqlite=sqlite):
        result = conn.execution_options(stream_results=True).execute(query)
        while chunk := result.fetchmany(CHUNK_ROWS):
            writer.write_table(pa.Table.from_arrays(_as_text(chunk, columns), schema=schema))
            rows += len(chunk)
    tmp.replace(out)
    return TableSnapshot(table=table, path=out, rows=rows)


def extract_all(source_url: str, out_dir: Path) -> list[TableSnapshot]:
    """Snapshot every contract table into ``out_dir/<table>.parquet``."""
    engine, source, sqlite = _engine(source_url)
    doing = "while checking its tables"
    try:
        check_source(engine)
        # One transaction for all tables: on PostgreSQL a repeatable-read snapshot, so rows
        # written while extract runs cannot make the tables disagree with each other.
        isolation = "REPEATABLE READ" if engine.dialect.name == "postgresql" else None
        doing = "while connecting"
        with engine.connect() as conn:
            if isolation:
                conn = conn.execution_options(isolation_level=isolation)
            with conn.begin():
                snapshots = []
                for table in SOURCE_TABLES:
                    doing = f"while reading table {table!r}"
                    path = out_dir / f"{table}.parquet"
                    snapshots.append(extract_table(conn, table, path, sqlite=sqlite))
                return snapshots
    except (sa.exc.SQLAlchemyError, pa.ArrowException, UnicodeError) as exc:
        # ``from None``: the original's text quotes data and must not reach a traceback
        # (console, Airflow task log); it stays reachable as ``__context__`` for debugging.
        raise _failure(exc, source=source, sqlite=sqlite, doing=doing) from None
    finally:
        engine.dispose()
