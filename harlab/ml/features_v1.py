"""Version 1 of the hand-crafted window features, kept so model files trained with it still apply.

New models use :mod:`harlab.ml.features` (version 2). This module must not change: a
LightGBM booster is only valid for the exact columns it was trained on.

Per channel: mean, standard deviation, min, max, 10/25/50/75/90th percentiles,
energy, mean absolute first difference (jerk), zero-crossing rate of the
mean-removed signal, and from the spectrum the two strongest frequencies with
their share of power, band powers and spectral entropy. For each triaxial sensor
(three consecutive channels of one stream and unit) the same statistics on the
magnitude, plus the pairwise correlations of its axes, which describe
orientation-independent coupling. All of it is vectorised over windows, so a
24-hour recording's windows take seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_PCTS = (10, 25, 50, 75, 90)
_BANDS_HZ = ((0.0, 0.5), (0.5, 1.5), (1.5, 3.0), (3.0, 6.0), (6.0, 12.0), (12.0, 1e9))


def _stats(x: np.ndarray, rate_hz: float) -> list[np.ndarray]:
    """Statistics over the time axis of x (N, T, C) -> list of (N, C) arrays."""
    out = [x.mean(1), x.std(1), x.min(1), x.max(1)]
    out.extend(np.percentile(x, _PCTS, axis=1))
    out.append((x * x).mean(1))
    out.append(np.abs(np.diff(x, axis=1)).mean(1) if x.shape[1] > 1 else np.zeros_like(out[0]))
    centred = x - x.mean(1, keepdims=True)
    signs = np.signbit(centred)
    out.append((signs[:, 1:] != signs[:, :-1]).mean(1) if x.shape[1] > 1 else np.zeros_like(out[0]))
    spec = np.abs(np.fft.rfft(centred, axis=1)) ** 2  # (N, F, C)
    freqs = np.fft.rfftfreq(x.shape[1], d=1.0 / rate_hz)
    total = spec.sum(1) + 1e-12
    order = np.argsort(spec, axis=1)
    for rank in (1, 2):
        idx = order[:, -rank] if spec.shape[1] >= rank else order[:, -1]
        out.append(freqs[idx])
        out.append(np.take_along_axis(spec, idx[:, None, :], axis=1)[:, 0] / total)
    for lo, hi in _BANDS_HZ:
        sel = (freqs >= lo) & (freqs < hi)
        out.append(spec[:, sel].sum(1) / total if sel.any() else np.zeros_like(total))
    p = spec / total[:, None, :]
    out.append(-(p * np.log(p + 1e-12)).sum(1) / np.log(max(2, spec.shape[1])))
    return out


def window_features_v1(
    X: np.ndarray,
    rate_hz: float,
    triads: Sequence[tuple[int, int, int]] = (),
    batch: int = 4096,
) -> np.ndarray:
    """Feature matrix (N, F) float32 for windows ``X`` (N, T, C) in physical units."""
    X = np.asarray(X, dtype=np.float32)
    parts = []
    for i in range(0, max(len(X), 1), batch):
        xb = X[i : i + batch].astype(np.float64)
        if len(xb) == 0:
            break
        feats = _stats(xb, rate_hz)
        if triads:
            mags = np.stack([np.sqrt((xb[:, :, list(t)] ** 2).sum(2)) for t in triads], axis=2)
            feats += _stats(mags, rate_hz)
            corr = []
            for t in triads:
                c = xb[:, :, list(t)] - xb[:, :, list(t)].mean(1, keepdims=True)
                sd = np.sqrt((c * c).mean(1)) + 1e-9
                for a, b in ((0, 1), (0, 2), (1, 2)):
                    corr.append((c[:, :, a] * c[:, :, b]).mean(1) / (sd[:, a] * sd[:, b]))
            feats.append(np.stack(corr, axis=1))
        parts.append(np.concatenate([f.reshape(len(xb), -1) for f in feats], axis=1).astype(np.float32))
    if not parts:
        return np.zeros(
            (
                0,
                n_features_v1(
                    X.shape[1] if X.ndim == 3 else 0, X.shape[2] if X.ndim == 3 else 0, rate_hz, triads
                ),
            ),
            np.float32,
        )
    return np.concatenate(parts)


def n_features_v1(
    n_time: int, n_channels: int, rate_hz: float, triads: Sequence[tuple[int, int, int]]
) -> int:
    """How many columns :func:`window_features` returns for this input shape."""
    probe = np.zeros((1, max(n_time, 2), n_channels), np.float32)
    return window_features_v1(probe, rate_hz, triads).shape[1]
