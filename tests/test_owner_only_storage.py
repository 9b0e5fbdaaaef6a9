"""The warehouse, keys and exports are owner-only whatever the umask; releases are delivered."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.demo import DEMO_DATE
from pipeline.demo.generator import generate_demo_database
from pipeline.settings.storage import (
    delivered,
    loose_modes,
    open_private,
    owner_only,
    private_dir,
    restrict_tree,
    write_private,
)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o000)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_helpers_ignore_the_umask(tmp_path: Path, permissive_umask) -> None:
    tmp_path.chmod(0o755)
    folder = private_dir(tmp_path / "a" / "b")
    write_private(folder / "f.txt", "x")
    with open_private(folder / "g.jsonl", "a") as f:
        f.write("line\n")
    assert _mode(tmp_path / "a") == 0o700
    assert _mode(folder) == 0o700
    assert _mode(folder / "f.txt") == 0o600
    assert _mode(folder / "g.jsonl") == 0o600
    assert _mode(tmp_path) == 0o755  # a parent that existed already is left as it was


def test_an_existing_loose_file_is_tightened_before_it_is_written(tmp_path: Path) -> None:
    path = tmp_path / "loose"
    path.write_text("old")
    path.chmod(0o666)
    write_private(path, "new")
    assert _mode(path) == 0o600
    assert path.read_text() == "new"


def test_owner_only_and_delivered_umasks(tmp_path: Path, permissive_umask) -> None:
    with owner_only():
        (tmp_path / "stored").write_text("x")
        with delivered():
            (tmp_path / "released").write_text("x")
        # nested: delivered still means the umask before the outermost owner_only
        with owner_only(), delivered():
            (tmp_path / "released2").write_text("x")
    assert _mode(tmp_path / "stored") == 0o600
    assert _mode(tmp_path / "released") == 0o666
    assert _mode(tmp_path / "released2") == 0o666
    assert os.umask(0) == 0o000  # restored


def test_restrict_tree(tmp_path: Path) -> None:
    (tmp_path / "d" / "e").mkdir(parents=True)
    (tmp_path / "d" / "e" / "f").write_text("x")
    os.chmod(tmp_path / "d" / "e" / "f", 0o644)
    restrict_tree(tmp_path / "d")
    assert loose_modes(tmp_path / "d") == []


def test_a_demo_key_is_owner_only(tmp_path: Path, permissive_umask) -> None:
    from pipeline.settings.keys import create_demo_key

    path = create_demo_key(tmp_path / "keys" / "demo.key")
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700


def test_a_run_under_a_permissive_umask_leaves_nothing_readable_by_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.run.context import RunContext
    from pipeline.run.runner import run_all
    from pipeline.settings.release_config import load_config

    url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    generate_demo_database(url, customers=1200, seed=5, as_of=DEMO_DATE, dirty_rate=0.002)
    workdir = tmp_path / "warehouse"
    releases = tmp_path / "releases"
    monkeypatch.setenv("ANONRELEASE_SOURCE_URL", url)
    monkeypatch.setenv("ANONRELEASE_WORKDIR", str(workdir))
    monkeypatch.setenv("ANONRELEASE_RELEASE_ROOT", str(releases))
    monkeypatch.setenv("ANONRELEASE_HMAC_KEY", "5a" * 32)
    previous = os.umask(0o022)
    try:
        run_all(RunContext(run_date=DEMO_DATE, config=load_config()))
        umask_after = os.umask(0o022)
    finally:
        os.umask(previous)
    assert umask_after == 0o022  # the run restored the caller's umask
    written = {p.relative_to(workdir).parts[0] for p in workdir.rglob("*")}
    assert {DEMO_DATE.isoformat(), "audit", "received"} <= written
    assert loose_modes(workdir) == []
    # Delivered releases keep the caller's umask: partners read them.
    published = [p for p in releases.rglob("*") if p.is_file()]
    assert published
    assert all(_mode(p) == 0o644 for p in published)
