"""Publish: per-recipient release folders with a manifest that partners can verify.

Layout: ``<release_root>/<recipient>/<run>/<dataset>.csv`` and ``manifest.json`` listing each
file's name, sha256, byte size and row count. The manifest is written last: a folder without
one is incomplete by definition. The root may be any fsspec URL (local path, s3://, gcs://).

``verify_release`` trusts nothing in the folder: the manifest must be JSON of the format
``anonrelease-manifest/1`` (the pydantic model :class:`Manifest`), list at least one file,
each once, each a plain file name of the folder itself (no path separator, no ``..``, not
absolute), and every file must match its size, sha256 and row count.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Literal

import fsspec
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.settings.storage import delivered
from transforms.errors import ConfigurationError, DataError

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "anonrelease-manifest/1"


class ManifestMismatch(DataError):
    """A release folder does not match its manifest."""

    def __init__(self, folder: str, problems: Sequence[str]) -> None:
        super().__init__(f"{folder}: " + "; ".join(problems))
        self.problems = tuple(problems)


class ReleaseFolderError(ConfigurationError):
    """A release folder's address cannot be opened (unknown protocol, missing backend)."""


class ManifestEntry(BaseModel):
    """One published file: a plain name inside the release folder, and what it must match."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=255)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)
    rows: int = Field(ge=0)

    @field_validator("name")
    @classmethod
    def _plain_file_name(cls, name: str) -> str:
        """No separator, no ``..``, not absolute: the entry can only name a file of the folder."""
        plain = (
            name not in (".", "..", MANIFEST)
            and "/" not in name
            and "\\" not in name
            and not PurePosixPath(name).is_absolute()
            and not PureWindowsPath(name).is_absolute()
            and not PureWindowsPath(name).drive
            and name.isprintable()
        )
        if not plain:
            raise ValueError(
                f"{name!r} is not a plain file name of the folder "
                "(no path separator, no '..', not absolute)"
            )
        return name


class Manifest(BaseModel):
    """``manifest.json`` of a release folder, format ``anonrelease-manifest/1``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["anonrelease-manifest/1"]
    recipient: str = Field(min_length=1)
    run: str = Field(min_length=1)
    privacy_profile: dict[str, Any]
    datasets: dict[str, dict[str, Any]]
    files: tuple[ManifestEntry, ...] = Field(min_length=1)

    @field_validator("files")
    @classmethod
    def _each_name_once(cls, files: tuple[ManifestEntry, ...]) -> tuple[ManifestEntry, ...]:
        names = [f.name for f in files]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate file names: {', '.join(map(repr, duplicates))}")
        return files


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
    """Copy the approved files for one recipient and write the manifest last.

    A release is delivered, not stored: it is written with the umask the process had
    before the run made the work folder owner-only (``pipeline.settings.storage``).
    """
    with delivered():
        return _publish_release(
            release_root=release_root,
            recipient=recipient,
            run_id=run_id,
            files=files,
            profile=profile,
            parameters=parameters,
        )


def _publish_release(
    *,
    release_root: str,
    recipient: str,
    run_id: str,
    files: Mapping[str, Path],
    profile: Mapping[str, Any],
    parameters: Mapping[str, Mapping[str, Any]] | None,
) -> PublishedRelease:
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


def read_manifest(payload: bytes, folder: str) -> Manifest:
    """Parse and validate a manifest; a bad one is a ManifestMismatch with a one-line reason."""
    try:
        raw = json.loads(payload)
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        where = (
            f" (line {exc.lineno}, column {exc.colno})"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        raise ManifestMismatch(folder, [f"{MANIFEST} is not valid JSON{where}"]) from None
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{MANIFEST}: {'.'.join(str(p) for p in err['loc']) or 'top level'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise ManifestMismatch(folder, problems) from None


def verify_release(folder: str) -> dict[str, Any]:
    """Check the manifest and every file; raise ManifestMismatch listing all problems.

    Returns the manifest as JSON data (``files``: name, sha256, bytes and rows of each).
    """
    try:
        fs, base = fsspec.core.url_to_fs(folder)
    except (ImportError, ValueError) as exc:
        raise ReleaseFolderError(
            f"{folder}: unknown protocol, or its fsspec backend is not installed "
            f"({type(exc).__name__})"
        ) from None
    base = base.rstrip("/")
    if not fs.isdir(base):
        raise ManifestMismatch(folder, ["not a folder"])
    try:
        payload = fs.cat_file(f"{base}/{MANIFEST}")
    except FileNotFoundError:
        raise ManifestMismatch(folder, [f"{MANIFEST} missing"]) from None
    manifest = read_manifest(payload, folder)
    problems = []
    listed = {e.name for e in manifest.files}
    present = {PurePosixPath(p).name for p in fs.ls(base, detail=False)} - {MANIFEST}
    problems += [f"{name}: not in manifest" for name in sorted(present - listed)]
    for entry in manifest.files:
        path = f"{base}/{entry.name}"
        if not fs.isfile(path):
            problems.append(f"{entry.name}: missing")
            continue
        if fs.info(path).get("islink"):  # local folders: it could point anywhere
            problems.append(f"{entry.name}: a symbolic link, not a file")
            continue
        payload = fs.cat_file(path)
        if len(payload) != entry.bytes:
            problems.append(f"{entry.name}: size differs")
        if hashlib.sha256(payload).hexdigest() != entry.sha256:
            problems.append(f"{entry.name}: sha256 differs")
        if _rows(payload) != entry.rows:
            problems.append(f"{entry.name}: row count differs")
    if problems:
        raise ManifestMismatch(folder, problems)
    return manifest.model_dump(mode="json")
