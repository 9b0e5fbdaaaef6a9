"""One run at a time per work folder and date: real processes, started together and staggered,
and a killed run whose lock is taken over."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from datetime import date
from pathlib import Path

import pytest

from pipeline.run.audit import read_events
from pipeline.run.lock import RunAlreadyInProgress, holder, run_lock
from transforms.errors import EXIT_ALREADY_RUNNING

RUN_DATE = date(2026, 11, 24)
RUN_ID = RUN_DATE.isoformat()
CLI = Path(sys.executable).parent / "anonrelease"


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
