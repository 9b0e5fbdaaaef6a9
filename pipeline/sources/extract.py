"""Extract: copy every source table, as text, into Parquet snapshots keyed by the run.

The raw snapshot is a faithful copy (every value as text, NULL kept) so that parsing and
validation decide what is wrong, with the original at hand for the quarantine file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from pipeline.sources.schema import PRIMARY_KEYS, SOURCE_TABLES
from transforms.errors import DataError

CHUNK_ROWS = 200_000


class ExtractError(DataError):
    """The source cannot be read as the contract says; the message names what is missing."""


@dataclass(frozen=True)
class TableSnapshot:
    table: str
    path: Path
    rows: int


def _engine(url: str) -> sa.Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or not Path(database).is_file():
            raise ExtractError(f"source database not found: {database or url}")
        # Read-only: extract must never create or change the operational database.
        return sa.create_engine(f"sqlite:///file:{database}?mode=ro&uri=true")
    return sa.create_engine(url)


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


def _text(value: object) -> str | None:
    """A value as the text the raw suites read; booleans as 0/1 whatever the database."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _as_text(values: list[object]) -> pa.Array:
    return pa.array([_text(v) for v in values], type=pa.string())


def extract_table(conn: sa.Connection, table: str, out: Path) -> TableSnapshot:
    """Stream one table, ordered by its key, to Parquet in bounded memory."""
    columns = list(SOURCE_TABLES[table])
    schema = pa.schema([(c, pa.string()) for c in columns])
    meta = sa.MetaData()
    source = sa.Table(table, meta, *(sa.Column(c) for c in columns))
    query = sa.select(*source.c).order_by(source.c[PRIMARY_KEYS[table]])
    rows = 0
    tmp = out.with_suffix(".parquet.tmp")
    with pq.ParquetWriter(tmp, schema) as writer:
        result = conn.execution_options(stream_results=True).execute(query)
        while chunk := result.fetchmany(CHUNK_ROWS):
            arrays = [_as_text([r[i] for r in chunk]) for i in range(len(columns))]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            rows += len(chunk)
    tmp.replace(out)
    return TableSnapshot(table=table, path=out, rows=rows)


def extract_all(source_url: str, out_dir: Path) -> list[TableSnapshot]:
    """Snapshot every contract table into ``out_dir/<table>.parquet``."""
    engine = _engine(source_url)
    try:
        check_source(engine)
        # One transaction for all tables: on PostgreSQL a repeatable-read snapshot, so rows
        # written while extract runs cannot make the tables disagree with each other.
        isolation = "REPEATABLE READ" if engine.dialect.name == "postgresql" else None
        with engine.connect() as conn:
            if isolation:
                conn = conn.execution_options(isolation_level=isolation)
            with conn.begin():
                return [extract_table(conn, t, out_dir / f"{t}.parquet") for t in SOURCE_TABLES]
    except sa.exc.OperationalError as exc:
        raise ExtractError(f"cannot read source database: {exc.orig}") from exc
    finally:
        engine.dispose()
