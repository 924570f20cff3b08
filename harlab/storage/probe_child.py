"""The child process of :func:`harlab.storage.probe.probe_metadata`: the HDF5 reads of opening a file.

Kept apart from :mod:`harlab.storage.probe` because it reads the file the way the codec does,
and the codec probes before it reads: this module sits above both.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from harlab.storage.probe import (
    EXIT_HEAP,
    EXIT_MEMORY,
    EXIT_NOT_SCANNED,
    EXIT_OK,
    HEAP_PROBLEM,
    READY,
    SCAN_ARG,
    WAIT_ARG,
    WAITING,
    become_child,
)


def walk_metadata(path: Path) -> None:
    """The metadata reads that opening and validating make, in the same order: the global heap
    check, the format attributes, the structure walk, then the reader (every attribute and table
    it reads). Errors are ignored: the parent meets them again and reports them."""
    import h5py

    from harlab.core.errors import HarlabError
    from harlab.storage.codec import open_h5, read_file_session
    from harlab.storage.structure import structure_problems

    try:
        f = open_h5(path, check_structure=False)
    except HarlabError:
        return
    with f:
        try:
            if structure_problems(f, path.stat().st_size):
                return
            read_file_session(f, path)
        except (
            HarlabError,
            OSError,
            KeyError,
            ValueError,
            TypeError,
            RuntimeError,
            IndexError,
            AttributeError,
        ):
            pass
        streams = f.get("streams")
        if isinstance(streams, h5py.Group):  # what validate reads of each stream beyond the reader
            for g in streams.values():
                if isinstance(g, h5py.Group):
                    with contextlib.suppress(OSError, KeyError, ValueError, TypeError, RuntimeError):
                        for key in ("channels", "units"):
                            if key in g.attrs:
                                g.attrs[key]


def scan_heaps(path: Path) -> None:
    """The parent's heap scan, made here (``SCAN_ARG``): exit with ``EXIT_HEAP`` and the problems on
    standard output if there are any, with ``EXIT_NOT_SCANNED`` if the bytes cannot be read.

    Made before :func:`become_child` caps the address space, which a map of a large file would
    exceed; the scan is Python over the bytes, no HDF5, so the cap does not concern it."""
    from harlab.storage.structure import global_heap_problems

    try:
        problems = global_heap_problems(path)
    except (OSError, ValueError):
        os._exit(EXIT_NOT_SCANNED)
    if problems:
        sys.stdout.buffer.write(b"".join(HEAP_PROBLEM + p.encode() + b"\n" for p in problems[:10]))
        sys.stdout.flush()
        os._exit(EXIT_HEAP)


def main() -> None:
    """The child's whole life: say it is ready, walk the file named in ``argv[1]`` (or, with
    ``WAIT_ARG``, named on standard input once the imports are done; with ``SCAN_ARG``, named in
    ``argv[2]`` and scanned for corrupt heaps first), exit with a code the parent reads (a crash of
    HDF5 shows as a signal)."""
    if sys.argv[1] == SCAN_ARG:
        _say(READY)
        path = Path(sys.argv[2])
        scan_heaps(path)
        become_child()
        _walk_and_exit(path)
    become_child()
    arg = sys.argv[1]
    if arg == WAIT_ARG:  # started ahead of need: import now, then wait for the path
        import h5py  # noqa: F401

        import harlab.storage.codec
        import harlab.storage.structure  # noqa: F401

        _say(WAITING)
        line = sys.stdin.buffer.readline().strip()
        if not line:
            os._exit(EXIT_OK)  # the parent ended without a file to probe
        try:
            arg = os.fsdecode(bytes.fromhex(line.decode("ascii")))
        except ValueError:
            os._exit(EXIT_OK)
    _say(READY)
    _walk_and_exit(Path(arg))


def _say(word: bytes) -> None:
    sys.stdout.buffer.write(word + b"\n")
    sys.stdout.flush()


def _walk_and_exit(path: Path) -> None:
    try:
        walk_metadata(path)
    except MemoryError:
        os._exit(EXIT_MEMORY)
    except Exception:  # noqa: BLE001 - the parent reads the file again and reports what is wrong
        pass
    sys.stdout.flush()
    os._exit(EXIT_OK)
