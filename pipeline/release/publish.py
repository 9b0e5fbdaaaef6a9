"""Publish: per-recipient release folders with a manifest that partners can verify.

Layout: ``<release_root>/<recipient>/<run>/<dataset>.csv`` and ``manifest.json`` listing each
file's name, sha256, byte size and row count. The manifest is written last: a folder without
one is incomplete by definition. The root may be any fsspec URL (local path, s3://, gcs://).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec

from transforms.errors import DataError

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "anonrelease-manifest/1"


class ManifestMismatch(DataError):
    """A release folder does not match its manifest."""

    def __init__(self, folder: str, problems: Sequence[str]) -> None:
        super().__init__(f"{folder}: " + "; ".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class PublishedRelease:
    recipient: str
    folder: str
    files: tuple[str, ...]


def _rows(payload: bytes) -> int:
    """Data rows of a CSV with a header line and a newline after every row."""
    return max(payload.count(b"\n") - 1, 0)


def build_manifest(
    *,
    recipient: str,
    run_id: str,
    files: Mapping[str, bytes],
    profile: Mapping[str, Any],
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
) -> bytes:
    """A deterministic manifest: same files and profile give the same bytes.

    ``parameters`` states, per dataset, what it was really built and checked with (the
    table's actual minimum cell count, the microdata's transformation), not the profile's
    defaults.
    """
    entries = [
        {
            "name": name,
            "sha256": hashlib.sha256(payload).hexdigest(),
            "bytes": len(payload),
            "rows": _rows(payload),
        }
        for name, payload in sorted(files.items())
    ]
    manifest = {
        "format": MANIFEST_FORMAT,
        "recipient": recipient,
        "run": run_id,
        "privacy_profile": dict(profile),
        "datasets": {name: dict(p) for name, p in sorted((parameters or {}).items())},
        "files": entries,
    }
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def release_folder(release_root: str, recipient: str, run_id: str) -> str:
    return f"{release_root.rstrip('/')}/{recipient}/{run_id}"


def withdraw(release_root: str, recipient: str, run_id: str) -> bool:
    """Remove a recipient's folder for this run (a rerun or a now-blocked recipient)."""
    fs, path = fsspec.core.url_to_fs(release_folder(release_root, recipient, run_id))
    if fs.exists(path):
        fs.rm(path, recursive=True)
        return True
    return False


def withdraw_run(release_root: str, run_id: str) -> list[str]:
    """Remove every recipient's folder for this run; return what was removed (sorted)."""
    fs, base = fsspec.core.url_to_fs(release_root.rstrip("/"))
    if not fs.exists(base):
        return []
    folders = sorted(p for p in fs.glob(f"{base}/*/{run_id}") if fs.isdir(p))
    for folder in folders:
        fs.rm(folder, recursive=True)
    return folders


def publish_release(
    *,
    release_root: str,
    recipient: str,
    run_id: str,
    files: Mapping[str, Path],
    profile: Mapping[str, Any],
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
) -> PublishedRelease:
    """Copy the approved files for one recipient and write the manifest last."""
    withdraw(release_root, recipient, run_id)
    folder = release_folder(release_root, recipient, run_id)
    fs, base = fsspec.core.url_to_fs(folder)
    fs.makedirs(base, exist_ok=True)
    payloads = {name: Path(src).read_bytes() for name, src in sorted(files.items())}
    for name, payload in payloads.items():
        with fs.open(f"{base}/{name}", "wb") as f:
            f.write(payload)
    manifest = build_manifest(
        recipient=recipient,
        run_id=run_id,
        files=payloads,
        profile=profile,
        parameters=parameters,
    )
    with fs.open(f"{base}/{MANIFEST}", "wb") as f:
        f.write(manifest)
    return PublishedRelease(recipient=recipient, folder=folder, files=tuple(sorted(payloads)))


def verify_release(folder: str) -> dict[str, Any]:
    """Check every file against the manifest; raise ManifestMismatch listing all problems."""
    fs, base = fsspec.core.url_to_fs(folder)
    try:
        manifest = json.loads(fs.cat_file(f"{base}/{MANIFEST}"))
    except FileNotFoundError as exc:
        raise ManifestMismatch(folder, ["manifest.json missing"]) from exc
    problems = []
    listed = {e["name"] for e in manifest["files"]}
    present = {Path(p).name for p in fs.ls(base, detail=False)} - {MANIFEST}
    problems += [f"{name}: not in manifest" for name in sorted(present - listed)]
    for entry in manifest["files"]:
        try:
            payload = fs.cat_file(f"{base}/{entry['name']}")
        except FileNotFoundError:
            problems.append(f"{entry['name']}: missing")
            continue
        if hashlib.sha256(payload).hexdigest() != entry["sha256"]:
            problems.append(f"{entry['name']}: sha256 differs")
        if _rows(payload) != entry["rows"]:
            problems.append(f"{entry['name']}: row count differs")
    if problems:
        raise ManifestMismatch(folder, problems)
    return manifest
