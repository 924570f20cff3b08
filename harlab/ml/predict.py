"""Applying a model to a whole session: windows in batches -> a PredictionTrack.

The result keeps every window's class probabilities (for confidence strips and
"next least confident") and the smoothed segments (for the timeline and for
accepting into a label track). The model's name, file hash and the smoothing
settings go into the track's ``params`` so a prediction can always be traced back.

A session is predicted in blocks of :data:`BLOCK_S` seconds of windows (a week of 50 Hz
windows and their features is 2.6 GB; a block of four hours, 60 MB); what belongs to the
whole recording (its reference, the wearing orientation) comes from a first pass over the
blocks, and the smoothing runs over the whole track, so the blocks do not show in the result.
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from harlab.core.errors import HarlabError, PredictionCancelled
from harlab.core.predictions import PredictionTrack
from harlab.core.session import Session
from harlab.ml.context import (
    RecordingReferences,
    References,
    reference_from_motion,
    reference_size,
    row_medians,
    submit_window_features,
    window_features_parallel,
    window_motion,
)
from harlab.ml.dataset import SessionWindows, session_windows
from harlab.ml.modelfile import ActivityModel, BoostedFeaturesMember, ModelInfo
from harlab.ml.shared_trunk import find_hop
from harlab.ml.smoothing import SmoothingStream, segments_from_windows
from harlab.ml.training import set_threads
from harlab.signal.windowing import GridOrigin, whole_samples

__all__ = [
    "BLOCK_S",
    "PredictionCancelled",
    "SmoothingConfig",
    "predict_session",
    "predict_windows",
    "prediction_workers",
    "session_blocks",
]


#: seconds of windows a session is predicted in at a time: the windows (3 kB each at 50 Hz,
#: 6 channels) and their features (2.4 kB) of one block are all that is held, so memory no
#: longer grows with the recording's length (a week in one piece peaked at 10.6 GB)
BLOCK_S = 4 * 3600.0
#: windows per batch of a worker thread
BATCH = 2048


@dataclass
class SmoothingConfig:
    """``p_switch``: HMM switch probability per window (None = no HMM);
    ``min_duration_s``: shortest segment kept."""

    p_switch: float | None = 0.02
    min_duration_s: float = 0.0


def prediction_workers() -> int:
    """Threads for prediction: every core, at most 8. Each thread runs whole batches with one
    torch thread, so a busy core slows one batch rather than stalling every thread at a
    barrier (what made two torch threads ten times slower on a loaded 2-core machine)."""
    return max(1, min(8, os.cpu_count() or 1))


def predict_windows(
    model: ActivityModel,
    X: np.ndarray,
    batch: int = 2048,
    progress: Callable[[int, int], None] | None = None,
    threads: int = 0,
) -> np.ndarray:
    """Probabilities (N, K) in batches, reporting (done, total) as batches finish in order.

    ``X`` is taken as one recording (a session) by models that use the recording context:
    its reference comes from all windows, not from each batch. The window features are
    computed once, for that reference and the boosted member alike, while the boosted
    member's trees are compiled (:mod:`harlab.ml.compiled_trees`). Batches run on
    ``threads`` worker threads (0: :func:`prediction_workers`); window features, the trees
    and torch release the GIL for their heavy work, so the workers run in parallel.
    """
    workers = threads or prediction_workers()
    prev = torch.get_num_threads()
    set_threads(1)
    try:
        with model.held_for_inference():
            out = _predict_windows(model, X, batch, progress, workers)
    finally:
        torch.set_num_threads(prev)
    return out


def _predict_windows(
    model: ActivityModel,
    X: np.ndarray,
    batch: int,
    progress: Callable[[int, int], None] | None,
    workers: int,
) -> np.ndarray:
    """:func:`predict_windows` once the threads are set and the model is held for inference."""
    info = model.info
    n = min(workers, max(1, math.ceil(len(X) / batch)))
    pool = ThreadPoolExecutor(max_workers=n)
    try:
        # the compiled trees are built while the features are computed
        compiling = [pool.submit(m.compiled) for m in model.members if isinstance(m, BoostedFeaturesMember)]
        # the window features once, for the recording's reference and the boosted member alike
        feats = (
            window_features_parallel(X, info.channels, info.units, info.rate_hz, pool)
            if model.takes_window_features()
            else None
        )
        # the recording's reference comes from all windows, before any batch
        context = model.recording_references(X, executor=pool, window_feats=feats)
        for f in compiling:
            f.result()
        hop = find_hop(X, 1) if model.halo_windows(1) else None
        pad = 0 if hop is None else model.halo_windows(hop)
        return _run_batches(model, _batches_of(X, context, feats, batch, pad), pool, n, progress, 0, len(X))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


#: one batch of work: windows, their references, their window features (None when not needed) and
#: the windows just before and after them for a "margins" network (None when it needs none)
_Batch = tuple[np.ndarray, References | None, np.ndarray | None, tuple[np.ndarray, np.ndarray] | None]


def _batches_of(
    X: np.ndarray,
    context: References | None,
    feats: np.ndarray | None,
    batch: int,
    pad: int = 0,
    before: np.ndarray | None = None,
    after: Callable[[], np.ndarray | None] | None = None,
) -> Iterator[_Batch]:
    """Windows X with their references and features, ``batch`` windows at a time; with ``pad``,
    each batch also carries the ``pad`` windows beside it (:meth:`ActivityModel.halo_windows`):
    from X, and past X's ends from ``before`` (the previous block's last windows) and ``after``
    (gives the next block's first, asked only by the batches at X's end: the next block is cut
    while the workers predict this one's), so a "margins" network's windows at the cuts between
    batches and blocks take their margins from the recording, as in one piece."""
    for i in range(0, len(X), batch):
        j = min(i + batch, len(X))
        yield (
            X[i:j],
            None if context is None else context[i:j],
            None if feats is None else feats[i:j],
            _beside_batch(X, i, j, pad, before, after) if pad else None,
        )


def _beside_batch(
    X: np.ndarray,
    i: int,
    j: int,
    pad: int,
    before: np.ndarray | None,
    after: Callable[[], np.ndarray | None] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``pad`` windows before X[i:j] and the ``pad`` after it (fewer at a recording's ends);
    ``after()`` gives the windows past X's end, asked only when the batch reaches them."""
    lo = X[max(0, i - pad) : i]
    if len(lo) < pad and before is not None and len(before):
        lo = np.concatenate([before[max(0, len(before) - (pad - len(lo))) :], lo])
    hi = X[j : j + pad]
    beyond = after() if len(hi) < pad and after is not None else None
    if beyond is not None and len(beyond):
        hi = np.concatenate([hi, beyond[: pad - len(hi)]])
    return lo, hi


def _run_batches(
    model: ActivityModel,
    batches: Iterator[_Batch],
    pool: Executor,
    n: int,
    progress: Callable[[int, int], None] | None,
    offset: int,
    total: int,
    on_result: Callable[[np.ndarray], None] | None = None,
) -> np.ndarray:
    """Probabilities of the windows of ``batches`` on ``pool``, ``2 n`` batches ahead (not the
    whole set, and across the blocks of a session: no worker waits for a block's last batch),
    reporting ``(offset + done, total)`` as they finish in order, and handing each batch's
    probabilities to ``on_result`` (on this thread, in order) while the workers go on."""

    def one(b: _Batch) -> np.ndarray:
        return model.predict_proba(*b)

    out: list[np.ndarray] = []
    pending: deque[Future[np.ndarray]] = deque()
    for b in itertools.islice(batches, 2 * n):
        pending.append(pool.submit(one, b))
    done = 0
    while pending:
        out.append(pending.popleft().result())
        done += len(out[-1])
        nxt = next(batches, None)
        if nxt is not None:
            pending.append(pool.submit(one, nxt))
        if on_result is not None:
            on_result(out[-1])
        if progress:
            progress(offset + done, total)  # may raise to cancel: the batches not yet started are dropped
    return np.concatenate(out) if out else np.zeros((0, len(model.classes)), np.float32)


def session_blocks(
    session: Session, info: ModelInfo, stride_s: float | None = None, block_s: float = BLOCK_S
) -> Iterator[SessionWindows]:
    """The windows of :func:`~harlab.ml.dataset.session_windows`, ``block_s`` seconds of window
    starts at a time, in order: the same windows, never all in memory.

    Each block after the first starts at the window after the previous block's last one, and
    goes on with the grid of the runs the previous block saw
    (:class:`~harlab.signal.windowing.GridOrigin`: a run's first sample plus whole periods, the
    very numbers of the run's grid in one piece), reading a little before its start and past its
    end to interpolate and filter from: a block's windows are the whole session's, to the bit,
    and a stream sampled on the grid is taken as it is (a grid anchored at each block's first
    sample was off by rounding, so every block after the first was interpolated; with jittered
    times it was shifted by the jitter). A block without any window
    (a long gap) moves on by ``block_s``: no window can start in it.
    """
    if block_s < info.window_s:
        raise HarlabError(f"a prediction block ({block_s:g} s) must hold a window ({info.window_s:g} s)")
    stride = info.stride_s if stride_s is None else stride_s
    bounds = [s.time_bounds() for s in session.streams.values() if s.n_samples]
    if not bounds:
        return
    t0 = min(b[0] for b in bounds)
    end = max(b[1] for b in bounds)
    tol = (
        0.25 / info.rate_hz
    )  # well under a sample: the window start's own sample is read, not the one before
    hop = whole_samples(stride, info.rate_hz, "stride", rounding=True) / info.rate_hz
    runs: list[GridOrigin] = []
    while t0 <= end:
        sw = session_windows(session, info, stride_s, t0 - tol, t0 + block_s + info.window_s, runs)
        runs = sw.runs
        if len(sw.start):
            yield sw
            t0 = float(sw.start[-1]) + hop
        else:
            t0 += block_s


class _Lookahead:
    """Blocks one at a time, with the next block's first windows when asked (a "margins" network's
    last windows of a block take their margins from them): the next block is taken from
    ``blocks`` only then, so the first block's batches start before the second is cut."""

    def __init__(self, blocks: Iterator[SessionWindows], pad: int) -> None:
        self._blocks = blocks
        self._pad = pad
        self._next: SessionWindows | None = None
        self._taken = False

    def __iter__(self) -> Iterator[SessionWindows]:
        while True:
            sw = self._next if self._taken else next(self._blocks, None)
            self._next, self._taken = None, False
            if sw is None:
                return
            yield sw

    def head(self) -> np.ndarray | None:
        """The first ``pad`` windows of the block after the current one (None after the last)."""
        if not self._taken:
            self._next, self._taken = next(self._blocks, None), True
        return None if self._next is None else self._next.X[: self._pad]


def _ahead(blocks: Iterator[SessionWindows]) -> Iterator[SessionWindows]:
    """The blocks of ``blocks``, each next one cut on a thread of its own while the caller works
    on the current one (two blocks held at a time)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="harlab-cut") as cutter:
        nxt = cutter.submit(next, blocks, None)
        while True:
            sw = nxt.result()
            if sw is None:
                return
            nxt = cutter.submit(next, blocks, None)
            yield sw


@dataclass
class _Pass:
    """What the first pass over the blocks keeps: per window only its times and motion summary."""

    start: np.ndarray
    end: np.ndarray
    motion: tuple[np.ndarray, np.ndarray] | None
    medians: np.ndarray | None
    sizes: list[int]


def _first_pass(
    model: ActivityModel,
    session: Session,
    stride_s: float | None,
    block_s: float,
    pool: Executor,
    feature_dir: Path | None,
    progress: Callable[[int, int], None] | None,
    expected: int,
) -> _Pass:
    """Window times, each window's gravity and motion, and (``feature_dir``) the window features
    of each block written there feature by feature (by the workers that compute them), block by
    block; then the features' medians one group of columns at a time, read back from those files."""
    info = model.info
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    gus: list[np.ndarray] = []
    motions: list[np.ndarray] = []
    sizes: list[int] = []
    accel = True
    n_feat = 0
    #: the block whose work is queued on the pool: its index, motion and (features, batches)
    queued: tuple[int, Future[Any], tuple[np.ndarray, list[Future[None]]] | None] | None = None

    def finish(k: int, moving: Future[Any], feats: tuple[np.ndarray, list[Future[None]]] | None) -> None:
        """A queued block's results kept: its features written, its motion appended (in order)."""
        nonlocal accel, n_feat
        if feats is not None:
            FT, parts = feats
            for f in parts:
                f.result()
            n_feat = FT.shape[0]
            FT.tofile(cast(Path, feature_dir) / f"{k}.f32")
        wm = moving.result()
        if wm is None:
            accel = False
        else:
            gus.append(wm[0])
            motions.append(wm[1])
        if progress:
            done = sum(sizes[: k + 1])
            progress(min(done, expected), 2 * max(expected, done))

    for k, sw in enumerate(_ahead(session_blocks(session, info, stride_s, block_s))):
        starts.append(sw.start)
        ends.append(sw.end)
        sizes.append(len(sw.start))
        # this block's motion and features queued behind the previous block's, and only then the
        # previous block's waited for: the workers go from one block to the next without a pause
        moving = pool.submit(window_motion, sw.X, info.channels, info.units)
        feats = (
            submit_window_features(sw.X, info.channels, info.units, info.rate_hz, pool)
            if feature_dir is not None
            else None
        )
        if queued is not None:
            finish(*queued)
        queued = (k, moving, feats)
        del sw, moving, feats
    if queued is not None:
        finish(*queued)
    start = np.concatenate(starts) if starts else np.zeros(0)
    end = np.concatenate(ends) if ends else np.zeros(0)
    motion = (np.concatenate(gus), np.concatenate(motions)) if accel and gus else None
    medians = None
    if feature_dir is not None and n_feat and len(start):
        medians = np.empty(n_feat, np.float32)
        # columns per read: ~32 MB at a time per worker, and at least 8 groups, so the workers
        # finish together (5 groups of a day's columns left one of 2 workers idle for the last)
        group = max(1, min((32 << 20) // (4 * len(start)), -(-n_feat // 8)))

        def column_medians(c0: int) -> None:
            # each column's values side by side (the files hold them so), partially sorted in place
            c1 = min(n_feat, c0 + group)
            cols = np.empty((c1 - c0, len(start)), np.float32)
            row = 0
            for k, nb in enumerate(sizes):
                part = np.fromfile(
                    feature_dir / f"{k}.f32", np.float32, count=(c1 - c0) * nb, offset=4 * c0 * nb
                )
                cols[:, row : row + nb] = part.reshape(c1 - c0, nb)
                row += nb
            medians[c0:c1] = row_medians(cols)

        list(pool.map(column_medians, range(0, n_feat, group)))  # the groups on every worker
    return _Pass(start, end, motion, medians, sizes)


def _block_features(feature_dir: Path, k: int, n: int) -> np.ndarray:
    """A block's window features (n, F) as the first pass wrote them: feature by feature (a
    transposed view, not a copy: the member's feature rows are built, and the compiled trees
    read them, in that layout)."""
    F = np.fromfile(feature_dir / f"{k}.f32", np.float32)
    return F.reshape(-1, n).T


def predict_session(
    model: ActivityModel,
    session: Session,
    name: str | None = None,
    stride_s: float | None = None,
    smoothing: SmoothingConfig | None = None,
    model_version: str = "",
    progress: Callable[[int, int], None] | None = None,
    add: bool = True,
    workers: int = 0,
    block_s: float = BLOCK_S,
) -> PredictionTrack:
    """Predict every window of ``session`` and (``add``) store the track in it, replacing one
    of the same name. ``stride_s`` defaults to the model's training stride; ``workers``: prediction
    threads (0: every core up to 8, :func:`prediction_workers`).

    The session is taken ``block_s`` seconds of windows at a time (:func:`session_blocks`), so
    memory is bounded whatever its length; the smoothing runs over the whole track at the end,
    and the recording's reference over every window in a first pass, so the track equals the
    one of a single block. ``progress`` gets (done, total) in units of windows, the first pass
    counted as the first half."""
    sm = smoothing or SmoothingConfig()
    info = model.info
    stride = info.stride_s if stride_s is None else stride_s
    probs, start, end, orientation, labels = _predict_blocks(
        model, session, stride_s, block_s, progress, workers, sm
    )
    segs = segments_from_windows(labels, probs, start, end, stride, info.classes, annotator=info.name)
    track = PredictionTrack(
        name=name or f"{info.track}-predicted",
        model_name=info.name,
        model_version=model_version or f"{info.preset} {info.created_utc}",
        classes=list(info.classes),
        window_start=start,
        window_end=end,
        probabilities=probs,
        segments=segs,
        params={
            "preset": info.preset,
            "window_s": f"{info.window_s:g}",
            "stride_s": f"{stride:g}",
            "rate_hz": f"{info.rate_hz:g}",
            "channels": ",".join(info.channels),
            "p_switch": "" if sm.p_switch is None else f"{sm.p_switch:g}",
            "min_duration_s": f"{sm.min_duration_s:g}",
            "harlab_version": info.harlab_version,
            # whether the recording was mapped into the model's wearing orientation (harlab.ml.orientation)
            "orientation": orientation,
        },
    )
    if add:
        session.add_prediction_track(track, replace=True)
    return track


def _predict_blocks(
    model: ActivityModel,
    session: Session,
    stride_s: float | None,
    block_s: float,
    progress: Callable[[int, int], None] | None,
    workers: int,
    sm: SmoothingConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, np.ndarray]:
    """Probabilities, window starts and ends, the wearing orientation and the smoothed classes
    (``sm``) of a whole session, block by block: a first pass for what is per recording (the
    reference, the feature medians, keeping each block's window features in a temporary file),
    a second for the probabilities, smoothed as they come (:class:`SmoothingStream`)."""
    info = model.info
    stride = info.stride_s if stride_s is None else stride_s
    n_threads = workers or prediction_workers()
    span = [s.time_bounds() for s in session.streams.values() if s.n_samples]
    expected = int((max(b[1] for b in span) - min(b[0] for b in span)) / stride) + 1 if span else 0
    relative = any(getattr(m, "relative", False) for m in model.members)
    keep_features = model.takes_window_features() or (relative and model.needs_references)
    prev = torch.get_num_threads()
    set_threads(1)
    try:
        with model.held_for_inference(), tempfile.TemporaryDirectory(prefix="harlab-predict-") as tmp:
            pool = ThreadPoolExecutor(n_threads)
            try:
                compiling = [
                    pool.submit(m.compiled) for m in model.members if isinstance(m, BoostedFeaturesMember)
                ]
                fdir = Path(tmp) if keep_features else None
                first = _first_pass(model, session, stride_s, block_s, pool, fdir, progress, expected)
                for f in compiling:
                    f.result()
                n = len(first.start)
                size = reference_size(info.channels, info.units, info.rate_hz if relative else None)
                ref = reference_from_motion(first.motion, size, first.medians if relative else None)
                table = ref[None, :].astype(np.float32)
                orientation = (
                    model.wearing_orientation(
                        np.zeros((0, info.n_time, len(info.channels)), np.float32),
                        RecordingReferences(table, np.zeros(1, np.intp)),
                    )
                    if n
                    else "as worn"
                )

                # windows beside each batch for a "margins" network (0 for any other model)
                pad = model.halo_windows(max(1, round(stride * info.rate_hz)))

                def blocks() -> Iterator[_Batch]:
                    tail: np.ndarray | None = None  # the previous block's last windows
                    cut = _Lookahead(_ahead(session_blocks(session, info, stride_s, block_s)), pad)
                    for k, sw in enumerate(cut):
                        nb = len(sw.start)
                        if k >= len(first.sizes) or nb != first.sizes[k]:
                            raise HarlabError("the session changed while it was being predicted")
                        context = (
                            RecordingReferences(table, np.zeros(nb, np.intp))
                            if model.needs_references
                            else None
                        )
                        feats = _block_features(fdir, k, nb) if fdir is not None else None
                        yield from _batches_of(sw.X, context, feats, BATCH, pad, tail, cut.head)
                        # a copy: a view would hold the whole block
                        tail = sw.X[max(0, len(sw.X) - pad) :].copy() if pad else None

                smoothing = SmoothingStream(
                    first.start, len(info.classes), stride, sm.p_switch, sm.min_duration_s
                )
                probs = _run_batches(model, blocks(), pool, n_threads, progress, n, 2 * n, smoothing.feed)
                labels = smoothing.labels(probs)
            finally:  # a cancel (progress raising) drops the batches not yet started
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        torch.set_num_threads(prev)
    return probs, first.start, first.end, orientation, labels
