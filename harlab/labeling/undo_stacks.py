"""The fold over a do/undo/redo stream that live editing and journal replay share.

:class:`UndoStacks` knows nothing of sessions (the journal folds plain counts through it to
tell how many edits a journal holds); :func:`apply_op` applies one step of the stream to a
session and folds it in. Both the history (:mod:`harlab.labeling.history`) and the journal
(:mod:`harlab.labeling.edit_journal`) build on this module, so neither needs the other's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from harlab.core.errors import SessionError
from harlab.core.session import Session
from harlab.labeling.commands import EditCommand

T = TypeVar("T")
OPS = ("do", "undo", "redo")


@dataclass
class UndoStacks(Generic[T]):
    """The done and undone items of a do/undo/redo stream, and where the clean mark is.

    ``clean`` is ``len(done)`` at the saved state, or None when the saved state cannot be
    reached by undo or redo (it was dropped, or the session was never saved)."""

    done: list[T] = field(default_factory=list)
    undone: list[T] = field(default_factory=list)  #: the next redo last
    clean: int | None = 0

    def step(self, op: str, item: T | None = None) -> T:
        """Fold one entry of the stream in; returns the item done, undone or redone. Raises
        SessionError for an undo or redo with nothing to act on or an unknown op."""
        if op == "do":
            if item is None:
                raise SessionError("a 'do' needs its command")
            self.done.append(item)
            if self.clean is not None and self.clean >= len(self.done):
                self.clean = None  # the saved state was in the redo stack being dropped
            self.undone.clear()
            return item
        if op == "undo":
            if not self.done:
                raise SessionError("undo with nothing to undo")
            self.undone.append(self.done.pop())
            return self.undone[-1]
        if op == "redo":
            if not self.undone:
                raise SessionError("redo with nothing to redo")
            self.done.append(self.undone.pop())
            return self.done[-1]
        raise SessionError(f"unknown op {op!r}")

    def peek(self, op: str) -> T | None:
        """The item ``op`` ("undo" or "redo") would act on, or None."""
        stack = self.done if op == "undo" else self.undone
        return stack[-1] if stack else None

    def trim(self, limit: int) -> None:
        """Forget the oldest done items beyond ``limit``."""
        drop = len(self.done) - limit
        if drop > 0:
            del self.done[:drop]
            self.clean = None if self.clean is None or self.clean < drop else self.clean - drop


def apply_op(
    session: Session, stacks: UndoStacks[EditCommand], op: str, cmd: EditCommand | None = None
) -> EditCommand:
    """Apply one do/undo/redo to ``session`` and fold it into ``stacks``: the one step that
    live editing and journal replay share. If the command raises, neither changes."""
    target = cmd if op == "do" else stacks.peek(op)
    if op in OPS and target is not None:
        if op == "undo":
            target.undo(session)
        else:
            target.do(session)
    return stacks.step(op, target)
