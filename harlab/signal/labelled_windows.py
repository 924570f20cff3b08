"""Cutting labelled sessions into fixed-length training windows, for exports and models alike.

:func:`cut_windows` turns sessions plus one label track into a :class:`WindowSet`:
``X`` (N x T x C float32), one class per window, and where each window came from.
The rules, which ``docs/EXPORT.md`` states for users (problems raise
:class:`~harlab.core.errors.WindowingError`; the exporters report it as an export error):

* Only labelled time is used. The track's segments are merged into *labelled spans*
  (touching segments join); every window lies inside one span, and every sample of a
  window carries exactly one class (samples covered by two classes of an overlapping
  track count as unlabelled).
* Samples are put on a uniform grid at ``rate_hz`` per gap-free run of the first chosen
  stream (see :mod:`harlab.signal.resampling`: no resampling happens when the grid is the
  stream's own clock; downsampling is anti-aliased). The grid starts at the first sample
  of the run inside the span.
* A window never spans a gap of more than 1.5 sample periods in any source stream:
  the grid is split there and windows are cut from each gap-free piece separately,
  starting at the piece's first sample and advancing by the stride; a window that does
  not fit before the gap is dropped.
* ``label_policy``: ``majority`` gives the class held by the most samples (a tie goes
  to the tied class that occurs first in the window); ``centre`` the class of sample
  ``T // 2``; ``pure`` keeps only windows whose samples all share one class.
* A window touching a span of the session's stored non-wear track
  (:mod:`harlab.core.quality_tracks`, found by :mod:`harlab.signal.nonwear`) is dropped and
  counted in ``dropped["nonwear"]``: a device on a table says nothing about the label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harlab.core.classnames import class_key, spelling_map
from harlab.core.errors import WindowingError
from harlab.core.events import ProgressCallback
from harlab.core.files import session_names
from harlab.core.labels import LabelTrack
from harlab.core.quality_tracks import nonwear_spans
from harlab.core.session import Session
from harlab.core.wording import counted
from harlab.signal.resampling import ResampleInfo, nominal_period, resample_onto
from harlab.signal.windowing import rounded_seconds, run_grid, uniform_pieces, whole_samples, window_index

POLICIES = ("majority", "centre", "pure")
_AMBIGUOUS_SEP = "\x00"


def normalise_policy(policy: str) -> str:
    p = policy.strip().lower()
    if p == "center":
        p = "centre"
    if p not in POLICIES:
        raise WindowingError(f"unknown label policy {policy!r}; one of: {', '.join(POLICIES)}")
    return p


@dataclass
class WindowSet:
    """Training windows and everything needed to trace each back to its recording.

    ``y`` indexes ``classes``; ``labels`` gives the names. ``session`` holds session
    ids; ``sessions`` one dict per source session (id, name, participant, start, counts).
    """

    X: np.ndarray  #: (N, T, C) float32
    y: np.ndarray  #: (N,) int64 indices into ``classes``
    classes: list[str]
    participant: np.ndarray  #: (N,) str
    session: np.ndarray  #: (N,) str session ids
    session_index: np.ndarray  #: (N,) int64 index into ``sessions``
    start_s: np.ndarray  #: (N,) float64 window start, seconds from its session's start
    channels: list[str]  #: "stream.channel"
    units: list[str]
    rate_hz: float
    window_s: float
    stride_s: float
    label_policy: str
    track: str
    sessions: list[dict[str, Any]] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    resampling: dict[str, Any] = field(default_factory=dict)
    video: str | None = None  #: the video whose times ``video_start_s``/``video_end_s`` are in
    video_start_s: np.ndarray | None = None  #: (N,) float64 window start in the video's clock
    video_end_s: np.ndarray | None = None  #: (N,) float64 window end in the video's clock

    def __len__(self) -> int:
        return len(self.y)

    @property
    def samples_per_window(self) -> int:
        return int(self.X.shape[1])

    @property
    def labels(self) -> np.ndarray:
        """Class name of each window."""
        return np.asarray(self.classes, dtype=str)[self.y] if len(self.y) else np.zeros(0, dtype=str)

    def class_counts(self) -> dict[str, int]:
        counts = (
            np.bincount(self.y, minlength=len(self.classes))
            if len(self.y)
            else np.zeros(len(self.classes), int)
        )
        return {c: int(n) for c, n in zip(self.classes, counts, strict=True)}


# -- channel selection ----------------------------------------------------------------------


def resolve_channels(
    session: Session, channels: Sequence[str] | None, what: str
) -> list[tuple[str, list[int]]]:
    """(stream name, channel indices) for each chosen stream, in the order asked.

    ``channels`` entries are stream names (all their channels) or ``stream.channel``.
    ``None`` chooses every stream with a nominal rate, in the session's order.
    """
    if channels is None:
        chosen = [(name, list(range(len(s.channels)))) for name, s in session.streams.items() if s.rate_hz]
        if not chosen:
            raise WindowingError(f"{what} has no stream with a nominal rate; name the streams to use")
        return chosen
    out: list[tuple[str, list[int]]] = []
    for entry in channels:
        if entry in session.streams:
            name, idx = entry, list(range(len(session.streams[entry].channels)))
        else:
            name, _, ch = entry.rpartition(".")
            stream = session.streams.get(name)
            if stream is None or ch not in stream.channels:
                avail = ", ".join(
                    [n for n in session.streams]
                    + [f"{n}.{c}" for n, s in session.streams.items() for c in s.channels]
                )
                raise WindowingError(f"{what} has no stream or channel {entry!r} (available: {avail})")
            idx = [stream.channels.index(ch)]
        for prev_name, prev_idx in out:
            if prev_name == name:
                prev_idx.extend(i for i in idx if i not in prev_idx)
                break
        else:
            out.append((name, idx))
    return out


def _describe(session: Session, chosen: list[tuple[str, list[int]]]) -> tuple[list[str], list[str]]:
    names, units = [], []
    for sname, idx in chosen:
        s = session.streams[sname]
        names += [f"{sname}.{s.channels[i]}" for i in idx]
        units += [s.units[i] for i in idx]
    return names, units


def _rates_listed(rates: dict[str, float | None]) -> str:
    """``"10 Hz: 28 streams (Walking_1:accelerometer, ...); 50 Hz: acc_exp01:accelerometer"``: each
    rate once with its streams, so the ones that differ are named whatever the order."""
    by_rate: dict[str, list[str]] = {}
    for k, v in rates.items():
        by_rate.setdefault(f"{float(v or 0):g} Hz", []).append(k)
    parts = []
    for rate, names in by_rate.items():
        shown = ", ".join(names[:2]) + (", ..." if len(names) > 2 else "")
        parts.append(
            f"{rate}: {shown}" if len(names) == 1 else f"{rate}: {counted(len(names), 'stream')} ({shown})"
        )
    return "; ".join(parts)


def _common_rate(
    sessions: Sequence[Session], chosen: list[list[tuple[str, list[int]]]], names: list[str]
) -> float:
    rates: dict[str, float | None] = {}
    for s, ch, nm in zip(sessions, chosen, names, strict=True):
        for sname, _ in ch:
            rates[f"{nm}:{sname}"] = s.streams[sname].rate_hz
    missing = [k for k, r in rates.items() if not r]
    if missing:
        raise WindowingError(
            f"stream {missing[0]} has no nominal rate; choose the window rate with --rate HZ"
        )
    values = [float(r) for r in rates.values() if r]
    if max(values) > min(values) * 1.005:
        raise WindowingError(
            f"the chosen streams have different rates ({_rates_listed(rates)}); choose one with --rate HZ"
        )
    return values[0]


def labelled_spans(track: Any) -> list[tuple[float, float]]:
    """Union of the track's positive-length segments as sorted (start, end) spans."""
    starts, ends, _ = track.arrays()
    keep = ends > starts
    spans: list[tuple[float, float]] = []
    for s, e in zip(starts[keep], ends[keep], strict=True):
        if spans and s <= spans[-1][1] + 1e-9:
            if e > spans[-1][1]:
                spans[-1] = (spans[-1][0], float(e))
        else:
            spans.append((float(s), float(e)))
    return spans


def _window_classes(
    codes: np.ndarray, policy: str, n_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For windows of label codes (Nw x T; -1 unlabelled): (class code, ok, impure)."""
    nw, t = codes.shape
    unlabelled = (codes < 0).any(axis=1)
    pure = (codes == codes[:, :1]).all(axis=1)
    if policy == "pure":
        cls = codes[:, 0].copy()
        impure = ~pure & ~unlabelled
        return cls, pure & ~unlabelled, impure
    if policy == "centre":
        cls = codes[:, t // 2].copy()
    else:
        counts = np.zeros((nw, n_classes), dtype=np.int64)
        first = np.full((nw, n_classes), t, dtype=np.int64)
        for k in range(n_classes):
            hit = codes == k
            counts[:, k] = hit.sum(axis=1)
            anyhit = hit.any(axis=1)
            first[anyhit, k] = hit[anyhit].argmax(axis=1)
        cls = (counts * (t + 1) - first).argmax(axis=1)
    return cls, np.logical_not(unlabelled), np.zeros(nw, dtype=bool)


# -- the cutter ---------------------------------------------------------------------------------


def cut_windows(
    sessions: Sequence[Session],
    track: str,
    window_s: float,
    stride_s: float | None = None,
    rate_hz: float | None = None,
    channels: Sequence[str] | None = None,
    label_policy: str = "majority",
    *,
    classes: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
    round_to_samples: bool = False,
) -> WindowSet:
    """Cut ``sessions`` into labelled windows of ``window_s`` seconds every ``stride_s`` (default: window_s).

    ``channels``: stream names and/or ``stream.channel`` entries (default: every stream
    with a nominal rate, which must then be the same in every session). ``rate_hz``
    (default: the streams' common nominal rate) is the rate of the windows.
    ``classes`` fixes the class list (``y`` indexes it; windows of other classes are
    dropped); by default it is every class found, in schema order. Class names are
    matched by :func:`harlab.core.classnames.class_key` (``Walking`` == ``WALKING``), and
    each class is named as in ``classes`` or else as the first schema spells it.
    ``round_to_samples``: window and stride become the nearest whole number of samples
    (the returned ``window_s`` / ``stride_s`` say what was used) instead of being refused.
    Streams are read lazily, one labelled span at a time.
    """
    if not sessions:
        raise WindowingError("no sessions to cut into windows")
    if not (window_s and window_s > 0 and np.isfinite(window_s)):
        raise WindowingError(f"window length must be a positive number of seconds, got {window_s}")
    stride_s = window_s if stride_s is None else stride_s
    if not (stride_s > 0 and np.isfinite(stride_s)):
        raise WindowingError(f"stride must be a positive number of seconds, got {stride_s}")
    if rate_hz is not None and not (rate_hz > 0 and np.isfinite(rate_hz)):
        raise WindowingError(f"rate must be a positive number of Hz, got {rate_hz}")
    policy = normalise_policy(label_policy)
    snames = session_names(sessions, names)
    if not any(track in s.label_tracks for s in sessions):
        have = sorted({t for s in sessions for t in s.label_tracks})
        raise WindowingError(f"no session has a label track {track!r} (tracks: {', '.join(have) or 'none'})")

    chosen = [resolve_channels(s, channels, f"session {n}") for s, n in zip(sessions, snames, strict=True)]
    ch_names, units = _describe(sessions[0], chosen[0])
    for s, ch, n in zip(sessions[1:], chosen[1:], snames[1:], strict=True):
        other_names, other_units = _describe(s, ch)
        if other_names != ch_names:
            raise WindowingError(f"session {n} has channels {other_names}, but {snames[0]} has {ch_names}")
        if other_units != units:
            raise WindowingError(
                f"session {n} has units {other_units}, but {snames[0]} has {units} for {ch_names}"
            )
    rate = float(rate_hz) if rate_hz is not None else _common_rate(sessions, chosen, snames)
    T = whole_samples(window_s, rate, "window", round_to_samples)
    S = whole_samples(stride_s, rate, "stride", round_to_samples)
    if round_to_samples:
        window_s, stride_s = rounded_seconds(window_s, T, rate), rounded_seconds(stride_s, S, rate)
    fixed = list(classes) if classes is not None else None
    if fixed is not None and len({class_key(c) for c in fixed}) != len(fixed):
        raise WindowingError(f"class list has duplicates: {fixed}")
    fixed_keys = [class_key(c) for c in fixed] if fixed is not None else []

    xs: list[np.ndarray] = []
    names_per_win: list[np.ndarray] = []
    starts_all: list[np.ndarray] = []
    sess_idx: list[np.ndarray] = []
    dropped = {"unlabelled_or_ambiguous": 0, "impure": 0, "other_class": 0, "nonwear": 0}
    infos: dict[str, ResampleInfo] = {}
    sess_meta: list[dict[str, Any]] = []
    margin = 64.0 / rate

    spans_per = [labelled_spans(s.label_tracks[track]) if track in s.label_tracks else [] for s in sessions]
    total = sum(sum(e - s for s, e in sp) for sp in spans_per) or 1.0
    done = 0.0
    for si, (session, ch, sname, spans) in enumerate(zip(sessions, chosen, snames, spans_per, strict=True)):
        md = session.metadata
        n_before = sum(len(a) for a in names_per_win)
        nonwear = nonwear_spans(session.quality_tracks)  # windows touching it are never trained on
        for span in spans:
            if progress is not None:
                progress(min(1.0, done / total), f"{sname}: {span[0]:.1f}-{span[1]:.1f} s")
            done += span[1] - span[0]
            lo, hi = span[0] - margin, span[1] + margin
            first = session.streams[ch[0][0]]
            t0, v0 = first.read(lo, hi)
            fin = np.isfinite(v0[:, ch[0][1]]).all(axis=1)
            t_first = t0[fin]
            grid = run_grid(t_first, nominal_period(t_first, first.rate_hz), rate, span)
            if len(grid) < T:
                continue
            cols = []
            for sname_s, idx in ch:
                stream = session.streams[sname_s]
                if stream is first:
                    t, v = t0, v0
                else:
                    t, v = stream.read(lo, hi)
                info = infos.setdefault(sname_s, ResampleInfo())
                cols.append(resample_onto(t, v[:, idx], grid, rate, rate_hz=stream.rate_hz, info=info))
            values = np.concatenate(cols, axis=1)
            valid = np.isfinite(values).all(axis=1)
            lab = labels_at(session.label_tracks[track], grid, sep=_AMBIGUOUS_SEP, tol=1e-4 / rate)
            uniq = [u for u in dict.fromkeys(lab.tolist()) if u and _AMBIGUOUS_SEP not in u]
            if not uniq:
                continue
            code_of = {u: k for k, u in enumerate(uniq)}
            codes = np.fromiter((code_of.get(x, -1) for x in lab), dtype=np.int64, count=len(lab))
            for a, b in uniform_pieces(valid, grid, rate):
                if b - a < T:
                    continue
                win = window_index(a, b, T, S)
                starts = win[:, 0]
                cls, ok, impure = _window_classes(codes[win], policy, len(uniq))
                dropped["unlabelled_or_ambiguous"] += int((codes[win] < 0).any(axis=1).sum())
                dropped["impure"] += int(impure.sum())
                win_names = np.asarray(uniq + [""], dtype=object)[np.where(ok, cls, len(uniq))]
                if fixed is not None:
                    keys = np.asarray([class_key(u) for u in uniq] + [""], dtype=object)
                    other = ok & ~np.isin(keys[np.where(ok, cls, len(uniq))], fixed_keys)
                    dropped["other_class"] += int(other.sum())
                    ok &= ~other
                if nonwear is not None and len(nonwear):
                    off = nonwear.covers(grid[win[:, 0]]) | nonwear.covers(grid[win[:, -1]])
                    off |= np.searchsorted(nonwear.start, grid[win[:, 0]], side="right") != np.searchsorted(
                        nonwear.start, grid[win[:, -1]], side="right"
                    )
                    dropped["nonwear"] += int((ok & off).sum())
                    ok &= ~off
                if not ok.any():
                    continue
                xs.append(values[win[ok]])
                names_per_win.append(win_names[ok])
                starts_all.append(grid[starts[ok]])
                sess_idx.append(np.full(int(ok.sum()), si, dtype=np.int64))
        n_here = sum(len(a) for a in names_per_win) - n_before
        sess_meta.append(
            {
                "name": sname,
                "session_id": md.session_id,
                "participant": md.participant_id,
                "start_utc": md.start_utc.isoformat() if md.start_utc else None,
                "timezone": md.timezone,
                "has_track": track in session.label_tracks,
                "labelled_s": float(sum(e - s for s, e in spans)),
                "n_windows": n_here,
                "sources": [src.path for src in md.provenance.sources],
            }
        )
    if progress is not None:
        progress(1.0, "windows cut")

    all_names = np.concatenate(names_per_win) if names_per_win else np.zeros(0, dtype=object)
    if fixed is not None:
        class_list = fixed
    else:
        found = spelling_map(sorted(set(all_names.tolist())))
        spelling = spelling_map(c for s in sessions for c in s.schema.names if class_key(c) in found)
        class_list = list(spelling.values()) + sorted(n for k, n in found.items() if k not in spelling)
    lookup = {class_key(c): i for i, c in enumerate(class_list)}
    y = np.fromiter((lookup[class_key(n)] for n in all_names), dtype=np.int64, count=len(all_names))
    X = (
        np.concatenate(xs).astype(np.float32, copy=False)
        if xs
        else np.zeros((0, T, len(ch_names)), np.float32)
    )
    si_arr = np.concatenate(sess_idx) if sess_idx else np.zeros(0, np.int64)
    ids = np.asarray([s.metadata.session_id for s in sessions], dtype=str)
    parts = np.asarray([s.metadata.participant_id for s in sessions], dtype=str)
    resampling = {
        "method": "per gap-free run: zero-phase 8th-order Butterworth low-pass at 0.4 x rate when the run "
        "is faster than the rate, then linear interpolation onto the grid",
        "streams": {
            k: {
                "nominal_rate_hz": sessions[0].streams[k].rate_hz,
                "runs": v.runs,
                "anti_aliased_runs": v.filtered_runs,
                "max_run_rate_hz": round(v.max_run_rate_hz, 6),
            }
            for k, v in infos.items()
        },
    }
    return WindowSet(
        X=X,
        y=y,
        classes=class_list,
        participant=parts[si_arr] if len(si_arr) else np.zeros(0, dtype=str),
        session=ids[si_arr] if len(si_arr) else np.zeros(0, dtype=str),
        session_index=si_arr,
        start_s=np.concatenate(starts_all) if starts_all else np.zeros(0),
        channels=ch_names,
        units=units,
        rate_hz=rate,
        window_s=float(window_s),
        stride_s=float(stride_s),
        label_policy=policy,
        track=track,
        sessions=sess_meta,
        dropped=dropped,
        resampling=resampling,
    )


def labels_at(track: LabelTrack, times: np.ndarray, sep: str = "|", tol: float = 0.0) -> np.ndarray:
    """The class of ``track`` at each of ``times`` (sorted), "" where unlabelled.

    A sample at time t belongs to a segment when ``start <= t < end`` (half-open, so
    touching segments never both claim their shared boundary). Zero-length events
    label no sample. Where segments of an overlapping track cover the same sample,
    their classes are joined with ``sep`` in start order. ``tol`` moves both boundaries
    that much earlier, so a computed grid time a rounding error short of a boundary
    (0.7999999999999999 for 0.8) counts as on it.
    """
    times = np.asarray(times, dtype=np.float64)
    out = np.full(len(times), "", dtype=object)
    if not len(times) or not len(track):
        return out
    for seg in track.in_range(float(times[0]) - tol, float(times[-1]) + tol):
        if seg.end <= seg.start:
            continue
        i0 = int(np.searchsorted(times, seg.start - tol, side="left"))
        i1 = int(np.searchsorted(times, seg.end - tol, side="left"))
        if i1 <= i0:
            continue
        cur = out[i0:i1]
        empty = cur == ""
        if empty.all():
            out[i0:i1] = seg.label
        else:
            out[i0:i1] = np.where(empty, seg.label, cur + sep + seg.label)
    return out
