"""Training-time augmentation: what each mode does to a window, measured on signals with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from harlab.core.errors import HarlabError
from harlab.ml.model_presets import AUGMENT_MODES
from harlab.ml.training import TrainConfig, augment_batch, time_warp

TRIADS = [(0, 1, 2), (3, 4, 5)]


def _windows(n: int = 64, t: int = 200, rate: float = 20.0, f_hz: float = 1.0) -> np.ndarray:
    """Accelerometer with gravity on z plus a sway at ``f_hz``; a gyroscope turning at the same rhythm."""
    rng = np.random.default_rng(3)
    tt = np.arange(t) / rate
    X = np.zeros((n, t, 6), np.float32)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    X[:, :, 0] = 2.0 * np.sin(2 * np.pi * f_hz * tt + phase)
    X[:, :, 2] = 9.81
    X[:, :, 3] = np.cos(2 * np.pi * f_hz * tt + phase)
    return X


def _dominant_hz(x: np.ndarray, rate: float = 20.0) -> float:
    spec = np.abs(np.fft.rfft(x - x.mean()))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[spec.argmax()])


def test_time_warp_plays_each_window_at_its_own_speed():
    X = _windows(n=3)
    out = time_warp(X, np.array([1.0, 1.25, 0.8]))
    np.testing.assert_allclose(out[0], X[0], atol=1e-6)  # speed 1: unchanged
    assert _dominant_hz(out[1, :, 0]) == pytest.approx(1.25, abs=0.1)
    assert _dominant_hz(out[2, :, 0]) == pytest.approx(0.8, abs=0.1)
    np.testing.assert_allclose(out[:, :, 2], 9.81, atol=1e-5)  # a constant stays constant
    ramp = np.arange(21, dtype=np.float32)[None, :, None]
    fast = time_warp(ramp, np.array([2.0]))[0, :, 0]
    assert fast[10] == pytest.approx(10.0)  # about the centre
    assert fast[11] - fast[10] == pytest.approx(2.0)
    assert fast[0] == 0.0 and fast[-1] == 20.0  # edges repeat, never read outside the window


def test_jitter_turns_and_scales_a_little_and_keeps_the_tempo():
    X = _windows()
    out = augment_batch(X, TRIADS, "jitter", np.random.default_rng(0))
    assert out.shape == X.shape and out.dtype == np.float32
    g_in, g_out = X[:, :, :3].mean(1), out[:, :, :3].mean(1)
    cos = (g_in * g_out).sum(1) / np.linalg.norm(g_in, axis=1) / np.linalg.norm(g_out, axis=1)
    angles = np.degrees(np.arccos(np.clip(cos, -1, 1)))
    assert 2 < np.median(angles) < 20 and angles.max() < 60  # rotations of about 10°
    ratio = np.linalg.norm(g_out, axis=1) / np.linalg.norm(g_in, axis=1)
    assert ratio.min() > 0.85 and ratio.max() < 1.15
    assert all(_dominant_hz(w[:, 3]) == pytest.approx(1.0, abs=0.06) for w in out)
    assert np.array_equal(augment_batch(X, TRIADS, "none", np.random.default_rng(0)), X)


def test_warp_changes_the_tempo_of_about_half_the_windows():
    X = _windows(n=200)
    out = augment_batch(X, TRIADS, "warp", np.random.default_rng(1))
    hz = np.array([_dominant_hz(w[:, 3]) for w in out])
    changed = np.abs(hz - 1.0) > 0.075
    assert 0.3 < changed.mean() < 0.6
    assert hz.min() >= 0.75 and hz.max() <= 1.3  # 0.8-1.25 times as fast
    again = augment_batch(X, TRIADS, "warp", np.random.default_rng(1))
    assert np.array_equal(out, again)  # the seed decides


def test_unknown_mode_lists_the_known_ones():
    assert "warp" in AUGMENT_MODES
    with pytest.raises(HarlabError, match="none, jitter, flip, warp"):
        TrainConfig(augment="mixup")
