"""One undo/redo history of session edits per open session.

Qt-free on purpose (the GUI wraps it, tests drive it directly): a QUndoStack would tie the
model to Qt and could not be replayed from the crash journal in a plain Python process.

Live editing and crash-journal replay go through the same fold over the do/undo/redo
stream (:meth:`~harlab.labeling.undo_stacks.UndoStacks.step`, applied to a session by
:func:`~harlab.labeling.undo_stacks.apply_op`), so a replayed
journal leaves exactly the stacks the user had. Every state change is recorded in the
optional :class:`~harlab.labeling.edit_journal.EditJournal` *after* it has been applied, so the
journal only ever holds edits that really happened.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harlab.core.errors import SessionError
from harlab.core.events import EventEmitter
from harlab.core.session import Session
from harlab.labeling.commands import EditCommand, command_from_dict
from harlab.labeling.edit_journal import EditJournal
from harlab.labeling.undo_stacks import UndoStacks, apply_op


class EditHistory:
    """Undo and redo stacks of :class:`EditCommand` with a clean (saved) mark.

    ``events`` emits ``"history_changed"`` (data: ``can_undo``, ``can_redo``, ``is_clean``)
    after every push/undo/redo/mark_clean/clear/replay, and ``"journal_error"`` (data:
    ``error``) once if the journal cannot be written (the edit itself stays done: losing
    crash protection must not lose the user's work in memory).
    """

    def __init__(
        self, session: Session, journal: EditJournal | None = None, limit: int | None = None
    ) -> None:
        self.session = session
        self.journal = journal
        self.limit = limit
        self.events = EventEmitter()
        self.stacks: UndoStacks[EditCommand] = UndoStacks()
        self.journal_error: OSError | None = None

    # -- state -------------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self.stacks.done)

    @property
    def can_redo(self) -> bool:
        return bool(self.stacks.undone)

    @property
    def undo_text(self) -> str:
        cmd = self.stacks.peek("undo")
        return cmd.text if cmd is not None else ""

    @property
    def redo_text(self) -> str:
        cmd = self.stacks.peek("redo")
        return cmd.text if cmd is not None else ""

    @property
    def is_clean(self) -> bool:
        """True when the session equals the last saved (or opened) state."""
        return self.stacks.clean == len(self.stacks.done)

    @property
    def done(self) -> list[EditCommand]:
        """Commands that are applied, oldest first (a copy)."""
        return list(self.stacks.done)

    @property
    def undone(self) -> list[EditCommand]:
        """Commands that redo would re-apply, next first (a copy)."""
        return list(reversed(self.stacks.undone))

    # -- changing ------------------------------------------------------------------------------
    def push(self, cmd: EditCommand) -> EditCommand:
        """Do ``cmd`` and record it; drops the redo stack. If the command raises (e.g. an
        overlap on an exclusive track) nothing is recorded and the session is unchanged."""
        self._step("do", cmd)
        if self.limit is not None:
            self.stacks.trim(self.limit)
        self._changed()
        return cmd

    def undo(self) -> EditCommand | None:
        if not self.can_undo:
            return None
        cmd = self._step("undo")
        self._changed()
        return cmd

    def redo(self) -> EditCommand | None:
        if not self.can_redo:
            return None
        cmd = self._step("redo")
        self._changed()
        return cmd

    def replay(self, entries: Iterable[dict[str, Any]]) -> list[EditCommand]:
        """Re-apply crash-journal ``entries`` (see :mod:`harlab.labeling.edit_journal`) to this
        history's freshly opened session through the same step as live edits; returns the
        commands that end up applied, oldest first.

        The recovered state counts as unsaved (the file on disk has none of it) and the journal
        is rewritten to hold exactly these entries, so a second crash before saving is
        recoverable too. If an entry does not fit the session (SessionError), everything
        replayed so far is undone, the history is as it was, and the error propagates.
        """
        entries = list(entries)
        stacks: UndoStacks[EditCommand] = UndoStacks()
        try:
            for n, e in enumerate(entries, 1):
                op, raw = str(e.get("op")), e.get("command")
                cmd = None
                if op == "do":
                    if not isinstance(raw, dict):
                        raise SessionError(f"journal entry {n}: a 'do' without a command")
                    cmd = command_from_dict(raw)
                try:
                    apply_op(self.session, stacks, op, cmd)
                except SessionError as exc:
                    raise SessionError(f"journal entry {n}: {exc}") from exc
        except Exception:
            for cmd in reversed(stacks.done):
                cmd.undo(self.session)
            raise
        stacks.clean = 0  # zero applied edits = the file on disk
        self.stacks = stacks
        if self.journal is not None:
            self.journal.rewrite(entries)
        self._changed()
        return list(stacks.done)

    def mark_clean(self) -> None:
        """Call after a successful save: the current state is the saved one and the crash
        journal is no longer needed."""
        self.stacks.clean = len(self.stacks.done)
        if self.journal is not None:
            self.journal.clear()
        self._changed()

    def mark_unsaved(self) -> None:
        """The state the history started from is not on disk (an import, a repaired schema):
        no undo or redo makes the session clean until it is saved."""
        self.stacks.clean = None
        self._changed()

    def clear(self) -> None:
        """Forget all history (e.g. after reloading); the current state counts as clean."""
        self.stacks = UndoStacks()
        if self.journal is not None:
            self.journal.clear()
        self._changed()

    def set_journal(self, journal: EditJournal | None) -> None:
        """Switch journals (Save As to a new path): the old one is deleted."""
        if self.journal is not None and self.journal is not journal:
            self.journal.clear()
        self.journal = journal

    # -- internals ---------------------------------------------------------------------------
    def _step(self, op: str, cmd: EditCommand | None = None) -> EditCommand:
        done = apply_op(self.session, self.stacks, op, cmd)
        if self.journal is not None:
            try:
                self.journal.record(op, done if op == "do" else None)
            except OSError as exc:
                first = self.journal_error is None
                self.journal_error = exc
                if first:
                    self.events.emit("journal_error", self, error=exc)
        return done

    def _changed(self) -> None:
        self.events.emit(
            "history_changed", self, can_undo=self.can_undo, can_redo=self.can_redo, is_clean=self.is_clean
        )
