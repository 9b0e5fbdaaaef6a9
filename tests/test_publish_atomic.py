"""Atomic, idempotent publishing: a publish killed at any moment (SIGKILL, a real process)
leaves the previous complete release or the new complete one, never a partial folder, and a
rerun completes it. Stale staging folders are cleaned by the next publish."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.release.publish import (
    PAUSE_ENV,
    clean_leftovers,
    publish_release,
    verify_release,
    withdraw,
)
from pipeline.settings.signing_keys import load_signing_key

KEY = load_signing_key()
RUN = "2026-11-24"
PUBLISHER = """
import sys
from pathlib import Path
from pipeline.release.publish import publish_release
from pipeline.settings.signing_keys import load_signing_key
key = load_signing_key()
files = {p.name: p for p in sorted(Path(sys.argv[1]).glob("*.csv"))}
print("ready", flush=True)
publish_release(release_root=sys.argv[2], recipient="p", run_id=sys.argv[3], files=files,
                profile={"k": 5}, signing_key=key)
print("done", flush=True)
"""


def _sources(tmp_path: Path, version: str, count: int) -> Path:
    src = tmp_path / f"src-{version}"
    src.mkdir()
    for i in range(count):
        (src / f"d{i}.csv").write_text(f"col,version\n{i},{version}\n" * (i + 1))
    return src


def _publish(src: Path, root: Path) -> None:
    files = {p.name: p for p in sorted(src.glob("*.csv"))}
    publish_release(
        release_root=str(root),
        recipient="p",
        run_id=RUN,
        files=files,
        profile={"k": 5},
        signing_key=KEY,
    )


def _start(src: Path, root: Path, pause: float) -> subprocess.Popen[str]:
    env = dict(os.environ, **{PAUSE_ENV: str(pause)})
    proc = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(src), str(root), RUN],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _visible_state(root: Path) -> dict[str, set[str]]:
    """Each visible folder of the recipient must verify; return the files each holds."""
    recipient = root / "p"
    state = {}
    for folder in sorted(recipient.iterdir()):
        if folder.name.startswith("."):
            continue
        manifest = verify_release(str(folder), public_key=KEY.public_key())
        state[folder.name] = {f["name"] for f in manifest["files"]}
    return state


def test_a_publish_killed_at_any_moment_never_leaves_a_partial_release(tmp_path: Path) -> None:
    old = _sources(tmp_path, "v1", 2)
    new = _sources(tmp_path, "v2", 4)
    root = tmp_path / "releases"
    old_files, new_files = {"d0.csv", "d1.csv"}, {f"d{i}.csv" for i in range(4)}
    seen, left_over = set(), 0
    # 7 writes and up to 2 renames, 40 ms apart: about 0.4 s, longer on a loaded machine, so
    # the kills are spread over one measured publish; the last run is left to finish.
    started = time.monotonic()
    _start(new, tmp_path / "timing", pause=0.04).wait(timeout=60)
    took = time.monotonic() - started
    for share in (0.0, 0.08, 0.2, 0.35, 0.5, 0.65, 0.8, None):
        _publish(old, root)  # the previous complete release
        proc = _start(new, root, pause=0.04)
        if share is None:
            proc.wait(timeout=60)
        else:
            time.sleep(share * took)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        state = _visible_state(root)
        assert set(state) <= {RUN}
        files = state.get(RUN)
        assert files in (old_files, new_files, None), files
        seen.add("new" if files == new_files else "old" if files == old_files else "none")
        left_over += any(p.name.startswith(".") for p in (root / "p").iterdir())
    assert left_over, "no kill landed while the publish was writing"
    assert "old" in seen and "new" in seen, seen
    # A rerun completes it and leaves nothing behind.
    proc = _start(new, root, pause=0)
    assert proc.wait(timeout=30) == 0
    assert _visible_state(root) == {RUN: new_files}
    assert sorted(p.name for p in (root / "p").iterdir()) == [RUN]


def test_a_first_publish_killed_leaves_nothing_visible_and_a_rerun_completes(
    tmp_path: Path,
) -> None:
    new = _sources(tmp_path, "v2", 3)
    root = tmp_path / "releases"
    proc = _start(new, root, pause=0.05)
    time.sleep(0.12)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert _visible_state(root) == {}
    (leftover,) = (root / "p").iterdir()
    assert leftover.name.startswith(".staging-")
    _publish(new, root)
    assert _visible_state(root) == {RUN: {"d0.csv", "d1.csv", "d2.csv"}}
    assert sorted(p.name for p in (root / "p").iterdir()) == [RUN]


def test_leftovers_of_a_live_process_of_another_run_are_kept(tmp_path: Path) -> None:
    recipient = tmp_path / "p"
    mine = recipient / f".staging-{RUN}-999999999"
    other_dead = recipient / ".staging-2026-11-23-999999998"
    other_live = recipient / f".old-2026-11-23-{os.getppid()}"
    for folder in (mine, other_dead, other_live):
        folder.mkdir(parents=True)
    assert clean_leftovers(recipient, RUN) == [other_dead.name, mine.name]
    assert [p.name for p in recipient.iterdir()] == [other_live.name]


def test_a_rerun_writes_identical_bytes_and_withdraw_is_one_rename(tmp_path: Path) -> None:
    src = _sources(tmp_path, "v1", 2)
    root = tmp_path / "releases"
    _publish(src, root)
    folder = root / "p" / RUN
    first = {p.name: (p.read_bytes(), p.stat().st_ino) for p in folder.iterdir()}
    _publish(src, root)
    second = {p.name: (p.read_bytes(), p.stat().st_ino) for p in folder.iterdir()}
    assert {n: b for n, (b, _) in first.items()} == {n: b for n, (b, _) in second.items()}
    assert all(first[n][1] != second[n][1] for n in first)  # new files, renamed in
    assert withdraw(str(root), "p", RUN)
    assert list((root / "p").iterdir()) == []


@pytest.mark.parametrize("url", ["memory://anonrelease-atomic-test"])
def test_an_object_store_gets_the_signature_last_and_verifies(url: str, tmp_path: Path) -> None:
    import fsspec

    src = _sources(tmp_path, "v1", 2)
    files = {p.name: p for p in sorted(src.glob("*.csv"))}
    written: list[str] = []
    fs = fsspec.filesystem("memory")
    real = fs.pipe_file

    def spy(path: str, value: bytes, **kwargs: object) -> None:
        written.append(path.rsplit("/", 1)[-1])
        real(path, value, **kwargs)

    fs.pipe_file = spy  # type: ignore[method-assign]
    try:
        release = publish_release(
            release_root=url,
            recipient="p",
            run_id=RUN,
            files=files,
            profile={},
            signing_key=KEY,
        )
    finally:
        del fs.pipe_file
    assert written == ["d0.csv", "d1.csv", "public_key.pem", "manifest.json", "manifest.json.sig"]
    assert verify_release(release.folder, public_key=KEY.public_key())["run"] == RUN
    fs.rm(url.removeprefix("memory://"), recursive=True)
