"""Lazy, HDF5-backed stream samples (:class:`harlab.core.streams.StreamData`).

``read(t0, t1)`` finds the sample range with a coarse index (the bin start times of a
pyramid level, a few thousand values cached in memory) and then reads only the chunks
of ``time``/``values`` that hold the range. ``envelope`` picks the pyramid level that
gives at least ``max_bins`` bins, reads only that slice and merges neighbouring rows,
so drawing a 24-hour overview reads a few hundred kilobytes, not the recording.

The coarse pyramid levels are also kept decoded in memory (up to ``LEVEL_CACHE_BYTES`` per
stream, coarsest first, once :meth:`H5StreamData.warm` has run, on a background thread): a zoom to a
new level or a pan far away is then a slice of an array instead of decompressing chunks,
which is what the first frame at a new zoom level of a day or a week used to wait for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import h5py
import numpy as np

from harlab.core.errors import SessionFileError
from harlab.core.streams import Envelope
from harlab.storage.layout import INDEX_TARGET
from harlab.storage.pyramid import group_reduce

#: Bytes of decoded pyramid levels one stream keeps in memory (coarsest levels first, whole
#: levels only). At 100 Hz x 3 channels a day or a week keeps levels 2 and up (1 MB, 8 MB: one
#: row per 256 samples and coarser); level 1 (a row per 16 samples, 17 MB a day) costs more to
#: decode than the reads it would save, and its rows are read from the file.
LEVEL_CACHE_BYTES = 12 << 20
#: Only levels summarising at least this many samples per row are kept: a finer level is a large
#: share of the file (level 1 is a sixteenth of the samples), and opening must read little of it.
MIN_CACHED_SAMPLES_PER_ROW = 64
#: Rows read from a level per h5py call while warming: h5py holds Python's lock during a call,
#: so a level is read a chunk or so at a time and a window painting beside it never waits long.
WARM_ROWS = 16384


class H5StreamData:
    """Samples of one stream group of an open session file, read on demand.

    The object keeps references to h5py datasets; it stays valid while the file is
    open. :class:`~harlab.storage.session_file.SessionFile` rebinds it after an atomic
    save (:meth:`rebind`), so views holding the Stream keep working.
    """

    def __init__(self, group: h5py.Group, file_path: Any = "") -> None:
        self._file_path = file_path
        self.rebind(group)

    def rebind(self, group: h5py.Group, file_path: Any = None) -> None:
        """Read from ``group`` (of ``file_path``, when given, for messages) from now on: the same
        stream's group in the file an atomic save just wrote."""
        if file_path is not None:
            self._file_path = file_path
        self.group = group
        self._time: h5py.Dataset = group["time"]
        self._values: h5py.Dataset = group["values"]
        self._flags: h5py.Dataset = group["flags"]
        pyr = group["pyramid"]
        self._factor = int(pyr.attrs["factor"])
        self._levels = [pyr[str(k)] for k in range(1, int(pyr.attrs["levels"]) + 1)]
        self._n = int(self._time.shape[0])
        self._index_cache: tuple[np.ndarray, int] | None = None
        self._bounds: tuple[float, float] | None = None
        #: level number -> decoded (time, lo, hi), filled by warm(); only levels within LEVEL_CACHE_BYTES
        self._decoded: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._cacheable = self._cacheable_levels()

    def _cacheable_levels(self) -> set[int]:
        """The levels (coarsest first) whose decoded rows fit in LEVEL_CACHE_BYTES together,
        from their declared shapes (checked against the file's size when it was opened)."""
        out: set[int] = set()
        total = 0
        for k in range(len(self._levels), 0, -1):
            if self._factor**k < MIN_CACHED_SAMPLES_PER_ROW:
                break
            lv = self._levels[k - 1]
            try:
                rows = int(lv["lo"].shape[0])
                per_row = (
                    2 * int(np.prod(lv["lo"].shape[1:])) * lv["lo"].dtype.itemsize + lv["time"].dtype.itemsize
                )
            except (KeyError, TypeError, ValueError):
                break
            total += rows * per_row
            if total > LEVEL_CACHE_BYTES:
                break
            out.add(k)
        return out

    def warm(self) -> Iterator[None]:
        """Decode every level that fits the memory budget, a slice of ``WARM_ROWS`` rows per step
        (a background thread runs the steps after opening, answering the views' requests between
        them, so the first zoom to any of these levels needs no file read and no request waits
        for more than one slice)."""
        for k in sorted(self._cacheable, reverse=True):
            if k in self._decoded:
                continue
            lv = self._levels[k - 1]
            with self._guard():
                n = min(int(lv["time"].shape[0]), int(lv["lo"].shape[0]), int(lv["hi"].shape[0]))
            parts = []
            for a in range(0, n, WARM_ROWS):
                with self._guard():
                    parts.append(tuple(lv[name][a : a + WARM_ROWS] for name in ("time", "lo", "hi")))
                yield
            if k not in self._decoded and parts:
                t, lo, hi = (np.concatenate([p[i] for p in parts]) for i in range(3))
                self._decoded[k] = (t, lo, hi)  # one assignment: readers see all of it or none

    def decoded_levels(self) -> dict[int, int]:
        """Level number -> bytes of each level held decoded in memory now (tests, benchmarks)."""
        return {k: sum(a.nbytes for a in arrays) for k, arrays in self._decoded.items()}

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn h5py/HDF5 failures (a corrupt chunk, a closed file) into a SessionFileError."""
        try:
            yield
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SessionFileError(self._file_path, f"cannot read {self.group.name}: {first}") from None

    # -- protocol -----------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        return self._n

    @property
    def n_channels(self) -> int:
        return int(self._values.shape[1])

    def time_bounds(self) -> tuple[float, float]:
        if self._n == 0:
            return (float("nan"), float("nan"))
        if self._bounds is None:
            with self._guard():
                self._bounds = (float(self._time[0]), float(self._time[self._n - 1]))
        return self._bounds

    def read(self, t0: float | None = None, t1: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        with self._guard():
            i0, i1 = self._range(t0, t1)
            t = self._time[i0:i1]
            self._check_order(t, i0)
            return t, self._values[i0:i1]

    def read_flags(self, t0: float | None = None, t1: float | None = None) -> np.ndarray:
        with self._guard():
            i0, i1 = self._range(t0, t1)
            return self._flags[i0:i1]

    def envelope(self, t0: float, t1: float, max_bins: int) -> Envelope:
        with self._guard():
            return self._envelope(t0, t1, max_bins)

    def _envelope(self, t0: float, t1: float, max_bins: int) -> Envelope:
        """Min/max bins covering [t0, t1).

        Every bin holds ``samples_per_bin`` consecutive samples (only the very last bin
        of the data may hold fewer). Bins are aligned to the pyramid, so the first bin
        may start a little before ``t0`` and the last may reach past ``t1`` (by less
        than one bin).
        """
        max_bins = max(1, int(max_bins))
        i0, i1 = self._range(t0, t1)
        n = i1 - i0
        if n <= max_bins:
            t = self._time[i0:i1]
            v = self._values[i0:i1]
            return Envelope(t, v, v, 1)
        f = self._factor
        for k in range(len(self._levels), 0, -1):
            spr = f**k
            r0, r1 = i0 // spr, -(-i1 // spr)
            if r1 - r0 >= max_bins:
                g = -(-(r1 - r0) // max_bins)
                decoded = self._decoded.get(k)  # warmed: a slice of memory, not of the file
                if decoded is not None:
                    tt, lo, hi = decoded
                    r1 = min(r0 + g * -(-(r1 - r0) // g), len(lo))  # whole bins only
                    lo, hi, tt = lo[r0:r1], hi[r0:r1], tt[r0:r1]
                else:
                    lv = self._levels[k - 1]
                    r1 = min(r0 + g * -(-(r1 - r0) // g), lv["lo"].shape[0])  # whole bins only
                    lo, hi, tt = lv["lo"][r0:r1], lv["hi"][r0:r1], lv["time"][r0:r1]
                return Envelope(
                    np.array(tt[::g]),  # a copy: never a view of a decoded level
                    group_reduce(lo, g, "min"),
                    group_reduce(hi, g, "max"),
                    spr * g,
                )
        # No level is fine enough: fewer than factor * max_bins raw samples, reduce them directly.
        g = -(-n // max_bins)
        i1 = min(i0 + g * -(-n // g), self._n)  # whole bins only
        t = self._time[i0:i1]
        v = self._values[i0:i1]
        return Envelope(np.ascontiguousarray(t[::g]), group_reduce(v, g, "min"), group_reduce(v, g, "max"), g)

    # -- index --------------------------------------------------------------------
    def coarse_index(self) -> tuple[np.ndarray, int]:
        """(bin start times, samples per bin) of the finest level with at most a few thousand
        rows; (all of ``time``, 1) for short streams."""
        if self._index_cache is None:
            chosen = None
            for k, lv in enumerate(self._levels, start=1):
                if lv["time"].shape[0] <= INDEX_TARGET:
                    chosen = (lv["time"][()], self._factor**k)
                    break
            if chosen is None:
                chosen = (self._time[()], 1)
            self._index_cache = chosen
        return self._index_cache

    def _locate(self, t: float) -> int:
        """Index of the first sample with time >= t (time is non-decreasing)."""
        coarse, step = self.coarse_index()
        k = int(np.searchsorted(coarse, t, side="left"))
        if step == 1:
            return k
        if k == 0:
            return 0
        lo = (k - 1) * step
        hi = min(k * step, self._n)
        window = self._time[lo:hi]
        return lo + int(np.searchsorted(window, t, side="left"))

    def _range(self, t0: float | None, t1: float | None) -> tuple[int, int]:
        if self._n == 0:
            return 0, 0
        i0 = 0 if t0 is None else self._locate(float(t0))
        i1 = self._n if t1 is None else self._locate(float(t1))
        return i0, max(i0, i1)

    def _check_order(self, t: np.ndarray, offset: int) -> None:
        if len(t) > 1:
            back = np.flatnonzero(np.diff(t) < 0)
            if len(back):
                i = int(back[0])
                raise SessionFileError(
                    self._file_path,
                    f"{self.group.name}/time goes backwards at sample {offset + i + 1} "
                    f"({t[i]:.6f} s then {t[i + 1]:.6f} s)",
                )

    def load(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All of time, values and flags (used by ``read_session``)."""
        with self._guard():
            t = self._time[()]
            self._check_order(t, 0)
            return t, self._values[()], self._flags[()]
