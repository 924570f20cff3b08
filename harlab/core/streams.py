"""Sensor streams: timestamps and multi-channel values, in memory or read lazily.

A :class:`Stream` describes one sensor (accelerometer, gyroscope, heart rate, ...)
and delegates its samples to a :class:`StreamData`. In memory that is an
:class:`ArrayStreamData`; a session opened from disk uses the storage layer's
HDF5-backed implementation, which reads only the requested time range and draws
overviews from the file's min/max pyramid. Views talk to the protocol only, so a
24-hour recording never has to fit in the GUI's memory.

Times are float64 seconds relative to the session's start (``Metadata.start_utc``),
values float32. Streams are never resampled on import: each keeps its own clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from harlab.core.errors import SessionError

# Per-sample quality flags (bit mask, uint8).
#: A stream's name, channel names, units, kind and device are at most this many characters
#: (session files are held to it on open): messages quote names whole, so a 2 MB channel name
#: taken from a hostile CSV header would be a 2 MB error, and no sensor needs more.
MAX_NAME_CHARS = 256

#: Timestamps are seconds from the session's start; none lies further than this from it (about
#: 100 years), so a clock reading 1e300 is refused instead of becoming a stream of 1e-300 Hz.
MAX_TIME_S = 3.2e9


def check_name_length(name: str, what: str) -> None:
    """Refuse a name longer than :data:`MAX_NAME_CHARS`, quoting only its start."""
    if len(name) > MAX_NAME_CHARS:
        raise SessionError(f"a {what} of {len(name)} characters ({name[:40]!r}...; at most {MAX_NAME_CHARS})")


FLAG_GAP_BEFORE = 1  #: more than 1.5 nominal periods since the previous sample
FLAG_CLIPPED = 2  #: the sensor reported its range limit
FLAG_DUPLICATE = 4  #: the source repeated this sample (kept, marked)
FLAG_SUSPECT = 8  #: importer or recorder doubts the value (e.g. NaN replaced)


@dataclass(frozen=True)
class Envelope:
    """A min/max summary of a time range, ready to draw.

    ``time`` holds the start time of each bin, ``lo``/``hi`` the per-channel
    minimum and maximum inside it. ``samples_per_bin`` is 1 when the data is raw
    (then ``lo`` equals ``hi``); larger values mean the view is summarised.
    """

    time: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    samples_per_bin: int

    @property
    def summarised(self) -> bool:
        return self.samples_per_bin > 1


def median_period(t: np.ndarray) -> float | None:
    """Median positive spacing of sorted times (in their unit), None with fewer than two distinct times.

    The one measure of a stream's sample period from its timestamps: the median ignores
    gaps and bursts, and repeated timestamps do not count as a spacing.
    """
    if len(t) < 2:
        return None
    dt = np.diff(t)
    dt = dt[dt > 0]
    return float(np.median(dt)) if len(dt) else None


@runtime_checkable
class StreamData(Protocol):
    """What views, exporters and ML need from a stream's samples."""

    @property
    def n_samples(self) -> int: ...

    @property
    def n_channels(self) -> int: ...

    def time_bounds(self) -> tuple[float, float]:
        """First and last timestamp (seconds); (nan, nan) when empty."""
        ...

    def read(self, t0: float | None = None, t1: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Timestamps (N,) float64 and values (N, C) float32 with t0 <= t < t1."""
        ...

    def read_flags(self, t0: float | None = None, t1: float | None = None) -> np.ndarray:
        """Quality flags (N,) uint8 for the same samples ``read`` returns."""
        ...

    def envelope(self, t0: float, t1: float, max_bins: int) -> Envelope:
        """At most about ``max_bins`` min/max bins covering [t0, t1)."""
        ...


def check_samples(time: np.ndarray, values: np.ndarray, what: str = "stream") -> None:
    """Raise :class:`SessionError` unless time/values are a consistent, ordered pair."""
    if time.ndim != 1:
        raise SessionError(f"{what}: timestamps must be 1-D, got shape {time.shape}")
    if values.ndim != 2:
        raise SessionError(f"{what}: values must be N x C, got shape {values.shape}")
    if len(time) != len(values):
        raise SessionError(f"{what}: {len(time)} timestamps but {len(values)} rows of values")
    if len(time) and not np.all(np.isfinite(time)):
        bad = int(np.flatnonzero(~np.isfinite(time))[0])
        raise SessionError(f"{what}: timestamp {bad} is not finite")
    if len(time) and not (abs(float(time[0])) <= MAX_TIME_S and abs(float(time[-1])) <= MAX_TIME_S):
        bad = int(np.flatnonzero(np.abs(time) > MAX_TIME_S)[0])
        raise SessionError(
            f"{what}: timestamp {bad} is {float(time[bad]):.6g} s from the start; at most {MAX_TIME_S:.3g} s"
        )
    if len(time) > 1:
        back = np.flatnonzero(np.diff(time) < 0)
        if len(back):
            i = int(back[0])
            raise SessionError(
                f"{what}: timestamps go backwards at sample {i + 1} "
                f"({time[i]:.6f} s then {time[i + 1]:.6f} s)"
            )


def minmax_bins(values: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel min and max over consecutive blocks of ``factor`` rows.

    The last, partial block is kept. NaNs are ignored where a block has other values.
    """
    n = len(values)
    if n == 0:
        return values[:0].copy(), values[:0].copy()
    full = (n // factor) * factor
    parts_lo = []
    parts_hi = []
    # the full blocks, then the last, partial one as a block of its own
    for blocks in (values[:full].reshape(full // factor, factor, values.shape[1]), values[full:][None]):
        if not blocks.size:
            continue
        if np.isnan(blocks).any():
            # fmin/fmax skip NaN as nanmin/nanmax do (they are what those call), without warning
            # of a block that is all NaN (its bin is NaN: nothing to draw)
            parts_lo.append(np.fmin.reduce(blocks, axis=1))
            parts_hi.append(np.fmax.reduce(blocks, axis=1))
        else:
            parts_lo.append(blocks.min(axis=1))
            parts_hi.append(blocks.max(axis=1))
    return np.concatenate(parts_lo), np.concatenate(parts_hi)


class ArrayStreamData:
    """Samples held in numpy arrays (imports, simulations, tests)."""

    def __init__(
        self,
        time: np.ndarray,
        values: np.ndarray,
        flags: np.ndarray | None = None,
    ) -> None:
        time = np.ascontiguousarray(time, dtype=np.float64)
        values = np.asarray(values, dtype=np.float32)
        if values.ndim == 1:
            values = values[:, None]
        values = np.ascontiguousarray(values)
        check_samples(time, values)
        if flags is None:
            flags = np.zeros(len(time), dtype=np.uint8)
        flags = np.ascontiguousarray(flags, dtype=np.uint8)
        if flags.shape != time.shape:
            raise SessionError(f"flags shape {flags.shape} does not match {time.shape}")
        self.time = time
        self.values = values
        self.flags = flags

    @property
    def n_samples(self) -> int:
        return len(self.time)

    @property
    def n_channels(self) -> int:
        return self.values.shape[1]

    def time_bounds(self) -> tuple[float, float]:
        if not len(self.time):
            return (float("nan"), float("nan"))
        return (float(self.time[0]), float(self.time[-1]))

    def _slice(self, t0: float | None, t1: float | None) -> slice:
        i0 = 0 if t0 is None else int(np.searchsorted(self.time, t0, side="left"))
        i1 = len(self.time) if t1 is None else int(np.searchsorted(self.time, t1, side="left"))
        return slice(i0, max(i0, i1))

    def read(self, t0: float | None = None, t1: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        s = self._slice(t0, t1)
        return self.time[s], self.values[s]

    def read_flags(self, t0: float | None = None, t1: float | None = None) -> np.ndarray:
        return self.flags[self._slice(t0, t1)]

    def envelope(self, t0: float, t1: float, max_bins: int) -> Envelope:
        s = self._slice(t0, t1)
        n = s.stop - s.start
        factor = max(1, -(-n // max(1, max_bins)))
        if factor == 1:
            v = self.values[s]
            return Envelope(self.time[s], v, v, 1)
        lo, hi = minmax_bins(self.values[s], factor)
        return Envelope(self.time[s][::factor], lo, hi, factor)


@dataclass
class Stream:
    """One sensor's samples and what they mean.

    ``units`` has one entry per channel (SI where known: ``m/s^2``, ``rad/s``,
    ``bpm``, ``ms``). ``rate_hz`` is the nominal rate (``None`` for irregular
    streams such as RR intervals); the timestamps are the truth.
    """

    name: str
    channels: list[str]
    units: list[str]
    data: StreamData
    rate_hz: float | None = None
    kind: str = ""  #: "accelerometer", "gyroscope", "heart_rate", "steps", ...
    device: str = ""  #: name of the device (``DeviceInfo.name``) that produced it
    attrs: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise SessionError(f"invalid stream name {self.name[:MAX_NAME_CHARS]!r}")
        for what, texts in (
            ("name", [self.name]),
            ("channel name", self.channels),
            ("unit", self.units),
            ("kind", [self.kind]),
            ("device", [self.device]),
        ):
            for text in texts:
                try:
                    check_name_length(text, what)
                except SessionError as exc:
                    raise SessionError(f"stream {self.name[:60]!r}: {exc}") from None
        if len(self.channels) != self.data.n_channels:
            raise SessionError(
                f"stream {self.name!r}: {len(self.channels)} channel names for "
                f"{self.data.n_channels} channels"
            )
        if len(self.units) != len(self.channels):
            raise SessionError(
                f"stream {self.name!r}: {len(self.units)} units for {len(self.channels)} channels"
            )

    @classmethod
    def from_arrays(
        cls,
        name: str,
        time: np.ndarray,
        values: np.ndarray,
        channels: list[str],
        units: list[str] | str,
        rate_hz: float | None = None,
        flags: np.ndarray | None = None,
        **kwargs: object,
    ) -> Stream:
        data = ArrayStreamData(time, values, flags)
        if isinstance(units, str):
            units = [units] * data.n_channels
        return cls(name, list(channels), list(units), data, rate_hz, **kwargs)  # type: ignore[arg-type]

    @property
    def n_samples(self) -> int:
        return self.data.n_samples

    def time_bounds(self) -> tuple[float, float]:
        return self.data.time_bounds()

    @property
    def duration_s(self) -> float:
        t0, t1 = self.time_bounds()
        return 0.0 if self.n_samples == 0 else t1 - t0

    def read(self, t0: float | None = None, t1: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self.data.read(t0, t1)

    def measured_rate_hz(self) -> float | None:
        """Median sample rate from the timestamps (robust to gaps)."""
        period = median_period(self.data.read()[0])
        return 1.0 / period if period else None

    def gaps(self, factor: float = 1.5) -> list[tuple[float, float]]:
        """(end of data, start of data again) for each pause longer than
        ``factor`` nominal periods; needs ``rate_hz``."""
        if not self.rate_hz:
            return []
        t, _ = self.data.read()
        if len(t) < 2:
            return []
        dt = np.diff(t)
        idx = np.flatnonzero(dt > factor / self.rate_hz)
        return [(float(t[i]), float(t[i + 1])) for i in idx]
