"""Crash recovery of unsaved label edits.

Edits are rare (a few per minute) and precious, so every do/undo/redo is appended to
``<session>.h5.edits`` as one JSON line and forced to disk (flush + ``os.fsync``) before the
call returns: after a SIGKILL or power cut the journal holds every edit the user saw.

The first line is a header naming the session file's identity (resolved path, size and
mtime in ns) at the moment the journal started. Recovery is offered only when the file on
disk still has that identity: a journal left behind for an older version of the file (saved
since by another process, replaced, restored from backup) is never replayed onto it.
Commands carry their exact planned values (see :mod:`harlab.labeling.commands`), so replay
reproduces ids and timestamps exactly, and refuses (SessionError) if the segments it touches
are not in the state the journal expects.

:class:`~harlab.labeling.document.LabelingDocument` drives it: it reads
:func:`pending_edits` before the first edit, and either replays them
(:meth:`EditHistory.replay`, so the history can undo the recovered edits) or discards them.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from harlab.core import files
from harlab.core.errors import HarlabError, SessionError
from harlab.core.labels import utcnow
from harlab.core.wording import counted
from harlab.labeling.commands import EditCommand
from harlab.labeling.undo_stacks import UndoStacks

FORMAT = "harlab-edit-journal"
VERSION = 1
SUFFIX = ".edits"


def edit_journal_path(session_path: str | Path) -> Path:
    """Where the journal of ``session_path`` lives: beside it, with ``.edits`` appended."""
    p = Path(session_path)
    return p.with_name(p.name + SUFFIX)


def file_identity(session_path: str | Path) -> dict[str, Any]:
    """What must not have changed for a journal to apply: resolved path, size, mtime (ns)."""
    p = Path(session_path).resolve()
    try:
        st = p.stat()
    except FileNotFoundError:
        return {"path": str(p), "exists": False}
    return {"path": str(p), "exists": True, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


class EditJournal:
    """Append-only, fsynced JSON-lines journal of one session file's unsaved edits.

    Nothing is written until the first edit, and the first write *replaces* any older
    journal (so call :func:`pending_edits` before the first edit). ``clear()`` (called by
    :meth:`EditHistory.mark_clean` after a save) deletes the file; the next edit starts a new
    journal against the saved file's new identity.
    """

    def __init__(self, session_path: str | Path, path: str | Path | None = None) -> None:
        self.session_path = Path(session_path)
        self.path = Path(path) if path is not None else edit_journal_path(session_path)
        self._fh: TextIO | None = None
        self._seq = 0

    def _header(self) -> dict[str, Any]:
        return {
            "kind": "header",
            "format": FORMAT,
            "version": VERSION,
            "session": file_identity(self.session_path),
            "started": utcnow().isoformat(),
            "pid": os.getpid(),
        }

    def _write(self, fh: TextIO, obj: dict[str, Any]) -> None:
        fh.write(json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())

    def _start(self) -> TextIO:
        fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 (kept open for appends)
        self._write(fh, self._header())
        files.fsync_dir(self.path.parent)
        self._seq = 0
        self._fh = fh
        return fh

    def record(self, op: str, cmd: EditCommand | None = None) -> None:
        """Append one entry: ``op`` is "do" (with the command, after it ran), "undo" or "redo"."""
        if op not in ("do", "undo", "redo"):
            raise ValueError(f"unknown journal op {op!r}")
        fh = self._fh or self._start()
        self._seq += 1
        entry: dict[str, Any] = {"op": op, "seq": self._seq, "time": utcnow().isoformat()}
        if op == "do":
            if cmd is None:
                raise ValueError("a 'do' entry needs its command")
            entry["command"] = cmd.to_dict()
        self._write(fh, entry)

    def rewrite(self, entries: list[dict[str, Any]]) -> None:
        """Atomically replace the journal with a fresh header plus ``entries`` (after replay)."""
        self.close()
        with files.atomic_open(self.path, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(self._header(), separators=(",", ":")) + "\n")
            for i, e in enumerate(entries, 1):
                fh.write(json.dumps({**e, "seq": i}, separators=(",", ":"), ensure_ascii=False) + "\n")
        self._seq = len(entries)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def close(self) -> None:
        """Close the file handle, keeping the journal (the app exits without saving)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def clear(self) -> None:
        """Delete the journal (after a save, or when the user declines recovery)."""
        self.close()
        self.path.unlink(missing_ok=True)
        self._seq = 0


@dataclass
class JournalInfo:
    """What a journal on disk holds and whether it may be replayed."""

    path: Path
    header: dict[str, Any] | None
    entries: list[dict[str, Any]] = field(default_factory=list)
    problem: str = ""  #: why it must not be replayed ("" when it may)
    dropped_lines: int = 0  #: unreadable trailing lines (a write cut short by the crash)

    @property
    def started(self) -> datetime | None:
        s = (self.header or {}).get("started")
        return datetime.fromisoformat(s) if s else None

    @property
    def net_edit_count(self) -> int:
        """How many edits are applied after replaying the do/undo/redo sequence."""
        return len(_simulate(self.entries).done)


def _simulate(entries: list[dict[str, Any]]) -> UndoStacks[int]:
    """The stacks of entry indices that replaying ``entries`` leaves (no session touched);
    entries that do not fit (an undo with nothing done) are skipped here and refused by replay."""
    stacks: UndoStacks[int] = UndoStacks()
    for i, e in enumerate(entries):
        with contextlib.suppress(SessionError):
            stacks.step(str(e.get("op")), i)
    return stacks


def refuse_unsaved_edits(session_path: str | Path) -> None:
    """Raise :class:`HarlabError` when a workbench that did not close left unsaved edits in the
    journal of ``session_path``: a command that saves the file would strand them."""
    info = inspect_journal(session_path)
    if info is not None and not info.problem and info.net_edit_count:
        raise HarlabError(
            f"{session_path} has {counted(info.net_edit_count, 'unsaved edit')} of a workbench that did not close; "
            "open it in harlab to recover or discard them first"
        )


def inspect_journal(session_path: str | Path) -> JournalInfo | None:
    """Read the journal of ``session_path``; None when there is none."""
    jp = edit_journal_path(session_path)
    try:
        raw = jp.read_bytes()
    except FileNotFoundError:
        return None
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    parsed: list[dict[str, Any]] = []
    dropped = 0
    for n, line in enumerate(lines):
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not an object")
        except ValueError:
            dropped = len(lines) - n  # a torn write: keep everything before it
            break
        parsed.append(obj)
    info = JournalInfo(jp, None, dropped_lines=dropped)
    if not parsed or parsed[0].get("kind") != "header" or parsed[0].get("format") != FORMAT:
        info.problem = f"{jp}: line 1 is not a {FORMAT} header"
        return info
    info.header = parsed[0]
    info.entries = [e for e in parsed[1:] if e.get("op") in ("do", "undo", "redo")]
    if int(info.header.get("version", 0)) > VERSION:
        info.problem = (
            f"{jp}: journal version {info.header.get('version')} is newer than this harlab ({VERSION})"
        )
        return info
    now = file_identity(session_path)
    then = info.header.get("session") or {}
    if any(then.get(k) != now.get(k) for k in ("exists", "size", "mtime_ns")):
        info.problem = (
            f"{jp}: the journal belongs to another version of {Path(session_path).name} "
            f"(recorded size {then.get('size')}, mtime_ns {then.get('mtime_ns')}; now size "
            f"{now.get('size')}, mtime_ns {now.get('mtime_ns')})"
        )
    return info


def pending_edits(session_path: str | Path) -> list[dict[str, Any]] | None:
    """The journal entries to offer for recovery: None unless a journal for exactly this
    version of the file exists and replaying it changes something."""
    info = inspect_journal(session_path)
    if info is None or info.problem or info.net_edit_count == 0:
        return None
    return info.entries


def discard_journal(session_path: str | Path) -> None:
    """Delete the journal of ``session_path`` (the user declined recovery)."""
    edit_journal_path(session_path).unlink(missing_ok=True)
