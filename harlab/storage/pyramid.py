"""Writing stream groups: raw samples plus a min/max pyramid kept current on every append.

A stream group holds ``time`` (N,) float64, ``values`` (N, C) float32 and ``flags`` (N,)
uint8, all chunked, compressed and resizable, and ``pyramid/<k>/{time,lo,hi}`` where
level ``k`` has one row per ``PYRAMID_FACTOR**k`` raw samples (row ``j`` summarises
samples ``j*S .. (j+1)*S - 1``; the last row may be partial).

Appending is incremental: only the last, partial row of each level is recomputed,
from the rows of the level below that it covers, so appending a second to a 24-hour
recording touches a handful of rows, never the whole pyramid.
"""

from __future__ import annotations

import h5py
import numpy as np

from harlab.core.errors import SessionError
from harlab.core.streams import check_samples
from harlab.storage.layout import COMPRESSION, PYRAMID_FACTOR, PYRAMID_TOP, chunk_rows


def group_reduce(arr: np.ndarray, factor: int, how: str) -> np.ndarray:
    """Per-column min (``how="min"``) or max over consecutive blocks of ``factor`` rows.

    NaNs are ignored unless a whole block is NaN (``fmin``/``fmax`` semantics); the last
    block may be shorter.
    """
    if len(arr) == 0:
        return arr[:0].copy()
    idx = np.arange(0, len(arr), factor)
    ufunc = np.fmin if how == "min" else np.fmax
    return ufunc.reduceat(arr, idx, axis=0)


def create_stream_group(parent: h5py.Group, name: str, n_channels: int) -> h5py.Group:
    """An empty, resizable stream group (attributes are the caller's job)."""
    g = parent.create_group(name)
    rows = chunk_rows(n_channels)
    g.create_dataset("time", shape=(0,), maxshape=(None,), dtype=np.float64, chunks=(rows,), **COMPRESSION)
    g.create_dataset(
        "values",
        shape=(0, n_channels),
        maxshape=(None, n_channels),
        dtype=np.float32,
        chunks=(rows, n_channels),
        **COMPRESSION,
    )
    g.create_dataset("flags", shape=(0,), maxshape=(None,), dtype=np.uint8, chunks=(rows,), **COMPRESSION)
    p = g.create_group("pyramid")
    p.attrs["factor"] = PYRAMID_FACTOR
    p.attrs["levels"] = 0
    return g


def _create_level(pyr: h5py.Group, k: int, n_channels: int) -> h5py.Group:
    lv = pyr.create_group(str(k))
    rows = min(8192, chunk_rows(n_channels))
    lv.create_dataset("time", shape=(0,), maxshape=(None,), dtype=np.float64, chunks=(rows,), **COMPRESSION)
    for key in ("lo", "hi"):
        lv.create_dataset(
            key,
            shape=(0, n_channels),
            maxshape=(None, n_channels),
            dtype=np.float32,
            chunks=(rows, n_channels),
            **COMPRESSION,
        )
    lv.attrs["samples_per_row"] = PYRAMID_FACTOR**k
    pyr.attrs["levels"] = k
    return lv


class StreamAppender:
    """Appends samples to one stream group and keeps its pyramid current."""

    def __init__(self, group: h5py.Group) -> None:
        self.group = group
        self.time: h5py.Dataset = group["time"]
        self.values: h5py.Dataset = group["values"]
        self.flags: h5py.Dataset = group["flags"]
        self.pyramid: h5py.Group = group["pyramid"]
        self.n_channels = int(self.values.shape[1])
        self.n = int(self.time.shape[0])
        self.last_time = float(self.time[self.n - 1]) if self.n else -np.inf

    def append(self, time: np.ndarray, values: np.ndarray, flags: np.ndarray | None = None) -> None:
        time = np.ascontiguousarray(time, dtype=np.float64)
        values = np.asarray(values, dtype=np.float32)
        if values.ndim == 1 and self.n_channels == 1:
            values = values[:, None]
        values = np.ascontiguousarray(values)
        what = f"stream {self.group.name.rsplit('/', 1)[-1]!r}"
        check_samples(time, values, what)
        if values.shape[1] != self.n_channels:
            raise SessionError(
                f"{what}: {values.shape[1]} channels appended to a {self.n_channels}-channel stream"
            )
        if len(time) == 0:
            return
        if time[0] < self.last_time:
            raise SessionError(
                f"{what}: timestamps go backwards at sample {self.n} "
                f"({self.last_time:.6f} s then {time[0]:.6f} s)"
            )
        fl = np.zeros(len(time), np.uint8) if flags is None else np.ascontiguousarray(flags, dtype=np.uint8)
        if fl.shape != time.shape:
            raise SessionError(f"{what}: flags shape {fl.shape} does not match {time.shape}")
        n0, m = self.n, len(time)
        for ds, block in ((self.time, time), (self.values, values), (self.flags, fl)):
            ds.resize(n0 + m, axis=0)
            ds[n0:] = block
        self.n = n0 + m
        self.last_time = float(time[-1])
        self._update_pyramid(n0, time, values)

    def _update_pyramid(self, src_old: int, t_new: np.ndarray, v_new: np.ndarray) -> None:
        """Recompute rows of each level from the first row the new samples touch.

        ``src_old`` rows of the level below are unchanged and on disk; the rows from
        ``src_old`` on are in memory (``lo_new``/``hi_new``/``t_new``).
        """
        f = PYRAMID_FACTOR
        lo_new = hi_new = v_new
        src_lo: h5py.Dataset = self.values
        src_hi: h5py.Dataset = self.values
        src_t: h5py.Dataset = self.time
        k = 1
        while True:
            src_total = src_old + len(lo_new)
            key = str(k)
            if key in self.pyramid:
                lv = self.pyramid[key]
                s0 = (src_old // f) * f
            else:
                if src_total <= PYRAMID_TOP:
                    return
                lv = _create_level(self.pyramid, k, self.n_channels)
                s0 = 0
            if s0 < src_old:  # the partial row: re-read the rows of the level below it covers
                blk_lo = np.concatenate([src_lo[s0:src_old], lo_new])
                blk_hi = np.concatenate([src_hi[s0:src_old], hi_new]) if src_hi is not src_lo else blk_lo
                blk_t = np.concatenate([src_t[s0:src_old], t_new])
            else:
                blk_lo, blk_hi, blk_t = lo_new, hi_new, t_new
            out_lo = group_reduce(blk_lo, f, "min")
            out_hi = group_reduce(blk_hi, f, "max")
            out_t = np.ascontiguousarray(blk_t[::f])
            r = s0 // f
            for name, block in (("time", out_t), ("lo", out_lo), ("hi", out_hi)):
                ds = lv[name]
                ds.resize(r + len(block), axis=0)
                ds[r:] = block
            src_old, lo_new, hi_new, t_new = r, out_lo, out_hi, out_t
            src_lo, src_hi, src_t = lv["lo"], lv["hi"], lv["time"]
            k += 1
