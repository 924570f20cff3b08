"""Aligning device clocks to the host clock.

Notifications arrive in bursts, one per connection interval, so a packet's
arrival time is not its samples' time. Latency is never negative, so the lower
envelope of ``arrival - device_time`` is the clock offset; a line fitted to the
per-bin minima follows a drifting device clock. Devices with timestamps use their
own; devices without use ``sample index / nominal rate`` as device time.

The estimate improves as lower arrivals come in, so the offset steps down now
and then; applied as is, a later batch could start before the previous one
ended. Decreases are therefore slewed (at most ``max_slew`` seconds per second of
device time), which keeps every stream's timestamps strictly increasing.
"""

from __future__ import annotations

import numpy as np


class ClockAligner:
    def __init__(
        self,
        bin_s: float = 2.0,
        bins: int = 60,
        max_slew: float = 0.002,
        max_drift: float = 1e-3,
        min_fit_span_s: float = 10.0,
    ) -> None:
        self.bin_s = bin_s
        self.max_drift = max_drift
        self.min_fit_span_s = min_fit_span_s
        self.max_slew = max_slew
        self._last: tuple[float, float] | None = None  # (device_t, applied offset) of the last mapping
        self.max_bins = bins
        self._minima: dict[int, tuple[float, float]] = {}  # bin -> (device_t, min offset)
        self._fit: tuple[float, float] | None = None  # slope, intercept of offset(device_t)
        self.offset: float | None = None

    def update(self, device_t: float, arrival: float) -> None:
        """Record that a sample stamped ``device_t`` had arrived by ``arrival`` (both s)."""
        d = arrival - device_t
        b = int(device_t // self.bin_s)
        cur = self._minima.get(b)
        if cur is None or d < cur[1]:
            self._minima[b] = (device_t, d)
            if len(self._minima) > self.max_bins:
                del self._minima[min(self._minima)]
            self._refit()

    def _refit(self) -> None:
        pts = np.array(list(self._minima.values()))
        self.offset = float(pts[:, 1].min())
        if len(pts) >= 4 and np.ptp(pts[:, 0]) >= self.min_fit_span_s:
            slope, intercept = np.polyfit(pts[:, 0], pts[:, 1], 1)
            # Crystal clocks drift by tens to hundreds of ppm; a steeper fit is latency noise.
            slope = float(np.clip(slope, -self.max_drift, self.max_drift))
            intercept = float(np.mean(pts[:, 1] - slope * pts[:, 0]))
            # The fit is through the minima; shift it down so no minimum lies below it.
            intercept -= max(0.0, float((slope * pts[:, 0] + intercept - pts[:, 1]).max()))
            self._fit = (float(slope), float(intercept))
        else:
            self._fit = None

    def _target(self, device_t: np.ndarray) -> np.ndarray:
        if self._fit is None:
            return device_t + self.offset
        slope, intercept = self._fit
        return device_t + slope * device_t + intercept

    def to_host(self, device_t: np.ndarray) -> np.ndarray:
        """Host times for a batch of increasing device times (call once per batch, in order)."""
        if self.offset is None:
            raise RuntimeError("no arrivals seen yet")
        device_t = np.asarray(device_t, float)
        target = self._target(device_t)
        want = float(target[0] - device_t[0])
        if self._last is not None:
            last_dev, last_off = self._last
            floor = last_off - self.max_slew * max(0.0, float(device_t[0]) - last_dev)
            want = max(want, floor)
        out = target + (want - float(target[0] - device_t[0]))
        self._last = (float(device_t[-1]), float(out[-1] - device_t[-1]))
        return out
