"""Recording context: how a window's posture and motion compare with the rest of its recording.

A window alone cannot tell sitting from standing well: both are still, and the device's
tilt differs between people more than between the two postures. Within one recording,
though, the device sits the same way on the body, so the tilt *relative to that
recording's upright* separates them: the gravity direction during the recording's most
dynamic windows (walking, where the trunk is upright and the arm hangs on average) is the
reference, and each window's angle from it does not depend on how the device was worn.
The amount of motion is compared the same way: with the recording's walking (its dynamic
windows' median) and with its median window.

An earlier variant also measured the tilt towards where the recording's stillest windows
lean; on UCI HAR it cost accuracy (the stillest windows mix sitting, standing and lying,
so the direction is unstable) and was dropped.

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

#: reference vector: upright unit vector (3), median motion of the dynamic windows, median motion of all
REF_SIZE = 5
CONTEXT_NAMES = ["context:tilt_from_upright_deg", "context:motion_over_walking", "context:motion_over_median"]
MIN_WINDOWS = 10
DYNAMIC_QUANTILE = 0.7  #: windows above this quantile of motion define the upright


def _accel(X: np.ndarray, channels: Sequence[str], units: Sequence[str]) -> np.ndarray | None:
    for t in find_triads(channels, units):
        if units[t[0]] in ACCEL_UNITS:
            return np.asarray(X[:, :, list(t)], np.float64)
    return None


def has_accelerometer(channels: Sequence[str], units: Sequence[str]) -> bool:
    """Whether the channels hold an accelerometer triad, without which there is no context."""
    return any(units[t[0]] in ACCEL_UNITS for t in find_triads(channels, units))


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
    dynamic = motion >= np.quantile(motion, DYNAMIC_QUANTILE)
    up = gu[dynamic].mean(0)
    up /= max(float(np.linalg.norm(up)), 1e-9)
    return np.concatenate([up, [np.median(motion[dynamic]), np.median(motion)]])


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
    up, walking, median = refs[:, 0:3], refs[:, 3], refs[:, 4]
    out[:, 0] = np.degrees(np.arccos(np.clip((gu * up).sum(1), -1.0, 1.0)))
    out[:, 1] = motion / np.where(walking > 1e-9, walking, np.nan)
    out[:, 2] = motion / np.where(median > 1e-9, median, np.nan)
    return out


def network_context(X: np.ndarray, refs: np.ndarray, channels: Sequence[str], units: Sequence[str]) -> np.ndarray:
    """(N, len(CONTEXT_NAMES)) float32 context columns scaled for a network's input: the tilt in
    right angles, the motion ratios as logarithms (a ratio of 0.01 and one of 100 are equally
    far from 1), and 0 where the reference is missing (too short a recording, no accelerometer)."""
    c = context_features(X, refs, channels, units).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.stack([c[:, 0] / 90.0, np.log(np.maximum(c[:, 1], 1e-3)), np.log(np.maximum(c[:, 2], 1e-3))],
                       axis=1)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
