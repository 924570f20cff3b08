"""Class-hotkey labeling as a small state machine, so the GUI and tests share one behaviour.

Press a class key once: a segment of that class starts at the cursor. Press it again: it
ends at the cursor and becomes a :class:`LabelRange` edit. Press *another* class's key while
one is open: the open one ends there and the new class starts at the same time, so a
recording can be labelled continuously, activity after activity. With a selection, the key
labels the selection at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from harlab.labeling.commands import LabelRange


@dataclass(frozen=True)
class PendingSegment:
    track: str
    label: str
    start: float


class HotkeyLabeler:
    """Turns class-key presses into :class:`LabelRange` commands (push them on the history)."""

    def __init__(self, annotator: str = "") -> None:
        self.annotator = annotator
        self.pending: PendingSegment | None = None

    def press(
        self, track: str, label: str, cursor: float, selection: tuple[float, float] | None = None
    ) -> LabelRange | None:
        """The edit to push for a class-key press, or None when the press only opened a segment."""
        if selection is not None:
            self.pending = None
            a, b = sorted(selection)
            return LabelRange(track, a, b, label, annotator=self.annotator)
        p = self.pending
        if p is None or p.track != track:
            self.pending = PendingSegment(track, label, cursor)
            return None
        a, b = sorted((p.start, cursor))
        self.pending = None if label == p.label else PendingSegment(track, label, cursor)
        if b <= a:
            return None
        return LabelRange(track, a, b, p.label, annotator=self.annotator)

    def cancel(self) -> bool:
        """Abandon an open segment (Escape); True if there was one."""
        had = self.pending is not None
        self.pending = None
        return had
