"""Own-data export: every record of one customer from the latest raw snapshot, as JSON.

The customer's right to have their information released to them: the contact center runs
``anonrelease request export CUSTOMER_ID --out FILE``. The export holds the customer's rows
of every source table that has a ``customer_id`` (profile, visits, questionnaires with their
comments, campaign applications, mail subscriptions, consents, requests) exactly as the
source held them when the latest run read it, and nobody else's. It is readable JSON (UTF-8,
Japanese as written), and the file is owner-only. The audit trail records the export with the
pseudonym's prefix and the number of records per table, never a value; an unknown customer
is answered "no customer with that id" and audited too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.rights.tombstones import customer_pseudonym, short
from pipeline.run import audit
from pipeline.settings.storage import private_dir, write_private
from pipeline.sources.schema import SOURCE_TABLES
from transforms.errors import DataError
from transforms.parse import parse_integers

CUSTOMER_TABLES = tuple(t for t, columns in SOURCE_TABLES.items() if "customer_id" in columns)


class NoSnapshotError(DataError):
    """No run has read the source yet: there is nothing to export from."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(f"no raw snapshot in {workdir}: run the pipeline first")
        self.workdir = workdir


class UnknownCustomerError(DataError):
    """The latest snapshot has no record of that customer (the message names no id)."""

    def __init__(self, snapshot: str) -> None:
        super().__init__(f"no customer with that id (latest snapshot: run {snapshot})")
        self.snapshot = snapshot


@dataclass(frozen=True)
class Export:
    snapshot: str
    records: dict[str, int]  # table -> number of the customer's records
    sha256: str


def _is_run(folder: Path) -> bool:
    try:
        date.fromisoformat(folder.name)
    except ValueError:
        return False
    return (folder / "raw" / "customers.parquet").exists()


def latest_snapshot(workdir: str | Path) -> Path:
    """The raw folder of the latest run that snapshotted the source."""
    root = Path(workdir)
    runs = sorted(p for p in root.glob("*") if p.is_dir() and _is_run(p)) if root.exists() else []
    if not runs:
        raise NoSnapshotError(root)
    return runs[-1] / "raw"


def customer_records(raw: Path, customer_id: int) -> dict[str, list[dict[str, Any]]]:
    """The customer's rows of every table with a customer_id, as the snapshot holds them."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table in CUSTOMER_TABLES:
        path = raw / f"{table}.parquet"
        if not path.exists():
            continue
        df = pd.read_parquet(path)
        mine = df[(parse_integers(df["customer_id"]) == customer_id).fillna(False).to_numpy()]
        mine = mine[[c for c in mine.columns if not c.startswith("_")]]  # snapshot bookkeeping
        out[table] = [
            {k: (None if pd.isna(v) else v) for k, v in row.items()}
            for row in mine.astype(object).to_dict("records")
        ]
    return out


def records_payload(body: dict[str, Any]) -> bytes:
    """The bytes of an export: UTF-8 JSON, Japanese as written, one trailing newline."""
    return (json.dumps(body, ensure_ascii=False, indent=2, default=str) + "\n").encode()


def export_customer(
    workdir: str | Path, customer_id: int, out: str | Path, *, key: bytes, run_id: str
) -> Export:
    """Write every record of ``customer_id`` to ``out`` (owner-only JSON); audit it."""
    raw = latest_snapshot(workdir)
    snapshot = raw.parent.name
    prefix = short(customer_pseudonym(customer_id, key=key))
    records = customer_records(raw, customer_id)
    counts = {table: len(rows) for table, rows in records.items()}
    if not any(counts.values()):
        audit.record(
            workdir,
            run_id=run_id,
            event="request.export.unknown",
            customer=prefix,
            snapshot=snapshot,
        )
        raise UnknownCustomerError(snapshot)
    body = {
        "customer_id": customer_id,
        "snapshot": snapshot,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "records": records,
    }
    payload = records_payload(body)
    target = Path(out)
    if not target.parent.exists():
        private_dir(target.parent)
    write_private(target, payload)
    digest = hashlib.sha256(payload).hexdigest()
    audit.record(
        workdir,
        run_id=run_id,
        event="request.export",
        customer=prefix,
        snapshot=snapshot,
        records=counts,
        sha256=digest,
    )
    return Export(snapshot=snapshot, records=counts, sha256=digest)
