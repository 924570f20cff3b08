"""Deep check of a session file: ``validate_file(path) -> list[str]`` of problems.

First the structure checks that opening makes (:mod:`harlab.storage.structure`: no
references to other files, declared sizes the file can hold, sane chunks, attribute
types, pyramid geometry), all of them reported; a file failing them is not read
further. Then, beyond what opening checks (required objects, valid segments), it reads
every sample, block by block with bounded memory: dtypes, finite and non-decreasing
timestamps, no infinite values (NaN is allowed: the format defines it as a missing
value), and a pyramid equal to one recomputed from the data. It never modifies the
file and never runs recovery (an unrecovered journal is reported as a problem instead).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from harlab.core.errors import HarlabError
from harlab.core.streams import MAX_TIME_S
from harlab.core.wording import counted
from harlab.storage.codec import _Reader, open_h5
from harlab.storage.pyramid import group_reduce
from harlab.storage.sample_journal import recording_journal_path
from harlab.storage.structure import structure_problems

#: Bytes of ``values`` read per block (the time and pyramid blocks are smaller).
_BLOCK_BYTES = 16 << 20


def validate_file(path: str | Path) -> list[str]:
    """Problems found in the session file at ``path``; empty when it is sound."""
    path = Path(path)
    problems: list[str] = []
    if recording_journal_path(path).exists():
        problems.append(
            f"{recording_journal_path(path)} exists: an interrupted recording was not recovered yet "
            "(opening the file with harlab recovers it)"
        )
    try:
        f = open_h5(path, check_structure=False)
    except HarlabError as exc:
        return [*problems, str(exc)]
    with f:
        structure = structure_problems(f, path.stat().st_size)
        if structure:
            return [*problems, *structure]
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
                    except (KeyError, ValueError, TypeError, OSError, RuntimeError) as exc:
                        problems.append(f"/streams/{name}: cannot be read ({str(exc).splitlines()[0]})")
    return problems


def _block_rows(n_channels: int, factor: int) -> int:
    """Rows per block: a multiple of ``factor`` holding at most about ``_BLOCK_BYTES`` of values."""
    rows = max(1, _BLOCK_BYTES // (4 * max(1, n_channels)) // factor)
    return rows * factor


def _check_stream(g: h5py.Group) -> list[str]:
    """Samples and pyramid of a stream whose structure already passed; reads block by block."""
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
    pyr = g["pyramid"]
    factor, levels = int(pyr.attrs["factor"]), int(pyr.attrs["levels"])
    block = _block_rows(n_ch, factor)
    prev_t = -np.inf
    n_inf, first_inf = 0, None
    lv1 = pyr["1"] if levels else None
    pyramid_problem: str | None = None
    for i in range(0, n, block):
        bt = t[i : i + block]
        if not np.all(np.isfinite(bt)):
            out.append(f"time[{i + int(np.flatnonzero(~np.isfinite(bt))[0])}] is not finite")
            return out
        if len(bt) and np.abs(bt).max() > MAX_TIME_S:
            j = int(np.flatnonzero(np.abs(bt) > MAX_TIME_S)[0])
            out.append(f"time[{i + j}] is {float(bt[j]):.6g} s from the start; at most {MAX_TIME_S:.3g} s")
            return out
        full = np.concatenate([[prev_t], bt])
        back = np.flatnonzero(np.diff(full) < 0)
        if len(back):
            j = i + int(back[0])
            out.append(
                f"time goes backwards at sample {j} ({full[back[0]]:.6f} s then {full[back[0] + 1]:.6f} s)"
            )
            return out
        prev_t = float(bt[-1])
        bv = v[i : i + block]
        inf = np.isinf(bv)
        if inf.any():
            n_inf += int(inf.sum())
            if first_inf is None:
                r, c = np.argwhere(inf)[0]
                first_inf = (i + int(r), int(c))
        if lv1 is not None and pyramid_problem is None:
            pyramid_problem = _compare_rows(1, lv1, i // factor, bv, bv, bt, factor)
    if first_inf is not None:
        out.append(
            f"values hold {counted(n_inf, 'infinite sample')}, the first at sample {first_inf[0]}, "
            f"channel {first_inf[1]} (a missing value is NaN; infinity is never valid)"
        )
    if pyramid_problem:
        return [*out, pyramid_problem]
    # Level k >= 2 is checked against the stored level k-1, already known to be right, so only
    # one block is ever in memory.
    for k in range(2, levels + 1):
        below, lv = pyr[str(k - 1)], pyr[str(k)]
        for i in range(0, below["time"].shape[0], block):
            problem = _compare_rows(
                k,
                lv,
                i // factor,
                below["lo"][i : i + block],
                below["hi"][i : i + block],
                below["time"][i : i + block],
                factor,
            )
            if problem:
                return [*out, problem]
    return out


def _compare_rows(
    k: int, lv: h5py.Group, r0: int, src_lo: np.ndarray, src_hi: np.ndarray, src_t: np.ndarray, factor: int
) -> str | None:
    """The first disagreement of the rows of pyramid level ``k`` from ``r0`` on with the block of
    the level below (level 0 = the raw samples) that they summarise, or None."""
    lo = group_reduce(src_lo, factor, "min")
    hi = group_reduce(src_hi, factor, "max")
    tt = src_t[::factor]
    r1 = r0 + len(lo)
    s_lo, s_hi, s_t = lv["lo"][r0:r1], lv["hi"][r0:r1], lv["time"][r0:r1]
    if not (np.array_equal(s_lo, lo, equal_nan=True) and np.array_equal(s_hi, hi, equal_nan=True)):
        bad = np.flatnonzero(
            ~((s_lo == lo) | np.isnan(lo)).all(axis=1) | ~((s_hi == hi) | np.isnan(hi)).all(axis=1)
        )
        return f"pyramid level {k} disagrees with the data (first at row {r0 + int(bad[0]) if len(bad) else '?'})"
    if not np.array_equal(s_t, tt):
        return f"pyramid level {k} bin start times disagree with time"
    return None
