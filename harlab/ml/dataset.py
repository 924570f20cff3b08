"""From sessions to model inputs: labelled training windows and whole-session windows.

Training windows come from :func:`harlab.signal.labelled_windows.cut_windows` (one set of
rules for exports and models: labelled time only, anti-aliased resampling, no window
across a gap). This module adds what a model needs on top: SI units (``g`` to
``m/s^2``, ``deg/s`` to ``rad/s``), groups for subject-independent splits, the
:class:`ModelInfo` describing the inputs, and the opposite direction, cutting every
window of an unlabelled session the way the model was trained, for prediction.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from harlab.core.errors import HarlabError
from harlab.core.session import Session
from harlab.core.streams import Stream
from harlab.core.window_defaults import DEFAULT_WINDOW_S, default_stride
from harlab.ml.context import RecordingReferences, recording_reference, reference_size
from harlab.ml.modelfile import ModelInfo
from harlab.signal.labelled_windows import WindowSet, cut_windows
from harlab.signal.resampling import nominal_period, resample_onto
from harlab.signal.windowing import GridOrigin, grid_points, grid_runs, uniform_pieces, whole_samples

#: unit -> (SI unit, factor)
UNIT_TO_SI: dict[str, tuple[str, float]] = {
    "g": ("m/s^2", 9.80665),
    "mg": ("m/s^2", 9.80665e-3),
    "m/s2": ("m/s^2", 1.0),
    "m/s²": ("m/s^2", 1.0),
    "deg/s": ("rad/s", math.pi / 180.0),
    "°/s": ("rad/s", math.pi / 180.0),
    "dps": ("rad/s", math.pi / 180.0),
}


def to_si(values: np.ndarray, units: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Scale the last axis of ``values`` to SI units where a conversion is known."""
    out_units = []
    scale = np.ones(len(units), np.float32)
    for i, u in enumerate(units):
        si, f = UNIT_TO_SI.get(u, (u, 1.0))
        out_units.append(si)
        scale[i] = f
    if np.all(scale == 1.0):
        return values, out_units
    return (values * scale).astype(np.float32), out_units


@dataclass
class Dataset:
    """Windows ready for training: ``X`` in SI units, ``groups`` for subject-wise splits."""

    windows: WindowSet
    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    #: "participant", or "time block" (one participant, or participants not recorded: see time_blocks)
    group_kind: str
    info: ModelInfo
    sources: list[dict[str, Any]] = field(default_factory=list)
    #: (N, reference_size) each window's recording reference (harlab.ml.context), from all windows of its
    #: session: one float32 row per session, indexed per window
    context: RecordingReferences | None = None
    #: (N,) each window's time block of its recording (:func:`time_blocks`), the honest fallback split
    blocks: np.ndarray | None = None
    #: one line each about what was adjusted (window rounded to whole samples, ...), for the person
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def classes(self) -> list[str]:
        return self.info.classes

    def subset(self, idx: np.ndarray) -> Dataset:
        return Dataset(
            self.windows,
            self.X[idx],
            self.y[idx],
            self.groups[idx],
            self.group_kind,
            self.info,
            self.sources,
            None if self.context is None else self.context[idx],
            None if self.blocks is None else self.blocks[idx],
            list(self.notes),
        )


#: time blocks per recording: a validation fraction of 0.2 holds out one, 5-fold cross-validation tests each
N_TIME_BLOCKS = 5


def time_blocks(
    session_index: np.ndarray, start_s: np.ndarray, y: np.ndarray, n_blocks: int = N_TIME_BLOCKS
) -> np.ndarray:
    """``"time block j"`` for each window: the windows of each class in each recording are
    cut into ``n_blocks`` runs in time order, block j the j-th.

    With one participant, or classes that only some participants show, holding out whole
    people validates on classes never trained on. Holding out block j of every class of
    every recording keeps each class on both sides (a recording of several activities in
    turn would otherwise put whole bouts on one side) and no window beside its own
    neighbours, except at the block edges (one overlapping window at the default
    half-window stride). It measures other minutes of the same people, not new people:
    the split's description says so.
    """
    block = np.zeros(len(session_index), np.int64)
    for si in np.unique(session_index):
        for c in np.unique(y[session_index == si]):
            idx = np.flatnonzero((session_index == si) & (y == c))
            idx = idx[np.argsort(start_s[idx], kind="stable")]
            block[idx] = (np.arange(len(idx)) * n_blocks) // max(len(idx), 1)
    return np.asarray([f"time block {b + 1}" for b in block.tolist()], dtype=str)


def build_dataset(
    sessions: Sequence[Session],
    track: str = "activity",
    window_s: float = DEFAULT_WINDOW_S,
    stride_s: float | None = None,
    rate_hz: float | None = None,
    channels: Sequence[str] | None = None,
    label_policy: str = "majority",
    classes: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    sources: Sequence[dict[str, Any]] | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> Dataset:
    """Cut labelled windows (stride defaults to half a window) and describe them for a model.

    Window and stride become whole numbers of samples at the windows' rate (2.56 s at
    10 Hz is 26 samples, 2.6 s); ``Dataset.notes`` says so. Classes are matched with
    :func:`harlab.core.classnames.class_key` (``classes`` may spell them differently
    from the sessions). ``sources`` (one dict per session, e.g. path and sha256 of its
    file) are kept in the model's provenance beside a hash of each session's window data.
    """
    stride = default_stride(window_s) if stride_s is None else stride_s
    ws = cut_windows(
        sessions,
        track,
        window_s,
        stride,
        rate_hz,
        channels,
        label_policy,
        classes=classes,
        names=names,
        progress=progress,
        round_to_samples=True,
    )
    notes = [rounding_note(window_s, stride, ws)] if (ws.window_s, ws.stride_s) != (window_s, stride) else []
    if len(ws) == 0:
        raise HarlabError(_no_windows_message(sessions, track, ws, classes))
    X, units = to_si(ws.X, ws.units)
    participants = ws.participant.astype(str)
    blocks = time_blocks(ws.session_index, ws.start_s, ws.y)
    if len(set(participants.tolist())) >= 2 and all(participants):
        groups, kind = participants, "participant"
    else:
        groups, kind = blocks, "time block"
    kinds = []
    for ch in ws.channels:
        stream = sessions[0].streams.get(ch.rpartition(".")[0])
        kinds.append(stream.kind if stream is not None else "")
    training = []
    for i, meta in enumerate(ws.sessions):
        sel = ws.session_index == i
        digest = hashlib.sha256(np.ascontiguousarray(X[sel]).tobytes())
        digest.update(np.ascontiguousarray(ws.y[sel]).tobytes())
        entry = {
            "session_id": meta["session_id"],
            "name": meta["name"],
            "participant": meta["participant"],
            "n_windows": meta["n_windows"],
            "windows_sha256": digest.hexdigest(),
        }
        if sources is not None and i < len(sources):
            entry.update(sources[i])
        training.append(entry)
    info = ModelInfo(
        classes=list(ws.classes),
        channels=list(ws.channels),
        units=units,
        rate_hz=ws.rate_hz,
        window_s=ws.window_s,
        stride_s=ws.stride_s,
        stream_kinds=kinds,
        track=track,
        label_policy=ws.label_policy,
        training_sessions=training,
    )
    # every window of each session, labelled or not, makes its recording's reference: choosing
    # the labelled windows must not shape what the model compares them with
    table = np.full(
        (len(sessions), reference_size(info.channels, info.units, info.rate_hz)), np.nan, np.float32
    )
    for i, session in enumerate(sessions):
        if (ws.session_index == i).any():
            table[i] = recording_reference(
                session_windows(session, info).X, info.channels, info.units, info.rate_hz
            )
    context = RecordingReferences(table, ws.session_index)
    return Dataset(ws, X, ws.y.astype(np.int64), groups, kind, info, list(training), context, blocks, notes)


def rounding_note(window_s: float, stride_s: float, ws: WindowSet) -> str:
    """One line: the window and stride asked for, and the whole samples used instead."""
    rate = ws.rate_hz
    return (
        f"window {window_s:g} s and stride {stride_s:g} s are {window_s * rate:g} and {stride_s * rate:g} "
        f"samples at {rate:g} Hz: using {round(ws.window_s * rate)} and {round(ws.stride_s * rate)} "
        f"samples ({ws.window_s:g} s every {ws.stride_s:g} s)"
    )


def _no_windows_message(
    sessions: Sequence[Session], track: str, ws: WindowSet, classes: Sequence[str] | None
) -> str:
    """Why no window was cut: the classes asked for are not in the data, or too little labelled time."""
    from harlab.core.classnames import describe_unmatched, find_class

    if classes is not None:
        found: list[str] = []
        for s in sessions:
            tr = s.label_tracks.get(track)
            if tr is not None:
                found += [seg.label for seg in tr if seg.label not in found]
        if found and not any(find_class(c, found) for c in classes):
            return (
                f"none of the classes asked for is labelled in track {track!r}: "
                f"{describe_unmatched(list(classes), found)} (the sessions have: {', '.join(found)})"
            )
    return (
        f"no labelled windows of {ws.window_s:g} s in track {track!r}; "
        "label more time, or choose shorter windows"
    )


# -- whole-session windows for prediction ---------------------------------------------------------


def _find_stream(session: Session, stream_name: str, kind: str, channel: str) -> Stream:
    s = session.streams.get(stream_name)
    if s is not None and channel in s.channels:
        return s
    if kind:
        for cand in session.streams.values():
            if cand.kind == kind and channel in cand.channels:
                return cand
    avail = ", ".join(f"{n}.{c}" for n, st in session.streams.items() for c in st.channels) or "none"
    raise HarlabError(
        f"the session has no channel {stream_name}.{channel} "
        f"(or a {kind or 'matching'} stream with channel {channel!r}); available: {avail}"
    )


def _samples_on_grid(t: np.ndarray, v: np.ndarray, idx: list[int], grid: np.ndarray) -> np.ndarray | None:
    """The channels ``idx`` of samples ``(t, v)`` when their times are the grid's points, all of
    them and exactly, with finite values: what :func:`resample_onto` gives then (a grid point on a
    sample takes its value, and the grid's spacing is the rate's, so nothing is filtered), without
    interpolating. None otherwise (resample). A stream recorded at the model's rate with times
    ``t0 + k / rate`` (what simulated and most imported streams have) takes this path."""
    i = int(np.searchsorted(t, grid[0])) if len(grid) else 0  # past the samples read before the grid
    j = i + len(grid)  # and those read after it
    if j > len(t) or not np.array_equal(t[i:j], grid):
        return None
    out = _columns(v[i:j], idx)
    return out if _all_finite(out) else None


def _read_from(stream: Stream, t0: float | None) -> float | None:
    """Where to read ``stream`` for windows from ``t0``: :func:`_read_margin` before it, so every
    grid point from ``t0`` on lies between two samples read, as in the whole session (a stream
    with jittered times interpolates each point from the samples around it)."""
    return None if t0 is None else t0 - _read_margin(stream)


def _read_to(stream: Stream, t1: float | None) -> float | None:
    """Where to stop reading ``stream`` for windows in the samples before ``t1``: past it by
    :func:`_read_margin`, so a stream faster than the model is low-pass filtered over samples
    beyond the last window, as in the whole session, not up to its edge."""
    return None if t1 is None else t1 + _read_margin(stream)


def _read_margin(stream: Stream) -> float:
    """A second and two of the stream's periods: more than a sample's spacing, and more than the
    anti-alias filter's response takes to fade (:func:`harlab.signal.resampling.anti_alias`)."""
    return 1.0 + (2.0 / stream.rate_hz if stream.rate_hz else 0.0)


def _columns(v: np.ndarray, idx: list[int]) -> np.ndarray:
    """``v[:, idx]``, as a view when the channels are consecutive (an accelerometer's x, y, z)."""
    if idx == list(range(idx[0], idx[0] + len(idx))):
        return v[:, idx[0] : idx[0] + len(idx)]
    return v[:, idx]


def _all_finite(v: np.ndarray) -> bool:
    """Whether every value is finite, in one pass without a mask: a float64 sum of float32 values
    is finite exactly when they all are (it cannot overflow)."""
    if v.dtype == np.float32:
        return bool(np.isfinite(np.sum(v, dtype=np.float64)))
    return bool(np.isfinite(v).all())


@dataclass
class SessionWindows:
    X: np.ndarray  #: (N, T, C) float32, SI units
    start: np.ndarray  #: (N,) float64 seconds
    end: np.ndarray  #: (N,) float64 seconds
    pieces: list[tuple[float, float]]  #: gap-free spans that were covered
    #: the grid's gap-free runs as read (a next part of the session goes on with them)
    runs: list[GridOrigin] = field(default_factory=list)


def session_windows(
    session: Session,
    info: ModelInfo,
    stride_s: float | None = None,
    t0: float | None = None,
    t1: float | None = None,
    continues: Sequence[GridOrigin] = (),
) -> SessionWindows:
    """Every window of ``session`` the model can see, cut as in training but ignoring labels.

    The grid follows the first input stream's gap-free runs; no window spans a gap of
    any input stream. ``stride_s`` defaults to the model's training stride.

    ``t0``, ``t1``: only the windows starting at or after ``t0`` in the samples before ``t1``
    (a part of the session; the samples just around it are read too, to interpolate and filter
    from, :func:`_read_margin`); ``continues``: the previous part's ``runs``, so the grid goes on
    with the runs it saw (the part's windows are then the whole session's, to the bit).
    """
    rate = info.rate_hz
    T = info.n_time
    stride = info.stride_s if stride_s is None else stride_s
    S = whole_samples(stride, rate, "stride", rounding=True)
    kinds = info.stream_kinds or [""] * len(info.channels)
    chosen: list[tuple[Stream, list[int], list[int]]] = []  # stream, its channel idx, output columns
    units_in: list[str] = [""] * len(info.channels)
    for col, (name, kind, unit) in enumerate(zip(info.channels, kinds, info.units, strict=True)):
        sname, _, ch = name.rpartition(".")
        stream = _find_stream(session, sname, kind, ch)
        ci = stream.channels.index(ch)
        u = stream.units[ci]
        if UNIT_TO_SI.get(u, (u, 1.0))[0] != unit:
            raise HarlabError(f"channel {stream.name}.{ch} is in {u!r}, the model expects {unit!r}")
        units_in[col] = u
        for entry in chosen:
            if entry[0] is stream:
                entry[1].append(ci)
                entry[2].append(col)
                break
        else:
            chosen.append((stream, [ci], [col]))
    first = chosen[0][0]
    t_first, v_first = first.read(_read_from(first, t0), _read_to(first, t1))
    if not _all_finite(_columns(v_first, chosen[0][1])):
        fin = np.isfinite(v_first[:, chosen[0][1]]).all(axis=1)
        t_first, v_first = t_first[fin], v_first[fin]
    runs = grid_runs(
        t_first, nominal_period(t_first, first.rate_hz), rate, after=t0, continues=continues, before=t1
    )
    grid = grid_points(runs, rate)
    origins = [r.origin() for r in runs]  # what the next part of the session goes on with
    empty = SessionWindows(
        np.zeros((0, T, len(info.channels)), np.float32),
        np.zeros(0),
        np.zeros(0),
        [],
        origins,
    )
    if len(grid) < T:
        return empty
    values = np.empty((len(grid), len(info.channels)), np.float32)  # every column written below
    finite = True  # whether every value is known finite (each stream's samples on the grid)
    for stream, idx, cols in chosen:
        t, v = (
            (t_first, v_first)
            if stream is first
            else stream.read(_read_from(stream, t0), _read_to(stream, t1))
        )
        on_grid = _samples_on_grid(t, v, idx, grid)
        if on_grid is None:
            finite = False
            on_grid = resample_onto(t, v[:, idx], grid, rate, rate_hz=stream.rate_hz)
        values[:, cols] = on_grid
    values, _ = to_si(values, units_in)
    # one per grid row (a scaling to SI can overflow float32, hence the check after it)
    valid = (
        np.ones(len(values), bool)
        if finite and _all_finite(values)
        else cast(np.ndarray, np.isfinite(values).all(axis=1))
    )
    pieces = [(a, b) for a, b in uniform_pieces(valid, grid, rate) if b - a >= T]
    if not pieces:
        return empty
    # the windows of each piece copied from a strided view of its rows straight into X: the
    # windows of window_index(a, b, T, S), without an index array per sample or a concatenation
    firsts = [np.arange(a, b - T + 1, S) for a, b in pieces]
    X = np.empty((sum(len(f) for f in firsts), T, len(info.channels)), np.float32)
    row = 0
    for (a, b), starts in zip(pieces, firsts, strict=True):
        view = np.lib.stride_tricks.sliding_window_view(values[a:b], T, axis=0)[::S]  # (n, C, T)
        X[row : row + len(starts)] = view.transpose(0, 2, 1)
        row += len(starts)
    start = grid[np.concatenate(firsts)]
    covered = [(float(grid[a]), float(grid[b - 1] + 1.0 / rate)) for a, b in pieces]
    return SessionWindows(X, start, start + T / rate, covered, origins)
