"""One undo/redo history of label edits per open session.

Qt-free on purpose (the GUI wraps it, tests drive it directly): a QUndoStack would tie the
model to Qt and could not be replayed from the crash journal in a plain Python process.
Every state change is recorded in the optional :class:`~harlab.labeling.journal.EditJournal`
*after* it has been applied, so the journal only ever holds edits that really happened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harlab.core.events import EventEmitter
from harlab.core.session import Session
from harlab.labeling.commands import EditCommand

if TYPE_CHECKING:
    from harlab.labeling.journal import EditJournal


class EditHistory:
    """Undo and redo stacks of :class:`EditCommand` with a clean (saved) mark.

    ``events`` emits ``"history_changed"`` (data: ``can_undo``, ``can_redo``, ``is_clean``)
    after every push/undo/redo/mark_clean/clear, and ``"journal_error"`` (data: ``error``)
    once if the journal cannot be written (the edit itself stays done: losing crash
    protection must not lose the user's work in memory).
    """

    def __init__(self, session: Session, journal: EditJournal | None = None, limit: int | None = None) -> None:
        self.session = session
        self.journal = journal
        self.limit = limit
        self.events = EventEmitter()
        self._undo: list[EditCommand] = []
        self._redo: list[EditCommand] = []
        self._clean: int | None = 0  # len(_undo) at the saved state; None = unreachable
        self.journal_error: OSError | None = None

    # -- state -------------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_text(self) -> str:
        return self._undo[-1].text if self._undo else ""

    @property
    def redo_text(self) -> str:
        return self._redo[-1].text if self._redo else ""

    @property
    def is_clean(self) -> bool:
        """True when the labels equal the last saved (or opened) state."""
        return self._clean == len(self._undo)

    @property
    def done(self) -> list[EditCommand]:
        """Commands that are applied, oldest first (a copy)."""
        return list(self._undo)

    @property
    def undone(self) -> list[EditCommand]:
        """Commands that redo would re-apply, next first (a copy)."""
        return list(reversed(self._redo))

    # -- changing ------------------------------------------------------------------------------
    def push(self, cmd: EditCommand) -> EditCommand:
        """Do ``cmd`` and record it; drops the redo stack. If the command raises (e.g. an
        overlap on an exclusive track) nothing is recorded and the session is unchanged."""
        cmd.do(self.session)
        self._undo.append(cmd)
        if self._clean is not None and self._clean > len(self._undo) - 1:
            self._clean = None  # the saved state was in the redo stack we are dropping
        self._redo.clear()
        if self.limit is not None and len(self._undo) > self.limit:
            drop = len(self._undo) - self.limit
            del self._undo[:drop]
            self._clean = None if self._clean is None or self._clean < drop else self._clean - drop
        self._journal("do", cmd)
        self._changed()
        return cmd

    def undo(self) -> EditCommand | None:
        if not self._undo:
            return None
        cmd = self._undo[-1]
        cmd.undo(self.session)
        self._redo.append(self._undo.pop())
        self._journal("undo")
        self._changed()
        return cmd

    def redo(self) -> EditCommand | None:
        if not self._redo:
            return None
        cmd = self._redo[-1]
        cmd.do(self.session)
        self._undo.append(self._redo.pop())
        self._journal("redo")
        self._changed()
        return cmd

    def mark_clean(self) -> None:
        """Call after a successful save: the current state is the saved one and the crash
        journal is no longer needed."""
        self._clean = len(self._undo)
        if self.journal is not None:
            self.journal.clear()
        self._changed()

    def clear(self) -> None:
        """Forget all history (e.g. after reloading); the current state counts as clean."""
        self._undo.clear()
        self._redo.clear()
        self._clean = 0
        if self.journal is not None:
            self.journal.clear()
        self._changed()

    def set_journal(self, journal: EditJournal | None) -> None:
        """Switch journals (Save As to a new path): the old one is deleted."""
        if self.journal is not None and self.journal is not journal:
            self.journal.clear()
        self.journal = journal

    # -- internals ---------------------------------------------------------------------------
    def _restore(self, done: list[EditCommand], undone: list[EditCommand], clean: int | None) -> None:
        """Used by journal replay: adopt stacks that were already applied to the session."""
        self._undo = list(done)
        self._redo = list(reversed(undone))
        self._clean = clean
        self._changed()

    def _journal(self, op: str, cmd: EditCommand | None = None) -> None:
        if self.journal is None:
            return
        try:
            self.journal.record(op, cmd)
        except OSError as exc:
            first = self.journal_error is None
            self.journal_error = exc
            if first:
                self.events.emit("journal_error", self, error=exc)

    def _changed(self) -> None:
        self.events.emit(
            "history_changed", self, can_undo=self.can_undo, can_redo=self.can_redo, is_clean=self.is_clean
        )
