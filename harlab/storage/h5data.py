"""Lazy, HDF5-backed stream samples (:class:`harlab.core.streams.StreamData`).

``read(t0, t1)`` finds the sample range with a coarse index (the bin start times of a
pyramid level, a few thousand values cached in memory) and then reads only the chunks
of ``time``/``values`` that hold the range. ``envelope`` picks the pyramid level that
gives at least ``max_bins`` bins, reads only that slice and merges neighbouring rows,
so drawing a 24-hour overview reads a few hundred kilobytes, not the recording.
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
                lv = self._levels[k - 1]
                g = -(-(r1 - r0) // max_bins)
                r1 = min(r0 + g * -(-(r1 - r0) // g), lv["lo"].shape[0])  # whole bins only
                lo, hi, tt = lv["lo"][r0:r1], lv["hi"][r0:r1], lv["time"][r0:r1]
                return Envelope(
                    np.ascontiguousarray(tt[::g]),
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
