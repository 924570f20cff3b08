"""Playback: the time hub's cursor driven by a clock, and the timeline paging along.

While playing, a timer ticks about 60 times a second and sets the hub's cursor to
``start_cursor + speed * elapsed`` measured by a ``QElapsedTimer`` (not by counting ticks,
which drift when the event loop is busy): the video panel and every other view follow the
cursor as they do when the user moves it. When the cursor leaves the right part of the
visible range, the range pages forward (the cursor then sits near its left edge), so the
timeline redraws once per page rather than on every frame. Playback stops at ``end``
(the recording's end, or the video's when it ends first).
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer, Signal

from harlab.gui.timehub import TimeHub

#: the speeds offered (the issue's 0.1x to 4x)
SPEEDS = (0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 4.0)
TICK_MS = 15
#: page when the cursor passes this fraction of the view, to put it at PAGE_TO
PAGE_AT = 0.9
PAGE_TO = 0.1


class Playback(QObject):
    """Plays the hub's cursor forward in real time times ``speed`` (see the module docstring)."""

    playing_changed = Signal(bool)

    def __init__(self, hub: TimeHub, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.hub = hub
        self.speed = 1.0
        self.end: float | None = None  #: where playback stops (None: the hub's bounds)
        self._clock = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._origin = 0.0
        self._driving = False  #: True while the tick itself moves the cursor
        hub.cursor_changed.connect(self._cursor_moved)

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def play(self) -> None:
        if self.playing:
            return
        lo, hi = self.hub.bounds
        end = self._end()
        if self.hub.cursor >= end or self.hub.cursor < lo:
            self.hub.seek(lo if self.hub.cursor >= end else max(lo, self.hub.cursor))
        self._restart_clock()
        self._timer.start()
        self.playing_changed.emit(True)

    def pause(self) -> None:
        if self.playing:
            self._timer.stop()
            self.playing_changed.emit(False)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def set_speed(self, speed: float) -> None:
        """Change speed without a jump: the clock restarts from where the cursor is."""
        self.speed = max(0.01, float(speed))
        if self.playing:
            self._restart_clock()

    def _end(self) -> float:
        hi = self.hub.bounds[1]
        return hi if self.end is None else min(hi, self.end)

    def _restart_clock(self) -> None:
        self._origin = self.hub.cursor
        self._clock.start()

    def _tick(self) -> None:
        t = self._origin + self.speed * self._clock.nsecsElapsed() * 1e-9
        end = self._end()
        if t >= end:
            t = end
        self._driving = True
        try:
            self.hub.set_cursor(t)
            self._follow(t)
        finally:
            self._driving = False
        if t >= end:
            self.pause()

    def _follow(self, t: float) -> None:
        a, b = self.hub.range
        w = b - a
        if not a <= t <= a + PAGE_AT * w:
            self.hub.set_range(t - PAGE_TO * w, t + (1 - PAGE_TO) * w)

    def _cursor_moved(self, t: float) -> None:
        """Someone else moved the cursor (a click, a key): go on playing from there."""
        if self.playing and not self._driving:
            self._restart_clock()
