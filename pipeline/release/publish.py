"""Publish: per-recipient release folders with a signed manifest that partners can verify.

Layout: ``<release_root>/<recipient>/<run>/`` holds the dataset files in the recipient's
format (``pipeline.release.formats``), ``manifest.json`` (each file's name, sha256, byte size,
row count and column names; the file format; the privacy profile and the parameters each
dataset was really built with, with its legal category; the run id and the code version),
``manifest.json.sig`` (the Ed25519 signature of the manifest's exact bytes, base64) and
``public_key.pem`` (the key that verifies it; a partner should pin the key it received out of
band). The root may be any fsspec URL (local path, s3://, gcs://).

Publishing is atomic and idempotent on a local file system: every file is written (and
fsynced) into ``<root>/<recipient>/.staging-<run>-<pid>`` and the folder is moved into place
with one rename. An existing folder of the same run is renamed aside
(``.old-<run>-<pid>``), the new one renamed in, then the old one deleted; a crash at any
moment leaves the previous complete release or the new complete one (or, between those two
renames, neither), never a partial folder. Leftover staging and old folders are cleaned by
the next publish. The manifest is deterministic and Ed25519 signatures are too, so a rerun of
the same run writes identical bytes. An object store has no atomic rename: there, the files
are written in place with the manifest and then its signature last, and a folder without a
valid signature is incomplete by definition (readers must verify; see README).

``verify_release`` trusts nothing in the folder: the signature must verify the manifest's
bytes (with the pinned key, or the folder's own ``public_key.pem``), the manifest must be JSON
of the format ``anonrelease-manifest/2`` (the pydantic model :class:`Manifest`), list at least
one file, each once, each a plain file name of the folder itself (no path separator, no
``..``, not absolute), and every file must match its size, sha256, row count and columns.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Literal

import fsspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fsspec.implementations.local import LocalFileSystem
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.release.formats import shape
from pipeline.settings.partners import FileFormat
from pipeline.settings.signing_keys import fingerprint, public_key_pem
from pipeline.settings.storage import delivered
from transforms.errors import ConfigurationError, DataError

MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
PUBLIC_KEY = "public_key.pem"
RESERVED = (MANIFEST, SIGNATURE, PUBLIC_KEY)
MANIFEST_FORMAT = "anonrelease-manifest/2"
# Tests only: seconds to sleep before each file write and each rename of a publish, so a
# test can kill the publishing process in the middle (tests/test_publish_atomic.py).
PAUSE_ENV = "ANONRELEASE_TEST_PUBLISH_PAUSE"
_LEFTOVER = re.compile(r"^\.(staging|old)-(?P<run>.+)-(?P<pid>\d+)$")


class ManifestMismatch(DataError):
    """A release folder does not match its manifest, or the manifest is not signed."""

    def __init__(self, folder: str, problems: Sequence[str]) -> None:
        super().__init__(f"{folder}: " + "; ".join(problems))
        self.problems = tuple(problems)


class ReleaseFolderError(ConfigurationError):
    """A release folder's address cannot be opened (unknown protocol, missing backend)."""


class PublicKeyError(ConfigurationError):
    """The public key given to verify a release cannot be read as an Ed25519 PEM key."""


class ManifestEntry(BaseModel):
    """One published file: a plain name inside the release folder, and what it must match."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=255)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)
    rows: int = Field(ge=0)
    columns: tuple[str, ...] = Field(strict=False)  # JSON arrays are lists

    @field_validator("name")
    @classmethod
    def _plain_file_name(cls, name: str) -> str:
        """No separator, no ``..``, not absolute: the entry can only name a file of the folder."""
        plain = (
            name not in (".", "..", *RESERVED)
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
    """``manifest.json`` of a release folder, format ``anonrelease-manifest/2``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["anonrelease-manifest/2"]
    # How the dataset files are written (parquet, or CSV in UTF-8, UTF-8 with BOM, cp932).
    file_format: FileFormat = "csv-utf8"
    recipient: str = Field(min_length=1)
    run: str = Field(min_length=1)
    code_version: str = Field(min_length=1)
    privacy_profile: dict[str, Any]
    datasets: dict[str, dict[str, Any]]
    # The consent purposes the folder's data served (every dataset's population consented to
    # them); absent from manifests written before purpose-bound consent.
    purposes: tuple[str, ...] = Field(default=(), strict=False)
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
    sha256: Mapping[str, str] = field(default_factory=dict)


def code_version() -> str:
    """The installed anonrelease version (``importlib.metadata``), or ``unknown``."""
    try:
        return metadata.version("anonrelease")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_manifest(
    *,
    recipient: str,
    run_id: str,
    files: Mapping[str, bytes],
    profile: Mapping[str, Any],
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    file_format: FileFormat = "csv-utf8",
    purposes: Sequence[str] = (),
) -> bytes:
    """A deterministic manifest: same files, profile and code version give the same bytes.

    ``parameters`` states, per dataset, what it was really built and checked with (the
    table's actual minimum cell count, the microdata's transformation and k, l and
    suppression achieved), not the profile's defaults.
    """
    entries = []
    for name, payload in sorted(files.items()):
        rows, columns = shape(name, payload, file_format)
        entries.append(
            {
                "name": name,
                "sha256": hashlib.sha256(payload).hexdigest(),
                "bytes": len(payload),
                "rows": rows,
                "columns": list(columns),
            }
        )
    manifest = {
        "format": MANIFEST_FORMAT,
        "file_format": file_format,
        "recipient": recipient,
        "run": run_id,
        "code_version": code_version(),
        "privacy_profile": dict(profile),
        "datasets": {name: dict(p) for name, p in sorted((parameters or {}).items())},
        "purposes": sorted(set(purposes)),
        "files": entries,
    }
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def sign_manifest(manifest: bytes, key: Ed25519PrivateKey) -> bytes:
    """The ``manifest.json.sig`` content: the Ed25519 signature (deterministic), base64."""
    return base64.b64encode(key.sign(manifest)) + b"\n"


def load_public_key(data: bytes, origin: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM; anything else is a :class:`PublicKeyError`."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise PublicKeyError(f"{origin}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise PublicKeyError(f"{origin}: a {type(key).__name__}, expected an Ed25519 key")
    return key


def release_folder(release_root: str, recipient: str, run_id: str) -> str:
    return f"{release_root.rstrip('/')}/{recipient}/{run_id}"


def _pause() -> None:
    if seconds := os.environ.get(PAUSE_ENV):
        time.sleep(float(seconds))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own leftover from an earlier, failed call
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(recipient_dir: Path, run_id: str) -> list[str]:
    """Remove staging and set-aside folders a crashed publish left (sorted names).

    Those of this run go (the run lock admits one publisher per run); those of another run
    only when the process that made them is gone.
    """
    removed: list[str] = []
    if not recipient_dir.is_dir():
        return removed
    for entry in sorted(recipient_dir.iterdir()):
        match = _LEFTOVER.match(entry.name)
        if not match or not entry.is_dir() or entry.is_symlink():
            continue
        if match["run"] == run_id or not _alive(int(match["pid"])):
            shutil.rmtree(entry)
            removed.append(entry.name)
    return removed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish_local(dest: Path, run_id: str, contents: Mapping[str, bytes]) -> None:
    """Write into a staging folder beside ``dest``, then rename it into place."""
    parent = dest.parent
    parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(parent, run_id)
    pid = os.getpid()
    staging = parent / f".staging-{run_id}-{pid}"
    staging.mkdir()
    for name, payload in contents.items():
        _pause()
        with open(staging / name, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
    _fsync_dir(staging)
    _pause()
    if dest.exists() or dest.is_symlink():
        old = parent / f".old-{run_id}-{pid}"
        os.replace(dest, old)
        _pause()
        os.replace(staging, dest)
        _fsync_dir(parent)
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
        else:
            old.unlink()
    else:
        os.replace(staging, dest)
        _fsync_dir(parent)


def _publish_store(fs: Any, base: str, contents: Mapping[str, bytes]) -> None:
    """An object store: replace in place, the manifest and then its signature last."""
    if fs.exists(base):
        fs.rm(base, recursive=True)
    fs.makedirs(base, exist_ok=True)
    for name, payload in contents.items():
        _pause()
        fs.pipe_file(f"{base}/{name}", payload)


def withdraw(release_root: str, recipient: str, run_id: str) -> bool:
    """Remove a recipient's folder for this run (a rerun or a now-blocked recipient).

    On a local file system the folder is first renamed aside, so it disappears at once.
    """
    fs, path = fsspec.core.url_to_fs(release_folder(release_root, recipient, run_id))
    if isinstance(fs, LocalFileSystem):
        dest = Path(path)
        if not dest.exists():
            return False
        old = dest.parent / f".old-{run_id}-{os.getpid()}"
        if old.exists():
            shutil.rmtree(old)
        os.replace(dest, old)
        shutil.rmtree(old)
        return True
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
    files: Mapping[str, Path | bytes],
    profile: Mapping[str, Any],
    signing_key: Ed25519PrivateKey,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    file_format: FileFormat = "csv-utf8",
    purposes: Sequence[str] = (),
) -> PublishedRelease:
    """Publish the approved files for one recipient with a signed manifest, atomically.

    ``files`` maps each delivered name to its source file or to its bytes, already in
    ``file_format`` (``pipeline.release.formats.encode``). A release is delivered, not
    stored: it is written with the umask the process had before the run made the work
    folder owner-only (``pipeline.settings.storage``).
    """
    with delivered():
        return _publish_release(
            release_root=release_root,
            recipient=recipient,
            run_id=run_id,
            files=files,
            profile=profile,
            signing_key=signing_key,
            parameters=parameters,
            file_format=file_format,
            purposes=purposes,
        )


def _publish_release(
    *,
    release_root: str,
    recipient: str,
    run_id: str,
    files: Mapping[str, Path | bytes],
    profile: Mapping[str, Any],
    signing_key: Ed25519PrivateKey,
    parameters: Mapping[str, Mapping[str, Any]] | None,
    file_format: FileFormat,
    purposes: Sequence[str],
) -> PublishedRelease:
    payloads = {
        name: src if isinstance(src, bytes) else Path(src).read_bytes()
        for name, src in sorted(files.items())
    }
    clash = sorted(set(payloads) & set(RESERVED))
    if clash:
        raise ReleaseFolderError(f"a dataset file may not be named {', '.join(clash)}")
    manifest = build_manifest(
        recipient=recipient,
        run_id=run_id,
        files=payloads,
        profile=profile,
        parameters=parameters,
        file_format=file_format,
        purposes=purposes,
    )
    contents = {
        **payloads,
        PUBLIC_KEY: public_key_pem(signing_key),
        MANIFEST: manifest,
        SIGNATURE: sign_manifest(manifest, signing_key),
    }
    folder = release_folder(release_root, recipient, run_id)
    fs, base = fsspec.core.url_to_fs(folder)
    if isinstance(fs, LocalFileSystem):
        _publish_local(Path(base), run_id, contents)
    else:
        _publish_store(fs, base.rstrip("/"), contents)
    return PublishedRelease(
        recipient=recipient,
        folder=folder,
        files=tuple(sorted(payloads)),
        sha256={n: hashlib.sha256(p).hexdigest() for n, p in sorted(payloads.items())},
    )


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


def _cat(fs: Any, path: str) -> bytes | None:
    try:
        return bytes(fs.cat_file(path))
    except FileNotFoundError:
        return None


def _check_signature(
    fs: Any, base: str, folder: str, manifest: bytes, public_key: Ed25519PublicKey | None
) -> Ed25519PublicKey:
    """The signature must verify the manifest's exact bytes; return the key that did."""
    signature = _cat(fs, f"{base}/{SIGNATURE}")
    if signature is None:
        raise ManifestMismatch(folder, [f"{SIGNATURE} missing (the release is not signed)"])
    folder_pem = _cat(fs, f"{base}/{PUBLIC_KEY}")
    if public_key is None:
        if folder_pem is None:
            raise ManifestMismatch(
                folder, [f"{PUBLIC_KEY} missing (pass the partner's pinned key)"]
            )
        try:
            public_key = load_public_key(folder_pem, PUBLIC_KEY)
        except PublicKeyError as exc:
            raise ManifestMismatch(folder, [str(exc)]) from None
        origin = f"the folder's {PUBLIC_KEY}"
    else:
        origin = f"the given key {fingerprint(public_key)}"
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ManifestMismatch(folder, [f"{SIGNATURE}: not a base64 signature"]) from None
    try:
        public_key.verify(raw, manifest)
    except InvalidSignature:
        raise ManifestMismatch(
            folder,
            [
                f"{MANIFEST}: signature does not verify with {origin} (the manifest was "
                "edited, or signed with another key)"
            ],
        ) from None
    if folder_pem is not None and folder_pem != public_key_pem(public_key):
        raise ManifestMismatch(folder, [f"{PUBLIC_KEY}: not the key that signed the manifest"])
    return public_key


def verify_release(folder: str, *, public_key: Ed25519PublicKey | None = None) -> dict[str, Any]:
    """Check the signature, the manifest and every file; raise ManifestMismatch if any fails.

    Without ``public_key`` the folder's own ``public_key.pem`` is used: that proves the
    folder is whole and unchanged since signing, not who signed it; a partner pins the key.
    A signature that fails stops at once (an unsigned manifest's list proves nothing);
    otherwise every file problem is listed, in the manifest's order. Returns the manifest as
    JSON data, with ``signed_by`` (the key's fingerprint) added.
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
    payload = _cat(fs, f"{base}/{MANIFEST}")
    if payload is None:
        raise ManifestMismatch(folder, [f"{MANIFEST} missing"])
    key = _check_signature(fs, base, folder, payload, public_key)
    manifest = read_manifest(payload, folder)
    problems = []
    listed = {e.name for e in manifest.files}
    present = {PurePosixPath(p).name for p in fs.ls(base, detail=False)} - set(RESERVED)
    for entry in manifest.files:
        path = f"{base}/{entry.name}"
        if not fs.isfile(path):
            problems.append(f"{entry.name}: missing")
            continue
        if fs.info(path).get("islink"):  # local folders: it could point anywhere
            problems.append(f"{entry.name}: a symbolic link, not a file")
            continue
        content = fs.cat_file(path)
        if len(content) != entry.bytes:
            problems.append(f"{entry.name}: size differs")
        if hashlib.sha256(content).hexdigest() != entry.sha256:
            problems.append(f"{entry.name}: sha256 differs")
        rows, columns = shape(entry.name, content, manifest.file_format)
        if rows != entry.rows:
            problems.append(f"{entry.name}: row count differs")
        if columns != entry.columns:
            problems.append(f"{entry.name}: columns differ")
    problems += [f"{name}: not in manifest" for name in sorted(present - listed)]
    if problems:
        raise ManifestMismatch(folder, problems)
    return {**manifest.model_dump(mode="json"), "signed_by": fingerprint(key)}
