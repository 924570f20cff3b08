"""A time axis in wall-clock time of the session's timezone, or relative time, and the days.

Ticks fall on round clock values (whole minutes, hours, ...) of the chosen mode,
not on round numbers of seconds since the start of the recording. Days are the session's
local days: hour and day ticks are placed from each local midnight (so a day with a
daylight-saving change has its 23 or 25 hours), a tick at midnight is labelled with the
date ("Mon 7 Dec"), and :class:`MidnightLines` marks the midnights on the rows and the
overview. Every conversion from seconds to a clock goes through UTC (:func:`to_local`):
adding a timedelta to an aware local datetime would keep the wall clock's offset across
a daylight-saving change and be an hour off.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPen
from PySide6.QtWidgets import QGraphicsItem

from harlab.gui.label_band import ViewCoveringItem
from harlab.gui.paint_guard import never_raises

#: The most midnights computed at once (a century of days): bounds what a hostile start or
#: a range of absurd width can make the axis allocate.
MAX_DAYS = 36600

# Tick steps in seconds a person reads easily.
STEPS = [
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.2,
    0.5,
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86400,
    2 * 86400,
    7 * 86400,
]


def format_relative(t: float, step: float = 1.0) -> str:
    """``h:mm:ss`` (with decimals when the step needs them) for seconds from the start."""
    sign = "-" if t < 0 else ""
    t = abs(t)
    decimals = 0 if step >= 1 else min(3, max(1, -int(math.floor(math.log10(step)))))
    whole = int(t)
    frac = t - whole
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    sec = f"{s + frac:0{3 + decimals}.{decimals}f}" if decimals else f"{s:02d}"
    return f"{sign}{h}:{m:02d}:{sec}" if h else f"{sign}{m}:{sec}"


def to_local(start_local: datetime, t: float) -> datetime:
    """The wall-clock time ``t`` seconds after ``start_local``, in its timezone (via UTC)."""
    tz = start_local.tzinfo
    return (start_local.astimezone(UTC) + timedelta(seconds=t)).astimezone(tz)


def seconds_at(start_local: datetime, moment: datetime) -> float:
    """Seconds from ``start_local`` to the aware datetime ``moment`` (via UTC: aware datetimes
    of one tzinfo subtract their wall clocks)."""
    return (moment.astimezone(UTC) - start_local.astimezone(UTC)).total_seconds()


def local_midnights(start_local: datetime, t0: float, t1: float) -> list[float]:
    """Seconds from the start of every local midnight in [t0, t1] (at most :data:`MAX_DAYS`)."""
    if not (math.isfinite(t0) and math.isfinite(t1)) or t1 < t0:
        return []
    tz = start_local.tzinfo
    try:
        day = to_local(start_local, t0).date()
    except (OverflowError, ValueError):
        return []
    out: list[float] = []
    while len(out) < MAX_DAYS:
        try:
            m = seconds_at(start_local, datetime.combine(day, time(0), tzinfo=tz))
        except (OverflowError, ValueError):
            break
        if m > t1:
            break
        if m >= t0:
            out.append(m)
        try:
            day += timedelta(days=1)
        except OverflowError:
            break
    return out


def day_spans(start_local: datetime, t0: float, t1: float) -> list[tuple[float, float, datetime]]:
    """(start, end, local midnight) of every local day that overlaps [t0, t1]: the days a
    recording covers, each from its midnight to the next (23 or 25 h on a daylight-saving day)."""
    if not (math.isfinite(t0) and math.isfinite(t1)) or t1 < t0:
        return []
    try:
        first = to_local(start_local, t0).date()
        m0 = seconds_at(start_local, datetime.combine(first, time(0), tzinfo=start_local.tzinfo))
    except (OverflowError, ValueError):
        return []
    edges = [m0] + [m for m in local_midnights(start_local, m0 + 1.0, t1 + 86400 * 1.1) if m > m0]
    out = []
    for a, b in zip(edges, edges[1:], strict=False):
        if a > t1 or len(out) >= MAX_DAYS:
            break
        out.append((a, b, to_local(start_local, a)))
    return out


def day_label(d: datetime, year: bool = False) -> str:
    """The name of a day as the axis and the day picker write it: "Mon 7 Dec" (with the year
    when asked)."""
    text = f"{d:%a} {d.day} {d:%b}"
    return f"{text} {d.year}" if year else text


def _is_midnight(start_local: datetime, v: float) -> bool:
    d = to_local(start_local, v + 0.0005)  # a tick a hair before midnight is midnight
    return d.hour == 0 and d.minute == 0 and d.second == 0 and d.microsecond < 1000


class TimeAxisItem(pg.AxisItem):
    """Bottom axis whose values are seconds since the session start."""

    def __init__(self, start_local: datetime | None = None, wall_clock: bool = True, **kw) -> None:
        super().__init__("bottom", **kw)
        self.start_local = start_local
        self.wall_clock = wall_clock and start_local is not None
        self.enableAutoSIPrefix(False)

    def set_start(self, start_local: datetime | None, wall_clock: bool) -> None:
        self.start_local = start_local
        self.wall_clock = wall_clock and start_local is not None
        self.picture = None
        self.update()

    def set_wall_clock(self, on: bool) -> None:
        self.set_start(self.start_local, on)

    def _offset(self, at: float = 0.0) -> float:
        """The shift that turns a time near ``at`` into seconds since its local midnight, so
        that ticks of seconds and minutes fall on round values of the clock (0 from the start)."""
        if not self.wall_clock or self.start_local is None:
            return 0.0
        try:
            s = to_local(self.start_local, at)
        except (OverflowError, ValueError):
            s = self.start_local
            at = 0.0
        return s.hour * 3600 + s.minute * 60 + s.second + s.microsecond / 1e6 - at

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:  # noqa: N802 (Qt API)
        span = maxVal - minVal
        if span <= 0 or not math.isfinite(span):
            return []
        px_per_label = 110.0
        wanted = max(1.0, size / px_per_label)
        major = next(
            (s for s in STEPS if span / s <= wanted), STEPS[-1] * math.ceil(span / wanted / STEPS[-1])
        )
        idx = STEPS.index(major) if major in STEPS else len(STEPS) - 1
        minor = STEPS[idx - 1] if idx > 0 else major / 2
        out = []
        for step in (major, minor):
            if self.wall_clock and self.start_local is not None and step >= 3600:
                ticks = self._clock_ticks(step, minVal, maxVal)
            else:
                off = self._offset(minVal)
                first = math.ceil((minVal + off) / step) * step - off
                n = int((maxVal - first) / step) + 1
                ticks = [first + i * step for i in range(max(0, n))] if n <= 2000 else None
            if ticks is not None:
                out.append((step, ticks))
        return out

    def _clock_ticks(self, step: float, lo: float, hi: float) -> list[float] | None:
        """Ticks of ``step`` (an hour or more) on the local clock: every ``step / 86400``-th
        midnight for day steps, else the hours of each local day that are multiples of the
        step (on the wall clock, so 12:00 stays 12:00 on a day of 23 or 25 hours)."""
        start = self.start_local
        assert start is not None
        if (hi - lo) / step > 2000:
            return None
        if step >= 86400:
            every = max(1, round(step / 86400))
            days = local_midnights(start, lo, hi)
            # ordinal 1 is a Monday: steps of a week fall on Mondays
            return [m for m in days if (to_local(start, m + 0.0005).toordinal() - 1) % every == 0]
        hours = max(1, round(step / 3600))
        try:
            first, last = to_local(start, lo).date(), to_local(start, hi).date()
        except (OverflowError, ValueError):
            return None
        out: set[float] = set()
        day = first
        while day <= last:
            for h in range(0, 24, hours):
                v = seconds_at(start, datetime.combine(day, time(h), tzinfo=start.tzinfo))
                if lo <= v <= hi:
                    out.add(v)
            day += timedelta(days=1)
        return sorted(out)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        if not self.wall_clock or self.start_local is None:
            return [format_relative(v, spacing) for v in values]
        out = []
        for v in values:
            try:
                t = to_local(self.start_local, v)
                midnight = spacing >= 1 and _is_midnight(self.start_local, v)
            except (OverflowError, ValueError):
                out.append("")
                continue
            if spacing >= 86400 or midnight:  # a day tick, or midnight inside a shorter view
                out.append(day_label(to_local(self.start_local, v + 0.0005)))
            elif spacing >= 60:
                out.append(t.strftime("%H:%M"))
            elif spacing >= 1:
                out.append(t.strftime("%H:%M:%S"))
            else:
                decimals = min(3, max(1, -int(math.floor(math.log10(spacing)))))
                out.append(t.strftime("%H:%M:%S") + f"{t.microsecond / 1e6:.{decimals}f}"[1:])
        return out


def local_start(start_utc: datetime | None, timezone: str) -> datetime | None:
    if start_utc is None:
        return None
    try:
        return start_utc.astimezone(ZoneInfo(timezone))
    except Exception:  # noqa: BLE001 - an invalid zone falls back to UTC display
        return start_utc


def format_time(t: float, start_local: datetime | None, wall_clock: bool, date: bool = True) -> str:
    """Readout text for one time: wall clock with milliseconds (with the date unless
    ``date`` is False), or relative."""
    if wall_clock and start_local is not None:
        try:
            d = to_local(start_local, t)
        except (OverflowError, ValueError):
            return format_relative(t, 0.001)
        return d.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S") + f".{d.microsecond // 1000:03d}"
    return format_relative(t, 0.001)


def parse_time(text: str, start_local: datetime | None, wall_clock: bool, near: float = 0.0) -> float:
    """Seconds from the start for what a person typed: plain seconds (``9.5``), or a time
    the way :func:`format_time` shows it without the date (``09:01:30.250`` or ``09:01`` on
    the wall clock, ``1:30.25`` or ``1:01:30`` from the start).

    A clock time names a time of day, so of the days it could fall on the one nearest
    ``near`` (the value being edited) is taken, in the session's local days (a clock time after
    a daylight-saving change is read on the clock of that day). Raises ValueError saying what
    was expected."""
    s = text.strip()
    try:
        return float(s)
    except ValueError:
        pass
    sign = -1.0 if s.startswith("-") else 1.0
    parts = s.lstrip("+-").split(":")
    try:
        if not 2 <= len(parts) <= 3 or not all(p.strip() for p in parts):
            raise ValueError
        nums = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"{text!r} is not a time: expected seconds (9.5), h:mm:ss or HH:MM:SS.mmm") from None
    clock = wall_clock and start_local is not None
    if clock and len(nums) == 2:
        nums.append(0.0)  # a clock's HH:MM, as the axis writes it; from the start m:ss
    value = sum(n * 60.0**i for i, n in enumerate(reversed(nums)))
    if not clock:
        return sign * value
    assert start_local is not None
    try:
        base = to_local(start_local, near).date()
        candidates = [
            seconds_at(
                start_local,
                (datetime.combine(base + timedelta(days=dd), time(0)) + timedelta(seconds=value)).replace(
                    tzinfo=start_local.tzinfo
                ),
            )
            for dd in (-1, 0, 1)
        ]
    except (OverflowError, ValueError):
        raise ValueError(f"{text!r} is too far from the recording to be a clock time") from None
    return min(candidates, key=lambda c: abs(c - near))


def format_duration(d: float) -> str:
    if d < 1:
        return f"{d * 1000:.0f} ms"
    if d < 60:
        return f"{d:.3f} s"
    return format_relative(d, 1.0 if d >= 600 else 0.1)


class MidnightLines(ViewCoveringItem):
    """A thin vertical line at each local midnight of the session (and, with ``labels``,
    the day's name beside it): where one day ends on the rows and the overview.

    One item per plot paints only the midnights inside the view, so a month costs what a
    day does; it is not cached as a pixmap (a handful of lines is cheaper to draw than a
    plot-sized pixmap is to fill)."""

    def __init__(self, color: str = "#808080", labels: bool = False) -> None:
        super().__init__()
        self.setCacheMode(QGraphicsItem.CacheMode.NoCache)
        self.setZValue(5)
        self.times = np.zeros(0)
        self.names: list[str] = []
        self.labels = labels
        self.font = QFont()
        self.font.setPointSizeF(7.5)
        self.set_color(color)

    def set_color(self, color: str) -> None:
        c = QColor(color)
        c.setAlpha(110)
        self.pen = QPen(c, 1)  # solid: a dashed pen is stroked pattern by pattern, several times slower
        self.pen.setCosmetic(True)
        self.text_color = QColor(color)
        self.update()

    def set_days(self, start_local: datetime | None, t0: float, t1: float) -> None:
        """Show the midnights of [t0, t1] (none when the start is unknown)."""
        if start_local is None:
            self.times, self.names = np.zeros(0), []
        else:
            m = local_midnights(start_local, t0, t1)
            self.times = np.asarray(m, dtype=np.float64)
            self.names = [day_label(to_local(start_local, v + 0.0005)) for v in m]
        self.update()

    def visible(self) -> list[float]:
        """The midnights inside the view (tests, painting)."""
        r = self._br
        i0 = int(np.searchsorted(self.times, r.left(), side="left"))
        i1 = int(np.searchsorted(self.times, r.right(), side="right"))
        return self.times[i0:i1].tolist()

    @never_raises
    def paint(self, p, *args) -> None:  # noqa: ANN001 (Qt API)
        shown = self.visible()
        if not shown:
            return
        r = self._br
        p.setPen(self.pen)
        for t in shown:
            p.drawLine(QPointF(t, r.top()), QPointF(t, r.bottom()))
        if not self.labels:
            return
        tr = p.transform()
        p.save()
        p.resetTransform()
        p.setFont(self.font)
        p.setPen(self.text_color)
        fm = QFontMetricsF(self.font)
        right = tr.map(QPointF(r.right(), r.top())).x()
        top = min(tr.map(QPointF(0, r.top())).y(), tr.map(QPointF(0, r.bottom())).y())
        i0 = int(np.searchsorted(self.times, r.left(), side="left"))
        last_end = -math.inf
        for k, t in enumerate(shown):
            x = tr.map(QPointF(t, r.top())).x() + 3
            name = self.names[i0 + k]
            w = fm.horizontalAdvance(name)
            if x < last_end or x + w > right:
                continue  # no room beside the previous name, or past the right edge
            p.drawText(QRectF(x, top + 1, w + 2, fm.height()), name)
            last_end = x + w + 6
        p.restore()
