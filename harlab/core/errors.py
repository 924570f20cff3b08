"""harlab's exception hierarchy.

Every error a user can provoke with a bad file or a bad argument is a
:class:`HarlabError` with a message that names the file, the place in it and what
was expected, so the command line and the GUI can show it as is, never a bare
h5py or numpy traceback.
"""

from __future__ import annotations

from pathlib import Path

#: how much of an offending input an error message quotes (a 50 MB CSV cell must not make a 50 MB message)
QUOTE_LIMIT = 300


def quote_input(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters for a message, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


class HarlabError(Exception):
    """Base class of all errors harlab reports to users."""


class SessionError(HarlabError):
    """The in-memory session model was asked to hold something inconsistent."""


class SessionFileError(HarlabError):
    """A session file cannot be read: not HDF5, corrupt, missing parts, or invalid values."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class UnsupportedVersionError(SessionFileError):
    """The file was written by a newer harlab with a format this version cannot read."""


class FileLockedError(HarlabError):
    """Another process holds the write lock of a session file."""

    def __init__(self, path: str | Path, holder: str) -> None:
        self.path = Path(path)
        self.holder = holder
        super().__init__(
            f"{self.path} is open for writing by another harlab process ({holder}); "
            "open it read-only, or close the other process first"
        )


class ImportFormatError(HarlabError):
    """An input file does not match the format its importer reads.

    ``location`` is a line ("line 12"), a byte offset ("byte 1300") or another
    place in the file; ``expected`` says what the importer wanted to see there.
    """

    def __init__(
        self,
        path: str | Path,
        problem: str,
        *,
        line: int | None = None,
        offset: int | None = None,
        expected: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.problem = problem = quote_input(problem)
        self.line = line
        self.offset = offset
        self.expected = expected = quote_input(expected) if expected else expected
        where = ""
        if line is not None:
            where = f", line {line}"
        elif offset is not None:
            where = f", byte {offset}"
        msg = f"{self.path}{where}: {problem}"
        if expected:
            msg += f" (expected {expected})"
        super().__init__(msg)


class VideoFileError(HarlabError):
    """A video file cannot be used: FFmpeg cannot open it, it has no video stream, or a reference to it is invalid."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = quote_input(problem)
        super().__init__(f"{self.path}: {self.problem}")


class WindowingError(HarlabError):
    """Labelled windows cannot be cut as asked: a bad window, stride, rate or label policy, a
    stream, channel or track the sessions lack, or streams whose rates differ."""


class PredictionCancelled(HarlabError):
    """Raised from a prediction's progress callback to stop it; nothing is stored."""
