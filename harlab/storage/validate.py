"""Deep check of a session file: ``validate_file(path) -> list[str]`` of problems.

Beyond what opening checks (format, version, required objects, valid segments), it
reads every sample: dtypes and shapes, finite and non-decreasing timestamps, and a
pyramid equal to one recomputed from the data. It never modifies the file and never
runs recovery (an unrecovered journal is reported as a problem instead).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from harlab.core.errors import HarlabError
from harlab.storage.codec import _Reader, open_h5
from harlab.storage.journal import journal_path
from harlab.storage.layout import PYRAMID_FACTOR, PYRAMID_TOP
from harlab.storage.pyramid import group_reduce

_BLOCK = PYRAMID_FACTOR * 65536


def validate_file(path: str | Path) -> list[str]:
    """Problems found in the session file at ``path``; empty when it is sound."""
    path = Path(path)
    problems: list[str] = []
    if journal_path(path).exists():
        problems.append(f"{journal_path(path)} exists: an interrupted recording was not recovered yet "
                        "(opening the file with harlab recovers it)")
    try:
        f = open_h5(path)
    except HarlabError as exc:
        return [*problems, str(exc)]
    with f:
        try:
            _Reader(f, path).read()
        except HarlabError as exc:
            problems.append(str(exc))
        streams = f.get("streams")
        if isinstance(streams, h5py.Group):
            for name, g in streams.items():
                if isinstance(g, h5py.Group):
                    try:
                        problems += [f"/streams/{name}: {p}" for p in _check_stream(g)]
                    except (KeyError, ValueError, TypeError, OSError) as exc:
                        problems.append(f"/streams/{name}: cannot be read ({str(exc).splitlines()[0]})")
    return problems


def _check_stream(g: h5py.Group) -> list[str]:
    out: list[str] = []
    t, v, fl = g.get("time"), g.get("values"), g.get("flags")
    if not all(isinstance(x, h5py.Dataset) for x in (t, v, fl)):
        return out  # reported by the reader
    for ds, want in ((t, np.float64), (v, np.float32), (fl, np.uint8)):
        if ds.dtype != want:
            out.append(f"{ds.name.rsplit('/', 1)[-1]} has dtype {ds.dtype}, expected {np.dtype(want)}")
    if t.ndim != 1 or v.ndim != 2 or fl.shape != t.shape or v.shape[0] != t.shape[0]:
        return [*out, f"inconsistent shapes time {t.shape}, values {v.shape}, flags {fl.shape}"]
    n_ch = v.shape[1]
    for key in ("channels", "units"):
        if key in g.attrs and len(np.atleast_1d(g.attrs[key])) != n_ch:
            out.append(f"attribute {key} has {len(np.atleast_1d(g.attrs[key]))} entries for {n_ch} channels")
    n = t.shape[0]
    pyr = g.get("pyramid")
    factor = int(pyr.attrs.get("factor", PYRAMID_FACTOR)) if isinstance(pyr, h5py.Group) else PYRAMID_FACTOR
    levels = int(pyr.attrs.get("levels", 0)) if isinstance(pyr, h5py.Group) else 0
    lv1 = pyr.get("1") if levels >= 1 else None
    prev_t = -np.inf
    lo_parts, hi_parts, tt_parts = [], [], []
    for i in range(0, n, _BLOCK):
        bt = t[i:i + _BLOCK]
        if not np.all(np.isfinite(bt)):
            out.append(f"time[{i + int(np.flatnonzero(~np.isfinite(bt))[0])}] is not finite")
            return out
        full = np.concatenate([[prev_t], bt])
        back = np.flatnonzero(np.diff(full) < 0)
        if len(back):
            j = i + int(back[0])
            out.append(f"time goes backwards at sample {j} ({full[back[0]]:.6f} s then {full[back[0] + 1]:.6f} s)")
            return out
        prev_t = float(bt[-1])
        if lv1 is not None:
            bv = v[i:i + _BLOCK]
            lo_parts.append(group_reduce(bv, factor, "min"))
            hi_parts.append(group_reduce(bv, factor, "max"))
            tt_parts.append(bt[::factor])
    # expected pyramid, level by level
    if not isinstance(pyr, h5py.Group):
        return out
    expect_levels = 0
    rows = n
    while rows > PYRAMID_TOP:
        expect_levels += 1
        rows = -(-rows // factor)
    if factor == PYRAMID_FACTOR and levels != expect_levels:
        out.append(f"pyramid has {levels} levels, expected {expect_levels} for {n} samples")
    if levels == 0:
        return out
    lo = np.concatenate(lo_parts) if lo_parts else np.zeros((0, n_ch), np.float32)
    hi = np.concatenate(hi_parts) if hi_parts else np.zeros((0, n_ch), np.float32)
    tt = np.concatenate(tt_parts) if tt_parts else np.zeros(0)
    for k in range(1, levels + 1):
        lv = pyr.get(str(k))
        if not isinstance(lv, h5py.Group):
            out.append(f"pyramid level {k} is missing")
            return out
        if k > 1:
            lo, hi, tt = group_reduce(lo, factor, "min"), group_reduce(hi, factor, "max"), tt[::factor]
        s_lo, s_hi, s_t = lv["lo"][()], lv["hi"][()], lv["time"][()]
        if s_lo.shape != lo.shape or s_hi.shape != hi.shape or s_t.shape != tt.shape:
            out.append(f"pyramid level {k} has {s_lo.shape[0]} rows, expected {lo.shape[0]}")
            return out
        if not (np.array_equal(s_lo, lo, equal_nan=True) and np.array_equal(s_hi, hi, equal_nan=True)):
            bad = np.flatnonzero(~((s_lo == lo) | np.isnan(lo)).all(axis=1) | ~((s_hi == hi) | np.isnan(hi)).all(axis=1))
            out.append(f"pyramid level {k} disagrees with the data (first at row {int(bad[0]) if len(bad) else '?'})")
        if not np.array_equal(s_t, tt):
            out.append(f"pyramid level {k} bin start times disagree with time")
    return out
