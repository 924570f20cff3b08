"""harlab session files: HDF5 format version 1, lazy reading, atomic saves, crash-safe recording.

See ``docs/FORMAT.md`` for the layout. The public API::

    save_session(session, path) -> Path
    read_session(path) -> Session
    open_session(path, writable=False) -> SessionFile
    RecordingWriter(path, metadata, schema=None)
    recover(path) / has_unrecovered_journal(path)
    validate_file(path) -> list[str]
"""

from harlab.storage.h5data import H5StreamData
from harlab.storage.layout import FORMAT_NAME, FORMAT_VERSION
from harlab.storage.lock import FileLock, lock_holder
from harlab.storage.recording_writer import RecordingWriter, has_unrecovered_journal, recover
from harlab.storage.session_file import SessionFile, open_session, read_session, save_session
from harlab.storage.validate import validate_file

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "FileLock",
    "H5StreamData",
    "RecordingWriter",
    "SessionFile",
    "has_unrecovered_journal",
    "lock_holder",
    "open_session",
    "read_session",
    "recover",
    "save_session",
    "validate_file",
]
