"""From sessions to model inputs: labelled training windows and whole-session windows.

Training windows come from :func:`harlab.exporters.windows.cut_windows` (one set of
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
from typing import Any

import numpy as np

from harlab.core.errors import HarlabError
from harlab.core.session import Session
from harlab.core.streams import Stream
from harlab.exporters.resample import nominal_period, resample_onto, split_runs
from harlab.exporters.windows import WindowSet, cut_windows
from harlab.ml.context import recording_reference, reference_size
from harlab.ml.modelfile import ModelInfo

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
    group_kind: str  #: "participant" or "session" (when there is only one participant)
    info: ModelInfo
    sources: list[dict[str, Any]] = field(default_factory=list)
    #: (N, reference_size) each window's recording reference (harlab.ml.context), from all windows of its session
    context: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y)

    @property
    def classes(self) -> list[str]:
        return self.info.classes

    def subset(self, idx: np.ndarray) -> Dataset:
        return Dataset(self.windows, self.X[idx], self.y[idx], self.groups[idx], self.group_kind, self.info,
                       self.sources, None if self.context is None else self.context[idx])


def build_dataset(
    sessions: Sequence[Session],
    track: str = "activity",
    window_s: float = 2.56,
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

    ``sources`` (one dict per session, e.g. path and sha256 of its file) are kept in
    the model's provenance beside a hash of each session's window data.
    """
    stride = window_s / 2 if stride_s is None else stride_s
    ws = cut_windows(sessions, track, window_s, stride, rate_hz, channels, label_policy,
                     classes=classes, names=names, progress=progress)
    if len(ws) == 0:
        raise HarlabError(f"no labelled windows of {window_s:g} s in track {track!r}; "
                          "label more time, or choose shorter windows")
    X, units = to_si(ws.X, ws.units)
    participants = ws.participant.astype(str)
    if len(set(participants.tolist())) >= 2 and all(participants):
        groups, kind = participants, "participant"
    else:
        groups, kind = ws.session.astype(str), "session"
    kinds = []
    for ch in ws.channels:
        stream = sessions[0].streams.get(ch.rpartition(".")[0])
        kinds.append(stream.kind if stream is not None else "")
    training = []
    for i, meta in enumerate(ws.sessions):
        sel = ws.session_index == i
        digest = hashlib.sha256(np.ascontiguousarray(X[sel]).tobytes())
        digest.update(np.ascontiguousarray(ws.y[sel]).tobytes())
        entry = {"session_id": meta["session_id"], "name": meta["name"], "participant": meta["participant"],
                 "n_windows": meta["n_windows"], "windows_sha256": digest.hexdigest()}
        if sources is not None and i < len(sources):
            entry.update(sources[i])
        training.append(entry)
    info = ModelInfo(classes=list(ws.classes), channels=list(ws.channels), units=units, rate_hz=ws.rate_hz,
                     window_s=ws.window_s, stride_s=ws.stride_s, stream_kinds=kinds, track=track,
                     label_policy=ws.label_policy, training_sessions=training)
    # every window of each session, labelled or not, makes its recording's reference: choosing
    # the labelled windows must not shape what the model compares them with
    context = np.full((len(X), reference_size(info.channels, info.units, info.rate_hz)), np.nan)
    for i, session in enumerate(sessions):
        sel = ws.session_index == i
        if sel.any():
            context[sel] = recording_reference(session_windows(session, info).X, info.channels, info.units,
                                               info.rate_hz)
    return Dataset(ws, X, ws.y.astype(np.int64), groups, kind, info, list(training), context)


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
    raise HarlabError(f"the session has no channel {stream_name}.{channel} "
                      f"(or a {kind or 'matching'} stream with channel {channel!r}); available: {avail}")


@dataclass
class SessionWindows:
    X: np.ndarray  #: (N, T, C) float32, SI units
    start: np.ndarray  #: (N,) float64 seconds
    end: np.ndarray  #: (N,) float64 seconds
    pieces: list[tuple[float, float]]  #: gap-free spans that were covered


def session_windows(
    session: Session,
    info: ModelInfo,
    stride_s: float | None = None,
    t0: float | None = None,
    t1: float | None = None,
) -> SessionWindows:
    """Every window of ``session`` the model can see, cut as in training but ignoring labels.

    The grid follows the first input stream's gap-free runs; no window spans a gap of
    any input stream. ``stride_s`` defaults to the model's training stride.
    """
    rate = info.rate_hz
    T = info.n_time
    stride = info.stride_s if stride_s is None else stride_s
    S = max(1, int(round(stride * rate)))
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
    t_first, v_first = first.read(t0, t1)
    fin = np.isfinite(v_first[:, chosen[0][1]]).all(axis=1)
    t_first = t_first[fin]
    pieces = []
    for run in split_runs(t_first, nominal_period(t_first, first.rate_hz)):
        n = int(np.floor((run.t1 - run.t0) * rate + 1e-9)) + 1
        if n >= T:
            pieces.append(run.t0 + np.arange(n) / rate)
    empty = SessionWindows(np.zeros((0, T, len(info.channels)), np.float32), np.zeros(0), np.zeros(0), [])
    if not pieces:
        return empty
    grid = np.concatenate(pieces)
    values = np.full((len(grid), len(info.channels)), np.nan, np.float32)
    for stream, idx, cols in chosen:
        t, v = (t_first, v_first[fin]) if stream is first else stream.read(t0, t1)
        values[:, cols] = resample_onto(t, v[:, idx], grid, rate, rate_hz=stream.rate_hz)
    values, _ = to_si(values, units_in)
    valid = np.isfinite(values).all(axis=1)
    xs, starts = [], []
    covered = []
    # contiguous valid stretches of the grid, one period apart
    brk = np.ones(len(grid) + 1, dtype=bool)
    brk[1:-1] = (np.abs(np.diff(grid) * rate - 1.0) > 1e-3) | (valid[1:] != valid[:-1])
    edges = np.flatnonzero(brk)
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if not valid[a] or b - a < T:
            continue
        view = np.lib.stride_tricks.sliding_window_view(values[a:b], T, axis=0)[::S]  # (n, C, T)
        xs.append(view.transpose(0, 2, 1))
        starts.append(grid[a:b - T + 1:S])
        covered.append((float(grid[a]), float(grid[b - 1] + 1.0 / rate)))
    if not xs:
        return empty
    X = np.ascontiguousarray(np.concatenate(xs), dtype=np.float32)
    start = np.concatenate(starts)
    return SessionWindows(X, start, start + T / rate, covered)
