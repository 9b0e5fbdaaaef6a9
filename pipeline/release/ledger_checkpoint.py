"""A signed checkpoint of the provision ledger's head, so deleting the newest entries shows.

The hash chain (``pipeline.release.ledger``) detects an edited entry and a deleted one
before the head, but removing the newest entries leaves a shorter, valid chain. After every
append the publisher writes ``<workdir>/ledger.head.json`` (the number of entries, the head's
id and sha256) and its Ed25519 signature ``ledger.head.json.sig`` under the manifest signing
key. ``anonrelease ledger verify`` compares the chain with the checkpoint: a chain shorter than
the signed head, or one whose entry at the signed id has another sha256, fails. Someone who
holds the signing key can still rewrite both; the key lives outside the repository and the
work folder, like the HMAC key.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pipeline.release.ledger import LedgerState
from pipeline.settings.storage import write_private

CHECKPOINT = "ledger.head.json"
SIGNATURE = "ledger.head.json.sig"


@dataclass(frozen=True)
class Checkpoint:
    entries: int
    head_id: int
    head_sha256: str


def _payload(checkpoint: Checkpoint) -> bytes:
    body = {
        "entries": checkpoint.entries,
        "head_id": checkpoint.head_id,
        "head_sha256": checkpoint.head_sha256,
    }
    return (json.dumps(body, sort_keys=True) + "\n").encode("utf-8")


def write_checkpoint(workdir: Path, checkpoint: Checkpoint, key: Ed25519PrivateKey) -> Path:
    """Write the signed head (owner-only); called after every append."""
    payload = _payload(checkpoint)
    write_private(workdir / CHECKPOINT, payload)
    write_private(workdir / SIGNATURE, base64.b64encode(key.sign(payload)) + b"\n")
    return workdir / CHECKPOINT


def checkpoint_problem(
    workdir: Path, state: LedgerState, public_key: Ed25519PublicKey
) -> str | None:
    """Why the chain ``state`` does not match the signed head (None: it does, or none exists).

    ``state`` is what ``verify_ledger`` found; entry sha256s beyond the head are not needed:
    the chain check already tied every entry to its predecessor.
    """
    path, sig = workdir / CHECKPOINT, workdir / SIGNATURE
    if not path.is_file():
        return None
    payload = path.read_bytes()
    try:
        public_key.verify(base64.b64decode(sig.read_bytes().strip()), payload)
    except (OSError, ValueError, InvalidSignature):
        return "the signed ledger head does not verify (edited, or another key)"
    try:
        body = json.loads(payload)
        head = Checkpoint(int(body["entries"]), int(body["head_id"]), str(body["head_sha256"]))
    except (ValueError, KeyError, TypeError):
        return "the signed ledger head is not readable"
    if state.entries < head.entries:
        return (
            f"the chain ends at entry {state.head_id or 0} but the signed head is entry "
            f"{head.head_id}: the newest entries were deleted"
        )
    if state.entries == head.entries and state.head_sha256 != head.head_sha256:
        return f"entry {head.head_id} differs from the signed head: the chain was rewritten"
    if state.entries > head.entries:
        return (
            f"{state.entries - head.entries} entr(ies) after the signed head: appended "
            "without the signing key"
        )
    return None
