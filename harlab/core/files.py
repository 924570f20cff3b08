"""Files harlab writes and files it is given: one place for atomic writes, modes, and refusing what is no file.

:func:`atomic_write` (with :func:`atomic_open` for one file object and :func:`atomic_path`
for a file filled over many calls) is the one way harlab
replaces a file: write a temporary file in the same folder, fsync it, rename it over the
target, fsync the folder; on any failure, the temporary file is removed and the target is
untouched. A crash leaves either the old or the new file, both complete.

``tempfile.mkstemp`` creates its file with mode 0600 whatever the umask, so every
atomic write that went temp file + rename left exports, models and reports readable
by their owner only, while sessions written by h5py followed the umask. :func:`mkstemp`
is the one temp-file maker for atomic writes: same call, but the file gets the mode a
plain ``open()`` would give it (0666 less the umask).

:func:`input_file` is the first check of a path a person names as input: a FIFO or a
device (``/dev/zero``) would block or never end, a folder has no content to read, and
``.`` or ``/`` have no name to derive an output from; each is refused at once with a
message, never a hang.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from harlab.core.errors import HarlabError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from harlab.core.session import Session

#: the file name endings of harlab session files (what -o names when it names one session file)
SESSION_SUFFIXES = (".h5", ".hdf5", ".harlab")
#: the first bytes of every HDF5 file
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def is_session_file(path: Path) -> bool:
    """Whether the workbench opens ``path`` as a session (its name ends as one, or it is HDF5
    under another name) rather than importing it."""
    if path.suffix.lower() in SESSION_SUFFIXES:
        return True
    try:
        with open(path, "rb") as f:
            return f.read(8) == HDF5_SIGNATURE
    except OSError:
        return False


_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:  # elsewhere: set and restore (process-wide, hence the lock)
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: 0666 less the umask."""
    return 0o666 & ~current_umask()


def mkstemp(prefix: str = "", suffix: str = "", dir: str | Path | None = None) -> tuple[int, str]:  # noqa: A002
    """``tempfile.mkstemp`` whose file, once renamed into place, has the umask's usual mode."""
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=dir)
    with contextlib.suppress(OSError):  # a filesystem without modes: what it has is what it gets
        os.fchmod(fd, default_file_mode())
    return fd, name


def special_kind(path: Path) -> str | None:
    """ "a FIFO", "a device", "a socket" for special files (which block or never end); None otherwise."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return None


def input_file(path: str | Path, what: str = "an input file", folders: bool = False) -> Path:
    """``path`` when it names a regular file (or, with ``folders``, a folder); a clear error otherwise.

    ``what`` says what was expected, with its article ("a session file").

    Never opens the path, so a FIFO with no writer cannot block the check.
    """
    p = Path(path)
    if str(path) == "":
        raise HarlabError(f"an empty path where {what} was expected")
    if not p.exists():
        raise HarlabError(f"{p}: no such file" + (" or folder" if folders else ""))
    kind = special_kind(p)
    if kind:
        raise HarlabError(f"{p}: is {kind}, not a regular file; harlab reads only regular files")
    if p.is_dir() and not folders:
        raise HarlabError(f"{p}: is a folder, not {what}")
    return p


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (hard links and symlinks included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        try:
            return a.resolve() == b.resolve()
        except (OSError, RuntimeError):
            return False


def fsync_dir(folder: str | Path) -> None:
    """Make a rename in ``folder`` durable (no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_path(path: str | Path) -> None:
    """Force a closed file's bytes to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _replacing(path: Path, suffix: str, durable: bool) -> Iterator[tuple[int, Path]]:
    """An open temporary file beside ``path`` (descriptor and name) that replaces ``path`` when
    the block ends without an exception and is removed when it does not."""
    folder = path.parent if str(path.parent) else Path(".")
    fd, name = mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=folder)
    tmp = Path(name)
    try:
        yield fd, tmp
        if durable:
            fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if durable:
        fsync_dir(folder)


def atomic_write(
    path: str | Path,
    write: Callable[[Path], Any],
    *,
    suffix: str = ".tmp",
    durable: bool = True,
) -> Path:
    """Replace ``path`` with what ``write(tmp)`` writes to a temporary path beside it.

    The temporary file is ``.<name>.<random><suffix>`` in the target's folder (one filesystem,
    so the rename is atomic), already created with the umask's usual mode; ``write`` may open
    it by name (h5py, ``np.savez``) and overwrite it. With ``durable`` the file and the folder
    are fsynced around the rename. On any exception, including KeyboardInterrupt, the
    temporary file is removed and the exception propagates; ``path`` is then as it was.
    """
    with atomic_path(path, suffix=suffix, durable=durable) as tmp:
        write(tmp)
    return Path(path)


@contextlib.contextmanager
def atomic_path(path: str | Path, *, suffix: str = ".tmp", durable: bool = True) -> Iterator[Path]:
    """``with atomic_path(path) as tmp:`` -- :func:`atomic_write` for a writer that fills the
    temporary file over many calls (a session streamed chunk by chunk): ``tmp`` replaces
    ``path`` when the block ends without an exception and is removed when it does not."""
    with _replacing(Path(path), suffix, durable) as (fd, tmp):
        os.close(fd)
        yield tmp


@contextlib.contextmanager
def atomic_open(
    path: str | Path,
    mode: str = "w",
    *,
    encoding: str | None = None,
    newline: str | None = None,
    suffix: str = ".tmp",
    durable: bool = True,
) -> Iterator[IO[Any]]:
    """``with atomic_open(path, "w", encoding="utf-8") as f:`` -- :func:`atomic_write` for one
    file object: ``path`` is replaced when the block ends without an exception, never otherwise."""
    if mode not in ("w", "wb", "x", "xb"):
        raise ValueError(f"atomic_open writes a new file; mode {mode!r} is not one of w, wb")
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    with (
        _replacing(Path(path), suffix, durable) as (fd, _tmp),
        os.fdopen(fd, mode.replace("x", "w"), encoding=encoding, newline=newline) as f,
    ):
        yield f


#: Characters a file name made from user text may not keep.
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def safe_name(text: str) -> str:
    """A file-name-safe version of ``text`` (keeps letters, digits and ._+-)."""
    s = _UNSAFE.sub("_", text).strip("._")
    return s or "session"


def session_names(sessions: Sequence[Session], names: Sequence[str] | None = None) -> list[str]:
    """A unique, file-name-safe short name per session."""
    if names is not None and len(names) != len(sessions):
        raise HarlabError(f"{len(names)} names for {len(sessions)} sessions")
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, s in enumerate(sessions):
        if names is not None:
            base = safe_name(names[i])
        else:
            md = s.metadata
            base = safe_name(
                f"{md.participant_id}_{md.session_id[:8]}" if md.participant_id else md.session_id[:12]
            )
        n = seen.get(base, 0) + 1
        seen[base] = n
        out.append(base if n == 1 else f"{base}-{n}")
    return out
