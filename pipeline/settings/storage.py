"""Owner-only storage: the warehouse is readable by the account that runs the pipeline only.

The work folder holds raw snapshots with names, phones and emails, the quarantine, the
audit trail, the tombstones and the internal copies of what each recipient received; keys
and own-data exports are as sensitive. All of it is created 0700 (folders) and 0600
(files) whatever the umask of the shell or the scheduler:

- :func:`owner_only` sets the process's umask to 0o077 for the duration of a run (the
  runner and the command line use it), so files that libraries write (pyarrow, Great
  Expectations' Data Docs) are owner-only too;
- :func:`private_dir`, :func:`write_private` and :func:`open_private` create folders and
  files with explicit modes, for writes that may happen outside a run (the audit trail,
  tombstones, exports, keys);
- :func:`restrict_tree` sets the modes of a folder already written (a run's folder after
  each step), in case anything was created with an explicit wider mode.

Partners' release folders are delivered, not stored: :func:`delivered` restores the umask
the process had before :func:`owner_only`, for the writes into the release root only.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

OWNER_ONLY_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600
GROUP_OTHER = stat.S_IRWXG | stat.S_IRWXO

_outer: list[int] = []  # the umask before the outermost owner_only, while one is active


@contextmanager
def owner_only() -> Iterator[None]:
    """Run the block with umask 0o077; restore the previous umask afterwards (re-entrant)."""
    previous = os.umask(OWNER_ONLY_UMASK)
    _outer.append(previous)
    try:
        yield
    finally:
        _outer.pop()
        os.umask(previous)


@contextmanager
def delivered() -> Iterator[None]:
    """Run the block with the umask the process had before :func:`owner_only` (releases)."""
    if not _outer:
        yield
        return
    current = os.umask(_outer[0])
    try:
        yield
    finally:
        os.umask(current)


def _own(path: Path) -> bool:
    try:
        return path.stat().st_uid == os.geteuid()
    except OSError:
        return False


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and missing parents) owner-only; tighten it if it exists and is ours.

    A folder owned by someone else (a shared parent such as /tmp) is left as it is.
    """
    folder = Path(path)
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    for created in missing:  # mkdir's parents get the umask's mode; ours get 0700
        if _own(created):
            created.chmod(DIR_MODE)
    if _own(folder) and stat.S_IMODE(folder.stat().st_mode) & GROUP_OTHER:
        folder.chmod(DIR_MODE)
    return folder


@contextmanager
def open_private(
    path: str | os.PathLike[str], mode: str = "w", *, encoding: str | None = "utf-8"
) -> Iterator[IO[Any]]:
    """Open ``path`` for writing (``"w"``, ``"a"``, ``"wb"``, ``"ab"``) as an owner-only file.

    An existing file is tightened to 0600 before anything is written to it.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC
    flags |= os.O_APPEND if mode.startswith("a") else os.O_TRUNC
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        handle = os.fdopen(fd, mode, encoding=None if "b" in mode else encoding)
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle


def write_private(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` to an owner-only file (its folder must exist)."""
    with open_private(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return Path(path)


def restrict_tree(root: str | os.PathLike[str]) -> None:
    """Make every folder under ``root`` (``root`` included) 0700 and every file 0600."""
    top = Path(root)
    if not top.exists():
        return
    for folder, dirs, files in os.walk(top):
        os.chmod(folder, DIR_MODE)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, FILE_MODE)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]


def loose_modes(root: str | os.PathLike[str]) -> list[str]:
    """Paths under ``root`` (``root`` included) that group or others may access."""
    top = Path(root)
    paths = [top, *top.rglob("*")]
    return [
        f"{p.relative_to(top)} {stat.filemode(p.lstat().st_mode)}"
        for p in paths
        if not p.is_symlink() and stat.S_IMODE(p.lstat().st_mode) & GROUP_OTHER
    ]
