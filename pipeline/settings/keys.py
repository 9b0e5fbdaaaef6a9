"""Where the HMAC key comes from. Never from the repository.

Order: ``ANONRELEASE_HMAC_KEY`` (hex), ``ANONRELEASE_HMAC_KEY_FILE`` (a file holding hex),
the Airflow Variable ``anonrelease_hmac_secret`` (when running under Airflow), and only in
demo mode a throwaway key generated into a file outside the repository.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from pipeline.settings.paths import REPO_ROOT
from pipeline.settings.storage import private_dir, write_private
from transforms.errors import ConfigurationError

log = logging.getLogger(__name__)

# "secret" in the name makes Airflow mask the value wherever it would be shown.
AIRFLOW_VARIABLE = "anonrelease_hmac_secret"
DEMO_KEY_FILE = Path.home() / ".local" / "state" / "anonrelease" / "demo-hmac.key"


class MissingKeyError(ConfigurationError):
    """No HMAC key is configured; pseudonyms cannot be made."""


def _decode(text: str, origin: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError as exc:
        raise MissingKeyError(f"HMAC key from {origin} is not hex") from exc
    if not key:
        raise MissingKeyError(f"HMAC key from {origin} is empty")
    return key


def _read_key_file(file: str) -> str:
    """The key file's text; a missing or unreadable file names the file, never its content."""
    try:
        return Path(file).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MissingKeyError(
            f"HMAC key file {file} (ANONRELEASE_HMAC_KEY_FILE) not found"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MissingKeyError(
            f"HMAC key file {file} (ANONRELEASE_HMAC_KEY_FILE) cannot be read "
            f"({type(exc).__name__})"
        ) from None


def _from_airflow() -> str | None:
    if not os.environ.get("AIRFLOW_CTX_DAG_ID"):
        return None
    from airflow.sdk import Variable

    value: str | None = Variable.get(AIRFLOW_VARIABLE, default=None)
    return value


def demo_mode() -> bool:
    """Whether the demo's generated keys may stand in for real ones (``ANONRELEASE_DEMO=1``,
    set by ``make demo`` and the tests; never in production)."""
    return os.environ.get("ANONRELEASE_DEMO") == "1"


def demo_key_file() -> Path:
    return Path(os.environ.get("ANONRELEASE_DEMO_KEY_FILE") or DEMO_KEY_FILE)


def create_demo_key(path: Path | None = None) -> Path:
    """Create (once) a throwaway demo key outside the repository and return its path."""
    path = path or demo_key_file()
    if path.resolve().is_relative_to(REPO_ROOT):
        raise MissingKeyError(f"refusing to write a key inside the repository: {path}")
    if not path.exists():
        private_dir(path.parent)
        write_private(path, secrets.token_hex(32) + "\n")
    return path


def load_hmac_key(*, demo: bool = False) -> bytes:
    """Return the configured key; in demo mode fall back to the throwaway demo key."""
    if value := os.environ.get("ANONRELEASE_HMAC_KEY"):
        return _decode(value, "ANONRELEASE_HMAC_KEY")
    if file := os.environ.get("ANONRELEASE_HMAC_KEY_FILE"):
        return _decode(_read_key_file(file), file)
    if value := _from_airflow():
        return _decode(value, f"Airflow Variable {AIRFLOW_VARIABLE}")
    if demo:
        path = create_demo_key()
        log.warning("DEMO MODE: using a throwaway HMAC key from %s (not for production)", path)
        return _decode(path.read_text(), str(path))
    raise MissingKeyError(
        "no HMAC key: set ANONRELEASE_HMAC_KEY or ANONRELEASE_HMAC_KEY_FILE, "
        f"or the Airflow Variable {AIRFLOW_VARIABLE}"
    )


CELLKEY_LABEL = b"anonrelease cell key record keys v1"


def load_cellkey_secret(*, demo: bool = False) -> bytes:
    """The secret of the cell key method's record keys: its own key, never the HMAC key.

    ``ANONRELEASE_CELLKEY_KEY`` / ``_FILE`` when set; otherwise derived from the HMAC key by
    one HMAC under a fixed label (domain separation: knowing pseudonyms gives no record key,
    and a record key says nothing about the pseudonymization key). Rotating the HMAC key then
    changes every record key, like every pseudonym: a new series, documented in the README.
    """
    if value := os.environ.get("ANONRELEASE_CELLKEY_KEY"):
        return _decode(value, "ANONRELEASE_CELLKEY_KEY")
    if file := os.environ.get("ANONRELEASE_CELLKEY_KEY_FILE"):
        return _decode(_read_key_file(file), file)
    return hmac.new(load_hmac_key(demo=demo), CELLKEY_LABEL, hashlib.sha256).digest()
