"""One run at a time per work folder and run date: a lock file held with ``fcntl.flock``.

``<workdir>/.locks/<run date>.lock`` is locked for as long as a run works on that date's
files: the whole of ``anonrelease run`` (``run_all``), and each step on its own (a DAG task).
While it is held the file names its holder (``{"pid": ..., "since": ...}``), for the message
a second run gets before it exits without touching anything.

The kernel releases a flock when the process that holds it ends, however it ends (a crash,
``kill -9``, a lost container). A lock file whose flock can be taken is therefore stale by
definition, whatever it still says: the next run takes it over and records that in the audit
trail. The file itself is never deleted: deleting it would let two runs lock two different
files of the same name.

The lock is re-entrant within one thread of one process (``run_all`` holds it, and each
``run_step`` inside takes it again); any other holder, another thread included, is refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipeline.run import audit
from pipeline.settings.storage import private_dir
from transforms.errors import EXIT_ALREADY_RUNNING, FinalError

LOCK_DIR = ".locks"
# A probe (``holder``) holds a shared lock for microseconds: retrying briefly keeps it from
# ever turning a run away.
_ATTEMPTS = 5
_RETRY_SECONDS = 0.05


@dataclass(frozen=True)
class LockHolder:
    """Who holds a run's lock (``None`` fields: the holder has not written itself in yet)."""

    pid: int | None
    since: str | None

    def describe(self) -> str:
        return f"pid {self.pid or '?'}, since {self.since or '?'}"


class RunAlreadyInProgress(FinalError):
    """Another run of the same date works in the same work folder (exit code 3).

    Final, not transient: a DAG task that finds another run in its folder must not carry on
    later over files that run wrote.
    """

    exit_code = EXIT_ALREADY_RUNNING

    def __init__(self, run_id: str, holder: LockHolder | None) -> None:
        who = holder.describe() if holder else "pid ?, since ?"
        super().__init__(f"a run for {run_id} is already in progress ({who})")
        self.run_id = run_id
        self.holder = holder


@dataclass
class _Held:
    fd: int
    thread: int
    holder: LockHolder


_held: dict[str, _Held] = {}
_guard = threading.Lock()


def lock_path(workdir: str | Path, run_id: str) -> Path:
    return Path(workdir) / LOCK_DIR / f"{run_id}.lock"


def _key(path: Path) -> str:
    return os.path.abspath(path)


def _read_holder(fd: int) -> LockHolder | None:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"null")
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    pid = data.get("pid")
    since = data.get("since")
    return LockHolder(
        pid=pid if isinstance(pid, int) else None,
        since=since if isinstance(since, str) else None,
    )


def _acquire(path: Path, run_id: str) -> tuple[int, LockHolder, LockHolder | None]:
    """Lock ``path``; return the descriptor, this holder and a stale holder taken over."""
    private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        for attempt in range(_ATTEMPTS):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt == _ATTEMPTS - 1:
                    raise RunAlreadyInProgress(run_id, _read_holder(fd)) from None
                time.sleep(_RETRY_SECONDS)
        # A holder that ended normally emptied the file: anything left is a dead one's.
        stale = _read_holder(fd)
        holder = LockHolder(pid=os.getpid(), since=datetime.now(UTC).isoformat(timespec="seconds"))
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": holder.pid, "since": holder.since}).encode(), 0)
        return fd, holder, stale
    except BaseException:
        os.close(fd)
        raise


def _release(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def run_lock(workdir: str | Path, run_id: str) -> Iterator[LockHolder]:
    """Hold the run's lock, or raise :class:`RunAlreadyInProgress` having touched nothing."""
    path = lock_path(workdir, run_id)
    key = _key(path)
    me = threading.get_ident()
    with _guard:
        held = _held.get(key)
        if held is not None and held.thread != me:
            raise RunAlreadyInProgress(run_id, held.holder)
    if held is not None:  # re-entered: the outer holder releases it
        yield held.holder
        return
    fd, holder, stale = _acquire(path, run_id)
    with _guard:
        _held[key] = _Held(fd=fd, thread=me, holder=holder)
    try:
        if stale is not None:
            audit.record(
                workdir,
                run_id=run_id,
                event="run.stale_lock_taken_over",
                stale_pid=stale.pid,
                stale_since=stale.since,
            )
        yield holder
    finally:
        with _guard:
            del _held[key]
        _release(fd)


def holder(workdir: str | Path, run_id: str) -> LockHolder | None:
    """Who holds the run's lock now, or ``None`` if nobody does (never takes it for long)."""
    path = lock_path(workdir, run_id)
    with _guard:
        held = _held.get(_key(path))
    if held is not None:
        return held.holder
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd) or LockHolder(pid=None, since=None)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
