"""Opening, reading and atomically saving session files.

A session file is never modified in place. Every save writes a complete new file
next to the old one (``.<name>.<random>.h5.tmp``) and renames it over the old one
(:func:`harlab.storage.codec.save_h5`, through :func:`harlab.core.files.atomic_write`),
so a crash at any moment leaves either the old or the new file, both complete. Streams
that come from an open file are copied group by group with HDF5's object copy,
chunks as stored, never decoded and re-encoded in Python.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import h5py

from harlab.core.errors import FileLockedError, SessionFileError
from harlab.core.session import Session
from harlab.core.streams import ArrayStreamData
from harlab.storage.codec import open_h5, read_file_session, remove_stale_temps, save_h5, write_session
from harlab.storage.h5data import H5StreamData
from harlab.storage.lock import FileLock, lock_holder
from harlab.storage.recording_writer import recover
from harlab.storage.sample_journal import recording_journal_path

#: Files at least this large are checked for Save in a child process (see
#: :meth:`SessionFile.check_sound_in_background`): about an hour of a wrist at 100 Hz and more,
#: whose check takes longer than the second a child costs to start.
CHILD_CHECK_BYTES = 8 << 20


def save_session(session: Session, path: str | Path) -> Path:
    """Write ``session`` as a new session file at ``path`` atomically; returns the path.

    Takes the write lock of ``path`` for the duration, so it fails with
    :class:`FileLockedError` while another process has the file open for writing.
    """
    path = Path(path)
    with FileLock(path):
        remove_stale_temps(path)
        return save_h5(path, lambda f: write_session(f, session))


def _recover_before_open(path: Path, lock: FileLock | None) -> None:
    if not recording_journal_path(path).exists():
        return
    if lock is not None:
        recover(path, lock=lock)
        return
    tmp_lock = FileLock(path)
    try:
        tmp_lock.acquire()
    except FileLockedError:
        if path.exists():
            return  # someone else owns it; read what is on disk
        raise SessionFileError(
            path,
            f"is being recorded right now ({lock_holder(path) or 'by another process'}); "
            "it can be opened when the recording stops",
        ) from None
    try:
        recover(path, lock=tmp_lock)
    finally:
        tmp_lock.release()


class SessionFile:
    """A session file opened for lazy reading, and for atomic saving when ``writable``.

    ``session`` is a normal :class:`Session` whose streams read from the file on demand.
    A writable SessionFile holds the file's write lock until ``close()``; the file itself
    stays open read-only, since saves replace it as a whole.
    """

    def __init__(self, path: str | Path, writable: bool = False) -> None:
        self.path = Path(path)
        self.writable = writable
        self._lock: FileLock | None = FileLock(self.path) if writable else None
        self._h5: h5py.File | None = None
        self._sound = False
        self._sound_check: tuple[threading.Thread, list[list[str] | None]] | None = None
        self._sound_child: subprocess.Popen[bytes] | None = None
        if self._lock is not None:
            self._lock.acquire()
            remove_stale_temps(self.path)
        try:
            _recover_before_open(self.path, self._lock)
            self._h5 = open_h5(self.path)
            self.session: Session = read_file_session(self._h5, self.path)
        except BaseException:
            self.close()
            raise

    # -- saving -------------------------------------------------------------------
    def require_sound(self) -> None:
        """Raise SessionFileError unless the file passes ``harlab validate``.

        Saving copies stream groups as stored, so a file with infinite values, a
        pyramid that disagrees with its data or timestamps that go backwards would be
        written again as if sound; commands that write into a session file call this
        before doing any work, and ``save``/``save_as`` call it too. The full check
        reads every sample once, so its success is remembered for this SessionFile
        (whose saves copy the checked streams).
        """
        if self._sound:
            return
        from harlab.storage.validate import validate_file

        problems = None
        if self._sound_check is not None:
            thread, result = self._sound_check
            thread.join()
            problems, self._sound_check = result[0], None
        if problems is None:
            problems = validate_file(self.path)
        if problems:
            first = problems[0].removeprefix(f"{self.path}: ")
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise SessionFileError(
                self.path,
                f"fails harlab validate: {first}{more}; harlab does not write into an unsound "
                "session file (re-import the recording, or export what you need from it)",
            )
        self._sound = True

    def check_sound_in_background(self, in_child: bool | None = None) -> None:
        """Start :meth:`require_sound`'s full check now, so that a later save finds the answer
        ready instead of reading every sample then (the workbench calls this when it opens a file).

        A file of :data:`CHILD_CHECK_BYTES` or more is checked in a child process at low
        priority (``in_child`` forces the choice): the check reads the whole file (gigabytes for
        a week), and in this process its reads would hold h5py's global lock against the views'
        reads and its decoding would take the GIL, so a frame could wait seconds for it. A
        smaller file is checked on a thread here, in less time than a child takes to start."""
        if self._sound or self._sound_check is not None:
            return
        if in_child is None:
            try:
                in_child = self.path.stat().st_size >= CHILD_CHECK_BYTES
            except OSError:
                in_child = False
        path = self.path
        result: list[list[str] | None] = [None]
        run = self._child_check(path, result) if in_child else None
        if run is None:

            def run() -> None:
                from harlab.storage.validate import validate_file

                try:
                    result[0] = validate_file(path)
                except Exception:  # noqa: BLE001 - require_sound then checks again and reports
                    result[0] = None

        thread = threading.Thread(target=run, name=f"validate {path.name}", daemon=True)
        self._sound_check = (thread, result)
        thread.start()

    def _child_check(self, path: Path, result: list[list[str] | None]) -> Callable[[], None] | None:
        """Start ``harlab validate``'s check of ``path`` in a niced child process; the returned
        function waits for it and puts its problems in ``result[0]`` (None if none can start)."""
        root = str(Path(__file__).resolve().parents[2])
        code = (
            f"import sys, os, json; sys.path.insert(0, {root!r}); "
            "hasattr(os, 'nice') and os.nice(10); "
            "from harlab.storage.validate import validate_file; "
            "sys.stdout.write(json.dumps(validate_file(sys.argv[1])))"
        )
        try:
            child = subprocess.Popen(
                [sys.executable, "-P", "-c", code, str(path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return None
        self._sound_child = child

        def wait() -> None:
            try:
                out, _ = child.communicate()
                problems = json.loads(out) if child.returncode == 0 else None
                if isinstance(problems, list) and all(isinstance(p, str) for p in problems):
                    result[0] = problems
            except (OSError, ValueError):
                pass  # result stays None: require_sound then checks again and reports

        return wait

    def _stop_sound_check(self) -> None:
        """End a child still checking the file (its thread then returns at once); a check on a
        thread of this process reads through its own handle and is left to finish."""
        child, self._sound_child = self._sound_child, None
        if child is not None:
            if child.poll() is None:
                with contextlib.suppress(OSError):
                    child.kill()
            if self._sound_check is not None:
                self._sound_check[0].join()
        self._sound_check = None

    def save(self) -> Path:
        """Atomically replace the file with the current session (labels, predictions,
        schema, metadata and streams)."""
        if not self.writable:
            raise SessionFileError(self.path, "was opened read-only; open it with writable=True to save")
        self._check_open()
        self.require_sound()
        save_h5(self.path, lambda f: write_session(f, self.session))
        self._reopen()
        return self.path

    def save_as(self, path: str | Path) -> Path:
        """Write the session to ``path``; this SessionFile then refers to the new file
        (writable, holding its lock) and releases the old one."""
        self._check_open()
        self.require_sound()
        new = Path(path)
        new_lock = FileLock(new).acquire()
        try:
            save_h5(new, lambda f: write_session(f, self.session))
        except BaseException:
            new_lock.release()
            raise
        if self._lock is not None:
            self._lock.release()
        self._lock, self.path, self.writable = new_lock, new, True
        self._reopen()
        return new

    def _reopen(self) -> None:
        """Point lazy streams at the freshly written file and close the old handle."""
        old = self._h5
        self._h5 = open_h5(self.path)
        for stream in self.session.streams.values():
            data = stream.data
            if isinstance(data, H5StreamData) and old is not None and data.group.file == old:
                data.rebind(self._h5["streams"][stream.name], self.path)
        if old is not None:
            old.close()

    def _check_open(self) -> None:
        if self._h5 is None:
            raise SessionFileError(self.path, "is closed")

    # -- life cycle ---------------------------------------------------------------
    def close(self) -> None:
        self._stop_sound_check()
        if self._h5 is not None:
            with contextlib.suppress(Exception):
                self._h5.close()
            self._h5 = None
        if self._lock is not None:
            self._lock.release()

    @property
    def closed(self) -> bool:
        return self._h5 is None

    def __enter__(self) -> SessionFile:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "writable" if self.writable else "read-only"
        return f"<SessionFile {self.path} {mode}{' closed' if self.closed else ''}>"


def open_session(path: str | Path, writable: bool = False) -> SessionFile:
    """Open a session file lazily (context manager). Recovers an interrupted recording first."""
    return SessionFile(path, writable)


def read_session(path: str | Path) -> Session:
    """The whole session in memory; the file is closed when this returns."""
    with SessionFile(path) as sf:
        session = sf.session
        for stream in session.streams.values():
            data = stream.data
            if isinstance(data, H5StreamData):
                t, v, fl = data.load()
                stream.data = ArrayStreamData(t, v, fl)
        return session
