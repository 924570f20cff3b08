"""Cutting a uniform grid into windows of whole samples.

A window is ``T`` consecutive grid points one period apart, and consecutive windows start
``S`` points apart; a window never spans a gap of the recording nor a point where a
channel has no value. The training-window export and a model's whole-session windows
both cut this way, so prediction sees windows exactly like those it was trained on:

* :func:`whole_samples` turns a window or stride in seconds into samples, either exactly
  (an export asked for 2.5 s at 20 Hz gets 50 samples; 2.56 s is refused) or rounded
  (training: 2.56 s at 20 Hz becomes 51 samples), and :func:`rounded_seconds` says how
  long the rounded window lasts;
* :func:`run_grid` lays grid points ``anchor + k / rate`` over each gap-free run of a
  stream's timestamps (optionally only inside one labelled span); :func:`grid_runs` gives the
  same runs, and can go on with the grids of runs cut before (:class:`GridOrigin`: a session
  predicted block by block);
* :func:`uniform_pieces` splits a grid into stretches of valid points exactly one period
  apart, and :func:`window_index` gives the grid indices of every window in one stretch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harlab.core.errors import WindowingError
from harlab.signal.resampling import split_runs


def whole_samples(seconds: float, rate: float, what: str, rounding: bool = False) -> int:
    """Samples in ``seconds`` at ``rate``; with ``rounding`` the nearest whole number (at least one
    sample must fit), else an exact multiple of the sample period. ``what`` ("window", "stride")
    names the quantity in the error."""
    n = seconds * rate
    k = round(n)
    if rounding and n >= 0.5:
        return max(1, int(k))
    if rounding:
        raise WindowingError(
            f"{what} {seconds:g} s is shorter than one sample at {rate:g} Hz "
            f"({1.0 / rate:g} s); choose at least {1.0 / rate:g} s"
        )
    if k < 1 or abs(n - k) > 1e-6 * max(1.0, n):
        raise WindowingError(
            f"{what} {seconds:g} s is not a whole number of samples at {rate:g} Hz ({n:g}); "
            f"choose a multiple of {1.0 / rate:g} s, or a rate (--rate) at which it is"
        )
    return int(k)


def rounded_seconds(seconds: float, samples: int, rate: float) -> float:
    """``seconds`` if it is ``samples`` whole samples at ``rate`` already, else what they last."""
    exact = samples / rate
    return float(seconds) if abs(seconds - exact) <= 1e-6 * max(1.0, exact) else exact


@dataclass(frozen=True)
class GridOrigin:
    """A gap-free run of samples as a cut of it saw it: its grid's points are ``anchor + k / rate``
    (``anchor``: the run's first sample) and it held samples without a gap up to ``until``. A
    session predicted block by block hands the runs a block ends with to the next block, so the
    next block's points on those runs are the ones the whole run has (:func:`grid_runs`), to
    the bit, rather than points anchored at the block's first sample."""

    anchor: float
    until: float


@dataclass(frozen=True)
class GridRun:
    """One gap-free run's points in a grid: ``anchor + (k0 + i) / rate`` for ``i < n``, the run's
    last sample (as far as it was read) at ``t1``."""

    anchor: float
    k0: int
    n: int
    t1: float

    def origin(self) -> GridOrigin:
        return GridOrigin(self.anchor, self.t1)


def grid_runs(
    t: np.ndarray,
    period: float | None,
    rate: float,
    span: tuple[float, float] | None = None,
    after: float | None = None,
    continues: Sequence[GridOrigin] = (),
    before: float | None = None,
) -> list[GridRun]:
    """The runs of :func:`run_grid`'s points (what it concatenates). ``after``, ``before``: only
    points at or after ``after`` and before ``before`` (the samples outside were read to
    interpolate and filter from, not to cut); ``continues``:
    runs cut before (:class:`GridOrigin`): a run of ``t`` that shares samples with one of them
    is that run, and its points are that run's."""
    tol = 1e-4 / rate
    # only runs that reach into t can go on in it, and only t's runs that start before the last
    # of those ends can be one of them: a check per run, not runs times runs (a stream with a gap
    # after every sample has as many runs as samples)
    live = [c for c in continues if len(t) and c.until + tol >= t[0]]
    reach = max((c.until for c in live), default=-np.inf) + tol
    out = []
    for run in split_runs(t, period):
        rt = t[run.i0 : run.i1]
        k = 0 if span is None else int(np.searchsorted(rt, span[0] - tol, side="left"))
        if k >= len(rt):
            continue
        anchor = float(rt[k])
        if anchor <= reach:
            anchor = next((c.anchor for c in live if c.anchor - tol <= rt[k] <= c.until + tol), anchor)
        k0 = 0 if after is None else max(0, int(np.ceil((after - anchor) * rate - 1e-9)))
        stop = run.t1 + tol if span is None else min(run.t1 + tol, span[1] - tol)
        if before is not None:
            stop = min(stop, before - tol)
        n = int(np.floor((stop - anchor) * rate + 1e-9)) + 1 - k0
        if n > 0:
            out.append(GridRun(anchor, k0, n, run.t1))
    return out


def run_grid(
    t: np.ndarray,
    period: float | None,
    rate: float,
    span: tuple[float, float] | None = None,
) -> np.ndarray:
    """Uniform grid points at ``rate`` over each gap-free run of the sorted times ``t``.

    Each run's points start at its first sample (inside ``span``: the first sample at or
    after the span's start) and stop at its last sample (or the span's end), so the grid
    of one run falls on that run's own samples when ``rate`` is the stream's rate.
    ``period`` is the stream's nominal period, for finding the gaps.
    """
    return grid_points(grid_runs(t, period, rate, span), rate)


def grid_points(runs: list[GridRun], rate: float) -> np.ndarray:
    """The points of ``runs`` (:func:`grid_runs`) one after the other."""
    pieces = [r.anchor + (r.k0 + np.arange(r.n)) / rate for r in runs]
    return np.concatenate(pieces) if pieces else np.zeros(0)


def uniform_pieces(valid: np.ndarray, grid: np.ndarray, rate: float) -> list[tuple[int, int]]:
    """Index ranges [a, b) of consecutive ``valid`` grid points exactly one period apart."""
    if not len(grid):
        return []
    brk = np.ones(len(grid) + 1, dtype=bool)
    brk[1:-1] = np.abs(np.diff(grid) * rate - 1.0) > 1e-3
    edges = np.flatnonzero(brk)
    out: list[tuple[int, int]] = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        v = valid[a:b]
        if v.all():
            out.append((int(a), int(b)))
            continue
        idx = np.flatnonzero(np.diff(np.concatenate(([0], v.astype(np.int8), [0]))))
        for s, e in zip(idx[0::2], idx[1::2], strict=True):
            out.append((int(a + s), int(a + e)))
    return out


def window_index(a: int, b: int, n_time: int, stride: int) -> np.ndarray:
    """Grid indices (n_windows x n_time) of every window of ``n_time`` points starting each
    ``stride`` points within the piece [a, b); no rows when the piece is shorter than a window."""
    starts = np.arange(a, b - n_time + 1, stride)
    return starts[:, None] + np.arange(n_time)[None, :]
