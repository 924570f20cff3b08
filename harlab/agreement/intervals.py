"""Several label tracks of one session on one time axis: elementary intervals and rasters.

Agreement and consensus both need, at every instant, the label each annotator gave. Between two
consecutive instants where any track starts or ends a segment nothing changes, so the session
splits into *elementary intervals* (the union of every track's boundaries) and on each interval
every track holds one label or none. That is exact and small (a few times the number of
segments), whatever the sampling rate: consensus works on it directly, and the agreement
statistics, which count *units*, get theirs by rasterising it on a regular grid (one unit per grid
point, "per sample") or per window (the label covering most of the window).

Labels are coded as integers into a shared class list; ``MISSING`` (-1) is "no label here".
Zero-length segments (events) cover no time and are left out. A track whose segments overlap
(an ``overlapping`` track that uses it) has two labels at once: agreement on it is not defined,
and it is refused, naming the track and the time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harlab.core.errors import HarlabError
from harlab.core.labels import LabelTrack

#: The code of "no label at this time" (a missing value for the statistics).
MISSING = -1
#: Most grid units one rasterisation makes (a week at 1 s is 604,800): a bound on memory for the
#: statistics, which hold a few numbers per unit and class.
MAX_UNITS = 20_000_000


class AgreementError(HarlabError):
    """Agreement or consensus cannot be computed on these tracks (and why)."""


@dataclass(frozen=True)
class Intervals:
    """Elementary intervals of several tracks: ``edges[i]..edges[i + 1]`` holds ``codes[i]``.

    ``codes`` has one row per interval and one column per track (``tracks`` order); each value is
    an index into ``classes`` or :data:`MISSING`. Intervals with no label on any track are kept,
    so the edges tile ``edges[0]..edges[-1]`` without gaps.
    """

    edges: np.ndarray  #: float64 (n + 1,), increasing
    codes: np.ndarray  #: int64 (n, k)
    classes: tuple[str, ...]
    tracks: tuple[str, ...]

    @property
    def durations(self) -> np.ndarray:
        return np.diff(self.edges)

    def __len__(self) -> int:
        return len(self.codes)

    def label(self, code: int) -> str | None:
        return None if code == MISSING else self.classes[code]


@dataclass(frozen=True)
class Units:
    """The rasterised labels: one row per unit (grid point or window), one column per track."""

    codes: np.ndarray  #: int64 (n_units, k), MISSING where a track has no label
    classes: tuple[str, ...]
    tracks: tuple[str, ...]
    unit: str  #: "sample" or "window"
    step: float  #: grid step or window length, seconds

    def __len__(self) -> int:
        return len(self.codes)


def check_tracks(tracks: Sequence[LabelTrack]) -> None:
    """Refuse what no statistic can use: fewer than two tracks, the same track twice."""
    if len(tracks) < 2:
        raise AgreementError(f"agreement needs at least two label tracks, got {len(tracks)}")
    names = [t.name for t in tracks]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise AgreementError(f"track {dup[0]!r} is given twice")


def _track_arrays(track: LabelTrack) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Sorted starts, ends and labels of the segments with positive length; refuses overlaps."""
    segs = [s for s in track if s.end > s.start]
    starts = np.array([s.start for s in segs], float)
    ends = np.array([s.end for s in segs], float)
    if len(segs) > 1:
        reach = np.maximum.accumulate(ends)[:-1]
        bad = np.flatnonzero(starts[1:] < reach)
        if len(bad):
            j = int(bad[0]) + 1
            raise AgreementError(
                f"track {track.name!r} has overlapping segments at {starts[j]:.3f} s: "
                "agreement needs one label per instant"
            )
    return starts, ends, [s.label for s in segs]


def elementary_intervals(
    tracks: Sequence[LabelTrack], t0: float | None = None, t1: float | None = None
) -> Intervals:
    """The intervals between consecutive boundaries of any of ``tracks``, with each track's label.

    ``t0``/``t1`` clip the span (default: from the first segment start to the last end of any
    track). Classes are listed in order of first appearance over the tracks, which keeps codes
    stable for the same tracks.
    """
    arrays = [_track_arrays(t) for t in tracks]
    classes: dict[str, int] = {}
    for _, _, labels in arrays:
        for lab in labels:
            classes.setdefault(lab, len(classes))
    bounds = [a for s, e, _ in arrays for a in (s, e)]
    allb = np.unique(np.concatenate(bounds)) if bounds else np.zeros(0)
    lo = float(allb[0]) if t0 is None and len(allb) else float(t0 or 0.0)
    hi = float(allb[-1]) if t1 is None and len(allb) else float(t1 if t1 is not None else lo)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise AgreementError(f"the time span {lo}..{hi} is not finite")
    edges = np.unique(np.concatenate([[lo, hi], allb[(allb > lo) & (allb < hi)]]))
    if hi <= lo:
        edges = np.zeros(1) + lo
    n = max(len(edges) - 1, 0)
    codes = np.full((n, len(tracks)), MISSING, np.int64)
    if n:
        mids = (edges[:-1] + edges[1:]) / 2
        for k, (starts, ends, labels) in enumerate(arrays):
            if not len(starts):
                continue
            i = np.searchsorted(starts, mids, side="right") - 1
            ok = i >= 0
            ok[ok] = ends[i[ok]] > mids[ok]
            coded = np.array([classes[x] for x in labels], np.int64)
            codes[ok, k] = coded[i[ok]]
    return Intervals(edges, codes, tuple(classes), tuple(t.name for t in tracks))


def _check_step(step: float, span: float, what: str) -> int:
    if not (np.isfinite(step) and step > 0):
        raise AgreementError(f"the {what} must be a positive number of seconds, got {step}")
    n = int(np.ceil(span / step - 1e-9)) if span > 0 else 0
    if n > MAX_UNITS:
        raise AgreementError(
            f"a {what} of {step:g} s cuts {span:.0f} s into {n:,} units, more than {MAX_UNITS:,}: "
            f"use a longer {what}"
        )
    return n


def per_sample(iv: Intervals, step: float) -> Units:
    """One unit per grid point ``edges[0] + (j + 0.5) * step``: the label each track has there."""
    span = float(iv.edges[-1] - iv.edges[0]) if len(iv.edges) else 0.0
    n = _check_step(step, span, "step")
    if not n or not len(iv):
        return Units(np.zeros((0, len(iv.tracks)), np.int64), iv.classes, iv.tracks, "sample", step)
    t = iv.edges[0] + (np.arange(n) + 0.5) * step
    t = t[t < iv.edges[-1]]
    idx = np.clip(np.searchsorted(iv.edges, t, side="right") - 1, 0, len(iv) - 1)
    return Units(iv.codes[idx], iv.classes, iv.tracks, "sample", step)


def per_window(iv: Intervals, window: float) -> Units:
    """One unit per window of ``window`` seconds from ``edges[0]``: per track, the class that
    covers most of the window, or MISSING when no class covers at least half of it (a window a
    track barely touched is not that track's judgement of the window)."""
    span = float(iv.edges[-1] - iv.edges[0]) if len(iv.edges) else 0.0
    n = _check_step(window, span, "window")
    k, c = len(iv.tracks), len(iv.classes)
    if not n or not len(iv):
        return Units(np.zeros((0, k), np.int64), iv.classes, iv.tracks, "window", window)
    wedges = iv.edges[0] + np.arange(n + 1) * window
    # cut the elementary intervals at window edges, then sum covered time per window and class
    cuts = np.unique(np.concatenate([iv.edges, wedges[(wedges > iv.edges[0]) & (wedges < iv.edges[-1])]]))
    mids = (cuts[:-1] + cuts[1:]) / 2
    dur = np.diff(cuts)
    src = np.clip(np.searchsorted(iv.edges, mids, side="right") - 1, 0, len(iv) - 1)
    win = np.clip(((mids - iv.edges[0]) // window).astype(np.int64), 0, n - 1)
    out = np.full((n, k), MISSING, np.int64)
    for j in range(k):
        code = iv.codes[src, j]
        have = code != MISSING
        cover = np.zeros((n, max(c, 1)))
        np.add.at(cover, (win[have], code[have]), dur[have])
        best = cover.argmax(axis=1)
        enough = cover[np.arange(n), best] >= window / 2 - 1e-9
        out[enough, j] = best[enough]
    return Units(out, iv.classes, iv.tracks, "window", window)


def pool_units(parts: Sequence[Units]) -> Units:
    """Units of several sessions as one set, with one class list (the union, in first-seen order)."""
    if not parts:
        raise AgreementError("no units to pool")
    classes: dict[str, int] = {}
    for p in parts:
        for c in p.classes:
            classes.setdefault(c, len(classes))
    rows = []
    for p in parts:
        remap = np.array([classes[c] for c in p.classes] + [MISSING], np.int64)
        rows.append(remap[p.codes])  # MISSING (-1) indexes the last entry, itself MISSING
    first = parts[0]
    return Units(np.concatenate(rows), tuple(classes), first.tracks, first.unit, first.step)
