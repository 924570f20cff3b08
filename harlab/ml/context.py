"""Recording context: how a window's posture and motion compare with the rest of its recording.

A window alone cannot tell sitting from standing well: both are still, and the device's
tilt differs between people more than between the two postures. Within one recording,
though, the device sits the same way on the body, so the tilt *relative to that
recording's upright* separates them: the gravity direction during the recording's most
dynamic windows (walking, where the trunk or arm is upright on average) is the reference,
and each window's tilt from it, and across it towards where the still windows lean, are
features that do not depend on how the device was worn. The same holds for the amount of
motion relative to the recording's median.

The reference uses only the unlabelled signal of the same recording (what any
whole-session prediction has), never labels and never other participants. A dataset
computes it from *all* windows of each session, not just the labelled ones, so choosing
labelled windows cannot leak into it; a model given bare windows treats them as one
recording. With no accelerometer, or fewer than :data:`MIN_WINDOWS` windows, the reference
is NaN and the features are missing values, which LightGBM routes on its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harlab.ml.features import ACCEL_UNITS, find_triads

#: reference vector: upright unit vector (3), horizontal lean direction of the still windows (3), median motion
REF_SIZE = 7
CONTEXT_NAMES = ["context:tilt_from_upright_deg", "context:tilt_towards_still_lean", "context:tilt_across_still_lean",
                 "context:motion_minus_median", "context:motion_over_median"]
MIN_WINDOWS = 10
DYNAMIC_QUANTILE = 0.7  #: windows above this quantile of motion define the upright
STILL_QUANTILE = 0.3  #: windows below it define the lean direction


def _accel(X: np.ndarray, channels: Sequence[str], units: Sequence[str]) -> np.ndarray | None:
    for t in find_triads(channels, units):
        if units[t[0]] in ACCEL_UNITS:
            return np.asarray(X[:, :, list(t)], np.float64)
    return None


def _gravity_and_motion(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g = a.mean(1)
    gu = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-9)
    motion = np.linalg.norm(a, axis=2).std(1)
    return gu, motion


def recording_reference(X: np.ndarray, channels: Sequence[str], units: Sequence[str]) -> np.ndarray:
    """The (REF_SIZE,) reference of one recording from all its windows X (N, T, C), SI units."""
    a = _accel(X, channels, units)
    if a is None or len(X) < MIN_WINDOWS:
        return np.full(REF_SIZE, np.nan)
    gu, motion = _gravity_and_motion(a)
    up = gu[motion >= np.quantile(motion, DYNAMIC_QUANTILE)].mean(0)
    up /= max(float(np.linalg.norm(up)), 1e-9)
    still = gu[motion <= np.quantile(motion, STILL_QUANTILE)].mean(0)
    lean = still - (still @ up) * up
    norm = float(np.linalg.norm(lean))
    lean = lean / norm if norm > 1e-6 else np.zeros(3)
    return np.concatenate([up, lean, [np.median(motion)]])


def references_by_recording(X: np.ndarray, recordings: np.ndarray, channels: Sequence[str],
                            units: Sequence[str]) -> np.ndarray:
    """(N, REF_SIZE): each window's recording reference, computed from the windows given."""
    recordings = np.asarray(recordings)
    refs = np.full((len(X), REF_SIZE), np.nan)
    for r in np.unique(recordings):
        sel = recordings == r
        refs[sel] = recording_reference(X[sel], channels, units)
    return refs


def context_features(X: np.ndarray, refs: np.ndarray, channels: Sequence[str], units: Sequence[str]) -> np.ndarray:
    """(N, len(CONTEXT_NAMES)) float32: each window against its recording's reference."""
    out = np.full((len(X), len(CONTEXT_NAMES)), np.nan, np.float32)
    a = _accel(X, channels, units)
    if a is None or len(X) == 0:
        return out
    refs = np.asarray(refs, np.float64)
    gu, motion = _gravity_and_motion(a)
    up, lean, med = refs[:, 0:3], refs[:, 3:6], refs[:, 6]
    cos = np.clip((gu * up).sum(1), -1.0, 1.0)
    out[:, 0] = np.degrees(np.arccos(cos))
    out[:, 1] = (gu * lean).sum(1)
    out[:, 2] = (gu * np.cross(up, lean)).sum(1)
    out[:, 3] = motion - med
    out[:, 4] = motion / np.where(med > 1e-9, med, np.nan)
    return out
