"""Applying a model to a whole session: windows in batches -> a PredictionTrack.

The result keeps every window's class probabilities (for confidence strips and
"next least confident") and the smoothed segments (for the timeline and for
accepting into a label track). The model's name, file hash and the smoothing
settings go into the track's ``params`` so a prediction can always be traced back.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from harlab.core.errors import PredictionCancelled
from harlab.core.predictions import PredictionTrack
from harlab.core.session import Session
from harlab.ml.context import window_features_parallel
from harlab.ml.dataset import session_windows
from harlab.ml.modelfile import ActivityModel, BoostedFeaturesMember
from harlab.ml.smoothing import segments_from_windows, smooth
from harlab.ml.training import set_threads

__all__ = [
    "PredictionCancelled",
    "SmoothingConfig",
    "predict_session",
    "predict_windows",
    "prediction_workers",
]


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
    info = model.info
    prev = torch.get_num_threads()
    set_threads(1)
    try:
        starts = list(range(0, len(X), batch))
        out: list[np.ndarray] = []
        n = min(workers, max(1, len(starts)))
        pool = ThreadPoolExecutor(max_workers=n)
        try:
            # the compiled trees are built while the features are computed
            compiling = [
                pool.submit(m.compiled) for m in model.members if isinstance(m, BoostedFeaturesMember)
            ]
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

            def one(i: int) -> np.ndarray:
                return model.predict_proba(
                    X[i : i + batch],
                    None if context is None else context[i : i + batch],
                    None if feats is None else feats[i : i + batch],
                )

            pending: deque[Future[np.ndarray]] = deque()
            queue = iter(starts)
            for i in itertools.islice(queue, 2 * n):  # a few batches ahead, not the whole session
                pending.append(pool.submit(one, i))
            done = 0
            while pending:
                out.append(pending.popleft().result())
                done = min(done + batch, len(X))
                nxt = next(queue, None)
                if nxt is not None:
                    pending.append(pool.submit(one, nxt))
                if progress:
                    progress(done, len(X))  # may raise to cancel: the batches not yet started are dropped
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        torch.set_num_threads(prev)
    return np.concatenate(out) if out else np.zeros((0, len(model.classes)), np.float32)


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
) -> PredictionTrack:
    """Predict every window of ``session`` and (``add``) store the track in it, replacing one
    of the same name. ``stride_s`` defaults to the model's training stride; ``workers``: prediction
    threads (0: every core up to 8, :func:`prediction_workers`)."""
    sm = smoothing or SmoothingConfig()
    info = model.info
    sw = session_windows(session, info, stride_s)
    stride = info.stride_s if stride_s is None else stride_s
    probs = predict_windows(model, sw.X, progress=progress, threads=workers)
    labels = smooth(probs, sw.start, stride, sm.p_switch, sm.min_duration_s)
    segs = segments_from_windows(labels, probs, sw.start, sw.end, stride, info.classes, annotator=info.name)
    track = PredictionTrack(
        name=name or f"{info.track}-predicted",
        model_name=info.name,
        model_version=model_version or f"{info.preset} {info.created_utc}",
        classes=list(info.classes),
        window_start=sw.start,
        window_end=sw.end,
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
            "orientation": model.wearing_orientation(sw.X) if len(sw.X) else "as worn",
        },
    )
    if add:
        session.add_prediction_track(track, replace=True)
    return track
