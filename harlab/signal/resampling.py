"""Putting a stream's samples onto a uniform time grid, honestly.

Wearable streams have real timestamps: jitter, gaps, and (WISDM) bursts at five
times the nominal rate. Exports that need a common grid (merged CSV, training
windows) therefore resample per *contiguous run* of samples:

1. rows with a NaN in any channel are dropped (so they act as gaps);
2. the samples are split into runs wherever consecutive timestamps are more than
   ``gap_factor`` (1.5) nominal periods apart; nothing is ever interpolated across a gap;
3. when a run's own rate (median spacing) is more than 1 % above the target rate, it is
   low-pass filtered first: a zero-phase (forward-backward) 8th-order Butterworth at
   0.4 × the target rate, i.e. 80 % of the new Nyquist frequency, so content the
   new grid cannot represent does not alias into it;
4. each channel is linearly interpolated (``numpy.interp``) at the grid points that
   fall inside the run; grid points outside every run get NaN.

``scipy.signal.resample_poly`` would need uniformly spaced input, which real
timestamps are not; filtering the run as if uniform (its spacing varies by well under a
percent within a run) and then interpolating at the true timestamps is the robust
equivalent. A grid point that coincides with a sample gets that sample's value
exactly when no filtering is needed, so exporting at a stream's own rate changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harlab.core.streams import median_period

GAP_FACTOR = 1.5
ANTI_ALIAS_ORDER = 8
ANTI_ALIAS_CUTOFF = 0.4  #: low-pass corner as a fraction of the target rate


@dataclass(frozen=True)
class Run:
    """A gap-free stretch of samples: indices [i0, i1) of the arrays it came from."""

    i0: int
    i1: int
    t0: float
    t1: float


def nominal_period(t: np.ndarray, rate_hz: float | None) -> float | None:
    """1 / nominal rate, or the median positive spacing when the rate is unknown."""
    if rate_hz:
        return 1.0 / rate_hz
    return median_period(t)


def split_runs(t: np.ndarray, period: float | None, gap_factor: float = GAP_FACTOR) -> list[Run]:
    """Runs of ``t`` without a spacing larger than ``gap_factor`` × ``period``."""
    n = len(t)
    if n == 0:
        return []
    if period is None or n == 1:
        return [Run(0, n, float(t[0]), float(t[-1]))]
    breaks = np.flatnonzero(np.diff(t) > gap_factor * period) + 1
    bounds = np.concatenate(([0], breaks, [n]))
    return [
        Run(int(a), int(b), float(t[a]), float(t[b - 1]))
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]


def anti_alias(values: np.ndarray, run_rate: float, target_rate: float) -> np.ndarray:
    """Zero-phase low-pass of ``values`` (n x C, float64) for downsampling to ``target_rate``."""
    from scipy.signal import butter, sosfiltfilt

    n = len(values)
    if n < 3:
        return values
    wn = 2.0 * ANTI_ALIAS_CUTOFF * target_rate / run_rate
    if wn >= 1.0:
        return values
    sos = butter(ANTI_ALIAS_ORDER, wn, output="sos")
    padlen = min(3 * (2 * len(sos) + 1), n - 1)
    return sosfiltfilt(sos, values, axis=0, padlen=padlen)


@dataclass
class ResampleInfo:
    """What resampling did to one stream (for manifests)."""

    runs: int = 0
    filtered_runs: int = 0
    max_run_rate_hz: float = 0.0


def resample_onto(
    t: np.ndarray,
    v: np.ndarray,
    grid: np.ndarray,
    target_rate: float,
    *,
    rate_hz: float | None = None,
    gap_factor: float = GAP_FACTOR,
    info: ResampleInfo | None = None,
) -> np.ndarray:
    """Values (len(grid) x C, float32) of samples ``(t, v)`` at ``grid`` (sorted), NaN where no run covers.

    ``rate_hz`` is the stream's nominal rate (gap detection); ``target_rate`` the grid's.
    """
    v = np.asarray(v)
    if v.ndim == 1:
        v = v[:, None]
    out = np.full((len(grid), v.shape[1]), np.nan, dtype=np.float32)
    if not len(t) or not len(grid):
        return out
    finite = np.isfinite(v).all(axis=1)
    if not finite.all():
        t, v = t[finite], v[finite]
    period = nominal_period(t, rate_hz)
    tol = 1e-4 / target_rate
    for run in split_runs(t, period, gap_factor):
        g0 = int(np.searchsorted(grid, run.t0 - tol, side="left"))
        g1 = int(np.searchsorted(grid, run.t1 + tol, side="right"))
        if g1 <= g0:
            continue
        rt = t[run.i0 : run.i1]
        rv = v[run.i0 : run.i1].astype(np.float64)
        if info is not None:
            info.runs += 1
        if len(rt) >= 2:
            run_period = median_period(rt)
            run_rate = 1.0 / run_period if run_period else 0.0
            if run_rate > 1.01 * target_rate:
                rv = anti_alias(rv, run_rate, target_rate)
                if info is not None:
                    info.filtered_runs += 1
            if info is not None:
                info.max_run_rate_hz = max(info.max_run_rate_hz, run_rate)
        gt = grid[g0:g1]
        for c in range(rv.shape[1]):
            out[g0:g1, c] = np.interp(gt, rt, rv[:, c])
    return out
