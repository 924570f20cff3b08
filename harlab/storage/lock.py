"""An OS-level write lock for a session file.

The lock is ``fcntl.flock`` on a sidecar ``<file>.lock`` that records who holds it
(pid, host, time) for the error message. The kernel drops a flock when its holder
dies, so a crashed process never leaves a lock that blocks anyone: a stale sidecar
file is simply locked again. Read-only opens take no lock; writes are atomic
renames, so readers always see a complete file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from pathlib import Path

from harlab.core.errors import FileLockedError, SessionFileError


def lock_path(path: str | Path) -> Path:
    p = Path(path)
    return p.with_name(p.name + ".lock")


def lock_holder(path: str | Path) -> str | None:
    """Who holds the write lock of ``path`` ("pid 123 on host"), or None when nobody does."""
    lp = lock_path(path)
    try:
        fd = os.open(lp, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _describe(os.pread(fd, 512, 0))
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _describe(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip()
    return text or "a process that did not say who it is"


class FileLock:
    """Exclusive, non-blocking write lock on ``<path>.lock``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.lock_file = lock_path(self.path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> FileLock:
        if self._fd is not None:
            return self
        for _ in range(20):
            try:
                fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise SessionFileError(
                    self.path, f"cannot create the lock file {self.lock_file}: {exc.strerror}"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _describe(os.pread(fd, 512, 0))
                os.close(fd)
                raise FileLockedError(self.path, holder) from None
            # The previous holder may have unlinked the file between our open and flock:
            # then we locked an orphan inode, so try again with the file now at the path.
            try:
                same = os.stat(self.lock_file).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                info = f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
                os.ftruncate(fd, 0)
                os.pwrite(fd, info.encode(), 0)
                self._fd = fd
                return self
            os.close(fd)
        raise SessionFileError(self.path, f"could not take the lock {self.lock_file} (it keeps changing)")

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.unlink(self.lock_file)  # while still locked, so nobody else holds it now
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.release()
