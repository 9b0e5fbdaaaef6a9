"""Where the Ed25519 key that signs release manifests comes from. Never from the repository.

Order: ``ANONRELEASE_SIGNING_KEY`` (a PEM private key, or the 32-byte private seed in hex),
``ANONRELEASE_SIGNING_KEY_FILE`` (a PEM file readable by its owner only), and only in demo
mode (``ANONRELEASE_DEMO=1``) a throwaway key generated once into
``~/.local/state/anonrelease/demo-signing.pem`` (``ANONRELEASE_DEMO_SIGNING_KEY_FILE``
overrides the place), announced as such. The HMAC key's rules apply (``pipeline.settings.keys``):
messages name the variable or the file, never the key.

Partners pin the *public* key, received out of band; it is also published beside every
manifest (``public_key.pem``). Rotating the key means telling every partner the new one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pipeline.settings.paths import REPO_ROOT
from transforms.errors import ConfigurationError

log = logging.getLogger(__name__)

SIGNING_KEY_ENV = "ANONRELEASE_SIGNING_KEY"
SIGNING_KEY_FILE_ENV = "ANONRELEASE_SIGNING_KEY_FILE"
DEMO_SIGNING_KEY_FILE_ENV = "ANONRELEASE_DEMO_SIGNING_KEY_FILE"
DEMO_SIGNING_KEY_FILE = Path.home() / ".local" / "state" / "anonrelease" / "demo-signing.pem"


class MissingSigningKeyError(ConfigurationError):
    """No usable manifest signing key is configured; nothing can be published."""


def _parse(data: bytes, origin: str) -> Ed25519PrivateKey:
    text = data.strip()
    if not text:
        raise MissingSigningKeyError(f"signing key from {origin} is empty")
    if text.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text, password=None)
        except (ValueError, TypeError):
            raise MissingSigningKeyError(
                f"signing key from {origin} is not an unencrypted PEM private key"
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise MissingSigningKeyError(
                f"signing key from {origin} is a {type(key).__name__}, expected Ed25519"
            )
        return key
    try:
        seed = bytes.fromhex(text.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        raise MissingSigningKeyError(
            f"signing key from {origin} is neither PEM nor a hex Ed25519 seed"
        ) from None
    if len(seed) != 32:
        raise MissingSigningKeyError(
            f"signing key from {origin}: an Ed25519 seed is 32 bytes, got {len(seed)}"
        )
    return Ed25519PrivateKey.from_private_bytes(seed)


def _read_key_file(file: str) -> bytes:
    path = Path(file)
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except FileNotFoundError:
        raise MissingSigningKeyError(
            f"signing key file {file} ({SIGNING_KEY_FILE_ENV}) not found"
        ) from None
    except OSError as exc:
        raise MissingSigningKeyError(
            f"signing key file {file} ({SIGNING_KEY_FILE_ENV}) cannot be read "
            f"({type(exc).__name__})"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MissingSigningKeyError(
            f"signing key file {file} ({SIGNING_KEY_FILE_ENV}) is readable by others "
            f"(mode {stat.S_IMODE(mode):o}); it must be owner-only (chmod 600)"
        )
    return data


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """``sha256:`` of the raw public key: what a partner compares when it pins the key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def demo_signing_key_file() -> Path:
    return Path(os.environ.get(DEMO_SIGNING_KEY_FILE_ENV) or DEMO_SIGNING_KEY_FILE)


def create_demo_signing_key(path: Path | None = None) -> Path:
    """Create (once) a throwaway demo signing key outside the repository; return its path."""
    path = path or demo_signing_key_file()
    if path.resolve().is_relative_to(REPO_ROOT):
        raise MissingSigningKeyError(f"refusing to write a key inside the repository: {path}")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(private_key_pem(Ed25519PrivateKey.generate()))
    return path


def load_signing_key(*, demo: bool = False) -> Ed25519PrivateKey:
    """The configured signing key; in demo mode fall back to the throwaway demo key."""
    if value := os.environ.get(SIGNING_KEY_ENV):
        return _parse(value.encode(), SIGNING_KEY_ENV)
    if file := os.environ.get(SIGNING_KEY_FILE_ENV):
        return _parse(_read_key_file(file), file)
    if demo:
        path = create_demo_signing_key()
        log.warning(
            "DEMO MODE: signing manifests with a throwaway key from %s (not for production)",
            path,
        )
        return _parse(_read_key_file(str(path)), str(path))
    raise MissingSigningKeyError(
        f"no manifest signing key: set {SIGNING_KEY_ENV} or {SIGNING_KEY_FILE_ENV} "
        "(an Ed25519 PEM private key, owner-only)"
    )
