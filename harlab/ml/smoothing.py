"""Turning per-window probabilities into a clean timeline.

Window-by-window argmax flickers: a single odd window inside a long walk becomes a
two-second "upstairs". Two remedies, applied in order:

1. :func:`viterbi_sticky` finds the most probable class sequence under an HMM whose
   transition matrix is *sticky* (stay with probability ``1 - p_switch``, switch to
   any other class with ``p_switch / (K - 1)``) and whose emission scores are the
   window probabilities. A switch must be worth ``log((1-p)/(p/(K-1)))`` nats of
   evidence, so short, weak excursions disappear while clear changes stay.
2. :func:`enforce_min_duration` merges runs shorter than a minimum duration into the
   neighbour that the probabilities inside the run favour.

Both work per *chain* of consecutive windows; a gap in the data starts a new chain,
and nothing is smoothed across it.
"""

from __future__ import annotations

import numpy as np

from harlab.core.labels import Segment


def chains(start: np.ndarray, stride_s: float) -> list[tuple[int, int]]:
    """Index ranges [a, b) of windows whose starts follow each other by one stride."""
    n = len(start)
    if n == 0:
        return []
    brk = np.flatnonzero(np.abs(np.diff(start) - stride_s) > 0.25 * stride_s) + 1
    edges = np.concatenate(([0], brk, [n]))
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def viterbi_sticky(probs: np.ndarray, p_switch: float) -> np.ndarray:
    """Most probable class path (N,) under a sticky transition matrix.

    Uses the structure of the matrix (one stay value, one switch value) so each step
    is O(K) instead of O(K²): the best predecessor is either the state itself or the
    overall best state.
    """
    n, k = probs.shape
    if n == 0:
        return np.zeros(0, np.int64)
    if k == 1 or p_switch <= 0:
        return np.full(n, int(probs.sum(0).argmax()), np.int64) if p_switch <= 0 else np.zeros(n, np.int64)
    p_switch = min(float(p_switch), 1 - 1e-9)
    log_e = np.log(np.clip(probs.astype(np.float64), 1e-12, 1.0))
    log_stay = np.log1p(-p_switch)
    log_move = np.log(p_switch / (k - 1))
    # per step only which states stayed and the best state (a state that did not stay came
    # from it), each step's arrays written in place: a day's 67,500 steps are a Python loop
    keep = np.empty((n, k), bool)
    best = np.zeros(n, np.int64)
    delta = log_e[0].copy()
    stay = np.empty(k)
    for t in range(1, n):
        b = delta.argmax()
        best[t] = b
        np.add(delta, log_stay, out=stay)
        move = delta[b] + log_move
        kt = keep[t]
        np.greater_equal(stay, move, out=kt)
        delta.fill(move)
        np.copyto(delta, stay, where=kt)
        delta += log_e[t]
    path = np.empty(n, np.int64)
    state = int(delta.argmax())
    path[-1] = state
    for t in range(n - 1, 0, -1):
        if not keep[t, state]:
            state = int(best[t])
        path[t - 1] = state
    return path


def _runs(labels: np.ndarray) -> list[list[int]]:
    """[label, first, last+1] for each run of equal labels."""
    if len(labels) == 0:
        return []
    brk = np.flatnonzero(np.diff(labels)) + 1
    edges = np.concatenate(([0], brk, [len(labels)]))
    return [[int(labels[a]), int(a), int(b)] for a, b in zip(edges[:-1], edges[1:], strict=True)]


def enforce_min_duration(labels: np.ndarray, probs: np.ndarray, min_windows: int) -> np.ndarray:
    """Merge runs shorter than ``min_windows`` into a neighbour, shortest first.

    The run takes the neighbouring class with the larger summed probability over the
    run's windows; a chain consisting of one short run is left alone.
    """
    labels = np.asarray(labels, np.int64).copy()
    if min_windows <= 1 or len(labels) == 0:
        return labels
    runs = _runs(labels)
    while len(runs) > 1:
        lengths = [r[2] - r[1] for r in runs]
        i = int(np.argmin(lengths))
        if lengths[i] >= min_windows:
            break
        cand = [j for j in (i - 1, i + 1) if 0 <= j < len(runs)]
        a, b = runs[i][1], runs[i][2]
        j = max(cand, key=lambda j: float(probs[a:b, runs[j][0]].sum()))
        runs[i][0] = runs[j][0]
        merged: list[list[int]] = []
        for r in runs:
            if merged and merged[-1][0] == r[0]:
                merged[-1][2] = r[2]
            else:
                merged.append(list(r))
        runs = merged
    for lab, a, b in runs:
        labels[a:b] = lab
    return labels


def smooth(
    probs: np.ndarray,
    start: np.ndarray,
    stride_s: float,
    p_switch: float | None = 0.02,
    min_duration_s: float = 0.0,
) -> np.ndarray:
    """Smoothed class index per window (HMM then minimum duration), chain by chain."""
    out = probs.argmax(1).astype(np.int64) if len(probs) else np.zeros(0, np.int64)
    min_windows = int(np.ceil(min_duration_s / stride_s - 1e-9)) if min_duration_s > 0 else 0
    for a, b in chains(start, stride_s):
        lab = viterbi_sticky(probs[a:b], p_switch) if p_switch else out[a:b]
        out[a:b] = enforce_min_duration(lab, probs[a:b], min_windows)
    return out


def segments_from_windows(
    labels: np.ndarray,
    probs: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    stride_s: float,
    classes: list[str],
    annotator: str = "",
) -> list[Segment]:
    """One segment per run of equal labels; overlapping windows share time at the midpoint
    between their centres, and the first/last window of a chain reach its edges."""
    segs: list[Segment] = []
    centre = (start + end) / 2
    for a, b in chains(start, stride_s):
        for lab, i, j in _runs(labels[a:b]):
            i, j = i + a, j + a
            s = start[i] if i == a else (centre[i - 1] + centre[i]) / 2
            e = end[j - 1] if j == b else (centre[j - 1] + centre[j]) / 2
            conf = float(np.clip(probs[i:j, lab].mean(), 0.0, 1.0))
            segs.append(
                Segment(
                    float(s),
                    float(e),
                    classes[lab],
                    annotator=annotator,
                    source="prediction",
                    confidence=conf,
                )
            )
    return segs
