"""One open session's life, without Qt: open, recover, edit, save, save as, close.

The workbench window only *asks* (which file, recover or not, save or discard); this
document *does*. It owns the session, the session file (its write lock), the one undo
history and the crash journal beside the file, and it has one ``dirty`` state: the
history's clean mark. A state that is not on disk from the start (an import, an
in-memory session, a schema whose class keys had to be repaired) moves that mark out of
reach (:meth:`EditHistory.mark_unsaved`), so no undo makes it clean before a save.

Listeners connect plain callbacks to ``events`` (:class:`~harlab.core.events.EventEmitter`):

* ``"changed"`` after every edit, undo, redo, recovery, save and save as (data: ``dirty``);
* ``"journal_error"`` once when the crash journal cannot be written (data: ``error``);
* ``"closed"`` when the document lets go of its session.

Typical use::

    doc = LabelingDocument.open(path)
    if doc.recovery is not None:          # unsaved edits of a crashed run
        doc.recover() if user_agrees else doc.discard_recovery()
    doc.history.push(LabelRange("activity", 1, 2, "walk"))
    doc.save()
    doc.close()
"""

from __future__ import annotations

from pathlib import Path

from harlab.core.errors import FileLockedError, SessionError
from harlab.core.events import Event, EventEmitter
from harlab.core.files import SESSION_SUFFIXES
from harlab.core.session import Session
from harlab.labeling.class_keys import describe_repairs, repair_hotkeys
from harlab.labeling.commands import EditCommand
from harlab.labeling.edit_journal import EditJournal, JournalInfo, discard_journal, inspect_journal
from harlab.labeling.history import EditHistory
from harlab.storage import SessionFile, open_session, save_session

DEFAULT_TRACK = "activity"


def session_path_for(path: str | Path) -> Path:
    """``path`` with the session suffix (``.h5``) unless it already has one."""
    p = Path(path)
    return p if p.suffix.lower() in SESSION_SUFFIXES else p.with_suffix(".h5")


class LabelingDocument:
    """One session being labelled, with its file, undo history and crash journal."""

    def __init__(
        self,
        session: Session,
        session_file: SessionFile | None = None,
        path: Path | None = None,
        *,
        on_disk: bool = True,
    ) -> None:
        """Wrap an opened session. Use :meth:`open` for a file and :meth:`unsaved` for a session
        that exists only in memory (``on_disk=False``: dirty until saved)."""
        self.session = session
        self.session_file = session_file
        self.path = path
        self.events = EventEmitter()
        self.recovery: JournalInfo | None = (
            None  #: unsaved edits of a crashed run, until recovered or discarded
        )
        self.read_only_reason = ""  #: why a file was opened read-only ("" when writable or in memory)
        journal = EditJournal(path) if path is not None and self.writable else None
        self.history = EditHistory(session, journal)
        self.history.events.connect(self._history_event)
        # A schema whose class keys clash with the shortcut table is mended here, before any
        # key is bound (else S would neither split nor label); the GUI shows the notice once.
        self.hotkey_notice = describe_repairs(repair_hotkeys(session.schema))
        if not session.label_tracks:
            with session.events.blocked():
                session.label_track(DEFAULT_TRACK)
        if not on_disk or (self.hotkey_notice and self.writable):
            self.history.mark_unsaved()

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path) -> LabelingDocument:
        """Open a session file writable, or read-only when another process holds its lock
        (``read_only_reason`` says why). A crash journal of exactly this version of the file
        that changes something is offered as ``recovery`` (writable files only)."""
        p = Path(path)
        info = inspect_journal(p)  # before anything can start a new journal
        reason = ""
        try:
            sf = open_session(p, writable=True)
        except FileLockedError as exc:
            sf = open_session(p, writable=False)
            reason = str(exc)
        if sf.writable:
            sf.check_sound_in_background()  # Save refuses a file that fails validate: know it early
        doc = cls(sf.session, sf, p)
        doc.read_only_reason = reason
        if sf.writable and info is not None and not info.problem and info.net_edit_count:
            doc.recovery = info
        return doc

    @classmethod
    def unsaved(cls, session: Session) -> LabelingDocument:
        """A session with no file yet (an import, a simulation): dirty until saved as a file."""
        return cls(session, on_disk=False)

    def recover(self) -> int:
        """Replay the crash journal offered in ``recovery``; returns how many edits are applied
        afterwards (they can be undone, and count as unsaved). On a SessionError the session is
        unchanged, the offer is withdrawn and the error propagates."""
        info, self.recovery = self.recovery, None
        if info is None:
            return 0
        return len(self.history.replay(info.entries))

    def discard_recovery(self) -> None:
        """Delete the crash journal offered in ``recovery`` (the user declined it)."""
        if self.recovery is not None and self.path is not None:
            discard_journal(self.path)
        self.recovery = None

    # -- state --------------------------------------------------------------------------------
    @property
    def writable(self) -> bool:
        """Whether Save may write where the session came from (False: in memory or read-only)."""
        if self.session_file is not None:
            return self.session_file.writable
        return self.path is not None

    @property
    def dirty(self) -> bool:
        """The session differs from its file (or has none)."""
        return not self.history.is_clean

    @property
    def needs_path(self) -> bool:
        """Save cannot write: there is no file, or it was opened read-only (ask for Save As)."""
        return not self.writable

    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else "imported (unsaved)"

    # -- editing (convenience for scripts; the GUI pushes on ``history``) -----------------------
    def push(self, cmd: EditCommand) -> EditCommand:
        return self.history.push(cmd)

    def undo(self) -> EditCommand | None:
        return self.history.undo()

    def redo(self) -> EditCommand | None:
        return self.history.redo()

    # -- saving -------------------------------------------------------------------------------
    def save(self) -> Path:
        """Write the session over its file; raises SessionError when :attr:`needs_path`, and
        HarlabError/OSError when the write fails (then nothing changed)."""
        if self.needs_path or self.path is None:
            raise SessionError(f"{self.name} cannot be saved in place; save it as a new file")
        if self.session_file is not None:
            self.session_file.save()
        else:
            save_session(self.session, self.path)
        self._saved()
        return self.path

    def save_as(self, path: str | Path) -> Path:
        """Write the session to ``path`` (``.h5`` added when missing); the document then
        belongs to that file, and unsaved edits are journalled beside it."""
        p = session_path_for(path)
        if self.session_file is not None:
            self.session_file.save_as(p)
        else:
            save_session(self.session, p)
        self.path = p
        self.read_only_reason = ""
        self.history.set_journal(EditJournal(p) if self.writable else None)
        self._saved()
        return p

    def _saved(self) -> None:
        self.history.mark_clean()  # also deletes the journal: the file now holds every edit

    # -- closing ------------------------------------------------------------------------------
    def close(self, discard: bool = False) -> None:
        """Let go of the session and the file's lock. With ``discard`` the unsaved edits'
        journal is deleted; without it the journal stays, so the edits can be recovered."""
        journal = self.history.journal
        if journal is not None:
            if discard:
                journal.clear()
            else:
                journal.close()
        self.history.events.disconnect(self._history_event)
        if self.session_file is not None:
            self.session_file.close()
        self.events.emit("closed", self)

    # -- internals ----------------------------------------------------------------------------
    def _history_event(self, event: Event) -> None:
        if event.kind == "journal_error":
            self.events.emit("journal_error", self, error=event.data.get("error"))
        else:
            self.events.emit("changed", self, dirty=self.dirty)
