"""A time axis in wall-clock time of the session's timezone, or relative time.

Ticks fall on round clock values (whole minutes, hours, ...) of the chosen mode,
not on round numbers of seconds since the start of the recording.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pyqtgraph as pg

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

    def _offset(self) -> float:
        """Seconds from local midnight to the session start (wall-clock alignment)."""
        if not self.wall_clock or self.start_local is None:
            return 0.0
        s = self.start_local
        return s.hour * 3600 + s.minute * 60 + s.second + s.microsecond / 1e6

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
        off = self._offset()
        out = []
        for step in (major, minor):
            first = math.ceil((minVal + off) / step) * step - off
            n = int((maxVal - first) / step) + 1
            if n > 2000:
                continue
            out.append((step, [first + i * step for i in range(max(0, n))]))
        return out

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        if not self.wall_clock or self.start_local is None:
            return [format_relative(v, spacing) for v in values]
        out = []
        for v in values:
            try:
                t = self.start_local + timedelta(seconds=v)
            except OverflowError:
                out.append("")
                continue
            if spacing >= 86400:
                out.append(t.strftime("%a %d %b"))
            elif spacing >= 60:
                out.append(t.strftime("%H:%M") if (t.hour or t.minute) else t.strftime("%d %b %H:%M"))
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
        d = start_local + timedelta(seconds=t)
        return d.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S") + f".{d.microsecond // 1000:03d}"
    return format_relative(t, 0.001)


def parse_time(text: str, start_local: datetime | None, wall_clock: bool, near: float = 0.0) -> float:
    """Seconds from the start for what a person typed: plain seconds (``9.5``), or a time
    the way :func:`format_time` shows it without the date (``09:01:30.250`` or ``09:01`` on
    the wall clock, ``1:30.25`` or ``1:01:30`` from the start).

    A clock time names a time of day, so of the days it could fall on the one nearest
    ``near`` (the value being edited) is taken; the day is aligned as the time axis aligns
    its ticks (by the start's UTC offset). Raises ValueError saying what was expected."""
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
    s0 = start_local
    offset = s0.hour * 3600 + s0.minute * 60 + s0.second + s0.microsecond / 1e6
    day = round((near + offset - value) / 86400.0)
    return value - offset + day * 86400.0


def format_duration(d: float) -> str:
    if d < 1:
        return f"{d * 1000:.0f} ms"
    if d < 60:
        return f"{d:.3f} s"
    return format_relative(d, 1.0 if d >= 600 else 0.1)
