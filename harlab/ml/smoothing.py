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
from harlab.ml.compiled_trees import native_kernel


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
    overall best state. (:class:`StickyViterbi` fed all of ``probs`` at once.)
    """
    v = StickyViterbi(probs.shape[1], p_switch)
    v.feed(probs)
    return v.path()


class StickyViterbi:
    """:func:`viterbi_sticky` fed a chain's probabilities a part at a time, in order: a session's
    prediction hands it each batch as it finishes, so the forward steps (:func:`_forward`, in the
    native kernel where there is one) run while the workers compute, and only the way back is
    left for the end. The steps and their numbers are the same whatever the parts."""

    def __init__(self, k: int, p_switch: float) -> None:
        self.k = k
        self.p_switch = float(p_switch)
        self.n = 0
        self._sum = np.zeros(k)  #: the probabilities' sum (what a p_switch of 0 decides by)
        self._keep: list[np.ndarray] = []  #: per part, which states stayed at each step
        self._best: list[np.ndarray] = []  #: per part, the best state before each step
        self._delta: np.ndarray | None = None
        if k > 1 and self.p_switch > 0:
            p = min(self.p_switch, 1 - 1e-9)
            self._log_stay = np.log1p(-p)
            self._log_move = np.log(p / (k - 1))

    def feed(self, probs: np.ndarray) -> None:
        """The chain's next windows' probabilities (n, K)."""
        n = len(probs)
        if n == 0:
            return
        self.n += n
        if self.k == 1:
            return
        if self.p_switch <= 0:
            self._sum += probs.sum(0)
            return
        log_e = np.ascontiguousarray(np.log(np.clip(probs.astype(np.float64), 1e-12, 1.0)))
        keep = np.empty((n, self.k), bool)
        best = np.zeros(n, np.int64)
        first = 0
        if self._delta is None:
            self._delta = log_e[0].copy()
            first = 1
        kernel = native_kernel()
        if kernel is not None:  # _forward in C, without the GIL (the workers need it meanwhile)
            kernel.sticky_forward(
                log_e.ctypes.data,
                n,
                self.k,
                first,
                float(self._log_stay),
                float(self._log_move),
                self._delta.ctypes.data,
                keep.ctypes.data,
                best.ctypes.data,
            )
        else:
            _forward(log_e, first, self._log_stay, self._log_move, self._delta, keep, best)
        self._keep.append(keep)
        self._best.append(best)

    def path(self) -> np.ndarray:
        """The most probable path (N,) of every window fed so far."""
        n = self.n
        if n == 0:
            return np.zeros(0, np.int64)
        if self.k == 1:
            return np.zeros(n, np.int64)
        if self.p_switch <= 0:
            return np.full(n, int(self._sum.argmax()), np.int64)
        assert self._delta is not None
        keep = np.concatenate(self._keep)
        best = np.concatenate(self._best)
        path = np.empty(n, np.int64)
        state = int(self._delta.argmax())
        path[-1] = state
        for t in range(n - 1, 0, -1):
            if not keep[t, state]:
                state = int(best[t])
            path[t - 1] = state
        return path


def _forward(
    log_e: np.ndarray,
    first: int,
    log_stay: float,
    log_move: float,
    delta: np.ndarray,
    keep: np.ndarray,
    best: np.ndarray,
) -> None:
    """The forward steps ``first`` ... of log emissions ``log_e`` (n, K) from scores ``delta``
    (updated in place): per step which states stayed and the best state (a state that did not
    stay came from it), each step's arrays written in place. The native kernel runs the same
    operations in the same order (``harlab_sticky_forward``), a day's 67,500 steps in about
    10 ms rather than 0.3 s of Python holding the GIL; this is the fallback without it."""
    stay = np.empty(len(delta))
    for t in range(first, len(log_e)):
        b = delta.argmax()
        best[t] = b
        np.add(delta, log_stay, out=stay)
        move = delta[b] + log_move
        kt = keep[t]
        np.greater_equal(stay, move, out=kt)
        delta.fill(move)
        np.copyto(delta, stay, where=kt)
        delta += log_e[t]


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
    stream = SmoothingStream(
        start, probs.shape[1] if probs.ndim == 2 else 1, stride_s, p_switch, min_duration_s
    )
    stream.feed(probs)
    return stream.labels(probs)


class SmoothingStream:
    """:func:`smooth` of windows at ``start`` whose probabilities come a part at a time, in order
    (a session's batches as they finish): each chain's HMM steps run as its windows arrive
    (:class:`StickyViterbi`), the way back and the minimum duration at the end."""

    def __init__(
        self,
        start: np.ndarray,
        k: int,
        stride_s: float,
        p_switch: float | None = 0.02,
        min_duration_s: float = 0.0,
    ) -> None:
        self.chains = chains(start, stride_s)
        self.n = len(start)
        self.p_switch = p_switch
        self.min_windows = int(np.ceil(min_duration_s / stride_s - 1e-9)) if min_duration_s > 0 else 0
        self._hmm = [StickyViterbi(k, p_switch) for _ in self.chains] if p_switch else []
        self._fed = 0

    def feed(self, probs: np.ndarray) -> None:
        """The next windows' probabilities (n, K), split among the chains they belong to."""
        lo, hi = self._fed, self._fed + len(probs)
        self._fed = hi
        for hmm, (a, b) in zip(self._hmm, self.chains, strict=False):  # no HMM: nothing to step
            if a < hi and b > lo:
                hmm.feed(probs[max(a, lo) - lo : min(b, hi) - lo])

    def labels(self, probs: np.ndarray) -> np.ndarray:
        """The smoothed class of every window, once all ``probs`` (N, K) were fed."""
        if self._fed != self.n or len(probs) != self.n:
            raise ValueError(f"smoothing {self.n} windows, {self._fed} fed and {len(probs)} given")
        out = probs.argmax(1).astype(np.int64) if len(probs) else np.zeros(0, np.int64)
        for i, (a, b) in enumerate(self.chains):
            lab = self._hmm[i].path() if self.p_switch else out[a:b]
            out[a:b] = enforce_min_duration(lab, probs[a:b], self.min_windows)
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
