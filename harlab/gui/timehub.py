"""One time hub that every view follows (STYLE.md section 5, after ephyviewer).

Signal plots, label bands, the overview bar and the readouts never talk to each
other; they all read and set the cursor, the visible range and the selected span
here, and redraw when the hub says so.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, Signal


class TimeHub(QObject):
    """The shared cursor, visible range and selected span (seconds from session start)."""

    range_changed = Signal(float, float)
    cursor_changed = Signal(float)
    selection_changed = Signal(object)  #: (t0, t1) or None

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._range = (0.0, 1.0)
        self._cursor = 0.0
        self._selection: tuple[float, float] | None = None
        self.bounds = (0.0, 1.0)  #: the whole recording

    @property
    def range(self) -> tuple[float, float]:
        return self._range

    @property
    def cursor(self) -> float:
        return self._cursor

    @property
    def selection(self) -> tuple[float, float] | None:
        return self._selection

    def set_range(self, t0: float, t1: float) -> None:
        if not (math.isfinite(t0) and math.isfinite(t1)) or t1 <= t0:
            return
        if (t0, t1) != self._range:
            self._range = (t0, t1)
            self.range_changed.emit(t0, t1)

    def seek(self, t: float) -> None:
        """Move the cursor to ``t``; pan the view only if ``t`` is outside it."""
        self.set_cursor(t)
        t0, t1 = self._range
        if not t0 <= t <= t1:
            w = t1 - t0
            self.set_range(t - w / 2, t + w / 2)

    def set_cursor(self, t: float) -> None:
        if math.isfinite(t) and t != self._cursor:
            self._cursor = t
            self.cursor_changed.emit(t)

    def set_selection(self, span: tuple[float, float] | None) -> None:
        if span is not None:
            a, b = sorted(span)
            span = None if b <= a else (a, b)
        if span != self._selection:
            self._selection = span
            self.selection_changed.emit(span)
