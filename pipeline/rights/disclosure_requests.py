"""The nightly answer to the source's pending ``disclosure`` requests.

A disclosure request is the customer's right to have their information released to them,
the same right ``anonrelease request export`` answers at the contact center's desk. Each
night, every pending disclosure request in the raw snapshot gets the same answer, one
owner-only JSON file per request in the run's ``disclosures/`` folder (internal, never a
release): every row that names the customer in the snapshot, exactly as the source held it,
and nobody else's. A request for a customer the snapshot does not know is answered as such
(counted and audited, no file). The audit trail records each answer with the pseudonym's
prefix, the number of records per table and the file's sha256, never a value.

The answer comes from the raw snapshot, not the clean tables: a customer whose profile row
was quarantined still has a right to see what is held about them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.rights.export import CUSTOMER_TABLES, records_payload
from pipeline.rights.tombstones import customer_pseudonym, short
from pipeline.run import audit
from pipeline.settings.storage import private_dir, write_private
from transforms.parse import parse_integers

DISCLOSURE_REQUEST = "disclosure"
PENDING = "pending"
FOLDER = "disclosures"


@dataclass(frozen=True)
class DisclosureAnswers:
    answered: int  # files written, one per request
    unknown_customer: int  # requests naming a customer the snapshot does not know
    unreadable: int  # requests whose ids cannot be read (quarantined by validate_raw)
    folder: Path


def answer_file(folder: Path, request_id: int) -> Path:
    return folder / f"request-{request_id}.json"


def _records_by_customer(raw: Path, ids: set[int]) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """Every table's rows of the customers in ``ids``; each table is read once."""
    out: dict[int, dict[str, list[dict[str, Any]]]] = {i: {} for i in ids}
    for table in CUSTOMER_TABLES:
        path = raw / f"{table}.parquet"
        if not path.exists():
            continue
        df = pd.read_parquet(path)
        owner = parse_integers(df["customer_id"])
        mine = owner.isin(list(ids)).fillna(False).to_numpy()
        rows = df[mine][[c for c in df.columns if not c.startswith("_")]]
        for i in ids:
            out[i][table] = []
        for customer, row in zip(
            owner[mine].astype("int64"), rows.astype(object).to_dict("records"), strict=True
        ):
            plain = {k: (None if pd.isna(v) else v) for k, v in row.items()}
            out[int(customer)][table].append(plain)
    return out


def answer_disclosure_requests(
    run_dir: str | Path, *, workdir: str | Path, key: bytes, run_id: str
) -> DisclosureAnswers:
    """Answer every pending disclosure request of the run's raw snapshot (see module doc).

    The files are rewritten on a rerun of the night: the same snapshot gives the same bytes
    (the answer names the snapshot's run, not the clock).
    """
    raw = Path(run_dir) / "raw"
    folder = private_dir(Path(run_dir) / FOLDER)
    requests = pd.read_parquet(raw / "customer_requests.parquet")
    wanted = (requests["request_type"] == DISCLOSURE_REQUEST) & (requests["status"] == PENDING)
    asked = requests[wanted.fillna(False).to_numpy()]
    request_ids = parse_integers(asked["request_id"])
    customer_ids = parse_integers(asked["customer_id"])
    readable = (request_ids.notna() & customer_ids.notna()).to_numpy()
    pairs = sorted(
        zip(
            request_ids[readable].astype("int64").tolist(),
            customer_ids[readable].astype("int64").tolist(),
            strict=True,
        )
    )
    records = _records_by_customer(raw, {c for _, c in pairs})
    answered = unknown = 0
    for request_id, customer_id in pairs:
        mine = records[customer_id]
        prefix = short(customer_pseudonym(customer_id, key=key))
        if not mine.get("customers"):
            unknown += 1
            audit.record(
                workdir,
                run_id=run_id,
                event="request.disclosure.unknown",
                request=request_id,
                customer=prefix,
            )
            continue
        body = {
            "request_id": request_id,
            "customer_id": customer_id,
            "snapshot": run_id,
            "records": mine,
        }
        payload = records_payload(body)
        write_private(answer_file(folder, request_id), payload)
        answered += 1
        audit.record(
            workdir,
            run_id=run_id,
            event="request.disclosure",
            request=request_id,
            customer=prefix,
            records={table: len(rows) for table, rows in mine.items()},
            sha256=hashlib.sha256(payload).hexdigest(),
        )
    return DisclosureAnswers(
        answered=answered,
        unknown_customer=unknown,
        unreadable=int((~readable).sum()),
        folder=folder,
    )
