"""What the workbench computes from a prediction track (numpy only, no Qt).

Per-window probabilities are drawn per pixel column of the view (a confidence strip and
an optional per-class heatmap), so a day of one-second windows costs what a screen of
them costs. Review jumps ("next least confident stretch", "next disagreement with the
labels") run vectorised over all windows.

Each window "owns" the stretch of one stride around its centre: with overlapping windows
(2 s long, 1 s apart) neighbours then tile time instead of covering it twice, and a gap
in the recording stays a gap.
"""

from __future__ import annotations

import numpy as np

from harlab.core.classnames import class_key
from harlab.core.labels import LabelTrack
from harlab.core.predictions import PredictionTrack

DOUBT_FRACTION = 0.1  #: "least confident" = the least confident tenth of a track's windows ...
DOUBT_CAP = 0.7  #: ... but never windows the model gives more than this (a sure model has no doubts)


def own_intervals(pred: PredictionTrack) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) of the stretch each window stands for: one stride around its centre."""
    start, end = pred.window_start, pred.window_end
    if not len(start):
        return start, end
    centre = (start + end) / 2
    steps = np.diff(start)
    steps = steps[steps > 0]
    stride = float(np.median(steps)) if len(steps) else float(end[0] - start[0]) or 1.0
    half = np.minimum(stride, end - start) / 2 if len(steps) else (end - start) / 2
    return centre - half, centre + half


def column_values(
    a: np.ndarray, b: np.ndarray, values: np.ndarray, v0: float, v1: float, ncols: int, how: str = "mean"
) -> np.ndarray:
    """``values`` (N x K, one row per window owning [a, b]) resampled to ``ncols`` columns over
    [v0, v1]: NaN where no window is, else the ``how`` ("mean" or "min") of the windows whose
    centre falls in the column when there are more windows than columns, or the window
    covering the column's centre when there are fewer."""
    if values.ndim == 1:
        values = values[:, None]
    k = values.shape[1]
    out = np.full((ncols, k), np.nan, dtype=np.float32)
    if not len(a) or ncols <= 0 or v1 <= v0:
        return out
    i0 = int(np.searchsorted(b, v0, side="right"))
    i1 = int(np.searchsorted(a, v1, side="left"))
    if i1 <= i0:
        return out
    width = (v1 - v0) / ncols
    if i1 - i0 > ncols:
        centre = (a[i0:i1] + b[i0:i1]) / 2
        col = np.clip(((centre - v0) / width).astype(np.int64), 0, ncols - 1)
        firsts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
        vals = values[i0:i1]
        if how == "min":
            red = np.minimum.reduceat(vals, firsts, axis=0)
        else:
            counts = np.diff(np.r_[firsts, len(col)])[:, None]
            red = np.add.reduceat(vals.astype(np.float64), firsts, axis=0) / counts
        out[col[firsts]] = red
        return out
    cc = v0 + (np.arange(ncols) + 0.5) * width
    j = np.searchsorted(a, cc, side="right") - 1
    ok = j >= 0
    ok[ok] &= cc[ok] < b[j[ok]]
    out[ok] = values[j[ok]]
    return out


def doubt_threshold(pred: PredictionTrack, fraction: float = DOUBT_FRACTION) -> float:
    """The confidence at or below which a window counts as doubtful: among the least confident
    ``fraction`` of the track, and at most :data:`DOUBT_CAP`."""
    conf = pred.confidence
    return min(float(np.quantile(conf, fraction)), DOUBT_CAP) if len(conf) else 0.0


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last index of each run of True in ``mask``."""
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def next_least_confident(
    pred: PredictionTrack, t: float, fraction: float = DOUBT_FRACTION
) -> tuple[float, float, float] | None:
    """The next stretch of consecutive least-confident windows starting after ``t``:
    (start, end, time of its least confident window), or None."""
    if not len(pred):
        return None
    a, b = own_intervals(pred)
    conf = pred.confidence
    firsts, lasts = _runs(conf <= doubt_threshold(pred, fraction))
    k = int(np.searchsorted(a[firsts], t, side="right")) if len(firsts) else 0
    if k >= len(firsts):
        return None
    i, j = int(firsts[k]), int(lasts[k])
    worst = i + int(np.argmin(conf[i:j]))
    return float(a[i]), float(b[j - 1]), float((a[worst] + b[worst]) / 2)


def predicted_codes(pred: PredictionTrack) -> np.ndarray:
    """The predicted class (index into ``pred.classes``) of each window: the smoothed segment
    at its centre where there is one, else the top class."""
    codes = pred.top_index.astype(np.int64)
    if pred.segments and len(pred):
        centre = (pred.window_start + pred.window_end) / 2
        segs = sorted(pred.segments, key=lambda s: s.start)
        starts = np.array([s.start for s in segs])
        ends = np.array([s.end for s in segs])
        index = {c: i for i, c in enumerate(pred.classes)}
        seg_codes = np.array([index[s.label] for s in segs])
        j = np.searchsorted(starts, centre, side="right") - 1
        ok = j >= 0
        ok[ok] &= centre[ok] <= ends[j[ok]]
        codes[ok] = seg_codes[j[ok]]
    return codes


def label_at(track: LabelTrack, times: np.ndarray) -> list[str | None]:
    """The label covering each time (the latest-starting one where segments overlap), or None."""
    starts, ends, ids = track.arrays()
    if not len(starts):
        return [None] * len(times)
    j = np.searchsorted(starts, times, side="right") - 1
    ok = j >= 0
    ok[ok] &= times[ok] <= ends[j[ok]]
    # an earlier long segment may cover a time the nearest-starting one does not (overlapping tracks)
    out: list[str | None] = [None] * len(times)
    for n in np.flatnonzero(ok).tolist():
        out[n] = track[int(ids[j[n]])].label
    miss = np.flatnonzero(~ok)
    if len(miss) and track.policy == "overlapping":
        for n in miss.tolist():
            here = track.at(float(times[n]))
            out[n] = here[-1].label if here else None
    return out


def disagreements(pred: PredictionTrack, track: LabelTrack) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) of each stretch where the prediction names another class than the label
    (unlabelled time is no disagreement)."""
    if not len(pred) or not len(track):
        return np.zeros(0), np.zeros(0)
    a, b = own_intervals(pred)
    centre = (pred.window_start + pred.window_end) / 2
    labels = label_at(track, centre)
    codes = predicted_codes(pred)
    names = pred.classes
    keys = [class_key(n) for n in names]  # "walking" labels agree with a model's "Walking"
    differ = np.array(
        [lab is not None and class_key(lab) != keys[c] for lab, c in zip(labels, codes.tolist(), strict=True)]
    )
    firsts, lasts = _runs(differ)
    return a[firsts], b[lasts - 1]


def next_disagreement(
    pred: PredictionTrack, track: LabelTrack, t: float, step: int = 1
) -> tuple[float, float] | None:
    """The next stretch after ``t`` (``step`` < 0: the last one starting before ``t``) where
    prediction and label differ, or None."""
    return step_spans(disagreements(pred, track), t, step)


def step_spans(spans: tuple[np.ndarray, np.ndarray], t: float, step: int = 1) -> tuple[float, float] | None:
    """Of sorted (start, end) spans, the first starting after ``t`` (``step`` > 0) or the last
    starting before it (``step`` < 0); None when there is none. The one walk that both
    prediction/label and label/label disagreements use."""
    starts, ends = spans
    if step > 0:
        k = int(np.searchsorted(starts, t, side="right"))
    else:
        k = int(np.searchsorted(starts, t, side="left")) - 1
    if not 0 <= k < len(starts):
        return None
    return float(starts[k]), float(ends[k])


def display_track(pred: PredictionTrack) -> LabelTrack:
    """The smoothed segments as a (display-only) label track, so the label band's painter
    and hit tests draw them; segment id n is ``pred.segments[n - 1]``."""
    track = LabelTrack(pred.name, "overlapping")
    track.add_many(pred.segments)
    return track
