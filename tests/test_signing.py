"""Signed manifests: what a partner's ``anonrelease verify`` accepts and what it refuses.

Each way a release can be wrong exits 1 naming it: a changed byte, a missing or an extra
file, an edited manifest, a wrong public key, an unsigned folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.release.publish import (
    MANIFEST_FORMAT,
    ManifestMismatch,
    code_version,
    publish_release,
    verify_release,
)
from pipeline.settings.signing_keys import (
    MissingSigningKeyError,
    fingerprint,
    load_signing_key,
    private_key_pem,
    public_key_pem,
)

KEY = load_signing_key()


def _release(tmp_path: Path, key: Ed25519PrivateKey = KEY) -> Path:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "t.csv").write_bytes("地域,人数\n東京都,12\n".encode())
    (src / "m.csv").write_bytes(b"age,gender\n20-29,F\n")
    release = publish_release(
        release_root=str(tmp_path / "releases"),
        recipient="p",
        run_id="2026-11-24",
        files={"t.csv": src / "t.csv", "m.csv": src / "m.csv"},
        profile={"k": 5},
        parameters={"t": {"min_cell_count": 10}},
        signing_key=key,
    )
    return Path(release.folder)


def _verify(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["verify", *args])
    return result.exit_code, " ".join(result.output.split())


def _pinned(tmp_path: Path, key: Ed25519PrivateKey = KEY) -> str:
    path = tmp_path / "pinned.pem"
    path.write_bytes(public_key_pem(key))
    return str(path)


def test_manifest_lists_schema_code_version_and_run_and_is_signed(tmp_path: Path) -> None:
    folder = _release(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == [
        "m.csv",
        "manifest.json",
        "manifest.json.sig",
        "public_key.pem",
        "t.csv",
    ]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == MANIFEST_FORMAT
    assert manifest["run"] == "2026-11-24" and manifest["code_version"] == code_version()
    columns = {f["name"]: f["columns"] for f in manifest["files"]}
    assert columns == {"m.csv": ["age", "gender"], "t.csv": ["地域", "人数"]}
    assert manifest["datasets"] == {"t": {"min_cell_count": 10}}
    checked = verify_release(str(folder), public_key=KEY.public_key())
    assert checked["signed_by"] == fingerprint(KEY)
    code, out = _verify(str(folder), "--public-key", _pinned(tmp_path))
    assert code == 0 and f"signature by {fingerprint(KEY)} holds; 2 file(s) match" in out


def test_without_a_pinned_key_the_folder_key_is_used_and_said(tmp_path: Path) -> None:
    code, out = _verify(str(_release(tmp_path)))
    assert code == 0
    assert "no --public-key given; using the folder's own public_key.pem" in out


def test_a_rerun_writes_identical_bytes(tmp_path: Path) -> None:
    folder = _release(tmp_path)
    first = {p.name: p.read_bytes() for p in folder.iterdir()}
    _release(tmp_path)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == first


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda f: _flip_one_byte(f / "m.csv"), "m.csv: sha256 differs"),
        (lambda f: (f / "t.csv").unlink(), "t.csv: missing"),
        (lambda f: (f / "extra.csv").write_bytes(b"a\n"), "extra.csv: not in manifest"),
        (
            lambda f: (f / "manifest.json").write_text(
                (f / "manifest.json").read_text().replace('"k": 5', '"k": 50')
            ),
            "manifest.json: signature does not verify",
        ),
        (lambda f: (f / "manifest.json.sig").unlink(), "manifest.json.sig missing"),
        (lambda f: (f / "manifest.json.sig").write_bytes(b"%%%\n"), "not a base64 signature"),
    ],
    ids=["changed-byte", "missing-file", "extra-file", "edited-manifest", "unsigned", "bad-sig"],
)
def test_each_tampering_exits_1_naming_it(tmp_path: Path, tamper, reason: str) -> None:
    folder = _release(tmp_path)
    tamper(folder)
    code, out = _verify(str(folder), "--public-key", _pinned(tmp_path))
    assert code == 1 and "FAILED" in out and reason in out, out
    with pytest.raises(ManifestMismatch, match=reason):
        verify_release(str(folder))


def test_a_wrong_public_key_exits_1(tmp_path: Path) -> None:
    folder = _release(tmp_path)
    other = Ed25519PrivateKey.generate()
    code, out = _verify(str(folder), "--public-key", _pinned(tmp_path, other))
    assert code == 1
    assert f"signature does not verify with the given key {fingerprint(other)}" in out


def test_a_forger_who_re_signs_with_own_key_is_caught_by_the_pinned_key(tmp_path: Path) -> None:
    forger = Ed25519PrivateKey.generate()
    folder = _release(tmp_path, key=forger)  # a whole folder signed by someone else
    assert verify_release(str(folder))["signed_by"] == fingerprint(forger)  # self-consistent
    code, out = _verify(str(folder), "--public-key", _pinned(tmp_path, KEY))
    assert code == 1 and "signature does not verify" in out


def test_a_replaced_public_key_file_is_named(tmp_path: Path) -> None:
    folder = _release(tmp_path)
    (folder / "public_key.pem").write_bytes(public_key_pem(Ed25519PrivateKey.generate()))
    code, out = _verify(str(folder), "--public-key", _pinned(tmp_path))
    assert code == 1 and "public_key.pem: not the key that signed the manifest" in out
    code, out = _verify(str(folder))
    assert code == 1 and "signature does not verify with the folder's public_key.pem" in out


def test_an_unreadable_public_key_option_is_a_usage_error(tmp_path: Path) -> None:
    folder = _release(tmp_path)
    (tmp_path / "junk.pem").write_text("not a key\n")
    code, out = _verify(str(folder), "--public-key", str(tmp_path / "junk.pem"))
    assert code == 2
    code, out = _verify(str(folder), "--public-key", str(tmp_path / "absent.pem"))
    assert code == 2 and "cannot be read" in out


# ----------------------------------------------------------------------------- the key


def test_key_sources_and_their_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANONRELEASE_SIGNING_KEY")
    with pytest.raises(MissingSigningKeyError, match="ANONRELEASE_SIGNING_KEY_FILE"):
        load_signing_key()
    key = Ed25519PrivateKey.generate()
    file = tmp_path / "signing.pem"
    file.write_bytes(private_key_pem(key))
    file.chmod(0o644)
    monkeypatch.setenv("ANONRELEASE_SIGNING_KEY_FILE", str(file))
    with pytest.raises(MissingSigningKeyError, match=r"readable by others.*chmod 600"):
        load_signing_key()
    file.chmod(0o600)
    assert fingerprint(load_signing_key()) == fingerprint(key)
    monkeypatch.setenv("ANONRELEASE_SIGNING_KEY", "abcd")
    with pytest.raises(MissingSigningKeyError, match="32 bytes, got 2"):
        load_signing_key()
    monkeypatch.setenv("ANONRELEASE_SIGNING_KEY", private_key_pem(key).decode())
    assert fingerprint(load_signing_key()) == fingerprint(key)


def test_demo_mode_makes_a_throwaway_owner_only_key_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("ANONRELEASE_SIGNING_KEY")
    monkeypatch.setenv("ANONRELEASE_DEMO_SIGNING_KEY_FILE", str(tmp_path / "state" / "demo.pem"))
    first = load_signing_key(demo=True)
    assert "DEMO MODE" in caplog.text and "throwaway" in caplog.text
    assert (tmp_path / "state" / "demo.pem").stat().st_mode & 0o077 == 0
    assert fingerprint(load_signing_key(demo=True)) == fingerprint(first)  # made once


def test_preflight_checks_the_signing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.run.preflight import check_signing_key

    assert check_signing_key().startswith("Ed25519 signing key sha256:")
    assert "5b" * 8 not in check_signing_key()  # never the key
    monkeypatch.delenv("ANONRELEASE_SIGNING_KEY")
    with pytest.raises(MissingSigningKeyError, match="no manifest signing key"):
        check_signing_key()
    assert os.environ.get("ANONRELEASE_DEMO") is None
