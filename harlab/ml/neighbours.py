"""Temporal context for the boosted member: the mean window features of the windows beside each window.

A window of a few seconds is often ambiguous alone (a pause while eating, a stretch of
typing that looks like writing), while the minutes around it are not: people do one
activity for a while. The LightGBM member (``BoostedFeaturesMember`` with ``neighbours``
R) therefore also sees, per window, the mean of the window features of the windows
``1..R`` model strides before and after it in the same stretch of recording. On WISDM's
five folds (10 s windows, 5 s stride) R = 2 raised the member from 0.861 to 0.884 macro-F1 and
the ensemble from 0.873 to 0.890, each window judged alone; but the smoothed timeline went from
0.922 to 0.913 (the member's errors come in runs, which smoothing cannot undo), so it is an
option, off by default (docs/ML.md, "Temporal context").

Which windows are beside which is read off the samples, as :mod:`harlab.ml.shared_trunk`
does for a network's margins: consecutive windows whose samples overlap exactly
(``X[i, hop:] == X[i + 1, :T - hop]``, :func:`~harlab.ml.shared_trunk.overlap_runs`) are one
stretch, so a gap in the recording, another recording or a shuffled set ends it, and the
same code serves a training set (windows of many sessions in order), calibration windows
cut at a finer stride (the neighbour ``d`` model strides away is ``d * step / hop`` windows
away), a session cut into batches (each batch comes with the windows beside it, the *halo*,
:meth:`harlab.ml.modelfile.ActivityModel.halo_windows`) and bare windows sent to the scoring
service. The hop is the model's stride or, when the windows are cut finer, the one the samples
show, whichever joins more moving windows (:func:`window_hop`: hours of a repeated value fit every
hop and must not choose it). A window with no neighbour (alone, or windows that do not overlap, such as a stride
of a whole window) gets NaN, which LightGBM routes as a missing value.

The windows a dataset holds are its labelled ones, so in training a bout's first and last
windows see only the labelled side; a whole session's prediction sees every window. Only
signal is shared between neighbours, never labels.
"""

from __future__ import annotations

import numpy as np

from harlab.core.errors import HarlabError
from harlab.ml.model_presets import MAX_GBM_NEIGHBOURS
from harlab.ml.shared_trunk import find_hop

#: feature columns summed at a time by :func:`neighbour_mean`
_COLUMNS = 32


def stretch_ids(X: np.ndarray, hop: int) -> np.ndarray:
    """Each window's stretch (N,) int64: consecutive windows of ``X`` (N, T, C) share one while
    each overlaps the next exactly by ``T - hop`` samples; a new stretch starts after every break."""
    n, t = len(X), X.shape[1] if X.ndim == 3 else 0
    if n == 0:
        return np.zeros(0, np.int64)
    if not 0 < hop < t:
        return np.arange(n, dtype=np.int64)
    same = (X[:-1, hop:] == X[1:, : t - hop]).reshape(n - 1, -1).all(axis=1)
    return np.concatenate([[0], np.cumsum(~same)]).astype(np.int64)


def window_hop(X: np.ndarray, step: int) -> tuple[int, np.ndarray] | None:
    """The hop between consecutive windows of ``X`` and each window's stretch at it
    (:func:`stretch_ids`), or None when no two windows overlap.

    Two candidates: the model's stride ``step`` (windows cut as the model cuts them: training,
    evaluation, a session's prediction) and the hop most sampled pairs share
    (:func:`~harlab.ml.shared_trunk.find_hop`; calibration cuts finer). The one joining more
    pairs of windows that move wins. A window whose samples are all equal (a device at rest that
    repeats one value, as idle ActiGraphs do) overlaps its neighbour at every hop: such pairs are
    not counted, so hours of them cannot choose a hop of one sample."""
    n, t = len(X), X.shape[1] if X.ndim == 3 else 0
    if n < 2:
        return None
    moving = (X[:-1] != X[:-1, :1]).reshape(n - 1, -1).any(axis=1)
    best: tuple[int, int, np.ndarray] | None = None
    for hop in dict.fromkeys([step, find_hop(X, 1)]):  # the stride first: it wins ties
        if hop is None or not 0 < hop < t:
            continue
        run = stretch_ids(X, hop)
        joined = int(((run[1:] == run[:-1]) & moving).sum())
        if joined and (best is None or joined > best[0]):
            best = (joined, hop, run)
    return None if best is None else (best[1], best[2])


def neighbour_mean(F: np.ndarray, X: np.ndarray, step: int, radius: int) -> np.ndarray:
    """Per window of ``X`` (N, T, C), the mean of the rows of ``F`` (N, D, float) of the windows
    ``1..radius`` times ``step`` samples before and after it in its stretch: (N, D) float32,
    NaN where it has none. A NaN feature of a neighbour counts as missing for that feature alone.

    ``step`` is the model's stride in samples; the windows of ``X`` may be cut at another hop
    (:func:`window_hop`), and the neighbour ``d`` steps away is then the window nearest
    ``d * step`` samples away."""
    if F.ndim != 2 or len(F) != len(X):
        raise HarlabError(f"neighbour features need one row per window, got {F.shape} for {len(X)} windows")
    if not 0 < radius <= MAX_GBM_NEIGHBOURS or step < 1:
        raise HarlabError(
            f"neighbours need a radius in 1..{MAX_GBM_NEIGHBOURS} and a step >= 1, got {radius}, {step}"
        )
    n = len(X)
    out = np.full(F.shape, np.nan, np.float32)
    found = window_hop(X, step)
    if found is None:
        return out
    hop, run = found
    rows = np.arange(n)
    pairs: list[tuple[np.ndarray, np.ndarray]] = []  # (window, its neighbour) per offset
    for d in range(1, radius + 1):
        shift = max(1, round(d * step / hop))
        for o in (-shift, shift):
            j = rows + o
            ok = (j >= 0) & (j < n)
            ok[ok] = run[j[ok]] == run[rows[ok]]
            if ok.any():
                pairs.append((rows[ok], j[ok]))
    # a group of columns at a time: the sums stay small beside a training set's features
    for c0 in range(0, F.shape[1], _COLUMNS):
        c1 = min(F.shape[1], c0 + _COLUMNS)
        total = np.zeros((n, c1 - c0), np.float64)
        count = np.zeros((n, c1 - c0), np.int32)
        for i, j in pairs:
            vals = F[j, c0:c1]
            seen = np.isfinite(vals)
            total[i] += np.where(seen, vals, 0.0)
            count[i] += seen
        has = count > 0
        block = out[:, c0:c1]
        block[has] = (total[has] / count[has]).astype(np.float32)
        out[:, c0:c1] = block
    return out


def halo_for(radius: int, step: int, hop: int) -> int:
    """Windows beside a batch that ``radius`` neighbours of ``step`` samples need, for windows
    ``hop`` samples apart (what :func:`neighbour_mean` reaches)."""
    if radius <= 0:
        return 0
    return max(1, round(radius * step / max(1, hop)))
