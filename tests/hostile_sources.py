"""Source databases as a careless operational system may hold them, for the hostile-input
tests: a schema without types or keys (SQLite then stores anything), written from the demo
generator's clean tables, and helpers to put a value into one row."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from pipeline.demo.generator import generate_demo_tables

Tables = dict[str, dict[str, list[object]]]


def clean_tables(*, customers: int, seed: int, as_of: date) -> Tables:
    """The generator's tables without any dirty row, as plain Python lists."""
    tables = generate_demo_tables(customers=customers, seed=seed, as_of=as_of, dirty_rate=0)
    return {t: {c: v.tolist() for c, v in cols.items()} for t, cols in tables.items()}


def write_untyped(path: Path, tables: Tables) -> str:
    """Write ``tables`` into a new SQLite file with untyped, unkeyed columns; its URL."""
    conn = sqlite3.connect(path)
    for table, columns in tables.items():
        names = list(columns)
        conn.execute(f"CREATE TABLE {table} ({', '.join(names)})")
        marks = ", ".join("?" for _ in names)
        conn.executemany(
            f"INSERT INTO {table} VALUES ({marks})", list(zip(*columns.values(), strict=True))
        )
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


def set_value(conn: sqlite3.Connection, table: str, column: str, row: int, value: object) -> None:
    """Put ``value`` into ``column`` of the ``row``-th row (modulo the table's size).

    ``bytes`` are stored as TEXT (the way a client writing Shift_JIS does), not as a BLOB.
    """
    (n,) = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    if n == 0:
        return
    (rowid,) = conn.execute(
        f"SELECT rowid FROM {table} ORDER BY rowid LIMIT 1 OFFSET {row % n}"
    ).fetchone()
    cast = "CAST(? AS TEXT)" if isinstance(value, bytes) else "?"
    conn.execute(f"UPDATE {table} SET {column} = {cast} WHERE rowid = {rowid}", (value,))
