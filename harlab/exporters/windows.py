"""Cutting labelled sessions into fixed-length training windows (Qt-free, reusable by ML).

:func:`cut_windows` turns sessions plus one label track into a :class:`WindowSet`:
``X`` (N x T x C float32), one class per window, and where each window came from.
The rules, which ``docs/EXPORT.md`` states for users:

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
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np

from harlab import __version__
from harlab.core.classnames import class_key, spelling_map
from harlab.core.errors import HarlabError
from harlab.core.session import Session
from harlab.exporters.exporter import ExportError, ProgressCallback, labels_at, session_names
from harlab.signal.resampling import GAP_FACTOR, ResampleInfo, nominal_period, resample_onto
from harlab.signal.windowing import rounded_seconds, run_grid, uniform_pieces, whole_samples, window_index

POLICIES = ("majority", "centre", "pure")
FORMAT_NAME = "harlab-training-windows"
FORMAT_VERSION = 1
_AMBIGUOUS_SEP = "\x00"


def normalise_policy(policy: str) -> str:
    p = policy.strip().lower()
    if p == "center":
        p = "centre"
    if p not in POLICIES:
        raise ExportError(f"unknown label policy {policy!r}; one of: {', '.join(POLICIES)}")
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

    def manifest(self) -> dict[str, Any]:
        """The JSON-ready description written beside (and inside) exported window files."""
        n, t, c = self.X.shape
        return {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "harlab_version": __version__,
            "n_windows": n,
            "window_s": self.window_s,
            "stride_s": self.stride_s,
            "samples_per_window": t,
            "rate_hz": self.rate_hz,
            "channels": list(self.channels),
            "units": list(self.units),
            "label_track": self.track,
            "label_policy": self.label_policy,
            "classes": list(self.classes),
            "class_counts": self.class_counts(),
            "gap_factor": GAP_FACTOR,
            "resampling": self.resampling,
            "dropped_windows": dict(self.dropped),
            "sessions": self.sessions,
            "arrays": {
                "X": {"shape": [n, t, c], "dtype": "float32", "axes": ["window", "time", "channel"]},
                "y": {"shape": [n], "dtype": "int64", "meaning": "index into classes"},
                "classes": {"shape": [len(self.classes)], "dtype": "str"},
                "participant": {"shape": [n], "dtype": "str"},
                "session": {"shape": [n], "dtype": "str", "meaning": "session id"},
                "session_index": {"shape": [n], "dtype": "int64", "meaning": "index into sessions"},
                "start_s": {
                    "shape": [n],
                    "dtype": "float64",
                    "meaning": "window start, s from session start",
                },
                "channels": {"shape": [c], "dtype": "str"},
                "units": {"shape": [c], "dtype": "str"},
            },
        }


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
            raise ExportError(f"{what} has no stream with a nominal rate; name the streams to use")
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
                raise ExportError(f"{what} has no stream or channel {entry!r} (available: {avail})")
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


def _common_rate(
    sessions: Sequence[Session], chosen: list[list[tuple[str, list[int]]]], names: list[str]
) -> float:
    rates: dict[str, float | None] = {}
    for s, ch, nm in zip(sessions, chosen, names, strict=True):
        for sname, _ in ch:
            rates[f"{nm}:{sname}"] = s.streams[sname].rate_hz
    missing = [k for k, r in rates.items() if not r]
    if missing:
        raise ExportError(f"stream {missing[0]} has no nominal rate; choose the window rate with --rate HZ")
    values = [float(r) for r in rates.values() if r]
    if max(values) > min(values) * 1.005:
        listed = ", ".join(f"{k} {v:g} Hz" for k, v in list(rates.items())[:6])
        raise ExportError(f"the chosen streams have different rates ({listed}); choose one with --rate HZ")
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
    unlabelled = cast(np.ndarray, (codes < 0).any(axis=1))  # one per window, never a scalar
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
    return cls, ~unlabelled, np.zeros(nw, dtype=bool)


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
        raise ExportError("no sessions to cut into windows")
    if not (window_s and window_s > 0 and np.isfinite(window_s)):
        raise ExportError(f"window length must be a positive number of seconds, got {window_s}")
    stride_s = window_s if stride_s is None else stride_s
    if not (stride_s > 0 and np.isfinite(stride_s)):
        raise ExportError(f"stride must be a positive number of seconds, got {stride_s}")
    if rate_hz is not None and not (rate_hz > 0 and np.isfinite(rate_hz)):
        raise ExportError(f"rate must be a positive number of Hz, got {rate_hz}")
    policy = normalise_policy(label_policy)
    snames = session_names(sessions, names)
    if not any(track in s.label_tracks for s in sessions):
        have = sorted({t for s in sessions for t in s.label_tracks})
        raise ExportError(f"no session has a label track {track!r} (tracks: {', '.join(have) or 'none'})")

    chosen = [resolve_channels(s, channels, f"session {n}") for s, n in zip(sessions, snames, strict=True)]
    ch_names, units = _describe(sessions[0], chosen[0])
    for s, ch, n in zip(sessions[1:], chosen[1:], snames[1:], strict=True):
        other_names, other_units = _describe(s, ch)
        if other_names != ch_names:
            raise ExportError(f"session {n} has channels {other_names}, but {snames[0]} has {ch_names}")
        if other_units != units:
            raise ExportError(
                f"session {n} has units {other_units}, but {snames[0]} has {units} for {ch_names}"
            )
    rate = float(rate_hz) if rate_hz is not None else _common_rate(sessions, chosen, snames)
    try:
        T = whole_samples(window_s, rate, "window", round_to_samples)
        S = whole_samples(stride_s, rate, "stride", round_to_samples)
    except HarlabError as exc:
        raise ExportError(str(exc)) from None
    if round_to_samples:
        window_s, stride_s = rounded_seconds(window_s, T, rate), rounded_seconds(stride_s, S, rate)
    fixed = list(classes) if classes is not None else None
    if fixed is not None and len({class_key(c) for c in fixed}) != len(fixed):
        raise ExportError(f"class list has duplicates: {fixed}")
    fixed_keys = [class_key(c) for c in fixed] if fixed is not None else []

    xs: list[np.ndarray] = []
    names_per_win: list[np.ndarray] = []
    starts_all: list[np.ndarray] = []
    sess_idx: list[np.ndarray] = []
    dropped = {"unlabelled_or_ambiguous": 0, "impure": 0, "other_class": 0}
    infos: dict[str, ResampleInfo] = {}
    sess_meta: list[dict[str, Any]] = []
    margin = 64.0 / rate

    spans_per = [labelled_spans(s.label_tracks[track]) if track in s.label_tracks else [] for s in sessions]
    total = sum(sum(e - s for s, e in sp) for sp in spans_per) or 1.0
    done = 0.0
    for si, (session, ch, sname, spans) in enumerate(zip(sessions, chosen, snames, spans_per, strict=True)):
        md = session.metadata
        n_before = sum(len(a) for a in names_per_win)
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


# -- files ------------------------------------------------------------------------------------------

_ARRAYS = ("X", "y", "classes", "participant", "session", "session_index", "start_s", "channels", "units")


def _arrays(ws: WindowSet) -> dict[str, np.ndarray]:
    return {
        "X": np.ascontiguousarray(ws.X, dtype=np.float32),
        "y": ws.y.astype(np.int64),
        "classes": np.asarray(ws.classes, dtype=str),
        "participant": np.asarray(ws.participant, dtype=str),
        "session": np.asarray(ws.session, dtype=str),
        "session_index": ws.session_index.astype(np.int64),
        "start_s": ws.start_s.astype(np.float64),
        "channels": np.asarray(ws.channels, dtype=str),
        "units": np.asarray(ws.units, dtype=str),
    }


def write_npz(ws: WindowSet, f: BinaryIO | Path, manifest: dict[str, Any]) -> None:
    """NumPy ``.npz`` (uncompressed, no pickled objects: strings are fixed-width unicode)."""
    arrays = _arrays(ws)
    arrays["manifest"] = np.asarray(json.dumps(manifest))
    np.savez(f, **arrays)  # type: ignore[arg-type]


def write_hdf5(ws: WindowSet, path: Path, manifest: dict[str, Any]) -> None:
    """HDF5: one dataset per array (strings UTF-8), X gzip-compressed in window chunks."""
    import h5py

    arrays = _arrays(ws)
    str_dt = h5py.string_dtype("utf-8")
    with h5py.File(path, "w") as f:
        for key, arr in arrays.items():
            if arr.dtype.kind == "U":
                f.create_dataset(key, data=arr.astype(object), dtype=str_dt)
            elif key == "X" and len(arr):
                f.create_dataset(
                    key,
                    data=arr,
                    chunks=(min(len(arr), 256), *arr.shape[1:]),
                    compression="gzip",
                    compression_opts=4,
                    shuffle=True,
                )
            else:
                f.create_dataset(key, data=arr)
        f.attrs["format"] = FORMAT_NAME
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["manifest"] = json.dumps(manifest)


def load_windows(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a training-window file (``.npz`` or ``.h5``/``.hdf5``) written by harlab.

    Returns the arrays (strings as ``str`` arrays) and the manifest.
    """
    path = Path(path)
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in _ARRAYS}
                manifest = json.loads(str(z["manifest"]))
        else:
            import h5py

            with h5py.File(path, "r") as f:
                arrays = {}
                for k in _ARRAYS:
                    d = f[k]
                    arrays[k] = d.asstr()[()].astype(str) if d.dtype.kind == "O" else d[()]
                manifest = json.loads(f.attrs["manifest"])
    except (OSError, KeyError, ValueError) as exc:
        raise HarlabError(f"{path}: not a harlab training-window file ({exc})") from exc
    if manifest.get("format") != FORMAT_NAME:
        raise HarlabError(f"{path}: manifest format is {manifest.get('format')!r}, expected {FORMAT_NAME!r}")
    return arrays, manifest
