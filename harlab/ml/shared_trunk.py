"""Overlapping windows through a 1-D CNN's convolutions once, exactly.

A session's windows overlap: at harlab's stride of half a window every sample goes through
the convolutions twice when each window is computed alone, and the convolutions are nearly
all of a network's time. A :class:`~harlab.ml.models.CNN1D` without padding (``padding:
"valid"``, :data:`~harlab.ml.models.PADDINGS`) is translation-equivariant: the last feature
map of a window that starts ``o`` samples into a signal is the slice ``o / P ...`` of the
signal's own last feature map, ``P`` being :func:`~harlab.ml.models.pool_product`, whenever
``o`` is a multiple of ``P``. So:

* a *run* is consecutive windows whose samples overlap exactly: ``X[i, hop:] == X[i + 1,
  :T - hop]`` for every pair, with ``hop`` a multiple of ``P`` (:func:`find_hop`,
  :func:`overlap_runs`). The equality is checked on the values, never assumed from the
  windows' times, so a gap in the recording, a block edge or a stride that is not a
  multiple of ``P`` simply ends a run;
* the trunk runs once over a run's continuous signal, cut into segments of
  :data:`SEGMENT` windows (a segment's activations stay in the CPU's caches, like a batch of
  128 windows), and each window's map is cut from it and pooled as
  :meth:`~harlab.ml.models.CNN1D.embed` pools it;
* every other window (a lone one, one of a network with padding) takes the window-alone
  path, :meth:`~harlab.ml.models.CNN1D.embed`.

The result equals the window-alone path to float rounding (the same products, summed over
tensors of other lengths); ``tests/ml/test_shared_trunk.py`` holds them together.

A network with ``padding: "margins"`` takes each window with samples of its recording before
and after it (:func:`with_margins`), from the windows beside it in the same call; the windows
with their margins overlap like the windows, so they share their convolutions the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from harlab.ml.models import CNN1D

#: windows per segment of a run: at a hop of half a window, 32 windows cost 33 windows' worth
#: of convolutions at the first layer instead of 64 (``benchmarks/predict_day.py``,
#: ``members.cnn_shared``, measures the path)
SEGMENT = 32
#: pairs of windows sampled by :func:`find_hop` to choose the hop before checking every pair
_PROBES = 16


def find_hop(X: np.ndarray, multiple: int) -> int | None:
    """The shift ``hop`` (a multiple of ``multiple``, shorter than a window) by which most of
    a sample of consecutive windows of ``X`` (N, T, C) overlap exactly, or None when none do.
    Only a choice: :func:`overlap_runs` checks every pair with it."""
    n, t = len(X), X.shape[1] if X.ndim == 3 else 0
    hops = range(multiple, t, multiple)
    if n < 2 or not hops:
        return None
    probes = np.unique(np.linspace(0, n - 2, min(_PROBES, n - 1)).astype(np.int64))
    # a hop fits a pair only where the next window's first sample is the window's sample at the
    # hop: those few candidates are checked whole (every hop was, 2,000 comparisons a batch)
    counts: dict[int, int] = {}
    for i in probes:
        at = (X[i, multiple::multiple] == X[i + 1, 0]).reshape(len(hops), -1).all(axis=1)
        for hop in (multiple * (1 + np.flatnonzero(at))).tolist():
            if np.array_equal(X[i, hop:], X[i + 1, : t - hop]):
                counts[hop] = counts.get(hop, 0) + 1
    best, best_count = None, 0
    for hop in sorted(counts):
        if counts[hop] > best_count:  # a flat stretch fits every hop: the first hop that fits most wins
            best, best_count = hop, counts[hop]
    return best


def overlap_runs(X: np.ndarray, hop: int) -> list[tuple[int, int]]:
    """The runs ``[start, stop)`` of at least two consecutive windows of ``X`` (N, T, C) in
    which each window's samples from ``hop`` on are the next window's first ``T - hop``."""
    n, t = len(X), X.shape[1]
    if n < 2 or not 0 < hop < t:
        return []
    same = (X[:-1, hop:] == X[1:, : t - hop]).reshape(n - 1, -1).all(axis=1)
    # pair i joins windows i and i + 1; a run is a maximal stretch of joined pairs
    edges = np.diff(np.concatenate([[False], same, [False]]).astype(np.int8))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b) + 1) for a, b in zip(starts, stops, strict=True)]


def with_margins(X: np.ndarray, before: int, after: int) -> np.ndarray:
    """Each window of ``X`` (N, T, C) with ``before`` samples of its recording before it and
    ``after`` after it: (N, before + T + after, C).

    The samples come from the windows beside it in ``X``: in a run of windows that overlap
    exactly (:func:`find_hop` with any shift, :func:`overlap_runs`) the margins are the run's
    own signal. Where the run ends (its first window's start, its last window's end: the
    recording's ends, a gap, or simply the first and last window of ``X``) the missing samples
    repeat the run's first or last sample, as if the sensor had held still; a window without
    overlapping neighbours repeats its own. So a window's margins depend only on the windows of
    the same call: the same windows cut into other calls differ only in the margins of the
    windows at the calls' edges (``tests/ml/test_margins.py`` pins exactly which), which is why
    a session's batches carry the windows beside them
    (:meth:`harlab.ml.modelfile.ActivityModel.halo_windows`)."""
    X = np.asarray(X)
    if before == after == 0:
        return X
    n, t, c = X.shape
    length = before + t + after
    out = np.empty((n, length, c), X.dtype)
    alone = np.ones(n, bool)
    hop = find_hop(X, 1)
    for a, b in overlap_runs(X, hop) if hop is not None else []:
        signal = np.concatenate([X[a : b - 1, :hop].reshape(-1, c), X[b - 1]])
        padded = np.concatenate(
            [np.repeat(signal[:1], before, axis=0), signal, np.repeat(signal[-1:], after, axis=0)]
        )
        # window k of the run starts k hops into the signal: its stretch with margins, k hops into padded
        views = np.lib.stride_tricks.sliding_window_view(padded, length, axis=0)[::hop]
        out[a:b] = views[: b - a].transpose(0, 2, 1)
        alone[a:b] = False
    for i in np.flatnonzero(alone):
        out[i] = np.pad(X[i], ((before, after), (0, 0)), mode="edge")
    return out


def embed_windows(
    net: CNN1D,
    X: np.ndarray,
    normalise: Callable[[np.ndarray], np.ndarray],
    batch: int = 128,
    share: bool = True,
    segment: int = SEGMENT,
    margins: tuple[int, int] = (0, 0),
) -> tuple[torch.Tensor, int]:
    """:meth:`CNN1D.embed` of every window of ``X`` (N, T, C, as recorded; ``normalise`` maps
    samples to the network's input) and how many windows shared their convolutions.

    With ``share`` and a translation-equivariant network, windows in runs
    (:func:`overlap_runs`) are computed a segment of the continuous signal at a time; the
    rest, and everything without ``share``, ``batch`` windows at a time alone. ``margins``:
    samples (before, after) each window takes with it, as :func:`with_margins` gives them;
    a run's segments are then cut from its signal with the margins around it, never from
    windows with margins built first (one copy of the samples instead of two, and the runs
    found once). Call under :func:`torch.inference_mode` with the network in eval mode."""
    X = np.asarray(X, np.float32)
    before, after = margins
    hop1: int | None = None
    if before or after:
        hop1 = find_hop(X, 1) if share and net.equivariant else None
        if hop1 is None or hop1 % net.pool_product:  # no run can share: each window alone
            return embed_windows(net, with_margins(X, before, after), normalise, batch, False, segment)
    n = len(X)
    length = before + X.shape[1] + after  # what one window is to the network
    parts: list[tuple[torch.Tensor, torch.Tensor]] = []  #: (window indices, their embeddings)
    alone = np.ones(n, bool)
    hop = (hop1 if before or after else find_hop(X, net.pool_product)) if share and net.equivariant else None
    if hop is not None:
        step = hop // net.pool_product  # steps of the last feature map between windows
        #: windows per segment -> (its run, the run's window it starts at, the window of X)
        segments: dict[int, list[tuple[int, int, int]]] = {}
        signals: list[np.ndarray] = []  #: each run's signal with its margins
        for a, b in overlap_runs(X, hop):
            alone[a:b] = False
            signal = np.concatenate([X[a : b - 1, :hop].reshape(-1, X.shape[2]), X[b - 1]])
            if before or after:  # the run's ends repeat its first and last sample (with_margins)
                signal = np.concatenate(
                    [np.repeat(signal[:1], before, axis=0), signal, np.repeat(signal[-1:], after, axis=0)]
                )
            signals.append(signal)
            s = a
            while s < b:
                m = min(segment, b - s)
                if b - s - m == 1:  # the last window joins this segment rather than go alone
                    m += 1
                segments.setdefault(m, []).append((len(signals) - 1, s - a, s))
                s += m
        per_batch = max(1, batch // segment)
        for m, firsts in segments.items():
            span = (m - 1) * hop + length  # a segment's samples
            for g in range(0, len(firsts), per_batch):
                group = firsts[g : g + per_batch]
                signal = np.stack([signals[r][k * hop : k * hop + span] for r, k, _ in group])
                h = net.features(torch.from_numpy(normalise(signal)).transpose(1, 2))
                width = h.shape[2] - (m - 1) * step  # one window's last feature map
                w = h.unfold(2, width, step)  # (segments, filters, m, width)
                pooled = torch.cat([w.mean(dim=3), w.amax(dim=3)], dim=1).transpose(1, 2)
                index = torch.from_numpy(np.concatenate([np.arange(s, s + m) for _, _, s in group]))
                parts.append((index, pooled.reshape(len(group) * m, -1)))
    rest = np.flatnonzero(alone)
    for i in range(0, len(rest), batch):
        idx = rest[i : i + batch]
        xs = X[idx]
        if before or after:
            xs = np.pad(xs, ((0, 0), (before, after), (0, 0)), mode="edge")
        xb = torch.from_numpy(np.ascontiguousarray(normalise(xs)))
        parts.append((torch.from_numpy(idx), net.embed(xb)))
    if not parts:
        return torch.zeros(0, 2 * _last_width(net)), 0
    out = torch.empty(n, parts[0][1].shape[1], dtype=parts[0][1].dtype)
    for index, emb in parts:
        out[index] = emb
    return out, int(n - len(rest))


def _last_width(net: CNN1D) -> int:
    """Filters of the last convolution: the head (or context mix) takes their mean and max."""
    return int(net.head.in_features) // 2
