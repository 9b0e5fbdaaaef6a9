from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.release.publish import ManifestMismatch, publish_release, verify_release, withdraw


def _files(tmp_path: Path) -> dict[str, Path]:
    a = tmp_path / "src" / "a.csv"
    a.parent.mkdir(exist_ok=True)
    a.write_bytes(b"x,y\n1,2\n3,4\n")
    b = tmp_path / "src" / "b.csv"
    b.write_bytes(b"z\n")
    return {"a.csv": a, "b.csv": b}


def test_publish_writes_files_and_a_verifiable_deterministic_manifest(tmp_path: Path) -> None:
    root = str(tmp_path / "releases")
    kwargs = {"recipient": "p1", "run_id": "2026-11-24", "profile": {"k": 10}}
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
        release_root=root, recipient="p1", run_id="r", files=_files(tmp_path), profile={}
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
    release = publish_release(release_root=root, recipient="p", run_id="r", files=files, profile={})
    (Path(release.folder) / "stale.csv").write_bytes(b"old\n")
    publish_release(release_root=root, recipient="p", run_id="r", files=files, profile={})
    assert not (Path(release.folder) / "stale.csv").exists()
    assert withdraw(root, "p", "r") and not Path(release.folder).exists()
    assert not withdraw(root, "p", "r")


def test_publish_to_an_fsspec_url(tmp_path: Path) -> None:
    root = f"file://{tmp_path}/remote"
    release = publish_release(
        release_root=root, recipient="p", run_id="r", files=_files(tmp_path), profile={}
    )
    assert verify_release(release.folder)["run"] == "r"


def test_withdraw_run_removes_every_recipient_folder_of_that_run_only(tmp_path: Path) -> None:
    from pipeline.release.publish import withdraw_run

    root = str(tmp_path / "releases")
    files = _files(tmp_path)
    for recipient, run in (("a", "r1"), ("b", "r1"), ("a", "r2")):
        publish_release(release_root=root, recipient=recipient, run_id=run, files=files, profile={})
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
    )
    runner = CliRunner()
    ok = runner.invoke(app, ["verify", release.folder])
    assert ok.exit_code == 0 and "2 file(s) match" in " ".join(ok.output.split())
    (Path(release.folder) / "a.csv").write_bytes(b"x,y\n")
    bad = runner.invoke(app, ["verify", release.folder])
    assert bad.exit_code == 1 and "a.csv: sha256 differs" in " ".join(bad.output.split())
