"""One run at a time per work folder and date: real processes, started together and staggered,
and a killed run whose lock is taken over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from pipeline.demo.generator import generate_demo_database
from pipeline.run.audit import read_events
from pipeline.run.lock import RunAlreadyInProgress, holder, lock_path, run_lock
from transforms.errors import EXIT_ALREADY_RUNNING

RUN_DATE = date(2026, 11, 24)
RUN_ID = RUN_DATE.isoformat()
CLI = Path(sys.executable).parent / "anonrelease"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('source') / 'source.sqlite'}"
    generate_demo_database(url, customers=300, seed=11, as_of=RUN_DATE, dirty_rate=0.001)
    return url


def _start(source: str, root: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, ANONRELEASE_SOURCE_URL=source, ANONRELEASE_HMAC_KEY="5a" * 32)
    args = ["run", "--date", RUN_ID, "--out", str(root / "releases")]
    return subprocess.Popen(
        [str(CLI), *args, "--workdir", str(root / "warehouse")],
        env=env,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_until_locked_by(proc: subprocess.Popen[str], root: Path, timeout: float = 120) -> None:
    path = lock_path(root / "warehouse", RUN_ID)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if path.exists() and path.read_bytes():
            assert json.loads(path.read_text())["pid"] == proc.pid
            return
        time.sleep(0.1)
    raise AssertionError("the run never took its lock")


def _kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)


def _refused(proc: subprocess.Popen[str], holder_pid: int) -> None:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == EXIT_ALREADY_RUNNING, (out, err)
    (line,) = err.splitlines()  # one line, no traceback
    assert line.startswith(f"error: a run for {RUN_ID} is already in progress (pid {holder_pid}, ")
    assert out == ""


def test_two_runs_started_together_one_runs_the_other_exits_3_touching_nothing(
    source: str, tmp_path: Path
) -> None:
    first, second = _start(source, tmp_path), _start(source, tmp_path)
    try:
        deadline = time.monotonic() + 300
        while first.poll() is None and second.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        loser, winner = (first, second) if first.poll() is not None else (second, first)
        assert winner.poll() is None, "both runs ended: they did not overlap"
        _refused(loser, winner.pid)
        events = read_events(tmp_path / "warehouse", run_id=RUN_ID)
        assert [e["event"] for e in events].count("extract.started") == 1
        assert not [e for e in events if e["event"].endswith(".failed")]
    finally:
        _kill(first)
        _kill(second)


def test_a_staggered_run_exits_3_and_a_killed_runs_lock_is_taken_over(
    source: str, tmp_path: Path
) -> None:
    first = _start(source, tmp_path)
    try:
        _wait_until_locked_by(first, tmp_path)
        second = _start(source, tmp_path)
        _refused(second, first.pid)
        assert first.poll() is None
    finally:
        _kill(first)  # kill -9: the kernel drops its flock, the file still names it

    workdir = tmp_path / "warehouse"
    assert json.loads(lock_path(workdir, RUN_ID).read_text())["pid"] == first.pid
    assert holder(workdir, RUN_ID) is None  # stale: its flock died with the process
    with run_lock(workdir, RUN_ID) as mine:
        assert mine.pid == os.getpid()
    events = read_events(workdir, run_id=RUN_ID)
    (taken,) = [e for e in events if e["event"] == "run.stale_lock_taken_over"]
    assert taken["stale_pid"] == first.pid
    assert [e["event"] for e in events].count("extract.started") == 1  # the second: nothing
    assert lock_path(workdir, RUN_ID).read_bytes() == b""


def test_the_lock_is_reentrant_in_one_thread_and_refused_to_another(tmp_path: Path) -> None:
    refused: list[BaseException] = []

    def other() -> None:
        try:
            with run_lock(tmp_path, RUN_ID):
                pass
        except RunAlreadyInProgress as exc:
            refused.append(exc)

    with run_lock(tmp_path, RUN_ID) as mine, run_lock(tmp_path, RUN_ID) as again:
        assert again == mine and mine.pid == os.getpid()
        assert holder(tmp_path, RUN_ID) == mine
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        with run_lock(tmp_path, "2026-11-25"):  # another date is another lock
            pass
    assert len(refused) == 1 and f"(pid {os.getpid()}, since " in str(refused[0])
    assert holder(tmp_path, RUN_ID) is None
    with run_lock(tmp_path, RUN_ID):  # released: free again
        pass


def test_another_process_holding_the_lock_is_named(tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import sys, time
        from pipeline.run.lock import run_lock
        with run_lock({str(tmp_path)!r}, {RUN_ID!r}):
            print("locked", flush=True)
            time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
        with pytest.raises(RunAlreadyInProgress) as err, run_lock(tmp_path, RUN_ID):
            pass
        assert err.value.exit_code == EXIT_ALREADY_RUNNING
        assert err.value.holder is not None and err.value.holder.pid == proc.pid
        assert holder(tmp_path, RUN_ID) == err.value.holder
    finally:
        proc.kill()
        proc.wait()
    with run_lock(tmp_path, RUN_ID) as mine:  # the dead holder's lock is taken over
        assert mine.pid == os.getpid()
    (event,) = read_events(tmp_path, run_id=RUN_ID)
    assert event["event"] == "run.stale_lock_taken_over" and event["stale_pid"] == proc.pid
