"""Tombstones: a deletion that outlives the source's backups.

A deletion request removes a customer from the run that reads it. If the source is later
restored from a backup taken before the request, the customer's rows and not the request
come back. So every deletion also leaves a tombstone in the pipeline's own store,
``<workdir>/tombstones.jsonl``: one JSON line per deleted customer, appended, never
rewritten, owner-only. It holds the customer's pseudonym (the keyed HMAC that
``transforms.deidentify`` gives the customer id), never the id itself, with the fingerprint
of the key that made it, when, how and by which run.

Every run excludes every tombstoned pseudonym before anything is de-identified
(``pipeline.steps.apply_customer_requests``, checked again by ``deidentify``). Tombstones
only work with the key that made them: a run with another key refuses to start
(:class:`TombstoneKeyMismatch`) rather than let deleted customers back in.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from pipeline.release.series import RECEIVED_DIR
from pipeline.settings.storage import open_private, private_dir
from transforms.deidentify import CUSTOMER_DOMAIN
from transforms.errors import ConfigurationError, DataError
from transforms.pseudonymize import pseudonymize

TOMBSTONES_FILE = "tombstones.jsonl"
PREFIX_LENGTH = 8  # what the audit trail and the console show of a pseudonym
_FINGERPRINT_LABEL = b"anonrelease tombstone key fingerprint"

# How a tombstone came to be.
FROM_REQUEST_TABLE = "deletion_request"
FROM_COMMAND = "request_delete_command"


class TombstoneKeyMismatch(ConfigurationError):
    """Tombstones were made with another HMAC key: they cannot be matched, so nothing runs."""

    def __init__(self, count: int) -> None:
        super().__init__(
            f"{count} tombstone(s) were made with another HMAC key: deleted customers could "
            "not be recognised; restore the key that made them (see README, Tombstones)"
        )
        self.count = count


class TombstoneStoreUnreadable(DataError):
    """A line of the tombstone store cannot be read: fail closed (names the line only)."""

    def __init__(self, path: Path, line: int) -> None:
        super().__init__(f"tombstone store {path}: line {line} cannot be read")
        self.path = path
        self.line = line


def tombstones_path(workdir: str | Path) -> Path:
    return Path(workdir) / TOMBSTONES_FILE


def key_fingerprint(key: bytes) -> str:
    """A short, non-reversible name of the key, so tombstones of another key are noticed."""
    return hmac.new(key, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]


def customer_pseudonyms(customer_ids: pd.Series, /, *, key: bytes) -> pd.Series:
    """The pseudonyms ``deidentify`` gives these customer ids (same key, same domain)."""
    return pseudonymize(customer_ids, key=key, domain=CUSTOMER_DOMAIN)


def customer_pseudonym(customer_id: int, /, *, key: bytes) -> str:
    return str(customer_pseudonyms(pd.Series([customer_id]), key=key).iloc[0])


def short(pseudonym: str) -> str:
    """The prefix of a pseudonym that audit events and messages may show."""
    return pseudonym[:PREFIX_LENGTH]


def _entries(workdir: str | Path) -> list[dict[str, Any]]:
    path = tombstones_path(workdir)
    if not path.exists():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise TombstoneStoreUnreadable(path, number) from None
        if not isinstance(entry, dict) or not isinstance(entry.get("pseudonym"), str):
            raise TombstoneStoreUnreadable(path, number)
        entries.append(entry)
    return entries


def read_tombstones(workdir: str | Path, *, key: bytes) -> frozenset[str]:
    """Every tombstoned pseudonym; :class:`TombstoneKeyMismatch` if another key made any."""
    entries = _entries(workdir)
    fingerprint = key_fingerprint(key)
    foreign = sum(1 for e in entries if e.get("key") != fingerprint)
    if foreign:
        raise TombstoneKeyMismatch(foreign)
    return frozenset(e["pseudonym"] for e in entries)


def record_tombstones(
    workdir: str | Path,
    pseudonyms: Iterable[str],
    *,
    key: bytes,
    origin: str,
    run_id: str,
) -> list[str]:
    """Append a tombstone for each pseudonym not yet tombstoned; return the new ones."""
    known = read_tombstones(workdir, key=key)
    new = sorted(set(pseudonyms) - known)
    if not new:
        return []
    private_dir(workdir)
    at = datetime.now(UTC).isoformat(timespec="seconds")
    fingerprint = key_fingerprint(key)
    lines = "".join(
        json.dumps(
            {
                "pseudonym": p,
                "key": fingerprint,
                "recorded_at": at,
                "origin": origin,
                "run": run_id,
            },
            sort_keys=True,
        )
        + "\n"
        for p in new
    )
    with open_private(tombstones_path(workdir), "a") as f:
        f.write(lines)
    return new


@dataclass(frozen=True)
class PastInclusions:
    """Where a customer's pseudonym was used before: what the audit trail can say of it.

    ``received``: microdata releases that held the customer (run, recipient, dataset, rows),
    from the internal copies of what each recipient received. ``runs_counted``: runs whose
    de-identified profile counted the customer, so every table those runs published did.
    """

    received: list[dict[str, Any]] = field(default_factory=list)
    runs_counted: list[str] = field(default_factory=list)

    def audit_details(self) -> dict[str, Any]:
        return {
            "microdata_releases": len(self.received),
            "microdata_runs": sorted({r["run"] for r in self.received}),
            "microdata_recipients": sorted({r["recipient"] for r in self.received}),
            "runs_counted": self.runs_counted,
        }


def _rows_with(path: Path, pseudonym: str) -> int:
    try:
        if "pseudonym" not in pq.read_schema(path).names:
            return 0
        column = pq.read_table(path, columns=["pseudonym"]).column("pseudonym").to_pylist()
    except (OSError, ValueError):  # an unreadable copy says nothing; it is not a crash
        return 0
    return sum(1 for value in column if value == pseudonym)


def past_inclusions(workdir: str | Path, pseudonym: str) -> PastInclusions:
    """Which past releases and runs included ``pseudonym`` (counts and run ids only)."""
    root = Path(workdir)
    received = []
    for path in sorted((root / RECEIVED_DIR).glob("*/*/*.parquet")):
        if rows := _rows_with(path, pseudonym):
            recipient, dataset = path.parent.parent.name, path.parent.name
            received.append(
                {"run": path.stem, "recipient": recipient, "dataset": dataset, "rows": rows}
            )
    runs = [
        path.parent.parent.name
        for path in sorted(root.glob("*/deidentified/customers.parquet"))
        if _rows_with(path, pseudonym)
    ]
    return PastInclusions(received=received, runs_counted=runs)


@dataclass(frozen=True)
class Deletion:
    """What ``anonrelease request delete`` did: the pseudonym's prefix, whether it is new."""

    prefix: str
    new: bool
    past: PastInclusions


def delete_customer(workdir: str | Path, customer_id: int, *, key: bytes, run_id: str) -> Deletion:
    """Tombstone one customer directly; audited with the pseudonym's prefix, never the id.

    The audit event says which past releases and runs included the customer (counts and run
    ids): what was delivered cannot be recalled, but it can be told.
    """
    from pipeline.run import audit

    pseudonym = customer_pseudonym(customer_id, key=key)
    new = record_tombstones(workdir, [pseudonym], key=key, origin=FROM_COMMAND, run_id=run_id)
    past = past_inclusions(workdir, pseudonym)
    audit.record(
        workdir,
        run_id=run_id,
        event="request.delete",
        customer=short(pseudonym),
        new_tombstone=bool(new),
        **past.audit_details(),
    )
    return Deletion(prefix=short(pseudonym), new=bool(new), past=past)
