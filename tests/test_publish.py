from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.release.publish import (
    ManifestMismatch,
    publish_release,
    sign_manifest,
    verify_release,
    withdraw,
)
from pipeline.settings.signing_keys import load_signing_key

KEY = load_signing_key()  # the tests' fixed key (tests/conftest.py)


def _files(tmp_path: Path) -> dict[str, Path]:
    a = tmp_path / "src" / "a.csv"
    a.parent.mkdir(exist_ok=True)
    a.write_bytes(b"x,y\n1,2\n3,4\n")
    b = tmp_path / "src" / "b.csv"
    b.write_bytes(b"z\n")
    return {"a.csv": a, "b.csv": b}


def test_publish_writes_files_and_a_verifiable_deterministic_manifest(tmp_path: Path) -> None:
    root = str(tmp_path / "releases")
    kwargs = {"recipient": "p1", "run_id": "2026-11-24", "profile": {"k": 10}, "signing_key": KEY}
    release = publish_release(release_root=root, files=_files(tmp_path), **kwargs)
    manifest_path = Path(release.folder) / "manifest.json"
    first = manifest_path.read_bytes()
    manifest = verify_release(release.folder)
    assert [(f["name"], f["rows"]) for f in manifest["files"]] == [("a.csv", 2), ("b.csv", 0)]
    publish_release(release_root=root, files=_files(tmp_path), **kwargs)
    assert manifest_path.read_bytes() == first
    assert json.loads(first)["recipient"] == "p1"


def test_verify_detects_tampering_missing_and_extra_files(tmp_path: Path) -> None:
    root = str(tmp_path / "releases")
    release = publish_release(
        release_root=root,
        recipient="p1",
        run_id="r",
        files=_files(tmp_path),
        profile={},
        signing_key=KEY,
    )
    folder = Path(release.folder)
    (folder / "a.csv").write_bytes(b"x,y\n1,2\n3,5\n")
    (folder / "b.csv").unlink()
    (folder / "extra.csv").write_bytes(b"q\n")
    with pytest.raises(ManifestMismatch) as err:
        verify_release(release.folder)
    assert set(err.value.problems) == {
        "extra.csv: not in manifest",
        "a.csv: sha256 differs",
        "b.csv: missing",
    }


def test_republish_replaces_the_run_folder_and_withdraw_removes_it(tmp_path: Path) -> None:
    root = str(tmp_path / "releases")
    files = _files(tmp_path)
    release = publish_release(
        release_root=root, recipient="p", run_id="r", files=files, profile={}, signing_key=KEY
    )
    (Path(release.folder) / "stale.csv").write_bytes(b"old\n")
    publish_release(
        release_root=root, recipient="p", run_id="r", files=files, profile={}, signing_key=KEY
    )
    assert not (Path(release.folder) / "stale.csv").exists()
    assert withdraw(root, "p", "r") and not Path(release.folder).exists()
    assert not withdraw(root, "p", "r")


def test_publish_to_an_fsspec_url(tmp_path: Path) -> None:
    root = f"file://{tmp_path}/remote"
    release = publish_release(
        release_root=root,
        recipient="p",
        run_id="r",
        files=_files(tmp_path),
        profile={},
        signing_key=KEY,
    )
    assert verify_release(release.folder)["run"] == "r"


def test_withdraw_run_removes_every_recipient_folder_of_that_run_only(tmp_path: Path) -> None:
    from pipeline.release.publish import withdraw_run

    root = str(tmp_path / "releases")
    files = _files(tmp_path)
    for recipient, run in (("a", "r1"), ("b", "r1"), ("a", "r2")):
        publish_release(
            release_root=root,
            recipient=recipient,
            run_id=run,
            files=files,
            profile={},
            signing_key=KEY,
        )
    removed = withdraw_run(root, "r1")
    assert [Path(p).parent.name for p in removed] == ["a", "b"]
    assert sorted(p.name for p in (tmp_path / "releases").glob("*/*")) == ["r2"]
    assert withdraw_run(str(tmp_path / "nothing-here"), "r1") == []


def test_verify_command_exit_codes(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    release = publish_release(
        release_root=str(tmp_path / "releases"),
        recipient="p",
        run_id="r",
        files=_files(tmp_path),
        profile={},
        signing_key=KEY,
    )
    runner = CliRunner()
    ok = runner.invoke(app, ["verify", release.folder])
    assert ok.exit_code == 0 and "2 file(s) match" in " ".join(ok.output.split())
    (Path(release.folder) / "a.csv").write_bytes(b"x,y\n")
    bad = runner.invoke(app, ["verify", release.folder])
    assert bad.exit_code == 1 and "a.csv: sha256 differs" in " ".join(bad.output.split())


def _hostile(tmp_path: Path, **changes: object) -> Path:
    """A published folder whose manifest is then rewritten with ``changes``."""
    release = publish_release(
        release_root=str(tmp_path / "releases"),
        recipient="p",
        run_id="r",
        files=_files(tmp_path),
        profile={},
        signing_key=KEY,
    )
    folder = Path(release.folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(changes)
    _resign(folder, json.dumps(manifest).encode())
    return folder


def _resign(folder: Path, manifest: bytes) -> None:
    """Write a manifest signed with the folder's key: the checks after the signature hold."""
    (folder / "manifest.json").write_bytes(manifest)
    (folder / "manifest.json.sig").write_bytes(sign_manifest(manifest, KEY))


def _entry(path: Path, name: str) -> dict[str, object]:
    import hashlib

    payload = path.read_bytes()
    return {
        "name": name,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "bytes": len(payload),
        "rows": max(payload.count(b"\n") - 1, 0),
        "columns": payload.split(b"\n")[0].decode().split(","),
    }


@pytest.mark.parametrize(
    "name",
    [
        "../../../outside.csv",  # resolves to tmp_path/outside.csv, real sha256
        "OUTSIDE",  # replaced by the absolute path of the same file
        "sub/a.csv",
        "sub\\a.csv",
        "..",
    ],
)
def test_verify_rejects_an_entry_that_is_not_a_plain_file_name(tmp_path: Path, name) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_bytes(b"h\n1\n")
    name = str(outside) if name == "OUTSIDE" else name
    a = _files(tmp_path)["a.csv"]
    folder = _hostile(tmp_path, files=[_entry(a, "a.csv"), _entry(outside, name)])
    (folder / "b.csv").unlink()
    if name == "../../../outside.csv":
        assert (folder / name).resolve() == outside.resolve()
    with pytest.raises(ManifestMismatch, match="not a plain file name"):
        verify_release(str(folder))


def test_verify_rejects_a_manifest_with_no_files_in_an_emptied_folder(tmp_path: Path) -> None:
    folder = _hostile(tmp_path, files=[])
    for name in ("a.csv", "b.csv"):
        (folder / name).unlink()
    with pytest.raises(ManifestMismatch, match=r"manifest\.json: files: .*at least 1"):
        verify_release(str(folder))


def test_verify_rejects_duplicate_names(tmp_path: Path) -> None:
    a, b = _files(tmp_path).values()
    folder = _hostile(tmp_path, files=[_entry(a, "a.csv"), _entry(a, "a.csv"), _entry(b, "b.csv")])
    with pytest.raises(ManifestMismatch, match=r"duplicate file names: 'a\.csv'"):
        verify_release(str(folder))


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json at all", r"manifest\.json is not valid JSON \(line 1, column 1\)"),
        (b"\xff\xfe\x00garbage", r"manifest\.json is not valid JSON"),
        (b"[]", r"manifest\.json: top level: "),
        (b'{"format": "anonrelease-manifest/1"}', r"manifest\.json: files: Field required"),
    ],
)
def test_verify_rejects_a_manifest_that_is_not_json_of_the_format(
    tmp_path: Path, payload: bytes, reason: str
) -> None:
    folder = _hostile(tmp_path)
    _resign(folder, payload)
    with pytest.raises(ManifestMismatch, match=reason):
        verify_release(str(folder))


def test_verify_rejects_another_format_and_unknown_fields(tmp_path: Path) -> None:
    (tmp_path / "f").mkdir()
    (tmp_path / "x").mkdir()
    with pytest.raises(ManifestMismatch, match="format: Input should be 'anonrelease-manifest/2'"):
        verify_release(str(_hostile(tmp_path / "f", format="something-else/9")))
    with pytest.raises(ManifestMismatch, match="signed_by: Extra inputs are not permitted"):
        verify_release(str(_hostile(tmp_path / "x", signed_by="nobody")))


def test_verify_rejects_a_symbolic_link_and_a_wrong_size(tmp_path: Path) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_bytes(b"h\n1\n")
    folder = _hostile(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "b.csv").unlink()
    (folder / "b.csv").symlink_to(outside)
    manifest["files"] = [_entry(tmp_path / "src" / "a.csv", "a.csv"), _entry(outside, "b.csv")]
    manifest["files"][0]["bytes"] += 1
    _resign(folder, json.dumps(manifest).encode())
    with pytest.raises(ManifestMismatch) as err:
        verify_release(str(folder))
    assert set(err.value.problems) == {"a.csv: size differs", "b.csv: a symbolic link, not a file"}
