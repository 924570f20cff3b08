"""The first metadata walk of an untrusted session file, made in a child process.

Some damage kills the HDF5 library itself: bit flips in a session file were found that
make HDF5 2.0 (through h5py) crash with a segmentation fault while it reads a text
attribute or table (a variable-length string type whose kind is neither string nor
sequence), and nothing h5py exposes shows the damage before the read. No check
in this process can rule that out, so the read that opening and ``harlab validate`` make
of a file's metadata (every object header and attribute the structure checks and the
reader touch, the format attributes, the global heap check) is made first by a child
process, with a time limit and, on POSIX, a memory limit. When the child dies, the file
is refused with a :class:`SessionFileError`; when it finishes, this process's own reads
are the same deterministic reads of the same bytes and are safe.

A child costs half a second or more (starting Python and importing h5py), so it is spent
only on files this process has neither written nor probed: :func:`trust` records a file
by (device, inode, size, mtime, ctime) after harlab saved it or a probe passed, and
:func:`probe_metadata` returns at once for a recorded file. A change to the file changes
its ctime (to the file system's clock resolution), so an edited file is probed again.

That start-up need not be waited for: :func:`prestart` starts a child ahead of need (the
workbench does at start and after each open), which imports everything and then waits for
a path on its standard input; the next probe hands it the path, so the first open of a
file from elsewhere costs the walk and the heap scan only. Each child still probes exactly
one file and exits: a file that damaged HDF5's memory without crashing it cannot affect
the check of another.

``harlab FILE`` knows its file before anything else: :func:`start_probe` hands it to a child at
once, before Qt is imported, and that child also makes the heap scan (before its walk), so the
whole probe runs on the other core while this process starts Qt and the window. The window's
:func:`probe_metadata` then only collects the verdict (if the file has not changed since).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from harlab.core.errors import SessionFileError

#: Seconds the child may take (starting Python and importing h5py included); a sound file's
#: metadata walk takes milliseconds, so only a file that makes HDF5 loop reaches it.
PROBE_TIMEOUT_S = 30.0
#: Address space the child may add to what its imports use (POSIX): metadata within the
#: structure limits needs a few megabytes.
PROBE_MEMORY_BYTES = 2 << 30

EXIT_OK = 0
EXIT_MEMORY = 3
#: What the child prints once its imports are done and it starts the walk.
READY = b"harlab-probe-ready"
#: What a child started ahead of need (:func:`prestart`) prints once its imports are done.
WAITING = b"harlab-probe-waiting"
#: The argument that makes the child wait for its path on standard input.
WAIT_ARG = "--wait-for-path"
#: The argument (before the path) that makes the child scan the global heaps before its walk.
SCAN_ARG = "--scan-heaps-first"
#: The child found corrupt global heaps (one problem a line after :data:`HEAP_PROBLEM`).
EXIT_HEAP = 4
#: The child could not scan the file's bytes (this process scans them itself).
EXIT_NOT_SCANNED = 5
HEAP_PROBLEM = b"harlab-probe-heap "

_trusted: set[tuple[int, ...]] = set()
_lock = threading.Lock()
_in_child = False
_spare_lock = threading.Lock()
_spare: subprocess.Popen[bytes] | None = None  #: a child started by prestart, not yet given a path
_spare_waiting = False  #: the spare said WAITING (read by wait_for_spare)
#: children started by start_probe, by the key of the file they probe
_early: dict[tuple[int, ...], subprocess.Popen[bytes]] = {}


def _key(path: Path) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def trust(path: str | Path) -> None:
    """Record that the file now at ``path`` needs no probe (harlab just wrote it, or a probe of
    these very bytes passed)."""
    key = _key(Path(path))
    if key is not None:
        with _lock:
            _trusted.add(key)


def is_trusted(path: str | Path) -> bool:
    key = _key(Path(path))
    with _lock:
        return key is not None and key in _trusted


def forget_all() -> None:
    """Trust nothing recorded so far (tests use this to exercise the probe on files they wrote)."""
    with _lock:
        _trusted.clear()


def probe_metadata(path: str | Path) -> None:
    """Raise SessionFileError if ``path``'s global heaps are corrupt, or if reading its metadata
    crashes, hangs or exhausts memory in a child process; return at once for a trusted file and
    inside the child itself.

    The heap scan reads every byte (a second for a week-long file), so it runs here while the
    child walks the metadata: a first open costs the longer of the two, not their sum. A corrupt
    heap is reported by the scan, naming its byte, whatever the child made of it."""
    from harlab.storage.structure import global_heap_problems

    path = Path(path)
    key = _key(path)
    if _in_child or key is None or is_trusted(path):
        return  # (a path that cannot be stat'ed is reported by the caller's own open)
    started = time.monotonic()
    early = _take_early(key)
    if early is not None:
        _collect_early(path, key, early, started)
        if is_trusted(path):
            return
        # the child started early did not give a verdict (killed, could not scan): probe here
    child = _hand_to_spare(path)
    spare = child is not None
    if child is None:
        child = _start_child(path)
    try:
        heap = global_heap_problems(path)
    except (OSError, ValueError) as exc:
        _end(child)
        raise SessionFileError(path, f"cannot read the file: {str(exc)[:200]}") from None
    if heap:
        _end(child)
        raise SessionFileError(path, f"refused: {heap[0]}")
    while True:
        if child is None:
            return
        out = _wait(path, child, started)
        if spare and READY not in out:
            # the child started ahead ended before it took the file (killed, out of memory): nothing
            # to do with this file, so a fresh child probes it
            child, spare = _start_child(path), False
            continue
        break
    rc = child.returncode
    if rc > 0 and READY not in out:
        return  # the child never reached the walk (an interpreter that cannot run it): read without the probe
    _verdict(path, key, rc)


def _wait(path: Path, child: subprocess.Popen[bytes], started: float) -> bytes:
    """What ``child`` printed once it exits; SessionFileError if it has not within the time limit
    (counted from ``started``)."""
    try:
        out, _ = child.communicate(timeout=max(0.0, PROBE_TIMEOUT_S - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        out = _end(child)
        if READY not in out:
            raise SessionFileError(
                path,
                f"the check of this file's metadata in a child process did not start within "
                f"{PROBE_TIMEOUT_S:.0f} s (the computer is too busy); try again",
            ) from None
        raise SessionFileError(
            path,
            f"the HDF5 library did not finish reading this file's metadata within {PROBE_TIMEOUT_S:.0f} s "
            "(it loops on damaged metadata, or the file holds far more objects than a session file has): "
            "the file is damaged",
        ) from None
    return out or b""


def start_probe(path: str | Path) -> None:
    """Start the whole probe of ``path`` (heap scan and metadata walk) in a child now, for the
    :func:`probe_metadata` of the same file to come (``harlab FILE``: the child works while this
    process imports Qt and builds the window). No-op for a trusted file and inside the child."""
    path = Path(path)
    key = _key(path)
    if _in_child or key is None or is_trusted(path):
        return
    with _spare_lock:
        if key in _early:
            return
    try:
        child = subprocess.Popen(
            _child_command(SCAN_ARG, str(path)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return
    with _spare_lock:
        _early[key] = child


def early_pids() -> list[int]:
    """Process ids of the children started by :func:`start_probe` and not yet collected (tests)."""
    with _spare_lock:
        return [c.pid for c in _early.values()]


def _take_early(key: tuple[int, ...]) -> subprocess.Popen[bytes] | None:
    """The child :func:`start_probe` started on the file with ``key`` (the file unchanged since);
    any other it started (another version of the file, a file that was not opened) is ended: the
    early start serves the first open only."""
    with _spare_lock:
        child = _early.pop(key, None)
        ended = list(_early.values())
        _early.clear()
    for c in ended:
        _end(c)
    return child


def _collect_early(path: Path, key: tuple[int, ...], child: subprocess.Popen[bytes], started: float) -> None:
    """The verdict of a child started by :func:`start_probe`: the file is trusted, or refused with
    SessionFileError; neither when the child gave none (this process probes as usual)."""
    out = _wait(path, child, started)
    rc = child.returncode
    if READY not in out or rc == EXIT_NOT_SCANNED or (rc > 0 and rc not in (EXIT_MEMORY, EXIT_HEAP)):
        return
    if rc == EXIT_HEAP:
        problems = [line[len(HEAP_PROBLEM) :] for line in out.splitlines() if line.startswith(HEAP_PROBLEM)]
        first = problems[0].decode("utf-8", "replace") if problems else "the global heaps are corrupt"
        raise SessionFileError(path, f"refused: {first}")
    _verdict(path, key, rc)


def _verdict(path: Path, key: tuple[int, ...], rc: int) -> None:
    """Trust the file when its child exited cleanly (and the file is unchanged); raise
    SessionFileError for a child that ran out of memory or crashed."""
    if rc == EXIT_OK:
        if key == _key(path):
            with _lock:
                _trusted.add(key)
        return
    if rc == EXIT_MEMORY:
        raise SessionFileError(
            path,
            f"the HDF5 library needs more than {PROBE_MEMORY_BYTES >> 30} GiB to read this file's metadata: "
            "the file is damaged or crafted",
        )
    raise SessionFileError(
        path,
        f"the HDF5 library crashed reading this file's metadata ({_describe(rc)}): the file is damaged",
    )


def _start_child(path: Path) -> subprocess.Popen[bytes] | None:
    """A fresh child probing ``path``; None when no process can be started (the scan alone)."""
    try:
        return subprocess.Popen(
            _child_command(str(path)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None


def _child_command(*args: str) -> list[str]:
    root = str(Path(__file__).resolve().parents[2])
    code = f"import sys; sys.path.insert(0, {root!r}); from harlab.storage.probe_child import main; main()"
    return [sys.executable, "-P", "-c", code, *args]


def prestart() -> None:
    """Start a probe child now, for the next :func:`probe_metadata` (no-op if one is waiting, or
    if :func:`start_probe` started one for the file about to open: the spare follows that open).

    The child imports Python's and HDF5's libraries while nothing waits for it, then blocks on
    its standard input; it exits when this process does (its input closes)."""
    global _spare, _spare_waiting
    if _in_child:
        return
    with _spare_lock:
        if _early:
            return  # the next probe is that file's (``harlab FILE``): a spare now would take a core from Qt's start
        if _spare is not None and _spare.poll() is None:
            return
        try:
            _spare = subprocess.Popen(
                _child_command(WAIT_ARG),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            _spare = None
        _spare_waiting = False


def wait_for_spare(timeout: float) -> bool:
    """Wait (at most ``timeout`` seconds) until the child started by :func:`prestart` has done its
    imports; True if it has (benchmarks: a workbench that has been open for a moment)."""
    global _spare_waiting
    import select

    with _spare_lock:
        child = _spare
        if child is None or child.stdout is None:
            return False
        if _spare_waiting:
            return True
        fd = child.stdout.fileno()
        deadline = time.monotonic() + timeout
        seen = b""
        while len(seen) < len(WAITING) + 1:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return False
            got = os.read(fd, len(WAITING) + 1 - len(seen))  # exactly the line: nothing buffered
            if not got:
                return False
            seen += got
        _spare_waiting = seen.strip() == WAITING
        return _spare_waiting


def spare_pid() -> int | None:
    """Process id of the child started by :func:`prestart` and not yet used (tests)."""
    with _spare_lock:
        return _spare.pid if _spare is not None else None


def _hand_to_spare(path: Path) -> subprocess.Popen[bytes] | None:
    """The child started by :func:`prestart`, now probing ``path``; None if there is none alive."""
    global _spare
    with _spare_lock:
        child, _spare = _spare, None
    if child is None:
        return None
    if child.poll() is not None or child.stdin is None:
        _end(child)
        return None
    try:
        # hex: any bytes a path may hold, newlines included, on one line
        # absolute: the child kept the working directory this process had when it started
        child.stdin.write(os.fsencode(os.path.abspath(path)).hex().encode("ascii") + b"\n")
        child.stdin.flush()
    except OSError:
        _end(child)
        return None
    return child


def discard_spare() -> None:
    """End the child started by :func:`prestart`, if any, and those started by :func:`start_probe`
    and not collected (at exit, and tests)."""
    global _spare
    with _spare_lock:
        child, _spare = _spare, None
        early = list(_early.values())
        _early.clear()
    for c in [child, *early]:
        _end(c)


atexit.register(discard_spare)


def _end(child: subprocess.Popen[bytes] | None) -> bytes:
    """Kill ``child`` (if any) and return what it printed."""
    if child is None:
        return b""
    child.kill()
    out, _ = child.communicate()
    return out or b""


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"signal {-code}, {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def _limit_memory() -> None:
    """Cap the child's address space at what it uses now plus PROBE_MEMORY_BYTES (POSIX)."""
    try:
        import resource

        with open("/proc/self/statm") as fh:
            used = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError):
        return
    cap = used + PROBE_MEMORY_BYTES
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if soft == resource.RLIM_INFINITY or cap < soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def become_child() -> None:
    """Called first in the probe's child process: the child never probes again (it is the probe),
    and its memory is capped."""
    global _in_child
    _in_child = True
    _limit_memory()
