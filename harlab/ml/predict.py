"""Applying a model to a whole session: windows in batches -> a PredictionTrack.

The result keeps every window's class probabilities (for confidence strips and
"next least confident") and the smoothed segments (for the timeline and for
accepting into a label track). The model's name, file hash and the smoothing
settings go into the track's ``params`` so a prediction can always be traced back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from harlab.core.predictions import PredictionTrack
from harlab.core.session import Session
from harlab.ml.dataset import session_windows
from harlab.ml.modelfile import ActivityModel
from harlab.ml.smoothing import segments_from_windows, smooth
from harlab.ml.training import set_threads


@dataclass
class SmoothingConfig:
    """``p_switch``: HMM switch probability per window (None = no HMM);
    ``min_duration_s``: shortest segment kept."""

    p_switch: float | None = 0.02
    min_duration_s: float = 0.0


def predict_windows(
    model: ActivityModel,
    X: np.ndarray,
    batch: int = 4096,
    progress: Callable[[int, int], None] | None = None,
    threads: int = 0,
) -> np.ndarray:
    """Probabilities (N, K) in batches, reporting (done, total) after each.

    ``X`` is taken as one recording (a session) by models that use the recording context:
    its reference comes from all windows, not from each batch.
    """
    out = []
    prev = torch.get_num_threads()
    set_threads(threads)
    try:
        context = model.recording_references(X)
        for i in range(0, len(X), batch):
            out.append(model.predict_proba(X[i:i + batch], None if context is None else context[i:i + batch]))
            if progress:
                progress(min(i + batch, len(X)), len(X))
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
) -> PredictionTrack:
    """Predict every window of ``session`` and (``add``) store the track in it, replacing one
    of the same name. ``stride_s`` defaults to the model's training stride."""
    sm = smoothing or SmoothingConfig()
    info = model.info
    sw = session_windows(session, info, stride_s)
    stride = info.stride_s if stride_s is None else stride_s
    probs = predict_windows(model, sw.X, progress=progress)
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
        },
    )
    if add:
        session.add_prediction_track(track, replace=True)
    return track
