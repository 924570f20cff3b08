"""Snap times to sample timestamps (edge drags, nudges). Qt-free, so it is tested directly.

Streams keep their own clocks (never resampled), so "one sample" means the neighbouring
timestamp of the stream the user is looking at, not a fixed period.
"""

from __future__ import annotations

import numpy as np

from harlab.core.streams import Stream


def _times_near(stream: Stream, t: np.ndarray) -> np.ndarray:
    lo, hi = float(np.min(t)), float(np.max(t))
    t0, t1 = stream.time_bounds()
    if not stream.n_samples:
        return np.zeros(0)
    period = 1.0 / stream.rate_hz if stream.rate_hz else max((t1 - t0) / max(stream.n_samples, 1), 1e-6)
    w = 4 * period
    while True:  # widen until a sample on each side (or the end of the data) is inside
        times, _ = stream.read(lo - w, hi + w)
        left_ok = lo - w <= t0 or (len(times) and times[0] <= lo)
        right_ok = hi + w >= t1 or (len(times) and times[-1] >= hi)
        if left_ok and right_ok:
            break
        w *= 8
    if hi + w >= t1:  # read() is half-open: make sure the last sample is included
        last, _ = stream.read(t1, None)
        times = np.union1d(times, last)
    return np.asarray(times, float)


def snap_to_samples(t: float | np.ndarray, times: Stream | np.ndarray) -> float | np.ndarray:
    """The sample timestamp nearest to ``t`` (scalar or array), clamped to the data's ends.

    ``times`` is a sorted timestamp array or a :class:`Stream`; for a stream only the samples
    around ``t`` are read, so this is cheap on a 24 h file. With no samples ``t`` is returned.
    """
    arr = np.atleast_1d(np.asarray(t, float))
    ts = _times_near(times, arr) if isinstance(times, Stream) else np.asarray(times, float)
    if len(ts) == 0:
        return t if np.ndim(t) else float(t)
    i = np.clip(np.searchsorted(ts, arr), 1, max(len(ts) - 1, 1))
    left, right = ts[i - 1], ts[np.minimum(i, len(ts) - 1)]
    out = np.where(np.abs(arr - left) <= np.abs(right - arr), left, right)
    return out if np.ndim(t) else float(out[0])


def step_samples(t: float, times: Stream | np.ndarray, n: int) -> float:
    """The timestamp ``n`` samples after (n > 0) or before (n < 0) the sample nearest ``t``,
    clamped to the data (for nudging an edge or the cursor by whole samples)."""
    if isinstance(times, Stream):
        if not times.n_samples:
            return t
        period = 1.0 / times.rate_hz if times.rate_hz else 1.0
        w = (abs(n) + 4) * period
        while True:
            ts, _ = times.read(t - w, t + w)
            t0, t1 = times.time_bounds()
            if t + w >= t1:
                ts = np.union1d(ts, times.read(t1, None)[0])
            i = int(np.searchsorted(ts, t))
            enough_left = n >= 0 or t - w <= t0 or i + n >= 1
            enough_right = n <= 0 or t + w >= t1 or i + n < len(ts) - 1
            if enough_left and enough_right and len(ts):
                break
            w *= 8
    else:
        ts = np.asarray(times, float)
    if len(ts) == 0:
        return t
    j = int(np.searchsorted(ts, snap_to_samples(t, ts)))
    return float(ts[int(np.clip(j + n, 0, len(ts) - 1))])
